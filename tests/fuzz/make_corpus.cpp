// Writes the fuzzer's seed corpus (tests/fuzz/corpus/): files lamina saves from the nets the
// target loads into (with and without a reference batch and ties), a PyTorch-style file, and a
// few broken ones. Run by `tools/fuzz --make-corpus`.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <lamina/lamina.hpp>
#include <lamina/serialize.hpp>

#include "chapter_layers.hpp"

namespace lm = lamina;
using float_net = lm::Sequential<lm::Input<2>, MyDense<3>, lm::Dense<1>>;
using double_net = lm::Sequential<lm::InputOf<lm::shape<lm::dyn, 2>, double>, lm::Dense<2>, lm::Dense<2>>;

static void write(std::filesystem::path const& p, std::string const& header, std::vector<unsigned char> const& data) {
    std::string b(8, '\0');
    for (std::size_t i = 0; i < 8; ++i) b[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    b += header;
    b.append(data.begin(), data.end());
    std::ofstream(p, std::ios::binary) << b;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    std::filesystem::path const dir = argv[1];
    std::filesystem::create_directories(dir);
    lm::generator g(1);
    float_net f;
    f.initialize(g);
    lm::save(f, dir / "float_net.safetensors");
    lm::save(f, dir / "float_net_self_test.safetensors", {.self_test_input = lm::rand<lm::dyn, 2>(2, g)});
    double_net d;
    d.initialize(g);
    lm::save(d, dir / "double_net_f32.safetensors", {.dtype = lm::io::dtype::f32, .metadata = {{"note", "seed"}}});
    lm::share(d, "1.weight", "0.weight");
    lm::save(d, dir / "double_net_tied_self_test.safetensors", {.self_test_input = lm::randn<lm::dyn, 2>(1, g)});
    // As PyTorch writes: no lamina metadata; F16 and BF16 values.
    write(dir / "torch_style_f16.safetensors",
          R"({"0.weight":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},"0.bias":{"dtype":"BF16","shape":[3],)"
          R"("data_offsets":[12,18]},"1.weight":{"dtype":"F64","shape":[3,1],"data_offsets":[18,42]},)"
          R"("1.bias":{"dtype":"F32","shape":[1],"data_offsets":[42,46]},"__metadata__":{"format":"pt"}})",
          std::vector<unsigned char>(46, 0x3c));
    // Broken: overlapping tensors, an unknown dtype, an overflowing shape, a duplicate key.
    write(dir / "bad_overlap.safetensors",
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          std::vector<unsigned char>(12, 0));
    write(dir / "bad_dtype.safetensors", R"({"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}})",
          std::vector<unsigned char>(4, 0));
    write(dir / "bad_overflow.safetensors",
          R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", {});
    write(dir / "bad_duplicate.safetensors",
          R"({"a":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})",
          std::vector<unsigned char>(8, 0));
    return 0;
}
