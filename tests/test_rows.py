"""The losses of one value per row (the last axis): ``multilabel_soft_margin_loss``,
``multi_margin_loss``, ``multilabel_margin_loss`` and ``cosine_embedding_loss`` (gradients w.r.t.
input1 and input2), and their classes: torch float64 autograd parity (every reduction, weight,
p, margins, soft labels, 1-d input, 0- and 1-size axes, ties, extreme logits, every integer target
dtype, target rows with -1 first, repeats or every class), the float64 NumPy reference and central
finite differences, NaN (fastloss's rule: a NaN row is NaN; torch's elsewhere), errors and their messages, out= / grad_out= buffers (in place
over the inputs too), strided and misaligned inputs, thread determinism, and float16 / bfloat16
against the float32 call and the float64 reference."""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Tuple

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
Settings = Dict[str, Any]
NAMES = ["soft", "multi", "label", "cosine"]
FN: Dict[str, Callable[..., Any]] = dict(zip(NAMES, (fl.multilabel_soft_margin_loss, fl.multi_margin_loss, fl.multilabel_margin_loss, fl.cosine_embedding_loss)))  # fmt: skip
REF: Dict[str, Callable[..., Any]] = dict(zip(NAMES, (ref.multilabel_soft_margin_loss, ref.multi_margin_loss, ref.multilabel_margin_loss, ref.cosine_embedding_loss)))  # fmt: skip
DIFF = {"soft": (0,), "multi": (0,), "label": (0,), "cosine": (0, 1)}  # the differentiable arguments
#: each loss's option sets ("w": a weight of one value per class), the richest first
VARIANTS: Dict[str, Dict[str, Settings]] = {
    "soft": {"weight": {"weight": "w"}, "plain": {}},
    "multi": {"p2-m0.5-w": {"p": 2, "margin": 0.5, "weight": "w"}, "p1": {"p": 1, "margin": 1.0},
              "p1-m-0.3-w": {"p": 1, "margin": -0.3, "weight": "w"}, "p2-m-0.3": {"p": 2, "margin": -0.3}},
    "label": {"plain": {}},
    "cosine": {"m0.5": {"margin": 0.5}, "m0": {"margin": 0.0}, "m-0.3": {"margin": -0.3}},
}  # fmt: skip
ALL_VARIANTS = [pytest.param(n, v, id=f"{n}-{v}") for n in NAMES for v in VARIANTS[n]]
RICH = [pytest.param(n, next(iter(VARIANTS[n])), id=n) for n in NAMES]
INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
reductions = pytest.mark.parametrize("reduction", REDUCTIONS)


def _label_targets(rng: np.random.Generator, rows: int, c: int) -> np.ndarray:
    """Target rows: leading indices (some with repeats), -1, then valid junk; row 0 starts with -1,
    row 1 targets every class, row 2 repeats its first index."""
    t = rng.integers(-1, c, (rows, c)) if c else np.zeros((rows, 0), np.int64)
    for r in range(rows):
        lead: Any = rng.choice(c, int(rng.integers(0, c + 1)), replace=bool(r % 2)) if c else []
        lead = {0: [], 1: rng.permutation(c), 2: [0, 0, 1][:c]}.get(r, lead)
        t[r, : len(lead)] = lead
        if len(lead) < c:
            t[r, len(lead)] = -1
    return t


def _case(name: str, variant: str, shape: Shape, dtype: Any = np.float64, *, seed: int = 0, gap: float = 1e-3) -> Tuple[Args, Settings]:  # fmt: skip
    """(arguments, settings): scores / logits of magnitude ~1.5, hinge arguments and cos - margin
    at least ``gap`` away from their kinks; float arrays (weight too) in ``dtype``."""
    rng = np.random.default_rng([seed, NAMES.index(name), len(shape), *shape])
    rows, c = int(np.prod(shape[:-1])), shape[-1]
    s = {k: (rng.uniform(0.5, 2.0, c) if v == "w" else v) for k, v in VARIANTS[name][variant].items()}
    x = 1.5 * rng.standard_normal((rows, c))
    if name == "soft":
        y = rng.choice([0.0, 1.0], (rows, c))
        y[1::2] = rng.uniform(0.0, 1.0, y[1::2].shape)  # soft labels
        args = [x, y]
    elif name == "multi":
        cls = rng.integers(0, c, rows) if c else np.zeros(rows, np.int64)
        z = s["margin"] - x[np.arange(rows), cls][:, None] + x if c else x
        x[(np.abs(z) < gap) & (np.arange(c) != cls[:, None])] += 3 * gap
        args = [x, cls.reshape(shape[:-1])]
    elif name == "label":
        t = _label_targets(rng, rows, c)
        for r in range(rows if gap > 0 else 0):
            stop = np.flatnonzero(t[r] < 0)
            listed = t[r, : stop[0] if stop.size else c]
            other = ~np.isin(np.arange(c), listed)
            while True:
                bad = other & (np.abs(1 - x[r, listed][:, None] + x[r]) < gap).any(axis=0)
                if not bad.any():
                    break
                x[r, bad] += 3 * gap
        args = [x, t]
    else:
        y = rng.choice([1.0, -1.0, -1.0, 1.0, 0.0, 0.5], rows)
        x2 = 0.8 * x * rng.choice([-1.0, 1.0], (rows, 1)) + rng.standard_normal((rows, c))
        for r in range(rows):
            while c and y[r] == -1 and abs(x[r] @ x2[r] / np.sqrt((x[r] @ x[r]) * (x2[r] @ x2[r])) - s["margin"]) < gap:
                x2[r] = rng.standard_normal(c)
        args = [x, x2, y.reshape(shape[:-1])]
    args[0] = args[0].reshape(shape)
    if name != "multi":
        args[1] = args[1].reshape(shape)
    floats = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in args]
    return floats, {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in s.items()}


