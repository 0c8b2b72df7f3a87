// The binding shared by all elementwise losses: checks every buffer, allocates the outputs,
// releases the GIL around the kernel and turns its status into Python exceptions.
#pragma once

#include "checks.hpp"
#include "fastloss/dispatch.hpp"

namespace fastloss::bindings {

template <class T>
using ElementwiseKernel = KernelResult (*)(const ElementwiseProblem<T>&);

// Python-side signature of every elementwise loss binding; see python/fastloss/functional.py.
struct ElementwiseCall {
  py::array input, target;         // C-contiguous (c_contiguous)
  py::object weight, pos_weight;  // None or C-contiguous arrays
  int reduction;
  bool return_grad;
  py::object grad_output;         // Python float, or C-contiguous array for reduction "none"
  py::object out, grad_out;
  int n_threads;
};

template <class T>
py::tuple run_elementwise_binding(const char* fn, ElementwiseKernel<T> kernel, const ElementwiseCall& c) {
  const auto shape = shape_of(c.input);
  ElementwiseProblem<T> p;
  p.input = static_cast<const T*>(c.input.data());
  p.n = element_count(shape);
  p.target = input_buffer<T>(fn, "target", c.target, shape);
  p.n_threads = c.n_threads;
  if (c.reduction < 0 || c.reduction > 2) throw py::value_error(std::string(fn) + ": bad reduction code");
  const auto reduction = static_cast<Reduction>(c.reduction);

  std::array<std::vector<std::int64_t>, BroadcastLayout::kOperands> operand_strides;
  const auto read_operand = [&](const py::object& obj, const char* name, int slot) -> const T* {
    if (obj.is_none()) return nullptr;
    const auto a = py::reinterpret_borrow<py::array>(obj);
    require_input_dtype<T>(fn, name, a);
    operand_strides[slot] = broadcast_strides(fn, name, a, shape);
    return static_cast<const T*>(a.data());
  };
  p.weight = read_operand(c.weight, "weight", 0);
  p.pos_weight = read_operand(c.pos_weight, "pos_weight", 1);
  if (p.weight || p.pos_weight) p.layout = BroadcastLayout::make(shape, operand_strides);

  // Outputs: the per-element loss for "none", else an optional 0-d `out`.
  const bool per_element = reduction == Reduction::None;
  const std::vector<std::int64_t> loss_shape = per_element ? shape : std::vector<std::int64_t>{};
  py::object loss_obj = c.out;
  T* loss_buf = per_element ? output_or_new<T>(fn, "out", c.out, loss_shape, loss_obj)
                            : output_buffer<T>(fn, "out", c.out, loss_shape);
  if (per_element) p.loss_out = loss_buf;

  py::object grad_obj = py::none();
  check_grad_out_needs_grad(fn, c.return_grad, c.grad_out);
  if (c.return_grad) {
    p.grad = output_or_new<T>(fn, "grad_out", c.grad_out, shape, grad_obj);
    p.grad_output = grad_output_array<T>(fn, c.grad_output, per_element, loss_shape, c.input);
    if (!p.grad_output) {
      const double g = c.grad_output.cast<double>();
      p.grad_scale = static_cast<T>(reduction == Reduction::Mean ? g / static_cast<double>(p.n) : g);
    }
  }

  KernelResult r;
  {
    py::gil_scoped_release release;
    r = kernel(p);
  }
  if (r.first_invalid >= 0) {
    const std::int64_t i = r.first_invalid;
    const bool input_bad = p.input[i] < T(0) || p.input[i] > T(1);
    throw py::value_error(std::string(fn) + ": " + (input_bad ? "input" : "target") + " values must be in [0, 1]; got " +
                          py::repr(py::float_(static_cast<double>(input_bad ? p.input[i] : p.target[i]))).cast<std::string>() + " at index " +
                          index_str(i, shape));
  }
  if (reduction != Reduction::None) {
    const double value = reduction == Reduction::Mean ? r.sum / static_cast<double>(p.n) : r.sum;
    if (loss_buf) *loss_buf = static_cast<T>(value);
    else loss_obj = numpy_scalar<T>(value);
  }
  return py::make_tuple(loss_obj, grad_obj);
}

// Dispatches on input's dtype: float32 and float64 are the only input types.
inline py::tuple call_elementwise(const char* fn, ElementwiseKernel<float> f32, ElementwiseKernel<double> f64,
                                  const ElementwiseCall& c) {
  if (has_dtype<float>(c.input)) return run_elementwise_binding<float>(fn, f32, c);
  if (has_dtype<double>(c.input)) return run_elementwise_binding<double>(fn, f64, c);
  throw py::type_error(std::string(fn) + ": input must be a float32 or float64 array; got dtype " + dtype_str(c.input));
}

// Registers `name` taking (input, target, weight, pos_weight, reduction, return_grad, grad_output,
// out, grad_out, n_threads).
inline void def_elementwise(py::module_& m, const char* name, ElementwiseKernel<float> f32,
                            ElementwiseKernel<double> f64) {
  m.def(
      name,
      [name, f32, f64](py::array input, py::array target, py::object weight, py::object pos_weight, int reduction,
                       bool return_grad, py::object grad_output, py::object out, py::object grad_out, int n_threads) {
        check_no_overlap(name, {{"input", input}, {"target", target}, {"weight", weight}, {"pos_weight", pos_weight},
                                {"grad_output", grad_output}, {"out", out, true}, {"grad_out", grad_out, true}},
                         0, 6);
        return call_elementwise(
            name, f32, f64,
            ElementwiseCall{c_contiguous(std::move(input)), c_contiguous(std::move(target)),
                            c_contiguous_if_array(std::move(weight)), c_contiguous_if_array(std::move(pos_weight)),
                            reduction, return_grad, c_contiguous_if_array(std::move(grad_output)), std::move(out),
                            std::move(grad_out), n_threads});
      },
      py::arg("input"), py::arg("target"), py::arg("weight"), py::arg("pos_weight"), py::arg("reduction"),
      py::arg("return_grad"), py::arg("grad_output"), py::arg("out"), py::arg("grad_out"), py::arg("n_threads"));
}

}  // namespace fastloss::bindings
