// Checkpoints: a training run's parameters and optimizer state in one safetensors file, so that a
// resumed run continues exactly where it stopped (PyTorch's torch.save({"model": ..., "optimizer":
// ...}) as one atomic file).
//   lamina::save_checkpoint(net, opt, "run.safetensors", {{"epoch", "3"}});
//   auto meta = lamina::load_checkpoint(net, opt, "run.safetensors");
// The parameters sit under their own names, as save() writes them, so a checkpoint also loads
// as a model (load(net, path, {.skip_prefix = "optimizer."})); the optimizer's buffers sit under
// "optimizer.<parameter>.<buffer>" (torch's buffer names: momentum_buffer, exp_avg, exp_avg_sq)
// and its step counts in the metadata "optimizer.steps" ({parameter: count}).
// Not included by lamina.hpp (see serialize.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "lamina/detail/config.hpp"
#include "lamina/error.hpp"
#include "lamina/io/safetensors.hpp"
#include "lamina/serialize.hpp"

namespace lamina {

namespace detail {
inline constexpr std::string_view optimizer_prefix = "optimizer.";
inline constexpr std::string_view meta_optimizer_steps = "optimizer.steps";

/// One parameter's optimizer state, its type erased (see param_entry): the checkpoint code below
/// compiles once per value type, not once per optimizer and net.
// The value types of the checkpoint code (compiled once for both by lamina/src.hpp under
// LAMINA_SEPARATE_COMPILATION): those of lamina's parameters.
template <class T>
inline constexpr bool checkpoint_value = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <class T>
struct optimizer_state {
    std::string name;
    std::size_t* steps;
    std::vector<std::pair<std::string_view, std::span<T>>> buffers;
};

template <class T, class Optimizer>
std::vector<optimizer_state<T>> state_of(Optimizer& opt, bool create) {
    // Made first, so that no entry moves while the list points into them.
    if (create) opt.for_each_state([](std::string_view, std::size_t&, auto const&) {}, true);
    std::vector<optimizer_state<T>> out;
    opt.for_each_state([&](std::string_view name, std::size_t& n, auto const& bufs) {
        out.push_back({std::string(name), &n, {bufs.begin(), bufs.end()}});
    });
    return out;
}

// The tensors and metadata save_checkpoint adds to save()'s.
template <class T>
save_options checkpoint_options(std::vector<optimizer_state<T>> const& state, std::filesystem::path const& path,
                                std::map<std::string, std::string> metadata);

// The optimizer's state in a checkpoint, read and checked against the optimizer's before
// anything changes: per parameter with a state, its step count and buffers.
template <class T>
std::vector<std::pair<std::size_t, std::vector<std::vector<T>>>> read_state(io::safetensors_file const& file,
                                                                               std::string const& where,
                                                                               std::vector<optimizer_state<T>>& state);

LAMINA_DECL std::map<std::string, std::string> user_metadata(io::safetensors_file const& file);
}  // namespace detail

/// Saves net's parameters (as save() does, atomically) with opt's state and metadata (user
/// keys, e.g. the epoch; keys that start with "lamina." or "optimizer." are lamina's own).
template <class Net, class Optimizer>
void save_checkpoint(Net& net, Optimizer& opt, std::filesystem::path const& path,
                     std::map<std::string, std::string> metadata = {}) {
    using T = typename Optimizer::value_type;
    static_assert(detail::checkpoint_value<T>, "lamina::save_checkpoint: the optimizer's values are float or double");
    save(net, path, detail::checkpoint_options(detail::state_of<T>(opt, false), path, std::move(metadata)));
}

/// Loads a checkpoint written by save_checkpoint into net and opt (of the same types as the
/// saving ones) and returns its metadata. Everything is checked first: a checkpoint that does
/// not fit (another architecture, a parameter or optimizer buffer missing or of another size,
/// a malformed file) throws and leaves net and opt as they were.
template <class Net, class Optimizer>
std::map<std::string, std::string> load_checkpoint(Net& net, Optimizer& opt, std::filesystem::path const& path) {
    using T = typename Optimizer::value_type;
    static_assert(detail::checkpoint_value<T>, "lamina::load_checkpoint: the optimizer's values are float or double");
    auto const file = io::read_safetensors(path);
    auto state = detail::state_of<T>(opt, true);
    auto const staged = detail::read_state(file, "lamina::load_checkpoint: " + io::st_detail::quoted_path(path), state);
    load(net, file, {.skip_prefix = std::string(detail::optimizer_prefix)});  // strict; the net changes last
    for (std::size_t i = 0; i < state.size(); ++i) {
        if (!state[i].steps) continue;
        *state[i].steps = staged[i].first;
        for (std::size_t b = 0; b < state[i].buffers.size(); ++b)
            std::copy(staged[i].second[b].begin(), staged[i].second[b].end(), state[i].buffers[b].second.begin());
    }
    return detail::user_metadata(file);
}

}  // namespace lamina

#if !defined(LAMINA_SEPARATE_COMPILATION)
#include "lamina/impl/checkpoint.ipp"
#endif
