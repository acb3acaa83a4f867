// Mini-batches over a labeled dataset, reshuffled each epoch (PyTorch's DataLoader).
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "lamina/error.hpp"
#include "lamina/random.hpp"
#include "lamina/shape.hpp"
#include "lamina/tensor.hpp"

namespace lamina {

struct loader_options {
    std::size_t batch_size = 1;
    bool shuffle = false;
    /// The loader owns its generator: its order depends on this seed and the epoch alone,
    /// not on what else drew from a shared generator in between.
    std::uint64_t seed = 0;
};

/// Yields batches of rows of `images` with their `labels`, in a new order each epoch when
/// shuffling; the last batch is smaller when the batch size does not divide the sample count
/// (drop_last=False). Refers to the images and labels, which must outlive it. Each batch is
/// gathered into one buffer, reused: a batch stays valid until the next is gathered.
///
///     lamina::data_loader loader(train.images, train.labels, {.batch_size = 64, .shuffle = true, .seed = 1});
///     for (int e = 0; e < epochs; ++e)
///         for (auto [x, y] : loader.epoch()) ...
template <class S>
    requires S::dynamic
class data_loader {
public:
    struct batch {
        tensor_view<float const, S> x;
        std::span<std::int32_t const> y;
    };

    data_loader(tensor_view<float const, S> images, std::span<std::int32_t const> labels, loader_options opt)
        : images_(images), labels_(labels), opt_(opt), gen_(opt.seed), order_(labels.size()),
          x_(std::min(opt.batch_size, labels.size())), y_(x_.batch()) {
        if (images.batch() != labels.size())
            throw shape_error("lamina::data_loader: " + std::to_string(images.batch()) + " images but " +
                              std::to_string(labels.size()) + " labels; expected one label per image");
        if (opt.batch_size == 0) throw error("lamina::data_loader: the batch size is 0; expected at least 1");
        std::iota(order_.begin(), order_.end(), std::size_t{0});
    }
    /// A loader over a temporary would dangle: keep the dataset in a variable. (A template, so
    /// that only a tensor itself picks it, not a view that converts to one.)
    template <class U>
        requires std::same_as<U, tensor<float, S>>
    data_loader(U&&, std::span<std::int32_t const>, loader_options) = delete;

    /// Batches per epoch.
    std::size_t size() const noexcept { return (samples() + opt_.batch_size - 1) / opt_.batch_size; }
    std::size_t samples() const noexcept { return labels_.size(); }
    std::size_t batch_size() const noexcept { return opt_.batch_size; }
    /// The sample indices of the current epoch, in order.
    std::span<std::size_t const> order() const noexcept { return order_; }

    /// Draws the next epoch's order when shuffling: a Fisher-Yates shuffle of the identity,
    /// from generator::uniform() alone, so that every standard library gives the same order.
    void begin_epoch() {
        if (!opt_.shuffle) return;
        std::iota(order_.begin(), order_.end(), std::size_t{0});
        for (std::size_t i = order_.size(); i > 1; --i) {
            // floor(u * i) with 53 random bits: bias below i / 2^53; the min guards rounding.
            auto const j = std::min(static_cast<std::size_t>(gen_.uniform() * static_cast<double>(i)), i - 1);
            std::swap(order_[i - 1], order_[j]);
        }
    }

    /// Gathers batch `i` of the current epoch into the buffer.
    batch gather(std::size_t i) {
        if (i >= size())
            throw error("lamina::data_loader::gather: batch " + std::to_string(i) + " is past the end of an epoch of " +
                        std::to_string(size()) + " batches");
        std::size_t const first = i * opt_.batch_size, n = std::min(opt_.batch_size, samples() - first);
        for (std::size_t k = 0; k < n; ++k) {
            std::size_t const s = order_[first + k];
            // The next sample sits anywhere in a dataset larger than the caches, where the
            // hardware cannot guess it: its lines are requested while this one is copied. A
            // shuffled epoch of 60000 × 784 floats in batches of 256, shuffle included (one Zen 5
            // core): 21-22 ms without the requests, 15-17 ms with them.
            if (k + 1 < n) {
                auto const* next = reinterpret_cast<char const*>(images_.data() + order_[first + k + 1] * S::inner);
                for (std::size_t b = 0; b < S::inner * sizeof(float); b += 64) __builtin_prefetch(next + b);
            }
            std::copy_n(images_.data() + s * S::inner, S::inner, x_.data() + k * S::inner);
            y_[k] = labels_[s];
        }
        return {{x_.data(), n}, {y_.data(), n}};
    }

    class iterator {
    public:
        using value_type = batch;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        batch operator*() const { return l_->gather(i_); }
        iterator& operator++() {
            ++i_;
            return *this;
        }
        void operator++(int) { ++i_; }
        friend bool operator==(iterator const& it, std::default_sentinel_t) { return it.i_ == it.l_->size(); }

    private:
        friend class data_loader;
        explicit iterator(data_loader* l) : l_(l) {}
        data_loader* l_ = nullptr;
        std::size_t i_ = 0;
    };

    /// One pass over the data, begun with begin_epoch(): iterate it exactly once.
    class epoch_range {
    public:
        iterator begin() const { return iterator(l_); }
        std::default_sentinel_t end() const { return {}; }
        std::size_t size() const noexcept { return l_->size(); }

    private:
        friend class data_loader;
        explicit epoch_range(data_loader* l) : l_(l) {}
        data_loader* l_;
    };

    /// Makes the next epoch() the one after `done` epochs, in the order an uninterrupted run
    /// draws it (the seeded generator replays the shuffles): what resuming from a checkpoint
    /// needs. set_epoch(0) starts over.
    void set_epoch(std::size_t done) {
        gen_ = generator(opt_.seed);
        for (std::size_t e = 0; e < done; ++e) begin_epoch();
    }

    /// Starts a new epoch (reshuffling when asked to) and returns its batches. The loader
    /// itself is not a range, so that a loop cannot silently repeat the previous order.
    epoch_range epoch() {
        begin_epoch();
        return epoch_range(this);
    }

private:
    tensor_view<float const, S> images_;
    std::span<std::int32_t const> labels_;
    loader_options opt_;
    generator gen_;
    std::vector<std::size_t> order_;
    tensor<float, S> x_;  // sized once for a full batch: gathering never allocates
    std::vector<std::int32_t> y_;
};

template <class S>
data_loader(tensor<float, S> const&, std::span<std::int32_t const>, loader_options) -> data_loader<S>;
template <class S>
data_loader(tensor_view<float, S>, std::span<std::int32_t const>, loader_options) -> data_loader<S>;

}  // namespace lamina
