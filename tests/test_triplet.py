"""``triplet_margin_loss`` (gradients w.r.t. anchor, positive and negative) and
``TripletMarginLoss``: torch float64 autograd parity (every reduction, p, margin, eps, swap, 1-d
input, empty and single rows and columns, constructed exact ties of the clamp and of the swap's
minimum, zero distances), the float64 NumPy reference and central finite differences, NaN
propagation (and its differences from torch), errors and their messages, out= / grad_out= buffers
(in place over the inputs too), strided and misaligned inputs, thread determinism, float16 /
bfloat16 against the float32 call, and the class."""

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
TM: Any = fl.triplet_margin_loss  # Any: some calls below are wrong on purpose
DEFAULT: Dict[str, Any] = {"margin": 1.0, "p": 2.0, "eps": 1e-6, "swap": False}
ENUM = {"none": 0, "mean": 1, "sum": 2}  # torch's reduction enum
#: (reduction, grad_output); None: an array of the per-row loss's shape
swaps = pytest.mark.parametrize("swap", [False, True], ids=["noswap", "swap"])


def _dist(x: np.ndarray, y: np.ndarray, p: float, eps: float) -> np.ndarray:
    d: np.ndarray = np.sum(np.abs(x - y + eps) ** p, axis=-1) ** (1 / p)
    return d


def _data(shape: Shape, dtype: Any = np.float64, *, seed: int = 0, gap: float = 0.0, **s: Any) -> Args:
    """(anchor, positive, negative): offsets of magnitude in [0.15, 1.2] from the anchor, the negative
    near the anchor in most rows and near the positive in the others (so the swap picks either); with
    ``gap``, rows are redrawn until |z|, |d(a, n) - d(p, n)| (swap) and every |difference + eps| are
    >= gap under the settings ``s`` (away from the kinks)."""
    s = {**DEFAULT, **s}
    m, d = (1, shape[0]) if len(shape) == 1 else shape
    rng = np.random.default_rng([seed, len(shape), *shape])
    out = [np.empty((m, d)) for _ in range(3)]
    todo = np.arange(m)
    for _ in range(500):
        if not todo.size:
            break
        k = todo.size

        def off() -> np.ndarray:
            o: np.ndarray = rng.uniform(0.15, 1.2, (k, d)) * rng.choice([-1.0, 1.0], (k, d))
            return o

        a = rng.standard_normal((k, d))
        pos = a + off()
        neg = np.where(rng.random((k, 1)) < 0.3, pos, a) + rng.uniform(0.6, 1.6, (k, 1)) * off()
        for o, v in zip(out, (a, pos, neg)):
            o[todo] = v
        if not gap:
            break
        dp, dn, ds = (_dist(x, y, s["p"], s["eps"]) for x, y in ((a, pos), (a, neg), (pos, neg)))
        z = s["margin"] + dp - (np.minimum(dn, ds) if s["swap"] else dn)
        diffs = np.abs(np.concatenate([a - pos, a - neg, pos - neg], axis=1) + s["eps"]).min(axis=1)
        todo = todo[(np.abs(z) < gap) | (s["swap"] & (np.abs(dn - ds) < gap)) | (diffs < gap)]
    assert not gap or not todo.size
    return [o.reshape(shape).astype(dtype) for o in out]


def _go(go: Optional[float], shape: Shape, dtype: Any = np.float64) -> Any:
    return grad_output_of(go, shape[:-1], dtype)


def _call(args: Args, reduction: str = "mean", **kw: Any) -> Any:
    return TM(*args, reduction=reduction, return_grad=True, **kw)


def _ref(args: Args, reduction: str, s: Dict[str, Any], go: Any = 1.0) -> Any:
    settings: Dict[str, Any] = {**DEFAULT, **s}
    fn: Any = ref.triplet_margin_loss
    return fn(*[_f64(a) for a in args], **settings, reduction=reduction, grad_output=_f64(go))


