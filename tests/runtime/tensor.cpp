// lamina/tensor.hpp: construction, element access, batch resizing, errors and printing.
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/lamina.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::message_has;
using lamina_test::differences;

namespace {

template <class X>
std::string printed(X const& x) {
    std::ostringstream os;
    os << x;
    return os.str();
}

}  // namespace

TEST_CASE("A tensor built from integer literals is a float tensor with one axis of that length", "[tensor]") {
    lm::tensor t{1, 2, 3};
    STATIC_REQUIRE(std::is_same_v<decltype(t), lm::tensor<float, lm::shape<3>>>);
    CHECK(t.size() == 3);
    CHECK(t.batch() == 3);
    CHECK(t.shape_str() == "(3,)");
    CHECK(differences(t, std::vector<double>{1, 2, 3}, 0) == "");

    lm::tensor d{0.5, -1.5};
    STATIC_REQUIRE(std::is_same_v<decltype(d), lm::tensor<double, lm::shape<2>>>);
    CHECK(differences(d, std::vector<double>{0.5, -1.5}, 0) == "");
}

TEST_CASE("A tensor built from nested arrays keeps their row-major order", "[tensor]") {
    lm::tensor m({{1, 2, 3}, {4, 5, 6}});
    STATIC_REQUIRE(std::is_same_v<decltype(m), lm::tensor<float, lm::shape<2, 3>>>);
    CHECK(m(0, 2) == 3.f);
    CHECK(m(1, 0) == 4.f);
    CHECK(differences(m, std::vector<double>{1, 2, 3, 4, 5, 6}, 0) == "");

    lm::tensor c({{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}});
    STATIC_REQUIRE(std::is_same_v<decltype(c), lm::tensor<float, lm::shape<2, 2, 2>>>);
    CHECK(c(1, 0, 1) == 6.f);
    CHECK(c(0, 1, 0) == 3.f);

    lm::tensor v({0.25, 0.5});
    STATIC_REQUIRE(std::is_same_v<decltype(v), lm::tensor<double, lm::shape<2>>>);
    CHECK(v(1) == 0.5);
}

TEST_CASE("Nested arrays of integer and floating literals mixed make a float tensor, as torch.tensor does", "[tensor]") {
    lm::tensor m({{1, 2, 3}, {-1, 0.5, 0}});
    STATIC_REQUIRE(std::is_same_v<decltype(m), lm::tensor<float, lm::shape<2, 3>>>);
    CHECK(differences(m, std::vector<double>{1, 2, 3, -1, 0.5, 0}, 0) == "");

    lm::tensor c({{{1, 2.5}}, {{3, 4}}});
    STATIC_REQUIRE(std::is_same_v<decltype(c), lm::tensor<float, lm::shape<2, 1, 2>>>);
    CHECK(c(0, 0, 1) == 2.5f);

    lm::tensor v({1, 0.25f});
    STATIC_REQUIRE(std::is_same_v<decltype(v), lm::tensor<float, lm::shape<2>>>);
    CHECK(v(1) == 0.25f);

    // A stated value type takes them too.
    lm::tensor<double, lm::shape<lm::dyn, 2>> d({{1, 0.25}, {3, 4}});
    CHECK(d.batch() == 2);
    CHECK(d(0, 1) == 0.25);
}

TEST_CASE("Nested arrays give a dynamic-batch tensor as many samples as they have rows", "[tensor]") {
    lm::tensor<double, lm::shape<lm::dyn, 2>> d({{1., 2.}, {3., 4.}, {5., 6.}});
    CHECK(d.batch() == 3);
    CHECK(d.size() == 6);
    CHECK(d.shape_str() == "(3, 2)");
    CHECK(d(2, 1) == 6.0);

    lm::tensor<float, lm::shape<lm::dyn>> v({7.f, 8.f, 9.f, 10.f});
    CHECK(v.batch() == 4);
    CHECK(v(3) == 10.f);
}

