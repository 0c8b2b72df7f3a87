// fastloss._core: the one extension module. Each family registers its own functions.
#include <algorithm>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "checks.hpp"
#include "fastloss/dispatch.hpp"
#include "fastloss/parallel.hpp"
#include "fastloss/streaming.hpp"

namespace py = pybind11;

namespace fastloss::bindings {
void register_elementwise(py::module_& m);
void register_paired(py::module_& m);
void register_rows(py::module_& m);
void register_softmax_ce(py::module_& m);
void register_optim(py::module_& m);
void register_mathfuncs(py::module_& m);
void register_ctc(py::module_& m);
}  // namespace fastloss::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastloss native kernels (private: use the functions in fastloss)";
  fastloss::bindings::register_elementwise(m);
  fastloss::bindings::register_paired(m);
  fastloss::bindings::register_rows(m);
  fastloss::bindings::register_softmax_ce(m);
  fastloss::bindings::register_optim(m);
  fastloss::bindings::register_mathfuncs(m);
  fastloss::bindings::register_ctc(m);
  py::dict reductions;  // the one list of reduction names and codes, for python/fastloss
  for (int code = 0; code < fastloss::kReductionCount; ++code) reductions[fastloss::kReductionNames[code]] = code;
  m.attr("reductions") = reductions;
  m.def(
      "max_threads", [] { return std::min(fastloss::default_threads(), fastloss::usable_cpus()); },
      "The default thread count of every call with n_threads=None.\n\n"
      "OpenMP's default (OMP_NUM_THREADS, threadpoolctl's limits), at most the CPUs this process may use.\n\n"
      "Returns\n-------\nint\n    The number of threads a call uses by default (>= 1).");
  m.def("usable_cpus", &fastloss::usable_cpus, "The CPUs this process may run on (its affinity mask).");
  m.def(
      "simd_level", &fastloss::simd_level,
      "The ISA level of the kernels in use.\n\n"
      "Returns\n-------\nstr\n    'baseline', 'avx2' or 'avx512': the best level the CPU runs, unless lowered by the\n"
      "    FASTLOSS_SIMD environment variable or set_simd_level.");
  m.def("supported_simd_levels", &fastloss::supported_simd_levels,
        "The ISA levels this CPU runs.\n\n"
        "Returns\n-------\nlist of str\n    The levels, lowest first (e.g. ['baseline', 'avx2']).");
  m.def(
      "set_simd_level",
      [](const std::string& level) {
        if (!fastloss::set_simd_level(level)) {
          const auto ok = fastloss::supported_simd_levels();
          std::string allowed;
          for (const auto& l : ok) allowed += (allowed.empty() ? "'" : ", '") + l + "'";
          throw py::value_error("set_simd_level: level must be one this CPU runs (" + allowed + "); got '" + level +
                                "'");
        }
      },
      py::arg("level"),
      "Switch every kernel to another ISA level (for tests and comparisons; not while kernels run).\n\n"
      "Parameters\n----------\nlevel : str\n    One of supported_simd_levels().\n\n"
      "Returns\n-------\nNone\n\n"
      "Raises\n------\nValueError\n    If the level is unknown or this CPU cannot run it.");
  m.def("min_parallel_work", &fastloss::min_parallel_work,
        "Problems below this many mse-equivalent elements run on one thread (bench/threshold.py measures it).");
  m.def("set_min_parallel_work", &fastloss::set_min_parallel_work, py::arg("elements"),
        "Set the threading threshold (-1: back to the default; for tests and bench/threshold.py).");
  m.def(
      "set_partial_sums",
      [](bool on) {
        const bool before = fastloss::bindings::partial_sums_mode;
        fastloss::bindings::partial_sums_mode = on;
        return before;
      },
      py::arg("on"),
      "On this thread, return reduced losses as (float64 numerator, float64 denominator) pairs (for "
      "fastloss's accumulators). Returns the previous setting.");
  m.def("streaming_threshold", &fastloss::streaming_threshold,
        "Calls whose arrays (read and written) span more bytes than this write their gradient with streaming stores "
        "(default: the last-level cache).");
  m.def(
      "set_streaming_threshold", &fastloss::set_streaming_threshold, py::arg("bytes"),
      "Set the streaming-store threshold in bytes (-1: back to the last-level cache size; for tests and benchmarks).");
}
