// Mistake: calling a net whose samples are 3x5 matrices on samples that are 4x5 matrices.
// expect: lamina::Sequential: the tensor passed to the net has samples of another shape than its Input's
// expect-gcc: input_expects_samples_of<lamina::shape<3, 5> >::but_the_tensor_passed_has_samples_of<lamina::shape<4, 5> >
// expect-clang: input_expects_samples_of<lamina::shape<3, 5>>::but_the_tensor_passed_has_samples_of<lamina::shape<4, 5>>
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
    lm::Sequential<lm::Input<3, 5>, lm::Centered> net;
#ifdef LAMINA_EXPECT_PASS
    auto Y = net(lm::rand<lm::dyn, 3, 5>(2));
#else
    auto Y = net(lm::rand<lm::dyn, 4, 5>(2));
#endif
    (void)Y;
}
