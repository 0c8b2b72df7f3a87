"""The benchmark cases: what is computed, on which sizes, and by which peers.

Adding a benchmark: add a Case to the list that build_cases() returns (a name, the problem
sizes, a function that makes the inputs, the bytes per element of the minimal pass, and a dict
of peer builders, the first being fastloss). Sizes are shapes, so (4096, 32000) logits work as
well as (10**6,); every table, the JSON and the plot follow the list.

The "numpy" peer runs fastloss._reference, the plain NumPy formulas that the test-suite checks
fastloss against (in float64), here in float32. The "numpy out=" peers below are a different
implementation, specialised to avoid temporaries, and timed as such.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import fastloss as fl
import numpy as np
from fastloss import _reference as ref
from peers import (
    Inputs,
    PeerBuilder,
    Run,
    Shape,
    fastloss_grad_out_peer,
    fastloss_peer,
    jax,
    jax_peer,
    jnp,
    numpy_out_peer,
    numpy_peer,
    torch,
    torch_peer,
)


@dataclass
class Case:
    """One benchmarked computation and the peers that compute it."""

    name: str
    description: str
    sizes: List[Shape]
    quick_sizes: List[Shape]
    make_inputs: Callable[[Shape, np.random.Generator], Inputs]
    bytes_per_element: float  # minimal memory traffic of the fused pass, per element
    peers: Dict[str, PeerBuilder]  # the first entry is the baseline (fastloss)
    check_rtol: Optional[float] = 1e-3  # results must match the baseline's (None: no check)
    peak_memory: bool = False  # also measure each peer's extra peak memory (fresh subprocess per peer)


# --------------------------------------------------------- the NumPy / JAX formulas
# The NumPy peer's formulas are fastloss._reference's. Here: the "numpy out=" variants of mse and
# l1, the same formulas with preallocated buffers (Python scalars keep float32, NEP 50), and the
# JAX versions of the loss alone (jax differentiates them), written so that their gradients
# follow the same conventions where |.| and max(., 0) have a kink (see jax_formulas).
def np_mse_out(inp: Inputs) -> Run:
    x, y = inp.args
    d, sq = np.empty_like(x), np.empty_like(x)

    def run() -> Any:
        np.subtract(x, y, out=d)
        loss = np.mean(np.multiply(d, d, out=sq))
        return loss, np.multiply(d, 2 / d.size, out=d)

    return run


def np_l1_out(inp: Inputs) -> Run:
    x, y = inp.args
    d, g = np.empty_like(x), np.empty_like(x)

    def run() -> Any:
        np.subtract(x, y, out=d)
        loss = np.mean(np.abs(d, out=g))
        # into g, not in place: np.sign(d, out=d) is ~7x slower (NumPy 2.4, float32)
        return loss, np.divide(np.sign(d, out=g), d.size, out=g)

    return run


def jax_formulas() -> Dict[str, Callable[..., Any]]:
    """The loss alone, for jax.value_and_grad.

    l1: jax's derivative of abs at 0 is 1, not sign(0) = 0 as in torch, NumPy and fastloss
    (it shows wherever x == y, e.g. at one element of the 4M l1 inputs of --quick);
    sign(d) * d is |d| with the gradient sign(d), as jax's sign has a zero derivative.
    bce_with_logits: softplus(z) - z*y is the same stable value, and softplus's derivative
    is sigmoid(z) everywhere, whereas differentiating max(z, 0) + log1p(exp(-|z|)) gives a
    wrong gradient at z = 0.
    """
    if jax is None or jnp is None:
        return {}
    return {
        "mse": lambda x, y: jnp.mean((x - y) ** 2),
        "l1": lambda x, y: jnp.mean(jnp.sign(x - y) * (x - y)),
        "bce": lambda p, y: -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p)),
        "bce_with_logits": lambda z, y: jnp.mean(jax.nn.softplus(z) - z * y),
        "huber": lambda x, y: jnp.mean(_jax_huber(x - y)),
        "smooth_l1": lambda x, y: jnp.mean(_jax_huber(x - y)),  # beta = 1: huber with delta = 1
        "soft_margin": lambda x, y: jnp.mean(jax.nn.softplus(-y * x)),
        "hinge_embedding": lambda x, y: jnp.mean(jnp.where(y == 1, x, jnp.maximum(0.0, 1.0 - x))),
        "sigmoid_focal": lambda x, y: jnp.mean(_jax_focal(x, y)),
        "poisson_nll": lambda x, y: jnp.mean(jnp.exp(x) - y * x),
        "kl_div": lambda x, y: jnp.mean(y * (jnp.log(y) - x)),
    }


def _jax_focal(x: Any, y: Any) -> Any:
    """torchvision's sigmoid_focal_loss (alpha 0.25, gamma 2) per element."""
    assert jax is not None and jnp is not None
    p = jax.nn.sigmoid(x)
    ce = jax.nn.softplus(x) - x * y
    p_t = p * y + (1 - p) * (1 - y)
    return (0.25 * y + 0.75 * (1 - y)) * ce * (1 - p_t) ** 2


