"""The language-model head ``linear_cross_entropy``: ``cross_entropy(x @ W.T + b, target)``
computed chunk by chunk, with the gradients ``(d_input, d_weight[, d_bias])``.

Checked against torch float64 autograd (``F.linear_cross_entropy``, and the composed
``F.cross_entropy(F.linear(...))`` plus the z-loss formula where torch has no z-loss) for every
reduction x weight x ignore_index x label_smoothing x bias x target kind x chunk size; against
the float64 NumPy reference (``fastloss._reference.cross_entropy`` on the explicit logits,
chained through the linear layer) and central finite differences; against the unfused
``fl.cross_entropy`` in float32; edge cases (all ignored, N = 0, 1-D input, extreme logits,
NaN, layouts, target dtypes and lists); ``out=`` / ``grad_out=`` buffers; determinism across
kernel threads, BLAS threads and chunk sizes; float16 / bfloat16; and the argument errors.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import fastloss as fl
import numpy as np
import pytest
from fastloss import _reference as ref
from registry import HALF, _torch_z_loss, assert_bitwise
from registry import as_float64 as _f64
from registry import half_ulp as _ulp

FN = fl.linear_cross_entropy
S = 0.01  # the z-loss scale of the z-loss tests
N, H, V = 12, 6, 11
#: 1, a divisor of N, a non-divisor, N, more than N, the default
CHUNKS = [1, 4, 5, N, 100, None]


# --------------------------------------------------------------------------- problems
def _problem(
    dtype: Any = np.float64,
    *,
    n: int = N,
    h: int = H,
    v: int = V,
    bias: bool = True,
    weighted: bool = True,
    probs: bool = False,
    ignore: str = "default",
    seed: int = 0,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Dict[str, Any]]:
    """(x, W, target, options) with logits of order 1; ``ignore``: "none" (no ignored row),
    "default" (two rows -100) or "custom" (ignore_index=3, a valid class, on two rows)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h)).astype(dtype)
    W = (rng.standard_normal((v, h)) / np.sqrt(h) * 2).astype(dtype)
    opts: Dict[str, Any] = {}
    if bias:
        opts["linear_bias"] = (0.5 * rng.standard_normal(v)).astype(dtype)
    if weighted:
        opts["weight"] = rng.uniform(0.5, 2.0, v).astype(dtype)
    if probs:
        t = rng.dirichlet(np.ones(v), n).astype(dtype)
    else:
        t = rng.integers(0, v, n)
        if ignore == "default" and n > 7:
            t[[2, 7]] = -100
        elif ignore == "custom" and n > 7:
            t[[1, 6]] = 3
            t[t == 4] = 3
            opts["ignore_index"] = 3
    return x, W, t, opts


def _grad_output(reduction: str, n: int, dtype: Any = np.float64, seed: int = 9) -> Any:
    if reduction == "none":
        return np.random.default_rng(seed).uniform(-1.5, 1.5, n).astype(dtype)
    return -0.7


def _reference(
    x: np.ndarray,
    W: np.ndarray,
    t: np.ndarray,
    reduction: str = "mean",
    grad_output: Any = 1.0,
    **opts: Any,
) -> Tuple[Any, Tuple[np.ndarray, ...]]:
    """The float64 NumPy reference: cross_entropy on the explicit logits, chained to the
    linear layer's gradients (d_input = g @ W, d_weight = g.T @ x, d_bias = g.sum(0))."""
    x64, W64 = _f64(x), _f64(W)
    b = opts.get("linear_bias")
    logits = x64 @ W64.T + (0.0 if b is None else _f64(b))
    w = opts.get("weight")
    t64 = _f64(t) if np.asarray(t).dtype.kind not in "iu" else np.asarray(t)
    go = grad_output if np.ndim(grad_output) == 0 else _f64(grad_output)
    loss, g = ref.cross_entropy(
        logits,
        t64,
        None if w is None else _f64(w),
        opts.get("ignore_index", -100),
        opts.get("label_smoothing", 0.0),
        reduction,
        go,
        lse_square_scale=opts.get("lse_square_scale", 0.0),
    )
    g2 = g.reshape(-1, W.shape[0])
    x2 = x64.reshape(-1, W.shape[1])
    grads = [(g2 @ W64).reshape(x.shape), g2.T @ x2]
    if b is not None:
        grads.append(g2.sum(0))
    return loss, tuple(grads)


