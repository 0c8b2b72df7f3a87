// Losses of three arrays with several differentiable ones: margin_ranking_loss (input1, input2)
// and gaussian_nll_loss (input, var) elementwise; cosine_embedding_loss (input1, input2) and
// triplet_margin_loss (all three) row-wise. Value and every gradient in one pass over memory.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fastloss/elementwise_driver.hpp"
#include "fastloss/kernel_table.hpp"
#include "fastloss/vecmath.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// A definition ("Op", a template over the compute type T), elementwise:
//   eval(s, a, b, c, loss, d_a, d_second)   one element's loss, d(loss)/da and d(loss)/d(second)
//   kSecond       which operand `second` is: 1 (b, of the input's shape) or 2 (c, which may be
//                 broadcast along one axis: its gradient is then summed along that axis)
//   in_domain(c)  c's domain (checked for every element before anything is written)
// or row-wise (kRowwise): a and b are (rows, d), c one value per row (or, with kThirdRow, a third
// (rows, d) array), and
//   row(s, a, b, c, d, g, d_a, d_b, d_c, scratch)   returns the row's loss and writes g times its
//                                                   gradients (d_c with kThirdRow; scratch: 3 d)

// torch.nn.MarginRankingLoss: max(0, margin - y (a - b)). The clamp passes the gradient where
// margin - y (a - b) >= 0 (torch's clamp_min); a NaN anywhere gives a NaN loss and gradients
// (torch's are 0 at a NaN a or b).
template <class T>
struct MarginRanking {
  static constexpr int kSecond = 1;
  static constexpr bool kRowwise = false;
  static constexpr int kWorkPerElement = 1;
  struct Params {
    T margin;
    explicit Params(const std::array<double, kMaxSettings>& s) : margin(static_cast<T>(s[0])) {}
  };
  static bool in_domain(T) { return true; }
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T a, T b, T y, T& loss, T& da, T& db) {
    const T z = s.margin - y * (a - b);
    loss = z < T(0) ? T(0) : z;  // NaN stays NaN
    // Each a select of its own: -g would give -0 where torch gives 0.
    da = z < T(0) ? T(0) : (z != z ? z : -y);
    db = z < T(0) ? T(0) : (z != z ? z : y);
  }
};

// torch.nn.GaussianNLLLoss: 0.5 (log v + (x - t)^2 / v) with v = max(var, eps), plus
// 0.5 log(2 pi) when full. torch clamps a copy of var outside autograd, so the gradient reaches
// var as if unclamped, evaluated at v: d/dvar = 0.5 (1 / v - (x - t)^2 / v^2).
template <class T>
struct GaussianNll {
  static constexpr int kSecond = 2;
  static constexpr bool kRowwise = false;
  static constexpr int kWorkPerElement = 4;  // a log and a division
  struct Params {
    T full, eps;  // full as 1 or 0 (see ElementwiseLossDefaults' note on flags)
    explicit Params(const std::array<double, kMaxSettings>& s)
        : full(static_cast<T>(s[0] != 0.0)), eps(static_cast<T>(s[1])) {}
  };
  static bool in_domain(T var) { return !(var < T(0)); }  // NaN passes (and propagates), as in torch
  FASTLOSS_FORCE_INLINE static void eval(const Params& s, T x, T t, T var, T& loss, T& dx, T& dvar) {
    const T v = var < s.eps ? s.eps : var;  // NaN stays NaN
    const T inv = T(1) / v;
    const T d = x - t;
    const T d_inv = d * inv;
    loss = T(0.5) * (vecmath::log(v) + d * d_inv) + s.full * T(0.91893853320467274178);  // 0.5 log(2 pi)
    dx = d_inv;
    dvar = T(0.5) * (inv - d_inv * d_inv);
  }
};

