// Mistake: asking for the FFT path on rows whose half is not a power of two (lm::dft_half
// takes any length and picks the path itself).
// expect: lamina::dft_half_fft: the length n of the last axis must be twice a power of two
// expect-gcc: dft_half_of_length<24>::needs_twice_a_power_of_two
// expect-clang: dft_half_of_length<24>::needs_twice_a_power_of_two
#include <lamina/lamina.hpp>

namespace lm = lamina;

int main() {
#ifdef LAMINA_EXPECT_PASS
    auto y = lm::dft_half(lm::rand<lm::dyn, 24>(2)).eval();
#else
    auto y = lm::dft_half_fft(lm::rand<lm::dyn, 24>(2)).eval();
#endif
    (void)y;
}
