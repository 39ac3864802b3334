r"""D9: the effective balanced start of a mode of a deep network (L >= 3) from small random weights.

Mode i of a depth-L network sees its first-layer column :math:`p = W_1v_i`, the middle layers
:math:`M_2, \dots, M_{L-1}` (shared with every other mode) and its last-layer column
:math:`q = W_L^\top v_i`; its strength is :math:`s = q^\top M_{L-1}\cdots M_2\,p`. For one mode on
its own and :math:`\gamma = 0`, the gradient flow of the matrix loss is

.. math:: \dot x = (\lambda - \xi s)\,\nabla_x s,\qquad x = (p, M_2, \dots, M_{L-1}, q),

a time change :math:`d\sigma = (\lambda - \xi s)\,dt` of the saturation-free flow
:math:`x' = \nabla_x s`. That flow is homogeneous of degree L - 1, so from any start it runs off
to infinity at a finite :math:`\sigma = \tau(x_0)`, with :math:`\tau(cx_0) = c^{2-L}\tau(x_0)`, and it
conserves the layer imbalances (:math:`qq^\top - M_{L-1}M_{L-1}^\top`, ...), so it approaches the
balanced path, where :math:`a' = a^{L-1}` blows up at :math:`a_0^{2-L}/(L-2)`. The balanced start
with the same blow-up time,

.. math:: a_{\rm eff} = \big((L-2)\,\tau\big)^{-1/(L-2)},\qquad u_{\rm eff} = a_{\rm eff}^L,

therefore follows D4 with the same :math:`s(t)` up to terms that vanish with the start's scale.
For many modes the middle layers are shared and a learned mode takes one direction in every hidden
layer; :func:`dynamics.deep_effective_start` accounts for both by integrating the saturation-free flow
of all the modes together and removing each mode's hidden directions once it blows up
(docs/theory.md, "Depth").
"""
from __future__ import annotations

import random

import mpmath
import numpy as np
import sympy as sp

from .depth import Ld, depth_matrix_loss
from .result import Result, Step, random_mpf, relative
from .symbols import eps, lam, xi

_sigma = sp.Symbol("sigma", positive=True)
_tau = sp.Symbol("tau", positive=True)
_a0 = sp.Symbol("a_0", positive=True)
_c = sp.Symbol("c", positive=True)
_s = sp.Symbol("s", real=True)
_grad = sp.Symbol(r"\nabla_x s")


def _mode_weights(L, H=2):
    """Symbolic weights of one mode at depth L: p (H x 1), the middle layers (H x H), q (1 x H)."""
    p = sp.Matrix(H, 1, sp.symbols(f"p_1:{H + 1}", real=True))
    mids = [sp.Matrix(H, H, sp.symbols(f"m{l}_1:{H * H + 1}", real=True)) for l in range(2, L)]
    q = sp.Matrix(1, H, sp.symbols(f"q_1:{H + 1}", real=True))
    return [p] + mids + [q]


def _strength(Ws):
    out = Ws[-1]
    for M in Ws[-2::-1]:
        out = out * M
    return out[0, 0]


def _flat(Ws):
    return [x for W in Ws for x in W]


def _numeric_mode(L, H, rng):
    """A random start of one mode: p, the middle layers and q as float64 arrays of scale about 1."""
    g = np.random.default_rng(rng.randrange(2 ** 32))
    return [g.standard_normal(H)] + [g.standard_normal((H, H)) for _ in range(L - 2)] + [g.standard_normal(H)]


def _lambdified_gradient(L, H):
    """(s, ∇s) of one mode as a float function of the flat weights, lambdified from the symbolic strength."""
    Ws = _mode_weights(L, H)
    s = _strength(Ws)
    xs = _flat(Ws)
    f = sp.lambdify([xs], [s] + [sp.diff(s, x) for x in xs], "numpy")

    def value(y):
        out = f(y)
        return float(out[0]), np.array(out[1:], dtype=float)
    return value


