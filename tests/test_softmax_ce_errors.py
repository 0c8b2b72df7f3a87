"""Every bad input of the cross-entropy family raises the contract's exception type with a
message naming the argument and what was given (test_errors.py's conventions and helpers)."""

from __future__ import annotations

import re
from typing import Any, Dict, Tuple

import fastloss as fl
import numpy as np
import pytest
from registry import (
    CLASS_PLAIN_CASES,
    CLASS_SPEC_BY_NAME,
    ClassCase,
    case_id,
    shape_regex,
)
from test_errors import OUT, _bad_buffers, mentions_value, raises

CE = CLASS_SPEC_BY_NAME["cross_entropy"]
NLL = CLASS_SPEC_BY_NAME["nll_loss"]
SEQ = CLASS_SPEC_BY_NAME["sequence_cross_entropy"]

plain_cases = pytest.mark.parametrize("case", CLASS_PLAIN_CASES, ids=case_id)
#: input shapes whose "none" loss / grad shapes differ from every bad buffer shape of _bad_buffers
SHAPE = {"cross_entropy": (4, 3), "nll_loss": (4, 3), "sequence_cross_entropy": (2, 4, 3)}


def _data(case: ClassCase, dtype: Any = np.float64, shape: Any = None) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    return case.data(SHAPE[case.spec.name] if shape is None else shape, dtype, seed=100)


# ------------------------------------------------------------------ class indices
_BAD_INDEX = [
    # (case, input shape, flat position, bad value, position as printed)
    (ClassCase(CE, "plain"), (6, 5), 3, 5, (3,)),
    (ClassCase(CE, "plain"), (6, 5), 0, 7, (0,)),
    (ClassCase(CE, "plain"), (6, 5), 5, -1, (5,)),
    (ClassCase(CE, "plain"), (6, 5), 2, -101, (2,)),
    (ClassCase(CE, "plain"), (6, 5), 4, 2**40, (4,)),
    (ClassCase(CE, "plain"), (2, 5, 3, 4), 17, 9, (1, 1, 1)),
    (ClassCase(CE, "plain"), (5,), 0, 5, ()),
    (ClassCase(NLL, "plain"), (6, 5), 3, 5, (3,)),
    (ClassCase(NLL, "plain"), (2, 5, 3), 4, -3, (1, 1)),
    (ClassCase(SEQ, "plain"), (3, 4, 5), 6, 5, (1, 2)),
    (ClassCase(SEQ, "plain"), (3, 4, 5), 11, -2, (2, 3)),
]


@pytest.mark.parametrize(
    "case,shape,flat,bad,pos,tdtype",
    [
        pytest.param(c, s, f, b, p, t, id=f"{c.id}-{s}-{b}@{p}-{t}")
        for c, s, f, b, p in _BAD_INDEX
        for t in ("int64", "int32")
        if t == "int64" or -(2**31) <= b < 2**31
    ],
)
def test_class_index_out_of_range_is_index_error(
    case: ClassCase, shape: tuple, flat: int, bad: int, pos: tuple, tdtype: str
) -> None:
    x, y, _ = case.data(shape, np.float64, seed=101)
    y = y.astype(tdtype)
    y.flat[flat] = bad
    position = re.escape(str(pos)) if len(pos) != 1 else rf"\(\s*{pos[0]}\s*,?\s*\)"
    for reduction in case.spec.reductions:
        with raises(IndexError, rf"(?<![\d.]){bad}(?![\d.])", position, r"\btarget\b"):
            case.call(x, y, {}, reduction=reduction)
    with raises(IndexError, rf"(?<![\d.]){bad}(?![\d.])", position):
        case.call(x, y, {}, return_grad=True, reduction="none")
    with raises(IndexError, rf"(?<![\d.]){bad}(?![\d.])"):
        case.spec.cls()(x, y)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("where", [0, 300_000, 399_999], ids=lambda p: f"at{p}")