// torch.nn.CosineEmbeddingLoss, per row: cos = a.b / sqrt((|a|^2 + 1e-12)(|b|^2 + 1e-12)) (torch's
// EPSILON); 1 - cos where y == 1, max(0, cos - margin) where y == -1, 0 for any other label. The
// clamp passes the gradient where cos - margin >= 0 (torch's clamp_min). Sums in float64. A NaN
// in the row or its label gives a NaN loss and gradients (torch: 0 for a NaN or other label).
template <class T>
struct CosineEmbedding {
  static constexpr int kSecond = 1;
  static constexpr bool kRowwise = true;
  static constexpr bool kThirdRow = false;
  static constexpr int kWorkPerElement = 2;
  struct Params {
    T margin;
    explicit Params(const std::array<double, kMaxSettings>& s) : margin(static_cast<T>(s[0])) {}
  };
  static bool in_domain(T) { return true; }
  static double row(const Params& s, const T* a, const T* b, const T* label, std::int64_t d, T g, T* ga, T* gb, T*,
                    T*) {
    const T y = *label;
    double dot = 0.0, aa = 0.0, bb = 0.0;
#pragma omp simd reduction(+ : dot, aa, bb)
    for (std::int64_t k = 0; k < d; ++k) {
      dot += static_cast<double>(a[k]) * static_cast<double>(b[k]);
      aa += static_cast<double>(a[k]) * static_cast<double>(a[k]);
      bb += static_cast<double>(b[k]) * static_cast<double>(b[k]);
    }
    const double m1 = aa + 1e-12, m2 = bb + 1e-12, denom = std::sqrt(m1 * m2), cos = dot / denom;
    const double z = cos - static_cast<double>(s.margin);
    const double nan = cos != cos || y != y ? cos + static_cast<double>(y) : 0.0;  // NaN or 0
    const double loss = (y == T(1) ? 1.0 - cos : (y == T(-1) ? (z < 0.0 ? 0.0 : z) : 0.0)) + nan;
    const double d_cos = (y == T(1) ? -1.0 : (y == T(-1) && z >= 0.0 ? 1.0 : 0.0)) + nan;
    // d cos / da = b / denom - cos a / |a|^2, and symmetrically for b.
    const T u = static_cast<T>(static_cast<double>(g) * d_cos / denom);
    const T va = static_cast<T>(static_cast<double>(g) * d_cos * cos / m1);
    const T vb = static_cast<T>(static_cast<double>(g) * d_cos * cos / m2);
#pragma omp simd
    for (std::int64_t k = 0; k < d; ++k) {
      ga[k] = u * b[k] - va * a[k];
      gb[k] = u * a[k] - vb * b[k];
    }
    return loss;
  }
};

// ||v||_p of v = x - y + eps (torch's pairwise_distance), summed in float64, into `v`.
template <class T>
double distance(const T* x, const T* y, std::int64_t d, T p, T eps, T* v) {
  double sum = 0.0;
  if (p == T(2)) {
#pragma omp simd reduction(+ : sum)
    for (std::int64_t k = 0; k < d; ++k) {
      v[k] = x[k] - y[k] + eps;
      sum += static_cast<double>(v[k]) * static_cast<double>(v[k]);
    }
    return std::sqrt(sum);
  }
  for (std::int64_t k = 0; k < d; ++k) {
    v[k] = x[k] - y[k] + eps;
    sum += std::pow(std::abs(static_cast<double>(v[k])), static_cast<double>(p));
  }
  return std::pow(sum, 1.0 / static_cast<double>(p));
}

// v := coef times the gradient of ||v||_p, sign(v) |v|^(p-1) / ||v||^(p-1) (torch's norm backward:
// sign(v) for p = 1, and 0 for a zero norm).
template <class T>
void scale_by_norm_gradient(T* v, std::int64_t d, double norm, T p, double coef) {
  if (p == T(1)) {
    for (std::int64_t k = 0; k < d; ++k)
      v[k] = static_cast<T>(coef) * (v[k] > T(0) ? T(1) : (v[k] < T(0) ? T(-1) : v[k]));
    return;
  }
  // A zero distance has a zero gradient, unless coef is NaN (a NaN row keeps NaN gradients).
  const double zero = coef != coef ? coef : 0.0;
  const T scale = static_cast<T>(norm == 0.0 ? zero : coef / std::pow(norm, static_cast<double>(p) - 1.0));
  if (p == T(2)) {
#pragma omp simd
    for (std::int64_t k = 0; k < d; ++k) v[k] = scale * v[k];
    return;
  }
  for (std::int64_t k = 0; k < d; ++k) {
    const T mag = v[k] == T(0) ? T(0) : static_cast<T>(std::pow(std::abs(v[k]), p - T(1)));
    v[k] = scale * (v[k] < T(0) ? -mag : mag);
  }
}

