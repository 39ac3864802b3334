r"""The finite-data study: train and test error against theory, when to stop, and the noise or weight decay that
generalises best (G1-G5, docs/theory.md section 2d).

``lindae generalisation configs/generalisation_mnist.toml --out DIR [--quick] [--force]``

A config gives top-level training settings (each case may override them) and ``[[cases]]``: MNIST trained on its
first N images (``sizes``) and tested on the test images, or a synthetic Gaussian ``population`` (``spiked`` or
``power``) drawn ``draws`` times at each N. Every (case, N, H) is one cell:

* **MNIST.** Aligned AE, DAE and WDAE record their train and test errors (clean and denoising); each is compared with
  :func:`~lindae.validation.run_test_theory`, and the epoch of least denoising test error measured with the
  predicted one. Every DAE mode that passes its best value is timed against G3. A DAE from random weights is
  checked against :func:`~lindae.validation.test_error_bound`. A grid of noises (γ = 0) and weight decays (ε = 0)
  is trained to the end and each model's denoising test error (test noise ε_t) measured on the test images from
  its final weights; the best grid point is compared with the prediction at the same epoch (the per-mode map),
  with the fixed points, and with G4's and G5's continuous optima.
* **Synthetic populations.** Each draw trains an aligned DAE; its test error is G1 with the population's exact
  :math:`M_{ii} = \hat v_i^\top\Sigma\hat v_i`. The mean curve over draws is compared with the curve predicted from
  the population spectrum and c = D/N alone (:func:`~lindae.dynamics.spiked_sample_spectrum`), for spiked
  populations; the sample spikes and overlaps with their limits.

Layout of DIR::

    cells/KEY.json       one finished cell, written atomically; a rerun skips it unless --force
    generalisation.json  every cell, in config order
    curves.png           train and test error against epochs, measured and predicted, per N
    grid.png             denoising test error over the noise and weight-decay grids, the predicted optimum marked
    overshoot.png        each DAE mode's epoch of least test error against G3
    manifest.json        config, environment, timings
"""
from __future__ import annotations

import os
import time

import numpy as np

from lindae.derivations.files import atomic_write_json
from lindae.validation.experiments.config import ConfigError, read_toml, study_cases
from lindae.validation.experiments.store import ResultStore, content_key, interrupt_on_sigterm, write_manifest

#: Settings a config gives at the top and a case may override.
SETTINGS = {"lr": 0.01, "epochs": 3000, "record_every": 20, "u0": 1e-4, "init_scale": 1e-4, "noise_var": 0.5,
            "weight_decay": 0.2, "test_noise_var": 0.5, "noises": [0.1, 0.2, 0.5, 1.0, 2.0],
            "decays": [0.02, 0.05, 0.1, 0.2, 0.5], "hidden": [64], "seed": 0}
CASE_KEYS = {"name", "data", "population", "sizes", "draws", "test_samples"} | set(SETTINGS)
POPULATIONS = {"spiked": ("D", "spikes"), "power": ("D", "scale", "exponent")}
#: The acceptance bounds the study reports against (the issue's).
BOUNDS = {"aligned_relative_gap": 1e-9, "best_epoch_relative": 0.05, "grid_steps": 1, "population_relative": 0.02}


def population_values(pop: dict) -> np.ndarray:
    """The population eigenvalues (descending) of a synthetic case: ``spiked`` (``spikes`` over a bulk of variance
    ``bulk``, default 1) or ``power`` (λ_i = scale·i^−exponent)."""
    kind = pop.get("kind")
    if kind not in POPULATIONS:
        raise ConfigError(f"population: 'kind' must be one of {', '.join(POPULATIONS)}, got {kind!r}")
    missing = [k for k in POPULATIONS[kind] if k not in pop]
    extra = set(pop) - set(POPULATIONS[kind]) - {"kind", "bulk"}
    if missing or extra:
        raise ConfigError(f"population {kind}: needs {', '.join(POPULATIONS[kind])}"
                          + (f"; unknown {', '.join(sorted(extra))}" if extra else ""))
    D = pop["D"]
    if not isinstance(D, int) or D < 2:
        raise ConfigError(f"population: D must be an integer >= 2, got {D!r}")
    if kind == "power":
        return float(pop["scale"]) * np.arange(1, D + 1, dtype=float) ** -float(pop["exponent"])
    spikes = pop["spikes"]
    if not (isinstance(spikes, list) and all(isinstance(s, (int, float)) and s > 0 for s in spikes) and len(spikes) < D):
        raise ConfigError(f"population spiked: 'spikes' must be a list of fewer than D numbers > 0, got {spikes!r}")
    bulk = float(pop.get("bulk", 1.0))
    return np.sort(np.concatenate([spikes, np.full(D - len(spikes), bulk)]))[::-1]