@pytest.mark.parametrize("name", ["cross_entropy", "sequence_cross_entropy"])
def test_class_index_out_of_range_in_a_large_batch(name: str, where: int, n_threads: int) -> None:
    """The first bad index is reported, wherever it is and whatever the thread count."""
    rng = np.random.default_rng(102)
    x = rng.standard_normal((400_000, 4)).astype(np.float32)
    y = rng.integers(0, 4, 400_000)
    y[where] = 4
    y[-1] = 17  # a later bad value: the first one is named
    if name == "sequence_cross_entropy":
        pos = rf"\(\s*{where // 1000}\s*,\s*{where % 1000}\s*\)"
        with raises(IndexError, r"(?<![\d.])4(?![\d.])", pos):
            fl.sequence_cross_entropy(
                x.reshape(400, 1000, 4), y.reshape(400, 1000), return_grad=True, n_threads=n_threads
            )
    else:
        with raises(IndexError, r"(?<![\d.])4(?![\d.])", rf"\(\s*{where}\s*,?\s*\)"):
            fl.cross_entropy(x, y, return_grad=True, n_threads=n_threads)


def test_minus_100_is_out_of_range_when_ignore_index_is_another_value() -> None:
    x, y, _ = ClassCase(CE, "plain").data((6, 5), np.float64, seed=103)
    y[2] = -100
    fl.cross_entropy(x, y)  # ignored by default
    with raises(IndexError, "-100"):
        fl.cross_entropy(x, y, ignore_index=1)
    with raises(IndexError, "-100"):
        fl.nll_loss(x, y, ignore_index=-1)
    with raises(IndexError, "-100"):
        fl.CrossEntropyLoss(ignore_index=3)(x, y)


def test_the_ignore_index_itself_may_be_any_integer() -> None:
    x, y, _ = ClassCase(CE, "plain").data((6, 5), np.float64, seed=104)
    y[1] = 12345
    y[3] = 12345
    want = fl.cross_entropy(np.delete(x, [1, 3], axis=0), np.delete(y, [1, 3]))
    assert fl.cross_entropy(x, y, ignore_index=12345) == pytest.approx(float(want), rel=1e-15)


@pytest.mark.parametrize("bad_length_value", [9, -1, 10**6])
def test_padding_is_not_validated_but_counted_steps_are(bad_length_value: int) -> None:
    x, y, _ = ClassCase(SEQ, "plain").data((3, 4, 5), np.float64, seed=105)
    lengths = np.array([4, 2, 0])
    y[1, 2:] = bad_length_value
    y[2, :] = bad_length_value
    loss = fl.sequence_cross_entropy(x, y, lengths=lengths, reduction="sequence")
    assert loss[2] == 0 and np.all(np.isfinite(loss))
    with raises(IndexError, re.escape(str(bad_length_value)), r"\(\s*1\s*,\s*2\s*\)"):
        fl.sequence_cross_entropy(x, y, lengths=np.array([4, 3, 0]))


# ------------------------------------------------------------------ target dtypes
@pytest.mark.parametrize("bad_dtype", ["bool", "float16", "complex128", ">i8"])
@plain_cases
def test_target_of_another_dtype_is_type_error(case: ClassCase, bad_dtype: str) -> None:
    x, y, _ = _data(case)
    yb = np.clip(y, 0, 1).astype(bad_dtype)
    for dtype in ("float32", "float64"):
        with raises(TypeError, r"\btarget\b", bad_dtype):
            case.call(x.astype(dtype), yb, {})
        with raises(TypeError, bad_dtype):
            case.call(x.astype(dtype), yb, {}, reduction="none", return_grad=True)


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")], ids=str)
def test_probability_target_of_the_other_float_dtype_is_type_error(dtypes: tuple) -> None:
    in_dt, tgt_dt = dtypes
    x, y, _ = ClassCase(CE, "probs").data((4, 3), in_dt, seed=106)
    with raises(TypeError, in_dt, tgt_dt, "astype"):
        fl.cross_entropy(x, y.astype(tgt_dt))
    with raises(TypeError, in_dt, tgt_dt):
        fl.cross_entropy(x, y.astype(tgt_dt), reduction="none", return_grad=True)


