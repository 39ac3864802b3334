"""R9 (time to learn) and R10 (noise as weight decay)."""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .result import Result, Step, random_mpf, relative
from .solutions import balanced_solution_expr
from .symbols import eps, f, gam, lam, t, u, u0, u1, xi

_kap = sp.Symbol("kappa", positive=True)
_xis = sp.Symbol("xi", positive=True)


def time_to_learn_expr():
    r"""Time for the balanced strength to go from u0 to u1 (R9), kappa != 0."""
    kap = lam - gam
    return sp.log(u1 * (kap - xi * u0) / (u0 * (kap - xi * u1))) / (2 * kap)


def time_to_fraction_expr():
    r"""Time for the balanced strength to reach the fraction f of u* (R9)."""
    kap = lam - gam
    return sp.log(f * (kap / (xi * u0) - 1) / (1 - f)) / (2 * kap)


def time_to_learn() -> Result:
    r"""R9: time to learn along the balanced logistic.

    .. math:: t(u_0 \to u_1) = \frac{1}{2\kappa}\ln\frac{u_1(\kappa - \xi u_0)}{u_0(\kappa - \xi u_1)},\qquad
              t_f = \frac{1}{2\kappa}\ln\frac{f(u^*/u_0 - 1)}{1 - f}
    """
    integral = sp.integrate(1 / (2 * u * (_kap - _xis * u)), (u, u0, u1), conds="none")
    statement = (sp.Eq(sp.Symbol(r"t(u_0 \to u_1)"), time_to_learn_expr()),
                 sp.Eq(sp.Symbol("t_f"), time_to_fraction_expr()))
    generic = {lam: _kap + gam, eps: _xis - _kap - gam}
    steps = (Step("Separate variables in u̇ = 2u(κ − ξu) (R5) and integrate from u₀ to u₁:",
                  sp.Eq(sp.Symbol("t"), integral)),
             Step("Collect the logarithms:", statement[0]),
             Step("Put u₁ = f u*:", statement[1]))

    def inverts_r5(stmt):
        # u(t(u0 -> u1)) = u1 using R5's kappa != 0 branch.
        r5 = balanced_solution_expr().args[0][0]
        return r5.subs(t, stmt[0].rhs).subs(generic) - u1

    def numeric(stmt, rng: random.Random):
        l, e, g = random_mpf(rng, 1, 3), random_mpf(rng, 0, 2), random_mpf(rng, 0, 0.9)
        kap, x = l - g, l + e
        us = kap / x
        U0, U1 = us * random_mpf(rng, 0.01, 0.3), us * random_mpf(rng, 0.4, 0.9)
        quad = mpmath.quad(lambda v: 1 / (2 * v * (kap - x * v)), [U0, U1])  # independent: quadrature
        stated = sp.lambdify([lam, eps, gam, u0, u1], stmt[0].rhs, "mpmath")(l, e, g, U0, U1)
        frac = sp.lambdify([lam, eps, gam, u0, f], stmt[1].rhs, "mpmath")(l, e, g, U0, U1 / us)
        return [relative(quad, stated), relative(quad, frac)]

    return Result(
        name="time_to_learn", number="R9", title="Time to learn (balanced)",
        statement=statement, assumptions="κ = λ − γ > 0, 0 < u₀, u₁ < u* (or both above it); 0 < f < 1",
        steps=steps,
        symbolic_checks=(("derivative of the integral is the inverse rate",
                          lambda s: sp.diff(s[0].rhs.subs(generic), u1) - 1 / (2 * u1 * (_kap - _xis * u1))),
                         ("t(u₀ → u₀) = 0", lambda s: s[0].rhs.subs(u1, u0)),
                         ("u(t(u₀ → u₁)) = u₁ by R5", inverts_r5),
                         ("t_f = t(u₀ → f u*)", lambda s: s[0].rhs.subs(u1, f * (lam - gam) / xi) - s[1].rhs)),
        numeric_check=numeric, citation="Pretorius et al. (2018), Eq. (7); Saxe et al. (2014)",
    )


def equivalent_weight_decay_expr():
    r"""The weight decay with the same fixed point as noise eps: gamma = lambda eps / (lambda + eps) (R10)."""
    return lam * eps / (lam + eps)


def noise_weight_decay_equivalence() -> Result:
    r"""R10: noise and weight decay reach the same fixed point when :math:`\gamma = \lambda\varepsilon/(\lambda + \varepsilon)`.

    Then :math:`\lambda - \gamma = \lambda^2/\xi`, so at equal learning rate the DAE learns faster by
    exactly :math:`t_\mathrm{WDAE}/t_\mathrm{DAE} = (\lambda + \varepsilon)/\lambda`.
    """
    g_sol = sp.solve(sp.Eq(lam / (lam + eps), (lam - gam) / lam), gam)
    statement = (sp.Eq(gam, equivalent_weight_decay_expr()),
                 sp.Eq(sp.Symbol(r"t_\mathrm{WDAE}/t_\mathrm{DAE}"), (lam + eps) / lam))
    # In the WDAE the weight decay replaces the noise: its xi is lambda (eps = 0).
    t_wdae = time_to_fraction_expr().subs(eps, 0).subs(gam, equivalent_weight_decay_expr())
    t_dae = time_to_fraction_expr().subs(gam, 0)
    steps = (Step("Equate the DAE fixed point λ/(λ + ε) with the WDAE fixed point (λ − γ)/λ and solve for γ:",
                  sp.Eq(gam, sp.FiniteSet(*g_sol), evaluate=False)),
             Step("Then λ − γ = λ²/ξ. Both reach the same u* from the same u₀, and R9's time scales as 1/κ:",
                  statement[1]))

    def numeric(stmt, rng: random.Random):
        l, e = random_mpf(rng, 0.1, 3), random_mpf(rng, 0.01, 2)
        g = sp.lambdify([lam, eps], stmt[0].rhs, "mpmath")(l, e)
        # Independent method: find the WDAE fixed point by root-finding on the balanced flow.
        root = mpmath.findroot(lambda v: 2 * v * (l - g - l * v), mpmath.mpf("0.9"))
        ratio = sp.lambdify([lam, eps], stmt[1].rhs, "mpmath")(l, e)
        U0 = mpmath.mpf("1e-3") * l / (l + e)
        ti = lambda k, x: mpmath.quad(lambda v: 1 / (2 * v * (k - x * v)), [U0, l / (l + e) / 2])  # noqa: E731
        return [relative(root, l / (l + e)), relative(ti(l - g, l) / ti(l, l + e), ratio)]

    return Result(
        name="noise_weight_decay_equivalence", number="R10", title="Noise as weight decay",
        statement=statement, assumptions="λ > 0, ε > 0; per mode (γ depends on λ)",
        steps=steps,
        symbolic_checks=(("same fixed point", lambda s: (lam - s[0].rhs) / lam - lam / (lam + eps)),
                         ("γ is the unique solution", lambda s: g_sol[0] - s[0].rhs),
                         ("time ratio", lambda s: t_wdae / t_dae - s[1].rhs)),
        numeric_check=numeric, citation="Pretorius et al. (2018), Sec. 4",
    )
