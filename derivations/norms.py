"""R13 (final weight norm) and R14 (effective initial strength under random initialisation)."""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .fixed_points import fixed_point_expr
from .flow import balance_law
from .loss import matrix_loss
from .result import Result, Step, random_mpf, relative
from .solutions import balanced_solution_expr
from .symbols import a, b, c, c0, eps, gam, lam, t, u, u0, xi

_norm = sp.Symbol(r"\|w_\infty\|^2")


def fixed_point_rhs():
    """u* as R7 states it (the expression its statement is built from, not a copy)."""
    return fixed_point_expr()


def balance_rhs():
    """c(t) as R4 states it."""
    return balance_law().statement[1].rhs


_excess = sp.Symbol("Delta", positive=True)
#: ‖w‖⁴ in terms of the balance and the strength: (a² + b²)² = (b² − a²)² + 4(ab)².
norm4 = c ** 2 + 4 * u ** 2


def weight_norm() -> Result:
    r"""R13: the final squared weight norm :math:`a^2 + b^2` of a mode.

    .. math:: \gamma = 0:\ \|w_\infty\|^2 = \sqrt{c_0^2 + 4u^{*2}},\qquad \gamma > 0:\ \|w_\infty\|^2 = 2u^*

    So without weight decay the final norm remembers the initial balance; small initialisation
    (c0 -> 0) makes the two agree (Figure 4).
    """
    ustar = (lam - gam) / xi
    statement = (sp.Eq(_norm, sp.sqrt(c0 ** 2 + 4 * (lam / xi) ** 2)),
                 sp.Eq(sp.Symbol(r"\|w_\infty\|^2_{\gamma>0}"), 2 * ustar))
    steps = (
        Step("For any (a, b): (a² + b²)² = (b² − a²)² + 4(ab)², i.e. ‖w‖⁴ = c² + 4u²."),
        Step("With γ = 0, c = c₀ is conserved (R4) and u → u* = λ/ξ on the hyperbola (R7):", statement[0]),
        Step("With γ > 0, c = c₀e^{−2γt} → 0 (R4) and u → u* = (λ − γ)/ξ:", statement[1]),
    )

    def numeric(stmt, rng: random.Random):
        # Independent: locate the limit point by root-finding on {ab = u*, b^2 - a^2 = c0}.
        l, e = random_mpf(rng, 0.5, 2), random_mpf(rng, 0, 1)
        A0, B0 = random_mpf(rng, 0.1, 1), random_mpf(rng, 0.1, 1)
        cc = B0 ** 2 - A0 ** 2
        us = l / (l + e)
        A, B = mpmath.findroot(lambda x, y: [x * y - us, y ** 2 - x ** 2 - cc], (A0 + 0.5, B0 + 0.5))
        stated = sp.lambdify([lam, eps, c0], stmt[0].rhs, "mpmath")(l, e, cc)
        g = random_mpf(rng, 0.01, 0.4)
        Ag = mpmath.findroot(lambda x: x * (l - g - (l + e) * x ** 2), mpmath.mpf("0.8"))
        stated_g = sp.lambdify([lam, eps, gam], stmt[1].rhs, "mpmath")(l, e, g)
        return [relative(A ** 2 + B ** 2, stated), relative(2 * Ag ** 2, stated_g)]

    return Result(
        name="weight_norm", number="R13", title="Final weight norm: noise against weight decay",
        statement=statement, assumptions="λ > γ ≥ 0; the limit of R5/R6",
        steps=steps,
        symbolic_checks=(
            ("γ = 0: ‖w‖⁴ = c₀² + 4u*² with u* from R7",
             lambda s: (s[0].rhs ** 2 - norm4.subs({c: c0, u: fixed_point_rhs().subs(gam, 0)})).subs(lam, _excess)),
            ("γ > 0: ‖w‖⁴ = 4u*² on the balanced minimum (c = 0) with u* from R7",
             lambda s: (s[1].rhs ** 2 - norm4.subs({c: 0, u: fixed_point_rhs()})).subs(lam, gam + _excess)),
        ),
        lemmas=(
            ("‖w‖⁴ = c² + 4u² at c = b² − a², u = ab",
             lambda: sp.expand((a ** 2 + b ** 2) ** 2 - norm4.subs({c: b ** 2 - a ** 2, u: a * b}))),
            ("γ > 0: c = c₀e^{−2γt} from R4 vanishes as t → ∞",
             lambda: sp.limit(balance_rhs().subs(gam, _excess), t, sp.oo)),
        ),
        numeric_check=numeric, citation="Pretorius et al. (2018), Sec. 4.2 and Fig. 4",
    )