@pytest.mark.parametrize("name", ["nll_loss", "sequence_cross_entropy"])
def test_float_target_where_only_class_indices_are_allowed(name: str) -> None:
    case = ClassCase(CLASS_SPEC_BY_NAME[name], "plain")
    x, y, _ = _data(case)
    for tgt in (np.full(x.shape, 1.0 / x.shape[-1]), y.astype(np.float64)):
        with raises(TypeError, r"\btarget\b", "float64", "integer"):
            case.call(x, tgt, {})


@pytest.mark.parametrize("bad_dtype", ["int64", "int32", "uint8", "bool", "complex64", "complex128"])
@plain_cases
def test_non_float_logits_is_type_error(case: ClassCase, bad_dtype: str) -> None:
    x, y, _ = _data(case)
    with raises(TypeError, r"\b(input|logits)\b", bad_dtype):
        case.call(np.ones(x.shape, bad_dtype), y, {})


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32"), ("float64", "int64")], ids=str)
@plain_cases
def test_weight_of_another_dtype_is_type_error(case: ClassCase, dtypes: tuple) -> None:
    in_dt, w_dt = dtypes
    x, y, _ = _data(case, in_dt)
    with raises(TypeError, r"\bweight\b", w_dt):
        case.call(x, y, {"weight": np.ones(x.shape[case.spec.class_axis(x.ndim)], w_dt)})


# ------------------------------------------------------------------ shapes
_TARGET_SHAPES = [
    # (loss, input shape, target shape)
    ("cross_entropy", (4, 3), (3,)),
    ("cross_entropy", (4, 3), (4, 1)),
    ("cross_entropy", (4, 3), (1, 4)),
    ("cross_entropy", (4, 3), ()),
    ("cross_entropy", (4, 3), (5,)),
    ("cross_entropy", (3,), (1,)),
    ("cross_entropy", (2, 3, 4), (2,)),
    ("cross_entropy", (2, 3, 4), (2, 3)),
    ("cross_entropy", (2, 3, 4), (4, 2)),
    ("cross_entropy", (2, 3, 4, 5), (2, 4)),
    ("nll_loss", (4, 3), (3,)),
    ("nll_loss", (2, 3, 4), (2, 3)),
    ("sequence_cross_entropy", (2, 4, 3), (2,)),
    ("sequence_cross_entropy", (2, 4, 3), (4, 2)),
    ("sequence_cross_entropy", (2, 4, 3), (8,)),
    ("sequence_cross_entropy", (2, 4, 3), (2, 4, 1)),
]


@pytest.mark.parametrize("name,in_shape,tgt_shape", _TARGET_SHAPES, ids=str)
def test_class_target_of_the_wrong_shape_is_value_error(name: str, in_shape: tuple, tgt_shape: tuple) -> None:
    case = ClassCase(CLASS_SPEC_BY_NAME[name], "plain")
    x, _, _ = case.data(in_shape, np.float64, seed=107)
    y = np.zeros(tgt_shape, np.int64)
    with raises(ValueError, r"\btarget\b", shape_regex(tgt_shape) if tgt_shape else r"\(\)", shape_regex(in_shape)):
        case.call(x, y, {})
    with raises(ValueError, r"\btarget\b"):
        case.call(x, y.astype(np.int32), {}, reduction="none", return_grad=True)


@pytest.mark.parametrize("tgt_shape", [(4, 2), (3, 4), (4, 3, 1), (12,), (4,)], ids=str)
def test_probability_target_of_the_wrong_shape_is_value_error(tgt_shape: tuple) -> None:
    x, _, _ = ClassCase(CE, "probs").data((4, 3), np.float64, seed=108)
    with raises(ValueError, r"\btarget\b", shape_regex(tgt_shape), shape_regex((4, 3))):
        fl.cross_entropy(x, np.full(tgt_shape, 0.25))


