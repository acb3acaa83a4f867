// Adam and AdamW (torch.optim.Adam / AdamW, same update rules).
#pragma once

#include <cmath>
#include <vector>

#include "lamina/optim/optimizer.hpp"

namespace lamina::optim {

struct adam_options {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;  // Adam: L2 added to the gradient; AdamW: decoupled decay
};

namespace detail {

/// A parameter's moments and its step's bias corrections, for adam_update.
template <class T>
struct adam_moments {
    T *m, *v;
    T step, root_c2;
};

/// Adam's (Decoupled: AdamW's) update of every listed parameter, the same code for every net
/// (see for_blocks).
template <class T, bool Decoupled>
void adam_update(std::vector<trainable<T>> const& list, adam_moments<T> const* moments, T b1, T b2, T eps, T wd,
                 T decay) {
    // The scalars by value (see sgd_update).
    for_blocks(list, [=, &list](std::size_t j, std::size_t begin, std::size_t end) {
        T* const p = list[j].value.data();
        T const* const g = list[j].grad.data();
        auto const [m, v, step, root_c2] = moments[j];
        for (std::size_t k = begin; k < end; ++k) {
            T d = g[k];
            if constexpr (Decoupled) p[k] *= decay;
            else d += wd * p[k];
            m[k] = b1 * m[k] + (1 - b1) * d;
            v[k] = b2 * v[k] + (1 - b2) * d * d;
            p[k] -= step * m[k] / (std::sqrt(v[k]) / root_c2 + eps);
        }
    });
}
#if defined(LAMINA_SEPARATE_COMPILATION)  // compiled once, by lamina/src.hpp
#define LAMINA_ADAM_UPDATE(T, D)                                                                                 \
    extern template void adam_update<T, D>(std::vector<trainable<T>> const&, adam_moments<T> const*, T, T, T, T, T);
LAMINA_ADAM_UPDATE(float, false)
LAMINA_ADAM_UPDATE(float, true)
LAMINA_ADAM_UPDATE(double, false)
LAMINA_ADAM_UPDATE(double, true)
#undef LAMINA_ADAM_UPDATE
#endif

template <class Net, bool Decoupled>
class adam_impl : public optimizer_base<Net, adam_options, 2> {
    using base = optimizer_base<Net, adam_options, 2>;
    using base::net_, base::o_, base::state_;

public:
    using typename base::value_type;
    adam_impl(Net& net, adam_options o) : base(net, o, {"exp_avg", "exp_avg_sq"}) {}

    void step() {
        using T = value_type;
        T const b1 = static_cast<T>(o_.beta1), b2 = static_cast<T>(o_.beta2), eps = static_cast<T>(o_.eps);
        T const wd = static_cast<T>(o_.weight_decay), decay = static_cast<T>(1 - o_.lr * o_.weight_decay);
        auto const& list = detail::list_trainable(*net_, this->trainable_);
        // Each parameter's moments and bias corrections, worked out before the update runs in
        // blocks.
        moments_.resize(list.size());
        for (std::size_t j = 0; j < list.size(); ++j) {
            auto& s = state_.at(list[j].index, list[j].value.size());
            auto const t = static_cast<double>(++s.steps);  // bias corrections count this parameter's steps
            moments_[j].step = static_cast<T>(o_.lr / (1 - std::pow(o_.beta1, t)));
            moments_[j].root_c2 = static_cast<T>(std::sqrt(1 - std::pow(o_.beta2, t)));
        }
        for (std::size_t j = 0; j < list.size(); ++j) {
            auto& s = state_.v[list[j].index];
            moments_[j].m = s.buf[0].data();
            moments_[j].v = s.buf[1].data();
        }
        adam_update<T, Decoupled>(list, moments_.data(), b1, b2, eps, wd, decay);
    }

private:
    std::vector<adam_moments<value_type>> moments_;  // step()'s, per parameter
};

}  // namespace detail

/// Adam: weight decay as an L2 term in the gradient.
template <class Net>
class adam : public detail::adam_impl<Net, false> {
    using detail::adam_impl<Net, false>::adam_impl;
};
template <class Net>
adam(Net&, adam_options) -> adam<Net>;

/// AdamW: weight decay applied to the parameters directly (defaults as torch: 0.01).
template <class Net>
class adamw : public detail::adam_impl<Net, true> {
public:
    adamw(Net& net, adam_options o = {.weight_decay = 0.01}) : detail::adam_impl<Net, true>(net, o) {}
};
template <class Net>
adamw(Net&, adam_options) -> adamw<Net>;

}  // namespace lamina::optim
