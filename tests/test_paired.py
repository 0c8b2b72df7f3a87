"""The losses with two differentiable inputs, ``margin_ranking_loss`` (gradients w.r.t. input1 and
input2) and ``gaussian_nll_loss`` (w.r.t. input and var, var in each shape torch allows), and
their classes: torch float64 autograd parity (every reduction, margin, full / eps with var below
eps, 0- and 1-size axes, ties), the float64 NumPy reference and central finite differences, NaN
propagation (and margin ranking's documented difference from torch), errors and their messages,
out= / grad_out= buffers (in place over the inputs too), strided and misaligned inputs, thread
determinism, and float16 / bfloat16 against the float32 call and the float64 reference."""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional, Tuple

import fastloss as fl
import numpy as np
import pytest
import reference as ref
from registry import (
    HALF,
    REDUCTIONS,
    assert_bitwise,
    assert_close,
    assert_gradients_match_finite_differences,
    go_cases,
    grad_output_of,
    make_layout,
)
from registry import as_float64 as _f64
from registry import half_ulp as _ulp
from registry import rounded as _rounded

Args = List[np.ndarray]
Shape = Tuple[int, ...]
FN: Dict[str, Callable[..., Any]] = {"margin": fl.margin_ranking_loss, "gaussian": fl.gaussian_nll_loss}
REF: Dict[str, Callable[..., Any]] = {"margin": ref.margin_ranking_loss, "gaussian": ref.gaussian_nll_loss}
DIFF = {"margin": (0, 1), "gaussian": (0, 2)}  # the two differentiable arguments
SETTINGS: Dict[str, Dict[str, Any]] = {"margin": {"margin": 0.5}, "gaussian": {"full": True, "eps": 0.5}}
reductions = pytest.mark.parametrize("reduction", REDUCTIONS)


