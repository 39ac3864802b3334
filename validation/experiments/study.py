r"""The random-initialisation study: R15 and the per-mode variants against training, for every mode ≤ H.

``lindae study configs/random_init_study.toml --out DIR [--quick] [--force]``

A study config lists ``[[cases]]`` (MNIST, or a synthetic spectrum given by ``spectrum = {kind = ...}``
and built into data whose second-moment matrix has exactly that spectrum) with their models, and
top-level ``seeds`` and ``init_scales`` (a case may override them); a synthetic case may list ``bases``, seeds of
the random eigenbasis its data is built in (default one). Every (case, basis, model, seed, init scale) cell trains a linear
autoencoder from small random weights in the eigenbasis and records, for each theory variant of
:func:`validation.theory.run_theory`, the worst |s_i − theory_i| over every mode i ≤ H and the mode
that attains it, and the actual and predicted learning order (modes sorted by the epoch at which
they reach u*/2).

Layout of DIR::

    cells/KEY.json   one finished cell, written atomically; a rerun skips it unless --force
    study.json       every cell, in config order
    table.csv        one row per cell
    study.png        per case: measured curves against R15 (first seed, smallest scale), and the
                     worst error of every variant
    manifest.json    config, environment, timings
"""
from __future__ import annotations

import csv
import io
import os
import time

import numpy as np

from lindae.derivations.files import atomic_write_bytes, atomic_write_json

from lindae.validation.experiments.config import ConfigError, LinearModel, read_toml
from lindae.validation.experiments.model_training import SharedTrainings, train_model
from lindae.validation.experiments.store import ResultStore, content_key, interrupt_on_sigterm, write_manifest
from lindae.validation.data.spectrum import compute_spectrum
from lindae.validation.theory import VARIANTS, half_time, run_theory

#: Spectrum kinds of a synthetic case and their parameters.
SPECTRA = {"power": ("D", "scale", "exponent"), "geometric": ("D", "top", "bottom"),
           "pairs": ("D", "top", "bottom", "gap")}
CASE_KEYS = {"name", "data", "n_samples", "spectrum", "hidden", "lr", "epochs", "record_every", "models", "seeds",
             "init_scales", "bases"}
#: The random eigenbasis of a synthetic case's data unless ``bases`` lists others.
DEFAULT_BASIS = 12345
MODEL_KEYS = {"name", "noise_var", "weight_decay"}
#: A cell "meets" the acceptance bound when R15's worst error is at most this.
BOUND = 0.05
#: Modes H - WINDOW ... H + WINDOW form the capacity window whose learning order is compared.
WINDOW = 4


