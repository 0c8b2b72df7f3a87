"""L2 penalty and SGD: torch.optim.SGD's rule for every option combination (vs torch, skipped
without it, and vs the float64 NumPy reference), updates in place, the functional form,
zero_state, state_dict round trips, l2_penalty values / grads / return types, weight decay
== l2_penalty(wd / 2), determinism across thread counts, and every error case; torch's param
groups (per-group options, changes through param_groups, add_param_group, state_dict with
groups), step with dict grads and None entries, all-or-nothing steps, types under mypy --strict
and the docstrings."""

from __future__ import annotations

import copy
import itertools
import os
import re
import textwrap
from typing import Any, Dict, List, Optional, Sequence, Tuple

import fastloss as fl
import numpy as np
import pytest
import reference as ref
from registry import DTYPES, assert_bitwise, assert_close, make_layout, shape_regex
from test_errors import raises

dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)

SHAPES = [(3, 4), (5,), (2, 3, 2), ()]
STEPS = 6
LR = 0.05
#: after STEPS steps, |fastloss - other| <= RTOL * max|param| (float32: NumPy, torch and fastloss
#: round g + wd p and p - lr g differently, e.g. with or without FMA)
RTOL = {np.dtype(np.float32): 2e-6, np.dtype(np.float64): 1e-14}


