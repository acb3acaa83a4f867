// Compile-time unrolled loops: the index is a constant inside the body.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace lamina::detail {

template <std::size_t N, class F>
[[gnu::always_inline]] inline void static_for(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f(std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<N>{});
}

}  // namespace lamina::detail
