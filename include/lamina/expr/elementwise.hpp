// Element-wise nodes with static broadcasting, their operators and functions.
#pragma once

#include <cmath>

#include "lamina/expr/node.hpp"

namespace lamina {

namespace ops {

// Each op works on scalars and on xsimd batches alike.
struct add {
    template <class V> V operator()(V a, V b) const noexcept { return a + b; }
};
struct sub {
    template <class V> V operator()(V a, V b) const noexcept { return a - b; }
};
struct mul {
    template <class V> V operator()(V a, V b) const noexcept { return a * b; }
};
struct div {
    template <class V> V operator()(V a, V b) const noexcept { return a / b; }
};
struct maximum {
    template <class V> V operator()(V a, V b) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return a < b ? b : a;
        else return xsimd::max(a, b);
    }
};
struct minimum {
    template <class V> V operator()(V a, V b) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return b < a ? b : a;
        else return xsimd::min(a, b);
    }
};
struct neg {
    template <class V> V operator()(V a) const noexcept { return -a; }
};
struct relu {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return a < V(0) ? V(0) : a;
        else return xsimd::max(a, V(0));
    }
};
struct exp {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::exp(a);
        else return xsimd::exp(a);
    }
};
struct log {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::log(a);
        else return xsimd::log(a);
    }
};
struct tanh {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::tanh(a);
        else return xsimd::tanh(a);
    }
};
struct sigmoid {
    template <class V> V operator()(V a) const noexcept {
        using T = detail::scalar_of_t<V>;
        if constexpr (std::is_arithmetic_v<V>) return T(1) / (T(1) + std::exp(-a));
        else return V(T(1)) / (V(T(1)) + xsimd::exp(-a));
    }
};
struct sqrt {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::sqrt(a);
        else return xsimd::sqrt(a);
    }
};
struct abs {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::abs(a);
        else return xsimd::abs(a);
    }
};
struct square {
    template <class V> V operator()(V a) const noexcept { return a * a; }
};

}  // namespace ops

template <class Op, class A>
struct unary_expr : expr_base<unary_expr<Op, A>> {
    using value_type = typename A::value_type;
    using shape_type = typename A::shape_type;
    static constexpr int matmuls = A::matmuls;
    static constexpr bool fusable = A::fusable;
    static constexpr bool flat = A::flat;
    A a;

    explicit unary_expr(A x) : a(std::move(x)) {}
    std::size_t batch() const noexcept { return a.batch(); }
    void prepare(detail::workspace& ws, bool defer) { a.prepare(ws, defer); }
    template <class V, class Ctx>
    V get(Ctx const& c, std::size_t r, std::size_t j) const noexcept {
        return Op{}(a.template get<V>(c, r, j));
    }
    template <class F>
    void visit_fused(F&& f) const {
        a.visit_fused(f);
    }
};

namespace detail {

template <class S>
constexpr bool dynamic_at_front_of(std::size_t result_rank) {
    return S::dynamic && S::rank == result_rank;
}

}  // namespace detail

template <class Op, class A, class B>
struct binary_expr : expr_base<binary_expr<Op, A, B>> {
    using value_type = typename A::value_type;
    using SA = typename A::shape_type;
    using SB = typename B::shape_type;
    static_assert(std::is_same_v<typename A::value_type, typename B::value_type>,
                  "lamina: both operands of an element-wise operation must have the same value type");
    static_assert(detail::broadcast<SA, SB>::ok,
                  "lamina: the operands' shapes cannot be broadcast together (each trailing extent must "
                  "match or be 1, and a dynamic batch meets only a dynamic batch or 1)");
    using shape_type = broadcast_t<SA, SB>;
    using map_a = detail::bmap<shape_type, SA>;
    using map_b = detail::bmap<shape_type, SB>;
    static constexpr int matmuls = A::matmuls + B::matmuls;
    static constexpr bool fusable =
        matmuls == 1 && ((A::fusable && map_a::identity) || (B::fusable && map_b::identity));
    static constexpr bool flat = map_a::flat && map_b::flat && A::flat && B::flat;
    A a;
    B b;