def _data(
    name: str, shape: Shape, var_shape: Optional[Shape] = None, dtype: Any = np.float64, *, seed: int = 0, **kw: Any
) -> Args:
    """margin: (input1, input2, target) with margin - target (input1 - input2) of magnitude in
    [gap, 1.5], targets mostly +-1; gaussian: (input, target, var), var in [0.2, 2] (with
    below_eps, also values in [0, 0.5) and exact zeros)."""
    rng = np.random.default_rng([seed, len(shape), *shape])
    if name == "margin":
        x2 = rng.standard_normal(shape)
        y = rng.choice([-1.0, 1.0, -1.0, 1.0, 0.5, -2.0], shape)
        z = rng.uniform(kw.get("gap", 0.0), 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        args = [x2 + (kw.get("margin", 0.0) - z) / y, x2, y]
    else:
        x = rng.standard_normal(shape)
        var = np.asarray(rng.uniform(0.2, 2.0, shape if var_shape is None else var_shape))
        if kw.get("below_eps"):
            var.flat[::3] = rng.uniform(0.0, 0.5, var.flat[::3].shape)
            var.flat[::7] = 0.0
        args = [x, x + 0.8 * rng.standard_normal(shape), var]
    return [np.asarray(a).astype(dtype) for a in args]


def _go(go: Optional[float], shape: Shape, dtype: Any = np.float64) -> Any:
    return grad_output_of(go, shape, dtype)


def _call(name: str, args: Args, reduction: str = "mean", settings: Optional[Dict[str, Any]] = None, **kw: Any) -> Any:
    s = SETTINGS[name] if settings is None else settings
    return FN[name](*args, reduction=reduction, return_grad=True, **s, **kw)


def _ref(name: str, args: Args, reduction: str, settings: Dict[str, Any], grad_output: Any = 1.0) -> Any:
    return REF[name](*args, **settings, reduction=reduction, grad_output=grad_output)


def _torch(torch: Any, name: str, args: Args, settings: Dict[str, Any], reduction: str, go: Any) -> Any:
    """(loss, grads) from torch float64 autograd, requires_grad on the two differentiable arguments
    (a 0-d var is expanded to the input's shape, so its gradient is the sum)."""
    F = torch.nn.functional
    ts = [torch.from_numpy(np.array(a, dtype=np.float64)) for a in args]
    for k in DIFF[name]:
        ts[k].requires_grad_(True)
    if name == "margin":
        loss = F.margin_ranking_loss(*ts, reduction=reduction, **settings)
    else:
        x, t, v = ts
        loss = F.gaussian_nll_loss(x, t, v * torch.ones_like(x) if v.ndim == 0 else v, reduction=reduction, **settings)
    loss.backward(torch.broadcast_to(torch.tensor(np.asarray(go, dtype=np.float64)), loss.shape))
    return loss.detach().numpy(), tuple(ts[k].grad.numpy() for k in DIFF[name])


def _assert_close(got: Any, want: Any, dtype: Any, reduction: str, n: int) -> None:
    assert_close(got[0], want[0], dtype, floor=8.0 * (n if reduction == "sum" else 1), what="loss")
    for k in (0, 1):
        assert np.shape(got[1][k]) == np.shape(want[1][k])
        assert_close(got[1][k], want[1][k], dtype, what=f"grad {k}")


def _assert_same(got: Any, want: Any) -> None:
    assert_bitwise(got[0], want[0], "loss")
    for k in (0, 1):
        assert_bitwise(got[1][k], want[1][k], f"grad {k}")


def _misaligned(a: np.ndarray) -> np.ndarray:
    """A writeable C-contiguous copy of ``a`` at an odd address."""
    m = np.frombuffer(bytearray(a.nbytes + 1), a.dtype, count=a.size, offset=1).reshape(a.shape)
    m[...] = a
    return m


# (name, input shape, var shape): the var forms, and the broadcast cases of the generic tests
CASES = [
    pytest.param("margin", (23, 17), None, id="margin"),
    pytest.param("gaussian", (23, 17), (23, 17), id="gauss-same"),
    pytest.param("gaussian", (23, 17), (1, 17), id="gauss-first1"),
    pytest.param("gaussian", (23, 17), (23, 1), id="gauss-last1"),
    pytest.param("gaussian", (23, 17), (23,), id="gauss-nolast"),
    pytest.param("gaussian", (23, 17), (), id="gauss-scalar"),
]
GAUSS_SHAPES = [
    ((4, 5, 3), (4, 5, 3)), ((4, 5, 3), (1, 5, 3)), ((4, 5, 3), (4, 1, 3)), ((4, 5, 3), (4, 5, 1)),
    ((4, 5, 3), (4, 5)), ((4, 5, 3), ()), ((7,), (7,)), ((7,), (1,)), ((7,), ()), ((), ()),
    ((0, 5), (0, 5)), ((0, 5), (1, 5)), ((0, 5), (0, 1)), ((0, 5), (0,)), ((0, 5), ()),
    ((4, 0, 3), (4, 1, 3)), ((4, 0, 3), (4, 0)), ((1, 5, 1), (1, 5, 1)), ((1, 5, 1), (1, 1, 1)), ((1, 5, 1), (1, 5)),
]  # fmt: skip


# ------------------------------------------------------------------------ 1. torch parity
@go_cases
@pytest.mark.parametrize("margin", [0.0, 0.5, -0.3])
@pytest.mark.parametrize("shape", [(23, 17), (), (0,), (1,), (4, 0, 3), (1, 5, 1)], ids=str)
def test_margin_matches_torch(torch: Any, shape: Shape, margin: float, reduction: str, go: Any) -> None:
    args, s = _data("margin", shape, margin=margin), {"margin": margin}
    g = _go(go, shape)
    want = _torch(torch, "margin", args, s, reduction, g)
    _assert_close(_call("margin", args, reduction, s, grad_output=g), want, np.float64, reduction, np.size(args[0]))


@go_cases
@pytest.mark.parametrize("full, eps", [(False, 1e-6), (True, 0.5)], ids=["default", "full-eps0.5"])
@pytest.mark.parametrize("shape, var_shape", GAUSS_SHAPES, ids=[f"{s}-var{v}" for s, v in GAUSS_SHAPES])
def test_gaussian_matches_torch(
    torch: Any, shape: Shape, var_shape: Shape, full: bool, eps: float, reduction: str, go: Any
) -> None:
    args, s = _data("gaussian", shape, var_shape, below_eps=eps > 0.1), {"full": full, "eps": eps}
    g = _go(go, shape)
    want = _torch(torch, "gaussian", args, s, reduction, g)
    got = _call("gaussian", args, reduction, s, grad_output=g)
    _assert_close(got, want, np.float64, reduction, np.size(args[0]))


@reductions
def test_margin_ties_pass_the_gradient_as_torch(torch: Any, reduction: str) -> None:
    x1 = np.random.default_rng(1).standard_normal(40)
    y = np.resize([1.0, -1.0, 0.5, -2.0], 40)
    args = [x1, x1.copy(), y]  # z = 0 - y * 0 == 0: torch's clamp_min passes the gradient
    loss, (g1, g2) = _call("margin", args, reduction, {"margin": 0.0})
    want = _torch(torch, "margin", args, {"margin": 0.0}, reduction, 1.0)
    _assert_close((loss, (g1, g2)), want, np.float64, reduction, 40)
    scale = 1 / 40 if reduction == "mean" else 1.0
    assert np.all(_f64(loss) == 0) and np.array_equal(g1, -y * scale) and np.array_equal(g2, y * scale)


def test_gaussian_var_below_eps_keeps_its_gradient() -> None:
    x, t, var = np.array([1.0, 0.0, 2.0, -1.0]), np.array([0.0, 0.0, 1.5, 1.0]), np.array([0.0, 0.1, 0.5, 2.0])
    _, (gx, gv) = fl.gaussian_nll_loss(x, t, var, eps=0.5, reduction="sum", return_grad=True)
    v, d = np.maximum(var, 0.5), x - t
    np.testing.assert_allclose(gx, d / v, rtol=1e-15)
    np.testing.assert_allclose(gv, 0.5 * (1 / v - d * d / v**2), rtol=1e-14)
    assert gv[0] != 0 and gv[1] != 0  # clamped, yet the gradient reaches var (torch's rule)


# ------------------------------------------------------- 2. NumPy reference, finite differences
@go_cases
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name, shape, var_shape", CASES)
def test_matches_the_reference(name: str, shape: Shape, var_shape: Any, dtype: Any, reduction: str, go: Any) -> None:
    args = _data(name, shape, var_shape, dtype, margin=0.5, below_eps=True)
    g = _go(go, shape, dtype)
    got = _call(name, args, reduction, grad_output=g)
    assert np.asarray(got[0]).dtype == dtype and [a.dtype for a in got[1]] == [dtype, dtype]
    want = _ref(name, args, reduction, SETTINGS[name], g)
    _assert_close(got, want, dtype, reduction, np.size(args[0]))


FD_CASES = [
    pytest.param("margin", None, {"margin": 0.0}, id="margin0"),
    pytest.param("margin", None, {"margin": -0.3}, id="margin-0.3"),
    pytest.param("gaussian", (3, 4), {}, id="gauss-same"),
    pytest.param("gaussian", (1, 4), {"full": True, "eps": 0.1}, id="gauss-first1"),
    pytest.param("gaussian", (3, 1), {}, id="gauss-last1"),
    pytest.param("gaussian", (3,), {}, id="gauss-nolast"),
    pytest.param("gaussian", (), {"full": True}, id="gauss-scalar"),
]


@go_cases
@pytest.mark.parametrize("name, var_shape, settings", FD_CASES)
def test_gradients_match_finite_differences(
    name: str, var_shape: Any, settings: Dict[str, Any], reduction: str, go: Any
) -> None:
    # away from the kinks: |margin - y (x1 - x2)| >= 0.01 and var >= 0.2 > eps
    args = _data(name, (3, 4), var_shape, seed=5, margin=settings.get("margin", 0.0), gap=0.01)
    g = _go(go, (3, 4))
    _, grads = _call(name, args, reduction, settings, grad_output=g)
    assert_gradients_match_finite_differences(FN[name], args, grads, DIFF[name], g, reduction=reduction, **settings)


# ------------------------------------------------------------------------------- 3. NaN
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("where", [0, 1, 2], ids=["arg0", "arg1", "arg2"])
@pytest.mark.parametrize("name", ["margin", "gaussian"])
def test_nan_anywhere_gives_nan_loss_and_gradients_there(name: str, where: int, dtype: Any) -> None:
    args = _data(name, (4, 5), dtype=dtype)
    args[where][2, 3] = np.nan
    nan = np.zeros((4, 5), bool)
    nan[2, 3] = True
    for reduction in ("none", "mean"):
        loss, grads = _call(name, args, reduction)
        assert np.array_equal(np.isnan(loss), nan if reduction == "none" else True)
        for g in grads:
            assert np.array_equal(np.isnan(g), nan) and np.isfinite(g[~nan]).all()


def test_gaussian_nan_in_a_broadcast_var_reaches_its_row() -> None:
    x, t, var = _data("gaussian", (4, 5), (4, 1))
    var[2, 0] = np.nan
    loss, (gx, gv) = _call("gaussian", [x, t, var], "none")
    rows = np.array([False, False, True, False])
    assert np.array_equal(np.isnan(loss).any(1), rows) and np.isnan(loss[2]).all() and np.isnan(gx[2]).all()
    assert np.array_equal(np.isnan(gv[:, 0]), rows) and np.isfinite(gx[~rows]).all()
    x[0, 1], var[2, 0] = np.nan, 1.0  # a NaN input: its loss, its gradient and its row's var gradient
    loss, (gx, gv) = _call("gaussian", [x, t, var], "sum")
    assert np.isnan(loss) and np.isnan(gx).sum() == 1 and np.isnan(gx[0, 1])
    assert np.array_equal(np.isnan(gv[:, 0]), [True, False, False, False])


def test_margin_nan_gradient_is_nan_where_torch_gives_zero(torch: Any) -> None:
    args = _data("margin", (6,), margin=0.5)
    args[0][1], args[1][4], args[2][5] = np.nan, np.nan, np.nan
    loss, grads = _call("margin", args, "none")
    t_loss, t_grads = _torch(torch, "margin", args, {"margin": 0.5}, "none", 1.0)
    nan = np.isin(np.arange(6), [1, 4, 5])
    assert np.array_equal(np.isnan(loss), nan) and np.array_equal(np.isnan(t_loss), nan)
    for g, tg in zip(grads, t_grads):
        # fastloss: NaN; torch: 0 at a NaN input1 / input2 (its clamp_min mask is False there),
        # NaN at a NaN target (0 times the NaN target)
        assert np.isnan(g[nan]).all() and np.all(tg[[1, 4]] == 0) and np.isnan(tg[5])
        np.testing.assert_array_equal(g[~nan], tg[~nan])


# ----------------------------------------------------------------------------- 4. errors
A, A6, A32 = np.ones((5, 7)), np.ones((5, 6)), np.ones((5, 7), np.float32)
MR: Any = fl.margin_ranking_loss  # Any: the wrong calls below are the point
GN: Any = fl.gaussian_nll_loss
ERRORS = [
    (lambda: MR(A, A6, A), ValueError, r"input2 shape \(5, 6\) must equal input1 shape \(5, 7\)"),
    (lambda: MR(A, A, A6), ValueError, r"target shape \(5, 6\) must be input1's shape \(5, 7\)"),
    (lambda: GN(A, A6, A), ValueError, r"target shape \(5, 6\) must equal input shape \(5, 7\)"),
    (lambda: GN(A, A, np.ones((2, 7))), ValueError, r"var shape \(2, 7\) must be input's shape \(5, 7\)"),
    (lambda: GN(A, A, np.ones(7)), ValueError, r"var shape \(7,\) must be input's shape"),
    (lambda: GN(A, A, np.ones((1, 1))), ValueError, r"var shape \(1, 1\) must be input's shape"),
    (lambda: GN(A, A, np.ones((5, 7, 1))), ValueError, r"var shape \(5, 7, 1\) must be input's shape"),
    (lambda: GN(A[0], A[0], np.array([1.0, 2, -1, 3, 0, 1, 1])), ValueError, r"var values must be >= 0; got -1\.0 at index \(2,\)"),
    (lambda: GN(A, A, np.where(np.arange(35).reshape(5, 7) == 24, -0.5, 1.0)), ValueError, r"got -0\.5 at index \(3, 3\)"),
    (lambda: GN(A, A, np.float64(-2.0)), ValueError, r"got -2\.0 at index \(\)"),
    (lambda: GN(A, A, np.full((5, 1), -np.inf)), ValueError, r"got -inf at index \(0, 0\)"),
    (lambda: GN(A[:0], A[:0], np.full((1, 7), -1.0)), ValueError, r"got -1\.0 at index \(0, 0\)"),  # even for an empty input
    (lambda: MR(A, A32, A), TypeError, r"input2 dtype float32 does not match input dtype float64"),
    (lambda: MR(A, A, A32), TypeError, r"target dtype float32 does not match"),
    (lambda: GN(A, A, A32), TypeError, r"var dtype float32 does not match input dtype float64"),
    (lambda: GN(A32, A, A32), TypeError, r"target dtype float64 does not match input dtype float32"),
    (lambda: MR(A.astype(int), A, A), TypeError, r"input1 must be a float32, float64, float16 or bfloat16 array; got dtype int64"),
    (lambda: GN(A.astype(np.int32), A, A), TypeError, r"input must be a float32, float64.*got dtype int32"),
    (lambda: GN(A, A, A.astype(int)), TypeError, r"var dtype int64"),
    (lambda: MR(A, A, A, reduction="avg"), ValueError, r"reduction must be one of 'none', 'mean', 'sum'; got 'avg'"),
    (lambda: GN(A, A, A, reduction="batchmean"), ValueError, r"reduction must be one of .*'batchmean'"),
    (lambda: MR(A, A, A, return_grad=True, grad_out=np.zeros((5, 7))), ValueError, r"grad_out must be None or a tuple of 2 buffers.*got ndarray"),
    (lambda: MR(A, A, A, return_grad=True, grad_out=(None,)), ValueError, r"grad_out must be None or a tuple of 2"),
    (lambda: GN(A, A, A, return_grad=True, grad_out=(None, None, None)), ValueError, r"grad_out must be None or a tuple of 2"),
    (lambda: MR(A, A, A, return_grad=True, grad_out=(A6.copy(), None)), ValueError, r"grad_out\[0\] \(input1\) must be .*float64 array of shape \(5, 7\); got shape \(5, 6\)"),
    (lambda: MR(A, A, A, return_grad=True, grad_out=(None, A32.copy())), ValueError, r"grad_out\[1\] \(input2\) must be .*; got dtype float32"),
    (lambda: GN(A, A, A[:, :1].copy(), return_grad=True, grad_out=(None, A.copy())), ValueError, r"grad_out\[1\] \(var\) must be .*shape \(5, 1\); got shape \(5, 7\)"),
    (lambda: MR(A, A, A, return_grad=True, grad_out=(_misaligned(A), None)), ValueError, r"grad_out\[0\] \(input1\) must be a C-contiguous, aligned, writeable .*; got a misaligned array"),
    (lambda: GN(A, A, A, return_grad=True, grad_out=(None, np.zeros((7, 5)).T)), ValueError, r"grad_out\[1\] \(var\) must be .*; got a non-contiguous array"),
    (lambda: MR(A, A, A, grad_out=(None, None)), ValueError, r"grad_out was given but return_grad is False"),
    (lambda: GN(A, A, A, grad_out=(A.copy(), None)), ValueError, r"grad_out was given but return_grad is False"),
    (lambda: MR(A, A, A, reduction="none", return_grad=True, grad_output=A6), ValueError, r"grad_output shape \(5, 6\) must equal the loss shape \(5, 7\)"),
    (lambda: GN(A, A, A, reduction="none", return_grad=True, grad_output=A32), ValueError, r"grad_output dtype float32"),
    (lambda: MR(A, A, A, reduction="none", out=np.empty((5, 6))), ValueError, r"out must be .*shape \(5, 7\); got shape \(5, 6\)"),
]  # fmt: skip


@pytest.mark.parametrize("call, exc, pattern", ERRORS, ids=[p.replace("\\", "")[:50] for _, _, p in ERRORS])
def test_errors_name_the_problem(call: Callable[[], Any], exc: Any, pattern: str) -> None:
    with pytest.raises(exc, match=pattern) as info:
        call()
    assert str(info.value).startswith(("margin_ranking_loss: ", "gaussian_nll_loss: "))


def _overlaps(name: str) -> List[Tuple[Args, Dict[str, Any], str]]:
    """(arguments, call options, message) of calls whose outputs overlap something."""
    a = _data(name, (5, 7))
    flat = np.zeros(36)
    left, right = flat[:35].reshape(5, 7), flat[1:].reshape(5, 7)
    one, two, other = ("input1", "input2", "input2") if name == "margin" else ("input", "var", "target")
    first, second = f"grad_out[0] ({one})", f"grad_out[1] ({two})"
    return [
        (a, dict(grad_out=(a[1], None)), f"{first} shares memory with {other}"),
        (a, dict(grad_out=(a[2], None)), f"{first} shares memory with"),
        (a, dict(grad_out=(None, a[0])), f"{second} shares memory with"),
        (a, dict(grad_out=(left, right)), f"{first} shares memory with {second}"),
        (a, dict(grad_out=(flat[:35].reshape(5, 7),) * 2), f"{first} shares memory with {second}"),
        (a, dict(reduction="none", out=a[0]), "out shares memory with input"),
        (a, dict(reduction="none", out=left, grad_out=(right, None)), f"out shares memory with {first}"),
        (a, dict(reduction="mean", out=a[1].reshape(-1)[3:4].reshape(())), "out shares memory with"),
    ]


@pytest.mark.parametrize("name", ["margin", "gaussian"])
def test_overlapping_outputs_are_refused(name: str) -> None:
    for args, kw, message in _overlaps(name):
        before = [a.copy() for a in args]
        with pytest.raises(ValueError, match=re.escape(message)):
            _call(name, args, **kw)
        for a, b in zip(args, before):
            assert_bitwise(a, b, "an input after the refused call")


def test_negative_var_error_leaves_in_place_inputs_unchanged() -> None:
    x, t, var = _data("gaussian", (400, 500))
    var[399, 498] = -3.0  # after most of the work a kernel could have done
    x0, var0 = x.copy(), var.copy()
    with pytest.raises(ValueError, match=r"var values must be >= 0; got -3\.0 at index \(399, 498\)"):
        fl.gaussian_nll_loss(x, t, var, return_grad=True, grad_out=(x, var))
    assert_bitwise(x, x0, "input")
    assert_bitwise(var, var0, "var")


# ------------------------------------------------------------------------- 5. buffers, layouts
@pytest.mark.parametrize("name, shape, var_shape", CASES)
def test_out_and_grad_out_buffers(name: str, shape: Shape, var_shape: Any) -> None:
    args = _data(name, shape, var_shape)
    i, j = DIFF[name]
    for reduction in REDUCTIONS:
        want = _call(name, args, reduction)
        out = np.full(np.shape(want[0]), np.nan)
        got = _call(name, args, reduction, out=out)
        assert got[0] is out
        _assert_same(got, want)
        assert FN[name](*args, reduction=reduction, out=out, **SETTINGS[name]) is out
        for both in [(True, True), (True, False), (False, True)]:
            bufs = [np.full(args[k].shape, np.nan) if use else None for k, use in zip((i, j), both)]
            got = _call(name, args, reduction, grad_out=list(bufs) if both[1] else tuple(bufs))
            assert all(g is b for g, b in zip(got[1], bufs) if b is not None)
            _assert_same(got, want)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, var_shape", [((0, 5), (1, 5)), ((0, 5), ()), ((4, 0, 3), (4, 1, 3)), ((3, 0), (3,))])
def test_empty_input_gives_a_zero_var_gradient(shape: Shape, var_shape: Shape, reduction: str) -> None:
    args = _data("gaussian", shape, var_shape)
    _, (gx, gv) = _call("gaussian", args, reduction)
    assert gx.shape == shape and gv.shape == var_shape and np.all(gv == 0), gv
    buf = np.full(var_shape, np.nan)  # a buffer of junk: every element is written
    _, (_, gv) = _call("gaussian", args, reduction, grad_out=(None, buf))
    assert gv is buf and np.all(buf == 0), buf


INPLACE = CASES + [
    pytest.param("margin", (400, 300), None, id="margin-big"),
    pytest.param("gaussian", (300, 400), (300,), id="gauss-big-nolast"),
    pytest.param("gaussian", (20, 50, 200), (20, 1, 200), id="gauss-big-mid1"),
    pytest.param("gaussian", (200, 500), (), id="gauss-big-scalar"),
]


@go_cases
@pytest.mark.parametrize("name, shape, var_shape", INPLACE)
def test_grad_out_may_be_the_inputs_themselves(
    name: str, shape: Shape, var_shape: Any, reduction: str, go: Any
) -> None:
    args, g = _data(name, shape, var_shape), _go(go, shape)
    want = _call(name, args, reduction, grad_output=g)
    i, j = DIFF[name]
    a = [x.copy() for x in args]
    got = _call(name, a, reduction, grad_output=g, grad_out=(a[i], a[j]))
    assert got[1][0] is a[i] and got[1][1] is a[j]
    _assert_same(got, want)


@pytest.mark.parametrize("layout", ["sliced", "negative", "transposed", "misaligned", "broadcast"])
@pytest.mark.parametrize("name, shape, var_shape", CASES)
def test_strided_and_misaligned_inputs_match_contiguous_copies(
    name: str, shape: Shape, var_shape: Any, layout: str
) -> None:
    args = _data(name, shape, var_shape, np.float32)
    if layout == "broadcast":  # read-only zero-stride rows
        args = [np.array(np.broadcast_to(a[:1], a.shape)) if a.ndim == 2 else a for a in args]
        views = [np.broadcast_to(a[:1], a.shape) if a.ndim == 2 else a for a in args]
    else:
        make = _misaligned if layout == "misaligned" else lambda a: make_layout(a, layout)
        views = [make(a) if a.ndim and (layout != "transposed" or a.ndim == 2) else a for a in args]
    for reduction in REDUCTIONS:
        _assert_same(_call(name, views, reduction), _call(name, args, reduction))


def test_gaussian_python_float_var_is_a_scalar_var() -> None:
    x, t, _ = _data("gaussian", (6, 4), dtype=np.float32)
    loss, (gx, gv) = fl.gaussian_nll_loss(x, t, 1.5, return_grad=True)
    assert isinstance(gv, np.ndarray) and gv.shape == () and gv.dtype == np.float32
    _assert_same((loss, (gx, gv)), fl.gaussian_nll_loss(x, t, np.array(1.5, np.float32), return_grad=True))


# ------------------------------------------------------------------------------ 6. threads
THREAD_CASES = [  # >= 100_000 elements: several blocks, several threads
    pytest.param("margin", (1000, 123), None, id="margin"),
    pytest.param("gaussian", (1000, 123), (1000, 123), id="gauss-same"),
    pytest.param("gaussian", (300, 400), (300,), id="gauss-nolast"),
    pytest.param("gaussian", (20, 50, 200), (20, 1, 200), id="gauss-mid1"),
    pytest.param("gaussian", (400, 300), (1, 300), id="gauss-first1"),
    pytest.param("gaussian", (200_000,), (), id="gauss-scalar"),
]


@reductions
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16], ids=["float32", "float64", "float16"])
@pytest.mark.parametrize("name, shape, var_shape", THREAD_CASES)
def test_threads_give_bitwise_identical_results(
    name: str, shape: Shape, var_shape: Any, dtype: Any, reduction: str
) -> None:
    args = _data(name, shape, var_shape, dtype)
    one = _call(name, args, reduction, n_threads=1)
    for n in (2, 3):
        _assert_same(_call(name, args, reduction, n_threads=n), one)


