r"""Second moments of data larger than memory, streamed in row chunks on Dask.

:math:`\Sigma = X^\top X/N` is a sum over rows, so it is accumulated chunk by chunk in float64:
each Dask task reads one chunk of rows, forms its Gram matrix (and column sums), and a tree
reduction adds the partial results. Peak memory is set by the chunk size and the number of
tasks in flight, not by N.

Chunks of a ``.npy`` file are read with positioned reads (``np.fromfile`` at the chunk's byte
offset) rather than through a memory map: pages of a memory map that have been touched count
as resident memory until the map is closed, so a map of a 15 GB file would make the process
look (and, under memory limits, be treated) as 15 GB large.

Centred second moments (covariances) use a shift K, the mean of the first chunk:
:math:`\mathrm{Cov} = (X-K)^\top(X-K)/N - (\bar x-K)(\bar x-K)^\top`, which avoids the
cancellation of :math:`X^\top X/N - \bar x\bar x^\top` when the mean is large.

The work runs on Dask's threaded scheduler by default, or on a ``distributed`` cluster
(``scheduler="tcp://HOST:PORT"``): the same code on a laptop and on many machines.
"""
from __future__ import annotations

import glob
import hashlib
import os
import time
from dataclasses import dataclass

import numpy as np
from lindae.dynamics.errors import InvalidArgument

from lindae.validation.data.datasets import DataNotFound

#: Rows handled by one BLAS call inside a task: bounds the float64 copy of a float32 chunk.
SUB_ROWS = 4096


@dataclass(frozen=True)
class Chunk:
    """Rows [start, stop) of one .npy file (or of one in-memory / dask array block)."""

    path: str | None
    offset: int
    dtype: str
    start: int
    stop: int
    columns: int


def _npy_layout(path):
    """(shape, dtype, fortran_order, byte offset of the data) of a .npy file, from its header only."""
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fh)
        return shape, dtype, fortran, fh.tell()


def _files(source):
    if os.path.isdir(source):
        files = sorted(glob.glob(os.path.join(source, "*.npy")))
        if not files:
            raise DataNotFound(f"{source} holds no .npy shards")
        return files
    if not os.path.exists(source):
        raise DataNotFound(f"data not found: {source}")
    if not source.endswith(".npy"):
        raise InvalidArgument(f"streaming needs a .npy file or a folder of .npy shards, got {source}")
    return [source]


def plan_chunks(source, chunk_rows):
    """The row chunks of a .npy file or a folder of .npy shards (all with the same number of columns)."""
    chunks, columns = [], None
    for path in _files(source):
        shape, dtype, fortran, offset = _npy_layout(path)
        if len(shape) != 2:
            raise InvalidArgument(f"{path}: expected an (N, D) array, got shape {shape}")
        if fortran:
            raise InvalidArgument(f"{path}: Fortran-ordered arrays cannot be streamed by rows; save it C-ordered")
        if dtype.kind not in "fiu":
            raise InvalidArgument(f"{path}: expected numbers, got dtype {dtype}")
        if columns is None:
            columns = shape[1]
        elif shape[1] != columns:
            raise InvalidArgument(f"{path}: {shape[1]} columns, but the first shard has {columns}")
        for start in range(0, shape[0], chunk_rows):
            chunks.append(Chunk(path, offset, dtype.str, start, min(start + chunk_rows, shape[0]), columns))
    if not chunks:
        raise InvalidArgument(f"{source} holds no rows")
    return chunks


def read_chunk(chunk: Chunk) -> np.ndarray:
    """The chunk's rows, read from disk at their byte offset (no memory map)."""
    dtype = np.dtype(chunk.dtype)
    count = (chunk.stop - chunk.start) * chunk.columns
    with open(chunk.path, "rb") as fh:
        fh.seek(chunk.offset + chunk.start * chunk.columns * dtype.itemsize)
        data = np.fromfile(fh, dtype=dtype, count=count)
    if data.size != count:
        raise InvalidArgument(f"{chunk.path}: file ends before row {chunk.stop}")
    return data.reshape(chunk.stop - chunk.start, chunk.columns)


