// Mistake: calling a net whose Input fixes the batch at 4 on a tensor of 2 samples.
// expect: lamina::Sequential: the tensor passed to the net has another batch than the net's fixed one
// expect: input_has_a_fixed_batch_of<4>::but_the_tensor_passed_has<2>
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

int main() {
    lm::Sequential<lm::Input<5>::batch<4>, MyDense<3>> net;
#ifdef LAMINA_EXPECT_PASS
    auto Y = net(lm::rand<4, 5>());
#else
    auto Y = net(lm::rand<2, 5>());
#endif
    (void)Y;
}
