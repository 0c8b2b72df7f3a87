"""The main report: every case's peers at every size, between two STREAM measurements, then
the thread-scaling and per-call overhead reports; printed, and saved as JSON and a plot."""

from __future__ import annotations

import argparse
import gc
import json
import math
import time
from typing import Any, Dict, List, Tuple

import numpy as np
from cases import Case
from measure import BUSY, OtherLoad, is_busy, measure_peer, stream_gbs, stream_reference
from memory import measure_peak_memory
from overhead import print_overhead, run_overhead
from peers import Shape, jax, torch
from report import fmt_size, peer_problem, plot, print_header, print_peak_memory, print_table, progress
from scaling import print_scaling, run_scaling, scaling_problems

TITLE = "fastloss benchmark: value + gradient (losses) and one in-place step (SGD), float32, reduction='mean'"


def run_suite(cases: List[Case], cond: Dict[str, Any], notes: List[str], args: argparse.Namespace) -> int:
    threads = args.threads
    scaling_wanted = add_notes(notes, cases, cond, args)
    print_header(
        TITLE,
        cond,
        f"{threads} (fastloss n_threads=, torch.set_num_threads, STREAM)",
        f"best of {args.repeats} samples, each >= 1 ms (loops small calls), per call; after warm-up",
        notes,
    )
    run_load = OtherLoad()

    # STREAM before and after the cases; the better figure is the reference (the harder one)
    stream_n = (8 if args.quick else 20) * 2**20  # float64: 3 arrays of 64 / 160 MiB
    progress("measuring STREAM ...")
    stream = stream_before(stream_n, threads, args.repeats)

    rng = np.random.default_rng(20240601)
    results: Dict[str, Any] = {"conditions": cond, "notes": notes, "cases": []}
    for case in cases:
        rows, problems = run_case(case, case.quick_sizes if args.quick else case.sizes, threads, args.repeats, rng)
        results["cases"].append(
            {
                "name": case.name,
                "description": case.description,
                "bytes_per_element": case.bytes_per_element,
                "peers": list(case.peers),
                "rows": rows,
                "problems": problems,
            }
        )

    progress("measuring STREAM again ...")
    stream_after(stream, stream_n, threads, args.repeats)
    cond["other_load_during"] = run_load.cores()
    if scaling_wanted:
        results["scaling"] = run_scaling(cases, args.quick, threads, args.repeats, stream_n, rng)
    results["overhead"] = run_overhead(threads, args.repeats)

    print_results(cases, results, stream, cond["other_load_during"])
    results["stream"] = stream
    add_bandwidth(results, stream["gbs"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"raw numbers written to {args.json}")
    if args.plot:
        plot(results, args.plot)
    return 0


def add_notes(notes: List[str], cases: List[Case], cond: Dict[str, Any], args: argparse.Namespace) -> bool:
    """The header's notes on absent or limited peers; returns whether the scaling report runs."""
    if torch is None:
        notes.append("torch is not installed: PyTorch peer skipped")
    if jax is None:
        notes.append("jax is not installed: JAX peer skipped (pip install jax)")
    else:
        notes.append(
            f"jax: XLA sizes its own thread pool by the usable CPUs ({cond['usable_cpus']}), --threads "
            "cannot limit it (nor can XLA_FLAGS; taskset can)"
        )
    notes.append("numpy: ufuncs run on one thread")
    scaling_wanted = not args.no_scaling and args.threads > 1 and bool(scaling_problems(cases))
    if not args.no_scaling and not scaling_wanted:
        notes.append("thread scaling: skipped (--threads 1, or --only left none of its cases)")
    return scaling_wanted


def stream_before(n: int, threads: int, repeats: int) -> Dict[str, Any]:
    """STREAM at 1 and at `threads` threads before the cases: the JSON's "stream" record, completed by stream_after."""
    load = OtherLoad()
    one = stream_gbs(n, 1, repeats)
    start = stream_gbs(n, threads, repeats) if threads > 1 else one
    return {
        "kernels": {"triad": "a = b + s*c (NumPy, cache-sized chunks)", "add": "a = b + c (NumPy)"},
        "dtype": "float64",
        "bytes_per_element": 24,
        "elements": n,
        "threads": threads,
        "gbs": stream_reference(start),
        "gbs_before_by_kernel": start,
        "gbs_after_by_kernel": None,
        "gbs_1_thread_before_by_kernel": one,
        "busy": is_busy(load.cores()),
    }


def stream_after(stream: Dict[str, Any], n: int, threads: int, repeats: int) -> None:
    """STREAM again after the cases; the reference is the better of before and after."""
    load = OtherLoad()
    end = stream_gbs(n, threads, repeats)
    stream["gbs_after_by_kernel"] = end
    stream["gbs"] = max(stream["gbs"], stream_reference(end))
    stream["busy"] = stream["busy"] or is_busy(load.cores())


def run_case(
    case: Case, sizes: List[Shape], threads: int, repeats: int, rng: np.random.Generator
) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Time every peer at every size; returns the rows and the problems met (mismatch, error)."""
    rows, problems = [], []
    baseline = next(iter(case.peers))
    for shape in sizes:
        t0 = time.perf_counter()
        inputs = case.make_inputs(shape, rng)
        row: Dict[str, Any] = {"shape": list(shape), "elements": math.prod(shape), "peers": {}}
        load = OtherLoad()
        reference: List[np.ndarray] = []
        for name, build in case.peers.items():
            row["peers"][name] = entry = measure_peer(build, inputs, threads, repeats, reference, case.check_rtol)
            if (problem := peer_problem(shape, name, entry, baseline)) is not None:
                problems.append(problem)
        row["other_load"] = load.cores()
        del inputs, reference
        gc.collect()
        if case.peak_memory:
            for name, entry in row["peers"].items():
                if "best_s" in entry:
                    entry["peak_memory"] = mem = measure_peak_memory(case, shape, name, threads)
                    if "error" in mem:
                        problems.append(f"{fmt_size(shape)}: peak memory of {name} not measured: {mem['error']}")
        rows.append(row)
        progress(f"  {case.name} {fmt_size(shape)}: {time.perf_counter() - t0:.1f} s")
    return rows, problems


def print_results(cases: List[Case], results: Dict[str, Any], stream: Dict[str, Any], during: Any) -> None:
    """The rest of the header (STREAM, the load during the run, the legend), then every table."""
    start, end, one = (
        stream[k] for k in ("gbs_before_by_kernel", "gbs_after_by_kernel", "gbs_1_thread_before_by_kernel")
    )
    print(
        f"  STREAM    {stream['gbs']:.1f} GB/s with {stream['threads']} thread(s): NumPy float64, 24 B/element, "
        f"3 x {stream['elements'] * 8 / 2**20:.0f} MiB, best before and after the cases"
        f"{'  <- BUSY machine' if stream['busy'] else ''}"
    )
    print(
        f"            before: triad a=b+s*c {start['triad']:.1f}, add a=b+c {start['add']:.1f}; "
        f"after: triad {end['triad']:.1f}, add {end['add']:.1f}; "
        f"1 thread before: triad {one['triad']:.1f}, add {one['add']:.1f}"
    )
    if during is not None:
        print(
            f"  machine   during the run other processes used {during['other']:.2f} cores on average, "
            f"the hypervisor stole {during['steal']:.2f}"
        )
    print(
        "  ratio     peer time / fastloss time (> 1: fastloss is faster); '!' marks a result that differs from fastloss's"
    )
    print(
        "  GB/s      minimal traffic of the fused pass / fastloss time; B/element is given with each table (losses: read"
    )
    print(
        "            input, read target, write grad = 12; cross-entropy: 8 per logit; SGD: read p, read g, write p = 12);"
    )
    print("            above 100 % STREAM is possible for sizes whose data fit in the caches")
    print(f"  size*     other work took > {BUSY} cores while this size was measured: its times are suspect")
    for case, entry in zip(cases, results["cases"]):
        print(f"\n{case.name}: {case.description}, {case.bytes_per_element:g} B/element")
        print_table(case, entry["rows"], stream["gbs"])
        if case.peak_memory:
            print_peak_memory(entry["rows"])
        for problem in entry["problems"]:
            print(f"  ! {problem}")
    if "scaling" in results:
        print_scaling(results["scaling"])
    print_overhead(results["overhead"])


def add_bandwidth(results: Dict[str, Any], stream_gbs_value: float) -> None:
    """Each timed peer's effective bandwidth (GB/s) and its % of STREAM, for the JSON."""
    for case_result in results["cases"]:
        for row in case_result["rows"]:
            for entry in row["peers"].values():
                if "best_s" in entry:
                    gbs = case_result["bytes_per_element"] * row["elements"] / entry["best_s"] / 1e9
                    entry["gbs"], entry["pct_stream"] = gbs, 100 * gbs / stream_gbs_value
