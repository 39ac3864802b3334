"""Benchmark: R15's evaluation against the training it predicts, side by side in one run.

Trains a linear autoencoder on MNIST's spectrum in the eigenbasis (the Figure 5 setting: H = 256,
lr 0.01, init scale 1e-4) for ``--epochs`` epochs, recording every ``--record-every``, then evaluates
R15 (``run_theory``, every mode at every recorded time) on those records ``--repeats`` times.

This machine's speed drifts by up to 1.7x within seconds, so one long training against one short
evaluation measures the drift as much as the code. Each evaluation is therefore sandwiched between two
trainings of ``--window`` epochs (the same model, settings and recording). An epoch costs the same at
every epoch of a run, and a run's one-off work (its start, the singular values at its ends) is the same for
every length, so a window is timed as a 10-epoch run and a (10 + window)-epoch run: the difference gives the
epoch, the short run the one-off work (about 3 % of a 1000-epoch window, 0.4 % of the full run, which a
plain window would charge to its epochs in R15's favour). The training R15 predicts then costs the 10-epoch
run plus ``epochs`` - 10 epochs, with the mean of the two windows around the evaluation, measured in the same
seconds as it. Each evaluation gives one ratio, R15's time over that training time; the median is quoted
(the main job's acceptance bound is 0.1).
The full training's own time, with the first evaluation's ratio to it, is printed as well.

After each evaluation the four dense kernels every recorded time needs (module ``lindae.dynamics.random_init``:
the rank-k update of the Gram matrix over the rows that grow, its Cholesky factor, the triangle's inverse and the
triangular product with all D rows) are timed alone at the run's shapes, 20 times each, best of three: their
sum per recorded time, over the same training, is the floor of this algorithm's ratio on this machine (the rest
is the elementwise passes over the D x H rows and the per-mode map of every epoch).

The symbolic layer that generates the per-mode map is imported and generated once per process,
before the clock starts; its time is printed on its own line.

With ``--blas-threads 1`` both run on one BLAS thread, as they do on the main job's single-threaded workers.

Run: python bench/r15_speed.py [--hidden 256] [--epochs 5000] [--record-every 5] [--window 1000]
                               [--repeats 5] [--blas-threads N] [--out FILE]
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
    p.add_argument("--window", type=int, default=1000,
                   help="epochs of each training window timed before and after every evaluation (default 1000)")
    p.add_argument("--repeats", type=int, default=5, help="evaluations, each between two windows (default 5)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="BLAS threads for the training and R15 alike (default: the library's own, every core; "
                        "1 is how the main job's single-threaded workers run both)")
    p.add_argument("--out", default=None, help="write the numbers here (JSON, atomically)")
    a = p.parse_args(argv)
    if min(a.hidden, a.epochs, a.record_every, a.repeats, a.window) < 1:
        p.error("--hidden, --epochs, --record-every, --window and --repeats must be at least 1")
    if a.epochs <= 10:
        p.error("--epochs must exceed 10 (the training is estimated from a 10-epoch run and the epochs beyond it)")
    if a.window % a.record_every:
        p.error("--window must be a multiple of --record-every (a window records as the full run does)")
    if a.blas_threads is not None and a.blas_threads < 1:
        p.error("--blas-threads must be at least 1")
    if a.blas_threads is None:
        return _measure(a)
    import scipy.linalg.blas  # noqa: F401  (SciPy's own OpenBLAS is loaded, so that the limit reaches it too)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=a.blas_threads, user_api="blas"):
        return _measure(a)


def _measure(a):
    spec = cached_spectrum(load_mnist(50_000, log=lambda m: None), log=lambda m: None)
    t = time.perf_counter()
    from lindae.derivations import mode_gd_map_function
    mode_gd_map_function()                  # once per process: import SymPy, derive and generate R12's map
    once = time.perf_counter() - t
    print(f"MNIST spectrum, D = {len(spec.eigenvalues)}, H = {a.hidden}, {a.epochs} epochs, recorded every "
          f"{a.record_every}; symbolic layer (once per process, not counted) {once:.2f} s")

    def train(epochs, seed=0):
        t = time.perf_counter()
        res = train_linear_ae(None, a.hidden, 0.01, epochs, noise_var=a.noise_var, init="random", init_scale=1e-4,
                              seed=seed, spectrum=spec, record_every=a.record_every, sv_every=epochs)
        return res, time.perf_counter() - t

    res, full = train(a.epochs)
    n = len(res.epochs)
    print(f"full training: {1e3 * full / a.epochs:.2f} ms/epoch ({full:.2f} s, {n} recorded times)")
    def window():
        short = train(10)[1]
        epoch = (train(10 + a.window)[1] - short) / a.window
        return epoch, short + (a.epochs - 10) * epoch          # (one epoch, the full training at this speed)

    before = window()
    grow = int(np.count_nonzero(spec.eigenvalues + a.noise_var > 0))      # rows that enter the rank-k update
    pairs = []
    for r in range(a.repeats):
        t = time.perf_counter()
        run_theory(res)
        theory = time.perf_counter() - t
        kernels = kernel_times(len(spec.eigenvalues), a.hidden, grow)
        after = window()
        epoch, training = 0.5 * (before[0] + after[0]), 0.5 * (before[1] + after[1])
        floor = sum(kernels.values())
        pairs.append(dict(theory_seconds=theory, window_epoch_ms=[1e3 * before[0], 1e3 * after[0]],
                          training_seconds=training, epoch_ms=1e3 * epoch, record_ms=1e3 * theory / n,
                          ratio=theory / training, kernel_ms={k: 1e3 * v for k, v in kernels.items()},
                          floor_ms=1e3 * floor, floor_ratio=floor * n / training))
        print(f"  evaluation {r + 1}: windows {1e3 * before[0]:5.2f}, {1e3 * after[0]:5.2f} ms/epoch;  "
              f"R15 {1e3 * theory / n:5.2f} ms per recorded time ({theory:5.2f} s);  R15 / training x{pairs[-1]['ratio']:.3f};  "
              f"kernels alone {1e3 * floor:4.2f} ms (" + ", ".join(f"{k} {1e3 * v:.2f}" for k, v in kernels.items())
              + f"), floor x{pairs[-1]['floor_ratio']:.3f}")
        before = after
    mid = pairs[int(np.argsort([q["ratio"] for q in pairs])[len(pairs) // 2])]
    print(f"median: R15 per recorded time / one epoch x{mid['record_ms'] / mid['epoch_ms']:.2f};  "
          f"R15 / the {a.epochs}-epoch training x{mid['ratio']:.3f}  (first evaluation / the full run timed above: "
          f"x{pairs[0]['theory_seconds'] / full:.3f});  its kernels alone x{mid['floor_ratio']:.3f} "
          f"({mid['floor_ms'] / mid['record_ms']:.0%} of R15's time)")
    out = dict(hidden=a.hidden, epochs=a.epochs, blas_threads=a.blas_threads, record_every=a.record_every, records=n,
               window=a.window, modes=len(spec.eigenvalues), ratio=mid["ratio"], epoch_ms=mid["epoch_ms"], record_ms=mid["record_ms"],
               floor_ms=mid["floor_ms"], floor_ratio=mid["floor_ratio"], kernel_ms=mid["kernel_ms"], growing_rows=grow,
               full_training_seconds=full, pairs=pairs)
    if a.out:
        atomic_write_json(a.out, out)
        print(f"wrote {a.out}")
    return out


def kernel_times(D, H, k, calls=20, repeats=3):
    """Seconds per call of the four dense kernels of one relative step of R15's factor at its shapes (D rows,
    H columns, k rows in the rank-k update), each the best of ``repeats`` runs of ``calls`` calls, on fresh copies
    of a well-conditioned problem as the step has (B = SQ with condition number at most e^3)."""
    from lindae.dynamics.random_init import dpotrf, dsyrk, dtrmm, dtrtri      # the very kernels the factor calls
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((D, H))
    rows = np.ascontiguousarray(Z[:k] / np.sqrt(k))
    G = np.asfortranarray(dsyrk(1.0, rows.T, trans=0) + np.eye(H))
    U = dpotrf(G, lower=0, clean=1)[0]
    Ui = dtrtri(U, lower=0)[0]
    kernels = {"rank-k update": lambda: dsyrk(1.0, rows.T, trans=0, beta=0.0, c=G.copy(order="F"), overwrite_c=1),
               "Cholesky": lambda: dpotrf(G.copy(order="F"), lower=0, clean=1, overwrite_a=1),
               "inverse": lambda: dtrtri(U.copy(order="F"), lower=0, overwrite_c=1),
               "product": lambda: dtrmm(1.0, Ui, Z.copy().T, side=0, lower=0, trans_a=1, overwrite_b=1)}
    copies = {"rank-k update": lambda: G.copy(order="F"), "Cholesky": lambda: G.copy(order="F"),
              "inverse": lambda: U.copy(order="F"), "product": lambda: Z.copy().T}
    out = {}
    for name, fn in kernels.items():
        best = np.inf
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(calls):
                fn()
            spent = time.perf_counter() - t
            t = time.perf_counter()
            for _ in range(calls):
                copies[name]()                 # the copies that keep the inputs fresh are not the kernel's
            best = min(best, spent - (time.perf_counter() - t))
        out[name] = best / calls
    return out


if __name__ == "__main__":
    main()
