// lamina/expr/elementwise.hpp: every unary and binary operation, scalars on either side,
// static broadcasting, the dynamic batch check, and expressions over rvalue tensors.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::message_has;
using lamina_test::differences;

namespace {

// Results of xsimd's exp/log/tanh and of std:: in T against the double-precision reference.
template <class T>
constexpr double rtol = std::is_same_v<T, float> ? 4e-6 : 1e-13;

template <class T, std::size_t N>
using batch_of = lm::tensor<T, lm::shape<lm::dyn, N>>;

// Applies f to every element of x in double: the reference for a unary expression.
template <class X, class F>
std::vector<double> map1(X const& x, F f) {
    std::vector<double> r;
    for (double v : x) r.push_back(f(v));
    return r;
}
template <class X, class Y, class F>
std::vector<double> map2(X const& x, Y const& y, F f) {
    std::vector<double> r;
    auto yi = y.begin();
    for (double v : x) r.push_back(f(v, static_cast<double>(*yi++)));
    return r;
}

}  // namespace

TEMPLATE_TEST_CASE("Every unary operation matches the standard library element by element", "[elementwise]", float,
                   double) {
    using T = TestType;
    lm::generator g(3);
    // 7 x 33 elements: whole vectors, then a scalar tail, for every vector width.
    auto x = batch_of<T, 33>::randn(7, g);
    auto pos = batch_of<T, 33>::rand(7, g);
    for (auto& v : pos) v = v * T(4) + T(0.05);  // in (0.05, 4.05), for log and sqrt
    T const tol = static_cast<T>(rtol<T>);

    CHECK(differences(lm::tensor(lm::relu(x)), map1(x, [](double v) { return v < 0 ? 0.0 : v; }), 0) == "");
    CHECK(differences(lm::tensor(lm::abs(x)), map1(x, [](double v) { return std::abs(v); }), 0) == "");
    CHECK(differences(lm::tensor(-x), map1(x, [](double v) { return -v; }), 0) == "");
    CHECK(differences(lm::tensor(lm::square(x)), map1(x, [](double v) { return v * v; }), tol) == "");
    CHECK(differences(lm::tensor(lm::exp(x)), map1(x, [](double v) { return std::exp(v); }), tol) == "");
    CHECK(differences(lm::tensor(lm::log(pos)), map1(pos, [](double v) { return std::log(v); }), tol, tol) == "");
    CHECK(differences(lm::tensor(lm::tanh(x)), map1(x, [](double v) { return std::tanh(v); }), tol, tol) == "");
    CHECK(differences(lm::tensor(lm::sigmoid(x)), map1(x, [](double v) { return 1 / (1 + std::exp(-v)); }), tol, tol) ==
          "");
    CHECK(differences(lm::tensor(lm::sqrt(pos)), map1(pos, [](double v) { return std::sqrt(v); }), tol) == "");
}

TEMPLATE_TEST_CASE("Unary operations keep their limits at extreme inputs", "[elementwise]", float, double) {
    using T = TestType;
    lm::tensor<T, lm::shape<9>> x{-1000, -50, -1, -0.0, 0, 1e-30, 1, 50, 1000};
    lm::tensor s = lm::sigmoid(x);
    lm::tensor t = lm::tanh(x);
    lm::tensor r = lm::relu(x);
    CHECK(s(0) == T(0));
    CHECK(s(8) == T(1));
    CHECK(s(4) == T(0.5));
    CHECK(t(0) == T(-1));
    CHECK(t(8) == T(1));
    CHECK(r(0) == T(0));
    CHECK(r(5) == T(1e-30));
    CHECK(std::isinf(lm::tensor(lm::exp(x))(8)));
    CHECK(lm::tensor(lm::exp(x))(0) == T(0));
}