def spectrum_values(spec: dict) -> np.ndarray:
    """Eigenvalues (descending) of a synthetic spectrum: power λ_i = scale·i^-exponent, geometric from
    top to bottom, or pairs (geometric levels, each split into λ and λ(1 − gap))."""
    kind = spec.get("kind")
    if kind not in SPECTRA:
        raise ConfigError(f"spectrum: 'kind' must be one of {', '.join(SPECTRA)}, got {kind!r}")
    missing = [k for k in SPECTRA[kind] if k not in spec]
    extra = set(spec) - set(SPECTRA[kind]) - {"kind"}
    if missing or extra:
        raise ConfigError(f"spectrum {kind}: needs {', '.join(SPECTRA[kind])}"
                          + (f"; unknown {', '.join(sorted(extra))}" if extra else ""))
    D = int(spec["D"])
    if D < 2:
        raise ConfigError(f"spectrum: D must be >= 2, got {D}")
    if kind == "power":
        return float(spec["scale"]) * np.arange(1, D + 1, dtype=float) ** -float(spec["exponent"])
    if kind == "geometric":
        return np.geomspace(float(spec["top"]), float(spec["bottom"]), D)
    levels = np.geomspace(float(spec["top"]), float(spec["bottom"]), (D + 1) // 2)
    pairs = np.stack([levels, levels * (1 - float(spec["gap"]))], axis=1).ravel()
    return pairs[:D]


def exact_data(lam, seed=12345) -> np.ndarray:
    """Data X (D x D) whose second moment XᵀX/N is exactly V diag(lam) Vᵀ for a random orthogonal V."""
    D = len(lam)
    V = np.linalg.qr(np.random.default_rng(seed).standard_normal((D, D)))[0]
    return np.sqrt(D) * np.sqrt(lam)[:, None] * V.T


def parse_study(raw: dict) -> dict:
    """Validate a study config; ConfigError with a one-line message otherwise."""
    allowed = {"title", "seeds", "init_scales", "cases"}
    if set(raw) - allowed:
        raise ConfigError(f"unknown top-level key(s) {', '.join(sorted(set(raw) - allowed))}; allowed: "
                          f"{', '.join(sorted(allowed))}")
    seeds, scales = _grid_lists("", raw.get("seeds", [0]), raw.get("init_scales", [1e-4]))
    cases = raw.get("cases")
    if not isinstance(cases, list) or not cases:
        raise ConfigError("a study needs [[cases]]")
    out = []
    for j, c in enumerate(cases):
        where = f"cases[{j}]"
        if set(c) - CASE_KEYS:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(set(c) - CASE_KEYS))}")
        for key in ("name", "hidden", "lr", "epochs", "models"):
            if key not in c:
                raise ConfigError(f"{where}: '{key}' is required")
        if ("data" in c) == ("spectrum" in c):
            raise ConfigError(f"{where}: give data = \"mnist\" or a spectrum table, not both or neither")
        if "data" in c and c["data"] != "mnist":
            raise ConfigError(f"{where}: data must be \"mnist\", got {c['data']!r}")
        lam = spectrum_values(c["spectrum"]) if "spectrum" in c else None
        if lam is not None and c["hidden"] > len(lam):
            raise ConfigError(f"{where}: hidden = {c['hidden']} exceeds D = {len(lam)}")
        models = c["models"]
        if not isinstance(models, list) or not models:
            raise ConfigError(f"{where}: 'models' must be a non-empty list of tables")
        for m in models:
            if set(m) - MODEL_KEYS or "name" not in m:
                raise ConfigError(f"{where}: a model has keys name, noise_var, weight_decay; got {sorted(m)}")
        c_seeds, c_scales = _grid_lists(f"{where}: ", c.get("seeds", seeds), c.get("init_scales", scales))
        bases = c.get("bases", [DEFAULT_BASIS])
        if "bases" in c and "data" in c:
            raise ConfigError(f"{where}: 'bases' (seeds of the data's random eigenbasis) applies to synthetic spectra only")
        if not (isinstance(bases, list) and bases and all(isinstance(b, int) and b >= 0 for b in bases)):
            raise ConfigError(f"{where}: 'bases' must be a non-empty list of integers >= 0, got {bases!r}")
        out.append(dict(name=c["name"], seeds=c_seeds, init_scales=c_scales, bases=list(bases), data=c.get("data"), n_samples=int(c.get("n_samples", 50000)),
                        spectrum=c.get("spectrum"), hidden=int(c["hidden"]), lr=float(c["lr"]),
                        epochs=int(c["epochs"]), record_every=int(c.get("record_every", 5)),
                        models=[dict(name=m["name"], noise_var=float(m.get("noise_var", 0.0)),
                                     weight_decay=float(m.get("weight_decay", 0.0))) for m in models]))
    return dict(title=raw.get("title", "random-initialisation study"), seeds=seeds, init_scales=scales, cases=out)


def _grid_lists(where, seeds, scales):
    if not (isinstance(seeds, list) and seeds and all(isinstance(s, int) and s >= 0 for s in seeds)):
        raise ConfigError(f"{where}'seeds' must be a non-empty list of integers >= 0, got {seeds!r}")
    if not (isinstance(scales, list) and scales and all(isinstance(s, (int, float)) and s > 0 for s in scales)):
        raise ConfigError(f"{where}'init_scales' must be a non-empty list of numbers > 0, got {scales!r}")
    return list(seeds), [float(s) for s in scales]


def quick_study(study: dict) -> dict:
    """The reduced study of the quick report: synthetic cases only, the first seed and init scale."""
    return dict(study, title=study["title"] + " (QUICK RUN: synthetic cases, one seed, one scale)",
                cases=[dict(c, seeds=c["seeds"][:1], init_scales=c["init_scales"][:1])
                       for c in study["cases"] if c["data"] is None])


def report_study(study: dict, mnist_seeds: int = 1, mnist_scales=(1e-4,)) -> dict:
    """The full report's study: every synthetic cell, and the MNIST cells at the first ``mnist_seeds`` seeds
    and the init scales ``mnist_scales`` only (by default seed 0 at the paper's scale: exactly the report's
    own Figure 5 models, so those cells cost no training). ``lindae study`` runs every cell; the title
    says what was left out."""
    cases, dropped = [], []
    for c in study["cases"]:
        if c["data"] is None:
            cases.append(c)
            continue
        seeds, scales = c["seeds"][:mnist_seeds], [x for x in c["init_scales"] if x in mnist_scales]
        if seeds != c["seeds"] or scales != c["init_scales"]:
            gone = [f"seed {s} at {x:g}" for x in c["init_scales"] for s in c["seeds"] if s not in seeds or x not in scales]
            dropped.append(f"{c['name']}: {', '.join(gone)}")
        if scales:
            cases.append(dict(c, seeds=seeds, init_scales=scales))
    if not dropped:
        return study
    return dict(study, cases=cases, title=study["title"] + " (report: MNIST cells at seed " + ", ".join(
        map(str, range(mnist_seeds))) + " and init scale " + ", ".join(f"{x:g}" for x in mnist_scales)
        + " only, the report's Figure 5 models; lindae study also runs " + "; ".join(dropped) + ")")