def _combos() -> List[Dict[str, Any]]:
    """Every valid combination of SGD's options (nesterov needs momentum and no dampening)."""
    out = []
    for momentum, dampening, wd, nesterov, maximize in itertools.product(
        [0.0, 0.9], [0.0, 0.3], [0.0, 0.01], [False, True], [False, True]
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        out.append(dict(momentum=momentum, dampening=dampening, weight_decay=wd, nesterov=nesterov, maximize=maximize))
    return out


COMBOS = _combos()
assert len(COMBOS) == 20


def _combo_id(h: Dict[str, Any]) -> str:
    parts = [f"mom{h['momentum']}", f"damp{h['dampening']}", f"wd{h['weight_decay']}"]
    parts += [k for k in ("nesterov", "maximize") if h[k]]
    return "-".join(parts)


combos = pytest.mark.parametrize("hyper", COMBOS, ids=_combo_id)


def _problem(
    dtype: Any, seed: int = 0, shapes: Sequence[tuple] = SHAPES, steps: int = STEPS
) -> Tuple[List[np.ndarray], List[List[np.ndarray]]]:
    """Initial params and a gradient sequence (one list per step), deterministic in seed."""
    rng = np.random.default_rng(seed)
    params = [np.asarray(rng.standard_normal(s)).astype(dtype) for s in shapes]
    grads = [[np.asarray(rng.standard_normal(s)).astype(dtype) for s in shapes] for _ in range(steps)]
    return params, grads


def _assert_params_close(got: Sequence[Any], want: Sequence[Any], dtype: Any, p0: Sequence[Any], what: str) -> None:
    scale = max(float(np.max(np.abs(p))) for p in p0)
    for i, (g, w) in enumerate(zip(got, want)):
        assert_close(g, w, dtype, rtol=RTOL[np.dtype(dtype)], floor=scale, what=f"{what} param {i}")


def _run_sgd(params: List[np.ndarray], grads: List[List[np.ndarray]], **hyper: Any) -> fl.SGD:
    opt = fl.SGD(params, lr=LR, **hyper)
    for g in grads:
        opt.step(g)
    return opt


# ------------------------------------------------------------------ reference values
@pytest.mark.parametrize("form", ["class", "function"])
@dtypes
def test_contract_reference_values(dtype: Any, form: str) -> None:
    for maximize, want in ((False, [0.949, -2.048]), (True, [1.049, -1.948])):
        p = np.array([1.0, -2.0], dtype)
        g = np.array([0.5, 0.5], dtype)
        if form == "class":
            fl.SGD([p], lr=0.1, weight_decay=0.01, maximize=maximize).step([g])
        else:
            fl.sgd_step([p], [g], 0.1, weight_decay=0.01, maximize=maximize)
        np.testing.assert_allclose(p, want, rtol=2 * np.finfo(dtype).eps, atol=0)
        assert p.dtype == dtype


def test_momentum_by_hand() -> None:
    """buf = g on the first step (no dampening), then momentum * buf + (1 - dampening) g."""
    p = np.array([1.0])
    opt = fl.SGD([p], lr=0.1, momentum=0.5, dampening=0.5)
    opt.step([np.array([1.0])])  # buf = 1, p = 1 - 0.1
    assert p[0] == pytest.approx(0.9, rel=1e-15)
    opt.step([np.array([1.0])])  # buf = 0.5 + 0.5 = 1, p = 0.9 - 0.1
    assert p[0] == pytest.approx(0.8, rel=1e-15)
    q = np.array([1.0])
    opt = fl.SGD([q], lr=0.1, momentum=0.5, nesterov=True)
    opt.step([np.array([1.0])])  # buf = 1, d = 1 + 0.5, q = 1 - 0.15
    assert q[0] == pytest.approx(0.85, rel=1e-15)
    opt.step([np.array([2.0])])  # buf = 0.5 + 2 = 2.5, d = 2 + 1.25, q = 0.85 - 0.325
    assert q[0] == pytest.approx(0.525, rel=1e-15)


# ------------------------------------------------------------------ vs torch / reference
@dtypes
@combos
def test_sgd_matches_torch(torch: Any, hyper: Dict[str, Any], dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=1)
    params = [p.copy() for p in p0]
    opt = fl.SGD(params, lr=LR, **hyper)
    tparams = [torch.tensor(p, requires_grad=True) for p in p0]
    topt = torch.optim.SGD(tparams, lr=LR, **hyper)
    for step, g in enumerate(grads):
        opt.step(g)
        for t, gg in zip(tparams, g):
            t.grad = torch.tensor(gg)
        topt.step()
        _assert_params_close(params, [t.detach().numpy() for t in tparams], dtype, p0, f"step {step}:")
    if hyper["momentum"]:
        sd = opt.state_dict()["state"]
        for i, t in enumerate(tparams):
            tbuf = topt.state[t]["momentum_buffer"].numpy()
            assert_close(
                sd[i]["momentum_buffer"],
                tbuf,
                dtype,
                rtol=RTOL[np.dtype(dtype)],
                floor=float(np.max(np.abs(tbuf))) + 1.0,
                what=f"momentum buffer {i}",
            )


@dtypes
@combos
def test_sgd_matches_reference(hyper: Dict[str, Any], dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=2)
    params = [p.copy() for p in p0]
    opt = fl.SGD(params, lr=LR, **hyper)
    want, bufs = [p.astype(np.float64) for p in p0], None
    for step, g in enumerate(grads):
        opt.step(g)
        want, bufs = ref.sgd_step(want, g, LR, bufs, **hyper)
        _assert_params_close(params, want, dtype, p0, f"step {step}:")


@dtypes
@combos
def test_sgd_step_function_equals_class(hyper: Dict[str, Any], dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=3)
    a = [p.copy() for p in p0]
    _run_sgd(a, grads, **hyper)
    b = [p.copy() for p in p0]
    buffers: Optional[List[Any]] = None
    for g in grads:
        returned = fl.sgd_step(b, g, LR, buffers, **hyper)
        assert isinstance(returned, list) and len(returned) == len(b)
        if buffers is not None:
            assert returned is buffers, "the momentum_buffers list is updated in place and returned"
        if hyper["momentum"]:
            assert all(
                isinstance(buf, np.ndarray) and buf.shape == p.shape and buf.dtype == p.dtype
                for buf, p in zip(returned, b)
            ), "momentum buffers filled on the first step"
        else:
            assert all(buf is None for buf in returned), "no momentum: no buffers"
        buffers = returned
    for i, (x, y) in enumerate(zip(a, b)):
        assert_bitwise(x, y, f"param {i}")


# ------------------------------------------------------------------ in place
@dtypes
@pytest.mark.parametrize("hyper", [COMBOS[0], COMBOS[-1]], ids=_combo_id)
def test_step_updates_the_same_arrays_in_place(hyper: Dict[str, Any], dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=4)
    # params living inside larger buffers (C-contiguous views), as a model's flat parameter store
    store = np.full(200, 7.0, dtype)
    params, offset = [], 3
    for p in p0:
        view = store[offset : offset + p.size].reshape(p.shape)
        view[...] = p
        params.append(view)
        offset += p.size + 5
    ids = [id(p) for p in params]
    before = store.copy()
    opt = fl.SGD(params, lr=LR, **hyper)
    for g in grads:
        assert opt.step(g) is None
    assert [id(p) for p in opt.params] == ids, "the optimizer holds the caller's arrays"
    want = [p.copy() for p in p0]
    _run_sgd(want, grads, **hyper)
    for i, (p, w) in enumerate(zip(params, want)):
        assert p.dtype == dtype and p.shape == w.shape
        assert np.shares_memory(p, store), f"param {i} no longer lives in its buffer"
        assert_bitwise(p, w, f"param {i}")
    outside = np.ones(store.shape, bool)
    offset = 3
    for p in p0:
        outside[offset : offset + p.size] = False
        offset += p.size + 5
    assert_bitwise(store[outside], before[outside], "the store outside the params")


@dtypes
def test_sgd_step_function_updates_in_place(dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=5)
    params = [p.copy() for p in p0]
    originals = list(params)
    fl.sgd_step(params, grads[0], LR, momentum=0.9, weight_decay=0.01)
    assert all(a is b for a, b in zip(params, originals))
    want, _ = ref.sgd_step(p0, grads[0], LR, momentum=0.9, weight_decay=0.01)
    _assert_params_close(params, want, dtype, p0, "one step:")


@dtypes
def test_grads_are_not_modified_and_may_be_lists_or_strided(dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=6, shapes=[(4, 5), (6,)], steps=3)
    g0 = [[g.copy() for g in gs] for gs in grads]
    a = [p.copy() for p in p0]
    _run_sgd(a, grads, momentum=0.9, weight_decay=0.01)
    for gs, gs0 in zip(grads, g0):
        for g, gg in zip(gs, gs0):
            assert_bitwise(g, gg, "grad after the step")
    b = [p.copy() for p in p0]
    opt = fl.SGD(b, lr=LR, momentum=0.9, weight_decay=0.01)
    for i, gs in enumerate(grads):
        if i == 0:
            opt.step([gs[0].tolist(), gs[1].tolist()])  # lists become the param's dtype
        else:
            opt.step((make_layout(gs[0], "transposed"), gs[1][::-1].copy()[::-1]))  # a tuple, strided
    for x, y in zip(a, b):
        assert_bitwise(x, y)


# ------------------------------------------------------------------ optimizer state
@dtypes
@combos
def test_state_dict_round_trip_continues_training(hyper: Dict[str, Any], dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=7, steps=8)
    full = [p.copy() for p in p0]
    _run_sgd(full, grads, **hyper)

    first = [p.copy() for p in p0]
    opt = _run_sgd(first, grads[:3], **hyper)
    sd = opt.state_dict()
    # torch's layout
    assert set(sd) == {"state", "param_groups"} and len(sd["param_groups"]) == 1
    group = sd["param_groups"][0]
    assert group["params"] == list(range(len(p0)))
    assert group["lr"] == LR and all(group[k] == v for k, v in hyper.items())
    assert set(sd["state"]) == (set(range(len(p0))) if hyper["momentum"] else set())
    saved = copy.deepcopy(sd)
    opt.step(grads[3])  # the saved state is a copy: later steps do not change it
    for i, s in saved["state"].items():
        assert_bitwise(sd["state"][i]["momentum_buffer"], s["momentum_buffer"], "state_dict after a step")

    resumed = [p.copy() for p in p0]  # the params after 3 steps, as a checkpoint would hold them
    _run_sgd(resumed, grads[:3], **hyper)
    opt2 = fl.SGD(resumed, lr=123.0)  # other hyper-parameters: load_state_dict restores them
    opt2.load_state_dict(saved)
    for g in grads[3:]:
        opt2.step(g)
    for i, (x, y) in enumerate(zip(resumed, full)):
        assert_bitwise(x, y, f"param {i}, resumed vs uninterrupted")
    # the loaded buffers are copies: changing the dict afterwards does nothing
    for s in saved["state"].values():
        s["momentum_buffer"][...] = 1e6
    assert all(np.all(b != 1e6) for b in opt2.momentum_buffers if b is not None)


@dtypes
def test_load_torch_state_dict(torch: Any, dtype: Any) -> None:
    """A torch SGD state (tensors converted with .numpy()) continues in fastloss like in torch."""
    hyper = dict(momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=True, maximize=False)
    p0, grads = _problem(dtype, seed=8)
    tparams = [torch.tensor(p, requires_grad=True) for p in p0]
    topt = torch.optim.SGD(tparams, lr=LR, **hyper)
    for step, g in enumerate(grads):
        if step == 3:
            tsd = topt.state_dict()
            sd = {
                "state": {i: {"momentum_buffer": s["momentum_buffer"].numpy().copy()} for i, s in tsd["state"].items()},
                "param_groups": copy.deepcopy(tsd["param_groups"]),
            }
            params = [t.detach().numpy().copy() for t in tparams]
            opt = fl.SGD(params, lr=1.0)
            opt.load_state_dict(sd)
        if step >= 3:
            opt.step(g)
        for t, gg in zip(tparams, g):
            t.grad = torch.tensor(gg)
        topt.step()
    _assert_params_close(params, [t.detach().numpy() for t in tparams], dtype, p0, "after loading torch's state:")


@dtypes
def test_zero_state_restarts_momentum(dtype: Any) -> None:
    hyper = dict(momentum=0.9, dampening=0.3, weight_decay=0.01)
    p0, grads = _problem(dtype, seed=9)
    params = [p.copy() for p in p0]
    opt = _run_sgd(params, grads[:3], **hyper)
    assert all(b is not None for b in opt.momentum_buffers)
    opt.zero_state()
    assert opt.state_dict()["state"] == {}
    after_reset = [p.copy() for p in params]
    opt.step(grads[3])
    fresh = [p.copy() for p in after_reset]
    fl.SGD(fresh, lr=LR, **hyper).step(grads[3])
    for x, y in zip(params, fresh):
        assert_bitwise(x, y, "first step after zero_state vs a fresh optimizer")
    # and it differs from continuing with the old buffers (the test can fail)
    cont = [p.copy() for p in p0]
    _run_sgd(cont, grads[:4], **hyper)
    assert any(not np.array_equal(x, y) for x, y in zip(params, cont))


def test_zero_state_without_momentum_changes_nothing() -> None:
    p0, grads = _problem(np.float64, seed=10)
    a, b = [p.copy() for p in p0], [p.copy() for p in p0]
    opt = fl.SGD(a, lr=LR, weight_decay=0.01)
    for g in grads:
        opt.step(g)
        opt.zero_state()
    _run_sgd(b, grads, weight_decay=0.01)
    for x, y in zip(a, b):
        assert_bitwise(x, y)


# ------------------------------------------------------------------ weight decay = L2
@dtypes
@pytest.mark.parametrize("hyper", [h for h in COMBOS if h["weight_decay"] and not h["maximize"]], ids=_combo_id)
def test_weight_decay_equals_l2_penalty_of_half(hyper: Dict[str, Any], dtype: Any) -> None:
    """SGD(weight_decay=wd) on grads g == SGD(weight_decay=0) on g + grad of l2_penalty(p, wd / 2)."""
    wd = hyper["weight_decay"]
    p0, grads = _problem(dtype, seed=11)
    a = [p.copy() for p in p0]
    _run_sgd(a, grads, **hyper)
    b = [p.copy() for p in p0]
    opt = fl.SGD(b, lr=LR, **dict(hyper, weight_decay=0.0))
    for g in grads:
        value, l2_grads = fl.l2_penalty(b, wd / 2, return_grad=True)
        assert value == pytest.approx(wd / 2 * sum(float(np.sum(p.astype(np.float64) ** 2)) for p in b), rel=1e-6)
        opt.step([gi + li for gi, li in zip(g, l2_grads)])
    _assert_params_close(a, b, dtype, p0, "wd vs l2_penalty(wd / 2):")
    # without the penalty the result is different (the test can fail)
    c = [p.copy() for p in p0]
    _run_sgd(c, grads, **dict(hyper, weight_decay=0.0))
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(a, c)) > 1e3 * RTOL[np.dtype(dtype)]


