"""The language-model head: fl.linear_cross_entropy against torch 2.13's chunked path and the
reference path, forward + backward, time and extra peak memory.

    python bench/lm_head.py            # N = 2048 and 8192, H = 1024, V = 32000, float32
    python bench/lm_head.py --quick    # N = 2048 only, fewer repeats
    python bench/lm_head.py --both-coretypes   # also rerun with OPENBLAS_CORETYPE unset

Peers, on the same float32 arrays in the same run (best of R, each fwd + bwd of the mean loss):

- fastloss: ``fl.linear_cross_entropy(x, W, t, return_grad=True)`` (chunked, default chunk size)
- torch chunked: ``F.linear_cross_entropy(X, W, T, options=nn.LinearCrossEntropyOptions())`` + ``backward()``
- torch reference: ``F.cross_entropy(F.linear(X, W), T)`` + ``backward()`` (materialises the logits)
- numpy GEMMs: the three products alone at full size (``x @ W.T``, ``g @ W``, ``g.T @ x``), the
  floor any implementation on NumPy's BLAS pays

GFLOP/s counts the three GEMMs, 6 N H V flops. Extra peak memory is measured in a fresh
interpreter per peer (warmed up on a small problem, then the peak RSS is reset through
``/proc/self/clear_refs``; Linux only): the growth of the peak during one call, less the returned
gradients (d_input, d_weight), in MiB and as a fraction of the logits' size (N V 4 bytes).
The header names the CPU and the BLAS (threadpoolctl) that ran.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import fastloss as fl
import numpy as np

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # optional peer
    torch = None  # type: ignore[assignment]

H, V = 1024, 32000


def inputs(n: int, h: int = H, v: int = V) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, h), dtype=np.float32)
    w = rng.standard_normal((v, h), dtype=np.float32) * np.float32(h**-0.5)
    t = rng.integers(0, v, n)
    return x, w, t


def peers(x: np.ndarray, w: np.ndarray, t: np.ndarray, threads: int) -> Dict[str, Callable[[], Any]]:
    """name -> a call computing the loss and its gradients (returned, so they stay alive)."""
    out: Dict[str, Callable[[], Any]] = {
        "fastloss": lambda: fl.linear_cross_entropy(x, w, t, return_grad=True, n_threads=threads)
    }
    if torch is not None:
        X, W, T = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_(), torch.from_numpy(t)

        def run(fn: Callable[[], Any]) -> Callable[[], Any]:
            def call() -> Any:
                X.grad = W.grad = None
                loss = fn()
                loss.backward()
                return loss.detach(), X.grad, W.grad

            return call

        out["torch chunked"] = run(
            lambda: F.linear_cross_entropy(X, W, T, options=torch.nn.LinearCrossEntropyOptions())
        )
        out["torch reference"] = run(lambda: F.cross_entropy(F.linear(X, W), T))
    return out


def gemms(x: np.ndarray, w: np.ndarray) -> Callable[[], Any]:
    g = np.empty((x.shape[0], w.shape[0]), np.float32)
    dx, dw = np.empty_like(x), np.empty_like(w)

    def run() -> Any:
        np.matmul(x, w.T, out=g)
        np.matmul(g, w, out=dx)
        np.matmul(g.T, x, out=dw)
        return dx, dw

    return run


def best(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# ------------------------------------------------------------------------- peak memory
def _kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def memory_child(spec: str) -> None:
    """In a fresh process: the extra peak RSS of one call of a peer beyond its gradients."""
    name, n_text, threads_text = spec.split(";")
    n, threads = int(n_text), int(threads_text)
    if torch is not None:
        torch.set_num_threads(threads)
    small = inputs(8, 64, 256)
    peers(*small, threads)[name]()  # warm-up: libraries, thread pools
    x, w, t = inputs(n)
    run = peers(x, w, t, threads)[name]
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS
    before = _kib("VmRSS")
    result = run()
    extra = (_kib("VmHWM") - before) * 1024 - x.nbytes - w.nbytes  # less d_input, d_weight
    print(json.dumps({"extra_bytes": extra}))
    del result


def measure_memory(name: str, n: int, threads: int) -> Optional[int]:
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--memory-child", f"{name};{n};{threads}"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        return int(json.loads(proc.stdout.strip().splitlines()[-1])["extra_bytes"])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, KeyError):
        return None


# ------------------------------------------------------------------------------ report
def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"{i['internal_api']} {i['version']} {i.get('architecture')} x{i['num_threads']}" for i in libs)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
        flags = next(line for line in info.splitlines() if line.startswith("flags"))
        simd = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "SSE"
        fam = next(line.split(":")[1].strip() for line in info.splitlines() if line.startswith("cpu family"))
        mod = next(line.split(":")[1].strip() for line in info.splitlines() if line.startswith("model\t"))
        return f"{model} (family {fam} model {mod}), {simd}"
    except (OSError, StopIteration):
        return "unknown CPU"


def run(sizes: List[int], repeats: int, threads: int, memory: bool) -> None:
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"CPU: {cpu_model()}; {threads} threads; fastloss SIMD {fl.simd_level()}")
    print(f"BLAS: {blas_info()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"torch {torch.__version__ if torch is not None else '(not installed)'}; H = {H}, V = {V}, float32\n")
    for n in sizes:
        x, w, t = inputs(n)
        flops = 6.0 * n * H * V
        logits_bytes = n * V * 4
        calls = peers(x, w, t, threads)
        reference = calls["fastloss"]()
        results: Dict[str, float] = {}
        for name, fn in calls.items():
            if name != "fastloss":  # the peers compute the same loss
                got = float(fn()[0])
                assert abs(got - float(reference[0])) <= 1e-4 * abs(got), (name, got, reference[0])
            results[name] = best(fn, repeats)
            del fn
            gc.collect()
        results["numpy GEMMs"] = best(gemms(x, w), repeats)
        print(f"N = {n}: logits would be {logits_bytes / 2**20:.0f} MiB")
        base = results["fastloss"]
        for name, s in results.items():
            line = f"  {name:<16} {s * 1e3:9.1f} ms  {flops / s / 1e9:6.0f} GFLOP/s  {s / base:5.2f}x fastloss's time"
            if memory and name != "numpy GEMMs":
                extra = measure_memory(name, n, threads)
                if extra is not None:
                    line += f"   extra peak {extra / 2**20:7.1f} MiB ({extra / logits_bytes:.2f} of the logits)"
            print(line)
        print()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 2048 only, 3 repeats")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--both-coretypes", action="store_true", help="rerun with OPENBLAS_CORETYPE unset")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    sizes = [2048] if args.quick else [2048, 8192]
    repeats = args.repeats or (3 if args.quick else 5)
    run(sizes, repeats, args.threads, not args.no_memory)
    if args.both_coretypes and "OPENBLAS_CORETYPE" in os.environ:
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--both-coretypes"]
        print("--- again with OPENBLAS_CORETYPE unset (OpenBLAS picks its kernels for this CPU) ---\n", flush=True)
        subprocess.run([sys.executable, __file__, *rest], env=env, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
