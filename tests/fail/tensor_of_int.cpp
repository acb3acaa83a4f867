// Mistake: a tensor of int (lamina's tensors hold float or double).
// expect: lamina::tensor: the value type must be float or double
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
#ifdef LAMINA_EXPECT_PASS
    lm::tensor<float, lm::shape<2>> t;
#else
    lm::tensor<int, lm::shape<2>> t;
#endif
    (void)t;
}
