"""The nn-style classes: torch's constructor arguments checked at construction, settings in
repr, call options only at call time (a setting passed there is a clear TypeError), and
``forward`` as an alias of the call."""

from __future__ import annotations

import inspect
import re

import fastloss as fl
import numpy as np
import pytest

X = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, -0.5]])
T = np.array([2, 0])
W = np.array([1.0, 2.0, 0.5], np.float32)

#: today's constructor signatures (positional-or-keyword, in this order)
INIT = {
    "MSELoss": "(reduction='mean', n_threads=None)",
    "L1Loss": "(reduction='mean', n_threads=None)",
    "HuberLoss": "(reduction='mean', delta=1.0, weight=None, n_threads=None)",
    "SmoothL1Loss": "(reduction='mean', beta=1.0, n_threads=None)",
    "KLDivLoss": "(reduction='mean', log_target=False, n_threads=None)",
    "PoissonNLLLoss": "(log_input=True, full=False, eps=1e-08, reduction='mean', n_threads=None)",
    "GaussianNLLLoss": "(full=False, eps=1e-06, reduction='mean', n_threads=None)",
    "MarginRankingLoss": "(margin=0.0, reduction='mean', n_threads=None)",
    "CosineEmbeddingLoss": "(margin=0.0, reduction='mean', n_threads=None)",
    "TripletMarginLoss": "(margin=1.0, p=2.0, eps=1e-06, swap=False, reduction='mean', n_threads=None)",
    "SigmoidFocalLoss": "(alpha=0.25, gamma=2.0, reduction='none', n_threads=None)",
    "SoftMarginLoss": "(reduction='mean', n_threads=None)",
    "HingeEmbeddingLoss": "(margin=1.0, reduction='mean', n_threads=None)",
    "MultiLabelSoftMarginLoss": "(weight=None, reduction='mean', n_threads=None)",
    "MultiMarginLoss": "(p=1, margin=1.0, weight=None, reduction='mean', n_threads=None)",
    "MultiLabelMarginLoss": "(reduction='mean', n_threads=None)",
    "BCELoss": "(weight=None, reduction='mean', n_threads=None)",
    "BCEWithLogitsLoss": "(weight=None, reduction='mean', pos_weight=None, n_threads=None)",
    "CrossEntropyLoss": "(weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0, lse_square_scale=0.0, "
    "n_threads=None)",
    "NLLLoss": "(weight=None, ignore_index=-100, reduction='mean', n_threads=None)",
    "SequenceCrossEntropyLoss": "(weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0, "
    "lse_square_scale=0.0, n_threads=None)",
    "CTCLoss": "(blank=0, reduction='mean', zero_infinity=False, n_threads=None)",
}
COMMON = "return_grad=False, *, grad_output=1.0, out=None, grad_out=None, n_threads=None"


@pytest.mark.parametrize("name", fl.modules.__all__)
def test_signatures(name: str) -> None:
    cls = getattr(fl, name)
    assert str(inspect.signature(cls)) == INIT[name]
    arrays = {
        "SequenceCrossEntropyLoss": "logits, targets",
        "GaussianNLLLoss": "input, target, var",
        "MarginRankingLoss": "input1, input2, target",
        "CosineEmbeddingLoss": "input1, input2, target",
        "TripletMarginLoss": "anchor, positive, negative",
        "CTCLoss": "log_probs, targets, input_lengths, target_lengths",
    }.get(name, "input, target")
    per_call = "lengths=None, " if name.startswith("Sequence") else ""
    per_call += "return_z_loss=False, " if name in ("CrossEntropyLoss", "SequenceCrossEntropyLoss") else ""
    want = f"({arrays}, {COMMON})".replace("*, ", f"*, {per_call}")
    assert str(inspect.signature(cls().__call__)) == want
    assert cls.forward is cls.__call__


