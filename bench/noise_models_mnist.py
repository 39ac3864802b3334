"""Masking on MNIST (issue 23, N1-N8): the marginalised loss against the sampled one, and convergence to W*.
Writes --out (JSON, atomically).

1. The marginalised masking loss (N2) against the average of the sampled loss over ``--draws`` masks, at the weights
   of a trained model (marginalised masking at the same p), on the first ``--n-mc`` training images: z = (mean −
   marginalised) / its standard error (acceptance: |z| <= 3), for p in 0.1, 0.25, 0.5 (scaled) and p = 0.25 unscaled.
2. Full-batch GD with marginalised masking at p = 0.25, H = 64, from small random weights (1e-4), ``--epochs`` epochs
   at lr 0.02: the distance of the end point W from W* = [CB^{-1/2}]_H B^{-1/2} (N5) in the Frobenius norm and in the
   B-weighted norm ‖(W − W*)B^{1/2}‖ that the loss sees, the loss above L*, and why the Frobenius distance cannot
   shrink: the share of ‖W*‖² in input directions whose eigenvalue of B is below 1e-6, and the rate η·w at which
   gradient descent moves along them.
3. What the theory costs: the training of configs/masking_mnist.toml's p = 0.25 model (3000 epochs, every 40th
   recorded) against N7's evaluation at its 76 recorded epochs, measured side by side.

Run: python bench/noise_models_mnist.py [--draws 1000] [--n-mc 1000] [--epochs 10000] [--out bench/noise_models_mnist.json]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from lindae import validation
from lindae.derivations.files import atomic_write_json
from lindae.dynamics._blas import one_blas_thread
from lindae.dynamics.noise_models import rank_h_optimum
from lindae.validation.training.corruption import Corruption, train_corrupted_ae


def monte_carlo(X, spec, corruption, draws, hidden, log):
    """(marginalised loss, MC mean, standard error, z) at the weights of a short marginalised training."""
    r = train_corrupted_ae(None, hidden, 0.02, 500, corruption=corruption, spectrum=spec, init_scale=1e-4,
                           record_every=500)
    W1, W2, Xs = r.W1, r.W2, X
    Sigma = Xs.T @ Xs / len(Xs)
    C, B = corruption.moments(Sigma)
    W = W2 @ W1
    marg = float(0.5 * np.trace(Sigma) - np.trace(W @ C.T) + 0.5 * np.trace(W @ B @ W.T))
    rng = np.random.default_rng(0)
    losses = np.empty(draws)
    t = time.perf_counter()
    for k in range(draws):
        Xt = corruption.corrupt(Xs, rng, np.diag(Sigma))
        R = (Xt @ W1.T) @ W2.T - Xs
        losses[k] = 0.5 * np.mean(np.einsum("ij,ij->i", R, R))
    se = float(np.std(losses, ddof=1) / np.sqrt(draws))
    mean = float(np.mean(losses))
    log(f"  {corruption.describe()}: marginalised {marg:.6f}, sampled {mean:.6f} ± {se:.2g} "
        f"(z = {(mean - marg) / se:+.2f}), {time.perf_counter() - t:.0f} s")
    return {"noise": corruption.describe(), "marginalised": marg, "sampled_mean": mean, "standard_error": se,
            "z": (mean - marg) / se, "draws": draws, "n_images": len(Xs)}


def convergence(spec, epochs, log):
    H, lr = 64, 0.02
    t = time.perf_counter()
    r = train_corrupted_ae(None, H, lr, epochs, corruption=Corruption.masking(0.75), spectrum=spec, init_scale=1e-4,
                           record_every=max(1, epochs // 10))
    seconds = time.perf_counter() - t
    W, loss, sig = rank_h_optimum(np.diag(r.kappa), r.B, H, trace_sigma=float(np.sum(r.eigenvalues)))
    Wt = r.eigenvectors.T @ r.W2 @ r.W1 @ r.eigenvectors
    w, U = np.linalg.eigh(r.B)
    root = (U * np.sqrt(np.clip(w, 0, None))) @ U.T
    share = np.sum((W @ U) ** 2, axis=0)
    small = w < 1e-6 * w.max()
    out = {"epochs": epochs, "lr": lr, "hidden": H, "train_seconds": seconds,
           "relative_frobenius": float(np.linalg.norm(Wt - W) / np.linalg.norm(W)),
           "relative_b_weighted": float(np.linalg.norm((Wt - W) @ root) / np.linalg.norm(W @ root)),
           "loss_minus_optimum": float(r.loss[-1] - loss), "optimal_loss": float(loss),
           "share_of_wstar_below_1e-6": float(share[small].sum() / share.sum()),
           "directions_below_1e-6": int(small.sum()),
           "slowest_rate_per_epoch": float(lr * np.min(w[w > 1e-12 * w.max()])),
           "sigma_64": float(sig[H - 1]), "sigma_65": float(sig[H])}
    log(f"  after {epochs} epochs ({seconds:.0f} s): ‖W − W*‖/‖W*‖ = {out['relative_frobenius']:.3g}, B-weighted "
        f"{out['relative_b_weighted']:.3g}, loss − L* = {out['loss_minus_optimum']:.3g}; "
        f"{100 * out['share_of_wstar_below_1e-6']:.1f} % of ‖W*‖² lies where B < 1e-6·max B")
    return out


def theory_cost(spec, log):
    """Seconds of one masking training (p = 0.25, H = 64, 3000 epochs, every 40th recorded) and of its theory."""
    from lindae.validation.theory import run_corrupted_theory
    t = time.perf_counter()
    r = train_corrupted_ae(None, 64, 0.02, 3000, corruption=Corruption.masking(0.75), spectrum=spec, init_scale=1e-4,
                           record_every=40)
    train = time.perf_counter() - t
    t = time.perf_counter()
    run_corrupted_theory(r)
    theory = time.perf_counter() - t
    log(f"  training {train:.1f} s, theory (N7 at {len(r.epochs)} epochs) {theory:.1f} s: ratio {theory / train:.2f}")
    return {"train_seconds": train, "theory_seconds": theory, "ratio": theory / train, "records": len(r.epochs)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=1000, help="masks drawn for the Monte-Carlo average (default 1000)")
    p.add_argument("--n-mc", type=int, default=1000, help="images in the Monte-Carlo check (default 1000)")
    p.add_argument("--epochs", type=int, default=10000, help="epochs of the convergence run (default 10000)")
    p.add_argument("--out", default="bench/noise_models_mnist.json", help="where to write the JSON")
    a = p.parse_args(argv)
    if a.draws < 2 or a.n_mc < 1 or a.epochs < 1:
        p.error("--draws must be >= 2, --n-mc and --epochs >= 1")
    log = print
    X = validation.load_mnist(50000, log=lambda m: None)
    spec = validation.compute_spectrum(X)
    with one_blas_thread():
        log(f"1. marginalised masking loss against {a.draws} sampled masks on {a.n_mc} MNIST images")
        Xs = X[:a.n_mc]
        spec_s = validation.compute_spectrum(Xs)
        mc = [monte_carlo(Xs, spec_s, c, a.draws, 64, log)
              for c in (Corruption.masking(0.9), Corruption.masking(0.75), Corruption.masking(0.5),
                        Corruption.masking(0.75, scaled=False))]
        log("2. full-batch GD with marginalised masking at p = 0.25 against W* (N5)")
        conv = convergence(spec, a.epochs, log)
    log("3. the theory's cost against the training it predicts")
    cost = theory_cost(spec, log)
    out = {"monte_carlo": mc, "worst_abs_z": max(abs(m["z"]) for m in mc), "convergence": conv, "theory_cost": cost}
    atomic_write_json(a.out, out)
    print(f"wrote {a.out}")
    return out


if __name__ == "__main__":
    main()
