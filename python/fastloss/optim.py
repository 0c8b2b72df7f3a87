"""L2 regularisation and ``torch.optim.SGD`` over NumPy arrays, updated in place."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Literal, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from .functional import FloatArray, _thread_count

__all__ = ["SGD", "l2_penalty", "sgd_step"]

#: The param dtypes (by name): float32, float64, and the half types, computed in float32
#: (bfloat16 is ml_dtypes' NumPy dtype).
_FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")
_FLOAT_DTYPES_TEXT = "float32, float64, float16 or bfloat16"

Params = Union[FloatArray, Sequence[FloatArray]]
#: ``SGD``'s params: arrays or param-group dicts (one element type, not a union of two iterables,
#: so that mypy infers a list literal of either kind).
ParamsOrGroups = Iterable[Union[FloatArray, Mapping[str, Any]]]
#: The gradients of one ``SGD.step``: one per param in the order of the groups (None: no gradient,
#: the param is skipped), or a dict {global param index: grad} (absent params are skipped).
Grads = Union[Sequence[Optional[ArrayLike]], Mapping[int, Optional[ArrayLike]]]
#: The kernel's hyper-parameters: (lr, momentum, dampening, weight_decay, nesterov, maximize).
_Hyper = Tuple[float, float, float, float, bool, bool]
#: The hyper-parameters a param group may set, in torch's order (also the keys of ``SGD.defaults``).
_HYPER_KEYS = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")


@overload
def l2_penalty(
    params: Params, lam: float, return_grad: Literal[False] = ..., n_threads: Optional[int] = ...
) -> np.floating[Any]: ...
@overload
def l2_penalty(
    params: FloatArray, lam: float, return_grad: Literal[True], n_threads: Optional[int] = ...
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def l2_penalty(
    params: Sequence[FloatArray], lam: float, return_grad: Literal[True], n_threads: Optional[int] = ...
) -> Tuple[np.floating[Any], List[FloatArray]]: ...
@overload
def l2_penalty(
    params: Params, lam: float, return_grad: bool = ..., n_threads: Optional[int] = ...
) -> Union[np.floating[Any], Tuple[np.floating[Any], Union[FloatArray, List[FloatArray]]]]: ...


def l2_penalty(
    params: Params, lam: float, return_grad: bool = False, n_threads: Optional[int] = None
) -> Union[np.floating[Any], Tuple[np.floating[Any], Union[FloatArray, List[FloatArray]]]]:
    """``lam * sum_j sum(W_j**2)``: the seed's ``Regularized Loss = loss + lambda sum W^2``.

    Accumulated in float64 in a fixed order (bitwise the same for any ``n_threads``).
    ``SGD(weight_decay=wd)`` is the same as adding ``l2_penalty(params, wd / 2)`` to the loss.

    Parameters
    ----------
    params : ndarray or sequence of ndarray
        One float32 / float64 / float16 / bfloat16 array, or a list / tuple of them (any strides; not modified).
    lam : float
        The regularisation strength lambda.
    return_grad : bool, default False
        Also return the gradients ``2 * lam * W`` (computed in the same pass).
    n_threads : int, optional
        Threads for this call; None: the default (``OMP_NUM_THREADS``, threadpoolctl).

    Returns
    -------
    value : numpy.floating
        A NumPy scalar of the params' dtype (float64 if they mix dtypes or there are none).
    grads : ndarray or list of ndarray
        Only with ``return_grad=True``: one array for one array, a list for a list / tuple.

    Raises
    ------
    TypeError
        A param that is not float32, float64, float16 or bfloat16.
    ValueError, TypeError
        A bad ``n_threads``.

    Examples
    --------
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
        if w.dtype.name not in _FLOAT_DTYPES:
            raise TypeError(f"l2_penalty: params must be {_FLOAT_DTYPES_TEXT} arrays; got dtype {w.dtype}")
        s, g = _core.sum_squares(w, 2.0 * lam, bool(return_grad), threads)  # copies a non-contiguous w
        total += float(s)
        if g is not None:
            grads.append(g)
    dtype = np.result_type(*arrays) if len({a.dtype for a in arrays}) == 1 else np.dtype(np.float64)
    value: np.floating[Any] = dtype.type(lam * total)
    if not return_grad:
        return value
    return value, (grads[0] if single else grads)


