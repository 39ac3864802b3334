"""R7 (fixed points and their stability) and R8 (Hessian of the per-mode loss)."""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .flow import flow_rhs
from .result import Result, Step, random_mpf, relative
from .symbols import a, b, eps, gam, lam, mode_loss, w, xi

_ustar = sp.Symbol("u^*", nonnegative=True)
_lp, _gp = sp.symbols("Lambda G", positive=True)


def eigen_residual(M, eigenvalues):
    """Residuals that vanish iff ``eigenvalues`` are the eigenvalues of M, with multiplicity:
    det(M - e I) for each e, and trace(M) - sum(e)."""
    n = M.shape[0]
    return ([sp.expand((M - ev * sp.eye(n)).det()) for ev in eigenvalues]
            + [sp.expand(M.trace() - sum(eigenvalues))])


def mode_hessian():
    """The Hessian of the per-mode loss with respect to (a, b)."""
    return sp.hessian(mode_loss(), (a, b))


def fixed_point_expr():
    r"""The stable strength :math:`u^* = \max(0, (\lambda - \gamma)/\xi)` (R7)."""
    return sp.Max(0, (lam - gam) / xi)


def fixed_points() -> Result:
    r"""R7: fixed points of the per-mode flow and their type.

    The origin is a saddle when :math:`\lambda > \gamma` and a minimum when :math:`\gamma > \lambda`.
    For :math:`\gamma = 0` the minima form the hyperbola :math:`ab = \lambda/\xi` (one zero Hessian
    eigenvalue); for :math:`\gamma > 0` they are the isolated points :math:`a = b = \pm\sqrt{u^*}`.
    In all cases :math:`u^* = \max(0, (\lambda - \gamma)/\xi)`.
    """
    da, db = flow_rhs()
    H = mode_hessian()
    balanced = sp.solve(sp.Eq(da.subs(b, a), 0), a)
    statement = (sp.Eq(_ustar, fixed_point_expr()),
                 sp.Eq(sp.Symbol(r"\operatorname{eig} H(0,0)"), sp.Tuple(gam - lam, gam + lam), evaluate=False),
                 sp.Eq(sp.Symbol(r"\operatorname{eig} H(\pm\sqrt{u^*},\pm\sqrt{u^*})"),
                       sp.Tuple(2 * (lam - gam), 2 * gam), evaluate=False))
    ustar_pos = (lam - gam) / xi

    def hyperbola_det(_s):
        # gamma = 0: at a point with ab = lambda/xi the Hessian is singular and the gradient vanishes.
        Hs = H.subs(gam, 0).subs(b, lam / (xi * a))
        return (Hs.det(), da.subs(gam, 0).subs(b, lam / (xi * a)))

    def at_stated_minimum(stmt):
        root = sp.sqrt(stmt[0].rhs.subs(lam, gam + _lp))
        return (da.subs({a: root, b: root}).subs(lam, gam + _lp), db.subs({a: root, b: root}).subs(lam, gam + _lp))

    steps = (
        Step("On the balanced line a = b the flow vanishes at", sp.Eq(sp.Symbol("a"), sp.FiniteSet(*balanced), evaluate=False)),
        Step("so the non-trivial fixed point has u* = a² = (λ − γ)/ξ, real only when λ ≥ γ:", statement[0]),
        Step("The Hessian of ℓ (R8) at the origin has eigenvalues γ ∓ λ (a saddle when λ > γ, "
             "a minimum when γ > λ):", statement[1]),
        Step("and at the balanced minima, eigenvalues 2(λ − γ) and 2γ: isolated minima when λ > γ > 0, "
             "one zero eigenvalue along the hyperbola ab = λ/ξ when γ = 0:", statement[2]),
    )

    def numeric(stmt, rng: random.Random):
        l, e, g = random_mpf(rng, 1, 3), random_mpf(rng, 0, 2), random_mpf(rng, 0, 0.9)
        us = sp.lambdify([lam, eps, gam], stmt[0].rhs, "mpmath")(l, e, g)
        # Independent method: find the root of the balanced flow with mpmath's Newton solver.
        fa = sp.lambdify([a], da.subs(b, a).subs({lam: l, eps: e, gam: g}), "mpmath")
        root = mpmath.findroot(fa, mpmath.sqrt(mpmath.mpf(1) / 2))
        Hn = mpmath.matrix(sp.lambdify([a, b, lam, eps, gam], H, "mpmath")(root, root, l, e, g).tolist())
        evs = sorted(mpmath.eig(Hn)[0], key=lambda v: mpmath.re(v))
        stated = sorted(sp.lambdify([lam, gam], list(stmt[2].rhs), "mpmath")(l, g))
        return [relative(root ** 2, us)] + [relative(mpmath.re(x), y) for x, y in zip(evs, stated)]

    return Result(
        name="fixed_points", number="R7", title="Fixed points and their stability",
        statement=statement, assumptions="λ, ε, γ ≥ 0, ξ > 0",
        steps=steps,
        symbolic_checks=(
            ("flow vanishes at a = b = √u* (λ > γ)", lambda s: at_stated_minimum(s)),
            ("u* = (λ − γ)/ξ when λ > γ",
             lambda s: s[0].rhs.subs({lam: gam + _lp}) - ustar_pos.subs({lam: gam + _lp})),
            ("u* = 0 when γ > λ > 0", lambda s: s[0].rhs.subs({gam: _lp + _gp, lam: _lp})),
            ("eigenvalues at the origin", lambda s: eigen_residual(H.subs({a: 0, b: 0}), s[1].rhs)),
            ("eigenvalues at the balanced minimum",
             lambda s: eigen_residual(H.subs({a: sp.sqrt(ustar_pos), b: sp.sqrt(ustar_pos)}), s[2].rhs)),
        ),
        lemmas=(("γ = 0: singular Hessian and zero gradient on ab = λ/ξ", lambda: hyperbola_det(None)),),
        numeric_check=numeric, citation="Pretorius et al. (2018), Sec. 3.1",
    )


