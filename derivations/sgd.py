r"""S1, S2 and S4: minibatch SGD, one mode at a time (S3, the coupling of pairs of modes, is in sgd_leakage.py).

A balanced mode of strength :math:`u = w^2` trained by SGD on minibatches of B samples moves as
:math:`w' = w(1 + \eta g)`, so :math:`u' = u(1 + \eta g)^2`, with the minibatch gradient factor

.. math:: g = \frac1B\sum_{b=1}^B\big(x_b\tilde x_b - u\,\tilde x_b^2\big) - \gamma,

where :math:`x_b` is the sample's coordinate along the mode (:math:`E x^2 = \lambda`, :math:`E x^4 = m_4`) and
:math:`\tilde x_b = x_b + n_b` its noisy version, :math:`n_b \sim N(0, \varepsilon)` drawn afresh (*sampled* noise),
or with the noise marginalised inside each minibatch (:math:`x\tilde x \to x^2`, :math:`\tilde x^2 \to x^2 + \varepsilon`).

* S1: the mean and variance of g given u. For Gaussian data :math:`m_4 = 3\lambda^2` (the diagonal of a Wishart
  matrix); for other data :math:`m_4` is measured.
* S2: the exact one-step mean of u', its variance when g is Gaussian (to leading order in 1/B otherwise), the
  stationary variance of the linear-noise approximation and the bias of the stationary mean.
"""
from __future__ import annotations

import itertools
import random

import mpmath
import sympy as sp

from .result import Result, Step, random_mpf, relative
from .sgd_leakage import pair_block
from .symbols import eps, eta, gam, lam, u, xi

#: Batch size B >= 1.
batch = sp.Symbol("B", positive=True)
#: Fourth moment E[x^4] of the data along the mode (3λ² for Gaussian data).
m4 = sp.Symbol("m_4", positive=True)
#: Mean and variance of g given u (S1), as symbols in S2's statement.
mu_g, var_g = sp.Symbol(r"\mu_g", real=True), sp.Symbol(r"\sigma_g^2", nonnegative=True)
#: The variance of g at u* and its first two derivatives in u (S2's bias).
_s0, _s1, _s2 = sp.symbols(r"\sigma_*^2 \sigma_*^{2\prime} \sigma_*^{2\prime\prime}", real=True)
_Eg, _Vm, _Vs = sp.symbols(r"E[g] \operatorname{Var}_\text{marg}[g] \operatorname{Var}_\text{samp}[g]")
_F, _Q, _Vinf, _bias, _Vissue = sp.symbols(r"F(u) Q(u) V_\infty \bar{u}_\infty-u^* V_\infty^\text{Gauss}")
_x, _n = sp.symbols("x n", real=True)
_mu1, _mu3 = sp.symbols("mu_1 mu_3", real=True)           # E x, E x^3: must drop out


def gradient_factor(x_, n_, sampled=True):
    """One sample's term of g: x·x̃ − u·x̃² − γ (sampled), or x² − u(x² + ε) − γ (marginalised)."""
    if sampled:
        xt = x_ + n_
        return x_ * xt - u * xt ** 2 - gam
    return x_ ** 2 - u * (x_ ** 2 + eps) - gam


def mean_expr():
    r""":math:`E[g\mid u] = \kappa - \xi u` (S1)."""
    return lam - gam - xi * u


def variance_expr(sampled, fourth=m4, b=batch):
    r""":math:`\operatorname{Var}[g\mid u]` (S1): :math:`(1 - u)^2(m_4 - \lambda^2)/B`, plus
    :math:`[(1 - 2u)^2\lambda\varepsilon + 2\varepsilon^2u^2]/B` for sampled noise."""
    out = (1 - u) ** 2 * (fourth - lam ** 2)
    if sampled:
        out += (1 - 2 * u) ** 2 * lam * eps + 2 * eps ** 2 * u ** 2
    return out / b


def _expect(expr, samples):
    """E over independent samples (x_k, n_k): n_k ~ N(0, ε) (moments 0, ε, 0, 3ε²), x_k with moments μ₁, λ, μ₃, m₄."""
    nm = {0: 1, 1: 0, 2: eps, 3: 0, 4: 3 * eps ** 2}
    xm = {0: 1, 1: _mu1, 2: lam, 3: _mu3, 4: m4}
    gens = [v for pair in samples for v in pair]
    poly = sp.Poly(sp.expand(expr), *gens)
    total = 0
    for powers, coeff in poly.terms():
        term = coeff
        for k in range(len(samples)):
            term *= xm[powers[2 * k]] * nm[powers[2 * k + 1]]
        total += term
    return sp.expand(total)


