// lamina/threads.hpp: set_num_threads, the pool's parallel_for, and the promise that results do
// not depend on the thread count: the GEMMs (packed and unpacked, with an epilogue, and Aᵀ·B)
// and a training step give the same bits with 1, 2 and 3 threads.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>
#include <lamina/threads.hpp>

#include "chapter_layers.hpp"
#include "support.hpp"

namespace lm = lamina;
using lamina_test::bias_relu;
using lamina_test::threads_guard;

namespace {

// "" when a and b hold the same bits; else the first element that differs.
template <class T>
std::string bit_differences(std::vector<T> const& a, std::vector<T> const& b) {
    if (a.size() != b.size()) return "sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0)
            return "element " + std::to_string(i) + ": " + std::to_string(a[i]) + " vs " + std::to_string(b[i]);
    return "";
}

template <class T>
std::vector<T> normals(std::size_t n, lm::generator& g) {
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(g.normal());
    return v;
}


constexpr unsigned thread_counts[] = {2, 3};

// gemm<K, N> with the epilogue, and C += A·B, on `threads` threads (left set: callers hold a
// threads_guard); and the epilogue's product again, twice, with B kept packed as a frozen
// parameter's values are (the first call packs it, the second reuses it).
template <class T, std::size_t K, std::size_t N>
struct gemm_run {
    std::vector<T> with_epilogue, accumulated, kept;
    std::vector<int> seen;
};

template <class T, std::size_t K, std::size_t N>
gemm_run<T, K, N> run_gemm(unsigned threads, std::size_t M, std::vector<T> const& A, std::vector<T> const& B,
                           std::vector<T> const& bias, std::vector<T> const& C0) {
    lm::set_num_threads(threads);
    gemm_run<T, K, N> r{std::vector<T>(M * N, T(-7)), C0, {}, {}};
    lm::detail::workspace ws;
    bias_relu<T> epi{bias.data(), N, std::vector<int>(M * N, 0)};
    lm::kernels::gemm<K, N>(A.data(), M, B.data(), r.with_epilogue.data(), epi, ws);
    lm::kernels::identity_epilogue id;
    lm::kernels::gemm<K, N>(A.data(), M, B.data(), r.accumulated.data(), id, ws, true);
    r.seen = std::move(epi.seen);
    lm::detail::pack_cache<T> cache;
    lm::detail::block_stamp const stamp{1, 1};
    for (int call = 0; call < 2; ++call) {
        r.kept.assign(M * N, T(-7));
        bias_relu<T> e{bias.data(), N, std::vector<int>(M * N, 0)};
        lm::kernels::gemm<K, N>(A.data(), M, B.data(), r.kept.data(), e, ws, false, {&cache, &stamp});
    }
    bool const packs = K * N >= 16384 && M >= 12 && N >= lm::kernels::gemm_detail::tiles<T>::NR;
    CHECK(cache.holds(&stamp) == packs);
    CHECK(cache.packs() == (packs ? 1u : 0u));
    return r;
}

template <class T, std::size_t K, std::size_t N>
void gemm_same_bits(std::initializer_list<std::size_t> rows,
                    std::vector<unsigned> const& counts = {std::begin(thread_counts), std::end(thread_counts)}) {
    threads_guard guard;
    lm::generator g(K * 1000 + N);
    for (std::size_t M : rows) {
        INFO("(" << M << " x " << K << ") x (" << K << " x " << N << ")");
        auto const A = normals<T>(M * K, g), B = normals<T>(K * N, g), bias = normals<T>(N, g), C0 = normals<T>(M * N, g);
        auto const one = run_gemm<T, K, N>(1, M, A, B, bias, C0);
        CHECK(bit_differences(one.kept, one.with_epilogue) == "");
        for (unsigned t : counts) {
            INFO(t << " threads");
            auto const many = run_gemm<T, K, N>(t, M, A, B, bias, C0);
            CHECK(bit_differences(many.with_epilogue, one.with_epilogue) == "");
            CHECK(bit_differences(many.accumulated, one.accumulated) == "");
            CHECK(bit_differences(many.kept, one.with_epilogue) == "");
            CHECK(std::all_of(many.seen.begin(), many.seen.end(), [](int s) { return s == 1; }));
        }
    }
}

// C (+)= Aᵀ·B by gemm_tn<M, N> on `threads` threads (left set, as by run_gemm): {overwritten,
// accumulated}.
template <class T, std::size_t M, std::size_t N>
std::vector<std::vector<T>> run_gemm_tn(unsigned threads, std::size_t D, std::vector<T> const& A,
                                        std::vector<T> const& B, std::vector<T> const& C0) {
    lm::set_num_threads(threads);
    std::vector<T> C(M * N, T(-7)), Cacc = C0;
    lm::detail::workspace ws;
    lm::kernels::gemm_tn<M, N>(A.data(), D, B.data(), C.data(), ws, false);
    lm::kernels::gemm_tn<M, N>(A.data(), D, B.data(), Cacc.data(), ws, true);
    return {C, Cacc};
}

template <class T, std::size_t M, std::size_t N>
void gemm_tn_same_bits(std::initializer_list<std::size_t> depths) {
    threads_guard guard;
    lm::generator g(M * 1000 + N);
    for (std::size_t D : depths) {
        INFO("(" << D << " x " << M << ")ᵀ x (" << D << " x " << N << ")");
        auto const A = normals<T>(D * M, g), B = normals<T>(D * N, g), C0 = normals<T>(M * N, g);
        auto const one = run_gemm_tn<T, M, N>(1, D, A, B, C0);
        for (unsigned t : thread_counts) {
            INFO(t << " threads");
            auto const many = run_gemm_tn<T, M, N>(t, D, A, B, C0);
            CHECK(bit_differences(many[0], one[0]) == "");
            CHECK(bit_differences(many[1], one[1]) == "");
        }
    }
}

}  // namespace