def torch_sigmoid_focal(x: Any, y: Any) -> Any:
    """torchvision.ops.sigmoid_focal_loss (alpha 0.25, gamma 2), written out, reduction 'mean'."""
    p = torch.sigmoid(x)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    return ((0.25 * y + 0.75 * (1 - y)) * ce * (1 - p_t) ** 2).mean()


def _jax_huber(d: Any) -> Any:
    """huber_loss with delta = 1 (smooth_l1_loss with beta = 1)."""
    assert jnp is not None
    a = jnp.abs(d)
    return jnp.where(a < 1.0, 0.5 * d * d, a - 0.5)


# ----------------------------------------------------------------------- the cases
ELEMENTWISE_SIZES: List[Shape] = [(10**3,), (10**4,), (10**5,), (10**6,), (4 * 10**6,), (16 * 10**6,)]
ELEMENTWISE_QUICK: List[Shape] = [(10**3,), (10**5,), (4 * 10**6,)]


def regression_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.standard_normal(shape, dtype=np.float32)
    return Inputs((x, y), {})


def probability_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    p = rng.random(shape, dtype=np.float32) * np.float32(0.96) + np.float32(0.02)
    y = (rng.random(shape, dtype=np.float32) < 0.5).astype(np.float32)
    return Inputs((p, y), {})


def logit_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    z = rng.standard_normal(shape, dtype=np.float32) * np.float32(3)
    y = (rng.random(shape, dtype=np.float32) < 0.5).astype(np.float32)
    return Inputs((z, y), {})


def _focal_mean(x: Any, y: Any) -> Any:
    """The NumPy formula with reduction 'mean', as the other cases (the loss defaults to 'none')."""
    return ref.sigmoid_focal_loss(x, y, reduction="mean")


def count_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """Log-rates and Poisson counts (poisson_nll_loss)."""
    x = rng.standard_normal(shape, dtype=np.float32)
    return Inputs((x, rng.poisson(np.exp(x)).astype(np.float32)), {})


def distribution_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """Log-probabilities and probabilities, as flat (kl_div with reduction 'mean')."""
    x = np.log(rng.random(shape, dtype=np.float32) * np.float32(0.98) + np.float32(0.01))
    return Inputs((x, rng.random(shape, dtype=np.float32)), {})


def sign_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """Scores and +-1 labels (soft margin, hinge embedding)."""
    x = rng.standard_normal(shape, dtype=np.float32) * np.float32(2)
    y = np.where(rng.random(shape, dtype=np.float32) < 0.5, np.float32(-1), np.float32(1))
    return Inputs((x, y), {})


