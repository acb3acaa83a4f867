// lamina/kernels/gemm.hpp: the GEMM with an epilogue against its scalar twin and a naive loop
// in double, over every output width, every remainder of the 6-row tile, static depths below
// and above the full unroll, and the packed path blocked over depth and columns.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::bias_relu;
using lamina_test::differences;
using lamina_test::differences_within;
using lamina_test::fill_integers;

namespace {

// Every remainder of the 6-row micro-tile, and several full tiles.
constexpr std::initializer_list<std::size_t> all_rows = {1, 2, 3, 4, 5, 6, 7, 13, 64};


// lm::kernels::gemm<K, N, T, Epi>: the checks below take the GEMM at a static depth and width
// by address, so that only the GEMM itself is compiled for each K and N, and the checks around
// it once per value type.
template <class T, class Epi>
using gemm_fn = void (*)(T const*, std::size_t, T const*, T*, Epi&, lm::detail::workspace&, bool,
                         lm::detail::prepacked<T>);

// The GEMM at depth K and width N with the test's bias + ReLU epilogue and, where given, with none.
template <class T>
struct gemm_under_test {
    std::size_t K, N;
    gemm_fn<T, bias_relu<T>> with_epilogue;
    gemm_fn<T, lm::kernels::identity_epilogue> plain = nullptr;
};

// Checks integer data bit for bit through the epilogue and, when `plain` is set, normal data
// without an epilogue within the error bound (that depends on the depth, not on the width).
template <class T>
void check_gemm(gemm_under_test<T> const& f, std::initializer_list<std::size_t> rows) {
    std::size_t const K = f.K, N = f.N;
    lm::generator g(K * 1000 + N);
    for (std::size_t M : rows) {
        INFO("(" << M << " x " << K << ") x (" << K << " x " << N << ")");
        std::vector<T> A(M * K), B(K * N), bias(N);
        fill_integers(A, g);
        fill_integers(B, g);
        fill_integers(bias, g, -40, 40);
        std::vector<T> C(M * N, T(-99)), C2(M * N, T(-98));
        lm::detail::workspace ws;
        bias_relu<T> epi{bias.data(), N, std::vector<int>(M * N, 0)};
        f.with_epilogue(A.data(), M, B.data(), C.data(), epi, ws, false, {});
        bias_relu<T> epi2{bias.data(), N, std::vector<int>(M * N, 0)};
        lm::kernels::gemm_scalar(A.data(), M, K, B.data(), N, C2.data(), epi2);

        std::vector<double> want(M * N);
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                double s = bias[j];
                for (std::size_t k = 0; k < K; ++k) s += double(A[i * K + k]) * B[k * N + j];
                want[i * N + j] = std::max(s, 0.0);
            }
        // Integer data: exact in any order of summation, so all three agree bit for bit.
        CHECK(differences(C, C2, 0) == "");
        CHECK(differences(C, want, 0) == "");
        // The epilogue sees every element exactly once, after the whole depth.
        CHECK(std::all_of(epi.seen.begin(), epi.seen.end(), [](int s) { return s == 1; }));

        if (!f.plain) continue;
        // Random data: within the bound that any order of summation in T meets.
        std::vector<T> R(M * K), Q(K * N), D(M * N);
        for (auto& v : R) v = static_cast<T>(g.normal());
        for (auto& v : Q) v = static_cast<T>(g.normal());
        lm::kernels::identity_epilogue id;
        f.plain(R.data(), M, Q.data(), D.data(), id, ws, false, {});
        std::vector<double> exact(M * N), tol(M * N);
        double const eps = std::numeric_limits<T>::epsilon();
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                double s = 0, mag = 0;
                for (std::size_t k = 0; k < K; ++k) {
                    double const t = double(R[i * K + k]) * Q[k * N + j];
                    s += t;
                    mag += std::abs(t);
                }
                exact[i * N + j] = s;
                tol[i * N + j] = 2 * double(K) * eps * mag;
            }
        CHECK(differences_within(D, exact, tol) == "");
    }
}

// check_gemm at depth K and width N; `random`: also normal data without an epilogue.
template <class T, std::size_t K, std::size_t N, bool random = true>
void gemm_at(std::initializer_list<std::size_t> rows) {
    gemm_under_test<T> f{K, N, &lm::kernels::gemm<K, N, T, bias_relu<T>>};
    if constexpr (random) f.plain = &lm::kernels::gemm<K, N, T, lm::kernels::identity_epilogue>;
    check_gemm(f, rows);
}

}  // namespace

