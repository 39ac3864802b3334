"""Finite data on MNIST: train on the first N images, test on the 10 000 test images, and compare the train and
test errors with G1-G5 (docs/theory.md, section 2d). Writes --out (JSON, atomically).

For each N (default 500, 2000 and 10 000), H = 64, lr 0.01:
1. an aligned AE and DAE (σ² = 0.5, u0 = 1e-4): the largest relative gap between run_test_theory and every recorded
   curve (the acceptance bound is 1e-9);
   and, for every DAE mode that passes its best value, the epoch of its least error e_i (G1) against G3's;
2. the DAE from random weights (init 1e-4): the largest gap against run_test_theory relative to the error, whether
   it is within test_error_bound at every epoch, and the epoch of least denoising test error, measured and
   predicted (acceptance: within 5 %);
3. a grid of training noises and weight decays, each trained until its modes settle: the test error with test
   noise ε_t = 0.5, measured (from the final weights on the test images) and predicted (the fixed points, G4/G5),
   and where each grid's best lies (acceptance: the predicted best within one grid step of the measured).

Run: python bench/generalisation_mnist.py [--sizes 500 2000 10000] [--out bench/generalisation_mnist.json]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from lindae import dynamics, validation
from lindae.derivations.files import atomic_write_json

NOISES = (0.1, 0.2, 0.5, 1.0, 2.0)
DECAYS = (0.02, 0.05, 0.1, 0.2, 0.5)
TEST_NOISE = 0.5


def denoising_test_error(r, Xt, noise_var):
    W = r.W2 @ r.W1
    R = Xt - Xt @ W.T
    return float(0.5 * np.mean(np.sum(R * R, axis=1)) + 0.5 * noise_var * np.sum(W * W))


def one_size(N, Xt, hidden, epochs, log):
    X = validation.load_mnist(N, log=lambda m: None)
    spec = validation.compute_spectrum(X)
    out = {"N": N}
    gaps = []
    for noise_var in (0.0, 0.5):
        r = validation.train_linear_ae(X, hidden, 0.01, epochs, noise_var=noise_var, init="aligned", u0=1e-4,
                                       X_test=Xt, record_every=2, spectrum=spec)
        pred = validation.run_test_theory(r)
        gaps += [float(np.max(np.abs(pred[k] - getattr(r, k)) / getattr(r, k))) for k in pred]
    out["aligned_worst_relative_gap"] = max(gaps)
    # each DAE mode's own denoising test error e_i(s_i(t)) (G1) against G3: the modes that pass their best value
    M = r.test_moment
    lam = spec.eigenvalues[:hidden]
    e_i = dynamics.mode_test_error(r.strengths[:, :hidden], M[:hidden], test_noise_var=0.5)
    t_best = dynamics.best_stopping_time(lam, M[:hidden], noise_var=0.5, test_noise_var=0.5, u0=1e-4)
    passing = np.flatnonzero(np.isfinite(t_best) & (t_best / 0.01 < epochs))
    measured = r.epochs[np.argmin(e_i[:, passing], axis=0)]
    predicted = t_best[passing] / 0.01
    rel = np.abs(measured - predicted) / measured
    out["mode_overshoot"] = dict(modes=len(passing), worst_relative_error=float(rel.max()) if len(rel) else None,
                                 median_relative_error=float(np.median(rel)) if len(rel) else None,
                                 first_modes=[dict(mode=int(i + 1), measured=int(m_), predicted=float(p_))
                                              for i, m_, p_ in list(zip(passing, measured, predicted))[:5]])
    r = validation.train_linear_ae(X, hidden, 0.01, epochs, noise_var=0.5, init="random", init_scale=1e-4, seed=0,
                                   X_test=Xt, record_every=10, spectrum=spec)
    pred = validation.run_test_theory(r)
    bound = validation.test_error_bound(r)
    gap = np.abs(pred["test_denoising_error"] - r.test_denoising_error)
    measured_best = int(r.epochs[np.argmin(r.test_denoising_error)])
    predicted_best = int(r.epochs[np.argmin(pred["test_denoising_error"])])
    out["random"] = dict(worst_relative_gap=float(np.max(gap / r.test_denoising_error)),
                         within_bound=bool(np.all(gap <= bound * (1 + 1e-9) + 1e-12)),
                         best_epoch_measured=measured_best, best_epoch_predicted=predicted_best,
                         best_epoch_relative_error=abs(predicted_best - measured_best) / measured_best)
    M = r.test_moment
    lam = spec.eigenvalues
    for family, grid, key in (("noise", NOISES, "noise_var"), ("decay", DECAYS, "weight_decay")):
        measured, predicted = [], []
        for value in grid:
            run = validation.train_linear_ae(X, hidden, 0.01, epochs, init="random", init_scale=1e-4, seed=0,
                                             record_every=epochs, spectrum=spec, **{key: value})
            measured.append(denoising_test_error(run, Xt, TEST_NOISE))
            s = np.zeros_like(lam)
            kept = np.arange(hidden)
            s[kept] = (lam[kept] / (lam[kept] + value) if family == "noise"
                       else np.maximum(0.0, 1 - value / np.where(lam[kept] > 0, lam[kept], 1.0)))
            predicted.append(float(dynamics.test_error(s, M, test_noise_var=TEST_NOISE)))
        best = (dynamics.best_noise_var if family == "noise" else dynamics.best_weight_decay)(
            lam, M, test_noise_var=TEST_NOISE, hidden=hidden)
        out[family] = dict(grid=list(grid), measured=measured, predicted=predicted,
                           best_measured=grid[int(np.argmin(measured))], best_predicted_on_grid=grid[int(np.argmin(predicted))],
                           grid_steps_apart=abs(int(np.argmin(measured)) - int(np.argmin(predicted))),
                           continuous_optimum=best[0], continuous_optimum_error=best[1])
    out["noise_beats_decay"] = min(out["noise"]["measured"]) < min(out["decay"]["measured"])
    log(f"N = {N}: {out['mode_overshoot']['modes']} DAE modes pass their best value; G3's epoch is within "
        f"{out['mode_overshoot']['worst_relative_error']} (worst) of the measured one")
    log(f"N = {N}: aligned gap {out['aligned_worst_relative_gap']:.1e}; random gap {out['random']['worst_relative_gap']:.2e} "
        f"(within bound: {out['random']['within_bound']}); best epoch {measured_best} measured, {predicted_best} predicted; "
        f"best noise {out['noise']['best_measured']} measured, {out['noise']['best_predicted_on_grid']} predicted "
        f"({out['noise']['continuous_optimum']:.3g} continuous); best decay {out['decay']['best_measured']} measured, "
        f"{out['decay']['best_predicted_on_grid']} predicted ({out['decay']['continuous_optimum']:.3g}); "
        f"noise beats decay: {out['noise_beats_decay']}")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10_000], help="training set sizes N")
    p.add_argument("--hidden", type=int, default=64, help="hidden width H (default 64)")
    p.add_argument("--epochs", type=int, default=8000, help="full-batch steps per run (default 8000)")
    p.add_argument("--out", default="bench/generalisation_mnist.json", help="where to write the numbers")
    a = p.parse_args(argv)
    start = time.perf_counter()
    Xt = validation.load_mnist(10_000, split="test", log=lambda m: None)
    sizes = [one_size(N, Xt, a.hidden, a.epochs, print) for N in a.sizes]
    out = dict(setting=dict(hidden=a.hidden, epochs=a.epochs, lr=0.01, test_noise_var=TEST_NOISE), sizes=sizes,
               seconds=time.perf_counter() - start)
    atomic_write_json(a.out, out)
    print(f"wrote {a.out} ({out['seconds']:.0f} s)")
    return out


if __name__ == "__main__":
    main()
