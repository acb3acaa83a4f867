// Compile-time promises of expressions: the shape and value type of every node kind, the leaves
// operands become, the fusion traits the evaluator relies on, and the operands refused.
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <lamina/lamina.hpp>

namespace lm = lamina;
using lm::dyn;
using lm::shape;

// Operands by name (declared, never defined: only the types of expressions over them matter).
extern lm::tensor<float, shape<dyn, 4>> X;      // a batch of 4-feature samples
extern lm::tensor<float, shape<dyn, 3>> Y;      // a batch of 3-feature samples
extern lm::tensor<float, shape<dyn, 1>> Xc;     // a batch of one column
extern lm::tensor<float, shape<dyn, 5, 4>> Xs;  // a batch of 5x4 sequences
extern lm::tensor<float, shape<4>> b;
extern lm::tensor<float, shape<3>> b3;
extern lm::tensor<float, shape<1, 4>> r;
extern lm::tensor<float, shape<2, 4>> A;
extern lm::tensor<float, shape<2, 1, 4>> T;
extern lm::tensor<float, shape<3, 1>> c;
extern lm::tensor<float, shape<2, 5, 4>> S;
extern lm::tensor<float, shape<4, 3>> W;
extern lm::tensor<float, shape<3, 2>> W2;
extern lm::tensor<double, shape<dyn, 4>> Xd;
extern lm::tensor<double, shape<4, 3>> Wd;
extern lm::param<lm::init::normal, 4, 3> P;

template <class E>
using shape_of = typename std::remove_cvref_t<E>::shape_type;
template <class E>
using value_of = typename std::remove_cvref_t<E>::value_type;
template <class E, class S>
inline constexpr bool has_shape = std::is_same_v<shape_of<E>, S>;

// ---- Element-wise: right-aligned broadcasting; a dynamic batch stays in front.
static_assert(has_shape<decltype(X + X), shape<dyn, 4>>);
static_assert(has_shape<decltype(X + b), shape<dyn, 4>>);
static_assert(has_shape<decltype(b - X), shape<dyn, 4>>);
static_assert(has_shape<decltype(X * r), shape<dyn, 4>>);
static_assert(has_shape<decltype(Xc / b), shape<dyn, 4>>);
static_assert(has_shape<decltype(Xc * Xc), shape<dyn, 1>>);
static_assert(has_shape<decltype(A + b), shape<2, 4>>);
static_assert(has_shape<decltype(T + c), shape<2, 3, 4>>);
static_assert(has_shape<decltype(Xs + b), shape<dyn, 5, 4>>);
static_assert(has_shape<decltype(Xs - r), shape<dyn, 5, 4>>);
static_assert(has_shape<decltype(lm::maximum(X, 0.f)), shape<dyn, 4>>);
static_assert(has_shape<decltype(lm::minimum(b, Xc)), shape<dyn, 4>>);
// Numbers are scalars of the tensor's value type: no promotion to double, ints welcome.
static_assert(has_shape<decltype(X + 1), shape<dyn, 4>> && has_shape<decltype(2.0 * X), shape<dyn, 4>>);
static_assert(std::is_same_v<value_of<decltype(X * 2.0)>, float>);
static_assert(std::is_same_v<value_of<decltype(1 - X)>, float>);
static_assert(std::is_same_v<value_of<decltype(Xd + 1.f)>, double>);
static_assert(std::is_same_v<decltype(X + 1), lm::binary_expr<lm::ops::add, lm::leaf<float const, shape<dyn, 4>>, lm::scalar<float>>>);
static_assert(std::is_same_v<value_of<decltype(X + X)>, float> && std::is_same_v<value_of<decltype(Xd - Xd)>, double>);
// Unary functions keep the shape.
static_assert(has_shape<decltype(-X), shape<dyn, 4>> && has_shape<decltype(lm::relu(A)), shape<2, 4>>);
static_assert(has_shape<decltype(lm::exp(Xs)), shape<dyn, 5, 4>> && has_shape<decltype(lm::log(b)), shape<4>>);
static_assert(has_shape<decltype(lm::tanh(X + b)), shape<dyn, 4>> && has_shape<decltype(lm::sigmoid(T)), shape<2, 1, 4>>);
static_assert(has_shape<decltype(lm::sqrt(lm::abs(lm::square(Xc)))), shape<dyn, 1>>);
static_assert(std::is_same_v<value_of<decltype(lm::exp(Xd))>, double>);

