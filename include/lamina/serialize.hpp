// Saving and loading parameters: PyTorch's state_dict() names, safetensors files.
//   lamina::save(net, "net.safetensors");               atomic: the old file survives a crash
//   auto report = lamina::load(net, "net.safetensors");  strict, validated before anything changes
// Files hold the parameters under their structural names ("0.weight", "1.bias"), in the layout
// of lamina's weights ((in, out), the chapter's MyLinear), so a PyTorch state_dict of the same
// modules loads directly and the other way round. lamina's own files add metadata: a format
// version, the net's architecture, the tied parameters and, optionally, a reference batch and
// the net's output on it, which load() checks (frugally-deep's load-time test).
// Not included by lamina.hpp: a file that saves and loads compiles about 15 s longer (g++ 12,
// -O2: nlohmann/json and the file code). Include it where a program saves or loads, and, for a
// program of several files, compile that code once (LAMINA_SEPARATE_COMPILATION and
// lamina/src.hpp: see lamina/detail/config.hpp).
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

#include "lamina/detail/config.hpp"
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
/// PyTorch's names and lamina's layout (a weight is (in, out)): PyTorch's state_dict(), which
/// for lamina's nets (parameters, no buffers) is named_parameters().
template <class T = void, class Net>
auto state_dict(Net& net) {
    return named_parameters<T>(net);
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
    /// Write NaN and infinite parameter values instead of failing on them (a file that load()
    /// reads only with load_options::allow_non_finite).
    bool allow_non_finite = false;
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
    /// (alias, owner): tensors of the file under a name tied to another parameter whose values
    /// are not the owner's. The net keeps one tensor for both, so they cannot load.
    std::vector<std::pair<std::string, std::string>> conflicting;
    std::vector<std::pair<std::string, std::string>> tied;  // (alias, owner) ties made by the load
    std::string file_architecture;  // what the file records ("" if lamina did not write it)
    bool architecture_matches = true;
    bool self_tested = false;      // the file's reference batch ran and matched
    double self_test_error = 0;    // the largest |output - saved| / (1 + |saved|)

    /// The file and the net have the same parameter names and shapes, and the file no values a
    /// tie would drop: every parameter loaded.
    bool complete() const noexcept {
        return missing.empty() && unexpected.empty() && mismatched.empty() && conflicting.empty();
    }
    /// One indented line per problem, each ending in a newline; "" if complete.
    LAMINA_DECL std::string problems() const;
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
LAMINA_DECL std::string self_test_record(net_runner const& net, tensor_copy const& in, std::string const& who);

struct reference_batch {
    std::vector<std::size_t> in_shape, out_shape;
    std::vector<double> in, out;
};

// The stored reference batch, checked against the net's shapes before anything is run.
LAMINA_DECL reference_batch read_self_test(net_runner const& net, io::safetensors_file const& f);

}  // namespace detail

namespace detail {

// save() on a net's table (with the shared entries): compiled once, whatever the net.
LAMINA_DECL void save_net(std::vector<param_entry> const& params, std::string const& arch, net_runner const& runner,
                          std::filesystem::path const& path, save_options const& options);

// load() on a net's table (with the shared entries): compiled once, whatever the net.
LAMINA_DECL load_report load_net(std::vector<param_entry> const& params, std::string const& arch, net_runner const& runner,
                                 io::safetensors_file const& file, load_options const& options);

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

#if !defined(LAMINA_SEPARATE_COMPILATION)
#include "lamina/impl/serialize.ipp"
#endif
