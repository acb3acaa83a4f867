// Run-time errors: one base, messages that say what, where and what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace lamina {

/// Every exception lamina throws derives from this.
struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A run-time extent (the batch, or an adapted xtensor's shape) does not match.
struct shape_error : error {
    using error::error;
};

/// A parameter or tensor name that does not exist, or cannot be used as asked.
struct key_error : error {
    using error::error;
};

}  // namespace lamina
