r"""N1-N8: noise models beyond isotropic Gaussian noise: anisotropic Gaussian noise, input masking (scaled and
unscaled), hidden-unit dropout, when the modes decouple, the rank-H optimum, the dropout optimum, the Riccati
surrogate for small random starts with a non-diagonal :math:`B`, and where balance fails.

Every noise model here turns the loss into :math:`L = \tfrac12\operatorname{tr}\Sigma - \operatorname{tr}(WC)
+ \tfrac12\operatorname{tr}(WBW^\top)` (+ a penalty on the factors for dropout), with :math:`C = E[x\tilde x^\top]`
the cross moment and :math:`B = E[\tilde x\tilde x^\top]` the second moment of the corrupted input.

* N1: Gaussian noise of any covariance Ψ: :math:`C = \Sigma`, :math:`B = \Sigma + \Psi`.
* N2: masking with keep probability q, scaled by 1/q (inverted) or not (mSDA).
* N3: hidden-unit dropout (keep probability θ): the clean loss plus :math:`\tfrac{\rho}{2}\sum_h\|u_h\|^2
  v_h^\top\Sigma v_h`, :math:`\rho = (1 - \theta)/\theta`.
* N4: in the eigenbasis of Σ a diagonal :math:`\tilde W` stays diagonal iff :math:`\tilde\Psi = V^\top\Psi V` is
  diagonal; standardised data make masking an isotropic DAE with ε = (1 − q)/q.
* N5: the rank-H optimum :math:`W^* = [CB^{-1/2}]_H B^{-1/2}` and its loss.
* N6: the hidden-dropout optimum: equalised, every active mode shrunk by one common amount.
* N7: the Riccati surrogate :math:`W = YY^\top`, :math:`\dot Y = KY - YY^\top BY`, solved in closed form.
* N8: balance :math:`W_1 = W_2^\top` breaks at the rate :math:`[B, W]Y`, and the surrogate's fixed point misses
  the true one by a term of second order in the off-diagonal of :math:`\tilde\Psi`.
"""
from __future__ import annotations

import itertools
import random

import mpmath
import sympy as sp

from .result import Result, Step, random_mpf, relative

#: Keep probability of input masking (inverted dropout on the inputs), 0 < q <= 1.
q = sp.Symbol("q", positive=True)
#: Keep probability of hidden-unit dropout, 0 < θ <= 1.
theta = sp.Symbol("theta", positive=True)
_L = sp.Symbol("L")
#: Traces the loss statements are written in.
_TS, _TWC, _TWS, _TWBW, _TWSW, _TWPW, _TWDW = sp.symbols(
    r"\operatorname{tr}\Sigma \operatorname{tr}(WC) \operatorname{tr}(W\Sigma) \operatorname{tr}(WBW^\top) "
    r"\operatorname{tr}(W\Sigma{}W^\top) \operatorname{tr}(W\Psi{}W^\top) "
    r"\operatorname{tr}(W\operatorname{diag}(\Sigma)W^\top)")
#: Σ_h ‖u_h‖² v_hᵀΣv_h, the dropout penalty's sum over hidden units.
_RD = sp.Symbol(r"\textstyle\sum_h\|u_h\|^2v_h^\top\Sigma{}v_h", nonnegative=True)


def _sym(n, name):
    return sp.Matrix(n, n, lambda i, j: sp.Symbol(f"{name}_{min(i, j)}{max(i, j)}", real=True))


def _mat(rows, cols, name):
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True))


def _second_moment_expectation(expr, x, S):
    """E over x of a polynomial of degree <= 2 in x, given E[x xᵀ] = S (and no first moments needed: every
    monomial has degree 0 or 2)."""
    poly = sp.Poly(sp.expand(expr), *x)
    out = 0
    for powers, coeff in poly.terms():
        idx = [i for i, p in enumerate(powers) for _ in range(p)]
        if len(idx) == 0:
            out += coeff
        elif len(idx) == 2:
            out += coeff * S[idx[0], idx[1]]
        else:
            raise ValueError("only degree 0 and 2 monomials are expected")
    return sp.expand(out)


def _gauss_expectation(expr, z):
    """E over z ~ N(0, I) of a polynomial in z (moments 1, 0, 1, 0, 3 of each coordinate)."""
    poly = sp.Poly(sp.expand(expr), *z)
    moments = {0: 1, 1: 0, 2: 1, 3: 0, 4: 3}
    return sp.expand(sum(coeff * sp.prod([moments[p] for p in powers]) for powers, coeff in poly.terms()))


def _traces(W, S, Psi=None):
    out = {_TS: S.trace(), _TWS: (W * S).trace(), _TWSW: (W * S * W.T).trace(),
           _TWDW: (W * sp.diag(*[S[i, i] for i in range(S.shape[0])]) * W.T).trace()}
    if Psi is not None:
        out[_TWPW] = (W * Psi * W.T).trace()
    return out


def _mp_tr(A):
    return sum(A[i, i] for i in range(A.rows))


def _mp_sq(A):
    return sum(A[i, j] ** 2 for i in range(A.rows) for j in range(A.cols))


def _mp_random(rows, cols, rng, lo=-1, hi=1):
    return mpmath.matrix([[random_mpf(rng, lo, hi) for _ in range(cols)] for _ in range(rows)])


def _mp_spd(n, rng):
    L = _mp_random(n, n, rng)
    return L * L.T + mpmath.eye(n) / 10


