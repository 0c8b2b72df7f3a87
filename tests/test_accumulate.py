"""fastloss.LossAccumulator (fastloss.accumulate): every loss of the spec table with every reduction
that gives one number, split into uneven batches (an empty one included), against one call on all
of them (bitwise in float32, 1e-12 relative in float64); merges in any grouping and order bitwise
identical; the exact sum itself; state_dict (strict JSON) / load_state_dict / pickle round trips,
also through another process; the errors; and the runnable recipes of docs/accumulate_dask.md
that need no dask.

The valid-input makers here (:data:`CASES`, :func:`make`) serve tests/test_dask.py too."""

from __future__ import annotations

import itertools
import json
import math
import os
import pickle
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Sequence, Tuple

import fastloss as fl
import numpy as np
import pytest
from fastloss import _spec
from fastloss.accumulate import ExactSum, LossAccumulator, Partial
from registry import assert_bitwise

DTYPES = (np.float32, np.float64)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "accumulate_dask.md")


# ------------------------------------------------------------------------------ inputs
@dataclass
class Data:
    """One loss call's arguments: ``arrays`` (positional), ``options`` (fixed for every batch) and
    ``per_call`` (split with the batch: lengths, per-sample weights). ``fixed`` names the arrays
    that do not split along axis 0 (a broadcast var)."""

    arrays: List[np.ndarray]
    options: Dict[str, Any] = field(default_factory=dict)
    per_call: Dict[str, Any] = field(default_factory=dict)
    fixed: Tuple[int, ...] = ()
    axes: Dict[int, int] = field(default_factory=dict)  # the batch axis of an array, where not 0 (ctc's log_probs)

    def batch(self, a: int, b: int) -> Tuple[List[np.ndarray], Dict[str, Any]]:
        def rows(i: int, x: np.ndarray) -> np.ndarray:
            return x[(slice(None),) * self.axes.get(i, 0) + (slice(a, b),)]

        arrays = [x if i in self.fixed else rows(i, x) for i, x in enumerate(self.arrays)]
        return arrays, {k: v[a:b] for k, v in self.per_call.items()}


def _labels(rng: np.random.Generator, rows: int, c: int) -> np.ndarray:
    """multilabel_margin_loss targets: leading class indices, then -1, then junk."""
    t = rng.integers(-1, c, (rows, c))
    for r in range(rows):
        k = int(rng.integers(0, c + 1))
        t[r, :k] = rng.permutation(c)[:k]
        if k < c:
            t[r, k] = -1
    return t


