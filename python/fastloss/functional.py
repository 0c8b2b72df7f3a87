"""The loss functions: argument normalisation in Python, all arithmetic in ``fastloss._core``.

Every function follows the calling convention of the API contract (see README.md):
``reduction`` in {"mean", "sum", "none"}, ``return_grad`` for the gradient from the same pass
over memory, ``grad_output`` for the upstream gradient, ``out=`` / ``grad_out=`` buffers and a
per-call ``n_threads``. Semantics are those of ``torch.nn.functional``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, Union

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
    "l1_loss",
    "mae_loss",
    "mse_loss",
]


def _reduction_code(fn: str, reduction: str) -> int:
    code = _REDUCTIONS.get(reduction) if isinstance(reduction, str) else None
    if code is None:
        allowed = ", ".join(repr(r) for r in _REDUCTIONS)
        raise ValueError(f"{fn}: reduction must be one of {allowed}; got {reduction!r}")
    return code


def _thread_count(fn: str, n_threads: Optional[int]) -> int:
    """0 means the OpenMP default (OMP_NUM_THREADS, threadpoolctl)."""
    if n_threads is None:
        return 0
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, (int, np.integer)) or n_threads < 1:
        raise ValueError(f"{fn}: n_threads must be None or a positive int; got {n_threads!r}")
    return int(n_threads)


def _as_input(x: ArrayLike) -> NDArray[Any]:
    """An ndarray the kernels can read: non-contiguous input is the one thing ever copied."""
    a = np.asarray(x)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _as_operand(x: Optional[ArrayLike], dtype: np.dtype[Any]) -> Optional[NDArray[Any]]:
    """target / weight: an ndarray keeps its dtype (a mismatch is the caller's TypeError);
    a list or scalar is converted to the input's dtype."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x if x.flags.c_contiguous else np.ascontiguousarray(x)
    return np.asarray(x, dtype=dtype)


def _as_grad_output(g: ArrayLike, dtype: np.dtype[Any]) -> Union[float, NDArray[Any]]:
    if isinstance(g, np.ndarray):
        if g.ndim == 0:
            return float(g)
        return g if g.flags.c_contiguous else np.ascontiguousarray(g)
    if np.ndim(g) == 0:
        return float(g)  # type: ignore[arg-type]
    return np.asarray(g, dtype=dtype)


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
    code = _reduction_code(fn, reduction)
    threads = _thread_count(fn, n_threads)
    x = _as_input(input)
    loss, grad = kernel(
        x,
        _as_operand(target, x.dtype),
        _as_operand(weight, x.dtype),
        _as_operand(pos_weight, x.dtype),
        code,
        bool(return_grad),
        _as_grad_output(grad_output, x.dtype) if return_grad else 1.0,
        out,
        grad_out,
        threads,
    )
    if isinstance(loss, float):  # reduced, no out=: a NumPy scalar of the input's dtype
        loss = x.dtype.type(loss)
    return (loss, grad) if return_grad else loss


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
