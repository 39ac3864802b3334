"""Config parsing (with a fuzz), script-driven runs: resumable, atomic, reproducible, interruptible."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lindae.validation import ConfigError, parse_config, run_config
from lindae.validation.experiments.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def small_config(path, epochs=60, **train):
    return {"title": "test", "figure": "fig5", "data": {"dataset": "array", "path": str(path)},
            "train": {"hidden": 4, "lr": 0.05, "epochs": epochs, "record_every": 2, "sv_every": 10, **train},
            "report": {"modes": [1, 2, 3]},
            "models": [{"name": "AE"}, {"name": "DAE", "noise_var": 0.3}, {"name": "WDAE", "weight_decay": 0.2}]}


@pytest.fixture
def array_file(tmp_path, synthetic_data):
    path = tmp_path / "x.npy"
    np.save(path, synthetic_data)
    return path


@pytest.mark.parametrize("edit,needle", [
    (lambda c: c["train"].update(lr="fast"), "'lr' must be a number"),
    (lambda c: c["train"].update(lr=-1.0), "'lr' must be > 0"),
    (lambda c: c["train"].update(epochs=1.5), "'epochs' must be an integer"),
    (lambda c: c["train"].update(colour="red"), "unknown key 'colour'"),
    (lambda c: c.update(extra=1), "unknown top-level key 'extra'"),
    (lambda c: c["data"].update(dataset="imagenet"), "must be one of mnist, cifar10, array"),
    (lambda c: c.update(models=[]), "at least one"),
    (lambda c: c["models"].append({"name": "AE"}), "duplicate name"),
    (lambda c: c["models"].append({"noise_var": 1.0}), "'name' is required"),
    (lambda c: c["models"].append({"name": "../x"}), "'name' may hold"),
    (lambda c: c["report"].update(modes=[0]), "mode numbers"),
    (lambda c: c["train"].update(sampled_noise="yes"), "must be a boolean"),
])
def test_bad_configs_name_the_key(tmp_path, edit, needle):
    cfg = small_config(tmp_path / "x.npy")
    edit(cfg)
    with pytest.raises(ConfigError, match=needle):
        parse_config(cfg)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                           lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
                           max_leaves=12)


@pytest.mark.slow
@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(["title", "figure", "data", "train", "report", "models", "x"]), json_values,
                       max_size=6))
def test_fuzzed_configs_raise_only_config_errors(raw):
    try:
        parse_config(raw)
    except ConfigError:
        pass


@pytest.mark.slow
@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(["hidden", "lr", "epochs", "seed", "init", "noise_var", "weight_decay",
                                        "record_every", "init_scale", "name"]),
                       st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4), max_size=5))
def test_fuzzed_model_entries_raise_only_config_errors(entry):
    try:
        parse_config({"data": {"dataset": "mnist"}, "models": [entry]})
    except ConfigError:
        pass


def test_shipped_configs_parse():
    for name in ("fig5_mnist", "fig5_cifar10", "fig6_mnist", "fig6_mnist_full"):
        cfg = load_config(os.path.join(ROOT, "configs", f"{name}.toml"))
        assert cfg.models
    fig5 = load_config(os.path.join(ROOT, "configs", "fig5_mnist.toml"))
    assert [(m.name, m.noise_var, m.weight_decay) for m in fig5.models] == [
        ("AE", 0.0, 0.0), ("WDAE", 0.0, 0.5), ("DAE", 0.5, 0.0)]
    assert all(m.hidden == 256 and m.lr == 0.01 and m.epochs == 5000 for m in fig5.models)


def strip_timings(path):
    with open(path) as fh:
        res = json.load(fh)
    res.pop("timings")
    return res


@pytest.mark.slow
def test_run_writes_results_figure_manifest_and_skips_finished_models(tmp_path, array_file):
    out = tmp_path / "out"
    logs = []
    res = run_config(small_config(array_file), out, log=logs.append)
    for f in ("results.json", "figure.png", "manifest.json", "models/AE.json", "models/DAE.json"):
        assert (out / f).exists(), f
    assert set(res["models"]) == {"AE", "DAE", "WDAE"}
    assert "agreement" in res["models"]["AE"] and len(res["eigenvalues"]) == 12
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"numpy", "git_commit", "python"} <= set(manifest["environment"]) and manifest["seeds"]["AE"] == 0
    logs.clear()
    run_config(small_config(array_file), out, log=logs.append)
    assert sum("skipped" in m for m in logs) == 3
    logs.clear()
    run_config(small_config(array_file), out, log=logs.append, force=True)
    assert sum("skipped" in m for m in logs) == 0
    cfg = small_config(array_file)
    cfg["models"][1]["noise_var"] = 0.4  # a changed model is rerun, the others are kept
    logs.clear()
    run_config(cfg, out, log=logs.append)
    assert sum("skipped" in m for m in logs) == 2


@pytest.mark.slow
def test_same_config_and_seed_give_bitwise_identical_results(tmp_path, array_file):
    run_config(small_config(array_file), tmp_path / "a", log=lambda m: None)
    run_config(small_config(array_file), tmp_path / "b", log=lambda m: None)
    assert strip_timings(tmp_path / "a" / "results.json") == strip_timings(tmp_path / "b" / "results.json")
    a = json.dumps(strip_timings(tmp_path / "a" / "results.json"), sort_keys=True)
    assert a == json.dumps(strip_timings(tmp_path / "b" / "results.json"), sort_keys=True)


@pytest.mark.slow
def test_models_trained_on_dask_workers_equal_the_serial_run(tmp_path, array_file):
    """The concurrent path (each model on a single-threaded worker process) changes nothing beyond rounding,
    keeps the config's model order and hands its trainings to ``shared``."""
    from distributed import Client, LocalCluster
    from lindae.validation.experiments.model_training import SharedTrainings
    serial = run_config(small_config(array_file), tmp_path / "a", log=lambda m: None)
    shared, logs = SharedTrainings(), []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        par = run_config(small_config(array_file), tmp_path / "b", log=logs.append, client=client, shared=shared)
    assert any("concurrently on 2 Dask workers" in m for m in logs)
    assert list(par["models"]) == list(serial["models"]) == ["AE", "DAE", "WDAE"]
    for name in serial["models"]:
        for k, series in serial["models"][name]["series"].items():
            np.testing.assert_allclose(par["models"][name]["series"][k]["actual"], series["actual"], rtol=1e-9, atol=1e-14)
            np.testing.assert_allclose(par["models"][name]["series"][k]["theory"], series["theory"], rtol=1e-9, atol=1e-14)
    assert len(shared._runs) == 3


