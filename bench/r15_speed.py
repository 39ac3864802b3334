"""Benchmark: R15's evaluation against the training it predicts, side by side in one run.

Trains a linear autoencoder on MNIST's spectrum in the eigenbasis (the Figure 5 setting: H = 256,
lr 0.01, init scale 1e-4) for ``--epochs`` epochs, recording every ``--record-every``, then evaluates
R15 (``run_theory``, every mode at every recorded time) on those records. Prints the time per epoch
of training, R15's time per recorded time, and the ratio of R15's total to the training's total (the
acceptance bound of the main job is 0.1). The symbolic layer that generates the per-mode map is imported
and generated once per process, before the clock starts; its time is printed on its own line.

Run: python bench/r15_speed.py [--hidden 256] [--epochs 1000] [--record-every 5]
"""
from __future__ import annotations

import argparse
import time

from lindae.validation import run_theory, train_linear_ae
from lindae.validation.data.datasets import load_mnist
from lindae.validation.data.spectrum import cached_spectrum


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=256, help="hidden width H (default 256)")
    p.add_argument("--epochs", type=int, default=1000, help="training epochs (default 1000)")
    p.add_argument("--record-every", type=int, default=5, help="epochs between recorded times (default 5)")
    p.add_argument("--noise-var", type=float, default=0.0, help="noise variance of the model (default 0)")
    a = p.parse_args(argv)
    spec = cached_spectrum(load_mnist(50_000, log=lambda m: None), log=lambda m: None)
    t = time.perf_counter()
    from lindae.derivations import mode_gd_map_function
    mode_gd_map_function()                  # once per process: import SymPy, derive and generate R12's map
    once = time.perf_counter() - t
    t = time.perf_counter()
    res = train_linear_ae(None, a.hidden, 0.01, a.epochs, noise_var=a.noise_var, init="random", init_scale=1e-4, seed=0,
                          spectrum=spec, record_every=a.record_every, sv_every=a.epochs)
    train = time.perf_counter() - t
    t = time.perf_counter()
    run_theory(res)
    theory = time.perf_counter() - t
    n = len(res.epochs)
    print(f"MNIST spectrum, D = {len(spec.eigenvalues)}, H = {a.hidden}, {a.epochs} epochs, {n} recorded times:")
    print(f"  symbolic layer    (once per process, not counted)  {once:7.2f} s")
    print(f"  training          {1e3 * train / a.epochs:8.2f} ms/epoch      {train:7.2f} s")
    print(f"  R15 (run_theory)  {1e3 * theory / n:8.2f} ms/recorded time {theory:7.2f} s")
    print(f"  R15 time per recorded time / one epoch: x{theory / n / (train / a.epochs):.2f};  "
          f"R15 total / training total: x{theory / train:.3f}")
    return dict(train_seconds=train, theory_seconds=theory, records=n)


if __name__ == "__main__":
    main()
