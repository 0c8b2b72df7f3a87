"""``python -m fastloss``: its options, its header and the noise warnings of its timings."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, List

import fastloss as fl
import numpy as np
import pytest
from fastloss import __main__ as tour


def test_help_prints_usage_and_runs_nothing() -> None:
    proc = subprocess.run([sys.executable, "-m", "fastloss", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m fastloss")
    for option in ("--repeat", "--quick", "--n-threads"):
        assert option in proc.stdout
    assert "mse_loss" not in proc.stdout  # no table: the tour did not run


@pytest.mark.parametrize("argv", [["--repeat", "0"], ["--n-threads", "0"], ["--repeat", "x"]])
def test_bad_options_are_usage_errors(argv: List[str], capsys: Any) -> None:
    with pytest.raises(SystemExit) as exc:
        tour.parse_args(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_repeat_defaults() -> None:
    assert tour.parse_args([]).repeat == 7
    assert tour.parse_args(["--quick"]).repeat == 5
    assert tour.parse_args(["--quick", "--repeat", "3"]).repeat == 3


def test_quick_tour_header_checks_and_pointer(capsys: Any) -> None:
    tour.main(["--quick", "--repeat", "1", "--n-threads", "1"])
    out = capsys.readouterr().out
    assert f"fastloss ISA level: {fl.simd_level()}" in out
    assert "threads: fastloss 1 (--n-threads)" in out
    assert "cpu: " in out
    rows = [line for line in out.splitlines() if line.split(" ", 1)[0] in {ex.loss for ex in tour.examples(True)}]
    assert len(rows) == 6 and all(" ok " in row for row in rows), rows
    assert "examples/linear_regression.py" in out


def test_timing_is_best_of_n_and_flags_noise() -> None:
    calls = []
    t = tour.time_call(lambda: calls.append(1), repeat=5)
    assert 0 < t.best <= t.median
    assert len(calls) > 5  # each sample loops the call (far above the timer's resolution)
    assert tour.Timing(best=1.0, median=2.5).noisy and not tour.Timing(best=1.0, median=1.5).noisy


def test_load_warning(monkeypatch: Any) -> None:
    cpus = tour.usable_cpus()
    monkeypatch.setattr(os, "getloadavg", lambda: (cpus + 1.5, 0.0, 0.0))
    assert "exceeds" in (tour.load_warning("before the run") or "")
    monkeypatch.setattr(os, "getloadavg", lambda: (cpus - 0.5, 0.0, 0.0))
    assert tour.load_warning("before the run") is None


def test_numpy_column_is_the_reference() -> None:
    """The tour's NumPy formulas are fastloss._reference's: in float64 they agree with fastloss."""
    for ex in tour.examples(quick=True):
        x64 = tuple(a.astype(np.float64) if a.dtype.kind == "f" else a for a in ex.inputs)
        loss, grad = ex.fastloss(*x64, None)
        ref_loss, ref_grad = ex.numpy(*x64)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-12 * float(np.max(np.abs(ref_grad))))
        assert abs(float(loss) - float(ref_loss)) <= 1e-9 * abs(float(ref_loss))
