"""The float64 NumPy reference of the fastloss test-suite.

The formulas of the losses (value and gradient) live in ``fastloss._reference``, pure NumPy
shared with the tour and the benchmark; this module re-exports them under the names the tests
use, each computing in float64 whatever the dtype of its inputs (a float32 input is compared
with the float64 result of its very same values). Every ``*_elementwise`` function takes
``input``, ``target`` and any options, broadcastable to ``input``'s shape, and returns
``(loss, grad)``: per-element losses and the derivative of each with respect to its own input
element. ``reduce`` turns that pair into what a fastloss call returns for a given
``reduction`` and ``grad_output``.

Test-only helpers stay here: ``central_fd``, a float64 central finite-difference gradient
used to check both these formulas and fastloss itself, and the optimiser oracles
``l2_penalty`` and ``sgd_step``.

Nothing here calls fastloss's kernels or torch: ``fastloss._reference`` is plain NumPy, so
this stays the independent oracle.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Tuple, TypeVar

import numpy as np
from fastloss import _reference as _formulas
from fastloss._reference import BCE_GRAD_EPS, BCE_LOG_CLAMP, Pair

__all__ = [
    "BCE_GRAD_EPS",
    "BCE_LOG_CLAMP",
    "Pair",
    "mse_elementwise",
    "l1_elementwise",
    "huber_elementwise",
    "smooth_l1_elementwise",
    "soft_margin_elementwise",
    "hinge_embedding_elementwise",
    "sigmoid_focal_elementwise",
    "poisson_nll_elementwise",
    "kl_div_elementwise",
    "bce_elementwise",
    "gaussian_nll_loss",
    "margin_ranking_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "sigmoid",
    "bce_with_logits_elementwise",
    "reduce",
    "log_softmax",
    "class_rows",
    "cross_entropy",
    "nll_loss",
    "mask_lengths",
    "sequence_cross_entropy",
    "central_fd",
    "l2_penalty",
    "sgd_step",
]

F = TypeVar("F", bound=Callable[..., Any])


def _f64(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _float_to_f64(a: Any) -> Any:
    """Floats in an array, NumPy scalar or list as a float64 array; anything else (class indices,
    options, Python scalars) as it is."""
    if isinstance(a, (np.ndarray, np.generic, list, tuple)):
        arr = np.asarray(a)
        if arr.dtype.kind == "f":
            return _f64(arr)
    return a


def _in_float64(fn: F) -> F:
    """`fn` computing in float64: its float array arguments are converted first."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*map(_float_to_f64, args), **{k: _float_to_f64(v) for k, v in kwargs.items()})

    return wrapper  # type: ignore[return-value]


mse_elementwise = _in_float64(_formulas.mse_elementwise)
l1_elementwise = _in_float64(_formulas.l1_elementwise)
huber_elementwise = _in_float64(_formulas.huber_elementwise)
smooth_l1_elementwise = _in_float64(_formulas.smooth_l1_elementwise)
soft_margin_elementwise = _in_float64(_formulas.soft_margin_elementwise)
hinge_embedding_elementwise = _in_float64(_formulas.hinge_embedding_elementwise)
sigmoid_focal_elementwise = _in_float64(_formulas.sigmoid_focal_elementwise)
poisson_nll_elementwise = _in_float64(_formulas.poisson_nll_elementwise)
kl_div_elementwise = _in_float64(_formulas.kl_div_elementwise)
bce_elementwise = _in_float64(_formulas.bce_elementwise)  # torch's binary_cross_entropy, per element
sigmoid = _in_float64(_formulas.sigmoid)
gaussian_nll_loss = _in_float64(_formulas.gaussian_nll_loss)  # (loss, (d/d input, d/d var))
margin_ranking_loss = _in_float64(_formulas.margin_ranking_loss)  # (loss, (d/d input1, d/d input2))
triplet_margin_loss = _in_float64(_formulas.triplet_margin_loss)  # (loss, (d/d anchor, d/d pos, d/d neg))
cosine_embedding_loss = _in_float64(_formulas.cosine_embedding_loss)  # (loss, (d/d input1, d/d input2))
multilabel_soft_margin_loss = _in_float64(_formulas.multilabel_soft_margin_loss)  # per-row losses
multi_margin_loss = _in_float64(_formulas.multi_margin_loss)
multilabel_margin_loss = _in_float64(_formulas.multilabel_margin_loss)
bce_with_logits_elementwise = _in_float64(_formulas.bce_with_logits_elementwise)
reduce = _in_float64(_formulas.reduce)  # (reduced loss, grad_output * d(reduced loss)/d input)
log_softmax = _in_float64(_formulas.log_softmax)
class_rows = _in_float64(_formulas.class_rows)  # per-row (loss, grad, denominator) of (R, C) rows
cross_entropy = _in_float64(_formulas.cross_entropy)  # torch's cross_entropy: (loss, grad w.r.t. x)
nll_loss = _in_float64(_formulas.nll_loss)
mask_lengths = _formulas.mask_lengths  # (B, T) targets, steps t >= lengths[b] set to ignore_index
sequence_cross_entropy = _in_float64(_formulas.sequence_cross_entropy)


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


# ------------------------------------------------------------------ optimisation
def l2_penalty(params: Any, lam: float) -> Tuple[float, list]:
    """lam * sum_j sum(W_j ** 2) and the gradients 2 lam W_j, in float64 (a list for any input)."""
    arrays = [params] if isinstance(params, np.ndarray) else list(params)
    value = lam * sum(float(np.sum(_f64(w) ** 2)) for w in arrays)
    return value, [2.0 * lam * _f64(w) for w in arrays]


def sgd_step(
    params: Any,
    grads: Any,
    lr: float,
    buffers: Optional[list] = None,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
) -> Tuple[list, list]:
    """One torch.optim.SGD step in float64, in torch's order, on copies: (new params, new
    momentum buffers); a buffer is None until the first momentum step."""
    buffers = [None] * len(params) if buffers is None else list(buffers)
    new_params, new_buffers = [], []
    for p, g, buf in zip(params, grads, buffers):
        p, d = _f64(p), _f64(g)
        if maximize:
            d = -d
        if weight_decay != 0:
            d = d + weight_decay * p
        if momentum != 0:
            buf = d.copy() if buf is None else momentum * _f64(buf) + (1.0 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        new_params.append(p - lr * d)
        new_buffers.append(buf)
    return new_params, new_buffers
