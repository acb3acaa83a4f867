// lamina/params.hpp: initializers, fan-in and fan-out, re-initialization, the named walk of a
// layer's parameters and their count.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"
#include "chapter_layers.hpp"

namespace lm = lamina;
using lamina_test::differences;
using lamina_test::bits_of;

namespace {

template <class P>
std::pair<double, double> range_of(P const& p) {
    auto [lo, hi] = std::minmax_element(p.begin(), p.end());
    return {*lo, *hi};
}

}  // namespace

TEST_CASE("Fan-in is the product of all extents but the last, fan-out the last", "[params]") {
    using W = lm::param<lm::init::zeros, 5, 3>;
    using B = lm::param<lm::init::zeros, 3>;
    using C = lm::param<lm::init::zeros, 2, 3, 4>;
    CHECK(W::fan_in == 5);
    CHECK(W::fan_out == 3);
    CHECK(B::fan_in == 1);
    CHECK(B::fan_out == 3);
    CHECK(C::fan_in == 6);
    CHECK(C::fan_out == 4);
}

TEST_CASE("zeros and ones fill a parameter with constants", "[params]") {
    lm::generator g(1);
    lm::param<lm::init::zeros, 4, 3> z(g);
    lm::basic_param<double, lm::init::ones, 7> o(g);
    CHECK(differences(z, std::vector<double>(12, 0.0), 0) == "");
    CHECK(differences(o, std::vector<double>(7, 1.0), 0) == "");
}

TEST_CASE("normal draws standard normal values in row-major order from the generator", "[params]") {
    lm::generator g(2), ref(2);
    lm::param<lm::init::normal, 50, 20> p(g);
    std::vector<double> want(1000);
    for (auto& v : want) v = static_cast<float>(ref.normal());
    CHECK(differences(p, want, 0) == "");
}

TEST_CASE("uniform_fan_in stays within 1/sqrt(fan_in) and glorot_uniform within sqrt(6/(fan_in+fan_out))",
          "[params]") {
    lm::generator g(3);
    lm::param<lm::init::uniform_fan_in, 50, 20> u(g);
    double const bu = 1.0 / std::sqrt(50.0);
    auto [ulo, uhi] = range_of(u);
    CHECK(ulo >= -bu);
    CHECK(uhi <= bu);
    CHECK(ulo < -0.9 * bu);  // and uses the whole range
    CHECK(uhi > 0.9 * bu);

    lm::param<lm::init::glorot_uniform, 50, 20> x(g);
    double const bx = std::sqrt(6.0 / 70.0);
    auto [xlo, xhi] = range_of(x);
    CHECK(xlo >= -bx);
    CHECK(xhi <= bx);
    CHECK(xlo < -0.9 * bx);
    CHECK(xhi > 0.9 * bx);
}

TEST_CASE("initialize() with the same seed re-draws the same values", "[params]") {
    lm::generator g1(4), g2(4);
    lm::param<lm::init::normal, 6, 5> a(g1);
    lm::param<lm::init::normal, 6, 5> b(g2);
    CHECK(differences(a, b, 0) == "");
    lm::generator g3(99), g4(99);
    a.initialize(g3);
    CHECK(differences(a, b, 0) != "");
    b.initialize(g4);
    CHECK(differences(a, b, 0) == "");
}

TEST_CASE("A parameter is an operand whose leaf reads its storage", "[params]") {
    lm::generator g(5);
    lm::param<lm::init::normal, 2, 3> p(g);
    auto leaf = p.as_leaf();
    CHECK(leaf.data() == p.data());
    lm::tensor twice = p * 2;
    std::vector<double> want;
    for (double v : p) want.push_back(2 * v);
    CHECK(differences(twice, want, 0) == "");
}

TEST_CASE("A standalone built layer has its parameters' shapes and walks them by name", "[params]") {
    lm::built<MyDense<3>, 5> dense;
    CHECK(dense.weight.extents() == std::array<std::size_t, 2>{5, 3});
    CHECK(dense.bias.extents() == std::array<std::size_t, 1>{3});
    CHECK(dense.weight.shape_str() == "(5, 3)");
    CHECK(dense.bias.shape_str() == "(3,)");

    auto named = lm::named_parameters(dense);
    REQUIRE(named.size() == 2);
    CHECK(named[0].name == "weight");
    CHECK(named[0].shape == std::vector<std::size_t>{5, 3});
    CHECK(named[0].data.data() == dense.weight.data());
    CHECK(named[0].data.size() == 15);
    CHECK(named[1].name == "bias");
    CHECK(named[1].shape == std::vector<std::size_t>{3});
    CHECK(named[1].data.data() == dense.bias.data());

    std::vector<std::string> names;
    lm::for_each_parameter(dense, [&](std::string_view n, auto& p) {
        names.emplace_back(n);
        p.fill(1.f);  // the walk hands out the layer's own storage
    });
    CHECK(names == std::vector<std::string>{"weight", "bias"});
    CHECK(differences(dense.weight, std::vector<double>(15, 1.0), 0) == "");
}

