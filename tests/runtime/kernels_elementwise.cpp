// lamina/kernels/elementwise.hpp: the fused element-wise loop against its scalar twin and a
// naive loop in double, at widths and batches that reach the SIMD body, the tail and both.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::differences;
using lamina_test::fill_integers;

namespace {

template <class T>
constexpr double rtol = std::is_same_v<T, float> ? 4e-6 : 1e-13;

// Runs the fused loop and its scalar twin on one expression.
template <class T, class E>
std::pair<std::vector<T>, std::vector<T>> both_loops(E const& e, std::size_t n) {
    std::vector<T> fused(n, T(-123)), twin(n, T(-456));
    lm::kernels::elementwise(e, fused.data());
    lm::kernels::elementwise_scalar(e, twin.data());
    return {fused, twin};
}

template <class T, std::size_t N>
void elementwise_at_width() {
    using X = lm::tensor<T, lm::shape<lm::dyn, N>>;
    lm::generator g(N);
    for (std::size_t B : lamina_test::batches) {
        X x(B), y(B);
        fill_integers(x, g, -8, 8);
        fill_integers(y, g, 1, 8);
        auto r = lm::tensor<T, lm::shape<N>>::rand(g);
        auto c = lm::tensor<T, lm::shape<lm::dyn, 1>>::randn(B, g);
        std::size_t const n = B * N;
        INFO("batch " << B << ", width " << N);

        // Flat: every operand indexed like the result, or a number.
        auto flat = x * y - x / y + lm::maximum(x, y) * 0.5 + lm::abs(lm::minimum(x, -y)) - lm::relu(-x);
        auto [f1, s1] = both_loops<T>(flat, n);
        std::vector<double> w1(n);
        for (std::size_t i = 0; i < n; ++i) {
            double const a = x.data()[i], b = y.data()[i];
            w1[i] = a * b - a / b + std::max(a, b) * 0.5 + std::abs(std::min(a, -b)) - std::max(-a, 0.0);
        }
        CHECK(differences(f1, s1, 0) == "");  // the same operations in the same order: bit for bit
        CHECK(differences(f1, w1, rtol<T>, rtol<T>) == "");

        // Broadcast: a row and a column around each row of the batch.
        auto bcast = x * r + c - lm::square(c * r);
        auto [f2, s2] = both_loops<T>(bcast, n);
        std::vector<double> w2(n);
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                double const cr = double(c(i, 0)) * r(j);
                w2[i * N + j] = double(x(i, j)) * r(j) + c(i, 0) - cr * cr;
            }
        CHECK(differences(f2, s2, 0) == "");
        CHECK(differences(f2, w2, 8 * rtol<T>, 8 * rtol<T>) == "");

        // Transcendental: xsimd's and the standard library's functions differ by an ulp or two.
        auto tr = lm::exp(x * 0.125) + lm::tanh(y * 0.25) + lm::sigmoid(x) + lm::sqrt(y) + lm::log(y);
        auto [f3, s3] = both_loops<T>(tr, n);
        std::vector<double> w3(n);
        for (std::size_t i = 0; i < n; ++i) {
            double const a = x.data()[i], b = y.data()[i];
            w3[i] = std::exp(a * 0.125) + std::tanh(b * 0.25) + 1 / (1 + std::exp(-a)) + std::sqrt(b) + std::log(b);
        }
        CHECK(differences(f3, s3, 4 * rtol<T>, 4 * rtol<T>) == "");
        CHECK(differences(f3, w3, 4 * rtol<T>, 4 * rtol<T>) == "");
    }
}

}  // namespace

TEMPLATE_TEST_CASE("The fused element-wise loop matches its scalar twin and a double loop at every width and batch",
                   "[kernels]", float, double) {
    lamina_test::for_each_width([]<std::size_t N>() { elementwise_at_width<TestType, N>(); });
}

TEMPLATE_TEST_CASE("The fused element-wise loop crosses its 4096-element blocks without losing an element",
                   "[kernels]", float, double) {
    using T = TestType;
    for (std::size_t B : {16, 17, 33}) {  // 4096, 4352 and 8448 elements
        auto x = lm::tensor<T, lm::shape<lm::dyn, 256>>::zeros(B);
        for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = T(i % 1000);
        auto [fused, twin] = both_loops<T>(lm::as_expr(x) + 1, x.size());
        std::vector<double> want(x.size());
        for (std::size_t i = 0; i < want.size(); ++i) want[i] = double(i % 1000) + 1;
        INFO("batch " << B);
        CHECK(differences(fused, want, 0) == "");
        CHECK(differences(twin, want, 0) == "");
    }
}
