"""The one registry of losses that drives the parametrised fastloss tests.

A :class:`LossSpec` describes one public loss function: its fastloss name and
module class, its float64 NumPy reference (``reference.py``), its PyTorch
equivalent, a generator of *valid* inputs (probabilities for BCE, ...) and a
set of option variants (``weight=`` / ``pos_weight=`` of several broadcast
shapes).  :data:`CASES` flattens specs x variants; tests parametrise over it
and over dtypes, reductions and memory layouts.

To add a loss, append a ``LossSpec`` to :data:`SPECS` (and, if it needs new
kinds of options, a variant maker); the generic tests pick it up.

Losses over classes (``cross_entropy``, ``nll_loss``, ``sequence_cross_entropy``) take
targets of another shape than their input (class indices, one per row) and options
that are not arrays (``ignore_index``, ``label_smoothing``), so they are described by
the sibling :class:`ClassLossSpec` (variants are declarative :class:`ClassVariant`
rows) and flattened into :data:`CLASS_CASES`. A :class:`ClassCase` has the interface
of a :class:`Case` (``id``, ``data``, ``call``, ``reference``, ``floors``,
``torch_operands``), so the comparison helpers (``assert_matches``,
``torch_reference``) serve both; ``test_softmax_ce.py`` parametrises over them. To
add a class loss, append a ``ClassLossSpec`` to :data:`CLASS_SPECS`.

This module also holds the comparison helpers (dtype-dependent tolerances,
bitwise equality) and the layout makers shared by the test modules.
"""

from __future__ import annotations

import functools
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import pytest
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


