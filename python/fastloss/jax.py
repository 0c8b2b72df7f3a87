"""fastloss for JAX: every loss as a function of jax arrays, usable under ``jax.jit``,
``jax.grad`` / ``jax.value_and_grad`` / ``jax.vjp`` and ``jax.vmap``.

Install with ``pip install "fastloss[jax]"``. The functions are generated from the spec table
(``fastloss._spec``), one per loss, with the same names and arguments as the NumPy functions
minus ``return_grad``, ``grad_output``, ``out`` and ``grad_out``::

    import jax, fastloss.jax as flj

    loss, grad = jax.jit(jax.value_and_grad(lambda x, t: flj.cross_entropy(x, t)))(logits, labels)

How it works (docs/jax.md has the details and the measurements behind them): each function is a
``jax.custom_vjp`` whose forward is a host callback into the NumPy function: on the CPU backend
``jax.experimental.buffer_callback``, which hands the kernels XLA's own operand and result
buffers (no copy either way), and ``jax.pure_callback`` elsewhere or on a JAX without it
(``CALLBACK``). For a reduced loss the differentiated forward asks fastloss for the value *and* the gradient
(one fused pass) and keeps the gradient as the residual; the backward only multiplies it by the
scalar cotangent. For ``reduction="none"`` / ``"sequence"`` the backward calls fastloss again with
``grad_output`` = the cotangent array. Only the spec's differentiable arrays (``grad_arrays``)
get gradients: targets, weights and lengths are constants (zero cotangent). Outside any JAX
transformation (concrete arrays, no jit), a call is a plain fastloss call on the arrays' host
memory, with fastloss's own exceptions.
"""

from __future__ import annotations

import ast
import functools
import linecache
import operator
import textwrap
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

try:
    import jax
    import jax.numpy as jnp
except ImportError as exc:  # the adapter is an optional extra
    raise ImportError('fastloss.jax needs JAX, which is not installed: pip install "fastloss[jax]"') from exc

from . import _spec
from . import functional as _functional

#: functional.py's argument checks (private helpers, absent from its stub): the same checks and
#: messages as the NumPy functions'.
_checks: Any = _functional

__all__: List[str] = _spec.function_names()

#: The floating dtypes the kernels take (bfloat16 arrives in a callback as ml_dtypes.bfloat16).
_FLOAT_DTYPES = tuple(np.dtype(d) for d in (np.float32, np.float64, np.float16, jnp.bfloat16))

_buffer_callback: Optional[Callable[..., Any]]
try:  # writes the results into XLA's buffers (no copies); experimental in JAX
    from jax.experimental.buffer_callback import buffer_callback as _buffer_callback
except ImportError:  # older JAX: pure_callback only
    _buffer_callback = None

#: The host call on the CPU backend: ``"buffer"`` (``jax.experimental.buffer_callback``, zero
#: copies) where JAX has it, else ``"pure"`` (``jax.pure_callback``, which copies the operands and
#: results). Other backends always use ``"pure"``. docs/jax.md has the measurements.
CALLBACK = "pure" if _buffer_callback is None else "buffer"

#: What a transformation (jit, grad, vmap) passes instead of a concrete array; if a JAX release
#: moves it, every call takes the callback path (still right, a few microseconds slower).
_TRACER: Any = getattr(jax.core, "Tracer", None)

#: vmap of a callback: one kernel call per batch element (a reduced loss must not mix the
#: elements of the batch, which "expand_dims" / "broadcast_all" would do).
VMAP_METHOD = "sequential"


# ------------------------------------------------------------------------- static arguments
_RULE_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def _passes(value: float, rule: str) -> bool:
    """A spec rule (``"> 0"``, ``"in (1, 2)"``) applied to a value, as the NumPy function does."""
    op, _, number = rule.partition(" ")
    if op == "in":
        return value in ast.literal_eval(number)
    return bool(_RULE_OPS[op](value, float(number)))


