"""Where S1-S3's mean misses SGD at small B: the same Gaussian modes (λᵢ = 2^(3−i), ε = 0.5 sampled, u₀ = 10⁻³,
η = 0.01, 8000 steps) with 1, 2, 4 and 8 modes, every mode with its own hidden unit, and 8 modes with one hidden unit.

For each setting it trains ``--seeds`` seeds and prints, per mode over the recorded steps, the most negative and most
positive distance of the measured mean from the prediction in standard errors, and the same as a relative gap.
One mode alone is S1-S2's exact model; a gap that appears from two modes on is the pairs' (S3) share.

Run: python bench/sgd_bias.py [--batch-size 1] [--seeds 2000] [--out FILE]
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
    return write_numbers(dict(batch_size=a.batch_size, seeds=a.seeds, rows=rows), a.out)


if __name__ == "__main__":
    main()
