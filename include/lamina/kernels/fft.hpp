// The leading half of a real DFT per row, and its adjoint, for a static even length n whose
// half is a power of two: one complex FFT of length n/2 per row (the real input packed as
// x[2t] + i·x[2t+1]), radix 2, run on W rows at once, one row per SIMD lane.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <vector>

#include "lamina/detail/workspace.hpp"
#include "lamina/expr/node.hpp"

namespace lamina::kernels {

namespace fft_detail {

constexpr bool is_power_of_two(std::size_t n) noexcept { return n != 0 && (n & (n - 1)) == 0; }

/// Tables for length n (M = n/2 complex points), built once per (T, n), in double.
template <class T, std::size_t n>
struct plan {
    static constexpr std::size_t M = n / 2;
    std::vector<std::uint32_t> rev;  // bit reversal of [0, M)
    std::vector<T> wr, wi;           // stage of half-length h at offset h - 1: e^{-iπj/h}, j < h
    std::vector<T> c, s;             // e^{-2πik/n} = c[k] + i·s[k], k < M
    plan() : rev(M), wr(M), wi(M), c(M), s(M) {
        std::size_t bits = 0;
        while ((std::size_t{1} << bits) < M) ++bits;
        for (std::size_t t = 0; t < M; ++t) {
            std::size_t r = 0;
            for (std::size_t b = 0; b < bits; ++b) r |= ((t >> b) & 1) << (bits - 1 - b);
            rev[t] = static_cast<std::uint32_t>(r);
        }
        for (std::size_t h = 1; h < M; h *= 2)
            for (std::size_t j = 0; j < h; ++j) {
                double const a = -std::numbers::pi * static_cast<double>(j) / static_cast<double>(h);
                wr[h - 1 + j] = static_cast<T>(std::cos(a));
                wi[h - 1 + j] = static_cast<T>(std::sin(a));
            }
        for (std::size_t k = 0; k < M; ++k) {
            double const a = -2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
            c[k] = static_cast<T>(std::cos(a));
            s[k] = static_cast<T>(std::sin(a));
        }
    }
    static plan const& get() {
        static plan const p;
        return p;
    }
};

// E is T (one row) or a SIMD batch (L = W rows); the arrays hold L values per point.
template <class E, std::size_t L, class T>
[[gnu::always_inline]] inline E ld(T const* p, std::size_t i) noexcept {
    return detail::load<E>(p + i * L);
}
template <class E, std::size_t L, class T>
[[gnu::always_inline]] inline void st(T* p, std::size_t i, E v) noexcept {
    detail::store(p + i * L, v);
}

/// In-place complex FFT of M points (input in bit-reversed order), decimation in time.
template <class E, std::size_t L, std::size_t M, class T>
void fft(T* re, T* im, plan<T, 2 * M> const& p) {
    for (std::size_t h = 1; h < M; h *= 2) {
        T const* wr = p.wr.data() + h - 1;
        T const* wi = p.wi.data() + h - 1;
        for (std::size_t s0 = 0; s0 < M; s0 += 2 * h)
            for (std::size_t j = 0; j < h; ++j) {
                std::size_t const a = s0 + j, b = a + h;
                E const cr(wr[j]), ci(wi[j]);
                E const br = ld<E, L>(re, b), bi = ld<E, L>(im, b);
                E const tr = br * cr - bi * ci, ti = br * ci + bi * cr;
                E const ar = ld<E, L>(re, a), ai = ld<E, L>(im, a);
                st<E, L>(re, b, ar - tr);
                st<E, L>(im, b, ai - ti);
                st<E, L>(re, a, ar + tr);
                st<E, L>(im, a, ai + ti);
            }
    }
}

/// L rows of x (row stride n) from row r0: their leading half spectra into out.
template <class E, std::size_t L, std::size_t n, class T>
void forward_block(T const* x, T* out, T* re, T* im, T* tmp) {
    constexpr std::size_t M = n / 2;
    auto const& p = plan<T, n>::get();
    // Point by point, the L rows inner: each point's L values are one vector's store, and the
    // rows are read as L sequential streams. (Row by row, every row swept the whole of re and
    // im again: L passes over n·L values, which outgrow L2 for long rows.)
    for (std::size_t t = 0; t < M; ++t)
        for (std::size_t l = 0; l < L; ++l) {
            re[p.rev[t] * L + l] = x[l * n + 2 * t];
            im[p.rev[t] * L + l] = x[l * n + 2 * t + 1];
        }
    fft<E, L, M>(re, im, p);
    E const half(T(0.5));
    for (std::size_t k = 0; k < M; ++k) {
        std::size_t const q = (M - k) % M;
        E const zr = ld<E, L>(re, k), zi = ld<E, L>(im, k), yr = ld<E, L>(re, q), yi = ld<E, L>(im, q);
        E const er = (zr + yr) * half, ei = (zi - yi) * half;  // the even samples' spectrum
        E const orr = (zi + yi) * half, oi = (yr - zr) * half;  // the odd samples'
        E const c(p.c[k]), s(p.s[k]);
        st<E, L>(tmp, 2 * k, er + c * orr - s * oi);
        st<E, L>(tmp, 2 * k + 1, ei + c * oi + s * orr);
    }
    for (std::size_t i = 0; i < n; ++i)  // the same order, from the other side
        for (std::size_t l = 0; l < L; ++l) out[l * n + i] = tmp[i * L + l];
}

/// The adjoint for L rows: dx[t] = Re Σ_k g_k·e^{2πikt/n}, as one FFT of length M.
template <class E, std::size_t L, std::size_t n, class T>
void adjoint_block(T const* g, T* dx, T* re, T* im, T* tmp) {
    constexpr std::size_t M = n / 2;
    auto const& p = plan<T, n>::get();
    for (std::size_t i = 0; i < n; ++i)  // point by point, the rows inner (see forward_block)
        for (std::size_t l = 0; l < L; ++l) tmp[i * L + l] = g[l * n + i];
    E const half(T(0.5));
    for (std::size_t k = 0; k < M; ++k) {
        std::size_t const q = (M - k) % M;
        E const ar = ld<E, L>(tmp, 2 * k), ai = ld<E, L>(tmp, 2 * k + 1);
        E const cr = ld<E, L>(tmp, 2 * q), ci = ld<E, L>(tmp, 2 * q + 1);
        E const ck(p.c[k]), sk(p.s[k]), cq(p.c[q]), sq(p.s[q]);
        // u = a_k + conj(a_q); v = b_k + conj(b_q) with b_k = a_k·conj(w_k)
        E const ur = ar + cr, ui = ai - ci;
        E const vr = (ar * ck + ai * sk) + (cr * cq + ci * sq);
        E const vi = (ai * ck - ar * sk) - (ci * cq - cr * sq);
        // z = conj((u + i·v) / 2), bit-reversed for the FFT
        st<E, L>(re, p.rev[k], (ur - vi) * half);
        st<E, L>(im, p.rev[k], -((ui + vr) * half));
    }
    fft<E, L, M>(re, im, p);
    for (std::size_t t = 0; t < M; ++t)
        for (std::size_t l = 0; l < L; ++l) {
            dx[l * n + 2 * t] = re[t * L + l];
            dx[l * n + 2 * t + 1] = -im[t * L + l];
        }
}

}  // namespace fft_detail

namespace fft_detail {
// Runs block<V, W, n> (forward_block or adjoint_block) over rows × n values: W rows at a time,
// one per SIMD lane, then the rows left one at a time.
template <std::size_t n, class T, class Block>
void over_rows(T const* in, std::size_t rows, T* out, detail::workspace& ws, Block block) {
    static_assert(n % 2 == 0 && is_power_of_two(n / 2), "lamina::kernels::dft_half_fft: n/2 must be a power of two");
    using V = detail::simd<T>;
    constexpr std::size_t W = V::size;
    T* re = ws.alloc<T>(n / 2 * W);
    T* im = ws.alloc<T>(n / 2 * W);
    T* tmp = ws.alloc<T>(n * W);
    std::size_t r = 0;
    for (; r + W <= rows; r += W) block.template operator()<V, W>(in + r * n, out + r * n, re, im, tmp);
    for (; r < rows; ++r) block.template operator()<T, 1>(in + r * n, out + r * n, re, im, tmp);
}
}  // namespace fft_detail

/// out (rows × n) = for each row of x (rows × n), the DFT coefficients k = 0 .. n/2 - 1,
/// interleaved (Re X_0, Im X_0, Re X_1, ...). n/2 must be a power of two.
template <std::size_t n, class T>
void dft_half_fft(T const* x, std::size_t rows, T* out, detail::workspace& ws) {
    fft_detail::over_rows<n>(x, rows, out, ws, []<class V, std::size_t W>(T const* a, T* b, T* re, T* im, T* tmp) {
        fft_detail::forward_block<V, W, n>(a, b, re, im, tmp);
    });
}

/// dx (rows × n) = the adjoint of dft_half_fft applied to g (rows × n, interleaved):
/// dx[t] = Σ_k Re(g_k)·cos(2πkt/n) - Im(g_k)·sin(2πkt/n).
template <std::size_t n, class T>
void dft_half_fft_adjoint(T const* g, std::size_t rows, T* dx, detail::workspace& ws) {
    fft_detail::over_rows<n>(g, rows, dx, ws, []<class V, std::size_t W>(T const* a, T* b, T* re, T* im, T* tmp) {
        fft_detail::adjoint_block<V, W, n>(a, b, re, im, tmp);
    });
}

/// The (n × 2⌊n/2⌋) matrix F with X·F = dft_half(X): F[t, 2k] = cos(2πkt/n), F[t, 2k + 1] =
/// -sin(2πkt/n), the angle reduced mod n in integers before it is computed in double.
template <std::size_t n, class T>
T const* dft_half_matrix() {
    constexpr std::size_t w = n / 2 * 2;
    static std::vector<T> const f = [] {
        std::vector<T> m(n * w);
        for (std::size_t t = 0; t < n; ++t)
            for (std::size_t k = 0; k < n / 2; ++k) {
                double const a = 2 * std::numbers::pi * static_cast<double>(k * t % n) / static_cast<double>(n);
                m[t * w + 2 * k] = static_cast<T>(std::cos(a));
                m[t * w + 2 * k + 1] = static_cast<T>(-std::sin(a));
            }
        return m;
    }();
    return f.data();
}

/// Scalar twin: the textbook O(n²) DFT per row, in double; out has rows of 2⌊n/2⌋ values.
template <std::size_t n, class T>
void dft_half_scalar(T const* x, std::size_t rows, T* out) {
    constexpr std::size_t w = n / 2 * 2;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t k = 0; k < n / 2; ++k) {
            double re = 0, im = 0;
            for (std::size_t t = 0; t < n; ++t) {
                double const a = 2 * std::numbers::pi * static_cast<double>(k * t % n) / static_cast<double>(n);
                re += static_cast<double>(x[r * n + t]) * std::cos(a);
                im -= static_cast<double>(x[r * n + t]) * std::sin(a);
            }
            out[r * w + 2 * k] = static_cast<T>(re);
            out[r * w + 2 * k + 1] = static_cast<T>(im);
        }
}

}  // namespace lamina::kernels
