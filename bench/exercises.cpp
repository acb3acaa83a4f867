// The chapter's exercises as layers, against the plain loops and the peers a user would pick:
//   TensorReduction, y_k = Σ_ij W_ijk x_i x_j: the triple loop, Eigen (outer products, then
//     one GEMM), lamina (outer(X) times W viewed as (In·In, K) on lamina's GEMM);
//   FourierHalf, the leading half of each row's DFT: a naive DFT (twiddle table), KissFFT's
//     real FFT (Debian's libkissfft, float), lamina's FFT (SIMD across rows) and lamina's GEMM
//     with the DFT matrix (what dft_half picks below n = 64).
#include <cmath>
#include <cstring>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "impls.hpp"

#ifdef LAMINA_BENCH_KISSFFT
#include <kiss_fftr.h>
#endif

namespace {

namespace lm = lamina;

// ---------------------------------------------------------------------------------------
// TensorReduction

bench::reference tensor_reduction_ref(std::vector<float> const& X, std::vector<float> const& W, std::size_t B,
                                      std::size_t In, std::size_t K) {
    bench::reference r;
    r.y.assign(B * K, 0.0);
    double scale = 0;
    std::vector<double> mag(K);
    for (std::size_t b = 0; b < B; ++b) {
        std::fill(mag.begin(), mag.end(), 0.0);
        for (std::size_t i = 0; i < In; ++i)
            for (std::size_t j = 0; j < In; ++j) {
                double const p = double(X[b * In + i]) * X[b * In + j];
                for (std::size_t k = 0; k < K; ++k) {
                    r.y[b * K + k] += p * W[(i * In + j) * K + k];
                    mag[k] += std::abs(p * W[(i * In + j) * K + k]);
                }
            }
        for (double m : mag) scale = std::max(scale, m);
    }
    r.tol = double(In * In + 2) * 0x1p-24 * scale;
    return r;
}

/// The exercise's formula as loops: for each sample, y[k] += x_i·x_j·W[i, j, k], k innermost
/// (the compiler vectorizes it).
void tensor_reduction_naive(float const* X, float const* W, float* Y, std::size_t B, std::size_t In, std::size_t K) {
    for (std::size_t b = 0; b < B; ++b) {
        float* y = Y + b * K;
        for (std::size_t k = 0; k < K; ++k) y[k] = 0;
        for (std::size_t i = 0; i < In; ++i)
            for (std::size_t j = 0; j < In; ++j) {
                float const p = X[b * In + i] * X[b * In + j];
                float const* w = W + (i * In + j) * K;
#pragma omp simd
                for (std::size_t k = 0; k < K; ++k) y[k] += p * w[k];
            }
    }
}

template <std::size_t B, std::size_t In, std::size_t K>
void tensor_reduction_case() {
    std::uint64_t const seed = B * 7919 + In * 31 + K;
    auto const X = bench::uniform(B * In, -1, 1, seed);
    auto const W = bench::uniform(In * In * K, -1.0 / In, 1.0 / In, seed + 1);
    double const flop = 2.0 * B * In * In * K;
    auto& e = bench::add_workload({"tensor_reduction_b" + std::to_string(B) + "_i" + std::to_string(In) + "_k" + std::to_string(K),
                                   "y_k = Σ_ij W_ijk x_i x_j, FLOP = 2·B·In²·K = " + bench::group_digits(flop),
                                   bench::metric::flops, flop, tensor_reduction_ref(X, W, B, In, K)});
    e.w.baseline = "lamina";
    e.w.title = "TensorReduction, batch " + std::to_string(B) + ", " + std::to_string(In) + " inputs, " +
                std::to_string(K) + " outputs";
    {
        auto y = std::make_shared<std::vector<float>>(B * K);
        bench::add(e, "naive_loop", [X, W, y] {
            tensor_reduction_naive(X.data(), W.data(), y->data(), B, In, K);
            return y->data();
        });
    }
    {
        struct st {
            lm::tensor<float, lm::shape<lm::dyn, In>> x;
            lm::Sequential<lm::Input<In>, lm::TensorReduction<K>> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<lm::shape<lm::dyn, In>>(X, B);
        std::copy(W.begin(), W.end(), lm::get<0>(s->net).weight.data());
        bench::add(e, "lamina", [s] { return s->net(s->x).data(); });
    }
#ifdef LAMINA_BENCH_EIGEN
    {
        // Outer products row by row into P (B, In²), then P·W on Eigen's GEMM.
        struct st {
            bench::eigen_dyn x, p, w, y;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_eigen<bench::eigen_dyn>(X, B, In);
        s->w = bench::to_eigen<bench::eigen_dyn>(W, In * In, K);
        s->p.resize(B, In * In);
        s->y.resize(B, K);
        bench::add(e, "eigen", [s] {
            for (Eigen::Index b = 0; b < Eigen::Index(B); ++b)
                Eigen::Map<bench::eigen_dyn>(s->p.row(b).data(), In, In).noalias() = s->x.row(b).transpose() * s->x.row(b);
            s->y.noalias() = s->p * s->w;
            return s->y.data();
        });
    }
#endif
}

// ---------------------------------------------------------------------------------------
// FourierHalf

bench::reference dft_ref(std::vector<float> const& X, std::size_t B, std::size_t n) {
    bench::reference r;
    r.y.assign(B * n, 0.0);
    double scale = 0;
    for (std::size_t b = 0; b < B; ++b) {
        double mag = 0;
        for (std::size_t t = 0; t < n; ++t) mag += std::abs(double(X[b * n + t]));
        scale = std::max(scale, mag);
        for (std::size_t k = 0; k < n / 2; ++k) {
            double re = 0, im = 0;
            for (std::size_t t = 0; t < n; ++t) {
                double const a = 2 * std::numbers::pi * double(k * t % n) / double(n);
                re += X[b * n + t] * std::cos(a);
                im -= X[b * n + t] * std::sin(a);
            }
            r.y[b * n + 2 * k] = re;
            r.y[b * n + 2 * k + 1] = im;
        }
    }
    r.tol = double(n + 2) * 0x1p-24 * scale;  // any summation order, float twiddles
    return r;
}

/// The definition with a table of the n twiddles: O(n²) per row.
struct naive_dft {
    std::size_t n;
    std::vector<float> c, s;
    explicit naive_dft(std::size_t len) : n(len), c(len), s(len) {
        for (std::size_t t = 0; t < n; ++t) {
            c[t] = float(std::cos(2 * std::numbers::pi * double(t) / double(n)));
            s[t] = float(-std::sin(2 * std::numbers::pi * double(t) / double(n)));
        }
    }
    void operator()(float const* x, float* y, std::size_t B) const {
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t k = 0; k < n / 2; ++k) {
                float re = 0, im = 0;
                for (std::size_t t = 0, kt = 0; t < n; ++t, kt = (kt + k) % n) {
                    re += x[b * n + t] * c[kt];
                    im += x[b * n + t] * s[kt];
                }
                y[b * n + 2 * k] = re;
                y[b * n + 2 * k + 1] = im;
            }
    }
};

template <std::size_t B, std::size_t n>
void fourier_case() {
    auto const X = bench::uniform(B * n, -1, 1, B * 131 + n);
    double const flop = 2.5 * B * n * std::log2(double(n));  // a real FFT's 5/2·n·log2(n) per row, FFTW's convention
    auto& e = bench::add_workload({"fourier_half_b" + std::to_string(B) + "_n" + std::to_string(n),
                                   "leading half of each row's DFT, \"FLOP\" = 2.5·B·n·log2(n) = " + bench::group_digits(flop),
                                   bench::metric::flops, flop, dft_ref(X, B, n)});
    e.w.baseline = "lamina";
    e.w.title = "FourierHalf, batch " + std::to_string(B) + ", n = " + std::to_string(n);
    using S = lm::shape<lm::dyn, n>;
    {
        auto y = std::make_shared<std::vector<float>>(B * n);
        auto d = std::make_shared<naive_dft>(n);
        bench::add(e, "naive_dft", [X, y, d] {
            (*d)(X.data(), y->data(), B);
            return y->data();
        });
    }
#ifdef LAMINA_BENCH_KISSFFT
    {
        struct st {
            kiss_fftr_cfg cfg = nullptr;
            std::vector<kiss_fft_cpx> tmp = std::vector<kiss_fft_cpx>(n / 2 + 1);
            std::vector<float> y = std::vector<float>(B * n);
            ~st() { kiss_fftr_free(cfg); }
        };
        auto s = std::make_shared<st>();
        s->cfg = kiss_fftr_alloc(int(n), 0, nullptr, nullptr);
        bench::add(e, "kissfft", [X, s] {
            for (std::size_t b = 0; b < B; ++b) {
                kiss_fftr(s->cfg, X.data() + b * n, s->tmp.data());
                std::memcpy(s->y.data() + b * n, s->tmp.data(), n * sizeof(float));  // {r, i} pairs: the layout
            }
            return s->y.data();
        });
    }
#endif
    {
        struct st {
            lm::tensor<float, S> x, y;
            lm::detail::workspace ws;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<S>(X, B);
        s->y.resize(B);
        bench::add(e, "lamina_fft", [s] {
            lm::assign(s->y.view(), lm::dft_half_fft(s->x), s->ws);
            return s->y.data();
        });
        bench::add(e, "lamina_gemm", [s] {
            lm::assign(s->y.view(), lm::dft_half_matmul(s->x), s->ws);
            return s->y.data();
        });
    }
    {
        struct st {
            lm::tensor<float, S> x;
            lm::Sequential<lm::Input<n>, lm::FourierHalf> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<S>(X, B);
        bench::add(e, "lamina", [s] { return s->net(s->x).data(); });
    }
}

}  // namespace

int main(int argc, char** argv) {
    return bench::run(argc, argv, "lamina bench: the chapter's exercises, TensorReduction and FourierHalf, float32", [] {
        bench::setup_peers();
#ifdef LAMINA_BENCH_KISSFFT
        bench::note("kissfft: Debian's libkissfft-float, kiss_fftr per row");
#else
        bench::note("kissfft: not found, skipped");
#endif
        tensor_reduction_case<256, 32, 16>();
        tensor_reduction_case<1024, 64, 64>();
        fourier_case<256, 16>();
        fourier_case<256, 32>();
        fourier_case<256, 64>();
        fourier_case<256, 128>();
        fourier_case<256, 256>();
        fourier_case<32, 4096>();
    });
}
