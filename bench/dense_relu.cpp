// Dense+ReLU, Y = relu(X·W + b): every implementation side by side in one process.
#include <cmath>
#include <memory>
#include <string>

#include "impls.hpp"

namespace {

namespace lm = lamina;

template <std::size_t B, std::size_t IN, std::size_t OUT>
void dense_case() {
    std::uint64_t const seed = B * 1'000'003 + IN * 1009 + OUT;
    double const wb = 1.0 / std::sqrt(static_cast<double>(IN));  // PyTorch's Linear init range
    auto const X = bench::uniform(B * IN, -1, 1, seed);
    auto const W = bench::uniform(IN * OUT, -wb, wb, seed + 1);
    auto const b = bench::uniform(OUT, -0.5, 0.5, seed + 2);
    std::string const shape = std::to_string(B) + "_i" + std::to_string(IN) + "_o" + std::to_string(OUT);
    double const flop = 2.0 * B * IN * OUT;
    auto& e = bench::add_workload({"dense_b" + shape,
                                   "Y = relu(X·W + b), FLOP = 2·B·IN·OUT = " + bench::group_digits(flop),
                                   bench::metric::flops, flop, bench::dense_relu_ref(X, W, b, B, IN, OUT)});
    e.w.title = "Dense+ReLU " + std::to_string(B) + "×" + std::to_string(IN) + "→" + std::to_string(OUT);

    using XT = lm::tensor<float, lm::shape<lm::dyn, IN>>;
    using YT = lm::tensor<float, lm::shape<lm::dyn, OUT>>;

    bench::add_naive<B, IN, OUT, false>(e, X, W, b);
    {
        // The product evaluated into a tensor, then bias and ReLU as a second expression.
        struct st {
            XT x;
            lm::built<lm::Dense<OUT>, IN> layer;
            YT t, y;
            lm::detail::workspace ws;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<typename XT::shape_type>(X, B);
        bench::set_dense(s->layer, W, b);
        s->t.resize(B);
        s->y.resize(B);
        bench::add(e, "lamina_unfused", [s] {
            lm::assign(s->t.view(), lm::matmul(s->x, s->layer.weight), s->ws);
            lm::assign(s->y.view(), lm::relu(s->t + s->layer.bias), s->ws);
            return s->y.data();
        });
    }
    {
        struct st {
            XT x;
            lm::Sequential<lm::Input<IN>, lm::Dense<OUT, lm::ReLU>> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<typename XT::shape_type>(X, B);
        bench::set_dense(lm::get<0>(s->net), W, b);
        bench::add(e, "lamina_fused", [s] { return s->net(s->x).data(); });
    }
    {
        // The batch fixed at compile time as well, as in Eigen's fixed-size matrices.
        using In = typename lm::Input<IN>::template batch<B>;
        struct st {
            lm::tensor<float, typename In::shape_type> x;
            lm::Sequential<In, lm::Dense<OUT, lm::ReLU>> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<typename In::shape_type>(X);
        bench::set_dense(lm::get<0>(s->net), W, b);
        bench::add(e, "lamina_static", [s] { return s->net(s->x).data(); });
    }
    {
        // The same layer outside a Sequential, evaluated into a tensor.
        struct st {
            XT x;
            lm::built<lm::Dense<OUT, lm::ReLU>, IN> layer;
            YT y;
            lm::detail::workspace ws;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<typename XT::shape_type>(X, B);
        bench::set_dense(s->layer, W, b);
        s->y.resize(B);
        bench::add(e, "lamina_built", [s] {
            lm::assign(s->y.view(), s->layer(s->x), s->ws);
            return s->y.data();
        });
    }
    {
        struct st {
            XT x;
            lm::Sequential<lm::Input<IN>, MyDense<OUT>> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<typename XT::shape_type>(X, B);
        bench::set_dense(lm::get<0>(s->net), W, b);
        bench::add(e, "lamina_user", [s] { return s->net(s->x).data(); });
    }
    bench::add_peers<B, IN, OUT, false>(e, X, W, b);
}

}  // namespace

int main(int argc, char** argv) {
    return bench::run(argc, argv, "lamina bench: Dense+ReLU, Y = relu(X·W + b), float32, row-major", [] {
        bench::setup_peers();
        dense_case<2, 5, 3>();
        dense_case<2, 64, 8>();
        dense_case<4, 8, 128>();
        dense_case<64, 256, 256>();
        dense_case<256, 1024, 1024>();
        dense_case<1024, 4096, 4096>();
    });
}
