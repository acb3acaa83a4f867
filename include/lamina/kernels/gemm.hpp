// C = A·B for row-major A (M×K, M known at run time) and B (K×N, static), with the
// consumer's element-wise expression applied while each tile is still in registers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "lamina/detail/thread_pool.hpp"
#include "lamina/detail/workspace.hpp"
#include "lamina/expr/node.hpp"

namespace lamina::kernels {

/// Stores the product unchanged.
///
/// An epilogue may also ask for the sum of what it stores, by giving a `T* tile_sums` member
/// pointing to sum_slots<N, T>(M) zeros: the GEMM adds each tile's stored values, summed in
/// registers, lane by lane into the vector slot of its MR rows and NR columns. A slot is only
/// ever written by one task and in a fixed order, so the total does not depend on the thread
/// count; and no pass reads C again.
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
    static constexpr std::size_t MR = 6;  // rows per tile
    // Vectors per tile row: MR×NV accumulators, NV vectors of B and a broadcast of A fit in the
    // vector registers. SSE's and AVX2's 16 take 6×2; AVX-512's 32 take 6×4, which loads 10
    // values per 24 FMAs instead of 8 per 12 (with bias and ReLU, on one Zen 5 core:
    // 64×256·256×256 went from 81 to 90 % of the FMA peak, 256×1024·1024×1024 from 72 to 85 %).
    static constexpr std::size_t NV = W * sizeof(T) == 64 ? 4 : 2;
    static constexpr std::size_t NR = NV * W;
    static constexpr std::size_t KC = 256;  // depth of one pass: a packed strip of B stays in L1
    static constexpr std::size_t NC = 256;  // columns packed at once: the panel stays in L2
    static constexpr std::size_t MC = 96;   // rows swept over every strip before the next: L2 keeps them
    static constexpr std::size_t big_a_bytes = std::size_t{512} << 10;  // A's depth block beyond L2...
    static constexpr std::size_t NC_big = 1024;                         // ...packs this many columns
    static_assert(NC % NR == 0 && NC_big % NR == 0);
    // The depth of each pass over a product of depth K (the last pass may be shorter): KC,
    // unless the last pass would be shorter than KC/4; the passes are then one fewer and
    // evenly deep. Each pass loads and stores every tile of C once, and a short one pays that
    // for a few steps: K = 784 runs 3 passes of 262 rather than 3 of 256 and one of 16.
    static constexpr std::size_t kc_for(std::size_t K) noexcept {
        std::size_t n = (K + KC - 1) / KC;
        if (n > 1 && K - (n - 1) * KC < KC / 4) --n;
        return n == 0 ? KC : (K + n - 1) / n;
    }
};

// One MR×(NV·W) tile over k in [0, kc): accumulates into registers, then either stores the
// partial sums (more depth to come) or hands each vector to the epilogue.
// Plain loops with constant trips, fully unrolled, so the accumulators live in registers
// (lambdas would be outlined at some call sites and spill them).
#define LAMINA_UNROLL _Pragma("GCC unroll 16")
// A loop over tiles: each tile fills the vector registers, so two side by side spill them.
// Where the trip count is a small constant GCC may unroll such a loop or not, depending on the
// rest of the translation unit: the seed net at batch 4, its two strips unrolled, took 88 ns
// a call instead of 64 (one Zen 5 core).
#define LAMINA_NO_UNROLL _Pragma("GCC unroll 1")

// Loaded once per depth step and used by every row: without this, compilers fold the load
// into each row's FMA, which doubles the load traffic of a small tile.
template <class V>
[[gnu::always_inline]] inline void keep_in_register(V& v) {
#if defined(__GNUC__) && defined(__AVX512F__)
    asm("" : "+v"(v.data));
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    asm("" : "+x"(v.data));
#endif
}

// A vector of Lanes values of T: the widest (detail::simd<T>) for 0, else the one of that size
// in this build's instruction sets (void where there is none), for the columns past the widest
// vectors: under AVX-512, 8 columns of floats are one AVX2 vector instead of 8 scalar chains.
template <class T, std::size_t Lanes>
using vec_t = std::conditional_t<Lanes == 0, detail::simd<T>, xsimd::make_sized_batch_t<T, Lanes>>;
template <class T, std::size_t Lanes>
inline constexpr bool has_lanes = !std::is_void_v<xsimd::make_sized_batch_t<T, Lanes>>;

using detail::fmadd;

// One step of depth: broadcast MR values of A, multiply-add them with NV vectors of B (and,
// when Pack, store those vectors at copy: see micro).
template <std::size_t MR, std::size_t NV, bool Pack = false, class T, class V>
[[gnu::always_inline]] inline void fma_step(V (&acc)[MR][NV], T const* a, std::size_t lda, T const* b,
                                            [[maybe_unused]] T* copy = nullptr) {
    V bv[NV];
    LAMINA_UNROLL for (std::size_t v = 0; v < NV; ++v) {
        bv[v] = V::load_unaligned(b + v * V::size);
        if constexpr (Pack) bv[v].store_unaligned(copy + v * V::size);
        if constexpr (MR > 1) keep_in_register(bv[v]);
    }
    LAMINA_UNROLL for (std::size_t m = 0; m < MR; ++m) {
        V const av(a[m * lda]);
        LAMINA_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[m][v] = fmadd(av, bv[v], acc[m][v]);
    }
}

/// An epilogue that holds only a few pointers and values, and no state of its own, may say so
/// (`static constexpr bool copyable = true`). Each block of rows then runs on its own copy,
/// which no store to C can alias, so that what it reads (a bias' address) stays in registers
/// rather than being loaded again after every store. Other epilogues are used in place. (Each
/// task makes its copy, and the row loops are inlined into it.)
template <class Epi>
inline constexpr bool copyable_epilogue = requires { requires Epi::copyable; };
template <class Epi>
using own_epilogue_t = std::conditional_t<copyable_epilogue<Epi>, Epi, Epi&>;
template <class Epi>
[[gnu::always_inline]] inline own_epilogue_t<Epi> own_epilogue(Epi& e) {
    return e;
}

// The tile-sum slot of row r and column j of a C with n columns (see identity_epilogue).
template <class T>
constexpr std::size_t sum_slot(std::size_t r, std::size_t j, std::size_t n) noexcept {
    return r / tiles<T>::MR * ((n + tiles<T>::NR - 1) / tiles<T>::NR) + j / tiles<T>::NR;
}

// KS > 0: the depth is the static KS (small layers unroll it completely); 0: run-time kc.
// A's element (row m, depth k) is a[m * lda + k * SA]: SA is 1 for A, MR for a packed Aᵀ.
// Pack (run-time depth only): b is B itself, and the tile also packs the strip it reads, as
// kc rows of NV·W values at pack; so the first tile of a strip packs it for the others, with
// stores the FMA-bound loop has room for, instead of a pass of its own.
template <std::size_t MR, std::size_t NV, std::size_t KS, std::size_t SA, bool Pack = false, std::size_t Lanes = 0,
          class T, class Epi>
