"""Script-driven runs: ``lindae run CONFIG.toml --out DIR``.

Layout of DIR::

    results.json       config, eigenvalues, the plotted modes' series per model, agreement metrics
                       (all deterministic) and "timings" (the only part that varies between reruns)
    models/NAME.json   one finished model (its config hash decides whether a rerun skips it)
    figure.png         Figure 5 or 6, laid out like the paper's
    manifest.json      config, versions, seed, git commit, timings

Every file is written atomically, so an interrupted run leaves only complete files, and a
rerun skips finished models unless ``force`` is set.
"""
from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from lindae.derivations.files import atomic_write_json
from lindae.dynamics import DivergenceError, InvalidArgument

from lindae.validation.data.datasets import CIFAR10_HELP, DataError, cache_dir, load_array, load_cifar10, load_mnist
from lindae.validation.data.spectrum import cached_spectrum
from lindae.validation.experiments.config import CorruptedModel, LinearModel, RunConfig, load_config, model_hash, parse_config
from lindae.validation.experiments.model_training import train_model
from lindae.validation.experiments.store import ResultStore, interrupt_on_sigterm, write_manifest
from lindae.validation.theory import agreement, half_time, paper_agreement, run_corrupted_theory


class RunFailed(RuntimeError):
    """A model diverged or failed; the finished parts are kept."""


def load_data(data, *, cifar10_dir=None, log=print):
    """The (N, D) data of a config's :class:`~lindae.validation.experiments.config.DataConfig`."""
    n = data.n_samples or None
    if data.dataset == "mnist":
        return load_mnist(n, path=data.path or None, log=log)
    if data.dataset == "diagonal":
        lam = np.asarray(data.eigenvalues, dtype=float)
        return np.diag(np.sqrt(lam.size * lam))
    if data.dataset == "cifar10":
        directory = cifar10_dir or data.path
        if not directory:
            raise DataError(f"the config needs CIFAR-10, but no directory was given. {CIFAR10_HELP}")
        return load_cifar10(directory, n)
    return load_array(data.path, data.key or None, n)


def standardize(X, log=None):
    """Every input divided by its root mean square (so that diag Σ = I for the uncentred Σ = XᵀX/N); inputs that
    never vary (all zero) are dropped, since no scaling makes their variance one."""
    rms = np.sqrt(np.mean(X * X, axis=0))
    keep = rms > 0
    if log is not None and not np.all(keep):
        log(f"standardize: {int(np.sum(~keep))} inputs that are zero in every sample dropped")
    return X[:, keep] / rms[keep]


def load_inputs(cfg: RunConfig, *, cifar10_dir=None, log=print):
    """(X or None, Spectrum) for a parsed config: the data and its second-moment spectrum, or, when
    ``[data] spectrum`` names a file written by ``lindae spectrum``, that spectrum alone."""
    data = cfg.data
    if data.spectrum:
        from lindae.validation.data.stream import load_spectrum_file
        spec = load_spectrum_file(data.spectrum)
        if data.center != (spec.mean is not None):
            raise DataError(f"[data] center = {str(data.center).lower()}, but {data.spectrum} is "
                            f"{'centred' if spec.mean is not None else 'uncentred'}")
        for m in cfg.models:
            if needs_data(m):
                raise DataError(f"model {m.name}: {'ReLU training' if m.kind == 'relu' else 'sampled noise'} "
                                f"needs the data X, and a spectrum file holds only its second moment; "
                                f"give the data set instead of [data] spectrum")
        if data.standardize:
            raise DataError("[data] standardize needs the data itself; a spectrum file holds only its second moment")
        X, D = None, len(spec.eigenvalues)
        log(f"data: spectrum {data.spectrum} ({spec.n_samples} samples x {D} features)")
    else:
        X = load_data(data, cifar10_dir=cifar10_dir, log=log)
        if data.center:
            X = X - X.mean(axis=0)
        if data.standardize:
            X = standardize(X, log=log)
        D = X.shape[1]
        log(f"data: {X.shape[0]} samples x {D} features")
    for m in cfg.models:
        if m.hidden > D:
            raise DataError(f"model {m.name}: hidden = {m.hidden} exceeds the data dimension D = {D}")
    if X is not None:
        spec = cached_spectrum(X, cache=os.path.join(cache_dir(), "spectra"), log=log)
    return X, spec