# ------------------------------------------------------------------ l2_penalty
@dtypes
def test_l2_penalty_single_array(dtype: Any) -> None:
    w = np.random.default_rng(12).standard_normal((7, 5)).astype(dtype)
    w0 = w.copy()
    value = fl.l2_penalty(w, 0.3)
    assert type(value) is np.dtype(dtype).type
    want, want_grads = ref.l2_penalty(w, 0.3)
    assert_close(value, want, dtype)
    value2, grad = fl.l2_penalty(w, 0.3, return_grad=True)
    assert type(value2) is np.dtype(dtype).type
    # as for the losses, the value may differ in the last bits with and without the gradient
    # (the two kernel loops may accumulate in different orders)
    assert_close(value2, value, dtype, rtol=16 * np.finfo(dtype).eps)
    assert isinstance(grad, np.ndarray) and grad.shape == w.shape and grad.dtype == dtype
    assert_close(grad, want_grads[0], dtype)
    assert not np.shares_memory(grad, w)
    assert_bitwise(w, w0, "params after l2_penalty")


@pytest.mark.parametrize("container", [list, tuple])
@dtypes
def test_l2_penalty_list_of_arrays(dtype: Any, container: type) -> None:
    rng = np.random.default_rng(13)
    params = container(np.asarray(rng.standard_normal(s)).astype(dtype) for s in SHAPES)
    value, grads = fl.l2_penalty(params, 0.05, return_grad=True)
    assert type(value) is np.dtype(dtype).type
    assert isinstance(grads, list) and len(grads) == len(params)
    want, want_grads = ref.l2_penalty(params, 0.05)
    assert_close(value, want, dtype)
    for g, w, p in zip(grads, want_grads, params):
        assert isinstance(g, np.ndarray) and g.shape == p.shape and g.dtype == dtype
        assert_close(g, w, dtype)
    assert_close(fl.l2_penalty(params, 0.05), value, dtype, rtol=16 * np.finfo(dtype).eps)
    # a one-element list still gives a list
    v1, g1 = fl.l2_penalty(container([params[0]]), 0.05, return_grad=True)
    assert isinstance(g1, list) and len(g1) == 1


@dtypes
def test_l2_penalty_vs_torch_autograd(torch: Any, dtype: Any) -> None:
    rng = np.random.default_rng(14)
    params = [np.asarray(rng.standard_normal(s)).astype(dtype) for s in SHAPES]
    lam = 0.37
    ts = [torch.tensor(p.astype(np.float64), requires_grad=True) for p in params]
    total = lam * sum((t**2).sum() for t in ts)
    total.backward()
    value, grads = fl.l2_penalty(params, lam, return_grad=True)
    assert_close(value, total.item(), dtype)
    for g, t in zip(grads, ts):
        assert_close(g, t.grad.numpy(), dtype)


def test_l2_penalty_edge_cases() -> None:
    w = np.array([1.0, -2.0, 3.0])
    assert fl.l2_penalty(w, 0.0) == 0
    _, g = fl.l2_penalty(w, 0.0, return_grad=True)
    assert np.all(g == 0)
    assert fl.l2_penalty(w, 0.5) == 7.0
    assert fl.l2_penalty([np.zeros((0, 3)), w], 0.5) == 7.0
    assert fl.l2_penalty(np.array(3.0), 2.0) == 18.0
    assert fl.l2_penalty([], 1.0) == 0
    # mixed float32 / float64 params accumulate and return float64
    v = fl.l2_penalty([w.astype(np.float32), w], 0.5)
    assert type(v) is np.float64 and v == 14.0


@pytest.mark.parametrize("layout", ["sliced", "transposed", "negative"])
@dtypes
def test_l2_penalty_non_contiguous_params(dtype: Any, layout: str) -> None:
    w = np.random.default_rng(15).standard_normal((40, 30)).astype(dtype)
    wv = make_layout(w, layout)
    want = fl.l2_penalty([w, w[0]], 0.25, return_grad=True)
    got = fl.l2_penalty([wv, wv[0]], 0.25, return_grad=True)
    assert_bitwise(got[0], want[0], "value")
    for g, gw in zip(got[1], want[1]):
        assert g.flags.c_contiguous
        assert_bitwise(g, gw, "grad")
    assert_bitwise(fl.l2_penalty(wv, 0.25), fl.l2_penalty(w, 0.25))


@dtypes
def test_l2_penalty_float32_accumulates_in_float64(dtype: Any) -> None:
    w = np.random.default_rng(16).uniform(-1, 1, 2 * 10**6).astype(dtype)
    got = float(fl.l2_penalty(w, 1.0))
    want = float(np.sum(w.astype(np.float64) ** 2))  # pairwise float64: ~1e-15 relative
    # float32 accumulation would be off by ~1e-4 here
    assert abs(got - want) <= (1e-7 if dtype == np.float32 else 1e-13) * want, (got, want)


@dtypes
def test_l2_penalty_bitwise_identical_for_every_thread_count(dtype: Any) -> None:
    rng = np.random.default_rng(17)
    params = [rng.standard_normal(10**6).astype(dtype), rng.standard_normal((300, 700)).astype(dtype)]
    want = fl.l2_penalty(params, 0.01, return_grad=True, n_threads=1)
    for n in (2, 3, None):
        got = fl.l2_penalty(params, 0.01, return_grad=True, n_threads=n)
        assert_bitwise(got[0], want[0], f"value, n_threads={n}")
        for g, w in zip(got[1], want[1]):
            assert_bitwise(g, w, f"grad, n_threads={n}")


# ------------------------------------------------------------------ threads
@dtypes
def test_sgd_bitwise_identical_for_every_thread_count(dtype: Any) -> None:
    hyper = dict(momentum=0.9, weight_decay=0.01, nesterov=True)
    p0, grads = _problem(dtype, seed=18, shapes=[(10**6,), (500, 300)], steps=3)
    results = []
    for n in (1, 2, None):
        params = [p.copy() for p in p0]
        opt = fl.SGD(params, lr=LR, n_threads=n, **hyper)
        for g in grads:
            opt.step(g)
        results.append(params)
    for n, res in zip((2, None), results[1:]):
        for i, (x, y) in enumerate(zip(res, results[0])):
            assert_bitwise(x, y, f"param {i}, n_threads={n}")
    # the functional form takes n_threads too
    params = [p.copy() for p in p0]
    bufs = None
    for g in grads:
        bufs = fl.sgd_step(params, g, LR, bufs, n_threads=2, **hyper)
    for x, y in zip(params, results[0]):
        assert_bitwise(x, y, "sgd_step, n_threads=2")


# ------------------------------------------------------------------ errors
_BAD_HYPER = [
    (dict(nesterov=True), ["nesterov", "momentum"]),
    (dict(nesterov=True, momentum=0.9, dampening=0.1), ["nesterov", "dampening"]),
    (dict(lr=-0.1), [r"\blr\b", r"-0\.1"]),
    (dict(momentum=-0.5), [r"\bmomentum\b", r"-0\.5"]),
    (dict(weight_decay=-0.01), [r"\bweight_decay\b", r"-0\.01"]),
]


