"""The README's recipes run as written: each ```python block after a `<!-- recipe: NAME -->`
line is executed (skipped with a reason where the extra it needs is absent)."""

from __future__ import annotations

import os
import re
from typing import Dict, List, Tuple

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
#: the module each recipe needs, besides NumPy and fastloss
NEEDS = {
    "torch": "torch",
    "jax": "jax",
    "dask": "dask.distributed",
    "accumulate": "numpy",
    "lm_head": "numpy",
    "scoring": "numpy",
}


def recipes() -> List[Tuple[str, str]]:
    with open(README, encoding="utf-8") as f:
        text = f.read()
    found = re.findall(r"<!-- recipe: (\w+) -->\n```python\n(.*?)```", text, flags=re.S)
    return [(name, code) for name, code in found]


def test_the_readme_has_recipes() -> None:
    names = [name for name, _ in recipes()]
    assert "torch" in names
    assert all(name in NEEDS for name in names), names


# torch.compile's inductor imports torch.jit, which warns about its own deprecation
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(("name", "code"), recipes(), ids=[name for name, _ in recipes()])
def test_recipe_runs(name: str, code: str, tmp_path: "os.PathLike[str]") -> None:
    pytest.importorskip(NEEDS[name], reason=f"the {name} recipe needs {NEEDS[name]}")
    namespace: Dict[str, object] = {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(tmp_path)  # recipes that write files write them here
    try:
        exec(compile(code, f"README.md recipe {name}", "exec"), namespace)
    finally:
        os.chdir(cwd)