TEST_CASE("set_num_threads sets what num_threads reports, and rejects zero", "[threads]") {
    threads_guard guard;
    CHECK(lm::num_threads() == 1);
    for (unsigned n : {2u, 3u, 3u, 1u, 2u, 1u}) {
        lm::set_num_threads(n);
        CHECK(lm::num_threads() == n);
    }
    CHECK_THROWS_AS(lm::set_num_threads(0), lm::error);
    CHECK(lm::num_threads() == 1);
}

TEST_CASE("parallel_for runs every task exactly once, nested calls inline", "[threads]") {
    threads_guard guard;
    for (unsigned t : {1u, 2u, 3u}) {
        lm::set_num_threads(t);
        for (std::size_t n : {0, 1, 2, 3, 7, 1000}) {
            INFO(t << " threads, " << n << " tasks");
            std::vector<std::atomic<int>> runs(n);
            // Many regions in a row: each must wait for its own tasks only.
            for (int rep = 0; rep < 50; ++rep)
                lm::detail::parallel_for(n, [&](std::size_t i) { runs[i].fetch_add(1, std::memory_order_relaxed); });
            CHECK(std::all_of(runs.begin(), runs.end(), [](auto const& r) { return r.load() == 50; }));
        }
        std::vector<int> inner(12, 0);
        lm::detail::parallel_for(3, [&](std::size_t i) {
            lm::detail::parallel_for(4, [&](std::size_t j) { ++inner[i * 4 + j]; });
        });
        CHECK(std::all_of(inner.begin(), inner.end(), [](int r) { return r == 1; }));
    }
}

TEST_CASE("The unpacked GEMM gives the same bits with 1, 2 and 3 threads", "[threads][kernels]") {
    // K * N < 16384, or fewer than 12 rows: no packing; rows past every multiple of 6, full
    // strips, single-vector strips and scalar columns.
    gemm_same_bits<float, 64, 200>({1, 5, 7, 61, 97, 500});
    gemm_same_bits<float, 37, 33>({13, 1001});
    gemm_same_bits<float, 300, 303>({7, 11});
    gemm_same_bits<double, 40, 99>({97, 500});
}

