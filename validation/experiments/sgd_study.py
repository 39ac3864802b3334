r"""The minibatch-SGD study: every mode's mean and spread over many seeds against S1-S3, and S4's learning-rate bound
(docs/theory.md, section 2f).

``lindae sgd configs/sgd.toml --out DIR [--quick] [--force]``

A config gives top-level settings (each case may override them) and ``[[cases]]``: Gaussian data with given
``eigenvalues``, or MNIST (its first ``samples`` training images, minibatches drawn with replacement, so that their
fourth moments are measured). Every (case, B, learning rate) is one cell:

* **Curves.** ``seeds`` aligned DAEs are trained side by side by minibatch SGD for ``time / lr`` steps, and every
  mode's mean and standard deviation over the seeds is compared with :func:`~lindae.validation.run_sgd_theory` at
  ``compare`` recorded steps spread geometrically over learning and the plateau: the worst distance of the mean in
  standard errors and the worst relative error of the standard deviation, per mode (the ``top`` modes).
  A learning rate is a number, or ``"0.9 bound"``: a fraction of S4's bound at that B.
* **Bound.** For every (case, B): S4's bound η_B, and the share of ``seeds`` seeds that diverge within
  ``bound_steps`` steps at each of ``bound_factors`` × η_B.
* **Speed** (``speed = true``): the time of all seeds against one seed, over the same steps, side by side, at each
  B's first learning rate (``python bench/sgd_speed.py`` measures it alone).

With a Dask client the seeds of a cell are split over the workers and the parts combined
(:func:`~lindae.validation.combine_sgd_ensembles`), and a cell's theory runs as a task on the workers while the next
cells train (a cell's line is logged when its theory is in).

Layout of DIR::

    cells/KEY.json  one finished cell, written atomically; a rerun skips it unless --force
    sgd.json        every cell, in config order, with the acceptance bounds
    bands.png       mean ± one standard deviation per mode, measured (bands) against theory (lines)
    manifest.json   config, environment, timings
"""
from __future__ import annotations

import functools
import os
import time

import numpy as np

from lindae.derivations.files import atomic_write_json
from lindae.validation.experiments.config import ConfigError, read_toml, study_cases
from lindae.validation.experiments.store import ResultStore, content_key, interrupt_on_sigterm, write_manifest

#: Settings a config gives at the top and a case may override.
SETTINGS = {"seeds": 200, "u0": 1e-3, "noise_var": 0.5, "sampled_noise": True, "batch_sizes": [1, 8, 64],
            "lrs": [0.01], "time": 80.0, "records": 400, "compare": 20, "top": 16, "bound_factors": [0.9, 1.1],
            "bound_steps": 1500, "speed": False, "seed": 0}
CASE_KEYS = {"name", "eigenvalues", "data", "samples", "hidden"} | set(SETTINGS)
#: The acceptance bounds (issue 22): the mean within 3 standard errors, the spread within 15 %, and at least 90 %
#: diverged above the bound and none below.
BOUNDS = {"mean_se": 3.0, "std_relative": 0.15, "diverged_above": 0.9, "diverged_below": 0.0}


def _lr_spec(where, value):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    if isinstance(value, str):
        parts = value.split()
        try:
            if len(parts) == 2 and parts[1] == "bound" and float(parts[0]) > 0:
                return value
        except ValueError:
            pass
    raise ConfigError(f"{where}: a learning rate is a number > 0 or \"F bound\" (a fraction F of S4's bound), "
                      f"got {value!r}")