def _go(go: Any, shape: Shape, dtype: Any = np.float64) -> Any:
    """grad_output: the scalar, or an array of the per-row loss shape (input's without its last axis)."""
    return grad_output_of(go, shape[:-1], dtype)


def _call(name: str, args: Args, reduction: str = "mean", settings: Any = None, **kw: Any) -> Any:
    """(loss, tuple of gradients) of a return_grad=True call."""
    loss, grad = FN[name](*args, reduction=reduction, return_grad=True, **(settings or {}), **kw)
    return loss, tuple(grad) if name == "cosine" else (grad,)


def _ref(name: str, args: Args, reduction: str, settings: Settings, grad_output: Any = 1.0) -> Any:
    loss, grad = REF[name](*args, **settings, reduction=reduction, grad_output=grad_output)
    return loss, tuple(grad) if name == "cosine" else (grad,)


def _torch(torch: Any, name: str, args: Args, settings: Settings, reduction: str, go: Any) -> Any:
    """(loss, gradients) from torch float64 autograd (integer targets as int64)."""
    F = torch.nn.functional
    fn = {"soft": F.multilabel_soft_margin_loss, "multi": F.multi_margin_loss, "label": F.multilabel_margin_loss}
    ts = [torch.from_numpy(np.array(a, dtype=np.int64 if a.dtype.kind in "iu" else np.float64)) for a in args]
    for k in DIFF[name]:
        ts[k].requires_grad_(True)
    kw = {k: torch.from_numpy(_f64(v)) if isinstance(v, np.ndarray) else v for k, v in settings.items()}
    loss = fn.get(name, F.cosine_embedding_loss)(*ts, reduction=reduction, **kw)
    loss.backward(torch.broadcast_to(torch.tensor(np.asarray(go, dtype=np.float64)), loss.shape))
    grads = tuple(np.zeros(args[k].shape) if ts[k].grad is None else ts[k].grad.numpy() for k in DIFF[name])
    return loss.detach().numpy(), grads


def _assert_close(got: Any, want: Any, dtype: Any, reduction: str, rows: int, grad_floor: float = 0.0) -> None:
    """Loss and gradients close; ``grad_floor``: the magnitude of the terms a gradient element is a
    difference of (cosine: b / |a||b| and cos a / |a|^2, which cancel where cos is near +-1)."""
    assert_close(got[0], want[0], dtype, floor=8.0 * (rows if reduction == "sum" else 1), what="loss")
    assert len(got[1]) == len(want[1])
    for k, (g, w) in enumerate(zip(got[1], want[1])):
        assert np.shape(g) == np.shape(w)
        assert_close(g, w, dtype, floor=grad_floor, what=f"grad {k}")


def _cos_terms(args: Args, reduction: str, go: Any) -> float:
    """The largest |grad_output| (|b| + |a|) / |a||b| of the rows, the scale of the cosine gradient's terms."""
    a, b = (_f64(x).reshape(_rows(x.shape), x.shape[-1]) for x in args[:2])
    na, nb = np.sqrt((a * a).sum(1) + 1e-12), np.sqrt((b * b).sum(1) + 1e-12)
    scale = np.max(np.abs(go), initial=0.0) / (max(len(a), 1) if reduction == "mean" else 1)
    return float(scale * np.max((na + nb) / (na * nb), initial=0.0))


def _assert_same(got: Any, want: Any) -> None:
    assert_bitwise(got[0], want[0], "loss")
    for k, (g, w) in enumerate(zip(got[1], want[1])):
        assert_bitwise(g, w, f"grad {k}")


def _misaligned(a: np.ndarray) -> np.ndarray:
    """A writeable C-contiguous copy of ``a`` at an odd address."""
    m = np.frombuffer(bytearray(a.nbytes + 1), a.dtype, count=a.size, offset=1).reshape(a.shape)
    m[...] = a
    return m


def _rows(shape: Shape) -> int:
    return int(np.prod(shape[:-1]))


# ------------------------------------------------------------------------ 1. torch parity
SHAPES = {
    "soft": [(7, 6), (2, 3, 5), (5,), (0, 4), (1, 4), (6, 1), (4, 0)],
    "multi": [(7, 6), (5,), (0, 4), (1, 4), (6, 1)],
    "label": [(7, 6), (5,), (0, 4), (1, 4), (6, 1), (6, 2), (6, 3)],
    "cosine": [(7, 6), (5,), (0, 4), (1, 4), (6, 1), (3, 0)],
}
PARITY = [pytest.param(n, v, s, id=f"{n}-{v}-{s}") for n in NAMES for v in VARIANTS[n] for s in SHAPES[n]]


