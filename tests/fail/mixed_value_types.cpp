// Mistake: adding a float tensor and a double tensor (lamina does not promote silently).
// expect: lamina: both operands of an element-wise operation must have the same value type
// expect: is_same_v<float, double>
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
    auto X = lm::rand<2, 3>();
#ifdef LAMINA_EXPECT_PASS
    lm::tensor<float, lm::shape<2, 3>> D;
#else
    lm::tensor<double, lm::shape<2, 3>> D;
#endif
    auto Y = X + D;
    (void)Y;
}