def _torch(
    x: np.ndarray,
    W: np.ndarray,
    t: np.ndarray,
    reduction: str,
    grad_output: Any,
    *,
    composed: bool = False,
    **opts: Any,
) -> Tuple[float, Any, Tuple[np.ndarray, ...]]:
    """torch float64 autograd: (loss, z-loss term or None, grads). ``F.linear_cross_entropy``,
    or (``composed`` or a z-loss) ``F.cross_entropy(F.linear(...))`` + the z-loss formula."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    tx = torch.tensor(_f64(x), requires_grad=True)
    tW = torch.tensor(_f64(W), requires_grad=True)
    b = opts.get("linear_bias")
    tb = None if b is None else torch.tensor(_f64(b), requires_grad=True)
    tt = torch.tensor(_f64(t)) if np.asarray(t).dtype.kind not in "iu" else torch.tensor(np.asarray(t, np.int64))
    w = opts.get("weight")
    tw = None if w is None else torch.tensor(_f64(w))
    ii = opts.get("ignore_index", -100)
    ls = opts.get("label_smoothing", 0.0)
    s = opts.get("lse_square_scale", 0.0)
    z = None
    if composed or s:
        logits = F.linear(tx, tW, tb)
        loss = F.cross_entropy(logits, tt, weight=tw, reduction=reduction, ignore_index=ii, label_smoothing=ls)
        if s:
            z = _torch_z_loss(logits, tt, 1 if x.ndim == 2 else 0, reduction, s, {"weight": tw, "ignore_index": ii})
            loss = loss + z
    else:
        loss = F.linear_cross_entropy(
            tx,
            tW,
            tt,
            linear_bias=tb,
            weight=tw,
            reduction=reduction,
            ignore_index=opts.get("ignore_index"),  # None: -100 (torch refuses one with probabilities)
            label_smoothing=ls,
        )
    loss.backward(torch.as_tensor(grad_output, dtype=torch.float64).expand_as(loss))
    grads = [tx.grad.numpy(), tW.grad.numpy()] + ([tb.grad.numpy()] if tb is not None else [])
    zv = None if z is None else z.detach().numpy()
    return loss.detach().numpy(), zv, tuple(grads)


def _close(actual: Any, expected: Any, rtol: float = 1e-10, what: str = "") -> None:
    e = _f64(expected)
    atol = rtol * (float(np.nanmax(np.abs(e))) if e.size else 0.0) + 1e-300
    np.testing.assert_allclose(_f64(actual), e, rtol=rtol, atol=atol, err_msg=what)


def _close_all(got: Tuple[Any, ...], want: Tuple[Any, ...], rtol: float, what: str) -> None:
    assert len(got) == len(want), f"{what}: {len(got)} gradients, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert np.shape(g) == np.shape(w), f"{what}: grad {i} shape {np.shape(g)} != {np.shape(w)}"
        _close(g, w, rtol, f"{what}: grad {i}")


# ------------------------------------------------------------------------------ torch
def _torch_params() -> List[Any]:
    params = []
    for probs in (False, True):
        for ignore in ("none", "default", "custom") if not probs else ("default",):
            for bias in (False, True):
                for weighted in (False, True):
                    for smoothing in (0.0, 0.15):
                        for reduction in ("mean", "sum", "none"):
                            pid = (
                                f"{'probs' if probs else 'index'}-ignore_{ignore}-{'bias' if bias else 'nobias'}"
                                f"-{'w' if weighted else 'now'}-ls{smoothing}-{reduction}"
                            )
                            params.append(pytest.param(probs, ignore, bias, weighted, smoothing, reduction, id=pid))
    return params


@pytest.mark.parametrize(("probs", "ignore", "bias", "weighted", "smoothing", "reduction"), _torch_params())
def test_matches_torch_linear_cross_entropy(
    probs: bool, ignore: str, bias: bool, weighted: bool, smoothing: float, reduction: str
) -> None:
    x, W, t, opts = _problem(bias=bias, weighted=weighted, probs=probs, ignore=ignore)
    if smoothing:
        opts["label_smoothing"] = smoothing
    go = _grad_output(reduction, N)
    t_loss, _, t_grads = _torch(x, W, t, reduction, go, **opts)
    for chunk in CHUNKS:
        loss, grads = FN(x, W, t, reduction=reduction, chunk_size=chunk, return_grad=True, grad_output=go, **opts)
        what = f"chunk_size={chunk}"
        assert np.shape(loss) == np.shape(t_loss), what
        assert np.asarray(loss).dtype == np.float64 and all(g.dtype == np.float64 for g in grads)
        _close(loss, t_loss, 1e-10, what)
        _close_all(grads, t_grads, 1e-10, what)
        # the value alone is the same
        _close(FN(x, W, t, reduction=reduction, chunk_size=chunk, **opts), t_loss, 1e-10, what)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
def test_matches_the_composed_torch_path(reduction: str, probs: bool) -> None:
    """The same against F.cross_entropy(F.linear(...)) (torch's definition of the fused op)."""
    x, W, t, opts = _problem(probs=probs, ignore="custom", seed=3)
    opts["label_smoothing"] = 0.05
    go = _grad_output(reduction, N)
    t_loss, _, t_grads = _torch(x, W, t, reduction, go, composed=True, **opts)
    for chunk in (1, 5, None):
        loss, grads = FN(x, W, t, reduction=reduction, chunk_size=chunk, return_grad=True, grad_output=go, **opts)
        _close(loss, t_loss)
        _close_all(grads, t_grads, 1e-10, f"chunk_size={chunk}")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["now", "w"])
@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
def test_z_loss_matches_the_composed_torch_formula(reduction: str, weighted: bool, probs: bool, bias: bool) -> None:
    x, W, t, opts = _problem(bias=bias, weighted=weighted, probs=probs, ignore="default", seed=4)
    x *= 2  # logsumexp well away from 0
    opts.update(lse_square_scale=S, label_smoothing=0.1)
    go = _grad_output(reduction, N)
    t_loss, t_z, t_grads = _torch(x, W, t, reduction, go, **opts)
    for chunk in (1, 5, N, None):
        what = f"chunk_size={chunk}"
        loss, z, grads = FN(
            x, W, t, reduction=reduction, chunk_size=chunk, return_z_loss=True, return_grad=True, grad_output=go, **opts
        )
        assert np.shape(z) == np.shape(t_z) and np.asarray(z).dtype == np.float64
        _close(loss, t_loss, 1e-10, what)
        _close(z, t_z, 1e-10, what)
        _close_all(grads, t_grads, 1e-10, what)
        loss2, z2 = FN(x, W, t, reduction=reduction, chunk_size=chunk, return_z_loss=True, **opts)
        _close(loss2, t_loss, 1e-10, what)
        _close(z2, t_z, 1e-10, what)
    # the z-loss is added to the loss: without it, the loss drops by exactly the term
    plain = FN(x, W, t, reduction=reduction, **{k: v for k, v in opts.items() if k != "lse_square_scale"})
    _close(plain, _f64(t_loss) - _f64(t_z), 1e-10)


def test_one_dimensional_input_matches_torch() -> None:
    x, W, t, opts = _problem(seed=5, ignore="none")
    opts.update(label_smoothing=0.1, lse_square_scale=S)
    for reduction in ("mean", "sum", "none"):
        t_loss, t_z, t_grads = _torch(x[3], W, t[3], reduction, 1.3, **opts)
        loss, z, grads = FN(
            x[3], W, t[3], reduction=reduction, return_z_loss=True, return_grad=True, grad_output=1.3, **opts
        )
        assert np.shape(loss) == () and grads[0].shape == (H,)
        _close(loss, t_loss)
        _close(z, t_z)
        _close_all(grads, t_grads, 1e-10, reduction)


