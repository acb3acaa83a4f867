// lamina/autodiff/: every gradient that backward() computes, against central finite
// differences in double: each unary and binary node with each kind of broadcast, reductions,
// matmul on every GEMM path, the losses, the built-in layers and a Sequential's backward; and
// the chapter's float net end to end.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"
#include "support.hpp"

namespace lm = lamina;
using lamina_test::differences;
using lamina_test::message_has;
using lamina_test::to_doubles;

namespace {

/// The step of a central difference, and the tolerance atol + rtol·|difference quotient|.
struct fd_step {
    double h, rtol, atol;
};
// Double, h = 1e-6: the truncation error h²·|f'''|/6 stays below 1e-11 on the inputs used here
// (kept away from kinks and poles), the rounding error ε·|y|/h below 2e-8 (outputs reach 100
// in the deepest products); 1e-6 leaves a margin of 50, while a wrong gradient is off by
// far more on inputs of order 1.
constexpr fd_step in_double{1e-6, 1e-6, 1e-6};
// Float, h = 1e-2: rounding (ε·|y|/h ≈ 1e-5) and truncation (h² ≈ 1e-4) errors allow only
// a loose check, which is all it is for: that the float path works end to end.
constexpr fd_step in_float{1e-2, 1e-2, 1e-3};

/// Tensors larger than this are probed at this many elements picked at random: the large
/// GEMM cases would otherwise run for minutes.
constexpr std::size_t max_probes = 160;

/// What a check evaluates after each step: the outputs, flattened.
using outputs_fn = std::function<std::vector<double>()>;

/// grad (the gradient of Σ_j w_j·y_j, y = out()) against central differences over the
/// elements of x; "" when they agree, else the first element that does not (support.hpp).
/// y(x - h) is subtracted from y(x + h) element by element before weighting, so that outputs
/// that do not move add no rounding error.
template <class T>
std::string differences_from_fd(std::span<T> x, std::vector<double> const& grad, std::vector<double> const& w,
                                outputs_fn const& out, fd_step s) {
    std::vector<double> want = grad;  // an element not probed is compared with itself
    std::vector<std::size_t> probes(std::min(x.size(), max_probes));
    if (probes.size() == x.size()) {
        std::iota(probes.begin(), probes.end(), std::size_t{0});
    } else {
        lm::generator g(x.size());
        for (auto& i : probes) i = static_cast<std::size_t>(g.uniform() * static_cast<double>(x.size()));
    }
    for (std::size_t const i : probes) {
        T const x0 = x[i];
        x[i] = x0 + static_cast<T>(s.h);
        T const hi = x[i];
        std::vector<double> const plus = out();
        x[i] = x0 - static_cast<T>(s.h);
        T const lo = x[i];
        std::vector<double> const minus = out();
        x[i] = x0;
        double d = 0;
        for (std::size_t j = 0; j < w.size(); ++j) d += w[j] * (plus[j] - minus[j]);
        want[i] = d / (static_cast<double>(hi) - static_cast<double>(lo));
    }
    return differences(grad, want, s.rtol, s.atol);
}

/// A variable as the checks see it.
struct variable_view {
    std::string shape;
    bool requires_grad;
    std::span<double> value, grad;
};
template <class V>
variable_view view_of(V& v) {
    return {v.shape_str(), v.requires_grad(), std::span(v.data(), v.size()), std::span(v.grad().data(), v.size())};
}

/// The part of check_gradients that does not depend on the expression's type, kept out of
/// the template: every instantiation costs compile time.
class gradient_check {
public:
    /// Sets every gradient to random values, so that a kernel that overwrites instead of
    /// adding is caught.
    explicit gradient_check(std::vector<variable_view> vars) : vars_(std::move(vars)) {
        for (auto& v : vars_) {
            for (double& e : v.grad) e = g.normal();
            before_.push_back(to_doubles(v.grad));
        }
    }
    /// After backward: u, the upstream gradient it was given; out, the expression's value.
    void finish(std::vector<double> const& u, outputs_fn const& out) {
        for (std::size_t k = 0; k < vars_.size(); ++k) {
            auto const& v = vars_[k];
            INFO("variable " << k << ", of shape " << v.shape);
            if (v.requires_grad) {
                std::vector<double> added = to_doubles(v.grad);
                for (std::size_t i = 0; i < added.size(); ++i) added[i] -= before_[k][i];
                CHECK(differences_from_fd(v.value, added, u, out, in_double) == "");
            } else {
                CHECK(differences(v.grad, before_[k], 0) == "");
            }
        }
    }
    lm::generator g{17};

private:
    std::vector<variable_view> vars_;
    std::vector<std::vector<double>> before_;
};

/// Checks what backward(f(vars...), u) adds to each variable's gradient against central
/// differences of Σ u·f(vars...). u is random: with an upstream of ones, a gradient sent to the
/// wrong element of a sum would go unnoticed. A variable with requires_grad(false) must leave
/// its gradient as it was.
template <class F, class... V>
void check_gradients(F const& f, V&... vars) {
    using E = decltype(f(vars...));
    gradient_check c({view_of(vars)...});
    auto const u = lm::tensor<typename E::value_type, typename E::shape_type>::randn(f(vars...).batch(), c.g);
    lm::backward(f(vars...), u);
    c.finish(to_doubles(u), [&] { return to_doubles(lm::eval(f(vars...))); });
}

/// Checks every parameter's gradient, as the net's last backward left it, against central
/// differences of loss(), which runs the net in eval mode. A frozen parameter's must be zero.
template <class Net>
void check_parameter_gradients(Net& net, std::function<double()> const& loss, fd_step s) {
    outputs_fn const out = [&] {
        net.eval();
        return std::vector<double>{loss()};
    };
    net.for_each_parameter([&](std::string_view name, auto& p) {
        INFO("parameter " << name);
        std::vector<double> const grad = to_doubles(p.grad());
        if (p.requires_grad()) CHECK(differences_from_fd(std::span(p.data(), p.size()), grad, {1.0}, out, s) == "");
        else CHECK(differences(grad, std::vector<double>(grad.size()), 0) == "");
    });
}

/// How a test's values are drawn: away from the points where a derivative jumps or blows up,
/// so that a difference over ±h sees one smooth piece.
enum class values {
    normal,
    nonzero,   // ±[0.25, 2]: relu, abs
    positive,  // [0.5, 2]: log, sqrt
    halves,    // k + 1/2 ± 0.1: never within 0.3 of `integers` (maximum and minimum have no ties)
    integers,  // ±{1, 2, 3} ± 0.1: also safe divisors
};

double draw(values k, lm::generator& g) {
    switch (k) {
        case values::nonzero: return (g.uniform() < 0.5 ? -1 : 1) * g.uniform(0.25, 2);
        case values::positive: return g.uniform(0.5, 2);
        case values::halves: return std::floor(g.uniform(-3, 3)) + 0.5 + g.uniform(-0.1, 0.1);
        case values::integers:
            return (g.uniform() < 0.5 ? -1 : 1) * (1 + std::floor(g.uniform(0, 3))) + g.uniform(-0.1, 0.1);
        default: return g.normal();
    }
}

template <class S>
lm::variable<double, S> var(lm::generator& g, values k = values::normal, std::size_t batch = S::batch_of(0)) {
    auto t = lm::tensor<double, S>::zeros(batch);
    for (auto& x : t) x = draw(k, g);
    return lm::variable<double, S>(std::move(t));
}

template <std::size_t C>
using rows_of = lm::shape<lm::dyn, C>;

/// Element-wise expressions over operands of their own shape (or a number, or a one-element
/// tensor) run flat, over all B·C elements as one row: the count alone decides whether the
/// SIMD body (unrolled by two, by four in sums), its tail or both run, for vectors of 2
/// (SSE2), 4 (AVX2) and 8 (AVX-512) doubles. A batch (B, 1) of these sizes covers them all
/// with one instantiation.
constexpr std::size_t flat_sizes[] = {1, 3, 4, 5, 7, 8, 9, 17, 35};
using flat_shape = lm::shape<lm::dyn, 1>;

/// Other expressions loop over rows of C: calls f.template operator()<C>() for each C. The
/// widths 1, 3, 4, 7, 8, 9, 17 run only the tail, only whole vectors, or both, for 2 (SSE2),
/// 4 (AVX2) and 8 (AVX-512) lanes.
template <std::size_t... C, class F>
void for_widths(F&& f) {
    (f.template operator()<C>(), ...);
}
/// Dynamic batches: one sample, and several.
constexpr std::size_t batches[] = {1, 5};

// The unary nodes, each with the values on which its derivative is smooth.
struct neg_op {
    static constexpr values domain = values::normal;
    auto operator()(auto const& x) const { return -x; }
};
struct relu_op {
    static constexpr values domain = values::nonzero;
    auto operator()(auto const& x) const { return lm::relu(x); }
};
struct exp_op {
    static constexpr values domain = values::normal;
    auto operator()(auto const& x) const { return lm::exp(x); }
};
struct log_op {
    static constexpr values domain = values::positive;
    auto operator()(auto const& x) const { return lm::log(x); }
};
struct tanh_op {
    static constexpr values domain = values::normal;
    auto operator()(auto const& x) const { return lm::tanh(x); }
};
struct sigmoid_op {
    static constexpr values domain = values::normal;
    auto operator()(auto const& x) const { return lm::sigmoid(x); }
};
struct sqrt_op {
    static constexpr values domain = values::positive;
    auto operator()(auto const& x) const { return lm::sqrt(x); }
};
struct abs_op {
    static constexpr values domain = values::nonzero;
    auto operator()(auto const& x) const { return lm::abs(x); }
};
struct square_op {
    static constexpr values domain = values::normal;
    auto operator()(auto const& x) const { return lm::square(x); }
};

// The binary operations, on operands drawn from `halves` and `integers`.
struct add_op {
    auto operator()(auto const& a, auto const& b) const { return a + b; }
};
struct sub_op {
    auto operator()(auto const& a, auto const& b) const { return a - b; }
};
struct mul_op {
    auto operator()(auto const& a, auto const& b) const { return a * b; }
};
struct div_op {
    auto operator()(auto const& a, auto const& b) const { return a / b; }
};
struct maximum_op {
    auto operator()(auto const& a, auto const& b) const { return lm::maximum(a, b); }
};
struct minimum_op {
    auto operator()(auto const& a, auto const& b) const { return lm::minimum(a, b); }
};

/// op on (B, C) with a row (C) and a one-element tensor (1), both on the right, and a column
/// (B, 1) on the left; on (2, 3, C) with (3, 1) on the left and (C) on the right. Between
/// them, every operation's gradient is summed over a broadcast on either side. (The rank-3
/// broadcasts differ from the others only in their row maps: Rank3 selects them.)
template <std::size_t C, bool Rank3, class Op>
void check_broadcasts(Op op, lm::generator& g) {
    for (std::size_t B : batches) {
        auto a = var<rows_of<C>>(g, values::halves, B);
        auto row = var<lm::shape<C>>(g, values::integers);
        auto col = var<rows_of<1>>(g, values::integers, B);
        auto one = var<lm::shape<1>>(g, values::integers);
        INFO("a of shape " << a.shape_str());
        check_gradients(op, a, row);
        check_gradients(op, col, a);
        check_gradients(op, a, one);
    }
    if constexpr (Rank3) {
        auto a = var<lm::shape<2, 3, C>>(g, values::halves);
        auto c = var<lm::shape<3, 1>>(g, values::integers);
        auto row = var<lm::shape<C>>(g, values::integers);
        INFO("a of shape " << a.shape_str());
        check_gradients(op, c, a);
        check_gradients(op, a, row);
    }
}

/// sum or mean over axis A (negative counts from the end), with or without keepdim.
template <bool Mean, int A, bool Keep>
struct reduce_op {
    auto operator()(auto const& x) const {
        if constexpr (Mean && Keep) return lm::mean(x, lm::axis<A>, lm::keepdim);
        else if constexpr (Mean) return lm::mean(x, lm::axis<A>);
        else if constexpr (Keep) return lm::sum(x, lm::axis<A>, lm::keepdim);
        else return lm::sum(x, lm::axis<A>);
    }
};

/// One reduction over each axis of x; Turn rotates, from axis to axis and call to call,
/// through sum, mean, with and without keepdim, the axis named from the front or from the end.
/// (keepdim changes only the result's shape, not the kernels.)
template <int Turn, class X>
void check_axis_reductions(X& x) {
    constexpr int R = static_cast<int>(X::rank);
    [&]<int... A>(std::integer_sequence<int, A...>) {
        (
            [&] {
                constexpr int t = (A + Turn) % 4;
                INFO("axis " << A << " (" << A - R << ") of " << x.shape_str());
                check_gradients(reduce_op<t % 2 == 1, t == 1 || t == 2 ? A - R : A, t == 1 || t == 2>{}, x);
            }(),
            ...);
    }(std::make_integer_sequence<int, R>{});
}

struct matmul_op {
    auto operator()(auto const& x, auto const& w) const { return lm::matmul(x, w); }
};

/// X (B, K) · W (K, N) for each B in rows.
template <std::size_t K, std::size_t N>
void check_matmul(lm::generator& g, std::initializer_list<std::size_t> rows) {
    auto w = var<lm::shape<K, N>>(g);
    for (std::size_t B : rows) {
        auto x = var<rows_of<K>>(g, values::normal, B);
        INFO("(" << B << ", " << K << ") · (" << K << ", " << N << ")");
        check_gradients(matmul_op{}, x, w);
    }
}

/// The smallest |x·w + b| over a dense layer's pre-activations, in double: how near the
/// nearest one is to ReLU's kink.
template <class X, class W, class B>
double min_preactivation(X const& x, W const& w, B const& b) {
    std::size_t const K = w.extents()[0], N = w.extents()[1];
    double m = std::numeric_limits<double>::infinity();
    for (std::size_t r = 0; r < x.size() / K; ++r)
        for (std::size_t j = 0; j < N; ++j) {
            double z = b.data()[j];
            for (std::size_t k = 0; k < K; ++k) z += double(x.data()[r * K + k]) * double(w.data()[k * N + j]);
            m = std::min(m, std::abs(z));
        }
    return m;
}

std::vector<std::int32_t> random_labels(std::size_t n, std::size_t classes, lm::generator& g) {
    std::vector<std::int32_t> y(n);
    for (auto& v : y) v = static_cast<std::int32_t>(g.uniform() * static_cast<double>(classes));
    return y;
}

}  // namespace

