"""fastloss.jax: every loss of the spec table under jax.jit, jax.value_and_grad, jax.vjp and
jax.vmap equals fastloss's own NumPy call on the same arrays (bitwise: the same kernel runs),
in float32 for every reduction, in float64 under x64, and through both host-call mechanisms
(buffer_callback, pure_callback); the main losses equal a hand-written jnp formula
differentiated by JAX; half precision keeps its dtype; jit traces once; errors reach the user;
a small training loop learns; docs/jax.md's recipe runs as written; and the adapter stays an
optional extra (``import fastloss`` never imports jax; without jax, ``import fastloss.jax``
names the extra)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import fastloss as fl
import numpy as np
import pytest
from fastloss import _spec

jax = pytest.importorskip("jax", reason="fastloss.jax needs jax (pip install 'fastloss[jax]')")
jnp = pytest.importorskip("jax.numpy")
flj = pytest.importorskip("fastloss.jax")

Arrays = List[np.ndarray]
Case = Tuple[Arrays, Dict[str, Any], Dict[str, Any]]  # arrays, array options (weight...), settings
DOCS = Path(__file__).resolve().parent.parent / "docs" / "jax.md"


# ------------------------------------------------------------------------------------ inputs
def _signs(rng: np.random.Generator, shape: Tuple[int, ...]) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _inputs(name: str, dtype: Any, seed: int = 0) -> Case:
    """Valid inputs of one loss (float64 values cast to ``dtype``), with its array options and
    non-default settings, so that each call exercises the loss's parameters."""
    rng = np.random.default_rng([seed, len(name)])
    n, c = 6, 5
    normal = rng.standard_normal
    arrays: List[Any]
    ops: Dict[str, Any] = {}
    settings: Dict[str, Any] = {}
    if name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        arrays = [normal((n, c)), normal((n, c))]
        settings = {"huber_loss": {"delta": 0.7}, "smooth_l1_loss": {"beta": 0.6}}.get(name, {})
        if name == "huber_loss":
            ops = {"weight": rng.uniform(0.5, 2.0, (c,))}
    elif name == "kl_div":
        logq = np.log(rng.dirichlet(np.ones(c), n))
        arrays = [logq, rng.dirichlet(np.ones(c), n)]
    elif name == "poisson_nll_loss":
        arrays = [0.5 * normal((n, c)), rng.poisson(2.0, (n, c)).astype(float)]
        settings = {"full": True}
    elif name == "binary_cross_entropy":
        arrays = [rng.uniform(0.02, 0.98, (n, c)), rng.uniform(0, 1, (n, c))]
        ops = {"weight": rng.uniform(0.5, 2.0, (n, c))}
    elif name in ("binary_cross_entropy_with_logits", "sigmoid_focal_loss"):
        arrays = [2 * normal((n, c)), (rng.random((n, c)) < 0.4).astype(float)]
        if name == "binary_cross_entropy_with_logits":
            ops = {"weight": rng.uniform(0.5, 2.0, (n, c)), "pos_weight": rng.uniform(0.5, 3.0, (c,))}
        else:
            settings = {"alpha": 0.3, "gamma": 1.5}
    elif name in ("soft_margin_loss", "hinge_embedding_loss"):
        arrays = [2 * normal((n, c)), _signs(rng, (n, c))]
        settings = {"margin": 0.8} if name == "hinge_embedding_loss" else {}
    elif name == "gaussian_nll_loss":
        x = normal((n, c))
        arrays = [x, x + 0.5 * normal((n, c)), rng.uniform(0.2, 2.0, (n, 1))]  # var broadcast along axis 1
        settings = {"full": True}
    elif name == "margin_ranking_loss":
        arrays = [normal(n), normal(n), _signs(rng, (n,))]
        settings = {"margin": 0.3}
    elif name == "cosine_embedding_loss":
        arrays = [normal((n, c)), normal((n, c)), _signs(rng, (n,))]
        settings = {"margin": -0.2}
    elif name == "triplet_margin_loss":
        arrays = [normal((n, c)), normal((n, c)), normal((n, c))]
        settings = {"margin": 1.5, "swap": True}
    elif name == "multilabel_soft_margin_loss":
        arrays = [normal((n, c)), (rng.random((n, c)) < 0.4).astype(float)]
        ops = {"weight": rng.uniform(0.5, 2.0, (c,))}
    elif name == "multi_margin_loss":
        arrays = [normal((n, c)), rng.integers(0, c, n).astype(np.int32)]
        ops = {"weight": rng.uniform(0.5, 2.0, (c,))}
        settings = {"p": 2, "margin": 0.9}
    elif name == "multilabel_margin_loss":
        target = np.full((n, c), -1, np.int32)
        for r in range(n):
            k = int(rng.integers(0, c))
            target[r, :k] = rng.permutation(c)[:k]
        arrays = [normal((n, c)), target]
    elif name == "cross_entropy":
        target = rng.integers(0, c, (n, 3)).astype(np.int32)
        target[0, 1] = target[3, 2] = -1
        arrays = [normal((n, c, 3)), target]  # (N, C, d1): class axis 1
        ops = {"weight": rng.uniform(0.5, 2.0, (c,))}
        settings = {"ignore_index": -1, "label_smoothing": 0.1}
    elif name == "nll_loss":
        target = rng.integers(0, c, n).astype(np.int32)
        target[2] = 7
        arrays = [np.log(rng.dirichlet(np.ones(c), n)), target]
        ops = {"weight": rng.uniform(0.5, 2.0, (c,))}
        settings = {"ignore_index": 7}
    elif name == "sequence_cross_entropy":
        b, t, v = 3, 4, 7
        target = rng.integers(0, v, (b, t)).astype(np.int32)
        target[1, 0] = -100
        arrays = [normal((b, t, v)), target]
        ops = {"weight": rng.uniform(0.5, 2.0, (v,)), "lengths": np.array([4, 2, 3], np.int32)}
        settings = {"label_smoothing": 0.05, "lse_square_scale": 0.01}
    elif name == "ctc_loss":
        z = normal((7, 3, c))  # (T, N, C)
        targets = np.array([[1, 2, 2], [3, 1, 0], [4, 0, 0]], np.int32)
        arrays = [z - np.log(np.exp(z).sum(-1, keepdims=True)), targets, np.array([7, 5, 3]), np.array([3, 2, 1])]
        settings = {"blank": 0, "zero_infinity": True}
    else:
        raise KeyError(name)
    cast = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    return cast, {k: (a.astype(dtype) if a.dtype.kind == "f" else a) for k, a in ops.items()}, settings


