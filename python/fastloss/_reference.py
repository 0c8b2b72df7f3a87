"""The losses of fastloss written in plain NumPy: value and gradient, for any float dtype.

One set of formulas, three users: in float64 they are the independent reference of the
test-suite (``tests/reference.py`` wraps them) and of the tour's gradient check
(``python -m fastloss``); in float32 they are the NumPy peer that the tour and
``bench/run.py`` time. Nothing here calls fastloss's kernels, so the reference stays
independent of the C++ code it checks.

Each ``*_elementwise`` function takes arrays broadcastable to ``input``'s shape and returns
``(loss, grad)``: the per-element losses and the derivative of each with respect to its own
input element. ``reduce`` turns that pair into what a fastloss call returns for a
``reduction`` and ``grad_output``; ``mse_loss`` ... ``binary_cross_entropy_with_logits`` do
both, with fastloss's names. The class losses (``cross_entropy``, ``nll_loss``,
``sequence_cross_entropy``) work on rows of class scores and reduce themselves.

Results have the dtype of the inputs (float32 stays float32: Python scalars are weak, NEP 50);
anything that is not a float array is taken as float64.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]
Pair = Tuple[Array, Array]

#: torch clamps every log in binary_cross_entropy at this value.
BCE_LOG_CLAMP = -100.0
#: torch's lower bound of x * (1 - x) in the binary_cross_entropy gradient.
BCE_GRAD_EPS = 1e-12


def _float(a: Any) -> Array:
    """`a` as an array of its own float dtype, float64 when it is not a float array."""
    arr: Array = np.asarray(a)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _shaped(a: Any, shape: Tuple[int, ...]) -> Array:
    """`a` broadcast to `shape` as an array of its own (no copy when it already has that shape)."""
    a = np.asarray(a)
    return a if a.shape == shape else np.broadcast_to(a, shape).copy()


# ------------------------------------------------------------------ elementwise losses
def mse_elementwise(x: Any, y: Any) -> Pair:
    d = _float(x) - _float(y)
    return d * d, 2.0 * d


def l1_elementwise(x: Any, y: Any) -> Pair:
    d = _float(x) - _float(y)
    return np.abs(d), np.sign(d)  # np.sign(0) == 0: zero gradient at a tie


def sigmoid_focal_elementwise(x: Any, y: Any, alpha: float = 0.25, gamma: float = 2.0) -> Pair:
    """torchvision's sigmoid_focal_loss, alpha_t BCE (1 - p_t)**gamma, with 1 - p_t from sigmoid(-x)
    and sigmoid(x) (accurate for any logit), and its derivative in x."""
    x, t = _float(x), _float(y)
    p, q = sigmoid(x), sigmoid(-x)
    ce = np.logaddexp(0.0, -x) + (1.0 - t) * x
    m = t * q + (1.0 - t) * p
    a = alpha * t + (1.0 - alpha) * (1.0 - t) if alpha >= 0 else np.ones_like(x)
    mg = m**gamma
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(m > 0, p * q / np.where(m > 0, m, 1.0), 0.0)
    second = 0.0 if gamma == 0 else gamma * mg * ratio * (1.0 - 2.0 * t) * ce
    return a * ce * mg, a * ((p - t) * mg + second)


def poisson_nll_elementwise(x: Any, y: Any, log_input: bool = True, full: bool = False, eps: float = 1e-8) -> Pair:
    """torch's poisson_nll_loss per element and its derivative in x."""
    x, t = _float(x), _float(y)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if log_input:
            loss, grad = np.exp(x) - t * x, np.exp(x) - t
        else:
            loss, grad = x - t * np.log(x + eps), 1.0 - t / (x + eps)
        if full:
            stirling = t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t)
            loss = loss + np.where(t > 1, stirling, 0.0)
    return loss, grad


def kl_div_elementwise(x: Any, y: Any, log_target: bool = False) -> Pair:
    """torch's kl_div pointwise: xlogy(t, t) - t x (or exp(t) (t - x)) and its derivative in x."""
    x, t = _float(x), _float(y)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if log_target:
            loss, grad = np.exp(t) * (t - x), -np.exp(t) * np.ones_like(x)
        else:
            xlogy = np.where(t == 0, 0.0, t * np.log(np.where(t == 0, 1.0, t)))
            loss, grad = xlogy - t * x, -t * np.ones_like(x)
    return loss, np.where(np.isnan(x), x, grad)  # a NaN input keeps a NaN gradient (torch: -t)


def huber_elementwise(x: Any, y: Any, delta: float = 1.0, weight: Optional[Any] = None) -> Pair:
    """torch's huber_loss: 0.5 d**2 where |d| < delta, delta (|d| - 0.5 delta) beyond; times weight."""
    x = _float(x)
    d = x - _float(y)
    z = np.abs(d)
    quad = z < delta
    loss = np.where(quad, 0.5 * d * d, delta * (z - 0.5 * delta))
    grad = np.where(d < -delta, -delta, np.where(d > delta, delta, d))
    if weight is not None:
        w = _float(weight)
        loss, grad = w * loss, w * grad
    return _shaped(loss, x.shape), _shaped(grad, x.shape)


