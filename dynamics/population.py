r"""Finite data predicted from the population alone: the sample spectrum and test moments of a spiked population
(Marchenko-Pastur bulk, Baik-Ben Arous-Péché and Paul spikes) and the train and test error curves they imply.

A population with second moment :math:`\Sigma = \sigma^2 I + \sum_k(\ell_k - \sigma^2)v_kv_k^\top` is sampled
N times in D dimensions, :math:`c = D/N`. In the limit:

* a spike above :math:`\sigma^2(1 + \sqrt c)` gives an outlier :math:`\hat\lambda_k` and a test moment
  :math:`M_{kk} = \hat v_k^\top\Sigma\hat v_k` (:func:`spiked_limits`, scaled by :math:`\sigma^2`);
* the other sample eigenvalues follow the Marchenko-Pastur law of ratio c and scale :math:`\sigma^2`: the i-th
  largest of the n bulk values is taken at the quantile :math:`1 - (i - \tfrac12)/n`
  (:func:`marchenko_pastur_quantiles`);
* a bulk direction sees :math:`\sigma^2` plus its share of what the outliers' sample vectors miss of the spikes,
  :math:`\sum_k(\ell_k - \sigma^2)(1 - |\langle\hat v_k, v_k\rangle|^2)/n`, spread evenly over the bulk (exact
  on average over the bulk; each direction's share is O(1/D)).

With these, G1 on the exact per-mode GD map (R12) from an aligned start gives the expected train and test error
curves before any data is drawn (:func:`population_error_curves`).
"""
from __future__ import annotations

import numpy as np

from ._checks import as_array, as_int
from .errors import InvalidArgument
from .generalisation import spiked_limits, test_error

#: Points of the angle grid on which the Marchenko-Pastur quantiles are first located.
MP_GRID = 20001