def _round(values, digits=12):
    """Floats rounded to 12 significant digits (stable JSON, well below any agreement we report)."""
    arr = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return [float(f"{x:.{digits}g}") for x in arr.ravel()]


def summarise(model, res, modes, status="finished"):
    """The JSON-ready summary of a finished (or partial) training result of ``model``."""
    if isinstance(model, CorruptedModel):
        return summarise_corrupted(res, modes, status)
    if not isinstance(model, LinearModel):
        return summarise_relu(res, status)
    return (summarise_deep if model.depth > 2 else summarise_linear)(res, modes, status)


#: The theory a deep run is compared with, by its start.
DEEP_THEORY = {"aligned": "D2's exact per-mode GD map from the aligned layers",
               "random": "D9's effective balanced start, then D2's exact per-mode GD map"}


def summarise_deep(res, modes, status="finished"):
    """JSON-ready summary of a deep run (depth >= 3): series of the plotted modes against theory (D2 from an
    aligned start, D9 from a random one) and per-mode agreement, including the relative error of the
    epochs to reach u*/2 (the transitions of deep modes are sharp, so a small shift in time is a large
    difference in strength)."""
    modes = [k for k in modes if k <= len(res.eigenvalues)]
    out = {"status": status, "kind": "linear", "depth": int(res.config["depth"]), "epochs": res.epochs.tolist(),
           "loss_final": float(res.loss[-1]) if len(res.loss) else None, "loss": _round(res.loss),
           "seconds": res.seconds, "theory": DEEP_THEORY[res.config["init"]]}
    if len(res.epochs) < 2:
        return out
    first = range(1, min(int(res.config["hidden"]), len(res.eigenvalues)) + 1)      # the modes that can be learned
    every, th = agreement(res, sorted(set(modes) | set(first)), time="discrete")
    gap = np.max(np.abs(res.strengths - th), axis=0)
    rel = [(abs(every[str(k)]["t_half_rel_error"]), k) for k in first if every[str(k)]["t_half_rel_error"] is not None]
    out["agreement"] = {"deep_discrete": {str(k): every[str(k)] for k in modes},
                        "all_modes": {"max_abs": float(gap.max()), "mode": int(np.argmax(gap)) + 1,
                                      "modes_learned": len(rel),
                                      "t_half_rel_error_median": float(np.median([r for r, _ in rel])) if rel else None,
                                      "t_half_rel_error_worst": max(rel)[0] if rel else None,
                                      "t_half_rel_error_worst_mode": max(rel)[1] if rel else None}}
    out["series"] = {str(k): {"actual": _round(res.strengths[:, k - 1]), "theory": _round(th[:, k - 1])} for k in modes}
    return out


def summarise_linear(res, modes, status="finished"):
    """JSON-ready summary of a linear run: series of the plotted modes and agreement metrics."""
    modes = [k for k in modes if k <= len(res.eigenvalues)]
    out = {"status": status, "kind": "linear", "epochs": res.epochs.tolist(), "leakage_final":
           float(res.leakage[-1]) if len(res.leakage) else None, "loss_final": float(res.loss[-1]) if len(res.loss) else None,
           "effective_u0": _round(res.effective_u0[[k - 1 for k in modes]]),
           "orthogonal_u0": _round(res.orthogonal_u0[[k - 1 for k in modes]]), "shared_u0": res.shared_u0,
           "leakage": _round(res.leakage), "loss": _round(res.loss), "seconds": res.seconds}
    if len(res.epochs) < 2:
        return out
    ours, th_ours = agreement(res, modes, time="discrete", theory="coupled")
    orth, th_orth = agreement(res, modes, time="discrete", theory="orthogonal")
    r14, th_r14 = agreement(res, modes, time="discrete", theory="effective")
    cont, th_cont = agreement(res, modes, time="continuous", theory="orthogonal")
    paper, th_paper = paper_agreement(res, modes)
    out["agreement"] = {"r15_discrete": ours, "r14_orthogonal_discrete": orth, "r14_discrete": r14, "r14_orthogonal_continuous": cont,
                        "paper_singular_values_shared_u0": paper}
    out["series"] = {str(k): {"actual": _round(res.strengths[:, k - 1]), "theory": _round(th_ours[:, k - 1]),
                              "theory_r14": _round(th_r14[:, k - 1])} for k in modes}
    out["paper_series"] = {"epochs": res.sv_epochs.tolist(),
                           **{str(k): {"singular_value": _round(res.singular_values[:, k - 1]) if k <= res.singular_values.shape[1]
                                       else [0.0] * len(res.sv_epochs), "theory_shared_u0": _round(th_paper[:, j])}
                              for j, k in enumerate(modes)}}
    return out


