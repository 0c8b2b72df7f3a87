// Argument checks shared by every binding. They run before the GIL is released and are what
// guarantees that a kernel only ever sees buffers of the size and type it will read or write.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "fastloss/dispatch.hpp"
#include "fastloss/kernel_table.hpp"

namespace fastloss::bindings {

namespace py = pybind11;

inline std::string shape_str(const std::vector<std::int64_t>& shape) {
  std::ostringstream s;
  s << '(';
  for (std::size_t d = 0; d < shape.size(); ++d)
    s << shape[d] << (shape.size() == 1 ? "," : d + 1 < shape.size() ? ", " : "");
  s << ')';
  return s.str();
}

inline std::vector<std::int64_t> shape_of(const py::array& a) {
  return std::vector<std::int64_t>(a.shape(), a.shape() + a.ndim());
}

inline std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// The half dtypes: NumPy's float16, and ml_dtypes' bfloat16 when ml_dtypes is installed (its
// dtype is looked up once; None without it, and then no array has it).
inline const py::object& bfloat16_dtype() {
  static const py::object* const dtype = [] {
    try {
      return new py::object(py::dtype::from_args(py::module_::import("ml_dtypes").attr("bfloat16")));
    } catch (const py::error_already_set&) {
      return new py::object(py::none());  // leaked on purpose, like every cached Python object here
    }
  }();
  return *dtype;
}

// The NumPy dtype of storage type T.
template <class T>
py::dtype dtype_of() {
  if constexpr (std::is_same_v<T, float16_t>) {
    return py::dtype("float16");
  } else if constexpr (std::is_same_v<T, bfloat16_t>) {
    if (bfloat16_dtype().is_none()) throw py::type_error("bfloat16 needs ml_dtypes (pip install ml_dtypes)");
    return py::reinterpret_borrow<py::dtype>(bfloat16_dtype());
  } else {
    return py::dtype::of<T>();
  }
}

// Exact dtype match (byte order included) with T.
template <class T>
bool has_dtype(const py::handle& h) {
  if constexpr (is_half<T>::value) {
    if (!py::isinstance<py::array>(h)) return false;
    const py::dtype d = py::reinterpret_borrow<py::array>(h).dtype();
    if (d.itemsize() != 2 || d.byteorder() == '>') return false;
    if constexpr (std::is_same_v<T, float16_t>) return d.kind() == 'f';
    return !bfloat16_dtype().is_none() && d.kind() == 'V' && d.num() == bfloat16_dtype().cast<py::dtype>().num();
  } else {
    return py::isinstance<py::array_t<T>>(h);
  }
}

// NumPy's NPY_ARRAY_ALIGNED: the data pointer and strides are multiples of the dtype's alignment.
// Kernels read through typed pointers, so an unaligned buffer is never handed to them.
constexpr int kNpyAligned = 0x0100;

inline bool is_c_contiguous(const py::array& a) { return (a.flags() & py::array::c_style) != 0; }
inline bool is_aligned(const py::array& a) { return (a.flags() & kNpyAligned) != 0; }

// The array itself if it is C-contiguous and aligned, else an aligned C-contiguous copy: a
// non-contiguous or misaligned operand is the one thing ever copied. Checked here rather than in
// Python, where reading `a.flags` costs more than this whole test.
inline py::array c_contiguous(py::array a) {
  if (is_c_contiguous(a) && is_aligned(a)) return a;
  return py::module_::import("numpy").attr("array")(a, py::arg("order") = "C").cast<py::array>();
}

// c_contiguous for an optional operand (None) or a scalar-or-array (grad_output).
inline py::object c_contiguous_if_array(py::object obj) {
  if (!py::isinstance<py::array>(obj)) return obj;
  return c_contiguous(py::reinterpret_steal<py::array>(obj.release()));
}

// The reduced loss: a NumPy scalar of the input's dtype, like torch's 0-d tensor of the
// input's dtype. Indexing a 0-d array with () makes a new scalar from its value, ~10x cheaper
// than np.float32(value) in Python; the one array per dtype is reused under the GIL (and
// leaked on purpose: no Python object may be destroyed after the interpreter).
template <class T>
py::object numpy_scalar(double value) {
  static auto* const holder = new py::array(dtype_of<T>(), std::vector<py::ssize_t>{});
  static auto* const empty_index = new py::tuple();
  *static_cast<T*>(holder->mutable_data()) = baseline::half::from_double<T>(value);
  PyObject* scalar = PyObject_GetItem(holder->ptr(), empty_index->ptr());
  if (!scalar) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(scalar);
}

// Partial-sums mode, for fastloss's accumulators (fastloss.accumulate, and through it
// fastloss.dask): while set on a thread, a reduced loss called on that thread comes back as the
// pair (numerator, denominator) of Python floats, the float64 values before the division and
// the rounding to the input's dtype, so sums over batches or chunks combine into what one call
// on all of them returns. Thread-local: other threads' calls are unaffected.
inline thread_local bool partial_sums_mode = false;

// The reduced loss `numerator / denominator` into `out` (a 0-d buffer) when given, else as a
// NumPy scalar of the input's dtype (or the pair, in partial-sums mode).
template <class T>
void set_reduced_loss(double numerator, double denominator, T* out, py::object& loss_obj) {
  if (partial_sums_mode && !out) {
    loss_obj = py::make_tuple(numerator, denominator);
  } else if (out) {
    *out = baseline::half::from_double<T>(numerator / denominator);
  } else {
    loss_obj = numpy_scalar<T>(numerator / denominator);
  }
}

// The single dtype dispatch point: f(T{}) for `a`'s float type T (one of FASTLOSS_FOR_EACH_FLOAT,
// and with kHalf the half types too), else a TypeError naming the argument, the types and `a`'s
// dtype.
#define FASTLOSS_VISIT_DTYPE(T, suffix, ...) \
  if (has_dtype<T>(a)) return f(T{});
template <bool kHalf = false, class F>
decltype(auto) visit_float(const char* fn, const char* name, const py::array& a, F&& f) {
  FASTLOSS_FOR_EACH_FLOAT(FASTLOSS_VISIT_DTYPE, )
  if constexpr (kHalf) {
    FASTLOSS_FOR_EACH_HALF(FASTLOSS_VISIT_DTYPE, )
  }
  std::string types = "float32 or float64";
  if (kHalf) types = "float32, float64, float16 or bfloat16";
  throw py::type_error(std::string(fn) + ": " + name + " must be a " + types + " array; got dtype " + dtype_str(a));
}
#undef FASTLOSS_VISIT_DTYPE

// Class-index targets: any integer dtype, read by the kernel where they lie. Sets `out` and
// returns true if `a` has an integer dtype (native byte order).
inline bool class_targets(const py::array& a, ClassTargets& out) {
  using K = ClassTargets::Kind;
  K kind;
  if (has_dtype<std::int64_t>(a)) kind = K::I64;
  else if (has_dtype<std::int32_t>(a)) kind = K::I32;
  else if (has_dtype<std::uint8_t>(a)) kind = K::U8;
  else if (has_dtype<std::int8_t>(a)) kind = K::I8;
  else if (has_dtype<std::int16_t>(a)) kind = K::I16;
  else if (has_dtype<std::uint16_t>(a)) kind = K::U16;
  else if (has_dtype<std::uint32_t>(a)) kind = K::U32;
  else if (has_dtype<std::uint64_t>(a)) kind = K::U64;
  else return false;
  out.data = a.data();
  out.kind = kind;
  return true;
}

// A reduction code from Python (_core.reductions maps the names to codes) that `allowed` has.
inline Reduction reduction_arg(const char* fn, int code, std::initializer_list<Reduction> allowed) {
  for (const Reduction r : allowed)
    if (static_cast<int>(r) == code) return r;
  throw py::value_error(std::string(fn) + ": reduction code " + std::to_string(code) + " is not one of this loss's");
}

inline std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

// Flat C-order index -> "(i, j, k)", for messages that say where a bad value is.
inline std::string index_str(std::int64_t flat, const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_str(idx);
}

// An operand read alongside the input (target, weight, ...) must have the input's dtype T:
// TypeError naming both dtypes and the fix otherwise.
template <class T>
void require_input_dtype(const char* fn, const char* name, const py::array& a) {
  if (!has_dtype<T>(a)) {
    throw py::type_error(std::string(fn) + ": " + name + " dtype " + dtype_str(a) + " does not match input dtype " +
                         py::str(dtype_of<T>()).cast<std::string>() + "; convert it with " + name +
                         ".astype(input.dtype)");
  }
}

// An input array the kernel reads: dtype T, C-contiguous, `expected` shape.
template <class T>
const T* input_buffer(const char* fn, const char* name, const py::array& a, const std::vector<std::int64_t>& expected) {
  require_input_dtype<T>(fn, name, a);
  if (shape_of(a) != expected) {
    throw py::value_error(std::string(fn) + ": " + name + " shape " + shape_str(shape_of(a)) +
                          " must equal input shape " + shape_str(expected));
  }
  if (!is_c_contiguous(a)) throw py::value_error(std::string(fn) + ": " + name + " must be C-contiguous");
  return static_cast<const T*>(a.data());
}

// A caller-provided output buffer (out=, grad_out=): exactly dtype T, `expected` shape,
// C-contiguous and writeable. Returns nullptr when `obj` is None.
template <class T>
T* output_buffer(const char* fn, const char* name, const py::object& obj, const std::vector<std::int64_t>& expected) {
  if (obj.is_none()) return nullptr;
  std::string problem;
  if (!py::isinstance<py::array>(obj)) {
    problem = py::str(py::type::of(obj).attr("__name__")).cast<std::string>();
  } else {
    auto a = py::reinterpret_borrow<py::array>(obj);
    if (!has_dtype<T>(a)) problem = "dtype " + dtype_str(a);
    else if (shape_of(a) != expected) problem = "shape " + shape_str(shape_of(a));
    else if (!is_c_contiguous(a)) problem = "a non-contiguous array";
    else if (!is_aligned(a)) problem = "a misaligned array";
    else if (!a.writeable()) problem = "a read-only array";
    else return static_cast<T*>(a.mutable_data());
  }
  // The message is built only on the error path: this check runs on every call.
  throw py::value_error(std::string(fn) + ": " + name + " must be a C-contiguous, aligned, writeable " +
                        py::str(dtype_of<T>()).cast<std::string>() + " array of shape " + shape_str(expected) +
                        "; got " + problem);
}

// A caller's output buffer if one was given (see output_buffer), else a new array: sets `obj` to
// the array that will be returned and returns its data.
template <class T>
T* output_or_new(const char* fn, const char* name, const py::object& given, const std::vector<std::int64_t>& shape,
                 py::object& obj) {
  T* buf = output_buffer<T>(fn, name, given, shape);
  if (buf) {
    obj = given;
    return buf;
  }
  py::array a(dtype_of<T>(), shape);
  obj = a;
  return static_cast<T*>(a.mutable_data());
}

// The upstream gradient: nullptr for a scalar (a Python float: the Python layer turns 0-d
// arrays into floats), else the data of an array of exactly the loss's shape and dtype T,
// allowed only when the loss is an array (`per_element`).
template <class T>
const T* grad_output_array(const char* fn, const py::object& grad_output, bool per_element,
                           const std::vector<std::int64_t>& loss_shape, const py::array& input) {
  if (!py::isinstance<py::array>(grad_output)) return nullptr;
  const auto go = py::reinterpret_borrow<py::array>(grad_output);
  if (!per_element) {
    throw py::value_error(std::string(fn) +
                          ": grad_output must be a scalar when the loss is reduced; got an array of shape " +
                          shape_str(shape_of(go)));
  }
  if (!has_dtype<T>(go)) {
    throw py::value_error(std::string(fn) + ": grad_output dtype " + dtype_str(go) + " must match input dtype " +
                          dtype_str(input));
  }
  if (shape_of(go) != loss_shape) {
    throw py::value_error(std::string(fn) + ": grad_output shape " + shape_str(shape_of(go)) +
                          " must equal the loss shape " + shape_str(loss_shape) + " (or be a scalar)");
  }
  return static_cast<const T*>(go.data());  // made C-contiguous by the caller (c_contiguous_if_array)
}

inline void check_grad_out_needs_grad(const char* fn, bool return_grad, const py::object& grad_out) {
  if (!return_grad && !grad_out.is_none()) {
    throw py::value_error(std::string(fn) + ": grad_out was given but return_grad is False");
  }
}

// Element strides of a C-contiguous operand broadcast (NumPy rules) to `target_shape`:
// right-aligned, 0 on axes where the operand has length 1 or is missing.
inline std::vector<std::int64_t> broadcast_strides(const char* fn, const char* name, const py::array& a,
                                                   const std::vector<std::int64_t>& target_shape) {
  const auto shape = shape_of(a);
  const auto fail = [&] {
    throw py::value_error(std::string(fn) + ": " + name + " of shape " + shape_str(shape) +
                          " does not broadcast to input shape " + shape_str(target_shape));
  };
  if (shape.size() > target_shape.size()) fail();
  std::vector<std::int64_t> strides(target_shape.size(), 0);
  std::int64_t step = 1;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    const std::size_t d_src = shape.size() - 1 - k, d_dst = target_shape.size() - 1 - k;
    if (shape[d_src] != 1 && shape[d_src] != target_shape[d_dst]) fail();
    strides[d_dst] = shape[d_src] == 1 ? 0 : step;
    step *= shape[d_src];
  }
  return strides;
}