@go_cases
@pytest.mark.parametrize("name, variant, shape", PARITY)
def test_matches_torch(torch: Any, name: str, variant: str, shape: Shape, reduction: str, go: Any) -> None:
    args, s = _case(name, variant, shape)
    g = _go(go, shape)
    got = _call(name, args, reduction, s, grad_output=g)
    if name in ("multi", "label") and 0 in shape and reduction != "none":
        # torch returns an uninitialised value for these (e.g. 4.6e-310); the contract: nan / 0
        want = (np.float64(np.nan if reduction == "mean" else 0.0), (np.zeros(shape),))
    else:
        want = _torch(torch, name, args, s, reduction, g)
    floor = _cos_terms(args, reduction, g) if name == "cosine" else 0.0
    _assert_close(got, want, np.float64, reduction, _rows(shape), floor)


@reductions
def test_ties_are_torch_s(torch: Any, reduction: str) -> None:
    # multi margin and multilabel margin: margin - x_y + x_c == 0 exactly passes no gradient
    x = np.array([[1.0, 0.0, 0.5, -1.0, 0.0], [0.0, 1.0, -0.5, 2.0, 0.0]])
    for p in (1, 2):
        args, s = [x, np.array([0, 1])], {"p": p, "margin": 1.0}
        got = _call("multi", args, reduction, s)
        _assert_close(got, _torch(torch, "multi", args, s, reduction, 1.0), np.float64, reduction, 2)
        assert np.all(got[1][0][[0, 0, 1, 1], [1, 4, 0, 4]] == 0)
    args = [x, np.array([[0, -1, 0, 0, 0], [1, 3, -1, 0, 0]])]
    got = _call("label", args, reduction, {})
    _assert_close(got, _torch(torch, "label", args, {}, reduction, 1.0), np.float64, reduction, 2)
    assert np.all(got[1][0][[0, 0, 1, 1], [1, 4, 0, 4]] == 0)
    # cosine: orthogonal rows have cos == 0 exactly; with margin 0 the clamp passes the gradient
    a, b = np.array([[1.0, 0.0, 0.0], [2.0, 1.0, 0.0]]), np.array([[0.0, 2.0, 0.0], [-1.0, 2.0, 3.0]])
    args = [a, b, np.array([-1.0, -1.0])]
    got = _call("cosine", args, reduction, {"margin": 0.0})
    _assert_close(got, _torch(torch, "cosine", args, {"margin": 0.0}, reduction, 1.0), np.float64, reduction, 2)
    assert np.all(_f64(got[0]) == 0) and all(np.any(g != 0, axis=1).all() for g in got[1])


@reductions
def test_soft_margin_extreme_logits_are_finite_and_torch_s(torch: Any, reduction: str) -> None:
    x = np.array([[1e4, -1e4, 800.0, -800.0, 50.0, -50.0], [-1e4, 1e4, -40.0, 40.0, 1e-300, 0.0]])
    y = np.array([[0.0, 1.0, 0.3, 1.0, 0.0, 0.5], [0.0, 1.0, 0.7, 0.0, 1.0, 0.0]])
    for s in ({}, {"weight": np.array([1.0, 0.5, 2.0, 1.5, 1.0, 0.25])}):
        got = _call("soft", [x, y], reduction, s)
        assert np.isfinite(got[0]).all() and np.isfinite(got[1][0]).all()
        _assert_close(got, _torch(torch, "soft", [x, y], s, reduction, 1.0), np.float64, reduction, 2)
    loss32, (g32,) = _call("soft", [x.astype(np.float32), y.astype(np.float32)], reduction, {})
    assert np.isfinite(loss32).all() and np.isfinite(g32).all()


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["multi", "label"])
def test_every_integer_target_dtype(torch: Any, name: str, dtype: Any) -> None:
    args, s = _case(name, next(iter(VARIANTS[name])), (9, 6))
    if name == "label" and np.dtype(dtype).kind == "u":  # no -1: every entry of a row is a target
        args[1] = np.random.default_rng(3).integers(0, 6, (9, 6))
    want = _call(name, args, "none", s)
    typed = [args[0], args[1].astype(dtype)]
    for reduction in REDUCTIONS:
        got = _call(name, typed, reduction, s)
        _assert_same(got, _call(name, args, reduction, s))
        _assert_close(got, _torch(torch, name, args, s, reduction, 1.0), np.float64, reduction, 9)
    _assert_same(_call(name, typed, "none", s), want)


# ------------------------------------------------------- 2. NumPy reference, finite differences
@go_cases
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name, variant", ALL_VARIANTS)
def test_matches_the_reference(name: str, variant: str, dtype: Any, reduction: str, go: Any) -> None:
    args, s = _case(name, variant, (23, 17), dtype)
    g = _go(go, (23, 17), dtype)
    got = _call(name, args, reduction, s, grad_output=g)
    assert np.asarray(got[0]).dtype == dtype and all(a.dtype == dtype for a in got[1])
    _assert_close(got, _ref(name, args, reduction, s, g), dtype, reduction, 23)


