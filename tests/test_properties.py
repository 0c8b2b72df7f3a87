"""Hypothesis property tests over the whole registry (every ``CASES`` and ``CLASS_CASES`` entry,
``l2_penalty``, ``sgd_step`` / ``SGD``).

Every example draws a call from a large space (shapes with 0- and 1-size axes, float32 /
float64, reductions, options, grad_output, out= / grad_out=, n_threads, memory layouts
including broadcast and misaligned arrays, NaN / inf / subnormal values, huge offsets, every
integer target dtype, aliasing between the arrays passed, bad arguments) and the call must
EITHER match the float64 reference (registry.py / reference.py) and, bitwise, the same call on
aligned C-contiguous copies with ``n_threads=1`` (README: layouts, threads and buffers never
change a bit), OR raise the documented exception (API.md §1: dtypes, shapes, aliasing,
argument types and ranges) naming the argument, with every array passed left as it was. Nothing else: a wrong exception type, an
unexpected success or a crash is a failure.

Default run: a few thousand examples, derandomized (reproducible in CI). ``FASTLOSS_FUZZ=long``
selects a randomized profile with at least 100k examples in total.
"""

from __future__ import annotations

import inspect
import itertools
import math
import os
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import fastloss as fl
import numpy as np
import pytest
import reference as ref
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from registry import (
    CASES,
    CLASS_CASES,
    CLASS_PLAIN_CASES,
    CLASS_RICH_CASES,
    DTYPES,
    PLAIN_AND_RICH,
    RTOL,
    AnyCase,
    ClassCase,
    assert_bitwise,
    assert_close,
    case_id,
    check_grad_type,
    check_loss_type,
    make_layout,
)
from test_optim import COMBOS
from test_optim import RTOL as SGD_RTOL

# ----------------------------------------------------------------------------- profiles
#: the aliasing test's cases: each loss plain and with its richest options
ALIAS_CASES = list({c.id: c for c in [*PLAIN_AND_RICH, *CLASS_PLAIN_CASES, *CLASS_RICH_CASES]}.values())


def alias_roles(case: AnyCase) -> List[str]:
    """Every array a call of ``case`` can take."""
    _, _, opts = case.data((2, 3, 4), np.float64)
    return [
        "input",
        "target",
        *[k for k, v in opts.items() if isinstance(v, np.ndarray)],
        "grad_output",
        "out",
        "grad_out",
    ]


#: (case, pair of arrays that share memory): every pair of every case
ALIAS_PARAMS = [
    pytest.param(c, pair, id=f"{c.id}-{pair[0]}-{pair[1]}")
    for c in ALIAS_CASES
    for pair in itertools.combinations(alias_roles(c), 2)
]
# Per-item example counts of each test (parametrised tests: per registry case). The long profile
# multiplies them so that the module runs at least LONG_TOTAL examples.
_PER_ITEM = {
    "elementwise": 45,
    "class": 45,
    "offset": 12,
    "aliasing": 5,
    "l2_penalty": 150,
    "sgd": 250,
}
_ITEMS = {
    "elementwise": len(CASES),
    "class": len(CLASS_CASES),
    "offset": len(CLASS_CASES),
    "aliasing": len(ALIAS_PARAMS),
    "l2_penalty": 1,
    "sgd": 1,
}
DEFAULT_TOTAL = sum(_PER_ITEM[k] * _ITEMS[k] for k in _PER_ITEM)
LONG_TOTAL = 100_000
LONG = os.environ.get("FASTLOSS_FUZZ", "") == "long"
_LONG_SCALE = math.ceil(LONG_TOTAL / DEFAULT_TOTAL)

