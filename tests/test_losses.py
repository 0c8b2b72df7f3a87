"""Values and gradients of the registry's losses: vs the float64 NumPy reference,
vs PyTorch float64 autograd (skipped without torch), finite differences,
layouts, out=/grad_out= buffers, edge cases and module classes."""

from __future__ import annotations

import math
from typing import Any

import fastloss as fl
import numpy as np
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from registry import (
    CASES,
    DTYPES,
    LAYOUTS,
    PLAIN_AND_RICH,
    PLAIN_CASES,
    REDUCTIONS,
    RICH_CASES,
    SPEC_BY_NAME,
    SPECS,
    WEIGHTED_CASES,
    Case,
    assert_bitwise,
    assert_close,
    assert_matches,
    case_id,
    check_grad_type,
    check_loss_type,
    make_layout,
    natural_floors,
    torch_reference,
    traced_peaks,
)

SHAPE = (23, 17)
FD_SHAPE = (3, 4)

all_cases = pytest.mark.parametrize("case", CASES, ids=case_id)
plain_cases = pytest.mark.parametrize("case", PLAIN_CASES, ids=case_id)
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
reductions = pytest.mark.parametrize("reduction", REDUCTIONS)

BCE = SPEC_BY_NAME["binary_cross_entropy"]
BCE_LOGITS = SPEC_BY_NAME["binary_cross_entropy_with_logits"]


def _copies(x: np.ndarray, y: np.ndarray, opts: dict) -> tuple:
    return x.copy(), y.copy(), {k: v.copy() for k, v in opts.items()}


# ------------------------------------------------------------------ value and grad
@reductions
@dtypes
@all_cases
def test_matches_reference(case: Case, dtype: Any, reduction: str) -> None:
    x, y, opts = case.data(SHAPE, dtype)
    x0, y0, opts0 = _copies(x, y, opts)

    loss_only = case.call(x, y, opts, reduction=reduction)
    loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)

    check_loss_type(loss_only, reduction, SHAPE, dtype)
    check_loss_type(loss, reduction, SHAPE, dtype)
    check_grad_type(grad, SHAPE, dtype)
    assert_matches(case, x, y, opts, reduction, loss_only, None, dtype, what="return_grad=False:")
    assert_matches(case, x, y, opts, reduction, loss, grad, dtype, what="return_grad=True:")
    # the inputs are read, never written
    assert_bitwise(x, x0, "input after the call")
    assert_bitwise(y, y0, "target after the call")
    for k in opts:
        assert_bitwise(opts[k], opts0[k], f"{k} after the call")


@reductions
@dtypes
@all_cases
def test_matches_torch_float64_autograd(torch: Any, case: Case, dtype: Any, reduction: str) -> None:
    x, y, opts = case.data(SHAPE, dtype, seed=1)
    go = -1.5 if reduction != "none" else np.random.default_rng(5).standard_normal(SHAPE).astype(dtype)
    loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
    expected = torch_reference(case, x, y, opts, reduction, go)
    assert_matches(case, x, y, opts, reduction, loss, grad, dtype, grad_output=go, expected=expected, what="vs torch:")


@pytest.mark.parametrize("layout", [lay for lay in LAYOUTS if lay != "contiguous"])
@reductions
@dtypes
@all_cases
def test_any_layout_is_bitwise_the_contiguous_result(case: Case, dtype: Any, reduction: str, layout: str) -> None:
    x, y, opts = case.data(SHAPE, dtype, seed=2)
    expected = case.call(x, y, opts, reduction=reduction, return_grad=True)
    expected_only = case.call(x, y, opts, reduction=reduction)

    xv, yv = make_layout(x, layout), make_layout(y, layout)
    # full-shape option arrays take the same layout; broadcast ones stay as they are
    ov = {k: (make_layout(v, layout) if v.shape == SHAPE else v) for k, v in opts.items()}
    for what, args in {
        "input and target strided": (xv, yv, ov),
        "input strided": (xv, y, opts),
        "target strided": (x, yv, opts),
    }.items():
        loss, grad = case.call(*args, reduction=reduction, return_grad=True)
        assert_bitwise(loss, expected[0], f"loss, {layout}, {what}")
        assert_bitwise(grad, expected[1], f"grad, {layout}, {what}")
        assert_bitwise(case.call(*args, reduction=reduction), expected_only, f"loss only, {layout}, {what}")
    assert_bitwise(xv, x, "strided input after the call")


