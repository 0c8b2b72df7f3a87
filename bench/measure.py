"""Measuring: time per call, STREAM bandwidth, the load of other work, result checks.

Timing: best of R samples (time.perf_counter, GC off); each sample loops the call until it
lasts >= 1 ms and reports the time per call; warm-up calls come first. The load of other
work is read from /proc/stat (Linux), so a row measured on a busy machine can be marked.
"""

from __future__ import annotations

import gc
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from peers import Inputs, PeerBuilder, Run, torch


def time_per_call(run: Run, repeats: int, min_sample: float = 1e-3) -> Tuple[List[float], int]:
    """Seconds per call of `run`: `repeats` samples, each looping >= min_sample seconds."""

    def sample(number: int) -> float:
        t0 = time.perf_counter()
        for _ in range(number):
            run()
        return time.perf_counter() - t0

    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        sample(1)  # warm-up (the caller has made one call already)
        number = 1
        while (elapsed := sample(number)) < min_sample and number < 10**6:
            number = max(2 * number, math.ceil(number * 1.2 * min_sample / max(elapsed, 1e-9)))
        samples = [sample(number) / number for _ in range(repeats)]
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples, number


def stream_gbs(n: int, threads: int, repeats: int, chunk: int = 1 << 15) -> Dict[str, float]:
    """STREAM-like memory bandwidth in GB/s, float64, 24 bytes per element, on `threads` threads.

    "triad": a = b + s*c.  NumPy has no fused triad, so each thread runs over its part of
      the arrays in chunks that stay in cache (a[k] = s*c[k]; a[k] += b[k]); DRAM sees one
      read of b and c and one write of a, as in STREAM, but the two ufunc passes cost
      time of their own, so this under-measures (~15-25 % below a C triad here).
    "add": a = b + c, STREAM's Add kernel: the same 24 bytes per element in one ufunc pass,
      as fast as a C triad.
    Each thread gets a contiguous part of the arrays (NumPy releases the GIL in ufuncs).
    """
    a = np.full(n, 0.0)  # np.full writes every page, so no page faults while timing
    b = np.full(n, 1.0)
    c = np.full(n, 2.0)
    s = 3.0
    bounds = np.linspace(0, n, threads + 1).astype(int)
    parts = list(zip(bounds[:-1], bounds[1:]))

    def triad(lo: int, hi: int) -> None:
        for i in range(lo, hi, chunk):
            ak = a[i : min(i + chunk, hi)]
            np.multiply(c[i : i + len(ak)], s, out=ak)
            np.add(ak, b[i : i + len(ak)], out=ak)

    def add(lo: int, hi: int) -> None:
        np.add(b[lo:hi], c[lo:hi], out=a[lo:hi])

    result = {}
    with ThreadPoolExecutor(threads) as pool:
        for name, kernel, expected in (("triad", triad, 7.0), ("add", add, 3.0)):
            best = math.inf
            for _ in range(repeats + 1):  # the first pass is a warm-up
                t0 = time.perf_counter()
                if threads == 1:
                    kernel(0, n)
                else:
                    list(pool.map(kernel, *zip(*parts)))
                best = min(best, time.perf_counter() - t0)
            if not np.all(a[:: max(1, n // 1000)] == expected):
                raise RuntimeError(f"the {name} kernel computed a wrong result")
            result[name] = 24 * n / best / 1e9
    return result


def stream_reference(bw: Dict[str, float]) -> float:
    """The bandwidth that '% STREAM' refers to: the better NumPy kernel (the harder reference)."""
    return max(bw.values())


def machine_cpu_seconds() -> Optional[Tuple[float, float]]:
    """(busy, stolen) CPU seconds of the whole machine so far, from /proc/stat; None elsewhere."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq) / hz, steal / hz


class OtherLoad:
    """How busy the machine was with other work while a measurement ran.

    cores(): CPU seconds used by other processes per second of wall time (0 on an idle
    machine; 1 means a whole core was taken from the benchmark), plus the time the
    hypervisor stole from this VM.  None where /proc/stat does not exist.
    """

    def __init__(self) -> None:
        self.wall, self.own, self.machine = time.perf_counter(), time.process_time(), machine_cpu_seconds()

    def cores(self) -> Optional[Dict[str, float]]:
        now = machine_cpu_seconds()
        if now is None or self.machine is None:
            return None
        wall = time.perf_counter() - self.wall
        own = time.process_time() - self.own
        return {
            "other": max(0.0, now[0] - self.machine[0] - own) / wall,
            "steal": (now[1] - self.machine[1]) / wall,
        }


BUSY = 0.15  # cores taken by other work above which a row is marked


def is_busy(load: Optional[Dict[str, float]]) -> bool:
    return load is not None and load["other"] + load["steal"] > BUSY


def to_numpy(value: Any) -> np.ndarray:
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach()
        value = (value.float() if value.dtype == torch.bfloat16 else value).numpy()  # NumPy has no bfloat16
    return np.asarray(value)


def check_result(result: Any, reference: Any, rtol: float) -> Tuple[bool, float]:
    """Compare (value, grad) with the baseline's; the error is relative to the largest |reference|."""
    worst = 0.0
    for got, want in zip(result, reference):
        got, want = to_numpy(got).astype(np.float64), to_numpy(want).astype(np.float64)
        if got.shape != want.shape:
            return False, math.inf
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        err = float(np.max(np.abs(got - want))) if want.size else 0.0
        if not math.isfinite(err):
            return False, math.inf
        worst = max(worst, err / scale if scale > 0 else err)
    return worst <= rtol, worst


def measure_peer(
    build: PeerBuilder, inputs: Inputs, threads: int, repeats: int, reference: List[np.ndarray], rtol: Optional[float]
) -> Dict[str, Any]:
    """Build a peer, check its first call against `reference`, then time it.

    When `reference` is empty the first call becomes the reference (the baseline peer).
    Returns the peer's entry: best_s, median_s, samples_s, inner_loops and, when checked,
    check_ok and check_err; or "skipped" / "error" (an exception is reported, not raised).
    """
    entry: Dict[str, Any] = {}
    try:
        run = build(inputs, threads)
        if run is None:
            return {"skipped": "not available"}
        result = run()  # first call: warm-up and correctness check
        if not reference:
            reference.extend(to_numpy(r).copy() for r in result)
        elif rtol is not None:
            entry["check_ok"], entry["check_err"] = check_result(result, reference, rtol)
        del result
        samples, number = time_per_call(run, repeats)
    except Exception as exc:  # noqa: BLE001 - report it and go on with the other peers
        entry["error"] = f"{type(exc).__name__}: {exc}"
        return entry
    entry.update(best_s=min(samples), median_s=float(np.median(samples)), samples_s=samples, inner_loops=number)
    return entry
