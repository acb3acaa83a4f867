// Sequential<Input<...>, Layers...>: shapes chained and checked at compile time, one flat pack.
#pragma once

#include <array>
#include <cstddef>
#include <iomanip>
#include <memory>
#include <optional>
#include <span>
#include <ostream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "lamina/detail/fixed_string.hpp"
#include "lamina/detail/type_name.hpp"
#include "lamina/detail/workspace.hpp"
#include "lamina/expr/eval.hpp"
#include "lamina/layer.hpp"
#include "lamina/params.hpp"

namespace lamina {

/// The network's input: per-sample extents E..., a batch known at run time, value type T.
template <class S, class T = float>
struct InputOf {
    using shape_type = S;
    using value_type = T;
};
template <std::size_t... E>
struct Input : InputOf<shape<dyn, E...>, float> {
    /// The same input with the batch fixed at compile time too, as Keras' Input(shape,
    /// batch_size): every product is then sized at compile time (small ones fully unrolled).
    template <std::size_t B>
    using batch = InputOf<shape<B, E...>, float>;
};

/// Compile-time diagnostics read as sentences, e.g.
/// layer<1, MyDense<3>>::expects_input_features<5>::but_layer<0, Dense<7>>::produces<7>.
template <std::size_t Index, class Layer>
struct layer {
    template <std::size_t Expected>
    struct expects_input_features {
        template <std::size_t Given>
        static constexpr bool but_the_input_has = Expected == Given;
        template <std::size_t Prev, class PrevLayer>
        struct but_layer {
            template <std::size_t Given>
            static constexpr bool produces = Expected == Given;
        };
    };
    template <class InputShape>
    struct cannot_be_called {
        static constexpr bool on_inputs_of_shape = false;
    };
    /// layer<0, MyDense<3>>::has_no_member<chars<'w', 'i', 'e', 'g', 'h', 't'>>::its_members_are<names<...>>
    template <class Name>
    struct has_no_member {
        template <class Members>
        static constexpr bool its_members_are = false;
    };
};

/// A name spelled out in a diagnostic: both compilers print chars<'w', 'e', ...>.
template <char... C>
struct chars {};
/// Names in a diagnostic: names<chars<'w', ...>, chars<'b', ...>>.
template <class... Names>
struct names {};

/// input_has_a_fixed_batch_of<4>::but_the_tensor_passed_has<2>
template <std::size_t Batch>
struct input_has_a_fixed_batch_of {
    template <std::size_t Given>
    static constexpr bool but_the_tensor_passed_has = Batch == Given;
    static constexpr bool but_the_tensor_passed_has_a_run_time_batch = false;
};

/// input_expects_samples_of<shape<3, 4>>::but_the_tensor_passed_has_samples_of<shape<5, 4>>
template <class SampleShape>
struct input_expects_samples_of {
    template <class Given>
    static constexpr bool but_the_tensor_passed_has_samples_of = std::is_same_v<SampleShape, Given>;
};

namespace detail {

template <class... T>
struct type_list {};
template <class T, class L>
struct prepend;
template <class T, class... U>
struct prepend<T, type_list<U...>> {
    using type = type_list<T, U...>;
};
template <std::size_t I, class L>
struct at;
template <std::size_t I, class T, class... U>
struct at<I, type_list<T, U...>> : at<I - 1, type_list<U...>> {};
template <class T, class... U>
struct at<0, type_list<T, U...>> {
    using type = T;
};

template <class S, std::size_t C>
using with_cols = concat_t<drop_last_t<S>, shape<C>>;

template <class L>
constexpr std::size_t in_features_of() {
    if constexpr (requires { L::in_features; }) return L::in_features;
    else return 0;
}

// One link of the chain. A mismatched or uncallable layer still yields a shape (as if given
// what it expects) so that the only error is the Sequential's own sentence.
template <class T, class S, class L>
struct link {
    using concrete = bind_t<L, S, T>;
    static constexpr std::size_t expects = in_features_of<concrete>();
    static constexpr bool width_ok = expects == 0 || expects == S::cols;
    using in = std::conditional_t<width_ok, S, with_cols<S, expects == 0 ? 1 : expects>>;
    static constexpr bool callable = LayerFor<concrete, in, T>;
    template <bool C = callable>
    static auto out_of() {
        if constexpr (C) return output_shape_t<concrete, in, T>{};
        else return in{};
    }
    using out = decltype(out_of());
};

template <class T, class S, class... Ls>
struct chain {
    using layers = type_list<>;
    using ins = type_list<>;
    using outs = type_list<>;
    using out = S;
};
template <class T, class S, class L, class... R>
struct chain<T, S, L, R...> {
    using lk = link<T, S, L>;
    using rest = chain<T, typename lk::out, R...>;
    using layers = typename prepend<typename lk::concrete, typename rest::layers>::type;
    using ins = typename prepend<S, typename rest::ins>::type;
    using outs = typename prepend<typename lk::out, typename rest::outs>::type;
    using out = typename rest::out;
};

// A flat tuple: stateless layers take no space.
template <std::size_t I, class T>
struct box {
    [[no_unique_address]] T value;
};
template <class Seq, class... T>
struct flat_tuple;
template <std::size_t... I, class... T>
struct flat_tuple<std::index_sequence<I...>, T...> : box<I, T>... {};
template <std::size_t I, class T>
T& get_box(box<I, T>& b) noexcept {
    return b.value;
}
template <std::size_t I, class T>
T const& get_box(box<I, T> const& b) noexcept {
    return b.value;
}

template <class L>
std::string layer_name() {
    if constexpr (requires { L::name; }) return std::string(L::name);
    else {
        std::string s = type_name<typename spec_of<L>::type>();
        constexpr std::string_view dflt = ", Identity>";  // the default activation adds nothing
        if (auto i = s.find(dflt); i != std::string::npos) s.erase(i, dflt.size() - 1);
        return s;
    }
}

// Each takes every value as a template argument, so both compilers print them substituted.
template <class Spec, std::size_t Expected, std::size_t Given>
constexpr bool argument_width_error() {
    static_assert(layer<0, Spec>::template expects_input_features<Expected>::template but_the_input_has<Given>,
                  "lamina::Sequential: the tensor passed to the net has a different width than its first layer expects");
    return true;  // one error per mistake
}
// The input's shape against the Input's, once its rank and width agree: a fixed batch must be
// the same, and the extents between batch and width too.
template <class S0, class SX>
constexpr bool input_shape_check() {
    if constexpr (!std::is_same_v<sample_shape_t<SX>, sample_shape_t<S0>>)
        static_assert(input_expects_samples_of<sample_shape_t<S0>>::template but_the_tensor_passed_has_samples_of<sample_shape_t<SX>>,
                      "lamina::Sequential: the tensor passed to the net has samples of another shape than its Input's");
    else if constexpr (!S0::dynamic && SX::dynamic)
        static_assert(input_has_a_fixed_batch_of<S0::extents[0]>::but_the_tensor_passed_has_a_run_time_batch,
                      "lamina::Sequential: the net's Input has a fixed batch (Input<...>::batch<B>); pass a tensor of "
                      "that static batch, or declare the Input without one");
    else if constexpr (!S0::dynamic && SX::extents[0] != S0::extents[0])
        static_assert(input_has_a_fixed_batch_of<S0::extents[0]>::template but_the_tensor_passed_has<SX::extents[0]>,
                      "lamina::Sequential: the tensor passed to the net has another batch than the net's fixed one");
    return true;  // one error per mistake
}

template <std::size_t I, class Spec, std::size_t Expected, std::size_t Given, class PrevSpec, bool Callable, class InShape>
constexpr bool link_check() {
    if constexpr (Expected != 0 && Expected != Given && I == 0)
        static_assert(layer<0, Spec>::template expects_input_features<Expected>::template but_the_input_has<Given>,
                      "lamina::Sequential: the first layer expects a different input width than the Input gives");
    else if constexpr (Expected != 0 && Expected != Given)
        static_assert(layer<I, Spec>::template expects_input_features<Expected>::template but_layer<I - 1, PrevSpec>::template produces<Given>,
                      "lamina::Sequential: a layer expects a different input width than the layer before it produces");
    else if constexpr (!Callable)
        static_assert(layer<I, Spec>::template cannot_be_called<InShape>::on_inputs_of_shape,
                      "lamina::Sequential: a layer cannot be called on what the layer before it produces");
    return true;
}

/// What a call returns: a view of the output; after a training call, an expression built on it
/// (a loss) sends its gradient into the net, for backward(loss).
template <class T, class S>
class net_output : public tensor_view<T const, S> {
public:
    net_output(T const* data, std::size_t batch, T* grad) : tensor_view<T const, S>(data, batch), grad_(grad) {}
    auto as_leaf() const noexcept { return leaf<T const, S>(this->data(), this->batch(), grad_); }

private:
    T* grad_;
};

template <class In, class Layers>
struct prev_specs;
template <class In, class... C>
struct prev_specs<In, type_list<C...>> {
    using type = type_list<In, typename spec_of<C>::type...>;
};

}  // namespace detail

/// A stack of layers applied in order. The first argument is the Input; every later layer's
/// input width is inferred from the one before it, at compile time.
template <class In, class... Ls>
class Sequential {
    using T = typename In::value_type;
    using S0 = typename In::shape_type;
    using chain = detail::chain<T, S0, Ls...>;
    using seq = std::index_sequence_for<Ls...>;

public:
    static constexpr std::size_t size = sizeof...(Ls);
    using value_type = T;
    using input_shape = S0;
    using output_shape = typename chain::out;
    template <std::size_t I>
    using layer_type = typename detail::at<I, typename chain::layers>::type;
    template <std::size_t I>
    using input_shape_of = typename detail::at<I, typename chain::ins>::type;
    template <std::size_t I>
    using output_shape_of = typename detail::at<I, typename chain::outs>::type;

private:
    template <std::size_t I>
    using link_at = detail::link<T, input_shape_of<I>, typename detail::at<I, detail::type_list<Ls...>>::type>;
    using prev_specs = typename detail::prev_specs<In, typename chain::layers>::type;
    template <std::size_t... I>
    static constexpr bool checked(std::index_sequence<I...>) {
        return (detail::link_check<I, typename detail::spec_of<typename link_at<I>::concrete>::type, link_at<I>::expects,
                                   input_shape_of<I>::cols, typename detail::at<I, prev_specs>::type,
                                   link_at<I>::callable, typename link_at<I>::in>() &&
                ...);
    }
    static_assert(checked(seq{}));
    // Whether every seam fits: a call on a net that does not is not compiled further, so that the
    // seam's sentence is the only error.
    template <std::size_t... I>
    static constexpr bool links_fit(std::index_sequence<I...>) {
        return ((link_at<I>::width_ok && link_at<I>::callable) && ...);
    }

public:
    Sequential() = default;

