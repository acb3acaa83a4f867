// The fused element-wise loop: one pass, xsimd body, scalar tail; and its scalar twin.
#pragma once

#include <cstddef>

#include "lamina/expr/node.hpp"

namespace lamina::kernels {

/// Receives every value the loop stores; the default does nothing.
struct no_sink {
    template <class V>
    void operator()(V const&) noexcept {}
    void flush() noexcept {}
};

/// Sums every stored value (in float lanes, flushed to double once per row or block).
template <class T>
struct sum_sink {
    detail::simd<T> lanes = detail::simd<T>(T(0));
    T tail = 0;
    double total = 0;
    template <class V>
    void operator()(V const& v) noexcept {
        if constexpr (std::is_arithmetic_v<V>) tail += v;
        else lanes += v;
    }
    void flush() noexcept {
        total += static_cast<double>(xsimd::hadd(lanes)) + static_cast<double>(tail);
        lanes = detail::simd<T>(T(0));
        tail = 0;
    }
};

/// out = e, for every element of e's shape, in one pass.
template <class E, class T, class Sink = no_sink>
void elementwise(E const& e, T* out, Sink&& sink = {}) {
    using S = typename E::shape_type;
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    detail::no_ctx c;
    if constexpr (E::flat) {
        std::size_t const n = S::size(e.batch());
        constexpr std::size_t block = 1024;  // a running sum flushes to double this often
        for (std::size_t b0 = 0; b0 < n; b0 += block) {
            std::size_t const b1 = b0 + block < n ? b0 + block : n;
            std::size_t i = b0;
            for (; i + 2 * W <= b1; i += 2 * W) {
                V v0 = e.template get<V>(c, 0, i), v1 = e.template get<V>(c, 0, i + W);
                v0.store_unaligned(out + i);
                v1.store_unaligned(out + i + W);
                sink(v0);
                sink(v1);
            }
            for (; i + W <= b1; i += W) {
                V v = e.template get<V>(c, 0, i);
                v.store_unaligned(out + i);
                sink(v);
            }
            for (; i < b1; ++i) {
                T v = e.template get<T>(c, 0, i);
                out[i] = v;
                sink(v);
            }
            sink.flush();
        }
    } else {
        std::size_t const rows = S::rows(e.batch());
        constexpr std::size_t C = S::cols;
        for (std::size_t r = 0; r < rows; ++r) {
            T* o = out + r * C;
            std::size_t j = 0;
            for (; j + W <= C; j += W) {
                V v = e.template get<V>(c, r, j);
                v.store_unaligned(o + j);
                sink(v);
            }
            for (; j < C; ++j) {
                T v = e.template get<T>(c, r, j);
                o[j] = v;
                sink(v);
            }
            sink.flush();
        }
    }
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
