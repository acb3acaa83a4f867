// Saving and loading parameters: PyTorch's state_dict() names, safetensors files.
//   lamina::save(net, "net.safetensors");               atomic: the old file survives a crash
//   auto report = lamina::load(net, "net.safetensors");  strict, validated before anything changes
// Files hold the parameters under their structural names ("0.weight", "1.bias"), in the layout
// of lamina's weights ((in, out), the chapter's MyLinear), so a PyTorch state_dict of the same
// modules loads directly and the other way round. lamina's own files add metadata: a format
// version, the net's architecture, the tied parameters and, optionally, a reference batch and
// the net's output on it, which load() checks (frugally-deep's load-time test).
// Not included by lamina.hpp: with nlohmann/json it adds about 3 s of compile time to each
// translation unit (g++ 12 and clang++ 14); include it where a program saves or loads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "lamina/detail/type_name.hpp"
#include "lamina/error.hpp"
#include "lamina/io/safetensors.hpp"
#include "lamina/params.hpp"
#include "lamina/sequential.hpp"
#include "lamina/tensor.hpp"

namespace lamina {

/// The version of lamina's metadata that save() writes and load() reads ("lamina.format").
inline constexpr int file_format_version = 1;

namespace detail {

template <class Net>
struct is_sequential : std::false_type {};
template <class In, class... Ls>
struct is_sequential<Sequential<In, Ls...>> : std::true_type {};

template <class Net>
struct net_value {
    using type = float;
};
template <class Net>
    requires requires { typename Net::value_type; }
struct net_value<Net> {
    using type = typename Net::value_type;
};

/// A type name that both compilers spell alike: type_name's, without anonymous namespaces
/// (g++ writes "{anonymous}::", clang "(anonymous namespace)::").
inline std::string portable_name(std::string s) {
    for (std::string_view q : {"(anonymous namespace)::", "{anonymous}::"})
        for (auto i = s.find(q); i != std::string::npos; i = s.find(q)) s.erase(i, q.size());
    return s;
}

template <class S>
std::string extents_list(std::size_t from) {
    std::string s;
    for (std::size_t i = from; i < S::rank; ++i) s += (i > from ? ", " : "") + std::to_string(S::extents[i]);
    return s;
}

}  // namespace detail

/// The net's architecture as save() records it and load() compares it: the layers and the
/// input's per-sample extents, e.g. "Sequential<Input<64>, MyDense<8>, MyDense<1>>". The same
/// string from g++ and clang++; the value type (float or double) is not part of it, so a file
/// saved from a float net loads into the double twin.
template <class Net>
std::string architecture(Net const&) {
    using N = std::remove_cvref_t<Net>;
    if constexpr (detail::is_sequential<N>::value) {
        using S = typename N::input_shape;
        std::string s = S::dynamic ? "Sequential<Input<" + detail::extents_list<S>(1) + ">"
                                   : "Sequential<InputOf<shape<" + detail::extents_list<S>(0) + ">>";
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((s += ", " + detail::layer_name<typename N::template layer_type<I>>()), ...);
        }(std::make_index_sequence<N::size>{});
        return detail::portable_name(s + ">");
    } else if constexpr (requires { N::in_features; typename N::spec; }) {
        return detail::portable_name("built<" + detail::layer_name<N>() + ", " + std::to_string(N::in_features) + ">");
    } else {
        return detail::portable_name(detail::layer_name<N>());
    }
}

/// Every parameter as a named view of the net's own storage, in the walk's order, with
/// PyTorch's names and lamina's layout (a weight is (in, out)): PyTorch's state_dict().
/// Writing through a view changes the net. T is the parameters' value type (the net's).
template <class T = void, class Net>
auto state_dict(Net& net) {
    using V = std::conditional_t<std::is_void_v<T>, typename detail::net_value<std::remove_const_t<Net>>::type, T>;
    using E = std::conditional_t<std::is_const_v<Net>, V const, V>;
    std::vector<parameter_ref<E>> out;
    for_each_parameter(net, [&](std::string_view name, auto& p) {
        using P = std::remove_cvref_t<decltype(p)>;
        static_assert(std::is_same_v<typename P::value_type, V>,
                      "lamina::state_dict<T>: a parameter's value type is not T; name T explicitly "
                      "(state_dict<double>(net)) or walk the parameters with for_each_parameter");
        auto const e = p.extents();
        out.push_back({std::string(name), std::vector<std::size_t>(e.begin(), e.end()), std::span<E>(p.data(), p.size())});
    });
    return out;
}