settings.register_profile(
    "fastloss-properties",
    deadline=None,
    database=None,  # no .hypothesis/ directory in the work tree
    derandomize=True,  # the same examples on every run: CI is reproducible
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.register_profile("fastloss-properties-long", settings.get_profile("fastloss-properties"), derandomize=False)
# Used per test (never loaded globally, so the other modules' settings are untouched).
_PROFILE = settings.get_profile("fastloss-properties-long" if LONG else "fastloss-properties")


def budget(test: str) -> settings:
    return settings(_PROFILE, max_examples=_PER_ITEM[test] * (_LONG_SCALE if LONG else 1))


# ------------------------------------------------------------------------ draw domains
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
SEEDS = st.integers(0, 2**32 - 1)
#: every integer dtype a class target may have: all are read natively by the kernels.
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
SUPPORTED_TARGET_DTYPES = INT_DTYPES
#: n_threads: None or any positive int, however large (clamped to the usable CPUs)
GOOD_THREADS = (None, 1, 2, 3, np.int64(2), 2**31, 2**40, 2**63, 2**100)
BAD_THREADS = (
    (True, TypeError),
    (False, TypeError),
    (1.5, TypeError),
    (2.0, TypeError),
    ("2", TypeError),
    (0, ValueError),
    (-1, ValueError),
    (-(2**70), ValueError),
)
#: huge common offsets (regression: input and target; BCE-with-logits: the logits)
OFFSETS = (0.0, 0.0, 0.0, 1e12, -1e12, 1e30, -1e30)
_ABSENT = object()  # an argument that is not passed

ARRAY_LAYOUTS = ("contiguous", "negative", "transposed", "broadcast", "sliced", "misaligned")


def rarely(p: int = 4) -> st.SearchStrategy:
    """True about once in ``p`` draws; shrinks to False."""
    return st.sampled_from([False] * (p - 1) + [True])


def specials(dtype: Any) -> List[float]:
    f = np.finfo(dtype)
    return [
        np.nan,
        np.inf,
        -np.inf,
        0.0,
        -0.0,
        float(f.smallest_subnormal),
        -float(f.smallest_subnormal),
        float(f.tiny) / 3,
    ]


# ------------------------------------------------------------------------------ layouts
def misaligned(a: np.ndarray) -> np.ndarray:
    """A writeable C-contiguous copy of ``a`` at an odd address (unaligned for any itemsize > 1)."""
    a = np.asarray(a)
    if a.dtype.itemsize == 1:
        return np.array(a)  # a 1-byte dtype cannot be misaligned
    m = np.frombuffer(bytearray(a.nbytes + 1), a.dtype, count=a.size, offset=1).reshape(a.shape)
    m[...] = a
    assert a.size == 0 or not m.flags.aligned
    return m


def in_layout(a: Any, layout: str) -> np.ndarray:
    """``a`` in a memory layout. "broadcast" is a read-only zero-stride view, so it repeats
    ``a[0]`` along the first axis (the values change; the callers compute expectations after)."""
    a = np.asarray(a)
    if layout == "broadcast":
        return np.broadcast_to(a[:1] if a.ndim and a.shape[0] > 1 else a, a.shape)
    if layout == "misaligned":
        return misaligned(a)
    if a.size == 0 or (layout in ("negative", "sliced") and a.ndim == 0) or (layout == "transposed" and a.ndim < 2):
        layout = "contiguous"  # (an empty array is contiguous whatever its strides)
    return make_layout(a, layout)


def draw_layout(data: st.DataObject, a: Any, label: str) -> np.ndarray:
    return in_layout(a, data.draw(st.sampled_from(ARRAY_LAYOUTS), label=f"{label} layout"))


def draw_specials(
    data: st.DataObject, a: np.ndarray, label: str, keep: Callable[[float], bool] = lambda v: True
) -> np.ndarray:
    """A copy of float array ``a`` with a few elements replaced by special values (those ``keep``
    accepts of NaN, +-inf, +-0, subnormals)."""
    a = np.array(a)
    if a.size == 0 or a.dtype.kind != "f":
        return a
    values = [v for v in specials(a.dtype) if keep(v)]
    hits = data.draw(
        st.lists(st.tuples(st.integers(0, a.size - 1), st.sampled_from(values)), max_size=3), label=f"{label} specials"
    )
    for i, v in hits:
        a.flat[i] = v
    return a


def hyp_floats(lo: float, hi: float, dtype: Any) -> st.SearchStrategy:
    return st.floats(lo, hi, width=32 if np.dtype(dtype) == np.float32 else 64)


def plain_copy(v: Any) -> Any:
    return np.array(v, order="C", copy=True) if isinstance(v, np.ndarray) else v


# --------------------------------------------------------------------- expected outcomes
class Err(NamedTuple):
    """An expected exception: its type, the argument names (or regexes) its message must all
    mention, and whether it is found while the kernel runs (BCE's [0, 1] check), so that out= /
    grad_out= may already be partly written (API.md allows it); every other error is raised
    before anything is written."""

    type: type
    names: Tuple[Any, ...] = ()
    in_kernel: bool = False


#: a call either succeeds (no expected error) or raises one of the expected ones
Expected = List[Err]
RAISED = object()
OUTPUTS = ("out", "grad_out")


def mentions(msg: str, name: Any) -> bool:
    """``name`` as a whole argument name ('out' not inside 'grad_out', 'grad_out' not inside
    'grad_output'), or a compiled regex."""
    if isinstance(name, re.Pattern):
        return name.search(msg) is not None
    return re.search(r"(?<![\w])" + re.escape(name) + r"(?![\w])", msg) is not None


@dataclass
class Call:
    """One loss call: ``fn(input, target, **rest)`` (arguments that are _ABSENT are not passed)."""

    fn: Callable[..., Any]
    args: Dict[str, Any]

    def __call__(self) -> Any:
        kw = {k: v for k, v in self.args.items() if v is not _ABSENT}
        return self.fn(kw.pop("input"), kw.pop("target"), **kw)

    def arrays(self) -> Dict[str, np.ndarray]:
        return {k: v for k, v in self.args.items() if isinstance(v, np.ndarray)}

    def canonical(self) -> "Call":
        """The same call on aligned C-contiguous copies, one thread, no out= / grad_out=: what
        every layout, thread count and buffer must reproduce bitwise."""
        kw = {k: plain_copy(v) for k, v in self.args.items() if k not in ("out", "grad_out")}
        kw["n_threads"] = 1
        if isinstance(kw.get("grad_output"), list):
            kw["grad_output"] = np.asarray(kw["grad_output"], dtype=np.asarray(kw["input"]).dtype)
        return Call(self.fn, kw)


def describe(errors: Expected) -> str:
    return " or ".join(f"{e.type.__name__} naming {e.names}" for e in errors) or "success"


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.ascontiguousarray(a).tobytes() == b.tobytes()


def assert_same_bits(actual: Any, expected: Any, what: str) -> None:
    """registry.assert_bitwise, without its NaN-statistics warnings (errors under pytest's -W error)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert_bitwise(actual, expected, what)


def call_expecting(call: Callable[[], Any], errors: Expected, watched: Dict[str, np.ndarray]) -> Any:
    """Run ``call``; succeed iff ``errors`` is empty, else raise one of them, naming its arguments,
    before writing any of the ``watched`` arrays. Returns the result, or RAISED."""
    before = {k: np.array(v, copy=True) for k, v in watched.items()}
    try:
        result = call()
    except Exception as e:  # noqa: BLE001 - any exception is checked against the expected ones
        if not errors:
            raise
        matching = [err for err in errors if isinstance(e, err.type)]
        assert matching, f"raised {type(e).__name__}: {e}; expected {describe(errors)}"
        named = [err for err in matching if all(mentions(str(e), n) for n in err.names)]
        assert named, (
            f"{type(e).__name__} message {str(e)!r} does not name {' / '.join(str(m.names) for m in matching)}"
        )
        in_kernel = any(err.in_kernel for err in named)
        for k, v in before.items():
            if not (in_kernel and k in OUTPUTS):
                assert same_bits(watched[k], v), f"{k} was written before the {type(e).__name__}: {e}"
        return RAISED
    assert not errors, f"returned {result!r}; expected {describe(errors)}"
    return result


# ------------------------------------------------------------------------ comparisons
def close(actual: Any, expected: Any, dtype: Any, floor: float, what: str) -> None:
    """registry.assert_close against the exact result rounded to ``dtype``; results in the
    subnormal range lose precision (and may be flushed to zero), so they compare as 0."""
    tiny = 4 * float(np.finfo(dtype).tiny)
    with np.errstate(all="ignore"):
        e = np.asarray(np.asarray(expected, np.float64).astype(dtype), np.float64)
    a = np.asarray(actual, np.float64)
    e = np.where(np.abs(e) < tiny, 0.0, e)
    a = np.where(np.abs(a) < tiny, 0.0, a)
    assert_close(a, e, dtype, floor=floor, what=what)


OPTION_KEYS = ("weight", "pos_weight", "ignore_index", "label_smoothing", "lengths", "lse_square_scale")


def loss_shape(case: AnyCase, shape: Tuple[int, ...], reduction: str) -> Tuple[int, ...]:
    if isinstance(case, ClassCase):
        return case.loss_shape(shape, reduction)
    return tuple(shape) if reduction == "none" else ()


def returns_array(reduction: str) -> bool:
    return reduction in ("none", "sequence")


def check_success(
    case: AnyCase, call: Call, result: Any, floor_input: Optional[np.ndarray] = None, expected_bits: Any = None
) -> None:
    """Types, out=/grad_out= identity, the float64 reference (to tolerance) and the canonical
    call (bitwise; ``expected_bits`` if the canonical result was computed beforehand)."""
    a = {k: v for k, v in call.args.items() if v is not _ABSENT}
    x, y = a["input"], a["target"]
    dtype, shape = np.asarray(x).dtype, np.shape(x)
    reduction, return_grad = a.get("reduction", "mean"), a.get("return_grad", False)
    go = a.get("grad_output", 1.0) if return_grad else 1.0
    opts = {k: a[k] for k in OPTION_KEYS if k in a}
    loss, grad = result if return_grad else (result, None)

    if "out" in a:
        assert loss is a["out"], "out= was not returned"
    elif returns_array(reduction):
        check_loss_type(loss, "none", loss_shape(case, shape, reduction), dtype)
    else:
        check_loss_type(loss, "mean", (), dtype)
    if return_grad:
        check_grad_type(grad, shape, dtype)
        if "grad_out" in a:
            assert grad is a["grad_out"], "grad_out= was not returned"

    with np.errstate(all="ignore"):
        ref_loss, ref_grad = case.reference(x, y, opts, reduction, go)
    loss_floor, grad_floor = case.floors(x if floor_input is None else floor_input, opts, reduction, go)
    close(loss, ref_loss, dtype, loss_floor, "loss vs reference")
    if return_grad and isinstance(case, ClassCase):
        ref_grad = torch_semantics_grad(case, x, y, opts, reduction, ref_grad)
    if return_grad and ref_grad is not None:
        close(grad, ref_grad, dtype, grad_floor, "grad vs reference")

    want = call.canonical()() if expected_bits is None else expected_bits
    want_loss, want_grad = want if return_grad else (want, None)
    assert_same_bits(np.asarray(loss), np.asarray(want_loss), "loss vs the contiguous one-thread call")
    if return_grad:
        assert_same_bits(grad, want_grad, "grad vs the contiguous one-thread call")


def torch_semantics_grad(
    case: ClassCase, x: Any, y: Any, opts: Dict[str, Any], reduction: str, ref_grad: np.ndarray
) -> Optional[np.ndarray]:
    """The reference gradient where it departs from torch's (which fastloss follows): a zero
    entry of the gradient never reads grad_output (an ignored / masked row, and for nll_loss
    every class but the target: 0 even for a NaN grad_output; the reference multiplies its 0
    by it), and a "mean" over counted targets of total weight 0 divides by 0 (torch: NaN; the
    reference: 0): not compared (None)."""
    if not case.class_targets:
        return ref_grad
    ii = opts.get("ignore_index", -100)
    t = np.asarray(y).astype(np.int64)
    if case.spec.sequence:
        t = ref.mask_lengths(t, opts.get("lengths"), ii)
    counted = t != ii
    if reduction == "mean" and counted.any():
        w = (
            np.asarray(opts["weight"], np.float64)
            if "weight" in opts
            else np.ones(np.shape(x)[case.spec.class_axis(np.ndim(x))])
        )
        if np.sum(w[t[counted]]) == 0:
            return None
    axis = case.spec.class_axis(np.ndim(x))
    g = np.array(np.moveaxis(np.asarray(ref_grad), axis, -1))
    read = counted[..., None]
    if case.spec.log_probs:  # nll_loss: d loss / d input is -w[t] at the target only
        read = read & (np.arange(g.shape[-1]) == t[..., None])
    return np.moveaxis(np.where(read, g, 0.0), -1, axis)


# --------------------------------------------------------------- shared argument draws
class NotANumber:
    """An arbitrary object (its repr is stable, for test ids)."""

    def __repr__(self) -> str:
        return "NotANumber()"


@dataclass(frozen=True)
class BadArg:
    name: str
    value: Any
    error: type


def bad_args(case: AnyCase, return_grad: bool) -> List[BadArg]:
    """The bad arguments this call can take, with their exceptions (API.md §1)."""
    spec = case.spec
    out = [BadArg("n_threads", v, e) for v, e in BAD_THREADS]
    out += [BadArg("input", None, TypeError), BadArg("target", None, TypeError), BadArg("reduction", "avg", ValueError)]
    if "weight" in spec.ctor_options:
        out.append(BadArg("weight", "abc", TypeError))
    if "ignore_index" in spec.ctor_options:
        out += [BadArg("ignore_index", v, TypeError) for v in (1.5, "1", None)]
        out += [BadArg("ignore_index", v, ValueError) for v in (2**63, -(2**63) - 1)]
    if "label_smoothing" in spec.ctor_options:
        out.append(BadArg("label_smoothing", "a", TypeError))
        out += [BadArg("label_smoothing", v, ValueError) for v in (1.5, -0.1, float("nan"))]
    if return_grad:  # grad_output is only read for a gradient
        out += [BadArg("grad_output", v, ValueError) for v in ("abc", "2", NotANumber())]
    return out


def draw_bad_arg(data: st.DataObject, case: AnyCase, args: Dict[str, Any], errors: Expected) -> Optional[BadArg]:
    """About one call in five replaces one argument by a bad one."""
    if not data.draw(rarely(5), label="bad argument?"):
        return None
    bad = data.draw(st.sampled_from(bad_args(case, args.get("return_grad", False))), label="bad argument")
    args[bad.name] = bad.value
    errors.append(Err(bad.error, (arg_name(case, bad.name),)))
    return bad


def draw_grad_output(
    data: st.DataObject,
    shape: Tuple[int, ...],
    array_ok: bool,
    dtype: Any,
    rng: np.random.Generator,
    keep: Optional[Callable[[float], bool]],
) -> Any:
    """grad_output as the default, a Python / NumPy scalar, a 0-d array, or (for a loss array)
    an array of the loss's shape in any layout, or a list; with the special values ``keep``
    accepts (None: none)."""
    kinds = ["default", "float", "int", "numpy scalar", "0-d array"] + (["array", "array"] if array_ok else [])
    if array_ok and math.prod(shape):  # (a list cannot hold an empty axis before another one)
        kinds.append("list")
    kind = data.draw(st.sampled_from(kinds), label="grad_output kind")
    if kind == "default":
        return _ABSENT
    if kind in ("array", "list"):
        g = rng.standard_normal(shape).astype(dtype)
        if keep is not None:
            g = draw_specials(data, g, "grad_output", keep)
        return g.tolist() if kind == "list" else draw_layout(data, g, "grad_output")
    values = [1.0, -1.5, 0.0, 0.25, 3.0] + [v for v in (np.nan, np.inf, -np.inf) if keep is not None and keep(v)]
    v = data.draw(st.sampled_from(values), label="grad_output")
    if kind == "int":
        return int(v) if np.isfinite(v) else v
    if kind == "numpy scalar":
        return np.dtype(dtype).type(v)
    if kind == "0-d array":
        return np.array(v, dtype)
    return v


def draw_out_buffer(data: st.DataObject, name: str, shape: Tuple[int, ...], dtype: Any, errors: Expected) -> Any:
    """Absent, a fresh C-contiguous buffer, or a misaligned one (ValueError naming it)."""
    kind = data.draw(st.sampled_from(["absent", "absent", "fresh", "misaligned"]), label=name)
    if kind == "absent":
        return _ABSENT
    buf = np.full(shape, np.nan, dtype)
    if kind == "misaligned":
        buf = misaligned(buf)
        if not buf.flags.aligned:
            errors.append(Err(ValueError, (name,)))
    return buf


def draw_common(
    data: st.DataObject,
    case: AnyCase,
    args: Dict[str, Any],
    shape: Tuple[int, ...],
    dtype: Any,
    rng: np.random.Generator,
    errors: Expected,
) -> None:
    """return_grad, grad_output, out=, grad_out= and n_threads of a loss call. grad_output may
    be NaN (it propagates), not infinite: inf * 0 (a zero or float32-underflowed gradient term)
    is NaN or inf depending on the order of the products, in torch as in fastloss."""
    reduction = args["reduction"]
    lshape = loss_shape(case, shape, reduction)
    args["return_grad"] = return_grad = data.draw(st.booleans(), label="return_grad")
    if return_grad:
        args["grad_output"] = draw_grad_output(data, lshape, returns_array(reduction), dtype, rng, keep=np.isnan)
        args["grad_out"] = draw_out_buffer(data, "grad_out", shape, dtype, errors)
    args["out"] = draw_out_buffer(data, "out", lshape, dtype, errors)
    args["n_threads"] = data.draw(st.sampled_from(GOOD_THREADS), label="n_threads")


def arg_name(case: AnyCase, role: str) -> Any:
    """How a message may name an argument: its role, or the function's own parameter name
    (sequence_cross_entropy's input and target are 'logits' and 'targets')."""
    if role not in ("input", "target"):
        return role
    own = list(inspect.signature(case.spec.fn).parameters)[0 if role == "input" else 1]
    return role if own == role else re.compile(rf"(?<!\w)({role}|{own})(?!\w)")


def input_arrays(args: Dict[str, Any]) -> Dict[str, np.ndarray]:
    return {k: v for k, v in args.items() if isinstance(v, np.ndarray) and k not in ("out", "grad_out")}


def run_and_check(case: AnyCase, call: Call, errors: Expected, floor_input: Optional[np.ndarray] = None) -> None:
    note(f"expected: {describe(errors)}")
    result = call_expecting(call, errors, call.arrays())
    if result is RAISED:
        return
    inputs = {k: np.array(v, copy=True) for k, v in input_arrays(call.args).items()}
    check_success(case, call, result, floor_input)
    for k, v in inputs.items():  # inputs are read, never written
        assert_same_bits(call.args[k], v, f"{k} after the call")


# --------------------------------------------------------------------- value checks
def elementwise_value_errors(case: AnyCase, x: Any, y: Any) -> Expected:
    """BCE's input and target must lie in [0, 1] (NaN propagates): ValueError naming them."""
    errors: Expected = []
    if getattr(case.spec, "probability_input", False):
        for name, a in (("input", x), ("target", y)):
            a = np.asarray(a, np.float64)
            if np.any((a < 0) | (a > 1)):
                errors.append(Err(ValueError, (arg_name(case, name),), in_kernel=True))
    return errors


def class_target_errors(case: ClassCase, x: Any, y: Any, opts: Dict[str, Any]) -> Expected:
    """Class-index targets: any integer dtype (TypeError naming 'target' otherwise); a counted index
    outside [0, C) is an IndexError (padding masked by lengths and ignore_index never count)."""
    y = np.asarray(y)
    if not case.class_targets:
        return []
    if y.dtype.name not in SUPPORTED_TARGET_DTYPES:
        return [Err(TypeError, (arg_name(case, "target"),))]
    if not isinstance(x, np.ndarray) or x.ndim == 0:
        return []
    C = x.shape[case.spec.class_axis(x.ndim)]
    ii = opts.get("ignore_index", -100)
    if not isinstance(ii, (int, np.integer)) or isinstance(ii, bool) or not -(2**63) <= int(ii) < 2**63:
        ii = None  # a bad ignore_index: its own error, or an IndexError for any out-of-range target
    # Compared by value: a uint64 index beyond int64 is out of range and never ignore_index
    # (its int64 cast could be).
    huge = y > np.iinfo(np.int64).max if y.dtype == np.uint64 else np.zeros(y.shape, bool)
    t = np.where(huge, np.int64(-1), y.astype(np.int64))
    if case.spec.sequence and opts.get("lengths") is not None:
        huge = huge & (ref.mask_lengths(np.zeros(t.shape, np.int64), opts["lengths"], -1) == 0)
        t = ref.mask_lengths(t, opts["lengths"], -100 if ii is None else ii)
        counted = t != (-100 if ii is None else ii)
    else:
        counted = np.ones(t.shape, bool) if ii is None else t != ii
    counted = counted | huge
    if np.any(counted & ((t < 0) | (t >= C))):
        return [Err(IndexError)]
    return []


# ================================================================ 1. elementwise losses
@pytest.mark.parametrize("case", CASES, ids=case_id)
@budget("elementwise")
@given(data=st.data())
def test_elementwise_loss_matches_reference_or_raises(case: Any, data: st.DataObject) -> None:
    """Any shape, dtype, reduction, values (edge, NaN / inf / subnormal, huge offsets), layout
    of each array, grad_output, out= / grad_out=, n_threads, or a bad argument."""
    spec = case.spec
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    shape = data.draw(SHAPES, label="shape")
    reduction = data.draw(st.sampled_from(spec.reductions), label="reduction")
    rng = np.random.default_rng(data.draw(SEEDS, label="seed"))
    if data.draw(st.booleans(), label="hypothesis values"):  # edge values (ties, 0 / 1, extremes)
        x = data.draw(hnp.arrays(dtype, shape, elements=hyp_floats(*spec.input_range, dtype)), label="x")
        y = data.draw(hnp.arrays(dtype, shape, elements=hyp_floats(*spec.target_range, dtype)), label="y")
        opts = spec.variants[case.variant](rng, shape, dtype)
    else:  # the registry's realistic values
        x, y, opts = case.data(shape, dtype, seed=int(rng.integers(2**31)))
    if data.draw(rarely(), label="special values?"):
        # Out of a loss's domain, inf * 0 gives inf or NaN by the arrangement of the formula
        # (torch's or another): BCE-with-logits targets are probabilities it does not check
        # (BCE checks them: a ValueError), and weights are finite (or NaN: it propagates).
        unchecked_probabilities = spec.target_range == (0.0, 1.0) and not spec.probability_input
        x = draw_specials(data, x, "input")
        y = draw_specials(
            data,
            y,
            "target",
            keep=(lambda v: np.isnan(v) or 0.0 <= v <= 1.0) if unchecked_probabilities else lambda v: True,
        )
        opts = {k: draw_specials(data, v, k, keep=lambda v: not np.isinf(v)) for k, v in opts.items()}
    # A huge common offset: mse / l1 depend on input - target only (the floors of the
    # tolerance are those of the un-shifted values); BCE-with-logits is stable for any logit.
    offset = 0.0 if spec.probability_input else data.draw(st.sampled_from(OFFSETS), label="offset")
    shift_both = spec.target_range == spec.input_range  # a regression loss
    floor_input = None
    if offset:
        with np.errstate(all="ignore"):
            x = (x.astype(np.float64) + offset).astype(dtype)
            if shift_both:
                y = (y.astype(np.float64) + offset).astype(dtype)
                floor_input = x.astype(np.float64) - offset
    x, y = draw_layout(data, x, "input"), draw_layout(data, y, "target")
    opts = {k: draw_layout(data, v, k) for k, v in opts.items()}

    args: Dict[str, Any] = {"input": x, "target": y, **opts, "reduction": reduction}
    errors = elementwise_value_errors(case, x, y)
    draw_common(data, case, args, shape, dtype, rng, errors)
    draw_bad_arg(data, case, args, errors)
    run_and_check(case, Call(spec.fn, args), errors, floor_input)


# ================================================================== 2. class losses
def class_shapes(spec: Any) -> st.SearchStrategy:
    C = st.integers(1, 9)
    if spec.sequence:
        return st.tuples(st.integers(0, 4), st.integers(0, 5), C)
    nd = st.tuples(st.integers(0, 5), C, st.lists(st.integers(0, 3), max_size=2)).map(lambda t: (t[0], t[1], *t[2]))
    return st.one_of(C.map(lambda c: (c,)), nd)


#: class indices a target may hold besides valid ones: an IndexError unless ignored / masked
_BAD_INDICES = ("C", "C+7", -1, -7, 2**31 - 1, -(2**31), 2**40)


def draw_class_target(data: st.DataObject, case: ClassCase, y: np.ndarray, C: int, opts: Dict[str, Any]) -> np.ndarray:
    """Class indices: a few out-of-range values, another ignore_index, any integer dtype."""
    y = np.array(y, dtype=np.int64)
    if y.size and data.draw(rarely(), label="out-of-range indices?"):
        for i, v in data.draw(
            st.lists(st.tuples(st.integers(0, y.size - 1), st.sampled_from(_BAD_INDICES)), min_size=1, max_size=2),
            label="bad indices",
        ):
            y.flat[i] = C if v == "C" else C + 7 if v == "C+7" else v
    if data.draw(rarely(), label="other ignore_index?"):
        old = opts.get("ignore_index", -100)
        new = data.draw(
            st.sampled_from([0, C - 1, -1, 2**40, -(2**63), 2**63 - 1, np.int64(C - 1), np.int32(0)]),
            label="ignore_index",
        )
        y = np.where(y == old, np.int64(new), y)  # the ignored targets stay ignored (if the dtype holds new)
        opts["ignore_index"] = new
    tdtype = data.draw(st.sampled_from(INT_DTYPES), label="target dtype")
    return y.astype(tdtype)  # wraps where the dtype is narrower: the expectations read the stored values


@pytest.mark.parametrize("case", CLASS_CASES, ids=case_id)
@budget("class")
@given(data=st.data())
def test_class_loss_matches_reference_or_raises(case: ClassCase, data: st.DataObject) -> None:
    """As the elementwise test, plus every integer target dtype, out-of-range class indices,
    ignore_index, label_smoothing and lengths values."""
    spec = case.spec
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    shape = data.draw(class_shapes(spec), label="shape")
    reduction = data.draw(st.sampled_from(spec.reductions), label="reduction")
    rng = np.random.default_rng(data.draw(SEEDS, label="seed"))
    x, y, opts = case.data(shape, dtype, seed=int(rng.integers(2**31)))
    C = shape[spec.class_axis(len(shape))]
    if case.class_targets:
        y = draw_class_target(data, case, y, C, opts)
    if "label_smoothing" in spec.ctor_options and data.draw(rarely(), label="other label_smoothing?"):
        opts["label_smoothing"] = data.draw(
            st.sampled_from([0.0, 1.0, 0.5, 1, np.float64(0.25), np.float32(0.75)]) | st.floats(0.0, 1.0),
            label="label_smoothing",
        )
    if data.draw(rarely(), label="special values?"):
        x0 = x
        # not +inf: outside the domain of logits and log-probabilities (torch: the row is NaN
        # through inf - inf; the reference: inf); -inf masks a class
        x = draw_specials(data, x, "input", keep=lambda v: v != np.inf)
        if not case.class_targets:  # probabilities: NaN or in [0, 1] (as BCE-with-logits' targets)
            y = draw_specials(data, y, "target", keep=lambda v: np.isnan(v) or 0.0 <= v <= 1.0)
        # class weights: (nonzero) subnormals only, and only with finite logits. Where torch (and fastloss)
        # differ from the reference: it multiplies every class weight by its target mass q
        # (inf * 0 = NaN where q = 0; torch reads weight[target] only), counts a zero weight x
        # NaN logit as 0 (torch: NaN) and gives a zero gradient when sum weight[target] = 0
        # (torch: NaN).
        if "weight" in opts and same_bits(x, np.asarray(x0)):
            opts["weight"] = draw_specials(data, opts["weight"], "weight", keep=lambda v: np.isfinite(v) and v != 0)
    if "lengths" in opts:  # any integer dtype (converted), any layout
        opts["lengths"] = opts["lengths"].astype(
            data.draw(st.sampled_from(["int64", "int32", "int16", "uint8"]), label="lengths dtype")
        )
    x, y = draw_layout(data, x, "input"), draw_layout(data, y, "target")
    opts = {k: draw_layout(data, v, k) if isinstance(v, np.ndarray) else v for k, v in opts.items()}

    args: Dict[str, Any] = {"input": x, "target": y, **opts, "reduction": reduction}
    errors = class_target_errors(case, x, y, opts)
    draw_common(data, case, args, shape, dtype, rng, errors)
    if draw_bad_arg(data, case, args, errors) is not None:
        errors += class_target_errors(case, x, y, {k: v for k, v in args.items() if k in OPTION_KEYS})
    run_and_check(case, Call(spec.fn, args), errors)


# ========================================================= 3. huge common logit offsets
@pytest.mark.parametrize("case", CLASS_CASES, ids=case_id)
@budget("offset")
@given(data=st.data())
def test_huge_common_offset_of_the_logits(case: ClassCase, data: st.DataObject) -> None:
    """logits + c (c up to 1e30, any float32 / float64 row, all-equal rows included) give the
    loss and gradient of the stored logits to the tolerance of the UN-shifted problem: softmax
    is shift invariant (class indices, probabilities, smoothing, weights, (N, C, d) strided and
    (B, T, V) layouts). nll_loss reads log-probabilities: it must simply match its reference."""
    spec = case.spec
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    shape = data.draw(class_shapes(spec), label="shape")
    reduction = data.draw(st.sampled_from(spec.reductions), label="reduction")
    c = data.draw(st.sampled_from([1e12, -1e12, 1e15, 1e30, -1e30, 2.0**60]), label="offset")
    rng = np.random.default_rng(data.draw(SEEDS, label="seed"))
    x, y, opts = case.data(shape, dtype, seed=int(rng.integers(2**31)))
    xs = (x.astype(np.float64) + c).astype(dtype)
    floor_input = None if spec.log_probs else xs.astype(np.float64) - c
    xs = in_layout(
        xs, data.draw(st.sampled_from(["contiguous", "negative", "transposed", "sliced", "misaligned"]), label="layout")
    )
    args: Dict[str, Any] = {"input": xs, "target": y, **opts, "reduction": reduction, "return_grad": True}
    args["grad_output"] = draw_grad_output(
        data, case.loss_shape(shape, reduction), returns_array(reduction), dtype, rng, keep=None
    )
    run_and_check(case, Call(spec.fn, args), [], floor_input)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("c", [1e30, -1e30, 1e12, 3e38])
def test_a_row_of_equal_huge_logits_is_log_C(dtype: Any, c: float) -> None:
    """4 logits all equal to a huge c give log(4) and softmax 1/4, in every layout."""
    row = np.full((1, 4), c, dtype)
    loss, grad = fl.cross_entropy(row, np.array([2]), return_grad=True)
    np.testing.assert_allclose(float(loss), math.log(4), rtol=RTOL[np.dtype(dtype)])
    np.testing.assert_allclose(grad, [[0.25, 0.25, -0.75, 0.25]], rtol=RTOL[np.dtype(dtype)])
    seq = fl.sequence_cross_entropy(row.reshape(1, 1, 4), np.array([[0]]))
    np.testing.assert_allclose(float(seq), math.log(4), rtol=RTOL[np.dtype(dtype)])
    probs = fl.cross_entropy(row, np.full((1, 4), 0.25, dtype), label_smoothing=0.1)
    np.testing.assert_allclose(float(probs), math.log(4), rtol=RTOL[np.dtype(dtype)])
    kdim = fl.cross_entropy(np.full((2, 4, 3), c, dtype), np.zeros((2, 3), np.int64))
    np.testing.assert_allclose(float(kdim), math.log(4), rtol=RTOL[np.dtype(dtype)])


# ======================================================================= 4. aliasing
#: the order in which overlapping roles are written: the later (more constrained) values win
_WRITE_ORDER = ("out", "grad_out", "grad_output", "weight", "pos_weight", "input", "target", "lengths")


def share_memory(a_val: np.ndarray, b_val: np.ndarray, kind: str, shift_elems: int) -> Tuple[np.ndarray, np.ndarray]:
    """Two C-contiguous arrays with ``a_val``'s and ``b_val``'s shapes and dtypes over one buffer:
    "same" (one object), "view" (two objects, identical memory) or, when shapes or dtypes differ
    or kind is "overlap", B starting ``shift_elems`` of its elements into A (overlapping)."""
    if kind in ("same", "view") and a_val.shape == b_val.shape and a_val.dtype == b_val.dtype:
        A = np.empty_like(a_val)
        return A, (A if kind == "same" else A.view())
    b_item = b_val.dtype.itemsize
    shift = 0 if kind != "overlap" else min(shift_elems, max((a_val.nbytes - 1) // b_item, 0)) * b_item
    total = max(a_val.nbytes, shift + b_val.nbytes)
    storage = np.zeros(total // 8 + 1, np.float64).view(np.uint8)  # 8-byte aligned: both views aligned
    A = np.ndarray(a_val.shape, a_val.dtype, buffer=storage, offset=0)
    B = np.ndarray(b_val.shape, b_val.dtype, buffer=storage, offset=shift)
    assert np.shares_memory(A, B)
    return A, B


@pytest.mark.parametrize("case,pair", ALIAS_PARAMS)
@budget("aliasing")
@given(data=st.data())
def test_aliasing_between_any_two_arrays(case: AnyCase, pair: Tuple[str, str], data: st.DataObject) -> None:
    """Inputs may share memory with each other; grad_out may be the input itself (the gradient
    overwrites it, bitwise the ordinary result); any other overlap of an output with an input or
    the other output is a ValueError naming both, raised before anything is written."""
    spec = case.spec
    is_class = isinstance(case, ClassCase)
    a_name, b_name = pair
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    if is_class:
        shape = data.draw(class_shapes(spec).filter(lambda s: all(s)), label="shape")
    else:
        shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4), label="shape")
    # an array grad_output is taken by the reductions that return an array
    reductions = [r for r in spec.reductions if returns_array(r) or "grad_output" not in pair]
    reduction = data.draw(st.sampled_from(reductions), label="reduction")
    rng = np.random.default_rng(data.draw(SEEDS, label="seed"))
    x, y, opts = case.data(shape, dtype, seed=int(rng.integers(2**31)))
    if is_class and case.class_targets:
        y = y.astype(data.draw(st.sampled_from(SUPPORTED_TARGET_DTYPES), label="target dtype"))
    lshape = loss_shape(case, shape, reduction)
    # a 0-d grad_output is read as a number before anything is written (documented): it may
    # share memory with anything, so it is not an aliasing case
    assume(not ("grad_output" in pair and lshape == ()))
    values: Dict[str, np.ndarray] = {
        "input": x,
        "target": y,
        **{k: v for k, v in opts.items() if isinstance(v, np.ndarray)},
    }
    if returns_array(reduction):
        values["grad_output"] = rng.standard_normal(lshape).astype(dtype)
    values["out"] = np.zeros(lshape, dtype)
    values["grad_out"] = np.zeros(shape, dtype)

    kind = data.draw(st.sampled_from(["same", "view", "overlap"]), label="kind")
    A, B = share_memory(values[a_name], values[b_name], kind, data.draw(st.integers(0, 64), label="shift"))
    arrays = {**values, a_name: A, b_name: B}
    for name in sorted((a_name, b_name), key=_WRITE_ORDER.index):
        arrays[name][...] = values[name]
    note(f"{a_name} and {b_name}: {kind}")

    args: Dict[str, Any] = {k: v for k, v in arrays.items() if k not in ("out", "grad_out", "grad_output")}
    args.update({k: v for k, v in opts.items() if not isinstance(v, np.ndarray)}, reduction=reduction)
    uses = {a_name, b_name}
    args["return_grad"] = bool(uses & {"grad_out", "grad_output"}) or data.draw(st.booleans(), label="return_grad")
    if args["return_grad"]:
        if "grad_output" in arrays:
            args["grad_output"] = arrays["grad_output"]
        if "grad_out" in uses or data.draw(st.booleans(), label="pass grad_out"):
            args["grad_out"] = arrays["grad_out"]
    if "out" in uses or data.draw(st.booleans(), label="pass out"):
        args["out"] = arrays["out"]

    call = Call(spec.fn, args)
    opts_now = {k: v for k, v in args.items() if k in OPTION_KEYS}
    errors = elementwise_value_errors(case, args["input"], args["target"])
    if is_class:
        errors += class_target_errors(case, args["input"], args["target"], opts_now)
    exact_alias = (
        uses == {"input", "grad_out"}
        and A.shape == B.shape
        and A.dtype == B.dtype
        and A.strides == B.strides
        and A.ctypes.data == B.ctypes.data
    )
    if uses & set(OUTPUTS) and not exact_alias:
        errors.append(Err(ValueError, (arg_name(case, a_name), arg_name(case, b_name))))
    if exact_alias and not errors:
        # the gradient overwrites the input: compare with the call on copies, made beforehand
        want = call.canonical()()
        x_before = np.array(args["input"], copy=True)
        result = call_expecting(call, [], {})
        check_success(case, Call(spec.fn, {**args, "input": x_before}), result, expected_bits=want)
        return
    if not uses & set(OUTPUTS) and A.dtype != B.dtype:
        # two inputs over the same bytes read as different types (int64 targets as float64
        # weights: subnormal weights, where no two float64 computations agree): nothing to
        # compare, but the call must still end in a result or a documented exception
        call_expecting(call, errors, call.arrays())
        return
    run_and_check(case, call, errors)


# ===================================================================== 5. l2_penalty
@budget("l2_penalty")
@given(data=st.data())
def test_l2_penalty_matches_reference_or_raises(data: st.DataObject) -> None:
    """One array or a list / tuple of arrays (mixed dtypes, any layout, the same array twice),
    any lam: lam * sum w^2 in the params' result dtype and grads 2 lam w in each param's dtype."""
    rng = np.random.default_rng(data.draw(SEEDS, label="seed"))
    single = data.draw(st.booleans(), label="single array")
    n = 1 if single else data.draw(st.integers(0, 3), label="number of arrays")
    params = []
    for i in range(n):
        dtype = data.draw(st.sampled_from(DTYPES), label=f"dtype {i}")
        w = (
            data.draw(st.sampled_from([1.0, 1e-3, 1e3]), label=f"scale {i}")
            * rng.standard_normal(data.draw(SHAPES, label=f"shape {i}"))
        ).astype(dtype)
        if data.draw(rarely(), label=f"special values {i}?"):
            w = draw_specials(data, w, f"param {i}")
        params.append(draw_layout(data, w, f"param {i}"))
    if not single and params and data.draw(rarely(), label="the same array twice?"):
        params.append(params[0])  # both read-only inputs: allowed
    container = data.draw(st.sampled_from([list, tuple]), label="container")
    # (not so tiny that 2 lam rounds to 0 in float32: 0 * an infinite param is NaN, the reference's inf)
    lam = data.draw(
        st.sampled_from([0.0, 0.01, 1.0, -0.5]) | st.floats(-10, 10).filter(lambda v: abs(v) > 1e-30), label="lam"
    )
    return_grad = data.draw(st.booleans(), label="return_grad")
    n_threads = data.draw(st.sampled_from(GOOD_THREADS), label="n_threads")
    errors: Expected = []
    if data.draw(rarely(5), label="bad n_threads?"):
        n_threads, err = data.draw(st.sampled_from(BAD_THREADS), label="bad n_threads")
        errors.append(Err(err, ("n_threads",)))
    arg = params[0] if single else container(params)

    def call(threads: Any = n_threads, p: Any = arg) -> Any:
        return fl.l2_penalty(p, lam, return_grad=return_grad, n_threads=threads)

    result = call_expecting(call, errors, {f"params[{i}]": p for i, p in enumerate(params)})
    if result is RAISED:
        return
    value, grads = result if return_grad else (result, None)
    rdtype = np.result_type(*params) if params else np.dtype(np.float64)
    assert type(value) is rdtype.type, (type(value), rdtype)
    with np.errstate(all="ignore"):
        ref_value, ref_grads = ref.l2_penalty(params, lam)
    close(value, ref_value, rdtype, 0.0, "value")
    if return_grad:
        grads_list = [grads] if single else grads
        assert isinstance(grads_list, list) and len(grads_list) == len(params)
        for i, (g, p, rg) in enumerate(zip(grads_list, params, ref_grads)):
            check_grad_type(g, p.shape, p.dtype)
            close(g, rg, p.dtype, 0.0, f"grad {i}")
    # bitwise the result of contiguous copies on one thread
    want = call(1, plain_copy(arg) if single else container(plain_copy(p) for p in params))
    want_value, want_grads = want if return_grad else (want, None)
    assert_same_bits(np.asarray(value), np.asarray(want_value), "value vs contiguous one-thread call")
    if return_grad:
        for g, w in zip([grads] if single else grads, [want_grads] if single else want_grads):
            assert_same_bits(g, w, "grad vs contiguous one-thread call")


# ============================================================================ 6. SGD
_BAD_BUFFERS = ("shape", "dtype", "read-only", "misaligned", "strided")
#: a bad momentum buffer's error names it ('momentum_buffer' or 'momentum_buffers[i]')
_BUFFER_NAME = re.compile(r"momentum_buffer")
_PARAM_NAME = re.compile(r"\bparams?\b")


def bad_buffer(p: np.ndarray, kind: str) -> np.ndarray:
    """A momentum buffer for ``p`` that is wrong in one way (for a size <= 1 param "strided"
    and "misaligned" may be fine: see buffer_is_bad)."""
    if kind == "shape":
        return np.zeros(p.size + 1, p.dtype)
    if kind == "dtype":
        return np.zeros(p.shape, np.float32 if p.dtype == np.float64 else np.float64)
    if kind == "read-only":
        b = np.zeros(p.shape, p.dtype)
        b.flags.writeable = False
        return b
    if kind == "misaligned":
        return misaligned(np.zeros(p.shape, p.dtype))
    return np.zeros(p.shape + (2,), p.dtype)[..., 0]


def buffer_is_bad(b: np.ndarray, p: np.ndarray) -> bool:
    f = b.flags
    return b.shape != p.shape or b.dtype != p.dtype or not (f.writeable and f.aligned and f.c_contiguous)


@dataclass
class SgdProblem:
    form: str  # "sgd_step" or "SGD"
    hyper: Dict[str, Any]
    lr: float
    params: List[np.ndarray]
    grads: List[List[Any]]  # one list per step
    buffers: Optional[List[Any]]  # sgd_step's momentum_buffers (None: not passed)

    def run(
        self, params: List[np.ndarray], buffers: Optional[List[Any]], n_threads: Any, check: bool = False
    ) -> Optional[List[Any]]:
        """Run every step (in place); with ``check``, compare the params with the float64
        reference after each one. Returns the momentum buffers."""
        opt = fl.SGD(params, lr=self.lr, n_threads=n_threads, **self.hyper) if self.form == "SGD" else None
        want = [p.astype(np.float64) for p in params]
        # float64 copies: fastloss updates the given buffers in place
        want_bufs = None if buffers is None else [None if b is None else np.array(b, np.float64) for b in buffers]
        scale = max([float(np.max(np.abs(p), initial=0.0)) for p in want] + [1.0])
        for step, g in enumerate(self.grads):
            if opt is not None:
                opt.step(g)
            else:
                buffers = fl.sgd_step(params, g, self.lr, buffers, n_threads=n_threads, **self.hyper)
            if check:
                with np.errstate(all="ignore"):
                    want, want_bufs = ref.sgd_step(want, g, self.lr, want_bufs, **self.hyper)
                for i, (p, w) in enumerate(zip(params, want)):
                    assert_close(p, w, p.dtype, rtol=SGD_RTOL[p.dtype], floor=scale, what=f"step {step} params[{i}]")
        return opt.momentum_buffers if opt is not None else buffers


def draw_sgd_trouble(data: st.DataObject, pb: SgdProblem) -> Tuple[str, Expected]:
    """Once in a while one bad momentum buffer, a misaligned param or two overlapping arrays:
    a ValueError (naming them) before ANY param, grad or buffer is written."""
    n = len(pb.params)
    momentum = pb.hyper["momentum"] != 0
    trouble = data.draw(st.sampled_from(["none"] * 4 + ["bad buffer", "misaligned param", "alias"]), label="trouble")
    if trouble == "bad buffer" and pb.form == "sgd_step" and momentum:
        i = data.draw(st.integers(0, n - 1), label="bad buffer index")
        pb.buffers = pb.buffers or [None] * n
        pb.buffers[i] = bad_buffer(pb.params[i], data.draw(st.sampled_from(_BAD_BUFFERS), label="bad buffer kind"))
        return trouble, [Err(ValueError, (_BUFFER_NAME,))] if buffer_is_bad(pb.buffers[i], pb.params[i]) else []
    if trouble == "misaligned param" and any(p.size for p in pb.params):
        i = next(i for i, p in enumerate(pb.params) if p.size)
        pb.params[i] = misaligned(pb.params[i])  # updated in place, like out=: no silent copy possible
        return trouble, [Err(ValueError, (_PARAM_NAME,))]
    if trouble == "alias":
        lists = {"params": pb.params, "grads": pb.grads[0], "momentum_buffers": pb.buffers if momentum else None}
        roles = {
            f"{k}[{i}]": (k, i)
            for k, arrays in lists.items()
            for i, a in enumerate(arrays or [])
            if isinstance(a, np.ndarray) and a.size
        }
        pairs = list(itertools.combinations(roles, 2))
        if not pairs:
            return "none", []
        a_name, b_name = data.draw(st.sampled_from(pairs), label="aliased pair")
        kind = data.draw(st.sampled_from(["same", "view", "overlap"]), label="kind")
        (ka, ia), (kb, ib) = roles[a_name], roles[b_name]
        A, B = share_memory(lists[ka][ia], lists[kb][ib], kind, data.draw(st.integers(0, 16), label="shift"))
        A[...] = lists[ka][ia]
        B[...] = lists[kb][ib]
        lists[ka][ia], lists[kb][ib] = A, B  # type: ignore[index]
        note(f"{a_name} and {b_name}: {kind}")
        if ka == kb == "grads":
            return trouble, []  # two inputs may share memory
        return trouble, [Err(ValueError, (a_name, b_name))]
    return "none", []


@budget("sgd")
@given(data=st.data())
def test_sgd_matches_reference_or_raises(data: st.DataObject) -> None:
    """sgd_step / SGD over 1-3 params of mixed dtypes and shapes for 1-3 steps, any valid
    hyper-parameters, grads in any layout (lists too), momentum buffers given or not."""
    rng = np.random.default_rng(data.draw(SEEDS, label="seed"))
    n = data.draw(st.integers(1, 3), label="number of params")
    shapes = [
        data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), label=f"shape {i}")
        for i in range(n)
    ]
    dtypes = [data.draw(st.sampled_from(DTYPES), label=f"dtype {i}") for i in range(n)]
    steps = data.draw(st.integers(1, 3), label="steps")
    pb = SgdProblem(
        form=data.draw(st.sampled_from(["sgd_step", "SGD"]), label="form"),
        hyper=dict(data.draw(st.sampled_from(COMBOS), label="hyper")),
        lr=data.draw(st.sampled_from([0.0, 0.05, 0.5]), label="lr"),
        params=[rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)],
        grads=[[rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)] for _ in range(steps)],
        buffers=None,
    )
    if data.draw(rarely(), label="special values?"):
        pb.grads[0] = [draw_specials(data, g, f"grads[{i}]") for i, g in enumerate(pb.grads[0])]
    if pb.form == "sgd_step" and data.draw(st.booleans(), label="buffers given"):
        pb.buffers = [
            rng.standard_normal(s).astype(d) if data.draw(st.booleans(), label=f"buffer {i}") else None
            for i, (s, d) in enumerate(zip(shapes, dtypes))
        ]
    trouble, errors = draw_sgd_trouble(data, pb)
    for step in range(1 if trouble == "alias" else 0, steps):  # grads in any layout, or lists (not aliased ones)
        pb.grads[step] = [
            g.tolist() if g.size and data.draw(rarely(6), label="list grad") else draw_layout(data, g, "grad")
            for g in pb.grads[step]
        ]
    threads = data.draw(st.sampled_from(GOOD_THREADS), label="n_threads")
    p0 = [np.array(p, copy=True) for p in pb.params]
    b0 = None if pb.buffers is None else [None if b is None else np.array(b, copy=True) for b in pb.buffers]
    watched = {f"params[{i}]": p for i, p in enumerate(pb.params)}
    watched.update({f"grads[{i}]": g for i, g in enumerate(pb.grads[0]) if isinstance(g, np.ndarray)})
    watched.update({f"momentum_buffers[{i}]": b for i, b in enumerate(pb.buffers or []) if b is not None})
    note(f"trouble: {trouble}; expected: {describe(errors)}")

    buffers = call_expecting(lambda: pb.run(pb.params, pb.buffers, threads, check=True), errors, watched)
    if buffers is RAISED:
        return
    # bitwise the run on copies with one thread
    params1 = [np.array(p, copy=True) for p in p0]
    buffers1 = pb.run(params1, None if b0 is None else list(b0), 1)
    for i, (p, q) in enumerate(zip(pb.params, params1)):
        assert_same_bits(p, q, f"params[{i}] vs the one-thread run")
    for i, (b, c) in enumerate(zip(buffers or [], buffers1 or [])):
        if b is not None:
            assert_same_bits(b, c, f"momentum_buffers[{i}] vs the one-thread run")