    template <std::size_t I>
    auto& layer_at() noexcept {
        return detail::get_box<I>(layers_);
    }
    template <std::size_t I>
    auto const& layer_at() const noexcept {
        return detail::get_box<I>(layers_);
    }

    /// Runs every layer; returns a view of the output, valid until the next call. In training
    /// mode the call also records what backward() needs.
    template <operand X>
    auto operator()(X const& x) {
        using D = std::remove_cvref_t<decltype(as_expr(x))>;
        using SX = typename D::shape_type;
        static_assert(std::is_same_v<typename D::value_type, T>, "lamina::Sequential: the input's value type differs from the Input's");
        static_assert(!std::is_same_v<typename D::value_type, T> || SX::rank == S0::rank,
                      "lamina::Sequential: the input's rank differs from the Input's");
        static_assert(!std::is_same_v<typename D::value_type, T> || SX::rank != S0::rank || SX::cols == S0::cols ||
                      detail::argument_width_error<typename detail::spec_of<layer_type<0>>::type, S0::cols, SX::cols>());
        static_assert(!std::is_same_v<typename D::value_type, T> || SX::rank != S0::rank || SX::cols != S0::cols ||
                      detail::input_shape_check<S0, SX>());
        if constexpr (std::is_same_v<typename D::value_type, T> && SX::rank == S0::rank && links_fit(seq{})) {
            return forward(x);
        }
    }

private:
    // forward, run and infer are inlined into the call and, in inference, so is every small
    // layer with a static input (inlined_step): a small net with a fixed batch compiles into its
    // caller, even in a translation unit large enough for GCC to stop inlining on its own.
    template <class X>
    [[gnu::always_inline]] auto forward(X const& x) {
        auto e = as_expr(x);
        T const* p;
        if constexpr (requires { e.data(); }) {
            p = e.data();
        } else {  // an unevaluated expression: evaluate it first
            input_.resize(e.batch());
            assign(input_.view(), e, ws_);
            p = input_.data();
        }
        std::size_t const batch = S0::dynamic ? e.batch() : S0::batch_of(0);
        if (training()) {
            ws_.reset();
            ws_.recording = true;
            recorded_batch_ = batch;
        } else {
            recorded_batch_ = no_record;
            ws_.recording = false;  // a training call's record is dropped (backward now throws)
        }
        run(p, batch);
        if (!training()) ws_.settle();
        auto& out = detail::get_box<size - 1>(outs_);
        T* grad = nullptr;
        if (training()) {
            auto& last = detail::get_box<size - 1>(state().grads);
            if constexpr (output_shape::dynamic) last.resize(out.batch());
            grad = last.data();
        }
        return detail::net_output<T, output_shape>(out.data(), out.batch(), grad);
    }

public:

