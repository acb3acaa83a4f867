// The headers with code that needs no template argument (lamina/src.hpp compiles it once under
// LAMINA_SEPARATE_COMPILATION; otherwise it is inline), for two_units_a.cpp and two_units_b.cpp.
#pragma once

#include <lamina/checkpoint.hpp>
#include <lamina/io/idx.hpp>
#include <lamina/io/safetensors.hpp>
#include <lamina/lamina.hpp>
#include <lamina/serialize.hpp>
