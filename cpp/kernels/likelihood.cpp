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
    bool log_input, full;
    T eps;
    explicit Params(const std::array<double, kMaxSettings>& s)
        : log_input(s[0] != 0.0), full(s[1] != 0.0), eps(static_cast<T>(s[2])) {}
  };
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T t, T& loss, T& dloss) {
    // Both forms, then a select: a branch on the setting would keep the loop from vectorising.
    const T e = vecmath::exp(x);
    const T shifted = x + s.eps;
    const T log_shifted = vecmath::log(shifted);
    loss = s.log_input ? e - t * x : x - t * log_shifted;
    dloss = s.log_input ? e - t : T(1) - t / shifted;
    if (s.full) {
      const T stirling = t * vecmath::log(t) - t + T(0.5) * vecmath::log(T(2 * 3.14159265358979323846) * t);
      loss += t > T(1) ? stirling : T(0);
    }
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
    bool log_target;
    explicit Params(const std::array<double, kMaxSettings>& s) : log_target(s[0] != 0.0) {}
  };
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T t, T& loss, T& dloss) {
    const T et = vecmath::exp(t);
    const T xlogy = t == T(0) ? T(0) : t * vecmath::log(t);
    loss = s.log_target ? et * (t - x) : xlogy - t * x;
    // The gradient does not depend on x; a NaN input still gets a NaN gradient (fastloss's rule).
    dloss = x != x ? x : (s.log_target ? -et : -t);
  }
};

}  // namespace

FASTLOSS_ELEMENTWISE_LOSS(kl_div, KlDiv)
FASTLOSS_ELEMENTWISE_LOSS(poisson_nll_loss, PoissonNll)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
