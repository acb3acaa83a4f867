// lamina/layers/tensor_reduction.hpp and lamina/layers/fourier_half.hpp (with their nodes
// expr/outer.hpp, expr/reshape.hpp, expr/dft.hpp and kernels outer.hpp, fft.hpp): values
// against plain double-precision loops, gradients against central finite differences in
// double, both layers inside a Sequential, and a few training steps.
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::differences;

namespace {

template <std::size_t C>
using rows_of = lm::shape<lm::dyn, C>;

template <class T, class S>
lm::tensor<T, S> normal(lm::generator& g, std::size_t batch = S::batch_of(0)) {
    return lm::tensor<T, S>::randn(batch, g);
}

/// y[b, k] = Σ_ij W[i, j, k]·x[b, i]·x[b, j]: the exercise's formula as a triple loop, in double.
template <class X, class W>
std::vector<double> tensor_reduction_ref(X const& x, W const& w) {
    constexpr std::size_t In = W::shape_type::extents[0], K = W::shape_type::extents[2];
    std::size_t const B = x.batch();
    std::vector<double> y(B * K, 0.0);
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t i = 0; i < In; ++i)
            for (std::size_t j = 0; j < In; ++j)
                for (std::size_t k = 0; k < K; ++k)
                    y[b * K + k] += double(w.data()[(i * In + j) * K + k]) * double(x.data()[b * In + i]) * double(x.data()[b * In + j]);
    return y;
}

/// Σ_|W_ijk x_i x_j| per output: the scale a float result's rounding error is relative to.
template <class X, class W>
double tensor_reduction_scale(X const& x, W const& w) {
    constexpr std::size_t In = W::shape_type::extents[0], K = W::shape_type::extents[2];
    double m = 0;
    for (std::size_t b = 0; b < x.batch(); ++b)
        for (std::size_t k = 0; k < K; ++k) {
            double s = 0;
            for (std::size_t i = 0; i < In; ++i)
                for (std::size_t j = 0; j < In; ++j)
                    s += std::abs(double(w.data()[(i * In + j) * K + k]) * x.data()[b * In + i] * x.data()[b * In + j]);
            m = std::max(m, s);
        }
    return m;
}

/// The leading half of each row's DFT by the definition, in double (std::complex, the angle
/// reduced mod n), interleaved re, im: rows of 2⌊n/2⌋ values.
template <std::size_t N, class X>
std::vector<double> dft_half_ref(X const& x) {
    constexpr std::size_t w = N / 2 * 2;
    std::size_t const rows = x.size() / N;
    std::vector<double> y(rows * w);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t k = 0; k < N / 2; ++k) {
            std::complex<double> s = 0;
            for (std::size_t t = 0; t < N; ++t)
                s += double(x.data()[r * N + t]) *
                     std::polar(1.0, -2 * std::numbers::pi * double(k * t % N) / double(N));
            y[r * w + 2 * k] = s.real();
            y[r * w + 2 * k + 1] = s.imag();
        }
    return y;
}

/// What backward(f(), u) adds to each of the given variables' gradients, against central
/// differences of Σ u·f() (h = 1e-6, in double): "" when every element agrees.
template <class F, class... V>
std::string gradient_differences(F const& f, V&... vars) {
    using E = decltype(f());
    lm::generator g(7);
    auto const u = lm::tensor<double, typename E::shape_type>::randn(f().batch(), g);
    auto loss = [&] {
        auto const y = lm::eval(f());
        double s = 0;
        for (std::size_t i = 0; i < y.size(); ++i) s += u.data()[i] * y.data()[i];
        return s;
    };
    (vars.zero_grad(), ...);
    lm::backward(f(), u);
    std::string out;
    auto one = [&](auto& v) {
        if (!out.empty()) return;
        std::vector<double> want(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            double const x0 = v.data()[i], h = 1e-6;
            v.data()[i] = x0 + h;
            double const p = loss();
            v.data()[i] = x0 - h;
            double const m = loss();
            v.data()[i] = x0;
            want[i] = (p - m) / (2 * h);
        }
        std::string const d = differences(v.grad(), want, 1e-6, 1e-6);
        if (!d.empty()) out = "variable of shape " + v.shape_str() + ": " + d;
    };
    (one(vars), ...);
    return out;
}

template <class S>
lm::variable<double, S> var(lm::generator& g, std::size_t batch = S::batch_of(0)) {
    return lm::variable<double, S>(lm::tensor<double, S>::randn(batch, g));
}

constexpr std::size_t batches[] = {1, 5, 13};

}  // namespace