@go_cases
@pytest.mark.parametrize("name, variant", ALL_VARIANTS)
def test_gradients_match_finite_differences(name: str, variant: str, reduction: str, go: Any) -> None:
    args, s = _case(name, variant, (3, 4), seed=5, gap=0.01)  # kinks >= 0.01 away, h = 1e-6
    g = _go(go, (3, 4))
    _, grads = _call(name, args, reduction, s, grad_output=g)
    assert_gradients_match_finite_differences(FN[name], args, grads, DIFF[name], g, reduction=reduction, **s)


# ------------------------------------------------------------------------------- 3. NaN
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_nan_propagates_to_its_row(torch: Any, name: str, dtype: Any) -> None:
    """A NaN in a row (or its cosine label) gives that row a NaN loss and NaN gradients, where
    torch drops the hinge losses' NaN terms and scores a NaN or other cosine label 0; the other
    rows are torch's."""
    args, s = _case(name, next(iter(VARIANTS[name])), (6, 5), dtype)
    nan_rows = np.isin(np.arange(6), [1, 3])
    if name == "multi":  # a NaN at another class's score (row 1), at the row's class's (row 3)
        args[0][1, (args[1][1] + 1) % 5], args[0][3, args[1][3]] = np.nan, np.nan
    elif name == "label":  # a NaN at a non-target's score (row 1), at a target's (row 3)
        args[1][1], args[1][3, :2] = [0, 1, -1, 0, 0], [2, -1]
        args[0][1, 4], args[0][3, 2] = np.nan, np.nan
    else:  # a NaN in input (input1) and in target (input2); cosine: labels 1, -1, NaN, 0
        args[0][1, 2], args[1][3, 4] = np.nan, np.nan
        if name == "cosine":
            args[0][5, 0] = np.nan
            args[2][[1, 3, 4, 5]] = [1.0, -1.0, np.nan, 0.0]
            nan_rows[[4, 5]] = True
    loss, grads = _call(name, args, "none", s)
    t_loss, t_grads = _torch(torch, name, args, s, "none", 1.0)
    ok = ~nan_rows
    _assert_close(
        (loss[ok], tuple(g[ok] for g in grads)), (t_loss[ok], tuple(g[ok] for g in t_grads)), dtype, "none", 4
    )
    assert np.array_equal(np.isnan(loss), nan_rows)
    for g in grads:
        assert np.array_equal(np.isnan(g).any(axis=1), nan_rows)
    assert np.isnan(_call(name, args, "mean", s)[0]) and np.isnan(_call(name, args, "sum", s)[0])
    if name == "soft":  # elementwise terms: only that gradient element
        assert np.array_equal(np.argwhere(np.isnan(grads[0])), [[1, 2], [3, 4]])
    _assert_close((loss, grads), _ref(name, args, "none", s), dtype, "none", 6)  # the reference states the rule


def test_nan_weight_is_torch_s(torch: Any) -> None:
    for name in ("soft", "multi"):
        args, s = _case(name, next(iter(VARIANTS[name])), (6, 5))
        s["weight"][2] = np.nan
        if name == "multi":  # the weight of row 0's class multiplies no active hinge term: 0, as torch
            args[1][:3] = 2
            args[0][:3, 2] = [10.0, -5.0, -5.0]  # every hinge of row 0 inactive, of rows 1, 2 active
        for reduction in REDUCTIONS:
            _assert_close(_call(name, args, reduction, s), _torch(torch, name, args, s, reduction, 1.0), np.float64, reduction, 6)  # fmt: skip