def _signs(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """+-1 labels (soft margin, hinge embedding)."""
    return np.where(rng.random(x.shape) < 0.5, -1.0, 1.0).astype(x.dtype)


def _away_from(kink: float, scale: float = 2.0) -> Callable[[np.random.Generator, Shape, Any], np.ndarray]:
    """Normal values at least 0.05 from `kink` (hinge's margin), so finite differences work."""

    def make(rng: np.random.Generator, shape: Shape, dtype: Any) -> np.ndarray:
        v = np.asarray(scale * rng.standard_normal(shape))
        near = np.abs(v - kink) < 0.05
        v[near] = kink + np.where(v[near] >= kink, 0.05, -0.05)
        return v.astype(dtype)

    return make


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


def _torch_bce_logits(F: Any, x: Any, y: Any, reduction: str, weight: Any = None, pos_weight: Any = None) -> Any:
    return F.binary_cross_entropy_with_logits(x, y, weight=weight, reduction=reduction, pos_weight=pos_weight)


def _torch_huber(F: Any, x: Any, y: Any, reduction: str, delta: float = 1.0, weight: Any = None) -> Any:
    # torch wants a weight of the input's shape; fastloss broadcasts it by NumPy rules
    weight = None if weight is None else weight.expand_as(x)
    return F.huber_loss(x, y, reduction=reduction, delta=delta, weight=weight)


def _torch_smooth_l1(F: Any, x: Any, y: Any, reduction: str, beta: float = 1.0) -> Any:
    return F.smooth_l1_loss(x, y, reduction=reduction, beta=beta)


def _torch_soft_margin(F: Any, x: Any, y: Any, reduction: str) -> Any:
    return F.soft_margin_loss(x, y, reduction=reduction)


def _torch_hinge_embedding(F: Any, x: Any, y: Any, reduction: str, margin: float = 1.0) -> Any:
    return F.hinge_embedding_loss(x, y, margin=margin, reduction=reduction)


def _torch_sigmoid_focal(F: Any, x: Any, y: Any, reduction: str, alpha: float = 0.25, gamma: float = 2.0) -> Any:
    # torchvision.ops.sigmoid_focal_loss, written out (torchvision is not a test dependency)
    p = x.sigmoid()
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def _torch_poisson_nll(
    F: Any, x: Any, y: Any, reduction: str, log_input: bool = True, full: bool = False, eps: float = 1e-8
) -> Any:
    return F.poisson_nll_loss(x, y, log_input=log_input, full=full, eps=eps, reduction=reduction)


def _torch_kl_div(F: Any, x: Any, y: Any, reduction: str, log_target: bool = False) -> Any:
    with warnings.catch_warnings():  # torch warns that "mean" is not the KL divergence
        warnings.simplefilter("ignore", UserWarning)
        return F.kl_div(x, y, reduction=reduction, log_target=log_target)


def _log_probs(rng: np.random.Generator, shape: Shape, dtype: Any) -> np.ndarray:
    """Log-probabilities along the last axis (kl_div's input); any values for a 0-d shape."""
    z = rng.standard_normal(shape)
    if len(shape) and shape[-1]:
        z = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    return np.asarray(z).astype(dtype)


def _distribution(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Probabilities along the last axis with some exact zeros (xlogy's 0 log 0 = 0)."""
    g = rng.gamma(1.0, size=x.shape) * (rng.random(x.shape) > 0.2)
    if x.ndim and x.shape[-1]:
        g = g / np.maximum(np.sum(g, axis=-1, keepdims=True), 1e-12)
    return np.asarray(g).astype(x.dtype)


def _log_distribution(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    return _log_probs(rng, x.shape, x.dtype)


def _counts(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Poisson counts around the rates exp(x) (log-rates) or x (rates)."""
    rate = np.exp(np.clip(x.astype(np.float64), -5, 5))
    return np.asarray(rng.poisson(rate)).astype(x.dtype)


def _rates(rng: np.random.Generator, shape: Shape, dtype: Any) -> np.ndarray:
    return rng.uniform(0.2, 4.0, shape).astype(dtype)


# ------------------------------------------------------------------------- registry
class _PublicNames:
    """The fastloss function and class a spec names (``name``, ``module`` fields)."""

    name: str
    module: str

    @property
    def fn(self) -> Callable[..., Any]:
        import fastloss

        return getattr(fastloss, self.name)

    @property
    def cls(self) -> Any:
        import fastloss

        return getattr(fastloss, self.module)


@dataclass(frozen=True)
class LossSpec(_PublicNames):
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
    # a NaN target makes the loss NaN (False: hinge embedding, whose label only selects terms)
    nan_target_propagates: bool = True
    # the loss's scalar settings for this row (huber's delta, ...), passed to every call, the
    # class and torch; rows of one loss with other settings are other rows
    settings: Mapping[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The row's name in test ids: the loss, and its settings if any."""
        if not self.settings:
            return self.name
        return self.name + "(" + ",".join(f"{k}={v}" for k, v in self.settings.items()) + ")"

    @property
    def fn(self) -> Callable[..., Any]:
        import fastloss

        f = getattr(fastloss, self.name)
        return functools.partial(f, **self.settings) if self.settings else f

    @property
    def cls(self) -> Any:
        import fastloss

        c = getattr(fastloss, self.module)
        return functools.partial(c, **self.settings) if self.settings else c


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
        name="huber_loss",
        module="HuberLoss",
        reference=ref.huber_elementwise,
        torch_fn=_torch_huber,
        make_input=_normal(),
        make_target=_any_target,
        variants={
            "plain": _no_options,
            "weight_full": weight_variant(_full),
            "weight_last": weight_variant(_last_axis),
            "weight_col": weight_variant(_column),
        },
        ctor_options=("weight",),
        option_names=("weight",),
    ),
    LossSpec(
        name="huber_loss",
        module="HuberLoss",
        reference=ref.huber_elementwise,
        torch_fn=_torch_huber,
        make_input=_normal(),
        make_target=_any_target,
        variants={"plain": _no_options, "weight_scalar": weight_variant(_scalar)},
        ctor_options=("weight",),
        option_names=("weight",),
        settings={"delta": 0.4},
    ),
    LossSpec(
        name="smooth_l1_loss",
        module="SmoothL1Loss",
        reference=ref.smooth_l1_elementwise,
        torch_fn=_torch_smooth_l1,
        make_input=_normal(),
        make_target=_any_target,
        variants={"plain": _no_options},
    ),
    LossSpec(
        name="smooth_l1_loss",
        module="SmoothL1Loss",
        reference=ref.smooth_l1_elementwise,
        torch_fn=_torch_smooth_l1,
        make_input=_normal(),
        make_target=_l1_target,  # beta = 0 is L1: away from its kink
        variants={"plain": _no_options},
        settings={"beta": 0.0},
    ),
    LossSpec(
        name="sigmoid_focal_loss",
        module="SigmoidFocalLoss",
        reference=ref.sigmoid_focal_elementwise,
        torch_fn=_torch_sigmoid_focal,
        make_input=_normal(3.0),
        make_target=_soft_or_hard_labels,
        variants={"plain": _no_options},
        input_range=(-15.0, 15.0),  # torchvision's 1 - p_t is 0 beyond 17 in float32
        target_range=(0.0, 1.0),
    ),
    LossSpec(
        name="sigmoid_focal_loss",
        module="SigmoidFocalLoss",
        reference=ref.sigmoid_focal_elementwise,
        torch_fn=_torch_sigmoid_focal,
        make_input=_normal(3.0),
        make_target=_soft_or_hard_labels,
        variants={"plain": _no_options},
        input_range=(-15.0, 15.0),
        target_range=(0.0, 1.0),
        settings={"alpha": -1.0, "gamma": 1.5},
    ),
    LossSpec(
        name="soft_margin_loss",
        module="SoftMarginLoss",
        reference=ref.soft_margin_elementwise,
        torch_fn=_torch_soft_margin,
        make_input=_normal(3.0),
        make_target=_signs,
        variants={"plain": _no_options},
        input_range=(-80.0, 80.0),  # torch's log1p(exp(.)) overflows beyond 88 (float32)
        target_range=(-1.0, 1.0),
    ),
    LossSpec(
        name="hinge_embedding_loss",
        module="HingeEmbeddingLoss",
        reference=ref.hinge_embedding_elementwise,
        torch_fn=_torch_hinge_embedding,
        make_input=_away_from(1.0),
        make_target=_signs,
        variants={"plain": _no_options},
        target_range=(-1.0, 1.0),
        nan_target_propagates=False,
    ),
    LossSpec(
        name="hinge_embedding_loss",
        module="HingeEmbeddingLoss",
        reference=ref.hinge_embedding_elementwise,
        torch_fn=_torch_hinge_embedding,
        make_input=_away_from(0.5),
        make_target=_signs,
        variants={"plain": _no_options},
        target_range=(-1.0, 1.0),
        nan_target_propagates=False,
        settings={"margin": 0.5},
    ),
    LossSpec(
        name="kl_div",
        module="KLDivLoss",
        reference=ref.kl_div_elementwise,
        torch_fn=_torch_kl_div,
        make_input=_log_probs,
        make_target=_distribution,
        variants={"plain": _no_options},
        reductions=("mean", "sum", "none", "batchmean"),
        input_range=(-50.0, 0.0),
        target_range=(0.0, 1.0),
    ),
    LossSpec(
        name="kl_div",
        module="KLDivLoss",
        reference=ref.kl_div_elementwise,
        torch_fn=_torch_kl_div,
        make_input=_log_probs,
        make_target=_log_distribution,
        variants={"plain": _no_options},
        reductions=("mean", "sum", "none", "batchmean"),
        input_range=(-50.0, 0.0),
        target_range=(-40.0, 0.0),
        settings={"log_target": True},
    ),
    LossSpec(
        name="poisson_nll_loss",
        module="PoissonNLLLoss",
        reference=ref.poisson_nll_elementwise,
        torch_fn=_torch_poisson_nll,
        make_input=_normal(),
        make_target=_counts,
        variants={"plain": _no_options},
        input_range=(-20.0, 20.0),  # exp(input) stays finite in float32
        target_range=(0.0, 50.0),
    ),
    LossSpec(
        name="poisson_nll_loss",
        module="PoissonNLLLoss",
        reference=ref.poisson_nll_elementwise,
        torch_fn=_torch_poisson_nll,
        make_input=_rates,
        make_target=_counts,
        variants={"plain": _no_options},
        input_range=(0.0, 50.0),
        target_range=(0.0, 60.0),  # not the input's: not a loss of input - target (no common offset)
        settings={"log_input": False, "full": True},
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
            "weight_col+pos_weight_last": _combine(weight_variant(_column), pos_weight_variant(_last_axis)),
            "weight_scalar+pos_weight_scalar": _combine(weight_variant(_scalar), pos_weight_variant(_scalar)),
        },
        ctor_options=("weight", "pos_weight"),
        option_names=("weight", "pos_weight"),
        input_range=(-1e4, 1e4),
        target_range=(0.0, 1.0),
    ),
)

SPEC_BY_NAME: Dict[str, LossSpec] = {s.label: s for s in SPECS}


@dataclass(frozen=True)
class Case:
    """One loss with one option variant."""

    spec: LossSpec
    variant: str

    @property
    def id(self) -> str:
        return self.spec.label if self.variant == "plain" else f"{self.spec.label}[{self.variant}]"

    def __repr__(self) -> str:  # readable pytest ids
        return self.id

    def data(self, shape: Shape, dtype: Any, seed: int = 0) -> Tuple[np.ndarray, np.ndarray, Options]:
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
            np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), **self.spec.settings, **o
        )
        return ref.reduce(loss, grad, reduction, grad_output)

    def floors(self, x: Any, opts: Mapping[str, Any], reduction: str, grad_output: Any = 1.0) -> Tuple[float, float]:
        """(loss, grad) magnitudes for the absolute tolerance: see :func:`natural_floors`."""
        return natural_floors(x, opts, reduction, grad_output)

    def torch_operands(self, y: Any, opts: Mapping[str, Any]) -> Tuple[Any, Dict[str, Any]]:
        """target and options as torch float64 tensors, for :func:`torch_reference`."""
        return _to_torch_f64(y), {**self.spec.settings, **{k: _to_torch_f64(v) for k, v in opts.items()}}


