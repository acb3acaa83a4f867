// lamina/optim: sgd, adam and adamw against PyTorch's update rules step by step, frozen
// parameters, lr(v), the schedules against torch.optim.lr_scheduler, and a small net trained
// end to end with each optimizer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <boost/hana.hpp>
#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::differences;
using lamina_test::message_has;

namespace {

// PyTorch 1.13's numbers, in double. Produced by tests/runtime/reference/optim_reference.py;
// rerun it with `/usr/bin/python3 tests/runtime/reference/optim_reference.py` (Debian's
// python3-torch) and paste its "optim.cpp" block here.
namespace torch_ref {
constexpr double w0[6] = {0.5, -1.25, 2.0, 0.75, -0.3, 0.1};
constexpr double b0[2] = {0.2, -0.4};
constexpr double gw[3][6] = {
    {0.1, -0.2, 0.3, 0.0, -1.5, 0.05},
    {-0.4, 0.25, 0.1, -0.6, 0.7, 0.0},
    {0.2, 0.2, -0.05, 0.9, 0.3, -0.35},
};
constexpr double gb[3][2] = {
    {0.5, -0.1},
    {0.0, 0.3},
    {-0.25, 0.8},
};
// weight then bias after each of three steps
// {.lr = 0.1}
constexpr double sgd_plain[3][8] = {
    {0.49, -1.23, 1.97, 0.75, -0.14999999999999997, 0.095, 0.15000000000000002, -0.39},
    {0.53, -1.255, 1.96, 0.81, -0.21999999999999997, 0.095, 0.15000000000000002, -0.42000000000000004},
    {0.51, -1.275, 1.9649999999999999, 0.7200000000000001, -0.24999999999999997, 0.13, 0.17500000000000002,
     -0.5},
};
// {.lr = 0.1, .momentum = 0.9}
constexpr double sgd_momentum[3][8] = {
    {0.49, -1.23, 1.97, 0.75, -0.14999999999999997, 0.095, 0.15000000000000002, -0.39},
    {0.521, -1.2369999999999999, 1.933, 0.81, -0.08499999999999995, 0.0905, 0.10500000000000002,
     -0.41100000000000003},
    {0.5289, -1.2632999999999999, 1.9047, 0.774, -0.05649999999999993, 0.12145, 0.08950000000000002, -0.5099},
};
// {.lr = 0.1, .momentum = 0.9, .dampening = 0.1}
constexpr double sgd_dampening[3][8] = {
    {0.49, -1.23, 1.97, 0.75, -0.14999999999999997, 0.095, 0.15000000000000002, -0.39},
    {0.517, -1.2345, 1.934, 0.804, -0.07799999999999996, 0.0905, 0.10500000000000002, -0.40800000000000003},
    {0.5233, -1.2565499999999998, 1.9061, 0.7716000000000001, -0.040199999999999944, 0.11795,
     0.08700000000000002, -0.49620000000000003},
};
// {.lr = 0.1, .momentum = 0.9, .nesterov = true}
constexpr double sgd_nesterov[3][8] = {
    {0.481, -1.212, 1.943, 0.75, -0.014999999999999965, 0.09050000000000001, 0.10500000000000001, -0.381},
    {0.5488999999999999, -1.2433, 1.8997000000000002, 0.864, -0.026499999999999947, 0.08645000000000001, 0.0645,
     -0.4299},
    {0.53601, -1.2869700000000002, 1.8792300000000002, 0.7416, -0.030849999999999926, 0.14930500000000002,
     0.07555, -0.59891},
};
// {.lr = 0.1, .weight_decay = 0.01}
constexpr double sgd_weight_decay[3][8] = {
    {0.4895, -1.22875, 1.968, 0.74925, -0.1497, 0.0949, 0.14980000000000002, -0.3896},
    {0.5290105, -1.25252125, 1.956032, 0.80850075, -0.2195503, 0.0948051, 0.1496502, -0.4192104},
    {0.5084814895, -1.27126872875, 1.959075968, 0.71769224925, -0.2493307497, 0.1297102949, 0.17450054980000002,
     -0.49879118959999996},
};
// {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01}
constexpr double sgd_momentum_weight_decay[3][8] = {
    {0.4895, -1.22875, 1.968, 0.74925, -0.1497, 0.0949, 0.14980000000000002, -0.3896},
    {0.5195605, -1.23339625, 1.927232, 0.80782575, -0.08428029999999999, 0.09021509999999999,
     0.10447020000000001, -0.4098504},
    {0.5260953895, -1.25634447875, 1.8936135680000001, 0.76973609925, -0.05531828969999998, 0.1209084749,
     0.08856890980000001, -0.5076659096},
};
// {}
constexpr double adam_default[3][8] = {
    {0.4990000001, -1.24900000005, 1.9990000000333332, 0.75, -0.29900000000666666, 0.09900000019999997,
     0.19900000002, -0.39900000010000003},
    {0.4995595035748513, -1.2491627323044816, 1.998128936121572, 0.7507441368060319, -0.29870767278752614,
     0.09832994213543189, 0.19832994178482033, -0.39949418991120067},
    {0.4996696772346427, -1.2496080189231453, 1.9975637371906327, 0.7505314940752894, -0.29859935274024685,
     0.09888916955904159, 0.19815267459223107, -0.40022868154637664},
};
// {.lr = 0.01, .weight_decay = 0.01}
constexpr double adam_weight_decay[3][8] = {
    {0.4900000009523809, -1.2400000004705882, 1.9900000003125, 0.7400000133333156, -0.2900000000665336,
     0.09000000196078393, 0.19000000019920318, -0.3900000009615384},
    {0.4954718002841842, -1.2410822584375865, 1.9811137167881818, 0.7473560320993285, -0.28705420377816604,
     0.08316910195655025, 0.18327128745648755, -0.3948017882252837},
    {0.49638834097184503, -1.2450448246550447, 1.9748339713366645, 0.7451147824367158, -0.2859415734423525,
     0.08872775797461228, 0.18144276471426854, -0.4021059033077687},
};
// torch's defaults: lr 1e-3, weight_decay 0.01
constexpr double adamw_default[3][8] = {
    {0.49899500010000003, -1.24898750005, 1.9989800000333333, 0.7499925000000001, -0.2989970000066667,
     0.09899900019999996, 0.19899800002, -0.3989960001},
    {0.49954951362485034, -1.2491377424294812, 1.9980889463215719, 0.750729136881032, -0.2987016828175261,
     0.0983279521454299, 0.19832595180482013, -0.39948619995119966},
    {0.4996546917895055, -1.2495705376707207, 1.9975037665011695, 0.7505089868589208, -0.2985903757534187,
     0.09888619628951816, 0.19814670135271284, -0.40021669672437615},
};
// {.lr = 0.01, .weight_decay = 0.1}
constexpr double adamw_weight_decay[3][8] = {
    {0.4895000009999999, -1.2387500005, 1.9880000003333334, 0.74925, -0.28970000006666663, 0.0899000019999996,
     0.1898000002, -0.3896000009999999},
    {0.4946055357475128, -1.2391385730443174, 1.9773013612153862, 0.7559421180603189, -0.28648702787519476,
     0.08310952135231883, 0.18290961784800314, -0.3941522991110065},
    {0.4952126668096792, -1.2423523006579096, 1.9696720705447783, 0.753059748634834, -0.2851173403745267,
     0.08861868606706355, 0.18095403630426254, -0.4011030631636555},
};
// the bias frozen (requires_grad=False, no gradient) for the first step, trainable after
constexpr double sgd_dampening_frozen[3][8] = {
    {0.49, -1.23, 1.97, 0.75, -0.14999999999999997, 0.095, 0.2, -0.4},
    {0.517, -1.2345, 1.934, 0.804, -0.07799999999999996, 0.0905, 0.2, -0.43000000000000005},
    {0.5233, -1.2565499999999998, 1.9061, 0.7716000000000001, -0.040199999999999944, 0.11795, 0.2225, -0.529},
};
constexpr double adam_frozen[3][8] = {
    {0.4900000009523809, -1.2400000004705882, 1.9900000003125, 0.7400000133333156, -0.2900000000665336,
     0.09000000196078393, 0.2, -0.4},
    {0.4954718002841842, -1.2410822584375865, 1.9811137167881818, 0.7473560320993285, -0.28705420377816604,
     0.08316910195655025, 0.19000004999975, -0.4099999996621622},
    {0.49638834097184503, -1.2450448246550447, 1.9748339713366645, 0.7451147824367158, -0.2859415734423525,
     0.08872775797461228, 0.19738718987396572, -0.4193097234765601},
};
// learning rates for epochs 0..10 from base 0.1
// {.step_size = 3, .gamma = 0.1}
constexpr double step_lr[11] =
    {0.1, 0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002,
     0.0010000000000000002, 0.0010000000000000002, 0.00010000000000000003, 0.00010000000000000003};
// {.step_size = 1, .gamma = 0.5}
constexpr double step_lr_half[11] =
    {0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125, 0.0015625, 0.00078125, 0.000390625, 0.0001953125,
     9.765625e-05};
// {.total = 10}
constexpr double cosine_lr[11] =
    {0.1, 0.09755282581475769, 0.09045084971874738, 0.07938926261462367, 0.06545084971874739,
     0.05000000000000001, 0.03454915028125264, 0.020610737385376353, 0.009549150281252635, 0.002447174185242324,
     0.0};
// {.total = 10, .min_lr = 0.001}
constexpr double cosine_lr_min[11] =
    {0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599, 0.0505,
     0.03520365877844011, 0.02140463001152259, 0.010453658778440109, 0.0034227024433899004, 0.001};
// {.total = 4, .min_lr = 0.001}: torch climbs back after T_max
constexpr double cosine_lr_past_total[11] =
    {0.1, 0.0855017856687341, 0.0505, 0.0154982143312659, 0.001, 0.015498214331265896, 0.05050000000000001,
     0.08550178566873413, 0.10000000000000003, 0.08550178566873413, 0.05050000000000003};
}  // namespace torch_ref

// The script's toy problem as a "net": what the optimizers need of one is a value_type,
// zero_grad() and parameters that lamina::for_each_parameter walks (weight, then bias).
struct toy {
    using value_type = double;
    BOOST_HANA_DEFINE_STRUCT(toy,
        (lm::basic_param<double, lm::init::zeros, 3, 2>, weight),
        (lm::basic_param<double, lm::init::zeros, 2>, bias));

