"""Write docs/claims.json: every number the README and docs/errata.md quote, measured by a command.

    lindae reproduce --out report/                        # the main job (its Figure 5 run and its timings)
    python bench/claims.py --reproduce report/ --out docs/claims.json   # benchmarks, Figure 3, and the above

``--fig5 DIR`` takes Figure 5 from a ``lindae run configs/fig5_mnist.toml --out DIR`` instead, and
``--draws DIR`` adds R15 on new draws (``lindae study configs/random_init_draws.toml --out DIR``),
``--external FILE`` the models trained elsewhere (``python bench/external_models.py --out FILE``),
``--generalisation DIR`` the finite-data study (``lindae generalisation configs/generalisation_mnist.toml --out DIR``),
``--sgd-speed FILE`` many SGD seeds against one (``python bench/sgd_speed.py --out FILE``),
``--r15-speed FILE [FILE]`` R15's evaluation against the training it predicts (``python bench/r15_speed.py --out FILE``,
and with ``--blas-threads 1``),
``--sgd-bias FILE`` where the SGD theory's mean misses at B = 1 (``python bench/sgd_bias.py --out FILE``),
``--sgd-window FILE`` how wide SGD's divergence transition is (``python bench/sgd_theory.py --window --out FILE``),
``--sgd-full-batch FILE`` where full-batch GD leaves the plateau (``python bench/sgd_theory.py --full-batch --out FILE``),
``--sgd DIR`` the minibatch-SGD study (``lindae sgd configs/sgd.toml --out DIR``; several folders may be given, e.g.
one per case, and their cells are merged),
``--noise FILE`` masking on MNIST (``python bench/noise_models_mnist.py --out FILE``; the report's noise-model runs
come from ``--noise-report DIR``, default ``--reproduce``), and
``--only-runs`` replaces only the numbers of the given runs in the existing file (no benchmarks).

The documents mark each quoted number as <!-- claim:KEY:FORMAT -->VALUE<!-- /claim -->; this script
fills every VALUE from the file it writes, and tests/test_claims.py checks every VALUE against
docs/claims.json, so a number cannot be typed by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import tempfile

import numpy as np

from lindae.derivations.files import atomic_write_json, atomic_write_text

#: <!-- claim:KEY:FORMAT -->VALUE<!-- /claim -->, KEY a dotted path into claims.json.
CLAIM = re.compile(r"<!-- claim:([\w.]+):([^ ]*) -->(.*?)<!-- /claim -->")
DOCUMENTS = ("README.md", "docs/errata.md", "docs/theory.md", "docs/conventions.md")


def lookup(claims, key):
    value = claims
    for part in key.split("."):
        value = value[part]
    return value


def fill(text, claims):
    """``text`` with every claim marker's VALUE set from ``claims``."""
    return CLAIM.sub(lambda m: f"<!-- claim:{m[1]}:{m[2]} -->{format(lookup(claims, m[1]), m[2])}<!-- /claim -->", text)


def fig5_numbers(run_dir):
    with open(os.path.join(run_dir, "results.json")) as fh:
        res = json.load(fh)
    with open(os.path.join(run_dir, "manifest.json")) as fh:
        man = json.load(fh)
    worst = lambda key: max(v["max_abs"] for m in res["models"].values()  # noqa: E731
                            for v in m["agreement"][key].values())
    return {"worst_error_ours": worst("r15_discrete"), "worst_error_r14_orthogonal": worst("r14_orthogonal_discrete"),
            "worst_error_r14": worst("r14_discrete"),
            "worst_error_paper": worst("paper_singular_values_shared_u0"),
            "run_seconds": man["timings"]["total_seconds"], "commit": man["environment"].get("git_commit")}


def reproduce_numbers(report_dir):
    """The main job's own timings (report/timings.json, written by ``lindae reproduce``)."""
    with open(os.path.join(report_dir, "timings.json")) as fh:
        t = json.load(fh)
    if t.get("quick"):
        raise SystemExit(f"{report_dir} is a --quick run; the README quotes the full one")
    return {"total_seconds": t["seconds"]["total"], "parts": t["seconds"], "trainings_shared": t["trainings_shared"],
            "core_gflops": t.get("core_gflops")}


