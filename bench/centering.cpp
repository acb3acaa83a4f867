// Centering, Y = X − mean(X) over every element: every implementation side by side.
#include <memory>
#include <string>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xtensor.hpp>

#include "impls.hpp"

namespace {

namespace lm = lamina;

// S: lamina's shape (static, or a dynamic batch of R rows); R×C: the same as a matrix.
template <class S, std::size_t R, std::size_t C>
void centering_case(std::string const& label) {
    constexpr std::size_t n = R * C;
    auto const X = bench::uniform(n, 0, 1, n);  // torch.rand: the mean is far from zero
    double const bytes = 3.0 * 4.0 * n;
    auto& e = bench::add_workload({"centering_" + label,
                                   "Y = X − mean(X), bytes = 3·4·N = " + bench::group_digits(bytes),
                                   bench::metric::bytes, bytes, bench::center_ref(X)});
    e.w.title = "Centering " + (R == 1 ? std::to_string(C) : std::to_string(R) + "×" + std::to_string(C));
    std::size_t const batch = S::dynamic ? R : S::batch_of(0);

    {
        struct st {
            std::vector<float> X, Y;
        };
        auto s = std::make_shared<st>(st{X, std::vector<float>(n)});
        bench::add(e, "naive", [s] {
            bench::center_naive(s->X.data(), s->Y.data(), n);
            return s->Y.data();
        });
    }
    {
        // The mean as its own evaluation, then the subtraction as another.
        struct st {
            lm::tensor<float, S> x, y;
            lm::tensor<float, lm::shape<>> m;
            lm::detail::workspace ws;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<S>(X, batch);
        s->y = bench::to_tensor<S>(X, batch);
        bench::add(e, "lamina_unfused", [s] {
            lm::assign(s->m.view(), lm::mean(s->x), s->ws);
            float const m = s->m.data()[0];
            lm::assign(s->y.view(), s->x - m, s->ws);
            return s->y.data();
        });
    }
    {
        struct st {
            lm::tensor<float, S> x;
            lm::Sequential<lm::InputOf<S>, lm::Centered> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<S>(X, batch);
        bench::add(e, "lamina_fused", [s] { return s->net(s->x).data(); });
    }
    {
        struct st {
            lm::tensor<float, S> x;
            lm::Sequential<lm::InputOf<S>, CenteredLayer> net;
        };
        auto s = std::make_shared<st>();
        s->x = bench::to_tensor<S>(X, batch);
        bench::add(e, "lamina_user", [s] { return s->net(s->x).data(); });
    }
#ifdef LAMINA_BENCH_EIGEN
    if constexpr (n * sizeof(float) <= EIGEN_STACK_ALLOCATION_LIMIT) {
        struct st {
            bench::eigen_mat<R, C> X, Y;
        };
        auto s = std::make_shared<st>();
        s->X = bench::to_eigen<decltype(s->X)>(X, R, C);
        bench::add(e, "eigen_fixed", [s] {
            bench::eigen_center(s->X, s->Y);
            return s->Y.data();
        });
    }
    {
        struct st {
            bench::eigen_dyn X, Y;
        };
        auto s = std::make_shared<st>();
        s->X = bench::to_eigen<bench::eigen_dyn>(X, R, C);
        s->Y.resize(R, C);
        bench::add(e, "eigen_dyn", [s] {
            bench::eigen_center(s->X, s->Y);
            return s->Y.data();
        });
    }
#endif
    {
        using xarr = xt::xtensor<float, S::rank>;
        struct st {
            xarr a, y;
        };
        auto s = std::make_shared<st>();
        auto const ext = S::runtime_extents(batch);
        typename xarr::shape_type sh;
        std::copy(ext.begin(), ext.end(), sh.begin());
        s->a = xarr::from_shape(sh);
        s->y = xarr::from_shape(sh);
        std::copy(X.begin(), X.end(), s->a.data());
        bench::add(e, "xtensor", [s] {
            xt::noalias(s->y) = s->a - xt::mean(s->a)();
            return s->y.data();
        });
    }
}

}  // namespace

int main(int argc, char** argv) {
    return bench::run(argc, argv, "lamina bench: centering, Y = X − mean(X), float32, row-major", [] {
        bench::setup_peers();
        centering_case<lm::shape<5>, 1, 5>("5");
        centering_case<lm::shape<4, 128>, 4, 128>("4x128");
        centering_case<lm::shape<lm::dyn, 1024>, 256, 1024>("256x1024");
        centering_case<lm::shape<lm::dyn, 8192>, 8192, 8192>("8192x8192");
    });
}