def make(name: str, variant: str, n: int, dtype: Any, seed: int = 0, c: int = 5, d: int = 4, steps: int = 6) -> Data:
    """Valid arguments of loss ``name`` with ``n`` rows (axis 0), deterministic in the arguments."""
    rng = np.random.default_rng([seed, n, c, sum(map(ord, name + variant))])

    def f(a: Any) -> np.ndarray:
        return np.asarray(a).astype(dtype)

    x = f(rng.standard_normal((n, c)))
    other = f(rng.standard_normal((n, c)))
    signs = f(rng.choice([-1.0, 1.0], (n, c)))
    unit = f(rng.uniform(0.0, 1.0, (n, c)))
    weight_c = f(rng.uniform(0.5, 2.0, c))
    if name in ("mse_loss", "l1_loss"):
        return Data([x, other])
    if name == "huber_loss":
        if variant == "weight_rows":  # per-sample weights: given per batch
            return Data([x, other], {"delta": 0.4}, {"weight": f(rng.uniform(0.5, 2.0, (n, 1)))})
        return Data([x, other], {"delta": 0.4, "weight": weight_c})
    if name == "smooth_l1_loss":
        return Data([x, other], {"beta": 0.5})
    if name == "kl_div":
        z = rng.standard_normal((n, c))
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        q = rng.gamma(1.0, size=(n, c)) + 1e-3
        q /= q.sum(1, keepdims=True)
        if variant == "log_target":
            return Data([f(logp), f(np.log(q))], {"log_target": True})
        return Data([f(logp), f(q)])
    if name == "poisson_nll_loss":
        if variant == "rates":
            r = rng.uniform(0.2, 4.0, (n, c))
            return Data([f(r), f(rng.poisson(r))], {"log_input": False, "full": True})
        return Data([x, f(rng.poisson(np.exp(x.astype(np.float64))))])
    if name == "gaussian_nll_loss":
        shape = {"full": (n, c), "col": (n, 1), "nolast": (n,), "first1": (1, c), "scalar": ()}[variant]
        var = f(rng.uniform(0.2, 2.0, shape))
        return Data([x, other, var], {"full": True, "eps": 0.3}, fixed=(2,) if variant in ("first1", "scalar") else ())
    if name == "margin_ranking_loss":
        return Data([x, other, signs], {"margin": 0.3})
    if name == "cosine_embedding_loss":
        a, b = f(rng.standard_normal((n, d))), f(rng.standard_normal((n, d)))
        return Data([a, b, f(rng.choice([-1.0, 1.0], n))], {"margin": 0.2})
    if name == "triplet_margin_loss":
        return Data([f(rng.standard_normal((n, d))) for _ in range(3)], {"margin": 0.5, "p": 1.5, "swap": True})
    if name == "binary_cross_entropy":
        return Data([f(rng.uniform(0.02, 0.98, (n, c))), unit], {"weight": weight_c})
    if name == "binary_cross_entropy_with_logits":
        per = {"weight": f(rng.uniform(0.5, 2.0, (n, c)))}
        return Data([f(3 * x), unit], {"pos_weight": f(rng.uniform(0.5, 3.0, c))}, per)
    if name == "sigmoid_focal_loss":
        return Data([f(3 * x), unit], {"alpha": 0.3, "gamma": 1.5})
    if name in ("soft_margin_loss", "hinge_embedding_loss"):
        return Data([x, signs])
    if name == "multilabel_soft_margin_loss":
        return Data([x, f(rng.choice([0.0, 1.0], (n, c)))], {"weight": weight_c})
    if name == "multi_margin_loss":
        return Data([x, rng.integers(0, c, n)], {"p": 2, "margin": 0.5, "weight": weight_c})
    if name == "multilabel_margin_loss":
        return Data([x, _labels(rng, n, c)])
    if name in ("cross_entropy", "nll_loss"):
        shape = (n, c, 3) if "kdim" in variant else (n, c)
        z = 2 * rng.standard_normal(shape)
        if name == "nll_loss":
            z = z - np.log(np.exp(z).sum(1, keepdims=True))
        opts: Dict[str, Any] = {}
        if "probs" in variant:
            g = rng.gamma(1.0, size=shape) + 1e-3
            target = f(g / g.sum(1, keepdims=True))
        else:
            target = rng.integers(0, c, (n,) + shape[2:])
            if "ignore" in variant:  # ignore_index 2, a class index: ~30 % and every row of 5..8
                target[rng.random(target.shape) < 0.3] = 2
                target[5:9] = 2
                opts["ignore_index"] = 2
        if "weight" in variant:
            opts["weight"] = weight_c
        if "smooth" in variant:
            opts["label_smoothing"] = 0.2
        return Data([f(z), target], opts)
    if name == "sequence_cross_entropy":
        logits = f(2 * rng.standard_normal((n, steps, c)))
        targets = rng.integers(0, c, (n, steps))
        targets[rng.random(targets.shape) < 0.2] = -100
        if variant == "rich":
            lengths = rng.integers(0, steps + 1, n)
            options = {"weight": weight_c, "label_smoothing": 0.2, "lse_square_scale": 0.01}
            return Data([logits, targets], options, {"lengths": lengths})
        return Data([logits, targets])
    if name == "ctc_loss":  # n sequences of (T, C) = (steps, c) log-probabilities, batch axis 1
        z = 2 * rng.standard_normal((steps, n, c))
        lp = f(z - np.log(np.exp(z).sum(2, keepdims=True)))
        blank = 2 if "blank" in variant else 0
        targets = rng.choice([k for k in range(c) if k != blank], (n, 3))
        il, tl = rng.integers(steps // 2, steps + 1, n), rng.integers(0, 4, n)
        if "zero_infinity" in variant:  # impossible alignments (3 labels in 1 step), loss 0
            il[rng.random(n) < 0.2] = 1
            tl[il == 1] = 3
        return Data([lp, targets, il, tl], {"blank": blank, "zero_infinity": "zero_infinity" in variant}, axes={0: 1})
    raise AssertionError(f"no input maker for {name}")


#: (loss, variant): every loss of the spec table, with its representative options
CASES: List[Tuple[str, str]] = [
    ("mse_loss", ""),
    ("l1_loss", ""),
    ("huber_loss", "weight_last"),
    ("huber_loss", "weight_rows"),
    ("smooth_l1_loss", ""),
    ("kl_div", ""),
    ("kl_div", "log_target"),
    ("poisson_nll_loss", ""),
    ("poisson_nll_loss", "rates"),
    ("gaussian_nll_loss", "full"),
    ("gaussian_nll_loss", "col"),
    ("gaussian_nll_loss", "nolast"),
    ("gaussian_nll_loss", "first1"),
    ("gaussian_nll_loss", "scalar"),
    ("margin_ranking_loss", ""),
    ("cosine_embedding_loss", ""),
    ("triplet_margin_loss", ""),
    ("binary_cross_entropy", "weight"),
    ("binary_cross_entropy_with_logits", "weight+pos_weight"),
    ("sigmoid_focal_loss", ""),
    ("soft_margin_loss", ""),
    ("hinge_embedding_loss", ""),
    ("multilabel_soft_margin_loss", "weight"),
    ("multi_margin_loss", "p2+weight"),
    ("multilabel_margin_loss", ""),
    ("cross_entropy", ""),
    ("cross_entropy", "weight+ignore+smooth"),
    ("cross_entropy", "probs+weight+smooth"),
    ("cross_entropy", "kdim+weight+ignore"),
    ("nll_loss", "weight+ignore"),
    ("sequence_cross_entropy", ""),
    ("sequence_cross_entropy", "rich"),
    ("ctc_loss", ""),
    ("ctc_loss", "blank+zero_infinity"),
]
SPEC = {s.name: s for s in _spec.SPECS}


def case_id(case: Tuple[str, str]) -> str:
    return case[0] + (f"[{case[1]}]" if case[1] else "")


def scalar_reductions(name: str) -> List[str]:
    return [r for r in SPEC[name].reductions if r in _spec.SCALAR_REDUCTIONS]


#: (loss, variant, reduction): every scalar reduction of every case
REDUCED = [
    pytest.param(n, v, r, id=f"{case_id((n, v))}-{r}") for n, v in CASES for r in scalar_reductions(n)
]  # fmt: skip
#: the batch boundaries of the tests: uneven, with an empty batch
CUTS = (0, 0, 7, 8, 20, 41)


def assert_equal(got: Any, want: Any, dtype: Any, what: str = "") -> None:
    """Bitwise in float32; within 1e-12 relative in float64 (the kernel sums in its own order)."""
    assert type(got) is type(want), f"{what}: {type(got)} != {type(want)}"
    if np.dtype(dtype) == np.float32:
        assert_bitwise(got, want, what)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True, err_msg=what)