CASES: Tuple[Case, ...] = tuple(Case(s, v) for s in SPECS for v in s.variants)
#: one case per loss (the plain variant), for the tests whose subject is not the options
PLAIN_CASES: Tuple[Case, ...] = tuple(Case(s, "plain") for s in SPECS)
#: for each loss the richest variant (most options), for expensive tests
RICH_CASES: Tuple[Case, ...] = tuple(Case(s, list(s.variants)[-1]) for s in SPECS)
WEIGHTED_CASES: Tuple[Case, ...] = tuple(c for c in CASES if c.variant != "plain")
#: every loss without options plus its richest variant, without duplicates
PLAIN_AND_RICH: Tuple[Case, ...] = tuple({c.id: c for c in PLAIN_CASES + RICH_CASES}.values())


def case_id(c: "AnyCase") -> str:
    return c.id


# ------------------------------------------------------------------ class losses
@dataclass(frozen=True)
class ClassVariant:
    """The options one class-loss test variant draws besides logits and targets."""

    weight: bool = False  # weight= of shape (C,), values in [0.5, 2]
    ignore: float = 0.0  # fraction of targets set to the ignore index
    ignore_index: Optional[int] = None  # passed when not None (else torch's default -100)
    label_smoothing: float = 0.0  # passed when not 0
    probs: bool = False  # class-probability targets of the input's shape and dtype
    lengths: bool = False  # lengths= (B,) of a sequence loss; the padding holds junk targets
    lse_square_scale: float = 0.0  # the z-loss scale, passed when not 0


