"""fastloss.dask: every loss of the spec table over dask arrays of random chunkings (each operand
chunked on its own, class axes split), against the in-memory call on the computed arrays:
reduced losses, "none" / "sequence" and gradients (bitwise in float32, 1e-12 relative in
float64), with scalar, lazy and array grad_output; the chunks that come back; the global
denominators ("batchmean", weighted class means, all-ignored chunks); laziness and the errors;
the threaded scheduler; a dask.distributed LocalCluster with worker processes; and the runnable
recipes of docs/accumulate_dask.md."""

from __future__ import annotations

import inspect
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import fastloss as fl
import numpy as np
import pytest
from fastloss import _spec
from fastloss.accumulate import LossAccumulator
from registry import assert_bitwise
from test_accumulate import CASES, DOC, SPEC, case_id, make, runnable_blocks

dask = pytest.importorskip("dask", reason="fastloss.dask needs the dask extra (pip install fastloss[dask])")
da = pytest.importorskip("dask.array", reason="fastloss.dask needs the dask extra (pip install fastloss[dask])")
import fastloss.dask as fld  # noqa: E402  (after the skip: dask is installed)

DTYPES = (np.float32, np.float64)
N = 23
#: broadcast vars whose gradient sums over the batch axis 0 across chunks (documented: within
#: the dtype's rounding, not bitwise)
SUMMED_VAR = {("gaussian_nll_loss", "first1"), ("gaussian_nll_loss", "scalar")}


@pytest.fixture(autouse=True)
def threads(request: Any) -> Any:
    """Every test on dask's threaded scheduler, but those of the cluster (whose Client is the default)."""
    if "client" in request.fixturenames:
        yield
        return
    with dask.config.set(scheduler="threads"):
        yield


def random_chunks(a: np.ndarray, rng: np.random.Generator) -> Any:
    """A dask array of ``a`` in 1 to 3 chunks of random sizes along every axis."""
    a = np.asarray(a)
    chunks = []
    for n in a.shape:
        if n <= 1:
            chunks.append((n,))
            continue
        cuts = np.sort(rng.choice(np.arange(1, n), size=int(rng.integers(1, min(2, n - 1) + 1)), replace=False))
        chunks.append(tuple(np.diff(np.r_[0, cuts, n]).tolist()))
    return da.from_array(a, chunks=tuple(chunks))


def to_dask(data: Any, rng: np.random.Generator) -> Tuple[List[Any], Dict[str, Any]]:
    arrays = [random_chunks(a, rng) for a in data.arrays]
    options = {
        k: random_chunks(v, rng) if isinstance(v, np.ndarray) else v
        for k, v in {**data.options, **data.per_call}.items()
    }
    return arrays, options


def assert_same(got: Any, want: Any, dtype: Any, what: str, rtol: Optional[float] = None) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (
        f"{what}: {got.shape} {got.dtype} != {want.shape} {want.dtype}"
    )
    if rtol is None and np.dtype(dtype) == np.float32:
        assert_bitwise(got, want, what)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol or 1e-12, atol=0, equal_nan=True, err_msg=what)


def whole_axes(name: str, variant: str, reduction: str, ndim: int, return_grad: bool) -> Tuple[int, ...]:
    """The input axes fastloss.dask puts in one chunk (docs/accumulate_dask.md)."""
    family = SPEC[name].family.name
    if family == "class-axis":
        return tuple(range(1, ndim)) if ndim >= 2 else (0,)
    if family == "sequence":
        return (1, 2) if reduction == "sequence" else (2,)
    if family == "ctc":  # log_probs (T, N, C): blocks of whole sequences
        return (0, 2)
    if family in ("rows", "triplet") or name == "cosine_embedding_loss":
        return (ndim - 1,)
    if name == "gaussian_nll_loss" and return_grad and variant in ("col", "nolast"):
        return (1,)  # the var's broadcast (last) axis: its gradient sums over it
    return ()


def expected_chunks(x: Any, whole: Sequence[int]) -> Tuple[Tuple[int, ...], ...]:
    return tuple((n,) if d in whole else c for d, (n, c) in enumerate(zip(x.shape, x.chunks)))


