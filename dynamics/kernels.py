r"""Unvalidated NumPy kernels of the per-mode closed forms (R5, R6): the leaf of :mod:`dynamics`.

Both kernels take the initial weights through their logarithms where products could leave the
floating-point range: a mode started at a0 = 1e-300, b0 = 1e-200 has u0 = 1e-500 and
c0 = b0² - a0² = 1e-400, neither of which exists in float64, yet it is learned to u* = λ/ξ in
finite time. Every quantity that matters is a *ratio* of such tiny numbers, and the kernels form
those ratios in log space. Output values below the normal range (|u| < 2.2e-308) are as exact as
subnormals allow; everything else keeps full relative precision (see docs/theory.md, "Numerics").

Nothing here validates its arguments; :mod:`dynamics.closed_form` does, once, and dispatches.
"""
from __future__ import annotations

import numpy as np

#: Below this log-strength, exp(-2|kappa| t - log u0) can overflow: the kernels switch form.
_LOG_SAFE = -700.0


def _growth(s, absk, xi, t):
    r""":math:`2\xi t\,g(s)` with :math:`g(s) = \operatorname{expm1}(s)/s`, :math:`s = -2|\kappa|t` (in place on s)."""
    tiny = absk < 1e-200           # then |s| < 1e-190 t and g(s) = 1 to double precision
    coef = -np.asarray(xi, dtype=float) / np.where(tiny, 1.0, absk)
    s = np.expm1(s, out=s) if s.ndim else np.asarray(np.expm1(s))
    if s.ndim and np.broadcast_shapes(s.shape, coef.shape) == s.shape:
        growth = np.multiply(s, coef, out=s)
    else:
        growth = np.asarray(s * coef)
    if np.any(tiny):
        growth = np.where(tiny, 2.0 * np.multiply(xi, t), growth)
    return growth


def balanced_log(t, kappa, xi, log_u0):
    r"""Logistic :math:`\dot u = 2u(\kappa - \xi u)` from :math:`u_0 = e^{L} > 0` (R5), for any L.

    With :math:`s = -2|\kappa|t` and :math:`G = -\xi\operatorname{expm1}(s)/|\kappa| \ge 0`
    (:math:`= 2\xi t` for :math:`\kappa = 0`):

    * :math:`\kappa \ge 0`: :math:`u = 1/(e^{s - L} + G)`, or :math:`x/(1 + Gx)` with
      :math:`x = e^{L - s}` where :math:`s - L > 0` could overflow;
    * :math:`\kappa < 0`: :math:`u = e^{L + s}/(1 + e^{L}G)`, with :math:`e^{L}G` formed as
      :math:`e^{L + \ln G}`.

    All terms are non-negative, so nothing cancels; no exponential has a positive argument
    beyond 709, so nothing overflows. Arguments broadcast.
    """
    kappa = np.asarray(kappa, dtype=float)
    log_u0 = np.asarray(log_u0, dtype=float)
    absk = np.abs(kappa)
    s = np.asarray(np.multiply(t, -2.0 * absk))           # an ndarray even for scalar inputs
    neg = kappa < 0
    if not np.any(neg) and np.all(log_u0 > _LOG_SAFE):
        y = np.asarray(np.subtract(s, log_u0))
        y = np.exp(y, out=y)                               # e^{s - L} <= 1/u0 < e^700
        growth = _growth(s, absk, xi, t)
        if y.shape != np.broadcast_shapes(y.shape, growth.shape):
            return 1.0 / (y + growth)
        return np.divide(1.0, np.add(y, growth, out=y), out=y)
    q = np.subtract(s, log_u0)                             # s - L
    growth = _growth(s.copy(), absk, xi, t)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        y = np.exp(np.minimum(q, 0.0))                     # e^{s - L} where s <= L
        x = np.exp(np.minimum(-q, 0.0))                    # e^{L - s} where s > L
        pos = np.where(q <= 0, 1.0 / (y + growth), x / (1.0 + growth * x))
        if not np.any(neg):
            return pos
        lg = np.log(growth)
        eLG = np.where(growth > 0, np.exp(np.minimum(log_u0 + lg, 700.0)), 0.0)
        neg_val = np.exp(log_u0 + s) / (1.0 + eLG)
    return np.where(neg, neg_val, pos)


def balanced_signed(t, lam, noise_var, weight_decay, log_abs_a0, log_abs_b0, sign):
    """R5 for c0 = 0 with either sign of u0 = a0 b0 (sign = +1, -1 or 0): a0 = b0 is the logistic with
    rate kappa; a0 = -b0 gives v = -u obeying the logistic with rate -(lambda + weight_decay); u0 = 0 stays 0."""
    anti = sign < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        L = np.where(sign != 0, log_abs_a0 + log_abs_b0, 0.0)
    val = balanced_log(t, np.where(anti, -(lam + weight_decay), lam - weight_decay), lam + noise_var, L)
    return np.where(sign != 0, np.where(anti, -val, val), 0.0)


def _mobius(y0, yp, ym_abs, omE, E, den):
    """Riccati solution with roots yp >= 0 >= -ym_abs at E = e^{-rt} (derivations: R6 Möbius map)."""
    return (y0 * (yp + ym_abs * E) + yp * ym_abs * omE) / den


