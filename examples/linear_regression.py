"""The seed's regression, with fastloss and NumPy alone: ``nn.Linear(10, 1)`` trained with
``nn.MSELoss`` and ``optim.SGD(lr=0.01, weight_decay=0.01)`` on synthetic data.

Run: ``python examples/linear_regression.py``. It also trains without weight decay, to show
the decay shrinking the weights, and when PyTorch is installed it repeats the run in torch and
compares the parameters. (This is the one copy of this training loop: ``python -m fastloss``
points here rather than repeating it.)
"""

from __future__ import annotations

import fastloss as fl
import numpy as np


def make_data(n: int = 1024, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 10)).astype(np.float32)
    true_w = np.linspace(-1.0, 1.0, 10, dtype=np.float32)
    y = (x @ true_w + 0.5 + 0.1 * rng.standard_normal(n)).astype(np.float32)[:, None]
    return x, y


def init_params(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    # nn.Linear's initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(10)
    return (rng.uniform(-bound, bound, (1, 10)).astype(np.float32), rng.uniform(-bound, bound, (1,)).astype(np.float32))


def train_fastloss(
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 100,
    lr: float = 0.01,
    weight_decay: float = 0.01,
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    weight, bias = init_params()
    opt = fl.SGD([weight, bias], lr=lr, weight_decay=weight_decay)
    losses = []
    for _ in range(epochs):
        pred = x @ weight.T + bias  # forward of nn.Linear
        loss, d_pred = fl.mse_loss(pred, y, return_grad=True)  # loss and dL/dpred, one pass
        opt.step([d_pred.T @ x, d_pred.sum(axis=0)])  # backward of nn.Linear, then SGD
        losses.append(float(loss))
    return weight, bias, losses


def train_torch(
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 100,
    lr: float = 0.01,
    weight_decay: float = 0.01,
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    import torch

    model = torch.nn.Linear(10, 1)
    weight, bias = init_params()
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(weight))
        model.bias.copy_(torch.from_numpy(bias))
    opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = torch.nn.MSELoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model.weight.detach().numpy(), model.bias.detach().numpy(), losses


def main() -> None:
    x, y = make_data()
    weight, bias, losses = train_fastloss(x, y)
    for epoch in (0, 1, 2, 5, 10, 20, 50, 99):
        print(f"epoch {epoch + 1:3d}  mse {losses[epoch]:.5f}")
    print(f"|W| = {np.linalg.norm(weight):.4f}, b = {bias[0]:.4f}")
    plain, _, _ = train_fastloss(x, y, weight_decay=0.0)
    change = 100 * (np.linalg.norm(weight) / np.linalg.norm(plain) - 1)
    print(
        f"|W| = {np.linalg.norm(plain):.4f} with weight_decay=0 ({change:+.2f} % with 0.01: the decay pulls "
        "the weights toward 0)"
    )
    try:
        tw, tb, tlosses = train_torch(x, y)
    except ImportError:
        print("(PyTorch not installed: no comparison)")
        return
    diff = max(np.abs(weight - tw).max(), np.abs(bias - tb).max())
    print(f"torch, same run: final mse {tlosses[-1]:.5f}; max |param difference| = {diff:.1e} (float32 round-off)")


if __name__ == "__main__":
    main()
