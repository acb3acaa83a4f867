// Stochastic gradient descent with momentum, Nesterov momentum and weight decay
// (torch.optim.SGD, same update rule).
#pragma once

#include "lamina/optim/optimizer.hpp"

namespace lamina::optim {

struct sgd_options {
    double lr = 0.01;
    double momentum = 0;
    double dampening = 0;
    double weight_decay = 0;  // L2: adds weight_decay·p to the gradient
    bool nesterov = false;
};

template <class Net>
class sgd : public detail::optimizer_base<Net, sgd_options, 1> {
    using base = detail::optimizer_base<Net, sgd_options, 1>;
    using base::net_, base::o_, base::state_;

public:
    using typename base::value_type;
    sgd(Net& net, sgd_options o) : base(net, o, {"momentum_buffer"}) {
        if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
            throw error("lamina::optim::sgd: Nesterov momentum needs a momentum > 0 and zero dampening");
    }

    /// One update of every trainable parameter from its gradient.
    void step() {
        using T = value_type;
        T const lr = static_cast<T>(o_.lr), mu = static_cast<T>(o_.momentum), wd = static_cast<T>(o_.weight_decay),
                damp = static_cast<T>(1 - o_.dampening);
        detail::list_trainable(*net_, this->trainable_);
        for (auto const& [i, p, g] : this->trainable_) {
            std::size_t const n = p.size();
            if (mu == T(0)) {
                for (std::size_t k = 0; k < n; ++k) p[k] -= lr * (g[k] + wd * p[k]);
                continue;
            }
            auto& s = state_.at(i, n);
            bool const first = s.steps++ == 0;
            std::span<T> buf = s.buf[0];
            for (std::size_t k = 0; k < n; ++k) {
                T const d = g[k] + wd * p[k];
                buf[k] = first ? d : mu * buf[k] + damp * d;
                p[k] -= lr * (o_.nesterov ? d + mu * buf[k] : buf[k]);
            }
        }
    }
};

}  // namespace lamina::optim
