// Expression nodes: the base, leaves, scalars and the static broadcast index maps.
//
// Every node has value_type, shape_type, batch(), and
//   prepare(ws, defer)      evaluates what must exist before the fused loop (reductions,
//                           a matmul unless `defer`, std::true_type, asks to fuse it as the
//                           loop's producer; std::false_type: everything exists after it);
//   get<V>(ctx, r, j)       the value(s) at row r, column j of the node's own shape, V being
//                           the scalar type or an xsimd batch;
//   matmuls / fusable       how many matmuls the subtree holds, and whether exactly one of
//                           them is reached through element-wise nodes without broadcasting;
//   needs_grad()            whether a gradient can reach a leaf that records one;
//   backprop(g, ws)         after a recorded evaluation: sends the gradient g (an expression of
//                           the node's shape, readable without prepare) on to the children.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

// GCC 12's AVX-512 intrinsics fill the lanes a mask discards with _mm512_undefined_ps() and
// the like, and -Wmaybe-uninitialized reports each inlined use (GCC bug 105593, fixed in 13):
// under -march=native on an AVX-512 machine, a warning for every kernel. Silenced for the
// intrinsics' own lines only, by including them here first (what Highway does).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13 && defined(__AVX512F__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
#include <xsimd/xsimd.hpp>

#include "lamina/detail/pack_cache.hpp"
#include "lamina/detail/workspace.hpp"
#include "lamina/tensor.hpp"

namespace lamina {

/// Marks expression types; gives them evaluation and printing.
template <class D>
struct expr_base {
    using is_lamina_expr = void;
    D const& derived() const noexcept { return static_cast<D const&>(*this); }
    /// Evaluates into a new tensor.
    auto eval() const;
    /// The value of a one-element expression (torch's .item()).
    auto item() const;
    /// Evaluates a one-element expression and sends the gradient 1 back to every leaf that
    /// records one (torch's loss.backward()); returns the value.
    auto backward() const;
};

template <class E>
concept expression = requires { typename std::remove_cvref_t<E>::is_lamina_expr; };

namespace detail {

/// How a kernel holds the expression it evaluates: one made only of pointers and values is
/// copied, so that no store to the output can alias it and what it reads (a pointer, a mean)
/// stays in registers; any other is referred to.
template <class E>
inline constexpr bool held_by_value = std::is_trivially_copyable_v<E>;
template <class E>
using held_t = std::conditional_t<held_by_value<E>, E const, E const&>;

struct no_ctx {};
/// The value a fused matmul hands its consumer expression, while it is still in registers.
template <class V>
struct epi_ctx {
    V acc;
};
template <class C, class V>
inline constexpr bool is_epi_for = false;
template <class V>
inline constexpr bool is_epi_for<epi_ctx<V>, V> = true;

template <class T>
using simd = xsimd::batch<T>;

/// a·b + c rounded once, at every vector width, whatever the compiler contracts: xsimd 8's
/// AVX-512 vectors have no fma of their own (it is a multiply and an add, which GCC contracts
/// and clang 14 does not: every AVX-512 kernel built by clang ran without FMA), and its 4-lane
/// float (2-lane double) vectors of an AVX build are SSE4.2 ones, likewise.
template <class V>
[[gnu::always_inline]] inline V fmadd(V a, V b, V c) {
#if defined(__AVX512F__)
    if constexpr (sizeof(V) == 64 && std::is_same_v<typename V::value_type, float>) return _mm512_fmadd_ps(a, b, c);
    else if constexpr (sizeof(V) == 64 && std::is_same_v<typename V::value_type, double>) return _mm512_fmadd_pd(a, b, c);
    else
#endif
#if defined(__FMA__)
    if constexpr (sizeof(V) == 16 && std::is_same_v<typename V::value_type, float>) return _mm_fmadd_ps(a, b, c);
    else if constexpr (sizeof(V) == 16 && std::is_same_v<typename V::value_type, double>) return _mm_fmadd_pd(a, b, c);
    else
#endif
        return xsimd::fma(a, b, c);
}

template <class V>
struct scalar_of {
    using type = V;
};
template <class T, class A>
struct scalar_of<xsimd::batch<T, A>> {
    using type = T;
};
template <class V>
using scalar_of_t = typename scalar_of<V>::type;

template <class V, class T>
V load(T const* p) {
    if constexpr (std::is_arithmetic_v<V>) return *p;
    else return V::load_unaligned(p);
}
template <class V, class T>
void store(T* p, V v) {
    if constexpr (std::is_arithmetic_v<V>) *p = v;
    else v.store_unaligned(p);
}
/// Lane-wise (or scalar) choice: m ? a : b.
template <class M, class V>
V select(M m, V a, V b) {
    if constexpr (std::is_arithmetic_v<V>) return m ? a : b;
    else return xsimd::select(m, a, b);
}

// How a child of shape C is indexed from its parent of shape P (right-aligned broadcast).
template <class P, class C>
struct bmap {
    static constexpr std::size_t off = P::rank - C::rank;  // C's axis d sits at P's axis d + off
    static constexpr bool identity = [] {
        if (C::rank != P::rank) return false;
        for (std::size_t d = 0; d < C::rank; ++d)
            if (C::extents[d] != P::extents[d]) return false;
        return true;
    }();
    static constexpr bool scalar = C::static_size == 1;
    // Every leading axis of C is 1 (or absent): one row of C serves every row of P.
    static constexpr bool one_row = [] {
        for (std::size_t d = 0; d + 1 < C::rank; ++d)
            if (C::extents[d] != 1) return false;
        return true;
    }();
    static constexpr bool col_bcast = !identity && C::cols == 1 && P::cols != 1;
    // C is P's trailing axes, broadcast over the leading ones: a (T, K) operand over a
    // (batch, T, K) parent, whose row t serves P's rows t, t + T, t + 2T...
    static constexpr bool trailing = [] {
        if (C::rank >= P::rank) return false;
        for (std::size_t d = 0; d < C::rank; ++d)
            if (C::extents[d] != P::extents[d + off]) return false;
        return true;
    }();
    static constexpr bool flat = identity || scalar;

