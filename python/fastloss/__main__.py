"""A short tour of fastloss: ``python -m fastloss [--quick] [--repeat N] [--n-threads N]``.

For each loss, on a realistic float32 batch, it prints the loss, checks the gradient that
fastloss computes in the same pass against the float64 NumPy reference
(``fastloss._reference``, the formulas the test-suite checks against), and times fastloss
(value and gradient in one call) against the same formulas run by NumPy in float32 and, when
PyTorch is installed, against PyTorch's forward + backward. PyTorch is never required.

Every time is the best of N samples (each sample loops the call long enough to be far above
the timer's resolution); a time whose median sample is more than twice its best is marked as
noisy, and so is a machine whose load average exceeds its CPU count: one number from a busy
machine means little.

Then it scores a decoder batch per sequence and per token (``sequence_cross_entropy`` with
``lengths``). Training loops are in ``examples/`` of the source tree, the full benchmark in
``bench/``.

To add a loss to the tour, add an ``Example`` to ``examples()``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import NDArray

import fastloss as fl
from fastloss import _reference as ref

Array = NDArray[Any]

NOISY = 2.0  # a timing is noisy when its median sample exceeds its best by this factor
MIN_SAMPLE_S = 2e-3  # each sample loops the call at least this long (far above timer resolution)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fastloss",
        description="A short tour of fastloss: each loss on a realistic float32 batch, its gradient checked "
        "against a float64 NumPy reference, and its time against NumPy (and PyTorch when installed).",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        metavar="N",
        help="time each call as the best of N samples (default: 7, 5 with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller batches (1/8 of the rows, 2 decoder sequences), best of 5"
    )
    parser.add_argument(
        "--n-threads",
        type=int,
        default=None,
        metavar="N",
        help="threads for fastloss (n_threads=N) and torch (default: fastloss.max_threads())",
    )
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 5 if args.quick else 7
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.n_threads is not None and args.n_threads < 1:
        parser.error("--n-threads must be >= 1")
    return args


# ------------------------------------------------------------------ the batches
def classifier_batch(rng: np.random.Generator, n: int) -> Tuple[Array, Array]:
    """Logits of a 1000-class classifier for n images, and their int64 labels."""
    labels = rng.integers(0, 1000, n)
    logits = rng.standard_normal((n, 1000)).astype(np.float32)
    logits[np.arange(n), labels] += 3  # a model that is right more often than not
    return logits, labels


def decoder_batch(sequences: int = 8) -> Tuple[Array, Array, Array]:
    """A decoder's logits for up to 8 sequences of up to 128 tokens over 8000 words, the targets
    and each sequence's length (the padding after it is masked)."""
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 8000, (sequences, 128))
    logits = rng.standard_normal((sequences, 128, 8000)).astype(np.float32)
    b, t = np.indices(targets.shape)
    logits[b, t, targets] += rng.uniform(0, 8, (sequences, 1)).astype(np.float32)  # some sequences fit better
    lengths = np.array([100, 128, 57, 128, 90, 128, 120, 33][:sequences])
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
    fastloss: Callable[..., Any]  # (*inputs, n_threads) -> (loss, grad), one fused call
    numpy: Callable[..., Any]  # (*inputs) -> (loss, grad): fastloss._reference, any float dtype
    torch: Callable[..., Any]  # (F, *tensors) -> loss tensor, F = torch.nn.functional


