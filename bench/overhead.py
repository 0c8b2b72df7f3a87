"""The per-call overhead report: one call on a tiny input.

fastloss's value + gradient of mse on 8 elements against the forward alone of the NumPy
expression (target: at most a quarter of it) and of PyTorch (target: below it); cross_entropy
on (1, 10) logits the same way, reported without a target.
"""

from __future__ import annotations

from typing import Any, Dict, List

import fastloss as fl
import numpy as np
from measure import time_per_call
from peers import torch
from report import progress

OVERHEAD_TARGET = 0.25  # fastloss value+grad on a tiny input vs the NumPy expression's forward alone


def run_overhead(threads: int, repeats: int) -> Dict[str, Any]:
    """The cost of a call on a tiny input: fastloss's value + gradient of mse on 8 elements and
    of cross_entropy on (1, 10) logits, against the forward alone of the NumPy expression and of
    PyTorch, best of `repeats`. The targets apply to mse (issue 7); cross_entropy is reported."""
    progress("measuring per-call overhead ...")
    rng = np.random.default_rng(8)
    x, y = rng.random(8, dtype=np.float32), rng.random(8, dtype=np.float32)
    logits, labels = rng.standard_normal((1, 10)).astype(np.float32), np.array([3])
    rows = np.arange(1)

    def numpy_cross_entropy() -> Any:
        m = logits.max(axis=1, keepdims=True)
        return np.mean(np.log(np.exp(logits - m).sum(axis=1)) + m[:, 0] - logits[rows, labels])

    cases: List[Dict[str, Any]] = [
        {
            "case": "mse",
            "size": "8 elements",
            "runs": {
                "fastloss value+grad": lambda: fl.mse_loss(x, y, return_grad=True, n_threads=threads),
                "numpy forward": lambda: np.mean((x - y) ** 2),
            },
        },
        {
            "case": "cross_entropy",
            "size": "(1, 10) logits",
            "runs": {
                "fastloss value+grad": lambda: fl.cross_entropy(logits, labels, return_grad=True, n_threads=threads),
                "numpy forward": numpy_cross_entropy,
            },
        },
    ]
    if torch is not None:
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        lt, tt = torch.from_numpy(logits), torch.from_numpy(labels)
        cases[0]["runs"]["torch forward"] = lambda: torch.nn.functional.mse_loss(xt, yt)
        cases[1]["runs"]["torch forward"] = lambda: torch.nn.functional.cross_entropy(lt, tt)
    for case in cases:
        best: Dict[str, float] = {}
        for name, run in case.pop("runs").items():
            run()
            samples, _ = time_per_call(run, repeats)
            best[name] = min(samples)
        case["best_s"] = best
    return {"cases": cases, "target_vs_numpy_forward": OVERHEAD_TARGET, "target_case": "mse"}


def print_overhead(overhead: Dict[str, Any]) -> None:
    for case in overhead["cases"]:
        best = case["best_s"]
        mine = best["fastloss value+grad"]
        targeted = case["case"] == overhead["target_case"]
        print(f"\nper-call overhead: {case['case']} on {case['size']}, float32, time per call")
        for name, seconds in best.items():
            print(f"  {name:22s} {seconds * 1e6:7.2f} us")
        ratio = mine / best["numpy forward"]
        target = overhead["target_vs_numpy_forward"]
        verdict = (f" (target <= {target:.2f}){'' if ratio <= target else '  <- MISSED'}") if targeted else ""
        print(f"  fastloss value+grad / NumPy forward alone = {ratio:.2f}{verdict}")
        if "torch forward" in best:
            ratio = mine / best["torch forward"]
            verdict = f" (target < 1){'' if ratio < 1 else '  <- MISSED'}" if targeted else ""
            print(f"  fastloss value+grad / torch forward alone = {ratio:.2f}{verdict}")
