"""The loss functions: argument normalisation in Python, all arithmetic in ``fastloss._core``.

Every function follows the calling convention of the API contract (see README.md):
``reduction`` in {"mean", "sum", "none"}, ``return_grad`` for the gradient from the same pass
over memory, ``grad_output`` for the upstream gradient, ``out=`` / ``grad_out=`` buffers and a
per-call ``n_threads``. Semantics are those of ``torch.nn.functional``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core

FloatArray = NDArray[np.floating[Any]]
#: A reduced loss (NumPy scalar of the input's dtype, or the 0-d ``out`` array) or, for
#: ``reduction="none"``, the per-element loss array.
Loss = Union[np.floating[Any], FloatArray]
LossResult = Union[Loss, Tuple[Loss, FloatArray]]

_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "l1_loss",
    "mae_loss",
    "mse_loss",
    "nll_loss",
    "sequence_cross_entropy",
]


def _reduction_code(fn: str, reduction: str, allowed_codes: Dict[str, int] = _REDUCTIONS) -> int:
    code = allowed_codes.get(reduction) if isinstance(reduction, str) else None
    if code is None:
        allowed = ", ".join(repr(r) for r in allowed_codes)
        raise ValueError(f"{fn}: reduction must be one of {allowed}; got {reduction!r}")
    return code


#: Thread counts above this are passed as this: the kernels clamp any count to the CPUs the
#: process may use (its affinity mask), and the bindings take a C int.
_THREADS_CAP = 1 << 30


def _thread_count(fn: str, n_threads: Optional[int]) -> int:
    """0 means the default (OMP_NUM_THREADS, threadpoolctl); a positive int of any size is
    clamped (by the kernels) to the CPUs this process may use."""
    if n_threads is None:
        return 0
    if type(n_threads) is int and 1 <= n_threads <= _THREADS_CAP:  # the common case, without isinstance
        return n_threads
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, (int, np.integer)):
        raise TypeError(f"{fn}: n_threads must be None or a positive int; got {type(n_threads).__name__} "
                        f"{n_threads!r}")
    if n_threads < 1:
        raise ValueError(f"{fn}: n_threads must be None or a positive int; got {n_threads!r}")
    return int(min(n_threads, _THREADS_CAP))


def _index_argument(fn: str, name: str, value: Any) -> int:
    """An integer argument (ignore_index): int or NumPy integer, within int64."""
    if type(value) is not int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{fn}: {name} must be an int; got {type(value).__name__} {value!r}")
    index = int(value)
    if not -(1 << 63) <= index < (1 << 63):
        raise ValueError(f"{fn}: {name} must fit in int64; got {value!r}")
    return index


def _real_argument(fn: str, name: str, value: Any) -> float:
    """A real-valued argument (label_smoothing): a Python or NumPy number (its range is the
    kernels' check)."""
    if type(value) is float:
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a float; got {type(value).__name__} {value!r}")
    return float(value)


def _as_input(fn: str, x: ArrayLike) -> NDArray[Any]:
    """An ndarray (the bindings copy a non-contiguous or misaligned one, the one thing ever
    copied). A list or scalar of Python numbers becomes float64 (an integer *array* stays an
    error); anything that is not numbers is a TypeError naming `input`."""
    if isinstance(x, np.ndarray):
        return x
    a = _numeric_array(fn, "input", x)
    return a.astype(np.float64) if a.dtype.kind in "biu" else a


def _numeric_array(fn: str, name: str, x: Any, dtype: Optional[np.dtype[Any]] = None) -> NDArray[Any]:
    """np.asarray(x, dtype) of a non-ndarray argument, or a TypeError naming the argument if x
    is not numbers (None, strings, objects)."""
    a = None
    if x is not None:  # np.asarray(None, float) is nan, np.asarray("2", float) is 2.0: both refused
        try:
            a = np.asarray(x)
        except (TypeError, ValueError):
            pass
    if a is None or a.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {name} must be an array of numbers; got {type(x).__name__} {x!r:.60}")
    return a if dtype is None else a.astype(dtype, copy=False)


def _prepare(fn: str, input: ArrayLike, reduction: str, n_threads: Optional[int],
             reductions: Dict[str, int] = _REDUCTIONS) -> Tuple[NDArray[Any], int, int]:
    """A loss call's input array, reduction code and thread count. The common argument types
    (an ndarray, a known reduction, None or an int) are checked inline: a tiny loss's whole
    kernel call costs under 2 us, and each Python call here about 0.1 us."""
    code = reductions.get(reduction) if type(reduction) is str else None
    if code is None:
        code = _reduction_code(fn, reduction, reductions)
    threads = n_threads if type(n_threads) is int and 1 <= n_threads <= _THREADS_CAP else _thread_count(fn, n_threads)
    x = input if type(input) is np.ndarray else _as_input(fn, input)
    return x, code, threads


def _as_operand(fn: str, name: str, x: Optional[ArrayLike], dtype: np.dtype[Any],
                optional: bool = True) -> Optional[NDArray[Any]]:
    """target / weight: an ndarray keeps its dtype (a mismatch is the binding's TypeError);
    a list or scalar is converted to the input's dtype (TypeError naming it if it is not numbers)."""
    if isinstance(x, np.ndarray) or (x is None and optional):
        return x
    return _numeric_array(fn, name, x, dtype)


def _as_grad_output(fn: str, g: ArrayLike, dtype: np.dtype[Any]) -> Union[float, NDArray[Any]]:
    if type(g) is float or type(g) is int:  # the common case first: np.ndim costs microseconds
        return float(g)
    if not isinstance(g, np.ndarray):
        try:
            a = np.asarray(g)
        except (TypeError, ValueError):
            a = np.asarray(None)
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{fn}: grad_output must be a number or an array of numbers; got "
                             f"{type(g).__name__} {g!r:.60}")
        g = a.astype(dtype, copy=False)
    if g.ndim == 0 and g.dtype.kind in "biuf":
        return float(g)
    return g  # an array: the binding checks its dtype and shape