def _torch(torch: Any, args: Args, s: Dict[str, Any], reduction: str, go: Any = 1.0) -> Any:
    """(loss, grads) from torch float64 autograd of the ATen op (``F.triplet_margin_loss`` refuses
    margin <= 0, see test_torch_differences)."""
    s = {**DEFAULT, **s}
    ts = [torch.from_numpy(np.array(a, dtype=np.float64)).requires_grad_(True) for a in args]
    loss = torch.triplet_margin_loss(*ts, s["margin"], s["p"], s["eps"], s["swap"], ENUM[reduction])
    loss.backward(torch.broadcast_to(torch.tensor(np.asarray(go, dtype=np.float64)), loss.shape))
    return loss.detach().numpy(), tuple(t.grad.numpy() for t in ts)


def _assert_close(got: Any, want: Any, dtype: Any, reduction: str, rows: int) -> None:
    assert_close(got[0], want[0], dtype, floor=8.0 * (max(rows, 1) if reduction == "sum" else 1), what="loss")
    assert len(got[1]) == 3
    # the anchor's gradient is a difference of terms of the size of the others'
    floor = max((float(np.nanmax(np.abs(w), initial=0.0)) for w in want[1]), default=0.0)
    for k in range(3):
        assert np.shape(got[1][k]) == np.shape(want[1][k])
        assert_close(got[1][k], want[1][k], dtype, floor=floor, what=f"grad {k}")


def _assert_same(got: Any, want: Any) -> None:
    assert_bitwise(got[0], want[0], "loss")
    for k in range(3):
        assert_bitwise(got[1][k], want[1][k], f"grad {k}")


def _misaligned(a: np.ndarray) -> np.ndarray:
    """A writeable C-contiguous copy of ``a`` at an odd address."""
    m = np.frombuffer(bytearray(a.nbytes + 1), a.dtype, count=a.size, offset=1).reshape(a.shape)
    m[...] = a
    return m


# ------------------------------------------------------------------------ 1. torch parity
@go_cases
@swaps
@pytest.mark.parametrize("eps", [1e-6, 0.0], ids=["eps1e-6", "eps0"])
@pytest.mark.parametrize("margin", [0.0, 1.0, -0.5])
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0, 0.5])
def test_matches_torch(torch: Any, p: float, margin: float, eps: float, swap: bool, reduction: str, go: Any) -> None:
    s = {"margin": margin, "p": p, "eps": eps, "swap": swap}
    args, g = _data((23, 17)), _go(go, (23, 17))
    _assert_close(
        _call(args, reduction, grad_output=g, **s), _torch(torch, args, s, reduction, g), np.float64, reduction, 23
    )


@go_cases
@swaps
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("shape", [(17,), (0, 5), (1, 5), (6, 1), (1, 1), (3, 0), (0,)], ids=str)
def test_shapes_match_torch(torch: Any, shape: Shape, p: float, swap: bool, reduction: str, go: Any) -> None:
    s = {"p": p, "swap": swap, "margin": 0.5}
    args, g = _data(shape), _go(go, shape)
    got = _call(args, reduction, grad_output=g, **s)
    _assert_close(got, _torch(torch, args, s, reduction, g), np.float64, reduction, int(np.prod(shape[:-1])))
    if reduction == "none":
        assert isinstance(got[0], np.ndarray) and got[0].shape == shape[:-1] and got[0].dtype == np.float64
    else:
        assert type(got[0]) is np.float64


