"""A CPU training step with fastloss.torch vs native torch: an MLP on random data with
cross-entropy over 32000 classes, batch 4096.

Reports, best of several repeats after warm-up, each side timed in the same run:
- the whole step (forward, loss, backward, SGD update) with the adapter and with F.cross_entropy;
- the loss part alone (cross-entropy forward + backward on the step's logits, which require
  grad): fastloss.torch.cross_entropy vs F.cross_entropy, and their ratio (target: >= 5x).

    python bench/torch_step.py [--quick] [--threads N] [--hidden H]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable, List

import fastloss
from fastloss.__main__ import cpu_model

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("bench/torch_step.py needs PyTorch: pip install torch==2.13.0")
import fastloss.torch as ft


def best_of(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    samples: List[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t0)
    return min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a smaller batch")
    parser.add_argument("--threads", type=int, default=None, help="torch and fastloss threads (default: all usable)")
    parser.add_argument("--hidden", type=int, default=128, help="width of the MLP's hidden layer")
    args = parser.parse_args()
    threads = args.threads or fastloss.max_threads()
    torch.set_num_threads(threads)
    batch, classes, features = (1024 if args.quick else 4096), 32000, 256
    repeats = 3 if args.quick else 7

    print("fastloss.torch training step vs native torch (cross-entropy over 32000 classes)")
    print(f"  cpu       {cpu_model()}; fastloss SIMD {fastloss.simd_level()}; {threads} threads on both sides")
    print(f"  versions  torch {torch.__version__}, fastloss {getattr(fastloss, '__version__', '?')}")
    print(f"  problem   MLP {features} -> {args.hidden} -> {classes}, batch {batch}, float32, SGD lr 0.01")
    print(f"  timing    best of {repeats} after one warm-up call")

    g = torch.Generator().manual_seed(0)
    data = torch.randn(batch, features, generator=g)
    labels = torch.randint(0, classes, (batch,), generator=g)

    def make_step(loss_fn: Callable[..., torch.Tensor]) -> Callable[[], float]:
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(features, args.hidden), torch.nn.ReLU(), torch.nn.Linear(args.hidden, classes)
        )
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def step() -> float:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(data), labels)
            loss.backward()
            opt.step()
            return float(loss.detach())

        return step

    logits = torch.randn(batch, classes, generator=g).requires_grad_(True)

    def loss_part(loss_fn: Callable[..., torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            logits.grad = None
            loss_fn(logits, labels).backward()

        return run

    results = {}
    for name, fn in (("fastloss.torch", ft.cross_entropy), ("torch", F.cross_entropy)):
        results[name] = (best_of(make_step(fn), repeats), best_of(loss_part(fn), repeats))
    step_ours, loss_ours = results["fastloss.torch"]
    step_theirs, loss_theirs = results["torch"]
    gb = 8 * batch * classes / 1e9  # read the logits, write their gradient (float32)
    print()
    print(f"  {'':24} {'fastloss.torch':>15} {'torch':>10} {'ratio':>7}")
    print(
        f"  {'training step (ms)':24} {step_ours * 1e3:15.1f} {step_theirs * 1e3:10.1f} {step_theirs / step_ours:6.2f}x"
    )
    print(
        f"  {'loss fwd+bwd (ms)':24} {loss_ours * 1e3:15.1f} {loss_theirs * 1e3:10.1f} {loss_theirs / loss_ours:6.2f}x"
    )
    print(f"  {'loss fwd+bwd GB/s':24} {gb / loss_ours:15.1f} {gb / loss_theirs:10.1f}")
    print(
        f"  loss share of the step: fastloss.torch {loss_ours / step_ours:.0%}, torch {loss_theirs / step_theirs:.0%}"
    )
    print("  target: the loss part >= 5x faster than native: " + ("met" if loss_theirs / loss_ours >= 5 else "NOT met"))


if __name__ == "__main__":
    main()
