r"""Every mode's strength under small random initialisation: R15's Riccati theory, evaluated stably.

R15 predicts :math:`s_i(t) = W_{ii}(t)` with :math:`W = XM^{-1}X^\top`, :math:`X = e^{Kt}Y_0`,
:math:`M = I + Y_0^\top C Y_0`. Written with :math:`E_i = e^{2\kappa_it}` and :math:`c_i` only,

.. math:: s_i = E_i\,y_i^\top M^{-1}y_i = \frac{E_i}{c_i}\,h_i,\qquad
          h_i = \big[\tilde Y(I + \tilde Y^\top\tilde Y)^{-1}\tilde Y^\top\big]_{ii},\quad \tilde Y = C^{1/2}Y_0,

where :math:`h_i` is the leverage of row i of the stacked matrix :math:`[\tilde Y; I]`. The rows
span e^{±1000} and more, so everything is computed from :math:`\log c_i` and :math:`\log E_i`:
rows are scaled by :math:`e^{(\log c_i - m)/2}` (m the largest, capped at :data:`LOG_CAP`), sorted by
size and factorised by Householder QR, which is accurate row by row for such graded matrices. A
saturated mode (:math:`c_i\|y_i\|^2 > 1`) uses :math:`(E_i/c_i)h_i`; any other uses
:math:`E_i\|Q_I^\top y_i\|^2`, with :math:`Q_I` the identity block of Q, since :math:`M^{-1} = Q_IQ_I^\top`.

Discrete time (``lr``): each mode's :math:`E_i = (1 + \eta\kappa_i)^{2k}` is its linear growth under
GD, and :math:`c_i = E_i/s_i^\mathrm{GD} - 1/u_{0i}` is chosen so that a mode alone follows R12's
exact map from the balanced start :math:`u_{0i} = \|y_i\|^2`. Continuous time: R15's :math:`c_i(t)`.

The warp (R15, last step; only when D > H): once every hidden direction is in use, a mode displaces
another from a shared direction at :math:`(1 - \rho^2/2)` times the surrogate's rate. That factor
multiplies the *differences* between modes, so the log-weights are evaluated at a warped time
:math:`\tau`, :math:`d\tau = (1 - \tfrac12\sigma u^*_H)\,dt`, and shifted back by one common constant so
that mode H (the H-th largest eigenvalue) keeps its own unwarped :math:`c_H(t)`:
:math:`\log c_i \leftarrow \log c_i(\tau) - \log c_H(\tau) + \log c_H(t)`. Here σ is the saturation of
the least saturated hidden direction (:math:`1 - \lambda_{\max}(Q_I^\top Q_I)`) and :math:`u^*_H` the fixed
point of mode H; τ advances by explicit Euler on a grid of step ``warp_dt`` (added to the requested one).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from ._checks import as_array, as_int
from .statements import implements
from .errors import InvalidArgument, InvalidArgumentType

#: Largest log c_i used in the factorisation (c_i above it are capped); exact while at most H modes exceed it.
LOG_CAP = 1300.0


@implements("R15", 0, call={"t": "t", "lam": "lam", "noise_var": "eps", "weight_decay": "gamma"},
            domain={"t": (0.01, 5)})
def saturation_weight(t, lam, *, noise_var=0.0, weight_decay=0.0):
    r"""R15's :math:`c(t) = \xi\,(e^{2\kappa t} - 1)/\kappa` (:math:`2\xi t` at κ = 0), by ``expm1``.

    Returns inf where c exceeds the float64 range (2κt > 709); :func:`random_init_strength` works
    with :func:`log_saturation_weight` instead and never forms c itself.
    """
    with np.errstate(over="ignore"):
        return np.exp(log_saturation_weight(t, lam, noise_var=noise_var, weight_decay=weight_decay))


def log_saturation_weight(t, lam, *, noise_var=0.0, weight_decay=0.0):
    r""":math:`\log c(t)` without overflow: :math:`\log(\xi/\kappa) + 2\kappa t + \log(1 - e^{-2\kappa t})` for κ > 0."""
    t, lam, noise_var, weight_decay = (as_array(n, v, lo=0.0) for n, v in (("t", t), ("lam", lam), ("noise_var", noise_var), ("weight_decay", weight_decay)))
    kap, xi = lam - weight_decay, lam + noise_var
    x = 2 * kap * t
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.log(xi / np.abs(kap)) + np.where(kap > 0, x + np.log(-np.expm1(-np.abs(x))), np.log(-np.expm1(-np.abs(x))))
        zero = np.log(2 * xi * t)
    return np.where(kap == 0, zero, pos)


def _strengths(logE, logc, Y, u0):
    """s_i at one time from log E_i, log c_i (possibly warped) and log c_i (unwarped); see the module docstring."""
    logc_w, logc_t = logc
    D, H = Y.shape
    live = np.isfinite(logc_w)
    if not np.any(live):
        return np.exp(logE) * u0, 0.0
    # Y = g * Yn with g the largest row norm, so that c_i enters only through log c_i + 2 log g
    g = float(np.sqrt(np.max(u0)))
    Yn = Y / g
    lc = np.minimum(np.where(live, logc_w + 2 * np.log(g), -np.inf), LOG_CAP)
    m = float(np.max(lc))
    with np.errstate(under="ignore"):
        scale = np.exp(0.5 * (lc - m))
        reg = np.exp(-0.5 * m)
    A = np.vstack([scale[:, None] * Yn, reg * np.eye(H)])
    order = np.argsort(-np.concatenate([scale * np.sqrt(u0) / g, np.full(H, reg)]), kind="stable")
    Qs, R = np.linalg.qr(A[order])
    Q = np.empty_like(Qs)
    Q[order] = Qs
    lev, QI = np.sum(Q[:D] ** 2, axis=1), Q[D:]
    # unsaturated rows: y_i^T M^-1 y_i = e^{-m} g^2 |R^-T yn_i|^2 (A^T A = e^{-m} M), by a triangular solve,
    # which keeps the relative accuracy that Q's tiny identity block loses when c_i spans many decades
    Z = solve_triangular(R, Yn.T, trans="T", check_finite=False)
    zmax = np.max(np.abs(Z), axis=0)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        log_q = 2 * np.log(zmax) + np.log(np.sum((Z / np.where(zmax > 0, zmax, 1.0)) ** 2, axis=0))
        direct = np.exp(logE - m + 2 * np.log(g) + log_q)
        saturated = np.exp(logE - logc_t) * lev
        s = np.where(logc_t + np.log(u0) > 0, saturated, direct)
    s = np.where(u0 == 0, 0.0, s)           # a mode with no growing part stays at zero (exactly)
    if not np.all(np.isfinite(s)):
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise FloatingPointError(f"R15 could not be evaluated for mode {bad + 1} (log c = {logc_t[bad]:.6g}, "
                                 f"u0 = {u0[bad]:.3g}); this is a bug, please report it")
    sigma = 1.0 - float(np.linalg.eigvalsh(QI.T @ QI)[-1])
    return s, min(max(sigma, 0.0), 1.0)


def _check_start(lam, growing):
    lam = np.atleast_1d(as_array("lam", lam, lo=0.0))
    Y = as_array("growing", growing)
    if lam.ndim != 1 or Y.ndim != 2 or Y.shape[0] != lam.size or Y.shape[1] < 1:
        raise InvalidArgument(f"need lam (D,) and growing (D, H) with H >= 1; got {lam.shape} and {Y.shape}")
    return lam, Y


def random_init_strength(lam, growing, *, noise_var=0.0, weight_decay=0.0, lr=None, epochs=None, record_every=1, t=None,
                         warp=True, warp_dt=0.1):
    r"""R15: every mode's strength from the actual small random start.

    Parameters
    ----------
    lam : array_like (D,)
        Eigenvalues λ_i >= 0 (any order).
    growing : array_like (D, H)
        Row i is the growing part :math:`y_i = (W_1(0)v_i + W_2(0)^\top v_i)/2` of mode i (R14).
    noise_var, weight_decay : float
        Noise variance and weight decay.
    lr, steps, record_every : float, int, int
        Discrete time: the exact per-mode GD map (R12) is the single-mode limit; the result is at
        steps 0, record_every, ..., steps.
    t : array_like (T,)
        Continuous time instead (non-decreasing, >= 0): R15's closed form.
    warp : bool
        Apply the competition time warp (default; it acts only when D > H); without it, the plain
        Riccati surrogate.
    warp_dt : float
        Time step (in units of t = lr * k) on which the warp is advanced, independent of the
        recorded grid (the cost is one QR factorisation per step).

    Returns
    -------
    times : ndarray (K,)
        The recorded steps (discrete) or times (continuous).
    s : ndarray (K, D)
        Predicted strengths :math:`s_i`.
    """
    from .gd import _record_steps, gd_modes
    lam, Y = _check_start(lam, growing)
    noise_var = float(as_array("noise_var", noise_var, lo=0.0))
    weight_decay = float(as_array("weight_decay", weight_decay, lo=0.0))
    warp_dt = float(as_array("warp_dt", warp_dt, lo=0.0, lo_open=True))
    kap, xi = lam - weight_decay, lam + noise_var
    u0 = np.sum(Y * Y, axis=1)
    H = Y.shape[1]
    order = np.argsort(-lam, kind="stable")
    # the warp acts only at the capacity limit: with D <= H every mode ends in a direction of its own
    ref = order[min(H, lam.size) - 1]
    u_h = max(kap[ref] / xi[ref], 0.0) if warp and lam.size > H else 0.0
    if t is None:
        if lr is None or epochs is None:
            raise InvalidArgumentType("give t, or lr and steps")
        lr = float(as_array("lr", lr, lo=0.0, lo_open=True))
        epochs, rec = _record_steps(epochs, record_every)
        if np.any(1 + lr * kap <= 0):
            raise InvalidArgument(f"lr = {lr:g} makes 1 + eta (lam - weight_decay) <= 0 for some mode; no GD growth law")
        s_iso = gd_modes(epochs, lam, noise_var=noise_var, weight_decay=weight_decay, a0=np.sqrt(u0), b0=np.sqrt(u0),
                         lr=lr).strengths
        k = np.arange(epochs + 1, dtype=float)
        log_e = 2 * k[:, None] * np.log1p(lr * kap)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            ratio = np.minimum(np.exp(np.log(s_iso) - log_e - np.log(u0)), 1.0)
            log_c = log_e - np.log(s_iso) + np.log1p(-ratio)
        log_c = np.where(np.isnan(log_c) & (u0 == 0), -np.inf, log_c)     # no growing part: c plays no role

        def log_c_at(x):                     # linear interpolation in the step index
            j = min(int(np.floor(x)), epochs)
            f = x - j
            return log_c[j] if f == 0 or j == epochs else (1 - f) * log_c[j] + f * log_c[j + 1]
        extra = np.arange(0, epochs + 1, max(1, int(round(warp_dt / lr)))) if u_h > 0 else rec
        grid = np.union1d(rec, extra)

        def rows(x):
            return log_e[int(x)], log_c[int(x)]
    else:
        times = np.atleast_1d(as_array("t", t, lo=0.0))
        if times.ndim != 1 or np.any(np.diff(times) < 0):
            raise InvalidArgument("t must be a non-decreasing one-dimensional array")
        rec = times

        def log_c_at(x):
            return log_saturation_weight(x, lam, noise_var=noise_var, weight_decay=weight_decay)

        def rows(x):
            return 2 * kap * x, log_c_at(x)
        extra = np.arange(0, times[-1], warp_dt) if u_h > 0 and len(times) else times
        grid = np.union1d(times, extra)
    out = np.empty((len(rec), lam.size))
    where = {float(x): j for j, x in enumerate(rec)}
    tau, prev, sigma = 0.0, 0.0, 0.0
    for x in grid:
        tau += (x - prev) * (1 - 0.5 * sigma * u_h)
        prev = x
        log_e_x, log_c_x = rows(x)
        if x == 0:
            s = u0
        else:
            if u_h > 0:     # warp the differences between modes only: mode H keeps its own c
                warped = log_c_at(tau)
                if np.isfinite(log_c_x[ref]) and np.isfinite(warped[ref]):
                    warped = warped + (log_c_x[ref] - warped[ref])
            else:
                warped = log_c_x
            s, sigma = _strengths(log_e_x, (warped, log_c_x), Y, u0)
        if float(x) in where:
            out[where[float(x)]] = s
    return rec, out
