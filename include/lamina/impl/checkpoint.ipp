// The definitions of checkpoint.hpp that need no net or optimizer type: included by that header,
// or compiled once (for float and double) by lamina/src.hpp under LAMINA_SEPARATE_COMPILATION.
#pragma once

#include <nlohmann/json.hpp>

#include "lamina/checkpoint.hpp"

namespace lamina::detail {

template <class T>
save_options checkpoint_options(std::vector<optimizer_state<T>> const& state, std::filesystem::path const& path,
                                std::map<std::string, std::string> metadata) {
    for (auto const& [key, value] : metadata)
        if (key.starts_with(optimizer_prefix))
            throw error("lamina::save_checkpoint: " + io::st_detail::quoted_path(path) + ": the metadata key " +
                        io::st_detail::in_quotes(key) + " starts with \"optimizer.\", which is lamina's own");
    save_options o{.metadata = std::move(metadata)};
    nlohmann::json steps = nlohmann::json::object();
    for (auto const& st : state) {
        steps[st.name] = *st.steps;
        for (auto const& [buffer, values] : st.buffers)
            o.tensors.push_back({std::string(optimizer_prefix) + st.name + "." + std::string(buffer), io::dtype_of<T>,
                                 {values.size()}, io::encode(std::span<T const>(values.data(), values.size()), io::dtype_of<T>)});
    }
    o.metadata.emplace(meta_optimizer_steps, steps.dump());
    return o;
}

template <class T>
std::vector<std::pair<std::size_t, std::vector<std::vector<T>>>> read_state(io::safetensors_file const& file,
                                                                               std::string const& where,
                                                                               std::vector<optimizer_state<T>>& state) {
    auto const meta = file.metadata().find(std::string(meta_optimizer_steps));
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
    std::vector<std::pair<std::size_t, std::vector<std::vector<T>>>> staged(state.size());
    std::size_t expected_tensors = 0, with_state = 0;
    for (std::size_t i = 0; i < state.size(); ++i) {
        auto const s = steps.find(state[i].name);
        if (s == steps.end()) {  // no state yet when saved
            state[i].steps = nullptr;
            continue;
        }
        if (!s->is_number_unsigned())
            throw io::format_error(where + " has a step count for " + io::st_detail::in_quotes(state[i].name) +
                                   " that is not a whole number");
        ++with_state;
        staged[i].first = s->template get<std::size_t>();
        for (auto const& [buffer, values] : state[i].buffers) {
            std::string const key = std::string(optimizer_prefix) + state[i].name + "." + std::string(buffer);
            auto const* t = file.find(key);
            if (!t || t->element_count() != values.size())
                throw load_error(where + (t ? " holds " + std::to_string(t->element_count()) + " values" : " has no tensor") +
                                     " for the optimizer's " + io::st_detail::in_quotes(key) + "; expected " +
                                     std::to_string(values.size()) + " (was it saved with another optimizer?)",
                                 {});
            staged[i].second.push_back(file.read<T>(*t));
            ++expected_tensors;
        }
    }
    if (with_state != steps.size())
        throw load_error(where + " holds optimizer state for " + std::to_string(steps.size()) +
                             " parameters but the net's optimizer has " + std::to_string(with_state) + " of them",
                         {});
    std::size_t const in_file = static_cast<std::size_t>(
        std::ranges::count_if(file.tensors(), [](auto const& t) { return t.name.starts_with(optimizer_prefix); }));
    if (in_file != expected_tensors)
        throw load_error(where + " holds " + std::to_string(in_file) + " optimizer tensors; this optimizer has " +
                             std::to_string(expected_tensors) + " (was it saved with another optimizer?)",
                         {});
    return staged;
}

LAMINA_DECL std::map<std::string, std::string> user_metadata(io::safetensors_file const& file) {
    std::map<std::string, std::string> out;
    for (auto const& [key, value] : file.metadata())
        if (!key.starts_with("lamina.") && !key.starts_with(optimizer_prefix)) out.emplace(key, value);
    return out;
}

}  // namespace lamina::detail
