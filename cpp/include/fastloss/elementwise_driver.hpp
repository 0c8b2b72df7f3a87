// The one driver behind every elementwise loss: value and gradient in a single pass over memory.
#pragma once

#include "fastloss/isa.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>

#include "fastloss/broadcast.hpp"
#include "fastloss/half.hpp"
#include "fastloss/kernels.hpp"
#include "fastloss/parallel.hpp"
#include "fastloss/streaming.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {

// An elementwise loss definition ("Op", a template over the float type T) derives from
// ElementwiseLossDefaults and overrides what it needs:
//   static void eval(const Params& s, T x, T y, T& loss, T& dloss)   loss and d(loss)/dx of one
//       element (with kPosWeighted: eval(s, x, y, pos_weight, loss, dloss))
//   struct Params   its scalar settings, read from ElementwiseProblem::settings (huber's delta);
//                   members of type T only (a flag as 1 or 0: GCC 12 leaves a loop that loads a
//                   bool member scalar), and selects, not branches, on them in eval; read each
//                   member into a local first (one read only inside a select is a conditional
//                   load, and the loop stays scalar)
//   kWeighted       the loss and gradient are multiplied by a broadcast `weight` (BCE)
//   kPosWeighted    eval takes a broadcast `pos_weight` (BCE with logits)
//   kDomain, in_domain(v)   the domain of input and target ("in [0, 1]"), checked before eval
//   kWorkPerElement   cost relative to mse, for the threading threshold
struct ElementwiseLossDefaults {
  struct Params {
    static constexpr int kCount = 0;  // settings read
    explicit Params(const std::array<double, kMaxSettings>&) {}
  };
  static constexpr bool kWeighted = false;
  static constexpr bool kPosWeighted = false;
  static constexpr int kWorkPerElement = 1;
  static constexpr const char* kDomain = nullptr;  // nullptr: any value
  template <class T>
  static bool in_domain(T) {
    return true;
  }
};

// Offsets of element (row, 0) in each operand of `layout`, `row` counting over all but the last dim.
inline BroadcastLayout::Offsets row_offsets(const BroadcastLayout& layout, std::int64_t row) {
  BroadcastLayout::Offsets off{};
  for (std::size_t d = layout.shape.size() - 1; d-- > 0;) {
    const std::int64_t idx = row % layout.shape[d];
    row /= layout.shape[d];
    for (int k = 0; k < BroadcastLayout::kOperands; ++k) off[k] += idx * layout.strides[d][k];
  }
  return off;
}

// Calls seg(first, length, offsets, inner_strides) for the runs of [lo, hi) along which every
// operand of `layout` advances by a constant stride.
template <class SegmentFn>
void for_each_segment(const BroadcastLayout& layout, std::int64_t lo, std::int64_t hi, SegmentFn&& seg) {
  const std::int64_t len_inner = layout.shape.back();
  const auto& s_inner = layout.strides.back();
  for (std::int64_t i = lo; i < hi;) {
    const std::int64_t row = i / len_inner, col = i % len_inner;
    const std::int64_t len = std::min(hi - i, len_inner - col);
    auto off = row_offsets(layout, row);
    for (int k = 0; k < BroadcastLayout::kOperands; ++k) off[k] += col * s_inner[k];
    seg(i, len, off, s_inner);
    i += len;
  }
}

