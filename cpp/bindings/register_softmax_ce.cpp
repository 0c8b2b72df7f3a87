// Bindings for the cross-entropy family (cpp/kernels/softmax_ce.cpp): cross_entropy, nll_loss,
// sequence_cross_entropy.
#include <cmath>

#include "checks.hpp"
#include "fastloss/dispatch.hpp"

namespace fastloss::bindings {
namespace {

struct ClassCall {
  const char* fn;
  py::array input, target;  // C-contiguous (c_contiguous), like every array operand
  py::object weight;
  std::int64_t ignore_index;
  int reduction;
  double label_smoothing;
  bool log_probs;
  py::object lengths;       // sequence_cross_entropy only: None or C-contiguous int64 (B,)
  double lse_square_scale;  // the z-loss's scale (0: none)
  bool return_z_loss;       // also return the z-loss term alone
  bool return_grad;
  py::object grad_output, out, grad_out;
  int n_threads;
};

// Where the problem's rows come from: the per-row loss shape ("none"), and for the sequence
// reductions the batch size B and steps per sequence T.
struct RowLayout {
  std::int64_t outer, classes, inner;
  std::vector<std::int64_t> row_shape;
  std::int64_t batch = 1, steps = 1;
};

// The per-class weight: (C,) of the input's dtype.
template <class T>
const T* class_weight(const ClassCall& c, const RowLayout& lay) {
  if (c.weight.is_none()) return nullptr;
  const auto w = py::reinterpret_borrow<py::array>(c.weight);
  require_input_dtype<T>(c.fn, "weight", w);
  if (shape_of(w) != std::vector<std::int64_t>{lay.classes}) {
    throw py::value_error(std::string(c.fn) + ": weight must have shape (" + std::to_string(lay.classes) +
                          ",), one value per class; got shape " + shape_str(shape_of(w)));
  }
  return static_cast<const T*>(w.data());
}

// The sequence lengths: int64 (B,), each in [0, T].
const std::int64_t* sequence_lengths(const ClassCall& c, const RowLayout& lay) {
  if (c.lengths.is_none()) return nullptr;
  const auto len = py::reinterpret_borrow<py::array>(c.lengths);
  if (!has_dtype<std::int64_t>(len) || shape_of(len) != std::vector<std::int64_t>{lay.batch} || !is_c_contiguous(len)) {
    throw py::value_error(std::string(c.fn) + ": lengths must be an integer array of shape (" +
                          std::to_string(lay.batch) + ",); got " + dtype_str(len) + " array of shape " +
                          shape_str(shape_of(len)));
  }
  const auto* lengths = static_cast<const std::int64_t*>(len.data());
  for (std::int64_t b = 0; b < lay.batch; ++b) {
    if (lengths[b] < 0 || lengths[b] > lay.steps) {
      throw py::value_error(std::string(c.fn) + ": lengths must be in [0, " + std::to_string(lay.steps) + "]; got " +
                            std::to_string(lengths[b]) + " at index (" + std::to_string(b) + ",)");
    }
  }
  return lengths;
}

// The problem's inputs and settings, checked; outputs are set by run_class.
template <class T>
ClassProblem<T> class_problem(const ClassCall& c, const RowLayout& lay, ClassTargets targets, const T* probs,
                              std::vector<float>& weight_buf) {
  ClassProblem<T> p;
  p.input = static_cast<const T*>(c.input.data());
  p.outer = lay.outer;
  p.classes = lay.classes;
  p.inner = lay.inner;
  p.target = targets;
  p.target_probs = probs;
  p.ignore_index = c.ignore_index;
  p.log_probs = c.log_probs;
  p.n_threads = c.n_threads;
  if (!(c.label_smoothing >= 0.0 && c.label_smoothing <= 1.0)) {
    throw py::value_error(std::string(c.fn) + ": label_smoothing must be in [0, 1]; got " +
                          py::repr(py::float_(c.label_smoothing)).cast<std::string>());
  }
  p.label_smoothing = static_cast<compute_t<T>>(c.label_smoothing);
  if (!(c.lse_square_scale >= 0.0 && std::isfinite(c.lse_square_scale))) {
    throw py::value_error(std::string(c.fn) + ": lse_square_scale must be a finite number >= 0; got " +
                          py::repr(py::float_(c.lse_square_scale)).cast<std::string>());
  }
  p.lse_square_scale = static_cast<compute_t<T>>(c.lse_square_scale);
  p.weight = in_compute_type(class_weight<T>(c, lay), lay.classes, weight_buf);
  p.lengths = sequence_lengths(c, lay);
  if (p.lengths) p.seq_len = lay.steps;
  if (lay.classes == 0 && p.rows() > 0) throw py::value_error(std::string(c.fn) + ": input has no classes (C = 0)");
  return p;
}

// Validates the class indices before the logits are touched; the same pass gives the weighted
// count of the rows that count (the "mean" denominator).
template <class T>
double checked_weight_sum(const ClassCall& c, const RowLayout& lay, const ClassProblem<T>& p) {
  const TargetSummary summary = summarize_targets(p);
  if (summary.first_bad >= 0) {
    const std::string value = py::str(c.target.attr("item")(summary.first_bad)).cast<std::string>();
    throw py::index_error(std::string(c.fn) + ": target " + value + " at index " +
                          index_str(summary.first_bad, lay.row_shape) + " is out of range for " +
                          std::to_string(lay.classes) + " classes (expected 0 <= target < " +
                          std::to_string(lay.classes) + ", or ignore_index=" + std::to_string(c.ignore_index) + ")");
  }
  return summary.weight_sum;
}

// The per-row losses reduced into the returned loss ("none": per row, "sequence": per sequence).
template <class T>
void write_row_losses(Reduction red, const RowLayout& lay, const std::vector<double>& row_loss, T* loss_buf) {
  if (red == Reduction::None) {
    for (std::size_t i = 0; i < row_loss.size(); ++i) loss_buf[i] = baseline::half::from_double<T>(row_loss[i]);
    return;
  }
  for (std::int64_t b = 0; b < lay.batch; ++b) {
    double acc = 0.0;
    for (std::int64_t t = 0; t < lay.steps; ++t) acc += row_loss[static_cast<std::size_t>(b * lay.steps + t)];
    loss_buf[b] = baseline::half::from_double<T>(acc);
  }
}

template <class T>
py::tuple run_class(const ClassCall& c, const RowLayout& lay, ClassTargets targets, const T* probs) {
  const char* fn = c.fn;
  std::vector<float> weight_buf, grad_output_buf;  // half precision: weight, grad_output in float32
  ClassProblem<T> p = class_problem<T>(c, lay, targets, probs, weight_buf);
  const double weight_sum = checked_weight_sum(c, lay, p);
  const auto red = static_cast<Reduction>(c.reduction);
  double denom = 1.0;
  if (red == Reduction::Mean) denom = weight_sum;  // probability targets: the row count
  if (red == Reduction::BatchMean) denom = static_cast<double>(lay.batch);
  const bool per_row_out = red == Reduction::None || red == Reduction::Sequence;
  const std::vector<std::int64_t> loss_shape = red == Reduction::None       ? lay.row_shape
                                               : red == Reduction::Sequence ? std::vector<std::int64_t>{lay.batch}
                                                                            : std::vector<std::int64_t>{};

  py::object loss_obj = c.out;
  T* loss_buf = per_row_out ? output_or_new<T>(fn, "out", c.out, loss_shape, loss_obj)
                            : output_buffer<T>(fn, "out", c.out, loss_shape);
  std::vector<double> row_loss(per_row_out ? static_cast<std::size_t>(p.rows()) : 0);
  if (per_row_out) p.row_loss = row_loss.data();
  std::vector<double> row_z(c.return_z_loss ? static_cast<std::size_t>(p.rows()) : 0, 0.0);
  if (c.return_z_loss) p.row_z = row_z.data();

  py::object grad_obj = py::none();
  check_grad_out_needs_grad(fn, c.return_grad, c.grad_out);
  double g = 0.0;  // the scalar upstream gradient
  if (c.return_grad) {
    p.grad = output_or_new<T>(fn, "grad_out", c.grad_out, shape_of(c.input), grad_obj);
    std::int64_t loss_count = 1;  // elements of the loss (and of an array grad_output)
    for (const std::int64_t d : loss_shape) loss_count *= d;
    p.grad_output = in_compute_type(grad_output_array<T>(fn, c.grad_output, per_row_out, loss_shape, c.input),
                                    loss_count, grad_output_buf);
    if (p.grad_output) {
      p.grad_group = red == Reduction::Sequence ? lay.steps : 1;
    } else {
      g = c.grad_output.cast<double>();
      p.grad_scale = static_cast<compute_t<T>>(g / denom);
    }
  }
  // Tiny class weights (a weighted "mean" whose sum of target weights is subnormal in float32):
  // 1 / sum overflows T, and inf times a tiny weight gives inf or NaN where the gradient is
  // finite. Then the weights are divided by the sum first, in float64, and the scale is the
  // upstream gradient alone: the same value and gradient, without the overflow.
  // (Half weights are float32 here: their sum is at least 2^-24, so 1 / sum never overflows.)
  std::vector<compute_t<T>> scaled_weight;
  if (p.grad && !p.grad_output && p.weight && p.target && std::isinf(p.grad_scale) && std::isfinite(g / denom)) {
    scaled_weight.resize(static_cast<std::size_t>(lay.classes));
    for (std::size_t k = 0; k < scaled_weight.size(); ++k) {
      scaled_weight[k] = static_cast<compute_t<T>>(static_cast<double>(p.weight[k]) / denom);
    }
    p.weight = scaled_weight.data();
    p.grad_scale = static_cast<compute_t<T>>(g);
    denom = 1.0;
  }

  KernelResult r;
  {
    py::gil_scoped_release release;
    r = softmax_ce_kernel(p);
  }
  if (per_row_out) {
    write_row_losses(red, lay, row_loss, loss_buf);
  } else {
    set_reduced_loss<T>(r.sum, denom, loss_buf, loss_obj);
  }
  if (!c.return_z_loss) return py::make_tuple(loss_obj, grad_obj);
  // The z-loss term alone, reduced as the loss: (loss, z_loss, grad).
  py::object z_obj = py::none();
  if (per_row_out) {
    write_row_losses(red, lay, row_z, output_or_new<T>(fn, "z_loss", py::none(), loss_shape, z_obj));
  } else {
    double z_sum = 0.0;  // in row order: the same for any thread count
    for (const double z : row_z) z_sum += z;
    set_reduced_loss<T>(z_sum, denom, nullptr, z_obj);
  }
  return py::make_tuple(loss_obj, z_obj, grad_obj);
}

// Dispatch on the target's kind: class indices of any integer dtype, or class probabilities of
// the input's dtype.
template <class T>
py::tuple dispatch_target(const ClassCall& c, const RowLayout& lay, bool allow_probs) {
  const char* fn = c.fn;
  const auto input_shape = shape_of(c.input);
  ClassTargets targets;
  if (class_targets(c.target, targets)) {
    if (shape_of(c.target) != lay.row_shape) {
      throw py::value_error(std::string(fn) + ": class-index target shape " + shape_str(shape_of(c.target)) +
                            " must be " + shape_str(lay.row_shape) + " for input shape " + shape_str(input_shape));
    }
    return run_class<T>(c, lay, targets, nullptr);
  }
  const bool is_float = c.target.dtype().kind() == 'f' || has_dtype<bfloat16_t>(c.target);  // bfloat16: kind 'V'
  if (allow_probs && is_float) {
    const T* probs = input_buffer<T>(fn, "target", c.target, input_shape);  // TypeError on float32 vs float64
    return run_class<T>(c, lay, ClassTargets{}, probs);
  }
  throw py::type_error(std::string(fn) + ": target must hold class indices of an integer dtype" +
                       (allow_probs ? std::string(", or class probabilities of the input's dtype ") + dtype_str(c.input)
                                    : std::string()) +
                       "; got dtype " + dtype_str(c.target));
}

// cross_entropy / nll_loss: input (C,), (N, C) or (N, C, d1, ...), class axis 1.
py::tuple class_axis_loss(const ClassCall& c) {
  const auto shape = shape_of(c.input);
  if (shape.empty()) {
    throw py::value_error(std::string(c.fn) + ": input must have shape (C,), (N, C) or (N, C, d1, ...); got shape ()");
  }
  RowLayout lay;
  if (shape.size() == 1) {
    lay = RowLayout{1, shape[0], 1, {}};
  } else {
    std::int64_t inner = 1;
    std::vector<std::int64_t> row_shape{shape[0]};
    for (std::size_t d = 2; d < shape.size(); ++d) {
      inner *= shape[d];
      row_shape.push_back(shape[d]);
    }
    lay = RowLayout{shape[0], shape[1], inner, row_shape};
  }
  lay.batch = lay.outer;
  reduction_arg(c.fn, c.reduction, {Reduction::None, Reduction::Mean, Reduction::Sum});
  return visit_float<true>(c.fn, "input", c.input,
                           [&](auto t) { return dispatch_target<decltype(t)>(c, lay, !c.log_probs); });
}

// sequence_cross_entropy: logits (B, T, V) channel-last, targets (B, T).
py::tuple sequence_loss(const ClassCall& c) {
  const auto shape = shape_of(c.input);
  if (shape.size() != 3) {
    throw py::value_error(std::string(c.fn) + ": logits must have shape (B, T, V); got shape " + shape_str(shape));
  }
  RowLayout lay{shape[0] * shape[1], shape[2], 1, {shape[0], shape[1]}, shape[0], shape[1]};
  reduction_arg(c.fn, c.reduction,
                {Reduction::None, Reduction::Mean, Reduction::Sum, Reduction::BatchMean, Reduction::Sequence});
  return visit_float<true>(c.fn, "logits", c.input,
                           [&](auto t) { return dispatch_target<decltype(t)>(c, lay, false); });
}

}  // namespace

void register_softmax_ce(py::module_& m) {
  m.def(
      "cross_entropy",
      [](py::array input, py::array target, py::object weight, std::int64_t ignore_index, int reduction,
         double label_smoothing, bool log_probs, double lse_square_scale, bool return_z_loss, bool return_grad,
         py::object grad_output, py::object out, py::object grad_out, int n_threads) {
        const char* fn = log_probs ? "nll_loss" : "cross_entropy";
        check_no_overlap(fn,
                         {{"input", input},
                          {"target", target},
                          {"weight", weight},
                          {"grad_output", grad_output},
                          {"out", out, true},
                          {"grad_out", grad_out, true}},
                         {{0, 5}});
        return class_axis_loss(ClassCall{fn, c_contiguous(std::move(input)), c_contiguous(std::move(target)),
                                         c_contiguous_if_array(std::move(weight)), ignore_index, reduction,
                                         label_smoothing, log_probs, py::none(), lse_square_scale, return_z_loss,
                                         return_grad, c_contiguous_if_array(std::move(grad_output)), std::move(out),
                                         std::move(grad_out), n_threads});
      },
      py::arg("input"), py::arg("target"), py::arg("weight"), py::arg("ignore_index"), py::arg("reduction"),
      py::arg("label_smoothing"), py::arg("log_probs"), py::arg("lse_square_scale"), py::arg("return_z_loss"),
      py::arg("return_grad"), py::arg("grad_output"), py::arg("out"), py::arg("grad_out"), py::arg("n_threads"));
  m.def(
      "sequence_cross_entropy",
      [](py::array logits, py::array targets, py::object weight, std::int64_t ignore_index, int reduction,
         double label_smoothing, py::object lengths, double lse_square_scale, bool return_z_loss, bool return_grad,
         py::object grad_output, py::object out, py::object grad_out, int n_threads) {
        check_no_overlap("sequence_cross_entropy",
                         {{"logits", logits},
                          {"targets", targets},
                          {"weight", weight},
                          {"lengths", lengths},
                          {"grad_output", grad_output},
                          {"out", out, true},
                          {"grad_out", grad_out, true}},
                         {{0, 6}});
        return sequence_loss(
            ClassCall{"sequence_cross_entropy", c_contiguous(std::move(logits)), c_contiguous(std::move(targets)),
                      c_contiguous_if_array(std::move(weight)), ignore_index, reduction, label_smoothing, false,
                      c_contiguous_if_array(std::move(lengths)), lse_square_scale, return_z_loss, return_grad,
                      c_contiguous_if_array(std::move(grad_output)), std::move(out), std::move(grad_out), n_threads});
      },
      py::arg("logits"), py::arg("targets"), py::arg("weight"), py::arg("ignore_index"), py::arg("reduction"),
      py::arg("label_smoothing"), py::arg("lengths"), py::arg("lse_square_scale"), py::arg("return_z_loss"),
      py::arg("return_grad"), py::arg("grad_output"), py::arg("out"), py::arg("grad_out"), py::arg("n_threads"));
}

}  // namespace fastloss::bindings