def summarise_corrupted(res, modes, status="finished"):
    """JSON-ready summary of a corrupted run (masking, anisotropic noise, hidden dropout): every mode <= H against
    its theory (N7's surrogate, or R12 per mode when decoupled), the leakage and asymmetry, and the end point
    against the optimum (N5, or N6 for hidden dropout) with the optimum's directions against PCA's."""
    from lindae.dynamics.noise_models import dropout_optimum, rank_h_optimum
    H = int(res.config["hidden"])
    D = len(res.eigenvalues)
    modes = [k for k in modes if k <= D]
    out = {"status": status, "kind": "corrupted", "noise": res.corruption.describe(), "epochs": res.epochs.tolist(),
           "loss": _round(res.loss), "loss_final": float(res.loss[-1]) if len(res.loss) else None,
           "leakage": _round(res.leakage), "asymmetry": _round(res.asymmetry),
           "leakage_final": float(res.leakage[-1]) if len(res.leakage) else None,
           "asymmetry_final": float(res.asymmetry[-1]) if len(res.asymmetry) else None, "seconds": res.seconds}
    if len(res.epochs) < 2:
        return out
    Wt = res.eigenvectors.T @ res.W2 @ res.W1 @ res.eigenvectors
    if res.corruption.rho:
        s_opt, l_opt = dropout_optimum(res.eigenvalues, H, res.corruption.dropout_keep)
        out["optimum"] = {"theory": "N6 (equalised dropout optimum)", "strengths": _round(s_opt[:H]),
                          "loss": float(l_opt), "max_abs_strength_error": float(np.max(np.abs(np.diag(Wt) - s_opt))),
                          "loss_error": float(res.loss[-1] - l_opt)}
        out["series"] = {str(k): {"actual": _round(res.strengths[:, k - 1])} for k in modes}
        return out
    # top: W*'s input directions (B^{1/2}-whitened), the right singular vectors of W* B^{1/2}, from N5's own SVD
    Wopt, l_opt, sig, top = rank_h_optimum(np.diag(res.kappa), res.B, H, trace_sigma=float(np.sum(res.eigenvalues)),
                                           return_directions=True)
    pca = np.sum(Wopt[:, :H] ** 2) / max(np.sum(Wopt ** 2), 1e-300)   # share of W*'s columns on the top-H PCA modes
    diff = Wt - Wopt
    b_norm2 = [max(float(np.einsum("ij,ij->", A @ res.B, A)), 0.0) for A in (diff, Wopt)]   # ‖A B^{1/2}‖² = tr(ABAᵀ)
    out["optimum"] = {"theory": "N5 (rank-H optimum)", "strengths": _round(np.diag(Wopt)), "loss": float(l_opt),
                      "loss_error": float(res.loss[-1] - l_opt),
                      "relative_frobenius": float(np.linalg.norm(diff) / np.linalg.norm(Wopt)),
                      "relative_b_weighted": float(np.sqrt(b_norm2[0] / b_norm2[1])),
                      "sigma_gap": float(sig[H - 1] - sig[H]) if H < len(sig) else None,
                      "pca_share": float(pca), "direction_weight_per_mode": _round(np.sum(top ** 2, axis=0), 6)}
    which, th = run_corrupted_theory(res)
    err = np.abs(res.strengths[:, :H] - th[:, :H])
    per_mode = err.max(axis=0)
    worst = int(np.argmax(per_mode))
    out["theory"] = which
    out["agreement"] = {"max_abs": float(per_mode[worst]), "mode": worst + 1,
                        "epoch": int(res.epochs[int(np.argmax(err[:, worst]))]),
                        "per_mode_max_abs": _round(per_mode, 6), "modes_over_0.05": int(np.sum(per_mode > 0.05))}
    out["series"] = {str(k): {"actual": _round(res.strengths[:, k - 1]), "theory": _round(th[:, k - 1])} for k in modes}
    out["all_modes"] = {"actual": [_round(res.strengths[:, i], 6) for i in range(H)],
                        "theory": [_round(th[:, i], 6) for i in range(H)]}
    return out


