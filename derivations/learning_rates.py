"""R11 (the paper's "optimal" learning rates) and R12 (stability of the discrete GD map)."""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .fixed_points import mode_hessian
from .flow import flow_rhs
from .result import Result, Step, random_mpf, relative
from .symbols import a, b, eps, eta, gam, lam, w, xi
from .timing import equivalent_weight_decay_expr

_eta_d, _eta_w = sp.symbols(r"\eta_\mathrm{DAE} \eta_\mathrm{WDAE}", positive=True)
_R = sp.Symbol("R", positive=True)


def discrete_map():
    """The exact per-mode GD map (a, b) -> (a - eta dl/da, b - eta dl/db) (R12)."""
    da, db = flow_rhs()
    return a + eta * da, b + eta * db


def paper_learning_rates():
    r"""The paper's rates 1/(largest Hessian eigenvalue at a = b = 1): DAE (gamma = 0) and WDAE (eps = 0)."""
    return 1 / (2 * lam + 3 * eps), 1 / (2 * lam + gam)


def optimal_learning_rates() -> Result:
    r"""R11: the paper's learning rates and their ratio under the equivalence.

    .. math:: \eta_\mathrm{DAE} = \frac{1}{2\lambda + 3\varepsilon},\quad
              \eta_\mathrm{WDAE} = \frac{1}{2\lambda + \gamma},\quad
              R = \frac{2\lambda + \gamma}{2\lambda + 3\varepsilon} \overset{\gamma = \lambda\varepsilon/\xi}{=} \frac{\lambda}{\lambda + \varepsilon}

    With these rates the balanced DAE and WDAE maps coincide, so the trajectories are equal at
    every step (the paper's Figure 3 gap is an artefact of a stale rate, erratum E1).
    """
    H = mode_hessian()
    eig_dae = H.subs({a: 1, b: 1, gam: 0}).eigenvals()
    eig_wdae = H.subs({a: 1, b: 1, eps: 0}).eigenvals()
    eta_d, eta_w = paper_learning_rates()
    geq = equivalent_weight_decay_expr()
    statement = (sp.Eq(_eta_d, eta_d), sp.Eq(_eta_w, eta_w),
                 sp.Eq(_R, (2 * lam + gam) / (2 * lam + 3 * eps)),
                 sp.Eq(_R.subs(gam, geq), lam / (lam + eps)))
    fa, _ = discrete_map()
    bal = sp.expand(fa.subs(b, a))

    def maps_coincide(stmt):
        # Balanced DAE map at eta_DAE minus balanced WDAE map at eta_WDAE under gamma = lam eps / xi.
        dae = bal.subs({gam: 0, eta: stmt[0].rhs})
        wdae = bal.subs(eps, 0).subs({gam: geq, eta: stmt[1].rhs.subs(gam, geq)})
        return dae - wdae

    steps = (
        Step("Largest Hessian eigenvalue (R8) at a = b = 1, DAE (γ = 0) and WDAE (ε = 0):",
             (sp.Eq(sp.Symbol(r"\operatorname{eig}_\mathrm{DAE}"), sp.Tuple(*eig_dae), evaluate=False),
              sp.Eq(sp.Symbol(r"\operatorname{eig}_\mathrm{WDAE}"), sp.Tuple(*eig_wdae), evaluate=False))),
        Step("The paper's rates are their reciprocals:", statement[:2]),
        Step("Their ratio, and its value under γ = λε/(λ + ε) (R10):", statement[2:]),
        Step("The balanced map w ↦ w(1 + η(κ − ξw²)) is then identical for the DAE and the WDAE, so the "
             "two trajectories coincide exactly as functions of the step count."),
    )

    def numeric(stmt, rng: random.Random):
        l, e = random_mpf(rng, 0.1, 3), random_mpf(rng, 0.01, 2)
        g = l * e / (l + e)
        ed = sp.lambdify([lam, eps], stmt[0].rhs, "mpmath")(l, e)
        ew = sp.lambdify([lam, gam], stmt[1].rhs, "mpmath")(l, g)
        # Independent: largest eigenvalue of the numeric Hessian at (1, 1) with mpmath.eig.
        Hf = sp.lambdify([lam, eps, gam], H.subs({a: 1, b: 1}), "mpmath")
        top = lambda M: max(mpmath.re(v) for v in mpmath.eig(mpmath.matrix(M.tolist()))[0])  # noqa: E731
        # Iterate both balanced maps 50 steps from w = 0.1 and compare.
        wd = ww = mpmath.mpf("0.1")
        for _ in range(50):
            wd = wd * (1 + ed * (l - (l + e) * wd ** 2))
            ww = ww * (1 + ew * (l - g - l * ww ** 2))
        ratio = sp.lambdify([lam, eps], stmt[3].rhs, "mpmath")(l, e)
        return [relative(1 / top(Hf(l, e, 0)), ed), relative(1 / top(Hf(l, 0, g)), ew),
                relative(ed / ew, ratio), relative(wd, ww)]

    return Result(
        name="optimal_learning_rates", number="R11", title="The paper's learning rates and their ratio",
        statement=statement, assumptions="λ > 0, ε ≥ 0; γ = λε/(λ + ε) for the last line",
        steps=steps,
        symbolic_checks=(
            ("η_DAE = 1/max eig H(1,1), γ = 0", lambda s: s[0].rhs - 1 / max(eig_dae, key=lambda v: v.subs({lam: 1, eps: 1}))),
            ("η_WDAE = 1/max eig H(1,1), ε = 0", lambda s: s[1].rhs - 1 / max(eig_wdae, key=lambda v: v.subs({lam: 1, gam: 1}))),
            ("R = η_DAE/η_WDAE", lambda s: s[2].rhs - s[0].rhs / s[1].rhs),
            ("R = λ/(λ + ε) under the equivalence", lambda s: s[2].rhs.subs(gam, geq) - s[3].rhs),
            ("balanced DAE and WDAE maps coincide", maps_coincide),
        ),
        numeric_check=numeric, citation="Pretorius et al. (2018), Sec. 4.1 and Fig. 3 (erratum E1)",
    )


