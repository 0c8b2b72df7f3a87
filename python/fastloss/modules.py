"""Loss objects mirroring ``torch.nn``: built with torch's keyword arguments, called as
``loss_fn(input, target, return_grad=False, **options)`` (or ``loss_fn.forward(...)``).

The classes are generated from the spec table (``fastloss._spec.render_class(row)``) when
this module is imported; their typed interface is ``modules.pyi``.
"""

from __future__ import annotations

import inspect
import linecache
from typing import Any, Dict, List, Tuple, Type

import numpy as np

from . import _core, _spec
from . import functional as F

__all__: List[str] = _spec.class_names()


def _check_reduction(cls: str, reduction: Any, allowed: Dict[str, int]) -> None:
    F._reduction_code(cls, reduction, allowed)


def _compact(value: Any) -> str:
    """A setting as repr shows it: an array by its shape and dtype, not its values."""
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if default is None or value is None or isinstance(value, np.ndarray):
        return False
    try:
        return bool(type(value) is not bool and value == default)
    except (TypeError, ValueError):  # e.g. a list compared with a number
        return False


class _Loss:
    """What every generated loss class shares: repr and the call-time checks."""

    #: (name, default) of the settings fixed at construction, in the constructor's order
    _settings: Tuple[Tuple[str, Any], ...] = ()
    #: the keyword options a call takes
    _call_options: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        # like torch's extra_repr: the settings that differ from their defaults
        shown = [f"{n}={_compact(getattr(self, n))}" for n, d in self._settings if not _is_default(getattr(self, n), d)]
        return f"{type(self).__name__}({', '.join(shown)})"

    def _reject(self, unexpected: Dict[str, Any]) -> None:
        """A call got keywords it does not take: a TypeError that says where they belong."""
        cls = type(self).__name__
        options = ", ".join(self._call_options)
        settings = [n for n in unexpected if n in dict(self._settings)]
        if settings:
            given = ", ".join(f"{n}={_compact(unexpected[n])}" for n in settings)
            verb = "is" if len(settings) == 1 else "are"
            raise TypeError(
                f"{cls}: {', '.join(settings)} {verb} set when the loss is constructed ({cls}({given})); "
                f"call options are {options}"
            )
        raise TypeError(f"{cls}: unexpected keyword argument {next(iter(unexpected))!r}; call options are {options}")


def _make_class(spec: _spec.LossSpec, function: Any) -> Type[_Loss]:
    """The nn-style class of one spec row: its rendered source executed with the public
    function and the row's reduction codes bound."""
    source = _spec.render_class(spec)
    filename = f"<fastloss generated {spec.cls}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: Dict[str, Any] = {
        "_Loss": _Loss,
        "_check_reduction": _check_reduction,
        "_function": function,
        "_reductions": {r: _core.reductions[r] for r in spec.reductions},
        "__name__": __name__,
    }
    exec(compile(source, filename, "exec"), namespace)
    cls: Type[_Loss] = namespace[spec.cls]
    cls.__doc__ = _spec.class_doc(spec)
    call = cls.__dict__["__call__"]
    call.__doc__ = _spec.call_doc(spec)
    # `**unexpected` only turns a misplaced setting into a clear TypeError: the signature
    # users see (help, inspect) is the call's real one, without it
    sig = inspect.signature(call)
    call.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD])
    return cls


def _define(namespace: Dict[str, Any]) -> None:
    for row in _spec.SPECS:
        namespace[row.cls] = _make_class(row, getattr(F, row.name))


_define(globals())
