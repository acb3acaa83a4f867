// Losses and metrics. Losses are expressions: they evaluate to one number and carry their
// gradient back like any other node.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>

#include "lamina/error.hpp"
#include "lamina/expr/elementwise.hpp"
#include "lamina/expr/reduce.hpp"

namespace lamina {

/// Mean over the batch of -log softmax(logits)[label] (torch.nn.CrossEntropyLoss), fused: one
/// pass for the loss (log-sum-exp after subtracting each row's maximum, so logits of 1e4 are
/// fine) and one for its gradient (softmax - onehot) / batch.
template <class A>
struct cross_entropy_expr : expr_base<cross_entropy_expr<A>> {
    using value_type = typename A::value_type;
    using shape_type = shape<>;
    using SA = typename A::shape_type;
    static_assert(SA::rank == 2, "lamina::cross_entropy: the logits must be (batch, classes)");
    static constexpr std::size_t classes = SA::cols;
    static constexpr int matmuls = A::matmuls;
    static constexpr bool fusable = false;
    static constexpr bool flat = true;

    A a;
    std::span<std::int32_t const> labels;
    value_type const* logits = nullptr;
    // Each row's maximum and log Σ exp(z - max), kept apart (and in double) for backward: their
    // sum rounded to float would lose the loss' digits when the logits are large.
    double* row_max = nullptr;
    double* log_sum = nullptr;
    value_type v{};

    cross_entropy_expr(A x, std::span<std::int32_t const> y) : a(std::move(x)), labels(y) {
        if (labels.size() != a.batch())
            throw shape_error("lamina::cross_entropy: " + std::to_string(labels.size()) + " labels for " +
                              std::to_string(a.batch()) + " rows of logits");
        for (std::size_t r = 0; r < labels.size(); ++r)
            if (labels[r] < 0 || static_cast<std::size_t>(labels[r]) >= classes)
                throw error("lamina::cross_entropy: label " + std::to_string(labels[r]) + " at row " + std::to_string(r) +
                            " is outside [0, " + std::to_string(classes) + ")");
    }
    std::size_t batch() const noexcept { return 1; }
    void prepare(detail::workspace& ws, auto) {
        logits = detail::materialize<value_type>(a, ws);  // prepares a itself when it is not a leaf
        std::size_t const rows = a.batch();
        row_max = ws.alloc<double>(rows);
        log_sum = ws.alloc<double>(rows);
        double total = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            value_type const* z = logits + r * classes;
            value_type m = z[0];
            for (std::size_t j = 1; j < classes; ++j) m = z[j] > m ? z[j] : m;
            double s = 0;
            for (std::size_t j = 0; j < classes; ++j) s += std::exp(static_cast<double>(z[j]) - m);
            row_max[r] = m;
            log_sum[r] = std::log(s);
            total += (row_max[r] - static_cast<double>(z[labels[r]])) + log_sum[r];
        }
        v = static_cast<value_type>(rows ? total / static_cast<double>(rows) : 0.0);
    }
    template <class V, class Ctx>
    V get(Ctx const&, std::size_t, std::size_t) const noexcept {
        return V(v);
    }
    bool needs_grad() const noexcept { return a.needs_grad(); }
    template <class G>
    void backprop(G const& g, detail::workspace& ws) const {
        if (!a.needs_grad()) return;
        std::size_t const rows = a.batch();
        double const scale = static_cast<double>(g.template get<value_type>(detail::no_ctx{}, 0, 0)) / static_cast<double>(rows);
        value_type* d = ws.alloc<value_type>(rows * classes);
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t j = 0; j < classes; ++j) {
                double const p = std::exp((static_cast<double>(logits[r * classes + j]) - row_max[r]) - log_sum[r]);
                d[r * classes + j] = static_cast<value_type>(scale * (p - (static_cast<std::int64_t>(j) == labels[r])));
            }
        }
        a.backprop(leaf<value_type const, SA>(d, a.batch()), ws);
    }
};

/// Softmax cross-entropy of logits (batch, classes) against integer labels, averaged over
/// the batch: torch.nn.functional.cross_entropy.
template <operand X>
auto cross_entropy(X&& logits, std::span<std::int32_t const> labels) {
    auto a = as_expr(std::forward<X>(logits));
    return cross_entropy_expr<decltype(a)>(std::move(a), labels);
}

/// Mean squared error: the mean over every element of (prediction - target)².
template <operand X, operand Y>
auto mse_loss(X&& prediction, Y&& target) {
    return mean(square(std::forward<X>(prediction) - std::forward<Y>(target)));
}

/// The fraction of rows whose largest logit is at the label (ties: the first).
template <class T, class S>
double accuracy(tensor_view<T, S> logits, std::span<std::int32_t const> labels) {
    static_assert(S::rank == 2, "lamina::accuracy: the logits must be (batch, classes)");
    std::size_t const rows = logits.batch();
    if (labels.size() != rows)
        throw shape_error("lamina::accuracy: " + std::to_string(labels.size()) + " labels for " + std::to_string(rows) +
                          " rows of logits");
    std::size_t hits = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        T const* z = logits.data() + r * S::cols;
        std::size_t best = 0;
        for (std::size_t j = 1; j < S::cols; ++j)
            if (z[j] > z[best]) best = j;
        hits += static_cast<std::int64_t>(best) == labels[r];
    }
    return rows ? static_cast<double>(hits) / static_cast<double>(rows) : 0.0;
}
template <class T, class S>
double accuracy(tensor<T, S> const& logits, std::span<std::int32_t const> labels) {
    return accuracy(logits.view(), labels);
}
template <class T, class S>
double accuracy(tensor<T, S>& logits, std::span<std::int32_t const> labels) {
    return accuracy(std::as_const(logits).view(), labels);
}

}  // namespace lamina
