// Where lamina's out-of-line code (reading and writing safetensors and IDX files, save, load and
// checkpoints) is compiled. By default in every translation unit that uses it, as inline
// functions: lamina stays header-only. With LAMINA_SEPARATE_COMPILATION defined in every
// translation unit of a program, the headers only declare that code (and leave nlohmann/json and
// zlib.h out), and exactly one translation unit compiles it by including lamina/src.hpp: a file
// that saves and loads then compiles about 15 s faster (g++ 12, -O2). The two ways must not be
// mixed in one program: nothing would diagnose it. LAMINA_DECL may be predefined (e.g. to add
// a visibility attribute); LAMINA_LOCAL marks the helpers only that code calls.
#pragma once

#if defined(LAMINA_SEPARATE_COMPILATION)
#if !defined(LAMINA_DECL)
#define LAMINA_DECL
#endif
#define LAMINA_LOCAL static
#else
#if !defined(LAMINA_DECL)
#define LAMINA_DECL inline
#endif
#define LAMINA_LOCAL inline
#endif
