// Reductions over an expression without materializing it; and their scalar twins.
#pragma once

#include <algorithm>
#include <cstddef>

#include "lamina/expr/node.hpp"

namespace lamina::kernels {

/// The sum of every element of e: four xsimd accumulators per 1024-element block (32 values
/// per lane), blocks added in double: within a few float roundings of the exact sum.
template <class E>
double sum_all(E const& e) {
    using T = typename E::value_type;
    using S = typename E::shape_type;
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    detail::no_ctx c;
    double total = 0;
    if constexpr (E::flat) {
        std::size_t const n = S::size(e.batch());
        constexpr std::size_t block = 1024;
        for (std::size_t b0 = 0; b0 < n; b0 += block) {
            std::size_t const b1 = b0 + block < n ? b0 + block : n;
            V a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
            std::size_t i = b0;
            for (; i + 4 * W <= b1; i += 4 * W) {
                a0 += e.template get<V>(c, 0, i);
                a1 += e.template get<V>(c, 0, i + W);
                a2 += e.template get<V>(c, 0, i + 2 * W);
                a3 += e.template get<V>(c, 0, i + 3 * W);
            }
            for (; i + W <= b1; i += W) a0 += e.template get<V>(c, 0, i);
            T tail = 0;
            for (; i < b1; ++i) tail += e.template get<T>(c, 0, i);
            total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3))) + static_cast<double>(tail);
        }
    } else {
        std::size_t const rows = S::rows(e.batch());
        constexpr std::size_t C = S::cols;
        for (std::size_t r = 0; r < rows; ++r) {
            V a(T(0));
            std::size_t j = 0;
            for (; j + W <= C; j += W) a += e.template get<V>(c, r, j);
            T tail = 0;
            for (; j < C; ++j) tail += e.template get<T>(c, r, j);
            total += static_cast<double>(xsimd::hadd(a)) + static_cast<double>(tail);
        }
    }
    return total;
}

/// How many values sum_axis adds into one lane in T before that lane's sum goes into a double.
inline constexpr std::size_t reduce_steps = 32;

/// Sums e over axis A into out (shape: e's with axis A removed), row-wise with xsimd. As in
/// sum_all, each lane sums reduce_steps values in T and those sums are added in double: summed
/// one by one, a million values of 0.1f came to 0.09976, not 0.1.
template <std::size_t A, class E, class T>
void sum_axis(E const& e, T* out) {
    using S = typename E::shape_type;
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    constexpr std::size_t C = S::cols;
    detail::no_ctx c;
    auto const ext = S::runtime_extents(e.batch());
    if constexpr (S::rank == 1) {  // the only axis: everything (its length may be dynamic)
        out[0] = static_cast<T>(sum_all(e));
    } else if constexpr (A == S::rank - 1) {
        std::size_t const rows = S::rows(e.batch());
        constexpr std::size_t block = reduce_steps * W;
        for (std::size_t r = 0; r < rows; ++r) {
            double total = 0;
            for (std::size_t j0 = 0; j0 < C; j0 += block) {
                std::size_t const j1 = std::min(C, j0 + block);
                V a(T(0));
                std::size_t j = j0;
                for (; j + W <= j1; j += W) a += e.template get<V>(c, r, j);
                T s = xsimd::hadd(a);
                for (; j < j1; ++j) s += e.template get<T>(c, r, j);
                total += static_cast<double>(s);
            }
            out[r] = static_cast<T>(total);
        }
    } else {
        std::size_t outer = 1, inner_rows = 1;
        for (std::size_t d = 0; d < A; ++d) outer *= ext[d];
        for (std::size_t d = A + 1; d + 1 < S::rank; ++d) inner_rows *= ext[d];
        std::size_t const n = ext[A];
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t ir = 0; ir < inner_rows; ++ir) {
                T* dst = out + (o * inner_rows + ir) * C;
                std::size_t j = 0;
                for (; j + W <= C; j += W) {
                    double total[W] = {};
                    for (std::size_t k0 = 0; k0 < n; k0 += reduce_steps) {
                        std::size_t const k1 = std::min(n, k0 + reduce_steps);
                        V a(T(0));
                        for (std::size_t k = k0; k < k1; ++k) a += e.template get<V>(c, (o * n + k) * inner_rows + ir, j);
                        T lanes[W];
                        a.store_unaligned(lanes);
                        for (std::size_t l = 0; l < W; ++l) total[l] += static_cast<double>(lanes[l]);
                    }
                    for (std::size_t l = 0; l < W; ++l) dst[j + l] = static_cast<T>(total[l]);
                }
                for (; j < C; ++j) {
                    double total = 0;
                    for (std::size_t k0 = 0; k0 < n; k0 += reduce_steps) {
                        std::size_t const k1 = std::min(n, k0 + reduce_steps);
                        T s = 0;
                        for (std::size_t k = k0; k < k1; ++k) s += e.template get<T>(c, (o * n + k) * inner_rows + ir, j);
                        total += static_cast<double>(s);
                    }
                    dst[j] = static_cast<T>(total);
                }
            }
    }
}

/// out (shape C, cbatch samples) = e summed over the axes along which C is broadcast to e's
/// shape (M: bmap<e's shape, C>): the gradient of a broadcast operand, such as a bias.
template <class M, class C, class E, class T>
void sum_to(E const& e, T* out, std::size_t cbatch) {
    using S = typename E::shape_type;
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    detail::no_ctx c;
    std::size_t const rows = S::rows(e.batch());
    if constexpr (M::scalar) {
        out[0] = static_cast<T>(sum_all(e));
    } else if constexpr (M::one_row && !M::col_bcast) {  // every row of e adds into out's one row
        constexpr std::size_t CC = S::cols;
        std::fill_n(out, CC, T(0));
        for (std::size_t r = 0; r < rows; ++r) {
            std::size_t j = 0;
            for (; j + W <= CC; j += W) (V::load_unaligned(out + j) + e.template get<V>(c, r, j)).store_unaligned(out + j);
            for (; j < CC; ++j) out[j] += e.template get<T>(c, r, j);
        }
    } else {
        std::fill_n(out, C::size(cbatch), T(0));
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < S::cols; ++j) out[M::row(r) * C::cols + M::col(j)] += e.template get<T>(c, r, j);
    }
}

/// Scalar twin of sum_all (double accumulator).
template <class E>
double sum_all_scalar(E const& e) {
    using T = typename E::value_type;
    using S = typename E::shape_type;
    detail::no_ctx c;
    double s = 0;
    for (std::size_t r = 0; r < S::rows(e.batch()); ++r)
        for (std::size_t j = 0; j < S::cols; ++j) s += e.template get<T>(c, r, j);
    return s;
}

}  // namespace lamina::kernels