TEST_CASE("parameter_count_v counts every scalar parameter of a layer", "[params]") {
    CHECK(lm::parameter_count_v<lm::built<MyDense<3>, 5>> == 18);
    CHECK(lm::parameter_count_v<lm::built<lm::Dense<4>, 8>> == 36);
    CHECK(lm::parameter_count_v<lm::Centered> == 0);
    CHECK(lm::parameter_count_v<lm::ReLU> == 0);
}

TEST_CASE("Dense's weight is uniform within 1/sqrt(in_features) and its bias zero, as nn.Linear's weight", "[params]") {
    lm::manual_seed(6);
    lm::built<lm::Dense<64>, 100> d;
    auto [lo, hi] = range_of(d.weight);
    CHECK(lo >= -0.1);
    CHECK(hi <= 0.1);
    CHECK(hi - lo > 0.18);
    CHECK(differences(d.bias, std::vector<double>(64, 0.0), 0) == "");
}

namespace {

struct moments {
    double mean, sd, lo, hi;
};
template <class P>
moments moments_of(P const& p) {
    double s = 0, s2 = 0;
    for (double v : p) s += v;
    double const m = s / static_cast<double>(p.size());
    for (double v : p) s2 += (v - m) * (v - m);
    auto [lo, hi] = range_of(p);
    return {m, std::sqrt(s2 / static_cast<double>(p.size() - 1)), lo, hi};
}

/// A bounded initializer uses the whole of [-b, b] and nothing outside; its standard deviation
/// is b/sqrt(3).
template <class P>
void check_uniform(P const& p, double lo, double hi) {
    auto const m = moments_of(p);
    CHECK(m.lo >= lo);
    CHECK(m.hi <= hi);
    CHECK(m.lo < lo + 0.02 * (hi - lo));
    CHECK(m.hi > hi - 0.02 * (hi - lo));
    CHECK(std::abs(m.mean - (lo + hi) / 2) < 0.02 * (hi - lo));
}

/// 20,000 draws: the sample mean is within 4 standard errors (0.03·sd) and the sample standard
/// deviation within 3%.
template <class P>
void check_normal(P const& p, double mean, double sd) {
    auto const m = moments_of(p);
    CHECK(std::abs(m.mean - mean) < 0.03 * sd);
    CHECK(std::abs(m.sd - sd) < 0.03 * sd);
}

}  // namespace

TEST_CASE("The initializer catalogue follows torch.nn.init's formulas for fan_in 400 and fan_out 50",
          "[params]") {
    lm::generator g(21);
    using lm::init::fan;
    namespace init = lm::init;
    double const fi = 400, fo = 50;
    check_uniform(lm::param<init::uniform, 400, 50>(g), 0, 1);
    check_uniform(lm::param<init::with<init::uniform{.low = -3, .high = 5}>, 400, 50>(g), -3, 5);
    check_normal(lm::param<init::normal, 400, 50>(g), 0, 1);
    check_normal(lm::param<init::with<init::normal{.mean = 2, .std = 0.01}>, 400, 50>(g), 2, 0.01);
    check_uniform(lm::param<init::xavier_uniform, 400, 50>(g), -std::sqrt(6 / (fi + fo)), std::sqrt(6 / (fi + fo)));
    double const xg = 5.0 / 3;  // torch's gain for tanh
    check_uniform(lm::param<init::with<init::xavier_uniform{.gain = 5.0 / 3}>, 400, 50>(g),
                  -xg * std::sqrt(6 / (fi + fo)), xg * std::sqrt(6 / (fi + fo)));
    check_normal(lm::param<init::xavier_normal, 400, 50>(g), 0, std::sqrt(2 / (fi + fo)));
    check_uniform(lm::param<init::kaiming_uniform, 400, 50>(g), -std::sqrt(6 / fi), std::sqrt(6 / fi));
    check_uniform(lm::param<init::with<init::kaiming_uniform{.mode = fan::out}>, 400, 50>(g), -std::sqrt(6 / fo),
                  std::sqrt(6 / fo));
    // a = sqrt(5): nn.Linear's own kaiming_uniform_ call, which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    check_uniform(lm::param<init::with<init::kaiming_uniform{.a = 2.2360679774997898}>, 400, 50>(g),
                  -1 / std::sqrt(fi), 1 / std::sqrt(fi));
    check_normal(lm::param<init::kaiming_normal, 400, 50>(g), 0, std::sqrt(2 / fi));
    check_normal(lm::param<init::with<init::kaiming_normal{.a = 1, .mode = fan::out}>, 400, 50>(g), 0,
                 std::sqrt(1 / fo));
    CHECK(differences(lm::param<init::with<init::constant{0.25}>, 3, 2>(g), std::vector<double>(6, 0.25), 0) == "");
    static_assert(std::is_same_v<init::glorot_uniform, init::xavier_uniform>);
    static_assert(std::is_same_v<init::he_normal, init::kaiming_normal>);
}

