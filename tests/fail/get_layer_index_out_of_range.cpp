// Mistake: naming a parameter of layer 5 in a net of one layer.
// expect: i must be the index of a layer in the Sequential
// expect-gcc: (5 < 1)
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

int main() {
    lm::Sequential<lm::Input<5>, MyDense<3>> net;
#ifdef LAMINA_EXPECT_PASS
    auto& w = lm::get<"0.weight">(net);
#else
    auto& w = lm::get<"5.weight">(net);
#endif
    (void)w;
}
