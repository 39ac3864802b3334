r"""D1-D8: one mode of a deep linear autoencoder with L weight layers (docs/theory.md, "Depth").

With aligned weights each mode has one scalar per layer, :math:`w_1, \dots, w_L`, and strength
:math:`u = \prod_l w_l`. Input noise penalises the end-to-end product, weight decay every layer:

.. math:: \ell_L = \tfrac{\lambda}{2}(1 - u)^2 + \tfrac{\varepsilon}{2}u^2 + \tfrac{\gamma}{2}\textstyle\sum_l w_l^2

so noise and weight decay part ways for :math:`L \ge 3`: the origin becomes a stable fixed point
under weight decay, a nonzero minimum exists only below a critical decay, and a small start is
never learned by a deep WDAE while a deep DAE learns it. Statements are for symbolic L where
SymPy allows, and are checked explicitly at L = 2 (where they reduce to R2-R12), 3 and 4.
"""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .fixed_points import eigen_residual
from .loss import cayley
from .result import Result, Step, random_mpf, relative
from .symbols import eps, gam, lam, mode_loss, t, u, xi

#: Depth (number of weight layers), an integer >= 2.
Ld = sp.Symbol("L", integer=True, positive=True)
_k, _m, _l = sp.symbols("k m l", integer=True, positive=True)
_w = sp.IndexedBase("w")
_wb = sp.Symbol("w", positive=True)          # a point on the balanced path w_l = w > 0
_ustar = sp.Symbol("u^*", positive=True)
_c0 = sp.Symbol("c_{km}(0)", real=True)
#: The strength as a product over layers.
U = sp.Product(_w[_l], (_l, 1, Ld))


def layer_symbols(L):
    return sp.symbols(f"w_1:{L + 1}", real=True)


def concrete(expr, L):
    """``expr`` at depth ``L``: products and sums done, w[l] replaced by the symbols w_1 ... w_L."""
    ws = layer_symbols(L)
    out = sp.sympify(expr).subs(Ld, L).doit()
    return out.xreplace({_w[j]: ws[j - 1] for j in range(1, L + 1)})


def depth_loss_expr():
    """The per-mode loss at depth L (D1's right-hand side)."""
    return lam / 2 * (1 - U) ** 2 + eps / 2 * U ** 2 + gam / 2 * sp.Sum(_w[_l] ** 2, (_l, 1, Ld))


def balanced_rate_expr(u_=u):
    """D4: du/dt on the balanced path, L u^(2 - 2/L)(lambda - xi u) - L gamma u."""
    return Ld * u_ ** (2 - 2 / Ld) * (lam - xi * u_) - Ld * gam * u_


def depth_matrix_loss(Ws, Sigma, eps_, gam_):
    """R1's marginalised loss of the deep network W = W_L ... W_1, with weight decay on every layer."""
    W = Ws[-1]
    for M in Ws[-2::-1]:
        W = W * M
    D = Sigma.shape[0]
    E = sp.eye(D) - W
    return (sp.Rational(1, 2) * (E * Sigma * E.T).trace() + eps_ / 2 * (W * W.T).trace()
            + gam_ / 2 * sum((M * M.T).trace() for M in Ws))


