// lamina/expr/matmul.hpp: products with rank-1, rank-2 and rank-3 left operands, fused
// epilogues, nested products, and expressions mixing products with reductions.
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
using lamina_test::differences;
using lamina_test::differences_within;

namespace {

// Row-major (M x K) times (K x N) in double, with the bound |error| <= 2 K eps sum_k |a b|
// that any summation order in T meets: tol[i] holds it for each element.
template <class T>
struct product {
    std::vector<double> value, tol;
};

template <class T, class A, class B>
product<T> naive_matmul(A const& a, B const& b, std::size_t M, std::size_t K, std::size_t N) {
    product<T> p{std::vector<double>(M * N), std::vector<double>(M * N)};
    double const eps = std::numeric_limits<T>::epsilon();
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            double s = 0, mag = 0;
            for (std::size_t k = 0; k < K; ++k) {
                double const t = double(a[i * K + k]) * double(b[k * N + j]);
                s += t;
                mag += std::abs(t);
            }
            p.value[i * N + j] = s;
            p.tol[i * N + j] = 2.0 * double(K + 2) * eps * (mag + 1.0);
        }
    return p;
}

template <class X>
std::vector<double> flat(X const& x) {
    return lamina_test::to_doubles(x);
}

}  // namespace

TEMPLATE_TEST_CASE("matmul of a batch and a matrix matches a double loop for widths that reach every GEMM path",
                   "[matmul]", float, double) {
    using T = TestType;
    lm::generator g(31);
    auto run = [&]<std::size_t K, std::size_t N>() {
        auto W = lm::tensor<T, lm::shape<K, N>>::randn(g);
        for (std::size_t B : lamina_test::batches) {
            auto X = lm::tensor<T, lm::shape<lm::dyn, K>>::randn(B, g);
            lm::tensor Y = lm::matmul(X, W);
            STATIC_REQUIRE(std::is_same_v<decltype(Y), lm::tensor<T, lm::shape<lm::dyn, N>>>);
            REQUIRE(Y.batch() == B);
            auto const want = naive_matmul<T>(X.data(), W.data(), B, K, N);
            INFO("(" << B << " x " << K << ") x (" << K << " x " << N << ")");
            CHECK(differences_within(Y, want.value, want.tol) == "");
        }
    };
    run.template operator()<5, 3>();     // scalar columns only
    run.template operator()<33, 17>();   // full strips and a scalar column
    run.template operator()<40, 31>();   // full strips, a single-vector strip and scalar columns
}

TEMPLATE_TEST_CASE("relu(matmul(X, W) + b) runs in the GEMM epilogue and matches a double loop", "[matmul]", float,
                   double) {
    using T = TestType;
    lm::generator g(32);
    auto run = [&]<std::size_t K, std::size_t N>(std::initializer_list<std::size_t> rows) {
        auto W = lm::tensor<T, lm::shape<K, N>>::randn(g);
        auto b = lm::tensor<T, lm::shape<N>>::randn(g);
        for (std::size_t B : rows) {
            auto X = lm::tensor<T, lm::shape<lm::dyn, K>>::randn(B, g);
            lm::tensor Y = lm::relu(lm::matmul(X, W) + b);
            auto want = naive_matmul<T>(X.data(), W.data(), B, K, N);
            for (std::size_t i = 0; i < B; ++i)
                for (std::size_t j = 0; j < N; ++j) {
                    double& v = want.value[i * N + j];
                    v = std::max(0.0, v + double(b(j)));
                }
            INFO("(" << B << " x " << K << ") x (" << K << " x " << N << ")");
            CHECK(differences_within(Y, want.value, want.tol) == "");
        }
    };
    run.template operator()<7, 17>({1, 2, 5, 6, 7, 13, 64});
    run.template operator()<64, 33>({1, 6, 13});
    // Packed and blocked over the depth: K * N >= 16384, K > 256, N not a multiple of 16.
    run.template operator()<300, 303>({11, 12, 13, 20});
}

