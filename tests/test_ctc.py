"""ctc_loss and CTCLoss: torch float64 autograd parity (every reduction, zero_infinity, blank,
batched / unbatched, padded / concatenated targets, lengths of any integer type), the float64
NumPy reference and central finite differences through log_softmax (torch's gradient is the
gradient w.r.t. the logits), the edge cases (repeated labels, empty targets, impossible
alignments, input length 0, steps beyond the input length, N = 0, T = 0, NaN and -inf),
layouts, out= / grad_out= (in place over log_probs too), thread determinism, half precision,
and the typed errors."""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Tuple

import fastloss as fl
import numpy as np
import pytest
from fastloss import _reference as ref
from registry import HALF, assert_bitwise, make_layout
from registry import half_ulp as _ulp

Case = Dict[str, Any]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _case(T: int = 12, N: int = 5, C: int = 6, S: int = 4, *, blank: int = 0, seed: int = 0, edge: bool = True) -> Case:
    """Log-probabilities (T, N, C) and padded targets (N, S) with, when ``edge``: a sequence of
    repeated labels, an empty target, an impossible alignment (more labels than steps), an input
    length shorter than T (its remaining steps are never read) and a full-length one."""
    rng = np.random.default_rng([seed, T, N, C, S])
    lp = _log_softmax(rng.standard_normal((T, N, C)) * 2)
    labels = np.array([c for c in range(C) if c != blank])
    targets = rng.choice(labels, (N, S))
    il = rng.integers(max(T // 2, 1), T + 1, N)
    tl = rng.integers(1, S + 1, N)
    if edge and N >= 4:
        targets[0, :3] = labels[0]  # repeated labels: each pair needs a blank between
        il[0], tl[0] = T, min(3, S)
        tl[1] = 0  # an empty target
        il[2], tl[2] = 1, min(2, S)  # impossible: 2 labels in 1 step
        il[3] = max(T - 3, 0)
    targets[np.arange(S)[None, :] >= tl[:, None]] = rng.integers(-5, 50)  # padding: never read
    return {"lp": lp, "targets": targets, "il": il, "tl": tl, "blank": blank}


def _concatenated(c: Case) -> np.ndarray:
    return np.concatenate([c["targets"][n, : c["tl"][n]] for n in range(len(c["tl"]))]).astype(np.int64)


def _torch(
    torch: Any,
    lp: np.ndarray,
    targets: np.ndarray,
    il: Any,
    tl: Any,
    grad_output: Any = 1.0,
    **kw: Any,
) -> Tuple[np.ndarray, np.ndarray]:
    import torch.nn.functional as F

    x = torch.tensor(np.array(lp, dtype=np.float64), requires_grad=True)
    loss = F.ctc_loss(x, torch.tensor(np.asarray(targets)), torch.tensor(il), torch.tensor(tl), **kw)
    loss.backward(torch.broadcast_to(torch.tensor(np.asarray(grad_output, dtype=np.float64)), loss.shape))
    assert x.grad is not None
    return loss.detach().numpy(), x.grad.numpy()


def _close(actual: Any, expected: Any, rtol: float = 1e-12, what: str = "") -> None:
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, (what, a.shape, e.shape)
    finite = np.isfinite(e)
    scale = float(np.max(np.abs(e[finite]))) if finite.any() else 0.0
    np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * max(scale, 1.0), equal_nan=True, err_msg=what)


# --------------------------------------------------------------------------- torch parity
@pytest.mark.parametrize("reduction, go", [("mean", 1.0), ("sum", -0.75), ("none", 1.5), ("none", None)])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("blank", [0, 3, 5])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_matches_torch_float64(
    torch: Any, reduction: str, go: Optional[float], zero_infinity: bool, blank: int, layout: str
) -> None:
    c = _case(blank=blank)
    targets = c["targets"] if layout == "padded" else _concatenated(c)
    grad_output = np.linspace(-2, 2, len(c["il"])) if go is None else go
    opts = dict(blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    loss, grad = fl.ctc_loss(c["lp"], targets, c["il"], c["tl"], return_grad=True, grad_output=grad_output, **opts)
    t_loss, t_grad = _torch(torch, c["lp"], targets, c["il"], c["tl"], grad_output, **opts)
    _close(loss, t_loss, what="loss")
    _close(grad, t_grad, what="grad")
    assert np.isnan(grad).any() == (not zero_infinity)  # the impossible alignment's rows
    if reduction == "none":
        assert loss.shape == (5,) and loss.dtype == np.float64
    else:
        assert isinstance(loss, np.float64)
    assert grad.shape == c["lp"].shape and grad.dtype == np.float64
    assert np.all(grad[c["il"][3] :, 3] == 0)  # steps beyond the input length


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("form", ["int", "numpy-int", "0-d", "length-1", "padded-(1,S)"])
def test_unbatched_matches_torch(torch: Any, reduction: str, form: str) -> None:
    c = _case(T=9, N=1, C=5, S=3, edge=False)
    lp = c["lp"][:, 0]
    il, tl = int(c["il"][0]), int(c["tl"][0])
    targets: Any = c["targets"][0, :tl]
    args: Any = {
        "int": (il, tl),
        "numpy-int": (np.int32(il), np.uint8(tl)),
        "0-d": (np.array(il), np.array(tl, np.int16)),
        "length-1": (np.array([il]), [tl]),
        "padded-(1,S)": (np.array([il]), np.array([tl])),
    }[form]
    if form == "padded-(1,S)":
        targets = c["targets"][:1]
    loss, grad = fl.ctc_loss(lp, targets, *args, reduction=reduction, return_grad=True)
    t_loss, t_grad = _torch(torch, lp, targets, [il], [tl], reduction=reduction)
    _close(loss, t_loss)
    _close(grad, t_grad)
    assert np.shape(loss) == () and grad.shape == lp.shape


@pytest.mark.parametrize(
    "convert",
    [
        list,
        tuple,
        lambda a: a.astype(np.int8),
        lambda a: a.astype(np.uint16),
        lambda a: a.astype(np.int32),
        lambda a: a.astype(np.uint64),
        lambda a: a[::-1].copy()[::-1],
    ],  # fmt: skip
    ids=["list", "tuple", "int8", "uint16", "int32", "uint64", "strided"],
)
def test_lengths_and_targets_of_any_integer_type(convert: Any) -> None:
    c = _case(T=10, N=4, C=7, S=5)
    expected = fl.ctc_loss(c["lp"], c["targets"], c["il"], c["tl"], reduction="none", return_grad=True)
    targets = c["targets"].clip(0, 100)  # uint types cannot hold the negative padding
    got = fl.ctc_loss(
        c["lp"], convert(targets) if not isinstance(convert, type) else targets, convert(c["il"]), convert(c["tl"]),
        reduction="none", return_grad=True,
    )  # fmt: skip
    assert_bitwise(got[0], expected[0])
    assert_bitwise(got[1], expected[1])


def test_concatenated_list_targets() -> None:
    c = _case()
    a = fl.ctc_loss(c["lp"], _concatenated(c).tolist(), c["il"].tolist(), c["tl"].tolist(), reduction="none")
    assert_bitwise(a, fl.ctc_loss(c["lp"], c["targets"], c["il"], c["tl"], reduction="none"))


# ------------------------------------------------------- reference and finite differences
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("blank", [0, 2])
def test_reference_matches_torch(torch: Any, reduction: str, blank: int) -> None:
    """The NumPy reference (alpha with np.logaddexp, beta without the step's emission) computes
    torch's value and its gradient convention independently of the kernel."""
    c = _case(T=8, N=5, C=5, S=3, blank=blank, seed=1)
    r_loss, r_grad = ref.ctc_loss(c["lp"], c["targets"], c["il"], c["tl"], blank=blank, reduction=reduction)
    t_loss, t_grad = _torch(torch, c["lp"], c["targets"], c["il"], c["tl"], blank=blank, reduction=reduction)
    _close(r_loss, t_loss)
    _close(r_grad, t_grad)


@pytest.mark.parametrize("reduction, go", [("mean", 1.0), ("sum", 0.5), ("none", None)])
def test_gradient_is_the_logits_gradient_by_finite_differences(reduction: str, go: Optional[float]) -> None:
    """With lp = log_softmax(z), the returned gradient is d L(log_softmax(z)) / dz (central
    finite differences of the float64 reference), for torch's convention."""
    rng = np.random.default_rng(7)
    T, N, C = 6, 3, 4
    z = rng.standard_normal((T, N, C))
    targets, il, tl = np.array([[1, 1], [2, 3], [3, 0]]), np.array([6, 5, 4]), np.array([2, 2, 1])
    grad_output = np.array([0.5, -1.0, 2.0]) if go is None else go

    def objective(zz: np.ndarray) -> float:
        loss, _ = ref.ctc_loss(_log_softmax(zz), targets, il, tl, reduction=reduction)
        return float(np.sum(np.asarray(grad_output) * loss))

    fd = np.zeros_like(z)
    h = 1e-6
    for i in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[i] += h
        zm[i] -= h
        fd[i] = (objective(zp) - objective(zm)) / (2 * h)
    _, grad = fl.ctc_loss(
        _log_softmax(z), targets, il, tl, reduction=reduction, grad_output=grad_output, return_grad=True
    )
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    _, r_grad = ref.ctc_loss(_log_softmax(z), targets, il, tl, reduction=reduction, grad_output=grad_output)
    _close(grad, r_grad, rtol=1e-11)


# ---------------------------------------------------------------------------- edge cases
def test_edge_sequences_match_torch(torch: Any) -> None:
    """Input length 0 (loss 0 for an empty target, inf otherwise, zero gradient), a target as long
    as the input with repeats (impossible), exactly feasible, a single step."""
    rng = np.random.default_rng(3)
    lp = _log_softmax(rng.standard_normal((4, 6, 3)))
    targets = np.array([[1, 2, 1], [1, 1, 0], [1, 2, 1], [1, 1, 1], [2, 0, 0], [0, 0, 0]])
    targets[targets == 0] = 1
    il = np.array([0, 0, 4, 4, 1, 1])
    tl = np.array([0, 2, 3, 3, 1, 0])
    for zero_infinity in (False, True):
        loss, grad = fl.ctc_loss(
            lp, targets, il, tl, reduction="none", zero_infinity=zero_infinity, return_grad=True, grad_output=0.5
        )
        t_loss, t_grad = _torch(torch, lp, targets, il, tl, 0.5, reduction="none", zero_infinity=zero_infinity)
        _close(loss, t_loss)
        _close(grad, t_grad)
        assert loss[0] == 0 and loss[1] == (0 if zero_infinity else np.inf)
        assert np.all(grad[:, :2] == 0)


@pytest.mark.parametrize("where", ["inside", "beyond-input-length"])
def test_nan_propagates_as_in_torch(torch: Any, where: str) -> None:
    c = _case(T=8, N=4, C=5, S=3, edge=False)
    lp = c["lp"].copy()
    c["il"][1] = 5
    lp[2 if where == "inside" else 6, 1, c["targets"][1, 0]] = np.nan
    loss, grad = fl.ctc_loss(lp, c["targets"], c["il"], c["tl"], reduction="none", return_grad=True)
    t_loss, t_grad = _torch(torch, lp, c["targets"], c["il"], c["tl"], reduction="none")
    _close(loss, t_loss)
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(t_grad))
    _close(grad, t_grad)
    assert np.isnan(loss[1]) == (where == "inside")


def test_minus_inf_log_probs_as_in_torch(torch: Any) -> None:
    """A -inf log-probability (a masked class): the loss is what the other paths give, and the
    gradient is NaN there for t < input_length, as torch's."""
    c = _case(T=8, N=4, C=5, S=2, edge=False)
    lp = c["lp"].copy()
    lp[1, 0, :] = np.where(np.arange(5) == c["blank"], lp[1, 0, :], -np.inf)
    lp[3, 2, 4] = -np.inf
    loss, grad = fl.ctc_loss(lp, c["targets"], c["il"], c["tl"], reduction="sum", return_grad=True)
    t_loss, t_grad = _torch(torch, lp, c["targets"], c["il"], c["tl"], reduction="sum")
    _close(loss, t_loss)
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(t_grad))
    _close(grad, t_grad)


