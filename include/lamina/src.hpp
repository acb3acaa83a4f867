// lamina's out-of-line code (reading and writing safetensors and IDX files, and the parts of save,
// load and checkpoints that depend on no net type), compiled once for a program built with
// LAMINA_SEPARATE_COMPILATION defined in every translation unit: include this file in exactly
// one of them, e.g. a lamina.cpp holding only this line. The other files then compile only the
// templates that saving and loading instantiate for their nets (see lamina/detail/config.hpp).

#if !defined(LAMINA_SEPARATE_COMPILATION)
#error "lamina/src.hpp is for programs built with LAMINA_SEPARATE_COMPILATION defined in every file; without it, lamina is header-only and needs no source file"
#endif

#include "lamina/impl/checkpoint.ipp"
#include "lamina/impl/serialize.ipp"
#include "lamina/io/impl/idx.ipp"
#include "lamina/io/impl/safetensors.ipp"

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