def summarise_relu(res, status="finished"):
    out = {"status": status, "kind": "relu", "epochs": res.epochs.tolist(), "loss": _round(res.loss),
           "seconds": res.seconds, "series": {}, "half_time": {}}
    for i in range(res.m.shape[1]):
        m = res.m[:, i]
        out["series"][str(i + 1)] = {"m": _round(m)}
        out["half_time"][str(i + 1)] = half_time(res.epochs, m, m[-1] / 2) if len(m) and m[-1] > 0 else None
    return out


def needs_data(model) -> bool:
    """True for a model whose training reads the data X (ReLU, sampled noise), not only its spectrum."""
    if isinstance(model, CorruptedModel):
        return model.sampled
    return not isinstance(model, LinearModel) or model.sampled_noise


def train_and_summarise(model, X, spec, modes, *, log=None, shared=None, keep=False):
    """Train ``model`` and summarise it (a diverged run gives its partial summary with ``status`` "diverged"
    and ``error``). Returns (summary, the training result if ``keep`` else None)."""
    try:
        res = train_model(model, X, spec, log=log, shared=shared)
    except DivergenceError as exc:
        part = exc.partial
        summary = {"status": "diverged"} if part is None else summarise(model, part, modes, "diverged")
        summary["error"] = str(exc)
        return summary, None
    return summarise(model, res, modes), (res if keep else None)


def run_config(config, out_dir, *, force=False, cifar10_dir=None, log=print, models=None, shared=None, client=None):
    """Run every model of ``config`` (a path, a dict or a RunConfig), writing into ``out_dir``; return results.

    Raises
    ------
    ConfigError, DataError
        For a bad config or missing data (nothing is written).
    RunFailed
        When a model diverged: its partial series are saved, the other models still run.
    KeyboardInterrupt
        On SIGINT or SIGTERM; files already written are complete, and a rerun resumes.

    ``shared`` (a :class:`~lindae.validation.experiments.model_training.SharedTrainings`) keeps the finished
    trainings for later parts of the same job, and serves any it already holds. With ``client`` (a
    ``distributed.Client``), the models train concurrently on its workers (one BLAS thread each; the data is sent
    once to every worker for the models that read it); the results are the same as serial ones up to rounding.
    """
    cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else parse_config(config)
    if models is not None:
        unknown = sorted(set(models) - {m.name for m in cfg.models})
        if unknown:
            raise InvalidArgument(f"--models: no model {unknown[0]!r} in the config; it has "
                                  f"{', '.join(m.name for m in cfg.models)}")
        cfg = dataclasses.replace(cfg, models=tuple(m for m in cfg.models if m.name in models))
    with interrupt_on_sigterm():
        return _ConfigRun(cfg, out_dir, force, cifar10_dir, log, shared, client).finish()


def start_config(config, out_dir, *, force=False, cifar10_dir=None, log=print, shared=None, client=None):
    """:func:`run_config` in two halves: load the data and submit the models that train on ``client``'s workers now,
    and return a function that trains the rest, collects every model and writes the results (``run_config`` is
    ``start_config(...)()``). A job that starts several configs before finishing the first keeps every core busy
    while a config's last model trains alone."""
    cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else parse_config(config)
    with interrupt_on_sigterm():
        rest = _ConfigRun(cfg, out_dir, force, cifar10_dir, log, shared, client).finish

    def finish():
        with interrupt_on_sigterm():
            return rest()
    return finish