# ------------------------------------------------------------------- NumPy reference
REF_OPTIONS = {
    "plain": {},
    "weight": {"weighted": True},
    "smooth": {"label_smoothing": 0.2},
    "zloss": {"lse_square_scale": S},
    "all": {"weighted": True, "label_smoothing": 0.1, "lse_square_scale": S},
    "ignore3": {"ignore": "custom", "weighted": True, "lse_square_scale": S},
}


@pytest.mark.parametrize("variant", list(REF_OPTIONS))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
def test_matches_the_float64_numpy_reference(variant: str, reduction: str, probs: bool) -> None:
    o = dict(REF_OPTIONS[variant])
    x, W, t, opts = _problem(
        n=40, h=16, v=300, weighted=o.pop("weighted", False), probs=probs, ignore=o.pop("ignore", "default"), seed=6
    )
    opts.update(o)
    go = _grad_output(reduction, 40)
    r_loss, r_grads = _reference(x, W, t, reduction, go, **opts)
    for chunk in (1, 7, None):
        loss, grads = FN(x, W, t, reduction=reduction, chunk_size=chunk, return_grad=True, grad_output=go, **opts)
        _close(loss, r_loss, 1e-11, f"chunk_size={chunk}")
        _close_all(grads, r_grads, 1e-11, f"chunk_size={chunk}")


@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_gradients_match_central_finite_differences(probs: bool, reduction: str) -> None:
    x, W, t, opts = _problem(n=3, h=3, v=4, probs=probs, ignore="none", seed=7)
    opts.update(label_smoothing=0.1, lse_square_scale=0.05)
    go = _grad_output(reduction, 3)

    def objective(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> float:
        loss = FN(x, W, t, reduction=reduction, chunk_size=2, **dict(opts, linear_bias=b))
        return float(np.sum(np.asarray(go) * loss))

    _, grads = FN(x, W, t, reduction=reduction, chunk_size=2, return_grad=True, grad_output=go, **opts)
    args = [x, W, opts["linear_bias"]]
    eps = 1e-6
    for k, (a, g) in enumerate(zip(args, grads)):
        fd = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            plus, minus = [p.copy() for p in args], [p.copy() for p in args]
            plus[k][i] += eps
            minus[k][i] -= eps
            fd[i] = (objective(*plus) - objective(*minus)) / (2 * eps)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8, err_msg=f"gradient {k}")


# --------------------------------------------------------------------------- unfused
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
def test_equals_the_unfused_cross_entropy_in_float32(reduction: str, probs: bool) -> None:
    x, W, t, opts = _problem(np.float32, n=64, h=16, v=300, probs=probs, seed=8)
    opts.update(label_smoothing=0.1, lse_square_scale=S)
    b = opts.pop("linear_bias")
    go = _grad_output(reduction, 64, np.float32)
    logits = x @ W.T + b
    u_loss, u_z, g = fl.cross_entropy(
        logits, t, reduction=reduction, return_z_loss=True, return_grad=True, grad_output=go, **opts
    )
    want = (g @ W, g.T @ x, g.sum(0))
    for chunk in (1, 7, 64, None):
        loss, z, grads = FN(
            x,
            W,
            t,
            linear_bias=b,
            reduction=reduction,
            chunk_size=chunk,
            return_z_loss=True,
            return_grad=True,
            grad_output=go,
            **opts,
        )
        assert np.asarray(loss).dtype == np.float32 and all(a.dtype == np.float32 for a in grads)
        _close(loss, u_loss, 1e-5, f"chunk_size={chunk}")
        _close(z, u_z, 1e-5, f"chunk_size={chunk}")
        _close_all(grads, want, 1e-5, f"chunk_size={chunk}")


