"""Mergeable loss accumulators: a loss over a stream of batches, exactly as one call over all of them.

:class:`LossAccumulator` follows the torchmetrics convention (``update`` / ``compute`` /
``merge`` / ``reset`` / ``state_dict``) for any fastloss loss with a scalar reduction::

    acc = fl.LossAccumulator(fl.cross_entropy, ignore_index=-100)
    for logits, labels in stream:
        acc.update(logits, labels)
    acc.compute()  # == fl.cross_entropy(concatenate(all logits), concatenate(all labels))

Each ``update`` calls the loss in partial-sums mode (``_core.set_partial_sums``), which returns
the float64 numerator and denominator of the reduction (the sum of the losses, and the element
count, row count, Sigma weight[target] or batch size it is divided by) instead of their
rounded quotient. The accumulator adds those pairs **exactly** (:class:`ExactSum`: every finite
float64 is an integer multiple of 2**-1074, so a sum of them is kept as one Python integer),
and ``compute`` rounds once: ``dtype(round64(num) / round64(den))``, the very expression the
kernels evaluate. So any grouping and order of updates and merges, in any process, gives the
bitwise same result; and that result equals the single in-memory call up to the float64
rounding of the kernel's own sum (bitwise in float32 in practice, within 1e-12 relative in
float64). :mod:`fastloss.dask` combines its per-chunk partials with the same :class:`Partial`.

This module imports nothing beyond NumPy and fastloss.
"""

from __future__ import annotations

import math
import threading
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from . import _core, _spec, functional

#: functional's argument helpers (private, so not in its typed stub)
_checks: Any = functional

__all__ = ["ExactSum", "LossAccumulator", "Partial"]

#: every finite float64 is an integer multiple of 2**-1074 (the smallest subnormal)
_SCALE_BITS = 1074
#: options of a loss function that an accumulator cannot take (it sums losses only)
_CALL_ONLY = ("return_grad", "grad_output", "out", "grad_out")
_STATE_VERSION = 1


