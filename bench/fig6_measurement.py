"""Figure 6's DAE measured two ways: mᵢ on clean inputs (ours) and on the noisy inputs of the training pass (the
authors' notebook records x_pred = f(x̃) of the training forward pass, where its GaussianNoise layer is active).

Trains the ReLU DAE of Figure 6 (noise std 2, lr 0.9, no biases, MSE over N·D entries, W ~ N(0, 1e-6)) on a
reduced setting and prints both measurements of m₁…m₄ at the end, side by side.

Run: python bench/fig6_measurement.py [--n 5000] [--hidden 64] [--epochs 2000] [--seed 0]   (about 3 minutes)
"""
from __future__ import annotations

import argparse

import numpy as np

from lindae.validation.data.datasets import load_mnist
from lindae.validation.training.relu import relu_forward, relu_loss_and_gradient
from lindae.validation.data.spectrum import compute_spectrum


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=5000, help="MNIST images (default 5000)")
    p.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    p.add_argument("--epochs", type=int, default=2000, help="epochs (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the noise (default 0)")
    a = p.parse_args(argv)
    X = load_mnist(a.n, log=lambda m: None).astype(np.float32)
    N, D = X.shape
    spec = compute_spectrum(X.astype(np.float64))
    V, lam = spec.eigenvectors[:, :4].astype(np.float32), spec.eigenvalues[:4]
    rng = np.random.default_rng(a.seed)
    W1 = (1e-3 * rng.standard_normal((a.hidden, D))).astype(np.float32)
    W2 = (1e-3 * rng.standard_normal((D, a.hidden))).astype(np.float32)
    work = {}
    for _ in range(a.epochs):
        noisy = X + np.float32(2.0) * rng.standard_normal(X.shape, dtype=np.float32)
        _, g1, g2 = relu_loss_and_gradient(W1, W2, noisy, X, with_loss=False, work=work)
        W1 -= 0.9 * g1
        W2 -= 0.9 * g2

    def m(F):
        return np.sum((F @ V) * (X @ V), axis=0, dtype=np.float64) / (N * lam)
    clean = m(relu_forward(W1, W2, X))
    noisy = m(relu_forward(W1, W2, X + np.float32(2.0) * rng.standard_normal(X.shape, dtype=np.float32)))
    print(f"DAE after {a.epochs} epochs (N = {N}, H = {a.hidden}):")
    print("  m_i on clean inputs (ours):          " + "  ".join(f"{v:.4f}" for v in clean))
    print("  m_i on noisy inputs (the notebook's): " + "  ".join(f"{v:.4f}" for v in noisy))
    return {"clean": clean.tolist(), "noisy": noisy.tolist()}


if __name__ == "__main__":
    main()
