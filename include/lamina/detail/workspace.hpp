// A reusable arena for the intermediates of one evaluation.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "lamina/detail/aligned.hpp"

namespace lamina::detail {

/// Bump allocator: reset() before each evaluation. After one evaluation it owns a single
/// block as large as the peak, so repeating an evaluation of the same sizes allocates nothing.
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
        peak_ += bytes;
        return reinterpret_cast<T*>(p);
    }
    void reset() {
        if (blocks_.size() > 1) {  // consolidate into one block of the peak size
            std::size_t sz = peak_;
            blocks_.clear();
            blocks_.push_back({aligned_alloc<std::byte>(sz), sz});
            total_ = sz;
        }
        used_ = 0;
        peak_ = 0;
    }
    /// Bytes held (for tests that check reuse).
    std::size_t capacity() const noexcept { return total_; }
    std::size_t blocks() const noexcept { return blocks_.size(); }

private:
    struct block {
        std::unique_ptr<std::byte[], aligned_free<std::byte>> p;
        std::size_t size;
    };
    std::vector<block> blocks_;
    std::size_t used_ = 0, total_ = 0, peak_ = 0;
};

}  // namespace lamina::detail