    /// Calls f(name, param) for each parameter, named "0.weight", "0.bias", ... as in PyTorch.
    template <class F>
    void for_each_parameter(F&& f) {
        walk_params(f, seq{});
    }
    template <class F>
    void for_each_parameter(F&& f) const {
        walk_params(f, seq{});
    }
    /// The same, also visiting each shared parameter under its own name.
    template <class F>
    void for_each_parameter(with_shared_t, F&& f) {
        walk_params<true>(f, seq{});
    }
    template <class F>
    void for_each_parameter(with_shared_t, F&& f) const {
        walk_params<true>(f, seq{});
    }
    /// Number of scalar parameters of the whole net.
    static constexpr std::size_t parameter_count() {
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return (std::size_t{0} + ... + parameter_count_v<layer_type<I>>);
        }(seq{});
    }

    /// Training mode: calls record what backward() needs (PyTorch's net.train()). The recording
    /// forward is compiled only into programs that call train().
    void train(bool on = true) noexcept { record_ = on ? &Sequential::run_recording : nullptr; }
    /// Inference mode, the default: calls are fused and record nothing (PyTorch's net.eval()).
    void eval() noexcept { record_ = nullptr; }
    bool training() const noexcept { return record_ != nullptr; }

    /// Sends a gradient back through the layers of the last call (made in training mode),
    /// adding every parameter's share to its grad(). Either
    ///   backward(loss)  a one-number expression of the output, e.g. cross_entropy(Y, labels):
    ///                   evaluated, its gradient sent back; returns its value (loss.backward());
    ///   backward(dY)    dL/d(output), of the output's shape (Y.backward(dY)).
    template <operand G>
    auto backward(G const& gradient_or_loss) {
        auto u = as_expr(gradient_or_loss);
        using U = decltype(u);
        using US = typename U::shape_type;
        static_assert(std::is_same_v<US, output_shape> || US::rank == 0,
                      "lamina::Sequential::backward: pass a loss (an expression of rank 0) or a gradient of "
                      "the net's output shape");
        if (recorded_batch_ == no_record)
            throw error("lamina::Sequential::backward: no recorded forward pass; call net.train(), then net(X), "
                        "then backward (once per forward)");
        auto& last = detail::get_box<size - 1>(state().grads);
        std::size_t const out_batch = detail::get_box<size - 1>(outs_).batch();
        T const* g;
        typename U::value_type value{};
        if constexpr (US::rank == 0) {
            // The output's leaf (from the training call) collects the loss's gradient here.
            last.fill(T(0));
            T* v = ws_.alloc<T>(1);
            detail::evaluate<detail::eval_mode::record>(u, v, ws_);
            value = *v;
            u.backprop(scalar<T>(T(1)), ws_);
            g = last.data();
        } else {
            if (u.batch() != out_batch)
                throw shape_error("lamina::Sequential::backward: the gradient holds " + std::to_string(u.batch()) +
                                  " samples but the last forward pass had " + std::to_string(out_batch));
            if constexpr (detail::in_memory<U>) {
                g = u.data();
            } else {
                if constexpr (output_shape::dynamic) last.resize(out_batch);
                detail::evaluate(u, last.data(), ws_);
                g = last.data();
            }
        }
        back(g, std::make_index_sequence<size>{});
        recorded_batch_ = no_record;
        ws_.recording = false;
        ws_.settle();
        if constexpr (US::rank == 0) return value;
    }