NAMES = [s.name for s in _spec.SPECS]
ARRAY_REDUCTIONS = ("none", "sequence")
LOSS_REDUCTIONS = [(s.name, r) for s in _spec.SPECS for r in s.reductions]


def test_every_loss_has_inputs_and_a_function() -> None:
    for name in NAMES:
        _inputs(name, np.float32)  # KeyError: a new loss needs a row in _inputs
    assert set(flj.__all__) == set(_spec.function_names())
    assert flj.mae_loss is flj.l1_loss


@pytest.mark.parametrize("name", NAMES)
def test_signature_is_the_numpy_functions_less_the_buffers(name: str) -> None:
    import inspect

    numpy_sig = inspect.signature(getattr(fl, name))
    # return_z_loss, a logging output of the NumPy cross-entropy functions, is not the adapters'
    dropped = {"return_z_loss", "return_grad", "grad_output", "out", "grad_out"}
    expected = [p for p in numpy_sig.parameters.values() if p.name not in dropped]
    assert list(inspect.signature(getattr(flj, name)).parameters.values()) == expected


@pytest.mark.parametrize("name", NAMES)
def test_docstring_documents_every_parameter_and_the_result(name: str) -> None:
    import inspect

    doc = getattr(flj, name).__doc__
    for p in inspect.signature(getattr(flj, name)).parameters:
        assert re.search(rf"^{p} : ", doc, re.MULTILINE), p
    assert "Returns\n-------\nloss : jax.Array" in doc


# ----------------------------------------------------------------------- the adapter vs NumPy
def _grad_positions(name: str) -> List[int]:
    spec = _spec.SPEC_BY_NAME[name]
    return [spec.arrays.index(g) for g in spec.grad_arrays]


