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
    e.w.title = "seed net, Dense 8→128 + ReLU → Centered, batch " + std::to_string(B);

    using XT = lm::tensor<float, lm::shape<lm::dyn, IN>>;
    using XS = typename XT::shape_type;

    bench::add_naive<B, IN, OUT, true>(e, X, W, b);
    {
        // Each step its own evaluation: the product, then bias and ReLU, then the mean, then
        // the subtraction.
        using YT = lm::tensor<float, lm::shape<lm::dyn, OUT>>;
        struct st {
            XT x;
            lm::built<lm::Dense<OUT>, IN> layer;
            YT t, h, y;
            lm::tensor<float, lm::shape<>> m;
            lm::detail::workspace ws;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<XS>(X, B);
        bench::set_dense(s->layer, W, b);
        s->t.resize(B);
        s->h.resize(B);
        s->y.resize(B);
        bench::add(e, "lamina_unfused", [s] {
            lm::assign(s->t.view(), lm::matmul(s->x, s->layer.weight), s->ws);
            lm::assign(s->h.view(), lm::relu(s->t + s->layer.bias), s->ws);
            lm::assign(s->m.view(), lm::mean(s->h), s->ws);
            float const m = s->m.data()[0];
            lm::assign(s->y.view(), s->h - m, s->ws);
            return s->y.data();
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
        // The batch fixed at compile time as well, as in Eigen's fixed-size matrices.
        using In = typename lm::Input<IN>::template batch<B>;
        struct st {
            lm::tensor<float, typename In::shape_type> x;
            lm::Sequential<In, lm::Dense<OUT, lm::ReLU>, lm::Centered> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<typename In::shape_type>(X);
        bench::set_dense(lm::get<0>(s->net), W, b);
        bench::add(e, "lamina_static", [s] { return s->net(s->x).data(); });
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
    bench::add_peers<B, IN, OUT, true>(e, X, W, b);
}

}  // namespace

int main(int argc, char** argv) {
    return bench::run(argc, argv, "lamina bench: seed net, Dense(8→128)+ReLU then Centered, float32, row-major", [] {
        bench::setup_peers();
        seed_case<4>();
        seed_case<1024>();
    });
}
