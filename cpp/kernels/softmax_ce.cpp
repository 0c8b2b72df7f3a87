// The cross-entropy family: cross-entropy on logits (class-index or class-probability targets,
// weight, ignore_index, label smoothing), nll_loss on log-probabilities, and the per-time-step
// sequence cross-entropy (rows masked by lengths). Value and gradient in one sweep per row:
// an online log-sum-exp pass, then a pass writing the gradient while the row is in cache.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "fastloss/kernel_table.hpp"
#include "fastloss/kernels.hpp"
#include "fastloss/parallel.hpp"
#include "fastloss/streaming.hpp"
#include "fastloss/vecmath.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

constexpr std::int64_t kClassChunk = 2048;       // online log-sum-exp chunk: stays in L1
constexpr std::int64_t kPieceClasses = 1 << 16;  // longer rows are split into pieces (long_rows)
constexpr std::int64_t kTile = 64;               // positions per tile when the class axis is strided
constexpr std::int64_t kPrefetchBlock = 512;     // logits per exp block, between prefetches (measured)
template <class T>
constexpr std::int64_t kLineElements = 64 / sizeof(T);  // per cache line

template <class T>
constexpr T kNegInf = -std::numeric_limits<T>::infinity();

// The smallest and largest of x[0..n), ignoring NaN (a NaN logit reaches the loss through its
// exp instead). Written as lane-wise minima and maxima rather than an `omp simd reduction`,
// which GCC leaves scalar for floating point without -ffast-math: one vminps and one vmaxps
// per vector.
template <class T>
struct Range {
  T lo, hi;
};

template <class T>
Range<T> range_of(const T* __restrict x, std::int64_t n) {
  constexpr std::int64_t kLanes = 128 / sizeof(T);  // several registers' worth, for parallel chains
  T lo[kLanes], hi[kLanes];
  for (std::int64_t j = 0; j < kLanes; ++j) lo[j] = -kNegInf<T>, hi[j] = kNegInf<T>;
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::int64_t j = 0; j < kLanes; ++j) {
      lo[j] = x[i + j] < lo[j] ? x[i + j] : lo[j];
      hi[j] = x[i + j] > hi[j] ? x[i + j] : hi[j];
    }
  }
  // The tail: min and max do not mind seeing an element twice, so a full block ending at n
  // covers it with the vector code (a scalar tail loop cost more than a short row's exps).
  if (i < n && n >= kLanes) {
    i = n - kLanes;
    for (std::int64_t j = 0; j < kLanes; ++j) {
      lo[j] = x[i + j] < lo[j] ? x[i + j] : lo[j];
      hi[j] = x[i + j] > hi[j] ? x[i + j] : hi[j];
    }
  } else {
    for (std::int64_t j = 0; i + j < n; ++j) {
      lo[j] = x[i + j] < lo[j] ? x[i + j] : lo[j];
      hi[j] = x[i + j] > hi[j] ? x[i + j] : hi[j];
    }
  }
  // Halving steps, so the lanes fold vector by vector (a linear scan of them costs more than
  // the whole row's work for a 128-class row).
  for (std::int64_t width = kLanes / 2; width > 0; width /= 2) {
    for (std::int64_t j = 0; j < width; ++j) {
      lo[j] = lo[j + width] < lo[j] ? lo[j + width] : lo[j];
      hi[j] = hi[j + width] > hi[j] ? hi[j + width] : hi[j];
    }
  }
  return {lo[0], hi[0]};
}

// sum_c exp(x_c - shift) over c in [0, n), each term also stored in g when there is one.
// kNormal: the caller checked that every term is a normal number, so the cheaper exp_normal
// gives the same values as exp; it runs on the two halves of the range at once, in pairs.
template <bool kNormal, class T>
T sum_exp_shifted(const T* __restrict x, T* __restrict g, std::int64_t n, T shift) {
  T cs = 0;
  if constexpr (kNormal) {
    const std::int64_t half = n / 2;
    if (g) {
#pragma omp simd reduction(+ : cs)
      for (std::int64_t c = 0; c < half; ++c) {
        T e, e2;
        vecmath::exp_normal_pair(x[c] - shift, x[c + half] - shift, e, e2);
        g[c] = e;
        g[c + half] = e2;
        cs += e + e2;
      }
    } else {
#pragma omp simd reduction(+ : cs)
      for (std::int64_t c = 0; c < half; ++c) {
        T e, e2;
        vecmath::exp_normal_pair(x[c] - shift, x[c + half] - shift, e, e2);
        cs += e + e2;
      }
    }
    if (n % 2 != 0) {  // the last term
      const T e = vecmath::exp_normal(x[n - 1] - shift);
      if (g) g[n - 1] = e;
      cs += e;
    }
    return cs;
  }
  if (g) {
#pragma omp simd reduction(+ : cs)
    for (std::int64_t c = 0; c < n; ++c) {
      const T e = vecmath::exp(x[c] - shift);
      g[c] = e;
      cs += e;
    }
  } else {
#pragma omp simd reduction(+ : cs)
    for (std::int64_t c = 0; c < n; ++c) cs += vecmath::exp(x[c] - shift);
  }
  return cs;
}

// Whether row r counts (not masked by lengths, not ignore_index), and its class index.
template <class T>
bool row_counts(const ClassProblem<T>& p, std::int64_t r, std::int64_t& cls) {
  if (p.lengths && r % p.seq_len >= p.lengths[r / p.seq_len]) return false;
  if (!p.target) return true;    // probability targets: every row counts
  if (!p.target.load(r, cls)) {  // a uint64 index beyond int64: out of range, never ignored
    cls = -1;
    return true;
  }
  return cls != p.ignore_index;
}

template <class T>
compute_t<T> row_scale(const ClassProblem<T>& p, std::int64_t r) {
  return p.grad_output ? p.grad_output[r / p.grad_group] : p.grad_scale;
}

