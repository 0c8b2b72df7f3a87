// Binding of ctc_loss (cpp/kernels/ctc.cpp): `_core.ctc_loss(log_probs, targets, input_lengths,
// target_lengths, blank, reduction, settings, return_grad, grad_output, out, grad_out, n_threads)`,
// settings = (zero_infinity,). Every length and label is checked here, before the GIL is released,
// and the labels are gathered into one int64 array: the kernel reads nothing out of range.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "checks.hpp"
#include "fastloss/dispatch.hpp"

namespace fastloss::bindings {
namespace {

constexpr const char* kFn = "ctc_loss";

struct CtcCall {
  py::array log_probs, targets, input_lengths, target_lengths;  // C-contiguous
  std::int64_t blank;
  Reduction reduction;
  bool zero_infinity;
  bool return_grad;
  py::object grad_output, out, grad_out;
  int n_threads;
};

// Integers of any dtype; an empty array of any dtype too (np.asarray([]) is float64: a list of no
// lengths or labels, for N = 0).
bool integer_values(const py::array& a, ClassTargets& out) {
  if (class_targets(a, out)) return true;
  if (a.size() != 0) return false;
  out = ClassTargets{};
  out.data = a.data() ? a.data() : static_cast<const void*>(&out);  // never read
  return true;
}

// input_lengths / target_lengths: an integer array of shape (N,) (unbatched: () or (1,)), as int64.
std::vector<std::int64_t> lengths_arg(const char* name, const py::array& a, std::int64_t batch, bool batched) {
  ClassTargets values;
  if (!integer_values(a, values)) {
    throw py::type_error(std::string(kFn) + ": " + name + " must be integers (any integer dtype); got dtype " +
                         dtype_str(a));
  }
  const auto shape = shape_of(a);
  const bool ok =
      batched ? shape == std::vector<std::int64_t>{batch} : (shape.empty() || shape == std::vector<std::int64_t>{1});
  if (!ok) {
    throw py::value_error(std::string(kFn) + ": " + name + " must have shape " +
                          (batched ? "(" + std::to_string(batch) + ",), one length per sequence"
                                   : std::string("() or (1,) for an unbatched log_probs (T, C)")) +
                          "; got shape " + shape_str(shape));
  }
  std::vector<std::int64_t> out(static_cast<std::size_t>(batch));
  for (std::int64_t b = 0; b < batch; ++b) {
    std::int64_t v = 0;
    if (!values.load(b, v)) v = std::numeric_limits<std::int64_t>::max();  // a uint64 beyond int64
    out[static_cast<std::size_t>(b)] = v;
  }
  return out;
}

void check_range(const char* name, const std::vector<std::int64_t>& v, std::int64_t hi, const char* what,
                 bool batched) {
  for (std::size_t b = 0; b < v.size(); ++b) {
    if (v[b] < 0 || v[b] > hi) {
      throw py::value_error(std::string(kFn) + ": " + name + " must be in [0, " + std::to_string(hi) + "] (" + what +
                            "); got " + std::to_string(v[b]) +
                            (batched ? " at index (" + std::to_string(b) + ",)" : std::string()));
    }
  }
}

template <class T>
py::tuple run_ctc(const CtcCall& c) {
  const auto shape = shape_of(c.log_probs);
  const bool batched = shape.size() == 3;
  const std::int64_t max_time = shape[0], batch = batched ? shape[1] : 1, classes = shape.back();
  if (c.blank < 0 || c.blank >= classes) {
    throw py::value_error(std::string(kFn) + ": blank must be a class of log_probs, in [0, " + std::to_string(classes) +
                          "); got " + std::to_string(c.blank));
  }
  const auto input_lengths = lengths_arg("input_lengths", c.input_lengths, batch, batched);
  const auto target_lengths = lengths_arg("target_lengths", c.target_lengths, batch, batched);
  check_range("input_lengths", input_lengths, max_time, "T, log_probs' time steps", batched);

  // The targets: padded (N, S) (unbatched: (1, S)), or the labels of every sequence concatenated.
  ClassTargets targets;
  if (!integer_values(c.targets, targets)) {
    throw py::type_error(std::string(kFn) + ": targets must be class indices of an integer dtype; got dtype " +
                         dtype_str(c.targets));
  }
  const auto tshape = shape_of(c.targets);
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(batch) + 1, 0);  // into the flat labels
  std::vector<std::int64_t> starts(static_cast<std::size_t>(batch), 0);       // into targets
  if (tshape.size() == 2) {
    if (tshape[0] != batch) {
      throw py::value_error(std::string(kFn) + ": padded targets must have shape (" + std::to_string(batch) +
                            ", S), one row per sequence; got shape " + shape_str(tshape));
    }
    check_range("target_lengths", target_lengths, tshape[1], "S, the padded targets' length", batched);
    for (std::int64_t b = 0; b < batch; ++b) starts[static_cast<std::size_t>(b)] = b * tshape[1];
  } else if (tshape.size() == 1) {
    check_range("target_lengths", target_lengths, tshape[0], "the concatenated targets' length", batched);
    std::int64_t pos = 0;
    for (std::int64_t b = 0; b < batch; ++b) {
      starts[static_cast<std::size_t>(b)] = pos;
      pos += target_lengths[static_cast<std::size_t>(b)];  // each <= tshape[0]: no overflow
    }
    if (pos != tshape[0]) {
      throw py::value_error(std::string(kFn) + ": concatenated targets must hold sum(target_lengths) = " +
                            std::to_string(pos) + " labels; got shape " + shape_str(tshape));
    }
  } else {
    throw py::value_error(std::string(kFn) + ": targets must have shape (N, S) (padded) or (sum(target_lengths),) " +
                          "(concatenated); got shape " + shape_str(tshape));
  }
  for (std::int64_t b = 0; b < batch; ++b) {
    offsets[static_cast<std::size_t>(b) + 1] = offsets[static_cast<std::size_t>(b)] + target_lengths[b];
  }
  std::vector<std::int64_t> labels(static_cast<std::size_t>(offsets.back()));
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t k = 0; k < target_lengths[static_cast<std::size_t>(b)]; ++k) {
      const std::int64_t flat = starts[static_cast<std::size_t>(b)] + k;
      std::int64_t label = 0;
      const bool fits = targets.load(flat, label);
      if (!fits || label < 0 || label >= classes) {
        const std::string value = py::str(c.targets.attr("item")(flat)).cast<std::string>();
        throw py::index_error(std::string(kFn) + ": target " + value + " at index " + index_str(flat, tshape) +
                              " is out of range for " + std::to_string(classes) + " classes (expected 0 <= target < " +
                              std::to_string(classes) + ")");
      }
      if (label == c.blank) {
        throw py::value_error(std::string(kFn) + ": target at index " + index_str(flat, tshape) + " is the blank (" +
                              std::to_string(c.blank) + "); a target label must not be blank");
      }
      labels[static_cast<std::size_t>(offsets[static_cast<std::size_t>(b)] + k)] = label;
    }
  }

  const Reduction red = c.reduction;
  const bool per_seq = red == Reduction::None;
  const std::vector<std::int64_t> loss_shape =
      per_seq && batched ? std::vector<std::int64_t>{batch} : std::vector<std::int64_t>{};
  py::object loss_obj = c.out;
  T* loss_buf = per_seq ? output_or_new<T>(kFn, "out", c.out, loss_shape, loss_obj)
                        : output_buffer<T>(kFn, "out", c.out, loss_shape);

  std::vector<double> seq_loss(static_cast<std::size_t>(batch)), scale;
  CtcProblem<T> p;
  p.log_probs = static_cast<const T*>(c.log_probs.data());
  p.max_time = max_time;
  p.batch = batch;
  p.classes = classes;
  p.labels = labels.data();
  p.label_offsets = offsets.data();
  p.input_lengths = input_lengths.data();
  p.blank = c.blank;
  p.zero_infinity = c.zero_infinity;
  p.seq_loss = seq_loss.data();
  p.n_threads = c.n_threads;

  py::object grad_obj = py::none();
  check_grad_out_needs_grad(kFn, c.return_grad, c.grad_out);
  if (c.return_grad) {
    p.grad = output_or_new<T>(kFn, "grad_out", c.grad_out, shape, grad_obj);
    const T* go = grad_output_array<T>(kFn, c.grad_output, per_seq, loss_shape, c.log_probs);
    scale.resize(static_cast<std::size_t>(batch));
    const double g = go ? 0.0 : c.grad_output.cast<double>();
    for (std::int64_t b = 0; b < batch; ++b) {
      double s = go ? static_cast<double>(baseline::half::to_compute(go[b])) : g;
      if (red == Reduction::Mean) {
        s /= static_cast<double>(std::max<std::int64_t>(target_lengths[static_cast<std::size_t>(b)], 1)) *
             static_cast<double>(batch);
      }
      scale[static_cast<std::size_t>(b)] = s;
    }
    p.grad_scale = scale.data();
  }
  {
    py::gil_scoped_release release;
    ctc_kernel(p);
  }
  if (per_seq) {
    for (std::int64_t b = 0; b < batch; ++b) loss_buf[b] = baseline::half::from_double<T>(seq_loss[b]);
  } else {
    double numerator = 0.0;  // in sequence order: the same for any thread count
    for (std::int64_t b = 0; b < batch; ++b) {
      const double l = seq_loss[static_cast<std::size_t>(b)];
      numerator += red == Reduction::Mean
                       ? l / static_cast<double>(std::max<std::int64_t>(target_lengths[static_cast<std::size_t>(b)], 1))
                       : l;
    }
    set_reduced_loss<T>(numerator, red == Reduction::Mean ? static_cast<double>(batch) : 1.0, loss_buf, loss_obj);
  }
  return py::make_tuple(loss_obj, grad_obj);
}

}  // namespace

