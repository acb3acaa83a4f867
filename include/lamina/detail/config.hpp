// Where lamina's code that needs no template argument (reading and writing safetensors and IDX
// files, save and load) is compiled. By default in every translation unit that uses it, as
// inline functions: lamina stays header-only. With LAMINA_SEPARATE_COMPILATION defined in every
// translation unit of a program, the headers only declare those functions (and leave out
// nlohmann/json), and exactly one translation unit compiles them by including lamina/src.hpp:
// a program that saves or loads then compiles about 15 s faster per file (see the README).
#pragma once

#if defined(LAMINA_SEPARATE_COMPILATION)
#define LAMINA_DECL
#else
#define LAMINA_DECL inline
#endif
