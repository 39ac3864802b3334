"""The finite-data study on generated data: one held-out cell against G1-G5, a spiked population against the curve
predicted from its spectrum alone, resumable output, one-line config errors and the command."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lindae.validation.experiments.config import ConfigError
from lindae.validation.experiments.generalisation_study import (BOUNDS, held_out_cell, parse_generalisation,
                                                                  population_cell, population_values, quick_generalisation,
                                                                  run_generalisation)

POP = 3.0 * np.arange(1, 21) ** -0.9                    # a power-law population, D = 20


def _case(**kw):
    raw = {"cases": [dict({"name": "t", "population": {"kind": "spiked", "D": 100, "spikes": [4.0]}, "sizes": [200]},
                          **kw)]}
    return parse_generalisation(raw)["cases"][0]


@pytest.fixture(scope="module")
def cell():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, POP.size)) * np.sqrt(POP)          # N = 60 < a few D: visible overfitting
    X_test = rng.standard_normal((20_000, POP.size)) * np.sqrt(POP)
    case = dict(_case(), lr=0.05, epochs=400, record_every=5, noises=[0.05, 0.2, 0.5, 1.0, 2.0],
                decays=[0.02, 0.05, 0.1, 0.2, 0.5])
    return held_out_cell(case, X, X_test, 8)


def test_aligned_runs_match_their_theory_to_the_acceptance_bound(cell):
    assert cell["aligned_worst_relative_gap"] <= BOUNDS["aligned_relative_gap"]
    for m in cell["models"].values():
        assert len(m["measured"]["test_error"]) == len(m["epochs"]) == 81


def test_the_random_start_stays_inside_its_bound(cell):
    assert cell["random"]["within_bound"]


def test_best_epochs_and_grid_optima_agree(cell):
    """The AE judged at test noise overfits (an interior best epoch), and the prediction finds it to within one
    recorded epoch; each grid's best is within one grid step of the measured best (the issue's bound)."""
    ae = cell["ae_at_test_noise"]
    assert 0 < ae["best_epoch_measured"] < 400
    assert abs(ae["best_epoch_measured"] - ae["best_epoch_predicted"]) <= 5
    for family in ("noise", "decay"):
        assert cell[family]["grid_steps_apart"] <= BOUNDS["grid_steps"]


def test_g3_times_each_overshooting_mode(cell):
    """Every mode that passes its best value does so at G3's time, to within one recorded epoch (the resolution)."""
    o = cell["overshoot"]
    assert o["modes"], "no DAE mode overshoots in this setting"
    assert o["worst_epochs_apart"] <= o["record_every"]


def test_the_spiked_population_predicts_the_mean_curve():
    """D = 200, N = 400, 8 draws: the curve from the population alone is within 2 % (the issue's bound) of the mean
    measured one at every epoch, over all modes and over the H learned ones."""
    case = dict(_case(), population={"kind": "spiked", "D": 200, "spikes": [5.0]}, draws=8, lr=0.05, epochs=300,
                record_every=10)
    out = population_cell(case, 400, 16)
    e = out["population_relative_error"]
    assert max(e["test"], e["train"], e["learned"]) <= BOUNDS["population_relative"]
    sp = out["spikes"][0]
    assert sp["lam_hat_mean"] == pytest.approx(sp["lam_hat_limit"], rel=0.05)   # 8 draws at D = 200: a looser 5 %