namespace detail {

// Loss and gradient of n elements. The outputs are parameters so that __restrict holds (GCC
// ignores it on local pointers, and without it the loop does not vectorise).
template <class Op, bool kGrad, bool kGradArray, bool kWeight, bool kPosWeight, class T>
inline void eval_tile(const typename Op::Params& s, std::int64_t n, const T* __restrict x, const T* __restrict y,
                      const T* __restrict w, std::int64_t w_step, const T* __restrict pw, std::int64_t pw_step,
                      const T* __restrict go, T scale, T* __restrict loss, T* __restrict grad) {
#pragma omp simd
  for (std::int64_t k = 0; k < n; ++k) {
    T loss_k, dloss_k;
    if constexpr (Op::kPosWeighted) {
      Op::eval(s, x[k], y[k], kPosWeight ? pw[k * pw_step] : T(1), loss_k, dloss_k);
    } else {
      Op::eval(s, x[k], y[k], loss_k, dloss_k);
    }
    if constexpr (kWeight) {
      const T wk = w[k * w_step];
      loss_k *= wk;
      dloss_k *= wk;
    }
    loss[k] = loss_k;
    if constexpr (kGrad) grad[k] = (kGradArray ? go[k] : scale) * dloss_k;
  }
}

template <class Op, class T>
FASTLOSS_FORCE_INLINE bool invalid(T x, T y) {
  return !Op::in_domain(x) || !Op::in_domain(y);
}

template <class Op>
constexpr bool kChecksDomain = Op::kDomain != nullptr;

// The float64 sum of a block's per-element losses, in four vectors of eight running sums that
// do not wait for each other, added up once at the end of the block in a fixed order. (With
// one vector of sums per tile, as an `omp simd reduction` gives, each addition waited for the
// previous one and the sum cost more than mse's arithmetic.) GCC vector types: one source for
// every ISA level, two or four registers each below AVX-512.
template <class T>
struct Vector8;  // eight values of T
template <>
struct Vector8<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct Vector8<double> {
  typedef double type __attribute__((vector_size(64)));
};

template <class T>
class BlockSum {
  using Wide = typename Vector8<double>::type;
  using Narrow = typename Vector8<T>::type;
  Wide s0_{}, s1_{}, s2_{}, s3_{};
  double tail_ = 0.0;

  static FASTLOSS_FORCE_INLINE Wide load(const T* v) {
    Narrow x;
    std::memcpy(&x, v, sizeof x);
    return __builtin_convertvector(x, Wide);
  }

 public:
  FASTLOSS_FORCE_INLINE void add(const T* __restrict v, std::int64_t n) {
    Wide a0 = s0_, a1 = s1_, a2 = s2_, a3 = s3_;
    std::int64_t k = 0;
    for (; k + 32 <= n; k += 32) {
      a0 += load(v + k);
      a1 += load(v + k + 8);
      a2 += load(v + k + 16);
      a3 += load(v + k + 24);
    }
    s0_ = a0, s1_ = a1, s2_ = a2, s3_ = a3;
    for (; k < n; ++k) tail_ += static_cast<double>(v[k]);
  }
  double total() const {
    const Wide s = (s0_ + s1_) + (s2_ + s3_);
    double t = 0.0;
    for (int i = 0; i < 8; ++i) t += s[i];
    return t + tail_;
  }
};

// The first i in [lo, hi) whose input or target is outside Op's domain, or -1.
template <class Op, class T>
inline std::int64_t first_invalid_in(const T* __restrict x, const T* __restrict y, std::int64_t lo, std::int64_t hi) {
  int bad = 0;
#pragma omp simd reduction(| : bad)
  for (std::int64_t i = lo; i < hi; ++i) bad |= invalid<Op>(x[i], y[i]) ? 1 : 0;
  if (!bad) return -1;
  for (std::int64_t i = lo; i < hi; ++i) {  // rare path: find where
    if (invalid<Op>(x[i], y[i])) return i;
  }
  return -1;
}

// The first element outside Op's domain, or -1: a reading pass, for calls that must not write
// anything before they know (the gradient overwrites the input).
template <class Op, class T>
std::int64_t find_first_invalid(const ElementwiseProblem<T>& p) {
  return first_failing_index(p.n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) {
    return first_invalid_in<Op>(p.input, p.target, lo, hi);
  });
}

// The result of a call whose element i is outside Op's domain: which operand, and the domain.
template <class Op, class T>
KernelResult domain_error(const ElementwiseProblem<T>& p, std::int64_t i) {
  KernelResult r;
  r.first_invalid = i;
  r.invalid_operand = Op::in_domain(half::to_compute(p.input[i])) ? "target" : "input";
  r.domain = Op::kDomain;
  return r;
}

