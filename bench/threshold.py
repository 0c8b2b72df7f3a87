#!/usr/bin/env python
"""Measures where a second thread starts to pay, to choose fastloss's threading threshold.

    python bench/threshold.py [--repeats R] [--threads N]

With the threshold off (every problem of at least two blocks is split across N threads), each
kernel is timed at n_threads=1 and N over sizes from 2^15 to 2^21 elements, best of R. The
kernels scale their size by their cost per element before comparing it with the threshold
(mse, l1 and SGD 1, BCE 8, cross-entropy 4 per logit), so sizes are also shown in
mse-equivalent elements. A valid threshold is above every size where N threads were slower
(t_N / t_1 > 1.05, beyond timing noise) and at most the size from which they are faster at
every larger size; the script suggests the largest power of two in that range (threads pay
from there, small inputs never get slower). fastloss's default (kDefaultMinParallelWork in
cpp/include/fastloss/parallel.hpp) is what it suggested on the development machine.
Problems of one block (up to 2^14 elements) never use threads, whatever the threshold: the
block is also the unit of the fixed-order reduction, so smaller sizes are not measured.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable, Dict, Tuple

import fastloss as fl
import numpy as np
from fastloss import _core

SIZES = [1 << k for k in range(15, 22)]  # below 2^15 every kernel has one block: one thread


def elementwise(fn: Callable[..., Any], inputs: Callable[[int], Tuple[np.ndarray, np.ndarray]]) -> Callable[..., Any]:
    def make(n: int) -> Callable[[int], Any]:
        x, y = inputs(n)
        g = np.empty_like(x)
        return lambda threads: fn(x, y, return_grad=True, grad_out=g, n_threads=threads)

    return make


def cross_entropy(classes: int) -> Callable[..., Any]:
    def make(n: int) -> Callable[[int], Any]:
        rows = max(1, n // classes)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((rows, classes), dtype=np.float32)
        t = rng.integers(0, classes, rows)
        g = np.empty_like(x)
        return lambda threads: fl.cross_entropy(x, t, return_grad=True, grad_out=g, n_threads=threads)

    return make


def sgd(n: int) -> Callable[[int], Any]:
    rng = np.random.default_rng(0)
    p, g = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    return lambda threads: fl.sgd_step([p], [g], 1e-6, weight_decay=0.01, n_threads=threads)


def pair(n: int) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal(n, dtype=np.float32), rng.random(n, dtype=np.float32)


KERNELS: Dict[str, Tuple[Callable[[int], Callable[[int], Any]], int]] = {
    "mse": (elementwise(fl.mse_loss, pair), 1),
    "l1": (elementwise(fl.l1_loss, pair), 1),
    "bce_with_logits": (elementwise(fl.binary_cross_entropy_with_logits, pair), 8),
    "cross_entropy C=1000": (cross_entropy(1000), 4),
    "cross_entropy C=128": (cross_entropy(128), 4),
    "sgd_step": (sgd, 1),
}


def best_time(run: Callable[[int], Any], threads: int, repeats: int) -> float:
    number = 1
    while True:  # loop small calls to >= 2 ms per sample
        t0 = time.perf_counter()
        for _ in range(number):
            run(threads)
        if time.perf_counter() - t0 >= 2e-3:
            break
        number *= 2
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            run(threads)
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(
        f"threading threshold sweep: n_threads=1 vs {args.threads}, best of {args.repeats}, "
        f"SIMD {fl.simd_level()}, current threshold {_core.min_parallel_work()} mse-equivalent elements"
    )
    _core.set_min_parallel_work(0)
    try:
        too_small = 0  # mse-equivalent sizes at which N threads were slower
        pays_from = 1 << 62  # mse-equivalent size from which N threads are faster at every size
        for name, (make, work) in KERNELS.items():
            ratios = []
            for n in SIZES:
                run = make(n)
                t1 = best_time(run, 1, args.repeats)
                tn = best_time(run, args.threads, args.repeats)
                ratios.append(tn / t1)
            cells = "  ".join(f"2^{n.bit_length() - 1}:{r:.2f}" for n, r in zip(SIZES, ratios))
            print(f"  {name:22s} t{args.threads}/t1  {cells}")
            slower = [n for n, r in zip(SIZES, ratios) if r > 1.05]
            faster = next((SIZES[i] for i in range(len(SIZES)) if all(r < 0.95 for r in ratios[i:])), None)
            if slower:
                too_small = max(too_small, max(slower) * work)
            if faster is not None:
                pays_from = min(pays_from, faster * work)
            print(
                f"  {'':22s} slower with {args.threads} threads at: {slower or 'no size'}; faster from: "
                f"{'never' if faster is None else f'{faster} elements ({faster * work} mse-equivalent)'}"
            )
        if too_small < pays_from < 1 << 62:
            print(
                f"suggested threshold: {1 << (pays_from.bit_length() - 1)} mse-equivalent elements "
                f"(valid range: above {too_small}, at most {pays_from})"
            )
        else:
            print(f"no threshold separates them: slower up to {too_small}, faster from {pays_from} (noisy machine?)")
    finally:
        _core.set_min_parallel_work(-1)


if __name__ == "__main__":
    main()