@pytest.mark.parametrize("reduction, expected", [("mean", np.nan), ("sum", 0.0), ("none", np.zeros(0))])
def test_empty_batch(reduction: str, expected: Any) -> None:
    """N = 0 (torch raises for an empty log_probs): the library's empty-input rule."""
    lp = np.zeros((5, 0, 4))
    loss, grad = fl.ctc_loss(lp, np.zeros((0, 3), np.int64), [], [], reduction=reduction, return_grad=True)
    np.testing.assert_array_equal(loss, expected)
    assert grad.shape == lp.shape
    loss = fl.ctc_loss(lp, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), reduction=reduction)
    np.testing.assert_array_equal(loss, expected)


def test_no_time_steps() -> None:
    """T = 0 (torch raises): every input length is 0, so a loss is 0 for an empty target, else inf."""
    lp = np.zeros((0, 2, 4))
    loss, grad = fl.ctc_loss(lp, np.array([[1], [2]]), [0, 0], [0, 1], reduction="none", return_grad=True)
    np.testing.assert_array_equal(loss, [0.0, np.inf])
    assert grad.shape == (0, 2, 4)
    assert fl.ctc_loss(lp, np.array([[1], [2]]), [0, 0], [0, 1], reduction="sum", zero_infinity=True) == 0


