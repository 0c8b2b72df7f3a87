"""The language-model head: ``linear_cross_entropy``, the final projection and its cross-entropy
without materialising the ``(N, V)`` logits (torch 2.13's ``F.linear_cross_entropy``).

Rows are processed in chunks. For each chunk: its logits go into one reused ``(rows, V)``
buffer through BLAS (NumPy's matmul, which releases the GIL and runs OpenBLAS's threads); the
cross-entropy kernel (``_core.cross_entropy``, the z-loss included) turns them into the loss and,
in place, into ``dlogits``; then ``d_weight += dlogits.T @ x_chunk`` (in blocks of the
vocabulary, so the accumulation's temporary stays small), ``d_input_chunk = dlogits @ W`` and
``d_bias += dlogits.sum(0)``. The extra memory is the chunk buffer and one block, not the logits.

It is not a row of the spec table (``_spec.py``): its arrays, its two or three gradients and
its chunking fit none of the kernel families; it is built on cross_entropy's kernel, whose
semantics (weights, ``ignore_index``, label smoothing, probability targets, z-loss) it has.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Tuple, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _core
from . import functional as _functional

#: functional's argument checks (its stubs show only the losses)
F: Any = _functional

FloatArray = NDArray[np.floating[Any]]
Loss = Union[np.floating[Any], FloatArray]
#: (d_input, d_weight) or (d_input, d_weight, d_bias)
Grads = Tuple[FloatArray, ...]
Reduction = Literal["mean", "sum", "none"]

__all__ = ["linear_cross_entropy"]

_FN = "linear_cross_entropy"
_REDUCTIONS = {r: _core.reductions[r] for r in ("mean", "sum", "none")}
#: The logits chunk when chunk_size is None: a sixteenth of the logits, within [16, 64] MiB.
#: Measured at (N, H, V) = (2048, 1024, 32000) float32, 2 threads, Zen 5: fwd+bwd 2.32 s at 8 MiB
#: chunks, 2.01 s at 16, 1.86 s at 32, 1.61 s at 64 (the three GEMMs alone: 1.59 s): the
#: d_weight GEMM sums over a chunk's rows, and short sums run below BLAS's peak. A sixteenth
#: keeps one call's extra peak memory (chunk, block, BLAS's workspace) under a quarter of the
#: logits from N = 2048 up.
_CHUNK_BYTES = (16 << 20, 64 << 20)
#: vocabulary rows per block of the d_weight accumulation (its temporary: block x H)
_VOCAB_BLOCK = 2048


@overload
def linear_cross_entropy(
    input: ArrayLike,
    linear_weight: ArrayLike,
    target: ArrayLike,
    *,
    linear_bias: Optional[ArrayLike] = ...,
    weight: Optional[ArrayLike] = ...,
    reduction: Reduction = ...,
    ignore_index: int = ...,
    label_smoothing: float = ...,
    lse_square_scale: float = ...,
    chunk_size: Optional[int] = ...,
    return_z_loss: Literal[False] = ...,
    return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ...,
    grad_out: Optional[Tuple[Optional[FloatArray], ...]] = ...,
    n_threads: Optional[int] = ...,
) -> Loss: ...
@overload
def linear_cross_entropy(
    input: ArrayLike,
    linear_weight: ArrayLike,
    target: ArrayLike,
    *,
    linear_bias: Optional[ArrayLike] = ...,
    weight: Optional[ArrayLike] = ...,
    reduction: Reduction = ...,
    ignore_index: int = ...,
    label_smoothing: float = ...,
    lse_square_scale: float = ...,
    chunk_size: Optional[int] = ...,
    return_z_loss: Literal[False] = ...,
    return_grad: Literal[True],
    grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ...,
    grad_out: Optional[Tuple[Optional[FloatArray], ...]] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, Grads]: ...
@overload
def linear_cross_entropy(
    input: ArrayLike,
    linear_weight: ArrayLike,
    target: ArrayLike,
    *,
    linear_bias: Optional[ArrayLike] = ...,
    weight: Optional[ArrayLike] = ...,
    reduction: Reduction = ...,
    ignore_index: int = ...,
    label_smoothing: float = ...,
    lse_square_scale: float = ...,
    chunk_size: Optional[int] = ...,
    return_z_loss: Literal[True],
    return_grad: Literal[False] = ...,
    grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ...,
    grad_out: Optional[Tuple[Optional[FloatArray], ...]] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, Loss]: ...
@overload
def linear_cross_entropy(
    input: ArrayLike,
    linear_weight: ArrayLike,
    target: ArrayLike,
    *,
    linear_bias: Optional[ArrayLike] = ...,
    weight: Optional[ArrayLike] = ...,
    reduction: Reduction = ...,
    ignore_index: int = ...,
    label_smoothing: float = ...,
    lse_square_scale: float = ...,
    chunk_size: Optional[int] = ...,
    return_z_loss: Literal[True],
    return_grad: Literal[True],
    grad_output: ArrayLike = ...,
    out: Optional[FloatArray] = ...,
    grad_out: Optional[Tuple[Optional[FloatArray], ...]] = ...,
    n_threads: Optional[int] = ...,
) -> Tuple[Loss, Loss, Grads]: ...
def linear_cross_entropy(
    input: ArrayLike,
    linear_weight: ArrayLike,
    target: ArrayLike,
    *,
    linear_bias: Optional[ArrayLike] = None,
    weight: Optional[ArrayLike] = None,
    reduction: Reduction = "mean",
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    lse_square_scale: float = 0.0,
    chunk_size: Optional[int] = None,
    return_z_loss: bool = False,
    return_grad: bool = False,
    grad_output: ArrayLike = 1.0,
    out: Optional[FloatArray] = None,
    grad_out: Optional[Tuple[Optional[FloatArray], ...]] = None,
    n_threads: Optional[int] = None,
) -> Any:
    """Cross-entropy of a linear projection, ``cross_entropy(input @ linear_weight.T + linear_bias, target)``,
    without the ``(N, V)`` logits; torch 2.13: ``F.linear_cross_entropy``.

    The language-model head: ``input`` ``(N, H)`` hidden states, ``linear_weight`` ``(V, H)`` the
    output projection, ``target`` ``(N,)`` class indices (or ``(N, V)`` probabilities). Rows are
    processed in chunks of ``chunk_size``: a chunk's logits are computed into one reused buffer by
    NumPy's matmul (BLAS), turned into its loss and, in place, its ``dlogits`` by the fused
    cross-entropy kernel, which then give ``d_input`` and accumulate ``d_weight`` (and
    ``d_bias``). Peak extra memory: the ``(chunk_size, V)`` buffer (by default a sixteenth of
    the logits, within 16 to 64 MiB) plus a ``(2048, H)`` block, never the logits (half-precision
    inputs also hold float32 copies of ``linear_weight`` and ``d_weight``: BLAS has no half GEMM).
    The semantics are :func:`cross_entropy`'s on those logits (``weight``, ``ignore_index``,
    ``label_smoothing``, probability targets, the z-loss); the result equals the unfused
    ``cross_entropy(input @ linear_weight.T + linear_bias, ...)``
    to float32 round-off. Results are the same, bit for bit, for any ``n_threads`` (the kernel's
    threads) and a given BLAS thread count; OpenBLAS's own GEMM rounding changes with its thread
    count (measured: 1 vs 2 threads differ in the last bits), so fix it (``threadpoolctl``) for
    bitwise reproducibility across machines. ``chunk_size`` changes the order of the
    ``d_weight`` sums. Unlike torch, the
    weight must be 2-D (torch's K-dimensional weights are not supported) and ``ignore_index``
    is an int (torch's ``None`` default means -100).

    Parameters
    ----------
    input : array_like
        Hidden states: a float32, float64, float16 or bfloat16 array of shape ``(N, H)`` or ``(H,)``.
    linear_weight : array_like
        The projection ``(V, H)``, of ``input``'s dtype.
    target : array_like
        Class indices of any integer dtype, shape ``(N,)`` (``()`` for 1-D input), in ``[0, V)`` or
        ``ignore_index``; or class probabilities ``(N, V)`` (``(V,)``) of ``input``'s dtype.
    linear_bias : array_like, optional
        The projection's bias ``(V,)``, of ``input``'s dtype.
    weight : array_like, optional
        One weight per class ``(V,)``, of ``input``'s dtype, as in :func:`cross_entropy`.
    reduction : {"mean", "sum", "none"}, default "mean"
        As :func:`cross_entropy`: ``"mean"`` divides by the sum of the counted targets' weights (by
        ``N`` for probability targets); ``"none"`` gives the per-row loss ``(N,)``.
    ignore_index : int, default -100
        A target that is not a class: its rows count 0 and get a zero gradient.
    label_smoothing : float, default 0.0
        In [0, 1], as :func:`cross_entropy`.
    lse_square_scale : float, default 0.0
        The z-loss scale ``s`` (``s * logsumexp(logits)**2`` per counted row), as :func:`cross_entropy`.
    chunk_size : int, optional
        Rows per chunk; ``None``: a sixteenth of the rows, within 16 to 64 MiB of logits (at least 1 row).
    return_z_loss : bool, default False
        Also return the z-loss term alone: ``(loss, z_loss)``, or ``(loss, z_loss, grads)``.
    return_grad : bool, default False
        Also return the gradients: ``(loss, (d_input, d_weight))``, or ``(loss, (d_input, d_weight,
        d_bias))`` when ``linear_bias`` is given.
    grad_output : float or array_like, default 1.0
        The upstream gradient ``d(objective)/d(loss)``: a scalar, or for ``"none"`` an array of the
        loss's shape. Used only with ``return_grad=True``.
    out : ndarray, optional
        A C-contiguous, aligned, writeable array of ``input``'s dtype and the loss's shape: the loss
        is written there and returned.
    grad_out : tuple of ndarray or None, optional
        Buffers for ``(d_input, d_weight[, d_bias])`` (``return_grad=True`` only), each ``None`` or a
        C-contiguous, aligned, writeable array of its array's shape and dtype. ``d_input`` may be
        ``input`` itself; no other buffer may overlap an argument.
    n_threads : int, optional
        Threads of the cross-entropy kernel (``None``: ``max_threads()``). The GEMMs run on
        OpenBLAS's threads (set with ``threadpoolctl`` or ``OPENBLAS_NUM_THREADS``).

    Returns
    -------
    loss : numpy.floating or ndarray
        For ``"mean"`` and ``"sum"`` a NumPy scalar of ``input``'s dtype (or the 0-d ``out``); for
        ``"none"`` the per-row loss (``out`` when given).
    grads : tuple of ndarray
        Only with ``return_grad=True``: ``grad_output`` times the gradients of ``loss`` with
        respect to ``input``, ``linear_weight`` and (when given) ``linear_bias``, each of its array's
        shape and dtype.

    Examples
    --------
    >>> import numpy as np, fastloss as fl
    >>> x, W = np.array([[1.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> round(float(fl.linear_cross_entropy(x, W, np.array([1]))), 6)
    0.313262
    >>> loss, (d_x, d_W) = fl.linear_cross_entropy(x, W, np.array([1]), return_grad=True)
    >>> d_W.round(4)
    array([[ 0.2689,  0.    ],
           [-0.2689,  0.    ]])
    """
    fn = _FN
    code = F._reduction_code(fn, reduction, _REDUCTIONS)
    threads = F._thread_count(fn, n_threads)
    x = F._as_input(fn, input)
    if x.dtype.kind != "f" and x.dtype.name != "bfloat16":
        raise TypeError(f"{fn}: input must be float32, float64, float16 or bfloat16; got dtype {x.dtype}")
    if x.ndim not in (1, 2):
        raise ValueError(f"{fn}: input must have shape (N, H) or (H,); got shape {x.shape}")
    unbatched = x.ndim == 1
    x2 = x[None, :] if unbatched else x
    N, H = x2.shape
    W = _operand(fn, "linear_weight", linear_weight, x.dtype)
    if W is None or W.ndim != 2 or W.shape[1] != H:
        got = None if W is None else W.shape
        raise ValueError(f"{fn}: linear_weight must have shape (V, {H}) for input shape {x.shape}; got shape {got}")
    V = W.shape[0]
    bias = _operand(fn, "linear_bias", linear_bias, x.dtype)
    if bias is not None and bias.shape != (V,):
        raise ValueError(f"{fn}: linear_bias must have shape ({V},); got shape {bias.shape}")
    class_weight = _operand(fn, "weight", weight, x.dtype)
    if class_weight is not None and class_weight.shape != (V,):
        raise ValueError(f"{fn}: weight must have shape ({V},), one value per class; got shape {class_weight.shape}")
    ignore_index = F._index_argument(fn, "ignore_index", ignore_index)
    label_smoothing = F._real_argument(fn, "label_smoothing", label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1]; got {label_smoothing!r}")
    lse_square_scale = F._real_argument(fn, "lse_square_scale", lse_square_scale)
    if not (lse_square_scale >= 0.0 and np.isfinite(lse_square_scale)):
        raise ValueError(f"{fn}: lse_square_scale must be a finite number >= 0; got {lse_square_scale!r}")
    return_z_loss = (
        F._flag_argument(fn, "return_z_loss", return_z_loss) if type(return_z_loss) is not bool else return_z_loss
    )
    return_grad = F._flag_argument(fn, "return_grad", return_grad) if type(return_grad) is not bool else return_grad
    t = F._as_class_target(fn, target, x.dtype)
    probs = t.dtype.kind not in "iu"
    t2 = _checked_target(fn, t, probs, x.dtype, unbatched, N, V, ignore_index)
    rows = _chunk_rows(fn, chunk_size, N, V, x.dtype)
    loss_shape: Tuple[int, ...] = (() if unbatched else (N,)) if reduction == "none" else ()
    if out is not None:
        _check_buffer(fn, "out", out, loss_shape, x.dtype)
    go: Any = 1.0
    if return_grad:
        go = F._as_grad_output(fn, grad_output, x.dtype)
        if isinstance(go, np.ndarray):
            if reduction != "none":
                raise ValueError(
                    f"{fn}: grad_output must be a scalar for reduction={reduction!r}; got shape {go.shape}"
                )
            if go.shape != loss_shape or go.dtype != x.dtype:
                raise ValueError(
                    f"{fn}: grad_output must be a scalar or a {x.dtype} array of shape {loss_shape}; "
                    f"got {go.dtype} array of shape {go.shape}"
                )
    elif grad_out is not None:
        raise ValueError(f"{fn}: grad_out needs return_grad=True")
    grads = _gradient_buffers(fn, grad_out, x, W, bias) if return_grad else None
    _check_no_overlap(fn, x, W, t, bias, class_weight, out, grads)

    # The mean's denominator, known before the first chunk (the kernel sees one chunk at a time).
    if probs:
        denom = float(N)
    else:
        counted = t2 != ignore_index
        denom = (
            float(np.sum(class_weight[t2[counted]], dtype=np.float64))
            if class_weight is not None
            else float(np.count_nonzero(counted))
        )
    divisor = denom if reduction == "mean" else 1.0

    plan = _Plan(x, W, bias, class_weight, t2, probs, rows)
    result = plan.run(
        code if reduction == "none" else _REDUCTIONS["sum"],
        ignore_index,
        label_smoothing,
        lse_square_scale,
        return_z_loss,
        go,
        divisor,
        grads,
        threads,
    )
    loss_num, z_num, row_loss, row_z = result
    if reduction == "none":
        loss = _finish_rows(row_loss, x.dtype, unbatched, out)
        z = _finish_rows(row_z, x.dtype, unbatched, None) if return_z_loss else None
    else:
        loss = _finish_scalar(loss_num, divisor, x.dtype, out)
        z = _finish_scalar(z_num, divisor, x.dtype, None) if return_z_loss else None
    if return_z_loss:
        return (loss, z, grads) if return_grad else (loss, z)
    return (loss, grads) if return_grad else loss


# -------------------------------------------------------------------------------- checks
def _operand(fn: str, name: str, a: Any, dtype: np.dtype[Any]) -> Optional[NDArray[Any]]:
    """An array argument of the input's dtype (a list is converted; an ndarray of another dtype is
    a TypeError naming it), or None."""
    arr: Optional[NDArray[Any]] = F._as_operand(fn, name, a, dtype)
    if arr is not None and arr.dtype != dtype:
        raise TypeError(f"{fn}: {name} must have input's dtype {dtype}; got dtype {arr.dtype}")
    return arr


def _checked_target(
    fn: str, t: NDArray[Any], probs: bool, dtype: np.dtype[Any], unbatched: bool, N: int, V: int, ignore_index: int
) -> NDArray[Any]:
    """The target as rows ((N,) indices or (N, V) probabilities), checked like cross_entropy's:
    a counted class index out of [0, V) is an IndexError naming its value and index."""
    if probs:
        if t.dtype != dtype:
            raise TypeError(
                f"{fn}: target must hold class indices of an integer dtype, or class probabilities of the input's "
                f"dtype {dtype}; got dtype {t.dtype}"
            )
        shape: Tuple[int, ...] = (V,) if unbatched else (N, V)
        if t.shape != shape:
            raise ValueError(f"{fn}: probability target must have shape {shape}; got shape {t.shape}")
        return np.ascontiguousarray(t.reshape(N, V))
    want = () if unbatched else (N,)
    if t.shape != want:
        raise ValueError(f"{fn}: class-index target must have shape {want}; got shape {t.shape}")
    t2 = np.ascontiguousarray(t.reshape(N))
    bad = np.flatnonzero((t2 != ignore_index) & ((t2 < 0) | (t2 >= V)))
    if bad.size:
        i = int(bad[0])
        where = "()" if unbatched else f"({i},)"
        raise IndexError(
            f"{fn}: target {t2[i]} at index {where} is out of range for {V} classes "
            f"(expected 0 <= target < {V}, or ignore_index={ignore_index})"
        )
    return t2


def _chunk_rows(fn: str, chunk_size: Any, N: int, V: int, dtype: np.dtype[Any]) -> int:
    if chunk_size is None:
        row_bytes = max(V * (8 if dtype == np.float64 else 4), 1)
        lo, hi = _CHUNK_BYTES
        return max(1, min(max(N * row_bytes // 16, lo), hi) // row_bytes)
    if isinstance(chunk_size, (bool, np.bool_)) or not isinstance(chunk_size, (int, np.integer)):
        raise TypeError(
            f"{fn}: chunk_size must be None or a positive int; got {type(chunk_size).__name__} {chunk_size!r}"
        )
    if chunk_size < 1:
        raise ValueError(f"{fn}: chunk_size must be None or a positive int; got {chunk_size!r}")
    return int(chunk_size)


def _check_buffer(fn: str, name: str, buf: Any, shape: Tuple[int, ...], dtype: np.dtype[Any]) -> None:
    ok = (
        isinstance(buf, np.ndarray)
        and buf.dtype == dtype
        and buf.shape == shape
        and buf.flags.c_contiguous
        and buf.flags.aligned
        and buf.flags.writeable
    )
    if not ok:
        got = f"{buf.dtype} array of shape {buf.shape}" if isinstance(buf, np.ndarray) else type(buf).__name__
        raise ValueError(
            f"{fn}: {name} must be a C-contiguous, aligned, writeable {dtype} array of shape {shape}; got {got}"
        )


def _gradient_buffers(
    fn: str, grad_out: Any, x: NDArray[Any], W: NDArray[Any], bias: Optional[NDArray[Any]]
) -> Tuple[NDArray[Any], ...]:
    """(d_input, d_weight[, d_bias]): the caller's buffers where given, else new arrays."""
    like = [("d_input", x), ("d_weight", W)] + ([("d_bias", bias)] if bias is not None else [])
    if grad_out is None:
        given: Tuple[Any, ...] = (None,) * len(like)
    elif not isinstance(grad_out, tuple) or len(grad_out) != len(like):
        names = ", ".join(n for n, _ in like)
        raise ValueError(f"{fn}: grad_out must be None or a tuple ({names}) of buffers or None; got {grad_out!r:.60}")
    else:
        given = grad_out
    out = []
    for (name, a), buf in zip(like, given):
        if buf is None:
            out.append(np.empty(a.shape, a.dtype))
        else:
            _check_buffer(fn, f"grad_out[{len(out)}] ({name})", buf, a.shape, a.dtype)
            out.append(buf)
    return tuple(out)


def _check_no_overlap(fn: str, x: Any, W: Any, t: Any, bias: Any, weight: Any, out: Any, grads: Any) -> None:
    """Output buffers may overlap no argument (the kernels' rule, _core.check_no_overlap), except
    d_input, which may be input itself (each chunk's rows are read before its d_input rows are
    written)."""
    arrays = [("input", x, False), ("linear_weight", W, False), ("target", t, False)]
    arrays += [("linear_bias", bias, False), ("weight", weight, False), ("out", out, True)]
    arrays += [(f"grad_out[{i}]", g, True) for i, g in enumerate(grads or ())]
    _core.check_no_overlap(fn, arrays, [(0, 6)])  # input, grad_out[0]


# ----------------------------------------------------------------------------- the chunks
class _Plan:
    """The chunked passes over one call's rows, in the compute type (float64 for float64 input,
    else float32: half inputs are widened chunk by chunk, their weight once)."""

    def __init__(
        self,
        x: NDArray[Any],
        W: NDArray[Any],
        bias: Optional[NDArray[Any]],
        weight: Optional[NDArray[Any]],
        t: NDArray[Any],
        probs: bool,
        rows: int,
    ) -> None:
        self.ct = np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)
        self.x = x[None, :] if x.ndim == 1 else x
        self.W = W if W.dtype == self.ct else W.astype(self.ct)
        self.bias = None if bias is None else bias.astype(self.ct, copy=False)
        self.weight = None if weight is None else weight.astype(self.ct, copy=False)
        self.t, self.probs = (t.astype(self.ct, copy=False) if probs else t), probs
        self.rows = min(rows, max(self.x.shape[0], 1))

    def chunk_input(self, r0: int, r1: int) -> NDArray[Any]:
        xc = self.x[r0:r1]
        return xc if xc.dtype == self.ct else xc.astype(self.ct)

    def run(
        self,
        code: int,
        ignore_index: int,
        label_smoothing: float,
        lse_square_scale: float,
        return_z_loss: bool,
        go: Any,
        divisor: float,
        grads: Optional[Tuple[NDArray[Any], ...]],
        threads: int,
    ) -> Tuple[float, float, Optional[NDArray[Any]], Optional[NDArray[Any]]]:
        """Sums (loss, z-loss) for the scalar reductions, or the per-row arrays for "none"; writes
        the gradients into ``grads``."""
        N, V = self.x.shape[0], self.W.shape[0]
        per_row = code == _REDUCTIONS["none"]
        row_loss = np.zeros(N, self.ct) if per_row else None
        row_z = np.zeros(N, self.ct) if per_row and return_z_loss else None
        go_rows = go.reshape(-1).astype(self.ct) if isinstance(go, np.ndarray) else None
        # the mean's scale; a zero divisor gives inf (or nan), as cross_entropy's: rows that do not
        # count get a zero gradient anyway, counted rows of zero weight a NaN one (0 * inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = float(np.float64(go) / np.float64(divisor)) if go_rows is None else 1.0
        buf = np.empty((self.rows, V), self.ct)
        d_w = d_b = None
        if grads is not None:
            d_w = grads[1] if grads[1].dtype == self.ct else np.empty(self.W.shape, self.ct)
            d_b = np.zeros(V, np.float64) if len(grads) == 3 else None
        block = (
            np.empty((min(_VOCAB_BLOCK, V), self.W.shape[1]), self.ct) if grads is not None and N > self.rows else None
        )
        loss_sum = z_sum = 0.0
        before = _core.set_partial_sums(True)
        try:
            for r0 in range(0, N, self.rows):
                r1 = min(N, r0 + self.rows)
                xc = self.chunk_input(r0, r1)
                logits = buf[: r1 - r0]
                np.matmul(xc, self.W.T, out=logits)
                if self.bias is not None:
                    logits += self.bias
                target = self.t[r0:r1]
                chunk_go: Any = scale if go_rows is None else go_rows[r0:r1]
                result: Any = _core.cross_entropy(
                    logits,
                    target,
                    self.weight,
                    ignore_index,
                    code,
                    label_smoothing,
                    False,
                    lse_square_scale,
                    return_z_loss,
                    grads is not None,
                    chunk_go,
                    None if row_loss is None else row_loss[r0:r1],
                    logits if grads is not None else None,  # dlogits overwrite the logits
                    threads,
                )
                if per_row:
                    if row_z is not None:
                        row_z[r0:r1] = result[1]
                else:
                    loss_sum += result[0][0]
                    if return_z_loss:
                        z_sum += result[1][0]
                if grads is not None:
                    assert d_w is not None
                    self._accumulate_d_weight(logits, xc, d_w, block, first=r0 == 0)
                    if d_b is not None:
                        d_b += logits.sum(axis=0, dtype=np.float64)
                    d_in = grads[0].reshape(N, -1)
                    if d_in.dtype == self.ct:
                        np.matmul(logits, self.W, out=d_in[r0:r1])  # after d_weight: d_input may be input
                    else:
                        d_in[r0:r1] = np.matmul(logits, self.W)
        finally:
            _core.set_partial_sums(before)
        if grads is not None:
            if N == 0:
                assert d_w is not None
                d_w[...] = 0
            if d_w is not grads[1]:
                grads[1][...] = d_w
            if d_b is not None:
                grads[2][...] = d_b
        return loss_sum, z_sum, row_loss, row_z

    def _accumulate_d_weight(
        self, g: NDArray[Any], xc: NDArray[Any], d_w: NDArray[Any], block: Optional[NDArray[Any]], first: bool
    ) -> None:
        """d_w (=|+=) g.T @ xc. NumPy's matmul cannot add into its output, so later chunks go
        through a block of vocabulary rows at a time: a (2048, H) temporary, not (V, H)."""
        if first:
            np.matmul(g.T, xc, out=d_w)
            return
        assert block is not None
        V = d_w.shape[0]
        for v0 in range(0, V, block.shape[0]):
            v1 = min(V, v0 + block.shape[0])
            part = block[: v1 - v0]
            np.matmul(g[:, v0:v1].T, xc, out=part)
            d_w[v0:v1] += part


def _finish_scalar(total: float, divisor: float, dtype: np.dtype[Any], out: Optional[FloatArray]) -> Loss:
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.float64(total) / np.float64(divisor)  # 0 / 0 = nan: nothing counted
    if out is not None:
        out[()] = value
        return out
    scalar: Loss = np.asarray(value).astype(dtype)[()]
    return scalar


def _finish_rows(
    rows: Optional[NDArray[Any]], dtype: np.dtype[Any], unbatched: bool, out: Optional[FloatArray]
) -> Loss:
    assert rows is not None
    values = rows[0] if unbatched else rows
    if out is not None:
        out[...] = values
        return out
    return np.asarray(values).astype(dtype)
