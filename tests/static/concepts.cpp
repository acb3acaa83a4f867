// Which types satisfy lamina's concepts: operand, expression, parameter, LayerFor, and the
// deferred layers that wait for their input width.
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"  // the chapter's CenteredLayer and MyDense

namespace lm = lamina;
using lm::dyn;
using lm::shape;

using TX = lm::tensor<float, shape<dyn, 4>>;
using V = lm::tensor_view<float const, shape<dyn, 4>>;
using P = lm::param<lm::init::normal, 4, 3>;
using E = decltype(std::declval<TX const&>() + std::declval<TX const&>());

// Accepts only sequences (batch, time, features).
struct TimeMean {
    template <lm::operand T>
        requires(lm::expr_t<T const&>::shape_type::rank == 3)
    auto operator()(T const& x) const {
        return lm::mean(x, lm::axis<1>);
    }
};
// Returns a tensor rather than an expression: a layer all the same.
struct Evaluated {
    template <lm::operand T>
    auto operator()(T const& x) const {
        return lm::eval(x * 2);
    }
};
struct NotCallable {};

// ---- operand: tensors, views, parameters and expressions, by value or reference.
static_assert(lm::operand<TX> && lm::operand<TX&> && lm::operand<TX const&> && lm::operand<TX&&>);
static_assert(lm::operand<V> && lm::operand<lm::tensor_view<float, shape<2>>>);
static_assert(lm::operand<P> && lm::operand<P const&>);
static_assert(lm::operand<E> && lm::operand<E const&>);
static_assert(lm::operand<lm::leaf<float const, shape<3>>> && lm::operand<lm::scalar<float>>);
static_assert(!lm::operand<float> && !lm::operand<double const&> && !lm::operand<int>);
static_assert(!lm::operand<float*> && !lm::operand<std::vector<float>> && !lm::operand<std::array<float, 4>>);
static_assert(!lm::operand<std::span<float>> && !lm::operand<std::string> && !lm::operand<lm::shape<2, 3>>);

// ---- expression: nodes only; a tensor is an operand but not an expression.
static_assert(lm::expression<E> && lm::expression<E&> && lm::expression<E const&>);
static_assert(lm::expression<decltype(lm::mean(std::declval<TX&>()))>);
static_assert(lm::expression<decltype(lm::matmul(std::declval<TX&>(), std::declval<P&>()))>);
static_assert(lm::expression<lm::leaf<float const, shape<3>>> && lm::expression<lm::owning_leaf<float, shape<3>>>);
static_assert(lm::expression<lm::expr_t<TX&>> && lm::expression<lm::expr_t<P const&>>);
static_assert(!lm::expression<TX> && !lm::expression<V> && !lm::expression<P>);
static_assert(!lm::expression<float> && !lm::expression<std::vector<float>>);

// ---- parameter: declared parameters, not plain tensors.
static_assert(lm::parameter<P> && lm::parameter<P&> && lm::parameter<P const&>);
static_assert(lm::parameter<lm::basic_param<double, lm::init::zeros, 2>>);
static_assert(lm::parameter<decltype(lm::built<lm::Dense<3>, 5>::weight)>);
static_assert(!lm::parameter<lm::tensor<float, shape<4, 3>>> && !lm::parameter<TX>);
static_assert(!lm::parameter<E> && !lm::parameter<float> && !lm::parameter<lm::built<lm::Dense<3>, 5>>);

// ---- LayerFor<L, S>: L (built for S if deferred) can be called on inputs of shape S.
static_assert(lm::LayerFor<lm::Dense<3>, shape<dyn, 5>>);
static_assert(lm::LayerFor<lm::Dense<3>, shape<dyn, 7, 5>>);
static_assert(lm::LayerFor<lm::built<lm::Dense<3>, 5>, shape<dyn, 5>>);
static_assert(lm::LayerFor<MyDense<3>, shape<dyn, 5>> && lm::LayerFor<lm::built<MyDense<3>, 5>, shape<dyn, 5>>);
static_assert(lm::LayerFor<lm::Centered, shape<dyn, 5>> && lm::LayerFor<lm::Centered, shape<2, 3>>);
static_assert(lm::LayerFor<lm::ReLU, shape<dyn, 5>> && lm::LayerFor<lm::Identity, shape<4>>);
static_assert(lm::LayerFor<CenteredLayer, shape<dyn, 5>>);
static_assert(lm::LayerFor<lm::Centered, shape<dyn, 5>, double> && lm::LayerFor<CenteredLayer, shape<dyn, 5>, double>);
static_assert(lm::LayerFor<Evaluated, shape<dyn, 5>>);
static_assert(lm::LayerFor<TimeMean, shape<dyn, 7, 5>>);
static_assert(!lm::LayerFor<TimeMean, shape<dyn, 5>> && !lm::LayerFor<TimeMean, shape<2, 3, 4, 5>>);
static_assert(!lm::LayerFor<NotCallable, shape<dyn, 5>> && !lm::LayerFor<int, shape<dyn, 5>>);

// ---- deferred_layer: waits for its input width. A built<> layer has it and is not deferred
// (though it inherits the name `build`, as build<In>'s injected class name).
static_assert(lm::deferred_layer<lm::Dense<3>> && lm::deferred_layer<MyDense<3>>);
static_assert(!lm::deferred_layer<lm::built<lm::Dense<3>, 5>> && !lm::deferred_layer<lm::built<MyDense<3>, 5>>);
static_assert(!lm::deferred_layer<lm::Centered> && !lm::deferred_layer<CenteredLayer> && !lm::deferred_layer<TimeMean>);

// ---- Shapes and the Input.
static_assert(lm::is_shape<lm::Input<5>::shape_type>::value);
static_assert(std::is_same_v<lm::Input<5>::shape_type, shape<dyn, 5>> && std::is_same_v<lm::Input<5>::value_type, float>);
static_assert(std::is_same_v<lm::Input<4, 6>::shape_type, shape<dyn, 4, 6>>);
static_assert(std::is_same_v<lm::InputOf<shape<2, 3>, double>::shape_type, shape<2, 3>>);

int main() {}