[[gnu::always_inline]] inline void micro(std::size_t kc, T const* a, std::size_t lda, T const* b,
                                         std::size_t ldb, T* c, std::size_t ldc, std::size_t r0, std::size_t j0,
                                         bool first, bool last, Epi& epi, [[maybe_unused]] T* pack = nullptr) {
    static_assert(!Pack || KS == 0);
    using V = vec_t<T, Lanes>;  // Lanes: see vec_t
    constexpr std::size_t W = V::size;
    // Small tiles have too few independent FMA chains to hide the FMA latency: split the
    // depth over KU sets of accumulators and add them at the end.
    constexpr std::size_t KU = MR * NV >= 8 ? 1 : 8 / (MR * NV);
    // The accumulators start at zero and the partial sums already in C (first is false) are
    // added after the depth loop, fetched meanwhile: loaded first, they would hold every FMA
    // back until they came from L2 or L3 (256×1024·1024×1024: 6.6 -> 6.0 ms).
    V acc[KU][MR][NV];
    LAMINA_UNROLL for (std::size_t u = 0; u < KU; ++u)
        LAMINA_UNROLL for (std::size_t m = 0; m < MR; ++m)
            LAMINA_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[u][m][v] = V(T(0));
    if (!first)
        LAMINA_UNROLL for (std::size_t m = 0; m < MR; ++m) {
            __builtin_prefetch(c + m * ldc);
            __builtin_prefetch(c + m * ldc + NV * W - 1);
        }
    if constexpr (KS > 0 && KS <= 32) {
        LAMINA_UNROLL for (std::size_t k = 0; k < KS; ++k) fma_step(acc[k % KU], a + k * SA, lda, b + k * ldb);
    } else if constexpr (KS > 0) {
        constexpr std::size_t body = KS / KU * KU;
        for (std::size_t k = 0; k < body; k += KU)
            LAMINA_UNROLL for (std::size_t u = 0; u < KU; ++u) fma_step(acc[u], a + (k + u) * SA, lda, b + (k + u) * ldb);
        LAMINA_UNROLL for (std::size_t k = body; k < KS; ++k) fma_step(acc[0], a + k * SA, lda, b + k * ldb);
    } else {
        constexpr std::size_t NR = NV * W;
        std::size_t const body = kc / KU * KU;
        for (std::size_t k = 0; k < body; k += KU) {
            // B's rows are far apart when it is wide, beyond what the hardware prefetches;
            // 16 rows ahead (measured: 8 to 32 do as well).
            if constexpr (Pack)
                if (k + 16 < kc) __builtin_prefetch(b + (k + 16) * ldb);
            LAMINA_UNROLL for (std::size_t u = 0; u < KU; ++u)
                fma_step<MR, NV, Pack>(acc[u], a + (k + u) * SA, lda, b + (k + u) * ldb, Pack ? pack + (k + u) * NR : nullptr);
        }
        for (std::size_t k = body; k < kc; ++k)
            fma_step<MR, NV, Pack>(acc[0], a + k * SA, lda, b + k * ldb, Pack ? pack + k * NR : nullptr);
    }
    constexpr bool sums = requires { epi.tile_sums; };
    [[maybe_unused]] V part[2] = {V(T(0)), V(T(0))};  // two chains of adds, in registers
    LAMINA_UNROLL for (std::size_t m = 0; m < MR; ++m)
        LAMINA_UNROLL for (std::size_t v = 0; v < NV; ++v) {
            V sum = acc[0][m][v];
            LAMINA_UNROLL for (std::size_t u = 1; u < KU; ++u) sum += acc[u][m][v];
            if (!first) sum += V::load_unaligned(c + m * ldc + v * W);
            V const out = last ? epi(r0 + m, j0 + v * W, sum) : sum;
            out.store_unaligned(c + m * ldc + v * W);
            if constexpr (sums) part[(m * NV + v) % 2] += out;
        }
    if constexpr (sums) {
        if (last) {
            T* slot = epi.tile_sums + sum_slot<T>(r0, j0, ldc) * detail::simd<T>::size;
            (V::load_aligned(slot) + (part[0] + part[1])).store_aligned(slot);
        }
    }
}

// micro() over a depth known at run time, out of line: the depth loop then gets registers of
// its own, whatever its caller keeps live (inlined into the threaded packed product, GCC 12
// spilled B's two vectors to the stack on every step: 256×1024·1024×1024 ran at 0.72 of
// OpenBLAS's speed instead of 0.92). A copyable epilogue comes by value (own_epilogue).
template <std::size_t MR, std::size_t NV, std::size_t SA, bool Pack = false, std::size_t Lanes = 0, class T, class Epi>
[[gnu::noinline]] void micro_rt(std::size_t kc, T const* a, std::size_t lda, T const* b, std::size_t ldb, T* c,
                                std::size_t ldc, std::size_t r0, std::size_t j0, bool first, bool last, Epi epi,
                                T* pack = nullptr) {
    micro<MR, NV, 0, SA, Pack, Lanes>(kc, a, lda, b, ldb, c, ldc, r0, j0, first, last, epi, pack);
}

// micro(), or micro_rt() when the depth is a run-time one.
template <std::size_t MR, std::size_t NV, std::size_t KS, std::size_t SA, bool Pack = false, std::size_t Lanes = 0,
          class T, class Epi>
[[gnu::always_inline]] inline void tile(std::size_t kc, T const* a, std::size_t lda, T const* b, std::size_t ldb, T* c,
                                        std::size_t ldc, std::size_t r0, std::size_t j0, bool first, bool last,
                                        Epi& epi, T* pack = nullptr) {
    if constexpr (KS == 0)
        micro_rt<MR, NV, SA, Pack, Lanes, T, own_epilogue_t<Epi>>(kc, a, lda, b, ldb, c, ldc, r0, j0, first, last, epi,
                                                                 pack);
    else micro<MR, NV, KS, SA, Pack, Lanes>(kc, a, lda, b, ldb, c, ldc, r0, j0, first, last, epi, pack);
}

