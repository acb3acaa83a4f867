// lamina/shape.hpp: the run-time side of static shapes (sizes with a batch, printing).
#include <array>

#include <catch2/catch.hpp>

#include <lamina/shape.hpp>

namespace lm = lamina;

TEST_CASE("A shape prints its extents as a Python tuple and names a dynamic batch", "[shape]") {
    CHECK(lm::shape<lm::dyn, 3, 4>::str() == "(batch, 3, 4)");
    CHECK(lm::shape<lm::dyn, 3, 4>::str(5) == "(5, 3, 4)");
    CHECK(lm::shape<7>::str() == "(7,)");
    CHECK(lm::shape<lm::dyn>::str(2) == "(2,)");
    CHECK(lm::shape<>::str() == "()");
    CHECK(lm::shape<2, 3>::str(99) == "(2, 3)");  // a static leading extent ignores the batch
}

TEST_CASE("A shape with a dynamic batch sizes itself from the run-time batch", "[shape]") {
    using S = lm::shape<lm::dyn, 3, 4>;
    CHECK(S::rank == 3);
    CHECK(S::dynamic);
    CHECK(S::inner == 12);
    CHECK(S::cols == 4);
    CHECK(S::size(5) == 60);
    CHECK(S::size(0) == 0);
    CHECK(S::rows(5) == 15);
    CHECK(S::batch_of(5) == 5);
    CHECK(S::runtime_extents(5) == std::array<std::size_t, 3>{5, 3, 4});
    CHECK(S::extents == std::array<std::size_t, 3>{lm::dyn, 3, 4});
}

TEST_CASE("A static shape ignores the batch it is given", "[shape]") {
    using S = lm::shape<2, 3>;
    CHECK_FALSE(S::dynamic);
    CHECK(S::static_size == 6);
    CHECK(S::size(100) == 6);
    CHECK(S::rows(100) == 2);
    CHECK(S::batch_of(100) == 2);
    CHECK(S::runtime_extents(100) == std::array<std::size_t, 2>{2, 3});
}

TEST_CASE("A rank-0 shape holds one element in one row", "[shape]") {
    using S = lm::shape<>;
    CHECK(S::rank == 0);
    CHECK(S::size(0) == 1);
    CHECK(S::rows(0) == 1);
    CHECK(S::cols == 1);
    CHECK(S::batch_of(7) == 1);
}