TIES = np.array([  # (anchor, positive, negative) rows of integers; eps = 0
    [[0, 0], [3, 4], [4, 3]],  # d(a, p) == d(a, n) for every p: z == margin
    [[0, 0], [6, 0], [3, 4]],  # d(a, n) == d(p, n) for every p: the swap's tie (z == 0 for p = 2, margin -1)
    [[0, 0], [3, 4], [0, 5]],  # p = 2: d(a, p) == d(a, n) == 5
    [[1, 2], [1, 2], [1, 3]],  # d(a, p) == 0: a zero norm gradient
    [[1, 2], [2, 2], [1, 2]],  # d(a, n) == 0
], dtype=np.float64)  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
@swaps
@pytest.mark.parametrize("margin", [0.0, -1.0])
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_exact_ties_pass_the_gradient_as_torch(torch: Any, p: float, margin: float, swap: bool, reduction: str) -> None:
    args, s = [np.ascontiguousarray(TIES[:, k]) for k in range(3)], {"margin": margin, "p": p, "eps": 0.0, "swap": swap}
    got = _call(args, reduction, **s)
    _assert_close(got, _torch(torch, args, s, reduction), np.float64, reduction, 5)
    _assert_close(got, _ref(args, reduction, s), np.float64, reduction, 5)
    if p == 2.0 and reduction == "none":  # the clamp passes the gradient at z == 0; a swap tie halves it
        rows = {(0.0, False): 2, (-1.0, True): 1}.get((margin, swap))
        want = {2: [[-0.6, 0.2], [0.6, 0.8], [0.0, -1.0]], 1: [[-0.7, 0.4], [0.7, 0.4], [0.0, -0.8]]}
        if rows is not None:
            assert got[0][rows] == 0.0
            np.testing.assert_allclose([gk[rows] for gk in got[1]], want[rows], rtol=1e-15, atol=1e-16)


# ------------------------------------------------------- 2. NumPy reference, finite differences
@go_cases
@swaps
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_matches_the_reference(dtype: Any, p: float, swap: bool, reduction: str, go: Any) -> None:
    s: Dict[str, Any] = {"margin": 0.5, "p": p, "swap": swap}
    args, g = _data((23, 17), dtype, gap=0.01, **s), _go(go, (23, 17), dtype)
    got = _call(args, reduction, grad_output=g, **s)
    assert np.asarray(got[0]).dtype == dtype and [a.dtype for a in got[1]] == [dtype] * 3
    _assert_close(got, _ref(args, reduction, s, g), dtype, reduction, 23)


@go_cases
@pytest.mark.parametrize("margin, eps", [(0.5, 1e-6), (-0.5, 0.0)], ids=["m0.5", "m-0.5-eps0"])
@swaps
@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_gradients_match_finite_differences(
    p: float, swap: bool, margin: float, eps: float, reduction: str, go: Any
) -> None:
    s = {"margin": margin, "p": p, "eps": eps, "swap": swap}
    args, g = _data((5, 4), seed=3, gap=0.05, **s), _go(go, (5, 4))
    _, grads = _call(args, reduction, grad_output=g, **s)
    assert_gradients_match_finite_differences(TM, args, grads, (0, 1, 2), g, reduction=reduction, **s)


# ------------------------------------------------------------------------------- 3. NaN
@swaps
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("where", [0, 1, 2], ids=["anchor", "positive", "negative"])
def test_nan_anywhere_gives_nan_loss_and_gradients_in_its_row(where: int, dtype: Any, p: float, swap: bool) -> None:
    args = _data((4, 5), dtype)
    args[where][2, 3] = np.nan
    rows = np.array([False, False, True, False])
    for reduction in ("none", "mean"):
        loss, grads = _call(args, reduction, p=p, swap=swap)
        assert np.array_equal(np.isnan(loss), rows if reduction == "none" else True)
        for k, gk in enumerate(grads):
            assert np.isnan(gk[2]).all() and np.isfinite(gk[~rows]).all(), f"grad {k}: {gk}"


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_nan_reaches_the_gradient_of_a_zero_distance(p: float) -> None:
    # eps = 0 and a row with a == p (d(a, p) == 0), a NaN in its negative; and one with a == n, a NaN
    # in its positive: the NaN row rule holds for every gradient, also the zero norm's
    a = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]])
    pos, neg = np.array([[1.0, 2.0], [np.nan, 0.0], [1.0, 1.0]]), np.array([[np.nan, 0.0], [1.0, 2.0], [2.0, 2.0]])
    loss, grads = _call([a, pos, neg], "none", eps=0.0, p=p)
    _, ref_grads = _ref([a, pos, neg], "none", {"eps": 0.0, "p": p})
    assert np.array_equal(np.isnan(loss), [True, True, False])
    assert all(np.isnan(rk[:2]).all() for rk in ref_grads)  # the reference's rule
    assert all(np.isfinite(gk[2]).all() for gk in grads)
    not_nan = [f"{name}: {gk[:2].tolist()}" for name, gk in zip(["anchor", "positive", "negative"], grads)]
    assert all(np.isnan(gk[:2]).all() for gk in grads), "gradients of the NaN rows: " + "; ".join(not_nan)


