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
#include <vector>

#include <nlohmann/json.hpp>

#include "lamina/error.hpp"
#include "lamina/io/safetensors.hpp"
#include "lamina/serialize.hpp"

namespace lamina {

namespace detail {
inline constexpr std::string_view optimizer_prefix = "optimizer.";
inline constexpr std::string_view meta_optimizer_steps = "optimizer.steps";
}  // namespace detail

/// Saves net's parameters (as save() does, atomically) with opt's state and metadata (user
/// keys, e.g. the epoch; keys that start with "lamina." or "optimizer." are lamina's own).
template <class Net, class Optimizer>
void save_checkpoint(Net& net, Optimizer& opt, std::filesystem::path const& path,
                     std::map<std::string, std::string> metadata = {}) {
    using T = typename Optimizer::value_type;
    for (auto const& [key, value] : metadata)
        if (key.starts_with(detail::optimizer_prefix))
            throw error("lamina::save_checkpoint: " + io::st_detail::quoted_path(path) + ": the metadata key " +
                        io::st_detail::in_quotes(key) + " starts with \"optimizer.\", which is lamina's own");
    save_options o{.metadata = std::move(metadata)};
    nlohmann::json steps = nlohmann::json::object();
    opt.for_each_state([&](std::string_view name, std::size_t& n, auto const& buffers) {
        steps[std::string(name)] = n;
        for (auto const& [buffer, values] : buffers)
            o.tensors.push_back({std::string(detail::optimizer_prefix) + std::string(name) + "." + std::string(buffer),
                                 io::dtype_of<T>, {values.size()},
                                 io::encode(std::span<T const>(values.data(), values.size()), io::dtype_of<T>)});
    });
    o.metadata.emplace(detail::meta_optimizer_steps, steps.dump());
    save(net, path, o);
}

/// Loads a checkpoint written by save_checkpoint into net and opt (of the same types as the
/// saving ones) and returns its metadata. Everything is checked first: a checkpoint that does
/// not fit (another architecture, a parameter or optimizer buffer missing or of another size,
/// a malformed file) throws and leaves net and opt as they were.
template <class Net, class Optimizer>
std::map<std::string, std::string> load_checkpoint(Net& net, Optimizer& opt, std::filesystem::path const& path) {
    using T = typename Optimizer::value_type;
    auto const file = io::read_safetensors(path);
    std::string const where = "lamina::load_checkpoint: " + io::st_detail::quoted_path(path);
    auto const meta = file.metadata().find(std::string(detail::meta_optimizer_steps));
    if (meta == file.metadata().end())
        throw load_error(where + " holds no optimizer state (no \"optimizer.steps\" metadata): it is a model file; load "
                                 "it with lamina::load",
                         {});
    nlohmann::json steps;
    try {
        steps = nlohmann::json::parse(meta->second);
    } catch (nlohmann::json::exception const& e) {
        throw io::format_error(where + " has malformed \"optimizer.steps\" metadata: " + e.what());
    }
    if (!steps.is_object())
        throw io::format_error(where + " has \"optimizer.steps\" metadata that is not an object {parameter: count}");
    // The optimizer's state, read and checked before anything changes.
    struct staged {
        std::string name;
        std::size_t steps;
        std::vector<std::vector<T>> buffers;
    };
    std::vector<staged> state;
    std::size_t expected_tensors = 0;
    opt.for_each_state(
        [&](std::string_view name, std::size_t&, auto const& buffers) {
            auto const s = steps.find(std::string(name));
            if (s == steps.end()) return;  // no state yet when saved
            if (!s->is_number_unsigned())
                throw io::format_error(where + " has a step count for " + io::st_detail::in_quotes(name) +
                                       " that is not a whole number");
            staged& st = state.emplace_back(staged{std::string(name), s->template get<std::size_t>(), {}});
            for (auto const& [buffer, values] : buffers) {
                std::string const key = std::string(detail::optimizer_prefix) + std::string(name) + "." + std::string(buffer);
                auto const* t = file.find(key);
                if (!t || t->element_count() != values.size())
                    throw load_error(where + (t ? " holds " + std::to_string(t->element_count()) + " values" : " has no tensor") +
                                         " for the optimizer's " + io::st_detail::in_quotes(key) + "; expected " +
                                         std::to_string(values.size()) + " (was it saved with another optimizer?)",
                                     {});
                st.buffers.push_back(file.read<T>(*t));
                ++expected_tensors;
            }
        },
        true);
    if (state.size() != steps.size())
        throw load_error(where + " holds optimizer state for " + std::to_string(steps.size()) +
                             " parameters but the net's optimizer has " + std::to_string(state.size()) + " of them",
                         {});
    std::size_t const in_file = static_cast<std::size_t>(std::ranges::count_if(
        file.tensors(), [](auto const& t) { return t.name.starts_with(detail::optimizer_prefix); }));
    if (in_file != expected_tensors)
        throw load_error(where + " holds " + std::to_string(in_file) + " optimizer tensors; this optimizer has " +
                             std::to_string(expected_tensors) + " (was it saved with another optimizer?)",
                         {});
    load(net, file, {.skip_prefix = std::string(detail::optimizer_prefix)});  // strict; the net changes last
    std::size_t k = 0;
    opt.for_each_state([&](std::string_view name, std::size_t& n, auto const& buffers) {
        if (k == state.size() || state[k].name != name) return;
        n = state[k].steps;
        for (std::size_t b = 0; b < buffers.size(); ++b)
            std::copy(state[k].buffers[b].begin(), state[k].buffers[b].end(), buffers[b].second.begin());
        ++k;
    });
    std::map<std::string, std::string> out;
    for (auto const& [key, value] : file.metadata())
        if (!key.starts_with("lamina.") && !key.starts_with(detail::optimizer_prefix)) out.emplace(key, value);
    return out;
}

}  // namespace lamina