def relu_config(path, epochs=30):
    return {"title": "relu test", "figure": "fig6", "data": {"dataset": "array", "path": str(path)},
            "train": {"kind": "relu", "hidden": 4, "lr": 0.5, "epochs": epochs, "record_every": 5, "n_modes": 2,
                      "dtype": "float64", "init_scale": 0.1},
            "models": [{"name": "AE"}, {"name": "DAE", "noise_std": 0.5}, {"name": "WDAE", "weight_decay": 0.01}]}


@pytest.mark.slow
def test_configs_started_together_on_workers_equal_their_serial_runs(tmp_path, array_file):
    """start_config submits a config's models (also those that read the data: ReLU, sampled noise) before the one
    started earlier is finished; each finished run equals its serial run up to BLAS rounding (one thread on a worker,
    several here) and keeps the config's model order."""
    from distributed import Client, LocalCluster
    from lindae.validation.experiments.runner import start_config
    configs = {"linear": small_config(array_file), "relu": relu_config(array_file)}
    serial = {k: run_config(c, tmp_path / "serial" / k, log=lambda m: None) for k, c in configs.items()}
    logs = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        started = {k: start_config(c, tmp_path / "par" / k, log=logs.append, client=client) for k, c in configs.items()}
        assert sum("concurrently on 2 Dask workers" in m for m in logs) == 2     # both submitted before either ends
        par = {k: finish() for k, finish in started.items()}
    assert not any("training (relu" in m for m in logs)                         # no model trained in this process
    for k in configs:
        assert list(par[k]["models"]) == list(serial[k]["models"]) == ["AE", "DAE", "WDAE"]
        for name, model in serial[k]["models"].items():
            assert model["series"]
            for key, series in model["series"].items():
                for field, values in series.items():     # measured and predicted curves (ReLU: m_i)
                    # 1e-9: rounding of 30 (linear: 60) GD steps in float64 under another BLAS summation order
                    np.testing.assert_allclose(par[k]["models"][name]["series"][key][field], values, rtol=1e-9, atol=1e-12)