TEMPLATE_TEST_CASE("relu keeps NaN as NaN in the SIMD body, the scalar tail and a GEMM's epilogue, as torch.relu does",
                   "[elementwise]", float, double) {
    using T = TestType;
    T const nan = std::numeric_limits<T>::quiet_NaN();
    constexpr std::size_t n = 19;  // two vectors of floats or four of doubles, then a tail
    lm::tensor<T, lm::shape<n>> x;
    for (std::size_t i = 0; i < n; ++i) x(i) = i % 3 == 0 ? nan : T(i % 2 ? -1 : 2);
    lm::tensor const r = lm::relu(x);
    for (std::size_t i = 0; i < n; ++i) {
        INFO("element " << i);
        if (i % 3 == 0) CHECK(std::isnan(r(i)));
        else CHECK(r(i) == T(i % 2 ? 0 : 2));
    }
    // A NaN input row gives NaN outputs through matmul + bias + relu, fused in the GEMM.
    lm::tensor<T, lm::shape<lm::dyn, 3>> X = lm::tensor<T, lm::shape<lm::dyn, 3>>::zeros(7);
    X(4, 1) = nan;
    lm::tensor<T, lm::shape<3, n>> W = lm::tensor<T, lm::shape<3, n>>::ones();
    lm::tensor<T, lm::shape<n>> b = lm::tensor<T, lm::shape<n>>::ones();
    lm::tensor const Y = lm::relu(lm::matmul(X, W) + b);
    for (std::size_t i = 0; i < 7; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            INFO("row " << i << ", column " << j);
            if (i == 4) CHECK(std::isnan(Y(i, j)));
            else CHECK(Y(i, j) == T(1));
        }
}

TEMPLATE_TEST_CASE("Every binary operation between two tensors matches a double loop", "[elementwise]", float, double) {
    using T = TestType;
    lm::generator g(4);
    auto x = batch_of<T, 17>::randn(5, g);
    auto y = batch_of<T, 17>::randn(5, g);
    for (auto& v : y) v = v + (v < 0 ? T(-0.5) : T(0.5));  // no divisor near zero
    double const tol = rtol<T>;

    CHECK(differences(lm::tensor(x + y), map2(x, y, std::plus<>{}), tol) == "");
    CHECK(differences(lm::tensor(x - y), map2(x, y, std::minus<>{}), tol, tol) == "");
    CHECK(differences(lm::tensor(x * y), map2(x, y, std::multiplies<>{}), tol) == "");
    CHECK(differences(lm::tensor(x / y), map2(x, y, std::divides<>{}), tol) == "");
    CHECK(differences(lm::tensor(lm::maximum(x, y)), map2(x, y, [](double a, double b) { return std::max(a, b); }), 0) ==
          "");
    CHECK(differences(lm::tensor(lm::minimum(x, y)), map2(x, y, [](double a, double b) { return std::min(a, b); }), 0) ==
          "");
}

TEMPLATE_TEST_CASE("A number works on either side of every binary operation", "[elementwise]", float, double) {
    using T = TestType;
    lm::generator g(5);
    auto x = batch_of<T, 15>::randn(6, g);
    for (auto& v : x) v = v + (v < 0 ? T(-0.5) : T(0.5));
    double const tol = rtol<T>;
    auto want = [&](auto f) { return map1(x, f); };

    CHECK(differences(lm::tensor(x + 2), want([](double v) { return v + 2; }), tol) == "");
    CHECK(differences(lm::tensor(2 + x), want([](double v) { return 2 + v; }), tol) == "");
    CHECK(differences(lm::tensor(x - 2.5), want([](double v) { return v - 2.5; }), tol, tol) == "");
    CHECK(differences(lm::tensor(2.5 - x), want([](double v) { return 2.5 - v; }), tol, tol) == "");
    CHECK(differences(lm::tensor(x * 3), want([](double v) { return v * 3; }), tol) == "");
    CHECK(differences(lm::tensor(3 * x), want([](double v) { return 3 * v; }), tol) == "");
    CHECK(differences(lm::tensor(x / 4), want([](double v) { return v / 4; }), tol) == "");
    CHECK(differences(lm::tensor(4 / x), want([](double v) { return 4 / v; }), tol) == "");
    CHECK(differences(lm::tensor(lm::maximum(x, 0.75)), want([](double v) { return std::max(v, 0.75); }), 0) == "");
    CHECK(differences(lm::tensor(lm::maximum(0.75, x)), want([](double v) { return std::max(0.75, v); }), 0) == "");
    CHECK(differences(lm::tensor(lm::minimum(x, -0.75f)), want([](double v) { return std::min(v, -0.75); }), 0) == "");
    CHECK(differences(lm::tensor(lm::minimum(-0.75f, x)), want([](double v) { return std::min(-0.75, v); }), 0) == "");
}