    /// Sets every parameter's gradient to zero.
    void zero_grad() {
        for_each_parameter([](std::string_view, auto& p) { p.zero_grad(); });
    }

    /// Re-initializes every parameter from its initializer (Gluon's force_reinit).
    void initialize(generator& g = default_generator()) {
        for_each_parameter([&](std::string_view, auto& p) { p.initialize(g); });
    }
    /// Re-initializes with another initializer, as Gluon's initialize(init, force_reinit=True):
    /// parameters whose name ends in "bias" become zeros, every other one is drawn from init.
    template <class Init>
    void initialize(Init init, generator& g = default_generator()) {
        for_each_parameter([&](std::string_view name, auto& p) {
            using P = std::remove_cvref_t<decltype(p)>;
            std::span<typename P::value_type> d(p.data(), p.size());
            if (name.ends_with("bias")) init::zeros{}(d, P::fan_in, P::fan_out, g);
            else init(d, P::fan_in, P::fan_out, g);
        });
    }

    /// The per-layer workspace's size, for checking that repeated calls reuse memory.
    std::size_t workspace_bytes() const noexcept { return ws_.capacity(); }

private:
    [[gnu::always_inline]] void run(T const* p, std::size_t batch) {
        if (record_) record_(*this, p, batch);
        else infer<0>(p, batch);
    }
    // A training call: each layer evaluated on its own, recording what its backward reads.
    static void run_recording(Sequential& net, T const* p, std::size_t batch) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            T const* in[size + 1] = {p};
            ((in[I + 1] = net.template record_step<I>(in[I], batch)), ...);
        }(seq{});
    }

    // Inference, from layer I on: a layer without a matmul of its own after one that ends in a
    // fusable matmul reads it through a seam, and the two run as one evaluation (detail::seam).
    template <std::size_t I>
    [[gnu::always_inline]] void infer(T const* in, std::size_t batch) {
        if constexpr (I < size) {
            if constexpr (seam_fuses<I>()) infer<I + 2>(step_pair<I>(in, batch), batch);
            else if constexpr (inlined_step<I>()) infer<I + 1>(step_body<I>(in, batch), batch);
            else infer<I + 1>(step<I>(in, batch), batch);
        }
    }
    // A layer with a static input and at most inline_step_macs input values × output columns:
    // its forward costs about as much as a call. Larger ones are calls of their own (step,
    // step_pair: never inlined), so that a deep net with a fixed batch does not compile into one
    // function, and so that a kernel's registers do not depend on its caller. Inlined into a
    // loop that calls the net, GCC 12 hoisted and spilled around the kernel: the seed net at
    // batch 4 took 84 ns a call instead of 68, Dense+ReLU 4×8→128 60 ns instead of 44 (one Zen 5
    // core); 2×5→3 and 2×64→8 ran as fast either way.
    static constexpr std::size_t inline_step_macs = 1024;
    template <std::size_t I>
    static constexpr bool inlined_step() {
        using SI = input_shape_of<I>;
        if constexpr (SI::dynamic) return false;
        else return SI::static_size * output_shape_of<I>::cols <= inline_step_macs;
    }
    template <std::size_t I>
    static constexpr bool seam_fuses() {
        if constexpr (I + 1 >= size) return false;
        else if constexpr (!link_at<I>::callable || !link_at<I + 1>::callable) return false;
        else if constexpr (!recorded_t<I>::fusable || recorded_t<I + 1>::matmuls != 0) return false;
        else return requires(layer_type<I + 1> const& l, detail::seam<recorded_t<I>> const& x) {
            { l(x) } -> operand;
        };
    }
    template <std::size_t I>
    [[gnu::noinline]] T const* step_pair(T const* in, std::size_t batch) {
        using SI = input_shape_of<I>;
        using SM = output_shape_of<I>;
        using SO = output_shape_of<I + 1>;
        using P = recorded_t<I>;
        auto& mid = detail::get_box<I>(outs_);
        auto& out = detail::get_box<I + 1>(outs_);
        ws_.reset();
        detail::seam_state<P> st{as_expr(std::as_const(layer_at<I>())(input_leaf<T, SI>(in, SI::batch_of(batch)))),
                                 nullptr, &ws_};
        if constexpr (SM::dynamic) mid.resize(st.e.batch());
        st.buf = mid.data();
        auto e = as_expr(std::as_const(layer_at<I + 1>())(detail::seam<P>(st)));
        static_assert(std::is_same_v<typename decltype(e)::shape_type, SO>);
        if constexpr (SO::dynamic) out.resize(e.batch());
        detail::evaluate_sized<detail::eval_mode::infer>(e, out.data(), ws_);
        return out.data();
    }

    template <std::size_t I>
    [[gnu::noinline]] T const* step(T const* in, std::size_t batch) {
        return step_body<I>(in, batch);
    }
    // In inference, a small layer whose input has every extent known at compile time runs
    // inlined into the call (infer, inlined_step): its forward then keeps its pointers in
    // registers and pushes nothing (Dense 2×5→3 with a fixed batch, called in a loop: 142 -> 124
    // instructions and 12.5 -> 10.8 ns a call).
    template <std::size_t I>
    [[gnu::always_inline]] T const* step_body(T const* in, std::size_t batch) {
        using SI = input_shape_of<I>;
        using SO = output_shape_of<I>;
        auto& out = detail::get_box<I>(outs_);
        auto e = as_expr(std::as_const(layer_at<I>())(input_leaf<T, SI>(in, SI::batch_of(batch))));
        if constexpr (SO::dynamic) out.resize(e.batch());
        ws_.reset();
        detail::evaluate_sized<detail::eval_mode::infer>(e, out.data(), ws_);
        return out.data();
    }
    // Layer I in a training call (run_recording).
    template <std::size_t I>
    T const* record_step(T const* in, std::size_t batch) {
        using SI = input_shape_of<I>;
        using SO = output_shape_of<I>;
        auto& out = detail::get_box<I>(outs_);
        // The input's gradient goes to the previous layer's (the net's input gets none).
        T* gin = nullptr;
        if constexpr (I > 0) {
            auto& gi = detail::get_box<I - 1>(state().grads);
            if constexpr (SI::dynamic) gi.resize(SI::batch_of(batch));
            gin = gi.data();
        }
        auto& e = std::get<I>(state().recorded).emplace(as_expr(std::as_const(layer_at<I>())(input_leaf<T, SI>(in, SI::batch_of(batch), gin))));
        if constexpr (SO::dynamic) out.resize(e.batch());
        detail::evaluate<detail::eval_mode::record>(e, out.data(), ws_);  // ws_ is not reset: backward reads what it keeps
        return out.data();
    }

    // Layer I gets dL/d(its output) in g; its input's gradient buffer starts at zero and
    // collects what the layer sends back.
    template <std::size_t... I>
    void back(T const* g, std::index_sequence<I...>) {
        ((g = back_step<size - 1 - I>(g)), ...);
    }
    template <std::size_t I>
    T const* back_step(T const* g) {
        using SO = output_shape_of<I>;
        T* gin = nullptr;
        if constexpr (I > 0) {
            auto& gi = detail::get_box<I - 1>(state().grads);
            gi.fill(T(0));
            gin = gi.data();
        }
        auto& e = *std::get<I>(state().recorded);
        e.backprop(leaf<T const, SO>(g, detail::get_box<I>(outs_).batch()), ws_);
        return gin;
    }

    template <bool Shared = false, class F, std::size_t... I>
    void walk_params(F& f, std::index_sequence<I...>) {
        (detail::walk<Shared>(layer_at<I>(), std::to_string(I) + ".", f), ...);
    }
    template <bool Shared = false, class F, std::size_t... I>
    void walk_params(F& f, std::index_sequence<I...>) const {
        (detail::walk<Shared>(layer_at<I>(), std::to_string(I) + ".", f), ...);
    }

    template <std::size_t... I>
    static auto make_layers(std::index_sequence<I...>) -> detail::flat_tuple<seq, layer_type<I>...>;
    template <std::size_t... I>
    static auto make_outs(std::index_sequence<I...>) -> detail::flat_tuple<seq, tensor<T, output_shape_of<I>>...>;
    // What layer I's forward returns on its input leaf: kept between a training call and backward.
    // (On the shape the layer expects, and nothing for a layer that cannot be called there:
    // the Sequential's own check reports that mistake, once.)
    template <std::size_t I>
    static auto recorded_of() {
        if constexpr (link_at<I>::callable)
            return std::type_identity<expr_t<decltype(std::declval<layer_type<I> const&>()(
                std::declval<input_leaf<T, typename link_at<I>::in>>()))>>{};
        else return std::type_identity<std::monostate>{};
    }
    template <std::size_t I>
    using recorded_t = typename decltype(recorded_of<I>())::type;
    template <std::size_t... I>
    static auto make_recorded(std::index_sequence<I...>) -> std::tuple<std::optional<recorded_t<I>>...>;
    static constexpr std::size_t no_record = std::size_t(-1);

    // What training needs, made on the first training call: an inference-only net does not
    // carry it.
    struct training_state {
        decltype(make_outs(seq{})) grads{};  // dL/d(output of layer I)
        decltype(make_recorded(seq{})) recorded{};
    };
    training_state& state() {
        if (!train_) train_ = std::make_unique<training_state>();
        return *train_;
    }

    decltype(make_layers(seq{})) layers_{};
    decltype(make_outs(seq{})) outs_{};
    tensor<T, S0> input_{};
    detail::workspace ws_;
    std::unique_ptr<training_state> train_;
    // run_recording while in training mode, null in inference mode (the default).
    void (*record_)(Sequential&, T const*, std::size_t) = nullptr;
    std::size_t recorded_batch_ = no_record;
};

