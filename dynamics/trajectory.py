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
        Times, t = lr * steps.
    u : ndarray (T, M)
        Mode strengths u = a b.
    a, b : ndarray (T, M) or None
        The weights, when the method produces them (ODE and GD, depth 2).
    layers : ndarray (T, L, M) or None
        The per-layer weights at depth L >= 3 (ODE and GD).
    method : str
        ``"closed_form"``, ``"ode"`` or ``"gd"``.
    params : dict
        The mode parameters (lam, noise_var, weight_decay, a0, b0, lr).
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


def trajectory(lam, *, noise_var=0.0, weight_decay=0.0, a0=None, b0=None, method="closed_form", t=None, lr=None, epochs=None,
               record_every=1, rtol=None, depth=2, layers=None):
    r"""Trajectory of modes by closed form (R5/R6), ODE integration (R3) or discrete GD (R12).

    Give either ``t`` (closed form and ODE only) or ``lr`` and ``steps``: then every method uses
    the grid t = lr * k for k = 0, record_every, ..., steps, and comparing methods is a one-liner::

        >>> cf, gd = (trajectory(1.0, noise_var=0.5, a0=0.1, b0=0.3, lr=0.01, epochs=500, method=m)
        ...           for m in ("closed_form", "gd"))
        >>> cf.max_abs_diff(gd) < 0.01
        True

    With ``depth`` L >= 3 give ``layers`` (L, M), the per-layer start: "closed_form" needs every
    layer equal (D4's balanced flow), "ode" integrates D2's flow and "gd" iterates D2's map; ``a0``, ``b0``
    and ``rtol`` do not apply there (a TypeError), nor ``layers`` at depth 2.
    """
    if depth != 2:
        given = [n for n, v in (("a0", a0), ("b0", b0), ("rtol", rtol)) if v is not None]
        if given:
            raise InvalidArgumentType(f"depth >= 3 does not take {', '.join(given)}: give the per-layer start layers")
        return _deep_trajectory(lam, noise_var, weight_decay, method, t, lr, epochs, record_every, depth, layers)
    if layers is not None:
        raise InvalidArgumentType("layers (per-layer starts) needs depth >= 3; at depth 2 give a0 and b0")
    rtol = 1e-10 if rtol is None else rtol
    from .closed_form import mode_strength
    from .gd import gd_modes
    from .ode import integrate_modes
    if method not in METHODS:
        raise InvalidArgument(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    lam, noise_var, weight_decay = (as_array(n, v, lo=0.0) for n, v in (("lam", lam), ("noise_var", noise_var), ("weight_decay", weight_decay)))
    a0, b0 = as_array("a0", a0), as_array("b0", b0)
    lam, noise_var, weight_decay, a0, b0 = (np.atleast_1d(x).ravel() for x in broadcast(lam=lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0))
    times, lr = _grid(method, t, lr, epochs, record_every)
    params = dict(lam=lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0, lr=lr)
    if method == "closed_form":
        u = mode_strength(times[:, None], lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0)
        return Trajectory(times, np.asarray(u).reshape(len(times), -1), method=method, params=params,
                          citation=CITATIONS[method])
    if method == "ode":
        A, B = integrate_modes(times, lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0, rtol=rtol)
    else:
        run = gd_modes(epochs, lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0, lr=lr,
                       record_every=record_every)
        A, B = run.a, run.b
    return Trajectory(times, A * B, A, B, method=method, params=params, citation=CITATIONS[method])


def _grid(method, t, lr, epochs, record_every):
    """(times, lr): t = lr * k on the recorded steps, or the given t (not for GD)."""
    from .gd import _record_steps
    if t is None:
        if lr is None or epochs is None:
            raise InvalidArgumentType("give t, or lr and steps")
        lr = float(as_array("lr", lr, lo=0.0, lo_open=True))
        return lr * _record_steps(epochs, record_every)[1], lr
    if method == "gd":
        raise InvalidArgumentType("method 'gd' needs lr and steps, not t")
    as_int("record_every", record_every, lo=1)
    return np.atleast_1d(as_array("t", t, lo=0.0)), lr


def _deep_trajectory(lam, noise_var, weight_decay, method, t, lr, epochs, record_every, depth, layers):
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
    lam, noise_var, weight_decay = (np.broadcast_to(as_array(n, v, lo=0.0), (W.shape[1],)) for n, v in
                       (("lam", lam), ("noise_var", noise_var), ("weight_decay", weight_decay)))
    times, lr = _grid(method, t, lr, epochs, record_every)
    params = dict(lam=lam, noise_var=noise_var, weight_decay=weight_decay, layers=W, lr=lr, depth=L)
    cite = {"closed_form": "balanced depth-L flow D4 (ODE in ln u)", "ode": "per-layer flow D2 by solve_ivp",
            "gd": "exact per-layer GD map (D2, D8)"}[method]
    if method == "closed_form":
        if not np.allclose(W, W[0], rtol=0, atol=0):
            raise InvalidArgument("method 'closed_form' at depth >= 3 needs balanced starts (every layer equal per mode)")
        u = deep_balanced_strength(times[:, None], lam, noise_var=noise_var, weight_decay=weight_decay, u0=np.prod(W, axis=0), depth=L)
        return Trajectory(times, np.asarray(u).reshape(len(times), -1), method=method, params=params, citation=cite)
    if method == "ode":
        kept = deep_layers_flow(times, lam, noise_var=noise_var, weight_decay=weight_decay, layers=W)
    else:
        _, _, kept = deep_gd_modes(epochs, lam, noise_var=noise_var, weight_decay=weight_decay, layers=W, lr=lr, record_every=record_every,
                                   return_layers=True)
    return Trajectory(times, np.prod(kept, axis=1), method=method, params=params, citation=cite, layers=kept)