TEST_CASE("outer(X) holds each row's products x_i·x_j at widths that hit the SIMD body and tail", "[exercises]") {
    lm::generator g(1);
    auto check = [&]<std::size_t N>() {
        for (std::size_t B : batches) {
            auto const x = normal<float, rows_of<N>>(g, B);
            lm::tensor<float, rows_of<N * N>> const p = lm::outer(x);
            std::vector<float> want(B * N * N);
            for (std::size_t b = 0; b < B; ++b)
                for (std::size_t i = 0; i < N; ++i)
                    for (std::size_t j = 0; j < N; ++j) want[(b * N + i) * N + j] = x(b, i) * x(b, j);
            INFO("(" << B << ", " << N << ")");
            CHECK(differences(p, want, 0) == "");  // the same float product
        }
    };
    lamina_test::for_each_width(check);
}

TEST_CASE("reshape views the same memory, and a parameter's view keeps its gradient", "[exercises]") {
    lm::variable<double, lm::shape<2, 3, 4>> w(lm::tensor<double, lm::shape<2, 3, 4>>::zeros());
    for (std::size_t i = 0; i < w.size(); ++i) w.data()[i] = double(i);
    auto v = lm::reshape<6, 4>(w);
    STATIC_REQUIRE(std::is_same_v<decltype(v)::shape_type, lm::shape<6, 4>>);
    CHECK(v.data() == w.data());
    CHECK(v.grad() == w.grad().data());
    w.requires_grad(false);
    CHECK(lm::reshape<24>(w).grad() == nullptr);
    auto const x = lm::tensor<float, rows_of<6>>::ones(3);
    auto xv = lm::reshape<lm::dyn, 2, 3>(x);
    CHECK(xv.batch() == 3);
}

TEST_CASE("TensorReduction matches the exercise's triple loop in double, and in float within rounding", "[exercises]") {
    lm::generator g(2);
    auto in_double = [&]<std::size_t In, std::size_t K>() {
        lm::built<lm::TensorReduction<K>, In, double> layer;
        for (auto& v : layer.weight) v = g.normal();
        for (std::size_t B : batches) {
            auto const x = normal<double, rows_of<In>>(g, B);
            lm::tensor<double, rows_of<K>> const y = layer(x);
            INFO("double, batch " << B << ", in " << In << ", K " << K);
            CHECK(differences(y, tensor_reduction_ref(x, layer.weight), 1e-12, 1e-12) == "");
        }
    };
    // Inputs 1..17 (outer's vector and per-lane paths), outputs across the GEMM's strips.
    in_double.operator()<1, 1>();
    in_double.operator()<3, 5>();
    in_double.operator()<4, 16>();
    in_double.operator()<8, 3>();
    in_double.operator()<9, 17>();
    in_double.operator()<17, 8>();
    auto in_float = [&]<std::size_t In, std::size_t K>() {
        lm::built<lm::TensorReduction<K>, In> layer;
        for (std::size_t B : {1, 7, 64}) {
            auto const x = normal<float, rows_of<In>>(g, B);
            lm::tensor<float, rows_of<K>> const y = layer(x);
            INFO("float, batch " << B << ", in " << In << ", K " << K);
            // (In² + 2) roundings of float at most, each relative to Σ|W_ijk x_i x_j|.
            double const tol = double(In * In + 2) * 0x1p-24 * tensor_reduction_scale(x, layer.weight);
            CHECK(differences(y, tensor_reduction_ref(x, layer.weight), 0, tol) == "");
        }
    };
    in_float.operator()<5, 3>();
    in_float.operator()<32, 16>();
}

TEST_CASE("TensorReduction's gradients for x and W match central finite differences in double", "[exercises]") {
    lm::generator g(3);
    auto check = [&]<std::size_t In, std::size_t K>() {
        auto w = var<lm::shape<In, In, K>>(g);
        for (std::size_t B : {1, 5}) {
            auto x = var<rows_of<In>>(g, B);
            INFO("batch " << B << ", in " << In << ", K " << K);
            auto f = [&] { return lm::matmul(lm::outer(x), lm::reshape<In * In, K>(w)); };
            CHECK(gradient_differences(f, x, w) == "");
            // The layer's own forward, on its parameter.
            lm::built<lm::TensorReduction<K>, In, double> layer;
            CHECK(gradient_differences([&] { return layer(x); }, x, layer.weight) == "");
        }
    };
    check.operator()<1, 1>();
    check.operator()<3, 2>();
    check.operator()<5, 4>();
    check.operator()<9, 3>();
}