TEMPLATE_TEST_CASE("Each unary node's gradient matches finite differences", "[autodiff]", neg_op, relu_op, exp_op,
                   log_op, tanh_op, sigmoid_op, sqrt_op, abs_op, square_op) {
    lm::generator g(1);
    for (std::size_t n : flat_sizes) {
        auto x = var<flat_shape>(g, TestType::domain, n);
        INFO("x of shape " << x.shape_str());
        check_gradients(TestType{}, x);
    }
}

TEMPLATE_TEST_CASE("Each binary operation's gradients match finite differences on operands of one shape and "
                   "with a number",
                   "[autodiff]", add_op, sub_op, mul_op, div_op, maximum_op, minimum_op) {
    TestType const op;
    lm::generator g(2);
    for (std::size_t n : flat_sizes) {
        auto a = var<flat_shape>(g, values::halves, n);
        auto b = var<flat_shape>(g, values::integers, n);
        INFO("a of shape " << a.shape_str());
        check_gradients(op, a, b);
        check_gradients([&](auto const& x) { return op(x, 2.0) - op(3.0, x); }, a);
    }
}

TEST_CASE("maximum and minimum split the gradient in halves where the operands tie, as torch does", "[autodiff]") {
    // 19 values: two vectors of 8 floats and a scalar tail; ties at 0, 1, 5, 16 and 18.
    std::vector<float> av, bv;
    for (int i = 0; i < 19; ++i) {
        av.push_back(float(i % 7));
        bv.push_back(i == 0 || i == 1 || i == 5 || i == 16 || i == 18 ? float(i % 7) : float(i % 7) + (i % 2 ? 0.5f : -0.5f));
    }
    lm::variable<float, lm::shape<lm::dyn>> a(lm::tensor<float, lm::shape<lm::dyn>>(19)), b(lm::tensor<float, lm::shape<lm::dyn>>(19));
    std::copy(av.begin(), av.end(), a.begin());
    std::copy(bv.begin(), bv.end(), b.begin());
    (void)lm::sum(lm::maximum(a, b) * 2.f + lm::minimum(a, b) * 8.f).backward();
    for (std::size_t i = 0; i < 19; ++i) {
        INFO("element " << i << ": a = " << av[i] << ", b = " << bv[i]);
        float const want_a = av[i] == bv[i] ? 5.f : av[i] > bv[i] ? 2.f : 8.f;
        float const want_b = av[i] == bv[i] ? 5.f : av[i] > bv[i] ? 8.f : 2.f;
        CHECK(a.grad()(i) == want_a);
        CHECK(b.grad()(i) == want_b);
    }
}

