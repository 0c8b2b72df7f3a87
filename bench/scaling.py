"""The thread-scaling report: fastloss grad_out= at n_threads=1 and N on a few inputs.

speedup = time(1) / time(N). Large memory-bound inputs are held against STREAM's speedup
measured just before (target: speedup / STREAM's speedup >= 0.90); small inputs must not get
slower (target: time(N) / time(1) <= 1.05, 5 % for timing noise).
"""

from __future__ import annotations

import gc
import math
from typing import Any, Dict, List, NamedTuple, Tuple

import numpy as np
from cases import Case
from measure import OtherLoad, is_busy, measure_peer, stream_gbs, stream_reference
from peers import Shape
from report import fmt_ms, fmt_size, peer_problem, progress


class ScalingProblem(NamedTuple):
    """One input of the thread-scaling report, timed at n_threads=1 and n_threads=N."""

    case: str  # a Case's name; skipped when --only leaves that case out
    shape: Shape
    quick_shape: Shape
    large: bool  # memory-bound: compared with STREAM's speedup; else small: must not get slower


SCALING_PEER = "fastloss grad_out="  # value + grad into a preallocated gradient: no allocation timed
SCALING_PROBLEMS: List[ScalingProblem] = [
    ScalingProblem("cross_entropy", (4096, 32000), (1024, 32000), True),
    ScalingProblem("mse", (16 * 10**6,), (4 * 10**6,), True),
    *(ScalingProblem("mse", (n,), (n,), False) for n in (8, 1000, 65536, 262144)),
    ScalingProblem("cross_entropy", (64, 1000), (64, 1000), False),
    ScalingProblem("cross_entropy", (8192, 128), (8192, 128), False),
    ScalingProblem("bce_with_logits", (65536,), (65536,), False),
]
SCALING_TARGET = 0.90  # large inputs: speedup >= 0.90 x STREAM's speedup (1 -> N threads)
SMALL_TOLERANCE = 1.05  # small inputs: time with N threads <= 1.05 x time with 1 (5 % for timing noise)
ONE_THREAD, N_THREADS = "1_thread", "n_threads"  # the keys of the two measurements in the report


def scaling_problems(cases: List[Case]) -> List[Tuple[ScalingProblem, Case]]:
    """The SCALING_PROBLEMS whose case is among `cases` (--only), each with its case."""
    by_name = {case.name: case for case in cases}
    return [
        (spec, by_name[spec.case])
        for spec in SCALING_PROBLEMS
        if spec.case in by_name and SCALING_PEER in by_name[spec.case].peers
    ]


SMALL_ROUNDS = 3  # alternating rounds of 1 and N threads for the small inputs


