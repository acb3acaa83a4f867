// Mistake: adding a vector of 4 to a batch of 3-feature samples.
// expect: lamina: the operands' shapes cannot be broadcast together
// expect: broadcast<lamina::shape<18446744073709551615, 3>, lamina::shape<4>
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
    lm::tensor<float, lm::shape<lm::dyn, 3>> X(2);
#ifdef LAMINA_EXPECT_PASS
    lm::tensor<float, lm::shape<3>> b;
#else
    lm::tensor<float, lm::shape<4>> b;
#endif
    auto Y = X + b;
    (void)Y;
}