ALL_REDUCTIONS = [pytest.param(n, v, r, id=f"{case_id((n, v))}-{r}") for n, v in CASES for r in SPEC[n].reductions]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ctc_concatenated_lazy_targets_and_one_unbatched_sequence(reduction: str) -> None:
    data = make("ctc_loss", "", 8, np.float32)
    lp, padded, il, tl = data.arrays
    flat = np.concatenate([padded[b, : tl[b]] for b in range(len(tl))])
    go = np.linspace(-1, 1, len(tl)).astype(np.float32) if reduction == "none" else 0.3
    want = fl.ctc_loss(lp, flat, il, tl, reduction=reduction, return_grad=True, grad_output=go, **data.options)
    for targets in (flat, da.from_array(flat, chunks=4)):
        lazy = fld.ctc_loss(
            da.from_array(lp, chunks=(5, 3, 2)),
            targets,
            da.from_array(il, chunks=3),
            da.from_array(tl, chunks=5),
            reduction=reduction,
            return_grad=True,
            grad_output=da.from_array(go, chunks=3) if reduction == "none" else go,
            **data.options,
        )
        got = dask.compute(*lazy)
        assert_bitwise(got[0], want[0], "loss")
        assert_bitwise(got[1], want[1], "grad")
    # one (T, C) sequence: a batch of one, with the in-memory shapes and rules
    one = dict(reduction=reduction, return_grad=True, grad_output=0.5, **data.options)
    want = fl.ctc_loss(lp[:, 1], padded[1, : tl[1]], il[1], tl[1], **one)
    got = dask.compute(*fld.ctc_loss(da.from_array(lp[:, 1], chunks=2), padded[1, : tl[1]], il[1], [tl[1]], **one))
    assert_bitwise(got[0], want[0], "unbatched loss")
    assert_bitwise(got[1], want[1], "unbatched grad")
    with pytest.raises(ValueError, match=re.escape("must have shape () or (1,) for an unbatched log_probs (T, C)")):
        fld.ctc_loss(lp[:, 1], padded[1], il[:2], tl[1])
    with pytest.raises(ValueError, match="concatenated targets must hold sum"):
        fld.ctc_loss(lp, flat[:-1], il, tl).compute()
    with pytest.raises(ValueError, match="concatenated targets must hold sum"):
        fl.ctc_loss(lp[:, 1], np.r_[padded[1, : tl[1]], 1], il[1], tl[1])  # in memory too
    with pytest.raises(ValueError, match="concatenated targets must hold sum"):
        fld.ctc_loss(lp[:, 1], np.r_[padded[1, : tl[1]], 1], il[1], tl[1]).compute()


def test_one_function_per_loss_with_its_signature() -> None:
    assert set(fld.__all__) == set(fl.functional.__all__)
    for spec in _spec.SPECS:
        lazy, eager = getattr(fld, spec.name), getattr(fl, spec.name)
        assert inspect.signature(lazy) == inspect.signature(eager), spec.name
        assert lazy.__name__ == spec.name and lazy.__module__ == "fastloss.dask"
        for alias in spec.aliases:
            assert getattr(fld, alias) is lazy


# ------------------------------------------------------------------ against the in-memory call
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name, variant, reduction", ALL_REDUCTIONS)
def test_equals_the_in_memory_call(name: str, variant: str, reduction: str, dtype: Any) -> None:
    """The loss, and the loss and gradients with an upstream gradient, from random chunkings."""
    data = make(name, variant, N, dtype, seed=3)
    rng = np.random.default_rng([7, N, len(name), len(variant), len(reduction)])
    arrays, options = to_dask(data, rng)
    eager, lazy = getattr(fl, name), getattr(fld, name)
    scalar = reduction in _spec.SCALAR_REDUCTIONS

    loss = lazy(*arrays, **options, reduction=reduction)
    assert isinstance(loss, da.Array) and loss.dtype == np.dtype(dtype)
    assert loss.ndim == 0 if scalar else loss.ndim >= 1
    want = eager(*data.arrays, **data.options, **data.per_call, reduction=reduction)
    got = loss.compute()
    if scalar:
        assert type(got) is type(want)
    assert_same(got, want, dtype, "loss")

    # gradients: a scalar upstream gradient, or for an array loss an array of its shape (other chunks)
    go: Any = -0.7
    go_np: Any = -0.7
    if not scalar:
        go_np = np.linspace(-2, 2, np.size(want)).reshape(np.shape(want)).astype(dtype)
        go = random_chunks(go_np, rng)
    loss, grads = lazy(*arrays, **options, reduction=reduction, return_grad=True, grad_output=go)
    want_loss, want_grads = eager(
        *data.arrays, **data.options, **data.per_call, reduction=reduction, return_grad=True, grad_output=go_np
    )
    several = len(SPEC[name].grad_arrays) > 1
    grads, want_grads = (grads, want_grads) if several else ((grads,), (want_grads,))
    got_loss, got_grads = dask.compute(loss, grads)
    assert_same(got_loss, want_loss, dtype, "loss with return_grad")
    whole = whole_axes(name, variant, reduction, arrays[0].ndim, True)
    for k, (g, got_g, want_g) in enumerate(zip(grads, got_grads, want_grads)):
        summed = (name, variant) in SUMMED_VAR and SPEC[name].grad_arrays[k] == "var"
        rtol = (2e-6 if np.dtype(dtype) == np.float32 else 1e-12) if summed else None
        assert_same(got_g, want_g, dtype, f"grad {k}", rtol=rtol)
        # the gradients have the input's chunks, the whole axes in one chunk (a broadcast var's:
        # those of the axes it has)
        x_chunks = expected_chunks(arrays[0], whole)
        if g.shape == arrays[0].shape:
            assert g.chunks == x_chunks, f"grad {k} chunks"
        elif not summed:
            assert g.chunks[0] == x_chunks[0], f"grad {k} chunks"


