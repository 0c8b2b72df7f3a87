// fastloss._core: the one extension module. Each family registers its own functions.
#include <omp.h>
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace fastloss::bindings {
void register_elementwise(py::module_& m);
void register_binary(py::module_& m);
void register_softmax_ce(py::module_& m);
void register_optim(py::module_& m);
}  // namespace fastloss::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastloss native kernels (private: use the functions in fastloss)";
  fastloss::bindings::register_elementwise(m);
  fastloss::bindings::register_binary(m);
  fastloss::bindings::register_softmax_ce(m);
  fastloss::bindings::register_optim(m);
  m.def("max_threads", &omp_get_max_threads, "The OpenMP default thread count (honours OMP_NUM_THREADS).");
}
