"""fastloss for PyTorch: every loss as a ``torch.library`` custom op with autograd.

``fastloss.torch.<loss>(...)`` takes CPU tensors and the arguments of ``fastloss.<loss>`` (less
``return_grad``, ``grad_output``, ``out`` and ``grad_out``: autograd decides those) and returns a
tensor, so ``loss.backward()`` works in an ordinary training loop, under ``torch.compile`` (each
op has a fake implementation) and under ``torch.no_grad()``.

How the gradient flows:

- A reduced loss (``"mean"``, ``"sum"``, ``"batchmean"``) computes its value and its gradient in
  the one fused kernel call of the forward, when autograd will need the gradient (grad mode on
  and a differentiable argument that requires grad). The backward hands that gradient over,
  multiplied by the upstream gradient unless that is 1 (``loss.backward()``: then the tensor
  itself becomes ``.grad``, without a copy). Without a gradient to compute (``torch.no_grad()``,
  or no argument requiring grad) the forward computes the value alone.
- ``reduction="none"`` (and ``"sequence"``), and a second backward through a retained graph: the
  backward calls the kernel again with the upstream gradient as ``grad_output`` (one fused
  pass), which is right for every loss, including those whose gradient is a sum
  (``gaussian_nll_loss``'s broadcast ``var``). The inputs are kept for it until the backward.

Only the loss's differentiable arrays (``input``; both inputs of the paired losses; ``var``; the
three arrays of ``triplet_margin_loss``) get gradients. Any other tensor argument that requires
grad (a soft target, a weight) raises ``ValueError`` rather than silently getting no gradient.

Tensors reach the kernels without a copy (``Tensor.numpy()``, bfloat16 through a same-size integer
view and ``ml_dtypes.bfloat16``); results come back through ``torch.from_numpy``. Tensors on
another device raise ``ValueError``. The ops are generated from fastloss's spec table, so every
loss, present and future, has one: ``torch.ops.fastloss.<loss>``.
"""

from __future__ import annotations

import keyword
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

try:
    import torch
except ImportError as error:  # pragma: no cover - exercised where torch is absent
    raise ImportError('fastloss.torch needs PyTorch: pip install "fastloss[torch]"') from error

from . import _spec, functional

__all__: List[str] = _spec.function_names() + _spec.class_names()

#: the schema type of each kind of loss parameter (arrays are Tensors)
_SCHEMA_TYPES = {
    "operand": "Tensor?",
    "lengths": "Tensor?",
    "index": "int",
    "real": "float",
    "setting": "float",
    "flag": "bool",
    "reduction": "str",
}
#: reductions that return an array, whose backward reruns the kernel with the upstream gradient
_ARRAY_REDUCTIONS = ("none", "sequence")


# ------------------------------------------------------------------------ tensor <-> array
def _to_numpy(fn: str, name: str, value: Any) -> Any:
    """A CPU tensor as a NumPy array sharing its memory; anything else as it is."""
    if not isinstance(value, torch.Tensor):
        return value
    if value.device.type != "cpu":
        raise ValueError(f"{fn}: {name} must be a CPU tensor; got a tensor on {value.device}")
    t = value.detach()
    if t.dtype == torch.bfloat16:
        try:
            import ml_dtypes
        except ImportError as error:
            raise TypeError(
                f"{fn}: {name} is a bfloat16 tensor; fastloss reads it as ml_dtypes.bfloat16 (pip install ml_dtypes)"
            ) from error
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def _to_tensor(array: Any) -> torch.Tensor:
    """A NumPy result (array or scalar) as a tensor sharing its memory."""
    a = np.asarray(array)
    if a.dtype.kind == "V" or a.dtype.name == "bfloat16":  # ml_dtypes.bfloat16
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


# ------------------------------------------------------------------------------- the ops
def _schema(spec: _spec.LossSpec) -> str:
    args = [f"Tensor {a}" for a in spec.arrays]
    args += [f"{_SCHEMA_TYPES[p.kind]} {p.name}" for p in spec.params]
    args += ["bool need_grad", "Tensor? grad_output", "int n_threads"]
    results = ", ".join(["Tensor"] * (1 + len(spec.grad_arrays)))
    return f"({', '.join(args)}) -> ({results})"