def _run(
    fn: str,
    kernel: Callable[..., Tuple[Any, Any]],
    x: NDArray[Any],
    operands: Tuple[Any, ...],
    return_grad: bool,
    grad_output: ArrayLike,
    out: Optional[FloatArray],
    grad_out: Optional[FloatArray],
    threads: int,
) -> LossResult:
    """Calls a loss binding: kernel(x, *operands, return_grad, grad_output, out, grad_out, threads).
    A reduced loss comes back as a NumPy scalar of the input's dtype (or the 0-d `out`)."""
    if not return_grad:
        go: Union[float, NDArray[Any]] = 1.0
    else:
        go = grad_output if type(grad_output) is float else _as_grad_output(fn, grad_output, x.dtype)
    loss, grad = kernel(x, *operands, bool(return_grad), go, out, grad_out, threads)
    return (loss, grad) if return_grad else loss


def _elementwise(
    fn: str,
    kernel: Callable[..., Tuple[Any, Any]],
    input: ArrayLike,
    target: ArrayLike,
    reduction: str,
    return_grad: bool,
    grad_output: ArrayLike,
    out: Optional[FloatArray],
    grad_out: Optional[FloatArray],
    n_threads: Optional[int],
    weight: Optional[ArrayLike] = None,
    pos_weight: Optional[ArrayLike] = None,
) -> LossResult:
    x, code, threads = _prepare(fn, input, reduction, n_threads)
    # an ndarray or None as is, without a call (see _prepare)
    operands = (target if type(target) is np.ndarray else _as_operand(fn, "target", target, x.dtype, False),
                None if weight is None else _as_operand(fn, "weight", weight, x.dtype),
                None if pos_weight is None else _as_operand(fn, "pos_weight", pos_weight, x.dtype), code, ())
    return _run(fn, kernel, x, operands, return_grad, grad_output, out, grad_out, threads)


