"""Atomic file writes (temporary file in the same directory, then rename), shared by all layers.

A reader never sees a truncated file: either the old content or the complete new one.
"""
from __future__ import annotations

import json
import os
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; return the path."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> str:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj) -> str:
    """Write ``obj`` as indented, key-sorted JSON atomically (byte-identical for equal objects)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def save_figure(fig, path, dpi=120) -> str:
    """Save a matplotlib figure as PNG atomically: cropped to its content (``bbox_inches="tight"``, which costs a
    second pass over every artist), unless it has a layout engine, which keeps every artist inside the canvas."""
    import io
    buf = io.BytesIO()
    tight = None if fig.get_layout_engine() is not None else "tight"
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches=tight, metadata={"Software": None})
    return atomic_write_bytes(path, buf.getvalue())