def accumulate(name: str, data: Data, cuts: Sequence[int], **options: Any) -> LossAccumulator:
    acc = LossAccumulator(getattr(fl, name), **data.options, **options)
    for a, b in zip(cuts[:-1], cuts[1:]):
        arrays, per_call = data.batch(a, b)
        assert acc.update(*arrays, **per_call) is acc
    return acc


def one_call(name: str, data: Data, **options: Any) -> Any:
    return getattr(fl, name)(*data.arrays, **data.options, **data.per_call, **options)


def test_every_loss_is_covered() -> None:
    assert {n for n, _ in CASES} == set(SPEC), "a loss of the spec table has no case here"


# --------------------------------------------------------------------- batches = one call
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name, variant, reduction", REDUCED)
def test_batches_give_the_single_call(name: str, variant: str, reduction: str, dtype: Any) -> None:
    data = make(name, variant, CUTS[-1], dtype)
    acc = accumulate(name, data, CUTS, reduction=reduction)
    want = one_call(name, data, reduction=reduction)
    assert_equal(acc.compute(), want, dtype, f"{name} {reduction}")
    assert acc.count == len(CUTS) - 1 and acc.dtype == np.dtype(dtype)


@pytest.mark.parametrize("name, variant, reduction", REDUCED)
def test_any_grouping_and_order_is_bitwise_identical(name: str, variant: str, reduction: str) -> None:
    """Updates in other orders, and merges of accumulators of other groupings, in float64 (where a
    float sum's order shows most): the same state and bits."""
    data = make(name, variant, 41, np.float64, seed=1)
    cuts = (0, 3, 9, 10, 22, 30, 41)
    pieces = list(zip(cuts[:-1], cuts[1:]))

    def of(batches: Sequence[Tuple[int, int]]) -> LossAccumulator:
        acc = LossAccumulator(name, **data.options, reduction=reduction)
        for a, b in batches:
            arrays, per_call = data.batch(a, b)
            acc.update(*arrays, **per_call)
        return acc

    ref = of(pieces)
    results = [of(pieces[::-1]), of([pieces[k] for k in (4, 1, 5, 0, 3, 2)])]
    results.append(of(pieces[:2]).merge(of(pieces[2:4]).merge(of(pieces[4:]))))  # ((a b) ((c d) (e f)))
    results.append(of(pieces[3:]).merge(of([])).merge(of(pieces[:3])))  # an empty one merged in
    for k, acc in enumerate(results):
        assert acc.state_dict() == ref.state_dict(), f"grouping {k}"
        assert_bitwise(acc.compute(), ref.compute(), f"grouping {k}")