def elementwise_case(
    name: str,
    fl_name: str,
    make_inputs: Callable[[Shape, np.random.Generator], Inputs],
    np_expr: Callable[..., Any],
    np_out: Optional[Callable[[Inputs], Run]],
    torch_name: str,
) -> Optional[Case]:
    fn = getattr(fl, fl_name, None)
    if fn is None:
        return None
    if fl_name == "sigmoid_focal_loss":  # its default reduction is "none"; every case times "mean"
        fn = functools.partial(fn, reduction="mean")
    peers: Dict[str, PeerBuilder] = {
        "fastloss": fastloss_peer(fn),
        "fastloss grad_out=": fastloss_grad_out_peer(fn),
        "numpy": numpy_peer(np_expr),
    }
    if np_out is not None:
        peers["numpy out="] = numpy_out_peer(np_out)
    if torch is not None:
        torch_fn = torch_sigmoid_focal if torch_name == "sigmoid_focal" else getattr(torch.nn.functional, torch_name)
        peers["torch"] = torch_peer(torch_fn)
    if jax is not None:
        peers["jax"] = jax_peer(jax_formulas()[name])
    return Case(
        name=name,
        description=f"fl.{fl_name}: value+grad, reduction='mean', float32",
        sizes=ELEMENTWISE_SIZES,
        quick_sizes=ELEMENTWISE_QUICK,
        make_inputs=make_inputs,
        bytes_per_element=12,  # read input (4), read target (4), write grad (4)
        peers=peers,
    )


# ------------------------------------------- two differentiable arrays (tuple gradients)
# Every peer's result is flattened to (loss, grad_1, grad_2[, grad_3]), so the results check
# compares every gradient; `grads` are the differentiable arguments' positions.
def margin_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    x1, x2 = rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape, dtype=np.float32)
    y = np.where(rng.random(shape, dtype=np.float32) < 0.5, np.float32(-1), np.float32(1))
    return Inputs((x1, x2, y), {})


def gaussian_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """Means, observations and one variance per element (heteroscedastic)."""
    x, t = rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape, dtype=np.float32)
    return Inputs((x, t, rng.uniform(0.5, 2.0, shape).astype(np.float32)), {})


def _flat(result: Any) -> Tuple[Any, ...]:
    loss, grads = result
    return (loss, *grads)


def _paired_peers(
    fn: Callable[..., Any], np_expr: Callable[..., Any], grads: Tuple[int, ...]
) -> Dict[str, PeerBuilder]:
    def plain(inp: Inputs, threads: int) -> Run:
        return lambda: _flat(fn(*inp.args, return_grad=True, n_threads=threads))

    def grad_out(inp: Inputs, threads: int) -> Run:
        bufs = tuple(np.zeros_like(inp.args[i]) for i in grads)  # pages touched now
        return lambda: _flat(fn(*inp.args, return_grad=True, grad_out=bufs, n_threads=threads))

    def numpy(inp: Inputs, threads: int) -> Run:
        return lambda: _flat(np_expr(*inp.args))

    return {"fastloss": plain, "fastloss grad_out=": grad_out, "numpy": numpy}


def _torch_paired_peer(loss: Callable[..., Any], grads: Tuple[int, ...]) -> PeerBuilder:
    def build(inp: Inputs, threads: int) -> Optional[Run]:
        if torch is None:
            return None
        args = [torch.from_numpy(a) for a in inp.args]
        for i in grads:
            args[i].requires_grad_()

        def run() -> Any:
            for i in grads:
                args[i].grad = None
            value = loss(*args)
            value.backward()
            return (value, *(args[i].grad for i in grads))

        return run

    return build


def _jax_paired_peer(loss: Callable[..., Any], grads: Tuple[int, ...]) -> PeerBuilder:
    def build(inp: Inputs, threads: int) -> Optional[Run]:
        if jax is None:
            return None
        f = jax.jit(jax.value_and_grad(loss, argnums=grads))
        args = [jax.device_put(a) for a in inp.args]
        return lambda: _flat(jax.block_until_ready(f(*args)))

    return build


def cosine_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """(N, D) pairs of rows and one +-1 label per row."""
    a, b = rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(shape, dtype=np.float32)
    y = np.where(rng.random(shape[:-1], dtype=np.float32) < 0.5, np.float32(-1), np.float32(1))
    return Inputs((a, b, y), {})


def triplet_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """(N, D) anchors, positives near them and negatives."""
    a = rng.standard_normal(shape, dtype=np.float32)
    pos = a + np.float32(0.5) * rng.standard_normal(shape, dtype=np.float32)
    return Inputs((a, pos, rng.standard_normal(shape, dtype=np.float32)), {})


