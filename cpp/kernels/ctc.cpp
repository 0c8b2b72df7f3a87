// Connectionist temporal classification (torch's F.ctc_loss): the forward-backward algorithm in
// log space, one sequence per work item. For each sequence the alpha recursion runs over the
// extended label sequence l' = (blank, l_1, blank, l_2, ..., blank) of 2L + 1 states, vectorised
// over the states (each time step is one `omp simd` loop of log-sum-exps); the beta recursion runs
// backwards and, at each time step, turns alpha * beta into the gradient row of log_probs.
//
// The gradient is torch's (aten/src/ATen/native/LossCTC.cpp): for t < input_length,
//   grad[t, c] = (exp(lp[t, c]) - sum_{s: l'_s = c} exp(alpha[t, s] + beta[t, s] + nll - lp[t, c])) * g
// -- the gradient with respect to the logits z when lp = log_softmax(z), not d(loss)/d(lp) -- and 0
// for t >= input_length. Where the loss is not finite the rows t < input_length are NaN (torch's
// exp(-inf + inf)), or all 0 with zero_infinity; where lp is -inf the gradient is NaN (torch's
// -inf + nll + inf), so results equal torch's.
//
// Log space was measured against Graves' per-step rescaled probability space (see
// docs/architecture.md, "CTC"): the rescaled form is not exact when a state's probability
// underflows relative to the step's largest (float32: lp differences past ~87), and log space met
// the speed target, so it is the one kept.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "fastloss/kernel_table.hpp"
#include "fastloss/parallel.hpp"
#include "fastloss/vecmath.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// log(exp(a) + exp(b) + exp(c)), torch's expression: m + log(sum exp(x - m)) with m the largest.
// The largest term's exp(0) = 1 is not computed: two exps and a log per state (the three that
// torch computes take a third longer here). -inf when all three are -inf, NaN when one is NaN.
template <class U>
FASTLOSS_FORCE_INLINE U log_sum_exp3(U a, U b, U c) {
  constexpr U kNegInf = -std::numeric_limits<U>::infinity();
  const U hi = a > b ? a : b, lo = a > b ? b : a;
  const U m = hi > c ? hi : c, mid = hi > c ? c : hi;
  const U r = m + vecmath::log(U(1) + vecmath::exp(lo - m) + vecmath::exp(mid - m));
  U out = m == kNegInf ? kNegInf : r;
  out = a != a ? a : out;  // a NaN (which the comparisons above skip) propagates
  out = b != b ? b : out;
  out = c != c ? c : out;
  return out;
}

