# Generated from the spec table by fastloss._spec: do not edit; regenerate with
#     python python/fastloss/_spec.py --write-stubs
"""The loss functions (fastloss.functional), typed: see fastloss._spec."""

from typing import Any, List, Literal, Optional, Tuple, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.floating[Any]]
#: A reduced loss (NumPy scalar of the input's dtype, or the 0-d ``out`` array) or an array loss.
Loss = Union[np.floating[Any], FloatArray]
LossResult = Union[Loss, Tuple[Loss, FloatArray]]
#: The gradients of a loss of several differentiable arrays, in argument order, and their buffers.
Grads2 = Tuple[FloatArray, FloatArray]
GradBuffers2 = Tuple[Optional[FloatArray], Optional[FloatArray]]
Grads2Result = Union[Loss, Tuple[Loss, Grads2]]
Grads3 = Tuple[FloatArray, FloatArray, FloatArray]
GradBuffers3 = Tuple[Optional[FloatArray], Optional[FloatArray], Optional[FloatArray]]
Grads3Result = Union[Loss, Tuple[Loss, Grads3]]
Reduction = Literal["mean", "sum", "none"]
SequenceReduction = Literal["mean", "sum", "none", "batchmean", "sequence"]

__all__ = ['mse_loss', 'l1_loss', 'mae_loss', 'huber_loss', 'smooth_l1_loss', 'kl_div', 'poisson_nll_loss', 'gaussian_nll_loss', 'margin_ranking_loss', 'cosine_embedding_loss', 'triplet_margin_loss', 'binary_cross_entropy', 'binary_cross_entropy_with_logits', 'sigmoid_focal_loss', 'soft_margin_loss', 'hinge_embedding_loss', 'multilabel_soft_margin_loss', 'multi_margin_loss', 'multilabel_margin_loss', 'cross_entropy', 'nll_loss', 'sequence_cross_entropy', 'ctc_loss']

# used by fastloss.optim
def _thread_count(fn: str, n_threads: Optional[int]) -> int: ...

@overload
def mse_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def mse_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def mse_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def mse_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def mse_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def mse_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def mse_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def mse_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def mse_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: bool = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: bool = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., delta: float = ...,
    weight: Optional[ArrayLike] = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., delta: float = ...,
    weight: Optional[ArrayLike] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., delta: float = ...,
    weight: Optional[ArrayLike] = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., delta: float = ...,
    weight: Optional[ArrayLike] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], delta: float = ...,
    weight: Optional[ArrayLike] = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], delta: float = ...,
    weight: Optional[ArrayLike] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., delta: float = ...,
    weight: Optional[ArrayLike] = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., delta: float = ...,
    weight: Optional[ArrayLike] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def huber_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., delta: float = ...,
    weight: Optional[ArrayLike] = ..., *, return_grad: bool = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., beta: float = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., beta: float = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., beta: float = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., beta: float = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], beta: float = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], beta: float = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., beta: float = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., beta: float = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def smooth_l1_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., beta: float = ..., *,
    return_grad: bool = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def kl_div(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum", "batchmean"] = ...,
    log_target: bool = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def kl_div(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum", "batchmean"] = ...,
    log_target: bool = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def kl_div(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum", "batchmean"] = ...,
    log_target: bool = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def kl_div(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum", "batchmean"] = ...,
    log_target: bool = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def kl_div(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], log_target: bool = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def kl_div(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], log_target: bool = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def kl_div(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum", "none", "batchmean"] = ...,
    log_target: bool = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def kl_div(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum", "none", "batchmean"] = ...,
    log_target: bool = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def kl_div(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum", "none", "batchmean"] = ...,
    log_target: bool = ..., *, return_grad: bool = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool = ..., full: bool = ..., eps: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: None = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool = ..., full: bool = ..., eps: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool = ..., full: bool = ..., eps: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: FloatArray, grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool = ..., full: bool = ..., eps: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool = ..., full: bool = ..., eps: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool = ..., full: bool = ..., eps: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool, full: bool, eps: float, reduction: Literal["none"],
    *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool, full: bool, eps: float, reduction: Literal["none"],
    *, return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool = ..., full: bool = ..., eps: float = ...,
    reduction: Reduction = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool = ..., full: bool = ..., eps: float = ...,
    reduction: Reduction = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def poisson_nll_loss(
    input: ArrayLike, target: ArrayLike, log_input: bool = ..., full: bool = ..., eps: float = ...,
    reduction: Reduction = ..., *, return_grad: bool = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = ..., eps: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: None = ..., grad_out: Optional[GradBuffers2] = ...,
    n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = ..., eps: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], Grads2]: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = ..., eps: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: FloatArray, grad_out: Optional[GradBuffers2] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = ..., eps: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads2]: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = ..., eps: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = ..., eps: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads2]: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool, eps: float, reduction: Literal["none"],
    *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool, eps: float, reduction: Literal["none"],
    *, return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads2]: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = ..., eps: float = ...,
    reduction: Reduction = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = ..., eps: float = ...,
    reduction: Reduction = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, Grads2]: ...
@overload
def gaussian_nll_loss(
    input: ArrayLike, target: ArrayLike, var: ArrayLike, full: bool = ..., eps: float = ...,
    reduction: Reduction = ..., *, return_grad: bool = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Grads2Result: ...

@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: None = ..., grad_out: Optional[GradBuffers2] = ...,
    n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], Grads2]: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: FloatArray, grad_out: Optional[GradBuffers2] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads2]: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads2]: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float, reduction: Literal["none"], *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float, reduction: Literal["none"], *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads2]: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Reduction = ...,
    *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Reduction = ...,
    *, return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, Grads2]: ...