    toy() {
        std::copy(std::begin(torch_ref::w0), std::end(torch_ref::w0), weight.data());
        std::copy(std::begin(torch_ref::b0), std::end(torch_ref::b0), bias.data());
    }
    void zero_grad() {
        weight.zero_grad();
        bias.zero_grad();
    }
    // The script's gradients of step s (0, 1, 2).
    void set_grads(std::size_t s) {
        std::copy(std::begin(torch_ref::gw[s]), std::end(torch_ref::gw[s]), weight.grad().data());
        std::copy(std::begin(torch_ref::gb[s]), std::end(torch_ref::gb[s]), bias.grad().data());
    }
    // Weight then bias, flattened, as the script prints them.
    std::vector<double> values() const {
        std::vector<double> v(weight.begin(), weight.end());
        v.insert(v.end(), bias.begin(), bias.end());
        return v;
    }
};

constexpr double rtol = 1e-12;

// Three steps with the script's gradients; the parameters after each must be PyTorch's.
template <class Opt>
void check_steps(toy& net, Opt& opt, double const (&want)[3][8]) {
    for (std::size_t s = 0; s < 3; ++s) {
        opt.zero_grad();
        net.set_grads(s);
        opt.step();
        INFO("after step " << s + 1);
        CHECK(differences(net.values(), want[s], rtol) == "");
    }
}

}  // namespace

