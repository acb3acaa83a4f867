// The chapter's two custom layers, written as a lamina user writes them. The example, the tests
// and the benchmarks all use these definitions.
#pragma once

#include <cstddef>

#include <lamina/lamina.hpp>

// A layer without parameters: no base class, just a forward over expressions.
struct CenteredLayer {
    auto operator()(auto const& X) const { return X - lamina::mean(X); }
};

// A layer with parameters and ReLU baked in. in_units is not written: build<In> receives it
// from the layer before (Keras' build(input_shape)); lamina::built<MyDense<3>, 5> states it
// (the chapter's MyDense(units=3, in_units=5)).
template <std::size_t Units>
struct MyDense {
    template <std::size_t In>
    struct build {
        BOOST_HANA_DEFINE_STRUCT(build,
            (lamina::param<lamina::init::normal, In, Units>, weight),
            (lamina::param<lamina::init::normal, Units>, bias));

        auto operator()(auto const& X) const { return lamina::relu(lamina::matmul(X, weight) + bias); }
    };
};