class ExactSum:
    """The exact sum of float64 values, independent of the order they are added in.

    Finite values are kept as one integer in units of 2**-1074; infinities and NaNs, which
    make the sum non-finite whatever else is added, are added as floats on their own (their
    sum is order-independent too: NaN if any NaN or both infinities, else the infinity).
    :meth:`value` rounds the exact sum to the nearest float64 once (overflow gives +-inf,
    as the kernels' float64 sums would).
    """

    __slots__ = ("scaled", "special")

    def __init__(self, scaled: int = 0, special: float = 0.0) -> None:
        self.scaled = scaled  # the sum of the finite values, times 2**1074
        self.special = special  # the sum of the non-finite values (0.0: none)

    def add(self, x: float) -> None:
        if math.isfinite(x):
            n, d = x.as_integer_ratio()  # d is a power of two, at most 2**1074
            self.scaled += n << (_SCALE_BITS + 1 - d.bit_length())
        else:
            self.special += x

    def merge(self, other: "ExactSum") -> None:
        self.scaled += other.scaled
        self.special += other.special

    def value(self) -> float:
        if not math.isfinite(self.special):
            return self.special
        try:
            return self.scaled / (1 << _SCALE_BITS)  # int / int: correctly rounded by CPython
        except OverflowError:
            return math.inf if self.scaled > 0 else -math.inf

    def copy(self) -> "ExactSum":
        return ExactSum(self.scaled, self.special)

    def to_json(self) -> Dict[str, str]:
        """Strict-JSON form: the integer in hex, the non-finite part as float.hex ('inf', 'nan')."""
        return {"scaled": hex(self.scaled), "special": float.hex(self.special)}

    @classmethod
    def from_json(cls, d: Mapping[str, str]) -> "ExactSum":
        return cls(int(d["scaled"], 16), float.fromhex(d["special"]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExactSum):
            return NotImplemented
        same_special = self.special == other.special or (math.isnan(self.special) and math.isnan(other.special))
        return self.scaled == other.scaled and same_special

    def __repr__(self) -> str:
        return f"ExactSum({self.value()!r})"


class Partial:
    """A mergeable (numerator, denominator, count) of a reduced loss: the exact sums of the
    partial-sums pairs of ``count`` calls. The unit :mod:`fastloss.dask` moves between tasks."""

    __slots__ = ("num", "den", "count")

    def __init__(self, num: Optional[ExactSum] = None, den: Optional[ExactSum] = None, count: int = 0) -> None:
        self.num = ExactSum() if num is None else num
        self.den = ExactSum() if den is None else den
        self.count = count

    @classmethod
    def of(cls, pair: Tuple[float, float]) -> "Partial":
        """The partial of one call's ``(numerator, denominator)``."""
        p = cls(count=1)
        p.num.add(pair[0])
        p.den.add(pair[1])
        return p

    def merge(self, other: "Partial") -> "Partial":
        self.num.merge(other.num)
        self.den.merge(other.den)
        self.count += other.count
        return self

    def copy(self) -> "Partial":
        return Partial(self.num.copy(), self.den.copy(), self.count)

    def result(self, reduction: str, dtype: Any, den: Optional[float] = None) -> np.floating[Any]:
        """What one call returns: ``dtype(num / den)`` in float64 (``num`` for "sum"), each
        sum rounded to float64 once. ``den`` overrides the summed denominator (fastloss.dask:
        "batchmean" over an array chunked along other axes than the first)."""
        num = self.num.value()
        if reduction != "sum":
            with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 -> nan as the kernels
                num = float(np.float64(num) / np.float64(self.den.value() if den is None else den))
        with np.errstate(over="ignore"):  # a float64 sum beyond the dtype's range -> inf, as the kernels
            out: np.floating[Any] = np.dtype(dtype).type(num)
        return out

    def __repr__(self) -> str:
        return f"Partial(num={self.num.value()!r}, den={self.den.value()!r}, count={self.count})"


# ------------------------------------------------------------------------------- loss lookup
_BY_NAME: Dict[str, _spec.LossSpec] = {}
for _row in _spec.SPECS:
    _BY_NAME[_row.name] = _row
    for _alias in _row.aliases:
        _BY_NAME[_alias] = _row


def resolve_loss(loss_fn: Union[str, Callable[..., Any]]) -> _spec.LossSpec:
    """The spec row of a fastloss loss function (or of its name or alias)."""
    if isinstance(loss_fn, str):
        spec = _BY_NAME.get(loss_fn)
    else:
        name = getattr(loss_fn, "__name__", None)
        spec = _BY_NAME.get(name) if isinstance(name, str) else None
        if spec is not None and getattr(functional, spec.name) is not loss_fn:
            # fastloss.dask's functions share the names but are not the in-memory losses
            spec = spec if getattr(loss_fn, "__fastloss_spec__", None) is spec else None
    if spec is None:
        names = ", ".join(sorted(_BY_NAME))
        raise TypeError(f"loss_fn must be a fastloss loss function or the name of one ({names}); got {loss_fn!r}")
    return spec


def scalar_reductions(spec: _spec.LossSpec) -> Tuple[str, ...]:
    return tuple(r for r in spec.reductions if r in _spec.SCALAR_REDUCTIONS)


def check_reduction(owner: str, spec: _spec.LossSpec, reduction: Any) -> str:
    allowed = scalar_reductions(spec)
    if not isinstance(reduction, str) or reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed)
        raise ValueError(
            f"{owner}: reduction must be one of {names} (the reductions of {spec.name} that give one number); "
            f"got {reduction!r}"
        )
    return reduction


# ------------------------------------------------------------------------ option handling
def _canonical(spec: _spec.LossSpec, name: str, value: Any) -> Any:
    """A comparable, JSON-ready form of one option's value (arrays: dtype, shape, values)."""
    kind = spec.param(name).kind
    if value is None:
        return None
    if kind == "operand":
        if isinstance(value, np.ndarray):
            return {"ndarray": value.tolist(), "dtype": value.dtype.name, "shape": list(value.shape)}
        return {"value": np.asarray(value).tolist()}
    return _checks._scalar_option(spec.name, spec.param(name), value)  # a reduction: a checked str