TEST_CASE("sgd updates parameters as torch.optim.SGD does, with and without momentum", "[optim][sgd]") {
    SECTION("plain") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 0.1});
        check_steps(net, opt, torch_ref::sgd_plain);
    }
    SECTION("momentum 0.9") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 0.1, .momentum = 0.9});
        check_steps(net, opt, torch_ref::sgd_momentum);
    }
    SECTION("momentum 0.9, dampening 0.1") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1});
        check_steps(net, opt, torch_ref::sgd_dampening);
    }
    SECTION("Nesterov momentum 0.9") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
        check_steps(net, opt, torch_ref::sgd_nesterov);
    }
    SECTION("weight decay 0.01") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 0.1, .weight_decay = 0.01});
        check_steps(net, opt, torch_ref::sgd_weight_decay);
    }
    SECTION("momentum 0.9 and weight decay 0.01") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
        check_steps(net, opt, torch_ref::sgd_momentum_weight_decay);
    }
}

TEST_CASE("adam and adamw update parameters as torch.optim.Adam and AdamW do", "[optim][adam]") {
    SECTION("Adam with torch's defaults") {
        toy net;
        lm::optim::adam opt(net, {});
        check_steps(net, opt, torch_ref::adam_default);
    }
    SECTION("Adam with weight decay 0.01 (L2 in the gradient)") {
        toy net;
        lm::optim::adam opt(net, {.lr = 0.01, .weight_decay = 0.01});
        check_steps(net, opt, torch_ref::adam_weight_decay);
    }
    SECTION("AdamW with torch's defaults (weight decay 0.01)") {
        toy net;
        lm::optim::adamw<toy> opt(net);
        CHECK(opt.options().weight_decay == 0.01);
        check_steps(net, opt, torch_ref::adamw_default);
    }
    SECTION("AdamW with weight decay 0.1 (decoupled)") {
        toy net;
        lm::optim::adamw opt(net, {.lr = 0.01, .weight_decay = 0.1});
        check_steps(net, opt, torch_ref::adamw_weight_decay);
    }
}

