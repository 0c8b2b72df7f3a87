// The kernels' problem descriptions: plain C++ over raw pointers and sizes, no Python. The entry
// points, one per ISA level and float type, are listed in kernel_table.hpp (the loss families)
// and loss_registry.hpp (the elementwise losses, one registered definition each).
#pragma once

#include <array>
#include <cstdint>

#include "fastloss/broadcast.hpp"
#include "fastloss/half.hpp"

namespace fastloss {

// The reductions of every loss, defined once: the bindings export the names and codes to Python
// (_core.reductions), and each binding checks that a code is one its loss accepts.
enum class Reduction : int { None = 0, Mean = 1, Sum = 2, BatchMean = 3, Sequence = 4 };
inline constexpr const char* kReductionNames[] = {"none", "mean", "sum", "batchmean", "sequence"};
inline constexpr int kReductionCount = 5;

// The most scalar settings (huber's delta, focal's alpha and gamma, ...) an elementwise loss has.
inline constexpr int kMaxSettings = 4;

// One elementwise loss problem over n elements of C-contiguous `input` and `target`.
template <class T>
struct ElementwiseProblem {
  const T* input = nullptr;
  const T* target = nullptr;
  std::int64_t n = 0;
  // Optional operands broadcast to the input (weight, pos_weight), read through `layout`.
  const T* weight = nullptr;
  const T* pos_weight = nullptr;
  BroadcastLayout layout;
  // The loss's scalar settings, in the order its definition reads them (its Params).
  std::array<double, kMaxSettings> settings{};
  T* loss_out = nullptr;           // per-element loss; set for Reduction::None only
  T* grad = nullptr;               // d(loss)/d(input) times the upstream gradient, or nullptr
  compute_t<T> grad_scale = 1;     // scalar upstream gradient (already divided by n for mean)
  const T* grad_output = nullptr;  // per-element upstream gradient (Reduction::None), or nullptr
  int n_threads = 0;               // <= 0: the default thread count
};

// The losses of two differentiable arrays (cpp/kernels/paired.cpp).
enum class PairLoss : int { MarginRanking = 0, GaussianNll = 1, CosineEmbedding = 2, TripletMargin = 3 };

// One such problem over C-contiguous a, b (input1 and input2, or input and target) laid out
// (outer, mid, inner), and c (target, or var) laid out (outer, inner): broadcast along mid
// (mid == 1: c has a's shape). A row-wise loss (cosine embedding) has outer rows of mid values,
// inner == 1, and a loss and grad_output per row; triplet margin's c has a's shape and a gradient.
template <class T>
struct PairProblem {
  PairLoss loss = PairLoss::MarginRanking;
  const T* a = nullptr;
  const T* b = nullptr;
  const T* c = nullptr;
  std::int64_t outer = 1, mid = 1, inner = 0;
  std::int64_t c_count = 0;  // outer * inner
  std::array<double, kMaxSettings> settings{};
  T* loss_out = nullptr;           // per-element (per-row) loss for Reduction::None, or nullptr
  T* grad_a = nullptr;             // d(loss)/da times the upstream gradient, or nullptr
  T* grad_second = nullptr;        // d(loss)/db (margin ranking) or d(loss)/dc (gaussian), of its shape
  T* grad_third = nullptr;         // d(loss)/dc (triplet margin), or nullptr
  compute_t<T> grad_scale = 1;     // scalar upstream gradient (divided by n for mean)
  const T* grad_output = nullptr;  // per-element (per-row) upstream gradient (Reduction::None), or nullptr
  int n_threads = 0;
};

struct KernelResult {
  double sum = 0.0;                 // sum of the per-element losses (unused for None)
  std::int64_t first_invalid = -1;  // first element whose input/target is out of the domain
  // With first_invalid >= 0: "input" or "target", and the domain it must be in ("in [0, 1]"),
  // both owned by the loss's definition.
  const char* invalid_operand = nullptr;
  const char* domain = nullptr;
};

// Class-index targets of any integer dtype, read where they lie (no widening copy).
struct ClassTargets {
  enum class Kind : int { I8, I16, I32, I64, U8, U16, U32, U64 };
  const void* data = nullptr;  // nullptr: probability targets (or none)
  Kind kind = Kind::I64;