@dtypes
@all_cases
def test_loss_value_does_not_depend_on_return_grad(case: Case, dtype: Any) -> None:
    x, y, opts = case.data((1000,), dtype, seed=3)
    for reduction in REDUCTIONS:
        a = case.call(x, y, opts, reduction=reduction)
        b, _ = case.call(x, y, opts, reduction=reduction, return_grad=True)
        assert_close(a, b, dtype, rtol=16 * np.finfo(dtype).eps, what=reduction)


# ------------------------------------------------------------------------ grad_output
@pytest.mark.parametrize("go_kind", ["positive", "negative", "zero", "0-d array"])
@reductions
@dtypes
@all_cases
def test_scalar_grad_output_scales_grad(case: Case, dtype: Any, reduction: str, go_kind: str) -> None:
    go = {"positive": 2.5, "negative": -0.75, "zero": 0.0, "0-d array": np.array(-3.0, dtype=dtype)}[go_kind]
    x, y, opts = case.data(SHAPE, dtype, seed=4)
    plain_loss = case.call(x, y, opts, reduction=reduction)
    loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
    check_grad_type(grad, SHAPE, dtype)
    assert_close(loss, plain_loss, dtype, rtol=16 * np.finfo(dtype).eps, what="loss unaffected by grad_output")
    assert_matches(case, x, y, opts, reduction, loss, grad, dtype, grad_output=go, what=f"grad_output={go!r}:")


@dtypes
@all_cases
def test_array_grad_output_for_none(case: Case, dtype: Any) -> None:
    x, y, opts = case.data(SHAPE, dtype, seed=5)
    go = np.random.default_rng(7).standard_normal(SHAPE).astype(dtype)
    loss, grad = case.call(x, y, opts, reduction="none", return_grad=True, grad_output=go)
    assert_matches(case, x, y, opts, "none", loss, grad, dtype, grad_output=go)
    # a strided grad_output and a Python list give bitwise the same gradient
    _, grad_strided = case.call(x, y, opts, reduction="none", return_grad=True, grad_output=make_layout(go, "negative"))
    assert_bitwise(grad_strided, grad, "grad with a strided grad_output")
    _, grad_list = case.call(x, y, opts, reduction="none", return_grad=True, grad_output=go.tolist())
    assert_bitwise(grad_list, grad, "grad with a list grad_output")


# ------------------------------------------------------------------ finite differences
@reductions
@all_cases
def test_grad_matches_finite_differences(case: Case, reduction: str) -> None:
    x, y, opts = case.data(FD_SHAPE, np.float64, seed=6)
    go = np.random.default_rng(8).standard_normal(FD_SHAPE) if reduction == "none" else 1.0

    def f(xx: np.ndarray) -> float:
        return float(np.sum(go * case.call(xx, y, opts, reduction=reduction)))

    _, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
    fd = ref.central_fd(f, x)
    assert_close(grad, fd, np.float64, rtol=1e-6, what="grad vs central finite differences")


@reductions
@all_cases
def test_reference_grad_matches_finite_differences(case: Case, reduction: str) -> None:
    """The oracle checks itself: its analytic gradient against its own loss."""
    x, y, opts = case.data(FD_SHAPE, np.float64, seed=6)

    def f(xx: np.ndarray) -> float:
        return float(np.sum(case.reference(xx, y, opts, reduction)[0]))

    fd = ref.central_fd(f, x)
    assert_close(case.reference(x, y, opts, reduction)[1], fd, np.float64, rtol=1e-6)


