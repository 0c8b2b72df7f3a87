"""The spec table generates the public functions: their signatures are today's, they call
their kernel positionally with the table's layout, and a new row (here a fake one with a
scalar setting) is all a new loss needs on the Python side."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, List, Tuple

import fastloss as fl
import numpy as np
import pytest
from fastloss import _core, _spec
from fastloss.functional import _make_function

COMMON = "*, return_grad=False, grad_output=1.0, out=None, grad_out=None, n_threads=None"
SIGNATURES = {
    "mse_loss": f"(input, target, reduction='mean', {COMMON})",
    "l1_loss": f"(input, target, reduction='mean', {COMMON})",
    "binary_cross_entropy": f"(input, target, weight=None, reduction='mean', {COMMON})",
    "binary_cross_entropy_with_logits": f"(input, target, weight=None, reduction='mean', pos_weight=None, {COMMON})",
    "cross_entropy": "(input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0, "
    f"lse_square_scale=0.0, *, return_z_loss=False, {COMMON[3:]})",
    "nll_loss": f"(input, target, weight=None, ignore_index=-100, reduction='mean', {COMMON})",
    "sequence_cross_entropy": "(logits, targets, *, weight=None, ignore_index=-100, label_smoothing=0.0, "
    "reduction='mean', lengths=None, lse_square_scale=0.0, return_z_loss=False, return_grad=False, grad_output=1.0, "
    "out=None, grad_out=None, n_threads=None)",
    "ctc_loss": f"(log_probs, targets, input_lengths, target_lengths, blank=0, reduction='mean', zero_infinity=False, "
    f"{COMMON})",
}


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_signatures_are_unchanged(name: str) -> None:
    fn = getattr(fl, name)
    assert str(inspect.signature(fn)) == SIGNATURES[name]
    assert fn.__name__ == name and fn.__module__ == "fastloss.functional"


def test_public_names_come_from_the_table() -> None:
    assert fl.functional.__all__ == [
        "mse_loss",
        "l1_loss",
        "mae_loss",
        "huber_loss",
        "smooth_l1_loss",
        "kl_div",
        "poisson_nll_loss",
        "gaussian_nll_loss",
        "margin_ranking_loss",
        "cosine_embedding_loss",
        "triplet_margin_loss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "sigmoid_focal_loss",
        "soft_margin_loss",
        "hinge_embedding_loss",
        "multilabel_soft_margin_loss",
        "multi_margin_loss",
        "multilabel_margin_loss",
        "cross_entropy",
        "nll_loss",
        "sequence_cross_entropy",
        "ctc_loss",
    ]
    assert fl.modules.__all__ == [
        "MSELoss",
        "L1Loss",
        "HuberLoss",
        "SmoothL1Loss",
        "KLDivLoss",
        "PoissonNLLLoss",
        "GaussianNLLLoss",
        "MarginRankingLoss",
        "CosineEmbeddingLoss",
        "TripletMarginLoss",
        "BCELoss",
        "BCEWithLogitsLoss",
        "SigmoidFocalLoss",
        "SoftMarginLoss",
        "HingeEmbeddingLoss",
        "MultiLabelSoftMarginLoss",
        "MultiMarginLoss",
        "MultiLabelMarginLoss",
        "CrossEntropyLoss",
        "NLLLoss",
        "SequenceCrossEntropyLoss",
        "CTCLoss",
    ]
    utilities = [
        "LossAccumulator",
        "SGD",
        "l2_penalty",
        "linear_cross_entropy",  # fastloss.lm_head: built on cross_entropy's kernel, not a row of its own
        "max_threads",
        "set_simd_level",
        "sgd_step",
        "simd_level",
        "supported_simd_levels",
    ]
    assert sorted(fl.__all__) == sorted(utilities + fl.functional.__all__ + fl.modules.__all__)
    assert all(hasattr(fl, n) for n in fl.__all__)
    assert fl.mae_loss is fl.l1_loss


class Recorder:
    """A stand-in kernel: records its positional arguments, returns (loss, grad)."""

    def __init__(self) -> None:
        self.calls: List[Tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> Tuple[Any, Any]:
        self.calls.append(args)
        return np.float64(1.5), np.zeros(2)


def _recorded(name: str, *args: Any, **kwargs: Any) -> Tuple[Any, ...]:
    kernel = Recorder()
    _make_function(_spec.SPEC_BY_NAME[name], kernel)(*args, **kwargs)
    (call,) = kernel.calls
    return call


A, B = np.array([0.25, 0.75]), np.array([0.0, 1.0])


def test_elementwise_call_layout() -> None:
    w = np.ones(2)
    got = _recorded("binary_cross_entropy_with_logits", A, B, w, "sum", w, return_grad=True, n_threads=3)
    assert got[:4] == (A, B, w, w) and got[4] == _core.reductions["sum"]
    assert got[5:] == ((), True, 1.0, None, None, 3)
    got = _recorded("mse_loss", A, B)
    assert got[2:] == (None, None, _core.reductions["mean"], (), False, 1.0, None, None, 0)


def test_class_call_layout() -> None:
    t = np.array([1, 0], np.uint16)
    got = _recorded("cross_entropy", A[None], t, None, 5, "none", 0.5)
    assert got[1] is t, "integer targets pass through unchanged"
    assert got[2:9] == (None, 5, _core.reductions["none"], 0.5, False, 0.0, False)
    got = _recorded("cross_entropy", A[None], t, lse_square_scale=1e-4, return_z_loss=True)
    assert got[7:9] == (1e-4, True), "the z-loss options reach their slots"
    got = _recorded("nll_loss", A[None], t, reduction="sum")
    assert got[5:9] == (0.0, True, 0.0, False)
    got = _recorded("sequence_cross_entropy", A[None, None], t[None], lengths=[1], reduction="sequence")
    assert got[4] == _core.reductions["sequence"]
    assert got[6].dtype == np.int64 and got[6].tolist() == [1]
    assert got[7:9] == (0.0, False)
    assert _recorded("cross_entropy", A[None], [1])[1].dtype.kind == "i"  # a list of ints: class indices


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"])
def test_every_integer_target_dtype_reaches_the_kernel(dtype: str) -> None:
    x = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, -0.5]])
    t = np.array([2, 0])
    want = fl.cross_entropy(x, t, return_grad=True)
    got = fl.cross_entropy(x, t.astype(dtype), return_grad=True)
    assert got[0] == want[0] and np.array_equal(got[1], want[1])
    seq = fl.sequence_cross_entropy(x[None], t[None].astype(dtype), reduction="sequence")
    np.testing.assert_array_equal(seq, fl.sequence_cross_entropy(x[None], t[None], reduction="sequence"))


def test_the_elementwise_rows_are_the_kernels() -> None:
    """Each elementwise kernel has its row, and each row declares what its kernel takes."""
    rows = {s.kernel: s for s in _spec.SPECS if s.family is _spec.ELEMENTWISE}
    assert set(rows) == set(_core.elementwise_losses), "a kernel without a row, or a row without a kernel"
    for kernel, takes in _core.elementwise_losses.items():
        own = {p.name for p in rows[kernel].params}
        assert takes == {
            "weight": "weight" in own,
            "pos_weight": "pos_weight" in own,
            "settings": len(rows[kernel].settings),
        }, kernel


# ------------------------------------------------------------------ a new row with a setting
# (a toy row: huber_loss itself is in the table, and its generated code is registered under its name)
HUBER = dataclasses.replace(
    _spec.SPEC_BY_NAME["mse_loss"],
    name="toy_huber_loss",
    kernel="toy_huber_loss",
    cls="ToyHuberLoss",
    params=(
        _spec.SPEC_BY_NAME["mse_loss"].param("reduction"),
        _spec.Param("delta", "setting", 1.0, "Where the loss turns from quadratic to linear.", rules=("> 0",)),
    ),
)


def test_a_setting_of_a_new_row() -> None:
    kernel = Recorder()
    huber = _make_function(HUBER, kernel)
    assert str(inspect.signature(huber)) == f"(input, target, reduction='mean', delta=1.0, {COMMON})"
    huber(A, B)
    huber(A, B, "sum", 2)
    huber(A, B, delta=np.float32(0.5), return_grad=True)
    assert [c[5] for c in kernel.calls] == [(1.0,), (2.0,), (0.5,)]
    assert all(type(c[5][0]) is float for c in kernel.calls)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"toy_huber_loss: delta must be > 0; got"):
            huber(A, B, delta=bad)
    with pytest.raises(TypeError, match=r"toy_huber_loss: delta must be a float; got str '1'"):
        huber(A, B, delta="1")
    assert len(kernel.calls) == 3
    doc = _spec.function_doc(HUBER)
    assert "delta : float, default 1.0" in doc
    assert "delta: float = ..." in _spec.render_function_stub(HUBER)


def test_a_new_row_gets_its_class() -> None:
    source = _spec.render_class(HUBER)
    assert "def __init__(self, reduction='mean', delta=1.0, n_threads=None):" in source
    assert "_function(input, target, self.reduction, self.delta, return_grad=return_grad" in source
    assert "toy_huber_loss" in _spec.render_core_block(list(_spec.SPECS) + [HUBER])


def test_the_generated_code_reads_no_table_at_call_time() -> None:
    for row in _spec.SPECS:
        fn = getattr(fl, row.name)
        names = set(fn.__code__.co_names)
        assert not names & {"_spec", "SPECS", "getattr", "_core"}, names
        source = _spec.render_function(row)
        assert inspect.getsource(fn) == source  # shown in tracebacks and by inspect
        assert "return _kernel(" in source


def test_a_row_that_does_not_fit_its_kernel_fails_to_render() -> None:
    ce = _spec.SPEC_BY_NAME["cross_entropy"]
    with pytest.raises(ValueError, match="'log_probs' has no parameter"):
        _spec.render_function(dataclasses.replace(ce, kernel_constants={}))
    scale = _spec.Param("lse_square_scale", "setting", 0.0, "z-loss", rules=(">= 0",))
    with pytest.raises(ValueError, match="takes no .*lse_square_scale"):  # no settings slot: it would be lost
        _spec.render_function(dataclasses.replace(ce, params=ce.params + (scale,)))
    with pytest.raises(ValueError, match="rule"):
        _spec.Param("delta", "setting", 1.0, "", rules=("> delta",))
