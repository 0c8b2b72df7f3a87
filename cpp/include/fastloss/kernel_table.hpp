// Every kernel entry point, once per ISA level. Each kernel file is compiled once per level
// (CMakeLists.txt) with FASTLOSS_ISA_NS naming the level's namespace, so the three copies of
// each function -- and of every inline helper they use -- never meet at link time.
#pragma once

#include "fastloss/isa.hpp"
#include "fastloss/kernels.hpp"

// X(slot, return type, function name, parameter type...): one row per kernel and dtype (the
// parameter type is variadic because template arguments hold commas).
#define FASTLOSS_FOR_EACH_KERNEL(X)                                                        \
  X(mse_f32, KernelResult, mse_kernel, const ElementwiseProblem<float>&)                   \
  X(mse_f64, KernelResult, mse_kernel, const ElementwiseProblem<double>&)                  \
  X(l1_f32, KernelResult, l1_kernel, const ElementwiseProblem<float>&)                     \
  X(l1_f64, KernelResult, l1_kernel, const ElementwiseProblem<double>&)                    \
  X(bce_f32, KernelResult, bce_kernel, const ElementwiseProblem<float>&)                   \
  X(bce_f64, KernelResult, bce_kernel, const ElementwiseProblem<double>&)                  \
  X(bce_logits_f32, KernelResult, bce_with_logits_kernel, const ElementwiseProblem<float>&)  \
  X(bce_logits_f64, KernelResult, bce_with_logits_kernel, const ElementwiseProblem<double>&) \
  X(ce_f32_i32, KernelResult, softmax_ce_kernel, const ClassProblem<float, std::int32_t>&)   \
  X(ce_f32_i64, KernelResult, softmax_ce_kernel, const ClassProblem<float, std::int64_t>&)   \
  X(ce_f64_i32, KernelResult, softmax_ce_kernel, const ClassProblem<double, std::int32_t>&)  \
  X(ce_f64_i64, KernelResult, softmax_ce_kernel, const ClassProblem<double, std::int64_t>&)  \
  X(targets_f32_i32, TargetSummary, summarize_targets, const ClassProblem<float, std::int32_t>&)   \
  X(targets_f32_i64, TargetSummary, summarize_targets, const ClassProblem<float, std::int64_t>&)   \
  X(targets_f64_i32, TargetSummary, summarize_targets, const ClassProblem<double, std::int32_t>&)  \
  X(targets_f64_i64, TargetSummary, summarize_targets, const ClassProblem<double, std::int64_t>&)  \
  X(sgd_f32, void, sgd_kernel, const SgdProblem<float>&)                                   \
  X(sgd_f64, void, sgd_kernel, const SgdProblem<double>&)                                  \
  X(sum_squares_f32, double, sum_squares_kernel, const SumSquaresProblem<float>&)          \
  X(sum_squares_f64, double, sum_squares_kernel, const SumSquaresProblem<double>&)          \
  X(math_f32, void, math_kernel, const MathProblem<float>&)                                 \
  X(math_f64, void, math_kernel, const MathProblem<double>&)

#define FASTLOSS_DECLARE_KERNEL(slot, ret, name, ...) ret name(__VA_ARGS__ p);

namespace fastloss {

namespace baseline {
FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_DECLARE_KERNEL)
}
#if defined(FASTLOSS_X86_VARIANTS)
namespace avx2 {
FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_DECLARE_KERNEL)
}
namespace avx512 {
FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_DECLARE_KERNEL)
}
#endif

// One ISA level's kernels.
struct KernelTable {
#define FASTLOSS_TABLE_SLOT(slot, ret, name, ...) ret (*slot)(__VA_ARGS__);
  FASTLOSS_FOR_EACH_KERNEL(FASTLOSS_TABLE_SLOT)
#undef FASTLOSS_TABLE_SLOT
};

}  // namespace fastloss
