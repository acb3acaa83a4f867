// How the examples assert their results: a CHECK that fails prints where and what, and makes
// main return 1 (so `meson test` reports the example as failed).
#pragma once

#include <iostream>

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            std::cerr << __FILE__ << ":" << __LINE__ << ": failed: " #cond "\n"; \
            return 1;                                                            \
        }                                                                        \
    } while (0)