/// The I-th layer of a net.
template <std::size_t I, class In, class... Ls>
auto& get(Sequential<In, Ls...>& net) noexcept {
    return net.template layer_at<I>();
}
template <std::size_t I, class In, class... Ls>
auto const& get(Sequential<In, Ls...> const& net) noexcept {
    return net.template layer_at<I>();
}

namespace detail {

template <class L>
constexpr auto member_names() {
    return boost::hana::unpack(boost::hana::accessors<L>(), [](auto... p) {
        return std::array<std::string_view, sizeof...(p)>{std::string_view(boost::hana::to<char const*>(boost::hana::first(p)))...};
    });
}

template <std::string_view const& Str, std::size_t Pos, std::size_t... I>
chars<Str[Pos + I]...> chars_of(std::index_sequence<I...>);

template <class HanaString>
struct chars_of_hana;
template <char... C>
struct chars_of_hana<boost::hana::string<C...>> {
    using type = chars<C...>;
};

// The members of a hana struct, as names<chars<...>...>.
template <class L>
auto member_name_types() {
    return boost::hana::unpack(boost::hana::accessors<L>(), [](auto... p) {
        return names<typename chars_of_hana<std::remove_cvref_t<decltype(boost::hana::first(p))>>::type...>{};
    });
}

template <std::size_t Index, class L, std::string_view const& Path, std::size_t Pos>
auto& member_at(auto& l) {
    if constexpr (!has_members<L>) {
        static_assert(has_members<L>, "lamina::get<\"i.name\">: layer i has no parameters (it declares no "
                                      "members with BOOST_HANA_DEFINE_STRUCT)");
        return l;
    } else {
        constexpr std::string_view rest = Path.substr(Pos);
        constexpr std::size_t dot = find_char(rest, '.');
        constexpr std::string_view head = rest.substr(0, dot);
        constexpr auto names = member_names<L>();
        constexpr std::size_t k = [&] {
            for (std::size_t i = 0; i < names.size(); ++i)
                if (names[i] == head) return i;
            return names.size();
        }();
        if constexpr (k == names.size()) {
            using name = decltype(chars_of<Path, Pos>(std::make_index_sequence<head.size()>{}));
            static_assert(layer<Index, typename spec_of<L>::type>::template has_no_member<name>::template its_members_are<
                              decltype(member_name_types<L>())>,
                          "lamina::get<\"i.name\">: layer i has no parameter or member of that name; its_members_are<...> lists the names it has");
            return l;
        } else {
            auto& m = boost::hana::second(boost::hana::at_c<k>(boost::hana::accessors<L>()))(l);
            if constexpr (dot == std::string_view::npos) return m;
            else return member_at<Index, std::remove_cvref_t<decltype(m)>, Path, Pos + dot + 1>(m);
        }
    }
}

template <fixed_string S>
struct path_holder {
    static constexpr std::string_view value = S.view();
};

}  // namespace detail

