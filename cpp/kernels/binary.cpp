// Binary classification losses: BCE on probabilities and BCE on logits (value and gradient
// in one pass, optional broadcast weight and pos_weight).
#include <cmath>

#include "fastloss/kernel_table.hpp"
#include "fastloss/elementwise_driver.hpp"
#include "fastloss/vecmath.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

template <class T>
struct BinaryCrossEntropy {
  static constexpr bool kUsesWeights = true;  // weight only; pos_weight is never set
  static constexpr int kWorkPerElement = 8;  // measured: ~8 ns/element/thread
  static constexpr bool kChecksDomain = true;
  // Out of [0, 1] is an error; NaN is not (it propagates like in every other loss).
  FASTLOSS_FORCE_INLINE static bool invalid(T x, T y) { return x < T(0) || x > T(1) || y < T(0) || y > T(1); }
  FASTLOSS_FORCE_INLINE static void eval(T x, T y, T w, T, T& loss, T& dloss) {
    // torch clamps each log at -100 so that x in {0, 1} gives a finite loss.
    const T log_x = std::max(vecmath::log(x), T(-100));
    const T log_1mx = std::max(vecmath::log1m_unit(x), T(-100));
    loss = w * ((y - T(1)) * log_1mx - y * log_x);
    // torch's gradient: (x - y) / max(x (1 - x), 1e-12), so 0 where x == y in {0, 1}.
    dloss = w * (x - y) / std::max((T(1) - x) * x, T(1e-12));
  }
};

template <class T>
struct BinaryCrossEntropyWithLogits {
  static constexpr bool kUsesWeights = true;
  static constexpr int kWorkPerElement = 8;  // measured: ~8 ns/element/thread
  static constexpr bool kChecksDomain = false;
  FASTLOSS_FORCE_INLINE static bool invalid(T, T) { return false; }
  FASTLOSS_FORCE_INLINE static void eval(T x, T y, T w, T pw, T& loss, T& dloss) {
    // -log sigmoid(x) = log1p(exp(-|x|)) + max(-x, 0): exp never overflows, any logit is finite.
    const T e = vecmath::exp(-std::abs(x));
    const T log_sigmoid_neg = vecmath::log1p_unit(e) + std::max(-x, T(0));  // -log sigmoid(x)
    const T sigmoid = (x >= T(0) ? T(1) : e) / (T(1) + e);
    const T pos = pw * y;  // weight of the positive term
    loss = w * ((T(1) - y) * x + (T(1) - y + pos) * log_sigmoid_neg);
    dloss = w * ((T(1) - y + pos) * sigmoid - pos);
  }
};

}  // namespace

KernelResult bce_kernel(const ElementwiseProblem<float>& p) { return run_elementwise_loss<BinaryCrossEntropy<float>>(p); }
KernelResult bce_kernel(const ElementwiseProblem<double>& p) { return run_elementwise_loss<BinaryCrossEntropy<double>>(p); }
KernelResult bce_with_logits_kernel(const ElementwiseProblem<float>& p) {
  return run_elementwise_loss<BinaryCrossEntropyWithLogits<float>>(p);
}
KernelResult bce_with_logits_kernel(const ElementwiseProblem<double>& p) {
  return run_elementwise_loss<BinaryCrossEntropyWithLogits<double>>(p);
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
