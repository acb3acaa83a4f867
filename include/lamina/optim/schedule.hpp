// Learning-rate schedules: the rate for an epoch, given the base rate (torch.optim.lr_scheduler).
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>

namespace lamina::optim {

/// StepLR: base · gamma^(epoch / step_size).
struct step_schedule {
    std::size_t step_size = 1;
    double gamma = 0.1;
    double operator()(double base, std::size_t epoch) const {
        return base * std::pow(gamma, static_cast<double>(epoch / (step_size ? step_size : 1)));
    }
};

/// CosineAnnealingLR: from base at epoch 0 down to min_lr at epoch total.
struct cosine_schedule {
    std::size_t total = 1;
    double min_lr = 0;
    double operator()(double base, std::size_t epoch) const {
        double const t = total ? static_cast<double>(epoch < total ? epoch : total) / static_cast<double>(total) : 1.0;
        return min_lr + (base - min_lr) * (1 + std::cos(std::numbers::pi * t)) / 2;
    }
};

}  // namespace lamina::optim