def discrete_map_stability() -> Result:
    r"""R12: linear stability of the exact per-mode GD map.

    The Jacobian of the map is :math:`I - \eta H`, so a fixed point is linearly stable iff
    :math:`0 < \eta < 2/h_\max` with :math:`h_\max` the largest Hessian eigenvalue there.
    At the balanced minimum (:math:`\lambda > \gamma`) the eigenvalues are :math:`2\kappa` and
    :math:`2\gamma`, so :math:`\eta < 1/\max(\kappa, \gamma)`; for balanced perturbations of R5,
    :math:`0 < \eta < 1/\kappa`. With :math:`\gamma = 0`, at a point of the hyperbola
    :math:`\eta < 2/(\xi(a^2 + b^2))`. At the origin (:math:`\gamma > \lambda`), :math:`\eta < 2/(\gamma + \lambda)`.
    """
    fa, fb = discrete_map()
    J = sp.Matrix([fa, fb]).jacobian([a, b])
    kap = lam - gam
    ustar = kap / xi
    _lp2, _gp2 = sp.symbols("Lambda_2 G_2", positive=True)
    statement = (sp.Eq(sp.Symbol("J"), sp.Matrix([[1 - eta * (xi * b ** 2 + gam), -eta * (2 * xi * a * b - lam)],
                                                 [-eta * (2 * xi * a * b - lam), 1 - eta * (xi * a ** 2 + gam)]]),
                       evaluate=False),
                 sp.Eq(sp.Symbol(r"\eta_{\max}^{\mathrm{bal\,min}}"), 1 / sp.Max(kap, gam)),
                 sp.Eq(sp.Symbol(r"\eta_{\max}^{\mathrm{balanced}}"), 1 / kap),
                 sp.Eq(sp.Symbol(r"\eta_{\max}^{\mathrm{hyperbola}}"), 2 / (xi * (a ** 2 + b ** 2))),
                 sp.Eq(sp.Symbol(r"\eta_{\max}^{\mathrm{origin}}"), 2 / (gam + lam)))
    wmap = sp.expand(fa.subs(b, w).subs(a, w))
    root = sp.sqrt(ustar)
    at_min = {a: root, b: root}
    # The two orderings of kappa and gamma at the balanced minimum, as positive substitutions.
    kappa_larger = {lam: 2 * gam + _lp2}          # kappa = gamma + Lambda_2 > gamma
    gamma_larger = {gam: _lp2 + _gp2, lam: 2 * _lp2 + _gp2}   # gamma - kappa = G_2 > 0

    def critical(J_at, bound):
        """det(J + I) at eta = bound: zero iff -1 is an eigenvalue of SymPy's Jacobian there."""
        return (J_at + sp.eye(2)).subs(eta, bound).det()

    def hyperbola_point(expr):
        return expr.subs(gam, 0).subs(b, lam / (xi * a))

    steps = (
        Step("Jacobian of the map (a, b) ↦ (a − η∂ℓ/∂a, b − η∂ℓ/∂b); it equals I − ηH with H the Hessian (R8):",
             statement[0]),
        Step("Its eigenvalues are 1 − ηh for the Hessian eigenvalues h, and |1 − ηh| < 1 for all h > 0 "
             "iff 0 < η < 2/h_max. At the balanced minimum h ∈ {2κ, 2γ}; along balanced perturbations "
             "only 2κ matters (the balanced map w ↦ w(1 + η(κ − ξw²)) has slope 1 − 2ηκ at w*):",
             statement[1:3]),
        Step("With γ = 0, on the hyperbola h ∈ {0, ξ(a² + b²)}; at the origin h ∈ {γ ∓ λ}:", statement[3:]),
    )

    flow_map = sp.lambdify([a, b, lam, eps, gam, eta], (fa, fb), "mpmath")

    def iterate(point, direction, params, et, steps_):
        """Distance from ``point`` after ``steps_`` steps of the exact map from a 1e-25 perturbation."""
        l, e, g = params
        x, y = point[0] + direction[0] * mpmath.mpf("1e-25"), point[1] + direction[1] * mpmath.mpf("1e-25")
        for _ in range(steps_):
            x, y = flow_map(x, y, l, e, g, et)
        return mpmath.sqrt((x - point[0]) ** 2 + (y - point[1]) ** 2)

    def bracket(point, direction, params, bound, measure=None, steps_=600):
        """1 if perturbations shrink at 0.99 x bound and grow at 1.01 x bound, else 0 (as a residual)."""
        lo = (measure or iterate)(point, direction, params, bound * mpmath.mpf("0.99"), steps_)
        hi = (measure or iterate)(point, direction, params, bound * mpmath.mpf("1.01"), steps_)
        return mpmath.mpf(0) if lo < mpmath.mpf("1e-27") and hi > mpmath.mpf("1e-23") else mpmath.mpf(1)

    def numeric(stmt, rng: random.Random):
        # Independent: SymPy's Jacobian of the map evaluated numerically, and the map itself iterated
        # at 0.99 and 1.01 times each stated bound from a generic 1e-25 perturbation.
        l, e, g = random_mpf(rng, 1, 2), random_mpf(rng, 0, 1), random_mpf(rng, 0.05, 0.9)
        A, B = random_mpf(rng, -1, 1), random_mpf(rng, -1, 1)
        et = random_mpf(rng, 0.01, 1)
        J_num = sp.lambdify([a, b, lam, eps, gam, eta], J, "mpmath")(A, B, l, e, g, et)
        J_st = sp.lambdify([a, b, lam, eps, gam, eta], stmt[0].rhs, "mpmath")(A, B, l, e, g, et)
        out = [relative(J_num[i, j], J_st[i, j]) for i in range(2) for j in range(2)]
        generic = (mpmath.mpf(1), mpmath.mpf("-0.37"))
        ws = mpmath.sqrt((l - g) / (l + e))
        bal_min = sp.lambdify([lam, gam], stmt[1].rhs, "mpmath")(l, g)
        bal = sp.lambdify([lam, gam], stmt[2].rhs, "mpmath")(l, g)
        out.append(bracket((ws, ws), generic, (l, e, g), bal_min))
        out.append(bracket((ws, ws), (1, 1), (l, e, g), bal))
        # gamma = 0, a point of the hyperbola ab = lambda/xi; distance measured from the hyperbola.
        ah = random_mpf(rng, 0.3, 1.5)
        bh = l / ((l + e) * ah)
        hyp = sp.lambdify([lam, eps, a, b], stmt[3].rhs, "mpmath")(l, e, ah, bh)

        def off_hyperbola(point, direction, params, et_, steps_):
            x, y = point[0] + direction[0] * mpmath.mpf("1e-25"), point[1] + direction[1] * mpmath.mpf("1e-25")
            for _ in range(steps_):
                x, y = flow_map(x, y, l, e, 0, et_)
            return abs(x * y - l / (l + e))
        out.append(bracket((ah, bh), generic, (l, e, 0), hyp, off_hyperbola))
        # gamma > lambda: the origin is the minimum.
        go = l + random_mpf(rng, 0.1, 1)
        orig = sp.lambdify([lam, gam], stmt[4].rhs, "mpmath")(l, go)
        out.append(bracket((mpmath.mpf(0), mpmath.mpf(0)), generic, (l, e, go), orig))
        return out

    return Result(
        name="discrete_map_stability", number="R12", title="Stability of discrete gradient descent",
        statement=statement, assumptions="η > 0; λ > γ at the balanced minimum, γ > λ at a stable origin",
        steps=steps,
        symbolic_checks=(
            ("J equals SymPy's Jacobian of the map", lambda s: J - s[0].rhs),
            ("balanced minimum, κ > γ: −1 is an eigenvalue of J at the bound",
             lambda s: critical(J.subs(at_min), s[1].rhs).subs(kappa_larger)),
            ("balanced minimum, γ > κ: −1 is an eigenvalue of J at the bound",
             lambda s: critical(J.subs(at_min), s[1].rhs).subs(gamma_larger)),
            ("balanced map slope is −1 at the balanced bound",
             lambda s: sp.diff(wmap, w).subs(w, root).subs(eta, s[2].rhs) + 1),
            ("hyperbola (γ = 0): −1 is an eigenvalue of J at the bound",
             lambda s: hyperbola_point(critical(J, s[3].rhs))),
            ("origin: −1 is an eigenvalue of J at the bound", lambda s: critical(J.subs({a: 0, b: 0}), s[4].rhs)),
        ),
        numeric_check=numeric, citation="Pretorius et al. (2018), Sec. 4.1",
    )
