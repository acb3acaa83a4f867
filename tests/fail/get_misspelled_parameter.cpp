// Mistake: a misspelled parameter name.
// expect: layer i has no parameter or member of that name; its_members_are<...> lists the names it has
// expect-gcc: layer<0, MyDense<3> >::has_no_member<lamina::chars<'w', 'i', 'e', 'g', 'h', 't'> >::its_members_are<lamina::names<lamina::chars<'w', 'e', 'i', 'g', 'h', 't'>, lamina::chars<'b', 'i', 'a', 's'> > >
// expect-clang: layer<0UL, MyDense<3>>::has_no_member<lamina::chars<'w', 'i', 'e', 'g', 'h', 't'>>::its_members_are<lamina::names<lamina::chars<'w', 'e', 'i', 'g', 'h', 't'>, lamina::chars<'b', 'i', 'a', 's'>>>
#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

int main() {
    lm::Sequential<lm::Input<5>, MyDense<3>> net;
#ifdef LAMINA_EXPECT_PASS
    auto& w = lm::get<"0.weight">(net);
#else
    auto& w = lm::get<"0.wieght">(net);
#endif
    (void)w;
}
