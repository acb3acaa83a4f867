// Element-wise nodes with static broadcasting, their operators and functions.
#pragma once

#include <cmath>

#include "lamina/expr/node.hpp"
#include "lamina/kernels/elementwise.hpp"
#include "lamina/kernels/reduce.hpp"

namespace lamina {

namespace ops {

// Each op works on scalars and on xsimd batches alike, and states its derivative: a unary op
// grad(g, x) = g·f'(x); a binary op grad_a / grad_b(g, a, b) = g·∂f/∂a, g·∂f/∂b. Add and
// subtract are `linear`: their gradients need no operand values.
struct add {
    static constexpr bool linear = true;
    template <class V> V operator()(V a, V b) const noexcept { return a + b; }
};
struct sub {
    static constexpr bool linear = true;
    template <class V> V operator()(V a, V b) const noexcept { return a - b; }
};
struct mul {
    template <class V> V operator()(V a, V b) const noexcept { return a * b; }
    template <class V> static V grad_a(V g, V, V b) noexcept { return g * b; }
    template <class V> static V grad_b(V g, V a, V) noexcept { return g * a; }
};
struct div {
    template <class V> V operator()(V a, V b) const noexcept { return a / b; }
    template <class V> static V grad_a(V g, V, V b) noexcept { return g / b; }
    template <class V> static V grad_b(V g, V a, V b) noexcept { return -(g * a) / (b * b); }
};
// The gradient of maximum's or minimum's operand: all of g where it won, half where the two
// tie (as torch.maximum's and torch.minimum's backward give), none where it lost.
template <class M, class V>
V winner_grad(M won, V g, V a, V b) noexcept {
    return detail::select(won, g, detail::select(a == b, g * V(0.5), V(0)));
}
struct maximum {
    template <class V> V operator()(V a, V b) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return a < b ? b : a;
        else return xsimd::max(a, b);
    }
    template <class V> static V grad_a(V g, V a, V b) noexcept { return winner_grad(a > b, g, a, b); }
    template <class V> static V grad_b(V g, V a, V b) noexcept { return winner_grad(b > a, g, a, b); }
};
struct minimum {
    template <class V> V operator()(V a, V b) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return b < a ? b : a;
        else return xsimd::min(a, b);
    }
    template <class V> static V grad_a(V g, V a, V b) noexcept { return winner_grad(a < b, g, a, b); }
    template <class V> static V grad_b(V g, V a, V b) noexcept { return winner_grad(b < a, g, a, b); }
};
struct neg {
    template <class V> V operator()(V a) const noexcept { return -a; }
    template <class V> static V grad(V g, V) noexcept { return -g; }
};
// relu'(0) = 0, as in PyTorch.
struct relu {
    template <class V> V operator()(V a) const noexcept {
        // NaN stays NaN, as in PyTorch: maxps(0, a) returns its second operand when either is
        // NaN, and the scalar form makes the same comparison.
        if constexpr (std::is_arithmetic_v<V>) return V(0) > a ? V(0) : a;
        else return xsimd::max(V(0), a);
    }
    template <class V> static V grad(V g, V x) noexcept { return detail::select(x > V(0), g, V(0)); }
};
struct exp {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::exp(a);
        else return xsimd::exp(a);
    }
    template <class V> static V grad(V g, V x) noexcept { return g * exp{}(x); }
};
struct log {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::log(a);
        else return xsimd::log(a);
    }
    template <class V> static V grad(V g, V x) noexcept { return g / x; }
};
struct tanh {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::tanh(a);
        else return xsimd::tanh(a);
    }
    template <class V> static V grad(V g, V x) noexcept {
        V const t = tanh{}(x);
        return g * (V(1) - t * t);
    }
};
struct sigmoid {
    template <class V> V operator()(V a) const noexcept {
        using T = detail::scalar_of_t<V>;
        if constexpr (std::is_arithmetic_v<V>) return T(1) / (T(1) + std::exp(-a));
        else return V(T(1)) / (V(T(1)) + xsimd::exp(-a));
    }
    template <class V> static V grad(V g, V x) noexcept {
        V const s = sigmoid{}(x);
        return g * s * (V(1) - s);
    }
};
struct sqrt {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::sqrt(a);
        else return xsimd::sqrt(a);
    }
    template <class V> static V grad(V g, V x) noexcept { return g / (V(2) * sqrt{}(x)); }
};
// abs'(0) = 0, as in PyTorch.
struct abs {
    template <class V> V operator()(V a) const noexcept {
        if constexpr (std::is_arithmetic_v<V>) return std::abs(a);
        else return xsimd::abs(a);
    }
    template <class V> static V grad(V g, V x) noexcept {
        return detail::select(x > V(0), g, detail::select(x < V(0), -g, V(0)));
    }
};
struct square {
    template <class V> V operator()(V a) const noexcept { return a * a; }
    template <class V> static V grad(V g, V x) noexcept { return V(2) * g * x; }
};

}  // namespace ops