@pytest.mark.parametrize(
    "hyper", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}], ids=["plain", "momentum", "nesterov"]
)
@pytest.mark.parametrize("form", ["sgd_step", "SGD"])
def test_sgd_infinite_params_stay_infinite_without_weight_decay(form: str, hyper: Dict[str, Any]) -> None:
    """A case the property test may draw, pinned: torch adds weight_decay * p only when
    weight_decay != 0, so an infinite param stays infinite (0 * inf would make it NaN)."""
    p = np.array([-np.inf, 1.0, np.inf, np.nan])
    g = np.array([1.0, 1.0, -1.0, 1.0])
    want, _ = ref.sgd_step([p.copy()], [g], 0.5, **hyper)
    if form == "SGD":
        fl.SGD([p], lr=0.5, **hyper).step([g])
    else:
        fl.sgd_step([p], [g], 0.5, **hyper)
    np.testing.assert_array_equal(p, want[0])


# ================================================================= 7. argument rules
RULE_CASES = [*PLAIN_AND_RICH, *CLASS_PLAIN_CASES]


def small_args(case: AnyCase) -> Dict[str, Any]:
    """Valid input, target and options of a small problem."""
    x, y, opts = case.data((2, 3, 4) if getattr(case.spec, "sequence", False) else (4, 3), np.float64, seed=7)
    return {"input": x, "target": y, **opts}


