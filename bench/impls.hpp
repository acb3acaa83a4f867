// The implementations the programs share: the plain loops and each peer's idiomatic call.
// The user-written layers (MyDense, CenteredLayer) are the example's, from chapter_layers.hpp.
// Peers are optional (LAMINA_BENCH_EIGEN, LAMINA_BENCH_OPENBLAS, set by meson when found).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"

#ifdef LAMINA_BENCH_EIGEN
#include <Eigen/Core>
#endif
#ifdef LAMINA_BENCH_OPENBLAS
#include <cblas.h>
#endif

#include "common.hpp"

namespace bench {

namespace lm = lamina;

/// A lamina tensor holding v (batch samples, or the static shape).
template <class S>
lm::tensor<float, S> to_tensor(std::vector<float> const& v, std::size_t batch = S::batch_of(0)) {
    lm::tensor<float, S> t = lm::tensor<float, S>::zeros(batch);
    std::copy(v.begin(), v.end(), t.data());
    return t;
}

/// Copies W and b into a dense layer's parameters (built-in or user-written).
template <class Layer>
void set_dense(Layer& l, std::vector<float> const& W, std::vector<float> const& b) {
    std::copy(W.begin(), W.end(), l.weight.data());
    std::copy(b.begin(), b.end(), l.bias.data());
}

// ---------------------------------------------------------------------------------------
// Plain loops.

/// The textbook row-major loop (i, k, j): the compiler may vectorize the inner loop.
inline void dense_relu_naive(float const* X, float const* W, float const* b, float* Y, std::size_t M, std::size_t K,
                             std::size_t N) {
    for (std::size_t i = 0; i < M; ++i) {
        float* y = Y + i * N;
        for (std::size_t j = 0; j < N; ++j) y[j] = b[j];
        for (std::size_t k = 0; k < K; ++k) {
            float const x = X[i * K + k];
            for (std::size_t j = 0; j < N; ++j) y[j] += x * W[k * N + j];
        }
        for (std::size_t j = 0; j < N; ++j) y[j] = std::max(y[j], 0.f);
    }
}

/// Two scalar passes; the double accumulator keeps gcc from vectorizing the sum.
inline void center_naive(float const* x, float* y, std::size_t n) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += x[i];
    float const m = static_cast<float>(s / static_cast<double>(n));
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] - m;
}

/// The pass a BLAS user adds after sgemm.
inline void bias_relu(float* Y, float const* b, std::size_t M, std::size_t N) {
    for (std::size_t i = 0; i < M; ++i)
#pragma omp simd
        for (std::size_t j = 0; j < N; ++j) Y[i * N + j] = std::max(Y[i * N + j] + b[j], 0.f);
}

/// In-place centering as a careful C++ user writes it: vectorized float sums per block,
/// blocks added in double.
inline void center_simd(float* y, std::size_t n) {
    double total = 0;
    for (std::size_t b0 = 0; b0 < n; b0 += 4096) {
        std::size_t const b1 = std::min(n, b0 + 4096);
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (std::size_t i = b0; i < b1; ++i) s += y[i];
        total += s;
    }
    float const m = static_cast<float>(total / static_cast<double>(n));
#pragma omp simd
    for (std::size_t i = 0; i < n; ++i) y[i] -= m;
}

// ---------------------------------------------------------------------------------------
// Peers.

#ifdef LAMINA_BENCH_EIGEN
template <int R, int C>
using eigen_mat = Eigen::Matrix<float, R, C, (C == 1 && R != 1) ? Eigen::ColMajor : Eigen::RowMajor>;
using eigen_dyn = eigen_mat<Eigen::Dynamic, Eigen::Dynamic>;

template <class M>
M to_eigen(std::vector<float> const& v, Eigen::Index rows, Eigen::Index cols) {
    M m(rows, cols);
    std::copy(v.begin(), v.end(), m.data());
    return m;
}

/// Eigen's allocation-free form: product with noalias, then bias and ReLU.
template <class MX, class MW, class MB, class MY>
void eigen_dense_relu(MX const& X, MW const& W, MB const& b, MY& Y) {
    Y.noalias() = X * W;
    Y = (Y.rowwise() + b).cwiseMax(0.f);
}

template <class MX, class MY>
void eigen_center(MX const& X, MY& Y) {
    Y = X.array() - X.mean();
}
#endif

#ifdef LAMINA_BENCH_OPENBLAS
inline void openblas_dense_relu(float const* X, float const* W, float const* b, float* Y, std::size_t M,
                                std::size_t K, std::size_t N) {
    auto const m = static_cast<blasint>(M), k = static_cast<blasint>(K), n = static_cast<blasint>(N);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, X, k, W, n, 0.f, Y, n);
    bias_relu(Y, b, M, N);
}
#endif

