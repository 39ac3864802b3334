r"""Finite data: test error per mode (G1), each mode's best value (G2) and when it passes it (G3), and the best
single noise level (G4) and weight decay (G5).

Training sees the eigenvalues :math:`\hat\lambda_i` of :math:`\hat\Sigma = X^\top X/N`; the test data have second
moment :math:`\Sigma`, and :math:`M_{ii} = \hat v_i^\top\Sigma\hat v_i` (``test_moment``). The test inputs carry
noise of variance :math:`\varepsilon_t` (``test_noise_var``): 0 for the clean test error, the run's own
:math:`\varepsilon` for the denoising test error.

    >>> import numpy as np
    >>> float(best_strength(3.4286, test_noise_var=0.5))    # a spike's M_11 (docs/theory.md), DAE noise 0.5
    0.872...
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from ._checks import as_array, as_int, broadcast
from .errors import InvalidArgument
from .statements import implements


def _moments(lam, test_moment):
    lam = np.atleast_1d(as_array("lam", lam, lo=0.0))
    M = np.atleast_1d(as_array("test_moment", test_moment, lo=0.0))
    if lam.shape != M.shape or lam.ndim != 1:
        raise InvalidArgument(f"lam and test_moment must be 1-D of one length; got {lam.shape} and {M.shape}")
    return lam, M


@implements("G1", 1, call={"s": "s", "test_moment": "M", "test_noise_var": "epsilont"}, domain={"s": (-0.5, 1.5)})
def mode_test_error(s, test_moment, *, test_noise_var=0.0):
    r"""One mode's test error at strength s (G1): :math:`e = \tfrac12 M(1 - s)^2 + \tfrac{\varepsilon_t}{2}s^2`."""
    s, M, e = broadcast(s=as_array("s", s), test_moment=as_array("test_moment", test_moment, lo=0.0),
                        test_noise_var=as_array("test_noise_var", test_noise_var, lo=0.0))
    out = 0.5 * M * (1.0 - s) ** 2 + 0.5 * e * s ** 2
    return out[()] if out.ndim == 0 else out


def test_error(strengths, test_moment, *, test_noise_var=0.0):
    r"""Test error of a diagonal :math:`\tilde W` (G1): :math:`\sum_i e_i(s_i)` over the last axis of
    ``strengths`` (K, D) (every mode, learned or not)."""
    S = as_array("strengths", strengths)
    M = np.atleast_1d(as_array("test_moment", test_moment, lo=0.0))
    if S.shape[-1] != M.size:
        raise InvalidArgument(f"strengths has {S.shape[-1]} modes, test_moment {M.size}")
    return np.sum(mode_test_error(S, M, test_noise_var=test_noise_var), axis=-1)


@implements("G2", 0, call={"test_moment": "M", "test_noise_var": "epsilont"})
def best_strength(test_moment, *, test_noise_var=0.0):
    r"""Each mode's best value (G2): :math:`s^\circ = M/(M + \varepsilon_t)` (1 for the clean error)."""
    M, e = broadcast(test_moment=as_array("test_moment", test_moment, lo=0.0),
                     test_noise_var=as_array("test_noise_var", test_noise_var, lo=0.0))
    with np.errstate(invalid="ignore"):
        out = np.where(M + e > 0, M / np.where(M + e > 0, M + e, 1.0), 1.0)
    return out[()] if out.ndim == 0 else out


@implements("G2", 1, call={"test_moment": "M", "test_noise_var": "epsilont"})
def best_mode_test_error(test_moment, *, test_noise_var=0.0):
    r"""Each mode's test error at its best value (G2): :math:`M\varepsilon_t/(2(M + \varepsilon_t))`."""
    M, e = broadcast(test_moment=as_array("test_moment", test_moment, lo=0.0),
                     test_noise_var=as_array("test_noise_var", test_noise_var, lo=0.0))
    denom = np.where(M + e > 0, M + e, 1.0)
    out = 0.5 * M * e / denom
    return out[()] if out.ndim == 0 else out


def best_stopping_time(lam, test_moment, *, noise_var=0.0, weight_decay=0.0, test_noise_var=0.0, u0):
    r"""When each mode passes its best value along the balanced flow (G3):
    :math:`t^\circ = \frac{1}{2\kappa}\ln\frac{s^\circ(\kappa - \xi u_0)}{u_0(\kappa - \xi s^\circ)}`, and NaN where
    the mode never passes it (:math:`s^\circ \ge u^*`, or :math:`u_0 \ge s^\circ`, or :math:`\kappa \le 0`).

    Evaluated as ``log(s°) - log(u0) + log1p(-xi u0/kappa) - log1p(-xi s°/kappa)``, so tiny starts and s° close
    to u* keep their digits.
    """
    lam, M = _moments(lam, test_moment)
    u0 = np.broadcast_to(as_array("u0", u0, lo=0.0, lo_open=True), lam.shape)
    eps = float(as_array("noise_var", noise_var, lo=0.0))
    gam = float(as_array("weight_decay", weight_decay, lo=0.0))
    kap, xi = lam - gam, lam + eps
    so = best_strength(M, test_noise_var=test_noise_var)
    out = np.full(lam.shape, np.nan)
    ok = (kap > 0) & (so * xi < kap) & (u0 < so)
    k, x, s_, u_ = kap[ok], xi[ok], so[ok], u0[ok]
    out[ok] = (np.log(s_) - np.log(u_) + np.log1p(-x * u_ / k) - np.log1p(-x * s_ / k)) / (2 * k)
    return out


