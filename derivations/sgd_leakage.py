r"""S3: minibatch SGD couples the modes in pairs (the leakage block).

Aligned weights stay diagonal under full-batch gradient descent, but a minibatch's second moment has off-diagonal
entries, and they move the off-diagonal weights. For a pair of modes i < j the four entries that can move are

.. math:: a = W_1[j, i],\quad b = W_2[i, j],\quad c = W_1[i, j],\quad d = W_2[j, i]

(a and b exist only when j is a hidden unit too). To first order they obey a linear recursion driven by the
off-diagonal entries of the minibatch moments :math:`P = \frac1B\sum x\tilde x^\top` and
:math:`R = \frac1B\sum\tilde x\tilde x^\top`, and no other pair enters it. To second order they feed back on the
diagonal weights and on each mode's strength :math:`s_i = (W_2W_1)_{ii} = p_iq_i + ab`. One direction of the block,
a rotation of hidden units i and j, changes no product :math:`W_2W_1`: it is a symmetry of every minibatch's loss,
so its fluctuations are pure gauge and are projected out.
"""
from __future__ import annotations

import itertools
import random

import mpmath
import sympy as sp

from .result import Result, Step, random_mpf, relative
from .symbols import eps, eta, gam

p_i, q_i, p_j, q_j = sp.symbols("p_i q_i p_j q_j", real=True)
lam_i, lam_j = sp.symbols("lambda_i lambda_j", positive=True)
#: ξ_i = λ_i + ε and ξ_j = λ_j + ε, the shorthand the statement is written in.
xi_i, xi_j = sp.symbols("xi_i xi_j", positive=True)
XI = {xi_i: lam_i + eps, xi_j: lam_j + eps}
#: E[x_i² x_j²] along two eigenvectors (λ_i λ_j for Gaussian data).
m_ij = sp.Symbol("m_ij", positive=True)
a, b, c, d = PAIR = sp.symbols("a b c d", real=True)
#: Off-diagonal and diagonal entries of the minibatch moments P = mean of x x̃ᵀ and R = mean of x̃ x̃ᵀ.
P_ij, P_ji, R_ij = OFF = sp.symbols("P_ij P_ji R_ij", real=True)
P_ii, P_jj, R_ii, R_jj = sp.symbols("P_ii P_jj R_ii R_jj", real=True)
#: Entries of the pair's covariance Σ over (a, b, c, d).
_names = "abcd"
SIG = {(r, s): sp.Symbol(f"Sigma_{_names[min(r, s)]}{_names[max(r, s)]}", real=True) for r in range(4) for s in range(4)}
Sigma = sp.Matrix(4, 4, lambda r, s: SIG[(r, s)])
_A, _N, _C, _g, _delta, _ds, _dv = sp.symbols(r"A N C_\text{samp} g \delta\mathbf{w} \Delta\bar{s} \Delta\operatorname{Var}s")
_MEAN = {P_ii: lam_i, P_jj: lam_j, R_ii: lam_i + eps, R_jj: lam_j + eps, P_ij: 0, P_ji: 0, R_ij: 0}


def _step(W1, W2, P, R):
    """One SGD step of the marginalised-or-sampled loss: G = P − W₂W₁R, W₁ += η(W₂ᵀG − γW₁), W₂ += η(GW₁ᵀ − γW₂)."""
    G = P - W2 * W1 * R
    return W1 + eta * (W2.T * G - gam * W1), W2 + eta * (G * W1.T - gam * W2)


def _three_mode_system():
    """The step of a three-mode system (modes i, j and a third k) with every off-diagonal weight and moment free."""
    pk, qk = sp.symbols("p_k q_k", real=True)
    off1, off2 = sp.symbols("o1_0:6", real=True), sp.symbols("o2_0:6", real=True)
    W1 = sp.Matrix([[p_i, c, off1[0]], [a, p_j, off1[1]], [off1[2], off1[3], pk]])
    W2 = sp.Matrix([[q_i, b, off2[0]], [d, q_j, off2[1]], [off2[2], off2[3], qk]])
    ex = sp.symbols("e0:6", real=True)
    P = sp.Matrix([[P_ii, P_ij, ex[0]], [P_ji, P_jj, ex[1]], [ex[2], ex[3], sp.Symbol("P_kk")]])
    R = sp.Matrix([[R_ii, R_ij, ex[4]], [R_ij, R_jj, ex[5]], [ex[4], ex[5], sp.Symbol("R_kk")]])
    W1n, W2n = _step(W1, W2, P, R)
    rest = {v: 0 for v in off1[:4] + off2[:4] + ex}
    pair = [W1n[1, 0], W2n[0, 1], W1n[0, 1], W2n[1, 0]]
    diag = [W1n[0, 0], W2n[0, 0], W1n[1, 1], W2n[1, 1]]
    return [sp.expand(e.xreplace(rest)) for e in pair], [sp.expand(e.xreplace(rest)) for e in diag]