/// One core for every peer (lamina is single-threaded), and their versions in the header.
inline void setup_peers() {
#ifdef LAMINA_BENCH_EIGEN
    bool avx2 = false, fma = false;  // SimdInstructionSetsInUse() names neither below AVX-512
#ifdef EIGEN_VECTORIZE_AVX2
    avx2 = true;
#endif
#ifdef EIGEN_VECTORIZE_FMA
    fma = true;
#endif
    note("eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION) + " simd: " + Eigen::SimdInstructionSetsInUse() +
         (avx2 ? ", AVX2" : "") + (fma ? ", FMA" : "") + ", 1 thread (no OpenMP)");
#else
    note("eigen: not found, skipped");
#endif
#ifdef LAMINA_BENCH_OPENBLAS
    openblas_set_num_threads(1);
    note(std::string("openblas: ") + openblas_get_config() + ", core " + openblas_get_corename() + ", 1 thread");
#else
    note("openblas: not found, skipped");
#endif
}

// ---------------------------------------------------------------------------------------
// The hand-written and peer implementations of Dense+ReLU (then, when Centered, the seed
// net's centering pass), registered on a workload. Shared by dense_relu.cpp and seed_net.cpp.

template <std::size_t B, std::size_t IN, std::size_t OUT, bool Centered>
void add_naive(entry& e, std::vector<float> const& X, std::vector<float> const& W, std::vector<float> const& b) {
    struct st {
        std::vector<float> X, W, b, Y;
    };
    auto s = std::make_shared<st>(st{X, W, b, std::vector<float>(B * OUT)});
    add(e, "naive", [s] {
        dense_relu_naive(s->X.data(), s->W.data(), s->b.data(), s->Y.data(), B, IN, OUT);
        if constexpr (Centered) center_naive(s->Y.data(), s->Y.data(), B * OUT);
        return s->Y.data();
    });
}

template <std::size_t B, std::size_t IN, std::size_t OUT, bool Centered>
void add_peers([[maybe_unused]] entry& e, [[maybe_unused]] std::vector<float> const& X,
               [[maybe_unused]] std::vector<float> const& W, [[maybe_unused]] std::vector<float> const& b) {
#ifdef LAMINA_BENCH_EIGEN
    // Fixed-size only while every matrix fits Eigen's stack allocation limit (128 KiB).
    constexpr std::size_t fixed_max = EIGEN_STACK_ALLOCATION_LIMIT / sizeof(float);
    if constexpr (B * IN <= fixed_max && IN * OUT <= fixed_max && B * OUT <= fixed_max) {
        struct st {
            eigen_mat<B, IN> X;
            eigen_mat<IN, OUT> W;
            eigen_mat<1, OUT> b;
            eigen_mat<B, OUT> Y;
        };
        auto s = std::make_shared<st>();
        s->X = to_eigen<decltype(s->X)>(X, B, IN);
        s->W = to_eigen<decltype(s->W)>(W, IN, OUT);
        s->b = to_eigen<decltype(s->b)>(b, 1, OUT);
        add(e, "eigen_fixed", [s] {
            eigen_dense_relu(s->X, s->W, s->b, s->Y);
            if constexpr (Centered) eigen_center(s->Y, s->Y);
            return s->Y.data();
        });
    }
    {
        struct st {
            eigen_dyn X, W;
            Eigen::RowVectorXf b;
            eigen_dyn Y;
        };
        auto s = std::make_shared<st>();
        s->X = to_eigen<eigen_dyn>(X, B, IN);
        s->W = to_eigen<eigen_dyn>(W, IN, OUT);
        s->b = to_eigen<Eigen::RowVectorXf>(b, 1, OUT);
        s->Y.resize(B, OUT);
        add(e, "eigen_dyn", [s] {
            eigen_dense_relu(s->X, s->W, s->b, s->Y);
            if constexpr (Centered) eigen_center(s->Y, s->Y);
            return s->Y.data();
        });
    }
#endif
#ifdef LAMINA_BENCH_OPENBLAS
    {
        struct st {
            std::vector<float> X, W, b, Y;
        };
        auto s = std::make_shared<st>(st{X, W, b, std::vector<float>(B * OUT)});
        add(e, "openblas", [s] {
            openblas_dense_relu(s->X.data(), s->W.data(), s->b.data(), s->Y.data(), B, IN, OUT);
            if constexpr (Centered) center_simd(s->Y.data(), B * OUT);
            return s->Y.data();
        });
    }
#endif
}

}  // namespace bench
