"""The cross-entropy family (cross_entropy, nll_loss, sequence_cross_entropy): values and
gradients vs the float64 NumPy reference, vs PyTorch float64 autograd (skipped without
torch) and finite differences, for every option of the registry's class cases; edge cases
(ignored and all-ignored targets, extreme logits, V = 1, V = 50257, empty batches, NaN);
int32 = int64 targets and lengths = ignore_index masking bitwise; out= / grad_out=,
grad_output, memory layouts, module classes, and determinism across thread counts."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Tuple

import fastloss as fl
import numpy as np
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry import (
    CLASS_CASES,
    CLASS_INDEX_CASES,
    CLASS_PLAIN_CASES,
    CLASS_RICH_CASES,
    CLASS_SPEC_BY_NAME,
    CLASS_SPECS,
    DTYPES,
    LAYOUTS,
    ClassCase,
    assert_bitwise,
    assert_close,
    assert_matches,
    case_id,
    check_grad_type,
    check_loss_type,
    make_layout,
    torch_reference,
    traced_peaks,
)

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)

CE = CLASS_SPEC_BY_NAME["cross_entropy"]
NLL = CLASS_SPEC_BY_NAME["nll_loss"]
SEQ = CLASS_SPEC_BY_NAME["sequence_cross_entropy"]


def _params(cases: Any, *, shapes: str = "shapes") -> List[Any]:
    """pytest params (case, shape) over each case's test shapes (the tests loop over the
    reductions: one pytest item per case and shape keeps the suite fast)."""
    return [pytest.param(c, shape, id=f"{c.id}-{sid}") for c in cases for sid, shape in getattr(c.spec, shapes).items()]


ALL = _params(CLASS_CASES)
ALL_FD = _params(CLASS_CASES, shapes="fd_shapes")
INDEX_ALL = _params(CLASS_INDEX_CASES)


def _grad_output(case: ClassCase, shape: tuple, reduction: str, dtype: Any, seed: int = 5) -> Any:
    """An array for the reductions that return arrays, else a negative scalar."""
    if reduction in ("none", "sequence"):
        return np.random.default_rng(seed).standard_normal(case.loss_shape(shape, reduction)).astype(dtype)
    return -1.5


def _copies(y: np.ndarray, opts: Dict[str, Any]) -> Tuple[np.ndarray, Dict[str, Any]]:
    return y.copy(), {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in opts.items()}


def _check_types(case: ClassCase, loss: Any, grad: Any, shape: tuple, reduction: str, dtype: Any) -> None:
    lshape = case.loss_shape(shape, reduction)
    if reduction in ("none", "sequence"):
        check_loss_type(loss, "none", lshape, dtype)
    else:
        check_loss_type(loss, "mean", (), dtype)
    if grad is not None:
        check_grad_type(grad, shape, dtype)


def _assert_same(got: Any, want: Any, what: str = "") -> None:
    """Bitwise equality of two results: (loss, grad) pairs or bare losses."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == 2
        assert_bitwise(got[0], want[0], f"{what} loss".strip())
        assert_bitwise(got[1], want[1], f"{what} grad".strip())
    else:
        assert_bitwise(got, want, what)


# ------------------------------------------------------------------ value and grad
@dtypes
@pytest.mark.parametrize("case,shape", ALL)
def test_matches_reference(case: ClassCase, shape: tuple, dtype: Any) -> None:
    x, y, opts = case.data(shape, dtype)
    x0 = x.copy()
    y0, opts0 = _copies(y, opts)
    for reduction in case.spec.reductions:
        loss_only = case.call(x, y, opts, reduction=reduction)
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        _check_types(case, loss_only, None, shape, reduction, dtype)
        _check_types(case, loss, grad, shape, reduction, dtype)
        assert_matches(case, x, y, opts, reduction, loss_only, None, dtype, what=f"{reduction}, return_grad=False:")
        assert_matches(case, x, y, opts, reduction, loss, grad, dtype, what=f"{reduction}, return_grad=True:")
        # the loss does not depend on whether the gradient is computed
        assert_close(
            loss_only, loss, dtype, rtol=16 * np.finfo(dtype).eps, what=f"{reduction}: loss with / without grad"
        )
    # inputs are read, never written
    assert_bitwise(x, x0, "input after the call")
    assert_bitwise(y, y0, "target after the call")
    for k, v in opts0.items():
        assert_bitwise(opts[k], v, f"{k} after the call")


@dtypes
@pytest.mark.parametrize("case,shape", ALL)
def test_matches_torch_float64_autograd(torch: Any, case: ClassCase, shape: tuple, dtype: Any) -> None:
    x, y, opts = case.data(shape, dtype, seed=1)
    for reduction in case.spec.reductions:
        go = _grad_output(case, shape, reduction, dtype)
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
        expected = torch_reference(case, x, y, opts, reduction, go)
        assert_matches(
            case,
            x,
            y,
            opts,
            reduction,
            loss,
            grad,
            dtype,
            grad_output=go,
            expected=expected,
            what=f"{reduction} vs torch:",
        )


@pytest.mark.parametrize("case,shape", ALL_FD)
def test_grad_matches_finite_differences(case: ClassCase, shape: tuple) -> None:
    x, y, opts = case.data(shape, np.float64, seed=6)
    for reduction in case.spec.reductions:
        go = _grad_output(case, shape, reduction, np.float64, seed=8)

        def f(xx: np.ndarray) -> float:
            return float(np.sum(np.asarray(go) * case.call(xx, y, opts, reduction=reduction)))

        _, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
        assert_close(grad, ref.central_fd(f, x), np.float64, rtol=1e-6, what=f"{reduction}: grad vs finite differences")


@pytest.mark.parametrize("case,shape", ALL_FD)
def test_reference_grad_matches_finite_differences(case: ClassCase, shape: tuple) -> None:
    """The oracle checks itself: its analytic gradient against its own loss."""
    x, y, opts = case.data(shape, np.float64, seed=6)
    for reduction in case.spec.reductions:
        go = _grad_output(case, shape, reduction, np.float64, seed=8)

        def f(xx: np.ndarray) -> float:
            return float(np.sum(np.asarray(go) * case.reference(xx, y, opts, reduction)[0]))

        assert_close(
            case.reference(x, y, opts, reduction, go)[1], ref.central_fd(f, x), np.float64, rtol=1e-6, what=reduction
        )


