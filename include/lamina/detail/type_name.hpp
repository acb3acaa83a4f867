// The readable name of a type, at compile time, for summaries and messages.
#pragma once

#include <string>
#include <string_view>

namespace lamina::detail {

template <class T>
constexpr std::string_view raw_type_name() {
#if defined(__clang__)
    std::string_view p = __PRETTY_FUNCTION__;  // "... [T = X]"
    auto b = p.find("T = ") + 4;
    return p.substr(b, p.rfind(']') - b);
#else
    std::string_view p = __PRETTY_FUNCTION__;  // "... [with T = X; std::string_view = ...]"
    auto b = p.find("T = ") + 4;
    return p.substr(b, p.find(';', b) - b);
#endif
}

/// A compiler's spelling of a type without `lamina::` qualifiers, with `>>` spelled as clang
/// does and without integer suffixes: one copy for every type (type_name).
inline std::string clean_type_name(std::string_view raw) {
    std::string s(raw);
    for (std::string_view q : {"lamina::", "detail::"})
        for (auto i = s.find(q); i != std::string::npos; i = s.find(q)) s.erase(i, q.size());
    for (auto i = s.find("> >"); i != std::string::npos; i = s.find("> >")) s.erase(i + 1, 1);
    // Integer suffixes ("3ul", "3UL") that one compiler prints and the other does not.
    for (std::size_t i = 1; i + 2 < s.size() + 1; ++i)
        if ((s[i] == 'u' || s[i] == 'U') && s[i - 1] >= '0' && s[i - 1] <= '9')
            while (i < s.size() && (s[i] == 'u' || s[i] == 'U' || s[i] == 'l' || s[i] == 'L'))
                s.erase(i, 1);
    return s;
}

/// The type's readable name, the same with gcc and clang.
template <class T>
std::string type_name() {
    return clean_type_name(raw_type_name<T>());
}

}  // namespace lamina::detail