@pytest.mark.parametrize("kw,pats", _BAD_HYPER, ids=[str(k) for k, _ in _BAD_HYPER])
def test_bad_hyper_parameters_are_value_errors(kw: Dict[str, Any], pats: List[str]) -> None:
    args = dict(dict(lr=0.1), **kw)
    lr = args.pop("lr")
    p = np.ones(3)
    with raises(ValueError, *pats):
        fl.SGD([p], lr, **args)
    with raises(ValueError, *pats):
        fl.sgd_step([p], [np.ones(3)], lr, **args)
    assert np.all(p == 1), "a rejected step must not touch the params"


def test_zero_lr_momentum_and_weight_decay_are_valid() -> None:
    p = np.array([1.0, 2.0])
    fl.SGD([p], lr=0.0, momentum=0.0, weight_decay=0.0).step([np.ones(2)])
    assert np.all(p == [1.0, 2.0])


@pytest.mark.parametrize(
    "dtypes_", [("float32", "float64"), ("float64", "float32"), ("float64", "int64"), ("float32", "float16")], ids=str
)
def test_grad_of_another_dtype_is_type_error(dtypes_: tuple) -> None:
    p_dt, g_dt = dtypes_
    p = np.ones((2, 3), p_dt)
    with raises(TypeError, r"\bgrad\b", p_dt, g_dt):
        fl.SGD([p], lr=0.1).step([np.ones((2, 3), g_dt)])
    with raises(TypeError, r"\bgrad\b", p_dt, g_dt):
        fl.sgd_step([p], [np.ones((2, 3), g_dt)], 0.1)
    assert np.all(p == 1)


@pytest.mark.parametrize("gshape", [(3, 2), (6,), (2, 3, 1), (1, 3), ()], ids=str)
def test_grad_of_another_shape_is_value_error(gshape: tuple) -> None:
    p = np.ones((2, 3))
    with raises(ValueError, r"\bgrad\b", shape_regex(gshape) if gshape else r"\(\)", shape_regex((2, 3))):
        fl.SGD([p], lr=0.1).step([np.ones(gshape)])
    with raises(ValueError, r"\bgrad\b"):
        fl.sgd_step([p], [np.ones(gshape)], 0.1, momentum=0.9)
    assert np.all(p == 1)


@pytest.mark.parametrize("kind", ["read-only", "strided", "fortran", "negative"])
def test_param_that_cannot_be_updated_in_place_is_value_error(kind: str) -> None:
    base = np.ones((4, 6))
    if kind == "read-only":
        p = base.copy()
        p.flags.writeable = False
        pat = r"read.?only|writeable"
    else:
        p = {"strided": base[:, ::2], "fortran": np.asfortranarray(base), "negative": base[::-1]}[kind]
        pat = "contiguous"
    with raises(ValueError, pat):
        fl.SGD([p], lr=0.1).step([np.ones(p.shape)])
    with raises(ValueError, pat):
        fl.sgd_step([p], [np.ones(p.shape)], 0.1, momentum=0.9)
    assert np.all(base == 1)


@pytest.mark.parametrize(
    "bad", [np.ones(3, np.int64), np.ones(3, np.bool_), np.ones(3, np.complex128)], ids=lambda a: str(a.dtype)
)
def test_param_of_a_non_float_dtype_is_type_error(bad: np.ndarray) -> None:
    with raises(TypeError, str(bad.dtype)):
        fl.SGD([bad], lr=0.1).step([np.ones(3)])
    with raises(TypeError, str(bad.dtype)):
        fl.l2_penalty(bad, 0.1)
    with raises(TypeError, str(bad.dtype)):
        fl.l2_penalty([np.ones(3), bad], 0.1, return_grad=True)


def test_param_that_is_not_an_array_is_value_error() -> None:
    with raises(ValueError, "param"):
        fl.SGD([[1.0, 2.0]], lr=0.1).step([np.ones(2)])


@pytest.mark.parametrize("n_grads", [0, 1, 3])
def test_number_of_grads_must_match_params(n_grads: int) -> None:
    params = [np.ones(3), np.ones(2)]
    grads = [np.ones(3), np.ones(2), np.ones(1)][:n_grads]
    with raises(ValueError, r"\bgrad", str(n_grads), "2"):
        fl.SGD(params, lr=0.1).step(grads)
    with raises(ValueError, r"\bgrad", str(n_grads)):
        fl.sgd_step(params, grads, 0.1)
    assert all(np.all(p == 1) for p in params)


def test_empty_params_is_value_error() -> None:
    with raises(ValueError, "params"):
        fl.SGD([], lr=0.1)


def test_bad_momentum_buffers_are_value_errors() -> None:
    params = [np.ones(3), np.ones(2)]
    grads = [np.ones(3), np.ones(2)]
    with raises(ValueError, "momentum", "1"):
        fl.sgd_step(params, grads, 0.1, [None], momentum=0.9)
    with raises(ValueError, "momentum_buffer", shape_regex((4,))):
        fl.sgd_step(params, grads, 0.1, [np.zeros(4), None], momentum=0.9)
    with raises(ValueError, "momentum_buffer", "float32"):
        fl.sgd_step(params, grads, 0.1, [np.zeros(3, np.float32), None], momentum=0.9)
    with raises(ValueError, "momentum_buffer", "contiguous"):
        fl.sgd_step(params, grads, 0.1, [np.zeros(6)[::2], None], momentum=0.9)


def test_load_state_dict_errors() -> None:
    params = [np.ones(3), np.ones((2, 2))]
    opt = fl.SGD(params, lr=0.1, momentum=0.9)
    opt.step([np.ones(3), np.ones((2, 2))])
    sd = opt.state_dict()
    with raises(ValueError, "param"):
        fl.SGD([np.ones(3)], lr=0.1, momentum=0.9).load_state_dict(sd)
    bad = copy.deepcopy(sd)
    bad["state"][1]["momentum_buffer"] = np.zeros(4)
    with raises(ValueError, "momentum", shape_regex((4,))):
        fl.SGD([np.ones(3), np.ones((2, 2))], lr=0.1, momentum=0.9).load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["state"][0]["momentum_buffer"] = np.zeros(3, np.float32)
    with raises(ValueError, "momentum", "float32"):
        fl.SGD([np.ones(3), np.ones((2, 2))], lr=0.1, momentum=0.9).load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["lr"] = -1.0
    with raises(ValueError, r"\blr\b"):
        fl.SGD([np.ones(3), np.ones((2, 2))], lr=0.1, momentum=0.9).load_state_dict(bad)


@pytest.mark.parametrize(
    "bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError)], ids=repr
)
def test_bad_n_threads(bad: Any, error: Any) -> None:
    with raises(error, "n_threads"):
        fl.l2_penalty(np.ones(3), 0.1, n_threads=bad)
    with raises(error, "n_threads"):
        fl.sgd_step([np.ones(3)], [np.ones(3)], 0.1, n_threads=bad)
    with raises(error, "n_threads"):
        fl.SGD([np.ones(3)], lr=0.1, n_threads=bad).step([np.ones(3)])


def test_a_rejected_step_leaves_the_optimizer_state_unchanged() -> None:
    p = np.array([1.0, 2.0])
    opt = fl.SGD([p], lr=0.1, momentum=0.9)
    with raises(ValueError, r"\bgrad\b"):
        opt.step([np.ones(3)])
    assert opt.momentum_buffers == [None], "the failed step registered a momentum buffer"
    opt.step([np.ones(2)])
    np.testing.assert_array_equal(p, [0.9, 1.9])


def test_a_bad_grad_anywhere_updates_no_param() -> None:
    """A step is all or nothing: a bad grad for the last param leaves the first one as it was."""
    a, b = np.array([1.0, 2.0]), np.array([3.0])
    opt = fl.SGD([a, b], lr=0.1, momentum=0.9)
    with raises(ValueError, r"\bgrad\b"):
        opt.step([np.ones(2), np.ones(2)])
    np.testing.assert_array_equal(a, [1.0, 2.0])
    assert opt.momentum_buffers == [None, None]


