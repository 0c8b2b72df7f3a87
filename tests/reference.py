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


# ------------------------------------------------------------------ class losses
# The cross-entropy family works on rows: one row of C class scores per sample (and per
# position d1, ... of a K-dim input, or per time step of a sequence). The functions below move
# the class axis last, flatten the rest to R rows, compute per-row (loss, d loss / d row) in
# float64 and reduce with the row denominators (weight[target] for class indices, 1 for
# probability targets), exactly as torch.nn.functional.cross_entropy defines them.


def log_softmax(x: Any, axis: int = -1) -> np.ndarray:
    """float64 log-softmax; a NaN anywhere in a row makes the whole row NaN."""
    x = _f64(x)
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        z = x - m
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def class_rows(
    x2: np.ndarray,
    target: np.ndarray,
    weight: Optional[Any] = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    log_probs: bool = False,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row (loss, grad, denominator) of rows ``x2`` (R, C).

    ``target`` is (R,) class indices or (R, C) probabilities. With w the class weights and q the
    effective target distribution ((1 - eps) one-hot / probabilities + eps / C), every member of
    the family is ``loss = -sum_c w_c q_c log p_c``; its gradient w.r.t. the logits is
    ``(sum_c w_c q_c) p_j - w_j q_j`` (``-w_j q_j`` w.r.t. log-probabilities). Ignored rows count
    0, with a zero gradient, whatever their logits (NaN included); their denominator is 0.
    """
    x2 = _f64(x2)
    R, C = x2.shape
    w = np.ones(C) if weight is None else _f64(weight)
    eps = float(label_smoothing)
    logp = x2 if log_probs else log_softmax(x2, axis=1)
    target = np.asarray(target)
    if target.dtype.kind == "f":  # probabilities: every row counts, denominator 1 per row
        counted = np.ones(R, bool)
        q = (1.0 - eps) * _f64(target) + eps / C
        den = np.ones(R)
    else:
        t = target.astype(np.int64)
        counted = t != ignore_index
        q = np.zeros((R, C))
        q[np.arange(R)[counted], t[counted]] = 1.0 - eps
        q += eps / C
        den = np.where(counted, w[np.where(counted, t, 0)] if C else 0.0, 0.0)
    wq = w[None, :] * q
    with np.errstate(invalid="ignore", over="ignore"):
        # a class of zero target weight contributes 0 even where log p = -inf (a masked logit)
        loss = np.where(counted, -np.sum(np.where(wq == 0, 0.0, wq * logp), axis=1), 0.0)
        grad = -wq if log_probs else np.sum(wq, axis=1, keepdims=True) * np.exp(logp) - wq
    grad = np.where(counted[:, None], grad, 0.0)
    return loss, grad, den


def _reduce_rows(
    loss: np.ndarray,
    grad: np.ndarray,
    den: np.ndarray,
    reduction: str,
    grad_output: Any,
    row_shape: Tuple[int, ...],
    batch: int = 1,
) -> Tuple[Any, np.ndarray]:
    """(reduced loss, grad_output * d(reduced loss) / d rows) of per-row results."""
    go = _f64(grad_output)
    if reduction in ("mean", "sum", "batchmean"):
        divisor = {"mean": float(np.sum(den)), "sum": 1.0, "batchmean": float(batch)}[reduction]
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.float64(np.sum(loss) / divisor)
        scale = go / divisor if divisor != 0 else 0.0 * go  # nothing counted: every row grad is 0
        return value, grad * scale
    if reduction == "none":
        scale = np.broadcast_to(go, row_shape).reshape(-1, 1)
        return loss.reshape(row_shape), grad * scale
    if reduction == "sequence":  # rows are (B, T) time steps: per-sequence sums
        steps = loss.size // batch if batch else 0
        scale = np.repeat(np.broadcast_to(go, (batch,)), steps).reshape(-1, 1)
        return loss.reshape(batch, steps).sum(axis=1), grad * scale
    raise ValueError(f"reference: unknown reduction {reduction!r}")


def cross_entropy(
    x: Any,
    target: Any,
    weight: Optional[Any] = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    grad_output: Any = 1.0,
    log_probs: bool = False,
) -> Tuple[Any, np.ndarray]:
    """torch.nn.functional.cross_entropy (``log_probs=True``: nll_loss): (loss, grad w.r.t. x).

    ``x`` is (C,), (N, C) or (N, C, d1, ...); ``target`` class indices of shape (), (N,) or
    (N, d1, ...), or probabilities of x's shape (float dtype).
    """
    x = _f64(x)
    target = np.asarray(target)
    probs = target.dtype.kind == "f"
    xl = x[None, :] if x.ndim == 1 else np.moveaxis(x, 1, -1)  # class axis last
    C = xl.shape[-1]
    row_shape = () if x.ndim == 1 else xl.shape[:-1]
    tl = (target[None] if x.ndim == 1 else np.moveaxis(target, 1, -1)) if probs else target.reshape(-1)
    loss, grad, den = class_rows(
        xl.reshape(-1, C), tl.reshape(-1, C) if probs else tl, weight, ignore_index, label_smoothing, log_probs
    )
    value, grad = _reduce_rows(loss, grad, den, reduction, grad_output, row_shape)
    grad = grad.reshape(xl.shape)
    return value, (grad[0] if x.ndim == 1 else np.moveaxis(grad, -1, 1))


def nll_loss(x: Any, target: Any, weight: Optional[Any] = None, ignore_index: int = -100,
             reduction: str = "mean", grad_output: Any = 1.0) -> Tuple[Any, np.ndarray]:
    """torch.nn.functional.nll_loss on log-probabilities: (loss, grad w.r.t. x)."""
    return cross_entropy(x, target, weight, ignore_index, 0.0, reduction, grad_output, log_probs=True)


def mask_lengths(targets: Any, lengths: Optional[Any], ignore_index: int = -100) -> np.ndarray:
    """(B, T) targets with every step t >= lengths[b] set to ignore_index."""
    t = np.array(targets, dtype=np.int64)
    if lengths is not None:
        t[np.arange(t.shape[1])[None, :] >= np.asarray(lengths, dtype=np.int64)[:, None]] = ignore_index
    return t


def sequence_cross_entropy(
    x: Any,
    targets: Any,
    weight: Optional[Any] = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    lengths: Optional[Any] = None,
    grad_output: Any = 1.0,
) -> Tuple[Any, np.ndarray]:
    """Cross-entropy at every step of (B, T, V) logits, (B, T) targets, masked by ``lengths``.

    "mean" = cross_entropy on the flattened (B T, V) batch; "batchmean" = sum / B; "sum";
    "none" (B, T); "sequence" (B,) per-sequence sums.
    """
    x = _f64(x)
    B, T, V = x.shape
    t = mask_lengths(targets, lengths, ignore_index).reshape(-1)
    loss, grad, den = class_rows(x.reshape(-1, V), t, weight, ignore_index, label_smoothing)
    value, grad = _reduce_rows(loss, grad, den, reduction, grad_output, (B, T), batch=B)
    return value, grad.reshape(x.shape)


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