def depth_mode_loss() -> Result:
    r"""D1: under aligned initialisation the depth-L loss is a sum of per-mode losses :math:`\ell_L`."""
    D = 2
    lams = sp.symbols("lambda_1:3", positive=True)
    statement = sp.Eq(sp.Symbol(r"\ell_L"), depth_loss_expr())

    def aligned_loss(L, rots, lam_vals, ws_per_mode, e, g):
        """Matrix loss with W_1 = R_1 A_1 Vᵀ, W_l = R_l A_l R_{l-1}ᵀ, W_L = V A_L R_{L-1}ᵀ (H = D = 2)."""
        V = rots[0]
        Ws = []
        for layer in range(L):
            A = sp.diag(*[ws_per_mode[mode][layer] for mode in range(D)])
            left = V if layer == L - 1 else rots[layer + 1]
            right = V if layer == 0 else rots[layer]
            Ws.append(left * A * right.T)
        return depth_matrix_loss(Ws, V * sp.diag(*lam_vals) * V.T, e, g)

    def per_mode(stmt, L, lam_vals, ws_per_mode, e=eps, g=gam):
        total = 0
        for mode in range(D):
            ell = concrete(stmt.rhs, L).subs({lam: lam_vals[mode], eps: e, gam: g})
            total += ell.xreplace(dict(zip(layer_symbols(L), ws_per_mode[mode])))
        return total

    def exact_rotations(L):
        return [cayley([sp.Rational(p, q)], 2) for p, q in ((1, 3), (-2, 5), (3, 7), (5, 11), (-4, 9))[:L]]

    def matrix_check(stmt, L):
        ws = [sp.symbols(f"a_{mode}_1:{L + 1}", real=True) for mode in range(D)]
        return sp.expand(aligned_loss(L, exact_rotations(L), lams, ws, eps, gam) - per_mode(stmt, L, lams, ws))

    steps = (
        Step("Take aligned weights W_1 = R_1A_1Vᵀ, W_l = R_lA_lR_{l−1}ᵀ, W_L = VA_LR_{L−1}ᵀ with orthogonal R_l and "
             "diagonal A_l. The product is W = V(A_L⋯A_1)Vᵀ and every rotation cancels in R1's loss, which splits "
             "over modes; the noise term sees only the product u = Π w_l, weight decay every layer:", statement),
        Step("At L = 2 this is R2's per-mode loss."),
    )

    def numeric(stmt, rng: random.Random):
        L = rng.choice((3, 4))

        def rand_orth():
            M = mpmath.matrix([[random_mpf(rng, -1, 1) for _ in range(2)] for _ in range(2)])
            Q, _ = mpmath.qr(M)
            return sp.Matrix(2, 2, lambda i, j: sp.Float(str(Q[i, j]), 60))
        lv = [sp.Float(str(random_mpf(rng, 0.1, 3)), 60) for _ in range(D)]
        ws = [[sp.Float(str(random_mpf(rng, -1.5, 1.5)), 60) for _ in range(L)] for _ in range(D)]
        e, g = (sp.Float(str(random_mpf(rng, 0, 2)), 60) for _ in range(2))
        full = aligned_loss(L, [rand_orth() for _ in range(L)], lv, ws, e, g)
        return [relative(sp.N(full, 55), sp.N(per_mode(stmt, L, lv, ws, e, g), 55))]

    return Result(
        name="depth_mode_loss", number="D1", title="Depth L: decoupling into per-mode losses",
        statement=statement, assumptions="L ≥ 2 layers of width H; aligned initialisation; Σ = VΛVᵀ",
        steps=steps,
        symbolic_checks=(
            ("aligned matrix loss minus per-mode sum, L = 3 (exact rational rotations)", lambda s: matrix_check(s, 3)),
            ("L = 2 is R2's per-mode loss",
             lambda s: sp.expand(concrete(s.rhs, 2) - mode_loss(a_=layer_symbols(2)[0], b_=layer_symbols(2)[1]))),
        ),
        numeric_check=numeric, citation="new in this toolkit; Saxe et al. (2014), Arora et al. (2018) for L ≥ 3 without noise",
    )