def half_times(epochs, S, lam, noise_var, weight_decay, modes):
    """{mode (1-based): epoch at which s_i first reaches u*_i/2}, for the modes that do."""
    from lindae.dynamics import fixed_point
    out = {}
    for i in modes:
        ustar = float(fixed_point(lam[i], noise_var=noise_var, weight_decay=weight_decay))
        h = half_time(epochs, S[:, i], ustar / 2) if ustar > 0 else None
        if h is not None:
            out[i + 1] = h
    return out


def learning_order(times: dict):
    """Modes sorted by their half time (see :func:`half_times`)."""
    return sorted(times, key=times.get)


def discordant(actual: dict, predicted: dict, window):
    """Pairs of modes in ``window`` whose measured and predicted learning order differ, with the gap between
    their measured half times in epochs (a small gap is a near-tie)."""
    both = [m for m in window if m in actual and m in predicted]
    out = []
    for a in range(len(both)):
        for b in range(a + 1, len(both)):
            i, j = both[a], both[b]
            if (actual[i] - actual[j]) * (predicted[i] - predicted[j]) < 0:
                out.append([i, j, round(abs(actual[i] - actual[j]), 1)])
    return out


def cell_model(case, model, seed, scale) -> LinearModel:
    """The linear model a study cell trains: the case's size and schedule, the model's noise and decay,
    a random start of ``scale`` from ``seed``."""
    return LinearModel(name=model["name"], hidden=case["hidden"], lr=case["lr"], epochs=case["epochs"], seed=seed,
                       record_every=case["record_every"], weight_decay=model["weight_decay"],
                       noise_var=model["noise_var"], init="random", init_scale=scale, sv_every=case["epochs"] or 1)


def run_cell(case, model, seed, scale, spec, keep_curves=False, shared=None, basis=None):
    """Train one cell (or take its training from ``shared``) and compare every variant with it (see the
    module docstring)."""
    t0 = time.perf_counter()
    H = case["hidden"]
    res = train_model(cell_model(case, model, seed, scale), None, spec, shared=shared)
    S = res.strengths
    errors, theories = {}, {}
    for v in VARIANTS:
        th = run_theory(res, theory=v)
        err = np.max(np.abs(S[:, :H] - th[:, :H]), axis=0)
        i = int(np.argmax(err))
        errors[v] = {"worst": float(err[i]), "mode": i + 1}
        theories[v] = th
    lam = res.eigenvalues
    window = range(max(0, H - 1 - WINDOW), min(len(lam), H + WINDOW))
    every = range(min(len(lam), H + 2 * WINDOW + 1))
    args = (lam, model["noise_var"], model["weight_decay"], every)
    t_act, t_pred = half_times(res.epochs, S, *args), half_times(res.epochs, theories["coupled"], *args)
    actual, predicted = learning_order(t_act), learning_order(t_pred)
    in_window = {i + 1 for i in window}
    pairs = discordant(t_act, t_pred, sorted(in_window))
    out = dict(case=case["name"], model=model["name"], seed=seed, init_scale=scale, hidden=H, D=int(len(lam)), basis=basis,
               errors=errors, order_actual=actual, order_predicted=predicted,
               order_window_ok=[m for m in actual if m in in_window] == [m for m in predicted if m in in_window],
               order_discordant=pairs,
               seconds=round(time.perf_counter() - t0, 3))
    if keep_curves:
        rows = np.unique(np.linspace(0, len(res.epochs) - 1, 120).astype(int))
        out["curves"] = dict(epochs=res.epochs[rows].tolist(), actual=np.round(S[rows, :H], 6).tolist(),
                             coupled=np.round(theories["coupled"][rows, :H], 6).tolist())
    return out