def test_exact_sum_is_order_independent_where_floats_are_not() -> None:
    values = [1e16, 1.0, -1e16, 3.5e-300, 2.0**-1074, -(2.0**1023), 2.0**1023, 0.1, -0.0]
    want = math.fsum(values)  # the correctly rounded exact sum
    for perm in itertools.islice(itertools.permutations(values), 0, None, 997):
        s = ExactSum()
        for v in perm:
            s.add(v)
        assert s.value() == want
    assert sum(values) != want  # floats: order-dependent, and wrong here
    overflow = ExactSum()
    for v in (1.7e308, 1.7e308, -1e300):
        overflow.add(v)
    assert overflow.value() == math.inf  # as the kernels' float64 sum would overflow
    special = ExactSum()
    for v in (1.0, math.inf, 2.0):
        special.add(v)
    assert special.value() == math.inf
    special.add(-math.inf)
    assert math.isnan(special.value())
    assert ExactSum.from_json(json.loads(json.dumps(special.to_json()))) == special


def test_ignored_and_empty_batches() -> None:
    """Batches whose targets are all ignored add (0, 0); when every target is ignored, the mean is
    nan as the single call's."""
    data = make("cross_entropy", "weight+ignore+smooth", 12, np.float32)
    x, t = data.arrays
    assert (t[5:9] == 2).all()
    acc = accumulate("cross_entropy", data, (0, 5, 9, 9, 12))  # batch 5:9 is all ignored
    assert_bitwise(acc.compute(), one_call("cross_entropy", data))
    only_ignored = LossAccumulator(fl.cross_entropy, **data.options).update(x[5:9], t[5:9])
    want = fl.cross_entropy(x[5:9], t[5:9], **data.options)
    assert np.isnan(want) and np.isnan(only_ignored.compute()) and type(only_ignored.compute()) is np.float32
    assert only_ignored.numerator == 0.0 and only_ignored.denominator == 0.0
    # no batch at all: the loss of an empty input (dtype unknown: float64)
    assert np.isnan(LossAccumulator("mse_loss").compute())
    empty_sum = LossAccumulator("mse_loss", reduction="sum").compute()
    assert empty_sum == 0.0 and type(empty_sum) is np.float64
    # an empty batch fixes the dtype and gives the empty call's result
    e = np.zeros((0, 3), np.float32)
    assert_bitwise(LossAccumulator("mse_loss").update(e, e).compute(), fl.mse_loss(e, e))