    static std::size_t row(std::size_t r) noexcept {
        if constexpr (identity) return r;
        else if constexpr (scalar || one_row) return 0;
        else {
            // r enumerates P's leading axes; keep the ones C does not broadcast over.
            std::size_t cr = 0, cstride = 1;
            for (std::size_t pd = P::rank - 1; pd-- > 0;) {
                std::size_t pe = pd == 0 && P::dynamic ? r : P::extents[pd];
                std::size_t idx = pd == 0 ? r : r % pe;
                r = pd == 0 ? 0 : r / pe;
                if (pd >= off) {
                    std::size_t ce = C::extents[pd - off];
                    if (ce != 1) cr += idx * cstride;
                    cstride *= (pd - off == 0 && C::dynamic) ? 1 : ce;
                }
            }
            return cr;
        }
    }
    static constexpr std::size_t col(std::size_t j) noexcept { return (identity || C::cols != 1) ? j : 0; }
};

/// Reads child x (mapped by M) at its parent's row r, column j.
template <class V, class M, class X, class Ctx>
[[gnu::always_inline]] inline V fetch(X const& x, Ctx const& c, std::size_t r, std::size_t j) noexcept {
    using T = scalar_of_t<V>;
    // One value for every lane: a column broadcast, or a one-element operand (which must
    // not be read as a whole vector).
    if constexpr ((M::col_bcast || (M::scalar && !M::identity)) && !std::is_arithmetic_v<V>)
        return V(x.template get<T>(c, M::row(r), 0));
    else return x.template get<V>(c, M::row(r), M::col(j));
}

}  // namespace detail

/// A view of contiguous data as an expression. Tag tells inputs from parameters.
template <class T, class S, class Tag = void>
struct leaf : expr_base<leaf<T, S, Tag>> {
    using value_type = std::remove_const_t<T>;
    using shape_type = S;
    using tag = Tag;
    static constexpr int matmuls = 0;
    static constexpr bool fusable = false;
    static constexpr bool flat = true;

    T const* p = nullptr;
    std::size_t b = S::batch_of(0);
    value_type* g = nullptr;  // where backward accumulates this leaf's gradient, if anywhere
    detail::prepacked<value_type> packed;  // a parameter's: its values packed for the GEMM

    leaf() = default;
    leaf(T const* data, std::size_t batch, value_type* grad = nullptr, detail::prepacked<value_type> pk = {})
        : p(data), b(batch), g(grad), packed(pk) {}
    std::size_t batch() const noexcept { return b; }
    T const* data() const noexcept { return p; }
    value_type* grad() const noexcept { return g; }
    void prepare(detail::workspace&, auto) noexcept {}
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t r, std::size_t j) const noexcept {
        return detail::load<V>(p + r * S::cols + j);
    }
    bool needs_grad() const noexcept { return g != nullptr; }
    /// Adds the gradient into g (defined in expr/elementwise.hpp, beside the kernel it runs).
    template <class G>
    void backprop(G const& grad, detail::workspace&) const;
};