TEMPLATE_TEST_CASE("Each binary operation's gradients match finite differences under broadcasts on either side",
                   "[autodiff]", add_op, sub_op, mul_op, div_op, maximum_op, minimum_op) {
    lm::generator g(3);
    // 9: whole vectors and a tail for 2, 4 and 8 lanes. Rank 3 for sub, whose gradients need
    // no operand values, and div, whose gradients read both operands, each differently.
    check_broadcasts<9, std::is_same_v<TestType, sub_op> || std::is_same_v<TestType, div_op>>(TestType{}, g);
}

TEST_CASE("Broadcast gradients match finite differences at every width", "[autodiff]") {
    // A row and a column broadcast in one expression, with mul, whose gradients read both
    // operands through their broadcasts. (A one-element operand is read flat, and a rank-3
    // broadcast differs from these only in its row map: neither depends on the width.)
    lm::generator g(4);
    for_widths<1, 3, 4, 7, 8, 9, 17>([&]<std::size_t C>() {
        for (std::size_t B : batches) {
            auto a = var<rows_of<C>>(g, values::normal, B);
            auto row = var<lm::shape<C>>(g);
            auto col = var<rows_of<1>>(g, values::normal, B);
            INFO("a of shape " << a.shape_str());
            check_gradients([](auto const& x, auto const& r, auto const& c) { return x * r - c * x; }, a, row, col);
        }
    });
}

