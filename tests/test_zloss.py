"""The z-loss on the cross-entropy family: ``lse_square_scale`` and ``return_z_loss``.

The value and gradient of every variant are checked against the float64 reference and torch
by the registry's class cases (``zloss+...`` variants); here: the z-loss term alone, its
semantics (Liger-Kernel's where Liger defines them), every kernel path, and its errors.
"""

from __future__ import annotations

from typing import Any

import fastloss as fl
import numpy as np
import pytest
from registry import HALF, assert_bitwise

S = 0.01


def _lse(x: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def _z_rows(x: np.ndarray, t: np.ndarray, axis: int, weight: Any = None, ignore_index: int = -100) -> Any:
    """(per-row z-loss, per-row weight share) by the formula: s * w[t] * lse**2 where counted."""
    x = x.astype(np.float64)
    counted = t != ignore_index
    w = np.ones(x.shape[axis]) if weight is None else np.asarray(weight, np.float64)
    share = np.where(counted, w[np.where(counted, t, 0)], 0.0)
    return S * share * _lse(x, axis) ** 2, share


@pytest.mark.parametrize("shape", [(9, 13), (4, 70000), (3, 6, 5)], ids=["rows", "long-rows", "strided"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_z_loss_term_alone(shape: Any, reduction: str, weighted: bool) -> None:
    rng = np.random.default_rng(1)
    x = 3 * rng.standard_normal(shape)
    C = shape[1]
    row_shape = (shape[0],) + shape[2:]
    t = rng.integers(0, C, row_shape)
    t.flat[1] = -100
    weight = rng.uniform(0.5, 2.0, C) if weighted else None
    loss, z, grad = fl.cross_entropy(
        x, t, weight, reduction=reduction, lse_square_scale=S, return_z_loss=True, return_grad=True
    )
    rows, share = _z_rows(x, t, 1, weight)
    want = {"mean": rows.sum() / share.sum(), "sum": rows.sum(), "none": rows}[reduction]
    np.testing.assert_allclose(z, want, rtol=1e-12)
    # the loss includes it: the loss without the z-loss plus the term
    plain, plain_grad = fl.cross_entropy(x, t, weight, reduction=reduction, return_grad=True)
    np.testing.assert_allclose(loss, plain + want, rtol=1e-12)
    # and its gradient: 2 s w lse softmax, scaled like the loss
    p = np.exp(x - np.expand_dims(_lse(x, 1), 1))
    dz = 2 * np.expand_dims(S * share * _lse(x, 1), 1) * p
    dz /= share.sum() if reduction == "mean" else 1.0
    np.testing.assert_allclose(grad, plain_grad + dz, rtol=1e-10, atol=1e-15)


def test_liger_semantics_without_weights() -> None:
    """Liger-Kernel's z-loss (no class weights): s * lse**2 per non-ignored row; "mean" divides
    by their count, and return_z_loss gives the term alone, reduced the same way."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 50)) * 4
    t = rng.integers(0, 50, 16)
    t[[3, 7]] = -100
    loss, z = fl.cross_entropy(x, t, lse_square_scale=1e-4, return_z_loss=True)
    kept = t != -100
    lse = _lse(x[kept], 1)
    np.testing.assert_allclose(z, 1e-4 * np.mean(lse**2), rtol=1e-12)
    ce = np.mean(lse - x[kept, t[kept]])
    np.testing.assert_allclose(loss, ce + z, rtol=1e-12)


def test_probability_targets_count_every_row_once() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 7))
    y = rng.dirichlet(np.ones(7), 5)
    w = rng.uniform(0.5, 2.0, 7)
    _, z = fl.cross_entropy(x, y, w, lse_square_scale=S, return_z_loss=True)
    np.testing.assert_allclose(z, S * np.mean(_lse(x, 1) ** 2), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean", "sequence"])
def test_sequence_z_loss_is_reduced_like_the_loss(reduction: str) -> None:
    rng = np.random.default_rng(4)
    B, T, V = 3, 5, 11
    x = 2 * rng.standard_normal((B, T, V))
    t = rng.integers(0, V, (B, T))
    t[0, 2] = -100
    lengths = np.array([5, 3, 0])
    loss, z, grad = fl.sequence_cross_entropy(
        x, t, lengths=lengths, reduction=reduction, lse_square_scale=S, return_z_loss=True, return_grad=True
    )
    masked = np.where(np.arange(T)[None, :] >= lengths[:, None], -100, t)
    rows, share = _z_rows(x, masked, 2)
    want = {
        "mean": rows.sum() / share.sum(),
        "sum": rows.sum(),
        "batchmean": rows.sum() / B,
        "sequence": rows.sum(axis=1),
        "none": rows,
    }[reduction]
    np.testing.assert_allclose(z, want, rtol=1e-12)
    assert np.shape(z) == np.shape(loss)
    plain = fl.sequence_cross_entropy(x, t, lengths=lengths, reduction=reduction)
    np.testing.assert_allclose(loss, plain + want, rtol=1e-12)
    assert grad.shape == x.shape


def test_return_z_loss_changes_nothing_else() -> None:
    """The loss and gradient are bitwise those of the call without return_z_loss; the class
    takes return_z_loss per call; the z-loss has the loss's dtype."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 300)).astype(np.float32)
    t = rng.integers(0, 300, 64)
    loss, grad = fl.cross_entropy(x, t, lse_square_scale=S, return_grad=True)
    loss2, z, grad2 = fl.cross_entropy(x, t, lse_square_scale=S, return_z_loss=True, return_grad=True)
    assert_bitwise(np.asarray(loss), np.asarray(loss2), "loss")
    assert_bitwise(grad, grad2, "grad")
    assert type(z) is np.float32
    loss3, z3 = fl.CrossEntropyLoss(lse_square_scale=S)(x, t, return_z_loss=True)
    assert_bitwise(np.asarray(loss3), np.asarray(loss), "class loss")
    assert_bitwise(np.asarray(z3), np.asarray(z), "class z-loss")
    # without a scale the term is 0 and the loss is cross-entropy's
    loss4, z4 = fl.cross_entropy(x, t, return_z_loss=True)
    assert z4 == 0 and loss4 == fl.cross_entropy(x, t)


@pytest.mark.parametrize("shape", [(2048, 257), (3, 40, 700)], ids=["rows", "strided"])
def test_thread_count_does_not_change_a_bit(shape: Any) -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(np.float32)
    t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    runs = [
        fl.cross_entropy(x, t, lse_square_scale=S, return_z_loss=True, return_grad=True, n_threads=n) for n in (1, 2)
    ]
    for a, b, what in zip(runs[0], runs[1], ("loss", "z_loss", "grad")):
        assert_bitwise(np.asarray(a), np.asarray(b), what)


@pytest.mark.parametrize("dtype", HALF)
def test_half_precision(dtype: Any) -> None:
    rng = np.random.default_rng(7)
    x = (2 * rng.standard_normal((33, 40))).astype(dtype)
    t = rng.integers(0, 40, 33)
    loss, z, grad = fl.cross_entropy(x, t, lse_square_scale=S, return_z_loss=True, return_grad=True)
    x64 = x.astype(np.float64)
    want_loss, want_z, want_grad = fl.cross_entropy(x64, t, lse_square_scale=S, return_z_loss=True, return_grad=True)
    assert loss.dtype == z.dtype == grad.dtype == dtype
    tol = 1e-2 if dtype == np.float16 else 2e-2
    np.testing.assert_allclose(float(loss), want_loss, rtol=tol)
    np.testing.assert_allclose(float(z), want_z, rtol=tol)
    np.testing.assert_allclose(grad.astype(np.float64), want_grad, rtol=tol, atol=tol * np.abs(want_grad).max())


@pytest.mark.parametrize("bad", [-1e-4, float("nan"), float("inf")])
def test_bad_scale_is_a_value_error(bad: float) -> None:
    x, t = np.zeros((2, 3)), np.array([0, 1])
    with pytest.raises(ValueError, match=r"cross_entropy: lse_square_scale must be a finite number >= 0; got"):
        fl.cross_entropy(x, t, lse_square_scale=bad)
    with pytest.raises(ValueError, match=r"sequence_cross_entropy: lse_square_scale must be"):
        fl.sequence_cross_entropy(x[None], t[None], lse_square_scale=bad)


def test_bad_types_are_type_errors() -> None:
    x, t = np.zeros((2, 3)), np.array([0, 1])
    with pytest.raises(TypeError, match="cross_entropy: lse_square_scale must be a float; got str"):
        fl.cross_entropy(x, t, lse_square_scale="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cross_entropy: return_z_loss must be a bool; got int 1"):
        fl.cross_entropy(x, t, return_z_loss=1)  # type: ignore[call-overload]
    assert len(fl.cross_entropy(x, t, return_z_loss=np.bool_(True))) == 2