// Rows of MR, then the rest; block_stride: from one block of MR rows of A to the next.
// Lanes: the vectors' width (see vec_t).
// r_base: the row of C where this call starts (what the epilogue is told).
// Inlined into its one caller each, so that a copied epilogue stays local (own_epilogue).
template <std::size_t NV, std::size_t KS, std::size_t SA, std::size_t Lanes = 0, class T, class Epi>
[[gnu::always_inline]] inline void rows_dispatch(std::size_t M, std::size_t kc, T const* a, std::size_t lda,
                                                 std::size_t block_stride, T const* b, std::size_t ldb, T* c,
                                                 std::size_t ldc, std::size_t j0, bool first, bool last, Epi& epi,
                                                 std::size_t r_base = 0) {
    constexpr std::size_t MR = tiles<T>::MR;
    std::size_t r = 0;
    LAMINA_NO_UNROLL for (; r + MR <= M; r += MR, a += block_stride)
        tile<MR, NV, KS, SA, false, Lanes>(kc, a, lda, b, ldb, c + r * ldc, ldc, r_base + r, j0, first, last, epi);
    // The last M % MR rows in tiles of 4, 2 and 1 rows: a rest of 5 is 4 + 1, and 3 is 2 + 1.
    // Tiles of 5 and 3 rows would add 8 rows to the 13 of unrolled code that every shape
    // instantiates, for rests that batches of powers of two never leave (theirs are 4 and 2).
    static_assert(MR < 8);
    std::size_t const rest = M - r;
    c += r * ldc;
    r += r_base;
    if (rest & 4) {
        tile<4, NV, KS, SA, false, Lanes>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi);
        a += 4 * lda;
        c += 4 * ldc;
        r += 4;
    }
    if (rest & 2) {
        tile<2, NV, KS, SA, false, Lanes>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi);
        a += 2 * lda;
        c += 2 * ldc;
        r += 2;
    }
    if (rest & 1) tile<1, NV, KS, SA, false, Lanes>(kc, a, lda, b, ldb, c, ldc, r, j0, first, last, epi);
}

// The columns [j, n) past the widest vectors (fewer than one) as far as narrower vectors reach,
// the widest that fits first: f(lanes, j) for each, lanes an integral_constant (under AVX-512,
// 13 columns of floats are a vector of 8, then one of 4, then a scalar column). Returns where
// they end. Rest: the most columns there can be (n - j itself where it is known at compile
// time), so that no width that cannot fit is compiled.
template <class T, std::size_t Rest, std::size_t Lanes = detail::simd<T>::size / 2, class F>
[[gnu::always_inline]] constexpr std::size_t narrow_vectors(std::size_t j, std::size_t n, F&& f) {
    if constexpr (Lanes < 2 || Rest == 0) {
        return j;
    } else {
        constexpr bool fits = Lanes <= Rest && has_lanes<T, Lanes>;
        if constexpr (fits)
            if (n - j >= Lanes) {
                f(std::integral_constant<std::size_t, Lanes>{}, j);
                j += Lanes;
            }
        return narrow_vectors<T, fits ? Rest - Lanes : Rest, Lanes / 2>(j, n, f);
    }
}

// N values, N known at compile time: register moves, never a library call (packing copies
// millions of such short runs per second).
template <std::size_t N, class T>
[[gnu::always_inline]] inline void copy_short(T const* src, T* dst) {
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size, body = N / W * W;
    LAMINA_UNROLL for (std::size_t i = 0; i < body; i += W) V::load_unaligned(src + i).store_unaligned(dst + i);
    LAMINA_UNROLL for (std::size_t i = body; i < N; ++i) dst[i] = src[i];
}

// Copies B's columns [j, j + nc) over depth [p, p + kc) into strips of NR columns, each strip
// kc×NR contiguous, so that the micro-kernel reads B sequentially from L1. B is read row by
// row, each row's nc values in order: read strip by strip instead, every load of a wide B fell
// on a new page, and 256×1024·1024×1024 spent 17 % of its time here.
// Rows [k0, k1) of the block only, when given.
template <std::size_t NR, class T>
void pack_strips(T const* B, std::size_t ldb, std::size_t p, std::size_t kc, std::size_t j, std::size_t nc, T* out,
                 std::size_t k0 = 0, std::size_t k1 = std::size_t(-1)) {
    for (std::size_t k = k0; k < std::min(kc, k1); ++k) {
        T const* row = B + (p + k) * ldb + j;
        for (std::size_t s = 0; s < nc; s += NR) copy_short<NR>(row + s, out + s * kc + k * NR);
    }
}

// Every full strip of B (K×N, full strips up to n_full) packed as packed_product reads it:
// depth block p (KC rows, the last one fewer) at p·n_full, and in it the strip of columns
// [j, j + NR) at j·kc, kc rows of NR values (what pack_strips writes for a panel). Threads
// take blocks of B's rows. This is the copy a parameter keeps while its values do not change.
template <class T>
void pack_all(T const* B, std::size_t K, std::size_t N, std::size_t n_full, T* out, unsigned threads);

// Columns [J0, N) of row r of C (`row` points to its column 0) from their sums acc[0 .. N - J0):
// through the epilogue, stored, and their total added to the row's tile-sum slot when the
// epilogue takes sums.
template <std::size_t N, std::size_t J0, class T, class Epi>
[[gnu::always_inline]] inline void finish_columns(T const* acc, T* row, std::size_t r, Epi& epi) {
    [[maybe_unused]] T s = 0;
    LAMINA_UNROLL for (std::size_t t = 0; t < N - J0; ++t) {
        T const out = row[J0 + t] = epi(r, J0 + t, acc[t]);
        if constexpr (requires { epi.tile_sums; }) s += out;
    }
    if constexpr (requires { epi.tile_sums; }) epi.tile_sums[sum_slot<T>(r, J0, N) * detail::simd<T>::size] += s;
}

// Columns narrower than one vector, where narrow_columns does not apply: per row, NT scalar
// accumulators over the static depth, fully unrolled for small layers. A and C start at row
// r_base.
template <std::size_t K, std::size_t N, std::size_t J0, class T, class Epi>
[[gnu::always_inline]] inline void scalar_columns(std::size_t M, T const* A, T const* B, T* C, Epi& epi,
                                                  std::size_t r_base = 0) {
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
        finish_columns<N, J0>(acc, C + r * N, r_base + r, epi);
    }
}

// v's lanes moved down by Off: lane i takes lane i + Off (the top lanes repeat the last one).
template <std::size_t Off, class V, std::size_t... I>
[[gnu::always_inline]] inline V lanes_down(V v, std::index_sequence<I...>) {
    using U = xsimd::as_unsigned_integer_t<typename V::value_type>;
    constexpr std::size_t last = sizeof...(I) - 1;
    return xsimd::swizzle(v, xsimd::batch_constant<xsimd::batch<U, typename V::arch_type>,
                                                   static_cast<U>(I + Off < last ? I + Off : last)...>{});
}

// Row k of a B of K rows of N values, as a vector from lane 0: one unaligned load at k·N or,
// where that would pass B's end, the load that ends there with its lanes moved down.
template <std::size_t K, std::size_t N, std::size_t k, class V, class T>
[[gnu::always_inline]] inline V narrow_row(T const* B) {
    constexpr std::size_t end = K * N - V::size;
    if constexpr (k * N <= end) return V::load_unaligned(B + k * N);
    else return lanes_down<k * N - end>(V::load_unaligned(B + end), std::make_index_sequence<V::size>{});
}

