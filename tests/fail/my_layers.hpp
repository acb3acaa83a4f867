// The chapter's MyDense, as a user writes it: the fail cases' layer with parameters.
#pragma once

#include <lamina/lamina.hpp>

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