void register_ctc(py::module_& m) {
  m.def(
      "ctc_loss",
      [](py::array log_probs, py::array targets, py::array input_lengths, py::array target_lengths, std::int64_t blank,
         int reduction, py::tuple settings, bool return_grad, py::object grad_output, py::object out,
         py::object grad_out, int n_threads) {
        if (settings.size() != 1) {
          throw py::value_error(std::string(kFn) + ": expected 1 setting (zero_infinity); got " +
                                std::to_string(settings.size()));
        }
        check_no_overlap(kFn,
                         {{"log_probs", log_probs},
                          {"targets", targets},
                          {"input_lengths", input_lengths},
                          {"target_lengths", target_lengths},
                          {"grad_output", grad_output},
                          {"out", out, true},
                          {"grad_out", grad_out, true}},
                         {{0, 6}});
        const auto shape = shape_of(log_probs);
        if (shape.size() != 2 && shape.size() != 3) {
          throw py::value_error(std::string(kFn) + ": log_probs must have shape (T, N, C) or (T, C) (unbatched); " +
                                "got shape " + shape_str(shape));
        }
        const Reduction red = reduction_arg(kFn, reduction, {Reduction::None, Reduction::Mean, Reduction::Sum});
        CtcCall call{c_contiguous(std::move(log_probs)),
                     c_contiguous(std::move(targets)),
                     c_contiguous(std::move(input_lengths)),
                     c_contiguous(std::move(target_lengths)),
                     blank,
                     red,
                     settings[0].cast<double>() != 0.0,
                     return_grad,
                     c_contiguous_if_array(std::move(grad_output)),
                     std::move(out),
                     std::move(grad_out),
                     n_threads};
        return visit_float<true>(kFn, "log_probs", call.log_probs, [&](auto t) { return run_ctc<decltype(t)>(call); });
      },
      py::arg("log_probs"), py::arg("targets"), py::arg("input_lengths"), py::arg("target_lengths"), py::arg("blank"),
      py::arg("reduction"), py::arg("settings"), py::arg("return_grad"), py::arg("grad_output"), py::arg("out"),
      py::arg("grad_out"), py::arg("n_threads"));
}

}  // namespace fastloss::bindings
