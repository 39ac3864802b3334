r"""Effective balanced starts of deep modes from small random weights (D9, docs/theory.md "Depth").

Mode i of a depth-L network (L >= 3) sees :math:`p_i = W_1v_i`, the shared middle layers
:math:`M_2, \dots, M_{L-1}` and :math:`q_i = W_L^\top v_i`. D9: on its own (γ = 0) the mode follows the
saturation-free flow :math:`x' = \nabla_x s` in the time :math:`d\sigma = (\lambda - \xi s)dt`; that flow
blows up at :math:`\sigma = \tau`, and the balanced start with the same blow-up time,
:math:`a_{\rm eff} = ((L-2)\tau)^{-1/(L-2)}`, follows D4 (or D2's GD map) with the same strength curve
as the start's scale goes to 0. :func:`blowup_time` integrates the flow from a start rescaled to
unit size (τ(cx) = c^{2-L}τ(x), so starts of any scale cost the same and never overflow), in a
clock :math:`d\rho = \|x\|^{L-2}d\sigma` in which the approach to the blow-up is exponential.

For many modes :func:`deep_effective_start` adds what one mode alone cannot see. The middle layers are
shared: in the early phase every mode's outer product :math:`\lambda_jq_jp_j^\top` feeds them. And a
learned mode takes one direction in every hidden layer, along which the saturation terms suppress the
other modes (the deep analogue of R14's learning-order orthogonalisation). Its default method integrates
the saturation-free flow of all the modes together and, each time a mode's strength passes a large
threshold, reads off its blow-up time (plus D9's balanced remainder) and removes its hidden directions
from every layer before the others continue.
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ._checks import as_array
from .depth import check_depth
from .statements import implements
from .errors import InvalidArgument, SolverFailed

#: The unit-scale flow is followed until the strength reaches GROWTH**L (a = GROWTH on the balanced
#: path); the remaining blow-up time a^{2-L}/(L-2) is then exact up to O(GROWTH^-2) relative.
GROWTH = 1e4
#: A projected start keeping less than this fraction of its norm in some layer has no room left.
ROOM = 1e-8


@implements("D9", 2, call={"tau": "tau", "depth": "L"}, given={"L": "3 + (L > 1.5) + (L > 2.2)"})
def blowup_start(tau, *, depth):
    r"""The balanced per-layer start that blows up at σ = τ under :math:`a' = a^{L-1}` (D9):
    :math:`a_{\rm eff} = ((L-2)\tau)^{-1/(L-2)}`; 0 where τ is infinite.

    Parameters
    ----------
    tau : array_like
        Blow-up times τ > 0 of the saturation-free flow x' = ∇s (λ = 1).
    depth : int
        L >= 3.
    """
    L = check_depth(depth)
    if L < 3:
        raise InvalidArgument("blowup_start needs depth >= 3 (at depth 2 the saturation-free flow grows exponentially)")
    tau = as_array("tau", tau, lo=0.0, lo_open=True)
    with np.errstate(divide="ignore"):
        out = (L - 2.0) ** (-1.0 / (L - 2)) * tau ** (-1.0 / (L - 2))     # two factors: no overflow for any finite τ
    return out[()] if out.ndim == 0 else out


def strength_and_gradient(p, mids, q):
    """s = qᵀ M_{L-1}⋯M_2 p and ∇s with respect to (p, M_2, ..., M_{L-1}, q), one array per layer."""
    fwd = [p]
    for M in mids:
        fwd.append(M @ fwd[-1])
    back = [q]
    for M in mids[::-1]:
        back.append(M.T @ back[-1])
    back = back[::-1]                       # back[l] = (M_{L-1}⋯M_{l+2})ᵀ q
    grads = [back[0]] + [np.outer(back[k + 1], fwd[k]) for k in range(len(mids))] + [fwd[-1]]
    return float(q @ fwd[-1]), grads


def _hidden_directions(p, mids):
    """Unit vectors of the aligned chain in hidden layers 1, ..., L-1: p̂, M_2p̂, ... normalised."""
    out = [p / np.linalg.norm(p)]
    for M in mids:
        v = M @ out[-1]
        out.append(v / np.linalg.norm(v))
    return out


def blowup_time(first, middle, last, *, return_directions=False):
    r"""Blow-up time τ of the saturation-free flow :math:`x' = \nabla_x s`, :math:`s = q^\top M_{L-1}\cdots M_2p` (D9).

    Parameters
    ----------
    first, last : array_like (H,)
        The mode's columns p = W_1v and q = W_Lᵀv.
    middle : array_like (L-2, H, H)
        The middle layers M_2, ..., M_{L-1} (at least one).
    return_directions : bool
        Also return the unit directions the mode takes in hidden layers 1, ..., L-1 at blow-up.

    Returns
    -------
    tau : float
        τ (inf, exactly, when p, q or a middle layer is zero: the flow cannot grow).

    Raises
    ------
    SolverFailed
        When the integration fails or stops short of blow-up; never returned as a number.
    directions : list of ndarray (H,), only with ``return_directions``
    """
    p, q = np.asarray(first, dtype=np.float64), np.asarray(last, dtype=np.float64)
    mids = [np.asarray(M, dtype=np.float64) for M in middle]
    if not mids:
        raise InvalidArgument("middle must hold at least one layer (depth >= 3)")
    L = len(mids) + 2
    for name, x in (("first", p), ("last", q), ("middle", np.asarray(mids))):
        if not np.all(np.isfinite(x)):
            raise InvalidArgument(f"{name} must be finite")
    norms = [np.linalg.norm(p), np.linalg.norm(q)] + [np.linalg.norm(M, 2) for M in mids]
    if min(norms) == 0:          # a zero layer: the gradient of s vanishes and stays zero, so τ = ∞ exactly
        return (np.inf, None) if return_directions else np.inf
    c = float(np.exp(np.mean(np.log(norms))))
    parts = [p / c] + [M / c for M in mids] + [q / c]
    shapes = [x.shape for x in parts]
    cuts = np.cumsum([x.size for x in parts])[:-1]

    def unpack(y):
        return [x.reshape(sh) for x, sh in zip(np.split(y[:-1], cuts), shapes)]

    def rhs(_rho, y):               # d/dρ of (x, σ) with dσ = dρ / n^{L-2}, n² = |x|²/L
        xs = unpack(y)
        _, g = strength_and_gradient(xs[0], xs[1:-1], xs[-1])
        slow = (float(y[:-1] @ y[:-1]) / L) ** (-(L - 2) / 2)
        return np.append(np.concatenate([v.ravel() for v in g]) * slow, slow)

    def far(_rho, y):
        xs = unpack(y)
        return strength_and_gradient(xs[0], xs[1:-1], xs[-1])[0] - GROWTH ** L
    far.terminal = True
    y0 = np.append(np.concatenate([x.ravel() for x in parts]), 0.0)
    sol = solve_ivp(rhs, (0.0, 200.0 * L), y0, method="DOP853", rtol=1e-11, atol=1e-13, events=far)
    if sol.status != 1:
        why = sol.message if sol.status < 0 else (f"the flow did not reach s = {GROWTH ** L:g} by ρ = {200 * L} (a start "
                                                  f"at or near a saddle of s)")
        raise SolverFailed(f"blowup_time: the saturation-free flow could not be integrated to blow-up: {why}")
    y = sol.y_events[0][0]
    xs = unpack(y)
    s_end = strength_and_gradient(xs[0], xs[1:-1], xs[-1])[0]
    tau1 = y[-1] + s_end ** ((2 - L) / L) / (L - 2)
    tau = tau1 * c ** (2 - L)
    if return_directions:
        return tau, _hidden_directions(xs[0], xs[1:-1])
    return tau


def deep_effective_start(lam, first, middle, last, *, n_modes=None, method="joint", progress=None):
    r"""Per-layer balanced starts (D9) of every mode of a deep network from its initial weights.

    Parameters
    ----------
    lam : array_like (D,)
        Eigenvalues, in the order of the columns of ``first`` and ``last``.
    first, last : array_like (H, D)
        P = W_1V and Q = W_LᵀV: the columns are each mode's p_i and q_i.
    middle : array_like (L-2, H, H)
        The middle layers.
    n_modes : int, optional
        Number of leading modes (eigenvalue order) to evaluate; the rest get 0 (not learned).
        Default: min(D, H + 8).
    method : {"joint", "projected", "independent"}
        "joint" (default): the saturation-free flow of all the modes together,
        :math:`\dot x = \nabla_x\sum_i\lambda_is_i`, so that every mode's outer product feeds the shared
        middle layers; whenever a mode's strength reaches a large threshold its blow-up time is read off
        (plus D9's balanced remainder), and its hidden directions are removed from every layer and the
        other modes continue. "projected": each mode on its own (D9 exactly), taken in the order of
        τ_i/λ_i with the hidden directions of the earlier modes removed from its start. "independent":
        each mode on its own from its raw start.
    progress : callable, optional
        Called with a one-line message every 16 modes.

    Returns
    -------
    ndarray (L, D)
        a_eff of every mode in every layer (balanced), for :func:`dynamics.gd_modes` (``depth=L``) or, as
        u0 = a_eff^L, :func:`dynamics.mode_strength` (``depth=L``). A mode with no hidden direction left, or
        with a nonpositive eigenvalue, gets 0.
    """
    P, Q = np.asarray(first, dtype=np.float64), np.asarray(last, dtype=np.float64)
    mids = np.asarray(middle, dtype=np.float64)
    if P.ndim != 2 or P.shape != Q.shape:
        raise InvalidArgument(f"first and last must both have shape (H, D), got {P.shape} and {Q.shape}")
    H, D = P.shape
    if mids.ndim != 3 or mids.shape[1:] != (H, H) or len(mids) < 1:
        raise InvalidArgument(f"middle must have shape (L - 2, H, H) = (>= 1, {H}, {H}), got {mids.shape}")
    lam = np.asarray(as_array("lam", lam, lo=0.0), dtype=np.float64)
    if lam.shape != (D,):
        raise InvalidArgument(f"lam must have shape (D,) = ({D},), got {lam.shape}")
    if method not in ("joint", "projected", "independent"):
        raise InvalidArgument(f"method must be 'joint', 'projected' or 'independent', got {method!r}")
    L = len(mids) + 2
    n = min(D, H + 8) if n_modes is None else min(D, int(n_modes))
    tau = np.full(D, np.inf)                   # λ_i times the blow-up time: the τ of D9 (λ = 1)
    if method == "joint":
        tau[:n] = _joint_blowup(lam[:n], P[:, :n], mids, Q[:, :n], progress)
    else:
        for i in range(n):
            if lam[i] > 0:
                tau[i] = blowup_time(P[:, i], mids, Q[:, i])
    if method == "projected":
        order = [i for i in np.argsort(tau[:n] / np.where(lam[:n] > 0, lam[:n], np.nan)) if np.isfinite(tau[i])]
        taken = [np.zeros((H, 0)) for _ in range(L - 1)]          # orthonormal bases, hidden layers 1..L-1
        tau[:n] = np.inf
        for count, i in enumerate(order):
            proj = [np.eye(H) - B @ B.T for B in taken]
            p = proj[0] @ P[:, i]
            ms = [proj[k + 1] @ mids[k] @ proj[k] for k in range(L - 2)]
            q = proj[-1] @ Q[:, i]
            if not _has_room(p, ms, q, P[:, i], mids, Q[:, i]):
                continue                          # no hidden direction left for this mode: it is not learned
            tau[i], dirs = blowup_time(p, ms, q, return_directions=True)
            if dirs is not None:
                taken = [np.linalg.qr(np.column_stack([B, d]))[0] for B, d in zip(taken, dirs)]
            if progress is not None and count and count % 16 == 0:
                progress(f"  D9 effective starts: {count}/{len(order)} modes")
    a = np.zeros(D)
    live = np.isfinite(tau)
    a[live] = blowup_start(tau[live], depth=L)
    return np.repeat(a[None], L, axis=0)


def _has_room(p, ms, q, p0, ms0, q0):
    """Whether a projected start keeps at least ROOM of its norm in every layer."""
    left = [np.linalg.norm(p) / np.linalg.norm(p0), np.linalg.norm(q) / np.linalg.norm(q0)]
    left += [np.linalg.norm(m) / np.linalg.norm(m0) for m, m0 in zip(ms, ms0)]
    return min(left) >= ROOM


#: The joint flow reads a mode's blow-up time off when its strength reaches (JOINT_GROWTH * c)^L, c being
#: the start's per-layer scale; the balanced remainder then has a relative error of O(JOINT_GROWTH^-2).
JOINT_GROWTH = 100.0


def _joint_blowup(lam, P, mids, Q, progress):
    """λ_i times the blow-up time of every mode in the joint saturation-free flow (see deep_effective_start).

    The flow is homogeneous of degree L - 1, so it is integrated from the start divided by its scale c, in
    the time c^{L-2}t (D9's scaling law), and the times are scaled back at the end."""
    H, n = P.shape
    L = len(mids) + 2
    out = np.full(n, np.inf)
    active = lam > 0
    cols = [np.linalg.norm(P, axis=0), np.linalg.norm(Q, axis=0)]
    if not active.any() or min(float(np.median(x)) for x in cols) == 0:
        return out
    norms = [float(np.median(x)) for x in cols] + [np.linalg.norm(M, 2) for M in mids]
    if min(norms) == 0:
        return out
    c = float(np.exp(np.mean(np.log(norms))))
    shapes = [(H, n)] + [(H, H)] * (L - 2) + [(H, n)]
    cuts = np.cumsum([H * n] + [H * H] * (L - 2))

    def unpack(y):
        return [x.reshape(sh) for x, sh in zip(np.split(y, cuts), shapes)]

    def pack(parts):
        return np.concatenate([x.ravel() for x in parts])

    def strengths(parts):
        chain = parts[0]
        for M in parts[1:-1]:
            chain = M @ chain
        return np.einsum("hn,hn->n", parts[-1], chain)

    weights = np.where(active, lam, 0.0)

    def rhs(_t, y):                               # gradient of Σ λ_i s_i over the active modes
        Pp, *ms, Qq = unpack(y)
        fwd = [Pp]
        for M in ms:
            fwd.append(M @ fwd[-1])
        back = [Qq * weights]
        for M in ms[::-1]:
            back.append(M.T @ back[-1])
        back = back[::-1]
        return pack([back[0]] + [back[k + 1] @ fwd[k].T for k in range(L - 2)] + [fwd[-1] * weights])

    threshold = JOINT_GROWTH ** L
    y = pack([P / c] + [M / c for M in mids] + [Q / c])
    start, t, t_first, done = unpack(y), 0.0, None, 0
    while active.any():
        def reached(_t, yy):
            return float(np.max(np.where(active, strengths(unpack(yy)), -np.inf))) - threshold
        reached.terminal = True
        if reached(t, y) < 0:                      # otherwise a mode is already past the threshold
            horizon = t + (1e6 if t_first is None else 1e3 * t_first)
            sol = solve_ivp(rhs, (t, horizon), y, method="DOP853", rtol=1e-9, atol=1e-12, events=reached)
            if sol.status < 0:
                raise SolverFailed(f"deep_effective_start: the joint saturation-free flow failed after {done} "
                                   f"modes: {sol.message}")
            if sol.status == 0:                    # no remaining mode grows within the horizon: never learned
                break
            t, y = float(sol.t_events[0][0]), sol.y_events[0][0]
        t_first = t if t_first is None else t_first
        parts = unpack(y)
        s = strengths(parts)
        i = int(np.argmax(np.where(active, s, -np.inf)))
        out[i] = lam[i] * t + s[i] ** ((2 - L) / L) / (L - 2)          # D9's balanced remainder
        dirs = _hidden_directions(parts[0][:, i], parts[1:-1])
        active[i], weights[i] = False, 0.0
        proj = [np.eye(H) - np.outer(d, d) for d in dirs]
        parts = ([proj[0] @ parts[0]] + [proj[k + 1] @ parts[k + 1] @ proj[k] for k in range(L - 2)]
                 + [proj[-1] @ parts[-1]])
        y = pack(parts)
        done += 1
        if progress is not None and done % 16 == 0:
            progress(f"  D9 effective starts (joint flow): {done} modes")
        if not _has_room(parts[0].ravel(), parts[1:-1], parts[-1].ravel(), start[0].ravel(), start[1:-1],
                         start[-1].ravel()):
            break                                   # every hidden direction is taken
    return out * c ** (2 - L)