// Fewer columns than a vector holds (N < W: the chapter's 5→3), and at least a vector of B: per
// row, one vector of accumulators, lane t for column t, over the static depth, then the
// epilogue per column, as scalar_columns does. Three columns of two rows: 30 scalar FMAs
// become 10 vector ones.
template <std::size_t K, std::size_t N, class T, class Epi>
[[gnu::always_inline]] inline void narrow_columns(std::size_t M, T const* A, T const* B, T* C, Epi& epi,
                                                  std::size_t r_base) {
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    static_assert(N < W && K * N >= W);
    V b[K];
    [&]<std::size_t... k>(std::index_sequence<k...>) {
        ((b[k] = narrow_row<K, N, k, V>(B)), ...);
    }(std::make_index_sequence<K>{});
    for (std::size_t r = 0; r < M; ++r) {
        T const* a = A + r * K;
        V acc = V(a[0]) * b[0];
        LAMINA_UNROLL for (std::size_t k = 1; k < K; ++k) acc = fmadd(V(a[k]), b[k], acc);
        alignas(sizeof(V)) T lane[W];
        acc.store_aligned(lane);
        finish_columns<N, 0>(lane, C + r * N, r_base + r, epi);
    }
}

// Threads only pay from about this many multiply-adds: on 2 Zen 3 cores two threads break
// even near 2^16 and gain 1.2-1.4× at 2^17 (1.6× at 2^18), with both threads already awake.
inline constexpr std::size_t parallel_min_macs = std::size_t{1} << 17;

// The threads a product of `macs` multiply-adds is split over.
inline unsigned threads_for(std::size_t macs) noexcept {
    return macs >= parallel_min_macs ? detail::num_threads() : 1;
}

// f(i) for i in [0, n): on the pool when more than one thread, else in order here.
template <class F>
inline void for_tasks(unsigned threads, std::size_t n, F&& f) {
    if (threads > 1) detail::parallel_for(n, f);
    else
        for (std::size_t i = 0; i < n; ++i) f(i);
}

// Part `part` of `parts` of M rows, in whole micro-tiles: [first, second). Each tile then
// starts at the row it starts at in one pass.
template <class T>
inline std::pair<std::size_t, std::size_t> part_rows(std::size_t M, std::size_t part, std::size_t parts) noexcept {
    constexpr std::size_t MR = tiles<T>::MR;
    std::size_t const n_tiles = (M + MR - 1) / MR;
    return {n_tiles * part / parts * MR, std::min(M, n_tiles * (part + 1) / parts * MR)};
}

// Rows per task when rows are split: whole micro-tiles, so that every row meets the same
// micro-kernel (and sums in the same order) as in one pass; about four tasks per thread.
template <class T>
inline std::size_t row_chunk(std::size_t M, unsigned threads) noexcept {
    constexpr std::size_t MR = tiles<T>::MR;
    if (threads == 1) return M;
    std::size_t const c = (M + 4 * threads - 1) / (4 * threads);
    return (c + MR - 1) / MR * MR;
}

// Rows [r0, r0 + m) of C (a and c start there), unpacked: full strips of NR columns (unless
// `packed` covered them), single vectors, then scalar columns. Inlined into its callers, so
// that a row count known at compile time picks the tiles at compile time.
template <std::size_t K, std::size_t N, class T, class Epi>
[[gnu::always_inline]] inline void unpacked_rows(T const* a, std::size_t m, T const* B, T* c, Epi& epi,
                                                 std::size_t r0, bool first, bool packed) {
    using tl = tiles<T>;
    constexpr std::size_t W = tl::W, NR = tl::NR, MR = tl::MR;
    constexpr std::size_t n_full = N / NR * NR;
    constexpr std::size_t n_wide = n_full + (N - n_full) / W * W;
    decltype(auto) e = own_epilogue(epi);
    if (!packed)
        LAMINA_NO_UNROLL for (std::size_t j0 = 0; j0 < n_full; j0 += NR)
            rows_dispatch<tl::NV, K, 1>(m, K, a, K, MR * K, B + j0, N, c + j0, N, j0, first, true, e, r0);
    for (std::size_t j0 = n_full; j0 < n_wide; j0 += W)
        rows_dispatch<1, K, 1>(m, K, a, K, MR * K, B + j0, N, c + j0, N, j0, first, true, e, r0);
    narrow_vectors<T, N - n_wide>(n_wide, N, [&](auto lanes, std::size_t j0) {
        rows_dispatch<1, K, 1, decltype(lanes)::value>(m, K, a, K, MR * K, B + j0, N, c + j0, N, j0, first, true, e, r0);
    });
    constexpr std::size_t n_vec = narrow_vectors<T, N - n_wide>(n_wide, N, [](auto, std::size_t) {});
    if constexpr (n_vec < N) {
        if (!first) {
            for (std::size_t r = 0; r < m; ++r)
                for (std::size_t j = n_vec; j < N; ++j) {
                    T s = c[r * N + j];
                    for (std::size_t k = 0; k < K; ++k) s += a[r * K + k] * B[k * N + j];
                    c[r * N + j] = s;
                }
        } else if constexpr (n_vec == 0 && K * N >= W && K <= 16) {
            narrow_columns<K, N>(m, a, B, c, e, r0);
        } else {
            scalar_columns<K, N, n_vec>(m, a, B, c, e, r0);
        }
    }
}

// The epilogue of the shared GEMM (gemm_core), its type erased: the micro-kernels store the
// finished products of a block of rows and one strip of columns, then finish(epi, c, ldc, r0,
// j0, rows, cols) applies the real epilogue to that block in place, while it is still in L1,
// and adds each tile's sum to its slot when the epilogue takes sums. One copy of the blocked
// GEMM then serves every epilogue and every shape, at the price of one more load and store per
// output vector.
template <class T>
struct tile_hook {
    static constexpr bool copyable = true;
    void (*finish)(void* epi, T* c, std::size_t ldc, std::size_t r0, std::size_t j0, std::size_t rows, std::size_t cols);
    void* epi;
    template <class V>
    V operator()(std::size_t, std::size_t, V acc) const noexcept {
        return acc;
    }
};

