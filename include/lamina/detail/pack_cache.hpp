// A parameter's values as the GEMM packs them, kept from one call to the next while they stay
// the same.
#pragma once

#include <cstddef>
#include <memory>

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
    pack_cache(pack_cache&&) noexcept = default;
    pack_cache& operator=(pack_cache const&) noexcept {
        packed_ = {};
        return *this;
    }
    pack_cache& operator=(pack_cache&&) noexcept = default;

    /// The packed values of the block stamped s, if this holds them.
    T const* find(block_stamp const& s) const noexcept { return s.block != 0 && s == packed_ ? data_.get() : nullptr; }
/// Room for n packed values, to be filled and then stamped by keep().
    T* reserve(std::size_t n) {
        packed_ = {};
        if (n > cap_) {
            data_ = aligned_alloc<T>(n);
            cap_ = n;
        }
        return data_.get();
    }
    void keep(block_stamp const& s) noexcept { packed_ = s; }
    /// Whether a packed copy of the values stamped s is held (for tests).
    bool holds(block_stamp const* s) const noexcept { return s && find(*s) != nullptr; }

private:
    std::unique_ptr<T[], aligned_free<T>> data_;
    std::size_t cap_ = 0;
    block_stamp packed_;
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
