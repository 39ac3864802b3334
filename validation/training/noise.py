"""Fresh Gaussian input noise every epoch, drawn into one preallocated buffer on both cores.

Sampled-noise training of linear autoencoders (``sampled_noise=True``, shallow and deep) draws N x D
normal numbers per epoch (the ReLU autoencoder of Figure 6 needs only n·H + H·D of them, see
:class:`lindae.validation.training.relu.ReluStep`), which on MNIST costs more than the epoch's
matrix products when done on one core. :class:`NoiseBuffer` splits the rows into a fixed number
of blocks, each with its own SFC64 generator (measured ~1.8x faster than PCG64 for normals here)
spawned from one seed (:class:`numpy.random.SeedSequence`),
and fills them from a thread pool (NumPy's generators release the GIL). The draws depend only on
the seed and the number of blocks, never on the number of threads.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Number of independent noise streams (fixed, so results do not depend on the machine).
BLOCKS = 2


class NoiseBuffer:
    """``x + std * n`` with fresh n ~ N(0, I) per call, written into a buffer of ``max_rows`` x D.

    Parameters
    ----------
    max_rows, dim : int
        Largest number of rows drawn at once (N, or the batch size) and the data dimension D.
    std : float
        Standard deviation of the noise (> 0).
    seed : int or None
        Seed of the :class:`numpy.random.SeedSequence` the block generators are spawned from.
    dtype : numpy dtype
        float64 or float32.
    """

    def __init__(self, max_rows, dim, std, seed, dtype=np.float64):
        self.buffer = np.empty((max_rows, dim), dtype=dtype)
        self.std = np.dtype(dtype).type(std)
        self.generators = [np.random.Generator(np.random.SFC64(s))
                           for s in np.random.SeedSequence(seed).spawn(BLOCKS)]
        self._pool = ThreadPoolExecutor(min(BLOCKS, os.cpu_count() or 1))

    def _fill(self, job):
        gen, block, clean = job
        gen.standard_normal(out=block, dtype=block.dtype)
        block *= self.std
        block += clean

    def add_to(self, X):
        """The buffer's first len(X) rows, set to X + std * fresh noise."""
        out = self.buffer[:len(X)]
        edges = np.linspace(0, len(X), BLOCKS + 1).astype(int)
        jobs = [(g, out[lo:hi], X[lo:hi]) for g, lo, hi in zip(self.generators, edges[:-1], edges[1:])]
        list(self._pool.map(self._fill, jobs))
        return out

    def close(self):
        self._pool.shutdown(wait=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