TEST_CASE("outer's gradient kernel matches its scalar twin at widths that hit the SIMD body and tail", "[exercises]") {
    lm::generator g(4);
    auto check = [&]<std::size_t N>() {
        if constexpr (N <= 33) {
            std::size_t const B = 3;
            auto const x = normal<float, rows_of<N>>(g, B);
            auto const G = normal<float, rows_of<N * N>>(g, B);
            std::vector<float> got(B * N), want(B * N);
            lm::kernels::outer_grad<N>(G.data(), x.data(), B, got.data());
            lm::kernels::outer_grad_scalar<N>(G.data(), x.data(), B, want.data());
            INFO("N " << N);
            CHECK(differences(got, want, 1e-5, 1e-5) == "");
        }
    };
    lamina_test::for_each_width(check);
}

TEST_CASE("dft_half matches the DFT's definition in double, on the FFT and the GEMM paths", "[exercises]") {
    lm::generator g(5);
    auto check = [&]<std::size_t N>() {
        for (std::size_t B : batches) {
            auto const x = normal<double, rows_of<N>>(g, B);
            auto const want = dft_half_ref<N>(x);
            INFO("double, (" << B << ", " << N << ")");
            lm::tensor<double, rows_of<N / 2 * 2>> const y = lm::dft_half(x);
            CHECK(differences(y, want, 1e-12, 1e-12 * double(N)) == "");
            lm::tensor<double, rows_of<N / 2 * 2>> const ym = lm::dft_half_matmul(x);
            CHECK(differences(ym, want, 1e-12, 1e-12 * double(N)) == "");
            if constexpr (lm::dft_half_of_length<N>::needs_twice_a_power_of_two) {
                lm::tensor<double, rows_of<N>> const yf = lm::dft_half_fft(x);
                CHECK(differences(yf, want, 1e-12, 1e-12 * double(N)) == "");
            }
        }
    };
    // Powers of two (FFT below and above the crossover), other even lengths and odd ones
    // (GEMM only; an odd n gives its ⌊n/2⌋ leading coefficients, n - 1 values).
    check.operator()<2>();
    check.operator()<3>();
    check.operator()<4>();
    check.operator()<6>();
    check.operator()<9>();
    check.operator()<10>();
    check.operator()<16>();
    check.operator()<34>();
    check.operator()<64>();
    check.operator()<128>();
    check.operator()<4096>();
    // Float within a few roundings of log2(n) passes, relative to Σ|x| per row.
    auto x = normal<float, rows_of<256>>(g, 9);
    lm::tensor<float, rows_of<256>> const y = lm::dft_half(x);
    CHECK(differences(y, dft_half_ref<256>(x), 0, 1e-5 * 256) == "");
}

TEST_CASE("dft_half's gradient, the adjoint of the truncated DFT, matches central finite differences in double",
          "[exercises]") {
    lm::generator g(6);
    auto check = [&]<std::size_t N>() {
        for (std::size_t B : {1, 5}) {
            auto x = var<rows_of<N>>(g, B);
            INFO("(" << B << ", " << N << ")");
            CHECK(gradient_differences([&] { return lm::dft_half(x); }, x) == "");
            if constexpr (lm::dft_half_of_length<N>::needs_twice_a_power_of_two)
                CHECK(gradient_differences([&] { return lm::dft_half_fft(x); }, x) == "");
            // Through a consumer, so the gradient arrives as an expression.
            CHECK(gradient_differences([&] { return lm::tanh(lm::FourierHalf{}(x)); }, x) == "");
        }
    };
    check.operator()<2>();
    check.operator()<6>();
    check.operator()<7>();
    check.operator()<16>();
    check.operator()<64>();
    check.operator()<256>();
}

namespace {

// Both exercises in one net, in double: 6 features -> 4 bilinear forms -> their 2 leading
// Fourier coefficients (4 values) -> 3 logits.
using exercises_net = lm::Sequential<lm::InputOf<rows_of<6>, double>, lm::TensorReduction<4>, lm::FourierHalf,
                                     lm::Dense<3, lm::Tanh>, lm::Dense<3>>;

std::vector<std::int32_t> labels_for(std::size_t n, lm::generator& g) {
    std::vector<std::int32_t> y(n);
    for (auto& v : y) v = static_cast<std::int32_t>(g.uniform() * 3);
    return y;
}

}  // namespace