# ---------------------------------------------------------------------------- edges
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
def test_all_targets_ignored(bias: bool) -> None:
    x, W, t, opts = _problem(bias=bias, seed=10)
    t[:] = -100
    ce_mean = fl.cross_entropy(x @ W.T, t, opts["weight"])
    for reduction in ("mean", "sum", "none"):
        loss, grads = FN(x, W, t, reduction=reduction, return_grad=True, chunk_size=5, **opts)
        if reduction == "mean":
            assert np.isnan(loss) and np.isnan(ce_mean)  # 0 / 0, like cross_entropy
        else:
            assert np.all(np.asarray(loss) == 0)
        for g in grads:
            assert np.all(g == 0)
        loss, z = FN(x, W, t, reduction=reduction, return_z_loss=True, lse_square_scale=S, **opts)
        assert np.isnan(z) if reduction == "mean" else np.all(np.asarray(z) == 0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
def test_empty_batch(reduction: str, probs: bool) -> None:
    x, W, t, opts = _problem(probs=probs, seed=11)
    loss, grads = FN(x[:0], W, t[:0], reduction=reduction, return_grad=True, **opts)
    if reduction == "none":
        assert loss.shape == (0,) and loss.dtype == np.float64
    elif reduction == "mean":
        assert np.isnan(loss)
    else:
        assert loss == 0
    assert grads[0].shape == (0, H) and grads[1].shape == (V, H) and grads[2].shape == (V,)
    assert np.all(grads[1] == 0) and np.all(grads[2] == 0)


@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
def test_one_dimensional_input_is_one_row(probs: bool) -> None:
    x, W, t, opts = _problem(probs=probs, ignore="none", seed=12)
    for reduction in ("mean", "sum", "none"):
        loss, grads = FN(x[4], W, t[4], reduction=reduction, return_grad=True, grad_output=0.5, **opts)
        loss2, grads2 = FN(x[4:5], W, t[4:5], reduction=reduction, return_grad=True, grad_output=0.5, **opts)
        assert np.shape(loss) == () and grads[0].shape == (H,) and grads[1].shape == (V, H)
        if reduction == "none":
            assert isinstance(loss, np.ndarray) and loss.dtype == np.float64
            go = np.float64(0.5)
            # a 0-d array grad_output for the 0-d "none" loss
            _, g0 = FN(x[4], W, t[4], reduction="none", return_grad=True, grad_output=np.asarray(go), **opts)
            _close_all(g0, grads, 1e-15, "0-d grad_output")
        _close(loss, np.asarray(loss2).reshape(()), 1e-15)
        _close_all(grads, (grads2[0][0],) + grads2[1:], 1e-15, reduction)


def test_extreme_logits_are_finite() -> None:
    x = np.array([[100.0, -50.0], [-100.0, 100.0], [80.0, 10.0]])
    W = np.array([[100.0, 0.0], [-100.0, 0.0], [0.0, 100.0], [50.0, 50.0]])  # logits up to +-1e4
    t = np.array([1, 0, 2])
    for dtype in (np.float32, np.float64):
        xd, Wd = x.astype(dtype), W.astype(dtype)
        assert np.abs(xd @ Wd.T).max() >= 1e4
        for reduction in ("mean", "none"):
            loss, z, grads = FN(
                xd, Wd, t, reduction=reduction, return_z_loss=True, return_grad=True, lse_square_scale=1e-6
            )
            r_loss, r_grads = _reference(xd, Wd, t, reduction, lse_square_scale=1e-6)
            assert np.all(np.isfinite(loss)) and np.all(np.isfinite(z)) and all(np.all(np.isfinite(g)) for g in grads)
            _close(loss, r_loss, 1e-5 if dtype == np.float32 else 1e-12)
            _close_all(grads, r_grads, 1e-5 if dtype == np.float32 else 1e-12, str(dtype))


def test_nan_in_input_propagates() -> None:
    x, W, t, opts = _problem(ignore="none", seed=13)
    x[5, 2] = np.nan
    assert np.isnan(FN(x, W, t, **opts))
    rows = FN(x, W, t, reduction="none", chunk_size=4, **opts)
    assert np.isnan(rows[5]) and np.all(np.isfinite(np.delete(rows, 5)))
    _, grads = FN(x, W, t, return_grad=True, chunk_size=4, **opts)
    assert np.all(np.isnan(grads[0][5]))
    assert np.isnan(grads[1]).any() and np.isnan(grads[2]).all()


def test_zero_weight_sum_gives_nan_gradients_like_cross_entropy() -> None:
    x, W, t, opts = _problem(ignore="none", seed=27)
    opts["weight"] = np.zeros(V)
    loss, grads = FN(x, W, t, return_grad=True, **opts)
    u_loss, g = fl.cross_entropy(x @ W.T + opts["linear_bias"], t, opts["weight"], return_grad=True)
    assert np.isnan(loss) and np.isnan(u_loss)
    for got, want in zip(grads, (g @ W, g.T @ x, g.sum(0))):
        np.testing.assert_allclose(got, want, equal_nan=True)


def test_default_chunking_with_several_chunks() -> None:
    """chunk_size=None on enough rows for more than one 16 MiB chunk (rows of V=300 float64:
    6990 per chunk), and a vocabulary over the 2048-row block of the d_weight accumulation."""
    x, W, t, opts = _problem(n=8000, h=3, v=300, seed=28)
    opts["lse_square_scale"] = S
    r_loss, r_grads = _reference(x, W, t, "sum", **opts)
    loss, grads = FN(x, W, t, reduction="sum", return_grad=True, **opts)
    _close(loss, r_loss, 1e-11)
    _close_all(grads, r_grads, 1e-11, "default chunks")
    x, W, t, opts = _problem(n=20, h=8, v=2100, seed=29)
    r_loss, r_grads = _reference(x, W, t, "mean", **opts)
    for chunk in (1, 7, None):
        loss, grads = FN(x, W, t, return_grad=True, chunk_size=chunk, **opts)
        _close(loss, r_loss, 1e-11)
        _close_all(grads, r_grads, 1e-11, f"V=2100 chunk_size={chunk}")


def test_one_class() -> None:
    x, W, t, opts = _problem(v=1, seed=30)
    t[t != -100] = 0
    loss, grads = FN(x, W, t, reduction="none", return_grad=True, chunk_size=5, **opts)
    assert np.all(loss == 0) and all(np.all(g == 0) for g in grads)


def test_out_for_the_zero_dimensional_rows_of_one_dimensional_input() -> None:
    x, W, t, opts = _problem(seed=31, ignore="none")
    out = np.empty(())
    assert FN(x[0], W, t[0], reduction="none", out=out, **opts) is out
    assert_bitwise(out, FN(x[0], W, t[0], reduction="none", **opts), "0-d out")
    with pytest.raises(
        ValueError, match=r"out must be .* float64 array of shape \(\); got float64 array of shape \(1,\)"
    ):
        FN(x[0], W, t[0], reduction="none", out=np.empty(1), **opts)


def _misaligned(a: np.ndarray) -> np.ndarray:
    raw = np.zeros(a.nbytes + 1, np.uint8)
    m = raw[1:].view(a.dtype).reshape(a.shape)
    m[...] = a
    assert not m.flags.aligned
    return m


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_layouts(dtype: Any) -> None:
    x, W, t, opts = _problem(dtype, seed=14)
    opts["label_smoothing"] = 0.1
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    want_loss, want = FN(x, W, t, reduction="none", return_grad=True, chunk_size=5, **opts)
    wide = np.zeros((N, 2 * H), dtype)
    wide[:, ::2] = x
    t2 = np.zeros(2 * N, t.dtype)
    t2[::2] = t
    b2 = np.zeros(2 * V, dtype)
    b2[::2] = opts["linear_bias"]
    variants = {
        "fortran input": (np.asfortranarray(x), W, t, opts),
        "strided input": (wide[:, ::2], W, t, opts),
        "transposed weight": (x, np.ascontiguousarray(W.T).T, t, opts),
        "misaligned": (_misaligned(x), _misaligned(W), t, dict(opts, weight=_misaligned(opts["weight"]))),
        "strided target and bias": (x, W, t2[::2], dict(opts, linear_bias=b2[::2])),
        "lists": (x.tolist(), W.tolist(), t.tolist(), dict(opts, weight=opts["weight"].tolist())),
    }
    for name, (xv, Wv, tv, ov) in variants.items():
        if name == "lists" and dtype == np.float32:
            continue  # lists convert to float64
        before = [np.array(a, copy=True) for a in (xv, Wv, tv)]
        loss, grads = FN(xv, Wv, tv, reduction="none", return_grad=True, chunk_size=5, **ov)
        _close(loss, want_loss, rtol, name)
        _close_all(grads, want, rtol, name)
        for a, b in zip((xv, Wv, tv), before):
            assert np.array_equal(np.asarray(a), b), f"{name}: an argument changed"


@pytest.mark.parametrize(
    "tdtype",
    [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64],
    ids=lambda d: d.__name__,
)
def test_every_integer_target_dtype(tdtype: Any) -> None:
    x, W, t, opts = _problem(ignore="none", seed=15)
    t[[3, 8]] = 10  # a non-default ignore_index representable in every dtype
    opts["ignore_index"] = 10
    want = FN(x, W, t.astype(np.int64), reduction="none", return_grad=True, **opts)
    got = FN(x, W, t.astype(tdtype), reduction="none", return_grad=True, **opts)
    assert_bitwise(got[0], want[0], "loss")
    for i, (a, b) in enumerate(zip(got[1], want[1])):
        assert_bitwise(a, b, f"grad {i}")
    if np.dtype(tdtype).kind == "i":  # the default ignore_index -100 in a signed dtype
        t2 = t.copy()
        t2[[3, 8]] = -100
        o = {k: v for k, v in opts.items() if k != "ignore_index"}
        assert_bitwise(FN(x, W, t2.astype(tdtype), **o), FN(x, W, t2, **o), "default ignore_index")


# -------------------------------------------------------------------------- buffers
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_out_and_grad_out_are_the_returned_buffers(reduction: str, dtype: Any) -> None:
    x, W, t, opts = _problem(dtype, seed=16)
    want_loss, want = FN(x, W, t, reduction=reduction, return_grad=True, chunk_size=5, **opts)
    out = np.empty((N,) if reduction == "none" else (), dtype)
    bufs = (np.empty((N, H), dtype), np.empty((V, H), dtype), np.empty(V, dtype))
    loss, grads = FN(x, W, t, reduction=reduction, return_grad=True, chunk_size=5, out=out, grad_out=bufs, **opts)
    assert loss is out and all(g is b for g, b in zip(grads, bufs))
    assert_bitwise(out, np.asarray(want_loss, dtype), "out")
    for i, (g, w) in enumerate(zip(grads, want)):
        assert_bitwise(g, w, f"grad_out[{i}]")
    # some buffers None: new arrays for those
    loss, grads = FN(
        x, W, t, reduction=reduction, return_grad=True, chunk_size=5, grad_out=(None, bufs[1], None), **opts
    )
    assert grads[1] is bufs[1] and grads[0] is not bufs[0]
    assert_bitwise(grads[0], want[0], "d_input")
    # out= alone, without gradients
    out2 = np.empty_like(out)
    assert FN(x, W, t, reduction=reduction, chunk_size=5, out=out2, **opts) is out2
    assert_bitwise(out2, np.asarray(want_loss, dtype), "out alone")


@pytest.mark.parametrize("chunk", [1, 5, None])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_d_input_may_overwrite_the_input(chunk: Any, dtype: Any) -> None:
    x, W, t, opts = _problem(dtype, seed=17)
    opts["lse_square_scale"] = S
    for reduction, go in (("mean", 1.0), ("none", _grad_output("none", N, dtype))):
        want_loss, want = FN(x, W, t, reduction=reduction, return_grad=True, chunk_size=chunk, grad_output=go, **opts)
        xi = x.copy()
        loss, grads = FN(
            xi,
            W,
            t,
            reduction=reduction,
            return_grad=True,
            chunk_size=chunk,
            grad_output=go,
            grad_out=(xi, None, None),
            **opts,
        )
        assert grads[0] is xi
        assert_bitwise(loss, want_loss, "loss")
        for i, (g, w) in enumerate(zip(grads, want)):
            assert_bitwise(g, w, f"grad {i}")
    # 1-D input overwritten by its d_input
    x1 = x[2].copy()
    want_loss, want = FN(x[2], W, t[2], return_grad=True, **opts)
    loss, grads = FN(x1, W, t[2], return_grad=True, grad_out=(x1, None, None), **opts)
    assert grads[0] is x1 and x1.shape == (H,)
    assert_bitwise(loss, want_loss, "1-D loss")
    assert_bitwise(x1, want[0], "1-D d_input")


def test_bad_buffers_raise_naming_them() -> None:
    x, W, t, opts = _problem(seed=18)
    b = opts["linear_bias"]

    def call(**kw: Any) -> Any:
        return FN(x, W, t, **dict(opts, **kw))

    ro = np.empty(())
    ro.flags.writeable = False
    for out, reduction in (
        (np.empty(N), "mean"),
        (np.empty((), np.float32), "mean"),
        (np.empty(2 * N)[::2], "none"),
        (ro, "mean"),
        ([0.0], "mean"),
    ):
        with pytest.raises(ValueError, match=r"out must be a C-contiguous, aligned, writeable float64 array of shape"):
            call(out=out, reduction=reduction)
    with pytest.raises(
        ValueError, match=r"grad_out\[0\] \(d_input\) must be .* float64 array of shape \(12, 6\); got float32"
    ):
        call(return_grad=True, grad_out=(np.empty((N, H), np.float32), None, None))
    with pytest.raises(
        ValueError, match=r"grad_out\[1\] \(d_weight\) must be .*\(11, 6\); got float64 array of shape \(11, 5\)"
    ):
        call(return_grad=True, grad_out=(None, np.empty((V, H - 1)), None))
    with pytest.raises(ValueError, match=r"grad_out\[2\] \(d_bias\) must be .*shape \(11,\)"):
        call(return_grad=True, grad_out=(None, None, np.empty(2 * V)[::2]))
    with pytest.raises(ValueError, match=r"grad_out\[0\] \(d_input\) must be a C-contiguous"):
        call(return_grad=True, grad_out=(np.asfortranarray(np.empty((N, H))), None, None))
    with pytest.raises(ValueError, match=r"grad_out must be None or a tuple \(d_input, d_weight, d_bias\)"):
        call(return_grad=True, grad_out=(None, None))
    with pytest.raises(ValueError, match=r"grad_out must be None or a tuple"):
        call(return_grad=True, grad_out=[None, None, None])
    with pytest.raises(ValueError, match=r"grad_out needs return_grad=True"):
        call(grad_out=(None, None, None))
    # overlaps: no output buffer may share memory with an argument or another output
    with pytest.raises(ValueError, match=r"out shares memory with input"):
        call(reduction="none", out=x.reshape(-1)[:N])
    with pytest.raises(ValueError, match=r"grad_out\[1\] shares memory with linear_weight"):
        call(return_grad=True, grad_out=(None, W, None))
    with pytest.raises(ValueError, match=r"grad_out\[2\] shares memory with linear_bias"):
        call(return_grad=True, grad_out=(None, None, b))
    with pytest.raises(ValueError, match=r"grad_out\[2\] shares memory with weight"):
        call(return_grad=True, grad_out=(None, None, opts["weight"]))
    # d_input may be the input itself, but not a buffer overlapping it otherwise (rows shifted)
    base = np.empty(N * H + H)
    xs = base[H:].reshape(N, H)
    xs[...] = x
    with pytest.raises(ValueError, match=r"grad_out\[0\] shares memory with input"):
        FN(xs, W, t, return_grad=True, grad_out=(base[: N * H].reshape(N, H), None, None), **opts)
    shared = np.empty(N * H + V * H)
    with pytest.raises(ValueError, match=r"grad_out\[0\] shares memory with grad_out\[1\]"):
        call(return_grad=True, grad_out=(shared[: N * H].reshape(N, H), shared[: V * H].reshape(V, H), None))
    with pytest.raises(ValueError, match=r"out shares memory with grad_out\[0\]"):
        call(reduction="none", return_grad=True, out=shared[:N], grad_out=(shared[: N * H].reshape(N, H), None, None))
    assert np.array_equal(W, _problem(seed=18)[1]) and np.array_equal(x, _problem(seed=18)[0])  # left intact


# ---------------------------------------------------------------------- determinism
def _blas_limits() -> Any:
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="fixing the BLAS threads needs threadpoolctl")
    return threadpoolctl.threadpool_limits


