// Mistake: calling a float32 net on a tensor of doubles.
// expect: lamina::Sequential: the input's value type differs from the Input's
// expect: is_same_v<double, float>
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

int main() {
    lm::Sequential<lm::Input<5>, MyDense<3>> net;
#ifdef LAMINA_EXPECT_PASS
    lm::tensor<float, lm::shape<lm::dyn, 5>> X(2);
#else
    lm::tensor<double, lm::shape<lm::dyn, 5>> X(2);
#endif
    auto Y = net(X);
    (void)Y;
}