def _batch_factor(b, sampled):
    pairs = [sp.symbols(f"x_{k} n_{k}", real=True) for k in range(b)]
    g = sum(gradient_factor(x_, n_, sampled) + gam for x_, n_ in pairs) / b - gam
    return g, pairs


def minibatch_gradient_moments() -> Result:
    r"""S1: the minibatch gradient factor's mean and variance given u.

    .. math:: E[g] = \kappa - \xi u,\qquad
              \operatorname{Var}_\text{marg}[g] = \frac{(1 - u)^2(m_4 - \lambda^2)}{B},\qquad
              \operatorname{Var}_\text{samp}[g] = \frac{(1 - u)^2(m_4 - \lambda^2) + (1 - 2u)^2\lambda\varepsilon
              + 2\varepsilon^2u^2}{B}
    """
    statement = (sp.Eq(_Eg, mean_expr()), sp.Eq(_Vm, variance_expr(False)), sp.Eq(_Vs, variance_expr(True)))
    steps = (Step("One sample's term with sampled noise, x x̃ − u x̃² − γ, is (1 − u)x² + (1 − 2u)xn − un² − γ; its "
                  "mean is (1 − u)λ − uε − γ = κ − ξu whichever way the noise enters:", statement[0]),
             Step("Its three random parts are uncorrelated (each covariance holds an odd power of x or of n, whose "
                  "mean vanishes against E[n] = E[n³] = 0), so their variances add; a mean of B independent samples "
                  "divides the variance by B. With the noise marginalised only (1 − u)x² varies:", statement[1]),
             Step("and with sampled noise:", statement[2]),
             Step("For Gaussian data the diagonal of the Wishart minibatch moment has m₄ − λ² = 2λ² "
                  "(Cov(S_ii, S_ii) = 2Σ_ii²/B).", sp.Eq(sp.Symbol("m_4"), 3 * lam ** 2)))

    def check(index, sampled, power):
        def f(stmt):
            residuals = []
            for b in (1, 2):
                g, pairs = _batch_factor(b, sampled)
                mean = _expect(g, pairs)
                got = mean if power == 1 else _expect(g ** 2, pairs) - mean ** 2
                residuals.append(sp.expand(stmt[index].rhs.subs(batch, b) - got))
            return sp.Matrix(residuals)
        return f

    def numeric(stmt, rng: random.Random):
        # independent: Gauss-Hermite (exact for these polynomials) over Gaussian x and n, and enumeration over a
        # four-point symmetric distribution of x (m4 != 3λ²), for B = 1 and 2
        L, E, G, U = random_mpf(rng, 0.2, 3), random_mpf(rng, 0.05, 1), random_mpf(rng, 0, 0.3), random_mpf(rng, 0, 1.2)
        nodes, weights = [-mpmath.sqrt(3), 0, mpmath.sqrt(3)], [mpmath.mpf(1) / 6, mpmath.mpf(2) / 3, mpmath.mpf(1) / 6]
        a_, b_ = random_mpf(rng, 0.1, 1), random_mpf(rng, 1, 2)
        four = ([(-a_, 0.25), (a_, 0.25), (-b_, 0.25), (b_, 0.25)])
        out = []
        for dist in ("gauss", "four"):
            if dist == "gauss":
                xs = [(mpmath.sqrt(L) * z, w) for z, w in zip(nodes, weights)]
                lam_v, m4_v = L, 3 * L ** 2
            else:
                xs = [(v, mpmath.mpf(p)) for v, p in four]
                lam_v, m4_v = (a_ ** 2 + b_ ** 2) / 2, (a_ ** 4 + b_ ** 4) / 2
            ns = [(mpmath.sqrt(E) * z, w) for z, w in zip(nodes, weights)]
            for sampled, index in ((False, 1), (True, 2)):
                f = sp.lambdify([_x, _n], gradient_factor(_x, _n, sampled).subs({u: U, gam: G, eps: E}), "mpmath")
                for b in (1, 2):
                    m1 = m2 = 0
                    for combo in itertools.product(xs, ns, repeat=b):
                        w = mpmath.fprod(c[1] for c in combo)
                        g = sum(f(combo[2 * k][0], combo[2 * k + 1][0]) for k in range(b)) / b
                        m1 += w * g
                        m2 += w * g * g
                    vals = {lam: lam_v, eps: E, gam: G, u: U, m4: m4_v, batch: b}
                    mean = sp.lambdify(list(vals), stmt[0].rhs, "mpmath")(*vals.values())
                    var = sp.lambdify(list(vals), stmt[index].rhs, "mpmath")(*vals.values())
                    out += [relative(m1, mean), relative(m2 - m1 ** 2, var)]
        return out

    return Result(name="minibatch_gradient_moments", number="S1", title="The minibatch gradient of one mode",
                  statement=statement,
                  assumptions="samples independent, E x² = λ, E x⁴ = m₄ along the mode (3λ² for Gaussian data); the "
                              "noise n ~ N(0, ε) independent of x; the mode balanced (w₁ = w₂) and aligned",
                  steps=steps,
                  symbolic_checks=(("the mean, over samples and noise (B = 1, 2)", check(0, True, 1)),
                                   ("the variance with marginalised noise (B = 1, 2)", check(1, False, 2)),
                                   ("the variance with sampled noise (B = 1, 2)", check(2, True, 2))),
                  numeric_check=numeric, citation="beyond the paper; cf. Ziyin et al. (2022) for linear regression")