def _big(seed: int = 19) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Dict[str, Any]]:
    x, W, t, opts = _problem(np.float32, n=600, h=64, v=1500, seed=seed)
    opts.update(label_smoothing=0.1, lse_square_scale=S)
    return x, W, t, opts


def test_kernel_threads_do_not_change_the_result_bitwise() -> None:
    limits = _blas_limits()
    x, W, t, opts = _big()
    for blas in (1, 2):
        with limits(blas, user_api="blas"):
            for reduction in ("mean", "none"):
                runs = [
                    FN(
                        x,
                        W,
                        t,
                        reduction=reduction,
                        chunk_size=128,
                        return_z_loss=True,
                        return_grad=True,
                        n_threads=k,
                        **opts,
                    )
                    for k in (1, 2)
                ]
                one, two = runs
                assert_bitwise(one[0], two[0], f"loss, blas={blas}")
                assert_bitwise(one[1], two[1], f"z-loss, blas={blas}")
                for i, (a, b) in enumerate(zip(one[2], two[2])):
                    assert_bitwise(a, b, f"grad {i}, blas={blas}")


def test_blas_threads_agree_to_round_off() -> None:
    limits = _blas_limits()
    x, W, t, opts = _big(seed=20)
    runs = []
    for blas in (1, 2):
        with limits(blas, user_api="blas"):
            runs.append(FN(x, W, t, reduction="none", chunk_size=128, return_grad=True, **opts))
    (l1, g1), (l2, g2) = runs
    _close(l1, l2, 1e-5, "loss")  # OpenBLAS may round differently per thread count: no bitwise claim
    _close_all(g1, g2, 1e-5, "blas threads")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_chunk_size_changes_only_the_rounding(dtype: Any) -> None:
    x, W, t, opts = _problem(dtype, n=64, h=16, v=300, seed=21)
    opts["lse_square_scale"] = S
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    base = FN(x, W, t, reduction="sum", return_z_loss=True, return_grad=True, chunk_size=64, **opts)
    for chunk in (1, 3, 7, 16, 63):
        got = FN(x, W, t, reduction="sum", return_z_loss=True, return_grad=True, chunk_size=chunk, **opts)
        _close(got[0], base[0], rtol, f"chunk_size={chunk}")
        _close(got[1], base[1], rtol, f"chunk_size={chunk}")
        _close_all(got[2], base[2], rtol, f"chunk_size={chunk}")
    # chunk sizes giving the same chunks (one chunk of all rows): bitwise
    for chunk in (65, 1000, None):
        got = FN(x, W, t, reduction="sum", return_z_loss=True, return_grad=True, chunk_size=chunk, **opts)
        assert_bitwise(got[0], base[0], f"loss chunk_size={chunk}")
        assert_bitwise(got[1], base[1], f"z chunk_size={chunk}")
        for i, (a, b) in enumerate(zip(got[2], base[2])):
            assert_bitwise(a, b, f"grad {i} chunk_size={chunk}")
    # and a repeated call is bitwise the same
    again = FN(x, W, t, reduction="sum", return_z_loss=True, return_grad=True, chunk_size=7, **opts)
    first = FN(x, W, t, reduction="sum", return_z_loss=True, return_grad=True, chunk_size=7, **opts)
    assert_bitwise(again[0], first[0], "repeat")
    for a, b in zip(again[2], first[2]):
        assert_bitwise(a, b, "repeat grads")


