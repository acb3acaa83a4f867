// Evaluation: picks the fused path (GEMM with the expression as epilogue) or the fused
// element-wise loop, after the reductions the expression needs.
#pragma once

#include <ostream>
#include <type_traits>

#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/matmul.hpp"
#include "lamina/expr/reduce.hpp"
#include "lamina/kernels/elementwise.hpp"

namespace lamina {

namespace detail {

// The consumer expression, referred to: the epilogue is copied into each block of rows (see
// kernels::gemm_detail::own_epilogue), and a pointer copies for free.
template <class E>
struct fused_epilogue {
    static constexpr bool copyable = true;
    E const* e;
    template <class V>
    [[gnu::always_inline]] V operator()(std::size_t r, std::size_t j, V acc) const {
        return e->template get<V>(epi_ctx<V>{acc}, r, j);
    }
};
/// The same, summing what it stores (kernels::gemm's tile sums).
template <class E>
struct summing_epilogue : fused_epilogue<E> {
    typename E::value_type* tile_sums;
};

/// What an evaluation compiles: the fused path only, recording nothing whatever ws.recording
/// says (inference, assign(), a tensor built from an expression), the recording path only (a
/// training call, whose backward reads what the nodes keep), or both, picked at run time by
/// ws.recording (an operand evaluated inside another evaluation). A fusable expression's
/// recording path is its product into a buffer, then an element-wise pass; each path is a GEMM
/// of its own, so a caller that knows which it needs compiles only that one.
enum class eval_mode { infer, record, either };

/// out = e. `e` is prepared here, so it must not have been prepared before. While ws is
/// recording, e keeps what its backward pass reads, until ws is reset.
template <eval_mode M = eval_mode::either, class E, class T>
[[gnu::always_inline]] inline void evaluate_inline(E& e, T* out, workspace& ws) {
    if constexpr (E::fusable && M != eval_mode::record) {
        if (M == eval_mode::infer || !ws.recording) {
            e.prepare(ws, std::true_type{});
            fused_epilogue<E> epi{&e};
            e.visit_fused([&](auto const& mm) { mm.run(out, epi); });
            return;
        }
    }
    if constexpr (M != eval_mode::infer || !E::fusable) {
        e.prepare(ws, std::false_type{});
        kernels::elementwise_inline(e, out);
    }
}
template <eval_mode M = eval_mode::either, class E, class T>
void evaluate(E& e, T* out, workspace& ws) {
    evaluate_inline<M>(e, out, ws);
}
/// evaluate(), inlined into its caller when every extent is known at compile time: a small
/// layer's whole evaluation then compiles into the call, with no expression left in memory.
template <eval_mode M = eval_mode::either, class E, class T>
[[gnu::always_inline]] inline void evaluate_sized(E& e, T* out, workspace& ws) {
    if constexpr (E::shape_type::dynamic) evaluate<M>(e, out, ws);
    else evaluate_inline<M>(e, out, ws);
}

/// The output of one layer read as the input of the next (Sequential builds it), evaluated only
/// when first needed. A consumer with no matmul of its own fuses into the producer's GEMM: the
/// consumer's element-wise expression then runs in that GEMM's epilogue, so that, for example,
/// a ReLU layer after a linear Dense costs nothing. A consumer that also reduces the seam (such
/// as X - mean(X)) has it evaluated once into its buffer, with the sum taken in the GEMM's
/// epilogue (known_sum): the mean costs no pass over the output. The sum is taken whenever the
/// seam is evaluated into its buffer, needed or not: a few additions per tile, where a second
/// GEMM without them would be compiled for every pair of layers.
template <class E>
struct seam_state {
    E e;                                   // the producer, fusable: one matmul feeding it
    typename E::value_type* buf;           // where the producer's values go when they must exist
    workspace* ws;
    bool done = false;
    double sum = 0;
};

template <class E>
struct seam : expr_base<seam<E>> {
    static_assert(E::fusable, "lamina: a seam's producer must end in a fusable matmul");
    using value_type = typename E::value_type;
    using shape_type = typename E::shape_type;
    static constexpr int matmuls = E::matmuls;
    static constexpr bool fusable = true;
    static constexpr bool flat = true;

    seam_state<E>* s;
    value_type const* buf;  // s->buf, one load nearer
    explicit seam(seam_state<E>& st) noexcept : s(&st), buf(st.buf) {}
    std::size_t batch() const noexcept { return s->e.batch(); }
    template <bool Defer>
    void prepare(workspace& ws, std::bool_constant<Defer> defer) {
        if constexpr (Defer) s->e.prepare(ws, defer);
        else produce();
    }
    /// The producer's values, evaluated into the buffer on first use.
    value_type const* data() const {
        produce();
        return s->buf;
    }
    /// The sum of every value, taken by the GEMM while storing them: valid once prepare(ws,
    /// std::false_type) or data() has run.
    double known_sum() const noexcept { return s->sum; }
    template <class V, class Ctx>
    V get(Ctx const& c, std::size_t r, std::size_t j) const noexcept {
        if constexpr (is_epi_for<Ctx, V>) return s->e.template get<V>(c, r, j);
        else return load<V>(buf + r * shape_type::cols + j);
    }
    template <class F>
    void visit_fused(F&& f) const {
        s->e.visit_fused(f);
    }
    // Only inference builds seams; training records each layer on its own input.
    static constexpr bool needs_grad() noexcept { return false; }
    template <class G>
    void backprop(G const&, workspace&) const noexcept {}

private:
    // A product with every extent static and at most this many tile-sum values keeps them on
    // the stack, zeroed and added in registers (the seed net at batch 4: 64).
    static constexpr std::size_t stack_slots = 256;
    // At most this many tile-sum values (under AVX-512, a run-time batch of up to 6 rows of 512
    // floats; 256 under AVX2 or SSE) are added in one vector chain: sum_all's blocks in double,
    // out of line, took 10 % of the seed net's time at batch 4.
    static constexpr std::size_t small_slots = 128;

