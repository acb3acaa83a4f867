// What every optimizer shares: the walk over a net's trainable parameters, each with its
// own state.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lamina/detail/thread_pool.hpp"
#include "lamina/params.hpp"

namespace lamina::optim {

namespace detail {

/// A trainable parameter as an update sees it: its place in the walk (frozen ones keep
/// theirs, so state stays attached when they thaw), its values and its gradient.
template <class T>
struct trainable {
    std::size_t index;
    std::span<T> value;
    std::span<T const> grad;
};

/// Every parameter that requires a gradient, listed into out (cleared first). The update then
/// loops over the list: its code compiles once, not once per parameter type.
template <class T, class Net>
std::vector<trainable<T>> const& list_trainable(Net& net, std::vector<trainable<T>>& out) {
    out.clear();
    std::size_t i = 0;
    lamina::for_each_parameter(net, [&](std::string_view, auto& p) {
        if (p.requires_grad()) out.push_back({i, std::span<T>(p.data(), p.size()), std::span<T const>(p.grad().data(), p.size())});
        ++i;
    });
    return out;
}

/// Calls f(j, begin, end) over [0, list[j].value.size()) for every j, in blocks of values: on
/// lamina's threads (set_num_threads) when there are several and the net has enough values,
/// else in order on this one. An update is element-wise, so neither the blocks nor the threads
/// change a bit of the result. (On Fashion-MNIST's 784-256-128-10 net, SGD with momentum
/// streams 2.8 MB per step from memory: one core's bandwidth, 10 % of a two-thread epoch.)
template <class T, class F>
void for_blocks(std::vector<trainable<T>> const& list, F&& f) {
    constexpr std::size_t block = std::size_t{1} << 14, parallel_min = std::size_t{1} << 16;
    std::size_t total = 0, blocks = 0;
    for (auto const& t : list) {
        total += t.value.size();
        blocks += (t.value.size() + block - 1) / block;
    }
    if (lamina::detail::num_threads() == 1 || total < parallel_min) {
        for (std::size_t j = 0; j < list.size(); ++j) f(j, std::size_t{0}, list[j].value.size());
        return;
    }
    lamina::detail::parallel_for(blocks, [&](std::size_t b) {
        std::size_t j = 0;
        for (std::size_t nb; b >= (nb = (list[j].value.size() + block - 1) / block); ++j) b -= nb;  // a few parameters
        f(j, b * block, std::min(list[j].value.size(), (b + 1) * block));
    });
}

/// Each parameter's own state, made on first use: K buffers of its size (momentum, moments)
/// and its own step count (a parameter thawed later starts at step 1, as in PyTorch).
template <class T, std::size_t K>
struct per_parameter {
    struct entry {
        std::array<std::vector<T>, K> buf;
        std::size_t steps = 0;
    };
    std::vector<entry> v;
    entry& at(std::size_t i, std::size_t n) {
        if (v.size() <= i) v.resize(i + 1);
        for (auto& b : v[i].buf)
            if (b.size() != n) b.assign(n, T(0));
        return v[i];
    }
};

/// What every optimizer offers besides step(): its net, its options, its learning rate, and
/// each parameter's state (K buffers named by Names, and a step count) by parameter name.
template <class Net, class Options, std::size_t K>
class optimizer_base {
public:
    using value_type = typename Net::value_type;
    void zero_grad() { net_->zero_grad(); }
    double lr() const noexcept { return o_.lr; }
    /// Sets the learning rate (what a schedule does between epochs).
    void lr(double v) noexcept { o_.lr = v; }
    Options const& options() const noexcept { return o_; }

    /// Each parameter's state, by name, as torch's optimizer.state_dict()["state"]: calls
    /// f(name, steps, buffers) with steps a std::size_t& and buffers K pairs (torch's buffer
    /// name, std::span<value_type> of the parameter's size), for every parameter that has a
    /// state, or, with create, for every parameter (a state made now starts empty: what
    /// loading a saved one writes into). Writing through them changes the optimizer.
    template <class F>
    void for_each_state(F&& f, bool create = false) {
        std::vector<std::pair<std::string, std::size_t>> params;
        lamina::for_each_parameter(*net_, [&](std::string_view name, auto& p) { params.emplace_back(name, p.size()); });
        std::array<std::pair<std::string_view, std::span<value_type>>, K> bufs;
        for (std::size_t i = 0; i < params.size(); ++i) {
            auto const& [name, size] = params[i];
            if (create) state_.at(i, size);
            if (i < state_.v.size() && (K == 0 || state_.v[i].buf[0].size() == size)) {
                auto& e = state_.v[i];
                for (std::size_t k = 0; k < K; ++k) bufs[k] = {names_[k], e.buf[k]};
                f(std::string_view(name), e.steps, bufs);
            }
        }
    }

protected:
    optimizer_base(Net& net, Options o, std::array<std::string_view, K> names) : net_(&net), o_(o), names_(names) {}
    Net* net_;
    Options o_;
    per_parameter<value_type, K> state_;
    std::vector<trainable<value_type>> trainable_;  // step()'s list, kept to reuse its memory

private:
    std::array<std::string_view, K> names_;
};

}  // namespace detail

}  // namespace lamina::optim
