// What a layer is, and how a layer with a deferred input width gets built.
#pragma once

#include <cstddef>
#include <type_traits>

#include "lamina/expr/node.hpp"
#include "lamina/shape.hpp"

namespace lamina {

/// Marks the input leaf a Sequential hands each layer.
struct input_tag {};

namespace detail {
// build<In, T> when the layer takes the value type (lamina's Dense does), else build<In>.
template <class L, std::size_t In, class T>
struct build_of {
    using type = typename L::template build<In>;
};
template <class L, std::size_t In, class T>
    requires requires { typename L::template build<In, T>; }
struct build_of<L, In, T> {
    using type = typename L::template build<In, T>;
};
}  // namespace detail

/// A layer whose parameters depend on its input width declares `template <std::size_t In>
/// struct build` (optionally `template <std::size_t In, class T>` to follow the net's value
/// type); this is that layer built for In input features, as Keras' build(input_shape) makes
/// it. Written by hand it states the width: built<MyDense<3>, 5> is MyDense(3, in_units=5).
template <class L, std::size_t In, class T = float>
struct built : detail::build_of<L, In, T>::type {
    using spec = L;
    static constexpr std::size_t in_features = In;
};

/// A layer that waits for its input width: it declares `template <std::size_t In> struct build`
/// or `template <std::size_t In, class T> struct build`. (A built<> layer inherits the name
/// `build` as build<In>'s injected class name, hence `spec`.)
template <class L>
concept deferred_layer = (requires { typename L::template build<1>; } || requires { typename L::template build<1, float>; }) &&
                         !requires { typename L::spec; };

namespace detail {

template <class L, class S, class T>
struct bind_layer {
    using type = L;
};
template <deferred_layer L, class S, class T>
struct bind_layer<L, S, T> {
    using type = built<L, S::cols, T>;
};

template <class L>
struct spec_of {
    using type = L;
};
template <class L>
    requires requires { typename L::spec; }
struct spec_of<L> {
    using type = typename L::spec;
};

}  // namespace detail

/// The concrete layer that sits after a producer of shape S with values of type T (L itself
/// unless deferred).
template <class L, class S, class T = float>
using bind_t = typename detail::bind_layer<L, S, T>::type;

/// The input a Sequential hands to a layer: a leaf of shape S.
template <class T, class S>
using input_leaf = leaf<T const, S, input_tag>;

/// A layer for inputs of shape S: callable on them, giving an expression or a tensor.
template <class L, class S, class T = float>
concept LayerFor = requires(bind_t<L, S, T> const& l, input_leaf<T, S> const& x) {
    { l(x) } -> operand;
};

/// The shape a layer produces from inputs of shape S.
template <class L, class S, class T = float>
using output_shape_t =
    typename decltype(as_expr(std::declval<bind_t<L, S, T> const&>()(std::declval<input_leaf<T, S> const&>())))::shape_type;

}  // namespace lamina
