// Parameters: declared once in a layer (name, shape, initializer), found by name.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/hana.hpp>

#include "lamina/autodiff/variable.hpp"
#include "lamina/expr/node.hpp"
#include "lamina/random.hpp"
#include "lamina/tensor.hpp"

namespace lamina {

/// Initializers: callables (data, fan_in, fan_out, generator). fan_in is the product of all
/// extents but the last, fan_out the last (lamina's weights are laid out input-major).
namespace init {
struct zeros {
    template <class T>
    void operator()(std::span<T> d, std::size_t, std::size_t, generator&) const {
        std::fill(d.begin(), d.end(), T(0));
    }
};
struct ones {
    template <class T>
    void operator()(std::span<T> d, std::size_t, std::size_t, generator&) const {
        std::fill(d.begin(), d.end(), T(1));
    }
};
/// Standard normal (torch.randn, as the chapter's MyLinear uses).
struct normal {
    template <class T>
    void operator()(std::span<T> d, std::size_t, std::size_t, generator& g) const {
        for (auto& x : d) x = static_cast<T>(g.normal());
    }
};
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's nn.Linear default.
struct uniform_fan_in {
    template <class T>
    void operator()(std::span<T> d, std::size_t fan_in, std::size_t, generator& g) const {
        double const b = 1.0 / std::sqrt(static_cast<double>(fan_in));
        for (auto& x : d) x = static_cast<T>(g.uniform(-b, b));
    }
};
/// Glorot/Xavier uniform: Keras' Dense default.
struct glorot_uniform {
    template <class T>
    void operator()(std::span<T> d, std::size_t fan_in, std::size_t fan_out, generator& g) const {
        double const b = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
        for (auto& x : d) x = static_cast<T>(g.uniform(-b, b));
    }
};
}  // namespace init

/// A trainable tensor of static shape E..., initialized by Init when constructed; its gradient
/// and requires_grad come from variable.
template <class T, class Init, std::size_t... E>
class basic_param : public variable<T, shape<E...>> {
public:
    using is_lamina_param = void;
    using initializer = Init;
    using tensor_type = tensor<T, shape<E...>>;
    static constexpr std::size_t fan_out = sizeof...(E) ? shape<E...>::cols : 1;
    static constexpr std::size_t fan_in = shape<E...>::static_size / fan_out;

    basic_param() { initialize(default_generator()); }
    explicit basic_param(generator& g) { initialize(g); }
    /// Re-draws the values from the initializer.
    void initialize(generator& g) { Init{}(std::span<T>(this->data(), this->size()), fan_in, fan_out, g); }
};

/// The float32 parameter most layers declare: param<init::normal, In, Units> weight.
template <class Init, std::size_t... E>
using param = basic_param<float, Init, E...>;

template <class P>
concept parameter = requires { typename std::remove_cvref_t<P>::is_lamina_param; };

namespace detail {

template <class L>
constexpr bool has_members = boost::hana::Struct<std::remove_cvref_t<L>>::value;

template <class L, class F>
void walk(L& layer, std::string const& prefix, F& f) {
    if constexpr (has_members<L>) {
        boost::hana::for_each(boost::hana::accessors<std::remove_const_t<L>>(), [&](auto pair) {
            auto& member = boost::hana::second(pair)(layer);
            std::string name = prefix + boost::hana::to<char const*>(boost::hana::first(pair));
            if constexpr (parameter<decltype(member)>) f(std::string_view(name), member);
            else walk(member, name + ".", f);
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

}  // namespace detail

/// Calls f(name, param) for every parameter of a layer or net, names as in PyTorch's
/// named_parameters(): "weight", "0.bias", ...
template <class L, class F>
void for_each_parameter(L& layer, F&& f) {
    if constexpr (requires { layer.for_each_parameter(f); }) layer.for_each_parameter(f);
    else detail::walk(layer, "", f);
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

/// Every parameter with its structural name, shape and data (PyTorch's named_parameters()).
template <class L>
auto named_parameters(L& layer) {
    std::vector<parameter_ref<float>> out;
    for_each_parameter(layer, [&](std::string_view name, auto& p) {
        auto e = p.extents();
        out.push_back({std::string(name), std::vector<std::size_t>(e.begin(), e.end()),
                       std::span<float>(p.data(), p.size())});
    });
    return out;
}

}  // namespace lamina
