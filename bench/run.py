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
  numpy                the plain vectorised float32 expression a user would write
  numpy out=           the same with preallocated buffers (where it is natural to write)
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

Adding a benchmark: add a Case to the list that build_cases() returns (a name, the
problem sizes, a function that makes the inputs, the bytes per element of the minimal
pass, and a dict of peer builders, the first being fastloss).  Sizes are shapes, so
(4096, 32000) logits work as well as (10**6,); every table, the JSON and the plot
follow the list.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import importlib
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

try:
    import fastloss as fl
except ImportError as exc:  # pragma: no cover - a message instead of a traceback
    sys.exit(f"cannot import fastloss ({exc}); build and install it first: pip install .")


def _optional(module: str) -> Any:
    """Import an optional peer; None when it is not installed (or broken)."""
    try:
        return importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a broken install is "absent" too
        return None


torch = _optional("torch")
# JAX on the CPU even where a GPU jaxlib is installed: every peer runs on the same cores.
# float32 stays float32 (x64 is off by default; int64 targets become int32 on the device).
os.environ["JAX_PLATFORMS"] = "cpu"
jax = _optional("jax")
jnp = _optional("jax.numpy") if jax is not None else None

Shape = Tuple[int, ...]


class Inputs(NamedTuple):
    """Arguments of one problem: peers call f(*args, **kwargs); the gradient is w.r.t. args[0]."""

    args: Tuple[np.ndarray, ...]
    kwargs: Dict[str, Any]


# A peer builder gets the inputs and the thread count and returns a zero-argument
# callable that computes (value, gradient), or None when it cannot run this case.
Run = Callable[[], Any]
PeerBuilder = Callable[[Inputs, int], Optional[Run]]


@dataclass
class Case:
    """One benchmarked computation and the peers that compute it."""

    name: str
    description: str
    sizes: List[Shape]
    quick_sizes: List[Shape]
    make_inputs: Callable[[Shape, np.random.Generator], Inputs]
    bytes_per_element: float  # minimal memory traffic of the fused pass, per element
    peers: Dict[str, PeerBuilder]  # the first entry is the baseline (fastloss)
    check_rtol: Optional[float] = 1e-3  # results must match the baseline's (None: no check)
    peak_memory: bool = False  # also measure each peer's extra peak memory (fresh subprocess per peer)


# --------------------------------------------------------------------------- peers
def fastloss_peer(fn: Callable[..., Any]) -> PeerBuilder:
    def build(inp: Inputs, threads: int) -> Run:
        return lambda: fn(*inp.args, **inp.kwargs, return_grad=True, n_threads=threads)

    return build


def fastloss_grad_out_peer(fn: Callable[..., Any]) -> PeerBuilder:
    def build(inp: Inputs, threads: int) -> Run:
        grad = np.empty_like(inp.args[0])
        grad.fill(0)  # touch its pages now, so neither the first call nor peak memory counts them
        return lambda: fn(*inp.args, **inp.kwargs, return_grad=True, grad_out=grad, n_threads=threads)

    return build


def numpy_peer(expr: Callable[..., Any]) -> PeerBuilder:
    def build(inp: Inputs, threads: int) -> Run:
        return lambda: expr(*inp.args, **inp.kwargs)

    return build


def numpy_out_peer(make_expr: Callable[[Inputs], Callable[[], Any]]) -> PeerBuilder:
    """make_expr(inputs) preallocates its buffers and returns the expression."""

    def build(inp: Inputs, threads: int) -> Run:
        return make_expr(inp)

    return build


def torch_peer(loss: Callable[..., Any]) -> PeerBuilder:
    def build(inp: Inputs, threads: int) -> Optional[Run]:
        if torch is None:
            return None
        x = torch.from_numpy(inp.args[0]).requires_grad_()  # shares memory with the array
        rest = [torch.from_numpy(a) for a in inp.args[1:]]
        kwargs = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in inp.kwargs.items()}

        def run() -> Any:
            x.grad = None  # a fresh gradient every call, like fastloss without grad_out=
            value = loss(x, *rest, **kwargs)
            value.backward()
            return value, x.grad

        return run

    return build