/// A copy of a tensor's extents and values, whatever its value type: what a save() stores as
/// its reference batch. Converts implicitly from a tensor or view.
struct tensor_copy {
    std::vector<std::size_t> shape;
    std::vector<double> values;

    tensor_copy() = default;
    template <class X>
        requires requires(X const& x) {
            x.extents();
            x.data();
            x.size();
        }
    tensor_copy(X const& x) : values(x.data(), x.data() + x.size()) {  // NOLINT: implicit on purpose
        auto const e = x.extents();
        shape.assign(e.begin(), e.end());
    }
    bool empty() const noexcept { return shape.empty() && values.empty(); }
};

struct save_options {
    /// The dtype of the stored values: F32 or F64; by default each parameter's own (F32 for
    /// float, F64 for double).
    std::optional<io::dtype> dtype{};
    /// A batch to store with the net's output on it; load() runs the loaded net on the batch
    /// and fails if the output differs (load_options::self_test). Needs a Sequential.
    tensor_copy self_test_input{};
    /// More "__metadata__" entries; the keys that start with "lamina." are lamina's own.
    std::map<std::string, std::string> metadata{};
    /// More tensors to store beside the parameters (another object's state, e.g. an
    /// optimizer's), under names no parameter has.
    std::vector<io::tensor_bytes> tensors{};
};

struct load_options {
    /// Fail unless the file and the net have the same architecture (for files lamina wrote)
    /// and exactly the same parameter names and shapes (PyTorch's load_state_dict(strict=True)).
    /// Non-strict loads the parameters whose names and shapes match, leaves the others, and
    /// reports the rest; unlike PyTorch it skips a shape mismatch instead of failing.
    bool strict = true;
    /// With strict: a lamina file saved from another architecture fails even when its names and
    /// shapes fit. (Files without lamina's metadata, PyTorch's, are never checked.)
    bool check_architecture = true;
    /// Run the loaded net on the reference batch the file stores, if any (save_options::
    /// self_test_input), and fail, leaving the net as it was, if an output differs by more than
    /// tolerance · (1 + |saved output|). Runs only when every parameter was loaded.
    bool self_test = true;
    double tolerance = 1e-5;
    /// Load NaN and infinite values instead of failing on them.
    bool allow_non_finite = false;
    /// Tensors whose names start with this are not the net's (save_options::tensors): neither
    /// loaded nor unexpected. Empty: every tensor is the net's.
    std::string skip_prefix{};
};

/// A tensor whose shape differs between the net and the file.
struct shape_mismatch {
    std::string name;
    std::vector<std::size_t> expected;  // the net's
    std::vector<std::size_t> found;     // the file's
};

/// What load() did (PyTorch's load_state_dict() result, and more).
struct load_report {
    std::vector<std::string> loaded;      // parameters given the file's values
    std::vector<std::string> missing;     // parameters of the net the file does not hold
    std::vector<std::string> unexpected;  // tensors of the file the net does not have
    std::vector<shape_mismatch> mismatched;
    std::vector<std::pair<std::string, std::string>> tied;  // (alias, owner) ties made by the load
    std::string file_architecture;  // what the file records ("" if lamina did not write it)
    bool architecture_matches = true;
    bool self_tested = false;      // the file's reference batch ran and matched
    double self_test_error = 0;    // the largest |output - saved| / (1 + |saved|)

