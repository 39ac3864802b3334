"""50-digit mpmath references, evaluated from the SymPy statements of :mod:`derivations`.

These are slow and exact: the tests compare the fast NumPy closed forms with them. Precision
is raised adaptively where the *textbook* form cancels (kappa t -> 0, c -> 0), so the reference
keeps 50 correct digits for every float input.
"""
from __future__ import annotations

import functools

import mpmath
import sympy as sp

#: Correct digits every reference keeps.
DPS = 50


@functools.lru_cache(maxsize=None)
def _balanced_fn():
    from lindae import derivations
    from lindae.derivations.symbols import eps as noise_var, gam, lam, t, u0
    return sp.lambdify([t, lam, noise_var, gam, u0], derivations.get("balanced_solution").statement.rhs, "mpmath")


@functools.lru_cache(maxsize=None)
def _zform_fn():
    from lindae import derivations
    from lindae.derivations.symbols import c, eps as noise_var, lam, t
    step = derivations.get("hyperbolic_solution").steps[-1]
    z_t = step.expr[0].rhs
    z0 = sp.Symbol("z_0", real=True)
    return sp.lambdify([t, lam, noise_var, c, z0], z_t, "mpmath")


def _mp(x):
    """An exact mpf of a float (or an mpf kept as it is: products like a0 b0 = 1e-500 stay exact)."""
    return x if isinstance(x, mpmath.mpf) else mpmath.mpf(float(x))


def _digits_lost(x):
    """Digits lost to cancellation in 1 - e^{-x} for small x (0 when x is 0 or large)."""
    x = abs(mpmath.mpf(x))
    return 0 if x == 0 or x >= 1 else int(mpmath.ceil(-mpmath.log10(x))) + 2


def balanced_strength_mp(t, lam, noise_var, weight_decay, u0):
    """R5 at 50 correct digits for exact float inputs (the SymPy Piecewise, lambdified to mpmath)."""
    t, lam, noise_var, weight_decay, u0 = (_mp(x) for x in (t, lam, noise_var, weight_decay, u0))
    if t == 0:
        return u0
    extra = _digits_lost(2 * (lam - weight_decay) * t)
    with mpmath.workdps(DPS + 10 + extra):
        if lam + noise_var == 0:  # xi = 0: R5's limit, u' = 2 kappa u
            return u0 * mpmath.exp(2 * (lam - weight_decay) * t)
        return +_balanced_fn()(t, lam, noise_var, weight_decay, u0)


def hyperbolic_strength_mp(t, lam, noise_var, a0, b0):
    """R6 at 50 correct digits via the z-form (docs/theory.md, R6) u = c z / (1 - z^2), z0 = tanh(asinh(2u0/c)/2).

    Independent of the P-form used by :func:`dynamics.hyperbolic_strength`. Needs lam > 0.
    Falls back to R5 (weight_decay = 0) when c = 0.
    """
    t, lam, noise_var, a0, b0 = (_mp(x) for x in (t, lam, noise_var, a0, b0))
    with mpmath.workdps(DPS + 40):        # exact: the squares of float64 numbers need 32 digits
        c = b0 ** 2 - a0 ** 2
    if c == 0:
        if a0 * b0 >= 0:
            return balanced_strength_mp(t, lam, noise_var, 0, a0 * b0) if a0 * b0 > 0 else mpmath.mpf(0)
        return _anti_mp(t, lam, noise_var, a0, b0)
    if c < 0:  # symmetry a <-> b
        a0, b0, c = b0, a0, -c
    scale = a0 ** 2 + b0 ** 2
    # z = tanh(theta/2) -> 1 with 1 - z ~ c/u: keep enough digits for u up to max(u0, u*) over c.
    top = max(scale, lam / (lam + noise_var) if lam + noise_var > 0 else 0)
    extra = 2 * max(0, int(mpmath.ceil(mpmath.log10(top / c)))) + _digits_lost(lam * t) + 10
    with mpmath.workdps(DPS + extra + 10):
        z0 = mpmath.tanh(mpmath.asinh(2 * a0 * b0 / c) / 2)
        z = _zform_fn()(t, lam, noise_var, c, z0)
        return +(c * z / (1 - z ** 2))


def _anti_mp(t, lam, noise_var, a0, b0):
    """a0 = -b0, weight_decay = 0: u stays on a = -b and -u obeys the logistic with rate -lambda (exact ODE solution)."""
    v0 = -a0 * b0
    with mpmath.workdps(DPS + 10 + _digits_lost(2 * lam * t)):
        kap, xi = -lam, lam + noise_var
        return -(v0 * mpmath.exp(2 * kap * t) / (1 + xi * v0 * mpmath.expm1(2 * kap * t) / kap))


