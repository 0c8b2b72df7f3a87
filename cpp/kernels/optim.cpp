// Regularisation and optimisation: the L2 penalty (value and gradient) and torch.optim.SGD's
// update, each one fused pass over memory.
#include <algorithm>
#include <type_traits>

#include "fastloss/half.hpp"

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

// sgd_block over [lo, hi) for the problem's flags (momentum, first step, nesterov, decay).
template <class T, bool kDecay>
void sgd_range_decay(const SgdProblem<T>& p, std::int64_t lo, std::int64_t hi) {
  if (!p.momentum_buffer) return sgd_block<T, kDecay, false, false, false>(p, lo, hi);
  if (p.first_step) {
    return p.nesterov ? sgd_block<T, kDecay, true, true, true>(p, lo, hi)
                      : sgd_block<T, kDecay, true, true, false>(p, lo, hi);
  }
  return p.nesterov ? sgd_block<T, kDecay, true, false, true>(p, lo, hi)
                    : sgd_block<T, kDecay, true, false, false>(p, lo, hi);
}

template <class T>
void sgd_range(const SgdProblem<T>& p, std::int64_t lo, std::int64_t hi) {
  if (p.weight_decay != T(0)) return sgd_range_decay<T, true>(p, lo, hi);
  sgd_range_decay<T, false>(p, lo, hi);
}

template <class T>
void run_sgd(const SgdProblem<T>& p) {
  if constexpr (is_half<T>::value) {
    // Half params: each tile of param, grad and buffer is widened to float32 in L1, stepped by
    // the float32 code, and the param and buffer narrowed back (torch's opmath: float32 inside).
    blocked_for(p.n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) {
      float w[half::kHalfTile], g[half::kHalfTile], b[half::kHalfTile];
      for (std::int64_t i0 = lo; i0 < hi; i0 += half::kHalfTile) {
        const std::int64_t n = std::min(hi - i0, half::kHalfTile);
        half::widen(p.param + i0, w, n);
        half::widen(p.grad + i0, g, n);
        if (p.momentum_buffer && !p.first_step) half::widen(p.momentum_buffer + i0, b, n);
        SgdProblem<float> tile;
        tile.param = w;
        tile.grad = g;
        tile.momentum_buffer = p.momentum_buffer ? b : nullptr;
        tile.lr = p.lr, tile.momentum = p.momentum, tile.dampening = p.dampening, tile.weight_decay = p.weight_decay;
        tile.nesterov = p.nesterov, tile.maximize = p.maximize, tile.first_step = p.first_step;
        sgd_range(tile, 0, n);
        half::narrow(w, p.param + i0, n);
        if (p.momentum_buffer) half::narrow(b, p.momentum_buffer + i0, n);
      }
    });
  } else {
    blocked_for(p.n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) { sgd_range(p, lo, hi); });
  }
}

// Half params: sum(w^2) of each tile widened to float32, and its gradient narrowed back.
template <class S>
double run_sum_squares_half(const SumSquaresProblem<S>& p) {
  return blocked_sum(p.n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) {
    double acc = 0.0;
    float w[half::kHalfTile], g[half::kHalfTile];
    for (std::int64_t i0 = lo; i0 < hi; i0 += half::kHalfTile) {
      const std::int64_t n = std::min(hi - i0, half::kHalfTile);
      half::widen(p.w + i0, w, n);
      double tile_acc = 0.0;
#pragma omp simd reduction(+ : tile_acc)
      for (std::int64_t k = 0; k < n; ++k) tile_acc += static_cast<double>(w[k]) * static_cast<double>(w[k]);
      acc += tile_acc;
      if (p.grad) {
#pragma omp simd
        for (std::int64_t k = 0; k < n; ++k) g[k] = p.grad_scale * w[k];
        half::narrow(g, p.grad + i0, n);
      }
    }
    return acc;
  });
}

template <class T>
double run_sum_squares_float(const SumSquaresProblem<T>& p) {
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

template <class T>
double run_sum_squares(const SumSquaresProblem<T>& p) {
  if constexpr (is_half<T>::value) {
    return run_sum_squares_half(p);
  } else {
    return run_sum_squares_float(p);
  }
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
FASTLOSS_INSTANTIATE_HALF_KERNEL(void, sgd_kernel, SgdProblem)
FASTLOSS_INSTANTIATE_HALF_KERNEL(double, sum_squares_kernel, SumSquaresProblem)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