@pytest.mark.parametrize("wshape", [(2,), (4,), (1,), (), (3, 1), (1, 3), (4, 3)], ids=str)
@plain_cases
def test_weight_of_the_wrong_shape_is_value_error(case: ClassCase, wshape: tuple) -> None:
    x, y, _ = _data(case)  # 3 classes
    pats = [r"\bweight\b", shape_regex(wshape) if wshape else r"\(\)", r"\(\s*3\s*,?\s*\)"]
    with raises(ValueError, *pats):
        case.call(x, y, {"weight": np.ones(wshape)})
    with raises(ValueError, r"\bweight\b"):
        case.call(x, y, {"weight": np.ones(wshape)}, reduction="none", return_grad=True)
    with raises(ValueError, r"\bweight\b"):
        case.spec.cls(weight=np.ones(wshape))(x, y)


@pytest.mark.parametrize(
    "name,shape",
    [
        ("cross_entropy", ()),
        ("nll_loss", ()),
        ("sequence_cross_entropy", ()),
        ("sequence_cross_entropy", (4,)),
        ("sequence_cross_entropy", (4, 3)),
        ("sequence_cross_entropy", (2, 2, 4, 3)),
    ],
    ids=str,
)
def test_logits_of_the_wrong_number_of_dimensions(name: str, shape: tuple) -> None:
    y = np.zeros(shape[:-1], np.int64) if shape else np.zeros((), np.int64)
    with raises(ValueError, shape_regex(shape) if shape else r"\(\)"):
        getattr(fl, name)(np.zeros(shape), y)


def test_zero_classes_is_value_error() -> None:
    with raises(ValueError, "class"):
        fl.cross_entropy(np.zeros((3, 0)), np.zeros(3, np.int64))
    with raises(ValueError, "class"):
        fl.sequence_cross_entropy(np.zeros((1, 3, 0)), np.zeros((1, 3), np.int64))


# ------------------------------------------------------------------ lengths
_BAD_LENGTHS = [
    ("shape (2,)", np.array([3, 3]), [r"\blengths\b", shape_regex((2,)), shape_regex((3,))]),
    ("shape (4,)", np.array([3, 3, 3, 3]), [r"\blengths\b", shape_regex((4,))]),
    ("shape (1, 3)", np.array([[3, 3, 3]]), [r"\blengths\b", shape_regex((1, 3))]),
    ("shape ()", np.array(3), [r"\blengths\b"]),
    ("float", np.array([3.0, 3.0, 3.0]), [r"\blengths\b", "float64"]),
    ("bool", np.array([True, True, True]), [r"\blengths\b", "bool"]),
    ("too long", np.array([4, 5, 1]), [r"\blengths\b", r"(?<![\d.])5(?![\d.])", r"\[\s*0\s*,\s*4\s*\]"]),
    ("negative", np.array([4, 1, -1]), [r"\blengths\b", "-1", r"\(\s*2\s*,?\s*\)"]),
    ("huge", np.array([2**40, 1, 1]), [r"\blengths\b", str(2**40)]),
]


@pytest.mark.parametrize("bid,lengths,pats", _BAD_LENGTHS, ids=[b for b, _, _ in _BAD_LENGTHS])
def test_bad_lengths_is_value_error(bid: str, lengths: np.ndarray, pats: list) -> None:
    x, y, _ = ClassCase(SEQ, "plain").data((3, 4, 5), np.float64, seed=109)
    for reduction in SEQ.reductions:
        with raises(ValueError, *pats):
            fl.sequence_cross_entropy(x, y, lengths=lengths, reduction=reduction)
    with raises(ValueError, r"\blengths\b"):
        fl.sequence_cross_entropy(x, y, lengths=lengths, return_grad=True)
    with raises(ValueError, r"\blengths\b"):
        fl.SequenceCrossEntropyLoss()(x, y, lengths=lengths)


