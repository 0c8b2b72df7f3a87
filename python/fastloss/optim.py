"""L2 regularisation and ``torch.optim.SGD`` over NumPy arrays, updated in place."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from .functional import FloatArray, _thread_count

__all__ = ["SGD", "l2_penalty", "sgd_step"]

Params = Union[FloatArray, Sequence[FloatArray]]


def l2_penalty(params: Params, lam: float, return_grad: bool = False, n_threads: Optional[int] = None) -> Any:
    """``lam * sum_j sum(W_j**2)``: the seed's ``Regularized Loss = loss + lambda sum W^2``.

    ``params`` is one array or a list/tuple of arrays (any strides). Returns a NumPy scalar of
    the params' dtype (float64 if they mix dtypes), accumulated in float64 in a fixed order
    (bitwise the same for any ``n_threads``); with ``return_grad=True`` also the gradients
    ``2 lam W`` (one array for one array, a list for a list), from the same pass.
    ``SGD(weight_decay=wd)`` is the same as adding ``l2_penalty(params, wd / 2)`` to the loss.

    >>> import numpy as np, fastloss as fl
    >>> fl.l2_penalty([np.array([1.0, -2.0]), np.array([3.0])], 0.5)
    np.float64(7.0)
    """
    threads = _thread_count("l2_penalty", n_threads)
    single = isinstance(params, np.ndarray)
    arrays = [np.asarray(params)] if single else [np.asarray(p) for p in params]
    total = 0.0
    grads: List[FloatArray] = []
    for w in arrays:
        if w.dtype not in (np.float32, np.float64):
            raise TypeError(f"l2_penalty: params must be float32 or float64 arrays; got dtype {w.dtype}")
        s, g = _core.sum_squares(w, 2.0 * lam, bool(return_grad), threads)  # copies a non-contiguous w
        total += float(s)
        if g is not None:
            grads.append(g)
    dtype = np.result_type(*arrays) if arrays else np.dtype(np.float64)
    value = dtype.type(lam * total)
    if not return_grad:
        return value
    return value, (grads[0] if single else grads)


def _check_hyperparameters(lr: float, momentum: float, dampening: float, weight_decay: float,
                           nesterov: bool) -> None:
    # torch.optim.SGD's rules, with ValueError like torch.
    if lr < 0.0:
        raise ValueError(f"SGD: lr must be >= 0; got {lr!r}")
    if momentum < 0.0:
        raise ValueError(f"SGD: momentum must be >= 0; got {momentum!r}")
    if weight_decay < 0.0:
        raise ValueError(f"SGD: weight_decay must be >= 0; got {weight_decay!r}")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(f"SGD: nesterov momentum requires momentum > 0 and dampening = 0; got momentum={momentum!r}, "
                         f"dampening={dampening!r}")


def sgd_step(
    params: Sequence[FloatArray],
    grads: Sequence[ArrayLike],
    lr: float,
    momentum_buffers: Optional[List[Optional[FloatArray]]] = None,
    *,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
    n_threads: Optional[int] = None,
) -> List[Optional[FloatArray]]:
    """One ``torch.optim.SGD`` step, updating ``params`` in place (the functional form of :class:`SGD`).

    For each parameter, in torch's order: ``g = -g`` if maximize; ``g += weight_decay * p``;
    with momentum, ``buf = g`` on the first step (its entry in ``momentum_buffers`` is None),
    else ``buf = momentum * buf + (1 - dampening) * g``, then ``g = g + momentum * buf`` if
    nesterov else ``g = buf``; finally ``p -= lr * g``. One fused pass per array.
    ``momentum_buffers`` (a list with one entry per param) is updated in place and returned.

    >>> import numpy as np, fastloss as fl
    >>> p = np.array([1.0, -2.0])
    >>> _ = fl.sgd_step([p], [np.array([0.5, 0.5])], lr=0.1, weight_decay=0.01)
    >>> p
    array([ 0.949, -2.048])
    """
    _check_hyperparameters(lr, momentum, dampening, weight_decay, nesterov)
    threads = _thread_count("sgd_step", n_threads)
    if len(grads) != len(params):
        raise ValueError(f"sgd_step: expected one grad per param ({len(params)}); got {len(grads)}")
    if momentum_buffers is None:
        momentum_buffers = [None] * len(params)
    elif len(momentum_buffers) != len(params):
        raise ValueError(f"sgd_step: expected one momentum buffer per param ({len(params)}); got {len(momentum_buffers)}")
    # Check everything -- every param, grad and momentum buffer, and that no array that is
    # written shares memory with any other -- before updating any param: a bad argument never
    # leaves a step half applied (a retry would step the first params twice).
    grad_arrays = []
    for i, (p, g) in enumerate(zip(params, grads)):
        if not isinstance(p, np.ndarray):
            raise ValueError(f"sgd_step: params[{i}] must be a NumPy array (updated in place); got {type(p).__name__}")
        if p.dtype not in (np.float32, np.float64):
            raise TypeError(f"sgd_step: params[{i}] must be a float32 or float64 array; got dtype {p.dtype}")
        if not (p.flags.c_contiguous and p.flags.aligned and p.flags.writeable):
            problem = ("read-only" if not p.flags.writeable else "non-contiguous" if not p.flags.c_contiguous
                       else "misaligned")
            raise ValueError(f"sgd_step: params are updated in place and must be C-contiguous, aligned, writeable "
                             f"arrays; params[{i}] is a {problem} array of shape {p.shape}")
        g_arr = g if isinstance(g, np.ndarray) else np.asarray(g, dtype=p.dtype)
        if g_arr.dtype != p.dtype:
            raise TypeError(f"sgd_step: grad dtype {g_arr.dtype} (grads[{i}]) does not match its param's dtype "
                            f"{p.dtype}; convert it with grad.astype(param.dtype)")
        if g_arr.shape != p.shape:
            raise ValueError(f"sgd_step: grad shape {g_arr.shape} (grads[{i}]) must equal its param's shape {p.shape}")
        buf = momentum_buffers[i]
        if momentum != 0 and buf is not None and not (
                isinstance(buf, np.ndarray) and buf.dtype == p.dtype and buf.shape == p.shape
                and buf.flags.c_contiguous and buf.flags.aligned and buf.flags.writeable):
            got = (f"{type(buf).__name__}" if not isinstance(buf, np.ndarray) else
                   f"a {'' if buf.flags.writeable else 'read-only '}{buf.dtype} array of shape {buf.shape}"
                   f"{'' if buf.flags.c_contiguous else ', non-contiguous'}{'' if buf.flags.aligned else ', misaligned'}")
            raise ValueError(f"sgd_step: momentum_buffers[{i}] must be None or a C-contiguous, aligned, writeable "
                             f"{p.dtype} array of shape {p.shape}; got {got}")
        grad_arrays.append(g_arr)  # the binding copies a non-contiguous or misaligned grad
    written = [(f"params[{i}]", p, True) for i, p in enumerate(params)]
    read = [(f"grads[{i}]", g, False) for i, g in enumerate(grad_arrays)]
    buffers = [(f"momentum_buffers[{i}]", b, True) for i, b in enumerate(momentum_buffers)
               if momentum != 0 and b is not None]
    _core.check_no_overlap("sgd_step", written + read + buffers)
    for i, (p, g_arr) in enumerate(zip(params, grad_arrays)):
        buf = momentum_buffers[i]
        first = buf is None
        if momentum != 0 and first:
            buf = np.empty_like(p, order="C")
        _core.sgd_update(p, g_arr, buf if momentum != 0 else None, lr, momentum, dampening, weight_decay, nesterov,
                         maximize, first, threads)
        if momentum != 0:
            momentum_buffers[i] = buf  # only once the update has run
    return momentum_buffers


class SGD:
    """``torch.optim.SGD`` over a list of float32 / float64 NumPy arrays, updated in place.

    ``opt.step(grads)`` applies :func:`sgd_step` with this optimizer's hyper-parameters and
    momentum buffers. ``zero_state()`` forgets the buffers; ``state_dict()`` /
    ``load_state_dict()`` save and restore them like torch.

    >>> import numpy as np, fastloss as fl
    >>> w = np.array([1.0, -2.0])
    >>> opt = fl.SGD([w], lr=0.1, weight_decay=0.01, maximize=True)
    >>> opt.step([np.array([0.5, 0.5])])
    >>> w
    array([ 1.049, -1.948])
    """

    def __init__(self, params: Sequence[FloatArray], lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False,
                 n_threads: Optional[int] = None) -> None:
        _check_hyperparameters(lr, momentum, dampening, weight_decay, nesterov)
        self.params: List[FloatArray] = list(params)
        if not self.params:
            raise ValueError("SGD: params is an empty list")
        self.defaults: Dict[str, Any] = dict(lr=lr, momentum=momentum, dampening=dampening,
                                             weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        self.n_threads = n_threads
        self.momentum_buffers: List[Optional[FloatArray]] = [None] * len(self.params)

    def step(self, grads: Sequence[ArrayLike]) -> None:
        """Update every param in place with its gradient (same order as ``params``)."""
        d = self.defaults
        sgd_step(self.params, grads, d["lr"], self.momentum_buffers, momentum=d["momentum"],
                 dampening=d["dampening"], weight_decay=d["weight_decay"], nesterov=d["nesterov"],
                 maximize=d["maximize"], n_threads=self.n_threads)

    def zero_state(self) -> None:
        """Forget the momentum buffers: the next step starts momentum afresh."""
        self.momentum_buffers = [None] * len(self.params)

    def state_dict(self) -> Dict[str, Any]:
        """torch's layout: ``{"state": {i: {"momentum_buffer": buf}}, "param_groups": [...]}``."""
        state = {i: {"momentum_buffer": b.copy()} for i, b in enumerate(self.momentum_buffers) if b is not None}
        group = dict(self.defaults, params=list(range(len(self.params))))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self.params):
            raise ValueError(f"SGD.load_state_dict: expected one param group of {len(self.params)} params")
        hyper = {k: v for k, v in groups[0].items() if k in self.defaults}
        _check_hyperparameters(hyper["lr"], hyper["momentum"], hyper["dampening"], hyper["weight_decay"],
                               hyper["nesterov"])
        buffers: List[Optional[FloatArray]] = [None] * len(self.params)
        for i, s in state_dict["state"].items():
            buf = np.asarray(s["momentum_buffer"])
            p = self.params[int(i)]
            if buf.shape != p.shape or buf.dtype != p.dtype:
                raise ValueError(f"SGD.load_state_dict: momentum buffer {i} has {buf.dtype} {buf.shape}, "
                                 f"param has {p.dtype} {p.shape}")
            buffers[int(i)] = np.array(buf, order="C", copy=True)
        self.defaults.update(hyper)
        self.momentum_buffers = buffers

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"SGD({len(self.params)} params, {opts})"
