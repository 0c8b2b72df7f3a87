"""The typed API: the generated stubs are current, _core.pyi matches the built extension,
and a user's script calling every public function type-checks under ``mypy --strict`` with
the installed package (while a misspelt reduction does not)."""

from __future__ import annotations

import ast
import os
import re
import runpy
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import fastloss
import pytest
from fastloss import _core, _spec

INSTALLED = Path(fastloss.__file__).parent
#: the checked-in package sources, when the tests run from a checkout
SOURCE = Path(__file__).resolve().parent.parent / "python" / "fastloss"
STUB_DIR = SOURCE if (SOURCE / "_spec.py").exists() else INSTALLED
REGENERATE = "regenerate them with: python python/fastloss/_spec.py --write-stubs (then reinstall)"


# ------------------------------------------------------------------------------ the stubs
@pytest.mark.parametrize("name", ["functional.pyi", "modules.pyi", "_core.pyi"])
def test_checked_in_stubs_are_the_rendered_ones(name: str) -> None:
    rendered = _spec.render_stubs(str(STUB_DIR))[name]
    checked_in = (STUB_DIR / name).read_text(encoding="utf-8")
    assert checked_in == rendered, f"{STUB_DIR / name} differs from the spec table's stub: {REGENERATE}"


def _stub_functions(path: Path) -> Dict[str, Optional[List[str]]]:
    """Public names a stub declares: {function: parameter names, variable: None}."""
    names: Dict[str, Optional[List[str]]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef):
            a = node.args
            names[node.name] = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = None
        elif isinstance(node, ast.Assign):
            names.update({t.id: None for t in node.targets if isinstance(t, ast.Name)})
    return {n: v for n, v in names.items() if not n.startswith("_")}


def _pybind_parameters(doc: str) -> List[str]:
    """Parameter names of a pybind11 signature line: ``f(a: T, b: list[tuple[X, Y]] = 0) -> R``."""
    first = doc.splitlines()[0]
    names, depth, start = [], 0, first.index("(") + 1
    for i in range(start, len(first)):
        ch = first[i]
        if ch in "[(":
            depth += 1
        elif ch in "])" and depth:
            depth -= 1
        elif ch in ",)" and depth == 0:  # the end of a parameter, or (")") of them all
            part = first[start:i].strip()
            if part:
                names.append(part.split(":")[0].split("=")[0].strip())
            start = i + 1
            if ch == ")":
                break
    return names


def test_core_stub_declares_exactly_the_module() -> None:
    stub = _stub_functions(STUB_DIR / "_core.pyi")
    public = {n for n in dir(_core) if not n.startswith("_")}
    assert set(stub) == public, (
        f"only in _core.pyi: {sorted(set(stub) - public)}; only in the module: {sorted(public - set(stub))}"
    )


def test_core_stub_parameters_match_the_bindings() -> None:
    stub = _stub_functions(STUB_DIR / "_core.pyi")
    for name, params in stub.items():
        if params is None:
            continue
        doc = getattr(_core, name).__doc__ or ""
        assert doc.startswith(f"{name}("), f"{name}: no pybind11 signature in its __doc__: {doc[:80]!r}"
        assert params == _pybind_parameters(doc), f"{name}: stub {params} vs binding {doc.splitlines()[0]}"


def test_every_loss_kernel_of_the_table_is_stubbed() -> None:
    stub = _stub_functions(STUB_DIR / "_core.pyi")
    for row in _spec.SPECS:
        assert stub.get(row.kernel) == [n for n, _ in row.family.kernel_params + _spec.kernel_tail(row.family)], (
            row.kernel
        )


