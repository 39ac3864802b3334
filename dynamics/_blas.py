"""BLAS pinned to one thread, for loops of mid-sized products where OpenBLAS's threads cost more than they give."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def one_blas_thread():
    """BLAS pinned to one thread in the block (a worker sharing the cores with others, or a loop alternating
    NumPy and SciPy calls). threadpoolctl limits only the libraries loaded when the block starts, so SciPy's
    bundled OpenBLAS (NumPy brings its own) is loaded first; without that, code that first touches scipy.linalg
    inside the block runs it on every core, and the two libraries' thread pools wait for each other."""
    import scipy.linalg.blas  # noqa: F401  (loads SciPy's OpenBLAS)
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):
        yield
