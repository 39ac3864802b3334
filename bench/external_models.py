"""Models trained elsewhere on MNIST, scored with validation.predict: the acceptance run of the external-model
entry point (docs/conventions.md quotes its numbers through docs/claims.json).

1. docs/examples/jax_dae.py at the issue's setting: JAX + optax, full-batch SGD on mean((x - x̂)²), MNIST's first
   10 000 images, H = 64, init scale 1e-4, AE and DAE (σ² = 0.5).
2. The same data and initial weights trained in NumPy on the "sum" and "batch_mean" losses
   (docs/examples/numpy_losses.py, the losses written from their definitions), AE and DAE.

For each: the worst |s_i - prediction_i| over modes 1..H and the same for lindae's own trainer from the same
weights, and their ratio (the acceptance bound is 2). Writes --out (JSON, atomically).

Run: python bench/external_models.py [--n-images 10000] [--epochs 3000] [--out bench/external_models.json]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from lindae.derivations.files import atomic_write_json

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "examples")
sys.path.insert(0, EXAMPLES)
import example_common as common  # noqa: E402
import jax_dae  # noqa: E402
import numpy_losses  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-images", type=int, default=10_000, help="MNIST training images (default 10 000)")
    p.add_argument("--epochs", type=int, default=3000, help="full-batch steps (default 3000)")
    p.add_argument("--record-every", type=int, default=20, help="record every so many steps (default 20)")
    p.add_argument("--out", default="bench/external_models.json", help="where to write the numbers")
    a = p.parse_args(argv)
    common_args = ["--n-images", str(a.n_images), "--epochs", str(a.epochs), "--record-every", str(a.record_every)]
    with tempfile.TemporaryDirectory() as tmp:
        jax = jax_dae.main(common_args + ["--out", tmp])
    args = common.check(p, common.parser(common.__doc__ + "\n\n.", "").parse_args(common_args))
    X = common.load_data(args)
    N, D = X.shape
    W1, W2 = common.initial_weights(args, D)
    lindae_lr = 0.02
    out = {"jax_mean": jax, "numpy": {}}
    for loss in ("sum", "batch_mean"):
        c = numpy_losses.ALPHA[loss](N, D) / numpy_losses.ALPHA["lindae"](N, D)
        for name, noise_var in (("AE", 0.0), ("DAE", 0.5)):
            t0 = time.perf_counter()
            trained = numpy_losses.sgd(X, W1, W2, lindae_lr / c, a.epochs, loss=loss, noise_var=noise_var,
                                       record_every=a.record_every, use_gram=True)
            r = common.compare(X, W1, W2, lindae_lr / c, a.epochs, a.record_every, trained, noise_var=noise_var,
                               loss=loss, seconds=time.perf_counter() - t0, label=f"NumPy {loss} {name}")
            out["numpy"][f"{loss}_{name}"] = {f: r[f] for f in common.SUMMARY_FIELDS}
    ratios = [m["ratio"] for m in jax["models"].values()] + [m["ratio"] for m in out["numpy"].values()]
    out["worst_ratio"] = max(ratios)
    out["setting"] = dict(n_images=a.n_images, epochs=a.epochs, hidden=64, init_scale=1e-4, lindae_lr=lindae_lr)
    atomic_write_json(a.out, out)
    print(f"worst ratio of the prediction's error to lindae's own trainer's: {out['worst_ratio']:.3f}; wrote {a.out}")
    return out


if __name__ == "__main__":
    main()
