# Generated from the spec table by fastloss._spec: do not edit; regenerate with
#     python python/fastloss/_spec.py --write-stubs
"""The nn-style loss classes (fastloss.modules), typed: see fastloss._spec."""

from typing import List, Literal, Optional, Tuple, overload

from numpy.typing import ArrayLike

from .functional import (
    FloatArray,
    GradBuffers2,
    GradBuffers3,
    Grads2,
    Grads2Result,
    Grads3,
    Grads3Result,
    Loss,
    LossResult,
    Reduction,
    SequenceReduction,
)

__all__ = ['MSELoss', 'L1Loss', 'HuberLoss', 'SmoothL1Loss', 'KLDivLoss', 'PoissonNLLLoss', 'GaussianNLLLoss', 'MarginRankingLoss', 'CosineEmbeddingLoss', 'TripletMarginLoss', 'BCELoss', 'BCEWithLogitsLoss', 'SigmoidFocalLoss', 'SoftMarginLoss', 'HingeEmbeddingLoss', 'MultiLabelSoftMarginLoss', 'MultiMarginLoss', 'MultiLabelMarginLoss', 'CrossEntropyLoss', 'NLLLoss', 'SequenceCrossEntropyLoss', 'CTCLoss']

class _Loss:
    def __repr__(self) -> str: ...

class MSELoss(_Loss):
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(self, reduction: Reduction = ..., n_threads: Optional[int] = ...) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class L1Loss(_Loss):
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(self, reduction: Reduction = ..., n_threads: Optional[int] = ...) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class HuberLoss(_Loss):
    reduction: Reduction
    delta: float
    weight: Optional[ArrayLike]
    n_threads: Optional[int]
    def __init__(
        self, reduction: Reduction = ..., delta: float = ..., weight: Optional[ArrayLike] = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class SmoothL1Loss(_Loss):
    reduction: Reduction
    beta: float
    n_threads: Optional[int]
    def __init__(
        self, reduction: Reduction = ..., beta: float = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class KLDivLoss(_Loss):
    reduction: Literal["mean", "sum", "none", "batchmean"]
    log_target: bool
    n_threads: Optional[int]
    def __init__(
        self, reduction: Literal["mean", "sum", "none", "batchmean"] = ..., log_target: bool = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class PoissonNLLLoss(_Loss):
    log_input: bool
    full: bool
    eps: float
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, log_input: bool = ..., full: bool = ..., eps: float = ..., reduction: Reduction = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class GaussianNLLLoss(_Loss):
    full: bool
    eps: float
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, full: bool = ..., eps: float = ..., reduction: Reduction = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, var: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, var: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, Grads2]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, var: ArrayLike, return_grad: bool = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ...,
        n_threads: Optional[int] = ...,
    ) -> Grads2Result: ...
    forward = __call__

class MarginRankingLoss(_Loss):
    margin: float
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, margin: float = ..., reduction: Reduction = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input1: ArrayLike, input2: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input1: ArrayLike, input2: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, Grads2]: ...
    @overload
    def __call__(
        self, input1: ArrayLike, input2: ArrayLike, target: ArrayLike, return_grad: bool = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ...,
        n_threads: Optional[int] = ...,
    ) -> Grads2Result: ...
    forward = __call__

class CosineEmbeddingLoss(_Loss):
    margin: float
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, margin: float = ..., reduction: Reduction = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input1: ArrayLike, input2: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input1: ArrayLike, input2: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, Grads2]: ...
    @overload
    def __call__(
        self, input1: ArrayLike, input2: ArrayLike, target: ArrayLike, return_grad: bool = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ...,
        n_threads: Optional[int] = ...,
    ) -> Grads2Result: ...
    forward = __call__

class TripletMarginLoss(_Loss):
    margin: float
    p: float
    eps: float
    swap: bool
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, margin: float = ..., p: float = ..., eps: float = ..., swap: bool = ...,
        reduction: Reduction = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, return_grad: Literal[False] = ...,
        *, grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
        grad_out: Optional[GradBuffers3] = ..., n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers3] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, Grads3]: ...
    @overload
    def __call__(
        self, anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, return_grad: bool = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers3] = ...,
        n_threads: Optional[int] = ...,
    ) -> Grads3Result: ...
    forward = __call__