def smooth_l1_elementwise(x: Any, y: Any, beta: float = 1.0) -> Pair:
    """torch's smooth_l1_loss: 0.5 d**2 / beta where |d| < beta, |d| - 0.5 beta beyond (beta = 0: L1)."""
    d = _float(x) - _float(y)
    z = np.abs(d)
    if beta == 0:
        return z, np.sign(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = np.where(z < beta, 0.5 * d * d / beta, z - 0.5 * beta)
        grad = np.where(d < -beta, -1.0, np.where(d > beta, 1.0, d / beta))
    return loss, grad


def soft_margin_elementwise(x: Any, y: Any) -> Pair:
    """log(1 + exp(-y x)) as softplus(-y x) (finite for any score), gradient -y sigmoid(-y x)."""
    z = -_float(y) * _float(x)
    loss = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    return loss, -_float(y) * sigmoid(z)


def hinge_embedding_elementwise(x: Any, y: Any, margin: float = 1.0) -> Pair:
    """torch's hinge_embedding_loss term by term: x where y != -1, plus max(0, margin - x) where
    y != 1; the clamp's gradient passes where margin - x >= 0. A NaN input keeps a NaN gradient."""
    x, y = _float(x), _float(y)
    gap = margin - x
    with np.errstate(invalid="ignore"):
        clamped = np.where(gap < 0, 0.0, gap)
        self_term, margin_term = y != -1, y != 1
        loss = np.where(margin_term, clamped, 0.0) + np.where(self_term, x, 0.0)
        grad = self_term.astype(np.float64) - (margin_term & (gap >= 0)).astype(np.float64)
    return loss, np.where(np.isnan(x), x, grad)


def bce_elementwise(x: Any, y: Any, weight: Optional[Any] = None) -> Pair:
    """torch.nn.functional.binary_cross_entropy, per element."""
    x, y = _float(x), _float(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_x = np.maximum(np.log(x), BCE_LOG_CLAMP)
        # log(1 - x) without cancellation near x = 0, as torch computes it (NumPy's float32 log1p
        # is not vectorised: it is most of the time of the benchmark's NumPy bce peer)
        log_1mx = np.maximum(np.log1p(-x), BCE_LOG_CLAMP)
        loss = -(y * log_x + (1.0 - y) * log_1mx)
        diff = x - y
        if weight is not None:  # skipped rather than multiplied by ones: the same numbers, faster
            w = _float(weight)
            loss, diff = w * loss, w * diff
        grad = diff / np.maximum(x * (1.0 - x), BCE_GRAD_EPS)
    return _shaped(loss, x.shape), _shaped(grad, x.shape)


def sigmoid(x: Any) -> Array:
    v = _float(x)
    return _sigmoid(v, np.exp(-np.abs(v)))


def _sigmoid(x: Array, e: Array) -> Array:
    """sigmoid(x) from e = exp(-|x|), which is in (0, 1]: never overflows."""
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


def bce_with_logits_elementwise(x: Any, y: Any, weight: Optional[Any] = None, pos_weight: Optional[Any] = None) -> Pair:
    """torch.nn.functional.binary_cross_entropy_with_logits, per element."""
    x, y = _float(x), _float(y)
    e = np.exp(-np.abs(x))
    softplus_neg = np.log1p(e) + np.maximum(-x, 0.0)  # log(1 + exp(-x)), evaluated stably
    if pos_weight is None:
        loss = (1.0 - y) * x + softplus_neg
        grad = _sigmoid(x, e) - y
    else:
        pw = _float(pos_weight)
        loss = (1.0 - y) * x + (1.0 + (pw - 1.0) * y) * softplus_neg
        grad = (1.0 - y + pw * y) * _sigmoid(x, e) - pw * y
    if weight is not None:
        w = _float(weight)
        loss, grad = w * loss, w * grad
    return _shaped(loss, x.shape), _shaped(grad, x.shape)


def reduce(loss: Any, grad: Any, reduction: str, grad_output: Any = 1.0) -> Tuple[Any, Array]:
    """(reduced loss, grad_output * d(reduced loss)/d input), in the dtype of `loss` and `grad`."""
    loss, grad = _float(loss), _float(grad)
    go = np.asarray(grad_output, dtype=grad.dtype)
    n = loss.size
    if reduction == "mean":
        value = loss.dtype.type(np.nan) if n == 0 else loss.dtype.type(loss.sum() / n)
        return value, grad * (go / max(n, 1))
    if reduction == "sum":
        return loss.dtype.type(loss.sum()), grad * go
    if reduction == "batchmean":  # sum / batch size (torch's kl_div; a 0-d input: the sum)
        batch = loss.shape[0] if loss.ndim else 1
        with np.errstate(invalid="ignore", divide="ignore"):
            return loss.dtype.type(loss.sum() / batch), grad * (go / batch) if batch else grad * np.inf
    if reduction == "none":
        return loss, grad * go
    raise ValueError(f"reference: unknown reduction {reduction!r}")


def mse_loss(x: Any, y: Any, reduction: str = "mean", grad_output: Any = 1.0) -> Tuple[Any, Array]:
    return reduce(*mse_elementwise(x, y), reduction, grad_output)


def l1_loss(x: Any, y: Any, reduction: str = "mean", grad_output: Any = 1.0) -> Tuple[Any, Array]:
    return reduce(*l1_elementwise(x, y), reduction, grad_output)


def sigmoid_focal_loss(
    x: Any, y: Any, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "none", grad_output: Any = 1.0
) -> Tuple[Any, Array]:
    return reduce(*sigmoid_focal_elementwise(x, y, alpha, gamma), reduction, grad_output)


def kl_div(
    x: Any, y: Any, reduction: str = "mean", log_target: bool = False, grad_output: Any = 1.0
) -> Tuple[Any, Array]:
    return reduce(*kl_div_elementwise(x, y, log_target), reduction, grad_output)


def poisson_nll_loss(
    x: Any,
    y: Any,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
    grad_output: Any = 1.0,
) -> Tuple[Any, Array]:
    return reduce(*poisson_nll_elementwise(x, y, log_input, full, eps), reduction, grad_output)


def huber_loss(
    x: Any, y: Any, reduction: str = "mean", delta: float = 1.0, weight: Optional[Any] = None, grad_output: Any = 1.0
) -> Tuple[Any, Array]:
    return reduce(*huber_elementwise(x, y, delta, weight), reduction, grad_output)


def smooth_l1_loss(
    x: Any, y: Any, reduction: str = "mean", beta: float = 1.0, grad_output: Any = 1.0
) -> Tuple[Any, Array]:
    return reduce(*smooth_l1_elementwise(x, y, beta), reduction, grad_output)


def soft_margin_loss(x: Any, y: Any, reduction: str = "mean", grad_output: Any = 1.0) -> Tuple[Any, Array]:
    return reduce(*soft_margin_elementwise(x, y), reduction, grad_output)


def hinge_embedding_loss(
    x: Any, y: Any, margin: float = 1.0, reduction: str = "mean", grad_output: Any = 1.0
) -> Tuple[Any, Array]:
    return reduce(*hinge_embedding_elementwise(x, y, margin), reduction, grad_output)


def _var_shape(shape: Tuple[int, ...], var_shape: Tuple[int, ...]) -> Tuple[int, ...]:
    """The shape var broadcasts from, as torch's gaussian_nll_loss reads var: ``shape``, ``shape``
    with one axis of size 1, ``shape`` less its last axis (unsqueezed), or () (fastloss: a scalar)."""
    if var_shape in (shape, ()):
        return var_shape
    if shape and var_shape == shape[:-1]:
        return var_shape + (1,)
    differ = [i for i, (a, b) in enumerate(zip(shape, var_shape)) if a != b]
    if len(var_shape) == len(shape) and len(differ) == 1 and var_shape[differ[0]] == 1:
        return var_shape
    raise ValueError(f"var shape {var_shape} does not fit input shape {shape}")


def gaussian_nll_loss(
    x: Any,
    t: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
    grad_output: Any = 1.0,
) -> Tuple[Any, Tuple[Array, Array]]:
    """torch's gaussian_nll_loss: (loss, (d/d input, d/d var)), d/d var of var's shape (summed over
    the axis var is broadcast along). The clamp at eps is outside the gradient, as torch's."""
    x, t, var = _float(x), _float(t), _float(var)
    v = np.maximum(var.reshape(_var_shape(x.shape, var.shape)), eps)  # NaN stays NaN
    d = x - t
    loss = 0.5 * (np.log(v) + d * d / v) + (0.5 * np.log(2 * np.pi) if full else 0.0)
    dx, dv = d / v, 0.5 * (1 / v - d * d / (v * v))
    loss, dx, dv, _ = np.broadcast_arrays(loss, dx, dv, x)
    value, (gx, gv) = _reduce_grads(loss, dx, dv, reduction, grad_output)
    broadcast = tuple(i for i in range(x.ndim) if v.ndim == 0 or v.shape[i] != x.shape[i])
    return value, (gx, gv.sum(axis=broadcast).reshape(var.shape))


def margin_ranking_loss(
    x1: Any, x2: Any, y: Any, margin: float = 0.0, reduction: str = "mean", grad_output: Any = 1.0
) -> Tuple[Any, Tuple[Array, Array]]:
    """torch's margin_ranking_loss: max(0, margin - y (x1 - x2)); the gradients pass where the
    clamp's argument is >= 0 (torch's clamp_min), and are NaN where it is NaN (fastloss's rule)."""
    x1, x2, y = _float(x1), _float(x2), _float(y)
    z = margin - y * (x1 - x2)
    loss = np.where(z < 0, 0.0, z)
    active = np.where(z < 0, 0.0, 1.0)
    nan = np.where(np.isnan(z), np.nan, 0.0)
    return _reduce_grads(loss, active * -y + nan, active * y + nan, reduction, grad_output)


def _reduce_grads(
    loss: Array, g1: Array, g2: Array, reduction: str, grad_output: Any
) -> Tuple[Any, Tuple[Array, Array]]:
    """`reduce` for a loss with two gradients of the loss's shape."""
    value, g1 = reduce(loss, g1, reduction, grad_output)
    return value, (g1, reduce(loss, g2, reduction, grad_output)[1])


def cosine_embedding_loss(
    x1: Any, x2: Any, y: Any, margin: float = 0.0, reduction: str = "mean", grad_output: Any = 1.0
) -> Tuple[Any, Tuple[Array, Array]]:
    """torch's cosine_embedding_loss: per row 1 - cos (y == 1), max(0, cos - margin) (y == -1), else
    0, cos with torch's 1e-12 added to each squared norm; the clamp passes the gradient at 0."""
    x1, x2 = _float(x1), _float(x2)
    a, b = _rows(x1), _rows(x2)
    yr = _float(y).reshape(-1)
    m1, m2 = (a * a).sum(axis=1) + 1e-12, (b * b).sum(axis=1) + 1e-12
    denom = np.sqrt(m1 * m2)
    cos = (a * b).sum(axis=1) / denom
    z = cos - margin
    nan = np.where(np.isnan(cos) | np.isnan(yr), np.nan, 0.0)  # fastloss: a NaN row or label is NaN
    loss = np.where(yr == 1, 1 - cos, np.where(yr == -1, np.where(z < 0, 0.0, z), 0.0)) + nan
    d_cos = (np.where(yr == 1, -1.0, np.where((yr == -1) & (z >= 0), 1.0, 0.0)) + nan)[:, None]
    ga = d_cos * (b / denom[:, None] - cos[:, None] * a / m1[:, None])
    gb = d_cos * (a / denom[:, None] - cos[:, None] * b / m2[:, None])
    value, g1 = _reduce_rows_loss(loss, ga, x1.shape, reduction, grad_output)
    return value, (g1, _reduce_rows_loss(loss, gb, x1.shape, reduction, grad_output)[1])


def _distance(x: Array, y: Array, p: float, eps: float) -> Tuple[Array, Array]:
    """torch's pairwise_distance per row, ||x - y + eps||_p, and its gradient w.r.t. x."""
    v = x - y + eps
    n = (np.abs(v) ** p).sum(axis=1) ** (1 / p)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n == 0, 0.0, 1 / n ** (p - 1))
        grad = np.sign(v) * np.where(v == 0, 0.0, np.abs(v) ** (p - 1)) * scale[:, None]
    return n, grad


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
    grad_output: Any = 1.0,
) -> Tuple[Any, Tuple[Array, Array, Array]]:
    """torch's triplet_margin_loss: per row max(0, margin + d(a, p) - d(a, n)); with swap the negative
    distance is min(d(a, n), d(p, n)), a tie splitting the gradient in halves."""
    shape = _float(anchor).shape
    a, pos, neg = (_rows(_float(v)) for v in (anchor, positive, negative))
    dp, gp = _distance(a, pos, p, eps)
    dn, gn = _distance(a, neg, p, eps)
    ds, gs = _distance(pos, neg, p, eps) if swap else (dn, np.zeros_like(gn))
    w_n = np.where(dn < ds, 1.0, np.where(dn == ds, 0.5, 0.0)) if swap else np.ones_like(dn)
    w_s = 1 - w_n if swap else np.zeros_like(dn)
    z = margin + dp - np.minimum(dn, ds)
    on = np.where(np.isnan(z), np.nan, np.where(z >= 0, 1.0, 0.0))[:, None]
    loss = np.where(z < 0, 0.0, z)
    ga = on * (gp - w_n[:, None] * gn)
    gpos = on * (-gp - w_s[:, None] * gs)
    gneg = on * (w_n[:, None] * gn + w_s[:, None] * gs)
    value, ga = _reduce_rows_loss(loss, ga, shape, reduction, grad_output)
    gpos = _reduce_rows_loss(loss, gpos, shape, reduction, grad_output)[1]
    return value, (ga, gpos, _reduce_rows_loss(loss, gneg, shape, reduction, grad_output)[1])


