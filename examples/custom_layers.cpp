// Every cell of the d2l chapter "Custom Layers", in lamina. Asserts its own results.
#include <cassert>
#include <cmath>
#include <iostream>

#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"  // CenteredLayer and MyDense, as the chapter writes them
#include "check.hpp"

namespace lm = lamina;

int main() {
    lm::manual_seed(0);

    // Layers without parameters.
    CenteredLayer layer;
    lm::tensor centered = layer(lm::tensor{1, 2, 3, 4, 5});
    std::cout << centered << "\n";
    for (int i = 0; i < 5; ++i) CHECK(centered(i) == float(i - 2));

    lm::Sequential<lm::Input<8>, lm::Dense<128>, lm::Centered> net;
    auto Y = net(lm::rand<lm::dyn, 8>(4));
    float m = lm::mean(Y).item();
    std::cout << "Y.mean() = " << m << "\n";
    CHECK(std::abs(m) < 1e-6f);

    // Layers with parameters.
    lm::built<MyDense<3>, 5> dense;
    std::cout << "weight = " << dense.weight << "\nbias = " << dense.bias << "\n";
    CHECK(dense.weight.extents()[0] == 5 && dense.weight.extents()[1] == 3 && dense.bias.extents()[0] == 3);

    auto X = lm::rand<2, 5>();
    lm::tensor out = dense(X);
    std::cout << out << "\n";
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t j = 0; j < 3; ++j) {
            float s = dense.bias(j);
            for (std::size_t k = 0; k < 5; ++k) s += X(b, k) * dense.weight(k, j);
            CHECK(std::abs(out(b, j) - std::max(s, 0.f)) < 1e-5f);
        }

    // Models built from custom layers.
    lm::Sequential<lm::Input<64>, MyDense<8>, MyDense<1>> net2;
    auto Y2 = net2(lm::rand<lm::dyn, 64>(2));
    std::cout << Y2 << "\n" << lm::summary(net2);
    for (float v : Y2) CHECK(v >= 0.f);

    lm::Sequential<lm::Input<64>, MyDense<8>, lm::Dense<3>, CenteredLayer> net3;
    auto Y3 = net3(lm::rand<lm::dyn, 64>(2));
    CHECK(std::abs(lm::mean(Y3).item()) < 1e-6f);
    std::cout << lm::summary(net3);
    lm::for_each_parameter(net3, [](std::string_view name, auto const& p) { std::cout << name << " " << p.shape_str() << "\n"; });
    auto& w = lm::get<"0.weight">(net3);
    CHECK(w.extents()[0] == 64 && w.extents()[1] == 8);
    return 0;
}