// ---- Reductions: over all elements (a scalar), or over one axis (dropped or kept as 1).
static_assert(has_shape<decltype(lm::mean(X)), shape<>> && has_shape<decltype(lm::sum(Xs)), shape<>>);
static_assert(std::is_same_v<value_of<decltype(lm::sum(Xd))>, double>);
static_assert(has_shape<decltype(lm::sum(X, lm::axis<0>)), shape<4>>);
static_assert(has_shape<decltype(lm::mean(X, lm::axis<1>)), shape<dyn>>);
static_assert(has_shape<decltype(lm::mean(X, lm::axis<1>, lm::keepdim)), shape<dyn, 1>>);
static_assert(has_shape<decltype(lm::sum(X, lm::axis<0>, lm::keepdim)), shape<1, 4>>);
static_assert(has_shape<decltype(lm::sum(T, lm::axis<1>)), shape<2, 4>>);
static_assert(has_shape<decltype(lm::mean(S, lm::axis<0>)), shape<5, 4>>);
static_assert(has_shape<decltype(lm::mean(Xs, lm::axis<1>)), shape<dyn, 4>>);
static_assert(has_shape<decltype(lm::sum(Xs, lm::axis<1>, lm::keepdim)), shape<dyn, 1, 4>>);
// A negative axis counts from the end: the same node as its positive twin.
static_assert(std::is_same_v<decltype(lm::mean(X, lm::axis<-1>)), decltype(lm::mean(X, lm::axis<1>))>);
static_assert(std::is_same_v<decltype(lm::sum(X, lm::axis<-2>)), decltype(lm::sum(X, lm::axis<0>))>);
static_assert(std::is_same_v<decltype(lm::sum(Xs, lm::axis<-2>, lm::keepdim)), decltype(lm::sum(Xs, lm::axis<1>, lm::keepdim))>);
static_assert(!std::is_same_v<decltype(lm::sum(Xs, lm::axis<-1>)), decltype(lm::sum(Xs, lm::axis<1>))>);
static_assert(has_shape<decltype(lm::sum(T, lm::axis<-3>)), shape<1, 4>>);
// Reductions broadcast back against their input.
static_assert(has_shape<decltype(X - lm::mean(X)), shape<dyn, 4>>);
static_assert(has_shape<decltype(X - lm::mean(X, lm::axis<1>, lm::keepdim)), shape<dyn, 4>>);
static_assert(has_shape<decltype(X / lm::sum(X, lm::axis<0>)), shape<dyn, 4>>);

// ---- matmul: X (..., K) times W (K, N) is (..., N), for a left operand of rank 1, 2 or 3.
static_assert(has_shape<decltype(lm::matmul(b, W)), shape<3>>);
static_assert(has_shape<decltype(lm::matmul(A, W)), shape<2, 3>>);
static_assert(has_shape<decltype(lm::matmul(X, W)), shape<dyn, 3>>);
static_assert(has_shape<decltype(lm::matmul(S, W)), shape<2, 5, 3>>);
static_assert(has_shape<decltype(lm::matmul(Xs, W)), shape<dyn, 5, 3>>);
static_assert(has_shape<decltype(lm::matmul(lm::matmul(X, W), W2)), shape<dyn, 2>>);
static_assert(has_shape<decltype(lm::matmul(X + b, P)), shape<dyn, 3>>);
static_assert(has_shape<decltype(lm::matmul(lm::relu(Xs), W) + b3), shape<dyn, 5, 3>>);
static_assert(std::is_same_v<value_of<decltype(lm::matmul(Xd, Wd))>, double>);
static_assert(std::is_same_v<value_of<decltype(lm::matmul(X, P))>, float>);