TEST_CASE("A frozen parameter is left unchanged, whatever its gradient, while the others train", "[optim]") {
    // The bias is frozen throughout and given the script's gradients anyway; the weight must
    // still follow PyTorch's values, in which it never depends on the bias.
    auto run = [](toy& net, auto& opt, double const (&want)[3][8]) {
        net.bias.requires_grad(false);
        for (std::size_t s = 0; s < 3; ++s) {
            opt.zero_grad();
            net.set_grads(s);
            opt.step();
            INFO("after step " << s + 1);
            CHECK(differences(std::vector<double>(net.weight.begin(), net.weight.end()),
                              std::vector<double>(want[s], want[s] + 6), rtol) == "");
            CHECK(differences(std::vector<double>(net.bias.begin(), net.bias.end()), torch_ref::b0, 0) == "");
        }
    };
    SECTION("sgd, momentum 0.9 and weight decay") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
        run(net, opt, torch_ref::sgd_momentum_weight_decay);
    }
    SECTION("adam, weight decay 0.01") {
        toy net;
        lm::optim::adam opt(net, {.lr = 0.01, .weight_decay = 0.01});
        run(net, opt, torch_ref::adam_weight_decay);
    }
    SECTION("adamw, whose decoupled decay must not touch it either") {
        toy net;
        lm::optim::adamw opt(net, {.lr = 0.01, .weight_decay = 0.1});
        run(net, opt, torch_ref::adamw_weight_decay);
    }
}

