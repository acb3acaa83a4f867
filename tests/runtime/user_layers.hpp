// The user-written layers of examples/custom_layers.cpp, at global scope as a user writes them,
// for the tests that compare them with lamina's own layers.
#pragma once

#include <cstddef>

#include <lamina/lamina.hpp>

/// A layer without parameters: X minus the mean of every element.
struct CenteredLayer {
    auto operator()(auto const& X) const { return X - lamina::mean(X); }
};

/// A layer with parameters and ReLU baked in; in_units comes from the layer before it.
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
