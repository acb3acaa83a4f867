// lamina/sequential.hpp: a net's output against its layers evaluated one by one, the sum handed
// to a following Centered layer, batches that change, parameter names, get<"...">, summary()
// and initialize().
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"
#include "chapter_layers.hpp"

namespace lm = lamina;
using lamina_test::differences;

namespace {

template <class Net>
void randomize_biases(Net& net, lm::generator& g) {  // Dense's biases start at zero
    lm::for_each_parameter(net, [&](std::string_view name, auto& p) {
        if (name.ends_with("bias"))
            for (auto& v : p) v = static_cast<float>(g.normal());
    });
}

// An owning copy of a net's output, which is a view valid until the net's next call.
template <class T, class S>
lm::tensor<std::remove_const_t<T>, S> copy_of(lm::tensor_view<T, S> const& v) {
    return lm::tensor<std::remove_const_t<T>, S>(v);
}

constexpr double eps = std::numeric_limits<float>::epsilon();

// The largest |x| of a tensor, to scale tolerances.
template <class X>
double max_abs(X const& x) {
    double m = 0;
    for (double v : x) m = std::max(m, std::abs(v));
    return m;
}

}  // namespace

TEST_CASE("A Sequential's output equals its layers evaluated one after another", "[sequential]") {
    lm::Sequential<lm::Input<8>, lm::Dense<16, lm::ReLU>, lm::Dense<4>, lm::Tanh> net;
    lm::generator g(61);
    randomize_biases(net, g);
    for (std::size_t B : lamina_test::batches) {
        auto x = lm::rand<lm::dyn, 8>(B, g);
        auto y = net(x);
        STATIC_REQUIRE(std::is_base_of_v<lm::tensor_view<float const, lm::shape<lm::dyn, 4>>, decltype(y)>);
        REQUIRE(y.batch() == B);
        lm::tensor h1 = lm::get<0>(net)(x);
        lm::tensor h2 = lm::get<1>(net)(h1);
        lm::tensor want = lm::get<2>(net)(h2);
        INFO("batch " << B);
        // The same products; the Tanh runs in the GEMM's epilogue on the first, over the whole
        // output on the second, on vectors of other widths (whose tanh may round the last bit
        // apart) or on scalars.
        CHECK(differences(y, want, 0, 2 * eps * max_abs(want)) == "");
    }
}

TEST_CASE("The sum a layer hands to a following Centered gives the output of Centered evaluated alone",
          "[sequential]") {
    lm::generator g(62);
    auto check = [&](auto& net, auto const& x) {
        auto y = net(x);
        lm::tensor h = lm::get<0>(net)(x);
        lm::tensor want = lm::Centered{}(h);  // its own pass over h for the mean
        double const scale = max_abs(h);
        INFO("batch " << x.batch());
        CHECK(differences(y, want, 0, 1e-6 * scale) == "");
        CHECK(std::abs(lm::mean(y).item()) <= 1e-6 * scale);  // <=: a ReLU may leave only zeros
    };
    {
        lm::Sequential<lm::Input<8>, lm::Dense<128>, lm::Centered> net;
        randomize_biases(net, g);
        for (std::size_t B : lamina_test::batches) check(net, lm::rand<lm::dyn, 8>(B, g));
    }
    {
        lm::Sequential<lm::Input<8>, lm::Dense<37, lm::ReLU>, lm::Centered> net;  // vector and scalar columns
        randomize_biases(net, g);
        for (std::size_t B : lamina_test::batches) check(net, lm::rand<lm::dyn, 8>(B, g));
    }
    {
        lm::Sequential<lm::Input<8>, lm::Dense<1, lm::ReLU>, lm::Centered> net;  // one scalar column
        randomize_biases(net, g);
        for (std::size_t B : lamina_test::batches) check(net, lm::rand<lm::dyn, 8>(B, g));
    }
    {
        lm::Sequential<lm::Input<300>, lm::Dense<300, lm::ReLU>, lm::Centered> net;  // the packed GEMM
        randomize_biases(net, g);
        for (std::size_t B : {11, 12, 20, 64}) check(net, lm::rand<lm::dyn, 300>(B, g));
    }
}

TEST_CASE("Centered after Centered, and the chapter's CenteredLayer after Dense, are centered", "[sequential]") {
    lm::generator g(63);
    lm::Sequential<lm::Input<5>, lm::Centered, lm::Centered> twice;
    auto x = lm::rand<lm::dyn, 5>(7, g);
    lm::tensor once = lm::Centered{}(x);
    CHECK(differences(twice(x), once, 0, 1e-6) == "");

    lm::Sequential<lm::Input<64>, MyDense<8>, lm::Dense<3>, CenteredLayer> net3;
    randomize_biases(net3, g);
    auto x3 = lm::rand<lm::dyn, 64>(2, g);
    auto y3 = net3(x3);
    lm::tensor h1 = lm::get<0>(net3)(x3);
    lm::tensor h2 = lm::get<1>(net3)(h1);
    lm::tensor want = CenteredLayer{}(h2);
    CHECK(differences(y3, want, 0, 1e-6 * max_abs(h2)) == "");
    CHECK(std::abs(lm::mean(y3).item()) < 1e-6 * max_abs(h2));
}