# ============================================================================ param groups
#: torch-style param groups over the 5 params of GROUP_SHAPES: (param indices, the group's own
#: options); what a group does not set comes from GROUP_CTOR. Every option differs somewhere.
GROUP_SHAPES = [(3, 4), (5,), (2, 3, 2), (), (4,)]
GROUP_CTOR: Dict[str, Any] = dict(lr=0.1, momentum=0.9, weight_decay=0.02)
GROUP_SPECS: List[Tuple[List[int], Dict[str, Any]]] = [
    ([0, 1], dict(lr=0.05, nesterov=True, weight_decay=0.01)),
    ([2], dict(lr=0.2, momentum=0.5, dampening=0.3, maximize=True)),
    ([3], dict()),  # all from the constructor
    ([4], dict(momentum=0.0, weight_decay=0.0, maximize=True)),
]


def _groups(
    params: Sequence[Any], specs: Sequence[Tuple[List[int], Dict[str, Any]]] = GROUP_SPECS
) -> List[Dict[str, Any]]:
    """The param-group dicts of ``specs`` over ``params`` (fresh dicts: torch adds keys to its own)."""
    return [dict(opts, params=[params[i] for i in idx]) for idx, opts in specs]


def _torch_grads(tparams: Sequence[Any], grads: Sequence[Optional[np.ndarray]], torch: Any) -> None:
    for t, g in zip(tparams, grads):
        t.grad = None if g is None else torch.tensor(g)


def _assert_buffers_close(opt: fl.SGD, topt: Any, tparams: Sequence[Any], dtype: Any) -> None:
    """fastloss has a momentum buffer exactly where torch has one, and it is close to torch's."""
    for i, t in enumerate(tparams):
        tbuf = topt.state[t].get("momentum_buffer") if t in topt.state else None
        buf = opt.momentum_buffers[i]
        assert (buf is None) == (tbuf is None), f"momentum buffer {i}: fastloss {buf}, torch {tbuf}"
        if tbuf is not None:
            tb = tbuf.numpy()
            assert_close(
                buf,
                tb,
                dtype,
                rtol=RTOL[np.dtype(dtype)],
                floor=float(np.max(np.abs(tb))) + 1.0,
                what=f"momentum buffer {i}",
            )


@dtypes
def test_param_groups_match_torch_with_an_lr_change_between_steps(torch: Any, dtype: Any) -> None:
    """Per-group lr / momentum / dampening / weight_decay / nesterov / maximize, and a schedule that
    changes lr and weight_decay through param_groups between steps, as torch's schedulers do."""
    p0, grads = _problem(dtype, seed=20, shapes=GROUP_SHAPES, steps=STEPS)
    params = [p.copy() for p in p0]
    opt = fl.SGD(_groups(params), **GROUP_CTOR)
    tparams = [torch.tensor(p, requires_grad=True) for p in p0]
    topt = torch.optim.SGD(_groups(tparams), **GROUP_CTOR)
    for step, g in enumerate(grads):
        if step == 3:
            for o in (opt, topt):
                o.param_groups[0]["lr"] = 0.01
                o.param_groups[2]["lr"] *= 0.5
                o.param_groups[3]["weight_decay"] = 0.1
        opt.step(g)
        _torch_grads(tparams, g, torch)
        topt.step()
        _assert_params_close(params, [t.detach().numpy() for t in tparams], dtype, p0, f"step {step}:")
        _assert_buffers_close(opt, topt, tparams, dtype)


@dtypes
def test_param_groups_equal_one_optimizer_per_group(dtype: Any) -> None:
    """Bitwise: one optimizer with groups == one single-group optimizer per group, each run on its
    params (the groups share nothing but the step call)."""
    p0, grads = _problem(dtype, seed=21, shapes=GROUP_SHAPES)
    params = [p.copy() for p in p0]
    opt = fl.SGD(_groups(params), **GROUP_CTOR)
    alone = [p.copy() for p in p0]
    opts = [fl.SGD([alone[i] for i in idx], **dict(GROUP_CTOR, **o)) for idx, o in GROUP_SPECS]
    for g in grads:
        opt.step(g)
        for o, (idx, _) in zip(opts, GROUP_SPECS):
            o.step([g[i] for i in idx])
    for i, (x, y) in enumerate(zip(params, alone)):
        assert_bitwise(x, y, f"param {i}")


def test_param_groups_take_the_constructors_defaults() -> None:
    a, b, c = np.ones(2), np.ones(3), np.ones(1)
    opt = fl.SGD([{"params": [a, b], "lr": 0.5}, {"params": c, "nesterov": True}], lr=0.1, momentum=0.9)
    assert opt.defaults == dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)
    g0, g1 = opt.param_groups
    assert g0 == dict(
        params=[a, b], lr=0.5, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False
    )
    assert g1["params"] == [c] and g1["params"][0] is c, "a single array in a group is a group of one"
    assert g1["lr"] == 0.1 and g1["nesterov"] is True
    assert [id(p) for p in opt.params] == [id(a), id(b), id(c)], "global indices: the groups in order"
    assert len(opt.momentum_buffers) == 3
    # a plain list is one group with the constructor's options
    opt = fl.SGD((p for p in [a, b]), lr=0.2)  # any iterable, as torch's model.parameters()
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["params"] == [a, b]
    assert opt.param_groups[0]["lr"] == 0.2
    assert "2 groups" in repr(fl.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}]))


def test_default_lr_is_torchs() -> None:
    """No lr anywhere: torch 2.x's default, 1e-3 (lr was a required argument before)."""
    import inspect

    assert fl.SGD([np.ones(2)]).param_groups[0]["lr"] == 1e-3
    assert inspect.signature(fl.SGD).parameters["lr"].default == 1e-3
    torch = pytest.importorskip("torch")
    assert inspect.signature(torch.optim.SGD).parameters["lr"].default == 1e-3


def test_a_groups_dict_is_copied_not_kept() -> None:
    a = np.ones(2)
    spec: Dict[str, Any] = {"params": [a], "lr": 0.5}
    opt = fl.SGD([spec])
    assert spec == {"params": [a], "lr": 0.5}, "the caller's dict is not modified"
    spec["lr"] = 100.0  # changes nothing: the optimizer's own dict is opt.param_groups[0]
    opt.step([np.ones(2)])
    np.testing.assert_array_equal(a, [0.5, 0.5])