// Each parameter counts its own steps: a thawed one starts with sgd's buffer = d (not
// (1 - dampening)·d) and adam's bias corrections at its own step 1.
TEST_CASE("A parameter thawed after frozen steps starts its optimizer state afresh, as in PyTorch",
          "[optim]") {
    // The bias is frozen for the first step (with a gradient that must be ignored), then thawed.
    auto run = [](toy& net, auto& opt, double const (&want)[3][8]) {
        for (std::size_t s = 0; s < 3; ++s) {
            opt.zero_grad();
            net.set_grads(s);
            net.bias.requires_grad(s >= 1);
            opt.step();
            INFO("after step " << s + 1);
            CHECK(differences(net.values(), want[s], rtol) == "");
        }
    };
    SECTION("sgd, momentum 0.9 and dampening 0.1") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1});
        run(net, opt, torch_ref::sgd_dampening_frozen);
    }
    SECTION("adam, weight decay 0.01") {
        toy net;
        lm::optim::adam opt(net, {.lr = 0.01, .weight_decay = 0.01});
        run(net, opt, torch_ref::adam_frozen);
    }
}

TEST_CASE("lr(v) changes the rate of the steps that follow", "[optim]") {
    SECTION("sgd made with lr 1, set to 0.1") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 1.0});
        opt.lr(0.1);
        CHECK(opt.lr() == 0.1);
        check_steps(net, opt, torch_ref::sgd_plain);
    }
    SECTION("adam made with lr 0.5, set to torch's default 1e-3") {
        toy net;
        lm::optim::adam opt(net, {.lr = 0.5});
        opt.lr(1e-3);
        CHECK(opt.lr() == 1e-3);
        check_steps(net, opt, torch_ref::adam_default);
    }
    SECTION("lr 0 after a step leaves the parameters where the step put them") {
        toy net;
        lm::optim::sgd opt(net, {.lr = 0.1, .momentum = 0.9});
        net.set_grads(0);
        opt.step();
        opt.lr(0);
        net.set_grads(1);
        opt.step();
        CHECK(differences(net.values(), torch_ref::sgd_momentum[0], 0) == "");
    }
}

TEST_CASE("zero_grad() sets every gradient to zero", "[optim]") {
    toy net;
    lm::optim::adam opt(net, {});
    net.set_grads(0);
    opt.zero_grad();
    CHECK(std::all_of(net.weight.grad().begin(), net.weight.grad().end(), [](double g) { return g == 0; }));
    CHECK(std::all_of(net.bias.grad().begin(), net.bias.grad().end(), [](double g) { return g == 0; }));
}

TEST_CASE("sgd rejects Nesterov momentum without momentum, or with dampening, as torch does", "[optim][sgd]") {
    toy net;
    using sgd = lm::optim::sgd<toy>;
    CHECK_THROWS_MATCHES(sgd(net, {.lr = 0.1, .nesterov = true}), lm::error, message_has({"Nesterov", "momentum > 0"}));
    CHECK_THROWS_MATCHES(sgd(net, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}), lm::error,
                         message_has({"Nesterov", "zero dampening"}));
    CHECK_NOTHROW(sgd(net, {.lr = 0.1, .momentum = 0.9, .nesterov = true}));
}

TEST_CASE("step_schedule and cosine_schedule give torch's StepLR and CosineAnnealingLR rates", "[optim][schedule]") {
    auto rates = [](auto const& schedule) {
        std::vector<double> r;
        for (std::size_t epoch = 0; epoch <= 10; ++epoch) r.push_back(schedule(0.1, epoch));
        return r;
    };
    // torch multiplies the rate epoch by epoch, lamina uses the closed form: they may differ in the last bits.
    CHECK(differences(rates(lm::optim::step_schedule{.step_size = 3, .gamma = 0.1}), torch_ref::step_lr, rtol) == "");
    CHECK(differences(rates(lm::optim::step_schedule{.step_size = 1, .gamma = 0.5}), torch_ref::step_lr_half, 0) == "");
    CHECK(differences(rates(lm::optim::cosine_schedule{.total = 10}), torch_ref::cosine_lr, rtol, 1e-17) == "");
    CHECK(differences(rates(lm::optim::cosine_schedule{.total = 10, .min_lr = 0.001}), torch_ref::cosine_lr_min,
                      rtol) == "");
}