def _class_logits(scale: float) -> Callable[[np.random.Generator, Shape, Any, int], np.ndarray]:
    def make(rng: np.random.Generator, shape: Shape, dtype: Any, axis: int) -> np.ndarray:
        return (scale * rng.standard_normal(shape)).astype(dtype)

    return make


def _class_log_probs(rng: np.random.Generator, shape: Shape, dtype: Any, axis: int) -> np.ndarray:
    return ref.log_softmax(2.0 * rng.standard_normal(shape), axis=axis).astype(dtype)


def _torch_z_loss(x: Any, y: Any, axis: int, reduction: str, s: float, o: Mapping[str, Any], batch: int = 1) -> Any:
    """The z-loss in torch (which has none): ``s w_t logsumexp(row)**2`` per counted row, ``w_t``
    the row's share of cross-entropy's "mean" denominator, reduced like the loss."""
    import torch

    lse = torch.logsumexp(x, dim=axis)
    if y.dtype.is_floating_point:  # probabilities: every row counts once
        share = torch.ones_like(lse)
    else:
        counted = y != o.get("ignore_index", -100)
        w = o.get("weight")
        share = (w[torch.where(counted, y, 0)] if w is not None else torch.ones_like(lse)) * counted
    z = s * share * lse**2
    if reduction == "mean":
        return z.sum() / share.sum()
    if reduction == "sum":
        return z.sum()
    if reduction == "batchmean":
        return z.sum() / batch
    if reduction == "sequence":
        return z.sum(dim=1)
    return z


def _torch_cross_entropy(F: Any, x: Any, y: Any, reduction: str, lse_square_scale: float = 0.0, **o: Any) -> Any:
    loss = F.cross_entropy(x, y, reduction=reduction, **o)
    if lse_square_scale:
        loss = loss + _torch_z_loss(x, y, 1 if x.ndim >= 2 else 0, reduction, lse_square_scale, o)
    return loss


def _torch_nll(F: Any, x: Any, y: Any, reduction: str, **o: Any) -> Any:
    return F.nll_loss(x, y, reduction=reduction, **o)


