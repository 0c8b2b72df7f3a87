#!/usr/bin/env python
"""fastloss benchmark: a loss's value and gradient, fastloss vs NumPy vs PyTorch vs JAX.

    python bench/run.py [--quick] [--threads N] [--repeats R] [--only NAMES] [--no-scaling]
                        [--json out.json] [--plot out.png]
    python bench/run.py --contention [--quick] [--only NAMES] [--json out.json]

Every peer computes the same thing (value and gradient of the mean loss, float32) on
the same input arrays in the same run; the first call of each peer is checked against
fastloss's result before it is timed, so no peer is timed doing less work.

Peers
  fastloss             fl.<loss>(x, y, return_grad=True, n_threads=N); allocates the gradient
  fastloss grad_out=   the same, writing into a preallocated gradient buffer
  numpy                fastloss._reference's formulas (the test-suite's reference) in float32:
                       the plain vectorised expression a user would write
  numpy out=           a specialised NumPy implementation with preallocated buffers (mse, l1)
  torch                fwd + bwd on torch.from_numpy tensors (x.grad reset every call),
                       torch.set_num_threads(N); skipped with a note when torch is absent
  jax                  jax.jit(jax.value_and_grad(loss)), block_until_ready, on the CPU
                       (JAX_PLATFORMS=cpu), float32 (x64 off: int64 targets become int32);
                       XLA sizes its thread pool by the usable CPUs, not by N (the XLA_FLAGS
                       recipes do not limit it; taskset does); skipped with a note when jax is absent

Timing: best of R samples (time.perf_counter, GC off); each sample loops the call until
it lasts >= 1 ms and reports the time per call; warm-up calls (JIT, page faults of the
first allocation) come first.

Cases: the elementwise losses (mse, l1, bce, bce_with_logits; 12 B/element), cross_entropy
on (N, C) logits and sequence_cross_entropy on (B, T, V) logits (value + grad of the mean
over int64 targets; 8 B per logit: read logits, write grad), and one SGD step with weight
decay on a float32 parameter vector (12 B/element: read p, read g, write p; in-place
updates are repeated on the same arrays, each peer on its own copy of the same values).
For sequence_cross_entropy the extra peak memory of one call is also measured, in a fresh
subprocess per peer (VmHWM after a reset through /proc/self/clear_refs, Linux only).

Bandwidth: STREAM-like kernels in float64, 24 bytes per element (read b, read c,
write a), over arrays far larger than the last-level cache, run by NumPy on N Python
threads (NumPy releases the GIL) in the same run: the triad a = b + s*c (in cache-sized
chunks, as NumPy has no fused triad) and the add a = b + c (one ufunc pass).  The
better of the two is the "STREAM" reference: NumPy's two-pass triad measures ~15-25 %
below a C triad on the development machine, the add matches it.  A loss's effective
bandwidth counts the minimal traffic of its fused pass (value + grad in float32: read
input, read target, write grad = 12 bytes per element for the elementwise losses; 8 per
logit for cross-entropy; 12 per parameter for SGD), reported as % of STREAM.

Thread scaling (after the tables; not with --threads 1 or --no-scaling): fastloss grad_out=
at n_threads=1 and N on a few inputs, speedup = time(1) / time(N).  Large memory-bound
inputs (cross_entropy (4096, 32000), mse 16M; (1024, 32000) and 4M with --quick) are held
against STREAM's speedup measured just before: target speedup / STREAM's speedup >= 0.90.
Small inputs (mse 8 ... 262144, cross_entropy (64, 1000) and (8192, 128), bce_with_logits
65536) must not get slower: target time(N) / time(1) <= 1.05 (5 % for timing noise).

Per-call overhead (last): mse value + gradient on 8 elements against the forward alone of
the NumPy expression (target: at most a quarter of it) and of PyTorch (target: below it);
cross_entropy on (1, 10) logits the same way, reported without a target.

Plot (--plot): one log-log panel per case, ns per element vs elements, a line per peer.

Latency under load (--contention, instead of everything above): fastloss grad_out= (mse on
2^16, 2^20, 2^24 elements, cross_entropy on (512, 32000) logits) at n_threads=None and at
n_threads=1, every call timed alone, the two counts alternating in blocks; p50, p99 and
mean per call, first on the idle machine, then with one busy process (a pure-Python spin
loop) per usable CPU.  Target under load: p99(None) <= 1.5 x p99(1) and mean(None) <= 1.2 x
mean(1).  The busy processes are killed when the measurement ends, however it ends, and
stop by themselves at a deadline or when this process is gone.

Adding a benchmark: add a Case to the list that build_cases() in bench/cases.py returns (a
name, the problem sizes, a function that makes the inputs, the bytes per element of the
minimal pass, and a dict of peer builders, the first being fastloss).  Sizes are shapes, so
(4096, 32000) logits work as well as (10**6,); every table, the JSON and the plot follow
the list.

Layout: run.py (this command line), peers.py (how each library computes a case), cases.py
(the cases), measure.py (timing, STREAM, load of other work, result checks), memory.py (peak
memory), report.py (conditions, header, tables, plot), suite.py (the main report),
scaling.py, overhead.py and contention.py (the reports of those names).
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

try:
    import fastloss  # noqa: F401  (first, for a message instead of a traceback)
except ImportError as exc:  # pragma: no cover
    sys.exit(f"cannot import fastloss ({exc}); build and install it first: pip install .")

from cases import Case, build_cases  # noqa: E402  (the modules beside this script)
from contention import run_contention_mode  # noqa: E402
from memory import peak_memory_child  # noqa: E402
from peers import torch  # noqa: E402
from report import conditions, usable_cpus  # noqa: E402
from suite import run_suite  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.peak_memory_child:
        return peak_memory_child(args.peak_memory_child)
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    if args.repeats is None:
        args.repeats = 7 if args.quick else 10
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")

    if torch is not None:
        torch.set_num_threads(args.threads)
    cases, notes = build_cases()
    if args.only:
        cases = select_cases(parser, cases, args.only)
    cond = conditions(args.threads, args)
    if args.contention:
        return run_contention_mode(cases, cond, args)
    return run_suite(cases, cond, notes, args)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats (about a minute)")
    default_threads = usable_cpus()
    parser.add_argument(
        "--threads",
        type=int,
        default=default_threads,
        help=f"threads for fastloss, torch and STREAM (default: all usable CPUs, {default_threads})",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="samples per measurement, best is reported (default 10, quick 7)"
    )
    parser.add_argument("--json", metavar="PATH", help="write all raw numbers to this JSON file")
    parser.add_argument("--plot", metavar="PATH", help="write a log-log plot (needs matplotlib)")
    parser.add_argument("--only", metavar="NAMES", help="comma-separated case names to run (default: all)")
    parser.add_argument(
        "--no-scaling",
        action="store_true",
        help="skip the thread-scaling report (fastloss at n_threads=1 vs N, against STREAM)",
    )
    parser.add_argument(
        "--contention",
        action="store_true",
        help="only the tail-latency report: fastloss at n_threads=None vs 1, idle and with one "
        "busy process per usable CPU (about 3 minutes, 1 with --quick)",
    )
    parser.add_argument("--peak-memory-child", metavar="SPEC", help=argparse.SUPPRESS)  # internal: memory.py
    return parser


def select_cases(parser: argparse.ArgumentParser, cases: List[Case], only: str) -> List[Case]:
    """The cases named in --only (comma-separated); an unknown name is a usage error."""
    wanted = set(only.split(","))
    unknown = wanted - {c.name for c in cases}
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}; known: {[c.name for c in cases]}")
    return [c for c in cases if c.name in wanted]


if __name__ == "__main__":
    sys.exit(main())
