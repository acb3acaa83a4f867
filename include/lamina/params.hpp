// Parameters: declared once in a layer (name, shape, initializer), found by name.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

// Only the parts of Boost.Hana that lamina uses: a layer declares its members with
// BOOST_HANA_DEFINE_STRUCT (define_struct.hpp), which lamina walks. All of <boost/hana.hpp>
// cost every program that includes lamina about 0.1 s more to compile (g++ 12).
#include <boost/hana/accessors.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/core/to.hpp>
#include <boost/hana/define_struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/unpack.hpp>

#include "lamina/autodiff/variable.hpp"
#include "lamina/error.hpp"
#include "lamina/expr/node.hpp"
#include "lamina/random.hpp"
#include "lamina/tensor.hpp"

namespace lamina {

/// Initializers: callables init(data, fan_in, fan_out, generator) that fill a parameter.
/// fan_in is the product of all extents but the last, fan_out the last (lamina's weights are
/// laid out input-major, (in, out), so these are PyTorch's fans of the transposed weight).
/// Each is a struct with defaults, PyTorch's torch.nn.init names and formulas:
///   param<init::normal, In, Units>                                   declared, N(0, 1)
///   param<init::with<init::normal{.std = 0.01}>, In, Units>          declared with values
///   net.initialize(init::kaiming_uniform{}, gen)                     re-drawn at run time
namespace init {

/// How Kaiming initializers pick their fan.
enum class fan { in, out };

namespace detail {
template <class T, class F>
void fill(std::span<T> d, F&& draw) {
    for (auto& x : d) x = static_cast<T>(draw());
}
inline double fan_of(fan m, std::size_t fan_in, std::size_t fan_out) {
    return static_cast<double>(m == fan::in ? fan_in : fan_out);
}
}  // namespace detail

/// Every value c (torch.nn.init.constant_).
struct constant {
    double value = 0;
    template <class T>
    void operator()(std::span<T> d, std::size_t, std::size_t, generator&) const {
        std::fill(d.begin(), d.end(), static_cast<T>(value));
    }
};
struct zeros : constant {};
struct ones : constant {
    constexpr ones() : constant{1} {}
};
/// N(mean, std²) (torch.nn.init.normal_; N(0, 1) is torch.randn, as the chapter's MyLinear uses).
struct normal {
    double mean = 0, std = 1;
    template <class T>
    void operator()(std::span<T> d, std::size_t, std::size_t, generator& g) const {
        detail::fill(d, [&] { return mean + std * g.normal(); });
    }
};
/// U(low, high) (torch.nn.init.uniform_).
struct uniform {
    double low = 0, high = 1;
    template <class T>
    void operator()(std::span<T> d, std::size_t, std::size_t, generator& g) const {
        detail::fill(d, [&] { return g.uniform(low, high); });
    }
};
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's nn.Linear default.
struct uniform_fan_in {
    template <class T>
    void operator()(std::span<T> d, std::size_t fan_in, std::size_t, generator& g) const {
        double const b = 1.0 / std::sqrt(static_cast<double>(fan_in));
        detail::fill(d, [&] { return g.uniform(-b, b); });
    }
};
/// Glorot/Xavier uniform: U(-a, a), a = gain·sqrt(6 / (fan_in + fan_out)); Keras' Dense default.
struct xavier_uniform {
    double gain = 1;
    template <class T>
    void operator()(std::span<T> d, std::size_t fan_in, std::size_t fan_out, generator& g) const {
        double const a = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
        detail::fill(d, [&] { return g.uniform(-a, a); });
    }
};
/// Glorot/Xavier normal: N(0, std²), std = gain·sqrt(2 / (fan_in + fan_out)).
struct xavier_normal {
    double gain = 1;
    template <class T>
    void operator()(std::span<T> d, std::size_t fan_in, std::size_t fan_out, generator& g) const {
        double const sd = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
        detail::fill(d, [&] { return sd * g.normal(); });
    }
};
using glorot_uniform = xavier_uniform;
using glorot_normal = xavier_normal;
/// Kaiming/He uniform: U(-b, b), b = gain·sqrt(3 / fan), gain = sqrt(2 / (1 + a²)) (ReLU for
/// a = 0, leaky ReLU of slope a otherwise).
struct kaiming_uniform {
    double a = 0;
    init::fan mode = fan::in;
    template <class T>
    void operator()(std::span<T> d, std::size_t fan_in, std::size_t fan_out, generator& g) const {
        double const b = std::sqrt(2.0 / (1 + a * a)) * std::sqrt(3.0 / detail::fan_of(mode, fan_in, fan_out));
        detail::fill(d, [&] { return g.uniform(-b, b); });
    }
};
/// Kaiming/He normal: N(0, std²), std = gain / sqrt(fan), gain as for kaiming_uniform.
struct kaiming_normal {
    double a = 0;
    init::fan mode = fan::in;
    template <class T>
    void operator()(std::span<T> d, std::size_t fan_in, std::size_t fan_out, generator& g) const {
        double const sd = std::sqrt(2.0 / (1 + a * a)) / std::sqrt(detail::fan_of(mode, fan_in, fan_out));
        detail::fill(d, [&] { return sd * g.normal(); });
    }
};
using he_uniform = kaiming_uniform;
using he_normal = kaiming_normal;

/// An initializer value as a type, for declarations: param<init::with<init::constant{0.1}>, N>.
template <auto I>
struct with {
    template <class T>
    void operator()(std::span<T> d, std::size_t fan_in, std::size_t fan_out, generator& g) const {
        I(d, fan_in, fan_out, g);
    }
};

}  // namespace init

/// What fills a parameter of value type T: init(data, fan_in, fan_out, generator). Any such
/// callable serves, a lambda included.
template <class I, class T>
concept initializer_for = std::invocable<I const&, std::span<T>, std::size_t, std::size_t, generator&>;

/// A trainable tensor of static shape E..., filled by Init when constructed; its gradient and
/// requires_grad come from variable. Another initializer can replace Init at run time
/// (set_initializer), and the parameter can share another's storage (share).
template <class T, class Init, std::size_t... E>
class basic_param : public variable<T, shape<E...>> {
    static_assert(initializer_for<Init, T>,
                  "lamina::param: the initializer must be callable as init(std::span<T>, fan_in, fan_out, lamina::generator&)");

public:
    using is_lamina_param = void;
    using initializer = Init;
    using tensor_type = tensor<T, shape<E...>>;
    static constexpr std::size_t fan_out = sizeof...(E) ? shape<E...>::cols : 1;
    static constexpr std::size_t fan_in = shape<E...>::static_size / fan_out;