def _positive_list(where, key, value, integer=False):
    kind = int if integer else (int, float)
    if not (isinstance(value, list) and value and all(isinstance(v, kind) and not isinstance(v, bool) and v > 0
                                                      for v in value)):
        raise ConfigError(f"{where}: '{key}' must be a non-empty list of {'integers' if integer else 'numbers'} > 0, "
                          f"got {value!r}")
    return [int(v) if integer else float(v) for v in value]


def parse_generalisation(raw: dict) -> dict:
    """Validate a study config; ConfigError with a one-line message otherwise."""
    _, cases = study_cases(raw, SETTINGS, CASE_KEYS, ("name", "sizes"), "a generalisation study")
    out = []
    for where, c, s in cases:
        if ("data" in c) == ("population" in c):
            raise ConfigError(f"{where}: give data = \"mnist\" or a population table, not both or neither")
        if "data" in c and c["data"] != "mnist":
            raise ConfigError(f"{where}: data must be \"mnist\", got {c['data']!r}")
        for key in ("lr", "u0", "init_scale"):
            if not isinstance(s[key], (int, float)) or s[key] <= 0:
                raise ConfigError(f"{where}: '{key}' must be a number > 0, got {s[key]!r}")
        for key in ("noise_var", "weight_decay", "test_noise_var"):
            if not isinstance(s[key], (int, float)) or s[key] < 0:
                raise ConfigError(f"{where}: '{key}' must be a number >= 0, got {s[key]!r}")
        for key in ("epochs", "record_every"):
            if not isinstance(s[key], int) or s[key] < 1:
                raise ConfigError(f"{where}: '{key}' must be an integer >= 1, got {s[key]!r}")
        case = dict(name=str(c["name"]), data=c.get("data"), population=c.get("population"),
                    sizes=_positive_list(where, "sizes", c["sizes"], integer=True),
                    hidden=_positive_list(where, "hidden", s["hidden"], integer=True),
                    noises=_positive_list(where, "noises", s["noises"]), decays=_positive_list(where, "decays", s["decays"]),
                    draws=int(c.get("draws", 1)), test_samples=int(c.get("test_samples", 10_000)),
                    **{k: (float(s[k]) if isinstance(SETTINGS[k], float) else s[k])
                       for k in ("lr", "epochs", "record_every", "u0", "init_scale", "noise_var", "weight_decay",
                                 "test_noise_var", "seed")})
        if case["population"] is not None:
            lam = population_values(case["population"])
            if max(case["hidden"]) > lam.size:
                raise ConfigError(f"{where}: hidden = {max(case['hidden'])} exceeds D = {lam.size}")
        out.append(case)
    return dict(title=raw.get("title", "finite-data study"), cases=out)


def load_generalisation(path) -> dict:
    return parse_generalisation(read_toml(path, "generalisation config"))


def quick_generalisation(study: dict) -> dict:
    """The reduced study of the quick report: the smallest N, the first H (at most 32), 600 epochs, three grid points
    per family, and synthetic populations at D ≤ 200 with four draws."""
    cases = []
    for c in study["cases"]:
        q = dict(c, sizes=c["sizes"][:1], hidden=[min(c["hidden"][0], 32)], epochs=min(c["epochs"], 600),
                 record_every=min(c["record_every"], 10), noises=c["noises"][1::2] or c["noises"],
                 decays=c["decays"][1::2] or c["decays"], draws=min(c["draws"], 4))
        if c["population"] is not None:
            D = min(c["population"]["D"], 200)
            q["population"] = dict(c["population"], D=D)
            q["sizes"] = [max(2 * D, 1)]
            q["hidden"] = [min(q["hidden"][0], D)]
        cases.append(q)
    return dict(study, title=study["title"] + " (QUICK RUN: one N, H ≤ 32, 600 epochs, 3 grid points, D ≤ 200)",
                cases=cases)


def report_generalisation(study: dict) -> dict:
    """The full report's study: every case and N at the first H only (``lindae generalisation`` runs every H)."""
    dropped = [f"{c['name']} at H = {', '.join(map(str, c['hidden'][1:]))}" for c in study["cases"] if len(c["hidden"]) > 1]
    if not dropped:
        return study
    return dict(study, cases=[dict(c, hidden=c["hidden"][:1]) for c in study["cases"]],
                title=study["title"] + " (report: the first H of each case; lindae generalisation also runs "
                + "; ".join(dropped) + ")")


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.abs(np.asarray(b))))


