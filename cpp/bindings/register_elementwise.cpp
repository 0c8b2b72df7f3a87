// Bindings for the elementwise regression losses (cpp/kernels/elementwise.cpp).
#include "elementwise_binding.hpp"

namespace fastloss::bindings {

void register_elementwise(py::module_& m) {
  def_elementwise(m, "mse_loss", &mse_kernel, &mse_kernel);
  def_elementwise(m, "l1_loss", &l1_kernel, &l1_kernel);
}

}  // namespace fastloss::bindings
