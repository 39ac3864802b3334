"""The minibatch-SGD study (lindae sgd): config errors, a small run that writes its files and resumes, its numbers
recomputed from the ensemble and the theory directly, pooled statistics over parts, the Dask path, and the command."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lindae import dynamics, validation
from lindae.validation.experiments.config import ConfigError
from lindae.validation.experiments.sgd_study import (_ensemble, compare_rows, parse_sgd, quick_sgd, report_sgd,
                                                     run_sgd_study)

SMALL = {"seeds": 24, "u0": 1e-2, "records": 50, "compare": 6, "bound_steps": 60, "cases": [
    {"name": "g", "eigenvalues": [2.0, 0.5, 0.25], "hidden": 2, "batch_sizes": [4], "lrs": [0.05, "0.5 bound"],
     "time": 3.0}]}


@pytest.mark.parametrize("raw,message", [
    ({"cases": [{"name": "a", "hidden": 1}]}, "eigenvalues (Gaussian data) or data"),
    ({"cases": [{"name": "a", "hidden": 1, "eigenvalues": [1.0], "data": "mnist"}]}, "not both"),
    ({"cases": [{"name": "a", "hidden": 3, "eigenvalues": [1.0, 0.5]}]}, "exceeds D = 2"),
    ({"cases": [{"name": "a", "hidden": 1, "eigenvalues": [1.0], "lrs": ["fast"]}]}, "a learning rate is a number"),
    ({"cases": [{"name": "a", "hidden": 1, "eigenvalues": [1.0], "batch_sizes": [0]}]}, "batch size"),
    ({"cases": [{"name": "a", "hidden": 1, "eigenvalues": [1.0], "seeds": 1}]}, "'seeds' must be an integer >= 2"),
    ({"cases": [{"name": "a", "hidden": 1, "eigenvalues": [1.0], "speedy": True}]}, "unknown key(s) speedy"),
    ({"cases": ["a"]}, "must be a table"),
    ({"cases": []}, "needs [[cases]]"),
])
def test_config_errors_name_the_problem(raw, message):
    with pytest.raises(ConfigError) as info:
        parse_sgd(raw)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_run_writes_its_files_resumes_and_reports_what_its_parts_measure(tmp_path):
    study = parse_sgd(SMALL)
    lines = []
    out = run_sgd_study(study, tmp_path, log=lines.append)
    assert {"cells", "sgd.json", "bands.png", "manifest.json"} <= set(os.listdir(tmp_path))
    assert json.loads((tmp_path / "sgd.json").read_text())["cells"] == out["cells"]
    curves = [c for c in out["cells"] if c["kind"] == "curve"]
    bound = [c for c in out["cells"] if c["kind"] == "bound"]
    assert len(curves) == 2 and len(bound) == 1
    # the first cell's measures, recomputed from a fresh ensemble (same seed) and the theory
    c = curves[0]
    ens = validation.train_sgd_ensemble(2, 0.05, c["steps"], batch_size=4, seeds=24, eigenvalues=[2.0, 0.5, 0.25],
                                        noise_var=0.5, u0=1e-2, record_every=max(c["steps"] // 50, 1))
    th = validation.run_sgd_theory(ens)
    rows = compare_rows(ens.epochs, c["steps"], 6)
    z = np.abs(ens.mean[rows, :2] - th["mean"][rows, :2]) / ens.se[rows, :2]
    assert c["mode_worst_se"] == pytest.approx(list(z.max(0)), rel=1e-12)
    assert c["compared_steps"] == ens.epochs[rows].tolist() and c["steps"] == 60
    # the "0.5 bound" cell trains at half of S4's bound
    s4 = dynamics.sgd_lr_bound([2.0, 0.5], noise_var=0.5, batch_size=4, sampled_noise=True)[0]
    assert curves[1]["lr"] == pytest.approx(0.5 * s4, rel=1e-12) and bound[0]["bound"] == pytest.approx(s4, rel=1e-12)
    assert len(bound[0]["diverged"]) == 2 and all(0 <= d <= 1 for d in bound[0]["diverged"])
    run_sgd_study(study, tmp_path, log=lines.append)
    assert "finished earlier, skipped" in lines[-1]
    run_sgd_study(study, tmp_path, log=lines.append, force=True)
    assert "skipped" not in lines[-1]


def test_combined_parts_give_the_pooled_statistics():
    """Two ensembles' counts, means and standard deviations pool to those of all seeds at once: checked on the
    strengths of two ensembles whose seeds are known (their per-seed values rebuilt from a direct run)."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(30, 4, 2))                      # 30 seeds, 4 records, 2 modes
    parts = []
    for sl in (slice(0, 11), slice(11, 30)):
        v = values[sl]
        parts.append(validation.SGDEnsemble(np.arange(4), v.mean(0), v.std(0, ddof=1), v.std(0, ddof=1) / np.sqrt(len(v)),
                                            np.zeros(len(v), bool), np.ones(2), np.ones(2), {"seeds": len(v)}, None,
                                            np.full(4, len(v))))
    both = validation.combine_sgd_ensembles(parts)
    np.testing.assert_allclose(both.mean, values.mean(0), rtol=1e-13)
    np.testing.assert_allclose(both.std, values.std(0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(both.se, values.std(0, ddof=1) / np.sqrt(30), rtol=1e-12)
    assert list(both.counts) == [30] * 4 and both.config["seeds"] == 30
    with pytest.raises(dynamics.InvalidArgument, match="same steps"):
        validation.combine_sgd_ensembles([parts[0], validation.SGDEnsemble(np.arange(3), *[None] * 7)])


def test_seeds_split_over_dask_workers_equal_the_serial_run(tmp_path, dask_client):
    case = parse_sgd(SMALL)["cases"][0]
    X = np.random.default_rng(2).standard_normal((40, 5)) * [1.5, 1.0, 0.7, 0.4, 0.2]
    np.save(tmp_path / "x.npy", X)
    on_data = dict(case, eigenvalues=None, samples=40)
    ens = _ensemble(case, 4, 0.05, 40, 10, 24, 5, None, dask_client)
    ens_x = _ensemble(on_data, 4, 0.05, 40, 10, 24, 5, str(tmp_path / "x.npy"), dask_client)   # X scattered once
    with pytest.raises(dynamics.DivergenceError, match="every one of the 24 seeds diverged") as info:
        _ensemble(case, 1, 5.0, 200, 200, 24, 5, None, dask_client)         # every part diverges on its worker
    assert 1 <= info.value.step <= 200
    # the seeds a serial run trains, whatever the number of workers: the same statistics to rounding
    here = validation.train_sgd_ensemble(2, 0.05, 40, batch_size=4, seeds=24, seed=5, eigenvalues=[2.0, 0.5, 0.25],
                                         noise_var=0.5, u0=1e-2, record_every=10)
    np.testing.assert_allclose(ens.mean, here.mean, rtol=1e-12)
    here_x = validation.train_sgd_ensemble(2, 0.05, 40, batch_size=4, seeds=24, seed=5, X=X, noise_var=0.5, u0=1e-2,
                                           record_every=10)
    np.testing.assert_allclose(ens_x.mean, here_x.mean, rtol=1e-12)
    np.testing.assert_allclose(ens.std, here.std, rtol=1e-10, atol=1e-15)
    assert np.array_equal(ens.diverged, here.diverged)
    assert ens.diverged.size == 24


def test_a_run_on_dask_workers_computes_each_cells_theory_there_and_keeps_config_order(tmp_path, dask_client):
    """With a client a cell's theory is a task on the workers while the next cells train: every cell still equals
    the theory of its own ensemble (the seeds split over the two workers as _ensemble splits them), in config order."""
    study = parse_sgd(SMALL)
    out = run_sgd_study(study, tmp_path, log=lambda m: None, client=dask_client)
    assert [c["kind"] for c in out["cells"]] == ["curve", "curve", "bound"]
    case = study["cases"][0]
    for c in out["cells"][:2]:
        every = max(c["steps"] // 50, 1)
        ens = _ensemble(case, 4, c["lr"], c["steps"], every, 24, 0, None, dask_client)
        th = validation.run_sgd_theory(ens)
        rows = compare_rows(ens.epochs, c["steps"], 6)
        z = np.abs(ens.mean[rows, :2] - th["mean"][rows, :2]) / ens.se[rows, :2]
        assert c["mode_worst_se"] == pytest.approx(list(z.max(0)), rel=1e-12)
        assert c["curves"]["theory_std"][-1] == pytest.approx(list(th["std"][-1, :2]), rel=1e-12)


def test_a_cell_is_saved_as_soon_as_its_theory_is_in_so_an_interrupted_run_keeps_it(tmp_path, dask_client,
                                                                                      monkeypatch):
    """With a client, curve cells wait for their theory on the workers. Each is saved once its theory is in, not at
    the end: here both theories are in before the bound cell starts, and the bound cell is interrupted."""
    import time as _time
    from lindae.validation.experiments import sgd_study

    real = sgd_study.curve_cell_later

    def later_when_in(*args, **kw):
        out = real(*args, **kw)
        while not out.ready():
            _time.sleep(0.05)
        return out

    def interrupted(*args, **kw):
        raise KeyboardInterrupt
    monkeypatch.setattr(sgd_study, "curve_cell_later", later_when_in)
    monkeypatch.setattr(sgd_study, "bound_cell_later", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sgd_study(parse_sgd(SMALL), tmp_path, log=lambda m: None, client=dask_client)
    assert len(os.listdir(tmp_path / "cells")) == 2


def test_quick_and_report_variants():
    study = parse_sgd({"cases": [{"name": "g", "eigenvalues": [1.0], "hidden": 1, "batch_sizes": [1, 8, 64, 512]},
                                 {"name": "m", "data": "mnist", "hidden": 4, "lrs": ["0.25 bound", "0.9 bound"],
                                  "speed": True},
                                 {"name": "many", "eigenvalues": [1.0], "hidden": 1, "seeds": 1000}]})
    q = quick_sgd(study)
    assert q["cases"][0]["batch_sizes"] == [1, 8] and q["cases"][0]["seeds"] == 60 and "QUICK" in q["title"]
    assert [c["name"] for c in q["cases"]] == ["g"] and q["cases"][0]["time"] == 4.0 and "Gaussian data only" in q["title"]
    r = report_sgd(study)
    assert r["cases"][0]["batch_sizes"] == [1, 8, 64] and r["cases"][1]["lrs"] == ["0.25 bound"]
    assert r["cases"][1]["bound_factors"] == [] and not r["cases"][1]["speed"] and r["cases"][1]["seeds"] == 50
    assert r["cases"][1]["batch_sizes"] == [1, 8] and len(r["cases"]) == 2 and "50 seeds" in r["title"]


def test_the_command_runs_a_config_and_rejects_a_bad_one(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text('seeds = 8\nrecords = 20\ncompare = 4\nbound_factors = []\n[[cases]]\nname = "g"\n'
                   'eigenvalues = [1.0, 0.5]\nhidden = 1\nbatch_sizes = [2]\nlrs = [0.05]\ntime = 1.0\n')
    ok = subprocess.run([sys.executable, "-m", "lindae", "sgd", str(cfg), "--out", str(tmp_path / "o")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "o" / "bands.png").exists()
    for args in ([str(cfg), "--out", str(tmp_path / "o"), "--scheduler", "nowhere"],
                 [str(cfg), "--out", str(tmp_path / "o"), "--workers", "0"]):
        bad = subprocess.run([sys.executable, "-m", "lindae", "sgd", *args], capture_output=True, text=True)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    cfg.write_text('[[cases]]\nname = "g"\nhidden = 1\n')
    bad = subprocess.run([sys.executable, "-m", "lindae", "sgd", str(cfg), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


def test_the_speed_cell_times_all_seeds_against_one_and_gives_the_arithmetic_floor(monkeypatch):
    """Times are per step (the setup outside the clock), the ratio is their quotient, and the floor is the seeds'
    10·B·D·H flops a step at the core's rate (fixed here at 50 GFlop/s) over one seed's step."""
    from lindae.validation import provenance
    from lindae.validation.experiments.sgd_study import _speed
    monkeypatch.setattr(provenance, "machine_speed", lambda: 50.0)
    case = dict(parse_sgd(SMALL)["cases"][0], seeds=6)
    out = _speed(case, 4, 0.05, None, steps=5)
    assert out["step_seconds_all"] > 0 and out["step_seconds_one"] > 0
    assert out["ratio"] == pytest.approx(out["step_seconds_all"] / out["step_seconds_one"], rel=1e-12)
    assert out["ratio_floor"] == pytest.approx(6 * 10 * 4 * 3 * 2 / 50e9 / out["step_seconds_one"], rel=1e-12)


@pytest.mark.parametrize("on_workers", [False, True])
def test_a_cell_whose_every_seed_diverges_is_a_cell_not_an_error(on_workers, request):
    """Far above S4's bound every seed diverges: the curve cell says so and the bound cell counts them all, in this
    process and on Dask workers alike (the seeds are trained when the cell starts, the divergence is reported when it
    is settled)."""
    from lindae.validation.experiments.sgd_study import bound_cell, curve_cell
    client = request.getfixturevalue("dask_client") if on_workers else None
    case = dict(parse_sgd(SMALL)["cases"][0], bound_factors=[0.5, 60.0], time=1000.0, bound_steps=200)
    cell = curve_cell(case, 1, 5.0, client=client)           # 200 steps, as in the test of the split seeds above
    assert cell["all_diverged"] and cell["diverged"] == case["seeds"] and cell["worst_se"] is None
    bound = bound_cell(case, 1, client=client)
    assert bound["diverged"][1] == 1.0 and bound["diverged"][0] < 1.0
