// The namespace of the ISA level a kernel file is being compiled for (set by CMakeLists.txt).
// Every header with code that kernels inline (parallel.hpp, vecmath.hpp, elementwise_driver.hpp)
// puts it in this namespace: an AVX-512 copy of an inline helper must never be the one the
// linker keeps for the baseline kernels.
#pragma once

#ifndef FASTLOSS_ISA_NS
#define FASTLOSS_ISA_NS baseline
#endif

// For functions called inside `#pragma omp simd` loops (vector math, each loss's per-element
// functor), which vectorise only if those calls are inlined. Forced, because GCC's inlining
// budget is shared by a whole translation unit: once binary.cpp grew a few instantiations, BCE's
// eval and log stopped being inlined and its loop ran scalar calls, 6-15x slower.
#if defined(__GNUC__)
#define FASTLOSS_FORCE_INLINE inline __attribute__((always_inline))
#else
#define FASTLOSS_FORCE_INLINE inline
#endif