namespace detail {

/// g·f'(a) for a unary node f(a): reads the forward child a in place (nothing is stored).
template <class Op, class G, class A>
struct unary_grad : expr_base<unary_grad<Op, G, A>> {
    using value_type = typename A::value_type;
    using shape_type = typename A::shape_type;
    static constexpr int matmuls = 0;
    static constexpr bool fusable = false;
    static constexpr bool flat = G::flat && A::flat;
    G g;
    A const* a;
    unary_grad(G grad, A const& x) : g(std::move(grad)), a(&x) {}
    std::size_t batch() const noexcept { return a->batch(); }
    void prepare(workspace&, auto) noexcept {}
    template <class V, class Ctx>
    V get(Ctx const& c, std::size_t r, std::size_t j) const noexcept {
        return Op::grad(g.template get<V>(c, r, j), a->template get<V>(c, r, j));
    }
};

/// g·∂f/∂a (Side 0) or g·∂f/∂b (Side 1) for a binary node P = f(a, b), in P's shape.
template <class Op, int Side, class G, class P>
struct binary_grad : expr_base<binary_grad<Op, Side, G, P>> {
    using value_type = typename P::value_type;
    using shape_type = typename P::shape_type;
    static constexpr int matmuls = 0;
    static constexpr bool fusable = false;
    static constexpr bool flat = G::flat && P::flat;
    G g;
    P const* p;
    binary_grad(G grad, P const& parent) : g(std::move(grad)), p(&parent) {}
    std::size_t batch() const noexcept { return p->batch(); }
    void prepare(workspace&, auto) noexcept {}
    template <class V, class Ctx>
    V get(Ctx const& c, std::size_t r, std::size_t j) const noexcept {
        V const gv = g.template get<V>(c, r, j);
        V const av = fetch<V, typename P::map_a>(p->a, c, r, j);
        V const bv = fetch<V, typename P::map_b>(p->b, c, r, j);
        if constexpr (Side == 0) return Op::grad_a(gv, av, bv);
        else return Op::grad_b(gv, av, bv);
    }
};

/// g evaluated into the workspace (unless it already sits in memory), as a leaf.
template <class G>
auto settle_grad(G const& g, workspace& ws) {
    using T = typename G::value_type;
    using S = typename G::shape_type;
    if constexpr (in_memory<G>) {
        return leaf<T const, S>(g.data(), g.batch());
    } else {
        T* buf = ws.alloc<T>(S::size(g.batch()));
        kernels::elementwise(g, buf);
        return leaf<T const, S>(buf, g.batch());
    }
}

/// Sends g (in the parent's shape) to child x, which the parent reads through the map M:
/// summed over the axes x is broadcast along.
template <class M, class X, class G>
void send_grad(X const& x, G const& g, workspace& ws) {
    if constexpr (M::identity) {
        x.backprop(g, ws);
    } else {
        using T = typename X::value_type;
        using CS = typename X::shape_type;
        std::size_t const n = CS::size(x.batch());
        T* buf = ws.alloc<T>(n);
        double* scratch = nullptr;
        if constexpr (!kernels::sum_to_in_place<M>) scratch = ws.alloc<double>(n);
        kernels::sum_to<M, CS>(g, buf, x.batch(), scratch);
        x.backprop(leaf<T const, CS>(buf, x.batch()), ws);
    }
}

}  // namespace detail

