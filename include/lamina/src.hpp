// lamina's out-of-line code (reading and writing safetensors and IDX files, the parts of save,
// load and checkpoints that depend on no net type, the GEMM code no layer's type reaches, and
// the optimizers' updates), compiled once for a program built with LAMINA_SEPARATE_COMPILATION
// defined in every translation unit: include this file in exactly one of them, e.g. a lamina.cpp
// holding only this line, compiled with the same flags as the others. The other files then
// compile only the templates their nets instantiate (see lamina/detail/config.hpp).

#if !defined(LAMINA_SEPARATE_COMPILATION)
#error "lamina/src.hpp is for programs built with LAMINA_SEPARATE_COMPILATION defined in every file; without it, lamina is header-only and needs no source file"
#endif

#include "lamina/impl/checkpoint.ipp"
#include "lamina/impl/serialize.ipp"
#include "lamina/io/impl/idx.ipp"
#include "lamina/io/impl/safetensors.ipp"
#include "lamina/kernels/gemm.hpp"
#include "lamina/optim/adam.hpp"
#include "lamina/optim/sgd.hpp"

namespace lamina::detail {

// The checkpoint code for the two value types lamina's parameters take.
template save_options checkpoint_options(std::vector<optimizer_state<float>> const&, std::filesystem::path const&,
                                         std::map<std::string, std::string>);
template save_options checkpoint_options(std::vector<optimizer_state<double>> const&, std::filesystem::path const&,
                                         std::map<std::string, std::string>);
template std::vector<std::pair<std::size_t, std::vector<std::vector<float>>>> read_state(
    io::safetensors_file const&, std::string const&, std::vector<optimizer_state<float>>&);
template std::vector<std::pair<std::size_t, std::vector<std::vector<double>>>> read_state(
    io::safetensors_file const&, std::string const&, std::vector<optimizer_state<double>>&);

}  // namespace lamina::detail

namespace lamina::kernels::gemm_detail {

// The shared GEMM code (see the end of lamina/kernels/gemm.hpp).
template void gemm_core<float, identity_epilogue>(float const*, std::size_t, std::size_t, float const*, std::size_t,
                                                  float*, identity_epilogue&, detail::workspace&, bool,
                                                  detail::prepacked<float>);
template void gemm_core<double, identity_epilogue>(double const*, std::size_t, std::size_t, double const*, std::size_t,
                                                   double*, identity_epilogue&, detail::workspace&, bool,
                                                   detail::prepacked<double>);
template void gemm_core<float, tile_hook<float>>(float const*, std::size_t, std::size_t, float const*, std::size_t,
                                                 float*, tile_hook<float>&, detail::workspace&, bool,
                                                 detail::prepacked<float>);
template void gemm_core<double, tile_hook<double>>(double const*, std::size_t, std::size_t, double const*, std::size_t,
                                                   double*, tile_hook<double>&, detail::workspace&, bool,
                                                   detail::prepacked<double>);
template void gemm_tn_core<float>(float const*, std::size_t, std::size_t, float const*, std::size_t, float*,
                                  detail::workspace&, bool);
template void gemm_tn_core<double>(double const*, std::size_t, std::size_t, double const*, std::size_t, double*,
                                   detail::workspace&, bool);
template void pack_all<float>(float const*, std::size_t, std::size_t, std::size_t, float*, unsigned);
template void pack_all<double>(double const*, std::size_t, std::size_t, std::size_t, double*, unsigned);

}  // namespace lamina::kernels::gemm_detail

namespace lamina::optim::detail {

// The optimizers' updates, the same for every net.
template void sgd_update<float>(std::vector<trainable<float>> const&, std::pair<float*, bool> const*, float, float,
                                float, float, bool);
template void sgd_update<double>(std::vector<trainable<double>> const&, std::pair<double*, bool> const*, double, double,
                                 double, double, bool);
template void adam_update<float, false>(std::vector<trainable<float>> const&, adam_moments<float> const*, float, float,
                                        float, float, float);
template void adam_update<float, true>(std::vector<trainable<float>> const&, adam_moments<float> const*, float, float,
                                       float, float, float);
template void adam_update<double, false>(std::vector<trainable<double>> const&, adam_moments<double> const*, double,
                                         double, double, double, double);
template void adam_update<double, true>(std::vector<trainable<double>> const&, adam_moments<double> const*, double,
                                        double, double, double, double);

}  // namespace lamina::optim::detail