TEST_CASE("A user's callable initializes a parameter, declared or set at run time", "[params]") {
    struct arange {
        void operator()(std::span<float> d, std::size_t fan_in, std::size_t fan_out, lm::generator&) const {
            for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<float>(i + 10 * fan_in + 100 * fan_out);
        }
    };
    lm::generator g(22);
    lm::param<arange, 2, 3> p(g);
    CHECK(differences(p, std::vector<double>{320, 321, 322, 323, 324, 325}, 0) == "");
    // Replaced at run time: later initialize(g) calls use the new one (a lambda here).
    p.set_initializer([](std::span<float> d, std::size_t, std::size_t, lm::generator& gen) {
        for (auto& v : d) v = static_cast<float>(gen.uniform(7, 8));
    });
    p.initialize(g);
    auto in_7_8 = [&] { return std::all_of(p.begin(), p.end(), [](float v) { return v >= 7 && v <= 8; }); };
    CHECK(in_7_8());
    // Drawn once from another, without replacing it.
    p.initialize(lm::init::ones{}, g);
    CHECK(differences(p, std::vector<double>(6, 1.0), 0) == "");
    p.initialize(g);
    CHECK(in_7_8());
}

TEST_CASE("One seeded generator makes a whole net reproducible, and initialize re-draws it", "[params]") {
    using Net = lm::Sequential<lm::Input<6>, MyDense<5>, CenteredLayer, lm::Dense<3>>;
    auto values = [](Net& net) {
        std::vector<double> v;
        net.for_each_parameter([&](std::string_view, auto& p) { v.insert(v.end(), p.begin(), p.end()); });
        return v;
    };
    Net a, b;
    lm::generator ga(23), gb(23);
    a.initialize(ga);
    b.initialize(gb);
    CHECK(differences(values(a), values(b), 0) == "");
    auto const first = values(a);
    a.initialize(ga);  // force_reinit: new draws
    CHECK(differences(values(a), first, 0) != "");
    // Another initializer for every weight, zeros for every bias (Gluon's initialize(init)).
    a.initialize(lm::init::with<lm::init::constant{0.5}>{}, ga);
    std::vector<double> want;
    a.for_each_parameter([&](std::string_view name, auto& p) {
        want.insert(want.end(), p.size(), name.ends_with("bias") ? 0.0 : 0.5);
    });
    CHECK(differences(values(a), want, 0) == "");
}

TEST_CASE("A shared parameter is one storage: written once, walked once, counted once, tied by name", "[params]") {
    lm::Sequential<lm::Input<4>, lm::Dense<4, lm::ReLU>, lm::Dense<4, lm::ReLU>, lm::Dense<2>> net;
    lm::share(net, "1.weight", "0.weight");
    lm::share<"1.bias", "0.bias">(net);
    auto& w0 = lm::get<"0.weight">(net);
    auto& w1 = lm::get<"1.weight">(net);
    CHECK(w1.data() == w0.data());
    CHECK(w1.grad().data() == w0.grad().data());
    w0(2, 3) = 42;
    CHECK(w1(2, 3) == 42);
    std::vector<std::string> names;
    net.for_each_parameter([&](std::string_view n, auto&) { names.emplace_back(n); });
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    std::vector<std::string> all;
    net.for_each_parameter(lm::with_shared, [&](std::string_view n, auto&) { all.emplace_back(n); });
    CHECK(all.size() == 6);
    std::vector<std::string> ties;
    lm::for_each_tie(net, [&](std::string_view a, std::string_view o) { ties.push_back(std::string(a) + "->" + std::string(o)); });
    CHECK(ties == std::vector<std::string>{"1.weight->0.weight", "1.bias->0.bias"});
    std::string const s = lm::summary(net);
    CHECK_THAT(s, Catch::Contains("Total params: 30"));
    CHECK_THAT(s, Catch::Contains("1 (Dense<4, ReLU>)            (batch, 4)            0\n"));
    // Moving the net keeps the tie.
    auto moved = std::move(net);
    lm::get<"0.weight">(moved)(0, 0) = -7;
    CHECK(lm::get<"1.weight">(moved)(0, 0) == -7);
}