TEST_CASE("A variable used twice in one expression receives both gradients", "[autodiff]") {
    lm::generator g(5);
    for (std::size_t n : flat_sizes) {
        auto x = var<flat_shape>(g, values::normal, n);
        INFO("x of shape " << x.shape_str());
        check_gradients([](auto const& v) { return v * v + v; }, x);
    }
}

TEST_CASE("The gradient of an operand broadcast over a long batch is summed as accurately as lm::sum", "[autodiff]") {
    // d sum(b * X) / d b_j = the sum of column j of X: 100,000 values of 0.1f in column 0 (summed
    // one row after another in float that came to 9998.56; torch: 9999.999), 0.2f in column 1...
    // 91 columns take every vector width's blocks of four vectors, single vectors and scalars.
    constexpr std::size_t C = 91;
    auto const value = [](std::size_t j) { return 0.1f * float(j % 4 + 1); };
    lm::tensor<float, lm::shape<lm::dyn, C>> X(100000);
    for (std::size_t r = 0; r < X.batch(); ++r)
        for (std::size_t j = 0; j < C; ++j) X(r, j) = value(j);
    lm::variable<float, lm::shape<C>> b(lm::tensor<float, lm::shape<C>>::ones());
    (void)lm::sum(b * X).backward();
    for (std::size_t j = 0; j < C; ++j) {
        INFO("column " << j);
        double const want = 1e5 * double(value(j));
        CHECK(std::abs(b.grad()(j) - want) <= 2e-6 * want);
    }
}

