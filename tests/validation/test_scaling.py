"""Beyond one machine: streamed second moments and sweeps, on the real Dask engine (in-process and
with a real scheduler and two worker processes on 127.0.0.1)."""
import csv
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from lindae.validation.data.stream import load_spectrum_file, streaming_moments
from lindae.validation.experiments.sweep import load_sweep, parse_sweep, run_sweep

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "lindae", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    """Power-law spectrum, D = 24, float32 on disk, with a large mean (centring must not cancel)."""
    d = tmp_path_factory.mktemp("scaling")
    rng = np.random.default_rng(1)
    D = 24
    lam = 3 * np.arange(1, D + 1) ** -0.8
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    Z = rng.standard_normal((6000, D))
    X = ((Z * np.sqrt(lam)) @ Q.T + 0.5).astype(np.float32)
    path = d / "X.npy"
    np.save(path, X)
    return path


def _numpy_moments(X, center=False):
    X = np.asarray(X, dtype=np.float64)
    if center:
        X = X - X.mean(axis=0)
    return X.T @ X / len(X)


@pytest.mark.slow
@pytest.mark.parametrize("center", [False, True])
def test_streamed_second_moment_matches_numpy_on_a_file_larger_than_a_chunk(data_file, center):
    X = np.load(data_file)
    m = streaming_moments(data_file, chunk_rows=1000, center=center)
    ref = _numpy_moments(X, center)
    assert m.chunks == 6 and m.n_samples == len(X)
    assert np.max(np.abs(m.second_moment - ref)) <= 1e-12 * np.max(np.abs(ref))
    assert np.allclose(m.mean, X.astype(np.float64).mean(axis=0), rtol=0, atol=1e-13)


def test_shards_and_dask_arrays_give_the_same_moments(data_file, tmp_path):
    import dask.array as da
    X = np.load(data_file)
    shards = tmp_path / "shards"
    shards.mkdir()
    for k, part in enumerate(np.array_split(X, 3)):
        np.save(shards / f"part{k}.npy", part)
    a = streaming_moments(data_file, chunk_rows=2000)
    b = streaming_moments(shards, chunk_rows=2000)
    c = streaming_moments(da.from_array(X, chunks=(1500, 24)), chunk_rows=2000)
    ref = _numpy_moments(X)
    for m in (b, c):
        assert np.max(np.abs(m.second_moment - ref)) <= 1e-12 * np.max(np.abs(ref))
    assert a.fingerprint == b.fingerprint      # same bytes, same chunking


def test_streaming_on_an_in_process_distributed_cluster(data_file):
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        m = streaming_moments(data_file, chunk_rows=1000, scheduler=cluster.scheduler_address)
    local = streaming_moments(data_file, chunk_rows=1000)
    assert np.array_equal(m.second_moment, local.second_moment) and m.fingerprint == local.fingerprint


