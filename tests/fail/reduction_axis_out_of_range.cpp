// Mistake: reducing over axis 2 of a matrix (axes 0 and 1, or -1 and -2).
// expect: lamina: the reduction axis is out of range for the operand's rank
// expect-gcc: normalize_axis() [with S = lamina::shape<2, 3>; int A = 2
// expect-clang: normalize_axis<lamina::shape<2, 3>, 2>
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
    auto X = lm::rand<2, 3>();
#ifdef LAMINA_EXPECT_PASS
    auto Y = lm::mean(X, lm::axis<1>);
#else
    auto Y = lm::mean(X, lm::axis<2>);
#endif
    (void)Y;
}
