// Bindings of the losses of three arrays with two or three gradients (cpp/kernels/paired.cpp):
// one `_core.<name>` per row of kPairLosses, all sharing this code. Each takes (a, b, c,
// reduction, settings, return_grad, grad_output, out, grad_out, n_threads), grad_out being None
// or a tuple of buffers (None or array each), one per gradient, and returns (loss, None) or
// (loss, (grad_1, grad_2[, grad_3])) with the gradients in argument order.
#include <array>
#include <cmath>
#include <string>

#include "checks.hpp"
#include "fastloss/dispatch.hpp"

namespace fastloss::bindings {
namespace {

struct PairLossInfo {
  const char* name;
  PairLoss loss;
  std::array<const char*, 3> arrays;  // the three array arguments, in order
  int second;                         // the second differentiable array: 1 or 2
  int settings;                       // how many scalar settings it reads
  bool broadcast_c;                   // the third array may be broadcast along one axis (var)
  bool row_loss;                      // one loss per row of the last axis (cosine embedding)
  int grads;                          // 2, or 3: every array (triplet margin)
};

constexpr PairLossInfo kPairLosses[] = {
    {"margin_ranking_loss", PairLoss::MarginRanking, {"input1", "input2", "target"}, 1, 1, false, false, 2},
    {"gaussian_nll_loss", PairLoss::GaussianNll, {"input", "target", "var"}, 2, 2, true, false, 2},
    {"cosine_embedding_loss", PairLoss::CosineEmbedding, {"input1", "input2", "target"}, 1, 1, false, true, 2},
    {"triplet_margin_loss", PairLoss::TripletMargin, {"anchor", "positive", "negative"}, 1, 4, false, true, 3},
};

// a's elements as (outer, mid, inner), c's as (outer, inner).
struct Layout {
  std::int64_t outer = 1, mid = 1, inner = 0;
};

struct PairCall {
  py::array a, b, c;  // C-contiguous
  Reduction reduction;
  std::array<double, kMaxSettings> settings;
  bool return_grad;
  py::object grad_output;
  py::object out;
  std::array<py::object, 3> grad_out;  // None or arrays
  int n_threads;
};

// Where c's elements sit relative to a's shape (outer, mid, inner), c being broadcast along mid.
// torch's rule for gaussian_nll_loss's var: a's shape; a's shape with one axis of size 1; a's
// shape without its last axis. fastloss adds a 0-d var (one variance for every element, as
// torch's float var).
Layout c_layout(const PairLossInfo& info, const std::vector<std::int64_t>& shape,
                const std::vector<std::int64_t>& c_shape) {
  const std::int64_t n = element_count(shape);
  Layout layout{1, 1, n};
  if (c_shape == shape) return layout;
  const auto fail = [&] {
    std::string what = std::string(info.name) + ": " + info.arrays[2] + " shape " + shape_str(c_shape) + " must be " +
                       info.arrays[0] + "'s shape " + shape_str(shape);
    if (info.broadcast_c) what += ", that shape with one axis of size 1, or that shape without its last axis, or ()";
    throw py::value_error(what);
  };
  if (!info.broadcast_c) fail();
  std::size_t axis = shape.size();
  if (c_shape.empty()) return {1, n, 1};
  if (!shape.empty() && c_shape == std::vector<std::int64_t>(shape.begin(), shape.end() - 1)) {
    axis = shape.size() - 1;
  } else if (c_shape.size() == shape.size()) {
    for (std::size_t d = 0; d < shape.size(); ++d) {
      if (c_shape[d] == shape[d]) continue;
      if (c_shape[d] != 1 || axis != shape.size()) fail();
      axis = d;
    }
  } else {
    fail();
  }
  std::int64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  if (shape[axis] == 1) return layout;  // the same elements as a's shape
  return {outer, shape[axis], inner};
}

// A row loss's layout: input (D,) or (N, D), as torch; the target one label per row, (N,) or ()
// (triplet margin: the third array has the input's shape).
Layout row_layout(const PairLossInfo& info, const std::vector<std::int64_t>& shape,
                  const std::vector<std::int64_t>& c_shape) {
  if (shape.empty() || shape.size() > 2) {
    throw py::value_error(std::string(info.name) + ": " + info.arrays[0] + " must be (D,) or (N, D); got shape " +
                          shape_str(shape));
  }
  const std::vector<std::int64_t> rows(shape.begin(), shape.end() - 1);
  if (info.grads == 3 && c_shape != shape) {
    throw py::value_error(std::string(info.name) + ": " + info.arrays[2] + " shape " + shape_str(c_shape) +
                          " must equal " + info.arrays[0] + " shape " + shape_str(shape));
  }
  if (info.grads == 2 && c_shape != rows) {
    throw py::value_error(std::string(info.name) + ": " + info.arrays[2] + " shape " + shape_str(c_shape) +
                          " must be " + shape_str(rows) + ", one label per row of " + info.arrays[0] + " shape " +
                          shape_str(shape));
  }
  return {element_count(rows), shape.back(), 1};
}

// "grad_out[1] (input2)": the k-th gradient buffer, named with its array.
std::string grad_out_name(const PairLossInfo& info, int k) {
  return "grad_out[" + std::to_string(k) + "] (" + info.arrays[k == 1 ? info.second : k] + ")";
}

template <class T>
py::tuple run_pair(const PairLossInfo& info, const PairCall& c) {
  const char* fn = info.name;
  const auto shape = shape_of(c.a);
  PairProblem<T> p;
  p.loss = info.loss;
  p.a = static_cast<const T*>(c.a.data());
  require_input_dtype<T>(fn, info.arrays[1], c.b);
  if (shape_of(c.b) != shape) {
    throw py::value_error(std::string(fn) + ": " + info.arrays[1] + " shape " + shape_str(shape_of(c.b)) +
                          " must equal " + info.arrays[0] + " shape " + shape_str(shape));
  }
  p.b = static_cast<const T*>(c.b.data());
  require_input_dtype<T>(fn, info.arrays[2], c.c);
  const auto c_shape = shape_of(c.c);
  const Layout layout = info.row_loss ? row_layout(info, shape, c_shape) : c_layout(info, shape, c_shape);
  p.outer = layout.outer, p.mid = layout.mid, p.inner = layout.inner;
  p.c = static_cast<const T*>(c.c.data());
  p.c_count = element_count(c_shape);
  p.settings = c.settings;
  p.n_threads = c.n_threads;
  const std::int64_t n = element_count(shape);

  const bool per_element = c.reduction == Reduction::None;
  std::vector<std::int64_t> loss_shape;  // the per-element (per-row) loss for "none"
  if (per_element) loss_shape = info.row_loss ? std::vector<std::int64_t>(shape.begin(), shape.end() - 1) : shape;
  py::object loss_obj = c.out;
  T* loss_buf = per_element ? output_or_new<T>(fn, "out", c.out, loss_shape, loss_obj)
                            : output_buffer<T>(fn, "out", c.out, loss_shape);
  if (per_element) p.loss_out = loss_buf;

  py::object grads = py::none();
  if (c.return_grad) {
    py::object ga, gs, gt;
    p.grad_a = output_or_new<T>(fn, grad_out_name(info, 0).c_str(), c.grad_out[0], shape, ga);
    p.grad_second =
        output_or_new<T>(fn, grad_out_name(info, 1).c_str(), c.grad_out[1], info.second == 1 ? shape : c_shape, gs);
    if (info.grads == 3) p.grad_third = output_or_new<T>(fn, grad_out_name(info, 2).c_str(), c.grad_out[2], shape, gt);
    p.grad_output = grad_output_array<T>(fn, c.grad_output, per_element, loss_shape, c.a);
    if (!p.grad_output) {
      const double denom = c.reduction == Reduction::Mean ? static_cast<double>(info.row_loss ? p.outer : n) : 1.0;
      p.grad_scale = static_cast<compute_t<T>>(c.grad_output.cast<double>() / denom);
    }
    if (info.grads == 3) grads = py::make_tuple(ga, gs, gt);
    else grads = py::make_tuple(ga, gs);
  }

  KernelResult r;
  {
    py::gil_scoped_release release;
    r = paired_loss_kernel(p);
  }
  if (r.first_invalid >= 0) {
    const double v = static_cast<double>(baseline::half::to_compute(p.c[r.first_invalid]));
    throw py::value_error(std::string(fn) + ": " + info.arrays[2] + " values must be >= 0; got " +
                          py::repr(py::float_(v)).cast<std::string>() + " at index " +
                          index_str(r.first_invalid, c_shape));
  }
  if (!per_element) {
    const double count = static_cast<double>(info.row_loss ? p.outer : n);
    set_reduced_loss<T>(r.sum, c.reduction == Reduction::Mean ? count : 1.0, loss_buf, loss_obj);
  }
  return py::make_tuple(loss_obj, grads);
}

// grad_out: None, or a tuple or list of one entry per gradient, each None or a buffer.
std::array<py::object, 3> grad_out_buffers(const PairLossInfo& info, const py::object& grad_out) {
  std::array<py::object, 3> bufs{py::none(), py::none(), py::none()};
  if (grad_out.is_none()) return bufs;
  const bool sequence = py::isinstance<py::tuple>(grad_out) || py::isinstance<py::list>(grad_out);
  if (!sequence || static_cast<int>(py::len(grad_out)) != info.grads) {
    throw py::value_error(std::string(info.name) + ": grad_out must be None or a tuple of " +
                          std::to_string(info.grads) + " buffers (each an array or None); got " +
                          py::str(py::type::of(grad_out).attr("__name__")).cast<std::string>() +
                          (sequence ? " of " + std::to_string(py::len(grad_out)) : std::string()));
  }
  const auto seq = py::reinterpret_borrow<py::sequence>(grad_out);
  for (int k = 0; k < info.grads; ++k) bufs[static_cast<std::size_t>(k)] = seq[static_cast<std::size_t>(k)];
  return bufs;
}

void def_pair(py::module_& m, const PairLossInfo& info) {
  m.def(
      info.name,
      [&info](py::array a, py::array b, py::array c, int reduction, py::tuple settings, bool return_grad,
              py::object grad_output, py::object out, py::object grad_out, int n_threads) {
        const char* fn = info.name;
        if (static_cast<int>(settings.size()) != info.settings) {
          throw py::value_error(std::string(fn) + ": expected " + std::to_string(info.settings) + " settings; got " +
                                std::to_string(settings.size()));
        }
        check_grad_out_needs_grad(fn, return_grad, grad_out);
        const auto grad_bufs = grad_out_buffers(info, grad_out);
        const std::string g0 = grad_out_name(info, 0), g1 = grad_out_name(info, 1), g2 = grad_out_name(info, 2);
        check_no_overlap(fn,
                         {{info.arrays[0], a},
                          {info.arrays[1], b},
                          {info.arrays[2], c},
                          {"grad_output", grad_output},
                          {"out", out, true},
                          {g0.c_str(), grad_bufs[0], true},
                          {g1.c_str(), grad_bufs[1], true},
                          {g2.c_str(), grad_bufs[2], true}},
                         {{0, 5}, {info.second, 6}, {2, 7}});
        PairCall call{c_contiguous(std::move(a)),
                      c_contiguous(std::move(b)),
                      c_contiguous(std::move(c)),
                      reduction_arg(fn, reduction, {Reduction::None, Reduction::Mean, Reduction::Sum}),
                      {},
                      return_grad,
                      c_contiguous_if_array(std::move(grad_output)),
                      std::move(out),
                      grad_bufs,
                      n_threads};
        for (std::size_t i = 0; i < settings.size(); ++i) call.settings[i] = settings[i].cast<double>();
        if (info.loss == PairLoss::TripletMargin && !(call.settings[1] > 0.0 && std::isfinite(call.settings[1]))) {
          throw py::value_error(std::string(fn) + ": p must be a positive finite number; got " +
                                py::repr(py::float_(call.settings[1])).cast<std::string>());
        }
        return visit_float<true>(fn, info.arrays[0], call.a, [&](auto t) { return run_pair<decltype(t)>(info, call); });
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("reduction"), py::arg("settings"), py::arg("return_grad"),
      py::arg("grad_output"), py::arg("out"), py::arg("grad_out"), py::arg("n_threads"));
}

}  // namespace

void register_paired(py::module_& m) {
  for (const PairLossInfo& info : kPairLosses) def_pair(m, info);
}

}  // namespace fastloss::bindings
