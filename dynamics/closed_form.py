"""Closed-form per-mode theory, validated once and dispatched by masks to the kernels.

Every function broadcasts over all of its array arguments (NumPy rules). Units: the toolkit's
per-sample convention (docs/conventions.md); time t = lr * steps.

The formulas are the results R5-R13 of :mod:`derivations` (docs/theory.md); the stable
rearrangements in :mod:`dynamics.kernels` are themselves proved equal to the derived statements
there (R5 "stable forms", R6 "Möbius map"), and the tests compare every function with a 50-digit
mpmath evaluation of the SymPy statement. Dispatch costs O(1) NumPy passes: the case of each mode
is decided on the parameter arrays (without the time axis), and a grid whose modes share one case
goes straight to its kernel with broadcasting.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_array, broadcast, broadcast_shape
from .kernels import balanced_log, balanced_signed, hyperbolic
from .ode import strength_by_ode
from .statements import implements
from .errors import InvalidArgument, InvalidArgumentType

__all__ = ["balanced_strength", "hyperbolic_strength", "mode_strength", "fixed_point", "time_to_learn",
           "equivalent_weight_decay", "paper_learning_rate", "stability_bound", "final_weight_norm"]


#: The documented domain: every argument is at most this in magnitude (far beyond physical use; inside
#: it no intermediate of the closed forms can overflow).
MAX_MAGNITUDE = 1e50


def _nonneg(name, value):
    return as_array(name, value, lo=0.0, hi=MAX_MAGNITUDE)


def _weight(name, value):
    return as_array(name, value, lo=-MAX_MAGNITUDE, hi=MAX_MAGNITUDE)


def _log_abs(x):
    with np.errstate(divide="ignore"):
        return np.log(np.abs(x))


@implements("R5", call={"t": "t", "lam": "lam", "noise_var": "eps", "weight_decay": "gamma", "u0": "u0"},
            domain={"t": (0, 40), "u0": (1e-6, 2)})
def balanced_strength(t, lam, *, noise_var=0.0, weight_decay=0.0, u0):
    r"""Mode strength from a balanced start a0 = b0 = sqrt(u0) (R5).

    .. math:: u(t) = \frac{u^*}{1 + (u^*/u_0 - 1)e^{-2\kappa t}},\quad \kappa = \lambda - \gamma,\ u^* = \kappa/\xi,
              \qquad u(t) = \frac{u_0}{1 + 2\xi u_0 t}\ (\kappa = 0)

    evaluated as :math:`1/(e^{-2\kappa t - \ln u_0} + 2\xi t\,g(-2\kappa t))` (and the mirrored form for
    :math:`\kappa < 0`), :math:`g(s) = (e^s - 1)/s` (:func:`dynamics.kernels.balanced_log`), which
    cannot overflow and has no cancellation for every t, lambda, noise_var, weight_decay in [0, 1e50] and u0 in
    (0, 1e50], subnormal u0 included (the documented domain, :data:`MAX_MAGNITUDE`).

    Parameters
    ----------
    t : array_like
        Time t = lr * steps, >= 0.
    lam, noise_var, weight_decay : array_like
        Eigenvalue, noise variance and weight decay, all >= 0.
    u0 : array_like
        Initial strength, > 0.

    Returns
    -------
    ndarray
        u(t), broadcast over all arguments.
    """
    t, lam, noise_var, weight_decay = _nonneg("t", t), _nonneg("lam", lam), _nonneg("noise_var", noise_var), _nonneg("weight_decay", weight_decay)
    u0 = as_array("u0", u0, lo=0.0, lo_open=True, hi=MAX_MAGNITUDE)
    shape = broadcast_shape(t=t, lam=lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0)
    return _finish(balanced_log(t, lam - weight_decay, lam + noise_var, np.log(u0)), shape)


def _finish(out, shape):
    """``out`` broadcast to ``shape``; a scalar for scalar inputs."""
    out = np.broadcast_to(out, shape) if out.shape != shape else out
    return out[()] if out.ndim == 0 else out


@implements("R6", 4, call={"t": "t", "lam": "lam", "noise_var": "eps", "a0": "a0", "b0": "b0"},
            given={"b0": "abs(a0) + b0", "c": "b0**2 - a0**2"}, domain={"t": (0, 40), "a0": (-1.5, 1.5), "b0": (0.01, 1.5)},
            rtol=1e-10)
def hyperbolic_strength(t, lam, *, noise_var=0.0, a0, b0):
    r"""Mode strength for weight_decay = 0 from any (a0, b0), on the hyperbola b^2 - a^2 = c (R6).

    With :math:`P = (a + b)^2`, :math:`P_\pm = 2\lambda/\xi \pm \sqrt{4\lambda^2/\xi^2 + c^2}` and
    :math:`r = \sqrt{4\lambda^2 + \xi^2c^2}`,

    .. math:: P(t) = \frac{P_0(P_+ - P_-E) - P_+P_-(1 - E)}{P_0(1 - E) - P_- + P_+E},\quad E = e^{-rt},\qquad
              u = \frac{D\,(P + c)}{4P},\ D = P - c

    where D obeys the same Riccati equation with roots :math:`P_\pm - c`. The kernel
    (:func:`dynamics.kernels.hyperbolic`) works with a0/b0 and log|b0|, so starts that differ by
    hundreds of orders of magnitude (a0 = 1e-300, b0 = 1e-200) keep full precision; there is no
    division by c: c = 0 gives R5 exactly. For u0 < 0 the strength crosses zero, where only absolute
    accuracy (relative to the mode's scale) is possible for any floating-point method.
    """
    t, lam, noise_var = _nonneg("t", t), _nonneg("lam", lam), _nonneg("noise_var", noise_var)
    a0, b0 = _weight("a0", a0), _weight("b0", b0)
    return mode_strength(t, lam, noise_var=noise_var, a0=a0, b0=b0)


@implements("R5", call={"t": "t", "lam": "lam", "noise_var": "eps", "weight_decay": "gamma", "a0": "a0", "b0": "a0"},
            given={"a0": "sqrt(u0)", "u0": "a0**2"}, domain={"t": (0, 40), "u0": (1e-6, 2)})
@implements("R6", 4, call={"t": "t", "lam": "lam", "noise_var": "eps", "a0": "a0", "b0": "b0"},
            given={"b0": "abs(a0) + b0", "c": "b0**2 - a0**2"}, domain={"t": (0, 40), "a0": (-1.5, 1.5), "b0": (0.01, 1.5)},
            rtol=1e-10)
def mode_strength(t, lam, *, noise_var=0.0, weight_decay=0.0, a0=None, b0=None, u0=None, rtol=None, depth=2, layers=None):
    r"""Mode strength u(t) = a(t) b(t) from any initial (a0, b0), broadcast over all arguments.

    Dispatches to the exact solution that applies:

    * :math:`|a_0| = |b_0|` (balanced, c0 = 0): R5, for any gamma (a0 = -b0 uses the mirrored
      logistic with rate :math:`-(\lambda + \gamma)`);
    * weight_decay = 0: R6 (:func:`hyperbolic_strength`);
    * weight_decay > 0 and c0 != 0: **no closed form is known**; the per-mode ODE (R3) is integrated
      with LSODA (relative tolerance ``rtol``) until the imbalance has decayed by e^-80
      (t = 40/weight_decay), after which R5 continues exactly (:func:`dynamics.ode.strength_by_ode`).

    Every argument must lie in [-1e50, 1e50] (t, lam, noise_var, weight_decay >= 0): the documented domain.
    The case is decided per mode on the parameters (not on the time grid); when every mode is
    balanced the kernel runs directly on the broadcast grid.

    Parameters
    ----------
    t : array_like
        Time t = lr * steps, >= 0.
    lam : array_like
        Eigenvalue lambda >= 0.
    noise_var, weight_decay : array_like
        Noise variance and weight decay, >= 0.
    a0, b0 : array_like
        Initial weights of the mode. Alternatively give ``u0`` > 0 for a balanced start.
    depth : int
        Number of weight layers L (default 2). For L >= 3 give a balanced start ``u0`` (every layer
        at u0^(1/L)); the curve is :func:`dynamics.depth.deep_balanced_strength` (D4). Or give
        ``layers``, the per-layer start of shape (L,) or (L, M): D2's flow is then integrated by ODE
        (:func:`dynamics.depth.deep_layers_flow`), with t a scalar or a 1-D grid; the result has
        shape t.shape + (M,).
    """
    from .depth import check_depth, deep_balanced_strength, deep_layers_flow
    if check_depth(depth) > 2:
        given = [n for n, v in (("a0", a0), ("b0", b0), ("rtol", rtol)) if v is not None]
        if given:
            raise InvalidArgumentType(f"depth >= 3 does not take {', '.join(given)}: give u0 (balanced) or layers")
        if layers is not None:
            if u0 is not None or a0 is not None or b0 is not None:
                raise InvalidArgumentType("give either layers or u0 for depth >= 3, not both")
            W = np.asarray(layers, dtype=float)
            if W.ndim not in (1, 2) or W.shape[0] != depth:
                raise InvalidArgument(f"layers must have shape (depth, ...) = ({depth}, M), got {W.shape}")
            tt = _nonneg("t", t)
            if tt.ndim > 1:
                raise InvalidArgument("with per-layer starts t must be a scalar or a 1-D grid")
            grid, back = np.unique(np.atleast_1d(tt), return_inverse=True)
            u = np.prod(deep_layers_flow(grid, lam, noise_var=noise_var, weight_decay=weight_decay, layers=W.reshape(depth, -1)), axis=1)[back]
            u = u.reshape(tt.shape + W.shape[1:])
            return u[()] if u.ndim == 0 else u
        if u0 is None:
            raise InvalidArgument("for depth >= 3 give a balanced start u0 (every layer at u0^(1/L)) or per-layer "
                             "starts layers (L, ...)")
        return deep_balanced_strength(t, lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0, depth=depth)
    if layers is not None:
        raise InvalidArgumentType("layers (per-layer starts) needs depth >= 3; at depth 2 give a0 and b0 or u0")
    rtol = 1e-11 if rtol is None else rtol
    t, lam, noise_var, weight_decay = _nonneg("t", t), _nonneg("lam", lam), _nonneg("noise_var", noise_var), _nonneg("weight_decay", weight_decay)
    if u0 is not None:
        if a0 is not None or b0 is not None:
            raise InvalidArgumentType("give either u0 or (a0, b0), not both")
        u0 = as_array("u0", u0, lo=0.0, lo_open=True, hi=MAX_MAGNITUDE)
        shape = broadcast_shape(t=t, lam=lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0)
        return _finish(balanced_log(t, lam - weight_decay, lam + noise_var, np.log(u0)), shape)
    if a0 is None or b0 is None:
        raise InvalidArgumentType("mode_strength needs a0 and b0 (or u0 for a balanced start)")
    a0, b0 = _weight("a0", a0), _weight("b0", b0)
    shape = broadcast_shape(t=t, lam=lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0)
    lam_m, eps_m, gamma_m, a0_m, b0_m = broadcast(lam=lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0)
    balanced = np.abs(a0_m) == np.abs(b0_m)
    sign = np.sign(a0_m) * np.sign(b0_m)
    if np.all(balanced):
        if np.all(sign > 0):
            out = balanced_log(t, lam_m - gamma_m, lam_m + eps_m, _log_abs(a0_m) + _log_abs(b0_m))
        else:
            out = balanced_signed(t, lam_m, eps_m, gamma_m, _log_abs(a0_m), _log_abs(b0_m), sign)
        return _finish(out, shape)
    # Mixed cases: evaluate each on its part of the full grid.
    t, lam, noise_var, weight_decay, a0, b0 = (np.broadcast_to(x, shape) for x in (t, lam, noise_var, weight_decay, a0, b0))
    balanced, sign = np.broadcast_to(balanced, shape), np.broadcast_to(sign, shape)
    out = np.empty(shape)
    nodecay = (weight_decay == 0) & ~balanced
    ode = (weight_decay > 0) & ~balanced
    if np.any(balanced):
        m = balanced
        out[m] = balanced_signed(t[m], lam[m], noise_var[m], weight_decay[m], _log_abs(a0[m]), _log_abs(b0[m]), sign[m])
    if np.any(nodecay):
        m = nodecay
        out[m] = hyperbolic(t[m], lam[m], noise_var[m], a0[m], b0[m])
    if np.any(ode):
        m = ode
        out[m] = strength_by_ode(t[m], lam[m], noise_var[m], weight_decay[m], a0[m], b0[m], rtol=rtol)
    return out[()] if out.ndim == 0 else out


@implements("R7", call={"lam": "lam", "noise_var": "eps", "weight_decay": "gamma"})
def fixed_point(lam, *, noise_var=0.0, weight_decay=0.0, depth=2):
    r"""Stable mode strength :math:`u^* = \max(0, (\lambda - \gamma)/\xi)` (R7); 0 when xi = 0.

    With ``depth`` L >= 3, the stable nonzero balanced fixed point of D5 (reached from starts above
    :func:`dynamics.depth.basin_boundary`), or 0 above the critical weight decay.
    """
    from .depth import check_depth, deep_fixed_point
    if check_depth(depth) > 2:
        return deep_fixed_point(lam, noise_var=noise_var, weight_decay=weight_decay, depth=depth)
    lam, noise_var, weight_decay = _nonneg("lam", lam), _nonneg("noise_var", noise_var), _nonneg("weight_decay", weight_decay)
    lam, noise_var, weight_decay = broadcast(lam=lam, noise_var=noise_var, weight_decay=weight_decay)
    xi = lam + noise_var
    out = np.zeros(lam.shape)
    np.divide(np.maximum(lam - weight_decay, 0.0), xi, out=out, where=xi > 0)
    return out[()] if out.ndim == 0 else out


@implements("R9", 1, call={"lam": "lam", "noise_var": "eps", "weight_decay": "gamma", "u0": "u0", "fraction": "f"},
            given={"lam": "gamma + 0.2 + lam", "u0": "u0 * 1e-3"}, domain={"f": (0.01, 0.99), "u0": (1e-4, 0.2)})
def time_to_learn(lam, *, noise_var=0.0, weight_decay=0.0, u0, fraction=0.5, depth=2):
    r"""Time for the balanced strength to grow from u0 to ``fraction`` * u* (R9).

    .. math:: t_f = \frac{1}{2\kappa}\ln\frac{f(u^*/u_0 - 1)}{1 - f}

    evaluated as :math:`[\ln f - \operatorname{log1p}(-f) + \ln(u^* - u_0) - \ln u_0]/(2\kappa)`.
    Negative when u0 already exceeds fraction * u*. Requires kappa = lambda - weight_decay > 0 and
    0 < u0 < u* (a mode with kappa <= 0 is never learned: a ValueError says so).

    With ``depth`` L >= 3 (weight_decay = 0 only): D7, by quadrature (:func:`dynamics.depth.deep_time_to_learn`).
    """
    from .depth import check_depth, deep_time_to_learn
    if check_depth(depth) > 2:
        if np.any(np.asarray(weight_decay) != 0):
            raise InvalidArgument("time_to_learn with depth >= 3 is implemented for weight_decay = 0 (D7)")
        ustar = np.asarray(lam, dtype=float) / (np.asarray(lam, dtype=float) + np.asarray(noise_var, dtype=float))
        return deep_time_to_learn(lam, noise_var=noise_var, u0=u0, u1=np.asarray(fraction) * ustar, depth=depth)
    lam, noise_var, weight_decay = _nonneg("lam", lam), _nonneg("noise_var", noise_var), _nonneg("weight_decay", weight_decay)
    u0 = as_array("u0", u0, lo=0.0, lo_open=True)
    fraction = as_array("fraction", fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    lam, noise_var, weight_decay, u0, fraction = broadcast(lam=lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0, fraction=fraction)
    kappa = lam - weight_decay
    if np.any(kappa <= 0):
        raise InvalidArgument("time_to_learn needs lam > weight_decay: a mode with lam <= weight_decay is never learned "
                         f"(got lam={lam[kappa <= 0].ravel()[0]!r}, weight_decay={weight_decay[kappa <= 0].ravel()[0]!r})")
    ustar = kappa / (lam + noise_var)
    if np.any(u0 >= ustar):
        raise InvalidArgument(f"u0 must be below the fixed point u* = (lam - weight_decay)/(lam + noise_var) = "
                         f"{ustar[u0 >= ustar].ravel()[0]!r}, got {u0[u0 >= ustar].ravel()[0]!r}")
    out = (np.log(fraction) - np.log1p(-fraction) + np.log(ustar - u0) - np.log(u0)) / (2.0 * kappa)
    return out[()] if out.ndim == 0 else out


@implements("R10", call={"lam": "lam", "noise_var": "eps"})
def equivalent_weight_decay(lam, noise_var, *, depth=2):
    r"""Weight decay with the same fixed point as noise noise_var: :math:`\gamma = \lambda\varepsilon/(\lambda + \varepsilon)` (R10);
    with ``depth`` L >= 3, D6's :math:`(\lambda/\xi)^{1-2/L}\lambda\varepsilon/\xi`."""
    from .depth import check_depth, deep_equivalent_weight_decay
    if check_depth(depth) > 2:
        return deep_equivalent_weight_decay(lam, noise_var, depth=depth)
    lam, noise_var = broadcast(lam=_nonneg("lam", lam), noise_var=_nonneg("noise_var", noise_var))
    out = np.zeros(lam.shape)
    np.divide(lam * noise_var, lam + noise_var, out=out, where=(lam + noise_var) > 0)
    return out[()] if out.ndim == 0 else out


@implements("R11", 0, call={"lam": "lam", "noise_var": "eps", "weight_decay": "0"})
@implements("R11", 1, call={"lam": "lam", "noise_var": "0", "weight_decay": "gamma"})
def paper_learning_rate(lam, *, noise_var=0.0, weight_decay=0.0):
    r"""The paper's "optimal" rate :math:`1/(2\lambda + 3\varepsilon + \gamma)`, the inverse of the largest
    Hessian eigenvalue at a = b = 1 (R8, R11): DAE :math:`1/(2\lambda + 3\varepsilon)`, WDAE :math:`1/(2\lambda + \gamma)`."""
    lam, noise_var, weight_decay = broadcast(lam=_nonneg("lam", lam), noise_var=_nonneg("noise_var", noise_var), weight_decay=_nonneg("weight_decay", weight_decay))
    curv = 2 * lam + 3 * noise_var + weight_decay
    if np.any(curv == 0):
        raise InvalidArgument("paper_learning_rate is undefined when lam = noise_var = weight_decay = 0 (zero curvature)")
    out = 1.0 / curv
    return out[()] if out.ndim == 0 else out


@implements("R12", 1, call={"lam": "lam", "noise_var": "eps", "weight_decay": "gamma"}, given={"lam": "gamma + lam"})
@implements("R12", 2, call={"lam": "lam", "noise_var": "eps", "weight_decay": "gamma", "balanced": "1"},
            given={"lam": "gamma + lam"})
@implements("R12", 4, call={"lam": "lam", "noise_var": "eps", "weight_decay": "gamma"}, given={"gamma": "gamma + lam"})
def stability_bound(lam, *, noise_var=0.0, weight_decay=0.0, balanced=False):
    r"""Largest stable learning rate of the per-mode GD map at its stable fixed point (R12).

    * lambda > weight_decay: balanced minimum, Hessian eigenvalues :math:`2\kappa, 2\gamma`, so
      :math:`\eta < 1/\max(\kappa, \gamma)`; with ``balanced=True`` only :math:`2\kappa` counts: :math:`\eta < 1/\kappa`.
    * weight_decay >= lambda: the origin, eigenvalues :math:`\gamma \mp \lambda`: :math:`\eta < 2/(\gamma + \lambda)`.

    Returns inf where the curvature is zero (lambda = weight_decay = 0).
    """
    lam, noise_var, weight_decay = broadcast(lam=_nonneg("lam", lam), noise_var=_nonneg("noise_var", noise_var), weight_decay=_nonneg("weight_decay", weight_decay))
    kappa = lam - weight_decay
    h = np.where(kappa > 0, 2 * (kappa if balanced else np.maximum(kappa, weight_decay)), weight_decay + lam)
    out = np.full(h.shape, np.inf)
    np.divide(2.0, h, out=out, where=h > 0)
    return out[()] if out.ndim == 0 else out


@implements("R13", 0, call={"lam": "lam", "noise_var": "eps", "weight_decay": "0", "a0": "a0", "b0": "b0"},
            given={"b0": "sqrt(a0**2 + c0)", "c0": "b0**2 - a0**2"}, output="sqrt", domain={"a0": (0.01, 2), "c0": (0, 3)})
@implements("R13", 1, call={"lam": "lam", "noise_var": "eps", "weight_decay": "gamma", "a0": "a0", "b0": "b0"},
            given={"lam": "gamma + lam"}, output="sqrt", domain={"a0": (-2, 2), "b0": (-2, 2)})
def final_weight_norm(lam, *, noise_var=0.0, weight_decay=0.0, a0, b0):
    r"""Limit of the mode's weight norm :math:`\|(a, b)\| = \sqrt{a^2 + b^2}` as t -> inf (R13).

    .. math:: \gamma = 0:\ \sqrt[4]{c_0^2 + 4u^{*2}},\qquad \gamma > 0:\ \sqrt{2u^*}

    (the square roots of R13's squared norms). Assumes the mode is learned (u0 > 0 or c0 != 0).
    """
    lam, noise_var, weight_decay = _nonneg("lam", lam), _nonneg("noise_var", noise_var), _nonneg("weight_decay", weight_decay)
    a0, b0 = _weight("a0", a0), _weight("b0", b0)
    lam, noise_var, weight_decay, a0, b0 = broadcast(lam=lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0)
    ustar = fixed_point(lam, noise_var=noise_var, weight_decay=weight_decay)
    c0 = (b0 - a0) * (b0 + a0)
    sq = np.where(weight_decay > 0, 2.0 * ustar, np.hypot(c0, 2.0 * ustar))
    out = np.sqrt(sq)
    return out[()] if out.ndim == 0 else out