  explicit operator bool() const { return data != nullptr; }

  // Row r's class index; false for a uint64 index beyond int64 (out of range of any class
  // count, and never equal to an int64 ignore_index).
  bool load(std::int64_t r, std::int64_t& cls) const {
    switch (kind) {
      case Kind::I8: cls = static_cast<const std::int8_t*>(data)[r]; return true;
      case Kind::I16: cls = static_cast<const std::int16_t*>(data)[r]; return true;
      case Kind::I32: cls = static_cast<const std::int32_t*>(data)[r]; return true;
      case Kind::I64: cls = static_cast<const std::int64_t*>(data)[r]; return true;
      case Kind::U8: cls = static_cast<const std::uint8_t*>(data)[r]; return true;
      case Kind::U16: cls = static_cast<const std::uint16_t*>(data)[r]; return true;
      case Kind::U32: cls = static_cast<const std::uint32_t*>(data)[r]; return true;
      case Kind::U64: {
        const std::uint64_t v = static_cast<const std::uint64_t*>(data)[r];
        cls = static_cast<std::int64_t>(v & 0x7fffffffffffffffULL);
        return v <= 0x7fffffffffffffffULL;
      }
    }
    return false;
  }
};

// One cross-entropy-family problem. The input is laid out (outer, classes, inner) in C order, the
// class axis being axis 1 as in torch: "row" r = (r / inner, r % inner) is one sample, whose
// class c sits at (r / inner) * classes * inner + c * inner + r % inner. There are
// outer * inner rows; class-index targets and per-row outputs are indexed by row.
template <class T>
struct ClassProblem {
  const T* input = nullptr;
  std::int64_t outer = 0, classes = 0, inner = 1;
  ClassTargets target;              // class index per row, or none with target_probs
  const T* target_probs = nullptr;  // class probabilities in input's layout
  // The per-class and per-row operands below are in the compute type (float32 for half inputs,
  // widened by the bindings: they are small, and read once per row or per class).
  const compute_t<T>* weight = nullptr;  // per class (classes,), or nullptr
  std::int64_t ignore_index = -100;
  compute_t<T> label_smoothing = 0;
  bool log_probs = false;  // nll_loss: input are log-probabilities, no softmax
  // z-loss (PaLM's auxiliary loss): s * w_t * lse^2 added per counted row, w_t its target's
  // weight (1 for probability targets), so it is weighted and reduced like the main loss.
  compute_t<T> lse_square_scale = 0;
  double* row_z = nullptr;  // the z-loss term per row (0 where not counted), or nullptr
  // Sequence masking: row r is ignored when r % seq_len >= lengths[r / seq_len].
  const std::int64_t* lengths = nullptr;
  std::int64_t seq_len = 1;
  double* row_loss = nullptr;                 // per-row loss (0 where ignored), or nullptr
  T* grad = nullptr;                          // input's layout, or nullptr
  compute_t<T> grad_scale = 1;                // upstream gradient / reduction denominator
  const compute_t<T>* grad_output = nullptr;  // per-row-group upstream gradient, or nullptr
  std::int64_t grad_group = 1;                // rows per grad_output element (T for per-sequence sums)
  int n_threads = 0;

