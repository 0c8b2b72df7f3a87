"""fastloss.jax vs JAX's own cross-entropy under ``jax.jit(jax.value_and_grad(...))``.

    python bench/jax_adapter.py            # (4096, 32000) float32 logits, int32 targets
    python bench/jax_adapter.py --quick    # fewer repeats

Prints the CPU model and fastloss's SIMD level, then the best time of several repeats (after
a warm-up call that compiles) of:

- the adapter: ``jit(value_and_grad(fastloss.jax.cross_entropy))``, with each host-call mechanism
  (``buffer``: ``jax.experimental.buffer_callback``, the default where JAX has it; ``pure``:
  ``jax.pure_callback``);
- JAX's own: ``jit(value_and_grad(...))`` of ``-mean(take_along_axis(log_softmax(x), t))`` (what
  optax's ``softmax_cross_entropy_with_integer_labels`` computes);
- fastloss's NumPy function on the same data (``return_grad=True``), for reference: the part of
  the adapter's time that is the kernel;
- the adapter's fixed cost per call: the same on a (1, 10) problem, where the kernel costs
  about a microsecond and the rest is the callback's machinery; and an eager call (no jit);
- where the time over the NumPy call goes at the large size: the kernel writing XLA's fresh
  result buffers vs writing them a second time.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Callable, List, Tuple

import numpy as np
from fastloss.__main__ import cpu_model


def best_of(fn: Callable[[], Any], repeats: int, inner: int = 1) -> float:
    """The best wall time of ``repeats`` runs of ``inner`` calls, per call, in seconds (after
    one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def fmt(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:9.2f} ms"
    return f"{seconds * 1e6:9.1f} us"


def main(argv: List[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--n", type=int, default=4096, help="rows (batch)")
    parser.add_argument("--classes", type=int, default=32000, help="classes (vocabulary)")
    args = parser.parse_args(argv)

    import fastloss
    import fastloss.jax as flj
    import jax
    import jax.numpy as jnp

    repeats = 3 if args.quick else 7
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs, fastloss.max_threads()={fastloss.max_threads()})")
    print(f"fastloss SIMD level: {fastloss.simd_level()}; jax {jax.__version__} on {jax.devices()[0].platform}")

    def adapter(x: Any, t: Any) -> Any:
        return flj.cross_entropy(x, t)

    def jax_own(x: Any, t: Any) -> Any:
        logp = jax.nn.log_softmax(x, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=-1))

    def jax_step(fn: Callable[..., Any]) -> Callable[..., Any]:
        return jax.jit(jax.value_and_grad(fn))

    def with_callback(callback: str) -> Callable[..., Any]:
        def loss(x: Any, t: Any) -> Any:
            flj.CALLBACK = callback  # read when the function is traced
            return flj.cross_entropy(x, t)

        return loss

    callbacks = ["buffer", "pure"] if flj.CALLBACK == "buffer" else ["pure"]
    columns = [f"fastloss.jax ({c})" for c in callbacks] + ["JAX own", "fastloss NumPy"]
    table = []
    for n, c, inner in ((args.n, args.classes, 1), (1, 10, 200 if args.quick else 1000)):
        rng = np.random.default_rng(0)
        x_np = rng.standard_normal((n, c), dtype=np.float32)
        t_np = rng.integers(0, c, n).astype(np.int32)
        x, t = jnp.asarray(x_np), jnp.asarray(t_np)
        steps = [jax_step(with_callback(cb)) for cb in callbacks] + [jax_step(jax_own)]
        expected = fastloss.cross_entropy(x_np, t_np, return_grad=True)
        for step in steps:  # the same numbers (to float32 rounding): a comparison of equals
            v, g = step(x, t)
            np.testing.assert_allclose(float(v), float(expected[0]), rtol=1e-5)
            np.testing.assert_allclose(np.asarray(g), expected[1], rtol=1e-4, atol=1e-6 / n)
            del v, g
        del expected
        times = [best_of(lambda: jax.block_until_ready(step(x, t)), repeats, inner) for step in steps]
        times.append(best_of(lambda: fastloss.cross_entropy(x_np, t_np, return_grad=True), repeats, inner))
        table.append((f"({n}, {c})", times))
    flj.CALLBACK = callbacks[0]

    print()
    print(f"jit(value_and_grad(cross_entropy)), float32 logits, int32 targets; best of {repeats}, per call")
    print(f"{'shape':>14}" + "".join(f"{h:>22}" for h in columns) + f"{'JAX own / adapter':>19}")
    for shape, times in table:
        print(f"{shape:>14}" + "".join(f"{fmt(t):>22}" for t in times) + f"{times[-2] / times[0]:18.2f}x")
    print()
    for i, cb in enumerate(callbacks):
        tiny, big = table[1][1], table[0][1]
        print(
            f"{cb}: fixed overhead per call {fmt(tiny[i] - tiny[-1]).strip()} (the (1, 10) call minus the NumPy call); "
            f"at ({args.n}, {args.classes}) {fmt(big[i] - big[-1]).strip()} over the NumPy call"
        )
    x, t = jnp.zeros((1, 10), jnp.float32), jnp.array([3], jnp.int32)
    eager = best_of(lambda: flj.cross_entropy(x, t), repeats, 200 if args.quick else 1000)
    print(f"an eager call (no jit, no grad: a plain fastloss call) on the (1, 10) problem: {fmt(eager).strip()}")
    if "buffer" in callbacks:
        first, again = first_touch(args.n, args.classes, repeats)
        print(
            f"where the buffer adapter's time over NumPy goes: the kernel writing XLA's freshly allocated result "
            f"buffers takes {fmt(first).strip()}, writing the same buffers again {fmt(again).strip()} (the "
            f"difference: first-touch page faults of new memory, which any JAX computation returning a new "
            f"array of this size pays)"
        )


def first_touch(n: int, c: int, repeats: int) -> Tuple[float, float]:
    """Inside a buffer_callback: the best time of the kernel writing XLA's result buffers
    (fresh memory on every call), and of a second call writing the same buffers."""
    import fastloss
    import jax
    import jax.numpy as jnp
    from jax.experimental.buffer_callback import buffer_callback

    times: List[Tuple[float, float]] = []

    def kernel_twice(ctx: Any, out: Any, x: Any, t: Any) -> None:
        loss, grad, xa, ta = np.asarray(out[0]), np.asarray(out[1]), np.asarray(x), np.asarray(t)
        t0 = time.perf_counter()
        fastloss.cross_entropy(xa, ta, return_grad=True, out=loss, grad_out=grad)
        t1 = time.perf_counter()
        fastloss.cross_entropy(xa, ta, return_grad=True, out=loss, grad_out=grad)
        times.append((t1 - t0, time.perf_counter() - t1))

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((n, c), dtype=np.float32))
    t = jnp.asarray(rng.integers(0, c, n).astype(np.int32))
    structs = (jax.ShapeDtypeStruct((), jnp.float32), jax.ShapeDtypeStruct((n, c), jnp.float32))
    call = jax.jit(buffer_callback(kernel_twice, structs))
    for _ in range(repeats + 1):
        jax.block_until_ready(call(x, t))
    return min(a for a, _ in times[1:]), min(b for _, b in times[1:])


if __name__ == "__main__":
    main()