def depth_flow() -> Result:
    r"""D2: the per-layer gradient flow :math:`\dot w_k = (\lambda - \xi u)\,u/w_k - \gamma w_k`."""
    statement = sp.Eq(sp.Symbol(r"\dot w_k"), (lam - xi * U) * sp.Product(_w[_l], (_l, 1, Ld)) / _w[_k] - gam * _w[_k])

    def against_gradient(stmt, L):
        ell = concrete(depth_loss_expr(), L)
        ws = layer_symbols(L)
        return [sp.expand(concrete(stmt.rhs.subs(_k, k), L) + sp.diff(ell, ws[k - 1])) for k in range(1, L + 1)]

    steps = (Step("Differentiate D1's loss with respect to w_k; ∂u/∂w_k = u/w_k:", statement),
             Step("At L = 2 this is R3 with (w_1, w_2) = (a, b)."))

    def numeric(stmt, rng: random.Random):
        L = rng.choice((3, 4, 5))
        ws = layer_symbols(L)
        vals = {lam: random_mpf(rng, 0, 3), eps: random_mpf(rng, 0, 3), gam: random_mpf(rng, 0, 3)}
        point = [random_mpf(rng, 0.2, 1.5) * rng.choice((-1, 1)) for _ in range(L)]
        ell = sp.lambdify([lam, eps, gam, *ws], concrete(depth_loss_expr(), L), "mpmath")
        out = []
        for k in range(1, L + 1):
            def along(x, k=k):
                p = list(point)
                p[k - 1] = x
                return ell(vals[lam], vals[eps], vals[gam], *p)
            g = -mpmath.diff(along, point[k - 1])
            f = sp.lambdify([lam, eps, gam, *ws], concrete(stmt.rhs.subs(_k, k), L), "mpmath")
            out.append(relative(g, f(vals[lam], vals[eps], vals[gam], *point)))
        return out

    return Result(
        name="depth_flow", number="D2", title="Depth L: per-layer gradient flow",
        statement=statement, assumptions="w_k ≠ 0 in the form u/w_k (it is the product of the other layers)",
        steps=steps,
        symbolic_checks=(("ẇ_k + ∂ℓ_L/∂w_k, L = 3", lambda s: against_gradient(s, 3)),
                         ("ẇ_k + ∂ℓ_L/∂w_k, L = 4", lambda s: against_gradient(s, 4))),
        numeric_check=numeric, citation="new in this toolkit",
    )


def depth_balance() -> Result:
    r"""D3: :math:`c_{km} = w_k^2 - w_m^2` obeys :math:`\dot c_{km} = -2\gamma c_{km}` at every depth."""
    ck = sp.Symbol("c_{km}", real=True)
    statement = (sp.Eq(sp.Symbol(r"\dot c_{km}"), -2 * gam * ck),
                 sp.Eq(sp.Symbol("c_{km}(t)"), _c0 * sp.exp(-2 * gam * t)))

    def from_flow(stmt, L):
        flow = depth_flow().statement.rhs
        ws = layer_symbols(L)
        out = []
        for k, m in ((1, 2), (1, L), (2, L)):
            wk, wm = ws[k - 1], ws[m - 1]
            cdot = 2 * wk * concrete(flow.subs(_k, k), L) - 2 * wm * concrete(flow.subs(_k, m), L)
            out.append(sp.expand(cdot - stmt[0].rhs.subs(ck, wk ** 2 - wm ** 2)))
        return out

    steps = (Step("Along D2, 2w_kẇ_k = 2(λ − ξu)u − 2γw_k² is the same for every layer up to the decay term, so",
                  statement[0]),
             Step("and the differences of squared layer weights decay (are conserved when γ = 0):", statement[1]))

    def numeric(stmt, rng: random.Random):
        L = 3
        ws = layer_symbols(L)
        vals = [random_mpf(rng, 0, 2) for _ in range(3)]
        flow = depth_flow().statement.rhs
        fs = [sp.lambdify(ws, concrete(flow.subs(_k, k), L).subs(dict(zip((lam, eps, gam), vals))), "mpmath")
              for k in range(1, L + 1)]
        start = [random_mpf(rng, 0.3, 1.2) for _ in range(L)]
        T = random_mpf(rng, 0.2, 1.5)
        with mpmath.workdps(30):
            end = mpmath.odefun(lambda _t, y: [f(*y) for f in fs], 0, start)(T)
        c_start, c_end = start[0] ** 2 - start[2] ** 2, end[0] ** 2 - end[2] ** 2
        pred = sp.lambdify([_c0, gam, t], stmt[1].rhs, "mpmath")(c_start, vals[2], T)
        rate = sp.lambdify([ck, gam], stmt[0].rhs, "mpmath")(c_end, vals[2])
        cdot = 2 * end[0] * fs[0](*end) - 2 * end[2] * fs[2](*end)
        return [(abs(c_end - pred) / (1 + abs(pred)), mpmath.mpf("1e-24")), relative(cdot, rate)]

    return Result(
        name="depth_balance", number="D3", title="Depth L: balances between layers",
        statement=statement, assumptions="any L ≥ 2, any λ, ε, γ ≥ 0", steps=steps,
        symbolic_checks=(("ċ_km from D2, L = 3", lambda s: from_flow(s, 3)),
                         ("ċ_km from D2, L = 4", lambda s: from_flow(s, 4)),
                         ("c(t) solves ċ = −2γc", lambda s: s[1].rhs.diff(t) - s[0].rhs.subs(sp.Symbol("c_{km}", real=True), s[1].rhs)),
                         ("c(0) = c_km(0)", lambda s: s[1].rhs.subs(t, 0) - _c0)),
        numeric_check=numeric, citation="new in this toolkit; Arora et al. (2018) for γ = 0",
    )


