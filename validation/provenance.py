"""Provenance of a run: versions, machine, git commit."""
from __future__ import annotations

import os
import platform
import subprocess


def git_commit() -> str:
    """The commit of the lindae checkout (with '+dirty' if it has changes), or 'unknown'."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
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
