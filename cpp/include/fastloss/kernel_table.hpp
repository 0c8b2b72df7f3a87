// The loss families' kernel entry points, once per ISA level and float type. Each kernel file is
// compiled once per level (CMakeLists.txt) with FASTLOSS_ISA_NS naming the level's namespace, so
// the copies of each function -- and of every inline helper they use -- never meet at link time.
// The elementwise losses are not listed here: each is one definition registered by its kernel
// file (loss_registry.hpp).
#pragma once

#include "fastloss/isa.hpp"
#include "fastloss/kernels.hpp"

// The float types every kernel is compiled for: X(C++ type, suffix, extra arguments...). The one
// list to extend with a new dtype (and the dtype dispatch in cpp/bindings/checks.hpp).
#define FASTLOSS_FOR_EACH_FLOAT(X, ...) \
  X(float, f32, __VA_ARGS__)            \
  X(double, f64, __VA_ARGS__)

// The half-precision storage types (half.hpp), computed in float32: the elementwise losses
// (loss_registry.hpp) and FASTLOSS_FOR_EACH_HALF_KERNEL's kernels take them.
#define FASTLOSS_FOR_EACH_HALF(X, ...) \
  X(float16_t, f16, __VA_ARGS__)       \
  X(bfloat16_t, bf16, __VA_ARGS__)

// X(return type, function template, problem template): one row per family kernel.
#define FASTLOSS_FOR_EACH_KERNEL(X)                 \
  X(KernelResult, softmax_ce_kernel, ClassProblem)  \
  X(KernelResult, paired_loss_kernel, PairProblem)  \
  X(KernelResult, row_loss_kernel, RowProblem)      \
  X(TargetSummary, summarize_targets, ClassProblem) \
  X(void, sgd_kernel, SgdProblem)                   \
  X(double, sum_squares_kernel, SumSquaresProblem)  \
  X(void, math_kernel, MathProblem)                 \
  X(void, ctc_kernel, CtcProblem)

// X(return type, function, problem type): kernels of no float type.
#define FASTLOSS_FOR_EACH_PLAIN_KERNEL(X) X(void, half_convert_kernel, HalfConvertProblem)

#define FASTLOSS_DECLARE_PLAIN_KERNEL(ret, name, Problem) ret name(const Problem& p);

// The family kernels that also take the half types (computing in float32): all but the vector
// math (whose float32 / float64 functions are the ones the kernels use).
#define FASTLOSS_FOR_EACH_HALF_KERNEL(X)            \
  X(KernelResult, softmax_ce_kernel, ClassProblem)  \
  X(KernelResult, paired_loss_kernel, PairProblem)  \
  X(KernelResult, row_loss_kernel, RowProblem)      \
  X(TargetSummary, summarize_targets, ClassProblem) \
  X(void, sgd_kernel, SgdProblem)                   \
  X(double, sum_squares_kernel, SumSquaresProblem)  \
  X(void, ctc_kernel, CtcProblem)

#define FASTLOSS_DECLARE_KERNEL(ret, name, Problem) \
  template <class T>                                \
  ret name(const Problem<T>& p);

// In a kernel file, after the definition of kernel `name`: compiles it for every float type.
#define FASTLOSS_INSTANTIATE_ONE(T, suffix, ret, name, Problem) template ret name<T>(const Problem<T>&);
#define FASTLOSS_INSTANTIATE_KERNEL(ret, name, Problem) \
  FASTLOSS_FOR_EACH_FLOAT(FASTLOSS_INSTANTIATE_ONE, ret, name, Problem)
#define FASTLOSS_INSTANTIATE_HALF_KERNEL(ret, name, Problem) \
  FASTLOSS_FOR_EACH_HALF(FASTLOSS_INSTANTIATE_ONE, ret, name, Problem)

namespace fastloss {

namespace baseline {
FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_DECLARE_KERNEL)
FASTLOSS_FOR_EACH_PLAIN_KERNEL(FASTLOSS_DECLARE_PLAIN_KERNEL)
}  // namespace baseline
#if defined(FASTLOSS_X86_VARIANTS)
namespace avx2 {
FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_DECLARE_KERNEL)
FASTLOSS_FOR_EACH_PLAIN_KERNEL(FASTLOSS_DECLARE_PLAIN_KERNEL)
}  // namespace avx2
namespace avx512 {
FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_DECLARE_KERNEL)
FASTLOSS_FOR_EACH_PLAIN_KERNEL(FASTLOSS_DECLARE_PLAIN_KERNEL)
}  // namespace avx512
#endif

// One ISA level's kernels for float type T.
template <class T>
struct KernelSlots {
#define FASTLOSS_TABLE_SLOT(ret, name, Problem) ret (*name)(const Problem<T>&) = nullptr;
  FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_TABLE_SLOT)
#undef FASTLOSS_TABLE_SLOT
};

// One ISA level's kernels for every float type.
struct KernelTable {
#define FASTLOSS_TABLE_TYPE(T, suffix, ...) KernelSlots<T> suffix;
  FASTLOSS_FOR_EACH_FLOAT(FASTLOSS_TABLE_TYPE, )
  FASTLOSS_FOR_EACH_HALF(FASTLOSS_TABLE_TYPE, )  // only FASTLOSS_FOR_EACH_HALF_KERNEL's slots are set
#undef FASTLOSS_TABLE_TYPE

#define FASTLOSS_PLAIN_SLOT(ret, name, Problem) ret (*name)(const Problem&) = nullptr;
  FASTLOSS_FOR_EACH_PLAIN_KERNEL(FASTLOSS_PLAIN_SLOT)
#undef FASTLOSS_PLAIN_SLOT

  template <class T>
  const KernelSlots<T>& of() const;
};

#define FASTLOSS_TABLE_OF(T, suffix, ...)                   \
  template <>                                               \
  inline const KernelSlots<T>& KernelTable::of<T>() const { \
    return suffix;                                          \
  }
FASTLOSS_FOR_EACH_FLOAT(FASTLOSS_TABLE_OF, )
FASTLOSS_FOR_EACH_HALF(FASTLOSS_TABLE_OF, )
#undef FASTLOSS_TABLE_OF

}  // namespace fastloss
