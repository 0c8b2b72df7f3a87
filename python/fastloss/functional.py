"""The loss functions: argument normalisation in Python, all arithmetic in ``fastloss._core``.

Every function follows the calling convention of the API contract (see README.md):
``reduction`` in {"mean", "sum", "none"}, ``return_grad`` for the gradient from the same pass
over memory, ``grad_output`` for the upstream gradient, ``out=`` / ``grad_out=`` buffers and a
per-call ``n_threads``. Semantics are those of ``torch.nn.functional``.

The functions themselves are generated from the spec table (``fastloss._spec``: one row per
loss) when this module is imported: each row's source (``_spec.render_function(row)``) is
executed here, in a namespace holding its ``_core`` kernel, its reduction codes and the
checking helpers below. The typed signatures mypy sees are in ``functional.pyi``, generated
from the same table.
"""

from __future__ import annotations

import linecache
from typing import Any, Callable, Dict, List, Literal, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core, _spec

FloatArray = NDArray[np.floating[Any]]
#: A reduced loss (NumPy scalar of the input's dtype, or the 0-d ``out`` array) or, for
#: ``reduction="none"``, the per-element loss array.
Loss = Union[np.floating[Any], FloatArray]
LossResult = Union[Loss, Tuple[Loss, FloatArray]]
Reduction = Literal["mean", "sum", "none"]
SequenceReduction = Literal["mean", "sum", "none", "batchmean", "sequence"]

__all__: List[str] = _spec.function_names()


# ----------------------------------------------------------------- argument checking helpers
# The generated functions test the common argument types inline and call these for anything
# else: they convert what is allowed and raise the contract's error (naming the argument and
# what was given) for what is not.
def _reduction_code(fn: str, reduction: Any, allowed_codes: Dict[str, int]) -> int:
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
        raise TypeError(f"{fn}: n_threads must be None or a positive int; got {type(n_threads).__name__} {n_threads!r}")
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
    """A real-valued argument (label_smoothing, a loss's scalar settings): a Python or NumPy
    number (its range is the kernels' check, or the spec row's rules)."""
    if type(value) is float:
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a float; got {type(value).__name__} {value!r}")
    return float(value)


def _flag_argument(fn: str, name: str, value: Any) -> bool:
    """A boolean setting (poisson_nll_loss's log_input and full): a Python or NumPy bool."""
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"{fn}: {name} must be a bool; got {type(value).__name__} {value!r}")


def _scalar_option(fn: str, p: "_spec.Param", value: Any) -> Any:
    """A scalar parameter of a spec row (index, real, setting, flag) converted and checked as
    the generated functions do (without the row's rules); other kinds as given. For the
    adapters and accumulators, which take a row's options outside the generated code."""
    if p.kind == "index":
        return _index_argument(fn, p.name, value)
    if p.kind in ("real", "setting"):
        return _real_argument(fn, p.name, value)
    if p.kind == "flag":
        return value if type(value) is bool else _flag_argument(fn, p.name, value)
    return value


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


def _as_operand(
    fn: str, name: str, x: Optional[ArrayLike], dtype: np.dtype[Any], optional: bool = True
) -> Optional[NDArray[Any]]:
    """target / weight: an ndarray keeps its dtype (a mismatch is the binding's TypeError);
    a list or scalar is converted to the input's dtype (TypeError naming it if it is not numbers)."""
    if isinstance(x, np.ndarray) or (x is None and optional):
        return x
    return _numeric_array(fn, name, x, dtype)


def _as_class_target(fn: str, t: ArrayLike, dtype: np.dtype[Any]) -> NDArray[Any]:
    """Class indices keep their integer dtype (any integer dtype: the kernel reads each
    natively and checks it); float lists become probabilities of the input's dtype."""
    if isinstance(t, np.ndarray):
        return t
    a = _numeric_array(fn, "target", t)
    return a.astype(dtype) if a.dtype.kind == "f" else a


def _as_lengths(fn: str, lengths: ArrayLike) -> NDArray[np.int64]:
    """Sequence lengths: any integer array, passed as C-contiguous int64 (the kernel checks
    the shape and range)."""
    lens = np.asarray(lengths)
    if lens.dtype.kind not in "iu":
        raise ValueError(f"{fn}: lengths must be an integer array; got dtype {lens.dtype}")
    return np.ascontiguousarray(lens, dtype=np.int64)


def _as_grad_output(fn: str, g: ArrayLike, dtype: np.dtype[Any]) -> Union[float, NDArray[Any]]:
    if type(g) is float or type(g) is int:  # the common case first: np.ndim costs microseconds
        return float(g)
    if not isinstance(g, np.ndarray):
        try:
            a = np.asarray(g)
        except (TypeError, ValueError):
            a = np.asarray(None)
        if a.dtype.kind not in "biuf":
            raise ValueError(
                f"{fn}: grad_output must be a number or an array of numbers; got {type(g).__name__} {g!r:.60}"
            )
        g = a.astype(dtype, copy=False)
    if g.ndim == 0 and g.dtype.kind in "biuf":
        return float(g)
    return g  # an array: the binding checks its dtype and shape


# ------------------------------------------------------------------------ the generated losses
#: What the generated functions may name besides their own _kernel and _reductions.
_HELPERS: Dict[str, Any] = {
    "_ndarray": np.ndarray,
    "_THREADS_CAP": _THREADS_CAP,
    "_reduction_code": _reduction_code,
    "_thread_count": _thread_count,
    "_index_argument": _index_argument,
    "_real_argument": _real_argument,
    "_flag_argument": _flag_argument,
    "_as_input": _as_input,
    "_as_operand": _as_operand,
    "_numeric_array": _numeric_array,
    "_as_class_target": _as_class_target,
    "_as_lengths": _as_lengths,
    "_as_grad_output": _as_grad_output,
}


def _make_function(
    spec: _spec.LossSpec, kernel: Optional[Callable[..., Tuple[Any, Any]]] = None, module: str = __name__
) -> Callable[..., Any]:
    """The public function of one spec row: its rendered source executed with its kernel
    (``_core.<spec.kernel>`` unless given, e.g. a test's stand-in) and its reduction codes
    (from ``_core.reductions``, the C++ enum's)."""
    source = _spec.render_function(spec)
    # a file name of its own, with the source in linecache: tracebacks and inspect show the code
    filename = f"<fastloss generated {spec.name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(
        _HELPERS,
        _kernel=getattr(_core, spec.kernel) if kernel is None else kernel,
        _reductions={r: _core.reductions[r] for r in spec.reductions},
    )
    exec(compile(source, filename, "exec"), namespace)
    fn: Callable[..., Any] = namespace[spec.name]
    fn.__module__ = module
    fn.__doc__ = _spec.function_doc(spec)
    return fn


def _define(namespace: Dict[str, Any]) -> None:
    for row in _spec.SPECS:
        namespace[row.name] = fn = _make_function(row)
        for alias in row.aliases:
            namespace[alias] = fn  # the same function object: mae_loss is l1_loss


_define(globals())