def gaussian_noise_loss() -> Result:
    r"""N1: Gaussian input noise of any covariance Ψ, marginalised.

    .. math:: \tfrac12 E\|x - W(x + n)\|^2 = \tfrac12\operatorname{tr}\Sigma - \operatorname{tr}(W\Sigma)
              + \tfrac12\operatorname{tr}(W\Sigma W^\top) + \tfrac12\operatorname{tr}(W\Psi W^\top),
              \qquad n \sim N(0, \Psi)

    so :math:`C = \Sigma`, :math:`B = \Sigma + \Psi`; Ψ = εI is R1.
    """
    statement = sp.Eq(_L, _TS / 2 - _TWS + _TWSW / 2 + _TWPW / 2)
    steps = (Step("Write n = Lz with LLᵀ = Ψ and z ~ N(0, I); the cross term E[(x − Wx)ᵀWn] vanishes because E[n] = 0, "
                  "and E‖Wn‖² = tr(WΨWᵀ). With E[xxᵀ] = Σ:", statement),
             Step("In the form shared by every noise model, ½tr Σ − tr(WC) + ½tr(WBWᵀ), Gaussian noise has",
                  (sp.Eq(sp.Symbol("C"), sp.Symbol(r"\Sigma")), sp.Eq(sp.Symbol("B"), sp.Symbol(r"\Sigma + \Psi")))))

    def is_the_expectation(stmt):
        n = 2
        W, S = _mat(n, n, "w"), _sym(n, "S")
        x = sp.symbols("x_0:2", real=True)
        z = sp.symbols("z_0:2", real=True)
        Lf = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"l_{i}{j}", real=True) if j <= i else 0)
        r = sp.Matrix(x) - W * (sp.Matrix(x) + Lf * sp.Matrix(z))
        direct = _second_moment_expectation(_gauss_expectation((r.T * r)[0] / 2, z), x, S)
        return sp.expand(stmt.rhs.subs(_traces(W, S, Lf * Lf.T)) - direct)

    def numeric(stmt, rng: random.Random):
        n = 3
        W, S, Lf = _mp_random(n, n, rng), _mp_spd(n, rng), _mp_random(n, n, rng)
        Cs = mpmath.cholesky(S)
        # independent: 3-point Gauss-Hermite rule (exact for this quadratic) in x = Cs a and n = Lf z
        nodes, weights = [-mpmath.sqrt(3), 0, mpmath.sqrt(3)], [mpmath.mpf(1) / 6, mpmath.mpf(2) / 3, mpmath.mpf(1) / 6]
        direct = 0
        for ia in itertools.product(range(3), repeat=n):
            xa = Cs * mpmath.matrix([nodes[i] for i in ia])
            wa = mpmath.fprod(weights[i] for i in ia)
            for iz in itertools.product(range(3), repeat=n):
                nz = Lf * mpmath.matrix([nodes[i] for i in iz])
                r = xa - W * (xa + nz)
                direct += wa * mpmath.fprod(weights[i] for i in iz) * _mp_sq(r) / 2
        vals = {_TS: _mp_tr(S), _TWS: _mp_tr(W * S), _TWSW: _mp_tr(W * S * W.T), _TWPW: _mp_tr(W * Lf * Lf.T * W.T)}
        stated = sp.lambdify(list(vals), stmt.rhs, "mpmath")(*vals.values())
        return [relative(direct, stated)]

    return Result(name="gaussian_noise_loss", number="N1", title="Gaussian noise of any covariance",
                  statement=statement, assumptions="n ~ N(0, Ψ) independent of x; Ψ symmetric positive semidefinite",
                  steps=steps, symbolic_checks=(("the expectation over n and x (2 × 2, every entry)", is_the_expectation),),
                  numeric_check=numeric, citation="beyond the paper; R1 is Ψ = εI")


def _mask_expectation(n, W, x, scaled):
    """E over independent Bernoulli(q) masks m of ½‖x − W(m∘x)/q‖² (or without the 1/q), by enumeration."""
    total = 0
    for m in itertools.product((0, 1), repeat=n):
        p = sp.prod([q if mi else 1 - q for mi in m])
        xt = sp.Matrix([mi * xi for mi, xi in zip(m, x)]) / (q if scaled else 1)
        r = sp.Matrix(x) - W * xt
        total += p * (r.T * r)[0] / 2
    return total


def masking_loss() -> Result:
    r"""N2: input masking (each input kept with probability q), marginalised exactly.

    .. math:: L_\text{scaled} = \tfrac12\operatorname{tr}\Sigma - \operatorname{tr}(W\Sigma)
              + \tfrac12\operatorname{tr}(W\Sigma W^\top) + \frac{1 - q}{2q}\operatorname{tr}(W\operatorname{diag}(\Sigma)W^\top)

    .. math:: L_\text{unscaled} = \tfrac12\operatorname{tr}\Sigma - q\operatorname{tr}(W\Sigma)
              + \tfrac{q^2}{2}\operatorname{tr}(W\Sigma W^\top) + \frac{q(1 - q)}{2}\operatorname{tr}(W\operatorname{diag}(\Sigma)W^\top)

    Scaled masking (x̃ = m∘x/q) is Gaussian-equivalent noise with :math:`\Psi = \frac{1-q}{q}\operatorname{diag}\Sigma`;
    unscaled masking (mSDA) has :math:`C = q\Sigma`, :math:`B = q^2\Sigma + q(1 - q)\operatorname{diag}\Sigma`.
    """
    scaled = sp.Eq(sp.Symbol(r"L_\text{scaled}"), _TS / 2 - _TWS + _TWSW / 2 + (1 - q) / (2 * q) * _TWDW)
    unscaled = sp.Eq(sp.Symbol(r"L_\text{unscaled}"), _TS / 2 - q * _TWS + q ** 2 / 2 * _TWSW + q * (1 - q) / 2 * _TWDW)
    statement = (scaled, unscaled)
    steps = (Step("With m_i ~ Bernoulli(q) independent, E[m_i] = q and E[m_i m_j] = q² + q(1 − q)δ_ij, so "
                  "E[(m∘x)(m∘x)ᵀ] = q²xxᵀ + q(1 − q)diag(x²). Scaled by 1/q the corrupted input is unbiased and",
                  scaled),
             Step("Without the scaling (mSDA, Chen et al. 2012) the cross moment is qΣ:", unscaled))

    def by_enumeration(stmt, index, is_scaled):
        n = 2
        W, S = _mat(n, n, "w"), _sym(n, "S")
        x = sp.symbols("x_0:2", real=True)
        direct = _second_moment_expectation(_mask_expectation(n, W, x, is_scaled), x, S)
        return sp.simplify(stmt[index].rhs.subs(_traces(W, S)) - direct)

    def numeric(stmt, rng: random.Random):
        n = 3
        W, X = _mp_random(n, n, rng), _mp_random(4, n, rng)           # four samples: Σ = XᵀX/4
        qv = random_mpf(rng, 0.2, 0.95)
        S = X.T * X / 4
        out = []
        for index, is_scaled in ((0, True), (1, False)):
            direct = 0                                                  # independent: enumerate masks and samples
            for m in itertools.product((0, 1), repeat=n):
                p = mpmath.fprod(qv if mi else 1 - qv for mi in m)
                for k in range(4):
                    x = X[k, :].T
                    xt = mpmath.matrix([m[i] * x[i] for i in range(n)]) / (qv if is_scaled else 1)
                    direct += p * _mp_sq(x - W * xt) / 8
            Dg = mpmath.diag([S[i, i] for i in range(n)])
            vals = {_TS: _mp_tr(S), _TWS: _mp_tr(W * S), _TWSW: _mp_tr(W * S * W.T), _TWDW: _mp_tr(W * Dg * W.T), q: qv}
            out.append(relative(direct, sp.lambdify(list(vals), stmt[index].rhs, "mpmath")(*vals.values())))
        return out

    return Result(name="masking_loss", number="N2", title="Input masking, marginalised",
                  statement=statement, assumptions="each input kept independently with probability 0 < q ≤ 1, "
                  "independent of x",
                  steps=steps,
                  symbolic_checks=(("scaled: the average over the 4 masks (2 × 2)", lambda st: by_enumeration(st, 0, True)),
                                   ("unscaled: the average over the 4 masks (2 × 2)", lambda st: by_enumeration(st, 1, False))),
                  numeric_check=numeric, citation="Vincent et al. (2008); Chen et al. (2012, mSDA)")


