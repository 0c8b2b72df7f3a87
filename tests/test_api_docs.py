"""Every public callable documents every parameter it takes (NumPy docstring style:
``name : type`` in a Parameters section), and every function its return value; the
docstrings' examples run."""

from __future__ import annotations

import doctest
import inspect
import re
from typing import Any, Callable, Dict, List, Tuple

import fastloss as fl
import pytest
from fastloss import _spec


def _public() -> List[Tuple[str, Any]]:
    """(name, object) of the functions and classes in fastloss.__all__."""
    objs = [(n, getattr(fl, n)) for n in fl.__all__]
    return [(n, o) for n, o in objs if inspect.isclass(o) or inspect.isroutine(o)]


def _sections(doc: str) -> Dict[str, str]:
    """A NumPy-style docstring's sections: {title: body}, for titles underlined with dashes."""
    lines = inspect.cleandoc(doc).splitlines()
    heads = [i for i in range(len(lines) - 1) if lines[i].strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip())]
    return {lines[h].strip(): "\n".join(lines[h + 2 : nxt]) for h, nxt in zip(heads, heads[1:] + [len(lines)])}


def _parameters(fn: Callable[..., Any]) -> List[str]:
    """Parameter names as a docstring writes them (``*args``, ``**kwargs``), without self."""
    try:
        sig = inspect.signature(fn)
    except ValueError:  # a pybind11 function (fastloss._core): its signature is its __doc__'s first line
        first = (fn.__doc__ or "").splitlines()[0]
        inner = first[first.index("(") + 1 : first.index(")")]
        return [p.split(":")[0].strip() for p in inner.split(",") if p.strip()]
    out = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls"):
            continue
        out.append({p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name)
    return out


def _undocumented(doc: str, names: List[str]) -> List[str]:
    params = _sections(doc).get("Parameters", "")
    return [n for n in names if not re.search(rf"^\s*{re.escape(n)}\s+:", params, re.MULTILINE)]


def _targets() -> List[Any]:
    """(id, callable whose parameters must be documented, docstring that documents them, needs Returns)."""
    targets = []
    for name, obj in _public():
        if inspect.isclass(obj):
            # numpydoc: the class docstring documents the constructor
            targets.append(pytest.param(obj.__init__, obj.__doc__ or "", False, id=f"{name}.__init__"))
            for method in ("__call__", "forward"):
                fn = obj.__dict__.get(method)
                if fn is not None:
                    targets.append(pytest.param(getattr(obj, method), fn.__doc__ or "", True, id=f"{name}.{method}"))
        else:
            targets.append(pytest.param(obj, obj.__doc__ or "", True, id=name))
    return targets


@pytest.mark.parametrize("fn, doc, returns", _targets())
def test_every_parameter_is_documented(fn: Callable[..., Any], doc: str, returns: bool) -> None:
    sections = _sections(doc)
    assert "Parameters" in sections or not _parameters(fn), f"no Parameters section in:\n{doc}"
    missing = _undocumented(doc, _parameters(fn))
    assert not missing, f"parameters not documented as 'name : type': {missing}"
    if returns:
        assert "Returns" in sections and sections["Returns"].strip(), f"no Returns section in:\n{doc}"


@pytest.mark.parametrize("name", fl.functional.__all__)
def test_loss_docs_cover_shapes_dtypes_and_the_tuple(name: str) -> None:
    doc = getattr(fl, name).__doc__
    sections = _sections(doc)
    assert "Examples" in sections and ">>> " in sections["Examples"]
    returns = " ".join(sections["Returns"].split())  # a phrase may be wrapped across lines
    spec = next(s for s in _spec.SPECS if name in (s.name, *s.aliases))
    several = len(spec.grad_arrays) > 1  # (loss, (grad_a, grad_b))
    for phrase in ("NumPy scalar", "``out``", "``(loss, (grad_" if several else "``(loss, grad)``", "shape and dtype"):
        assert phrase in returns, (phrase, returns)
    params = sections["Parameters"]
    default = "none" if name == "sigmoid_focal_loss" else "mean"  # torchvision's default
    assert re.search(rf"^reduction : \{{.*\}}, default \"{default}\"$", params, re.MULTILINE), params


def test_shared_parameters_have_shared_text() -> None:
    """return_grad, out, ... say the same in every function (one text, in _spec.COMMON_DOCS)."""

    def entry(doc: str, name: str) -> str:
        params = _sections(doc)["Parameters"]
        m = re.search(rf"^{name} :.*\n((?:    .*\n?)+)", params, re.MULTILINE)
        assert m, name
        return " ".join(re.sub(r"\b(input|logits)\b", "X", m.group(1)).split())

    def arrays_named(text: str, spec: _spec.LossSpec) -> str:  # the losses of several gradients
        for a in ("X", *spec.arrays):  # entry() has renamed input to X
            text = re.sub(rf"(?<![A-Za-z0-9]){a}(?![A-Za-z0-9])", "A", text)
        return text

    for option in ("return_grad", "grad_output", "out", "grad_out", "n_threads"):
        for count in (1, 2, 3):  # the losses of one, two or three gradients
            specs = [s for s in _spec.SPECS if len(s.grad_arrays) == count]
            texts = {arrays_named(entry(getattr(fl, s.name).__doc__, option), s) for s in specs}
            assert len(texts) == 1, (option, texts)


def _doctest_ids() -> List[Any]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for name, obj in _public():
        for t in finder.find(obj, name, globs={}):
            if t.examples:
                tests.append(pytest.param(t, id=t.name))
    return tests


@pytest.mark.parametrize("test", _doctest_ids())
def test_docstring_examples_run(test: doctest.DocTest) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(test, out=lambda s: None)
    assert result.failed == 0, f"{test.name}: {result.failed} of {result.attempted} examples fail (python -m doctest)"


def test_every_public_loss_has_examples() -> None:
    ids = {p.id for p in _doctest_ids()}
    for name in fl.functional.__all__ + fl.modules.__all__:
        assert name in ids, f"{name} has no docstring example"