/// A leaf that owns its tensor (made from an rvalue tensor, so nothing dangles).
template <class T, class S>
struct owning_leaf : expr_base<owning_leaf<T, S>> {
    using value_type = T;
    using shape_type = S;
    using tag = void;
    static constexpr int matmuls = 0;
    static constexpr bool fusable = false;
    static constexpr bool flat = true;

    tensor<T, S> t;
    explicit owning_leaf(tensor<T, S>&& x) : t(std::move(x)) {}
    std::size_t batch() const noexcept { return t.batch(); }
    T const* data() const noexcept { return t.data(); }
    void prepare(detail::workspace&, auto) noexcept {}
    static constexpr bool needs_grad() noexcept { return false; }
    template <class G>
    void backprop(G const&, detail::workspace&) const noexcept {}
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t r, std::size_t j) const noexcept {
        return detail::load<V>(t.data() + r * S::cols + j);
    }
};

/// A number inside an expression.
template <class T>
struct scalar : expr_base<scalar<T>> {
    using value_type = T;
    using shape_type = shape<>;
    static constexpr int matmuls = 0;
    static constexpr bool fusable = false;
    static constexpr bool flat = true;
    T v;
    explicit scalar(T x) : v(x) {}
    std::size_t batch() const noexcept { return 1; }
    void prepare(detail::workspace&, auto) noexcept {}
    static constexpr bool needs_grad() noexcept { return false; }
    template <class G>
    void backprop(G const&, detail::workspace&) const noexcept {}
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t, std::size_t) const noexcept {
        return V(v);
    }
};

/// A reads as if broadcast to shape S (right-aligned): how a gradient travels back through a
/// reduction. Only gradients are built from it, so it has no gradient of its own.
template <class S, class A>
struct broadcast_to : expr_base<broadcast_to<S, A>> {
    using value_type = typename A::value_type;
    using shape_type = S;
    using map = detail::bmap<S, typename A::shape_type>;
    static constexpr int matmuls = 0;
    static constexpr bool fusable = false;
    static constexpr bool flat = map::flat && A::flat;
    A a;
    std::size_t b;

    broadcast_to(A x, std::size_t batch) : a(std::move(x)), b(S::batch_of(batch)) {}
    std::size_t batch() const noexcept { return b; }
    void prepare(detail::workspace&, auto) noexcept {}
    template <class V, class Ctx>
    V get(Ctx const& c, std::size_t r, std::size_t j) const noexcept {
        return detail::fetch<V, map>(a, c, r, j);
    }
    static constexpr bool needs_grad() noexcept { return false; }
    template <class G>
    void backprop(G const&, detail::workspace&) const noexcept {}
};

namespace detail {

/// e's values in memory: its own if it is a leaf, else evaluated into ws (defined in eval.hpp).
template <class T, class E>
T const* materialize(E& e, workspace& ws);

/// Expressions whose values sit in memory already (leaves): a gradient need not be copied.
template <class E>
concept in_memory = requires(E const& e) { { e.data() }; };

template <class X>
struct is_tensor_like : std::false_type {};
template <class T, class S>
struct is_tensor_like<tensor<T, S>> : std::true_type {};
template <class T, class S>
struct is_tensor_like<tensor_view<T, S>> : std::true_type {};

template <class X>
concept tensor_like = is_tensor_like<std::remove_cvref_t<X>>::value ||
                      requires { typename std::remove_cvref_t<X>::is_lamina_tensor; };

template <class X>
concept contiguous_leaf = requires(X const& x) {
    { x.data() };
    typename X::tag;
};

}  // namespace detail

/// Anything an expression accepts as an operand: expressions, tensors, views, parameters.
template <class X>
concept operand = expression<X> || detail::tensor_like<X>;

/// The expression node for an operand (tensors become leaves; rvalue tensors are moved in).
template <operand X>
[[gnu::always_inline]] inline auto as_expr(X&& x) {
    using D = std::remove_cvref_t<X>;
    if constexpr (expression<D>) return D(std::forward<X>(x));
    else if constexpr (requires { x.as_leaf(); }) return x.as_leaf();
    else if constexpr (detail::is_tensor_like<D>::value && !std::is_lvalue_reference_v<X> &&
                       !std::is_const_v<std::remove_reference_t<X>> &&
                       std::is_same_v<D, tensor<typename D::value_type, typename D::shape_type>>)
        return owning_leaf<typename D::value_type, typename D::shape_type>(std::move(x));
    else
        return leaf<typename D::value_type const, typename D::shape_type>(x.data(), x.batch());
}

template <class X>
using expr_t = decltype(as_expr(std::declval<X>()));

}  // namespace lamina