def hidden_dropout_loss() -> Result:
    r"""N3: hidden-unit dropout (each hidden unit kept with probability θ, scaled by 1/θ), marginalised.

    .. math:: L = \tfrac12\operatorname{tr}\Sigma - \operatorname{tr}(W\Sigma) + \tfrac12\operatorname{tr}(W\Sigma W^\top)
              + \frac{1 - \theta}{2\theta}\sum_h\|u_h\|^2\,v_h^\top\Sigma v_h

    with :math:`u_h` column h of :math:`W_2` and :math:`v_h^\top` row h of :math:`W_1`.
    """
    statement = sp.Eq(_L, _TS / 2 - _TWS + _TWSW / 2 + (1 - theta) / (2 * theta) * _RD)
    steps = (Step("x̂ = W₂ diag(r/θ) W₁x with r_h ~ Bernoulli(θ): E[r_h/θ] = 1 and E[r_h r_k]/θ² = 1 + δ_hk(1 − θ)/θ, so "
                  "E‖x̂‖² = ‖Wx‖² + ((1 − θ)/θ)Σ_h ‖u_h‖²(v_hᵀx)² and, averaged over x,", statement),
             Step("It is not a function of W alone: the penalty depends on how W is split over the hidden units "
                  "(Mianjy, Arora & Vidal 2018).", sp.Eq(sp.Symbol(r"\rho"), (1 - theta) / theta)))

    def by_enumeration(stmt):
        n, H = 2, 2
        W2, W1, S = _mat(n, H, "u"), _mat(H, n, "v"), _sym(n, "S")
        x = sp.symbols("x_0:2", real=True)
        total = 0
        for r in itertools.product((0, 1), repeat=H):
            p = sp.prod([theta if ri else 1 - theta for ri in r])
            res = sp.Matrix(x) - W2 * sp.diag(*r) * W1 * sp.Matrix(x) / theta
            total += p * (res.T * res)[0] / 2
        direct = _second_moment_expectation(total, x, S)
        pen = sum((W2[:, h].T * W2[:, h])[0] * (W1[h, :] * S * W1[h, :].T)[0] for h in range(H))
        return sp.simplify(stmt.rhs.subs(_traces(W2 * W1, S) | {_RD: pen}) - direct)

    def numeric(stmt, rng: random.Random):
        n, H = 3, 2
        W2, W1, X = _mp_random(n, H, rng), _mp_random(H, n, rng), _mp_random(4, n, rng)
        th = random_mpf(rng, 0.2, 0.95)
        S = X.T * X / 4
        direct = 0
        for r in itertools.product((0, 1), repeat=H):
            p = mpmath.fprod(th if ri else 1 - th for ri in r)
            for k in range(4):
                x = X[k, :].T
                direct += p * _mp_sq(x - W2 * mpmath.diag(list(r)) * W1 * x / th) / 8
        W = W2 * W1
        pen = sum(sum(W2[i, h] ** 2 for i in range(n)) * (W1[h, :] * S * W1[h, :].T)[0] for h in range(H))
        vals = {_TS: _mp_tr(S), _TWS: _mp_tr(W * S), _TWSW: _mp_tr(W * S * W.T), _RD: pen, theta: th}
        return [relative(direct, sp.lambdify(list(vals), stmt.rhs, "mpmath")(*vals.values()))]

    return Result(name="hidden_dropout_loss", number="N3", title="Hidden-unit dropout, marginalised",
                  statement=statement, assumptions="each hidden unit kept independently with probability 0 < θ ≤ 1 "
                  "and scaled by 1/θ", steps=steps,
                  symbolic_checks=(("the average over the 4 dropout patterns (D = H = 2)", by_enumeration),),
                  numeric_check=numeric, citation="Mianjy, Arora & Vidal (ICML 2018)")


_s = sp.symbols("s_0:3", real=True)
_l = sp.symbols("lambda_0:3", positive=True)
_gij, _gii, _em = sp.Symbol(r"g_{ij}"), sp.Symbol(r"g_{ii}"), sp.Symbol(r"\varepsilon_\text{mask}")
_si, _sj, _li, _psii, _psij = sp.symbols(r"s_i s_j lambda_i \tilde\Psi_{ii} \tilde\Psi_{ij}", real=True)