// The tile of rows [r0, r0 + rows) (rows <= MR) and columns [j0, j0 + cols) (cols is NR, W or
// fewer than W) of a finished product, through epi in place; its sum into its slot.
template <class Epi, class T>
[[gnu::always_inline]] inline void finish_tile(Epi& epi, T* c, std::size_t ldc, std::size_t r0, std::size_t j0,
                                               std::size_t rows, std::size_t cols) {
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size, MR = tiles<T>::MR, NV = tiles<T>::NV;
    constexpr bool sums = requires { epi.tile_sums; };
    [[maybe_unused]] V part[2] = {V(T(0)), V(T(0))};
    std::size_t const vec = cols / W * W;
    if (rows == MR && cols == NV * W) {  // a full tile: unrolled, as in micro
        LAMINA_UNROLL for (std::size_t m = 0; m < MR; ++m)
            LAMINA_UNROLL for (std::size_t v = 0; v < NV; ++v) {
                T* p = c + m * ldc + v * W;
                V const out = epi(r0 + m, j0 + v * W, V::load_unaligned(p));
                out.store_unaligned(p);
                if constexpr (sums) part[(m * NV + v) % 2] += out;
            }
    } else {
        for (std::size_t m = 0; m < rows; ++m)
            for (std::size_t v = 0; v < vec; v += W) {
                T* p = c + m * ldc + v;
                V const out = epi(r0 + m, j0 + v, V::load_unaligned(p));
                out.store_unaligned(p);
                if constexpr (sums) part[(m * (vec / W) + v / W) % 2] += out;
            }
    }
    if constexpr (sums) {
        if (vec > 0) {
            T* slot = epi.tile_sums + sum_slot<T>(r0, j0, ldc) * W;
            (V::load_aligned(slot) + (part[0] + part[1])).store_aligned(slot);
        }
    }
    if (vec < cols)  // scalar columns: each row's sum into its slot, as scalar_columns adds it
        for (std::size_t m = 0; m < rows; ++m) {
            T s = 0;
            for (std::size_t j = vec; j < cols; ++j) {
                T& x = c[m * ldc + j];
                x = epi(r0 + m, j0 + j, x);
                s += x;
            }
            if constexpr (sums) epi.tile_sums[sum_slot<T>(r0 + m, j0 + vec, ldc) * W] += s;
        }
}

// finish_tile over a block of rows [r0, r0 + rows) (r0 a multiple of MR) and one strip of
// columns: the hook's one call for many tiles.
template <class Epi, class T>
void finish_block(void* e, T* c, std::size_t ldc, std::size_t r0, std::size_t j0, std::size_t rows, std::size_t cols) {
    constexpr std::size_t MR = tiles<T>::MR;
    Epi& epi = *static_cast<Epi*>(e);
    for (std::size_t m = 0; m < rows; m += MR)
        finish_tile(epi, c + m * ldc, ldc, r0 + m, j0, std::min(MR, rows - m), cols);
}

}  // namespace gemm_detail

/// The number of values in the tile sums of an M×N product (see identity_epilogue): a vector
/// per MR rows and NR columns.
template <std::size_t N, class T>
constexpr std::size_t sum_slots(std::size_t M) noexcept {
    using tl = gemm_detail::tiles<T>;
    return (M + tl::MR - 1) / tl::MR * ((N + tl::NR - 1) / tl::NR) * tl::W;
}

