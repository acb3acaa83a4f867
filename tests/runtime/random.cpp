// lamina/random.hpp: seeded generators, and the random tensors drawn from them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::differences;

namespace {

struct moments {
    double mean = 0, stddev = 0, min = INFINITY, max = -INFINITY;
};

template <class R>
moments moments_of(R const& r) {
    moments m;
    double n = 0, s = 0, s2 = 0;
    for (double v : r) {
        n += 1;
        s += v;
        s2 += v * v;
        m.min = std::min(m.min, v);
        m.max = std::max(m.max, v);
    }
    m.mean = s / n;
    m.stddev = std::sqrt(s2 / n - m.mean * m.mean);
    return m;
}

}  // namespace

TEST_CASE("Two generators with the same seed draw the same uniform and normal numbers", "[random]") {
    lm::generator a(42), b(42), c(43);
    bool same = true, differs_from_other_seed = false;
    for (int i = 0; i < 1000; ++i) {
        double const ua = a.uniform(), na = a.normal();
        double const ub = b.uniform(), nb = b.normal();
        same = same && ua == ub && na == nb;
        differs_from_other_seed = differs_from_other_seed || ua != c.uniform();
    }
    CHECK(same);
    CHECK(differs_from_other_seed);
}

TEST_CASE("Reseeding a generator restarts its sequence, including a pending normal", "[random]") {
    lm::generator fresh(7), g(7);
    double const first = fresh.normal(), second = fresh.normal();
    CHECK(g.normal() == first);  // Box-Muller made a spare value for the next call
    g.seed(7);
    CHECK(g.normal() == first);  // the spare was dropped
    CHECK(g.normal() == second);
    g.seed(7);
    lm::generator u(7);
    CHECK(g.uniform() == u.uniform());
}

TEST_CASE("Uniform numbers lie in [0, 1) with mean 1/2 and variance 1/12", "[random]") {
    lm::generator g(1);
    std::vector<double> v(100000);
    for (auto& x : v) x = g.uniform();
    auto const m = moments_of(v);
    CHECK(m.min >= 0.0);
    CHECK(m.max < 1.0);
    CHECK(m.mean == Approx(0.5).margin(0.01));
    CHECK(m.stddev * m.stddev == Approx(1.0 / 12).margin(0.002));

    for (auto& x : v) x = g.uniform(-3.0, 5.0);
    auto const r = moments_of(v);
    CHECK(r.min >= -3.0);
    CHECK(r.max < 5.0);
    CHECK(r.mean == Approx(1.0).margin(0.05));
}

TEST_CASE("Normal numbers have mean 0 and standard deviation 1, or those asked for", "[random]") {
    lm::generator g(2);
    std::vector<double> v(100000);
    for (auto& x : v) x = g.normal();
    auto const m = moments_of(v);
    CHECK(m.mean == Approx(0.0).margin(0.01));
    CHECK(m.stddev == Approx(1.0).margin(0.01));
    CHECK(m.max > 3.0);  // the tails are there
    CHECK(m.min < -3.0);

    for (auto& x : v) x = g.normal(3.0, 2.0);
    auto const s = moments_of(v);
    CHECK(s.mean == Approx(3.0).margin(0.02));
    CHECK(s.stddev == Approx(2.0).margin(0.02));
}

TEST_CASE("rand and randn fill tensors in row-major order from the generator they are given", "[random]") {
    lm::generator g(5), ref(5);
    auto u = lm::rand<lm::dyn, 8>(4, g);
    STATIC_REQUIRE(std::is_same_v<decltype(u), lm::tensor<float, lm::shape<lm::dyn, 8>>>);
    CHECK(u.batch() == 4);
    std::vector<double> want(32);
    for (auto& x : want) x = static_cast<float>(ref.uniform());
    CHECK(differences(u, want, 0) == "");

    auto n = lm::tensor<double, lm::shape<3, 4>>::randn(g);
    std::vector<double> want_n(12);
    for (auto& x : want_n) x = ref.normal();
    CHECK(differences(n, want_n, 0) == "");
}

TEST_CASE("The same seed gives the same random tensors, and manual_seed reseeds the default generator", "[random]") {
    lm::generator g1(11), g2(11);
    auto a = lm::randn<lm::dyn, 5>(3, g1);
    auto b = lm::randn<lm::dyn, 5>(3, g2);
    CHECK(differences(a, b, 0) == "");
    auto c = lm::randn<lm::dyn, 5>(3, g1);
    CHECK(differences(a, c, 0) != "");

    lm::manual_seed(123);
    auto d = lm::rand<2, 5>();
    lm::manual_seed(123);
    auto e = lm::rand<2, 5>();
    CHECK(differences(d, e, 0) == "");
    lm::generator same(123);
    auto f = lm::rand<2, 5>(same);
    CHECK(differences(d, f, 0) == "");
}

TEST_CASE("A large rand tensor is uniform on [0, 1) and a large randn tensor standard normal", "[random]") {
    lm::generator g(9);
    auto u = lm::rand<lm::dyn, 1000>(100, g);
    auto const mu = moments_of(u);
    CHECK(mu.min >= 0.0);
    CHECK(mu.max < 1.0);
    CHECK(mu.mean == Approx(0.5).margin(0.01));

    auto n = lm::tensor<double, lm::shape<lm::dyn, 1000>>::randn(100, g);
    auto const mn = moments_of(n);
    CHECK(mn.mean == Approx(0.0).margin(0.01));
    CHECK(mn.stddev == Approx(1.0).margin(0.01));
}
