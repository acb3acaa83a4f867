// 64-byte aligned, uninitialized-on-growth buffer: the storage behind every tensor.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>

namespace lamina::detail {

inline constexpr std::size_t alignment = 64;

template <class T>
struct aligned_free {
    void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{alignment}); }
};

template <class T>
std::unique_ptr<T[], aligned_free<T>> aligned_alloc(std::size_t n) {
    if (n == 0) return {};
    return std::unique_ptr<T[], aligned_free<T>>(
        static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{alignment})));
}

/// Aligned array of trivially copyable T; resize() keeps capacity, so a buffer reused with the
/// same size never allocates again. It owns its memory, or borrows another buffer's (a shared
/// parameter): a copy of a borrowing buffer owns a copy of the values.
template <class T>
class buffer {
public:
    buffer() = default;
    explicit buffer(std::size_t n) { resize(n); }
    buffer(buffer const& o) : buffer(o.n_) { std::copy_n(o.data(), n_, data()); }
    buffer(buffer&& o) noexcept : p_(std::move(o.p_)), d_(o.d_), n_(o.n_), cap_(o.cap_) { o.forget(); }
    buffer& operator=(buffer const& o) {
        if (this != &o) {
            resize(o.n_);
            std::copy_n(o.data(), n_, data());
        }
        return *this;
    }
    buffer& operator=(buffer&& o) noexcept {
        p_ = std::move(o.p_);
        d_ = o.d_;
        n_ = o.n_;
        cap_ = o.cap_;
        o.forget();
        return *this;
    }
    void resize(std::size_t n) {
        if (n > cap_) {
            p_ = aligned_alloc<T>(n);
            d_ = p_.get();
            cap_ = n;
        }
        n_ = n;
    }
    /// Frees this buffer's memory and reads and writes o's from now on; o must outlive it.
    void borrow(buffer& o) noexcept {
        p_.reset();
        d_ = o.d_;
        n_ = cap_ = o.n_;
    }
    bool borrowed() const noexcept { return d_ != nullptr && !p_; }
    T* data() noexcept { return d_; }
    T const* data() const noexcept { return d_; }
    std::size_t size() const noexcept { return n_; }

private:
    void forget() noexcept {
        d_ = nullptr;
        n_ = cap_ = 0;
    }
    std::unique_ptr<T[], aligned_free<T>> p_;
    T* d_ = nullptr;
    std::size_t n_ = 0, cap_ = 0;
};

}  // namespace lamina::detail
