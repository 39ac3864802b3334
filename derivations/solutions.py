"""R5 (balanced logistic solution) and R6 (general solution on the hyperbolas, gamma = 0)."""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .flow import flow_rhs
from .result import Result, Step, random_mpf, relative
from .symbols import a, a0, b, b0, c, eps, gam, lam, t, u, u0, xi

_kap = sp.Symbol("kappa", real=True, nonzero=True)
_xis = sp.Symbol("xi", positive=True)
_U = sp.Function("u")(t)


def balanced_solution_expr():
    r"""The balanced strength as a Piecewise in (lambda, epsilon, gamma, u0, t) (R5)."""
    kap, ustar = lam - gam, (lam - gam) / xi
    return sp.Piecewise((ustar / (1 + (ustar / u0 - 1) * sp.exp(-2 * kap * t)), sp.Ne(kap, 0)),
                        (u0 / (1 + 2 * xi * u0 * t), True))


def balanced_stable_forms():
    r"""Overflow-free rearrangements of R5 used by :mod:`dynamics` (kappa > 0 and kappa < 0).

    .. math:: u = \frac{1}{e^{-2\kappa t}/u_0 + 2\xi t\, g(-2\kappa t)}\ (\kappa \ge 0),\qquad
              u = \frac{e^{2\kappa t}}{1/u_0 + 2\xi t\, g(2\kappa t)}\ (\kappa < 0),\qquad
              g(s) = \frac{e^{s} - 1}{s}
    """
    g = lambda s: (sp.exp(s) - 1) / s  # noqa: E731
    pos = 1 / (sp.exp(-2 * _kap * t) / u0 + 2 * _xis * t * g(-2 * _kap * t))
    neg = sp.exp(2 * _kap * t) / (1 / u0 + 2 * _xis * t * g(2 * _kap * t))
    return pos, neg


