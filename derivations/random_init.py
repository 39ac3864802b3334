r"""R15: every mode under small random initialisation: which modes are learned, in what order, when.

With :math:`P = W_1V` and :math:`Q = W_2^\top V` (H x D, columns :math:`p_i, q_i`), R1's flow is

.. math:: \dot p_i = \lambda_i q_i - \xi_i\,QQ^\top p_i - \gamma p_i,\qquad
          \dot q_i = \lambda_i p_i - \textstyle\sum_j \xi_j p_jp_j^\top q_i - \gamma q_i.

From a small start :math:`p_i - q_i` decays and the growing parts :math:`y_i = (p_i + q_i)/2` (R14)
carry the dynamics. R15 replaces the cubic coupling by the one that makes the flow solvable, the
Oja-type flow :math:`\dot Y = KY - YY^\top\Xi Y` (:math:`Y` is D x H with rows :math:`y_i^\top`,
:math:`K = \Lambda - \gamma I`, :math:`\Xi = \Lambda + \varepsilon I`). Its end-to-end map
:math:`W = YY^\top` obeys the matrix Riccati equation :math:`\dot W = KW + WK - 2W\Xi W`, solved by

.. math:: W(t) = X\,M(t)^{-1}X^\top,\quad X = e^{Kt}Y_0,\quad M(t) = I_H + Y_0^\top C(t)\,Y_0,\quad
          C(t) = \operatorname{diag}\,c_i(t),\ c_i(t) = \xi_i\,\frac{e^{2\kappa_it} - 1}{\kappa_i},

and the predicted strength of mode i is :math:`s_i(t) = W_{ii}(t)`. The surrogate is exact for one
mode (R5) and in the linear phase (R14); it decides which mode takes which hidden direction, so it
predicts the learning order, the capacity limit (D > H) and the thresholding of modes with
:math:`\lambda \le \gamma`. Where it errs is the speed at which a mode displaces another from a
shared hidden direction: the 2 x 2 suppression system of the true flow has slow eigenvalue
:math:`\mu_+ \approx (\lambda_i - \lambda_j)/2` for nearly equal eigenvalues, while the surrogate
rotates at :math:`\lambda_i - \lambda_j`; on the balanced set a direction :math:`y = \rho n`
(H = 1) rotates at :math:`(1 - \rho^2/2)` times the surrogate's rate. Both are one term: on the
balanced set R1's flow moves W by the Riccati equation minus :math:`\frac12[W,[W,\Xi]]`, so the numeric
layer continues with that flow once every hidden direction is in use (docs/theory.md, section 2c).
"""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .loss import matrix_loss
from .result import Result, Step, random_mpf, relative
from .solutions import balanced_solution_expr
from .symbols import eps, gam, lam, t, u0

lam_i, lam_j = sp.symbols("lambda_i lambda_j", positive=True)
_rho, _theta = sp.symbols("rho theta", positive=True)
_mu = sp.Symbol("mu")
#: Sizes of the concrete network on which the balanced flow is checked (D = 3 modes, H = 2 hidden units).
_BD, _BH = 3, 2
_Wm, _Km, _Xm = (sp.MatrixSymbol(n, _BD, _BD) for n in ("W", "K", "Xi"))


def balanced_flow_expr():
    r"""Twice R1's flow of W = YYᵀ on the balanced set, 2(KW + WK − 2WΞW) − [W, [W, Ξ]] expanded (the Riccati
    surrogate minus half a double bracket; written doubled so that it prints without fractions)."""
    return 2 * _Km * _Wm + 2 * _Wm * _Km - 2 * _Wm * _Xm * _Wm - _Wm ** 2 * _Xm - _Xm * _Wm ** 2


def saturation_weight_expr(lam_=lam, eps_=eps, gam_=gam, t_=t):
    r"""c(t) = ξ (e^{2κt} − 1)/κ: the weight with which a mode enters M(t) (R15, first component)."""
    kap = lam_ - gam_
    return (lam_ + eps_) * (sp.exp(2 * kap * t_) - 1) / kap


