"""Minibatch SGD's theory against its training, and where SGD really diverges (issue 22), on the issue's Gaussian case:
D = 8, λᵢ = 2^(3−i), ε = 0.5 sampled afresh for every sample, aligned start u0 = 1e-3, H = 8.

1. **Cost** (``--seeds`` seeds, ``--time`` / lr steps at lr 0.01, B = 1, 8, 64): the training of every seed at once
   (``validation.train_sgd_ensemble``) against S1-S3's prediction at its recorded steps (``validation.run_sgd_theory``),
   timed side by side. The symbolic layer derives S1-S3 once per process, before the clock starts; that time is
   printed on its own line.
2. **Divergence** (``--scan``): the share of ``--scan-seeds`` seeds that leave the overflow guard within
   ``--scan-steps`` steps, at multiples of S4's bound η_B, with every mode and with the top mode alone (D = 1).
3. **The width of the transition** (``--window``): by bisection in ln η, the largest rate at which none of
   ``--scan-seeds`` seeds diverges within ``--scan-steps`` steps and the smallest at which 90 % do. A bound η̂ with
   none diverged at 0.9 η̂ and 90 % at 1.1 η̂ (the issue's criterion) exists only if their ratio is at most
   1.1 / 0.9 = 1.22, whatever theory gives η̂.
4. **Full batch** (``--full-batch``): where full-batch GD on the marginalised loss (B → ∞, the exact eigenbasis step
   of the trainer) leaves the plateau, by bisection in η, started on the plateau with every weight moved by 1e-6:
   the top mode alone, the top two and all modes. The large-B limit of where SGD diverges. Also where the top
   pair's off-diagonal weights lose their stability on the top mode's period-2 orbit (past full-batch GD's flip
   bound ηκ₁ = 1): the rate at which the two-step Jacobian of the exact step, by central differences at the
   diagonal 2-cycle of the top two modes, gets an eigenvalue outside the unit circle (besides the rotation gauge's 1).

Run: python bench/sgd_theory.py [--seeds 200] [--time 80] [--scan] [--window] [--full-batch] [--out FILE]
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


def _bound(B):
    """S4's bound η_B of the case at batch size B."""
    return dynamics.sgd_lr_bound(LAM, noise_var=CASE["noise_var"], batch_size=B, sampled_noise=True)[0]


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
        bound = _bound(B)
        for label, lam in (("all modes", LAM), ("top mode", LAM[:1])):
            shares = [diverged(lam, B, f * bound, steps, seeds) for f in FACTORS]
            rows.append(dict(batch_size=B, bound=bound, modes=label, factors=list(FACTORS), diverged=shares))
            print(f"B = {B:2d} (η_B = {bound:.4g}), {label:9s}: " + "  ".join(f"{s:4.0%}" for s in shares))
    return rows


def _edge(cache, share, upper, steps=8):
    """Bisection in ln η for the edge of the region ``upper(share)``, from the neighbouring rates tried so far that
    straddle it: (the highest rate known below the edge, the lowest known above it) after ``steps`` halvings."""
    etas = sorted(cache)
    k = next(i for i, eta in enumerate(etas) if upper(cache[eta]))
    lo, hi = etas[k - 1], etas[k]
    for _ in range(steps):
        mid = float(np.sqrt(lo * hi))
        lo, hi = (lo, mid) if upper(share(mid)) else (mid, hi)
    return lo, hi


def window(batch_sizes, steps, seeds, top=16.0):
    """Per batch size, with every mode and with the top mode alone: the largest η at which none of ``seeds`` seeds
    diverges within ``steps`` steps, the smallest at which 90 % do, and their ratio (None where 90 % is not reached
    by ``top`` times S4's bound). Assumes the share grows with η, as it does with every seed's draws fixed."""
    rows = []
    for B in batch_sizes:
        bound = _bound(B)
        for label, lam in (("all modes", LAM), ("top mode", LAM[:1])):
            cache = {}

            def share(eta):
                if eta not in cache:
                    cache[eta] = diverged(lam, B, eta, steps, seeds)
                return cache[eta]
            lo = hi = bound
            while share(lo) > 0:                            # down to a rate where no seed diverges
                lo /= 2
            while share(hi) < 0.9 and hi < top * bound:     # up to one where 90 % do
                hi *= 2
            row = dict(batch_size=B, modes=label, bound=bound, steps=steps, seeds=seeds,
                       none_diverged=None, most_diverged=None, ratio=None, criterion_ratio=1.1 / 0.9)
            if share(hi) >= 0.9:
                none = _edge(cache, share, lambda x: x > 0)[0]
                most = _edge(cache, share, lambda x: x >= 0.9)[1]
                row.update(none_diverged=none, most_diverged=most, ratio=most / none)
            rows.append(row)
            text = (f"none diverged up to {row['none_diverged'] / bound:.3f} η_B, 90 % from "
                    f"{row['most_diverged'] / bound:.3f} η_B: ratio {row['ratio']:.2f} (the criterion needs at most "
                    f"{1.1 / 0.9:.2f})" if row["ratio"] else f"90 % not reached by {top:g} η_B")
            print(f"B = {B:2d} (η_B = {bound:.4g}), {label:9s}: {text}", flush=True)
    return rows


