"""Where S1-S3's mean misses SGD at small B: the same Gaussian modes (λᵢ = 2^(3−i), ε = 0.5 sampled, u₀ = 10⁻³,
η = 0.01, 8000 steps) with 1, 2, 4 and 8 modes, every mode with its own hidden unit, and 8 modes with one hidden unit.

For each setting it trains ``--seeds`` seeds and prints, per mode over the recorded steps, the most negative and most
positive distance of the measured mean from the prediction in standard errors, and the same as a relative gap.
One mode alone is S1-S2's exact model; a gap that appears from two modes on is the pairs' (S3) share.
``--inspect`` then follows the two-mode case's weights directly (every 40 steps up to 240): the slower mode's
diagonal product pq, the leakage product cd that hidden unit 1 adds to it (c = W₁[1, 2], d = W₂[2, 1]), the
imbalance E(p − q)²/E pq, and the spread of the four leakage entries, which S3's recursion treats as small.

Run: python bench/sgd_bias.py [--batch-size 1] [--seeds 2000] [--inspect] [--out FILE]
"""
from __future__ import annotations

import argparse

import numpy as np

from bench_data import write_numbers
from lindae import validation


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=1, help="minibatch size B (default 1)")
    p.add_argument("--seeds", type=int, default=2000, help="seeds per setting (default 2000)")
    p.add_argument("--inspect", action="store_true", help="also follow the two-mode case's weights (module docstring)")
    p.add_argument("--out", default=None, help="write the numbers here (JSON, atomically)")
    a = p.parse_args(argv)
    lam_all = 2.0 ** (3 - np.arange(1, 9))
    rows = []
    for D, H in ((1, 1), (2, 2), (4, 4), (8, 8), (8, 1)):
        ens = validation.train_sgd_ensemble(H, 0.01, 8000, batch_size=a.batch_size, seeds=a.seeds,
                                            eigenvalues=lam_all[:D], noise_var=0.5, u0=1e-3, record_every=40)
        th = validation.run_sgd_theory(ens)
        m, t, se = ens.mean[1:, :H], th["mean"][1:, :H], ens.se[1:, :H]      # step 0: every seed equal
        z, rel = (m - t) / se, m / t - 1
        rows.append(dict(D=D, hidden=H, z_min=z.min(0).tolist(), z_max=z.max(0).tolist(),
                         relative_min=rel.min(0).tolist(), relative_max=rel.max(0).tolist()))
        print(f"D = {D}, H = {H}: mean − theory in SE from {np.round(z.min(0), 1)} to {np.round(z.max(0), 1)}; "
              f"relative from {np.round(rel.min(0), 3)} to {np.round(rel.max(0), 3)}")
    out = dict(batch_size=a.batch_size, seeds=a.seeds, rows=rows)
    if a.inspect:
        out["two_modes"] = inspect(lam_all[:2], a.batch_size, a.seeds)
    return write_numbers(out, a.out)


def inspect(lam, B, S, eta=0.01, eps=0.5, u0=1e-3, steps=240, every=40):
    """The two-mode ensemble's weights, stepped as train_sgd_ensemble steps them (its draws, batched)."""
    from lindae.validation.training import sgd
    p = sgd._problem(2, eta, steps, B, lam, None, eps, 0.0, True, u0, every)[0]
    gens = [sgd.seed_generators(0, i) for i in range(S)]
    W1, W2 = sgd._aligned(S, 2, 2, u0)
    xs = [p.draws(g, steps) for g in gens]
    rows = []
    for k in range(steps):
        xb = np.stack([x[0][k] for x in xs])
        xt = np.stack([x[1][k] for x in xs])
        h = xt @ np.transpose(W1, (0, 2, 1))
        res = (h @ np.transpose(W2, (0, 2, 1)) - xb) * (eta / B)
        g2, g1 = np.transpose(res, (0, 2, 1)) @ h, np.transpose(res @ W2, (0, 2, 1)) @ xt
        W1 -= g1
        W2 -= g2
        if (k + 1) % every == 0:
            pp, qq = W1[:, 1, 1], W2[:, 1, 1]
            leak = {n: float(v.std()) for n, v in zip("abcd", (W1[:, 1, 0], W2[:, 0, 1], W1[:, 0, 1], W2[:, 1, 0]))}
            rows.append(dict(step=k + 1, s2=float(np.mean(pp * qq + W1[:, 0, 1] * W2[:, 1, 0])),
                             pq=float(np.mean(pp * qq)), cd=float(np.mean(W1[:, 0, 1] * W2[:, 1, 0])),
                             imbalance=float(np.mean((pp - qq) ** 2) / np.mean(pp * qq)), leakage_sd=leak))
            print(f"two modes, step {k + 1}: s2 {rows[-1]['s2']:.4f} = pq {rows[-1]['pq']:.4f} + cd {rows[-1]['cd']:.5f}; "
                  f"E(p - q)^2/E pq {rows[-1]['imbalance']:.4f}; sd of a, b, c, d "
                  + ", ".join(f"{v:.3f}" for v in leak.values()))
    return rows


if __name__ == "__main__":
    main()