TEMPLATE_TEST_CASE("A composite expression is evaluated in one pass to the same values as a double loop",
                   "[elementwise]", float, double) {
    using T = TestType;
    lm::generator g(6);
    auto x = batch_of<T, 31>::randn(13, g);
    auto y = batch_of<T, 31>::randn(13, g);
    lm::tensor got = lm::sigmoid(x) * lm::tanh(y) - lm::square(x - y) / (lm::abs(y) + 1) + lm::maximum(x, 0) * 0.5;
    auto want = map2(x, y, [](double a, double b) {
        return 1 / (1 + std::exp(-a)) * std::tanh(b) - (a - b) * (a - b) / (std::abs(b) + 1) + std::max(a, 0.0) * 0.5;
    });
    CHECK(differences(got, want, 4 * rtol<T>, 4 * rtol<T>) == "");
}

TEMPLATE_TEST_CASE("A row vector broadcasts against every row of a batch, on either side", "[elementwise][broadcast]",
                   float, double) {
    using T = TestType;
    lm::generator g(7);
    for (std::size_t B : {1, 5, 13}) {
        auto X = batch_of<T, 17>::randn(B, g);
        auto r = lm::tensor<T, lm::shape<17>>::randn(g);
        auto r2 = lm::tensor<T, lm::shape<1, 17>>::randn(g);
        lm::tensor a = X + r;
        lm::tensor b = r - X;
        lm::tensor c = X * r2;
        STATIC_REQUIRE(std::is_same_v<decltype(a), batch_of<T, 17>>);
        STATIC_REQUIRE(std::is_same_v<decltype(b), batch_of<T, 17>>);
        STATIC_REQUIRE(std::is_same_v<decltype(c), batch_of<T, 17>>);
        REQUIRE(a.batch() == B);
        REQUIRE(b.batch() == B);
        std::vector<double> wa, wb, wc;
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t j = 0; j < 17; ++j) {
                wa.push_back(double(X(i, j)) + r(j));
                wb.push_back(double(r(j)) - X(i, j));
                wc.push_back(double(X(i, j)) * r2(0, j));
            }
        INFO("batch " << B);
        CHECK(differences(a, wa, rtol<T>, rtol<T>) == "");
        CHECK(differences(b, wb, rtol<T>, rtol<T>) == "");
        CHECK(differences(c, wc, rtol<T>) == "");
    }
}

TEMPLATE_TEST_CASE("A column of one value per sample broadcasts along each row, on either side",
                   "[elementwise][broadcast]", float, double) {
    using T = TestType;
    lm::generator g(8);
    for (std::size_t B : {1, 6, 7}) {
        auto X = batch_of<T, 33>::randn(B, g);
        auto c = batch_of<T, 1>::randn(B, g);
        lm::tensor a = X * c;
        lm::tensor b = c - X;
        lm::tensor m = lm::maximum(c, X);
        REQUIRE(a.batch() == B);
        std::vector<double> wa, wb, wm;
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t j = 0; j < 33; ++j) {
                wa.push_back(double(X(i, j)) * c(i, 0));
                wb.push_back(double(c(i, 0)) - X(i, j));
                wm.push_back(std::max(double(c(i, 0)), double(X(i, j))));
            }
        INFO("batch " << B);
        CHECK(differences(a, wa, rtol<T>) == "");
        CHECK(differences(b, wb, rtol<T>, rtol<T>) == "");
        CHECK(differences(m, wm, 0) == "");
    }
}