def test_streaming_rejects_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError):
        streaming_moments(tmp_path / "missing.npy")
    np.save(tmp_path / "x3.npy", np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="expected an"):
        streaming_moments(tmp_path / "x3.npy")
    bad = np.ones((10, 3))
    bad[4, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(ValueError, match="NaN"):
        streaming_moments(tmp_path / "nan.npy", chunk_rows=3)


@pytest.mark.slow
def test_spectrum_cli_writes_an_npz_that_configs_can_train_from(data_file, tmp_path):
    out = tmp_path / "S.npz"
    proc = _cli("spectrum", data_file, "--out", out, "--chunk-rows", 1500)
    assert proc.returncode == 0, proc.stderr
    assert "rows (100%)" in proc.stdout
    with np.load(out) as z:
        assert {"second_moment", "eigenvalues", "eigenvectors", "n_samples", "mean"} <= set(z.files)
        assert np.all(np.diff(z["eigenvalues"]) <= 0)
        V, lam, S = z["eigenvectors"], z["eigenvalues"], z["second_moment"]
        assert np.allclose(V @ np.diag(lam) @ V.T, S, atol=1e-12)
    assert (tmp_path / "S.npz.manifest.json").exists()
    # training from the spectrum alone equals training from the data (up to the summation order of Σ)
    from lindae.validation.experiments.runner import run_config
    base = {"title": "t", "data": {"dataset": "array", "path": str(data_file)},
            "train": {"hidden": 4, "lr": 0.05, "epochs": 100, "record_every": 10},
            "report": {"modes": [1, 2]}, "models": [{"name": "AE"}]}
    from_data = run_config(base, tmp_path / "a", log=lambda m: None)
    base["data"] = {"dataset": "array", "spectrum": str(out)}
    from_spec = run_config(base, tmp_path / "b", log=lambda m: None)
    s1 = from_data["models"]["AE"]["series"]["1"]["actual"]
    s2 = from_spec["models"]["AE"]["series"]["1"]["actual"]
    assert np.allclose(s1, s2, rtol=1e-9, atol=1e-15)
    assert load_spectrum_file(out).n_samples == 6000


@pytest.mark.slow
def test_spectrum_file_with_a_model_that_needs_the_data_is_a_clear_error(tmp_path, data_file):
    out = tmp_path / "S.npz"
    assert _cli("spectrum", data_file, "--out", out).returncode == 0
    from lindae.validation.data.datasets import DataError
    from lindae.validation.experiments.runner import run_config
    cfg = {"data": {"dataset": "array", "spectrum": str(out)}, "train": {"kind": "relu", "hidden": 4},
           "models": [{"name": "R"}]}
    with pytest.raises(DataError, match="needs the data X"):
        run_config(cfg, tmp_path / "r", log=lambda m: None)


@pytest.mark.slow
@pytest.mark.parametrize("args,needle", [
    (("spectrum", "x.npy", "--out", "S.npz", "--chunk-rows", "0"), "--chunk-rows"),
    (("spectrum", "x.npy", "--out", "S.txt"), ".npz"),
    (("spectrum", "/nonexistent.npy", "--out", "/tmp/S.npz"), "not found"),
    (("sweep", "missing.toml", "--out", "/tmp/sweep-x"), "not found"),
    (("sweep", "configs/sweep_mnist.toml", "--out", "/tmp/sweep-x", "--workers", "0"), "--workers"),
])
def test_scaling_cli_bad_input_is_one_line_exit_2(args, needle):
    proc = _cli(*args)
    assert proc.returncode == 2 and needle in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def _sweep_config(path, data_file):
    path.write_text(f'''title = "test sweep"
[data]
dataset = "array"
path = "{data_file}"
[train]
hidden = 6
lr = 0.05
epochs = 300
record_every = 10
init_scale = 1e-3
[report]
modes = [1, 2, 4]
[sweep]
noise_var = [0.0, 0.5, 1.0]
weight_decay = [0.0, 0.1]
seed = [0, 1]
''')
    return path


def _table(out):
    with open(out / "table.csv") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r.pop("seconds")
    return rows


def test_sweep_config_is_validated():
    from lindae.validation.experiments.config import ConfigError
    with pytest.raises(ConfigError, match="not a parameter of a linear model"):
        parse_sweep({"sweep": {"colour": [1, 2]}})
    with pytest.raises(ConfigError, match="non-empty list"):
        parse_sweep({"sweep": {"seed": []}})
    with pytest.raises(ConfigError, match="marginalised"):
        parse_sweep({"train": {"kind": "relu"}, "sweep": {"seed": [0]}})
    assert len(load_sweep(os.path.join(ROOT, "configs", "sweep_mnist.toml"))["cells"]) == 50


@pytest.mark.slow
def test_sweep_is_identical_serial_in_process_cluster_and_real_workers(tmp_path, data_file):
    from distributed import Client, LocalCluster
    cfg = _sweep_config(tmp_path / "sweep.toml", data_file)
    log = lambda m: None  # noqa: E731
    serial = run_sweep(cfg, tmp_path / "serial", log=log)
    assert len(serial) == 12 and all(r["status"] == "finished" for r in serial)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        run_sweep(cfg, tmp_path / "inproc", client=client, log=log)
    assert _table(tmp_path / "serial") == _table(tmp_path / "inproc")
    # a real scheduler and two worker processes on 127.0.0.1, driven through the CLI
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(2)
        for name in ("w1", "w2"):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                           "--name", name, "--no-dashboard"], cwd=ROOT,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client as C
        with C(address, timeout=60, set_as_default=False) as c:
            c.wait_for_workers(2, timeout=60)
        proc = _cli("sweep", cfg, "--out", tmp_path / "dist", "--scheduler", address)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "12/12 cells done" in proc.stdout and "ETA" in proc.stdout
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    assert _table(tmp_path / "serial") == _table(tmp_path / "dist")
    assert (tmp_path / "dist" / "sweep.png").stat().st_size > 10_000


@pytest.mark.slow
def test_killed_sweep_leaves_complete_files_and_a_rerun_runs_only_missing_cells(tmp_path, data_file):
    cfg = _sweep_config(tmp_path / "sweep.toml", data_file)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "lindae", "sweep", str(cfg), "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cells = out / "cells"
    deadline = time.time() + 120
    while time.time() < deadline and not (cells.exists() and len(list(cells.glob("*.json"))) >= 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    done = len(list(cells.glob("*.json")))
    assert 3 <= done
    assert not list(cells.glob("*.tmp")) and not list(out.glob("*.tmp"))
    for f in cells.glob("*.json"):            # every file is complete JSON
        import json
        json.loads(f.read_text())
    if done < 12:
        assert proc.returncode == 130, err
    rerun = _cli("sweep", cfg, "--out", out)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{done} finished earlier, {12 - done} to run" in rerun.stdout
    assert len(_table(out)) == 12
