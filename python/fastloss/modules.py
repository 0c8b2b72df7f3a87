"""Loss objects mirroring ``torch.nn``: built with torch's keyword arguments, called as
``loss_fn(input, target, return_grad=False, **options)``."""

from __future__ import annotations

from typing import Any, Optional

from numpy.typing import ArrayLike

from . import functional as F
from .functional import LossResult

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SequenceCrossEntropyLoss",
]


class _Loss:
    _reductions = F._REDUCTIONS

    def __init__(self, reduction: str = "mean", n_threads: Optional[int] = None) -> None:
        F._reduction_code(type(self).__name__, reduction, self._reductions)  # fail at construction, like torch
        self.reduction = reduction
        self.n_threads = n_threads

    def _options(self, options: dict[str, Any]) -> dict[str, Any]:
        options.setdefault("n_threads", self.n_threads)
        return options

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class MSELoss(_Loss):
    """``nn.MSELoss``: see :func:`fastloss.mse_loss`."""

    def __call__(self, input: ArrayLike, target: ArrayLike, return_grad: bool = False, **options: Any) -> LossResult:
        return F.mse_loss(input, target, self.reduction, return_grad=return_grad, **self._options(options))


class L1Loss(_Loss):
    """``nn.L1Loss``: see :func:`fastloss.l1_loss`."""

    def __call__(self, input: ArrayLike, target: ArrayLike, return_grad: bool = False, **options: Any) -> LossResult:
        return F.l1_loss(input, target, self.reduction, return_grad=return_grad, **self._options(options))


class BCELoss(_Loss):
    """``nn.BCELoss``: see :func:`fastloss.binary_cross_entropy`."""

    def __init__(self, weight: Optional[ArrayLike] = None, reduction: str = "mean",
                 n_threads: Optional[int] = None) -> None:
        super().__init__(reduction, n_threads)
        self.weight = weight

    def __call__(self, input: ArrayLike, target: ArrayLike, return_grad: bool = False, **options: Any) -> LossResult:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction, return_grad=return_grad,
                                      **self._options(options))


class BCEWithLogitsLoss(_Loss):
    """``nn.BCEWithLogitsLoss``: see :func:`fastloss.binary_cross_entropy_with_logits`."""

    def __init__(self, weight: Optional[ArrayLike] = None, reduction: str = "mean",
                 pos_weight: Optional[ArrayLike] = None, n_threads: Optional[int] = None) -> None:
        super().__init__(reduction, n_threads)
        self.weight = weight
        self.pos_weight = pos_weight

    def __call__(self, input: ArrayLike, target: ArrayLike, return_grad: bool = False, **options: Any) -> LossResult:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight,
                                                  return_grad=return_grad, **self._options(options))


class CrossEntropyLoss(_Loss):
    """``nn.CrossEntropyLoss``: see :func:`fastloss.cross_entropy`."""

    def __init__(self, weight: Optional[ArrayLike] = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0, n_threads: Optional[int] = None) -> None:
        super().__init__(reduction, n_threads)
        self.weight = weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def __call__(self, input: ArrayLike, target: ArrayLike, return_grad: bool = False, **options: Any) -> LossResult:
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing,
                               return_grad=return_grad, **self._options(options))


class NLLLoss(_Loss):
    """``nn.NLLLoss``: see :func:`fastloss.nll_loss`."""

    def __init__(self, weight: Optional[ArrayLike] = None, ignore_index: int = -100, reduction: str = "mean",
                 n_threads: Optional[int] = None) -> None:
        super().__init__(reduction, n_threads)
        self.weight = weight
        self.ignore_index = ignore_index

    def __call__(self, input: ArrayLike, target: ArrayLike, return_grad: bool = False, **options: Any) -> LossResult:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction, return_grad=return_grad,
                          **self._options(options))


class SequenceCrossEntropyLoss(_Loss):
    """Per-time-step cross-entropy over ``(B, T, V)`` logits: see
    :func:`fastloss.sequence_cross_entropy`. ``lengths`` is given per call."""

    _reductions = F._SEQUENCE_REDUCTIONS

    def __init__(self, weight: Optional[ArrayLike] = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0, n_threads: Optional[int] = None) -> None:
        super().__init__(reduction, n_threads)
        self.weight = weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def __call__(self, logits: ArrayLike, targets: ArrayLike, return_grad: bool = False,
                 **options: Any) -> LossResult:
        return F.sequence_cross_entropy(logits, targets, weight=self.weight, ignore_index=self.ignore_index,
                                        label_smoothing=self.label_smoothing, reduction=self.reduction,
                                        return_grad=return_grad, **self._options(options))
