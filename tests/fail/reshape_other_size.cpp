// Mistake: viewing a (4, 4, 3) weight as a matrix of another element count.
// expect: lamina::reshape: the new shape must hold as many elements as the operand's
// expect-gcc: reshape_of<lamina::shape<4, 4, 3> >::to<lamina::shape<4, 3> >::must_keep_the_element_count
// expect-clang: reshape_of<shape<4, 4, 3>>::to<lamina::shape<4, 3>>::must_keep_the_element_count
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
    lm::param<lm::init::zeros, 4, 4, 3> w;
#ifdef LAMINA_EXPECT_PASS
    auto v = lm::reshape<16, 3>(w);
#else
    auto v = lm::reshape<4, 3>(w);
#endif
    (void)v;
}