def depth_balanced_flow() -> Result:
    r"""D4: on the balanced path :math:`w_l = w > 0`, :math:`\dot u = L u^{2-2/L}(\lambda - \xi u) - L\gamma u`."""
    statement = sp.Eq(sp.Symbol(r"\dot u"), balanced_rate_expr())

    def on_balanced_path(stmt):
        # u = w^L, u̇ = L w^{L-1} ẇ with ẇ from D2 at w_l = w (symbolic L)
        wdot = (lam - xi * _wb ** Ld) * _wb ** Ld / _wb - gam * _wb
        return sp.powsimp(sp.expand(Ld * _wb ** (Ld - 1) * wdot - stmt.rhs.subs(u, _wb ** Ld)), force=True)

    steps = (Step("With w_l = w for all l (kept by D3 when the start is balanced), u = w^L and u̇ = Lw^{L−1}ẇ, "
                  "with ẇ from D2:", statement),
             Step("At L = 2 this is R5's logistic law u̇ = 2u(κ − ξu)."))

    def numeric(stmt, rng: random.Random):
        L = rng.choice((3, 4, 5))
        ws = layer_symbols(L)
        vals = {lam: random_mpf(rng, 0, 3), eps: random_mpf(rng, 0, 3), gam: random_mpf(rng, 0, 3)}
        wv = random_mpf(rng, 0.1, 1.3)
        flow = depth_flow().statement.rhs
        rates = [sp.lambdify(ws, concrete(flow.subs(_k, k), L).subs(vals), "mpmath")(*[wv] * L) for k in range(1, L + 1)]
        udot = sum(wv ** (L - 1) * r for r in rates)        # d/dt prod w_l = sum_k (prod_{l != k} w_l) w_k'
        stated = sp.lambdify([u, Ld, lam, eps, gam], stmt.rhs, "mpmath")(wv ** L, mpmath.mpf(L), vals[lam], vals[eps], vals[gam])
        return [relative(udot, stated)]

    return Result(
        name="depth_balanced_flow", number="D4", title="Depth L: the balanced flow",
        statement=statement, assumptions="balanced start w_l(0) = w_0 > 0 for all l; u > 0", steps=steps,
        symbolic_checks=(("u̇ = Lw^{L−1}ẇ on w_l = w (symbolic L)", on_balanced_path),
                         ("L = 2 is R5's logistic law",
                          lambda s: sp.expand(s.rhs.subs(Ld, 2) - 2 * u * (lam - gam - xi * u)))),
        numeric_check=numeric, citation="new in this toolkit; Saxe et al. (2014) for γ = ε = 0",
    )


def _f(u_):
    """u̇/(L u) + γ on the balanced path: u^(1 - 2/L)(lambda - xi u)."""
    return u_ ** (1 - 2 / Ld) * (lam - xi * u_)