def effective_initial_strength() -> Result:
    r"""R14: the effective initial strength of a mode under small random initialisation.

    Linearising the matrix flow about W = 0, :math:`p = W_1v` and :math:`q = W_2^\top v` obey
    :math:`\dot p = \lambda q - \gamma p`, :math:`\dot q = \lambda p - \gamma q`, so

    .. math:: s(t) = q^\top p = \tfrac14\|p_0 + q_0\|^2 e^{2\kappa t} - \tfrac14\|p_0 - q_0\|^2 e^{-2(\lambda+\gamma)t},
              \qquad u_0^\mathrm{eff} = \tfrac14\|W_1(0)v + W_2(0)^\top v\|^2

    which matches the early phase :math:`u_0e^{2\kappa t}` of R5.
    """
    H = 2
    p0 = sp.Matrix(sp.symbols("p_1:3", real=True))
    q0 = sp.Matrix(sp.symbols("q_1:3", real=True))
    kap = lam - gam
    p_t = ((p0 + q0) * sp.exp(kap * t) + (p0 - q0) * sp.exp(-(lam + gam) * t)) / 2
    q_t = ((p0 + q0) * sp.exp(kap * t) - (p0 - q0) * sp.exp(-(lam + gam) * t)) / 2
    s_lin = ((p0 + q0).dot(p0 + q0) * sp.exp(2 * kap * t) - (p0 - q0).dot(p0 - q0) * sp.exp(-2 * (lam + gam) * t)) / 4
    statement = (sp.Eq(sp.Symbol("s(t)"), s_lin),
                 sp.Eq(sp.Symbol(r"u_0^\mathrm{eff}"), (p0 + q0).dot(p0 + q0) / 4))

    # Linearised matrix gradient: D = 2, H = 2, Sigma = diag(lambda, mu) (eigenbasis), W = delta * M.
    mu, delta = sp.symbols("mu delta", positive=True)
    M1 = sp.Matrix(H, 2, lambda i, j: sp.Symbol(f"m_{i}{j}"))
    M2 = sp.Matrix(2, H, lambda i, j: sp.Symbol(f"n_{i}{j}"))
    W1s = sp.Matrix(H, 2, lambda i, j: sp.Symbol(f"P_{i}{j}"))
    W2s = sp.Matrix(2, H, lambda i, j: sp.Symbol(f"Q_{i}{j}"))
    Sigma = sp.diag(lam, mu)
    L = matrix_loss(W1s, W2s, Sigma, eps, gam)
    at = dict(zip(list(W1s) + list(W2s), list(delta * M1) + list(delta * M2)))
    grad1 = sp.Matrix(H, 2, lambda i, j: -sp.diff(L, W1s[i, j])).xreplace(at)
    grad2 = sp.Matrix(2, H, lambda i, j: -sp.diff(L, W2s[i, j])).xreplace(at)

    def growing_part_residual(stmt):
        # s e^{-2 kappa t} = u0_eff + (decaying e^{-4 lambda t} term): drop the decaying part.
        scaled = sp.powsimp(sp.expand(stmt[0].rhs * sp.exp(-2 * kap * t)))
        return sp.expand(scaled.subs(sp.exp(-4 * lam * t), 0) - stmt[1].rhs)

    def linear_part(expr):
        return sp.expand(expr).coeff(delta, 1)

    steps = (
        Step("Near W = 0 the gradient of R1 is linear up to O(‖W‖³) terms: Ẇ₁ = W₂ᵀΣ − γW₁, "
             "Ẇ₂ = ΣW₁ᵀ − γW₂ (checked on D = H = 2 as the O(δ) part of the gradient at W = δM)."),
        Step("For an eigenvector v (Σv = λv), p = W₁v and q = W₂ᵀv obey ṗ = λq − γp, q̇ = λp − γq; "
             "p + q grows at rate κ = λ − γ and p − q decays at rate λ + γ. The strength s = vᵀW₂W₁v = qᵀp is",
             statement[0]),
        Step("Matching the early phase u₀e^{2κt} of R5 gives the effective initial strength:", statement[1]),
    )

    def numeric(stmt, rng: random.Random):
        # Independent: integrate the full (nonlinear) matrix flow from initial scales δ = 1e-3 and δ/2
        # (same direction) with mpmath's Taylor-series solver at 20 digits. The statement is the
        # linearisation, so its relative error must be O(δ²): halving δ divides it by 4. A wrong
        # statement has an O(1) error that does not shrink.
        l, m, e, g = random_mpf(rng, 1, 2), random_mpf(rng, 0.1, 0.9), random_mpf(rng, 0, 1), random_mpf(rng, 0, 0.5)
        direction = [random_mpf(rng, -1, 1) for _ in range(8)]
        T = random_mpf(rng, 0.5, 1.5)
        pars = {lam: l, mu: m, eps: e, gam: g}
        g1 = sp.lambdify(list(W1s) + list(W2s), (-sp.Matrix(H, 2, lambda i, j: sp.diff(L, W1s[i, j]))).subs(pars), "mpmath")
        g2 = sp.lambdify(list(W1s) + list(W2s), (-sp.Matrix(2, H, lambda i, j: sp.diff(L, W2s[i, j]))).subs(pars), "mpmath")
        s_pred = sp.lambdify([p0[0], p0[1], q0[0], q0[1], lam, gam, t], stmt[0].rhs, "mpmath")
        u_eff = sp.lambdify(list(p0) + list(q0), stmt[1].rhs, "mpmath")
        errors = []
        for scale in (mpmath.mpf("1e-3"), mpmath.mpf("5e-4")):
            init = [scale * d for d in direction]
            with mpmath.workdps(20):
                y = mpmath.odefun(lambda _t, v: list(g1(*v)) + list(g2(*v)), 0, init)(T)
            s_num = y[4] * y[0] + y[5] * y[2]      # (W2 W1)[0, 0] for v = e_1, the λ mode
            pv, qv = [init[0], init[2]], [init[4], init[5]]
            errors.append(relative(s_num, s_pred(*pv, *qv, l, g, T)))
        order = mpmath.log(errors[0] / errors[1], 2)
        early = (u_eff(*pv, *qv) * mpmath.exp(2 * (l - g) * T)
                 - ((pv[0] - qv[0]) ** 2 + (pv[1] - qv[1]) ** 2) / 4 * mpmath.exp(-2 * (l + g) * T))
        return [(abs(order - 2), mpmath.mpf("0.02")), (errors[0], mpmath.mpf("1e-3")),
                relative(early, s_pred(*pv, *qv, l, g, T))]

    return Result(
        name="effective_initial_strength", number="R14", title="Effective initial strength (random initialisation)",
        statement=statement, assumptions="‖W₁(0)‖, ‖W₂(0)‖ small; Σv = λv",
        steps=steps,
        symbolic_checks=(
            ("s = qᵀp", lambda s: sp.expand(s[0].rhs - q_t.dot(p_t))),
            ("growing part of s has initial strength u₀^eff", growing_part_residual),
        ),
        lemmas=(
            ("linearised gradient of W₁", lambda: (grad1.applyfunc(linear_part) - (M2.T * Sigma - gam * M1)).applyfunc(sp.expand)),
            ("linearised gradient of W₂", lambda: (grad2.applyfunc(linear_part) - (Sigma * M1.T - gam * M2)).applyfunc(sp.expand)),
            ("p(t), q(t) solve the linear flow",
             lambda: (p_t.diff(t) - (lam * q_t - gam * p_t), q_t.diff(t) - (lam * p_t - gam * q_t),
                      p_t.subs(t, 0) - p0, q_t.subs(t, 0) - q0)),
            ("early phase of R5 is u₀e^{2κt}",
             lambda: sp.series(balanced_solution_expr().args[0][0], u0, 0, 2).removeO() - u0 * sp.exp(2 * kap * t)),
        ),
        numeric_check=numeric, citation="new in this toolkit (docs/theory.md, R14); corrects erratum E2",
    )
