"""Reporting: the conditions of a run, its header, the tables, the plot, progress lines.

Every table, the JSON and the plot follow the list of cases (cases.build_cases).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import math
import os
import platform
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import fastloss as fl
import numpy as np
from cases import Case
from fastloss.__main__ import cpu_model, usable_cpus  # the tour's: the same machine header
from measure import OtherLoad, is_busy
from peers import Shape, jax, torch


def cpu_isa_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    wanted = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl"]
                    return " ".join(w for w in wanted if w in flags)
    except OSError:
        pass
    return "?"


def last_level_cache() -> str:
    """Size of the largest CPU cache, e.g. "8M" (from sysfs), or "?"."""
    best = (0, "?")
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in os.listdir(base):
            try:
                with open(f"{base}/{index}/level") as f:
                    level = int(f.read())
                with open(f"{base}/{index}/size") as f:
                    size = f.read().strip()
            except (OSError, ValueError):
                continue
            best = max(best, (level, size))
    except OSError:
        pass
    return best[1]


def version_of(module: Any) -> str:
    return str(getattr(module, "__version__", "?")) if module is not None else "not installed"


# the environment variables that change how OpenMP runs fastloss's threads (recorded; printed when set)
THREADING_ENV = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_PROC_BIND", "OMP_DYNAMIC")


def conditions(threads: int, args: argparse.Namespace) -> Dict[str, Any]:
    simd = getattr(fl, "simd_level", None)
    max_threads = getattr(fl, "max_threads", None)
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cpu_flags": cpu_isa_flags(),
        "last_level_cache": last_level_cache(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "threads": threads,
        "fastloss_simd_level": simd() if callable(simd) else "n/a",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "torch": version_of(torch),
        "jax": version_of(jax),
        "fastloss": version_of(fl),
        "fastloss_path": os.path.dirname(os.path.abspath(fl.__file__ or "?")),
        "fastloss_max_threads": max_threads() if callable(max_threads) else None,
        **{name: os.environ.get(name) for name in THREADING_ENV},
        "quick": args.quick,
        "repeats": args.repeats,
    }


def print_header(title: str, cond: Dict[str, Any], threads: str, timing: str, notes: List[str]) -> None:
    """The conditions of the run, then the load of the machine over half a second before it
    (stored in cond["other_load_before"])."""
    print(title)
    print(f"  date      {cond['date']}")
    print(
        f"  cpu       {cond['cpu']} ({cond['logical_cpus']} logical CPUs, {cond['usable_cpus']} usable; "
        f"{cond['cpu_flags']}; last-level cache {cond['last_level_cache']})"
    )
    print(f"  threads   {threads}; fastloss SIMD: {cond['fastloss_simd_level']}")
    print(
        f"  versions  python {cond['python']}, numpy {cond['numpy']}, torch {cond['torch']}, "
        f"jax {cond['jax']}, fastloss {cond['fastloss']} from {cond['fastloss_path']}"
    )
    env = [f"{name}={cond[name]}" for name in THREADING_ENV if cond.get(name) is not None]
    if env:
        print(f"  env       {' '.join(env)}")
    print(f"  timing    {timing}")
    for note in notes:
        print(f"  note      {note}")
    before = OtherLoad()
    time.sleep(0.5)
    cond["other_load_before"] = idle = before.cores()
    if idle is not None:
        print(
            f"  machine   before the run, other processes used {idle['other']:.2f} cores and the hypervisor "
            f"stole {idle['steal']:.2f}{'  <- BUSY: timings will be off' if is_busy(idle) else ''}"
        )


def fmt_size(shape: Shape) -> str:
    def one(n: int) -> str:
        if n < 1000:
            return str(n)
        e = int(math.log10(n))
        return f"{n / 10**e:g}e{e}"

    return "x".join(one(n) for n in shape)


def fmt_ms(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.4f}" if ms < 0.1 else f"{ms:.3f}" if ms < 10 else f"{ms:.1f}"


def peer_problem(shape: Shape, name: str, entry: Dict[str, Any], baseline: str) -> Optional[str]:
    """The line that reports a failed or mismatching peer; None when it ran fine."""
    if "error" in entry:
        return f"{fmt_size(shape)}: {name} failed: {entry['error']}"
    if not entry.get("check_ok", True):
        return (
            f"{fmt_size(shape)}: {name}'s result differs from {baseline}'s "
            f"(max error {entry['check_err']:.2g} relative to the largest |value|)"
        )
    return None


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def print_table(case: Case, rows: List[Dict[str, Any]], stream: float) -> None:
    """One row per size: each peer's ms (and ratio to fastloss), then fastloss GB/s and % STREAM."""
    peers = list(case.peers)
    base = peers[0]
    size_width = max([7] + [len(fmt_size(tuple(row["shape"]))) + 1 for row in rows])

    def best(row: Dict[str, Any], peer: str) -> Optional[float]:
        t: Optional[float] = row["peers"].get(peer, {}).get("best_s")
        return t

    def ms(peer: str) -> Callable[[Dict[str, Any]], str]:
        def cell(row: Dict[str, Any]) -> str:
            mark = "" if row["peers"].get(peer, {}).get("check_ok", True) else "!"
            return fmt_ms(best(row, peer)) + mark

        return cell

    def ratio(peer: str) -> Callable[[Dict[str, Any]], str]:
        def cell(row: Dict[str, Any]) -> str:
            t, t0 = best(row, peer), best(row, base)
            return f"{t / t0:.2f}x" if t and t0 else "-"

        return cell

    def gbs(peer: str, percent: bool) -> Callable[[Dict[str, Any]], str]:
        def cell(row: Dict[str, Any]) -> str:
            t = best(row, peer)
            if not t:
                return "-"
            g = case.bytes_per_element * row["elements"] / t / 1e9
            return f"{100 * g / stream:.0f}%" if percent else f"{g:.1f}"

        return cell

    # groups of columns: (group title, [(column title, width, cell function)])
    groups: List[Tuple[str, List[Tuple[str, int, Callable[[Dict[str, Any]], str]]]]] = [
        (
            "",
            [
                (
                    "size",
                    size_width,
                    lambda row: fmt_size(tuple(row["shape"])) + ("*" if is_busy(row.get("other_load")) else ""),
                )
            ],
        )
    ]
    for p in peers:
        cols = [("ms", 9, ms(p))] if p == base else [("ms", 9, ms(p)), ("ratio", 6, ratio(p))]
        groups.append((p, cols))
    for p in (base, "fastloss grad_out="):
        if p in peers:
            title = "fastloss BW" if p == base else "grad_out= BW"
            groups.append((title, [("GB/s", 5, gbs(p, False)), ("%STREAM", 7, gbs(p, True))]))

    sep = "  "
    widths = []
    for title, cols in groups:
        inner = sum(w for _, w, _ in cols) + len(sep) * (len(cols) - 1)
        if len(title) > inner:  # widen the first column to fit the group title
            first = cols[0]
            cols[0] = (first[0], first[1] + len(title) - inner, first[2])
            inner = len(title)
        widths.append(inner)
    print(sep.join(f"{title:>{w}}" for (title, _), w in zip(groups, widths)).rstrip())
    print(sep.join(sep.join(f"{c:>{w}}" for c, w, _ in cols) for _, cols in groups))
    for row in rows:
        print(sep.join(sep.join(f"{f(row):>{w}}" for _, w, f in cols) for _, cols in groups))


