// Mistake: a layer written for 5 input features (it states in_features) after a layer that
// produces 7.
// expect: lamina::Sequential: a layer expects a different input width than the layer before it produces
// expect-gcc: layer<1, Linear5To3>::expects_input_features<5>::but_layer<0, lamina::Dense<7> >::produces<7>
// expect-clang: layer<1UL, Linear5To3>::expects_input_features<5UL>::but_layer<0, lamina::Dense<7, lamina::Identity>>::produces<7>
#include <lamina/lamina.hpp>

namespace lm = lamina;

// A layer whose width is fixed, not inferred: it states it, so that a Sequential checks it.
struct Linear5To3 {
    static constexpr std::size_t in_features = 5;
    BOOST_HANA_DEFINE_STRUCT(Linear5To3,
        (lm::param<lm::init::normal, 5, 3>, weight),
        (lm::param<lm::init::zeros, 3>, bias));

    auto operator()(auto const& X) const { return lm::matmul(X, weight) + bias; }
};

int main() {
#ifdef LAMINA_EXPECT_PASS
    lm::Sequential<lm::Input<8>, lm::Dense<5>, Linear5To3> net;
#else
    lm::Sequential<lm::Input<8>, lm::Dense<7>, Linear5To3> net;
#endif
    auto Y = net(lm::rand<lm::dyn, 8>(2));
    (void)Y;
}
