"""Latency under load (--contention): fastloss at n_threads=None vs n_threads=1, every call timed
alone, first on the idle machine, then with one busy process (a pure-Python spin loop) per
usable CPU. Target under load: p99(None) <= 1.5 x p99(1) and mean(None) <= 1.2 x mean(1).

The busy processes are killed when the measurement ends, however it ends, and stop by
themselves at a deadline or when this process is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import signal
import subprocess
import sys
import time
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

import fastloss as fl
import numpy as np
from cases import Case
from measure import BUSY, OtherLoad, check_result, is_busy, to_numpy
from peers import Run, Shape
from report import fmt_ms, fmt_size, print_header, progress


class ContentionProblem(NamedTuple):
    """One input of the --contention report: value + grad into a preallocated gradient."""

    case: str  # a Case's name (its make_inputs makes the inputs); skipped when --only leaves it out
    function: str  # the fastloss function called
    shape: Shape
    budget_s: float  # seconds of timed calls per condition (idle, loaded), both thread counts together
    quick_budget_s: float
    min_calls: int  # timed calls per thread count at least, even where that takes longer than the budget


CONTENTION_PROBLEMS: List[ContentionProblem] = [
    ContentionProblem("mse", "mse_loss", (2**16,), 4, 2, 200),
    ContentionProblem("mse", "mse_loss", (2**20,), 8, 3, 200),
    ContentionProblem("mse", "mse_loss", (2**24,), 28, 10, 100),
    ContentionProblem("cross_entropy", "cross_entropy", (512, 32000), 28, 10, 100),
]
CONTENTION_P99_TARGET = 1.5  # p99 at n_threads=None <= 1.5 x p99 at n_threads=1
CONTENTION_MEAN_TARGET = 1.2  # mean at n_threads=None <= 1.2 x mean at n_threads=1
CONTENTION_MODES = (("default", None), ("one_thread", 1))  # (key, n_threads)
CONTENTION_MAX_CALLS = 20000  # calls per thread count at most (the small inputs stop there, before their budget)

# A busy process: a pure-Python spin loop (one core's worth of CPU work, no memory traffic to
# speak of) that ends by itself at its deadline, or as soon as its parent is gone.
SPIN_CHILD = """
import os, sys, time
deadline, parent = time.monotonic() + float(sys.argv[1]), os.getppid()
print("ready", flush=True)
try:
    while time.monotonic() < deadline and os.getppid() == parent:
        for _ in range(100_000):
            pass
except KeyboardInterrupt:
    pass
