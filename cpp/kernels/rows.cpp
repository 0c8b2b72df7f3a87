// Losses whose every row (the last axis: the classes) gives one loss value: multilabel soft
// margin, multi-class margin and multi-label margin. Value and gradient of each row in one pass
// over it, rows shared between threads in blocks that depend only on the shape.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fastloss/elementwise_driver.hpp"
#include "fastloss/kernel_table.hpp"
#include "fastloss/vecmath.hpp"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// One row, in the compute type C (half rows are widened first). grad is written for every
// column, already multiplied by the row's upstream gradient g; the row's loss is returned.
template <class C>
struct Row {
  const C* x;          // the input row
  const C* values;     // float targets of the row (multilabel soft margin), or nullptr
  std::int64_t cls;    // the class of the row (multi margin)
  std::int64_t first;  // flat index of the row's first element (multilabel margin's targets)
};

// torch's multilabel_soft_margin_loss: mean over the columns of w_c (y log sigmoid(x) + (1 - y)
// log sigmoid(-x)), negated; written as y max(-x, 0) + (1 - y) max(x, 0) + log1p(exp(-|x|)), which
// keeps its accuracy for any logit. Gradient w_c (sigmoid(x) - y) / C.
// kWeighted a template flag: `w ? w[c] : 1` in the loop is a conditional load, which keeps it scalar.
template <bool kWeighted, class C>
void multilabel_soft_margin_terms(const C* __restrict x, const C* __restrict y, const C* __restrict w,
                                  std::int64_t cols, C scale, C* __restrict loss, C* __restrict grad) {
#pragma omp simd
  for (std::int64_t c = 0; c < cols; ++c) {
    // Selects, not std::max(-x[c], 0): its reference to a temporary kept the loop scalar.
    const C xc = x[c], yc = y[c];
    const C e = vecmath::exp(-std::abs(xc));
    const C pos = xc > C(0) ? xc : C(0), neg = xc < C(0) ? -xc : C(0);
    const C term = yc * neg + (C(1) - yc) * pos + vecmath::log1p_unit(e);
    const C sigmoid = (xc >= C(0) ? C(1) : e) / (C(1) + e);
    const C wc = kWeighted ? w[c] : C(1);
    loss[c] = wc * term;
    grad[c] = scale * wc * (sigmoid - yc);
  }
}

template <class C>
double multilabel_soft_margin_row(const Row<C>& row, const C* w, std::int64_t cols, C g, C* grad, C* scratch) {
  const C scale = g / static_cast<C>(cols);
  if (w) multilabel_soft_margin_terms<true>(row.x, row.values, w, cols, scale, scratch, grad);
  else multilabel_soft_margin_terms<false>(row.x, row.values, w, cols, scale, scratch, grad);
  detail::BlockSum<C> sum;  // float64, in vectors (a plain float64 loop stays scalar)
  sum.add(scratch, cols);
  return sum.total() / static_cast<double>(cols);
}

// torch's multi_margin_loss: sum over the classes c != y of w_y max(0, margin - x_y + x_c)^p, over
// C; the gradient passes where margin - x_y + x_c > 0 (torch's strict test). w_y multiplies the
// active terms only (a NaN weight of a row with none is 0, as torch's). A NaN term gives a NaN
// loss and gradient (torch's test drops it).
//
// The row's terms for p = 1 or 2 (kSquared): a template flag, as a run-time p made GCC version
// the loop on it and leave each copy scalar. Returns their sum; `total` gets the sum of grad.
template <bool kSquared, class C>
C multi_margin_terms(const C* __restrict x, std::int64_t cols, std::int64_t y, C margin, C wy, C scale,
                     C* __restrict grad, C& total) {
  const C xy = x[y];
  C sum = 0, grad_sum = 0;  // in C, as torch (float64 sums of float32 terms kept the loop scalar)
#pragma omp simd reduction(+ : sum, grad_sum)
  for (std::int64_t c = 0; c < cols; ++c) {
    const C z = margin - xy + x[c];
    const bool other = c != y;
    const bool on = (z > C(0)) & other, nan = (z != z) & other;
    sum += on ? wy * (kSquared ? z * z : z) : (nan ? z : C(0));
    const C d = on ? (kSquared ? C(2) * z * scale : scale) : (nan ? z : C(0));
    grad[c] = d;
    grad_sum += d;
  }
  total = grad_sum;
  return sum;
}

template <class C>
double multi_margin_row(const Row<C>& row, const C* w, std::int64_t cols, C g, C* grad, C p, C margin) {
  const std::int64_t y = row.cls;
  const C wy = w ? w[y] : C(1);
  const C scale = g * wy / static_cast<C>(cols);
  C total = 0;
  const C sum = p == C(1) ? multi_margin_terms<false>(row.x, cols, y, margin, wy, scale, grad, total)
                          : multi_margin_terms<true>(row.x, cols, y, margin, wy, scale, grad, total);
  grad[y] = -total;
  return static_cast<double>(sum) / static_cast<double>(cols);
}