@overload
def margin_ranking_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Reduction = ...,
    *, return_grad: bool = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Grads2Result: ...

@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: None = ..., grad_out: Optional[GradBuffers2] = ...,
    n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], Grads2]: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: FloatArray, grad_out: Optional[GradBuffers2] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads2]: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads2]: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float, reduction: Literal["none"], *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float, reduction: Literal["none"], *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads2]: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Reduction = ...,
    *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Reduction = ...,
    *, return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, Grads2]: ...
@overload
def cosine_embedding_loss(
    input1: ArrayLike, input2: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Reduction = ...,
    *, return_grad: bool = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[GradBuffers2] = ..., n_threads: Optional[int] = ...,
) -> Grads2Result: ...

@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float = ..., p: float = ...,
    eps: float = ..., swap: bool = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[GradBuffers3] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float = ..., p: float = ...,
    eps: float = ..., swap: bool = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[GradBuffers3] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], Grads3]: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float = ..., p: float = ...,
    eps: float = ..., swap: bool = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[GradBuffers3] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float = ..., p: float = ...,
    eps: float = ..., swap: bool = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[GradBuffers3] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads3]: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float = ..., p: float = ...,
    eps: float = ..., swap: bool = ..., *, reduction: Literal["none"], return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers3] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float = ..., p: float = ...,
    eps: float = ..., swap: bool = ..., *, reduction: Literal["none"], return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers3] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads3]: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float, p: float, eps: float,
    swap: bool, reduction: Literal["none"], *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers3] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float, p: float, eps: float,
    swap: bool, reduction: Literal["none"], *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers3] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, Grads3]: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float = ..., p: float = ...,
    eps: float = ..., swap: bool = ..., reduction: Reduction = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers3] = ...,
    n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float = ..., p: float = ...,
    eps: float = ..., swap: bool = ..., reduction: Reduction = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers3] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, Grads3]: ...
@overload
def triplet_margin_loss(
    anchor: ArrayLike, positive: ArrayLike, negative: ArrayLike, margin: float = ..., p: float = ...,
    eps: float = ..., swap: bool = ..., reduction: Reduction = ..., *, return_grad: bool = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[GradBuffers3] = ...,
    n_threads: Optional[int] = ...,
) -> Grads3Result: ...

