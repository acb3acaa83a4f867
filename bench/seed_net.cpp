// The chapter's seed net, Dense(8→128)+ReLU then centering (X − mean over all elements),
// every implementation side by side in one process.
#include <cmath>
#include <memory>
#include <string>

#include "impls.hpp"

namespace {

namespace lm = lamina;

constexpr std::size_t IN = 8, OUT = 128;

template <std::size_t B>
void seed_case() {
    double const wb = 1.0 / std::sqrt(static_cast<double>(IN));
    auto const X = bench::uniform(B * IN, 0, 1, 7 * B);  // torch.rand, as in the chapter
    auto const W = bench::uniform(IN * OUT, -wb, wb, 7 * B + 1);
    auto const b = bench::uniform(OUT, -0.5, 0.5, 7 * B + 2);
    double const flop = 2.0 * B * IN * OUT;
    auto& e = bench::add_workload({"seed_net_b" + std::to_string(B),
                                   "Y = centered(relu(X·W + b)), 8→128, FLOP (dense part) = " + bench::group_digits(flop),
                                   bench::metric::flops, flop,
                                   bench::center_ref(bench::dense_relu_ref(X, W, b, B, IN, OUT))});

    using XT = lm::tensor<float, lm::shape<lm::dyn, IN>>;
    using XS = typename XT::shape_type;

    {
        struct st {
            std::vector<float> X, W, b, Y;
        };
        auto s = std::make_shared<st>(st{X, W, b, std::vector<float>(B * OUT)});
        bench::add(e, "naive", [s] {
            bench::dense_relu_naive(s->X.data(), s->W.data(), s->b.data(), s->Y.data(), B, IN, OUT);
            bench::center_naive(s->Y.data(), s->Y.data(), B * OUT);
            return s->Y.data();
        });
    }
    {
        struct st {
            XT x;
            lm::Sequential<lm::Input<IN>, lm::Dense<OUT, lm::ReLU>, lm::Centered> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<XS>(X, B);
        bench::set_dense(lm::get<0>(s->net), W, b);
        bench::add(e, "lamina_fused", [s] { return s->net(s->x).data(); });
    }
    {
        struct st {
            XT x;
            lm::Sequential<lm::Input<IN>, MyDense<OUT>, CenteredLayer> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<XS>(X, B);
        bench::set_dense(lm::get<0>(s->net), W, b);
        bench::add(e, "lamina_user", [s] { return s->net(s->x).data(); });
    }
#ifdef LAMINA_BENCH_EIGEN
    if constexpr (B * OUT * sizeof(float) <= EIGEN_STACK_ALLOCATION_LIMIT) {
        struct st {
            bench::eigen_mat<B, IN> X;
            bench::eigen_mat<IN, OUT> W;
            bench::eigen_mat<1, OUT> b;
            bench::eigen_mat<B, OUT> Y;
        };
        auto s = std::make_shared<st>();
        s->X = bench::to_eigen<decltype(s->X)>(X, B, IN);
        s->W = bench::to_eigen<decltype(s->W)>(W, IN, OUT);
        s->b = bench::to_eigen<decltype(s->b)>(b, 1, OUT);
        bench::add(e, "eigen_fixed", [s] {
            bench::eigen_dense_relu(s->X, s->W, s->b, s->Y);
            bench::eigen_center(s->Y, s->Y);
            return s->Y.data();
        });
    }
    {
        struct st {
            bench::eigen_dyn X, W;
            Eigen::RowVectorXf b;
            bench::eigen_dyn Y;
        };
        auto s = std::make_shared<st>();
        s->X = bench::to_eigen<bench::eigen_dyn>(X, B, IN);
        s->W = bench::to_eigen<bench::eigen_dyn>(W, IN, OUT);
        s->b = bench::to_eigen<Eigen::RowVectorXf>(b, 1, OUT);
        s->Y.resize(B, OUT);
        bench::add(e, "eigen_dyn", [s] {
            bench::eigen_dense_relu(s->X, s->W, s->b, s->Y);
            bench::eigen_center(s->Y, s->Y);
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
        bench::add(e, "openblas", [s] {
            bench::openblas_dense_relu(s->X.data(), s->W.data(), s->b.data(), s->Y.data(), B, IN, OUT);
            bench::center_simd(s->Y.data(), B * OUT);
            return s->Y.data();
        });
    }
#endif
}

}  // namespace

int main(int argc, char** argv) {
    return bench::run(argc, argv, "lamina bench: seed net, Dense(8→128)+ReLU then Centered, float32, row-major", [] {
        bench::setup_peers();
        seed_case<4>();
        seed_case<1024>();
    });
}