def decoupling_condition() -> Result:
    r"""N4: when the modes decouple. In the eigenbasis of Σ (:math:`\tilde\Psi = V^\top\Psi V`), the gradient of N1's
    loss at a diagonal :math:`\tilde W = \operatorname{diag}(s_i)` is

    .. math:: g_{ij} = s_i\tilde\Psi_{ij}\ (i \ne j),\qquad g_{ii} = s_i(\lambda_i + \tilde\Psi_{ii}) - \lambda_i,

    so aligned weights stay aligned (the per-mode theory R2-R15 applies with :math:`\varepsilon_i = \tilde\Psi_{ii}`)
    iff :math:`\tilde\Psi_{ij} = 0` wherever :math:`s_i \ne 0`. For standardised inputs (diag Σ = I), scaled
    masking is the isotropic DAE with :math:`\varepsilon = (1 - q)/q`.
    """
    statement = (sp.Eq(_gij, _si * _psij), sp.Eq(_gii, _si * (_li + _psii) - _li), sp.Eq(_em, (1 - q) / q))
    steps = (Step("By N1 the gradient is ∂L/∂W = −Σ + W(Σ + Ψ); in the eigenbasis Σ → Λ, Ψ → Ψ̃, and for W̃ = diag(s):",
                  statement[:2]),
             Step("An off-diagonal gradient creates off-diagonal weights, which couple the modes. With diag Σ = I, N2's "
                  "masking covariance ((1 − q)/q)diag Σ is isotropic, with", statement[2]))

    def gradient(stmt, which):
        n = 3
        Lam = sp.diag(*_l)
        Psi = _sym(n, "p")
        W = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"w_{i}{j}", real=True))
        loss = (Lam.trace() / 2 - (W * Lam).trace() + (W * Lam * W.T).trace() / 2 + (W * Psi * W.T).trace() / 2)
        diag = {W[i, j]: (_s[i] if i == j else 0) for i in range(n) for j in range(n)}
        if which == "off":
            g = sp.diff(loss, W[0, 1]).xreplace(diag)
            return sp.expand(g - stmt[0].rhs.xreplace({_si: _s[0], _psij: Psi[0, 1]}))
        g = sp.diff(loss, W[1, 1]).xreplace(diag)
        return sp.expand(g - stmt[1].rhs.xreplace({_si: _s[1], _li: _l[1], _psii: Psi[1, 1]}))

    def standardised(stmt):
        # N2's scaled masking with diag Σ = I against R1's isotropic DAE of noise stmt[2], by enumeration (2 × 2)
        n = 2
        W, S = _mat(n, n, "w"), _sym(n, "S").subs({sp.Symbol("S_00", real=True): 1, sp.Symbol("S_11", real=True): 1})
        x = sp.symbols("x_0:2", real=True)
        masked = _second_moment_expectation(_mask_expectation(n, W, x, True), x, S)
        dae = ((sp.eye(n) - W) * S * (sp.eye(n) - W).T).trace() / 2 + stmt[2].rhs / 2 * (W * W.T).trace()
        return sp.simplify(masked - dae)

    def numeric(stmt, rng: random.Random):
        n = 3
        lv = [random_mpf(rng, 0.5, 3) for _ in range(n)]
        Psi = _mp_spd(n, rng)
        sv = [random_mpf(rng, -1, 1) for _ in range(n)]
        qv = random_mpf(rng, 0.2, 0.95)

        def loss(W):
            Lam = mpmath.diag(lv)
            return _mp_tr(Lam) / 2 - _mp_tr(W * Lam) + _mp_tr(W * Lam * W.T) / 2 + _mp_tr(W * Psi * W.T) / 2

        def partial(i, j):                         # independent: numeric differentiation
            def f(h):
                W = mpmath.diag(sv)
                W[i, j] += h
                return loss(W)
            return mpmath.diff(f, 0)
        off = sp.lambdify([_si, _psij], stmt[0].rhs, "mpmath")(sv[0], Psi[0, 2])
        on = sp.lambdify([_si, _li, _psii], stmt[1].rhs, "mpmath")(sv[2], lv[2], Psi[2, 2])
        # standardised masking: E over masks of x̃x̃ᵀ has diagonal 1/q = 1 + ε
        em = sp.lambdify([q], stmt[2].rhs, "mpmath")(qv)
        return [relative(partial(0, 2), off), relative(partial(2, 2), on), relative(1 / qv, 1 + em)]

    return Result(name="decoupling_condition", number="N4", title="When the modes decouple",
                  statement=statement, assumptions="N1's loss; Σ = VΛVᵀ; W̃ = VᵀWV diagonal", steps=steps,
                  symbolic_checks=(("off-diagonal entry of the gradient (3 × 3)", lambda st: gradient(st, "off")),
                                   ("diagonal entry of the gradient (3 × 3)", lambda st: gradient(st, "on")),
                                   ("standardised masking is the isotropic DAE (2 × 2, 4 masks)", standardised)),
                  numeric_check=numeric, citation="beyond the paper")


_Lstar, _SH = sp.Symbol("L^*"), sp.Symbol(r"\textstyle\sum_{k\le H}\sigma_k^2")
_TCBC = sp.Symbol(r"\operatorname{tr}(CB^{-1}C)")