def hessian() -> Result:
    r"""R8: Hessian of the per-mode loss and its eigenvalues.

    .. math:: H = \begin{pmatrix}\xi b^2 + \gamma & 2\xi ab - \lambda\\ 2\xi ab - \lambda & \xi a^2 + \gamma\end{pmatrix}

    Along the balanced path a = b = w its eigenvalues are :math:`3\xi w^2 + \gamma - \lambda` and
    :math:`\lambda + \gamma - \xi w^2`.
    """
    H = mode_hessian()
    Hs = sp.Symbol("H")
    statement = (sp.Eq(Hs, sp.Matrix([[xi * b ** 2 + gam, 2 * xi * a * b - lam],
                                      [2 * xi * a * b - lam, xi * a ** 2 + gam]]), evaluate=False),
                 sp.Eq(sp.Symbol(r"\operatorname{eig} H(w,w)"),
                       sp.Tuple(3 * xi * w ** 2 + gam - lam, lam + gam - xi * w ** 2), evaluate=False))
    steps = (Step("Differentiate ℓ twice:", statement[0]),
             Step("On a = b = w the matrix is symmetric with equal diagonal, so its eigenvectors are "
                  "(1, ±1) and", statement[1]))

    def numeric(stmt, rng: random.Random):
        vals = [random_mpf(rng, 0, 2) for _ in range(3)] + [random_mpf(rng, -2, 2) for _ in range(2)]
        ell = sp.lambdify([lam, eps, gam, a, b], mode_loss(), "mpmath")
        Hn = sp.lambdify([lam, eps, gam, a, b], stmt[0].rhs, "mpmath")(*vals)
        f = lambda x, y: ell(*vals[:3], x, y)  # noqa: E731
        num = [[mpmath.diff(f, (vals[3], vals[4]), (2, 0)), mpmath.diff(f, (vals[3], vals[4]), (1, 1))],
               [mpmath.diff(f, (vals[3], vals[4]), (1, 1)), mpmath.diff(f, (vals[3], vals[4]), (0, 2))]]
        scale = 1 + max(abs(x) for row in num for x in row)
        return [abs(num[i][j] - Hn[i, j]) / scale for i in range(2) for j in range(2)]

    return Result(
        name="hessian", number="R8", title="Hessian and curvature along the balanced path",
        statement=statement, assumptions="any a, b; λ, ε, γ ≥ 0",
        steps=steps,
        symbolic_checks=(("Hessian of ℓ", lambda s: s[0].rhs - H),
                         ("eigenvalues on a = b = w", lambda s: eigen_residual(H.subs({a: w, b: w}), s[1].rhs))),
        numeric_check=numeric, citation="Pretorius et al. (2018), Sec. 3.3",
    )
