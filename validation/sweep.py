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
import io
import itertools
import json
import os
import signal
import time

import numpy as np

from lindae.derivations.files import atomic_write_bytes, atomic_write_json, save_figure

from .config import SCHEMA, ConfigError, _check_value, model_hash, parse_config, read_toml
from .manifest import environment
from lindae.dynamics.errors import InvalidArgument

#: Columns of table.csv after the swept parameters.
STATUS_COLUMNS = ("status", "message", "worst_theory_error")
SCHEDULERS = "serial, local or tcp://HOST:PORT"


def parse_sweep(raw: dict) -> dict:
    """Validate a sweep config (a TOML table) and expand its cells; raise ConfigError otherwise.

    Returns a dict with ``config`` (the parsed base config), ``axes`` ({key: values}) and
    ``cells`` (a list of {key: value} in grid order, the last axis varying fastest).
    """
    if not isinstance(raw, dict):
        raise ConfigError("the sweep config must be a TOML table")
    raw = dict(raw)
    sweep = raw.pop("sweep", None)
    if not isinstance(sweep, dict) or not sweep:
        raise ConfigError("a sweep config needs a [sweep] table of lists, e.g. noise_var = [0, 0.5]")
    if "models" in raw:
        raise ConfigError("a sweep config takes [train] and [sweep], not [[models]]")
    axes = {}
    for key, values in sweep.items():
        if key not in SCHEMA["train"] or key in ("kind",):
            raise ConfigError(f"[sweep]: '{key}' is not a training parameter; allowed: "
                              f"{', '.join(sorted(set(SCHEMA['train']) - {'kind'}))}")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"[sweep]: '{key}' must be a non-empty list, got {values!r}")
        axes[key] = [_check_value(f"[sweep] {key}", key, v, SCHEMA["train"][key]) for v in values]
        if len(set(map(repr, axes[key]))) != len(axes[key]):
            raise ConfigError(f"[sweep]: '{key}' lists a value twice")
    cells = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
    raw["models"] = [{"name": f"cell{j:05d}", **cell} for j, cell in enumerate(cells)]
    cfg = parse_config(raw)
    for m in cfg["models"]:
        if m["kind"] != "linear" or m["sampled_noise"]:
            raise ConfigError("sweeps run linear models with marginalised noise (kind = \"linear\", "
                              "sampled_noise = false): each cell needs only the shared spectrum")
    return {"config": cfg, "axes": axes, "cells": cells}


def load_sweep(path) -> dict:
    """Read and validate a sweep config file."""
    return parse_sweep(read_toml(path, "sweep config"))


def cell_key(data_cfg, model_cfg) -> str:
    """The key of a cell: the hash of the data and of everything but its display name."""
    return model_hash(data_cfg, {k: v for k, v in model_cfg.items() if k != "name"})


def run_cell(model_cfg, spec, modes):
    """Train one cell and summarise it (runs on a worker; BLAS pinned to one thread).

    Returns a JSON-ready dict: status ("finished", "diverged" or "failed"), message, the worst
    |measured - theory| over ``modes``, epochs to u*/2 per mode, final loss, seconds.
    """
    from threadpoolctl import threadpool_limits
    from lindae.dynamics import DivergenceError
    from .theory import agreement
    from .train import train_linear_ae
    start = time.perf_counter()
    m = model_cfg
    modes = [k for k in modes if k <= m["hidden"]]
    out = {"status": "finished", "message": "", "worst_theory_error": None, "loss_final": None,
           "t_half": {str(k): None for k in modes}}
    with threadpool_limits(limits=1):
        try:
            kw = dict(noise_var=m["noise_var"], weight_decay=m["weight_decay"], init=m["init"],
                      init_scale=m["init_scale"], seed=m["seed"], record_every=m["record_every"], sv_every=m["epochs"] + 1,
                      spectrum=spec, name=m["name"])
            if m["init"] == "aligned":
                kw.update(modes=list(range(m["hidden"])), u0=m["u0"])
            res = train_linear_ae(None, m["hidden"], m["lr"], m["epochs"], **kw)
            ag, _ = agreement(res, modes, time="discrete", u0="orthogonal")
            out["worst_theory_error"] = max(v["max_abs"] for v in ag.values()) if ag else None
            out["t_half"] = {k: v["t_half_actual"] for k, v in ag.items()}
            out["loss_final"] = float(res.loss[-1])
        except DivergenceError as exc:
            out.update(status="diverged", message=str(exc).split(";")[0])
        except Exception as exc:    # a failed cell is recorded, never fatal to the sweep
            out.update(status="failed", message=f"{type(exc).__name__}: {exc}".splitlines()[0])
    out["seconds"] = round(time.perf_counter() - start, 3)
    return out