def _torch_sequence_ce(
    F: Any,
    x: Any,
    y: Any,
    reduction: str,
    lengths: Any = None,
    ignore_index: int = -100,
    lse_square_scale: float = 0.0,
    **o: Any,
) -> Any:
    """The contract's definition: nn.CrossEntropyLoss on the flattened (B T, V) batch, the
    steps t >= lengths[b] set to ignore_index; batchmean = sum / B; sequence = per-row sums."""
    import torch

    B, T, V = x.shape
    if lengths is not None:
        y = torch.where(torch.arange(T)[None, :] >= lengths[:, None], ignore_index, y)
    flat_x, flat_y = x.reshape(B * T, V), y.reshape(B * T)
    if lse_square_scale:
        z = _torch_z_loss(x, y, 2, reduction, lse_square_scale, dict(o, ignore_index=ignore_index), batch=B)
        return _torch_sequence_ce(F, x, y, reduction, None, ignore_index, **o) + z
    if reduction == "mean":
        return F.cross_entropy(flat_x, flat_y, ignore_index=ignore_index, reduction="mean", **o)
    per_step = F.cross_entropy(flat_x, flat_y, ignore_index=ignore_index, reduction="none", **o).reshape(B, T)
    if reduction == "none":
        return per_step
    if reduction == "sum":
        return per_step.sum()
    if reduction == "batchmean":
        return per_step.sum() / B
    if reduction == "sequence":
        return per_step.sum(dim=1)
    raise ValueError(reduction)


@dataclass(frozen=True)
class ClassLossSpec(_PublicNames):
    name: str  # public fastloss function
    module: str  # public fastloss class mirroring torch.nn
    # (x, target, reduction=, grad_output=, **options) -> (reduced loss, grad) in float64
    reference: Callable[..., Tuple[Any, np.ndarray]]
    torch_fn: Callable[..., Any]  # (torch.nn.functional, x, y, reduction, **options)
    make_input: Callable[[np.random.Generator, Shape, Any, int], np.ndarray]  # (rng, shape, dtype, class axis)
    variants: Mapping[str, ClassVariant]
    shapes: Mapping[str, Shape]  # input shapes of the generic tests
    fd_shapes: Mapping[str, Shape]  # small shapes (same keys) for finite differences
    reductions: Tuple[str, ...] = REDUCTIONS
    sequence: bool = False  # (B, T, V) logits with the class axis last, else class axis 1 ((C,): 0)
    log_probs: bool = False  # the input are log-probabilities (nll_loss): only input[target] is read
    ctor_options: Tuple[str, ...] = ("weight", "ignore_index", "label_smoothing", "lse_square_scale")
    call_options: Tuple[str, ...] = ()  # options given per call to the module class (lengths)

    def class_axis(self, ndim: int) -> int:
        return ndim - 1 if self.sequence else (1 if ndim >= 2 else 0)


_CE_SHAPES = {"2d": (13, 7), "kdim": (3, 5, 2, 4), "1d": (6,)}
_CE_FD_SHAPES = {"2d": (3, 4), "kdim": (2, 3, 2, 2), "1d": (4,)}

CLASS_SPECS: Tuple[ClassLossSpec, ...] = (
    ClassLossSpec(
        name="cross_entropy",
        module="CrossEntropyLoss",
        reference=ref.cross_entropy,
        torch_fn=_torch_cross_entropy,
        make_input=_class_logits(3.0),
        variants={
            "plain": ClassVariant(),
            "ignore": ClassVariant(ignore=0.3),
            "weight": ClassVariant(weight=True),
            "weight+ignore": ClassVariant(weight=True, ignore=0.3),
            "smooth": ClassVariant(label_smoothing=0.1),
            "smooth+weight+ignore": ClassVariant(weight=True, ignore=0.3, label_smoothing=0.25),
            "smooth1+weight+ignore": ClassVariant(weight=True, ignore=0.3, label_smoothing=1.0),
            "ignore_index1+weight+smooth": ClassVariant(weight=True, ignore=0.2, ignore_index=1, label_smoothing=0.2),
            "probs": ClassVariant(probs=True),
            "probs+smooth+weight": ClassVariant(probs=True, weight=True, label_smoothing=0.3),
            "zloss+probs": ClassVariant(probs=True, lse_square_scale=0.05),
            "zloss+smooth+weight+ignore": ClassVariant(
                weight=True, ignore=0.3, label_smoothing=0.2, lse_square_scale=0.05
            ),
        },
        shapes=_CE_SHAPES,
        fd_shapes=_CE_FD_SHAPES,
    ),
    ClassLossSpec(
        name="nll_loss",
        module="NLLLoss",
        reference=ref.nll_loss,
        torch_fn=_torch_nll,
        make_input=_class_log_probs,
        variants={
            "plain": ClassVariant(),
            "ignore": ClassVariant(ignore=0.3),
            "weight+ignore": ClassVariant(weight=True, ignore=0.3),
            "ignore_index1+weight": ClassVariant(weight=True, ignore=0.2, ignore_index=1),
        },
        shapes=_CE_SHAPES,
        fd_shapes=_CE_FD_SHAPES,
        ctor_options=("weight", "ignore_index"),
        log_probs=True,
    ),
    ClassLossSpec(
        name="sequence_cross_entropy",
        module="SequenceCrossEntropyLoss",
        reference=ref.sequence_cross_entropy,
        torch_fn=_torch_sequence_ce,
        make_input=_class_logits(3.0),
        variants={
            "plain": ClassVariant(),
            "ignore": ClassVariant(ignore=0.3),
            "lengths": ClassVariant(lengths=True),
            "lengths+weight+smooth+ignore": ClassVariant(lengths=True, weight=True, label_smoothing=0.2, ignore=0.2),
            "zloss+lengths+weight+smooth+ignore": ClassVariant(
                lengths=True, weight=True, label_smoothing=0.2, ignore=0.2, lse_square_scale=0.05
            ),
        },
        shapes={"3d": (3, 5, 11)},
        fd_shapes={"3d": (2, 3, 4)},
        reductions=("mean", "sum", "none", "batchmean", "sequence"),
        sequence=True,
        call_options=("lengths",),
    ),
)

