// Mistake: three values for a 2x2 tensor.
// expect: lamina::tensor: the number of values differs from the number of elements of the shape
// expect-gcc: the comparison reduces to '(3 == 4)'
// expect-clang: 'sizeof...(U) == shape<2, 2>::static_size'
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
#ifdef LAMINA_EXPECT_PASS
    lm::tensor<float, lm::shape<2, 2>> t{1, 2, 3, 4};
#else
    lm::tensor<float, lm::shape<2, 2>> t{1, 2, 3};
#endif
    (void)t;
}