@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: None = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: FloatArray, grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., *, reduction: Literal["none"],
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., *, reduction: Literal["none"],
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], reduction: Literal["none"], *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], reduction: Literal["none"], *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def binary_cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., *,
    return_grad: bool = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., pos_weight: Optional[ArrayLike] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., pos_weight: Optional[ArrayLike] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., pos_weight: Optional[ArrayLike] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., pos_weight: Optional[ArrayLike] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., *, reduction: Literal["none"],
    pos_weight: Optional[ArrayLike] = ..., return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., *, reduction: Literal["none"],
    pos_weight: Optional[ArrayLike] = ..., return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], reduction: Literal["none"],
    pos_weight: Optional[ArrayLike] = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], reduction: Literal["none"],
    pos_weight: Optional[ArrayLike] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., reduction: Reduction = ...,
    pos_weight: Optional[ArrayLike] = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., reduction: Reduction = ...,
    pos_weight: Optional[ArrayLike] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., reduction: Reduction = ...,
    pos_weight: Optional[ArrayLike] = ..., *, return_grad: bool = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float = ..., gamma: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: None = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float = ..., gamma: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float = ..., gamma: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: FloatArray, grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float = ..., gamma: float = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float = ..., gamma: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float = ..., gamma: float = ..., *,
    reduction: Literal["none"], return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float, gamma: float, reduction: Literal["none"], *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float, gamma: float, reduction: Literal["none"], *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float = ..., gamma: float = ..., reduction: Reduction = ...,
    *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float = ..., gamma: float = ..., reduction: Reduction = ...,
    *, return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def sigmoid_focal_loss(
    input: ArrayLike, target: ArrayLike, alpha: float = ..., gamma: float = ..., reduction: Reduction = ...,
    *, return_grad: bool = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def soft_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def soft_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def soft_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def soft_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def soft_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def soft_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def soft_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def soft_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def soft_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: bool = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float = ..., *, reduction: Literal["none"],
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float = ..., *, reduction: Literal["none"],
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float, reduction: Literal["none"], *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float, reduction: Literal["none"], *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Reduction = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Reduction = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def hinge_embedding_loss(
    input: ArrayLike, target: ArrayLike, margin: float = ..., reduction: Reduction = ..., *,
    return_grad: bool = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: None = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: FloatArray, grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., *, reduction: Literal["none"],
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., *, reduction: Literal["none"],
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], reduction: Literal["none"], *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], reduction: Literal["none"], *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def multilabel_soft_margin_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., *,
    return_grad: bool = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float = ..., margin: float = ...,
    weight: Optional[ArrayLike] = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float = ..., margin: float = ...,
    weight: Optional[ArrayLike] = ..., reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: None = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float = ..., margin: float = ...,
    weight: Optional[ArrayLike] = ..., reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float = ..., margin: float = ...,
    weight: Optional[ArrayLike] = ..., reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: FloatArray, grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float = ..., margin: float = ...,
    weight: Optional[ArrayLike] = ..., *, reduction: Literal["none"], return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float = ..., margin: float = ...,
    weight: Optional[ArrayLike] = ..., *, reduction: Literal["none"], return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float, margin: float, weight: Optional[ArrayLike],
    reduction: Literal["none"], *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float, margin: float, weight: Optional[ArrayLike],
    reduction: Literal["none"], *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float = ..., margin: float = ...,
    weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float = ..., margin: float = ...,
    weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def multi_margin_loss(
    input: ArrayLike, target: ArrayLike, p: float = ..., margin: float = ...,
    weight: Optional[ArrayLike] = ..., reduction: Reduction = ..., *, return_grad: bool = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def multilabel_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def multilabel_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def multilabel_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def multilabel_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["mean", "sum"] = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def multilabel_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def multilabel_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Literal["none"], *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def multilabel_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def multilabel_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def multilabel_margin_loss(
    input: ArrayLike, target: ArrayLike, reduction: Reduction = ..., *, return_grad: bool = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Literal["mean", "sum"] = ..., label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[False] = ..., return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Literal["mean", "sum"] = ..., label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[False] = ..., return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Literal["mean", "sum"] = ..., label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[False] = ..., return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Literal["mean", "sum"] = ..., label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[False] = ..., return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ..., *,
    reduction: Literal["none"], label_smoothing: float = ..., lse_square_scale: float = ...,
    return_z_loss: Literal[False] = ..., return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ..., *,
    reduction: Literal["none"], label_smoothing: float = ..., lse_square_scale: float = ...,
    return_z_loss: Literal[False] = ..., return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], ignore_index: int,
    reduction: Literal["none"], label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[False] = ..., return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], ignore_index: int,
    reduction: Literal["none"], label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[False] = ..., return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Reduction = ..., label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[False] = ..., return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Reduction = ..., label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[False] = ..., return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Reduction = ..., label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[False] = ..., return_grad: bool = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Reduction = ..., label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[True], return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, Loss]: ...
@overload
def cross_entropy(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Reduction = ..., label_smoothing: float = ..., lse_square_scale: float = ..., *,
    return_z_loss: Literal[True], return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, Loss, FloatArray]: ...