def one_step_mean_expr(mean=mu_g, var=var_g):
    r""":math:`F(u) = E[u'\mid u] = u[(1 + \eta\mu_g)^2 + \eta^2\sigma_g^2]` (S2)."""
    return u * ((1 + eta * mean) ** 2 + eta ** 2 * var)


def one_step_variance_expr(mean=mu_g, var=var_g):
    r""":math:`Q(u) = \operatorname{Var}[u'\mid u] = u^2[4\eta^2\sigma_g^2(1 + \eta\mu_g)^2 + 2\eta^4\sigma_g^4]`
    for Gaussian g (S2)."""
    return u ** 2 * (4 * eta ** 2 * var * (1 + eta * mean) ** 2 + 2 * eta ** 4 * var ** 2)


def stationary_variance_expr():
    r""":math:`V_\infty = \eta u^{*2}\sigma_*^2/(\kappa(1 - \eta\kappa))` (S2, the linear-noise approximation)."""
    kap = lam - gam
    return eta * (kap / xi) ** 2 * _s0 / (kap * (1 - eta * kap))


def sgd_moment_equations() -> Result:
    r"""S2: one step of the mean and variance of u, and their stationary values.

    .. math:: F(u) = u[(1 + \eta\mu_g)^2 + \eta^2\sigma_g^2],\qquad
              Q(u) = u^2[4\eta^2\sigma_g^2(1 + \eta\mu_g)^2 + 2\eta^4\sigma_g^4]

    .. math:: V_\infty = \frac{\eta u^{*2}\sigma_g^2(u^*)}{\kappa(1 - \eta\kappa)},\qquad
              \bar u_\infty - u^* = -\frac{\eta u^*\sigma_g^2(u^*)}{2\kappa} + O(\eta^2)

    with :math:`\mu_g, \sigma_g^2` of S1 at u. For Gaussian data, marginalised noise and γ = 0,
    :math:`V_\infty = 2\eta\lambda u^{*2}(1 - u^*)^2/(B(1 - \eta\lambda))`.
    """
    kap = lam - gam
    ustar = kap / xi
    gauss = (2 * eta * lam * (lam / (lam + eps)) ** 2 * (1 - lam / (lam + eps)) ** 2 / (batch * (1 - eta * lam)))
    statement = (sp.Eq(_F, one_step_mean_expr()), sp.Eq(_Q, one_step_variance_expr()),
                 sp.Eq(_Vinf, stationary_variance_expr()), sp.Eq(_bias, -eta * ustar * _s0 / (2 * kap)),
                 sp.Eq(_Vissue, gauss))
    steps = (Step("u' = u(1 + ηg)²: its mean given u needs only E[g] = μ_g and E[g²] = μ_g² + σ_g² (exact):", statement[0]),
             Step("Its variance needs E[g³] and E[g⁴]; for Gaussian g (and to leading order in 1/B for any data, "
                  "whose higher cumulants of a B-sample mean are O(1/B²)):", statement[1]),
             Step("Near u* = κ/ξ, where μ_g = 0, write u = u* + δ: to first order δ' = (1 − 2ηκ)δ + 2ηu*ζ with "
                  "Var ζ = σ_g²(u*); the stationary variance of this linear recursion is", statement[2]),
             Step("The mean obeys m' = F(m) + ½F''(m)v; at its fixed point, with v = V_∞, to first order in η:",
                  statement[3]),
             Step("For Gaussian data (m₄ = 3λ²), marginalised noise and γ = 0, S1 gives σ_g²(u*) = 2λ²(1 − u*)²/B, "
                  "and", statement[4]))

    def mean_check(stmt):
        G = sp.Symbol("G")
        expanded = sp.Poly(sp.expand(u * (1 + eta * G) ** 2), G)
        moments = {0: 1, 1: mu_g, 2: mu_g ** 2 + var_g}
        exact = sum(c * moments[p[0]] for p, c in expanded.terms())
        return sp.expand(stmt[0].rhs - exact)

    def variance_check(stmt):
        G = sp.Symbol("G")
        gm = {0: 1, 1: mu_g, 2: mu_g ** 2 + var_g, 3: mu_g ** 3 + 3 * mu_g * var_g,
              4: mu_g ** 4 + 6 * mu_g ** 2 * var_g + 3 * var_g ** 2}
        def E(expr):
            return sum(c * gm[p[0]] for p, c in sp.Poly(sp.expand(expr), G).terms())
        return sp.expand(stmt[1].rhs - (E((u * (1 + eta * G) ** 2) ** 2) - E(u * (1 + eta * G) ** 2) ** 2))

    def fixed_point_check(stmt):
        v = stmt[2].rhs
        return sp.simplify(v - ((1 - 2 * eta * kap) ** 2 * v + 4 * eta ** 2 * ustar ** 2 * _s0))

    def bias_check(stmt):
        # the exact fixed point of m = F(m) + ½F''(m)V_∞ linearised in δ = m − u*, expanded in η
        mu_u = kap - xi * u
        var_u = _s0 + _s1 * (u - ustar) + _s2 * (u - ustar) ** 2 / 2
        Fu = one_step_mean_expr(mu_u, var_u)
        F0, F1, F2 = (sp.diff(Fu, u, k).subs(u, ustar) for k in range(3))
        # u* + δ = F0 + F1 δ + ½F2 V_∞ is linear in δ: its one root
        num, den = sp.fraction(sp.cancel((F0 - ustar + F2 * stmt[2].rhs / 2) / (1 - F1)))
        # δ = P(η)/Q(η): its Taylor polynomial to first order from the two lowest coefficients of P and Q
        (p0, p1), (q0, q1) = ([sp.expand(f).coeff(eta, k) for k in (0, 1)] for f in (num, den))
        first = p0 / q0 + eta * (p1 * q0 - p0 * q1) / q0 ** 2
        return sp.simplify(first - stmt[3].rhs)

    def gauss_check(stmt):
        sig = variance_expr(False, fourth=3 * lam ** 2).subs(u, lam / (lam + eps))
        return sp.simplify((stmt[4].rhs - stmt[2].rhs.subs(_s0, sig)).subs(gam, 0))

    def numeric(stmt, rng: random.Random):
        # the numbers (λ = 1, ε = 0.5, η = 0.05: standard deviations 0.0721, 0.0360, 0.0180 at B = 1, 4, 16),
        # and F, Q against a Gauss-Hermite expectation over g ~ N(μ, σ²)
        out = []
        f = sp.lambdify([lam, eps, eta, batch], sp.sqrt(stmt[4].rhs), "mpmath")
        for b, sd in ((1, "0.0721"), (4, "0.0360"), (16, "0.0180")):
            out.append((relative(f(1, mpmath.mpf("0.5"), mpmath.mpf("0.05"), b), mpmath.mpf(sd)), mpmath.mpf("3e-3")))   # 3 digits
        M, V, U, H = random_mpf(rng, -1, 1), random_mpf(rng, 0, 2), random_mpf(rng, 0, 1.5), random_mpf(rng, 0.001, 0.3)
        nodes = [mpmath.mpf(r) for r in mpmath.polyroots([1, 0, -10, 0, 15])]          # He_5 roots (and 0)
        nodes = sorted(nodes + [mpmath.mpf(0)])
        weights = [mpmath.factorial(5) / (5 ** 2 * _he(4, z) ** 2) for z in nodes]
        draws = [(M + mpmath.sqrt(V) * z, w) for z, w in zip(nodes, weights)]
        nxt = [(U * (1 + H * g) ** 2, w) for g, w in draws]
        m1 = sum(w * y for y, w in nxt)
        m2 = sum(w * y * y for y, w in nxt) - m1 ** 2
        vals = {u: U, eta: H, mu_g: M, var_g: V}
        out.append(relative(m1, sp.lambdify(list(vals), stmt[0].rhs, "mpmath")(*vals.values())))
        out.append(relative(m2, sp.lambdify(list(vals), stmt[1].rhs, "mpmath")(*vals.values())))
        return out

    return Result(name="sgd_moment_equations", number="S2", title="SGD's mean and variance of a mode",
                  statement=statement,
                  assumptions="S1's assumptions; κ = λ − γ > 0, 0 < ηκ < 1; V_∞ and the bias to leading order in η/B "
                              "(the linear-noise approximation); Q exact for Gaussian g",
                  steps=steps,
                  symbolic_checks=(("F is E[u(1 + ηg)²] from g's first two moments", mean_check),
                                   ("Q is Var[u(1 + ηg)²] for Gaussian g", variance_check),
                                   ("V_∞ is the fixed point of v = (1 − 2ηκ)²v + 4η²u*²σ_*²", fixed_point_check),
                                   ("the bias is the first-order fixed point of the mean equation", bias_check),
                                   ("the Gaussian form is V_∞ with S1's marginalised variance", gauss_check)),
                  numeric_check=numeric, citation="beyond the paper; the linear-noise approximation (van Kampen); "
                                                  "cf. Li, Tai & E, stochastic modified equations")


