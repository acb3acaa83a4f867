// The gradient of the per-row self outer product P = x xᵀ, and its scalar twin.
#pragma once

#include <cstddef>

#include "lamina/expr/node.hpp"

namespace lamina::kernels {

/// dx (rows × N) = (G + Gᵀ)·x per row, G (rows × N·N) being dL/dP for P_ij = x_i·x_j: the
/// row dots G·x, then Gᵀ·x as N axpys over G's rows (both read G sequentially).
template <std::size_t N, class T>
void outer_grad(T const* g, T const* x, std::size_t rows, T* dx) {
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size, body = N / W * W;
    for (std::size_t r = 0; r < rows; ++r) {
        T const* G = g + r * N * N;
        T const* xr = x + r * N;
        T* d = dx + r * N;
        for (std::size_t i = 0; i < N; ++i) {
            T const* gi = G + i * N;
            V acc(T(0));
            std::size_t j = 0;
            for (; j < body; j += W) acc = detail::fmadd(V::load_unaligned(gi + j), V::load_unaligned(xr + j), acc);
            T s = xsimd::hadd(acc);
            for (; j < N; ++j) s += gi[j] * xr[j];
            d[i] = s;
        }
        for (std::size_t j = 0; j < N; ++j) {
            T const* gj = G + j * N;
            V const xj(xr[j]);
            std::size_t i = 0;
            for (; i < body; i += W) detail::fmadd(V::load_unaligned(gj + i), xj, V::load_unaligned(d + i)).store_unaligned(d + i);
            for (; i < N; ++i) d[i] += gj[i] * xr[j];
        }
    }
}

/// Scalar twin of outer_grad(), with a double accumulator.
template <std::size_t N, class T>
void outer_grad_scalar(T const* g, T const* x, std::size_t rows, T* dx) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t i = 0; i < N; ++i) {
            double s = 0;
            for (std::size_t j = 0; j < N; ++j)
                s += (static_cast<double>(g[r * N * N + i * N + j]) + g[r * N * N + j * N + i]) * x[r * N + j];
            dx[r * N + i] = static_cast<T>(s);
        }
}

}  // namespace lamina::kernels