def _numpy(name: str, arrays: Arrays, ops: Dict[str, Any], settings: Dict[str, Any], **kw: Any) -> Any:
    return getattr(fl, name)(*arrays, **ops, **settings, **kw)


def _adapter(name: str, settings: Dict[str, Any]) -> Callable[..., Any]:
    """``f(diff, rest, ops)``: the adapter's loss as a function of the differentiable arrays
    (a tuple), the others (by position) and the array options: every array is a jit argument."""
    fn = getattr(flj, name)
    at = _grad_positions(name)

    def f(diff: Tuple[Any, ...], rest: Dict[int, Any], ops: Dict[str, Any]) -> Any:
        merged = {**rest, **dict(zip(at, diff))}
        return fn(*(merged[i] for i in range(len(merged))), **ops, **settings)

    return f


def _split(name: str, arrays: Arrays) -> Tuple[Tuple[Any, ...], Dict[int, Any]]:
    at = _grad_positions(name)
    diff = tuple(jnp.asarray(arrays[i]) for i in at)
    return diff, {i: jnp.asarray(a) for i, a in enumerate(arrays) if i not in at}


def _check_against_numpy(name: str, reduction: str, dtype: Any, seed: int = 0) -> None:
    """Value (jit and eager) and gradients (jit(value_and_grad) for a reduced loss, jit(vjp)
    with a random cotangent for an array loss) bitwise equal to the NumPy call's."""
    arrays, ops, settings = _inputs(name, dtype, seed)
    settings = dict(settings, reduction=reduction)
    f = _adapter(name, settings)
    diff, rest = _split(name, arrays)
    jops = {k: jnp.asarray(v) for k, v in ops.items()}
    at = _grad_positions(name)
    expected = _numpy(name, arrays, ops, settings)

    value = jax.jit(f)(diff, rest, jops)
    assert value.dtype == np.dtype(dtype) and value.shape == np.shape(expected)
    np.testing.assert_array_equal(np.asarray(value), expected)
    np.testing.assert_array_equal(np.asarray(f(diff, rest, jops)), expected)  # eager: a plain fastloss call

    if reduction in ARRAY_REDUCTIONS:
        ct = np.random.default_rng(seed + 1).standard_normal(np.shape(expected)).astype(dtype)

        @jax.jit
        def loss_and_vjp(diff: Any, rest: Any, jops: Any, ct: Any) -> Any:
            loss, pullback = jax.vjp(lambda d: f(d, rest, jops), diff)
            return loss, pullback(ct)[0]

        loss, grads = loss_and_vjp(diff, rest, jops, jnp.asarray(ct))
        _, want = _numpy(name, arrays, ops, settings, return_grad=True, grad_output=ct)
    else:
        loss, grads = jax.jit(jax.value_and_grad(f))(diff, rest, jops)
        _, want = _numpy(name, arrays, ops, settings, return_grad=True)
    want = want if isinstance(want, tuple) else (want,)
    np.testing.assert_array_equal(np.asarray(loss), expected)
    assert len(grads) == len(want) == len(at)
    for g, w, i in zip(grads, want, at):
        assert g.dtype == arrays[i].dtype and g.shape == arrays[i].shape
        np.testing.assert_array_equal(np.asarray(g), w)


