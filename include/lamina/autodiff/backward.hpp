// Reverse mode over expression nodes: evaluate while recording, then send a gradient back.
#pragma once

#include <type_traits>

#include "lamina/autodiff/variable.hpp"
#include "lamina/expr/eval.hpp"

namespace lamina {

/// Evaluates e, then sends `upstream` (dL/de, in e's shape) back through it: every leaf that
/// records a gradient (variables, parameters) adds its share. Returns e's value.
template <expression E, operand G>
auto backward(E e, G&& upstream) {
    using T = typename E::value_type;
    using S = typename E::shape_type;
    auto u = as_expr(std::forward<G>(upstream));
    static_assert(std::is_same_v<typename decltype(u)::shape_type, S>,
                  "lamina::backward: the upstream gradient's shape differs from the expression's");
    if (u.batch() != e.batch())
        throw shape_error("lamina::backward: the upstream gradient holds " + std::to_string(u.batch()) +
                          " samples but the expression has " + std::to_string(e.batch()));
    detail::workspace ws;
    ws.recording = true;
    auto value = tensor<T, S>::zeros(e.batch());
    detail::evaluate<detail::eval_mode::record>(e, value.data(), ws);
    if constexpr (detail::in_memory<decltype(u)>) {
        e.backprop(u, ws);
    } else {
        tensor<T, S> g(u);
        e.backprop(as_expr(g), ws);
    }
    return value;
}

/// loss.backward() for a one-element expression: the upstream gradient is 1.
template <expression E>
auto backward(E e) {
    using T = typename E::value_type;
    using S = typename E::shape_type;
    static_assert(S::static_size == 1, "lamina::backward: without an upstream gradient the expression must have one element");
    return backward(std::move(e), tensor<T, S>::ones());
}

template <class D>
auto expr_base<D>::backward() const {
    return lamina::backward(derived()).item();
}

}  // namespace lamina