TEST_CASE("share rejects unknown names, other shapes and a parameter shared with itself", "[params]") {
    lm::Sequential<lm::Input<4>, lm::Dense<4>, lm::Dense<2>> net;
    CHECK_THROWS_MATCHES(lm::share(net, "1.weight", "0.weight"), lm::key_error,
                         lamina_test::message_has({"'1.weight' has shape (4, 2)", "'0.weight' has shape (4, 4)"}));
    CHECK_THROWS_MATCHES(lm::share(net, "1.wieght", "0.weight"), lm::key_error,
                         lamina_test::message_has({"no parameter named '1.wieght'", "0.weight, 0.bias, 1.weight, 1.bias"}));
    CHECK_THROWS_MATCHES(lm::share(net, "0.weight", "3.weight"), lm::key_error,
                         lamina_test::message_has({"no parameter named '3.weight' to share"}));
    CHECK_THROWS_MATCHES(lm::share(net, "0.bias", "0.bias"), lm::key_error, lamina_test::message_has({"itself"}));
    CHECK_FALSE(lm::get<"1.weight">(net).borrowed());
}

TEST_CASE("freeze and unfreeze mark a parameter, a layer or a whole net, and summary counts both kinds",
          "[params]") {
    lm::Sequential<lm::Input<4>, lm::Dense<3>, lm::Dense<2>> net;
    lm::freeze(lm::get<0>(net));
    CHECK_FALSE(lm::get<"0.weight">(net).requires_grad());
    CHECK_FALSE(lm::get<"0.bias">(net).requires_grad());
    CHECK(lm::get<"1.weight">(net).requires_grad());
    std::string const s = lm::summary(net);
    CHECK_THAT(s, Catch::Contains("Total params: 23\nTrainable params: 8\nNon-trainable params: 15\n"));
    lm::unfreeze(lm::get<"0.bias">(net));
    CHECK(lm::get<"0.bias">(net).requires_grad());
    lm::freeze(net);
    net.for_each_parameter([](std::string_view, auto& p) { CHECK_FALSE(p.requires_grad()); });
    lm::unfreeze(net);
    net.for_each_parameter([](std::string_view, auto& p) { CHECK(p.requires_grad()); });
    CHECK_THAT(lm::summary(net), !Catch::Contains("Trainable"));
}

namespace {

// Whether p's values are held packed for the GEMM.
template <class P>
bool packed(P const& p) {
    return p.packed_copy().holds(p.stamp());
}

// Two large layers: the first runs the GEMM that deep products share (depth 512, epilogue
// applied per block), the second its own (depth 64, bias in the registers).
using packed_net = lm::Sequential<lm::Input<512>, lm::Dense<64, lm::ReLU>, lm::Dense<256>>;

// The output of another net given net's values (read through const access, which leaves
// net's packed copies alone): its parameters are trainable, so it packs them per call.
template <class Net, class X>
std::vector<float> fresh_output(Net const& net, X const& x) {
    std::vector<std::vector<float>> values;
    net.for_each_parameter(lm::with_shared, [&](std::string_view, auto const& p) { values.emplace_back(p.begin(), p.end()); });
    Net other;
    std::size_t i = 0;
    other.for_each_parameter(lm::with_shared, [&](std::string_view, auto& p) { std::copy(values[i].begin(), values[i].end(), p.begin()); ++i; });
    return bits_of(other(x));
}

}  // namespace

TEST_CASE("A frozen layer whose depth is not a multiple of the depth block computes what a trainable one does",
          "[params][kernels]") {
    // 784 rows run as three depth blocks of 262: the copy a frozen weight keeps (packed whole,
    // by both threads on two) must hold them where the product reads them.
    lamina_test::threads_guard guard;
    for (unsigned threads : {1u, 2u}) {
        INFO(threads << " thread(s)");
        lm::set_num_threads(threads);
        lm::generator g(12);
        lm::Sequential<lm::Input<784>, lm::Dense<48, lm::ReLU>> net;
        net.initialize(lm::init::uniform_fan_in{}, g);
        auto const x = lm::randn<lm::dyn, 784>(30, g);
        auto const trainable = bits_of(net(x));
        lm::freeze(net);
        CHECK(bits_of(net(x)) == trainable);
        CHECK(packed(lm::get<"0.weight">(std::as_const(net))));
        CHECK(bits_of(net(x)) == trainable);
    }
}

