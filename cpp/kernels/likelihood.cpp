// Likelihood losses on counts and distributions: Poisson negative log-likelihood and the
// Kullback-Leibler divergence (value and gradient in one pass).
#include <cmath>

#include "fastloss/elementwise_driver.hpp"
#include "fastloss/loss_registry.hpp"
#include "fastloss/vecmath.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// torch.nn.PoissonNLLLoss with torch's expressions: log_input: exp(x) - t x (gradient
// exp(x) - t); else x - t log(x + eps) (gradient 1 - t / (x + eps)); full adds Stirling's
// t log t - t + 0.5 log(2 pi t) where t > 1 (it does not depend on x). One form per value of the
// two flags, picked once per call (poisson_nll_kernel): computing every form and selecting cost
// the default form (one exp) an exp and two logs per element, half of torch's speed in cache.
template <class T, bool kLogInput, bool kFull>
struct PoissonNllForm : ElementwiseLossDefaults {
  static constexpr int kWorkPerElement = 8;
  struct Params {
    static constexpr int kCount = 3;  // log_input, full (the form), eps
    T eps;
    explicit Params(const std::array<double, kMaxSettings>& s) : eps(static_cast<T>(s[2])) {}
  };
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T t, T& loss, T& dloss) {
    if constexpr (kLogInput) {
      const T e = vecmath::exp(x);
      loss = e - t * x;
      dloss = e - t;
    } else {
      const T shifted = x + s.eps;
      loss = x - t * vecmath::log(shifted);
      dloss = T(1) - t / shifted;
    }
    if constexpr (kFull) {
      // Stirling's 0.5 log(2 pi t) as 0.5 (log(2 pi) + log t): one log for both terms (torch
      // takes log(2 pi t); the two differ by an ulp of the term at most).
      const T log_t = vecmath::log(t);
      const T stirling = t * log_t - t + T(0.5) * (T(1.8378770664093454836) + log_t);
      loss += t > T(1) ? stirling : T(0);
    }
  }
};

// The registration's view of the loss (what it takes); the kernel below runs one of the forms.
template <class T>
using PoissonNll = PoissonNllForm<T, true, false>;

template <class S>
KernelResult poisson_nll_kernel(const ElementwiseProblem<S>& p) {
  using T = compute_t<S>;
  const bool log_input = p.settings[0] != 0.0, full = p.settings[1] != 0.0;
  if (log_input) {
    return full ? run_elementwise_loss<PoissonNllForm<T, true, true>>(p)
                : run_elementwise_loss<PoissonNllForm<T, true, false>>(p);
  }
  return full ? run_elementwise_loss<PoissonNllForm<T, false, true>>(p)
              : run_elementwise_loss<PoissonNllForm<T, false, false>>(p);
}

// torch.nn.KLDivLoss, pointwise as torch's kl_div: log_target: exp(t) (t - x), gradient
// -exp(t); else xlogy(t, t) - t x (0 where t == 0, NaN for t < 0 or NaN), gradient -t (NaN
// where x is NaN, unlike torch's).
template <class T>
struct KlDiv : ElementwiseLossDefaults {
  static constexpr int kWorkPerElement = 8;
  struct Params {
    static constexpr int kCount = 1;
    T log_target;  // 1 or 0: a bool member keeps the loop scalar (see ElementwiseLossDefaults)
    explicit Params(const std::array<double, kMaxSettings>& s) : log_target(static_cast<T>(s[0] != 0.0)) {}
  };
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T t, T& loss, T& dloss) {
    const T et = vecmath::exp(t);
    const T xlogy = t == T(0) ? T(0) : t * vecmath::log(t);
    loss = s.log_target != T(0) ? et * (t - x) : xlogy - t * x;
    // The gradient does not depend on x; a NaN input still gets a NaN gradient (fastloss's rule).
    dloss = x != x ? x : (s.log_target != T(0) ? -et : -t);
  }
};

}  // namespace

FASTLOSS_ELEMENTWISE_LOSS(kl_div, KlDiv)
FASTLOSS_ELEMENTWISE_LOSS_KERNEL(poisson_nll_loss, PoissonNll, poisson_nll_kernel)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
