// The worker threads behind lamina::set_num_threads: created once, reused by every parallel
// region, and parked (spin, then block) between regions.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace lamina::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// n - 1 workers plus the calling thread. A region hands out task indices one at a time, so a
/// slow or descheduled thread just takes fewer; the caller returns once every task has run,
/// without waiting for sleeping workers to notice the region at all.
class thread_pool {
public:
    static thread_pool& instance() {
        static thread_pool pool;
        return pool;
    }

    thread_pool(thread_pool const&) = delete;
    thread_pool& operator=(thread_pool const&) = delete;
    ~thread_pool() { stop_workers(); }

    unsigned size() const noexcept { return size_.load(std::memory_order_relaxed); }

    /// n threads in all (n >= 1); waits for a running region to end first.
    void resize(unsigned n) {
        std::lock_guard lock(resize_mutex_);
        if (n == size()) return;
        acquire_regions();
        stop_workers();
        stop_.store(false, std::memory_order_relaxed);
        workers_.reserve(n - 1);
        std::uint32_t const g = generation_.load(std::memory_order_relaxed);
        try {
            for (unsigned i = 1; i < n; ++i) workers_.emplace_back([this, g] { work_loop(g); });
        } catch (...) {
            stop_workers();  // back to one thread, and the pool usable
            busy_.store(false, std::memory_order_release);
            throw;
        }
        size_.store(n, std::memory_order_relaxed);
        busy_.store(false, std::memory_order_release);
    }

    /// Runs f(i) for every i in [0, n), on the calling thread and the workers; returns when
    /// all have run. f must not throw. Inline, with no synchronization, when there is one
    /// thread, one task, or a region is already running (a nested call, or another user thread).
    template <class F>
    void parallel_for(std::size_t n, F&& f) {
        if (n == 0) return;
        using Fn = std::remove_reference_t<F>;
        if (!region(n, [](void* ctx, std::size_t i) noexcept { (*static_cast<Fn*>(ctx))(i); },
                    const_cast<void*>(static_cast<void const*>(&f))))
            for (std::size_t i = 0; i < n; ++i) f(i);
    }

private:
    // parallel_for's region: task(ctx, i) for every i in [0, n) on every thread. Returns false,
    // having run nothing, where the tasks must run inline instead. Out of line and the same for
    // every caller: only the two-line task above is compiled per loop (a program's dozens of
    // parallel loops each had their own copy of this).
    [[gnu::noinline]] bool region(std::size_t n, void (*task)(void*, std::size_t) noexcept, void* ctx) {
        if (n == 1 || size() == 1 || n > count_mask || busy_.exchange(true, std::memory_order_acquire)) return false;
        fn_.store(task, std::memory_order_relaxed);
        ctx_.store(ctx, std::memory_order_relaxed);
        n_.store(n, std::memory_order_relaxed);
        done_.store(0, std::memory_order_relaxed);
        std::uint32_t const g = generation_.load(std::memory_order_relaxed) + 1;
        ticket_.store(std::uint64_t{g} << 32 | n, std::memory_order_release);
        publish(g);
        run_tasks(g);
        for (unsigned spins = 0; done_.load(std::memory_order_acquire) != n; ++spins) {
            if (spins < spin_limit) {
                cpu_relax();
                continue;
            }
            std::unique_lock lock(mutex_);
            caller_sleeps_.store(true, std::memory_order_seq_cst);
            finished_.wait(lock, [&] { return done_.load(std::memory_order_seq_cst) == n; });
            caller_sleeps_.store(false, std::memory_order_relaxed);
        }
        busy_.store(false, std::memory_order_release);
        return true;
    }

    // Parked workers poll this long (8192 pauses: ~220 µs on Zen 3) before they block in the
    // kernel: long enough to span the element-wise work between most GEMMs of a training step.
    // Measured on Fashion-MNIST, 2 threads: half the futex calls of 2^11 and a 14% faster median
    // epoch; 2^15 gained little more for 4× the idle spinning.
    static constexpr unsigned spin_limit = 1u << 13;
    static constexpr std::uint64_t count_mask = 0xffff'ffffu;

