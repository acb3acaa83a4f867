// C = A·B for row-major A (M×K, M known at run time) and B (K×N, static), with the
// consumer's element-wise expression applied while each tile is still in registers.
#pragma once

#include <algorithm>
#include <cstddef>

#include "lamina/detail/static_for.hpp"
#include "lamina/detail/workspace.hpp"
#include "lamina/expr/node.hpp"

namespace lamina::kernels {

/// Stores the product unchanged.
struct identity_epilogue {
    template <class V>
    V operator()(std::size_t, std::size_t, V acc) const noexcept {
        return acc;
    }
    void flush() noexcept {}
};

namespace gemm_detail {

template <class T>
struct tiles {
    static constexpr std::size_t W = detail::simd<T>::size;
    static constexpr std::size_t MR = 6;  // rows per tile: 6×2 accumulators + 2 loads + 1 broadcast
    static constexpr std::size_t NV = 2;  // vectors per tile row
    static constexpr std::size_t NR = NV * W;
    static constexpr std::size_t KC = 256;  // depth of one pass: a packed strip of B stays in L1
    static constexpr std::size_t NC = 256;  // columns packed at once: the panel stays in L2
};

// One MR×(NV·W) tile over k in [0, kc): accumulates into registers, then either stores the
// partial sums (more depth to come) or hands each vector to the epilogue.
template <std::size_t MR, std::size_t NV, class T, class Epi>
[[gnu::always_inline]] inline void micro(std::size_t kc, T const* a, std::size_t lda, T const* b, std::size_t ldb,
                                         T* c, std::size_t ldc, std::size_t r0, std::size_t j0, bool first,
                                         bool last, Epi& epi) {
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    V acc[MR][NV];
    detail::static_for<MR>([&](auto m) {
        detail::static_for<NV>([&](auto v) {
            acc[m][v] = first ? V(T(0)) : V::load_unaligned(c + m * ldc + v * W);
        });
    });
    for (std::size_t k = 0; k < kc; ++k) {
        V bv[NV];
        detail::static_for<NV>([&](auto v) { bv[v] = V::load_unaligned(b + k * ldb + v * W); });
        detail::static_for<MR>([&](auto m) {
            V av(a[m * lda + k]);
            detail::static_for<NV>([&](auto v) { acc[m][v] = xsimd::fma(av, bv[v], acc[m][v]); });
        });
    }
    detail::static_for<MR>([&](auto m) {
        detail::static_for<NV>([&](auto v) {
            V out = last ? epi(r0 + m, j0 + v * W, acc[m][v]) : acc[m][v];
            out.store_unaligned(c + m * ldc + v * W);
        });
    });
}

template <std::size_t NV, class T, class Epi>
inline void rows_dispatch(std::size_t M, std::size_t kc, T const* a, std::size_t lda, T const* b, std::size_t ldb,
                          T* c, std::size_t ldc, std::size_t j0, bool first, bool last, Epi& epi) {
    constexpr std::size_t MR = tiles<T>::MR;
    std::size_t r = 0;
    for (; r + MR <= M; r += MR)
        micro<MR, NV>(kc, a + r * lda, lda, b, ldb, c + r * ldc, ldc, r, j0, first, last, epi);
    std::size_t const rest = M - r;
    a += r * lda;
    c += r * ldc;
    switch (rest) {
        case 5: micro<5, NV>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        case 4: micro<4, NV>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        case 3: micro<3, NV>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        case 2: micro<2, NV>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        case 1: micro<1, NV>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        default: break;
    }
    if (last) epi.flush();  // keeps a running sum's float lanes short
}

// Columns narrower than one vector: plain scalar dot products (the compiler unrolls the
// static depth for small layers).
template <std::size_t K, std::size_t N, class T, class Epi>
inline void scalar_columns(std::size_t M, std::size_t j0, T const* A, T const* B, T* C, Epi& epi) {
    for (std::size_t r = 0; r < M; ++r)
        for (std::size_t j = j0; j < N; ++j) {
            T s = 0;
            for (std::size_t k = 0; k < K; ++k) s += A[r * K + k] * B[k * N + j];
            C[r * N + j] = epi(r, j, s);
        }
}

}  // namespace gemm_detail

/// C (M×N) = epi(A (M×K) · B (K×N)); `epi` sees (row, column, value) for scalars and vectors
/// and its result is stored; epi.flush() is called after each block of rows.
template <std::size_t K, std::size_t N, class T, class Epi>
void gemm(T const* A, std::size_t M, T const* B, T* C, Epi& epi, detail::workspace& ws) {
    using tl = gemm_detail::tiles<T>;
    constexpr std::size_t W = tl::W, NR = tl::NR, KC = tl::KC, NC = tl::NC;
    constexpr std::size_t n_full = N / NR * NR;          // columns in full-width strips
    constexpr std::size_t n_vec = n_full + (N - n_full) / W * W;  // plus single-vector strips
    // Packing pays off when B is too large for L1 and enough rows reuse each strip.
    bool const pack = K * N >= 16384 && M >= 2 * tl::MR && n_full > 0;
    if (!pack) {
        for (std::size_t j0 = 0; j0 < n_full; j0 += NR)
            gemm_detail::rows_dispatch<tl::NV>(M, K, A, K, B + j0, N, C + j0, N, j0, true, true, epi);
        for (std::size_t j0 = n_full; j0 < n_vec; j0 += W)
            gemm_detail::rows_dispatch<1>(M, K, A, K, B + j0, N, C + j0, N, j0, true, true, epi);
        if constexpr (n_vec < N) gemm_detail::scalar_columns<K, N>(M, n_vec, A, B, C, epi);
        epi.flush();
        return;
    }
    // Blocked and packed: for each panel of NC columns and KC depth, copy B's strips
    // contiguous (kc×NR each), then sweep every row block over every strip.
    T* packed = ws.alloc<T>(KC * NC);
    for (std::size_t jc = 0; jc < n_full; jc += NC) {
        std::size_t const nc = std::min(NC, n_full - jc);
        for (std::size_t pc = 0; pc < K; pc += KC) {
            std::size_t const kc = std::min(KC, K - pc);
            bool const first = pc == 0, last = pc + kc == K;
            for (std::size_t s = 0; s < nc; s += NR)
                for (std::size_t k = 0; k < kc; ++k)
                    std::copy_n(B + (pc + k) * N + jc + s, NR, packed + s * kc + k * NR);
            for (std::size_t s = 0; s < nc; s += NR)
                gemm_detail::rows_dispatch<tl::NV>(M, kc, A + pc, K, packed + s * kc, NR, C + jc + s, N, jc + s,
                                                   first, last, epi);
        }
    }
    for (std::size_t j0 = n_full; j0 < n_vec; j0 += W)
        gemm_detail::rows_dispatch<1>(M, K, A, K, B + j0, N, C + j0, N, j0, true, true, epi);
    if constexpr (n_vec < N) gemm_detail::scalar_columns<K, N>(M, n_vec, A, B, C, epi);
    epi.flush();
}

/// Scalar twin of gemm(): the textbook triple loop with a double accumulator.
template <class T, class Epi>
void gemm_scalar(T const* A, std::size_t M, std::size_t K, T const* B, std::size_t N, T* C, Epi& epi) {
    for (std::size_t r = 0; r < M; ++r)
        for (std::size_t j = 0; j < N; ++j) {
            double s = 0;
            for (std::size_t k = 0; k < K; ++k) s += static_cast<double>(A[r * K + k]) * B[k * N + j];
            C[r * N + j] = epi(r, j, static_cast<T>(s));
        }
}

}  // namespace lamina::kernels