def _best(epochs, curve):
    return int(np.asarray(epochs)[int(np.argmin(curve))])


def _series(x):
    return [float(v) for v in np.asarray(x)]


def denoising_test_error(W1, W2, X_test, test_noise_var):
    """½ E‖x − W(x + n)‖² over the test images, n ~ N(0, ε_t I) marginalised, from the weights of W = W2 W1
    (two N x D x H products, ‖W‖² = ⟨W1W1ᵀ, W2ᵀW2⟩)."""
    R = X_test - (X_test @ W1.T) @ W2.T
    w2 = float(np.sum((W1 @ W1.T) * (W2.T @ W2)))
    return float(0.5 * np.mean(np.sum(R * R, axis=1)) + 0.5 * test_noise_var * w2)


def mnist_cell(case, N, H, X_test) -> dict:
    """One MNIST cell (module docstring): the first N training images, tested on ``X_test``."""
    from lindae.validation.data.datasets import load_mnist
    return held_out_cell(case, load_mnist(N, log=lambda m: None), X_test, H)


def held_out_cell(case, X, X_test, H) -> dict:
    """One cell on training data X (N, D) and test data X_test: the MNIST cell of the module docstring, for any data."""
    from lindae import dynamics
    from lindae.validation.data.spectrum import compute_spectrum
    from lindae.validation.generalisation import run_test_theory, test_error_bound
    from lindae.validation.theory import run_theory
    from lindae.validation.training.linear import train_linear_ae
    N = X.shape[0]
    spec = compute_spectrum(X)
    lr, epochs, re, u0 = case["lr"], case["epochs"], case["record_every"], case["u0"]
    et = case["test_noise_var"]
    common = dict(record_every=re, spectrum=spec, seed=case["seed"])
    out = dict(case=case["name"], kind="mnist", N=N, hidden=H, D=int(X.shape[1]), test_noise_var=et, lr=lr,
               epochs=epochs, models={})
    gaps = []
    for name, eps, gam in (("AE", 0.0, 0.0), ("DAE", case["noise_var"], 0.0), ("WDAE", 0.0, case["weight_decay"])):
        r = train_linear_ae(X, H, lr, epochs, noise_var=eps, weight_decay=gam, init="aligned", u0=u0, X_test=X_test,
                            **common)
        pred = run_test_theory(r)
        gap = max(_rel(pred[k], getattr(r, k)) for k in pred)
        gaps.append(gap)
        out["models"][name] = dict(
            noise_var=eps, weight_decay=gam, worst_relative_gap=gap, epochs=[int(e) for e in r.epochs],
            measured={k: _series(getattr(r, k)) for k in pred}, predicted={k: _series(v) for k, v in pred.items()},
            best_epoch_measured=_best(r.epochs, r.test_denoising_error),
            best_epoch_predicted=_best(r.epochs, pred["test_denoising_error"]))
        if name == "DAE":
            dae = r
        if name == "AE":      # the AE judged at test noise ε_t: every mode overshoots M/(M + ε_t) on its way to 1
            M_ae = r.test_moment
            meas = dynamics.test_error(r.strengths, M_ae, test_noise_var=et)    # exact: an aligned W̃ stays diagonal
            theo = dynamics.test_error(run_theory(r), M_ae, test_noise_var=et)
            out["ae_at_test_noise"] = dict(epochs=[int(e) for e in r.epochs], measured=_series(meas),
                                           predicted=_series(theo), leakage=float(np.max(r.leakage)),
                                           best_epoch_measured=_best(r.epochs, meas),
                                           best_epoch_predicted=_best(r.epochs, theo))
    out["aligned_worst_relative_gap"] = max(gaps)
    # each DAE mode's own denoising test error (G1) against G3: the modes that pass their best value in the run
    M, lam = dae.test_moment, spec.eigenvalues
    eps = case["noise_var"]
    e_i = dynamics.mode_test_error(dae.strengths[:, :H], M[:H], test_noise_var=eps)
    t_best = dynamics.best_stopping_time(lam[:H], M[:H], noise_var=eps, test_noise_var=eps, u0=u0)
    passing = np.flatnonzero(np.isfinite(t_best) & (t_best / lr < dae.epochs[-1]) & (t_best / lr > re))
    measured = dae.epochs[np.argmin(e_i[:, passing], axis=0)].astype(float)
    predicted = t_best[passing] / lr
    out["overshoot"] = dict(modes=[int(i + 1) for i in passing], measured=_series(measured),
                            predicted=_series(predicted), record_every=re,
                            worst_epochs_apart=float(np.max(np.abs(measured - predicted))) if passing.size else None)
    # the DAE from random weights, against R15 and its bound
    r = train_linear_ae(X, H, lr, epochs, noise_var=eps, init="random", init_scale=case["init_scale"],
                        X_test=X_test, **common)
    pred = run_test_theory(r)
    gap = np.abs(pred["test_denoising_error"] - r.test_denoising_error)
    bound = test_error_bound(r)
    mb, pb = _best(r.epochs, r.test_denoising_error), _best(r.epochs, pred["test_denoising_error"])
    out["random"] = dict(worst_relative_gap=float(np.max(gap / r.test_denoising_error)),
                         within_bound=bool(np.all(gap <= bound * (1 + 1e-9) + 1e-12)),
                         best_epoch_measured=mb, best_epoch_predicted=pb,
                         best_epoch_relative_error=abs(pb - mb) / mb)
    # the noise and weight-decay grids, trained to the end; test noise et
    for family, grid, key in (("noise", case["noises"], "noise_var"), ("decay", case["decays"], "weight_decay")):
        measured, at_end, fixed = [], [], []
        for value in grid:
            run = train_linear_ae(X, H, lr, epochs, init="aligned", u0=u0, record_every=epochs, spectrum=spec,
                                  seed=case["seed"], **{key: value})
            measured.append(denoising_test_error(run.W1, run.W2, X_test, et))
            s_end = np.zeros_like(lam)
            s_end[:H] = _exact_map_end(lam[:H], lr, epochs, u0, key, value)
            at_end.append(float(dynamics.test_error(s_end, M, test_noise_var=et)))
            s_fix = np.zeros_like(lam)
            s_fix[:H] = (lam[:H] / (lam[:H] + value) if family == "noise"
                         else np.maximum(0.0, 1 - value / np.where(lam[:H] > 0, lam[:H], 1.0)))
            fixed.append(float(dynamics.test_error(s_fix, M, test_noise_var=et)))
        best = (dynamics.best_noise_var if family == "noise" else dynamics.best_weight_decay)(
            lam, M, test_noise_var=et, hidden=H)
        im, ie, iff = int(np.argmin(measured)), int(np.argmin(at_end)), int(np.argmin(fixed))
        out[family] = dict(grid=list(grid), measured=measured, predicted_at_end=at_end, predicted_fixed_points=fixed,
                           best_measured=grid[im], best_predicted=grid[ie], best_fixed_points=grid[iff],
                           grid_steps_apart=abs(im - ie), grid_steps_apart_fixed_points=abs(im - iff),
                           continuous_optimum=best[0], continuous_optimum_error=best[1])
    out["noise_beats_decay"] = bool(min(out["noise"]["measured"]) < min(out["decay"]["measured"]))
    out["noise_beats_decay_predicted"] = bool(out["noise"]["continuous_optimum_error"] < out["decay"]["continuous_optimum_error"])
    return out


