// Reductions: sum and mean over all elements or over one axis.
#pragma once

#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/node.hpp"
#include "lamina/kernels/reduce.hpp"

namespace lamina {

/// Selects an axis; negative counts from the end (axis<-1> is the last).
template <int A>
struct axis_t {};
template <int A>
inline constexpr axis_t<A> axis{};
/// Keeps the reduced axis with extent 1, so the result broadcasts against the input.
inline constexpr struct keepdim_t {
} keepdim{};

namespace ops {
struct sum_op {
    static constexpr bool mean = false;
};
struct mean_op {
    static constexpr bool mean = true;
};
}  // namespace ops

/// A reduction over every element; its value is computed before the consumer's fused loop.
template <class Op, class A>
struct reduce_all : expr_base<reduce_all<Op, A>> {
    using value_type = typename A::value_type;
    using shape_type = shape<>;
    static constexpr int matmuls = A::matmuls;
    static constexpr bool fusable = false;
    static constexpr bool flat = true;
    A a;
    value_type v{};

    explicit reduce_all(A x) : a(std::move(x)) {}
    std::size_t batch() const noexcept { return 1; }
    void prepare(detail::workspace& ws, auto) {
        a.prepare(ws, std::false_type{});
        double s;
        if constexpr (requires { a.known_sum(); }) {  // a layer's GEMM output, summed as it was stored
            s = a.known_sum();
        } else {
            s = kernels::sum_all(a);
        }
        if constexpr (Op::mean) s /= static_cast<double>(A::shape_type::size(a.batch()));
        v = static_cast<value_type>(s);
    }
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t, std::size_t) const noexcept {
        return V(v);
    }
    bool needs_grad() const noexcept { return a.needs_grad(); }
    /// Every element of the operand gets g (over n for the mean: the batch counts too).
    template <class G>
    void backprop(G const& g, detail::workspace& ws) const {
        if (!a.needs_grad()) return;
        value_type gv = g.template get<value_type>(detail::no_ctx{}, 0, 0);
        if constexpr (Op::mean) gv /= static_cast<value_type>(A::shape_type::size(a.batch()));
        a.backprop(broadcast_to<typename A::shape_type, scalar<value_type>>(scalar<value_type>(gv), a.batch()), ws);
    }
};

namespace detail {

template <class S, std::size_t Axis, bool Keep>
struct reduced_shape {
    template <std::size_t... I>
    static auto make(std::index_sequence<I...>) {
        if constexpr (Keep) return shape<(I == Axis ? 1 : S::extents[I])...>{};
        else return shape<S::extents[I < Axis ? I : I + 1]...>{};
    }
    using type = decltype(make(std::make_index_sequence<Keep ? S::rank : S::rank - 1>{}));
};

template <int A>
struct reduction_axis {
    template <std::size_t Rank>
    static constexpr bool exists_for_rank = A < static_cast<int>(Rank) && A >= -static_cast<int>(Rank);
};

template <class S, int A>
constexpr std::size_t normalize_axis() {
    static_assert(reduction_axis<A>::template exists_for_rank<S::rank>,
                  "lamina: the reduction axis is out of range for the operand's rank");
    constexpr int r = static_cast<int>(S::rank);
    return static_cast<std::size_t>(A < 0 ? A + r : (A < r ? A : 0));
}

}  // namespace detail

/// A reduction over one axis; the result lives in the evaluation's workspace.
template <class Op, std::size_t Axis, bool Keep, class A>
struct reduce_axis : expr_base<reduce_axis<Op, Axis, Keep, A>> {
    using value_type = typename A::value_type;
    using SA = typename A::shape_type;
    using shape_type = typename detail::reduced_shape<SA, Axis, Keep>::type;
    static constexpr int matmuls = A::matmuls;
    static constexpr bool fusable = false;
    static constexpr bool flat = true;
    A a;
    value_type* out = nullptr;

    explicit reduce_axis(A x) : a(std::move(x)) {}
    std::size_t batch() const noexcept { return Axis == 0 ? shape_type::batch_of(0) : a.batch(); }
    void prepare(detail::workspace& ws, auto) {
        a.prepare(ws, std::false_type{});
        std::size_t const n = shape_type::size(batch());
        out = ws.alloc<value_type>(n);
        kernels::sum_axis<Axis>(a, out);
        if constexpr (Op::mean) {
            value_type const k = static_cast<value_type>(SA::runtime_extents(a.batch())[Axis]);
            for (std::size_t i = 0; i < n; ++i) out[i] /= k;
        }
    }
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t r, std::size_t j) const noexcept {
        return detail::load<V>(out + r * shape_type::cols + j);
    }
    bool needs_grad() const noexcept { return a.needs_grad(); }
    /// Every element along the axis gets its slot's g (over the axis' length for the mean).
    template <class G>
    void backprop(G const& g, detail::workspace& ws) const {
        if (!a.needs_grad()) return;
        using K = typename detail::reduced_shape<SA, Axis, true>::type;  // g's layout, axis kept as 1
        auto const gm = detail::settle_grad(g, ws);
        broadcast_to<SA, leaf<value_type const, K>> spread(leaf<value_type const, K>(gm.data(), a.batch()), a.batch());
        if constexpr (Op::mean) {
            value_type const k = static_cast<value_type>(SA::runtime_extents(a.batch())[Axis]);
            a.backprop(binary_expr<ops::mul, decltype(spread), scalar<value_type>>(spread, scalar<value_type>(1 / k)), ws);
        } else {
            a.backprop(spread, ws);
        }
    }
};

template <operand X>
[[gnu::always_inline]] inline auto sum(X&& x) {
    auto a = as_expr(std::forward<X>(x));
    return reduce_all<ops::sum_op, decltype(a)>(std::move(a));
}
/// The mean over every element, batch included (torch's X.mean()).
template <operand X>
[[gnu::always_inline]] inline auto mean(X&& x) {
    auto a = as_expr(std::forward<X>(x));
    return reduce_all<ops::mean_op, decltype(a)>(std::move(a));
}
template <operand X, int A>
[[gnu::always_inline]] inline auto sum(X&& x, axis_t<A>) {
    auto a = as_expr(std::forward<X>(x));
    return reduce_axis<ops::sum_op, detail::normalize_axis<typename decltype(a)::shape_type, A>(), false,
                       decltype(a)>(std::move(a));
}
template <operand X, int A>
[[gnu::always_inline]] inline auto sum(X&& x, axis_t<A>, keepdim_t) {
    auto a = as_expr(std::forward<X>(x));
    return reduce_axis<ops::sum_op, detail::normalize_axis<typename decltype(a)::shape_type, A>(), true,
                       decltype(a)>(std::move(a));
}
template <operand X, int A>
[[gnu::always_inline]] inline auto mean(X&& x, axis_t<A>) {
    auto a = as_expr(std::forward<X>(x));
    return reduce_axis<ops::mean_op, detail::normalize_axis<typename decltype(a)::shape_type, A>(), false,
                       decltype(a)>(std::move(a));
}
template <operand X, int A>
[[gnu::always_inline]] inline auto mean(X&& x, axis_t<A>, keepdim_t) {
    auto a = as_expr(std::forward<X>(x));
    return reduce_axis<ops::mean_op, detail::normalize_axis<typename decltype(a)::shape_type, A>(), true,
                       decltype(a)>(std::move(a));
}

}  // namespace lamina