def mse_loss(
    input: ArrayLike,
    target: ArrayLike,
    reduction: str = "mean",
    *,
    return_grad: bool = False,
    grad_output: ArrayLike = 1.0,
    out: Optional[FloatArray] = None,
    grad_out: Optional[FloatArray] = None,
    n_threads: Optional[int] = None,
) -> LossResult:
    """Mean squared error, ``mean((input - target)**2)``; torch: ``F.mse_loss`` / ``nn.MSELoss``.

    The gradient is ``2 (input - target) / N`` for ``"mean"`` (``N`` = number of elements),
    times ``grad_output``.

    >>> import numpy as np, fastloss as fl
    >>> fl.mse_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
    np.float64(2.0)
    >>> loss, grad = fl.mse_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0]), return_grad=True)
    >>> grad
    array([ 0., -2.])
    """
    return _elementwise("mse_loss", _core.mse_loss, input, target, reduction, return_grad, grad_output, out,
                        grad_out, n_threads)


def l1_loss(
    input: ArrayLike,
    target: ArrayLike,
    reduction: str = "mean",
    *,
    return_grad: bool = False,
    grad_output: ArrayLike = 1.0,
    out: Optional[FloatArray] = None,
    grad_out: Optional[FloatArray] = None,
    n_threads: Optional[int] = None,
) -> LossResult:
    """Mean absolute error, ``mean(|input - target|)``; torch: ``F.l1_loss`` / ``nn.L1Loss``.

    The gradient is ``sign(input - target) / N`` for ``"mean"``, ``0`` at a tie (as torch).

    >>> import numpy as np, fastloss as fl
    >>> fl.l1_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0]), reduction="sum")
    np.float64(2.0)
    """
    return _elementwise("l1_loss", _core.l1_loss, input, target, reduction, return_grad, grad_output, out,
                        grad_out, n_threads)


#: Alias of :func:`l1_loss`.
mae_loss = l1_loss


def binary_cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: Optional[ArrayLike] = None,
    reduction: str = "mean",
    *,
    return_grad: bool = False,
    grad_output: ArrayLike = 1.0,
    out: Optional[FloatArray] = None,
    grad_out: Optional[FloatArray] = None,
    n_threads: Optional[int] = None,
) -> LossResult:
    """Binary cross-entropy on probabilities; torch: ``F.binary_cross_entropy`` / ``nn.BCELoss``.

    ``loss_i = -w_i [y_i log(x_i) + (1 - y_i) log(1 - x_i)]`` with each log clamped at -100 (as
    torch), ``weight`` broadcast to ``input`` by NumPy rules. The gradient is torch's
    ``w (x - y) / max(x (1 - x), 1e-12)``. Input or target outside [0, 1] raises ValueError
    (torch: RuntimeError); NaN propagates to the result (torch raises).

    >>> import numpy as np, fastloss as fl
    >>> round(float(fl.binary_cross_entropy(np.array([0.5, 0.5]), np.array([0.0, 1.0]))), 6)
    0.693147
    """
    return _elementwise("binary_cross_entropy", _core.binary_cross_entropy, input, target, reduction,
                        return_grad, grad_output, out, grad_out, n_threads, weight=weight)