def hyperbolic(t, lam, noise_var, a0, b0):
    r"""R6 for weight_decay = 0 and b0² != a0² (already broadcast 1-D arrays), in scale-free form.

    After the symmetries (a, b) -> (b, a) and (a, b) -> (-a, -b), :math:`b_0 = \sigma > 0` and
    :math:`a_0 = \alpha\sigma` with :math:`|\alpha| < 1`. :math:`P = (a + b)^2` and
    :math:`D = P - c = 2a(a + b)` obey one Riccati equation with roots :math:`P_\pm` (and
    :math:`P_\pm - c`), and :math:`u = D(P + c)/(4P)`. The cross-ratio
    :math:`R(t) = (P_+ - P)/(P - P_-) = R_0e^{-rt}` is formed as :math:`e^{X}`,
    :math:`X = \ln(P_+ - P_0) - \ln Z_0 - rt`, :math:`Z_0 = P_0 + |P_-| = \sigma^2(1 + \alpha)^2(1 + \rho)`,
    :math:`\rho = (b_0 - a_0)^2/P_+`, with every numerator divided by :math:`Z_0`:

    .. math:: u = \frac{n_D\,(1 + q(1 + e^X))}{4(1 + e^X)} = \frac{n_D\,(f + q(1 + f))}{4(1 + f)},\quad f = e^{-X},

    where :math:`n_P, n_D` are the normalised numerators of the Möbius maps and :math:`q = c/n_P = e^{\ln c - \ln n_P}`.
    Starts above the fixed point (:math:`P_0 > P_+`) are not small and use the direct Möbius form.
    """
    swap = np.abs(a0) > np.abs(b0)
    a0, b0 = np.where(swap, b0, a0), np.where(swap, a0, b0)
    flip = b0 < 0
    a0, b0 = np.where(flip, -a0, a0), np.where(flip, -b0, b0)
    xi = lam + noise_var
    moving = xi > 0
    xs = np.where(moving, xi, 1.0)
    alpha = a0 / b0
    log_sigma = np.log(b0)
    # 1 ± α from the sum and difference of the weights, not from the rounded ratio: a0 = -b0(1 - 6e-16) has
    # b0 + a0 exact (Sterbenz) while 1 + a0/b0 keeps one significant digit
    one_m, one_p = (b0 - a0) / b0, (b0 + a0) / b0
    c = (b0 - a0) * (b0 + a0)                              # may underflow: used only where it matters
    log_c = 2.0 * log_sigma + np.log(one_m * one_p)
    h = 2.0 * lam / xs
    disc = np.hypot(h, c)
    Pp = h + disc
    with np.errstate(under="ignore"):
        rho = (b0 - a0) ** 2 / Pp
        Pm_abs = c * (c / Pp)
    Dp = h + h * (h / (disc + c))
    rt = xs * disc * t
    E = np.exp(-rt)
    omE = -np.expm1(-rt)
    P0 = (a0 + b0) ** 2
    small = P0 <= Pp
    out = np.empty(t.shape)
    if np.any(small):
        m = small
        w = 1.0 / (1.0 + rho[m])
        omw = rho[m] / (1.0 + rho[m])                      # 1 - w without cancelling when rho is small
        log_Z0 = 2.0 * log_sigma[m] + 2.0 * np.log(one_p[m]) + np.log1p(rho[m])
        with np.errstate(divide="ignore"):
            X = np.log(Pp[m] - P0[m]) - log_Z0 - rt[m]
        nP = Pp[m] * w + Pp[m] * omw * omE[m] + w * Pm_abs[m] * E[m]
        scale = one_p[m] * (1.0 + rho[m])
        d0 = 2.0 * alpha[m] / scale                        # D0 / Z0
        c_over = one_m[m] / scale                          # c / Z0
        Dm_over = omw + c_over                             # |D-| / Z0
        Dm_abs = Pm_abs[m] + c[m]
        # All terms >= 0 when D0 >= 0; for D0 < 0 (u crosses zero) the form exact as E -> 0, using
        # d0 + |D-|/Z0 = 1: then only the crossing itself cancels, as it must.
        nD = np.where(d0 >= 0, d0 * (Dp[m] + Dm_abs * E[m]) + Dp[m] * Dm_over * omE[m],
                      Dp[m] + E[m] * (d0 * Dm_abs - Dp[m] * Dm_over))
        q = np.exp(log_c[m] - np.log(nP))
        with np.errstate(over="ignore"):
            eX = np.exp(np.minimum(X, 0.0))
            f = np.exp(np.minimum(-X, 0.0))
        out[m] = np.where(X <= 0, nD * (1.0 + q * (1.0 + eX)) / (4.0 * (1.0 + eX)),
                          nD * (f + q * (1.0 + f)) / (4.0 * (1.0 + f)))
    big = ~small
    if np.any(big):
        m = big
        den = (P0[m] + Pm_abs[m]) * omE[m] + (Pp[m] + Pm_abs[m]) * E[m]
        P = _mobius(P0[m], Pp[m], Pm_abs[m], omE[m], E[m], den)
        D0, Dm_abs = 2.0 * a0[m] * (a0[m] + b0[m]), Pm_abs[m] + c[m]
        D = np.where(D0 >= 0, _mobius(D0, Dp[m], Dm_abs, omE[m], E[m], den),
                     (Dp[m] * (P0[m] + Pm_abs[m]) + E[m] * Dm_abs * (D0 - Dp[m])) / den)
        out[m] = D * (P + c[m]) / (4.0 * P)
    return np.where(moving, out, a0 * b0)
