"""Plain float64 NumPy reference formulas for the fastloss test-suite.

Every ``*_elementwise`` function takes float64 arrays (``input``, ``target`` and
any options, already broadcastable to ``input``'s shape) and returns a pair
``(loss, grad)`` of per-element losses and of the analytic derivative of each
per-element loss with respect to its own input element.  ``reduce`` turns that
pair into what a fastloss call returns for a given ``reduction`` and
``grad_output``.  ``central_fd`` is a float64 central finite-difference
gradient used to check both these formulas and fastloss itself.

Nothing here imports fastloss or torch: this module is the independent oracle.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import numpy as np

Pair = Tuple[np.ndarray, np.ndarray]

#: torch clamps every log in binary_cross_entropy at this value.
BCE_LOG_CLAMP = -100.0
#: torch's lower bound of x * (1 - x) in the binary_cross_entropy gradient.
BCE_GRAD_EPS = 1e-12


def _f64(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def mse_elementwise(x: Any, y: Any) -> Pair:
    x, y = _f64(x), _f64(y)
    d = x - y
    return d * d, 2.0 * d


def l1_elementwise(x: Any, y: Any) -> Pair:
    x, y = _f64(x), _f64(y)
    d = x - y
    return np.abs(d), np.sign(d)  # np.sign(0) == 0: zero gradient at a tie


def bce_elementwise(x: Any, y: Any, weight: Optional[Any] = None) -> Pair:
    """torch.nn.functional.binary_cross_entropy, per element."""
    x, y = _f64(x), _f64(y)
    w = np.ones_like(x) if weight is None else _f64(weight)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_x = np.maximum(np.log(x), BCE_LOG_CLAMP)
        log_1mx = np.maximum(np.log1p(-x), BCE_LOG_CLAMP)
        loss = -w * (y * log_x + (1.0 - y) * log_1mx)
        grad = w * (x - y) / np.maximum(x * (1.0 - x), BCE_GRAD_EPS)
    return np.broadcast_to(loss, x.shape).copy(), np.broadcast_to(grad, x.shape).copy()


def sigmoid(x: Any) -> np.ndarray:
    x = _f64(x)
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def bce_with_logits_elementwise(
    x: Any, y: Any, weight: Optional[Any] = None, pos_weight: Optional[Any] = None
) -> Pair:
    """torch.nn.functional.binary_cross_entropy_with_logits, per element."""
    x, y = _f64(x), _f64(y)
    w = 1.0 if weight is None else _f64(weight)
    pw = 1.0 if pos_weight is None else _f64(pos_weight)
    # log(1 + exp(-x)) evaluated stably: log1p(exp(-|x|)) + max(-x, 0)
    softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0.0)
    loss = w * ((1.0 - y) * x + (1.0 + (pw - 1.0) * y) * softplus_neg)
    grad = w * ((1.0 - y + pw * y) * sigmoid(x) - pw * y)
    return np.broadcast_to(loss, x.shape).copy(), np.broadcast_to(grad, x.shape).copy()


def reduce(
    loss: np.ndarray,
    grad: np.ndarray,
    reduction: str,
    grad_output: Any = 1.0,
) -> Tuple[Any, np.ndarray]:
    """(reduced loss, grad_output * d(reduced loss)/d input) in float64."""
    loss, grad = _f64(loss), _f64(grad)
    go = _f64(grad_output)
    n = loss.size
    if reduction == "mean":
        value = np.float64(np.nan) if n == 0 else np.float64(loss.sum() / n)
        return value, grad * go / max(n, 1)
    if reduction == "sum":
        return np.float64(loss.sum()), grad * go
    if reduction == "none":
        return loss, grad * go
    raise ValueError(f"reference: unknown reduction {reduction!r}")


def central_fd(f: Callable[[np.ndarray], float], x: Any, h: float = 1e-6) -> np.ndarray:
    """Central finite-difference gradient of the scalar function ``f`` at ``x`` (float64)."""
    x = np.array(x, dtype=np.float64)  # private contiguous copy
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        xi = flat[i]
        flat[i] = xi + h
        fp = float(f(x.copy()))
        flat[i] = xi - h
        fm = float(f(x.copy()))
        flat[i] = xi
        gflat[i] = (fp - fm) / (2.0 * h)
    return grad