def test_half_precision_batches() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    for dtype in (np.float16, ml_dtypes.bfloat16):
        data = make("cross_entropy", "weight+ignore+smooth", 41, dtype)
        acc = accumulate("cross_entropy", data, CUTS)
        assert_bitwise(acc.compute(), one_call("cross_entropy", data), np.dtype(dtype).name)


def test_batchmean_divides_by_the_rows_of_every_batch() -> None:
    data = make("kl_div", "", 41, np.float64)
    acc = accumulate("kl_div", data, CUTS, reduction="batchmean")
    assert acc.denominator == 41.0
    assert_equal(acc.compute(), fl.kl_div(*data.arrays, reduction="batchmean"), np.float64)


def test_perplexity_over_a_stream() -> None:
    """exp of the running token-level mean: the perplexity of the whole stream."""
    data = make("sequence_cross_entropy", "rich", 30, np.float64)
    acc = accumulate("sequence_cross_entropy", data, (0, 4, 11, 30))
    want = np.exp(fl.sequence_cross_entropy(*data.arrays, **data.options, **data.per_call))
    np.testing.assert_allclose(np.exp(acc.compute()), want, rtol=1e-12)


def test_concurrent_updates_from_threads() -> None:
    data = make("cross_entropy", "weight+ignore+smooth", 400, np.float32)
    acc = LossAccumulator(fl.cross_entropy, **data.options)
    cuts = list(range(0, 401, 25))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda ab: acc.update(*data.batch(*ab)[0]), zip(cuts[:-1], cuts[1:])))
    assert acc.count == 16
    assert_bitwise(acc.compute(), one_call("cross_entropy", data))


def test_per_sample_weights_are_given_per_batch() -> None:
    """Elementwise losses take weight / pos_weight per batch when not fixed at construction."""
    data = make("binary_cross_entropy_with_logits", "weight+pos_weight", 41, np.float32)
    acc = accumulate("binary_cross_entropy_with_logits", data, CUTS)
    assert_bitwise(acc.compute(), one_call("binary_cross_entropy_with_logits", data))
    with pytest.raises(TypeError, match="pos_weight is fixed at construction"):
        acc.update(*data.batch(0, 3)[0], pos_weight=data.options["pos_weight"])


def test_accepts_functions_names_and_aliases() -> None:
    x = np.linspace(-1, 1, 12).reshape(4, 3)
    for fn in ("l1_loss", "mae_loss", fl.l1_loss, fl.mae_loss):
        acc = LossAccumulator(fn).update(x, x[::-1])
        assert acc.loss == "l1_loss" and acc.compute() == fl.l1_loss(x, x[::-1])
    assert "l1_loss" in repr(acc) and "count=1" in repr(acc)