def test_shared_trainings_serve_a_coarser_grid_exactly_and_nothing_else(tmp_path, synthetic_data):
    """A training kept by SharedTrainings serves the same model on a coarser grid with exactly the rows a fresh
    run records, and never a model whose trajectory differs or whose grid it did not record."""
    import dataclasses
    from lindae.validation import compute_spectrum
    from lindae.validation.experiments.config import LinearModel
    from lindae.validation.experiments.model_training import SharedTrainings, train_model
    spec = compute_spectrum(synthetic_data)
    fine = LinearModel(name="a", hidden=4, lr=0.05, epochs=60, seed=0, record_every=2, sv_every=10, init="random",
                       init_scale=1e-3, noise_var=0.3)
    shared = SharedTrainings()
    train_model(fine, None, spec, shared=shared)
    coarse = dataclasses.replace(fine, name="b", record_every=6, sv_every=30)
    got, fresh = shared.get(coarse, spec), train_model(coarse, None, spec)
    np.testing.assert_array_equal(got.epochs, fresh.epochs)
    np.testing.assert_array_equal(got.strengths, fresh.strengths)
    np.testing.assert_array_equal(got.sv_epochs, fresh.sv_epochs)
    np.testing.assert_array_equal(got.singular_values, fresh.singular_values)
    assert got.config["record_every"] == 6 and got.config["name"] == "b"
    for other in (dataclasses.replace(fine, seed=1), dataclasses.replace(fine, noise_var=0.2),
                  dataclasses.replace(fine, record_every=3), dataclasses.replace(fine, epochs=61)):
        assert shared.get(other, spec) is None
    assert shared.served == 1


@pytest.mark.slow
def test_divergent_model_is_reported_and_the_others_still_run(tmp_path, array_file):
    from lindae.validation import RunFailed
    cfg = small_config(array_file)
    cfg["models"][0]["lr"] = 5.0
    cfg["models"][0]["init_scale"] = 0.1
    with pytest.raises(RunFailed, match="AE: training diverged .* stability bound"):
        run_config(cfg, tmp_path / "o", log=lambda m: None)
    ae = json.loads((tmp_path / "o" / "models" / "AE.json").read_text())
    assert ae["status"] == "diverged" and "stability bound" in ae["error"]
    assert json.loads((tmp_path / "o" / "models" / "DAE.json").read_text())["status"] == "finished"


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "lindae", *args], capture_output=True, text=True, cwd=ROOT, **kw)


@pytest.mark.slow
def test_sigterm_leaves_no_partial_files_and_a_rerun_resumes(tmp_path, array_file):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'figure = "fig5"\n[data]\ndataset = "array"\npath = "{array_file}"\n'
                   '[train]\nhidden = 4\nlr = 0.01\nepochs = 60\n[report]\nmodes = [1, 2]\n'
                   '[[models]]\nname = "fast"\n[[models]]\nname = "slow"\nepochs = 3000000\n')
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "lindae", "run", str(cfg), "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "models" / "fast.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "rerun the same command to resume" in err and "Traceback" not in err
    left = [p.name for p in out.rglob("*")]
    assert not any(n.endswith(".tmp") for n in left), left
    json.loads((out / "models" / "fast.json").read_text())  # complete
    assert not (out / "models" / "slow.json").exists()
    cfg.write_text(cfg.read_text().replace("epochs = 3000000", "epochs = 50"))
    rerun = cli("run", str(cfg), "--out", str(out), timeout=300)
    assert rerun.returncode == 0 and "model fast: finished earlier, skipped" in rerun.stdout