def _he(k, z):
    """The probabilists' Hermite polynomial He_k(z)."""
    a, b = mpmath.mpf(1), z
    if k == 0:
        return a
    for j in range(1, k):
        a, b = b, z * b - j * a
    return b


_rho, _Vmm, _Vms, _etaB, _Vsym = sp.symbols(r"\rho V_\text{marg} V_\text{samp} \eta_B V")


def multiplier_factor(x_, n_, sampled=True):
    """One sample's term of ∂w'/∂w's random part at u: x x̃ − 3u x̃² (sampled) or (1 − 3u)x² (marginalised)."""
    if sampled:
        xt = x_ + n_
        return x_ * xt - 3 * u * xt ** 2
    return (1 - 3 * u) * x_ ** 2


def learning_rate_bound() -> Result:
    r"""S4: the learning-rate bound at batch size B, where the plateau of a mode stops being mean-square stable.

    Along the balanced direction a fluctuation of the plateau moves by
    :math:`m = \partial w'/\partial w = 1 + \eta(P - 3uR - \gamma)`, whose mean at u* is :math:`1 - 2\eta\kappa`:

    .. math:: \rho = E[m^2] = (1 - 2\eta\kappa)^2 + \eta^2V,\qquad
              V_\text{marg} = \frac{(1 - 3u^*)^2(m_4 - \lambda^2)}{B},\qquad
              V_\text{samp} = \frac{(1 - 3u^*)^2(m_4 - \lambda^2) + (1 - 6u^*)^2\lambda\varepsilon + 18\varepsilon^2u^{*2}}{B}

    .. math:: \rho < 1 \iff \eta < \eta_B = \frac{4\kappa}{4\kappa^2 + V}

    As B → ∞ this is full-batch GD's flip bound ηκ < 1 (R12).
    """
    kap = lam - gam
    ustar = kap / xi
    V = lambda sampled: ((1 - 3 * u) ** 2 * (m4 - lam ** 2) + ((1 - 6 * u) ** 2 * lam * eps + 18 * eps ** 2 * u ** 2
                                                                if sampled else 0)) / batch
    statement = (sp.Eq(_rho, (1 - 2 * eta * kap) ** 2 + eta ** 2 * _Vsym), sp.Eq(_Vmm, V(False).subs(u, ustar)),
                 sp.Eq(_Vms, V(True).subs(u, ustar)), sp.Eq(_etaB, 4 * kap / (4 * kap ** 2 + _Vsym)))
    steps = (Step("A balanced mode steps as w' = w[1 + η(P − w²R − γ)] with P, R the minibatch means of x x̃ and x̃²; "
                  "its derivative is m = 1 + η(P − 3uR − γ), of mean 1 − 2ηκ at u* = κ/ξ, so a small fluctuation's "
                  "second moment is multiplied each step by", statement[0]),
             Step("with V the variance of η⁻¹m. With the noise marginalised only (1 − 3u)x² varies:", statement[1]),
             Step("and with sampled noise (1 − 3u)x² + (1 − 6u)xn − 3un², three uncorrelated parts:", statement[2]),
             Step("ρ < 1 is a quadratic inequality in η with roots 0 and", statement[3]))

    def multiplier_check(stmt):
        w = sp.Symbol("w", positive=True)
        mean_m = sp.diff(w * (1 + eta * (lam - w ** 2 * (lam + eps) - gam)), w).subs(w, sp.sqrt(ustar))
        return sp.simplify(stmt[0].rhs - (mean_m ** 2 + eta ** 2 * _Vsym))

    def variance_check(index, sampled):
        def f(stmt):
            out = []
            for b in (1, 2):
                pairs = [sp.symbols(f"x_{k} n_{k}", real=True) for k in range(b)]
                m = sum(multiplier_factor(x_, n_, sampled) for x_, n_ in pairs) / b
                mean = _expect(m, pairs)
                out.append(sp.simplify(stmt[index].rhs.subs(batch, b) - (_expect(m ** 2, pairs) - mean ** 2).subs(u, ustar)))
            return sp.Matrix(out)
        return f

    def bound_check(stmt):
        return sp.simplify(stmt[0].rhs.subs(eta, stmt[3].rhs) - 1)

    def numeric(stmt, rng: random.Random):
        # E[m²] at η_B by Gauss-Hermite over a Gaussian sample (x, n), and by enumeration over a four-point x, B = 1
        L, E, G = random_mpf(rng, 0.3, 3), random_mpf(rng, 0.05, 1), random_mpf(rng, 0, 0.2)
        nodes, weights = [-mpmath.sqrt(3), 0, mpmath.sqrt(3)], [mpmath.mpf(1) / 6, mpmath.mpf(2) / 3, mpmath.mpf(1) / 6]
        a_, b_ = random_mpf(rng, 0.1, 1), random_mpf(rng, 1, 2)
        out = []
        for dist in ("gauss", "four"):
            if dist == "gauss":
                xs, lam_v, m4_v = [(mpmath.sqrt(L) * z, w) for z, w in zip(nodes, weights)], L, 3 * L ** 2
            else:
                xs = [(v, mpmath.mpf(1) / 4) for v in (-a_, a_, -b_, b_)]
                lam_v, m4_v = (a_ ** 2 + b_ ** 2) / 2, (a_ ** 4 + b_ ** 4) / 2
            ns = [(mpmath.sqrt(E) * z, w) for z, w in zip(nodes, weights)]
            kap_v = lam_v - G
            us = kap_v / (lam_v + E)
            for sampled, index in ((False, 1), (True, 2)):
                vals = {lam: lam_v, eps: E, gam: G, m4: m4_v, batch: 1}
                Vv = sp.lambdify(list(vals), stmt[index].rhs, "mpmath")(*vals.values())
                h = sp.lambdify([lam, gam, _Vsym], stmt[3].rhs, "mpmath")(lam_v, G, Vv)
                second = 0
                for (x_, wx), (n_, wn) in itertools.product(xs, ns):
                    xt = x_ + n_ if sampled else x_
                    P_, R_ = (x_ * xt, xt * xt) if sampled else (x_ * x_, x_ * x_ + E)
                    m = 1 + h * (P_ - 3 * us * R_ - G)
                    second += wx * wn * m * m
                out.append(relative(second, 1))
        return out

    return Result(name="learning_rate_bound", number="S4", title="The learning-rate bound at batch size B",
                  statement=statement,
                  assumptions="S1's assumptions; κ = λ − γ > 0; the plateau's fluctuation small (the linear-noise "
                              "approximation) and balanced; other modes' leakage (S3) neglected",
                  steps=steps,
                  symbolic_checks=(("ρ is the squared mean of ∂w'/∂w at u* plus η²V", multiplier_check),
                                   ("V_marg is the variance of the marginalised multiplier (B = 1, 2)",
                                    variance_check(1, False)),
                                   ("V_samp is the variance of the sampled multiplier (B = 1, 2)",
                                    variance_check(2, True)),
                                   ("ρ = 1 at η_B", bound_check)),
                  numeric_check=numeric, citation="beyond the paper; mean-square stability of a random linear map")


#: S1-S4, in the order of docs/theory.md (S3 is built in sgd_leakage.py).
S_BUILDERS = (minibatch_gradient_moments, sgd_moment_equations, pair_block, learning_rate_bound)
