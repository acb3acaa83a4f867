// Mistake: calling a net built for 5 input features on samples of 7 features.
// expect: lamina::Sequential: the tensor passed to the net has a different width than its first layer expects
// expect-gcc: layer<0, MyDense<3> >::expects_input_features<5>::but_the_input_has<7>
// expect-clang: layer<0, MyDense<3>>::expects_input_features<5>::but_the_input_has<7>
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

int main() {
    lm::Sequential<lm::Input<5>, MyDense<3>> net;
#ifdef LAMINA_EXPECT_PASS
    auto Y = net(lm::rand<lm::dyn, 5>(2));
#else
    auto Y = net(lm::rand<lm::dyn, 7>(2));
#endif
    (void)Y;
}