// The per-row constants of the loss and gradient, shared by the contiguous and strided paths.
// With q_c the effective target distribution and w_c the class weights, every member of the
// family is   loss = sum_c w_c q_c (lse - x_c)   and   dloss/dx_j = (sum_c w_c q_c) p_j - w_j q_j.
// Class-index targets with smoothing eps: w_c q_c = (1 - eps) w_t [c == t] + eps/C w_c (torch).
template <class T>
struct Smoothing {
  T keep;    // 1 - eps
  T spread;  // eps / C
};

// The smoothing term's share of sum_c w_c q_c: eps/C sum_c w_c, and exactly 0 without smoothing
// (even when a weight is inf: 0 * inf would be NaN).
template <class T>
double smoothing_weight(Smoothing<T> sm, double weight_total) {
  return sm.spread != T(0) ? static_cast<double>(sm.spread) * weight_total : 0.0;
}

// Writes g[c] = a g[c] - scale w_c q'_c over [0, n) (w and y start where g does), where g[c] holds exp(x_c - shift)
// from the log-sum-exp pass, `a` carries the factor exp(shift - lse) times the coefficient of p_c, and q'_c is the part
// of the target that is not at the class index (eps/C for class targets, the smoothed probability otherwise).
template <class T>
void write_grad_chunk(T* __restrict g, const T* __restrict w, const T* __restrict y, std::int64_t n, T a, T scale,
                      Smoothing<T> sm) {
  // Separate loops with and without weight: a load under `w ? w[c] : 1` does not vectorise.
  if (y) {
    if (w) {
#pragma omp simd
      for (std::int64_t c = 0; c < n; ++c) g[c] = a * g[c] - scale * w[c] * (y[c] * sm.keep + sm.spread);
    } else {
#pragma omp simd
      for (std::int64_t c = 0; c < n; ++c) g[c] = a * g[c] - scale * (y[c] * sm.keep + sm.spread);
    }
  } else {
    const T b = scale * sm.spread;
    if (w && b != T(0)) {  // b == 0: no smoothing term, even where a weight is inf (0 * inf)
#pragma omp simd
      for (std::int64_t c = 0; c < n; ++c) g[c] = a * g[c] - b * w[c];
    } else {
#pragma omp simd
      for (std::int64_t c = 0; c < n; ++c) g[c] = a * g[c] - b;
    }
  }
}

// The online log-sum-exp of a range of a row's classes, with the extra sums the loss needs:
// sum_c w_c and sum_c w_c x_c for smoothing; sum_c w_c q_c and sum_c w_c q_c x_c for
// probability targets. Every sum of logits is kept relative to the running max (ref()), like
// the exps: the loss is then log s - (x_t - ref) and never a difference of two numbers of the
// logits' magnitude, so a common offset of 1e30 loses nothing (lse - x_t computed as
// (m + log s) - x_t would round log s away).
template <class T>
struct RowSums {
  T m = kNegInf<T>;  // the running max
  double s = 0.0;    // sum_c exp(x_c - ref())
  double w = 0.0;    // sum_c w_c                       (smoothing)
  double wd = 0.0;   // sum_c w_c (x_c - ref())         (smoothing)
  double wq = 0.0;   // sum_c w_c q_c                   (probability targets)
  double wqd = 0.0;  // sum_c w_c q_c (x_c - ref())     (probability targets)

  // What the sums are relative to: the max, or 0 while every logit so far is -inf (or NaN).
  T ref() const { return m == kNegInf<T> ? T(0) : m; }

  // Moves the reference to a larger max (sums still empty need nothing: 0 * inf is NaN).
  void raise_max(T new_max) {
    const double d = static_cast<double>(ref()) - static_cast<double>(new_max);
    if (s != 0.0) s *= vecmath::exp(d);
    if (w != 0.0) wd += w * d;
    if (wq != 0.0) wqd += wq * d;
    m = new_max;
  }
  void merge(RowSums o) {  // this range, then the range of `o`
    if (o.m > m) raise_max(o.m);
    else if (m > o.m) o.raise_max(m);
    s += o.s;
    w += o.w;
    wd += o.wd;
    wq += o.wq;
    wqd += o.wqd;
  }
};

// A finished gradient row waiting in a scratch row to be streamed out: block by block during
// the next row's log-sum-exp pass, so that the streaming stores overlap with the exps.
template <class S>
struct PendingRow {
  S* dst = nullptr;
  const S* src = nullptr;
};

// Memory to prefetch during a log-sum-exp pass, spread evenly over its blocks: the next row of
// a half-precision problem, which its widening then finds in the cache.
struct Ahead {
  const char* p = nullptr;
  std::int64_t bytes = 0;
};

// One contiguous row's operands in the compute type: in the input itself (float32, float64),
// or widened into scratch rows (half types, see half_rows). The problem supplies the rest.
template <class T>
struct RowData {
  const T* x = nullptr;    // the logits
  std::int64_t x_end = 0;  // x[x_end] is past what may be read (the prefetches' bound)
  const T* y = nullptr;    // the target probabilities, or nullptr
  T* g = nullptr;          // the gradient, or nullptr
};

// Row r of a float32 or float64 problem, read and written in place.
template <class T>
RowData<T> row_data(const ClassProblem<T>& p, std::int64_t r) {
  const std::int64_t C = p.classes;
  return {p.input + r * C, (p.rows() - r) * C, p.target_probs ? p.target_probs + r * C : nullptr,
          p.grad ? p.grad + r * C : nullptr};
}

