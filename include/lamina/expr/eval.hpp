// Evaluation: picks the fused path (GEMM with the expression as epilogue) or the fused
// element-wise loop, after the reductions the expression needs.
#pragma once

#include <ostream>

#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/matmul.hpp"
#include "lamina/expr/reduce.hpp"
#include "lamina/kernels/elementwise.hpp"

namespace lamina {

namespace detail {

template <class E>
struct fused_epilogue {
    E const& e;
    template <class V>
    [[gnu::always_inline]] V operator()(std::size_t r, std::size_t j, V acc) const {
        return e.template get<V>(epi_ctx<V>{acc}, r, j);
    }
};

/// out = e. `e` is prepared here, so it must not have been prepared before. While ws is
/// recording, e keeps what its backward pass reads, until ws is reset.
template <class E, class T>
void evaluate(E& e, T* out, workspace& ws) {
    if constexpr (E::fusable) {
        if (!ws.recording) {
            e.prepare(ws, true);
            fused_epilogue<E> epi{e};
            e.visit_fused([&](auto const& mm) { mm.run(out, epi); });
            return;
        }
    }
    e.prepare(ws, false);
    kernels::elementwise(e, out);
}

template <class T, class E>
T const* materialize(E& e, workspace& ws) {
    if constexpr (requires { e.data(); }) {
        return e.data();
    } else {
        T* buf = ws.alloc<T>(E::shape_type::size(e.batch()));
        evaluate(e, buf, ws);
        return buf;
    }
}

}  // namespace detail

/// Evaluates `e` into `out`, using `ws` for intermediates (no allocation once ws is warm).
template <class T, class S, expression E>
void assign(tensor_view<T, S> out, E e, detail::workspace& ws) {
    static_assert(std::is_same_v<S, typename E::shape_type>, "lamina::assign: the target's shape differs from the expression's");
    if (out.batch() != e.batch())
        throw shape_error("lamina::assign: the target holds " + std::to_string(out.batch()) +
                          " samples but the expression has " + std::to_string(e.batch()));
    ws.reset();
    detail::evaluate(e, out.data(), ws);
    ws.settle();
}

/// Evaluates an expression into a new tensor.
template <expression E>
auto eval(E const& e) {
    return tensor<typename E::value_type, typename E::shape_type>(e);
}

template <class T, class S>
template <class E>
    requires requires { typename std::remove_cvref_t<E>::is_lamina_expr; }
tensor<T, S>::tensor(E const& e) : tensor(uninit{}, e.batch()) {
    static_assert(std::is_same_v<S, typename E::shape_type>,
                  "lamina::tensor: the expression's shape differs from the tensor's");
    static_assert(std::is_same_v<T, typename E::value_type>,
                  "lamina::tensor: the expression's value type differs from the tensor's");
    detail::workspace ws;
    E copy = e;
    detail::evaluate(copy, data(), ws);
}

template <class D>
auto expr_base<D>::eval() const {
    return lamina::eval(derived());
}
template <class D>
auto expr_base<D>::item() const {
    return lamina::eval(derived()).item();
}

template <expression E>
std::ostream& operator<<(std::ostream& os, E const& e) {
    return os << lamina::eval(e);
}

}  // namespace lamina