def binary_cross_entropy_with_logits(
    input: ArrayLike,
    target: ArrayLike,
    weight: Optional[ArrayLike] = None,
    reduction: str = "mean",
    pos_weight: Optional[ArrayLike] = None,
    *,
    return_grad: bool = False,
    grad_output: ArrayLike = 1.0,
    out: Optional[FloatArray] = None,
    grad_out: Optional[FloatArray] = None,
    n_threads: Optional[int] = None,
) -> LossResult:
    """Binary cross-entropy on logits; torch: ``F.binary_cross_entropy_with_logits`` /
    ``nn.BCEWithLogitsLoss``.

    ``loss_i = w_i [(1 - y) x + (1 + (p - 1) y) (log1p(exp(-|x|)) + max(-x, 0))]``, stable for any
    logit (+-1e4 gives a finite loss and gradient). ``weight`` and ``pos_weight`` (``p``)
    broadcast to ``input`` by NumPy rules, e.g. ``pos_weight`` of shape ``(C,)`` for input
    ``(N, C)``. The gradient is ``w [(1 - y + p y) sigmoid(x) - p y]``.

    >>> import numpy as np, fastloss as fl
    >>> round(float(fl.binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0]))), 6)
    0.693147
    """
    return _elementwise("binary_cross_entropy_with_logits", _core.binary_cross_entropy_with_logits, input,
                        target, reduction, return_grad, grad_output, out, grad_out, n_threads, weight=weight,
                        pos_weight=pos_weight)


_CLASS_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2}
_SEQUENCE_REDUCTIONS = {"none": 0, "mean": 1, "sum": 2, "batchmean": 3, "sequence": 4}


def _as_class_target(fn: str, t: ArrayLike, dtype: np.dtype[Any]) -> NDArray[Any]:
    """Class indices keep their integer dtype (int32 / int64, checked by the kernel); float
    lists become probabilities of the input's dtype."""
    if isinstance(t, np.ndarray):
        return t
    a = _numeric_array(fn, "target", t)
    return a.astype(dtype) if a.dtype.kind == "f" else a


def _class_loss(
    fn: str,
    kernel: Callable[..., Tuple[Any, Any]],
    reductions: Dict[str, int],
    input: ArrayLike,
    target: ArrayLike,
    weight: Optional[ArrayLike],
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    variant: Any,
    return_grad: bool,
    grad_output: ArrayLike,
    out: Optional[FloatArray],
    grad_out: Optional[FloatArray],
    n_threads: Optional[int],
) -> LossResult:
    """The cross-entropy family's call: `variant` is log_probs (cross_entropy / nll_loss) or
    the lengths array (sequence_cross_entropy)."""
    x, code, threads = _prepare(fn, input, reduction, n_threads, reductions)
    # an ndarray or None as is, without a call (see _prepare)
    ignore = ignore_index if type(ignore_index) is int and -(1 << 63) <= ignore_index < (1 << 63) \
        else _index_argument(fn, "ignore_index", ignore_index)
    smoothing = label_smoothing if type(label_smoothing) is float \
        else _real_argument(fn, "label_smoothing", label_smoothing)
    operands = (target if type(target) is np.ndarray else _as_class_target(fn, target, x.dtype),
                None if weight is None else _as_operand(fn, "weight", weight, x.dtype), ignore, code, smoothing, variant)
    return _run(fn, kernel, x, operands, return_grad, grad_output, out, grad_out, threads)


def cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: Optional[ArrayLike] = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    *,
    return_grad: bool = False,
    grad_output: ArrayLike = 1.0,
    out: Optional[FloatArray] = None,
    grad_out: Optional[FloatArray] = None,
    n_threads: Optional[int] = None,
) -> LossResult:
    """Softmax cross-entropy on logits; torch: ``F.cross_entropy`` / ``nn.CrossEntropyLoss``.

    ``input`` has shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` (class axis 1, as torch).
    ``target`` holds class indices (int64 or int32) of shape ``()``, ``(N,)`` or ``(N, d1, ...)``,
    or class probabilities of ``input``'s shape and dtype.

    With class indices, ``loss_i = -w[t_i] log softmax(x_i)[t_i]``; rows whose target is
    ``ignore_index`` count 0 and get a zero gradient, and ``"mean"`` divides by the sum of
    ``weight[t_i]`` over the other rows (``nan`` when every target is ignored). With
    probabilities, ``loss_i = -sum_c w_c y_ic log softmax(x_i)_c`` and ``"mean"`` divides by the
    number of rows ``N d1 ...``. ``label_smoothing`` ``eps`` mixes the target with the uniform
    distribution exactly as torch does (``(1 - eps)`` on the target, ``eps / C`` on every class,
    weighted, normalised by the same denominator).

    >>> import numpy as np, fastloss as fl
    >>> round(float(fl.cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))), 6)
    0.693147
    """
    return _class_loss("cross_entropy", _core.cross_entropy, _CLASS_REDUCTIONS, input, target, weight, ignore_index,
                       reduction, label_smoothing, False, return_grad, grad_output, out, grad_out, n_threads)