@dtypes
def test_add_param_group_matches_torch(torch: Any, dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=22, shapes=GROUP_SHAPES, steps=STEPS)
    params = [p.copy() for p in p0]
    tparams = [torch.tensor(p, requires_grad=True) for p in p0]
    opt = fl.SGD(params[:2], lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(tparams[:2], lr=0.05, momentum=0.9)
    for step, g in enumerate(grads):
        if step == 2:  # unfreeze params 2-3 with their own options, then param 4 with the defaults
            opt.add_param_group({"params": params[2:4], "lr": 0.2, "nesterov": True, "weight_decay": 0.01})
            topt.add_param_group({"params": tparams[2:4], "lr": 0.2, "nesterov": True, "weight_decay": 0.01})
            opt.add_param_group({"params": params[4]})
            topt.add_param_group({"params": tparams[4]})
        n = len(opt.params)
        opt.step(g[:n])
        _torch_grads(tparams[:n], g[:n], torch)
        topt.step()
        _assert_params_close(params, [t.detach().numpy() for t in tparams], dtype, p0, f"step {step}:")
        _assert_buffers_close(opt, topt, tparams[:n], dtype)
    assert [g["params"] for g in opt.state_dict()["param_groups"]] == [[0, 1], [2, 3], [4]]
    assert opt.param_groups[2]["lr"] == 0.05 and opt.param_groups[2]["momentum"] == 0.9


def test_add_param_group_errors() -> None:
    a, b = np.ones(2), np.ones(3)
    opt = fl.SGD([a], lr=0.1, momentum=0.9)
    with raises(ValueError, "more than one parameter group"):
        opt.add_param_group({"params": [b, a]})
    with raises(ValueError, "unknown key", "'betas'"):
        opt.add_param_group({"params": [b], "betas": (0.9, 0.99)})
    with raises(ValueError, "param group 1", r"\blr\b", "-1"):
        opt.add_param_group({"params": [b], "lr": -1.0})
    with raises(TypeError, "dict"):
        opt.add_param_group([b])  # type: ignore[arg-type]
    with raises(ValueError, "'params'"):
        opt.add_param_group({"lr": 0.1})
    with raises(TypeError, "float32, float64"):
        opt.add_param_group({"params": [np.ones(3, np.int64)]})
    assert len(opt.param_groups) == 1 and len(opt.momentum_buffers) == 1, "a refused group is not added"


# ------------------------------------------------------------------ construction errors
def test_a_bare_array_is_refused_at_construction() -> None:
    with raises(TypeError, r"\bparams\b", "iterable of arrays or dicts", "ndarray"):
        fl.SGD(np.ones(3), lr=0.1)
    with raises(TypeError, r"\bparams\b", "dict", "list"):
        fl.SGD({"params": [np.ones(3)]}, lr=0.1)  # type: ignore[arg-type]
    with raises(TypeError, r"\bparams\b"):
        fl.SGD(3.0, lr=0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("params", [[], (), iter([])], ids=["list", "tuple", "iterator"])
def test_empty_params_is_refused_at_construction(params: Any) -> None:
    with raises(ValueError, r"\bparams\b", "empty"):
        fl.SGD(params, lr=0.1)


def test_an_empty_group_is_allowed_as_in_torch() -> None:
    a = np.ones(2)
    opt = fl.SGD([{"params": [a]}, {"params": []}], lr=0.5)
    opt.step([np.ones(2)])
    np.testing.assert_array_equal(a, [0.5, 0.5])
    assert [g["params"] for g in opt.state_dict()["param_groups"]] == [[0], []]


def test_the_same_array_twice_is_refused() -> None:
    a, b = np.ones(2), np.ones(3)
    with raises(ValueError, "some parameters appear in more than one parameter group"):
        fl.SGD([{"params": [a, b]}, {"params": [a]}], lr=0.1)
    with raises(ValueError, "twice"):  # torch warns; an array in place would be stepped twice
        fl.SGD([a, b, a], lr=0.1)


@pytest.mark.parametrize("key", ["betas", "param", "n_threads"])
def test_an_unknown_group_key_is_refused(key: str) -> None:
    with raises(ValueError, "param group 1", "unknown key", repr(key)):
        fl.SGD([{"params": [np.ones(2)]}, {"params": [np.ones(3)], key: 1}], lr=0.1)


@pytest.mark.parametrize("kw,pats", _BAD_HYPER, ids=[str(k) for k, _ in _BAD_HYPER])
def test_a_bad_group_hyper_parameter_names_the_group(kw: Dict[str, Any], pats: List[str]) -> None:
    with raises(ValueError, "param group 1", *pats):
        fl.SGD([{"params": [np.ones(2)]}, dict(kw, params=[np.ones(3)])], lr=0.1)


@pytest.mark.parametrize(
    "kw",
    [
        dict(lr="0.1"),
        dict(momentum=None),
        dict(weight_decay=np.ones(1)),
        dict(nesterov="False"),
        dict(maximize=1.0),
        dict(maximize=None),
    ],
    ids=str,
)
def test_a_hyper_parameter_of_the_wrong_type_is_type_error(kw: Dict[str, Any]) -> None:
    ((name, _),) = kw.items()
    with raises(TypeError, "param group 0", name):
        fl.SGD([dict(kw, params=[np.ones(2)])])
    with raises(TypeError, name):
        fl.SGD([np.ones(2)], **kw)


def test_hyper_parameters_may_be_numpy_numbers_and_int_flags() -> None:
    a, b = np.array([1.0, 2.0]), np.array([1.0, 2.0])
    fl.SGD(
        [a], lr=np.float64(0.1), momentum=np.array(0.9), weight_decay=np.float32(0.5), nesterov=np.True_, maximize=0
    ).step([np.ones(2)])
    fl.SGD([b], lr=0.1, momentum=0.9, weight_decay=0.5, nesterov=True, maximize=False).step([np.ones(2)])
    assert_bitwise(a, b)


def test_arrays_and_groups_cannot_be_mixed() -> None:
    with raises(TypeError, "params", "dict"):
        fl.SGD([np.ones(2), {"params": [np.ones(3)]}], lr=0.1)
    with raises(TypeError, "params", "dict"):
        fl.SGD([{"params": [np.ones(3)]}, np.ones(2)], lr=0.1)


def test_params_are_checked_at_construction() -> None:
    """A param that can never be updated in place is refused before the first step."""
    with raises(ValueError, r"params\[2\]", "contiguous"):
        fl.SGD([{"params": [np.ones(2)]}, {"params": [np.ones(2), np.ones((3, 4))[:, ::2]]}], lr=0.1)
    with raises(TypeError, r"params\[0\]", "int64"):
        fl.SGD([np.ones(3, np.int64)], lr=0.1)


# ------------------------------------------------------------------ step(grads)
@dtypes
def test_dict_grads_and_none_entries_skip_params_like_torch(torch: Any, dtype: Any) -> None:
    """A param without a grad (None in the list, absent from the dict) is not updated and its
    momentum buffer is untouched, as a torch param whose .grad is None."""
    p0, grads = _problem(dtype, seed=23, shapes=GROUP_SHAPES, steps=STEPS)
    params = [p.copy() for p in p0]
    opt = fl.SGD(_groups(params), **GROUP_CTOR)
    tparams = [torch.tensor(p, requires_grad=True) for p in p0]
    topt = torch.optim.SGD(_groups(tparams), **GROUP_CTOR)
    skipped = [{1, 3}, set(), {0, 2}, {1}, {4}, {0, 1, 2, 3, 4}]  # global indices without a grad, per step
    for step, (g, skip) in enumerate(zip(grads, skipped)):
        before = [p.copy() for p in params]
        buffers = [None if b is None else b.copy() for b in opt.momentum_buffers]
        kept = [None if i in skip else gi for i, gi in enumerate(g)]
        if step % 2:
            opt.step({i: gi for i, gi in enumerate(g) if i not in skip})
        else:
            opt.step(kept)
        _torch_grads(tparams, kept, torch)
        topt.step()
        for i in skip:
            assert_bitwise(params[i], before[i], f"step {step}: skipped param {i}")
            if buffers[i] is None:
                assert opt.momentum_buffers[i] is None, f"step {step}: a buffer appeared for skipped param {i}"
            else:
                assert_bitwise(opt.momentum_buffers[i], buffers[i], f"step {step}: buffer of skipped param {i}")
        _assert_params_close(params, [t.detach().numpy() for t in tparams], dtype, p0, f"step {step}:")
        _assert_buffers_close(opt, topt, tparams, dtype)


def test_dict_grads_equal_list_grads() -> None:
    p0, grads = _problem(np.float64, seed=24, shapes=GROUP_SHAPES)
    a, b = [p.copy() for p in p0], [p.copy() for p in p0]
    opt_a, opt_b = fl.SGD(_groups(a), **GROUP_CTOR), fl.SGD(_groups(b), **GROUP_CTOR)
    for g in grads:
        opt_a.step(g)
        opt_b.step(dict(reversed(list(enumerate(g)))))  # any key order; NumPy integer keys work too
    opt_a.step(grads[0])
    opt_b.step({np.int64(i): g for i, g in enumerate(grads[0])})
    for i, (x, y) in enumerate(zip(a, b)):
        assert_bitwise(x, y, f"param {i}")


def test_sgd_step_function_skips_a_none_grad() -> None:
    a, b = np.array([1.0, 2.0]), np.array([3.0])
    buffers = fl.sgd_step([a, b], [np.ones(2), None], 0.1, momentum=0.9)
    np.testing.assert_array_equal(a, [0.9, 1.9])
    np.testing.assert_array_equal(b, [3.0])
    assert buffers[0] is not None and buffers[1] is None


@pytest.mark.parametrize("n_grads", [0, 4, 6])
def test_a_grad_count_error_names_both_counts(n_grads: int) -> None:
    params = [np.ones(2) for _ in range(5)]
    opt = fl.SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
    with raises(ValueError, r"\b5 params\b", rf"\b{n_grads} grads\b"):
        opt.step([np.ones(2)] * n_grads)
    assert all(np.all(p == 1) for p in params)


def test_a_grad_shape_or_dtype_error_names_the_position() -> None:
    params = [np.ones((2, 2)), np.ones(3), np.ones(1), np.ones((5, 2)), np.ones(4, np.float32)]
    opt = fl.SGD([{"params": params[:2]}, {"params": params[2:], "momentum": 0.9}], lr=0.1)
    grads: List[Any] = [np.ones(p.shape, p.dtype) for p in params]
    grads[3] = np.ones((2, 5))
    with raises(ValueError, r"grads\[3\] has shape \(2, 5\) but params\[3\] has shape \(5, 2\)"):
        opt.step(grads)
    with raises(ValueError, r"grads\[3\] has shape \(2, 5\) but params\[3\] has shape \(5, 2\)"):
        opt.step({0: grads[0], 3: grads[3]})
    grads[3] = np.ones((5, 2))
    grads[4] = np.ones(4)
    with raises(TypeError, r"grads\[4\] has dtype float64 but params\[4\] has dtype float32"):
        opt.step(grads)
    assert all(np.all(p == 1) for p in params)
    assert opt.momentum_buffers == [None] * 5


@pytest.mark.parametrize(
    "key, error", [(5, IndexError), (-1, IndexError), ("0", TypeError), (True, TypeError), (1.0, TypeError)], ids=repr
)
def test_a_bad_grads_dict_key(key: Any, error: type) -> None:
    params = [np.ones(2) for _ in range(5)]
    opt = fl.SGD(params, lr=0.1)
    with raises(error, re.escape(repr(key)) if error is TypeError else rf"params\[{key}\]", "5|int"):
        opt.step({0: np.ones(2), key: np.ones(2)})
    assert all(np.all(p == 1) for p in params)


@pytest.mark.parametrize("grads", [np.ones(3), np.ones((1, 3)), "abc", 1.0, iter([np.ones(3)])], ids=repr)
def test_grads_of_another_kind_are_type_errors(grads: Any) -> None:
    p = np.ones(3)
    with raises(TypeError, "grads", "list or tuple", "dict"):
        fl.SGD([p], lr=0.1).step(grads)
    assert np.all(p == 1)


# ------------------------------------------------------------------ all or nothing
def _two_group_optimizer() -> Tuple[fl.SGD, List[np.ndarray], List[np.ndarray]]:
    """An optimizer over 2 groups, one step done (so it has momentum buffers), and good grads."""
    params = [np.arange(4.0), np.arange(3.0), np.arange(2.0)]
    opt = fl.SGD(
        [{"params": params[:1], "momentum": 0.9}, {"params": params[1:], "lr": 0.5}],
        lr=0.1,
        momentum=0.5,
        weight_decay=0.01,
    )
    grads = [np.ones(4), np.ones(3), np.ones(2)]
    opt.step(grads)
    return opt, params, grads


def _assert_unchanged(
    opt: fl.SGD, params: List[np.ndarray], before: List[np.ndarray], buffers: List[Optional[np.ndarray]]
) -> None:
    for i, (p, b) in enumerate(zip(params, before)):
        assert_bitwise(p, b, f"param {i} after a refused step")
    for i, (m, b) in enumerate(zip(opt.momentum_buffers, buffers)):
        assert m is not None and b is not None
        assert_bitwise(m, b, f"momentum buffer {i} after a refused step")


@pytest.mark.parametrize("trouble", ["shape", "dtype", "read-only param", "alias"])
def test_a_bad_grad_in_a_later_group_updates_nothing(trouble: str) -> None:
    opt, params, grads = _two_group_optimizer()
    before = [p.copy() for p in params]
    buffers = [None if b is None else b.copy() for b in opt.momentum_buffers]
    bad = list(grads)
    if trouble == "shape":
        bad[2] = np.ones(3)
    elif trouble == "dtype":
        bad[2] = np.ones(2, np.float32)
    elif trouble == "read-only param":
        params[2].flags.writeable = False
    else:
        bad[2] = params[2]  # the grad is the param it updates
    with raises(TypeError if trouble == "dtype" else ValueError, r"params\[2\]"):
        opt.step(bad)
    _assert_unchanged(opt, params, before, buffers)
    params[2].flags.writeable = True
    opt.step(grads)  # and the optimizer still works
    assert not np.array_equal(params[0], before[0])


def test_a_bad_hyper_parameter_in_a_later_group_updates_nothing() -> None:
    opt, params, grads = _two_group_optimizer()
    before = [p.copy() for p in params]
    buffers = [None if b is None else b.copy() for b in opt.momentum_buffers]
    opt.param_groups[1]["lr"] = -0.5
    with raises(ValueError, "param group 1", r"\blr\b", r"-0\.5"):
        opt.step(grads)
    opt.param_groups[1]["lr"] = "0.5"
    with raises(TypeError, "param group 1", r"\blr\b"):
        opt.step(grads)
    opt.param_groups[1]["lr"] = 0.5
    opt.param_groups[1]["nesterov"] = True
    opt.param_groups[1]["dampening"] = 0.1
    with raises(ValueError, "param group 1", "nesterov"):
        opt.step(grads)
    _assert_unchanged(opt, params, before, buffers)


def test_params_sharing_memory_across_groups_are_refused_at_the_step() -> None:
    store = np.ones(6)
    a, b = store[:4], store[2:]
    opt = fl.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with raises(ValueError, r"params\[0\]", r"params\[1\]"):
        opt.step([np.ones(4), np.ones(4)])
    assert np.all(store == 1)
    opt.step([np.ones(4), None])  # without b's update there is nothing to collide with
    np.testing.assert_array_equal(store, [0.9] * 4 + [1.0] * 2)


def test_a_group_params_list_edited_in_place_is_refused() -> None:
    a, b = np.ones(2), np.ones(3)
    opt = fl.SGD([a], lr=0.1)
    opt.param_groups[0]["params"].append(b)
    with raises(ValueError, "param group 0", "add_param_group"):
        opt.step([np.ones(2), np.ones(3)])
    assert np.all(a == 1) and np.all(b == 1)


# ------------------------------------------------------------------ state_dict with groups
@dtypes
def test_state_dict_round_trip_with_groups_continues_identically(dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=25, shapes=GROUP_SHAPES, steps=8)
    full = [p.copy() for p in p0]
    opt = fl.SGD(_groups(full), **GROUP_CTOR)
    sd = None
    for step, g in enumerate(grads):
        if step == 2:
            opt.param_groups[1]["lr"] = 0.02  # a schedule's change is part of the state
        if step == 3:
            sd = copy.deepcopy(opt.state_dict())
            checkpoint = [p.copy() for p in full]
        opt.step(g)
    assert sd is not None
    # torch's layout: params numbered across the groups, buffers keyed by that index
    assert [grp["params"] for grp in sd["param_groups"]] == [idx for idx, _ in GROUP_SPECS]
    assert set(sd["state"]) == {0, 1, 2, 3}, "param 4's group has no momentum"
    defaults = fl.SGD([np.ones(1)], **GROUP_CTOR).defaults
    for k, (grp, (_, opts)) in enumerate(zip(sd["param_groups"], GROUP_SPECS)):
        want = {**defaults, **opts, **({"lr": 0.02} if k == 1 else {})}  # the schedule changed group 1's lr
        assert {key: grp[key] for key in want} == want, f"param group {k}"
    # a fresh optimizer with other hyper-parameters, loaded from the state, continues identically
    resumed = [p.copy() for p in checkpoint]
    other = [([0, 1], dict(lr=9.0)), ([2], dict(momentum=0.1)), ([3], dict(nesterov=True)), ([4], dict())]
    opt2 = fl.SGD(_groups(resumed, other), lr=3.0, momentum=0.7)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == 0.02 and opt2.param_groups[0]["nesterov"] is True
    for g in grads[3:]:
        opt2.step(g)
    for i, (x, y) in enumerate(zip(resumed, full)):
        assert_bitwise(x, y, f"param {i}, resumed vs uninterrupted")


def test_load_state_dict_checks_the_groups() -> None:
    a, b, c = np.ones(2), np.ones(3), np.ones(1)
    opt = fl.SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    opt.step([np.ones(2), np.ones(3), np.ones(1)])
    sd = opt.state_dict()
    with raises(ValueError, "number of parameter groups", r"\b2\b", r"\b1\b"):
        fl.SGD([a, b, c], lr=0.1).load_state_dict(sd)
    with raises(ValueError, "size", "param group 0", r"\b2\b", r"\b1\b"):
        fl.SGD([{"params": [a]}, {"params": [b, c]}], lr=0.1).load_state_dict(sd)
    bad = copy.deepcopy(sd)
    bad["state"][7] = {"momentum_buffer": np.zeros(2)}
    with raises(ValueError, "7"):
        fl.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1).load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["param_groups"][1]["momentum"] = -1.0
    fresh = fl.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1)
    with raises(ValueError, "param group 1", "momentum"):
        fresh.load_state_dict(bad)
    bad = copy.deepcopy(sd)
    bad["state"][2]["momentum_buffer"] = np.zeros(3)
    with raises(ValueError, "momentum buffer", shape_regex((3,))):
        fresh.load_state_dict(bad)
    # nothing was loaded by the refused calls
    assert [g["lr"] for g in fresh.param_groups] == [0.1, 0.1]
    assert fresh.momentum_buffers == [None] * 3


