"""fastloss.torch: every loss of the spec table as an autograd-aware torch custom op.

Checked against torch.nn.functional (float64 values and autograd gradients), against fastloss's
own NumPy call (the adapter adds no arithmetic of its own: bitwise), with torch.autograd.gradcheck,
under torch.compile and torch.no_grad(), in half precision, and in a training loop.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, Callable, Dict, Tuple

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="fastloss.torch needs PyTorch (pip install torch==2.13.0)")
import fastloss  # noqa: E402
import fastloss.torch as ft  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from fastloss import _spec  # noqa: E402

Arrays = Dict[str, Any]


# ----------------------------------------------------------------------------- inputs
def _inputs(name: str, dtype: Any = torch.float64, seed: int = 0) -> Tuple[Arrays, Dict[str, Any]]:
    """Valid arrays (by argument name) and options for each loss: (6, 5) rows or elements."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> Any:
        return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)

    def uniform(lo: float, hi: float, *shape: int) -> Any:
        return (lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=torch.float64)).to(dtype)

    def signs(*shape: int) -> Any:
        return (torch.randint(0, 2, shape, generator=g) * 2 - 1).to(dtype)

    classes = torch.randint(0, 5, (6,), generator=g)
    table: Dict[str, Callable[[], Tuple[Arrays, Dict[str, Any]]]] = {
        "mse_loss": lambda: ({"input": randn(6, 5), "target": randn(6, 5)}, {}),
        "l1_loss": lambda: ({"input": randn(6, 5), "target": randn(6, 5)}, {}),
        "huber_loss": lambda: ({"input": randn(6, 5), "target": randn(6, 5)}, {"delta": 0.7}),
        "smooth_l1_loss": lambda: ({"input": randn(6, 5), "target": randn(6, 5)}, {"beta": 0.5}),
        "kl_div": lambda: (
            {"input": torch.log_softmax(randn(6, 5), 1), "target": torch.softmax(randn(6, 5), 1)},
            {},
        ),
        "poisson_nll_loss": lambda: ({"input": randn(6, 5), "target": torch.floor(uniform(0, 4, 6, 5))}, {}),
        "gaussian_nll_loss": lambda: (
            {"input": randn(6, 5), "target": randn(6, 5), "var": uniform(0.2, 2.0, 6, 1)},
            {"full": True},
        ),
        "margin_ranking_loss": lambda: ({"input1": randn(6), "input2": randn(6), "target": signs(6)}, {"margin": 0.2}),
        "cosine_embedding_loss": lambda: (
            {"input1": randn(6, 5), "input2": randn(6, 5), "target": signs(6)},
            {"margin": 0.1},
        ),
        "triplet_margin_loss": lambda: (
            {"anchor": randn(6, 5), "positive": randn(6, 5), "negative": randn(6, 5)},
            {"swap": True},
        ),
        "binary_cross_entropy": lambda: (
            {"input": uniform(0.05, 0.95, 6, 5), "target": uniform(0, 1, 6, 5)},
            {"weight": uniform(0.5, 2, 5)},
        ),
        "binary_cross_entropy_with_logits": lambda: (
            {"input": randn(6, 5), "target": uniform(0, 1, 6, 5)},
            {"pos_weight": uniform(0.5, 2, 5)},
        ),
        "sigmoid_focal_loss": lambda: ({"input": randn(6, 5), "target": torch.round(uniform(0, 1, 6, 5))}, {}),
        "soft_margin_loss": lambda: ({"input": randn(6, 5), "target": signs(6, 5)}, {}),
        "hinge_embedding_loss": lambda: ({"input": randn(6, 5), "target": signs(6, 5)}, {"margin": 0.5}),
        "multilabel_soft_margin_loss": lambda: (
            {"input": randn(6, 5), "target": torch.round(uniform(0, 1, 6, 5))},
            {"weight": uniform(0.5, 2, 5)},
        ),
        "multi_margin_loss": lambda: ({"input": randn(6, 5), "target": classes}, {"p": 2, "margin": 0.8}),
        "multilabel_margin_loss": lambda: (
            {"input": randn(6, 5), "target": torch.tensor([[3, 0, -1, 1, 1]] * 3 + [[-1, 0, 0, 0, 0]] * 3)},
            {},
        ),
        "cross_entropy": lambda: (
            {"input": randn(6, 5), "target": torch.where(classes == 4, -100, classes)},
            {"weight": uniform(0.5, 2, 5), "label_smoothing": 0.1},
        ),
        "nll_loss": lambda: (
            {"input": torch.log_softmax(randn(6, 5), 1), "target": classes},
            {"weight": uniform(0.5, 2, 5), "ignore_index": 2},
        ),
        "sequence_cross_entropy": lambda: (
            {"logits": randn(2, 3, 5), "targets": torch.randint(0, 5, (2, 3), generator=g)},
            {"label_smoothing": 0.05, "lse_square_scale": 0.01},
        ),
        "ctc_loss": lambda: (
            {
                "log_probs": torch.log_softmax(randn(6, 3, 5), 2),
                "targets": torch.tensor([[1, 2, 2], [3, 1, 0], [4, 0, 0]]),
                "input_lengths": torch.tensor([6, 5, 3]),
                "target_lengths": torch.tensor([3, 2, 1]),
            },
            {"blank": 0},
        ),
    }
    return table[name]()


