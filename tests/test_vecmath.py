"""Accuracy of the vector exp/log/log1p at every ISA level the CPU runs.

The references are NumPy's long double (80-bit on x86-64) functions, rounded last; errors are
counted in units of the last place of the float32 / float64 result.
"""

from __future__ import annotations

from typing import Any, Iterator

import fastloss as fl
import numpy as np
import pytest
from fastloss import _core

LEVELS = fl.supported_simd_levels()
MAX_ULP = {np.float32: 2.0, np.float64: 1.0}


@pytest.fixture(params=LEVELS)
def level(request: pytest.FixtureRequest) -> Iterator[str]:
    before = fl.simd_level()
    fl.set_simd_level(request.param)
    yield request.param
    fl.set_simd_level(before)


def ulp_error(got: np.ndarray, ref: np.ndarray, dtype: Any) -> np.ndarray:
    ref_t = ref.astype(dtype)
    spacing = np.spacing(np.abs(ref_t)).astype(np.longdouble)
    return np.abs(got.astype(np.longdouble) - ref) / spacing


def sample(rng: np.random.Generator, lo: float, hi: float, n: int, log_uniform: bool, dtype: Any) -> np.ndarray:
    u = rng.random(n)
    if log_uniform:
        return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))).astype(dtype)
    return (lo + u * (hi - lo)).astype(dtype)


RANGES = {
    "exp": {
        np.float32: [(-103.9, 88.7, False), (-1.0, 1.0, False)],
        np.float64: [(-745.0, 709.7, False), (-1.0, 1.0, False)],
    },
    "log": {
        np.float32: [(1e-44, 3e38, True), (0.5, 2.0, False)],
        np.float64: [(5e-323, 1.7e308, True), (0.5, 2.0, False)],
    },
    "log1p": {
        np.float32: [(-0.999, 1.0, False), (1e-30, 1e30, True)],
        np.float64: [(-0.999, 1.0, False), (1e-300, 1e300, True)],
    },
}
REFERENCE = {"exp": np.exp, "log": np.log, "log1p": np.log1p}

# The restricted forms inside the BCE kernels, on their domain [0, 1]: log1p_unit (log(1 + e)
# for e = exp(-|x|)) within 1.5 ulp, log1m_unit (log(1 - p)) within 1 ulp, both dtypes. The
# samples include the branch points sqrt(2) - 1, 1 - sqrt(1/2) and 1/2 and values near 0 and 1.
RESTRICTED = {"log1p_unit": (np.log1p, 1.5), "log1m_unit": (lambda v: np.log1p(-v), 1.0)}


