// outer(X): each row's outer product with itself, flattened: (..., N) -> (..., N·N), so that
// Σ_ij W_ijk x_i x_j is one matmul of outer(X) with W viewed as (N·N, K).
#pragma once

#include <cstddef>

#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/node.hpp"
#include "lamina/kernels/outer.hpp"

namespace lamina {

template <class A>
struct outer_expr : expr_base<outer_expr<A>> {
    using value_type = typename A::value_type;
    using SA = typename A::shape_type;
    static_assert(SA::rank >= 1, "lamina::outer: the operand must have rows (a vector or a batch of them)");
    static constexpr std::size_t N = SA::cols;
    using shape_type = concat_t<drop_last_t<SA>, shape<N * N>>;
    static constexpr int matmuls = A::matmuls;
    static constexpr bool fusable = false;
    static constexpr bool flat = false;

    A a;
    value_type const* px = nullptr;  // the operand's values, from prepare on

    explicit outer_expr(A x) : a(std::move(x)) {}
    std::size_t batch() const noexcept { return SA::dynamic ? a.batch() : shape_type::batch_of(0); }
    void prepare(detail::workspace& ws, auto) { px = detail::materialize<value_type>(a, ws); }
    /// P[r, i·N + j] = x[r, i]·x[r, j], computed where it is read: the product is never stored
    /// apart from its consumer's buffer (a matmul's left operand).
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t r, std::size_t j) const noexcept {
        value_type const* x = px + r * N;
        if constexpr (std::is_arithmetic_v<V>) {
            return x[j / N] * x[j % N];
        } else if constexpr (N % V::size == 0) {  // a vector never straddles two values of i
            return V(x[j / N]) * V::load_unaligned(x + j % N);
        } else {
            alignas(64) value_type t[V::size];
            for (std::size_t l = 0; l < V::size; ++l) t[l] = x[(j + l) / N] * x[(j + l) % N];
            return V::load_aligned(t);
        }
    }
    bool needs_grad() const noexcept { return a.needs_grad(); }
    /// dX[r, i] = Σ_j (G[r, i·N + j] + G[r, j·N + i])·x[r, j].
    template <class G>
    void backprop(G const& g, detail::workspace& ws) const {
        if (!a.needs_grad()) return;
        auto const gm = detail::settle_grad(g, ws);
        std::size_t const rows = SA::rows(a.batch());
        value_type* d = ws.alloc<value_type>(SA::size(a.batch()));
        kernels::outer_grad<N>(gm.data(), px, rows, d);
        a.backprop(leaf<value_type const, SA>(d, a.batch()), ws);
    }
};

/// Each row's outer product with itself, flattened row-major: outer(X)[..., i·N + j] =
/// X[..., i]·X[..., j] (torch.einsum('bi,bj->bij', X, X).reshape(B, N * N)).
template <operand X>
auto outer(X&& x) {
    auto a = as_expr(std::forward<X>(x));
    return outer_expr<decltype(a)>(std::move(a));
}

}  // namespace lamina
