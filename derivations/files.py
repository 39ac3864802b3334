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
    """Save a matplotlib figure as PNG atomically.

    A figure with a layout engine on an Agg canvas is drawn once at ``dpi`` and, when all of its content lies inside
    the canvas, written from that drawing. Otherwise (no engine, another canvas, or a title wider than the figure)
    it is cropped and grown to its content by ``bbox_inches="tight"``, which costs a second pass over every artist.
    """
    import io
    buf = io.BytesIO()
    if fig.get_layout_engine() is not None and hasattr(fig.canvas, "buffer_rgba"):     # an Agg canvas
        import numpy as np
        from PIL import Image
        old = fig.get_dpi()
        fig.set_dpi(dpi)
        try:
            fig.canvas.draw()
            box = fig.get_tightbbox(fig.canvas.get_renderer())          # inches
            width, height = fig.get_size_inches()
            slack = 0.5 / dpi                                            # half a pixel
            if box.x0 >= -slack and box.y0 >= -slack and box.x1 <= width + slack and box.y1 <= height + slack:
                Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).save(buf, format="png", dpi=(dpi, dpi))
                return atomic_write_bytes(path, buf.getvalue())
        finally:
            fig.set_dpi(old)
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return atomic_write_bytes(path, buf.getvalue())