// torch's triplet_margin_loss, per row: max(0, margin + d(a, p) - d(a, n)) with d the p-norm
// distance above; with swap, d(a, n) is min(d(a, n), d(p, n)) (a tie splits the gradient in halves,
// as torch's minimum). The clamp passes the gradient where its argument is >= 0, and a NaN row
// keeps NaN gradients.
template <class T>
struct TripletMargin {
  static constexpr int kSecond = 1;
  static constexpr bool kRowwise = true;
  static constexpr bool kThirdRow = true;
  static constexpr int kWorkPerElement = 4;
  struct Params {
    T margin, p, eps, swap;  // swap as 1 or 0
    explicit Params(const std::array<double, kMaxSettings>& s)
        : margin(static_cast<T>(s[0])),
          p(static_cast<T>(s[1])),
          eps(static_cast<T>(s[2])),
          swap(static_cast<T>(s[3] != 0.0)) {}
  };
  static bool in_domain(T) { return true; }
  static double row(const Params& s, const T* a, const T* pos, const T* neg, std::int64_t d, T g, T* ga, T* gp, T* gn,
                    T* scratch) {
    T *vp = scratch, *vn = scratch + d, *vs = scratch + 2 * d;
    const double dp = distance(a, pos, d, s.p, s.eps, vp), dn = distance(a, neg, d, s.p, s.eps, vn);
    const double ds = s.swap != T(0) ? distance(pos, neg, d, s.p, s.eps, vs) : dn;
    const double w_n = s.swap == T(0) || dn < ds ? 1.0 : (dn == ds ? 0.5 : 0.0), w_s = 1.0 - w_n;
    const double d_neg = dn != dn || ds != ds ? dn + ds : std::min(dn, ds);  // NaN propagates, as torch's min
    const double z = static_cast<double>(s.margin) + dp - d_neg;
    const double on = z != z ? z : (z >= 0.0 ? static_cast<double>(g) : 0.0);  // NaN keeps NaN gradients
    scale_by_norm_gradient(vp, d, dp, s.p, on);
    scale_by_norm_gradient(vn, d, dn, s.p, on * w_n);
    if (s.swap != T(0)) scale_by_norm_gradient(vs, d, ds, s.p, on * w_s);
    if (s.swap == T(0)) std::fill(vs, vs + d, T(0));  // (vs[k] read only with swap: a conditional load)
#pragma omp simd
    for (std::int64_t k = 0; k < d; ++k) {
      ga[k] = vp[k] - vn[k];
      gp[k] = -vp[k] - vs[k];
      gn[k] = vn[k] + vs[k];
    }
    return z < 0.0 ? 0.0 : z;
  }
};

// Loss and both derivatives of n elements, times the upstream gradient (go[k], or `scale`);
// kScalarC: c is one value for the whole tile.
template <class Op, bool kGrad, bool kGradArray, bool kScalarC, class C>
inline void eval_pair_tile(const typename Op::Params& s, std::int64_t n, const C* __restrict a, const C* __restrict b,
                           const C* __restrict c, const C* __restrict go, C scale, C* __restrict loss,
                           C* __restrict d_a, C* __restrict d_second) {
  const C c0 = c[0];
#pragma omp simd
  for (std::int64_t k = 0; k < n; ++k) {
    C loss_k, da_k, ds_k;
    Op::eval(s, a[k], b[k], kScalarC ? c0 : c[k], loss_k, da_k, ds_k);
    loss[k] = loss_k;
    if constexpr (kGrad) {
      const C g = kGradArray ? go[k] : scale;
      d_a[k] = g * da_k;
      d_second[k] = g * ds_k;
    }
  }
}

// The first index of c outside Op's domain, or -1.
template <class Op, class T>
std::int64_t first_invalid_c(const PairProblem<T>& p) {
  using C = compute_t<T>;
  return first_failing_index(p.c_count, p.n_threads, [&](std::int64_t lo, std::int64_t hi) -> std::int64_t {
    C buf[half::kHalfTile];
    for (std::int64_t i0 = lo; i0 < hi; i0 += half::kHalfTile) {
      const std::int64_t n = std::min(hi - i0, half::kHalfTile);
      const C* c = half::load_compute(p.c + i0, n, buf);
      int bad = 0;
#pragma omp simd reduction(| : bad)
      for (std::int64_t k = 0; k < n; ++k) bad |= Op::in_domain(c[k]) ? 0 : 1;
      if (!bad) continue;
      for (std::int64_t k = 0; k < n; ++k) {
        if (!Op::in_domain(c[k])) return i0 + k;
      }
    }
    return -1;
  });
}

constexpr std::int64_t kTile = half::kHalfTile;

// Whether the gradients of n elements go out with streaming stores: when the arrays the call
// reads and writes (three of n elements, and two or three gradients) are larger than the
// last-level cache, so the gradients would be evicted before anyone reads them and plain stores
// would read each of their lines for ownership first; and no gradient is an input
// (grad_out=input).
template <class T>
bool gradients_stream(const PairProblem<T>& p, std::int64_t n) {
  const bool in_place = p.grad_a == p.a || p.grad_second == p.b || p.grad_second == p.c || p.grad_third == p.c;
  const std::int64_t arrays = p.grad_third ? 6 : 5;
  return !in_place && arrays * n * static_cast<std::int64_t>(sizeof(T)) > streaming_threshold();
}

