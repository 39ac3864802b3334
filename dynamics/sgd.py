r"""Minibatch SGD, one mode at a time (S1, S2): the mean and the standard deviation of each mode's strength along
the whole learning curve, and their stationary values.

A balanced, aligned mode trained on minibatches of B samples moves as :math:`u' = u(1 + \eta g)^2`, with g's mean
and variance given u from S1. S2 gives the exact one-step mean :math:`F(u)` of u' and its variance :math:`Q(u)`.
:func:`sgd_mode_moments` propagates the distribution of :math:`\ell = \ln u` as a Gaussian (assumed-density
filtering): each step moves every Gauss-Hermite node of the current law by the log-normal law whose mean and
variance are :math:`F` and :math:`Q` at that node, and refits the Gaussian. In the growth phase u is a product of
independent factors, so :math:`\ell` is Gaussian there, and near the plateau the spread is small; both are kept
exactly to the order of S2. The linear-noise approximation's closed forms (:func:`sgd_stationary`) give the
plateau's spread and bias.

    >>> from lindae import dynamics
    >>> mean, std = dynamics.sgd_stationary(1.0, noise_var=0.5, lr=0.05, batch_size=1)
    >>> round(float(std), 4)                      # S2's V_inf for Gaussian data: 2ηλu*²(1 - u*)²/(B(1 - ηλ))
    0.0721
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_array, as_int, broadcast
from .errors import OVERFLOW_GUARD, DivergenceError, InvalidArgument

#: Gauss-Hermite nodes of the propagated Gaussian law of ln u.
NODES = 40


def _step_moments(sampled):
    from lindae.derivations import sgd_step_moments_function
    return sgd_step_moments_function(bool(sampled))


def _fourth(lam, fourth_moment):
    return 3.0 * lam ** 2 if fourth_moment is None else np.asarray(as_array("fourth_moment", fourth_moment, lo=0.0))


def sgd_stationary(lam, *, noise_var=0.0, weight_decay=0.0, lr, batch_size, sampled_noise=False, fourth_moment=None):
    r"""The stationary mean and standard deviation of each mode under minibatch SGD (S2, linear-noise
    approximation, to leading order in η/B):

    .. math:: \bar u_\infty = u^* - \frac{\eta u^*\sigma_g^2(u^*)}{2\kappa},\qquad
              \operatorname{sd}_\infty = \sqrt{\frac{\eta u^{*2}\sigma_g^2(u^*)}{\kappa(1 - \eta\kappa)}}

    with S1's :math:`\sigma_g^2` (``fourth_moment`` :math:`E x^4` per mode; default Gaussian, :math:`3\lambda^2`).
    Modes with κ = λ − γ ≤ 0 end at 0 with no spread.
    """
    lam, eps, gam, eta, B = broadcast(lam=as_array("lam", lam, lo=0.0), noise_var=as_array("noise_var", noise_var, lo=0.0),
                                      weight_decay=as_array("weight_decay", weight_decay, lo=0.0),
                                      lr=as_array("lr", lr, lo=0.0, lo_open=True),
                                      batch_size=as_array("batch_size", batch_size, lo=1.0))
    m4 = np.broadcast_to(_fourth(lam, fourth_moment), lam.shape)
    kap, xi = lam - gam, lam + eps
    learned = kap > 0
    x = np.where(xi > 0, xi, 1.0)
    us = np.where(learned, kap / x, 0.0)
    rest = np.where(learned, (gam + eps) / x, 1.0)              # 1 - u*, without cancellation
    sd_g = rest * np.sqrt(np.maximum(m4 - lam ** 2, 0.0))      # σ_g(u*)·√B, as a norm so that nothing underflows
    if sampled_noise:
        sd_g = np.hypot(np.hypot(sd_g, np.where(learned, (eps + 2 * gam - lam) / x, 1.0) * np.sqrt(lam * eps)),
                        np.sqrt(2.0) * eps * us)
    sd_g = sd_g / np.sqrt(B)
    k = np.where(learned, kap, 1.0)
    if np.any(learned & (eta * kap >= 1)):
        raise InvalidArgument("lr * (lam - weight_decay) must be below 1 for a stationary spread (S2)")
    mean = np.where(learned, us - eta * us * sd_g ** 2 / (2 * k), 0.0)
    sd = np.where(learned, us * sd_g * np.sqrt(eta / (k * (1 - eta * k))), 0.0)
    return (mean[()], sd[()]) if mean.ndim == 0 else (mean, sd)


@dataclass
class SGDMoments:
    """Predicted mean and standard deviation of every mode's strength at the recorded steps."""
    epochs: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def sgd_mode_moments(epochs, lam, *, noise_var=0.0, weight_decay=0.0, lr, batch_size, u0, sampled_noise=False,
                     fourth_moment=None, record_every=1):
    r"""Mean and standard deviation of each mode's strength under minibatch SGD from an aligned start u0 (S1, S2),
    at steps 0, ``record_every``, ..., ``epochs`` (one minibatch per step).

    Each step maps the Gaussian law N(μ, s²) of :math:`\ell = \ln u` through the conditional log-normal law of u'
    whose mean and variance are S2's :math:`F(u)` and :math:`Q(u)`:

    .. math:: \ell' \mid \ell \sim N\Big(\ell + \ln\frac{F}{u} - \tfrac12\ln\big(1 + \tfrac{Q}{F^2}\big),\;
              \ln\big(1 + \tfrac{Q}{F^2}\big)\Big),

    then refits μ and s² by Gauss-Hermite quadrature (``NODES`` nodes); the mean and spread of u are read out the
    same way. Works in logs throughout, so starts down to the smallest float and modes that never learn are fine.

    Raises
    ------
    DivergenceError
        When a mode's typical strength leaves the overflow guard (lr far above the stable range).
    """
    K = as_int("epochs", epochs, lo=0)
    every = as_int("record_every", record_every, lo=1)
    lam = np.atleast_1d(np.asarray(as_array("lam", lam, lo=0.0), dtype=float))
    u0 = np.broadcast_to(np.asarray(as_array("u0", u0, lo=0.0, lo_open=True), dtype=float), lam.shape)
    eps = float(as_array("noise_var", noise_var, lo=0.0))
    gam = float(as_array("weight_decay", weight_decay, lo=0.0))
    eta = float(as_array("lr", lr, lo=0.0, lo_open=True))
    B = float(as_int("batch_size", batch_size, lo=1))
    m4 = np.broadcast_to(_fourth(lam, fourth_moment), lam.shape).astype(float)
    if m4.shape != lam.shape:
        raise InvalidArgument(f"fourth_moment must have one value per mode ({lam.size})")
    step = _step_moments(sampled_noise)
    x, w = np.polynomial.hermite_e.hermegauss(NODES)
    w = w / w.sum()
    mu, s2 = np.log(u0), np.zeros(lam.size)
    guard = np.log(OVERFLOW_GUARD)
    rows = list(range(0, K + 1, every))
    if rows[-1] != K:
        rows.append(K)
    mean, std = np.empty((len(rows), lam.size)), np.empty((len(rows), lam.size))
    r = 0
    for k in range(K + 1):
        L = mu + np.sqrt(s2) * x[:, None]
        top = np.max(L, axis=0)
        if not np.all(np.isfinite(top) & (top < guard)):
            bad = int(np.argmax(np.where(np.isfinite(top), top, np.inf))) + 1
            raise DivergenceError(f"SGD theory diverges: mode {bad} leaves the overflow guard at step {k} (lr = {eta:g})",
                                  step=k, mode=bad, partial=SGDMoments(np.asarray(rows[:r]), mean[:r], std[:r]))
        if k == rows[r]:
            U = np.exp(L)
            mean[r] = w @ U
            std[r] = np.sqrt(w @ (U - mean[r]) ** 2)
            r += 1
        if k == K:
            break
        ratio, qv = step(np.exp(L), lam, eps, gam, eta, B, m4)
        spread = np.log1p(qv / ratio ** 2)
        Ln = L + np.log(ratio) - 0.5 * spread
        mu = w @ Ln
        s2 = w @ (Ln - mu) ** 2 + w @ spread
    return SGDMoments(np.asarray(rows), mean, std)
