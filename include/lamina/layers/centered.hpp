// The chapter's CenteredLayer: X - X.mean(), the mean over every element, batch included.
#pragma once

#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/reduce.hpp"

namespace lamina {

struct Centered {
    template <operand X>
    auto operator()(X const& x) const {
        return x - mean(x);
    }
};

}  // namespace lamina