@pytest.mark.parametrize("raw, message", [
    ({"cases": [{"name": "x", "sizes": [10]}]}, "data = \"mnist\" or a population"),
    ({"cases": [3]}, "cases[0] must be a table, got int"),
    ({"cases": [{"name": "x", "data": "mnist", "sizes": [10], "bogus": 1}]}, "unknown key(s) bogus"),
    ({"cases": [{"name": "x", "population": {"kind": "flat", "D": 5}, "sizes": [10]}]}, "'kind' must be one of"),
    ({"cases": [{"name": "x", "population": {"kind": "power", "D": 5, "scale": 1, "exponent": 1}, "sizes": [10],
                 "hidden": [6]}]}, "exceeds D = 5"),
    ({"cases": [{"name": "x", "data": "mnist", "sizes": [0]}]}, "'sizes' must be a non-empty list of integers > 0"),
    ({"lr": -1, "cases": [{"name": "x", "data": "mnist", "sizes": [10]}]}, "'lr' must be a number > 0"),
])
def test_config_errors_name_the_problem(raw, message):
    with pytest.raises(ConfigError, match=None) as info:
        parse_generalisation(raw)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_population_values():
    np.testing.assert_allclose(population_values({"kind": "power", "D": 4, "scale": 2.0, "exponent": 1.0}),
                               [2.0, 1.0, 2 / 3, 0.5])
    assert list(population_values({"kind": "spiked", "D": 4, "spikes": [3.0, 9.0], "bulk": 0.5})) == [9, 3, 0.5, 0.5]


def test_a_run_writes_its_files_and_resumes(tmp_path):
    study = parse_generalisation({"cases": [{"name": "spiked", "population": {"kind": "spiked", "D": 60,
                                                                               "spikes": [4.0]},
                                             "sizes": [120], "hidden": [8], "draws": 2, "epochs": 100,
                                             "record_every": 10}]})
    lines = []
    out = run_generalisation(study, tmp_path, log=lines.append)
    assert {"cells", "generalisation.json", "curves.png", "manifest.json"} <= set(os.listdir(tmp_path))
    assert json.loads((tmp_path / "generalisation.json").read_text())["cells"] == out["cells"]
    run_generalisation(study, tmp_path, log=lines.append)
    assert "finished earlier, skipped" in lines[-1]
    run_generalisation(study, tmp_path, log=lines.append, force=True)
    assert "skipped" not in lines[-1]


def test_quick_keeps_the_cases_small():
    study = parse_generalisation({"hidden": [64, 256], "cases": [
        {"name": "m", "data": "mnist", "sizes": [500, 2000]},
        {"name": "s", "population": {"kind": "spiked", "D": 1000, "spikes": [4.0]}, "sizes": [2000], "draws": 20}]})
    q = quick_generalisation(study)
    assert q["cases"][0]["sizes"] == [500] and q["cases"][0]["hidden"] == [32]
    assert q["cases"][1]["population"]["D"] == 200 and q["cases"][1]["draws"] == 4 and "QUICK" in q["title"]


def test_the_command_runs_a_config_and_rejects_a_bad_one(tmp_path):
    cfg = tmp_path / "g.toml"
    cfg.write_text('epochs = 60\nrecord_every = 10\nhidden = [4]\n[[cases]]\nname = "p"\n'
                   'population = { kind = "power", D = 12, scale = 2.0, exponent = 1.0 }\nsizes = [40]\ndraws = 2\n')
    ok = subprocess.run([sys.executable, "-m", "lindae", "generalisation", str(cfg), "--out", str(tmp_path / "o")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "o" / "curves.png").exists()
    cfg.write_text('[[cases]]\nname = "p"\nsizes = [40]\n')
    bad = subprocess.run([sys.executable, "-m", "lindae", "generalisation", str(cfg), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


def test_cells_on_dask_workers_equal_the_serial_ones(tmp_path, dask_client):
    """Two population cells side by side on a local cluster give the serial run's numbers (same seeds)."""
    study = parse_generalisation({"epochs": 80, "record_every": 10, "hidden": [4], "cases": [
        {"name": "p", "population": {"kind": "spiked", "D": 30, "spikes": [3.0]}, "sizes": [60, 90], "draws": 2}]})
    serial = run_generalisation(study, tmp_path / "serial", log=lambda m: None)
    lines = []
    parallel = run_generalisation(study, tmp_path / "dask", log=lines.append, client=dask_client)
    assert any("side by side" in line for line in lines)
    for a, b in zip(serial["cells"], parallel["cells"]):
        np.testing.assert_allclose(a["measured"]["test_denoising_error"], b["measured"]["test_denoising_error"],
                                   rtol=1e-12)