def ode_strength_mp(t, lam, noise_var, weight_decay, a0, b0, dps=30):
    """u(t) by mpmath's Taylor-series ODE solver (slow; moderate t only). Accurate to ~dps digits."""
    from lindae.derivations import mode_flow_function_mp
    flow = mode_flow_function_mp()        # R3's statement, lambdified to mpmath
    with mpmath.workdps(dps):
        l, e, g = mpmath.mpf(float(lam)), mpmath.mpf(float(noise_var)), mpmath.mpf(float(weight_decay))

        def rhs(_t, y):
            return list(flow(y[0], y[1], l, e, g))

        a, b = mpmath.odefun(rhs, 0, [mpmath.mpf(float(a0)), mpmath.mpf(float(b0))])(mpmath.mpf(float(t)))
        return a * b


@functools.lru_cache(maxsize=None)
def _deep_rate_fn():
    """(u, L, lam, noise_var, weight_decay) -> du/dt on the balanced path, D4's statement lambdified to mpmath."""
    from lindae import derivations
    from lindae.derivations.depth import Ld
    from lindae.derivations.symbols import eps as noise_var, gam, lam, u
    return sp.lambdify([u, Ld, lam, noise_var, gam], derivations.get("depth_balanced_flow").statement.rhs, "mpmath")


@functools.lru_cache(maxsize=None)
def _deep_time_fn():
    """(L, lam, noise_var, u0, u1) -> t(u0 -> u1) for weight_decay = 0, D7's statement lambdified to mpmath."""
    from lindae import derivations
    from lindae.derivations.depth import Ld
    from lindae.derivations.symbols import eps as noise_var, lam
    stmt = derivations.get("depth_time_to_learn").statement
    u0s, u1s = sorted((s for s in stmt.rhs.free_symbols if s.name in ("u_0", "u_1")), key=lambda s: s.name)
    return sp.lambdify([Ld, lam, noise_var, u0s, u1s], stmt.rhs, "mpmath")


def deep_balanced_strength_mp(t, lam, noise_var, weight_decay, u0, depth):
    """u(t) of the balanced depth-L flow to ~40 digits, independent of the ODE integration in dynamics.depth.

    weight_decay = 0: D7's closed-form time t(u0 -> u) (hypergeometric) inverted by a root finder in ln u, with
    enough digits for the ~u0^(2/L - 1) size of each term. weight_decay > 0: t(v) = ∫ dv/v̇ (v = ln u, v̇ from D4)
    by quadrature, inverted the same way.
    """
    with mpmath.workdps(DPS + 10):
        t, lam, noise_var, weight_decay, u0 = (_mp(x) for x in (t, lam, noise_var, weight_decay, u0))
    if t == 0:
        return u0
    L = mpmath.mpf(depth)
    extra = int(max(0, -(2 / L - 1) * mpmath.log10(u0))) + 20
    with mpmath.workdps(DPS + 10 + extra):
        rate = _deep_rate_fn()
        vdot = lambda v: rate(mpmath.exp(v), L, lam, noise_var, weight_decay) / mpmath.exp(v)  # noqa: E731
        v0 = mpmath.log(u0)
        if vdot(v0) == 0:
            return u0
        if weight_decay == 0:
            ttl = _deep_time_fn()
            elapsed = lambda v: ttl(L, lam, noise_var, u0, mpmath.exp(v))  # noqa: E731
        else:
            elapsed = lambda v: mpmath.quad(lambda x: 1 / vdot(x), [v0, v])  # noqa: E731
        direction = 1 if vdot(v0) > 0 else -1
        # bracket [v0 + d*a, v0 + d*b] with elapsed(b) >= t, never stepping past a fixed point
        a, b = mpmath.mpf(0), mpmath.mpf("1e-3")
        while True:
            v = v0 + direction * b
            if vdot(v) * direction <= 0:
                b = (a + b) / 2
                if b - a < mpmath.mpf(10) ** -40:
                    return mpmath.exp(v0 + direction * a)
                continue
            if elapsed(v) >= t:
                break
            a, b = b, 2 * b
        lo = v0 + direction * a
        hi = v0 + direction * b
        for _ in range(400):        # bisection in v: robust whatever the scale of elapsed(v)
            mid = (lo + hi) / 2
            if elapsed(mid) >= t:
                hi = mid
            else:
                lo = mid
            if abs(hi - lo) < mpmath.mpf(10) ** -25:     # u to 25 digits: far below the 1e-10 tested
                break
        return mpmath.exp((lo + hi) / 2)