  std::int64_t rows() const { return outer * inner; }
};

// The losses of one value per row (cpp/kernels/rows.cpp).
enum class RowLoss : int { MultilabelSoftMargin = 0, MultiMargin = 1, MultilabelMargin = 2 };

// One such problem: C-contiguous input (rows, cols), the last axis being the classes.
template <class T>
struct RowProblem {
  RowLoss loss = RowLoss::MultilabelSoftMargin;
  const T* input = nullptr;
  std::int64_t rows = 0, cols = 0;
  const T* target_values = nullptr;             // float targets of the input's shape (multilabel soft margin)
  ClassTargets target;                          // one class per row (multi margin), or (rows, cols) (multilabel margin)
  const compute_t<T>* weight = nullptr;         // per class (cols,), or nullptr (in the compute type)
  std::array<double, kMaxSettings> settings{};  // multi margin: p, margin
  T* loss_out = nullptr;                        // per-row loss (Reduction::None), or nullptr
  T* grad = nullptr;                            // the input's shape, or nullptr
  compute_t<T> grad_scale = 1;                  // scalar upstream gradient (divided by rows for mean)
  const T* grad_output = nullptr;               // per-row upstream gradient (Reduction::None), or nullptr
  int n_threads = 0;
};

// One CTC problem (cpp/kernels/ctc.cpp): log_probs (max_time, batch, classes) C-contiguous, and
// per sequence b its labels labels[label_offsets[b], label_offsets[b + 1]) (checked by the
// binding: in [0, classes), none equal to blank) and its input length (in [0, max_time]).
template <class T>
struct CtcProblem {
  const T* log_probs = nullptr;
  std::int64_t max_time = 0, batch = 0, classes = 0;
  const std::int64_t* labels = nullptr;
  const std::int64_t* label_offsets = nullptr;  // batch + 1 entries
  const std::int64_t* input_lengths = nullptr;  // batch entries
  std::int64_t blank = 0;
  bool zero_infinity = false;
  double* seq_loss = nullptr;          // per-sequence loss (0 for an inf loss with zero_infinity): always set
  T* grad = nullptr;                   // log_probs' shape, or nullptr
  const double* grad_scale = nullptr;  // per-sequence upstream gradient (divided for "mean"), with grad
  int n_threads = 0;
};

struct TargetSummary {
  double weight_sum = 0.0;      // sum of weight[target] over rows that count
  std::int64_t first_bad = -1;  // first row whose class index is out of range
};

// torch.optim.SGD's update of one parameter array, in place, in one pass over memory.
template <class T>
struct SgdProblem {
  T* param = nullptr;
  const T* grad = nullptr;
  T* momentum_buffer = nullptr;  // nullptr when momentum == 0
  std::int64_t n = 0;
  compute_t<T> lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
  bool first_step = false;  // the buffer is initialised to the gradient (no dampening)
  int n_threads = 0;
};

// sum(w^2) of one array in float64 (fixed block order), writing grad = grad_scale * w if grad
// is not nullptr: the value and gradient of an L2 penalty in one pass.
template <class T>
struct SumSquaresProblem {
  const T* w = nullptr;
  std::int64_t n = 0;
  T* grad = nullptr;
  compute_t<T> grad_scale = 0;
  int n_threads = 0;
};

// exp, log, log1p; and the restricted forms the kernels use: log(1 + x) and log(1 - x) for x in
// [0, 1] (BCE), exp(x) for x in [kExpNormalMin, 0] (cross-entropy, also in the interleaved pairs
// it runs: each block's two halves side by side); exposed so that their accuracy is tested like
// the others'.
enum class MathFunction : int {
  Exp = 0,
  Log = 1,
  Log1p = 2,
  Log1pUnit = 3,
  Log1mUnit = 4,
  ExpNormal = 5,
  ExpNormalPair = 6
};

// Half precision <-> float32 (half.hpp), n values: exposed so that the conversions are tested
// exhaustively at every ISA level.
enum class HalfConversion : int { Float16ToFloat = 0, FloatToFloat16 = 1, Bfloat16ToFloat = 2, FloatToBfloat16 = 3 };

struct HalfConvertProblem {
  const void* src = nullptr;
  void* dst = nullptr;
  std::int64_t n = 0;
  HalfConversion conversion = HalfConversion::Float16ToFloat;
};

// y = f(x) elementwise with the vector math of vecmath.hpp.
template <class T>
struct MathProblem {
  const T* x = nullptr;
  T* y = nullptr;
  std::int64_t n = 0;
  MathFunction function = MathFunction::Exp;
  int n_threads = 0;
};

}  // namespace fastloss