TEST_CASE("The gradient of an operand broadcast over a batch and within a sample is summed as accurately as lm::sum",
          "[autodiff]") {
    // X (100,000 × 4 × 31) of 0.1f, 0.2f, 0.3f, 0.4f by row within a sample. A (4, 31) operand
    // is broadcast over the batch: each element of its gradient sums 100,000 values. A (4, 1)
    // operand is broadcast over the batch and the columns: each sums 3,100,000. (Summed in
    // float one after another, the first came to 9998.56 instead of 10,000.)
    constexpr std::size_t T = 4, C = 31, B = 100000;
    auto const value = [](std::size_t t) { return 0.1f * float(t + 1); };
    lm::tensor<float, lm::shape<lm::dyn, T, C>> X(B);
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t j = 0; j < C; ++j) X(b, t, j) = value(t);
    lm::variable<float, lm::shape<T, C>> w(lm::tensor<float, lm::shape<T, C>>::ones());
    lm::variable<float, lm::shape<T, 1>> s(lm::tensor<float, lm::shape<T, 1>>::ones());
    (void)lm::sum(w * X + s * X).backward();
    for (std::size_t t = 0; t < T; ++t) {
        INFO("row " << t);
        for (std::size_t j = 0; j < C; ++j) CHECK(std::abs(w.grad()(t, j) - B * double(value(t))) <= 2e-6 * B * value(t));
        CHECK(std::abs(s.grad()(t, 0) - B * C * double(value(t))) <= 2e-6 * B * C * value(t));
    }
    // Broadcast over the batch and a middle axis: a (4, 1, 3) operand over (100,000 × 4 × 5 × 3),
    // each element of its gradient the sum of 500,000 values.
    lm::tensor<float, lm::shape<lm::dyn, T, 5, 3>> X2(B);
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t m = 0; m < 5; ++m)
                for (std::size_t j = 0; j < 3; ++j) X2(b, t, m, j) = value(t);
    lm::variable<float, lm::shape<T, 1, 3>> u(lm::tensor<float, lm::shape<T, 1, 3>>::ones());
    (void)lm::sum(u * X2).backward();
    for (std::size_t t = 0; t < T; ++t)
        for (std::size_t j = 0; j < 3; ++j)
            CHECK(std::abs(u.grad()(t, 0, j) - B * 5 * double(value(t))) <= 2e-6 * B * 5 * value(t));
}

TEST_CASE("A variable with requires_grad(false) is a constant whose gradient is left alone", "[autodiff]") {
    lm::generator g(6);
    auto a = var<flat_shape>(g, values::halves, 9);
    auto b = var<flat_shape>(g, values::integers, 9);
    b.requires_grad(false);
    check_gradients(mul_op{}, a, b);
    a.requires_grad(false);
    b.requires_grad(true);
    check_gradients(mul_op{}, a, b);
}

TEST_CASE("sum and mean over every element send their gradient to each element", "[autodiff]") {
    lm::generator g(7);
    for (std::size_t n : flat_sizes) {
        auto x = var<flat_shape>(g, values::normal, n);
        INFO("x of shape " << x.shape_str());
        check_gradients([](auto const& v) { return lm::sum(v); }, x);
        check_gradients([](auto const& v) { return lm::mean(v); }, x);
    }
}