def depth_fixed_points() -> Result:
    r"""D5: fixed points of the balanced depth-L flow, the saddle-node at :math:`\gamma_c`, and the stable origin.

    Nonzero fixed points solve :math:`u^{1-2/L}(\lambda - \xi u) = \gamma`. For L ≥ 3 the left side
    rises from 0 to its maximum at :math:`u_m` and falls again, so for :math:`0 < \gamma < \gamma_c`
    there are two roots: :math:`u_- < u_m` (unstable, the basin boundary a start must exceed) and
    :math:`u_+ > u_m` (stable); they merge at :math:`\gamma = \gamma_c` and vanish above it. The
    origin attracts at rate :math:`L\gamma` whenever :math:`\gamma > 0`.
    """
    um = (Ld - 2) * lam / (2 * (Ld - 1) * xi)
    statement = (sp.Eq(sp.Symbol("u_m"), um),
                 sp.Eq(sp.Symbol(r"\gamma_c"), um ** (1 - 2 / Ld) * lam * Ld / (2 * (Ld - 1))),
                 sp.Eq(sp.Symbol(r"\lim_{u \to 0} \dot u/u"), -Ld * gam))
    Lp = sp.Symbol("M", positive=True)          # L = M + 2 > 2

    def stationary(stmt):
        return sp.diff(_f(u), u).subs(u, stmt[0].rhs).subs(Ld, Lp + 2)

    def critical_value(stmt):
        return (_f(stmt[0].rhs) - stmt[1].rhs).subs(Ld, Lp + 2)

    def double_root(stmt, L):
        # at gamma = gamma_c, u_m is a root of the balanced rate and of its derivative
        rate = balanced_rate_expr().subs(Ld, L).subs(gam, stmt[1].rhs.subs(Ld, L))
        point = stmt[0].rhs.subs(Ld, L)
        return (rate.subs(u, point), sp.diff(rate, u).subs(u, point))

    steps = (
        Step("Divide D4 by Lu: fixed points u > 0 solve u^{1−2/L}(λ − ξu) = γ. The left side vanishes at 0 and at "
             "λ/ξ and is largest where its derivative vanishes:", statement[0]),
        Step("Its largest value is the critical weight decay: for γ < γ_c two roots u₋ < u_m < u₊ (u₋ unstable, "
             "u₊ stable), one double root at γ = γ_c (a saddle-node), none above:", statement[1]),
        Step("Near the origin u^{2−2/L} = o(u) for L ≥ 3, so the origin is stable whenever γ > 0 (for L = 2 it is "
             "a saddle when λ > γ, R7):", statement[2]),
    )

    def numeric(stmt, rng: random.Random):
        L = rng.choice((3, 4, 5))
        l, e = random_mpf(rng, 0.5, 2), random_mpf(rng, 0, 1)
        x = l + e
        f = lambda v: v ** (1 - mpmath.mpf(2) / L) * (l - x * v)  # noqa: E731
        u_m = sp.lambdify([Ld, lam, eps], stmt[0].rhs, "mpmath")(mpmath.mpf(L), l, e)
        g_c = sp.lambdify([Ld, lam, eps], stmt[1].rhs, "mpmath")(mpmath.mpf(L), l, e)
        # independent: maximise f numerically
        peak = mpmath.findroot(lambda v: mpmath.diff(f, v), l / x / 3)
        out = [relative(peak, u_m), relative(f(peak), g_c)]
        # two roots just below gamma_c, none just above; the upper one attracts, the lower one repels
        g = g_c * (1 - mpmath.mpf("1e-3"))
        lo = mpmath.findroot(lambda v: f(v) - g, (mpmath.mpf(10) ** -30 + peak / 100, peak), solver="anderson")
        hi = mpmath.findroot(lambda v: f(v) - g, (peak, l / x), solver="anderson")
        rate = lambda v: L * v * (f(v) - g)  # noqa: E731
        ok = lo < peak < hi and mpmath.diff(rate, hi) < 0 < mpmath.diff(rate, lo)
        ok = ok and max(f(v) for v in mpmath.linspace(peak / 10, l / x, 200)) < g_c * (1 + mpmath.mpf("1e-3"))
        out.append(mpmath.mpf(0) if ok else mpmath.mpf(1))
        gg = random_mpf(rng, 0.1, 1)
        small = mpmath.mpf(10) ** -40
        lim = L * small ** (1 - mpmath.mpf(2) / L) * (l - x * small) - L * gg
        out.append((abs(lim - sp.lambdify([Ld, gam], stmt[2].rhs, "mpmath")(mpmath.mpf(L), gg)), mpmath.mpf(10) ** -12))
        return out

    return Result(
        name="depth_fixed_points", number="D5", title="Depth L: fixed points, the critical weight decay and the stable origin",
        statement=statement, assumptions="L ≥ 3 (L = 2 is R7); λ > 0, ξ > 0, γ ≥ 0; balanced path", steps=steps,
        symbolic_checks=(("f'(u_m) = 0 (symbolic L > 2)", stationary),
                         ("f(u_m) = γ_c (symbolic L > 2)", critical_value),
                         ("double root of u̇ at γ_c, L = 3", lambda s: double_root(s, 3)),
                         ("double root of u̇ at γ_c, L = 4", lambda s: double_root(s, 4)),
                         ("u̇/u → −Lγ as u → 0, L = 3",
                          lambda s: sp.limit(balanced_rate_expr().subs(Ld, 3) / u, u, 0) - s[2].rhs.subs(Ld, 3))),
        numeric_check=numeric, citation="new in this toolkit",
    )