def parse_sgd(raw: dict) -> dict:
    """Validate a study config; ConfigError with a one-line message otherwise."""
    _, cases = study_cases(raw, SETTINGS, CASE_KEYS, ("name", "hidden"), "an SGD study")
    out = []
    for where, c, s in cases:
        if ("eigenvalues" in c) == ("data" in c):
            raise ConfigError(f"{where}: give eigenvalues (Gaussian data) or data = \"mnist\", not both or neither")
        if "data" in c and c["data"] != "mnist":
            raise ConfigError(f"{where}: data must be \"mnist\", got {c['data']!r}")
        for key in ("u0", "time"):
            if not isinstance(s[key], (int, float)) or isinstance(s[key], bool) or s[key] <= 0:
                raise ConfigError(f"{where}: '{key}' must be a number > 0, got {s[key]!r}")
        if not isinstance(s["noise_var"], (int, float)) or s["noise_var"] < 0:
            raise ConfigError(f"{where}: 'noise_var' must be a number >= 0, got {s['noise_var']!r}")
        for key in ("seeds", "records", "compare", "top", "bound_steps", "hidden"):
            value = c["hidden"] if key == "hidden" else s[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < (2 if key in ("seeds", "compare") else 1):
                raise ConfigError(f"{where}: '{key}' must be an integer >= {2 if key in ('seeds', 'compare') else 1}, "
                                  f"got {value!r}")
        for key in ("batch_sizes", "lrs", "bound_factors"):
            if not isinstance(s[key], list) or (not s[key] and key != "bound_factors"):
                raise ConfigError(f"{where}: '{key}' must be a {'' if key == 'bound_factors' else 'non-empty '}list")
        if any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in s["batch_sizes"]):
            raise ConfigError(f"{where}: every batch size must be an integer >= 1, got {s['batch_sizes']!r}")
        if any(not isinstance(f, (int, float)) or f <= 0 for f in s["bound_factors"]):
            raise ConfigError(f"{where}: every bound factor must be a number > 0, got {s['bound_factors']!r}")
        case = dict(name=str(c["name"]), hidden=c["hidden"], data=c.get("data"), samples=int(c.get("samples", 10_000)),
                    eigenvalues=None, **{k: s[k] for k in SETTINGS})
        case["lrs"] = [_lr_spec(where, v) for v in s["lrs"]]
        case["sampled_noise"] = bool(s["sampled_noise"])
        case["u0"], case["time"], case["noise_var"] = float(s["u0"]), float(s["time"]), float(s["noise_var"])
        if "eigenvalues" in c:
            lam = c["eigenvalues"]
            if (not isinstance(lam, list) or not lam or any(not isinstance(x, (int, float)) or isinstance(x, bool)
                                                              or x <= 0 for x in lam)):
                raise ConfigError(f"{where}: 'eigenvalues' must be a non-empty list of numbers > 0")
            case["eigenvalues"] = [float(x) for x in lam]
            if c["hidden"] > len(lam):
                raise ConfigError(f"{where}: hidden = {c['hidden']} exceeds D = {len(lam)}")
        out.append(case)
    return dict(title=raw.get("title", "minibatch SGD study"), cases=out)


def load_sgd(path) -> dict:
    return parse_sgd(read_toml(path, "SGD study config"))


def quick_sgd(study: dict) -> dict:
    """The quick report's study: the Gaussian cases only, 60 seeds (cases of more are left out), B ≤ 8, learning
    time ≤ 4, 300 bound steps, no speed run."""
    cases = [dict(c, seeds=60, batch_sizes=[b for b in c["batch_sizes"] if b <= 8] or c["batch_sizes"][:1],
                  time=min(c["time"], 4.0), bound_steps=min(c["bound_steps"], 300), records=min(c["records"], 200),
                  speed=False) for c in study["cases"] if c["seeds"] <= 200 and c["data"] != "mnist"]
    return dict(study, title=study["title"] + " (QUICK RUN: Gaussian data only, 60 seeds, B ≤ 8, learning time ≤ 4, "
                "300 bound steps)", cases=cases)