# ------------------------------------------------------------------------ 7. half precision
HALF_CASES = CASES + [pytest.param("gaussian", (5, 6, 7), (5, 1, 7), id="gauss-mid1")]


@go_cases
@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name, shape, var_shape", HALF_CASES)
def test_half_is_the_float32_call_rounded(
    name: str, shape: Shape, var_shape: Any, dtype: Any, reduction: str, go: Any
) -> None:
    args = [_rounded(a, dtype) for a in _data(name, shape, var_shape, below_eps=True)]
    g = _go(go, shape, dtype)
    loss, grads = _call(name, args, reduction, grad_output=g)
    g32 = g if go is not None else g.astype(np.float32)
    loss32, grads32 = _call(name, [a.astype(np.float32) for a in args], reduction, grad_output=g32)
    assert np.asarray(loss).dtype == dtype and [a.dtype for a in grads] == [dtype, dtype]
    # each gradient: the float32 gradient rounded once; the loss: per element the same, reduced
    # in float64 and rounded once to the half dtype (so within 1 ulp of the float32 loss rounded)
    for h, h32 in zip(grads, grads32):
        assert_bitwise(h, _rounded(h32, dtype), "gradient")
    if reduction == "none":
        assert_bitwise(loss, _rounded(loss32, dtype), "loss")
    else:
        assert isinstance(loss, np.generic) and abs(_f64(loss) - _f64(loss32)) <= _ulp(loss32, dtype)
    # the float64 reference on the same half values: loss within 1 ulp, gradients within 1 ulp
    # or 1e-7 of the largest
    l64, g64 = _ref(name, args, reduction, SETTINGS[name], _f64(g))
    assert np.all(np.abs(_f64(loss) - l64) <= _ulp(l64, dtype)), (loss, l64)
    for h, r in zip(grads, g64):
        slack = np.maximum(_ulp(r, dtype), 1e-7 * np.max(np.abs(r), initial=0.0))
        assert np.all(np.abs(_f64(h) - r) <= slack), (_f64(h), r)