// The log-sum-exp pass over classes [c0, c1) of a contiguous row, in L1-sized chunks: one read
// of the logits from memory. x and y hold the range's logits and target probabilities (from
// class c0; x may be read up to x[x_end], for prefetching). With a gradient to write,
// exp(x_c - shift) goes into exps[c - c0] (the gradient itself, or a scratch row) and each
// chunk's shift into shifts[k] (k counted from c0), so the gradient pass only rescales: one exp
// per logit. A `pending` row (of c1 - c0 elements) is streamed out along the way, and `ahead`
// prefetched. Half types: with `from`, the range's logits in the half type, each chunk is first
// widened into x (a float32 scratch row), so the pass reads it while it is in L1.
template <class S, class T = compute_t<S>>
RowSums<T> sum_exp_range(const ClassProblem<S>& p, std::int64_t c0, std::int64_t c1, const compute_t<S>* x,
                         std::int64_t x_end, const compute_t<S>* y, Smoothing<compute_t<S>> sm, compute_t<S>* shifts,
                         compute_t<S>* exps, PendingRow<S> pending = {}, Ahead ahead = {}, const S* from = nullptr) {
  const std::int64_t n = c1 - c0;
  // Indices below are relative to c0. Not __restrict: exps may be the input itself (when the
  // logits were copied); sum_exp_shifted's parameters are, and there they never alias.
  const T* w = p.weight ? p.weight + c0 : nullptr;
  const bool smooth_sum = p.target && sm.spread != T(0);
  RowSums<T> rs;
  std::int64_t ahead_done = 0;  // bytes of `ahead` prefetched so far
  for (std::int64_t k0 = 0, k = 0; k0 < n; k0 += kClassChunk, ++k) {
    const std::int64_t k1 = std::min(n, k0 + kClassChunk);
    if constexpr (is_half<S>::value) {
      if (from) half::widen(from + k0, const_cast<T*>(x) + k0, k1 - k0);  // x is the caller's scratch row
    }
    const Range<T> range = range_of(x + k0, k1 - k0);
    if (range.hi > rs.m) rs.raise_max(range.hi);
    const T shift = rs.ref();  // all -inf so far: exp(-inf - 0) = 0, not NaN
    T* e = exps ? exps + k0 : nullptr;
    if (e) shifts[k] = shift;
    // Logits within ~87 (float32) of the row max, the usual case, have only normal exps.
    const bool normal = range.lo - shift >= vecmath::Traits<T>::kExpNormalMin;
    // In blocks of kPrefetchBlock, each preceded by prefetches of the same part of the next
    // chunk: the hardware prefetcher sees no demand stream while the exps keep the core busy,
    // so without them the next chunk's range pass would wait for memory. Also in each block,
    // a block of the pending gradient row goes out with streaming stores.
    T cs = 0;
    for (std::int64_t j0 = k0; j0 < k1; j0 += kPrefetchBlock) {
      const std::int64_t j1 = std::min(k1, j0 + kPrefetchBlock);
      const std::int64_t pf1 = std::min(j1 + kClassChunk, x_end);
      for (std::int64_t c = j0 + kClassChunk; c < pf1; c += kLineElements<T>) __builtin_prefetch(x + c);
      T* ej = e ? e + (j0 - k0) : nullptr;
      cs += normal ? sum_exp_shifted<true>(x + j0, ej, j1 - j0, shift)
                   : sum_exp_shifted<false>(x + j0, ej, j1 - j0, shift);
      if (pending.dst) stream_copy(pending.dst + j0, pending.src + j0, j1 - j0);
      for (const std::int64_t b1 = ahead.bytes * j1 / n; ahead_done < b1; ahead_done += 64) {
        __builtin_prefetch(ahead.p + ahead_done, 0, 1);
      }
    }
    rs.s += static_cast<double>(cs);
    // The weighted sums in float64 per term: a float32 product of a tiny (even subnormal) class
    // weight would lose most of its digits, and the mean divides by the weights' sum.
    if (smooth_sum) {
      double cw = 0, cwd = 0;
      if (w) {
#pragma omp simd reduction(+ : cw, cwd)
        for (std::int64_t c = k0; c < k1; ++c) {
          cw += static_cast<double>(w[c]);
          cwd += static_cast<double>(w[c]) * static_cast<double>(x[c] - shift);
        }
      } else {
        cw = static_cast<double>(k1 - k0);
#pragma omp simd reduction(+ : cwd)
        for (std::int64_t c = k0; c < k1; ++c) cwd += static_cast<double>(x[c] - shift);
      }
      rs.w += cw;
      rs.wd += cwd;
    }
    if (y) {
      double cwq = 0, cwqd = 0;
#pragma omp simd reduction(+ : cwq, cwqd)
      for (std::int64_t c = k0; c < k1; ++c) {
        const double wq_c = (w ? static_cast<double>(w[c]) : 1.0) * static_cast<double>(y[c] * sm.keep + sm.spread);
        cwq += wq_c;
        cwqd += wq_c * static_cast<double>(x[c] - shift);
      }
      rs.wq += cwq;
      rs.wqd += cwqd;
    }
  }
  return rs;
}

// The weight of row r's class index (1 without weights or class indices).
template <class S>
compute_t<S> target_weight(const ClassProblem<S>& p, std::int64_t t) {
  return (p.target && p.weight) ? p.weight[t] : compute_t<S>(1);
}

// Row r's z-loss s w lse^2 (w: its target's weight, 1 for probability targets), written to
// row_z when wanted; its gradient 2 s w lse p_j adds 2 s w lse to `coef`, p_j's coefficient.
template <class S>
double z_loss(const ClassProblem<S>& p, std::int64_t r, double w, double lse, double& coef) {
  if (p.lse_square_scale == 0) return 0.0;  // row_z starts zeroed
  const double sw = static_cast<double>(p.lse_square_scale) * w;
  const double z = sw * lse * lse;
  if (p.row_z) p.row_z[r] = z;
  coef += 2.0 * sw * lse;
  return z;
}

