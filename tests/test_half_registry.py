"""Every loss of the test registry (registry.py: the elementwise losses and the cross-entropy
family, each option variant, each reduction) in float16, and in bfloat16 where ml_dtypes is
installed, against two references:

- the float32 call on the same (widened) values: the half gradient is its gradient rounded to
  the half dtype, bitwise (the half kernels compute in float32 and round once);
- the float64 reference formulas on the same half-valued inputs, with the contract's tolerance:
  the loss within 1 ulp of the half dtype, each gradient element within 1 ulp or within 1e-7 of
  the largest gradient magnitude.

Then the cross-entropy family's own paths in half precision: long rows (more than 65536
classes), the strided class axis, grad_out=input, grad_output arrays, thread-count determinism,
torch in the same dtype, and the dtype errors. (test_half_losses.py has the elementwise losses'
extremes, buffers and broadcasting; test_half.py the conversions.)"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import fastloss as fl
import numpy as np
import pytest
from registry import CASES, CLASS_CASES, CLASS_SPEC_BY_NAME, HALF, AnyCase, ClassCase
from registry import as_float64 as _f64
from registry import half_ulp as _ulp
from registry import rounded as _rounded

CE = CLASS_SPEC_BY_NAME["cross_entropy"]
SEQ = CLASS_SPEC_BY_NAME["sequence_cross_entropy"]


def _as(opts: Dict[str, Any], dtype: Any) -> Dict[str, Any]:
    """The float options (weights) in `dtype`; integer options (lengths) and scalars as they are."""
    return {
        k: (v.astype(dtype) if isinstance(v, np.ndarray) and v.dtype.kind not in "iu" else v) for k, v in opts.items()
    }


def _float_target(y: np.ndarray, dtype: Any) -> np.ndarray:
    return y if y.dtype.kind in "iu" else y.astype(dtype)


def _params() -> List[Any]:
    out = []
    for c in CASES:
        out.append(pytest.param(c, (9, 7), id=c.id))
    for cc in CLASS_CASES:
        out += [pytest.param(cc, shape, id=f"{cc.id}-{sid}") for sid, shape in cc.spec.shapes.items()]
    return out


def _data(case: AnyCase, shape: Tuple[int, ...], dtype: Any, seed: int = 0) -> Tuple[Any, Any, Dict[str, Any]]:
    x, y, opts = case.data(shape, np.float64, seed=seed)
    return x.astype(dtype), _float_target(y, dtype), _as(opts, dtype)


def _check_against_references(case: AnyCase, x: Any, y: Any, opts: Dict[str, Any], reduction: str) -> None:
    dtype = x.dtype
    loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True)
    assert np.asarray(loss).dtype == dtype and grad.dtype == dtype and grad.shape == x.shape
    if reduction not in ("none", "sequence"):
        assert np.ndim(loss) == 0 and isinstance(loss, np.generic)
    # The float32 call on the same values: the same gradient, rounded once.
    _, grad32 = case.call(
        x.astype(np.float32), _float_target(y, np.float32), _as(opts, np.float32), reduction=reduction, return_grad=True
    )
    assert np.array_equal(grad.view(np.uint16), _rounded(grad32, dtype).view(np.uint16))
    # The float64 reference on the same half values.
    l64, g64 = case.reference(_f64(x), _float_target(y, np.float64), _as(opts, np.float64), reduction)
    l64, g64 = _f64(l64), _f64(g64)
    assert np.all(np.abs(_f64(loss) - l64) <= _ulp(l64, dtype)), (loss, l64)
    slack = np.maximum(_ulp(g64, dtype), 1e-7 * np.max(np.abs(g64), initial=0.0))
    bad = np.abs(_f64(grad) - g64) > slack
    assert not bad.any(), (_f64(grad)[bad], g64[bad])


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("case, shape", _params())
def test_every_registry_loss_in_half(case: AnyCase, shape: Tuple[int, ...], dtype: Any) -> None:
    x, y, opts = _data(case, shape, dtype)
    for reduction in case.spec.reductions:
        _check_against_references(case, x, y, opts, reduction)


# The cross-entropy family's paths, at sizes that reach them: contiguous rows (2-D, and one
# row per sequence step), a strided class axis (tiles of 64 positions), rows longer than 65536
# classes (split into pieces computed in parallel).
PATHS = {
    "rows": (CE, (37, 3000)),
    "strided": (CE, (3, 40, 70)),
    "long_rows": (CE, (2, 70_000)),
    "sequence": (SEQ, (2, 9, 2100)),
}


def _path_params(variants: Tuple[str, ...]) -> List[Any]:
    return [
        pytest.param(ClassCase(spec, v), shape, id=f"{pid}-{v}")
        for pid, (spec, shape) in PATHS.items()
        for v in variants
        if v in spec.variants
    ]


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize(
    "case, shape",
    _path_params(("plain", "smooth+weight+ignore", "probs+smooth+weight", "lengths+weight+smooth+ignore")),
)
def test_class_paths_in_half(case: ClassCase, shape: Tuple[int, ...], dtype: Any) -> None:
    x, y, opts = _data(case, shape, dtype, seed=1)
    for reduction in ("mean", "none"):
        _check_against_references(case, x, y, opts, reduction)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("case, shape", _path_params(("smooth+weight+ignore", "probs+smooth+weight", "plain")))
def test_class_paths_in_half_do_not_depend_on_threads_or_buffers(
    case: ClassCase, shape: Tuple[int, ...], dtype: Any
) -> None:
    x, y, opts = _data(case, shape, dtype, seed=2)
    one = case.call(x, y, opts, return_grad=True, n_threads=1)
    two = case.call(x, y, opts, return_grad=True, n_threads=2)
    assert one[0].tobytes() == two[0].tobytes() and one[1].tobytes() == two[1].tobytes()
    # grad_out=input: the same gradient, written over the logits.
    xi = x.copy()
    value, gi = case.call(xi, y, opts, return_grad=True, grad_out=xi)
    assert gi is xi and value.tobytes() == one[0].tobytes() and xi.tobytes() == one[1].tobytes()
    # out= and grad_out= of the input's dtype, per-row grad_output of the input's dtype.
    loss_none = case.call(x, y, opts, reduction="none")
    go = _rounded(np.linspace(-1, 1, loss_none.size).reshape(loss_none.shape), dtype)
    out, g = np.empty(loss_none.shape, dtype), np.empty(x.shape, dtype)
    res = case.call(x, y, opts, reduction="none", return_grad=True, grad_output=go, out=out, grad_out=g)
    assert res[0] is out and res[1] is g and out.tobytes() == loss_none.tobytes()
    _, g32 = case.call(
        x.astype(np.float32),
        _float_target(y, np.float32),
        _as(opts, np.float32),
        reduction="none",
        return_grad=True,
        grad_output=go.astype(np.float32),
    )
    assert g.tobytes() == _rounded(g32, dtype).tobytes()


@pytest.mark.parametrize("dtype", HALF)
def test_sequence_grad_output_per_sequence_in_half(dtype: Any) -> None:
    case = ClassCase(SEQ, "lengths+weight+smooth+ignore")
    x, y, opts = _data(case, (3, 5, 11), dtype, seed=3)
    go = _rounded(np.array([0.5, -2.0, 1.25]), dtype)
    _, g = case.call(x, y, opts, reduction="sequence", return_grad=True, grad_output=go)
    _, g64 = case.reference(_f64(x), y, _as(opts, np.float64), "sequence", grad_output=_f64(go))
    slack = np.maximum(_ulp(g64, dtype), 1e-7 * np.abs(g64).max())
    assert np.all(np.abs(_f64(g) - g64) <= slack)


@pytest.mark.parametrize("dtype", HALF)
def test_extreme_logits_in_half(dtype: Any) -> None:
    big = 65504.0 if dtype.name == "float16" else 3.0e38
    x = _rounded(np.array([[big, big, big, big], [-big, 0.0, big, -big], [np.inf, 0.0, 1.0, 2.0]]), dtype)
    t = np.array([0, 2, 1])
    with np.errstate(all="ignore"):
        loss, grad = fl.cross_entropy(x, t, reduction="none", return_grad=True)
        loss32, grad32 = fl.cross_entropy(x.astype(np.float32), t, reduction="none", return_grad=True)
    assert _f64(loss)[0] == _f64(_rounded(np.log(4.0), dtype))  # four equal logits: log 4
    assert loss.tobytes() == _rounded(loss32, dtype).tobytes()
    assert grad.tobytes() == _rounded(grad32, dtype).tobytes()
    nan = _rounded(np.array([[0.0, np.nan, 1.0]]), dtype)
    value, g = fl.cross_entropy(nan, np.array([0]), return_grad=True)
    assert np.isnan(_f64(value)) and np.isnan(_f64(g)).all()


@pytest.mark.parametrize("dtype", HALF)
def test_class_losses_half_dtype_errors(dtype: Any) -> None:
    x = _rounded(np.zeros((2, 3)), dtype)
    with pytest.raises(TypeError, match=rf"weight.*{dtype.name}"):
        fl.cross_entropy(x, np.array([0, 1]), weight=np.ones(3, np.float32))
    with pytest.raises(TypeError, match="target"):
        fl.cross_entropy(x, np.full((2, 3), 1 / 3, np.float32))
    with pytest.raises(ValueError, match="grad_out"):
        fl.cross_entropy(x, np.array([0, 1]), return_grad=True, grad_out=np.empty((2, 3), np.float32))
    with pytest.raises(ValueError, match="grad_output"):
        fl.nll_loss(x, np.array([0, 1]), reduction="none", return_grad=True, grad_output=np.ones(2, np.float32))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_losses_match_torch_in_the_same_dtype(name: str, dtype: Any) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = _rounded(rng.standard_normal((64, 100)) * 3, dtype)
    if name == "nll_loss":
        x = _rounded(-np.abs(_f64(x)), dtype)
    t = rng.integers(0, 100, 64)
    w = _rounded(rng.uniform(0.5, 2, 100), dtype)
    tdt = torch.float16 if dtype.name == "float16" else torch.bfloat16
    tx = torch.tensor(x.astype(np.float32), dtype=tdt, requires_grad=True)
    tw = torch.tensor(w.astype(np.float32), dtype=tdt)
    opts: Dict[str, Any] = {"weight": w}
    topts: Dict[str, Any] = {"weight": tw}
    if name == "cross_entropy":
        opts["label_smoothing"] = topts["label_smoothing"] = 0.1
    tl = getattr(torch.nn.functional, name)(tx, torch.tensor(t), **topts)
    tl.backward()
    loss, grad = getattr(fl, name)(x, t, return_grad=True, **opts)
    ref_fn = getattr(fl._reference, name)
    l64, g64 = ref_fn(_f64(x), t, reduction="mean", **{**opts, "weight": _f64(w)})
    t_loss, t_grad = float(tl.detach().float()), tx.grad.float().numpy().astype(np.float64)
    # torch rounds its intermediates to the half dtype, fastloss keeps them in float32: the two
    # agree up to torch's own error against the float64 reference, plus an ulp.
    assert abs(float(loss) - t_loss) <= abs(t_loss - float(l64)) + _ulp(l64, dtype)
    slack = np.abs(t_grad - g64) + np.maximum(_ulp(g64, dtype), 1e-7 * np.abs(g64).max())
    assert np.all(np.abs(_f64(grad) - t_grad) <= slack)