def _static(spec: _spec.LossSpec, params: Dict[str, Any], n_threads: Any) -> Tuple[Any, ...]:
    """The loss's scalar parameters, checked at trace time with the NumPy function's checks
    and messages (so a bad setting raises its own TypeError / ValueError, not an error from
    inside a compiled callback); hashable, they key the cached custom_vjp functions."""
    fn = spec.name
    values: List[Tuple[str, Any]] = []
    for p in spec.params:
        v = params[p.name]
        if p.kind == "reduction":
            _checks._reduction_code(fn, v, {r: 0 for r in spec.reductions})
        elif p.kind in ("operand", "lengths"):  # arrays, passed to the callback
            continue
        else:
            v = _checks._scalar_option(fn, p, v)
            for rule in p.rules:
                if not _passes(v, rule):
                    raise ValueError(f"{fn}: {p.name} must be {rule}; got {v!r}")
        values.append((p.name, v))
    _checks._thread_count(fn, n_threads)
    return tuple(values)


# ---------------------------------------------------------------------------- array arguments
def _is_array(v: Any) -> bool:
    return isinstance(v, (jax.Array, np.ndarray))


def _as_jax(v: Any) -> Any:
    """A jax array (or tracer) as it is (``jnp.asarray`` of one costs microseconds per call);
    anything else through ``jnp.asarray`` (JAX's dtypes: float64 -> float32 without x64)."""
    return v if isinstance(v, jax.Array) else jnp.asarray(v)


def _arrays(spec: _spec.LossSpec, arrays: Sequence[Any], params: Dict[str, Any]) -> Tuple[List[Any], List[str]]:
    """The jax arrays of a call, in order: the spec's arrays, then the operands and lengths
    that are given; and the names of those given. Python numbers and lists become arrays, of
    the input's dtype when they are floats (as the NumPy function converts them)."""
    fn, x_name = spec.name, spec.arrays[0]
    x = _as_jax(arrays[0])
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(
            f"fastloss.jax.{fn}: {x_name} must be float32, float64, float16 or bfloat16; got dtype {x.dtype}"
        )
    out, names = [x], []
    extra = [(n, v) for n, v in zip(spec.arrays[1:], arrays[1:])]
    extra += [(p.name, params[p.name]) for p in spec.params if p.kind in ("operand", "lengths")]
    for name, v in extra:
        if v is None and name not in spec.arrays:
            continue
        a = _as_jax(v)
        if jnp.issubdtype(a.dtype, jnp.floating):
            if not _is_array(v):
                a = a.astype(x.dtype)
            elif a.dtype != x.dtype:  # the NumPy function's rule, checked before any callback
                raise TypeError(
                    f"fastloss.jax.{fn}: {name} has dtype {a.dtype} but {x_name} has {x.dtype}; "
                    f"convert it: {name}.astype({x_name}.dtype)"
                )
        out.append(a)
        if name not in spec.arrays:
            names.append(name)
    return out, names


# -------------------------------------------------------------------------- the custom_vjp
def _numpy_call(
    spec: _spec.LossSpec, static: Tuple[Any, ...], operands: Tuple[str, ...], n_threads: Optional[int]
) -> Callable[..., Any]:
    """``call(arrays, return_grad, grad_output, out, grad_out)``: the NumPy function on host
    arrays (``np.asarray`` of a host jax array or callback buffer is a view, not a copy)."""
    numpy_fn = getattr(_functional, spec.name)
    n = len(spec.arrays)
    settings = dict(static)

    def call(
        arrays: Sequence[Any], return_grad: bool = False, grad_output: Any = 1.0, out: Any = None, grad_out: Any = None
    ) -> Any:
        host = [np.asarray(a) for a in arrays]
        kw = dict(settings, **dict(zip(operands, host[n:])))
        return numpy_fn(
            *host[:n],
            **kw,
            return_grad=return_grad,
            grad_output=grad_output,
            out=out,
            grad_out=grad_out,
            n_threads=n_threads,
        )

    return call


def _struct(shape: Tuple[int, ...], dtype: Any) -> Any:
    return jax.ShapeDtypeStruct(shape, dtype)  # type: ignore[no-untyped-call]  # its __init__ is unannotated


def _host(structs: Any, pure: Callable[..., Any], buffer: Callable[..., None], callback: str) -> Callable[..., Any]:
    """A host call of result type ``structs``: ``pure(*args)`` returns the results (through
    ``jax.pure_callback``, which copies the operands in and the results out); ``buffer(ctx, out,
    *args)`` writes them into XLA's own result buffers (``buffer_callback``: no copy either way),
    used on the CPU backend, with the pure form on any other (its operands are brought to the
    host). ``callback`` = ``"pure"`` uses the pure form everywhere."""

    def via_pure(*args: Any) -> Any:
        return jax.pure_callback(pure, structs, *args, vmap_method=VMAP_METHOD)

    if callback == "pure" or _buffer_callback is None:
        return via_pure
    via_buffer = _buffer_callback(buffer, structs, vmap_method=VMAP_METHOD)

    def on_platform(*args: Any) -> Any:
        return jax.lax.platform_dependent(*args, cpu=via_buffer, default=via_pure)

    return on_platform