# ------------------------------------------------------------------- out= / grad_out=
def _embedded(shape: tuple, dtype: Any, pad: int = 3) -> tuple:
    """A C-contiguous, NaN-filled view of ``shape`` inside a larger sentinel-filled buffer."""
    n = math.prod(shape)
    buf = np.full(n + 2 * pad, 12345.0, dtype=dtype)
    buf[pad : pad + n] = np.nan
    view = buf[pad : pad + n].reshape(shape)
    assert view.flags.c_contiguous and view.flags.writeable and view.base is not None
    return buf, view


@pytest.mark.parametrize("mode", ["out", "grad_out", "both", "out_without_grad"])
@reductions
@dtypes
@all_cases
def test_out_buffers_are_filled_and_returned(case: Case, dtype: Any, reduction: str, mode: str) -> None:
    x, y, opts = case.data(SHAPE, dtype, seed=9)
    want_loss, want_grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
    want_loss_only = case.call(x, y, opts, reduction=reduction)
    out_shape = SHAPE if reduction == "none" else ()
    out_buf, out = _embedded(out_shape, dtype)
    grad_buf, grad_out = _embedded(SHAPE, dtype)

    if mode == "out_without_grad":
        res = case.call(x, y, opts, reduction=reduction, out=out)
        assert res is out
        assert_bitwise(out, np.asarray(want_loss_only), "out")
    else:
        kw = {}
        if mode in ("out", "both"):
            kw["out"] = out
        if mode in ("grad_out", "both"):
            kw["grad_out"] = grad_out
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, **kw)
        if "out" in kw:
            assert loss is out
            assert_bitwise(out, np.asarray(want_loss), "out")
        else:
            assert_bitwise(loss, want_loss, "loss")
        if "grad_out" in kw:
            assert grad is grad_out
        assert_bitwise(grad, want_grad, "grad")
    # nothing was written outside the buffers
    for buf in (out_buf, grad_buf):
        assert np.all(buf[:3] == 12345.0) and np.all(buf[-3:] == 12345.0), "wrote outside the buffer"


@pytest.mark.parametrize("reduction", ["mean", "none"])
@all_cases
def test_no_input_sized_temporaries(case: Case, reduction: str) -> None:
    """Contiguous inputs + out/grad_out: no allocation of input size (API §1)."""
    shape = (1000, 500)
    x, y, opts = case.data(shape, np.float64, seed=10)
    out = np.empty(shape if reduction == "none" else (), np.float64)
    grad_out = np.empty(shape, np.float64)
    peak_with_buffers, peak_without = traced_peaks(
        lambda: case.call(x, y, opts, reduction=reduction, return_grad=True, out=out, grad_out=grad_out),
        lambda: case.call(x, y, opts, reduction=reduction, return_grad=True),
    )
    assert peak_with_buffers < 0.25 * x.nbytes, f"{peak_with_buffers} bytes allocated with out=/grad_out="
    n_outputs = 2 if reduction == "none" else 1  # loss array + grad
    assert peak_without < (n_outputs + 0.25) * x.nbytes, f"{peak_without} bytes allocated"


# ------------------------------------------------------------------------ edge cases
@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4)], ids=str)
@reductions
@dtypes
@all_cases
def test_empty_input(case: Case, dtype: Any, reduction: str, shape: tuple) -> None:
    x, y, opts = case.data(shape, dtype)
    loss = case.call(x, y, opts, reduction=reduction)
    loss2, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
    for value in (loss, loss2):
        check_loss_type(value, reduction, shape, dtype)
        if reduction == "mean":
            assert np.isnan(value)
        elif reduction == "sum":
            assert value == 0
        else:
            assert value.size == 0
    check_grad_type(grad, shape, dtype)


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (2, 1, 3)], ids=str)
@reductions
@dtypes
@all_cases
def test_small_and_0d_inputs(case: Case, dtype: Any, reduction: str, shape: tuple) -> None:
    x, y, opts = case.data(shape, dtype, seed=11)
    loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
    check_loss_type(loss, reduction, shape, dtype)
    check_grad_type(grad, shape, dtype)
    assert_matches(case, x, y, opts, reduction, loss, grad, dtype)