// ---------------------------------------------------------------------------------- aliasing
// An array argument of a call, for the overlap check: `output` if the call writes it.
struct ArrayArg {
  const char* name;
  py::handle obj;  // anything: only NumPy arrays with elements take part
  bool output = false;
};

// The bytes an array's elements span, [lo, hi); empty for an array without elements.
struct ByteSpan {
  std::uintptr_t lo = 0, hi = 0;
};

inline ByteSpan byte_span(const py::array& a) {
  const auto base = reinterpret_cast<std::uintptr_t>(a.data());
  std::intptr_t lo = 0, hi = 0;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (a.shape(d) == 0) return {};
    const std::intptr_t reach = static_cast<std::intptr_t>((a.shape(d) - 1) * a.strides(d));
    (reach < 0 ? lo : hi) += reach;
  }
  return {base + static_cast<std::uintptr_t>(lo), base + static_cast<std::uintptr_t>(hi + a.itemsize())};
}

// The very same view of memory: data pointer, dtype, shape and strides.
inline bool same_view(const py::array& a, const py::array& b) {
  if (a.data() != b.data() || a.ndim() != b.ndim() || !a.dtype().is(b.dtype())) return false;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (a.shape(d) != b.shape(d) || a.strides(d) != b.strides(d)) return false;
  }
  return true;
}

