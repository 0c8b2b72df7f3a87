"""Half precision <-> float32 conversions of the kernels (cpp/include/fastloss/half.hpp), at
every ISA level the CPU runs: every one of the 65536 half values widens exactly, and float32
values narrow exactly as NumPy (float16) and ml_dtypes (bfloat16) round them (to nearest even),
at the rounding boundaries, over the whole exponent range, and for inf and NaN."""

from __future__ import annotations

from typing import Any, Iterator

import fastloss as fl
import numpy as np
import pytest
from fastloss import _core


@pytest.fixture(params=fl.supported_simd_levels())
def level(request: Any) -> Iterator[str]:
    before = fl.simd_level()
    fl.set_simd_level(request.param)
    yield request.param
    fl.set_simd_level(before)


def _all_bits() -> np.ndarray:
    return np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)


def _floats_to_narrow() -> np.ndarray:
    """Every half value, the midpoints between neighbours and one float32 ulp either side of
    them (the rounding boundaries), random bit patterns over the whole float32 range, specials."""
    halves = _all_bits().view(np.float16).astype(np.float32)
    finite = np.sort(halves[np.isfinite(halves)])
    mid = ((finite[:-1].astype(np.float64) + finite[1:]) / 2).astype(np.float32)
    near = np.concatenate([mid, np.nextafter(mid, np.float32(np.inf)), np.nextafter(mid, np.float32(-np.inf))])
    rng = np.random.default_rng(5)
    rand = rng.integers(0, 1 << 32, 1 << 20, dtype=np.uint64).astype(np.uint32).view(np.float32)
    specials = np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, 65504, 65519.99, 65520, -65520, 3.4e38, 1e-45, 6e-8], np.float32
    )
    return np.concatenate([halves, near, rand, specials]).astype(np.float32)


def _same(actual_bits: np.ndarray, expected_bits: np.ndarray, as_float: Any) -> None:
    nan = np.isnan(expected_bits.view(as_float).astype(np.float32))
    assert np.array_equal(np.isnan(actual_bits.view(as_float).astype(np.float32)), nan)
    bad = np.flatnonzero((actual_bits != expected_bits) & ~nan)
    assert bad.size == 0, f"{bad.size} values differ, e.g. bits {actual_bits[bad[:3]]} != {expected_bits[bad[:3]]}"


def test_float16_widens_exactly(level: str) -> None:
    bits = _all_bits()
    got = _core.half_convert("float16_to_float", bits)
    want = bits.view(np.float16).astype(np.float32)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32))  # signed zeros too


def test_float16_narrows_as_numpy_rounds(level: str) -> None:
    x = _floats_to_narrow()
    with np.errstate(over="ignore", invalid="ignore"):  # the casts that give inf and NaN
        want = x.astype(np.float16).view(np.uint16)
    _same(_core.half_convert("float_to_float16", x), want, np.float16)


def test_bfloat16_widens_and_narrows_as_ml_dtypes(level: str) -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 is ml_dtypes' dtype (pip install ml_dtypes)")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    bits = _all_bits()
    got = _core.half_convert("bfloat16_to_float", bits)
    want = bits.view(bf16).astype(np.float32)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32))
    x = np.concatenate([_floats_to_narrow(), want])
    with np.errstate(over="ignore", invalid="ignore"):
        want_bits = x.astype(bf16).view(np.uint16)
    _same(_core.half_convert("float_to_bfloat16", x), want_bits, bf16)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 33])
def test_every_length_and_tail(level: str, n: int) -> None:
    x = np.linspace(-3, 3, n, dtype=np.float32)
    assert np.array_equal(_core.half_convert("float_to_float16", x), x.astype(np.float16).view(np.uint16))
    bits = x.astype(np.float16).view(np.uint16)
    assert np.array_equal(_core.half_convert("float16_to_float", bits), x.astype(np.float16).astype(np.float32))


def test_bad_conversion_and_dtype() -> None:
    with pytest.raises(ValueError, match="conversion must be"):
        _core.half_convert("float16", np.zeros(2, np.float32))
    with pytest.raises(TypeError, match="uint16"):
        _core.half_convert("float16_to_float", np.zeros(2, np.float32))