@pytest.mark.parametrize("where", ["input", "target"])
@reductions
@dtypes
@pytest.mark.parametrize("case", PLAIN_AND_RICH, ids=case_id)
def test_nan_propagates(case: Case, dtype: Any, reduction: str, where: str) -> None:
    shape, pos = (5, 4), (2, 1)
    x, y, opts = case.data(shape, dtype, seed=12)
    (x if where == "input" else y)[pos] = np.nan
    loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
    with np.errstate(invalid="ignore"):
        ref_loss, ref_grad = case.reference(x, y, opts, reduction)
    others = np.ones(shape, bool)
    others[pos] = False
    loss_floor, grad_floor = natural_floors(x, opts, reduction)
    if where == "target" and not case.spec.nan_target_propagates:  # the label selects terms (hinge)
        assert_close(loss, ref_loss, dtype, floor=loss_floor, what="loss")
        assert_close(grad, ref_grad, dtype, floor=grad_floor, what="grad")
        return
    if reduction == "none":
        assert np.isnan(loss[pos]), "NaN did not propagate to its element's loss"
        assert_close(loss[others], ref_loss[others], dtype, floor=loss_floor, what="other elements' loss")
    else:
        assert np.isnan(loss), "NaN did not propagate to the reduced loss"
    assert_close(grad[others], ref_grad[others], dtype, floor=grad_floor, what="other elements' grad")
    if case.spec.nan_grad_propagates:
        assert np.isnan(grad[pos]), "NaN did not propagate to its element's grad"


@dtypes
def test_l1_grad_is_zero_at_ties(dtype: Any) -> None:
    x = np.array([0.5, -1.0, 2.0, 3.0, 0.0], dtype=dtype)
    y = np.array([0.5, 1.0, 2.0, 1.0, 0.0], dtype=dtype)
    for reduction in REDUCTIONS:
        loss, grad = fl.l1_loss(x, y, reduction=reduction, return_grad=True)
        ref_loss, ref_grad = ref.reduce(*ref.l1_elementwise(x, y), reduction)
        assert_close(loss, ref_loss, dtype)
        assert_close(grad, ref_grad, dtype)
        assert np.all(grad[x == y] == 0)
        assert np.all(grad[x != y] != 0)


_EXTREME_X = [1e4, -1e4, 1e4, -1e4, 1e4, -1e4, 0.0, 50.0, -50.0, 1e4, -1e4]
_EXTREME_Y = [0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 1.0, 0.0, 1.0, 0.25, 0.75]


@pytest.mark.parametrize("opt_kind", ["plain", "pos_weight", "weight+pos_weight"])
@reductions
@dtypes
def test_bce_with_logits_is_finite_for_huge_logits(dtype: Any, reduction: str, opt_kind: str) -> None:
    x = np.array(_EXTREME_X, dtype=dtype)
    y = np.array(_EXTREME_Y, dtype=dtype)
    opts = {}
    if "pos_weight" in opt_kind:
        opts["pos_weight"] = np.linspace(0.5, 3.0, x.size).astype(dtype)
    if "weight+" in opt_kind:
        opts["weight"] = np.array(2.0, dtype=dtype)
    loss, grad = fl.binary_cross_entropy_with_logits(x, y, reduction=reduction, return_grad=True, **opts)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    assert_matches(Case(BCE_LOGITS, "plain"), x, y, opts, reduction, loss, grad, dtype)


def test_bce_with_logits_huge_logits_vs_torch(torch: Any) -> None:
    x = np.array(_EXTREME_X)
    y = np.array(_EXTREME_Y)
    opts = {"pos_weight": np.linspace(0.5, 3.0, x.size)}
    case = Case(BCE_LOGITS, "plain")
    for reduction in REDUCTIONS:
        loss, grad = fl.binary_cross_entropy_with_logits(x, y, reduction=reduction, return_grad=True, **opts)
        expected = torch_reference(case, x, y, opts, reduction)
        assert_matches(case, x, y, opts, reduction, loss, grad, np.float64, expected=expected)


