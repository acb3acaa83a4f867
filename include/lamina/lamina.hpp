// lamina: custom neural-network layers as expressions, fused into SIMD loops.
// Every public header but the xtensor interop (lamina/xtensor.hpp), which costs ~1.5 s of
// compile time to each user, saving and loading (lamina/serialize.hpp and
// lamina/checkpoint.hpp: nlohmann/json and the safetensors code, ~15 s where they are used, or
// compiled once per program: lamina/src.hpp), and the IDX dataset reader (lamina/io/idx.hpp:
// <filesystem> and zlib, ~0.25 s, and -lz at link time); include them where you need them.
#pragma once

#include "lamina/error.hpp"
// Shapes, tensors and expressions first: errors in them then show a short include chain.
#include "lamina/shape.hpp"
#include "lamina/tensor.hpp"
#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/eval.hpp"
#include "lamina/expr/matmul.hpp"
#include "lamina/expr/node.hpp"
#include "lamina/expr/reduce.hpp"
// The exercises' nodes, after the core ones they are built on.
#include "lamina/expr/dft.hpp"
#include "lamina/expr/outer.hpp"
#include "lamina/expr/reshape.hpp"
#include "lamina/autodiff/backward.hpp"
#include "lamina/autodiff/variable.hpp"
#include "lamina/io/batches.hpp"
#include "lamina/layer.hpp"
#include "lamina/layers/activation.hpp"
#include "lamina/layers/centered.hpp"
#include "lamina/layers/dense.hpp"
#include "lamina/layers/fourier_half.hpp"
#include "lamina/layers/tensor_reduction.hpp"
#include "lamina/losses.hpp"
#include "lamina/optim/adam.hpp"
#include "lamina/optim/optimizer.hpp"
#include "lamina/optim/schedule.hpp"
#include "lamina/optim/sgd.hpp"
#include "lamina/params.hpp"
#include "lamina/random.hpp"
#include "lamina/sequential.hpp"
#include "lamina/threads.hpp"

