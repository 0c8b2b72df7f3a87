"""fastloss: deep-learning loss functions and their gradients over NumPy arrays.

Same numbers as ``torch.nn.functional``, computed by fused, multi-threaded C++ kernels
(value and gradient in one pass over memory), without PyTorch installed.
"""

from __future__ import annotations

from ._core import max_threads, set_simd_level, simd_level, supported_simd_levels
from .functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mae_loss,
    mse_loss,
    nll_loss,
    sequence_cross_entropy,
)
from .optim import SGD, l2_penalty, sgd_step
from .modules import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SequenceCrossEntropyLoss,
)

__version__ = "0.1.0"

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SGD",
    "SequenceCrossEntropyLoss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "l1_loss",
    "l2_penalty",
    "mae_loss",
    "max_threads",
    "mse_loss",
    "nll_loss",
    "sequence_cross_entropy",
    "set_simd_level",
    "sgd_step",
    "simd_level",
    "supported_simd_levels",
]