// The pass. The elements are laid out (outer, mid, inner) and c is (outer, inner): broadcast
// along mid (mid == 1: c has the input's shape). Work items, each owning its outputs:
//   rows    (inner == 1 < mid): item o is row o, whose c is one value and whose gradient for c
//           is the sum over the row;
//   columns (otherwise): item (o, j) is the inner chunk [j kTile, (j + 1) kTile) of slab o,
//           for every m; c's gradient for the chunk is summed over m in L1.
// Each item computes its tiles in the compute type in L1 and then stores them, so grad_out may
// be an input (every tile is read whole before its gradients are written). Items are summed in
// blocks that depend only on the shape: bitwise the same result for any thread count.
template <class Op, class T, bool kOut, bool kGrad, bool kGradArray>
KernelResult run_pair_pass(const PairProblem<T>& p) {
  using C = compute_t<T>;
  const typename Op::Params settings(p.settings);
  const bool rows = p.inner == 1 && p.mid > 1;
  const std::int64_t chunks = rows ? 1 : (p.inner + kTile - 1) / kTile;
  const std::int64_t items = p.outer * chunks;
  const std::int64_t per_item = rows ? p.mid : p.mid * std::min(p.inner, kTile);
  const C scale = p.grad_scale;
  const std::int64_t n = p.outer * p.mid * p.inner;
  const bool stream = kGrad && gradients_stream(p, n);

  auto tile = [&](std::int64_t e, std::int64_t c_at, std::int64_t n, bool scalar_c, detail::BlockSum<C>& acc,
                  C* d_second) {
    C a_buf[kTile], b_buf[kTile], c_buf[kTile], go_buf[kTile], loss[kTile], d_a[kTile];
    const C* a = half::load_compute(p.a + e, n, a_buf);
    const C* b = half::load_compute(p.b + e, n, b_buf);
    const C* c = half::load_compute(p.c + c_at, scalar_c ? 1 : n, c_buf);
    const C* go = kGradArray ? half::load_compute(p.grad_output + e, n, go_buf) : nullptr;
    if (scalar_c) {
      eval_pair_tile<Op, kGrad, kGradArray, true>(settings, n, a, b, c, go, scale, loss, d_a, d_second);
    } else {
      eval_pair_tile<Op, kGrad, kGradArray, false>(settings, n, a, b, c, go, scale, loss, d_a, d_second);
    }
    if constexpr (kOut) {
      half::store_compute(loss, n, p.loss_out + e);
    } else {
      acc.add(loss, n);
    }
    if constexpr (kGrad) store_output(d_a, n, p.grad_a + e, stream);
  };

  auto block = [&](std::int64_t lo, std::int64_t hi) -> double {
    detail::BlockSum<C> acc;
    C d_second[kTile];
    for (std::int64_t item = lo; item < hi; ++item) {
      if (rows) {  // one c value per row
        detail::BlockSum<C> row_sum;
        for (std::int64_t m0 = 0; m0 < p.mid; m0 += kTile) {
          const std::int64_t n = std::min(p.mid - m0, kTile);
          tile(item * p.mid + m0, item, n, true, acc, d_second);
          if constexpr (kGrad) row_sum.add(d_second, n);
        }
        if constexpr (kGrad) {
          const C total = static_cast<C>(row_sum.total());
          half::store_compute(&total, 1, p.grad_second + item);  // one value: a plain store
        }
        continue;
      }
      const std::int64_t o = item / chunks, i0 = (item % chunks) * kTile, n = std::min(p.inner - i0, kTile);
      const std::int64_t c_at = o * p.inner + i0;
      double column_sum[kTile] = {};
      for (std::int64_t m = 0; m < p.mid; ++m) {
        const std::int64_t e = (o * p.mid + m) * p.inner + i0;
        tile(e, c_at, n, false, acc, d_second);
        if constexpr (kGrad) {
          if (p.mid == 1) {
            store_output(d_second, n, p.grad_second + (Op::kSecond == 1 ? e : c_at), stream);
          } else {
#pragma omp simd
            for (std::int64_t k = 0; k < n; ++k) column_sum[k] += d_second[k];
          }
        }
      }
      if constexpr (kGrad) {
        if (p.mid != 1) {  // mid == 0: var shared along an empty axis gets a zero gradient
          C total[kTile];
          for (std::int64_t k = 0; k < n; ++k) total[k] = static_cast<C>(column_sum[k]);
          store_output(total, n, p.grad_second + c_at, stream);
        }
      }
    }
    if (stream) stream_fence();
    return acc.total();
  };

  KernelResult result;
  const std::int64_t items_per_block = std::max<std::int64_t>(1, kBlockSize / std::max<std::int64_t>(per_item, 1));
  const std::int64_t cost = n * (Op::kWorkPerElement + (is_half<T>::value ? 1 : 0));
  result.sum = blocked_sum(items, p.n_threads, block, items_per_block, cost);
  return result;
}

