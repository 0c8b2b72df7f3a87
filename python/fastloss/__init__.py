"""fastloss: deep-learning loss functions and their gradients over NumPy arrays.

Same numbers as ``torch.nn.functional``, computed by fused, multi-threaded C++ kernels
(value and gradient in one pass over memory), without PyTorch installed.
"""

from __future__ import annotations

from ._core import max_threads
from .functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    l1_loss,
    mae_loss,
    mse_loss,
)
from .modules import BCELoss, BCEWithLogitsLoss, L1Loss, MSELoss

__version__ = "0.1.0"

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "L1Loss",
    "MSELoss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "l1_loss",
    "mae_loss",
    "max_threads",
    "mse_loss",
]
