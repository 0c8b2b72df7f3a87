"""A short tour of fastloss: ``python -m fastloss``.

For each loss, on a realistic float32 batch, it prints the loss, checks the gradient
that fastloss computes in the same pass against a float64 NumPy reference, and times
fastloss (value and gradient in one call) against the same formula written in NumPy
and, when PyTorch is installed, against PyTorch's forward + backward. PyTorch is never
required.

Then it scores a decoder batch per sequence and per token (``sequence_cross_entropy``
with ``lengths``), and ends with the seed's regression: ``nn.Linear(10, 1)`` trained
with ``mse_loss`` and ``SGD(lr=0.01, weight_decay=0.01)``, in NumPy and fastloss alone.

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


def cross_entropy(x: Array, t: Array, keep: Optional[Array] = None) -> Tuple[Any, Array]:
    """Mean cross-entropy of (N, C) logits over the rows where keep is True (all by default)."""
    rows = np.arange(len(t))
    keep = np.ones(len(t), dtype=bool) if keep is None else keep
    m = x.max(1, keepdims=True)
    e = np.exp(x - m)
    s = e.sum(1, keepdims=True)
    count = max(int(keep.sum()), 1)
    loss = np.sum(np.where(keep, np.log(s[:, 0]) + m[:, 0] - x[rows, t], 0)) / count
    grad = e / s
    grad[rows, t] -= 1
    grad *= (keep / count)[:, None].astype(x.dtype)
    return loss, grad


def sequence_cross_entropy(x: Array, t: Array, lengths: Array) -> Tuple[Any, Array]:
    """The token mean over (B, T, V) logits, steps t >= lengths[b] left out."""
    b, steps, v = x.shape
    keep = (np.arange(steps) < lengths[:, None]).reshape(-1)
    loss, grad = cross_entropy(x.reshape(-1, v), t.reshape(-1), keep)
    return loss, grad.reshape(x.shape)


def classifier_batch(rng: np.random.Generator) -> Tuple[Array, Array]:
    """Logits of a 1000-class classifier for 4096 images, and their int64 labels."""
    labels = rng.integers(0, 1000, 4096)
    logits = rng.standard_normal((4096, 1000)).astype(np.float32)
    logits[np.arange(4096), labels] += 3  # a model that is right more often than not
    return logits, labels


def decoder_batch() -> Tuple[Array, Array, Array]:
    """A decoder's logits for 8 sequences of up to 128 tokens over 8000 words, the targets
    and each sequence's length (the padding after it is masked)."""
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 8000, (8, 128))
    logits = rng.standard_normal((8, 128, 8000)).astype(np.float32)
    b, t = np.indices(targets.shape)
    logits[b, t, targets] += rng.uniform(0, 8, (8, 1)).astype(np.float32)  # some sequences fit better
    lengths = np.array([100, 128, 57, 128, 90, 128, 120, 33])
    return logits, targets, lengths


def torch_masked_targets(t: Any, lengths: Any) -> Any:
    """torch's way to leave out padding: ignore_index=-100 at the steps past each length."""
    steps = t.new_tensor(range(t.shape[1]))
    return t.masked_fill(steps[None, :] >= lengths[:, None], -100)


