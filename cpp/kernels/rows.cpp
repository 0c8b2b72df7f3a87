// Losses whose every row (the last axis: the classes) gives one loss value: multilabel soft
// margin, multi-class margin and multi-label margin. Value and gradient of each row in one pass
// over it, rows shared between threads in blocks that depend only on the shape.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
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
  const C* x;           // the input row
  const C* values;      // float targets of the row (multilabel soft margin), or nullptr
  std::int64_t cls;     // the class of the row (multi margin)
  const void* classes;  // integer targets of the row (multilabel margin), read through `target`
  std::int64_t first;   // flat index of the row's first element
};

// torch's multilabel_soft_margin_loss: mean over the columns of w_c (y log sigmoid(x) + (1 - y)
// log sigmoid(-x)), negated; written as y max(-x, 0) + (1 - y) max(x, 0) + log1p(exp(-|x|)), which
// keeps its accuracy for any logit. Gradient w_c (sigmoid(x) - y) / C.
template <class C>
double multilabel_soft_margin_row(const Row<C>& row, const C* w, std::int64_t cols, C g, C* grad, C* scratch) {
  const C* x = row.x;
  const C* y = row.values;
  const C scale = g / static_cast<C>(cols);
#pragma omp simd
  for (std::int64_t c = 0; c < cols; ++c) {
    const C e = vecmath::exp(-std::abs(x[c]));
    const C loss = y[c] * std::max(-x[c], C(0)) + (C(1) - y[c]) * std::max(x[c], C(0)) + vecmath::log1p_unit(e);
    const C sigmoid = (x[c] >= C(0) ? C(1) : e) / (C(1) + e);
    const C wc = w ? w[c] : C(1);
    scratch[c] = wc * loss;
    grad[c] = scale * wc * (sigmoid - y[c]);
  }
  double sum = 0.0;
  for (std::int64_t c = 0; c < cols; ++c) sum += static_cast<double>(scratch[c]);
  return sum / static_cast<double>(cols);
}

// torch's multi_margin_loss: sum over the classes c != y of w_y max(0, margin - x_y + x_c)^p, over
// C; the gradient passes where margin - x_y + x_c > 0 (torch's strict test). w_y multiplies the
// active terms only (a NaN weight of a row with none is 0, as torch's). A NaN term gives a NaN
// loss and gradient (torch's test drops it).
template <class C>
double multi_margin_row(const Row<C>& row, const C* w, std::int64_t cols, C g, C* grad, C p, C margin) {
  const C* x = row.x;
  const std::int64_t y = row.cls;
  const C wy = w ? w[y] : C(1);
  const C scale = g * wy / static_cast<C>(cols);
  const C xy = x[y];
  double sum = 0.0;
  C total = 0;
#pragma omp simd reduction(+ : sum, total)
  for (std::int64_t c = 0; c < cols; ++c) {
    const C z = margin - xy + x[c];
    const bool on = z > C(0) && c != y, nan = z != z && c != y;
    sum += on ? static_cast<double>(wy * (p == C(1) ? z : z * z)) : (nan ? static_cast<double>(z) : 0.0);
    const C d = on ? (p == C(1) ? scale : C(2) * z * scale) : (nan ? z : C(0));
    grad[c] = d;
    total += d;
  }
  grad[y] = -total;
  return sum / static_cast<double>(cols);
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
    double row_sum = 0.0;
    C total = 0;
#pragma omp simd reduction(+ : row_sum, total)
    for (std::int64_t c = 0; c < cols; ++c) {
      const C z = C(1) - xj + x[c];
      const bool on = z > C(0) && is_target[c] == C(0), nan = z != z && is_target[c] == C(0);
      row_sum += on || nan ? static_cast<double>(z) : 0.0;
      const C d = on ? scale : (nan ? z : C(0));
      grad[c] += d;
      total += d;
    }
    grad[j] -= total;
    sum += row_sum;
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
  std::atomic<std::int64_t> first{std::numeric_limits<std::int64_t>::max()};
  blocked_for(n, p.n_threads, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) {
      std::int64_t cls = 0;
      if (!p.target.load(i, cls) || cls < lowest || cls >= p.cols) {
        detail::lower_to(first, i);
        return;
      }
    }
  });
  const std::int64_t bad = first.load();
  return bad == std::numeric_limits<std::int64_t>::max() ? -1 : bad;
}

// dst[0, n) in the compute type: half values widened into buf, float values where they lie.
template <class T>
const compute_t<T>* as_compute(const T* src, std::int64_t n, compute_t<T>* buf) {
  if constexpr (is_half<T>::value) {
    half::widen(src, buf, n);
    return buf;
  } else {
    (void)n;
    (void)buf;
    return src;
  }
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
    Row<C> row{as_compute(p.input + r * cols, cols, x_buf), nullptr, 0, nullptr, r * cols};
    const C g = p.grad_output ? half::to_compute(p.grad_output[r]) : p.grad_scale;
    double loss = 0.0;
    switch (p.loss) {
      case RowLoss::MultilabelSoftMargin:
        row.values = as_compute(p.target_values + r * cols, cols, y_buf);
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
    if constexpr (is_half<T>::value) {
      half::narrow(grad, p.grad + r * cols, cols);
    } else {
      std::memcpy(p.grad + r * cols, grad, static_cast<std::size_t>(cols) * sizeof(T));
    }
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