def _rows(x: Array) -> Array:
    return x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)


def _reduce_rows_loss(
    loss: Array, grad: Array, shape: Tuple[int, ...], reduction: str, grad_output: Any
) -> Tuple[Any, Array]:
    """(per-row loss (R,), its gradient rows (R, C)) -> what a row loss returns: the loss reduced
    over the rows (or of ``shape[:-1]``), the gradient of ``shape`` times grad_output."""
    rows = loss.shape[0]
    go = np.asarray(grad_output, dtype=np.float64)
    if reduction == "none":
        return loss.reshape(shape[:-1]), (grad * go.reshape(-1, 1) if go.ndim else grad * go).reshape(shape)
    value = loss.sum()
    if reduction == "mean":
        value = value / rows if rows else np.float64(np.nan)
        go = go / max(rows, 1)
    return np.float64(value), (grad * go).reshape(shape)


def multilabel_soft_margin_loss(
    x: Any, y: Any, weight: Optional[Any] = None, reduction: str = "mean", grad_output: Any = 1.0
) -> Tuple[Any, Array]:
    """torch's multilabel_soft_margin_loss: -mean over the last axis of w (y log sigmoid(x) + (1 - y)
    log sigmoid(-x)); gradient w (sigmoid(x) - y) / C."""
    x, y = _float(x), _float(y)
    w = np.ones(x.shape[-1]) if weight is None else _float(weight)
    xr, yr = _rows(x), _rows(y)
    c = xr.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        log_sig = -np.logaddexp(0.0, -xr)  # log sigmoid(x)
        log_sig_neg = -np.logaddexp(0.0, xr)  # log sigmoid(-x)
        loss = -(w * (yr * log_sig + (1 - yr) * log_sig_neg)).sum(axis=1) / c
        grad = w * (np.exp(log_sig) - yr) / c
    return _reduce_rows_loss(loss, grad, x.shape, reduction, grad_output)