def depth_equivalent_decay() -> Result:
    r"""D6: the weight decay whose deep WDAE has the deep DAE's fixed point λ/ξ:
    :math:`\gamma_L = (\lambda/\xi)^{1-2/L}\,\lambda\varepsilon/\xi`."""
    statement = sp.Eq(sp.Symbol(r"\gamma_L"), (lam / xi) ** (1 - 2 / Ld) * lam * eps / xi)

    def wdae_fixed_point(stmt):
        # WDAE (eps = 0): u^(1-2/L)(lambda - lambda u) = gamma_L at u = lambda/xi
        return (_f(u).subs(eps, 0).subs(u, lam / xi) - stmt.rhs).subs(Ld, 3)

    steps = (Step("The deep DAE (γ = 0) reaches u* = λ/ξ (D5 with γ = 0). Put u = λ/ξ into the WDAE's (ε = 0) "
                  "fixed-point condition u^{1−2/L}(λ − λu) = γ:", statement),
             Step("At L = 2 this is R10. For L ≥ 3 the WDAE's origin is stable (D5), so a start below the basin "
                  "boundary u₋ is never learned by the WDAE at any γ > 0, while the DAE learns every start: no "
                  "weight decay reproduces the deep DAE's learning from small initialisation."))

    def numeric(stmt, rng: random.Random):
        L = rng.choice((3, 4, 5))
        l, e = random_mpf(rng, 0.5, 2), random_mpf(rng, 0.01, 0.5)
        g = sp.lambdify([Ld, lam, eps], stmt.rhs, "mpmath")(mpmath.mpf(L), l, e)
        # independent: the WDAE balanced rate vanishes at lambda/xi (root found numerically from above)
        root = mpmath.findroot(lambda v: v ** (1 - mpmath.mpf(2) / L) * (l - l * v) - g, l / (l + e) * (1 + mpmath.mpf("1e-3")))
        return [relative(root, l / (l + e))]

    return Result(
        name="depth_equivalent_decay", number="D6", title="Depth L: noise as weight decay",
        statement=statement, assumptions="λ > 0, ε > 0; per mode; the WDAE start above its basin boundary",
        steps=steps,
        symbolic_checks=(("WDAE fixed-point condition at u = λ/ξ, L = 3", wdae_fixed_point),
                         ("WDAE fixed-point condition at u = λ/ξ, L = 4",
                          lambda s: (_f(u).subs(eps, 0).subs(u, lam / xi) - s.rhs).subs(Ld, 4)),
                         ("L = 2 is R10", lambda s: s.rhs.subs(Ld, 2) - lam * eps / (lam + eps))),
        numeric_check=numeric, citation="new in this toolkit",
    )


def time_to_learn_depth_expr(u_=u):
    """D7's antiderivative F(u) (gamma = 0, L >= 3): t(u0 -> u1) = F(u1) - F(u0)."""
    return (u_ ** (2 / Ld - 1) / (lam * (2 - Ld))
            * sp.hyper([1, 2 / Ld - 1], [2 / Ld], xi * u_ / lam))