def _exact_map_end(lam, lr, epochs, u0, key, value):
    """Strengths after ``epochs`` steps of the exact per-mode GD map (R12) from the aligned start."""
    from lindae import dynamics
    root = np.full(lam.size, np.sqrt(u0))
    return dynamics.gd_modes(epochs, lam, a0=root, b0=root, lr=lr, record_every=epochs, **{key: value}).strengths[-1]


def population_cell(case, N, H) -> dict:
    """One synthetic-population cell (module docstring): ``draws`` data sets of N samples, an aligned DAE on each."""
    from lindae import dynamics
    from lindae.validation.data.spectrum import compute_spectrum
    from lindae.validation.training.linear import train_linear_ae
    pop = population_values(case["population"])
    D = pop.size
    eps, lr, epochs, re, u0 = case["noise_var"], case["lr"], case["epochs"], case["record_every"], case["u0"]
    rng = np.random.default_rng(case["seed"])
    test, train, learned, tops, overlaps = [], [], [], [], []
    n_spikes = len(case["population"].get("spikes", [])) if case["population"]["kind"] == "spiked" else 0
    for _ in range(case["draws"]):
        X = rng.standard_normal((N, D)) * np.sqrt(pop)
        spec = compute_spectrum(X)
        V = spec.eigenvectors
        M = (V * V).T @ pop                                   # v̂ᵢᵀΣv̂ᵢ with Σ = diag(pop): exact
        r = train_linear_ae(X, H, lr, epochs, noise_var=eps, init="aligned", u0=u0, record_every=re, spectrum=spec)
        S = r.strengths
        test.append(dynamics.test_error(S, M, test_noise_var=eps))
        train.append(dynamics.test_error(S, spec.eigenvalues, test_noise_var=eps))
        learned.append(dynamics.test_error(S[:, :H], M[:H], test_noise_var=eps))
        tops.append(spec.eigenvalues[:n_spikes])
        overlaps.append([V[k, k] ** 2 for k in range(n_spikes)])
    epochs_ = r.epochs
    test, train, learned = map(np.array, (test, train, learned))
    se = lambda a: a.std(axis=0, ddof=1) / np.sqrt(len(a)) if len(a) > 1 else np.zeros(a.shape[1])
    out = dict(case=case["name"], kind=case["population"]["kind"], N=N, hidden=H, D=D, draws=case["draws"],
               aspect=D / N, epochs=[int(e) for e in epochs_], noise_var=eps,
               measured=dict(test_denoising_error=_series(test.mean(0)), test_se=_series(se(test)),
                             train_denoising_error=_series(train.mean(0)), learned_test_error=_series(learned.mean(0))),
               best_epoch_measured=_best(epochs_, test.mean(0)))
    if case["population"]["kind"] == "spiked":
        lam_hat, M_pred = dynamics.spiked_sample_spectrum(D, N, case["population"]["spikes"],
                                                          bulk=case["population"].get("bulk", 1.0))
        pred = dynamics.population_error_curves(lam_hat, M_pred, hidden=H, lr=lr, epochs=epochs, u0=u0, noise_var=eps,
                                                record_every=re)
        pl = dynamics.test_error(pred["strengths"], M_pred[:H], test_noise_var=eps)
        out["predicted"] = dict(test_denoising_error=_series(pred["test_denoising_error"]),
                                train_denoising_error=_series(pred["train_denoising_error"]), learned_test_error=_series(pl))
        out["population_relative_error"] = dict(test=_rel(pred["test_denoising_error"], test.mean(0)),
                                                train=_rel(pred["train_denoising_error"], train.mean(0)),
                                                learned=_rel(pl, learned.mean(0)),
                                                learned_se=float(np.max(se(learned) / learned.mean(0))))
        out["best_epoch_predicted"] = _best(epochs_, pred["test_denoising_error"])
        spikes = sorted(case["population"]["spikes"], reverse=True)
        limits = [dynamics.spiked_limits(l / case["population"].get("bulk", 1.0), D / N) for l in spikes]
        out["spikes"] = [dict(spike=float(l), lam_hat_mean=float(np.mean([t[k] for t in tops])),
                              lam_hat_limit=float(lim[0] * case["population"].get("bulk", 1.0)),
                              overlap2_mean=float(np.mean([o[k] for o in overlaps])), overlap2_limit=float(lim[1]))
                         for k, (l, lim) in enumerate(zip(spikes, limits))]
    return out