def test_repr_shows_the_settings_that_are_not_the_default() -> None:
    assert repr(fl.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert (
        repr(fl.CrossEntropyLoss(weight=W, label_smoothing=0.1))
        == "CrossEntropyLoss(weight=array(shape=(3,), dtype=float32), label_smoothing=0.1)"
    )
    assert (
        repr(fl.NLLLoss(ignore_index=0, reduction="sum", n_threads=2))
        == "NLLLoss(ignore_index=0, reduction='sum', n_threads=2)"
    )
    assert repr(fl.BCEWithLogitsLoss(pos_weight=[2.0, 3.0])) == "BCEWithLogitsLoss(pos_weight=[2.0, 3.0])"
    assert repr(fl.SequenceCrossEntropyLoss(reduction="sequence")) == "SequenceCrossEntropyLoss(reduction='sequence')"
    assert repr(fl.MSELoss(reduction="mean")) == "MSELoss()"


def test_settings_are_stored_as_given() -> None:
    loss_fn = fl.CrossEntropyLoss(W, 1, "sum", 0.25, 1e-4, 3)
    assert loss_fn.weight is W and loss_fn.ignore_index == 1 and loss_fn.reduction == "sum"
    assert loss_fn.label_smoothing == 0.25 and loss_fn.lse_square_scale == 1e-4 and loss_fn.n_threads == 3


@pytest.mark.parametrize(
    "setting, value", [("reduction", "sum"), ("weight", W), ("label_smoothing", 0.1), ("ignore_index", 0)]
)
def test_a_setting_passed_at_call_time_is_a_clear_type_error(setting: str, value: object) -> None:
    shown = "array(shape=(3,), dtype=float32)" if setting == "weight" else repr(value)
    want = (
        f"CrossEntropyLoss: {setting} is set when the loss is constructed (CrossEntropyLoss({setting}={shown})); "
        "call options are return_z_loss, return_grad, grad_output, out, grad_out, n_threads"
    )
    with pytest.raises(TypeError, match=re.escape(want)):
        fl.CrossEntropyLoss()(X, T, **{setting: value})
    with pytest.raises(TypeError, match=re.escape(want)):
        fl.CrossEntropyLoss().forward(X, T, **{setting: value})


def test_unknown_call_keyword_is_a_type_error_listing_the_options() -> None:
    with pytest.raises(
        TypeError,
        match=r"SequenceCrossEntropyLoss: unexpected keyword argument 'foo'; call options "
        r"are lengths, return_z_loss, return_grad, grad_output, out, grad_out, n_threads",
    ):
        fl.SequenceCrossEntropyLoss()(X[None], T[None], foo=1)
    with pytest.raises(TypeError, match="pos_weight is set when the loss is constructed"):
        fl.BCEWithLogitsLoss()(X, X, pos_weight=X)


def test_the_call_equals_the_function() -> None:
    ce = fl.CrossEntropyLoss(weight=W.astype(np.float64), ignore_index=1, label_smoothing=0.2, reduction="none")
    want_loss, want_grad = fl.cross_entropy(X, T, W.astype(np.float64), 1, "none", 0.2, return_grad=True)
    for got_loss, got_grad in (ce(X, T, True), ce.forward(X, T, return_grad=True)):
        np.testing.assert_array_equal(got_loss, want_loss)
        np.testing.assert_array_equal(got_grad, want_grad)
    seq = fl.SequenceCrossEntropyLoss(reduction="sequence")
    logits = np.stack([X, X])
    targets = np.stack([T, T])
    np.testing.assert_array_equal(
        seq(logits, targets, lengths=[2, 1]),
        fl.sequence_cross_entropy(logits, targets, reduction="sequence", lengths=[2, 1]),
    )


def test_reduction_is_checked_at_construction() -> None:
    with pytest.raises(
        ValueError, match=r"CrossEntropyLoss: reduction must be one of 'none', 'mean', 'sum'; got 'meen'"
    ):
        fl.CrossEntropyLoss(reduction="meen")
    with pytest.raises(ValueError, match="batchmean"):
        fl.SequenceCrossEntropyLoss(reduction="avg")
    fl.SequenceCrossEntropyLoss(reduction="batchmean")
    with pytest.raises(ValueError, match="reduction"):
        fl.MSELoss(reduction="batchmean")


def test_n_threads_of_the_call_overrides_the_objects() -> None:
    loss_fn = fl.MSELoss(n_threads=0)  # not checked until a call uses it
    with pytest.raises(ValueError, match="n_threads"):
        loss_fn(X, X)
    assert loss_fn(X, X, n_threads=1) == fl.mse_loss(X, X)
    with pytest.raises(TypeError, match="n_threads"):
        fl.MSELoss()(X, X, n_threads=1.5)
