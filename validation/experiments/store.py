"""The one resumable store of finished work, shared by ``run``, ``sweep`` and ``study``.

Each finished part (a model, a cell) is one JSON file in a folder, written atomically (temporary file,
then rename), so an interrupted job leaves only complete files; a rerun loads the parts whose key still
matches and redoes the rest. SIGTERM is turned into KeyboardInterrupt so that a killed job stops as on
Ctrl-C, and every job ends by writing a manifest (config, environment, seeds, timings, git commit).
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import signal
import threading

from lindae.derivations.files import atomic_write_json
from lindae.dynamics._blas import one_blas_thread  # noqa: F401  (re-exported: the workers' BLAS setting)


def content_key(*parts) -> str:
    """A stable 16-hex-digit key of JSON-ready ``parts`` (key-sorted, so dict order does not matter)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


class ResultStore:
    """Finished parts of a long job: ``folder/NAME.json``, one per part.

    Examples
    --------
    >>> import tempfile
    >>> store = ResultStore(tempfile.mkdtemp())
    >>> store.save("cell1", {"key": "abc", "status": "finished", "value": 1.5})
    >>> store.load("cell1", key="abc")["value"], store.load("cell1", key="other"), store.load("cell2")
    (1.5, None, None)
    """

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        os.makedirs(self.folder, exist_ok=True)
        for leftover in glob.glob(os.path.join(self.folder, ".*.tmp")):   # a write cut short by a kill
            os.unlink(leftover)

    def path(self, name: str) -> str:
        return os.path.join(self.folder, f"{name}.json")

    def load(self, name: str, *, key: str | None = None, finished: bool = False) -> dict | None:
        """The record saved as ``name``, or None when there is none, its ``key`` differs from ``key``, or
        (with ``finished``) its ``status`` is not "finished"."""
        try:
            with open(self.path(name)) as fh:
                record = json.load(fh)
        except FileNotFoundError:
            return None
        if key is not None and record.get("key") != key:
            return None
        if finished and record.get("status") != "finished":
            return None
        return record

    def save(self, name: str, record: dict) -> None:
        """Write ``record`` as ``name`` atomically."""
        atomic_write_json(self.path(name), record)


@contextlib.contextmanager
def interrupt_on_sigterm():
    """Within the block, SIGTERM raises KeyboardInterrupt (in the main thread; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, frame):
        raise KeyboardInterrupt("terminated (SIGTERM)")
    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def write_manifest(out_dir, **fields) -> str:
    """``out_dir/manifest.json``: ``fields`` (config, seeds, timings, ...) and the environment with the git commit."""
    from lindae.validation.provenance import environment
    return atomic_write_json(os.path.join(out_dir, "manifest.json"), {**fields, "environment": environment()})