# --------------------------------------------------------------- layouts, buffers, threads
@pytest.mark.parametrize("layout", ["transposed", "sliced", "negative", "misaligned"])
def test_any_layout(layout: str) -> None:
    c = _case()
    if layout == "misaligned":
        buf = np.zeros(c["lp"].nbytes + 1, np.uint8)
        lp = buf[1:].view(np.float64).reshape(c["lp"].shape)
        lp[...] = c["lp"]
        assert not lp.flags.aligned
    else:
        lp = make_layout(c["lp"], layout)
    got = fl.ctc_loss(lp, c["targets"], c["il"], c["tl"], reduction="none", return_grad=True)
    want = fl.ctc_loss(c["lp"], c["targets"], c["il"], c["tl"], reduction="none", return_grad=True)
    assert_bitwise(got[0], want[0])
    assert_bitwise(got[1], want[1])


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_out_and_grad_out(reduction: str) -> None:
    c = _case(T=10, N=4, C=5, S=3)
    want_loss, want_grad = fl.ctc_loss(c["lp"], c["targets"], c["il"], c["tl"], reduction=reduction, return_grad=True)
    out = np.empty((4,) if reduction == "none" else ())
    grad_out = np.empty_like(c["lp"])
    loss, grad = fl.ctc_loss(
        c["lp"], c["targets"], c["il"], c["tl"], reduction=reduction, return_grad=True, out=out, grad_out=grad_out
    )
    assert loss is out and grad is grad_out
    assert_bitwise(out, want_loss)
    assert_bitwise(grad_out, want_grad)
    # grad_out=log_probs: the gradient overwrites the input, with the same values
    lp = c["lp"].copy()
    loss, grad = fl.ctc_loss(lp, c["targets"], c["il"], c["tl"], reduction=reduction, return_grad=True, grad_out=lp)
    assert grad is lp
    assert_bitwise(lp, want_grad)
    assert_bitwise(loss, want_loss)


