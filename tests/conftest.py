from __future__ import annotations

import os
import sys

import pytest

# the helper modules (reference.py, registry.py) live next to the tests; make them
# importable whatever pytest's --import-mode is
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def torch():  # type: ignore[no-untyped-def]
    """The torch module; tests that request it are skipped when torch is not installed."""
    return pytest.importorskip("torch")