TEMPLATE_TEST_CASE("Rank-3 operands broadcast against rank-1, rank-2 and rank-3 operands of extent 1",
                   "[elementwise][broadcast]", float, double) {
    using T = TestType;
    constexpr std::size_t R = 3, N = 5;
    using X3 = lm::tensor<T, lm::shape<lm::dyn, R, N>>;
    lm::generator g(9);
    std::size_t const B = 4;
    auto X = X3::randn(B, g);
    auto v = lm::tensor<T, lm::shape<N>>::randn(g);              // (N)
    auto m = lm::tensor<T, lm::shape<R, N>>::randn(g);           // (R, N)
    auto col = lm::tensor<T, lm::shape<R, 1>>::randn(g);         // (R, 1)
    auto per_sample = lm::tensor<T, lm::shape<lm::dyn, 1, N>>::randn(B, g);  // (B, 1, N)
    auto per_row = lm::tensor<T, lm::shape<lm::dyn, R, 1>>::randn(B, g);     // (B, R, 1)
    auto lone = lm::tensor<T, lm::shape<1, 1, 1>>::randn(g);
    auto per_sample_number = lm::tensor<T, lm::shape<lm::dyn, 1, 1>>::randn(B, g);  // (B, 1, 1)

    lm::tensor a = X + v;
    lm::tensor b = m * X;
    lm::tensor c = X - col;
    lm::tensor d = X * per_sample;
    lm::tensor e = per_row + X;
    lm::tensor f = X / (lm::abs(lone) + 1);
    lm::tensor h = per_sample_number * X;
    STATIC_REQUIRE(std::is_same_v<decltype(a), X3>);
    STATIC_REQUIRE(std::is_same_v<decltype(d), X3>);
    STATIC_REQUIRE(std::is_same_v<decltype(e), X3>);
    std::vector<double> wa, wb, wc, wd, we, wf, wh;
    for (std::size_t s = 0; s < B; ++s)
        for (std::size_t i = 0; i < R; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                double const x = X(s, i, j);
                wa.push_back(x + v(j));
                wb.push_back(m(i, j) * x);
                wc.push_back(x - col(i, 0));
                wd.push_back(x * per_sample(s, 0, j));
                we.push_back(per_row(s, i, 0) + x);
                wf.push_back(x / (std::abs(double(lone(0, 0, 0))) + 1));
                wh.push_back(per_sample_number(s, 0, 0) * x);
            }
    CHECK(differences(a, wa, rtol<T>, rtol<T>) == "");
    CHECK(differences(b, wb, rtol<T>) == "");
    CHECK(differences(c, wc, rtol<T>, rtol<T>) == "");
    CHECK(differences(d, wd, rtol<T>) == "");
    CHECK(differences(e, we, rtol<T>, rtol<T>) == "");
    CHECK(differences(f, wf, rtol<T>) == "");
    CHECK(differences(h, wh, rtol<T>) == "");
}

TEST_CASE("Static rank-3 operands broadcast over their middle and leading axes", "[elementwise][broadcast]") {
    lm::tensor<double, lm::shape<2, 3, 4>> X;
    for (std::size_t i = 0; i < X.size(); ++i) X.data()[i] = double(i);
    lm::tensor<double, lm::shape<2, 1, 4>> mid;
    for (std::size_t i = 0; i < mid.size(); ++i) mid.data()[i] = 100.0 * double(i);
    lm::tensor<double, lm::shape<1, 3, 1>> lead{1000., 2000., 3000.};
    lm::tensor got = X + mid + lead;
    std::vector<double> want;
    for (std::size_t a = 0; a < 2; ++a)
        for (std::size_t b = 0; b < 3; ++b)
            for (std::size_t c = 0; c < 4; ++c) want.push_back(X(a, b, c) + mid(a, 0, c) + lead(0, b, 0));
    CHECK(differences(got, want, 0) == "");
}

TEST_CASE("A row (1, N) and a column (B, 1) broadcast to a (B, N) outer sum", "[elementwise][broadcast]") {
    lm::tensor<float, lm::shape<lm::dyn, 1>> c({{0.f}, {10.f}, {20.f}});
    lm::tensor<float, lm::shape<1, 5>> r({{1.f, 2.f, 3.f, 4.f, 5.f}});
    lm::tensor outer = c + r;
    STATIC_REQUIRE(std::is_same_v<decltype(outer), lm::tensor<float, lm::shape<lm::dyn, 5>>>);
    CHECK(outer.batch() == 3);
    CHECK(differences(outer, std::vector<double>{1, 2, 3, 4, 5, 11, 12, 13, 14, 15, 21, 22, 23, 24, 25}, 0) == "");
}