ROW_SIZES: List[Shape] = [(256, 512), (4096, 512), (16384, 512)]
CLASS_ROW_SIZES: List[Shape] = [(256, 1000), (4096, 1000), (16384, 1000)]


#: bytes per element of the minimal pass: read the arrays, write the gradients
BYTES = {"margin_ranking": 20, "gaussian_nll": 20, "cosine_embedding": 16, "triplet_margin": 24}


def paired_cases() -> List[Case]:
    """margin_ranking_loss, gaussian_nll_loss, cosine_embedding_loss (float32, reduction 'mean',
    margin 0, eps 1e-6)."""
    specs = (
        ("margin_ranking", "margin_ranking_loss", margin_inputs, ref.margin_ranking_loss, (0, 1)),
        ("gaussian_nll", "gaussian_nll_loss", gaussian_inputs, ref.gaussian_nll_loss, (0, 2)),
        ("cosine_embedding", "cosine_embedding_loss", cosine_inputs, ref.cosine_embedding_loss, (0, 1)),
        ("triplet_margin", "triplet_margin_loss", triplet_inputs, ref.triplet_margin_loss, (0, 1, 2)),
    )
    jax_losses: Dict[str, Callable[..., Any]] = {}
    if jnp is not None:
        jax_losses = {
            "margin_ranking": lambda a, b, y: jnp.mean(jnp.maximum(0.0, -y * (a - b))),
            "gaussian_nll": lambda x, t, v: jnp.mean(0.5 * (jnp.log(jnp.maximum(v, 1e-6)) + (x - t) ** 2 / v)),
        }  # cosine_embedding: row-wise, torch only
    cases = []
    for name, fl_name, make_inputs, np_expr, grads in specs:
        peers = _paired_peers(getattr(fl, fl_name), np_expr, grads)
        if torch is not None:
            peers["torch"] = _torch_paired_peer(getattr(torch.nn.functional, fl_name), grads)
        if jax is not None and name in jax_losses:
            peers["jax"] = _jax_paired_peer(jax_losses[name], grads)
        rows = name in ("cosine_embedding", "triplet_margin")
        cases.append(
            Case(
                name=name,
                description=f"fl.{fl_name}: value + both gradients, reduction='mean', float32",
                sizes=ROW_SIZES if rows else ELEMENTWISE_SIZES,
                quick_sizes=ROW_SIZES[1:2] if rows else ELEMENTWISE_QUICK,
                make_inputs=make_inputs,
                bytes_per_element=BYTES[name],
                peers=peers,
            )
        )
    return cases


# ---------------------------------------------------------------- one loss per row
def multilabel_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """Logits and 0/1 labels (about 1 in 10 classes on) of the same shape."""
    return Inputs((rng.standard_normal(shape, dtype=np.float32), (rng.random(shape) < 0.1).astype(np.float32)), {})


def class_row_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """Scores and one int64 class per row."""
    return Inputs((rng.standard_normal(shape, dtype=np.float32), rng.integers(0, shape[-1], shape[:-1])), {})


def class_list_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """Scores and per row 3 distinct int64 target classes, then -1 (multilabel_margin_loss)."""
    x = rng.standard_normal(shape, dtype=np.float32)
    targets = np.full(shape, -1, dtype=np.int64)
    targets[:, :3] = np.argsort(rng.random(shape), axis=1)[:, :3]
    return Inputs((x, targets), {})