// A row-wise Op over p.outer rows of p.mid values (c: one per row). Each row's gradients are
// computed in scratch rows and then stored, so grad_out may be an input.
template <class Op, class T>
KernelResult run_pair_rows(const PairProblem<T>& p) {
  using C = compute_t<T>;
  const typename Op::Params settings(p.settings);
  const std::int64_t d = p.mid;
  const bool stream = p.grad_a && gradients_stream(p, p.outer * d);
  auto block = [&](std::int64_t lo, std::int64_t hi) -> double {
    // the three rows in the compute type, their gradients, and the definition's scratch
    std::vector<C> buf(static_cast<std::size_t>(9 * d + 1));
    C *a_buf = buf.data(), *b_buf = a_buf + d, *c_buf = b_buf + d, *ga = c_buf + d, *gb = ga + d, *gc = gb + d;
    C* scratch = gc + d;
    double sum = 0.0;
    for (std::int64_t r = lo; r < hi; ++r) {
      const C* a = half::load_compute(p.a + r * d, d, a_buf);
      const C* b = half::load_compute(p.b + r * d, d, b_buf);
      C label = 0;
      const C* c = &label;
      if constexpr (Op::kThirdRow) c = half::load_compute(p.c + r * d, d, c_buf);
      else label = half::to_compute(p.c[r]);
      const C g = p.grad_output ? half::to_compute(p.grad_output[r]) : p.grad_scale;
      const double loss = Op::row(settings, a, b, c, d, g, ga, gb, gc, scratch);
      if (p.loss_out) p.loss_out[r] = half::from_double<T>(loss);
      else sum += loss;
      if (!p.grad_a) continue;
      store_output(ga, d, p.grad_a + r * d, stream);
      store_output(gb, d, p.grad_second + r * d, stream);
      if constexpr (Op::kThirdRow) store_output(gc, d, p.grad_third + r * d, stream);
    }
    if (stream) stream_fence();
    return sum;
  };
  KernelResult result;
  const std::int64_t rows_per_block = std::max<std::int64_t>(1, kBlockSize / std::max<std::int64_t>(d, 1));
  result.sum = blocked_sum(p.outer, p.n_threads, block, rows_per_block, p.outer * d * Op::kWorkPerElement);
  return result;
}

template <class Op, class T>
KernelResult run_pair_elements(const PairProblem<T>& p) {
  const std::int64_t bad = first_invalid_c<Op>(p);
  if (bad >= 0) {
    KernelResult r;
    r.first_invalid = bad;
    return r;
  }
  const bool out = p.loss_out != nullptr, grad = p.grad_a != nullptr, garr = p.grad_output != nullptr;
  if (out) {
    if (!grad) return run_pair_pass<Op, T, true, false, false>(p);
    if (garr) return run_pair_pass<Op, T, true, true, true>(p);
    return run_pair_pass<Op, T, true, true, false>(p);
  }
  if (grad) return run_pair_pass<Op, T, false, true, false>(p);
  return run_pair_pass<Op, T, false, false, false>(p);
}

template <class Op, class T>
KernelResult run_pair_loss(const PairProblem<T>& p) {
  if constexpr (Op::kRowwise) {
    return run_pair_rows<Op>(p);
  } else {
    return run_pair_elements<Op>(p);
  }
}

}  // namespace

template <class T>
KernelResult paired_loss_kernel(const PairProblem<T>& p) {
  using C = compute_t<T>;
  switch (p.loss) {
    case PairLoss::MarginRanking: return run_pair_loss<MarginRanking<C>>(p);
    case PairLoss::GaussianNll: return run_pair_loss<GaussianNll<C>>(p);
    case PairLoss::CosineEmbedding: return run_pair_loss<CosineEmbedding<C>>(p);
    case PairLoss::TripletMargin: return run_pair_loss<TripletMargin<C>>(p);
  }
  return {};
}

FASTLOSS_INSTANTIATE_KERNEL(KernelResult, paired_loss_kernel, PairProblem)
FASTLOSS_INSTANTIATE_HALF_KERNEL(KernelResult, paired_loss_kernel, PairProblem)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