@pytest.mark.slow
@pytest.mark.parametrize("args,needle", [
    (("run", "/nonexistent.toml", "--out", "/tmp/o"), "config file not found"),
    (("run", os.path.join(ROOT, "configs", "fig5_cifar10.toml"), "--out", "/tmp/o"), "data_batch_1"),
    (("run",), "required"),
    (("fetch", "imagenet"), "invalid choice"),
    (("reproduce", "--out", "/proc/x/y"), "cannot create"),
])
def test_cli_errors_are_one_line_exit_2(args, needle):
    proc = cli(*args, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_rejects_bad_toml_and_non_array_data(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nlr = ")
    proc = cli("run", str(bad), "--out", str(tmp_path / "o"), timeout=60)
    assert proc.returncode == 2 and "not valid TOML" in proc.stderr
    notarray = tmp_path / "d.npy"
    notarray.write_text("just text")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\ndataset = "array"\npath = "{notarray}"\n[[models]]\nname = "a"\n')
    proc = cli("run", str(cfg), "--out", str(tmp_path / "o"), timeout=60)
    assert proc.returncode == 2 and "not a .npy/.npz" in proc.stderr


@pytest.mark.slow
def test_cli_help_everywhere():
    for args in ((), ("run",), ("fetch",), ("reproduce",)):
        proc = cli(*args, "--help", timeout=60)
        assert proc.returncode == 0 and "usage" in proc.stdout


@pytest.mark.slow
def test_a_deep_config_runs_against_d2_and_d9(tmp_path, array_file):
    cfg = small_config(array_file)
    cfg.update(figure="depth")
    cfg["train"] = {"depth": 3, "hidden": 4, "lr": 0.05, "epochs": 400, "record_every": 10, "init_scale": 0.05,
                    "u0": 1e-2}
    cfg["models"] = [{"name": "aligned", "init": "aligned", "noise_var": 0.2}, {"name": "random"}]
    cfg["report"] = {"modes": [1, 2]}
    res = run_config(cfg, tmp_path / "out", log=lambda m: None)
    aligned, random = res["models"]["aligned"], res["models"]["random"]
    assert aligned["depth"] == 3 and "D2" in aligned["theory"] and "D9" in random["theory"]
    assert max(v["max_abs"] for v in aligned["agreement"]["deep_discrete"].values()) < 1e-12
    assert aligned["agreement"]["all_modes"]["max_abs"] < 1e-12
    assert set(random["series"]) == {"1", "2"}
    assert (tmp_path / "out" / "figure.png").stat().st_size > 10000
    bad = small_config(array_file)
    bad["train"].pop("sv_every")
    bad["models"] = [{"name": "r", "kind": "relu", "depth": 3}]
    with pytest.raises(ConfigError, match="'depth' does not apply to a relu model"):
        run_config(bad, tmp_path / "bad", log=lambda m: None)
    bad["models"] = [{"name": "minibatched", "depth": 3, "sampled_noise": True, "batch_size": 8}]
    with pytest.raises(ConfigError, match="depth = 3 needs full-batch"):
        run_config(bad, tmp_path / "bad", log=lambda m: None)


@pytest.mark.slow
@pytest.mark.parametrize("kind,key,value", [("relu", "noise_var", 4.0), ("relu", "init", "aligned"),
                                            ("relu", "sampled_noise", True), ("linear", "noise_std", 2.0),
                                            ("linear", "dtype", "float64"), ("linear", "n_modes", 3)])
def test_a_key_of_another_kind_fails_at_load_time_naming_key_file_and_kind(tmp_path, kind, key, value):
    path = tmp_path / "c.toml"
    value_text = str(value).lower() if isinstance(value, bool) else repr(value).replace("'", '"')
    path.write_text(f'[data]\ndataset = "array"\npath = "x.npy"\n\n[[models]]\nname = "m"\nkind = "{kind}"\n'
                    f"{key} = {value_text}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and f"'{key}'" in msg and f"a {kind} model" in msg
    proc = cli("run", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and f"'{key}'" in proc.stderr
    assert not (tmp_path / "out" / "models").exists()       # nothing trained, nothing written


@pytest.mark.slow
def test_a_misspelt_key_fails_naming_the_key_and_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[data]\ndataset = "array"\npath = "x.npy"\n\n[[models]]\nname = "m"\nnoise_variance = 0.5\n')
    proc = cli("run", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "unknown key 'noise_variance'" in proc.stderr and str(path) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_an_installed_copy_records_the_commit_of_the_checkout_it_runs_in(tmp_path, monkeypatch):
    """A non-editable install lives in no checkout; its manifests name the working directory's lindae commit,
    marked as such, and 'unknown' anywhere else."""
    from lindae.validation import provenance
    real = provenance._commit_of
    here = os.path.dirname(os.path.abspath(provenance.__file__))
    monkeypatch.setattr(provenance, "_commit_of", lambda folder: None if folder == here else real(folder))
    monkeypatch.chdir(ROOT)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert provenance.git_commit().split("+")[0].split(" ")[0] == sha
    assert provenance.git_commit().endswith("(working directory)")
    monkeypatch.chdir(tmp_path)
    assert provenance.git_commit() == "unknown"


def test_reproduce_runs_serially_when_no_local_cluster_starts(monkeypatch):
    from lindae.validation.experiments import cluster
    from lindae.validation.report import reproduce

    def refuse(workers=None):
        raise OSError("no free port")
    monkeypatch.setattr(cluster, "local_client", refuse)
    monkeypatch.setattr(reproduce.os, "cpu_count", lambda: 2)
    logs = []
    assert reproduce._local_client(logs.append) is None
    assert "every part runs in this process" in logs[0] and "no free port" in logs[0]


def test_a_full_run_redoes_the_derivations_of_a_quick_run(tmp_path):
    """A quick run checks each result's numerics at one point; a full run into the same folder must not reuse that."""
    import json
    from lindae.validation.report.reproduce import _derivations_due
    assert _derivations_due(tmp_path, 3, pdf_ok=False)                     # nothing there yet
    (tmp_path / "derivations.tex").write_text("x")
    rows = [{"number": "R1", "name": "noise_marginalisation", "ok": True, "seconds": 0.1, "numeric_points": 1}]
    (tmp_path / "derivations.json").write_text(json.dumps(rows))
    assert not _derivations_due(tmp_path, 1, pdf_ok=False)                 # a quick rerun keeps the quick checks
    assert _derivations_due(tmp_path, 3, pdf_ok=False)                     # a full run redoes them
    assert _derivations_due(tmp_path, 1, pdf_ok=True)                      # the PDF is missing
    rows[0]["numeric_points"] = 3
    (tmp_path / "derivations.json").write_text(json.dumps(rows))
    assert not _derivations_due(tmp_path, 3, pdf_ok=False)


def _worker_settings(keys, env_keys):
    import dask
    return [dask.config.get(k) for k in keys], [os.environ.get(k) for k in env_keys]


def test_the_local_cluster_workers_get_the_allocator_and_the_lean_dask_settings(monkeypatch):
    """The settings reach the worker processes (they are spawned with a copy of the config), not only this one.
    A variable set in this process's environment wins over the config (distributed's rule, so a user can override
    it), and a process cluster started earlier in this process leaves distributed's value there: cleared here."""
    from lindae.validation.experiments.cluster import LEAN_CLUSTER, WORKER_ALLOCATOR, local_client
    for key in WORKER_ALLOCATOR:
        monkeypatch.delenv(key, raising=False)
    client = local_client(1)
    try:
        (config, env), = client.run(_worker_settings, list(LEAN_CLUSTER), list(WORKER_ALLOCATOR)).values()
        saturation = client.cluster.scheduler.WORKER_SATURATION     # the scheduler's, in this process
    finally:
        client.close()
        client.cluster.close()
    assert saturation == LEAN_CLUSTER["distributed.scheduler.worker-saturation"] == 1.0
    assert config == list(LEAN_CLUSTER.values())
    assert env == list(WORKER_ALLOCATOR.values())
    assert LEAN_CLUSTER["distributed.worker.profile.enabled"] is False