# ----------------------------------------------------------------------------- 4. errors
A, A32, T4, L = np.ones((4, 5)), np.ones((4, 5), np.float32), np.array([0, 1, 2, 3]), np.zeros((4, 5), np.int64)
MS: Any = fl.multilabel_soft_margin_loss  # Any: the wrong calls below are the point
MM: Any = fl.multi_margin_loss
ML: Any = fl.multilabel_margin_loss
CE: Any = fl.cosine_embedding_loss
ERRORS = [
    (lambda: MS(np.ones(()), np.ones(())), ValueError, r"input must be at least 1-d, the classes on the last axis; got shape \(\)"),
    (lambda: MM(np.ones((2, 3, 4)), np.zeros((2, 3), int)), ValueError, r"input must be \(C,\) or \(N, C\).*got shape \(2, 3, 4\)"),
    (lambda: ML(np.ones((2, 3, 4)), np.zeros((2, 3, 4), int)), ValueError, r"input must be \(C,\) or \(N, C\).*\(2, 3, 4\)"),
    (lambda: CE(np.ones((2, 3, 4)), np.ones((2, 3, 4)), np.ones((2, 3))), ValueError, r"input1 must be \(D,\) or \(N, D\); got shape \(2, 3, 4\)"),
    (lambda: CE(np.ones(()), np.ones(()), np.ones(())), ValueError, r"input1 must be \(D,\) or \(N, D\); got shape \(\)"),
    (lambda: MS(A, np.ones((4, 4))), ValueError, r"target shape \(4, 4\) must equal input shape \(4, 5\)"),
    (lambda: MM(A, np.zeros(3, int)), ValueError, r"target shape \(3,\) must be \(4,\) for input shape \(4, 5\)"),
    (lambda: MM(A[0], np.array([1])), ValueError, r"target shape \(1,\) must be \(\) for input shape \(5,\)"),
    (lambda: ML(A, T4), ValueError, r"target shape \(4,\) must be \(4, 5\) for input shape \(4, 5\)"),
    (lambda: CE(A, np.ones((4, 6)), np.ones(4)), ValueError, r"input2 shape \(4, 6\) must equal input1 shape \(4, 5\)"),
    (lambda: CE(A, A, np.ones(3)), ValueError, r"target shape \(3,\) must be \(4,\), one label per row of input1 shape \(4, 5\)"),
    (lambda: CE(A, A, np.ones((4, 1))), ValueError, r"target shape \(4, 1\) must be \(4,\)"),
    (lambda: MS(A, A, weight=np.ones((1, 5))), ValueError, r"weight must have shape \(5,\), one per class; got shape \(1, 5\)"),
    (lambda: MM(A, T4, weight=np.ones(4)), ValueError, r"weight must have shape \(5,\), one per class; got shape \(4,\)"),
    (lambda: MM(A, T4, p=3), ValueError, r"p must be in \(1, 2\); got 3\.0"),
    (lambda: MM(A, T4, p=float("nan")), ValueError, r"p must be in \(1, 2\); got nan"),
    (lambda: MM(A, T4, p="1"), TypeError, r"p must be a float; got str"),
    (lambda: MM(A, np.array([0, 1, 7, 3])), IndexError, r"target 7 at index \(2,\) is out of range for 5 classes \(expected 0 <= target < 5\)"),
    (lambda: MM(A, np.array([0, 1, 2, -1], np.int8)), IndexError, r"target -1 at index \(3,\) is out of range"),
    (lambda: MM(A, np.array([0, 1, 2, 2**63 + 5], np.uint64)), IndexError, r"target 9223372036854775813 at index \(3,\)"),
    (lambda: MM(A[0], np.array(5)), IndexError, r"target 5 at index \(\) is out of range for 5 classes"),
    (lambda: MM(np.ones((3, 0)), np.zeros(3, int)), IndexError, r"target 0 at index \(0,\) is out of range for 0 classes"),
    (lambda: ML(A, np.array([[0, 1, -1, 0, 0]] * 3 + [[0, -1, 2, 5, 0]])), IndexError, r"target 5 at index \(3, 3\) is out of range for 5 classes \(expected -1 <= target < 5\)"),
    (lambda: ML(A, np.array([[0, -2, 0, 0, 0]] * 4)), IndexError, r"target -2 at index \(0, 1\)"),
    (lambda: ML(A[0], np.array([-1, 0, 9, 0, 0], np.int16)), IndexError, r"target 9 at index \(2,\)"),
    (lambda: MM(A, T4.astype(float)), TypeError, r"target must hold class indices of an integer dtype; got dtype float64"),
    (lambda: ML(A, L.astype(np.float32)), TypeError, r"target must hold class indices of an integer dtype; got dtype float32"),
    (lambda: MM(A, T4.astype(bool)), TypeError, r"integer dtype; got dtype bool"),
    (lambda: MS(A, A32), TypeError, r"target dtype float32 does not match input dtype float64"),
    (lambda: MM(A, T4, weight=np.ones(5, np.float32)), TypeError, r"weight dtype float32 does not match"),
    (lambda: CE(A, A32, np.ones(4)), TypeError, r"input2 dtype float32 does not match input dtype float64"),
    (lambda: CE(A, A, np.ones(4, np.float32)), TypeError, r"target dtype float32 does not match"),
    (lambda: CE(A, A, np.ones(4, int)), TypeError, r"target dtype int64 does not match"),
    (lambda: MM(A.astype(int), T4), TypeError, r"input must be a float32, float64, float16 or bfloat16 array; got dtype int64"),
    (lambda: CE(A.astype(np.int32), A, np.ones(4)), TypeError, r"input1 must be a float32, float64.*got dtype int32"),
    (lambda: ML(A, L, reduction="batchmean"), ValueError, r"reduction must be one of 'none', 'mean', 'sum'; got 'batchmean'"),
    (lambda: MM(A, T4, return_grad=True, grad_out=np.zeros((5, 4))), ValueError, r"grad_out must be a C-contiguous, aligned, writeable float64 array of shape \(4, 5\); got shape \(5, 4\)"),
    (lambda: MS(A, A, return_grad=True, grad_out=np.zeros((5, 4)).T), ValueError, r"grad_out must be .*; got a non-contiguous array"),
    (lambda: ML(A, L, return_grad=True, grad_out=_misaligned(A)), ValueError, r"grad_out must be .*; got a misaligned array"),
    (lambda: MM(A, T4, return_grad=True, grad_out=A32.copy()), ValueError, r"grad_out must be .*; got dtype float32"),
    (lambda: MM(A, T4, return_grad=True, grad_out=(A.copy(), None)), ValueError, r"grad_out must be .*; got tuple"),
    (lambda: CE(A, A, np.ones(4), return_grad=True, grad_out=A.copy()), ValueError, r"grad_out must be None or a tuple of 2 buffers.*got ndarray"),
    (lambda: CE(A, A, np.ones(4), return_grad=True, grad_out=(None,)), ValueError, r"grad_out must be None or a tuple of 2"),
    (lambda: CE(A, A, np.ones(4), return_grad=True, grad_out=(None, np.zeros((4, 6)))), ValueError, r"grad_out\[1\] \(input2\) must be .*shape \(4, 5\); got shape \(4, 6\)"),
    (lambda: MM(A, T4, grad_out=A.copy()), ValueError, r"grad_out was given but return_grad is False"),
    (lambda: CE(A, A, np.ones(4), grad_out=(None, None)), ValueError, r"grad_out was given but return_grad is False"),
    (lambda: MS(A, A, return_grad=True, grad_output=np.ones(4)), ValueError, r"grad_output must be a scalar when the loss is reduced; got an array of shape \(4,\)"),
    (lambda: MM(A, T4, reduction="none", return_grad=True, grad_output=np.ones(5)), ValueError, r"grad_output shape \(5,\) must equal the loss shape \(4,\)"),
    (lambda: ML(A, L, reduction="none", return_grad=True, grad_output=np.ones(4, np.float32)), ValueError, r"grad_output dtype float32 must match input dtype float64"),
    (lambda: MM(A, T4, return_grad=True, grad_output="a"), ValueError, r"grad_output must be a number or an array of numbers; got str"),
    (lambda: MS(A, A, reduction="none", out=np.empty(5)), ValueError, r"out must be a C-contiguous, aligned, writeable float64 array of shape \(4,\); got shape \(5,\)"),
    (lambda: MM(A, T4, out=np.empty(1)), ValueError, r"out must be .*of shape \(\); got shape \(1,\)"),
    (lambda: CE(A, A, np.ones(4), reduction="none", out=np.empty(4, np.float32)), ValueError, r"out must be .*shape \(4,\); got dtype float32"),
    (lambda: ML(A, L, n_threads=0), ValueError, r"n_threads must be None or a positive int; got 0"),
]  # fmt: skip