def report_sgd(study: dict) -> dict:
    """The full report's study: B ≤ 64 and at most 200 seeds (the 1000-seed case is left to ``lindae sgd``); MNIST at
    its first learning rate, B ≤ 8 and 50 seeds, without the bound's runs or the speed run."""
    cases = []
    for c in study["cases"]:
        if c["seeds"] > 200:
            continue
        q = dict(c, batch_sizes=[b for b in c["batch_sizes"] if b <= 64] or c["batch_sizes"][:1])
        if c["data"] == "mnist":
            q.update(lrs=c["lrs"][:1], bound_factors=[], speed=False, seeds=min(c["seeds"], 50),
                     batch_sizes=[b for b in c["batch_sizes"] if b <= 8] or c["batch_sizes"][:1])
        cases.append(q)
    return dict(study, title=study["title"] + " (report: B ≤ 64, at most 200 seeds; MNIST at its first learning rate, "
                "B ≤ 8 and 50 seeds, without the bound's and the speed runs; lindae sgd runs everything)", cases=cases)


def _data(case, data):
    """(eigenvalues, X): Gaussian data, or the rows of MNIST (or of the given array file)."""
    if case["eigenvalues"] is not None:
        return np.asarray(case["eigenvalues"]), None
    from lindae.validation.data.datasets import load_array, load_mnist
    X = load_array(data)[:case["samples"]] if data else load_mnist(case["samples"], log=lambda m: None)
    return None, X


@functools.lru_cache(maxsize=2)
def _data_moments(samples, data):
    """(eigenvalues, fourth moments along the eigenvectors) of the data's first ``samples`` rows, once per study: every
    bound on the same rows needs them."""
    from lindae.validation.data.spectrum import compute_spectrum
    _, X = _data(dict(eigenvalues=None, samples=samples), data)
    spec = compute_spectrum(X)
    return np.maximum(spec.eigenvalues, 0.0), np.mean((X @ spec.eigenvectors) ** 4, axis=0)


def _ensemble(case, B, eta, steps, every, seeds, seed, data, client, log=None):
    """The ensemble of ``seeds`` seeds (:func:`_ensemble_later`, waited for)."""
    return _ensemble_later(case, B, eta, steps, every, seeds, seed, data, client, log)()


