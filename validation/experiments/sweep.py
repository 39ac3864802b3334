"""Sweeps of many small trainings on Dask: ``lindae sweep SWEEP.toml --out DIR``.

A sweep config has the usual ``[data]``, ``[train]`` and ``[report]`` tables and a ``[sweep]``
table of lists, for example ``noise_var = [0, 0.25, 0.5]`` and ``seed = [0, 1]``. Its cells are
the Cartesian product of those lists; every cell trains a linear autoencoder in the eigenbasis
of one shared spectrum (computed once, or read from ``[data] spectrum``) and compares it with
the theory.

Layout of DIR::

    cells/KEY.json   one finished cell (KEY hashes the data and the cell's full training config),
                     written atomically by the client; a rerun skips every cell whose file exists
    table.csv        one row per cell in grid order: swept values, status, message, the worst
                     theory error over the report's modes, epochs for those modes to reach u*/2,
                     the final loss and the cell's seconds (the only column that varies between runs)
    sweep.png        how the metrics vary over the grid (heatmaps for two swept axes, lines for one)
    manifest.json    config, environment, scheduler, timings

Cells run serially, on a local cluster of worker processes, or on any ``distributed``
scheduler; each worker pins BLAS to one thread (threadpoolctl), so the table is identical under
all three apart from the seconds column.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import os
import time

import numpy as np

from lindae.derivations.files import atomic_write_bytes

from lindae.validation.experiments.config import (ConfigError, LinearModel, check_value, model_fields, model_hash,
                                                  parse_config, read_toml)
from lindae.validation.experiments.store import ResultStore, interrupt_on_sigterm, write_manifest
from lindae.dynamics.errors import InvalidArgument

#: Columns of table.csv after the swept parameters.
STATUS_COLUMNS = ("status", "message", "worst_theory_error")
SCHEDULERS = "serial, local or tcp://HOST:PORT"


def parse_sweep(raw: dict, source: str = "<sweep config>") -> dict:
    """Validate a sweep config (a TOML table) and expand its cells; raise ConfigError otherwise.

    Returns a dict with ``config`` (the parsed base :class:`RunConfig`, one linear model per cell), ``axes``
    ({key: values}) and ``cells`` (a list of {key: value} in grid order, the last axis varying fastest).
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the sweep config must be a TOML table")
    raw = dict(raw)
    sweep = raw.pop("sweep", None)
    if not isinstance(sweep, dict) or not sweep:
        raise ConfigError(f"{source}: a sweep config needs a [sweep] table of lists, e.g. noise_var = [0, 0.5]")
    if "models" in raw:
        raise ConfigError(f"{source}: a sweep config takes [train] and [sweep], not [[models]]")
    fields = model_fields("linear")
    axes = {}
    for key, values in sweep.items():
        if key not in fields or key == "name":
            raise ConfigError(f"{source}: [sweep]: '{key}' is not a parameter of a linear model; allowed: "
                              f"{', '.join(sorted(set(fields) - {'name'}))}")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: [sweep]: '{key}' must be a non-empty list, got {values!r}")
        axes[key] = [check_value(f"{source}: [sweep] {key}", fields[key], v) for v in values]
        if len(set(map(repr, axes[key]))) != len(axes[key]):
            raise ConfigError(f"{source}: [sweep]: '{key}' lists a value twice")
    cells = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
    raw["models"] = [{"name": f"cell{j:05d}", **cell} for j, cell in enumerate(cells)]
    cfg = parse_config(raw, source=source)
    for m in cfg.models:
        if not isinstance(m, LinearModel) or m.sampled_noise:
            raise ConfigError(f"{source}: sweeps run linear models with marginalised noise (kind = \"linear\", "
                              f"sampled_noise = false): each cell needs only the shared spectrum")
    return {"config": cfg, "axes": axes, "cells": cells}


def load_sweep(path) -> dict:
    """Read and validate a sweep config file."""
    return parse_sweep(read_toml(path, "sweep config"), source=str(path))


def cell_key(data, model) -> str:
    """The key of a cell: the hash of the data and of everything but its display name."""
    return model_hash(data, model, ignore=("name",))


def run_cell(model: LinearModel, spec, modes):
    """Train one cell and summarise it (runs on a worker; BLAS pinned to one thread).

    Returns a JSON-ready dict: status ("finished", "diverged" or "failed"), message, the worst
    |measured - theory| over ``modes``, epochs to u*/2 per mode, final loss, seconds.
    """
    from lindae.validation.experiments.store import one_blas_thread
    from lindae.dynamics import DivergenceError
    from lindae.validation.experiments.model_training import train_model
    from lindae.validation.theory import agreement
    start = time.perf_counter()
    modes = [k for k in modes if k <= model.hidden]
    out = {"status": "finished", "message": "", "worst_theory_error": None, "loss_final": None,
           "t_half": {str(k): None for k in modes}}
    with one_blas_thread():
        try:
            res = train_model(dataclasses.replace(model, sv_every=model.epochs + 1), None, spec)
            ag, _ = agreement(res, modes, time="discrete", theory="orthogonal")
            out["worst_theory_error"] = max(v["max_abs"] for v in ag.values()) if ag else None
            out["t_half"] = {k: v["t_half_actual"] for k, v in ag.items()}
            out["loss_final"] = float(res.loss[-1])
        except DivergenceError as exc:
            out.update(status="diverged", message=str(exc).split(";")[0])
        except Exception as exc:    # noqa: BLE001 - a failed cell is recorded with its reason, never fatal to the sweep
            out.update(status="failed", message=f"{type(exc).__name__}: {exc}".splitlines()[0])
    out["seconds"] = round(time.perf_counter() - start, 3)
    return out