_EXACT_X = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5, 0.5]
_EXACT_Y = [0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.0, 1.0]


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
@reductions
@dtypes
def test_bce_at_exactly_zero_and_one(dtype: Any, reduction: str, weighted: bool) -> None:
    x = np.array(_EXACT_X, dtype=dtype)
    y = np.array(_EXACT_Y, dtype=dtype)
    opts = {"weight": np.linspace(0.5, 2.0, x.size).astype(dtype)} if weighted else {}
    loss, grad = fl.binary_cross_entropy(x, y, reduction=reduction, return_grad=True, **opts)
    assert not np.any(np.isnan(loss)) and not np.any(np.isnan(grad))
    ref_loss, ref_grad = Case(BCE, "plain").reference(x, y, opts, reduction)
    assert_close(loss, ref_loss, dtype, what="loss")
    # compare the clamped (|grad| ~ 1e12) and the ordinary gradients each at their own scale
    clamped = x * (1 - x) < 1e-12
    assert_close(grad[clamped], ref_grad[clamped], dtype, what="grad where x(1-x) is clamped")
    assert_close(grad[~clamped], ref_grad[~clamped], dtype, what="other grads")
    # torch's documented behaviour: zero gradient where x == y in {0, 1}, and the
    # log clamp at -100 gives loss 100 (x weight) for a confidently wrong prediction
    tie = (x == y) & ((x == 0) | (x == 1))
    assert np.all(grad[tie] == 0)
    if reduction == "none":
        w = opts.get("weight", np.ones_like(x))
        assert np.all(loss[tie] == 0)
        wrong = (x + y == 1) & (x * y == 0)
        np.testing.assert_allclose(loss[wrong], 100.0 * w[wrong].astype(np.float64), rtol=1e-6)


@reductions
def test_bce_at_exactly_zero_and_one_vs_torch(torch: Any, reduction: str) -> None:
    x, y = np.array(_EXACT_X), np.array(_EXACT_Y)
    loss, grad = fl.binary_cross_entropy(x, y, reduction=reduction, return_grad=True)
    t_loss, t_grad = torch_reference(Case(BCE, "plain"), x, y, {}, reduction)
    assert_close(loss, t_loss, np.float64)
    # torch's CPU kernel clamps x(1-x) at float(1e-12) = 9.99999996e-13 even in float64,
    # fastloss (and the contract) at 1e-12: the clamped gradients differ by 4e-9 relative.
    clamped = x * (1 - x) < 1e-12
    assert_close(grad[~clamped], t_grad[~clamped], np.float64)
    assert_close(grad[clamped], t_grad[clamped], np.float64, rtol=1e-8)


@dtypes
@pytest.mark.parametrize("case", WEIGHTED_CASES, ids=case_id)
def test_weighted_mean_divides_by_element_count(case: Case, dtype: Any) -> None:
    x, y, opts = case.data(SHAPE, dtype, seed=13)
    mean, gmean = case.call(x, y, opts, reduction="mean", return_grad=True)
    total, gsum = case.call(x, y, opts, reduction="sum", return_grad=True)
    n = x.size
    assert_close(mean, np.float64(total) / n, dtype, what="mean == sum / N")
    assert_close(gmean, gsum.astype(np.float64) / n, dtype, what="mean grad == sum grad / N")


# ------------------------------------------------------------ weight / pos_weight shapes
_BROADCAST = [
    # (loss, option, input shape, option shape)
    *[("binary_cross_entropy", "weight", (4, 3), s) for s in [(3,), (4, 1), (1, 3), (), (1, 1), (4, 3)]],
    *[("binary_cross_entropy", "weight", (2, 4, 3), s) for s in [(3,), (4, 3), (2, 1, 1), (1, 4, 1), (4, 1)]],
    *[("binary_cross_entropy_with_logits", "pos_weight", (4, 3), s) for s in [(3,), (1, 3), (4, 1), (), (4, 3)]],
    *[("binary_cross_entropy_with_logits", "pos_weight", (2, 4, 3), s) for s in [(3,), (4, 3), (2, 1, 3), (2, 1, 1)]],
    *[("binary_cross_entropy_with_logits", "weight", (4, 3), s) for s in [(4, 1), (3,), ()]],
    *[("binary_cross_entropy_with_logits", "weight", (2, 4, 3), s) for s in [(4, 3), (2, 1, 1)]],
    ("binary_cross_entropy", "weight", (7,), (1,)),
    ("binary_cross_entropy_with_logits", "pos_weight", (7,), (1,)),
]


