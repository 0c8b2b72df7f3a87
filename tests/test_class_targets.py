"""Class-index targets of every integer dtype, read natively by the kernels (no widening copy):
the same numbers as int64 targets, and the same IndexError (with the value as given) out of range."""

from __future__ import annotations

import tracemalloc
from typing import Any, Callable, Dict

import fastloss as fl
import numpy as np
import pytest

INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]

CALLS: Dict[str, Callable[..., Any]] = {
    "cross_entropy": lambda x, t, **kw: fl.cross_entropy(x, t, **kw),
    "cross_entropy_nd": lambda x, t, **kw: fl.cross_entropy(
        x.reshape(3, 4, 2, 5).transpose(0, 1, 3, 2),
        t.reshape(3, 2).repeat(5, axis=1).reshape(3, 5, 2).transpose(0, 2, 1) if t.ndim == 1 else t,
        **kw,
    ),
    "nll_loss": lambda x, t, **kw: fl.nll_loss(x, t, **kw),
    "sequence_cross_entropy": lambda x, t, **kw: fl.sequence_cross_entropy(x.reshape(2, 3, 4), t.reshape(2, 3), **kw),
}


def _data(dtype: str) -> tuple:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 4))
    t = np.array([0, 3, 1, 2, 3, 0]).astype(dtype)
    return x, t


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "sequence_cross_entropy"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_integer_dtype_gives_the_int64_result(name: str, dtype: str, reduction: str) -> None:
    x, t = _data(dtype)
    call = CALLS[name]
    loss, grad = call(x, t, reduction=reduction, return_grad=True)
    loss64, grad64 = call(x, t.astype(np.int64), reduction=reduction, return_grad=True)
    np.testing.assert_array_equal(loss, loss64)
    np.testing.assert_array_equal(grad, grad64)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_strided_class_axis_reads_every_integer_dtype(dtype: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 4, 3))  # (N, C, d): the strided path
    t = np.array([[0, 3, 1], [2, 2, 0]]).astype(dtype)
    loss, grad = fl.cross_entropy(x, t, return_grad=True, label_smoothing=0.1)
    loss64, grad64 = fl.cross_entropy(x, t.astype(np.int64), return_grad=True, label_smoothing=0.1)
    assert loss == loss64
    np.testing.assert_array_equal(grad, grad64)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_ignore_index_compares_values(dtype: str) -> None:
    x, t = _data(dtype)
    info = np.iinfo(dtype)
    ignore = int(min(info.max, 2**40))  # e.g. 255 for uint8 (a common "void" label of segmentation datasets)
    t[2] = ignore
    got = fl.cross_entropy(x, t, ignore_index=ignore)
    keep = np.arange(6) != 2
    assert got == fl.cross_entropy(x[keep], t[keep].astype(np.int64))
    if info.min < 0:
        t[2] = -100
        assert fl.cross_entropy(x, t) == fl.cross_entropy(x[keep], t[keep].astype(np.int64))


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_out_of_range_is_index_error_with_the_value_as_given(dtype: str) -> None:
    x, t = _data(dtype)
    bad = int(np.iinfo(dtype).max)
    t[4] = bad
    with pytest.raises(IndexError, match=rf"target {bad} at index \(\s*4\s*,?\s*\).*4 classes"):
        fl.cross_entropy(x, t)
    if np.iinfo(dtype).min < 0:
        t[4] = -5
        with pytest.raises(IndexError, match=r"target -5 at index"):
            fl.nll_loss(x, t)


def test_uint64_beyond_int64_is_out_of_range_never_ignored() -> None:
    x, t = _data("uint64")
    t[1] = np.uint64(2**64 - 100)  # as int64 this would be -100, the default ignore_index
    with pytest.raises(IndexError, match=str(2**64 - 100)):
        fl.cross_entropy(x, t)
    t[1] = np.uint64(2**63 + 1)
    with pytest.raises(IndexError, match=str(2**63 + 1)):
        fl.cross_entropy(x, t, ignore_index=1)


def test_narrow_targets_are_not_widened() -> None:
    """A widening copy of 2^20 uint8 targets would allocate 8 MiB; the call allocates less."""
    n = 1 << 20
    x = np.zeros((n, 2), np.float32)
    t = np.zeros(n, np.uint8)
    fl.cross_entropy(x, t)  # warm-up
    tracemalloc.start()
    try:
        fl.cross_entropy(x, t)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n


def test_byte_swapped_targets_are_type_error() -> None:
    x, t = _data("int64")
    with pytest.raises(TypeError, match=r"target.*>i8"):
        fl.cross_entropy(x, t.astype(">i8"))
