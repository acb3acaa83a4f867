// The fused element-wise loop: one pass, xsimd body, scalar tail; and its scalar twin.
#pragma once

#include <cstddef>
#include <type_traits>

#include "lamina/expr/node.hpp"

namespace lamina::kernels {

/// out = e (or out += e when Accumulate), for every element of e's shape, in one pass; inlined
/// into its caller (evaluate_sized: a small static layer's whole evaluation compiles into the
/// call). elementwise() below is the same loop as a function of its own.
template <bool Accumulate = false, class E, class T>
[[gnu::always_inline]] inline void elementwise_inline(E const& expr, T* out) {
    detail::held_t<E> e = expr;
    using S = typename E::shape_type;
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    detail::no_ctx c;
    auto put = [](T* o, auto v) {
        using U = decltype(v);
        if constexpr (Accumulate) v = v + detail::load<U>(o);
        detail::store(o, v);
    };
    if constexpr (E::flat) {
        std::size_t const n = S::size(e.batch());
        // The tail starts at n / W * W rather than where the vector loops stopped: g++ 12 -O2
        // otherwise warns that an iteration of an empty tail "invokes undefined behavior" (seen
        // for 4 × 31 floats in 4-float vectors, where one vector follows the pairs), as it did
        // for reduce_detail::row_sum, written the same way.
        std::size_t const vectors = n / W * W;
        std::size_t i = 0;
        for (; i + 2 * W <= vectors; i += 2 * W) {
            put(out + i, e.template get<V>(c, 0, i));
            put(out + i + W, e.template get<V>(c, 0, i + W));
        }
        if (i < vectors) put(out + i, e.template get<V>(c, 0, i));
        for (i = vectors; i < n; ++i) put(out + i, e.template get<T>(c, 0, i));
    } else {
        std::size_t const rows = S::rows(e.batch());
        constexpr std::size_t C = S::cols;
        for (std::size_t r = 0; r < rows; ++r) {
            T* o = out + r * C;
            std::size_t j = 0;
            for (; j + W <= C; j += W) put(o + j, e.template get<V>(c, r, j));
            for (; j < C; ++j) put(o + j, e.template get<T>(c, r, j));
        }
    }
}

/// out = e (or out += e when Accumulate), for every element of e's shape, in one pass.
template <bool Accumulate = false, class E, class T>
void elementwise(E const& e, T* out) {
    elementwise_inline<Accumulate>(e, out);
}

/// The scalar twin of elementwise(): one element at a time, no SIMD; tests compare against it.
template <class E, class T>
void elementwise_scalar(E const& e, T* out) {
    using S = typename E::shape_type;
    detail::no_ctx c;
    std::size_t const rows = S::rows(e.batch());
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < S::cols; ++j) out[r * S::cols + j] = e.template get<T>(c, r, j);
}

}  // namespace lamina::kernels
