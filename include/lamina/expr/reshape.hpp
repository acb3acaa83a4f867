// reshape<E...>(x): the same values in memory seen with another static shape; a gradient sent
// to the view lands in the operand's own gradient.
#pragma once

#include <type_traits>
#include <utility>

#include "lamina/expr/node.hpp"

namespace lamina {

/// Checked at the call: "reshape<from (4, 4, 3)>::to<(16, 3)>::must_keep_the_element_count".
template <class From>
struct reshape_of {
    template <class To>
    struct to {
        static constexpr bool must_keep_the_element_count =
            From::dynamic == To::dynamic &&
            (From::dynamic ? From::inner == To::inner : From::static_size == To::static_size);
    };
};

/// A leaf of shape E... over x's memory (torch's x.view(E...)), x being a tensor, a view or a
/// parameter that outlives the expression. A parameter's view keeps its gradient: matmul(X,
/// reshape<In * In, K>(weight)) trains weight. With a dynamic batch both shapes must have the
/// same per-sample size.
template <std::size_t... E, operand X>
auto reshape(X&& x) {
    static_assert(std::is_lvalue_reference_v<X>,
                  "lamina::reshape: the operand must be a named tensor or parameter (the view does not own it)");
    auto a = as_expr(x);
    using A = decltype(a);
    using SA = typename A::shape_type;
    using S = shape<E...>;
    static_assert(detail::contiguous_leaf<A>, "lamina::reshape: the operand's values must be in memory (a tensor, a view or a parameter)");
    static_assert(reshape_of<SA>::template to<S>::must_keep_the_element_count,
                  "lamina::reshape: the new shape must hold as many elements as the operand's (per sample, with a dynamic batch)");
    std::size_t const batch = S::dynamic ? SA::size(a.batch()) / S::inner : S::batch_of(0);
    typename A::value_type* grad = nullptr;
    if constexpr (requires { a.grad(); }) grad = a.grad();
    return leaf<typename A::value_type const, S, typename A::tag>(a.data(), batch, grad);
}

}  // namespace lamina