@swaps
def test_nan_rows_differ_from_torch_only_in_their_gradients(torch: Any, swap: bool) -> None:
    args = _data((6, 5))
    args[0][1, 0], args[1][3, 2], args[2][4, 4] = np.nan, np.nan, np.nan
    loss, grads = _call(args, "none", swap=swap)
    t_loss, t_grads = _torch(torch, args, {"swap": swap}, "none", 1.0)
    nan = np.isin(np.arange(6), [1, 3, 4])
    assert np.array_equal(np.isnan(loss), nan) and np.array_equal(np.isnan(t_loss), nan)
    for g, tg in zip(grads, t_grads):
        assert np.isnan(g[nan]).all()  # fastloss: NaN; torch: NaN or 0 (its clamp_min mask is False)
        assert np.all(np.isnan(tg[nan]) | (tg[nan] == 0))
        np.testing.assert_allclose(g[~nan], tg[~nan], rtol=1e-12, atol=1e-14)
    if not swap:  # torch: a NaN negative leaves the positive's gradient 0, a NaN positive the negative's
        assert np.all(t_grads[1][4] == 0) and np.all(t_grads[2][3] == 0)


# ----------------------------------------------------------------------------- 4. errors
A, A6, A32 = np.ones((5, 7)), np.ones((5, 6)), np.ones((5, 7), np.float32)
ERRORS = [
    (lambda: TM(A, A6, A), ValueError, r"positive shape \(5, 6\) must equal anchor shape \(5, 7\)"),
    (lambda: TM(A, A, A6), ValueError, r"negative shape \(5, 6\) must equal anchor shape \(5, 7\)"),
    (lambda: TM(A[0], A, A), ValueError, r"positive shape \(5, 7\) must equal anchor shape \(7,\)"),
    (lambda: TM(*[np.ones((2, 3, 4))] * 3), ValueError, r"anchor must be \(D,\) or \(N, D\); got shape \(2, 3, 4\)"),
    (lambda: TM(*[np.float64(1.0)] * 3), ValueError, r"anchor must be \(D,\) or \(N, D\); got shape \(\)"),
    (lambda: TM(A, A32, A), TypeError, r"positive dtype float32 does not match input dtype float64"),
    (lambda: TM(A, A, A32), TypeError, r"negative dtype float32 does not match"),
    (lambda: TM(A.astype(int), A, A), TypeError, r"anchor must be a float32, float64, float16 or bfloat16 array; got dtype int64"),
    (lambda: TM(A, A, A, p=0.0), ValueError, r"p must be > 0; got 0\.0"),
    (lambda: TM(A, A, A, p=-1.5), ValueError, r"p must be > 0; got -1\.5"),
    (lambda: TM(A, A, A, p=float("nan")), ValueError, r"p must be > 0; got nan"),
    (lambda: TM(A, A, A, p=float("inf")), ValueError, r"p must be a positive finite number; got inf"),
    (lambda: TM(A, A, A, swap="yes"), TypeError, r"swap must be a bool"),
    (lambda: TM(A, A, A, reduction="batchmean"), ValueError, r"reduction must be one of 'none', 'mean', 'sum'; got 'batchmean'"),
    (lambda: TM(A, A, A, return_grad=True, grad_out=(None, None)), ValueError, r"grad_out must be None or a tuple of 3 buffers.*got tuple of 2"),
    (lambda: TM(A, A, A, return_grad=True, grad_out=[None] * 4), ValueError, r"grad_out must be None or a tuple of 3 buffers.*got list of 4"),
    (lambda: TM(A, A, A, return_grad=True, grad_out=np.zeros((5, 7))), ValueError, r"grad_out must be None or a tuple of 3.*got ndarray"),
    (lambda: TM(A, A, A, grad_out=(None, None, None)), ValueError, r"grad_out was given but return_grad is False"),
    (lambda: TM(A, A, A, return_grad=True, grad_out=(A6.copy(), None, None)), ValueError, r"grad_out\[0\] \(anchor\) must be .*float64 array of shape \(5, 7\); got shape \(5, 6\)"),
    (lambda: TM(A, A, A, return_grad=True, grad_out=(None, A32.copy(), None)), ValueError, r"grad_out\[1\] \(positive\) must be .*; got dtype float32"),
    (lambda: TM(A, A, A, return_grad=True, grad_out=(None, None, np.zeros((7, 5)).T)), ValueError, r"grad_out\[2\] \(negative\) must be .*; got a non-contiguous array"),
    (lambda: TM(A, A, A, return_grad=True, grad_out=(None, None, _misaligned(A))), ValueError, r"grad_out\[2\] \(negative\) must be a C-contiguous, aligned, writeable .*; got a misaligned array"),
    (lambda: TM(A, A, A, reduction="none", return_grad=True, grad_output=A), ValueError, r"grad_output shape \(5, 7\) must equal the loss shape \(5,\)"),
    (lambda: TM(A[0], A[0], A[0], reduction="none", return_grad=True, grad_output=np.ones(1)), ValueError, r"grad_output shape \(1,\) must equal the loss shape \(\)"),
    (lambda: TM(A, A, A, reduction="none", out=np.empty((5, 7))), ValueError, r"out must be .*float64 array of shape \(5,\); got shape \(5, 7\)"),
    (lambda: TM(A, A, A, out=np.empty(5)), ValueError, r"out must be .*shape \(\); got shape \(5,\)"),
]  # fmt: skip