@implements("G4", 0, call={"lam": "lam", "test_moment": "M", "noise_var": "eps", "test_noise_var": "epsilont"})
def noise_gradient_terms(lam, test_moment, *, noise_var, test_noise_var=0.0):
    r"""Each mode's term of :math:`dE/d\varepsilon` along the DAE's fixed points (G4):
    :math:`g_i = -\hat\lambda_i[(M_{ii} + \varepsilon_t)\hat\lambda_i - M_{ii}(\hat\lambda_i + \varepsilon)]/(\hat\lambda_i + \varepsilon)^3`."""
    lam, M, e, et = broadcast(lam=as_array("lam", lam, lo=0.0), test_moment=as_array("test_moment", test_moment, lo=0.0),
                              noise_var=as_array("noise_var", noise_var, lo=0.0),
                              test_noise_var=as_array("test_noise_var", test_noise_var, lo=0.0))
    d = lam + e
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(d > 0, -lam * ((M + et) * lam - M * d) / np.where(d > 0, d, 1.0) ** 3, 0.0)
    return out[()] if out.ndim == 0 else out


def _kept(lam, hidden):
    order = np.argsort(-lam, kind="stable")
    H = lam.size if hidden is None else min(as_int("hidden", hidden, lo=1), lam.size)
    return order[:H]


def best_noise_var(lam, test_moment, *, test_noise_var=0.0, hidden=None, upper=1e8):
    r"""The single training noise whose fixed points :math:`s_i = \hat\lambda_i/(\hat\lambda_i + \varepsilon)` (the
    top ``hidden`` modes; the rest at 0) give the least test error, and that error (G4's root of
    :math:`\sum_i g_i`, or an end of [0, ``upper``]).

    Returns
    -------
    (noise_var, test_error) : float, float
    """
    lam, M = _moments(lam, test_moment)
    kept = _kept(lam, hidden)
    rest = 0.5 * float(np.sum(M)) - 0.5 * float(np.sum(M[kept]))

    def error(e):
        s = lam[kept] / (lam[kept] + e) if e > 0 else (lam[kept] > 0).astype(float)
        return rest + float(np.sum(mode_test_error(s, M[kept], test_noise_var=test_noise_var)))

    def slope(e):
        return float(np.sum(noise_gradient_terms(lam[kept], M[kept], noise_var=e, test_noise_var=test_noise_var)))

    candidates = [0.0, float(upper)]
    grid = np.concatenate([[0.0], np.geomspace(1e-12, upper, 400)])
    slopes = np.array([slope(e) for e in grid])
    for j in np.flatnonzero(np.sign(slopes[:-1]) * np.sign(slopes[1:]) < 0):
        candidates.append(brentq(slope, grid[j], grid[j + 1], xtol=1e-15, rtol=4 * np.finfo(float).eps))
    best = min(candidates, key=error)
    return float(best), error(best)


def best_weight_decay(lam, test_moment, *, test_noise_var=0.0, hidden=None):
    r"""The single weight decay whose fixed points :math:`s_i = \max(0, 1 - \gamma/\hat\lambda_i)` (the top ``hidden``
    modes, no noise) give the least test error, and that error: G5's :math:`\gamma^\circ = \varepsilon_t A/B` on each
    set of kept modes (top k with :math:`\hat\lambda_k > \gamma \ge \hat\lambda_{k+1}`), clipped to that interval,
    the best of them.

    Returns
    -------
    (weight_decay, test_error) : float, float
    """
    lam, M = _moments(lam, test_moment)
    kept = _kept(lam, hidden)
    l, m = lam[kept], M[kept]
    rest = 0.5 * float(np.sum(M)) - 0.5 * float(np.sum(m))

    def error(g):
        s = np.where(l > g, 1.0 - g / np.where(l > 0, l, 1.0), 0.0)
        return rest + float(np.sum(mode_test_error(s, m, test_noise_var=test_noise_var)))

    candidates = [0.0]
    for k in range(1, l.size + 1):
        top = l[:k]
        if top[-1] <= 0:
            break
        A, B = np.sum(1.0 / top), np.sum((m[:k] + test_noise_var) / top ** 2)
        lo = l[k] if k < l.size else 0.0
        candidates.append(float(np.clip(test_noise_var * A / B, lo, top[-1])))
    candidates.append(float(l[0]))
    best = min(candidates, key=error)
    return float(best), error(best)


def spiked_limits(spike, aspect):
    r"""Baik-Ben Arous-Péché and Paul (2007): the sample spike of a population with one eigenvalue
    :math:`\ell` over unit noise, in the limit :math:`D/N \to c` (``aspect``):

    .. math:: \hat\lambda \to \ell + \frac{c\,\ell}{\ell - 1},\qquad
              |\langle\hat v, v\rangle|^2 \to \frac{1 - c/(\ell - 1)^2}{1 + c/(\ell - 1)},\qquad
              M = \hat v^\top\Sigma\hat v \to 1 + (\ell - 1)|\langle\hat v, v\rangle|^2

    above the threshold :math:`\ell > 1 + \sqrt c`; below it :math:`\hat\lambda \to (1 + \sqrt c)^2` and the
    overlap vanishes.

    Returns
    -------
    (lam_hat, overlap2, test_moment) : floats
    """
    l = float(as_array("spike", spike, lo=0.0, lo_open=True))
    c = float(as_array("aspect", aspect, lo=0.0))
    if l <= 1 + np.sqrt(c):
        return (1 + np.sqrt(c)) ** 2, 0.0, 1.0
    overlap2 = (1 - c / (l - 1) ** 2) / (1 + c / (l - 1))
    return l + c * l / (l - 1), overlap2, 1 + (l - 1) * overlap2