// Built where the kernels have FMA instructions: the AVX2 and AVX-512 builds of this file, and
// -Dnative=true on such a machine (a plain x86-64 build has none).
#if defined(__FMA__) || defined(__AVX512F__)
// a·a - r with a·a one bit longer than T holds and r that product rounded: rounded once, the
// result is the lost bit; a multiply then an add gives 0.
template <class V>
void check_fmadd_rounds_once() {
    using T = typename V::value_type;
    constexpr int half = std::numeric_limits<T>::digits / 2;  // a = 1 + 2^-half
    T const a = T(1) + std::ldexp(T(1), -half);
    T const r = T(1) + std::ldexp(T(1), 1 - half);           // a·a = r + 2^-2half, a tie to even
    alignas(sizeof(V)) T out[V::size];
    INFO(V::size << " lanes of " << sizeof(T) << "-byte values");
    lm::detail::fmadd(V(a), V(a), V(-r)).store_aligned(out);
    for (T x : out) CHECK(x == std::ldexp(T(1), -2 * half));
}

TEMPLATE_TEST_CASE("A kernel's multiply-add rounds once at every vector width of this build", "[kernels]", float,
                   double) {
    using T = TestType;
    namespace gd = lm::kernels::gemm_detail;
    check_fmadd_rounds_once<lm::detail::simd<T>>();
    if constexpr (gd::has_lanes<T, 8>) check_fmadd_rounds_once<gd::vec_t<T, 8>>();
    if constexpr (gd::has_lanes<T, 4>) check_fmadd_rounds_once<gd::vec_t<T, 4>>();
    if constexpr (gd::has_lanes<T, 2>) check_fmadd_rounds_once<gd::vec_t<T, 2>>();
}
#endif

TEMPLATE_TEST_CASE("The GEMM with a bias and ReLU epilogue matches its scalar twin at every output width", "[kernels]",
                   float, double) {
    using T = TestType;
    // Static depths of 9 and 17 are unrolled completely; 9 leaves one step past every multiple of
    // the split accumulators (8, 4 or 2 sets in the small tiles), as 17 does.
    lamina_test::for_each_width([]<std::size_t N>() { gemm_at<T, 9, N, false>(all_rows); });
    gemm_at<T, 17, 33>(all_rows);
}

TEMPLATE_TEST_CASE("The GEMM matches its scalar twin at depths past the full unroll and at depth one", "[kernels]",
                   float, double) {
    using T = TestType;
    // 37 > 32: a loop over split accumulators and a remainder; the widths give full strips,
    // single-vector strips and scalar columns, alone and together.
    gemm_at<T, 37, 3>(all_rows);
    gemm_at<T, 37, 5>(all_rows);
    gemm_at<T, 37, 15>(all_rows);
    gemm_at<T, 37, 33>(all_rows);
    gemm_at<T, 1, 3>(all_rows);
    gemm_at<T, 1, 16>(all_rows);
    gemm_at<T, 2, 33>(all_rows);
}

namespace {

// gemm_small, the GEMM inlined for a row count known at compile time, on integer data (exact
// in any order) against the scalar twin, with the epilogue counting what it sees.
template <class T, std::size_t M, std::size_t K, std::size_t N>
void gemm_small_at() {
    INFO("(" << M << " x " << K << ") x (" << K << " x " << N << ")");
    static_assert(M * K * N <= lm::kernels::small_gemm_macs);
    lm::generator g(M * 100 + K * 10 + N);
    std::vector<T> A(M * K), B(K * N), bias(N);
    fill_integers(A, g);
    fill_integers(B, g);
    fill_integers(bias, g, -40, 40);
    std::vector<T> C(M * N, T(-99)), C2(M * N, T(-98));
    bias_relu<T> epi{bias.data(), N, std::vector<int>(M * N, 0)};
    lm::kernels::gemm_small<M, K, N>(A.data(), B.data(), C.data(), epi);
    bias_relu<T> epi2{bias.data(), N, std::vector<int>(M * N, 0)};
    lm::kernels::gemm_scalar(A.data(), M, K, B.data(), N, C2.data(), epi2);
    CHECK(differences(C, C2, 0) == "");
    CHECK(std::all_of(epi.seen.begin(), epi.seen.end(), [](int s) { return s == 1; }));
}

}  // namespace

