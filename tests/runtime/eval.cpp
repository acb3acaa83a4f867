// lamina/expr/eval.hpp: eval(), .eval(), .item(), constructing tensors from expressions, and
// assign(view, expr, workspace).
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::message_has;
using lamina_test::differences;

TEST_CASE("eval(), .eval() and a tensor constructed from an expression agree", "[eval]") {
    lm::tensor<float, lm::shape<lm::dyn, 3>> x({{1.f, -2.f, 3.f}, {-4.f, 5.f, -6.f}});
    auto e = lm::relu(x) * 2 - 1;
    auto a = lm::eval(e);
    auto b = e.eval();
    lm::tensor c = e;
    lm::tensor<float, lm::shape<lm::dyn, 3>> d(e);
    STATIC_REQUIRE(std::is_same_v<decltype(a), lm::tensor<float, lm::shape<lm::dyn, 3>>>);
    STATIC_REQUIRE(std::is_same_v<decltype(b), decltype(a)>);
    STATIC_REQUIRE(std::is_same_v<decltype(c), decltype(a)>);
    std::vector<double> const want{1, -1, 5, -1, 9, -1};
    CHECK(a.batch() == 2);
    CHECK(differences(a, want, 0) == "");
    CHECK(differences(b, want, 0) == "");
    CHECK(differences(c, want, 0) == "");
    CHECK(differences(d, want, 0) == "");
}

TEST_CASE("An expression can be evaluated again and sees its operands' new values", "[eval]") {
    lm::tensor x{1, 2, 3, 4};
    auto e = x - lm::mean(x);  // the reduction is recomputed by each evaluation
    CHECK(differences(e.eval(), std::vector<double>{-1.5, -0.5, 0.5, 1.5}, 0) == "");
    x.fill(2.f);
    CHECK(differences(e.eval(), std::vector<double>(4, 0.0), 0) == "");
}

TEST_CASE(".item() gives the value of a one-element expression and throws lamina::shape_error otherwise", "[eval]") {
    lm::tensor<double, lm::shape<lm::dyn, 2>> x({{1., 2.}, {3., 4.}});
    CHECK(lm::sum(x).item() == 10.0);
    CHECK(lm::mean(x * x).item() == 7.5);
    CHECK(lm::sum(lm::sum(x, lm::axis<0>)).item() == 10.0);
    CHECK(lm::sum(x, lm::axis<0>, lm::keepdim).eval()(0, 1) == 6.0);
    CHECK_THROWS_MATCHES((x * 2).item(), lm::shape_error, message_has({"(2, 2)", "4 elements"}));
    CHECK_THROWS_AS(lm::sum(x, lm::axis<1>).item(), lm::shape_error);
    lm::tensor<double, lm::shape<lm::dyn, 2>> one({{5., 6.}});
    CHECK(lm::sum(one, lm::axis<1>).item() == 11.0);  // a batch of one is one element
}

TEST_CASE("assign() evaluates into an existing view and reuses its workspace", "[eval]") {
    lm::generator g(41);
    auto X = lm::tensor<float, lm::shape<lm::dyn, 16>>::randn(13, g);
    auto W = lm::tensor<float, lm::shape<16, 24>>::randn(g);
    auto b = lm::tensor<float, lm::shape<24>>::randn(g);
    auto expr = [&] { return lm::relu(lm::matmul(X, W) + b) - lm::mean(lm::relu(lm::matmul(X, W) + b)); };
    lm::tensor want = expr();

    lm::tensor<float, lm::shape<lm::dyn, 24>> out(13);
    lm::detail::workspace ws;
    lm::assign(out.view(), expr(), ws);
    CHECK(differences(out, want, 0) == "");

    std::size_t const capacity = ws.capacity();
    for (int i = 0; i < 3; ++i) {
        out.fill(0.f);
        lm::assign(out.view(), expr(), ws);
        CHECK(differences(out, want, 0) == "");
        CHECK(ws.capacity() <= capacity);  // a warm workspace does not grow
        CHECK(ws.blocks() == 1);
    }

    std::vector<float> external(13 * 24, -1.f);  // any contiguous memory will do
    lm::assign(lm::tensor_view<float, lm::shape<lm::dyn, 24>>(external.data(), 13), expr(), ws);
    CHECK(differences(external, want, 0) == "");
}

TEST_CASE("assign() throws lamina::shape_error when the view's batch differs from the expression's", "[eval]") {
    auto X = lm::tensor<float, lm::shape<lm::dyn, 4>>::ones(5);
    lm::tensor<float, lm::shape<lm::dyn, 4>> out(4);
    lm::detail::workspace ws;
    CHECK_THROWS_MATCHES(lm::assign(out.view(), X * 2, ws), lm::shape_error, message_has({"4", "5"}));
}

TEST_CASE("assign() may write over an operand of an element-wise expression", "[eval]") {
    lm::tensor<double, lm::shape<lm::dyn, 5>> x({{1., 2., 3., 4., 5.}, {6., 7., 8., 9., 10.}});
    lm::detail::workspace ws;
    lm::assign(x.view(), x * 2 + 1, ws);
    CHECK(differences(x, std::vector<double>{3, 5, 7, 9, 11, 13, 15, 17, 19, 21}, 0) == "");
}

TEST_CASE("assign() evaluates a vector-matrix product into a vector of the product's length", "[eval][matmul]") {
    // torch.matmul(v (3,), W (3, 2)) has shape (2,); the target has 2 elements, the operand 3.
    lm::tensor<float, lm::shape<3>> v{1.f, 2.f, 3.f};
    lm::tensor<float, lm::shape<3, 2>> W({{1.f, 2.f}, {3.f, 4.f}, {5.f, 6.f}});
    lm::tensor<float, lm::shape<2>> out;
    lm::detail::workspace ws;
    REQUIRE_NOTHROW(lm::assign(out.view(), lm::matmul(v, W), ws));
    CHECK(differences(out, std::vector<double>{22, 28}, 0) == "");
    REQUIRE_NOTHROW(lm::assign(out.view(), lm::relu(lm::matmul(v, W)), ws));
    CHECK(differences(out, std::vector<double>{22, 28}, 0) == "");
}