TEST_CASE("Both layers chain in a Sequential: shapes, parameter names and counts, summary", "[exercises]") {
    exercises_net net;
    STATIC_REQUIRE(std::is_same_v<exercises_net::output_shape_of<0>, rows_of<4>>);
    STATIC_REQUIRE(std::is_same_v<exercises_net::output_shape_of<1>, rows_of<4>>);
    STATIC_REQUIRE(lm::parameter_count_v<exercises_net> == 6 * 6 * 4 + (4 * 3 + 3) + (3 * 3 + 3));
    std::vector<std::string> names;
    std::vector<std::vector<std::size_t>> shapes;
    net.for_each_parameter([&](std::string_view name, auto const& p) {
        names.emplace_back(name);
        auto e = p.extents();
        shapes.emplace_back(e.begin(), e.end());
    });
    CHECK(names == std::vector<std::string>{"0.weight", "2.weight", "2.bias", "3.weight", "3.bias"});
    CHECK(shapes[0] == std::vector<std::size_t>{6, 6, 4});
    CHECK(&lm::get<"0.weight">(net) == &lm::get<0>(net).weight);
    std::string const s = lm::summary(net);
    CHECK(s.find("TensorReduction<4>") != std::string::npos);
    CHECK(s.find("FourierHalf") != std::string::npos);
    CHECK(s.find("Total params: " + std::to_string(lm::parameter_count_v<exercises_net>)) != std::string::npos);

    // In float, lamina::named_parameters (the state-dict walk) sees the weight's shape.
    lm::Sequential<lm::Input<8>, lm::TensorReduction<2>, lm::FourierHalf> f;
    auto const params = lm::named_parameters(f);
    REQUIRE(params.size() == 1);
    CHECK(params[0].name == "0.weight");
    CHECK(params[0].shape == std::vector<std::size_t>{8, 8, 2});
    CHECK(params[0].data.size() == 128);
}

TEST_CASE("Both layers in a Sequential in double: backward(loss) gives every parameter its gradient", "[exercises]") {
    lm::generator g(8);
    exercises_net net;
    net.initialize(g);
    for (std::size_t B : {1, 5}) {
        INFO("batch " << B);
        auto const x = lm::tensor<double, rows_of<6>>::randn(B, g);
        auto const labels = labels_for(B, g);
        net.zero_grad();
        net.train();
        auto y = net(x);
        double const value = net.backward(lm::cross_entropy(y, labels));
        net.eval();
        auto loss = [&] { return double(lm::cross_entropy(net(x), labels).item()); };
        CHECK(std::abs(value - loss()) <= 1e-12 * std::abs(value));
        net.for_each_parameter([&](std::string_view name, auto& p) {
            INFO("parameter " << name);
            std::vector<double> want(p.size());
            for (std::size_t i = 0; i < p.size(); ++i) {
                double const x0 = p.data()[i], h = 1e-6;
                p.data()[i] = x0 + h;
                double const up = loss();
                p.data()[i] = x0 - h;
                double const down = loss();
                p.data()[i] = x0;
                want[i] = (up - down) / (2 * h);
            }
            CHECK(differences(p.grad(), want, 1e-6, 1e-7) == "");
        });
    }
}

TEST_CASE("A few SGD steps on each layer lower the loss", "[exercises]") {
    lm::generator g(9);
    SECTION("TensorReduction fits a quadratic form") {
        // Target: y = x₀·x₁ - x₂², a quadratic form the layer can represent exactly.
        auto const x = lm::randn<lm::dyn, 4>(64, g);
        auto target = lm::tensor<float, rows_of<1>>::zeros(64);
        for (std::size_t b = 0; b < 64; ++b) target(b, 0) = x(b, 0) * x(b, 1) - x(b, 2) * x(b, 2);
        lm::Sequential<lm::Input<4>, lm::TensorReduction<1>> net;
        net.initialize(g);
        lm::optim::sgd opt(net, {.lr = 0.05});
        net.train();
        std::vector<float> losses;
        for (int step = 0; step < 20; ++step) {
            auto y = net(x);
            losses.push_back(net.backward(lm::mse_loss(y, target)));
            opt.step();
            net.zero_grad();
        }
        CHECK(losses.back() < 0.5f * losses.front());
    }
    SECTION("FourierHalf before a Dense tells a sine's frequency") {
        constexpr std::size_t n = 32;
        std::size_t const B = 60;
        auto x = lm::tensor<float, rows_of<n>>::zeros(B);
        std::vector<std::int32_t> labels(B);
        for (std::size_t b = 0; b < B; ++b) {
            labels[b] = static_cast<std::int32_t>(b % 3);
            double const phase = g.uniform(0, 2 * std::numbers::pi);
            for (std::size_t t = 0; t < n; ++t)
                x(b, t) = float(std::sin(2 * std::numbers::pi * double(2 + 3 * labels[b]) * double(t) / n + phase));
        }
        lm::Sequential<lm::Input<n>, lm::FourierHalf, lm::Dense<3>> net;
        lm::optim::sgd opt(net, {.lr = 0.01});
        net.train();
        std::vector<float> losses;
        for (int step = 0; step < 10; ++step) {
            auto y = net(x);
            losses.push_back(net.backward(lm::cross_entropy(y, labels)));
            opt.step();
            net.zero_grad();
        }
        CHECK(losses.back() < 0.5f * losses.front());
    }
}
