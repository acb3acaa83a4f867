// The chapter's first exercise: "Design a layer that takes an input and computes a tensor
// reduction, i.e., it returns y_k = Σ_ij W_ijk x_i x_j". Asserts its own results.
#include <cmath>
#include <cstdio>
#include <iostream>

#include <lamina/lamina.hpp>

#include "check.hpp"

namespace lm = lamina;

int main() {
    lm::manual_seed(0);

    // The exercise: W (5, 5, 3) built for 5 inputs; y_k for a batch of 2, against the formula.
    lm::built<lm::TensorReduction<3>, 5> layer;
    auto X = lm::rand<lm::dyn, 5>(2);
    lm::tensor Y = layer(X);
    std::cout << "y = " << Y << "\n";
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t k = 0; k < 3; ++k) {
            double y = 0;
            for (std::size_t i = 0; i < 5; ++i)
                for (std::size_t j = 0; j < 5; ++j) y += double(layer.weight(i, j, k)) * X(b, i) * X(b, j);
            CHECK(std::abs(Y(b, k) - y) < 1e-5);
        }

    // In a net, its input width inferred; trained to fit y = x0·x1 - x2² + 0.5·x3·x2 with
    // no backward written: the gradients flow through outer(X) and the GEMM.
    lm::generator gen(1);
    auto Xt = lm::randn<lm::dyn, 4>(256, gen);
    auto target = lm::tensor<float, lm::shape<lm::dyn, 1>>::zeros(256);
    for (std::size_t b = 0; b < 256; ++b)
        target(b, 0) = Xt(b, 0) * Xt(b, 1) - Xt(b, 2) * Xt(b, 2) + 0.5f * Xt(b, 3) * Xt(b, 2);

    lm::Sequential<lm::Input<4>, lm::TensorReduction<8>, lm::Dense<1>> net;
    net.initialize(gen);
    std::cout << lm::summary(net);
    lm::for_each_parameter(net, [](std::string_view name, auto const& p) { std::cout << name << " " << p.shape_str() << "\n"; });
    CHECK(lm::get<"0.weight">(net).extents()[0] == 4 && lm::get<"0.weight">(net).extents()[2] == 8);

    lm::optim::adam opt(net, {.lr = 0.01});
    net.train();
    float first = 0, last = 0;
    for (int step = 1; step <= 200; ++step) {
        auto Yt = net(Xt);
        last = net.backward(lm::mse_loss(Yt, target));
        if (step == 1) first = last;
        opt.step();
        net.zero_grad();
        if (step % 50 == 0) std::printf("step %d: mse %.5f\n", step, last);
    }
    CHECK(last < 0.05f * first);
    return 0;
}