CLASS_SPEC_BY_NAME: Dict[str, ClassLossSpec] = {s.name: s for s in CLASS_SPECS}
#: junk a padded (masked) time step may hold: out of range, negative, huge; never validated
PADDING_JUNK = (10**6, -7, 3 * 10**9)


@dataclass(frozen=True)
class ClassCase:
    """One class loss with one option variant; the interface of :class:`Case`."""

    spec: ClassLossSpec
    variant: str

    @property
    def id(self) -> str:
        return self.spec.name if self.variant == "plain" else f"{self.spec.name}[{self.variant}]"

    def __repr__(self) -> str:
        return self.id

    @property
    def options(self) -> ClassVariant:
        return self.spec.variants[self.variant]

    @property
    def class_targets(self) -> bool:
        return not self.options.probs

    def data(self, shape: Shape, dtype: Any, seed: int = 0) -> Tuple[np.ndarray, np.ndarray, Dict[str, Any]]:
        """Valid (logits, target, options); deterministic in (case, shape, dtype, seed).

        Class-index targets are int64; at least the first row counts (if there is one).
        """
        shape = tuple(shape)
        v = self.options
        rng = np.random.default_rng([seed, zlib.crc32(self.id.encode()), len(shape)] + list(shape))
        axis = self.spec.class_axis(len(shape))
        C = shape[axis]
        row_shape = shape[:axis] + shape[axis + 1 :]
        x = self.spec.make_input(rng, shape, dtype, axis)
        opts: Dict[str, Any] = {}
        if v.probs:
            g = rng.gamma(1.0, size=row_shape + (C,)) + 1e-3
            y = np.moveaxis(g / g.sum(axis=-1, keepdims=True), -1, axis).astype(dtype)
        else:
            ii = -100 if v.ignore_index is None else v.ignore_index
            y = np.asarray(rng.integers(0, max(C, 1), row_shape), dtype=np.int64)
            if v.ignore:
                y[np.asarray(rng.random(row_shape) < v.ignore)] = ii
            if y.size and y.flat[0] == ii:
                y.flat[0] = (ii + 1) % C if 0 <= ii < C else 0
            if v.ignore_index is not None:
                opts["ignore_index"] = v.ignore_index
        if v.weight:
            opts["weight"] = rng.uniform(0.5, 2.0, C).astype(dtype)
        if v.label_smoothing:
            opts["label_smoothing"] = v.label_smoothing
        if v.lse_square_scale:
            opts["lse_square_scale"] = v.lse_square_scale
        if v.lengths:
            B, T = row_shape
            lengths = rng.integers(0, T + 1, B).astype(np.int64)
            if B:
                lengths[0] = T
            pad = np.arange(T)[None, :] >= lengths[:, None]
            y[pad] = rng.choice(PADDING_JUNK, size=int(pad.sum()))
            opts["lengths"] = lengths
        return np.asarray(x), y, opts

    def call(self, x: Any, y: Any, opts: Mapping[str, Any], **kw: Any) -> Any:
        return self.spec.fn(x, y, **opts, **kw)

    def reference(
        self, x: Any, y: Any, opts: Mapping[str, Any], reduction: str, grad_output: Any = 1.0
    ) -> Tuple[Any, np.ndarray]:
        return self.spec.reference(x, y, reduction=reduction, grad_output=grad_output, **opts)

    def loss_shape(self, shape: Shape, reduction: str) -> Shape:
        axis = self.spec.class_axis(len(shape))
        if reduction == "none":
            return tuple(shape[:axis]) + tuple(shape[axis + 1 :])
        if reduction == "sequence":
            return tuple(shape[:1])
        return ()

    def floors(self, x: Any, opts: Mapping[str, Any], reduction: str, grad_output: Any = 1.0) -> Tuple[float, float]:
        """Magnitudes of the terms (loss, grad) are computed from, for the absolute tolerance:
        a row's loss is a difference of terms of size |x| + log C (times a weight)."""
        x = np.asarray(x)
        axis = self.spec.class_axis(x.ndim)
        C = x.shape[axis]
        rows = x.size // C if C else 0
        w = _max_abs(opts["weight"]) if "weight" in opts else 1.0
        row = (_max_abs(x) + float(np.log(max(C, 2)))) * w
        row += opts.get("lse_square_scale", 0.0) * row * row / w  # the z-loss, s w lse**2
        go = _max_abs(grad_output, default=0.0)
        batch = x.shape[0] if x.ndim else 1
        steps = rows // batch if self.spec.sequence and batch else 1
        loss_floor = row * {"sum": rows, "batchmean": steps, "sequence": steps}.get(reduction, 1)
        grad_floor = w * go / {"mean": max(rows, 1), "batchmean": max(batch, 1)}.get(reduction, 1)
        return loss_floor, grad_floor

    def torch_operands(self, y: Any, opts: Mapping[str, Any]) -> Tuple[Any, Dict[str, Any]]:
        """target (int64 indices or float64 probabilities) and options for torch."""
        import torch

        y = np.asarray(y)
        yt = torch.tensor(y.astype(np.int64)) if y.dtype.kind in "iu" else _to_torch_f64(y)
        ot: Dict[str, Any] = {}
        for k, v in opts.items():
            if k == "weight":
                ot[k] = _to_torch_f64(v)
            elif k == "lengths":
                ot[k] = torch.tensor(np.asarray(v, dtype=np.int64))
            else:
                ot[k] = v
        return yt, ot