def jax_peer(loss: Callable[..., Any]) -> PeerBuilder:
    def build(inp: Inputs, threads: int) -> Optional[Run]:
        if jax is None:
            return None
        f = jax.jit(jax.value_and_grad(loss))  # gradient w.r.t. the first argument
        args = [jax.device_put(a) for a in inp.args]
        kwargs = {k: jax.device_put(v) if isinstance(v, np.ndarray) else v for k, v in inp.kwargs.items()}
        return lambda: jax.block_until_ready(f(*args, **kwargs))

    return build


# --------------------------------------------------------- the NumPy / JAX formulas
# Plain float32 expressions of value and gradient of the mean loss, as a user writes
# them; Python scalars keep float32 (NEP 50).  The JAX versions are the same formulas
# for the loss alone (jax differentiates them), written so that their gradients follow
# the same conventions where |.| and max(., 0) have a kink (see jax_formulas).
def np_mse(x: np.ndarray, y: np.ndarray) -> Any:
    d = x - y
    return np.mean(d * d), d * (2 / d.size)


def np_mse_out(inp: Inputs) -> Run:
    x, y = inp.args
    d, sq = np.empty_like(x), np.empty_like(x)

    def run() -> Any:
        np.subtract(x, y, out=d)
        loss = np.mean(np.multiply(d, d, out=sq))
        return loss, np.multiply(d, 2 / d.size, out=d)

    return run


def np_l1(x: np.ndarray, y: np.ndarray) -> Any:
    d = x - y
    return np.mean(np.abs(d)), np.sign(d) / d.size


def np_l1_out(inp: Inputs) -> Run:
    x, y = inp.args
    d, g = np.empty_like(x), np.empty_like(x)

    def run() -> Any:
        np.subtract(x, y, out=d)
        loss = np.mean(np.abs(d, out=g))
        # into g, not in place: np.sign(d, out=d) is ~7x slower (NumPy 2.4, float32)
        return loss, np.divide(np.sign(d, out=g), d.size, out=g)

    return run


def np_bce(p: np.ndarray, y: np.ndarray) -> Any:
    # torch clamps each log at -100; inputs here are in [0.02, 0.98], where that is a no-op
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, (p - y) / (p * (1 - p)) / p.size


def np_bce_with_logits(z: np.ndarray, y: np.ndarray) -> Any:
    # the numerically stable form: max(z, 0) - z*y + log(1 + exp(-|z|))
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    return loss, (1 / (1 + np.exp(-z)) - y) / z.size


def jax_formulas() -> Dict[str, Callable[..., Any]]:
    """The loss alone, for jax.value_and_grad.

    l1: jax's derivative of abs at 0 is 1, not sign(0) = 0 as in torch, NumPy and fastloss
    (it shows wherever x == y, e.g. at one element of the 4M l1 inputs of --quick);
    sign(d) * d is |d| with the gradient sign(d), as jax's sign has a zero derivative.
    bce_with_logits: softplus(z) - z*y is the same stable value, and softplus's derivative
    is sigmoid(z) everywhere, whereas differentiating max(z, 0) + log1p(exp(-|z|)) gives a
    wrong gradient at z = 0.
    """
    if jax is None or jnp is None:
        return {}
    return {
        "mse": lambda x, y: jnp.mean((x - y) ** 2),
        "l1": lambda x, y: jnp.mean(jnp.sign(x - y) * (x - y)),
        "bce": lambda p, y: -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p)),
        "bce_with_logits": lambda z, y: jnp.mean(jax.nn.softplus(z) - z * y),
    }


# ----------------------------------------------------------------------- the cases
ELEMENTWISE_SIZES: List[Shape] = [(10**3,), (10**4,), (10**5,), (10**6,), (4 * 10**6,), (16 * 10**6,)]
ELEMENTWISE_QUICK: List[Shape] = [(10**3,), (10**5,), (4 * 10**6,)]


def regression_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.standard_normal(shape, dtype=np.float32)
    return Inputs((x, y), {})


def probability_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    p = rng.random(shape, dtype=np.float32) * np.float32(0.96) + np.float32(0.02)
    y = (rng.random(shape, dtype=np.float32) < 0.5).astype(np.float32)
    return Inputs((p, y), {})


def logit_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    z = rng.standard_normal(shape, dtype=np.float32) * np.float32(3)
    y = (rng.random(shape, dtype=np.float32) < 0.5).astype(np.float32)
    return Inputs((z, y), {})


