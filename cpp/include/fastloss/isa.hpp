// The namespace of the ISA level a kernel file is being compiled for (set by CMakeLists.txt).
// Every header with code that kernels inline (parallel.hpp, vecmath.hpp, elementwise_driver.hpp)
// puts it in this namespace: an AVX-512 copy of an inline helper must never be the one the
// linker keeps for the baseline kernels.
#pragma once

#ifndef FASTLOSS_ISA_NS
#define FASTLOSS_ISA_NS baseline
#endif