def print_peak_memory(rows: List[Dict[str, Any]]) -> None:
    """One line per size: each peer's extra peak memory in units of the gradient's size."""
    for row in rows:
        cells = []
        for peer, entry in row["peers"].items():
            mem = entry.get("peak_memory", {})
            if "extra_bytes" in mem and mem["grad_bytes"]:
                cells.append(f"{peer} {mem['extra_bytes'] / mem['grad_bytes']:.2f}")
        if cells:
            grad_mib = row["elements"] * 4 / 2**20
            print(
                f"  peak memory {fmt_size(tuple(row['shape']))}: extra peak RSS of one call / gradient size "
                f"({grad_mib:.0f} MiB), fresh process each: " + ", ".join(cells)
            )


def plot(results: Dict[str, Any], path: str) -> None:
    try:  # imported by name: matplotlib is optional and ships no stubs for mypy
        matplotlib: Any = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt: Any = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        print(f"note: matplotlib is not installed (pip install '.[bench]'); no plot written to {path}")
        return
    cases = results["cases"]
    names = list(dict.fromkeys(p for case in cases for p in case["peers"]))
    colors = {p: f"C{i}" for i, p in enumerate(names)}  # one color per peer in every panel
    ncols = min(4, len(cases))
    nrows = math.ceil(len(cases) / ncols)
    height = 3.8 * nrows + 1.0  # + the title and the legend below the panels
    width = max(4.5 * ncols, 10.0)  # room for the title and a one-line legend
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    for ax in axes.flat[len(cases) :]:
        ax.set_visible(False)  # the empty cells of the last row
    handles: Dict[str, Any] = {}  # one legend for all panels (a peer has the same color everywhere)
    for ax, case in zip(axes.flat, cases):
        for p in case["peers"]:
            xs, ys = [], []
            for row in case["rows"]:
                r = row["peers"].get(p, {})
                if "best_s" in r:
                    xs.append(row["elements"])
                    ys.append(r["best_s"] / row["elements"] * 1e9)
            if xs:
                lw = 2.5 if p.startswith("fastloss") else 1.2
                handles[p] = ax.loglog(xs, ys, marker="o", color=colors[p], lw=lw)[0]
        ax.set_title(case["name"])
        ax.set_xlabel("elements")
        ax.set_ylabel("ns per element")
        ax.grid(True, which="both", alpha=0.3)
    fig.legend(
        [handles[p] for p in names if p in handles],
        [p for p in names if p in handles],
        loc="lower center",
        ncol=len(handles),
        frameon=False,
    )
    c = results["conditions"]
    fig.suptitle(
        f"time per element of value + gradient (sgd: of one step), float32, best of {c['repeats']}\n"
        f"fastloss {c['fastloss']}, {c['cpu']}, {c['threads']} threads, {c['date'][:10]}",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.45 / height, 1, 1))
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")