def _broadcast_data(loss: str, option: str, shape: tuple, oshape: tuple, dtype: Any) -> tuple:
    case = Case(SPEC_BY_NAME[loss], "plain")
    x, y, _ = case.data(shape, dtype, seed=14)
    rng = np.random.default_rng(15)
    opts = {option: rng.uniform(0.5, 2.5, oshape).astype(dtype)}
    if option == "pos_weight":  # both at once as well
        opts["weight"] = rng.uniform(0.5, 2.0, shape[-1:]).astype(dtype)
    return case, x, y, opts


@pytest.mark.parametrize("loss,option,shape,oshape", _BROADCAST, ids=lambda v: str(v))
@dtypes
def test_option_broadcasting_vs_reference(loss: str, option: str, shape: tuple, oshape: tuple, dtype: Any) -> None:
    case, x, y, opts = _broadcast_data(loss, option, shape, oshape, dtype)
    for reduction in REDUCTIONS:
        got, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        assert_matches(case, x, y, opts, reduction, got, grad, dtype, what=reduction)


@pytest.mark.parametrize("loss,option,shape,oshape", _BROADCAST, ids=lambda v: str(v))
def test_option_broadcasting_vs_torch(torch: Any, loss: str, option: str, shape: tuple, oshape: tuple) -> None:
    case, x, y, opts = _broadcast_data(loss, option, shape, oshape, np.float64)
    for reduction in REDUCTIONS:
        got, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
        expected = torch_reference(case, x, y, opts, reduction)
        assert_matches(case, x, y, opts, reduction, got, grad, np.float64, expected=expected, what=reduction)


@dtypes
def test_strided_option_arrays(dtype: Any) -> None:
    case, x, y, _ = _broadcast_data("binary_cross_entropy_with_logits", "pos_weight", (6, 5), (5,), dtype)
    rng = np.random.default_rng(16)
    w = rng.uniform(0.5, 2.0, (6, 5)).astype(dtype)
    pw = rng.uniform(0.5, 2.0, (10,)).astype(dtype)[::-2]  # negative stride, shape (5,)
    want = case.call(x, y, {"weight": w.copy(), "pos_weight": pw.copy()}, reduction="sum", return_grad=True)
    got = case.call(x, y, {"weight": make_layout(w, "transposed"), "pos_weight": pw}, reduction="sum", return_grad=True)
    assert_bitwise(got[0], want[0])
    assert_bitwise(got[1], want[1])


# ------------------------------------------------------------------- list inputs
@plain_cases
def test_list_input_gives_float64(case: Case) -> None:
    x, y, _ = case.data((6,), np.float64, seed=17)
    for reduction in REDUCTIONS:
        want = case.call(x, y, {}, reduction=reduction, return_grad=True)
        got = case.call(x.tolist(), y.tolist(), {}, reduction=reduction, return_grad=True)
        check_loss_type(got[0], reduction, (6,), np.float64)
        assert_bitwise(got[0], want[0], reduction)
        assert_bitwise(got[1], want[1], reduction)


@plain_cases
def test_integer_valued_list_input_gives_float64(case: Case) -> None:
    # "a list input becomes float64" (README; the brief), even when every entry is a Python int
    x = [0, 1, 1, 0]
    y = [0, 1, 0, 1]
    got = case.call(x, y, {}, reduction="none", return_grad=True)
    want = case.call(np.array(x, np.float64), np.array(y, np.float64), {}, reduction="none", return_grad=True)
    assert_bitwise(got[0], want[0])
    assert_bitwise(got[1], want[1])