@functools.lru_cache(maxsize=None)
def _vjp_function(
    name: str, static: Tuple[Any, ...], operands: Tuple[str, ...], n_threads: Optional[int], callback: str
) -> Callable[..., Any]:
    """The custom_vjp function of one loss and one set of static arguments, cached so that its
    callbacks keep their identity (JAX caches compiled callbacks by it)."""
    spec = _spec.SPEC_BY_NAME[name]
    call = _numpy_call(spec, static, operands, n_threads)
    reduction = dict(static)["reduction"]
    grad_at = [spec.arrays.index(g) for g in spec.grad_arrays]
    several = len(grad_at) > 1
    n_args = len(spec.arrays) + len(operands)

    def loss_struct(arrays: Sequence[Any]) -> Any:
        x = arrays[0]
        # the host call declares its result type before the kernel runs (a wrong one fails: the
        # kernel checks its out= buffer, pure_callback the returned array)
        return _struct(_spec.loss_shape(spec, [tuple(a.shape) for a in arrays], reduction), x.dtype)

    def grad_structs(arrays: Sequence[Any]) -> Tuple[Any, ...]:
        return tuple(_struct(arrays[i].shape, arrays[i].dtype) for i in grad_at)

    def grads_tuple(grads: Any) -> Tuple[Any, ...]:
        return tuple(grads) if several else (grads,)

    def grad_buffers(buffers: Sequence[Any]) -> Any:
        views = tuple(np.asarray(b) for b in buffers)
        return views if several else views[0]

    # the three host calls, each as a pure_callback function and a buffer_callback one
    def value_pure(*arrays: Any) -> Any:
        return np.asarray(call(arrays))

    def value_buffer(ctx: Any, out: Any, *arrays: Any) -> None:
        call(arrays, out=np.asarray(out))

    def value_and_grads_pure(*arrays: Any) -> Any:
        loss, grads = call(arrays, return_grad=True)
        return np.asarray(loss), grads_tuple(grads)

    def value_and_grads_buffer(ctx: Any, out: Any, *arrays: Any) -> None:
        call(arrays, return_grad=True, out=np.asarray(out[0]), grad_out=grad_buffers(out[1]))

    def grads_pure(ct: Any, *arrays: Any) -> Any:
        return grads_tuple(call(arrays, return_grad=True, grad_output=np.asarray(ct))[1])

    def grads_buffer(ctx: Any, out: Any, ct: Any, *arrays: Any) -> None:
        call(arrays, return_grad=True, grad_output=np.asarray(ct), grad_out=grad_buffers(out))

    @jax.custom_vjp
    def loss(*arrays: Any) -> Any:
        # the primal, used when nothing is differentiated: the value alone
        return _host(loss_struct(arrays), value_pure, value_buffer, callback)(*arrays)

    def cotangents(grads: Sequence[Any]) -> Tuple[Any, ...]:
        """One entry per argument: the gradients where differentiable, None (zero) elsewhere
        (including integer targets, whose cotangent would be float0)."""
        out: List[Any] = [None] * n_args
        for i, g in zip(grad_at, grads):
            out[i] = g
        return tuple(out)

    if reduction in _spec.SCALAR_REDUCTIONS:

        def fwd(*arrays: Any) -> Any:
            # value and gradient from one fused pass; the gradient is the residual
            structs = (loss_struct(arrays), grad_structs(arrays))
            return _host(structs, value_and_grads_pure, value_and_grads_buffer, callback)(*arrays)

        def bwd(residual: Any, ct: Any) -> Tuple[Any, ...]:
            # ct is a scalar; XLA drops the product when it is the constant 1 (value_and_grad)
            return cotangents([ct.astype(g.dtype) * g for g in residual])

    else:

        def fwd(*arrays: Any) -> Any:
            return loss(*arrays), arrays

        def bwd(residual: Any, ct: Any) -> Tuple[Any, ...]:
            # fastloss again with grad_output = the cotangent array: right for every loss (e.g.
            # a broadcast var's gradient is a sum over the broadcast axis)
            return cotangents(_host(grad_structs(residual), grads_pure, grads_buffer, callback)(ct, *residual))

    loss.defvjp(fwd, bwd)
    return loss