# Hyper-parameters are type-checked in Python: the kernel's binding would refuse a bad one only
# when it is called, after the params before it were updated.
_PLAIN_REALS = frozenset({float, int})


def _real(fn: str, group: Optional[int], name: str, value: Any) -> float:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        return float(value)
    raise TypeError(f"{_where(fn, group)}: {name} must be a real number; got {type(value).__name__} {value!r}")


def _flag(fn: str, group: Optional[int], name: str, value: Any) -> bool:
    if isinstance(value, (bool, np.bool_, int, np.integer)):  # 0 / 1, as the binding took them
        return bool(value)
    raise TypeError(f"{_where(fn, group)}: {name} must be a bool; got {type(value).__name__} {value!r}")


def _where(fn: str, group: Optional[int]) -> str:
    return fn if group is None else f"{fn}: param group {group}"


def _check_hyperparameters(
    fn: str,
    group: Optional[int],
    lr: Any,
    momentum: Any,
    dampening: Any,
    weight_decay: Any,
    nesterov: Any,
    maximize: Any,
) -> _Hyper:
    """torch.optim.SGD's rules (ValueError like torch), plus types; returns the kernel's tuple.

    Run before every step too: ``param_groups`` may have been edited (an LR schedule), and a
    bad value must be refused before any array is updated.
    """
    if (
        type(lr) in _PLAIN_REALS
        and type(momentum) in _PLAIN_REALS
        and type(dampening) in _PLAIN_REALS
        and type(weight_decay) in _PLAIN_REALS
        and type(nesterov) is bool
        and type(maximize) is bool
    ):
        hyper: _Hyper = (lr, momentum, dampening, weight_decay, nesterov, maximize)  # the common case, fast
    else:
        hyper = (
            _real(fn, group, "lr", lr),
            _real(fn, group, "momentum", momentum),
            _real(fn, group, "dampening", dampening),
            _real(fn, group, "weight_decay", weight_decay),
            _flag(fn, group, "nesterov", nesterov),
            _flag(fn, group, "maximize", maximize),
        )
    lr, momentum, dampening, weight_decay, nesterov = hyper[:5]
    if lr < 0.0:
        raise ValueError(f"{_where(fn, group)}: lr must be >= 0; got {lr!r}")
    if momentum < 0.0:
        raise ValueError(f"{_where(fn, group)}: momentum must be >= 0; got {momentum!r}")
    if weight_decay < 0.0:
        raise ValueError(f"{_where(fn, group)}: weight_decay must be >= 0; got {weight_decay!r}")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError(
            f"{_where(fn, group)}: nesterov momentum requires momentum > 0 and dampening = 0; "
            f"got momentum={momentum!r}, dampening={dampening!r}"
        )
    return hyper


def _check_param(fn: str, i: int, p: Any) -> None:
    if not isinstance(p, np.ndarray):
        raise ValueError(f"{fn}: params[{i}] must be a NumPy array (updated in place); got {type(p).__name__}")
    if p.dtype.name not in _FLOAT_DTYPES:
        raise TypeError(f"{fn}: params[{i}] must be a {_FLOAT_DTYPES_TEXT} array; got dtype {p.dtype}")
    if not (p.flags.c_contiguous and p.flags.aligned and p.flags.writeable):
        problem = (
            "read-only" if not p.flags.writeable else "non-contiguous" if not p.flags.c_contiguous else "misaligned"
        )
        raise ValueError(
            f"{fn}: params are updated in place and must be C-contiguous, aligned, writeable "
            f"arrays; params[{i}] is a {problem} array of shape {p.shape}"
        )


