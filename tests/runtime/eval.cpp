// lamina/expr/eval.hpp: eval(), .eval(), .item(), constructing tensors from expressions, and
// assign(view, expr, workspace).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"
#include "support.hpp"

namespace lm = lamina;
using lamina_test::message_has;
using lamina_test::differences;

TEST_CASE("eval(), .eval() and a tensor constructed from an expression agree", "[eval]") {
    lm::tensor<float, lm::shape<lm::dyn, 3>> x({{1.f, -2.f, 3.f}, {-4.f, 5.f, -6.f}});
    auto e = lm::relu(x) * 2 - 1;
    auto a = lm::eval(e);
    auto b = e.eval();
    lm::tensor c = e;
    lm::tensor<float, lm::shape<lm::dyn, 3>> d(e);
    STATIC_REQUIRE(std::is_same_v<decltype(a), lm::tensor<float, lm::shape<lm::dyn, 3>>>);
    STATIC_REQUIRE(std::is_same_v<decltype(b), decltype(a)>);
    STATIC_REQUIRE(std::is_same_v<decltype(c), decltype(a)>);
    std::vector<double> const want{1, -1, 5, -1, 9, -1};
    CHECK(a.batch() == 2);
    CHECK(differences(a, want, 0) == "");
    CHECK(differences(b, want, 0) == "");
    CHECK(differences(c, want, 0) == "");
    CHECK(differences(d, want, 0) == "");
}

TEST_CASE("An expression can be evaluated again and sees its operands' new values", "[eval]") {
    lm::tensor x{1, 2, 3, 4};
    auto e = x - lm::mean(x);  // the reduction is recomputed by each evaluation
    CHECK(differences(e.eval(), std::vector<double>{-1.5, -0.5, 0.5, 1.5}, 0) == "");
    x.fill(2.f);
    CHECK(differences(e.eval(), std::vector<double>(4, 0.0), 0) == "");
}

TEST_CASE(".item() gives the value of a one-element expression and throws lamina::shape_error otherwise", "[eval]") {
    lm::tensor<double, lm::shape<lm::dyn, 2>> x({{1., 2.}, {3., 4.}});
    CHECK(lm::sum(x).item() == 10.0);
    CHECK(lm::mean(x * x).item() == 7.5);
    CHECK(lm::sum(lm::sum(x, lm::axis<0>)).item() == 10.0);
    CHECK(lm::sum(x, lm::axis<0>, lm::keepdim).eval()(0, 1) == 6.0);
    CHECK_THROWS_MATCHES((x * 2).item(), lm::shape_error, message_has({"(2, 2)", "4 elements"}));
    CHECK_THROWS_AS(lm::sum(x, lm::axis<1>).item(), lm::shape_error);
    lm::tensor<double, lm::shape<lm::dyn, 2>> one({{5., 6.}});
    CHECK(lm::sum(one, lm::axis<1>).item() == 11.0);  // a batch of one is one element
}

TEST_CASE("assign() evaluates into an existing view and reuses its workspace", "[eval]") {
    lm::generator g(41);
    auto X = lm::tensor<float, lm::shape<lm::dyn, 16>>::randn(13, g);
    auto W = lm::tensor<float, lm::shape<16, 24>>::randn(g);
    auto b = lm::tensor<float, lm::shape<24>>::randn(g);
    auto expr = [&] { return lm::relu(lm::matmul(X, W) + b) - lm::mean(lm::relu(lm::matmul(X, W) + b)); };
    lm::tensor want = expr();

    lm::tensor<float, lm::shape<lm::dyn, 24>> out(13);
    lm::detail::workspace ws;
    lm::assign(out.view(), expr(), ws);
    CHECK(differences(out, want, 0) == "");

    std::size_t const capacity = ws.capacity();
    for (int i = 0; i < 3; ++i) {
        out.fill(0.f);
        lm::assign(out.view(), expr(), ws);
        CHECK(differences(out, want, 0) == "");
        CHECK(ws.capacity() <= capacity);  // a warm workspace does not grow
        CHECK(ws.blocks() == 1);
    }

    std::vector<float> external(13 * 24, -1.f);  // any contiguous memory will do
    lm::assign(lm::tensor_view<float, lm::shape<lm::dyn, 24>>(external.data(), 13), expr(), ws);
    CHECK(differences(external, want, 0) == "");
}

TEST_CASE("assign() throws lamina::shape_error when the view's batch differs from the expression's", "[eval]") {
    auto X = lm::tensor<float, lm::shape<lm::dyn, 4>>::ones(5);
    lm::tensor<float, lm::shape<lm::dyn, 4>> out(4);
    lm::detail::workspace ws;
    CHECK_THROWS_MATCHES(lm::assign(out.view(), X * 2, ws), lm::shape_error, message_has({"4", "5"}));
}

