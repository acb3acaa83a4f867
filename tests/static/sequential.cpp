// Compile-time promises of Sequential: shapes chained from layer to layer, deferred layers
// built for the width before them, stated widths kept, the call's types, and stateless layers
// stored in no space.
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include <lamina/lamina.hpp>

#include "chapter_layers.hpp"  // the chapter's CenteredLayer and MyDense

namespace lm = lamina;
using lm::dyn;
using lm::shape;

// Changes the rank: the mean over the last axis of each sample.
struct RowMean {
    template <lm::operand X>
    auto operator()(X const& x) const {
        return lm::mean(x, lm::axis<-1>);
    }
};
// A layer with one number of state, to weigh a stateless layer against.
struct Scaled {
    double s = 2;
    template <lm::operand X>
    auto operator()(X const& x) const {
        return x * static_cast<float>(s);
    }
};

// ---- The chapter's net: Dense's input width inferred from the Input.
using Net = lm::Sequential<lm::Input<8>, lm::Dense<128>, lm::Centered>;
static_assert(Net::size == 2);
static_assert(std::is_same_v<Net::value_type, float>);
static_assert(std::is_same_v<Net::input_shape, shape<dyn, 8>>);
static_assert(std::is_same_v<Net::output_shape, shape<dyn, 128>>);
static_assert(std::is_same_v<Net::input_shape_of<0>, shape<dyn, 8>>);
static_assert(std::is_same_v<Net::output_shape_of<0>, shape<dyn, 128>>);
static_assert(std::is_same_v<Net::input_shape_of<1>, shape<dyn, 128>>);
static_assert(std::is_same_v<Net::output_shape_of<1>, shape<dyn, 128>>);
static_assert(std::is_same_v<Net::layer_type<0>, lm::built<lm::Dense<128>, 8>>);
static_assert(std::is_same_v<Net::layer_type<1>, lm::Centered>);

// ---- User layers: every deferred layer is built for the width of the layer before it.
using Net2 = lm::Sequential<lm::Input<64>, MyDense<8>, MyDense<1>>;
static_assert(std::is_same_v<Net2::layer_type<0>, lm::built<MyDense<8>, 64>>);
static_assert(std::is_same_v<Net2::layer_type<1>, lm::built<MyDense<1>, 8>>);
static_assert(std::is_same_v<Net2::input_shape_of<1>, shape<dyn, 8>>);
static_assert(std::is_same_v<Net2::output_shape, shape<dyn, 1>>);
static_assert(lm::built<MyDense<1>, 8>::in_features == 8);
static_assert(std::is_same_v<lm::built<MyDense<1>, 8>::spec, MyDense<1>>);

using Net3 = lm::Sequential<lm::Input<64>, MyDense<8>, lm::Dense<3>, CenteredLayer>;
static_assert(std::is_same_v<Net3::layer_type<1>, lm::built<lm::Dense<3>, 8>>);
static_assert(std::is_same_v<Net3::layer_type<2>, CenteredLayer>);
static_assert(std::is_same_v<Net3::output_shape_of<1>, shape<dyn, 3>>);
static_assert(std::is_same_v<Net3::output_shape, shape<dyn, 3>>);

// ---- A stated width is kept, never rebuilt for the width before it.
using Stated = lm::Sequential<lm::Input<5>, lm::built<MyDense<3>, 5>, lm::built<lm::Dense<2>, 3>>;
static_assert(std::is_same_v<Stated::layer_type<0>, lm::built<MyDense<3>, 5>>);
static_assert(std::is_same_v<Stated::layer_type<1>, lm::built<lm::Dense<2>, 3>>);
static_assert(std::is_same_v<Stated::output_shape, shape<dyn, 2>>);
using Mixed = lm::Sequential<lm::Input<8>, MyDense<5>, lm::built<MyDense<3>, 5>, MyDense<4>>;
static_assert(std::is_same_v<Mixed::layer_type<1>, lm::built<MyDense<3>, 5>>);
static_assert(std::is_same_v<Mixed::layer_type<2>, lm::built<MyDense<4>, 3>>);

// ---- Samples of higher rank; layers that change the rank.
using Seq = lm::Sequential<lm::Input<6, 4>, lm::Dense<3>, RowMean, lm::Dense<2, lm::ReLU>>;
static_assert(std::is_same_v<Seq::input_shape, shape<dyn, 6, 4>>);
static_assert(std::is_same_v<Seq::layer_type<0>, lm::built<lm::Dense<3>, 4>>);
static_assert(std::is_same_v<Seq::output_shape_of<0>, shape<dyn, 6, 3>>);
static_assert(std::is_same_v<Seq::output_shape_of<1>, shape<dyn, 6>>);
static_assert(std::is_same_v<Seq::layer_type<2>, lm::built<lm::Dense<2, lm::ReLU>, 6>>);
static_assert(std::is_same_v<Seq::output_shape, shape<dyn, 2>>);