def rank_h_optimum() -> Result:
    r"""N5: the rank-H optimum of :math:`L = \tfrac12\operatorname{tr}\Sigma - \operatorname{tr}(WC) +
    \tfrac12\operatorname{tr}(WBW^\top)`:

    .. math:: W^* = [CB^{-1/2}]_H\,B^{-1/2},\qquad L^* = \tfrac12\operatorname{tr}\Sigma - \tfrac12\sum_{k\le H}\sigma_k^2,

    with :math:`\sigma_k` the singular values of :math:`CB^{-1/2}` and :math:`[\cdot]_H` its best rank-H
    approximation. The directions are chosen by :math:`\sigma_k`, not by the eigenvalues of Σ (PCA order).
    """
    statement = sp.Eq(_Lstar, _TS / 2 - _SH / 2)
    steps = (Step("Completing the square with B = B^{1/2}B^{1/2}: L = ½‖WB^{1/2} − CB^{−1/2}‖²_F + ½tr Σ − ½‖CB^{−1/2}‖²_F, "
                  "so the best W of rank ≤ H makes WB^{1/2} the best rank-H approximation of CB^{−1/2} "
                  "(Eckart–Young), W* = [CB^{−1/2}]_H B^{−1/2}, leaving the square ½Σ_{k>H}σ_k²:", statement),
             Step("At H = D (no truncation) W* = CB⁻¹ and Σ_k σ_k² = tr(CB⁻¹C).", sp.Eq(_SH, _TCBC)))
    n = 2

    def full_rank(stmt):
        S, B = _sym(n, "S"), _sym(n, "b")
        C = _sym(n, "c")
        W = C * B.inv()
        loss = S.trace() / 2 - (W * C.T).trace() + (W * B * W.T).trace() / 2
        return sp.simplify(loss - stmt.rhs.subs({_TS: S.trace(), _SH: (C * B.inv() * C.T).trace()}))

    def numeric(stmt, rng: random.Random):
        D, out = 3, []
        for H in (1, 2):
            S = _mp_spd(D, rng)
            Psi = mpmath.diag([random_mpf(rng, 0.1, 1) for _ in range(D)])
            B, C = S + Psi, S
            # stated, with σ_k from the SVD of C B^{-1/2}
            ev, U = mpmath.eigsy(B)
            Bmh = U * mpmath.diag([1 / mpmath.sqrt(e) for e in ev]) * U.T
            sig = sorted(mpmath.svd_r(C * Bmh, compute_uv=False), reverse=True)
            stated = sp.lambdify([_TS, _SH], stmt.rhs, "mpmath")(_mp_tr(S), sum(s ** 2 for s in sig[:H]))
            # independent: for fixed W1 the best W2 is CW1ᵀ(W1BW1ᵀ)⁻¹, leaving a generalised Rayleigh quotient of
            # the pencil (CᵀC, B): the optimum keeps its H largest eigenvalues (eigenvalues of B⁻¹CᵀC)
            mu = sorted([mpmath.re(e) for e in mpmath.eig(mpmath.inverse(B) * C.T * C, left=False, right=False)],
                        reverse=True)
            out.append(relative(stated, _mp_tr(S) / 2 - sum(mu[:H]) / 2))
        return out

    return Result(name="rank_h_optimum", number="N5", title="The rank-H optimum of any noise model",
                  statement=statement, assumptions="B = E[x̃x̃ᵀ] positive definite; W of rank ≤ H (H hidden units, "
                  "no dropout); σ_H > σ_{H+1} for a unique W*", steps=steps,
                  symbolic_checks=(("at H = D the loss of W* = CB⁻¹ is the stated value (2 × 2)", full_rank),),
                  numeric_check=numeric, citation="Eckart–Young; Baldi & Hornik (1989) for B = Σ")


_mu, _Sr, _r, _Hs, _rho = sp.Symbol(r"\mu"), sp.Symbol(r"S_r", positive=True), sp.Symbol("r", positive=True, integer=True), \
    sp.Symbol("H", positive=True, integer=True), sp.Symbol(r"\rho", positive=True)
_Rest = sp.Symbol(r"\textstyle\sum_{i>r}\lambda_i", nonnegative=True)