def elementwise_case(
    name: str,
    fl_name: str,
    make_inputs: Callable[[Shape, np.random.Generator], Inputs],
    np_expr: Callable[..., Any],
    np_out: Optional[Callable[[Inputs], Run]],
    torch_name: str,
) -> Optional[Case]:
    fn = getattr(fl, fl_name, None)
    if fn is None:
        return None
    peers: Dict[str, PeerBuilder] = {
        "fastloss": fastloss_peer(fn),
        "fastloss grad_out=": fastloss_grad_out_peer(fn),
        "numpy": numpy_peer(np_expr),
    }
    if np_out is not None:
        peers["numpy out="] = numpy_out_peer(np_out)
    if torch is not None:
        peers["torch"] = torch_peer(getattr(torch.nn.functional, torch_name))
    if jax is not None:
        peers["jax"] = jax_peer(jax_formulas()[name])
    return Case(
        name=name,
        description=f"fl.{fl_name}: value+grad, reduction='mean', float32",
        sizes=ELEMENTWISE_SIZES,
        quick_sizes=ELEMENTWISE_QUICK,
        make_inputs=make_inputs,
        bytes_per_element=12,  # read input (4), read target (4), write grad (4)
        peers=peers,
    )


# ----------------------------------------------------- cross-entropy and SGD cases
def np_cross_entropy(x: np.ndarray, t: np.ndarray) -> Any:
    """Mean cross-entropy of (N, C) logits and its gradient: the stable float32 expression."""
    n = x.shape[0]
    rows = np.arange(n)
    m = x.max(1, keepdims=True)
    e = np.exp(x - m)
    s = e.sum(1, keepdims=True)
    loss = np.mean(np.log(s[:, 0]) + m[:, 0] - x[rows, t])
    grad = np.divide(e, s, out=e)  # softmax, in place (e is not needed any more)
    grad[rows, t] -= 1
    grad /= n
    return loss, grad


def np_sequence_cross_entropy(x: np.ndarray, t: np.ndarray) -> Any:
    """The same on the flattened (B*T, V) batch (= the token mean); grad reshaped to (B, T, V)."""
    loss, grad = np_cross_entropy(x.reshape(-1, x.shape[-1]), t.reshape(-1))
    return loss, grad.reshape(x.shape)


def torch_sequence_cross_entropy(x: Any, t: Any) -> Any:
    return torch.nn.functional.cross_entropy(x.reshape(-1, x.shape[-1]), t.reshape(-1))


def jax_cross_entropy(x: Any, t: Any) -> Any:
    assert jax is not None and jnp is not None
    picked = jnp.take_along_axis(x, t[:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(x, axis=1) - picked)


def class_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """Logits of shape (..., C) (standard normal, float32) and int64 class targets of shape (...)."""
    x = rng.standard_normal(shape, dtype=np.float32)
    t = rng.integers(0, shape[-1], size=shape[:-1], dtype=np.int64)
    return Inputs((x, t), {})


def cross_entropy_case() -> Case:
    peers: Dict[str, PeerBuilder] = {
        "fastloss": fastloss_peer(fl.cross_entropy),
        "fastloss grad_out=": fastloss_grad_out_peer(fl.cross_entropy),
        "numpy": numpy_peer(np_cross_entropy),
    }
    if torch is not None:
        peers["torch"] = torch_peer(torch.nn.functional.cross_entropy)
    if jax is not None:
        peers["jax"] = jax_peer(jax_cross_entropy)
    return Case(
        name="cross_entropy",
        description="fl.cross_entropy: value+grad, (N, C) logits, int64 targets, reduction='mean', float32",
        sizes=[(64, 1000), (8192, 128), (4096, 32000)],
        quick_sizes=[(64, 1000), (8192, 128), (1024, 32000)],
        make_inputs=class_inputs,
        bytes_per_element=8,  # per logit: read logits (4), write grad (4); targets are N int64s
        peers=peers,
    )


def sequence_cross_entropy_case() -> Case:
    peers: Dict[str, PeerBuilder] = {
        "fastloss": fastloss_peer(fl.sequence_cross_entropy),
        "fastloss grad_out=": fastloss_grad_out_peer(fl.sequence_cross_entropy),
        "numpy": numpy_peer(np_sequence_cross_entropy),
    }
    if torch is not None:
        peers["torch"] = torch_peer(torch_sequence_cross_entropy)
    if jax is not None:
        peers["jax"] = jax_peer(
            lambda x, t: jax_cross_entropy(x.reshape(-1, x.shape[-1]), t.reshape(-1))
        )
    return Case(
        name="sequence_cross_entropy",
        description="fl.sequence_cross_entropy: value+grad, (B, T, V) logits, reduction='mean' over tokens, float32",
        sizes=[(8, 512, 32000)],
        quick_sizes=[(2, 128, 32000)],
        make_inputs=class_inputs,
        bytes_per_element=8,
        peers=peers,
        peak_memory=True,
    )


SGD_LR, SGD_WD = 0.01, 0.01


def sgd_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    p = rng.standard_normal(shape, dtype=np.float32)
    g = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.1)
    return Inputs((p, g), {})