TEMPLATE_TEST_CASE("matmul of a vector, a static matrix and a rank-3 batch gives the shapes torch.matmul gives",
                   "[matmul]", float, double) {
    using T = TestType;
    lm::generator g(33);
    auto W = lm::tensor<T, lm::shape<6, 5>>::randn(g);

    auto v = lm::tensor<T, lm::shape<6>>::randn(g);
    lm::tensor y1 = lm::matmul(v, W);
    STATIC_REQUIRE(std::is_same_v<decltype(y1), lm::tensor<T, lm::shape<5>>>);
    auto w1 = naive_matmul<T>(v.data(), W.data(), 1, 6, 5);
    CHECK(differences_within(y1, w1.value, w1.tol) == "");

    auto M = lm::tensor<T, lm::shape<4, 6>>::randn(g);
    lm::tensor y2 = lm::matmul(M, W);
    STATIC_REQUIRE(std::is_same_v<decltype(y2), lm::tensor<T, lm::shape<4, 5>>>);
    auto w2 = naive_matmul<T>(M.data(), W.data(), 4, 6, 5);
    CHECK(differences_within(y2, w2.value, w2.tol) == "");

    auto X3 = lm::tensor<T, lm::shape<lm::dyn, 3, 6>>::randn(7, g);
    lm::tensor y3 = lm::matmul(X3, W);
    STATIC_REQUIRE(std::is_same_v<decltype(y3), lm::tensor<T, lm::shape<lm::dyn, 3, 5>>>);
    CHECK(y3.batch() == 7);
    auto w3 = naive_matmul<T>(X3.data(), W.data(), 21, 6, 5);
    CHECK(differences_within(y3, w3.value, w3.tol) == "");

    auto S3 = lm::tensor<T, lm::shape<2, 3, 6>>::randn(g);
    lm::tensor y4 = lm::matmul(S3, W) * 2;
    STATIC_REQUIRE(std::is_same_v<decltype(y4), lm::tensor<T, lm::shape<2, 3, 5>>>);
    auto w4 = naive_matmul<T>(S3.data(), W.data(), 6, 6, 5);
    for (auto& x : w4.value) x *= 2;
    for (auto& x : w4.tol) x *= 2;
    CHECK(differences_within(y4, w4.value, w4.tol) == "");
}

TEMPLATE_TEST_CASE("Nested and chained matmuls equal the products taken one at a time", "[matmul]", float, double) {
    using T = TestType;
    lm::generator g(34);
    auto X = lm::tensor<T, lm::shape<lm::dyn, 9>>::randn(13, g);
    auto W1 = lm::tensor<T, lm::shape<9, 17>>::randn(g);
    auto b1 = lm::tensor<T, lm::shape<17>>::randn(g);
    auto W2 = lm::tensor<T, lm::shape<17, 4>>::randn(g);
    auto b2 = lm::tensor<T, lm::shape<4>>::randn(g);

    lm::tensor nested = lm::matmul(lm::matmul(X, W1), W2);
    lm::tensor h = lm::matmul(X, W1);
    lm::tensor stepwise = lm::matmul(h, W2);
    double const tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    CHECK(differences(nested, stepwise, tol, tol) == "");
    auto hw = naive_matmul<T>(X.data(), W1.data(), 13, 9, 17);
    auto want = naive_matmul<T>(hw.value.data(), W2.data(), 13, 17, 4);
    CHECK(differences(nested, want.value, 10 * tol, 10 * tol) == "");

    // A two-layer perceptron in one expression.
    lm::tensor mlp = lm::matmul(lm::relu(lm::matmul(X, W1) + b1), W2) + b2;
    lm::tensor hidden = lm::relu(lm::matmul(X, W1) + b1);
    lm::tensor mlp_steps = lm::matmul(hidden, W2) + b2;
    CHECK(differences(mlp, mlp_steps, tol, tol) == "");
}

TEMPLATE_TEST_CASE("Either operand of matmul may be an expression", "[matmul]", float, double) {
    using T = TestType;
    lm::generator g(35);
    auto X = lm::tensor<T, lm::shape<lm::dyn, 5>>::randn(6, g);
    auto W = lm::tensor<T, lm::shape<5, 16>>::randn(g);
    lm::tensor X2 = X * 2 + 1;
    lm::tensor W3 = W * 3;
    lm::tensor left = lm::matmul(X * 2 + 1, W);
    lm::tensor right = lm::matmul(X, W * 3);
    auto wl = naive_matmul<T>(X2.data(), W.data(), 6, 5, 16);
    auto wr = naive_matmul<T>(X.data(), W3.data(), 6, 5, 16);
    CHECK(differences_within(left, wl.value, wl.tol) == "");
    CHECK(differences_within(right, wr.value, wr.tol) == "");
}

