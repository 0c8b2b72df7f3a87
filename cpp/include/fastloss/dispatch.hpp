// Runtime choice of the ISA level, and the entry points the bindings call: each forwards to the
// kernel of the level chosen at import (the best the CPU has, or FASTLOSS_SIMD's).
#pragma once

#include <string>
#include <vector>

#include "fastloss/kernel_table.hpp"
#include "fastloss/loss_registry.hpp"

namespace fastloss {

const KernelTable& kernels();

// The elementwise losses at the level in use, sorted by name (the same names at every level).
const std::vector<ElementwiseLoss>& elementwise_losses();

// "baseline", "avx2" or "avx512": the level in use.
std::string simd_level();
// The levels this CPU can run, lowest first.
std::vector<std::string> supported_simd_levels();
// Switches to `level`; false (and no change) if it is unknown or the CPU cannot run it.
bool set_simd_level(const std::string& level);

// softmax_ce_kernel(problem) etc.: the family kernels of the level in use, for problem's float type.
#define FASTLOSS_FORWARD_KERNEL(ret, name, Problem) \
  template <class T>                                \
  inline ret name(const Problem<T>& p) {            \
    return kernels().of<T>().name(p);               \
  }
FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_FORWARD_KERNEL)
#undef FASTLOSS_FORWARD_KERNEL

#define FASTLOSS_FORWARD_PLAIN_KERNEL(ret, name, Problem) \
  inline ret name(const Problem& p) { return kernels().name(p); }
FASTLOSS_FOR_EACH_PLAIN_KERNEL(FASTLOSS_FORWARD_PLAIN_KERNEL)
#undef FASTLOSS_FORWARD_PLAIN_KERNEL

}  // namespace fastloss
