// Mistake: asking a layer without parameters (layer 0, Centered) for its weight.
// expect: layer i has no parameters (it declares no members with BOOST_HANA_DEFINE_STRUCT)
// expect: has_members<lamina::Centered>
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

int main() {
    lm::Sequential<lm::Input<5>, lm::Centered, MyDense<3>> net;
#ifdef LAMINA_EXPECT_PASS
    auto& w = lm::get<"1.weight">(net);
#else
    auto& w = lm::get<"0.weight">(net);
#endif
    (void)w;
}
