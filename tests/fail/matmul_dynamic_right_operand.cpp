// Mistake: a right operand with a dynamic batch: the weight of a matmul must be a static matrix.
// expect: lamina::matmul: the right operand must be a static matrix (K, N)
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
    auto X = lm::rand<2, 4>();
#ifdef LAMINA_EXPECT_PASS
    auto W = lm::rand<4, 3>();
#else
    auto W = lm::rand<lm::dyn, 3>(4);
#endif
    auto Y = lm::matmul(X, W);
    (void)Y;
}
