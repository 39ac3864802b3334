r"""Balanced modes of deep linear autoencoders, L >= 3 weight layers (D4-D7, docs/theory.md "Depth").

On the balanced path the strength obeys D4, :math:`\dot u = L u^{2-2/L}(\lambda - \xi u) - L\gamma u`.
No explicit u(t) exists for L >= 3, so :func:`deep_balanced_strength` integrates the flow of
:math:`v = \ln u`,

.. math:: \dot v = L e^{(1 - 2/L)v}(\lambda - \xi e^v) - L\gamma,

with an 8th-order Runge-Kutta method (DOP853) at tolerances near float64 resolution. In ln u a
start of 1e-300 is an ordinary number, a mode that decays under weight decay goes down at the
constant rate L weight_decay instead of underflowing, and the relative error of u is the absolute error
of v. Integration stops once the flow has converged to its fixed point (found by root-finding),
so long horizons (t = 1e6) cost no more than short ones.
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq

from ._checks import as_array, as_int, broadcast
from .kernels import balanced_log
from .statements import implements
from .errors import DivergenceError, InvalidArgument, beyond_guard

#: Tolerances of the ln u integration: with |ln u| <= 700 they bound u's relative error by ~2e-11.
RTOL, ATOL = 2.3e-14, 1e-13


def check_depth(depth) -> int:
    """The depth as an int >= 2, or ValueError."""
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 2:
        raise InvalidArgument(f"depth must be an integer >= 2 (the number of weight layers), got {depth!r}")
    return int(depth)


def _balanced_roots(lam, xi, weight_decay, L):
    """(u_minus, u_plus) of u^(1-2/L)(lam - xi u) = weight_decay for L >= 3 (D5); (0, 0) when there is none."""
    if lam <= 0 or xi <= 0:
        return 0.0, 0.0
    if L == 2:       # R7: the origin is a saddle while lam > weight_decay, and u* = (lam - weight_decay)/xi
        return 0.0, max(0.0, (lam - weight_decay) / xi)
    um = (L - 2) * lam / (2 * (L - 1) * xi)
    f = lambda u: u ** (1 - 2 / L) * (lam - xi * u) - weight_decay  # noqa: E731
    if weight_decay == 0:
        return 0.0, lam / xi
    if f(um) <= 0:
        return 0.0, 0.0
    lo = brentq(f, 0.0, um, xtol=1e-300, rtol=1e-15, maxiter=500)
    hi = brentq(f, um, lam / xi, xtol=1e-300, rtol=1e-15, maxiter=500)
    return lo, hi


@implements("D5", 1, call={"lam": "lam", "noise_var": "eps", "depth": "L"}, given={"L": "3 + (L > 1.5) + (L > 2.2)"})
def critical_weight_decay(lam, noise_var=0.0, *, depth):
    r"""The weight decay above which no nonzero balanced minimum exists (D5):
    :math:`\gamma_c = u_m^{1-2/L}\lambda L/(2(L-1))`, :math:`u_m = (L-2)\lambda/(2(L-1)\xi)`; 0 for L = 2 is
    replaced by lambda (R7: the minimum exists while weight_decay < lambda)."""
    L = check_depth(depth)
    lam, noise_var = broadcast(lam=as_array("lam", lam, lo=0.0), noise_var=as_array("noise_var", noise_var, lo=0.0))
    if L == 2:
        return lam.copy()[()] if lam.ndim == 0 else lam.copy()
    xi = lam + noise_var
    um = np.divide((L - 2) * lam, 2 * (L - 1) * xi, out=np.zeros(lam.shape), where=xi > 0)
    out = um ** (1 - 2 / L) * lam * L / (2 * (L - 1))
    return out[()] if out.ndim == 0 else out


def deep_fixed_point(lam, *, noise_var=0.0, weight_decay=0.0, depth):
    r"""The stable nonzero balanced fixed point :math:`u_+` of D5 (reached from starts above
    :func:`basin_boundary`), or 0 when weight_decay >= gamma_c; :math:`\lambda/\xi` when weight_decay = 0."""
    L = check_depth(depth)
    lam, noise_var, weight_decay = broadcast(lam=as_array("lam", lam, lo=0.0), noise_var=as_array("noise_var", noise_var, lo=0.0),
                                weight_decay=as_array("weight_decay", weight_decay, lo=0.0))
    out = np.array([_balanced_roots(l, l + e, g, L)[1] for l, e, g in zip(lam.ravel(), noise_var.ravel(), weight_decay.ravel())])
    out = out.reshape(lam.shape)
    return out[()] if out.ndim == 0 else out


def basin_boundary(lam, *, noise_var=0.0, weight_decay=0.0, depth):
    r"""The unstable balanced fixed point :math:`u_-` of D5 (L >= 3, 0 < weight_decay < gamma_c): starts below it
    decay to the origin. 0 when weight_decay = 0; inf when weight_decay >= gamma_c (nothing is learned)."""
    L = check_depth(depth)
    lam, noise_var, weight_decay = broadcast(lam=as_array("lam", lam, lo=0.0), noise_var=as_array("noise_var", noise_var, lo=0.0),
                                weight_decay=as_array("weight_decay", weight_decay, lo=0.0))
    out = []
    for l, e, g in zip(lam.ravel(), noise_var.ravel(), weight_decay.ravel()):
        lo, hi = _balanced_roots(l, l + e, g, L)
        out.append(np.inf if g > 0 and hi == 0 else lo)
    out = np.array(out).reshape(lam.shape)
    return out[()] if out.ndim == 0 else out


@implements("D6", call={"lam": "lam", "noise_var": "eps", "depth": "L"}, given={"L": "3 + (L > 1.5) + (L > 2.2)"})
def deep_equivalent_weight_decay(lam, noise_var, *, depth):
    r"""Weight decay whose deep WDAE has the deep DAE's fixed point (D6):
    :math:`\gamma_L = (\lambda/\xi)^{1-2/L}\lambda\varepsilon/\xi`."""
    L = check_depth(depth)
    lam, noise_var = broadcast(lam=as_array("lam", lam, lo=0.0), noise_var=as_array("noise_var", noise_var, lo=0.0))
    xi = lam + noise_var
    ratio = np.divide(lam, xi, out=np.zeros(lam.shape), where=xi > 0)
    out = ratio ** (1 - 2 / L) * ratio * noise_var
    return out[()] if out.ndim == 0 else out


def _ln_rate(v, lam, xi, weight_decay, L):
    return L * np.exp((1 - 2 / L) * v) * (lam - xi * np.exp(v)) - L * weight_decay


def _one_mode(t, lam, xi, weight_decay, u0, L):
    """u at the sorted times ``t`` for one balanced mode (see the module docstring)."""
    v0 = np.log(u0)
    out = np.empty(len(t))
    lo, hi = _balanced_roots(lam, xi, weight_decay, L)
    target = None
    if hi > 0 and u0 > lo:
        target = np.log(hi)
    elif hi > 0 and u0 == lo:
        return np.full(len(t), u0)
    if target is not None and abs(v0 - target) <= 1e-15 * max(1.0, abs(target)):
        return np.full(len(t), hi)

    def converged(_t, y):
        return abs(y[0] - target) - 1e-15 * max(1.0, abs(target)) if target is not None else 1.0
    converged.terminal = True
    t_end = float(t[-1])
    if t_end == 0:
        return np.full(len(t), u0)
    sol = solve_ivp(lambda _t, y: [_ln_rate(y[0], lam, xi, weight_decay, L)], (0.0, t_end), [v0], method="DOP853",
                    rtol=RTOL, atol=ATOL, dense_output=True, events=converged)
    if sol.status < 0:
        raise RuntimeError(f"depth-{L} balanced flow: integration failed ({sol.message})")
    stop = sol.t[-1]
    inside = t <= stop
    if np.any(inside):
        out[inside] = np.exp(sol.sol(t[inside])[0])
    out[~inside] = np.exp(target) if target is not None else np.exp(sol.y[0, -1])
    return out


def deep_balanced_strength(t, lam, *, noise_var=0.0, weight_decay=0.0, u0, depth):
    r"""Balanced mode strength u(t) of a depth-L linear DAE/WDAE (D4), broadcast over all arguments.

    Integrates :math:`\dot v = Le^{(1-2/L)v}(\lambda - \xi e^v) - L\gamma` for v = ln u (module docstring);
    depth = 2 uses the closed form R5. Relative accuracy about 1e-11 for t up to 1e6 and u0 down to
    1e-300 (tested against 50-digit mpmath).
    """
    L = check_depth(depth)
    t = as_array("t", t, lo=0.0)
    lam, noise_var, weight_decay = (as_array(n, v, lo=0.0) for n, v in (("lam", lam), ("noise_var", noise_var), ("weight_decay", weight_decay)))
    u0 = as_array("u0", u0, lo=0.0, lo_open=True)
    if L == 2:      # R5's closed form (the kernel of dynamics.balanced_strength)
        out = np.asarray(balanced_log(*np.broadcast_arrays(t, lam - weight_decay, lam + noise_var, np.log(u0))), dtype=float)
        return out[()] if out.ndim == 0 else out
    t, lam, noise_var, weight_decay, u0 = np.broadcast_arrays(t, lam, noise_var, weight_decay, u0)
    out = np.empty(t.shape)
    params = np.stack([lam.ravel(), noise_var.ravel(), weight_decay.ravel(), u0.ravel()], axis=1)
    flat_t, flat_out = t.ravel(), out.reshape(-1)
    keys, inverse = np.unique(params, axis=0, return_inverse=True)
    for k, (l, e, g, u) in enumerate(keys):
        idx = np.flatnonzero(inverse.ravel() == k)
        times, back = np.unique(flat_t[idx], return_inverse=True)
        flat_out[idx] = _one_mode(times, l, l + e, g, u, L)[back]
    return out[()] if out.ndim == 0 else out


@implements("D7", call={"lam": "lam", "noise_var": "eps", "u0": "u0", "u1": "u1", "depth": "L"},
            given={"L": "3 + (L > 1.5) + (L > 2.2)", "u0": "u0 * 1e-3 * lam / (lam + eps)",
                   "u1": "0.2 * lam / (lam + eps) + 0.25 * u1 * lam / (lam + eps)"}, rtol=1e-10)
def deep_time_to_learn(lam, *, noise_var=0.0, u0, u1, depth):
    r"""Time for a balanced deep DAE mode (weight_decay = 0, L >= 3) to grow from u0 to u1 < lambda/xi (D7),
    by adaptive quadrature of :math:`dt = dv/\dot v` in v = ln u."""
    L = check_depth(depth)
    lam, noise_var, u0, u1 = broadcast(lam=as_array("lam", lam, lo=0.0, lo_open=True), noise_var=as_array("noise_var", noise_var, lo=0.0),
                                 u0=as_array("u0", u0, lo=0.0, lo_open=True), u1=as_array("u1", u1, lo=0.0, lo_open=True))
    if np.any(u1 >= lam / (lam + noise_var)) or np.any(u0 >= u1):
        raise InvalidArgument("deep_time_to_learn needs 0 < u0 < u1 < lambda / (lambda + noise_var) (the fixed point)")
    if L == 2:
        raise InvalidArgument("depth 2 has a closed form: use dynamics.time_to_learn")
    out = np.empty(lam.shape)
    for i, (l, e, a, b) in enumerate(zip(lam.ravel(), noise_var.ravel(), u0.ravel(), u1.ravel())):
        f = lambda v: 1.0 / _ln_rate(v, l, l + e, 0.0, L)  # noqa: E731
        va, vb = np.log(a), np.log(b)
        knots = [va] + [x for x in (vb - 20, vb - 5, vb - 1) if va < x < vb] + [vb]
        out.flat[i] = sum(quad(f, x, y, epsabs=0, epsrel=1e-13, limit=200)[0] for x, y in zip(knots[:-1], knots[1:]))
    return out[()] if out.ndim == 0 else out


def deep_gd_modes(epochs, lam, *, noise_var=0.0, weight_decay=0.0, layers, lr, record_every=1, return_layers=False):
    r"""Exact per-mode gradient descent on D1's loss for depth L (D2's flow, one Euler step per epoch).

    .. math:: w_k \leftarrow w_k + \eta\,[(\lambda - \xi u)\textstyle\prod_{l \ne k} w_l - \gamma w_k],\qquad u = \prod_l w_l

    Parameters
    ----------
    steps : int
        Number of GD steps.
    lam, noise_var, weight_decay : array_like
        Per-mode eigenvalue, noise variance and weight decay (broadcast over modes).
    layers : array_like (L, ...)
        Initial per-layer weights of every mode (row l is layer l + 1).
    lr : float
        Learning rate.

    return_layers : bool
        Also return the per-layer weights (K, L, ...).

    Returns
    -------
    (epochs, strengths[, layers]) : ndarray (K,), ndarray (K, ...)[, ndarray (K, L, ...)]
        Recorded steps and u = prod_l w_l at each.

    Raises
    ------
    DivergenceError
        When a mode's squared layer norm leaves the overflow guard (``OVERFLOW_GUARD``); names the
        mode and the step, and keeps the records so far in ``.partial``.
    """
    W = np.array(layers, dtype=np.float64)
    if W.ndim < 1 or W.shape[0] < 2:
        raise InvalidArgument(f"layers must have shape (L, ...) with L >= 2, got {W.shape}")
    lam, noise_var, weight_decay = (np.broadcast_to(as_array(n, v, lo=0.0), W.shape[1:]) for n, v in
                       (("lam", lam), ("noise_var", noise_var), ("weight_decay", weight_decay)))
    xi = lam + noise_var
    lr = float(as_array("lr", lr, lo=0.0, lo_open=True))
    epochs, record_every = as_int("epochs", epochs, lo=0), as_int("record_every", record_every, lo=1)
    recorded = np.arange(0, int(epochs) + 1, int(record_every))
    if recorded[-1] != epochs:
        recorded = np.append(recorded, epochs)
    out = np.empty((len(recorded),) + W.shape[1:])
    kept = np.empty((len(recorded),) + W.shape) if return_layers else None
    row = 0
    for k in range(int(epochs) + 1):
        if row < len(recorded) and recorded[row] == k:
            out[row] = np.prod(W, axis=0)
            if return_layers:
                kept[row] = W
            row += 1
        if k == epochs:
            break
        with np.errstate(over="ignore", invalid="ignore"):      # divergence is detected and reported below
            W = W + lr * _layer_flow(W, lam, xi, weight_decay)     # products of the other layers, no division by w_k
            far = beyond_guard(np.sum(W * W, axis=0))
        if np.any(far):
            bad = int(np.flatnonzero(np.ravel(far))[0])
            partial = (recorded[:row], out[:row]) + ((kept[:row],) if return_layers else ())
            raise DivergenceError(
                f"deep gradient descent diverged at step {k + 1} in mode {bad + 1} (lambda = {np.ravel(lam)[bad]:g}, "
                f"depth {W.shape[0]}): lr = {lr:g} is above the step size this mode's curvature allows (D8)",
                step=k + 1, mode=bad + 1, partial=partial)
    return (recorded, out, kept) if return_layers else (recorded, out)


def _layer_flow(W, lam, xi, weight_decay):
    """D2's right-hand side for per-layer weights W (L, M): (λ − ξu)Π_{l≠k}w_l − γw_k, without division."""
    before = np.cumprod(np.concatenate([np.ones((1,) + W.shape[1:]), W[:-1]]), axis=0)
    after = np.cumprod(np.concatenate([np.ones((1,) + W.shape[1:]), W[:0:-1]]), axis=0)[::-1]
    u = before[-1] * W[-1]
    return (lam - xi * u) * before * after - weight_decay * W


