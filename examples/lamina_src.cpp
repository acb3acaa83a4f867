// lamina's saving, loading and dataset code, compiled once for the programs built with
// LAMINA_SEPARATE_COMPILATION (see meson.build): fashion_mnist.cpp then compiles without it.
#include <lamina/src.hpp>