def balanced_solution() -> Result:
    r"""R5: with :math:`a_0 = b_0`, :math:`u = a^2` obeys the logistic law.

    .. math:: \dot u = 2u(\kappa - \xi u),\quad
              u(t) = \frac{u^*}{1 + (u^*/u_0 - 1)e^{-2\kappa t}},\quad \kappa = \lambda - \gamma,\ u^* = \kappa/\xi

    and :math:`u(t) = u_0/(1 + 2\xi u_0 t)` when :math:`\kappa = 0`.
    """
    da, _ = flow_rhs()
    udot = sp.expand((2 * a * da).subs(b, a))
    logistic = sp.Eq(_U.diff(t), 2 * _U * (_kap - _xis * _U))
    sol = sp.dsolve(logistic, _U, ics={_U.subs(t, 0): u0}).rhs
    sol0 = sp.dsolve(sp.Eq(_U.diff(t), -2 * _xis * _U ** 2), _U, ics={_U.subs(t, 0): u0}).rhs
    statement = sp.Eq(sp.Symbol("u(t)"), balanced_solution_expr())
    pos, neg = balanced_stable_forms()
    generic = {lam - gam: _kap, lam + eps: _xis}

    def branch(stmt, k):
        return stmt.rhs.args[k][0].subs(lam, _kap + gam).subs(eps, _xis - _kap - gam)

    steps = (
        Step("On the balanced set a = b (kept by R3 since ċ = −2γc), u = a² and u̇ = 2aȧ:",
             sp.Eq(sp.Symbol(r"\dot u"), udot.subs(a ** 2, u).subs(a ** 4, u ** 2))),
        Step("This is the logistic equation u̇ = 2u(κ − ξu), κ = λ − γ; dsolve with u(0) = u₀ gives",
             sp.Eq(sp.Symbol("u(t)"), sol)),
        Step("For κ = 0, u̇ = −2ξu² gives", sp.Eq(sp.Symbol("u(t)"), sol0)),
        Step("Written with u* = κ/ξ:", statement),
        Step("Overflow-free forms evaluated by dynamics.balanced_strength (κ ≥ 0, then κ < 0), "
             "with g(s) = expm1(s)/s; each is checked equal to the statement:",
             (sp.Eq(sp.Symbol("u_{+}(t)"), pos), sp.Eq(sp.Symbol("u_{-}(t)"), neg))),
    )

    flow_a = sp.lambdify([a, b, lam, eps, gam], da, "mpmath")

    def numeric(stmt, rng: random.Random):
        # Independent method: the time to reach u1 from u0 by quadrature of dt = du / u̇, with u̇ = 2aȧ
        # taken from the flow (R3) at a = b = √u, in the variable v = ln u; then the statement at that
        # time must give u1. Starts from 1e-300 to 1e-1 reach times up to ~350/|κ|; κ of both signs.
        l, e, g = random_mpf(rng, 0.2, 2), random_mpf(rng, 0, 2), random_mpf(rng, 0, 2)
        kap, x = l - g, l + e
        U0 = mpmath.mpf(10) ** -random_mpf(rng, 1, 300)
        if kap > 0:
            U1 = kap / x * (1 - mpmath.mpf(10) ** -random_mpf(rng, 1, 30))
            if U1 < U0:
                U0, U1 = U1 / 2, U1
        else:
            U0, U1 = random_mpf(rng, 0.1, 2), random_mpf(rng, 1e-3, 0.09)

        def dt_dv(v):
            uu = mpmath.exp(v)
            root = mpmath.sqrt(uu)
            return uu / (2 * root * flow_a(root, root, l, e, g))
        lo, hi = mpmath.log(U0), mpmath.log(U1)
        nodes = [lo] + [hi - k for k in (20, 5, 1) if lo < hi - k] + [hi] if hi > lo else [lo, hi]
        T = mpmath.quad(dt_dv, nodes)
        f = sp.lambdify([lam, eps, gam, u0, t], stmt.rhs, "mpmath")
        return [relative(U1, f(l, e, g, U0, T))]

    return Result(
        name="balanced_solution", number="R5", title="Balanced (logistic) solution",
        statement=statement, assumptions="a₀ = b₀ (c₀ = 0), u₀ > 0, any λ, ε, γ ≥ 0",
        steps=steps,
        symbolic_checks=(
            ("κ ≠ 0 branch equals dsolve", lambda s: branch(s, 0) - sol),
            ("κ ≠ 0 branch solves the ODE",
             lambda s: branch(s, 0).diff(t) - 2 * branch(s, 0) * (_kap - _xis * branch(s, 0))),
            ("κ = 0 branch solves the ODE",
             lambda s: s.rhs.args[1][0].diff(t) + 2 * xi * s.rhs.args[1][0] ** 2),
            ("initial condition", lambda s: (branch(s, 0).subs(t, 0) - u0, s.rhs.args[1][0].subs(t, 0) - u0)),
            ("stable forms equal the statement", lambda s: (pos - branch(s, 0), neg - branch(s, 0))),
        ),
        lemmas=(("u̇ = 2u(κ − ξu) on a = b", lambda: udot - 2 * a ** 2 * (lam - gam - xi * a ** 2)),),
        numeric_check=numeric, citation="Pretorius et al. (2018), Eq. (6); Saxe et al. (2014)",
        extras={"generic": generic},
    )


# ---------------------------------------------------------------------------------------
# R6

_P = sp.Function("P")(t)
_Pp, _Pm = sp.symbols("P_+ P_-", real=True)
_z = sp.Symbol("z", real=True)


def mobius(y0, yp, ym, E):
    r"""Cancellation-free solution of :math:`\dot y = -k(y - y_+)(y - y_-)` with rate :math:`r = k(y_+ - y_-)`.

    .. math:: y(t) = \frac{y_0(y_+ - y_-E) - y_+y_-(1 - E)}{y_0(1 - E) - y_- + y_+E},\qquad E = e^{-rt}
    """
    return (y0 * (yp - ym * E) - yp * ym * (1 - E)) / (y0 * (1 - E) - ym + yp * E)


