// A parameter's values as the GEMM packs them, kept from one call to the next while they stay
// the same.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>

#include "lamina/detail/aligned.hpp"

namespace lamina::detail {

/// The packed copy of one frozen parameter (kernels::gemm's layout), stamped with the values
/// it was made from (see block_stamp): a frozen net (lamina::freeze) packs each large weight on
/// its first call and again only after its values change. Trainable parameters, which an
/// optimizer changes at every step, are packed per call into the workspace.
template <class T>
class pack_cache {
public:
    pack_cache() = default;
    pack_cache(pack_cache const&) noexcept {}  // a copy of a parameter packs its own
    pack_cache(pack_cache&& o) noexcept { take(o); }
    pack_cache& operator=(pack_cache const&) noexcept {
        std::lock_guard lock(m_);
        packed_ = {};
        return *this;
    }
    pack_cache& operator=(pack_cache&& o) noexcept {
        if (this != &o) take(o);
        return *this;
    }

    /// The packed copy of the values stamped s: the one held, or one that pack(out) writes
    /// now into room for n values. Calls on one parameter from several threads are safe: one
    /// of them packs, the others wait for it.
    template <class Pack>
    T const* get(block_stamp const& s, std::size_t n, Pack&& pack) {
        std::lock_guard lock(m_);
        if (current(s)) return data_.get();
        packed_ = {};
        if (n > cap_ || !data_) {
            data_ = aligned_alloc<T>(n);
            cap_ = n;
        }
        pack(data_.get());
        packed_ = s;
        ++packs_;
        return data_.get();
    }
    /// Whether a packed copy of the values stamped s is held (for tests).
    bool holds(block_stamp const* s) const noexcept {
        std::lock_guard lock(m_);
        return s && current(*s);
    }
    /// How many times the values were packed (for tests).
    std::size_t packs() const noexcept { return packs_; }

private:
    // Whether the copy held was packed from the values stamped s (block 0: a tensor that is
    // not a parameter's, never kept). Called under m_.
    bool current(block_stamp const& s) const noexcept { return s.block != 0 && s == packed_; }
    void take(pack_cache& o) noexcept {
        std::scoped_lock lock(m_, o.m_);
        data_ = std::move(o.data_);
        cap_ = std::exchange(o.cap_, 0);
        packed_ = std::exchange(o.packed_, {});
        packs_ = std::exchange(o.packs_, 0);
    }
    mutable std::mutex m_;
    std::unique_ptr<T[], aligned_free<T>> data_;
    std::size_t cap_ = 0;
    block_stamp packed_;
    std::size_t packs_ = 0;
};

/// What a GEMM is given of a right operand that may come packed: the cache and the stamp of
/// the operand's values (both null for operands that are not parameters).
template <class T>
struct prepacked {
    pack_cache<T>* cache = nullptr;
    block_stamp const* stamp = nullptr;
    explicit operator bool() const noexcept { return cache != nullptr && stamp != nullptr; }
};

}  // namespace lamina::detail
