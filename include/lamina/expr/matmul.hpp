// matmul(X, W): X (..., K) times W (K, N). When it feeds an element-wise expression of its
// own shape, the GEMM runs that expression in its epilogue (bias, activation, anything).
#pragma once

#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/node.hpp"
#include "lamina/kernels/gemm.hpp"

namespace lamina {

/// Readable rejection: "matmul<left (batch, 7), right (5, 3)>::needs_left_columns<7>::to_equal_right_rows<5>".
template <class Left, class Right>
struct matmul_shapes {
    template <std::size_t K>
    struct left_columns {
        template <std::size_t R>
        static constexpr bool must_equal_right_rows = K == R;
    };
};

template <class A, class B>
struct matmul_expr : expr_base<matmul_expr<A, B>> {
    using value_type = typename A::value_type;
    using SA = typename A::shape_type;
    using SB = typename B::shape_type;
    static_assert(SA::rank >= 2 || (SA::rank == 1 && !SA::dynamic),
                  "lamina::matmul: the left operand must be a static vector (K) or have rows of K");
    static_assert(SB::rank == 2 && !SB::dynamic, "lamina::matmul: the right operand must be a static matrix (K, N)");
    static constexpr std::size_t K = SA::cols;
    static constexpr std::size_t N = SB::extents[SB::rank - 1];
    static constexpr bool right_ok = SB::rank == 2 && !SB::dynamic;  // else one error is enough
    static_assert(matmul_shapes<SA, SB>::template left_columns<K>::template must_equal_right_rows<right_ok ? SB::extents[0] : K>,
                  "lamina::matmul: the left operand's last extent must equal the right operand's first");
    static_assert(std::is_same_v<value_type, typename B::value_type>,
                  "lamina::matmul: both operands must have the same value type");
    using shape_type = concat_t<drop_last_t<SA>, shape<N>>;
    static constexpr int matmuls = A::matmuls + B::matmuls + 1;
    static constexpr bool fusable = matmuls == 1;
    static constexpr bool flat = true;

    A a;
    B b;
    value_type const* pa = nullptr;
    value_type const* pb = nullptr;
    value_type* out = nullptr;
    detail::workspace* ws_ = nullptr;

    matmul_expr(A x, B y) : a(std::move(x)), b(std::move(y)) {}
    std::size_t batch() const noexcept { return shape_type::dynamic ? a.batch() : shape_type::batch_of(0); }
    std::size_t rows() const noexcept { return SA::rows(a.batch()); }

    // Deferred, the GEMM is left to the consumer's loop (run). Not deferred, it runs here into
    // a buffer of its own: only then is this unfused GEMM (identity epilogue) compiled.
    template <bool Defer>
    void prepare(detail::workspace& ws, std::bool_constant<Defer>) {
        ws_ = &ws;
        pa = detail::materialize<value_type>(a, ws);
        pb = detail::materialize<value_type>(b, ws);
        if constexpr (!Defer) {
            out = ws.alloc<value_type>(shape_type::size(batch()));
            kernels::identity_epilogue id;
            run(out, id);
        }
    }
    /// Runs the GEMM into c, passing every tile through epi (see kernels::gemm).
    template <class Epi>
    void run(value_type* c, Epi& epi) const {
        if constexpr (!SA::dynamic && SA::rows(0) * K * N <= kernels::small_gemm_macs)
            kernels::gemm_small<SA::rows(0), K, N>(pa, pb, c, epi);
        else
            kernels::gemm<K, N>(pa, rows(), pb, c, epi, *ws_, false, packed_b());
    }
    /// B's packed copy, when B is a parameter that keeps one.
    detail::prepacked<value_type> packed_b() const noexcept {
        if constexpr (requires { b.packed; }) return b.packed;
        else return {};
    }
    template <class V, class Ctx>
    V get(Ctx const& c, std::size_t r, std::size_t j) const noexcept {
        if constexpr (detail::is_epi_for<Ctx, V>) return c.acc;
        else return detail::load<V>(out + r * N + j);
    }
    bool needs_grad() const noexcept { return a.needs_grad() || b.needs_grad(); }
    /// dA = G·Bᵀ and dB = Aᵀ·G, each only if wanted; a leaf's gradient is accumulated in place.
    template <class G>
    void backprop(G const& g, detail::workspace& ws) const {
        bool const na = a.needs_grad(), nb = b.needs_grad();
        if (!na && !nb) return;
        auto const gm = detail::settle_grad(g, ws);
        std::size_t const m = rows();
        if (nb) {
            send_product(b, ws, [&](value_type* dst, bool acc) { kernels::gemm_tn<K, N>(pa, m, gm.data(), dst, ws, acc); });
        }
        if (na) {
            send_product(a, ws, [&](value_type* dst, bool acc) { kernels::gemm_nt<K, N>(gm.data(), m, pb, dst, ws, acc); });
        }
    }

private:
    // Runs product(dst, accumulate): straight into a leaf's gradient, else into the workspace
    // and on to the child.
    template <class X, class F>
    static void send_product(X const& x, detail::workspace& ws, F&& product) {
        if constexpr (requires { x.grad(); }) {
            product(x.grad(), true);
        } else {
            using S = typename X::shape_type;
            value_type* buf = ws.alloc<value_type>(S::size(x.batch()));
            product(buf, false);
            x.backprop(leaf<value_type const, S>(buf, x.batch()), ws);
        }
    }

public:
    template <class F>
    void visit_fused(F&& f) const {
        f(*this);
    }
};

/// Matrix product of X (..., K) and W (K, N) (torch.matmul for a 2-D right operand).
template <operand X, operand Y>
[[gnu::always_inline]] inline auto matmul(X&& x, Y&& y) {
    auto a = as_expr(std::forward<X>(x));
    auto b = as_expr(std::forward<Y>(y));
    return matmul_expr<decltype(a), decltype(b)>(std::move(a), std::move(b));
}

}  // namespace lamina