def depth_time_to_learn() -> Result:
    r"""D7: time to learn along the balanced deep flow without weight decay (L ≥ 3).

    .. math:: t(u_0 \to u_1) = F(u_1) - F(u_0),\quad
              F(u) = \frac{u^{2/L - 1}}{\lambda(2 - L)}\;{}_2F_1\!\left(1, \tfrac2L - 1; \tfrac2L; \tfrac{\xi u}{\lambda}\right)
    """
    u0s, u1s = sp.symbols("u_0 u_1", positive=True)
    statement = sp.Eq(sp.Symbol(r"t(u_0 \to u_1)"), time_to_learn_depth_expr(u1s) - time_to_learn_depth_expr(u0s))

    def derivative(stmt, L):
        rate = balanced_rate_expr(u1s).subs(gam, 0).subs(Ld, L)
        return sp.hyperexpand(sp.diff(stmt.rhs.subs(Ld, L), u1s) - 1 / rate)

    steps = (Step("Separate variables in D4 with γ = 0, dt = du/(Lu^{2−2/L}(λ − ξu)); with w = u^{1/L} the "
                  "integrand is w^{1−L}/(λ(1 − (ξ/λ)w^L)), whose series integrates term by term to a Gauss "
                  "hypergeometric function:", statement),
             Step("For L = 2 the same integral is R9's logarithm."))

    def numeric(stmt, rng: random.Random):
        L = rng.choice((3, 4, 5))
        l, e = random_mpf(rng, 0.5, 2), random_mpf(rng, 0, 1)
        us = l / (l + e)
        U0 = us * mpmath.mpf(10) ** -random_mpf(rng, 1, 30)
        U1 = us * random_mpf(rng, 0.2, 0.95)
        quad = mpmath.quad(lambda v: mpmath.exp(v) / (L * mpmath.exp(v) ** (2 - mpmath.mpf(2) / L) * (l - (l + e) * mpmath.exp(v))),
                           [mpmath.log(U0), mpmath.log(U1) - 3, mpmath.log(U1)])
        stated = sp.lambdify([Ld, lam, eps, u0s, u1s], stmt.rhs, "mpmath")(mpmath.mpf(L), l, e, U0, U1)
        return [relative(quad, stated)]

    return Result(
        name="depth_time_to_learn", number="D7", title="Depth L: time to learn (γ = 0)",
        statement=statement, assumptions="L ≥ 3, γ = 0, 0 < u₀ < u₁ < λ/ξ", steps=steps,
        symbolic_checks=(("dt/du₁ is the inverse balanced rate, L = 3", lambda s: derivative(s, 3)),
                         ("dt/du₁ is the inverse balanced rate, L = 4", lambda s: derivative(s, 4)),
                         ("t(u₀ → u₀) = 0", lambda s: s.rhs.subs(u1s, u0s))),
        numeric_check=numeric, citation="new in this toolkit",
    )


