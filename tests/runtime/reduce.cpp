// lamina/expr/reduce.hpp: sum and mean over every element and over each axis, with keepdim
// and negative axes, against naive loops in double.
#include <array>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::differences;

namespace {

template <class T>
constexpr double rtol = std::is_same_v<T, float> ? 2e-6 : 1e-13;

// Sums a row-major array of extents ext over one axis (mean divides by that extent), in double.
template <std::size_t R>
std::vector<double> reduce_naive(std::vector<double> const& x, std::array<std::size_t, R> ext, std::size_t axis,
                                 bool mean) {
    std::size_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < axis; ++d) outer *= ext[d];
    for (std::size_t d = axis + 1; d < R; ++d) inner *= ext[d];
    std::vector<double> out(outer * inner, 0.0);
    for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t k = 0; k < ext[axis]; ++k)
            for (std::size_t i = 0; i < inner; ++i) out[o * inner + i] += x[(o * ext[axis] + k) * inner + i];
    if (mean)
        for (auto& v : out) v /= static_cast<double>(ext[axis]);
    return out;
}

double total(std::vector<double> const& x) {
    double s = 0;
    for (double v : x) s += v;
    return s;
}

// Checks sum and mean over axis A, with and without keepdim, of X against the naive loops.
template <int A, class X>
void check_axis(X const& x) {
    using S = typename X::shape_type;
    using T = typename X::value_type;
    constexpr std::size_t R = S::rank;
    constexpr std::size_t a = A < 0 ? static_cast<std::size_t>(A + int(R)) : static_cast<std::size_t>(A);
    auto const ext = x.extents();
    auto const data = lamina_test::to_doubles(x);
    INFO("axis " << A << " of a tensor of shape " << x.shape_str());

    lm::tensor s = lm::sum(x, lm::axis<A>);
    lm::tensor m = lm::mean(x, lm::axis<A>);
    lm::tensor sk = lm::sum(x, lm::axis<A>, lm::keepdim);
    lm::tensor mk = lm::mean(x, lm::axis<A>, lm::keepdim);
    STATIC_REQUIRE(decltype(s)::rank == R - 1);
    STATIC_REQUIRE(decltype(sk)::rank == R);
    STATIC_REQUIRE(decltype(mk)::shape_type::extents[a] == 1);

    // Expected extents: the axis removed, or kept as 1.
    std::vector<std::size_t> want_ext, want_keep;
    for (std::size_t d = 0; d < R; ++d) {
        if (d != a) want_ext.push_back(ext[d]);
        want_keep.push_back(d == a ? 1 : ext[d]);
    }
    auto const se = s.extents();
    auto const ke = sk.extents();
    CHECK(std::vector<std::size_t>(se.begin(), se.end()) == want_ext);
    CHECK(std::vector<std::size_t>(ke.begin(), ke.end()) == want_keep);

    double const tol = rtol<T> * static_cast<double>(ext[a]);
    CHECK(differences(s, reduce_naive(data, ext, a, false), tol, tol) == "");
    CHECK(differences(m, reduce_naive(data, ext, a, true), tol, tol) == "");
    CHECK(differences(sk, reduce_naive(data, ext, a, false), tol, tol) == "");
    CHECK(differences(mk, reduce_naive(data, ext, a, true), tol, tol) == "");
}

}  // namespace

TEMPLATE_TEST_CASE("sum and mean over every element match a double loop, batch included", "[reduce]", float, double) {
    using T = TestType;
    lm::generator g(21);
    for (std::size_t B : lamina_test::batches) {
        auto x = lm::tensor<T, lm::shape<lm::dyn, 3, 17>>::randn(B, g);
        auto const d = lamina_test::to_doubles(x);
        double const tol = rtol<T> * std::sqrt(double(x.size()));
        INFO("batch " << B);
        auto s = lm::sum(x);
        STATIC_REQUIRE(std::is_same_v<typename decltype(s)::shape_type, lm::shape<>>);
        CHECK(s.item() == Approx(total(d)).margin(tol * 10).epsilon(tol));
        CHECK(lm::mean(x).item() == Approx(total(d) / double(x.size())).margin(tol).epsilon(tol));
    }
}

