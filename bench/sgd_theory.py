"""Minibatch SGD's theory against its training, and where SGD really diverges (issue 22), on the issue's Gaussian case:
D = 8, λᵢ = 2^(3−i), ε = 0.5 sampled afresh for every sample, aligned start u0 = 1e-3, H = 8.

1. **Cost** (``--seeds`` seeds, ``--time`` / lr steps at lr 0.01, B = 1, 8, 64): the training of every seed at once
   (``validation.train_sgd_ensemble``) against S1-S3's prediction at its recorded steps (``validation.run_sgd_theory``),
   timed side by side. The symbolic layer derives S1-S3 once per process, before the clock starts; that time is
   printed on its own line.
2. **Divergence** (``--scan``): the share of ``--scan-seeds`` seeds that leave the overflow guard within
   ``--scan-steps`` steps, at multiples of S4's bound η_B, with every mode and with the top mode alone (D = 1).

Run: python bench/sgd_theory.py [--seeds 200] [--time 80] [--scan] [--out FILE]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench_data import write_numbers
from lindae import dynamics, validation
from lindae.dynamics.errors import DivergenceError

LAM = 2.0 ** (2 - np.arange(8))          # λᵢ = 2^(3−i), i = 1, ..., 8: 4, 2, ..., 1/32
CASE = dict(noise_var=0.5, sampled_noise=True, u0=1e-3)
FACTORS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.4, 1.6)


def cost(seeds, steps, batch_sizes):
    t = time.perf_counter()
    validation.run_sgd_theory(validation.train_sgd_ensemble(8, 0.01, 2, batch_size=1, seeds=2, eigenvalues=LAM, **CASE))
    print(f"symbolic layer: S1-S3 derived once per process, not counted: {time.perf_counter() - t:.2f} s")
    rows = []
    for B in batch_sizes:
        t = time.perf_counter()
        run = validation.train_sgd_ensemble(8, 0.01, steps, batch_size=B, seeds=seeds, eigenvalues=LAM,
                                            record_every=max(1, steps // 400), **CASE)
        train = time.perf_counter() - t
        t = time.perf_counter()
        validation.run_sgd_theory(run)
        theory = time.perf_counter() - t
        rows.append(dict(batch_size=B, train_seconds=train, theory_seconds=theory, ratio=theory / train))
        print(f"B = {B:2d}: {seeds} seeds, {steps} steps: training {train:.2f} s, theory {theory:.2f} s, "
              f"theory / training {theory / train:.2f}")
    return rows


def diverged(lam, B, eta, steps, seeds):
    """The share of ``seeds`` seeds that diverge within ``steps`` steps."""
    try:
        run = validation.train_sgd_ensemble(lam.size, eta, steps, batch_size=B, seeds=seeds, eigenvalues=lam,
                                            record_every=steps, seed=1, **CASE)
    except DivergenceError:
        return 1.0
    return float(run.diverged.mean())


def scan(batch_sizes, steps, seeds):
    rows = []
    print(f"share of {seeds} seeds diverged within {steps} steps, at multiples of S4's bound: "
          + "  ".join(f"{f:g}x" for f in FACTORS))
    for B in batch_sizes:
        bound = dynamics.sgd_lr_bound(LAM, noise_var=CASE["noise_var"], batch_size=B, sampled_noise=True)[0]
        for label, lam in (("all modes", LAM), ("top mode", LAM[:1])):
            shares = [diverged(lam, B, f * bound, steps, seeds) for f in FACTORS]
            rows.append(dict(batch_size=B, bound=bound, modes=label, factors=list(FACTORS), diverged=shares))
            print(f"B = {B:2d} (η_B = {bound:.4g}), {label:9s}: " + "  ".join(f"{s:4.0%}" for s in shares))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=200, help="seeds trained at once for the cost (default 200)")
    p.add_argument("--time", type=float, default=80.0, help="learning time; steps = time / 0.01 (default 80)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 64], help="batch sizes (default 1 8 64)")
    p.add_argument("--scan", action="store_true", help="also scan the learning rate for divergence (a few minutes)")
    p.add_argument("--scan-steps", type=int, default=1500, help="steps of each scan run (default 1500)")
    p.add_argument("--scan-seeds", type=int, default=100, help="seeds of each scan run (default 100)")
    p.add_argument("--out", default=None, help="write the numbers here (JSON, atomically)")
    a = p.parse_args(argv)
    if a.seeds < 2 or a.time <= 0 or a.scan_steps < 1 or a.scan_seeds < 1 or min(a.batch_sizes) < 1:
        p.error("need --seeds >= 2, --time > 0, --scan-steps >= 1, --scan-seeds >= 1 and batch sizes >= 1")
    out = dict(cost=cost(a.seeds, int(round(a.time / 0.01)), a.batch_sizes))
    if a.scan:
        out["divergence"] = scan(a.batch_sizes, a.scan_steps, a.scan_seeds)
    return write_numbers(out, a.out)


if __name__ == "__main__":
    main()
