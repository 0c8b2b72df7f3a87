// The vector math functions over whole arrays: what tests/test_vecmath.py measures the accuracy
// of, at every ISA level, and a fast exp/log/log1p for users.
#include "fastloss/kernel_table.hpp"
#include "fastloss/parallel.hpp"
#include "fastloss/vecmath.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

template <class T, class F>
void apply(const MathProblem<T>& p, F f) {
  const T* __restrict x = p.x;
  T* __restrict y = p.y;
  blocked_for(p.n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) {
#pragma omp simd
    for (std::int64_t i = lo; i < hi; ++i) y[i] = f(x[i]);
  });
}

// exp_normal_pair as cross-entropy runs it: the two halves of each block side by side.
template <class T>
void apply_exp_normal_pairs(const MathProblem<T>& p) {
  const T* __restrict x = p.x;
  T* __restrict y = p.y;
  blocked_for(p.n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) {
    const std::int64_t half = (hi - lo) / 2;
#pragma omp simd
    for (std::int64_t i = lo; i < lo + half; ++i) vecmath::exp_normal_pair(x[i], x[i + half], y[i], y[i + half]);
    if ((hi - lo) % 2 != 0) y[hi - 1] = vecmath::exp_normal(x[hi - 1]);
  });
}

template <class T>
void run_math(const MathProblem<T>& p) {
  switch (p.function) {
    case MathFunction::Exp: return apply(p, [](T v) { return vecmath::exp(v); });
    case MathFunction::Log: return apply(p, [](T v) { return vecmath::log(v); });
    case MathFunction::Log1p: return apply(p, [](T v) { return vecmath::log1p(v); });
    case MathFunction::Log1pUnit: return apply(p, [](T v) { return vecmath::log1p_unit(v); });
    case MathFunction::Log1mUnit: return apply(p, [](T v) { return vecmath::log1m_unit(v); });
    case MathFunction::ExpNormal: return apply(p, [](T v) { return vecmath::exp_normal(v); });
    case MathFunction::ExpNormalPair: return apply_exp_normal_pairs(p);
  }
}

}  // namespace

template <class T>
void math_kernel(const MathProblem<T>& p) {
  run_math(p);
}
FASTLOSS_INSTANTIATE_KERNEL(void, math_kernel, MathProblem)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