def marchenko_pastur_quantiles(n_modes, aspect, *, bulk=1.0):
    r"""The n = ``n_modes`` values of the Marchenko-Pastur law (ratio c = ``aspect``, scale σ² = ``bulk``) at the
    quantiles :math:`1 - (i - \tfrac12)/n`, largest first.

    .. math:: f(x) = \frac{\sqrt{(b - x)(x - a)}}{2\pi c\sigma^2 x},\qquad a, b = \sigma^2(1 \mp \sqrt c)^2,

    with an atom of mass :math:`1 - 1/c` at 0 when c > 1. In the angle :math:`x = m - r\cos\theta`
    (:math:`m, r = (b \pm a)/2`) the distribution function of the continuous part is elementary,

    .. math:: F(\theta) = \frac{r(\theta + \sin\theta) + a\theta
              - 2\sqrt{ab}\arctan\big(\sqrt{b/a}\tan\tfrac\theta2\big)}{2\pi c\sigma^2},

    (its total is min(1, 1/c)); each quantile is found on a grid in θ and polished by Newton steps with
    :math:`dF/d\theta = (b - x)(x - a)/(2\pi c\sigma^2 x)`.
    """
    n = as_int("n_modes", n_modes, lo=1)
    c = float(as_array("aspect", aspect, lo=0.0, lo_open=True))
    s2 = float(as_array("bulk", bulk, lo=0.0, lo_open=True))
    a, b = s2 * (1 - np.sqrt(c)) ** 2, s2 * (1 + np.sqrt(c)) ** 2
    m, r, g = 0.5 * (a + b), 0.5 * (b - a), np.sqrt(a * b)

    def F(theta):
        arc = 0.0 if a == 0 else 2 * g * np.arctan(np.sqrt(b / a) * np.tan(0.5 * theta))
        return (r * (theta + np.sin(theta)) + a * theta - arc) / (2 * np.pi * c * s2)

    def dF(theta):
        x = m - r * np.cos(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (b - x) * np.where(x > 0, (x - a) / x, 1.0) / (2 * np.pi * c * s2)

    atom = max(0.0, 1.0 - 1.0 / c)
    p = 1.0 - (np.arange(n) + 0.5) / n
    cont = p > atom
    grid = np.linspace(0.0, np.pi, MP_GRID)
    theta = np.interp(p[cont] - atom, F(grid), grid)
    for _ in range(4):
        slope = dF(theta)
        step = np.where(slope > 0, (F(theta) - (p[cont] - atom)) / np.where(slope > 0, slope, 1.0), 0.0)
        theta = np.clip(theta - step, 0.0, np.pi)
    out = np.zeros(n)
    out[cont] = m - r * np.cos(theta)
    return out


def spiked_sample_spectrum(n_modes, n_samples, spikes=(), *, bulk=1.0):
    r"""Predicted sample eigenvalues :math:`\hat\lambda` (largest first) and test moments :math:`M_{ii}` of a spiked
    population (module docstring): D = ``dim`` dimensions, N = ``n_samples`` samples, population eigenvalues
    ``spikes`` over a bulk of variance σ² = ``bulk``.

    Returns
    -------
    (lam_hat, test_moment) : ndarray (D,), ndarray (D,)
    """
    D, N = as_int("n_modes", n_modes, lo=1), as_int("n_samples", n_samples, lo=1)
    s2 = float(as_array("bulk", bulk, lo=0.0, lo_open=True))
    ell = np.sort(np.atleast_1d(as_array("spikes", spikes, lo=0.0, lo_open=True)).ravel())[::-1]
    if ell.size >= D:
        raise InvalidArgument(f"a spiked population needs fewer spikes than dimensions; got {ell.size} and D = {D}")
    c = D / N
    outliers, moments, missed = [], [], 0.0
    for l in ell:
        lam_hat, overlap2, _ = spiked_limits(l / s2, c)
        if overlap2 > 0:
            outliers.append(s2 * lam_hat)
            moments.append(s2 + (l - s2) * overlap2)
        missed += (l - s2) * (1.0 - overlap2)
    n_bulk = D - len(outliers)
    lam = np.concatenate([outliers, marchenko_pastur_quantiles(n_bulk, c, bulk=s2)])
    M = np.concatenate([moments, np.full(n_bulk, s2 + missed / n_bulk)])
    order = np.argsort(-lam, kind="stable")
    return lam[order], M[order]


def population_error_curves(lam, test_moment, *, hidden, lr, epochs, u0, noise_var=0.0, weight_decay=0.0,
                            test_noise_var=None, record_every=1):
    r"""Train and test error curves, from the sample eigenvalues ``lam`` (:math:`\hat\lambda_i`), of an aligned start (every one of the top ``hidden`` modes at strength u0, the rest
    at 0) under full-batch GD, from sample eigenvalues and test moments alone: G1 on the exact per-mode map (R12).

    .. math:: E_\text{test}(k) = \sum_i \tfrac12 M_{ii}(1 - s_i(k))^2 + \tfrac{\varepsilon_t}{2}s_i(k)^2,\qquad
              E_\text{train}(k) = \text{the same with } \hat\lambda_i \text{ for } M_{ii}

    ``test_noise_var`` ε_t defaults to the training noise (the denoising error); the clean errors have ε_t = 0.

    Returns
    -------
    dict
        ``epochs``, ``test_error``, ``test_denoising_error``, ``train_error``, ``train_denoising_error`` (K,), and
        ``strengths`` (K, hidden).
    """
    from . import gd_modes
    lam = np.asarray(as_array("lam", lam, lo=0.0), dtype=float).ravel()
    M = np.asarray(as_array("test_moment", test_moment, lo=0.0), dtype=float).ravel()
    if lam.shape != M.shape:
        raise InvalidArgument(f"lam and test_moment must have one length; got {lam.size} and {M.size}")
    H = min(as_int("hidden", hidden, lo=1), lam.size)
    order = np.argsort(-lam, kind="stable")
    lam, M = lam[order], M[order]
    root = np.full(H, np.sqrt(float(as_array("u0", u0, lo=0.0, lo_open=True))))
    run = gd_modes(epochs, lam[:H], noise_var=noise_var, weight_decay=weight_decay, a0=root, b0=root, lr=lr,
                   record_every=record_every)
    S = np.zeros((len(run.epochs), lam.size))
    S[:, :H] = run.strengths
    et = noise_var if test_noise_var is None else test_noise_var
    return {"epochs": np.asarray(run.epochs), "strengths": np.asarray(run.strengths),
            "test_error": test_error(S, M), "test_denoising_error": test_error(S, M, test_noise_var=et),
            "train_error": test_error(S, lam), "train_denoising_error": test_error(S, lam, test_noise_var=et)}
