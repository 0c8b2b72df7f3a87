"""One test per finding of the "trust at the edges" review: each call here once returned a
silently wrong number, killed the interpreter or got an untyped error. The general versions
(every loss, layout and pair of arrays) are the property tests in test_properties.py."""

from __future__ import annotations

import os
import re
from typing import Any, Callable

import fastloss as fl
import numpy as np
import pytest


def _raises(exc: Any, *patterns: str) -> Any:
    """pytest.raises that also checks every pattern appears in the message."""

    class _Check:
        def __enter__(self) -> None:
            self._ctx = pytest.raises(exc)
            self._info = self._ctx.__enter__()

        def __exit__(self, *args: Any) -> bool:
            handled = self._ctx.__exit__(*args)
            msg = str(self._info.value)
            for p in patterns:
                assert re.search(p, msg), f"message {msg!r} does not name {p!r}"
            return bool(handled)

    return _Check()


# ------------------------------------------------------------------ 1. outputs sharing memory
@pytest.mark.parametrize("shape", [(1, 3), (5, 70000)], ids=["short-row", "long-row"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_grad_out_is_input(shape: Any, dtype: Any) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, :3] = [1, 2, 3]
    t = np.zeros(shape[0], np.int64)
    want_loss, want_grad = fl.cross_entropy(x.copy(), t, return_grad=True, label_smoothing=0.1)
    loss, grad = fl.cross_entropy(x, t, return_grad=True, grad_out=x, label_smoothing=0.1)
    assert grad is x
    assert loss == want_loss and np.array_equal(grad, want_grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sequence_and_strided_cross_entropy_and_nll_grad_out_is_input(dtype: Any) -> None:
    rng = np.random.default_rng(1)
    calls: list = [
        (fl.sequence_cross_entropy, rng.standard_normal((2, 3, 7)).astype(dtype), rng.integers(0, 7, (2, 3))),
        (fl.cross_entropy, rng.standard_normal((2, 7, 5)).astype(dtype), rng.integers(0, 7, (2, 5))),
        (fl.nll_loss, np.log(rng.dirichlet(np.ones(7), 4)).astype(dtype), rng.integers(0, 7, 4)),
    ]
    for f, x, t in calls:
        want = f(x.copy(), t, return_grad=True)
        got = f(x, t, return_grad=True, grad_out=x)
        assert got[0] == want[0] and np.array_equal(got[1], want[1]), f.__name__


@pytest.mark.parametrize("f", [fl.mse_loss, fl.l1_loss, fl.binary_cross_entropy, fl.binary_cross_entropy_with_logits])
def test_elementwise_grad_out_is_input(f: Callable[..., Any]) -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(0.05, 0.95, 3 * 2**16)  # large enough for threads and streaming stores
    y = rng.uniform(0, 1, x.shape)
    want = f(x.copy(), y, return_grad=True)
    got = f(x, y, return_grad=True, grad_out=x, n_threads=2)
    assert got[0] == want[0] and np.array_equal(got[1], want[1])


def test_probability_target_as_grad_out_is_refused_before_writing() -> None:
    x = np.array([[1.0, 2.0, 3.0]])
    y = np.array([[0.2, 0.3, 0.5]])
    with _raises(ValueError, "grad_out", "target"):
        fl.cross_entropy(x, y, return_grad=True, grad_out=y)
    np.testing.assert_array_equal(y, [[0.2, 0.3, 0.5]])


def test_out_and_grad_out_the_same_array_is_refused() -> None:
    b = np.zeros(3)
    with _raises(ValueError, r"\bout\b", "grad_out"):
        fl.mse_loss(np.ones(3), np.zeros(3), reduction="none", return_grad=True, out=b, grad_out=b)


def test_sgd_momentum_buffer_that_is_the_param_is_refused() -> None:
    w = np.ones(3)
    with _raises(ValueError, r"params\[0\]", r"momentum_buffers\[0\]"):
        fl.sgd_step([w], [np.ones(3)], lr=0.1, momentum=0.9, momentum_buffers=[w])
    np.testing.assert_array_equal(w, np.ones(3))


def test_bce_grad_out_is_input_with_a_bad_value_leaves_the_input_intact() -> None:
    x = np.array([0.5, 0.2, 1.2, 0.3])
    with _raises(ValueError, "input", r"\[0, 1\]", "1.2"):
        fl.binary_cross_entropy(x, np.array([1.0, 0.0, 1.0, 0.0]), return_grad=True, grad_out=x)
    np.testing.assert_array_equal(x, [0.5, 0.2, 1.2, 0.3])


# ------------------------------------------------------------------------ 2. n_threads clamp
def _thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.parametrize("n", [10**6, 2**40])
def test_huge_n_threads_is_clamped_to_the_usable_cpus(n: int) -> None:
    x = np.ones(2**21, np.float32)
    want = fl.mse_loss(x, x * 0.5, n_threads=1)
    fl.mse_loss(x, x * 0.5, n_threads=fl._core.usable_cpus())  # the pool at its largest
    threads = _thread_count()
    assert fl.mse_loss(x, x * 0.5, n_threads=n) == want
    assert _thread_count() == threads, "a huge n_threads started more threads than there are CPUs"
    assert fl.max_threads() <= fl._core.usable_cpus()


# ---------------------------------------------------------------------- 3. SGD all or nothing
@pytest.mark.parametrize(
    "bad_buffer",
    [np.ones(5), np.ones(2, np.float32), np.ones(2)[::-1].copy()[::-1]],
    ids=["shape", "dtype", "non-contiguous"],
)
def test_a_bad_momentum_buffer_for_the_second_param_steps_nothing(bad_buffer: Any) -> None:
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    buffers = [np.zeros(2), bad_buffer]
    with pytest.raises(ValueError, match=r"momentum_buffers\[1\]"):
        fl.sgd_step([a, b], [np.ones(2), np.ones(2)], lr=0.1, momentum=0.9, momentum_buffers=buffers)
    np.testing.assert_array_equal(a, [1.0, 2.0])
    np.testing.assert_array_equal(buffers[0], [0.0, 0.0])


# ----------------------------------------------------------- 4. cross-entropy at any offset
@pytest.mark.parametrize("offset", [1e12, 1e14, 1e30, -1e30])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_with_a_huge_common_offset(offset: float, dtype: Any) -> None:
    base = np.array([[0.5, -1.0, 2.0, 0.25]])
    x = (base + offset).astype(dtype)  # the offset rounds the differences; compare with what is left
    rel = x.astype(np.float64) - x.astype(np.float64).max()
    want = float(np.log(np.exp(rel).sum()) - rel[0, 2])
    t = np.array([2])
    loss, grad = fl.cross_entropy(x, t, return_grad=True)
    np.testing.assert_allclose(float(loss), want, rtol=1e-6, atol=1e-6)
    p = np.exp(rel) / np.exp(rel).sum()
    np.testing.assert_allclose(grad, p - np.eye(4)[[2]], rtol=1e-5, atol=1e-6)
    smooth = fl.cross_entropy(x, t, label_smoothing=0.2)
    want_smooth = 0.8 * want + 0.2 * float(np.mean(np.log(np.exp(rel).sum()) - rel))
    np.testing.assert_allclose(float(smooth), want_smooth, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_four_equal_logits_of_1e30_give_log_4(dtype: Any) -> None:
    x = np.full((1, 4), 1e30, dtype)
    for loss in (
        fl.cross_entropy(x, np.array([0])),
        fl.cross_entropy(x, np.full((1, 4), 0.25, dtype)),
        fl.cross_entropy(x.reshape(1, 4, 1), np.array([[0]])),
        fl.sequence_cross_entropy(x.reshape(1, 1, 4), np.array([[0]])),
    ):
        np.testing.assert_allclose(float(loss), np.log(4.0), rtol=1e-6)


# --------------------------------------------------------------- 5. misaligned buffers
def _misaligned(a: np.ndarray) -> np.ndarray:
    buf = bytearray(a.nbytes + 1)
    m = np.frombuffer(buf, a.dtype, count=a.size, offset=1).reshape(a.shape)
    m[...] = a
    assert not m.flags.aligned
    return m


def test_misaligned_inputs_are_copied_and_give_the_aligned_result() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((64, 10)), rng.integers(0, 10, 64)
    want = fl.cross_entropy(x, y, return_grad=True)
    got = fl.cross_entropy(_misaligned(x), _misaligned(y), return_grad=True)
    assert got[0] == want[0] and np.array_equal(got[1], want[1])
    z = rng.standard_normal(1000).astype(np.float32)
    assert fl.mse_loss(_misaligned(z), _misaligned(z * 2)) == fl.mse_loss(z, z * 2)
    np.testing.assert_array_equal(fl._core.vector_math("exp", _misaligned(z)), fl._core.vector_math("exp", z))


def test_misaligned_outputs_are_refused() -> None:
    x = np.ones(10)
    with _raises(ValueError, "grad_out", "misaligned"):
        fl.mse_loss(x, x, return_grad=True, grad_out=_misaligned(np.zeros(10)))
    with _raises(ValueError, "params", "misaligned"):
        fl.sgd_step([_misaligned(np.zeros(10))], [x], lr=0.1)


def test_exp_of_nan_is_nan() -> None:  # once a signed shift out of range (UBSan)
    out = fl._core.vector_math("exp", np.array([np.nan, -np.nan, 1.0]))
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2], np.exp(1.0), rtol=1e-15)


# --------------------------------------------------------------- 6. arguments named, typed
@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        (dict(ignore_index=1.5), TypeError, "ignore_index"),
        (dict(ignore_index=2**63), ValueError, "ignore_index"),
        (dict(ignore_index=None), TypeError, "ignore_index"),
        (dict(label_smoothing="a"), TypeError, "label_smoothing"),
        (dict(label_smoothing=float("nan")), ValueError, "label_smoothing"),
        (dict(return_grad=True, grad_output="abc"), ValueError, "grad_output"),
        (dict(n_threads=2**31 + 0.5), TypeError, "n_threads"),
        (dict(weight="abc"), TypeError, "weight"),
    ],
)
def test_bad_arguments_get_their_exception(kwargs: Any, exc: Any, name: str) -> None:
    with _raises(exc, name):
        fl.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), **kwargs)