TEST_CASE("A tensor of a fixed batch, or an expression of one, fills a tensor whose batch is set at run time",
          "[tensor]") {
    // torch has only run-time batches: x = torch.tensor([[...], [...]]) is what a (batch, 3) input takes.
    lm::tensor<float, lm::shape<lm::dyn, 3>> x = lm::tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
    CHECK(x.batch() == 2);
    CHECK(x.shape_str() == "(2, 3)");
    CHECK(differences(x, std::vector<double>{1, 2, 3, 4, 5, 6}, 0) == "");
    lm::tensor<float, lm::shape<lm::dyn, 2>> readme = lm::tensor({{1, 2}, {3, 4}});  // the README's line
    CHECK(readme.batch() == 2);
    auto const fixed = lm::tensor<float, lm::shape<4, 2, 3>>::full(0.5f);
    lm::tensor<float, lm::shape<lm::dyn, 2, 3>> y = fixed * 2.f;
    CHECK(y.batch() == 4);
    CHECK(differences(y, std::vector<double>(24, 1.0), 0) == "");
    // Only the batch may differ in kind: the sample's extents must match (tests/fail).
    static_assert(lm::detail::holds_shape<lm::shape<lm::dyn, 3>, lm::shape<2, 3>>);
    static_assert(!lm::detail::holds_shape<lm::shape<lm::dyn, 3>, lm::shape<2, 4>>);
    static_assert(!lm::detail::holds_shape<lm::shape<2, 3>, lm::shape<lm::dyn, 3>>);
    static_assert(!lm::detail::holds_shape<lm::shape<lm::dyn, 6>, lm::shape<2, 2, 3>>);
}

TEST_CASE("A default tensor is zeros when its shape is static and empty when its batch is dynamic", "[tensor]") {
    lm::tensor<float, lm::shape<2, 3>> s;
    CHECK(s.size() == 6);
    CHECK(differences(s, std::vector<double>(6, 0.0), 0) == "");

    lm::tensor<float, lm::shape<lm::dyn, 3>> d;
    CHECK(d.batch() == 0);
    CHECK(d.size() == 0);
    CHECK(d.begin() == d.end());

    lm::tensor<double, lm::shape<lm::dyn, 3>> z(4);
    CHECK(z.batch() == 4);
    CHECK(differences(z, std::vector<double>(12, 0.0), 0) == "");
}

TEST_CASE("zeros, ones, full and fill set every element", "[tensor]") {
    auto z = lm::tensor<float, lm::shape<lm::dyn, 5>>::zeros(3);
    auto o = lm::tensor<double, lm::shape<2, 5>>::ones();
    auto f = lm::tensor<float, lm::shape<lm::dyn, 5>>::full(2.5f, 7);
    CHECK(z.batch() == 3);
    CHECK(differences(z, std::vector<double>(15, 0.0), 0) == "");
    CHECK(differences(o, std::vector<double>(10, 1.0), 0) == "");
    CHECK(f.batch() == 7);
    CHECK(differences(f, std::vector<double>(35, 2.5), 0) == "");
    f.fill(-1.f);
    CHECK(differences(f, std::vector<double>(35, -1.0), 0) == "");
}

TEST_CASE("A dynamic batch resizes, keeping its storage when the size shrinks and grows back", "[tensor]") {
    lm::tensor<float, lm::shape<lm::dyn, 3, 4>> t(5);
    CHECK(t.size() == 60);
    CHECK(t.rows() == 15);
    CHECK(t.extents() == std::array<std::size_t, 3>{5, 3, 4});
    float const* p = t.data();
    t.resize(2);
    CHECK(t.batch() == 2);
    CHECK(t.size() == 24);
    CHECK(t.shape_str() == "(2, 3, 4)");
    CHECK(t.data() == p);
    t.resize(5);
    CHECK(t.data() == p);
    t.resize(50);
    CHECK(t.batch() == 50);
    CHECK(t.size() == 600);
    t.fill(1.f);  // the grown storage is usable end to end
    CHECK(differences(t, std::vector<double>(600, 1.0), 0) == "");
}