namespace detail {

template <fixed_string Path, class Net>
auto& get_by_name(Net& net) {
    constexpr std::string_view p = path_holder<Path>::value;
    constexpr std::size_t dot = find_char(p, '.');
    constexpr std::size_t idx = [] {
        constexpr std::string_view q = path_holder<Path>::value;
        std::size_t v = 0;
        for (char c : q.substr(0, find_char(q, '.'))) {
            if (c < '0' || c > '9') return std::size_t(-1);
            v = v * 10 + static_cast<std::size_t>(c - '0');
        }
        return v;
    }();
    using N = std::remove_const_t<Net>;
    if constexpr (dot == std::string_view::npos || idx >= N::size) {
        static_assert(dot != std::string_view::npos && idx < N::size,
                      "lamina::get<\"i.name\">: i must be the index of a layer in the Sequential");
        return net;
    } else {
        using L = typename N::template layer_type<idx>;
        return member_at<idx, L, path_holder<Path>::value, dot + 1>(net.template layer_at<idx>());
    }
}

}  // namespace detail

/// A parameter (or sub-layer) by its structural name, resolved at compile time:
/// get<"0.weight">(net). A name that does not exist does not compile.
template <detail::fixed_string Path, class In, class... Ls>
auto& get(Sequential<In, Ls...>& net) {
    return detail::get_by_name<Path>(net);
}
template <detail::fixed_string Path, class In, class... Ls>
auto const& get(Sequential<In, Ls...> const& net) {
    return detail::get_by_name<Path>(net);
}

