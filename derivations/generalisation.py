r"""G1-G5: generalisation from finite data. Training sees :math:`\hat\Sigma = X^\top X/N` with eigenpairs
:math:`(\hat\lambda_i, \hat v_i)`; the test data have second moment :math:`\Sigma` (population or held out), and
:math:`M = \hat V^\top\Sigma\hat V`, :math:`\tilde W = \hat V^\top W\hat V`.

* G1: the test error of any :math:`\tilde W`, and per mode for a diagonal one.
* G2: each mode's best value and its test error there.
* G3: the time a mode passes its best value (R9 with the target :math:`u_1 = s^\circ`).
* G4: the best single training noise: each mode's contribution to :math:`dE/d\varepsilon`, zero at the test
  noise when :math:`M_{ii} = \hat\lambda_i`.
* G5: the best single weight decay, in closed form over the modes it keeps.

The symbol :math:`\lambda` is the *training* eigenvalue :math:`\hat\lambda_i` throughout; :math:`M` the test
second moment along :math:`\hat v_i`; :math:`\varepsilon_t` the noise of the test inputs (0 for the clean test
error, the run's own :math:`\varepsilon` for the denoising test error).
"""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .result import Result, Step, random_mpf, relative
from .symbols import eps, gam, lam, u0, u1, xi
from .timing import time_to_learn_expr

#: Test second moment along the training eigenvector, M_ii > 0.
m = sp.Symbol("M", positive=True)
#: Noise variance of the test inputs.
eps_t = sp.Symbol("epsilon_t", nonnegative=True)
#: A mode strength s = v̂ᵀWv̂.
s = sp.Symbol("s", real=True)
#: The traces of G1.
_TM, _TWM, _TWMW, _TWW = sp.symbols(r"\operatorname{tr}M \operatorname{tr}(\tilde{W}M) "
                                    r"\operatorname{tr}(\tilde{W}M\tilde{W}^\top) \operatorname{tr}(\tilde{W}\tilde{W}^\top)")
_E = sp.Symbol("E_test")
_A, _B = sp.symbols("A B", positive=True)        # G5's sums over the kept modes


def mode_test_error_expr(s_=s, m_=m, eps_t_=eps_t):
    r"""One mode's test error at strength s: :math:`\tfrac12 M(1 - s)^2 + \tfrac{\varepsilon_t}{2}s^2` (G1)."""
    return m_ / 2 * (1 - s_) ** 2 + eps_t_ / 2 * s_ ** 2


def _matrices(n=3):
    W = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"w_{i}{j}", real=True))
    M = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"m_{min(i, j)}{max(i, j)}", real=True))   # symmetric
    return W, M


def _traces(W, M):
    return {_TM: M.trace(), _TWM: (W * M).trace(), _TWMW: (W * M * W.T).trace(), _TWW: (W * W.T).trace()}


def _definition(W, M, noise):
    """½ E‖x − W(x + n)‖² for x with second moment M and n ~ N(0, noise·I), marginalised (R1)."""
    I = sp.eye(W.shape[0])
    return ((I - W) * M * (I - W).T).trace() / 2 + noise / 2 * (W * W.T).trace()


