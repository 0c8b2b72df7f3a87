"""The peers of the benchmark: how each library computes a case's value and gradient.

A peer builder gets a problem's inputs and the thread count and returns a zero-argument
callable that computes (value, gradient), or None when it cannot run (its library is absent).
PyTorch and JAX are optional: ``torch`` / ``jax`` are None when they are not installed.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

import numpy as np


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