def depth_gd_stability() -> Result:
    r"""D8: the exact per-layer GD map and its stability at the balanced minimum.

    The map is :math:`w_k \mapsto w_k + \eta[(\lambda - \xi u)u/w_k - \gamma w_k]`. At a balanced fixed
    point (:math:`w^{L-2}(\lambda - \xi w^L) = \gamma`) the Hessian of :math:`\ell_L` is
    :math:`(\xi w^{2L-2} - \gamma)\mathbf 1\mathbf 1^\top + 2\gamma I`, with eigenvalues
    :math:`h_1 = L(\xi u^{2-2/L} - \gamma) + 2\gamma` (along the balanced direction) and :math:`2\gamma`
    (L − 1 times), so GD is stable there iff :math:`\eta < 2/\max(h_1, 2\gamma)`.
    """
    statement = (sp.Eq(sp.Symbol("h_1"), Ld * (xi * _ustar ** (2 - 2 / Ld) - gam) + 2 * gam),
                 sp.Eq(sp.Symbol(r"h_\perp"), 2 * gam),
                 sp.Eq(sp.Symbol(r"\eta_{\max}"), 2 / sp.Max(Ld * (xi * _ustar ** (2 - 2 / Ld) - gam) + 2 * gam, 2 * gam)))

    def hessian_eigs(stmt, L):
        ws = layer_symbols(L)
        H = sp.hessian(concrete(depth_loss_expr(), L), ws).subs({x: _wb for x in ws})
        # at a fixed point gamma = w^(L-2)(lambda - xi w^L)
        at_fp = {gam: _wb ** (L - 2) * (lam - xi * _wb ** L)}
        evs = [s.rhs.subs(Ld, L).subs(_ustar, _wb ** L) for s in stmt[:2]]
        return [sp.expand(r) for r in eigen_residual(H.subs(at_fp), [evs[0].subs(at_fp)] + [evs[1].subs(at_fp)] * (L - 1))]

    steps = (Step("The Hessian of D1's loss at a balanced fixed point has eigenvalue h₁ along (1, …, 1):", statement[0]),
             Step("and 2γ on its orthogonal complement:", statement[1]),
             Step("The GD map's Jacobian is I − ηH, stable iff every |1 − ηh| < 1:", statement[2]))

    def numeric(stmt, rng: random.Random):
        # Independent: find the stable balanced fixed point numerically and iterate the exact L-layer map at
        # 0.99 and 1.01 times the stated bound from a generic 1e-25 perturbation.
        L = 3
        l, e, g = random_mpf(rng, 1, 2), random_mpf(rng, 0, 1), random_mpf(rng, 0.01, 0.1)
        x = l + e
        f = lambda v: v ** (1 - mpmath.mpf(2) / L) * (l - x * v)  # noqa: E731
        us = mpmath.findroot(lambda v: f(v) - g, l / x * mpmath.mpf("0.9"))
        bound = sp.lambdify([Ld, lam, eps, gam, _ustar], stmt[2].rhs, "mpmath")(mpmath.mpf(L), l, e, g, us)
        wst = us ** (mpmath.mpf(1) / L)
        direction = [mpmath.mpf(1), mpmath.mpf("-0.37"), mpmath.mpf("0.61")]

        def spread(et):
            w = [wst + d * mpmath.mpf("1e-25") for d in direction]
            for _ in range(600):
                prod = w[0] * w[1] * w[2]
                w = [wk + et * ((l - x * prod) * prod / wk - g * wk) for wk in w]
            return max(abs(wk - wst) for wk in w)
        lo, hi = spread(bound * mpmath.mpf("0.99")), spread(bound * mpmath.mpf("1.01"))
        return [mpmath.mpf(0) if lo < mpmath.mpf("1e-25") < mpmath.mpf("1e-24") < hi else mpmath.mpf(1)]

    return Result(
        name="depth_gd_stability", number="D8", title="Depth L: stability of discrete gradient descent",
        statement=statement, assumptions="a balanced fixed point u* > 0 of D5 (u* = u₊, the stable one); η > 0",
        steps=steps,
        symbolic_checks=(("Hessian eigenvalues at a balanced fixed point, L = 3", lambda s: hessian_eigs(s, 3)),
                         ("Hessian eigenvalues at a balanced fixed point, L = 4", lambda s: hessian_eigs(s, 4)),
                         ("L = 2: h₁ = 2κ at u* = κ/ξ (R12)",
                          lambda s: s[0].rhs.subs(Ld, 2).subs(_ustar, (lam - gam) / xi) - 2 * (lam - gam)),
                         ("η_max = 2/max(h₁, h_⊥)", lambda s: s[2].rhs - 2 / sp.Max(s[0].rhs, s[1].rhs))),
        numeric_check=numeric, citation="new in this toolkit",
    )


#: The depth results, in order.
DEPTH_BUILDERS = (depth_mode_loss, depth_flow, depth_balance, depth_balanced_flow, depth_fixed_points,
                  depth_equivalent_decay, depth_time_to_learn, depth_gd_stability)