namespace detail {
// Reads as a sentence in the compiler's note: parameter_of<variable<float, shape<4, 2>>>::
// can_share_one_of<variable<float, shape<4, 4>>>.
template <class Alias>
struct parameter_of {
    template <class Owner>
    static constexpr bool can_share_one_of = std::is_same_v<Alias, Owner>;
};
}  // namespace detail

/// Makes the parameter named Alias use the storage of the one named Owner, names checked at
/// compile time: share<"2.weight", "0.weight">(net). See share(net, alias, owner).
template <detail::fixed_string Alias, detail::fixed_string Owner, class In, class... Ls>
void share(Sequential<In, Ls...>& net) {
    auto& a = get<Alias>(net);
    auto& o = get<Owner>(net);
    using A = detail::variable_of<decltype(a)>;
    static_assert(detail::parameter_of<A>::template can_share_one_of<detail::variable_of<decltype(o)>>,
                  "lamina::share<alias, owner>: shared parameters need the same shape and value type");
    if constexpr (std::is_same_v<A, detail::variable_of<decltype(o)>>) {
        if (static_cast<void*>(&a) == static_cast<void*>(&o))
            throw key_error("lamina::share: '" + std::string(detail::path_holder<Alias>::value) + "' cannot share itself");
        static_cast<A&>(a).share(static_cast<A&>(o));
    }
}