def test_bad_buffers_and_overlap() -> None:
    c = _case(T=10, N=4, C=5, S=3)
    args = (c["lp"], c["targets"], c["il"], c["tl"])
    with pytest.raises(ValueError, match=r"ctc_loss: out must be a C-contiguous.*of shape \(4,\); got shape \(5,\)"):
        fl.ctc_loss(*args, reduction="none", out=np.empty(5))
    with pytest.raises(ValueError, match=r"grad_out must be .* of shape \(10, 4, 5\)"):
        fl.ctc_loss(*args, return_grad=True, grad_out=np.empty((10, 4, 4)))
    with pytest.raises(ValueError, match="out shares memory with log_probs"):
        fl.ctc_loss(*args, reduction="none", out=c["lp"][0, :, 0])
    with pytest.raises(ValueError, match=r"grad_output shape \(3,\) must equal the loss shape \(4,\)"):
        fl.ctc_loss(*args, reduction="none", return_grad=True, grad_output=np.ones(3))
    with pytest.raises(ValueError, match="grad_output must be a scalar"):
        fl.ctc_loss(*args, reduction="sum", return_grad=True, grad_output=np.ones(4))


def test_bitwise_the_same_for_any_thread_count() -> None:
    c = _case(T=60, N=16, C=20, S=10)
    runs = [
        fl.ctc_loss(c["lp"], c["targets"], c["il"], c["tl"], reduction=r, return_grad=True, n_threads=n)
        for r in ("mean", "none")
        for n in (1, 2, 3)
    ]
    for i in (1, 2):
        assert_bitwise(runs[i][0], runs[0][0])
        assert_bitwise(runs[i][1], runs[0][1])
        assert_bitwise(runs[3 + i][0], runs[3][0])
        assert_bitwise(runs[3 + i][1], runs[3][1])