def unit_interval(rng: np.random.Generator, dtype: Any) -> np.ndarray:
    tiny = np.finfo(dtype).tiny
    edges = np.array([0.0, 1.0, 0.5, np.sqrt(2) - 1, 1 - np.sqrt(0.5), tiny], dtype=dtype)
    near = np.concatenate([np.nextafter(edges, dtype(0)), np.nextafter(edges, dtype(1))])
    return np.concatenate(
        [
            edges,
            near,
            rng.random(200_000).astype(dtype),
            sample(rng, float(tiny), 1.0, 50_000, True, dtype),
            (1 - sample(rng, float(np.finfo(dtype).eps), 1.0, 50_000, True, dtype)).astype(dtype),
        ]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("function", sorted(RESTRICTED))
def test_restricted_forms_on_the_unit_interval(level: str, function: str, dtype: Any) -> None:
    reference, max_ulp = RESTRICTED[function]
    x = unit_interval(np.random.default_rng(9), dtype)
    got = _core.vector_math(function, x)
    with np.errstate(divide="ignore"):
        ref = reference(x.astype(np.longdouble))
    finite = np.isfinite(ref) & (ref != 0)
    np.testing.assert_array_equal(got[~finite], ref[~finite].astype(dtype))  # log(1 - 1) = -inf, 0 at 0
    err = ulp_error(got[finite], ref[finite], dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= max_ulp, (
        f"{function} {np.dtype(dtype)} at {level}: {float(err[worst]):.3f} ulp at x={x[finite][worst]!r}"
    )
    assert np.isnan(_core.vector_math(function, np.array([np.nan], dtype=dtype))).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_normal_on_its_range(level: str, dtype: Any) -> None:
    """exp_normal, cross-entropy's exp for chunks whose results are all normal numbers: the
    accuracy of exp over [kExpNormalMin, 0], its ends included, and bitwise exp's results."""
    lo = -87.0 if dtype == np.float32 else -708.0
    rng = np.random.default_rng(10)
    x = np.concatenate(
        [
            np.array([lo, 0.0, -0.0, np.nextafter(dtype(0), dtype(-1))], dtype=dtype),
            sample(rng, lo, 0.0, 200_000, False, dtype),
            -sample(rng, 1e-30, -lo, 50_000, True, dtype),
        ]
    )
    got = _core.vector_math("exp_normal", x)
    err = ulp_error(got, np.exp(x.astype(np.longdouble)), dtype)
    assert err.max() <= MAX_ULP[dtype], f"{float(err.max()):.3f} ulp at x={x[int(np.argmax(err))]!r}"
    np.testing.assert_array_equal(got, _core.vector_math("exp", x))
    assert np.isnan(_core.vector_math("exp_normal", np.array([np.nan], dtype=dtype))).all()
    # cross-entropy computes it in interleaved pairs: the same bits (odd and even lengths)
    np.testing.assert_array_equal(_core.vector_math("exp_normal_pair", x), got)
    np.testing.assert_array_equal(_core.vector_math("exp_normal_pair", x[:-1]), got[:-1])
    assert np.isnan(_core.vector_math("exp_normal_pair", np.array([np.nan, -1.0, np.nan], dtype=dtype))[::2]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("function", ["exp", "log", "log1p"])
def test_accuracy_in_ulp(level: str, function: str, dtype: Any) -> None:
    rng = np.random.default_rng(7)
    for lo, hi, log_uniform in RANGES[function][dtype]:
        x = sample(rng, lo, hi, 200_000, log_uniform, dtype)
        got = _core.vector_math(function, x)
        ref = REFERENCE[function](x.astype(np.longdouble))
        err = ulp_error(got, ref, dtype)
        worst = int(np.argmax(err))
        assert err[worst] <= MAX_ULP[dtype], (
            f"{function} {np.dtype(dtype)} at {level}: {float(err[worst]):.3f} ulp at x={x[worst]!r}"
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values(level: str, dtype: Any) -> None:
    inf, nan = np.inf, np.nan
    x = np.array([nan, inf, -inf, 0.0, -0.0, -1.0, 1.0, 1e4, -1e4, -0.5], dtype=dtype)
    with np.errstate(all="ignore"):
        for function, ref in REFERENCE.items():
            got, want = _core.vector_math(function, x), ref(x)
            exact = ~np.isfinite(want) | (want == 0) | (x == 0)  # NaN, +-inf, 0 and -0 exactly
            np.testing.assert_array_equal(got[exact], want[exact], err_msg=f"{function} {np.dtype(dtype)} at {level}")
            signed = exact & ~np.isnan(want)  # the sign of 0 and inf (a NaN's sign bit means nothing)
            assert np.array_equal(np.signbit(got[signed]), np.signbit(want[signed]))
            np.testing.assert_allclose(got[~exact], want[~exact], rtol=2 * np.finfo(dtype).eps)


def test_exp_subnormal_results(level: str) -> None:
    for dtype, x in ((np.float32, [-88.0, -95.0, -103.0]), (np.float64, [-709.0, -720.0, -744.0])):
        xs = np.array(x, dtype=dtype)
        ref = np.exp(xs.astype(np.longdouble))
        assert np.all(ulp_error(_core.vector_math("exp", xs), ref, dtype) <= 1.0)


def test_losses_agree_across_levels() -> None:
    """Every level gives the same losses and gradients to within rounding."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 300)).astype(np.float32) * 4
    y = (rng.random(x.shape) < 0.3).astype(np.float32)
    t = rng.integers(0, 300, 64)
    before = fl.simd_level()
    results = []
    try:
        for lvl in LEVELS:
            fl.set_simd_level(lvl)
            results.append(
                [
                    fl.binary_cross_entropy_with_logits(x, y, return_grad=True),
                    fl.cross_entropy(x, t, label_smoothing=0.1, return_grad=True),
                    fl.mse_loss(x, y, return_grad=True),
                ]
            )
    finally:
        fl.set_simd_level(before)
    for other in results[1:]:
        for (l0, g0), (l1, g1) in zip(results[0], other):
            np.testing.assert_allclose(l1, l0, rtol=1e-6)
            np.testing.assert_allclose(g1, g0, rtol=1e-5, atol=1e-9)


def test_forcing_an_unsupported_or_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        fl.set_simd_level("sse9")
    assert fl.simd_level() in LEVELS
