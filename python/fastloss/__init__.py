"""fastloss: deep-learning loss functions and their gradients over NumPy arrays.

Same numbers as ``torch.nn.functional``, computed by fused, multi-threaded C++ kernels
(value and gradient in one pass over memory), without PyTorch installed.
"""

from __future__ import annotations

from . import functional, modules
from ._core import max_threads, set_simd_level, simd_level, supported_simd_levels
from .accumulate import LossAccumulator
from .functional import *  # noqa: F401,F403 -- the losses: one per row of the spec table (_spec.py)
from .lm_head import linear_cross_entropy
from .modules import *  # noqa: F401,F403 -- their nn-style classes
from .optim import SGD, l2_penalty, sgd_step

__version__ = "0.1.0"

__all__ = [
    "LossAccumulator",
    "SGD",
    "l2_penalty",
    "linear_cross_entropy",
    "max_threads",
    "set_simd_level",
    "sgd_step",
    "simd_level",
    "supported_simd_levels",
]
__all__ += functional.__all__
__all__ += modules.__all__
