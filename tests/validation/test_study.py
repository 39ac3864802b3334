"""R15 against real training on small synthetic problems, and the study command."""
import json
import subprocess
import sys

import numpy as np
import pytest

from lindae.dynamics import fixed_point
from lindae.validation import train_linear_ae
from lindae.validation.experiments.config import ConfigError
from lindae.validation.experiments.study import BOUND, exact_data, parse_study, spectrum_values
from lindae.validation.theory import VARIANTS, run_theory

LAM = 3 * np.arange(1, 41) ** -0.8          # a power law, D = 40, trained with H = 12 (capacity limit)


@pytest.fixture(scope="module")
def data():
    return exact_data(LAM)


def test_exact_data_has_exactly_the_spectrum(data):
    lam = np.linalg.eigvalsh(data.T @ data / len(data))[::-1]
    np.testing.assert_allclose(lam, LAM, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_r15_meets_the_acceptance_bound_for_the_dae(data, seed):
    """The issue's bound (0.05, not today's output) over every mode <= H; the per-mode variants miss it."""
    r = train_linear_ae(data, 12, 0.1, 800, noise_var=0.5, init_scale=1e-4, seed=seed, record_every=5)
    worst = {v: np.max(np.abs(r.strengths[:, :12] - run_theory(r, theory=v)[:, :12])) for v in VARIANTS}
    assert worst["coupled"] <= BOUND
    assert worst["effective"] > BOUND and worst["shared"] > BOUND


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_r15_predicts_which_modes_are_learned_at_the_capacity_limit(data, seed):
    """Plain AE at H = 12 of D = 40: the set of modes past u*/2 at the end, measured and predicted, is the same
    (for seed 3 mode 13 is learned instead of mode 12; R14 per mode predicts modes 1-12 for every seed)."""
    r = train_linear_ae(data, 12, 0.1, 800, init_scale=1e-4, seed=seed, record_every=5)
    theory = run_theory(r)
    half = float(fixed_point(1.0)) / 2
    assert set(np.flatnonzero(r.strengths[-1] > half)) == set(np.flatnonzero(theory[-1] > half))


GEOMETRIC = {"kind": "geometric", "D": 40, "top": 4.0, "bottom": 0.3}
PAIRS = {"kind": "pairs", "D": 40, "top": 4.0, "bottom": 0.3, "gap": 1e-3}


@pytest.mark.parametrize("spectrum, basis, seed, noise_var", [(GEOMETRIC, 109, 1, 0.0), (PAIRS, 104, 1, 0.0),
                                                              (GEOMETRIC, 104, 1, 0.5), (PAIRS, 105, 2, 0.5)])
def test_r15_hands_over_to_the_balanced_flow_at_the_capacity_limit(spectrum, basis, seed, noise_var):
    """The issue's bound (0.05) over every mode <= H, on the draws of configs/random_init_draws.toml that the
    old time warp missed worst; the closed form alone (no hand-over) misses them by far."""
    data = exact_data(spectrum_values(spectrum), seed=basis)
    r = train_linear_ae(data, 12, 0.05, 2000, noise_var=noise_var, init_scale=1e-4, seed=seed, record_every=5)

    def worst(theory):
        return np.max(np.abs(r.strengths[:, :12] - theory[:, :12]))
    assert worst(run_theory(r)) <= BOUND
    assert worst(run_theory(r, balanced=False)) > 2 * BOUND


def test_spectra_and_config_errors():
    pairs = spectrum_values({"kind": "pairs", "D": 6, "top": 4.0, "bottom": 1.0, "gap": 1e-3})
    np.testing.assert_allclose(pairs[1::2] / pairs[::2], 1 - 1e-3)
    with pytest.raises(ConfigError, match="kind"):
        spectrum_values({"kind": "flat", "D": 3})
    with pytest.raises(ConfigError, match="hidden"):
        parse_study({"cases": [{"name": "x", "spectrum": {"kind": "geometric", "D": 4, "top": 2.0, "bottom": 1.0},
                                "hidden": 5, "lr": 0.1, "epochs": 10, "models": [{"name": "AE"}]}]})


@pytest.mark.slow
def test_study_command_writes_and_resumes(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text('seeds = [0]\ninit_scales = [1e-4]\n[[cases]]\nname = "geo"\n'
                   'spectrum = { kind = "geometric", D = 8, top = 3.0, bottom = 0.5 }\n'
                   'hidden = 3\nlr = 0.1\nepochs = 300\nmodels = [{ name = "AE" }, { name = "DAE", noise_var = 0.5 }]\n')
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "lindae", "study", str(cfg), "--out", str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    study = json.loads((out / "study.json").read_text())
    assert len(study["cells"]) == 2 and {c["model"] for c in study["cells"]} == {"AE", "DAE"}
    assert all(set(c["errors"]) == set(VARIANTS) for c in study["cells"])
    assert (out / "study.png").stat().st_size > 10_000 and (out / "table.csv").read_text().count("\n") == 3
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0 and "R15 worst" not in again.stdout        # every cell was skipped
    bad = subprocess.run([sys.executable, "-m", "lindae", "study", str(tmp_path / "none.toml"), "--out", str(out)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_discordant_pairs_and_their_gap():
    from lindae.validation.experiments.study import discordant, learning_order
    actual, predicted = {1: 10.0, 2: 20.0, 3: 30.0, 4: 50.0}, {1: 11.0, 2: 31.0, 3: 30.0}
    assert learning_order(predicted) == [1, 3, 2]
    assert discordant(actual, predicted, [1, 2, 3, 4]) == [[2, 3, 10.0]]
    assert discordant(actual, actual, [1, 2, 3, 4]) == []


def test_bases_and_the_reports_reduced_study():
    """`bases` builds a synthetic case in several random eigenbases (not allowed for MNIST), and the full
    report's study keeps every synthetic cell and MNIST only at seed 0 and the paper's scale, saying so."""
    from lindae.configs import config_path
    from lindae.validation.experiments.study import load_study, report_study, run_study
    draws = load_study(config_path("random_init_draws"))
    assert [len(c["bases"]) * len(c["seeds"]) * len(c["models"]) for c in draws["cases"]] == [60, 60, 60]
    case = {"name": "x", "spectrum": {"kind": "geometric", "D": 4, "top": 2.0, "bottom": 1.0}, "hidden": 2, "lr": 0.1,
            "epochs": 10, "models": [{"name": "AE"}]}
    for bad in ([], [-1], "3"):
        with pytest.raises(ConfigError, match="bases"):
            parse_study({"cases": [dict(case, bases=bad)]})
    with pytest.raises(ConfigError, match="synthetic"):
        parse_study({"cases": [{"name": "m", "data": "mnist", "hidden": 2, "lr": 0.1, "epochs": 10,
                                "models": [{"name": "AE"}], "bases": [1]}]})
    full = load_study(config_path("random_init_study"))
    rep = report_study(full)
    mnist = [c for c in rep["cases"] if c["data"] == "mnist"]
    assert [(c["seeds"], c["init_scales"]) for c in mnist] == [([0], [1e-4])]
    assert [c for c in rep["cases"] if c["data"] is None] == [c for c in full["cases"] if c["data"] is None]
    assert "seed 1 at 0.0001" in rep["title"] and "large start: seed 0 at 0.01" in rep["title"]


def test_a_basis_changes_the_data_and_is_recorded(tmp_path):
    from lindae.validation.experiments.study import run_study
    study = parse_study({"seeds": [0], "init_scales": [1e-4], "cases": [
        {"name": "geo", "spectrum": {"kind": "geometric", "D": 6, "top": 3.0, "bottom": 0.5}, "hidden": 2, "lr": 0.1,
         "epochs": 100, "models": [{"name": "AE"}], "bases": [1, 2]}]})
    out = run_study(study, tmp_path / "s", log=lambda m: None)
    a, b = out["cells"]
    assert (a["basis"], b["basis"]) == (1, 2)
    assert a["errors"]["coupled"]["worst"] != b["errors"]["coupled"]["worst"]


def test_synthetic_cells_on_dask_workers_equal_the_serial_ones(tmp_path, dask_client):
    """The synthetic cells of a study run side by side on workers give the same cells, in config order."""
    from lindae.validation.experiments.study import run_study
    study = parse_study({"seeds": [0, 1], "init_scales": [1e-4], "cases": [
        {"name": "geo", "spectrum": {"kind": "geometric", "D": 6, "top": 3.0, "bottom": 0.5}, "hidden": 2, "lr": 0.1,
         "epochs": 100, "models": [{"name": "AE"}, {"name": "DAE", "noise_var": 0.5}], "bases": [1, 2]}]})
    serial = run_study(study, tmp_path / "a", log=lambda m: None)
    lines = []
    remote = run_study(study, tmp_path / "b", log=lines.append, client=dask_client)
    assert any("8 cells side by side" in m for m in lines)
    assert len(remote["cells"]) == 8
    for a, b in zip(serial["cells"], remote["cells"]):
        assert (a["model"], a["seed"], a["basis"]) == (b["model"], b["seed"], b["basis"])
        assert a["errors"]["coupled"]["worst"] == pytest.approx(b["errors"]["coupled"]["worst"], rel=1e-9)


def test_a_cell_trained_earlier_travels_to_its_worker_with_the_cell(dask_client):
    """An MNIST cell whose training the report's Figure 5 ran is computed on a worker from that training (sent along
    in a one-run SharedTrainings), not retrained. To tell the two apart, the kept training is seed 1's, filed
    under seed 0: the worker's cell is then seed 1's."""
    from lindae.validation.experiments.model_training import SharedTrainings, train_model
    from lindae.validation.experiments.study import _cell_on_worker, _served, cell_model, run_cell
    from lindae.validation.data.spectrum import compute_spectrum
    case = parse_study({"cases": [{"name": "m", "spectrum": {"kind": "geometric", "D": 6, "top": 3.0, "bottom": 0.5},
                                   "hidden": 2, "lr": 0.1, "epochs": 60, "models": [{"name": "AE"}]}]})["cases"][0]
    case = dict(case, data="mnist")            # a data case (only such cells are served); the spectrum is synthetic
    model, spec = case["models"][0], compute_spectrum(exact_data(np.geomspace(3.0, 0.5, 6)))
    shared = SharedTrainings()
    shared.put(cell_model(case, model, 0, 1e-4), spec, train_model(cell_model(case, model, 1, 1e-4), None, spec))
    served = _served(shared, case, model, 0, 1e-4, spec)
    assert shared.served == 1 and _served(shared, case, model, 2, 1e-4, spec) is None      # another seed: not served
    remote = dask_client.submit(_cell_on_worker, case, model, 0, 1e-4, spec, False, None, served).result()
    assert remote["errors"] == run_cell(case, model, 1, 1e-4, spec)["errors"]
    assert remote["errors"] != run_cell(case, model, 0, 1e-4, spec)["errors"]


def test_the_study_command_rejects_a_bad_scheduler(tmp_path):
    import subprocess
    import sys
    for args in (["--scheduler", "nowhere"], ["--scheduler", "local", "--workers", "0"]):
        bad = subprocess.run([sys.executable, "-m", "lindae", "study", "random_init_study.toml", "--out",
                              str(tmp_path / "o"), *args], capture_output=True, text=True)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "o").exists()


def test_a_cell_whose_training_is_shared_goes_to_the_workers_when_it_is_shared(tmp_path, dask_client, monkeypatch):
    """start_study queues the synthetic cells at once and holds an MNIST cell back until ``submit_served`` finds its
    training in ``shared`` (the report calls it as its parts end). The cell must leave with the training it found then:
    the kept training is seed 1's filed under seed 0 and is withdrawn before the study is finished, so a cell sent
    only at the finish would train seed 0 itself."""
    from lindae.validation.experiments import study as study_module
    from lindae.validation.experiments.model_training import SharedTrainings, train_model
    from lindae.validation.data.spectrum import compute_spectrum
    raw = {"seeds": [0], "init_scales": [1e-4], "cases": [
        {"name": "geo", "spectrum": {"kind": "geometric", "D": 6, "top": 3.0, "bottom": 0.5}, "hidden": 2, "lr": 0.1,
         "epochs": 60, "models": [{"name": "AE"}]}]}
    study = parse_study(raw)
    case = dict(study["cases"][0], name="m", data="mnist")       # a data case; its spectrum is synthetic here
    study["cases"].append(case)
    spec = compute_spectrum(exact_data(np.geomspace(3.0, 0.5, 6)))
    real = study_module._case_spectrum
    monkeypatch.setattr(study_module, "_case_spectrum",
                        lambda c, log, basis=study_module.DEFAULT_BASIS: spec if c["data"] else real(c, log, basis))
    model, shared = case["models"][0], SharedTrainings()
    finish = study_module.start_study(study, tmp_path, log=lambda m: None, shared=shared, client=dask_client)
    finish.submit_served()                                      # nothing shared yet: the MNIST cell waits
    shared.put(study_module.cell_model(case, model, 0, 1e-4), spec,
               train_model(study_module.cell_model(case, model, 1, 1e-4), None, spec))
    finish.submit_served()                                      # now it leaves, with seed 1's training
    shared._runs.clear()
    out = finish()
    mnist = next(c for c in out["cells"] if c["case"] == "m")
    assert mnist["errors"] == study_module.run_cell(case, model, 1, 1e-4, spec)["errors"]
    assert mnist["errors"] != study_module.run_cell(case, model, 0, 1e-4, spec)["errors"]
