"""Streaming (non-temporal) gradient stores give the same bits as cached stores.

mse, l1, cross-entropy and the losses of several gradients (margin ranking, Gaussian NLL,
cosine embedding, triplet) write gradients larger than the last-level cache with streaming
stores from an L1 tile or a scratch row (cpp/include/fastloss/streaming.hpp). The
threshold is lowered here so that small arrays take that path, and every case is compared bit
for bit with the cached path: unaligned starts and lengths that leave head and tail pieces,
both dtypes, 1 and 2 threads, every reduction and an upstream gradient array; for
cross-entropy also ignored and masked rows, weights, label smoothing and probability targets.
"""

from __future__ import annotations

from typing import Any, Iterator

import fastloss as fl
import numpy as np
import pytest
from fastloss import _core

LOSSES = {"mse": fl.mse_loss, "l1": fl.l1_loss}


@pytest.fixture
def threshold() -> Iterator[None]:
    yield
    _core.set_streaming_threshold(-1)  # back to the last-level cache size


def _run(fn: Any, x: np.ndarray, y: np.ndarray, offset: int, streaming: bool, **kw: Any) -> Any:
    _core.set_streaming_threshold(0 if streaming else 1 << 62)
    # The gradient buffer starts `offset` elements into a NumPy allocation (16-byte aligned),
    # so the streaming path meets every alignment of its start.
    backing = np.full(x.size + 16, np.nan, dtype=x.dtype)
    grad = backing[offset : offset + x.size].reshape(x.shape)
    loss = fn(x, y, return_grad=True, grad_out=grad, **kw)[0]
    assert np.isnan(backing[:offset]).all() and np.isnan(backing[offset + x.size :]).all()
    return loss, grad


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 7, 255, 1000, 70001])
@pytest.mark.parametrize("offset", [0, 1, 2, 3])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_streaming_stores_match_cached_stores(
    threshold: None, name: str, dtype: Any, n: int, offset: int, n_threads: int
) -> None:
    rng = np.random.default_rng(n + offset)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    x[::11] = y[::11]  # ties: l1's zero subgradient
    fn = LOSSES[name]
    cached = _run(fn, x, y, offset, False, n_threads=n_threads)
    streamed = _run(fn, x, y, offset, True, n_threads=n_threads)
    assert cached[0].tobytes() == streamed[0].tobytes()
    assert cached[1].tobytes() == streamed[1].tobytes()
    # and the streamed gradient is the right one, not merely the same one
    d = x.astype(np.float64) - y.astype(np.float64)
    expected = 2 * d / n if name == "mse" else np.sign(d) / n
    np.testing.assert_allclose(streamed[1], expected, rtol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_streaming_with_grad_output_and_no_reduction(threshold: None, name: str) -> None:
    rng = np.random.default_rng(5)
    x, y, go = (rng.standard_normal((37, 61)).astype(np.float32) for _ in range(3))
    fn = LOSSES[name]
    cached = _run(fn, x, y, 1, False, reduction="none", grad_output=go)
    streamed = _run(fn, x, y, 1, True, reduction="none", grad_output=go)
    assert cached[0].tobytes() == streamed[0].tobytes()
    assert cached[1].tobytes() == streamed[1].tobytes()


CE_CASES = {
    "plain": {},
    "weight+smoothing": {"weight": True, "label_smoothing": 0.1},
    "ignored rows": {"ignore": True},
    "probabilities": {"probs": True, "label_smoothing": 0.05},
}


@pytest.mark.parametrize("case", sorted(CE_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 1), (5, 7), (64, 130), (2, 5000)])
@pytest.mark.parametrize("offset", [0, 1, 3])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_cross_entropy_streaming_matches_cached(
    threshold: None, case: str, dtype: Any, shape: Any, offset: int, n_threads: int
) -> None:
    opts = dict(CE_CASES[case])
    rng = np.random.default_rng(shape[0] * shape[1] + offset)
    n, c = shape
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    target: Any = rng.integers(0, c, n)
    kw: dict[str, Any] = {"n_threads": n_threads, "label_smoothing": opts.get("label_smoothing", 0.0)}
    if opts.get("weight"):
        kw["weight"] = rng.uniform(0.5, 2.0, c).astype(dtype)
    if opts.get("ignore"):
        target[::3] = -100
    if opts.get("probs"):
        target = rng.dirichlet(np.ones(c), n).astype(dtype)
    fn = lambda x, y, **k: fl.cross_entropy(x, y, **k)  # noqa: E731
    cached = _run(fn, x, target, offset, False, **kw)
    streamed = _run(fn, x, target, offset, True, **kw)
    assert cached[0].tobytes() == streamed[0].tobytes()
    assert cached[1].tobytes() == streamed[1].tobytes()
    # the streamed gradient is the softmax minus the target, not merely the cached one
    if not opts:
        x64 = x.astype(np.float64)
        p = np.exp(x64 - x64.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(n), target] -= 1
        np.testing.assert_allclose(streamed[1], p / n, rtol=1e-5, atol=1e-7 if dtype == np.float32 else 1e-15)


