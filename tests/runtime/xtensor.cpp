// lamina/xtensor.hpp: adapting xtensor containers without copying, evaluating xtensor
// expressions, and handing lamina data back as views or copies.
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xtensor.hpp>

#include <lamina/lamina.hpp>
#include <lamina/xtensor.hpp>

#include "support.hpp"

namespace lm = lamina;
using lamina_test::message_has;
using lamina_test::differences;

TEST_CASE("adapt() views an xtensor container's memory without copying", "[xtensor]") {
    xt::xtensor<float, 2> a = {{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}};
    auto v = lm::adapt<lm::shape<2, 3>>(a);
    STATIC_REQUIRE(std::is_same_v<decltype(v), lm::tensor_view<float, lm::shape<2, 3>>>);
    CHECK(v.data() == a.data());
    CHECK(v(1, 2) == 6.f);
    v(0, 1) = 20.f;
    CHECK(a(0, 1) == 20.f);  // written through the view

    auto d = lm::adapt<lm::shape<lm::dyn, 3>>(a);
    CHECK(d.batch() == 2);
    CHECK(d.data() == a.data());

    lm::tensor twice = d * 2;  // an adapted container is an operand like any tensor
    CHECK(differences(twice, std::vector<double>{2, 40, 6, 8, 10, 12}, 0) == "");
}

TEST_CASE("adapt() of a const container gives a read-only view of the same memory", "[xtensor]") {
    xt::xarray<double> const a = {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}};
    auto v = lm::adapt<lm::shape<lm::dyn, 2>>(a);
    STATIC_REQUIRE(std::is_same_v<decltype(v), lm::tensor_view<double const, lm::shape<lm::dyn, 2>>>);
    CHECK(v.data() == a.data());
    CHECK(v.batch() == 3);
    CHECK(lm::sum(v).item() == 21.0);
}

TEST_CASE("adapt() throws lamina::shape_error when an extent, the rank or the layout differs", "[xtensor]") {
    xt::xtensor<float, 2> a = {{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}};
    using wrong_cols = lm::shape<2, 4>;
    using wrong_rows = lm::shape<3, 3>;
    using wrong_dyn_cols = lm::shape<lm::dyn, 2>;
    using wrong_rank = lm::shape<lm::dyn, 2, 3>;
    CHECK_THROWS_MATCHES(lm::adapt<wrong_cols>(a), lm::shape_error, message_has({"axis 1 has extent 3", "(2, 4)"}));
    CHECK_THROWS_MATCHES(lm::adapt<wrong_rows>(a), lm::shape_error, message_has({"axis 0 has extent 2"}));
    CHECK_THROWS_MATCHES(lm::adapt<wrong_dyn_cols>(a), lm::shape_error, message_has({"axis 1"}));
    CHECK_THROWS_MATCHES(lm::adapt<wrong_rank>(a), lm::shape_error, message_has({"rank 2"}));

    xt::xarray<float> r3 = xt::zeros<float>({2, 3, 1});
    using rank2 = lm::shape<2, 3>;
    using rank3 = lm::shape<2, 3, 1>;
    CHECK_THROWS_AS(lm::adapt<rank2>(r3), lm::shape_error);
    CHECK_NOTHROW(lm::adapt<rank3>(r3));

    xt::xtensor<float, 2, xt::layout_type::column_major> cm = {{1.f, 2.f}, {3.f, 4.f}};
    using square = lm::shape<2, 2>;
    CHECK_THROWS_MATCHES(lm::adapt<square>(cm), lm::shape_error, message_has({"row-major"}));
}

TEST_CASE("from_xtensor() evaluates an xtensor expression into a new lamina tensor", "[xtensor]") {
    xt::xtensor<float, 2> a = {{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}};
    auto t = lm::from_xtensor<lm::shape<2, 3>>(a * 2.f + 1.f);
    STATIC_REQUIRE(std::is_same_v<decltype(t), lm::tensor<float, lm::shape<2, 3>>>);
    CHECK(differences(t, std::vector<double>{3, 5, 7, 9, 11, 13}, 0) == "");

    auto copy = lm::from_xtensor<lm::shape<lm::dyn, 3>>(a);
    CHECK(copy.batch() == 2);
    CHECK(copy.data() != a.data());
    a(0, 0) = -1.f;
    CHECK(copy(0, 0) == 1.f);

    xt::xtensor<int, 2> ints = {{1, 2}, {3, 4}};
    auto f = lm::from_xtensor<lm::shape<2, 2>>(ints);  // integers become float, as torch.tensor does
    STATIC_REQUIRE(std::is_same_v<decltype(f), lm::tensor<float, lm::shape<2, 2>>>);
    CHECK(differences(f, std::vector<double>{1, 2, 3, 4}, 0) == "");

    auto col = lm::from_xtensor<lm::shape<lm::dyn, 2>>(xt::transpose(xt::xtensor<double, 2>{{1, 2, 3}, {4, 5, 6}}));
    CHECK(col.batch() == 3);
    CHECK(differences(col, std::vector<double>{1, 4, 2, 5, 3, 6}, 0) == "");

    using transposed = lm::shape<3, 2>;
    CHECK_THROWS_AS(lm::from_xtensor<transposed>(a), lm::shape_error);
}

TEST_CASE("as_xtensor() views lamina data and to_xtensor() copies it; both round-trip", "[xtensor]") {
    lm::tensor<float, lm::shape<lm::dyn, 3>> t({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
    auto xv = lm::as_xtensor(t);
    CHECK(xv.shape()[0] == 2);
    CHECK(xv.shape()[1] == 3);
    CHECK(xv.data() == t.data());
    xv(1, 0) = 40.f;
    CHECK(t(1, 0) == 40.f);

    auto xc = lm::to_xtensor(t);
    STATIC_REQUIRE(std::is_same_v<decltype(xc), xt::xtensor<float, 2>>);
    CHECK(xc.data() != t.data());
    xc(0, 0) = -1.f;
    CHECK(t(0, 0) == 1.f);
    CHECK(xc(1, 0) == 40.f);

    auto back = lm::from_xtensor<lm::shape<lm::dyn, 3>>(lm::to_xtensor(t));
    CHECK(differences(back, t, 0) == "");
    auto same = lm::adapt<lm::shape<lm::dyn, 3>>(xv);
    CHECK(same.data() == t.data());

    lm::tensor_view<float const, lm::shape<lm::dyn, 3>> cv = t.view();
    auto xcv = lm::to_xtensor(cv);
    CHECK(differences(xcv, t, 0) == "");
    CHECK(lm::as_xtensor(cv).data() == t.data());
}
