// Mistake: calling a net whose samples are vectors (Input<5>) on samples that are 2x5 matrices.
// expect: lamina::Sequential: the input's rank differs from the Input's
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

int main() {
    lm::Sequential<lm::Input<5>, MyDense<3>> net;
#ifdef LAMINA_EXPECT_PASS
    auto Y = net(lm::rand<lm::dyn, 5>(2));
#else
    auto Y = net(lm::rand<lm::dyn, 2, 5>(2));
#endif
    (void)Y;
}