def _ensemble_later(case, B, eta, steps, every, seeds, seed, data, client, log=None):
    """Start training ``seeds`` seeds and return ``later``: ``later()`` waits for their ensemble (DivergenceError if
    every seed diverged), ``later.future`` is it as a Dask future (None without a client), ``later.seconds()`` the
    training's own seconds (its longest part's, with a client). With a client the seeds are split over the workers
    and the parts combined on a worker, so that nothing waits for the main process between training and theory."""
    from lindae.dynamics.errors import DivergenceError
    from lindae.validation.training.sgd import train_sgd_ensemble
    lam, X = _data(case, data)
    kw = dict(batch_size=B, eigenvalues=lam, X=X, noise_var=case["noise_var"], sampled_noise=case["sampled_noise"],
              u0=case["u0"], record_every=every)
    if client is None or seeds < 4:
        t = time.perf_counter()
        try:
            out = train_sgd_ensemble(case["hidden"], eta, steps, seeds=seeds, seed=seed, progress=log, **kw)
        except DivergenceError as exc:          # raised when the ensemble is asked for, as with a client
            out = exc
        t = time.perf_counter() - t

        def later():
            if isinstance(out, DivergenceError):
                raise out
            return out
        later.future, later.seconds = None, lambda: t
        return later
    n = max(1, min(len(client.scheduler_info()["workers"]), seeds // 2))
    sizes = [seeds // n + (k < seeds % n) for k in range(n)]
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])          # ranges of the same seeds a serial run trains
    X_remote = None if kw["X"] is None else client.scatter(kw["X"], broadcast=True)    # once, not in every task
    parts = [client.submit(_on_worker, case["hidden"], eta, steps, sz, seed, int(a), dict(kw, X=None), X_remote,
                           pure=False) for a, sz in zip(firsts, sizes)]
    combined = client.submit(_combine_parts, seeds, steps, *parts, pure=False)

    def later():
        out, _ = combined.result()
        if isinstance(out, int):
            raise DivergenceError(f"every one of the {seeds} seeds diverged (lr = {eta:g}, batch size {B})", step=out)
        return out
    later.future, later.seconds = combined, lambda: combined.result()[1]
    return later


def _on_worker(hidden, eta, steps, seeds, seed, first, kw, X):
    """One part of an ensemble on a Dask worker, and its seconds; the part is the step by which every seed diverged
    (an expected outcome near the bound, returned rather than raised so that the worker logs no error) if they all
    did."""
    from lindae.dynamics.errors import DivergenceError
    from lindae.validation.experiments.store import one_blas_thread
    from lindae.validation.training.sgd import train_sgd_ensemble
    t = time.perf_counter()
    with one_blas_thread():
        try:
            part = train_sgd_ensemble(hidden, eta, steps, seeds=seeds, seed=seed, first=first, **dict(kw, X=X))
        except DivergenceError as exc:
            part = int(exc.step)
    return part, time.perf_counter() - t


def _combine_parts(seeds, steps, *parts):
    """(the ensemble of the parts (:func:`_on_worker`'s) or, if every seed diverged, the step by which they all had;
    the longest part's seconds)."""
    from lindae.validation.training.sgd import combine_sgd_ensembles
    seconds = max(t for _, t in parts)
    kept = [p for p, _ in parts if not isinstance(p, int)]
    if not kept:
        return min([steps] + [p for p, _ in parts]), seconds
    out = combine_sgd_ensembles(kept)
    out.diverged = np.concatenate([out.diverged, np.ones(seeds - out.diverged.size, dtype=bool)])
    return out, seconds


def _theory_on_worker(combined):
    """:func:`_timed` theory of a combined ensemble (:func:`_combine_parts`), None if every seed diverged."""
    from lindae.validation.training.sgd import run_sgd_theory
    ens, _ = combined
    return None if isinstance(ens, int) else _timed(run_sgd_theory, ens)


def bound_of(case, B, data=None):
    """S4's bound for the case at batch size B (MNIST: with its measured fourth moments)."""
    from lindae.dynamics import sgd_lr_bound
    lam, m4 = (np.asarray(case["eigenvalues"]), None) if case["eigenvalues"] is not None else \
        _data_moments(case["samples"], data)
    H = case["hidden"]
    return sgd_lr_bound(lam[:H], noise_var=case["noise_var"], batch_size=B, sampled_noise=case["sampled_noise"],
                        fourth_moment=None if m4 is None else m4[:H])[0]


def _eta(case, B, spec, data):
    if isinstance(spec, float):
        return spec
    return float(spec.split()[0]) * bound_of(case, B, data)


def compare_rows(epochs, steps, compare):
    """Indices of ``compare`` recorded steps spread geometrically from 2 % of the run (at least the first record
    after 0) to its end."""
    first = max(epochs[1] if len(epochs) > 1 else steps, int(round(0.02 * steps)))
    want = np.geomspace(max(first, 1), steps, compare)
    return np.unique(np.clip(np.searchsorted(epochs, want), 1, len(epochs) - 1))


def curve_cell(case, B, spec, data=None, client=None, log=None) -> dict:
    """One (case, B, learning rate) cell of the module docstring."""
    return curve_cell_later(case, B, spec, data, client, log)()


def curve_cell_later(case, B, spec, data=None, client=None, log=None):
    """Start the cell's seeds and return a function that gives the cell (:func:`curve_cell`); its ``ready()`` says
    whether that would wait. With ``client`` the seeds train and the theory runs as tasks on its workers, the theory
    as soon as the seeds are in, so that a study can start every cell at once."""
    from lindae.dynamics.errors import DivergenceError
    from lindae.validation.training.sgd import run_sgd_theory
    t0 = time.perf_counter()
    eta = _eta(case, B, spec, data)
    steps = max(int(round(case["time"] / eta)), 1)
    every = max(steps // case["records"], 1)
    ens_later = _ensemble_later(case, B, eta, steps, every, case["seeds"], case["seed"], data, client, log)
    theory = None if ens_later.future is None else client.submit(_theory_on_worker, ens_later.future, pure=False)
    before = time.perf_counter() - t0

    def finish():
        try:
            ens = ens_later()
        except DivergenceError:
            return dict(case=case["name"], B=B, lr=eta, lr_spec=spec if isinstance(spec, str) else None, steps=steps,
                        hidden=case["hidden"], seeds=case["seeds"], diverged=case["seeds"], all_diverged=True,
                        modes_missing=list(range(1, min(case["top"], case["hidden"]) + 1)), worst_se=None,
                        worst_std=None, seconds=before + ens_later.seconds())
        th = theory.result() if theory is not None else _timed(run_sgd_theory, ens)
        return _curve_result(case, B, spec, data, ens, eta, steps, before + ens_later.seconds(), ens_later.seconds(), th)
    finish.ready = lambda: ens_later.future is None or (ens_later.future.done() and theory.done())
    return finish


def _timed(fn, *args):
    """(fn(*args) or the DivergenceError it raised, seconds)."""
    from lindae.dynamics.errors import DivergenceError
    t = time.perf_counter()
    try:
        out = fn(*args)
    except DivergenceError as exc:
        out = exc
    return out, time.perf_counter() - t


def _curve_result(case, B, spec, data, ens, eta, steps, before, t_train, theory):
    """The cell from its ensemble and (theory or its DivergenceError, seconds); ``before``: the seconds the cell
    took up to the theory (its seconds are those plus the theory's and this function's)."""
    th, t_theory = theory
    t0 = time.perf_counter() - before - t_theory
    if isinstance(th, Exception):               # the closure's law of ln u leaves the overflow guard
        return dict(case=case["name"], B=B, lr=eta, lr_spec=spec if isinstance(spec, str) else None, steps=steps,
                    hidden=case["hidden"], seeds=case["seeds"], diverged=int(ens.diverged.sum()), theory_failed=str(th),
                    modes_missing=list(range(1, min(case["top"], case["hidden"]) + 1)), worst_se=None, worst_std=None,
                    train_seconds=t_train, seconds=time.perf_counter() - t0)
    top = min(case["top"], case["hidden"])
    rows = compare_rows(ens.epochs, steps, case["compare"])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(ens.mean[rows, :top] - th["mean"][rows, :top]) / ens.se[rows, :top]
        rel = np.abs(ens.std[rows, :top] / th["std"][rows, :top] - 1)
    plot = np.unique(np.concatenate([[0], np.geomspace(1, len(ens.epochs) - 1, 80).astype(int)]))
    cell = dict(case=case["name"], B=B, lr=eta, lr_spec=spec if isinstance(spec, str) else None, steps=steps,
                hidden=case["hidden"], seeds=case["seeds"], diverged=int(ens.diverged.sum()),
                sampled_noise=case["sampled_noise"], noise_var=case["noise_var"], top=top,
                mode_worst_se=[_num(v) for v in np.nanmax(z, axis=0)], mode_worst_std=[_num(v) for v in np.nanmax(rel, axis=0)],
                compared_steps=ens.epochs[rows].tolist(),
                curves=dict(steps=ens.epochs[plot].tolist(), mean=_json(ens.mean[plot, :top]),
                            std=_json(ens.std[plot, :top]), theory_mean=_json(th["mean"][plot, :top]),
                            theory_std=_json(th["std"][plot, :top])),
                train_seconds=t_train, theory_seconds=t_theory)
    cell["worst_se"] = max(cell["mode_worst_se"])
    cell["worst_std"] = max(cell["mode_worst_std"])
    cell["modes_missing"] = [k + 1 for k in range(top) if cell["mode_worst_se"][k] > BOUNDS["mean_se"]
                             or cell["mode_worst_std"][k] > BOUNDS["std_relative"]]
    if case["speed"] and spec == case["lrs"][0]:            # once per (case, B)
        cell["speed"] = _speed(case, B, eta, data)
    cell["seconds"] = time.perf_counter() - t0
    return cell


def _num(v):
    return None if not np.isfinite(v) else float(v)


def _json(a):
    """A 2-D array as nested lists, with null where it is not finite (a record no seed survived to)."""
    return [[_num(v) for v in row] for row in np.asarray(a, dtype=float)]


def _speed(case, B, eta, data, steps=25):
    """A step of all seeds against a step of one seed, in the same run, with the setup they share (the data's spectrum
    and moments) done once before the clock starts; one seed runs ``seeds`` times as many steps, so that both times
    are long enough to measure. ``ratio_floor`` is the ratio that arithmetic alone sets
    (:func:`lindae.validation.training.sgd.ratio_floor`)."""
    from lindae.validation.training import sgd
    lam, X = _data(case, data)
    n = case["seeds"]
    per_step = {}
    for seeds, k in ((n, steps), (1, steps * n)):
        p = sgd._problem(case["hidden"], eta, k, B, lam, X, case["noise_var"], 0.0, case["sampled_noise"], case["u0"],
                         k)[0]
        gens = [sgd.seed_generators(1, i) for i in range(seeds)]
        start = time.perf_counter()
        sgd._run(p, gens)
        per_step[seeds] = (time.perf_counter() - start) / k
    return dict(steps=steps, step_seconds_all=per_step[n], step_seconds_one=per_step[1],
                ratio=per_step[n] / per_step[1], ratio_floor=sgd.ratio_floor(n, B, p.D, case["hidden"], per_step[1]))


def bound_cell(case, B, data=None, client=None) -> dict:
    """S4's bound at B and the share of seeds that diverge at each factor of it."""
    return bound_cell_later(case, B, data, client)()


def bound_cell_later(case, B, data=None, client=None):
    """Start :func:`bound_cell`'s runs and return a function that gives the cell, with ``ready()`` as in
    :func:`curve_cell_later`."""
    from lindae.dynamics.errors import DivergenceError
    t0 = time.perf_counter()
    bound = bound_of(case, B, data)
    runs = [_ensemble_later(case, B, f * bound, case["bound_steps"], case["bound_steps"], case["seeds"],
                            case["seed"] + 1, data, client) for f in case["bound_factors"]]
    before = time.perf_counter() - t0

    def finish():
        shares = []
        for later in runs:
            try:
                shares.append(float(later().diverged.mean()))
            except DivergenceError:
                shares.append(1.0)
        return dict(case=case["name"], B=B, bound=bound, factors=case["bound_factors"], diverged=shares,
                    steps=case["bound_steps"], seeds=case["seeds"], seconds=before + sum(r.seconds() for r in runs))
    finish.ready = lambda: all(r.future is None or r.future.done() for r in runs)
    return finish


def run_sgd_study(study: dict, out_dir, *, force=False, log=print, data=None, client=None) -> dict:
    """Run (or resume) every cell of ``study`` and write the files of the module docstring. ``data`` (an array file)
    replaces MNIST."""
    return start_sgd_study(study, out_dir, force=force, log=log, data=data, client=client)()


def start_sgd_study(study: dict, out_dir, *, force=False, log=print, data=None, client=None):
    """:func:`run_sgd_study` in two halves: with ``client`` start every cell now (as tasks queued on its workers behind
    any submitted earlier) and return ``finish()``, which waits for the cells (without a client: runs them), writes the
    files and returns the study. A job can so queue the study behind its trainings, and the study's tasks fill the
    cores as the trainings end."""
    start = time.perf_counter()
    _data_moments.cache_clear()             # the data file may have changed since an earlier study in this process
    store = ResultStore(os.path.join(out_dir, "cells"))
    todo = [("curve", c, B, lr) for c in study["cases"] for B in c["batch_sizes"] for lr in c["lrs"]]
    todo += [("bound", c, B, None) for c in study["cases"] for B in c["batch_sizes"] if c["bound_factors"]]
    cells, pending = [None] * len(todo), {}

    def settle(j, key, label, later):
        cell = cells[j] = dict(kind=todo[j][0], **later())
        store.save(key, cell)
        log(f"    [{j + 1}/{len(todo)}] {label}: {summary_line(cell)}; {cell['seconds']:.1f} s")

    def start_all():
        with interrupt_on_sigterm():
            if not data and any(c["data"] == "mnist" for c in study["cases"]):
                from lindae.validation.data.datasets import load_mnist
                load_mnist(1, log=log)                       # fetch and cache MNIST here, with progress, once
            # every cell is started at once (with a client its seeds and its theory are tasks on the workers), the
            # cells on data first (theirs are the longest tasks, and their theory must follow their seeds), and
            # settled in that order; one that is ready is saved at once, so that an interrupted run keeps it
            for j in sorted(range(len(todo)), key=lambda j: todo[j][1]["data"] is None):
                kind, case, B, lr = todo[j]
                for jj in [jj for jj, (_, _, later) in pending.items() if later.ready()]:
                    settle(jj, *pending.pop(jj))
                key = content_key(kind, case, B, lr, *([os.path.abspath(data)] if data and case["data"] else []))
                cell = None if force else store.load(key)
                label = f"{case['name']} B = {B}" + (f", lr {lr}" if kind == "curve" else ", bound")
                if cell is not None:
                    log(f"[{j + 1}/{len(todo)}] {label}: finished earlier, skipped (use --force to rerun)")
                    cells[j] = cell
                    continue
                log(f"[{j + 1}/{len(todo)}] {label} ...")
                timed = kind == "curve" and case["speed"] and lr == case["lrs"][0]
                if timed:                  # the speed measurement (when the cell is settled) wants idle workers
                    for jj in list(pending):
                        settle(jj, *pending.pop(jj))
                pending[j] = (key, label, curve_cell_later(case, B, lr, data, client, lambda m: log("      " + m))
                              if kind == "curve" else bound_cell_later(case, B, data, client))
                if client is None or timed:
                    settle(j, *pending.pop(j))

    if client is not None:             # without one every cell runs in finish(), one after another
        start_all()

    def finish():
        if client is None:
            start_all()
        with interrupt_on_sigterm():
            for jj in list(pending):
                settle(jj, *pending.pop(jj))
        out = dict(title=study["title"], bounds=BOUNDS, cells=cells)
        atomic_write_json(os.path.join(out_dir, "sgd.json"), out)
        from lindae.validation.figures import plot_sgd_bands, write_figure
        write_figure(plot_sgd_bands([c for c in cells if c["kind"] == "curve"]), os.path.join(out_dir, "bands.png"))
        write_manifest(out_dir, config=study, seconds=round(time.perf_counter() - start, 3),
                       files=["cells", "sgd.json", "bands.png"])
        return out
    return finish


def summary_line(cell) -> str:
    """One line of a finished cell's main numbers (the log's and the report's)."""
    if cell["kind"] == "bound":
        shares = ", ".join(f"{f:g}× → {d:.0%}" for f, d in zip(cell["factors"], cell["diverged"]))
        return f"{cell['case']} B = {cell['B']}: S4's bound η_B = {cell['bound']:.4g}; diverged within {cell['steps']} steps: {shares}"
    miss = cell["modes_missing"]
    if cell.get("all_diverged"):
        return f"{cell['case']} B = {cell['B']}, lr {cell['lr']:.4g}: every one of the {cell['seeds']} seeds diverged"
    if cell.get("theory_failed"):
        return (f"{cell['case']} B = {cell['B']}, lr {cell['lr']:.4g}: {cell['diverged']} of {cell['seeds']} seeds "
                f"diverged; the theory fails: {cell['theory_failed']}")
    spread = f"{cell['worst_std']:.1%}" if cell["worst_std"] < 10 else "> 1000 %"
    return (f"{cell['case']} B = {cell['B']}, lr {cell['lr']:.4g} ({cell['steps']} steps, {cell['seeds']} seeds): worst mean "
            f"{cell['worst_se']:.2f} SE, worst spread {spread}; modes missing: "
            f"{', '.join(map(str, miss)) if miss else 'none'}; train {cell['train_seconds']:.1f} s, theory "
            f"{cell['theory_seconds']:.1f} s" + (f"; speed ratio {cell['speed']['ratio']:.1f}" if "speed" in cell else ""))

