// Prints this machine's measured single-core limits, for scripts that report "% of peak"
// (bench/train_vs_pytorch): one line each, "fma_gflops <value>" and "triad_gbytes <value>".
#include <cstdio>
#include <cstring>

#include "common.hpp"

int main(int argc, char** argv) {
    std::printf("fma_gflops %.2f\n", bench::measure_fma_gflops());
    if (argc < 2 || std::strcmp(argv[1], "--fma-only") != 0) std::printf("triad_gbytes %.2f\n", bench::measure_triad_gbytes());
}