def _case_spectrum(case, log, basis=DEFAULT_BASIS):
    if case["data"] == "mnist":
        from lindae.validation.data.datasets import cache_dir, load_mnist
        from lindae.validation.data.spectrum import cached_spectrum
        # the same on-disk cache as `run`, so that the report's Figure 5 trainings serve the MNIST cells
        return cached_spectrum(load_mnist(case["n_samples"], log=log), cache=os.path.join(cache_dir(), "spectra"), log=log)
    return compute_spectrum(exact_data(spectrum_values(case["spectrum"]), seed=basis))


def run_study(study: dict, out_dir, *, force=False, log=print, shared=None, client=None) -> dict:
    """Run (or resume) every cell of ``study`` and write the files of the module docstring. ``shared``
    (a :class:`~lindae.validation.experiments.model_training.SharedTrainings`) serves cells whose training
    an earlier part of the same job already ran (the report's Figure 5 models are its MNIST cells). With
    ``client`` (a ``distributed.Client``) every cell runs on its workers, one BLAS thread each, the MNIST cells
    with their shared training sent along; the cells and their order in the files are the same as in a serial
    run."""
    return start_study(study, out_dir, force=force, log=log, shared=shared, client=client)()


def start_study(study: dict, out_dir, *, force=False, log=print, shared=None, client=None):
    """:func:`run_study` in two halves: with ``client`` the synthetic cells are submitted now (queued behind any tasks
    submitted earlier), and ``finish()``, returned, submits the MNIST cells (whose trainings ``shared`` may hold by
    then), waits for every cell, writes the files and returns the study. ``finish.submit_served()`` submits the MNIST
    cells whose trainings ``shared`` holds at the time, so that a job can queue them as soon as it has them."""
    start = time.perf_counter()
    store = ResultStore(os.path.join(out_dir, "cells"))
    plan = []          # (case, model, seed, scale, basis, key, first) in config order
    for case in study["cases"]:
        synthetic = case["data"] is None
        for basis in case.get("bases", [DEFAULT_BASIS]) if synthetic else [None]:
            for model in case["models"]:
                for scale in case["init_scales"]:
                    for seed in case["seeds"]:
                        fixed = {k: v for k, v in case.items() if k not in ("models", "seeds", "init_scales", "bases")}
                        # the default basis keeps the keys cells had before bases existed
                        key = content_key(fixed, model, seed, scale) if basis in (None, DEFAULT_BASIS) else \
                            content_key(fixed, model, seed, scale, basis)
                        first = (seed == case["seeds"][0] and scale == min(case["init_scales"])
                                 and basis in (None, case.get("bases", [DEFAULT_BASIS])[0]))
                        plan.append((case, model, seed, scale, basis, key, first))
    cells = [None if force else store.load(job[5]) for job in plan]
    spectra = {}

    def spectrum_of(case, basis):
        k = (id(case), basis)
        if k not in spectra:
            spectra[k] = _case_spectrum(case, log, basis) if case["data"] is None else _case_spectrum(case, log)
        return spectra[k]

    def finish(j, cell):
        case, model, seed, scale, basis, key, _ = plan[j]
        store.save(key, cell)
        cells[j] = cell
        e = cell["errors"]["coupled"]
        log(f"[{sum(c is not None for c in cells)}/{len(plan)}] {case['name']} {model['name']} "
            + ("" if basis is None else f"basis {basis} ") + f"seed {seed} scale {scale:g}: "
            f"R15 worst {e['worst']:.3g} (mode {e['mode']}), effective "
            f"{cell['errors']['effective']['worst']:.3g}; {cell['seconds']:.1f} s")

    pending = [j for j, c in enumerate(cells) if c is None]
    remote = pending if client is not None and len(pending) > 1 else []
    sent = {}

    def send(obj):
        """``obj`` on the workers, sent once (a spectrum or a training is megabytes: inside every task's arguments,
        Dask would warn of a large graph and send it again with each cell)."""
        if obj is None:
            return None
        if id(obj) not in sent:
            sent[id(obj)] = (client.scatter(obj, hash=False), obj)
        return sent[id(obj)][0]

    def jobs(which):
        out = []
        for j in which:
            case, model, seed, scale, basis, _, first = plan[j]
            spec = spectrum_of(case, basis)
            out.append((j, (case, model, seed, scale, send(spec), first, basis,
                            send(_served(shared, case, model, seed, scale, spec)))))
        return out

    # the synthetic cells go to the workers now; an MNIST cell (H = 256: the longest) waits until an earlier part of
    # the job (the report's Figure 5) has trained its model, which it reuses (submit_served), or for finish()
    collect, waiting = None, [j for j in remote if plan[j][0]["data"] is not None]
    with interrupt_on_sigterm():
        if remote:
            from lindae.validation.experiments.cluster import submit_on_workers
            log(f"  {len(remote)} cells side by side on {len(client.scheduler_info()['workers'])} Dask workers")
            collect = submit_on_workers(client, _cell_on_worker, jobs([j for j in remote if j not in waiting]))

    def submit_served():
        """Submit the waiting MNIST cells whose trainings ``shared`` now holds (a job calls this as its parts end), ahead
        of the tasks already queued: the rest of the study (its figure) waits for them, not for the tasks queued
        before them."""
        if collect is None or shared is None or not waiting:
            return
        ready = [j for j in waiting if shared.has(cell_model(*plan[j][:4]), spectrum_of(plan[j][0], plan[j][4]))]
        if ready:
            waiting[:] = [j for j in waiting if j not in ready]
            collect.more(jobs(ready), priority=1)

    def finish_study():
        with interrupt_on_sigterm():
            for j in pending:              # without a cluster: every cell here (MNIST cells may be served by shared)
                if j not in remote:
                    case, model, seed, scale, basis, _, first = plan[j]
                    finish(j, run_cell(case, model, seed, scale, spectrum_of(case, basis), keep_curves=first,
                                       shared=shared, basis=basis))
            if collect is not None:
                collect.more(jobs(waiting))
                collect(finish)
        out = dict(title=study["title"], bound=BOUND, window=WINDOW, cells=cells)
        atomic_write_json(os.path.join(out_dir, "study.json"), out)
        atomic_write_bytes(os.path.join(out_dir, "table.csv"), table_csv(cells).encode())
        from lindae.validation.figures import plot_study, write_figure
        write_figure(plot_study(out, summary_rows(cells), variants=VARIANTS, bound=BOUND),
                     os.path.join(out_dir, "study.png"))
        write_manifest(out_dir, config=study, seconds=round(time.perf_counter() - start, 3),
                       files=["cells", "study.json", "table.csv", "study.png"])
        return out
    finish_study.submit_served = submit_served
    return finish_study


