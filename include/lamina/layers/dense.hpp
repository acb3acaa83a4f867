// Fully connected layer: Activation(X·weight + bias), weight laid out (in_features, Units).
#pragma once

#include <boost/hana/define_struct.hpp>

#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/matmul.hpp"
#include "lamina/layers/activation.hpp"
#include "lamina/params.hpp"

namespace lamina {

/// Keras' Dense / PyTorch's Linear. The input width is inferred from the layer before it
/// (build<In> is Keras' build(input_shape)); state it with built<Dense<3>, 5>. The parameters
/// take the net's value type T.
template <std::size_t Units, class Activation = Identity>
struct Dense {
    template <std::size_t In, class T = float>
    struct build {
        BOOST_HANA_DEFINE_STRUCT(build,
            (basic_param<T, init::uniform_fan_in, In, Units>, weight),
            (basic_param<T, init::zeros, Units>, bias));

        template <operand X>
        auto operator()(X const& x) const {
            return Activation{}(matmul(x, weight) + bias);
        }
    };
};

}  // namespace lamina
