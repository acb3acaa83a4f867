// Activations as parameterless layers (PyTorch's nn.ReLU, ...), usable alone or in Dense.
#pragma once

#include "lamina/expr/elementwise.hpp"

namespace lamina {

struct Identity {
    template <operand X>
    auto operator()(X const& x) const {
        return as_expr(x);
    }
};
struct ReLU {
    template <operand X>
    auto operator()(X const& x) const {
        return relu(x);
    }
};
struct Sigmoid {
    template <operand X>
    auto operator()(X const& x) const {
        return sigmoid(x);
    }
};
struct Tanh {
    template <operand X>
    auto operator()(X const& x) const {
        return tanh(x);
    }
};

}  // namespace lamina
