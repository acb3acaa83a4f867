// dft_half(X): the leading half of each row's real DFT. For rows of n values, the coefficients
// k = 0 .. ⌊n/2⌋ - 1 as 2⌊n/2⌋ values, real and imaginary parts interleaved:
// torch.view_as_real(torch.fft.fft(X)[..., :n // 2]).flatten(-2). Its gradient is the adjoint
// of the truncated DFT.
#pragma once

#include <cstddef>

#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/matmul.hpp"
#include "lamina/expr/node.hpp"
#include "lamina/kernels/fft.hpp"

namespace lamina {

/// Readable rejections: "dft_half_of_length<24>::needs_twice_a_power_of_two" (the FFT path),
/// "dft_half_of_length<1>::needs_at_least_two_values".
template <std::size_t N>
struct dft_half_of_length {
    static constexpr bool needs_twice_a_power_of_two = N % 2 == 0 && kernels::fft_detail::is_power_of_two(N / 2);
    static constexpr bool needs_at_least_two_values = N >= 2;
};

/// The FFT path: n/2 a power of two.
template <class A>
struct dft_half_expr : expr_base<dft_half_expr<A>> {
    using value_type = typename A::value_type;
    using shape_type = typename A::shape_type;
    static constexpr std::size_t N = shape_type::cols;
    static_assert(dft_half_of_length<N>::needs_twice_a_power_of_two,
                  "lamina::dft_half_fft: the length n of the last axis must be twice a power of two (dft_half takes any n)");
    static constexpr int matmuls = A::matmuls;
    static constexpr bool fusable = false;
    static constexpr bool flat = true;

    A a;
    value_type const* px = nullptr;
    value_type* out = nullptr;

    explicit dft_half_expr(A x) : a(std::move(x)) {}
    std::size_t batch() const noexcept { return a.batch(); }
    void prepare(detail::workspace& ws, auto) {
        px = detail::materialize<value_type>(a, ws);
        out = ws.alloc<value_type>(shape_type::size(a.batch()));
        if constexpr (dft_half_of_length<N>::needs_twice_a_power_of_two)
            kernels::dft_half_fft<N>(px, shape_type::rows(a.batch()), out, ws);
    }
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t r, std::size_t j) const noexcept {
        return detail::load<V>(out + r * N + j);
    }
    bool needs_grad() const noexcept { return a.needs_grad(); }
    template <class G>
    void backprop(G const& g, detail::workspace& ws) const {
        if (!a.needs_grad()) return;
        auto const gm = detail::settle_grad(g, ws);
        value_type* d = ws.alloc<value_type>(shape_type::size(a.batch()));
        if constexpr (dft_half_of_length<N>::needs_twice_a_power_of_two)
            kernels::dft_half_fft_adjoint<N>(gm.data(), shape_type::rows(a.batch()), d, ws);
        a.backprop(leaf<value_type const, shape_type>(d, a.batch()), ws);
    }
};

/// dft_half by radix-2 FFTs, SIMD across rows: n must be twice a power of two.
template <operand X>
auto dft_half_fft(X&& x) {
    auto a = as_expr(std::forward<X>(x));
    return dft_half_expr<decltype(a)>(std::move(a));
}

/// dft_half as one GEMM with the constant (n × 2⌊n/2⌋) cos/sin matrix: any n >= 2, n² values.
template <operand X>
auto dft_half_matmul(X&& x) {
    auto a = as_expr(std::forward<X>(x));
    using T = typename decltype(a)::value_type;
    constexpr std::size_t N = decltype(a)::shape_type::cols;
    static_assert(dft_half_of_length<N>::needs_at_least_two_values,
                  "lamina::dft_half: the last axis must hold at least two values");
    constexpr std::size_t M = N < 2 ? 2 : N / 2 * 2;  // (a 1 would only add errors to the one above)
    return matmul(std::move(a), leaf<T const, shape<N, M>>(kernels::dft_half_matrix<N, T>(), N));
}

namespace detail {
// bench/exercises.cpp, float, AVX2 (g++ 12, 1 thread, batch 256): the GEMM is faster up to
// n = 64 (57 vs 71 µs), the FFT from n = 128 on (152 vs 239 µs; 0.31 vs 1.0 ms at n = 256).
inline constexpr std::size_t dft_half_fft_from = 128;
}  // namespace detail

/// The leading half of each row's DFT: for rows of n real values, X_k = Σ_t x_t·e^{-2πikt/n}
/// for k < ⌊n/2⌋, as 2⌊n/2⌋ values (Re X_0, Im X_0, Re X_1, Im X_1, ...): n values for an even
/// n, n - 1 for an odd one (torch's x[..., :n // 2]). Runs the FFT when n/2 is a power of two
/// and n >= 128, else one GEMM with the DFT matrix.
template <operand X>
auto dft_half(X&& x) {
    constexpr std::size_t N = expr_t<X>::shape_type::cols;
    if constexpr (N >= detail::dft_half_fft_from && dft_half_of_length<N>::needs_twice_a_power_of_two)
        return dft_half_fft(std::forward<X>(x));
    else return dft_half_matmul(std::forward<X>(x));
}

}  // namespace lamina