def _apply(spec: _spec.LossSpec, arrays: Tuple[Any, ...], params: Dict[str, Any], n_threads: Optional[int]) -> Any:
    """One call of a generated function."""
    static = _static(spec, params, n_threads)
    jarrays, operands = _arrays(spec, arrays, params)
    if _TRACER is not None and not any(isinstance(a, _TRACER) for a in jarrays):
        # concrete arrays, no transformation: a plain fastloss call (no callback, fastloss's
        # own exceptions)
        return jnp.asarray(_numpy_call(spec, static, tuple(operands), n_threads)(jarrays))
    return _vjp_function(spec.name, static, tuple(operands), n_threads, CALLBACK)(*jarrays)


# ----------------------------------------------------------------------- generated functions
def _signature_source(spec: _spec.LossSpec) -> str:
    own = [f"{p.name}={p.default!r}" for p in spec.params]
    if spec.keyword_only:
        return ", ".join([*spec.arrays, "*", *own, "n_threads=None"])
    return ", ".join([*spec.arrays, *own, "*", "n_threads=None"])


def _doc(spec: _spec.LossSpec) -> str:
    grads = _spec._and([f"``{g}``" for g in spec.grad_arrays])
    constants = [a for a in spec.arrays if a not in spec.grad_arrays]
    constants += [p.name for p in spec.params if p.kind in ("operand", "lengths")]
    if constants:
        are = "is a constant" if len(constants) == 1 else "are constants"
        grads += f"; {_spec._and([f'``{c}``' for c in constants])} {are} (zero cotangent)"
    params = _spec._arrays_doc(spec)
    params += "".join(_spec._param_doc(p.name, _spec._type_doc(spec, p), p.doc) for p in spec.params)
    params += _spec._param_doc("n_threads", *_spec.COMMON_DOCS["n_threads"])
    adapter = (
        f"The JAX adapter of :func:`fastloss.{spec.name}`: jax arrays in, a jax array of ``{spec.arrays[0]}``'s "
        "dtype out (0-d for a reduced loss), usable under ``jax.jit``, ``jax.grad``, ``jax.value_and_grad``, "
        f"``jax.vjp`` and ``jax.vmap``. Differentiable with respect to {grads}. The other parameters are static "
        "Python values. See docs/jax.md."
    )
    ordered = _spec._ordered(spec.reductions)
    scalar = [r for r in ordered if r in _spec.SCALAR_REDUCTIONS]
    array = [r for r in ordered if r not in _spec.SCALAR_REDUCTIONS]
    returns = _spec._param_doc(
        "loss",
        "jax.Array",
        f"For {_spec._or(scalar)}: a 0-d array of ``{spec.arrays[0]}``'s dtype. For {_spec._or(array)}: "
        f"{spec.array_loss_doc}, of ``{spec.arrays[0]}``'s dtype.",
    )
    return (
        f"{spec.summary}\n\n{textwrap.fill(adapter, 96)}\n\n{spec.details}\n\n"
        f"Parameters\n----------\n{params}\nReturns\n-------\n{returns}"
    )


def _make_function(spec: _spec.LossSpec) -> Callable[..., Any]:
    """The adapter function of one spec row, with the NumPy function's own signature (less
    return_grad, grad_output, out and grad_out): generated source that packs its arguments
    for :func:`_apply`."""
    arrays = ", ".join(spec.arrays) + ","
    params = ", ".join(f"{p.name!r}: {p.name}" for p in spec.params)
    source = (
        f"def {spec.name}({_signature_source(spec)}):\n    return _apply(_SPEC, ({arrays}), {{{params}}}, n_threads)\n"
    )
    filename = f"<fastloss.jax generated {spec.name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: Dict[str, Any] = {"_apply": _apply, "_SPEC": spec}
    exec(compile(source, filename, "exec"), namespace)
    fn: Callable[..., Any] = namespace[spec.name]
    fn.__module__ = __name__
    fn.__qualname__ = spec.name
    fn.__doc__ = _doc(spec)
    return fn


globals().update(_spec.per_loss(_make_function))


def __getattr__(name: str) -> Callable[..., Any]:
    """Typing aid (PEP 562): the losses are generated at import, so mypy sees them through
    this hook as ``Callable[..., Any]``; at run time it is reached only by a missing name."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