    basic_param() { initialize(default_generator()); }
    explicit basic_param(generator& g) { initialize(g); }
    /// Re-draws the values from the parameter's initializer (Init, or the one set at run time).
    void initialize(generator& g) {
        if (init_) init_(values(), fan_in, fan_out, g);
        else Init{}(values(), fan_in, fan_out, g);
    }
    /// Draws the values from init, once.
    template <initializer_for<T> I>
    void initialize(I const& init, generator& g) {
        init(values(), fan_in, fan_out, g);
    }
    /// Replaces the declared initializer for every later initialize(g).
    template <initializer_for<T> I>
    void set_initializer(I init) {
        init_ = std::move(init);
    }

private:
    std::span<T> values() noexcept { return {this->data(), this->size()}; }
    std::function<void(std::span<T>, std::size_t, std::size_t, generator&)> init_;
};

/// The float32 parameter most layers declare: param<init::normal, In, Units> weight.
template <class Init, std::size_t... E>
using param = basic_param<float, Init, E...>;

template <class P>
concept parameter = requires { typename std::remove_cvref_t<P>::is_lamina_param; };

namespace detail {

template <class L>
constexpr bool has_members = boost::hana::Struct<std::remove_cvref_t<L>>::value;

// Calls f(name, param) for every parameter under layer; one that shares another's storage is
// skipped unless Shared (it is the same parameter, reached under its owner's name).
template <bool Shared = false, class L, class F>
void walk(L& layer, std::string const& prefix, F& f) {
    if constexpr (has_members<L>) {
        boost::hana::for_each(boost::hana::accessors<std::remove_const_t<L>>(), [&](auto pair) {
            auto& member = boost::hana::second(pair)(layer);
            std::string name = prefix + boost::hana::to<char const*>(boost::hana::first(pair));
            if constexpr (parameter<decltype(member)>) {
                if (Shared || !member.borrowed()) f(std::string_view(name), member);
            } else {
                walk<Shared>(member, name + ".", f);
            }
        });
    }
}

template <class L>
constexpr std::size_t param_count() {
    if constexpr (requires { L::parameter_count(); }) {
        return L::parameter_count();
    } else if constexpr (!has_members<L>) {
        return 0;
    } else {
        return boost::hana::unpack(boost::hana::accessors<L>(), [](auto... pair) {
            return (std::size_t{0} + ... + [](auto p) {
                using M = std::remove_cvref_t<decltype(boost::hana::second(p)(std::declval<L&>()))>;
                if constexpr (parameter<M>) return M::shape_type::static_size;
                else return param_count<M>();
            }(pair));
        });
    }
}

template <class... Ts>
struct first_non_void {
    using type = void;
};
template <class T, class... Ts>
struct first_non_void<T, Ts...> {
    using type = std::conditional_t<std::is_void_v<T>, typename first_non_void<Ts...>::type, T>;
};

/// The value type of a layer's or net's parameters: its value_type if it states one, else its
/// first parameter's (searched through its members), else void.
template <class L>
constexpr auto param_value_tag() {
    if constexpr (requires { typename L::value_type; }) {
        return std::type_identity<typename L::value_type>{};
    } else if constexpr (!has_members<L>) {
        return std::type_identity<void>{};
    } else {
        return boost::hana::unpack(boost::hana::accessors<L>(), [](auto... pair) {
            using V = typename first_non_void<typename decltype(param_value_tag<std::remove_cvref_t<
                decltype(boost::hana::second(pair)(std::declval<L&>()))>>())::type...>::type;
            return std::type_identity<V>{};
        });
    }
}

/// The value type named_parameters() and state_dict() view: T if given, else the net's (float
/// for a layer without parameters).
template <class T, class Net>
using named_value_t =
    typename first_non_void<T, typename decltype(param_value_tag<std::remove_cv_t<Net>>())::type, float>::type;

}  // namespace detail

/// Calls f(name, param) for every parameter of a layer or net, names as in PyTorch's
/// named_parameters(): "weight", "0.bias", ...
template <class L, class F>
void for_each_parameter(L& layer, F&& f) {
    if constexpr (requires { layer.for_each_parameter(f); }) layer.for_each_parameter(f);
    else detail::walk(layer, "", f);
}

/// Passed to for_each_parameter to reach shared parameters under their own names too (the plain
/// walk visits each storage once, under its owner's name).
struct with_shared_t {
    explicit with_shared_t() = default;
};
inline constexpr with_shared_t with_shared{};

template <class L, class F>
void for_each_parameter(L& layer, with_shared_t, F&& f) {
    if constexpr (requires { layer.for_each_parameter(with_shared, f); }) layer.for_each_parameter(with_shared, f);
    else detail::walk<true>(layer, "", f);
}

/// Marks a parameter, or every parameter of a layer or net, trainable or not (Keras'
/// layer.trainable, PyTorch's requires_grad_): a frozen parameter gets no gradient and no
/// optimizer step.
template <class L>
void set_trainable(L& x, bool on) {
    if constexpr (parameter<L>) x.requires_grad(on);
    else for_each_parameter(x, with_shared, [&](std::string_view, auto& p) { p.requires_grad(on); });
}
template <class L>
void freeze(L& x) {
    set_trainable(x, false);
}
template <class L>
void unfreeze(L& x) {
    set_trainable(x, true);
}

namespace detail {
template <class P>
using variable_of = variable<typename std::remove_cvref_t<P>::value_type, typename std::remove_cvref_t<P>::shape_type>;

template <class V>
void share_as(void* alias, void* owner) noexcept {
    if constexpr (requires(V& v) { v.share(v); }) static_cast<V*>(alias)->share(*static_cast<V*>(owner));
}

/// One parameter with its type erased: what the walks that need no static shape work on
/// (saving, loading, sharing, optimizer state). Their code then compiles once per program: a
/// generic lambda given to for_each_parameter compiles once per parameter type, and a load()
/// written that way took g++ 20 s for a three-layer net.
struct param_entry {
    std::string name;
    std::vector<std::size_t> shape;
    std::string shape_str;
    std::variant<std::span<float>, std::span<double>> values;  // the parameter's own storage: after writing, mark_modified()
    bool borrowed = false;       // it uses another parameter's storage (share)
    bool requires_grad = true;
    void* var = nullptr;                     // the variable<T, S> it is
    std::type_info const* type = nullptr;    // that type: parameters share only with their own
    void (*share)(void* alias, void* owner) noexcept = nullptr;
    void (*modified)(void* var) noexcept = nullptr;  // after a write through values

