// Mistake: the first layer states an input width (5) that the Input (4 features) does not give.
// expect: lamina::Sequential: the first layer expects a different input width than the Input gives
// expect-gcc: layer<0, MyDense<3> >::expects_input_features<5>::but_the_input_has<4>
// expect-clang: layer<0, MyDense<3>>::expects_input_features<5>::but_the_input_has<4>
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

int main() {
#ifdef LAMINA_EXPECT_PASS
    lm::Sequential<lm::Input<5>, lm::built<MyDense<3>, 5>> net;
#else
    lm::Sequential<lm::Input<4>, lm::built<MyDense<3>, 5>> net;
#endif
    (void)net;
}