// A row's loss from the sums over all its classes, x_t being its target's logit (read before
// anything was written: the gradient may overwrite the input), `probs` whether the targets are
// probabilities; sets total_wq = sum_c w_c q_c (plus the z-loss's share), the coefficient of p_j in the
// gradient.
// lse - x_c = log s - (x_c - ref) for every term.
template <class S, class T = compute_t<S>>
double row_loss_from_sums(const ClassProblem<S>& p, std::int64_t r, bool probs, std::int64_t t, compute_t<S> x_t,
                          const RowSums<compute_t<S>>& rs, Smoothing<compute_t<S>> sm, double weight_total,
                          compute_t<S>& total_wq) {
  const double log_s = std::log(rs.s);
  const double lse = static_cast<double>(rs.ref()) + log_s;
  if (probs) {
    double coef = rs.wq;
    const double loss = rs.wq * log_s - rs.wqd + z_loss(p, r, 1.0, lse, coef);
    total_wq = static_cast<T>(coef);
    return loss;
  }
  const double wt = static_cast<double>(target_weight(p, t));
  const double keep_wt = static_cast<double>(sm.keep) * wt;
  double loss = keep_wt * (log_s - (static_cast<double>(x_t) - static_cast<double>(rs.ref())));
  if (p.target && sm.spread != T(0)) loss += static_cast<double>(sm.spread) * (rs.w * log_s - rs.wd);
  double coef = keep_wt + smoothing_weight(sm, weight_total);
  loss += z_loss(p, r, wt, lse, coef);
  total_wq = static_cast<T>(coef);
  return loss;
}

// The gradient pass over classes [c0, c1) of row r (y: their target probabilities, or nullptr),
// whose pass over the same range left exp(x_c - shifts[k]) in exps[c - c0]; `m`
// and `s` are the merged sums of the whole row. The gradient is computed in place there (the
// gradient itself, or a scratch row). Half types: with `to`, each finished chunk is narrowed
// into it (the range's gradient in the half type) while it is in L1.
template <class S, class T = compute_t<S>>
void write_grad_range(const ClassProblem<S>& p, std::int64_t r, std::int64_t t, std::int64_t c0, std::int64_t c1,
                      const compute_t<S>* y, const compute_t<S>* shifts, compute_t<S> m, double s,
                      compute_t<S> total_wq, Smoothing<compute_t<S>> sm, compute_t<S>* exps, S* to = nullptr) {
  const T* __restrict w = p.weight;
  const T scale = row_scale(p, r);
  const T a = scale * total_wq;
  // exp(shift_k - lse) = exp(shift_k - m) / s: exactly 1 / s for the chunks shifted by the row
  // max (all of them when the range is one chunk), so short rows need no exp here.
  const double inv_s = 1.0 / s;
  for (std::int64_t k0 = c0, k = 0; k0 < c1; k0 += kClassChunk, ++k) {
    const double shifted = static_cast<double>(shifts[k]) - static_cast<double>(m);
    const T factor = static_cast<T>(shifts[k] == m ? inv_s : vecmath::exp(shifted) * inv_s);
    const std::int64_t k1 = std::min(c1, k0 + kClassChunk);
    T* e = exps + (k0 - c0);
    write_grad_chunk(e, w ? w + k0 : nullptr, y ? y + (k0 - c0) : nullptr, k1 - k0, a * factor, scale, sm);
    if (!y && t >= k0 && t < k1) e[t - k0] -= scale * sm.keep * target_weight(p, t);
    if constexpr (is_half<S>::value) {
      if (to) half::narrow(e, to + (k0 - c0), k1 - k0);
    }
  }
}

// A per-thread buffer of at least n elements, kept for the thread's lifetime (at most
// kPieceClasses elements: 256 KiB in float32, which stays in L2 between the two passes of a row).
template <class T>
T* thread_scratch(std::int64_t n) {
  thread_local std::vector<T> buffer;
  if (static_cast<std::int64_t>(buffer.size()) < n) buffer.resize(static_cast<std::size_t>(n));
  return buffer.data();
}

// Contiguous rows (class axis last) of up to kPieceClasses classes: the common (N, C) and
// (B, T, V) layouts. Row r's operands are in `row`; its gradient goes to row.g (the output row,
// or a scratch row to stream out later). `pending`, a previous row, is streamed out meanwhile
// (during the log-sum-exp pass, when the row has one) and `ahead` prefetched.
// Half types: `from` and `to` as for sum_exp_range and write_grad_range (when the row counts and
// is not nll_loss's: the caller widens and narrows those).
template <class S, class T = compute_t<S>>
double contiguous_row(const ClassProblem<S>& p, std::int64_t r, RowData<compute_t<S>> row, Smoothing<compute_t<S>> sm,
                      double weight_total, PendingRow<S> pending = {}, Ahead ahead = {}, const S* from = nullptr,
                      S* to = nullptr) {
  const std::int64_t C = p.classes;
  T* g = row.g;  // may be the input row itself: see float_rows
  std::int64_t t = 0;
  const bool counts = row_counts(p, r, t);
  if (!counts || p.log_probs) {
    if (pending.dst) stream_copy(pending.dst, pending.src, C);  // no pass to hide it in
  }
  if (!counts) {
    if (g) std::fill(g, g + C, T(0));  // ignored rows get a zero gradient, even for NaN logits
    return 0.0;
  }
  T x_t = T(0);  // read before the row's gradient is written
  if (p.target) x_t = from ? half::to_compute(from[t]) : row.x[t];
  if (p.log_probs) {  // nll_loss: the input already is log p
    const T wt = target_weight(p, t);
    if (g) {
      std::fill(g, g + C, T(0));
      g[t] = -row_scale(p, r) * wt;
    }
    return -static_cast<double>(wt) * static_cast<double>(x_t);
  }
  T shifts[kPieceClasses / kClassChunk];
  const RowSums<T> rs = sum_exp_range(p, 0, C, row.x, row.x_end, row.y, sm, shifts, g, pending, ahead, from);
  T total_wq;
  const double loss = row_loss_from_sums(p, r, row.y != nullptr, t, x_t, rs, sm, weight_total, total_wq);
  if (g) write_grad_range(p, r, t, 0, C, row.y, shifts, rs.m, rs.s, total_wq, sm, g, to);
  return loss;
}