@dataclass
class Example:
    loss: str  # the fastloss function shown
    batch: str  # what the data stands for
    inputs: Tuple[Array, ...]  # float32 input first, then target (float32 or int64) and the rest
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

    class_logits, class_labels = classifier_batch(rng)
    seq_logits, seq_targets, seq_lengths = decoder_batch()

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
        Example(
            "cross_entropy", "classifier 4096x1000", (class_logits, class_labels),
            fastloss=lambda x, t: fl.cross_entropy(x, t, return_grad=True),
            numpy=cross_entropy,
            torch=lambda F, x, t: F.cross_entropy(x, t),
        ),
        Example(
            "sequence_cross_entropy", "decoder 8x128x8000 lengths", (seq_logits, seq_targets, seq_lengths),
            fastloss=lambda x, t, n: fl.sequence_cross_entropy(x, t, lengths=n, return_grad=True),
            numpy=sequence_cross_entropy,
            torch=lambda F, x, t, n: F.cross_entropy(x.reshape(-1, x.shape[-1]),
                                                     torch_masked_targets(t, n).reshape(-1)),
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
          f"threads: fastloss {fl.max_threads()}" + (f", torch {torch.get_num_threads()}" if torch else "")
          + f"; fastloss SIMD: {fl.simd_level()}")
    print()
    header = ROW.format("loss", "batch", "value", "abs err", "rel err", "check", "fastloss", "numpy", "", "torch", "")
    print(header.rstrip())
    print("-" * len(header))

    for ex in examples():
        loss, grad = ex.fastloss(*ex.inputs)
        ref_loss, ref_grad = ex.numpy(*(a.astype(np.float64) if a.dtype.kind == "f" else a for a in ex.inputs))
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

    show_decoder_scores()
    show_regression()


def show_decoder_scores() -> None:
    """The decoder batch scored per sequence and per token, as for ranking candidate outputs."""
    logits, targets, lengths = decoder_batch()
    per_seq = np.asarray(fl.sequence_cross_entropy(logits, targets, lengths=lengths, reduction="sequence"))
    per_token = np.asarray(fl.sequence_cross_entropy(logits, targets, lengths=lengths, reduction="none"))
    print()
    print("decoder batch, per sequence: reduction='sequence' sums each sequence's token losses "
          "(its negative log-likelihood)")
    print("  length " + " ".join(f"{n:>7d}" for n in lengths))
    print("  score  " + " ".join(f"{v:>7.1f}" for v in per_seq))
    n = int(lengths[0])
    shown = [0, 1, 2, n - 2, n - 1, n]
    print(f"  first sequence, reduction='none' (length {n}; steps from {n} on are masked, loss 0): "
          + ", ".join(f"t={t} {per_token[0, t]:.3f}" for t in shown))


def show_regression() -> None:
    """The seed's last section: nn.Linear(10, 1), MSELoss, SGD(lr=0.01, weight_decay=0.01)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1024, 10)).astype(np.float32)
    y = (x @ np.linspace(-1, 1, 10, dtype=np.float32) + 0.5 + 0.1 * rng.standard_normal(1024)).astype(np.float32)[:, None]

    def train(weight_decay: float, epochs: int = 100) -> Tuple[Array, List[float]]:
        init = np.random.default_rng(1)  # nn.Linear's initialisation, U(-1/sqrt(10), 1/sqrt(10))
        weight = init.uniform(-10**-0.5, 10**-0.5, (1, 10)).astype(np.float32)
        bias = init.uniform(-10**-0.5, 10**-0.5, (1,)).astype(np.float32)
        opt = fl.SGD([weight, bias], lr=0.01, weight_decay=weight_decay)
        losses = []
        for _ in range(epochs):
            pred = x @ weight.T + bias                              # forward of nn.Linear
            result: Any = fl.mse_loss(pred, y, return_grad=True)    # loss and dL/dpred in one pass
            loss, d_pred = result
            opt.step([d_pred.T @ x, d_pred.sum(axis=0)])            # backward of nn.Linear; in-place update
            losses.append(float(loss))
        return weight, losses

    weight, losses = train(weight_decay=0.01)
    plain, _ = train(weight_decay=0.0)
    print()
    print("regression, the seed's last section: nn.Linear(10, 1) on 1024 samples, fl.mse_loss, "
          "fl.SGD(lr=0.01, weight_decay=0.01), 100 full-batch epochs")
    print("  " + ", ".join(f"epoch {e + 1} mse {losses[e]:.4f}" for e in (0, 9, 24, 49, 99)))
    w_wd, w_plain = float(np.linalg.norm(weight)), float(np.linalg.norm(plain))
    print(f"  |W| after training: {w_plain:.4f} with weight_decay=0, {w_wd:.4f} with weight_decay=0.01 "
          f"({100 * (w_wd / w_plain - 1):+.2f} %: the decay pulls the weights toward 0)")


if __name__ == "__main__":
    main()