@pytest.mark.parametrize("call, exc, pattern", ERRORS, ids=[p.replace("\\", "")[:50] for _, _, p in ERRORS])
def test_errors_name_the_problem(call: Callable[[], Any], exc: Any, pattern: str) -> None:
    with pytest.raises(exc, match=pattern) as info:
        call()
    assert str(info.value).startswith(tuple(f"{f.__name__}: " for f in FN.values()))


def _overlaps(name: str) -> List[Tuple[Args, Settings, str]]:
    """(arguments, call options, message) of calls whose outputs overlap something."""
    args, s = _case(name, next(iter(VARIANTS[name])), (4, 5))
    flat = np.zeros(21)
    left, right, rows = flat[:20].reshape(4, 5), flat[1:].reshape(4, 5), flat[16:20]
    if name == "cosine":
        return [
            (args, dict(grad_out=(args[1], None)), "grad_out[0] (input1) shares memory with input2"),
            (args, dict(grad_out=(None, args[0])), "grad_out[1] (input2) shares memory with input1"),
            (args, dict(grad_out=(left, right)), "grad_out[0] (input1) shares memory with grad_out[1] (input2)"),
            (args, dict(reduction="none", out=args[2]), "out shares memory with target"),
            (args, dict(reduction="none", out=rows, grad_out=(None, left)), "out shares memory with grad_out[1]"),
            (args, dict(out=args[1].reshape(-1)[3:4].reshape(())), "out shares memory with input2"),
        ]
    cases = [
        (args, dict(reduction="none", out=args[0][0, :4]), "out shares memory with input"),
        (args, dict(reduction="none", out=rows, grad_out=left), "out shares memory with grad_out"),
        (args, dict(reduction="none", grad_output=rows, grad_out=left), "grad_out shares memory with grad_output"),
        (args, dict(reduction="mean", out=args[0].reshape(-1)[3:4].reshape(())), "out shares memory with input"),
    ]
    if name == "soft":
        cases += [(args, dict(grad_out=args[1]), "grad_out shares memory with target")]
        cases += [(args, dict(grad_out=left, settings={"weight": flat[15:20]}), "grad_out shares memory with weight")]
    else:
        tgt = flat[: args[1].size].view(np.int64).reshape(args[1].shape)
        tgt[...] = args[1]
        cases += [([args[0], tgt], dict(grad_out=left), "grad_out shares memory with target")]
    return cases


@pytest.mark.parametrize("name", NAMES)
def test_overlapping_outputs_are_refused(name: str) -> None:
    for args, kw, message in _overlaps(name):
        before = [a.copy() for a in args]
        with pytest.raises(ValueError, match=re.escape(message)):
            _call(name, args, **kw)
        for a, b in zip(args, before):
            assert_bitwise(a, b, "an input after the refused call")


@pytest.mark.parametrize("name", ["multi", "label"])
def test_index_error_leaves_in_place_input_unchanged(name: str) -> None:
    args, s = _case(name, next(iter(VARIANTS[name])), (400, 500), gap=0.0)
    if name == "multi":
        args[1][399], pattern = 500, r"target 500 at index \(399,\)"
    else:  # after the row's first -1
        args[1][399, :3], pattern = [4, -1, 0], r"target -3 at index \(399, 498\)"
        args[1][399, 498] = -3
    x0 = args[0].copy()
    with pytest.raises(IndexError, match=pattern):
        FN[name](*args, **s, return_grad=True, grad_out=args[0])
    assert_bitwise(args[0], x0, "input")


