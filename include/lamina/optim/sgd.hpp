// Stochastic gradient descent with momentum, Nesterov momentum and weight decay
// (torch.optim.SGD, same update rule).
#pragma once

#include <utility>
#include <vector>

#include "lamina/optim/optimizer.hpp"

namespace lamina::optim {

namespace detail {
/// SGD's update of every listed parameter (buffers[j]: parameter j's momentum buffer, and
/// whether it is new), the same code for every net (see for_blocks).
template <class T>
void sgd_update(std::vector<trainable<T>> const& list, std::pair<T*, bool> const* buffers, T lr, T mu, T wd, T damp,
                bool nesterov) {
    // The scalars by value: referred to, they could be any of the floats each store writes,
    // and the loop would load them again every time instead of running in vectors.
    for_blocks(list, [=, &list](std::size_t j, std::size_t begin, std::size_t end) {
        T* const p = list[j].value.data();
        T const* const g = list[j].grad.data();
        if (mu == T(0)) {
            for (std::size_t k = begin; k < end; ++k) p[k] -= lr * (g[k] + wd * p[k]);
            return;
        }
        auto const [buf, first] = buffers[j];
        for (std::size_t k = begin; k < end; ++k) {
            T const d = g[k] + wd * p[k];
            buf[k] = first ? d : mu * buf[k] + damp * d;
            p[k] -= lr * (nesterov ? d + mu * buf[k] : buf[k]);
        }
    });
}
#if defined(LAMINA_SEPARATE_COMPILATION)  // compiled once, by lamina/src.hpp
extern template void sgd_update<float>(std::vector<trainable<float>> const&, std::pair<float*, bool> const*, float,
                                       float, float, float, bool);
extern template void sgd_update<double>(std::vector<trainable<double>> const&, std::pair<double*, bool> const*, double,
                                        double, double, double, bool);
#endif
}  // namespace detail

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
        bool const nesterov = o_.nesterov;
        auto const& list = detail::list_trainable(*net_, this->trainable_);
        // Each parameter's momentum buffer, made (and its step counted) before the update runs
        // in blocks.
        buffers_.assign(list.size(), {nullptr, false});
        if (mu != T(0))
            for (std::size_t j = 0; j < list.size(); ++j) {
                auto& s = state_.at(list[j].index, list[j].value.size());
                buffers_[j].second = s.steps++ == 0;
            }
        if (mu != T(0))
            for (std::size_t j = 0; j < list.size(); ++j) buffers_[j].first = state_.v[list[j].index].buf[0].data();
        detail::sgd_update<T>(list, buffers_.data(), lr, mu, wd, damp, nesterov);
    }

private:
    std::vector<std::pair<value_type*, bool>> buffers_;  // step()'s: each parameter's buffer, and whether it is new
};

}  // namespace lamina::optim