TEST_CASE("sum and mean over one axis send their gradient along that axis, batch axis included", "[autodiff]") {
    lm::generator g(8);
    // Rows of C: tail only, whole vectors only (2 and 4 lanes), both.
    for_widths<1, 4, 9, 17>([&]<std::size_t C>() {
        for (std::size_t B : batches) {
            auto x = var<rows_of<C>>(g, values::normal, B);
            check_axis_reductions<C / 4 % 4>(x);
        }
    });
    auto x = var<lm::shape<2, 3, 4>>(g);
    check_axis_reductions<0>(x);
    for (std::size_t B : batches) {
        auto y = var<lm::shape<lm::dyn, 3, 9>>(g, values::normal, B);
        check_axis_reductions<3>(y);
    }
}

TEST_CASE("matmul's gradients match finite differences for depths and widths from 1 to 33", "[autodiff]") {
    lm::generator g(9);
    // Every size of {1, 3, 8, 17, 33} as the depth K, and every one but 8 (the width in the
    // next test and in the Dense layers) as the width N; the input gradient's product swaps
    // them, so each pair runs the other way too. (The GEMM unrolls depths up to 32: each
    // pair compiled costs seconds.)
    check_matmul<8, 3>(g, {1, 6, 13});
    check_matmul<3, 33>(g, {1, 6, 13});
    check_matmul<33, 1>(g, {1, 6, 13});
    check_matmul<1, 17>(g, {1, 6, 13});
    check_matmul<17, 3>(g, {1, 6, 13});
}

TEST_CASE("matmul's gradients match finite differences on the packed and blocked GEMM paths", "[autodiff]") {
    lm::generator g(10);
    // K·N >= 16384 and 12 rows or more: the forward and input-gradient products are packed;
    // with 300 rows the weight gradient's depth spans two blocks of 256.
    check_matmul<130, 140>(g, {13, 300});
    // The input gradient's depth (N) spans two blocks, each accumulated into the gradient;
    // the forward product's width spans two panels.
    check_matmul<70, 260>(g, {13});
}

TEST_CASE("matmul's gradients pass through a rank-3 left operand and through operand expressions", "[autodiff]") {
    lm::generator g(11);
    // Depth 3: the GEMMs of each new expression unroll their depth; (3, 8) and (8, 3) are
    // compiled for the test above already.
    auto w = var<lm::shape<3, 8>>(g);
    auto x3 = var<lm::shape<2, 3, 3>>(g);
    check_gradients(matmul_op{}, x3, w);
    for (std::size_t B : {1, 6, 13}) {
        auto x = var<rows_of<3>>(g, values::nonzero, B);
        INFO("batch " << B);
        // The left operand's gradient reaches x through a workspace buffer and relu's node.
        check_gradients([](auto const& a, auto const& b) { return lm::matmul(lm::relu(a), b); }, x, w);
        check_gradients([](auto const& a, auto const& b) { return lm::matmul(a, b * 2.0); }, x, w);
    }
}

TEST_CASE("Centering X - mean(X) over the whole batch sends back G - mean(G)", "[autodiff]") {
    lm::generator g(12);
    for (std::size_t B : {1, 5, 13}) {
        auto x = var<rows_of<9>>(g, values::normal, B);
        auto const G = lm::tensor<double, rows_of<9>>::randn(B, g);
        INFO("x of shape " << x.shape_str());
        x.zero_grad();
        lm::backward(CenteredLayer{}(x), G);
        lm::tensor const want = G - lm::mean(G);
        CHECK(differences(x.grad(), want, 1e-12, 1e-12) == "");
        check_gradients(CenteredLayer{}, x);
        check_gradients(lm::Centered{}, x);
    }
}

TEST_CASE("cross_entropy's gradient matches finite differences", "[autodiff]") {
    lm::generator g(13);
    for (std::size_t B : {1, 5, 13}) {
        auto z = var<rows_of<10>>(g, values::normal, B);
        auto const labels = random_labels(B, 10, g);
        INFO("logits of shape " << z.shape_str());
        check_gradients([&](auto const& x) { return lm::cross_entropy(x, labels); }, z);
    }
}

TEST_CASE("cross_entropy of logits of magnitude 1e4 is finite, and so is its gradient, both as by hand",
          "[autodiff]") {
    lm::variable<double, rows_of<3>> z(lm::tensor<double, rows_of<3>>({{1e4, 0.0, -1e4}, {0.0, 1e4, 1e4}, {-1e4, -1e4, -1e4}}));
    std::vector<std::int32_t> const labels{0, 1, 2};
    z.zero_grad();
    double const loss = lm::cross_entropy(z, labels).backward();
    // Row by row, the loss is 0, log 2 and log 3, the softmax (1, 0, 0), (0, ½, ½) and
    // (⅓, ⅓, ⅓); the gradient is (softmax - onehot) / 3. log-sum-exp is 1e4 + log 2 in row 1,
    // which keeps log 2 only to 1e4's ulp (2e-12).
    CHECK(differences(std::array{loss}, std::array{std::log(6.0) / 3}, 0, 1e-11) == "");
    std::array<double, 9> const want{0, 0, 0, 0, -0.5 / 3, 0.5 / 3, 1.0 / 9, 1.0 / 9, -2.0 / 9};
    CHECK(differences(z.grad(), want, 0, 1e-12) == "");
}