// ---- Another value type, and a static batch.
using Doubles = lm::Sequential<lm::InputOf<shape<dyn, 4>, double>, lm::Centered, lm::Tanh>;
static_assert(std::is_same_v<Doubles::value_type, double>);
static_assert(std::is_same_v<Doubles::output_shape, shape<dyn, 4>>);
using Fixed = lm::Sequential<lm::InputOf<shape<2, 4>>, lm::Dense<3>, RowMean>;
static_assert(std::is_same_v<Fixed::output_shape_of<0>, shape<2, 3>>);
static_assert(std::is_same_v<Fixed::output_shape, shape<2>>);
// Input<E...>::batch<B> fixes the batch as Keras' Input(shape, batch_size) does.
static_assert(std::is_same_v<lm::Input<8>::batch<4>::shape_type, shape<4, 8>>);
static_assert(std::is_same_v<lm::Input<3, 5>::batch<2>::shape_type, shape<2, 3, 5>>);
using FixedSeed = lm::Sequential<lm::Input<8>::batch<4>, lm::Dense<128, lm::ReLU>, lm::Centered>;
static_assert(std::is_same_v<FixedSeed::output_shape, shape<4, 128>>);

// ---- What a layer is given and produces, outside a Sequential.
static_assert(std::is_same_v<lm::bind_t<lm::Dense<3>, shape<dyn, 5>>, lm::built<lm::Dense<3>, 5>>);
static_assert(std::is_same_v<lm::bind_t<lm::built<lm::Dense<3>, 4>, shape<dyn, 5>>, lm::built<lm::Dense<3>, 4>>);
static_assert(std::is_same_v<lm::bind_t<lm::Centered, shape<dyn, 5>>, lm::Centered>);
static_assert(std::is_same_v<lm::output_shape_t<lm::Dense<3>, shape<dyn, 5>>, shape<dyn, 3>>);
static_assert(std::is_same_v<lm::output_shape_t<lm::Dense<3>, shape<dyn, 7, 5>>, shape<dyn, 7, 3>>);
static_assert(std::is_same_v<lm::output_shape_t<CenteredLayer, shape<dyn, 5>>, shape<dyn, 5>>);
static_assert(std::is_same_v<lm::output_shape_t<RowMean, shape<2, 3, 5>>, shape<2, 3>>);

// ---- Calling a net: a read-only view of the output; any operand of the Input's sample shape.
template <class N, class X>
using call_t = decltype(std::declval<N&>()(std::declval<X const&>()));
static_assert(std::is_base_of_v<lm::tensor_view<float const, shape<dyn, 128>>, call_t<Net, lm::tensor<float, shape<dyn, 8>>>>);
static_assert(std::is_base_of_v<lm::tensor_view<float const, shape<dyn, 1>>, call_t<Net2, lm::tensor<float, shape<dyn, 64>>>>);
static_assert(std::is_base_of_v<lm::tensor_view<float const, shape<dyn, 2>>, call_t<Seq, lm::tensor<float, shape<dyn, 6, 4>>>>);

template <class N, class Sample>
constexpr bool call_checks() {
    using T = typename N::value_type;
    static_assert(requires(N n, lm::tensor<T, Sample> x) { n(x); });
    static_assert(requires(N n, lm::tensor<T, lm::concat_t<shape<3>, lm::sample_shape_t<Sample>>> x) { n(x); });  // a static batch
    static_assert(requires(N n, lm::tensor<T, Sample> x) { n(x * 2 + x); });                                    // an expression
    static_assert(requires(N n, lm::tensor<T, Sample> x) { n(x.view()); });                                     // a view
    static_assert(!requires(N n, T x) { n(x); });                                                               // not an operand
    static_assert(!requires(N n, std::vector<T> x) { n(x); });
    static_assert(!requires(N const n, lm::tensor<T, Sample> x) { n(x); });  // a call reuses the net's buffers
    return true;
}
static_assert(call_checks<Net, shape<dyn, 8>>());
static_assert(call_checks<Seq, shape<dyn, 6, 4>>());
static_assert(call_checks<Doubles, shape<dyn, 4>>());

// ---- Stateless layers are empty types, and a Sequential stores them in no space: adding them
// costs exactly what adding one-double layers costs, less the doubles.
static_assert(std::is_empty_v<lm::Centered> && std::is_empty_v<lm::ReLU> && std::is_empty_v<lm::Identity>);
static_assert(std::is_empty_v<lm::Sigmoid> && std::is_empty_v<lm::Tanh> && std::is_empty_v<CenteredLayer>);
static_assert(std::is_empty_v<RowMean> && std::is_empty_v<lm::Dense<3>> && std::is_empty_v<MyDense<3>>);
static_assert(!std::is_empty_v<Scaled> && sizeof(Scaled) == sizeof(double));
static_assert(!std::is_empty_v<lm::built<lm::Dense<3>, 4>>);

using In = lm::Input<8>;
template <class... L>
inline constexpr std::size_t net_size = sizeof(lm::Sequential<In, L...>);
static_assert(net_size<lm::Dense<4>, lm::Centered, lm::ReLU> - net_size<lm::Dense<4>> ==
              net_size<lm::Dense<4>, Scaled, Scaled> - net_size<lm::Dense<4>> - 2 * sizeof(Scaled));
static_assert(net_size<lm::Centered, lm::ReLU, CenteredLayer> - net_size<lm::Identity> ==
              net_size<Scaled, Scaled, Scaled> - net_size<Scaled> - 2 * sizeof(Scaled));
static_assert(net_size<lm::Centered, lm::Dense<4>, lm::ReLU> == net_size<Scaled, lm::Dense<4>, Scaled> - 2 * sizeof(Scaled));

int main() {}