TEST_CASE("A net called with another batch and then the first again gives the right outputs", "[sequential]") {
    lm::Sequential<lm::Input<8>, lm::Dense<16, lm::ReLU>, lm::Centered, lm::Dense<4>> net;
    lm::generator g(64);
    randomize_biases(net, g);
    auto reference = [&](auto const& x) {
        lm::tensor a = lm::get<0>(net)(x);
        lm::tensor b = lm::Centered{}(a);
        return lm::tensor(lm::get<2>(net)(b));
    };
    auto x5 = lm::rand<lm::dyn, 8>(5, g);
    auto x64 = lm::rand<lm::dyn, 8>(64, g);
    for (auto const* x : {&x5, &x64, &x5, &x64, &x5}) {
        auto y = net(*x);
        INFO("batch " << x->batch());
        REQUIRE(y.batch() == x->batch());
        CHECK(differences(y, reference(*x), 1e-5, 1e-5) == "");
    }
}

TEST_CASE("A net's output kept by copy-initialization, assignment or eval() outlives the net's next call",
          "[sequential]") {
    lm::Sequential<lm::Input<4>, lm::Dense<3>, lm::Centered> net;
    lm::generator g(65);
    randomize_biases(net, g);
    auto const x = lm::rand<lm::dyn, 4>(5, g);
    auto const x2 = lm::rand<lm::dyn, 4>(5, g);
    lm::tensor<float, lm::shape<lm::dyn, 3>> copied = net(x);
    lm::tensor deduced = net(x);
    lm::tensor<float, lm::shape<lm::dyn, 3>> assigned;
    assigned = net(x);
    auto evaluated = net(x).eval();
    static_assert(std::is_same_v<decltype(deduced), lm::tensor<float, lm::shape<lm::dyn, 3>>>);
    static_assert(std::is_same_v<decltype(evaluated), lm::tensor<float, lm::shape<lm::dyn, 3>>>);
    auto const reference = copy_of(net(x));
    auto const other = net(x2);  // the buffers the earlier outputs were views of now hold this
    REQUIRE(differences(other, reference, 1e-5, 1e-5) != "");
    for (auto const* kept : {&copied, &deduced, &assigned, &evaluated}) {
        REQUIRE(kept->batch() == 5);
        CHECK(differences(*kept, reference, 0, 0) == "");
    }
}

TEST_CASE("A net accepts an expression, a view and a tensor of static batch as its input", "[sequential]") {
    lm::Sequential<lm::Input<6>, lm::Dense<5, lm::ReLU>> net;
    lm::generator g(65);
    randomize_biases(net, g);
    auto x = lm::rand<lm::dyn, 6>(3, g);
    lm::tensor x2 = x * 2 - 1;
    auto const want = copy_of(net(x2));
    CHECK(differences(net(x * 2 - 1), want, 0) == "");
    CHECK(differences(net(x2.view()), want, 0) == "");
    lm::tensor<float, lm::shape<3, 6>> fixed(lm::tensor_view<float const, lm::shape<3, 6>>(x2.data()));
    auto y = net(fixed);
    CHECK(y.batch() == 3);
    CHECK(differences(y, want, 0) == "");
}

namespace {

// The same layers behind Input<In> and behind Input<In>::batch<B>, with the same parameters:
// the fixed batch sizes every product at compile time (small ones inlined and unrolled), and
// must change neither the outputs nor, after a training call, the gradients.
template <std::size_t B, std::size_t In, class... L>
void fixed_batch_matches_dynamic(std::uint64_t seed) {
    INFO("batch " << B << ", " << In << " inputs");
    lm::Sequential<typename lm::Input<In>::template batch<B>, L...> fixed;
    lm::Sequential<lm::Input<In>, L...> dyn;
    lm::generator g1(seed), g2(seed), gx(seed + 1);
    fixed.initialize(g1);
    dyn.initialize(g2);
    randomize_biases(fixed, g1);
    randomize_biases(dyn, g2);
    auto const x = lm::rand<lm::dyn, In>(B, gx);
    lm::tensor<float, lm::shape<B, In>> const xf(lm::tensor_view<float const, lm::shape<B, In>>(x.data()));
    auto const want = copy_of(dyn(x));
    double const tol = 1e-6 * (1 + max_abs(want));
    for (int call = 0; call < 2; ++call) CHECK(differences(fixed(xf), want, tol, 1e-6) == "");

    fixed.train();
    dyn.train();
    auto const target = lm::rand<lm::dyn, decltype(dyn)::output_shape::cols>(B, gx);
    lm::tensor<float, typename decltype(fixed)::output_shape> const target_f(
        lm::tensor_view<float const, typename decltype(fixed)::output_shape>(target.data()));
    double const lf = fixed.backward(lm::mse_loss(fixed(xf), target_f));
    double const ld = dyn.backward(lm::mse_loss(dyn(x), target));
    CHECK(lf == Approx(ld).epsilon(1e-6));
    std::vector<std::vector<float>> grads;
    dyn.for_each_parameter([&](std::string_view, auto& p) { grads.emplace_back(p.grad().data(), p.grad().data() + p.size()); });
    std::size_t i = 0;
    fixed.for_each_parameter([&](std::string_view name, auto& p) {
        INFO(name);
        CHECK(differences(std::vector<float>(p.grad().data(), p.grad().data() + p.size()), grads[i++], 1e-6, 1e-5) == "");
    });
}

}  // namespace