def test_load_state_dict_keeps_the_group_dicts_and_extra_keys() -> None:
    """Torch's groups carry more keys (foreach, fused, initial_lr from a scheduler): they are kept,
    as torch does; the group dicts stay the same objects."""
    a = np.ones(2)
    opt = fl.SGD([a], lr=0.1)
    group = opt.param_groups[0]
    sd = opt.state_dict()
    sd["param_groups"][0].update(lr=0.3, foreach=None, initial_lr=0.1)
    opt.load_state_dict(sd)
    assert opt.param_groups[0] is group and group["params"][0] is a
    assert group["lr"] == 0.3 and group["initial_lr"] == 0.1 and "foreach" in group
    assert opt.state_dict()["param_groups"][0]["initial_lr"] == 0.1
    opt.step([np.ones(2)])  # extra keys do not disturb a step
    np.testing.assert_allclose(a, [0.7, 0.7], rtol=1e-15)


@dtypes
def test_load_torch_state_dict_with_groups(torch: Any, dtype: Any) -> None:
    p0, grads = _problem(dtype, seed=26, shapes=GROUP_SHAPES)
    tparams = [torch.tensor(p, requires_grad=True) for p in p0]
    topt = torch.optim.SGD(_groups(tparams), **GROUP_CTOR)
    for step, g in enumerate(grads):
        if step == 3:
            tsd = topt.state_dict()
            sd = {
                "state": {i: {"momentum_buffer": s["momentum_buffer"].numpy().copy()} for i, s in tsd["state"].items()},
                "param_groups": copy.deepcopy(tsd["param_groups"]),
            }
            params = [t.detach().numpy().copy() for t in tparams]
            opt = fl.SGD(_groups(params), lr=1.0, momentum=0.1)  # other options: loading restores torch's
            opt.load_state_dict(sd)
        if step >= 3:
            opt.step(g)
        _torch_grads(tparams, g, torch)
        topt.step()
    _assert_params_close(params, [t.detach().numpy() for t in tparams], dtype, p0, "after loading torch's state:")


