// Binary classification losses: BCE on probabilities, BCE on logits (optional broadcast weight
// and pos_weight) and the sigmoid focal loss; value and gradient in one pass.
#include <algorithm>
#include <cmath>

#include "fastloss/elementwise_driver.hpp"
#include "fastloss/loss_registry.hpp"
#include "fastloss/vecmath.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

template <class T>
struct BinaryCrossEntropy : ElementwiseLossDefaults {
  static constexpr bool kWeighted = true;
  static constexpr int kWorkPerElement = 8;  // measured: ~8 ns/element/thread
  // Out of [0, 1] is an error; NaN is not (it propagates like in every other loss).
  static constexpr const char* kDomain = "in [0, 1]";
  FASTLOSS_FORCE_INLINE static bool in_domain(T v) { return !(v < T(0) || v > T(1)); }
  FASTLOSS_FORCE_INLINE static void eval(const Params&, T x, T y, T& loss, T& dloss) {
    // torch clamps each log at -100 so that x in {0, 1} gives a finite loss.
    const T log_x = std::max(vecmath::log(x), T(-100));
    const T log_1mx = std::max(vecmath::log1m_unit(x), T(-100));
    loss = (y - T(1)) * log_1mx - y * log_x;
    // torch's gradient: (x - y) / max(x (1 - x), 1e-12), so 0 where x == y in {0, 1}.
    dloss = (x - y) / std::max((T(1) - x) * x, T(1e-12));
  }
};

template <class T>
struct BinaryCrossEntropyWithLogits : ElementwiseLossDefaults {
  static constexpr bool kWeighted = true;
  static constexpr bool kPosWeighted = true;
  static constexpr int kWorkPerElement = 8;  // measured: ~8 ns/element/thread
  FASTLOSS_FORCE_INLINE static void eval(const Params&, T x, T y, T pw, T& loss, T& dloss) {
    // -log sigmoid(x) = log1p(exp(-|x|)) + max(-x, 0): exp never overflows, any logit is finite.
    const T e = vecmath::exp(-std::abs(x));
    const T log_sigmoid_neg = vecmath::log1p_unit(e) + std::max(-x, T(0));  // -log sigmoid(x)
    const T sigmoid = (x >= T(0) ? T(1) : e) / (T(1) + e);
    const T pos = pw * y;  // weight of the positive term
    loss = (T(1) - y) * x + (T(1) - y + pos) * log_sigmoid_neg;
    dloss = (T(1) - y + pos) * sigmoid - pos;
  }
};

// torchvision.ops.sigmoid_focal_loss: alpha_t * BCE-with-logits * (1 - p_t)^gamma, with
// 1 - p_t = t sigmoid(-x) + (1 - t) sigmoid(x) from exp(-|x|), so stable for any logit (torch
// computes 1 - p_t as a difference, which is 0 beyond |x| = 17 in float32). alpha < 0: no
// alpha_t factor. d/dx = alpha_t [(p - t) m^g + g m^g (p q / m) (1 - 2t) ce], m = 1 - p_t,
// p = sigmoid(x), q = sigmoid(-x); the second term is 0 at g = 0 and in the limit m -> 0.
template <class T>
struct SigmoidFocal : ElementwiseLossDefaults {
  static constexpr int kWorkPerElement = 12;
  struct Params {
    static constexpr int kCount = 2;
    T alpha, gamma;
    explicit Params(const std::array<double, kMaxSettings>& s)
        : alpha(static_cast<T>(s[0])), gamma(static_cast<T>(s[1])) {}
  };
  // m^g for m in [0, 1], g >= 0: exact for the usual g = 2, 0^0 = 1 (torch's pow). Selects,
  // not branches, so that the loop vectorises (a branch here left it scalar: 2.5 ns/element).
  FASTLOSS_FORCE_INLINE static T power(T m, T g) {
    const T general = vecmath::exp(g * vecmath::log(m > T(0) ? m : T(1)));
    return g == T(2) ? m * m : (g == T(0) ? T(1) : (m > T(0) ? general : T(0)));
  }
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T t, T& loss, T& dloss) {
    const T e = vecmath::exp(-std::abs(x));
    const T ce = vecmath::log1p_unit(e) + std::max(-x, T(0)) + (T(1) - t) * x;  // BCE with logits
    const T inv = T(1) / (T(1) + e);
    const T p = x >= T(0) ? inv : e * inv;  // sigmoid(x)
    const T q = x >= T(0) ? e * inv : inv;  // sigmoid(-x)
    const T m = t * q + (T(1) - t) * p;     // 1 - p_t
    const T a = s.alpha >= T(0) ? s.alpha * t + (T(1) - s.alpha) * (T(1) - t) : T(1);
    const T mg = power(m, s.gamma);
    loss = a * ce * mg;
    const T ratio = m > T(0) ? p * q / m : T(0);
    const T second = s.gamma == T(0) ? T(0) : s.gamma * mg * ratio * (T(1) - T(2) * t) * ce;
    dloss = a * ((p - t) * mg + second);
  }
};

}  // namespace

FASTLOSS_ELEMENTWISE_LOSS(sigmoid_focal_loss, SigmoidFocal)
FASTLOSS_ELEMENTWISE_LOSS(binary_cross_entropy, BinaryCrossEntropy)
FASTLOSS_ELEMENTWISE_LOSS(binary_cross_entropy_with_logits, BinaryCrossEntropyWithLogits)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