def row_cases() -> List[Case]:
    """The losses of one value per row (float32, reduction 'mean', default settings)."""
    specs = (
        ("multilabel_soft_margin", multilabel_inputs, ROW_SIZES, 12),  # read x, y; write grad
        ("multi_margin", class_row_inputs, CLASS_ROW_SIZES, 8),  # read x; write grad
        ("multilabel_margin", class_list_inputs, CLASS_ROW_SIZES, 16),  # read x, int64 targets; write grad
    )
    cases = []
    for name, make_inputs, sizes, bytes_per_element in specs:
        fn = getattr(fl, f"{name}_loss")
        peers: Dict[str, PeerBuilder] = {
            "fastloss": fastloss_peer(fn),
            "fastloss grad_out=": fastloss_grad_out_peer(fn),
            "numpy": numpy_peer(getattr(ref, f"{name}_loss")),
        }
        if torch is not None:
            peers["torch"] = torch_peer(getattr(torch.nn.functional, f"{name}_loss"))
        cases.append(
            Case(
                name=name,
                description=f"fl.{name}_loss: value+grad, reduction='mean', float32",
                sizes=sizes,
                quick_sizes=sizes[1:2],
                make_inputs=make_inputs,
                bytes_per_element=bytes_per_element,
                peers=peers,
            )
        )
    return cases


# ------------------------------------------------------------- half precision
HALF_SPECS = (("mse", "mse_loss"), ("l1", "l1_loss"))


def half_dtype(name: str) -> Optional[Any]:
    """np.float16, or ml_dtypes' bfloat16 (None when ml_dtypes is not installed)."""
    if name == "float16":
        return np.dtype(np.float16)
    try:
        import ml_dtypes
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


def half_inputs(dtype: Any) -> Callable[[Shape, np.random.Generator], Inputs]:
    def make(shape: Shape, rng: np.random.Generator) -> Inputs:
        x, y = regression_inputs(shape, rng).args
        return Inputs((x.astype(dtype), y.astype(dtype)), {})

    return make


def float32_peer(fn: Callable[..., Any]) -> PeerBuilder:
    """fastloss on the same values in float32 (widened once, outside the timing)."""

    def build(inp: Inputs, threads: int) -> Run:
        args = tuple(a if a.dtype.kind in "iu" else a.astype(np.float32) for a in inp.args)
        grad = np.empty_like(args[0])
        return lambda: fn(*args, return_grad=True, grad_out=grad, n_threads=threads)

    return build


def torch_half_peer(loss: Callable[..., Any]) -> PeerBuilder:
    """torch in the same half dtype (a bfloat16 array is viewed as a torch.bfloat16 tensor)."""

    def as_tensor(a: np.ndarray) -> Any:
        if a.dtype == np.float16 or a.dtype.kind in "iu":  # float16, or class targets
            return torch.from_numpy(a)
        return torch.from_numpy(a.view(np.uint16)).view(torch.bfloat16)

    def build(inp: Inputs, threads: int) -> Optional[Run]:
        x = as_tensor(inp.args[0]).requires_grad_()
        rest = [as_tensor(a) for a in inp.args[1:]]

        def run() -> Any:
            x.grad = None
            value = loss(x, *rest)
            value.backward()
            return value, x.grad

        return run

    return build


def half_case(name: str, fl_name: str, dtype_name: str) -> Optional[Case]:
    """A memory-bound loss in a half dtype: 6 bytes per element instead of float32's 12."""
    dtype, fn = half_dtype(dtype_name), getattr(fl, fl_name)
    if dtype is None:
        return None
    peers: Dict[str, PeerBuilder] = {
        "fastloss": fastloss_peer(fn),
        "fastloss grad_out=": fastloss_grad_out_peer(fn),
        "fastloss float32": float32_peer(fn),
    }
    if torch is not None:
        peers["torch"] = torch_half_peer(getattr(torch.nn.functional, fl_name))
    return Case(
        name=f"{name}_{dtype_name}",
        description=f"fl.{fl_name}: value+grad, reduction='mean', {dtype_name} (float32 peer: the same values)",
        sizes=ELEMENTWISE_SIZES,
        quick_sizes=ELEMENTWISE_QUICK,
        make_inputs=half_inputs(dtype),
        bytes_per_element=6,  # read input (2), read target (2), write grad (2)
        peers=peers,
        # Half rounding of each value (bfloat16: 2^-8 relative), and more: a mean's gradient over
        # millions of elements (~1e-7) is subnormal in float16, a few significant bits at most.
        check_rtol=0.1,
    )


