"""The data's second-moment matrix and its eigen-decomposition (docs/theory.md)."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from lindae.derivations.files import atomic_write_bytes
from lindae.dynamics._checks import as_array
from lindae.dynamics.errors import InvalidArgument, InvalidArgumentType


@dataclass(frozen=True)
class Spectrum:
    r"""Eigen-decomposition :math:`\Sigma = V\Lambda V^\top` of :math:`\Sigma = X^\top X/N`.

    Attributes
    ----------
    eigenvalues : ndarray (D,)
        Descending, clipped at 0 (rounding can make the smallest slightly negative).
    eigenvectors : ndarray (D, D)
        Columns are the eigenvectors v_i, in the same order.
    mean : ndarray (D,) or None
        The data mean when the data were centred (the model then sees centred data).
    n_samples : int
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    mean: np.ndarray | None
    n_samples: int


#: eigh is backward stable: the eigenvalues of a positive semidefinite Σ come back with absolute errors of up to
#: about D·ε_mach·λ_max. Values down to -ROUNDING·D·ε_mach·λ_max are taken as rounding and clipped to 0; anything
#: below is an error (Σ is not a second moment).
ROUNDING = 100


def as_spectrum(spectrum, n_samples=None) -> Spectrum:
    r"""A :class:`Spectrum`, or ``(eigenvalues, eigenvectors)`` as :func:`numpy.linalg.eigh` returns them (any
    order, eigenvectors as columns), checked and sorted into lindae's order (descending).

    Eigenvalues within rounding of zero (:data:`ROUNDING` · D · ε_mach · λ_max) are clipped to 0; a more
    negative one raises an error that names the worst. The eigenvectors must be orthonormal to 1e-6.
    """
    if isinstance(spectrum, Spectrum):
        lam, V, mean, n = spectrum.eigenvalues, spectrum.eigenvectors, spectrum.mean, spectrum.n_samples
    else:
        try:
            lam, V = spectrum
        except (TypeError, ValueError):
            raise InvalidArgumentType("spectrum must be a Spectrum or (eigenvalues, eigenvectors), as numpy.linalg.eigh "
                                      "returns them") from None
        mean, n = None, n_samples
    lam, V = as_array("eigenvalues", lam), as_array("eigenvectors", V)
    D = lam.size
    if lam.ndim != 1 or V.shape != (D, D):
        raise InvalidArgument(f"need eigenvalues (D,) and eigenvectors (D, D) as columns; got {lam.shape} and {V.shape}")
    top = float(np.max(np.abs(lam))) if D else 0.0
    tol = ROUNDING * D * np.finfo(float).eps * top
    worst = int(np.argmin(lam)) if D else 0
    if D and lam[worst] < -tol:
        raise InvalidArgument(f"the second moment is not positive semidefinite: eigenvalue {lam[worst]:.6g} (index "
                              f"{worst}) is below the rounding level -{tol:.3g} ({ROUNDING} D eps max|lambda|)")
    if D and np.max(np.abs(V.T @ V - np.eye(D))) > 1e-6:
        raise InvalidArgument("the eigenvectors (columns) are not orthonormal to 1e-6")
    order = np.argsort(-lam, kind="stable")
    return Spectrum(np.clip(lam[order], 0.0, None), np.ascontiguousarray(V[:, order]), mean,
                    n if n is not None else 0)


def second_moment(X, center=False):
    r"""Uncentred second moment :math:`X^\top X/N` (or the covariance of the centred data)."""
    if center:
        X = X - X.mean(axis=0)
    return (X.T @ X) / X.shape[0]


def compute_spectrum(X, center=False) -> Spectrum:
    """Eigen-decomposition of the second moment of X (descending eigenvalues)."""
    Sigma = second_moment(X, center)
    lam, V = np.linalg.eigh(Sigma)
    order = np.argsort(lam)[::-1]
    return Spectrum(np.clip(lam[order], 0.0, None), np.ascontiguousarray(V[:, order]),
                    X.mean(axis=0) if center else None, X.shape[0])


def data_fingerprint(X) -> str:
    """A short hash of the array's shape and bytes (cache key)."""
    h = hashlib.sha256(str(X.shape).encode())
    h.update(np.ascontiguousarray(X).view(np.uint8))
    return h.hexdigest()[:16]


def cached_spectrum(X, center=False, cache=None, log=print) -> Spectrum:
    """:func:`compute_spectrum`, cached on disk per (data fingerprint, center) in ``cache``."""
    if cache is None:
        return compute_spectrum(X, center)
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f"spectrum-{data_fingerprint(X)}-{'centred' if center else 'uncentred'}.npz")
    if os.path.exists(path):
        with np.load(path) as z:
            log(f"spectrum: cached ({os.path.basename(path)})")
            return Spectrum(z["eigenvalues"], z["eigenvectors"], z["mean"] if center else None, int(z["n"]))
    log(f"spectrum: eigen-decomposing a {X.shape[1]}x{X.shape[1]} second-moment matrix ...")
    spec = compute_spectrum(X, center)
    import io
    buf = io.BytesIO()
    np.savez(buf, eigenvalues=spec.eigenvalues, eigenvectors=spec.eigenvectors,
             mean=spec.mean if center else np.zeros(0), n=spec.n_samples)
    atomic_write_bytes(path, buf.getvalue())
    return spec
