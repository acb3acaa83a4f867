// Seeded random numbers, identical on every platform (no std distributions).
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

namespace lamina {

/// A seeded source of uniform and normal numbers (PyTorch's torch.Generator).
class generator {
public:
    explicit generator(std::uint64_t seed = 0) : eng_(seed) {}
    void seed(std::uint64_t s) {
        eng_.seed(s);
        spare_ = false;
    }
    /// Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(eng_() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    /// Standard normal by the Box-Muller transform.
    double normal() {
        if (spare_) {
            spare_ = false;
            return spare_value_;
        }
        double u1 = 1.0 - uniform(), u2 = uniform();
        double r = std::sqrt(-2.0 * std::log(u1)), t = 2.0 * std::numbers::pi * u2;
        spare_value_ = r * std::sin(t);
        spare_ = true;
        return r * std::cos(t);
    }
    double normal(double mean, double stddev) { return mean + stddev * normal(); }

private:
    std::mt19937_64 eng_;
    bool spare_ = false;
    double spare_value_ = 0;
};

/// The generator used when none is given (torch's default generator).
inline generator& default_generator() {
    static generator g{0};
    return g;
}

/// Reseeds the default generator (torch.manual_seed).
inline void manual_seed(std::uint64_t s) { default_generator().seed(s); }

}  // namespace lamina