TEMPLATE_TEST_CASE("sum and mean over each axis of a rank-3 batch match naive loops, with keepdim and negative axes",
                   "[reduce]", float, double) {
    using T = TestType;
    lm::generator g(22);
    for (std::size_t B : {1, 4, 13}) {
        auto x = lm::tensor<T, lm::shape<lm::dyn, 3, 5>>::randn(B, g);
        check_axis<0>(x);
        check_axis<1>(x);
        check_axis<2>(x);
        check_axis<-1>(x);
        check_axis<-2>(x);
        check_axis<-3>(x);
    }
}

TEMPLATE_TEST_CASE("sum and mean over each axis reach the SIMD body and the scalar tail", "[reduce]", float, double) {
    using T = TestType;
    lm::generator g(23);
    for (std::size_t B : lamina_test::batches) {
        auto x = lm::tensor<T, lm::shape<lm::dyn, 33>>::randn(B, g);
        check_axis<0>(x);
        check_axis<-1>(x);
        auto y = lm::tensor<T, lm::shape<lm::dyn, 2, 255>>::randn(B, g);
        check_axis<0>(y);
        check_axis<1>(y);
        check_axis<-1>(y);
    }
}

TEMPLATE_TEST_CASE("sum and mean over the axes of static matrices and vectors match naive loops", "[reduce]", float,
                   double) {
    using T = TestType;
    lm::generator g(24);
    auto m = lm::tensor<T, lm::shape<7, 9>>::randn(g);
    check_axis<0>(m);
    check_axis<1>(m);
    check_axis<-2>(m);
    auto v = lm::tensor<T, lm::shape<31>>::randn(g);
    check_axis<0>(v);
    check_axis<-1>(v);
    auto r3 = lm::tensor<T, lm::shape<2, 3, 4>>::randn(g);
    check_axis<0>(r3);
    check_axis<1>(r3);
    check_axis<2>(r3);
}

TEST_CASE("A reduction of an expression reduces the expression's values", "[reduce]") {
    lm::generator g(25);
    auto x = lm::tensor<float, lm::shape<lm::dyn, 17>>::randn(6, g);
    auto r = lm::tensor<float, lm::shape<17>>::randn(g);
    lm::tensor rows = lm::sum(lm::relu(x) * 2, lm::axis<1>);
    lm::tensor cols = lm::mean(x + r, lm::axis<0>);  // a broadcasting (non-flat) operand
    std::vector<double> wr(6, 0.0), wc(17, 0.0);
    for (std::size_t i = 0; i < 6; ++i)
        for (std::size_t j = 0; j < 17; ++j) {
            wr[i] += 2.0 * std::max(0.0, double(x(i, j)));
            wc[j] += (double(x(i, j)) + r(j)) / 6.0;
        }
    CHECK(differences(rows, wr, 1e-5, 1e-5) == "");
    CHECK(differences(cols, wc, 1e-5, 1e-5) == "");
    CHECK(lm::sum(lm::square(x)).item() == Approx([&] {
              double s = 0;
              for (double v : x) s += v * v;
              return s;
          }()).epsilon(1e-5));
}

