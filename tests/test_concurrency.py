"""Concurrent Python threads: 8 threads released together by a Barrier, each calling a
DIFFERENT loss at every moment (thread i runs loss (i + k) % 8 at its k-th call) on the SAME
shared read-only arrays, with the default n_threads and with n_threads=2. The problems are
large enough for the multi-threaded path, so Python threads and OpenMP teams run at once.
Every loss and gradient must be bitwise the serial one-thread call's (API.md: deterministic
for every n_threads, GIL released while kernels run)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

import fastloss as fl
import numpy as np
import pytest
import reference as ref
from fastloss import _core
from registry import DTYPES, assert_bitwise

N_PY_THREADS = 8
ROUNDS = 24  # calls per thread and n_threads setting
V = 256  # classes / vocabulary


@dataclass(frozen=True)
class Shared:
    """The read-only arrays every thread reads."""

    logits: np.ndarray  # (R, V): cross_entropy, mse / l1 / BCE-with-logits input, l2_penalty param
    probs: np.ndarray  # (R, V) in (0, 1): BCE input, mse / l1 target, l2_penalty param
    soft: np.ndarray  # (R, V) in [0, 1]: BCE / BCE-with-logits target
    log_probs: np.ndarray  # (R, V): nll_loss input
    labels: np.ndarray  # (R,) int64 class indices
    class_weight: np.ndarray  # (V,)
    pos_weight: np.ndarray  # (V,)
    lengths: np.ndarray  # (B,) for the (B, T, V) view of logits


def shared_inputs(dtype: Any) -> Shared:
    # at least 2**16 elements and 4x the threading threshold (in mse-equivalent elements; the
    # exp / log kernels weigh each element more), so every kernel splits across OpenMP threads
    rows = max(2**16, 4 * _core.min_parallel_work()) // V
    rng = np.random.default_rng(2026)
    logits = 3.0 * rng.standard_normal((rows, V))
    d = Shared(
        logits=logits.astype(dtype),
        probs=rng.uniform(0.02, 0.98, (rows, V)).astype(dtype),
        soft=rng.uniform(0.0, 1.0, (rows, V)).astype(dtype),
        log_probs=ref.log_softmax(logits, axis=1).astype(dtype),
        labels=rng.integers(0, V, rows),
        class_weight=rng.uniform(0.5, 2.0, V).astype(dtype),
        pos_weight=rng.uniform(0.5, 3.0, V).astype(dtype),
        lengths=rng.integers(1, 17, rows // 16),
    )
    for a in vars(d).values():
        a.flags.writeable = False
    assert d.logits.size >= 2**16 and d.logits.size >= 4 * _core.min_parallel_work()
    return d


#: name -> call on the shared arrays returning (loss, gradient(s))
LOSSES: Dict[str, Callable[..., Tuple[Any, Any]]] = {
    "mse_loss": lambda d, **kw: fl.mse_loss(d.logits, d.probs, return_grad=True, **kw),
    "l1_loss": lambda d, **kw: fl.l1_loss(d.logits, d.probs, reduction="sum", return_grad=True, **kw),
    "binary_cross_entropy": lambda d, **kw: fl.binary_cross_entropy(
        d.probs, d.soft, weight=d.pos_weight, return_grad=True, **kw
    ),
    "binary_cross_entropy_with_logits": lambda d, **kw: fl.binary_cross_entropy_with_logits(
        d.logits, d.soft, pos_weight=d.pos_weight, reduction="none", return_grad=True, **kw
    ),
    "cross_entropy": lambda d, **kw: fl.cross_entropy(
        d.logits, d.labels, weight=d.class_weight, label_smoothing=0.1, return_grad=True, **kw
    ),
    "nll_loss": lambda d, **kw: fl.nll_loss(d.log_probs, d.labels, weight=d.class_weight, return_grad=True, **kw),
    "sequence_cross_entropy": lambda d, **kw: fl.sequence_cross_entropy(
        d.logits.reshape(-1, 16, V),
        d.labels.reshape(-1, 16),
        lengths=d.lengths,
        reduction="sequence",
        return_grad=True,
        **kw,
    ),
    "l2_penalty": lambda d, **kw: fl.l2_penalty([d.logits, d.probs], 0.01, return_grad=True, **kw),
}
assert len(LOSSES) == N_PY_THREADS


def assert_same_result(got: Tuple[Any, Any], want: Tuple[Any, Any], what: str) -> None:
    assert_bitwise(np.asarray(got[0]), np.asarray(want[0]), f"{what} loss")
    got_grads = got[1] if isinstance(got[1], list) else [got[1]]
    want_grads = want[1] if isinstance(want[1], list) else [want[1]]
    assert len(got_grads) == len(want_grads)
    for i, (g, w) in enumerate(zip(got_grads, want_grads)):
        assert_bitwise(g, w, f"{what} grad {i}")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_concurrent_threads_calling_different_losses_on_shared_inputs(dtype: Any) -> None:
    d = shared_inputs(dtype)
    names = list(LOSSES)
    serial = {name: LOSSES[name](d, n_threads=1) for name in names}
    barrier = threading.Barrier(N_PY_THREADS, timeout=60)

    def worker(i: int) -> int:
        barrier.wait()  # all threads start together
        calls = 0
        for k in range(ROUNDS):
            name = names[(i + k) % len(names)]  # at every step the 8 threads run 8 different losses
            for n_threads in (None, 2):
                got = LOSSES[name](d, n_threads=n_threads)
                assert_same_result(got, serial[name], f"thread {i}, call {k}, {name}, n_threads={n_threads}:")
                calls += 1
        return calls

    with ThreadPoolExecutor(max_workers=N_PY_THREADS) as pool:
        futures = [pool.submit(worker, i) for i in range(N_PY_THREADS)]
        counts: List[int] = [f.result(timeout=300) for f in futures]  # re-raises a thread's assertion
    assert counts == [2 * ROUNDS] * N_PY_THREADS
    # the shared inputs were only read
    fresh = shared_inputs(dtype)
    for key, a in vars(d).items():
        assert_bitwise(a, getattr(fresh, key), f"shared {key} after the run")
