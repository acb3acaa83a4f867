// A program outside lamina's tree, built against an installed or embedded lamina by the
// packaging tests (pkg-config, CMake find_package, meson subproject). Exits non-zero on failure.
#include <cmath>
#include <cstdio>

#include <lamina/lamina.hpp>

namespace lm = lamina;

// A custom layer without parameters: no base class, just a forward over expressions.
struct MyCentered {
    auto operator()(auto const& X) const { return X - lm::mean(X); }
};

int main() {
    lm::manual_seed(0);
    lm::Sequential<lm::Input<4>, lm::Dense<3>, MyCentered> net;
    auto Y = net(lm::rand<lm::dyn, 4>(2));
    float const m = lm::mean(Y).item();
    std::printf("consumer: output mean = %g\n", static_cast<double>(m));
    if (!(std::abs(m) < 1e-6f)) {
        std::fprintf(stderr, "consumer: FAILED: |mean| = %g, expected ~0\n", static_cast<double>(std::abs(m)));
        return 1;
    }
    std::puts("consumer: ok");
    return 0;
}
