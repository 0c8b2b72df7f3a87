// Reading small operands (weight, pos_weight) broadcast against a C-contiguous input without
// materialising them at the input's size.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace fastloss {

// Up to two operands broadcast to the input's shape. The dimensions are collapsed jointly
// (adjacent dims merge when every operand steps through them as one), so the common cases
// become one or two dims: weight of the input's shape -> 1 dim; pos_weight (C,) for (N, C)
// -> dims (N, C) with strides (0, 1). Strides are in elements, 0 on broadcast axes.
struct BroadcastLayout {
  static constexpr int kOperands = 2;
  using Offsets = std::array<std::int64_t, kOperands>;
  std::vector<std::int64_t> shape;  // outermost .. innermost
  std::vector<Offsets> strides;     // per dim, per operand

  // `operand_strides[k]` is empty for an absent operand (treated as stride 0 everywhere).
  static BroadcastLayout make(const std::vector<std::int64_t>& input_shape,
                              const std::array<std::vector<std::int64_t>, kOperands>& operand_strides) {
    BroadcastLayout layout;
    for (std::size_t d = 0; d < input_shape.size(); ++d) {
      if (input_shape[d] == 1) continue;  // a length-1 axis never moves any operand
      Offsets s{};
      for (int k = 0; k < kOperands; ++k) s[k] = operand_strides[k].empty() ? 0 : operand_strides[k][d];
      if (!layout.shape.empty()) {
        // Merge with the previous (outer) dim if, for every operand, stepping the outer dim
        // equals stepping the inner one shape[d] times.
        bool mergeable = true;
        for (int k = 0; k < kOperands; ++k) mergeable &= layout.strides.back()[k] == s[k] * input_shape[d];
        if (mergeable) {
          layout.shape.back() *= input_shape[d];
          layout.strides.back() = s;
          continue;
        }
      }
      layout.shape.push_back(input_shape[d]);
      layout.strides.push_back(s);
    }
    if (layout.shape.empty()) {  // 0-d or all-ones input: a single element
      layout.shape.push_back(1);
      layout.strides.push_back({});
    }
    return layout;
  }
};

}  // namespace fastloss