def test_error_decomposition() -> Result:
    r"""G1: the test error of :math:`\tilde W` and, for a diagonal :math:`\tilde W = \operatorname{diag}(s_i)`,
    its modes.

    .. math:: E = \tfrac12\operatorname{tr}M - \operatorname{tr}(\tilde WM) + \tfrac12\operatorname{tr}(\tilde WM\tilde W^\top)
              + \tfrac{\varepsilon_t}{2}\operatorname{tr}(\tilde W\tilde W^\top),\qquad
              E = \sum_i \tfrac12 M_{ii}(1 - s_i)^2 + \tfrac{\varepsilon_t}{2}s_i^2
    """
    full = sp.Eq(_E, _TM / 2 - _TWM + _TWMW / 2 + eps_t / 2 * _TWW)
    per_mode = sp.Eq(sp.Symbol("e_i"), mode_test_error_expr())
    statement = (full, per_mode)
    steps = (Step("The test error of W on test inputs x̃ = x + n (R1 with Σ the test second moment) is "
                  "½ tr[(I − W)Σ(I − W)ᵀ] + (ε_t/2)‖W‖²_F; it is invariant under W → V̂ᵀWV̂, Σ → M = V̂ᵀΣV̂. "
                  "Expanding the trace:", full),
             Step("For W̃ = diag(s_i) the traces are Σ M_ii, Σ s_i M_ii, Σ s_i² M_ii and Σ s_i², so the error "
                  "splits over the modes, each seeing only its own M_ii:", per_mode))

    def full_is_the_definition(stmt):
        W, M = _matrices()
        return sp.expand(stmt[0].rhs.subs(_traces(W, M)) - _definition(W, M, eps_t))

    def diagonal_splits(stmt):
        W, M = _matrices()
        D = sp.diag(*[W[i, i] for i in range(3)])
        total = sum(stmt[1].rhs.subs({s: D[i, i], m: M[i, i]}, simultaneous=True) for i in range(3))
        return sp.expand(stmt[0].rhs.subs(_traces(D, M)) - total)

    def numeric(stmt, rng: random.Random):
        n = 3
        W = mpmath.matrix([[random_mpf(rng, -1, 1) for _ in range(n)] for _ in range(n)])
        L = mpmath.matrix([[random_mpf(rng, -1, 1) if j <= i else 0 for j in range(n)] for i in range(n)])
        M = L * L.T
        e = random_mpf(rng, 0, 2)
        # independent: E‖(I - W) L z‖² = ‖(I - W)L‖_F² for z ~ N(0, I), and E‖W n‖² = e ‖W‖_F²
        R = (mpmath.eye(n) - W) * L
        direct = sum(R[i, j] ** 2 for i in range(n) for j in range(n)) / 2 + e / 2 * sum(
            W[i, j] ** 2 for i in range(n) for j in range(n))
        tr = lambda A: sum(A[i, i] for i in range(n))  # noqa: E731
        vals = {_TM: tr(M), _TWM: tr(W * M), _TWMW: tr(W * M * W.T), _TWW: tr(W * W.T), eps_t: e}
        stated = sp.lambdify(list(vals), stmt[0].rhs, "mpmath")(*vals.values())
        # the diagonal case against the same direct formula with W diagonal
        Wd = mpmath.diag([W[i, i] for i in range(n)])
        Rd = (mpmath.eye(n) - Wd) * L
        direct_d = sum(Rd[i, j] ** 2 for i in range(n) for j in range(n)) / 2 + e / 2 * sum(W[i, i] ** 2 for i in range(n))
        mode = sp.lambdify([s, m, eps_t], stmt[1].rhs, "mpmath")
        stated_d = sum(mode(W[i, i], M[i, i], e) for i in range(n))
        return [relative(direct, stated), relative(direct_d, stated_d)]

    return Result(name="test_error_decomposition", number="G1", title="Test error of a trained autoencoder",
                  statement=statement, assumptions="any W̃ (D × D); M = V̂ᵀΣV̂ symmetric positive semidefinite; ε_t ≥ 0",
                  steps=steps,
                  symbolic_checks=(("the trace form is ½E‖x − W(x + n)‖² (3 × 3, every entry)", full_is_the_definition),
                                   ("a diagonal W̃ splits into the modes", diagonal_splits)),
                  numeric_check=numeric, citation="beyond the paper (finite data); cf. Advani, Saxe & Sompolinsky (2020)")


def best_value_expr():
    r""":math:`s^\circ = M/(M + \varepsilon_t)` (G2)."""
    return m / (m + eps_t)