SPECS = {s.name: s for s in _spec.SPECS}
CASES = [(s.name, r) for s in _spec.SPECS for r in s.reductions]
#: torch.nn.functional has no such function (torchvision's, or fastloss's own)
NOT_IN_TORCH = {"sigmoid_focal_loss", "sequence_cross_entropy"}


def _call_both(name: str, reduction: str, dtype: Any = torch.float64) -> Tuple[Any, Any, Arrays, Arrays]:
    """The adapter's and torch's loss and gradients (dicts by argument name) on the same inputs."""
    spec = SPECS[name]
    arrays, options = _inputs(name, dtype)
    options["reduction"] = reduction

    def run(fn: Callable[..., Any]) -> Tuple[Any, Arrays]:
        leaves = {a: arrays[a].clone().requires_grad_(a in spec.grad_arrays) for a in spec.arrays}
        loss = fn(*(leaves[a] for a in spec.arrays), **options)
        upstream = torch.randn(loss.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        (loss * upstream.to(loss.dtype)).sum().backward()
        return loss.detach(), {a: leaves[a].grad for a in spec.grad_arrays}

    ours, our_grads = run(getattr(ft, name))
    if name in NOT_IN_TORCH:
        return ours, None, our_grads, {}
    theirs, their_grads = run(getattr(F, name))
    return ours, theirs, our_grads, their_grads


# ------------------------------------------------------------------------ torch parity
@pytest.mark.parametrize(("name", "reduction"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
def test_matches_torch_functional_in_float64(name: str, reduction: str) -> None:
    if name in NOT_IN_TORCH or (name == "kl_div" and reduction == "mean"):
        pytest.skip("no torch.nn.functional equivalent (or torch warns on it); covered by the NumPy parity test")
    ours, theirs, our_grads, their_grads = _call_both(name, reduction)
    assert ours.dtype == theirs.dtype == torch.float64
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
    for a in their_grads:
        torch.testing.assert_close(our_grads[a], their_grads[a], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("name", "reduction"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_the_numpy_call(name: str, reduction: str, dtype: Any) -> None:
    """Value and gradient bitwise those of fastloss on the same arrays (upstream gradient 1 for a
    reduced loss: the backward's scaling by 1.0 is exact)."""
    spec = SPECS[name]
    arrays, options = _inputs(name, dtype)
    options["reduction"] = reduction
    leaves = {a: arrays[a].clone().requires_grad_(a in spec.grad_arrays) for a in spec.arrays}
    loss = getattr(ft, name)(*(leaves[a] for a in spec.arrays), **options)
    upstream = torch.ones_like(loss) if loss.ndim == 0 else torch.rand(loss.shape, dtype=loss.dtype)
    loss.backward(upstream)

    np_options = {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in options.items()}
    go = 1.0 if loss.ndim == 0 else upstream.numpy()
    want, want_grads = getattr(fastloss, name)(
        *(arrays[a].numpy() for a in spec.arrays), **np_options, return_grad=True, grad_output=go
    )
    want_grads = want_grads if len(spec.grad_arrays) > 1 else (want_grads,)
    np.testing.assert_array_equal(loss.detach().numpy(), want)
    assert loss.dtype == dtype
    for a, g in zip(spec.grad_arrays, want_grads):
        grad = leaves[a].grad
        assert grad is not None and grad.dtype == dtype and grad.shape == leaves[a].shape
        np.testing.assert_array_equal(grad.numpy(), g)


@pytest.mark.parametrize(("name", "reduction"), CASES, ids=[f"{n}-{r}" for n, r in CASES])
def test_gradcheck(name: str, reduction: str) -> None:
    spec = SPECS[name]
    arrays, options = _inputs(name)
    options["reduction"] = reduction
    diff = [arrays[a].clone().requires_grad_(True) for a in spec.grad_arrays]

    def fn(*grads: Any) -> Any:
        if name == "ctc_loss":  # torch's gradient is the logits' (of log_softmax), as F.ctc_loss's
            grads = (torch.log_softmax(grads[0], -1),)
        given = dict(arrays, **dict(zip(spec.grad_arrays, grads)))
        return getattr(ft, name)(*(given[a] for a in spec.arrays), **options)

    assert torch.autograd.gradcheck(fn, tuple(diff), eps=1e-6, atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------------- autograd modes
def test_no_grad_computes_no_gradient() -> None:
    x, y = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3)
    spec = SPECS["mse_loss"]
    with torch.no_grad():
        loss = ft.mse_loss(x, y)
        assert not ft._needs_grad(spec, "mse_loss", (x, y, "mean"))
    assert loss.grad_fn is None and not loss.requires_grad
    assert not ft._needs_grad(spec, "mse_loss", (x.detach(), y, "mean"))  # nothing requires grad
    assert ft._needs_grad(spec, "mse_loss", (x, y, "mean"))
    # what the forward then runs: the value alone, no gradient array
    value, grad = torch.ops.fastloss.mse_loss(x.detach(), y, "mean", False, None, 0)
    assert grad.numel() == 0 and value == loss


def test_a_target_that_requires_grad_is_an_error() -> None:
    x, y = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"kl_div: target requires grad.*input.*target\.detach\(\)"):
        ft.kl_div(x, y)
    with torch.no_grad():
        ft.kl_div(x, y)  # no gradient wanted: fine


def test_tensors_on_another_device_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"mse_loss: input must be a CPU tensor; got a tensor on meta"):
        ft._to_numpy("mse_loss", "input", torch.empty(3, device="meta"))


def test_meta_tensors_give_shapes_without_data() -> None:
    """The fake implementation (torch.compile's tracing) on meta tensors."""
    x, t = torch.empty(7, 5, 3, device="meta"), torch.empty(7, 3, dtype=torch.int64, device="meta")
    loss, grad = torch.ops.fastloss.cross_entropy(x, t, None, -100, "none", 0.0, 0.0, True, None, 0)
    assert loss.shape == (7, 3) and grad.shape == (7, 5, 3) and loss.device.type == "meta"


@pytest.mark.parametrize("name", ["cross_entropy", "mse_loss", "gaussian_nll_loss"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_torch_compile_fullgraph(name: str, reduction: str) -> None:
    spec = SPECS[name]
    arrays, options = _inputs(name, torch.float32)
    options["reduction"] = reduction
    fn = getattr(ft, name)

    def step(*xs: Any) -> Any:
        return fn(*xs, **options).sum()

    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    results = []
    for f in (step, compiled):
        leaves = [arrays[a].clone().requires_grad_(a in spec.grad_arrays) for a in spec.arrays]
        loss = f(*leaves)
        loss.backward()
        results.append((loss.detach(), [x.grad for x in leaves if x.requires_grad]))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=0, atol=0)
    for a, b in zip(results[1][1], results[0][1]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


# ------------------------------------------------------------------- dtypes and layouts
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["mse_loss", "cross_entropy", "binary_cross_entropy_with_logits"])
def test_half_precision_in_and_out(name: str, dtype: Any) -> None:
    if dtype == torch.bfloat16:
        pytest.importorskip("ml_dtypes", reason="bfloat16 arrays need ml_dtypes")
    spec = SPECS[name]
    arrays, options = _inputs(name, dtype)
    x = arrays["input"].clone().requires_grad_(True)
    loss = getattr(ft, name)(x, *(arrays[a] for a in spec.arrays[1:]), **options)
    loss.backward()
    assert loss.dtype == dtype and x.grad is not None and x.grad.dtype == dtype
    # the float32 computation on the same half values, rounded once
    ref = arrays["input"].float().requires_grad_(True)
    more = {k: v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v for k, v in options.items()}
    rest = [arrays[a].float() if arrays[a].is_floating_point() else arrays[a] for a in spec.arrays[1:]]
    ref_loss = getattr(ft, name)(ref, *rest, **more)
    ref_loss.backward()
    assert ref.grad is not None
    torch.testing.assert_close(x.grad, ref.grad.to(dtype), rtol=0, atol=0)
    torch.testing.assert_close(loss, ref_loss.to(dtype), rtol=0, atol=0)


def test_non_contiguous_tensors() -> None:
    g = torch.Generator().manual_seed(3)
    base = torch.randn(5, 8, generator=g)
    x = base.t().requires_grad_(False)  # (8, 5), strides (1, 8)
    y = torch.randn(8, 5, generator=g)
    leaf = base.clone().requires_grad_(True)
    loss = ft.huber_loss(leaf.t(), y, delta=0.5)
    loss.backward()
    contiguous = x.contiguous().requires_grad_(True)
    want = ft.huber_loss(contiguous, y, delta=0.5)
    want.backward()
    assert leaf.grad is not None and contiguous.grad is not None
    torch.testing.assert_close(loss, want, rtol=0, atol=0)
    torch.testing.assert_close(leaf.grad.t(), contiguous.grad, rtol=0, atol=0)


def test_numpy_arguments_are_accepted() -> None:
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    y = np.zeros((4, 3), np.float32)
    loss = ft.mse_loss(x, y)
    assert isinstance(loss, torch.Tensor)
    assert float(loss) == float(fastloss.mse_loss(x, y))


def test_errors_from_the_kernels_reach_the_caller() -> None:
    x = torch.randn(3, 4, requires_grad=True)
    with pytest.raises(IndexError, match="cross_entropy"):
        ft.cross_entropy(x, torch.tensor([0, 1, 9]))
    with pytest.raises(ValueError, match="reduction"):
        ft.mse_loss(x, torch.randn(3, 4), reduction="avg")


def test_every_loss_and_alias_is_exported() -> None:
    assert sorted(ft.__all__) == sorted(_spec.function_names() + _spec.class_names())
    for name in ft.__all__:
        assert callable(getattr(ft, name))
    assert ft.mae_loss is ft.l1_loss


def test_module_classes_mirror_torch_nn() -> None:
    g = torch.Generator().manual_seed(4)
    x, t = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randint(0, 5, (6,), generator=g)
    w = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    ours = ft.CrossEntropyLoss(w, label_smoothing=0.2)  # positional in torch's order, then keywords
    theirs = torch.nn.CrossEntropyLoss(w, label_smoothing=0.2)
    torch.testing.assert_close(ours(x, t), theirs(x, t), rtol=1e-12, atol=0)
    assert "weight" in dict(ours.named_buffers()) and "label_smoothing=0.2" in repr(ours)
    assert ours.to(torch.float32).weight.dtype == torch.float32  # buffers follow .to()
    leaf = x.clone().requires_grad_(True)
    ft.HuberLoss(delta=0.5)(leaf, torch.zeros(6, 5, dtype=torch.float64)).backward()
    want = torch.nn.functional.huber_loss(x, torch.zeros(6, 5, dtype=torch.float64), delta=0.5, reduction="none")
    assert leaf.grad is not None and want.shape == leaf.grad.shape
    with pytest.raises(TypeError, match="HuberLoss: unexpected option 'beta'"):
        ft.HuberLoss(beta=1.0)
    with pytest.raises(TypeError, match="MSELoss: takes at most 1 positional"):
        ft.MSELoss("mean", 2)


def test_import_fastloss_does_not_import_torch() -> None:
    code = "import sys, fastloss; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -------------------------------------------------------------------------- training
def test_a_training_loop_matches_native_cross_entropy() -> None:
    """An MLP trained with the adapter follows the same trajectory as with F.cross_entropy."""
    g = torch.Generator().manual_seed(0)
    data, labels = torch.randn(64, 10, generator=g), torch.randint(0, 7, (64,), generator=g)

    def train(loss_fn: Callable[..., Any]) -> Any:
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 7))
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        losses = []
        for _ in range(40):
            opt.zero_grad()
            loss = loss_fn(model(data), labels)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        return losses

    ours, theirs = train(ft.cross_entropy), train(F.cross_entropy)
    assert ours[-1] < 0.8 * ours[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_upstream_gradients_and_a_retained_graph() -> None:
    """A reduced loss's gradient scaled by the upstream gradient; a second backward through the
    same graph (retain_graph=True) reruns the kernel and accumulates the same gradient again."""
    g = torch.Generator().manual_seed(5)
    x, t = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randint(0, 5, (6,), generator=g)
    leaf = x.clone().requires_grad_(True)
    loss = ft.cross_entropy(leaf, t)
    loss.backward(torch.tensor(2.5, dtype=torch.float64), retain_graph=True)
    assert leaf.grad is not None
    first = leaf.grad.clone()
    loss.backward(torch.tensor(-1.0, dtype=torch.float64))
    _, want = fastloss.cross_entropy(x.numpy(), t.numpy(), return_grad=True)
    np.testing.assert_allclose(first.numpy(), 2.5 * want, rtol=1e-15, atol=0)
    np.testing.assert_allclose(leaf.grad.numpy(), 1.5 * want, rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("need_grad", [True, False])
def test_torch_library_opcheck(name: str, need_grad: bool) -> None:
    """torch's own consistency checks of a custom op: schema, autograd registration, the fake
    implementation against the real one, and AOT dispatch (what torch.compile relies on)."""
    spec = SPECS[name]
    arrays, options = _inputs(name)
    for reduction in (spec.reductions[1] if spec.reductions[0] == "none" else spec.reductions[0], "none"):
        given = dict(options, reduction=reduction)
        values = [arrays[a].clone().requires_grad_(a in spec.grad_arrays) for a in spec.arrays]
        values += [given.get(p.name, p.default) for p in spec.params]
        op = getattr(torch.ops.fastloss, name).default
        result = torch.library.opcheck(op, (*values, need_grad, None, 0))
        assert all(v == "SUCCESS" for v in result.values()), result