# ------------------------------------------------------------------------- 5. buffers, layouts
def _grad_bufs(name: str, args: Args, which: Tuple[bool, ...]) -> Any:
    bufs = [np.full(args[k].shape, np.nan) if use else None for k, use in zip(DIFF[name], which)]
    return bufs[0] if name != "cosine" else (list(bufs) if which == (True, False) else tuple(bufs))


@pytest.mark.parametrize("shape", [(7, 6), (5,)], ids=str)
@pytest.mark.parametrize("name, variant", RICH)
def test_out_and_grad_out_buffers(name: str, variant: str, shape: Shape) -> None:
    args, s = _case(name, variant, shape)
    for reduction in REDUCTIONS:
        want = _call(name, args, reduction, s)
        out = np.full(np.shape(want[0]), np.nan)
        got = _call(name, args, reduction, s, out=out)
        assert got[0] is out
        _assert_same(got, want)
        assert FN[name](*args, reduction=reduction, out=out, **s) is out
        for which in [(True,)] if name != "cosine" else [(True, True), (True, False), (False, True)]:
            bufs = _grad_bufs(name, args, which)
            got = _call(name, args, reduction, s, grad_out=bufs)
            assert all(g is b for g, b in zip(got[1], bufs if name == "cosine" else [bufs]) if b is not None)
            _assert_same(got, want)


@go_cases
@pytest.mark.parametrize("shape", [(7, 6), (5,), (400, 300)], ids=str)
@pytest.mark.parametrize("name, variant", RICH)
def test_grad_out_may_be_the_inputs_themselves(name: str, variant: str, shape: Shape, reduction: str, go: Any) -> None:
    args, s = _case(name, variant, shape, gap=0.0)
    g = _go(go, shape)
    want = _call(name, args, reduction, s, grad_output=g)
    a = [x.copy() for x in args]
    bufs = (a[0], a[1]) if name == "cosine" else a[0]
    got = _call(name, a, reduction, s, grad_output=g, grad_out=bufs)
    assert all(r is b for r, b in zip(got[1], a))
    _assert_same(got, want)
    if name == "cosine":  # one of the two in place
        for k in (0, 1):
            a = [x.copy() for x in args]
            got = _call(name, a, reduction, s, grad_output=g, grad_out=(a[0], None) if k == 0 else (None, a[1]))
            assert got[1][k] is a[k]
            _assert_same(got, want)


@pytest.mark.parametrize("layout", ["sliced", "negative", "transposed", "misaligned"])
@pytest.mark.parametrize("name, variant", RICH)
def test_strided_and_misaligned_inputs_match_contiguous_copies(name: str, variant: str, layout: str) -> None:
    args, s = _case(name, variant, (9, 7), np.float32)
    make = _misaligned if layout == "misaligned" else lambda a: make_layout(a, layout)
    views = [make(a) if layout != "transposed" or a.ndim == 2 else make_layout(a, "negative") for a in args]
    make1 = make if layout != "transposed" else lambda a: make_layout(a, "negative")  # the 1-d arrays
    s2 = {k: (make1(v) if isinstance(v, np.ndarray) else v) for k, v in s.items()}
    for reduction in REDUCTIONS:
        _assert_same(_call(name, views, reduction, s2), _call(name, args, reduction, s))
    go = np.linspace(-1, 1, 9).astype(np.float32)
    want = _call(name, args, "none", s, grad_output=go)
    _assert_same(_call(name, views, "none", s2, grad_output=make1(go)), want)


@reductions
@pytest.mark.parametrize("name", NAMES)
def test_empty_input_and_zero_classes(name: str, reduction: str) -> None:
    args, s = _case(name, next(iter(VARIANTS[name])), (0, 4))
    loss, grads = _call(name, args, reduction, s)
    assert np.shape(loss) == ((0,) if reduction == "none" else ()) and all(g.shape == (0, 4) for g in grads)
    assert reduction == "none" or (type(loss) is np.float64 and np.array_equal(loss, np.nan if reduction == "mean" else 0.0, equal_nan=True))  # fmt: skip
    if name in ("soft", "label"):  # C = 0: 0 / 0 per row (torch: the same for soft margin; multilabel margin raises)
        loss, (grad,) = _call(name, [np.zeros((3, 0)), np.zeros((3, 0), args[1].dtype)], reduction)
        assert np.isnan(loss).all() and np.shape(loss) == ((3,) if reduction == "none" else ()) and grad.shape == (3, 0)


# ------------------------------------------------------------------------------ 6. threads
@reductions
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16], ids=["float32", "float64", "float16"])
@pytest.mark.parametrize("shape", [(400, 512), (3, 70001)], ids=str)  # >= 200_000 elements; long rows
@pytest.mark.parametrize("name, variant", RICH)
def test_threads_give_bitwise_identical_results(name: str, variant: str, shape: Shape, dtype: Any, reduction: str) -> None:  # fmt: skip
    args, s = _case(name, variant, shape, dtype, gap=0.0)
    if name == "label":  # at most 12 targets a row
        args[1] = np.where(np.arange(shape[-1]) < 12, args[1], -1)
    go = _go(None if reduction == "none" else 0.5, shape, dtype)
    one = _call(name, args, reduction, s, grad_output=go, n_threads=1)
    for n in (2, 3):
        _assert_same(_call(name, args, reduction, s, grad_output=go, n_threads=n), one)


