// The chapter's first exercise: y_k = Σ_ij W_ijk x_i x_j for each sample.
#pragma once

#include <boost/hana/define_struct.hpp>

#include "lamina/expr/matmul.hpp"
#include "lamina/expr/outer.hpp"
#include "lamina/expr/reshape.hpp"
#include "lamina/params.hpp"

namespace lamina {

/// A bilinear form per output: y[b, k] = Σ_ij weight[i, j, k]·x[b, i]·x[b, j], weight of shape
/// (In, In, K) with In inferred from the layer before. The forward is outer(X) (B, In·In)
/// times weight viewed as (In·In, K): one GEMM, and its gradients are matmul's and outer's.
/// Initialized as PyTorch's Linear over In·In inputs: U(±1/In).
template <std::size_t K>
struct TensorReduction {
    template <std::size_t In, class T = float>
    struct build {
        BOOST_HANA_DEFINE_STRUCT(build, (basic_param<T, init::uniform_fan_in, In, In, K>, weight));

        template <operand X>
        auto operator()(X const& x) const {
            return matmul(outer(x), reshape<In * In, K>(weight));
        }
    };
};

}  // namespace lamina
