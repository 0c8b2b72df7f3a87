"""A one-hidden-layer softmax classifier trained with ``fastloss.cross_entropy`` and SGD with
momentum and weight decay, on three interleaved spirals generated here (full batch).

Run: ``python examples/softmax_classifier.py``. When PyTorch is installed, the same network
is trained in torch from the same initial weights and the parameters are compared.
"""

from __future__ import annotations

import fastloss as fl
import numpy as np

HIDDEN, CLASSES = 64, 3
HYPER = dict(lr=0.2, momentum=0.9, weight_decay=1e-4)


def make_spirals(per_class: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(CLASSES):
        r = np.linspace(0.05, 1.0, per_class)
        theta = c * 2 * np.pi / CLASSES + 4.0 * r + 0.2 * rng.standard_normal(per_class)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(per_class, c))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)


def init_params(dtype: type = np.float32, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((2, HIDDEN))).astype(dtype),
        np.zeros(HIDDEN, dtype),
        (rng.standard_normal((HIDDEN, CLASSES)) * 0.1).astype(dtype),
        np.zeros(CLASSES, dtype),
    ]


def train_fastloss(x: np.ndarray, y: np.ndarray, epochs: int = 300) -> tuple[list[np.ndarray], list[float]]:
    params = init_params(x.dtype.type)
    w1, b1, w2, b2 = params
    opt = fl.SGD(params, **HYPER)
    losses = []
    for _ in range(epochs):
        h = np.maximum(x @ w1 + b1, 0.0)  # hidden layer, ReLU
        logits = h @ w2 + b2
        loss, d_logits = fl.cross_entropy(logits, y, return_grad=True)  # softmax CE and its gradient
        d_h = (d_logits @ w2.T) * (h > 0)
        opt.step([x.T @ d_h, d_h.sum(0), h.T @ d_logits, d_logits.sum(0)])
        losses.append(float(loss))
    return params, losses


def accuracy(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    w1, b1, w2, b2 = params
    return float(((np.maximum(x @ w1 + b1, 0.0) @ w2 + b2).argmax(1) == y).mean())


def train_torch(x: np.ndarray, y: np.ndarray, epochs: int = 300) -> tuple[list[np.ndarray], list[float]]:
    import torch

    params = [torch.tensor(p, requires_grad=True) for p in init_params(x.dtype.type)]
    w1, b1, w2, b2 = params
    opt = torch.optim.SGD(params, **HYPER)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(torch.relu(xt @ w1 + b1) @ w2 + b2, yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return [p.detach().numpy() for p in params], losses


def main() -> None:
    x, y = make_spirals()
    params, losses = train_fastloss(x, y)
    for epoch in (0, 10, 30, 100, 200, 299):
        print(f"epoch {epoch + 1:3d}  cross-entropy {losses[epoch]:.4f}")
    print(f"training accuracy {accuracy(params, x, y):.3f}")
    try:
        _, tlosses = train_torch(x, y)
    except ImportError:
        print("(PyTorch not installed: no comparison)")
        return
    print(f"torch, same run: final loss {tlosses[-1]:.4f}")
    # 300 momentum steps amplify the float32 round-off of the matmuls (NumPy's and torch's BLAS
    # sum in different orders), so compare parameters on the same run in float64.
    x64 = x.astype(np.float64)
    params64, _ = train_fastloss(x64, y)
    tparams64, _ = train_torch(x64, y)
    diff = max(float(np.abs(p - t).max() / np.abs(t).max()) for p, t in zip(params64, tparams64))
    print(f"float64 run: max relative parameter difference fastloss vs torch = {diff:.1e}")


if __name__ == "__main__":
    main()