def full_batch_escape(steps=3000, scale=1e-6, iterations=30):
    """The rate at which full-batch GD from the plateau (every weight moved by ``scale`` times a normal draw) leaves
    the overflow guard within ``steps`` steps, by bisection between 0.9 and 2.2 over the top mode's κ."""
    from lindae.validation.training.eigenbasis import EigenbasisStep
    rows = []
    for label, lam in (("top mode", LAM[:1]), ("top two", LAM[:2]), ("all modes", LAM)):
        u = lam / (lam + CASE["noise_var"])
        g = np.random.default_rng(0)
        P0 = np.diag(np.sqrt(u)) + scale * g.standard_normal((lam.size, lam.size))
        Q0 = np.diag(np.sqrt(u)) + scale * g.standard_normal((lam.size, lam.size))

        def escapes(eta):
            step = EigenbasisStep(P0, Q0, lam, CASE["noise_var"], 0.0, eta)
            for _ in range(steps):
                step.step()
                if step.diverged():
                    return True
            return False
        lo, hi = 0.9 / LAM[0], 2.2 / LAM[0]
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if escapes(mid) else (mid, hi)
        bounds = {B: _bound(B) for B in (64, 512)}
        rows.append(dict(modes=label, escape=hi, escape_times_kappa1=hi * LAM[0],
                         **{f"escape_over_bound_B{B}": hi / b for B, b in bounds.items()}))
        print(f"full batch, {label:9s}: leaves the plateau from η = {hi:.5f} (ηκ₁ = {hi * LAM[0]:.4f}; "
              + ", ".join(f"{hi / b:.3f} η_B at B = {B}" for B, b in bounds.items()) + ")", flush=True)
    return rows


def pair_block_edge(iterations=25, settle=20000):
    """The rate η (bisection over ηκ₁ in [1.05, 1.3]) at which the top two modes' diagonal 2-cycle under full-batch
    GD loses stability in the off-diagonal directions: the two-step Jacobian (central differences of the trainer's
    exact step) gets an eigenvalue of modulus above 1 other than the rotation gauge's eigenvalue 1. The diagonal is
    invariant under the step, so the 2-cycle is found by iterating from a diagonal start."""
    from lindae.validation.training.eigenbasis import EigenbasisStep
    lam, eps = LAM[:2], CASE["noise_var"]

    def step(x, eta):
        s = EigenbasisStep(x[:4].reshape(2, 2), x[4:].reshape(2, 2), lam, eps, 0.0, eta)
        s.step()
        return np.concatenate([s.P.ravel(), s.Q.ravel()])

    def modulus(a):
        eta = a / LAM[0]
        x = np.tile(np.diag(np.sqrt(1.01 * lam / (lam + eps))).ravel(), 2)
        for _ in range(settle):
            x = step(x, eta)
        h, J = 1e-7, np.empty((8, 8))
        for k in range(8):
            e = np.zeros(8)
            e[k] = h
            J[:, k] = (step(step(x + e, eta), eta) - step(step(x - e, eta), eta)) / (2 * h)
        ev = np.linalg.eigvals(J)
        return float(np.max(np.abs(ev[np.abs(ev - 1) > 1e-6])))
    lo, hi = 1.05, 1.3
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if modulus(mid) > 1 else (mid, hi)
    bounds = {B: _bound(B) for B in (64, 512)}
    eta = hi / LAM[0]
    print(f"full batch, top two: the off-diagonal weights lose stability on the top mode's 2-cycle at ηκ₁ = {hi:.4f} "
          + "(" + ", ".join(f"{eta / b:.3f} η_B at B = {B}" for B, b in bounds.items()) + ")", flush=True)
    return dict(times_kappa1=hi, eta=eta, **{f"over_bound_B{B}": eta / b for B, b in bounds.items()})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=200, help="seeds trained at once for the cost (default 200)")
    p.add_argument("--time", type=float, default=80.0, help="learning time; steps = time / 0.01 (default 80)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 64], help="batch sizes (default 1 8 64)")
    p.add_argument("--scan", action="store_true", help="also scan the learning rate for divergence (a few minutes)")
    p.add_argument("--window", action="store_true", help="also find, by bisection, the rates at which none and 90 %% "
                   "of the seeds diverge, and their ratio (a few minutes)")
    p.add_argument("--full-batch", action="store_true", help="also find where full-batch GD leaves the plateau")
    p.add_argument("--scan-steps", type=int, default=1500, help="steps of each scan run (default 1500)")
    p.add_argument("--scan-seeds", type=int, default=100, help="seeds of each scan run (default 100)")
    p.add_argument("--out", default=None, help="write the numbers here (JSON, atomically)")
    a = p.parse_args(argv)
    if a.seeds < 2 or a.time <= 0 or a.scan_steps < 1 or a.scan_seeds < 1 or min(a.batch_sizes) < 1:
        p.error("need --seeds >= 2, --time > 0, --scan-steps >= 1, --scan-seeds >= 1 and batch sizes >= 1")
    out = dict(cost=cost(a.seeds, int(round(a.time / 0.01)), a.batch_sizes))
    if a.scan:
        out["divergence"] = scan(a.batch_sizes, a.scan_steps, a.scan_seeds)
    if a.window:
        out["window"] = window(a.batch_sizes, a.scan_steps, a.scan_seeds)
    if a.full_batch:
        out["full_batch"] = full_batch_escape()
        out["pair_block"] = pair_block_edge()
    return write_numbers(out, a.out)


if __name__ == "__main__":
    main()