def hyperbolic_roots(lam_=lam, xi_=xi, c_=c):
    """Roots P_+ > 0 >= P_- of P^2 - (4 lambda/xi) P - c^2 and the rate r = sqrt(4 lambda^2 + xi^2 c^2)."""
    disc = sp.sqrt(4 * lam_ ** 2 / xi_ ** 2 + c_ ** 2)
    return 2 * lam_ / xi_ + disc, 2 * lam_ / xi_ - disc, sp.sqrt(4 * lam_ ** 2 + xi_ ** 2 * c_ ** 2)


def _time_between(U0, U1, cc, side, nodes, udot):
    """∫ du / u̇ from U0 to U1 by mpmath quadrature, in the variable ln u when U0 > 0 (exponential growth
    from a tiny start is then smooth), with breakpoints at ``nodes`` (approaching the pole at u*),
    at c (where growth turns exponential) and at 0."""
    if U0 > 0:
        pts = [U0, U1] + nodes[1:] + ([cc] if min(U0, U1) < cc < max(U0, U1) else [])
        pts = sorted({mpmath.log(x) for x in pts}, reverse=side < 0)
        return mpmath.quad(lambda v: mpmath.exp(v) / udot(mpmath.exp(v)), pts)
    pts = sorted({U0, U1, mpmath.mpf(0)} | {x for x in nodes[1:] if x > 0} if U1 > 0 else {U0, U1})
    return mpmath.quad(lambda uu: 1 / udot(uu), pts)


