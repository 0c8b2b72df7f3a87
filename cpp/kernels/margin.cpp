// Margin losses on a score and a +-1 label: soft margin (logistic) and hinge embedding (value
// and gradient in one pass).
#include <algorithm>
#include <cmath>

#include "fastloss/elementwise_driver.hpp"
#include "fastloss/loss_registry.hpp"
#include "fastloss/vecmath.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// torch.nn.SoftMarginLoss: log(1 + exp(-y x)), computed as softplus(z) = max(z, 0) +
// log1p(exp(-|z|)) with z = -y x, so it is finite for any score (torch's log1p(exp(z))
// overflows to inf beyond z = 88 in float32, and its gradient to NaN).
template <class T>
struct SoftMargin : ElementwiseLossDefaults {
  static constexpr int kWorkPerElement = 8;  // an exp and a log1p, like BCE with logits
  FASTLOSS_FORCE_INLINE static void eval(const Params&, T x, T y, T& loss, T& dloss) {
    const T z = -y * x;
    const T e = vecmath::exp(-std::abs(z));
    loss = std::max(z, T(0)) + vecmath::log1p_unit(e);
    const T sigmoid_z = (z >= T(0) ? T(1) : e) / (T(1) + e);
    dloss = -y * sigmoid_z;
  }
};

// torch.nn.HingeEmbeddingLoss, term by term as torch writes it: x where y != -1, plus
// max(0, margin - x) where y != 1 (so a label other than +-1 gets both terms). The clamp's
// gradient passes where margin - x >= 0 (torch's clamp_min), and a NaN score keeps a NaN
// gradient (torch's is finite there: a NaN never disappears from a fastloss gradient).
template <class T>
struct HingeEmbedding : ElementwiseLossDefaults {
  struct Params {
    static constexpr int kCount = 1;
    T margin;
    explicit Params(const std::array<double, kMaxSettings>& s) : margin(static_cast<T>(s[0])) {}
  };
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T y, T& loss, T& dloss) {
    const T gap = s.margin - x;
    const T clamped = gap < T(0) ? T(0) : gap;  // NaN stays NaN
    const bool self_term = y != T(-1), margin_term = y != T(1);
    loss = (margin_term ? clamped : T(0)) + (self_term ? x : T(0));
    const T g = (self_term ? T(1) : T(0)) - (margin_term && gap >= T(0) ? T(1) : T(0));
    dloss = x != x ? x : g;
  }
};

}  // namespace

FASTLOSS_ELEMENTWISE_LOSS(soft_margin_loss, SoftMargin)
FASTLOSS_ELEMENTWISE_LOSS(hinge_embedding_loss, HingeEmbedding)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
