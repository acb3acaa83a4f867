// lamina/params.hpp: initializers, fan-in and fan-out, re-initialization, the named walk of a
// layer's parameters and their count.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"
#include "chapter_layers.hpp"

namespace lm = lamina;
using lamina_test::differences;

namespace {

template <class P>
std::pair<double, double> range_of(P const& p) {
    auto [lo, hi] = std::minmax_element(p.begin(), p.end());
    return {*lo, *hi};
}

}  // namespace

TEST_CASE("Fan-in is the product of all extents but the last, fan-out the last", "[params]") {
    using W = lm::param<lm::init::zeros, 5, 3>;
    using B = lm::param<lm::init::zeros, 3>;
    using C = lm::param<lm::init::zeros, 2, 3, 4>;
    CHECK(W::fan_in == 5);
    CHECK(W::fan_out == 3);
    CHECK(B::fan_in == 1);
    CHECK(B::fan_out == 3);
    CHECK(C::fan_in == 6);
    CHECK(C::fan_out == 4);
}

TEST_CASE("zeros and ones fill a parameter with constants", "[params]") {
    lm::generator g(1);
    lm::param<lm::init::zeros, 4, 3> z(g);
    lm::basic_param<double, lm::init::ones, 7> o(g);
    CHECK(differences(z, std::vector<double>(12, 0.0), 0) == "");
    CHECK(differences(o, std::vector<double>(7, 1.0), 0) == "");
}

TEST_CASE("normal draws standard normal values in row-major order from the generator", "[params]") {
    lm::generator g(2), ref(2);
    lm::param<lm::init::normal, 50, 20> p(g);
    std::vector<double> want(1000);
    for (auto& v : want) v = static_cast<float>(ref.normal());
    CHECK(differences(p, want, 0) == "");
}

TEST_CASE("uniform_fan_in stays within 1/sqrt(fan_in) and glorot_uniform within sqrt(6/(fan_in+fan_out))",
          "[params]") {
    lm::generator g(3);
    lm::param<lm::init::uniform_fan_in, 50, 20> u(g);
    double const bu = 1.0 / std::sqrt(50.0);
    auto [ulo, uhi] = range_of(u);
    CHECK(ulo >= -bu);
    CHECK(uhi <= bu);
    CHECK(ulo < -0.9 * bu);  // and uses the whole range
    CHECK(uhi > 0.9 * bu);

    lm::param<lm::init::glorot_uniform, 50, 20> x(g);
    double const bx = std::sqrt(6.0 / 70.0);
    auto [xlo, xhi] = range_of(x);
    CHECK(xlo >= -bx);
    CHECK(xhi <= bx);
    CHECK(xlo < -0.9 * bx);
    CHECK(xhi > 0.9 * bx);
}

TEST_CASE("initialize() with the same seed re-draws the same values", "[params]") {
    lm::generator g1(4), g2(4);
    lm::param<lm::init::normal, 6, 5> a(g1);
    lm::param<lm::init::normal, 6, 5> b(g2);
    CHECK(differences(a, b, 0) == "");
    lm::generator g3(99), g4(99);
    a.initialize(g3);
    CHECK(differences(a, b, 0) != "");
    b.initialize(g4);
    CHECK(differences(a, b, 0) == "");
}

TEST_CASE("A parameter is an operand whose leaf reads its storage", "[params]") {
    lm::generator g(5);
    lm::param<lm::init::normal, 2, 3> p(g);
    auto leaf = p.as_leaf();
    CHECK(leaf.data() == p.data());
    lm::tensor twice = p * 2;
    std::vector<double> want;
    for (double v : p) want.push_back(2 * v);
    CHECK(differences(twice, want, 0) == "");
}

TEST_CASE("A standalone built layer has its parameters' shapes and walks them by name", "[params]") {
    lm::built<MyDense<3>, 5> dense;
    CHECK(dense.weight.extents() == std::array<std::size_t, 2>{5, 3});
    CHECK(dense.bias.extents() == std::array<std::size_t, 1>{3});
    CHECK(dense.weight.shape_str() == "(5, 3)");
    CHECK(dense.bias.shape_str() == "(3,)");

    auto named = lm::named_parameters(dense);
    REQUIRE(named.size() == 2);
    CHECK(named[0].name == "weight");
    CHECK(named[0].shape == std::vector<std::size_t>{5, 3});
    CHECK(named[0].data.data() == dense.weight.data());
    CHECK(named[0].data.size() == 15);
    CHECK(named[1].name == "bias");
    CHECK(named[1].shape == std::vector<std::size_t>{3});
    CHECK(named[1].data.data() == dense.bias.data());

    std::vector<std::string> names;
    lm::for_each_parameter(dense, [&](std::string_view n, auto& p) {
        names.emplace_back(n);
        p.fill(1.f);  // the walk hands out the layer's own storage
    });
    CHECK(names == std::vector<std::string>{"weight", "bias"});
    CHECK(differences(dense.weight, std::vector<double>(15, 1.0), 0) == "");
}

TEST_CASE("parameter_count_v counts every scalar parameter of a layer", "[params]") {
    CHECK(lm::parameter_count_v<lm::built<MyDense<3>, 5>> == 18);
    CHECK(lm::parameter_count_v<lm::built<lm::Dense<4>, 8>> == 36);
    CHECK(lm::parameter_count_v<lm::Centered> == 0);
    CHECK(lm::parameter_count_v<lm::ReLU> == 0);
}

TEST_CASE("Dense's weight is uniform within 1/sqrt(in_features) and its bias zero, as nn.Linear's weight", "[params]") {
    lm::manual_seed(6);
    lm::built<lm::Dense<64>, 100> d;
    auto [lo, hi] = range_of(d.weight);
    CHECK(lo >= -0.1);
    CHECK(hi <= 0.1);
    CHECK(hi - lo > 0.18);
    CHECK(differences(d.bias, std::vector<double>(64, 0.0), 0) == "");
}