def multi_margin_loss(
    x: Any,
    y: Any,
    p: float = 1,
    margin: float = 1.0,
    weight: Optional[Any] = None,
    reduction: str = "mean",
    grad_output: Any = 1.0,
) -> Tuple[Any, Array]:
    """torch's multi_margin_loss: per row, sum over c != y of w_y max(0, margin - x_y + x_c)^p / C;
    the gradient passes where margin - x_y + x_c > 0."""
    x = _float(x)
    xr = _rows(x)
    rows, c = xr.shape
    cls = np.asarray(y, dtype=np.int64).reshape(rows)
    w = np.ones(c) if weight is None else _float(weight)
    wy = w[cls][:, None]
    z = margin - xr[np.arange(rows), cls][:, None] + xr
    other = np.arange(c)[None, :] != cls[:, None]
    on, nan = (z > 0) & other, np.isnan(z) & other  # a NaN term: NaN loss and gradient (fastloss)
    with np.errstate(invalid="ignore"):
        loss = np.where(on, wy * z**p, np.where(nan, np.nan, 0.0)).sum(axis=1) / c
        grad = np.where(on, wy * p * z ** (p - 1), np.where(nan, np.nan, 0.0)) / c
    grad[np.arange(rows), cls] = -grad.sum(axis=1)
    return _reduce_rows_loss(loss, grad, x.shape, reduction, grad_output)