@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: None = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: None = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: FloatArray, grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Literal["mean", "sum"] = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: FloatArray, grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ..., *,
    reduction: Literal["none"], return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ..., *,
    reduction: Literal["none"], return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], ignore_index: int,
    reduction: Literal["none"], *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], ignore_index: int,
    reduction: Literal["none"], *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Reduction = ..., *, return_grad: Literal[False] = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Reduction = ..., *, return_grad: Literal[True], grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def nll_loss(
    input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    reduction: Reduction = ..., *, return_grad: bool = ..., grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> LossResult: ...

@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: Literal["mean", "sum", "batchmean"] = ...,
    lengths: Optional[ArrayLike] = ..., lse_square_scale: float = ..., return_z_loss: Literal[False] = ...,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: Literal["mean", "sum", "batchmean"] = ...,
    lengths: Optional[ArrayLike] = ..., lse_square_scale: float = ..., return_z_loss: Literal[False] = ...,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: Literal["mean", "sum", "batchmean"] = ...,
    lengths: Optional[ArrayLike] = ..., lse_square_scale: float = ..., return_z_loss: Literal[False] = ...,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: Literal["mean", "sum", "batchmean"] = ...,
    lengths: Optional[ArrayLike] = ..., lse_square_scale: float = ..., return_z_loss: Literal[False] = ...,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: Literal["none", "sequence"], lengths: Optional[ArrayLike] = ...,
    lse_square_scale: float = ..., return_z_loss: Literal[False] = ..., return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: Literal["none", "sequence"], lengths: Optional[ArrayLike] = ...,
    lse_square_scale: float = ..., return_z_loss: Literal[False] = ..., return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: SequenceReduction = ..., lengths: Optional[ArrayLike] = ...,
    lse_square_scale: float = ..., return_z_loss: Literal[False] = ..., return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: SequenceReduction = ..., lengths: Optional[ArrayLike] = ...,
    lse_square_scale: float = ..., return_z_loss: Literal[False] = ..., return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: SequenceReduction = ..., lengths: Optional[ArrayLike] = ...,
    lse_square_scale: float = ..., return_z_loss: Literal[False] = ..., return_grad: bool = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> LossResult: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: SequenceReduction = ..., lengths: Optional[ArrayLike] = ...,
    lse_square_scale: float = ..., return_z_loss: Literal[True], return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, Loss]: ...
@overload
def sequence_cross_entropy(
    logits: ArrayLike, targets: ArrayLike, *, weight: Optional[ArrayLike] = ..., ignore_index: int = ...,
    label_smoothing: float = ..., reduction: SequenceReduction = ..., lengths: Optional[ArrayLike] = ...,
    lse_square_scale: float = ..., return_z_loss: Literal[True], return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, Loss, FloatArray]: ...

@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
    blank: int = ..., reduction: Literal["mean", "sum"] = ..., zero_infinity: bool = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> np.floating[Any]: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
    blank: int = ..., reduction: Literal["mean", "sum"] = ..., zero_infinity: bool = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: None = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[np.floating[Any], FloatArray]: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
    blank: int = ..., reduction: Literal["mean", "sum"] = ..., zero_infinity: bool = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
    blank: int = ..., reduction: Literal["mean", "sum"] = ..., zero_infinity: bool = ..., *,
    return_grad: Literal[True], grad_output: ArrayLike = ..., out: FloatArray,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
    blank: int = ..., *, reduction: Literal["none"], zero_infinity: bool = ...,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
    blank: int = ..., *, reduction: Literal["none"], zero_infinity: bool = ..., return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike, blank: int,
    reduction: Literal["none"], zero_infinity: bool = ..., *, return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> FloatArray: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike, blank: int,
    reduction: Literal["none"], zero_infinity: bool = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[FloatArray, FloatArray]: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
    blank: int = ..., reduction: Reduction = ..., zero_infinity: bool = ..., *,
    return_grad: Literal[False] = ..., grad_output: ArrayLike = ..., out: Optional[FloatArray] = ...,
    grad_out: Optional[FloatArray] = ..., n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
    blank: int = ..., reduction: Reduction = ..., zero_infinity: bool = ..., *, return_grad: Literal[True],
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, FloatArray]: ...
@overload
def ctc_loss(
    log_probs: ArrayLike, targets: ArrayLike, input_lengths: ArrayLike, target_lengths: ArrayLike,
    blank: int = ..., reduction: Reduction = ..., zero_infinity: bool = ..., *, return_grad: bool = ...,
    grad_output: ArrayLike = ..., out: Optional[FloatArray] = ..., grad_out: Optional[FloatArray] = ...,
    n_threads: Optional[int] = ...,
) -> LossResult: ...

mae_loss = l1_loss