TEMPLATE_TEST_CASE("A one-element operand broadcasts against a batch of single-column rows",
                   "[elementwise][broadcast]", float, double) {
    // torch: x (5, 1) * r (1,), x + s (1, 1) and x - x.mean(0, keepdim=True) broadcast s to every row.
    using T = TestType;
    lm::tensor<T, lm::shape<lm::dyn, 1>> x({{T(1)}, {T(2)}, {T(3)}, {T(4)}, {T(5)}});
    auto r = lm::tensor<T, lm::shape<1>>::full(T(10));
    auto s = lm::tensor<T, lm::shape<1, 1>>::full(T(100));
    CHECK(differences(lm::tensor(x * r), std::vector<double>{10, 20, 30, 40, 50}, 0) == "");
    CHECK(differences(lm::tensor(s + x), std::vector<double>{101, 102, 103, 104, 105}, 0) == "");
    CHECK(differences(lm::tensor(x - lm::mean(x, lm::axis<0>, lm::keepdim)), std::vector<double>{-2, -1, 0, 1, 2}, 0) ==
          "");
    CHECK(differences(lm::tensor(x - lm::mean(x)), std::vector<double>{-2, -1, 0, 1, 2}, 0) == "");  // rank 0: fine
}

TEST_CASE("Two dynamic operands with different batches throw lamina::shape_error naming both", "[elementwise]") {
    auto X = lm::tensor<float, lm::shape<lm::dyn, 4>>::ones(3);
    auto Y = lm::tensor<float, lm::shape<lm::dyn, 4>>::ones(5);
    auto c = lm::tensor<float, lm::shape<lm::dyn, 1>>::ones(4);
    CHECK_THROWS_MATCHES(X + Y, lm::shape_error, message_has({"3", "5"}));
    CHECK_THROWS_AS(lm::maximum(Y, X), lm::shape_error);
    CHECK_THROWS_MATCHES(X * c, lm::shape_error, message_has({"3", "4"}));
    CHECK_THROWS_AS(lm::relu(X) - lm::exp(Y), lm::shape_error);  // also inside larger expressions

    auto P = lm::tensor<float, lm::shape<lm::dyn, 3, 4>>::ones(2);
    auto Q = lm::tensor<float, lm::shape<lm::dyn, 1, 4>>::ones(3);
    CHECK_THROWS_AS(P + Q, lm::shape_error);
    CHECK_NOTHROW(X + lm::tensor<float, lm::shape<lm::dyn, 4>>::ones(3));
}

TEST_CASE("Rvalue tensors are moved into the expression, so a stored expression never dangles", "[elementwise]") {
    auto e = lm::tensor{1, 2, 3} * 2 + lm::tensor{10, 20, 30};
    auto f = lm::relu(lm::tensor<float, lm::shape<lm::dyn, 4>>::full(-1.f, 3) + 3);
    auto m = lm::mean(lm::tensor{2.0, 4.0, 9.0});
    // Churn the heap so that freed tensors would be overwritten.
    std::vector<lm::tensor<float, lm::shape<3>>> churn;
    for (int i = 0; i < 64; ++i) churn.push_back(lm::tensor<float, lm::shape<3>>::full(-7.f));
    std::vector<lm::tensor<float, lm::shape<lm::dyn, 4>>> churn2;
    for (int i = 0; i < 64; ++i) churn2.push_back(lm::tensor<float, lm::shape<lm::dyn, 4>>::full(-7.f, 3));

    CHECK(differences(lm::eval(e), std::vector<double>{12, 24, 36}, 0) == "");
    CHECK(differences(lm::eval(f), std::vector<double>(12, 2.0), 0) == "");
    CHECK(m.item() == 5.0);
    CHECK(differences(lm::eval(e), std::vector<double>{12, 24, 36}, 0) == "");  // evaluating twice is fine
}

TEST_CASE("An lvalue tensor is referenced, so the expression sees its values at evaluation time", "[elementwise]") {
    lm::tensor x{1, 2, 3};
    auto e = x * 2;
    x.fill(5.f);
    CHECK(differences(lm::eval(e), std::vector<double>{10, 10, 10}, 0) == "");
}

TEST_CASE("Views, const views and expressions are operands like tensors", "[elementwise]") {
    lm::tensor<float, lm::shape<lm::dyn, 3>> x({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
    lm::tensor_view<float, lm::shape<lm::dyn, 3>> v = x;
    lm::tensor_view<float const, lm::shape<lm::dyn, 3>> cv = x;
    lm::tensor got = v + cv * (x - 1);
    std::vector<double> want;
    for (double a : x) want.push_back(a + a * (a - 1));
    CHECK(differences(got, want, 0) == "");
}