def partial_moments(X, shift=None):
    """(XᵀX, column sums, rows, SHA-256 of the bytes) of one block, accumulated in float64.

    With ``shift`` K the Gram matrix is of X - K. Rows are taken SUB_ROWS at a time so the float64
    copy of a float32 block stays small. Non-finite values raise ValueError.
    """
    X = np.asarray(X)
    D = X.shape[1]
    G, s = np.zeros((D, D)), np.zeros(D)
    digest = hashlib.sha256(np.ascontiguousarray(X).view(np.uint8)).hexdigest()
    for i in range(0, X.shape[0], SUB_ROWS):
        B = np.asarray(X[i:i + SUB_ROWS], dtype=np.float64)
        if shift is not None:
            B = B - shift
        if not np.all(np.isfinite(B)):
            raise InvalidArgument("the data hold NaN or infinite values")
        G += B.T @ B
        s += B.sum(axis=0)
    return G, s, X.shape[0], digest


def _chunk_moments(chunk, shift):
    return partial_moments(read_chunk(chunk), shift)


def _combine(*parts):
    """Sum of partial (G, s, n, digests) tuples; digests are kept in order."""
    G = sum(p[0] for p in parts)
    s = sum(p[1] for p in parts)
    n = sum(p[2] for p in parts)
    digests = [d for p in parts for d in (p[3] if isinstance(p[3], list) else [p[3]])]
    return G, s, n, digests


@dataclass(frozen=True)
class Moments:
    """The streamed second moment of a data set."""

    second_moment: np.ndarray
    mean: np.ndarray
    n_samples: int
    fingerprint: str
    chunks: int
    seconds: float
    bytes_read: int

    def spectrum(self, center):
        """Its eigen-decomposition as a :class:`lindae.validation.data.spectrum.Spectrum` (descending)."""
        from lindae.validation.data.spectrum import Spectrum
        lam, V = np.linalg.eigh(self.second_moment)
        order = np.argsort(lam)[::-1]
        return Spectrum(np.clip(lam[order], 0.0, None), np.ascontiguousarray(V[:, order]),
                        self.mean if center else None, self.n_samples)


def _blocks(source, chunk_rows):
    """(list of delayed-able work items, function applied to each, rows per item, bytes per item)."""
    import dask.array as da
    if isinstance(source, da.Array):
        if source.ndim != 2:
            raise InvalidArgument(f"expected an (N, D) dask array, got shape {source.shape}")
        x = source.rechunk({0: chunk_rows, 1: -1})
        items = list(x.to_delayed().ravel())
        rows = list(x.chunks[0])
        return items, partial_moments, rows, [r * x.shape[1] * x.dtype.itemsize for r in rows], x.shape[1]
    if isinstance(source, np.ndarray):
        import dask.array as da
        return _blocks(da.from_array(source, chunks=(chunk_rows, source.shape[1])), chunk_rows)
    chunks = plan_chunks(os.fspath(source), chunk_rows)
    sizes = [(c.stop - c.start) * c.columns * np.dtype(c.dtype).itemsize for c in chunks]
    return chunks, _chunk_moments, [c.stop - c.start for c in chunks], sizes, chunks[0].columns


def streaming_moments(source, *, chunk_rows=20_000, center=False, scheduler=None, split_every=4,
                      progress=None) -> Moments:
    r"""Σ = XᵀX/N (or the covariance with ``center``) of ``source``, streamed in row chunks.

    Parameters
    ----------
    source : str, path, ndarray or dask.array.Array
        A .npy file, a folder of .npy shards (concatenated in name order), or an array.
    chunk_rows : int
        Rows per task. Memory per task is about chunk_rows x D x (itemsize + 8 / SUB_ROWS share).
    center : bool
        Subtract the mean (the result is then the covariance).
    scheduler : None, "threads", "synchronous" or "tcp://HOST:PORT"
        Dask's threaded scheduler (default), a single thread, or a ``distributed`` cluster.
    split_every : int
        Fan-in of the reduction tree.
    progress : callable, optional
        Called with lines "rows done / total, MB/s".
    """
    import dask
    if int(chunk_rows) < 1:
        raise InvalidArgument(f"chunk_rows must be >= 1, got {chunk_rows}")
    chunk_rows = int(chunk_rows)
    items, fn, rows, sizes, D = _blocks(source, chunk_rows)
    total_rows, total_bytes = sum(rows), sum(sizes)
    start = time.perf_counter()
    shift = None
    if center:   # the first chunk's mean, computed first (small)
        first = dask.compute(dask.delayed(fn)(items[0], None), scheduler="synchronous")[0]
        shift = first[1] / first[2]
    if split_every < 2:
        raise InvalidArgument(f"split_every must be >= 2, got {split_every}")
    parts = [dask.delayed(fn)(item, shift, dask_key_name=f"moments-{k}") for k, item in enumerate(items)]
    G, s, n, digests = _run(parts, split_every, scheduler, rows, sizes, total_rows, total_bytes, start, progress)
    mean_shifted = s / n
    Sigma = G / n
    if center:
        Sigma = Sigma - np.outer(mean_shifted, mean_shifted)
        mean = mean_shifted + shift
    else:
        mean = mean_shifted
    Sigma = (Sigma + Sigma.T) / 2
    h = hashlib.sha256(f"{total_rows}x{D} chunk_rows={chunk_rows}".encode())
    for d in digests:
        h.update(d.encode())
    return Moments(Sigma, mean, int(n), h.hexdigest()[:16], len(parts), time.perf_counter() - start, total_bytes)