def suppression_matrix_expr():
    r"""The 2 x 2 system of mode i's components along the direction learned by mode j (u_j = κ_j/ξ_j)."""
    xi_i, xi_j = lam_i + eps, lam_j + eps
    uj = (lam_j - gam) / xi_j
    return sp.Matrix([[-xi_i * uj - gam, lam_i], [lam_i, -xi_j * uj - gam]])


def random_init_theory() -> Result:
    r"""R15 (an approximation): the Riccati theory of every mode under small random initialisation."""
    ys = sp.symbols("y_1:3", real=True)
    lams = sp.symbols("lambda_1:3", positive=True)
    statement = (
        sp.Eq(sp.Symbol("c(t)"), saturation_weight_expr()),
        sp.Eq(sp.Symbol("J_{ij}"), suppression_matrix_expr(), evaluate=False),
        sp.Eq(sp.Symbol(r"\mu_+"), (sp.trace(suppression_matrix_expr())
                                    + sp.sqrt(sp.trace(suppression_matrix_expr()) ** 2
                                              - 4 * suppression_matrix_expr().det())) / 2),
        sp.Eq(sp.Symbol(r"\dot\theta"),
              -(lams[0] - lams[1]) * (1 - _rho ** 2 / 2) * sp.sin(_theta) * sp.cos(_theta)),
        sp.Eq(sp.Symbol(r"2\dot W_{p = q}"), balanced_flow_expr(), evaluate=False),
    )

    def c_of(stmt, l, tt=t):
        return stmt[0].rhs.subs({lam: l, t: tt}, simultaneous=True)

    def riccati_residual_h1(stmt):
        """D = 2, H = 1: W = x xᵀ/M with x_i = e^{κ_i t} y_i, M = 1 + Σ c_i y_i² solves Ẇ = KW + WK − 2WΞW."""
        x = sp.Matrix([sp.exp((l - gam) * t) * y for l, y in zip(lams, ys)])
        M = 1 + sum(c_of(stmt, l) * y ** 2 for l, y in zip(lams, ys))
        W = x * x.T / M
        K = sp.diag(*[l - gam for l in lams])
        Xi = sp.diag(*[l + eps for l in lams])
        res = W.diff(t) - (K * W + W * K - 2 * W * Xi * W)
        return res.applyfunc(lambda e: sp.expand(sp.powsimp(sp.expand(sp.together(e).as_numer_denom()[0]))))

    def single_mode(stmt):
        """D = H = 1: s = e^{2κt} u₀/(1 + c u₀) is R5's balanced solution."""
        s = sp.exp(2 * (lam - gam) * t) * u0 / (1 + c_of(stmt, lam) * u0)
        r5 = balanced_solution_expr().args[0][0]
        return sp.expand(sp.powsimp(sp.expand(sp.together(s - r5).as_numer_denom()[0])))

    def suppression_from_loss(stmt):
        """Jacobian of R1's flow for (p_i, q_i) at p_j = q_j = √u_j, p_i = q_i = 0 (H = 1, D = 2)."""
        pj, pi, qj, qi = sp.symbols("p_j p_i q_j q_i", real=True)
        P, Q = sp.Matrix([[pj, pi]]), sp.Matrix([[qj], [qi]])
        L = matrix_loss(P, Q, sp.diag(lam_j, lam_i), eps, gam)
        flow = sp.Matrix([-sp.diff(L, pi), -sp.diff(L, qi)])
        J = flow.jacobian([pi, qi])
        root = sp.sqrt((lam_j - gam) / (lam_j + eps))
        J = J.subs({pj: root, qj: root, pi: 0, qi: 0})
        return (J - stmt[1].rhs).applyfunc(sp.simplify)

    def eigenvalue(stmt):
        J = stmt[1].rhs
        return sp.expand((J - stmt[2].rhs * sp.eye(2)).det())

    def rotation(stmt):
        """On p = q = y = ρ(cos θ, sin θ) (H = 1, D = 2) the growing part moves by the mean of ṗ and q̇."""
        p1, p2, q1, q2 = sp.symbols("p_1 p_2 q_1 q_2", real=True)
        P, Q = sp.Matrix([[p1, p2]]), sp.Matrix([[q1], [q2]])
        L = matrix_loss(P, Q, sp.diag(*lams), eps, gam)
        y = {p1: _rho * sp.cos(_theta), q1: _rho * sp.cos(_theta), p2: _rho * sp.sin(_theta), q2: _rho * sp.sin(_theta)}
        dy1 = (-(sp.diff(L, p1) + sp.diff(L, q1)) / 2).subs(y)
        dy2 = (-(sp.diff(L, p2) + sp.diff(L, q2)) / 2).subs(y)
        dtheta = (_rho * sp.cos(_theta) * dy2 - _rho * sp.sin(_theta) * dy1) / _rho ** 2
        return sp.expand(sp.expand_trig(dtheta - stmt[3].rhs))

    def balanced(stmt):
        """D = 3, H = 2: with p_i = q_i = y_i, Ẏ is the mean of the two layers' flows (from R1's loss), and
        ẎYᵀ + YẎᵀ is the stated Ẇ at W = YYᵀ."""
        Y = sp.Matrix(_BD, _BH, sp.symbols(f"y_1:{_BD * _BH + 1}", real=True))
        P, Q = sp.Matrix(_BH, _BD, sp.symbols(f"p_1:{_BD * _BH + 1}", real=True)), \
            sp.Matrix(_BD, _BH, sp.symbols(f"q_1:{_BD * _BH + 1}", real=True))
        ls = sp.symbols(f"lambda_1:{_BD + 1}", positive=True)
        L = matrix_loss(P, Q, sp.diag(*ls), eps, gam)
        on = {**dict(zip(P.T, Y)), **dict(zip(Q, Y))}
        dY = sp.Matrix(_BD, _BH, lambda i, h: (-(sp.diff(L, P[h, i]) + sp.diff(L, Q[i, h])) / 2).subs(on))
        W = Y * Y.T
        stated = stmt[4].rhs.subs({_Wm: W, _Km: sp.diag(*[l - gam for l in ls]),
                                   _Xm: sp.diag(*[l + eps for l in ls])}).doit()
        return (2 * (dY * Y.T + Y * dY.T) - sp.Matrix(stated)).applyfunc(sp.expand)

    steps = (
        Step("The growing parts y_i = (p_i + q_i)/2 of R14 carry a small start. Replace the cubic coupling of "
             "R1's flow by the Oja-type flow Ẏ = KY − YYᵀΞY; then W = YYᵀ obeys the Riccati equation "
             "Ẇ = KW + WK − 2WΞW, whose solution is W(t) = X M(t)⁻¹ Xᵀ with X = e^{Kt}Y₀ and "
             "M(t) = I + Y₀ᵀC(t)Y₀, C = diag c_i(t), where", statement[0]),
        Step("For one mode this is R5 with u₀ = ‖y‖², and while W is small it is R14: the surrogate is exact in "
             "both limits. Its prediction s_i(t) = W_ii(t) orders the modes, fills at most H hidden directions "
             "(D > H) and thresholds the modes with λ ≤ γ, whose c_i stays bounded."),
        Step("Where it errs: a mode i whose component lies along the direction learned by mode j "
             "(p_j = q_j = √u_j) evolves, in R1's true flow, by the 2 × 2 suppression system", statement[1]),
        Step("whose slow eigenvalue is", statement[2]),
        Step("For ε = γ = 0 and λ_i → λ_j, μ₊ = (λ_i − λ_j)/2 + O((λ_i − λ_j)²), half the surrogate's rate "
             "λ_i − λ_j. On the balanced set a shared direction y = ρ(cos θ, sin θ) rotates at", statement[3]),
        Step("that is (1 − ρ²/2) times the surrogate's rate. Both errors are one term: on the balanced set "
             "p_i = q_i = y_i, R1's flow is Ẏ = KY − ½(YYᵀΞY + ΞYYᵀY), and W = YYᵀ moves by", statement[4]),
        Step("that is, Ẇ = KW + WK − 2WΞW − ½[W, [W, Ξ]] with [W, [W, Ξ]] = W²Ξ − 2WΞW + ΞW²: the Riccati "
             "equation of the surrogate minus half a double bracket, which leaves W's "
             "eigenvalues alone and turns its eigenvectors. It vanishes while W commutes with Ξ (every hidden "
             "direction held by one mode) and matters where modes share a saturated direction, which at the "
             "capacity limit (D > H) is where they compete for the last ones. So the numeric layer evaluates the "
             "closed form until every hidden direction is in use, and from there on R1's balanced flow itself, "
             "started from the closed form's W."),
    )

    def numeric(stmt, rng: random.Random):
        # (1) The Riccati ODE at 50 digits for D = 3, H = 2 and a random start, with dW/dt by mpmath.diff.
        D, H = 3, 2
        ls = [random_mpf(rng, 0.3, 3) for _ in range(D)]
        e, g = random_mpf(rng, 0, 1), random_mpf(rng, 0, 0.2)
        Y0 = mpmath.matrix([[random_mpf(rng, -1, 1) * mpmath.mpf("0.1") for _ in range(H)] for _ in range(D)])
        cfun = sp.lambdify([lam, eps, gam, t], stmt[0].rhs, "mpmath")

        def W(tt):
            X = mpmath.matrix(D, H)
            for i in range(D):
                for h in range(H):
                    X[i, h] = mpmath.exp((ls[i] - g) * tt) * Y0[i, h]
            C = mpmath.diag([cfun(ls[i], e, g, tt) for i in range(D)])
            M = mpmath.eye(H) + Y0.T * C * Y0
            return X * mpmath.inverse(M) * X.T

        T = random_mpf(rng, 0.2, 2)
        W0 = W(T)
        dW = mpmath.matrix(D, D)
        for i in range(D):
            for j in range(D):
                dW[i, j] = mpmath.diff(lambda tt: W(tt)[i, j], T)
        K = mpmath.diag([l - g for l in ls])
        Xi = mpmath.diag([l + e for l in ls])
        rhs = K * W0 + W0 * K - 2 * W0 * Xi * W0
        ode = max(abs(dW[i, j] - rhs[i, j]) for i in range(D) for j in range(D)) / mpmath.mnorm(rhs, 1)
        # (2) μ₊ against an eigenvalue of J computed by mpmath, and the near-degenerate half rate.
        li, lj = random_mpf(rng, 0.5, 2), random_mpf(rng, 0.5, 2)
        mu = sp.lambdify([lam_i, lam_j, eps, gam], stmt[2].rhs, "mpmath")
        Jf = sp.lambdify([lam_i, lam_j, eps, gam], stmt[1].rhs, "mpmath")
        eig = max(mpmath.re(v) for v in mpmath.eig(mpmath.matrix(Jf(li, lj, e, g)))[0])
        gap = mpmath.mpf("1e-12")
        half = mu(lj - gap, lj, 0, 0) / (-gap)
        return [ode, relative(eig, mu(li, lj, e, g)), (abs(half - mpmath.mpf(1) / 2), mpmath.mpf("1e-10"))]

    return Result(
        name="random_init_theory", number="R15", title="Every mode under small random initialisation (approximation)",
        statement=statement,
        assumptions=("an approximation: small random start (‖W(0)‖² ≪ u*), the balanced set p ≈ q; "
                     "exact for one mode and in the linear phase; the closed form errs where modes share a saturated "
                     "direction (the double bracket of the last equation); at the capacity limit (D > H) the numeric "
                     "layer therefore continues with R1's balanced flow once every hidden direction is in use; "
                     "large starts break p ≈ q"),
        steps=steps,
        symbolic_checks=(
            ("dc/dt = 2ξe^{2κt} and c(0) = 0",
             lambda s: sp.expand(sp.diff(s[0].rhs, t) - 2 * (lam + eps) * sp.exp(2 * (lam - gam) * t)) + s[0].rhs.subs(t, 0)),
            ("the closed form solves the Riccati equation (D = 2, H = 1)", riccati_residual_h1),
            ("one mode: R5's balanced solution", single_mode),
            ("J is the Jacobian of R1's flow at a learned mode", suppression_from_loss),
            ("μ₊ is an eigenvalue of J", eigenvalue),
            ("rotation of a shared direction on the balanced set", rotation),
            ("R1's flow on the balanced set (D = 3, H = 2)", balanced),
        ),
        numeric_check=numeric, citation="new in this toolkit (the surrogate is Oja's subspace flow)",
    )