# ----------------------------------------------------------------------------- mypy --strict
USER_SCRIPT = '''
"""A user's script: every public call of fastloss, the results used in typed ways."""
from typing import Any, List, Tuple

import numpy as np
from typing_extensions import assert_type

import fastloss as fl
from fastloss.functional import FloatArray, Loss, LossResult, Reduction, SequenceReduction

rng = np.random.default_rng(0)
a = rng.uniform(0.1, 0.9, 8).astype(np.float32)
b = rng.uniform(0.1, 0.9, 8).astype(np.float32)
x = rng.standard_normal((4, 10)).astype(np.float32)
t = np.array([1, 2, 3, 4])
w = np.ones(10, np.float32)
logits = rng.standard_normal((2, 3, 5))
targets = np.ones((2, 3), np.int8)
lengths = np.array([3, 2])
out0 = np.empty((), np.float32)
values: List[float] = []
shapes: List[Tuple[int, ...]] = []

# mse_loss / mae_loss / l1_loss: reduced, with the gradient, per element, out=
values.append(float(fl.mse_loss(a, b)))
loss, grad = fl.mse_loss(a, b, return_grad=True)
assert_type(loss, np.floating[Any])
values.append(float(loss))
shapes.append(grad.shape)
shapes.append(fl.mse_loss(a, b, reduction="none").shape)
per, per_grad = fl.mse_loss(a, b, "none", return_grad=True, grad_output=np.ones(8, np.float32))
shapes += [per.shape, per_grad.shape]
assert_type(fl.mse_loss(a, b, "sum", out=out0), FloatArray)
o, og = fl.mse_loss(a, b, out=out0, return_grad=True, grad_out=np.empty(8, np.float32), n_threads=1)
shapes += [o.shape, og.shape]
shapes.append(fl.l1_loss(a, b, reduction="none").shape)
values.append(float(fl.l1_loss(a, b, reduction="sum")))
l1, l1g = fl.l1_loss(a, b, return_grad=True)
values.append(float(fl.mae_loss(a, b)) + float(l1) + float(l1g.sum()))
shapes.append(fl.mae_loss(a, b, reduction="none", return_grad=True)[1].shape)

# binary cross-entropy, on probabilities and on logits
values.append(float(fl.binary_cross_entropy(a, b)))
values.append(float(fl.binary_cross_entropy(a, b, weight=a, reduction="sum")))
shapes.append(fl.binary_cross_entropy(a, b, None, "none").shape)
bl, bg = fl.binary_cross_entropy(a, b, reduction="none", return_grad=True)
shapes += [bl.shape, bg.shape]
values.append(float(fl.binary_cross_entropy_with_logits(a, b, pos_weight=a)))
bwl, bwg = fl.binary_cross_entropy_with_logits(a, b, a, "mean", a, return_grad=True)
values.append(float(bwl))
shapes.append(fl.binary_cross_entropy_with_logits(a, b, reduction="none", pos_weight=a).shape)

# the cross-entropy family
values.append(float(fl.cross_entropy(x, t)))
values.append(float(fl.cross_entropy(x, t, w, -100, "sum", 0.1)))
cel, ceg = fl.cross_entropy(x, t, weight=w, label_smoothing=0.1, return_grad=True)
values.append(float(cel))
shapes.append(ceg.shape)
shapes.append(fl.cross_entropy(x, t, reduction="none").shape)
shapes.append(fl.cross_entropy(x, t, w, -100, "none").shape)
values.append(float(fl.nll_loss(x, t, ignore_index=1)))
nl, ng = fl.nll_loss(x, t, reduction="none", return_grad=True)
shapes += [nl.shape, ng.shape]
values.append(float(fl.sequence_cross_entropy(logits, targets)))
values.append(float(fl.sequence_cross_entropy(logits, targets, reduction="batchmean", lengths=lengths)))
shapes.append(fl.sequence_cross_entropy(logits, targets, reduction="sequence", lengths=lengths).shape)
sl, sg = fl.sequence_cross_entropy(logits, targets, reduction="none", return_grad=True)
shapes += [sl.shape, sg.shape]

# a reduction or return_grad known only by its type
r: Reduction = "sum"
values.append(float(fl.mse_loss(a, b, r)))
rl, rg = fl.l1_loss(a, b, reduction=r, return_grad=True)
shapes.append(rg.shape)
sr: SequenceReduction = "batchmean"
shapes.append(fl.sequence_cross_entropy(logits, targets, reduction=sr).shape)
want_grad: bool = True
result: LossResult = fl.mse_loss(a, b, return_grad=want_grad)
if isinstance(result, tuple):
    shapes.append(result[1].shape)

# the nn-style classes
mse = fl.MSELoss()
values.append(float(mse(a, b)))
ml, mg = mse(a, b, return_grad=True)
shapes.append(mg.shape)
values.append(float(mse.forward(a, b)))
shapes.append(fl.L1Loss(reduction="none")(a, b).shape)
values.append(float(fl.BCELoss(weight=a)(a, b)))
bce = fl.BCEWithLogitsLoss(pos_weight=a, reduction="sum", n_threads=1)
loss_value: Loss = bce(a, b, n_threads=2)
bcl, bcg = bce.forward(a, b, True, grad_output=0.5)
shapes.append(bcg.shape)
ce = fl.CrossEntropyLoss(weight=w, label_smoothing=0.1)
values.append(float(ce(x, t)))
cl, cg = ce(x, t, return_grad=True, grad_out=np.empty_like(x))
shapes.append(cg.shape)
text: str = repr(ce) + repr(fl.NLLLoss(ignore_index=0))
values.append(float(fl.NLLLoss()(x, t)))
seq = fl.SequenceCrossEntropyLoss(reduction="sequence")
shapes.append(seq(logits, targets, lengths=lengths).shape)
seq_loss, seq_grad = seq.forward(logits, targets, return_grad=True, lengths=lengths)
shapes.append(seq_grad.shape)
red: Reduction = mse.reduction

# the utilities
threads: int = fl.max_threads()
level: str = fl.simd_level()
levels: List[str] = fl.supported_simd_levels()
fl.set_simd_level(level)

# --- optim (typed in optim.py) ---
w1 = np.ones(3)
w2 = np.ones(2)
values.append(float(fl.l2_penalty(w1, 0.1)))
penalty, grads = fl.l2_penalty([w1, w2], 0.1, return_grad=True)
shapes.append(grads[0].shape)
fl.SGD([w1, w2], lr=0.1).step([np.ones(3), np.ones(2)])
fl.sgd_step([w1], [np.ones(3)], lr=0.1)
'''

