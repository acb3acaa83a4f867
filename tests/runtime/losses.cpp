// lamina/losses.hpp: cross_entropy's value and gradient against PyTorch's (logits of 1e4
// included), its label checks, mse_loss, and accuracy.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::differences;
using lamina_test::message_has;

namespace {

// torch.nn.functional.cross_entropy (mean over the batch) in double, PyTorch 1.13. Produced by
// tests/runtime/reference/optim_reference.py; rerun it with
// `/usr/bin/python3 tests/runtime/reference/optim_reference.py` (Debian's python3-torch) and
// paste its "losses.cpp" block here.
namespace torch_ref {
// cross_entropy, labels {2, 0, 3}
constexpr double moderate_logits[3][4] = {
    {0.5, -1.0, 2.0, 0.25},
    {3.0, 1.0, -2.0, 0.0},
    {-0.75, -0.5, 1.5, 4.0},
};
constexpr double moderate_loss = 0.2139270116997444;
constexpr double moderate_grad[3][4] = {
    {0.05141160842805407, 0.011471480422040069, -0.10292248975282306, 0.04003940090272894},
    {-0.053658497512489335, 0.037849873119967084, 0.001884434220738777, 0.013924190171783486},
    {0.0026173341932155666, 0.003360723628054692, 0.024832575420697865, -0.030810633241968123},
};
// cross_entropy, labels {1, 2, 0}
constexpr double wrong_logits[3][4] = {
    {0.5, -1.0, 2.0, 0.25},
    {3.0, 1.0, -2.0, 0.0},
    {-0.75, -0.5, 1.5, 4.0},
};
constexpr double wrong_loss = 4.463927011699744;
constexpr double wrong_grad[3][4] = {
    {0.05141160842805407, -0.32186185291129327, 0.23041084358051026, 0.04003940090272894},
    {0.27967483582084396, 0.037849873119967084, -0.33144889911259456, 0.013924190171783486},
    {-0.33071599914011773, 0.003360723628054692, 0.024832575420697865, 0.30252270009136517},
};
// cross_entropy, labels {1, 2, 1, 2}
constexpr double huge_logits[4][3] = {
    {10000.0, 9999.5, -10000.0},
    {-10000.0, -10000.0, -10000.0},
    {10000.0, -10000.0, 0.0},
    {-20000.0, 20000.0, 15000.0},
};
constexpr double huge_loss = 6250.518172318212;
constexpr double huge_grad[4][3] = {
    {0.15561483280046365, -0.15561483280046365, 0.0},
    {0.08333333333333333, 0.08333333333333333, -0.16666666666666669},
    {0.25, -0.25, 0.0},
    {0.0, 0.25, -0.25},
};
// cross_entropy, labels {1, 2}
constexpr double close_logits[2][3] = {
    {10000.0, 9999.5, -10000.0},
    {-20000.0, 20000.0, 19999.25},
};
constexpr double close_loss = 1.0554739951475032;
constexpr double close_grad[2][3] = {
    {0.3112296656009273, -0.3112296656009273, 0.0},
    {0.0, 0.3395893495876965, -0.3395893495876965},
};
}  // namespace torch_ref

template <class T, std::size_t Rows, std::size_t Cols>
lm::variable<T, lm::shape<lm::dyn, Cols>> logits_of(double const (&z)[Rows][Cols]) {
    return lm::tensor<T, lm::shape<lm::dyn, Cols>>(z);
}

template <std::size_t Rows, std::size_t Cols>
std::vector<double> flat(double const (&a)[Rows][Cols]) {
    return std::vector<double>(&a[0][0], &a[0][0] + Rows * Cols);
}

}  // namespace

TEST_CASE("cross_entropy gives torch's loss and gradient", "[losses][cross_entropy]") {
    auto check = [](auto const& z, std::vector<std::int32_t> const& labels, double loss, auto const& grad) {
        auto X = logits_of<double>(z);
        double const got = lm::cross_entropy(X, labels).backward();
        CHECK(got == Approx(loss).epsilon(1e-12));
        CHECK(differences(X.grad(), flat(grad), 1e-12, 1e-15) == "");
    };
    SECTION("labels mostly at the largest logit") {
        check(torch_ref::moderate_logits, {2, 0, 3}, torch_ref::moderate_loss, torch_ref::moderate_grad);
    }
    SECTION("labels away from the largest logit") {
        check(torch_ref::wrong_logits, {1, 2, 0}, torch_ref::wrong_loss, torch_ref::wrong_grad);
    }
    SECTION("logits of magnitude 1e4, a tie and a uniform row") {
        check(torch_ref::huge_logits, {1, 2, 1, 2}, torch_ref::huge_loss, torch_ref::huge_grad);
    }
    SECTION("logits of magnitude 1e4, losses of order 1") {
        check(torch_ref::close_logits, {1, 2}, torch_ref::close_loss, torch_ref::close_grad);
    }
}