def _served(shared, case, model, seed, scale, spec):
    """A :class:`SharedTrainings` holding only this cell's training if ``shared`` has it (an MNIST cell that the
    report's Figure 5 trained), to travel with the cell to a worker; else None."""
    if shared is None or case["data"] is None:
        return None
    cell = cell_model(case, model, seed, scale)
    res = shared.get(cell, spec)
    if res is None:
        return None
    one = SharedTrainings()
    one.put(cell, spec, res)
    return one


def _cell_on_worker(case, model, seed, scale, spec, first, basis, served=None):
    """:func:`run_cell` on a Dask worker, BLAS pinned to one thread so that the workers share the cores;
    ``served`` carries the cell's training when an earlier part of the job ran it."""
    from lindae.validation.experiments.store import one_blas_thread
    with one_blas_thread():
        return run_cell(case, model, seed, scale, spec, keep_curves=first, basis=basis, shared=served)


def table_csv(cells) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["case", "model", "init_scale", "seed", "H", "D"] + [f"{v}_worst" for v in VARIANTS]
               + [f"{v}_mode" for v in VARIANTS] + ["order_window_ok", "order_actual", "order_predicted"])
    for c in cells:
        w.writerow([c["case"], c["model"], c["init_scale"], c["seed"], c["hidden"], c["D"]]
                   + [f"{c['errors'][v]['worst']:.4g}" for v in VARIANTS] + [c["errors"][v]["mode"] for v in VARIANTS]
                   + [c["order_window_ok"], " ".join(map(str, c["order_actual"])),
                      " ".join(map(str, c["order_predicted"]))])
    return buf.getvalue()


def summary_rows(cells):
    """One row per (case, model, init scale): per variant the worst error over seeds with its mode and seed,
    and how many seeds had the capacity-window order right."""
    groups = {}
    for c in cells:
        groups.setdefault((c["case"], c["model"], c["init_scale"]), []).append(c)
    rows = []
    for (case, model, scale), cs in groups.items():
        ties = [p[2] for c in cs for p in c.get("order_discordant", [])]
        row = dict(case=case, model=model, init_scale=scale, seeds=len(cs),
                   order_ok=sum(c["order_window_ok"] for c in cs), swap_gap=max(ties) if ties else None)
        for v in VARIANTS:
            worst = max(cs, key=lambda c: c["errors"][v]["worst"])
            row[v] = (worst["errors"][v]["worst"], worst["errors"][v]["mode"], worst["seed"])
        rows.append(row)
    return rows


def load_study(path) -> dict:
    return parse_study(read_toml(path, "study config"))