@dtypes
@all_cases
def test_list_target_and_options_take_input_dtype(case: Case, dtype: Any) -> None:
    x, y, opts = case.data((3, 4), dtype, seed=18)
    want_loss, want_grad = case.call(x, y, opts, reduction="sum", return_grad=True)
    list_opts = {k: v.tolist() for k, v in opts.items()}
    loss, grad = case.call(x, y.tolist(), list_opts, reduction="sum", return_grad=True)
    check_loss_type(loss, "sum", (3, 4), dtype)
    assert_bitwise(loss, want_loss)
    assert_bitwise(grad, want_grad)


# -------------------------------------------------------------------- module classes
@pytest.mark.parametrize("return_grad", [False, True])
@reductions
@all_cases
def test_module_class_equals_function(case: Case, reduction: str, return_grad: bool) -> None:
    x, y, opts = case.data(SHAPE, np.float32, seed=19)
    ctor = {k: v for k, v in opts.items() if k in case.spec.ctor_options}
    assert set(ctor) == set(opts)
    loss_fn = case.spec.cls(reduction=reduction, **ctor)
    want = case.call(x, y, opts, reduction=reduction, return_grad=return_grad)
    got = loss_fn(x, y, return_grad=return_grad)
    if return_grad:
        assert_bitwise(got[0], want[0])
        assert_bitwise(got[1], want[1])
    else:
        assert_bitwise(got, want)
    # the call accepts the functions' keyword options
    go = 0.5 if reduction != "none" else np.full(SHAPE, 0.5, np.float32)
    out = np.empty(SHAPE if reduction == "none" else (), np.float32)
    grad_out = np.empty(SHAPE, np.float32)
    res = loss_fn(x, y, return_grad=True, grad_output=go, out=out, grad_out=grad_out, n_threads=1)
    assert res[0] is out and res[1] is grad_out
    want = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go)
    assert_bitwise(out, np.asarray(want[0]))
    assert_bitwise(grad_out, want[1])


@plain_cases
def test_module_class_defaults_to_the_functions_reduction(case: Case) -> None:
    """ "mean" (torch's default), or "none" for sigmoid_focal_loss (torchvision's)."""
    x, y, _ = case.data(SHAPE, np.float64, seed=20)
    assert_bitwise(case.spec.cls()(x, y), case.call(x, y, {}))
    default = "none" if case.spec.name == "sigmoid_focal_loss" else "mean"
    assert_bitwise(case.spec.cls()(x, y), case.call(x, y, {}, reduction=default))


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss"])
def test_module_class_takes_n_threads(name: str) -> None:
    case = Case(SPEC_BY_NAME["mse_loss" if name == "MSELoss" else "l1_loss"], "plain")
    x, y, _ = case.data((100_000,), np.float64, seed=21)
    want = case.call(x, y, {}, reduction="sum", return_grad=True)
    got = getattr(fl, name)(reduction="sum", n_threads=2)(x, y, return_grad=True)
    assert_bitwise(got[0], want[0])
    assert_bitwise(got[1], want[1])


def test_mae_loss_is_l1_loss() -> None:
    assert fl.mae_loss is fl.l1_loss


def test_public_names_exist() -> None:
    for spec in SPECS:
        assert callable(getattr(fl, spec.name))
        assert isinstance(getattr(fl, spec.module), type)
        for alias in spec.aliases:
            assert getattr(fl, alias) is getattr(fl, spec.name)


