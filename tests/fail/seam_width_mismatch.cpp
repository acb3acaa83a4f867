// Mistake: a layer that states its input width (MyDense(3, in_units=5)) placed after a layer
// that produces 7 features.
// expect: lamina::Sequential: a layer expects a different input width than the layer before it produces
// expect-gcc: layer<1, MyDense<3> >::expects_input_features<5>::but_layer<0, MyDense<7> >::produces<7>
// expect-clang: layer<1UL, MyDense<3>>::expects_input_features<5UL>::but_layer<0, MyDense<7>>::produces<7>
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

int main() {
#ifdef LAMINA_EXPECT_PASS
    lm::Sequential<lm::Input<8>, MyDense<7>, lm::built<MyDense<3>, 7>> net;
#else
    lm::Sequential<lm::Input<8>, MyDense<7>, lm::built<MyDense<3>, 5>> net;
#endif
    (void)net;
}