def best_mode_value() -> Result:
    r"""G2: each mode's best value and its test error there.

    .. math:: s^\circ = \frac{M}{M + \varepsilon_t},\qquad e(s^\circ) = \frac{M\varepsilon_t}{2(M + \varepsilon_t)}
    """
    statement = (sp.Eq(sp.Symbol(r"s^\circ"), best_value_expr()),
                 sp.Eq(sp.Symbol(r"e(s^\circ)"), m * eps_t / (2 * (m + eps_t))))
    e = mode_test_error_expr()
    steps = (Step("G1's mode error is a parabola in s with curvature M + ε_t > 0:", sp.Eq(sp.Symbol("e''(s)"), sp.diff(e, s, 2))),
             Step("so its one minimum is where e'(s) = s(M + ε_t) − M vanishes:", statement[0]),
             Step("with the value", statement[1]))

    def numeric(stmt, rng: random.Random):
        M_, E_ = random_mpf(rng, 0.1, 3), random_mpf(rng, 0, 2)
        f = sp.lambdify([s], e.subs({m: M_, eps_t: E_}), "mpmath")
        # independent: minimise by golden-section search on [0, 1]
        lo, hi = mpmath.mpf(0), mpmath.mpf(1)
        g = (mpmath.sqrt(5) - 1) / 2
        for _ in range(260):
            a_, b_ = hi - g * (hi - lo), lo + g * (hi - lo)
            lo, hi = (lo, b_) if f(a_) < f(b_) else (a_, hi)
        smin = (lo + hi) / 2
        best = sp.lambdify([m, eps_t], stmt[0].rhs, "mpmath")(M_, E_)
        value = sp.lambdify([m, eps_t], stmt[1].rhs, "mpmath")(M_, E_)
        return [(relative(smin, best), mpmath.mpf(10) ** -24), relative(f(smin), value)]

    return Result(name="best_mode_value", number="G2", title="Each mode's best value",
                  statement=statement, assumptions="M > 0, ε_t ≥ 0 (ε_t = 0: s° = 1, the clean error has no overshoot)",
                  steps=steps,
                  symbolic_checks=(("e'(s°) = 0", lambda st: sp.diff(e, s).subs(s, st[0].rhs)),
                                   ("e(s°) is the stated value", lambda st: e.subs(s, st[0].rhs) - st[1].rhs)),
                  lemmas=(("e is convex: e'' = M + ε_t", lambda: sp.diff(e, s, 2) - (m + eps_t)),),
                  numeric_check=numeric, citation="beyond the paper (finite data)")


#: G2's best value, kept as a symbol in G3's statement.
_so = sp.Symbol(r"s^\circ", positive=True)


def best_stopping_time_expr(best=_so):
    r"""The time the balanced curve (R5) from u0 passes ``best`` (G3; default the symbol s°)."""
    kap = lam - gam
    return sp.log(best * (kap - xi * u0) / (u0 * (kap - xi * best))) / (2 * kap)


def best_stopping_time() -> Result:
    r"""G3: the time a mode passes its best value, for a balanced start :math:`u_0 < s^\circ < u^*`.

    .. math:: t^\circ = \frac{1}{2\kappa}\ln\frac{s^\circ(\kappa - \xi u_0)}{u_0(\kappa - \xi s^\circ)},
              \qquad s^\circ = \frac{M}{M + \varepsilon_t}

    It exists when :math:`s^\circ < u^* = \kappa/\xi`, i.e. when the mode heads past its best value; for the
    denoising test error of a DAE (:math:`\varepsilon_t = \varepsilon`, :math:`\gamma = 0`) that is
    :math:`M < \hat\lambda`: the training eigenvalue overestimates the test one.
    """
    statement = sp.Eq(sp.Symbol(r"t^\circ"), best_stopping_time_expr())
    steps = (Step("Along R5's balanced curve the strength rises monotonically from u₀ to u*, and G1's mode error "
                  "changes at the rate e'(u)u̇ with e'(u) = u(M + ε_t) − M, which changes sign once, at G2's s°:",
                  sp.Eq(sp.Symbol(r"s^\circ"), best_value_expr())),
             Step("so the error is least when the curve passes s°, at R9's time with u₁ = s°:", statement))

    def is_r9_at_best(stmt):
        # R9 (itself checked to invert R5) with the target u1 = s°; compared as logs, so that a mutant's
        # residual is evaluated at once (exp of a mutated log would be an exact rational power)
        return (stmt.rhs - time_to_learn_expr().subs(u1, _so)).subs(_so, best_value_expr())

    def numeric(stmt, rng: random.Random):
        l, g = random_mpf(rng, 1, 3), random_mpf(rng, 0, 0.5)
        e = random_mpf(rng, 0.1, 1)
        kap, x = l - g, l + e
        us = kap / x
        target = us * random_mpf(rng, 0.3, 0.9)            # s° below u*
        Et = random_mpf(rng, 0.1, 1)
        Mv = target * Et / (1 - target)                     # the M that makes s° = target
        U0 = target * random_mpf(rng, 0.001, 0.1)
        quad = mpmath.quad(lambda v: 1 / (2 * v * (kap - x * v)), [U0, target])   # independent: quadrature
        stated = sp.lambdify([lam, eps, gam, u0, m, eps_t], stmt.rhs.subs(_so, best_value_expr()), "mpmath")(
            l, e, g, U0, Mv, Et)
        return [relative(quad, stated)]

    return Result(name="best_stopping_time", number="G3", title="When a mode passes its best value",
                  statement=statement, assumptions="κ = λ̂ − γ > 0, 0 < u₀ < s° < u* = κ/ξ (balanced start)",
                  steps=steps, symbolic_checks=(("t° is R9's time from u₀ to s°", is_r9_at_best),),
                  numeric_check=numeric, citation="beyond the paper (finite data); R9")


