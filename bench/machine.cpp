// Prints this machine's measured limits, for scripts that report "% of peak"
// (bench/train_vs_pytorch): one line each, "fma_gflops <value>" and "triad_gbytes <value>".
//   bench_machine [--fma-only] [--threads=N]   (N cores at once; 1 by default)
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"

int main(int argc, char** argv) {
    std::vector<char*> args(argv, argv + argc);
    bench::threads() = bench::parse_threads(argv[0], bench::take_flag(args, "threads"));
    lamina::set_num_threads(bench::threads());
    bool const fma_only = args.size() > 1 && std::string(args[1]) == "--fma-only";
    std::printf("fma_gflops %.2f\n", bench::measure_fma_gflops());
    if (!fma_only) std::printf("triad_gbytes %.2f\n", bench::measure_triad_gbytes());
}
