// Bindings of the losses of one value per row (cpp/kernels/rows.cpp): one `_core.<name>` per row
// of kRowLosses, taking (input, target, weight, reduction, settings, return_grad, grad_output,
// out, grad_out, n_threads). The last axis of the input holds the classes.
#include <array>
#include <string>

#include "checks.hpp"
#include "fastloss/dispatch.hpp"

namespace fastloss::bindings {
namespace {

enum class TargetKind { Values, ClassPerRow, ClassPerElement };

struct RowLossInfo {
  const char* name;
  RowLoss loss;
  int settings;       // how many scalar settings it reads
  TargetKind target;  // float targets of the input's shape; a class per row; class lists per row
  bool weighted;      // takes a per-class weight
  bool any_rank;      // input of any rank >= 1 (else (C,) or (N, C), as torch)
};

constexpr RowLossInfo kRowLosses[] = {
    {"multilabel_soft_margin_loss", RowLoss::MultilabelSoftMargin, 0, TargetKind::Values, true, true},
    {"multi_margin_loss", RowLoss::MultiMargin, 2, TargetKind::ClassPerRow, true, false},
    {"multilabel_margin_loss", RowLoss::MultilabelMargin, 0, TargetKind::ClassPerElement, false, false},
};

struct RowCall {
  py::array input, target;
  py::object weight;
  Reduction reduction;
  std::array<double, kMaxSettings> settings;
  bool return_grad;
  py::object grad_output, out, grad_out;
  int n_threads;
};

// The integer targets, checked for dtype and shape.
ClassTargets integer_targets(const char* fn, const py::array& target, const std::vector<std::int64_t>& expected,
                             const std::vector<std::int64_t>& input_shape) {
  ClassTargets t;
  if (!class_targets(target, t)) {
    throw py::type_error(std::string(fn) + ": target must hold class indices of an integer dtype; got dtype " +
                         dtype_str(target));
  }
  if (shape_of(target) != expected) {
    throw py::value_error(std::string(fn) + ": target shape " + shape_str(shape_of(target)) + " must be " +
                          shape_str(expected) + " for input shape " + shape_str(input_shape));
  }
  return t;
}

template <class T>
py::tuple run_rows(const RowLossInfo& info, const RowCall& c) {
  const char* fn = info.name;
  const auto shape = shape_of(c.input);
  if (shape.empty() || (!info.any_rank && shape.size() > 2)) {
    throw py::value_error(std::string(fn) + ": input must be " + (info.any_rank ? "at least 1-d" : "(C,) or (N, C)") +
                          ", the classes on the last axis; got shape " + shape_str(shape));
  }
  const std::vector<std::int64_t> row_shape(shape.begin(), shape.end() - 1);
  RowProblem<T> p;
  p.loss = info.loss;
  p.input = static_cast<const T*>(c.input.data());
  p.cols = shape.back();
  p.rows = element_count(row_shape);
  p.settings = c.settings;
  p.n_threads = c.n_threads;
  if (info.loss == RowLoss::MultiMargin && c.settings[0] != 1.0 && c.settings[0] != 2.0) {
    throw py::value_error(std::string(fn) + ": p must be 1 or 2; got " +
                          py::repr(py::float_(c.settings[0])).cast<std::string>());
  }
  if (info.target == TargetKind::Values) p.target_values = input_buffer<T>(fn, "target", c.target, shape);
  else p.target = integer_targets(fn, c.target, info.target == TargetKind::ClassPerRow ? row_shape : shape, shape);
  std::vector<float> weight_buf;
  if (!c.weight.is_none()) {
    const auto w = py::reinterpret_borrow<py::array>(c.weight);
    require_input_dtype<T>(fn, "weight", w);
    if (shape_of(w) != std::vector<std::int64_t>{p.cols}) {
      throw py::value_error(std::string(fn) + ": weight must have shape (" + std::to_string(p.cols) +
                            ",), one per class; got shape " + shape_str(shape_of(w)));
    }
    p.weight = in_compute_type(static_cast<const T*>(w.data()), p.cols, weight_buf);
  }

  const bool per_row = c.reduction == Reduction::None;
  py::object loss_obj = c.out;
  T* loss_buf = per_row ? output_or_new<T>(fn, "out", c.out, row_shape, loss_obj)
                        : output_buffer<T>(fn, "out", c.out, std::vector<std::int64_t>{});
  if (per_row) p.loss_out = loss_buf;
  const double denom = c.reduction == Reduction::Mean ? static_cast<double>(p.rows) : 1.0;
  py::object grad_obj = py::none();
  check_grad_out_needs_grad(fn, c.return_grad, c.grad_out);
  if (c.return_grad) {
    p.grad = output_or_new<T>(fn, "grad_out", c.grad_out, shape, grad_obj);
    p.grad_output = grad_output_array<T>(fn, c.grad_output, per_row, per_row ? row_shape : shape, c.input);
    if (!p.grad_output) p.grad_scale = static_cast<compute_t<T>>(c.grad_output.cast<double>() / denom);
  }

  KernelResult r;
  {
    py::gil_scoped_release release;
    r = row_loss_kernel(p);
  }
  if (r.first_invalid >= 0) {
    const bool per_row_target = info.target == TargetKind::ClassPerRow;
    const std::string value = py::str(c.target.attr("item")(r.first_invalid)).cast<std::string>();
    const std::string cols = std::to_string(p.cols);
    throw py::index_error(std::string(fn) + ": target " + value + " at index " +
                          index_str(r.first_invalid, per_row_target ? row_shape : shape) + " is out of range for " +
                          cols + " classes (expected " + (per_row_target ? "0" : "-1") + " <= target < " + cols + ")");
  }
  if (!per_row) {
    set_reduced_loss<T>(r.sum, denom, loss_buf, loss_obj);
  }
  return py::make_tuple(loss_obj, grad_obj);
}

void def_rows(py::module_& m, const RowLossInfo& info) {
  m.def(
      info.name,
      [&info](py::array input, py::array target, py::object weight, int reduction, py::tuple settings, bool return_grad,
              py::object grad_output, py::object out, py::object grad_out, int n_threads) {
        const char* fn = info.name;
        if (!info.weighted && !weight.is_none()) throw py::value_error(std::string(fn) + ": takes no weight");
        if (static_cast<int>(settings.size()) != info.settings) {
          throw py::value_error(std::string(fn) + ": expected " + std::to_string(info.settings) + " settings; got " +
                                std::to_string(settings.size()));
        }
        check_no_overlap(fn,
                         {{"input", input},
                          {"target", target},
                          {"weight", weight},
                          {"grad_output", grad_output},
                          {"out", out, true},
                          {"grad_out", grad_out, true}},
                         {{0, 5}});
        RowCall call{c_contiguous(std::move(input)),
                     c_contiguous(std::move(target)),
                     c_contiguous_if_array(std::move(weight)),
                     reduction_arg(fn, reduction, {Reduction::None, Reduction::Mean, Reduction::Sum}),
                     {},
                     return_grad,
                     c_contiguous_if_array(std::move(grad_output)),
                     std::move(out),
                     std::move(grad_out),
                     n_threads};
        for (std::size_t i = 0; i < settings.size(); ++i) call.settings[i] = settings[i].cast<double>();
        return visit_float<true>(fn, "input", call.input, [&](auto t) { return run_rows<decltype(t)>(info, call); });
      },
      py::arg("input"), py::arg("target"), py::arg("weight"), py::arg("reduction"), py::arg("settings"),
      py::arg("return_grad"), py::arg("grad_output"), py::arg("out"), py::arg("grad_out"), py::arg("n_threads"));
}

}  // namespace

void register_rows(py::module_& m) {
  for (const RowLossInfo& info : kRowLosses) def_rows(m, info);
}

}  // namespace fastloss::bindings
