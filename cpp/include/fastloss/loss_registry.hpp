// The elementwise losses, each one definition in its kernel file: a line
//     FASTLOSS_ELEMENTWISE_LOSS(mse_loss, SquaredError)
// after the definition compiles its kernel for every float type and registers it, at load time,
// under its Python name for the ISA level being compiled. The bindings (register_elementwise.cpp)
// then define one function `_core.<name>` per registered loss, and python/fastloss/_spec.py has
// the row that makes it public. Nothing else lists the elementwise losses.
#pragma once

#include <cstdint>
#include <string>

#include "fastloss/kernel_table.hpp"

// The storage types of the elementwise losses: the float types and the half types.
#define FASTLOSS_FOR_EACH_LOSS_DTYPE(X, ...) \
  FASTLOSS_FOR_EACH_FLOAT(X, __VA_ARGS__)    \
  FASTLOSS_FOR_EACH_HALF(X, __VA_ARGS__)

namespace fastloss {

template <class T>
using ElementwiseKernel = KernelResult (*)(const ElementwiseProblem<T>&);

// One elementwise loss at one ISA level: its kernel for every float type.
struct ElementwiseLoss {
  std::string name;  // the _core function's name, e.g. "mse_loss"
#define FASTLOSS_LOSS_SLOT(T, suffix, ...) ElementwiseKernel<T> suffix = nullptr;
  FASTLOSS_FOR_EACH_LOSS_DTYPE(FASTLOSS_LOSS_SLOT, )
#undef FASTLOSS_LOSS_SLOT
  bool weighted = false;      // takes a broadcast `weight`
  bool pos_weighted = false;  // takes a broadcast `pos_weight`
  int settings = 0;           // how many scalar settings it reads

  template <class T>
  ElementwiseKernel<T> kernel() const;
};

#define FASTLOSS_LOSS_KERNEL(T, suffix, ...)                       \
  template <>                                                      \
  inline ElementwiseKernel<T> ElementwiseLoss::kernel<T>() const { \
    return suffix;                                                 \
  }
FASTLOSS_FOR_EACH_LOSS_DTYPE(FASTLOSS_LOSS_KERNEL, )
#undef FASTLOSS_LOSS_KERNEL

// Adds a loss to the losses of ISA level `level` (0 baseline, 1 avx2, 2 avx512), while the module
// is loaded; elementwise_losses() (dispatch.hpp) lists those of the level in use. Defined in
// dispatch.cpp, which is compiled for the baseline ISA.
#define FASTLOSS_KERNEL_PARAM(T, suffix, ...) , ElementwiseKernel<T> suffix
bool register_elementwise_loss(int level, const char* name, bool weighted, bool pos_weighted,
                               int settings FASTLOSS_FOR_EACH_LOSS_DTYPE(FASTLOSS_KERNEL_PARAM, ));
#undef FASTLOSS_KERNEL_PARAM

}  // namespace fastloss

#define FASTLOSS_KERNEL_ARG(T, suffix, Op) , &run_elementwise_loss<Op<compute_t<T>>>

// Compiles elementwise loss definition `Op` (a template over the float type it computes in, see
// elementwise_driver.hpp) for every storage type (the half types compute in float32) and registers it as
// `_core.<py_name>`. The registration runs at load time on any CPU, in code compiled for this file's ISA level: so it
// is one call with scalar arguments (no structure built here, which the compiler could do with the level's vector
// instructions, illegal on a CPU without them).
#define FASTLOSS_ELEMENTWISE_LOSS(py_name, Op)                                                                     \
  namespace {                                                                                                      \
  const bool registered_##py_name =                                                                                \
      register_elementwise_loss(FASTLOSS_ISA_LEVEL, #py_name, Op<double>::kWeighted, Op<double>::kPosWeighted,     \
                                Op<double>::Params::kCount FASTLOSS_FOR_EACH_LOSS_DTYPE(FASTLOSS_KERNEL_ARG, Op)); \
  }

#define FASTLOSS_KERNEL_FN_ARG(T, suffix, fn) , &fn<T>

// As FASTLOSS_ELEMENTWISE_LOSS, for a loss whose kernel `fn` (a template over the storage type)
// runs one of several compiled forms of its definition, chosen by its settings at run time
// (poisson_nll_loss's flags); `Op` says what the loss takes.
#define FASTLOSS_ELEMENTWISE_LOSS_KERNEL(py_name, Op, fn)                                                             \
  namespace {                                                                                                         \
  const bool registered_##py_name =                                                                                   \
      register_elementwise_loss(FASTLOSS_ISA_LEVEL, #py_name, Op<double>::kWeighted, Op<double>::kPosWeighted,        \
                                Op<double>::Params::kCount FASTLOSS_FOR_EACH_LOSS_DTYPE(FASTLOSS_KERNEL_FN_ARG, fn)); \
  }
