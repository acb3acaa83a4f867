// The chapter's second exercise: "Design a layer that returns the leading half of the Fourier
// coefficients of the data". Asserts its own results.
#include <cmath>
#include <complex>
#include <cstdio>
#include <iostream>
#include <numbers>
#include <vector>

#include <lamina/lamina.hpp>

#include "check.hpp"

namespace lm = lamina;

int main() {
    // The exercise: x = (1, 2, 3, 4, 5, 6, 7, 8) has X_0 = 36 and X_k = -4 + 4i·cot(πk/8):
    // the leading half, k = 0 .. 3, interleaved (re, im), as torch.view_as_real(fft(x)[:4]).
    lm::FourierHalf layer;
    lm::tensor x{1, 2, 3, 4, 5, 6, 7, 8};
    lm::tensor X = layer(x);
    std::cout << X << "\n";
    CHECK(X(0) == 36.f && X(1) == 0.f);
    for (std::size_t k = 1; k < 4; ++k) {
        double const cot = 1 / std::tan(std::numbers::pi * double(k) / 8);
        CHECK(std::abs(X(2 * k) - -4.0) < 1e-5 && std::abs(X(2 * k + 1) - 4 * cot) < 1e-5);
    }
    // A batch of longer signals (the FFT path) against the DFT's definition.
    auto S = lm::rand<lm::dyn, 256>(3);
    lm::tensor F = lm::dft_half(S);
    for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t k = 0; k < 128; k += 17) {
            std::complex<double> want = 0;
            for (std::size_t t = 0; t < 256; ++t) want += double(S(b, t)) * std::polar(1.0, -2 * std::numbers::pi * double(k * t % 256) / 256);
            CHECK(std::abs(F(b, 2 * k) - want.real()) < 1e-3 && std::abs(F(b, 2 * k + 1) - want.imag()) < 1e-3);
        }

    // In a net: which of three frequencies (3, 7 or 12 cycles per 64 samples, random phase and
    // noise) a signal carries. The Fourier layer's output is 64 features for the Dense after it.
    constexpr std::size_t n = 64, B = 192;
    lm::generator gen(2);
    auto signals = lm::tensor<float, lm::shape<lm::dyn, n>>::zeros(B);
    std::vector<std::int32_t> labels(B);
    int const cycles[] = {3, 7, 12};
    for (std::size_t b = 0; b < B; ++b) {
        labels[b] = static_cast<std::int32_t>(b % 3);
        double const phase = gen.uniform(0, 2 * std::numbers::pi);
        for (std::size_t t = 0; t < n; ++t)
            signals(b, t) = float(std::sin(2 * std::numbers::pi * cycles[labels[b]] * double(t) / n + phase) + 0.3 * gen.normal());
    }
    lm::Sequential<lm::Input<n>, lm::FourierHalf, lm::Dense<16, lm::ReLU>, lm::Dense<3>> net;
    net.initialize(gen);
    std::cout << lm::summary(net);
    lm::optim::sgd opt(net, {.lr = 0.01, .momentum = 0.9});
    net.train();
    float first = 0, last = 0;
    double acc = 0;
    for (int step = 1; step <= 30; ++step) {
        auto Y = net(signals);
        last = net.backward(lm::cross_entropy(Y, labels));
        acc = lm::accuracy(Y, labels);
        if (step == 1) first = last;
        opt.step();
        net.zero_grad();
        if (step % 10 == 0) std::printf("step %d: loss %.4f, accuracy %.3f\n", step, last, acc);
    }
    CHECK(last < 0.25f * first);
    CHECK(acc > 0.95);
    return 0;
}
