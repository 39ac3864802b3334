"""Closed-form per-mode theory, evaluated in forms that neither overflow nor cancel.

Every function broadcasts over all of its array arguments (NumPy rules). Units: the toolkit's
per-sample convention of THEORY.md section 1; time t = eta * steps.

The formulas are the results R5-R13 of :mod:`derivations`; the stable rearrangements used here
are themselves proved equal to the derived statements there (R5 "stable forms", R6 "Möbius
map"), and the tests compare every function with a 50-digit mpmath evaluation of the SymPy
statement.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_array, broadcast, broadcast_shape

__all__ = ["balanced_strength", "hyperbolic_strength", "mode_strength", "fixed_point", "time_to_learn",
           "equivalent_weight_decay", "paper_learning_rate", "stability_bound", "final_weight_norm"]


#: The documented domain: every argument is at most this in magnitude (far beyond physical use; inside
#: it no intermediate of the closed forms can overflow).
MAX_MAGNITUDE = 1e50


def _nonneg(name, value):
    return as_array(name, value, lo=0.0, hi=MAX_MAGNITUDE)


def _weight(name, value):
    return as_array(name, value, lo=-MAX_MAGNITUDE, hi=MAX_MAGNITUDE)


def _balanced_kernel(t, kappa, xi, u0):
    r"""Logistic :math:`\dot u = 2u(\kappa - \xi u)` from u0 > 0, overflow-free (R5, stable forms).

    With :math:`s = -2|\kappa| t`, :math:`E = e^s` and :math:`2\xi t\,g(s) = -\xi\operatorname{expm1}(s)/|\kappa|`
    (:math:`= 2\xi t` when :math:`|\kappa| t` underflows): :math:`u = 1/(E/u_0 + 2\xi t g)` for
    :math:`\kappa \ge 0` and :math:`u = E/(1/u_0 + 2\xi t g)` for :math:`\kappa < 0`. All terms are
    non-negative, so nothing cancels, and :math:`E \le 1`, so nothing overflows.

    Arguments broadcast; the per-mode coefficients are formed on the small arrays and only the
    time-dependent terms on the full grid (in place).
    """
    absk = np.abs(np.asarray(kappa, dtype=float))
    tiny = absk < 1e-200           # then |s| < 1e-190 t and g(s) = 1 to double precision
    coef = -np.asarray(xi, dtype=float) / np.where(tiny, 1.0, absk)
    s = np.asarray(np.multiply(t, -2.0 * absk))   # an ndarray even for scalar inputs, so out= works
    E = np.exp(s, out=np.empty_like(s))
    growth = np.multiply(np.expm1(s, out=s), coef, out=s)
    if np.any(tiny):
        growth = np.where(tiny, 2.0 * xi * t, growth)
    u0 = np.asarray(u0, dtype=float)
    neg = np.asarray(kappa) < 0
    # Scale by u0 only when u0 > 1, so that neither 1/u0 (tiny u0) nor u0 * growth (huge u0) overflows:
    # kappa >= 0: u = u0 / (E + u0 G) = 1 / (E/u0 + G);  kappa < 0: u = u0 E / (1 + u0 G) = E / (1/u0 + G).
    big = u0 > 1
    if not np.any(big):
        if not np.any(neg):
            return np.divide(u0, np.add(E, np.multiply(growth, u0, out=growth), out=E), out=E)
        num, den = np.where(neg, u0 * E, u0), np.where(neg, 1.0, E) + u0 * growth
        return num / den
    inv = 1.0 / np.where(big, u0, 1.0)
    num = np.where(big, np.where(neg, E, 1.0), np.where(neg, u0 * E, u0))
    den = np.where(big, np.where(neg, inv, E * inv), np.where(neg, 1.0, E)) + np.where(big, 1.0, u0) * growth
    return num / den


def _balanced_signed(t, lam, eps, gamma, u0):
    """R5 for c0 = 0 with either sign of u0 = a0 b0: a0 = b0 is the logistic with rate kappa;
    a0 = -b0 gives v = -u obeying the logistic with rate -(lambda + gamma); u0 = 0 stays 0."""
    anti = u0 < 0
    val = _balanced_kernel(t, np.where(anti, -(lam + gamma), lam - gamma), lam + eps,
                           np.where(u0 != 0, np.abs(u0), 1.0))
    return np.where(u0 != 0, np.where(anti, -val, val), 0.0)


def balanced_strength(t, lam, *, eps=0.0, gamma=0.0, u0):
    r"""Mode strength from a balanced start a0 = b0 = sqrt(u0) (R5).

    .. math:: u(t) = \frac{u^*}{1 + (u^*/u_0 - 1)e^{-2\kappa t}},\quad \kappa = \lambda - \gamma,\ u^* = \kappa/\xi,
              \qquad u(t) = \frac{u_0}{1 + 2\xi u_0 t}\ (\kappa = 0)

    evaluated as :math:`1/(e^{-2\kappa t}/u_0 + 2\xi t\,g(-2\kappa t))` (and the mirrored form for
    :math:`\kappa < 0`), :math:`g(s) = (e^s - 1)/s`, which cannot overflow and has no cancellation
    for every t, lambda, eps, gamma in [0, 1e50] and u0 in (0, 1e50], including lambda ≈ gamma, kappa = 0,
    xi = 0, t = 1e9 and u0 = 1e-300 (the documented domain, :data:`MAX_MAGNITUDE`).

    Parameters
    ----------
    t : array_like
        Time t = eta * steps, >= 0.
    lam, eps, gamma : array_like
        Eigenvalue, noise variance and weight decay, all >= 0.
    u0 : array_like
        Initial strength, > 0.

    Returns
    -------
    ndarray
        u(t), broadcast over all arguments.
    """
    t, lam, eps, gamma = _nonneg("t", t), _nonneg("lam", lam), _nonneg("eps", eps), _nonneg("gamma", gamma)
    u0 = as_array("u0", u0, lo=0.0, lo_open=True, hi=MAX_MAGNITUDE)
    shape = broadcast_shape(t=t, lam=lam, eps=eps, gamma=gamma, u0=u0)
    out = _balanced_kernel(t, lam - gamma, lam + eps, u0)
    out = np.broadcast_to(out, shape) if out.shape != shape else out
    return out[()] if out.ndim == 0 else out


def _mobius(y0, yp, ym_abs, omE, E, den):
    """Numerator/den of the Riccati solution with roots yp >= 0 >= -ym_abs (see derivations.solutions.mobius)."""
    return (y0 * (yp + ym_abs * E) + yp * ym_abs * omE) / den


def hyperbolic_strength(t, lam, *, eps=0.0, a0, b0):
    r"""Mode strength for gamma = 0 from any (a0, b0), on the hyperbola b^2 - a^2 = c (R6).

    With :math:`P = (a + b)^2`, :math:`P_\pm = 2\lambda/\xi \pm \sqrt{4\lambda^2/\xi^2 + c^2}` and
    :math:`r = \sqrt{4\lambda^2 + \xi^2c^2}`,

    .. math:: P(t) = \frac{P_0(P_+ - P_-E) - P_+P_-(1 - E)}{P_0(1 - E) - P_- + P_+E},\quad E = e^{-rt},\qquad
              u = \frac{D\,(P + c)}{4P},\ D = P - c

    where D obeys the same Riccati equation with roots :math:`P_\pm - c`; it is evaluated as P - c where
    P >= 2c and by the same Möbius map elsewhere, so that tiny strengths (a0 << b0) keep full relative
    precision and nothing cancels. There is no
    division by c: c = 0 gives R5 exactly (evaluated by :func:`balanced_strength`'s kernel).
    For u0 < 0 the strength crosses zero, where only absolute accuracy (relative to the mode's
    scale) is possible for any floating-point method.
    """
    t, lam, eps = _nonneg("t", t), _nonneg("lam", lam), _nonneg("eps", eps)
    a0, b0 = _weight("a0", a0), _weight("b0", b0)
    t, lam, eps, a0, b0 = broadcast(t=t, lam=lam, eps=eps, a0=a0, b0=b0)
    return _hyperbolic(t, lam, eps, a0, b0)


def _hyperbolic(t, lam, eps, a0, b0):
    # Normalise by the symmetries (a, b) -> (b, a) and (a, b) -> (-a, -b): b0 >= |a0|, so c >= 0.
    swap = np.abs(a0) > np.abs(b0)
    a0, b0 = np.where(swap, b0, a0), np.where(swap, a0, b0)
    flip = b0 < 0
    a0, b0 = np.where(flip, -a0, a0), np.where(flip, -b0, b0)
    xi = lam + eps
    c = (b0 - a0) * (b0 + a0)
    u0 = a0 * b0
    out = np.empty(np.broadcast(t, a0).shape)
    bal = c == 0
    if np.any(bal):
        out[bal] = _balanced_signed(t[bal], lam[bal], eps[bal], 0.0, u0[bal])
    gen = ~bal
    if np.any(gen):
        tt, ll, xx, cc, A0, B0 = t[gen], lam[gen], xi[gen], c[gen], a0[gen], b0[gen]
        moving = xx > 0
        xs = np.where(moving, xx, 1.0)
        h = 2.0 * ll / xs
        disc = np.hypot(h, cc)
        Pp = h + disc
        Pm_abs = cc * (cc / Pp)
        Dp = h + h * (h / (disc + cc))
        Dm_abs = Pm_abs + cc
        P0 = (A0 + B0) ** 2
        D0 = 2.0 * A0 * (A0 + B0)
        rt = xs * disc * tt
        E = np.exp(-rt)
        omE = -np.expm1(-rt)
        den = (P0 + Pm_abs) * omE + 2.0 * disc * E
        P = _mobius(P0, Pp, Pm_abs, omE, E, den)
        # D = P - c directly where that cannot cancel (P >= 2c); the Mobius form of D elsewhere, which
        # keeps tiny strengths (a0 << b0) at full relative precision.
        D = np.where(P >= 2.0 * cc, P - cc, _mobius(D0, Dp, Dm_abs, omE, E, den))
        out[gen] = np.where(moving, D * (P + cc) / (4.0 * P), A0 * B0)
    return out


def mode_strength(t, lam, *, eps=0.0, gamma=0.0, a0=None, b0=None, u0=None, rtol=1e-11):
    r"""Mode strength u(t) = a(t) b(t) from any initial (a0, b0), broadcast over all arguments.

    Dispatches to the exact solution that applies:

    * :math:`|a_0| = |b_0|` (balanced, c0 = 0): R5, for any gamma (a0 = -b0 uses the mirrored
      logistic with rate :math:`-(\lambda + \gamma)`);
    * gamma = 0: R6 (:func:`hyperbolic_strength`);
    * gamma > 0 and c0 != 0: **no closed form is known**; the per-mode ODE (R3) is integrated
      with LSODA (relative tolerance ``rtol``) until the imbalance has decayed by e^-80
      (t = 40/gamma), after which R5 continues exactly (:func:`dynamics.ode.strength_by_ode`).

    Every argument must lie in [-1e50, 1e50] (t, lam, eps, gamma >= 0): the documented domain.

    Parameters
    ----------
    t : array_like
        Time t = eta * steps, >= 0.
    lam : array_like
        Eigenvalue lambda >= 0.
    eps, gamma : array_like
        Noise variance and weight decay, >= 0.
    a0, b0 : array_like
        Initial weights of the mode. Alternatively give ``u0`` > 0 for a balanced start.
    """
    if u0 is not None:
        if a0 is not None or b0 is not None:
            raise TypeError("give either u0 or (a0, b0), not both")
        a0 = b0 = np.sqrt(as_array("u0", u0, lo=0.0, lo_open=True, hi=MAX_MAGNITUDE))
    elif a0 is None or b0 is None:
        raise TypeError("mode_strength needs a0 and b0 (or u0 for a balanced start)")
    t, lam, eps, gamma = _nonneg("t", t), _nonneg("lam", lam), _nonneg("eps", eps), _nonneg("gamma", gamma)
    a0, b0 = _weight("a0", a0), _weight("b0", b0)
    t, lam, eps, gamma, a0, b0 = broadcast(t=t, lam=lam, eps=eps, gamma=gamma, a0=a0, b0=b0)
    out = np.empty(t.shape)
    balanced = np.abs(a0) == np.abs(b0)
    nodecay = (gamma == 0) & ~balanced
    ode = (gamma > 0) & ~balanced
    if np.any(balanced):
        m = balanced
        out[m] = _balanced_signed(t[m], lam[m], eps[m], gamma[m], (a0 * b0)[m])
    if np.any(nodecay):
        out[nodecay] = _hyperbolic(t[nodecay], lam[nodecay], eps[nodecay], a0[nodecay], b0[nodecay])
    if np.any(ode):
        from .ode import strength_by_ode
        out[ode] = strength_by_ode(t[ode], lam[ode], eps[ode], gamma[ode], a0[ode], b0[ode], rtol=rtol)
    return out[()] if out.ndim == 0 else out


def fixed_point(lam, *, eps=0.0, gamma=0.0):
    r"""Stable mode strength :math:`u^* = \max(0, (\lambda - \gamma)/\xi)` (R7); 0 when xi = 0."""
    lam, eps, gamma = _nonneg("lam", lam), _nonneg("eps", eps), _nonneg("gamma", gamma)
    lam, eps, gamma = broadcast(lam=lam, eps=eps, gamma=gamma)
    xi = lam + eps
    out = np.zeros(lam.shape)
    np.divide(np.maximum(lam - gamma, 0.0), xi, out=out, where=xi > 0)
    return out[()] if out.ndim == 0 else out


def time_to_learn(lam, *, eps=0.0, gamma=0.0, u0, fraction=0.5):
    r"""Time for the balanced strength to grow from u0 to ``fraction`` * u* (R9).

    .. math:: t_f = \frac{1}{2\kappa}\ln\frac{f(u^*/u_0 - 1)}{1 - f}

    evaluated as :math:`[\ln f - \operatorname{log1p}(-f) + \ln(u^* - u_0) - \ln u_0]/(2\kappa)`.
    Negative when u0 already exceeds fraction * u*. Requires kappa = lambda - gamma > 0 and
    0 < u0 < u* (a mode with kappa <= 0 is never learned: a ValueError says so).
    """
    lam, eps, gamma = _nonneg("lam", lam), _nonneg("eps", eps), _nonneg("gamma", gamma)
    u0 = as_array("u0", u0, lo=0.0, lo_open=True)
    fraction = as_array("fraction", fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    lam, eps, gamma, u0, fraction = broadcast(lam=lam, eps=eps, gamma=gamma, u0=u0, fraction=fraction)
    kappa = lam - gamma
    if np.any(kappa <= 0):
        raise ValueError("time_to_learn needs lam > gamma: a mode with lam <= gamma is never learned "
                         f"(got lam={lam[kappa <= 0].ravel()[0]!r}, gamma={gamma[kappa <= 0].ravel()[0]!r})")
    ustar = kappa / (lam + eps)
    if np.any(u0 >= ustar):
        raise ValueError(f"u0 must be below the fixed point u* = (lam - gamma)/(lam + eps) = "
                         f"{ustar[u0 >= ustar].ravel()[0]!r}, got {u0[u0 >= ustar].ravel()[0]!r}")
    out = (np.log(fraction) - np.log1p(-fraction) + np.log(ustar - u0) - np.log(u0)) / (2.0 * kappa)
    return out[()] if out.ndim == 0 else out


def equivalent_weight_decay(lam, eps):
    r"""Weight decay with the same fixed point as noise eps: :math:`\gamma = \lambda\varepsilon/(\lambda + \varepsilon)` (R10)."""
    lam, eps = broadcast(lam=_nonneg("lam", lam), eps=_nonneg("eps", eps))
    out = np.zeros(lam.shape)
    np.divide(lam * eps, lam + eps, out=out, where=(lam + eps) > 0)
    return out[()] if out.ndim == 0 else out


def paper_learning_rate(lam, *, eps=0.0, gamma=0.0):
    r"""The paper's "optimal" rate :math:`1/(2\lambda + 3\varepsilon + \gamma)`, the inverse of the largest
    Hessian eigenvalue at a = b = 1 (R8, R11): DAE :math:`1/(2\lambda + 3\varepsilon)`, WDAE :math:`1/(2\lambda + \gamma)`."""
    lam, eps, gamma = broadcast(lam=_nonneg("lam", lam), eps=_nonneg("eps", eps), gamma=_nonneg("gamma", gamma))
    curv = 2 * lam + 3 * eps + gamma
    if np.any(curv == 0):
        raise ValueError("paper_learning_rate is undefined when lam = eps = gamma = 0 (zero curvature)")
    out = 1.0 / curv
    return out[()] if out.ndim == 0 else out


def stability_bound(lam, *, eps=0.0, gamma=0.0, balanced=False):
    r"""Largest stable learning rate of the per-mode GD map at its stable fixed point (R12).

    * lambda > gamma: balanced minimum, Hessian eigenvalues :math:`2\kappa, 2\gamma`, so
      :math:`\eta < 1/\max(\kappa, \gamma)`; with ``balanced=True`` only :math:`2\kappa` counts: :math:`\eta < 1/\kappa`.
    * gamma >= lambda: the origin, eigenvalues :math:`\gamma \mp \lambda`: :math:`\eta < 2/(\gamma + \lambda)`.

    Returns inf where the curvature is zero (lambda = gamma = 0).
    """
    lam, eps, gamma = broadcast(lam=_nonneg("lam", lam), eps=_nonneg("eps", eps), gamma=_nonneg("gamma", gamma))
    kappa = lam - gamma
    h = np.where(kappa > 0, 2 * (kappa if balanced else np.maximum(kappa, gamma)), gamma + lam)
    out = np.full(h.shape, np.inf)
    np.divide(2.0, h, out=out, where=h > 0)
    return out[()] if out.ndim == 0 else out


def final_weight_norm(lam, *, eps=0.0, gamma=0.0, a0, b0):
    r"""Limit of the mode's weight norm :math:`\|(a, b)\| = \sqrt{a^2 + b^2}` as t -> inf (R13).

    .. math:: \gamma = 0:\ \sqrt[4]{c_0^2 + 4u^{*2}},\qquad \gamma > 0:\ \sqrt{2u^*}

    (the square roots of R13's squared norms). Assumes the mode is learned (u0 > 0 or c0 != 0).
    """
    lam, eps, gamma = _nonneg("lam", lam), _nonneg("eps", eps), _nonneg("gamma", gamma)
    a0, b0 = as_array("a0", a0), as_array("b0", b0)
    lam, eps, gamma, a0, b0 = broadcast(lam=lam, eps=eps, gamma=gamma, a0=a0, b0=b0)
    ustar = fixed_point(lam, eps=eps, gamma=gamma)
    c0 = (b0 - a0) * (b0 + a0)
    sq = np.where(gamma > 0, 2.0 * ustar, np.hypot(c0, 2.0 * ustar))
    out = np.sqrt(sq)
    return out[()] if out.ndim == 0 else out