def run_scaling(
    cases: List[Case], quick: bool, threads: int, repeats: int, stream_n: int, rng: np.random.Generator
) -> Dict[str, Any]:
    """Time fastloss grad_out= at n_threads=1 and N on the SCALING_PROBLEMS of `cases`, and STREAM at 1 and N."""
    progress("measuring thread scaling ...")
    stream_load = OtherLoad()
    stream = {ONE_THREAD: stream_gbs(stream_n, 1, repeats), N_THREADS: stream_gbs(stream_n, threads, repeats)}
    stream_other_load = stream_load.cores()
    stream_speedup = stream_reference(stream[N_THREADS]) / stream_reference(stream[ONE_THREAD])
    rows, problems = [], []
    for spec, case in scaling_problems(cases):
        shape = spec.quick_shape if quick else spec.shape
        inputs = case.make_inputs(shape, rng)
        row: Dict[str, Any] = {
            "case": case.name,
            "shape": list(shape),
            "elements": math.prod(shape),
            "large": spec.large,
        }
        row_load = OtherLoad()
        reference: List[np.ndarray] = []  # the 1-thread result; the N-thread one must match it
        # Small inputs take a few ms: their two counts alternate over SMALL_ROUNDS rounds (best of
        # all kept), so that a slow spell of the shared machine does not fall on one count only.
        for _ in range(1 if spec.large else SMALL_ROUNDS):
            for key, n in ((ONE_THREAD, 1), (N_THREADS, threads)):
                entry = measure_peer(case.peers[SCALING_PEER], inputs, n, repeats, reference, case.check_rtol)
                if key not in row or entry.get("best_s", math.inf) < row[key].get("best_s", math.inf):
                    row[key] = entry
                text = peer_problem(shape, f"{case.name} n_threads={n}", entry, "n_threads=1")
                if text is not None and text not in problems:
                    problems.append(text)
        row["other_load"] = row_load.cores()
        if "best_s" in row[ONE_THREAD] and "best_s" in row[N_THREADS]:
            row["speedup"] = speedup = row[ONE_THREAD]["best_s"] / row[N_THREADS]["best_s"]
            if spec.large:
                row["vs_stream"] = speedup / stream_speedup
                row["ok"] = row["vs_stream"] >= SCALING_TARGET
            else:
                row["ok"] = 1 / speedup <= SMALL_TOLERANCE
        rows.append(row)
        del inputs, reference
        gc.collect()
    return {
        "peer": SCALING_PEER,
        "threads": [1, threads],
        "stream_gbs_by_kernel": stream,
        "stream_speedup": stream_speedup,
        "stream_other_load": stream_other_load,
        "target_vs_stream": SCALING_TARGET,
        "small_tolerance": SMALL_TOLERANCE,
        "rows": rows,
        "problems": problems,
    }


def print_scaling(scaling: Dict[str, Any]) -> None:
    """Two tables: large inputs against STREAM's speedup, small inputs against no slowdown."""
    n = scaling["threads"][1]
    s1, sn = scaling["stream_gbs_by_kernel"][ONE_THREAD], scaling["stream_gbs_by_kernel"][N_THREADS]
    stream_speedup = scaling["stream_speedup"]
    print(f"\nthread scaling: {scaling['peer']} (value + grad into a preallocated gradient) at n_threads=1 and {n}")
    print(f"  speedup   time with 1 thread / time with {n} threads")
    print(
        f"  STREAM    {stream_reference(s1):.1f} GB/s with 1 thread, {stream_reference(sn):.1f} with {n}: speedup "
        f"{stream_speedup:.2f}x (the better kernel at each count; triad {sn['triad'] / s1['triad']:.2f}x, add "
        f"{sn['add'] / s1['add']:.2f}x){'  <- BUSY machine' if is_busy(scaling['stream_other_load']) else ''}"
    )
    print(
        f"  large     memory-bound; target: speedup >= {scaling['target_vs_stream']:.2f} x STREAM's speedup, "
        f"i.e. vs STREAM = speedup / {stream_speedup:.2f} >= {scaling['target_vs_stream']:.2f}"
    )
    print(
        f"  small     target: never slower with {n} threads, t{n}/t1 <= {scaling['small_tolerance']:.2f} "
        "(5 % allowed for timing noise)"
    )

    def ms(row: Dict[str, Any], key: str) -> str:
        return fmt_ms(row[key].get("best_s")) + ("" if row[key].get("check_ok", True) else "!")

    for large in (True, False):
        rows = [row for row in scaling["rows"] if row["large"] == large]
        if not rows:
            continue
        last = "vs STREAM" if large else f"t{n}/t1"
        print(f"\n{'case':>16}  {'size':>14}  {'1 thread ms':>11}  {f'{n} threads ms':>12}  {'speedup':>7}  {last:>9}")
        for row in rows:
            size = fmt_size(tuple(row["shape"])) + ("*" if is_busy(row["other_load"]) else "")
            cells = [f"{row['case']:>16}", f"{size:>14}", f"{ms(row, ONE_THREAD):>11}", f"{ms(row, N_THREADS):>12}"]
            if "speedup" in row:
                value = row["vs_stream"] if large else 1 / row["speedup"]
                cells += [f"{row['speedup']:>6.2f}x", f"{value:>9.2f}", "ok" if row["ok"] else "<- MISSED"]
            print("  ".join(cells))
    for text in scaling["problems"]:
        print(f"  ! {text}")