TEST_CASE("A frozen large layer packs its weight once while it does not change, and again after every write",
          "[params][kernels]") {
    lm::generator g(11);
    packed_net net;
    net.initialize(lm::init::uniform_fan_in{}, g);
    auto const x0 = lm::rand<lm::dyn, 512>(30, g);
    (void)net(x0);
    CHECK_FALSE(packed(lm::get<"0.weight">(std::as_const(net))));  // trainable: packed per call
    lm::freeze(net);
    auto const x = lm::rand<lm::dyn, 512>(30, g);
    auto const& w0 = lm::get<"0.weight">(std::as_const(net));
    auto const& w1 = lm::get<"1.weight">(std::as_const(net));

    // Packed on the first call, and the same bits from then on.
    auto const y1 = bits_of(net(x));
    CHECK(packed(w0));
    CHECK(packed(w1));
    auto const y2 = bits_of(net(x));
    CHECK(y2 == y1);
    CHECK(bits_of(net(x)) == y1);
    CHECK(w0.packed_copy().packs() == 1);  // once, not per call
    CHECK(w1.packed_copy().packs() == 1);
    CHECK(fresh_output(net, x) == y1);

    auto const changed_by = [&](char const* what, auto&& write) {
        INFO(what);
        (void)net(x);  // packed again, so that a stale copy would show
        REQUIRE(packed(w0));
        REQUIRE(packed(w1));
        auto const before = bits_of(net(x));
        write();
        auto const after = bits_of(net(x));
        CHECK(after != before);
        CHECK(after == fresh_output(net, x));
        std::size_t const packs = w0.packed_copy().packs();
        CHECK(bits_of(net(x)) == after);
        CHECK(w0.packed_copy().packs() == packs);  // the new values are kept too
    };
    changed_by("element access", [&] {
        lm::get<"0.weight">(net)(3, 5) += 1;
        lm::get<"1.weight">(net)(7, 200) -= 1;
    });
    changed_by("iteration", [&] {
        for (float& v : lm::get<"1.weight">(net)) v *= 0.5f;
    });
    float* kept = lm::get<"0.weight">(net).data();
    changed_by("a pointer kept from before, then mark_modified", [&] {
        for (std::size_t i = 0; i < 512 * 64; i += 7) kept[i] = -kept[i];
        lm::get<"0.weight">(net).mark_modified();
    });
    changed_by("initialize", [&] { net.initialize(lm::init::uniform_fan_in{}, g); });
    changed_by("an optimizer step", [&] {
        lm::unfreeze(net);
        lm::optim::sgd opt(net, {.lr = 0.5});
        net.train();
        (void)net.backward(lm::sum(net(x)));
        opt.step();
        net.eval();
        lm::freeze(net);
    });
}

TEST_CASE("A frozen layer moved from and assigned again packs into memory of its own", "[params][kernels]") {
    lm::generator g(13);
    lm::built<lm::Dense<128, lm::ReLU>, 256> d;
    lm::freeze(d);
    auto const x = lm::rand<lm::dyn, 256>(24, g);
    auto const y = bits_of(lm::eval(d(x)));  // packs
    auto e = std::move(d);
    d = e;  // a moved-from layer holds no packed copy: this one must make its own
    CHECK(bits_of(lm::eval(d(x))) == y);
    CHECK(packed(d.weight));
}

TEST_CASE("A frozen parameter that shares another's storage packs the owner's values", "[params][kernels]") {
    lm::generator g(12);
    lm::Sequential<lm::Input<128>, lm::Dense<128, lm::ReLU>, lm::Dense<128>> net;
    net.initialize(lm::init::uniform_fan_in{}, g);
    lm::freeze(net);
    auto const x = lm::rand<lm::dyn, 128>(20, g);
    (void)net(x);
    auto const before = bits_of(net(x));
    REQUIRE(packed(lm::get<"1.weight">(std::as_const(net))));
    lm::share(net, "1.weight", "0.weight");
    auto const after = bits_of(net(x));
    CHECK(after != before);
    CHECK(fresh_output(net, x) == after);
    CHECK(bits_of(net(x)) == after);
    REQUIRE(packed(lm::get<"1.weight">(std::as_const(net))));
    // A write through the owner reaches the alias' packed copy too.
    lm::get<"0.weight">(net)(1, 2) += 3;
    auto const written = bits_of(net(x));
    CHECK(written != after);
    CHECK(written == fresh_output(net, x));
}