TEST_CASE("Element access with operator() and at() follows row-major offsets", "[tensor]") {
    lm::tensor<float, lm::shape<lm::dyn, 3, 4>> t(2);
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i);
    CHECK(t(1, 2, 3) == 23.f);
    CHECK(t(0, 1, 0) == 4.f);
    CHECK(t.at(1, 0, 2) == 14.f);
    t(1, 1, 1) = -1.f;
    CHECK(t.data()[17] == -1.f);
    lm::tensor<float, lm::shape<lm::dyn, 3, 4>> const& c = t;
    CHECK(c.at(1, 1, 1) == -1.f);
}

TEST_CASE("at() throws lamina::shape_error naming the index, the axis and the shape", "[tensor]") {
    lm::tensor<float, lm::shape<2, 3>> t;
    CHECK_THROWS_AS(t.at(0, 3), lm::shape_error);
    CHECK_THROWS_MATCHES(t.at(0, 3), lm::shape_error,
                         Catch::Matchers::Message(
                             "lamina::tensor::at: index 3 is out of range for axis 1 of a tensor of shape (2, 3)"));
    CHECK_THROWS_MATCHES(t.at(2, 0), lm::shape_error, message_has({"index 2", "axis 0", "(2, 3)"}));
    CHECK_THROWS_MATCHES(t.at(-1, 0), lm::shape_error, message_has({"index -1", "axis 0"}));
    CHECK_THROWS_AS(t.at(0, 3), lm::error);  // every lamina exception derives from lamina::error

    lm::tensor<double, lm::shape<lm::dyn, 4>> d(3);
    CHECK_NOTHROW(d.at(2, 3));
    CHECK_THROWS_MATCHES(d.at(3, 0), lm::shape_error, message_has({"index 3", "(3, 4)"}));
}

TEST_CASE("item() returns the only element and throws lamina::shape_error on several", "[tensor]") {
    lm::tensor<float, lm::shape<>> s;
    s.data()[0] = 4.5f;
    CHECK(s.item() == 4.5f);
    lm::tensor<double, lm::shape<1, 1>> one;
    one(0, 0) = -2.0;
    CHECK(one.item() == -2.0);

    lm::tensor<float, lm::shape<2, 3>> t;
    CHECK_THROWS_MATCHES(t.item(), lm::shape_error, message_has({"(2, 3)", "6 elements"}));
}

TEST_CASE("A view shares its tensor's memory and an owning copy of a view does not", "[tensor]") {
    lm::tensor<float, lm::shape<lm::dyn, 3>> t = lm::tensor<float, lm::shape<lm::dyn, 3>>::zeros(2);
    lm::tensor_view<float, lm::shape<lm::dyn, 3>> v = t;
    CHECK(v.data() == t.data());
    CHECK(v.batch() == 2);
    v(1, 2) = 9.f;
    CHECK(t(1, 2) == 9.f);

    lm::tensor_view<float const, lm::shape<lm::dyn, 3>> cv = v;
    lm::tensor<float, lm::shape<lm::dyn, 3>> copy(cv);
    CHECK(copy.data() != t.data());
    CHECK(copy(1, 2) == 9.f);
    t(1, 2) = 0.f;
    CHECK(copy(1, 2) == 9.f);
    lm::tensor deduced(cv);  // the value type and shape deduced from the view
    static_assert(std::is_same_v<decltype(deduced), lm::tensor<float, lm::shape<lm::dyn, 3>>>);
    CHECK(deduced.data() != t.data());
    CHECK(deduced(1, 2) == t(1, 2));

    std::vector<double> raw{1, 2, 3, 4, 5, 6};
    lm::tensor_view<double, lm::shape<lm::dyn, 2>> rv(raw.data(), 3);
    CHECK(rv.shape_str() == "(3, 2)");
    CHECK(rv(2, 0) == 5.0);
}

TEST_CASE("Copying a tensor copies its values and batch", "[tensor]") {
    lm::tensor<float, lm::shape<lm::dyn, 2>> a({{1.f, 2.f}, {3.f, 4.f}});
    auto b = a;
    CHECK(b.batch() == 2);
    CHECK(b.data() != a.data());
    a.fill(0.f);
    CHECK(differences(b, std::vector<double>{1, 2, 3, 4}, 0) == "");
    b = a;
    CHECK(differences(b, std::vector<double>(4, 0.0), 0) == "");
}

