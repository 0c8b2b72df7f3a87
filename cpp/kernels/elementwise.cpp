// Elementwise regression losses: mse, l1, huber, smooth L1 (value and gradient in one pass).
// Each loss is one definition (see ElementwiseLossDefaults in elementwise_driver.hpp) and one
// registration line.
#include <cmath>

#include "fastloss/elementwise_driver.hpp"
#include "fastloss/loss_registry.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

template <class T>
struct SquaredError : ElementwiseLossDefaults {
  static constexpr int kWorkPerElement = 1;  // measured: ~0.7 ns/element/thread
  FASTLOSS_FORCE_INLINE static void eval(const Params&, T x, T y, T& loss, T& dloss) {
    const T d = x - y;
    loss = d * d;
    dloss = T(2) * d;
  }
};

template <class T>
struct AbsoluteError : ElementwiseLossDefaults {
  static constexpr int kWorkPerElement = 1;  // measured: ~0.7 ns/element/thread
  FASTLOSS_FORCE_INLINE static void eval(const Params&, T x, T y, T& loss, T& dloss) {
    const T d = x - y;
    loss = std::abs(d);
    // sign(d): 0 at a tie (torch's subgradient); d * 0 keeps NaN propagating.
    dloss = d > T(0) ? T(1) : (d < T(0) ? T(-1) : d * T(0));
  }
};

// torch.nn.HuberLoss: 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) beyond; an optional
// broadcast weight (torch's `weight`, multiplied in before the reduction, so "mean" divides by
// the element count).
template <class T>
struct Huber : ElementwiseLossDefaults {
  static constexpr bool kWeighted = true;
  struct Params {
    static constexpr int kCount = 1;
    T delta;
    explicit Params(const std::array<double, kMaxSettings>& s) : delta(static_cast<T>(s[0])) {}
  };
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T y, T& loss, T& dloss) {
    const T d = x - y, z = std::abs(d);
    // torch's expressions and comparisons, so a NaN falls through to the second branch: NaN.
    loss = z < s.delta ? T(0.5) * z * z : s.delta * (z - T(0.5) * s.delta);
    dloss = d < -s.delta ? -s.delta : (d > s.delta ? s.delta : d);
  }
};

// torch.nn.SmoothL1Loss: 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta beyond; beta = 0 is
// L1 (gradient sign(d), 0 at a tie, as torch's l1_loss that it calls then).
template <class T>
struct SmoothL1 : ElementwiseLossDefaults {
  struct Params {
    static constexpr int kCount = 1;
    // 1 / beta once per call: two divisions per element made smooth_l1 twice as slow as huber
    // while its data sat in the caches. beta = 0 (inv_beta 0) never takes the quadratic branch.
    T beta, inv_beta;
    explicit Params(const std::array<double, kMaxSettings>& s)
        : beta(static_cast<T>(s[0])), inv_beta(s[0] > 0.0 ? static_cast<T>(1.0 / s[0]) : T(0)) {}
  };
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T y, T& loss, T& dloss) {
    // Both settings read up front: inv_beta read only inside a select is a conditional load,
    // which kept GCC 12 from vectorising the loop (40x slower).
    const T beta = s.beta, inv_beta = s.inv_beta;
    const T d = x - y, z = std::abs(d);
    loss = z < beta ? T(0.5) * z * z * inv_beta : z - T(0.5) * beta;
    // Inside (-beta, beta) d / beta; with beta = 0 only d = 0 is inside, whose gradient is 0.
    dloss = d < -beta ? T(-1) : (d > beta ? T(1) : d * inv_beta);
  }
};

}  // namespace

FASTLOSS_ELEMENTWISE_LOSS(mse_loss, SquaredError)
FASTLOSS_ELEMENTWISE_LOSS(l1_loss, AbsoluteError)
FASTLOSS_ELEMENTWISE_LOSS(huber_loss, Huber)
FASTLOSS_ELEMENTWISE_LOSS(smooth_l1_loss, SmoothL1)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