"""


@contextlib.contextmanager
def busy_processes(count: int, seconds: float) -> Iterator[List["subprocess.Popen[str]"]]:
    """`count` busy processes, running (each has said so) when the body starts, killed when it
    ends, however it ends; each also stops by itself after `seconds`."""
    procs: List["subprocess.Popen[str]"] = []
    try:
        for _ in range(count):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", SPIN_CHILD, f"{seconds:.0f}"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a busy process did not start")
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for proc in procs:
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def contention_problems(cases: List[Case]) -> List[Tuple[ContentionProblem, Case]]:
    """The CONTENTION_PROBLEMS whose case is among `cases` (--only), each with its case."""
    by_name = {case.name: case for case in cases}
    return [(spec, by_name[spec.case]) for spec in CONTENTION_PROBLEMS if spec.case in by_name]


def time_calls(run: Run, seconds: float, min_calls: int, max_calls: int) -> List[int]:
    """Nanoseconds of each call of `run`, timed alone, after one untimed call: at least `min_calls`
    calls, more until `seconds` have passed, at most `max_calls`."""
    clock = time.perf_counter_ns
    run()
    times: List[int] = []
    t1 = clock()
    end = t1 + int(seconds * 1e9)
    while len(times) < max_calls and (len(times) < min_calls or t1 < end):
        t0 = clock()
        run()
        t1 = clock()
        times.append(t1 - t0)
    return times


def latency_stats(times_ns: List[int]) -> Dict[str, Any]:
    t = np.array(times_ns, dtype=np.float64) * 1e-9
    p50, p99 = np.percentile(t, [50, 99])
    return {
        "calls": len(times_ns),
        "p50_s": float(p50),
        "p99_s": float(p99),
        "mean_s": float(t.mean()),
        "max_s": float(t.max()),
        "samples_ns": times_ns,
    }


def process_cpu_seconds(procs: List["subprocess.Popen[str]"]) -> Optional[float]:
    """CPU seconds (user + system) used so far by running processes, from /proc/PID/stat; None elsewhere."""
    ticks = 0
    try:
        for proc in procs:
            with open(f"/proc/{proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 (state) first
            ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15: utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def measure_latency(runs: Dict[str, Run], budget_s: float, min_calls: int) -> Dict[str, Any]:
    """Time single calls of each run, in rounds in which every run does a block of calls (order
    reversed every round: A B B A ...), for about `budget_s` seconds in all after a warm-up.

    One round per half second of budget (10 to 60 rounds); in each, a run's block lasts its
    share of the budget (budget / runs / rounds), but has at least its share of `min_calls`
    (a slow run takes longer) and at most its share of CONTENTION_MAX_CALLS
    (a fast one stops earlier). A measurement that has taken 3 x budget_s ends after the round.
    Returns per run its latency_stats, then the ratios default / one_thread and the verdict.
    """
    warm_s = min(0.5, budget_s / 10)
    rounds = min(60, max(10, round(budget_s / 0.5)))
    block_s = budget_s / len(runs) / rounds
    block_min, block_max = math.ceil(min_calls / rounds), CONTENTION_MAX_CALLS // rounds
    for run in runs.values():  # warm-up
        t0, n = time.perf_counter(), 0
        while n < 3 or time.perf_counter() - t0 < warm_s:
            run()
            n += 1
    times: Dict[str, List[int]] = {key: [] for key in runs}
    order = list(runs)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(rounds):
            for key in order:
                times[key] += time_calls(runs[key], block_s, block_min, block_max)
            order.reverse()
            if time.perf_counter() - t0 > 3 * budget_s:
                break
        elapsed = time.perf_counter() - t0
    finally:
        if gc_was_enabled:
            gc.enable()
    result: Dict[str, Any] = {key: latency_stats(t) for key, t in times.items()}
    result["seconds"] = elapsed
    default, one = result["default"], result["one_thread"]
    result["p99_ratio"] = p99_ratio = default["p99_s"] / one["p99_s"]
    result["mean_ratio"] = mean_ratio = default["mean_s"] / one["mean_s"]
    result["ok"] = p99_ratio <= CONTENTION_P99_TARGET and mean_ratio <= CONTENTION_MEAN_TARGET
    return result


def contention_run(fn: Any, inputs: Any, grad: np.ndarray, n_threads: Optional[int]) -> Run:
    """One timed call: value and gradient into `grad`."""
    return lambda: fn(*inputs.args, **inputs.kwargs, return_grad=True, grad_out=grad, n_threads=n_threads)


def run_contention(cases: List[Case], quick: bool, busy: int, rng: np.random.Generator) -> Dict[str, Any]:
    """For each input: latency per call at n_threads=None and 1, first idle, then with `busy` busy processes."""
    rows, problems = [], []
    for spec, case in contention_problems(cases):
        t_start = time.perf_counter()
        budget = spec.quick_budget_s if quick else spec.budget_s
        inputs = case.make_inputs(spec.shape, rng)
        grad = np.empty_like(inputs.args[0])
        runs = {key: contention_run(getattr(fl, spec.function), inputs, grad, n) for key, n in CONTENTION_MODES}
        row: Dict[str, Any] = {
            "case": case.name,
            "function": spec.function,
            "shape": list(spec.shape),
            "elements": math.prod(spec.shape),
            "budget_s": budget,
        }
        reference = [to_numpy(r).copy() for r in runs["one_thread"]()]
        row["check_ok"], row["check_err"] = check_result(runs["default"](), reference, case.check_rtol or 0.0)
        if not row["check_ok"]:
            problems.append(
                f"{spec.function} {fmt_size(spec.shape)}: the result at n_threads=None differs from "
                f"n_threads=1's (max error {row['check_err']:.2g} relative to the largest |value|)"
            )
        load = OtherLoad()
        row["idle"] = measure_latency(runs, budget, spec.min_calls)
        row["idle"]["other_load"] = load.cores()
        # the busy processes stop by themselves well after the longest this measurement may take
        with busy_processes(busy, 3 * budget + 60) as procs:
            load, t0, busy_cpu = OtherLoad(), time.perf_counter(), process_cpu_seconds(procs)
            row["loaded"] = measure_latency(runs, budget, spec.min_calls)
            busy_end, other = process_cpu_seconds(procs), load.cores()
            if busy_cpu is not None and busy_end is not None and other is not None:
                # OtherLoad's "other" counts the busy processes too: report them apart
                other["busy"] = (busy_end - busy_cpu) / (time.perf_counter() - t0)
                other["other"] = max(0.0, other["other"] - other["busy"])
            row["loaded"]["other_load"] = other
            if any(proc.poll() is not None for proc in procs):
                problems.append(f"{spec.function} {fmt_size(spec.shape)}: a busy process ended during the measurement")
        rows.append(row)
        del inputs, grad, runs, reference
        gc.collect()
        progress(f"  {spec.function} {fmt_size(spec.shape)}: {time.perf_counter() - t_start:.1f} s")
    return {
        "function_call": "fn(*inputs, return_grad=True, grad_out=grad, n_threads=n)",
        "n_threads": {key: n for key, n in CONTENTION_MODES},
        "busy_processes": busy,
        "busy_process": "pure-Python spin loop (python -c), one per usable CPU",
        "target_p99_ratio": CONTENTION_P99_TARGET,
        "target_mean_ratio": CONTENTION_MEAN_TARGET,
        "rows": rows,
        "problems": problems,
    }


def print_contention(contention: Dict[str, Any], default_threads: str) -> None:
    """Two tables, idle and loaded: p50 / p99 / mean per call at each thread count, ratios, verdicts."""
    p99_target, mean_target = contention["target_p99_ratio"], contention["target_mean_ratio"]
    print(f"\nlatency per call: {contention['function_call']}, float32, value + grad, each call timed alone")
    print(f"  default   n_threads=None ({default_threads});  1 thread: n_threads=1")
    print(
        f"  x         default / 1 thread, of p99 and of the mean; target: p99 x <= {p99_target:.1f} and "
        f"mean x <= {mean_target:.1f} (PASS / FAIL)"
    )
    print(f"  busy      cores used by the {contention['busy_processes']} busy processes ({contention['busy_process']})")
    print("  other     cores used by other processes, steal: taken by the hypervisor, while the row was measured;")
    print(f"            size*: other + steal > {BUSY} cores, the row's times are suspect")
    for condition, title in (
        ("idle", "idle (no busy processes)"),
        ("loaded", f"loaded ({contention['busy_processes']} busy processes)"),
    ):
        head = f"{'calls':>6}  {'p50 ms':>8}  {'p99 ms':>8}  {'mean ms':>8}"
        print(f"\n{title}")
        print(f"{'':>14}  {'':>10}  {'default':^{len(head)}}  {'1 thread':^{len(head)}}")
        print(
            f"{'case':>14}  {'size':>10}  {head}  {head}  {'p99 x':>6}  {'mean x':>6}  {'':4}  "
            f"{'busy':>5}  {'other':>5}  {'steal':>5}"
        )
        for row in contention["rows"]:
            m = row[condition]
            load = m["other_load"]
            size = fmt_size(tuple(row["shape"])) + ("" if row["check_ok"] else "!") + ("*" if is_busy(load) else "")
            cells = [f"{row['function']:>14}", f"{size:>10}"]
            for key in ("default", "one_thread"):
                cells += [f"{m[key]['calls']:>6}", *(f"{fmt_ms(m[key][s]):>8}" for s in ("p50_s", "p99_s", "mean_s"))]
            cells += [f"{m['p99_ratio']:>5.2f}x", f"{m['mean_ratio']:>5.2f}x", "PASS" if m["ok"] else "FAIL"]
            if load is not None:
                cells += [f"{load.get('busy', 0.0):>5.2f}", f"{load['other']:>5.2f}", f"{load['steal']:>5.2f}"]
            print("  ".join(cells))
        passed = sum(row[condition]["ok"] for row in contention["rows"])
        print(f"  {condition}: {passed} of {len(contention['rows'])} PASS")
    for text in contention["problems"]:
        print(f"  ! {text}")


def run_contention_mode(cases: List[Case], cond: Dict[str, Any], args: argparse.Namespace) -> int:
    """--contention: the header, the latency report, and the JSON under "contention"."""
    busy = cond["usable_cpus"]
    default_threads = (
        f"fastloss.max_threads() = {cond['fastloss_max_threads']}"
        if cond["fastloss_max_threads"] is not None
        else "the OpenMP default"
    )
    notes = [] if contention_problems(cases) else ["--only left none of the contention cases"]
    print_header(
        "fastloss benchmark: latency per call under load, fastloss n_threads=None vs n_threads=1",
        cond,
        f"n_threads=None ({default_threads}) vs n_threads=1; {busy} busy processes "
        "(one per usable CPU) in the loaded runs",
        "each call timed alone (perf_counter_ns) after warm-up, GC off; the two thread counts alternate "
        "in blocks of calls (A B B A ..., 10-60 rounds), the first call of each block untimed; "
        "each input idle, then loaded",
        notes,
    )
    # Make sure that SIGTERM too ends the run through the `finally` that kills the busy processes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    run_load = OtherLoad()
    progress("measuring latency per call, idle and loaded ...")
    contention = run_contention(cases, args.quick, busy, np.random.default_rng(20240601))
    cond["other_load_during"] = run_load.cores()
    print_contention(contention, default_threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"conditions": cond, "notes": notes, "contention": contention}, f, indent=1)
        print(f"raw numbers written to {args.json}")
    return 0
