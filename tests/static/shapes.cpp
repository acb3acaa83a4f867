// Compile-time promises of lamina::shape and of the tensors built on it.
#include <array>
#include <type_traits>

#include <lamina/lamina.hpp>

namespace lm = lamina;
using lm::dyn;
using lm::shape;

// Extents, rank, and the sizes derived from them.
static_assert(shape<2, 3>::rank == 2 && shape<>::rank == 0 && shape<dyn, 4, 5>::rank == 3);
static_assert(shape<2, 3>::extents == std::array<std::size_t, 2>{2, 3});
static_assert(!shape<2, 3>::dynamic && shape<dyn, 3>::dynamic && !shape<>::dynamic);
static_assert(shape<2, 3>::static_size == 6 && shape<7>::static_size == 7 && shape<>::static_size == 1);
static_assert(shape<dyn, 3>::static_size == dyn);
static_assert(shape<dyn, 4, 5>::inner == 20 && shape<4, 5>::inner == 5 && shape<6>::inner == 1);
static_assert(shape<dyn, 4, 5>::cols == 5 && shape<6>::cols == 6 && shape<>::cols == 1);
// Run-time sizes: the batch fills the dynamic extent and is ignored by a static one.
static_assert(shape<dyn, 3>::size(4) == 12 && shape<dyn, 3>::size(0) == 0);
static_assert(shape<2, 3>::size(100) == 6 && shape<>::size(100) == 1);
static_assert(shape<dyn, 4, 5>::rows(3) == 12 && shape<2, 3>::rows(9) == 2);
static_assert(shape<dyn, 3>::batch_of(9) == 9 && shape<2, 3>::batch_of(9) == 2 && shape<>::batch_of(9) == 1);
static_assert(shape<dyn, 4, 5>::runtime_extents(7) == std::array<std::size_t, 3>{7, 4, 5});
static_assert(shape<2, 3>::runtime_extents(7) == std::array<std::size_t, 2>{2, 3});

static_assert(lm::is_shape<shape<>>::value && lm::is_shape<shape<dyn, 2>>::value);
static_assert(!lm::is_shape<std::array<std::size_t, 2>>::value && !lm::is_shape<int>::value);

// Shape arithmetic.
static_assert(std::is_same_v<lm::sample_shape_t<shape<dyn, 4, 5>>, shape<4, 5>>);
static_assert(std::is_same_v<lm::sample_shape_t<shape<dyn, 8>>, shape<8>>);
static_assert(std::is_same_v<lm::drop_last_t<shape<dyn, 4, 5>>, shape<dyn, 4>>);
static_assert(std::is_same_v<lm::drop_last_t<shape<5>>, shape<>>);
static_assert(std::is_same_v<lm::concat_t<shape<dyn, 4>, shape<3>>, shape<dyn, 4, 3>>);
static_assert(std::is_same_v<lm::concat_t<shape<>, shape<2>>, shape<2>>);

// numpy broadcasting, right-aligned.
static_assert(std::is_same_v<lm::broadcast_t<shape<2, 3>, shape<2, 3>>, shape<2, 3>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<2, 3>, shape<3>>, shape<2, 3>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<3>, shape<2, 3>>, shape<2, 3>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<2, 1>, shape<1, 5>>, shape<2, 5>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<2, 1, 4>, shape<3, 1>>, shape<2, 3, 4>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<>, shape<2, 3>>, shape<2, 3>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<2, 3>, shape<>>, shape<2, 3>>);
// A dynamic batch meets a dynamic batch, a 1, or nothing (a lower rank).
static_assert(std::is_same_v<lm::broadcast_t<shape<dyn, 3>, shape<3>>, shape<dyn, 3>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<dyn, 3>, shape<dyn, 3>>, shape<dyn, 3>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<dyn, 3>, shape<1, 3>>, shape<dyn, 3>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<dyn, 1>, shape<4>>, shape<dyn, 4>>);
static_assert(std::is_same_v<lm::broadcast_t<shape<dyn, 3>, shape<dyn, 1>>, shape<dyn, 3>>);
static_assert(lm::detail::broadcast<shape<2, 3>, shape<1, 3>>::ok);
static_assert(!lm::detail::broadcast<shape<2, 3>, shape<4>>::ok);
static_assert(!lm::detail::broadcast<shape<2, 3>, shape<3, 3>>::ok);
static_assert(!lm::detail::broadcast<shape<dyn, 3>, shape<4>>::ok);
static_assert(!lm::detail::broadcast<shape<dyn, 3>, shape<2, 3>>::ok);  // a batch of 2 is not every batch