template <class Op, class T, bool kOut, bool kGrad, bool kGradArray, bool kWeight, bool kPosWeight, bool kStream>
KernelResult run_elementwise_pass(const ElementwiseProblem<T>& p) {
  std::atomic<std::int64_t> first_invalid{std::numeric_limits<std::int64_t>::max()};
  // Not __restrict: grad may be the input (see run_elementwise); eval_tile's parameters are.
  const T* x = p.input;
  const T* y = p.target;
  const T* w = p.weight;
  const T* pw = p.pos_weight;
  const T* go = p.grad_output;
  T* out = p.loss_out;
  T* grad = p.grad;
  const T scale = p.grad_scale;
  const typename Op::Params settings(p.settings);

  auto block = [&](std::int64_t lo, std::int64_t hi) -> double {
    BlockSum<T> acc;
    auto segment = [&](std::int64_t first, std::int64_t len, const BroadcastLayout::Offsets& off,
                       const BroadcastLayout::Offsets& step) {
      const T* ws = kWeight ? w + off[0] : nullptr;
      const T* pws = kPosWeight ? pw + off[1] : nullptr;
      const std::int64_t w_step = step[0], pw_step = step[1];
      // Tiles of kTile elements: the math loop writes the per-element losses to an L1 buffer and
      // a second, simple loop adds them in float64. Kept apart, both loops vectorise (a float64
      // reduction inside the branch-free math loop defeats GCC's if-conversion).
      constexpr std::int64_t kTile = 256;
      T tile_loss[kTile], tile_grad[kTile];
      for (std::int64_t t0 = 0; t0 < len; t0 += kTile) {
        const std::int64_t n_tile = std::min(len - t0, kTile), i0 = first + t0;
        // Before the tile's gradient is written: grad_out may be the input itself.
        if constexpr (kChecksDomain<Op>) {
          const std::int64_t bad = first_invalid_in<Op>(x, y, i0, i0 + n_tile);
          if (bad >= 0) lower_to(first_invalid, bad);
        }
        T* loss_dst = kOut ? out + i0 : tile_loss;
        T* grad_dst = !kGrad ? nullptr : (kStream ? tile_grad : grad + i0);
        eval_tile<Op, kGrad, kGradArray, kWeight, kPosWeight>(
            settings, n_tile, x + i0, y + i0, kWeight ? ws + t0 * w_step : nullptr, w_step,
            kPosWeight ? pws + t0 * pw_step : nullptr, pw_step, kGradArray ? go + i0 : nullptr, scale, loss_dst,
            grad_dst);
        if constexpr (kStream) stream_copy(grad + i0, tile_grad, n_tile);
        if constexpr (!kOut) {
          acc.add(tile_loss, n_tile);
        }
      }
    };
    if constexpr (kWeight || kPosWeight) {
      for_each_segment(p.layout, lo, hi, segment);
    } else {
      segment(lo, hi - lo, BroadcastLayout::Offsets{}, BroadcastLayout::Offsets{});
    }
    if constexpr (kStream) stream_fence();
    return acc.total();
  };

  KernelResult result;
  // Threads pay off at fewer elements the more arithmetic each element costs.
  result.sum = blocked_sum(p.n, p.n_threads, block, kBlockSize, p.n * Op::kWorkPerElement);
  const std::int64_t bad = first_invalid.load();
  if (bad != std::numeric_limits<std::int64_t>::max()) result = domain_error<Op>(p, bad);
  return result;
}

// A gradient larger than the last-level cache goes out with streaming stores (from an L1 tile),
// so its cache lines are never read for ownership first: 12 instead of 16 bytes of traffic per
// element, measured 11-16 % faster for mse and l1 at 16M elements on 2 threads. Only for the
// memory-bound losses: for exp/log-bound ones (BCE) the extra copy measured a few % slower.
// A template flag, not a runtime one: a runtime test in the tile loop made GCC's code for the
// cached case twice as slow in L1.
//
// grad_out=input (p.grad == p.input) takes the same path, for every loss: each tile's gradient
// is computed in the L1 tile after the tile's input was read, then copied over it, so no
// element is read through one pointer after it was written through the other, and the results
// are those of the separate-buffer call. A loss that checks its domain (BCE) checks the whole
// input first: an error must leave the caller's input as it was.
// Half storage (float16, bfloat16): each tile of 256 elements is widened to float32 in L1, run
// through the float32 code (eval_tile) and its loss and gradient narrowed back, so memory sees
// 2 bytes per value. A tile is read whole before its gradient is written: grad_out=input is safe.