def dropout_optimum() -> Result:
    r"""N6: the optimum under hidden-unit dropout (N3) is equalised: every hidden unit carries the same
    :math:`\|u_h\|\,\|\Sigma^{1/2}v_h\|`, the regulariser becomes :math:`\tfrac{\rho}{2H}\|W\Sigma^{1/2}\|_*^2`, and
    each of the r active modes (r ≤ H, largest λ first) is shrunk by one common amount:

    .. math:: \sqrt{\lambda_i}\,s_i = \sqrt{\lambda_i} - \mu,\qquad \mu = \frac{\rho S_r}{H + \rho r},\qquad
              L^* = \frac{\rho S_r^2}{2(H + \rho r)} + \tfrac12\sum_{i>r}\lambda_i,

    with :math:`S_r = \sum_{i\le r}\sqrt{\lambda_i}` and r the largest count with :math:`\sqrt{\lambda_r} > \mu`.
    """
    statement = (sp.Eq(_mu, _rho * _Sr / (_Hs + _rho * _r)), sp.Eq(sp.Symbol("s_i"), 1 - _mu / sp.sqrt(_li)),
                 sp.Eq(_Lstar, _rho * _Sr ** 2 / (2 * (_Hs + _rho * _r)) + _Rest / 2))
    steps = (Step("By Cauchy–Schwarz Σ_h‖u_h‖²‖Σ^{1/2}v_h‖² ≥ (Σ_h‖u_h‖‖Σ^{1/2}v_h‖)²/H ≥ ‖WΣ^{1/2}‖²_*/H, with equality "
                  "for equalised units (Mianjy, Arora & Vidal 2018). With m_i the singular values of WΣ^{1/2}, aligned "
                  "with Σ^{1/2}, N3's loss becomes ½Σ_i(√λ_i − m_i)² + (ρ/2H)(Σ_i m_i)², whose stationarity "
                  "m_i = √λ_i − (ρ/H)Σ_j m_j gives", statement[:2]),
             Step("and the least loss", statement[2]))
    lv = sp.symbols("l_1:4", positive=True)           # λ_1..λ_3: two active modes and one inactive

    def reduced(m1, m2):
        return ((sp.sqrt(lv[0]) - m1) ** 2 + (sp.sqrt(lv[1]) - m2) ** 2 + lv[2]) / 2 + _rho / (2 * _Hs) * (m1 + m2) ** 2

    def at(stmt):
        sub = {_Sr: sp.sqrt(lv[0]) + sp.sqrt(lv[1]), _r: 2}
        muv = stmt[0].rhs.subs(sub)
        m = [sp.sqrt(lv[i]) * stmt[1].rhs.subs({_mu: muv, _li: lv[i]}) for i in range(2)]
        return m, sub

    def stationary(stmt):
        m, _ = at(stmt)
        m1, m2 = sp.symbols("m1 m2")
        f = reduced(m1, m2)
        return [sp.simplify(sp.diff(f, v).subs({m1: m[0], m2: m[1]})) for v in (m1, m2)]

    def value(stmt):
        m, sub = at(stmt)
        return sp.simplify(reduced(*m) - stmt[2].rhs.subs(sub | {_Rest: lv[2]}))

    def numeric(stmt, rng: random.Random):
        # independent: N3's full loss over (W1, W2) (H = 2) at an equalised factorisation of the stated optimum:
        # its gradient vanishes, its Hessian is positive semidefinite, and its value is the stated L*
        l1 = random_mpf(rng, 2, 5)
        l2 = l1 * random_mpf(rng, 0.3, 0.8)
        th = random_mpf(rng, 0.6, 0.9)
        rh = (1 - th) / th
        Hn = 2
        muv = sp.lambdify([_rho, _Sr, _Hs, _r], stmt[0].rhs, "mpmath")(rh, mpmath.sqrt(l1) + mpmath.sqrt(l2), Hn, 2)
        s_of = sp.lambdify([_mu, _li], stmt[1].rhs, "mpmath")
        m = [mpmath.sqrt(l) * s_of(muv, l) for l in (l1, l2)]
        c = 1 / mpmath.sqrt(2)
        R = mpmath.matrix([[c, c], [c, -c]])
        rt = mpmath.diag([mpmath.sqrt(v) for v in m])
        W2 = rt * R                                             # columns u_h
        W1 = R.T * rt * mpmath.diag([1 / mpmath.sqrt(l1), 1 / mpmath.sqrt(l2)])

        def loss(*p):
            A2 = mpmath.matrix([[p[0], p[1]], [p[2], p[3]]])
            A1 = mpmath.matrix([[p[4], p[5]], [p[6], p[7]]])
            W = A2 * A1
            S = mpmath.diag([l1, l2])
            clean = (l1 + l2) / 2 - _mp_tr(W * S) + _mp_tr(W * S * W.T) / 2
            pen = sum((A2[0, h] ** 2 + A2[1, h] ** 2) * (A1[h, :] * S * A1[h, :].T)[0] for h in range(2))
            return clean + rh / 2 * pen
        p0 = [W2[0, 0], W2[0, 1], W2[1, 0], W2[1, 1], W1[0, 0], W1[0, 1], W1[1, 0], W1[1, 1]]
        grad = [mpmath.diff(loss, p0, tuple(int(i == k) for i in range(8))) for k in range(8)]
        Hm = mpmath.matrix(8, 8)
        for i in range(8):
            for j in range(i, 8):
                Hm[i, j] = Hm[j, i] = mpmath.diff(loss, p0, tuple(int(k == i) + int(k == j) for k in range(8)))
        low = min(mpmath.eigsy(Hm, eigvals_only=True))
        stated = sp.lambdify([_rho, _Sr, _Hs, _r, _Rest], stmt[2].rhs, "mpmath")(
            rh, mpmath.sqrt(l1) + mpmath.sqrt(l2), Hn, 2, 0)
        tol = mpmath.mpf(10) ** -30                            # numeric differentiation at 50 digits
        return [(max(abs(g) for g in grad), tol), (max(-low, 0), tol), relative(loss(*p0), stated)]

    return Result(name="dropout_optimum", number="N6", title="The optimum under hidden-unit dropout",
                  statement=statement, assumptions="N3's loss, θ < 1 (ρ > 0); r ≤ H active modes with √λ_r > μ; "
                  "equalised hidden units", steps=steps,
                  symbolic_checks=(("the reduced loss is stationary at the stated m_i (two active modes)", stationary),
                                   ("the reduced loss there is L* (two active, one inactive mode)", value)),
                  numeric_check=numeric, citation="Mianjy, Arora & Vidal (ICML 2018)")


_t = sp.Symbol("t", nonnegative=True)
_k = sp.symbols("kappa_1:3", positive=True)
_y = sp.symbols("y_1:3", real=True)
_b11, _b22 = sp.symbols("b_11 b_22", positive=True)
_b12 = sp.Symbol("b_12", real=True)


_M = sp.Symbol("M(t)", positive=True)


def _surrogate_matrix():
    """N7 for D = 2, H = 1: (M(t) = 1 + 2yᵀG(t)y, W(t) = e^{Kt}yyᵀe^{Kt}/M(t)) and B."""
    Bm = sp.Matrix([[_b11, _b12], [_b12, _b22]])
    G = sp.Matrix(2, 2, lambda i, j: Bm[i, j] * (sp.exp((_k[i] + _k[j]) * _t) - 1) / (_k[i] + _k[j]))
    x = sp.Matrix([sp.exp(_k[0] * _t) * _y[0], sp.exp(_k[1] * _t) * _y[1]])
    y = sp.Matrix(_y)
    return 1 + 2 * sp.expand((y.T * G * y)[0]), x * x.T / _M, Bm


_E = sp.symbols("E_1:3", positive=True)


def _exps_as_symbols(expr):
    """``expr`` with every e^{(c₁κ₁ + c₂κ₂)t} written as E₁^c₁ E₂^c₂ (an exponential of anything else is kept)."""
    def swap(e):
        arg = sp.expand(e.args[0])
        c = [arg.coeff(_k[i]).coeff(_t) for i in range(2)]
        if sp.expand(arg - c[0] * _k[0] * _t - c[1] * _k[1] * _t) != 0:
            return e
        return _E[0] ** c[0] * _E[1] ** c[1]
    return expr.replace(lambda e: isinstance(e, sp.exp), swap)