// Whether the gradient of `logits` values of `bytes` each is streamed: when the logits and their
// gradient together exceed the last-level cache. Measured at 49 MB in all, 2 threads, Zen 5
// (32 MiB L3): float32 (512, 12000) 1.16 -> 0.96 ms; float16 (1024, 12000) 2.71 -> 2.23 ms.
inline bool logits_exceed_cache(std::int64_t logits, std::size_t bytes) {
  return 2 * logits * static_cast<std::int64_t>(bytes) > streaming_threshold();
}

// Rows [lo, hi) of a float32 or float64 problem, read and written in place.
//
// When the logits and their gradient exceed the last-level cache, the gradient is written with
// streaming stores from an L2 scratch row, so its cache lines are not read for ownership: 8
// instead of 12 bytes of memory traffic per logit. Measured on (4096, 32000) float32, 2
// threads: 97 -> 92 ms (streamed in one burst after each row instead of during the next row's
// exps, it gained nothing).
// nll_loss's gradient is mostly zeros and keeps plain stores, and so do rows longer than
// kPieceClasses (long_rows: their pieces' two passes can run on different threads).
//
// grad_out=input takes the streaming path at any size: there each row's gradient waits in the
// scratch row until the next row's pass, so no logit is overwritten before it was read, and
// the results are those of the separate-buffer call.
template <class T>
double float_rows(const ClassProblem<T>& p, std::int64_t lo, std::int64_t hi, Smoothing<T> sm, double weight_total) {
  const std::int64_t C = p.classes;
  const bool stream = p.grad && !p.log_probs && (p.grad == p.input || logits_exceed_cache(p.rows() * C, sizeof(T)));
  T* scratch = stream ? thread_scratch<T>(2 * C) : nullptr;  // one row being filled, one waiting
  PendingRow<T> pending;
  double acc = 0.0;
  for (std::int64_t r = lo; r < hi; ++r) {
    RowData<T> row = row_data(p, r);
    if (stream) row.g = scratch + (r % 2) * C;
    const double loss = contiguous_row(p, r, row, sm, weight_total, pending);
    if (stream) pending = {p.grad + r * C, row.g};
    if (p.row_loss) p.row_loss[r] = loss;
    acc += loss;
  }
  if (pending.dst) stream_copy(pending.dst, pending.src, C);
  if (stream) stream_fence();
  return acc;
}

// Rows [lo, hi) of a half-precision problem: the float32 row code runs on float32 scratch rows
// that stay in L2, each chunk of logits widened into one just before the chunk's log-sum-exp
// pass, each chunk of the gradient narrowed into the output as soon as it is final. So the
// values are those of float32 on the same (half-valued) inputs, rounded once, and
// grad_out=input needs no care: the gradient pass starts after the whole row was read. The next
// row's logits are prefetched during the exps; a gradient larger than the last-level cache is
// narrowed into a half scratch row and streamed out during the next row's exps, as float_rows
// does.
template <class S>
double half_rows(const ClassProblem<S>& p, std::int64_t lo, std::int64_t hi, Smoothing<float> sm, double weight_total) {
  const std::int64_t C = p.classes;
  float* x = thread_scratch<float>(3 * C);
  float* y = x + C;
  float* g = y + C;
  const bool stream = p.grad && logits_exceed_cache(p.rows() * C, sizeof(S));
  S* narrowed = stream ? thread_scratch<S>(2 * C) : nullptr;  // one row being filled, one waiting
  PendingRow<S> pending;
  double acc = 0.0;
  for (std::int64_t r = lo; r < hi; ++r) {
    S* out = !p.grad ? nullptr : stream ? narrowed + (r % 2) * C : p.grad + r * C;
    std::int64_t t = 0;
    const bool counts = row_counts(p, r, t);
    const bool fused = counts && !p.log_probs;  // widened and narrowed chunk by chunk
    if (fused && p.target_probs) half::widen(p.target_probs + r * C, y, C);
    if (counts && p.log_probs) x[t] = half::to_float(p.input[r * C + t]);  // nll_loss reads only x_t
    const RowData<float> row{x, 0, p.target_probs ? y : nullptr, p.grad ? g : nullptr};
    Ahead ahead;
    if (r + 1 < p.rows() && !p.log_probs) {  // also past the block: blocks are often 2 rows
      ahead = {reinterpret_cast<const char*>(p.input + (r + 1) * C), C * std::int64_t{sizeof(S)}};
    }
    const double loss =
        contiguous_row(p, r, row, sm, weight_total, pending, ahead, fused ? p.input + r * C : nullptr, out);
    if (out && !fused) half::narrow(g, out, C);
    if (stream) pending = {p.grad + r * C, out};
    if (p.row_loss) p.row_loss[r] = loss;
    acc += loss;
  }
  if (pending.dst) stream_copy(pending.dst, pending.src, C);
  if (stream) stream_fence();
  return acc;
}