def _apply(
    fn: str,
    segments: Sequence[Tuple[int, Sequence[Any], _Hyper]],
    grads: Sequence[Any],
    buffers: List[Optional[FloatArray]],
    threads: int,
) -> None:
    """One SGD step: ``segments`` are (global index of the first param, params, hyper-parameters),
    one per param group; ``grads`` and ``buffers`` are indexed by the global index. A None grad
    skips its param (its buffer is untouched)."""
    # Check everything -- every param, grad and momentum buffer, and that no array that is
    # written shares memory with any other -- before updating any param: a bad argument never
    # leaves a step half applied (a retry would step the first params twice).
    work = []
    arrays = []
    for start, params, hyper in segments:
        with_momentum = hyper[1] != 0
        for i, p in enumerate(params, start):
            g = grads[i]
            if g is None:
                continue
            _check_param(fn, i, p)
            g_arr = g if isinstance(g, np.ndarray) else np.asarray(g, dtype=p.dtype)
            if g_arr.dtype != p.dtype:
                raise TypeError(
                    f"{fn}: grads[{i}] has dtype {g_arr.dtype} but params[{i}] has dtype {p.dtype}; "
                    f"convert the grad with grad.astype(param.dtype)"
                )
            if g_arr.shape != p.shape:
                raise ValueError(
                    f"{fn}: grads[{i}] has shape {g_arr.shape} but params[{i}] has shape {p.shape} "
                    f"(a grad must have its param's shape)"
                )
            buf = buffers[i] if with_momentum else None
            if buf is not None and not (
                isinstance(buf, np.ndarray)
                and buf.dtype == p.dtype
                and buf.shape == p.shape
                and buf.flags.c_contiguous
                and buf.flags.aligned
                and buf.flags.writeable
            ):
                got = (
                    f"{type(buf).__name__}"
                    if not isinstance(buf, np.ndarray)
                    else f"a {'' if buf.flags.writeable else 'read-only '}{buf.dtype} array of shape {buf.shape}"
                    f"{'' if buf.flags.c_contiguous else ', non-contiguous'}"
                    f"{'' if buf.flags.aligned else ', misaligned'}"
                )
                raise ValueError(
                    f"{fn}: momentum_buffers[{i}] must be None or a C-contiguous, aligned, writeable "
                    f"{p.dtype} array of shape {p.shape}; got {got}"
                )
            work.append((i, p, g_arr, buf, hyper))  # the binding copies a non-contiguous or misaligned grad
            arrays.append((f"params[{i}]", p, True))
            arrays.append((f"grads[{i}]", g_arr, False))
            if buf is not None:
                arrays.append((f"momentum_buffers[{i}]", buf, True))
    _core.check_no_overlap(fn, arrays)
    for i, p, g_arr, buf, (lr, momentum, dampening, weight_decay, nesterov, maximize) in work:
        first = buf is None
        if momentum != 0 and first:
            buf = np.empty_like(p, order="C")
        _core.sgd_update(p, g_arr, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first, threads)
        if momentum != 0:
            buffers[i] = buf  # only once the update has run