// Tensor types from deduction guides and factories.
static_assert(std::is_same_v<decltype(lm::tensor{1, 2, 3}), lm::tensor<float, shape<3>>>);  // ints make floats
static_assert(std::is_same_v<decltype(lm::tensor{1.0, 2.0}), lm::tensor<double, shape<2>>>);
static_assert(std::is_same_v<decltype(lm::tensor{1.f, 2.f}), lm::tensor<float, shape<2>>>);
static_assert(std::is_same_v<decltype(lm::tensor{0.5, 2}), lm::tensor<float, shape<2>>>);  // mixed: float
static_assert(std::is_same_v<decltype(lm::tensor({0.5, 2})), lm::tensor<float, shape<2>>>);
inline constexpr int nested[2][3] = {{1, 2, 3}, {4, 5, 6}};
static_assert(std::is_same_v<decltype(lm::tensor(nested)), lm::tensor<float, shape<2, 3>>>);
inline constexpr double cube[2][1][4] = {};
static_assert(std::is_same_v<decltype(lm::tensor(cube)), lm::tensor<double, shape<2, 1, 4>>>);
static_assert(std::is_same_v<decltype(lm::rand<2, 5>()), lm::tensor<float, shape<2, 5>>>);
static_assert(std::is_same_v<decltype(lm::rand<dyn, 8>(4)), lm::tensor<float, shape<dyn, 8>>>);
static_assert(std::is_same_v<decltype(lm::randn<dyn, 4, 5>(4)), lm::tensor<float, shape<dyn, 4, 5>>>);

static_assert(lm::tensor<float, shape<2, 3>>::rank == 2 && lm::tensor<float, shape<dyn, 3>>::rank == 2);
static_assert(lm::tensor<float, shape<>>::rank == 0);
static_assert(std::is_same_v<lm::tensor<float, shape<2, 3>>::value_type, float>);
static_assert(std::is_same_v<lm::tensor<double, shape<2, 3>>::shape_type, shape<2, 3>>);
static_assert(std::is_same_v<lm::tensor_view<float const, shape<2, 3>>::value_type, float>);

// Rejections are checked inside a template: there an ill-formed requirement makes the
// requires-expression false (outside one it is a hard error). Each sits beside its accepted twin.
template <class M23, class B3, std::size_t Dyn>
constexpr bool constructors_and_access() {
    // Values: only for a static shape (a wrong count is rejected with a sentence inside the
    // constructor, tests/fail/tensor_wrong_value_count.cpp, rather than by overload resolution).
    static_assert(requires { M23{1, 2, 3, 4, 5, 6}; });
    static_assert(requires { M23{1.f, 2.0, 3, 4L, 5.f, short{6}}; });
    static_assert(!requires { M23{"1", 2, 3, 4, 5, 6}; });
    static_assert(!requires { B3{1, 2, 3}; });
    static_assert(std::is_constructible_v<M23, int const (&)[2][3]>);
    static_assert(!std::is_constructible_v<M23, int const (&)[3][2]>);
    static_assert(!std::is_constructible_v<M23, int const (&)[6]>);
    static_assert(std::is_constructible_v<B3, int const (&)[5][3]>);  // any number of samples
    static_assert(!std::is_constructible_v<B3, int const (&)[5][4]>);
    // A batch size makes sense only for a dynamic batch (and never converts implicitly).
    static_assert(std::is_constructible_v<B3, std::size_t> && !std::is_convertible_v<std::size_t, B3>);
    static_assert(!std::is_constructible_v<M23, std::size_t>);
    static_assert(requires(B3 t) { t.resize(4); });
    static_assert(!requires(M23 t) { t.resize(4); });

    // lm::rand<dyn, ...> needs the batch; a static shape takes none.
    static_assert(requires { lm::rand<Dyn, 8>(4); });
    static_assert(!requires { lm::rand<Dyn, 8>(); });
    static_assert(!requires { lm::randn<Dyn, 8>(); });
    static_assert(requires { lm::rand<2, 8>(); });
    static_assert(!requires(B3 x) { lm::rand<2, 8>(x.batch()); });
    static_assert(requires(B3 x) { lm::rand<Dyn, 8>(x.batch()); });
    static_assert(requires { B3::rand(3); } && !requires { B3::rand(); });
    static_assert(requires { M23::rand(); });

    // Element access takes one integral index per axis.
    static_assert(requires(M23 t) { t(1, 2); t.at(1, 2); });
    static_assert(!requires(M23 t) { t(1); });
    static_assert(!requires(M23 t) { t(1, 2, 3); });
    static_assert(!requires(M23 t) { t.at(1); });
    static_assert(!requires(M23 t) { t(1.5, 2); });
    return true;
}
static_assert(constructors_and_access<lm::tensor<float, shape<2, 3>>, lm::tensor<float, shape<dyn, 3>>, dyn>());

using M23 = lm::tensor<float, shape<2, 3>>;
static_assert(std::is_same_v<decltype(std::declval<M23&>()(0, 0)), float&>);
static_assert(std::is_same_v<decltype(std::declval<M23 const&>()(0, 0)), float const&>);
static_assert(std::is_same_v<decltype(std::declval<M23 const&>().item()), float>);

// Views keep constness: a tensor gives a mutable view, a const tensor a read-only one.
using V = lm::tensor_view<float, shape<2, 3>>;
using CV = lm::tensor_view<float const, shape<2, 3>>;
static_assert(std::is_convertible_v<M23&, V> && std::is_convertible_v<M23&, CV>);
static_assert(std::is_convertible_v<M23 const&, CV> && !std::is_convertible_v<M23 const&, V>);
static_assert(std::is_convertible_v<V, CV> && !std::is_convertible_v<CV, V>);
static_assert(!std::is_convertible_v<M23&, lm::tensor_view<float, shape<3, 2>>>);
static_assert(!std::is_convertible_v<M23&, lm::tensor_view<double, shape<2, 3>>>);
static_assert(std::is_same_v<decltype(std::declval<M23 const&>().view()), CV>);

int main() {}