namespace detail {
struct summary_row {
    std::string type, shape;
    std::size_t params, trainable;
};
// summary()'s table, one copy for every net.
inline std::string summary_table(std::span<summary_row const> rows) {
    std::ostringstream os;
    std::string const rule(64, '=');
    os << std::left << std::setw(30) << "Layer (type)" << std::setw(22) << "Output Shape" << "Param #\n" << rule << "\n";
    std::size_t total = 0, trainable = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        os << std::setw(30) << (std::to_string(i) + " (" + rows[i].type + ")") << std::setw(22) << rows[i].shape
           << rows[i].params << "\n";
        total += rows[i].params;
        trainable += rows[i].trainable;
    }
    os << rule << "\nTotal params: " << total << "\n";
    if (trainable != total)
        os << "Trainable params: " << trainable << "\nNon-trainable params: " << total - trainable << "\n";
    return os.str();
}
}  // namespace detail

/// A Keras-like table: each layer's name, output shape and parameter count, then the totals.
/// A shared parameter counts once, in the layer that owns it.
template <class In, class... Ls>
std::string summary(Sequential<In, Ls...> const& net) {
    using Net = Sequential<In, Ls...>;
    std::vector<detail::summary_row> rows;
    rows.reserve(sizeof...(Ls));
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        auto row = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
            detail::summary_row r{detail::layer_name<typename Net::template layer_type<J>>(),
                                  Net::template output_shape_of<J>::str(), 0, 0};
            for_each_parameter(net.template layer_at<J>(), [&](std::string_view, auto const& p) {
                r.params += p.size();
                if (p.requires_grad()) r.trainable += p.size();
            });
            rows.push_back(std::move(r));
        };
        (row(std::integral_constant<std::size_t, I>{}), ...);
    }(std::index_sequence_for<Ls...>{});
    return detail::summary_table(rows);
}

}  // namespace lamina
