// Expression nodes: the base, leaves, scalars and the static broadcast index maps.
//
// Every node has value_type, shape_type, batch(), and
//   prepare(ws, defer)      evaluates what must exist before the fused loop (reductions,
//                           a matmul unless `defer` asks to fuse it as the loop's producer);
//   get<V>(ctx, r, j)       the value(s) at row r, column j of the node's own shape, V being
//                           the scalar type or an xsimd batch;
//   matmuls / fusable       how many matmuls the subtree holds, and whether exactly one of
//                           them is reached through element-wise nodes without broadcasting.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

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
};

template <class E>
concept expression = requires { typename std::remove_cvref_t<E>::is_lamina_expr; };

namespace detail {

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

    leaf() = default;
    leaf(T const* data, std::size_t batch) : p(data), b(batch) {}
    std::size_t batch() const noexcept { return b; }
    T const* data() const noexcept { return p; }
    void prepare(detail::workspace&, bool) noexcept {}
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t r, std::size_t j) const noexcept {
        return detail::load<V>(p + r * S::cols + j);
    }
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
    void prepare(detail::workspace&, bool) noexcept {}
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
    void prepare(detail::workspace&, bool) noexcept {}
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t, std::size_t) const noexcept {
        return V(v);
    }
};

namespace detail {

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
auto as_expr(X&& x) {
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
