"""Provenance of a run: versions, machine, git commit."""
from __future__ import annotations

import os
import platform
import subprocess


def _commit_of(folder):
    """'SHA' or 'SHA+dirty' of the git checkout holding ``folder``, or None."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _is_lindae_checkout(folder):
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        with open(os.path.join(top, "setup.cfg"), encoding="utf-8") as fh:
            return top and "name = lindae" in fh.read()
    except (OSError, subprocess.SubprocessError):
        return False


def git_commit() -> str:
    """The commit of the lindae checkout (with '+dirty' if it has changes), or 'unknown'.

    An installed (non-editable) copy is in no checkout; it is then the commit of the lindae checkout in the
    working directory, marked "(working directory)", since README command 1 installs from there.
    """
    here = _commit_of(os.path.dirname(os.path.abspath(__file__)))
    if here is not None:
        return here
    cwd = os.getcwd()
    if _is_lindae_checkout(cwd):
        sha = _commit_of(cwd)
        if sha is not None:
            return sha + " (working directory)"
    return "unknown"


def environment() -> dict:
    """Versions of Python and the numeric stack, and the machine."""
    from importlib.metadata import version

    import mpmath
    import numpy
    import scipy
    import sympy

    import lindae
    return {"lindae": lindae.__version__, "python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "sympy": sympy.__version__, "mpmath": mpmath.__version__, "matplotlib": version("matplotlib"),
            "machine": platform.machine(), "system": platform.system(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "git_commit": git_commit()}


def machine_speed(repeats=30) -> float:
    """GFlop/s of one core on the eigenbasis step's main product (a float64 H x D by D x H ``dgemm`` with H = 256,
    D = 784, one BLAS thread; the best of ``repeats``). ``reproduce`` records it at its start and end: the same
    machine has been measured anywhere from 4.5 to 7.9 ms per Figure 5 epoch within an hour, so a run's times
    are comparable only with this next to them."""
    import time

    import numpy as np
    from scipy.linalg.blas import dgemm

    from lindae.dynamics._blas import one_blas_thread
    rng = np.random.default_rng(0)
    A = np.asfortranarray(rng.standard_normal((256, 784)))
    best = np.inf
    with one_blas_thread():
        dgemm(1.0, A, A, trans_b=1)
        for _ in range(repeats):
            t = time.perf_counter()
            dgemm(1.0, A, A, trans_b=1)
            best = min(best, time.perf_counter() - t)
    return 2 * 256 * 784 * 256 / best / 1e9

