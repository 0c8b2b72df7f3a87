# Hand-kept stubs of the private extension module (see cpp/bindings/).
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
from numpy.typing import NDArray

_Array = NDArray[Any]
# The loss: a NumPy scalar of the input's dtype when reduced without out=, else an array.

def _elementwise(
    input: _Array,
    target: Optional[_Array],
    weight: Optional[_Array],
    pos_weight: Optional[_Array],
    reduction: int,
    settings: Tuple[float, ...],
    return_grad: bool,
    grad_output: Union[float, _Array],
    out: Optional[_Array],
    grad_out: Optional[_Array],
    n_threads: int,
) -> Tuple[Union[np.floating[Any], _Array], Optional[_Array]]: ...

mse_loss = _elementwise
l1_loss = _elementwise
binary_cross_entropy = _elementwise
binary_cross_entropy_with_logits = _elementwise

reductions: Dict[str, int]

def max_threads() -> int: ...
def usable_cpus() -> int: ...
def check_no_overlap(fn: str, arrays: List[Tuple[str, Any, bool]]) -> None: ...
def simd_level() -> str: ...
def supported_simd_levels() -> List[str]: ...
def set_simd_level(level: str) -> None: ...
def min_parallel_work() -> int: ...
def set_min_parallel_work(elements: int) -> None: ...
def streaming_threshold() -> int: ...
def set_streaming_threshold(bytes: int) -> None: ...

def cross_entropy(
    input: _Array,
    target: _Array,
    weight: Optional[_Array],
    ignore_index: int,
    reduction: int,
    label_smoothing: float,
    log_probs: bool,
    return_grad: bool,
    grad_output: Union[float, _Array],
    out: Optional[_Array],
    grad_out: Optional[_Array],
    n_threads: int,
) -> Tuple[Union[np.floating[Any], _Array], Optional[_Array]]: ...
def sequence_cross_entropy(
    logits: _Array,
    targets: _Array,
    weight: Optional[_Array],
    ignore_index: int,
    reduction: int,
    label_smoothing: float,
    lengths: Optional[_Array],
    return_grad: bool,
    grad_output: Union[float, _Array],
    out: Optional[_Array],
    grad_out: Optional[_Array],
    n_threads: int,
) -> Tuple[Union[np.floating[Any], _Array], Optional[_Array]]: ...
def sgd_update(
    param: _Array,
    grad: _Array,
    momentum_buffer: Optional[_Array],
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    first_step: bool,
    n_threads: int,
) -> None: ...
def sum_squares(w: _Array, grad_scale: float, want_grad: bool, n_threads: int) -> Tuple[float, Optional[_Array]]: ...
def vector_math(function: str, x: _Array, n_threads: int = ...) -> _Array: ...