def _kernel_call(spec: _spec.LossSpec) -> Callable[..., Tuple[torch.Tensor, ...]]:
    """The op's implementation: fastloss's NumPy function on the tensors' memory."""
    fn = getattr(functional, spec.name)
    names = (*spec.arrays, *(p.name for p in spec.params))
    n_grads = len(spec.grad_arrays)

    def call(*args: Any) -> Tuple[torch.Tensor, ...]:
        *values, need_grad, grad_output, n_threads = args
        given = {n: _to_numpy(spec.name, n, v) for n, v in zip(names, values)}
        arrays = [given.pop(a) for a in spec.arrays]
        threads = n_threads if n_threads > 0 else None
        if not need_grad:  # empty gradients, of the dtypes the fake implementation gives them
            empty = [values[names.index(a)].new_empty(0) for a in spec.grad_arrays]
            return (_to_tensor(fn(*arrays, **given, n_threads=threads)), *empty)
        go = 1.0 if grad_output is None else _to_numpy(spec.name, "grad_output", grad_output)
        if isinstance(go, np.ndarray) and go.ndim == 0:
            go = float(go)
        loss, grads = fn(*arrays, **given, return_grad=True, grad_output=go, n_threads=threads)
        grads = grads if n_grads > 1 else (grads,)
        return (_to_tensor(loss), *(_to_tensor(g) for g in grads))

    return call


def _fake_call(spec: _spec.LossSpec) -> Callable[..., Tuple[torch.Tensor, ...]]:
    """Shapes and dtypes only, for torch.compile's tracing (no data is read)."""
    names = (*spec.arrays, *(p.name for p in spec.params))
    where = {a: names.index(a) for a in spec.grad_arrays}

    def fake(*args: Any) -> Tuple[torch.Tensor, ...]:
        *values, need_grad, _, _ = args
        x = values[0]
        reduction = values[names.index("reduction")]
        shape = _spec.loss_shape(spec, [tuple(v.shape) for v in values[: len(spec.arrays)]], reduction)
        grads = [values[i].new_empty(values[i].shape if need_grad else 0) for i in where.values()]
        return (x.new_empty(shape), *grads)

    return fake


def _autograd(spec: _spec.LossSpec, op: Any) -> Tuple[Callable[..., Any], Callable[..., Any]]:
    """setup_context and backward for the op."""
    names = (*spec.arrays, *(p.name for p in spec.params))
    grad_at = [names.index(a) for a in spec.grad_arrays]
    reduction_at = names.index("reduction")
    n_inputs = len(names) + 3

    def setup_context(ctx: Any, inputs: Tuple[Any, ...], output: Tuple[torch.Tensor, ...]) -> None:
        ctx.mark_non_differentiable(*output[1:])
        ctx.set_materialize_grads(False)  # else backward gets a zero tensor per gradient output
        # The inputs, for a backward that reruns the kernel with the upstream gradient.
        tensors = [i for i, v in enumerate(inputs) if isinstance(v, torch.Tensor)]
        ctx.tensor_at = tensors
        ctx.others = [None if isinstance(v, torch.Tensor) else v for v in inputs]
        ctx.save_for_backward(*(inputs[i] for i in tensors))
        # A reduced loss's gradient from the forward (if it computed one: need_grad), held by ctx
        # alone (see backward).
        computed = inputs[-3] and inputs[reduction_at] not in _ARRAY_REDUCTIONS
        ctx.forward_grads = list(output[1:]) if computed else None

    def backward(ctx: Any, grad_loss: Optional[torch.Tensor], *_: Any) -> Tuple[Optional[torch.Tensor], ...]:
        result: List[Optional[torch.Tensor]] = [None] * n_inputs
        if grad_loss is None:  # the loss did not reach the differentiated output
            return tuple(result)
        grads: Sequence[torch.Tensor]
        if ctx.forward_grads is not None:
            # A reduced loss, first backward: the forward's gradient, handed over (so a loss.backward()
            # gradient becomes .grad without a copy: nothing else holds it), scaled unless by 1.
            grads, ctx.forward_grads = ctx.forward_grads, None
            if not _is_one(grad_loss):
                grads = [g * grad_loss for g in grads]
        else:
            # "none" / "sequence", a second backward (retain_graph=True), or a forward that was
            # asked for no gradient: the kernel again, with the upstream gradient as grad_output.
            args = list(ctx.others)
            for i, t in zip(ctx.tensor_at, ctx.saved_tensors):
                args[i] = t
            args[-3], args[-2] = True, grad_loss.contiguous()
            grads = op(*args)[1:]
        for i, g in zip(grad_at, grads):
            result[i] = g
        return tuple(result)

    return setup_context, backward


