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

/// v.find(c), by index: under g++'s -fsanitize=undefined, string_view::find on a static string
/// is not a constant expression (its null check of a computed pointer is instrumented).
constexpr std::size_t find_char(std::string_view v, char c) {
    for (std::size_t i = 0; i < v.size(); ++i)
        if (v[i] == c) return i;
    return std::string_view::npos;
}

}  // namespace lamina::detail