@pytest.mark.parametrize("name, variant", [("cross_entropy", "weight+ignore+smooth"), ("mse_loss", ""), ("kl_div", "")])
def test_lazy_and_numpy_grad_output(name: str, variant: str) -> None:
    data = make(name, variant, N, np.float32)
    arrays, options = to_dask(data, np.random.default_rng(1))
    want = getattr(fl, name)(*data.arrays, **data.options, return_grad=True, grad_output=0.3)
    for go in (da.from_array(np.float32(0.3)), np.float64(0.3), 0.3):
        loss, grad = dask.compute(*getattr(fld, name)(*arrays, **options, return_grad=True, grad_output=go))
        assert_bitwise(loss, want[0], "loss")
        assert_bitwise(grad, want[1], f"grad, grad_output {type(go).__name__}")


def test_numpy_and_list_inputs() -> None:
    x = np.random.default_rng(0).standard_normal((6, 4))
    t = np.array([0, 3, 1, 2, 2, 1])
    assert fld.cross_entropy(x, t).compute() == fl.cross_entropy(x, t)
    assert fld.mse_loss(x.tolist(), (x * 0).tolist()).compute() == fl.mse_loss(x, x * 0)
    assert fld.cross_entropy(da.from_array(x, chunks=2), t.tolist(), weight=[1.0, 2.0, 0.5, 1.0]).compute() == (
        fl.cross_entropy(x, t, weight=np.array([1.0, 2.0, 0.5, 1.0]))
    )


def _edge_cases() -> List[Any]:
    rng = np.random.default_rng(5)
    f = np.float32
    x1, x3, x4 = (rng.standard_normal(s).astype(f) for s in ((7,), (4, 5, 6), (5, 4, 3, 2)))
    half = rng.standard_normal((9, 4)).astype(np.float16)
    cases = [  # (loss, arrays, their chunks, options)
        ("cosine_embedding_loss", [x1, x1[::-1].copy(), np.array(-1, f)], [3, 2, ()], {"margin": 0.1}),
        ("triplet_margin_loss", [x1, x1 + 1, x1 - 0.5], [3, 2, 4], {}),
        ("cross_entropy", [x1, np.array(3)], [3, ()], {}),  # (C,) logits, a 0-d target
        ("multi_margin_loss", [x1, np.array(3)], [3, ()], {}),
        ("mse_loss", [np.array(2.0, f), np.array(1.0, f)], [(), ()], {}),  # 0-d arrays
        ("cross_entropy", [x4, rng.integers(0, 4, (5, 3, 2))], [(2, 3, 2, 1), (3, 1, 2)], {"ignore_index": 0}),
        ("huber_loss", [x3, x3 * 0], [(2, 2, 3), (3, 1, 6)], {"weight": np.linspace(0.5, 2, 5, dtype=f)[:, None]}),
        ("gaussian_nll_loss", [x3, x3 * 0, np.ones((4, 1, 6), f)], [(2, 2, 3), (3, 1, 6), (1, 1, 2)], {}),
        ("cross_entropy", [half, rng.integers(0, 4, 9)], [(4, 3), 5], {}),  # float16
    ]
    return [pytest.param(*c, id=f"{c[0]}-{'x'.join(map(str, c[1][0].shape)) or '0d'}-{c[1][0].dtype}") for c in cases]


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name, arrays, chunks, options", _edge_cases())
def test_edge_shapes_and_half_precision(name: str, arrays: Any, chunks: Any, options: Any, reduction: str) -> None:
    """1-D rows, (C,) logits, 0-d arrays, 4-D logits, broadcast operands along a middle axis, float16."""
    lazy = [da.from_array(a, chunks=c) for a, c in zip(arrays, chunks)]
    for return_grad in (False, True):
        want = getattr(fl, name)(*arrays, **options, reduction=reduction, return_grad=return_grad)
        got = dask.compute(getattr(fld, name)(*lazy, **options, reduction=reduction, return_grad=return_grad))[0]
        flat_got, flat_want = _flatten(got), _flatten(want)
        assert len(flat_got) == len(flat_want)
        for k, (g, w) in enumerate(zip(flat_got, flat_want)):
            assert_bitwise(g, w, f"{name} {reduction} return_grad={return_grad} result {k}")