def nll_loss(
    input: ArrayLike,
    target: ArrayLike,
    weight: Optional[ArrayLike] = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    *,
    return_grad: bool = False,
    grad_output: ArrayLike = 1.0,
    out: Optional[FloatArray] = None,
    grad_out: Optional[FloatArray] = None,
    n_threads: Optional[int] = None,
) -> LossResult:
    """Negative log-likelihood on log-probabilities; torch: ``F.nll_loss`` / ``nn.NLLLoss``.

    ``loss_i = -w[t_i] input[i, t_i]``, shapes, ``weight``, ``ignore_index`` and ``"mean"`` as in
    :func:`cross_entropy` with class indices.

    >>> import numpy as np, fastloss as fl
    >>> float(fl.nll_loss(np.log(np.array([[0.25, 0.75]])), np.array([1])).round(6))
    0.287682
    """
    return _class_loss("nll_loss", _core.cross_entropy, _CLASS_REDUCTIONS, input, target, weight, ignore_index,
                       reduction, 0.0, True, return_grad, grad_output, out, grad_out, n_threads)


def sequence_cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: Optional[ArrayLike] = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    lengths: Optional[ArrayLike] = None,
    return_grad: bool = False,
    grad_output: ArrayLike = 1.0,
    out: Optional[FloatArray] = None,
    grad_out: Optional[FloatArray] = None,
    n_threads: Optional[int] = None,
) -> LossResult:
    """Per-time-step cross-entropy of a decoder: ``nn.CrossEntropyLoss`` over every step.

    ``logits`` ``(B, T, V)`` channel-last, ``targets`` ``(B, T)`` class indices (int64 or int32);
    ``lengths`` ``(B,)`` masks steps ``t >= lengths[b]`` exactly like ``ignore_index``.
    Reductions: ``"mean"`` over the counted tokens (weighted: divides by the sum of their
    weights; = ``nn.CrossEntropyLoss`` on the flattened ``(B T, V)`` batch), ``"batchmean"``
    (sum / B), ``"sum"``, ``"none"`` (``(B, T)``, 0 where ignored), ``"sequence"`` (``(B,)``
    per-sequence sums, e.g. to score candidate translations). ``grad_output`` has the loss's
    shape for ``"none"`` and ``"sequence"``. The vocabulary streams through an online
    log-sum-exp: no ``(B T, V)`` temporary besides the gradient.

    >>> import numpy as np, fastloss as fl
    >>> logits = np.zeros((2, 3, 5))
    >>> fl.sequence_cross_entropy(logits, np.ones((2, 3), np.int64), reduction="sequence").round(4)
    array([4.8283, 4.8283])
    """
    lens = None
    if lengths is not None:
        lens = np.asarray(lengths)
        if lens.dtype.kind not in "iu":
            raise ValueError(f"sequence_cross_entropy: lengths must be an integer array; got dtype {lens.dtype}")
        lens = np.ascontiguousarray(lens, dtype=np.int64)
    return _class_loss("sequence_cross_entropy", _core.sequence_cross_entropy, _SEQUENCE_REDUCTIONS, logits, targets,
                       weight, ignore_index, reduction, label_smoothing, lens, return_grad, grad_output, out, grad_out,
                       n_threads)
