// Bindings of every elementwise loss (cpp/kernels/elementwise.cpp, binary.cpp, ...): one
// `_core.<name>` per loss its kernel file registered (loss_registry.hpp), all sharing this code.
// It checks every buffer, allocates the outputs, releases the GIL around the kernel and turns
// its status into Python exceptions.
#include <array>
#include <string>

#include "checks.hpp"
#include "fastloss/dispatch.hpp"

namespace fastloss::bindings {
namespace {

// One call, as python/fastloss/functional.py makes it (positionally, see def_elementwise).
struct ElementwiseCall {
  py::array input, target;        // C-contiguous (c_contiguous)
  py::object weight, pos_weight;  // None or C-contiguous arrays
  Reduction reduction;
  std::array<double, kMaxSettings> settings;
  bool return_grad;
  py::object grad_output;  // Python float, or C-contiguous array for reduction "none"
  py::object out, grad_out;
  int n_threads;
};

// The ValueError of a value outside the loss's domain (as its definition words it).
template <class T>
[[noreturn]] void throw_domain_error(const char* fn, const KernelResult& r, const ElementwiseProblem<T>& p,
                                     const std::vector<std::int64_t>& shape) {
  const bool input_bad = std::string(r.invalid_operand) == "input";
  const T value = input_bad ? p.input[r.first_invalid] : p.target[r.first_invalid];
  throw py::value_error(
      std::string(fn) + ": " + r.invalid_operand + " values must be " + r.domain + "; got " +
      py::repr(py::float_(static_cast<double>(baseline::half::to_compute(value)))).cast<std::string>() + " at index " +
      index_str(r.first_invalid, shape));
}

template <class T>
py::tuple run_loss(const char* fn, ElementwiseKernel<T> kernel, const ElementwiseCall& c) {
  const auto shape = shape_of(c.input);
  ElementwiseProblem<T> p;
  p.input = static_cast<const T*>(c.input.data());
  p.n = element_count(shape);
  p.target = input_buffer<T>(fn, "target", c.target, shape);
  p.settings = c.settings;
  p.n_threads = c.n_threads;

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

  // What the sum is divided by: the element count for "mean", the batch size (the first axis,
  // as torch's kl_div; 1 for a 0-d input, whose sum torch returns as it is) for "batchmean".
  double denom = 1.0;
  if (c.reduction == Reduction::Mean) denom = static_cast<double>(p.n);
  if (c.reduction == Reduction::BatchMean && !shape.empty()) denom = static_cast<double>(shape[0]);

  // Outputs: the per-element loss for "none", else an optional 0-d `out`.
  const bool per_element = c.reduction == Reduction::None;
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
    if (!p.grad_output) p.grad_scale = static_cast<compute_t<T>>(c.grad_output.cast<double>() / denom);
  }

  KernelResult r;
  {
    py::gil_scoped_release release;
    r = kernel(p);
  }
  if (r.first_invalid >= 0) throw_domain_error(fn, r, p, shape);
  if (!per_element) {
    set_reduced_loss<T>(r.sum, denom, loss_buf, loss_obj);
  }
  return py::make_tuple(loss_obj, grad_obj);
}

// The settings tuple: as many floats as the loss reads.
std::array<double, kMaxSettings> settings_arg(const ElementwiseLoss& loss, const py::tuple& given) {
  if (static_cast<int>(given.size()) != loss.settings) {
    throw py::value_error(loss.name + ": expected " + std::to_string(loss.settings) + " settings; got " +
                          std::to_string(given.size()));
  }
  std::array<double, kMaxSettings> settings{};
  for (std::size_t i = 0; i < given.size(); ++i) settings[i] = given[i].cast<double>();
  return settings;
}

// Registers the loss at `index` of elementwise_losses() as `_core.<name>`, taking (input, target,
// weight, pos_weight, reduction, settings, return_grad, grad_output, out, grad_out, n_threads).
void def_elementwise(py::module_& m, std::size_t index) {
  const ElementwiseLoss& loss = elementwise_losses()[index];
  m.def(
      loss.name.c_str(),
      [index](py::array input, py::array target, py::object weight, py::object pos_weight, int reduction,
              py::tuple settings, bool return_grad, py::object grad_output, py::object out, py::object grad_out,
              int n_threads) {
        // The level in use when called (set_simd_level may have changed it since import).
        const ElementwiseLoss& loss = elementwise_losses()[index];
        const char* fn = loss.name.c_str();
        if (!loss.weighted && !weight.is_none()) throw py::value_error(loss.name + ": takes no weight");
        if (!loss.pos_weighted && !pos_weight.is_none()) throw py::value_error(loss.name + ": takes no pos_weight");
        check_no_overlap(fn,
                         {{"input", input},
                          {"target", target},
                          {"weight", weight},
                          {"pos_weight", pos_weight},
                          {"grad_output", grad_output},
                          {"out", out, true},
                          {"grad_out", grad_out, true}},
                         {{0, 6}});
        const ElementwiseCall call{
            c_contiguous(std::move(input)),
            c_contiguous(std::move(target)),
            c_contiguous_if_array(std::move(weight)),
            c_contiguous_if_array(std::move(pos_weight)),
            reduction_arg(fn, reduction, {Reduction::None, Reduction::Mean, Reduction::Sum, Reduction::BatchMean}),
            settings_arg(loss, settings),
            return_grad,
            c_contiguous_if_array(std::move(grad_output)),
            std::move(out),
            std::move(grad_out),
            n_threads};
        return visit_float<true>(fn, "input", call.input,
                                 [&](auto t) { return run_loss(fn, loss.kernel<decltype(t)>(), call); });
      },
      py::arg("input"), py::arg("target"), py::arg("weight"), py::arg("pos_weight"), py::arg("reduction"),
      py::arg("settings"), py::arg("return_grad"), py::arg("grad_output"), py::arg("out"), py::arg("grad_out"),
      py::arg("n_threads"));
}

}  // namespace

void register_elementwise(py::module_& m) {
  for (std::size_t i = 0; i < elementwise_losses().size(); ++i) def_elementwise(m, i);
  // What each registered definition takes, so that a test can hold python/fastloss/_spec.py's
  // rows to the kernels': {name: {"weight": bool, "pos_weight": bool, "settings": int}}.
  py::dict losses;
  for (const ElementwiseLoss& loss : elementwise_losses()) {
    losses[loss.name.c_str()] = py::dict(py::arg("weight") = loss.weighted, py::arg("pos_weight") = loss.pos_weighted,
                                         py::arg("settings") = loss.settings);
  }
  m.attr("elementwise_losses") = losses;
}

}  // namespace fastloss::bindings
