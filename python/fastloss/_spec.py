"""The spec table: one row per public loss, and the code that turns a row into Python.

**A loss is a row.** A :class:`LossSpec` holds everything the Python layer knows about a
loss: its public name, the ``_core`` kernel it calls, its call family (which fixes the
kernel's positional layout), its own parameters in torch's order (with defaults, docs and
validation rules), the reductions it allows, its ``nn``-style class name, its torch
equivalent, formula text and doctest example. From :data:`SPECS`:

- :func:`render_function` writes the source of the public function; ``functional.py``
  executes it (as ``dataclasses`` and ``namedtuple`` do), so every function has a real
  signature and runs straight-line code: the table is read once, at import, never per call.
- :func:`render_class` writes the source of the ``nn``-style class (``modules.py``).
- :func:`render_stubs` writes ``functional.pyi``, ``modules.pyi`` and the generated block of
  ``_core.pyi`` (the typed API that mypy sees). Regenerate them after changing a row::

      python python/fastloss/_spec.py --write-stubs        # or: python -m fastloss._spec --write-stubs

  (tests/test_api_types.py fails while the checked-in stubs differ from the rendered ones).

Adding a loss: its definition in a C++ kernel file (which registers its ``_core`` binding),
one row here, its formula in _reference.py, one row in tests/registry.py, its docs, and the
regenerated stubs (docs/architecture.md, "Adding a loss", has the exact list). A scalar setting of the loss (e.g. huber_loss's ``delta``) is a :class:`Param` of
kind ``"setting"``: it becomes a ``float`` parameter, is checked against its ``rules`` and
reaches an elementwise kernel in the ``settings`` tuple, in the row's order.

This module imports nothing but the standard library, so it runs as a plain script.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

# ------------------------------------------------------------------------------ the types
#: Reductions whose result is one number (a NumPy scalar, or the 0-d ``out``); the others
#: ("none", "sequence") return an array.
SCALAR_REDUCTIONS = ("mean", "sum", "batchmean")

#: Parameter kinds: how a loss-specific parameter is checked and where it goes.
#: operand   an array broadcast against the input (weight, pos_weight), or None
#: index     an int within int64 (ignore_index)
#: real      a float handed to the kernel as its own argument (label_smoothing)
#: setting   a float of the loss's ``settings`` tuple (elementwise kernels), checked by ``rules``
#: flag      a bool of the loss's ``settings`` tuple (poisson_nll_loss's log_input), passed as 1.0 / 0.0
#: lengths   an integer array of sequence lengths, or None
#: reduction the reduction name (its position among the parameters is torch's)
KINDS = ("operand", "index", "real", "setting", "flag", "lengths", "reduction")


_NUMBER = r"-?\d+(\.\d+)?"
#: a comparison with a number (``"> 0"``), or membership in a tuple of numbers (``"in (1, 2)"``)
_RULE = rf"(>|>=|<|<=) {_NUMBER}|in \({_NUMBER}(, {_NUMBER})*\)"


@dataclass(frozen=True)
class Param:
    """One loss-specific parameter of a public function (and of its class)."""

    name: str
    kind: str
    default: Any
    doc: str
    #: ``"setting"`` only: comparisons the value must pass, e.g. ``("> 0",)`` or ``("in (1, 2)",)``
    rules: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}; got {self.kind!r}")
        for rule in self.rules:  # rendered into the check as `if not <name> <rule>:`
            if self.kind != "setting" or not re.fullmatch(_RULE, rule):
                raise ValueError(f"{self.name}: a rule is a setting's comparison with a number; got {rule!r}")


@dataclass(frozen=True)
class Family:
    """How the losses of one family call their kernel: the kernel's own positional
    parameters (name, stub type) before the common tail, and which slots a loss may leave
    out (filled with a constant)."""

    name: str
    kernel_params: Tuple[Tuple[str, str], ...]
    optional_slots: Mapping[str, str]  # slot -> the constant passed when the loss has no such parameter
    #: normalises an array argument {t} after the first that is not an ndarray ({x}: the first
    #: array, {fn}: the loss's name, {name}: the argument's name)
    target_check: str
    #: the kernel's gradient result and grad_out: one array, or a tuple for several gradients
    grad_type: str = "_Array"
    grad_result: str = "_Array"


#: return_grad, grad_output, out, grad_out, n_threads: the tail of every loss kernel.
def kernel_tail(family: Family) -> Tuple[Tuple[str, str], ...]:
    return (
        ("return_grad", "bool"),
        ("grad_output", "Union[float, _Array]"),
        ("out", "Optional[_Array]"),
        ("grad_out", f"Optional[{family.grad_type}]"),
        ("n_threads", "int"),
    )


def kernel_result(family: Family) -> str:
    result = f"Tuple[Union[np.floating[Any], _Array], Optional[{family.grad_result}]]"
    if "return_z_loss" in dict(family.kernel_params):  # (loss, z_loss, grad) with return_z_loss
        return f"Union[{result}, Tuple[Union[np.floating[Any], _Array], Union[np.floating[Any], _Array], Optional[{family.grad_result}]]]"
    return result


ELEMENTWISE = Family(
    "elementwise",
    (
        ("input", "_Array"),
        ("target", "_Array"),
        ("weight", "Optional[_Array]"),
        ("pos_weight", "Optional[_Array]"),
        ("reduction", "int"),
        ("settings", "Tuple[float, ...]"),
    ),
    {"weight": "None", "pos_weight": "None"},
    "_as_operand({fn!r}, {name!r}, {t}, {x}.dtype, False)",
)
#: Losses of three arrays with two gradients (margin_ranking_loss, gaussian_nll_loss): the kernel
#: returns ``(loss, (grad_1, grad_2))`` and takes ``grad_out`` as a pair.
PAIRED = Family(
    "paired",
    (
        ("a", "_Array"),
        ("b", "_Array"),
        ("c", "_Array"),
        ("reduction", "int"),
        ("settings", "Tuple[float, ...]"),
    ),
    {},
    "_as_operand({fn!r}, {name!r}, {t}, {x}.dtype, False)",
    grad_type="Tuple[Optional[_Array], Optional[_Array]]",
    grad_result="Tuple[_Array, _Array]",
)
#: Losses of one value per row, the last axis holding the classes (multilabel_soft_margin_loss,
#: multi_margin_loss, multilabel_margin_loss).
ROWS = Family(
    "rows",
    (
        ("input", "_Array"),
        ("target", "_Array"),
        ("weight", "Optional[_Array]"),
        ("reduction", "int"),
        ("settings", "Tuple[float, ...]"),
    ),
    {"weight": "None"},
    "_as_operand({fn!r}, {name!r}, {t}, {x}.dtype, False)",
)
#: triplet_margin_loss: three arrays, each differentiated (``(loss, (grad_1, grad_2, grad_3))``).
TRIPLET = Family(
    "triplet",
    PAIRED.kernel_params,
    {},
    PAIRED.target_check,
    grad_type="Tuple[Optional[_Array], Optional[_Array], Optional[_Array]]",
    grad_result="Tuple[_Array, _Array, _Array]",
)
CLASS_AXIS = Family(
    "class-axis",
    (
        ("input", "_Array"),
        ("target", "_Array"),
        ("weight", "Optional[_Array]"),
        ("ignore_index", "int"),
        ("reduction", "int"),
        ("label_smoothing", "float"),
        ("log_probs", "bool"),
        ("lse_square_scale", "float"),
        ("return_z_loss", "bool"),
    ),
    {"weight": "None", "lse_square_scale": "0.0", "return_z_loss": "False"},
    "_as_class_target({fn!r}, {t}, {x}.dtype)",
)
SEQUENCE = Family(
    "sequence",
    (
        ("logits", "_Array"),
        ("targets", "_Array"),
        ("weight", "Optional[_Array]"),
        ("ignore_index", "int"),
        ("reduction", "int"),
        ("label_smoothing", "float"),
        ("lengths", "Optional[_Array]"),
        ("lse_square_scale", "float"),
        ("return_z_loss", "bool"),
    ),
    {"weight": "None", "lengths": "None", "lse_square_scale": "0.0", "return_z_loss": "False"},
    "_as_class_target({fn!r}, {t}, {x}.dtype)",
)

#: ctc_loss: log-probabilities, targets and two arrays of lengths (integers, not differentiated).
CTC = Family(
    "ctc",
    (
        ("log_probs", "_Array"),
        ("targets", "_Array"),
        ("input_lengths", "_Array"),
        ("target_lengths", "_Array"),
        ("blank", "int"),
        ("reduction", "int"),
        ("settings", "Tuple[float, ...]"),
    ),
    {},
    "_numeric_array({fn!r}, {name!r}, {t})",
)


@dataclass(frozen=True)
class LossSpec:
    """One public loss: everything its function, class, stubs and docs are made from."""

    name: str
    kernel: str  # the fastloss._core function
    family: Family
    params: Tuple[Param, ...]  # after the two arrays, in torch's order; "reduction" among them
    reductions: Tuple[str, ...]
    cls: str  # the nn-style class
    summary: str  # first docstring line: what it is, its formula, its torch equivalent
    details: str  # the docstring's further paragraphs (gradient, edge cases)
    example: str  # doctest lines
    input_doc: str  # the first array's
    target_doc: str  # the second array's
    array_loss_doc: str  # what the loss is for the reductions that return an array
    arrays: Tuple[str, ...] = ("input", "target")
    more_array_docs: Tuple[str, ...] = ()  # the docs of arrays[2:]
    #: the arrays the loss is differentiated with respect to (default: the first); with more
    #: than one, return_grad gives a tuple of gradients and grad_out takes one
    grads: Tuple[str, ...] = ()
    keyword_only: bool = False  # every parameter after the two arrays keyword-only
    kernel_constants: Mapping[str, str] = field(default_factory=dict)  # kernel slot -> literal
    aliases: Tuple[str, ...] = ()
    #: the class constructor's parameter order when it differs from the function's
    init_order: Optional[Tuple[str, ...]] = None
    #: normalises a target that is not an ndarray, instead of the family's (as target_check)
    target_check: Optional[str] = None
    #: a loss of the paired family with one value per row (the last axis reduced), not per element
    per_row: bool = False
    #: the cross-entropy family's z-loss output: a keyword ``return_z_loss`` (a per-call option of
    #: the function and the class, not a parameter the adapters take) that makes the kernel return
    #: ``(loss, z_loss, grad)``
    z_loss: bool = False

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    @property
    def grad_arrays(self) -> Tuple[str, ...]:
        return self.grads or self.arrays[:1]

    @property
    def array_docs(self) -> Tuple[str, ...]:
        return (self.input_doc, self.target_doc, *self.more_array_docs)

    @property
    def settings(self) -> Tuple[Param, ...]:
        return tuple(p for p in self.params if p.kind in ("setting", "flag"))

    @property
    def init_params(self) -> Tuple[Param, ...]:
        """The class constructor's parameters: the function's, less the per-call lengths."""
        own = [p for p in self.params if p.kind != "lengths"]
        if self.init_order is None:
            return tuple(own)
        return tuple(self.param(n) for n in self.init_order)

    @property
    def call_params(self) -> Tuple[Param, ...]:
        """Parameters the class takes per call besides the common options (lengths)."""
        return tuple(p for p in self.params if p.kind == "lengths")


# -------------------------------------------------------------------- shared parameter text
def _reduction(doc: str) -> Param:
    """The reduction parameter (its allowed names are the row's ``reductions``)."""
    return Param("reduction", "reduction", "mean", doc)


def weight(doc: str) -> Param:
    return Param("weight", "operand", None, doc)


IGNORE_INDEX = Param(
    "ignore_index",
    "index",
    -100,
    "A target value that is not a class: its rows count 0 towards the loss and its mean, and get a zero "
    "gradient. Any int; other targets out of ``[0, C)`` raise IndexError.",
)
LABEL_SMOOTHING = Param(
    "label_smoothing",
    "real",
    0.0,
    "In [0, 1]: the target gets ``1 - label_smoothing`` and every class ``label_smoothing / C`` (torch's "
    "rule, weighted and normalised like the loss).",
)
LSE_SQUARE_SCALE = Param(
    "lse_square_scale",
    "real",
    0.0,
    "The z-loss scale ``s`` (PaLM's auxiliary loss, Liger-Kernel's name): ``s * logsumexp(row)**2`` is added "
    "to each counted row's loss, times its target's weight like the row's loss, and reduced with it; its exact "
    "gradient ``2 s logsumexp(row) softmax(row)`` joins the same pass. A finite number ``>= 0``; typically "
    "``1e-4``.",
)
ELEMENTWISE_REDUCTION_DOC = (
    '``"mean"``: the mean over the ``N`` elements (``nan`` for an empty input); ``"sum"``: their sum; '
    '``"none"``: the per-element loss, of ``input``\'s shape.'
)
ROW_REDUCTION_DOC = (
    '``"mean"``: the mean of the per-row losses over the rows (``nan`` for no rows); ``"sum"``: their sum; '
    '``"none"``: the per-row loss, of ``input``\'s shape without its last axis.'
)
CLASS_REDUCTION_DOC = (
    '``"mean"``: the sum divided by the sum of ``weight[target]`` over the counted rows (by the row count '
    'for probability targets; ``nan`` when no row counts); ``"sum"``; ``"none"``: the per-row loss, of the '
    "target's (class-index) shape."
)

#: The common parameters' text, shared by every function and class. {array} is the loss's
#: first array parameter (input / logits).
COMMON_DOCS = {
    "return_grad": (
        "bool, default False",
        "Also return the gradient, computed in the same pass over memory: the result is then the tuple "
        "``(loss, grad)``.",
    ),
    "grad_output": (
        "float or array_like, default 1.0",
        "The upstream gradient ``d(objective)/d(loss)``: ``grad = grad_output * d(loss)/d({array})``. A "
        "scalar, or for a reduction that returns an array, an array of exactly the loss's shape and "
        "``{array}``'s dtype. Used only with ``return_grad=True``.",
    ),
    "out": (
        "ndarray, optional",
        "A preallocated C-contiguous, aligned, writeable array of ``{array}``'s dtype and the loss's shape "
        "(``()`` for a reduced loss): the loss is written there and returned.",
    ),
    "grad_out": (
        "ndarray, optional",
        "A preallocated C-contiguous, aligned, writeable array of ``{array}``'s shape and dtype for the "
        "gradient (``return_grad=True`` only), returned as ``grad``. It may be ``{array}`` itself, to "
        "overwrite it; it may overlap no other argument.",
    ),
    "n_threads": (
        "int, optional",
        "Threads for this call: ``None`` is the default (``max_threads()``: ``OMP_NUM_THREADS``, "
        "``threadpoolctl``); a positive int is clamped to the CPUs this process may use. Results are "
        "bitwise the same for every count.",
    ),
}
COMMON_OPTIONS = tuple(COMMON_DOCS)

#: The z-loss rows' own option (see LossSpec.z_loss).
Z_LOSS_DOC = (
    "bool, default False",
    "Also return the z-loss term alone (for logging), reduced like the loss: the result is then "
    "``(loss, z_loss)``, or ``(loss, z_loss, grad)`` with ``return_grad=True``. ``loss`` includes it.",
)

#: The same parameters' text for a loss of several differentiable arrays ({grads}: their names
#: as ``a`` and ``b``, {tuple}: ``(grad_a, grad_b)``).
SEVERAL_GRADS_DOCS = {
    "return_grad": (
        "bool, default False",
        "Also return the gradients with respect to {grads}, computed in the same pass over memory: the "
        "result is then the tuple ``(loss, {tuple})``, the gradients in argument order.",
    ),
    "grad_output": (
        "float or array_like, default 1.0",
        "The upstream gradient ``d(objective)/d(loss)``, which multiplies every gradient. A scalar, or for a "
        "reduction that returns an array, an array of exactly the loss's shape and ``{array}``'s dtype. Used "
        "only with ``return_grad=True``.",
    ),
    "grad_out": (
        "tuple of ndarray or None, optional",
        "Preallocated buffers for the gradients (``return_grad=True`` only): a tuple ``{tuple}`` whose "
        "entries are each ``None`` (a new array) or a C-contiguous, aligned, writeable array of its array's "
        "shape and dtype, returned in its place. A buffer may be its own array, to overwrite it; it may "
        "overlap no other argument.",
    ),
}


# ------------------------------------------------------------------------------ the table
SPECS: Tuple[LossSpec, ...] = (
    LossSpec(
        name="mse_loss",
        kernel="mse_loss",
        family=ELEMENTWISE,
        params=(_reduction(ELEMENTWISE_REDUCTION_DOC),),
        reductions=("none", "mean", "sum"),
        cls="MSELoss",
        summary="Mean squared error, ``mean((input - target)**2)``; torch: ``F.mse_loss`` / ``nn.MSELoss``.",
        details='The gradient is ``2 (input - target) / N`` for ``"mean"`` (``N`` = number of elements), '
        "times ``grad_output``.",
        example=""">>> import numpy as np, fastloss as fl
>>> fl.mse_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
np.float64(2.0)
>>> loss, grad = fl.mse_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0]), return_grad=True)
>>> grad
array([ 0., -2.])""",
        input_doc="Predictions: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar of Python numbers "
        "becomes float64).",
        target_doc="Targets of ``input``'s shape and dtype (a list or scalar is converted to ``input``'s dtype).",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="l1_loss",
        kernel="l1_loss",
        family=ELEMENTWISE,
        params=(_reduction(ELEMENTWISE_REDUCTION_DOC),),
        reductions=("none", "mean", "sum"),
        cls="L1Loss",
        summary="Mean absolute error, ``mean(|input - target|)``; torch: ``F.l1_loss`` / ``nn.L1Loss``.",
        details='The gradient is ``sign(input - target) / N`` for ``"mean"``, ``0`` at a tie (as torch). '
        "``mae_loss`` is an alias.",
        example=""">>> import numpy as np, fastloss as fl
>>> fl.l1_loss(np.array([1.0, 2.0]), np.array([1.0, 4.0]), reduction="sum")
np.float64(2.0)""",
        input_doc="Predictions: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar of Python numbers "
        "becomes float64).",
        target_doc="Targets of ``input``'s shape and dtype (a list or scalar is converted to ``input``'s dtype).",
        array_loss_doc="the per-element loss, of ``input``'s shape",
        aliases=("mae_loss",),
    ),
    LossSpec(
        name="huber_loss",
        kernel="huber_loss",
        family=ELEMENTWISE,
        params=(
            _reduction(ELEMENTWISE_REDUCTION_DOC),
            Param(
                "delta",
                "setting",
                1.0,
                "Where the loss turns from quadratic to linear in ``|input - target|``; positive.",
                rules=("> 0",),
            ),
            weight(
                "Per-element weights, broadcast to ``input`` by NumPy rules (torch requires ``input``'s shape), of "
                '``input``\'s dtype; multiplied into the loss and gradient before the reduction (``"mean"`` still '
                "divides by the element count)."
            ),
        ),
        reductions=("none", "mean", "sum"),
        cls="HuberLoss",
        summary="Huber loss, quadratic near 0 and linear beyond ``delta``; torch: ``F.huber_loss`` / ``nn.HuberLoss``.",
        details="With ``d = input - target``: ``loss = 0.5 d**2`` where ``|d| < delta``, else\n"
        "``delta (|d| - 0.5 delta)``, times ``weight``. The gradient is ``d`` clipped to\n"
        "``[-delta, delta]`` (times ``weight``). ``delta <= 0`` raises ValueError (torch:\n"
        "RuntimeError).",
        example=""">>> import numpy as np, fastloss as fl
>>> fl.huber_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]), reduction="none")
array([0.125, 2.5  ])""",
        input_doc="Predictions: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar of "
        "Python numbers becomes float64).",
        target_doc="Targets of ``input``'s shape and dtype (a list or scalar is converted to ``input``'s dtype).",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="smooth_l1_loss",
        kernel="smooth_l1_loss",
        family=ELEMENTWISE,
        params=(
            _reduction(ELEMENTWISE_REDUCTION_DOC),
            Param(
                "beta",
                "setting",
                1.0,
                "Where the loss turns from quadratic to linear in ``|input - target|``; ``0`` gives the L1 loss. "
                "Non-negative.",
                rules=(">= 0",),
            ),
        ),
        reductions=("none", "mean", "sum"),
        cls="SmoothL1Loss",
        summary="Smooth L1 loss, ``huber_loss / beta``; torch: ``F.smooth_l1_loss`` / ``nn.SmoothL1Loss``.",
        details="With ``d = input - target``: ``loss = 0.5 d**2 / beta`` where ``|d| < beta``, else\n"
        "``|d| - 0.5 beta``. The gradient is ``d / beta`` clipped to ``[-1, 1]``; with ``beta = 0``\n"
        "it is ``sign(d)`` (``0`` at a tie), as torch's L1 loss. ``beta < 0`` raises ValueError\n"
        "(torch: RuntimeError).",
        example=""">>> import numpy as np, fastloss as fl
>>> fl.smooth_l1_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]), reduction="none")
array([0.125, 2.5  ])""",
        input_doc="Predictions: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar of "
        "Python numbers becomes float64).",
        target_doc="Targets of ``input``'s shape and dtype (a list or scalar is converted to ``input``'s dtype).",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="kl_div",
        kernel="kl_div",
        family=ELEMENTWISE,
        params=(
            _reduction(
                '``"batchmean"``: the sum divided by the first axis\' length (the batch; the sum for a 0-d input, '
                'as torch); ``"mean"``: the mean over all elements (torch warns that it is not the KL divergence); '
                '``"sum"``; ``"none"``: the per-element loss, of ``input``\'s shape.'
            ),
            Param("log_target", "flag", False, "``target`` holds log-probabilities (else probabilities)."),
        ),
        reductions=("none", "mean", "sum", "batchmean"),
        cls="KLDivLoss",
        summary="Kullback-Leibler divergence of ``target`` from ``exp(input)``; torch: ``F.kl_div`` / "
        "``nn.KLDivLoss``.",
        details="``input`` holds log-probabilities. Pointwise as torch: ``target (log(target) - input)``, 0 where\n"
        "``target`` is 0 (NaN where it is negative), gradient ``-target``; with ``log_target=True``,\n"
        '``exp(target) (target - input)``, gradient ``-exp(target)``. ``reduction="batchmean"`` is the\n'
        "mathematical KL divergence per sample.",
        example=""">>> import numpy as np, fastloss as fl
>>> p = np.array([[0.25, 0.75]])
>>> round(float(fl.kl_div(np.log(np.array([[0.5, 0.5]])), p, reduction="batchmean")), 6)
0.130812""",
        input_doc="Log-probabilities: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar "
        "of Python numbers becomes float64).",
        target_doc="Probabilities (or log-probabilities with ``log_target=True``) of ``input``'s shape and dtype.",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="poisson_nll_loss",
        kernel="poisson_nll_loss",
        family=ELEMENTWISE,
        params=(
            Param("log_input", "flag", True, "``input`` is the log of the rate (else the rate itself)."),
            Param("full", "flag", False, "Add Stirling's approximation of ``log(target!)`` where ``target > 1``."),
            Param("eps", "setting", 1e-8, "Added to the rate inside the log when ``log_input`` is False."),
            _reduction(ELEMENTWISE_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="PoissonNLLLoss",
        summary="Poisson negative log-likelihood; torch: ``F.poisson_nll_loss`` / ``nn.PoissonNLLLoss``.",
        details="``log_input=True``: ``exp(input) - target * input`` (gradient ``exp(input) - target``);\n"
        "``log_input=False``: ``input - target * log(input + eps)`` (gradient ``1 - target / (input + eps)``).\n"
        "``full=True`` adds ``target log(target) - target + 0.5 log(2 pi target)`` where ``target > 1``\n"
        "(0 elsewhere), which does not change the gradient. torch's expressions, in the input's dtype.",
        example=""">>> import numpy as np, fastloss as fl
>>> round(float(fl.poisson_nll_loss(np.array([0.0]), np.array([2.0]))), 6)
1.0""",
        input_doc="Log-rates (or rates with ``log_input=False``): a float32, float64, float16 or bfloat16 array of "
        "any shape (a list or scalar of Python numbers becomes float64).",
        target_doc="Counts (non-negative) of ``input``'s shape and dtype.",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="gaussian_nll_loss",
        kernel="gaussian_nll_loss",
        family=PAIRED,
        params=(
            Param("full", "flag", False, "Add the constant ``0.5 log(2 pi)`` to every element."),
            Param(
                "eps",
                "setting",
                1e-6,
                "``var`` is clamped from below at ``eps`` (the gradient still reaches ``var``, as in torch).",
            ),
            _reduction(ELEMENTWISE_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="GaussianNLLLoss",
        summary="Gaussian negative log-likelihood; torch: ``F.gaussian_nll_loss`` / ``nn.GaussianNLLLoss``.",
        details="``0.5 (log(v) + (input - target)**2 / v)`` with ``v = max(var, eps)``, plus ``0.5 log(2 pi)``\n"
        "with ``full=True``. Differentiable in ``input`` and ``var``: with ``return_grad=True`` the result is\n"
        "``(loss, (grad_input, grad_var))``, ``grad_var`` of ``var``'s shape (summed over the axis ``var`` is\n"
        "broadcast along). As torch, the clamp is outside the gradient: ``d/dvar = 0.5 (1/v - (input -\n"
        "target)**2 / v**2)`` even where ``var < eps``. A negative ``var`` raises ValueError (value and index\n"
        "named); NaN propagates.",
        example=""">>> import numpy as np, fastloss as fl
>>> loss, (g_input, g_var) = fl.gaussian_nll_loss(np.array([1.0, 2.0]), np.array([1.0, 0.0]), np.array([1.0, 2.0]),
...                                                reduction="sum", return_grad=True)
>>> g_input, g_var
(array([0., 1.]), array([ 0.5 , -0.25]))""",
        input_doc="Predicted means: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar of "
        "Python numbers becomes float64).",
        target_doc="Observations of ``input``'s shape and dtype.",
        more_array_docs=(
            "Predicted variances (``>= 0``) of ``input``'s dtype, shaped as torch allows: ``input``'s shape; "
            "``input``'s shape with one axis of size 1 (one variance shared along that axis); ``input``'s shape "
            "without its last axis; or a scalar (one variance for every element; its gradient is then 0-d).",
        ),
        array_loss_doc="the per-element loss, of ``input``'s shape",
        arrays=("input", "target", "var"),
        grads=("input", "var"),
    ),
    LossSpec(
        name="margin_ranking_loss",
        kernel="margin_ranking_loss",
        family=PAIRED,
        params=(
            Param("margin", "setting", 0.0, "The margin by which ``input1`` should rank above ``input2``."),
            _reduction(ELEMENTWISE_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="MarginRankingLoss",
        summary="Margin ranking loss, ``max(0, -target (input1 - input2) + margin)``; torch: "
        "``F.margin_ranking_loss`` / ``nn.MarginRankingLoss``.",
        details="Differentiable in ``input1`` and ``input2``: with ``return_grad=True`` the result is\n"
        "``(loss, (grad_input1, grad_input2))``, the gradients ``-target`` and ``target`` where\n"
        "``margin - target (input1 - input2) >= 0`` (torch's clamp passes the gradient at 0), else 0. The\n"
        "three arrays must have the same shape (torch broadcasts arrays of the same number of dimensions).\n"
        "A NaN gives a NaN loss and NaN gradients (torch's are 0 at a NaN input1 or input2).",
        example=""">>> import numpy as np, fastloss as fl
>>> loss, (g1, g2) = fl.margin_ranking_loss(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]),
...                                          margin=0.5, reduction="none", return_grad=True)
>>> loss, g1, g2
(array([0. , 1.5]), array([ 0., -1.]), array([0., 1.]))""",
        input_doc="Scores of the first items: a float32, float64, float16 or bfloat16 array of any shape (a list "
        "or scalar of Python numbers becomes float64).",
        target_doc="Scores of the second items, of ``input1``'s shape and dtype.",
        more_array_docs=(
            "``1`` where ``input1`` should rank higher, ``-1`` where ``input2`` should, of ``input1``'s shape and "
            "dtype (other values are used as they are, as in torch).",
        ),
        array_loss_doc="the per-element loss, of ``input1``'s shape",
        arrays=("input1", "input2", "target"),
        grads=("input1", "input2"),
    ),
    LossSpec(
        name="cosine_embedding_loss",
        kernel="cosine_embedding_loss",
        family=PAIRED,
        per_row=True,
        params=(
            Param("margin", "setting", 0.0, "Dissimilar pairs (``target == -1``) are penalised above this cosine."),
            _reduction(ROW_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="CosineEmbeddingLoss",
        summary="Cosine embedding loss on pairs of rows; torch: ``F.cosine_embedding_loss`` / "
        "``nn.CosineEmbeddingLoss``.",
        details="Per row, with ``cos = a.b / sqrt((|a|**2 + 1e-12) (|b|**2 + 1e-12))`` (torch's epsilon):\n"
        "``1 - cos`` where ``target == 1``, ``max(0, cos - margin)`` where ``target == -1``, 0 for any other\n"
        "label. Differentiable in ``input1`` and ``input2``: with ``return_grad=True`` the result is\n"
        "``(loss, (grad_input1, grad_input2))``; the clamp passes the gradient where ``cos - margin >= 0``.\n"
        "Row sums in float64.",
        example=""">>> import numpy as np, fastloss as fl
>>> a, b = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])
>>> fl.cosine_embedding_loss(a, b, np.array([1.0, -1.0]), margin=0.5, reduction="none").round(6)
array([1. , 0.5])""",
        input_doc="The first vectors: a float32, float64, float16 or bfloat16 array of shape ``(D,)`` or ``(N, D)`` "
        "(a list of Python numbers becomes float64).",
        target_doc="The second vectors, of ``input1``'s shape and dtype.",
        more_array_docs=(
            "One label per row, ``1`` (similar) or ``-1`` (dissimilar), of shape ``()`` or ``(N,)`` and "
            "``input1``'s dtype.",
        ),
        array_loss_doc="the per-row loss, of shape ``()`` or ``(N,)``",
        arrays=("input1", "input2", "target"),
        grads=("input1", "input2"),
    ),
    LossSpec(
        name="triplet_margin_loss",
        kernel="triplet_margin_loss",
        family=TRIPLET,
        params=(
            Param("margin", "setting", 1.0, "How much farther the negative should be than the positive."),
            Param("p", "setting", 2.0, "The norm of the distances; positive.", rules=("> 0",)),
            Param("eps", "setting", 1e-6, "Added to every difference before the norm (torch's pairwise_distance)."),
            Param("swap", "flag", False, "Use ``min(d(a, n), d(p, n))`` as the negative distance (the distance swap)."),
            _reduction(ROW_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="TripletMarginLoss",
        summary="Triplet margin loss on (anchor, positive, negative) rows; torch: ``F.triplet_margin_loss`` / "
        "``nn.TripletMarginLoss``.",
        details="Per row: ``max(0, margin + d(a, p) - d(a, n))`` with ``d(x, y) = ||x - y + eps||_p`` (torch's\n"
        "``pairwise_distance``); with ``swap=True`` the negative distance is ``min(d(a, n), d(p, n))``.\n"
        "Differentiable in all three arrays: with ``return_grad=True`` the result is\n"
        "``(loss, (grad_anchor, grad_positive, grad_negative))``; the clamp passes the gradient at 0, and a\n"
        "tie in the swap's minimum splits it in halves, as torch's. Norms are summed in float64.",
        example=""">>> import numpy as np, fastloss as fl
>>> a, p, n = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[0.0, 1.0]])
>>> round(float(fl.triplet_margin_loss(a, p, n, eps=0.0)), 6)
5.0""",
        input_doc="Anchors: a float32, float64, float16 or bfloat16 array of shape ``(D,)`` or ``(N, D)`` (a list of "
        "Python numbers becomes float64).",
        target_doc="Positives, of ``anchor``'s shape and dtype.",
        more_array_docs=("Negatives, of ``anchor``'s shape and dtype.",),
        array_loss_doc="the per-row loss, of shape ``()`` or ``(N,)``",
        arrays=("anchor", "positive", "negative"),
        grads=("anchor", "positive", "negative"),
    ),
    LossSpec(
        name="binary_cross_entropy",
        kernel="binary_cross_entropy",
        family=ELEMENTWISE,
        params=(
            weight("Per-element weights, broadcast to ``input`` by NumPy rules, of ``input``'s dtype."),
            _reduction(ELEMENTWISE_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="BCELoss",
        summary="Binary cross-entropy on probabilities; torch: ``F.binary_cross_entropy`` / ``nn.BCELoss``.",
        details="``loss_i = -w_i [y_i log(x_i) + (1 - y_i) log(1 - x_i)]`` with each log clamped at -100 (as\n"
        "torch), ``weight`` broadcast to ``input`` by NumPy rules. The gradient is torch's\n"
        "``w (x - y) / max(x (1 - x), 1e-12)``. Input or target outside [0, 1] raises ValueError\n"
        "(torch: RuntimeError); NaN propagates to the result (torch raises).",
        example=""">>> import numpy as np, fastloss as fl
>>> round(float(fl.binary_cross_entropy(np.array([0.5, 0.5]), np.array([0.0, 1.0]))), 6)
0.693147""",
        input_doc="Probabilities in [0, 1]: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar of Python "
        "numbers becomes float64).",
        target_doc="Targets in [0, 1] (soft or hard labels) of ``input``'s shape and dtype.",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="binary_cross_entropy_with_logits",
        kernel="binary_cross_entropy_with_logits",
        family=ELEMENTWISE,
        params=(
            weight("Per-element weights, broadcast to ``input`` by NumPy rules, of ``input``'s dtype."),
            _reduction(ELEMENTWISE_REDUCTION_DOC),
            Param(
                "pos_weight",
                "operand",
                None,
                "Weight ``p`` of the positive term, broadcast to ``input`` by NumPy rules (typically one per "
                "class: shape ``(C,)`` for input ``(N, C)``), of ``input``'s dtype.",
            ),
        ),
        reductions=("none", "mean", "sum"),
        cls="BCEWithLogitsLoss",
        summary="Binary cross-entropy on logits; torch: ``F.binary_cross_entropy_with_logits`` /\n"
        "``nn.BCEWithLogitsLoss``.",
        details="``loss_i = w_i [(1 - y) x + (1 + (p - 1) y) (log1p(exp(-|x|)) + max(-x, 0))]``, stable for any\n"
        "logit (+-1e4 gives a finite loss and gradient). ``weight`` and ``pos_weight`` (``p``)\n"
        "broadcast to ``input`` by NumPy rules, e.g. ``pos_weight`` of shape ``(C,)`` for input\n"
        "``(N, C)``. The gradient is ``w [(1 - y + p y) sigmoid(x) - p y]``.",
        example=""">>> import numpy as np, fastloss as fl
>>> round(float(fl.binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0]))), 6)
0.693147""",
        input_doc="Logits: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar of Python numbers becomes "
        "float64).",
        target_doc="Targets in [0, 1] (soft or hard labels) of ``input``'s shape and dtype.",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="sigmoid_focal_loss",
        kernel="sigmoid_focal_loss",
        family=ELEMENTWISE,
        params=(
            Param(
                "alpha",
                "setting",
                0.25,
                "Weight of the positive class, ``alpha_t = alpha t + (1 - alpha)(1 - t)``; negative: no weighting.",
            ),
            Param("gamma", "setting", 2.0, "Focusing exponent of ``(1 - p_t)``; non-negative.", rules=(">= 0",)),
            Param("reduction", "reduction", "none", ELEMENTWISE_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="SigmoidFocalLoss",
        summary="Sigmoid focal loss of the detection codebases; torchvision: ``ops.sigmoid_focal_loss``.",
        details="With ``p = sigmoid(input)``, ``p_t = p t + (1 - p)(1 - t)``:\n"
        "``loss = alpha_t * BCE_with_logits(input, target) * (1 - p_t)**gamma``, ``alpha_t`` as above.\n"
        'The default reduction is ``"none"``, as torchvision\'s. ``1 - p_t`` is computed as\n'
        "``t sigmoid(-x) + (1 - t) sigmoid(x)``, so the loss and gradient are accurate for any logit\n"
        "(torchvision's ``1 - p_t`` is 0 beyond ``|x| = 17`` in float32). ``gamma < 0`` raises ValueError.\n"
        "torchvision names the arrays ``inputs`` and ``targets``; here they are ``input`` and ``target``, as\n"
        "for every loss.",
        example=""">>> import numpy as np, fastloss as fl
>>> fl.sigmoid_focal_loss(np.array([0.0, 2.0]), np.array([1.0, 0.0])).round(6)
array([0.043322, 1.237559])""",
        input_doc="Logits: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar of Python "
        "numbers becomes float64).",
        target_doc="Targets in [0, 1] (binary labels, or soft) of ``input``'s shape and dtype.",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="soft_margin_loss",
        kernel="soft_margin_loss",
        family=ELEMENTWISE,
        params=(_reduction(ELEMENTWISE_REDUCTION_DOC),),
        reductions=("none", "mean", "sum"),
        cls="SoftMarginLoss",
        summary="Logistic loss on a score and a +-1 label, ``log(1 + exp(-target input))``; torch: "
        "``F.soft_margin_loss`` / ``nn.SoftMarginLoss``.",
        details="Computed as ``softplus(-target input)``, so it is finite for any score (torch's\n"
        "``log1p(exp(.))`` overflows to ``inf`` beyond 88 in float32, and its gradient to ``nan``).\n"
        "The gradient is ``-target sigmoid(-target input)``. Targets are not checked (torch\n"
        "documents 1 or -1).",
        example=""">>> import numpy as np, fastloss as fl
>>> round(float(fl.soft_margin_loss(np.array([0.0]), np.array([1.0]))), 6)
0.693147""",
        input_doc="Scores: a float32, float64, float16 or bfloat16 array of any shape (a list or scalar of Python "
        "numbers becomes float64).",
        target_doc="Labels, 1 or -1, of ``input``'s shape and dtype.",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="hinge_embedding_loss",
        kernel="hinge_embedding_loss",
        family=ELEMENTWISE,
        params=(
            Param("margin", "setting", 1.0, "The margin of the ``-1`` term, ``max(0, margin - input)``."),
            _reduction(ELEMENTWISE_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="HingeEmbeddingLoss",
        summary="Hinge embedding loss on a distance and a +-1 label; torch: ``F.hinge_embedding_loss`` /\n"
        "``nn.HingeEmbeddingLoss``.",
        details="As torch writes it: ``loss = input`` where ``target != -1``, plus ``max(0, margin - input)``\n"
        "where ``target != 1`` (a label other than +-1 gets both terms). The clamp passes the\n"
        "gradient where ``margin - input >= 0`` (torch's ``clamp_min``). A NaN input has a NaN\n"
        "gradient (torch's is finite there).",
        example=""">>> import numpy as np, fastloss as fl
>>> fl.hinge_embedding_loss(np.array([0.3, 0.3]), np.array([1.0, -1.0]), reduction="none")
array([0.3, 0.7])""",
        input_doc="Distances (or scores): a float32, float64, float16 or bfloat16 array of any shape (a list or "
        "scalar of Python numbers becomes float64).",
        target_doc="Labels, 1 or -1, of ``input``'s shape and dtype.",
        array_loss_doc="the per-element loss, of ``input``'s shape",
    ),
    LossSpec(
        name="multilabel_soft_margin_loss",
        kernel="multilabel_soft_margin_loss",
        family=ROWS,
        params=(
            weight("One weight per class, shape ``(C,)``, of ``input``'s dtype."),
            _reduction(ROW_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="MultiLabelSoftMarginLoss",
        summary="Multi-label one-versus-all logistic loss, averaged over the classes; torch: "
        "``F.multilabel_soft_margin_loss`` / ``nn.MultiLabelSoftMarginLoss``.",
        details="Per row: ``-mean_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c))``, computed as\n"
        "``y max(-x, 0) + (1 - y) max(x, 0) + log1p(exp(-|x|))`` (accurate for any logit). The gradient is\n"
        "``w_c (sigmoid(x_c) - y_c) / C``. ``input`` of any rank >= 1, the classes on the last axis.",
        example=""">>> import numpy as np, fastloss as fl
>>> round(float(fl.multilabel_soft_margin_loss(np.zeros((1, 2)), np.array([[1.0, 0.0]]))), 6)
0.693147""",
        input_doc="Logits, the classes on the last axis: a float32, float64, float16 or bfloat16 array of shape "
        "``(C,)``, ``(N, C)`` or ``(N, ..., C)`` (a list of Python numbers becomes float64).",
        target_doc="Targets in [0, 1] (one 0/1 label per class, or soft labels) of ``input``'s shape and dtype.",
        array_loss_doc="the per-row loss, of ``input``'s shape without its last axis",
    ),
    LossSpec(
        name="multi_margin_loss",
        kernel="multi_margin_loss",
        family=ROWS,
        params=(
            Param("p", "setting", 1, "The power of the hinge: 1 or 2.", rules=("in (1, 2)",)),
            Param("margin", "setting", 1.0, "The margin by which the target class should score above the others."),
            weight("One weight per class, shape ``(C,)``, of ``input``'s dtype; a row is weighted by its class's."),
            _reduction(ROW_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        cls="MultiMarginLoss",
        summary="Multi-class hinge loss; torch: ``F.multi_margin_loss`` / ``nn.MultiMarginLoss``.",
        details="Per row with class ``y``: ``sum_{c != y} w_y max(0, margin - x_y + x_c)**p / C``. The gradient\n"
        "passes where ``margin - x_y + x_c > 0`` (torch's strict test): ``w_y p z**(p-1) / C`` at ``c``, minus\n"
        "their sum at ``y``. A class outside ``[0, C)`` raises IndexError (value and index named).",
        example=""">>> import numpy as np, fastloss as fl
>>> round(float(fl.multi_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3]))), 6)
0.325""",
        input_doc="Scores, the classes on the last axis: a float32, float64, float16 or bfloat16 array of shape "
        "``(C,)`` or ``(N, C)`` (a list of Python numbers becomes float64).",
        target_doc="The class of each row: integers (any integer dtype) of shape ``()`` or ``(N,)``.",
        array_loss_doc="the per-row loss, of shape ``()`` or ``(N,)``",
        target_check="_numeric_array({fn!r}, {name!r}, {t})",
    ),
    LossSpec(
        name="multilabel_margin_loss",
        kernel="multilabel_margin_loss",
        family=ROWS,
        params=(_reduction(ROW_REDUCTION_DOC),),
        reductions=("none", "mean", "sum"),
        cls="MultiLabelMarginLoss",
        summary="Multi-label hinge loss over target classes; torch: ``F.multilabel_margin_loss`` / "
        "``nn.MultiLabelMarginLoss``.",
        details="A row's targets are its target row's leading class indices, up to the first ``-1``. Per row:\n"
        "``sum_j sum_{c not a target} max(0, 1 - x_j + x_c) / C`` over its targets ``j`` (a repeated index\n"
        "counts again, as in torch). The gradient passes where ``1 - x_j + x_c > 0``. A target value\n"
        "outside ``[-1, C)`` raises IndexError (value and index named), also after the first ``-1``.",
        example=""">>> import numpy as np, fastloss as fl
>>> round(float(fl.multilabel_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 0, -1, 1]]))), 6)
0.85""",
        input_doc="Scores, the classes on the last axis: a float32, float64, float16 or bfloat16 array of shape "
        "``(C,)`` or ``(N, C)`` (a list of Python numbers becomes float64).",
        target_doc="Class indices of ``input``'s shape (any integer dtype): each row's targets, then ``-1``.",
        array_loss_doc="the per-row loss, of shape ``()`` or ``(N,)``",
        target_check="_numeric_array({fn!r}, {name!r}, {t})",
    ),
    LossSpec(
        name="cross_entropy",
        kernel="cross_entropy",
        family=CLASS_AXIS,
        params=(
            weight("One weight per class, shape ``(C,)``, of ``input``'s dtype."),
            IGNORE_INDEX,
            _reduction(CLASS_REDUCTION_DOC),
            LABEL_SMOOTHING,
            LSE_SQUARE_SCALE,
        ),
        reductions=("none", "mean", "sum"),
        kernel_constants={"log_probs": "False"},
        z_loss=True,
        cls="CrossEntropyLoss",
        summary="Softmax cross-entropy on logits; torch: ``F.cross_entropy`` / ``nn.CrossEntropyLoss``.",
        details="``input`` has shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` (class axis 1, as torch).\n"
        "``target`` holds class indices (any integer dtype) of shape ``()``, ``(N,)`` or ``(N, d1, ...)``,\n"
        "or class probabilities of ``input``'s shape and dtype.\n\n"
        "With class indices, ``loss_i = -w[t_i] log softmax(x_i)[t_i]``; rows whose target is\n"
        '``ignore_index`` count 0 and get a zero gradient, and ``"mean"`` divides by the sum of\n'
        "``weight[t_i]`` over the other rows (``nan`` when every target is ignored). With\n"
        'probabilities, ``loss_i = -sum_c w_c y_ic log softmax(x_i)_c`` and ``"mean"`` divides by the\n'
        "number of rows ``N d1 ...``. ``label_smoothing`` ``eps`` mixes the target with the uniform\n"
        "distribution exactly as torch does (``(1 - eps)`` on the target, ``eps / C`` on every class,\n"
        "weighted, normalised by the same denominator).",
        example=""">>> import numpy as np, fastloss as fl
>>> round(float(fl.cross_entropy(np.array([[0.0, 0.0]]), np.array([1]))), 6)
0.693147""",
        input_doc="Logits (float32, float64, float16 or bfloat16) of shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` (class axis 1).",
        target_doc="Class indices of any integer dtype, shape ``()``, ``(N,)`` or ``(N, d1, ...)``; or class "
        "probabilities of ``input``'s shape and dtype.",
        array_loss_doc="the per-row loss, of the class-index target's shape (``()``, ``(N,)`` or "
        "``(N, d1, ...)``), 0 where ignored",
    ),
    LossSpec(
        name="nll_loss",
        kernel="cross_entropy",
        family=CLASS_AXIS,
        params=(
            weight("One weight per class, shape ``(C,)``, of ``input``'s dtype."),
            IGNORE_INDEX,
            _reduction(CLASS_REDUCTION_DOC),
        ),
        reductions=("none", "mean", "sum"),
        kernel_constants={"label_smoothing": "0.0", "log_probs": "True"},
        cls="NLLLoss",
        summary="Negative log-likelihood on log-probabilities; torch: ``F.nll_loss`` / ``nn.NLLLoss``.",
        details='``loss_i = -w[t_i] input[i, t_i]``, shapes, ``weight``, ``ignore_index`` and ``"mean"`` as in\n'
        ":func:`cross_entropy` with class indices.",
        example=""">>> import numpy as np, fastloss as fl
>>> float(fl.nll_loss(np.log(np.array([[0.25, 0.75]])), np.array([1])).round(6))
0.287682""",
        input_doc="Log-probabilities (float32, float64, float16 or bfloat16) of shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)`` "
        "(class axis 1).",
        target_doc="Class indices of any integer dtype, shape ``()``, ``(N,)`` or ``(N, d1, ...)``.",
        array_loss_doc="the per-row loss, of the target's shape, 0 where ignored",
    ),
    LossSpec(
        name="sequence_cross_entropy",
        kernel="sequence_cross_entropy",
        family=SEQUENCE,
        arrays=("logits", "targets"),
        keyword_only=True,
        params=(
            weight("One weight per vocabulary entry, shape ``(V,)``, of ``logits``' dtype."),
            IGNORE_INDEX,
            LABEL_SMOOTHING,
            _reduction(
                '``"mean"``: over the counted tokens (weighted: divided by the sum of their weights); '
                '``"batchmean"``: the sum divided by ``B``; ``"sum"``; ``"none"``: per token, ``(B, T)``, '
                '0 where ignored; ``"sequence"``: per-sequence sums, ``(B,)``.'
            ),
            Param(
                "lengths",
                "lengths",
                None,
                "Integer array ``(B,)``: the steps ``t >= lengths[b]`` are masked exactly like "
                "``ignore_index`` (their targets are never read).",
            ),
            LSE_SQUARE_SCALE,
        ),
        reductions=("none", "mean", "sum", "batchmean", "sequence"),
        z_loss=True,
        # torch's nn.CrossEntropyLoss order, as the class has always had
        init_order=("weight", "ignore_index", "reduction", "label_smoothing", "lse_square_scale"),
        cls="SequenceCrossEntropyLoss",
        summary="Per-time-step cross-entropy of a decoder: ``nn.CrossEntropyLoss`` over every step.",
        details="``logits`` ``(B, T, V)`` channel-last, ``targets`` ``(B, T)`` class indices (any integer dtype);\n"
        "``lengths`` ``(B,)`` masks steps ``t >= lengths[b]`` exactly like ``ignore_index``.\n"
        'Reductions: ``"mean"`` over the counted tokens (weighted: divides by the sum of their\n'
        'weights; = ``nn.CrossEntropyLoss`` on the flattened ``(B T, V)`` batch), ``"batchmean"``\n'
        '(sum / B), ``"sum"``, ``"none"`` (``(B, T)``, 0 where ignored), ``"sequence"`` (``(B,)``\n'
        "per-sequence sums, e.g. to score candidate translations). ``grad_output`` has the loss's\n"
        'shape for ``"none"`` and ``"sequence"``. The vocabulary streams through an online\n'
        "log-sum-exp: no ``(B T, V)`` temporary besides the gradient.",
        example=""">>> import numpy as np, fastloss as fl
>>> logits = np.zeros((2, 3, 5))
>>> fl.sequence_cross_entropy(logits, np.ones((2, 3), np.int64), reduction="sequence").round(4)
array([4.8283, 4.8283])""",
        input_doc="Logits ``(B, T, V)`` (float32, float64, float16 or bfloat16), vocabulary last.",
        target_doc="Class indices ``(B, T)`` of any integer dtype.",
        array_loss_doc='``(B, T)`` per-token losses (0 where ignored) for ``"none"``, ``(B,)`` per-sequence sums '
        'for ``"sequence"``',
    ),
    LossSpec(
        name="ctc_loss",
        kernel="ctc_loss",
        family=CTC,
        arrays=("log_probs", "targets", "input_lengths", "target_lengths"),
        params=(
            Param("blank", "index", 0, "The blank class, in ``[0, C)``; no target label may equal it."),
            _reduction(
                '``"mean"``: each sequence\'s loss divided by ``max(target_length, 1)``, averaged over the batch '
                '(``nan`` for ``N = 0``); ``"sum"``: the sum over the batch; ``"none"``: the per-sequence loss, '
                "``(N,)`` (``()`` unbatched)."
            ),
            Param(
                "zero_infinity",
                "flag",
                False,
                "Replace an infinite loss (no alignment is possible) and its gradient by 0.",
            ),
        ),
        reductions=("none", "mean", "sum"),
        cls="CTCLoss",
        summary="Connectionist temporal classification loss; torch: ``F.ctc_loss`` / ``nn.CTCLoss``.",
        details="The negative log-likelihood of each target sequence under all alignments of its labels (with\n"
        "blanks between repeated labels) to the first ``input_lengths[n]`` steps of ``log_probs``, by the\n"
        "forward-backward algorithm in log space, one sequence per thread.\n\n"
        "**The gradient is torch's**: ``exp(log_probs) - occupancy`` (times the upstream gradient) for\n"
        "``t < input_length``, 0 beyond. That is the gradient with respect to the *logits* ``z`` when\n"
        "``log_probs = log_softmax(z)``, not the derivative with respect to ``log_probs`` itself (which is\n"
        "``-occupancy``): feed it straight to the layer before the log-softmax. As torch: an impossible\n"
        "alignment gives an ``inf`` loss and NaN gradient rows (0 for both with ``zero_infinity=True``), an\n"
        "input length of 0 gives a loss of 0 for an empty target (else ``inf``), and the gradient is NaN\n"
        "where ``log_probs`` is ``-inf``. Unlike torch, a target label equal to ``blank`` raises ValueError, one\n"
        "outside ``[0, C)`` IndexError (value and index named), and ``T = 0`` or ``N = 0`` is allowed.",
        example=""">>> import numpy as np, fastloss as fl
>>> log_probs = np.log(np.full((3, 1, 2), 0.5))  # T=3 steps, N=1 sequence, C=2 classes
>>> loss = fl.ctc_loss(log_probs, np.array([[1]]), [3], [1], reduction="sum")
>>> round(float(loss), 6)  # -log(6 / 8): 6 of the 8 paths collapse to the target "1"
0.287682""",
        input_doc="Log-probabilities (typically ``log_softmax`` over the classes) of shape ``(T, N, C)``, or "
        "``(T, C)`` for one unbatched sequence: float32, float64, float16 or bfloat16.",
        target_doc="Class indices of any integer dtype: padded ``(N, S)`` (row ``n``'s first "
        "``target_lengths[n]`` entries are read, the rest is ignored) or all targets concatenated, "
        "``(sum(target_lengths),)``; unbatched ``(S,)`` holding exactly ``target_length`` labels (or ``(1, S)``).",
        more_array_docs=(
            "The number of time steps of each sequence, ``(N,)`` integers in ``[0, T]`` (a list, a tuple or an "
            "array of any integer dtype); unbatched an int (or ``(1,)``).",
            "The number of labels of each target, ``(N,)`` integers, at most ``S`` for padded targets; "
            "unbatched an int (or ``(1,)``).",
        ),
        array_loss_doc="the per-sequence loss, of shape ``(N,)`` (``()`` unbatched)",
    ),
)

SPEC_BY_NAME: Dict[str, LossSpec] = {s.name: s for s in SPECS}


def function_names(specs: Sequence[LossSpec] = SPECS) -> List[str]:
    """``functional.__all__``: every loss and its aliases, in table order."""
    return [n for s in specs for n in (s.name, *s.aliases)]


def class_names(specs: Sequence[LossSpec] = SPECS) -> List[str]:
    """``modules.__all__``."""
    return [s.cls for s in specs]


def per_loss(make: Callable[[LossSpec], Any], specs: Sequence[LossSpec] = SPECS) -> Dict[str, Any]:
    """``make(row)`` for every row, by the row's name and by each of its aliases (the same
    object): the namespaces of the generated modules and adapters."""
    made: Dict[str, Any] = {}
    for spec in specs:
        made[spec.name] = made_one = make(spec)
        for alias in spec.aliases:
            made[alias] = made_one
    return made


def loss_shape(spec: LossSpec, shapes: Sequence[Tuple[int, ...]], reduction: str) -> Tuple[int, ...]:
    """The shape of ``spec``'s loss for ``reduction``, from the shapes of its arrays (in order): for
    the adapters, which must know a result's shape before the kernel runs (torch's fake tensors,
    JAX's callbacks)."""
    if reduction not in ("none", "sequence"):
        return ()
    x = tuple(shapes[0])
    if spec.family is SEQUENCE:
        return x[:1] if reduction == "sequence" else x[:-1]
    if spec.family is CTC:
        return x[1:2] if len(x) == 3 else ()
    if spec.family is CLASS_AXIS:
        return x[:1] + x[2:] if len(x) >= 2 else ()
    if spec.family in (ROWS, TRIPLET) or spec.per_row:
        return x[:-1]
    return x


# ------------------------------------------------------------------- rendering: functions
def _default(p: Param) -> str:
    return repr(p.default)


def signature_source(spec: LossSpec) -> str:
    """The function's parameters, e.g. ``input, target, reduction='mean', *, return_grad=False, ...``."""
    own = [f"{p.name}={_default(p)}" for p in spec.params]
    common = ["return_grad=False", "grad_output=1.0", "out=None", "grad_out=None", "n_threads=None"]
    if spec.z_loss:
        common.insert(0, "return_z_loss=False")
    if spec.keyword_only:
        return ", ".join([*spec.arrays, "*", *own, *common])
    return ", ".join([*spec.arrays, *own, "*", *common])


def _check_source(spec: LossSpec, p: Param) -> List[str]:
    """The lines that check (and normalise) one loss-specific scalar or array parameter. The
    common argument types (an ndarray, a float, an int in range) are tested inline and pass
    without a call: a tiny loss's whole kernel call costs under 2 us, a Python call ~0.1 us."""
    fn, n = spec.name, p.name
    if p.kind == "operand":
        return [
            f"if {n} is not None and type({n}) is not _ndarray:",
            f"    {n} = _as_operand({fn!r}, {n!r}, {n}, {spec.arrays[0]}.dtype)",
        ]
    if p.kind == "index":
        return [
            f"if type({n}) is not int or not -(1 << 63) <= {n} < (1 << 63):",
            f"    {n} = _index_argument({fn!r}, {n!r}, {n})",
        ]
    if p.kind in ("real", "setting"):
        lines = [f"if type({n}) is not float:", f"    {n} = _real_argument({fn!r}, {n!r}, {n})"]
        for rule in p.rules:  # NaN fails every rule
            lines += [f"if not {n} {rule}:", f'    raise ValueError(f"{fn}: {n} must be {rule}; got {{{n}!r}}")']
        return lines
    if p.kind == "flag":
        return [f"if type({n}) is not bool:", f"    {n} = _flag_argument({fn!r}, {n!r}, {n})"]
    if p.kind == "lengths":
        return [f"if {n} is not None:", f"    {n} = _as_lengths({fn!r}, {n})"]
    raise AssertionError(p.kind)


def _kernel_arguments(spec: LossSpec) -> List[str]:
    """The kernel's positional arguments before the common tail, from the family's layout.
    Every parameter of the row must reach the kernel, and every slot must be filled."""
    slots = dict(zip((k for k, _ in spec.family.kernel_params[: len(spec.arrays)]), spec.arrays))
    own = {p.name for p in spec.params if p.kind not in ("reduction", "setting", "flag")}
    args = []
    for slot, _ in spec.family.kernel_params:
        if slot in slots:
            args.append(slots[slot])
        elif slot == "reduction":
            args.append("code")
        elif slot == "settings":
            args.append("(" + "".join(f"{p.name}, " for p in spec.settings).rstrip(" ") + ")")
        elif slot in spec.kernel_constants:
            args.append(spec.kernel_constants[slot])
        elif slot == "return_z_loss" and spec.z_loss:
            args.append(slot)
        elif slot in own:
            args.append(slot)
            own.discard(slot)
        elif slot in spec.family.optional_slots:
            args.append(spec.family.optional_slots[slot])
        else:
            raise ValueError(f"{spec.name}: the {spec.family.name} kernel's {slot!r} has no parameter or constant")
    if own or (spec.settings and "settings" not in dict(spec.family.kernel_params)):
        lost = sorted(own) + [p.name for p in spec.settings]
        raise ValueError(f"{spec.name}: the {spec.family.name} kernel takes no {lost}")
    return args


def render_function(spec: LossSpec) -> str:
    """The source of ``spec``'s public function. It is executed in a namespace holding
    ``_kernel`` (the ``_core`` function), ``_reductions`` (the row's allowed reductions and
    their ``_core`` codes) and functional.py's checking helpers. Checks run in this order
    (error messages and their precedence are part of the contract): lengths, reduction,
    n_threads, the input array, scalar parameters, the target, array parameters, and, with
    return_grad, grad_output; the kernel checks everything else."""
    fn = spec.name
    x = spec.arrays[0]
    scalars = [p for p in spec.params if p.kind in ("index", "real", "setting", "flag")]
    operands = [p for p in spec.params if p.kind == "operand"]
    body: List[str] = []
    for p in spec.params:
        if p.kind == "lengths":
            body += _check_source(spec, p)
    body += [
        "try:",
        "    code = _reductions[reduction]",
        "except (KeyError, TypeError):  # not a str, or not one of this loss's reductions",
        f"    code = _reduction_code({fn!r}, reduction, _reductions)",
        "if n_threads is None:",
        "    n_threads = 0  # the default count",
        "elif type(n_threads) is not int or not 1 <= n_threads <= _THREADS_CAP:",
        f"    n_threads = _thread_count({fn!r}, n_threads)",
        f"if type({x}) is not _ndarray:",
        f"    {x} = _as_input({fn!r}, {x})",
    ]
    for p in scalars:
        body += _check_source(spec, p)
    for t in spec.arrays[1:]:
        check = (spec.target_check or spec.family.target_check).format(fn=fn, x=x, t=t, name=t)
        body += [f"if type({t}) is not _ndarray:", f"    {t} = {check}"]
    for p in operands:
        body += _check_source(spec, p)
    args = ", ".join(_kernel_arguments(spec))
    if spec.z_loss:  # (loss, z_loss) or (loss, z_loss, grad): the kernel's result, less the None grad
        body += [
            "if type(return_z_loss) is not bool:",
            f"    return_z_loss = _flag_argument({fn!r}, 'return_z_loss', return_z_loss)",
            "if return_z_loss and not return_grad:",
            f"    return _kernel({args}, False, 1.0, out, grad_out, n_threads)[:2]",
        ]
    body += [
        "if not return_grad:",
        f"    return _kernel({args}, False, 1.0, out, grad_out, n_threads)[0]",
        "if type(grad_output) is not float:",
        f"    grad_output = _as_grad_output({fn!r}, grad_output, {x}.dtype)",
        f"return _kernel({args}, True, grad_output, out, grad_out, n_threads)",
    ]
    return f"def {fn}({signature_source(spec)}):\n" + "".join(f"    {line}\n" for line in body)


# --------------------------------------------------------------------- rendering: classes
def init_signature_source(spec: LossSpec) -> str:
    own = [f"{p.name}={_default(p)}" for p in spec.init_params]
    return ", ".join(["self", *own, "n_threads=None"])


def call_signature_source(spec: LossSpec) -> str:
    per_call = [f"{p.name}={_default(p)}" for p in spec.call_params]
    if spec.z_loss:
        per_call.append("return_z_loss=False")
    return ", ".join(
        [
            "self",
            *spec.arrays,
            "return_grad=False",
            "*",
            *per_call,
            "grad_output=1.0",
            "out=None",
            "grad_out=None",
            "n_threads=None",
            "**unexpected",
        ]
    )


def render_class(spec: LossSpec) -> str:
    """The source of ``spec``'s nn-style class, executed in modules.py's namespace with
    ``_function`` (the public function) and ``_reductions`` (allowed reductions) bound. It
    calls the function with the settings stored at construction; a setting passed at call
    time lands in ``unexpected`` and becomes a clear TypeError (``_Loss._reject``)."""
    settings = [p.name for p in spec.init_params] + ["n_threads"]
    defaults = ", ".join(f"({p.name!r}, {_default(p)})" for p in spec.init_params) + ", ('n_threads', None)"
    positional = [*spec.arrays] + [
        f"self.{p.name}" for p in spec.params if p.kind != "lengths" and not spec.keyword_only
    ]
    keywords = [f"{p.name}=self.{p.name}" for p in spec.params if spec.keyword_only and p.kind != "lengths"]
    keywords += [f"{p.name}={p.name}" for p in spec.call_params]
    keywords += ["return_z_loss=return_z_loss"] if spec.z_loss else []
    keywords += [
        "return_grad=return_grad",
        "grad_output=grad_output",
        "out=out",
        "grad_out=grad_out",
        "n_threads=self.n_threads if n_threads is None else n_threads",
    ]
    lines = [
        f"class {spec.cls}(_Loss):",
        f"    _settings = ({defaults},)",
        f"    _call_options = {tuple(p.name for p in spec.call_params) + _z_option(spec) + COMMON_OPTIONS!r}",
        "",
        f"    def __init__({init_signature_source(spec)}):",
        f"        _check_reduction({spec.cls!r}, reduction, _reductions)  # fails at construction, like torch",
        *(f"        self.{n} = {n}" for n in settings),
        "",
        f"    def __call__({call_signature_source(spec)}):",
        "        if unexpected:",
        "            self._reject(unexpected)",
        f"        return _function({', '.join(positional + keywords)})",
        "",
        "    forward = __call__  # torch users call loss_fn.forward(input, target)",
    ]
    return "\n".join(lines) + "\n"


def _z_option(spec: LossSpec) -> Tuple[str, ...]:
    return ("return_z_loss",) if spec.z_loss else ()


# ------------------------------------------------------------------------ docstrings
def _param_doc(name: str, type_doc: str, text: str, width: int = 96) -> str:
    body = textwrap.fill(text, width, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False)
    return f"{name} : {type_doc}\n{body}\n"


def _type_doc(spec: LossSpec, p: Param) -> str:
    if p.kind == "reduction":
        return "{" + ", ".join(f'"{r}"' for r in _ordered(spec.reductions)) + f'}}, default "{p.default}"'
    if p.kind in ("operand", "lengths"):
        return "array_like, optional"
    if p.kind == "index":
        return f"int, default {p.default!r}"
    if p.kind == "flag":
        return f"bool, default {p.default!r}"
    return f"float, default {p.default!r}"


def _ordered(reductions: Sequence[str]) -> List[str]:
    """Reductions as users read them: the default first."""
    return sorted(reductions, key=lambda r: ("mean", "sum", "none", "batchmean", "sequence").index(r))


def _grads_tuple(spec: LossSpec) -> str:
    return "(" + ", ".join(f"grad_{g}" for g in spec.grad_arrays) + ")"


def _common_docs(spec: LossSpec, names: Sequence[str]) -> str:
    docs = dict(COMMON_DOCS, **SEVERAL_GRADS_DOCS) if len(spec.grad_arrays) > 1 else COMMON_DOCS
    grads = _and([f"``{g}``" for g in spec.grad_arrays])
    return "".join(
        _param_doc(n, docs[n][0], docs[n][1].format(array=spec.arrays[0], grads=grads, tuple=_grads_tuple(spec)))
        for n in names
    )


def _arrays_doc(spec: LossSpec) -> str:
    return "".join(_param_doc(a, "array_like", doc) for a, doc in zip(spec.arrays, spec.array_docs))


def returns_doc(spec: LossSpec, what: str = "") -> str:
    x = spec.arrays[0]
    scalar = [r for r in _ordered(spec.reductions) if r in SCALAR_REDUCTIONS]
    arrays = [r for r in _ordered(spec.reductions) if r not in SCALAR_REDUCTIONS]
    loss = (
        f"For {_or(scalar)}: a NumPy scalar of ``{x}``'s dtype (``np.float32`` for float32 input), or the "
        f"0-d ``out`` array when ``out`` is given. For {_or(arrays)}: {spec.array_loss_doc} (``out`` "
        f"when given).{what}"
    )
    if len(spec.grad_arrays) > 1:
        names = _and([f"``{g}``" for g in spec.grad_arrays])
        grad_doc = _param_doc(
            "grads",
            "tuple of ndarray",
            f"Only with ``return_grad=True``, which returns the tuple ``(loss, {_grads_tuple(spec)})``: "
            f"``grad_output`` times the gradient of ``loss`` with respect to {names}, each of its array's shape "
            f"and dtype (the buffers of ``grad_out`` when given).",
        )
    else:
        grad_doc = _param_doc(
            "grad",
            "ndarray",
            f"Only with ``return_grad=True``, which returns the tuple ``(loss, grad)``: ``grad_output`` times "
            f"the gradient of ``loss`` with respect to ``{x}``, of ``{x}``'s shape and dtype (``grad_out`` when "
            f"given).",
        )
    return "Returns\n-------\n" + _param_doc("loss", "numpy.floating or ndarray", loss) + grad_doc


def _and(items: Sequence[str]) -> str:
    """ "a and b", "a, b and c"."""
    return " and ".join(items) if len(items) <= 2 else ", ".join(items[:-1]) + " and " + items[-1]


def _or(names: Sequence[str]) -> str:
    quoted = [f'``"{n}"``' for n in names]
    return " and ".join(quoted) if len(quoted) <= 2 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _z_doc(spec: LossSpec) -> str:
    return _param_doc("return_z_loss", *Z_LOSS_DOC) if spec.z_loss else ""


def function_doc(spec: LossSpec) -> str:
    params = _arrays_doc(spec)
    params += "".join(_param_doc(p.name, _type_doc(spec, p), p.doc) for p in spec.params)
    params += _z_doc(spec)
    params += _common_docs(spec, COMMON_OPTIONS)
    return (
        f"{spec.summary}\n\n{spec.details}\n\nParameters\n----------\n{params}\n{returns_doc(spec)}\n"
        f"Examples\n--------\n{spec.example}\n"
    )


def class_doc(spec: LossSpec) -> str:
    own = "".join(_param_doc(p.name, _type_doc(spec, p), p.doc) for p in spec.init_params)
    n_threads = _param_doc(
        "n_threads",
        "int, optional",
        "The default thread count of every call (``None``: "
        "``max_threads()``); a call's own ``n_threads`` overrides it.",
    )
    arrays = ", ".join(spec.arrays)
    per_call = "".join(f"``{n}``, " for n in [p.name for p in spec.call_params] + list(_z_option(spec)))
    example = (
        f">>> import numpy as np, fastloss as fl\n>>> fl.{spec.cls}()\n{spec.cls}()\n"
        f">>> fl.{spec.cls}(reduction=\"sum\", n_threads=1)\n{spec.cls}(reduction='sum', n_threads=1)"
    )
    return (
        f"``nn``-style loss object of :func:`fastloss.{spec.name}`.\n\n"
        f"Built with torch's keyword arguments, called as ``loss_fn({arrays})`` or ``loss_fn.forward({arrays})``\n"
        f"with the per-call options ({per_call}``return_grad``, ``grad_output``, ``out``, ``grad_out``,\n"
        f"``n_threads``). The settings below are fixed at construction; ``repr`` shows those that are not\n"
        f"the default.\n\n{spec.summary}\n\n"
        f"Parameters\n----------\n{own}{n_threads}\nExamples\n--------\n{example}\n"
    )


def call_doc(spec: LossSpec) -> str:
    params = _arrays_doc(spec)
    params += "".join(_param_doc(p.name, _type_doc(spec, p), p.doc) for p in spec.call_params)
    params += _z_doc(spec)
    params += _common_docs(spec, ("return_grad", "grad_output", "out", "grad_out"))
    params += _param_doc("n_threads", "int, optional", "Threads for this call; ``None``: the object's ``n_threads``.")
    settings = ", ".join(p.name for p in spec.init_params)
    return (
        f"The loss: :func:`fastloss.{spec.name}` with this object's settings ({settings}).\n\n"
        f"Parameters\n----------\n{params}\n"
        f"{returns_doc(spec, ' The reduction is the one given at construction.')}"
    )


# --------------------------------------------------------------------------- the stubs
STUB_HEADER = (
    "# Generated from the spec table by fastloss._spec: do not edit; regenerate with\n"
    "#     python python/fastloss/_spec.py --write-stubs\n"
)

_REDUCTION_ALIASES = {
    ("mean", "sum", "none"): "Reduction",
    ("mean", "sum", "none", "batchmean", "sequence"): "SequenceReduction",
}


def _literal(names: Sequence[str]) -> str:
    return "Literal[" + ", ".join(f'"{n}"' for n in names) + "]"


def _reduction_type(spec: LossSpec) -> str:
    ordered = tuple(_ordered(spec.reductions))
    return _REDUCTION_ALIASES.get(ordered, _literal(ordered))


def _stub_type(p: Param) -> str:
    return {
        "operand": "Optional[ArrayLike]",
        "lengths": "Optional[ArrayLike]",
        "index": "int",
        "real": "float",
        "setting": "float",
        "flag": "bool",
    }[p.kind]


def _def(name: str, params: Sequence[str], result: str, indent: str = "") -> str:
    """One stub ``def``, wrapped to lines of at most ~110 characters."""
    one = f"{indent}def {name}({', '.join(params)}) -> {result}: ..."
    if len(one) <= 110:
        return one + "\n"
    lines = [indent + "   "]
    for p in params:  # packed, never broken inside a parameter
        if len(lines[-1]) + len(p) + 2 > 110:
            lines.append(indent + "   ")
        lines[-1] += f" {p},"
    inner = "\n".join(lines)
    return f"{indent}def {name}(\n{inner}\n{indent}) -> {result}: ...\n"


def _grad_types(spec: LossSpec) -> Tuple[str, str, str]:
    """The stub types of (the gradient result, grad_out, the result of a bool return_grad)."""
    if len(spec.grad_arrays) > 1:
        k = len(spec.grad_arrays)  # Grads2, Grads3: tuples of k gradients
        return f"Grads{k}", f"Optional[GradBuffers{k}]", f"Grads{k}Result"
    return "FloatArray", "Optional[FloatArray]", "LossResult"


def _overload_params(
    spec: LossSpec, reduction: str, return_grad: str, out: str, form: str, z: str = "Literal[False] = ..."
) -> List[str]:
    """The parameters of one overload. ``form``: ``"default"`` (reduction keeps its place and
    default), ``"keyword"`` (reduction required and keyword-only: the parameters before it
    keep their defaults) or ``"positional"`` (reduction required in its place, so the
    parameters before it are required too)."""
    params = [f"{a}: ArrayLike" for a in spec.arrays]
    star = spec.keyword_only
    if star:
        params.append("*")
    before = True
    for p in spec.params:
        if p.kind == "reduction":
            before = False
            if form == "keyword" and not star:
                params.append("*")
                star = True
            params.append(f"reduction: {reduction}" + (" = ..." if form == "default" else ""))
            continue
        required = form == "positional" and before
        params.append(f"{p.name}: {_stub_type(p)}" + ("" if required else " = ..."))
    if not star:
        params.append("*")
    if spec.z_loss:
        params.append(f"return_z_loss: {z}")
    params += [
        f"return_grad: {return_grad}",
        "grad_output: ArrayLike = ...",
        f"out: {out}",
        f"grad_out: {_grad_types(spec)[1]} = ...",
        "n_threads: Optional[int] = ...",
    ]
    return params


def render_function_stub(spec: LossSpec) -> str:
    """The @overloads of ``spec``'s function: the result's type follows the reduction literal
    (a scalar reduction gives ``np.floating``, or the 0-d ``out`` array), ``return_grad``
    (``Literal[True]``: a tuple) and ``out``; a reduction only known as the alias type falls
    back to ``Loss``."""
    scalar = [r for r in _ordered(spec.reductions) if r in SCALAR_REDUCTIONS]
    arrays = [r for r in _ordered(spec.reductions) if r not in SCALAR_REDUCTIONS]
    before = spec.params[: [p.kind for p in spec.params].index("reduction")]
    # a required reduction after defaulted parameters: a keyword-only form, and a positional
    # one where the parameters before it are given too
    array_forms = ["keyword"] if spec.keyword_only or before else ["positional"]
    if before and not spec.keyword_only:
        array_forms.append("positional")
    no, yes = "Literal[False] = ...", "Literal[True]"
    g, _, either = _grad_types(spec)
    cases = [  # (reduction type, return_grad, out, form, result)
        (_literal(scalar), no, "None = ...", "default", "np.floating[Any]"),
        (_literal(scalar), yes, "None = ...", "default", f"Tuple[np.floating[Any], {g}]"),
        (_literal(scalar), no, "FloatArray", "default", "FloatArray"),
        (_literal(scalar), yes, "FloatArray", "default", f"Tuple[FloatArray, {g}]"),
    ]
    for form in array_forms:
        cases += [
            (_literal(arrays), no, "Optional[FloatArray] = ...", form, "FloatArray"),
            (_literal(arrays), yes, "Optional[FloatArray] = ...", form, f"Tuple[FloatArray, {g}]"),
        ]
    general = _reduction_type(spec)
    cases += [
        (general, no, "Optional[FloatArray] = ...", "default", "Loss"),
        (general, yes, "Optional[FloatArray] = ...", "default", f"Tuple[Loss, {g}]"),
        (general, "bool = ...", "Optional[FloatArray] = ...", "default", either),
    ]
    text = "".join(
        "@overload\n" + _def(spec.name, _overload_params(spec, r, g, o, f), result) for r, g, o, f, result in cases
    )
    if spec.z_loss:  # return_z_loss=True: (loss, z_loss), or (loss, z_loss, grad)
        for rg, result in ((no, "Tuple[Loss, Loss]"), (yes, f"Tuple[Loss, Loss, {g}]")):
            params = _overload_params(spec, general, rg, "Optional[FloatArray] = ...", "default", "Literal[True]")
            text += "@overload\n" + _def(spec.name, params, result)
    return text


def render_functional_stub(specs: Sequence[LossSpec] = SPECS) -> str:
    aliases = "".join(f"{alias} = {s.name}\n" for s in specs for alias in s.aliases)
    return (
        STUB_HEADER + '"""The loss functions (fastloss.functional), typed: see fastloss._spec."""\n\n'
        "from typing import Any, List, Literal, Optional, Tuple, Union, overload\n\n"
        "import numpy as np\nfrom numpy.typing import ArrayLike, NDArray\n\n"
        "FloatArray = NDArray[np.floating[Any]]\n"
        "#: A reduced loss (NumPy scalar of the input's dtype, or the 0-d ``out`` array) or an array loss.\n"
        "Loss = Union[np.floating[Any], FloatArray]\n"
        "LossResult = Union[Loss, Tuple[Loss, FloatArray]]\n"
        "#: The gradients of a loss of several differentiable arrays, in argument order, and their buffers.\n"
        "Grads2 = Tuple[FloatArray, FloatArray]\n"
        "GradBuffers2 = Tuple[Optional[FloatArray], Optional[FloatArray]]\n"
        "Grads2Result = Union[Loss, Tuple[Loss, Grads2]]\n"
        "Grads3 = Tuple[FloatArray, FloatArray, FloatArray]\n"
        "GradBuffers3 = Tuple[Optional[FloatArray], Optional[FloatArray], Optional[FloatArray]]\n"
        "Grads3Result = Union[Loss, Tuple[Loss, Grads3]]\n"
        + "".join(f"{alias} = {_literal(names)}\n" for names, alias in _REDUCTION_ALIASES.items())
        + f"\n__all__ = {function_names(specs)!r}\n\n"
        "# used by fastloss.optim\n"
        "def _thread_count(fn: str, n_threads: Optional[int]) -> int: ...\n\n"
        + "\n".join(render_function_stub(s) for s in specs)
        + "\n"
        + aliases
    )


def render_class_stub(spec: LossSpec) -> str:
    g, buffers, either = _grad_types(spec)
    init = (
        ["self"]
        + [
            f"{p.name}: {_reduction_type(spec) if p.kind == 'reduction' else _stub_type(p)} = ..."
            for p in spec.init_params
        ]
        + ["n_threads: Optional[int] = ..."]
    )
    attrs = "".join(
        f"    {p.name}: {_reduction_type(spec) if p.kind == 'reduction' else _stub_type(p)}\n" for p in spec.init_params
    )
    calls = []
    for return_grad, result in (
        ("Literal[False] = ...", "Loss"),
        ("Literal[True]", f"Tuple[Loss, {g}]"),
        ("bool = ...", either),
    ):
        params = ["self", *(f"{a}: ArrayLike" for a in spec.arrays), f"return_grad: {return_grad}", "*"]
        params += [f"{p.name}: {_stub_type(p)} = ..." for p in spec.call_params]
        params += ["return_z_loss: Literal[False] = ..."] if spec.z_loss else []
        params += [
            "grad_output: ArrayLike = ...",
            "out: Optional[FloatArray] = ...",
            f"grad_out: {buffers} = ...",
            "n_threads: Optional[int] = ...",
        ]
        calls.append("    @overload\n" + _def("__call__", params, result, "    "))
    if spec.z_loss:  # return_z_loss=True: (loss, z_loss), or (loss, z_loss, grad)
        for return_grad, result in (
            ("Literal[False] = ...", "Tuple[Loss, Loss]"),
            ("Literal[True]", f"Tuple[Loss, Loss, {g}]"),
        ):
            params = ["self", *(f"{a}: ArrayLike" for a in spec.arrays), f"return_grad: {return_grad}", "*"]
            params += [f"{p.name}: {_stub_type(p)} = ..." for p in spec.call_params]
            params += [
                "return_z_loss: Literal[True]",
                "grad_output: ArrayLike = ...",
                "out: Optional[FloatArray] = ...",
                f"grad_out: {buffers} = ...",
                "n_threads: Optional[int] = ...",
            ]
            calls.append("    @overload\n" + _def("__call__", params, result, "    "))
    return (
        f"class {spec.cls}(_Loss):\n{attrs}    n_threads: Optional[int]\n"
        + _def("__init__", init, "None", "    ")
        + "".join(calls)
        + "    forward = __call__\n"
    )


def render_modules_stub(specs: Sequence[LossSpec] = SPECS) -> str:
    return (
        STUB_HEADER + '"""The nn-style loss classes (fastloss.modules), typed: see fastloss._spec."""\n\n'
        "from typing import List, Literal, Optional, Tuple, overload\n\n"
        "from numpy.typing import ArrayLike\n\n"
        "from .functional import (\n    FloatArray,\n    GradBuffers2,\n    GradBuffers3,\n    Grads2,\n    Grads2Result,\n"
        "    Grads3,\n    Grads3Result,\n    Loss,\n    LossResult,\n    Reduction,\n    SequenceReduction,\n)\n\n"
        f"__all__ = {class_names(specs)!r}\n\n"
        "class _Loss:\n    def __repr__(self) -> str: ...\n\n" + "\n".join(render_class_stub(s) for s in specs)
    )


CORE_BEGIN = "# BEGIN generated by fastloss._spec: the loss kernels (python python/fastloss/_spec.py --write-stubs)\n"
CORE_END = "# END generated\n"


def render_core_block(specs: Sequence[LossSpec] = SPECS) -> str:
    """The stubs of the loss kernels in _core.pyi, one per distinct kernel, from each
    family's positional layout."""
    out, seen = [CORE_BEGIN], set()
    for s in specs:
        if s.kernel not in seen:
            seen.add(s.kernel)
            params = [f"{n}: {t}" for n, t in s.family.kernel_params + kernel_tail(s.family)]
            out.append(_def(s.kernel, params, kernel_result(s.family)))
    return "".join(out) + CORE_END


def splice_core_stub(text: str, specs: Sequence[LossSpec] = SPECS) -> str:
    """``_core.pyi``'s text with its generated block replaced by the current one."""
    begin, end = text.index(CORE_BEGIN), text.index(CORE_END)
    return text[:begin] + render_core_block(specs) + text[end + len(CORE_END) :]


def render_stubs(directory: str) -> Dict[str, str]:
    """{file name: text} of the generated stubs; ``_core.pyi`` is spliced into the file in
    ``directory`` (its other stubs are kept by hand)."""
    with open(os.path.join(directory, "_core.pyi"), encoding="utf-8") as f:
        core = f.read()
    return {
        "functional.pyi": render_functional_stub(),
        "modules.pyi": render_modules_stub(),
        "_core.pyi": splice_core_stub(core),
    }


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] != "--write-stubs" or len(argv) > 2:
        print("usage: python -m fastloss._spec --write-stubs [DIRECTORY]   (default: this file's directory)")
        return 2
    directory = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, text in render_stubs(directory).items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {os.path.join(directory, name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