class _ConfigRun:
    """One config's run between :func:`start_config` (data loaded, remote models submitted) and its end. The data
    stays in memory until then (a job that starts every config at once holds all of their data sets)."""

    def __init__(self, cfg: RunConfig, out_dir, force, cifar10_dir, log, shared=None, client=None):
        self.start = time.perf_counter()
        self.cfg, self.out_dir, self.log, self.shared = cfg, out_dir, log, shared
        self.title = cfg.title or cfg.figure
        log(f"{self.title}: {cfg.data.dataset} data, {len(cfg.models)} model(s) -> {out_dir}")
        self.X, self.spec = load_inputs(cfg, cifar10_dir=cifar10_dir, log=log)
        self.timings = {"data_and_spectrum_seconds": round(time.perf_counter() - self.start, 3)}
        self.store = ResultStore(os.path.join(out_dir, "models"))
        self.summaries, self.failures, self.modes, self.todo = {}, [], list(cfg.report_modes), []
        for m in cfg.models:
            h = model_hash(cfg.data, m)
            old = None if force else self.store.load(m.name, key=h, finished=True)
            if old is not None:
                log(f"model {m.name}: finished earlier, skipped (use --force to rerun)")
                self.summaries[m.name] = old
            else:
                self.todo.append((m, h))
        self.remote = [(m, h) for m, h in self.todo if client is not None and len(self.todo) > 1
                       and (self.X is not None or not needs_data(m)) and not (shared is not None and shared.has(m, self.spec))]
        self.collect = None
        if self.remote:
            from lindae.validation.experiments.cluster import submit_trainings
            self.collect = submit_trainings(client, self.remote, self.spec, self.modes, shared, log, X=self.X)

    def _done(self, m, h, summary, seconds):
        if summary["status"] == "diverged":
            self.log(f"model {m.name}: DIVERGED - {summary['error']}")
            self.failures.append(f"{m.name}: {summary['error']}")
        summary.update(key=h, config=m.to_dict(), wall_seconds=round(seconds, 3))
        self.store.save(m.name, summary)
        self.summaries[m.name] = summary
        self.log(f"model {m.name}: done in {summary['wall_seconds']:.1f} s")

    def finish(self):
        """Collect the remote models, train the others here, and write results.json, the figure and the manifest."""
        cfg, log = self.cfg, self.log
        if self.collect is not None:
            self.collect(self._done)
        for m, h in self.todo:
            if (m, h) in self.remote:
                continue
            log(f"model {m.name}: training ({m.kind}, H = {m.hidden}, lr = {m.lr:g}, {m.epochs} epochs)")
            t = time.perf_counter()
            self._done(m, h, train_and_summarise(m, self.X, self.spec, self.modes, log=log, shared=self.shared)[0],
                       time.perf_counter() - t)
        summaries = {m.name: self.summaries[m.name] for m in cfg.models}      # config order, whoever finished first
        results = {"title": self.title, "config": cfg.to_dict(), "n_samples": int(self.spec.n_samples),
                   "dimension": int(len(self.spec.eigenvalues)), "eigenvalues": _round(self.spec.eigenvalues),
                   "models": {k: {kk: vv for kk, vv in v.items() if kk not in ("seconds", "wall_seconds")}
                              for k, v in summaries.items()},
                   "timings": {**self.timings, **{f"{k}_seconds": v.get("wall_seconds") for k, v in summaries.items()}}}
        atomic_write_json(os.path.join(self.out_dir, "results.json"), results)
        if cfg.figure != "none":
            from lindae.validation.figures import plot_results, write_figure
            write_figure(plot_results(results), os.path.join(self.out_dir, "figure.png"))
            log(f"wrote {os.path.join(self.out_dir, 'figure.png')}")
        results["timings"]["total_seconds"] = round(time.perf_counter() - self.start, 3)
        write_manifest(self.out_dir, config=cfg.to_dict(), seeds={m.name: m.seed for m in cfg.models},
                       timings=results["timings"], files=sorted(os.listdir(self.out_dir)))
        if self.failures:
            raise RunFailed("; ".join(self.failures))
        return results