def compute_cell(case, N, H, data=None) -> dict:
    """The cell (case, N, H) of :func:`run_generalisation`, with its wall time (runs on a Dask worker as well)."""
    t = time.perf_counter()
    if case["data"] == "mnist" and data:
        from lindae.validation.data.datasets import load_array
        rows = load_array(data)
        if N >= rows.shape[0]:
            raise ConfigError(f"{case['name']}: N = {N} leaves no test rows in {data} ({rows.shape[0]} rows)")
        cell = held_out_cell(case, rows[:N], rows[N:N + case["test_samples"]], H)
        cell["case"] = f"{os.path.basename(data)} (in place of MNIST)"
    elif case["data"] == "mnist":
        from lindae.validation.data.datasets import load_mnist
        cell = mnist_cell(case, N, H, load_mnist(case["test_samples"], split="test", log=lambda m: None))
    else:
        cell = population_cell(case, N, H)
    cell["seconds"] = round(time.perf_counter() - t, 3)
    return cell


def _on_worker(case, N, H, data):
    from lindae.validation.experiments.store import one_blas_thread
    with one_blas_thread():
        return compute_cell(case, N, H, data)


def run_generalisation(study: dict, out_dir, *, force=False, log=print, data=None, client=None) -> dict:
    """Run (or resume) every cell of ``study`` and write the files of the module docstring.

    ``data`` (an array file, as ``lindae reproduce --data`` takes) replaces MNIST: each MNIST cell trains on the
    array's first N rows and tests on the rows after them (at most ``test_samples``). With ``client`` (a
    ``distributed.Client``) the cells run side by side on its workers, one BLAS thread each."""
    return start_generalisation(study, out_dir, force=force, log=log, data=data, client=client)()


