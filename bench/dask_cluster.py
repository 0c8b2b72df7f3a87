"""fastloss.dask on a 2-worker LocalCluster vs the in-memory call: cross-entropy over (2**20, 1000)
float32 logits in 16 chunks along axis 0.

    python bench/dask_cluster.py            # (2**20, 1000): 4 GiB of logits (~14 GiB of RAM at peak)
    python bench/dask_cluster.py --quick    # (2**17, 1000): 512 MiB

Prints the CPU model, then the best wall time of several repeats (after a warm-up) of the loss
(``reduction="mean"``, class-index targets) computed

- in memory: ``fastloss.cross_entropy`` on the NumPy array, on every usable CPU and on one;
- with dask's threaded scheduler in this process (``fastloss.dask``, 16 chunks, no transfer);
- on a ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``, three ways:
  the logits sent from this process with every call (``da.from_array`` of the NumPy array: what
  a naive port does); the logits *generated on the workers* (``da.map_blocks`` making each chunk
  where it is used: only the 4-byte result travels back), with the generation's own time shown
  apart; and the logits already resident on the workers (``client.persist``), the loss alone;

as throughput (GB/s of logits, rows/s) and overhead over the in-memory call (cluster time minus
in-memory time, per chunk). The cluster's blocks run with ``n_threads=1`` (one core per worker);
every result is checked against the in-memory one.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from typing import Any, Callable, List, Tuple

import fastloss as fl
import numpy as np
from fastloss.__main__ import cpu_model


def make_logits(block_id: Tuple[int, ...] = (0, 0), rows: int = 0, classes: int = 0) -> np.ndarray:
    """Chunk ``block_id[0]`` of the logits: uniform in [-4, 4), deterministic per chunk (the same
    values made in this process or on a worker)."""
    rng = np.random.default_rng([block_id[0], 1])
    x = rng.random((rows, classes), dtype=np.float32)
    x *= 8
    x -= 4
    return x


def make_labels(block_id: Tuple[int, ...] = (0,), rows: int = 0, classes: int = 0) -> np.ndarray:
    return np.random.default_rng([block_id[0], 2]).integers(0, classes, rows)


def best_of(fn: Callable[[], Any], repeats: int) -> Tuple[float, Any]:
    """(best wall time of ``repeats`` calls after a warm-up, the last result)."""
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(2**17, 1000) logits instead of (2**20, 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per case (best is shown)")
    parser.add_argument("--chunks", type=int, default=16, help="chunks along axis 0")
    args = parser.parse_args()

    import dask
    import dask.array as da
    import fastloss.dask as fld
    from dask.distributed import Client, LocalCluster, wait

    n, classes, k = (1 << 17 if args.quick else 1 << 20), 1000, args.chunks
    rows = n // k
    gb = n * classes * 4 / 1e9
    print(f"CPU: {cpu_model()}; {fl._core.usable_cpus()} usable CPUs; fastloss SIMD {fl.simd_level()}")
    print(f"cross_entropy over ({n}, {classes}) float32 logits ({gb:.2f} GB), int64 labels, {k} chunks of {rows} rows")
    print(f"best of {args.repeats} repeats after a warm-up; dask {dask.__version__}\n")

    x = np.concatenate([make_logits((b, 0), rows, classes) for b in range(k)])
    labels = np.concatenate([make_labels((b,), rows, classes) for b in range(k)])
    results: List[Tuple[str, float]] = []
    want = fl.cross_entropy(x, labels)

    def record(name: str, seconds: float, got: Any) -> None:
        assert got == want, f"{name}: {got!r} != in-memory {want!r}"
        results.append((name, seconds))

    t, got = best_of(lambda: fl.cross_entropy(x, labels), args.repeats)
    record("in memory, fastloss.cross_entropy (all CPUs)", t, got)
    memory = t
    t, got = best_of(lambda: fl.cross_entropy(x, labels, n_threads=1), args.repeats)
    record("in memory, n_threads=1", t, got)

    # name=False: no hashing of the array's bytes to name the chunks (a 4 GiB hash costs seconds)
    lx, ll = da.from_array(x, chunks=(rows, classes), name=False), da.from_array(labels, chunks=rows, name=False)
    with dask.config.set(scheduler="threads"):
        t, got = best_of(lambda: fld.cross_entropy(lx, ll, n_threads=1).compute(), args.repeats)
    record("dask threaded scheduler, this process", t, got)

    with warnings.catch_warnings():
        # distributed warns of the large chunks embedded in the graph: that cost is what is measured
        warnings.filterwarnings("ignore", message=".*[Ll]arge object.*")
        warnings.filterwarnings("ignore", message=".*[Ss]ending large graph.*")
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            t, got = best_of(lambda: fld.cross_entropy(lx, ll, n_threads=1).compute(), args.repeats)
            record("cluster, logits sent from this process", t, got)

            glx = da.map_blocks(
                make_logits, dtype=np.float32, chunks=((rows,) * k, (classes,)), rows=rows, classes=classes,
                meta=np.empty((0, 0), np.float32),
            )  # fmt: skip
            gll = da.map_blocks(
                make_labels,
                dtype=np.int64,
                chunks=((rows,) * k,),
                rows=rows,
                classes=classes,
                meta=np.empty(0, np.int64),
            )
            t, got = best_of(lambda: fld.cross_entropy(glx, gll, n_threads=1).compute(), args.repeats)
            record("cluster, logits generated on the workers", t, got)
            # the generation alone: one element of each chunk travels back
            gen, _ = best_of(lambda: dask.compute(glx[::rows, ::classes], gll[::rows]), args.repeats)
            generated = (t, gen)

            px, pl = client.persist([glx, gll])
            wait([px, pl])
            t, got = best_of(lambda: fld.cross_entropy(px, pl, n_threads=1).compute(), args.repeats)
            record("cluster, logits resident on the workers", t, got)
            loss_only = t

    width = max(len(r[0]) for r in results) + 4
    print(f"{'case':{width}s}  {'time':>9s}  {'GB/s':>6s}  {'Mrows/s':>8s}  {'overhead/chunk':>14s}")
    for name, seconds in results:
        over = (seconds - memory) / k
        print(
            f"{name:{width}s}  {seconds:7.3f} s  {gb / seconds:6.2f}  {n / seconds / 1e6:8.2f}  {over * 1e3:11.1f} ms"
        )
    print(f"{'cluster, generating the logits alone (no loss)':{width}s}  {generated[1]:7.3f} s")
    sent = next(s for name, s in results if name.startswith("cluster, logits sent"))
    print(
        f"\nwhat dominates: moving the logits. Sent from this process, the transfer takes {sent - loss_only:.2f} s of "
        f"the {sent:.2f} s ({gb / max(sent - loss_only, 1e-9):.2f} GB/s through pickling and the workers' sockets). "
        f"Generated on the workers, the time is the generation's ({generated[1]:.2f} s alone, {generated[0]:.2f} s "
        f"with the loss) and only the 4-byte result travels back. Resident on the workers, the cluster costs "
        f"{(loss_only - memory) / k * 1e3:.1f} ms per chunk over the in-memory call (task scheduling and the "
        f"reduction tree)."
    )
    print(f"(load average {os.getloadavg()[0]:.2f} on {fl._core.usable_cpus()} CPUs at the end)")


if __name__ == "__main__":
    main()