    void produce() const {
        if (s->done) return;
        s->done = true;
        E& e = s->e;
        e.prepare(*s->ws, std::true_type{});
        using S = typename E::shape_type;
        if constexpr (!S::dynamic && kernels::sum_slots<S::cols, value_type>(S::rows(0)) <= stack_slots) {
            constexpr std::size_t n = kernels::sum_slots<S::cols, value_type>(S::rows(0));
            alignas(64) value_type slots[n];
            s->sum = summed<n>(e, slots);
        } else {
            std::size_t const n = kernels::sum_slots<S::cols, value_type>(S::rows(e.batch()));
            s->sum = summed<0>(e, s->ws->template alloc<value_type>(n), n);  // aligned: the GEMM adds whole vectors
        }
    }
    // Runs the product into the buffer, taking its tile sums in `slots` (N of them, or n when N
    // is 0); returns their total. N > 0: zeroed and added with straight-line vector code (a
    // zeroing loop became a call to memset, which cost the seed net at batch 4 about 10 %).
    template <std::size_t N>
    [[gnu::always_inline]] double summed(E& e, value_type* slots, std::size_t n = N) const {
        using V = simd<value_type>;  // n is a multiple of the vector width
        constexpr std::size_t W = V::size;
        if constexpr (N > 0) {
            [&]<std::size_t... i>(std::index_sequence<i...>) {
                ((V(value_type(0)).store_aligned(slots + i * W)), ...);
            }(std::make_index_sequence<N / W>{});
        } else {
            for (std::size_t i = 0; i < n; i += W) V(value_type(0)).store_aligned(slots + i);
        }
        summing_epilogue<E> epi{{&e}, slots};
        e.visit_fused([&](auto const& mm) { mm.run(s->buf, epi); });
        if constexpr (N > 0) {
            V total = [&]<std::size_t... i>(std::index_sequence<i...>) {
                return (V(value_type(0)) + ... + V::load_aligned(slots + i * W));
            }(std::make_index_sequence<N / W>{});
            return static_cast<double>(xsimd::hadd(total));
        } else if (n <= small_slots) {  // a few vectors: one chain, without sum_all's blocks and call
            V total(value_type(0));
            for (std::size_t i = 0; i < n; i += W) total += V::load_aligned(slots + i);
            return static_cast<double>(xsimd::hadd(total));
        } else {
            return kernels::sum_all(leaf<value_type const, shape<dyn>>(slots, n));
        }
    }
};

template <class T, class E>
T const* materialize(E& e, workspace& ws) {
    if constexpr (requires { e.data(); }) {
        return e.data();
    } else {
        T* buf = ws.alloc<T>(E::shape_type::size(e.batch()));
        evaluate(e, buf, ws);
        return buf;
    }
}

}  // namespace detail

/// Evaluates `e` into `out`, fused, using `ws` for intermediates (no allocation once ws is warm);
/// nothing is recorded for a backward pass.
template <class T, class S, expression E>
void assign(tensor_view<T, S> out, E e, detail::workspace& ws) {
    static_assert(std::is_same_v<S, typename E::shape_type>, "lamina::assign: the target's shape differs from the expression's");
    if (out.batch() != e.batch())
        throw shape_error("lamina::assign: the target holds " + std::to_string(out.batch()) +
                          " samples but the expression has " + std::to_string(e.batch()));
    ws.reset();
    detail::evaluate<detail::eval_mode::infer>(e, out.data(), ws);
    ws.settle();
}

/// Evaluates an expression into a new tensor.
template <expression E>
auto eval(E const& e) {
    return tensor<typename E::value_type, typename E::shape_type>(e);
}

template <class T, class S>
template <class E>
    requires requires { typename std::remove_cvref_t<E>::is_lamina_expr; }
tensor<T, S>::tensor(E const& e) : tensor(uninit{}, E::shape_type::batch_of(e.batch())) {
    static_assert(detail::holds_shape<S, typename E::shape_type>,
                  "lamina::tensor: the expression's shape differs from the tensor's");
    static_assert(std::is_same_v<T, typename E::value_type>,
                  "lamina::tensor: the expression's value type differs from the tensor's");
    detail::workspace ws;  // not recording
    E copy = e;
    detail::evaluate<detail::eval_mode::infer>(copy, data(), ws);
}

template <class D>
auto expr_base<D>::eval() const {
    return lamina::eval(derived());
}
template <class D>
auto expr_base<D>::item() const {
    return lamina::eval(derived()).item();
}

template <expression E>
std::ostream& operator<<(std::ostream& os, E const& e) {
    return os << lamina::eval(e);
}

}  // namespace lamina