def _flatten(result: Any) -> List[np.ndarray]:
    if isinstance(result, tuple):
        return [a for part in result for a in _flatten(part)]
    return [np.asarray(result)]


# ------------------------------------------------------------------- chunks and denominators
def test_class_axis_split_into_chunks_is_rechunked() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 7, 3)).astype(np.float32)
    t = rng.integers(0, 7, (40, 3))
    dx = da.from_array(x, chunks=(9, 2, 2))  # the class axis and the spatial axis split
    loss, grad = fld.cross_entropy(dx, da.from_array(t, chunks=(13, 1)), return_grad=True)
    assert grad.chunks == ((9, 9, 9, 9, 4), (7,), (3,))
    none = fld.cross_entropy(dx, t, reduction="none")
    assert none.chunks == ((9, 9, 9, 9, 4), (3,))
    want = fl.cross_entropy(x, t, return_grad=True)
    assert_bitwise(loss.compute(), want[0])
    assert_bitwise(grad.compute(), want[1])
    assert_bitwise(none.compute(), fl.cross_entropy(x, t, reduction="none"))


def test_batchmean_divides_by_the_global_first_axis() -> None:
    """Chunked along other axes, each row spans several blocks: the denominator is still B."""
    data = make("sequence_cross_entropy", "rich", 12, np.float64, steps=10)
    logits = da.from_array(data.arrays[0], chunks=(5, 3, 2))  # time and vocabulary split
    targets = da.from_array(data.arrays[1], chunks=(4, 4))
    opts = {**data.options, **data.per_call}
    for reduction in ("batchmean", "mean", "sum"):
        got = fld.sequence_cross_entropy(logits, targets, **opts, reduction=reduction).compute()
        want = fl.sequence_cross_entropy(*data.arrays, **opts, reduction=reduction)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    kl = make("kl_div", "", 12, np.float64)
    got = fld.kl_div(da.from_array(kl.arrays[0], chunks=(5, 2)), kl.arrays[1], reduction="batchmean").compute()
    np.testing.assert_allclose(got, fl.kl_div(*kl.arrays, reduction="batchmean"), rtol=1e-12)


def test_all_ignored_chunks_and_all_ignored_inputs() -> None:
    data = make("cross_entropy", "weight+ignore+smooth", 20, np.float32)
    x, t = data.arrays
    assert (t[5:9] == 2).all()
    dx, dt = da.from_array(x, chunks=((5, 4, 11), (5,))), da.from_array(t, chunks=((5, 4, 11),))
    loss, grad = dask.compute(*fld.cross_entropy(dx, dt, **data.options, return_grad=True))
    want = fl.cross_entropy(x, t, **data.options, return_grad=True)
    assert_bitwise(loss, want[0])
    assert_bitwise(grad, want[1])
    ignored = da.full((6,), 2, chunks=2)
    loss, grad = dask.compute(*fld.cross_entropy(dx[:6], ignored, **data.options, return_grad=True))
    want = fl.cross_entropy(x[:6], np.full(6, 2), **data.options, return_grad=True)
    assert np.isnan(loss) and np.isnan(want[0]) and type(loss) is np.float32
    assert_bitwise(grad, want[1])  # zero


