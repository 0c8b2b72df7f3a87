// Regularisation and optimisation: the L2 penalty (value and gradient) and torch.optim.SGD's
// update, each one fused pass over memory.
#include <type_traits>

#include "fastloss/kernel_table.hpp"
#include "fastloss/kernels.hpp"
#include "fastloss/parallel.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

template <class T, bool kDecay, bool kMomentum, bool kFirst, bool kNesterov>
void sgd_block(const SgdProblem<T>& p, std::int64_t lo, std::int64_t hi) {
  T* __restrict w = p.param;
  const T* __restrict g = p.grad;
  T* __restrict buf = p.momentum_buffer;
  const T sign = p.maximize ? T(-1) : T(1);
  const T lr = p.lr, mom = p.momentum, keep = T(1) - p.dampening, wd = p.weight_decay;
#pragma omp simd
  for (std::int64_t i = lo; i < hi; ++i) {
    // torch's order: maximize, then weight decay, then momentum, then the step.
    // Without weight decay the term is absent (as in torch), not 0 * w: an infinite param
    // stays infinite instead of turning NaN.
    T d = sign * g[i];
    if constexpr (kDecay) d += wd * w[i];
    if constexpr (kMomentum) {
      const T b = kFirst ? d : mom * buf[i] + keep * d;
      buf[i] = b;
      d = kNesterov ? d + mom * b : b;
    }
    w[i] -= lr * d;
  }
}

template <class T, bool kDecay>
void run_sgd_decay(const SgdProblem<T>& p) {
  auto run = [&](auto momentum, auto first, auto nesterov) {
    blocked_for(p.n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) {
      sgd_block<T, kDecay, decltype(momentum)::value, decltype(first)::value, decltype(nesterov)::value>(p, lo, hi);
    });
  };
  using F = std::false_type;
  using Tr = std::true_type;
  if (!p.momentum_buffer) return run(F{}, F{}, F{});
  if (p.first_step) return p.nesterov ? run(Tr{}, Tr{}, Tr{}) : run(Tr{}, Tr{}, F{});
  return p.nesterov ? run(Tr{}, F{}, Tr{}) : run(Tr{}, F{}, F{});
}

template <class T>
void run_sgd(const SgdProblem<T>& p) {
  if (p.weight_decay != T(0)) return run_sgd_decay<T, true>(p);
  run_sgd_decay<T, false>(p);
}

template <class T>
double run_sum_squares(const SumSquaresProblem<T>& p) {
  const T* __restrict w = p.w;
  T* __restrict grad = p.grad;
  const T grad_scale = p.grad_scale;
  return blocked_sum(p.n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) {
    double acc = 0.0;
    if (grad) {
#pragma omp simd reduction(+ : acc)
      for (std::int64_t i = lo; i < hi; ++i) {
        acc += static_cast<double>(w[i]) * static_cast<double>(w[i]);
        grad[i] = grad_scale * w[i];
      }
    } else {
#pragma omp simd reduction(+ : acc)
      for (std::int64_t i = lo; i < hi; ++i) acc += static_cast<double>(w[i]) * static_cast<double>(w[i]);
    }
    return acc;
  });
}

}  // namespace

template <class T>
void sgd_kernel(const SgdProblem<T>& p) {
  run_sgd(p);
}
template <class T>
double sum_squares_kernel(const SumSquaresProblem<T>& p) {
  return run_sum_squares(p);
}
FASTLOSS_INSTANTIATE_KERNEL(void, sgd_kernel, SgdProblem)
FASTLOSS_INSTANTIATE_KERNEL(double, sum_squares_kernel, SumSquaresProblem)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
