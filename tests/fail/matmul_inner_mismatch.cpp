// Mistake: multiplying (2, 7) by (5, 3).
// expect: lamina::matmul: the left operand's last extent must equal the right operand's first
// expect-gcc: lamina::matmul_shapes<lamina::shape<2, 7>, lamina::shape<5, 3> >::left_columns<7>::must_equal_right_rows<5>
// expect-clang: matmul_shapes<shape<2, 7>, shape<5, 3>>::left_columns<7>::must_equal_right_rows<5>
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
    auto X = lm::rand<2, 7>();
#ifdef LAMINA_EXPECT_PASS
    auto W = lm::rand<7, 3>();
#else
    auto W = lm::rand<5, 3>();
#endif
    auto Y = lm::matmul(X, W);
    (void)Y;
}