def deep_layers_flow(t, lam, *, noise_var=0.0, weight_decay=0.0, layers, rtol=1e-12):
    r"""Integrate D2's per-layer flow :math:`\dot w_k = (\lambda - \xi u)\prod_{l\ne k}w_l - \gamma w_k` from any
    per-layer start (balanced or not), by DOP853.

    Parameters
    ----------
    t : array_like (T,)
        Non-decreasing output times >= 0.
    lam, noise_var, weight_decay : array_like
        Broadcast over the modes (the trailing shape of ``layers``).
    layers : array_like (L, M)
        Initial weights of every layer (row l is layer l + 1) of each of M modes.

    Returns
    -------
    ndarray (T, L, M)
        The weights; the strength is their product over axis 1.

    Tolerances: rtol as given, atol 1e-15 times the largest initial weight (tested against 50-digit
    mpmath for L = 3 and 4). For balanced starts :func:`deep_balanced_strength` is faster and reaches
    tiny starts and long horizons.
    """
    W0 = np.array(as_array("layers", layers), dtype=np.float64)
    if W0.ndim != 2 or W0.shape[0] < 2:
        raise InvalidArgument(f"layers must have shape (L, M) with L >= 2, got {W0.shape}")
    check_depth(W0.shape[0])
    L, M = W0.shape
    lam, noise_var, weight_decay = (np.broadcast_to(as_array(n, v, lo=0.0), (M,)) for n, v in
                       (("lam", lam), ("noise_var", noise_var), ("weight_decay", weight_decay)))
    times = np.atleast_1d(as_array("t", t, lo=0.0))
    if times.ndim != 1 or np.any(np.diff(times) < 0):
        raise InvalidArgument("t must be a non-decreasing one-dimensional array")
    xi = lam + noise_var
    if len(times) == 0 or times[-1] == 0:
        return np.repeat(W0[None], len(times), axis=0)
    scale = max(float(np.max(np.abs(W0))), 1e-300)
    sol = solve_ivp(lambda _t, y: _layer_flow(y.reshape(L, M), lam, xi, weight_decay).ravel(), (0.0, float(times[-1])),
                    W0.ravel(), method="DOP853", t_eval=times, rtol=rtol, atol=1e-15 * scale)
    if not sol.success:
        raise RuntimeError(f"depth-{L} per-layer flow: integration failed ({sol.message})")
    return sol.y.T.reshape(len(times), L, M)
