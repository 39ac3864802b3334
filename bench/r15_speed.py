"""Benchmark: R15's evaluation against the training it predicts, side by side in one run.

Trains a linear autoencoder on MNIST's spectrum in the eigenbasis (the Figure 5 setting: H = 256,
lr 0.01, init scale 1e-4) for ``--epochs`` epochs, recording every ``--record-every``, then evaluates
R15 (``run_theory``, every mode at every recorded time) on those records. The pair (training, R15) is
repeated ``--repeats`` times back to back, since this machine's speed drifts by up to 1.7x within
minutes; each pair gives a ratio of R15's total to the training's total, and the median pair is quoted
(the main job's acceptance bound is 0.1). The symbolic layer that generates the per-mode map is imported
and generated once per process, before the clock starts; its time is printed on its own line.

Run: python bench/r15_speed.py [--hidden 256] [--epochs 5000] [--record-every 5] [--repeats 3] [--out FILE]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from lindae.derivations.files import atomic_write_json
from lindae.validation import run_theory, train_linear_ae
from lindae.validation.data.datasets import load_mnist
from lindae.validation.data.spectrum import cached_spectrum


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=256, help="hidden width H (default 256)")
    p.add_argument("--epochs", type=int, default=5000, help="training epochs (default 5000, as Figure 5)")
    p.add_argument("--record-every", type=int, default=5, help="epochs between recorded times (default 5: 1001 times)")
    p.add_argument("--noise-var", type=float, default=0.0, help="noise variance of the model (default 0)")
    p.add_argument("--repeats", type=int, default=3, help="(training, R15) pairs timed back to back (default 3)")
    p.add_argument("--out", default=None, help="write the numbers here (JSON, atomically)")
    a = p.parse_args(argv)
    if min(a.hidden, a.epochs, a.record_every, a.repeats) < 1:
        p.error("--hidden, --epochs, --record-every and --repeats must be at least 1")
    spec = cached_spectrum(load_mnist(50_000, log=lambda m: None), log=lambda m: None)
    t = time.perf_counter()
    from lindae.derivations import mode_gd_map_function
    mode_gd_map_function()                  # once per process: import SymPy, derive and generate R12's map
    once = time.perf_counter() - t
    print(f"MNIST spectrum, D = {len(spec.eigenvalues)}, H = {a.hidden}, {a.epochs} epochs, recorded every "
          f"{a.record_every}; symbolic layer (once per process, not counted) {once:.2f} s")
    pairs = []
    for r in range(a.repeats):
        t = time.perf_counter()
        res = train_linear_ae(None, a.hidden, 0.01, a.epochs, noise_var=a.noise_var, init="random", init_scale=1e-4,
                              seed=r, spectrum=spec, record_every=a.record_every, sv_every=a.epochs)
        train = time.perf_counter() - t
        t = time.perf_counter()
        run_theory(res)
        theory = time.perf_counter() - t
        n = len(res.epochs)
        pairs.append(dict(train_seconds=train, theory_seconds=theory, records=n, epoch_ms=1e3 * train / a.epochs,
                          record_ms=1e3 * theory / n, ratio=theory / train))
        print(f"  pair {r + 1}: training {1e3 * train / a.epochs:6.2f} ms/epoch ({train:6.2f} s);  R15 "
              f"{1e3 * theory / n:6.2f} ms per recorded time ({theory:5.2f} s, {n} times);  R15 / training x{theory / train:.3f}")
    mid = pairs[int(np.argsort([q["ratio"] for q in pairs])[len(pairs) // 2])]
    print(f"median pair: R15 time per recorded time / one epoch x{mid['record_ms'] / mid['epoch_ms']:.2f};  "
          f"R15 total / training total x{mid['ratio']:.3f}")
    out = dict(hidden=a.hidden, epochs=a.epochs, record_every=a.record_every, records=mid["records"],
               modes=len(spec.eigenvalues), ratio=mid["ratio"], epoch_ms=mid["epoch_ms"], record_ms=mid["record_ms"],
               pairs=pairs)
    if a.out:
        atomic_write_json(a.out, out)
        print(f"wrote {a.out}")
    return out


if __name__ == "__main__":
    main()
