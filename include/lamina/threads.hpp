// How many threads lamina's GEMMs use (torch.set_num_threads). Results do not depend on it:
// threads split the output into disjoint tiles and never a sum.
#pragma once

#include "lamina/detail/thread_pool.hpp"
#include "lamina/error.hpp"

namespace lamina {

/// Uses n threads (the caller and n - 1 workers, started here and kept) for the GEMMs of every
/// evaluation and backward pass from now on; 1, the default, starts no thread at all. More
/// threads than idle cores only slow the GEMMs down: a thread that the system deschedules
/// holds up the tiles it has taken. Waits for a GEMM that another thread is running.
inline void set_num_threads(unsigned n) {
    if (n == 0) throw error("lamina::set_num_threads: the number of threads must be at least 1, got 0");
    detail::thread_pool::instance().resize(n);
}

/// The count that set_num_threads set last (1 by default).
inline unsigned num_threads() noexcept { return detail::num_threads(); }

}  // namespace lamina
