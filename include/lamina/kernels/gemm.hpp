// C = A·B for row-major A (M×K, M known at run time) and B (K×N, static), with the
// consumer's element-wise expression applied while each tile is still in registers.
#pragma once

#include <algorithm>
#include <cstddef>

#include "lamina/detail/workspace.hpp"
#include "lamina/expr/node.hpp"

namespace lamina::kernels {

/// Stores the product unchanged.
struct identity_epilogue {
    template <class V>
    V operator()(std::size_t, std::size_t, V acc) const noexcept {
        return acc;
    }
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
// Plain loops with constant trips, fully unrolled, so the accumulators live in registers
// (lambdas would be outlined at some call sites and spill them).
#define LAMINA_UNROLL _Pragma("GCC unroll 16")

// One step of depth: broadcast MR values of A, multiply-add them with NV vectors of B.
template <std::size_t MR, std::size_t NV, class T, class V>
[[gnu::always_inline]] inline void fma_step(V (&acc)[MR][NV], T const* a, std::size_t lda, T const* b) {
    V bv[NV];
    LAMINA_UNROLL for (std::size_t v = 0; v < NV; ++v) bv[v] = V::load_unaligned(b + v * V::size);
    LAMINA_UNROLL for (std::size_t m = 0; m < MR; ++m) {
        V const av(a[m * lda]);
        LAMINA_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[m][v] = xsimd::fma(av, bv[v], acc[m][v]);
    }
}

// KS > 0: the depth is the static KS (small layers unroll it completely); 0: run-time kc.
template <std::size_t MR, std::size_t NV, std::size_t KS, class T, class Epi>
[[gnu::always_inline]] inline void micro(std::size_t kc, T const* a, std::size_t lda, T const* b, std::size_t ldb,
                                         T* c, std::size_t ldc, std::size_t r0, std::size_t j0, bool first,
                                         bool last, Epi& epi) {
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    // Small tiles have too few independent FMA chains to hide the FMA latency: split the
    // depth over KU sets of accumulators and add them at the end.
    constexpr std::size_t KU = MR * NV >= 8 ? 1 : 8 / (MR * NV);
    V acc[KU][MR][NV];
    LAMINA_UNROLL for (std::size_t u = 0; u < KU; ++u)
        LAMINA_UNROLL for (std::size_t m = 0; m < MR; ++m)
            LAMINA_UNROLL for (std::size_t v = 0; v < NV; ++v)
                acc[u][m][v] = (u > 0 || first) ? V(T(0)) : V::load_unaligned(c + m * ldc + v * W);
    if constexpr (KS > 0 && KS <= 32) {
        LAMINA_UNROLL for (std::size_t k = 0; k < KS; ++k) fma_step(acc[k % KU], a + k, lda, b + k * ldb);
    } else if constexpr (KS > 0) {
        constexpr std::size_t body = KS / KU * KU;
        for (std::size_t k = 0; k < body; k += KU)
            LAMINA_UNROLL for (std::size_t u = 0; u < KU; ++u) fma_step(acc[u], a + k + u, lda, b + (k + u) * ldb);
        LAMINA_UNROLL for (std::size_t k = body; k < KS; ++k) fma_step(acc[0], a + k, lda, b + k * ldb);
    } else {
        std::size_t const body = kc / KU * KU;
        for (std::size_t k = 0; k < body; k += KU)
            LAMINA_UNROLL for (std::size_t u = 0; u < KU; ++u) fma_step(acc[u], a + k + u, lda, b + (k + u) * ldb);
        for (std::size_t k = body; k < kc; ++k) fma_step(acc[0], a + k, lda, b + k * ldb);
    }
    LAMINA_UNROLL for (std::size_t m = 0; m < MR; ++m)
        LAMINA_UNROLL for (std::size_t v = 0; v < NV; ++v) {
            V sum = acc[0][m][v];
            LAMINA_UNROLL for (std::size_t u = 1; u < KU; ++u) sum += acc[u][m][v];
            V const out = last ? epi(r0 + m, j0 + v * W, sum) : sum;
            out.store_unaligned(c + m * ldc + v * W);
        }
}

template <std::size_t NV, std::size_t KS, class T, class Epi>
inline void rows_dispatch(std::size_t M, std::size_t kc, T const* a, std::size_t lda, T const* b, std::size_t ldb,
                          T* c, std::size_t ldc, std::size_t j0, bool first, bool last, Epi& epi) {
    constexpr std::size_t MR = tiles<T>::MR;
    std::size_t r = 0;
    for (; r + MR <= M; r += MR)
        micro<MR, NV, KS>(kc, a + r * lda, lda, b, ldb, c + r * ldc, ldc, r, j0, first, last, epi);
    std::size_t const rest = M - r;
    a += r * lda;
    c += r * ldc;
    switch (rest) {
        case 5: micro<5, NV, KS>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        case 4: micro<4, NV, KS>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        case 3: micro<3, NV, KS>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        case 2: micro<2, NV, KS>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        case 1: micro<1, NV, KS>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi); break;
        default: break;
    }
}

// Columns narrower than one vector: per row, NT scalar accumulators over the static depth,
// fully unrolled for small layers (the chapter's 5→3 runs entirely here).
template <std::size_t K, std::size_t N, std::size_t J0, class T, class Epi>
inline void scalar_columns(std::size_t M, T const* A, T const* B, T* C, Epi& epi) {
    constexpr std::size_t NT = N - J0;
    for (std::size_t r = 0; r < M; ++r) {
        T acc[NT] = {};
        T const* a = A + r * K;
        if constexpr (K * NT <= 256) {
            LAMINA_UNROLL for (std::size_t k = 0; k < K; ++k)
                LAMINA_UNROLL for (std::size_t t = 0; t < NT; ++t) acc[t] += a[k] * B[k * N + J0 + t];
        } else {
            for (std::size_t k = 0; k < K; ++k)
                LAMINA_UNROLL for (std::size_t t = 0; t < NT; ++t) acc[t] += a[k] * B[k * N + J0 + t];
        }
        LAMINA_UNROLL for (std::size_t t = 0; t < NT; ++t) C[r * N + J0 + t] = epi(r, J0 + t, acc[t]);
    }
}

}  // namespace gemm_detail

/// C (M×N) = epi(A (M×K) · B (K×N)); `epi` sees (row, column, value) for scalars and vectors
/// and its result is stored.
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
            gemm_detail::rows_dispatch<tl::NV, K>(M, K, A, K, B + j0, N, C + j0, N, j0, true, true, epi);
        for (std::size_t j0 = n_full; j0 < n_vec; j0 += W)
            gemm_detail::rows_dispatch<1, K>(M, K, A, K, B + j0, N, C + j0, N, j0, true, true, epi);
        if constexpr (n_vec < N) gemm_detail::scalar_columns<K, N, n_vec>(M, A, B, C, epi);
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
                gemm_detail::rows_dispatch<tl::NV, 0>(M, kc, A + pc, K, packed + s * kc, NR, C + jc + s, N, jc + s,
                                                   first, last, epi);
        }
    }
    for (std::size_t j0 = n_full; j0 < n_vec; j0 += W)
        gemm_detail::rows_dispatch<1, K>(M, K, A, K, B + j0, N, C + j0, N, j0, true, true, epi);
    if constexpr (n_vec < N) gemm_detail::scalar_columns<K, N, n_vec>(M, A, B, C, epi);
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

#undef LAMINA_UNROLL