def hyperbolic_solution() -> Result:
    r"""R6: the general solution for :math:`\gamma = 0`, on the hyperbola :math:`b^2 - a^2 = c`.

    With :math:`P = (a + b)^2`, :math:`\dot P = -\tfrac{\xi}{2}(P - P_+)(P - P_-)` is a Riccati
    equation with constant coefficients, solved by a Möbius map of :math:`e^{-rt}`, and

    .. math:: u = \frac{P^2 - c^2}{4P},\qquad P_\pm = \frac{2\lambda}{\xi} \pm \sqrt{\frac{4\lambda^2}{\xi^2} + c^2},
              \qquad r = \sqrt{4\lambda^2 + \xi^2c^2}

    It is equivalent to the substitution :math:`u = (c/2)\sinh\theta`, :math:`z = \tanh(\theta/2)`,
    :math:`\dot z = \lambda(1 - z^2) - \xi c z`, but contains no division by c, so at c = 0 it *is*
    the balanced solution (R5, gamma = 0) rather than a limit of it.
    """
    da, db = flow_rhs()
    da0, db0 = da.subs(gam, 0), db.subs(gam, 0)
    Pdot = sp.expand(2 * (a + b) * (da0 + db0))
    Pp, Pm, r = hyperbolic_roots()
    _r = sp.Symbol("r", positive=True)
    P0 = (a0 + b0) ** 2
    statement = (sp.Eq(sp.Symbol("P(t)"), mobius(P0, _Pp, _Pm, sp.exp(-_r * t))),
                 sp.Eq(_Pp, Pp), sp.Eq(_Pm, Pm), sp.Eq(_r, r),
                 sp.Eq(sp.Symbol("u(t)"), (sp.Symbol("P(t)") ** 2 - c ** 2) / (4 * sp.Symbol("P(t)"))))
    # The z-form, kept as a second statement of the same solution.
    zeta = sp.sqrt((xi * c / lam) ** 2 + 4)
    zp, zm = (-xi * c / lam + zeta) / 2, (-xi * c / lam - zeta) / 2
    z0 = sp.Symbol("z_0", real=True)
    z_t = mobius(z0, zp, zm, sp.exp(-lam * zeta * t))

    def explicit(stmt):
        """P(t) with the roots and the rate substituted."""
        return stmt[0].rhs.subs(_r, stmt[3].rhs).subs({_Pp: stmt[1].rhs, _Pm: stmt[2].rhs})

    def riccati_residual(stmt):
        y = stmt[0].rhs.subs(_r, (_xis / 2) * (_Pp - _Pm))
        return y.diff(t) + (_xis / 2) * (y - _Pp) * (y - _Pm)

    def u_of(stmt, P_expr):
        return stmt[4].rhs.subs(sp.Symbol("P(t)"), P_expr)

    def at_c_zero(stmt):
        # c = 0, balanced start a0 = b0 = sqrt(u0): compare with R5 at gamma = 0.
        P_c0 = explicit(stmt).subs(c, 0).subs({a0: sp.sqrt(u0), b0: sp.sqrt(u0)})
        u_c0 = u_of(stmt, P_c0).subs(c, 0)
        r5 = balanced_solution_expr().args[0][0].subs(gam, 0)
        return u_c0 - r5

    steps = (
        Step("With γ = 0, c = b² − a² is conserved (R4). Put P = (a + b)², so ab = (P² − c²)/(4P), and "
             "differentiate along R3:", sp.Eq(sp.Symbol(r"\dot P"), Pdot)),
        Step("Since 4ab = P − c²/P this is the constant-coefficient Riccati equation",
             sp.Eq(sp.Symbol(r"\dot P"), -(xi / 2) * (sp.Symbol("P") - _Pp) * (sp.Symbol("P") - _Pm))),
        Step("with roots P± (P₊ > 0 ≥ P₋ = −c²/P₊) and rate r = (ξ/2)(P₊ − P₋):", statement[1:4]),
        Step("Its solution is a Möbius map of E = e^{−rt}, written so that no term cancels when "
             "P₀ ≥ 0 (all summands are non-negative):", statement[0]),
        Step("and the strength follows without dividing by c; at c = 0 it reduces to R5 with γ = 0 "
             "exactly:", statement[4]),
        Step("Equivalently, u = (c/2) sinh θ and z = tanh(θ/2) give ż = λ(1 − z²) − ξcz, "
             "solved by the same Möbius map with roots z± and rate λζ, ζ = √((ξc/λ)² + 4):",
             (sp.Eq(sp.Symbol("z(t)"), z_t), sp.Eq(sp.Symbol("u"), c * _z / (1 - _z ** 2)))),
    )

    flow = sp.lambdify([a, b, lam, eps], (da0, db0), "mpmath")

    def numeric(stmt, rng: random.Random):
        # Independent method: the time to go from u0 to u1 along the hyperbola b² − a² = c by quadrature
        # of dt = du / u̇, where u̇ = ȧb + aḃ is taken from the flow (R3) at the point of the hyperbola
        # with ab = u. Tiny starts (down to 1e-150 per weight) give times up to ~1e3/λ. And the z-form.
        l, e = random_mpf(rng, 0.2, 2), random_mpf(rng, 0, 2)
        if rng.random() < 0.5:
            A0, B0 = random_mpf(rng, -1.5, 1.5), random_mpf(rng, -1.5, 1.5)
        else:
            A0, B0 = (random_mpf(rng, 0.1, 1) * mpmath.mpf(10) ** -random_mpf(rng, 1, 150) for _ in range(2))
        if abs(B0) < abs(A0):
            A0, B0 = B0, A0
        if B0 < 0:
            A0, B0 = -A0, -B0
        cc, U0, us = B0 ** 2 - A0 ** 2, A0 * B0, l / (l + e)
        side = 1 if U0 < us else -1
        gap = abs(us - U0)
        U1 = us - side * gap * mpmath.mpf(10) ** -random_mpf(rng, 0.5, 25)

        def udot(uu):
            norm = mpmath.sqrt(cc ** 2 + 4 * uu ** 2)
            aa = uu * mpmath.sqrt(2 / (norm + cc))     # a² = (norm − c)/2 without cancellation
            bb = mpmath.sqrt((norm + cc) / 2)
            fa, fb = flow(aa, bb, l, e)
            return fa * bb + aa * fb
        # Nodes approach u1 geometrically (the integrand has a pole at u*) and pass through 0 on the way.
        nodes = [us - side * gap * mpmath.mpf(10) ** -k for k in range(0, 26, 3) if side * (U1 - (us - side * gap * mpmath.mpf(10) ** -k)) > 0]
        with mpmath.extradps(10):
            T = _time_between(U0, U1, cc, side, nodes, udot)
        # P₋ = 2λ/ξ − √(4λ²/ξ² + c²) ≈ −c²/P₊ cancels as written: evaluate with 2|log10 c| more digits.
        extra = 2 * int(max(0, -mpmath.log10(abs(cc) + mpmath.mpf(10) ** -400)))
        with mpmath.extradps(extra + 20):
            P_val = sp.lambdify([lam, eps, c, a0, b0, t], explicit(stmt), "mpmath")(l, e, cc, A0, B0, T)
            u_val = sp.lambdify([sp.Symbol("P(t)"), c], stmt[4].rhs, "mpmath")(P_val, cc)
        out = [relative(U1, u_val)]
        if cc > mpmath.mpf(10) ** -20:   # z-form: theta0 = asinh(2 u0 / c), z0 = tanh(theta0 / 2)
            with mpmath.extradps(extra + 20):
                zz = sp.lambdify([lam, eps, c, z0, t], z_t, "mpmath")(
                    l, e, cc, mpmath.tanh(mpmath.asinh(2 * U0 / cc) / 2), T)
                out.append(relative(U1, cc * zz / (1 - zz ** 2)))
        return out

    return Result(
        name="hyperbolic_solution", number="R6", title="General solution on the hyperbolas (γ = 0)",
        statement=statement,
        assumptions="γ = 0; c = b₀² − a₀² ≥ 0 (swap a and b otherwise); P₀ = (a₀ + b₀)² > 0",
        steps=steps,
        symbolic_checks=(
            ("Ṗ from the flow equals the Riccati form",
             lambda s: (Pdot + (xi / 2) * ((a + b) ** 2 - s[1].rhs) * ((a + b) ** 2 - s[2].rhs)).subs(c, b ** 2 - a ** 2)),
            ("the Möbius map solves the Riccati equation", riccati_residual),
            ("roots and rate: P₊ + P₋ = 4λ/ξ, P₊P₋ = −c², r = (ξ/2)(P₊ − P₋)",
             lambda s: (s[1].rhs + s[2].rhs - 4 * lam / xi, sp.expand(s[1].rhs * s[2].rhs) + c ** 2,
                        sp.expand(s[3].rhs ** 2 - (xi / 2) ** 2 * (s[1].rhs - s[2].rhs) ** 2))),
            ("P(0) = P₀", lambda s: s[0].rhs.subs(t, 0) - P0),
            ("u = (P² − c²)/(4P) at P = (a+b)², c = b² − a²",
             lambda s: u_of(s, (a + b) ** 2).subs(c, b ** 2 - a ** 2) - a * b),
            ("c → 0: reduces to R5 (γ = 0)", at_c_zero),
        ),
        lemmas=(("z-form: ż = λ(1 − z²) − ξcz gives u̇ = √(c² + 4u²)(λ − ξu)",
                 lambda: (c * _z / (1 - _z ** 2)).diff(_z) * (lam * (1 - _z ** 2) - xi * c * _z)
                 - c * (1 + _z ** 2) / (1 - _z ** 2) * (lam - xi * c * _z / (1 - _z ** 2))),),
        numeric_check=numeric, citation="Pretorius et al. (2018), Eq. (5) and Fig. 1 (corrects erratum E5)",
    )