# SGD peers: each works on its own copy of the parameters (the step updates them in place,
# so every peer's first step starts from the same values and can be checked), and returns
# (p,) for the check; repeated steps keep updating the same array.
def sgd_fastloss_peer(inp: Inputs, threads: int) -> Run:
    p, g = inp.args[0].copy(), inp.args[1]

    def run() -> Any:
        fl.sgd_step([p], [g], SGD_LR, weight_decay=SGD_WD, n_threads=threads)
        return (p,)

    return run


def sgd_fastloss_class_peer(inp: Inputs, threads: int) -> Run:
    p, g = inp.args[0].copy(), inp.args[1]
    opt = fl.SGD([p], lr=SGD_LR, weight_decay=SGD_WD, n_threads=threads)

    def run() -> Any:
        opt.step([g])
        return (p,)

    return run


def sgd_numpy_peer(inp: Inputs, threads: int) -> Run:
    p, g = inp.args[0].copy(), inp.args[1]

    def step(p: np.ndarray, g: np.ndarray) -> Any:
        p -= SGD_LR * (g + SGD_WD * p)
        return (p,)

    return lambda: step(p, g)


def sgd_torch_peer(inp: Inputs, threads: int) -> Optional[Run]:
    if torch is None:
        return None
    p_np = inp.args[0].copy()
    p = torch.from_numpy(p_np)  # shares memory with p_np
    p.grad = torch.from_numpy(inp.args[1])  # set once
    opt = torch.optim.SGD([p], lr=SGD_LR, weight_decay=SGD_WD)

    def run() -> Any:
        opt.step()
        return (p_np,)

    return run


def sgd_case() -> Case:
    peers: Dict[str, PeerBuilder] = {
        "fastloss": sgd_fastloss_peer,
        "fastloss SGD.step": sgd_fastloss_class_peer,
        "numpy": sgd_numpy_peer,
    }
    if torch is not None:
        peers["torch"] = sgd_torch_peer
    return Case(
        name="sgd",
        description=(f"fl.sgd_step: one in-place SGD step, lr={SGD_LR}, weight_decay={SGD_WD}, no momentum, "
                     "float32 (numpy: p -= lr * (g + wd * p); torch: torch.optim.SGD.step)"),
        sizes=[(10**7,)],
        quick_sizes=[(2 * 10**6,)],
        make_inputs=sgd_inputs,
        bytes_per_element=12,  # read p (4), read g (4), write p (4)
        peers=peers,
    )


def build_cases() -> Tuple[List[Case], List[str]]:
    """All benchmark cases: the elementwise losses, cross_entropy, sequence CE, SGD."""
    specs = [
        ("mse", "mse_loss", regression_inputs, np_mse, np_mse_out, "mse_loss"),
        ("l1", "l1_loss", regression_inputs, np_l1, np_l1_out, "l1_loss"),
        ("bce", "binary_cross_entropy", probability_inputs, np_bce, None, "binary_cross_entropy"),
        (
            "bce_with_logits",
            "binary_cross_entropy_with_logits",
            logit_inputs,
            np_bce_with_logits,
            None,
            "binary_cross_entropy_with_logits",
        ),
    ]
    cases, skipped = [], []
    for spec in specs:
        case = elementwise_case(*spec)
        if case is None:
            skipped.append(f"{spec[0]}: fastloss has no {spec[1]} yet; skipped")
        else:
            cases.append(case)
    more = (
        ("cross_entropy", cross_entropy_case),
        ("sequence_cross_entropy", sequence_cross_entropy_case),
        ("sgd_step", sgd_case),
    )
    for fl_name, make_case in more:
        if getattr(fl, fl_name, None) is None:
            skipped.append(f"fastloss has no {fl_name} yet; its case is skipped")
        else:
            cases.append(make_case())
    return cases, skipped