def class_half_case(base: Case, dtype_name: str, torch_fn: Optional[Callable[..., Any]]) -> Optional[Case]:
    """A cross-entropy case (`base`) with its logits in a half dtype: 4 bytes per logit moved
    instead of float32's 8; the float32 peer computes on the same values."""
    dtype = half_dtype(dtype_name)
    if dtype is None:
        return None
    fn = base.peers["fastloss"]
    fl_fn = getattr(fl, base.name)
    peers: Dict[str, PeerBuilder] = {
        "fastloss": fn,
        "fastloss grad_out=": fastloss_grad_out_peer(fl_fn),
        "fastloss float32": float32_peer(fl_fn),
    }
    if torch is not None and torch_fn is not None:
        peers["torch"] = torch_half_peer(torch_fn)

    def make(shape: Shape, rng: np.random.Generator) -> Inputs:
        x, t = base.make_inputs(shape, rng).args
        return Inputs((x.astype(dtype), t), {})

    return Case(
        name=f"{base.name}_{dtype_name}",
        description=base.description.replace("float32", f"{dtype_name} (float32 peer: the same values)"),
        sizes=base.sizes[-1:],
        quick_sizes=base.quick_sizes[-1:],
        make_inputs=make,
        bytes_per_element=4,  # per logit: read logits (2), write grad (2)
        peers=peers,
        check_rtol=0.1,  # half rounding of each gradient element (bfloat16: 2^-8 relative)
    )


# ----------------------------------------------------- cross-entropy and SGD cases
def torch_sequence_cross_entropy(x: Any, t: Any) -> Any:
    return torch.nn.functional.cross_entropy(x.reshape(-1, x.shape[-1]), t.reshape(-1))