// Rows of more than kPieceClasses classes, split into pieces of kPieceClasses: the log-sum-exp
// passes of all pieces of all rows run in parallel, their sums are merged per row in piece
// order, then the gradient passes run in parallel. So a single long row (a large vocabulary,
// one sequence step) uses every thread, and the pieces depend only on the shape: the result is
// the same for any thread count.
//
// float32 / float64 keep each piece's exps in the gradient between the two passes. The half
// types widen each piece into float32 scratch for each pass and compute its exps again in the
// second (the same code on the same values: the same exps), as a half gradient buffer could
// not hold them to float32 precision.
template <class S>
double long_rows(const ClassProblem<S>& p, Smoothing<compute_t<S>> sm, double weight_total) {
  using T = compute_t<S>;
  constexpr bool kHalf = is_half<S>::value;
  constexpr std::int64_t kChunksPerPiece = kPieceClasses / kClassChunk;
  const std::int64_t C = p.classes, rows = p.rows();
  const std::int64_t pieces = (C + kPieceClasses - 1) / kPieceClasses, items = rows * pieces;
  std::vector<RowSums<T>> sums(static_cast<std::size_t>(items));
  std::vector<T> shifts(static_cast<std::size_t>(items * kChunksPerPiece));
  std::vector<std::int64_t> cls(static_cast<std::size_t>(rows), 0);
  std::vector<char> counts(static_cast<std::size_t>(rows));
  std::vector<T> x_t(static_cast<std::size_t>(rows), T(0));  // read before any gradient is written
  for (std::int64_t r = 0; r < rows; ++r) {
    counts[r] = row_counts(p, r, cls[r]);
    if (counts[r] && p.target) x_t[r] = half::to_compute(p.input[r * C + cls[r]]);
  }
  // grad_out=input (float32 / float64): each piece's logits are copied to a scratch row (in L2)
  // first and read from there, while its exps overwrite the input.
  const bool in_place = static_cast<const void*>(p.grad) == static_cast<const void*>(p.input);
  const int n_threads = threads_for(rows * C * 4, items, p.n_threads);  // an exp per logit: 4x mse's work

  auto for_each_piece = [&](auto&& piece_fn) {
    parallel_for(items, n_threads, [&](std::int64_t i) {
      const std::int64_t r = i / pieces, c0 = (i % pieces) * kPieceClasses;
      piece_fn(i, r, c0, std::min(C, c0 + kPieceClasses));
    });
  };
  // The piece's operands in the compute type; `exps` where its exps go (nullptr: nowhere).
  struct Piece {
    const T* x;
    std::int64_t x_end;
    const T* y;
    T* exps;
  };
  auto piece_data = [&](std::int64_t r, std::int64_t c0, std::int64_t c1, bool with_exps) -> Piece {
    const std::int64_t n = c1 - c0, at = r * C + c0;
    if constexpr (kHalf) {
      float* buf = thread_scratch<float>(3 * n);  // logits, target probabilities, exps
      half::widen(p.input + at, buf, n);
      if (p.target_probs) half::widen(p.target_probs + at, buf + n, n);
      return {buf, n, p.target_probs ? buf + n : nullptr, with_exps ? buf + 2 * n : nullptr};
    } else {
      const T* y = p.target_probs ? p.target_probs + at : nullptr;
      T* exps = with_exps ? p.grad + at : nullptr;
      if (in_place) {
        T* logits = thread_scratch<T>(n);
        std::copy(p.input + at, p.input + at + n, logits);
        return {logits, n, y, exps};
      }
      return {p.input + at, rows * C - at, y, exps};
    }
  };
  for_each_piece([&](std::int64_t i, std::int64_t r, std::int64_t c0, std::int64_t c1) {
    if (counts[r]) {
      const Piece d = piece_data(r, c0, c1, p.grad && !kHalf);
      sums[i] = sum_exp_range(p, c0, c1, d.x, d.x_end, d.y, sm, &shifts[i * kChunksPerPiece], d.exps);
    } else if (p.grad) {
      std::fill(p.grad + r * C + c0, p.grad + r * C + c1, S{});
    }
  });

  double acc = 0.0;
  std::vector<T> total_wq(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    double loss = 0.0;
    if (counts[r]) {
      RowSums<T>& row = sums[r * pieces];
      for (std::int64_t k = 1; k < pieces; ++k) row.merge(sums[r * pieces + k]);
      loss = row_loss_from_sums(p, r, p.target_probs != nullptr, cls[r], x_t[r], row, sm, weight_total, total_wq[r]);
    }
    if (p.row_loss) p.row_loss[r] = loss;
    acc += loss;
  }
  if (p.grad) {
    for_each_piece([&](std::int64_t i, std::int64_t r, std::int64_t c0, std::int64_t c1) {
      if (!counts[r]) return;
      const RowSums<T>& row = sums[r * pieces];
      T* exps = nullptr;
      const T* y = nullptr;
      if constexpr (kHalf) {
        const Piece d = piece_data(r, c0, c1, true);
        sum_exp_range(p, c0, c1, d.x, d.x_end, d.y, sm, &shifts[i * kChunksPerPiece], d.exps);
        exps = d.exps;
        y = d.y;
      } else {
        exps = p.grad + r * C + c0;
        y = p.target_probs ? p.target_probs + r * C + c0 : nullptr;
      }
      write_grad_range(p, r, cls[r], c0, c1, y, &shifts[i * kChunksPerPiece], row.m, row.s, total_wq[r], sm, exps);
      if constexpr (kHalf) half::narrow(exps, p.grad + r * C + c0, c1 - c0);
    });
  }
  return acc;
}

// A tile of up to kTile positions (n, d0 .. d0+len) of an (N, C, d1, ...) input: the class axis
// has stride `inner`, positions are contiguous, so the loops vectorise across positions. Every
// logit of the tile is read (and the target logits used) before the first gradient element is
// written, so the gradient may be the input itself; hence no __restrict on base and gbase.
// S is the storage type; half types are widened a class line (len values) at a time.
template <class S>
struct StridedTile {
  using T = compute_t<S>;
  std::int64_t len = 0, r0 = 0;  // positions, and the row of the first
  const S* base = nullptr;       // logit (class 0, first position)
  S* gbase = nullptr;            // its gradient, or nullptr
  const S* ybase = nullptr;      // its target probability, or nullptr
  bool counts[kTile];
  std::int64_t cls[kTile];
  T scale[kTile], wt[kTile];
  T coef[kTile];  // scale * sum_c w_c q_c: the coefficient of p_c in the gradient
  // Online log-sum-exp per position, every sum relative to ref = the running max (0 while it is
  // -inf), as RowSums: a large common offset of the logits loses nothing.
  double m[kTile], s[kTile], wsum[kTile], wd[kTile], wq[kTile], wqd[kTile], log_s[kTile];