def sgd_step(
    params: Sequence[FloatArray],
    grads: Sequence[Optional[ArrayLike]],
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
    nesterov else ``g = buf``; finally ``p -= lr * g``. One fused pass per array. Everything is
    checked before any array is written: a rejected step changes nothing.

    Parameters
    ----------
    params : sequence of ndarray
        C-contiguous, aligned, writeable float32 / float64 / float16 / bfloat16 arrays, updated in place.
    grads : sequence of array_like or None
        One gradient per param, of its shape and dtype (any strides; lists become its dtype).
        None: no gradient, the param and its momentum buffer are left as they are.
    lr : float
        Learning rate (>= 0).
    momentum_buffers : list of (ndarray or None), optional
        One entry per param, None before its first step with momentum; updated in place and
        returned. None: a new list.
    momentum : float, default 0
        Momentum factor (>= 0).
    dampening : float, default 0
        Dampening for momentum.
    weight_decay : float, default 0
        L2 penalty (>= 0), added to the gradient as ``weight_decay * p``.
    nesterov : bool, default False
        Nesterov momentum (needs momentum > 0 and dampening = 0).
    maximize : bool, default False
        Maximize the objective instead of minimizing it.
    n_threads : int, optional
        Threads for this call; None: the default.

    Returns
    -------
    list of (ndarray or None)
        ``momentum_buffers`` (the given list, updated), for the next call.

    Raises
    ------
    ValueError
        Bad hyper-parameters, a count, shape or memory layout that does not fit, overlapping arrays.
    TypeError
        A dtype that does not fit, a hyper-parameter of the wrong type.

    Examples
    --------
    >>> import numpy as np, fastloss as fl
    >>> p = np.array([1.0, -2.0])
    >>> _ = fl.sgd_step([p], [np.array([0.5, 0.5])], lr=0.1, weight_decay=0.01)
    >>> p
    array([ 0.949, -2.048])
    """
    hyper = _check_hyperparameters("sgd_step", None, lr, momentum, dampening, weight_decay, nesterov, maximize)
    threads = _thread_count("sgd_step", n_threads)
    if len(grads) != len(params):
        raise ValueError(f"sgd_step: expected one grad per param ({len(params)}); got {len(grads)}")
    if momentum_buffers is None:
        momentum_buffers = [None] * len(params)
    elif len(momentum_buffers) != len(params):
        raise ValueError(
            f"sgd_step: expected one momentum buffer per param ({len(params)}); got {len(momentum_buffers)}"
        )
    _apply("sgd_step", [(0, params, hyper)], grads, momentum_buffers, threads)
    return momentum_buffers


class SGD:
    """``torch.optim.SGD`` over float32 / float64 / float16 / bfloat16 NumPy arrays, updated in place.

    ``params`` is a list of arrays, or a list of param groups as in torch: dicts with a
    ``"params"`` key (a list of arrays, or one array) and any of ``lr``, ``momentum``,
    ``dampening``, ``weight_decay``, ``nesterov``, ``maximize``; a key a group does not set takes
    the constructor's value. Params are numbered across the groups in order (the *global index*
    used by :meth:`step`, :meth:`state_dict` and ``momentum_buffers``).

    Parameters
    ----------
    params : iterable of ndarray or iterable of dict
        C-contiguous, aligned, writeable float32 / float64 / float16 / bfloat16 arrays, or param-group dicts.
    lr : float, default 1e-3
        Learning rate (>= 0), torch 2.x's default.
    momentum : float, default 0
        Momentum factor (>= 0).
    dampening : float, default 0
        Dampening for momentum.
    weight_decay : float, default 0
        L2 penalty (>= 0), added to the gradient as ``weight_decay * p``.
    nesterov : bool, default False
        Nesterov momentum (needs momentum > 0 and dampening = 0).
    maximize : bool, default False
        Maximize the objective instead of minimizing it.
    n_threads : int, optional
        Threads for each step; None: the default.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` and every hyper-parameter. Changing a value (e.g.
        ``opt.param_groups[0]["lr"] = 0.01``) takes effect at the next step, as in torch.
    defaults : dict
        The constructor's hyper-parameters, for groups that do not set their own.
    momentum_buffers : list of (ndarray or None)
        One per param (global index); None until its first step with momentum.

    Raises
    ------
    TypeError
        ``params`` is a single array or dict, or not iterable; a param of a non-float dtype; a
        hyper-parameter of the wrong type.
    ValueError
        ``params`` is empty; a group with an unknown key or bad hyper-parameters; an array
        listed twice; a param that is not a C-contiguous, aligned, writeable array.

    Examples
    --------
    >>> import numpy as np, fastloss as fl
    >>> w = np.array([1.0, -2.0])
    >>> opt = fl.SGD([w], lr=0.1, weight_decay=0.01, maximize=True)
    >>> opt.step([np.array([0.5, 0.5])])
    >>> w
    array([ 1.049, -1.948])
    >>> b = np.zeros(2)
    >>> opt = fl.SGD([{"params": [w]}, {"params": b, "lr": 1.0}], lr=0.1)
    >>> opt.step({1: np.ones(2)})  # a grad for b (global index 1) only
    >>> b
    array([-1., -1.])
    """

    def __init__(
        self,
        params: ParamsOrGroups,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
        n_threads: Optional[int] = None,
    ) -> None:
        _check_hyperparameters("SGD", None, lr, momentum, dampening, weight_decay, nesterov, maximize)
        _thread_count("SGD", n_threads)
        # as torch: a bare array (or a dict) would be iterated over rows (keys) and fail later
        if isinstance(params, (np.ndarray, Mapping, str)) or not isinstance(params, Iterable):
            hint = " (put a single param group in a list)" if isinstance(params, Mapping) else ""
            raise TypeError(
                f"SGD: params argument given to the optimizer should be an iterable of arrays or "
                f"dicts, but got {type(params).__name__}{hint}"
            )
        entries: List[Any] = list(params)
        if not entries:
            raise ValueError("SGD: params is an empty list (optimizer got an empty parameter list)")
        is_group = [isinstance(e, Mapping) for e in entries]
        if any(is_group) and not all(is_group):
            raise TypeError(
                f"SGD: params must be all arrays or all param-group dicts; params[0] is "
                f"{type(entries[0]).__name__}, params[{is_group.index(not is_group[0])}] is not"
            )
        self.defaults: Dict[str, Any] = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        self.n_threads = n_threads
        self.param_groups: List[Dict[str, Any]] = []
        self.momentum_buffers: List[Optional[FloatArray]] = []
        self._sizes: List[int] = []  # each group's param count, to catch a group list edited in place
        groups: List[Mapping[str, Any]] = entries if is_group[0] else [{"params": entries}]
        for group in groups:
            self.add_param_group(group)

    @property
    def params(self) -> List[FloatArray]:
        """Every param, in the order of the groups: ``params[i]`` has global index ``i``.

        Returns
        -------
        list of ndarray
            A new list of the optimizer's arrays (the caller's arrays themselves).
        """
        return [p for group in self.param_groups for p in group["params"]]

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a param group, as ``torch.optim.Optimizer.add_param_group`` (e.g. to unfreeze layers).

        Its params get the next global indices; hyper-parameters it does not set take the
        values of ``defaults``. The dict is copied, not kept: change the group afterwards
        through ``param_groups[-1]``.

        Parameters
        ----------
        param_group : dict
            ``"params"`` (a list of arrays, or one array) and optionally any of ``lr``,
            ``momentum``, ``dampening``, ``weight_decay``, ``nesterov``, ``maximize``.

        Returns
        -------
        None

        Raises
        ------
        TypeError
            ``param_group`` is not a dict; a param of a non-float dtype; a hyper-parameter of
            the wrong type.
        ValueError
            No ``"params"`` key, an unknown key, bad hyper-parameters, an array that is already
            in a group (or twice in this one), a param that cannot be updated in place.
        """
        k = len(self.param_groups)
        if not isinstance(param_group, Mapping):
            raise TypeError(f"SGD: param group {k} must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"SGD: param group {k} has no 'params' key")
        for key in param_group:
            if key != "params" and key not in _HYPER_KEYS:
                raise ValueError(
                    f"SGD: param group {k} has an unknown key {key!r}; a param group takes 'params' "
                    f"and any of {', '.join(repr(h) for h in _HYPER_KEYS)}"
                )
        group_params = param_group["params"]
        if isinstance(group_params, np.ndarray):  # torch takes a single tensor here
            group_params = [group_params]
        elif isinstance(group_params, (Mapping, str)) or not isinstance(group_params, Iterable):
            raise TypeError(
                f"SGD: param group {k}: 'params' must be an array or an iterable of arrays; got "
                f"{type(group_params).__name__}"
            )
        group: Dict[str, Any] = {"params": list(group_params)}
        for key in _HYPER_KEYS:
            group[key] = param_group.get(key, self.defaults[key])
        _check_hyperparameters("SGD", k, *(group[h] for h in _HYPER_KEYS))
        start = len(self.momentum_buffers)
        seen = {id(p): i for i, p in enumerate(self.params)}
        for i, p in enumerate(group["params"], start):
            _check_param("SGD", i, p)  # fail here rather than at the first step
            if id(p) in seen:
                j = seen[id(p)]
                if j < start:  # torch's error
                    raise ValueError(
                        f"SGD: some parameters appear in more than one parameter group: params[{i}] "
                        f"of param group {k} is params[{j}] of an earlier group"
                    )
                raise ValueError(
                    f"SGD: param group {k} lists the same array twice (params[{j}] and params[{i}]); "
                    f"it would be updated twice per step"
                )
            seen[id(p)] = i
        self.param_groups.append(group)
        self._sizes.append(len(group["params"]))
        self.momentum_buffers.extend([None] * len(group["params"]))

    def _grad_list(self, grads: Grads) -> Sequence[Any]:
        """``grads`` as one entry per global index (None: skip)."""
        n = len(self.momentum_buffers)
        # exact types first: isinstance on an ABC (Mapping, Sequence) costs as much as a param's checks
        if type(grads) is list or type(grads) is tuple:
            seq: Sequence[Any] = grads
        elif type(grads) is dict or isinstance(grads, Mapping):
            out: List[Any] = [None] * n
            for i, g in grads.items():
                if type(i) is not int and (isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer))):
                    raise TypeError(
                        f"SGD.step: the keys of a grads dict are param indices (int); got {type(i).__name__} {i!r}"
                    )
                if not 0 <= i < n:
                    raise IndexError(
                        f"SGD.step: grads has a grad for params[{i}], but the optimizer has {n} params "
                        f"(indices 0 to {n - 1})"
                    )
                out[i] = g
            return out
        elif isinstance(grads, Sequence) and not isinstance(grads, str):
            seq = grads
        else:
            raise TypeError(
                f"SGD.step: grads must be a list or tuple with one grad per param, or a dict "
                f"{{param index: grad}}; got {type(grads).__name__}"
            )
        if len(seq) != n:
            raise ValueError(
                f"SGD.step: expected one grad per param: the optimizer has {n} params, got {len(seq)} grads"
            )
        return seq

    def step(self, grads: Grads) -> None:
        """Update the params in place, each group with its current hyper-parameters.

        All or nothing: every group's hyper-parameters, every param, grad and momentum buffer
        are checked before any array is written.

        Parameters
        ----------
        grads : sequence of (array_like or None), or dict of int to array_like
            One grad per param, in the order of the groups (``params``), of the param's shape
            and dtype (any strides; lists become its dtype); or a dict keyed by global param
            index. A None entry, or an index absent from the dict, skips that param: no update,
            its momentum buffer untouched (like a torch param whose ``.grad`` is None).

        Returns
        -------
        None

        Raises
        ------
        ValueError
            A grad count that does not fit, a grad of another shape (both naming the position),
            bad hyper-parameters, a param that cannot be updated in place, overlapping arrays.
        TypeError
            ``grads`` of another kind, a grad of another dtype, a non-integer dict key.
        IndexError
            A dict key that is not a param index.
        """
        threads = _thread_count("SGD.step", self.n_threads)
        segments = []
        start = 0
        for k, group in enumerate(self.param_groups):
            params = group["params"]
            if len(params) != self._sizes[k]:
                raise ValueError(
                    f"SGD.step: param group {k} had {self._sizes[k]} params and now has {len(params)}; "
                    f"add params with add_param_group"
                )
            hyper = _check_hyperparameters(
                "SGD.step",
                k,
                group["lr"],
                group["momentum"],
                group["dampening"],
                group["weight_decay"],
                group["nesterov"],
                group["maximize"],
            )
            segments.append((start, params, hyper))
            start += len(params)
        _apply("SGD.step", segments, self._grad_list(grads), self.momentum_buffers, threads)

    def zero_state(self) -> None:
        """Forget the momentum buffers: the next step starts momentum afresh.

        Returns
        -------
        None
        """
        self.momentum_buffers = [None] * len(self.momentum_buffers)

    def state_dict(self) -> Dict[str, Any]:
        """The optimizer's state in torch's layout, with copies of the momentum buffers.

        Returns
        -------
        dict
            ``{"state": {i: {"momentum_buffer": ndarray}}, "param_groups": [...]}``: a buffer for
            each param i (global index) that has one; each group's keys as in ``param_groups``
            except ``"params"``, its params' global indices (``[0, 1]``, ``[2]``, ...).

        Examples
        --------
        >>> import numpy as np, fastloss as fl
        >>> opt = fl.SGD([{"params": [np.ones(2)]}, {"params": [np.ones(3)], "lr": 0.5}], lr=0.1)
        >>> [(g["params"], g["lr"]) for g in opt.state_dict()["param_groups"]]
        [([0], 0.1), ([1], 0.5)]
        """
        state = {i: {"momentum_buffer": b.copy()} for i, b in enumerate(self.momentum_buffers) if b is not None}
        groups = []
        start = 0
        for group in self.param_groups:
            size = len(group["params"])
            packed = {k: v for k, v in group.items() if k != "params"}
            groups.append({**packed, "params": list(range(start, start + size))})
            start += size
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the hyper-parameters and momentum buffers of :meth:`state_dict` (or of torch's).

        Saved params are matched to this optimizer's by position within each group, as torch
        does. The saved groups' keys replace the current ones (a key a saved group lacks keeps
        its current value); the buffers are copied. Nothing changes unless everything is valid.

        Parameters
        ----------
        state_dict : dict
            ``{"state": ..., "param_groups": ...}`` as :meth:`state_dict` returns (torch's
            layout; tensors converted to NumPy arrays).

        Returns
        -------
        None

        Raises
        ------
        ValueError
            Another number of groups, a group of another size, bad hyper-parameters, a state
            entry for no listed param, a buffer of another shape or dtype than its param.
        TypeError
            A hyper-parameter of the wrong type.
        """
        fn = "SGD.load_state_dict"
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{fn}: loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)}, this optimizer has {len(self.param_groups)}"
            )
        index: Dict[Any, int] = {}  # saved param id -> global index
        new_groups = []
        start = 0
        for k, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            size = len(group["params"])
            if len(saved["params"]) != size:
                raise ValueError(
                    f"{fn}: loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group: param group {k} has {len(saved['params'])} params saved, "
                    f"{size} here"
                )
            index.update(zip(saved["params"], range(start, start + size)))
            new = dict(group)
            new.update((key, v) for key, v in saved.items() if key != "params")
            _check_hyperparameters(fn, k, *(new[h] for h in _HYPER_KEYS))
            new_groups.append(new)
            start += size
        params = self.params
        buffers: List[Optional[FloatArray]] = [None] * len(params)
        for key, s in state_dict["state"].items():
            if key not in index:
                raise ValueError(f"{fn}: state has an entry for param {key!r}, which no saved param group lists")
            i = index[key]
            if s.get("momentum_buffer") is None:
                continue
            buf = np.asarray(s["momentum_buffer"])
            p = params[i]
            if buf.shape != p.shape or buf.dtype != p.dtype:
                raise ValueError(
                    f"{fn}: momentum buffer {key!r} has {buf.dtype} {buf.shape}, its param (params[{i}]) "
                    f"has {p.dtype} {p.shape}"
                )
            buffers[i] = np.array(buf, order="C", copy=True)
        for group, new in zip(self.param_groups, new_groups):  # the same dicts: references stay valid
            group.clear()
            group.update(new)
        self.momentum_buffers = buffers

    def __repr__(self) -> str:
        def opts(group: Mapping[str, Any]) -> str:
            return ", ".join(f"{k}={group[k]!r}" for k in _HYPER_KEYS)

        if len(self.param_groups) == 1:
            return f"SGD({len(self.momentum_buffers)} params, {opts(self.param_groups[0])})"
        groups = "; ".join(f"group {k}: {len(g['params'])} params, {opts(g)}" for k, g in enumerate(self.param_groups))
        return f"SGD({len(self.momentum_buffers)} params in {len(self.param_groups)} groups; {groups})"