def noise_gradient_term_expr():
    r"""Mode i's term of dE/dε for the DAE family s = λ̂/(λ̂ + ε) (G4)."""
    return -lam * ((m + eps_t) * lam - m * (lam + eps)) / (lam + eps) ** 3


def best_single_noise() -> Result:
    r"""G4: the best single training noise. Over the DAE's fixed points :math:`s_i = \hat\lambda_i/(\hat\lambda_i
    + \varepsilon)` the test error :math:`E(\varepsilon) = \sum_i e_i(s_i)` has

    .. math:: \frac{dE}{d\varepsilon} = \sum_i g_i,\qquad
              g_i = -\frac{\hat\lambda_i\,[(M_{ii} + \varepsilon_t)\hat\lambda_i - M_{ii}(\hat\lambda_i + \varepsilon)]}
                         {(\hat\lambda_i + \varepsilon)^3},

    and when the training spectrum is the test one (:math:`M_{ii} = \hat\lambda_i`) every :math:`g_i` vanishes at
    :math:`\varepsilon = \varepsilon_t`: the best noise is the test noise. Otherwise the best ε is the root of
    :math:`\sum_i g_i` (found numerically).
    """
    term = sp.Eq(sp.Symbol("g_i"), noise_gradient_term_expr())
    at_truth = sp.Eq(sp.Symbol(r"g_i|_{M=\hat\lambda}"), noise_gradient_term_expr().subs(m, lam))
    statement = (term, at_truth)
    e_of_eps = mode_test_error_expr(lam / (lam + eps))
    steps = (Step("Differentiate G1's mode error along the DAE's fixed point s = λ̂/(λ̂ + ε) (R7, γ = 0):", term),
             Step("With M = λ̂ the bracket is λ̂(ε_t − ε):", at_truth))

    def numeric(stmt, rng: random.Random):
        l, e, M_, Et = (random_mpf(rng, 0.2, 3), random_mpf(rng, 0.1, 2), random_mpf(rng, 0.1, 3),
                        random_mpf(rng, 0, 2))
        f = sp.lambdify([eps], e_of_eps.subs({lam: l, m: M_, eps_t: Et}), "mpmath")
        stated = sp.lambdify([lam, eps, m, eps_t], stmt[0].rhs, "mpmath")(l, e, M_, Et)
        g_truth = sp.lambdify([lam, eps, eps_t], stmt[1].rhs, "mpmath")
        return [relative(mpmath.diff(f, e), stated),                        # independent: numeric derivative
                (abs(g_truth(l, Et, Et)), mpmath.mpf(10) ** -40)]

    return Result(name="best_single_noise", number="G4", title="The best single noise level",
                  statement=statement, assumptions="γ = 0, every mode at its fixed point λ̂_i/(λ̂_i + ε); λ̂_i, M_ii > 0",
                  steps=steps,
                  symbolic_checks=(("g_i = d e_i / dε", lambda st: sp.simplify(sp.diff(e_of_eps, eps) - st[0].rhs)),
                                   ("the second statement is the first at M = λ̂",
                                    lambda st: st[1].rhs - st[0].rhs.subs(m, lam)),
                                   ("at M = λ̂ it vanishes at ε = ε_t", lambda st: sp.simplify(st[1].rhs.subs(eps, eps_t)))),
                  numeric_check=numeric, citation="beyond the paper (finite data)")