  double ref(std::int64_t k) const { return m[k] == -std::numeric_limits<double>::infinity() ? 0.0 : m[k]; }
};

// len values from src in the compute type: src itself, or for a half type widened into buf.
template <class S>
const compute_t<S>* compute_line(const S* src, std::int64_t len, compute_t<S>* buf) {
  if constexpr (is_half<S>::value) {
    half::widen(src, buf, len);
    return buf;
  } else {
    (void)len, (void)buf;
    return src;
  }
}

template <class S>
void start_tile(const ClassProblem<S>& p, std::int64_t n, std::int64_t d0, std::int64_t len, StridedTile<S>& t) {
  using T = compute_t<S>;
  const std::int64_t C = p.classes, D = p.inner;
  t.len = len;
  t.r0 = n * D + d0;
  t.base = p.input + n * C * D + d0;
  t.gbase = p.grad ? p.grad + n * C * D + d0 : nullptr;
  t.ybase = p.target_probs ? p.target_probs + n * C * D + d0 : nullptr;
  for (std::int64_t k = 0; k < len; ++k) {
    t.cls[k] = 0;
    t.counts[k] = row_counts(p, t.r0 + k, t.cls[k]);
    if (!t.counts[k]) t.cls[k] = 0;
    t.scale[k] = t.counts[k] ? row_scale(p, t.r0 + k) : T(0);
    t.wt[k] = (p.target && p.weight) ? p.weight[t.cls[k]] : T(1);
    t.m[k] = -std::numeric_limits<double>::infinity();
    t.s[k] = t.wsum[k] = t.wd[k] = t.wq[k] = t.wqd[k] = t.log_s[k] = 0.0;
  }
}

// The log-sum-exp sums of every position, class by class.
template <class S>
void tile_sums(const ClassProblem<S>& p, Smoothing<compute_t<S>> sm, StridedTile<S>& t) {
  using T = compute_t<S>;
  const std::int64_t D = p.inner;
  const bool smooth_sum = p.target && sm.spread != T(0);
  T x_line[kTile], y_line[kTile];
  for (std::int64_t c = 0; c < p.classes; ++c) {
    const T* __restrict xc = compute_line(t.base + c * D, t.len, x_line);
    const T* __restrict yc = t.ybase ? compute_line(t.ybase + c * D, t.len, y_line) : nullptr;
    const double wc = p.weight ? static_cast<double>(p.weight[c]) : 1.0;
    for (std::int64_t k = 0; k < t.len; ++k) {
      const double v = xc[k];
      if (v > t.m[k]) {                 // online log-sum-exp update: move the reference to the new max
        const double d = t.ref(k) - v;  // -inf from ref 0 to v = -1e30 is fine: nothing to rescale yet
        t.s[k] = (t.s[k] != 0.0 ? t.s[k] * vecmath::exp(d) : 0.0) + 1.0;
        if (t.wsum[k] != 0.0) t.wd[k] += t.wsum[k] * d;
        if (t.wq[k] != 0.0) t.wqd[k] += t.wq[k] * d;
        t.m[k] = v;
      } else {
        t.s[k] += vecmath::exp(v - t.ref(k));
      }
      if (smooth_sum) {
        t.wsum[k] += wc;
        t.wd[k] += wc * (v - t.ref(k));
      }
      if (yc) {
        const double wq_c = wc * static_cast<double>(yc[k] * sm.keep + sm.spread);
        t.wq[k] += wq_c;
        t.wqd[k] += wq_c * (v - t.ref(k));
      }
    }
  }
  for (std::int64_t k = 0; k < t.len; ++k) t.log_s[k] = std::log(t.s[k]);
}

// Each position's loss (written to row_loss if wanted) and gradient coefficient; their sum.
template <class S>
double tile_losses(const ClassProblem<S>& p, Smoothing<compute_t<S>> sm, double weight_total, StridedTile<S>& t) {
  using T = compute_t<S>;
  const std::int64_t D = p.inner;
  double acc = 0.0;
  for (std::int64_t k = 0; k < t.len; ++k) {
    double loss = 0.0;
    t.coef[k] = T(0);
    if (t.counts[k]) {
      const double x_t = static_cast<double>(half::to_compute(t.base[t.cls[k] * D + k]));
      if (p.log_probs) {
        loss = -static_cast<double>(t.wt[k]) * x_t;
      } else if (t.ybase) {
        double coef = t.wq[k];
        loss = t.wq[k] * t.log_s[k] - t.wqd[k] + z_loss(p, t.r0 + k, 1.0, t.ref(k) + t.log_s[k], coef);
        t.coef[k] = static_cast<T>(static_cast<double>(t.scale[k]) * coef);
      } else {
        const double keep_wt = static_cast<double>(sm.keep) * static_cast<double>(t.wt[k]);
        loss = keep_wt * (t.log_s[k] - (x_t - t.ref(k)));
        if (sm.spread != T(0)) loss += static_cast<double>(sm.spread) * (t.wsum[k] * t.log_s[k] - t.wd[k]);
        double coef = keep_wt + smoothing_weight(sm, weight_total);
        loss += z_loss(p, t.r0 + k, static_cast<double>(t.wt[k]), t.ref(k) + t.log_s[k], coef);
        t.coef[k] = static_cast<T>(static_cast<double>(t.scale[k]) * coef);
      }
    }
    if (p.row_loss) p.row_loss[t.r0 + k] = loss;
    acc += loss;
  }
  return acc;
}