TEST_CASE("assign() may write over an operand of an element-wise expression", "[eval]") {
    lm::tensor<double, lm::shape<lm::dyn, 5>> x({{1., 2., 3., 4., 5.}, {6., 7., 8., 9., 10.}});
    lm::detail::workspace ws;
    lm::assign(x.view(), x * 2 + 1, ws);
    CHECK(differences(x, std::vector<double>{3, 5, 7, 9, 11, 13, 15, 17, 19, 21}, 0) == "");
}

TEST_CASE("assign() evaluates a vector-matrix product into a vector of the product's length", "[eval][matmul]") {
    // torch.matmul(v (3,), W (3, 2)) has shape (2,); the target has 2 elements, the operand 3.
    lm::tensor<float, lm::shape<3>> v{1.f, 2.f, 3.f};
    lm::tensor<float, lm::shape<3, 2>> W({{1.f, 2.f}, {3.f, 4.f}, {5.f, 6.f}});
    lm::tensor<float, lm::shape<2>> out;
    lm::detail::workspace ws;
    REQUIRE_NOTHROW(lm::assign(out.view(), lm::matmul(v, W), ws));
    CHECK(differences(out, std::vector<double>{22, 28}, 0) == "");
    REQUIRE_NOTHROW(lm::assign(out.view(), lm::relu(lm::matmul(v, W)), ws));
    CHECK(differences(out, std::vector<double>{22, 28}, 0) == "");
}

namespace {

// relu?(x·W + b) - its mean over every element, all in double: what a Dense then a Centered give.
template <std::size_t K, std::size_t N, class Layer, class X>
std::vector<double> centered_dense_ref(Layer const& d, X const& x, bool relu) {
    std::size_t const B = x.batch();
    std::vector<double> h(B * N);
    double sum = 0;
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            double s = d.bias.data()[j];
            for (std::size_t k = 0; k < K; ++k) s += double(x.data()[i * K + k]) * d.weight.data()[k * N + j];
            h[i * N + j] = relu ? std::max(s, 0.0) : s;
            sum += h[i * N + j];
        }
    for (double& v : h) v -= sum / double(B * N);
    return h;
}

template <class Net>
void randomize_all(Net& net, lm::generator& g) {
    lm::for_each_parameter(net, [&](std::string_view, auto& p) {
        for (auto& v : p) v = static_cast<float>(g.normal());
    });
}

// Built-in and user-written layers, with and without ReLU, over batches and widths that reach
// every tile kind of the GEMM (full strips, single vectors, scalar columns, row remainders).
template <std::size_t K, std::size_t N>
void centered_after_dense(std::initializer_list<std::size_t> batches) {
    lm::generator g(K * 131 + N);
    lm::Sequential<lm::Input<K>, lm::Dense<N, lm::ReLU>, lm::Centered> builtin;
    lm::Sequential<lm::Input<K>, MyDense<N>, CenteredLayer> user;
    lm::Sequential<lm::Input<K>, lm::Dense<N>, CenteredLayer> linear;
    randomize_all(builtin, g);
    randomize_all(user, g);
    randomize_all(linear, g);
    for (std::size_t B : batches) {
        INFO("batch " << B << ", " << K << " -> " << N);
        auto x = lm::rand<lm::dyn, K>(B, g);
        auto check = [&](auto& net, bool relu) {
            auto const want = centered_dense_ref<K, N>(lm::get<0>(net), x, relu);
            double scale = 0;
            for (double v : want) scale = std::max(scale, std::abs(v));
            auto y = net(x);
            CHECK(differences(y, want, 0, (1e-6 + 1e-7 * K) * (scale + 1)) == "");  // float sums of K terms
            double mean = 0;
            for (float v : y) mean += v;
            CHECK(std::abs(mean / double(y.size())) < 1e-6 * (scale + 1));
            // A second call reuses everything and gives the same bits.
            std::vector<float> const first(y.begin(), y.end());
            auto y2 = net(x);
            CHECK(differences(y2, first, 0) == "");
        };
        check(builtin, true);
        check(user, true);
        check(linear, false);
    }
}

// A layer that records whether the net handed it a seam (the layer before it, unevaluated).
bool handed_a_seam = false;
struct ProbeCentered {
    auto operator()(auto const& X) const {
        handed_a_seam = requires { X.known_sum(); };
        return X - lm::mean(X);
    }
};

}  // namespace

TEST_CASE("A Centered after a Dense matches a scalar reference, built-in and user-written, and has mean zero",
          "[eval][sequential]") {
    centered_after_dense<8, 128>({1, 4, 5, 6, 7, 15, 16, 17, 255});
    centered_after_dense<5, 3>({1, 2, 15, 16, 17});
    centered_after_dense<8, 1>({1, 7, 255});
    centered_after_dense<17, 15>({1, 16, 17});
    centered_after_dense<3, 17>({1, 16, 17, 255});
    centered_after_dense<37, 255>({1, 13, 64});
    centered_after_dense<300, 300>({1, 11, 12, 64});  // the packed GEMM, blocked over depth and columns
}

