"""Many SGD seeds side by side against one (issue 22): MNIST (its first 10 000 images, rows drawn with replacement),
H = 64, sampled noise ε = 0.5, for B = 1, 8 and 64. For each B the same number of steps is timed for all seeds
trained at once and for one seed, in the same run, and the ratio printed (the issue asks for at most 10 at 200
seeds). A step's time is the difference between runs of 2n and n steps, so the setup every run shares (the data's
spectrum and its fourth moments, a few seconds on MNIST) cancels; each time is the best of ``--repeat`` runs.

Run: python bench/sgd_speed.py [--seeds 200] [--steps 30] [--repeat 3] [--data ARRAY.npy] [--out FILE]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench_data import write_numbers
from lindae import validation


def best_time(fn, repeat):
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=200, help="seeds trained side by side (default 200)")
    p.add_argument("--steps", type=int, default=30, help="SGD steps timed (default 30)")
    p.add_argument("--repeat", type=int, default=3, help="runs per timing; the best is kept (default 3)")
    p.add_argument("--data", default=None, help="an array file to use instead of MNIST (rows are samples)")
    p.add_argument("--out", default=None, help="write the numbers here (JSON, atomically)")
    a = p.parse_args(argv)
    X = validation.load_array(a.data) if a.data else validation.load_mnist(10_000)
    H = min(64, X.shape[1])
    rows = []
    for B in (1, 8, 64):
        def run(n, steps):
            return lambda: validation.train_sgd_ensemble(H, 1e-3, steps, batch_size=B, seeds=n, X=X, noise_var=0.5,
                                                         record_every=steps)
        step = {}
        for n in (a.seeds, 1):
            step[n] = (best_time(run(n, 2 * a.steps), a.repeat) - best_time(run(n, a.steps), a.repeat)) / a.steps
        rows.append(dict(batch_size=B, step_seconds_all=step[a.seeds], step_seconds_one=step[1],
                         ratio=step[a.seeds] / step[1]))
        print(f"B = {B:2d}: a step of {a.seeds} seeds {1e3 * step[a.seeds]:.2f} ms, of one seed {1e3 * step[1]:.3f} ms, "
              f"ratio {step[a.seeds] / step[1]:.1f}")
    out = dict(seeds=a.seeds, steps=a.steps, hidden=H, rows=rows)
    return write_numbers(out, a.out)


if __name__ == "__main__":
    main()