TEST_CASE("A net whose Input fixes the batch gives the outputs and gradients of the same net with a run-time batch",
          "[sequential]") {
    fixed_batch_matches_dynamic<4, 8, lm::Dense<128, lm::ReLU>, lm::Centered>(70);  // the seed net, unrolled
    fixed_batch_matches_dynamic<2, 5, lm::Dense<3, lm::ReLU>>(71);                   // the chapter's 5 -> 3
    fixed_batch_matches_dynamic<2, 64, MyDense<8>, MyDense<1>>(72);
    fixed_batch_matches_dynamic<7, 17, lm::Dense<33, lm::Tanh>, CenteredLayer, lm::Dense<5>>(73);  // row remainders
    fixed_batch_matches_dynamic<64, 16, lm::Dense<40, lm::ReLU>, lm::Centered>(74);  // past the unrolled size
}

TEST_CASE("An inference call after a training call that had no backward gives the inference output and drops "
          "the record",
          "[sequential]") {
    using In = lm::Input<5>::batch<2>;
    lm::Sequential<In, lm::Dense<3, lm::ReLU>, lm::Dense<4>, lm::Centered> trained;
    lm::generator g(75);
    randomize_biases(trained, g);
    auto const x = lm::randn<2, 5>(g);
    auto const want = copy_of(trained(x));  // before any training call
    // A training call stores the product, then adds the bias and centers, where inference
    // does it in the GEMM's epilogue: the mean is summed in another order (the last bit may
    // differ). Back in inference mode, it is the same computation again, bit for bit.
    double const tol = 2 * eps * max_abs(want);
    trained.train();
    auto const first = copy_of(trained(x));
    CHECK(differences(first, want, 0, tol) == "");
    trained.eval();
    CHECK(differences(trained(x), want, 0) == "");
    CHECK_THROWS_WITH(trained.backward(lm::sum(trained(x))), Catch::Contains("no recorded forward pass"));
    trained.train();  // and training again records again
    auto y = trained(x);
    CHECK(differences(y, want, 0, tol) == "");
    CHECK_NOTHROW(trained.backward(lm::sum(y)));
}

TEST_CASE("Parameters are walked in layer order with PyTorch's structural names", "[sequential][params]") {
    lm::Sequential<lm::Input<8>, lm::Dense<16, lm::ReLU>, lm::Centered, MyDense<4>, lm::Dense<2>> net;
    std::vector<std::string> names;
    std::vector<std::vector<std::size_t>> shapes;
    for (auto const& p : lm::named_parameters(net)) {
        names.push_back(p.name);
        shapes.push_back(p.shape);
    }
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias"});
    CHECK(shapes == std::vector<std::vector<std::size_t>>{{8, 16}, {16}, {16, 4}, {4}, {4, 2}, {2}});
    CHECK(lm::parameter_count_v<decltype(net)> == 8 * 16 + 16 + 16 * 4 + 4 + 4 * 2 + 2);

    std::vector<std::string> walked;
    lm::for_each_parameter(net, [&](std::string_view n, auto const&) { walked.emplace_back(n); });
    CHECK(walked == names);
}

// A user layer that follows the net's value type: build<In, T>.
template <std::size_t Units>
struct TypedDense {
    template <std::size_t In, class T>
    struct build {
        BOOST_HANA_DEFINE_STRUCT(build,
            (lm::basic_param<T, lm::init::normal, In, Units>, weight),
            (lm::basic_param<T, lm::init::zeros, Units>, bias));

        auto operator()(auto const& X) const { return lm::relu(lm::matmul(X, weight) + bias); }
    };
};