# -------------------------------------------------------------------------- serialisation
@pytest.mark.parametrize("name, variant", [("cross_entropy", "weight+ignore+smooth"), ("sequence_cross_entropy", "rich"), ("gaussian_nll_loss", "full")])  # fmt: skip
def test_state_dict_and_pickle_round_trips(name: str, variant: str) -> None:
    data = make(name, variant, 41, np.float32)
    acc = accumulate(name, data, CUTS[:4])
    state = acc.state_dict()
    text = json.dumps(state, allow_nan=False)  # strict JSON: no NaN, no NumPy types
    restored = LossAccumulator.from_state_dict(json.loads(text))
    same = LossAccumulator(name, **data.options)
    same.load_state_dict(json.loads(text))
    unpickled = pickle.loads(pickle.dumps(acc))
    for other in (restored, same, unpickled):
        assert other.state_dict() == state
        assert_bitwise(other.compute(), acc.compute())
    # continuing after the round trip is continuing the original
    rest = data.batch(CUTS[3], CUTS[-1])
    for a in (acc, restored, unpickled):
        a.update(*rest[0], **rest[1])
        assert_bitwise(a.compute(), one_call(name, data))


def test_load_state_dict_needs_the_same_loss_and_options() -> None:
    w = np.array([0.5, 1.0, 2.0])
    acc = LossAccumulator("cross_entropy", weight=w).update(np.eye(3), np.arange(3))
    with pytest.raises(ValueError, match="options of cross_entropy differ.*weight"):
        LossAccumulator("cross_entropy").load_state_dict(acc.state_dict())
    with pytest.raises(ValueError, match="options of cross_entropy differ.*label_smoothing"):
        LossAccumulator("cross_entropy", weight=w, label_smoothing=0.1).load_state_dict(acc.state_dict())
    with pytest.raises(ValueError, match="the loss is 'cross_entropy', not this accumulator's 'nll_loss'"):
        LossAccumulator("nll_loss", weight=w).load_state_dict(acc.state_dict())
    with pytest.raises(ValueError, match="unknown state version"):
        acc.load_state_dict({**acc.state_dict(), "version": 99})
    # the same options written another way are the same (defaults, ints for floats)
    LossAccumulator("cross_entropy", weight=w.copy(), ignore_index=-100, label_smoothing=0).load_state_dict(
        acc.state_dict()
    )


#: a second process: unpickles an accumulator, adds its own batches, sends it back as JSON
CHILD = """
import json, pickle, sys
import numpy as np
sys.path.insert(0, {tests!r})
from test_accumulate import make
acc = pickle.loads(sys.stdin.buffer.read())
data = make("cross_entropy", "weight+ignore+smooth", 41, np.float32)
arrays, _ = data.batch(20, 41)
acc.update(*arrays)
sys.stdout.write(json.dumps(acc.state_dict()))
"""


def test_travels_between_processes() -> None:
    data = make("cross_entropy", "weight+ignore+smooth", 41, np.float32)
    acc = accumulate("cross_entropy", data, (0, 9, 20))
    code = CHILD.format(tests=os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(acc), capture_output=True, check=True, timeout=120
    )
    back = LossAccumulator.from_state_dict(json.loads(out.stdout))
    assert back.count == 3
    assert_bitwise(back.compute(), one_call("cross_entropy", data))


# --------------------------------------------------------------------------------- errors
def _bad(options: Dict[str, Any]) -> Callable[[], Any]:
    return lambda: LossAccumulator("cross_entropy", **options)


ERRORS = [
    (_bad({"reduction": "none"}), ValueError, r"reduction must be one of 'mean', 'sum' .*; got 'none'"),
    (lambda: LossAccumulator("sequence_cross_entropy", reduction="sequence"), ValueError,
     r"reduction must be one of 'mean', 'sum', 'batchmean' .*; got 'sequence'"),
    (lambda: LossAccumulator("sigmoid_focal_loss"), ValueError, r"default reduction 'none' does not give one number"),
    (_bad({"reduction": 1}), ValueError, r"reduction must be one of .*; got 1"),
    (_bad({"smoothing": 0.1}), TypeError, r"cross_entropy\(\) got an unexpected keyword argument 'smoothing'"),
    (_bad({"return_grad": True}), TypeError, r"return_grad is not an option of an accumulator"),
    (_bad({"grad_out": None}), TypeError, r"grad_out is not an option"),
    (lambda: LossAccumulator("sequence_cross_entropy", lengths=[1]), TypeError, r"lengths is per batch"),
    (_bad({"ignore_index": 1.5}), TypeError, r"ignore_index must be an int"),
    (lambda: LossAccumulator("no_such_loss"), TypeError, r"loss_fn must be a fastloss loss function"),
    (lambda: LossAccumulator(np.mean), TypeError, r"loss_fn must be a fastloss loss function"),
]  # fmt: skip