def multilabel_margin_loss(x: Any, y: Any, reduction: str = "mean", grad_output: Any = 1.0) -> Tuple[Any, Array]:
    """torch's multilabel_margin_loss: a row's targets are its leading indices up to the first -1;
    sum over each target j and non-target c of max(0, 1 - x_j + x_c), over C."""
    x = _float(x)
    xr = _rows(x)
    rows, c = xr.shape
    targets = np.asarray(y, dtype=np.int64).reshape(rows, c)
    loss, grad = np.zeros(rows), np.zeros((rows, c))
    for r in range(rows):
        listed = []
        for j in targets[r]:
            if j < 0:
                break
            listed.append(j)
        other = np.ones(c, dtype=bool)
        other[listed] = False
        for j in listed:
            z = 1 - xr[r, j] + xr[r]
            on, nan = other & (z > 0), other & np.isnan(z)  # a NaN term: NaN loss and gradient (fastloss)
            loss[r] += np.where(on | nan, z, 0.0).sum()
            step = np.where(nan, np.nan, on.astype(np.float64))
            grad[r] += step
            grad[r, j] -= step.sum()
    with np.errstate(invalid="ignore"):
        return _reduce_rows_loss(loss / c, grad / c, x.shape, reduction, grad_output)


def binary_cross_entropy(
    x: Any, y: Any, weight: Optional[Any] = None, reduction: str = "mean", grad_output: Any = 1.0
) -> Tuple[Any, Array]:
    return reduce(*bce_elementwise(x, y, weight), reduction, grad_output)


def binary_cross_entropy_with_logits(
    x: Any,
    y: Any,
    weight: Optional[Any] = None,
    reduction: str = "mean",
    pos_weight: Optional[Any] = None,
    grad_output: Any = 1.0,
) -> Tuple[Any, Array]:
    return reduce(*bce_with_logits_elementwise(x, y, weight, pos_weight), reduction, grad_output)