TEST_CASE("mse_loss's gradients reach both the prediction and the target", "[autodiff]") {
    lm::generator g(14);
    for (std::size_t n : flat_sizes) {
        auto p = var<flat_shape>(g, values::normal, n);
        auto t = var<flat_shape>(g, values::normal, n);
        INFO("prediction of shape " << p.shape_str());
        check_gradients([](auto const& a, auto const& b) { return lm::mse_loss(a, b); }, p, t);
    }
}

TEMPLATE_TEST_CASE("A built Dense layer in double sends gradients to its weight, its bias and its input",
                   "[autodiff]", lm::Identity, lm::ReLU, lm::Sigmoid, lm::Tanh) {
    lm::generator g(15);
    lm::built<lm::Dense<8, TestType>, 3, double> dense;  // depth 3: see the matmul tests above
    for (auto& b : dense.bias) b = g.normal();  // it starts at zero
    for (std::size_t B : {1, 5, 13}) {
        auto x = var<rows_of<3>>(g, values::normal, B);
        INFO("input of shape " << x.shape_str());
        // A step of ±1e-6 in any input must not carry a pre-activation across ReLU's kink.
        REQUIRE(min_preactivation(x, dense.weight, dense.bias) > 1e-4);
        check_gradients([&](auto const& in, auto const&, auto const&) { return dense(in); }, x, dense.weight,
                        dense.bias);
    }
}

namespace {

using double_net =
    lm::Sequential<lm::InputOf<lm::shape<lm::dyn, 5>, double>, lm::Dense<8, lm::Tanh>, lm::Centered, lm::Dense<3>>;

/// A net with random biases (Dense's start at zero), inputs and labels for a batch of B.
struct double_net_case {
    lm::generator g;
    double_net net;
    lm::tensor<double, rows_of<5>> x;
    std::vector<std::int32_t> labels;
    explicit double_net_case(std::size_t B) : g(15 + B) {
        net.initialize(g);
        net.for_each_parameter([&](std::string_view name, auto& p) {
            if (name.ends_with("bias"))
                for (auto& v : p) v = g.normal();
        });
        x = lm::tensor<double, rows_of<5>>::randn(B, g);
        labels = random_labels(B, 3, g);
    }
    double loss() { return lm::cross_entropy(net(x), labels).item(); }
    /// One training step's gradients, from net.backward(loss); returns the loss.
    double train_step() {
        net.train();
        auto y = net(x);
        return net.backward(lm::cross_entropy(y, labels));
    }
};

template <class Net>
std::vector<double> all_gradients(Net& net) {
    std::vector<double> r;
    net.for_each_parameter([&](std::string_view, auto& p) {
        for (double v : p.grad()) r.push_back(v);
    });
    return r;
}

}  // namespace

TEST_CASE("A Sequential in double: backward(loss) gives every parameter the loss's gradient", "[autodiff]") {
    for (std::size_t B : {1, 5}) {
        double_net_case c(B);
        INFO("batch " << B);
        c.net.zero_grad();
        double const value = c.train_step();
        c.net.eval();
        CHECK(differences(std::array{value}, std::array{c.loss()}, 1e-12) == "");
        check_parameter_gradients(c.net, [&] { return c.loss(); }, in_double);
    }
}

TEST_CASE("A Sequential in double: backward(dY) gives every parameter the gradient of sum(Y * dY)", "[autodiff]") {
    for (std::size_t B : {1, 5}) {
        double_net_case c(B);
        INFO("batch " << B);
        auto const dY = lm::tensor<double, rows_of<3>>::randn(B, c.g);
        c.net.zero_grad();
        c.net.train();
        c.net(c.x);
        c.net.backward(dY);
        check_parameter_gradients(c.net, [&] { return lm::sum(c.net(c.x) * dY).item(); }, in_double);
        // The same through an expression, which the net evaluates first: twice the gradients.
        std::vector<double> twice = all_gradients(c.net);
        for (double& v : twice) v *= 2;
        c.net.zero_grad();
        c.net.train();
        c.net(c.x);
        c.net.backward(dY * 2.0);
        CHECK(differences(all_gradients(c.net), twice, 1e-12, 1e-12) == "");
    }
}