def _tidy(expr):
    """expr grouped by its monomials in the weights and Σ, each coefficient factored and written with ξ_i, ξ_j."""
    gens = [p_i, q_i, p_j, q_j, *sorted(set(SIG.values()), key=str)]
    expr = sp.expand(expr)
    if expr == 0:
        return expr
    poly = sp.Poly(expr, *gens)
    out = 0
    for powers, coeff in poly.terms():
        mono = sp.Mul(*[g ** k for g, k in zip(gens, powers)])
        coeff = sp.factor(coeff).subs({lam_i + eps: xi_i, lam_j + eps: xi_j})
        out += coeff * mono
    return out


def _plain(expr):
    """The statement's entries with ξ_i, ξ_j written out, as every check compares them."""
    return sp.expand(sp.sympify(expr).xreplace(XI))


def _at_zero(expr):
    return sp.expand(expr.xreplace({v: 0 for v in PAIR}).xreplace(_MEAN))


def _sample_moment(expr):
    """E over one sample (x_i, x_j, n_i, n_j): n ~ N(0, ε) independent; E x² = λ, E x_i²x_j² = m_ij; the odd
    moments of x (and E x⁴, which does not enter) as the statement requires."""
    xi_, xj_, ni_, nj_ = sp.symbols("x_i x_j n_i n_j", real=True)
    poly = sp.Poly(sp.expand(expr(xi_, xj_, ni_, nj_)), xi_, xj_, ni_, nj_)
    nm = {0: 1, 1: 0, 2: eps, 3: 0, 4: 3 * eps ** 2}
    xm = {(0, 0): 1, (2, 0): lam_i, (0, 2): lam_j, (2, 2): m_ij}
    total = 0
    for (e1, e2, e3, e4), coeff in poly.terms():
        if e1 % 2 or e2 % 2:
            continue
        total += coeff * xm[(e1, e2)] * nm[e3] * nm[e4]
    return sp.expand(total)


def _offdiag_entries(xi_, xj_, ni_, nj_):
    ti, tj = xi_ + ni_, xj_ + nj_
    return [xi_ * tj, xj_ * ti, ti * tj]