# ---------------------------------------------------------------------------- half


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
def test_half_precision(dtype: Any, reduction: str, probs: bool) -> None:
    x, W, t, opts = _problem(np.float32, n=48, h=16, v=200, probs=probs, seed=22)
    opts.update(label_smoothing=0.1, lse_square_scale=S)
    x, W = x.astype(dtype), W.astype(dtype)
    t = t.astype(dtype) if probs else t
    opts = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in opts.items()}
    go = _grad_output(reduction, 48, dtype)
    loss, z, grads = FN(
        x, W, t, reduction=reduction, chunk_size=10, return_z_loss=True, return_grad=True, grad_output=go, **opts
    )
    assert np.asarray(loss).dtype == dtype and np.asarray(z).dtype == dtype
    assert all(g.dtype == dtype for g in grads) and [g.shape for g in grads] == [(48, 16), (200, 16), (200,)]
    if reduction != "none":
        assert np.ndim(loss) == 0 and isinstance(loss, np.generic)
    # float64 on the same half values: computed in float32, rounded once to the half dtype
    r_loss, r_grads = _reference(x, W, t, reduction, go, **opts)
    r_loss = np.asarray(r_loss)
    assert np.all(np.abs(_f64(loss) - r_loss) <= _ulp(r_loss, dtype) + 1e-6 * np.abs(r_loss))
    for i, (g, r) in enumerate(zip(grads, r_grads)):
        slack = np.maximum(_ulp(r, dtype), 1e-6 * np.max(np.abs(r)))
        assert np.all(np.abs(_f64(g) - r) <= slack), f"grad {i}: max err {np.max(np.abs(_f64(g) - r))}"
    # the float32 call on the widened values, rounded: the same up to one half ulp
    l32 = FN(
        x.astype(np.float32),
        W.astype(np.float32),
        t.astype(np.float32) if probs else t,
        reduction=reduction,
        chunk_size=10,
        **{k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v) for k, v in opts.items()},
    )
    assert np.all(np.abs(_f64(loss) - _f64(l32)) <= _ulp(l32, dtype))