def start_generalisation(study: dict, out_dir, *, force=False, log=print, data=None, client=None):
    """:func:`run_generalisation` in two halves: with ``client`` the cells are submitted now (queued behind any tasks
    submitted earlier) and ``finish()``, returned, waits for them, writes the files and returns the study."""
    start = time.perf_counter()
    store = ResultStore(os.path.join(out_dir, "cells"))
    cells = {}
    todo = [(c, N, H) for c in study["cases"] for N in c["sizes"] for H in c["hidden"]]
    keys = [content_key({k: v for k, v in c.items() if k not in ("sizes", "hidden")}, N, H,
                        *([os.path.abspath(data)] if data and c["data"] == "mnist" else [])) for c, N, H in todo]
    with interrupt_on_sigterm():
        pending = []
        for j, ((case, N, H), key) in enumerate(zip(todo, keys)):
            cell = None if force else store.load(key)
            if cell is None:
                pending.append(j)
            else:
                cells[j] = cell
                log(f"{case['name']} N = {N}, H = {H}: finished earlier, skipped (use --force to rerun)")

        if not data and any(todo[j][0]["data"] == "mnist" for j in pending):
            from lindae.validation.data.datasets import load_mnist
            load_mnist(1, split="test", log=log)               # fetch and cache MNIST here, with progress, once
        remote = None
        if client is not None and len(pending) > 1:
            from lindae.validation.experiments.cluster import submit_on_workers
            log(f"  {len(pending)} cells side by side on {len(client.scheduler_info()['workers'])} Dask workers")
            remote = submit_on_workers(client, _on_worker, [(j, (*todo[j], data)) for j in pending])

    def finish_cell(j, cell):
        store.save(keys[j], cell)
        cells[j] = cell
        log(f"[{len(cells)}/{len(todo)}] {summary_line(cell)}; {cell['seconds']:.1f} s")

    def finish():
        with interrupt_on_sigterm():
            if remote is not None:
                remote(finish_cell)
            else:
                for j in pending:
                    finish_cell(j, compute_cell(*todo[j], data))
        ordered = [cells[j] for j in range(len(todo))]
        out = dict(title=study["title"], bounds=BOUNDS, cells=ordered)
        atomic_write_json(os.path.join(out_dir, "generalisation.json"), out)
        from lindae.validation.figures import plot_curves, plot_grids, plot_overshoot, write_figure
        write_figure(plot_curves(ordered), os.path.join(out_dir, "curves.png"))
        files = ["cells", "generalisation.json", "curves.png"]
        if any(c["kind"] == "mnist" for c in ordered):
            write_figure(plot_grids(ordered), os.path.join(out_dir, "grid.png"))
            write_figure(plot_overshoot(ordered), os.path.join(out_dir, "overshoot.png"))
            files += ["grid.png", "overshoot.png"]
        write_manifest(out_dir, config=study, seconds=round(time.perf_counter() - start, 3), files=files)
        return out
    return finish


def summary_line(cell) -> str:
    """One line of a finished cell's main numbers (the log's and the report's)."""
    head = f"{cell['case']} N = {cell['N']}, H = {cell['hidden']}"
    if cell["kind"] == "mnist":
        return (f"{head}: aligned gap {cell['aligned_worst_relative_gap']:.1e}; random start within bound: "
                f"{cell['random']['within_bound']}; best epoch {cell['models']['DAE']['best_epoch_measured']} measured, "
                f"{cell['models']['DAE']['best_epoch_predicted']} predicted; best noise {cell['noise']['best_measured']:g} "
                f"measured, {cell['noise']['best_predicted']:g} predicted; best decay {cell['decay']['best_measured']:g} "
                f"measured, {cell['decay']['best_predicted']:g} predicted; noise beats decay: {cell['noise_beats_decay']}")
    if "population_relative_error" in cell:
        e = cell["population_relative_error"]
        return (f"{head}, {cell['draws']} draws: population-only prediction within {e['test']:.2%} (all modes), "
                f"{e['learned']:.2%} (the H learned modes, standard error {e['learned_se']:.2%})")
    return f"{head}, {cell['draws']} draws: best epoch {cell['best_epoch_measured']}"