// The gradient, class line by class line: written in the compute type (for a half type into a
// float32 line, narrowed once it is complete, so every element is rounded once).
template <class S>
void tile_gradient(const ClassProblem<S>& p, Smoothing<compute_t<S>> sm, const StridedTile<S>& t) {
  using T = compute_t<S>;
  const std::int64_t D = p.inner;
  // p_c = exp((x_c - ref) - log s): the difference first, so a large offset cancels exactly.
  // At the target class the gradient has the extra term -(target's share), `at_target`.
  T ref_t[kTile], log_s_t[kTile], at_target[kTile];
  for (std::int64_t k = 0; k < t.len; ++k) {
    ref_t[k] = static_cast<T>(t.ref(k)), log_s_t[k] = static_cast<T>(t.log_s[k]);
    at_target[k] = !t.counts[k] || !p.target ? T(0)
                   : p.log_probs             ? t.scale[k] * t.wt[k]
                                             : t.scale[k] * sm.keep * t.wt[k];
  }
  T x_line[kTile], y_line[kTile], g_line[kTile];
  for (std::int64_t c = 0; c < p.classes; ++c) {
    const T* xc = p.log_probs ? nullptr : compute_line(t.base + c * D, t.len, x_line);
    const T* yc = t.ybase ? compute_line(t.ybase + c * D, t.len, y_line) : nullptr;
    T* gc = nullptr;
    if constexpr (is_half<S>::value) {
      gc = g_line;
    } else {
      gc = t.gbase + c * D;
    }
    const T wc = p.weight ? p.weight[c] : T(1);
    const T spread_w = sm.spread != T(0) ? sm.spread * wc : T(0);  // no 0 * inf without smoothing
    if (p.log_probs) {
      for (std::int64_t k = 0; k < t.len; ++k) gc[k] = T(0);
    } else if (yc) {
      for (std::int64_t k = 0; k < t.len; ++k) {
        const T v =
            t.coef[k] * vecmath::exp((xc[k] - ref_t[k]) - log_s_t[k]) - t.scale[k] * wc * (yc[k] * sm.keep + sm.spread);
        gc[k] = t.counts[k] ? v : T(0);
      }
    } else {
      for (std::int64_t k = 0; k < t.len; ++k) {
        const T v = t.coef[k] * vecmath::exp((xc[k] - ref_t[k]) - log_s_t[k]) - t.scale[k] * spread_w;
        gc[k] = t.counts[k] ? v : T(0);
      }
    }
    for (std::int64_t k = 0; k < t.len; ++k) {
      if (t.cls[k] == c) gc[k] -= at_target[k];
    }
    if constexpr (is_half<S>::value) half::narrow(g_line, t.gbase + c * D, t.len);
  }
}

template <class S>
double strided_tile(const ClassProblem<S>& p, std::int64_t n, std::int64_t d0, std::int64_t len,
                    Smoothing<compute_t<S>> sm, double weight_total) {
  StridedTile<S> t;
  start_tile(p, n, d0, len, t);
  if (!p.log_probs) tile_sums(p, sm, t);
  const double acc = tile_losses(p, sm, weight_total, t);
  if (t.gbase) tile_gradient(p, sm, t);
  return acc;
}

template <class S>
KernelResult run_softmax_ce(const ClassProblem<S>& p) {
  using T = compute_t<S>;
  const std::int64_t C = p.classes, rows = p.rows();
  double weight_total = static_cast<double>(C);  // sum_c w_c, the smoothing term's weight
  if (p.weight) {
    weight_total = 0.0;
    for (std::int64_t c = 0; c < C; ++c) weight_total += static_cast<double>(p.weight[c]);
  }
  const Smoothing<T> sm{T(1) - p.label_smoothing, C > 0 ? p.label_smoothing / static_cast<T>(C) : T(0)};

  KernelResult result;
  if (p.inner == 1 && !p.log_probs && C > kPieceClasses) {
    result.sum = long_rows(p, sm, weight_total);
    return result;
  }
  auto block = [&](std::int64_t lo, std::int64_t hi) -> double {
    if (p.inner != 1) {
      double acc = 0.0;
      for (std::int64_t r = lo; r < hi;) {
        const std::int64_t n = r / p.inner, d = r % p.inner;
        const std::int64_t len = std::min({hi - r, p.inner - d, kTile});
        acc += strided_tile(p, n, d, len, sm, weight_total);
        r += len;
      }
      return acc;
    }
    if constexpr (is_half<S>::value) {
      return half_rows(p, lo, hi, sm, weight_total);
    } else {
      return float_rows(p, lo, hi, sm, weight_total);
    }
  };
  // Blocks of whole rows, sized by the class count only: the same partition for any thread count.
  const std::int64_t rows_per_block = std::max<std::int64_t>(1, kBlockSize / std::max<std::int64_t>(C, 1));
  // An exp per logit: threads pay off at a quarter of the elementwise threshold.
  result.sum = blocked_sum(rows, p.n_threads, block, rows_per_block, rows * C * 4);
  return result;
}

template <class T>
TargetSummary run_summarize_targets(const ClassProblem<T>& p) {
  TargetSummary out;
  const std::int64_t rows = p.rows();
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t t = 0;
    if (!row_counts(p, r, t)) continue;
    if (p.target) {
      if (t < 0 || t >= p.classes) {
        out.first_bad = r;
        return out;
      }
      out.weight_sum += p.weight ? static_cast<double>(p.weight[t]) : 1.0;
    } else {
      out.weight_sum += 1.0;
    }
  }
  return out;
}

}  // namespace

template <class T>
TargetSummary summarize_targets(const ClassProblem<T>& p) {
  return run_summarize_targets(p);
}
template <class T>
KernelResult softmax_ce_kernel(const ClassProblem<T>& p) {
  return run_softmax_ce(p);
}
FASTLOSS_INSTANTIATE_KERNEL(TargetSummary, summarize_targets, ClassProblem)
FASTLOSS_INSTANTIATE_KERNEL(KernelResult, softmax_ce_kernel, ClassProblem)
FASTLOSS_INSTANTIATE_HALF_KERNEL(TargetSummary, summarize_targets, ClassProblem)
FASTLOSS_INSTANTIATE_HALF_KERNEL(KernelResult, softmax_ce_kernel, ClassProblem)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