def test_same_bits_on_every_scheduler() -> None:
    data = make("sequence_cross_entropy", "rich", N, np.float32)
    arrays, options = to_dask(data, np.random.default_rng(4))
    graph = fld.sequence_cross_entropy(*arrays, **options, return_grad=True)
    results = [dask.compute(*graph, scheduler=s) for s in ("threads", "synchronous", "threads")]
    for loss, grad in results[1:]:
        assert_bitwise(loss, results[0][0])
        assert_bitwise(grad, results[0][1])


def test_the_graph_is_lazy() -> None:
    """Building the loss and gradient runs no block (the kernels run at compute)."""
    calls = []

    def source(block: np.ndarray) -> np.ndarray:
        calls.append(1)
        return block

    x = da.ones((8, 4), chunks=4, dtype=np.float32).map_blocks(source, dtype=np.float32)
    calls.clear()  # dask's own meta inference of map_blocks
    loss, grad = fld.mse_loss(x, x * 0, return_grad=True)
    none = fld.huber_loss(x, x, reduction="none", weight=np.ones(4, np.float32))
    assert not calls
    assert loss.compute() == 1.0 and calls
    assert none.shape == (8, 4)


# --------------------------------------------------------------------------------- errors
def _x() -> Any:
    return da.zeros((6, 4), chunks=3, dtype=np.float32)


def _t() -> Any:
    return da.zeros((6,), chunks=3, dtype=np.int64)


BUILD_ERRORS = [
    (lambda: fld.cross_entropy(_x(), _t(), out=np.zeros((), np.float32)), TypeError, r"out= is not supported"),
    (lambda: fld.mse_loss(_x(), _x(), return_grad=True, grad_out=np.zeros((6, 4), np.float32)), TypeError,
     r"grad_out= is not supported"),
    (lambda: fld.cross_entropy(_x(), _t(), reduction="avg"), ValueError,
     r"reduction must be one of 'none', 'mean', 'sum'; got 'avg'"),
    (lambda: fld.mse_loss(_x(), _x().astype(np.float64)), TypeError,
     r"target dtype float64 does not match input dtype float32"),
    (lambda: fld.cross_entropy(_x(), _t()[:5]), ValueError, r"class-index target shape \(5,\) must be \(6,\)"),
    (lambda: fld.cross_entropy(_x(), _t(), weight=np.ones(3, np.float32)), ValueError, r"weight shape \(3,\) must be \(4,\)"),
    (lambda: fld.cross_entropy(_x(), _t(), label_smoothing=2.0), ValueError, r"label_smoothing must be in \[0, 1\]"),
    (lambda: fld.huber_loss(_x(), _x(), delta=-1.0), ValueError, r"delta must be > 0"),
    (lambda: fld.mse_loss(_x(), _x()[:, :3]), ValueError, r"target shape \(6, 3\) must be input's"),
    (lambda: fld.binary_cross_entropy_with_logits(_x(), _x(), pos_weight=np.ones(3, np.float32)), ValueError,
     r"pos_weight of shape \(3,\) does not broadcast"),
    (lambda: fld.gaussian_nll_loss(_x(), _x(), da.ones((4,), dtype=np.float32)), ValueError, r"var shape \(4,\) must be"),
    (lambda: fld.mse_loss(_x(), _x(), return_grad=True, grad_output=np.ones(3)), ValueError,
     r"grad_output must be a scalar when the loss is reduced"),
    (lambda: fld.mse_loss(_x(), _x(), reduction="none", return_grad=True, grad_output=np.ones((6, 3), np.float32)),
     ValueError, r"grad_output shape \(6, 3\) must equal the loss shape \(6, 4\)"),
    (lambda: fld.mse_loss(_x(), _x(), foo=1), TypeError, r"unexpected keyword argument 'foo'"),
    (lambda: fld.mse_loss(_x()[_x()[:, 0] > 0], _x()[_x()[:, 0] > 0]), ValueError, r"unknown chunk sizes"),
    (lambda: fld.mse_loss(_x(), _x(), n_threads=0), ValueError, r"n_threads must be None or a positive int"),
]  # fmt: skip


