// Compile-time promises of the chapter's two exercises as layers: TensorReduction<K> and
// FourierHalf, with the nodes they are made of (outer, reshape, dft_half).
#include <cstddef>
#include <type_traits>
#include <utility>

#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"  // the chapter's CenteredLayer and MyDense

namespace lm = lamina;
using lm::dyn;
using lm::shape;

template <class X>
using leaf_of = lm::leaf<float const, X>;

// ---- outer: (..., N) -> (..., N·N); reshape: same memory, another static shape.
static_assert(std::is_same_v<decltype(lm::outer(std::declval<leaf_of<shape<dyn, 5>>>()))::shape_type, shape<dyn, 25>>);
static_assert(std::is_same_v<decltype(lm::outer(std::declval<leaf_of<shape<3>>>()))::shape_type, shape<9>>);
static_assert(std::is_same_v<decltype(lm::outer(std::declval<leaf_of<shape<2, 3, 4>>>()))::shape_type, shape<2, 3, 16>>);
static_assert(std::is_same_v<decltype(lm::reshape<16, 3>(std::declval<lm::param<lm::init::zeros, 4, 4, 3>&>()))::shape_type, shape<16, 3>>);
static_assert(std::is_same_v<decltype(lm::reshape<16, 3>(std::declval<lm::param<lm::init::zeros, 4, 4, 3>&>()))::tag, lm::variable_tag>);
static_assert(std::is_same_v<decltype(lm::reshape<dyn, 2, 3>(std::declval<lm::tensor<float, shape<dyn, 6>>&>()))::shape_type, shape<dyn, 2, 3>>);

// ---- TensorReduction<K>: weight (In, In, K), In inferred; (batch, In) -> (batch, K).
using TR = lm::built<lm::TensorReduction<3>, 5>;
static_assert(std::is_same_v<decltype(std::declval<TR&>().weight), lm::basic_param<float, lm::init::uniform_fan_in, 5, 5, 3>>);
static_assert(lm::parameter_count_v<TR> == 5 * 5 * 3);
static_assert(std::remove_cvref_t<decltype(std::declval<TR&>().weight)>::fan_in == 25);
static_assert(std::is_same_v<lm::output_shape_t<lm::TensorReduction<3>, shape<dyn, 5>>, shape<dyn, 3>>);
static_assert(std::is_same_v<decltype(std::declval<lm::built<lm::TensorReduction<2>, 4, double>&>().weight)::value_type, double>);
static_assert(lm::LayerFor<lm::TensorReduction<7>, shape<dyn, 11>>);
static_assert(lm::deferred_layer<lm::TensorReduction<7>>);

// ---- FourierHalf: no parameters; (..., n) -> (..., 2⌊n/2⌋): ⌊n/2⌋ coefficients as (re, im) pairs.
static_assert(lm::parameter_count_v<lm::FourierHalf> == 0);
static_assert(std::is_same_v<lm::output_shape_t<lm::FourierHalf, shape<dyn, 16>>, shape<dyn, 16>>);
static_assert(std::is_same_v<lm::output_shape_t<lm::FourierHalf, shape<dyn, 4096>>, shape<dyn, 4096>>);
static_assert(std::is_same_v<lm::output_shape_t<lm::FourierHalf, shape<dyn, 6>>, shape<dyn, 6>>);
static_assert(std::is_same_v<lm::output_shape_t<lm::FourierHalf, shape<dyn, 7>>, shape<dyn, 6>>);  // torch's [:n // 2]
static_assert(std::is_same_v<lm::output_shape_t<lm::FourierHalf, shape<2, 3, 8>>, shape<2, 3, 8>>);
static_assert(std::is_same_v<lm::output_shape_t<lm::FourierHalf, shape<dyn, 8>, double>, shape<dyn, 8>>);
// The FFT from n = 128 when n/2 is a power of two; one GEMM with the DFT matrix otherwise.
static_assert(lm::expr_t<decltype(lm::dft_half(std::declval<leaf_of<shape<dyn, 128>>>()))>::matmuls == 0);
static_assert(lm::expr_t<decltype(lm::dft_half(std::declval<leaf_of<shape<dyn, 64>>>()))>::matmuls == 1);
static_assert(lm::expr_t<decltype(lm::dft_half(std::declval<leaf_of<shape<dyn, 192>>>()))>::matmuls == 1);

// ---- In a Sequential: shapes chain through both, names and counts come from the walk.
using Net = lm::Sequential<lm::Input<8>, lm::TensorReduction<16>, lm::FourierHalf, MyDense<4>, lm::Dense<2>>;
static_assert(std::is_same_v<Net::output_shape_of<0>, shape<dyn, 16>>);
static_assert(std::is_same_v<Net::output_shape_of<1>, shape<dyn, 16>>);
static_assert(std::is_same_v<Net::output_shape, shape<dyn, 2>>);
static_assert(Net::parameter_count() == 8 * 8 * 16 + (16 * 4 + 4) + (4 * 2 + 2));
static_assert(std::is_same_v<std::remove_cvref_t<decltype(lm::get<"0.weight">(std::declval<Net&>()))>,
                             lm::basic_param<float, lm::init::uniform_fan_in, 8, 8, 16>>);
static_assert(std::is_same_v<Net::layer_type<1>, lm::FourierHalf>);

int main() {}
