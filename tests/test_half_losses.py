"""Half precision (float16, and bfloat16 where ml_dtypes is installed) for the elementwise losses:
computed in float32 per element, reduced in float64, returned in the input's dtype.

Three references: the float32 call on the same (widened) values, rounded to the half dtype,
which the half call must equal bitwise (so extremes, inf and NaN behave as in float32 and then
round); the float64 reference formulas, within the contract's tolerance (the reduced loss within
1 ulp of the half dtype, each gradient element within 1 ulp or 1e-7 of the largest); and torch in
the same dtype where it is installed."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import fastloss as fl
import numpy as np
import pytest
from fastloss import _reference as ref
from registry import HALF
from registry import as_float64 as _f64
from registry import half_ulp as _ulp
from registry import rounded as _rounded


def _data(name: str, n: int, dtype: Any, seed: int = 0) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
    rng = np.random.default_rng(seed)
    if name == "binary_cross_entropy":
        x = rng.uniform(0.001, 0.999, n)
        y = rng.uniform(0, 1, n)
        opts = {"weight": rng.uniform(0.5, 2, n).astype(dtype)}
    elif name == "binary_cross_entropy_with_logits":
        x = rng.standard_normal(n) * 3
        y = rng.uniform(0, 1, n)
        opts = {"weight": rng.uniform(0.5, 2, n).astype(dtype), "pos_weight": rng.uniform(0.5, 3, n).astype(dtype)}
    else:
        x, y, opts = rng.standard_normal(n), rng.standard_normal(n), {}
    return x.astype(dtype), y.astype(dtype), opts


NAMES = ["mse_loss", "l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]
REFERENCE: Dict[str, Callable[..., Tuple[Any, Any]]] = {
    "mse_loss": lambda x, y, **o: ref.mse_elementwise(x, y),
    "l1_loss": lambda x, y, **o: ref.l1_elementwise(x, y),
    "binary_cross_entropy": lambda x, y, **o: ref.bce_elementwise(x, y, o.get("weight")),
    "binary_cross_entropy_with_logits": lambda x, y, **o: ref.bce_with_logits_elementwise(
        x, y, o.get("weight"), o.get("pos_weight")
    ),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_half_is_float32_rounded(name: str, dtype: Any, reduction: str) -> None:
    x, y, opts = _data(name, 3000, dtype)
    fn = getattr(fl, name)
    loss, grad = fn(x, y, reduction=reduction, return_grad=True, **opts)
    opts32 = {k: v.astype(np.float32) for k, v in opts.items()}
    loss32, grad32 = fn(x.astype(np.float32), y.astype(np.float32), reduction=reduction, return_grad=True, **opts32)
    assert np.asarray(loss).dtype == dtype and grad.dtype == dtype
    if reduction != "none":
        assert np.ndim(loss) == 0 and isinstance(loss, np.generic)
    assert np.array_equal(np.asarray(loss).view(np.uint16), _rounded(loss32, dtype).view(np.uint16))
    assert np.array_equal(grad.view(np.uint16), _rounded(grad32, dtype).view(np.uint16))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_half_within_one_ulp_of_the_float64_reference(name: str, dtype: Any, reduction: str) -> None:
    x, y, opts = _data(name, 2000, dtype, seed=1)
    loss, grad = getattr(fl, name)(x, y, reduction=reduction, return_grad=True, **opts)
    l64, g64 = ref.reduce(*REFERENCE[name](_f64(x), _f64(y), **{k: _f64(v) for k, v in opts.items()}), reduction)
    assert np.all(np.abs(_f64(loss) - l64) <= _ulp(l64, dtype))
    slack = np.maximum(_ulp(g64, dtype), 1e-7 * np.max(np.abs(g64)))
    assert np.all(np.abs(_f64(grad) - g64) <= slack)


@pytest.mark.parametrize("dtype", HALF)
def test_extremes_behave_as_in_float32_then_round(dtype: Any) -> None:
    big = 65504.0 if dtype.name == "float16" else 3.0e38
    vals = np.array([big, -big, np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-7, 1.0], np.float64)
    x = _rounded(vals, dtype)
    y = _rounded(vals[::-1], dtype)
    for name in ("mse_loss", "l1_loss", "binary_cross_entropy_with_logits"):
        fn = getattr(fl, name)
        with np.errstate(all="ignore"):
            loss, grad = fn(x, y, reduction="none", return_grad=True)
            loss32, grad32 = fn(x.astype(np.float32), y.astype(np.float32), reduction="none", return_grad=True)
        assert np.array_equal(loss.view(np.uint16), _rounded(loss32, dtype).view(np.uint16)), name
        assert np.array_equal(grad.view(np.uint16), _rounded(grad32, dtype).view(np.uint16)), name


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", NAMES)
def test_half_results_do_not_depend_on_the_thread_count(name: str, dtype: Any) -> None:
    x, y, opts = _data(name, 200_000, dtype, seed=2)
    fn = getattr(fl, name)
    one = fn(x, y, return_grad=True, n_threads=1, **opts)
    two = fn(x, y, return_grad=True, n_threads=2, **opts)
    assert one[0].tobytes() == two[0].tobytes() and one[1].tobytes() == two[1].tobytes()


@pytest.mark.parametrize("dtype", HALF)
def test_half_buffers_broadcast_and_in_place(dtype: Any) -> None:
    x, y, _ = _data("binary_cross_entropy_with_logits", 24, dtype, seed=3)
    x, y = x.reshape(4, 6), y.reshape(4, 6)
    pw = _rounded(np.linspace(0.5, 3, 6), dtype)  # (C,) broadcast to (N, C)
    loss, grad = fl.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="none", return_grad=True)
    full = np.broadcast_to(pw, x.shape).copy()
    loss_f, grad_f = fl.binary_cross_entropy_with_logits(x, y, pos_weight=full, reduction="none", return_grad=True)
    assert loss.tobytes() == loss_f.tobytes() and grad.tobytes() == grad_f.tobytes()
    out, g = np.empty(x.shape, dtype), np.empty(x.shape, dtype)
    res = fl.binary_cross_entropy_with_logits(
        x, y, pos_weight=pw, reduction="none", return_grad=True, out=out, grad_out=g
    )
    assert res[0] is out and res[1] is g and out.tobytes() == loss.tobytes() and g.tobytes() == grad.tobytes()
    xi = x.copy()
    value, gi = fl.binary_cross_entropy_with_logits(xi, y, pos_weight=pw, return_grad=True, grad_out=xi)
    expected = fl.binary_cross_entropy_with_logits(x, y, pos_weight=pw, return_grad=True)
    assert gi is xi and value == expected[0] and xi.tobytes() == expected[1].tobytes()
    go = _rounded(np.linspace(-1, 1, 24).reshape(4, 6), dtype)
    _, gg = fl.mse_loss(x, y, reduction="none", return_grad=True, grad_output=go)
    _, g32 = fl.mse_loss(
        x.astype(np.float32),
        y.astype(np.float32),
        reduction="none",
        return_grad=True,
        grad_output=go.astype(np.float32),
    )
    assert gg.tobytes() == _rounded(g32, dtype).tobytes()


@pytest.mark.parametrize("dtype", HALF)
def test_half_errors(dtype: Any) -> None:
    x, y, _ = _data("mse_loss", 8, dtype)
    with pytest.raises(TypeError, match=rf"target dtype float32 does not match input dtype {dtype.name}.*astype"):
        fl.mse_loss(x, y.astype(np.float32))
    with pytest.raises(ValueError, match="grad_out"):
        fl.mse_loss(x, y, return_grad=True, grad_out=np.empty(8, np.float32))
    p = _rounded(np.array([0.5, 1.5]), dtype)
    with pytest.raises(ValueError, match=r"input values must be in \[0, 1\]; got 1.5 at index \(1,\)"):
        fl.binary_cross_entropy(p, _rounded(np.array([0.0, 1.0]), dtype), return_grad=True, grad_out=p)
    assert p.astype(np.float64).tolist() == [0.5, 1.5]  # the error left the input intact
    with pytest.raises(TypeError, match="float16 or bfloat16"):
        fl.mse_loss(np.zeros(2, np.int16), np.zeros(2, np.int16))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits"])
def test_half_matches_torch_in_the_same_dtype(name: str, dtype: Any) -> None:
    torch = pytest.importorskip("torch")
    x, y, opts = _data(name, 1000, dtype, seed=4)
    tdt = torch.float16 if dtype.name == "float16" else torch.bfloat16
    tx = torch.tensor(x.astype(np.float32), dtype=tdt, requires_grad=True)
    ty = torch.tensor(y.astype(np.float32), dtype=tdt)
    topts = {k: torch.tensor(v.astype(np.float32), dtype=tdt) for k, v in opts.items()}
    tl = getattr(torch.nn.functional, name)(tx, ty, **topts)
    tl.backward()
    loss, grad = getattr(fl, name)(x, y, return_grad=True, **opts)
    t_loss, t_grad = float(tl.detach().float()), tx.grad.float().numpy().astype(np.float64)
    l64, g64 = ref.reduce(*REFERENCE[name](_f64(x), _f64(y), **{k: _f64(v) for k, v in opts.items()}), "mean")
    # torch rounds intermediates (x - y, ...) to the half dtype, fastloss keeps them in float32:
    # the two agree up to torch's own error against the float64 reference, plus an ulp.
    assert abs(float(loss) - t_loss) <= abs(t_loss - l64) + _ulp(np.array(l64), dtype)
    slack = np.abs(t_grad - g64) + np.maximum(_ulp(g64, dtype), 1e-7 * np.abs(g64).max())
    assert np.all(np.abs(_f64(grad) - t_grad) <= slack)


@pytest.mark.parametrize("dtype", HALF)
def test_l2_penalty_in_half(dtype: Any) -> None:
    w = _rounded(np.random.default_rng(5).standard_normal(100_000), dtype)
    value, grad = fl.l2_penalty(w, 0.25, return_grad=True)
    exact = 0.25 * np.sum(_f64(w) ** 2)
    assert np.asarray(value).dtype == dtype and grad.dtype == dtype
    assert abs(_f64(value) - exact) <= _ulp(np.array(exact), dtype)
    assert grad.tobytes() == _rounded(np.float32(0.5) * w.astype(np.float32), dtype).tobytes()
    one = fl.l2_penalty(w, 0.25, n_threads=1)
    assert one.tobytes() == fl.l2_penalty(w, 0.25, n_threads=2).tobytes()


def _sgd_float32_steps(
    w: np.ndarray,
    grads: List[np.ndarray],
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> np.ndarray:
    """torch's SGD in float32 on the half values, rounding param and buffer to the half dtype
    after each step (what fastloss computes, up to FMA contraction)."""
    f = np.float32
    p, buf = w.copy(), None
    for g in grads:
        p32, d = p.astype(f), (-1 if maximize else 1) * g.astype(f)
        if weight_decay:
            d = d + f(weight_decay) * p32
        if momentum:
            b = d if buf is None else f(momentum) * buf.astype(f) + f(1 - dampening) * d
            buf = _rounded(b, w.dtype)
            d = d + f(momentum) * b if nesterov else b
        p = _rounded(p32 - f(lr) * d, w.dtype)
    return p


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize(
    "hyper",
    [
        {},
        {"momentum": 0.9, "weight_decay": 0.01},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.5, "dampening": 0.1, "maximize": True},
    ],
    ids=str,
)
def test_sgd_in_half(dtype: Any, hyper: Dict[str, Any]) -> None:
    rng = np.random.default_rng(6)
    w = _rounded(rng.standard_normal(100_000), dtype)
    grads = [_rounded(rng.standard_normal(100_000) * 0.1, dtype) for _ in range(4)]
    p = w.copy()
    opt = fl.SGD([p], lr=0.05, **hyper)
    for g in grads:
        opt.step([g])
    assert p.dtype == dtype
    full = {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False, "maximize": False, **hyper}
    want = _sgd_float32_steps(w, grads, 0.05, **full)
    # Each step rounds the param and buffer once, as the emulation does; fused multiply-adds
    # (AVX2) round the float32 intermediates differently, which after 4 steps moved one of 1e5
    # values by 2 ulps.
    assert np.all(np.abs(_f64(p) - _f64(want)) <= 2 * _ulp(_f64(want), dtype))
    q = w.copy()
    opt2 = fl.SGD([q], lr=0.05, n_threads=1, **hyper)
    for g in grads:
        opt2.step([g])
    assert q.tobytes() == p.tobytes()  # any thread count, bitwise