def _in_dispatch_mode() -> bool:
    try:
        from torch.utils._python_dispatch import is_in_torch_dispatch_mode
    except ImportError:  # another torch release: assume tracing, i.e. always scale
        return True
    return bool(is_in_torch_dispatch_mode())


def _is_one(grad_loss: torch.Tensor) -> bool:
    """Whether an upstream gradient is exactly 1 (known in eager mode only: a compiled backward
    is traced with shapes, not values, and always scales). Multiplying a (4096, 32000) gradient
    by 1 would cost more than the loss (a new 0.5 GB tensor to fault in and write)."""
    if torch.compiler.is_compiling() or grad_loss.numel() != 1 or type(grad_loss) is not torch.Tensor:
        return False
    if _in_dispatch_mode():  # traced (make_fx, AOT autograd): a value would be baked into the graph
        return False
    return bool(grad_loss.item() == 1.0)


def _define_op(spec: _spec.LossSpec) -> Any:
    op = torch.library.custom_op(f"fastloss::{spec.name}", _kernel_call(spec), mutates_args=(), schema=_schema(spec))
    op.register_fake(_fake_call(spec))
    setup_context, backward = _autograd(spec, op)
    op.register_autograd(backward, setup_context=setup_context)
    return op


# --------------------------------------------------------------------- public functions
def _needs_grad(spec: _spec.LossSpec, fn: str, values: Sequence[Any]) -> bool:
    """Whether autograd will ask for the gradient; a tensor it could not get one for raises."""
    if not torch.is_grad_enabled():
        return False
    names = (*spec.arrays, *(p.name for p in spec.params))
    needed = False
    for name, v in zip(names, values):
        if isinstance(v, torch.Tensor) and v.requires_grad:
            if name not in spec.grad_arrays:
                raise ValueError(
                    f"{fn}: {name} requires grad, but fastloss differentiates only "
                    f"{', '.join(spec.grad_arrays)}; pass {name}.detach()"
                )
            needed = True
    return needed


def _threads(fn: str, n_threads: Optional[int]) -> int:
    if n_threads is None:
        return 0
    return functional._thread_count(fn, n_threads)


def _tensor_argument(value: Any) -> Any:
    """Arrays must be tensors: a NumPy array or a number is turned into one (a copy-free view of
    an array); class-index and label targets keep their integer dtype."""
    if value is None or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return torch.as_tensor(value)


