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
// t log t - t + 0.5 log(2 pi t) where t > 1 (it does not depend on x).
template <class T>
struct PoissonNll : ElementwiseLossDefaults {
  static constexpr int kWorkPerElement = 8;
  struct Params {
    static constexpr int kCount = 3;
    // The flags as T (1 or 0): a bool member loaded in the loop has no vector type, and the
    // loop stayed scalar (GCC 12: "no vectype for stmt"), 25-50 ns per element.
    T log_input, full, eps;
    explicit Params(const std::array<double, kMaxSettings>& s)
        : log_input(static_cast<T>(s[0] != 0.0)), full(static_cast<T>(s[1] != 0.0)), eps(static_cast<T>(s[2])) {}
  };
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T t, T& loss, T& dloss) {
    // Both forms, then a select: a branch on the setting would keep the loop from vectorising.
    const T e = vecmath::exp(x);
    const T shifted = x + s.eps;
    const T log_shifted = vecmath::log(shifted);
    // Stirling's 0.5 log(2 pi t) as 0.5 (log(2 pi) + log t): one log for both terms (torch takes
    // log(2 pi t); the two differ by an ulp of the term at most).
    const T log_t = vecmath::log(t);
    const T stirling = t * log_t - t + T(0.5) * (T(1.8378770664093454836) + log_t);
    const T extra = s.full != T(0) && t > T(1) ? stirling : T(0);
    loss = (s.log_input != T(0) ? e - t * x : x - t * log_shifted) + extra;
    dloss = s.log_input != T(0) ? e - t : T(1) - t / shifted;
  }
};

// torch.nn.KLDivLoss, pointwise as torch's kl_div: log_target: exp(t) (t - x), gradient
// -exp(t); else xlogy(t, t) - t x (0 where t == 0, NaN for t < 0 or NaN), gradient -t (NaN
// where x is NaN, unlike torch's).
template <class T>
struct KlDiv : ElementwiseLossDefaults {
  static constexpr int kWorkPerElement = 8;
  struct Params {
    static constexpr int kCount = 1;
    T log_target;  // 1 or 0, as PoissonNll's flags
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
FASTLOSS_ELEMENTWISE_LOSS(poisson_nll_loss, PoissonNll)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