def depth_random_start() -> Result:
    r"""D9: the effective balanced start of a mode from small random weights (L >= 3, gamma = 0)."""
    statement = (
        sp.Eq(sp.Symbol(r"\dot x"), (lam - xi * _s) * _grad),
        sp.Eq(sp.Symbol(r"a(\sigma)"), (_a0 ** (2 - Ld) - (Ld - 2) * _sigma) ** (-1 / (Ld - 2))),
        sp.Eq(sp.Symbol(r"a_{\rm eff}"), ((Ld - 2) * _tau) ** (-1 / (Ld - 2))),
        sp.Eq(sp.Symbol(r"\tau(c x_0)"), _c ** (2 - Ld) * sp.Symbol(r"\tau(x_0)")),
    )

    def time_change(stmt, L):
        """The isolated mode's flow from the matrix loss (D = 1, H = 2, gamma = 0) is (λ − ξs)∇s."""
        Ws = _mode_weights(L)
        loss = depth_matrix_loss(Ws, sp.Matrix([[lam]]), eps, 0)
        s = _strength(Ws)
        xs = _flat(Ws)
        stated = [stmt[0].rhs.subs({_s: s, _grad: sp.diff(s, x)}) for x in xs]
        return [sp.expand(-sp.diff(loss, x) - f) for x, f in zip(xs, stated)]

    def balanced_solution(stmt, L):
        a = stmt[1].rhs.subs(Ld, L)
        return [sp.simplify(sp.diff(a, _sigma) - a ** (L - 1)), sp.simplify(a.subs(_sigma, 0) - _a0)]

    def same_blowup(stmt, L):
        """a(σ) started from a_eff blows up (its base vanishes) exactly at σ = τ."""
        base = (_a0 ** (2 - Ld) - (Ld - 2) * _sigma).subs(Ld, L)
        return sp.simplify(base.subs({_a0: stmt[2].rhs.subs(Ld, L), _sigma: _tau}))

    def homogeneity(stmt, L):
        """c x(c^{L-2}σ) solves x' = ∇s when x does, so τ scales by the stated factor: ∇s(cx) = c ∇s(x)/factor."""
        factor = stmt[3].rhs.subs(Ld, L) / sp.Symbol(r"\tau(x_0)")
        Ws = _mode_weights(L)
        s = _strength(Ws)
        xs = _flat(Ws)
        scaled = {x: _c * x for x in xs}
        return [sp.simplify(sp.diff(s, x).xreplace(scaled) - _c * sp.diff(s, x) / factor) for x in xs]

    steps = (
        Step("For one mode on its own (γ = 0) the matrix loss is λ(1 − s)²/2 + εs²/2 with s = qᵀM_{L−1}⋯M₂p, so its "
             "gradient flow is the saturation-free flow x' = ∇s run in the time dσ = (λ − ξs)dt:", statement[0]),
        Step("x' = ∇s conserves the layer imbalances (the matrix form of D3) and grows without bound, so its orbit "
             "approaches the balanced path, where a' = a^{L−1} and", statement[1]),
        Step("blows up at σ = a₀^{2−L}/(L − 2). The start's own blow-up time τ therefore defines the balanced "
             "start that follows the same orbit asymptotically:", statement[2]),
        Step("and since ∇s is homogeneous of degree L − 1, the blow-up time of a scaled start is", statement[3]),
        Step("So a small random start of scale c is learned at t ≈ τ/λ + O(1), along D4 from u_eff = a_eff^L; the "
             "error vanishes as c → 0. For many modes the shared middle layers couple them; the numeric layer "
             "integrates the saturation-free flow of all the modes together and removes each mode's hidden "
             "directions once it blows up."),
    )

    def numeric(stmt, rng: random.Random):
        # One isolated mode, L = 3 or 4, H = 2 or 3, random start of scale 1e-3: the half-time of the full
        # saturating flow (integrated by scipy) against D4's time from u_eff to u*/2 (mpmath quadrature).
        from scipy.integrate import solve_ivp
        L, H = rng.choice((3, 4)), rng.choice((2, 3))
        l, e = random_mpf(rng, 0.5, 2), random_mpf(rng, 0, 1)
        lf, xf = float(l), float(l + e)
        parts = _numeric_mode(L, H, rng)
        grad = _lambdified_gradient(L, H)

        def rhs(factor):
            def f(_t, y):
                s, g = grad(y)
                return factor(s) * g
            return f
        y0 = np.concatenate([x.ravel() for x in parts])
        # τ of the unit-scale start: run x' = ∇s until s = 1e12, then add the balanced remainder
        far = lambda _t, y: grad(y)[0] - 1e12  # noqa: E731
        far.terminal = True
        sol = solve_ivp(rhs(lambda s: 1.0), (0, 1e6), y0, method="DOP853", rtol=1e-12, atol=1e-14, events=far)
        a_end = 1e12 ** (1.0 / L)
        tau1 = sol.t[-1] + a_end ** (2 - L) / (L - 2)
        scale = 1e-3
        tau = sp.lambdify([sp.Symbol(r"\tau(x_0)"), _c, Ld], stmt[3].rhs)(tau1, scale, L)
        a_eff = sp.lambdify([_tau, Ld], stmt[2].rhs, "mpmath")(mpmath.mpf(tau), L)
        u_half = l / (l + e) / 2
        rate = lambda v: L * mpmath.exp(v) ** (2 - mpmath.mpf(2) / L) * (l - (l + e) * mpmath.exp(v)) / mpmath.exp(v)  # noqa: E731
        v0, v1 = L * mpmath.log(a_eff), mpmath.log(u_half)
        predicted = mpmath.quad(lambda v: 1 / rate(v), [v0, (v0 + v1) / 2, v1 - 3, v1]) * lf   # in units of 1/λ
        half = lambda _t, y: grad(y)[0] - float(u_half)  # noqa: E731
        half.terminal = True
        full = solve_ivp(rhs(lambda s: (lf - xf * s) / lf), (0, 10 * float(tau)), y0 * scale, method="DOP853",
                         rtol=1e-12, atol=1e-18, events=half)
        # Also the balanced closed form (statement 1) against its own ODE a' = a^{L-1} at one time.
        a0v, sig = random_mpf(rng, 0.5, 1.5), random_mpf(rng, 0.01, 0.2)
        a_sig = sp.lambdify([_a0, _sigma, Ld], stmt[1].rhs, "mpmath")(a0v, sig, L)
        with mpmath.workdps(30):
            a_ode = mpmath.odefun(lambda _x, a: a ** (L - 1), 0, a0v)(sig)
        return [(relative(mpmath.mpf(full.t[-1]), predicted), mpmath.mpf("1e-5")),
                (relative(a_ode, a_sig), mpmath.mpf("1e-25"))]

    return Result(
        name="depth_random_start", number="D9", title="Depth L: the effective start of a small random mode",
        statement=statement,
        assumptions=("L ≥ 3, γ = 0; one mode on its own (exact as the start's scale c → 0); for many modes an "
                     "approximation, since the middle layers are shared and learned modes take hidden directions"),
        steps=steps,
        symbolic_checks=(
            ("an isolated mode's flow is (λ − ξs)∇s, L = 3", lambda s: time_change(s, 3)),
            ("an isolated mode's flow is (λ − ξs)∇s, L = 4", lambda s: time_change(s, 4)),
            ("a(σ) solves a' = a^{L−1}, a(0) = a₀, L = 3", lambda s: balanced_solution(s, 3)),
            ("a(σ) solves a' = a^{L−1}, a(0) = a₀, L = 4", lambda s: balanced_solution(s, 4)),
            ("a_eff blows up at τ, L = 3", lambda s: same_blowup(s, 3)),
            ("a_eff blows up at τ, L = 4", lambda s: same_blowup(s, 4)),
            ("∇s is homogeneous of the stated degree, L = 3", lambda s: homogeneity(s, 3)),
            ("∇s is homogeneous of the stated degree, L = 4", lambda s: homogeneity(s, 4)),
        ),
        numeric_check=numeric, citation="new in this toolkit",
    )