# ------------------------------------------------------------------------ 7. half precision
@go_cases
@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("shape", [(23, 17), (9,)], ids=str)
@pytest.mark.parametrize("name, variant", ALL_VARIANTS)
def test_half_is_the_float32_call_rounded(name: str, variant: str, shape: Shape, dtype: Any, reduction: str, go: Any) -> None:  # fmt: skip
    args, s = _case(name, variant, shape)
    args = [_rounded(a, dtype) if a.dtype.kind == "f" else a for a in args]
    s = {k: (_rounded(v, dtype) if isinstance(v, np.ndarray) else v) for k, v in s.items()}
    g = _go(go, shape, dtype)
    loss, grads = _call(name, args, reduction, s, grad_output=g)
    a32 = [a if a.dtype.kind in "iu" else a.astype(np.float32) for a in args]
    s32 = {k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v) for k, v in s.items()}
    g32 = g if go is not None else g.astype(np.float32)
    loss32, grads32 = _call(name, a32, reduction, s32, grad_output=g32)
    assert np.asarray(loss).dtype == dtype and all(h.dtype == dtype for h in grads)
    for h, h32 in zip(grads, grads32):  # computed in float32, rounded once
        assert_bitwise(h, _rounded(h32, dtype), "gradient")
    if reduction == "none":
        assert_bitwise(np.asarray(loss), _rounded(np.asarray(loss32), dtype), "loss")
    else:
        assert isinstance(loss, np.generic) and abs(_f64(loss) - _f64(loss32)) <= _ulp(loss32, dtype)
    # the float64 reference on the same half values: loss within 1 ulp, gradients within 1 ulp
    # or 1e-7 of the largest
    l64, g64 = _ref(name, args, reduction, s, _f64(g))
    assert np.all(np.abs(_f64(loss) - l64) <= _ulp(l64, dtype)), (loss, l64)
    for h, r in zip(grads, g64):
        slack = np.maximum(_ulp(r, dtype), 1e-7 * np.max(np.abs(r), initial=0.0))
        assert np.all(np.abs(_f64(h) - r) <= slack), (_f64(h), r)


# ------------------------------------------------------------------------------ 8. classes
def test_classes_store_settings_and_call_the_functions() -> None:
    w = np.linspace(0.5, 2.0, 6)
    objs: List[Tuple[Any, str, Settings, str, str]] = [
        (fl.MultiLabelSoftMarginLoss(weight=w, reduction="sum", n_threads=2), "soft", {"weight": w}, "sum",
         "MultiLabelSoftMarginLoss(weight=array(shape=(6,), dtype=float64), reduction='sum', n_threads=2)"),
        (fl.MultiMarginLoss(p=2, margin=0.5, weight=w, reduction="none"), "multi", {"p": 2, "margin": 0.5, "weight": w},
         "none", "MultiMarginLoss(p=2, margin=0.5, weight=array(shape=(6,), dtype=float64), reduction='none')"),
        (fl.MultiLabelMarginLoss(reduction="sum", n_threads=3), "label", {}, "sum",
         "MultiLabelMarginLoss(reduction='sum', n_threads=3)"),
        (fl.CosineEmbeddingLoss(margin=-0.3, reduction="none"), "cosine", {"margin": -0.3}, "none",
         "CosineEmbeddingLoss(margin=-0.3, reduction='none')"),
    ]  # fmt: skip
    for obj, name, settings, red, text in objs:
        assert repr(obj) == text and obj.reduction == red
        assert all(np.array_equal(getattr(obj, k), v) for k, v in settings.items())
        args = _case(name, "plain" if name in ("soft", "label") else next(iter(VARIANTS[name])), (7, 6))[0]
        want = _call(name, args, red, settings)
        got = obj(*args, True)
        _assert_same((got[0], tuple(got[1]) if name == "cosine" else (got[1],)), want)
        got = obj.forward(*args, return_grad=True, n_threads=1)
        _assert_same((got[0], tuple(got[1]) if name == "cosine" else (got[1],)), want)
        assert_bitwise(obj(*args), want[0], "loss only")
        for key, value in [("reduction", "mean"), *settings.items()]:
            with pytest.raises(TypeError, match=f"{type(obj).__name__}: {key} is set when the loss is constructed"):
                obj(*args, **{key: value})
    for cls in ("MultiLabelSoftMarginLoss", "MultiMarginLoss", "MultiLabelMarginLoss", "CosineEmbeddingLoss"):
        assert repr(getattr(fl, cls)()) == f"{cls}()"
        with pytest.raises(ValueError, match=f"{cls}: reduction must be one of"):
            getattr(fl, cls)(reduction="avg")
    m: Any = fl.MultiMarginLoss()
    assert (m.p, m.margin, m.weight, m.n_threads) == (1, 1.0, None, None)