# ------------------------------------------------------------------ options
@pytest.mark.parametrize("bad", [-0.1, 1.0 + 1e-9, 1.5, float("nan"), float("inf"), -float("inf")], ids=repr)
@pytest.mark.parametrize("name", ["cross_entropy", "sequence_cross_entropy"])
def test_label_smoothing_outside_unit_interval(name: str, bad: float) -> None:
    case = ClassCase(CLASS_SPEC_BY_NAME[name], "plain")
    x, y, _ = _data(case)
    with raises(ValueError, "label_smoothing"):
        case.call(x, y, {"label_smoothing": bad})
    with pytest.raises(ValueError) as info:
        case.call(x, y, {"label_smoothing": bad}, reduction="none", return_grad=True)
    assert mentions_value(str(info.value), bad) or not np.isfinite(bad) and re.search(r"nan|inf", str(info.value))
    with raises(ValueError, "label_smoothing"):
        case.spec.cls(label_smoothing=bad)(x, y)
    if name == "cross_entropy":  # probability targets as well
        xp, yp, _ = ClassCase(CE, "probs").data((4, 3), np.float64)
        with raises(ValueError, "label_smoothing"):
            fl.cross_entropy(xp, yp, label_smoothing=bad)


@pytest.mark.parametrize("good", [0.0, 1.0, 0.5])
def test_label_smoothing_bounds_are_accepted(good: float) -> None:
    x, y, _ = _data(ClassCase(CE, "plain"))
    assert np.isfinite(fl.cross_entropy(x, y, label_smoothing=good))


@pytest.mark.parametrize("bad", ["batchmean", "sequence", "avg", "MEAN", "", None])
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_bad_reduction_for_cross_entropy(name: str, bad: Any) -> None:
    case = ClassCase(CLASS_SPEC_BY_NAME[name], "plain")
    x, y, _ = _data(case)
    allowed = [rf"\b{r}\b" for r in ("mean", "sum", "none")]
    with raises(ValueError, "reduction", *allowed):
        case.call(x, y, {}, reduction=bad)
    with raises(ValueError, "reduction"):
        case.call(x, y, {}, reduction=bad, return_grad=True)
    with raises(ValueError, "reduction"):
        case.spec.cls(reduction=bad)(x, y)


@pytest.mark.parametrize("bad", ["avg", "batch_mean", "SUM", "", None, 1])
def test_bad_reduction_for_sequence_cross_entropy(bad: Any) -> None:
    x, y, _ = _data(ClassCase(SEQ, "plain"))
    allowed = [rf"\b{r}\b" for r in SEQ.reductions]
    with raises(ValueError, "reduction", *allowed):
        fl.sequence_cross_entropy(x, y, reduction=bad)
    with raises(ValueError, "reduction"):
        fl.SequenceCrossEntropyLoss(reduction=bad)(x, y)


@pytest.mark.parametrize(
    "bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError)], ids=repr
)
@plain_cases
def test_bad_n_threads(case: ClassCase, bad: Any, error: Any) -> None:
    x, y, _ = _data(case)
    with raises(error, "n_threads", re.escape(str(bad))):
        case.call(x, y, {}, n_threads=bad)
    with raises(error, "n_threads"):
        case.spec.cls(n_threads=bad)(x, y)


# -------------------------------------------------------------------- out= / grad_out=
def _out_cases() -> list:
    cases = []
    for c in CLASS_PLAIN_CASES:
        shape = SHAPE[c.spec.name]
        for r in c.spec.reductions:
            lshape = c.loss_shape(shape, r)
            for dt in ("float32", "float64"):
                for bid, buf, pats in _bad_buffers(lshape, dt):
                    if bid == "fortran" and len(lshape) < 2:
                        continue  # a 1-D array in Fortran order is C-contiguous
                    cases.append(pytest.param(c, r, dt, buf, pats, id=f"{c.id}-{r}-{dt}-{bid}"))
    return cases