def examples(quick: bool = False) -> List[Example]:
    rng = np.random.default_rng(0)
    f32 = np.float32
    n = 512 if quick else 4096

    # regression: n samples with 16 outputs each, predictions close to their targets
    target = rng.standard_normal((n, 16)).astype(f32)
    pred = (target + 0.3 * rng.standard_normal((n, 16))).astype(f32)

    # multi-label classification: n images, 80 classes, about 3 labels per image;
    # pos_weight = negatives / positives per class, as the torch docs suggest
    labels = (rng.random((n, 80)) < 0.04).astype(f32)
    logits = rng.normal(np.where(labels == 1, 1.0, -4.0), 2.0).astype(f32)
    pos_weight = ((1 - labels).sum(0) / np.maximum(labels.sum(0), 1)).astype(f32)
    probs = (1 / (1 + np.exp(-logits))).astype(f32)  # the same model ending in a sigmoid

    class_logits, class_labels = classifier_batch(rng, n)
    seq_logits, seq_targets, seq_lengths = decoder_batch(2 if quick else 8)

    return [
        Example(
            "mse_loss",
            f"regression {n}x16",
            (pred, target),
            fastloss=lambda x, y, nt: fl.mse_loss(x, y, return_grad=True, n_threads=nt),
            numpy=ref.mse_loss,
            torch=lambda F, x, y: F.mse_loss(x, y),
        ),
        Example(
            "l1_loss",
            f"regression {n}x16",
            (pred, target),
            fastloss=lambda x, y, nt: fl.l1_loss(x, y, return_grad=True, n_threads=nt),
            numpy=ref.l1_loss,
            torch=lambda F, x, y: F.l1_loss(x, y),
        ),
        Example(
            "binary_cross_entropy",
            f"probabilities {n}x80",
            (probs, labels),
            fastloss=lambda p, y, nt: fl.binary_cross_entropy(p, y, return_grad=True, n_threads=nt),
            numpy=ref.binary_cross_entropy,
            torch=lambda F, p, y: F.binary_cross_entropy(p, y),
        ),
        Example(
            "binary_cross_entropy_with_logits",
            f"logits {n}x80, pos_weight",
            (logits, labels, pos_weight),
            fastloss=lambda z, y, w, nt: fl.binary_cross_entropy_with_logits(
                z, y, pos_weight=w, return_grad=True, n_threads=nt
            ),
            numpy=lambda z, y, w: ref.binary_cross_entropy_with_logits(z, y, pos_weight=w),
            torch=lambda F, z, y, w: F.binary_cross_entropy_with_logits(z, y, pos_weight=w),
        ),
        Example(
            "cross_entropy",
            f"classifier {n}x1000",
            (class_logits, class_labels),
            fastloss=lambda x, t, nt: fl.cross_entropy(x, t, return_grad=True, n_threads=nt),
            numpy=ref.cross_entropy,
            torch=lambda F, x, t: F.cross_entropy(x, t),
        ),
        Example(
            "sequence_cross_entropy",
            f"decoder {len(seq_lengths)}x128x8000 lengths",
            (seq_logits, seq_targets, seq_lengths),
            fastloss=lambda x, t, n, nt: fl.sequence_cross_entropy(x, t, lengths=n, return_grad=True, n_threads=nt),
            numpy=lambda x, t, n: ref.sequence_cross_entropy(x, t, lengths=n),
            torch=lambda F, x, t, n: F.cross_entropy(
                x.reshape(-1, x.shape[-1]), torch_masked_targets(t, n).reshape(-1)
            ),
        ),
    ]


# ------------------------------------------------------------------ timing
@dataclass
class Timing:
    best: float  # seconds per call, the best sample
    median: float  # seconds per call, the median sample

    @property
    def noisy(self) -> bool:
        return self.median > NOISY * self.best


def time_call(fn: Callable[[], Any], repeat: int) -> Timing:
    """Seconds per call: `repeat` samples (GC off), each looping the call until it lasts
    MIN_SAMPLE_S, far above the timer's resolution; the best is the time, the median says how
    much the samples spread."""
    min_sample = max(MIN_SAMPLE_S, 1000 * time.get_clock_info("perf_counter").resolution)

    def loop(number: int) -> float:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return time.perf_counter() - start

    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        fn()  # warm-up: first-touch page faults, lazy initialisation
        number = 1
        while loop(number) < min_sample:
            number *= 2
        samples = [loop(number) / number for _ in range(repeat)]
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(min(samples), statistics.median(samples))


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


# ------------------------------------------------------------------ the machine
def cpu_model() -> str:
    """The CPU's model name, with its family and model numbers (a hypervisor may show only
    "AMD EPYC", which names no generation: family 23 is Zen 1/2, 25 Zen 3/4, 26 Zen 5)."""
    fields: Dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "cpu family", "model") and key not in fields:
                    fields[key] = value.strip()
                if not line.strip() and fields:  # the first processor's block is enough
                    break
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']} model {fields['model']})"
    return name


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask), as the kernels count them."""
    return fl._core.usable_cpus()


def load_warning(when: str) -> Optional[str]:
    """A warning when the 1-minute load average exceeds the CPUs this process may use."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this platform
        return None
    cpus = usable_cpus()
    if load <= cpus:
        return None
    return (
        f"warning: the load average {when} ({load:.1f}) exceeds the {cpus} usable CPUs: other work "
        "competes for the cores, so the times are slower and noisier than on an idle machine"
    )


def print_header(torch: Any, args: argparse.Namespace) -> None:
    threads = args.n_threads if args.n_threads is not None else fl.max_threads()
    torch_threads = f", torch {torch.get_num_threads()}" if torch else ""
    print(
        f"fastloss {fl.__version__}: loss and gradient in one fused pass "
        f"(float32 batches, reduction='mean'{', --quick: smaller batches' if args.quick else ''})"
    )
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}")
    print(f"cpu: {cpu_model()}, {usable_cpus()} usable CPUs; fastloss ISA level: {fl.simd_level()}")
    source = "--n-threads" if args.n_threads is not None else "fastloss.max_threads()"
    print(f"threads: fastloss {threads} ({source}){torch_threads}")
    warning = load_warning("before the run")
    if warning:
        print(warning)