    void mark_modified() const noexcept { modified(var); }

    std::size_t size() const noexcept {
        return std::visit([](auto s) { return s.size(); }, values);
    }
    void const* data() const noexcept {
        return std::visit([](auto s) { return static_cast<void const*>(s.data()); }, values);
    }
};

template <class V>
void mark_modified_as(void* var) noexcept {
    static_cast<V*>(var)->mark_modified();
}

template <class P>
void add_entry(std::vector<param_entry>& t, std::string_view name, P& p) {
    using V = variable_of<P>;
    using T = typename V::value_type;
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "lamina: parameters hold float or double values");
    auto& v = const_cast<V&>(static_cast<V const&>(p));  // read-only walks (save) take const nets too
    // The const data(): a walk that only reads (save) does not count as a write, and the one
    // that writes (load) says so through mark_modified.
    T* const values = const_cast<T*>(std::as_const(v).data());
    auto const e = v.extents();
    t.push_back({std::string(name), std::vector<std::size_t>(e.begin(), e.end()), v.shape_str(),
                 std::span<T>(values, v.size()), v.borrowed(), v.requires_grad(), &v, &typeid(V), &share_as<V>,
                 &mark_modified_as<V>});
}

/// Every parameter of a layer or net as a param_entry, in the walk's order; with Shared, each
/// shared one under its own name too (the others are the entries that are not borrowed).
template <bool Shared = false, class L>
std::vector<param_entry> param_table(L& layer) {
    std::vector<param_entry> t;
    auto add = [&](std::string_view name, auto& p) { add_entry(t, name, p); };
    if constexpr (Shared) for_each_parameter(layer, with_shared, add);
    else for_each_parameter(layer, add);
    return t;
}

inline std::string parameter_names(std::vector<param_entry> const& t) {
    std::string s;
    for (auto const& e : t) s += (s.empty() ? "" : ", ") + e.name;
    return s.empty() ? "none" : s;
}
template <class L>
std::string parameter_names(L& net) {
    return parameter_names(param_table<true>(net));
}

// share() on a table with shared entries.
inline void share_in(std::vector<param_entry> const& t, std::string_view alias, std::string_view owner) {
    auto const named = [&](std::string_view n) {
        return std::find_if(t.begin(), t.end(), [&](param_entry const& e) { return e.name == n; });
    };
    auto const o = named(owner);
    if (o == t.end())
        throw key_error("lamina::share: no parameter named '" + std::string(owner) + "' to share (the parameters are " +
                        parameter_names(t) + ")");
    auto const a = named(alias);
    if (a == t.end())
        throw key_error("lamina::share: no parameter named '" + std::string(alias) + "' (the parameters are " +
                        parameter_names(t) + ")");
    if (*a->type != *o->type)
        throw key_error("lamina::share: '" + std::string(alias) + "' has shape " + a->shape_str + " but '" +
                        std::string(owner) + "' has shape " + o->shape_str +
                        " (shared parameters need the same shape and value type)");
    if (a->var == o->var) throw key_error("lamina::share: '" + std::string(alias) + "' cannot share itself");
    a->share(a->var, o->var);
}

// The ties of a table with shared entries: (alias, owner) for every borrowed entry.
inline std::vector<std::pair<std::string, std::string>> ties_of(std::vector<param_entry> const& t) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto const& a : t)
        if (a.borrowed)
            for (auto const& o : t)
                if (!o.borrowed && o.data() == a.data()) out.emplace_back(a.name, o.name);
    return out;
}
}  // namespace detail