CLASS_CASES: Tuple[ClassCase, ...] = tuple(ClassCase(s, v) for s in CLASS_SPECS for v in s.variants)
CLASS_PLAIN_CASES: Tuple[ClassCase, ...] = tuple(ClassCase(s, "plain") for s in CLASS_SPECS)
#: for each class loss the richest variant (the last), for expensive tests
CLASS_RICH_CASES: Tuple[ClassCase, ...] = tuple(ClassCase(s, list(s.variants)[-1]) for s in CLASS_SPECS)
#: the cases with class-index targets (every case but the probability-target ones)
CLASS_INDEX_CASES: Tuple[ClassCase, ...] = tuple(c for c in CLASS_CASES if c.class_targets)
AnyCase = Union[Case, ClassCase]


# ------------------------------------------------------------------ half precision
try:
    import ml_dtypes

    BF16: Any = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # optional: bfloat16 is ml_dtypes' dtype
    BF16 = None

#: the half dtypes as pytest params (bfloat16 skipped without ml_dtypes)
HALF = [
    pytest.param(np.dtype(np.float16), id="float16"),
    pytest.param(BF16, id="bfloat16", marks=pytest.mark.skipif(BF16 is None, reason="needs ml_dtypes")),
]
MANTISSA = {"float16": (10, -14), "bfloat16": (7, -126)}  # explicit mantissa bits, min normal exponent


def as_float64(a: Any) -> np.ndarray:
    return np.asarray(a).astype(np.float64)


def half_ulp(v: Any, dtype: Any) -> np.ndarray:
    """The ulp of the half dtype at each value of v (its subnormal step below the normal range)."""
    mant, emin = MANTISSA[dtype.name]
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.abs(as_float64(v))))
    return np.exp2(np.maximum(np.nan_to_num(e, neginf=emin), emin) - mant)


