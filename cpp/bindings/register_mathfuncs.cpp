// Binding for the vector math over arrays (cpp/kernels/mathfuncs.cpp).
#include "checks.hpp"
#include "fastloss/dispatch.hpp"

namespace fastloss::bindings {
namespace {

MathFunction math_function(const std::string& name) {
  if (name == "exp") return MathFunction::Exp;
  if (name == "log") return MathFunction::Log;
  if (name == "log1p") return MathFunction::Log1p;
  if (name == "log1p_unit") return MathFunction::Log1pUnit;           // x in [0, 1] only
  if (name == "log1m_unit") return MathFunction::Log1mUnit;           // log(1 - x), x in [0, 1] only
  if (name == "exp_normal") return MathFunction::ExpNormal;           // x in [-87, 0] (float32), [-708, 0] only
  if (name == "exp_normal_pair") return MathFunction::ExpNormalPair;  // the same, computed in pairs
  throw py::value_error(
      "vector_math: function must be 'exp', 'log', 'log1p', 'log1p_unit', 'log1m_unit', 'exp_normal' or "
      "'exp_normal_pair'; got '" +
      name + "'");
}

template <class T>
py::array apply(MathFunction f, const py::array& x_given, int n_threads) {
  const py::array x = c_contiguous(x_given);
  py::array_t<T> y(shape_of(x));
  const MathProblem<T> p{static_cast<const T*>(x.data()), y.mutable_data(), element_count(shape_of(x)), f, n_threads};
  {
    py::gil_scoped_release release;  // only the kernel: returning y touches its reference count
    math_kernel(p);
  }
  return y;
}

// Half <-> float32 of a C-contiguous array: the half side is given and returned as uint16 bits,
// so the tests need no half dtype to compare with NumPy's and ml_dtypes' casts.
py::array half_convert(const std::string& name, const py::array& x_given) {
  HalfConversion conversion;
  if (name == "float16_to_float") conversion = HalfConversion::Float16ToFloat;
  else if (name == "float_to_float16") conversion = HalfConversion::FloatToFloat16;
  else if (name == "bfloat16_to_float") conversion = HalfConversion::Bfloat16ToFloat;
  else if (name == "float_to_bfloat16") conversion = HalfConversion::FloatToBfloat16;
  else {
    throw py::value_error(
        "half_convert: conversion must be 'float16_to_float', 'float_to_float16', 'bfloat16_to_float' or "
        "'float_to_bfloat16'; got '" +
        name + "'");
  }
  const bool from_half = conversion == HalfConversion::Float16ToFloat || conversion == HalfConversion::Bfloat16ToFloat;
  const py::array x = c_contiguous(x_given);
  if (from_half ? !has_dtype<std::uint16_t>(x) : !has_dtype<float>(x)) {
    throw py::type_error(std::string("half_convert: x must be a ") + (from_half ? "uint16" : "float32") +
                         " array; got dtype " + dtype_str(x));
  }
  const auto shape = shape_of(x);
  py::array y = from_half ? py::array(py::array_t<float>(shape)) : py::array(py::array_t<std::uint16_t>(shape));
  const HalfConvertProblem p{x.data(), y.mutable_data(), element_count(shape), conversion};
  {
    py::gil_scoped_release release;
    half_convert_kernel(p);
  }
  return y;
}

}  // namespace

void register_mathfuncs(py::module_& m) {
  m.def("half_convert", &half_convert, py::arg("conversion"), py::arg("x"),
        "Half precision <-> float32 with the kernels' conversions (for tests): the half side as uint16 bits.");
  m.def(
      "vector_math",
      [](const std::string& name, const py::array& x, int n_threads) {
        const MathFunction f = math_function(name);
        return visit_float("vector_math", "x", x, [&](auto t) { return apply<decltype(t)>(f, x, n_threads); });
      },
      py::arg("function"), py::arg("x"), py::arg("n_threads") = 0);
}

}  // namespace fastloss::bindings
