// The kernels' problem descriptions: plain C++ over raw pointers and sizes, no Python. The entry
// points, one per ISA level, are listed in kernel_table.hpp.
#pragma once

#include <cstdint>

#include "fastloss/broadcast.hpp"

namespace fastloss {

enum class Reduction : int { None = 0, Mean = 1, Sum = 2 };

// One elementwise loss problem over n elements of C-contiguous `input` and `target`.
template <class T>
struct ElementwiseProblem {
  const T* input = nullptr;
  const T* target = nullptr;
  std::int64_t n = 0;
  // Optional operands broadcast to the input (BCE weight, pos_weight), read through `layout`.
  const T* weight = nullptr;
  const T* pos_weight = nullptr;
  BroadcastLayout layout;
  T* loss_out = nullptr;           // per-element loss; set for Reduction::None only
  T* grad = nullptr;               // d(loss)/d(input) times the upstream gradient, or nullptr
  T grad_scale = T(1);             // scalar upstream gradient (already divided by n for mean)
  const T* grad_output = nullptr;  // per-element upstream gradient (Reduction::None), or nullptr
  int n_threads = 0;               // <= 0: OpenMP default
};

struct KernelResult {
  double sum = 0.0;                   // sum of the per-element losses (unused for None)
  std::int64_t first_invalid = -1;    // first element whose input/target is out of the domain
};


}  // namespace fastloss

namespace fastloss {

// One cross-entropy-family problem. The input is laid out (outer, classes, inner) in C order, the
// class axis being axis 1 as in torch: "row" r = (r / inner, r % inner) is one sample, whose
// class c sits at (r / inner) * classes * inner + c * inner + r % inner. There are
// outer * inner rows; class-index targets and per-row outputs are indexed by row.
template <class T, class Index>
struct ClassProblem {
  const T* input = nullptr;
  std::int64_t outer = 0, classes = 0, inner = 1;
  const Index* target = nullptr;      // class index per row, or nullptr with target_probs
  const T* target_probs = nullptr;    // class probabilities in input's layout
  const T* weight = nullptr;          // per class (classes,), or nullptr
  std::int64_t ignore_index = -100;
  T label_smoothing = T(0);
  bool log_probs = false;             // nll_loss: input are log-probabilities, no softmax
  // Sequence masking: row r is ignored when r % seq_len >= lengths[r / seq_len].
  const std::int64_t* lengths = nullptr;
  std::int64_t seq_len = 1;
  double* row_loss = nullptr;         // per-row loss (0 where ignored), or nullptr
  T* grad = nullptr;                  // input's layout, or nullptr
  T grad_scale = T(1);                // upstream gradient / reduction denominator
  const T* grad_output = nullptr;     // per-row-group upstream gradient, or nullptr
  std::int64_t grad_group = 1;        // rows per grad_output element (T for per-sequence sums)
  int n_threads = 0;

  std::int64_t rows() const { return outer * inner; }
};

struct TargetSummary {
  double weight_sum = 0.0;            // sum of weight[target] over rows that count
  std::int64_t first_bad = -1;        // first row whose class index is out of range
  std::int64_t bad_value = 0;
};


}  // namespace fastloss

namespace fastloss {

// torch.optim.SGD's update of one parameter array, in place, in one pass over memory.
template <class T>
struct SgdProblem {
  T* param = nullptr;
  const T* grad = nullptr;
  T* momentum_buffer = nullptr;  // nullptr when momentum == 0
  std::int64_t n = 0;
  T lr = T(0), momentum = T(0), dampening = T(0), weight_decay = T(0);
  bool nesterov = false, maximize = false;
  bool first_step = false;       // the buffer is initialised to the gradient (no dampening)
  int n_threads = 0;
};

// sum(w^2) of one array in float64 (fixed block order), writing grad = grad_scale * w if grad
// is not nullptr: the value and gradient of an L2 penalty in one pass.
template <class T>
struct SumSquaresProblem {
  const T* w = nullptr;
  std::int64_t n = 0;
  T* grad = nullptr;
  T grad_scale = T(0);
  int n_threads = 0;
};

// exp, log, log1p; and the restricted forms the kernels use: log(1 + x) and log(1 - x) for x in
// [0, 1] (BCE), exp(x) for x in [kExpNormalMin, 0] (cross-entropy, also in the interleaved pairs
// it runs: each block's two halves side by side); exposed so that their accuracy is tested like
// the others'.
enum class MathFunction : int {
  Exp = 0, Log = 1, Log1p = 2, Log1pUnit = 3, Log1mUnit = 4, ExpNormal = 5, ExpNormalPair = 6
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
