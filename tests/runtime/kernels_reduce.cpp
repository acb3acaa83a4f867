// lamina/kernels/reduce.hpp: sum_all against its scalar twin and a naive loop in double, at
// widths and batches that reach the SIMD body, the tail and both.
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::fill_integers;

namespace {

template <class T, std::size_t N>
void sum_all_at_width() {
    using X = lm::tensor<T, lm::shape<lm::dyn, N>>;
    lm::generator g(N + 1000);
    for (std::size_t B : lamina_test::batches) {
        X x(B);
        fill_integers(x, g, -8, 8);
        auto r = lm::tensor<T, lm::shape<N>>::zeros();
        fill_integers(r, g, -3, 3);
        INFO("batch " << B << ", width " << N);
        double want_flat = 0, want_bcast = 0;
        for (std::size_t i = 0; i < B; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                double const v = x(i, j);
                want_flat += v * 3 + 1;
                want_bcast += v * r(j);
            }
        // Integers: every partial sum is exact, so every order of addition gives the same total.
        auto flat = lm::as_expr(x) * 3 + 1;
        CHECK(lm::kernels::sum_all(flat) == want_flat);
        CHECK(lm::kernels::sum_all_scalar(flat) == want_flat);
        auto bcast = lm::as_expr(x) * r;
        CHECK(lm::kernels::sum_all(bcast) == want_bcast);
        CHECK(lm::kernels::sum_all_scalar(bcast) == want_bcast);

        // Random values: within the bound that any order of addition in T meets.
        auto u = X::randn(B, g);
        double want = 0, mag = 0;
        for (double v : u) {
            want += v;
            mag += std::abs(v);
        }
        double const tol = 2 * double(u.size()) * std::numeric_limits<T>::epsilon() * mag;
        CHECK(std::abs(lm::kernels::sum_all(lm::as_expr(u)) - want) <= tol);
        CHECK(std::abs(lm::kernels::sum_all_scalar(lm::as_expr(u)) - want) <= tol);
    }
}

}  // namespace

TEMPLATE_TEST_CASE("sum_all matches its scalar twin and a double loop at every width and batch", "[kernels]", float,
                   double) {
    lamina_test::for_each_width([]<std::size_t N>() { sum_all_at_width<TestType, N>(); });
}

TEMPLATE_TEST_CASE("sum_all crosses its blocks of 4 x 32 vectors without losing an element", "[kernels]", float, double) {
    using T = TestType;
    for (std::size_t B : {16, 17, 33}) {
        auto x = lm::tensor<T, lm::shape<lm::dyn, 256>>::zeros(B);
        double want = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            x.data()[i] = T(i % 100);
            want += double(i % 100);
        }
        INFO("batch " << B);
        CHECK(lm::kernels::sum_all(lm::as_expr(x)) == want);
        CHECK(lm::kernels::sum_all(lm::as_expr(x) + 0) == want);
    }
}