def draws_numbers(study_dir, bound=0.05):
    """R15 on new draws (``lindae study configs/random_init_draws.toml``): per case and model, the number of
    cells, how many exceed the bound, and the worst error."""
    with open(os.path.join(study_dir, "study.json")) as fh:
        cells = json.load(fh)["cells"]
    out = {"cells": len(cells), "misses": sum(c["errors"]["coupled"]["worst"] > bound for c in cells),
           "worst": max(c["errors"]["coupled"]["worst"] for c in cells)}
    for c in cells:
        key = f"{c['case'].split()[0].replace('-', '_')}_{c['model']}"
        row = out.setdefault(key, {"cells": 0, "misses": 0, "worst": 0.0})
        row["cells"] += 1
        row["misses"] += c["errors"]["coupled"]["worst"] > bound
        row["worst"] = max(row["worst"], c["errors"]["coupled"]["worst"])
    return out


def noise_numbers(report_dir, bench_file=None):
    """Masking and dropout (N1-N8): the surrogate's worst error per raw-MNIST model, the standardised aligned run,
    hidden dropout's end point (all from ``lindae reproduce``'s runs) and, from ``bench/noise_models_mnist.py``'s
    JSON, the Monte-Carlo check and the convergence to W*."""
    def res(name):
        with open(os.path.join(report_dir, name, "results.json")) as fh:
            return json.load(fh)["models"]
    raw, std, drop = res("masking_mnist"), res("masking_mnist_standardized"), res("dropout_synthetic")
    out = {"surrogate": {k.replace(".", ""): m["agreement"]["max_abs"] for k, m in raw.items()},
           "modes_over": {k.replace(".", ""): m["agreement"]["modes_over_0.05"] for k, m in raw.items()},
           "worst_mode": {k.replace(".", ""): m["agreement"]["mode"] for k, m in raw.items()},
           "leakage": {k.replace(".", ""): m["leakage_final"] for k, m in raw.items()},
           "surrogate_worst": max(m["agreement"]["max_abs"] for m in raw.values()),
           "surrogate_worst_p25": raw["mask_p0.25"]["agreement"]["max_abs"],
           "leakage_p25": raw["mask_p0.25"]["leakage_final"], "asymmetry_p25": raw["mask_p0.25"]["asymmetry_final"],
           "standardised_aligned": std["aligned_p0.25"]["agreement"]["max_abs"],
           "standardised_random": std["random_p0.25"]["agreement"]["max_abs"],
           "dropout_strength_error": max(m["optimum"]["max_abs_strength_error"] for m in drop.values()),
           "dropout_loss_error": max(abs(m["optimum"]["loss_error"]) for m in drop.values())}
    if bench_file:
        with open(bench_file) as fh:
            b = json.load(fh)
        c = b["convergence"]
        out.update(mc_worst_z=b["worst_abs_z"], monte_carlo=b["monte_carlo"],
                   wstar_share_below=100 * c["share_of_wstar_below_1e-6"], slowest_rate=c["slowest_rate_per_epoch"],
                   convergence_frobenius=c["relative_frobenius"], convergence_b_weighted=c["relative_b_weighted"],
                   convergence_loss_gap=c["loss_minus_optimum"], convergence_epochs=c["epochs"],
                   theory_cost=b.get("theory_cost"))
    return out