TEST_CASE("The layer after a Dense reads it unevaluated, and its mean comes from the GEMM's tile sums",
          "[eval][sequential]") {
    // In a net: the layer is handed the Dense's expression, not a buffer; in training mode each
    // layer is evaluated on its own (backward reads every layer's input).
    lm::Sequential<lm::Input<8>, lm::Dense<16, lm::ReLU>, ProbeCentered> net;
    auto x = lm::rand<lm::dyn, 8>(5);
    handed_a_seam = false;
    auto y0 = net(x);
    std::vector<float> const fused(y0.begin(), y0.end());
    CHECK(handed_a_seam);
    net.train();
    handed_a_seam = true;
    auto y = net(x);
    CHECK_FALSE(handed_a_seam);
    CHECK(differences(y, fused, 1e-6, 1e-6) == "");

    // The mechanism: the producer runs once, into its buffer, summing what it stores; the
    // reduction takes that sum instead of reading the buffer again.
    lm::generator g(5);
    auto X = lm::randn<lm::dyn, 8>(17, g);
    auto W = lm::randn<8, 33>(g);
    auto b = lm::randn<33>(g);
    auto producer = lm::relu(lm::matmul(X, W) + b);
    using P = decltype(producer);
    std::vector<float> buf(17 * 33), out(17 * 33);
    lm::detail::workspace ws;
    lm::detail::seam_state<P> st{producer, buf.data(), &ws};
    auto e = CenteredLayer{}(lm::detail::seam<P>(st));
    lm::detail::evaluate(e, out.data(), ws);
    CHECK(st.done);
    lm::detail::seam<P> const s(st);
    lm::tensor const h = lm::relu(lm::matmul(X, W) + b);
    double want = 0;
    for (float v : h) want += v;
    CHECK(std::abs(s.known_sum() - want) < 1e-4 * (std::abs(want) + 1));
    CHECK(differences(buf, h, 0) == "");
    float const mean = static_cast<float>(s.known_sum() / (17 * 33));
    std::vector<double> centered(h.begin(), h.end());
    for (double& v : centered) v -= mean;
    CHECK(differences(out, centered, 0, 1e-6) == "");
}

namespace {

// Each sample minus its own mean: a layer that reads the Dense before it as a whole (the seam
// evaluated into its buffer) but takes no total sum of it. Records whether it was handed a seam.
struct RowCentered {
    auto operator()(auto const& X) const {
        handed_a_seam = requires { X.known_sum(); };
        return X - lm::mean(X, lm::axis<1>, lm::keepdim);
    }
};

template <class Net, class X>
void check_row_centered(Net& net, X const& x, std::size_t B) {
    constexpr std::size_t K = 8, N = 20;
    auto const& d = lm::get<0>(net);
    std::vector<double> want(B * N);
    for (std::size_t i = 0; i < B; ++i) {
        double row = 0;
        for (std::size_t j = 0; j < N; ++j) {
            double s = d.bias.data()[j];
            for (std::size_t k = 0; k < K; ++k) s += double(x.data()[i * K + k]) * d.weight.data()[k * N + j];
            row += want[i * N + j] = std::max(s, 0.0);
        }
        for (std::size_t j = 0; j < N; ++j) want[i * N + j] -= row / N;
    }
    handed_a_seam = false;
    auto y = net(x);
    CHECK(handed_a_seam);
    CHECK(differences(y, want, 1e-5, 1e-5) == "");
}

}  // namespace

TEST_CASE("A layer that reads the Dense before it whole, without reducing it all, gets its values",
          "[eval][sequential]") {
    lm::generator g(11);
    lm::Sequential<lm::Input<8>, lm::Dense<20, lm::ReLU>, RowCentered> net;
    randomize_all(net, g);
    for (std::size_t B : {1, 5, 13}) {
        INFO("batch " << B);
        check_row_centered(net, lm::rand<lm::dyn, 8>(B, g), B);
    }
    using In = lm::Input<8>::batch<3>;
    lm::Sequential<In, lm::Dense<20, lm::ReLU>, RowCentered> fixed;
    randomize_all(fixed, g);
    check_row_centered(fixed, lm::rand<3, 8>(g), 3);
}

TEST_CASE("A layer without a matmul after a linear Dense runs in the Dense's GEMM epilogue", "[eval][sequential]") {
    lm::generator g(7);
    lm::Sequential<lm::Input<8>, lm::Dense<17>, lm::ReLU> net;
    randomize_all(net, g);
    for (std::size_t B : {1, 6, 16, 17}) {
        auto x = lm::rand<lm::dyn, 8>(B, g);
        lm::tensor const want = lm::relu(lm::get<0>(net)(x));
        CHECK(differences(net(x), want, 0) == "");
    }
}