// A per-thread scratch buffer of at least n values of V, reused by the thread's next sequences: a
// fresh allocation per sequence (hundreds of KiB: alpha for every step) is a fresh mmap, whose page
// faults cost more than the arithmetic of a small problem.
template <class V>
V* scratch(std::size_t n) {
  thread_local std::vector<V> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

// The state loops' length is a multiple of this (16 floats: one AVX-512 vector).
constexpr std::int64_t kStatePad = 16;

template <class T>
struct Sequence {
  using U = compute_t<T>;
  const CtcProblem<T>& p;
  std::int64_t b;

  // log_probs[t, b, :] and grad[t, b, :].
  const T* lp_row(std::int64_t t) const { return p.log_probs + (t * p.batch + b) * p.classes; }
  T* grad_row(std::int64_t t) const { return p.grad + (t * p.batch + b) * p.classes; }

  // lpg[s] = lp[t, l'_s] for the n_states states, in the compute type.
  void gather(std::int64_t t, const std::int64_t* ext, std::int64_t n_states, U* lpg) const {
    const T* row = lp_row(t);
    for (std::int64_t s = 0; s < n_states; ++s) lpg[s] = half::to_compute(row[ext[s]]);
  }

  void zero_rows(std::int64_t from) const {
    if (!p.grad) return;
    for (std::int64_t t = from; t < p.max_time; ++t) {
      T* g = grad_row(t);
      for (std::int64_t c = 0; c < p.classes; ++c) g[c] = half::from_double<T>(0.0);
    }
  }

  void run() const {
    constexpr U kNegInf = -std::numeric_limits<U>::infinity();
    const std::int64_t first = p.label_offsets[b], length = p.label_offsets[b + 1] - first;
    const std::int64_t n_time = p.input_lengths[b];
    const std::int64_t n_states = 2 * length + 1;
    const std::int64_t* labels = p.labels + first;

    if (n_time == 0) {  // torch: likelihood 1 for an empty target, 0 otherwise; no gradient
      const double nll = length == 0 ? 0.0 : std::numeric_limits<double>::infinity();
      p.seq_loss[b] = p.zero_infinity && std::isinf(nll) ? 0.0 : nll;
      zero_rows(0);
      return;
    }

    // The state loops run over n_pad >= n_states states, a multiple of every vector width: the
    // states beyond n_states have a log-probability of -inf, so their alpha and beta stay -inf, and
    // no loop ends in scalar iterations (each as costly as a vector one: with 101 states, 5 of 12).
    const std::int64_t n_pad = (n_states + kStatePad - 1) / kStatePad * kStatePad;
    // Scratch: the extended labels, the skip mask (l'_s != l'_{s-2}), the gathered log-probs and
    // the alpha rows (each with two leading -inf) of every step with a gradient (else of one and
    // two steps), a beta row pair with two trailing -inf, and a gradient row in the compute type.
    const std::int64_t stride = n_pad + 2;
    const std::int64_t alpha_rows = p.grad ? n_time : 2;
    const std::int64_t grad_row_len = p.grad ? p.classes : 0;
    const std::size_t n_scratch =
        static_cast<std::size_t>(n_pad + 2 + alpha_rows * (n_pad + stride) + 2 * stride + n_pad + grad_row_len);
    std::int64_t* ext = scratch<std::int64_t>(static_cast<std::size_t>(n_states));
    U* skip = scratch<U>(n_scratch);  // 1 where the s - 2 -> s transition is allowed (l'_s != l'_{s-2}), else 0
    U* lpg_rows = skip + n_pad + 2;   // alpha_rows * n_pad
    U* alpha = lpg_rows + alpha_rows * n_pad;  // alpha_rows * stride
    U* beta = alpha + alpha_rows * stride;     // 2 * stride
    U* occupancy = beta + 2 * stride;          // n_pad
    U* gbuf = occupancy + n_pad;               // classes

    for (std::int64_t s = 0; s < n_states; ++s) ext[s] = (s & 1) ? labels[s / 2] : p.blank;
    for (std::int64_t s = 0; s < n_pad + 2; ++s)
      skip[s] = (s > 1 && s < n_states && ext[s] != ext[s - 2]) ? U(1) : U(0);

    // alpha at t = 0: the blank and the first label.
    const auto alpha_row = [&](std::int64_t t) { return alpha + (p.grad ? t : (t & 1)) * stride + 2; };
    const auto lpg_row = [&](std::int64_t t) { return lpg_rows + (p.grad ? t : 0) * n_pad; };
    const auto load_lpg = [&](std::int64_t t, U* lpg) {
      gather(t, ext, n_states, lpg);
      for (std::int64_t s = n_states; s < n_pad; ++s) lpg[s] = kNegInf;
    };
    {
      U* a0 = alpha_row(0);
      a0[-2] = a0[-1] = kNegInf;
      for (std::int64_t s = 0; s < n_pad; ++s) a0[s] = kNegInf;
      U* lpg = lpg_row(0);
      load_lpg(0, lpg);
      a0[0] = lpg[0];
      if (length > 0) a0[1] = lpg[1];
    }
    for (std::int64_t t = 1; t < n_time; ++t) {
      const U* __restrict prev = alpha_row(t - 1);
      U* __restrict cur = alpha_row(t);
      U* __restrict lpg = lpg_row(t);
      cur[-2] = cur[-1] = kNegInf;
      load_lpg(t, lpg);
#pragma omp simd
      for (std::int64_t s = 0; s < n_pad; ++s) {
        const U two_back = prev[s - 2];  // loaded unconditionally (the padding): a select, not a branch
        const U third = skip[s] != U(0) ? two_back : kNegInf;
        cur[s] = log_sum_exp3(prev[s], prev[s - 1], third) + lpg[s];
      }
    }
    double nll;
    {
      const U* last = alpha_row(n_time - 1);
      if (length == 0) {
        nll = -static_cast<double>(last[0]);
      } else {
        const U l1 = last[2 * length], l2 = last[2 * length - 1];
        U m = std::max(l1, l2);
        m = m == kNegInf ? U(0) : m;
        nll = -static_cast<double>(std::log(std::exp(l1 - m) + std::exp(l2 - m)) + m);
      }
    }
    const bool zeroed = p.zero_infinity && nll == std::numeric_limits<double>::infinity();
    p.seq_loss[b] = zeroed ? 0.0 : nll;
    if (!p.grad) return;
    if (zeroed) {
      zero_rows(0);
      return;
    }

    // beta, backwards from t = n_time - 1, and the gradient row of each step.
    const U g = static_cast<U>(p.grad_scale[b]);
    const U nll_u = static_cast<U>(nll);
    const bool finite = std::isfinite(nll);
    U* nxt = beta;  // rows of stride entries: n_pad, then two -inf
    U* cur = beta + stride;
    for (std::int64_t s = 0; s < stride; ++s) nxt[s] = cur[s] = kNegInf;
    for (std::int64_t t = n_time - 1; t >= 0; --t) {
      const U* __restrict lpg = lpg_row(t);  // gathered by the alpha pass
      if (t == n_time - 1) {
        cur[n_states - 1] = lpg[n_states - 1];
        if (length > 0) cur[n_states - 2] = lpg[n_states - 2];
      } else {
#pragma omp simd
        for (std::int64_t s = 0; s < n_pad; ++s) {
          const U two_ahead = nxt[s + 2];
          const U third = skip[s + 2] != U(0) ? two_ahead : kNegInf;
          cur[s] = log_sum_exp3(nxt[s], nxt[s + 1], third) + lpg[s];
        }
      }
      const U* __restrict a = alpha_row(t);
#pragma omp simd
      for (std::int64_t s = 0; s < n_pad; ++s) occupancy[s] = vecmath::exp(a[s] + cur[s] + nll_u - lpg[s]);

      // The row: exp(lp) (NaN where lp is -inf, as torch's), less the occupancies, times g.
      const U* lp = half::load_compute(lp_row(t), p.classes, gbuf);
      const U nan = std::numeric_limits<U>::quiet_NaN();
      U* out = gbuf;  // may be lp itself (grad_out=log_probs): each element is read, then written
      if constexpr (!is_half<T>::value) out = grad_row(t);  // in place: lp row t is read before it is written
#pragma omp simd
      for (std::int64_t c = 0; c < p.classes; ++c) out[c] = lp[c] == kNegInf ? nan : vecmath::exp(lp[c]);
      if (finite) {
        U blank_occupancy = 0;  // the even states, all blank: one sum, one store
        for (std::int64_t s = 0; s < n_states; s += 2) blank_occupancy += occupancy[s];
        for (std::int64_t s = 1; s < n_states; s += 2) out[ext[s]] -= occupancy[s];
        out[p.blank] -= blank_occupancy;
      } else {
        for (std::int64_t c = 0; c < p.classes; ++c) out[c] = nan;  // torch: exp(-inf + inf)
      }
#pragma omp simd
      for (std::int64_t c = 0; c < p.classes; ++c) out[c] *= g;
      if constexpr (is_half<T>::value) half::store_compute(out, p.classes, grad_row(t));
      std::swap(nxt, cur);
    }
    zero_rows(n_time);
  }
};

}  // namespace

template <class T>
void ctc_kernel(const CtcProblem<T>& p) {
  // Work per sequence ~ T (C + 8 (2 S + 1)) mse-equivalent elements; estimated from the first.
  std::int64_t states = 0;
  for (std::int64_t b = 0; b < p.batch; ++b) states += 2 * (p.label_offsets[b + 1] - p.label_offsets[b]) + 1;
  const std::int64_t work = p.max_time * (p.batch * p.classes + 8 * states);
  const int n_threads = threads_for(work, p.batch, p.n_threads);
  parallel_for(p.batch, n_threads, [&](std::int64_t b) { Sequence<T>{p, b}.run(); });
}

FASTLOSS_INSTANTIATE_KERNEL(void, ctc_kernel, CtcProblem)
FASTLOSS_INSTANTIATE_HALF_KERNEL(void, ctc_kernel, CtcProblem)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