#: each line must fail type checking, with an error on that very line
BAD_LINES = [
    'fl.mse_loss(a, a, reduction="meen")',
    'fl.cross_entropy(a, a, reduction="batchmean")',
    'fl.MSELoss(reduction="meen")',
    'fl.CrossEntropyLoss()(a, a, reduction="sum")',
]
BAD_SCRIPT = "import numpy as np\nimport fastloss as fl\n\na = np.ones(3)\n" + "\n".join(BAD_LINES) + "\n"


@pytest.fixture(scope="module")
def mypy_api() -> Any:
    api = pytest.importorskip("mypy.api", reason="mypy is not installed (pip install .[test])")
    pytest.importorskip("typing_extensions", reason="the user script uses typing_extensions.assert_type")
    return api


def _mypy(api: Any, tmp: Path, files: List[str]) -> Tuple[str, int]:
    config = tmp / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n")
    old = os.getcwd()
    os.chdir(tmp)  # not the checkout: fastloss is the installed package
    try:
        stdout, stderr, status = api.run(
            ["--config-file", str(config), "--cache-dir", str(tmp / ".cache"), "--no-error-summary", *files]
        )
    finally:
        os.chdir(old)
    return stdout + stderr, status


def test_user_script_type_checks_and_a_bad_reduction_does_not(mypy_api: Any, tmp_path: Path) -> None:
    for banned in ("cast(", "type: ignore"):
        assert banned not in USER_SCRIPT
    (tmp_path / "user_script.py").write_text(USER_SCRIPT)
    (tmp_path / "bad_script.py").write_text(BAD_SCRIPT)
    output, _ = _mypy(mypy_api, tmp_path, ["user_script.py", "bad_script.py"])
    errors = [line for line in output.splitlines() if ": error:" in line]
    user_errors = [e for e in errors if e.startswith("user_script.py:")]
    optim_part = USER_SCRIPT[: USER_SCRIPT.index("# --- optim")].count("\n") + 1
    if user_errors and all(int(e.split(":")[1]) > optim_part for e in user_errors):
        pytest.fail(
            "mypy --strict rejects the optim calls of the user script (fastloss.optim's typing):\n"
            + "\n".join(user_errors)
        )
    assert not user_errors, "mypy --strict rejects the user script:\n" + "\n".join(user_errors)
    lines = BAD_SCRIPT.splitlines()
    for bad in BAD_LINES:
        lineno = lines.index(bad) + 1
        assert any(e.startswith(f"bad_script.py:{lineno}:") for e in errors), f"mypy accepts {bad!r}:\n{output}"
    assert all(e.startswith(("user_script.py", "bad_script.py")) for e in errors), output


def test_user_script_runs(tmp_path: Path) -> None:
    """What the types promise is what the calls return."""
    pytest.importorskip("typing_extensions")
    (tmp_path / "user_script.py").write_text(USER_SCRIPT)
    ns = runpy.run_path(str(tmp_path / "user_script.py"))
    assert all(isinstance(v, float) for v in ns["values"])
    assert all(isinstance(s, tuple) for s in ns["shapes"])


def test_the_implementation_modules_type_check(mypy_api: Any, tmp_path: Path) -> None:
    """The project's mypy run sees functional.pyi and modules.pyi, not the .py files behind
    them: check those without their stubs."""
    package = tmp_path / "fastloss"
    shutil.copytree(
        STUB_DIR, package, ignore=shutil.ignore_patterns("*.so", "__pycache__", "functional.pyi", "modules.pyi")
    )
    output, status = _mypy(mypy_api, tmp_path, ["fastloss/functional.py", "fastloss/modules.py", "fastloss/_spec.py"])
    own = [line for line in output.splitlines() if re.match(r"fastloss/(functional|modules|_spec)\.py:", line)]
    assert not own, "\n".join(own)
