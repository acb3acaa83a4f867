// What the runtime tests share: the sizes that reach both the SIMD body and the scalar tail,
// and comparisons that say where two sequences of numbers first differ.
#pragma once

#include <cmath>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <lamina/random.hpp>
#include <lamina/threads.hpp>
#include <xsimd/xsimd.hpp>

namespace lamina_test {

/// A GEMM epilogue: relu(acc + bias[j]), counting how often it sees each element (every
/// element exactly once, whatever the tiling or the thread count: tiles are disjoint).
template <class T>
struct bias_relu {
    T const* bias;
    std::size_t n;
    std::vector<int> seen;
    template <class V>
    V operator()(std::size_t r, std::size_t j, V acc) {
        if constexpr (std::is_arithmetic_v<V>) {
            ++seen[r * n + j];
            T const v = acc + bias[j];
            return v < T(0) ? T(0) : v;
        } else {
            for (std::size_t k = 0; k < V::size; ++k) ++seen[r * n + j + k];
            return xsimd::max(acc + V::load_unaligned(bias + j), V(T(0)));
        }
    }
};

/// Feature widths below, at and just past one and two vectors of float and double for every
/// x86 ISA from SSE2 to AVX-512, so each loop runs its SIMD body, its scalar tail, or both.
inline constexpr std::size_t widths[] = {1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 255, 256};
/// Batches (GEMM rows) below, at and past the 6-row micro-tile, and past the 4096-element block.
inline constexpr std::size_t batches[] = {1, 2, 5, 6, 7, 13, 64};

/// Calls f.template operator()<N>() for each N in widths: one instantiation per width.
template <class F>
void for_each_width(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (f.template operator()<widths[I]>(), ...);
    }(std::make_index_sequence<std::size(widths)>{});
}

/// The values of a float tensor (or any float range), to compare two outputs bit for bit.
template <class R>
std::vector<float> bits_of(R const& r) {
    return std::vector<float>(std::begin(r), std::end(r));
}

template <class R>
std::vector<double> to_doubles(R const& r) {
    return std::vector<double>(std::begin(r), std::end(r));
}

/// "" when each got[i] is within tol[i] of want[i] (NaN matches NaN); otherwise the first
/// index that is not, with both values, so that a failing CHECK says where and by how much.
template <class G, class W>
std::string differences_within(G const& got, W const& want, std::vector<double> const& tol) {
    auto const g = to_doubles(got), w = to_doubles(want);
    if (g.size() != w.size())
        return "got " + std::to_string(g.size()) + " elements, want " + std::to_string(w.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
        bool const ok = (std::isnan(g[i]) && std::isnan(w[i])) || std::abs(g[i] - w[i]) <= tol[i];
        if (!ok) {
            std::ostringstream os;
            os.precision(17);
            os << "element " << i << " of " << g.size() << ": got " << g[i] << ", want " << w[i]
               << " (tolerance " << tol[i] << ")";
            return os.str();
        }
    }
    return "";
}

/// The same with tolerance atol + rtol * |want[i]|; rtol = atol = 0 asks for equality.
template <class G, class W>
std::string differences(G const& got, W const& want, double rtol, double atol = 0.0) {
    auto const w = to_doubles(want);
    std::vector<double> tol(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) tol[i] = atol + rtol * std::abs(w[i]);
    return differences_within(got, w, tol);
}

/// Fills with integers in [lo, hi]: their sums and products are exact in float, so kernels
/// that add in different orders must still agree bit for bit.
template <class R>
void fill_integers(R& r, lamina::generator& g, int lo = -4, int hi = 4) {
    for (auto& x : r)
        x = static_cast<std::remove_reference_t<decltype(x)>>(lo + static_cast<int>(g.uniform() * (hi - lo + 1)));
}

/// Matches an exception whose what() contains every one of the given pieces.
class message_has : public Catch::MatcherBase<std::exception> {
public:
    message_has(std::initializer_list<std::string> parts) : parts_(parts) {}
    bool match(std::exception const& e) const override {
        std::string const what = e.what();
        for (auto const& p : parts_)
            if (what.find(p) == std::string::npos) return false;
        return true;
    }
    std::string describe() const override {
        std::string s = "has a message containing";
        for (auto const& p : parts_) s += " \"" + p + "\"";
        return s;
    }

private:
    std::vector<std::string> parts_;
};

/// Restores one thread when a test ends, however it ends.
struct threads_guard {
    ~threads_guard() { lamina::set_num_threads(1); }
};

/// A fresh directory under the system's temporary directory, removed with everything in it.
struct temp_dir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("lamina-test-" + std::to_string(std::random_device{}()));
    temp_dir() { std::filesystem::create_directories(path); }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;
    std::filesystem::path operator/(std::string const& name) const { return path / name; }
    std::size_t entries() const {
        return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(path), {}));
    }
};

}  // namespace lamina_test
