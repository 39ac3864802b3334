"""One entry point for a mode's trajectory by any method, returning one result type."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import as_array, as_int, broadcast
from .errors import InvalidArgument, InvalidArgumentType

METHODS = ("closed_form", "ode", "gd")
CITATIONS = {
    "closed_form": "Pretorius et al. (2018) Eq. (5)-(6); R5/R6 of derivations",
    "ode": "gradient flow R3 integrated by scipy.integrate.solve_ivp",
    "gd": "exact per-mode gradient-descent map R12",
}


@dataclass(frozen=True)
class Trajectory:
    """A trajectory of one or more modes.

    Attributes
    ----------
    t : ndarray (T,)
        Times, t = eta * steps.
    u : ndarray (T, M)
        Mode strengths u = a b.
    a, b : ndarray (T, M) or None
        The weights, when the method produces them (ODE and GD, depth 2).
    layers : ndarray (T, L, M) or None
        The per-layer weights at depth L >= 3 (ODE and GD).
    method : str
        ``"closed_form"``, ``"ode"`` or ``"gd"``.
    params : dict
        The mode parameters (lam, eps, gamma, a0, b0, eta).
    citation : str
        What the method reproduces.
    """

    t: np.ndarray
    u: np.ndarray
    a: np.ndarray | None = None
    b: np.ndarray | None = None
    method: str = "closed_form"
    layers: np.ndarray | None = None
    params: dict = field(default_factory=dict)
    citation: str = ""

    def max_abs_diff(self, other: "Trajectory") -> float:
        """max |u_self - u_other| over the common grid (the grids must be equal)."""
        if self.t.shape != other.t.shape or not np.allclose(self.t, other.t, rtol=1e-12, atol=0):
            raise InvalidArgument("trajectories are on different time grids")
        return float(np.max(np.abs(self.u - other.u)))


def trajectory(lam, *, eps=0.0, gamma=0.0, a0=None, b0=None, method="closed_form", t=None, eta=None, steps=None,
               record_every=1, rtol=1e-10, depth=2, layers=None):
    r"""Trajectory of modes by closed form (R5/R6), ODE integration (R3) or discrete GD (R12).

    Give either ``t`` (closed form and ODE only) or ``eta`` and ``steps``: then every method uses
    the grid t = eta * k for k = 0, record_every, ..., steps, and comparing methods is a one-liner::

        >>> cf, gd = (trajectory(1.0, eps=0.5, a0=0.1, b0=0.3, eta=0.01, steps=500, method=m)
        ...           for m in ("closed_form", "gd"))
        >>> cf.max_abs_diff(gd) < 0.01
        True

    With ``depth`` L >= 3 give ``layers`` (L, M), the per-layer start: "closed_form" needs every
    layer equal (D4's balanced flow), "ode" integrates D2's flow and "gd" iterates D2's map.
    """
    if depth != 2:
        return _deep_trajectory(lam, eps, gamma, method, t, eta, steps, record_every, depth, layers)
    from .closed_form import mode_strength
    from .gd import gd_modes
    from .ode import integrate_modes
    if method not in METHODS:
        raise InvalidArgument(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    lam, eps, gamma = (as_array(n, v, lo=0.0) for n, v in (("lam", lam), ("eps", eps), ("gamma", gamma)))
    a0, b0 = as_array("a0", a0), as_array("b0", b0)
    lam, eps, gamma, a0, b0 = (np.atleast_1d(x).ravel() for x in broadcast(lam=lam, eps=eps, gamma=gamma, a0=a0, b0=b0))
    times, eta = _grid(method, t, eta, steps, record_every)
    params = dict(lam=lam, eps=eps, gamma=gamma, a0=a0, b0=b0, eta=eta)
    if method == "closed_form":
        u = mode_strength(times[:, None], lam, eps=eps, gamma=gamma, a0=a0, b0=b0)
        return Trajectory(times, np.asarray(u).reshape(len(times), -1), method=method, params=params,
                          citation=CITATIONS[method])
    if method == "ode":
        A, B = integrate_modes(times, lam, eps=eps, gamma=gamma, a0=a0, b0=b0, rtol=rtol)
    else:
        _, A, B = gd_modes(steps, lam, eps=eps, gamma=gamma, a0=a0, b0=b0, eta=eta, record_every=record_every)
    return Trajectory(times, A * B, A, B, method=method, params=params, citation=CITATIONS[method])


def _grid(method, t, eta, steps, record_every):
    """(times, eta): t = eta * k on the recorded steps, or the given t (not for GD)."""
    from .gd import _record_steps
    if t is None:
        if eta is None or steps is None:
            raise InvalidArgumentType("give t, or eta and steps")
        eta = float(as_array("eta", eta, lo=0.0, lo_open=True))
        return eta * _record_steps(steps, record_every)[1], eta
    if method == "gd":
        raise InvalidArgumentType("method 'gd' needs eta and steps, not t")
    as_int("record_every", record_every, lo=1)
    return np.atleast_1d(as_array("t", t, lo=0.0)), eta


def _deep_trajectory(lam, eps, gamma, method, t, eta, steps, record_every, depth, layers):
    from .depth import check_depth, deep_balanced_strength, deep_gd_modes, deep_layers_flow
    L = check_depth(depth)
    if method not in METHODS:
        raise InvalidArgument(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if layers is None:
        raise InvalidArgumentType("depth >= 3 needs layers (L, M), the per-layer start")
    W = as_array("layers", layers)
    W = W[:, None] if W.ndim == 1 else W
    if W.shape[0] != L:
        raise InvalidArgument(f"layers must have shape (depth, M) = ({L}, M), got {W.shape}")
    lam, eps, gamma = (np.broadcast_to(as_array(n, v, lo=0.0), (W.shape[1],)) for n, v in
                       (("lam", lam), ("eps", eps), ("gamma", gamma)))
    times, eta = _grid(method, t, eta, steps, record_every)
    params = dict(lam=lam, eps=eps, gamma=gamma, layers=W, eta=eta, depth=L)
    cite = {"closed_form": "balanced depth-L flow D4 (ODE in ln u)", "ode": "per-layer flow D2 by solve_ivp",
            "gd": "exact per-layer GD map (D2, D8)"}[method]
    if method == "closed_form":
        if not np.allclose(W, W[0], rtol=0, atol=0):
            raise InvalidArgument("method 'closed_form' at depth >= 3 needs balanced starts (every layer equal per mode)")
        u = deep_balanced_strength(times[:, None], lam, eps=eps, gamma=gamma, u0=np.prod(W, axis=0), depth=L)
        return Trajectory(times, np.asarray(u).reshape(len(times), -1), method=method, params=params, citation=cite)
    if method == "ode":
        kept = deep_layers_flow(times, lam, eps=eps, gamma=gamma, layers=W)
    else:
        _, _, kept = deep_gd_modes(steps, lam, eps=eps, gamma=gamma, layers=W, eta=eta, record_every=record_every,
                                   return_layers=True)
    return Trajectory(times, np.prod(kept, axis=1), method=method, params=params, citation=cite, layers=kept)