// A per-class or per-row operand in the kernels' compute type (ClassProblem, RowProblem): float32 and
// float64 where it lies, a half type's values widened to float32 into `buf` (C or rows values,
// small next to the logits).
template <class T>
const compute_t<T>* in_compute_type(const T* src, std::int64_t n, std::vector<float>& buf) {
  if constexpr (is_half<T>::value) {
    if (!src) return nullptr;
    buf.resize(static_cast<std::size_t>(n));
    HalfConvertProblem cp;
    cp.src = src;
    cp.dst = buf.data();
    cp.n = n;
    cp.conversion = std::is_same_v<T, float16_t> ? HalfConversion::Float16ToFloat : HalfConversion::Bfloat16ToFloat;
    half_convert_kernel(cp);
    return buf.data();
  } else {
    (void)n, (void)buf;
    return src;
  }
}

// An output that may be the very same view as an input: args[out] and args[in].
struct AliasPair {
  int in, out;
};

// The aliasing rule: an output may not share memory (by byte range, as np.may_share_memory
// judges) with an input or with another output, with one exception: for each of `aliases`,
// args[out] may be the very same view as args[in] (grad_out=input: the gradient overwrites the
// input; the kernels read each part of the input before they write its gradient). Inputs may overlap
// each other. ValueError naming both arguments, raised before anything is written. A loss call
// has a handful of arrays: compared pairwise on the stack (this runs on every call; heap
// vectors cost a tiny call a quarter of its time). A long list (an optimizer step over
// thousands of params) is sorted by address and swept: n log n.
inline void check_no_overlap(const char* fn, const ArrayArg* args, std::size_t count,
                             std::initializer_list<AliasPair> aliases = {}) {
  struct Entry {
    ByteSpan span;
    int arg;
  };
  constexpr std::size_t kSmall = 12;
  Entry small[kSmall];
  std::vector<Entry> large;
  Entry* entries = small;
  if (count > kSmall) {
    large.resize(count);
    entries = large.data();
  }
  std::size_t n = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!py::isinstance<py::array>(args[i].obj)) continue;
    const ByteSpan span = byte_span(py::reinterpret_borrow<py::array>(args[i].obj));
    if (span.hi > span.lo) entries[n++] = {span, static_cast<int>(i)};
  }
  const auto check_pair = [&](const Entry& e1, const Entry& e2) {
    if (e1.span.hi <= e2.span.lo || e2.span.hi <= e1.span.lo) return;
    const ArrayArg &a = args[static_cast<std::size_t>(e1.arg)], &b = args[static_cast<std::size_t>(e2.arg)];
    if (!a.output && !b.output) return;
    bool alias_pair = false;
    for (const AliasPair& pair : aliases) {
      alias_pair = alias_pair || (e1.arg == pair.in && e2.arg == pair.out) || (e1.arg == pair.out && e2.arg == pair.in);
    }
    if (alias_pair && same_view(py::reinterpret_borrow<py::array>(a.obj), py::reinterpret_borrow<py::array>(b.obj))) {
      return;
    }
    const ArrayArg& out = a.output ? a : b;
    const ArrayArg& other = a.output ? b : a;
    throw py::value_error(std::string(fn) + ": " + out.name + " shares memory with " + other.name +
                          "; an output may not overlap an input or another output (only grad_out may be the very "
                          "input array, to overwrite it with the gradient)");
  };
  if (n <= kSmall) {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = i + 1; j < n; ++j) check_pair(entries[i], entries[j]);
    }
    return;
  }
  std::sort(entries, entries + n, [](const Entry& a, const Entry& b) { return a.span.lo < b.span.lo; });
  std::vector<const Entry*> open;  // entries whose span reaches past the current start
  for (std::size_t i = 0; i < n; ++i) {
    const Entry& e = entries[i];
    open.erase(std::remove_if(open.begin(), open.end(), [&](const Entry* o) { return o->span.hi <= e.span.lo; }),
               open.end());
    for (const Entry* o : open) check_pair(*o, e);
    open.push_back(&e);
  }
}

inline void check_no_overlap(const char* fn, std::initializer_list<ArrayArg> args,
                             std::initializer_list<AliasPair> aliases = {}) {
  check_no_overlap(fn, args.begin(), args.size(), aliases);
}

}  // namespace fastloss::bindings
