// Reductions over an expression without materializing it; and their scalar twins.
#pragma once

#include <algorithm>
#include <cstddef>

#include "lamina/expr/node.hpp"

namespace lamina::kernels {

/// How many values each lane of an accumulator adds in T before that lane's sum goes into a
/// double. Summed in T one after another, the mean of a million values of 0.1f came to
/// 0.09976, not 0.1.
inline constexpr std::size_t reduce_steps = 32;

namespace reduce_detail {

/// The sum of e(r, 0) to e(r, n - 1) (for a flat e, r = 0 and n its size), in blocks of
/// reduce_steps values a lane over four xsimd accumulators; the blocks' sums added in double.
template <class E>
double row_sum(E const& e, std::size_t r, std::size_t n) {
    using T = typename E::value_type;
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    constexpr std::size_t block = 4 * reduce_steps * W;
    detail::no_ctx c;
    double total = 0;
    for (std::size_t b0 = 0; b0 < n; b0 += block) {
        std::size_t const b1 = std::min(n, b0 + block);
        // The tail starts at v1, not where the vector loops stopped (see kernels::elementwise).
        std::size_t const v1 = b0 + (b1 - b0) / W * W;
        V a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
        std::size_t i = b0;
        for (; i + 4 * W <= v1; i += 4 * W) {
            a0 += e.template get<V>(c, r, i);
            a1 += e.template get<V>(c, r, i + W);
            a2 += e.template get<V>(c, r, i + 2 * W);
            a3 += e.template get<V>(c, r, i + 3 * W);
        }
        for (; i < v1; i += W) a0 += e.template get<V>(c, r, i);
        T tail = 0;
        for (i = v1; i < b1; ++i) tail += e.template get<T>(c, r, i);
        total += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3))) + static_cast<double>(tail);
    }
    return total;
}

/// dst[j] = the sum over k < n of e(first + k·stride, j), for every column j of e. Rows are read
/// in order, a panel of up to 512 columns at a time: reduce_steps rows are added in T into a
/// row of partial sums (in L1), which then goes into double sums. (Going down the columns a
/// strip at a time instead, with the sums in registers, was 2.4x slower over 100,000 rows of 91
/// floats.)
template <class E, class T>
void column_sums(E const& e, std::size_t first, std::size_t stride, std::size_t n, T* dst) {
    using V = detail::simd<T>;
    constexpr std::size_t C = E::shape_type::cols, W = V::size;
    constexpr std::size_t P = C < 512 ? C : 512;
    detail::no_ctx c;
    auto panel = [&]<std::size_t PW>(std::size_t p0) {
        constexpr std::size_t vectors = PW / W * W;
        alignas(64) T part[PW];
        double total[PW] = {};
        for (std::size_t k0 = 0; k0 < n; k0 += reduce_steps) {
            std::size_t const k1 = std::min(n, k0 + reduce_steps);
            std::fill_n(part, PW, T(0));
            for (std::size_t k = k0; k < k1; ++k) {
                std::size_t const r = first + k * stride;
                for (std::size_t j = 0; j < vectors; j += W)
                    (V::load_aligned(part + j) + e.template get<V>(c, r, p0 + j)).store_aligned(part + j);
                for (std::size_t j = vectors; j < PW; ++j) part[j] += e.template get<T>(c, r, p0 + j);
            }
            for (std::size_t j = 0; j < PW; ++j) total[j] += static_cast<double>(part[j]);
        }
        for (std::size_t j = 0; j < PW; ++j) dst[p0 + j] = static_cast<T>(total[j]);
    };
    for (std::size_t p0 = 0; p0 + P <= C; p0 += P) panel.template operator()<P>(p0);
    if constexpr (C % P != 0) panel.template operator()<C % P>(C / P * P);
}

}  // namespace reduce_detail

/// The sum of every element of e, within a few roundings in T of the exact sum (reduce_steps).
template <class E>
double sum_all(E const& e) {
    using S = typename E::shape_type;
    if constexpr (E::flat) {
        return reduce_detail::row_sum(e, 0, S::size(e.batch()));
    } else {
        double total = 0;
        for (std::size_t r = 0; r < S::rows(e.batch()); ++r) total += reduce_detail::row_sum(e, r, S::cols);
        return total;
    }
}

/// Sums e over axis A into out (shape: e's with axis A removed), as accurately as sum_all.
template <std::size_t A, class E, class T>
void sum_axis(E const& e, T* out) {
    using S = typename E::shape_type;
    constexpr std::size_t C = S::cols;
    if constexpr (S::rank == 1) {  // the only axis: everything (its length may be dynamic)
        out[0] = static_cast<T>(sum_all(e));
    } else if constexpr (A == S::rank - 1) {
        for (std::size_t r = 0; r < S::rows(e.batch()); ++r) out[r] = static_cast<T>(reduce_detail::row_sum(e, r, C));
    } else {
        // Rows of e are (outer, axis A, inner rows) flattened: the sums for (o, ir) start at row
        // o·n·inner_rows + ir and step inner_rows rows at a time.
        auto const ext = S::runtime_extents(e.batch());
        std::size_t outer = 1, inner_rows = 1;
        for (std::size_t d = 0; d < A; ++d) outer *= ext[d];
        for (std::size_t d = A + 1; d + 1 < S::rank; ++d) inner_rows *= ext[d];
        std::size_t const n = ext[A];
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t ir = 0; ir < inner_rows; ++ir)
                reduce_detail::column_sums(e, o * n * inner_rows + ir, inner_rows, n, out + (o * inner_rows + ir) * C);
    }
}

/// Whether sum_to<M, C> sums in place; otherwise it needs C::size(cbatch) doubles of scratch.
template <class M>
inline constexpr bool sum_to_in_place = M::scalar || ((M::one_row || M::trailing) && !M::col_bcast);

/// out (shape C, cbatch samples) = e summed over the axes along which C is broadcast to e's
/// shape (M: bmap<e's shape, C>): the gradient of a broadcast operand, such as a bias, as
/// accurate as sum_all. Where all of e's rows go into one row (a bias over a batch), or each
/// row of C takes every C-th row of e (a (T, K) operand over a (batch, T, K) parent), by
/// column_sums. Otherwise (a column broadcast, a broadcast over a middle axis) each element's
/// sum is kept in double, in `scratch`, and a column broadcast adds whole rows of e by row_sum.
template <class M, class C, class E, class T>
void sum_to(E const& e, T* out, std::size_t cbatch, [[maybe_unused]] double* scratch) {
    using S = typename E::shape_type;
    detail::no_ctx c;
    std::size_t const rows = S::rows(e.batch());
    if constexpr (M::scalar) {
        out[0] = static_cast<T>(sum_all(e));
    } else if constexpr (sum_to_in_place<M>) {  // row t of out takes rows t, t + crows, t + 2·crows... of e
        constexpr std::size_t crows = M::trailing ? C::static_size / C::cols : 1;
        for (std::size_t t = 0; t < crows; ++t) reduce_detail::column_sums(e, t, crows, rows / crows, out + t * C::cols);
    } else {
        std::size_t const n = C::size(cbatch);
        std::fill_n(scratch, n, 0.0);
        for (std::size_t r = 0; r < rows; ++r) {
            double* const o = scratch + M::row(r) * C::cols;
            if constexpr (M::col_bcast) *o += reduce_detail::row_sum(e, r, S::cols);
            else
                for (std::size_t j = 0; j < S::cols; ++j) o[M::col(j)] += static_cast<double>(e.template get<T>(c, r, j));
        }
        std::transform(scratch, scratch + n, out, [](double v) { return static_cast<T>(v); });
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