@pytest.mark.parametrize("case,reduction,dtype,buf,pats", _out_cases())
def test_bad_out_is_value_error(case: ClassCase, reduction: str, dtype: str, buf: Any, pats: list) -> None:
    x, y, _ = _data(case, dtype)
    with raises(ValueError, OUT, *pats):
        case.call(x, y, {}, reduction=reduction, out=buf)
    with raises(ValueError, OUT, *pats):
        case.call(x, y, {}, reduction=reduction, out=buf, return_grad=True)


def _grad_out_cases() -> list:
    return [
        pytest.param(c, dt, buf, pats, id=f"{c.id}-{dt}-{bid}")
        for c in CLASS_PLAIN_CASES
        for dt in ("float32", "float64")
        for bid, buf, pats in _bad_buffers(SHAPE[c.spec.name], dt)
    ]


@pytest.mark.parametrize("case,dtype,buf,pats", _grad_out_cases())
def test_bad_grad_out_is_value_error(case: ClassCase, dtype: str, buf: Any, pats: list) -> None:
    x, y, _ = _data(case, dtype)
    for reduction in case.spec.reductions:
        with raises(ValueError, r"\bgrad_out\b", *pats):
            case.call(x, y, {}, reduction=reduction, return_grad=True, grad_out=buf)


@plain_cases
def test_grad_out_without_return_grad_is_value_error(case: ClassCase) -> None:
    x, y, _ = _data(case)
    with raises(ValueError, r"\bgrad_out\b"):
        case.call(x, y, {}, grad_out=np.empty(x.shape))


def test_out_buffers_are_untouched_after_an_error() -> None:
    x, y, _ = _data(ClassCase(CE, "plain"))
    y[1] = 7
    out, grad_out = np.full(4, 5.0), np.full((4, 3), 5.0)
    with raises(IndexError, "7"):
        fl.cross_entropy(x, y, reduction="none", return_grad=True, out=out, grad_out=grad_out)
    assert np.all(out == 5.0) and np.all(grad_out == 5.0)


# ------------------------------------------------------------------------ grad_output
@pytest.mark.parametrize("go_shape", [(1,), (3,), (4,), (2, 4)], ids=str)
@plain_cases
def test_non_scalar_grad_output_for_reduced_loss(case: ClassCase, go_shape: tuple) -> None:
    x, y, _ = _data(case)
    for reduction in [r for r in case.spec.reductions if r not in ("none", "sequence")]:
        with raises(ValueError, "grad_output", shape_regex(go_shape)):
            case.call(x, y, {}, reduction=reduction, return_grad=True, grad_output=np.ones(go_shape))


@pytest.mark.parametrize("go_shape", [(1,), (3,), (4, 1), (1, 4), (4, 3), (2, 4, 3), (8,)], ids=str)
@plain_cases
def test_grad_output_of_wrong_shape_for_array_losses(case: ClassCase, go_shape: tuple) -> None:
    x, y, _ = _data(case)
    for reduction in [r for r in case.spec.reductions if r in ("none", "sequence")]:
        if go_shape == case.loss_shape(x.shape, reduction):
            continue
        with raises(ValueError, "grad_output", shape_regex(go_shape)):
            case.call(x, y, {}, reduction=reduction, return_grad=True, grad_output=np.ones(go_shape))


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")], ids=str)
@plain_cases
def test_grad_output_array_of_other_dtype(case: ClassCase, dtypes: tuple) -> None:
    in_dt, go_dt = dtypes
    x, y, _ = _data(case, in_dt)
    for reduction in [r for r in case.spec.reductions if r in ("none", "sequence")]:
        go = np.ones(case.loss_shape(x.shape, reduction), go_dt)
        with raises(ValueError, "grad_output", go_dt):
            case.call(x, y, {}, reduction=reduction, return_grad=True, grad_output=go)
