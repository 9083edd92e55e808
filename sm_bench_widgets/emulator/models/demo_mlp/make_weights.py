"""Regenerate weights.npz for demo-mlp: a 4-16-8-1 tanh MLP trained with numpy on synthetic data.

Run ``python make_weights.py`` from anywhere; it writes ``weights.npz`` next to this file.
Everything is seeded, so a rerun reproduces the same dataset and (up to floating-point
differences between numpy builds) the same weights.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 20240601
N_FEATURES = 4
HIDDEN = (16, 8)
N_TRAIN = 2000
N_TEST = 500
STEPS = 3000
LEARNING_RATE = 0.01


def target(x: np.ndarray) -> np.ndarray:
    """The synthetic regression target: smooth, nonlinear, uses all four features."""
    return np.sin(1.5 * x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] - 0.3 * x[:, 3] ** 2 + 0.2 * x[:, 3]


def make_dataset(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal features and a slightly noisy target."""
    x = rng.normal(size=(n, N_FEATURES))
    y = target(x) + rng.normal(scale=0.05, size=n)
    return x, y


def forward(params: dict[str, np.ndarray], z: np.ndarray) -> tuple[np.ndarray, ...]:
    """Standardized inputs -> (hidden 1, hidden 2, standardized output)."""
    h1 = np.tanh(z @ params["w1"] + params["b1"])
    h2 = np.tanh(h1 @ params["w2"] + params["b2"])
    return h1, h2, (h2 @ params["w3"] + params["b3"])[:, 0]


def init_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Glorot-scaled random weights and zero biases."""
    sizes = (N_FEATURES, *HIDDEN, 1)
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        scale = np.sqrt(2.0 / (fan_in + fan_out))
        params[f"w{i}"] = rng.normal(scale=scale, size=(fan_in, fan_out))
        params[f"b{i}"] = np.zeros(fan_out)
    return params


def gradients(params: dict, z: np.ndarray, t: np.ndarray) -> tuple[float, dict]:
    """Mean squared error and its gradient by backpropagation."""
    h1, h2, out = forward(params, z)
    err = out - t
    loss = float(np.mean(err**2))
    d_out = (2.0 / len(t)) * err[:, None]
    grads = {"w3": h2.T @ d_out, "b3": d_out.sum(axis=0)}
    d_h2 = (d_out @ params["w3"].T) * (1.0 - h2**2)
    grads["w2"], grads["b2"] = h1.T @ d_h2, d_h2.sum(axis=0)
    d_h1 = (d_h2 @ params["w2"].T) * (1.0 - h1**2)
    grads["w1"], grads["b1"] = z.T @ d_h1, d_h1.sum(axis=0)
    return loss, grads


def train(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Full-batch Adam on standardized data; returns weights plus the scaling constants."""
    x_mean, x_std = x.mean(axis=0), x.std(axis=0)
    y_mean, y_std = float(y.mean()), float(y.std())
    z, t = (x - x_mean) / x_std, (y - y_mean) / y_std
    params = init_params(rng)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, STEPS + 1):
        _, grads = gradients(params, z, t)
        for k, g in grads.items():
            m[k] = beta1 * m[k] + (1 - beta1) * g
            v[k] = beta2 * v[k] + (1 - beta2) * g**2
            m_hat, v_hat = m[k] / (1 - beta1**step), v[k] / (1 - beta2**step)
            params[k] = params[k] - LEARNING_RATE * m_hat / (np.sqrt(v_hat) + eps)
    params.update(x_mean=x_mean, x_std=x_std, y_mean=np.array(y_mean), y_std=np.array(y_std))
    return params


def predict(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Raw features -> predictions in the target's units."""
    z = (x - params["x_mean"]) / params["x_std"]
    return forward(params, z)[2] * params["y_std"] + params["y_mean"]


def main() -> None:
    """Train, report test error, and save the weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("weights.npz"))
    out = parser.parse_args().out
    rng = np.random.default_rng(SEED)
    x_train, y_train = make_dataset(rng, N_TRAIN)
    x_test, y_test = make_dataset(rng, N_TEST)
    params = train(x_train, y_train, rng)
    rmse = float(np.sqrt(np.mean((predict(params, x_test) - y_test) ** 2)))
    baseline = float(np.std(y_test))
    n_weights = sum(params[k].size for k in ("w1", "b1", "w2", "b2", "w3", "b3"))
    np.savez(out, **params, test_rmse=np.array(rmse), seed=np.array(SEED))
    print(f"{n_weights} weights; test RMSE {rmse:.4f} (predicting the mean: {baseline:.4f})")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