def riccati_surrogate() -> Result:
    r"""N7: the Riccati surrogate for small random starts with a non-diagonal B (masking, anisotropic noise).

    Replacing the cubic coupling of the true flow by the one that keeps :math:`W = YY^\top` (as R15 does),
    :math:`\dot Y = KY - YY^\top BY` with :math:`K` the (diagonal) cross moment C − γI in the eigenbasis of C, W
    obeys :math:`\dot W = KW + WK - 2WBW`, and

    .. math:: W(t) = e^{Kt}Y_0\big(I + 2Y_0^\top G(t)Y_0\big)^{-1}Y_0^\top e^{Kt},\qquad
              G_{ij}(t) = B_{ij}\,\frac{e^{(\kappa_i + \kappa_j)t} - 1}{\kappa_i + \kappa_j}.

    For diagonal B = Λ + εI it is R15 (:math:`2G_{ii} = c_i`).
    """
    Mt, Wt, Bm = _surrogate_matrix()
    statement = (sp.Eq(_M, Mt), sp.Eq(sp.Symbol("W(t)"), sp.ImmutableMatrix(Wt), evaluate=False))
    steps = (Step("W⁻¹ (on the range of Y) obeys the linear equation d(W⁻¹)/dt = −W⁻¹K − KW⁻¹ + 2B, so "
                  "W⁻¹(t) = e^{−Kt}(W₀⁻¹ + 2G(t))e^{−Kt} with G(t) the integral of e^{Ks}Be^{Ks} over s from 0 to t; by the push-through identity this is, "
                  "for D = 2 and one hidden unit (y = Y₀),", statement),
             Step("In general, with H hidden units, M(t) = I + 2Y₀ᵀG(t)Y₀ is H × H and",
                  sp.Eq(sp.Symbol("G_{ij}"), sp.Symbol("B_{ij}") * (sp.exp((sp.Symbol(r"\kappa_i") + sp.Symbol(r"\kappa_j")) * _t) - 1)
                        / (sp.Symbol(r"\kappa_i") + sp.Symbol(r"\kappa_j")))))
    K = sp.diag(*_k)

    def solves(stmt):
        # differentiate in t, then write e^{κ_i t} as E_i: the residual is a rational function of (E₁, E₂), zero
        # identically (cancel decides it in milliseconds, where simplify with exponentials takes seconds)
        W = sp.Matrix(stmt[1].rhs).subs(_M, stmt[0].rhs)
        return [_exps_as_symbols(e) for e in W.diff(_t) - (K * W + W * K - 2 * W * Bm * W)]

    def starts(stmt):
        return list(sp.Matrix(stmt[1].rhs).subs(_M, stmt[0].rhs).subs(_t, 0) - sp.Matrix(_y) * sp.Matrix(_y).T)

    def numeric(stmt, rng: random.Random):
        kv = [random_mpf(rng, 0.5, 2), random_mpf(rng, 0.1, 1)]
        yv = [random_mpf(rng, 0.05, 0.3), random_mpf(rng, -0.3, 0.3)]
        b11, b22 = random_mpf(rng, 1, 3), random_mpf(rng, 1, 3)
        b12 = random_mpf(rng, -0.5, 0.5)
        T = random_mpf(rng, 0.5, 2)
        Bn = mpmath.matrix([[b11, b12], [b12, b22]])

        # independent: Radon's linearisation, W = XZ⁻¹ with d/dt [X; Z] = [[K, 0], [2B, −K]] [X; Z], X(0) = W₀,
        # Z(0) = I, solved by a 4 × 4 matrix exponential
        Hm = mpmath.matrix(4, 4)
        for i in range(2):
            Hm[i, i], Hm[2 + i, 2 + i] = kv[i], -kv[i]
            for j in range(2):
                Hm[2 + i, j] = 2 * Bn[i, j]
        W0 = mpmath.matrix([[yv[0] ** 2, yv[0] * yv[1]], [yv[0] * yv[1], yv[1] ** 2]])
        XZ = mpmath.expm(T * Hm) * mpmath.matrix([[W0[0, 0], W0[0, 1]], [W0[1, 0], W0[1, 1]], [1, 0], [0, 1]])
        ref = XZ[0:2, 0:2] * mpmath.inverse(XZ[2:4, 0:2])
        F = sp.lambdify([_t, *_k, *_y, _b11, _b12, _b22], sp.Matrix(stmt[1].rhs).subs(_M, stmt[0].rhs), "mpmath")
        W = F(T, *kv, *yv, b11, b12, b22)
        return [relative(ref[i // 2, i % 2], W[i // 2, i % 2]) for i in range(4)]

    return Result(name="riccati_surrogate", number="N7", title="The Riccati surrogate with a non-diagonal B",
                  statement=statement, assumptions="small random start (‖W(0)‖ ≪ 1), W₁ ≈ W₂ᵀ (N8); K diagonal in the "
                  "basis where B is written (C = qΣ or Σ, in Σ's eigenbasis)", steps=steps,
                  symbolic_checks=(("W(t) solves Ẇ = KW + WK − 2WBW", solves), ("W(0) = Y₀Y₀ᵀ", starts)),
                  lemmas=(("for diagonal B it is R15: twice G's diagonal is R15's c = ξ(e^{2κt} − 1)/κ",
                           lambda: sp.simplify(2 * _b11 * (sp.exp(2 * _k[0] * _t) - 1) / (2 * _k[0])
                                               - _b11 * (sp.exp(2 * _k[0] * _t) - 1) / _k[0])),),
                  numeric_check=numeric, citation="beyond the paper; R15 for B diagonal")


_d = sp.Symbol(r"\delta", real=True)
_gap = sp.Symbol(r"s^*_1 - s^\mathrm{sur}_1")


def balance_and_surrogate_error() -> Result:
    r"""N8: where balance fails, and the surrogate's error at the end.

    (a) At a balanced point :math:`W_1 = Y^\top`, :math:`W_2 = Y`, the true flow moves off balance at the rate

    .. math:: \frac{d}{dt}(W_2 - W_1^\top) = (BW - WB)\,Y,

    which vanishes when B commutes with W (diagonal B and aligned weights): a non-diagonal :math:`\tilde\Psi` breaks
    balance, and W stops being symmetric. (b) At full rank the true optimum is :math:`W^* = KB^{-1}` (C = K
    diagonal), the surrogate's fixed point solves :math:`(W^{-1})_{ij} = 2B_{ij}/(\kappa_i + \kappa_j)`; for D = 2 with
    :math:`B_{12} = \delta` their first strengths differ by

    .. math:: s^*_1 - s^\mathrm{sur}_1 = \frac{\kappa_1B_{22}\,\delta^2(\kappa_1 - \kappa_2)^2}
              {(\kappa_1 + \kappa_2)^2(B_{11}B_{22} - \delta^2)\big(B_{11}B_{22} - h\delta^2\big)},\quad
              h = \frac{4\kappa_1\kappa_2}{(\kappa_1 + \kappa_2)^2},

    of second order in the off-diagonal of B and zero for equal κ: the diagonal of the surrogate is right to first
    order.
    """
    Y = sp.Matrix(_y)
    Bm = sp.Matrix([[_b11, _d], [_d, _b22]])
    W = Y * Y.T
    rate = sp.Eq(sp.Symbol(r"\tfrac{d}{dt}(W_2 - W_1^\top)"), sp.ImmutableMatrix((Bm * W - W * Bm) * Y), evaluate=False)
    h = 4 * _k[0] * _k[1] / (_k[0] + _k[1]) ** 2
    det = _b11 * _b22 - _d ** 2
    gap = sp.Eq(_gap, _k[0] * _b22 * _d ** 2 * (_k[0] - _k[1]) ** 2
                / ((_k[0] + _k[1]) ** 2 * det * (_b11 * _b22 - h * _d ** 2)))
    statement = (rate, gap)
    steps = (Step("With N1's gradient G = −C + WB (C = K symmetric), Ẇ₂ = −GW₁ᵀ and Ẇ₁ᵀ = −GᵀW₂; at W₁ᵀ = W₂ = Y the "
                  "difference (K − WB)Y − (K − BW)Y is", rate),
             Step("At full rank the true flow ends at W* = KB⁻¹ (G = 0) and the surrogate where KW + WK = 2WBW; "
                  "comparing the (1, 1) entries for D = 2:", gap))

    def rate_check(stmt):
        W1, W2 = sp.Matrix(1, 2, lambda i, j: sp.Symbol(f"p_{j}", real=True)), sp.Matrix(2, 1, lambda i, j: sp.Symbol(f"r_{i}", real=True))
        Wp = W2 * W1
        Km = sp.diag(*_k)
        loss = Km.trace() / 2 - (Wp * Km).trace() + (Wp * Bm * Wp.T).trace() / 2
        dW2 = -sp.Matrix([[sp.diff(loss, W2[i, 0])] for i in range(2)])
        dW1T = -sp.Matrix([[sp.diff(loss, W1[0, j])] for j in range(2)])
        at = {W1[0, j]: _y[j] for j in range(2)} | {W2[i, 0]: _y[i] for i in range(2)}
        return [sp.expand(e) for e in ((dW2 - dW1T).subs(at) - sp.Matrix(stmt[0].rhs))]

    def gap_check(stmt):
        Km = sp.diag(*_k)
        Wstar = Km * Bm.inv()
        Winv = sp.Matrix(2, 2, lambda i, j: 2 * Bm[i, j] / (_k[i] + _k[j]))
        return sp.simplify(Wstar[0, 0] - Winv.inv()[0, 0] - stmt[1].rhs)

    def numeric(stmt, rng: random.Random):
        kv = [random_mpf(rng, 1, 3), random_mpf(rng, 0.1, 0.9)]
        b11, b22 = random_mpf(rng, 2, 4), random_mpf(rng, 1, 2)
        dv = random_mpf(rng, -0.5, 0.5)
        Bn, Kn = mpmath.matrix([[b11, dv], [dv, b22]]), mpmath.diag(kv)
        # independent (b): solve the surrogate's stationary Riccati equation by Newton, and the true loss's normal
        # equations W B = K by LU
        def riccati(a, b_, c_):
            W = mpmath.matrix([[a, b_], [b_, c_]])
            R = Kn * W + W * Kn - 2 * W * Bn * W
            return [R[0, 0], R[0, 1], R[1, 1]]
        # Newton on the surrogate's stationary equation, from the true optimum W* = KB⁻¹ (a nearby point)
        guess = Kn * mpmath.inverse(Bn)
        ws = mpmath.findroot(riccati, [guess[0, 0], (guess[0, 1] + guess[1, 0]) / 2, guess[1, 1]])
        wstar = mpmath.lu_solve(Bn.T, (Kn[0, :]).T)[0]          # first row of W* solves Bᵀ w = K's first row
        stated = sp.lambdify([*_k, _b11, _b22, _d], stmt[1].rhs, "mpmath")(*kv, b11, b22, dv)
        # (a) by numeric differentiation of the true loss at a balanced point
        yv = [random_mpf(rng, -1, 1), random_mpf(rng, -1, 1)]

        def loss(*p):
            Wp = mpmath.matrix([[p[2] * p[0], p[2] * p[1]], [p[3] * p[0], p[3] * p[1]]])
            return _mp_tr(Kn) / 2 - _mp_tr(Wp * Kn) + _mp_tr(Wp * Bn * Wp.T) / 2
        p0 = [yv[0], yv[1], yv[0], yv[1]]
        g = [mpmath.diff(loss, p0, tuple(int(i == k) for i in range(4))) for k in range(4)]
        rate_num = [-(g[2] - g[0]), -(g[3] - g[1])]
        R = sp.lambdify([*_y, _b11, _b22, _d], stmt[0].rhs, "mpmath")(*yv, b11, b22, dv)
        tol = mpmath.mpf(10) ** -30
        return [(abs(rate_num[0] - R[0]), tol), (abs(rate_num[1] - R[1]), tol),
                relative(wstar - ws[0], stated)]

    return Result(name="balance_and_surrogate_error", number="N8", title="Where balance fails, and the surrogate's error",
                  statement=statement, assumptions="(a) N1's loss with C = K diagonal, W₁ᵀ = W₂ = Y (one hidden unit "
                  "shown); (b) full rank, D = 2, B positive definite", steps=steps,
                  symbolic_checks=(("(a) the true flow's imbalance rate at a balanced point", rate_check),
                                   ("(b) the (1, 1) entry of W* minus the surrogate's fixed point", gap_check)),
                  numeric_check=numeric, citation="beyond the paper")


#: N1-N8, in the order of docs/theory.md.
N_BUILDERS = (gaussian_noise_loss, masking_loss, hidden_dropout_loss, decoupling_condition, rank_h_optimum,
              dropout_optimum, riccati_surrogate, balance_and_surrogate_error)