@pytest.mark.parametrize("name, reduction", LOSS_REDUCTIONS)
def test_matches_numpy_float32(name: str, reduction: str) -> None:
    _check_against_numpy(name, reduction, np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_matches_numpy_through_pure_callback(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback mechanism (other backends, older JAX): the same results."""
    monkeypatch.setattr(flj, "CALLBACK", "pure")
    spec = _spec.SPEC_BY_NAME[name]
    _check_against_numpy(name, "sum", np.float32, seed=3)
    _check_against_numpy(name, "none" if "sequence" not in spec.reductions else "sequence", np.float32, seed=3)


@pytest.mark.parametrize("name", NAMES)
def test_matches_numpy_float64_under_x64(name: str) -> None:
    with jax.enable_x64(True):
        spec = _spec.SPEC_BY_NAME[name]
        _check_against_numpy(name, spec.param("reduction").default, np.float64, seed=5)
        _check_against_numpy(name, "none", np.float64, seed=5)


def test_gradient_scaled_by_the_cotangent() -> None:
    """A reduced loss's backward multiplies the fused gradient by the scalar cotangent."""
    arrays, ops, settings = _inputs("gaussian_nll_loss", np.float32)
    f = _adapter("gaussian_nll_loss", settings)
    diff, rest = _split("gaussian_nll_loss", arrays)
    grads = jax.jit(jax.grad(lambda d: -2.5 * f(d, rest, {})))(diff)
    _, want = fl.gaussian_nll_loss(*arrays, **settings, return_grad=True, grad_output=-2.5)
    for g, w in zip(grads, want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-6)


# --------------------------------------------------------------------- against jnp formulas
def _ce_reference(logits: Any, target: Any, weight: Any, ignore_index: int, smoothing: float) -> Any:
    """torch's weighted, label-smoothed cross-entropy mean over class indices (rows, classes)."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    keep = target != ignore_index
    t = jnp.where(keep, target, 0)
    w_t = jnp.where(keep, weight[t], 0.0)
    nll = -jnp.take_along_axis(logp, t[:, None], axis=1)[:, 0] * w_t
    smooth = -jnp.where(keep, (logp * weight).sum(axis=1), 0.0)
    c = logits.shape[-1]
    return ((1 - smoothing) * nll.sum() + smoothing / c * smooth.sum()) / w_t.sum()


def _jnp_references() -> Dict[str, Tuple[Dict[str, Any], Callable[..., Any]]]:
    """name -> (settings for fastloss, the loss as a jnp formula of (arrays..., **ops))."""
    log_sig = jax.nn.log_sigmoid

    def smooth_l1(x: Any, y: Any, beta: float = 0.6) -> Any:
        d = jnp.abs(x - y)
        return jnp.mean(jnp.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta))

    def bce(x: Any, y: Any, weight: Any) -> Any:
        return -jnp.mean(weight * (y * jnp.log(x) + (1 - y) * jnp.log1p(-x)))

    def bce_logits(x: Any, y: Any, weight: Any, pos_weight: Any) -> Any:
        return -jnp.mean(weight * (pos_weight * y * log_sig(x) + (1 - y) * log_sig(-x)))

    def gaussian(x: Any, y: Any, var: Any) -> Any:
        v = jnp.maximum(var, 1e-6)
        return jnp.mean(0.5 * (jnp.log(v) + (x - y) ** 2 / v))

    def cosine(a: Any, b: Any, y: Any, margin: float = -0.2) -> Any:
        cos = (a * b).sum(-1) / jnp.sqrt(((a * a).sum(-1) + 1e-12) * ((b * b).sum(-1) + 1e-12))
        return jnp.mean(jnp.where(y == 1, 1 - cos, jnp.maximum(0.0, cos - margin)))

    def triplet(a: Any, p: Any, n: Any, margin: float = 1.5) -> Any:
        def dist(u: Any, v: Any) -> Any:
            return jnp.sqrt(((u - v + 1e-6) ** 2).sum(-1))

        return jnp.mean(jnp.maximum(0.0, margin + dist(a, p) - dist(a, n)))

    def multi_margin(x: Any, y: Any, weight: Any, margin: float = 0.9) -> Any:
        x_y = jnp.take_along_axis(x, y[:, None], axis=1)
        z = jnp.maximum(0.0, margin - x_y + x) ** 2  # p = 2
        z = jnp.where(jnp.arange(x.shape[1]) == y[:, None], 0.0, z)
        return jnp.mean(weight[y] * z.sum(1) / x.shape[1])

    def nll(x: Any, y: Any, weight: Any) -> Any:
        keep = y != 7
        t = jnp.where(keep, y, 0)
        w_t = jnp.where(keep, weight[t], 0.0)
        return -(jnp.take_along_axis(x, t[:, None], axis=1)[:, 0] * w_t).sum() / w_t.sum()

    def sequence_ce(x: Any, y: Any, weight: Any, lengths: Any) -> Any:
        b, t, v = x.shape
        y = jnp.where(jnp.arange(t)[None, :] < lengths[:, None], y, -100)  # lengths mask like ignore_index
        return _ce_reference(x.reshape(b * t, v), y.reshape(-1), weight, -100, 0.05)

    def cross_entropy(x: Any, y: Any, weight: Any) -> Any:
        n, c, d = x.shape  # class axis 1 -> rows of (n d, c)
        return _ce_reference(jnp.moveaxis(x, 1, 2).reshape(n * d, c), y.reshape(-1), weight, -1, 0.1)

    return {
        "mse_loss": ({}, lambda x, y: jnp.mean((x - y) ** 2)),
        "l1_loss": ({}, lambda x, y: jnp.mean(jnp.abs(x - y))),
        "smooth_l1_loss": ({"beta": 0.6}, smooth_l1),
        "binary_cross_entropy": ({}, bce),
        "binary_cross_entropy_with_logits": ({}, bce_logits),
        "kl_div": ({"reduction": "batchmean"}, lambda x, y: (y * (jnp.log(y) - x)).sum() / x.shape[0]),
        "soft_margin_loss": ({}, lambda x, y: jnp.mean(jax.nn.softplus(-y * x))),
        "cross_entropy": ({"ignore_index": -1, "label_smoothing": 0.1}, cross_entropy),
        "nll_loss": ({"ignore_index": 7}, nll),
        "sequence_cross_entropy": ({"label_smoothing": 0.05}, sequence_ce),
        "margin_ranking_loss": ({"margin": 0.3}, lambda a, b, y: jnp.mean(jnp.maximum(0.0, -y * (a - b) + 0.3))),
        "gaussian_nll_loss": ({}, gaussian),
        "cosine_embedding_loss": ({"margin": -0.2}, cosine),
        "triplet_margin_loss": ({"margin": 1.5}, triplet),
        "multi_margin_loss": ({"p": 2, "margin": 0.9}, multi_margin),
    }


JNP_LOSSES = list(_jnp_references())  # and huber_loss with its weight, below


@pytest.mark.parametrize("name", JNP_LOSSES)
def test_matches_a_jnp_formula_differentiated_by_jax(name: str) -> None:
    """Value and gradients against JAX's own autodiff of a plain jnp formula (float32)."""
    settings, reference = _jnp_references()[name]
    arrays, ops, _ = _inputs(name, np.float32, seed=7)
    f = _adapter(name, settings)
    diff, rest = _split(name, arrays)
    jops = {k: jnp.asarray(v) for k, v in ops.items()}
    at = _grad_positions(name)

    def g(d: Tuple[Any, ...]) -> Any:
        merged = {**rest, **dict(zip(at, d))}
        return reference(*(merged[i] for i in range(len(merged))), **jops)

    value, grads = jax.jit(jax.value_and_grad(f))(diff, rest, jops)
    ref_value, ref_grads = jax.jit(jax.value_and_grad(g))(diff)
    np.testing.assert_allclose(float(value), float(ref_value), rtol=1e-5)
    for a, b in zip(grads, ref_grads):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)


def test_huber_with_weight_matches_a_jnp_formula() -> None:
    arrays, ops, settings = _inputs("huber_loss", np.float32, seed=7)
    x, y = (jnp.asarray(a) for a in arrays)
    w = jnp.asarray(ops["weight"])

    def reference(x: Any) -> Any:
        d = jnp.abs(x - y)
        return jnp.mean(w * jnp.where(d < 0.7, 0.5 * d**2, 0.7 * (d - 0.35)))

    value, grad = jax.jit(jax.value_and_grad(lambda x: flj.huber_loss(x, y, weight=w, delta=0.7)))(x)
    ref_value, ref_grad = jax.value_and_grad(reference)(x)
    np.testing.assert_allclose(float(value), float(ref_value), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(ref_grad), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- dtypes, vmap, caching, eager
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["mse_loss", "cross_entropy", "gaussian_nll_loss"])
def test_half_precision_in_is_half_precision_out(name: str, dtype: str) -> None:
    np_dtype = np.dtype(jnp.dtype(dtype))  # bfloat16: ml_dtypes' NumPy dtype
    _check_against_numpy(name, "mean", np_dtype)
    _check_against_numpy(name, "none", np_dtype)


def test_vmap_gives_one_loss_per_batch_element() -> None:
    """vmap calls the kernel once per element (vmap_method="sequential"): a reduced loss per
    example, never mixed across the batch."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    t = rng.integers(0, 5, (4, 3)).astype(np.int32)
    per_example = jax.jit(jax.vmap(jax.value_and_grad(lambda x, t: flj.cross_entropy(x, t))))
    values, grads = per_example(jnp.asarray(x), jnp.asarray(t))
    for i in range(4):
        v, g = fl.cross_entropy(x[i], t[i], return_grad=True)
        assert np.asarray(values)[i] == v
        np.testing.assert_array_equal(np.asarray(grads)[i], g)


def test_jit_traces_once_for_the_same_shapes() -> None:
    traces = []

    @jax.jit
    def step(x: Any, t: Any) -> Any:
        traces.append(1)
        return jax.value_and_grad(lambda x: flj.cross_entropy(x, t))(x)

    rng = np.random.default_rng(2)
    for _ in range(3):
        x = rng.standard_normal((8, 6)).astype(np.float32)
        t = rng.integers(0, 6, 8).astype(np.int32)
        value, grad = step(jnp.asarray(x), jnp.asarray(t))
        want = fl.cross_entropy(x, t, return_grad=True)
        assert float(value) == want[0]
        np.testing.assert_array_equal(np.asarray(grad), want[1])
    assert len(traces) == 1


def test_eager_calls_without_jit() -> None:
    """Outside jit: a value call is a plain fastloss call (a jax array back); jax.grad works."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    y = rng.standard_normal((5, 4)).astype(np.float32)
    value = flj.smooth_l1_loss(jnp.asarray(x), y, beta=0.5, n_threads=1)
    assert isinstance(value, jax.Array) and value.dtype == jnp.float32
    assert float(value) == fl.smooth_l1_loss(x, y, beta=0.5)
    grad = jax.grad(lambda x: flj.smooth_l1_loss(x, jnp.asarray(y), beta=0.5))(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(grad), fl.smooth_l1_loss(x, y, beta=0.5, return_grad=True)[1])
    # Python lists are converted as the NumPy function converts them (floats to input's dtype)
    assert float(flj.mse_loss(jnp.asarray([1.0, 2.0]), [1.0, 4.0])) == 2.0
    # jitted directly, with the non-array arguments static (as docs/jax.md shows)
    direct = jax.jit(flj.mse_loss, static_argnames="reduction")
    np.testing.assert_array_equal(np.asarray(direct(x, y, reduction="none")), fl.mse_loss(x, y, reduction="none"))


def test_constants_get_zero_cotangents() -> None:
    """Targets, weights and lengths are constants: differentiating through them gives zeros,
    and an integer target needs no cotangent at all."""
    rng = np.random.default_rng(6)
    x = jnp.asarray(rng.standard_normal((4, 3)).astype(np.float32))
    y = jnp.asarray(rng.standard_normal((4, 3)).astype(np.float32))
    grad_y = jax.jit(jax.grad(lambda y: flj.mse_loss(x, y)))(y)
    np.testing.assert_array_equal(np.asarray(grad_y), np.zeros((4, 3), np.float32))
    w = jnp.ones(3)
    grad_w = jax.jit(jax.grad(lambda w: flj.cross_entropy(x, jnp.array([0, 1, 2, 0]), weight=w)))(w)
    np.testing.assert_array_equal(np.asarray(grad_w), np.zeros(3, np.float32))


def test_empty_input() -> None:
    x = jnp.zeros((0,), jnp.float32)
    value, grad = jax.jit(jax.value_and_grad(lambda x: flj.mse_loss(x, x)))(x)
    assert np.isnan(float(value)) and grad.shape == (0,)
    total = jax.jit(lambda x: flj.mse_loss(x, x, reduction="sum"))(x)
    assert float(total) == 0.0


# -------------------------------------------------------------------------------- errors
def test_a_kernel_error_under_jit_reaches_the_user() -> None:
    """A bad class index is found by the kernel, inside the compiled call: JAX raises its
    runtime error (a RuntimeError) carrying fastloss's exception type and message."""
    x = jnp.zeros((2, 3))
    step = jax.jit(jax.value_and_grad(lambda x, t: flj.cross_entropy(x, t)))
    with pytest.raises(RuntimeError, match=r"IndexError: cross_entropy: target 5 at index \(1,\) is out of range"):
        jax.block_until_ready(step(x, jnp.array([0, 5])))
    with pytest.raises(IndexError, match="out of range for 3 classes"):  # eager: fastloss's own exception
        flj.cross_entropy(x, jnp.array([0, 5]))


def test_argument_errors_are_raised_when_tracing() -> None:
    x = jnp.zeros((2, 3))
    t = jnp.array([0, 1])
    with pytest.raises(ValueError, match="reduction must be one of"):
        jax.jit(lambda x: flj.cross_entropy(x, t, reduction="avg"))(x)
    with pytest.raises(ValueError, match=r"p must be in \(1, 2\); got 3.0"):
        jax.jit(lambda x: flj.multi_margin_loss(x, t, p=3))(x)
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        jax.jit(lambda x: flj.cross_entropy(x, t, ignore_index=1.5))(x)
    with pytest.raises(TypeError, match="label_smoothing must be a float"):  # a traced setting
        jax.jit(lambda x, s: flj.cross_entropy(x, t, label_smoothing=s))(x, 0.1)
    with pytest.raises(TypeError, match="input must be float32, float64, float16 or bfloat16; got dtype int32"):
        jax.jit(lambda x: flj.mse_loss(x, x))(jnp.zeros(3, jnp.int32))
    with jax.enable_x64(True), pytest.raises(TypeError, match=r"target has dtype float64 but input has float32"):
        jax.jit(lambda x, y: flj.mse_loss(x, y))(jnp.zeros(3, jnp.float32), jnp.zeros(3, jnp.float64))


# ------------------------------------------------------------------------------ training
def test_a_small_training_loop_learns() -> None:
    """Linear softmax regression, plain SGD written in jnp, the loss through the adapter."""
    rng = np.random.default_rng(8)
    x = jnp.asarray(rng.standard_normal((128, 8)).astype(np.float32))
    labels = jnp.argmax(x @ jnp.asarray(rng.standard_normal((8, 4)).astype(np.float32)), axis=1)

    @jax.jit
    def step(params: Any) -> Any:
        def loss_fn(params: Any) -> Any:
            return flj.cross_entropy(x @ params[0] + params[1], labels)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        return [p - 0.5 * g for p, g in zip(params, grads)], loss

    params = [jnp.zeros((8, 4)), jnp.zeros(4)]
    losses = []
    for _ in range(15):
        params, loss = step(params)
        losses.append(float(loss))
    assert losses[0] == pytest.approx(np.log(4), rel=1e-6)
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.6 * losses[0]


def _recipe() -> str:
    """The Python block under docs/jax.md's "## Recipe" heading."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("\n## Recipe") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "docs/jax.md: no python block under ## Recipe"
    return match.group(1)


@pytest.mark.skipif(not DOCS.exists(), reason="docs/jax.md is not beside the tests (installed package)")
def test_the_docs_recipe_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: Dict[str, Any] = {"__name__": "recipe"}
    exec(compile(_recipe(), str(DOCS), "exec"), namespace)
    assert float(namespace["loss"]) < 0.8 * np.log(10)
    assert "loss after 20 steps" in capsys.readouterr().out


# ------------------------------------------------------------------------- optional extra
def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_fastloss_does_not_import_jax() -> None:
    result = _run("import sys, fastloss; fastloss.mse_loss([1.0], [2.0]); print('jax' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_without_jax_the_import_error_names_the_extra() -> None:
    result = _run(
        "import sys; sys.modules['jax'] = None\n"  # as if jax were not installed
        "try:\n    import fastloss.jax\nexcept ImportError as e:\n    print(e)\n"
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install "fastloss[jax]"' in result.stdout