namespace gemm_detail {

// B's size (K·N values) from which a product is large: too large for L1, B is packed (when
// enough rows reuse each strip: packs), and deep enough, it runs the shared code (gemm).
inline constexpr std::size_t large_b_values = 16384;

// Whether a product packs B: B is large, enough rows reuse each strip, and it has a full one.
template <class T>
constexpr bool packs(std::size_t M, std::size_t K, std::size_t N) noexcept {
    return K * N >= large_b_values && M >= 2 * tiles<T>::MR && N >= tiles<T>::NR;
}

// The packed part of a product (gemm, gemm_core): every full strip of NR columns, blocked over
// depth and columns. Inlined, so that gemm's static depth and width stay constants.
// A B that is a frozen parameter (pre) is packed whole by pack_all and kept while its values
// stay the same (see detail::pack_cache): 256×1024·1024×1024 spent 8-10 % of its time packing.
template <class T, class Epi>
[[gnu::always_inline]] inline void packed_product(T const* A, std::size_t M, std::size_t K, T const* B, std::size_t N, T* C,
                                                  Epi& epi, detail::workspace& ws, bool first, unsigned threads,
                                                  detail::prepacked<T> pre) {
    using tl = tiles<T>;
    constexpr std::size_t NR = tl::NR, NC = tl::NC, MR = tl::MR, MC = tl::MC;
    std::size_t const n_full = N / NR * NR;
    T const* const kept =
        pre ? pre.cache->get(*pre.stamp, K * n_full, [&](T* out) { pack_all(B, K, N, n_full, out, threads); }) : nullptr;
    // Blocked and packed: for each panel of NC columns and KC depth, B's strips are copied
    // contiguous, then every row block sweeps every strip. A B that fits in L2 is packed by the
    // first tile of each strip as it reads it (micro's Pack): 64×256·256×256 went from 92 to
    // 88 µs and 13×256·256×256 from 27 to 22 µs. A larger B, whose rows come from L3, is packed
    // before any tile reads it.
    // An A whose depth block (M rows × up to KC) outgrows L2 comes from memory again for every
    // panel: wider panels, kept in L3, read it fewer times (1024×4096·4096×4096: about 3 %
    // faster with 1024 columns than with 256; at 256×1024·1024×1024, 5 % slower).
    std::size_t const kc_max = tl::kc_for(K);  // at most K, which is at least 1 here (packs)
    std::size_t const nc = n_full > NC && M * kc_max * sizeof(T) > tl::big_a_bytes ? tl::NC_big : NC;
    // Threads split C into blocks of whole strips and, when there are fewer strips than
    // threads, of whole micro-tiles of rows (each part at least two): each part packs its own
    // panels and runs alone to its end, so a product waits for the others once, not twice per
    // panel and depth block. Every tile still meets the same micro-kernel over the same depth
    // blocks in the same order: the result does not depend on the thread count.
    std::size_t const n_strips = n_full / NR;
    std::size_t const parts_c = std::min<std::size_t>(threads, n_strips);
    std::size_t const parts_r = std::max<std::size_t>(1, std::min(threads / parts_c, M / (2 * MR)));
    std::size_t const panel = std::min(nc, (n_strips + parts_c - 1) / parts_c * NR);
    T* const packed_all = kept ? nullptr : ws.alloc<T>(parts_c * parts_r * kc_max * panel);
    bool const pack_in_tile = !kept && K * N * sizeof(T) <= (std::size_t{256} << 10);
    for_tasks(static_cast<unsigned>(parts_c * parts_r), parts_c * parts_r, [&](std::size_t part) {
        std::size_t const pcol = part % parts_c, prow = part / parts_c;
        std::size_t const j_begin = n_strips * pcol / parts_c * NR, j_end = n_strips * (pcol + 1) / parts_c * NR;
        auto const [r_begin, r_end] = part_rows<T>(M, prow, parts_r);
        std::size_t const n_ic = (r_end - r_begin + MC - 1) / MC;
        T* const own = kept ? nullptr : packed_all + part * kc_max * panel;
        for (std::size_t jc = j_begin; jc < j_end; jc += nc) {
            std::size_t const n_s = std::min(nc, j_end - jc) / NR;
            for (std::size_t pc = 0; pc < K; pc += kc_max) {
                std::size_t const kc = std::min(kc_max, K - pc);
                bool const first_pass = first && pc == 0, last_pass = pc + kc == K;
                T const* const packed = kept ? kept + pc * n_full + jc * kc : own;
                if (!kept && !pack_in_tile) pack_strips<NR>(B, N, pc, kc, jc, n_s * NR, own);
                for (std::size_t t = 0; t < n_ic * n_s; ++t) {
                    std::size_t const s = t % n_s * NR;
                    std::size_t const ic0 = r_begin + t / n_s * MC, end = std::min(ic0 + MC, r_end);
                    std::size_t ic = ic0;
                    decltype(auto) e = own_epilogue(epi);
                    if (pack_in_tile && ic == r_begin) {  // the part's first tile: a whole one (see parts_r)
                        tile<MR, tl::NV, 0, 1, true>(kc, A + ic * K + pc, K, B + pc * N + jc + s, N, C + ic * N + jc + s,
                                                      N, ic, jc + s, first_pass, last_pass, e, own + s * kc);
                        ic += MR;
                    }
                    rows_dispatch<tl::NV, 0, 1>(end - ic, kc, A + ic * K + pc, K, MR * K, packed + s * kc, NR,
                                                C + ic * N + jc + s, N, jc + s, first_pass, last_pass, e, ic);
                    if constexpr (requires { e.finish; })  // gemm_core's hook
                        if (last_pass) e.finish(e.epi, C + ic0 * N + jc + s, N, ic0, jc + s, end - ic0, NR);
                }
            }
        }
    });
}

template <class T>
void pack_all(T const* B, std::size_t K, std::size_t N, std::size_t n_full, T* out, unsigned threads) {
    constexpr std::size_t NR = tiles<T>::NR;
    std::size_t const step = tiles<T>::kc_for(K);
    unsigned const parts = static_cast<unsigned>(std::min<std::size_t>(threads, K));
    for_tasks(parts, parts, [&](std::size_t part) {
        std::size_t const k_begin = K * part / parts, k_end = K * (part + 1) / parts;
        for (std::size_t pc = k_begin / step * step; pc < k_end; pc += step) {
            std::size_t const kc = std::min(step, K - pc);
            pack_strips<NR>(B, N, pc, kc, 0, n_full, out + pc * n_full, std::max(pc, k_begin) - pc, k_end - pc);
        }
    });
}

// gemm() with the depth and width known at run time: one copy for every large product of a
// program (see gemm). Epi is identity_epilogue or tile_hook<T>.
template <class T, class Epi>
void gemm_core(T const* A, std::size_t M, std::size_t K, T const* B, std::size_t N, T* C, Epi& epi,
               detail::workspace& ws, bool accumulate, detail::prepacked<T> pre) {
    using tl = tiles<T>;
    constexpr std::size_t W = tl::W, NR = tl::NR, MR = tl::MR;
    std::size_t const n_full = N / NR * NR, n_wide = n_full + (N - n_full) / W * W;
    if (M == 0) return;
    bool const first = !accumulate;
    bool const pack = packs<T>(M, K, N);
    unsigned const threads = threads_for(M * N * K);
    if (pack) packed_product(A, M, K, B, N, C, epi, ws, first, threads, pre);
    if (pack && n_full == N) return;
    // Rows [r0, r0 + m) of the columns that no packed strip covered.
    auto rows = [&](std::size_t r0, std::size_t m) {
        T const* a = A + r0 * K;
        T* c = C + r0 * N;
        decltype(auto) e = own_epilogue(epi);
        constexpr bool hooked = requires { e.finish; };
        if (!pack)
            for (std::size_t j0 = 0; j0 < n_full; j0 += NR) {
                rows_dispatch<tl::NV, 0, 1>(m, K, a, K, MR * K, B + j0, N, c + j0, N, j0, first, true, e, r0);
                if constexpr (hooked) e.finish(e.epi, c + j0, N, r0, j0, m, NR);
            }
        for (std::size_t j0 = n_full; j0 < n_wide; j0 += W) {
            rows_dispatch<1, 0, 1>(m, K, a, K, MR * K, B + j0, N, c + j0, N, j0, first, true, e, r0);
            if constexpr (hooked) e.finish(e.epi, c + j0, N, r0, j0, m, W);
        }
        if (n_wide == N) return;
        // The rest, fewer than a vector: narrower vectors, then scalars; finished together.
        std::size_t const n_vec = narrow_vectors<T, W - 1>(n_wide, N, [&](auto lanes, std::size_t j0) {
            rows_dispatch<1, 0, 1, decltype(lanes)::value>(m, K, a, K, MR * K, B + j0, N, c + j0, N, j0, first, true, e, r0);
        });
        for (std::size_t r = 0; r < m; ++r)
            for (std::size_t j = n_vec; j < N; ++j) {
                T s = first ? T(0) : c[r * N + j];
                for (std::size_t k = 0; k < K; ++k) s += a[r * K + k] * B[k * N + j];
                c[r * N + j] = s;
            }
        if constexpr (hooked) e.finish(e.epi, c + n_wide, N, r0, n_wide, m, N - n_wide);
    };
    if (threads == 1) return rows(0, M);
    std::size_t const chunk = row_chunk<T>(M, threads);
    for_tasks(threads, (M + chunk - 1) / chunk, [&](std::size_t i) { rows(i * chunk, std::min(chunk, M - i * chunk)); });
}

}  // namespace gemm_detail

/// From this depth on, a large product (K·N >= 16384) runs the GEMM code that every such
/// product shares (gemm_core), with its epilogue applied to each finished block in L1: a
/// program with many large layers compiles one blocked GEMM instead of one per layer and
/// epilogue. Shallower products keep their own code, the epilogue applied in registers: at a
/// depth of 256 the shared code was 3-5 % slower (64×256·256×256 with bias and ReLU, 1 thread);
/// from 784 on the difference was inside the noise.
inline constexpr std::size_t shared_min_depth = 512;
/// The same for a product without epilogue (identity_epilogue: the forward of a training step,
/// the input gradients), which the shared code runs at no extra cost.
inline constexpr std::size_t shared_min_depth_plain = 128;

