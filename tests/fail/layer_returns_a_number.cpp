// Mistake: a layer whose forward returns a number (.item()) rather than an expression or tensor.
// expect: lamina::Sequential: a layer cannot be called on what the layer before it produces
// expect-gcc: lamina::layer<0, MeanNormalized>::cannot_be_called<lamina::shape<18446744073709551615, 4> >::on_inputs_of_shape
// expect-clang: layer<0UL, MeanNormalized>::cannot_be_called<lamina::shape<18446744073709551615, 4>>::on_inputs_of_shape
#include <lamina/lamina.hpp>

namespace lm = lamina;

// Divides by the mean of the whole batch.
struct MeanNormalized {
    template <lm::operand X>
    auto operator()(X const& x) const {
#ifdef LAMINA_EXPECT_PASS
        return x / lm::mean(x);
#else
        return lm::mean(x).item();
#endif
    }
};

int main() {
    lm::Sequential<lm::Input<4>, MeanNormalized> net;
    (void)net;
}