// ---- Fusion traits: one matmul reached through element-wise nodes without broadcasting runs
// the rest of the expression in its GEMM epilogue.
template <class E>
inline constexpr bool fusable = std::remove_cvref_t<E>::fusable;
template <class E>
inline constexpr int matmuls = std::remove_cvref_t<E>::matmuls;
template <class E>
inline constexpr bool flat = std::remove_cvref_t<E>::flat;

static_assert(fusable<decltype(lm::matmul(X, W))> && matmuls<decltype(lm::matmul(X, W))> == 1);
static_assert(fusable<decltype(lm::relu(lm::matmul(X, W) + b3))>);
static_assert(matmuls<decltype(lm::relu(lm::matmul(X, W) + b3))> == 1);
static_assert(fusable<decltype(b3 + lm::matmul(X, W))>);  // the matmul on either side
static_assert(fusable<decltype(lm::sigmoid(lm::matmul(X, P) * 2.f + b3) - Y)>);
static_assert(fusable<decltype(lm::matmul(X, W) - lm::mean(Y))>);  // a scalar beside it is fine
static_assert(fusable<decltype(lm::relu(lm::matmul(Xs, W) + b3))>);
// No matmul, two matmuls, a broadcast matmul, or a matmul under a reduction: not fusable.
static_assert(!fusable<decltype(X - lm::mean(X))> && matmuls<decltype(X - lm::mean(X))> == 0);
static_assert(!fusable<decltype(X + b)> && !fusable<decltype(lm::relu(X))> && !fusable<decltype(lm::mean(X))>);
static_assert(!fusable<decltype(lm::matmul(lm::matmul(X, W), W2))>);
static_assert(matmuls<decltype(lm::matmul(lm::matmul(X, W), W2))> == 2);
static_assert(!fusable<decltype(lm::matmul(X, W) + lm::matmul(X, W))>);
static_assert(matmuls<decltype(lm::matmul(X, W) + lm::matmul(X, W))> == 2);
static_assert(!fusable<decltype(lm::matmul(X, W) - lm::mean(lm::matmul(X, W)))>);
static_assert(!fusable<decltype(lm::matmul(b, W) + Y)> && matmuls<decltype(lm::matmul(b, W) + Y)> == 1);
static_assert(!fusable<decltype(lm::sum(lm::matmul(X, W), lm::axis<1>))>);
static_assert(matmuls<decltype(lm::sum(lm::matmul(X, W), lm::axis<1>))> == 1);
// Flat: every operand is read at the result's own flat index (same shape, or a scalar).
static_assert(flat<decltype(X + X)> && flat<decltype(X * 2.f)> && flat<decltype(lm::relu(X))>);
static_assert(flat<decltype(X - lm::mean(X))> && flat<decltype(lm::matmul(X, W))>);
static_assert(!flat<decltype(X + b)> && !flat<decltype(lm::relu(X + b))> && !flat<decltype(X * r)>);
static_assert(!flat<decltype(X - lm::mean(X, lm::axis<1>, lm::keepdim))>);
static_assert(!flat<decltype(lm::matmul(X, W) + b3)>);

