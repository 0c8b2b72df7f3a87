// Bindings for the binary classification losses (cpp/kernels/binary.cpp).
#include "elementwise_binding.hpp"

namespace fastloss::bindings {

void register_binary(py::module_& m) {
  def_elementwise(m, "binary_cross_entropy", &bce_kernel, &bce_kernel);
  def_elementwise(m, "binary_cross_entropy_with_logits", &bce_with_logits_kernel, &bce_with_logits_kernel);
}

}  // namespace fastloss::bindings