@pytest.mark.parametrize("dtype", HALF)
def test_half_buffers_and_in_place(dtype: Any) -> None:
    x, W, t, opts = _problem(np.float32, seed=23)
    x, W = x.astype(dtype), W.astype(dtype)
    opts = {k: v.astype(dtype) for k, v in opts.items()}
    want_loss, want = FN(x, W, t, return_grad=True, chunk_size=5, **opts)
    out = np.empty((), dtype)
    bufs = (x.copy(), np.empty((V, H), dtype), np.empty(V, dtype))
    loss, grads = FN(bufs[0], W, t, return_grad=True, chunk_size=5, out=out, grad_out=(bufs[0],) + bufs[1:], **opts)
    assert loss is out and all(g is b for g, b in zip(grads, bufs))
    assert out.tobytes() == np.asarray(want_loss).tobytes()
    for g, w in zip(grads, want):
        assert g.tobytes() == w.tobytes()
    with pytest.raises(TypeError, match=rf"linear_weight must have input's dtype {dtype.name}; got dtype float32"):
        FN(x, W.astype(np.float32), t)


# --------------------------------------------------------------------------- errors
def _err(exc: Any, match: str, **kw: Any) -> None:
    x, W, t, _ = _problem(bias=False, weighted=False, seed=24)
    args = {"input": x, "linear_weight": W, "target": t}
    args.update(kw)
    with pytest.raises(exc, match=match):
        FN(args.pop("input"), args.pop("linear_weight"), args.pop("target"), **args)