_RULES = [pytest.param(c, b, id=f"{c.id}-{b.name}={b.value!r}") for c in RULE_CASES for b in bad_args(c, True)]


@pytest.mark.parametrize("case,bad", _RULES)
def test_bad_argument_raises_its_documented_error(case: AnyCase, bad: BadArg) -> None:
    """Each rule once for every registry entry (the property tests draw them at random)."""
    args = small_args(case)
    args.update(reduction="none", return_grad=True)
    args[bad.name] = bad.value
    call_expecting(
        Call(case.spec.fn, args), [Err(bad.error, (arg_name(case, bad.name),))], Call(case.spec.fn, args).arrays()
    )


@pytest.mark.parametrize("n_threads", [2**31, 2**40, 2**63, 2**100, np.int64(2**40)], ids=repr)
@pytest.mark.parametrize("case", RULE_CASES, ids=case_id)
def test_any_large_n_threads_is_bitwise_one_thread(case: AnyCase, n_threads: Any) -> None:
    args = small_args(case)
    args.update(reduction="sum", return_grad=True)
    want = Call(case.spec.fn, {**args, "n_threads": 1})()
    got = Call(case.spec.fn, {**args, "n_threads": n_threads})()
    assert_same_bits(got[0], want[0], "loss")
    assert_same_bits(got[1], want[1], "grad")