# ------------------------------------------------------------------ class losses
# The cross-entropy family works on rows: one row of C class scores per sample (and per
# position d1, ... of a K-dim input, or per time step of a sequence). The functions below move
# the class axis last, flatten the rest to R rows, compute per-row (loss, d loss / d row) and
# reduce with the row denominators (weight[target] for class indices, 1 for probability
# targets), exactly as torch.nn.functional.cross_entropy defines them.


def log_softmax(x: Any, axis: int = -1) -> Array:
    """log-softmax along `axis`; a NaN anywhere in a row makes the whole row NaN."""
    z, e, s = _shifted_exp(_float(x), axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        logp: Array = z - np.log(s)
    return logp


def _shifted_exp(x: Array, axis: int) -> Tuple[Array, Array, Array]:
    """(z, exp(z), sum of exp(z) along `axis`) with z = x - its max along `axis` (0 where that
    max is not finite): log_softmax = z - log(sum), softmax = exp(z) / sum."""
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        z = x - np.where(np.isfinite(m), m, 0.0)
        e = np.exp(z)
    return z, e, np.sum(e, axis=axis, keepdims=True)


def class_rows(
    x2: Any,
    target: Any,
    weight: Optional[Any] = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    log_probs: bool = False,
    lse_square_scale: float = 0.0,
) -> Tuple[Array, Array, Array]:
    """Per-row (loss, grad, denominator) of rows ``x2`` (R, C), the z-loss included.

    ``target`` is (R,) class indices or (R, C) probabilities. With w the class weights and q the
    effective target distribution ((1 - eps) one-hot / probabilities + eps / C), every member of
    the family is ``loss = -sum_c w_c q_c log p_c``; its gradient w.r.t. the logits is
    ``(sum_c w_c q_c) p_j - w_j q_j`` (``-w_j q_j`` w.r.t. log-probabilities). Ignored rows count
    0, with a zero gradient, whatever their logits (NaN included); their denominator is 0.
    """
    loss, grad, den = _class_rows(x2, target, weight, ignore_index, label_smoothing, log_probs)
    if lse_square_scale:
        z, dz = z_loss_rows(x2, den, lse_square_scale)
        loss, grad = loss + z, grad + dz
    return loss, grad, den


def z_loss_rows(x2: Any, den: Array, lse_square_scale: float) -> Pair:
    """The z-loss of rows ``x2`` (R, C) and its gradient: ``s w lse**2`` per row, ``w`` the row's
    share of the "mean" denominator (its target's weight, 1 for probabilities, 0 if not counted),
    and ``2 s w lse softmax``."""
    x2 = _float(x2)
    z, e, sums = _shifted_exp(x2, 1)
    lse = (np.max(x2, axis=1, keepdims=True) + np.log(sums))[:, 0] if x2.shape[1] else np.full(len(x2), -np.inf)
    sw = float(lse_square_scale) * den
    with np.errstate(invalid="ignore"):
        value = np.where(den != 0, sw * lse**2, 0.0)
        grad = np.where(den[:, None] != 0, (2.0 * sw * lse)[:, None] * (e / sums), 0.0)
    return value, grad


def _class_rows(
    x2: Any,
    target: Any,
    weight: Optional[Any],
    ignore_index: int,
    label_smoothing: float,
    log_probs: bool,
) -> Tuple[Array, Array, Array]:
    x2 = _float(x2)
    R, C = x2.shape
    w = np.ones(C, x2.dtype) if weight is None else _float(weight)
    eps = float(label_smoothing)
    target = np.asarray(target)
    if target.dtype.kind == "f":  # probabilities: every row counts, denominator 1 per row
        counted = np.ones(R, bool)
        q = (1.0 - eps) * _float(target) + eps / C
        den = np.ones(R)
    else:
        t = target.astype(np.int64)
        counted = t != ignore_index
        den = np.where(counted, w[np.where(counted, t, 0)] if C else 0.0, 0.0)
        if eps == 0:  # q is one-hot: only the target's column enters
            loss, grad = _one_hot_rows(x2, t, counted, None if weight is None else w, log_probs)
            return loss, grad, den
        q = np.zeros((R, C), x2.dtype)
        q[np.arange(R)[counted], t[counted]] = 1.0 - eps
        q += eps / C
    logp = x2 if log_probs else log_softmax(x2, axis=1)
    wq = w[None, :] * q
    with np.errstate(invalid="ignore", over="ignore"):
        # a class of zero target weight contributes 0 even where log p = -inf (a masked logit)
        loss = np.where(counted, -np.sum(np.where(wq == 0, 0.0, wq * logp), axis=1), 0.0)
        grad = -wq if log_probs else np.sum(wq, axis=1, keepdims=True) * np.exp(logp) - wq
    grad = np.where(counted[:, None], grad, 0.0)
    return loss, grad, den


def _one_hot_rows(x2: Array, t: Array, counted: Array, w: Optional[Array], log_probs: bool) -> Pair:
    """class_rows' (loss, grad) for class indices without label smoothing (w None: no weights):
    its dense formula with q one-hot (sum_c w_c q_c = w_t), without building the (R, C) one-hot
    matrix, and with one exp per logit (the softmax is exp(z) / sum, not exp(log_softmax))."""
    R, C = x2.shape
    rows, cols = np.arange(R)[counted], t[counted]
    w_t = np.zeros(R, x2.dtype)  # the target's weight per row, 0 on ignored rows
    w_t[counted] = 1.0 if w is None else w[cols]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if log_probs:  # x2 holds log-probabilities: d loss / d x2 is -w_t at the target
            logp_t, grad = x2[rows, cols], np.zeros_like(x2)
        else:
            z, grad, s = _shifted_exp(x2, 1)
            logp_t = z[rows, cols] - np.log(s[rows, 0])
            grad /= s  # the softmax, times w_t below
            if w is not None:
                grad *= w_t[:, None]
            grad[~counted] = 0.0  # an ignored row's gradient is 0 whatever its logits (NaN included)
        loss = np.zeros(R, x2.dtype)
        # a target of zero weight contributes 0 even where log p = -inf (a masked logit)
        loss[counted] = np.where(w_t[counted] == 0, 0.0, -(w_t[counted] * logp_t))
    grad[rows, cols] -= w_t[counted]
    return loss, grad


def _reduce_rows(
    loss: Array,
    grad: Array,
    den: Array,
    reduction: str,
    grad_output: Any,
    row_shape: Tuple[int, ...],
    batch: int = 1,
) -> Tuple[Any, Array]:
    """(reduced loss, grad_output * d(reduced loss) / d rows) of per-row results; scales `grad` in place."""
    go = np.asarray(grad_output, dtype=grad.dtype)
    if reduction in ("mean", "sum", "batchmean"):
        divisor = {"mean": float(np.sum(den)), "sum": 1.0, "batchmean": float(batch)}[reduction]
        with np.errstate(invalid="ignore", divide="ignore"):
            value = loss.dtype.type(np.sum(loss) / divisor)
        grad *= go / divisor if divisor != 0 else 0.0 * go  # nothing counted: every row grad is 0
        return value, grad
    if reduction == "none":
        grad *= np.broadcast_to(go, row_shape).reshape(-1, 1)
        return loss.reshape(row_shape), grad
    if reduction == "sequence":  # rows are (B, T) time steps: per-sequence sums
        steps = loss.size // batch if batch else 0
        grad *= np.repeat(np.broadcast_to(go, (batch,)), steps).reshape(-1, 1)
        return loss.reshape(batch, steps).sum(axis=1), grad
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
    lse_square_scale: float = 0.0,
) -> Tuple[Any, Array]:
    """torch.nn.functional.cross_entropy (``log_probs=True``: nll_loss): (loss, grad w.r.t. x),
    plus the z-loss ``lse_square_scale * w_t * logsumexp(row)**2`` per counted row.

    ``x`` is (C,), (N, C) or (N, C, d1, ...); ``target`` class indices of shape (), (N,) or
    (N, d1, ...), or probabilities of x's shape (float dtype).
    """
    x = _float(x)
    target = np.asarray(target)
    probs = target.dtype.kind == "f"
    xl = x[None, :] if x.ndim == 1 else np.moveaxis(x, 1, -1)  # class axis last
    C = xl.shape[-1]
    row_shape = () if x.ndim == 1 else xl.shape[:-1]
    tl = (target[None] if x.ndim == 1 else np.moveaxis(target, 1, -1)) if probs else target.reshape(-1)
    loss, grad, den = class_rows(
        xl.reshape(-1, C),
        tl.reshape(-1, C) if probs else tl,
        weight,
        ignore_index,
        label_smoothing,
        log_probs,
        lse_square_scale,
    )
    value, grad = _reduce_rows(loss, grad, den, reduction, grad_output, row_shape)
    grad = grad.reshape(xl.shape)
    return value, (grad[0] if x.ndim == 1 else np.moveaxis(grad, -1, 1))