# ------------------------------------------------------------------------------ 8. classes
def test_classes_store_settings_and_call_the_functions() -> None:
    m: Any = fl.MarginRankingLoss(margin=0.5, reduction="sum", n_threads=2)
    assert (m.margin, m.reduction, m.n_threads) == (0.5, "sum", 2)
    assert repr(m) == "MarginRankingLoss(margin=0.5, reduction='sum', n_threads=2)"
    assert repr(fl.MarginRankingLoss(margin=1.0)) == "MarginRankingLoss(margin=1.0)"
    g: Any = fl.GaussianNLLLoss(full=True, eps=0.5, reduction="none")
    assert (g.full, g.eps, g.reduction, g.n_threads) == (True, 0.5, "none", None)
    assert repr(g) == "GaussianNLLLoss(full=True, eps=0.5, reduction='none')"
    assert repr(fl.GaussianNLLLoss()) == "GaussianNLLLoss()"
    for obj, name, red in [(m, "margin", "sum"), (g, "gaussian", "none")]:
        args = _data(name, (6, 4))
        want = _call(name, args, red)
        _assert_same(obj(*args, True), want)
        _assert_same(obj.forward(*args, return_grad=True, n_threads=1), want)
        assert_bitwise(obj(*args), want[0], "loss only")
        buf = np.empty_like(args[0])
        assert obj(*args, return_grad=True, grad_out=(buf, None))[1][0] is buf
    with pytest.raises(TypeError, match=re.escape("margin is set when the loss is constructed")):
        m(*_data("margin", (3,)), margin=1.0)
    for key, value in [("reduction", "sum"), ("eps", 0.1), ("full", True)]:
        with pytest.raises(TypeError, match=f"{key} is set when the loss is constructed"):
            g(*_data("gaussian", (3,)), **{key: value})
    gaussian_cls: Any = fl.GaussianNLLLoss
    with pytest.raises(ValueError, match="reduction must be one of"):
        gaussian_cls(reduction="avg")
