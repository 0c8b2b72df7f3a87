"""Every bad input of the contract raises its exception type, with a message that
names the argument and what was given."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Iterator

import fastloss as fl
import numpy as np
import pytest
from registry import (
    PLAIN_CASES,
    REDUCTIONS,
    SPEC_BY_NAME,
    SPECS,
    Case,
    case_id,
    shape_regex,
)

SHAPE = (4, 3)
plain_cases = pytest.mark.parametrize("case", PLAIN_CASES, ids=case_id)
reductions = pytest.mark.parametrize("reduction", REDUCTIONS)
OPTION_CASES = [(Case(s, "plain"), o) for s in SPECS for o in s.option_names]


@contextmanager
def raises(exc: type, *patterns: str) -> Iterator[None]:
    """pytest.raises(exc) whose message must match every regex in ``patterns`` (case-insensitive)."""
    with pytest.raises(exc) as info:
        yield
    msg = str(info.value)
    for p in patterns:
        assert re.search(p, msg, re.IGNORECASE), f"message {msg!r} does not match {p!r}"


_NUMBER = re.compile(r"[-+]?(?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)", re.IGNORECASE)


def mentions_value(msg: str, value: float, rtol: float = 1e-6) -> bool:
    """Whether ``msg`` prints a number equal to ``value`` (to ``rtol``), whatever the format."""
    for tok in _NUMBER.findall(msg):
        v = float(tok)
        if v == value or (np.isfinite(value) and abs(v - value) <= rtol * abs(value)):
            return True
    return False


def _data(case: Case, dtype: Any = np.float64, shape: tuple = SHAPE) -> tuple:
    x, y, _ = case.data(shape, dtype, seed=100)
    return x, y


OUT = r"\bout\b"  # 'out' as a word: not part of 'grad_out' or 'grad_output'


# -------------------------------------------------------------------------- reduction
@pytest.mark.parametrize("bad", ["avg", "MEAN", "batchmean", "", None, 1])
@plain_cases
def test_bad_reduction(case: Case, bad: Any) -> None:
    if bad in case.spec.reductions:  # "batchmean" is kl_div's
        pytest.skip(f"{bad!r} is one of {case.spec.name}'s reductions")
    x, y = _data(case)
    allowed = [rf"\b{r}\b" for r in case.spec.reductions]
    with raises(ValueError, "reduction", re.escape(repr(bad).strip("'")) if bad != "" else "", *allowed):
        case.call(x, y, {}, reduction=bad)
    with raises(ValueError, "reduction"):
        case.call(x, y, {}, reduction=bad, return_grad=True)


@plain_cases
def test_bad_reduction_in_module_class(case: Case) -> None:
    x, y = _data(case)
    with raises(ValueError, "reduction", "avg"):
        case.spec.cls(reduction="avg")(x, y)


# ------------------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("bad_dtype", ["int64", "int32", "uint8", "bool", "complex128", "float16"])
@plain_cases
def test_non_float_input_is_type_error(case: Case, bad_dtype: str) -> None:
    x, y = _data(case)
    xb = np.clip(np.round(x), 0, 1).astype(bad_dtype)  # values valid for every loss
    with raises(TypeError, bad_dtype):
        case.call(xb, y.astype(np.float64), {}, reduction="mean")
    with raises(TypeError, bad_dtype):
        case.call(xb, y, {}, reduction="none", return_grad=True)


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")], ids=str)
@plain_cases
def test_mixed_float_dtypes_is_type_error(case: Case, dtypes: tuple) -> None:
    in_dt, tgt_dt = dtypes
    x, y = _data(case, in_dt)
    with raises(TypeError, in_dt, tgt_dt, "astype"):
        case.call(x, y.astype(tgt_dt), {}, reduction="mean")
    with raises(TypeError, in_dt, tgt_dt, "astype"):
        case.call(x, y.astype(tgt_dt), {}, reduction="none", return_grad=True)


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")], ids=str)
@pytest.mark.parametrize("case,option", OPTION_CASES, ids=str)
def test_option_of_other_float_dtype_is_type_error(case: Case, option: str, dtypes: tuple) -> None:
    in_dt, opt_dt = dtypes
    x, y = _data(case, in_dt)
    with raises(TypeError, rf"\b{option}\b", opt_dt):
        case.call(x, y, {option: np.ones(SHAPE[-1:], opt_dt)}, reduction="mean")


# ------------------------------------------------------------------------------ shapes
_SHAPE_PAIRS = [
    ((4, 3), (3, 4)),
    ((4, 3), (12,)),
    ((12,), (4, 3)),
    ((4, 3), (4, 1)),  # torch broadcasts (with a warning): fastloss refuses
    ((4, 3), (1, 4, 3)),
    ((4, 3), (3,)),
    ((1,), ()),
    ((), (1,)),
    ((4, 3), (4, 3, 1)),
    ((0, 3), (3,)),
]


@pytest.mark.parametrize("shapes", _SHAPE_PAIRS, ids=str)
@plain_cases
def test_shape_mismatch_is_value_error(case: Case, shapes: tuple) -> None:
    in_shape, tgt_shape = shapes
    x, _ = _data(case, shape=in_shape)
    _, y = _data(case, shape=tgt_shape)
    with raises(ValueError, shape_regex(in_shape), shape_regex(tgt_shape)):
        case.call(x, y, {}, reduction="mean")
    with raises(ValueError, shape_regex(in_shape), shape_regex(tgt_shape)):
        case.call(x, y, {}, reduction="none", return_grad=True)


@pytest.mark.parametrize("oshape", [(4,), (2, 3), (5, 1), (2, 4, 3), (1, 4, 3), (4, 3, 1)], ids=str)
@pytest.mark.parametrize("case,option", OPTION_CASES, ids=str)
def test_non_broadcastable_option_is_value_error(case: Case, option: str, oshape: tuple) -> None:
    x, y = _data(case)
    with raises(ValueError, rf"\b{option}\b", shape_regex(oshape)):
        case.call(x, y, {option: np.ones(oshape)}, reduction="mean")
    with raises(ValueError, rf"\b{option}\b"):
        case.call(x, y, {option: np.ones(oshape)}, reduction="none", return_grad=True)


@pytest.mark.parametrize(
    "case",
    [
        Case(SPEC_BY_NAME["binary_cross_entropy"], "plain"),
        Case(SPEC_BY_NAME["binary_cross_entropy_with_logits"], "plain"),
    ],
    ids=case_id,
)
def test_non_broadcastable_option_in_module_class(case: Case) -> None:
    x, y = _data(case)
    with raises(ValueError, r"\bweight\b"):
        case.spec.cls(weight=np.ones((4,)))(x, y)


# -------------------------------------------------------------------- out= / grad_out=
def _bad_buffers(shape: tuple, dtype: str) -> list:
    """(id, buffer, regexes the message must match) for a buffer that should be `shape`/`dtype`."""
    other = "float32" if dtype == "float64" else "float64"
    bad = []
    for s in [(1,), (3, 4), (12,), (4, 3, 1), (2,)] if shape else [(1,), (4, 3), (1, 1)]:
        if s != shape:
            bad.append((f"shape{s}", np.empty(s, dtype), [shape_regex(s)]))
    bad.append(("dtype", np.empty(shape, other), [other]))
    bad.append(("int-dtype", np.empty(shape, np.int64), ["int64"]))
    if shape:
        bad.append(("strided", np.empty(shape[:-1] + (2 * shape[-1],), dtype)[..., ::2], ["contiguous"]))
        bad.append(("fortran", np.empty(shape, dtype, order="F"), ["contiguous"]))
    ro = np.empty(shape, dtype)
    ro.flags.writeable = False
    bad.append(("read-only", ro, [r"writ|read.?only"]))
    bad.append(("list", np.zeros(shape).tolist(), []))
    return bad


_OUT_CASES = [
    (r, dt, bid, buf, pats)
    for r in REDUCTIONS
    for dt in ("float32", "float64")
    for bid, buf, pats in _bad_buffers(SHAPE if r == "none" else (), dt)
]


@pytest.mark.parametrize(
    "reduction,dtype,bid,buf,pats", _OUT_CASES, ids=[f"{r}-{dt}-{b}" for r, dt, b, _, _ in _OUT_CASES]
)
@plain_cases
def test_bad_out_is_value_error(case: Case, reduction: str, dtype: str, bid: str, buf: Any, pats: list) -> None:
    x, y = _data(case, dtype)
    with raises(ValueError, OUT, *pats):
        case.call(x, y, {}, reduction=reduction, out=buf)
    with raises(ValueError, OUT, *pats):
        case.call(x, y, {}, reduction=reduction, out=buf, return_grad=True)


_GRAD_OUT_CASES = [(dt, bid, buf, pats) for dt in ("float32", "float64") for bid, buf, pats in _bad_buffers(SHAPE, dt)]


@pytest.mark.parametrize("dtype,bid,buf,pats", _GRAD_OUT_CASES, ids=[f"{dt}-{b}" for dt, b, _, _ in _GRAD_OUT_CASES])
@reductions
@plain_cases
def test_bad_grad_out_is_value_error(case: Case, reduction: str, dtype: str, bid: str, buf: Any, pats: list) -> None:
    x, y = _data(case, dtype)
    with raises(ValueError, r"\bgrad_out\b", *pats):
        case.call(x, y, {}, reduction=reduction, return_grad=True, grad_out=buf)


@reductions
@plain_cases
def test_grad_out_without_return_grad_is_value_error(case: Case, reduction: str) -> None:
    x, y = _data(case)
    with raises(ValueError, r"\bgrad_out\b"):
        case.call(x, y, {}, reduction=reduction, grad_out=np.empty(SHAPE))


# ------------------------------------------------------------------------ grad_output
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("go_shape", [(1,), (3,), (4, 3)], ids=str)
@plain_cases
def test_non_scalar_grad_output_for_reduced_loss(case: Case, reduction: str, go_shape: tuple) -> None:
    x, y = _data(case)
    with raises(ValueError, "grad_output", shape_regex(go_shape)):
        case.call(x, y, {}, reduction=reduction, return_grad=True, grad_output=np.ones(go_shape))


@pytest.mark.parametrize("go_shape", [(3,), (4, 1), (1, 3), (3, 4), (1, 4, 3), (12,)], ids=str)
@plain_cases
def test_grad_output_of_wrong_shape_for_none(case: Case, go_shape: tuple) -> None:
    x, y = _data(case)
    with raises(ValueError, "grad_output", shape_regex(go_shape)):
        case.call(x, y, {}, reduction="none", return_grad=True, grad_output=np.ones(go_shape))


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")], ids=str)
@plain_cases
def test_grad_output_array_of_other_dtype(case: Case, dtypes: tuple) -> None:
    in_dt, go_dt = dtypes
    x, y = _data(case, in_dt)
    with raises(ValueError, "grad_output", go_dt):
        case.call(x, y, {}, reduction="none", return_grad=True, grad_output=np.ones(SHAPE, go_dt))


# ------------------------------------------------------------------- BCE value range
_BCE = Case(SPEC_BY_NAME["binary_cross_entropy"], "plain")


@pytest.mark.parametrize("bad", [1.5, -0.1, -1e-30, 1.0 + 1e-6, np.inf, -np.inf], ids=repr)
@pytest.mark.parametrize("which", ["input", "target"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_value_outside_unit_interval(dtype: str, which: str, bad: float) -> None:
    x, y = _data(_BCE, dtype)
    (x if which == "input" else y)[2, 1] = bad
    stored = float((x if which == "input" else y)[2, 1])  # bad, rounded to dtype
    for reduction in REDUCTIONS:
        with raises(ValueError, rf"\b{which}\b"):
            fl.binary_cross_entropy(x, y, reduction=reduction)
    with pytest.raises(ValueError) as info:
        fl.binary_cross_entropy(x, y)
    assert mentions_value(str(info.value), stored) or mentions_value(str(info.value), bad), str(info.value)
    for reduction in REDUCTIONS:
        with raises(ValueError, rf"\b{which}\b"):
            fl.binary_cross_entropy(x, y, reduction=reduction, return_grad=True)
    with raises(ValueError, rf"\b{which}\b"):
        fl.BCELoss()(x, y)


@pytest.mark.parametrize("position", [0, 500_000, 999_999], ids=lambda p: f"at{p}")
@pytest.mark.parametrize("which", ["input", "target"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_bce_value_outside_unit_interval_in_large_strided_array(which: str, position: int, n_threads: int) -> None:
    # detected inside the (parallel) kernel: the error must still surface as ValueError
    rng = np.random.default_rng(101)
    x = rng.uniform(0.1, 0.9, 2 * 10**6)[::2]
    y = rng.uniform(0.0, 1.0, 10**6)
    (x if which == "input" else y)[position] = 1.25
    # README: the message names the value and its index
    with raises(ValueError, rf"\b{which}\b", r"1\.25", rf"\b{position}\b"):
        fl.binary_cross_entropy(x, y, n_threads=n_threads, return_grad=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_accepts_the_closed_unit_interval(dtype: str) -> None:
    x = np.array([0.0, -0.0, 1.0, 0.5], dtype)
    y = np.array([-0.0, 0.0, 1.0, 1.0], dtype)
    loss, grad = fl.binary_cross_entropy(x, y, reduction="none", return_grad=True)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))


# ---------------------------------------------------------------------- n_threads
# Not an int -> TypeError, an int below 1 -> ValueError, both naming n_threads; any positive
# int, however large, is clamped to the usable CPUs (it used to start that many OS threads).
@pytest.mark.parametrize(
    "bad, error",
    [(0, ValueError), (-1, ValueError), (1.5, TypeError), (2.0, TypeError), ("2", TypeError), (True, TypeError)],
    ids=repr,
)
@plain_cases
def test_bad_n_threads(case: Case, bad: Any, error: Any) -> None:
    x, y = _data(case)
    with raises(error, "n_threads", re.escape(str(bad))):
        case.call(x, y, {}, n_threads=bad)
    with raises(error, "n_threads"):
        case.call(x, y, {}, reduction="none", return_grad=True, n_threads=bad)


@pytest.mark.parametrize("good", [1, 2, 7, np.int64(2), 10**6, 2**31, 2**40, 2**80], ids=repr)
@plain_cases
def test_good_n_threads_is_accepted(case: Case, good: Any) -> None:
    x, y = _data(case)
    # (an array for the losses whose default reduction is "none": sigmoid_focal_loss)
    assert np.array_equal(np.asarray(case.call(x, y, {}, n_threads=good)), np.asarray(case.call(x, y, {})))


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss"])
def test_bad_n_threads_in_module_class(name: str) -> None:
    x, y = _data(Case(SPEC_BY_NAME["mse_loss"], "plain"))
    with raises(ValueError, "n_threads"):
        getattr(fl, name)(n_threads=0)(x, y)