@pytest.mark.parametrize("call, exc, pattern", BUILD_ERRORS)
def test_errors_when_the_graph_is_built(call: Any, exc: Any, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        call()


def test_errors_of_values_when_the_blocks_run() -> None:
    x = da.zeros((6, 4), chunks=3, dtype=np.float32)
    loss = fld.cross_entropy(x, da.from_array(np.array([0, 1, 2, 3, 4, 0]), chunks=3))  # 4: out of range
    with pytest.raises(IndexError):
        loss.compute()
    logits = da.zeros((2, 5, 3), chunks=(1, 2, 3), dtype=np.float32)
    targets = np.zeros((2, 5), np.int64)
    with pytest.raises(ValueError, match=r"lengths must be in \[0, 5\]; got 6"):
        fld.sequence_cross_entropy(logits, targets, lengths=np.array([6, 1])).compute()


def test_accumulator_accepts_the_dask_functions() -> None:
    x = np.linspace(-1, 1, 12).reshape(4, 3)
    acc = LossAccumulator(fld.l1_loss).update(x, x[::-1])
    assert acc.compute() == fl.l1_loss(x, x[::-1])


# ----------------------------------------------------------------------- dask.distributed
@pytest.fixture(scope="module")
def client() -> Any:
    """A LocalCluster of two worker processes (one thread each), started and closed here."""
    distributed = pytest.importorskip("distributed", reason="needs dask.distributed (pip install fastloss[dask])")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_on_a_cluster_of_worker_processes(client: Any) -> None:
    data = make("cross_entropy", "weight+ignore+smooth", 400, np.float32, c=17)
    x, t = data.arrays
    dx, dt = da.from_array(x, chunks=(90, 5)), da.from_array(t, chunks=70)
    loss, grad = fld.cross_entropy(dx, dt, **data.options, return_grad=True)
    got = client.compute([loss, grad], sync=True)
    want = fl.cross_entropy(x, t, **data.options, return_grad=True)
    assert_bitwise(got[0], want[0], "cross_entropy")
    assert_bitwise(got[1], want[1], "cross_entropy grad")
    assert len(client.scheduler_info()["workers"]) == 2

    m = make("mse_loss", "", 500, np.float64)
    got = client.compute(fld.mse_loss(da.from_array(m.arrays[0], chunks=(64, 2)), m.arrays[1]), sync=True)
    np.testing.assert_allclose(got, fl.mse_loss(*m.arrays), rtol=1e-12)

    g = make("gaussian_nll_loss", "col", 300, np.float32)
    lazy = fld.gaussian_nll_loss(*(da.from_array(a, chunks=64) for a in g.arrays), **g.options, return_grad=True)
    got_loss, (got_dx, got_dvar) = client.compute(lazy, sync=True)
    want_loss, (want_dx, want_dvar) = fl.gaussian_nll_loss(*g.arrays, **g.options, return_grad=True)
    assert_bitwise(got_loss, want_loss)
    assert_bitwise(got_dx, want_dx)
    assert_bitwise(got_dvar, want_dvar)


def test_doc_recipe_for_an_existing_cluster(client: Any) -> None:
    """The code of docs/accumulate_dask.md's cluster recipe, on this test's cluster."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    assert 'Client("tcp://scheduler-address:8786")' in text
    head, rest = text.split("<!-- cluster recipe -->")
    before, block = rest.split("```python\n", 1)
    code = "\n" * (head.count("\n") + before.count("\n") + 1) + block.split("```")[0]
    code = code.replace('Client("tcp://scheduler-address:8786")', "Client(address)")
    namespace = {"address": client.scheduler.address, "__name__": "__doc_recipe__"}
    from distributed import get_task_stream

    with get_task_stream(client) as tasks:
        exec(compile(code, DOC, "exec"), namespace)
    assert np.isfinite(namespace["loss"]) and namespace["grad_norm"] > 0
    assert len(tasks.data) >= 16, "the recipe's tasks ran on the cluster"


# ------------------------------------------------------------------------ documentation
def test_doc_recipes_run_as_written(tmp_path: Any, monkeypatch: Any) -> None:
    blocks = runnable_blocks("dask")
    assert blocks, "the dask recipes of docs/accumulate_dask.md are marked runnable"
    monkeypatch.chdir(tmp_path)
    namespace: Dict[str, Any] = {"__name__": "__doc_recipe__"}
    for code in blocks:
        exec(compile(code, DOC, "exec"), namespace)
    assert (tmp_path / "logits.npy").exists()