def best_single_weight_decay() -> Result:
    r"""G5: the best single weight decay. Over the WDAE's fixed points :math:`s_i = 1 - \gamma/\hat\lambda_i`
    (R7, ε = 0) of the modes it keeps (:math:`\hat\lambda_i > \gamma`), :math:`E(\gamma)` is a convex parabola with
    its minimum at

    .. math:: \gamma^\circ = \frac{\varepsilon_t A}{B},\qquad A = \sum_i \frac{1}{\hat\lambda_i},\quad
              B = \sum_i \frac{M_{ii} + \varepsilon_t}{\hat\lambda_i^2}

    (sums over the kept modes; consistent when every kept mode has :math:`\hat\lambda_i > \gamma^\circ`).
    """
    statement = sp.Eq(sp.Symbol(r"\gamma^\circ"), eps_t * _A / _B)
    _g = sp.Symbol("g_i")
    steps = (Step("Along s_i = 1 − γ/λ̂_i (R7 with ε = 0) each kept mode adds to dE/dγ, by G1,",
                  sp.Eq(_g, sp.factor(sp.diff(mode_test_error_expr(1 - gam / lam), gam)))),
             Step("which is linear in γ: Σ_i [(M_ii + ε_t)γ/λ̂_i² − ε_t/λ̂_i] vanishes at", statement))
    ls, ms = sp.symbols("lambda_1:4", positive=True), sp.symbols("M_1:4", positive=True)
    E3 = sum(mode_test_error_expr(1 - gam / ls[i], ms[i]) for i in range(3))
    sums = {_A: sum(1 / x for x in ls), _B: sum((ms[i] + eps_t) / ls[i] ** 2 for i in range(3))}

    def numeric(stmt, rng: random.Random):
        lv = [random_mpf(rng, 1, 3) for _ in range(3)]
        mv = [random_mpf(rng, 0.5, 3) for _ in range(3)]
        Et = random_mpf(rng, 0.01, 0.5)
        f = sp.lambdify([gam], E3.subs(dict(zip(ls, lv)) | dict(zip(ms, mv)) | {eps_t: Et}), "mpmath")
        root = mpmath.findroot(lambda g: mpmath.diff(f, g), mpmath.mpf("0.1"))     # independent: Newton on E'
        stated = sp.lambdify([eps_t, _A, _B], stmt.rhs, "mpmath")(
            Et, *[sp.lambdify(list(ls) + list(ms) + [eps_t], sums[k], "mpmath")(*lv, *mv, Et) for k in (_A, _B)])
        return [(relative(root, stated), mpmath.mpf(10) ** -30)]

    return Result(name="best_single_weight_decay", number="G5", title="The best single weight decay",
                  statement=statement,
                  assumptions="ε = 0, every kept mode at its fixed point 1 − γ/λ̂_i with λ̂_i > γ; M_ii > 0",
                  steps=steps,
                  symbolic_checks=(("dE/dγ = 0 at γ° (three kept modes)",
                                    lambda st: sp.simplify(sp.diff(E3, gam).subs(gam, st.rhs.subs(sums)))),),
                  lemmas=(("E(γ) is convex", lambda: sp.simplify(
                      sp.diff(E3, gam, 2) - sum((ms[i] + eps_t) / ls[i] ** 2 for i in range(3)))),),
                  numeric_check=numeric, citation="beyond the paper (finite data)")


#: G1-G5, in the order of docs/theory.md.
G_BUILDERS = (test_error_decomposition, best_mode_value, best_stopping_time, best_single_noise,
              best_single_weight_decay)
