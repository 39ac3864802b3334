"""Figure 6 against the authors' curves: the reference files and the comparison."""
import numpy as np

from lindae.validation.report.authors import AUTHORS, FULL_RUN, authors_curves, comparison_rows, curves, load_json
from lindae.validation.experiments.config import load_config
from lindae.configs import config_path


def test_authors_file_is_their_three_models_every_ten_epochs_with_provenance():
    a = load_json(AUTHORS)
    assert len(a["source"]["commit"]) == 40 and "MIT" in a["source"]["license"]
    assert a["epochs"] == list(range(0, 2000, 10))          # their placeholder row of zeros is dropped
    assert sorted(a["models"]) == ["AE", "DAE", "WDAE"]
    assert all(sorted(m) == ["1", "2", "3", "4"] and all(len(v) == 200 for v in m.values()) for m in a["models"].values())


def test_committed_full_run_is_the_full_config():
    full = load_json(FULL_RUN)
    cfg = load_config(config_path("fig6_mnist_full"))
    from lindae.validation.experiments.config import LinearModel, model_fields
    assert len(full["config"]["models"]) == len(cfg.models) and full["n_samples"] == cfg.data.n_samples == 50000
    linear_defaults = {f.name: f.default for f in model_fields("linear").values()}
    for ran, model in zip(full["config"]["models"], cfg.models):
        now = model.to_dict()
        # the run was recorded before the typed configs: every kind's keys, and the ReLU init under its old name
        ran = {k: v for k, v in ran.items() if k != "init_scale"} | {"init_scale": ran["init_std"]}
        ran.pop("init_std")
        assert {k: ran[k] for k in now if k in ran} == {k: now[k] for k in now if k in ran}   # the run's settings
        assert all(now[k] == model_fields(model.kind)[k].default for k in set(now) - set(ran) - {"kind"})  # added since
        # the run recorded the keys of every kind (the old merged schema); those of the linear kind were unused defaults
        assert all(ran[k] == linear_defaults[k] for k in set(ran) - set(now)), LinearModel
    assert sorted(full["models"]) == ["AE", "DAE", "WDAE"]
    assert all(m["status"] == "finished" and m["epochs"][-1] == 2000 for m in full["models"].values())


def test_comparison_rows_from_curves_with_known_half_times():
    ep = np.arange(0, 101, 10)
    ramp = np.minimum(ep / 50.0, 1.0) * 0.8            # final 0.8, half (0.4) at epoch 25
    late = np.minimum(ep / 100.0, 1.0) * 0.5           # final 0.5, half at epoch 50
    ours = {"AE": (ep, {"1": ramp})}
    theirs = authors_curves({"epochs": ep.tolist(), "models": {"AE": {"1": late.tolist()}, "DAE": {"1": late.tolist()}}})
    (row,) = comparison_rows(ours, theirs)
    assert row["model"] == "AE" and row["mode"] == 1
    assert abs(row["final_gap"] - 0.3) < 1e-12 and abs(row["half_ours"] - 25) < 1e-9 and abs(row["half_authors"] - 50) < 1e-9
    assert curves({"models": {"X": {"epochs": [0, 1], "series": {"1": {"m": [0, 1]}}}}})["X"][1]["1"][-1] == 1
