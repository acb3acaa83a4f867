// 64-byte aligned, uninitialized-on-growth buffer: the storage behind every tensor.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace lamina::detail {

inline constexpr std::size_t alignment = 64;

// A block of at least huge_min bytes starts on a 2 MiB boundary and, on Linux, asks for
// transparent huge pages (MADV_HUGEPAGE; Debian's default mode serves only blocks that ask):
// its first writes then fault once per 2 MiB instead of once per 4 KiB. Filling the 188 MB of
// Fashion-MNIST's training images for the first time took 569 ms, and 372 ms in huge pages (one
// Zen 5 core, in a virtual machine, where a fault costs the most).
inline constexpr std::size_t huge_page = std::size_t{2} << 20;
inline constexpr std::size_t huge_min = std::size_t{4} << 20;
constexpr std::size_t alignment_for(std::size_t bytes) noexcept { return bytes >= huge_min ? huge_page : alignment; }

template <class T>
struct aligned_free {
    std::size_t align = alignment;
    void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{align}); }
};

template <class T>
std::unique_ptr<T[], aligned_free<T>> aligned_alloc(std::size_t n) {
    if (n == 0) return {};
    std::size_t const bytes = n * sizeof(T), align = alignment_for(bytes);
    void* p = ::operator new[](bytes, std::align_val_t{align});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == huge_page) ::madvise(p, bytes / huge_page * huge_page, MADV_HUGEPAGE);  // a hint: failure is harmless
#endif
    return std::unique_ptr<T[], aligned_free<T>>(static_cast<T*>(p), aligned_free<T>{align});
}

/// What a buffer keeps in front of its values, in the same allocation: which allocation it is
/// (never reused in a process) and how many times its values were handed out for writing. A
/// copy made of the values elsewhere (a GEMM's packed weights) is current while both match.
struct block_stamp {
    std::uint64_t block = 0;
    std::uint64_t version = 0;
    friend bool operator==(block_stamp const&, block_stamp const&) = default;
};

inline std::uint64_t new_block_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

/// Aligned array of trivially copyable T; resize() keeps capacity, so a buffer reused with the
/// same size never allocates again. It owns its memory, or borrows another buffer's (a shared
/// parameter): a copy of a borrowing buffer owns a copy of the values. Every non-const data()
/// counts as a write in the block's stamp, which a borrower shares with its owner.
template <class T>
class buffer {
    static_assert(alignof(T) <= alignment && sizeof(block_stamp) <= alignment);

public:
    buffer() = default;
    explicit buffer(std::size_t n) { resize(n); }
    buffer(buffer const& o) : buffer(o.n_) { std::copy_n(o.data(), n_, data()); }
    buffer(buffer&& o) noexcept : p_(std::move(o.p_)), d_(o.d_), s_(o.s_), n_(o.n_), cap_(o.cap_) { o.forget(); }
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
        s_ = o.s_;
        n_ = o.n_;
        cap_ = o.cap_;
        o.forget();
        return *this;
    }
    void resize(std::size_t n) {
        if (n > cap_) {
            // The stamp, then the values at the next aligned address.
            p_ = aligned_alloc<std::byte>(alignment + n * sizeof(T));
            s_ = ::new (p_.get()) block_stamp{new_block_id(), 0};
            d_ = reinterpret_cast<T*>(p_.get() + alignment);
            cap_ = n;
        }
        n_ = n;
    }
    /// Frees this buffer's memory and reads and writes o's from now on; o must outlive it.
    void borrow(buffer& o) noexcept {
        p_.reset();
        d_ = o.d_;
        s_ = o.s_;
        n_ = cap_ = o.n_;
    }
    bool borrowed() const noexcept { return d_ != nullptr && !p_; }
    T* data() noexcept {
        touch();
        return d_;
    }
    T const* data() const noexcept { return d_; }
    std::size_t size() const noexcept { return n_; }
    /// Counts a write made through a pointer handed out earlier.
    void touch() noexcept {
        if (s_) ++s_->version;
    }
    /// The block's stamp (null while nothing is allocated).
    block_stamp const* stamp() const noexcept { return s_; }

private:
    void forget() noexcept {
        d_ = nullptr;
        s_ = nullptr;
        n_ = cap_ = 0;
    }
    std::unique_ptr<std::byte[], aligned_free<std::byte>> p_;
    T* d_ = nullptr;
    block_stamp* s_ = nullptr;
    std::size_t n_ = 0, cap_ = 0;
};

}  // namespace lamina::detail
