// A reusable arena for the intermediates of one evaluation.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "lamina/detail/aligned.hpp"

namespace lamina::detail {

/// Bump allocator: reset() before each evaluation, settle() after the last one of a call. Once
/// settled it owns a single block as large as the peak, so repeating the same evaluations
/// allocates nothing.
class workspace {
public:
    template <class T>
    T* alloc(std::size_t n) {
        std::size_t bytes = (n * sizeof(T) + alignment - 1) / alignment * alignment;
        if (blocks_.empty() || used_ + bytes > blocks_.back().size) {
            std::size_t sz = std::max<std::size_t>(bytes, 2 * total_);
            blocks_.push_back({aligned_alloc<std::byte>(sz), sz});
            total_ += sz;
            used_ = 0;
        }
        std::byte* p = blocks_.back().p.get() + used_;
        used_ += bytes;
        live_ += bytes;
        peak_ = std::max(peak_, live_);
        return reinterpret_cast<T*>(p);
    }
    void reset() {
        settle();
        used_ = 0;
        live_ = 0;
    }
    /// Merges the blocks a growing evaluation left into one of the peak size.
    void settle() {
        if (blocks_.size() > 1) merge();  // rare: the check stays inline in every call
    }
    /// While set, evaluations keep what a backward pass needs: a matmul's product is stored
    /// rather than fused into its consumer (one extra pass, next to the GEMM: cheap).
    bool recording = false;
    /// Bytes held (for tests that check reuse).
    std::size_t capacity() const noexcept { return total_; }
    std::size_t blocks() const noexcept { return blocks_.size(); }

private:
    [[gnu::noinline]] void merge() {
        blocks_.clear();
        blocks_.push_back({aligned_alloc<std::byte>(peak_), peak_});
        total_ = peak_;
        used_ = 0;
        live_ = 0;
    }
    struct block {
        std::unique_ptr<std::byte[], aligned_free<std::byte>> p;
        std::size_t size;
    };
    std::vector<block> blocks_;
    std::size_t used_ = 0, total_ = 0, live_ = 0, peak_ = 0;
};

}  // namespace lamina::detail