def generalisation_numbers(folder):
    """The finite-data study's numbers, keyed for the markers: ``N500_H64`` per MNIST cell, ``spiked`` and the worst
    of each acceptance measure over the MNIST cells."""
    with open(os.path.join(folder, "generalisation.json")) as fh:
        study = json.load(fh)
    out, mnist = {}, [c for c in study["cells"] if c["kind"] == "mnist"]
    for c in mnist:
        ae, dae = c["ae_at_test_noise"], c["models"]["DAE"]
        out[f"N{c['N']}_H{c['hidden']}"] = dict(
            aligned_gap=c["aligned_worst_relative_gap"], random_gap=c["random"]["worst_relative_gap"],
            random_within_bound=c["random"]["within_bound"],
            dae_best_measured=dae["best_epoch_measured"], dae_best_predicted=dae["best_epoch_predicted"],
            ae_best_measured=ae["best_epoch_measured"], ae_best_predicted=ae["best_epoch_predicted"],
            overshooting_modes=len(c["overshoot"]["modes"]), overshoot_worst_epochs=c["overshoot"]["worst_epochs_apart"],
            noise_measured=c["noise"]["best_measured"], noise_predicted=c["noise"]["best_predicted"],
            noise_g4=c["noise"]["continuous_optimum"], decay_measured=c["decay"]["best_measured"],
            decay_predicted=c["decay"]["best_predicted"], decay_g5=c["decay"]["continuous_optimum"],
            noise_beats_decay="noise" if c["noise_beats_decay"] else "weight decay")
    if mnist:
        out["worst"] = dict(aligned_gap=max(c["aligned_worst_relative_gap"] for c in mnist),
                            grid_steps=max(max(c["noise"]["grid_steps_apart"], c["decay"]["grid_steps_apart"])
                                           for c in mnist),
                            all_within_bound=all(c["random"]["within_bound"] for c in mnist))
        first = [c for c in mnist if c["hidden"] == mnist[0]["hidden"]]
        out["noise_wins_at"] = ", ".join(str(c["N"]) for c in first if c["noise_beats_decay"]) or "none"
        out["decay_wins_at"] = ", ".join(str(c["N"]) for c in first if not c["noise_beats_decay"]) or "none"
    for c in study["cells"]:
        if "population_relative_error" in c:
            e, sp = c["population_relative_error"], c["spikes"][0]
            out[c["kind"]] = dict(D=c["D"], N=c["N"], draws=c["draws"], test=100 * e["test"], train=100 * e["train"],
                                  learned=100 * e["learned"], learned_se=100 * e["learned_se"],
                                  lam_hat=sp["lam_hat_mean"], lam_hat_limit=sp["lam_hat_limit"],
                                  overlap2=sp["overlap2_mean"], overlap2_limit=sp["overlap2_limit"])
    return out


def _worst_relative_mean(cell):
    """Largest |measured mean / predicted mean − 1| (per cent) over the cell's compared steps and tabled modes."""
    cv = cell.get("curves")
    if not cv or cell.get("mode_worst_se") is None:
        return None
    at = [i for i, k in enumerate(cv["steps"]) if k in set(cell["compared_steps"])]
    top = len(cell["mode_worst_se"])
    m, t = (np.asarray(cv[k], dtype=float)[at, :top] for k in ("mean", "theory_mean"))
    return 100 * float(np.max(np.abs(m / t - 1)))


def sgd_numbers(folders):
    """The SGD study's numbers, keyed for the markers: ``CASE_B8_lr0_01`` (or ``..._0_5bound``) per curve cell,
    ``CASE_B8_bound`` per bound cell, ``CASE_worst_ok`` (worst measures over the cells at B ≤ 64 with lr 0.01 or
    at most half the bound)."""
    out = {}
    for folder in folders:
        with open(os.path.join(folder, "sgd.json")) as fh:
            study = json.load(fh)
        for c in study["cells"]:
            name = re.sub(r"\W+", "_", c["case"])
            if c["kind"] == "bound":
                below = [d for f, d in zip(c["factors"], c["diverged"]) if f < 1]
                above = [d for f, d in zip(c["factors"], c["diverged"]) if f > 1]
                out[f"{name}_B{c['B']}_bound"] = dict(bound=c["bound"], diverged_below=100 * max(below, default=0),
                                                      diverged_above=100 * min(above, default=1), steps=c["steps"])
                continue
            lr = (c["lr_spec"].replace(" ", "") if c.get("lr_spec") else f"lr{c['lr']:g}").replace(".", "_")
            out[f"{name}_B{c['B']}_{lr}"] = dict(
                lr=c["lr"], steps=c["steps"], seeds=c["seeds"], diverged=c["diverged"],
                worst_se=c.get("worst_se"), worst_std=None if c.get("worst_std") is None else 100 * c["worst_std"],
                modes_missing=len(c["modes_missing"]), theory_failed=bool(c.get("theory_failed")),
                train_seconds=c.get("train_seconds"), theory_seconds=c.get("theory_seconds"),
                worst_mean_relative=_worst_relative_mean(c))
    return out