@pytest.mark.parametrize("call, exc, pattern", ERRORS, ids=[p.replace("\\", "")[:50] for _, _, p in ERRORS])
def test_errors_name_the_problem(call: Callable[[], Any], exc: Any, pattern: str) -> None:
    with pytest.raises(exc, match=pattern) as info:
        call()
    assert str(info.value).startswith("triplet_margin_loss: ")


def test_overlapping_outputs_are_refused() -> None:
    args = _data((5, 7))
    a, p, n = args
    flat = np.zeros(36)
    left, right = flat[:35].reshape(5, 7), flat[1:].reshape(5, 7)
    G0, G1, G2 = "grad_out[0] (anchor)", "grad_out[1] (positive)", "grad_out[2] (negative)"
    cases: List[Tuple[Dict[str, Any], str]] = [
        (dict(grad_out=(p, None, None)), f"{G0} shares memory with positive"),
        (dict(grad_out=(n, None, None)), f"{G0} shares memory with negative"),
        (dict(grad_out=(None, a, None)), f"{G1} shares memory with anchor"),
        (dict(grad_out=(None, None, p)), f"{G2} shares memory with positive"),
        (dict(grad_out=(left, right, None)), f"{G0} shares memory with {G1}"),
        (dict(grad_out=(None, left, right)), f"{G1} shares memory with {G2}"),
        (dict(grad_out=(left, None, right)), f"{G0} shares memory with {G2}"),
        (dict(grad_out=(left,) * 3), f"{G0} shares memory with {G1}"),
        (dict(reduction="none", out=a[0, :5]), "out shares memory with anchor"),
        (dict(reduction="none", out=left[0, :5], grad_out=(None, None, left)), f"out shares memory with {G2}"),
        (dict(reduction="none", grad_output=left[0, :5], grad_out=(None, right, None)), f"{G1} shares memory with grad_output"),
    ]  # fmt: skip
    for kw, message in cases:
        before = [x.copy() for x in args]
        with pytest.raises(ValueError, match=re.escape(message)):
            _call(args, **kw)
        for x, b in zip(args, before):
            assert_bitwise(x, b, "an input after the refused call")