TEMPLATE_TEST_CASE("The GEMM inlined for a static row count matches its scalar twin at every tile kind", "[kernels]",
                   float, double) {
    using T = TestType;
    gemm_small_at<T, 2, 5, 3>();    // scalar columns only
    gemm_small_at<T, 4, 8, 128>();  // the seed net: full strips, a 4-row tile
    gemm_small_at<T, 2, 64, 8>();   // one vector of columns
    gemm_small_at<T, 1, 3, 33>();
    gemm_small_at<T, 7, 9, 17>();   // a full 6-row tile and one row, every column kind
    gemm_small_at<T, 13, 4, 31>();
    gemm_small_at<T, 5, 40, 20>();  // depth past the full unroll
}

TEMPLATE_TEST_CASE("The packed GEMM, blocked over depth and columns, matches its scalar twin", "[kernels]", float,
                   double) {
    using T = TestType;
    // K * N >= 16384 packs B once M reaches two micro-tiles; K > 256 splits the depth (400:
    // two passes of 200; 300 and 257, whose second pass would be short, run one), N > 256 the
    // columns, and N % 16 != 0 leaves single-vector and scalar columns. A B of at most 256 KiB
    // is packed by the first tile of each strip (256x256: float yes, double no).
    using tl = lm::kernels::gemm_detail::tiles<T>;
    static_assert(tl::KC == 256 && tl::kc_for(256) == 256 && tl::kc_for(400) == 200 && tl::kc_for(300) == 300 &&
                  tl::kc_for(257) == 257 && tl::kc_for(784) == 262 && tl::kc_for(1024) == 256 && tl::kc_for(5) == 5);
    std::initializer_list<std::size_t> const rows = {1, 11, 12, 13, 15, 20, 64};
    gemm_at<T, 256, 256>(rows);
    gemm_at<T, 300, 300>(rows);
    gemm_at<T, 300, 303>(rows);
    gemm_at<T, 400, 48>(rows);
    gemm_at<T, 257, 64>(rows);
    gemm_at<T, 512, 40>(rows);
    gemm_at<T, 64, 256>(rows);
    // An A whose depth block outgrows L2 (515 rows × 256, float or double) packs 1024 columns
    // at once: a full panel, then the remaining strips, and columns past the last full strip.
    gemm_at<T, 260, 1060>({515});
    // The same with a B of at most 256 KiB on one thread: the first tile of each strip packs it.
    if constexpr (std::is_same_v<T, float>) gemm_at<T, 60, 1060>({2200});
    // From a depth of 512 (kernels::shared_min_depth) the code is shared and the epilogue runs
    // per finished block: every row remainder, unpacked (M < 12) and packed, with single-vector
    // and scalar columns after the full strips (67 and 77 columns, for float and double).
    static_assert(lm::kernels::shared_min_depth == 512 && lm::kernels::shared_min_depth_plain == 128);
    gemm_at<T, 512, 67>(all_rows);
    gemm_at<T, 600, 77>(all_rows);
    gemm_at<T, 784, 40>({13, 64});  // Fashion-MNIST's first layer: three passes of 262
}

namespace {

// bias + ReLU that also asks for the sum of what it stores (the GEMM's tile sums).
template <class T>
struct summing_bias_relu {
    static constexpr bool copyable = true;
    T const* bias;
    T* tile_sums;
    template <class V>
    V operator()(std::size_t, std::size_t j, V acc) const {
        if constexpr (std::is_arithmetic_v<V>) return std::max(acc + bias[j], T(0));
        else return xsimd::max(acc + V::load_unaligned(bias + j), V(T(0)));
    }
};

// The tile sums add up to the sum of C, exactly for integer data, and the same with 1 and 2
// threads (each slot belongs to one task). gemm: lamina's GEMM at depth K and width N; slots:
// sum_slots<N, T>. Only those depend on K and N.
template <class T>
void check_tile_sums(std::size_t K, std::size_t N, gemm_fn<T, summing_bias_relu<T>> gemm,
                     std::size_t (*slots)(std::size_t), std::initializer_list<std::size_t> rows) {
    lamina_test::threads_guard guard;
    lm::generator g(K * 7919 + N);
    for (std::size_t M : rows) {
        INFO("(" << M << " x " << K << ") x (" << K << " x " << N << ")");
        std::vector<T> A(M * K), B(K * N), bias(N), C(M * N), C2(M * N);
        fill_integers(A, g);
        fill_integers(B, g);
        fill_integers(bias, g, -40, 40);
        lm::detail::workspace ws;
        std::size_t const n = slots(M);
        lm::tensor<T, lm::shape<lm::dyn>> s1 = lm::tensor<T, lm::shape<lm::dyn>>::zeros(n),
                                          s2 = lm::tensor<T, lm::shape<lm::dyn>>::zeros(n);  // aligned
        summing_bias_relu<T> epi{bias.data(), s1.data()};
        gemm(A.data(), M, B.data(), C.data(), epi, ws, false, {});
        double total = 0, want = 0;
        for (T s : s1) total += s;
        for (T c : C) want += c;
        CHECK(total == want);
        lm::set_num_threads(2);
        summing_bias_relu<T> epi2{bias.data(), s2.data()};
        gemm(A.data(), M, B.data(), C2.data(), epi2, ws, false, {});
        lm::set_num_threads(1);
        CHECK(differences(s2, s1, 0) == "");
        CHECK(differences(C2, C, 0) == "");
    }
}

template <class T, std::size_t K, std::size_t N>
void tile_sums_at(std::initializer_list<std::size_t> rows) {
    check_tile_sums<T>(K, N, &lm::kernels::gemm<K, N, T, summing_bias_relu<T>>, &lm::kernels::sum_slots<N, T>, rows);
}

}  // namespace