# ------------------------------------------------------------------ types and docs
def test_precise_types_under_mypy_strict(tmp_path: Any, monkeypatch: Any) -> None:
    """What a user writes type-checks under mypy --strict without casts, with the documented types."""
    if os.environ.get("FASTLOSS_SIMD"):
        pytest.skip("the types do not depend on the ISA level: checked in the run at the default level")
    api = pytest.importorskip("mypy.api")
    src = tmp_path / "user.py"
    src.write_text(
        textwrap.dedent("""
        from typing import Any, Dict, List, Optional
        import numpy as np
        import fastloss as fl

        w1, w2 = np.ones(3), np.ones((2, 2), np.float32)
        loss, grads = fl.l2_penalty([w1, w2], 0.1, return_grad=True)
        print(grads[0].shape, loss + 1.0)
        value, grad = fl.l2_penalty(w1, 0.1, return_grad=True)
        print(grad.shape)
        reveal_type(fl.l2_penalty(w1, 0.1))
        reveal_type(fl.l2_penalty((w1, w2), 0.1, return_grad=True))
        reveal_type(fl.sgd_step([w1], [np.ones(3)], 0.1))
        opt = fl.SGD([{"params": [w1], "lr": 0.1}, {"params": w2}], momentum=0.9)
        reveal_type(opt.step([None, np.ones((2, 2))]))
        opt.step({0: np.ones(3)})
        opt.param_groups[0]["lr"] = 0.01
        reveal_type(opt.param_groups)
        sd: Dict[str, Any] = opt.state_dict()
        opt.load_state_dict(sd)
        fl.SGD([w1, w2]).add_param_group({"params": [np.ones(2)], "lr": 0.5})
    """)
    )
    monkeypatch.chdir(tmp_path)  # not the checkout: fastloss is the installed package
    out, err, status = api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(src)])
    assert status == 0 and "error:" not in out, out + err  # reveal_type's notes only
    revealed = re.findall(r'Revealed type is "(.*)"', out)
    assert len(revealed) == 5, out
    assert revealed[0] == "numpy.floating[Any]", out
    assert re.fullmatch(r"tuple\[numpy\.floating\[Any\], list\[numpy\.ndarray\[.*floating.*\]\]", revealed[1]), out
    assert revealed[2].startswith("list[") and "ndarray" in revealed[2] and "None" in revealed[2], out
    assert revealed[3] == "None", out
    assert revealed[4].replace("builtins.", "") == "list[dict[str, Any]]", out


def _documented_params(doc: str) -> List[str]:
    """The names of the ``name : type`` lines of a NumPy-style docstring's Parameters section."""
    section = re.search(r"Parameters\n\s*-+\n(.*?)(?:\n\s*\n\s*[A-Z][a-z]+\n\s*-+\n|\Z)", doc, re.S)
    return re.findall(r"^\s*(\w+) : ", section.group(1), re.M) if section else []


@pytest.mark.parametrize(
    "obj",
    [
        fl.l2_penalty,
        fl.sgd_step,
        fl.SGD,
        fl.SGD.step,
        fl.SGD.add_param_group,
        fl.SGD.load_state_dict,
        fl.SGD.state_dict,
        fl.SGD.zero_state,
    ],
    ids=lambda o: o.__qualname__,
)
def test_every_parameter_is_documented(obj: Any) -> None:
    import inspect

    doc = inspect.getdoc(obj)
    assert doc and "Returns\n-------" in doc or obj is fl.SGD, f"{obj.__qualname__}: no Returns section"
    names = [n for n in inspect.signature(obj).parameters if n != "self"]
    assert _documented_params(doc) == names, f"{obj.__qualname__}: documented {_documented_params(doc)}, has {names}"
