"""The one registry of losses that drives the parametrised fastloss tests.

A :class:`LossSpec` describes one public loss function: its fastloss name and
module class, its float64 NumPy reference (``reference.py``), its PyTorch
equivalent, a generator of *valid* inputs (probabilities for BCE, ...) and a
set of option variants (``weight=`` / ``pos_weight=`` of several broadcast
shapes).  :data:`CASES` flattens specs x variants; tests parametrise over it
and over dtypes, reductions and memory layouts.

To add a loss, append a ``LossSpec`` to :data:`SPECS` (and, if it needs new
kinds of options, a variant maker); the generic tests pick it up.

This module also holds the comparison helpers (dtype-dependent tolerances,
bitwise equality) and the layout makers shared by the test modules.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

import reference as ref

Shape = Tuple[int, ...]
Options = Dict[str, np.ndarray]
VariantMaker = Callable[[np.random.Generator, Shape, Any], Options]

DTYPES = (np.float32, np.float64)
REDUCTIONS = ("mean", "sum", "none")
#: relative tolerance of a fastloss result against the float64 reference computed
#: from the very same (float32 or float64) input values.
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


# --------------------------------------------------------------------------- inputs
def _normal(scale: float = 1.0) -> Callable[[np.random.Generator, Shape, Any], np.ndarray]:
    def make(rng: np.random.Generator, shape: Shape, dtype: Any) -> np.ndarray:
        return (scale * rng.standard_normal(shape)).astype(dtype)

    return make


def _probabilities(rng: np.random.Generator, shape: Shape, dtype: Any) -> np.ndarray:
    # strictly inside (0, 1) and away from the clamps, so finite differences work
    return rng.uniform(0.02, 0.98, shape).astype(dtype)


def _any_target(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    return rng.standard_normal(x.shape).astype(x.dtype)


def _l1_target(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    # |x - y| >= 0.1: away from the kink of |.|, so finite differences work
    sign = np.where(rng.random(x.shape) < 0.5, -1.0, 1.0)
    return (x.astype(np.float64) + sign * rng.uniform(0.1, 1.0, x.shape)).astype(x.dtype)


def _soft_or_hard_labels(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    # soft targets in [0, 1] with ~30 % hard 0/1 labels mixed in (torch allows both)
    y = rng.uniform(0.0, 1.0, x.shape)
    y = np.where(rng.random(x.shape) < 0.3, np.round(y), y)
    return y.astype(x.dtype)


# ------------------------------------------------------------------------- variants
def _last_axis(shape: Shape) -> Shape:
    return shape[-1:] if len(shape) else ()


def _column(shape: Shape) -> Shape:
    return shape[:-1] + (1,) if len(shape) else ()


def _positive(name: str, shape_of: Callable[[Shape], Shape], lo: float, hi: float) -> VariantMaker:
    def make(rng: np.random.Generator, shape: Shape, dtype: Any) -> Options:
        return {name: rng.uniform(lo, hi, shape_of(shape)).astype(dtype)}

    return make


def _combine(*makers: VariantMaker) -> VariantMaker:
    def make(rng: np.random.Generator, shape: Shape, dtype: Any) -> Options:
        opts: Options = {}
        for m in makers:
            opts.update(m(rng, shape, dtype))
        return opts

    return make


def _no_options(rng: np.random.Generator, shape: Shape, dtype: Any) -> Options:
    return {}


def weight_variant(shape_of: Callable[[Shape], Shape]) -> VariantMaker:
    return _positive("weight", shape_of, 0.5, 2.0)


def pos_weight_variant(shape_of: Callable[[Shape], Shape]) -> VariantMaker:
    return _positive("pos_weight", shape_of, 0.5, 3.0)


_full = lambda s: s  # noqa: E731
_scalar = lambda s: ()  # noqa: E731


# ---------------------------------------------------------------------------- torch
def _torch_mse(F: Any, x: Any, y: Any, reduction: str, **o: Any) -> Any:
    return F.mse_loss(x, y, reduction=reduction)


def _torch_l1(F: Any, x: Any, y: Any, reduction: str, **o: Any) -> Any:
    return F.l1_loss(x, y, reduction=reduction)


def _torch_bce(F: Any, x: Any, y: Any, reduction: str, weight: Any = None) -> Any:
    return F.binary_cross_entropy(x, y, weight=weight, reduction=reduction)


def _torch_bce_logits(
    F: Any, x: Any, y: Any, reduction: str, weight: Any = None, pos_weight: Any = None
) -> Any:
    return F.binary_cross_entropy_with_logits(
        x, y, weight=weight, reduction=reduction, pos_weight=pos_weight
    )


# ------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class LossSpec:
    name: str  # public fastloss function
    module: str  # public fastloss class mirroring torch.nn
    reference: Callable[..., ref.Pair]  # (x, y, **options) -> per-element (loss, grad)
    torch_fn: Callable[..., Any]  # (torch.nn.functional, x, y, reduction, **options)
    make_input: Callable[[np.random.Generator, Shape, Any], np.ndarray]
    make_target: Callable[[np.random.Generator, np.ndarray], np.ndarray]
    variants: Mapping[str, VariantMaker]
    ctor_options: Tuple[str, ...] = ()  # options the module class takes in __init__
    option_names: Tuple[str, ...] = ()  # array options the function accepts
    reductions: Tuple[str, ...] = REDUCTIONS
    aliases: Tuple[str, ...] = ()
    # value ranges for hypothesis-generated inputs / targets (inclusive)
    input_range: Tuple[float, float] = (-1e3, 1e3)
    target_range: Tuple[float, float] = (-1e3, 1e3)
    # input and target must lie in [0, 1] (checked by fastloss -> ValueError)
    probability_input: bool = False
    # the gradient at a NaN input or target is NaN (False: unspecified)
    nan_grad_propagates: bool = True

    @property
    def fn(self) -> Callable[..., Any]:
        import fastloss

        return getattr(fastloss, self.name)

    @property
    def cls(self) -> Any:
        import fastloss

        return getattr(fastloss, self.module)


SPECS: Tuple[LossSpec, ...] = (
    LossSpec(
        name="mse_loss",
        module="MSELoss",
        reference=ref.mse_elementwise,
        torch_fn=_torch_mse,
        make_input=_normal(),
        make_target=_any_target,
        variants={"plain": _no_options},
    ),
    LossSpec(
        name="l1_loss",
        module="L1Loss",
        reference=ref.l1_elementwise,
        torch_fn=_torch_l1,
        make_input=_normal(),
        make_target=_l1_target,
        variants={"plain": _no_options},
        aliases=("mae_loss",),
        # torch gives 0 (sign(nan) == 0); fastloss documents NaN (README: "a NaN never
        # disappears from a gradient")
        nan_grad_propagates=True,
    ),
    LossSpec(
        name="binary_cross_entropy",
        module="BCELoss",
        reference=ref.bce_elementwise,
        torch_fn=_torch_bce,
        make_input=_probabilities,
        make_target=_soft_or_hard_labels,
        variants={
            "plain": _no_options,
            "weight_full": weight_variant(_full),
            "weight_last": weight_variant(_last_axis),
            "weight_col": weight_variant(_column),
            "weight_scalar": weight_variant(_scalar),
        },
        ctor_options=("weight",),
        option_names=("weight",),
        input_range=(0.0, 1.0),
        target_range=(0.0, 1.0),
        probability_input=True,
    ),
    LossSpec(
        name="binary_cross_entropy_with_logits",
        module="BCEWithLogitsLoss",
        reference=ref.bce_with_logits_elementwise,
        torch_fn=_torch_bce_logits,
        make_input=_normal(3.0),
        make_target=_soft_or_hard_labels,
        variants={
            "plain": _no_options,
            "weight_full": weight_variant(_full),
            "pos_weight_last": pos_weight_variant(_last_axis),
            "pos_weight_full": pos_weight_variant(_full),
            "weight_col+pos_weight_last": _combine(
                weight_variant(_column), pos_weight_variant(_last_axis)
            ),
            "weight_scalar+pos_weight_scalar": _combine(
                weight_variant(_scalar), pos_weight_variant(_scalar)
            ),
        },
        ctor_options=("weight", "pos_weight"),
        option_names=("weight", "pos_weight"),
        input_range=(-1e4, 1e4),
        target_range=(0.0, 1.0),
    ),
)

SPEC_BY_NAME: Dict[str, LossSpec] = {s.name: s for s in SPECS}


@dataclass(frozen=True)
class Case:
    """One loss with one option variant."""

    spec: LossSpec
    variant: str

    @property
    def id(self) -> str:
        return self.spec.name if self.variant == "plain" else f"{self.spec.name}[{self.variant}]"

    def __repr__(self) -> str:  # readable pytest ids
        return self.id

    def data(
        self, shape: Shape, dtype: Any, seed: int = 0
    ) -> Tuple[np.ndarray, np.ndarray, Options]:
        """Valid (input, target, options) for this case; deterministic in (case, shape, dtype, seed)."""
        rng = np.random.default_rng([seed, zlib.crc32(self.id.encode()), len(shape)] + list(shape))
        x = self.spec.make_input(rng, tuple(shape), dtype)
        y = self.spec.make_target(rng, x)
        opts = self.spec.variants[self.variant](rng, tuple(shape), dtype)
        return np.asarray(x), np.asarray(y), opts

    def call(self, x: Any, y: Any, opts: Mapping[str, Any], **kw: Any) -> Any:
        return self.spec.fn(x, y, **opts, **kw)

    def reference(
        self,
        x: Any,
        y: Any,
        opts: Mapping[str, Any],
        reduction: str,
        grad_output: Any = 1.0,
    ) -> Tuple[Any, np.ndarray]:
        o = {k: np.asarray(v, dtype=np.float64) for k, v in opts.items()}
        loss, grad = self.spec.reference(
            np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), **o
        )
        return ref.reduce(loss, grad, reduction, grad_output)


CASES: Tuple[Case, ...] = tuple(Case(s, v) for s in SPECS for v in s.variants)
#: one case per loss (the plain variant), for the tests whose subject is not the options
PLAIN_CASES: Tuple[Case, ...] = tuple(Case(s, "plain") for s in SPECS)
#: for each loss the richest variant (most options), for expensive tests
RICH_CASES: Tuple[Case, ...] = tuple(Case(s, list(s.variants)[-1]) for s in SPECS)
WEIGHTED_CASES: Tuple[Case, ...] = tuple(c for c in CASES if c.variant != "plain")
#: every loss without options plus its richest variant, without duplicates
PLAIN_AND_RICH: Tuple[Case, ...] = tuple({c.id: c for c in PLAIN_CASES + RICH_CASES}.values())


def case_id(c: Case) -> str:
    return c.id


# --------------------------------------------------------------------------- torch
def torch_reference(
    case: Case,
    x: Any,
    y: Any,
    opts: Mapping[str, Any],
    reduction: str,
    grad_output: Any = 1.0,
) -> Tuple[np.ndarray, np.ndarray]:
    """(loss, grad) from torch float64 autograd; the caller must have imported torch."""
    import torch
    import torch.nn.functional as F

    def t(a: Any) -> Any:
        return torch.tensor(np.array(a, dtype=np.float64, order="C"))

    xt = t(x).requires_grad_(True)
    loss = case.spec.torch_fn(F, xt, t(y), reduction, **{k: t(v) for k, v in opts.items()})
    go = torch.broadcast_to(t(grad_output), loss.shape)
    loss.backward(go)
    assert xt.grad is not None
    return loss.detach().numpy().copy(), xt.grad.numpy().copy()


# ---------------------------------------------------------------------- comparison
def assert_close(
    actual: Any,
    expected: Any,
    dtype: Any,
    *,
    rtol: Optional[float] = None,
    floor: float = 0.0,
    what: str = "",
) -> None:
    """|actual - expected| <= rtol * |expected| + rtol * max(max|expected|, floor) elementwise.

    The absolute part scales with the magnitude of the whole array (or ``floor``,
    the magnitude of the terms the result is computed from, if larger), so
    elements much smaller than their neighbours (cancellation, tiny grads) are
    compared at the precision float arithmetic delivers for them.
    """
    rtol = RTOL[np.dtype(dtype)] if rtol is None else rtol
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    finite = np.isfinite(e)
    scale = max(float(np.max(np.abs(e[finite]))) if finite.any() else 0.0, floor)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * scale, equal_nan=True, err_msg=what)


def _max_abs(a: Any, default: float = 1.0) -> float:
    a = np.abs(np.asarray(a, dtype=np.float64))
    a = a[np.isfinite(a)]
    return max(float(a.max()), default) if a.size else default


def natural_floors(
    x: Any, opts: Mapping[str, Any], reduction: str, grad_output: Any = 1.0
) -> Tuple[float, float]:
    """Magnitudes of the terms a (loss, grad) is computed from, for the absolute tolerance.

    E.g. binary_cross_entropy_with_logits computes x + (-x + log1p(exp(x))) for
    target 0 and x << 0: a float32 result is then exact only to eps * |x|, as in torch.
    """
    om = 1.0
    for v in opts.values():
        om *= _max_abs(v)
    n = max(int(np.size(x)), 1)
    loss_floor = _max_abs(x) * om * (n if reduction == "sum" else 1)
    grad_floor = om * _max_abs(grad_output, default=0.0) / (n if reduction == "mean" else 1)
    return loss_floor, grad_floor


def assert_matches(
    case: "Case",
    x: Any,
    y: Any,
    opts: Mapping[str, Any],
    reduction: str,
    loss: Any,
    grad: Optional[Any],
    dtype: Any,
    *,
    grad_output: Any = 1.0,
    expected: Optional[Tuple[Any, Any]] = None,
    rtol: Optional[float] = None,
    what: str = "",
) -> None:
    """Compare a fastloss (loss, grad) with the reference (or with ``expected``, e.g. torch's)."""
    ref_loss, ref_grad = expected if expected is not None else case.reference(x, y, opts, reduction, grad_output)
    loss_floor, grad_floor = natural_floors(x, opts, reduction, grad_output)
    assert_close(loss, ref_loss, dtype, rtol=rtol, floor=loss_floor, what=f"{what} loss".strip())
    if grad is not None:
        assert_close(grad, ref_grad, dtype, rtol=rtol, floor=grad_floor, what=f"{what} grad".strip())


def assert_bitwise(actual: Any, expected: Any, what: str = "") -> None:
    a, e = np.asarray(actual), np.asarray(expected)
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != {e.dtype}"
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    if np.ascontiguousarray(a).tobytes() != np.ascontiguousarray(e).tobytes():
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        raise AssertionError(
            f"{what}: not bitwise equal; max |diff| = {np.nanmax(diff) if diff.size else 0!r}, "
            f"{int(np.count_nonzero(a != e))} of {a.size} elements differ"
        )


def check_loss_type(loss: Any, reduction: str, shape: Shape, dtype: Any) -> None:
    """A reduced loss is a NumPy scalar of the input dtype; 'none' an ndarray of input's shape."""
    dtype = np.dtype(dtype)
    if reduction in ("mean", "sum"):
        assert type(loss) is dtype.type, f"{reduction} loss is {type(loss)!r}, expected {dtype.type!r}"
    else:
        assert np.ndim(loss) == len(shape) and np.shape(loss) == tuple(shape)
        if len(shape):
            assert isinstance(loss, np.ndarray), type(loss)
        assert loss.dtype == dtype, loss.dtype


def check_grad_type(grad: Any, shape: Shape, dtype: Any) -> None:
    assert isinstance(grad, np.ndarray), type(grad)
    assert grad.shape == tuple(shape), (grad.shape, shape)
    assert grad.dtype == np.dtype(dtype), grad.dtype


# -------------------------------------------------------------------------- layouts
LAYOUTS = ("contiguous", "sliced", "transposed", "negative")


def make_layout(a: np.ndarray, layout: str) -> np.ndarray:
    """A view with ``a``'s values (and shape) in the given memory layout (2-D ``a``)."""
    a = np.asarray(a)
    if layout == "contiguous":
        return np.array(a, order="C", copy=True)
    assert a.ndim == 2, "layouts are defined for 2-D arrays"
    if layout == "sliced":  # every other column of a wider buffer, every row of a taller one
        buf = np.full((2 * a.shape[0], 3 * a.shape[1]), np.nan, dtype=a.dtype)
        view = buf[::2, 1::3]
    elif layout == "transposed":  # Fortran order
        view = np.ascontiguousarray(a.T).T
        assert view.flags.f_contiguous
    elif layout == "negative":
        buf = np.ascontiguousarray(a[::-1, ::-1])
        view = buf[::-1, ::-1]
        assert all(s < 0 for s in view.strides)
    else:
        raise ValueError(layout)
    view[...] = a
    assert not view.flags.c_contiguous
    return view


def shape_regex(shape: Sequence[int]) -> str:
    """A regex matching ``shape`` printed as a tuple or list: (4, 3) / [4, 3] / (5,)."""
    inner = r"\s*,\s*".join(str(int(n)) for n in shape)
    return r"[\(\[]\s*" + inner + r"\s*,?\s*[\)\]]"