def run_sweep(sweep, out_dir, *, scheduler="serial", workers=2, force=False, client=None, log=print):
    """Run every unfinished cell of ``sweep`` (a path or the dict of :func:`parse_sweep`) into ``out_dir``.

    ``scheduler`` is "serial", "local" (a LocalCluster of ``workers`` single-threaded processes) or
    the address of a ``distributed`` scheduler; ``client`` (a ``distributed.Client``) overrides it.
    Returns the table rows.
    """
    sw = load_sweep(sweep) if isinstance(sweep, (str, os.PathLike)) else sweep
    cfg = sw["config"]
    if not (scheduler in ("serial", "local") or str(scheduler).startswith(("tcp://", "tls://", "inproc://"))):
        raise InvalidArgument(f"scheduler must be {SCHEDULERS}, got {scheduler!r}")
    if int(workers) < 1:
        raise InvalidArgument(f"workers must be >= 1, got {workers}")
    from lindae.validation.experiments.runner import load_inputs
    start = time.perf_counter()
    _, spec = load_inputs(cfg, log=log)
    store = ResultStore(os.path.join(out_dir, "cells"))
    todo = []
    for params, m in zip(sw["cells"], cfg.models):
        key = cell_key(cfg.data, m)
        if force or store.load(key) is None:
            todo.append((key, params, m))
    total = len(sw["cells"])
    log(f"sweep: {total} cells over {', '.join(f'{k} ({len(v)})' for k, v in sw['axes'].items())}; "
        f"{total - len(todo)} finished earlier, {len(todo)} to run on {scheduler if client is None else 'the given client'}")
    modes = list(cfg.report_modes)
    tracker = _Progress(len(todo), log)

    def save(key, params, m, row):
        store.save(key, {"key": key, "params": params, "config": m.to_dict(), "row": row})
        tracker.done(row["status"])

    try:
        with interrupt_on_sigterm():
            if todo and client is None and scheduler == "serial":
                for key, params, m in todo:
                    save(key, params, m, run_cell(m, spec, modes))
            elif todo:
                _run_distributed(todo, spec, modes, save, scheduler, workers, client)
    finally:
        rows = _collect(sw, store)
        _write_outputs(sw, rows, out_dir, scheduler, time.perf_counter() - start)
    return rows


def _run_distributed(todo, spec, modes, store, scheduler, workers, client):
    from distributed import Client, as_completed
    from lindae.validation.experiments.cluster import local_cluster
    cluster = own = None
    if client is None:
        if scheduler == "local":
            cluster = local_cluster(workers)
            own = Client(cluster, set_as_default=False)
        else:
            own = Client(scheduler, set_as_default=False)
        client = own
    futures = []
    try:
        spec_future = client.scatter(spec, broadcast=True)
        for key, params, m in todo:
            fut = client.submit(run_cell, m, spec_future, modes, key=f"cell-{key}", pure=False)
            futures.append((fut, key, params, m))
        by_key = {f.key: (key, params, m) for f, key, params, m in futures}
        for fut in as_completed([f for f, *_ in futures], loop=client.loop):
            key, params, m = by_key[fut.key]
            store(key, params, m, fut.result())
    finally:
        for fut, *_ in futures:
            fut.cancel()
        if own is not None:
            own.close()
        if cluster is not None:
            cluster.close()


class _Progress:
    """One line per finished cell: cells done, total, and an ETA from the mean time so far."""

    def __init__(self, total, log):
        self.total, self.log, self.count, self.start = total, log, 0, time.perf_counter()

    def done(self, status):
        self.count += 1
        elapsed = time.perf_counter() - self.start
        lr = elapsed / self.count * (self.total - self.count)
        self.log(f"sweep: {self.count}/{self.total} cells done ({status}), {elapsed:.0f} s elapsed, ETA {lr:.0f} s")


def _collect(sw, store):
    """Table rows for every cell that has a result file, in grid order."""
    cfg = sw["config"]
    rows = []
    for params, m in zip(sw["cells"], cfg.models):
        record = store.load(cell_key(cfg.data, m))
        if record is not None:
            rows.append({"params": params, **record["row"]})
    return rows


def t_half_modes(sw):
    modes = sw["config"].report_modes
    return [k for k in modes if k <= max(m.hidden for m in sw["config"].models)]


def table_csv(sw, rows) -> str:
    """table.csv text: swept values, status, message, worst theory error, t_half per mode, final loss, seconds."""
    axes = list(sw["axes"])
    modes = t_half_modes(sw)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(axes + list(STATUS_COLUMNS) + [f"t_half_mode_{k}" for k in modes] + ["loss_final", "seconds"])
    fmt = lambda v: "" if v is None else repr(v) if isinstance(v, float) else str(v)  # noqa: E731
    for r in rows:
        w.writerow([fmt(r["params"][a]) for a in axes] + [r["status"], r["message"], fmt(r["worst_theory_error"])]
                   + [fmt(r["t_half"].get(str(k))) for k in modes] + [fmt(r["loss_final"]), fmt(r["seconds"])])
    return buf.getvalue()


def _write_outputs(sw, rows, out_dir, scheduler, seconds):
    atomic_write_bytes(os.path.join(out_dir, "table.csv"), table_csv(sw, rows).encode())
    if rows:
        from lindae.validation.figures import plot_sweep, write_figure
        write_figure(plot_sweep(sw, rows, t_half_modes(sw)), os.path.join(out_dir, "sweep.png"))
    write_manifest(out_dir, config=sw["config"].to_dict(), axes=sw["axes"], cells=len(sw["cells"]),
                   finished_files=len(rows), scheduler=str(scheduler), seconds=round(seconds, 3))