TEST_CASE("Past its total, cosine_schedule stays at min_lr (torch's CosineAnnealingLR climbs back)",
          "[optim][schedule]") {
    lm::optim::cosine_schedule const s{.total = 4, .min_lr = 0.001};
    for (std::size_t epoch = 0; epoch <= 4; ++epoch) {
        INFO("epoch " << epoch);
        CHECK(s(0.1, epoch) == Approx(torch_ref::cosine_lr_past_total[epoch]).epsilon(rtol));
    }
    for (std::size_t epoch = 5; epoch <= 10; ++epoch) {
        INFO("epoch " << epoch);
        CHECK(s(0.1, epoch) == 0.001);
    }
}

namespace {

// XOR blobs: 256 points around (±1, ±1), class 1 where the signs differ. No line separates them.
struct xor_blobs {
    static constexpr std::size_t n = 256;
    lm::tensor<float, lm::shape<lm::dyn, 2>> x{n};
    std::vector<std::int32_t> labels = std::vector<std::int32_t>(n);

    explicit xor_blobs(std::uint64_t seed) {
        lm::generator g(seed);
        for (std::size_t i = 0; i < n; ++i) {
            double const cx = (i & 1) ? 1.0 : -1.0, cy = (i & 2) ? 1.0 : -1.0;
            x(i, 0) = static_cast<float>(g.normal(cx, 0.3));
            x(i, 1) = static_cast<float>(g.normal(cy, 0.3));
            labels[i] = (cx > 0) != (cy > 0);
        }
    }
};

using Net = lm::Sequential<lm::Input<2>, lm::Dense<16, lm::ReLU>, lm::Centered, lm::Dense<2>>;

struct training_run {
    std::vector<float> losses;  // before each step
    double final_loss, accuracy;
};

// Full-batch training for `steps` steps from weights drawn with `seed`.
template <template <class> class Opt, class Options>
training_run train(Options const& options, std::uint64_t seed, std::size_t steps = 200) {
    xor_blobs const data(seed);
    Net net;
    lm::generator g(seed);
    net.initialize(g);
    Opt<Net> opt(net, options);
    training_run r;
    net.train();
    for (std::size_t s = 0; s < steps; ++s) {
        auto Y = net(data.x);
        r.losses.push_back(net.backward(lm::cross_entropy(Y, data.labels)));
        opt.step();
        opt.zero_grad();
    }
    net.eval();
    auto Y = net(data.x);
    r.final_loss = static_cast<double>(lm::cross_entropy(Y, data.labels).item());
    r.accuracy = lm::accuracy(Y, data.labels);
    return r;
}

}  // namespace

// The loss bound leaves a margin of about 10: after 200 steps seed 7 reaches 0.0034 (sgd) and
// 0.0071 (adam), and the worst of seeds 0 to 39 was 0.015 and 0.016, with accuracy >= 0.99.
TEST_CASE("A small net learns XOR blobs with sgd and with adam, bit-identically for one seed", "[optim][training]") {
    SECTION("sgd, momentum 0.9") {
        auto const a = train<lm::optim::sgd>(lm::optim::sgd_options{.lr = 0.1, .momentum = 0.9}, 7);
        INFO("loss " << a.losses.front() << " -> " << a.final_loss << ", accuracy " << a.accuracy);
        CHECK(a.final_loss < 0.05);
        CHECK(a.accuracy > 0.95);
        auto const b = train<lm::optim::sgd>(lm::optim::sgd_options{.lr = 0.1, .momentum = 0.9}, 7);
        CHECK(a.losses == b.losses);
    }
    SECTION("adam") {
        auto const a = train<lm::optim::adam>(lm::optim::adam_options{.lr = 0.01}, 7);
        INFO("loss " << a.losses.front() << " -> " << a.final_loss << ", accuracy " << a.accuracy);
        CHECK(a.final_loss < 0.05);
        CHECK(a.accuracy > 0.95);
        auto const b = train<lm::optim::adam>(lm::optim::adam_options{.lr = 0.01}, 7);
        CHECK(a.losses == b.losses);
    }
}