def _reporter(rows, sizes, total_rows, total_bytes, start, progress):
    state = {"rows": 0, "bytes": 0, "last": 0.0}

    def done(k):
        state["rows"] += rows[k]
        state["bytes"] += sizes[k]
        now = time.perf_counter()
        if progress and (now - state["last"] > 1.0 or state["rows"] == total_rows):
            state["last"] = now
            rate = state["bytes"] / max(now - start, 1e-9) / 1e6
            progress(f"spectrum: {state['rows']:,}/{total_rows:,} rows ({100 * state['rows'] / total_rows:.0f}%), "
                     f"{rate:.0f} MB/s")
    return done


def _run(parts, split_every, scheduler, rows, sizes, total_rows, total_bytes, start, progress):
    """Reduce the partial moments by a tree of ``_combine`` tasks on the chosen scheduler, reporting progress."""
    import dask
    done = _reporter(rows, sizes, total_rows, total_bytes, start, progress)
    if scheduler and scheduler.startswith(("tcp://", "tls://", "inproc://")):
        from distributed import Client, as_completed
        with Client(scheduler, set_as_default=False) as client:
            futures = client.compute(parts)
            index = {f.key: k for k, f in enumerate(futures)}
            top = _tree(futures, split_every, lambda *xs: client.submit(_combine, *xs, pure=False))
            pending = as_completed(futures, loop=client.loop)
            futures.clear()          # partial results are freed on the workers once combined
            for future in pending:
                done(index[future.key])
            return top.result()
    from dask.callbacks import Callback

    class _Progress(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if isinstance(key, str) and key.startswith("moments-"):
                done(int(key.split("-")[1]))

    total = _tree(parts, split_every, dask.delayed(_combine))
    with _Progress():
        return dask.compute(total, scheduler=scheduler or "threads")[0]


def _tree(items, split_every, combine):
    level = list(items)
    if len(level) == 1:
        return combine(level[0])
    while len(level) > 1:
        level = [combine(*level[i:i + split_every]) for i in range(0, len(level), split_every)]
    return level[0]


def write_spectrum_file(path, moments: Moments, center: bool, source_desc: str, chunk_rows: int):
    """S.npz (second_moment, eigenvalues descending, eigenvectors, n_samples, mean) and S.npz.manifest.json,
    both written atomically."""
    import io
    from lindae.derivations.files import atomic_write_bytes, atomic_write_json
    from lindae.validation.provenance import environment
    spec = moments.spectrum(center)
    buf = io.BytesIO()
    np.savez(buf, second_moment=moments.second_moment, eigenvalues=spec.eigenvalues, eigenvectors=spec.eigenvectors,
             n_samples=moments.n_samples, mean=moments.mean, centred=bool(center))
    atomic_write_bytes(path, buf.getvalue())
    atomic_write_json(os.fspath(path) + ".manifest.json", {
        "source": source_desc, "fingerprint": moments.fingerprint, "n_samples": moments.n_samples,
        "dimension": int(moments.second_moment.shape[0]), "centred": bool(center), "chunk_rows": chunk_rows,
        "chunks": moments.chunks, "seconds": round(moments.seconds, 3), "bytes_read": moments.bytes_read,
        "environment": environment()})
    return spec


def load_spectrum_file(path):
    """The :class:`lindae.validation.data.spectrum.Spectrum` stored in an S.npz written by :func:`write_spectrum_file`."""
    from lindae.validation.data.spectrum import Spectrum
    if not os.path.exists(path):
        raise DataNotFound(f"spectrum file not found: {path}")
    try:
        with np.load(path) as z:
            centred = bool(z["centred"]) if "centred" in z.files else False
            return Spectrum(np.asarray(z["eigenvalues"]), np.asarray(z["eigenvectors"]),
                            np.asarray(z["mean"]) if centred else None, int(z["n_samples"]))
    except (KeyError, ValueError, OSError) as exc:
        raise InvalidArgument(f"{path} is not a spectrum file written by 'lindae spectrum' ({exc})") from None