    binary_expr(A x, B y) : a(std::move(x)), b(std::move(y)) {
        if constexpr (detail::dynamic_at_front_of<SA>(shape_type::rank) &&
                      detail::dynamic_at_front_of<SB>(shape_type::rank))
            if (a.batch() != b.batch())
                throw shape_error("lamina: element-wise operation on batches of " + std::to_string(a.batch()) +
                                  " and " + std::to_string(b.batch()) + " samples");
    }
    std::size_t batch() const noexcept {
        if constexpr (detail::dynamic_at_front_of<SA>(shape_type::rank)) return a.batch();
        else if constexpr (detail::dynamic_at_front_of<SB>(shape_type::rank)) return b.batch();
        else return shape_type::batch_of(0);
    }
    void prepare(detail::workspace& ws, bool defer) {
        a.prepare(ws, defer && A::fusable);
        b.prepare(ws, defer && B::fusable);
    }
    template <class V, class Ctx>
    V get(Ctx const& c, std::size_t r, std::size_t j) const noexcept {
        return Op{}(fetch<V, map_a>(a, c, r, j), fetch<V, map_b>(b, c, r, j));
    }
    template <class F>
    void visit_fused(F&& f) const {
        if constexpr (A::fusable && map_a::identity) a.visit_fused(f);
        else b.visit_fused(f);
    }

private:
    template <class V, class M, class X, class Ctx>
    static V fetch(X const& x, Ctx const& c, std::size_t r, std::size_t j) noexcept {
        using T = detail::scalar_of_t<V>;
        // One value for every lane: a column broadcast, or a one-element operand (which must
        // not be read as a whole vector).
        if constexpr ((M::col_bcast || (M::scalar && !M::identity)) && !std::is_arithmetic_v<V>)
            return V(x.template get<T>(c, M::row(r), 0));
        else return x.template get<V>(c, M::row(r), M::col(j));
    }
};

namespace detail {

template <class X, class Y>
struct value_of_pair {
    using type = typename expr_t<X>::value_type;
};
template <class X, class Y>
    requires std::is_arithmetic_v<std::remove_cvref_t<X>>
struct value_of_pair<X, Y> {
    using type = typename expr_t<Y>::value_type;
};

template <class X, class T>
auto operand_expr(X&& x) {
    if constexpr (std::is_arithmetic_v<std::remove_cvref_t<X>>) return scalar<T>(static_cast<T>(x));
    else return as_expr(std::forward<X>(x));
}

template <class Op, class X, class Y>
auto make_binary(X&& x, Y&& y) {
    using T = typename value_of_pair<X, Y>::type;
    auto a = operand_expr<X, T>(std::forward<X>(x));
    auto b = operand_expr<Y, T>(std::forward<Y>(y));
    return binary_expr<Op, decltype(a), decltype(b)>(std::move(a), std::move(b));
}

template <class X, class Y>
concept binary_operands = (operand<X> && operand<Y>) || (operand<X> && std::is_arithmetic_v<std::remove_cvref_t<Y>>) ||
                          (std::is_arithmetic_v<std::remove_cvref_t<X>> && operand<Y>);

}  // namespace detail

// Written out rather than generated by a macro: a rejected operation's error then shows no
// macro expansion notes.
template <class X, class Y>
    requires detail::binary_operands<X, Y>
auto operator+(X&& x, Y&& y) {
    return detail::make_binary<ops::add>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
auto operator-(X&& x, Y&& y) {
    return detail::make_binary<ops::sub>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
auto operator*(X&& x, Y&& y) {
    return detail::make_binary<ops::mul>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
auto operator/(X&& x, Y&& y) {
    return detail::make_binary<ops::div>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
auto maximum(X&& x, Y&& y) {
    return detail::make_binary<ops::maximum>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
auto minimum(X&& x, Y&& y) {
    return detail::make_binary<ops::minimum>(std::forward<X>(x), std::forward<Y>(y));
}

#define LAMINA_UNARY(NAME, OP)                                         \
    template <operand X>                                               \
    auto NAME(X&& x) {                                                 \
        auto a = as_expr(std::forward<X>(x));                          \
        return unary_expr<OP, decltype(a)>(std::move(a));              \
    }
LAMINA_UNARY(operator-, ops::neg)
LAMINA_UNARY(relu, ops::relu)
LAMINA_UNARY(exp, ops::exp)
LAMINA_UNARY(log, ops::log)
LAMINA_UNARY(tanh, ops::tanh)
LAMINA_UNARY(sigmoid, ops::sigmoid)
LAMINA_UNARY(sqrt, ops::sqrt)
LAMINA_UNARY(abs, ops::abs)
LAMINA_UNARY(square, ops::square)
#undef LAMINA_UNARY

}  // namespace lamina