def nll_loss(
    x: Any,
    target: Any,
    weight: Optional[Any] = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    grad_output: Any = 1.0,
) -> Tuple[Any, Array]:
    """torch.nn.functional.nll_loss on log-probabilities: (loss, grad w.r.t. x)."""
    return cross_entropy(x, target, weight, ignore_index, 0.0, reduction, grad_output, log_probs=True)


def mask_lengths(targets: Any, lengths: Optional[Any], ignore_index: int = -100) -> Array:
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
    lse_square_scale: float = 0.0,
) -> Tuple[Any, Array]:
    """Cross-entropy at every step of (B, T, V) logits, (B, T) targets, masked by ``lengths``.

    "mean" = cross_entropy on the flattened (B T, V) batch; "batchmean" = sum / B; "sum";
    "none" (B, T); "sequence" (B,) per-sequence sums.
    """
    x = _float(x)
    B, T, V = x.shape
    t = mask_lengths(targets, lengths, ignore_index).reshape(-1)
    loss, grad, den = class_rows(x.reshape(-1, V), t, weight, ignore_index, label_smoothing, False, lse_square_scale)
    value, grad = _reduce_rows(loss, grad, den, reduction, grad_output, (B, T), batch=B)
    return value, grad.reshape(x.shape)


# ------------------------------------------------------------------------------ ctc_loss
def _ctc_sequence(lp: Array, labels: Array, blank: int) -> Tuple[float, Array]:
    """One sequence, lp (T, C) its first input_length steps: (-log p(labels | lp), occupancy
    (T, C)): the probability that the alignment emits class c at step t, summed over the
    states of the extended labels (blank, l1, blank, ..., blank). Log-space alpha (with the
    emission of step t) and beta (without it: the steps after t) from np.logaddexp."""
    steps = lp.shape[0]
    ext = np.full(2 * len(labels) + 1, blank, dtype=np.int64)
    ext[1::2] = labels
    n = len(ext)
    skip = np.zeros(n, dtype=bool)  # the s - 2 -> s transition: a label that differs from the one before
    skip[2:] = ext[2:] != ext[:-2]
    occupancy = np.zeros(lp.shape)
    if steps == 0:
        return (0.0 if len(labels) == 0 else np.inf), occupancy
    neg_inf = np.full(n, -np.inf)
    alpha = np.empty((steps, n))
    alpha[0] = neg_inf
    alpha[0, : min(n, 2)] = lp[0, ext[: min(n, 2)]]
    for t in range(1, steps):
        a = alpha[t - 1].copy()
        a[1:] = np.logaddexp(a[1:], alpha[t - 1, :-1])
        a[2:] = np.where(skip[2:], np.logaddexp(a[2:], alpha[t - 1, :-2]), a[2:])
        alpha[t] = a + lp[t, ext]
    log_likelihood = np.logaddexp.reduce(alpha[-1, -2:]) if n > 1 else alpha[-1, 0]
    rest = np.empty((steps, n))  # log-probability of finishing from state s after step t
    rest[-1] = neg_inf
    rest[-1, max(n - 2, 0) :] = 0.0
    for t in range(steps - 2, -1, -1):
        b = rest[t + 1] + lp[t + 1, ext]
        r = b.copy()
        r[:-1] = np.logaddexp(r[:-1], b[1:])
        r[:-2] = np.where(skip[2:], np.logaddexp(r[:-2], b[2:]), r[:-2])
        rest[t] = r
    with np.errstate(invalid="ignore"):
        gamma = np.exp(alpha + rest - log_likelihood)  # (T, n): the state occupancies
    for s in range(n):
        occupancy[:, ext[s]] += gamma[:, s]
    return float(-log_likelihood), occupancy


