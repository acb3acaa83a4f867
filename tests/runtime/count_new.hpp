// A count of the global operator new calls in this program (count_new.cpp replaces them).
#pragma once

namespace lamina_test {

/// Allocations made so far through any form of the global operator new.
long allocations() noexcept;

}  // namespace lamina_test