@pytest.mark.parametrize("make_it, exc, pattern", ERRORS)
def test_construction_errors(make_it: Callable[[], Any], exc: Any, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        make_it()


def test_update_and_merge_errors() -> None:
    x32, t = np.zeros((4, 3), np.float32), np.array([0, 1, 2, 0])
    acc = LossAccumulator("cross_entropy").update(x32, t)
    with pytest.raises(TypeError, match="dtype float64 does not match the dtype of the earlier batches, float32"):
        acc.update(x32.astype(np.float64), t)
    with pytest.raises(TypeError, match="takes 2 arrays"):
        acc.update(x32)
    with pytest.raises(TypeError, match="weight is fixed at construction"):
        acc.update(x32, t, weight=np.ones(3, np.float32))
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        acc.update(x32, t, foo=1)
    with pytest.raises(IndexError):  # the loss's own checks run on every batch
        acc.update(x32, np.array([0, 1, 2, 3]))
    assert acc.count == 1  # a failed update adds nothing
    with pytest.raises(ValueError, match="the loss is 'nll_loss', not this accumulator's 'cross_entropy'"):
        acc.merge(LossAccumulator("nll_loss"))
    with pytest.raises(ValueError, match="options of cross_entropy differ.*ignore_index: 1 vs -100"):
        acc.merge(LossAccumulator("cross_entropy", ignore_index=1))
    with pytest.raises(ValueError, match="options of cross_entropy differ.*reduction: 'sum' vs 'mean'"):
        acc.merge(LossAccumulator("cross_entropy", reduction="sum"))
    with pytest.raises(TypeError, match="dtype float64 does not match this accumulator's float32"):
        acc.merge(LossAccumulator("cross_entropy").update(x32.astype(np.float64), t))
    with pytest.raises(TypeError, match="expected a LossAccumulator"):
        acc.merge(Partial())  # type: ignore[arg-type]
    acc.reset()
    assert acc.count == 0 and acc.dtype is None and np.isnan(acc.compute())
    acc.update(x32.astype(np.float64), t)  # after reset, any dtype
    assert acc.dtype == np.float64


# ------------------------------------------------------------------------ documentation
def runnable_blocks(tag: str) -> List[str]:
    """The ```python blocks of docs/accumulate_dask.md that follow a ``<!-- runnable: tag -->`` line,
    each padded with blank lines to its place in the file (tracebacks show the doc's line)."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    pattern = rf"<!-- runnable: {tag} -->\s*```python\n(.*?)```"
    return ["\n" * text.count("\n", 0, m.start(1)) + m.group(1) for m in re.finditer(pattern, text, flags=re.S)]


def test_doc_recipes_run_as_written(tmp_path: Any, monkeypatch: Any) -> None:
    """Recipe (a): its blocks run in order, in one namespace, as a reader would paste them."""
    blocks = runnable_blocks("accumulate")
    assert len(blocks) >= 2, "the accumulator recipes of docs/accumulate_dask.md are marked runnable"
    monkeypatch.chdir(tmp_path)
    namespace: Dict[str, Any] = {"__name__": "__doc_recipe__"}
    for code in blocks:
        exec(compile(code, DOC, "exec"), namespace)
    assert namespace["total"].count == 6
