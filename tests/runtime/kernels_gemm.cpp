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


// Checks integer data bit for bit through the epilogue and, when `random` is set, normal data
// without an epilogue within the error bound (that depends on the depth, not on the width).
template <class T, std::size_t K, std::size_t N, bool random = true>
void gemm_at(std::initializer_list<std::size_t> rows) {
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
        lm::kernels::gemm<K, N>(A.data(), M, B.data(), C.data(), epi, ws);
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

        if constexpr (!random) continue;
        // Random data: within the bound that any order of summation in T meets.
        std::vector<T> R(M * K), Q(K * N), D(M * N);
        for (auto& v : R) v = static_cast<T>(g.normal());
        for (auto& v : Q) v = static_cast<T>(g.normal());
        lm::kernels::identity_epilogue id;
        lm::kernels::gemm<K, N>(R.data(), M, Q.data(), D.data(), id, ws);
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

}  // namespace

TEMPLATE_TEST_CASE("The GEMM with a bias and ReLU epilogue matches its scalar twin at every output width", "[kernels]",
                   float, double) {
    using T = TestType;
    // A static depth of 17 is unrolled completely.
    lamina_test::for_each_width([]<std::size_t N>() { gemm_at<T, 17, N, false>(all_rows); });
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

TEMPLATE_TEST_CASE("The packed GEMM, blocked over depth and columns, matches its scalar twin", "[kernels]", float,
                   double) {
    using T = TestType;
    // K * N >= 16384 packs B once M reaches two micro-tiles; K > 256 splits the depth,
    // N > 256 the columns, and N % 16 != 0 leaves single-vector and scalar columns.
    std::initializer_list<std::size_t> const rows = {1, 11, 12, 13, 15, 20, 64};
    gemm_at<T, 300, 300>(rows);
    gemm_at<T, 300, 303>(rows);
    gemm_at<T, 257, 64>(rows);
    gemm_at<T, 512, 40>(rows);
    gemm_at<T, 64, 256>(rows);
}
