"""Integration of the gradient flow with :func:`scipy.integrate.solve_ivp`.

Method and tolerances
---------------------
* Per-mode flow (R3): the right-hand side is generated from the symbolic layer
  (:func:`derivations.mode_flow_function`) and vectorised over modes. The default is DOP853
  (explicit Runge-Kutta of order 8) with rtol = 1e-10: the flow is smooth and, over the
  horizons of the paper's figures (lambda * t up to ~ 50), not stiff, so a high-order explicit
  method reaches tight tolerances in few steps. For very long horizons (lambda * t >> 1e3) the
  approach to the fixed point is stiff; ``method="LSODA"`` switches to BDF automatically and is
  what :func:`strength_by_ode` uses.
* Matrix flow: the same, on the flattened (W1, W2) with the gradient of :mod:`dynamics.matrix`.

atol defaults to 1e-14 times the initial weight scale (at least 1e-300), so tiny
initialisations (u0 ~ 1e-12) are resolved in relative terms.
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ._checks import as_array, broadcast
from .kernels import balanced_signed
from .matrix import sample_loss_and_gradient, second_moment_root
from .errors import InvalidArgument


def _times(t):
    t = np.atleast_1d(as_array("t", t, lo=0.0))
    if t.ndim != 1:
        raise InvalidArgument(f"t must be one-dimensional, got shape {t.shape}")
    if np.any(np.diff(t) < 0):
        raise InvalidArgument("t must be non-decreasing")
    return t


def _solve(rhs, t, y0, method, rtol, atol):
    if t[-1] == 0:
        return np.repeat(y0[None, :], len(t), axis=0)
    sol = solve_ivp(rhs, (0.0, float(t[-1])), y0, method=method, t_eval=t, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"ODE integration failed ({method}): {sol.message}")
    return sol.y.T


def integrate_modes(t, lam, *, noise_var=0.0, weight_decay=0.0, a0, b0, rtol=1e-10, atol=None, method="DOP853"):
    r"""Integrate the per-mode flow :math:`\dot a = b(\lambda - \xi ab) - \gamma a`, :math:`\dot b = a(\lambda - \xi ab) - \gamma b` (R3).

    Parameters
    ----------
    t : array_like, shape (T,)
        Non-decreasing output times >= 0 (integration starts at 0).
    lam, noise_var, weight_decay, a0, b0 : array_like
        Mode parameters, broadcast to a common 1-D shape (M,).
    rtol, atol, method :
        Passed to :func:`scipy.integrate.solve_ivp` (see the module docstring).

    Returns
    -------
    a, b : ndarray, shape (T, M)
    """
    from lindae.derivations import mode_flow_function  # generated from R3
    t = _times(t)
    lam, noise_var, weight_decay = (as_array(n, v, lo=0.0) for n, v in (("lam", lam), ("noise_var", noise_var), ("weight_decay", weight_decay)))
    a0, b0 = as_array("a0", a0), as_array("b0", b0)
    lam, noise_var, weight_decay, a0, b0 = (np.atleast_1d(x).ravel() for x in broadcast(lam=lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0))
    M = lam.size
    flow = mode_flow_function()

    xi = lam + noise_var

    def rhs(_t, y):
        da, db = flow(y[:M], y[M:], lam, xi, weight_decay)
        return np.concatenate([np.broadcast_to(da, (M,)), np.broadcast_to(db, (M,))])

    scale = max(float(np.max(np.abs(np.concatenate([a0, b0])), initial=0.0)), 1e-300)
    y = _solve(rhs, t, np.concatenate([a0, b0]), method, rtol, atol if atol is not None else 1e-14 * scale)
    return y[:, :M], y[:, M:]


#: The ODE fallback integrates until the imbalance c = b^2 - a^2 has decayed by exp(-2 * SWITCH) ...
SWITCH = 40.0
#: ... and refuses problems whose stiffness times horizon exceeds this (they would take minutes).
MAX_WORK = 1e7


def strength_by_ode(t, lam, noise_var, weight_decay, a0, b0, rtol=1e-11):
    """u(t) = a(t) b(t) for weight_decay > 0 (elementwise, already broadcast 1-D arguments).

    Integrates R3 with LSODA up to T1 = min(t, 40/weight_decay), when c = c0 e^{-2 weight_decay t} has decayed by
    e^-80 and the mode is balanced to double precision; from there R5 continues exactly. Elements
    that share (lam, noise_var, weight_decay, a0, b0) are integrated once over the union of their times.

    Raises
    ------
    ValueError
        If (lam + weight_decay + xi (a0^2 + b0^2)) * T1 > 1e7: the integration would be too long.
    """
    from lindae.derivations import mode_flow_function
    t, lam, noise_var, weight_decay, a0, b0 = (np.ravel(x) for x in (t, lam, noise_var, weight_decay, a0, b0))
    T1 = np.minimum(t, SWITCH / weight_decay)
    xi = lam + noise_var
    work = (lam + weight_decay + xi * (a0 ** 2 + b0 ** 2)) * T1
    if np.any(work > MAX_WORK):
        j = int(np.argmax(work))
        raise InvalidArgument(
            f"weight_decay > 0 with a0^2 != b0^2 has no closed form and needs the ODE, but this problem is too stiff over "
            f"its horizon ((lam + weight_decay + xi (a0^2 + b0^2)) * min(t, 40/weight_decay) = {work[j]:.3g} > {MAX_WORK:g}; "
            f"lam={lam[j]:g}, weight_decay={weight_decay[j]:g}, t={t[j]:g}); use dynamics.integrate_modes with method='LSODA'")
    flow = mode_flow_function()
    u = np.empty(t.shape)
    keys = np.stack([lam, noise_var, weight_decay, a0, b0], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    for g, (l, e, gm, A0, B0) in enumerate(uniq):
        idx = np.flatnonzero(inverse.ravel() == g)
        T = float(np.max(T1[idx]))
        if T == 0:
            u[idx] = A0 * B0
            continue
        # Nondimensionalise: a = S alpha, b = S beta, t = T tau. The flow keeps its form (R3) with
        # coefficients lambda' = T lambda, xi' = T xi S^2, weight_decay' = T weight_decay, all bounded by MAX_WORK.
        S = max(abs(A0), abs(B0))
        lp, xp, gp = T * l, T * (l + e) * S * S, T * gm
        taus = np.unique(T1[idx] / T)

        def rhs(_tau, y, lp=lp, xp=xp, gp=gp):
            return np.concatenate(flow(y[:1], y[1:], lp, xp, gp))

        y = _solve(rhs, taus, np.array([A0 / S, B0 / S]), "LSODA", rtol, 1e-14)
        u[idx] = S * S * (y[:, 0] * y[:, 1])[np.searchsorted(taus, T1[idx] / T)]
    late = t > T1
    if np.any(late):
        ul = u[late]
        with np.errstate(divide="ignore"):
            log_abs = np.log(np.abs(ul))
        u[late] = balanced_signed(t[late] - T1[late], lam[late], noise_var[late], weight_decay[late], log_abs, 0.0, np.sign(ul))
    return u


def integrate_matrix_flow(t, Sigma, W1, W2, *, noise_var=0.0, weight_decay=0.0, rtol=1e-10, atol=None, method="DOP853"):
    r"""Integrate the full matrix gradient flow :math:`\dot W_i = -\partial L/\partial W_i` of R1.

    Parameters
    ----------
    t : array_like, shape (T,)
    Sigma : (D, D) symmetric second-moment matrix
    W1 : (H, D) and W2 : (D, H) initial weights

    Returns
    -------
    W1s : ndarray (T, H, D), W2s : ndarray (T, D, H)
    """
    t = _times(t)
    Sigma, W1, W2 = (as_array(n, v) for n, v in (("Sigma", Sigma), ("W1", W1), ("W2", W2)))
    D = Sigma.shape[0]
    if Sigma.shape != (D, D) or W1.ndim != 2 or W1.shape[1] != D or W2.shape != (D, W1.shape[0]):
        raise InvalidArgument(f"need Sigma (D, D), W1 (H, D), W2 (D, H); got {Sigma.shape}, {W1.shape}, {W2.shape}")
    H = W1.shape[0]
    n1 = H * D
    S = second_moment_root(Sigma)

    def rhs(_t, y):
        _, g1, g2 = sample_loss_and_gradient(y[:n1].reshape(H, D), y[n1:].reshape(D, H), S, S, noise_var, weight_decay)
        return -np.concatenate([g1.ravel(), g2.ravel()])

    y0 = np.concatenate([W1.ravel(), W2.ravel()])
    scale = max(float(np.max(np.abs(y0), initial=0.0)), 1e-300)
    y = _solve(rhs, t, y0, method, rtol, atol if atol is not None else 1e-14 * scale)
    return y[:, :n1].reshape(-1, H, D), y[:, n1:].reshape(-1, D, H)