/// C (M×N) = epi(A (M×K) · B (K×N)); `epi` sees (row, column, value) for scalars and vectors
/// and its result is stored. accumulate: C += A·B (the epilogue must then be the identity).
/// Large products run on lamina::num_threads() threads, which call `epi` concurrently on
/// disjoint tiles. pre: B is a parameter whose packed copy may be kept (detail::pack_cache).
template <std::size_t K, std::size_t N, class T, class Epi>
void gemm(T const* A, std::size_t M, T const* B, T* C, Epi& epi, detail::workspace& ws, bool accumulate = false,
          detail::prepacked<T> pre = {}) {
    if constexpr (K >= (std::is_same_v<Epi, identity_epilogue> ? shared_min_depth_plain : shared_min_depth) &&
                  K * N >= gemm_detail::large_b_values) {
        // Deep and large: the one shared copy (gemm_core), the epilogue applied per finished block.
        if constexpr (std::is_same_v<Epi, identity_epilogue>) {
            gemm_detail::gemm_core(A, M, K, B, N, C, epi, ws, accumulate, pre);
        } else {
            gemm_detail::tile_hook<T> hook{&gemm_detail::finish_block<Epi, T>, &epi};
            gemm_detail::gemm_core(A, M, K, B, N, C, hook, ws, accumulate, pre);
        }
        return;
    }
    using tl = gemm_detail::tiles<T>;
    constexpr std::size_t NR = tl::NR;
    constexpr std::size_t n_full = N / NR * NR;  // columns in full-width strips
    if (M == 0) return;
    bool const first = !accumulate;
    // A B too small to pack compiles no packed code (a small layer's share of a program's code).
    constexpr bool may_pack = gemm_detail::packs<T>(std::size_t(-1), K, N);
    bool const pack = may_pack && gemm_detail::packs<T>(M, K, N);
    // Threads take disjoint tiles of C, each summed over the whole depth in the one-thread
    // order: the result does not depend on the thread count.
    unsigned const threads = M * N * K < gemm_detail::parallel_min_macs ? 1 : gemm_detail::threads_for(M * N * K);
    if constexpr (may_pack) {
        if (pack) gemm_detail::packed_product(A, M, K, B, N, C, epi, ws, first, threads, pre);
        if (pack && n_full == N) return;
    }
    // Rows [r0, r0 + m) of the columns that no packed strip covered.
    auto rows = [&](std::size_t r0, std::size_t m) {
        gemm_detail::unpacked_rows<K, N>(A + r0 * K, m, B, C + r0 * N, epi, r0, first, pack);
    };
    if (threads == 1) return rows(0, M);  // small layers: no task arithmetic
    std::size_t const chunk = gemm_detail::row_chunk<T>(M, threads);
    gemm_detail::for_tasks(threads, (M + chunk - 1) / chunk,
                           [&](std::size_t i) { rows(i * chunk, std::min(chunk, M - i * chunk)); });
}

/// gemm() for a row count known at compile time and a product too small to pack or split over
/// threads: inlined into its caller, with every tile picked at compile time.
template <std::size_t M, std::size_t K, std::size_t N, class T, class Epi>
[[gnu::always_inline]] inline void gemm_small(T const* A, T const* B, T* C, Epi& epi) {
    gemm_detail::unpacked_rows<K, N>(A, M, B, C, epi, 0, true, false);
}

/// The largest product (in multiply-adds) that gemm_small takes.
inline constexpr std::size_t small_gemm_macs = 4096;

namespace gemm_detail {
// Columns [0, mc) of a (kc rows, ld apart) packed for micro-kernels reading Aᵀ: each block of
// MR columns as kc rows of MR values. Eight rows at a time, each read in order, into each
// block's next 8·MR values: block by block over all kc rows, every row was fetched again for
// each block; row by row, every store went to another block, kc·MR values apart.
template <std::size_t MR, class T>
void pack_columns(T const* a, std::size_t ld, std::size_t kc, std::size_t mc, T* out) {
    std::size_t const m_full = mc / MR * MR;
    for (std::size_t k0 = 0; k0 < kc; k0 += 8) {
        std::size_t const k1 = std::min(kc, k0 + 8);
        for (std::size_t m = 0; m < m_full; m += MR)
            for (std::size_t k = k0; k < k1; ++k) copy_short<MR>(a + k * ld + m, out + m * kc + k * MR);  // register moves
        for (std::size_t k = k0; k < k1; ++k) std::copy(a + k * ld + m_full, a + k * ld + mc, out + m_full * kc + k * MR);
    }
}

// Column j of C = Aᵀ·B (the columns past gemm_tn_core's vectors), rows [r0, r1): C[m] (+)=
// Σ_k a[k·lda + m]·b[k·ldb] over depth kc, a vector of rows at a time, A read as it is stored;
// four chains over k mod 4, summed (0 + 1) + (2 + 3). The rows short of a vector go through
// the same vector steps, so that a row's bits do not depend on where a thread's part ends.
// (Per row in scalars, 130×10 by 256 took a quarter of the product's time.)
template <class T>
void tn_column(T const* a, std::size_t lda, T const* b, std::size_t ldb, std::size_t kc, T* c, std::size_t ldc,
               std::size_t r0, std::size_t r1, bool first) {
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    for (std::size_t m = r0; m < r1; m += W) {
        std::size_t const w = std::min(W, r1 - m);
        V s[4] = {V(T(0)), V(T(0)), V(T(0)), V(T(0))};
        if (w == W) {
            for (std::size_t k = 0; k < kc; ++k)
                s[k % 4] = fmadd(V::load_unaligned(a + k * lda + m), V(b[k * ldb]), s[k % 4]);
        } else {
            alignas(sizeof(V)) T part[W] = {};
            for (std::size_t k = 0; k < kc; ++k) {
                std::copy_n(a + k * lda + m, w, part);
                s[k % 4] = fmadd(V::load_aligned(part), V(b[k * ldb]), s[k % 4]);
            }
        }
        alignas(sizeof(V)) T lane[W];
        ((s[0] + s[1]) + (s[2] + s[3])).store_aligned(lane);
        for (std::size_t i = 0; i < w; ++i) c[(m + i) * ldc] = (first ? T(0) : c[(m + i) * ldc]) + lane[i];
    }
}

// gemm_tn with every extent known at run time: one copy serves every weight gradient.
template <class T>
void gemm_tn_core(T const* A, std::size_t D, std::size_t M, T const* B, std::size_t N, T* C, detail::workspace& ws,
                  bool accumulate) {
    using tl = gemm_detail::tiles<T>;
    constexpr std::size_t W = tl::W, NR = tl::NR, KC = tl::KC, NC = tl::NC, MR = tl::MR, MC = tl::MC;
    std::size_t const n_full = N / NR * NR;
    std::size_t const n_vec = n_full + (N - n_full) / W * W;
    std::size_t const m_pad = (M + MR - 1) / MR * MR;
    identity_epilogue id;
    if (D == 0) {
        if (!accumulate) std::fill_n(C, M * N, T(0));
        return;
    }
    if (N < W && M >= W) {
        // Fewer columns than a vector (a classifier's 10 outputs): (Bᵀ·A)ᵀ instead, whose N rows
        // of M values run in full vector tiles, then transposed into C. Column by column
        // (tn_column), 128×10 by 256 took 25-27 µs instead of 5.7-5.9 (one Zen 5 core).
        T* const ct = ws.alloc<T>(N * M);
        gemm_tn_core(B, D, N, A, M, ct, ws, false);
        for (std::size_t m = 0; m < M; ++m)
            for (std::size_t j = 0; j < N; ++j) C[m * N + j] = (accumulate ? C[m * N + j] : T(0)) + ct[j * M + m];
        return;
    }
    // Threads take blocks of whole micro-tiles of rows (at least two each), never the depth:
    // each part packs its own columns of A and its own copy of B's panels, and runs alone to
    // its end (see packed_product). Every tile meets the same micro-kernel in the same order
    // of depth blocks: the result does not depend on the thread count.
    unsigned const threads = gemm_detail::threads_for(M * N * D);
    std::size_t const n_tiles = m_pad / MR;
    std::size_t const parts = std::max<std::size_t>(1, std::min<std::size_t>(threads, n_tiles / 2));
    std::size_t const panel = std::min(NC, std::max<std::size_t>(n_full, NR));
    T* const pa_all = ws.alloc<T>(parts * KC * MC);  // each part's block of A, packed
    T* const pb_all = ws.alloc<T>(parts * KC * panel);
    gemm_detail::for_tasks(static_cast<unsigned>(parts), parts, [&](std::size_t part) {
        auto const [r_begin, r_end] = part_rows<T>(M, part, parts);
        T* const pa = pa_all + part * KC * MC;
        T* const pb = pb_all + part * KC * panel;
        for (std::size_t pc = 0; pc < D; pc += KC) {
            std::size_t const kc = std::min(KC, D - pc);
            bool const first = pc == 0 && !accumulate, last = pc + kc == D;
            // For each panel of B, each block of MC of A's columns is packed, then swept over
            // every strip while it is in L2 (packed whole before the first strip, A went out
            // to memory and back: 784×256 by 256 rows spent 30 % of its time in the copy). At
            // least one pass, for the columns past the full strips.
            for (std::size_t jc = 0; jc == 0 || jc < n_full; jc += NC) {
                std::size_t const n_s = std::min(NC, n_full - jc) / NR;
                bool const last_panel = jc + NC >= n_full;
                if (n_s > 0) gemm_detail::pack_strips<NR>(B, N, pc, kc, jc, n_s * NR, pb);
                if (n_s == 0 && !(last_panel && n_vec > n_full)) continue;  // no tile reads packed A
                for (std::size_t ic = r_begin; ic < r_end; ic += MC) {
                    std::size_t const mc = std::min(MC, r_end - ic);
                    pack_columns<MR>(A + pc * M + ic, M, kc, mc, pa);
                    for (std::size_t s = 0; s < n_s * NR; s += NR)
                        gemm_detail::rows_dispatch<tl::NV, 0, MR>(mc, kc, pa, 1, MR * kc, pb + s * kc, NR, C + ic * N + jc + s,
                                                              N, jc + s, first, last, id, ic);
                    if (last_panel)  // the columns past the full strips, a vector at a time
                        for (std::size_t j0 = n_full; j0 < n_vec; j0 += W)
                            gemm_detail::rows_dispatch<1, 0, MR>(mc, kc, pa, 1, MR * kc, B + pc * N + j0, N, C + ic * N + j0,
                                                                 N, j0, first, last, id, ic);
                }
            }
            for (std::size_t j = n_vec; j < N; ++j)
                tn_column(A + pc * M, M, B + pc * N + j, N, kc, C + j, N, r_begin, r_end, first);
        }
    });
}

}  // namespace gemm_detail

