// A string usable as a template argument: get<"0.weight">(net).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace lamina::detail {

template <std::size_t N>
struct fixed_string {
    char s[N]{};
    constexpr fixed_string(char const (&a)[N]) { std::copy_n(a, N, s); }
    constexpr std::string_view view() const { return {s, N - 1}; }
};

}  // namespace lamina::detail