class _Terminate(BaseException):
    """Raised from the SIGTERM handler so that the sweep stops like on Ctrl-C."""


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
    from .runner import load_inputs
    start = time.perf_counter()
    _, spec = load_inputs(cfg, log=log)
    cells_dir = os.path.join(out_dir, "cells")
    os.makedirs(cells_dir, exist_ok=True)
    for name in os.listdir(cells_dir):          # leftovers of a run killed while writing
        if name.endswith(".tmp"):
            os.unlink(os.path.join(cells_dir, name))
    todo = []
    for params, m in zip(sw["cells"], cfg["models"]):
        key = cell_key(cfg["data"], m)
        if force or not os.path.exists(os.path.join(cells_dir, f"{key}.json")):
            todo.append((key, params, m))
    total = len(sw["cells"])
    log(f"sweep: {total} cells over {', '.join(f'{k} ({len(v)})' for k, v in sw['axes'].items())}; "
        f"{total - len(todo)} finished earlier, {len(todo)} to run on {scheduler if client is None else 'the given client'}")
    modes = cfg["report"]["modes"]
    tracker = _Progress(len(todo), log)

    def store(key, params, m, row):
        atomic_write_json(os.path.join(cells_dir, f"{key}.json"), {"params": params, "config": m, "row": row})
        tracker.done(row["status"])

    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        raise _Terminate()

    in_main = _in_main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, on_term)
    try:
        if todo and client is None and scheduler == "serial":
            for key, params, m in todo:
                store(key, params, m, run_cell(m, spec, modes))
        elif todo:
            _run_distributed(todo, spec, modes, store, scheduler, workers, client)
    except _Terminate:
        raise KeyboardInterrupt("terminated") from None
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        rows = _collect(sw, cells_dir)
        _write_outputs(sw, rows, out_dir, scheduler, time.perf_counter() - start)
    return rows


def _in_main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


def _run_distributed(todo, spec, modes, store, scheduler, workers, client):
    from distributed import Client, LocalCluster, as_completed
    cluster = own = None
    if client is None:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
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
        eta = elapsed / self.count * (self.total - self.count)
        self.log(f"sweep: {self.count}/{self.total} cells done ({status}), {elapsed:.0f} s elapsed, ETA {eta:.0f} s")


def _collect(sw, cells_dir):
    """Table rows for every cell that has a result file, in grid order."""
    cfg = sw["config"]
    rows = []
    for params, m in zip(sw["cells"], cfg["models"]):
        path = os.path.join(cells_dir, f"{cell_key(cfg['data'], m)}.json")
        if not os.path.exists(path):
            continue
        with open(path) as fh:
            row = json.load(fh)["row"]
        rows.append({"params": params, **row})
    return rows


def _t_half_modes(sw):
    modes = sw["config"]["report"]["modes"]
    return [k for k in modes if k <= max(m["hidden"] for m in sw["config"]["models"])]


def table_csv(sw, rows) -> str:
    """table.csv text: swept values, status, message, worst theory error, t_half per mode, final loss, seconds."""
    axes = list(sw["axes"])
    modes = _t_half_modes(sw)
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
        fig = plot_sweep(sw, rows)
        save_figure(fig, os.path.join(out_dir, "sweep.png"))
        import matplotlib.pyplot as plt
        plt.close(fig)
    atomic_write_json(os.path.join(out_dir, "manifest.json"), {
        "config": sw["config"], "axes": sw["axes"], "cells": len(sw["cells"]), "finished_files": len(rows),
        "scheduler": str(scheduler), "seconds": round(seconds, 3), "environment": environment()})


def plot_sweep(sw, rows):
    """Heatmaps (two swept axes), lines (one) of the worst theory error, t_half of the first mode
    and the final loss; other axes (seeds included) are averaged over."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    axes = [a for a in sw["axes"] if a != "seed" and len(sw["axes"][a]) > 1]
    modes = _t_half_modes(sw)
    metrics = [("worst |measured − theory|", lambda r: r["worst_theory_error"]),
               (f"epochs to u*/2, mode {modes[0]}" if modes else "t_half", lambda r: r["t_half"].get(str(modes[0])) if modes else None),
               ("final loss", lambda r: r["loss_final"])]
    fig, panels = plt.subplots(1, 3, figsize=(15, 4.2))
    shown = axes[:2]
    averaged = [a for a in sw["axes"] if a not in shown]
    for (label, get), ax in zip(metrics, panels):
        grid = {}
        for r in rows:
            v = get(r)
            k = tuple(r["params"][a] for a in shown)
            grid.setdefault(k, []).append(np.nan if v is None else float(v))
        if len(shown) == 2:
            xs, ys = sw["axes"][shown[0]], sw["axes"][shown[1]]
            Z = np.array([[np.nanmean(grid[(x, y)]) if (x, y) in grid and np.any(np.isfinite(grid[(x, y)]))
                           else np.nan for x in xs] for y in ys])
            im = ax.imshow(Z, origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs]), ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
            ax.set_xlabel(shown[0]), ax.set_ylabel(shown[1])
            fig.colorbar(im, ax=ax)
            for i in range(len(ys)):
                for j in range(len(xs)):
                    if np.isfinite(Z[i, j]):
                        bright = im.norm(Z[i, j]) > 0.6          # dark text on the bright end of viridis
                        ax.text(j, i, f"{Z[i, j]:.3g}", ha="center", va="center", fontsize=7,
                                color="k" if bright else "w")
        elif len(shown) == 1:
            xs = sw["axes"][shown[0]]
            ax.plot(xs, [np.nanmean(grid.get((x,), [np.nan])) for x in xs], "o-")
            ax.set_xlabel(shown[0])
        else:
            vals = [np.nanmean(v) for v in grid.values()]
            ax.bar(range(len(vals)), vals)
        ax.set_title(label, fontsize=9)
    note = f" (mean over {', '.join(averaged)})" if averaged else ""
    fig.suptitle(f"{sw['config']['title'] or 'sweep'}: {len(rows)} of {len(sw['cells'])} cells{note}")
    fig.tight_layout()
    return fig
