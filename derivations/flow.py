"""R3 (gradient flow) and R4 (balance law) for one mode."""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .result import Result, Step, random_mpf, relative
from .symbols import a, b, c0, eps, gam, lam, mode_loss, t, xi

_adot, _bdot = sp.symbols(r"\dot{a} \dot{b}")


def flow_rhs():
    """The right-hand side (da/dt, db/dt) = -grad l(a, b), derived by differentiation (R3)."""
    ell = mode_loss()
    return -sp.diff(ell, a), -sp.diff(ell, b)


def gradient_flow() -> Result:
    r"""R3: per-mode gradient flow.

    .. math:: \dot a = b(\lambda - \xi ab) - \gamma a,\qquad \dot b = a(\lambda - \xi ab) - \gamma b
    """
    da, db = flow_rhs()
    statement = (sp.Eq(_adot, b * (lam - xi * a * b) - gam * a),
                 sp.Eq(_bdot, a * (lam - xi * a * b) - gam * b))
    steps = (
        Step("Per-mode loss (R2):", sp.Eq(sp.Symbol(r"\ell"), mode_loss())),
        Step("Gradient flow ȧ = −∂ℓ/∂a, ḃ = −∂ℓ/∂b:", (sp.Eq(_adot, da), sp.Eq(_bdot, db))),
        Step("Collect with ξ = λ + ε:", statement),
    )

    def numeric(stmt, rng: random.Random):
        # Independent method: numeric differentiation of the loss at 50 digits.
        vals = {lam: random_mpf(rng, 0, 3), eps: random_mpf(rng, 0, 3), gam: random_mpf(rng, 0, 3),
                a: random_mpf(rng, -2, 2), b: random_mpf(rng, -2, 2)}
        ell = sp.lambdify([lam, eps, gam, a, b], mode_loss(), "mpmath")
        args = [vals[s] for s in (lam, eps, gam, a, b)]
        g_a = -mpmath.diff(lambda x: ell(*args[:3], x, args[4]), args[3])
        g_b = -mpmath.diff(lambda x: ell(*args[:4], x), args[4])
        fa = sp.lambdify([lam, eps, gam, a, b], stmt[0].rhs, "mpmath")(*args)
        fb = sp.lambdify([lam, eps, gam, a, b], stmt[1].rhs, "mpmath")(*args)
        return [relative(g_a, fa), relative(g_b, fb)]

    return Result(
        name="gradient_flow", number="R3", title="Per-mode gradient flow",
        statement=statement, assumptions="λ, ε, γ ≥ 0; continuous time t = η k",
        steps=steps,
        symbolic_checks=(("ȧ + ∂ℓ/∂a", lambda s: s[0].rhs - da), ("ḃ + ∂ℓ/∂b", lambda s: s[1].rhs - db)),
        numeric_check=numeric, citation="Pretorius et al. (2018), Eq. (4)",
    )


def balance_law() -> Result:
    r"""R4: the balance :math:`c = b^2 - a^2` obeys :math:`\dot c = -2\gamma c`.

    So :math:`c(t) = c_0 e^{-2\gamma t}`; with :math:`\gamma = 0` trajectories lie on hyperbolas.
    """
    da, db = flow_rhs()
    cdot = sp.expand(2 * b * db - 2 * a * da)
    c_t = sp.Function("c")(t)
    sol = sp.dsolve(sp.Eq(c_t.diff(t), -2 * gam * c_t), c_t, ics={c_t.subs(t, 0): c0})
    statement = (sp.Eq(sp.Symbol(r"\dot c"), -2 * gam * (b ** 2 - a ** 2)), sp.Eq(sp.Symbol("c(t)"), sol.rhs))
    steps = (
        Step("Differentiate c = b² − a² along the flow (R3):", sp.Eq(sp.Symbol(r"\dot c"), cdot)),
        Step("The cubic terms cancel, leaving a linear law:", statement[0]),
        Step("Solve with c(0) = c₀:", statement[1]),
    )

    def numeric(stmt, rng: random.Random):
        # Independent method: integrate the (a, b) flow with mpmath's Taylor-series ODE solver.
        l, e, g = (random_mpf(rng, 0, 2) for _ in range(3))
        A0, B0 = random_mpf(rng, -1, 1), random_mpf(rng, -1, 1)
        fa = sp.lambdify([a, b], da.subs({lam: l, eps: e, gam: g}), "mpmath")
        fb = sp.lambdify([a, b], db.subs({lam: l, eps: e, gam: g}), "mpmath")
        T = random_mpf(rng, 0.2, 3)
        with mpmath.workdps(30):    # the reference to 30 digits, checked to 1e-25
            A, B = mpmath.odefun(lambda _t, y: [fa(*y), fb(*y)], 0, [A0, B0])(T)
        c_pred = sp.lambdify([c0, gam, t], stmt[1].rhs, "mpmath")(B0 ** 2 - A0 ** 2, g, T)
        # eq. 0 at the end point, with the velocity from the flow (R3)
        cdot = 2 * B * fb(A, B) - 2 * A * fa(A, B)
        cdot_pred = sp.lambdify([a, b, gam], stmt[0].rhs, "mpmath")(A, B, g)
        return [(relative(B ** 2 - A ** 2, c_pred) * (1 + abs(B0 ** 2 - A0 ** 2)) / (1 + abs(c_pred)), mpmath.mpf("1e-25")),
                relative(cdot, cdot_pred)]

    return Result(
        name="balance_law", number="R4", title="Balance law and conserved hyperbolas",
        statement=statement, assumptions="any λ, ε, γ ≥ 0",
        steps=steps,
        symbolic_checks=(("ċ from the flow", lambda s: cdot - s[0].rhs),
                         ("c(t) solves ċ = −2γc", lambda s: s[1].rhs.diff(t) + 2 * gam * s[1].rhs),
                         ("c(0) = c₀", lambda s: s[1].rhs.subs(t, 0) - c0)),
        numeric_check=numeric, citation="Pretorius et al. (2018), Sec. 3; Saxe et al. (2014)",
    )