template <class T, class S, class Tag>
template <class G>
void leaf<T, S, Tag>::backprop(G const& grad, detail::workspace&) const {
    static_assert(std::is_same_v<typename G::shape_type, S>, "lamina: a gradient's shape differs from its leaf's");
    if (g) kernels::elementwise<true>(grad, g);
}

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
    void prepare(detail::workspace& ws, auto defer) { a.prepare(ws, defer); }
    template <class V, class Ctx>
    V get(Ctx const& c, std::size_t r, std::size_t j) const noexcept {
        return Op{}(a.template get<V>(c, r, j));
    }
    bool needs_grad() const noexcept { return a.needs_grad(); }
    template <class G>
    void backprop(G const& g, detail::workspace& ws) const {
        if (a.needs_grad()) a.backprop(detail::unary_grad<Op, G, A>(g, a), ws);
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
    template <bool Defer>
    void prepare(detail::workspace& ws, std::bool_constant<Defer>) {
        a.prepare(ws, std::bool_constant<Defer && A::fusable>{});
        b.prepare(ws, std::bool_constant<Defer && B::fusable>{});
    }
    template <class V, class Ctx>
    V get(Ctx const& c, std::size_t r, std::size_t j) const noexcept {
        // One value subtracted from every element (X - mean(X)) is added negated, which IEEE
        // arithmetic defines as the same: the negation is hoisted out of the loop and the
        // addition reads X straight from memory, where a subtraction needs a load of its own
        // (x86 subtracts its memory operand, never from it).
        if constexpr (std::is_same_v<Op, ops::sub> && SB::static_size == 1)
            return detail::fetch<V, map_a>(a, c, r, j) + -detail::fetch<V, map_b>(b, c, r, j);
        else return Op{}(detail::fetch<V, map_a>(a, c, r, j), detail::fetch<V, map_b>(b, c, r, j));
    }
    template <class F>
    void visit_fused(F&& f) const {
        if constexpr (A::fusable && map_a::identity) a.visit_fused(f);
        else b.visit_fused(f);
    }
    bool needs_grad() const noexcept { return a.needs_grad() || b.needs_grad(); }
    template <class G>
    void backprop(G const& g, detail::workspace& ws) const {
        bool const na = a.needs_grad(), nb = b.needs_grad();
        if constexpr (!detail::in_memory<G>) {
            if (na && nb) return backprop(detail::settle_grad(g, ws), ws);  // compute g once, not twice
        }
        if constexpr (requires { Op::linear; }) {
            if (na) detail::send_grad<map_a>(a, g, ws);
            if (nb) {
                if constexpr (std::is_same_v<Op, ops::add>) detail::send_grad<map_b>(b, g, ws);
                else detail::send_grad<map_b>(b, unary_expr<ops::neg, G>(g), ws);
            }
        } else {
            if (na) detail::send_grad<map_a>(a, detail::binary_grad<Op, 0, G, binary_expr>(g, *this), ws);
            if (nb) detail::send_grad<map_b>(b, detail::binary_grad<Op, 1, G, binary_expr>(g, *this), ws);
        }
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
[[gnu::always_inline]] inline auto operand_expr(X&& x) {
    if constexpr (std::is_arithmetic_v<std::remove_cvref_t<X>>) return scalar<T>(static_cast<T>(x));
    else return as_expr(std::forward<X>(x));
}

// The functions that build expressions (these, the operators, relu, matmul, mean...) are
// always inlined: each only moves its operands into a node. Left out of line (GCC 12 did so
// in a file with four nets), a call kept the whole tree in memory and copied it at every
// level: the seed net at batch 4 took 122 ns a call instead of 68.
template <class Op, class X, class Y>
[[gnu::always_inline]] inline auto make_binary(X&& x, Y&& y) {
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
[[gnu::always_inline]] inline auto operator+(X&& x, Y&& y) {
    return detail::make_binary<ops::add>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
[[gnu::always_inline]] inline auto operator-(X&& x, Y&& y) {
    return detail::make_binary<ops::sub>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
[[gnu::always_inline]] inline auto operator*(X&& x, Y&& y) {
    return detail::make_binary<ops::mul>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
[[gnu::always_inline]] inline auto operator/(X&& x, Y&& y) {
    return detail::make_binary<ops::div>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
[[gnu::always_inline]] inline auto maximum(X&& x, Y&& y) {
    return detail::make_binary<ops::maximum>(std::forward<X>(x), std::forward<Y>(y));
}
template <class X, class Y>
    requires detail::binary_operands<X, Y>
[[gnu::always_inline]] inline auto minimum(X&& x, Y&& y) {
    return detail::make_binary<ops::minimum>(std::forward<X>(x), std::forward<Y>(y));
}

#define LAMINA_UNARY(NAME, OP)                                         \
    template <operand X>                                               \
    [[gnu::always_inline]] inline auto NAME(X&& x) {                   \
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