# ------------------------------------------------------------------ the tour
ROW = "{:<32} {:<26} {:>8}  {:>8} {:>8} {:>5}  {:>9}  {:>9} {:>6}  {:>9} {:>6}"


def show_example(ex: Example, torch: Any, args: argparse.Namespace) -> List[Timing]:
    """One row of the table: value, gradient check against the float64 reference, times."""
    loss, grad = ex.fastloss(*ex.inputs, args.n_threads)
    ref_loss, ref_grad = ex.numpy(*(a.astype(np.float64) if a.dtype.kind == "f" else a for a in ex.inputs))
    abs_err = float(np.max(np.abs(grad - ref_grad)))
    rel_err = abs_err / float(np.max(np.abs(ref_grad)))
    ok = rel_err < 1e-5 and abs(float(loss) - ref_loss) <= 1e-5 * abs(ref_loss)

    t_fl = time_call(lambda: ex.fastloss(*ex.inputs, args.n_threads), args.repeat)
    t_np = time_call(lambda: ex.numpy(*ex.inputs), args.repeat)
    t_torch = time_call(torch_step(torch, ex), args.repeat) if torch else None

    def ms(t: Optional[Timing]) -> str:
        return f"{t.best * 1e3:.3f}{'~' if t.noisy else ''}" if t else "-"

    def ratio(t: Optional[Timing]) -> str:
        return f"{t.best / t_fl.best:.2f}x" if t else ""

    print(
        ROW.format(
            ex.loss,
            ex.batch,
            f"{float(loss):.5f}",
            f"{abs_err:.1e}",
            f"{rel_err:.1e}",
            "ok" if ok else "FAIL",
            ms(t_fl),
            ms(t_np),
            ratio(t_np),
            ms(t_torch),
            ratio(t_torch),
        )
    )
    return [t for t in (t_fl, t_np, t_torch) if t is not None]


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    torch = optional_torch()
    if torch is not None and args.n_threads is not None:
        torch.set_num_threads(args.n_threads)  # the same thread count for both
    print_header(torch, args)
    print()
    header = ROW.format("loss", "batch", "value", "abs err", "rel err", "check", "fastloss", "numpy", "", "torch", "")
    print(header.rstrip())
    print("-" * len(header))
    timings = [t for ex in examples(args.quick) for t in show_example(ex, torch, args)]

    print()
    print("abs/rel err: fastloss's float32 gradient vs the float64 NumPy reference (rel = abs err / max |grad|);")
    print("             check is ok when rel err and the loss value's relative error are below 1e-5")
    print(f"times:       ms per call for value + gradient, best of {args.repeat}; Nx = that time / fastloss's time;")
    print("             numpy runs the reference formulas (fastloss._reference) in float32")
    if torch is None:
        print("PyTorch is not installed, so its column is empty (pip install torch to compare)")
    noisy = [t.median / t.best for t in timings if t.noisy]
    if noisy:
        print(
            f"warning: {len(noisy)} of {len(timings)} times are noisy (marked ~: the median sample is up to "
            f"{max(noisy):.1f}x the best): other work on the machine is the usual cause; trust them only "
            "after a rerun on an idle machine, or with a larger --repeat"
        )
    warning = load_warning("after the run")  # the load may have risen during the run
    if warning:
        print(warning)

    show_decoder_scores(args.quick, args.n_threads)
    print()
    print(
        "next: python examples/linear_regression.py and examples/softmax_classifier.py (in the source tree) "
        "train models with fastloss and NumPy alone; python bench/run.py --quick is the full benchmark"
    )


def show_decoder_scores(quick: bool, n_threads: Optional[int]) -> None:
    """The decoder batch scored per sequence and per token, as for ranking candidate outputs."""
    logits, targets, lengths = decoder_batch(2 if quick else 8)
    per_seq = np.asarray(
        fl.sequence_cross_entropy(logits, targets, lengths=lengths, reduction="sequence", n_threads=n_threads)
    )
    per_token = np.asarray(
        fl.sequence_cross_entropy(logits, targets, lengths=lengths, reduction="none", n_threads=n_threads)
    )
    print()
    print(
        "decoder batch, per sequence: reduction='sequence' sums each sequence's token losses "
        "(its negative log-likelihood)"
    )
    print("  length " + " ".join(f"{n:>7d}" for n in lengths))
    print("  score  " + " ".join(f"{v:>7.1f}" for v in per_seq))
    n = int(lengths[0])
    shown = [0, 1, 2, n - 2, n - 1, n]
    print(
        f"  first sequence, reduction='none' (length {n}; steps from {n} on are masked, loss 0): "
        + ", ".join(f"t={t} {per_token[0, t]:.3f}" for t in shown)
    )


if __name__ == "__main__":
    main()
