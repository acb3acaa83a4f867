// Mistake: a layer that only accepts sequences (rank 3: batch, time, features) placed after a
// layer that produces vectors (rank 2: batch, features).
// expect: lamina::Sequential: a layer cannot be called on what the layer before it produces
// expect-gcc: layer<1, TimeMean>::cannot_be_called<lamina::shape<18446744073709551615, 3> >::on_inputs_of_shape
// expect-clang: layer<1UL, TimeMean>::cannot_be_called<lamina::shape<18446744073709551615, 3>>::on_inputs_of_shape
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

// The mean over the time axis of (batch, time, features) sequences.
struct TimeMean {
    template <lm::operand X>
        requires(lm::expr_t<X const&>::shape_type::rank == 3)
    auto operator()(X const& x) const {
        return lm::mean(x, lm::axis<1>);
    }
};

int main() {
#ifdef LAMINA_EXPECT_PASS
    lm::Sequential<lm::Input<4, 5>, MyDense<3>, TimeMean> net;
#else
    lm::Sequential<lm::Input<5>, MyDense<3>, TimeMean> net;
#endif
    (void)net;
}