TEST_CASE("The packed GEMM gives the same bits with 1, 2 and 3 threads", "[threads][kernels]") {
    // Depth past one block (256), columns past one panel (256) and not a multiple of 16,
    // rows past one block (96) and not a multiple of 6.
    gemm_same_bits<float, 300, 303>({12, 13, 95, 97, 200, 301});
    gemm_same_bits<float, 784, 256>({256, 1000});
    gemm_same_bits<float, 64, 256>({64, 203});
    gemm_same_bits<double, 257, 70>({15, 193});
    // 515 rows: panels of 1024 columns (kernels::gemm's big_a_bytes).
    gemm_same_bits<float, 260, 1060>({515});
    // Fewer full strips than threads (one, with 4 floats a vector): the threads split the rows
    // instead, in whole micro-tiles, each part at least two of them.
    gemm_same_bits<float, 2048, 12>({12, 13, 24, 25, 97, 200});
    // The same with a B too large to be packed inside its first tiles (512 KiB).
    gemm_same_bits<float, 8192, 16>({24, 61});
    // Four threads over one or two strips (16 or 32 columns: SSE2 packs 8 a strip, AVX2 16):
    // the threads split strips and rows together.
    gemm_same_bits<float, 1200, 16>({48, 97}, {4});
    gemm_same_bits<float, 600, 32>({48, 97}, {4});
}

TEST_CASE("The Aᵀ·B GEMM gives the same bits with 1, 2 and 3 threads", "[threads][kernels]") {
    // M past one row block (96) and not a multiple of 6; N past one panel and with tails.
    gemm_tn_same_bits<float, 100, 300>({1, 255, 257, 600});
    gemm_tn_same_bits<float, 784, 256>({256});
    gemm_tn_same_bits<float, 97, 35>({1000});
    gemm_tn_same_bits<float, 130, 10>({300});
    gemm_tn_same_bits<double, 203, 45>({129});
}

namespace {

using Net = lm::Sequential<lm::Input<100>, MyDense<72>, CenteredLayer, lm::Dense<33, lm::ReLU>, lm::Dense<10>>;

// Three sgd steps on one batch on `threads` threads (left set, as by run_gemm), then the
// eval-mode output (the GEMMs with fused epilogues) and every parameter, flattened.
std::vector<float> trained(unsigned threads) {
    lm::set_num_threads(threads);
    constexpr std::size_t batch = 203;
    lm::generator g(11);
    lm::tensor<float, lm::shape<lm::dyn, 100>> x{batch};
    for (std::size_t i = 0; i < batch; ++i)
        for (std::size_t j = 0; j < 100; ++j) x(i, j) = static_cast<float>(g.normal());
    std::vector<std::int32_t> labels(batch);
    for (std::size_t i = 0; i < batch; ++i) labels[i] = static_cast<std::int32_t>(i % 10);
    Net net;
    net.initialize(lm::init::uniform_fan_in{}, g);
    lm::optim::sgd opt(net, {.lr = 0.1, .momentum = 0.9});
    net.train();
    for (int step = 0; step < 3; ++step) {
        auto Y = net(x);
        net.backward(lm::cross_entropy(Y, labels));
        opt.step();
        net.zero_grad();
    }
    net.eval();
    auto Y = net(x);
    std::vector<float> out(Y.begin(), Y.end());
    net.for_each_parameter([&](std::string_view, auto const& p) { out.insert(out.end(), p.begin(), p.end()); });
    return out;
}

}  // namespace

TEST_CASE("Training steps of a small Sequential give the same parameters with 1, 2 and 3 threads", "[threads][training]") {
    threads_guard guard;
    auto const one = trained(1);
    CHECK(bit_differences(trained(2), one) == "");
    CHECK(bit_differences(trained(3), one) == "");
}
