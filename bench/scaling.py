"""Benchmark: Dask streaming of the second moment, and sweep throughput, measured side by side.

1. Streamed Σ = XᵀX/N of a float32 .npy file (``validation.stream``, row chunks on the local
   threaded scheduler) against one in-memory NumPy ``X.T @ X`` on the same file (load, cast to
   float64, multiply): throughput in GB/s of file data, and their ratio.
2. A small sweep (``validation.sweep``) run serially and on a local cluster of 2 single-threaded
   worker processes: cells per second, and their ratio.

Run: python bench/scaling.py [--rows 128000] [--dim 784] [--chunk-rows 20000] [--data FILE.npy]
     [--cells 24] [--epochs 4000]
(generates a random file in a temporary folder unless --data is given).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def _make_file(path, rows, dim, seed=0):
    from numpy.lib.format import open_memmap
    rng = np.random.default_rng(seed)
    X = open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    for i in range(0, rows, 20_000):
        X[i:i + 20_000] = rng.random((min(20_000, rows - i), dim), dtype=np.float32)
    X.flush()
    del X


def bench_stream(path, chunk_rows):
    from lindae.validation.data.stream import streaming_moments
    size = os.path.getsize(path)
    t = time.perf_counter()
    m = streaming_moments(path, chunk_rows=chunk_rows)
    t_stream = time.perf_counter() - t
    t = time.perf_counter()
    X = np.load(path).astype(np.float64)
    G = X.T @ X / len(X)
    t_numpy = time.perf_counter() - t
    del X
    diff = float(np.max(np.abs(G - m.second_moment)) / np.max(np.abs(G)))
    return {"file_gb": size / 1e9, "stream_seconds": t_stream, "stream_gb_per_s": size / 1e9 / t_stream,
            "numpy_seconds": t_numpy, "numpy_gb_per_s": size / 1e9 / t_numpy, "stream_over_numpy_time": t_stream / t_numpy,
            "max_relative_difference": diff}


def bench_sweep(folder, cells, epochs):
    from lindae.validation.experiments.sweep import parse_sweep, run_sweep
    rng = np.random.default_rng(1)
    D = 64
    lam = 3 * np.arange(1, D + 1) ** -0.8
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    X = (rng.standard_normal((5000, D)) * np.sqrt(lam)) @ Q.T
    data = os.path.join(folder, "sweep_data.npy")
    np.save(data, X)
    seeds = list(range(max(1, cells // 6)))
    raw = {"title": "bench", "data": {"dataset": "array", "path": data},
           "train": {"hidden": 16, "lr": 0.05, "epochs": epochs, "record_every": 10},
           "report": {"modes": [1, 4, 8]}, "sweep": {"noise_var": [0.0, 0.5, 1.0], "weight_decay": [0.0, 0.1], "seed": seeds}}
    sw = parse_sweep(raw)
    out = {}
    quiet = lambda m: None  # noqa: E731
    from distributed import Client, LocalCluster
    t = time.perf_counter()
    run_sweep(sw, os.path.join(folder, "serial"), log=quiet)
    out["serial_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        out["cluster_start_seconds"] = time.perf_counter() - t
        t = time.perf_counter()
        run_sweep(sw, os.path.join(folder, "local"), client=client, log=quiet)
        out["local_2_workers_seconds"] = time.perf_counter() - t
    for name in ("serial", "local_2_workers"):
        out[f"{name}_cells_per_s"] = len(sw["cells"]) / out[f"{name}_seconds"]
    out["cells"] = len(sw["cells"])
    out["speedup_2_workers"] = out["serial_seconds"] / out["local_2_workers_seconds"]
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=128_000, help="rows of the generated file (default 128000)")
    p.add_argument("--dim", type=int, default=784, help="columns of the generated file (default 784)")
    p.add_argument("--chunk-rows", type=int, default=20_000, help="rows per streamed chunk (default 20000)")
    p.add_argument("--data", metavar="FILE.npy", help="stream this file instead of a generated one")
    p.add_argument("--cells", type=int, default=24, help="cells of the benchmark sweep, a multiple of 6 (default 24)")
    p.add_argument("--epochs", type=int, default=4000, help="epochs per sweep cell (default 4000)")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = a.data
        if path is None:
            path = os.path.join(folder, "X.npy")
            _make_file(path, a.rows, a.dim)
        s = bench_stream(path, a.chunk_rows)
        print(f"streamed second moment of a {s['file_gb']:.2f} GB float32 file, chunks of {a.chunk_rows} rows:")
        print(f"  Dask streaming:          {s['stream_seconds']:7.2f} s  {s['stream_gb_per_s']:6.2f} GB/s")
        print(f"  NumPy in memory X.T @ X: {s['numpy_seconds']:7.2f} s  {s['numpy_gb_per_s']:6.2f} GB/s "
              f"(load, float64 cast, product)")
        print(f"  streaming / in-memory time: {s['stream_over_numpy_time']:.2f};  max relative difference "
              f"{s['max_relative_difference']:.1e}")
        w = bench_sweep(folder, a.cells, a.epochs)
        print(f"sweep of {w['cells']} cells ({a.epochs} epochs, D = 64, H = 16):")
        print(f"  serial:            {w['serial_seconds']:6.2f} s  {w['serial_cells_per_s']:6.2f} cells/s")
        print(f"  local, 2 workers:  {w['local_2_workers_seconds']:6.2f} s  {w['local_2_workers_cells_per_s']:6.2f} cells/s "
              f"(speed-up {w['speedup_2_workers']:.2f}x; starting the cluster took {w['cluster_start_seconds']:.1f} s more)")
    return {"stream": s, "sweep": w}


if __name__ == "__main__":
    main()