def jax_cross_entropy(x: Any, t: Any) -> Any:
    assert jax is not None and jnp is not None
    picked = jnp.take_along_axis(x, t[:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(x, axis=1) - picked)


def class_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """Logits of shape (..., C) (standard normal, float32) and int64 class targets of shape (...)."""
    x = rng.standard_normal(shape, dtype=np.float32)
    t = rng.integers(0, shape[-1], size=shape[:-1], dtype=np.int64)
    return Inputs((x, t), {})


def cross_entropy_case() -> Case:
    peers: Dict[str, PeerBuilder] = {
        "fastloss": fastloss_peer(fl.cross_entropy),
        "fastloss grad_out=": fastloss_grad_out_peer(fl.cross_entropy),
        "numpy": numpy_peer(ref.cross_entropy),
    }
    if torch is not None:
        peers["torch"] = torch_peer(torch.nn.functional.cross_entropy)
    if jax is not None:
        peers["jax"] = jax_peer(jax_cross_entropy)
    return Case(
        name="cross_entropy",
        description="fl.cross_entropy: value+grad, (N, C) logits, int64 targets, reduction='mean', float32",
        sizes=[(64, 1000), (8192, 128), (4096, 32000)],
        quick_sizes=[(64, 1000), (8192, 128), (1024, 32000)],
        make_inputs=class_inputs,
        bytes_per_element=8,  # per logit: read logits (4), write grad (4); targets are N int64s
        peers=peers,
    )


def sequence_cross_entropy_case() -> Case:
    peers: Dict[str, PeerBuilder] = {
        "fastloss": fastloss_peer(fl.sequence_cross_entropy),
        "fastloss grad_out=": fastloss_grad_out_peer(fl.sequence_cross_entropy),
        "numpy": numpy_peer(ref.sequence_cross_entropy),
    }
    if torch is not None:
        peers["torch"] = torch_peer(torch_sequence_cross_entropy)
    if jax is not None:
        peers["jax"] = jax_peer(lambda x, t: jax_cross_entropy(x.reshape(-1, x.shape[-1]), t.reshape(-1)))
    return Case(
        name="sequence_cross_entropy",
        description="fl.sequence_cross_entropy: value+grad, (B, T, V) logits, reduction='mean' over tokens, float32",
        sizes=[(8, 512, 32000)],
        quick_sizes=[(2, 128, 32000)],
        make_inputs=class_inputs,
        bytes_per_element=8,
        peers=peers,
        peak_memory=True,
    )


def ctc_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    """shape (T, N, C, S): float32 log_softmax log-probabilities (T, N, C), padded int64 targets
    (N, S) of S/2..S labels (no blank), every input length T."""
    T, N, C, S = shape
    z = rng.standard_normal((T, N, C), dtype=np.float32)
    lp = (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(np.float32)
    targets = rng.integers(1, C, (N, S), dtype=np.int64)
    return Inputs((lp, targets, np.full(N, T, np.int64), rng.integers(S // 2, S + 1, N, dtype=np.int64)), {})


def ctc_case() -> Case:
    peers: Dict[str, PeerBuilder] = {
        "fastloss": fastloss_peer(fl.ctc_loss),
        "fastloss grad_out=": fastloss_grad_out_peer(fl.ctc_loss),
        "numpy": numpy_peer(ref.ctc_loss),
    }
    if torch is not None:
        peers["torch"] = torch_peer(torch.nn.functional.ctc_loss)
    return Case(
        name="ctc_loss",
        description="fl.ctc_loss: value+grad, (T, N, C) log-probabilities, padded targets (N, S), "
        "reduction='mean', float32; shape (T, N, C, S)",
        sizes=[(200, 32, 64, 50), (500, 16, 1000, 100)],
        quick_sizes=[(200, 32, 64, 50)],
        make_inputs=ctc_inputs,
        # the elements counted are T N C S: reading the log-probabilities and writing the gradient,
        # 8 bytes per log-probability, is 8 / S per counted element
        bytes_per_element=8 / 50,
        peers=peers,
        # float32 alpha / beta over 500 steps: the gradient is within ~2e-3 of its largest element of
        # the float64 value (torch's float32 too), the loss within 1e-7
        check_rtol=1e-2,
    )


SGD_LR, SGD_WD = 0.01, 0.01


def sgd_inputs(shape: Shape, rng: np.random.Generator) -> Inputs:
    p = rng.standard_normal(shape, dtype=np.float32)
    g = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.1)
    return Inputs((p, g), {})


# SGD peers: each works on its own copy of the parameters (the step updates them in place,
# so every peer's first step starts from the same values and can be checked), and returns
# (p,) for the check; repeated steps keep updating the same array.
def sgd_fastloss_peer(inp: Inputs, threads: int) -> Run:
    p, g = inp.args[0].copy(), inp.args[1]

    def run() -> Any:
        fl.sgd_step([p], [g], SGD_LR, weight_decay=SGD_WD, n_threads=threads)
        return (p,)

    return run


def sgd_fastloss_class_peer(inp: Inputs, threads: int) -> Run:
    p, g = inp.args[0].copy(), inp.args[1]
    opt = fl.SGD([p], lr=SGD_LR, weight_decay=SGD_WD, n_threads=threads)

    def run() -> Any:
        opt.step([g])
        return (p,)

    return run


def sgd_numpy_peer(inp: Inputs, threads: int) -> Run:
    p, g = inp.args[0].copy(), inp.args[1]

    def step(p: np.ndarray, g: np.ndarray) -> Any:
        p -= SGD_LR * (g + SGD_WD * p)
        return (p,)

    return lambda: step(p, g)


def sgd_torch_peer(inp: Inputs, threads: int) -> Optional[Run]:
    if torch is None:
        return None
    p_np = inp.args[0].copy()
    p = torch.from_numpy(p_np)  # shares memory with p_np
    p.grad = torch.from_numpy(inp.args[1])  # set once
    opt = torch.optim.SGD([p], lr=SGD_LR, weight_decay=SGD_WD)

    def run() -> Any:
        opt.step()
        return (p_np,)

    return run


def sgd_case() -> Case:
    peers: Dict[str, PeerBuilder] = {
        "fastloss": sgd_fastloss_peer,
        "fastloss SGD.step": sgd_fastloss_class_peer,
        "numpy": sgd_numpy_peer,
    }
    if torch is not None:
        peers["torch"] = sgd_torch_peer
    return Case(
        name="sgd",
        description=(
            f"fl.sgd_step: one in-place SGD step, lr={SGD_LR}, weight_decay={SGD_WD}, no momentum, "
            "float32 (numpy: p -= lr * (g + wd * p); torch: torch.optim.SGD.step)"
        ),
        sizes=[(10**7,)],
        quick_sizes=[(2 * 10**6,)],
        make_inputs=sgd_inputs,
        bytes_per_element=12,  # read p (4), read g (4), write p (4)
        peers=peers,
    )


def build_cases() -> Tuple[List[Case], List[str]]:
    """All benchmark cases: the elementwise losses, cross_entropy, sequence CE, SGD, CTC."""
    # (case name, fastloss function, inputs, NumPy formula, NumPy out= variant, torch function)
    specs: List[
        Tuple[
            str,
            str,
            Callable[[Shape, np.random.Generator], Inputs],
            Callable[..., Any],
            Optional[Callable[[Inputs], Run]],
            str,
        ]
    ] = [
        ("mse", "mse_loss", regression_inputs, ref.mse_loss, np_mse_out, "mse_loss"),
        ("l1", "l1_loss", regression_inputs, ref.l1_loss, np_l1_out, "l1_loss"),
        ("huber", "huber_loss", regression_inputs, ref.huber_loss, None, "huber_loss"),
        ("smooth_l1", "smooth_l1_loss", regression_inputs, ref.smooth_l1_loss, None, "smooth_l1_loss"),
        ("sigmoid_focal", "sigmoid_focal_loss", logit_inputs, _focal_mean, None, "sigmoid_focal"),
        ("poisson_nll", "poisson_nll_loss", count_inputs, ref.poisson_nll_loss, None, "poisson_nll_loss"),
        ("kl_div", "kl_div", distribution_inputs, ref.kl_div, None, "kl_div"),
        ("soft_margin", "soft_margin_loss", sign_inputs, ref.soft_margin_loss, None, "soft_margin_loss"),
        (
            "hinge_embedding",
            "hinge_embedding_loss",
            sign_inputs,
            ref.hinge_embedding_loss,
            None,
            "hinge_embedding_loss",
        ),
        ("bce", "binary_cross_entropy", probability_inputs, ref.binary_cross_entropy, None, "binary_cross_entropy"),
        (
            "bce_with_logits",
            "binary_cross_entropy_with_logits",
            logit_inputs,
            ref.binary_cross_entropy_with_logits,
            None,
            "binary_cross_entropy_with_logits",
        ),
    ]
    cases, skipped = [], []
    for spec in specs:
        case = elementwise_case(*spec)
        if case is None:
            skipped.append(f"{spec[0]}: fastloss has no {spec[1]} yet; skipped")
        else:
            cases.append(case)
    cases += paired_cases() + row_cases()
    for name, fl_name in HALF_SPECS:
        for dtype_name in ("float16", "bfloat16"):
            case = half_case(name, fl_name, dtype_name)
            if case is None:
                skipped.append(f"{name}_{dtype_name}: needs ml_dtypes (pip install ml_dtypes); skipped")
            else:
                cases.append(case)
    more = (
        ("cross_entropy", cross_entropy_case),
        ("sequence_cross_entropy", sequence_cross_entropy_case),
        ("sgd_step", sgd_case),
        ("ctc_loss", ctc_case),
    )
    for fl_name, make_case in more:
        if getattr(fl, fl_name, None) is None:
            skipped.append(f"fastloss has no {fl_name} yet; its case is skipped")
        else:
            cases.append(make_case())
    # The cross-entropy cases again with half-precision logits, next to their float32 runs.
    torch_ce = {"cross_entropy": None, "sequence_cross_entropy": None}
    if torch is not None:
        torch_ce = {
            "cross_entropy": torch.nn.functional.cross_entropy,
            "sequence_cross_entropy": torch_sequence_cross_entropy,
        }
    for base in [c for c in cases if c.name in torch_ce]:
        at = cases.index(base) + 1
        for dtype_name in ("bfloat16", "float16"):
            half = class_half_case(base, dtype_name, torch_ce[base.name])
            if half is None:
                skipped.append(f"{base.name}_{dtype_name}: needs ml_dtypes (pip install ml_dtypes); skipped")
            else:
                cases.insert(at, half)
    return cases, skipped