    /// The file and the net have the same parameter names and shapes: every parameter loaded.
    bool complete() const noexcept { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    /// One line per problem, "" if complete.
    std::string problems() const {
        std::string s;
        for (auto const& n : missing) s += "\n  missing from the file: " + io::st_detail::in_quotes(n);
        for (auto const& n : unexpected) s += "\n  not in the net: " + io::st_detail::in_quotes(n);
        for (auto const& m : mismatched)
            s += "\n  " + io::st_detail::in_quotes(m.name) + " is " + io::shape_str(m.expected) + " in the net but " +
                 io::shape_str(m.found) + " in the file";
        return s;
    }
};

/// load() refused the file; the report says what it found. The net is unchanged.
struct load_error : error {
    load_error(std::string const& what, load_report r) : error(what), report(std::move(r)) {}
    load_report report;
};

namespace detail {

inline constexpr std::string_view meta_format = "lamina.format";
inline constexpr std::string_view meta_architecture = "lamina.architecture";
inline constexpr std::string_view meta_ties = "lamina.ties";
inline constexpr std::string_view meta_self_test = "lamina.self_test";

inline std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

inline std::string plural(std::size_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

template <class Net>
constexpr bool can_self_test = is_sequential<std::remove_cvref_t<Net>>::value && !std::is_const_v<Net>;

// Runs a Sequential on x in inference mode, restoring its mode after.
template <class Net, class X>
auto run_eval(Net& net, X const& x) {
    struct mode {
        Net& n;
        bool was = n.training();
        ~mode() { n.train(was); }
    } m{net};
    net.eval();
    return net(x);
}

/// What the self-test needs of a Sequential, its type erased: the input's and the output's
/// extents (the first is the batch, at run time when *_dynamic), and a run in inference mode on
/// a batch given as doubles, which returns the input as the net's value type saw it and the
/// output. Empty (no run) for what cannot run a self-test.
struct net_runner {
    struct result {
        std::vector<double> in, out;
    };
    std::vector<std::size_t> in_extents, out_extents;
    bool in_dynamic = false, out_dynamic = false;
    std::function<result(std::size_t batch, std::vector<double> const& in)> run;

    std::size_t batch_of(std::vector<std::size_t> const& in_shape) const {
        return in_dynamic ? in_shape[0] : in_extents.empty() ? 1 : in_extents[0];
    }
    bool takes(std::vector<std::size_t> const& in_shape) const {
        bool ok = in_shape.size() == in_extents.size() && !in_shape.empty() && in_shape[0] > 0;
        for (std::size_t i = in_dynamic ? 1 : 0; ok && i < in_extents.size(); ++i) ok = in_shape[i] == in_extents[i];
        return ok;
    }
    std::vector<std::size_t> output_shape(std::size_t batch) const {
        auto e = out_extents;
        if (out_dynamic) e[0] = batch;
        return e;
    }
    std::string input_str() const {
        std::string s = in_dynamic ? "(n" : "(";
        for (std::size_t i = in_dynamic ? 1 : 0; i < in_extents.size(); ++i)
            s += (s.size() > 1 ? ", " : "") + std::to_string(in_extents[i]);
        return s + ")";
    }
};

template <class Net>
net_runner runner_of(Net& net) {
    if constexpr (!can_self_test<Net>) {
        return {};
    } else {
        using S = typename Net::input_shape;
        using O = typename Net::output_shape;
        using T = typename Net::value_type;
        return {std::vector<std::size_t>(S::extents.begin(), S::extents.end()),
                std::vector<std::size_t>(O::extents.begin(), O::extents.end()), S::dynamic, O::dynamic,
                [&net](std::size_t batch, std::vector<double> const& in) {
                    tensor<T, S> x(batch);
                    std::transform(in.begin(), in.end(), x.data(), [](double v) { return static_cast<T>(v); });
                    auto const y = run_eval(net, x);
                    return net_runner::result{std::vector<double>(x.data(), x.data() + x.size()),
                                              std::vector<double>(y.data(), y.data() + y.size())};
                }};
    }
}

// The reference batch and the net's output on it, as the JSON text save() stores.
inline std::string self_test_record(net_runner const& net, tensor_copy const& in, std::string const& who) {
    if (!net.run) throw error(who + ": save_options::self_test_input needs a (non-const) Sequential to run");
    if (!net.takes(in.shape))
        throw error(who + ": save_options::self_test_input has shape " + io::shape_str(in.shape) + " but the net takes " +
                    net.input_str());
    for (std::size_t i = 0; i < in.values.size(); ++i)
        if (!std::isfinite(in.values[i]))
            throw error(who + ": save_options::self_test_input holds " + number(in.values[i]) + " at index " +
                        std::to_string(i) + "; a reference batch must be finite");
    auto const y = net.run(net.batch_of(in.shape), in.values);
    for (double v : y.out)
        if (!std::isfinite(v))
            throw error(who + ": the net's output on save_options::self_test_input is not finite (" + number(v) +
                        "); a reference batch must give finite outputs");
    nlohmann::json rec;
    rec["input"] = {{"shape", in.shape}, {"values", y.in}};
    rec["output"] = {{"shape", net.output_shape(net.batch_of(in.shape))}, {"values", y.out}};
    return rec.dump();
}

// A metadata value that holds JSON, parsed; format_error if it does not.
inline nlohmann::json parse_meta(io::safetensors_file const& f, std::string_view key) {
    auto const& text = f.metadata().at(std::string(key));
    try {
        return nlohmann::json::parse(text);
    } catch (nlohmann::json::exception const&) {
        throw io::format_error("lamina::load: " + io::st_detail::quoted_path(f.path()) + " has the metadata \"" +
                               std::string(key) + "\" that is not valid JSON");
    }
}

struct reference_batch {
    std::vector<std::size_t> in_shape, out_shape;
    std::vector<double> in, out;
};

// The stored reference batch, checked against the net's shapes before anything is run.
inline reference_batch read_self_test(net_runner const& net, io::safetensors_file const& f) {
    std::string const where = "lamina::load: " + io::st_detail::quoted_path(f.path());
    auto const bad = [&](std::string const& what) -> io::format_error {
        return io::format_error(where + " has a reference batch (\"lamina.self_test\") that " + what);
    };
    auto const j = parse_meta(f, meta_self_test);
    auto const part = [&](char const* name, std::vector<std::size_t>& shape, std::vector<double>& values) {
        if (!j.is_object() || !j.contains(name) || !j[name].is_object() || !j[name].contains("shape") ||
            !j[name].contains("values") || !j[name]["shape"].is_array() || !j[name]["values"].is_array())
            throw bad(std::string("lacks \"") + name + "\": {\"shape\": [...], \"values\": [...]}");
        std::size_t count = 1;
        for (auto const& d : j[name]["shape"]) {
            if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (std::size_t{1} << 40))
                throw bad(std::string("has an ") + name + " shape that is not a list of sizes");
            shape.push_back(d.get<std::size_t>());
            count = shape.back() == 0 || count > (std::size_t{1} << 40) / shape.back() ? 0 : count * shape.back();
        }
        if (count == 0 || count != j[name]["values"].size())
            throw bad(std::string("has ") + std::to_string(j[name]["values"].size()) + " " + name + " values for the shape " +
                      io::shape_str(shape));
        for (auto const& v : j[name]["values"]) {
            if (!v.is_number() || !std::isfinite(v.get<double>()))
                throw bad(std::string("has an ") + name + " value that is not a finite number: " + v.dump());
            values.push_back(v.get<double>());
        }
    };
    reference_batch r;
    part("input", r.in_shape, r.in);
    part("output", r.out_shape, r.out);
    if (!net.takes(r.in_shape)) throw bad("has the input shape " + io::shape_str(r.in_shape) + ", which the net does not take");
    auto const want = net.output_shape(net.batch_of(r.in_shape));
    if (!std::equal(want.begin(), want.end(), r.out_shape.begin(), r.out_shape.end()))
        throw bad("has the output shape " + io::shape_str(r.out_shape) + " but the net gives " +
                  io::shape_str(std::vector<std::size_t>(want.begin(), want.end())));
    return r;
}

// Every value of one parameter, staged before any parameter changes.
using staged_values = std::variant<std::vector<float>, std::vector<double>>;

}  // namespace detail

namespace detail {

// save() on a net's table (with the shared entries): compiled once, whatever the net.
inline void save_net(std::vector<param_entry> const& params, std::string const& arch, net_runner const& runner,
                     std::filesystem::path const& path, save_options const& options) {
    std::string const who = "lamina::save: " + io::st_detail::quoted_path(path);
    if (options.dtype && *options.dtype != io::dtype::f32 && *options.dtype != io::dtype::f64)
        throw error(who + ": save_options::dtype is " + std::string(io::dtype_name(*options.dtype)) +
                    "; lamina writes F32 or F64");
    std::map<std::string, std::string> meta;
    for (auto const& [k, v] : options.metadata) {
        if (k.starts_with("lamina."))
            throw error(who + ": save_options::metadata has the key " + io::st_detail::in_quotes(k) +
                        "; keys that start with \"lamina.\" are lamina's own");
        meta.emplace(k, v);
    }
    std::vector<io::tensor_bytes> tensors;
    for (auto const& p : params) {
        if (p.borrowed) continue;
        std::visit(
            [&](auto d) {
                using V = std::remove_const_t<typename decltype(d)::element_type>;
                auto const type = options.dtype.value_or(io::dtype_of<V>);
                tensors.push_back({p.name, type, p.shape, io::encode(std::span<V const>(d.data(), d.size()), type)});
            },
            p.values);
    }
    tensors.insert(tensors.end(), options.tensors.begin(), options.tensors.end());
    meta[std::string(meta_format)] = std::to_string(file_format_version);
    meta[std::string(meta_architecture)] = arch;
    nlohmann::json ties = nlohmann::json::object();
    for (auto const& [alias, owner] : ties_of(params)) ties[alias] = owner;
    if (!ties.empty()) meta[std::string(meta_ties)] = ties.dump();
    if (!options.self_test_input.empty()) meta[std::string(meta_self_test)] = self_test_record(runner, options.self_test_input, who);
    io::write_file_atomically(path, io::serialize_safetensors(tensors, meta), "lamina::save");
}

// load() on a net's table (with the shared entries): compiled once, whatever the net.
inline load_report load_net(std::vector<param_entry> const& params, std::string const& arch, net_runner const& runner,
                            io::safetensors_file const& file, load_options const& options) {
    using io::st_detail::in_quotes;
    using io::st_detail::quoted_path;
    std::string const where = "lamina::load: " + quoted_path(file.path());
    load_report r;
    auto const& meta = file.metadata();
    auto const has = [&](std::string_view k) { return meta.contains(std::string(k)); };

    if (has(meta_format) && meta.at(std::string(meta_format)) != std::to_string(file_format_version))
        throw io::format_error(where + " is in lamina's file format " + in_quotes(meta.at(std::string(meta_format))) +
                               "; this lamina reads format \"" + std::to_string(file_format_version) + "\"");
    if (has(meta_architecture)) {
        r.file_architecture = meta.at(std::string(meta_architecture));
        std::string const& mine = arch;
        r.architecture_matches = r.file_architecture == mine;
        if (!r.architecture_matches && options.strict && options.check_architecture)
            throw load_error(where + " holds the parameters of " + r.file_architecture + ", not of " + mine +
                                 " (load_options{.check_architecture = false} loads them if their names and shapes fit)",
                             r);
    }

    // The net's parameters under every name, shared ones included, and the ties the net has.
    // (The value type goes with the shape: only parameters of the same type can share.)
    std::map<std::string, std::pair<std::vector<std::size_t>, std::type_index>> net_shapes;
    for (auto const& p : params) net_shapes.emplace(p.name, std::pair(p.shape, std::type_index(*p.type)));
    std::map<std::string, std::string> ties;  // alias -> owner: the net's, then the file's
    for (auto const& [alias, owner] : ties_of(params)) ties.emplace(alias, owner);
    std::vector<std::pair<std::string, std::string>> new_ties;
    if (has(meta_ties)) {
        auto const j = parse_meta(file, meta_ties);
        if (!j.is_object())
            throw io::format_error(where + " has the metadata \"lamina.ties\" that is not an object {alias: owner}");
        for (auto const& [alias, owner_j] : j.items()) {
            if (!owner_j.is_string())
                throw io::format_error(where + " has the metadata \"lamina.ties\" whose entry " + in_quotes(alias) +
                                       " is not a parameter name");
            std::string const owner = owner_j.template get<std::string>();
            auto const a = net_shapes.find(alias), o = net_shapes.find(owner);
            std::string why;
            if (a == net_shapes.end() || o == net_shapes.end())
                why = "it has no parameter " + in_quotes(a == net_shapes.end() ? alias : owner);
            else if (alias == owner)
                why = "a parameter cannot share itself";
            else if (a->second != o->second)
                why = "they differ in shape or value type";
            else if (auto t = ties.find(alias); t != ties.end() && t->second != owner)
                why = "the net ties " + in_quotes(alias) + " to " + in_quotes(t->second);
            if (!why.empty()) {
                if (options.strict)
                    throw load_error(
                        where + " ties " + in_quotes(alias) + " to " + in_quotes(owner) + ", which the net cannot: " + why, r);
                continue;
            }
            if (ties.emplace(alias, owner).second) new_ties.emplace_back(alias, owner);
        }
        // One level only: an owner is no alias, an alias no owner.
        std::erase_if(new_ties, [&](auto const& t) {
            bool const chained = ties.contains(t.second) ||
                                 std::ranges::any_of(ties, [&](auto const& u) { return u.second == t.first; });
            if (chained && options.strict)
                throw load_error(where + " ties " + in_quotes(t.first) + " to " + in_quotes(t.second) +
                                     ", which the net cannot: a tied parameter cannot be tied again",
                                 r);
            if (chained) ties.erase(t.first);
            return chained;
        });
    }

    // Match and convert every value into staging buffers; nothing in the net changes yet.
    std::vector<staged_values> staged;
    std::vector<std::string> expected;
    for (auto const& p : params) {
        if (p.borrowed) continue;
        std::string const& name = p.name;
        expected.push_back(name);
        auto const* t = file.find(name);
        std::visit([&](auto d) { staged.emplace_back(std::vector<std::remove_const_t<typename decltype(d)::element_type>>{}); },
                   p.values);
        if (!t) {
            r.missing.push_back(name);
            continue;
        }
        auto const& shape = p.shape;
        if (t->shape != shape) {
            r.mismatched.push_back({name, shape, t->shape});
            continue;
        }
        std::size_t bad = 0;
        std::visit(
            [&](auto& values) {
                values.resize(p.size());
                file.read(*t, std::span(values));
                while (bad < values.size() && std::isfinite(values[bad])) ++bad;
            },
            staged.back());
        if (!options.allow_non_finite && bad < p.size()) {
            double const original = file.read<double>(*t)[bad];
            std::string idx;
            for (std::size_t k = shape.size(), rest = bad; k-- > 0; rest /= shape[k])
                idx = std::to_string(rest % shape[k]) + (idx.empty() ? "" : ", ") + idx;
            throw error(where + " holds " +
                        (std::isfinite(original) ? number(original) + ", beyond the range of float,"
                         : std::isnan(original)  ? std::string("NaN")
                                                 : std::string(original > 0 ? "inf" : "-inf")) +
                        " in " + in_quotes(name) + " at [" + idx + "] (load_options{.allow_non_finite = true} loads it)");
        }
        r.loaded.push_back(name);
    }
    // A tensor the file holds under a name the net shares (PyTorch lists a tied parameter under
    // every name) is expected: its owner's values are the ones loaded.
    for (auto const& t : file.tensors())
        if (!std::ranges::count(expected, t.name) && !ties.contains(t.name) &&
            (options.skip_prefix.empty() || !t.name.starts_with(options.skip_prefix)))
            r.unexpected.push_back(t.name);
    // The file's ties cover the parameters the net still has separately.
    std::erase_if(r.missing, [&](std::string const& n) { return ties.contains(n); });

    if (options.strict && !r.complete()) {
        std::size_t const fit = r.loaded.size();
        throw load_error(where + " does not fit the net: " + plural(r.missing.size(), "parameter", "parameters") +
                             " missing, " + plural(r.unexpected.size(), "tensor", "tensors") +
                             " the net does not have, " + plural(r.mismatched.size(), "shape", "shapes") +
                             " that differ:" + r.problems() + "\nload_options{.strict = false} loads the " +
                             plural(fit, "parameter that fits", "parameters that fit"),
                         r);
    }

    std::optional<reference_batch> ref;
    if (runner.run && options.self_test && has(meta_self_test) && r.complete() && r.architecture_matches)
        ref = read_self_test(runner, file);

    // An alias the file ties gets its owner's values: until the tie is made (last), the
    // forward is already the tied one.
    for (auto const& [alias, owner] : new_ties) {
        auto const a = std::ranges::find(expected, alias), o = std::ranges::find(expected, owner);
        if (a != expected.end() && o != expected.end())
            staged[static_cast<std::size_t>(a - expected.begin())] = staged[static_cast<std::size_t>(o - expected.begin())];
    }
    // Apply, keeping the old values while a self-test can still fail.
    std::vector<staged_values> backup;
    auto const copy_in = [&](std::vector<staged_values> const& from, std::vector<staged_values>* keep) {
        std::size_t k = 0;
        for (auto const& p : params) {
            if (p.borrowed) continue;
            std::visit(
                [&](auto d) {
                    using V = std::remove_const_t<typename decltype(d)::element_type>;
                    if (keep) keep->emplace_back(std::vector<V>(d.begin(), d.end()));
                    auto const& v = std::get<std::vector<V>>(from[k++]);
                    std::copy(v.begin(), v.end(), d.begin());
                },
                p.values);
            p.mark_modified();
        }
    };
    copy_in(staged, ref ? &backup : nullptr);
    {
        if (ref) {
            std::string failure;
            try {
                auto const y = runner.run(runner.batch_of(ref->in_shape), ref->in);
                for (std::size_t i = 0; i < ref->out.size(); ++i) {
                    double const got = y.out[i], want = ref->out[i];
                    double const err = std::abs(got - want) / (1 + std::abs(want));
                    if (!(err <= r.self_test_error)) r.self_test_error = std::isnan(err) ? std::numeric_limits<double>::infinity() : err;
                    if (failure.empty() && !(err <= options.tolerance))
                        failure = "output " + std::to_string(i) + " is " + number(got) + " but was " +
                                  number(want) + " when the file was saved";
                }
            } catch (...) {
                copy_in(backup, nullptr);
                throw;
            }
            if (!failure.empty()) {
                copy_in(backup, nullptr);
                throw load_error(where + " fails its self-test: on the reference batch stored in the file, " + failure +
                                     " (largest difference " + number(r.self_test_error) + ", tolerance " +
                                     number(options.tolerance) +
                                     "); the net was left as it was. Does its forward compute what the saving net's did?",
                                 r);
            }
            r.self_tested = true;
        }
    }
    for (auto const& [alias, owner] : new_ties) share_in(params, alias, owner);
    r.tied = new_ties;
    return r;
}

}  // namespace detail

/// Saves every parameter of net to a safetensors file under PyTorch's names, with lamina's
/// metadata (format version, architecture, ties, the optional reference batch). Atomic: the
/// file is written beside the target, synced and renamed over it, so a save that fails or is
/// killed leaves the previous file as it was. Throws lamina::error naming the file and the
/// cause. With a self_test_input the net runs once on it (in inference mode), which replaces
/// the output of its previous call.
template <class Net>
void save(Net& net, std::filesystem::path const& path, save_options const& options = {}) {
    detail::save_net(detail::param_table<true>(net), architecture(net), detail::runner_of(net), path, options);
}

/// Loads parameters from a safetensors file already read (io::read_safetensors or
/// io::parse_safetensors). Converts F16, BF16, F32 and F64 to each parameter's value type.
/// Everything is checked before the first parameter changes: a load that throws leaves the net
/// exactly as it was. Throws load_error (strict mismatch, other architecture, failed
/// self-test), io::format_error (malformed metadata, a value that is not F16/BF16/F32/F64) or
/// lamina::error (NaN or infinity, naming the key).
template <class Net>
load_report load(Net& net, io::safetensors_file const& file, load_options const& options = {}) {
    return detail::load_net(detail::param_table<true>(net), architecture(net), detail::runner_of(net), file, options);
}

/// Loads parameters from a safetensors file: io::read_safetensors, then load(net, file,
/// options).
template <class Net>
load_report load(Net& net, std::filesystem::path const& path, load_options const& options = {}) {
    return load(net, io::read_safetensors(path), options);
}

}  // namespace lamina
