// Mistake: storing an expression of shape (2, 4) in a tensor of shape (2, 3).
// expect: lamina::tensor: the expression's shape differs from the tensor's
// expect: holds_shape<lamina::shape<2, 3>, lamina::shape<2, 4>
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
    auto X = lm::rand<2, 4>();
#ifdef LAMINA_EXPECT_PASS
    lm::tensor<float, lm::shape<2, 4>> Y = X + X;
#else
    lm::tensor<float, lm::shape<2, 3>> Y = X + X;
#endif
    (void)Y;
}