def test_reference_values_by_hand() -> None:
    """The oracle on numbers worked out by hand (torch's documented formulas)."""
    x = np.array([[0.0, 0.0], [0.0, math.log(3.0)]])
    t = np.array([1, 1])
    # rows: -log(1/2), -log(3/4)
    assert ref.cross_entropy(x, t, reduction="sum")[0] == pytest.approx(math.log(2) - math.log(0.75), rel=1e-15)
    w = np.array([1.0, 4.0])
    assert ref.cross_entropy(x, t, weight=w)[0] == pytest.approx((math.log(2) - math.log(0.75)) * 4 / 8, rel=1e-15)
    # smoothing eps = 0.5 over C = 2: q = [0.25, 0.75]
    want = -(0.25 * math.log(0.5) + 0.75 * math.log(0.5)) - (0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert ref.cross_entropy(x, t, label_smoothing=0.5, reduction="sum")[0] == pytest.approx(want, rel=1e-15)
    # ignored rows count 0 in the value and in the denominator
    assert ref.cross_entropy(x, np.array([-100, 1]))[0] == pytest.approx(-math.log(0.75), rel=1e-15)
    # "batchmean" divides by B, "sequence" sums over the steps
    s = np.zeros((2, 3, 4))
    tt = np.ones((2, 3), np.int64)
    assert ref.sequence_cross_entropy(s, tt, reduction="batchmean")[0] == pytest.approx(3 * math.log(4), rel=1e-15)
    np.testing.assert_allclose(
        ref.sequence_cross_entropy(s, tt, reduction="sequence", lengths=[3, 1])[0],
        [3 * math.log(4), math.log(4)],
        rtol=1e-15,
    )


# ------------------------------------------------------------------ ignored targets
def _all_ignored(case: ClassCase, shape: tuple, dtype: Any) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    x, y, opts = case.data(shape, dtype, seed=30)
    y = np.full_like(y, opts.get("ignore_index", -100))
    return x, y, opts


_IGNORE_CASES = [
    c
    for c in CLASS_INDEX_CASES
    if c.variant
    in (
        "plain",
        "smooth+weight+ignore",
        "weight+ignore",
        "ignore_index1+weight+smooth",
        "ignore_index1+weight",
        "lengths+weight+smooth+ignore",
    )
]


@dtypes
@pytest.mark.parametrize("case,shape", _params(_IGNORE_CASES))
def test_all_targets_ignored(case: ClassCase, shape: tuple, dtype: Any) -> None:
    x, y, opts = _all_ignored(case, shape, dtype)
    x[(0,) * x.ndim] = np.nan  # an ignored row's logits are never read for the gradient
    for reduction in case.spec.reductions:
        go = _grad_output(case, shape, reduction, dtype)
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
        _check_types(case, loss, grad, shape, reduction, dtype)
        if reduction == "mean":
            assert np.isnan(loss), f"mean over no counted target is {loss!r}, expected nan"
        else:
            assert np.all(np.asarray(loss) == 0), f"{reduction}: {loss!r}"
        assert np.all(grad == 0), f"{reduction}: grad not zero"
        assert_bitwise(case.call(x, y, opts, reduction=reduction), loss, f"{reduction} loss only")


@pytest.mark.parametrize("case,shape", _params(_IGNORE_CASES))
def test_all_targets_ignored_vs_torch(torch: Any, case: ClassCase, shape: tuple) -> None:
    x, y, opts = _all_ignored(case, shape, np.float64)
    for reduction in case.spec.reductions:
        loss = case.call(x, y, opts, reduction=reduction)
        t_loss, _ = torch_reference(case, x, y, opts, reduction)
        # torch's gradient is nan for "mean" here (0 / 0); the contract says 0 (checked above)
        assert_close(loss, t_loss, np.float64, what=reduction)


def test_lengths_all_zero_is_all_ignored() -> None:
    x, y, opts = ClassCase(SEQ, "lengths").data((3, 4, 5), np.float64, seed=31)
    lengths = np.zeros(3, np.int64)
    assert np.isnan(fl.sequence_cross_entropy(x, y, lengths=lengths))
    loss, grad = fl.sequence_cross_entropy(x, y, lengths=lengths, reduction="sequence", return_grad=True)
    assert_bitwise(loss, np.zeros(3))
    assert_bitwise(grad, np.zeros_like(x))


@dtypes
@pytest.mark.parametrize("case", [c for c in CLASS_INDEX_CASES if "ignore_index1" in c.variant], ids=case_id)
def test_ignore_index_inside_the_class_range(case: ClassCase, dtype: Any) -> None:
    """ignore_index=1 ignores the targets 1: the same as those rows being dropped."""
    x, y, opts = case.data((40, 6), dtype, seed=32)
    keep = y != 1
    assert (~keep).sum() >= 2 and keep.sum() >= 2
    o_drop = {k: v for k, v in opts.items() if k != "ignore_index"}
    for reduction in ("mean", "sum"):
        got = case.call(x, y, opts, reduction=reduction)
        want = case.call(np.ascontiguousarray(x[keep]), y[keep], o_drop, reduction=reduction)
        assert_close(got, want, dtype, rtol=64 * np.finfo(dtype).eps, what=reduction)
    loss, grad = case.call(x, y, opts, reduction="none", return_grad=True)
    assert np.all(loss[~keep] == 0) and np.all(grad[~keep] == 0)


# ------------------------------------------------------------------ extreme inputs
def _extreme_logits(dtype: Any, shape: tuple) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(33)
    x = rng.choice([-1e4, 1e4, 0.0, 50.0, -50.0], size=shape)
    x[0, ..., 0] = 1e4  # a tie at the top: lse = 1e4 + log 2
    x[0, ..., 1] = 1e4
    return x.astype(dtype), rng


@pytest.mark.parametrize("variant", ["plain", "smooth+weight+ignore", "probs+smooth+weight"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@dtypes
def test_huge_logits_are_finite(dtype: Any, reduction: str, variant: str) -> None:
    case = ClassCase(CE, variant)
    _, y, opts = case.data((12, 5), dtype, seed=34)
    x, _ = _extreme_logits(dtype, (12, 5))
    loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    assert_matches(case, x, y, opts, reduction, loss, None, dtype, what="loss:")
    # float32 gradient: lse = 1e4 + log 2 is rounded to float32 (half an ulp: 4.9e-4) before
    # exp(x - lse), as torch does: p is exact to that relative error
    rtol = None if dtype == np.float64 else 5e-4
    assert_matches(case, x, y, opts, reduction, loss, grad, dtype, rtol=rtol, what="grad:")


@pytest.mark.parametrize("variant", ["plain", "lengths+weight+smooth+ignore"])
def test_huge_logits_sequence_vs_torch(torch: Any, variant: str) -> None:
    case = ClassCase(SEQ, variant)
    _, y, opts = case.data((3, 4, 5), np.float64, seed=35)
    x, _ = _extreme_logits(np.float64, (3, 4, 5))
    for reduction in SEQ.reductions:
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
        assert_matches(
            case,
            x,
            y,
            opts,
            reduction,
            loss,
            grad,
            np.float64,
            expected=torch_reference(case, x, y, opts, reduction),
            what=reduction,
        )


@pytest.mark.parametrize("variant", ["plain", "smooth+weight+ignore", "probs+smooth+weight"])
def test_huge_logits_vs_torch(torch: Any, variant: str) -> None:
    case = ClassCase(CE, variant)
    _, y, opts = case.data((12, 5), np.float64, seed=34)
    x, _ = _extreme_logits(np.float64, (12, 5))
    for reduction in CE.reductions:
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        assert_matches(
            case,
            x,
            y,
            opts,
            reduction,
            loss,
            grad,
            np.float64,
            expected=torch_reference(case, x, y, opts, reduction),
            what=reduction,
        )


@pytest.mark.parametrize("smoothing", [0.0, 0.3, 1.0])
@dtypes
def test_single_class(dtype: Any, smoothing: float) -> None:
    """V = 1: log softmax is 0, every loss and gradient is 0."""
    x = np.array([[3.0], [-2.0], [1e4]], dtype=dtype)
    cases = [
        (fl.cross_entropy, (x, np.zeros(3, np.int64)), {"label_smoothing": smoothing}),
        (fl.cross_entropy, (x, np.ones((3, 1), dtype)), {"label_smoothing": smoothing}),
        (
            fl.cross_entropy,
            (x, np.array([0, -100, 0])),
            {"weight": np.array([2.0], dtype), "label_smoothing": smoothing},
        ),
        (fl.sequence_cross_entropy, (x.reshape(1, 3, 1), np.zeros((1, 3), np.int64)), {"label_smoothing": smoothing}),
    ]
    for fn, args, kw in cases:
        for reduction in ("sum", "none"):
            loss, grad = fn(*args, reduction=reduction, return_grad=True, **kw)
            assert np.all(np.asarray(loss) == 0), (fn.__name__, kw, loss)
            assert np.all(grad == 0), (fn.__name__, kw, grad)
        assert fn(*args, **kw) == 0


def test_single_class_vs_torch(torch: Any) -> None:
    x = np.array([[3.0], [-2.0], [1e4]])
    case = ClassCase(CE, "smooth+weight+ignore")
    y, opts = np.array([0, -100, 0]), {"weight": np.array([2.0]), "label_smoothing": 0.3}
    for reduction in CE.reductions:
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        assert_matches(
            case, x, y, opts, reduction, loss, grad, np.float64, expected=torch_reference(case, x, y, opts, reduction)
        )


# GPT-2's vocabulary (one pass per row), and one of more than two 2^16-class pieces with a
# partial last piece (rows split into pieces that threads share, merged per row).
_BIG_VS = [50257, 150001]


def _big_vocab(case: ClassCase, dtype: Any, V: int) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    shape = (2, 2, V) if case.spec.sequence else (3, V)
    return case.data(shape, dtype, seed=36)


_BIG_V_CASES = [
    ClassCase(CE, "plain"),
    ClassCase(CE, "smooth+weight+ignore"),
    ClassCase(CE, "probs+smooth+weight"),
    ClassCase(NLL, "weight+ignore"),
    ClassCase(SEQ, "lengths+weight+smooth+ignore"),
]


@dtypes
@pytest.mark.parametrize("V", _BIG_VS)
@pytest.mark.parametrize("case", _BIG_V_CASES, ids=case_id)
def test_large_vocabulary(case: ClassCase, V: int, dtype: Any) -> None:
    x, y, opts = _big_vocab(case, dtype, V)
    if case.class_targets and not case.spec.sequence:
        y[0] = V - 1  # the last class
    for reduction in ("mean", "none"):
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        assert_matches(case, x, y, opts, reduction, loss, grad, dtype, what=reduction)


@pytest.mark.parametrize("V", _BIG_VS)
@pytest.mark.parametrize("case", _BIG_V_CASES, ids=case_id)
def test_large_vocabulary_vs_torch(torch: Any, case: ClassCase, V: int) -> None:
    x, y, opts = _big_vocab(case, np.float64, V)
    loss, grad = case.call(x, y, opts, return_grad=True, grad_output=0.5)
    expected = torch_reference(case, x, y, opts, "mean", 0.5)
    assert_matches(case, x, y, opts, "mean", loss, grad, np.float64, grad_output=0.5, expected=expected)


_EMPTY = [
    (ClassCase(CE, "plain"), (0, 4)),
    (ClassCase(CE, "smooth+weight+ignore"), (0, 4)),
    (ClassCase(CE, "smooth+weight+ignore"), (0, 4, 3)),
    (ClassCase(CE, "plain"), (2, 4, 0)),
    (ClassCase(CE, "probs+smooth+weight"), (0, 4)),
    (ClassCase(CE, "probs"), (2, 4, 0, 3)),
    (ClassCase(NLL, "weight+ignore"), (0, 4)),
    (ClassCase(SEQ, "plain"), (0, 3, 4)),
    (ClassCase(SEQ, "lengths+weight+smooth+ignore"), (0, 3, 4)),
    (ClassCase(SEQ, "lengths+weight+smooth+ignore"), (2, 0, 4)),
]


@dtypes
@pytest.mark.parametrize("case,shape", _EMPTY, ids=[f"{c.id}-{s}" for c, s in _EMPTY])
def test_empty_batch(case: ClassCase, shape: tuple, dtype: Any) -> None:
    x, y, opts = case.data(shape, dtype)
    for reduction in case.spec.reductions:
        loss = case.call(x, y, opts, reduction=reduction)
        loss2, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        for value in (loss, loss2):
            _check_types(case, value, None, shape, reduction, dtype)
            if reduction == "mean" or (reduction == "batchmean" and shape[0] == 0):  # 0 / 0, as torch
                assert np.isnan(value)
            else:
                assert np.all(np.asarray(value) == 0)  # "sum", "batchmean", and the (B,) zeros of "sequence"
        check_grad_type(grad, shape, dtype)
        ref_loss, _ = case.reference(x, y, opts, reduction)
        assert_close(loss, ref_loss, dtype)


@pytest.mark.parametrize("case,shape", _EMPTY, ids=[f"{c.id}-{s}" for c, s in _EMPTY])
def test_empty_batch_vs_torch(torch: Any, case: ClassCase, shape: tuple) -> None:
    x, y, opts = case.data(shape, np.float64)
    for reduction in ("mean", "sum", "none"):
        loss = case.call(x, y, opts, reduction=reduction)
        assert_close(loss, torch_reference(case, x, y, opts, reduction)[0], np.float64, what=reduction)


@pytest.mark.parametrize(
    "case",
    [ClassCase(CE, "smooth+weight+ignore"), ClassCase(CE, "probs+smooth+weight"), ClassCase(NLL, "weight+ignore")],
    ids=case_id,
)
def test_one_dim_input_with_scalar_target(case: ClassCase) -> None:
    """(C,) logits with a () target (or (C,) probabilities): one row; "none" gives a 0-d array."""
    x, y, opts = case.data((6,), np.float64, seed=37)
    assert y.shape == (() if case.class_targets else (6,))
    for reduction in ("mean", "sum", "none"):
        got = case.call(x, y, opts, reduction=reduction, return_grad=True)
        want = case.call(x[None], y[None], opts, reduction=reduction, return_grad=True)
        assert np.shape(got[0]) == ()
        assert_bitwise(np.asarray(got[0]).reshape(-1), np.asarray(want[0]).reshape(-1), reduction)
        assert_bitwise(got[1], want[1][0], reduction)
    loss_none = case.call(x, y, opts, reduction="none")
    assert isinstance(loss_none, np.ndarray) and loss_none.shape == ()


@dtypes
@pytest.mark.parametrize(
    "case",
    [
        ClassCase(CE, "plain"),
        ClassCase(CE, "smooth+weight+ignore"),
        ClassCase(CE, "probs+smooth+weight"),
        ClassCase(NLL, "weight+ignore"),
    ],
    ids=case_id,
)
def test_kdim_equals_flattened_2d(case: ClassCase, dtype: Any) -> None:
    """(N, C, d1, d2) is (N d1 d2, C) with the class axis moved last: same per-row losses."""
    x, y, opts = case.data((3, 5, 4, 2), dtype, seed=38)
    x2 = np.ascontiguousarray(np.moveaxis(x, 1, -1).reshape(-1, 5))
    y2 = np.ascontiguousarray(np.moveaxis(y, 1, -1).reshape(-1, 5)) if not case.class_targets else y.reshape(-1)
    loss, grad = case.call(x, y, opts, reduction="none", return_grad=True)
    loss2, grad2 = case.call(x2, y2, opts, reduction="none", return_grad=True)
    assert_close(loss.reshape(-1), loss2, dtype, rtol=8 * np.finfo(dtype).eps)
    assert_close(np.moveaxis(grad, 1, -1).reshape(-1, 5), grad2, dtype, rtol=8 * np.finfo(dtype).eps)


_WIDE_KDIM = (2, 7, 3, 45)  # 135 positions per sample: tiles of 64 positions, the last one partial


@dtypes
@pytest.mark.parametrize("case", [c for c in CLASS_CASES if not c.spec.sequence], ids=case_id)
def test_wide_kdim_input(case: ClassCase, dtype: Any) -> None:
    """The strided-class-axis path over several tiles per sample, vs the reference."""
    x, y, opts = case.data(_WIDE_KDIM, dtype, seed=54)
    for reduction in case.spec.reductions:
        go = _grad_output(case, _WIDE_KDIM, reduction, dtype)
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
        assert_matches(case, x, y, opts, reduction, loss, grad, dtype, grad_output=go, what=reduction)


@pytest.mark.parametrize(
    "case", [c for c in CLASS_RICH_CASES if not c.spec.sequence] + [ClassCase(CE, "probs")], ids=case_id
)
def test_wide_kdim_input_vs_torch(torch: Any, case: ClassCase) -> None:
    x, y, opts = case.data(_WIDE_KDIM, np.float64, seed=55)
    for reduction in case.spec.reductions:
        go = _grad_output(case, _WIDE_KDIM, reduction, np.float64)
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
        assert_matches(
            case,
            x,
            y,
            opts,
            reduction,
            loss,
            grad,
            np.float64,
            grad_output=go,
            expected=torch_reference(case, x, y, opts, reduction, go),
            what=reduction,
        )


@pytest.mark.parametrize("C", [7, 3000])  # 3000: the first 2048-class chunk is entirely -inf
@pytest.mark.parametrize("layout", ["2d", "kdim", "sequence"])
def test_minus_inf_logits_mask_classes(layout: str, C: int) -> None:
    """-inf logits (a masked vocabulary) have probability 0: finite loss, zero gradient there."""
    rng = np.random.default_rng(56)
    x2 = rng.standard_normal((4, C))
    x2[:, : C // 2 + 1] = -np.inf
    t = np.array([C - 1, C - 2, C // 2 + 3, -100])
    w = rng.uniform(0.5, 2.0, C)
    if layout == "2d":
        case, x, y = ClassCase(CE, "weight+ignore"), x2, t
    elif layout == "kdim":
        case, x, y = (
            ClassCase(CE, "weight+ignore"),
            np.ascontiguousarray(np.moveaxis(x2.reshape(2, 2, C), 2, 1)),
            t.reshape(2, 2),
        )
    else:
        case, x, y = ClassCase(SEQ, "ignore"), x2.reshape(2, 2, C), t.reshape(2, 2)
    opts = {"weight": w}
    for reduction in ("mean", "none"):
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
        assert np.all(grad[np.isinf(x)] == 0)
        assert_matches(case, x, y, opts, reduction, loss, grad, np.float64, what=reduction)


def test_minus_inf_logits_vs_torch(torch: Any) -> None:
    x = np.random.default_rng(57).standard_normal((4, 3000))
    x[:, :2000] = -np.inf
    y, opts = np.array([2999, 2500, 2001, 2002]), {"weight": np.linspace(0.5, 2.0, 3000)}
    case = ClassCase(CE, "weight")
    for reduction in CE.reductions:
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        assert_matches(
            case,
            x,
            y,
            opts,
            reduction,
            loss,
            grad,
            np.float64,
            expected=torch_reference(case, x, y, opts, reduction),
            what=reduction,
        )


def test_ignore_index_does_not_apply_to_probability_targets() -> None:
    x, y, _ = ClassCase(CE, "probs").data((6, 4), np.float64, seed=58)
    want = fl.cross_entropy(x, y, reduction="none", return_grad=True)
    for ii in (0, 1, -100):
        _assert_same(fl.cross_entropy(x, y, ignore_index=ii, reduction="none", return_grad=True), want, f"{ii}:")


@dtypes
def test_list_and_python_int_targets(dtype: Any) -> None:
    x, y, _ = ClassCase(CE, "plain").data((6, 4), dtype, seed=59)
    _assert_same(fl.cross_entropy(x, y.tolist(), return_grad=True), fl.cross_entropy(x, y, return_grad=True))
    _assert_same(fl.cross_entropy(x[0], int(y[0]), reduction="sum"), fl.cross_entropy(x[0], y[0:1][0], reduction="sum"))
    xp, yp, _ = ClassCase(CE, "probs").data((6, 4), dtype, seed=60)
    # a list of floats is probabilities of the input's dtype
    _assert_same(fl.cross_entropy(xp, yp.tolist(), return_grad=True), fl.cross_entropy(xp, yp, return_grad=True))
    xs, ys, _ = ClassCase(SEQ, "plain").data((2, 3, 4), dtype, seed=61)
    _assert_same(
        fl.sequence_cross_entropy(xs, ys.tolist(), reduction="none"),
        fl.sequence_cross_entropy(xs, ys, reduction="none"),
    )


# ------------------------------------------------------------------ NaN
def _counted_rows(case: ClassCase, x: np.ndarray, y: np.ndarray, opts: Dict[str, Any]) -> np.ndarray:
    """Which rows count (not ignored, not masked by lengths), in the shape of the "none" loss."""
    if not case.class_targets:
        return np.ones(case.loss_shape(x.shape, "none"), bool)
    ii = opts.get("ignore_index", -100)
    return ref.mask_lengths(y, opts.get("lengths"), ii) != ii if case.spec.sequence else y != ii


_NAN_CASES = [
    ClassCase(CE, "smooth+weight+ignore"),
    ClassCase(CE, "probs+smooth+weight"),
    ClassCase(CE, "plain"),
    ClassCase(NLL, "weight+ignore"),
    ClassCase(SEQ, "lengths+weight+smooth+ignore"),
]


@dtypes
@pytest.mark.parametrize("case,shape", [p for p in _params(_NAN_CASES) if "-1d" not in p.id])
def test_nan_logits(case: ClassCase, shape: tuple, dtype: Any) -> None:
    """A NaN logit makes its row's loss and gradient NaN (and a reduced loss NaN); a NaN in an
    ignored / masked row changes nothing: its gradient stays 0, the loss stays finite."""
    x, y, opts = case.data(shape, dtype, seed=39)
    axis = case.spec.class_axis(x.ndim)
    counted = _counted_rows(case, x, y, opts)
    counted_pos = tuple(np.argwhere(counted)[-1])
    base_loss, base_grad = case.call(x, y, opts, reduction="none", return_grad=True)

    xn = x.copy()
    # nll_loss reads only input[target] (its gradient does not depend on the input at all)
    cls = int(y[counted_pos]) if case.spec.log_probs else 2
    np.moveaxis(xn, axis, -1)[counted_pos + (cls,)] = np.nan
    loss, grad = case.call(xn, y, opts, reduction="none", return_grad=True)
    assert np.isnan(loss[counted_pos]), "NaN did not reach its row's loss"
    if case.spec.log_probs:
        assert_bitwise(grad, base_grad, "nll_loss grad")
    else:
        assert np.all(np.isnan(np.moveaxis(grad, axis, -1)[counted_pos])), "NaN did not reach its row's gradient"
    others = np.ones(counted.shape, bool)
    others[counted_pos] = False
    assert_bitwise(loss[others], base_loss[others], "other rows' loss")
    assert_bitwise(np.moveaxis(grad, axis, -1)[others], np.moveaxis(base_grad, axis, -1)[others], "other rows' grad")
    for reduction in ("mean", "sum"):
        assert np.isnan(case.call(xn, y, opts, reduction=reduction))

    if counted.all():
        return  # no ignored row in this case
    ignored_pos = tuple(np.argwhere(~counted)[0])
    xi = x.copy()
    np.moveaxis(xi, axis, -1)[ignored_pos] = np.nan  # the whole ignored row
    for reduction in case.spec.reductions:
        want = case.call(x, y, opts, reduction=reduction, return_grad=True)
        got = case.call(xi, y, opts, reduction=reduction, return_grad=True)
        _assert_same(got, want, f"NaN in an ignored row, {reduction}:")
        assert np.all(np.isfinite(got[0]))


# ------------------------------------------------------------------ int32 / lengths
@pytest.mark.parametrize("case,shape", INDEX_ALL)
@dtypes
def test_int32_targets_are_bitwise_int64(case: ClassCase, shape: tuple, dtype: Any) -> None:
    x, y, opts = case.data(shape, dtype, seed=40)
    y32 = y.astype(np.int32)
    for reduction in case.spec.reductions:
        go = _grad_output(case, shape, reduction, dtype)
        want = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
        got = case.call(x, y32, opts, reduction=reduction, return_grad=True, grad_output=go)
        _assert_same(got, want, f"{reduction}, int32 targets:")
        _assert_same(
            case.call(x, y32, opts, reduction=reduction),
            case.call(x, y, opts, reduction=reduction),
            f"{reduction}, int32 targets, loss only:",
        )


@pytest.mark.parametrize("reduction", SEQ.reductions)
@dtypes
@pytest.mark.parametrize("variant", ["lengths", "lengths+weight+smooth+ignore"])
def test_lengths_mask_is_bitwise_ignore_index(variant: str, dtype: Any, reduction: str) -> None:
    case = ClassCase(SEQ, variant)
    x, y, opts = case.data((5, 7, 9), dtype, seed=41)
    lengths = opts["lengths"]
    assert lengths.min() < 7, "the data must mask something"
    go = _grad_output(case, x.shape, reduction, dtype)
    want = case.call(
        x,
        ref.mask_lengths(y, lengths),
        {k: v for k, v in opts.items() if k != "lengths"},
        reduction=reduction,
        return_grad=True,
        grad_output=go,
    )
    got = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
    _assert_same(got, want, "lengths vs ignore_index:")
    # lengths as int32, as a list, and lengths = T everywhere (= no lengths)
    for other in (lengths.astype(np.int32), lengths.tolist()):
        _assert_same(
            case.call(x, y, dict(opts, lengths=other), reduction=reduction, return_grad=True, grad_output=go),
            want,
            f"lengths as {type(other).__name__}:",
        )
    full = {k: v for k, v in opts.items() if k != "lengths"}
    y_valid = ref.mask_lengths(y, lengths, 0)
    _assert_same(
        case.call(x, y_valid, dict(full, lengths=np.full(5, 7)), reduction=reduction),
        case.call(x, y_valid, full, reduction=reduction),
        "lengths = T:",
    )


def test_masked_steps_are_not_validated() -> None:
    x = np.zeros((2, 3, 4))
    y = np.array([[1, 2, 99], [3, -5, 2**40]])
    loss = fl.sequence_cross_entropy(x, y, lengths=np.array([2, 1]), reduction="sequence")
    np.testing.assert_allclose(loss, [2 * math.log(4), math.log(4)], rtol=1e-15)
    # the same junk unmasked is an error
    with pytest.raises(IndexError):
        fl.sequence_cross_entropy(x, y, lengths=np.array([3, 1]))


# ------------------------------------------------------------------ out= / grad_out=
def _embedded(shape: tuple, dtype: Any, pad: int = 3) -> Tuple[np.ndarray, np.ndarray]:
    n = math.prod(shape)
    buf = np.full(n + 2 * pad, 12345.0, dtype=dtype)
    buf[pad : pad + n] = np.nan
    return buf, buf[pad : pad + n].reshape(shape)


@pytest.mark.parametrize("case,shape", _params(CLASS_PLAIN_CASES + CLASS_RICH_CASES))
def test_out_buffers_are_filled_and_returned(case: ClassCase, shape: tuple) -> None:
    dtype = np.float32
    x, y, opts = case.data(shape, dtype, seed=42)
    for reduction in case.spec.reductions:
        want = case.call(x, y, opts, reduction=reduction, return_grad=True)
        want_only = case.call(x, y, opts, reduction=reduction)
        for mode in ("out", "grad_out", "both", "out_without_grad"):
            what = f"{reduction}, {mode}:"
            out_buf, out = _embedded(case.loss_shape(shape, reduction), dtype)
            grad_buf, grad_out = _embedded(shape, dtype)
            if mode == "out_without_grad":
                res = case.call(x, y, opts, reduction=reduction, out=out)
                assert res is out, what
                assert_bitwise(out, np.asarray(want_only), f"{what} out")
            else:
                kw: Dict[str, Any] = {}
                if mode in ("out", "both"):
                    kw["out"] = out
                if mode in ("grad_out", "both"):
                    kw["grad_out"] = grad_out
                loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, **kw)
                if "out" in kw:
                    assert loss is out, what
                assert_bitwise(np.asarray(loss), np.asarray(want[0]), f"{what} loss")
                if "grad_out" in kw:
                    assert grad is grad_out, what
                assert_bitwise(grad, want[1], f"{what} grad")
            for buf in (out_buf, grad_buf):
                assert np.all(buf[:3] == 12345.0) and np.all(buf[-3:] == 12345.0), f"{what} wrote outside the buffer"


@pytest.mark.parametrize("case", [ClassCase(CE, "smooth+weight+ignore"), ClassCase(SEQ, "lengths")], ids=case_id)
def test_no_input_sized_temporaries(case: ClassCase) -> None:
    shape = (250, 2, 500) if case.spec.sequence else (500, 500)
    x, y, opts = case.data(shape, np.float64, seed=43)
    for reduction in ("mean", "none"):
        out = np.empty(case.loss_shape(shape, reduction), np.float64)
        grad_out = np.empty(shape, np.float64)
        peak_with_buffers, peak_without = traced_peaks(
            lambda: case.call(x, y, opts, reduction=reduction, return_grad=True, out=out, grad_out=grad_out),
            lambda: case.call(x, y, opts, reduction=reduction, return_grad=True),
        )
        assert peak_with_buffers < 0.1 * x.nbytes, f"{reduction}: {peak_with_buffers} bytes with out=/grad_out="
        assert peak_without < 1.1 * x.nbytes, f"{reduction}: {peak_without} bytes allocated"


# ------------------------------------------------------------------ grad_output
@pytest.mark.parametrize("case,shape", _params(CLASS_RICH_CASES + CLASS_PLAIN_CASES))
@dtypes
def test_scalar_grad_output_scales_grad(case: ClassCase, shape: tuple, dtype: Any) -> None:
    x, y, opts = case.data(shape, dtype, seed=44)
    for reduction in case.spec.reductions:
        plain = case.call(x, y, opts, reduction=reduction)
        for go in (2.5, -0.75, 0.0, np.array(-3.0, dtype=dtype)):
            what = f"{reduction}, grad_output={go!r}:"
            loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
            check_grad_type(grad, shape, dtype)
            assert_close(loss, plain, dtype, rtol=16 * np.finfo(dtype).eps, what=f"{what} loss")
            assert_matches(case, x, y, opts, reduction, loss, grad, dtype, grad_output=go, what=what)


@pytest.mark.parametrize("case,shape", ALL)
def test_array_grad_output(case: ClassCase, shape: tuple) -> None:
    for dtype in DTYPES:
        x, y, opts = case.data(shape, dtype, seed=45)
        for reduction in [r for r in case.spec.reductions if r in ("none", "sequence")]:
            what = f"{np.dtype(dtype).name}, {reduction}:"
            go = _grad_output(case, shape, reduction, dtype, seed=46)
            loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
            assert_matches(case, x, y, opts, reduction, loss, grad, dtype, grad_output=go, what=what)
            if go.ndim:  # a strided grad_output and a list give bitwise the same gradient
                _, g_strided = case.call(
                    x, y, opts, reduction=reduction, return_grad=True, grad_output=make_layout(go, "negative")
                )
                assert_bitwise(g_strided, grad, f"{what} strided grad_output")
                _, g_list = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go.tolist())
                assert_bitwise(g_list, grad, f"{what} list grad_output")


# ------------------------------------------------------------------ layouts
def _layouts_for(shape: tuple) -> List[str]:
    return [lay for lay in LAYOUTS if lay != "contiguous" and (lay != "transposed" or len(shape) >= 2)]


@dtypes
@pytest.mark.parametrize("case,shape", ALL)
def test_any_layout_is_bitwise_the_contiguous_result(case: ClassCase, shape: tuple, dtype: Any) -> None:
    x, y, opts = case.data(shape, dtype, seed=47)
    wants = {
        r: (case.call(x, y, opts, reduction=r, return_grad=True), case.call(x, y, opts, reduction=r))
        for r in case.spec.reductions
    }
    for layout in _layouts_for(shape):
        xv = make_layout(x, layout)
        yv = make_layout(y, layout if y.ndim >= 2 else "negative") if y.ndim else y
        ov = {k: (make_layout(v, "negative") if isinstance(v, np.ndarray) else v) for k, v in opts.items()}
        for reduction, (want, want_only) in wants.items():
            for what, args in {
                "all strided": (xv, yv, ov),
                "logits strided": (xv, y, opts),
                "targets and options strided": (x, yv, ov),
            }.items():
                _assert_same(
                    case.call(*args, reduction=reduction, return_grad=True), want, f"{layout}, {what}, {reduction}:"
                )
                _assert_same(
                    case.call(*args, reduction=reduction), want_only, f"loss only, {layout}, {what}, {reduction}:"
                )
        assert_bitwise(xv, x, "strided input after the call")


def test_sequence_logits_sliced_from_a_wider_projection() -> None:
    """Decoder logits are often a view: every other time step of a longer batch, or a slice of
    the vocabulary axis; the result is the contiguous one."""
    case = ClassCase(SEQ, "lengths+weight+smooth+ignore")
    x, y, opts = case.data((3, 8, 33), np.float32, seed=48)
    big = np.zeros((3, 16, 40), np.float32)
    big[:, ::2, 5:38] = x
    view = big[:, ::2, 5:38]
    assert not view.flags.c_contiguous
    for reduction in SEQ.reductions:
        _assert_same(
            case.call(view, y, opts, reduction=reduction, return_grad=True),
            case.call(x, y, opts, reduction=reduction, return_grad=True),
            reduction,
        )


# ------------------------------------------------------------------ float32 accuracy
@pytest.mark.parametrize(
    "case",
    [
        ClassCase(CE, "smooth+weight+ignore"),
        ClassCase(CE, "probs+smooth+weight"),
        ClassCase(SEQ, "lengths+weight+smooth+ignore"),
    ],
    ids=case_id,
)
def test_float32_is_float64_to_float32_precision(case: ClassCase) -> None:
    """float32 results equal the float64 results of the same values to float32 rounding."""
    shape = (4, 32, 1000) if case.spec.sequence else (256, 1000)
    x, y, opts = case.data(shape, np.float32, seed=49)
    o64 = {
        k: (v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype == np.float32 else v) for k, v in opts.items()
    }
    y64 = y.astype(np.float64) if y.dtype == np.float32 else y
    for reduction in case.spec.reductions:
        l32, g32 = case.call(x, y, opts, reduction=reduction, return_grad=True)
        l64, g64 = case.call(x.astype(np.float64), y64, o64, reduction=reduction, return_grad=True)
        assert_close(l32, l64, np.float32, rtol=4e-6, what=f"{reduction} loss")
        assert_close(g32, g64, np.float32, rtol=4e-6, what=f"{reduction} grad")
        if reduction not in ("none", "sequence"):  # the reduction itself is float64: as exact as one rounding
            assert abs(float(l32) - float(l64)) <= 2e-6 * abs(float(l64)), (reduction, float(l32), float(l64))


# ------------------------------------------------------------------ module classes
@pytest.mark.parametrize("case,shape", ALL)
def test_module_class_equals_function(case: ClassCase, shape: tuple) -> None:
    x, y, opts = case.data(shape, np.float32, seed=50)
    ctor = {k: v for k, v in opts.items() if k in case.spec.ctor_options}
    per_call = {k: v for k, v in opts.items() if k in case.spec.call_options}
    assert set(ctor) | set(per_call) == set(opts)
    for reduction in case.spec.reductions:
        loss_fn = case.spec.cls(reduction=reduction, **ctor)
        for return_grad in (False, True):
            want = case.call(x, y, opts, reduction=reduction, return_grad=return_grad)
            _assert_same(loss_fn(x, y, return_grad=return_grad, **per_call), want, f"{reduction}, {return_grad}:")
        # the call takes the functions' keyword options
        lshape = case.loss_shape(shape, reduction)
        go = np.full(lshape, 0.5, np.float32) if reduction in ("none", "sequence") else 0.5
        out = np.empty(lshape, np.float32)
        grad_out = np.empty(shape, np.float32)
        res = loss_fn(x, y, return_grad=True, grad_output=go, out=out, grad_out=grad_out, n_threads=1, **per_call)
        assert res[0] is out and res[1] is grad_out
        want = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
        assert_bitwise(out, np.asarray(want[0]), reduction)
        assert_bitwise(grad_out, want[1], reduction)


@pytest.mark.parametrize("case", CLASS_PLAIN_CASES, ids=case_id)
def test_module_class_defaults(case: ClassCase) -> None:
    shape = next(iter(case.spec.shapes.values()))
    x, y, _ = case.data(shape, np.float64, seed=51)
    loss_fn = case.spec.cls()
    assert loss_fn.reduction == "mean" and loss_fn.ignore_index == -100 and loss_fn.weight is None
    assert_bitwise(loss_fn(x, y), case.call(x, y, {}, reduction="mean"))
    y2 = y.copy()
    y2.flat[-1] = -100  # the default ignore_index
    assert_bitwise(loss_fn(x, y2), case.call(x, y2, {}, reduction="mean"))


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "SequenceCrossEntropyLoss"])
def test_module_class_takes_n_threads(name: str) -> None:
    case = ClassCase(CE if name == "CrossEntropyLoss" else SEQ, "plain")
    shape = (2, 64, 2000) if case.spec.sequence else (128, 2000)
    x, y, _ = case.data(shape, np.float64, seed=52)
    want = case.call(x, y, {}, reduction="sum", return_grad=True, n_threads=1)
    _assert_same(case.spec.cls(reduction="sum", n_threads=2)(x, y, return_grad=True), want)


def test_public_names_exist() -> None:
    for spec in CLASS_SPECS:
        assert callable(getattr(fl, spec.name)) and spec.name in fl.__all__
        assert isinstance(getattr(fl, spec.module), type) and spec.module in fl.__all__


# ------------------------------------------------------------------ determinism
_THREAD_CASES = [
    pytest.param(
        ClassCase(CE, "smooth+weight+ignore"), (512, 1000), id="cross_entropy-(512,1000)-smooth+weight+ignore"
    ),
    pytest.param(ClassCase(CE, "plain"), (512, 1000), id="cross_entropy-(512,1000)"),
    pytest.param(ClassCase(CE, "probs+smooth+weight"), (512, 1000), id="cross_entropy-(512,1000)-probs"),
    pytest.param(ClassCase(CE, "smooth+weight+ignore"), (8, 100, 24, 32), id="cross_entropy-(8,100,24,32)-kdim"),
    pytest.param(ClassCase(NLL, "weight+ignore"), (512, 1000), id="nll_loss-(512,1000)"),
    pytest.param(ClassCase(SEQ, "lengths+weight+smooth+ignore"), (4, 16, 16384), id="sequence-(4,16,16384)-rich"),
    pytest.param(ClassCase(SEQ, "plain"), (4, 16, 16384), id="sequence-(4,16,16384)"),
    # rows longer than a 2^16-class piece: pieces of a row run on different threads
    pytest.param(ClassCase(CE, "plain"), (1, 300001), id="cross_entropy-(1,300001)"),
    pytest.param(
        ClassCase(CE, "smooth+weight+ignore"), (3, 150001), id="cross_entropy-(3,150001)-smooth+weight+ignore"
    ),
    pytest.param(ClassCase(CE, "probs+smooth+weight"), (3, 150001), id="cross_entropy-(3,150001)-probs"),
    pytest.param(ClassCase(SEQ, "lengths+weight+smooth+ignore"), (2, 3, 150001), id="sequence-(2,3,150001)-rich"),
]


@dtypes
@pytest.mark.parametrize("case,shape", _THREAD_CASES)
def test_bitwise_identical_for_every_thread_count(case: ClassCase, shape: tuple, dtype: Any) -> None:
    x, y, opts = case.data(shape, dtype, seed=53)
    for reduction in case.spec.reductions:
        go = _grad_output(case, shape, reduction, dtype)
        want = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go, n_threads=1)
        got = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go, n_threads=2)
        _assert_same(got, want, f"{reduction}, n_threads=2 vs 1:")
    _assert_same(case.call(x, y, opts, n_threads=2), case.call(x, y, opts, n_threads=1), "mean, loss only:")


# ------------------------------------------------------------------ property test
@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_random_shapes_match_reference(data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(CLASS_CASES), label="case")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    reduction = data.draw(st.sampled_from(case.spec.reductions), label="reduction")
    C = data.draw(st.integers(1, 9), label="C")
    if case.spec.sequence:
        shape = (data.draw(st.integers(0, 4), label="B"), data.draw(st.integers(0, 5), label="T"), C)
    else:
        extra = data.draw(st.lists(st.integers(0, 3), max_size=2), label="d")
        n = data.draw(st.integers(0, 5), label="N")
        shape = (C,) if data.draw(st.booleans(), label="1-D") else (n, C, *extra)
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    x, y, opts = case.data(shape, dtype, seed=seed)
    loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
    _check_types(case, loss, grad, shape, reduction, dtype)
    assert_matches(case, x, y, opts, reduction, loss, grad, dtype)
    assert np.all(np.isfinite(grad))
