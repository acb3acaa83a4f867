// lamina/layers/: Centered, Dense with each activation, the activations as layers, and a
// user-written layer against the built-in one.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"
#include "chapter_layers.hpp"

namespace lm = lamina;
using lamina_test::differences;

namespace {

// X (B x In) · weight + bias, then act, in double, with the layer's own parameters.
template <class L, class X, class Act>
std::vector<double> dense_naive(L const& l, X const& x, std::size_t B, std::size_t In, std::size_t Out, Act act) {
    std::vector<double> y;
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t j = 0; j < Out; ++j) {
            double s = l.bias(j);
            for (std::size_t k = 0; k < In; ++k) s += double(x(i, k)) * l.weight(k, j);
            y.push_back(act(s));
        }
    return y;
}

double identity(double v) { return v; }
double relu(double v) { return std::max(v, 0.0); }

}  // namespace

TEST_CASE("Centered subtracts the mean over the whole batch, not the mean of each row", "[layers]") {
    lm::tensor<float, lm::shape<lm::dyn, 4>> x({{1.f, 2.f, 3.f, 4.f}, {10.f, 20.f, 30.f, 40.f}});
    lm::tensor y = lm::Centered{}(x);
    // mean = 110 / 8 = 13.75
    CHECK(differences(y, std::vector<double>{-12.75, -11.75, -10.75, -9.75, -3.75, 6.25, 16.25, 26.25}, 0) == "");
    CHECK(lm::mean(y).item() == 0.f);
    lm::tensor row_means = lm::mean(y, lm::axis<1>);
    CHECK(differences(row_means, std::vector<double>{-11.25, 11.25}, 0) == "");

    lm::tensor z = CenteredLayer{}(lm::tensor{1, 2, 3, 4, 5});  // the chapter's own example
    CHECK(differences(z, std::vector<double>{-2, -1, 0, 1, 2}, 0) == "");
}

TEST_CASE("Centered output has mean zero over a random batch at every batch size", "[layers]") {
    lm::generator g(51);
    for (std::size_t B : lamina_test::batches) {
        auto x = lm::tensor<float, lm::shape<lm::dyn, 33>>::rand(B, g);
        lm::tensor y = lm::Centered{}(x * 10 + 5);
        INFO("batch " << B);
        CHECK(std::abs(lm::mean(y).item()) < 1e-5f);
    }
}

TEST_CASE("Dense with Identity computes X times weight plus bias with its own parameters", "[layers]") {
    lm::generator g(52);
    lm::built<lm::Dense<4>, 5> d;
    for (auto& b : d.bias) b = static_cast<float>(g.normal());  // zeros by default; make them count
    for (std::size_t B : {1, 6, 13}) {
        auto x = lm::tensor<float, lm::shape<lm::dyn, 5>>::randn(B, g);
        lm::tensor y = d(x);
        STATIC_REQUIRE(std::is_same_v<decltype(y), lm::tensor<float, lm::shape<lm::dyn, 4>>>);
        INFO("batch " << B);
        CHECK(differences(y, dense_naive(d, x, B, 5, 4, identity), 1e-5, 1e-5) == "");
    }
}

TEST_CASE("Dense with ReLU clamps X times weight plus bias at zero", "[layers]") {
    lm::generator g(53);
    lm::built<lm::Dense<17, lm::ReLU>, 33> d;
    for (auto& b : d.bias) b = static_cast<float>(g.normal());
    auto x = lm::tensor<float, lm::shape<lm::dyn, 33>>::randn(13, g);
    lm::tensor y = d(x);
    auto const want = dense_naive(d, x, 13, 33, 17, relu);
    CHECK(differences(y, want, 1e-5, 1e-5) == "");
    CHECK(std::count(want.begin(), want.end(), 0.0) > 20);  // the clamp was exercised
    CHECK(std::count_if(want.begin(), want.end(), [](double v) { return v > 0; }) > 20);
}

TEST_CASE("Dense with Sigmoid and with Tanh applies the activation after the bias", "[layers]") {
    lm::generator g(54);
    lm::built<lm::Dense<6, lm::Sigmoid>, 3> s;
    lm::built<lm::Dense<6, lm::Tanh>, 3> t;
    for (auto& b : s.bias) b = static_cast<float>(g.normal());
    std::copy(s.weight.begin(), s.weight.end(), t.weight.begin());
    std::copy(s.bias.begin(), s.bias.end(), t.bias.begin());
    auto x = lm::tensor<float, lm::shape<lm::dyn, 3>>::randn(7, g);
    lm::tensor ys = s(x);
    lm::tensor yt = t(x);
    CHECK(differences(ys, dense_naive(s, x, 7, 3, 6, [](double v) { return 1 / (1 + std::exp(-v)); }), 1e-5, 1e-6) == "");
    CHECK(differences(yt, dense_naive(t, x, 7, 3, 6, [](double v) { return std::tanh(v); }), 1e-5, 1e-6) == "");
}

TEST_CASE("The activations are layers of their own", "[layers]") {
    lm::tensor<float, lm::shape<4>> x{-2.f, -0.5f, 0.5f, 2.f};
    CHECK(differences(lm::tensor(lm::ReLU{}(x)), std::vector<double>{0, 0, 0.5, 2}, 0) == "");
    CHECK(differences(lm::tensor(lm::Identity{}(x)), x, 0) == "");
    std::vector<double> s, t;
    for (double v : x) {
        s.push_back(1 / (1 + std::exp(-v)));
        t.push_back(std::tanh(v));
    }
    CHECK(differences(lm::tensor(lm::Sigmoid{}(x)), s, 1e-6) == "");
    CHECK(differences(lm::tensor(lm::Tanh{}(x)), t, 1e-6) == "");
}

TEST_CASE("A user-written MyDense equals Dense with ReLU when their parameters are equal", "[layers]") {
    lm::generator g(55);
    auto check = [&]<std::size_t In, std::size_t Out>(std::initializer_list<std::size_t> batches) {
        lm::built<MyDense<Out>, In> mine;
        lm::built<lm::Dense<Out, lm::ReLU>, In> theirs;
        std::copy(mine.weight.begin(), mine.weight.end(), theirs.weight.begin());
        std::copy(mine.bias.begin(), mine.bias.end(), theirs.bias.begin());
        for (std::size_t B : batches) {
            auto x = lm::tensor<float, lm::shape<lm::dyn, In>>::randn(B, g);
            lm::tensor a = mine(x);
            lm::tensor b = theirs(x);
            STATIC_REQUIRE(std::is_same_v<decltype(a), decltype(b)>);
            INFO("(" << B << " x " << In << ") -> " << Out);
            CHECK(differences(a, b, 0) == "");  // the same expression: bit for bit
            CHECK(differences(a, dense_naive(mine, x, B, In, Out, relu), 1e-4, 1e-4) == "");
        }
    };
    check.template operator()<5, 3>({1, 2, 7});
    check.template operator()<64, 8>({1, 6, 13});
    check.template operator()<300, 300>({12, 20});
}