def _from_canonical(value: Any) -> Any:
    if isinstance(value, dict):
        if "ndarray" in value:
            return np.asarray(value["ndarray"], dtype=_dtype_named(value["dtype"])).reshape(value["shape"])
        return value["value"]
    return value


def _dtype_named(name: str) -> np.dtype[Any]:
    try:
        return np.dtype(name)
    except TypeError:  # bfloat16: NumPy knows it once ml_dtypes is imported
        import ml_dtypes  # noqa: F401

        return np.dtype(name)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


# --------------------------------------------------------------------------- the accumulator
class LossAccumulator:
    """The running value of a reduced fastloss loss over batches: ``compute()`` returns what one
    call on all the batches concatenated along axis 0 returns.

    Parameters
    ----------
    loss_fn : callable or str
        A fastloss loss function (``fastloss.cross_entropy``) or its name (``"cross_entropy"``).
    **options : keyword arguments
        The loss's keyword options, fixed for every batch (``weight=``, ``ignore_index=``,
        ``label_smoothing=``, ``delta=``, ...), and ``reduction=``: one of the loss's reductions
        that give one number (``"mean"``, ``"sum"``, and ``"batchmean"`` where the loss has it;
        default: the function's own, which must be one of those). ``n_threads=`` sets the default
        thread count of the updates. ``return_grad``, ``grad_output``, ``out`` and ``grad_out``
        are refused (TypeError); ``lengths`` is per batch (:meth:`update`).

    Semantics
    ---------
    - ``update(*arrays)`` takes the loss's arrays in order (``input, target[, var]``), one batch:
      the batches are the pieces of one big call split along axis 0 (for "batchmean" the
      denominator is each batch's ``shape[0]``, so it adds up to the total).
    - ``compute()`` is a NumPy scalar of the batches' dtype (batches of another dtype raise
      TypeError). With no batch: the loss of an empty input, ``nan`` for "mean" / "batchmean"
      and ``0`` for "sum", as float64 (no dtype is known yet).
    - Exactness: the float64 partial sums are added exactly (:class:`ExactSum`) and rounded
      once; any split, order and grouping of ``update`` / ``merge`` gives a bitwise identical
      result.
    - Not for concurrent ``update`` of one object from several threads without care: the
      additions are locked, but use one accumulator per thread and :meth:`merge` for speed.

    Examples
    --------
    >>> import numpy as np, fastloss as fl
    >>> from fastloss.accumulate import LossAccumulator
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((10, 4)).astype(np.float32); t = rng.integers(0, 4, 10)
    >>> acc = LossAccumulator(fl.cross_entropy)
    >>> _ = acc.update(x[:3], t[:3]).update(x[3:], t[3:])
    >>> bool(acc.compute() == fl.cross_entropy(x, t))
    True
    """

    def __init__(self, loss_fn: Union[str, Callable[..., Any]], **options: Any) -> None:
        spec = resolve_loss(loss_fn)
        self._spec = spec
        self._fn: Callable[..., Any] = getattr(functional, spec.name)
        self._n_threads: Optional[int] = options.pop("n_threads", None)
        if self._n_threads is not None:
            _checks._thread_count(spec.name, self._n_threads)
        known = {p.name: p for p in spec.params}
        for key in options:
            if key in _CALL_ONLY:
                raise TypeError(f"LossAccumulator: {key} is not an option of an accumulator (it sums losses only)")
            if key not in known:
                raise TypeError(f"{spec.name}() got an unexpected keyword argument {key!r}")
            if known[key].kind == "lengths":
                raise TypeError(f"LossAccumulator: {key} is per batch; pass it to update()")
        reduction = options.get("reduction", spec.param("reduction").default)
        if "reduction" not in options and reduction not in _spec.SCALAR_REDUCTIONS:
            raise ValueError(
                f"LossAccumulator: {spec.name}'s default reduction {reduction!r} does not give one number; pass "
                f"reduction= one of {', '.join(repr(r) for r in scalar_reductions(spec))}"
            )
        self._reduction = check_reduction("LossAccumulator", spec, reduction)
        # every option, defaults filled in: what identifies the loss (merge, load_state_dict)
        self._options: Dict[str, Any] = {}
        self._canon: Dict[str, Any] = {}
        for p in spec.params:
            if p.kind == "lengths":
                continue
            value = self._reduction if p.kind == "reduction" else options.get(p.name, p.default)
            self._options[p.name] = value
            self._canon[p.name] = _canonical(spec, p.name, value)
        self._lock = threading.Lock()
        self._partial = Partial()
        self._dtype: Optional[np.dtype[Any]] = None

    # ------------------------------------------------------------------------- properties
    @property
    def loss(self) -> str:
        """The loss's name."""
        return self._spec.name

    @property
    def reduction(self) -> str:
        return self._reduction

    @property
    def options(self) -> Dict[str, Any]:
        """Every option of the loss (defaults included), as passed to each call."""
        return dict(self._options)

    @property
    def dtype(self) -> Optional[np.dtype[Any]]:
        """The batches' dtype (None before the first batch)."""
        return self._dtype

    @property
    def count(self) -> int:
        """The number of batches added (merged accumulators' included)."""
        return self._partial.count

    @property
    def numerator(self) -> float:
        """The exact sum of the batches' loss sums, rounded to float64."""
        return self._partial.num.value()

    @property
    def denominator(self) -> float:
        """The exact sum of the batches' denominators (element / row / token count, Sigma weight,
        or batch size; the number of batches for "sum"), rounded to float64."""
        return self._partial.den.value()

    # ----------------------------------------------------------------------------- updates
    def update(self, *arrays: Any, **per_call: Any) -> "LossAccumulator":
        """Add one batch: the loss's arrays in order (``input, target[, third]``), and per batch
        ``lengths=`` (sequence_cross_entropy), ``n_threads=``; for the losses whose ``weight`` /
        ``pos_weight`` broadcast against the input elementwise, those too when not fixed at
        construction (per-sample weights). Returns ``self``, so updates chain."""
        for key in per_call:
            param = next((p for p in self._spec.params if p.name == key), None)
            per_batch_operand = (
                param is not None
                and param.kind == "operand"
                and self._spec.family.name == "elementwise"
                and self._options.get(key) is None
            )
            if key != "n_threads" and not per_batch_operand and (param is None or param.kind != "lengths"):
                if param is not None:
                    raise TypeError(f"LossAccumulator.update: {key} is fixed at construction; got it per batch")
                raise TypeError(f"LossAccumulator.update: unexpected keyword argument {key!r}")
        if len(arrays) != len(self._spec.arrays):
            raise TypeError(
                f"LossAccumulator.update: {self._spec.name} takes {len(self._spec.arrays)} arrays "
                f"({', '.join(self._spec.arrays)}); got {len(arrays)}"
            )
        dtype = _input_dtype(arrays[0])
        if self._dtype is not None and dtype != self._dtype:
            raise TypeError(
                f"LossAccumulator.update: {self._spec.arrays[0]} dtype {dtype} does not match the dtype of the "
                f"earlier batches, {self._dtype}; convert it with .astype({self._dtype.name!r})"
            )
        kwargs = {**self._options, "n_threads": self._n_threads, **per_call}
        before = _core.set_partial_sums(True)
        try:
            pair = self._fn(*arrays, **kwargs)
        finally:
            _core.set_partial_sums(before)
        part = Partial.of(pair)
        with self._lock:
            if self._dtype is None:
                self._dtype = dtype
            elif dtype != self._dtype:  # another thread's batch came first
                raise TypeError(f"LossAccumulator.update: dtype {dtype} does not match {self._dtype}")
            self._partial.merge(part)
        return self

    def merge(self, other: "LossAccumulator") -> "LossAccumulator":
        """Add another accumulator's batches (same loss and options, else ValueError; same dtype,
        else TypeError). Returns ``self``."""
        if not isinstance(other, LossAccumulator):
            raise TypeError(f"LossAccumulator.merge: expected a LossAccumulator; got {type(other).__name__}")
        self._check_same(other._spec.name, other._canon, "merge")
        with other._lock:
            part, dtype = other._partial.copy(), other._dtype
        with self._lock:
            if dtype is not None and self._dtype is not None and dtype != self._dtype:
                raise TypeError(f"LossAccumulator.merge: dtype {dtype} does not match this accumulator's {self._dtype}")
            if self._dtype is None:
                self._dtype = dtype
            self._partial.merge(part)
        return self

    def compute(self) -> np.floating[Any]:
        """The loss over every batch: a NumPy scalar of their dtype (float64 with none)."""
        with self._lock:
            return self._partial.result(self._reduction, np.float64 if self._dtype is None else self._dtype)

    def reset(self) -> None:
        """Forget every batch (the loss and options stay)."""
        with self._lock:
            self._partial = Partial()
            self._dtype = None

    # ---------------------------------------------------------------------- serialisation
    def state_dict(self) -> Dict[str, Any]:
        """A plain dict of str / int / float / list / dict, strict-JSON serialisable (weights as
        nested lists with their dtype): the loss, its options and the exact sums."""
        with self._lock:
            return {
                "version": _STATE_VERSION,
                "loss": self._spec.name,
                "options": dict(self._canon),
                "dtype": None if self._dtype is None else self._dtype.name,
                "numerator": self._partial.num.to_json(),
                "denominator": self._partial.den.to_json(),
                "count": self._partial.count,
            }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace this accumulator's batches by those of ``state`` (from :meth:`state_dict`),
        whose loss and options must be this accumulator's (else ValueError)."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"LossAccumulator.load_state_dict: unknown state version {state.get('version')!r}")
        self._check_same(state["loss"], state["options"], "load_state_dict")
        part = Partial(ExactSum.from_json(state["numerator"]), ExactSum.from_json(state["denominator"]), state["count"])
        with self._lock:
            self._partial = part
            self._dtype = None if state["dtype"] is None else _dtype_named(state["dtype"])

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any], n_threads: Optional[int] = None) -> "LossAccumulator":
        """A new accumulator with the loss, options and batches of ``state``."""
        options = {k: _from_canonical(v) for k, v in state["options"].items()}
        acc = cls(state["loss"], n_threads=n_threads, **options)
        acc.load_state_dict(state)
        return acc

    def __getstate__(self) -> Dict[str, Any]:
        return {"state": self.state_dict(), "n_threads": self._n_threads}

    def __setstate__(self, d: Dict[str, Any]) -> None:
        fresh = LossAccumulator.from_state_dict(d["state"], n_threads=d["n_threads"])
        self.__dict__.update(fresh.__dict__)

    def __repr__(self) -> str:
        changed = [
            f"{k}={v!r}" if not isinstance(v, np.ndarray) else f"{k}=<array {v.shape} {v.dtype}>"
            for k, v in self._options.items()
            if k == "reduction" or v is not self._spec.param(k).default
        ]
        return f"LossAccumulator({self._spec.name}, {', '.join(changed)}, count={self.count})"

    def _check_same(self, loss: str, canon: Mapping[str, Any], what: str) -> None:
        if loss != self._spec.name:
            raise ValueError(
                f"LossAccumulator.{what}: the loss is {loss!r}, not this accumulator's {self._spec.name!r}"
            )
        differ = [k for k in set(canon) | set(self._canon) if not _same(canon.get(k), self._canon.get(k))]
        if differ:
            detail = "; ".join(f"{k}: {_short(canon.get(k))} vs {_short(self._canon.get(k))}" for k in sorted(differ))
            raise ValueError(f"LossAccumulator.{what}: the options of {loss} differ ({detail}) from this accumulator's")


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _input_dtype(x: Any) -> np.dtype[Any]:
    """The dtype the loss computes in: the input's (a list of ints is converted to float64, as the
    loss functions do)."""
    a: np.ndarray = x if isinstance(x, np.ndarray) else np.asarray(x)
    return np.dtype(np.float64) if a.dtype.kind in "biu" else a.dtype
