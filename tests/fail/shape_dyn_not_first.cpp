// Mistake: a dynamic extent that is not the leading (batch) one.
// expect: only_the_first_extent_may_be_dyn
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
#ifdef LAMINA_EXPECT_PASS
    lm::tensor<float, lm::shape<lm::dyn, 3>> t(2);
#else
    lm::tensor<float, lm::shape<3, lm::dyn>> t;
#endif
    (void)t;
}