# ------------------------------------------------------------------------- 5. buffers, layouts
@pytest.mark.parametrize("shape", [(23, 17), (17,)], ids=str)
def test_out_and_grad_out_buffers(shape: Shape) -> None:
    args = _data(shape)
    for reduction in REDUCTIONS:
        want = _call(args, reduction, swap=True)
        out = np.full(np.shape(want[0]), np.nan)
        got = _call(args, reduction, swap=True, out=out)
        assert got[0] is out
        _assert_same(got, want)
        assert TM(*args, reduction=reduction, swap=True, out=out) is out
        for use in [(1, 1, 1), (1, 0, 1), (0, 1, 0), (0, 0, 1), (0, 0, 0)]:
            bufs = [np.full(shape, np.nan) if u else None for u in use]
            got = _call(args, reduction, swap=True, grad_out=list(bufs) if use[1] else tuple(bufs))
            assert all(g is b for g, b in zip(got[1], bufs) if b is not None)
            _assert_same(got, want)


@go_cases
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16], ids=["float64", "float32", "float16"])
@pytest.mark.parametrize("shape, p, swap", [((23, 17), 2.0, True), ((17,), 1.0, False), ((400, 300), 1.5, True)])
def test_grad_out_may_be_the_inputs_themselves(
    shape: Shape, p: float, swap: bool, dtype: Any, reduction: str, go: Any
) -> None:
    args, g = _data(shape, dtype), _go(go, shape, dtype)
    want = _call(args, reduction, p=p, swap=swap, grad_output=g)
    for which in [(0, 1, 2), (0, 2), (1,)]:
        a = [x.copy() for x in args]
        bufs = tuple(a[k] if k in which else None for k in range(3))
        got = _call(a, reduction, p=p, swap=swap, grad_output=g, grad_out=bufs)
        assert all(got[1][k] is a[k] for k in which)
        _assert_same(got, want)


@pytest.mark.parametrize("layout", ["sliced", "negative", "transposed", "misaligned", "broadcast"])
@pytest.mark.parametrize("shape", [(23, 17), (17,)], ids=str)
def test_strided_and_misaligned_inputs_match_contiguous_copies(shape: Shape, layout: str) -> None:
    args = _data(shape, np.float32)
    g = _go(None, shape, np.float32)
    if layout == "broadcast":  # read-only zero-stride rows
        views = [np.broadcast_to(a[:1], a.shape) if a.ndim == 2 else a for a in args]
        args = [np.array(v) for v in views]
    else:
        make = _misaligned if layout == "misaligned" else lambda a: make_layout(a, layout)
        views = [make(a) if layout != "transposed" or a.ndim == 2 else a for a in args]
    gv = make_layout(g, "sliced") if layout == "sliced" and g.ndim else g  # a strided grad_output too
    for reduction in REDUCTIONS:
        go, gov = (g, gv) if reduction == "none" else (0.5, 0.5)
        _assert_same(
            _call(views, reduction, swap=True, grad_output=gov), _call(args, reduction, swap=True, grad_output=go)
        )


# ------------------------------------------------------------------------------ 6. threads
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p, swap", [(2.0, False), (1.5, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16], ids=["float32", "float64", "float16"])
def test_threads_give_bitwise_identical_results(dtype: Any, p: float, swap: bool, reduction: str) -> None:
    args = _data((400, 512), dtype)
    one = _call(args, reduction, p=p, swap=swap, n_threads=1)
    for n in (2, 3):
        _assert_same(_call(args, reduction, p=p, swap=swap, n_threads=n), one)


