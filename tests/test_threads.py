"""Determinism across thread counts and concurrent Python threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Tuple

import numpy as np
import pytest
from registry import (
    DTYPES,
    PLAIN_AND_RICH,
    REDUCTIONS,
    RICH_CASES,
    SPEC_BY_NAME,
    Case,
    assert_bitwise,
    case_id,
    make_layout,
)

BIG = (1000, 1000)  # 10**6 elements
#: every loss without options, plus its richest option variant (broadcast weight / pos_weight)
THREAD_CASES = PLAIN_AND_RICH
_cache: Dict[Tuple[str, str], Tuple[np.ndarray, np.ndarray, dict]] = {}


def _big(case: Case, dtype: Any) -> Tuple[np.ndarray, np.ndarray, dict]:
    key = (case.id, np.dtype(dtype).name)
    if key not in _cache:
        _cache.clear()  # keep at most one big data set alive
        _cache[key] = case.data(BIG, dtype, seed=200)
    return _cache[key]


def _grad_output(reduction: str, dtype: Any) -> Any:
    if reduction == "none":
        return np.random.default_rng(201).uniform(-2, 2, BIG).astype(dtype)
    return 0.75


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", THREAD_CASES, ids=case_id)
def test_bitwise_identical_for_every_thread_count(case: Case, dtype: Any, reduction: str) -> None:
    x, y, opts = _big(case, dtype)
    go = _grad_output(reduction, dtype)
    want_loss, want_grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go, n_threads=1)
    want_only = case.call(x, y, opts, reduction=reduction, n_threads=1)
    for n in (2, 3, None):
        loss, grad = case.call(x, y, opts, reduction=reduction, return_grad=True, grad_output=go, n_threads=n)
        assert_bitwise(loss, want_loss, f"loss, n_threads={n}")
        assert_bitwise(grad, want_grad, f"grad, n_threads={n}")
    assert_bitwise(case.call(x, y, opts, reduction=reduction, n_threads=2), want_only, "loss only, n_threads=2")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", RICH_CASES, ids=case_id)
def test_bitwise_identical_for_every_thread_count_strided(case: Case, reduction: str) -> None:
    x, y, opts = case.data(BIG, np.float32, seed=202)
    xt, yt = make_layout(x, "transposed"), make_layout(y, "sliced")
    want = case.call(x, y, opts, reduction=reduction, return_grad=True, n_threads=1)
    for n in (1, 2):
        loss, grad = case.call(xt, yt, opts, reduction=reduction, return_grad=True, n_threads=n)
        assert_bitwise(loss, want[0], f"loss, n_threads={n}")
        assert_bitwise(grad, want[1], f"grad, n_threads={n}")


@pytest.mark.parametrize("case", RICH_CASES, ids=case_id)
def test_concurrent_python_threads_match_serial(case: Case) -> None:
    """4 Python threads, each with its own inputs, dtype, reduction and buffers, at once."""
    jobs = []
    for i in range(4):
        dtype = DTYPES[i % 2]
        reduction = REDUCTIONS[i % 3]
        x, y, opts = case.data((400, 500), dtype, seed=300 + i)
        jobs.append((x, y, opts, reduction, dtype))
    serial = [case.call(x, y, o, reduction=r, return_grad=True) for x, y, o, r, _ in jobs]
    barrier = threading.Barrier(4)

    def worker(i: int) -> list:
        x, y, o, r, dtype = jobs[i]
        barrier.wait()
        results = []
        for k in range(6):
            if k % 2:
                out = np.empty(x.shape if r == "none" else (), dtype)
                grad_out = np.empty(x.shape, dtype)
                res = case.call(x, y, o, reduction=r, return_grad=True, out=out, grad_out=grad_out)
                assert res[0] is out and res[1] is grad_out
            else:
                res = case.call(x, y, o, reduction=r, return_grad=True, n_threads=1 + k % 3)
            results.append(res)
        return results

    with ThreadPoolExecutor(max_workers=4) as ex:
        futures = [ex.submit(worker, i) for i in range(4)]
        results = [f.result(timeout=120) for f in futures]
    for i, runs in enumerate(results):
        for k, (loss, grad) in enumerate(runs):
            assert_bitwise(loss, serial[i][0], f"thread {i} run {k} loss")
            assert_bitwise(grad, serial[i][1], f"thread {i} run {k} grad")


@pytest.mark.parametrize("case", RICH_CASES, ids=case_id)
def test_concurrent_python_threads_on_shared_inputs(case: Case) -> None:
    """4 Python threads reading the same 10**6-element arrays, each with 2 OpenMP threads."""
    x, y, opts = _big(case, np.float64)
    want = case.call(x, y, opts, reduction="sum", return_grad=True)
    barrier = threading.Barrier(4)

    def worker(_: int) -> tuple:
        barrier.wait()
        return case.call(x, y, opts, reduction="sum", return_grad=True, n_threads=2)

    with ThreadPoolExecutor(max_workers=4) as ex:
        results = list(ex.map(worker, range(4), timeout=120))
    for i, (loss, grad) in enumerate(results):
        assert_bitwise(loss, want[0], f"thread {i} loss")
        assert_bitwise(grad, want[1], f"thread {i} grad")


def test_gil_is_released_during_the_kernel() -> None:
    """While one thread runs a long kernel, the main thread keeps executing Python code."""
    case = Case(SPEC_BY_NAME["binary_cross_entropy_with_logits"], "plain")
    x, y, _ = case.data((4 * 10**6,), np.float64, seed=400)
    grad_out = np.empty_like(x)

    def run() -> None:
        case.call(x, y, {}, reduction="sum", return_grad=True, grad_out=grad_out, n_threads=1)

    run()  # warm-up
    t0 = time.perf_counter()
    run()
    kernel_time = time.perf_counter() - t0
    if kernel_time < 0.02:
        pytest.skip(f"kernel too fast ({kernel_time * 1e3:.1f} ms) to observe")
    worker = threading.Thread(target=run)
    max_gap = 0.0
    worker.start()
    last = time.perf_counter()
    while worker.is_alive():
        now = time.perf_counter()
        max_gap = max(max_gap, now - last)
        last = now
    worker.join()
    # holding the GIL for the whole kernel would stall this loop for ~kernel_time
    assert max_gap < 0.5 * kernel_time, (max_gap, kernel_time)


@pytest.mark.parametrize("case", [c for c in PLAIN_AND_RICH], ids=case_id)
def test_threads_below_the_threshold_give_the_same_bits(case: Case) -> None:
    """With the threading threshold off, a problem of a few blocks is split across threads and
    still sums in block order: bitwise the result of one thread."""
    from fastloss import _core

    shape = (5, 7000)  # 35000 elements: 3 blocks
    x, y, opts = case.data(shape, np.float32, seed=202)
    want = case.call(x, y, opts, reduction="mean", return_grad=True, n_threads=1)
    _core.set_min_parallel_work(0)
    try:
        got = case.call(x, y, opts, reduction="mean", return_grad=True, n_threads=2)
    finally:
        _core.set_min_parallel_work(-1)
    assert_bitwise(got[0], want[0], "loss")
    assert_bitwise(got[1], want[1], "grad")


def test_min_parallel_work_can_be_set_and_reset() -> None:
    from fastloss import _core

    default = _core.min_parallel_work()
    assert default == 1 << 15
    _core.set_min_parallel_work(5)
    assert _core.min_parallel_work() == 5
    _core.set_min_parallel_work(-1)
    assert _core.min_parallel_work() == default