TEMPLATE_TEST_CASE("A fused epilogue may broadcast a column, a number and a row around the product", "[matmul]", float,
                   double) {
    using T = TestType;
    lm::generator g(36);
    std::size_t const B = 7;
    auto X = lm::tensor<T, lm::shape<lm::dyn, 11>>::randn(B, g);
    auto W = lm::tensor<T, lm::shape<11, 19>>::randn(g);
    auto c = lm::tensor<T, lm::shape<lm::dyn, 1>>::randn(B, g);
    auto r = lm::tensor<T, lm::shape<19>>::randn(g);
    lm::tensor got = lm::tanh(c - lm::matmul(X, W) * 0.5) + r;
    auto p = naive_matmul<T>(X.data(), W.data(), B, 11, 19);
    std::vector<double> want;
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t j = 0; j < 19; ++j) want.push_back(std::tanh(double(c(i, 0)) - p.value[i * 19 + j] * 0.5) + r(j));
    double const tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
    CHECK(differences(got, want, tol, tol) == "");
}

TEMPLATE_TEST_CASE("Two products in one element-wise expression are both computed", "[matmul]", float, double) {
    using T = TestType;
    lm::generator g(37);
    auto X = lm::tensor<T, lm::shape<lm::dyn, 6>>::randn(5, g);
    auto W1 = lm::tensor<T, lm::shape<6, 9>>::randn(g);
    auto W2 = lm::tensor<T, lm::shape<6, 9>>::randn(g);
    lm::tensor got = lm::matmul(X, W1) * lm::matmul(X, W2);
    auto p1 = naive_matmul<T>(X.data(), W1.data(), 5, 6, 9);
    auto p2 = naive_matmul<T>(X.data(), W2.data(), 5, 6, 9);
    std::vector<double> want(p1.value.size());
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = p1.value[i] * p2.value[i];
    double const tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
    CHECK(differences(got, want, tol, tol) == "");
}

TEMPLATE_TEST_CASE("An expression mixing products and reductions matches a double loop", "[matmul][reduce]", float,
                   double) {
    using T = TestType;
    lm::generator g(38);
    std::size_t const B = 13;
    auto X = lm::tensor<T, lm::shape<lm::dyn, 8>>::randn(B, g);
    auto W = lm::tensor<T, lm::shape<8, 33>>::randn(g);
    auto b = lm::tensor<T, lm::shape<33>>::randn(g);

    lm::tensor got = lm::relu(lm::matmul(X, W) + b) - lm::mean(lm::relu(lm::matmul(X, W) + b));
    lm::tensor col_means = lm::mean(lm::matmul(X, W), lm::axis<0>);
    lm::tensor row_sums = lm::sum(lm::matmul(X, W) + b, lm::axis<-1>, lm::keepdim);

    auto p = naive_matmul<T>(X.data(), W.data(), B, 8, 33);
    std::vector<double> h(B * 33), cm(33, 0.0), rs(B, 0.0);
    double mean = 0;
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t j = 0; j < 33; ++j) {
            double const z = p.value[i * 33 + j];
            h[i * 33 + j] = std::max(0.0, z + double(b(j)));
            mean += h[i * 33 + j] / double(B * 33);
            cm[j] += z / double(B);
            rs[i] += z + double(b(j));
        }
    for (auto& v : h) v -= mean;
    double const tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
    CHECK(differences(got, h, tol, tol) == "");
    CHECK(std::abs(lm::mean(got).item()) < tol);
    CHECK(differences(col_means, cm, tol, tol) == "");
    CHECK(differences(row_sums, rs, tol, tol) == "");
}

TEST_CASE("matmul over rvalue tensors keeps its operands alive", "[matmul]") {
    auto e = lm::matmul(lm::tensor({{1, 2}, {3, 4}}), lm::tensor({{1, 0}, {0, 2}})) + lm::tensor{10, 20};
    std::vector<lm::tensor<float, lm::shape<2, 2>>> churn(32, lm::tensor<float, lm::shape<2, 2>>::full(-9.f));
    CHECK(differences(lm::eval(e), std::vector<double>{11, 24, 13, 28}, 0) == "");
}