TEST_CASE("A Sequential's gradients add up over backward calls until zero_grad", "[autodiff]") {
    double_net_case c(5);
    c.net.zero_grad();
    c.train_step();
    std::vector<double> twice = all_gradients(c.net);
    for (double& v : twice) v *= 2;
    c.train_step();
    CHECK(differences(all_gradients(c.net), twice, 1e-12, 1e-12) == "");
    c.net.zero_grad();
    CHECK(differences(all_gradients(c.net), std::vector<double>(twice.size()), 0) == "");
}

TEST_CASE("A frozen parameter keeps a zero gradient while every other one gets its own", "[autodiff]") {
    for (std::string_view frozen : {"0.weight", "2.bias"}) {
        double_net_case c(5);
        INFO("frozen: " << frozen);
        c.net.for_each_parameter([&](std::string_view name, auto& p) { p.requires_grad(name != frozen); });
        c.net.zero_grad();
        c.train_step();
        check_parameter_gradients(c.net, [&] { return c.loss(); }, in_double);
    }
}

TEST_CASE("A shared parameter's gradient is the sum over its uses, as finite differences of the tied net",
          "[autodiff]") {
    using tied_net = lm::Sequential<lm::InputOf<lm::shape<lm::dyn, 4>, double>, lm::Dense<4, lm::Tanh>,
                                    lm::Dense<4, lm::Tanh>, lm::Dense<3>>;
    lm::generator g(31);
    tied_net net;
    net.initialize(g);
    net.for_each_parameter([&](std::string_view, auto& p) {
        for (auto& v : p) v = g.normal();
    });
    lm::share(net, "1.weight", "0.weight");
    lm::share(net, "1.bias", "0.bias");
    auto const x = lm::tensor<double, rows_of<4>>::randn(5, g);
    auto const labels = random_labels(5, 3, g);
    auto loss = [&] { return lm::cross_entropy(net(x), labels).item(); };
    net.zero_grad();
    net.train();
    net.backward(lm::cross_entropy(net(x), labels));
    // The walk visits 0.weight and 0.bias once; a difference quotient moves both uses.
    check_parameter_gradients(net, loss, in_double);
}

TEST_CASE("A frozen layer gets no gradient and no optimizer step; the rest train", "[autodiff]") {
    double_net_case c(5);
    lm::freeze(lm::get<0>(c.net));
    auto const before = lm::tensor(lm::get<"0.weight">(c.net));
    auto const other = lm::tensor(lm::get<"2.weight">(c.net));
    lm::optim::sgd opt(c.net, {.lr = 0.1, .momentum = 0.9});
    opt.zero_grad();
    c.train_step();
    check_parameter_gradients(c.net, [&] { return c.loss(); }, in_double);
    opt.step();
    CHECK(differences(lm::get<"0.weight">(c.net), before, 0) == "");
    CHECK(differences(lm::get<"2.weight">(c.net), other, 0) != "");
}

TEST_CASE("A Sequential's backward without a training forward pass throws lamina::error", "[autodiff]") {
    double_net_case c(4);
    auto const dY = lm::tensor<double, rows_of<3>>::randn(4, c.g);
    CHECK_THROWS_MATCHES(c.net.backward(dY), lm::error, message_has({"no recorded forward pass"}));
    c.net.eval();
    c.net(c.x);
    CHECK_THROWS_MATCHES(c.net.backward(dY), lm::error, message_has({"no recorded forward pass"}));
    c.train_step();  // the forward pass is spent by its backward
    CHECK_THROWS_MATCHES(c.net.backward(dY), lm::error, message_has({"no recorded forward pass"}));
}

TEST_CASE("A Sequential's backward with a gradient of another batch throws lamina::shape_error", "[autodiff]") {
    double_net_case c(4);
    c.net.train();
    c.net(c.x);
    auto const dY = lm::tensor<double, rows_of<3>>::randn(5, c.g);
    CHECK_THROWS_MATCHES(c.net.backward(dY), lm::shape_error, message_has({"5 samples", "had 4"}));
}

TEST_CASE("The chapter's float net computes its gradients end to end", "[autodiff]") {
    lm::Sequential<lm::Input<5>, MyDense<8>, CenteredLayer, lm::Dense<3>> net;
    lm::generator g(16);
    net.initialize(g);
    auto const x = lm::randn<lm::dyn, 5>(4, g);
    auto const labels = random_labels(4, 3, g);
    // A step of ±1e-2 in a weight or bias must not carry a pre-activation across ReLU's kink.
    auto const& first = lm::get<0>(net);
    REQUIRE(min_preactivation(x, first.weight, first.bias) > 0.1);
    net.zero_grad();
    net.train();
    auto y = net(x);
    net.backward(lm::cross_entropy(y, labels));
    check_parameter_gradients(net, [&] { return lm::cross_entropy(net(x), labels).item(); }, in_float);
}
