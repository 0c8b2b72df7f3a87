"""A short tour of fastloss: ``python -m fastloss``.

For each loss, on a realistic float32 batch, it prints the loss, checks the gradient
that fastloss computes in the same pass against a float64 NumPy reference, and times
fastloss (value and gradient in one call) against the same formula written in NumPy
and, when PyTorch is installed, against PyTorch's forward + backward. PyTorch is never
required.

To add a loss to the tour, add an ``Example`` to ``examples()``.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

import numpy as np
from numpy.typing import NDArray

import fastloss as fl

Array = NDArray[Any]


# The mean of each loss and its gradient in plain NumPy, for any float dtype:
# in float64 they are the reference, in float32 they are what the NumPy timing runs.
def mse(x: Array, y: Array) -> Tuple[Any, Array]:
    d = x - y
    return np.mean(d * d), d * (2 / d.size)


def l1(x: Array, y: Array) -> Tuple[Any, Array]:
    d = x - y
    return np.mean(np.abs(d)), np.sign(d) / d.size


def bce(p: Array, y: Array) -> Tuple[Any, Array]:
    # torch clamps each log at -100 and the gradient's denominator at 1e-12
    loss = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log(1 - p), -100))
    grad = (p - y) / np.maximum(p * (1 - p), 1e-12) / p.size
    return np.mean(loss), grad


def bce_with_logits(z: Array, y: Array, pos_weight: Array) -> Tuple[Any, Array]:
    # torch's stable form: -log(sigmoid(z)) = log1p(exp(-|z|)) + max(-z, 0)
    log_weight = 1 + (pos_weight - 1) * y
    loss = (1 - y) * z + log_weight * (np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0))
    grad = (log_weight / (1 + np.exp(-z)) - pos_weight * y) / z.size
    return np.mean(loss), grad


@dataclass
class Example:
    loss: str  # the fastloss function shown
    batch: str  # what the data stands for
    inputs: Tuple[Array, ...]  # float32 arrays: input first, then target and the rest
    fastloss: Callable[..., Any]  # (*inputs) -> (loss, grad), one fused call
    numpy: Callable[..., Any]  # (*inputs) -> (loss, grad), the same formula in NumPy
    torch: Callable[..., Any]  # (F, *tensors) -> loss tensor, F = torch.nn.functional


def examples() -> List[Example]:
    rng = np.random.default_rng(0)
    f32 = np.float32

    # regression: 4096 samples with 16 outputs each, predictions close to their targets
    target = rng.standard_normal((4096, 16)).astype(f32)
    pred = (target + 0.3 * rng.standard_normal((4096, 16))).astype(f32)

    # multi-label classification: 4096 images, 80 classes, about 3 labels per image;
    # pos_weight = negatives / positives per class, as the torch docs suggest
    labels = (rng.random((4096, 80)) < 0.04).astype(f32)
    logits = rng.normal(np.where(labels == 1, 1.0, -4.0), 2.0).astype(f32)
    pos_weight = ((1 - labels).sum(0) / np.maximum(labels.sum(0), 1)).astype(f32)
    probs = (1 / (1 + np.exp(-logits))).astype(f32)  # the same model ending in a sigmoid

    return [
        Example(
            "mse_loss", "regression 4096x16", (pred, target),
            fastloss=lambda x, y: fl.mse_loss(x, y, return_grad=True),
            numpy=mse,
            torch=lambda F, x, y: F.mse_loss(x, y),
        ),
        Example(
            "l1_loss", "regression 4096x16", (pred, target),
            fastloss=lambda x, y: fl.l1_loss(x, y, return_grad=True),
            numpy=l1,
            torch=lambda F, x, y: F.l1_loss(x, y),
        ),
        Example(
            "binary_cross_entropy", "probabilities 4096x80", (probs, labels),
            fastloss=lambda p, y: fl.binary_cross_entropy(p, y, return_grad=True),
            numpy=bce,
            torch=lambda F, p, y: F.binary_cross_entropy(p, y),
        ),
        Example(
            "binary_cross_entropy_with_logits", "logits 4096x80, pos_weight", (logits, labels, pos_weight),
            fastloss=lambda z, y, w: fl.binary_cross_entropy_with_logits(z, y, pos_weight=w, return_grad=True),
            numpy=bce_with_logits,
            torch=lambda F, z, y, w: F.binary_cross_entropy_with_logits(z, y, pos_weight=w),
        ),
    ]


def best_time(fn: Callable[[], Any], repeat: int = 7) -> float:
    """Seconds per call: the best of `repeat` samples, each looping until it lasts >= 2 ms."""

    def loop(number: int) -> float:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return time.perf_counter() - start

    number = 1
    while loop(number) < 2e-3:
        number *= 2
    return min(loop(number) for _ in range(repeat)) / number


def torch_step(torch: Any, ex: Example) -> Callable[[], None]:
    """PyTorch forward + backward on the same arrays (torch.from_numpy shares their memory)."""
    x, *rest = (torch.from_numpy(a) for a in ex.inputs)
    x.requires_grad_()

    def step() -> None:
        x.grad = None
        ex.torch(torch.nn.functional, x, *rest).backward()

    return step


def optional_torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


ROW = "{:<32} {:<26} {:>8}  {:>8} {:>8} {:>5}  {:>8}  {:>8} {:>6}  {:>8} {:>6}"


def main() -> None:
    torch = optional_torch()
    print(f"fastloss {fl.__version__}: loss and gradient in one fused pass (float32 batches, reduction='mean')")
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
          f"threads: fastloss {fl.max_threads()}" + (f", torch {torch.get_num_threads()}" if torch else ""))
    print()
    header = ROW.format("loss", "batch", "value", "abs err", "rel err", "check", "fastloss", "numpy", "", "torch", "")
    print(header.rstrip())
    print("-" * len(header))

    for ex in examples():
        loss, grad = ex.fastloss(*ex.inputs)
        ref_loss, ref_grad = ex.numpy(*(a.astype(np.float64) for a in ex.inputs))
        abs_err = float(np.max(np.abs(grad - ref_grad)))
        rel_err = abs_err / float(np.max(np.abs(ref_grad)))
        ok = rel_err < 1e-5 and abs(float(loss) - ref_loss) <= 1e-5 * abs(ref_loss)

        t_fl = best_time(lambda: ex.fastloss(*ex.inputs))
        t_np = best_time(lambda: ex.numpy(*ex.inputs))
        t_torch = best_time(torch_step(torch, ex)) if torch else None

        def ms(t: Optional[float]) -> str:
            return f"{t * 1e3:.3f}" if t else "-"

        def ratio(t: Optional[float]) -> str:
            return f"{t / t_fl:.2f}x" if t else ""

        print(ROW.format(ex.loss, ex.batch, f"{float(loss):.5f}", f"{abs_err:.1e}", f"{rel_err:.1e}",
                         "ok" if ok else "FAIL", ms(t_fl), ms(t_np), ratio(t_np), ms(t_torch), ratio(t_torch)))

    print()
    print("abs/rel err: fastloss's float32 gradient vs the float64 NumPy reference (rel = abs err / max |grad|);")
    print("             check is ok when rel err and the loss value's relative error are below 1e-5")
    print("times:       ms per call for value + gradient, best of 7; Nx = that time / fastloss's time")
    if torch is None:
        print("PyTorch is not installed, so its column is empty (pip install torch to compare)")


if __name__ == "__main__":
    main()
