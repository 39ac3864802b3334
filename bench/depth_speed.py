"""Benchmark: time per epoch of deep linear autoencoders against depth 2, side by side in one run.

Trains on MNIST's spectrum in the eigenbasis (no data pass per epoch) at hidden width H for a few
epochs and prints the best-of-three time per epoch of: depth 2 with the tuned one-hidden-layer
trainer (``train_linear_ae``), depth 2 with the deep trainer (``train_deep_linear_ae``), and depths
3 and 4 with the deep trainer, with their ratios to depth 2.

Run: python bench/depth_speed.py [--hidden 256] [--epochs 200]
"""
from __future__ import annotations

import argparse
import time

from lindae.validation import train_linear_ae
from lindae.validation.data.datasets import load_mnist
from lindae.validation.training.deep import train_deep_linear_ae
from lindae.validation.data.spectrum import cached_spectrum


def per_epoch(fn, epochs, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - t) / epochs)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=256, help="hidden width H (default 256)")
    p.add_argument("--epochs", type=int, default=200, help="epochs per timed run (default 200)")
    a = p.parse_args(argv)
    spec = cached_spectrum(load_mnist(50_000, log=lambda m: None), log=lambda m: None)
    kw = dict(init_scale=1e-2, seed=0, spectrum=spec, record_every=a.epochs)
    rows = {"depth 2 (tuned trainer)": per_epoch(lambda: train_linear_ae(None, a.hidden, 0.01, a.epochs, **kw), a.epochs)}
    for L in (2, 3, 4):
        rows[f"depth {L} (deep trainer)"] = per_epoch(
            lambda L=L: train_deep_linear_ae(None, a.hidden, 0.01, a.epochs, depth=L, **kw), a.epochs)
    base = rows["depth 2 (tuned trainer)"]
    print(f"MNIST spectrum, D = {len(spec.eigenvalues)}, H = {a.hidden}, best of 3 runs of {a.epochs} epochs:")
    for name, sec in rows.items():
        print(f"  {name:26s} {1e3 * sec:8.2f} ms/epoch   x{sec / base:.2f}")
    return {k: 1e3 * v for k, v in rows.items()}


if __name__ == "__main__":
    main()
