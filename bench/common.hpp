// Shared by every benchmark program: the machine's measured limits, double-precision
// references, the correctness gate, and the summary tables printed after Google Benchmark.
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#if defined(__linux__)
#include <unistd.h>
#endif
#include <xsimd/xsimd.hpp>

#include <lamina/random.hpp>
#include <lamina/threads.hpp>

namespace bench {

// ---------------------------------------------------------------------------------------
// Machine limits, measured once per program so that "% of peak" refers to this run.

/// The threads every implementation runs on (`--threads=N`, default 1): lamina's and each
/// peer's own setting, and the cores the limits below are measured on.
inline unsigned& threads() {
    static unsigned n = 1;
    return n;
}

struct machine {
    double fma_gflops = 0;     // threads() cores, the arch this program is compiled for
    double triad_gbytes = 0;   // threads() cores, 2 reads + 1 write over 256 MiB arrays
};

// f(i) for i in [0, threads()) at once, on lamina's pool (which set_num_threads sized).
template <class F>
void on_every_thread(F&& f) {
    if (threads() == 1) f(std::size_t{0});
    else lamina::detail::parallel_for(threads(), f);
}

template <class F>
double best_seconds(int reps, F&& f) {
    double best = 1e300;
    for (int i = 0; i < reps; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        f();
        std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
        best = std::min(best, d.count());
    }
    return best;
}

// 12 independent chains hide the FMA latency (4-5 cycles) behind 2 FMA ports, and still
// leave registers for the two constants on a 16-register ISA. Many short trials, best
// kept: on a shared machine some of them run undisturbed.
inline double measure_fma_gflops() {
    using V = xsimd::batch<float>;
    constexpr int chains = 12;
    constexpr long iters = 1'000'000;
    V m(0.9999999f), a(1e-7f);  // converges: no overflow, no denormals
    benchmark::DoNotOptimize(m);  // opaque, so nothing is folded at compile time; nothing
    benchmark::DoNotOptimize(a);  // inside the loop, which would force the chains to memory
    double const s = best_seconds(60, [&] {
        std::atomic<unsigned> arrived{0};
        on_every_thread([&](std::size_t) {  // every core runs the whole loop, all at once
            arrived.fetch_add(1);
            while (arrived.load() < threads()) lamina::detail::cpu_relax();  // a worker may wake late
            V acc[chains];
            for (int c = 0; c < chains; ++c) acc[c] = V(1.0f + 0.01f * static_cast<float>(c));
            for (long i = 0; i < iters; ++i)
                for (int c = 0; c < chains; ++c) acc[c] = xsimd::fma(acc[c], m, a);
            float sum = 0;
            for (auto const& v : acc) sum += xsimd::hadd(v);
            benchmark::DoNotOptimize(sum);
        });
    });
    return 2.0 * V::size * chains * static_cast<double>(iters) * threads() / s * 1e-9;
}

inline double measure_triad_gbytes() {
    constexpr std::size_t n = (std::size_t{256} << 20) / sizeof(float);
    std::vector<float> a(n, 0.f), b(n, 1.f), c(n, 2.f);  // touched: no page faults in the timing
    float* __restrict pa = a.data();
    float const* __restrict pb = b.data();
    float const* __restrict pc = c.data();
    float const s = 0.5f;
    std::size_t const part = n / threads();  // 256 MiB divides by any small count
    double const t = best_seconds(10, [&] {
        on_every_thread([&](std::size_t w) {
            for (std::size_t i = w * part; i < (w + 1) * part; ++i) pa[i] = pb[i] + s * pc[i];
        });
        benchmark::ClobberMemory();
    });
    benchmark::DoNotOptimize(pa[n / 2]);
    return 12.0 * static_cast<double>(n) / t * 1e-9;  // write-allocate traffic not counted
}

// ---------------------------------------------------------------------------------------
// Inputs and references.

/// n floats uniform in [lo, hi), reproducible from the seed.
inline std::vector<float> uniform(std::size_t n, double lo, double hi, std::uint64_t seed) {
    lamina::generator g(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(g.uniform(lo, hi));
    return v;
}

/// The answer in double, and the largest error a correct float implementation may make.
struct reference {
    std::vector<double> y;
    double tol = 0;
};

/// relu(X·W + b), X (M×K), W (K×N) row-major. The tolerance is the worst-case bound of any
/// summation order, (K+2)·u·max(|b| + Σ|x·w|), so reordering peers pass and wrong ones don't.
inline reference dense_relu_ref(std::vector<float> const& X, std::vector<float> const& W, std::vector<float> const& b,
                                std::size_t M, std::size_t K, std::size_t N) {
    reference r;
    r.y.assign(M * N, 0.0);
    std::vector<double> mag(N);
    double scale = 0;
    for (std::size_t i = 0; i < M; ++i) {
        double* y = &r.y[i * N];
        for (std::size_t j = 0; j < N; ++j) y[j] = b[j], mag[j] = std::abs(b[j]);
        for (std::size_t k = 0; k < K; ++k) {
            double const x = X[i * K + k];
            for (std::size_t j = 0; j < N; ++j) {
                y[j] += x * W[k * N + j];
                mag[j] += std::abs(x * W[k * N + j]);
            }
        }
        for (std::size_t j = 0; j < N; ++j) {
            y[j] = std::max(y[j], 0.0);
            scale = std::max(scale, mag[j]);
        }
    }
    r.tol = static_cast<double>(K + 2) * 0x1p-24 * scale;
    return r;
}

/// y - mean(y) over every element. A float implementation's mean may be off by about 1e-6
/// relative (float accumulators over millions of elements); allow ten times that.
inline reference center_ref(reference r) {
    double s = 0, amax = 0;
    for (double v : r.y) s += v, amax = std::max(amax, std::abs(v));
    double const m = s / static_cast<double>(r.y.size());
    for (double& v : r.y) v -= m;
    r.tol += 1e-5 * amax;
    return r;
}

inline reference center_ref(std::vector<float> const& x) {
    return center_ref(reference{std::vector<double>(x.begin(), x.end()), 0.0});
}

// ---------------------------------------------------------------------------------------
// Workloads and implementations: checked once, then registered with Google Benchmark.

enum class metric { flops, bytes };

struct workload {
    std::string name;      // benchmark names are name + "/" + impl
    std::string formula;   // printed above the table
    metric kind;
    double work;           // FLOP or bytes per call
    reference ref;
    std::string baseline = "lamina_fused";
    std::string title = {};  // the README table's row label (the name when empty)
};

struct result {
    std::string impl;
    double err = 0;
    std::vector<double> ns;      // real time, one per repetition
    std::vector<double> cpu_ns;  // CPU time: well below ns when other processes took the core
};

struct entry {
    workload w;
    std::vector<result> results;
};

inline std::deque<entry>& entries() {
    static std::deque<entry> e;  // a deque: references stay valid as workloads are added
    return e;
}
inline std::map<std::string, result*>& by_name() {
    static std::map<std::string, result*> m;
    return m;
}

inline entry& add_workload(workload w) {
    w.ref.y.shrink_to_fit();
    return entries().emplace_back(entry{std::move(w), {}});
}

/// Runs fn once, compares its output (fn returns a pointer to it) with the reference and
/// aborts on a mismatch; then registers fn's repeated calls as a benchmark.
template <class F>
void add(entry& e, std::string impl, F fn) {
    auto const& ref = e.w.ref;
    float const* y = fn();
    double err = 0;
    for (std::size_t i = 0; i < ref.y.size(); ++i) {
        double const d = std::abs(static_cast<double>(y[i]) - ref.y[i]);
        if (!(d <= err)) err = std::isnan(d) ? INFINITY : d;
    }
    if (!(err <= ref.tol)) {
        std::fprintf(stderr, "%s/%s: WRONG RESULT, max |y - y_ref| = %.3g > tolerance %.3g\n", e.w.name.c_str(),
                     impl.c_str(), err, ref.tol);
        std::abort();
    }
    // Pick a display unit from one warm call.
    double const t = best_seconds(1, [&] { benchmark::DoNotOptimize(fn()); });
    auto const unit = t < 1e-5 ? benchmark::kNanosecond : t < 1e-2 ? benchmark::kMicrosecond : benchmark::kMillisecond;

    std::string const name = e.w.name + "/" + impl;
    e.results.push_back({std::move(impl), err, {}, {}});
    by_name()[name] = nullptr;  // bound once every result of this entry has its address
    benchmark::RegisterBenchmark(name.c_str(), [fn](benchmark::State& st) mutable {
        for (auto _ : st) {
            float const* p = fn();
            benchmark::DoNotOptimize(p);
            benchmark::ClobberMemory();
        }
    })->Unit(unit);
}

/// Stashes each run's time per call for the summary; shows the usual console output
/// (only the aggregates when there are repetitions).
class reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(std::vector<Run> const& runs) override {
        std::vector<Run> shown;
        for (auto const& r : runs) {
            if (r.run_type == Run::RT_Iteration && !r.error_occurred) {
                if (auto it = by_name().find(r.benchmark_name()); it != by_name().end() && it->second) {
                    double const per_call = 1e9 / static_cast<double>(r.iterations);
                    it->second->ns.push_back(r.real_accumulated_time * per_call);
                    it->second->cpu_ns.push_back(r.cpu_accumulated_time * per_call);
                }
            }
            if (r.run_type == Run::RT_Aggregate || r.repetitions <= 1) shown.push_back(r);
        }
        if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
    }
};

// ---------------------------------------------------------------------------------------
// Summary.

inline std::string group_digits(double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.0f", v);
    std::string s = b, out;
    int const n = static_cast<int>(s.size());
    for (int i = 0; i < n; ++i) {
        out += s[static_cast<std::size_t>(i)];
        if ((n - i - 1) % 3 == 0 && i + 1 < n) out += ',';
    }
    return out;
}

inline std::string format_ns(double ns) {
    char b[64];
    if (ns < 100) std::snprintf(b, sizeof b, "%.2f", ns);
    else if (ns < 1000) std::snprintf(b, sizeof b, "%.1f", ns);
    else return group_digits(ns);
    return b;
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::size_t const n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

inline double cv(std::vector<double> const& v) {
    if (v.size() < 2) return NAN;
    double m = 0, q = 0;
    for (double x : v) m += x;
    m /= static_cast<double>(v.size());
    for (double x : v) q += (x - m) * (x - m);
    return std::sqrt(q / static_cast<double>(v.size() - 1)) / m;
}

/// A markdown table, columns padded to their widest cell; the first column left-aligned.
inline void print_table(std::vector<std::vector<std::string>> const& rows) {
    std::vector<std::size_t> w(rows.front().size(), 0);
    for (auto const& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
    auto line = [&](std::vector<std::string> const& r) {
        std::string s = "|";
        for (std::size_t i = 0; i < r.size(); ++i) {
            std::size_t const pad = w[i] - r[i].size();
            s.append(i == 0 ? 1 : 1 + pad, ' ').append(r[i]).append(i == 0 ? 1 + pad : 1, ' ').append("|");
        }
        std::printf("%s\n", s.c_str());
    };
    line(rows.front());
    std::string rule = "|";
    for (std::size_t i = 0; i < w.size(); ++i) rule += std::string(w[i] + 2, '-') + "|";
    std::printf("%s\n", rule.c_str());
    for (std::size_t i = 1; i < rows.size(); ++i) line(rows[i]);
}

inline std::string fmt(char const* f, double v) {
    if (std::isnan(v)) return "-";
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

inline void print_summary(machine const& mc) {
    std::printf("\n==== Summary, %u thread%s: median of repetitions. %% peak: GEMM-like vs the FMA peak %.1f GFLOP/s, "
                "centering vs the triad %.1f GB/s.\n"
                "on-cpu = CPU time / real time (below ~95%%: another process took the core). "
                "vs X = time / X's time (> 1: X is faster).\n",
                threads(), threads() == 1 ? "" : "s", mc.fma_gflops, mc.triad_gbytes);
    for (auto const& e : entries()) {
        bool const flops = e.w.kind == metric::flops;
        double base = NAN;
        for (auto const& r : e.results)
            if (r.impl == e.w.baseline && !r.ns.empty()) base = median(r.ns);
        std::vector<std::vector<std::string>> rows{
            {"impl", "ns/call", flops ? "GFLOP/s" : "GB/s", "% peak", "cv", "on-cpu", "err", "vs " + e.w.baseline}};
        for (auto const& r : e.results) {
            if (r.ns.empty()) continue;  // filtered out
            double const ns = median(r.ns);
            double const rate = e.w.work / ns;  // GFLOP/s or GB/s
            double const peak = flops ? mc.fma_gflops : mc.triad_gbytes;
            rows.push_back({r.impl, format_ns(ns), fmt("%.1f", rate), fmt("%.1f", 100 * rate / peak),
                            fmt("%.1f%%", 100 * cv(r.ns)), fmt("%.0f%%", 100 * median(r.cpu_ns) / ns),
                            fmt("%.1e", r.err), fmt("%.2f", ns / base)});
        }
        if (rows.size() == 1) continue;
        std::printf("\n### %s   %s\n\n", e.w.name.c_str(), e.w.formula.c_str());
        print_table(rows);
    }
    std::fflush(stdout);
}

inline std::vector<std::string>& notes() {
    static std::vector<std::string> n;
    return n;
}
/// A line for the header (library versions and configurations).
inline void note(std::string s) { notes().push_back(std::move(s)); }

inline std::string compiler() {
#if defined(__clang__)
    std::string s = std::string("clang++ ") + __clang_version__;
#elif defined(__GNUC__)
    std::string s = std::string("g++ ") + __VERSION__;
#else
    std::string s = "unknown compiler";
#endif
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
}

// ---------------------------------------------------------------------------------------
// The README's table (`--readme-rows=FILE`, assembled by bench/readme-table): one row per
// workload, lamina's time beside each peer's, the fastest in bold.

/// 3 significant digits and a unit: 17.5 ns, 96.7 µs, 6.92 ms, 4.31 s.
inline std::string format_time(double ns) {
    char const* unit = "ns";
    double v = ns;
    if (v >= 1e9) v /= 1e9, unit = "s";
    else if (v >= 1e6) v /= 1e6, unit = "ms";
    else if (v >= 1e3) v /= 1e3, unit = "µs";
    char b[64];
    std::snprintf(b, sizeof b, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, unit);
    return b;
}

/// A boolean flag's value as Google Benchmark reads it: false for 0, f, n, no, off and false in
/// any case, true otherwise.
inline bool flag_is_true(std::string_view v) {
    std::string s(v);
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return !(s == "0" || s == "f" || s == "n" || s == "no" || s == "off" || s == "false");
}

/// Repetitions of each benchmark, and whether they are interleaved (the run's flags).
inline int& repetitions() {
    static int n = 1;
    return n;
}
inline bool& interleaved() {
    static bool on = false;
    return on;
}

/// The README's columns: lamina's own variants in one cell, then each peer's (impl names).
struct readme_column {
    char const* header;
    std::vector<std::pair<char const*, char const*>> impls;  // impl, its label in the cell
};
inline std::vector<readme_column> const& readme_columns() {
    static std::vector<readme_column> const c{
        {"lamina", {{"lamina_fused", ""}, {"lamina", ""}, {"lamina_static", "fixed batch"}, {"lamina_user", "your layers"}}},
        {"Eigen", {{"eigen_fixed", "fixed"}, {"eigen_dyn", "dynamic"}, {"eigen", ""}}},
        {"OpenBLAS", {{"openblas", ""}}},
        {"LIBXSMM", {{"libxsmm", ""}}},
        {"oneDNN", {{"onednn", ""}}},
        {"libtorch", {{"libtorch", ""}}},
        {"xtensor", {{"xtensor", ""}}},
        {"KissFFT", {{"kissfft", ""}}},
    };
    return c;
}

/// Appends a caption line ("caption: ..."), the table's header ("header: ...", "rule: ...") and
/// one markdown row per workload to `path`.
inline void write_readme_rows(machine const& mc, std::string const& path) {
    std::FILE* f = std::fopen(path.c_str(), "a");
    if (!f) {
        std::fprintf(stderr, "--readme-rows: cannot open %s for appending\n", path.c_str());
        std::exit(1);
    }
    std::fprintf(f,
                 "caption: %s, xsimd %s, %u thread%s, measured FMA peak %.1f GFLOP/s, triad %.1f GB/s. Median of %d "
                 "repetition%s%s\n",
                 compiler().c_str(), xsimd::default_arch::name(), threads(), threads() == 1 ? "" : "s",
                 mc.fma_gflops, mc.triad_gbytes, repetitions(), repetitions() == 1 ? "" : "s",
                 interleaved() ? ", interleaved at random with every other implementation's" : "");
    std::string header = "header: | workload |", rule = "rule: |---|";
    for (auto const& c : readme_columns()) header.append(" ").append(c.header).append(" |"), rule += "---|";
    std::fprintf(f, "%s\n%s\n", header.c_str(), rule.c_str());
    for (auto const& e : entries()) {
        auto time_of = [&](char const* impl) -> double {
            for (auto const& r : e.results)
                if (r.impl == impl && !r.ns.empty()) return median(r.ns);
            return NAN;
        };
        double fastest = INFINITY;  // over every cell's figures
        for (auto const& c : readme_columns())
            for (auto const& [impl, label] : c.impls)
                if (double const t = time_of(impl); t < fastest) fastest = t;
        if (!std::isfinite(fastest)) continue;  // filtered out
        std::string row = "| ";
        row.append(e.w.title.empty() ? e.w.name : e.w.title).append(" |");
        for (auto const& c : readme_columns()) {
            std::string cell;
            for (auto const& [impl, label] : c.impls) {
                double const t = time_of(impl);
                if (std::isnan(t)) continue;
                std::string fig = format_time(t);
                if (t == fastest) fig = std::string("**").append(fig).append("**");
                double const rate = e.w.work / t, peak = e.w.kind == metric::flops ? mc.fma_gflops : mc.triad_gbytes;
                // % of peak where it means something: products of at least 10 MFLOP, and
                // centering past the caches (the triad's bandwidth is DRAM's).
                bool const big = e.w.kind == metric::flops ? e.w.work >= 1e7 : e.w.work >= 1e8;
                if (cell.empty() && big) fig += fmt(" (%.0f %% of peak)", 100 * rate / peak);
                if (!cell.empty()) cell += "; ";
                if (*label) cell.append(label).append(": ");
                cell += fig;
            }
            row.append(" ").append(cell.empty() ? std::string("–") : cell).append(" |");
        }
        std::fprintf(f, "%s\n", row.c_str());
    }
    if (std::fclose(f) != 0) {
        std::fprintf(stderr, "--readme-rows: cannot write %s\n", path.c_str());
        std::exit(1);
    }
}

/// Removes every `--name=VALUE` from args (lamina's own flags, which Google Benchmark would
/// refuse) and returns the last VALUE, or "" when there is none.
inline std::string take_flag(std::vector<char*>& args, std::string const& name) {
    std::string const prefix = "--" + name + "=";
    std::string value;
    for (auto it = args.begin(); it != args.end();) {
        if (std::string const a = *it; a.rfind(prefix, 0) == 0) {
            value = a.substr(prefix.size());
            it = args.erase(it);
        } else {
            ++it;
        }
    }
    return value;
}

/// `--threads=N`: 1 to 256, 1 when absent.
inline unsigned parse_threads(char const* program, std::string const& v) {
    if (v.empty()) return 1;
    char* end = nullptr;
    long const n = std::strtol(v.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 256) {
        std::fprintf(stderr, "%s: --threads takes a count from 1 to 256, got '%s'\n", program, v.c_str());
        std::exit(1);
    }
    return static_cast<unsigned>(n);
}

/// The program's main: parses flags (short defaults, overridable; `--threads=N` runs lamina and
/// every peer that threads on N threads; `--readme-rows=FILE` appends the README's rows to
/// FILE), measures the machine, registers and checks the workloads, runs them and prints the
/// summary.
/// Puts every implementation's large arrays in transparent huge pages, as lamina asks for its
/// own (detail::aligned_alloc): glibc's malloc does the same for everyone once its tunable says
/// so, and it reads the tunable at start, so the program starts itself again with it set. On
/// one 2-core virtual machine, Eigen's centering of 8192×8192 timed 150-510 ms in some runs in
/// 4 KiB pages, and 29-31 ms in huge ones (lamina's: 28-30 ms either way).
inline void malloc_in_huge_pages(char** argv) {
#if defined(__linux__) && defined(__GLIBC__)
    constexpr std::string_view tunable = "glibc.malloc.hugetlb=1";
    char const* set = std::getenv("GLIBC_TUNABLES");
    if (set && std::string_view(set).find("glibc.malloc.hugetlb=") != std::string_view::npos) return;
    std::string const value = set && *set ? std::string(set) + ":" + std::string(tunable) : std::string(tunable);
    if (::setenv("GLIBC_TUNABLES", value.c_str(), 1) != 0) return;
    ::execv("/proc/self/exe", argv);  // returns only if it failed: then the run goes on as it is
#else
    (void)argv;
#endif
}

template <class Register>
int run(int argc, char** argv, char const* title, Register&& register_all) {
    malloc_in_huge_pages(argv);
    // Defaults first, so that the same flags given on the command line win.
    std::vector<char*> args{argv[0]};
    char min_time[] = "--benchmark_min_time=0.05";
    char reps[] = "--benchmark_repetitions=7";
    // Each implementation's repetitions spread over the whole run, in random order: a busy
    // spell of a shared machine then slows every implementation alike, not one.
    char interleave[] = "--benchmark_enable_random_interleaving=true";
    args.push_back(min_time);
    args.push_back(reps);
    args.push_back(interleave);
    // The console already shows only the aggregates of repeated runs (reporter), and the summary
    // needs every repetition, which Google Benchmark withholds from the reporter under
    // --benchmark_report_aggregates_only or --benchmark_display_aggregates_only: both are dropped.
    for (int i = 1; i < argc; ++i) {
        std::string_view const v = argv[i];
        bool const aggregates_only = v.rfind("--benchmark_report_aggregates_only", 0) == 0 ||
                                     v.rfind("--benchmark_display_aggregates_only", 0) == 0;
        if (!aggregates_only) args.push_back(argv[i]);
    }
    for (char const* a : args) {  // the last one counts, as for Google Benchmark
        std::string_view const v = a;
        if (v.rfind("--benchmark_repetitions=", 0) == 0) repetitions() = std::max(1, std::atoi(a + 24));
        else if (v == "--benchmark_enable_random_interleaving") interleaved() = true;
        else if (v.rfind("--benchmark_enable_random_interleaving=", 0) == 0) interleaved() = flag_is_true(v.substr(39));
    }
    threads() = parse_threads(argv[0], take_flag(args, "threads"));
    std::string const readme_rows = take_flag(args, "readme-rows");
    lamina::set_num_threads(threads());
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0) load[0] = NAN;
    machine mc;
    mc.fma_gflops = measure_fma_gflops();
    mc.triad_gbytes = measure_triad_gbytes();
    std::printf("%s\n", title);
    std::printf("compiler: %s, xsimd arch %s (%zu float lanes)\n", compiler().c_str(), xsimd::default_arch::name(),
                xsimd::batch<float>::size);
    std::printf("load average at start: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    std::printf("threads: %u (lamina::set_num_threads and each peer's own setting)\n", threads());
    std::printf("measured: FMA peak %.1f GFLOP/s (%u core%s, 12 chains, 2 FLOP x %zu lanes per FMA); "
                "triad %.1f GB/s (%u core%s, 256 MiB arrays, 12 bytes per element)\n",
                mc.fma_gflops, threads(), threads() == 1 ? "" : "s", xsimd::batch<float>::size, mc.triad_gbytes,
                threads(), threads() == 1 ? "" : "s");

    register_all();
    for (auto& e : entries())
        for (auto& r : e.results) by_name()[e.w.name + "/" + r.impl] = &r;
    for (auto const& s : notes()) std::printf("%s\n", s.c_str());
    std::fflush(stdout);

    reporter rep;
    benchmark::RunSpecifiedBenchmarks(&rep);
    // The limits again after the runs, the larger of each kept: on a shared machine a core may
    // be taken while they are measured (one 2-thread run read a two-core FMA peak of 99 GFLOP/s,
    // one core's worth, and its GEMM then ran at 126 % of it).
    machine const after{measure_fma_gflops(), measure_triad_gbytes()};
    std::printf("\nmeasured again after the runs: FMA peak %.1f GFLOP/s, triad %.1f GB/s (%% of peak below: the larger "
                "of each)\n",
                after.fma_gflops, after.triad_gbytes);
    mc.fma_gflops = std::max(mc.fma_gflops, after.fma_gflops);
    mc.triad_gbytes = std::max(mc.triad_gbytes, after.triad_gbytes);
    print_summary(mc);
    if (!readme_rows.empty()) write_readme_rows(mc, readme_rows);
    if (getloadavg(load, 3) >= 0) std::printf("\nload average at end: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    benchmark::Shutdown();
    return 0;
}

}  // namespace bench