    thread_pool() = default;

    // Starts region g. Sleepers are counted so that a region costs no system call while every
    // worker spins; seq_cst on both sides (here and in work_loop) so that either the worker sees
    // g before it sleeps or this sees the sleeper. (Not std::atomic::wait: GCC 12's libstdc++
    // lost a wake-up with it here: a worker slept on after the generation changed.)
    void publish(std::uint32_t g) {
        generation_.store(g, std::memory_order_seq_cst);
        if (sleepers_.load(std::memory_order_seq_cst) != 0) {
            { std::lock_guard lock(mutex_); }
            wake_.notify_all();
        }
    }

    void acquire_regions() {
        while (busy_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
    }

    void stop_workers() {
        if (workers_.empty()) return;
        stop_.store(true, std::memory_order_relaxed);
        publish(generation_.load(std::memory_order_relaxed) + 1);
        for (auto& w : workers_) w.join();
        workers_.clear();
        size_.store(1, std::memory_order_relaxed);
    }

    void work_loop(std::uint32_t seen) noexcept {
        for (;;) {
            std::uint32_t g;
            for (unsigned spins = 0; (g = generation_.load(std::memory_order_acquire)) == seen; ++spins) {
                if (spins < spin_limit) {
                    cpu_relax();
                    continue;
                }
                std::unique_lock lock(mutex_);
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                wake_.wait(lock, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
            }
            seen = g;
            if (stop_.load(std::memory_order_relaxed)) return;
            run_tasks(g);
        }
    }

    // Claims tasks of region g while any are left. The ticket holds the region and the count
    // of unclaimed tasks, so a worker that wakes late (after g ended) claims nothing; the task
    // itself is read only after a successful claim, which orders it after the region's setup.
    void run_tasks(std::uint32_t g) noexcept {
        std::uint64_t t = ticket_.load(std::memory_order_acquire);
        while ((t >> 32) == g && (t & count_mask) != 0) {
            if (!ticket_.compare_exchange_weak(t, t - 1, std::memory_order_acquire, std::memory_order_acquire)) continue;
            std::size_t const n = n_.load(std::memory_order_relaxed);
            fn_.load(std::memory_order_relaxed)(ctx_.load(std::memory_order_relaxed), n - (t & count_mask));
            if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == n && caller_sleeps_.load(std::memory_order_seq_cst)) {
                { std::lock_guard lock(mutex_); }
                finished_.notify_one();
            }
            t = ticket_.load(std::memory_order_acquire);
        }
    }

    std::vector<std::thread> workers_;
    std::mutex resize_mutex_, mutex_;
    std::condition_variable wake_, finished_;
    std::atomic<unsigned> sleepers_{0};
    std::atomic<bool> caller_sleeps_{false};
    std::atomic<unsigned> size_{1};
    std::atomic<bool> busy_{false}, stop_{false};
    // Apart, so that parked workers polling the generation do not slow the claims and counts.
    alignas(64) std::atomic<std::uint32_t> generation_{0};
    alignas(64) std::atomic<std::uint64_t> ticket_{0};
    alignas(64) std::atomic<std::uint32_t> done_{0};
    std::atomic<std::size_t> n_{0};
    std::atomic<void (*)(void*, std::size_t) noexcept> fn_{nullptr};
    std::atomic<void*> ctx_{nullptr};
};

/// Threads that lamina's kernels use (1 until set_num_threads says otherwise).
inline unsigned num_threads() noexcept { return thread_pool::instance().size(); }

/// thread_pool::parallel_for on the shared pool.
template <class F>
void parallel_for(std::size_t n, F&& f) {
    thread_pool::instance().parallel_for(n, std::forward<F>(f));
}

}  // namespace lamina::detail