// torch's multilabel_margin_loss: the row's targets are its leading class indices up to the first
// -1; sum over each target j (repeats counted) and each non-target c of max(0, 1 - x_j + x_c), over
// C. is_target is a scratch row of 0 / 1. A NaN term gives a NaN loss and gradient.
template <class C>
double multilabel_margin_row(const Row<C>& row, const ClassTargets& target, std::int64_t cols, C g, C* grad,
                             C* is_target) {
  const C* x = row.x;
  const C scale = g / static_cast<C>(cols);
  std::fill(is_target, is_target + cols, C(0));
  std::fill(grad, grad + cols, C(0));
  std::int64_t n_targets = 0;
  for (; n_targets < cols; ++n_targets) {
    std::int64_t j = -1;
    target.load(row.first + n_targets, j);
    if (j < 0) break;
    is_target[j] = C(1);
  }
  double sum = 0.0;
  for (std::int64_t k = 0; k < n_targets; ++k) {
    std::int64_t j = 0;
    target.load(row.first + k, j);
    const C xj = x[j];
    C row_sum = 0, total = 0;  // in C, as multi_margin_terms
#pragma omp simd reduction(+ : row_sum, total)
    for (std::int64_t c = 0; c < cols; ++c) {
      const C z = C(1) - xj + x[c];
      const bool other = is_target[c] == C(0);
      const bool on = (z > C(0)) & other, nan = (z != z) & other;
      row_sum += on | nan ? z : C(0);
      const C d = on ? scale : (nan ? z : C(0));
      grad[c] += d;
      total += d;
    }
    grad[j] -= total;
    sum += static_cast<double>(row_sum);
  }
  return sum / static_cast<double>(cols);
}

// The first flat index of an invalid integer target (multi margin: a class outside [0, C);
// multilabel margin: a value outside [-1, C)), or -1. Read before anything is written.
template <class T>
std::int64_t first_invalid_target(const RowProblem<T>& p) {
  if (p.loss == RowLoss::MultilabelSoftMargin) return -1;
  const bool per_row = p.loss == RowLoss::MultiMargin;
  const std::int64_t n = per_row ? p.rows : p.rows * p.cols, lowest = per_row ? 0 : -1;
  return first_failing_index(n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) -> std::int64_t {
    for (std::int64_t i = lo; i < hi; ++i) {
      std::int64_t cls = 0;
      if (!p.target.load(i, cls) || cls < lowest || cls >= p.cols) return i;
    }
    return -1;
  });
}

template <class T>
double run_rows(const RowProblem<T>& p, std::int64_t lo, std::int64_t hi) {
  using C = compute_t<T>;
  const std::int64_t cols = p.cols;
  // Scratch: the widened input and target rows (half), the gradient row, one more row.
  std::vector<C> buf(static_cast<std::size_t>(4 * cols + 1));
  C *x_buf = buf.data(), *y_buf = x_buf + cols, *grad = y_buf + cols, *scratch = grad + cols;
  const C power = static_cast<C>(p.settings[0]), margin = static_cast<C>(p.settings[1]);
  double sum = 0.0;
  for (std::int64_t r = lo; r < hi; ++r) {
    Row<C> row{half::load_compute(p.input + r * cols, cols, x_buf), nullptr, 0, r * cols};
    const C g = p.grad_output ? half::to_compute(p.grad_output[r]) : p.grad_scale;
    double loss = 0.0;
    switch (p.loss) {
      case RowLoss::MultilabelSoftMargin:
        row.values = half::load_compute(p.target_values + r * cols, cols, y_buf);
        loss = multilabel_soft_margin_row(row, p.weight, cols, g, grad, scratch);
        break;
      case RowLoss::MultiMargin:
        p.target.load(r, row.cls);
        loss = multi_margin_row(row, p.weight, cols, g, grad, power, margin);
        break;
      case RowLoss::MultilabelMargin: loss = multilabel_margin_row(row, p.target, cols, g, grad, scratch); break;
    }
    if (p.loss_out) p.loss_out[r] = half::from_double<T>(loss);
    else sum += loss;
    if (!p.grad) continue;
    half::store_compute(grad, cols, p.grad + r * cols);
  }
  return sum;
}

}  // namespace

template <class T>
KernelResult row_loss_kernel(const RowProblem<T>& p) {
  KernelResult result;
  result.first_invalid = first_invalid_target(p);
  if (result.first_invalid >= 0) return result;
  // Rows of any length are computed in scratch rows and then stored: grad may be the input.
  const std::int64_t rows_per_block = std::max<std::int64_t>(1, kBlockSize / std::max<std::int64_t>(p.cols, 1));
  const std::int64_t work = p.rows * p.cols * (p.loss == RowLoss::MultilabelSoftMargin ? 8 : 2);
  result.sum = blocked_sum(
      p.rows, p.n_threads, [&](std::int64_t lo, std::int64_t hi) { return run_rows(p, lo, hi); }, rows_per_block, work);
  return result;
}

FASTLOSS_INSTANTIATE_KERNEL(KernelResult, row_loss_kernel, RowProblem)
FASTLOSS_INSTANTIATE_HALF_KERNEL(KernelResult, row_loss_kernel, RowProblem)

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