TEST_CASE("named_parameters views a double net's and a double layer's parameters as doubles", "[sequential][params]") {
    lm::Sequential<lm::InputOf<lm::shape<lm::dyn, 4>, double>, TypedDense<3>, lm::Dense<2>> net;
    auto params = lm::named_parameters(net);
    static_assert(std::is_same_v<decltype(params[0].data), std::span<double>>);
    REQUIRE(params.size() == 4);
    CHECK(params[0].name == "0.weight");
    CHECK(params[0].shape == std::vector<std::size_t>{4, 3});
    CHECK(params[0].data.data() == lm::get<"0.weight">(net).data());
    CHECK(params[3].name == "1.bias");
    CHECK(params[3].data.data() == lm::get<"1.bias">(net).data());

    auto const& cnet = net;
    static_assert(std::is_same_v<decltype(lm::named_parameters(cnet)[0].data), std::span<double const>>);

    // A layer built by hand, outside any net, takes its value type from its parameters.
    lm::built<TypedDense<3>, 5, double> layer;
    auto lp = lm::named_parameters(layer);
    static_assert(std::is_same_v<decltype(lp[0].data), std::span<double>>);
    REQUIRE(lp.size() == 2);
    CHECK(lp[0].name == "weight");
    CHECK(lp[0].shape == std::vector<std::size_t>{5, 3});
    CHECK(lp[1].data.data() == layer.bias.data());
    lp[1].data[2] = 0.25;
    CHECK(layer.bias(2) == 0.25);

    // A layer without parameters views none, as float.
    static_assert(std::is_same_v<decltype(lm::named_parameters(std::declval<lm::Centered&>())),
                                 std::vector<lm::parameter_ref<float>>>);
}

TEST_CASE("get<\"i.name\">(net) is the very parameter the walk and the forward pass use", "[sequential][params]") {
    lm::Sequential<lm::Input<3>, lm::Dense<4, lm::ReLU>, lm::Dense<2>> net;
    auto& b1 = lm::get<"1.bias">(net);
    auto& w0 = lm::get<"0.weight">(net);
    CHECK(&b1 == &lm::get<1>(net).bias);
    CHECK(&w0 == &lm::get<0>(net).weight);
    CHECK(w0.extents() == std::array<std::size_t, 2>{3, 4});
    float const* walked = nullptr;
    for (auto const& p : lm::named_parameters(net))
        if (p.name == "1.bias") walked = p.data.data();
    CHECK(walked == b1.data());

    auto x = lm::tensor<float, lm::shape<lm::dyn, 3>>::ones(2);
    auto const before = copy_of(net(x));
    b1(1) += 10.f;
    auto after = net(x);
    CHECK(after(0, 0) == before(0, 0));
    CHECK(after(0, 1) == Approx(before(0, 1) + 10.f));
    CHECK(after(1, 1) == Approx(before(1, 1) + 10.f));
}

TEST_CASE("summary() lists each layer's name, output shape and parameter count, then the total",
          "[sequential]") {
    lm::Sequential<lm::Input<8>, lm::Dense<16, lm::ReLU>, lm::Centered, MyDense<4>, lm::Dense<2>> net;
    auto row = [](std::string a, std::string b, std::string c) {
        a.resize(30, ' ');
        b.resize(22, ' ');
        return a + b + c + "\n";
    };
    std::string const rule(64, '=');
    std::string const want = row("Layer (type)", "Output Shape", "Param #") + rule + "\n" +
                             row("0 (Dense<16, ReLU>)", "(batch, 16)", "144") +
                             row("1 (Centered)", "(batch, 16)", "0") +
                             row("2 (MyDense<4>)", "(batch, 4)", "68") +
                             row("3 (Dense<2>)", "(batch, 2)", "10") + rule + "\nTotal params: 222\n";
    CHECK(lm::summary(net) == want);
}

TEST_CASE("initialize() with the same seed twice gives identical parameters, another seed different ones",
          "[sequential][params]") {
    lm::Sequential<lm::Input<8>, lm::Dense<16, lm::ReLU>, MyDense<4>> a, b;
    auto values = [](auto& net) {
        std::vector<double> v;
        for (auto const& p : lm::named_parameters(net)) v.insert(v.end(), p.data.begin(), p.data.end());
        return v;
    };
    lm::generator g1(7), g2(7), g3(8);
    a.initialize(g1);
    b.initialize(g2);
    CHECK(values(a).size() == std::size_t{8 * 16 + 16 + 16 * 4 + 4});
    CHECK(differences(values(a), values(b), 0) == "");
    b.initialize(g3);
    CHECK(differences(values(a), values(b), 0) != "");

    auto x = lm::rand<lm::dyn, 8>(3, g1);
    lm::generator g4(7);
    b.initialize(g4);
    auto const ya = copy_of(a(x));
    CHECK(differences(ya, b(x), 0) == "");  // equal parameters, equal outputs
}
