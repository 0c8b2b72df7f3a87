// Half precision <-> float32 over arrays (half.hpp's block conversions), for the tests that check
// every half value at every ISA level.
#include "fastloss/half.hpp"
#include "fastloss/kernel_table.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {

void half_convert_kernel(const HalfConvertProblem& p) {
  switch (p.conversion) {
    case HalfConversion::Float16ToFloat:
      return half::widen(static_cast<const float16_t*>(p.src), static_cast<float*>(p.dst), p.n);
    case HalfConversion::FloatToFloat16:
      return half::narrow(static_cast<const float*>(p.src), static_cast<float16_t*>(p.dst), p.n);
    case HalfConversion::Bfloat16ToFloat:
      return half::widen(static_cast<const bfloat16_t*>(p.src), static_cast<float*>(p.dst), p.n);
    case HalfConversion::FloatToBfloat16:
      return half::narrow(static_cast<const float*>(p.src), static_cast<bfloat16_t*>(p.dst), p.n);
  }
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