TEST_CASE("cross_entropy on float logits of magnitude 1e4 stays finite and close to torch's",
          "[losses][cross_entropy]") {
    auto X = logits_of<float>(torch_ref::huge_logits);
    std::vector<std::int32_t> const labels{1, 2, 1, 2};
    float const got = lm::cross_entropy(X, labels).backward();
    REQUIRE(std::isfinite(got));
    // The maximum and log Σ exp are kept apart in double: float logits of 1e4 lose nothing.
    CHECK(got == Approx(torch_ref::huge_loss).epsilon(1e-6));
    CHECK(differences(X.grad(), flat(torch_ref::huge_grad), 0, 1e-6) == "");
}

// Rounding max + log Σ exp to float at magnitude 1e4 would cost half an ulp of 1e4 (5e-4):
// lamina keeps the two apart, in double, as torch's log_softmax subtracts the maximum first.
TEST_CASE("cross_entropy on float logits of magnitude 1e4 is as precise as torch's float32",
          "[losses][cross_entropy]") {
    auto X = logits_of<float>(torch_ref::close_logits);
    std::vector<std::int32_t> const labels{1, 2};
    float const got = lm::cross_entropy(X, labels).backward();
    CHECK(got == Approx(torch_ref::close_loss).epsilon(1e-6));
    CHECK(differences(X.grad(), flat(torch_ref::close_grad), 1e-6, 1e-7) == "");
}

TEST_CASE("cross_entropy names the row of a label outside the classes", "[losses][cross_entropy]") {
    auto X = logits_of<double>(torch_ref::moderate_logits);
    std::vector<std::int32_t> const too_big{0, 4, 1}, negative{-1, 0, 1};
    CHECK_THROWS_MATCHES(lm::cross_entropy(X, too_big), lm::error, message_has({"label 4", "row 1", "[0, 4)"}));
    CHECK_THROWS_MATCHES(lm::cross_entropy(X, negative), lm::error, message_has({"label -1", "row 0", "[0, 4)"}));
}

TEST_CASE("cross_entropy names both counts when labels and rows differ", "[losses][cross_entropy]") {
    auto X = logits_of<double>(torch_ref::moderate_logits);
    std::vector<std::int32_t> const two{0, 1}, four{0, 1, 2, 3};
    CHECK_THROWS_MATCHES(lm::cross_entropy(X, two), lm::shape_error, message_has({"2 labels", "3 rows"}));
    CHECK_THROWS_MATCHES(lm::cross_entropy(X, four), lm::shape_error, message_has({"4 labels", "3 rows"}));
}

TEST_CASE("mse_loss is the mean of squared differences, with gradient 2(p - t)/n", "[losses][mse]") {
    // Differences 0.5, 0, -2, 1: squares sum to 5.25 over 4 elements; every number is exact.
    SECTION("double") {
        using M = lm::tensor<double, lm::shape<lm::dyn, 2>>;
        lm::variable<double, lm::shape<lm::dyn, 2>> p(M({{1., 2.}, {3., 4.}}));
        M t({{0.5, 2.}, {5., 3.}});
        CHECK(lm::mse_loss(p, t).backward() == 1.3125);
        CHECK(differences(p.grad(), std::vector<double>{0.25, 0, -1, 0.5}, 0) == "");
    }
    SECTION("float, the target an expression") {
        using M = lm::tensor<float, lm::shape<lm::dyn, 2>>;
        lm::variable<float, lm::shape<lm::dyn, 2>> p(M({{1.f, 2.f}, {3.f, 4.f}}));
        M t({{0.25f, 1.f}, {2.5f, 1.5f}});
        CHECK(lm::mse_loss(p, t * 2.f).backward() == 1.3125f);
        CHECK(differences(p.grad(), std::vector<double>{0.25, 0, -1, 0.5}, 0) == "");
    }
}

TEST_CASE("accuracy counts rows whose first largest logit is at the label", "[losses][accuracy]") {
    lm::tensor<float, lm::shape<lm::dyn, 3>> z({{1.f, 3.f, 3.f}, {0.f, 0.f, 0.f}, {5.f, 1.f, 2.f},
                                                {-1.f, -2.f, -0.5f}});
    CHECK(lm::accuracy(z, std::vector<std::int32_t>{1, 0, 0, 2}) == 1.0);
    CHECK(lm::accuracy(z, std::vector<std::int32_t>{2, 1, 0, 2}) == 0.5);  // ties go to the first
    CHECK(lm::accuracy(z.view(), std::vector<std::int32_t>{0, 2, 1, 0}) == 0.0);
}

TEST_CASE("accuracy names both counts when labels and rows differ", "[losses][accuracy]") {
    lm::tensor<float, lm::shape<lm::dyn, 3>> z({{1.f, 3.f, 3.f}, {0.f, 0.f, 0.f}});
    CHECK_THROWS_MATCHES(lm::accuracy(z, std::vector<std::int32_t>{1, 0, 2}), lm::shape_error,
                         message_has({"3 labels", "2 rows"}));
}