// dst[k] = src[k * step] in float32 (step 0: a broadcast value, 1: contiguous).
template <class S>
inline void widen_strided(const S* src, std::int64_t step, float* dst, std::int64_t n) {
  if (step == 1) {
    half::widen(src, dst, n);
  } else {
    for (std::int64_t k = 0; k < n; ++k) dst[k] = half::to_float(src[k * step]);
  }
}

template <class Op, class S>
std::int64_t find_first_invalid_half(const ElementwiseProblem<S>& p) {
  return first_failing_index(p.n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) -> std::int64_t {
    float x[half::kHalfTile], y[half::kHalfTile];
    for (std::int64_t i0 = lo; i0 < hi; i0 += half::kHalfTile) {
      const std::int64_t n = std::min(hi - i0, half::kHalfTile);
      half::widen(p.input + i0, x, n);
      half::widen(p.target + i0, y, n);
      const std::int64_t bad = first_invalid_in<Op>(x, y, 0, n);
      if (bad >= 0) return i0 + bad;
    }
    return -1;
  });
}

// kStream: the gradient tiles, narrowed in L1, go out with streaming stores (for gradients
// larger than the last-level cache: 6 instead of 8 bytes of memory traffic per element).
template <class Op, class S, bool kOut, bool kGrad, bool kGradArray, bool kWeight, bool kPosWeight, bool kStream>
KernelResult run_half_pass(const ElementwiseProblem<S>& p) {
  if constexpr (kGrad && kChecksDomain<Op>) {  // the whole input first: the gradient may overwrite it
    if (p.grad == p.input) {
      const std::int64_t bad = find_first_invalid_half<Op>(p);
      if (bad >= 0) return domain_error<Op>(p, bad);
    }
  }
  std::atomic<std::int64_t> first_invalid{std::numeric_limits<std::int64_t>::max()};
  const typename Op::Params settings(p.settings);
  auto block = [&](std::int64_t lo, std::int64_t hi) -> double {
    BlockSum<float> acc;
    auto segment = [&](std::int64_t first, std::int64_t len, const BroadcastLayout::Offsets& off,
                       const BroadcastLayout::Offsets& step) {
      float x[half::kHalfTile], y[half::kHalfTile], w[half::kHalfTile], pw[half::kHalfTile], go[half::kHalfTile],
          loss[half::kHalfTile], grad[half::kHalfTile];
      S narrowed[kStream ? half::kHalfTile : 1];
      for (std::int64_t t0 = 0; t0 < len; t0 += half::kHalfTile) {
        const std::int64_t n = std::min(len - t0, half::kHalfTile), i0 = first + t0;
        half::widen(p.input + i0, x, n);
        half::widen(p.target + i0, y, n);
        if constexpr (kChecksDomain<Op>) {
          const std::int64_t bad = first_invalid_in<Op>(x, y, 0, n);
          if (bad >= 0) lower_to(first_invalid, i0 + bad);
        }
        if constexpr (kWeight) widen_strided(p.weight + off[0] + t0 * step[0], step[0], w, n);
        if constexpr (kPosWeight) widen_strided(p.pos_weight + off[1] + t0 * step[1], step[1], pw, n);
        if constexpr (kGradArray) half::widen(p.grad_output + i0, go, n);
        eval_tile<Op, kGrad, kGradArray, kWeight, kPosWeight>(settings, n, x, y, w, 1, pw, 1, go, p.grad_scale, loss,
                                                              grad);
        if constexpr (kOut) half::narrow(loss, p.loss_out + i0, n);
        if constexpr (kStream) {
          half::narrow(grad, narrowed, n);
          stream_copy(p.grad + i0, narrowed, n);
        } else if constexpr (kGrad) {
          half::narrow(grad, p.grad + i0, n);
        }
        if constexpr (!kOut) {
          acc.add(loss, n);
        }
      }
    };
    if constexpr (kWeight || kPosWeight) {
      for_each_segment(p.layout, lo, hi, segment);
    } else {
      segment(lo, hi - lo, BroadcastLayout::Offsets{}, BroadcastLayout::Offsets{});
    }
    if constexpr (kStream) stream_fence();
    return acc.total();
  };
  KernelResult result;
  // The conversions cost about as much as mse's arithmetic: threads pay off at half the size.
  result.sum = blocked_sum(p.n, p.n_threads, block, kBlockSize, p.n * (Op::kWorkPerElement + 1));
  const std::int64_t bad = first_invalid.load();
  if (bad != std::numeric_limits<std::int64_t>::max()) result = domain_error<Op>(p, bad);
  return result;
}

