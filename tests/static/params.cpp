// Compile-time promises of parameters: counts, fans, the types and shapes get<"i.name"> returns.
#include <cstddef>
#include <type_traits>
#include <utility>

#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"  // the chapter's CenteredLayer and MyDense

namespace lm = lamina;
using lm::dyn;
using lm::shape;

// A layer holding a sub-layer and a parameter of its own: names nest, "0.proj.weight".
struct Block {
    template <std::size_t In>
    struct build {
        BOOST_HANA_DEFINE_STRUCT(build,
            (lm::built<lm::Dense<In>, In>, proj),
            (lm::param<lm::init::ones, In>, scale));
        template <lm::operand X>
        auto operator()(X const& x) const {
            return proj(x) * scale;
        }
    };
};

// ---- Counts: every scalar of every parameter, nested ones included; none for stateless layers.
static_assert(lm::parameter_count_v<lm::built<lm::Dense<3>, 5>> == 5 * 3 + 3);
static_assert(lm::parameter_count_v<lm::built<lm::Dense<128>, 8>> == 8 * 128 + 128);
static_assert(lm::parameter_count_v<lm::built<MyDense<8>, 64>> == 64 * 8 + 8);
static_assert(lm::parameter_count_v<lm::built<MyDense<1>, 8>> == 8 + 1);
static_assert(lm::parameter_count_v<lm::built<Block, 4>> == (4 * 4 + 4) + 4);
static_assert(lm::parameter_count_v<lm::built<Block, 4> const&> == 24);
static_assert(lm::parameter_count_v<lm::Centered> == 0 && lm::parameter_count_v<lm::ReLU> == 0);

// ---- A parameter: a float tensor of static shape, with its initializer and fans.
using W = lm::param<lm::init::normal, 5, 3>;
static_assert(std::is_same_v<W, lm::basic_param<float, lm::init::normal, 5, 3>>);
static_assert(std::is_base_of_v<lm::tensor<float, shape<5, 3>>, W>);
static_assert(std::is_same_v<W::shape_type, shape<5, 3>> && std::is_same_v<W::value_type, float>);
static_assert(std::is_same_v<W::initializer, lm::init::normal>);
static_assert(W::fan_in == 5 && W::fan_out == 3);
static_assert(lm::param<lm::init::zeros, 7>::fan_in == 1 && lm::param<lm::init::zeros, 7>::fan_out == 7);
static_assert(lm::param<lm::init::glorot_uniform, 2, 3, 4>::fan_in == 6 && lm::param<lm::init::glorot_uniform, 2, 3, 4>::fan_out == 4);
static_assert(std::is_same_v<lm::basic_param<double, lm::init::zeros, 2>::value_type, double>);

// ---- Dense's parameters: weight (in_features, units), bias (units).
using D = lm::built<lm::Dense<3, lm::ReLU>, 5>;
static_assert(std::is_same_v<decltype(D::weight), lm::param<lm::init::uniform_fan_in, 5, 3>>);
static_assert(std::is_same_v<decltype(D::bias), lm::param<lm::init::zeros, 3>>);

// ---- get<"i.name">(net): the parameter itself, by reference, of its declared type and shape.
using Net = lm::Sequential<lm::Input<64>, MyDense<8>, lm::Dense<3>, lm::Centered, Block>;
#define get_t(name) decltype(lm::get<name>(std::declval<Net&>()))
#define shape_at(name) std::remove_cvref_t<get_t(name)>::shape_type

static_assert(std::is_same_v<get_t("0.weight"), lm::param<lm::init::normal, 64, 8>&>);
static_assert(std::is_same_v<get_t("0.bias"), lm::param<lm::init::normal, 8>&>);
static_assert(std::is_same_v<get_t("1.weight"), lm::param<lm::init::uniform_fan_in, 8, 3>&>);
static_assert(std::is_same_v<get_t("1.bias"), lm::param<lm::init::zeros, 3>&>);
static_assert(std::is_same_v<shape_at("0.weight"), shape<64, 8>> && std::is_same_v<shape_at("1.weight"), shape<8, 3>>);
static_assert(std::is_same_v<shape_at("0.bias"), shape<8>>);
// Nested names reach into sub-layers; a sub-layer's own name gives the sub-layer.
static_assert(std::is_same_v<get_t("3.proj.weight"), lm::param<lm::init::uniform_fan_in, 3, 3>&>);
static_assert(std::is_same_v<get_t("3.proj.bias"), lm::param<lm::init::zeros, 3>&>);
static_assert(std::is_same_v<get_t("3.scale"), lm::param<lm::init::ones, 3>&>);
static_assert(std::is_same_v<get_t("3.proj"), lm::built<lm::Dense<3>, 3>&>);
static_assert(lm::parameter<get_t("3.proj.weight")> && !lm::parameter<get_t("3.proj")>);
// get<I>(net): the layer, const when the net is.
static_assert(std::is_same_v<decltype(lm::get<0>(std::declval<Net&>())), lm::built<MyDense<8>, 64>&>);
static_assert(std::is_same_v<decltype(lm::get<2>(std::declval<Net const&>())), lm::Centered const&>);
static_assert(std::is_same_v<decltype(lm::get<3>(std::declval<Net&>())), lm::built<Block, 3>&>);
static_assert(std::is_same_v<decltype(lm::get<1>(std::declval<Net&>()).weight), lm::param<lm::init::uniform_fan_in, 8, 3>>);

// ---- Per-layer counts of the same net, as summary() prints them.
static_assert(lm::parameter_count_v<Net::layer_type<0>> == 64 * 8 + 8);
static_assert(lm::parameter_count_v<Net::layer_type<1>> == 8 * 3 + 3);
static_assert(lm::parameter_count_v<Net::layer_type<2>> == 0);
static_assert(lm::parameter_count_v<Net::layer_type<3>> == 3 * 3 + 3 + 3);

int main() {}
