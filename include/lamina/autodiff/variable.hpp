// A tensor that records the gradient flowing into it (torch's requires_grad=True).
#pragma once

#include <utility>

#include "lamina/detail/pack_cache.hpp"
#include "lamina/expr/node.hpp"
#include "lamina/tensor.hpp"

namespace lamina {

/// Marks the leaves of tensors that record a gradient.
struct variable_tag {};

/// A tensor with a gradient of its shape beside it. In an expression it is a leaf through
/// which backward() accumulates into grad(); with requires_grad(false) it is a constant.
template <class T, class S>
class variable : public tensor<T, S> {
public:
    using tensor_type = tensor<T, S>;
    using tensor_type::tensor_type;
    variable() = default;
    variable(tensor_type t) : tensor_type(std::move(t)) {}

    /// dL/d(this), summed over every backward() since the last zero_grad().
    tensor_type& grad() noexcept { return sync_grad(); }
    tensor_type const& grad() const noexcept { return sync_grad(); }
    void zero_grad() noexcept { sync_grad().fill(T(0)); }

    bool requires_grad() const noexcept { return requires_grad_; }
    /// false: a constant (a frozen parameter); backward() leaves it and its gradient alone.
    void requires_grad(bool on) noexcept { requires_grad_ = on; }

    /// Uses owner's values and gradient from now on: one storage, and every use's gradient
    /// summed into it (PyTorch's reuse of one Parameter, Gluon's share_parameters).
    void share(variable& owner) noexcept
        requires(!S::dynamic)
    {
        this->borrow(owner);
        grad_.borrow(owner.grad_);
        requires_grad_ = owner.requires_grad_;
    }

    /// A frozen variable (requires_grad(false)) also brings the copy of its values that a GEMM
    /// keeps packed between calls (detail::pack_cache); a trainable one, whose values an
    /// optimizer or a gradient check may change at any time, is packed per call.
    auto as_leaf() const noexcept {
        using L = leaf<T const, S, variable_tag>;
        if (requires_grad_) return L(this->data(), this->batch(), sync_grad().data());
        return L(this->data(), this->batch(), nullptr, {&pack_, this->stamp()});
    }
    /// The copy of the values that the GEMM packed, if any (for tests).
    detail::pack_cache<T> const& packed_copy() const noexcept { return pack_; }

private:
    // The gradient follows the value's batch (a dynamic batch may be resized).
    tensor_type& sync_grad() const noexcept {
        if constexpr (S::dynamic)
            if (grad_.batch() != this->batch()) grad_ = tensor_type(this->batch());
        return grad_;
    }
    // mutable: expressions see a variable as const (a layer's forward is const), yet backward
    // writes its gradient.
    mutable tensor_type grad_ = tensor_type();
    // mutable: a forward call keeps the values packed here while they do not change.
    mutable detail::pack_cache<T> pack_;
    bool requires_grad_ = true;
};

template <class T, class S>
variable(tensor<T, S>) -> variable<T, S>;

}  // namespace lamina
