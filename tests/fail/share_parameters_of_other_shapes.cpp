// Mistake: sharing a parameter with one of another shape.
// expect: shared parameters need the same shape and value type
// expect-gcc: parameter_of<lamina::variable<float, lamina::shape<4, 2> > >::can_share_one_of<lamina::variable<float, lamina::shape<4, 4> > >
// expect-clang: parameter_of<lamina::variable<float, lamina::shape<4, 2>>>::can_share_one_of<lamina::variable<float, lamina::shape<4, 4>>>
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
    lm::Sequential<lm::Input<4>, lm::Dense<4>, lm::Dense<4>, lm::Dense<2>> net;
#ifdef LAMINA_EXPECT_PASS
    lm::share<"1.weight", "0.weight">(net);
#else
    lm::share<"2.weight", "0.weight">(net);
#endif
}