def _make_function(spec: _spec.LossSpec) -> Callable[..., torch.Tensor]:
    name = spec.name
    op = _define_op(spec)
    tensor_kinds = ("operand", "lengths")
    params = list(spec.params)
    arg_names = [*spec.arrays, *(p.name for p in params)]
    own = ", ".join(f"{p.name}={p.default!r}" for p in params)
    sep = ", *, " if spec.keyword_only else ", "
    signature = f"{', '.join(spec.arrays)}{sep}{own}" if own else ", ".join(spec.arrays)
    signature += ", n_threads=None" if spec.keyword_only else ", *, n_threads=None"
    converted = [a for a in spec.arrays] + [p.name for p in params if p.kind in tensor_kinds]
    assert not any(keyword.iskeyword(a) for a in arg_names)
    body = [f"    {a} = _tensor_argument({a})" for a in converted]
    values = ", ".join(arg_names)
    body += [
        f"    values = ({values},)",
        f"    need_grad = _needs_grad(_spec_row, {name!r}, values)",
        f"    return _op(*values, need_grad, None, _threads({name!r}, n_threads))[0]",
    ]
    source = f"def {name}({signature}):\n" + "\n".join(body) + "\n"
    namespace: Dict[str, Any] = {
        "_op": op,
        "_spec_row": spec,
        "_needs_grad": _needs_grad,
        "_threads": _threads,
        "_tensor_argument": _tensor_argument,
    }
    exec(compile(source, f"<fastloss.torch.{name}>", "exec"), namespace)
    function: Callable[..., torch.Tensor] = namespace[name]
    function.__module__ = __name__
    function.__qualname__ = name
    function.__doc__ = (
        f"``fastloss.{spec.name}`` on CPU tensors, differentiable in {', '.join(spec.grad_arrays)} "
        f"(``torch.ops.fastloss.{spec.name}``).\n\nArguments and semantics: ``fastloss.{spec.name}``, "
        "without return_grad / grad_output / out / grad_out (autograd provides them).\n\n"
        + (functional.__dict__[spec.name].__doc__ or "")
    )
    return function


def _make_module(spec: _spec.LossSpec, function: Callable[..., torch.Tensor]) -> type:
    """The ``torch.nn.Module`` mirroring ``torch.nn.<cls>``: the options (positional in torch's
    order, or by keyword) at construction, the arrays (and ``lengths``) per call. Tensor options
    (``weight``, ``pos_weight``) are registered as buffers, so ``.to()`` and ``state_dict()``
    carry them as for torch's own loss modules."""
    params = spec.init_params
    names = [p.name for p in params]
    defaults = {p.name: p.default for p in params}

    def __init__(self: Any, *args: Any, n_threads: Optional[int] = None, **options: Any) -> None:
        torch.nn.Module.__init__(self)
        if len(args) > len(names):
            raise TypeError(f"{spec.cls}: takes at most {len(names)} positional options ({', '.join(names)})")
        for name, value in zip(names, args):
            if name in options:
                raise TypeError(f"{spec.cls}: got {name} both by position and by keyword")
            options[name] = value
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise TypeError(f"{spec.cls}: unexpected option {unknown[0]!r}; the options are {', '.join(names)}")
        self._option_names = []
        for name in names:
            value = options.get(name, defaults[name])
            if isinstance(value, torch.Tensor) or isinstance(value, np.ndarray):
                self.register_buffer(name, _tensor_argument(value))
            else:
                setattr(self, name, value)
            self._option_names.append(name)
        self.n_threads = n_threads

    def forward(self: Any, *arrays: Any, **per_call: Any) -> torch.Tensor:
        options = {name: getattr(self, name) for name in self._option_names}
        return function(*arrays, **options, **per_call, n_threads=self.n_threads)

    def extra_repr(self: Any) -> str:
        shown = []
        for name in self._option_names:
            value = getattr(self, name)
            if isinstance(value, torch.Tensor):
                shown.append(f"{name}=tensor(shape={tuple(value.shape)}, dtype={value.dtype})")
            elif value != defaults[name] or type(value) is not type(defaults[name]):
                shown.append(f"{name}={value!r}")
        return ", ".join(shown)

    doc = (
        f"``torch.nn.{spec.cls}`` with fastloss's kernels: ``{spec.cls}({', '.join(names)})``, "
        f"called as ``module({', '.join(spec.arrays)})``; the loss is ``fastloss.torch.{spec.name}``."
    )
    namespace = {"__init__": __init__, "forward": forward, "extra_repr": extra_repr, "__doc__": doc}
    return type(spec.cls, (torch.nn.Module,), {"__module__": __name__, **namespace})


_FUNCTIONS = _spec.per_loss(_make_function)
globals().update(_FUNCTIONS)
globals().update({spec.cls: _make_module(spec, _FUNCTIONS[spec.name]) for spec in _spec.SPECS})