class BCELoss(_Loss):
    weight: Optional[ArrayLike]
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class BCEWithLogitsLoss(_Loss):
    weight: Optional[ArrayLike]
    reduction: Reduction
    pos_weight: Optional[ArrayLike]
    n_threads: Optional[int]
    def __init__(
        self, weight: Optional[ArrayLike] = ..., reduction: Reduction = ...,
        pos_weight: Optional[ArrayLike] = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class SigmoidFocalLoss(_Loss):
    alpha: float
    gamma: float
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, alpha: float = ..., gamma: float = ..., reduction: Reduction = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class SoftMarginLoss(_Loss):
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(self, reduction: Reduction = ..., n_threads: Optional[int] = ...) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class HingeEmbeddingLoss(_Loss):
    margin: float
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, margin: float = ..., reduction: Reduction = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class MultiLabelSoftMarginLoss(_Loss):
    weight: Optional[ArrayLike]
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class MultiMarginLoss(_Loss):
    p: float
    margin: float
    weight: Optional[ArrayLike]
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, p: float = ..., margin: float = ..., weight: Optional[ArrayLike] = ...,
        reduction: Reduction = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class MultiLabelMarginLoss(_Loss):
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(self, reduction: Reduction = ..., n_threads: Optional[int] = ...) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class CrossEntropyLoss(_Loss):
    weight: Optional[ArrayLike]
    ignore_index: int
    reduction: Reduction
    label_smoothing: float
    lse_square_scale: float
    n_threads: Optional[int]
    def __init__(
        self, weight: Optional[ArrayLike] = ..., ignore_index: int = ..., reduction: Reduction = ...,
        label_smoothing: float = ..., lse_square_scale: float = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        return_z_loss: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
        grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        return_z_loss: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
        grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *,
        return_z_loss: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
        grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        return_z_loss: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
        grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, Loss]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        return_z_loss: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
        grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, Loss, FloatArray]: ...
    forward = __call__

class NLLLoss(_Loss):
    weight: Optional[ArrayLike]
    ignore_index: int
    reduction: Reduction
    n_threads: Optional[int]
    def __init__(
        self, weight: Optional[ArrayLike] = ..., ignore_index: int = ..., reduction: Reduction = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[False] = ..., *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: Literal[True], *,
        grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
        n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, input: ArrayLike, target: ArrayLike, return_grad: bool = ..., *, grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__

class SequenceCrossEntropyLoss(_Loss):
    weight: Optional[ArrayLike]
    ignore_index: int
    reduction: SequenceReduction
    label_smoothing: float
    lse_square_scale: float
    n_threads: Optional[int]
    def __init__(
        self, weight: Optional[ArrayLike] = ..., ignore_index: int = ..., reduction: SequenceReduction = ...,
        label_smoothing: float = ..., lse_square_scale: float = ..., n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, logits: ArrayLike, targets: ArrayLike, return_grad: Literal[False] = ..., *,
        lengths: Optional[ArrayLike] = ..., return_z_loss: Literal[False] = ..., grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, logits: ArrayLike, targets: ArrayLike, return_grad: Literal[True], *,
        lengths: Optional[ArrayLike] = ..., return_z_loss: Literal[False] = ..., grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, logits: ArrayLike, targets: ArrayLike, return_grad: bool = ..., *,
        lengths: Optional[ArrayLike] = ..., return_z_loss: Literal[False] = ..., grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    @overload
    def __call__(
        self, logits: ArrayLike, targets: ArrayLike, return_grad: Literal[False] = ..., *,
        lengths: Optional[ArrayLike] = ..., return_z_loss: Literal[True], grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, Loss]: ...
    @overload
    def __call__(
        self, logits: ArrayLike, targets: ArrayLike, return_grad: Literal[True], *,
        lengths: Optional[ArrayLike] = ..., return_z_loss: Literal[True], grad_output: ArrayLike = ...,
        out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, Loss, FloatArray]: ...
    forward = __call__

class CTCLoss(_Loss):
    blank: int
    reduction: Reduction
    zero_infinity: bool
    n_threads: Optional[int]
    def __init__(
        self, blank: int = ..., reduction: Reduction = ..., zero_infinity: bool = ...,
        n_threads: Optional[int] = ...,
    ) -> None: ...
    @overload
    def __call__(
        self, log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
        return_grad: Literal[False] = ..., *, grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
        grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Loss: ...
    @overload
    def __call__(
        self, log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
        return_grad: Literal[True], *, grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
        grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> Tuple[Loss, FloatArray]: ...
    @overload
    def __call__(
        self, log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
        return_grad: bool = ..., *, grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
        grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
    ) -> LossResult: ...
    forward = __call__