# ------------------------------------------------------------------------ 7. half precision
@go_cases
@swaps
@pytest.mark.parametrize("p", [2.0, 1.5])
@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("shape", [(23, 17), (17,)], ids=str)
def test_half_is_the_float32_call_rounded(
    shape: Shape, dtype: Any, p: float, swap: bool, reduction: str, go: Any
) -> None:
    s: Dict[str, Any] = {"margin": 0.5, "p": p, "swap": swap}
    args = [_rounded(a, dtype) for a in _data(shape, gap=0.05, **s)]
    g = _go(go, shape, dtype)
    loss, grads = _call(args, reduction, grad_output=g, **s)
    g32 = g if go is not None else g.astype(np.float32)
    loss32, grads32 = _call([a.astype(np.float32) for a in args], reduction, grad_output=g32, **s)
    assert np.asarray(loss).dtype == dtype and [a.dtype for a in grads] == [dtype] * 3
    for h, h32 in zip(grads, grads32):  # each gradient: the float32 gradient rounded once
        assert_bitwise(h, _rounded(h32, dtype), "gradient")
    if reduction == "none":
        assert_bitwise(loss, _rounded(loss32, dtype), "loss")
    else:
        assert isinstance(loss, np.generic) and abs(_f64(loss) - _f64(loss32)) <= _ulp(loss32, dtype)
    l64, g64 = _ref(args, reduction, s, g)  # the float64 reference on the same half values
    assert np.all(np.abs(_f64(loss) - l64) <= _ulp(l64, dtype)), (loss, l64)
    for h, r in zip(grads, g64):
        slack = np.maximum(_ulp(r, dtype), 1e-7 * np.max(np.abs(r), initial=0.0))
        assert np.all(np.abs(_f64(h) - r) <= slack), (_f64(h), r)


# ------------------------------------------------------------------------------ 8. the class
def test_class_stores_settings_and_calls_the_function() -> None:
    m: Any = fl.TripletMarginLoss(margin=0.5, p=1.5, eps=0.0, swap=True, reduction="sum", n_threads=2)
    assert (m.margin, m.p, m.eps, m.swap, m.reduction, m.n_threads) == (0.5, 1.5, 0.0, True, "sum", 2)
    assert repr(m) == "TripletMarginLoss(margin=0.5, p=1.5, eps=0.0, swap=True, reduction='sum', n_threads=2)"
    assert repr(fl.TripletMarginLoss(swap=True)) == "TripletMarginLoss(swap=True)"
    assert repr(fl.TripletMarginLoss(margin=1.0, p=2.0)) == "TripletMarginLoss()"
    args = _data((6, 4))
    want = _call(args, "sum", margin=0.5, p=1.5, eps=0.0, swap=True)
    _assert_same(m(*args, True), want)
    _assert_same(m.forward(*args, return_grad=True, n_threads=1), want)
    assert_bitwise(m(*args), want[0], "loss only")
    buf = np.empty_like(args[2])
    assert m(*args, return_grad=True, grad_out=(None, None, buf))[1][2] is buf
    d: Any = fl.TripletMarginLoss()
    assert (d.margin, d.p, d.eps, d.swap, d.reduction, d.n_threads) == (1.0, 2.0, 1e-6, False, "mean", None)
    assert_bitwise(d(*args), TM(*args), "defaults")
    assert_bitwise(TM(*[a.tolist() for a in args]), TM(*args), "lists")  # Python numbers: float64
    for key, value in [("margin", 1.0), ("p", 2.0), ("eps", 0.1), ("swap", False), ("reduction", "none")]:
        with pytest.raises(TypeError, match=f"{key} is set when the loss is constructed"):
            m(*args, **{key: value})
    with pytest.raises(ValueError, match="reduction must be one of"):
        fl.TripletMarginLoss(reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="p must be > 0"):
        fl.TripletMarginLoss(p=0.0)(*args)  # type: ignore[call-overload]


# ------------------------------------------------------------------------ 9. torch's rules
def test_torch_differences(torch: Any) -> None:
    # torch's F.triplet_margin_loss refuses margin <= 0 (the ATen op and fastloss take it); torch takes
    # p = inf and p < 0, fastloss refuses both
    args = _data((4, 3))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        torch.nn.functional.triplet_margin_loss(*[torch.from_numpy(a) for a in args], margin=0.0)
    _assert_close(_call(args, margin=-0.5), _torch(torch, args, {"margin": -0.5}, "mean"), np.float64, "mean", 4)
    for p in (float("inf"), -1.0):
        torch.triplet_margin_loss(*[torch.from_numpy(a) for a in args], 1.0, p, 1e-6, False, 1)
        with pytest.raises(ValueError, match="p must be"):
            TM(*args, p=p)