def pair_block() -> Result:
    r"""S3: the linear leakage block of a pair of modes, its noise, its gauge direction and its second-order
    feedback on the diagonal.

    .. math:: \mathbf v' = A\mathbf v + N\boldsymbol\zeta,\qquad \mathbf v = (a, b, c, d),\quad
              \boldsymbol\zeta = (P_{ij}, P_{ji}, R_{ij}),\quad \operatorname{Cov}\boldsymbol\zeta = C/B

    with A and N below (:math:`\xi_i = \lambda_i + \varepsilon`); the rotation :math:`g = (p_i, q_i, -p_j, -q_j)` of hidden units i and j changes no
    product :math:`W_2W_1` and is carried by A into the rotation at the next step. With v Gaussian of covariance Σ
    the diagonal weights drift by :math:`\delta\mathbf w = \frac12\operatorname{tr}(\nabla^2 w'\,\Sigma)` and the
    strengths gain :math:`\bar s_i \mathrel{+}= \Sigma_{ab}`, :math:`\operatorname{Var}s_i \mathrel{+}=
    \Sigma_{aa}\Sigma_{bb} + \Sigma_{ab}^2` (and c, d for mode j).
    """
    W1 = sp.Matrix([[p_i, c], [a, p_j]])
    W2 = sp.Matrix([[q_i, b], [d, q_j]])
    W1n, W2n = _step(W1, W2, sp.Matrix([[P_ii, P_ij], [P_ji, P_jj]]), sp.Matrix([[R_ii, R_ij], [R_ij, R_jj]]))
    pair = [W1n[1, 0], W2n[0, 1], W1n[0, 1], W2n[1, 0]]
    diag = [W1n[0, 0], W2n[0, 0], W1n[1, 1], W2n[1, 1]]
    A = sp.Matrix(4, 4, lambda r, s: _tidy(_at_zero(sp.diff(pair[r], PAIR[s]))))
    N = sp.Matrix(4, 3, lambda r, s: _tidy(_at_zero(sp.diff(pair[r], OFF[s]))))
    C = sp.Matrix(3, 3, lambda r, s: _sample_moment(lambda *x: _offdiag_entries(*x)[r] * _offdiag_entries(*x)[s]))
    g = sp.Matrix([p_i, q_i, -p_j, -q_j])
    delta = sp.Matrix([_tidy(sum(_at_zero(sp.diff(f, PAIR[r], PAIR[s])) * Sigma[r, s]
                                 for r in range(4) for s in range(4)) / 2) for f in diag])
    ds = sp.Matrix([SIG[(0, 1)], SIG[(2, 3)]])
    dv = sp.Matrix([SIG[(0, 0)] * SIG[(1, 1)] + SIG[(0, 1)] ** 2, SIG[(2, 2)] * SIG[(3, 3)] + SIG[(2, 3)] ** 2])
    statement = (sp.Eq(_A, A, evaluate=False), sp.Eq(_N, N, evaluate=False), sp.Eq(_C, C, evaluate=False),
                 sp.Eq(_g, g, evaluate=False), sp.Eq(_delta, delta, evaluate=False), sp.Eq(_ds, ds, evaluate=False),
                 sp.Eq(_dv, dv, evaluate=False))
    steps = (Step("One step with G = P − W₂W₁R, W₁ += η(W₂ᵀG − γW₁), W₂ += η(GW₁ᵀ − γW₂). An entry (i, j) of a "
                  "product has the parity of its off-diagonal factors, so the update of (a, b, c, d) is linear in "
                  "them and in (P_ij, P_ji, R_ij) near diagonal weights; its Jacobian at the mean moments "
                  "(P_ii = λ_i, R_ii = λ_i + ε = ξ_i) is", statement[0]),
             Step("and the off-diagonal moments enter through", statement[1]),
             Step("For one sample, P_ij = x_i x̃_j, P_ji = x_j x̃_i, R_ij = x̃_i x̃_j with x̃ = x + n; their covariance "
                  "(odd moments of x dropped, E x_i²x_j² = m_ij, λ_iλ_j for Gaussian data) is C; a minibatch mean "
                  "divides it by B. With the noise marginalised, P_ij = P_ji = R_ij = S_ij and C = m_ij in every "
                  "entry.", statement[2]),
             Step("Rotating hidden units i and j by a small angle θ moves (a, b, c, d) by θg, and leaves W₂W₁ "
                  "unchanged to first order:", statement[3]),
             Step("The diagonal updates are even in (a, b, c, d); their mean over a Gaussian v of covariance Σ adds "
                  "half the Hessian contracted with Σ to (p_i, q_i, p_j, q_j):", statement[4]),
             Step("and s_i = p_iq_i + ab, s_j = p_jq_j + cd, so Isserlis' theorem adds", statement[5]),
             Step("to the means, and to the variances", statement[6]))

    def linear_check(index):
        def f(stmt):
            pair3, _ = _three_mode_system()
            vars_ = PAIR if index == 0 else OFF
            M = stmt[index].rhs
            return sp.Matrix(M.rows, M.cols, lambda r, s: sp.expand(_at_zero(sp.diff(pair3[r], vars_[s])) - _plain(M[r, s])))
        return f

    def noise_check(stmt):
        C_ = stmt[2].rhs
        out = []
        for r in range(3):
            for s in range(3):
                mean_r = _sample_moment(lambda *x: _offdiag_entries(*x)[r])
                mean_s = _sample_moment(lambda *x: _offdiag_entries(*x)[s])
                out.append(sp.expand(C_[r, s] - (_sample_moment(lambda *x: _offdiag_entries(*x)[r]
                                                                * _offdiag_entries(*x)[s]) - mean_r * mean_s)))
        return sp.Matrix(out)

    def gauge_check(stmt):
        A_, g_ = stmt[0].rhs.applyfunc(_plain), stmt[3].rhs
        moved = sp.Matrix([q_i * g_[2] + p_j * g_[1], q_j * g_[0] + p_i * g_[3]])     # δW_ij, δW_ji to first order
        diag_next = [_at_zero(f) for f in diag]
        nxt = sp.Matrix([diag_next[0], diag_next[1], -diag_next[2], -diag_next[3]])
        return sp.Matrix([*moved, *(A_ * g_ - nxt).applyfunc(sp.expand)])

    def feedback_check(stmt):
        _, diag3 = _three_mode_system()
        want = [sp.expand(sum(_at_zero(sp.diff(f, PAIR[r], PAIR[s])) * Sigma[r, s] for r in range(4) for s in range(4)) / 2)
                for f in diag3]
        return sp.Matrix([sp.expand(_plain(stmt[4].rhs[k]) - want[k]) for k in range(4)])

    def strength_check(stmt):
        # Isserlis from the moment generating function of a Gaussian with covariance Σ
        tv = sp.symbols("t0:4", real=True)
        mgf = sp.exp(sum(tv[r] * tv[s] * Sigma[r, s] for r in range(4) for s in range(4)) / 2)

        def moment(powers):
            e = mgf
            for k, pw in enumerate(powers):
                e = sp.diff(e, tv[k], pw)
            return sp.expand(e.subs({t_: 0 for t_ in tv}))
        return sp.Matrix([stmt[5].rhs[0] - moment((1, 1, 0, 0)), stmt[5].rhs[1] - moment((0, 0, 1, 1)),
                          sp.expand(stmt[6].rhs[0] - moment((2, 2, 0, 0)) + moment((1, 1, 0, 0)) ** 2),
                          sp.expand(stmt[6].rhs[1] - moment((0, 0, 2, 2)) + moment((0, 0, 1, 1)) ** 2)])

    def numeric(stmt, rng: random.Random):
        # Gauss-Hermite (3 nodes, exact to degree 5 per variable) over one Gaussian sample and over a Gaussian v,
        # pushed through the exact 2 × 2 step at 50 digits
        vals = {p_i: random_mpf(rng, 0.2, 1.2), q_i: random_mpf(rng, 0.2, 1.2), p_j: random_mpf(rng, 0.1, 1),
                q_j: random_mpf(rng, 0.1, 1), lam_i: random_mpf(rng, 0.5, 3), lam_j: random_mpf(rng, 0.1, 1),
                eps: random_mpf(rng, 0.1, 1), gam: random_mpf(rng, 0, 0.3), eta: random_mpf(rng, 0.01, 0.2)}
        vals[m_ij] = vals[lam_i] * vals[lam_j]
        vals[xi_i], vals[xi_j] = vals[lam_i] + vals[eps], vals[lam_j] + vals[eps]
        nodes = [(-mpmath.sqrt(3), mpmath.mpf(1) / 6), (mpmath.mpf(0), mpmath.mpf(2) / 3), (mpmath.sqrt(3), mpmath.mpf(1) / 6)]
        sub = {k: sp.Float(str(v), 60) for k, v in vals.items()}
        f_pair = sp.lambdify([*PAIR, P_ii, P_jj, P_ij, P_ji, R_ii, R_jj, R_ij], [e.xreplace(sub) for e in pair], "mpmath")
        f_diag = sp.lambdify([*PAIR, P_ii, P_jj, P_ij, P_ji, R_ii, R_jj, R_ij], [e.xreplace(sub) for e in diag], "mpmath")
        ev = lambda M: mpmath.matrix([[mpmath.mpf(str(sp.N(x.xreplace(sub), 60))) for x in M.row(r)] for r in range(M.rows)])
        A_, N_, C_, g_ = ev(stmt[0].rhs), ev(stmt[1].rhs), ev(stmt[2].rhs), ev(stmt[3].rhs)
        L_, E_ = vals[lam_i], vals[eps]
        out = []
        # (1) covariance of v' at v = 0 over one sample is N C Nᵀ (B = 1), and its mean is 0
        mom1, mom2 = mpmath.matrix(4, 1), mpmath.matrix(4, 4)
        for combo in itertools.product(nodes, repeat=4):
            w = mpmath.fprod(z[1] for z in combo)
            xi_, xj_ = mpmath.sqrt(L_) * combo[0][0], mpmath.sqrt(vals[lam_j]) * combo[1][0]
            ni_, nj_ = mpmath.sqrt(E_) * combo[2][0], mpmath.sqrt(E_) * combo[3][0]
            ti, tj = xi_ + ni_, xj_ + nj_
            v = mpmath.matrix(f_pair(0, 0, 0, 0, xi_ * ti, xj_ * tj, xi_ * tj, xj_ * ti, ti * ti, tj * tj, ti * tj))
            mom1 += w * v
            mom2 += w * v * v.T
        want = N_ * C_ * N_.T
        out += [relative(mom2[r, s], want[r, s]) for r in range(4) for s in range(4)]
        out += [(abs(mom1[r]), mpmath.mpf(10) ** -40) for r in range(4)]
        # (2) the mean step from a tiny v is A v to third order in its size
        tiny = mpmath.mpf(10) ** -30
        v0 = [random_mpf(rng, -1, 1) * tiny for _ in range(4)]
        stepped = f_pair(*v0, L_, vals[lam_j], 0, 0, L_ + E_, vals[lam_j] + E_, 0)
        lin = A_ * mpmath.matrix(v0)
        out += [(abs(stepped[r] - lin[r]) / tiny, mpmath.mpf(10) ** -40) for r in range(4)]
        # (3) the rotation changes no product: W₂W₁ after a rotation by θ = 10⁻³⁰ moves by O(θ²)
        theta = tiny
        W1m = mpmath.matrix([[vals[p_i], -theta * vals[p_j]], [theta * vals[p_i], vals[p_j]]])
        W2m = mpmath.matrix([[vals[q_i], theta * vals[q_i]], [-theta * vals[q_j], vals[q_j]]])
        prod = W2m * W1m
        out += [(abs(prod[0, 1]) / theta, mpmath.mpf(10) ** -40), (abs(prod[1, 0]) / theta, mpmath.mpf(10) ** -40)]
        gv = [g_[k] for k in range(4)]
        out += [relative(gv[0], W1m[1, 0] / theta), relative(gv[1], W2m[0, 1] / theta),
                relative(gv[2], W1m[0, 1] / theta), relative(gv[3], W2m[1, 0] / theta)]
        # (4) the mean diagonal step over a Gaussian v of covariance Σ = L Lᵀ
        Lc = mpmath.matrix(4, 4)
        for r in range(4):
            for s in range(r + 1):
                Lc[r, s] = random_mpf(rng, 0.1, 0.5) if r == s else random_mpf(rng, -0.2, 0.2)
        S_ = Lc * Lc.T
        base = f_diag(0, 0, 0, 0, L_, vals[lam_j], 0, 0, L_ + E_, vals[lam_j] + E_, 0)
        mean_diag, ms, m2s = [mpmath.mpf(0)] * 4, [mpmath.mpf(0)] * 2, [mpmath.mpf(0)] * 2
        for combo in itertools.product(nodes, repeat=4):
            w = mpmath.fprod(z[1] for z in combo)
            v = Lc * mpmath.matrix([z[0] for z in combo])
            nd = f_diag(*v, L_, vals[lam_j], 0, 0, L_ + E_, vals[lam_j] + E_, 0)
            mean_diag = [m + w * (x - y) for m, x, y in zip(mean_diag, nd, base)]
            ab, cd = v[0] * v[1], v[2] * v[3]
            ms = [ms[0] + w * ab, ms[1] + w * cd]
            m2s = [m2s[0] + w * ab ** 2, m2s[1] + w * cd ** 2]
        sig = {SIG[(r, s)]: sp.Float(str(S_[r, s]), 60) for r in range(4) for s in range(4)}
        for k in range(4):
            out.append(relative(mean_diag[k], mpmath.mpf(str(sp.N(stmt[4].rhs[k].xreplace(sub).xreplace(sig), 60)))))
        for k in range(2):
            out.append(relative(ms[k], mpmath.mpf(str(sp.N(stmt[5].rhs[k].xreplace(sig), 60)))))
            out.append(relative(m2s[k] - ms[k] ** 2, mpmath.mpf(str(sp.N(stmt[6].rhs[k].xreplace(sig), 60)))))
        return out

    return Result(name="pair_block", number="S3", title="SGD's leakage between a pair of modes",
                  statement=statement,
                  assumptions="weights near diagonal (aligned start); the minibatch moments' off-diagonal entries "
                              "independent of their diagonal ones and of the past (odd moments of x dropped; exact "
                              "for Gaussian data); v Gaussian for the second-order terms",
                  steps=steps,
                  symbolic_checks=(("A is the Jacobian of a three-mode step (no third mode enters)", linear_check(0)),
                                   ("N is the three-mode step's derivative in (P_ij, P_ji, R_ij)", linear_check(1)),
                                   ("C is the covariance of one sample's off-diagonal moments", noise_check),
                                   ("g leaves W₂W₁ unchanged and A carries it to the next step's rotation",
                                    gauge_check),
                                   ("δw is half the three-mode Hessian contracted with Σ", feedback_check),
                                   ("the strengths' corrections are Isserlis moments of a Gaussian v",
                                    strength_check)),
                  numeric_check=numeric, citation="beyond the paper; the linear-noise approximation (van Kampen)")


#: S3, in the order of docs/theory.md.
LEAKAGE_BUILDERS = (pair_block,)