# ---------------------------------------------------------------------- measuring
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
        value = value.detach().numpy()
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


def peer_problem(shape: Shape, name: str, entry: Dict[str, Any], baseline: str) -> Optional[str]:
    """The line that reports a failed or mismatching peer; None when it ran fine."""
    if "error" in entry:
        return f"{fmt_size(shape)}: {name} failed: {entry['error']}"
    if not entry.get("check_ok", True):
        return (f"{fmt_size(shape)}: {name}'s result differs from {baseline}'s "
                f"(max error {entry['check_err']:.2g} relative to the largest |value|)")
    return None


# ------------------------------------------------------------------- peak memory
def proc_status_kib(field: str) -> Optional[int]:
    """A "VmRSS" / "VmHWM" line of /proc/self/status, in KiB; None where it does not exist."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def peak_memory_child(spec: str) -> int:
    """In a fresh process: the extra peak RSS of one call of a peer, printed as JSON.

    spec = "case;shape;peer;threads".  The libraries are warmed up on a small problem of
    the same kind, then the full inputs (and the peer's preallocated buffers) are made,
    the peak RSS is reset to the current RSS (writing 5 to /proc/self/clear_refs), one
    call runs, and the growth of the peak (VmHWM - VmRSS before) is the answer: every page
    the call touched beyond what was resident, the returned gradient included.
    """
    case_name, shape_text, peer, threads_text = spec.split(";")
    shape = tuple(int(d) for d in shape_text.split("x"))
    threads = int(threads_text)
    if torch is not None:
        torch.set_num_threads(threads)
    case = next(c for c in build_cases()[0] if c.name == case_name)
    build = case.peers[peer]
    rng = np.random.default_rng(0)
    small = tuple(min(d, 2) for d in shape[:-1]) + shape[-1:]
    warm = build(case.make_inputs(small, rng), threads)
    if warm is None:
        print(json.dumps({"error": "not available"}))
        return 0
    warm(), warm()
    del warm
    inputs = case.make_inputs(shape, rng)
    run = build(inputs, threads)
    assert run is not None
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM := VmRSS (Linux >= 4.0)
    except OSError as exc:
        print(json.dumps({"error": f"cannot reset the peak RSS: {exc}"}))
        return 0
    before = proc_status_kib("VmRSS")
    result = run()
    peak = proc_status_kib("VmHWM")
    if before is None or peak is None:
        print(json.dumps({"error": "no /proc/self/status"}))
        return 0
    print(json.dumps({"extra_bytes": (peak - before) * 1024, "grad_bytes": inputs.args[0].nbytes}))
    del result
    return 0


def measure_peak_memory(case: Case, shape: Shape, peer: str, threads: int) -> Dict[str, Any]:
    """Run peak_memory_child in a fresh interpreter (so no earlier allocation is reused)."""
    spec = f"{case.name};{'x'.join(map(str, shape))};{peer};{threads}"
    try:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--peak-memory-child", spec],
                              capture_output=True, text=True, timeout=900)
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return dict(out)


# ---------------------------------------------------------------------- reporting
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cpu_flags": cpu_isa_flags(),
        "last_level_cache": last_level_cache(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
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
    print(f"  cpu       {cond['cpu']} ({cond['logical_cpus']} logical CPUs, {cond['usable_cpus']} usable; "
          f"{cond['cpu_flags']}; last-level cache {cond['last_level_cache']})")
    print(f"  threads   {threads}; fastloss SIMD: {cond['fastloss_simd_level']}")
    print(f"  versions  python {cond['python']}, numpy {cond['numpy']}, torch {cond['torch']}, "
          f"jax {cond['jax']}, fastloss {cond['fastloss']} from {cond['fastloss_path']}")
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
        print(f"  machine   before the run, other processes used {idle['other']:.2f} cores and the hypervisor "
              f"stole {idle['steal']:.2f}{'  <- BUSY: timings will be off' if is_busy(idle) else ''}")


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
        ("", [("size", size_width, lambda row: fmt_size(tuple(row["shape"])) + ("*" if is_busy(row.get("other_load")) else ""))])
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
            print(f"  peak memory {fmt_size(tuple(row['shape']))}: extra peak RSS of one call / gradient size "
                  f"({grad_mib:.0f} MiB), fresh process each: " + ", ".join(cells))


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
    for ax in axes.flat[len(cases):]:
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
    fig.legend([handles[p] for p in names if p in handles], [p for p in names if p in handles],
               loc="lower center", ncol=len(handles), frameon=False)
    c = results["conditions"]
    fig.suptitle(f"time per element of value + gradient (sgd: of one step), float32, best of {c['repeats']}\n"
                 f"fastloss {c['fastloss']}, {c['cpu']}, {c['threads']} threads, {c['date'][:10]}", fontsize=10)
    fig.tight_layout(rect=(0, 0.45 / height, 1, 1))
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}")


# ------------------------------------------------------------------ thread scaling
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
    return [(spec, by_name[spec.case]) for spec in SCALING_PROBLEMS
            if spec.case in by_name and SCALING_PEER in by_name[spec.case].peers]


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
        row: Dict[str, Any] = {"case": case.name, "shape": list(shape), "elements": math.prod(shape),
                               "large": spec.large}
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
    print(f"  STREAM    {stream_reference(s1):.1f} GB/s with 1 thread, {stream_reference(sn):.1f} with {n}: speedup "
          f"{stream_speedup:.2f}x (the better kernel at each count; triad {sn['triad'] / s1['triad']:.2f}x, add "
          f"{sn['add'] / s1['add']:.2f}x){'  <- BUSY machine' if is_busy(scaling['stream_other_load']) else ''}")
    print(f"  large     memory-bound; target: speedup >= {scaling['target_vs_stream']:.2f} x STREAM's speedup, "
          f"i.e. vs STREAM = speedup / {stream_speedup:.2f} >= {scaling['target_vs_stream']:.2f}")
    print(f"  small     target: never slower with {n} threads, t{n}/t1 <= {scaling['small_tolerance']:.2f} "
          "(5 % allowed for timing noise)")

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


# --------------------------------------------------------------------------- main
# ------------------------------------------------------------------ per-call overhead
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
        {"case": "mse", "size": "8 elements", "runs": {
            "fastloss value+grad": lambda: fl.mse_loss(x, y, return_grad=True, n_threads=threads),
            "numpy forward": lambda: np.mean((x - y) ** 2)}},
        {"case": "cross_entropy", "size": "(1, 10) logits", "runs": {
            "fastloss value+grad": lambda: fl.cross_entropy(logits, labels, return_grad=True, n_threads=threads),
            "numpy forward": numpy_cross_entropy}},
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


# ------------------------------------------------------------- tail latency under load
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
            procs.append(subprocess.Popen([sys.executable, "-I", "-S", "-c", SPIN_CHILD, f"{seconds:.0f}"],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True))
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
    return {"calls": len(times_ns), "p50_s": float(p50), "p99_s": float(p99), "mean_s": float(t.mean()),
            "max_s": float(t.max()), "samples_ns": times_ns}


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


def run_contention(cases: List[Case], quick: bool, busy: int, rng: np.random.Generator) -> Dict[str, Any]:
    """For each input: latency per call at n_threads=None and 1, first idle, then with `busy` busy processes."""
    rows, problems = [], []
    for spec, case in contention_problems(cases):
        t_start = time.perf_counter()
        budget = spec.quick_budget_s if quick else spec.budget_s
        inputs = case.make_inputs(spec.shape, rng)
        grad = np.empty_like(inputs.args[0])
        fn = getattr(fl, spec.function)

        def make_run(n_threads: Optional[int]) -> Run:
            return lambda: fn(*inputs.args, **inputs.kwargs, return_grad=True, grad_out=grad, n_threads=n_threads)

        runs = {key: make_run(n) for key, n in CONTENTION_MODES}
        row: Dict[str, Any] = {"case": case.name, "function": spec.function, "shape": list(spec.shape),
                               "elements": math.prod(spec.shape), "budget_s": budget}
        reference = [to_numpy(r).copy() for r in runs["one_thread"]()]
        row["check_ok"], row["check_err"] = check_result(runs["default"](), reference, case.check_rtol or 0.0)
        if not row["check_ok"]:
            problems.append(f"{spec.function} {fmt_size(spec.shape)}: the result at n_threads=None differs from "
                            f"n_threads=1's (max error {row['check_err']:.2g} relative to the largest |value|)")
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
    print(f"  x         default / 1 thread, of p99 and of the mean; target: p99 x <= {p99_target:.1f} and "
          f"mean x <= {mean_target:.1f} (PASS / FAIL)")
    print(f"  busy      cores used by the {contention['busy_processes']} busy processes ({contention['busy_process']})")
    print("  other     cores used by other processes, steal: taken by the hypervisor, while the row was measured;")
    print(f"            size*: other + steal > {BUSY} cores, the row's times are suspect")
    for condition, title in (("idle", "idle (no busy processes)"),
                             ("loaded", f"loaded ({contention['busy_processes']} busy processes)")):
        head = f"{'calls':>6}  {'p50 ms':>8}  {'p99 ms':>8}  {'mean ms':>8}"
        print(f"\n{title}")
        print(f"{'':>14}  {'':>10}  {'default':^{len(head)}}  {'1 thread':^{len(head)}}")
        print(f"{'case':>14}  {'size':>10}  {head}  {head}  {'p99 x':>6}  {'mean x':>6}  {'':4}  "
              f"{'busy':>5}  {'other':>5}  {'steal':>5}")
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
    default_threads = (f"fastloss.max_threads() = {cond['fastloss_max_threads']}"
                       if cond["fastloss_max_threads"] is not None else "the OpenMP default")
    notes = [] if contention_problems(cases) else ["--only left none of the contention cases"]
    print_header("fastloss benchmark: latency per call under load, fastloss n_threads=None vs n_threads=1",
                 cond, f"n_threads=None ({default_threads}) vs n_threads=1; {busy} busy processes "
                 "(one per usable CPU) in the loaded runs",
                 "each call timed alone (perf_counter_ns) after warm-up, GC off; the two thread counts alternate "
                 "in blocks of calls (A B B A ..., 10-60 rounds), the first call of each block untimed; "
                 "each input idle, then loaded", notes)
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


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats (about a minute)")
    try:
        default_threads = len(os.sched_getaffinity(0))
    except AttributeError:
        default_threads = os.cpu_count() or 1
    parser.add_argument("--threads", type=int, default=default_threads,
                        help=f"threads for fastloss, torch and STREAM (default: all usable CPUs, {default_threads})")
    parser.add_argument("--repeats", type=int, default=None, help="samples per measurement, best is reported (default 10, quick 7)")
    parser.add_argument("--json", metavar="PATH", help="write all raw numbers to this JSON file")
    parser.add_argument("--plot", metavar="PATH", help="write a log-log plot (needs matplotlib)")
    parser.add_argument("--only", metavar="NAMES", help="comma-separated case names to run (default: all)")
    parser.add_argument("--no-scaling", action="store_true",
                        help="skip the thread-scaling report (fastloss at n_threads=1 vs N, against STREAM)")
    parser.add_argument("--contention", action="store_true",
                        help="only the tail-latency report: fastloss at n_threads=None vs 1, idle and with one "
                             "busy process per usable CPU (about 3 minutes, 1 with --quick)")
    parser.add_argument("--peak-memory-child", metavar="SPEC", help=argparse.SUPPRESS)  # internal
    args = parser.parse_args(argv)
    if args.peak_memory_child:
        return peak_memory_child(args.peak_memory_child)
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    if args.repeats is None:
        args.repeats = 7 if args.quick else 10
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    threads = args.threads

    if torch is not None:
        torch.set_num_threads(threads)
    cases, notes = build_cases()
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {c.name for c in cases}
        if unknown:
            parser.error(f"unknown case(s) {sorted(unknown)}; known: {[c.name for c in cases]}")
        cases = [c for c in cases if c.name in wanted]
    cond = conditions(threads, args)
    if args.contention:
        return run_contention_mode(cases, cond, args)
    if torch is None:
        notes.append("torch is not installed: PyTorch peer skipped")
    if jax is None:
        notes.append("jax is not installed: JAX peer skipped (pip install jax)")
    else:
        notes.append(f"jax: XLA sizes its own thread pool by the usable CPUs ({cond['usable_cpus']}), --threads "
                     "cannot limit it (nor can XLA_FLAGS; taskset can)")
    notes.append("numpy: ufuncs run on one thread")
    scaling_wanted = not args.no_scaling and threads > 1 and bool(scaling_problems(cases))
    if not args.no_scaling and not scaling_wanted:
        notes.append("thread scaling: skipped (--threads 1, or --only left none of its cases)")

    print_header("fastloss benchmark: value + gradient (losses) and one in-place step (SGD), float32, reduction='mean'",
                 cond, f"{threads} (fastloss n_threads=, torch.set_num_threads, STREAM)",
                 f"best of {args.repeats} samples, each >= 1 ms (loops small calls), per call; after warm-up", notes)
    run_load = OtherLoad()


    # STREAM before and after the cases; the better figure is the reference (the harder one)
    stream_n = (8 if args.quick else 20) * 2**20  # float64: 3 arrays of 64 / 160 MiB
    progress("measuring STREAM ...")
    stream_load = OtherLoad()
    stream_1 = stream_gbs(stream_n, 1, args.repeats)
    stream_start = stream_gbs(stream_n, threads, args.repeats) if threads > 1 else stream_1
    stream_busy = is_busy(stream_load.cores())

    rng = np.random.default_rng(20240601)
    results: Dict[str, Any] = {"conditions": cond, "notes": notes, "cases": []}
    for case in cases:
        rows, problems = run_case(case, case.quick_sizes if args.quick else case.sizes, threads, args.repeats, rng)
        results["cases"].append({
            "name": case.name,
            "description": case.description,
            "bytes_per_element": case.bytes_per_element,
            "peers": list(case.peers),
            "rows": rows,
            "problems": problems,
        })

    progress("measuring STREAM again ...")
    stream_load_end = OtherLoad()
    stream_end = stream_gbs(stream_n, threads, args.repeats)
    stream_busy = stream_busy or is_busy(stream_load_end.cores())
    stream = max(stream_reference(stream_start), stream_reference(stream_end))
    cond["other_load_during"] = during = run_load.cores()
    if scaling_wanted:
        results["scaling"] = run_scaling(cases, args.quick, threads, args.repeats, stream_n, rng)
    results["overhead"] = run_overhead(threads, args.repeats)

    print(f"  STREAM    {stream:.1f} GB/s with {threads} thread(s): NumPy float64, 24 B/element, "
          f"3 x {stream_n * 8 / 2**20:.0f} MiB, best before and after the cases{'  <- BUSY machine' if stream_busy else ''}")
    print(f"            before: triad a=b+s*c {stream_start['triad']:.1f}, add a=b+c {stream_start['add']:.1f}; "
          f"after: triad {stream_end['triad']:.1f}, add {stream_end['add']:.1f}; "
          f"1 thread before: triad {stream_1['triad']:.1f}, add {stream_1['add']:.1f}")
    if during is not None:
        print(f"  machine   during the run other processes used {during['other']:.2f} cores on average, "
              f"the hypervisor stole {during['steal']:.2f}")
    print("  ratio     peer time / fastloss time (> 1: fastloss is faster); '!' marks a result that differs from fastloss's")
    print("  GB/s      minimal traffic of the fused pass / fastloss time; B/element is given with each table (losses: read")
    print("            input, read target, write grad = 12; cross-entropy: 8 per logit; SGD: read p, read g, write p = 12);")
    print("            above 100 % STREAM is possible for sizes whose data fit in the caches")
    print(f"  size*     other work took > {BUSY} cores while this size was measured: its times are suspect")
    for case, entry in zip(cases, results["cases"]):
        print(f"\n{case.name}: {case.description}, {case.bytes_per_element:g} B/element")
        print_table(case, entry["rows"], stream)
        if case.peak_memory:
            print_peak_memory(entry["rows"])
        for problem in entry["problems"]:
            print(f"  ! {problem}")
    if "scaling" in results:
        print_scaling(results["scaling"])
    print_overhead(results["overhead"])

    results["stream"] = {
        "kernels": {"triad": "a = b + s*c (NumPy, cache-sized chunks)", "add": "a = b + c (NumPy)"},
        "dtype": "float64",
        "bytes_per_element": 24,
        "elements": stream_n,
        "threads": threads,
        "gbs": stream,
        "gbs_before_by_kernel": stream_start,
        "gbs_after_by_kernel": stream_end,
        "gbs_1_thread_before_by_kernel": stream_1,
        "busy": stream_busy,
    }
    for case_result in results["cases"]:
        for row in case_result["rows"]:
            for entry in row["peers"].values():
                if "best_s" in entry:
                    gbs = case_result["bytes_per_element"] * row["elements"] / entry["best_s"] / 1e9
                    entry["gbs"], entry["pct_stream"] = gbs, 100 * gbs / stream

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"raw numbers written to {args.json}")
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
