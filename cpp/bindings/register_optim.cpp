// Bindings for the L2 penalty and the SGD update (cpp/kernels/optim.cpp).
#include <pybind11/stl.h>

#include <tuple>
#include <utility>

#include "checks.hpp"
#include "fastloss/dispatch.hpp"

namespace fastloss::bindings {
namespace {

template <class T>
void sgd_update_typed(py::array param, const py::array& grad, const py::object& buffer, double lr, double momentum,
                      double dampening, double weight_decay, bool nesterov, bool maximize, bool first_step,
                      int n_threads) {
  const char* fn = "sgd_step";
  const auto shape = shape_of(param);
  if (!is_c_contiguous(param) || !is_aligned(param) || !param.writeable()) {
    throw py::value_error(std::string(fn) +
                          ": params are updated in place and must be C-contiguous, aligned, "
                          "writeable arrays; got a " +
                          (!param.writeable()       ? "read-only"
                           : is_c_contiguous(param) ? "misaligned"
                                                    : "non-contiguous") +
                          " array of shape " + shape_str(shape));
  }
  if (!has_dtype<T>(grad)) {
    throw py::type_error(std::string(fn) + ": grad dtype " + dtype_str(grad) + " does not match its param's dtype " +
                         dtype_str(param) + "; convert it with grad.astype(param.dtype)");
  }
  SgdProblem<T> p;
  p.param = static_cast<T*>(param.mutable_data());
  p.grad = input_buffer<T>(fn, "grad", grad, shape);
  p.momentum_buffer = output_buffer<T>(fn, "momentum_buffer", buffer, shape);
  p.n = element_count(shape);
  using C = compute_t<T>;
  p.lr = static_cast<C>(lr);
  p.momentum = static_cast<C>(momentum);
  p.dampening = static_cast<C>(dampening);
  p.weight_decay = static_cast<C>(weight_decay);
  p.nesterov = nesterov;
  p.maximize = maximize;
  p.first_step = first_step;
  p.n_threads = n_threads;
  py::gil_scoped_release release;  // the last statement: no Python object is touched after it
  sgd_kernel(p);
}

template <class T>
py::tuple sum_squares_typed(const py::array& w, double grad_scale, bool want_grad, int n_threads) {
  const auto shape = shape_of(w);
  py::object grad_obj = py::none();
  T* grad = nullptr;
  if (want_grad) {
    py::array g(dtype_of<T>(), shape);
    grad = static_cast<T*>(g.mutable_data());
    grad_obj = std::move(g);
  }
  double total;
  {
    py::gil_scoped_release release;
    total = sum_squares_kernel(SumSquaresProblem<T>{static_cast<const T*>(w.data()), element_count(shape), grad,
                                                    static_cast<compute_t<T>>(grad_scale), n_threads});
  }
  return py::make_tuple(total, grad_obj);
}

}  // namespace

void register_optim(py::module_& m) {
  m.def(
      "check_no_overlap",
      [](const std::string& fn, const std::vector<std::tuple<std::string, py::object, bool>>& arrays,
         const std::vector<std::pair<int, int>>& aliases) {
        std::vector<ArrayArg> args;
        args.reserve(arrays.size());
        for (const auto& [name, obj, output] : arrays) args.push_back({name.c_str(), obj, output});
        if (aliases.size() > 1) throw py::value_error("check_no_overlap: at most one (input, output) alias pair");
        if (aliases.empty()) {
          check_no_overlap(fn.c_str(), args.data(), args.size());
        } else {
          check_no_overlap(fn.c_str(), args.data(), args.size(), {{aliases[0].first, aliases[0].second}});
        }
      },
      py::arg("fn"), py::arg("arrays"), py::arg("aliases") = std::vector<std::pair<int, int>>{},
      "ValueError if an output (name, array, True) shares memory with any other array of the list; an\n"
      "(input index, output index) pair of `aliases` may be the very same array (an in-place output).");
  m.def(
      "sgd_update",
      [](py::array param, py::array grad_given, py::object buffer, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov, bool maximize, bool first_step, int n_threads) {
        check_no_overlap("sgd_step", {{"param", param, true}, {"grad", grad_given}, {"momentum_buffer", buffer, true}});
        const py::array grad = c_contiguous(std::move(grad_given));  // params are checked: updated in place
        visit_float<true>("sgd_step", "param", param, [&](auto t) {
          sgd_update_typed<decltype(t)>(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, maximize,
                                        first_step, n_threads);
        });
      },
      py::arg("param"), py::arg("grad"), py::arg("momentum_buffer"), py::arg("lr"), py::arg("momentum"),
      py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"), py::arg("maximize"), py::arg("first_step"),
      py::arg("n_threads"));
  m.def(
      "sum_squares",
      [](py::array w_given, double grad_scale, bool want_grad, int n_threads) {
        const py::array w = c_contiguous(std::move(w_given));
        return visit_float<true>("l2_penalty", "params", w, [&](auto t) {
          return sum_squares_typed<decltype(t)>(w, grad_scale, want_grad, n_threads);
        });
      },
      py::arg("w"), py::arg("grad_scale"), py::arg("want_grad"), py::arg("n_threads"));
}

}  // namespace fastloss::bindings