TEST_CASE("Integral values print with a trailing point in aligned columns, as PyTorch prints them", "[tensor][print]") {
    CHECK(printed(lm::tensor{-2, -1, 0, 1, 2}) == "tensor([-2., -1.,  0.,  1.,  2.], shape=(5,))");
    CHECK(printed(lm::tensor({{1, 20}, {300, 4}})) == "tensor([[  1.,  20.],\n        [300.,   4.]], shape=(2, 2))");
    CHECK(printed(lm::tensor<float, lm::shape<>>{}) == "tensor(0., shape=())");
}

TEST_CASE("Non-integral values print with four decimals in aligned columns", "[tensor][print]") {
    CHECK(printed(lm::tensor({{0.5, -1.25, 3.0}, {100.125, 0.0, 2.5}})) ==
          "tensor([[  0.5000,  -1.2500,   3.0000],\n"
          "        [100.1250,   0.0000,   2.5000]], dtype=float64, shape=(2, 3))");
    CHECK(printed(lm::tensor{-0.5f, 0.25f}) == "tensor([-0.5000,  0.2500], shape=(2,))");
    // A double tensor names its value type, as PyTorch's print does for any but float32.
    CHECK(printed(lm::tensor{-0.5, 2.0}) == "tensor([-0.5000,  2.0000], dtype=float64, shape=(2,))");
}

TEST_CASE("Values smaller than 1e-4 print in scientific notation", "[tensor][print]") {
    CHECK(printed(lm::tensor{1e-5f, 1.f}) == "tensor([1.0000e-05, 1.0000e+00], shape=(2,))");
}

TEST_CASE("A rank-3 tensor prints blank lines between its matrices", "[tensor][print]") {
    CHECK(printed(lm::tensor({{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}})) ==
          "tensor([[[1., 2.],\n"
          "         [3., 4.]],\n"
          "\n"
          "        [[5., 6.],\n"
          "         [7., 8.]]], shape=(2, 2, 2))");
}

