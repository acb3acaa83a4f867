// The second file of the two_units program (see two_units_a.cpp).
#include "io_headers.hpp"