TEST_CASE("A kept axis broadcasts back: each row minus its mean has mean zero, each column over its sum sums to one",
          "[reduce][broadcast]") {
    lm::generator g(26);
    auto x = lm::tensor<double, lm::shape<lm::dyn, 33>>::rand(7, g);
    lm::tensor c = x - lm::mean(x, lm::axis<-1>, lm::keepdim);
    lm::tensor row_means = lm::mean(c, lm::axis<1>);
    CHECK(differences(row_means, std::vector<double>(7, 0.0), 0, 1e-15) == "");
    lm::tensor n = x / lm::sum(x, lm::axis<0>, lm::keepdim);
    lm::tensor col_sums = lm::sum(n, lm::axis<0>);
    CHECK(differences(col_sums, std::vector<double>(33, 1.0), 1e-14) == "");
    // Not a per-row operation: the mean over everything leaves the row means unequal.
    lm::tensor all = x - lm::mean(x);
    CHECK(std::abs(lm::mean(all).item()) < 1e-15);
}

TEST_CASE("The sum of a million floats is accurate to a few float roundings", "[reduce]") {
    auto x = lm::tensor<float, lm::shape<lm::dyn, 1000>>::full(0.1f, 1000);
    double const want = 1e6 * double(0.1f);
    CHECK(lm::sum(x).item() == Approx(want).epsilon(1e-6));
    CHECK(lm::mean(x).item() == Approx(double(0.1f)).epsilon(1e-6));
}

TEST_CASE("Sums and means over one long axis are accurate to a few float roundings", "[reduce]") {
    // Summed one value after another, these came to 0.0997599 (a row of a million), 0.0999856
    // (a column of 100,000, vector lanes) and 200.003 (2000 rows, scalar columns); torch gives
    // 0.1 and 200.00003.
    double const tenth = double(0.1f);
    auto const near = [](double got, double want) { return std::abs(got - want) <= 2e-6 * want; };
    auto rows = lm::tensor<float, lm::shape<2, 1000000>>::full(0.1f);
    lm::tensor<float, lm::shape<2>> row_means = lm::mean(rows, lm::axis<1>);
    CHECK(near(row_means(0), tenth));
    CHECK(near(row_means(1), tenth));
    auto tall = lm::tensor<float, lm::shape<lm::dyn, 19>>::full(0.1f, 100000);  // 16 in lanes, 3 scalar
    lm::tensor<float, lm::shape<19>> col_means = lm::mean(tall, lm::axis<0>);
    lm::tensor<float, lm::shape<19>> col_sums = lm::sum(tall, lm::axis<-2>);
    for (std::size_t j = 0; j < 19; ++j) {
        INFO("column " << j);
        CHECK(near(col_means(j), tenth));
        CHECK(near(col_sums(j), 1e5 * tenth));
    }
    // A middle axis of a rank-3 batch: 3000 steps between the two kept ones.
    auto cube = lm::tensor<float, lm::shape<lm::dyn, 3000, 5>>::full(0.1f, 2);
    lm::tensor<float, lm::shape<lm::dyn, 5>> mid = lm::sum(cube, lm::axis<1>);
    for (float v : mid) CHECK(near(v, 3000 * tenth));
}

TEST_CASE("A reduction over a dynamic batch follows the batch of each evaluation", "[reduce]") {
    for (std::size_t B : {1, 2, 64}) {
        auto x = lm::tensor<float, lm::shape<lm::dyn, 4>>::ones(B);
        lm::tensor s = lm::sum(x, lm::axis<0>);
        CHECK(differences(s, std::vector<double>(4, double(B)), 0) == "");
        CHECK(lm::mean(x, lm::axis<0>).eval()(3) == 1.f);
        CHECK(lm::sum(x).item() == float(4 * B));
    }
}

TEST_CASE("Summing a rank-1 tensor of dynamic length over its only axis gives its total", "[reduce]") {
    // torch.tensor([1., 2., 3.]).sum(0) == 6 and .mean(-1, keepdim=True) == [2.]
    lm::tensor<float, lm::shape<lm::dyn>> v({1.f, 2.f, 3.f});
    CHECK(lm::sum(v).item() == 6.f);
    CHECK(lm::sum(v, lm::axis<0>).item() == 6.f);
    CHECK(lm::mean(v, lm::axis<-1>, lm::keepdim).item() == 2.f);
}