def r15_speed_numbers(paths):
    """R15's cost from runs of bench/r15_speed.py, grouped by BLAS threads (``r15_speed``: the library's own,
    ``r15_speed_one_thread``: --blas-threads 1): the run with the median ratio (the upper one of an even number),
    with the lowest and highest ratio over the group's runs, and (where the run timed them) its four dense kernels'
    floor: their time per recorded time, their ratio to the training and their share of R15's time."""
    groups = {}
    for path in paths:
        with open(path) as fh:
            r15 = json.load(fh)
        groups.setdefault("r15_speed_one_thread" if r15.get("blas_threads") == 1 else "r15_speed", []).append(r15)
    out = {}
    for key, group in groups.items():
        group.sort(key=lambda r: r["ratio"])
        mid = group[len(group) // 2]
        out[key] = dict({k: mid[k] for k in ("ratio", "epoch_ms", "record_ms", "records", "modes", "hidden")},
                        runs=len(group), ratio_low=group[0]["ratio"], ratio_high=group[-1]["ratio"])
        if "floor_ms" in mid:
            out[key].update(floor_ms=mid["floor_ms"], floor_ratio=mid["floor_ratio"],
                            floor_share=mid["floor_ms"] / mid["record_ms"])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reproduce", metavar="DIR", help="output folder of `lindae reproduce` (its timings and Figure 5)")
    p.add_argument("--fig5", metavar="DIR", help="output folder of a Figure 5 run (default: DIR/fig5_mnist of --reproduce)")
    p.add_argument("--draws", metavar="DIR", help="output folder of `lindae study configs/random_init_draws.toml`")
    p.add_argument("--external", metavar="FILE", help="output of `python bench/external_models.py --out FILE`")
    p.add_argument("--generalisation", metavar="DIR", help="output folder of `lindae generalisation "
                   "configs/generalisation_mnist.toml --out DIR`")
    p.add_argument("--sgd", metavar="DIR", nargs="+", help="output folder(s) of `lindae sgd configs/sgd.toml --out DIR`")
    p.add_argument("--sgd-speed", metavar="FILE", help="output of `python bench/sgd_speed.py --out FILE`")
    p.add_argument("--r15-speed", metavar="FILE", nargs="+", help="output(s) of `python bench/r15_speed.py --out FILE` "
                   "(MNIST, H = 256), on the library's BLAS threads and with --blas-threads 1; several runs of each are summarised "
                   "by their median")
    p.add_argument("--sgd-bias", metavar="FILE", help="output of `python bench/sgd_bias.py --out FILE` (B = 1)")
    p.add_argument("--sgd-window", metavar="FILE", help="output of `python bench/sgd_theory.py --window --out FILE`")
    p.add_argument("--sgd-full-batch", metavar="FILE",
                   help="output of `python bench/sgd_theory.py --full-batch --out FILE`")
    p.add_argument("--noise", metavar="FILE", help="output of `python bench/noise_models_mnist.py --out FILE`")
    p.add_argument("--noise-report", metavar="DIR", help="output folder of `lindae reproduce` whose noise-model runs "
                   "to quote (default: --reproduce)")
    p.add_argument("--out", default="docs/claims.json", help="where to write (default docs/claims.json)")
    p.add_argument("--only-runs", "--only-fig5", action="store_true",
                   help="replace only the numbers of the given runs in the existing --out file (no benchmarks)")
    a = p.parse_args(argv)
    fig5 = a.fig5 or (os.path.join(a.reproduce, "fig5_mnist") if a.reproduce else None)
    if fig5 is None and not a.only_runs:
        p.error("give --reproduce DIR or --fig5 DIR (or --only-runs with the runs to replace)")
    runs = {"fig5": fig5_numbers(fig5)} if fig5 else {}
    if a.reproduce:
        runs["reproduce"] = reproduce_numbers(a.reproduce)
    if a.draws:
        runs["draws"] = draws_numbers(a.draws)
    noise_dir = a.noise_report or a.reproduce
    if noise_dir and os.path.exists(os.path.join(noise_dir, "masking_mnist", "results.json")):
        runs["noise"] = noise_numbers(noise_dir, a.noise)
    if a.external:
        with open(a.external) as fh:
            runs["external"] = json.load(fh)
    if a.generalisation:
        runs["generalisation"] = generalisation_numbers(a.generalisation)
    if a.sgd:
        runs["sgd"] = sgd_numbers(a.sgd)
    if a.sgd_speed:
        with open(a.sgd_speed) as fh:
            speed = json.load(fh)
        runs["sgd_speed"] = dict(seeds=speed["seeds"], gflops=speed["gflops"],
                                 **{f"{k}B{r['batch_size']}": r[v] for r in speed["rows"]
                                    for k, v in (("", "ratio"), ("side_by_side_", "ratio_side_by_side"),
                                                 ("floor_", "ratio_floor"))})
    runs.update(r15_speed_numbers(a.r15_speed or ()))
    if a.sgd_bias:
        with open(a.sgd_bias) as fh:
            bias = json.load(fh)
        runs["sgd_bias"] = dict(batch_size=bias["batch_size"], seeds=bias["seeds"], **{
            f"D{r['D']}_H{r['hidden']}": dict(worst_relative=100 * min(r["relative_min"]), worst_z=min(r["z_min"]),
                                              slowest_relative=100 * r["relative_min"][-1]) for r in bias["rows"]})
    if a.sgd_window:
        with open(a.sgd_window) as fh:
            rows = json.load(fh)["window"]
        runs["sgd_window"] = {f"B{r['batch_size']}_{r['modes'].split()[0]}": dict(
            bound=r["bound"], steps=r["steps"], seeds=r["seeds"], criterion_ratio=r["criterion_ratio"],
            **({} if r["ratio"] is None else dict(
                none_factor=r["none_diverged"] / r["bound"], most_factor=r["most_diverged"] / r["bound"], ratio=r["ratio"],
                # the bounds η̂ (in units of η_B) that meet the criterion: 1.1 η̂ past the 90 % edge, 0.9 η̂ below none's
                criterion_low=r["most_diverged"] / r["bound"] / 1.1, criterion_high=r["none_diverged"] / r["bound"] / 0.9)))
            for r in rows}
    if a.sgd_full_batch:
        with open(a.sgd_full_batch) as fh:
            fb = json.load(fh)
        runs["sgd_full_batch"] = dict(escape={r["modes"].replace(" ", "_"): r for r in fb["full_batch"]},
                                      pair_block=fb["pair_block"])
    if a.only_runs:
        with open(a.out) as fh:
            claims = json.load(fh)
        claims.update(runs)
        return _write(a.out, claims)
    import closed_form
    import train_speed
    from lindae.dynamics.figures import write_figures
    with tempfile.TemporaryDirectory() as tmp:
        figs = write_figures(tmp, which=["fig3"], log=lambda m: None)
    claims = {**runs,
              "fig3": {"max_gap_paper_rate": figs["fig3"]["max_abs_dae_minus_wdae_paper_rate"],
                       "max_gap_stale_rate": figs["fig3"]["max_abs_dae_minus_wdae_stale_rate"]},
              "train_speed": train_speed.main([]), "closed_form": closed_form.main([])}
    return _write(a.out, claims)


def _write(out, claims):
    atomic_write_json(out, claims)
    print(f"wrote {out}")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for doc in DOCUMENTS:
        path = os.path.join(root, doc)
        with open(path, encoding="utf-8") as fh:
            atomic_write_text(path, fill(fh.read(), claims))
        print(f"filled the claims of {doc}")


if __name__ == "__main__":
    main()