TEMPLATE_TEST_CASE("The GEMM's tile sums add up to what it stores, at every width and with 1 or 2 threads",
                   "[kernels]", float, double) {
    using T = TestType;
    // Every tile kind: full strips, single vectors, scalar columns, each row remainder.
    lamina_test::for_each_width([]<std::size_t N>() { tile_sums_at<T, 4, N>(all_rows); });
    tile_sums_at<T, 37, 33>({1, 15, 16, 17, 255});
    // Packed and blocked over depth and columns; 255 rows are split over two threads.
    tile_sums_at<T, 300, 303>({1, 12, 13, 255});
    // The same through the shared code (depth >= kernels::shared_min_depth), sums taken per block.
    tile_sums_at<T, 520, 303>({1, 12, 13, 255});
    tile_sums_at<T, 64, 256>({15, 16, 17, 255});
}

namespace {

// gemm_tn<M, N>: C = Aᵀ·B, then C += Aᵀ·B, for A (D×M) and B (D×N) of integers, bit for bit
// against a double loop, on 1 and 2 threads.
template <class T, std::size_t M, std::size_t N>
void gemm_tn_at(std::initializer_list<std::size_t> depths) {
    lamina_test::threads_guard guard;
    lm::generator g(M * 1000 + N);
    for (std::size_t D : depths) {
        INFO("(" << D << " x " << M << ")ᵀ x (" << D << " x " << N << ")");
        std::vector<T> A(D * M), B(D * N);
        fill_integers(A, g);
        fill_integers(B, g);
        std::vector<double> want(M * N);
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                double s = 0;
                for (std::size_t d = 0; d < D; ++d) s += double(A[d * M + i]) * B[d * N + j];
                want[i * N + j] = s;
            }
        std::vector<double> twice(want);
        for (double& w : twice) w *= 2;
        for (unsigned threads : {1u, 2u}) {
            INFO(threads << " threads");
            lm::set_num_threads(threads);
            lm::detail::workspace ws;
            std::vector<T> C(M * N, T(-99));
            lm::kernels::gemm_tn<M, N>(A.data(), D, B.data(), C.data(), ws, false);
            CHECK(differences(C, want, 0) == "");
            lm::kernels::gemm_tn<M, N>(A.data(), D, B.data(), C.data(), ws, true);
            CHECK(differences(C, twice, 0) == "");
        }
    }
}

}  // namespace

TEMPLATE_TEST_CASE("The transposed GEMM (the weight gradient) matches a double loop over depth blocks and panels",
                   "[kernels]", float, double) {
    using T = TestType;
    // Depths of one row, of part of a block, of two blocks of 256 with a remainder; columns of
    // two panels of 256, single vectors and scalars after the full strips; every row remainder
    // of the 6-row tile (1, 3, 5 and 4 rows: 3 and 5 run as 2 + 1 and 4 + 1 rows of the packed
    // Aᵀ); on two threads, rows split in two parts (30 and 100 rows, deep enough).
    gemm_tn_at<T, 13, 300>({1, 37, 300});
    gemm_tn_at<T, 9, 35>({37});
    gemm_tn_at<T, 11, 35>({37});
    gemm_tn_at<T, 30, 300>({300});
    gemm_tn_at<T, 100, 35>({1, 600});
    gemm_tn_at<T, 6, 5>({1, 40});
}