@pytest.mark.parametrize("f", [fl.mse_loss, fl.cross_entropy])
def test_none_input_and_target_are_type_errors(f: Callable[..., Any]) -> None:
    with _raises(TypeError, r"\binput\b"):
        f(None, np.zeros(2))
    with _raises(TypeError, r"\btarget\b"):
        f(np.zeros((2, 2)), None)


# ------------------------------------------------------------- the thread pool across fork()
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_a_working_pool() -> None:
    """The child has none of the parent's pool threads: it must start its own, not wait on them."""
    x = np.linspace(-1, 1, 2**20, dtype=np.float32)
    want = fl.mse_loss(x, x * 0.5, return_grad=True, n_threads=2)  # the parent's pool is running
    pid = os.fork()
    if pid == 0:  # child: exit status 0 only if the threaded call matches, never back to pytest
        ok = False
        try:
            got = fl.mse_loss(x, x * 0.5, return_grad=True, n_threads=2)
            ok = got[0] == want[0] and np.array_equal(got[1], want[1])
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_cross_entropy_mean_with_subnormal_class_weights_has_a_finite_gradient() -> None:
    """A weighted "mean" whose target weights sum to a float32 subnormal: 1 / sum overflows
    float32 (torch gives NaN and inf here); the weights are divided by the sum first."""
    x = np.array([[0.5, 1.0]], np.float32)
    w = np.array([1e-45, 1.0], np.float32)
    loss, grad = fl.cross_entropy(x, np.array([0]), weight=w, return_grad=True)
    p = np.exp(x.astype(np.float64) - np.log(np.exp(x.astype(np.float64)).sum()))
    np.testing.assert_allclose(loss, -np.log(p[0, 0]), rtol=1e-6)
    np.testing.assert_allclose(grad, p - [[1.0, 0.0]], rtol=1e-6)
    one = np.array([0.5], np.float32)  # one class, full smoothing: the gradient is exactly 0
    loss, grad = fl.cross_entropy(
        one, np.array(0), weight=np.array([1.4e-45], np.float32), label_smoothing=1.0, return_grad=True
    )
    assert loss == 0 and grad.tolist() == [0.0]