def test_sequence_cross_entropy_streaming_matches_cached(threshold: None) -> None:
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 7, 300)).astype(np.float32)
    t = rng.integers(0, 300, (3, 7))
    lengths = np.array([7, 2, 0])
    fn = lambda x, y, **k: fl.sequence_cross_entropy(x, y, lengths=lengths, **k)  # noqa: E731
    cached = _run(fn, x, t, 1, False, n_threads=2)
    streamed = _run(fn, x, t, 1, True, n_threads=2)
    assert cached[0].tobytes() == streamed[0].tobytes()
    assert cached[1].tobytes() == streamed[1].tobytes()
    assert not streamed[1][1, 2:].any() and not streamed[1][2].any()  # masked steps: zero gradient


def test_streaming_threshold_defaults_to_a_cache_size(threshold: None) -> None:
    default = _core.streaming_threshold()
    assert 1 << 16 <= default <= 1 << 34  # some cache: 64 KiB .. 16 GiB
    _core.set_streaming_threshold(123)
    assert _core.streaming_threshold() == 123
    _core.set_streaming_threshold(-1)
    assert _core.streaming_threshold() == default


def _several(name: str, shape: Any, dtype: Any, rng: np.random.Generator) -> Any:
    """(function, arrays, gradient shapes) of a loss of several gradients."""
    x = [rng.standard_normal(shape).astype(dtype) for _ in range(3)]
    if name == "margin_ranking":
        x[2] = np.sign(x[2]).astype(dtype)
        return fl.margin_ranking_loss, x, [shape, shape]
    if name == "gaussian_nll":  # var shared along the last axis: its gradient summed per row
        var = rng.uniform(0.5, 2.0, shape[:-1]).astype(dtype)
        return fl.gaussian_nll_loss, [x[0], x[1], var], [shape, shape[:-1]]
    if name == "cosine_embedding":
        return fl.cosine_embedding_loss, [x[0], x[1], np.sign(x[2][:, 0]).astype(dtype)], [shape, shape]
    return fl.triplet_margin_loss, x, [shape, shape, shape]


@pytest.mark.parametrize("name", ["margin_ranking", "gaussian_nll", "cosine_embedding", "triplet_margin"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("offset", [0, 3])
def test_streamed_tuple_gradients_match_cached_ones(threshold: None, name: str, dtype: Any, offset: int) -> None:
    """The losses of several gradients stream each gradient (from L1 tiles or scratch rows,
    half ones narrowed in chunks first): the same bits as plain stores, at any alignment."""
    fn, args, grad_shapes = _several(name, (37, 301), dtype, np.random.default_rng(offset))
    results = []
    for streaming in (False, True):
        _core.set_streaming_threshold(0 if streaming else 1 << 62)
        backings = [np.full(int(np.prod(s)) + 16, np.nan, dtype=dtype) for s in grad_shapes]
        bufs = tuple(b[offset : offset + int(np.prod(s))].reshape(s) for b, s in zip(backings, grad_shapes))
        loss, grads = fn(*args, reduction="none", return_grad=True, grad_out=bufs, n_threads=2)
        assert all(g is b for g, b in zip(grads, bufs))
        for b, s in zip(backings, grad_shapes):
            assert np.isnan(b[:offset]).all() and np.isnan(b[offset + int(np.prod(s)) :]).all()
        results.append((loss, grads))
    (loss0, grads0), (loss1, grads1) = results
    assert loss0.tobytes() == loss1.tobytes()
    assert all(g0.tobytes() == g1.tobytes() for g0, g1 in zip(grads0, grads1))
    assert all(np.isfinite(g).all() for g in grads1)