@pytest.mark.parametrize(
    "n_threads,error", [(2**40, None), *BAD_THREADS], ids=lambda v: v.__name__ if isinstance(v, type) else repr(v)
)
def test_n_threads_rules_for_l2_penalty_and_sgd(n_threads: Any, error: Optional[type]) -> None:
    errors: Expected = [] if error is None else [Err(error, ("n_threads",))]
    p = np.arange(5.0)
    g = np.ones(5)
    for fn in (
        lambda: fl.l2_penalty([p], 0.1, return_grad=True, n_threads=n_threads),
        lambda: fl.sgd_step([p], [g], 0.1, n_threads=n_threads),
        lambda: fl.SGD([p], lr=0.1, n_threads=n_threads).step([g]),
    ):
        call_expecting(fn, errors, {} if error is None else {"params[0]": p})


@pytest.mark.parametrize("kind", _BAD_BUFFERS)
@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_bad_momentum_buffer_for_any_param_updates_no_param(kind: str, position: int) -> None:
    params = [np.arange(3.0), np.arange(4.0).reshape(2, 2), np.arange(2.0)]
    grads = [np.ones_like(p) for p in params]
    buffers: List[Any] = [np.zeros_like(p) for p in params]
    buffers[position] = bad_buffer(params[position], kind)
    before = [p.copy() for p in params]
    with pytest.raises(ValueError, match="momentum_buffer"):
        fl.sgd_step(params, grads, 0.1, buffers, momentum=0.9)
    for i, (p, b) in enumerate(zip(params, before)):
        assert_same_bits(p, b, f"params[{i}] updated before the error")


def test_the_long_profile_runs_at_least_100k_examples() -> None:
    assert DEFAULT_TOTAL * _LONG_SCALE >= LONG_TOTAL
    assert DEFAULT_TOTAL <= 6000, "keep the default run short"
