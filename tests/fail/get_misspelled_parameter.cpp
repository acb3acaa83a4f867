// Mistake: a misspelled parameter name.
// expect: layer i has no parameter or member of that name
// expect-gcc: [with L = lamina::built<MyDense<3>, 5, float>; const std::string_view& Path = path_holder<fixed_string<9>{"0.wieght"}>::value
// expect-clang: member_at<lamina::built<MyDense<3>, 5>, lamina::detail::path_holder<{{48, 46, 119, 105, 101, 103, 104, 116, 0}}>::value
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
