// The kernel entry points: plain C++ over raw pointers and sizes, no Python.
#pragma once

#include <cstdint>

#include "fastloss/broadcast.hpp"

namespace fastloss {

enum class Reduction : int { None = 0, Mean = 1, Sum = 2 };

// One elementwise loss problem over n elements of C-contiguous `input` and `target`.
template <class T>
struct ElementwiseProblem {
  const T* input = nullptr;
  const T* target = nullptr;
  std::int64_t n = 0;
  // Optional operands broadcast to the input (BCE weight, pos_weight), read through `layout`.
  const T* weight = nullptr;
  const T* pos_weight = nullptr;
  BroadcastLayout layout;
  T* loss_out = nullptr;           // per-element loss; set for Reduction::None only
  T* grad = nullptr;               // d(loss)/d(input) times the upstream gradient, or nullptr
  T grad_scale = T(1);             // scalar upstream gradient (already divided by n for mean)
  const T* grad_output = nullptr;  // per-element upstream gradient (Reduction::None), or nullptr
  int n_threads = 0;               // <= 0: OpenMP default
};

struct KernelResult {
  double sum = 0.0;                   // sum of the per-element losses (unused for None)
  std::int64_t first_invalid = -1;    // first element whose input/target is out of the domain
};

#define FASTLOSS_DECLARE_ELEMENTWISE(name)                   \
  KernelResult name(const ElementwiseProblem<float>& p);     \
  KernelResult name(const ElementwiseProblem<double>& p);

FASTLOSS_DECLARE_ELEMENTWISE(mse_kernel)
FASTLOSS_DECLARE_ELEMENTWISE(l1_kernel)
FASTLOSS_DECLARE_ELEMENTWISE(bce_kernel)
FASTLOSS_DECLARE_ELEMENTWISE(bce_with_logits_kernel)

#undef FASTLOSS_DECLARE_ELEMENTWISE

}  // namespace fastloss