ERRORS = [
    ("reduction", ValueError, r"reduction must be one of 'mean', 'sum', 'none'; got 'avg'", {"reduction": "avg"}),
    ("reduction-batchmean", ValueError, r"reduction must be one of .*; got 'batchmean'", {"reduction": "batchmean"}),
    ("input-int", TypeError, r"input must be float32, float64, float16 or bfloat16; got dtype int32",
     {"input": np.zeros((N, H), np.int32)}),
    ("input-complex", TypeError, r"input must be float32, .*; got dtype complex128", {"input": np.zeros((N, H), complex)}),
    ("input-3d", ValueError, r"input must have shape \(N, H\) or \(H,\); got shape \(1, 12, 6\)",
     {"input": np.zeros((1, N, H))}),
    ("input-0d", ValueError, r"input must have shape \(N, H\) or \(H,\); got shape \(\)", {"input": np.float64(1.0)}),
    ("weight-dtype", TypeError, r"linear_weight must have input's dtype float64; got dtype float32",
     {"linear_weight": np.zeros((V, H), np.float32)}),
    ("weight-shape", ValueError, r"linear_weight must have shape \(V, 6\) for input shape \(12, 6\); got shape \(11, 5\)",
     {"linear_weight": np.zeros((V, H - 1))}),
    ("weight-1d", ValueError, r"linear_weight must have shape \(V, 6\) .*; got shape \(6,\)",
     {"linear_weight": np.zeros(H)}),
    ("bias-shape", ValueError, r"linear_bias must have shape \(11,\); got shape \(10,\)", {"linear_bias": np.zeros(V - 1)}),
    ("bias-2d", ValueError, r"linear_bias must have shape \(11,\); got shape \(1, 11\)", {"linear_bias": np.zeros((1, V))}),
    ("bias-dtype", TypeError, r"linear_bias must have input's dtype float64; got dtype float32",
     {"linear_bias": np.zeros(V, np.float32)}),
    ("class-weight-shape", ValueError, r"weight must have shape \(11,\), one value per class; got shape \(12,\)",
     {"weight": np.ones(V + 1)}),
    ("class-weight-dtype", TypeError, r"weight must have input's dtype float64; got dtype float16",
     {"weight": np.ones(V, np.float16)}),
    ("target-shape", ValueError, r"class-index target must have shape \(12,\); got shape \(11,\)",
     {"target": np.zeros(N - 1, np.int64)}),
    ("target-2d", ValueError, r"class-index target must have shape \(12,\); got shape \(12, 1\)",
     {"target": np.zeros((N, 1), np.int64)}),
    ("target-high", IndexError,
     r"target 11 at index \(4,\) is out of range for 11 classes \(expected 0 <= target < 11, or ignore_index=-100\)",
     {"target": np.array([0] * 4 + [11] + [0] * 7)}),
    ("target-negative", IndexError, r"target -1 at index \(0,\) is out of range for 11 classes",
     {"target": np.array([-1] + [0] * 11)}),
    ("target-ignore-custom", IndexError, r"target -100 at index \(2,\) .*ignore_index=5\)",
     {"target": np.array([0, 0, -100] + [0] * 9), "ignore_index": 5}),
    ("target-uint64-huge", IndexError, r"target 18446744073709551615 at index \(11,\) is out of range",
     {"target": np.array([0] * 11 + [2**64 - 1], np.uint64)}),
    ("target-1d-input", IndexError, r"target 11 at index \(\) is out of range", {"input": np.zeros(H), "target": 11}),
    ("probs-dtype", TypeError,
     r"target must hold class indices of an integer dtype, or class probabilities of the input's dtype float64; "
     r"got dtype float32", {"target": np.full((N, V), 1 / V, np.float32)}),
    ("target-bool", TypeError, r"target must hold class indices .*; got dtype bool", {"target": np.zeros(N, bool)}),
    ("probs-shape", ValueError, r"probability target must have shape \(12, 11\); got shape \(12, 10\)",
     {"target": np.full((N, V - 1), 0.1)}),
    ("smoothing-negative", ValueError, r"label_smoothing must be in \[0, 1\]; got -0.1", {"label_smoothing": -0.1}),
    ("smoothing-high", ValueError, r"label_smoothing must be in \[0, 1\]; got 1.5", {"label_smoothing": 1.5}),
    ("smoothing-nan", ValueError, r"label_smoothing must be in \[0, 1\]; got nan", {"label_smoothing": float("nan")}),
    ("smoothing-str", TypeError, r"label_smoothing must be a float; got str 'a'", {"label_smoothing": "a"}),
    ("zscale-negative", ValueError, r"lse_square_scale must be a finite number >= 0; got -1.0", {"lse_square_scale": -1.0}),
    ("zscale-nan", ValueError, r"lse_square_scale must be a finite number >= 0; got nan",
     {"lse_square_scale": float("nan")}),
    ("zscale-inf", ValueError, r"lse_square_scale must be a finite number >= 0; got inf",
     {"lse_square_scale": float("inf")}),
    ("chunk-0", ValueError, r"chunk_size must be None or a positive int; got 0", {"chunk_size": 0}),
    ("chunk-negative", ValueError, r"chunk_size must be None or a positive int; got -3", {"chunk_size": -3}),
    ("chunk-float", TypeError, r"chunk_size must be None or a positive int; got float 2.0", {"chunk_size": 2.0}),
    ("chunk-bool", TypeError, r"chunk_size must be None or a positive int; got bool True", {"chunk_size": True}),
    ("chunk-npbool", TypeError, r"chunk_size must be None or a positive int; got bool", {"chunk_size": np.bool_(True)}),
    ("threads-0", ValueError, r"n_threads must be None or a positive int; got 0", {"n_threads": 0}),
    ("threads-float", TypeError, r"n_threads must be None or a positive int; got float 1.5", {"n_threads": 1.5}),
    ("threads-bool", TypeError, r"n_threads must be None or a positive int; got bool True", {"n_threads": True}),
    ("return-z-int", TypeError, r"return_z_loss must be a bool; got int 1", {"return_z_loss": 1}),
    ("return-z-str", TypeError, r"return_z_loss must be a bool; got str 'yes'", {"return_z_loss": "yes"}),
    ("return-grad-int", TypeError, r"return_grad must be a bool; got int 2", {"return_grad": 2}),
    ("ignore-float", TypeError, r"ignore_index must be an int; got float 1.5", {"ignore_index": 1.5}),
    ("grad-output-array-mean", ValueError,
     r"grad_output must be a scalar for reduction='mean'; got shape \(12,\)",
     {"return_grad": True, "grad_output": np.ones(N)}),
    ("grad-output-array-sum", ValueError, r"grad_output must be a scalar for reduction='sum'; got shape \(12,\)",
     {"return_grad": True, "reduction": "sum", "grad_output": np.ones(N)}),
    ("grad-output-shape", ValueError,
     r"grad_output must be a scalar or a float64 array of shape \(12,\); got float64 array of shape \(11,\)",
     {"return_grad": True, "reduction": "none", "grad_output": np.ones(N - 1)}),
    ("grad-output-dtype", ValueError,
     r"grad_output must be a scalar or a float64 array of shape \(12,\); got float32 array of shape \(12,\)",
     {"return_grad": True, "reduction": "none", "grad_output": np.ones(N, np.float32)}),
]  # fmt: skip


@pytest.mark.parametrize(("exc", "match", "kw"), [pytest.param(*e[1:], id=e[0]) for e in ERRORS])
def test_errors_name_the_argument(exc: Any, match: str, kw: Dict[str, Any]) -> None:
    _err(exc, rf"^linear_cross_entropy: {match}", **kw)


def test_a_valid_ignore_index_and_bool_flags_are_accepted() -> None:
    x, W, t, _ = _problem(bias=False, weighted=False, seed=25)
    loss, z = FN(x, W, t, return_z_loss=np.bool_(True))  # NumPy's bool is a bool
    assert np.isfinite(loss) and z == 0
    assert np.isfinite(FN(x, W, t, chunk_size=np.int64(3), n_threads=np.int32(1)))


def test_errors_leave_buffers_and_input_intact() -> None:
    x, W, t, opts = _problem(seed=26)
    xi = x.copy()
    with pytest.raises(IndexError):
        FN(xi, W, np.where(np.arange(N) == 5, 99, t), return_grad=True, grad_out=(xi, None, None), **opts)
    assert np.array_equal(xi, x)