// ---- Leaves: an lvalue is read in place; an rvalue tensor is moved in, so nothing dangles;
// a parameter is a leaf tagged as one.
static_assert(std::is_same_v<lm::expr_t<decltype((X))>, lm::leaf<float const, shape<dyn, 4>>>);
static_assert(std::is_same_v<lm::expr_t<lm::tensor<float, shape<dyn, 4>> const&>, lm::leaf<float const, shape<dyn, 4>>>);
static_assert(std::is_same_v<lm::expr_t<lm::tensor<float, shape<dyn, 4>>&&>, lm::owning_leaf<float, shape<dyn, 4>>>);
static_assert(std::is_same_v<lm::expr_t<lm::tensor<float, shape<dyn, 4>>>, lm::owning_leaf<float, shape<dyn, 4>>>);
static_assert(std::is_same_v<lm::expr_t<lm::tensor_view<float, shape<2, 4>>>, lm::leaf<float const, shape<2, 4>>>);
static_assert(std::is_same_v<lm::expr_t<decltype((P))>, lm::leaf<float const, shape<4, 3>, lm::variable_tag>>);
static_assert(std::is_same_v<decltype(lm::rand<2, 4>() + A), lm::binary_expr<lm::ops::add, lm::owning_leaf<float, shape<2, 4>>, lm::leaf<float const, shape<2, 4>>>>);
static_assert(std::is_same_v<decltype(std::move(X) * 2), lm::binary_expr<lm::ops::mul, lm::owning_leaf<float, shape<dyn, 4>>, lm::scalar<float>>>);
static_assert(std::is_same_v<lm::expr_t<decltype(X + b)>, decltype(X + b)>);  // an expression is itself

// ---- Evaluation: a tensor of the expression's value type and shape.
static_assert(std::is_same_v<decltype(lm::eval(X + b)), lm::tensor<float, shape<dyn, 4>>>);
static_assert(std::is_same_v<decltype((X + b).eval()), lm::tensor<float, shape<dyn, 4>>>);
static_assert(std::is_same_v<decltype(lm::tensor(lm::matmul(Xs, W) + b3)), lm::tensor<float, shape<dyn, 5, 3>>>);
static_assert(std::is_same_v<decltype(lm::eval(Xd * 2)), lm::tensor<double, shape<dyn, 4>>>);
static_assert(std::is_same_v<decltype(lm::mean(X).item()), float> && std::is_same_v<decltype(lm::sum(Xd).item()), double>);
static_assert(std::is_constructible_v<lm::tensor<float, shape<dyn, 4>>, decltype(X - lm::mean(X))>);
static_assert(std::is_convertible_v<decltype(X - lm::mean(X)), lm::tensor<float, shape<dyn, 4>>>);

// ---- What is refused. Inside a template an ill-formed requirement makes a requires-expression
// false (outside one it is a hard error); each rejection sits beside its accepted twin.
template <class TX>
constexpr bool refused_operands() {
    static_assert(requires(TX x) { x + x; x + 1; 2.f * x; });
    static_assert(!requires(TX x) { std::string{} + x; });
    static_assert(!requires(TX x) { x + std::string{}; });
    static_assert(!requires(TX x, std::vector<float> v) { x * v; });
    static_assert(!requires(TX x) { x - x.data(); });
    static_assert(requires(TX x) { lm::maximum(x, 0.f); });
    static_assert(!requires(TX x) { lm::maximum(x(0, 0), 2.f); });  // two numbers: no operand
    static_assert(requires(TX x) { lm::relu(x); lm::exp(x); -x; });
    static_assert(!requires(TX x) { lm::relu(x(0, 0)); });
    static_assert(!requires(std::vector<value_of<TX>> v) { lm::exp(v); });
    static_assert(requires(TX x) { lm::matmul(x, W); });
    static_assert(!requires(TX x) { lm::matmul(x, 3.f); });
    static_assert(!requires(TX x) { lm::matmul(3.f, x); });
    static_assert(requires(TX x) { lm::mean(x); lm::sum(x, lm::axis<1>); lm::mean(x, lm::axis<0>, lm::keepdim); });
    static_assert(!requires(TX x) { lm::sum(x, 1); });  // an axis is lm::axis<I>
    static_assert(!requires(TX x) { lm::mean(x, lm::keepdim); });
    static_assert(!requires(TX x) { lm::mean(x(0, 0)); });
    return true;
}
static_assert(refused_operands<lm::tensor<float, shape<dyn, 4>>&>());
static_assert(refused_operands<lm::tensor<float, shape<2, 4>> const&>());

int main() {}