// Whether a pass writes its gradient with streaming stores: when the arrays it reads and writes
// (input, target, gradient, and out= / an array grad_output where given) together exceed the
// last-level cache, so the gradient lines would be evicted before anyone reads them and plain
// stores would first read each line for ownership. Measured (Zen 5, l1): float16 at 1.6e7
// elements (96 MB) 3.2 -> 1.7 ms; float32 already gains at 3e6 (36 MB); float16 at 3e6 (18 MB,
// fits) loses. (Comparing the gradient alone with the cache left float16 at 1.6e7 unstreamed.)
template <class T, bool kOut, bool kGradArray>
bool pass_exceeds_cache(std::int64_t n) {
  constexpr std::int64_t arrays = 3 + (kOut ? 1 : 0) + (kGradArray ? 1 : 0);
  return arrays * n * static_cast<std::int64_t>(sizeof(T)) > streaming_threshold();
}

template <class Op, class T, bool kOut, bool kGrad, bool kGradArray, bool kWeight, bool kPosWeight>
KernelResult run_elementwise(const ElementwiseProblem<T>& p) {
  if constexpr (is_half<T>::value) {
    if constexpr (kGrad) {
      if (pass_exceeds_cache<T, kOut, kGradArray>(p.n)) {
        return run_half_pass<Op, T, kOut, kGrad, kGradArray, kWeight, kPosWeight, true>(p);
      }
    }
    return run_half_pass<Op, T, kOut, kGrad, kGradArray, kWeight, kPosWeight, false>(p);
  } else {
    if constexpr (kGrad) {
      const bool in_place = p.grad == p.input;
      if constexpr (kChecksDomain<Op>) {
        if (in_place) {
          const std::int64_t bad = find_first_invalid<Op>(p);
          if (bad >= 0) return domain_error<Op>(p, bad);
        }
      }
      if (in_place || (Op::kWorkPerElement <= 2 && pass_exceeds_cache<T, kOut, kGradArray>(p.n))) {
        return run_elementwise_pass<Op, T, kOut, kGrad, kGradArray, kWeight, kPosWeight, true>(p);
      }
    }
    return run_elementwise_pass<Op, T, kOut, kGrad, kGradArray, kWeight, kPosWeight, false>(p);
  }
}

template <class Op, class T, bool kWeight, bool kPosWeight>
KernelResult dispatch_outputs(const ElementwiseProblem<T>& p) {
  const bool out = p.loss_out != nullptr, grad = p.grad != nullptr, garr = p.grad_output != nullptr;
  if (out) {
    if (!grad) return run_elementwise<Op, T, true, false, false, kWeight, kPosWeight>(p);
    if (garr) return run_elementwise<Op, T, true, true, true, kWeight, kPosWeight>(p);
    return run_elementwise<Op, T, true, true, false, kWeight, kPosWeight>(p);
  }
  if (grad) return run_elementwise<Op, T, false, true, false, kWeight, kPosWeight>(p);
  return run_elementwise<Op, T, false, false, false, kWeight, kPosWeight>(p);
}

}  // namespace detail

// Runs Op over the problem, picking the specialisation for which outputs and operands exist
// (so the common unweighted loop carries no branches or dummy loads).
template <class Op, class T>
KernelResult run_elementwise_loss(const ElementwiseProblem<T>& p) {
  const bool w = Op::kWeighted && p.weight != nullptr, pw = Op::kPosWeighted && p.pos_weight != nullptr;
  if constexpr (Op::kWeighted && Op::kPosWeighted) {
    if (w && pw) return detail::dispatch_outputs<Op, T, true, true>(p);
  }
  if constexpr (Op::kWeighted) {
    if (w) return detail::dispatch_outputs<Op, T, true, false>(p);
  }
  if constexpr (Op::kPosWeighted) {
    if (pw) return detail::dispatch_outputs<Op, T, false, true>(p);
  }
  return detail::dispatch_outputs<Op, T, false, false>(p);
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