/// C (M×N) (+)= Aᵀ·B for A (D×M) and B (D×N) with the depth D known at run time: the weight
/// gradient Xᵀ·G of a matmul. Both operands are packed per depth block, so that every tile
/// reads them sequentially; the columns past the vectors read A as it is stored (tn_column).
template <std::size_t M, std::size_t N, class T>
void gemm_tn(T const* A, std::size_t D, T const* B, T* C, detail::workspace& ws, bool accumulate) {
    gemm_detail::gemm_tn_core(A, D, M, B, N, C, ws, accumulate);
}

/// dst (C×R) = srcᵀ for src (R×C).
template <std::size_t R, std::size_t C, class T>
void transpose(T const* src, T* dst) {
    constexpr std::size_t tile = 16;
    for (std::size_t i0 = 0; i0 < R; i0 += tile)
        for (std::size_t j0 = 0; j0 < C; j0 += tile)
            for (std::size_t i = i0; i < std::min(i0 + tile, R); ++i)
                for (std::size_t j = j0; j < std::min(j0 + tile, C); ++j) dst[j * R + i] = src[i * C + j];
}

/// C (M×K) (+)= G·Bᵀ for G (M×N) and B (K×N): the input gradient G·Wᵀ of a matmul. Bᵀ is
/// written into ws, then the shared GEMM code runs (gemm_core): an input gradient compiles no
/// GEMM of its own.
template <std::size_t K, std::size_t N, class T>
void gemm_nt(T const* G, std::size_t M, T const* B, T* C, detail::workspace& ws, bool accumulate) {
    T* const bt = ws.alloc<T>(K * N);
    transpose<K, N>(B, bt);
    identity_epilogue id;
    gemm_detail::gemm_core(G, M, N, bt, K, C, id, ws, accumulate, {});
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

#if defined(LAMINA_SEPARATE_COMPILATION)
// The GEMM code no layer's type reaches (the shared blocked product without epilogue and with
// a type-erased one, the weight-gradient product, the packing of a whole parameter) is
// compiled once per program, for float and double, by lamina/src.hpp, which must then be
// compiled with the same instruction-set flags as the rest of the program. It was about 45 KB
// of every training program's code (examples/fashion_mnist.cpp).
namespace gemm_detail {
#define LAMINA_GEMM_SHARED(T)                                                                                        \
    extern template void gemm_core<T, identity_epilogue>(T const*, std::size_t, std::size_t, T const*, std::size_t,  \
                                                         T*, identity_epilogue&, detail::workspace&, bool,            \
                                                         detail::prepacked<T>);                                       \
    extern template void gemm_core<T, tile_hook<T>>(T const*, std::size_t, std::size_t, T const*, std::size_t, T*,   \
                                                    tile_hook<T>&, detail::workspace&, bool, detail::prepacked<T>);   \
    extern template void gemm_tn_core<T>(T const*, std::size_t, std::size_t, T const*, std::size_t, T*,              \
                                         detail::workspace&, bool);                                                   \
    extern template void pack_all<T>(T const*, std::size_t, std::size_t, std::size_t, T*, unsigned);
LAMINA_GEMM_SHARED(float)
LAMINA_GEMM_SHARED(double)
#undef LAMINA_GEMM_SHARED
}  // namespace gemm_detail
#endif

}  // namespace lamina::kernels

#undef LAMINA_UNROLL
#undef LAMINA_NO_UNROLL