namespace {

// Trains `first` steps with one optimizer, copies the net's values and the optimizer's state
// (for_each_state) into a fresh net and optimizer, and trains both `then` steps more: the
// losses of the two must agree to the bit.
template <template <class> class Opt, class Options>
void check_state_round_trip(Options const& options, std::size_t first, std::size_t then) {
    xor_blobs const data(3);
    Net a, b;
    lm::generator g(3);
    a.initialize(g);
    Opt<Net> oa(a, options), ob(b, options);
    auto step = [&](Net& net, Opt<Net>& opt) {
        net.train();
        float const loss = net.backward(lm::cross_entropy(net(data.x), data.labels));
        opt.step();
        opt.zero_grad();
        return loss;
    };
    for (std::size_t s = 0; s < first; ++s) step(a, oa);
    std::vector<std::vector<float>> values;
    a.for_each_parameter([&](std::string_view, auto& p) { values.emplace_back(p.begin(), p.end()); });
    std::size_t i = 0;
    b.for_each_parameter([&](std::string_view, auto& p) { std::copy(values[i].begin(), values[i].end(), p.begin()), ++i; });
    // The saved state, by name; then written into b's optimizer, made empty first.
    std::map<std::string, std::pair<std::size_t, std::vector<std::vector<float>>>> saved;
    oa.for_each_state([&](std::string_view name, std::size_t& steps, auto const& bufs) {
        auto& [n, v] = saved[std::string(name)];
        n = steps;
        for (auto const& [buf_name, data] : bufs) v.emplace_back(data.begin(), data.end());
    });
    CHECK(saved.size() == (first > 0 ? 4 : 0));
    ob.for_each_state(
        [&](std::string_view name, std::size_t& steps, auto const& bufs) {
            auto const it = saved.find(std::string(name));
            if (it == saved.end()) return;
            steps = it->second.first;
            for (std::size_t k = 0; k < bufs.size(); ++k)
                std::copy(it->second.second[k].begin(), it->second.second[k].end(), bufs[k].second.begin());
        },
        true);
    for (std::size_t s = 0; s < then; ++s) CHECK(step(a, oa) == step(b, ob));
}

}  // namespace

TEST_CASE("An optimizer's state, copied by name through for_each_state, continues the run to the bit",
          "[optim][state]") {
    SECTION("sgd with momentum") { check_state_round_trip<lm::optim::sgd>(lm::optim::sgd_options{.lr = 0.1, .momentum = 0.9}, 5, 5); }
    SECTION("adam") { check_state_round_trip<lm::optim::adam>(lm::optim::adam_options{.lr = 0.01}, 5, 5); }
    SECTION("adamw, from no state") { check_state_round_trip<lm::optim::adamw>(lm::optim::adam_options{.lr = 0.01, .weight_decay = 0.01}, 0, 3); }
    SECTION("buffer names are torch's") {
        Net net;
        lm::optim::adam opt(net, {.lr = 0.01});
        std::vector<std::string> names;
        opt.for_each_state(
            [&](std::string_view, std::size_t&, auto const& bufs) {
                for (auto const& [n, d] : bufs) names.emplace_back(n);
            },
            true);
        CHECK(names.size() == 8);
        CHECK(names[0] == "exp_avg");
        CHECK(names[1] == "exp_avg_sq");
    }
}