def rounded(a: Any, dtype: Any) -> np.ndarray:
    """`a` cast to `dtype` (overflow to inf and NaN without warnings)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(a).astype(dtype)


# --------------------------------------------------------------------------- torch
def _to_torch_f64(a: Any) -> Any:
    import torch

    return torch.tensor(np.array(a, dtype=np.float64, order="C"))


def torch_reference(
    case: "AnyCase",
    x: Any,
    y: Any,
    opts: Mapping[str, Any],
    reduction: str,
    grad_output: Any = 1.0,
) -> Tuple[np.ndarray, np.ndarray]:
    """(loss, grad) from torch float64 autograd; the caller must have imported torch."""
    import torch
    import torch.nn.functional as F

    xt = _to_torch_f64(x).requires_grad_(True)
    yt, ot = case.torch_operands(y, opts)
    loss = case.spec.torch_fn(F, xt, yt, reduction, **ot)
    go = torch.broadcast_to(_to_torch_f64(grad_output), loss.shape)
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


#: (reduction, grad_output) of the tests of the losses of several arrays; None: an array of the
#: loss's shape (grad_output_of)
GO_CASES = [("mean", 1.0), ("sum", -0.75), ("none", 1.5), ("none", None)]
go_cases = pytest.mark.parametrize("reduction, go", GO_CASES, ids=["mean", "sum", "none", "none-array"])


def grad_output_of(go: Optional[float], loss_shape: Tuple[int, ...], dtype: Any = np.float64) -> Any:
    """A GO_CASES grad_output: the scalar, or for None an array of ``loss_shape`` from -2 to 2."""
    if go is not None:
        return go
    return np.linspace(-2.0, 2.0, int(np.prod(loss_shape))).reshape(loss_shape).astype(dtype)


def assert_gradients_match_finite_differences(
    fn: Callable[..., Any], args: Sequence[Any], grads: Sequence[Any], which: Sequence[int], grad_output: Any, **kw: Any
) -> None:
    """Each of ``grads`` (the gradient w.r.t. ``args[k]``, k in ``which``) against the float64 central
    finite differences of ``sum(grad_output * fn(*args, **kw))`` (a loss of several arrays)."""
    for k, grad in zip(which, grads):

        def f(a: np.ndarray) -> float:
            return float(np.sum(np.asarray(grad_output) * fn(*args[:k], a, *args[k + 1 :], **kw)))

        np.testing.assert_allclose(grad, ref.central_fd(f, args[k]), rtol=1e-6, atol=1e-7, err_msg=f"argument {k}")


def _max_abs(a: Any, default: float = 1.0) -> float:
    a = np.abs(np.asarray(a, dtype=np.float64))
    a = a[np.isfinite(a)]
    return max(float(a.max()), default) if a.size else default


def natural_floors(x: Any, opts: Mapping[str, Any], reduction: str, grad_output: Any = 1.0) -> Tuple[float, float]:
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
    case: "AnyCase",
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
    loss_floor, grad_floor = case.floors(x, opts, reduction, grad_output)
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
    """A view with ``a``'s values (and shape) in the given memory layout (``a`` of 1 or more
    dimensions; "transposed" needs 2 or more)."""
    a = np.asarray(a)
    if layout == "contiguous":
        return np.array(a, order="C", copy=True)
    assert a.ndim >= 1, "layouts are defined for arrays of 1 or more dimensions"
    fill = np.nan if a.dtype.kind == "f" else 0
    if layout == "sliced":  # every 3rd element of the last axis, every other one of the others
        buf = np.full(tuple(2 * n for n in a.shape[:-1]) + (3 * a.shape[-1],), fill, dtype=a.dtype)
        view = buf[(slice(None, None, 2),) * (a.ndim - 1) + (slice(1, None, 3),)]
    elif layout == "transposed":  # Fortran order
        assert a.ndim >= 2, "a transposed layout needs 2 or more dimensions"
        view = np.ascontiguousarray(a.T).T
        assert view.flags.f_contiguous
    elif layout == "negative":  # every axis reversed
        rev = (slice(None, None, -1),) * a.ndim
        buf = np.ascontiguousarray(a[rev])
        view = buf[rev]
        assert a.size == 0 or all(s < 0 for s, n in zip(view.strides, view.shape) if n > 1)
    else:
        raise ValueError(layout)
    view[...] = a
    if sum(n > 1 for n in a.shape) >= (2 if layout == "transposed" else 1):
        assert not view.flags.c_contiguous
    return view


def shape_regex(shape: Sequence[int]) -> str:
    """A regex matching ``shape`` printed as a tuple or list: (4, 3) / [4, 3] / (5,)."""
    inner = r"\s*,\s*".join(str(int(n)) for n in shape)
    return r"[\(\[]\s*" + inner + r"\s*,?\s*[\)\]]"


def traced_peaks(with_buffers: Callable[[], Any], without: Callable[[], Any]) -> Tuple[int, int]:
    """Peak bytes allocated (tracemalloc: NumPy arrays included) during one call of each,
    after a warm-up call of the first: the out=/grad_out= path and the allocating path."""
    import tracemalloc

    with_buffers()  # warm-up
    peaks = []
    tracemalloc.start()
    try:
        for call in (with_buffers, without):
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            res = call()
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
            del res
    finally:
        tracemalloc.stop()
    return peaks[0], peaks[1]