def ctc_loss(
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
    grad_output: Any = 1.0,
) -> Tuple[Any, Array]:
    """torch's ctc_loss in float64, and its gradient in torch's convention: for t < input_length,
    ``(exp(log_probs) - occupancy) * upstream`` -- the gradient with respect to the logits when
    log_probs = log_softmax(logits) -- NaN where the loss is not finite (0 with zero_infinity) and
    where log_probs is -inf (torch's exp(-inf + inf)), 0 for t >= input_length."""
    x = np.asarray(log_probs, dtype=np.float64)
    batched = x.ndim == 3
    x3 = x if batched else x[:, None, :]
    steps, batch, _ = x3.shape
    il = np.asarray(input_lengths, dtype=np.int64).reshape(batch)
    tl = np.asarray(target_lengths, dtype=np.int64).reshape(batch)
    tg = np.asarray(targets, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(tl)])
    losses = np.empty(batch)
    grad = np.zeros(x3.shape)
    scale = np.broadcast_to(np.asarray(grad_output, dtype=np.float64), losses.shape if batched else ()).reshape(batch)
    if reduction == "mean":
        scale = scale / (np.maximum(tl, 1) * batch)
    for b in range(batch):
        labels = tg[b, : tl[b]] if tg.ndim == 2 else tg[offsets[b] : offsets[b + 1]]
        lp = x3[: il[b], b]
        nll, occupancy = _ctc_sequence(lp, labels, blank)
        if zero_infinity and nll == np.inf:
            losses[b] = 0.0
            continue
        losses[b] = nll
        with np.errstate(invalid="ignore"):
            g = np.exp(lp) - occupancy if np.isfinite(nll) else np.full(lp.shape, np.nan)
        grad[: il[b], b] = np.where(lp == -np.inf, np.nan, g) * scale[b]
    if reduction == "none":
        loss: Any = losses if batched else losses[0]
    elif reduction == "sum":
        loss = losses.sum()
    else:
        loss = (losses / np.maximum(tl, 1)).mean() if batch else np.float64(np.nan)
    return loss, grad if batched else grad[:, 0]