def test_float32_matches_torch_float32(torch: Any) -> None:
    import torch.nn.functional as F

    c = _case(T=30, N=6, C=8, S=6)
    lp = c["lp"].astype(np.float32)
    loss, grad = fl.ctc_loss(lp, c["targets"], c["il"], c["tl"], reduction="none", return_grad=True)
    x = torch.tensor(lp, requires_grad=True)
    t = F.ctc_loss(x, torch.tensor(c["targets"]), torch.tensor(c["il"]), torch.tensor(c["tl"]), reduction="none")
    t.sum().backward()
    assert loss.dtype == np.float32 and grad.dtype == np.float32
    _close(loss, t.detach().numpy(), rtol=1e-5)
    _close(grad, x.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_half_precision(dtype: Any, reduction: str) -> None:
    """float16 / bfloat16: computed in float32 (bitwise the float32 call on the widened values,
    then rounded), within a half ulp of the float64 reference (plus float32 accumulation)."""
    c = _case(T=16, N=5, C=6, S=4)
    lp = c["lp"].astype(dtype)
    wide = lp.astype(np.float32)
    loss, grad = fl.ctc_loss(lp, c["targets"], c["il"], c["tl"], reduction=reduction, return_grad=True)
    assert np.asarray(loss).dtype == dtype and grad.dtype == dtype
    f_loss, f_grad = fl.ctc_loss(wide, c["targets"], c["il"], c["tl"], reduction=reduction, return_grad=True)
    assert_bitwise(np.asarray(loss), np.asarray(f_loss).astype(dtype))
    assert_bitwise(grad, f_grad.astype(dtype))
    r_loss, r_grad = ref.ctc_loss(wide.astype(np.float64), c["targets"], c["il"], c["tl"], reduction=reduction)
    got = np.asarray(loss, dtype=np.float64)
    finite = np.isfinite(r_loss)
    np.testing.assert_array_equal(got[~finite], np.asarray(r_loss)[~finite])
    r_fin = np.where(finite, r_loss, 1.0)
    assert np.all(np.abs(got - r_fin)[finite] <= (_ulp(r_fin, np.dtype(dtype)) + 1e-5 * np.abs(r_fin))[finite])
    g = grad.astype(np.float64)
    fin = np.isfinite(r_grad)
    rg = np.where(fin, r_grad, 1.0)
    gtol = _ulp(rg, np.dtype(dtype)) + 1e-5 * np.max(np.abs(rg))
    assert np.all((np.abs(g - rg) <= gtol)[fin])
    np.testing.assert_array_equal(np.isnan(g), np.isnan(r_grad))


# -------------------------------------------------------------------------------- class
def test_class_is_the_function() -> None:
    c = _case(blank=2)
    fn = fl.CTCLoss(blank=2, reduction="sum", zero_infinity=True)
    assert repr(fn) == "CTCLoss(blank=2, reduction='sum', zero_infinity=True)"
    got = fn(c["lp"], c["targets"], c["il"], c["tl"], return_grad=True, n_threads=1)
    want = fl.ctc_loss(c["lp"], c["targets"], c["il"], c["tl"], blank=2, reduction="sum", zero_infinity=True,
                       return_grad=True)  # fmt: skip
    assert_bitwise(got[0], want[0])
    assert_bitwise(got[1], want[1])
    with pytest.raises(TypeError, match="blank"):
        fn(c["lp"], c["targets"], c["il"], c["tl"], blank=0)


# -------------------------------------------------------------------------------- errors
def _err(kind: type, pattern: str, *args: Any, **kw: Any) -> None:
    with pytest.raises(kind, match=pattern):
        fl.ctc_loss(*args, **kw)


def test_errors_name_the_argument_and_what_was_expected() -> None:
    c = _case(T=6, N=3, C=5, S=3, edge=False)
    lp, tg, il, tl = c["lp"], c["targets"].clip(1, 4), np.array([6, 4, 2]), np.array([3, 2, 1])
    _err(TypeError, "log_probs must be a float32, float64, float16 or bfloat16 array; got dtype int64",
         lp.astype(np.int64), tg, il, tl)  # fmt: skip
    _err(TypeError, "targets must be class indices of an integer dtype; got dtype float64", lp, tg * 1.0, il, tl)
    _err(TypeError, "input_lengths must be integers .*; got dtype float64", lp, tg, il * 1.0, tl)
    _err(TypeError, "target_lengths must be integers .*; got dtype float64", lp, tg, il, [3.0, 2.0, 1.0])
    _err(TypeError, "blank must be an int; got float 0.0", lp, tg, il, tl, blank=0.0)
    _err(ValueError, re.escape("log_probs must have shape (T, N, C) or (T, C) (unbatched); got shape (6, 3, 5, 1)"),
         lp[..., None], tg, il, tl)  # fmt: skip
    _err(ValueError, re.escape("input_lengths must have shape (3,), one length per sequence; got shape (2,)"),
         lp, tg, il[:2], tl)  # fmt: skip
    _err(ValueError, re.escape("target_lengths must have shape (3,), one length per sequence; got shape (1, 3)"),
         lp, tg, il, tl[None])  # fmt: skip
    _err(ValueError, re.escape("input_lengths must be in [0, 6] (T, log_probs' time steps); got 7 at index (1,)"),
         lp, tg, [6, 7, 2], tl)  # fmt: skip
    _err(ValueError, re.escape("input_lengths must be in [0, 6] (T, log_probs' time steps); got -1 at index (2,)"),
         lp, tg, [6, 4, -1], tl)  # fmt: skip
    _err(ValueError, re.escape("target_lengths must be in [0, 3] (S, the padded targets' length); got 4 at index (0,)"),
         lp, tg, il, [4, 2, 1])  # fmt: skip
    _err(ValueError, re.escape("target_lengths must be in [0, 3] (S, the padded targets' length); got -2"),
         lp, tg, il, [3, -2, 1])  # fmt: skip
    _err(ValueError, re.escape("padded targets must have shape (3, S), one row per sequence; got shape (2, 3)"),
         lp, tg[:2], il, tl)  # fmt: skip
    _err(ValueError, re.escape("concatenated targets must hold sum(target_lengths) = 6 labels; got shape (5,)"),
         lp, np.ones(5, np.int64), il, tl)  # fmt: skip
    _err(ValueError, re.escape("targets must have shape (N, S) (padded) or (sum(target_lengths),)"),
         lp, tg[None], il, tl)  # fmt: skip
    _err(ValueError, re.escape("blank must be a class of log_probs, in [0, 5); got 5"), lp, tg, il, tl, blank=5)
    _err(ValueError, re.escape("blank must be a class of log_probs, in [0, 5); got -1"), lp, tg, il, tl, blank=-1)
    bad = tg.copy()
    bad[1, 1] = 0
    _err(ValueError, re.escape("target at index (1, 1) is the blank (0); a target label must not be blank"),
         lp, bad, il, tl)  # fmt: skip
    bad[1, 1] = 5
    _err(IndexError, re.escape("target 5 at index (1, 1) is out of range for 5 classes (expected 0 <= target < 5)"),
         lp, bad, il, tl)  # fmt: skip
    bad[1, 1] = -3
    _err(IndexError, re.escape("target -3 at index (1, 1) is out of range for 5 classes"), lp, bad, il, tl)
    bad[1, 1], bad[1, 2] = 2, 77  # beyond target_lengths[1] = 2: padding, not read
    fl.ctc_loss(lp, bad, il, tl)
    big = tg.astype(np.uint64)
    big[0, 0] = np.uint64(2**63 + 5)
    _err(IndexError, re.escape(f"target {2**63 + 5} at index (0, 0) is out of range"), lp, big, il, tl)
    _err(ValueError, "reduction must be one of 'none', 'mean', 'sum'; got 'batchmean'", lp, tg, il, tl,
         reduction="batchmean")  # fmt: skip
    _err(ValueError, re.escape("input_lengths must have shape () or (1,) for an unbatched log_probs (T, C)"),
         lp[:, 0], tg[0], [6, 6], 3)  # fmt: skip
    with pytest.raises(TypeError, match="ctc_loss: input_lengths must be an array of numbers; got NoneType"):
        fl.ctc_loss(lp, tg, None, tl)


@pytest.mark.parametrize("dtype, lp_label", [(np.float64, -800.0), (np.float32, -120.0)])
def test_a_path_through_an_underflowing_label_is_finite_as_in_torch(torch: Any, dtype: Any, lp_label: float) -> None:
    """The only alignments pass through a label whose probability underflows the dtype: log space
    keeps the loss finite, as torch's (a rescaled probability space would give inf)."""
    T, C = 10, 3
    lp = np.full((T, 1, C), -1e-3, dtype)
    lp[:, 0, 1], lp[:, 0, 2] = lp_label, -7.0
    loss, grad = fl.ctc_loss(lp, np.array([[1]]), [T], [1], reduction="sum", return_grad=True)
    t_loss, t_grad = _torch(torch, lp.astype(np.float64), np.array([[1]]), [T], [1], reduction="sum")
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    _close(loss, t_loss, rtol=1e-12 if dtype == np.float64 else 1e-6)
    _close(grad, t_grad, rtol=1e-12 if dtype == np.float64 else 1e-5)
