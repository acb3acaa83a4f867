// libFuzzer target for lamina's safetensors reader and loader (tools/fuzz builds and runs it):
// whatever the bytes, parse_safetensors and load must either succeed or throw lamina::error. A
// crash, a sanitizer report (address, undefined behaviour, leak), a hang or any other exception
// is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include <lamina/lamina.hpp>
#include <lamina/serialize.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;

// The nets the corpus' valid files were saved from (make_corpus.cpp): a float net with the
// chapter's layer and a double net whose two weights can be tied.
using float_net = lm::Sequential<lm::Input<2>, MyDense<3>, lm::Dense<1>>;
using double_net = lm::Sequential<lm::InputOf<lm::shape<lm::dyn, 2>, double>, lm::Dense<2>, lm::Dense<2>>;

template <class Net>
void try_load(lm::io::safetensors_file const& f, lm::load_options const& o) {
    Net net;
    try {
        lm::load(net, f, o);
    } catch (lm::error const&) {
    }
}

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    try {
        auto const f = lm::io::parse_safetensors(std::span(reinterpret_cast<std::byte const*>(data), size), "fuzz.safetensors");
        for (auto const& t : f.tensors())
            if (lm::io::is_floating(t.type)) (void)f.read<double>(t);
        try_load<float_net>(f, {});
        try_load<float_net>(f, {.strict = false});
        try_load<double_net>(f, {.check_architecture = false, .allow_non_finite = true});
        try_load<double_net>(f, {.strict = false, .tolerance = 1e9});
    } catch (lm::error const&) {
    }
    return 0;
}