TEST_CASE("A dynamic-batch tensor and a view print their run-time shape", "[tensor][print]") {
    lm::tensor<float, lm::shape<lm::dyn, 3>> d({{1.5f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
    CHECK(printed(d) == "tensor([[1.5000, 2.0000, 3.0000],\n        [4.0000, 5.0000, 6.0000]], shape=(2, 3))");
    CHECK(printed(d.view()) == printed(d));
}

TEST_CASE("A tensor of more than 1000 elements prints three items at each end of every long axis", "[tensor][print]") {
    // 1000 + i keeps the range under three decades: integers, not scientific notation.
    lm::tensor<float, lm::shape<30, 40>> m;
    for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(1000 + i);
    CHECK(printed(m) ==
          "tensor([[1000., 1001., 1002.,  ..., 1037., 1038., 1039.],\n"
          "        [1040., 1041., 1042.,  ..., 1077., 1078., 1079.],\n"
          "        [1080., 1081., 1082.,  ..., 1117., 1118., 1119.],\n"
          "        ...,\n"
          "        [2080., 2081., 2082.,  ..., 2117., 2118., 2119.],\n"
          "        [2120., 2121., 2122.,  ..., 2157., 2158., 2159.],\n"
          "        [2160., 2161., 2162.,  ..., 2197., 2198., 2199.]], shape=(30, 40))");

    lm::tensor<float, lm::shape<lm::dyn>> v(2000);
    for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] = static_cast<float>(1000 + i);
    CHECK(printed(v) == "tensor([1000., 1001., 1002.,  ..., 2997., 2998., 2999.], shape=(2000,))");

    lm::tensor<float, lm::shape<1000>> exactly;  // 1000 elements: printed in full
    CHECK(printed(exactly).find("...") == std::string::npos);
}

// The expected texts below are what PyTorch 1.13 prints for the same values (then ", shape=...").
TEST_CASE("Long rows wrap at 80 columns, as many items a line as fit, as PyTorch wraps them", "[tensor][print]") {
    lm::tensor<float, lm::shape<2, 12>> m;
    for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(i) / 7;
    // Six characters and ", ": nine items in 80 - 8 columns; the second line one column in.
    CHECK(printed(m) ==
          "tensor([[0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
          "         1.2857, 1.4286, 1.5714],\n"
          "        [1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286, 2.5714, 2.7143, 2.8571,\n"
          "         3.0000, 3.1429, 3.2857]], shape=(2, 12))");
    lm::tensor<float, lm::shape<lm::dyn>> v(2000);
    for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] = static_cast<float>(i);
    // A suffix that would pass 80 columns goes on a line of its own, as torch's dtype= does.
    lm::tensor<double, lm::shape<9>> d;
    for (std::size_t i = 0; i < d.size(); ++i) d.data()[i] = static_cast<double>(i) / 7;
    CHECK(printed(d) ==
          "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429],\n"
          "       dtype=float64, shape=(9,))");
    // Summarized, "..." counts as an item of the line.
    CHECK(printed(v) ==
          "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
          "        1.9990e+03], shape=(2000,))");
}

TEST_CASE("The format and the width come from the nonzero finite values that show, as in PyTorch", "[tensor][print]") {
    // A negative zero sticks out rather than widening every column.
    CHECK(printed(lm::tensor{-0.f, 1.f, 2.f}) == "tensor([-0., 1., 2.], shape=(3,))");
    CHECK(printed(lm::tensor{-0.f, 1.5f, 2.f}) == "tensor([-0.0000, 1.5000, 2.0000], shape=(3,))");
    // Of 1200 values only the six at the ends show: they choose four decimals, not the range.
    lm::tensor<float, lm::shape<1200>> t;
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i) * 0.375f - 200;
    CHECK(printed(t) ==
          "tensor([-200.0000, -199.6250, -199.2500,  ...,  248.8750,  249.2500,\n"
          "         249.6250], shape=(1200,))");
    // One value: a tensor of rank 0, as torch.tensor(3.5); never made from a number unasked.
    static_assert(std::is_constructible_v<lm::tensor<float, lm::shape<>>, float>);
    static_assert(!std::is_convertible_v<float, lm::tensor<float, lm::shape<>>>);
    static_assert(!std::is_constructible_v<lm::tensor<float, lm::shape<3>>, float>);
    CHECK(printed(lm::tensor<float, lm::shape<>>{3.5f}) == "tensor(3.5000, shape=())");
    CHECK(printed(lm::tensor<float, lm::shape<lm::dyn, 3>>(0)) == "tensor([], shape=(0, 3))");
}

TEST_CASE("Infinities and NaN print without the integral point, as in PyTorch", "[tensor][print]") {
    // PyTorch: tensor([100.,  inf,  nan]); the point marks finite integral values only.
    float const inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    CHECK(printed(lm::tensor{100.f, inf, nan}) == "tensor([100.,  inf,  nan], shape=(3,))");
    CHECK(printed(lm::tensor{-inf, 10.f}) == "tensor([-inf, 10.], shape=(2,))");
}

TEST_CASE("Magnitudes spanning more than three decades print in scientific notation, as in PyTorch", "[tensor][print]") {
    // PyTorch switches to %.4e when max|x| / min|x| > 1000 over the nonzero finite values.
    CHECK(printed(lm::tensor{0.001f, 2.f}) == "tensor([1.0000e-03, 2.0000e+00], shape=(2,))");
    CHECK(printed(lm::tensor{1, 10000}) == "tensor([1.0000e+00, 1.0000e+04], shape=(2,))");
}

TEST_CASE("An expression prints as the tensor it evaluates to", "[tensor][print]") {
    lm::tensor<float, lm::shape<lm::dyn, 3>> d({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
    CHECK(printed(d * 2) == "tensor([[ 2.,  4.,  6.],\n        [ 8., 10., 12.]], shape=(2, 3))");
}
