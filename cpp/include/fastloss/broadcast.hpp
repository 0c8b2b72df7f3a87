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
  std::vector<std::int64_t> shape;     // outermost .. innermost
  std::vector<Offsets> strides;        // per dim, per operand

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

  std::int64_t inner() const { return shape.back(); }

  // Offsets of element (row, 0) in each operand, `row` counting over all but the last dim.
  Offsets row_offsets(std::int64_t row) const {
    Offsets off{};
    for (std::size_t d = shape.size() - 1; d-- > 0;) {
      const std::int64_t idx = row % shape[d];
      row /= shape[d];
      for (int k = 0; k < kOperands; ++k) off[k] += idx * strides[d][k];
    }
    return off;
  }

  // Calls seg(first, length, offsets, inner_strides) for the runs of [lo, hi) along which
  // every operand advances by a constant stride.
  template <class SegmentFn>
  void for_each_segment(std::int64_t lo, std::int64_t hi, SegmentFn&& seg) const {
    const std::int64_t len_inner = inner();
    const auto& s_inner = strides.back();
    for (std::int64_t i = lo; i < hi;) {
      const std::int64_t row = i / len_inner, col = i % len_inner;
      const std::int64_t len = std::min(hi - i, len_inner - col);
      auto off = row_offsets(row);
      for (int k = 0; k < kOperands; ++k) off[k] += col * s_inner[k];
      seg(i, len, off, s_inner);
      i += len;
    }
  }
};

}  // namespace fastloss