# --------------------------------------------------------------- float32 accuracy
@pytest.mark.parametrize("case", RICH_CASES, ids=case_id)
def test_float32_accuracy_on_ten_million_elements(case: Case) -> None:
    n = 10**7
    x, y, opts = case.data((n,), np.float32, seed=22)
    # float64 reference of the same float32 values, in chunks (bounded memory), fsum of chunk sums
    chunk = 10**6
    parts = []
    for i in range(0, n, chunk):
        sl = slice(i, i + chunk)
        o = {k: (v if v.ndim == 0 else v[sl] if v.shape == (n,) else v) for k, v in opts.items()}
        parts.append(float(np.sum(case.spec.reference(x[sl], y[sl], **case.spec.settings, **o)[0])))
    ref_sum = math.fsum(parts)
    ref_mean = ref_sum / n
    loss_mean = case.call(x, y, opts, reduction="mean")
    loss_sum, grad = case.call(x, y, opts, reduction="sum", return_grad=True)
    assert type(loss_mean) is np.float32 and type(loss_sum) is np.float32
    assert abs(float(loss_mean) - ref_mean) <= 1e-6 * abs(ref_mean), (float(loss_mean), ref_mean)
    assert abs(float(loss_sum) - ref_sum) <= 1e-6 * abs(ref_sum), (float(loss_sum), ref_sum)
    o = {k: (v if v.ndim == 0 else v[:chunk] if v.shape == (n,) else v) for k, v in opts.items()}
    assert_close(
        grad[:chunk], case.spec.reference(x[:chunk], y[:chunk], **case.spec.settings, **o)[1], np.float32, what="grad"
    )


# ----------------------------------------------------------------- property tests
def _hyp_floats(lo: float, hi: float, dtype: Any) -> st.SearchStrategy:
    return st.floats(lo, hi, width=32 if np.dtype(dtype) == np.float32 else 64)


@settings(max_examples=80, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_random_shapes_and_values_match_reference(data: st.DataObject) -> None:
    case = data.draw(st.sampled_from(CASES), label="case")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    reduction = data.draw(st.sampled_from(case.spec.reductions), label="reduction")
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5), label="shape")
    x = data.draw(hnp.arrays(dtype, shape, elements=_hyp_floats(*case.spec.input_range, dtype)), label="x")
    y = data.draw(hnp.arrays(dtype, shape, elements=_hyp_floats(*case.spec.target_range, dtype)), label="y")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    opts = case.spec.variants[case.variant](np.random.default_rng(seed), shape, dtype)
    loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
    check_loss_type(loss, reduction, shape, dtype)
    check_grad_type(grad, shape, dtype)
    ref_loss, ref_grad = case.reference(x, y, opts, reduction)
    tiny = float(np.finfo(dtype).tiny)  # results below the normal range lose precision
    loss_floor, grad_floor = natural_floors(x, opts, reduction)
    a, e = np.asarray(loss, np.float64), np.asarray(ref_loss, np.float64)
    assert_close(
        np.where(np.abs(e) < 4 * tiny, 0, a), np.where(np.abs(e) < 4 * tiny, 0, e), dtype, floor=loss_floor, what="loss"
    )
    a, e = np.asarray(grad, np.float64), np.asarray(ref_grad, np.float64)
    assert_close(
        np.where(np.abs(e) < 4 * tiny, 0, a), np.where(np.abs(e) < 4 * tiny, 0, e), dtype, floor=grad_floor, what="grad"
    )


@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from(CASES),
    dtype=st.sampled_from(DTYPES),
    reduction=st.sampled_from(REDUCTIONS),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
    steps=st.lists(st.sampled_from([-3, -2, -1, 1, 2]), min_size=3, max_size=3),
    transpose=st.booleans(),
)
def test_property_strided_views_are_bitwise_contiguous(
    case: Case, dtype: Any, reduction: str, shape: tuple, steps: list, transpose: bool
) -> None:
    x, y, opts = case.data(shape, dtype, seed=23)

    def view(a: np.ndarray) -> np.ndarray:
        st_ = steps[: a.ndim]
        src = np.transpose(a) if transpose else a  # the view is transposed back below
        buf = np.zeros(tuple(abs(s) * n for s, n in zip(st_, src.shape)), dtype=a.dtype)
        v = buf[tuple(slice(None, None, s) for s in st_)][tuple(slice(0, n) for n in src.shape)]
        v[...] = src
        return np.transpose(v) if transpose else v

    xv, yv = view(x), view(y)
    assert_bitwise(xv, x)
    want = case.call(x, y, opts, reduction=reduction, return_grad=True)
    got = case.call(xv, yv, opts, reduction=reduction, return_grad=True)
    assert_bitwise(got[0], want[0], "loss")
    assert_bitwise(got[1], want[1], "grad")