/// Makes the parameter named alias use the storage of the one named owner, by their run-time
/// names: one tensor, every use's gradient summed into it, saved once (PyTorch's reuse of one
/// Parameter, Gluon's share_parameters). Both must have the same shape and value type. The
/// owner's values are kept; alias's own are freed.
template <class L>
void share(L& net, std::string_view alias, std::string_view owner) {
    detail::share_in(detail::param_table<true>(net), alias, owner);
}

/// Calls f(alias, owner) for every parameter that shares another's storage, with both names
/// (what save() records and load() ties again).
template <class L, class F>
void for_each_tie(L& net, F&& f) {
    for (auto const& [alias, owner] : detail::ties_of(detail::param_table<true>(net)))
        f(std::string_view(alias), std::string_view(owner));
}

/// Number of scalar parameters, known at compile time.
template <class L>
inline constexpr std::size_t parameter_count_v = detail::param_count<std::remove_cvref_t<L>>();

/// A type-erased view of one parameter, for run-time walks (state dicts, optimizers).
template <class T = float>
struct parameter_ref {
    std::string name;
    std::vector<std::size_t> shape;
    std::span<T> data;
};

/// Every parameter with its structural name, shape and a view of its data, in the walk's order
/// (PyTorch's named_parameters()). The views are T (the net's value type unless T is named), const
/// for a const net. Writing through data after a later forward call: call mark_modified() on the
/// parameter's tensor (get<"0.weight">(net).mark_modified()), or the layer may go on using the
/// weight it packed (see tensor::mark_modified).
template <class T = void, class Net>
auto named_parameters(Net& net) {
    using V = detail::named_value_t<T, Net>;
    using E = std::conditional_t<std::is_const_v<Net>, V const, V>;
    std::vector<parameter_ref<E>> out;
    for_each_parameter(net, [&](std::string_view name, auto& p) {
        static_assert(std::is_same_v<typename std::remove_cvref_t<decltype(p)>::value_type, V>,
                      "lamina::named_parameters<T>: a parameter's value type is not T; name T "
                      "explicitly (named_parameters<double>(net)) or walk the parameters with for_each_parameter");
        auto const e = p.extents();
        out.push_back({std::string(name), std::vector<std::size_t>(e.begin(), e.end()), std::span<E>(p.data(), p.size())});
    });
    return out;
}

}  // namespace lamina
