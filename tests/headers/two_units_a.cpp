// With two_units_b.cpp, one program of two files that include every header with out-of-line
// code: a definition there that is not inline in the header-only build fails to link twice.
#include "io_headers.hpp"

int main() { return 0; }
