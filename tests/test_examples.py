"""The scripts in examples/ train with fastloss and NumPy alone: short runs reach a stated
loss, and (when torch is installed) end with torch's parameters."""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType
from typing import Any, Iterator

import numpy as np
import pytest
from registry import assert_close

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _load(name: str) -> ModuleType:
    path = os.path.join(EXAMPLES, f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"fastloss_example_{name}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regression() -> ModuleType:
    return _load("linear_regression")


@pytest.fixture(scope="module")
def classifier() -> ModuleType:
    return _load("softmax_classifier")


@pytest.fixture
def torch_one_thread() -> Iterator[Any]:
    """torch, if installed, with one intra-op thread for the duration of the test: the tiny
    matmuls of these runs are slower with more threads on a busy 2-core machine; the results
    do not depend on it. Does not skip: None without torch."""
    try:
        import torch
    except ImportError:
        yield None
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield torch
    finally:
        torch.set_num_threads(before)


def _needs_torch(torch: Any) -> None:
    if torch is None:
        pytest.skip("torch is not installed")


# ------------------------------------------------------------------ linear regression
def test_linear_regression_loss_falls(regression: ModuleType) -> None:
    x, y = regression.make_data()
    weight, bias, losses = regression.train_fastloss(x, y, epochs=100)
    assert len(losses) == 100
    assert losses[0] > 4.0, losses[0]
    assert losses[-1] < 0.2, f"mse after 100 epochs: {losses[-1]}"
    assert all(b < a for a, b in zip(losses, losses[1:])), "full-batch GD with a small lr: mse falls every epoch"
    assert weight.dtype == np.float32 and weight.shape == (1, 10)
    assert bias.dtype == np.float32 and bias.shape == (1,)
    # the run recovers the generating model y = x . linspace(-1, 1, 10) + 0.5 (shrunk by weight decay)
    true_w = np.linspace(-1.0, 1.0, 10)
    assert np.max(np.abs(weight[0] - true_w)) < 0.5 and abs(float(bias[0]) - 0.5) < 0.2


def test_linear_regression_weight_decay_shrinks_the_weights(regression: ModuleType) -> None:
    x, y = regression.make_data()
    w_wd, _, _ = regression.train_fastloss(x, y, epochs=100, weight_decay=0.1)
    w_0, _, _ = regression.train_fastloss(x, y, epochs=100, weight_decay=0.0)
    assert np.linalg.norm(w_wd) < np.linalg.norm(w_0) - 0.01


def test_linear_regression_matches_torch(regression: ModuleType, torch_one_thread: Any) -> None:
    _needs_torch(torch_one_thread)
    x, y = regression.make_data()
    weight, bias, losses = regression.train_fastloss(x, y, epochs=100)
    tw, tb, tlosses = regression.train_torch(x, y, epochs=100)
    # float32 round-off of NumPy's and torch's matmuls only
    assert_close(weight, tw, np.float32, rtol=1e-6, floor=1.0, what="weight")
    assert_close(bias, tb, np.float32, rtol=1e-6, floor=1.0, what="bias")
    assert_close(np.array(losses), np.array(tlosses), np.float32, rtol=1e-5, what="loss per epoch")


# ------------------------------------------------------------------ softmax classifier
def test_softmax_classifier_loss_falls(classifier: ModuleType) -> None:
    x, y = classifier.make_spirals()
    params, losses = classifier.train_fastloss(x, y, epochs=300)
    assert len(losses) == 300
    assert losses[0] > 1.0, losses[0]  # ~log 3 at the start
    assert losses[-1] < 0.1, f"cross-entropy after 300 epochs: {losses[-1]}"
    assert classifier.accuracy(params, x, y) > 0.95
    assert all(p.dtype == np.float32 for p in params)


def test_softmax_classifier_short_run_in_float64(classifier: ModuleType) -> None:
    x, y = classifier.make_spirals()
    params, losses = classifier.train_fastloss(x.astype(np.float64), y, epochs=100)
    assert all(p.dtype == np.float64 for p in params)
    assert losses[-1] < 0.5 * losses[0]


def test_softmax_classifier_matches_torch_in_float64(classifier: ModuleType, torch_one_thread: Any) -> None:
    _needs_torch(torch_one_thread)
    x, y = classifier.make_spirals()
    x64 = x.astype(np.float64)
    params, losses = classifier.train_fastloss(x64, y, epochs=100)
    tparams, tlosses = classifier.train_torch(x64, y, epochs=100)
    for i, (p, t) in enumerate(zip(params, tparams)):
        assert_close(p, t, np.float64, rtol=1e-10, what=f"param {i}")
    assert_close(np.array(losses), np.array(tlosses), np.float64, rtol=1e-10, what="loss per epoch")


def test_softmax_classifier_float32_follows_torch(classifier: ModuleType, torch_one_thread: Any) -> None:
    """300 momentum steps amplify float32 round-off (the example says so): the runs agree to
    ~1e-3 in the parameters and the loss curves to 1e-4."""
    _needs_torch(torch_one_thread)
    x, y = classifier.make_spirals()
    params, losses = classifier.train_fastloss(x, y, epochs=300)
    tparams, tlosses = classifier.train_torch(x, y, epochs=300)
    for i, (p, t) in enumerate(zip(params, tparams)):
        assert_close(p, t, np.float32, rtol=1e-2, what=f"param {i}")
    assert_close(np.array(losses), np.array(tlosses), np.float32, rtol=1e-4, what="loss per epoch")


# ------------------------------------------------------------------ the scripts as written
@pytest.mark.parametrize("name", ["linear_regression", "softmax_classifier"])
def test_example_main_runs(name: str, capsys: Any, torch_one_thread: Any) -> None:
    module = _load(name)
    module.main()
    out = capsys.readouterr().out
    assert "epoch" in out
    if torch_one_thread is None:
        assert "PyTorch not installed" in out
    else:
        assert "torch, same run" in out
    if name == "softmax_classifier":
        assert "training accuracy" in out
    else:  # the run without weight decay, to show the decay shrinking the weights
        assert "with weight_decay=0" in out


def test_examples_import_nothing_but_fastloss_and_numpy() -> None:
    """The training loops need no torch: importing the scripts must not import it."""
    for name in ("linear_regression", "softmax_classifier"):
        with open(os.path.join(EXAMPLES, f"{name}.py")) as f:
            top_level_imports = [line for line in f if line.startswith(("import ", "from "))]
        assert not any("torch" in line for line in top_level_imports), top_level_imports
