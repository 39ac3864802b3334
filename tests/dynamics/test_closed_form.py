"""Closed forms against 50-digit references derived from the SymPy statements."""
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, example, given, strategies as st

from lindae import derivations
from lindae import dynamics
from lindae.dynamics.reference import balanced_strength_mp, hyperbolic_strength_mp, ode_strength_mp

TINY = 1e-300  # below this a float64 result can only be correct in absolute terms (underflow)


def log_uniform(lo_exp, hi_exp, zero=True):
    s = st.floats(lo_exp, hi_exp).map(lambda e: float(10.0 ** e))
    return st.one_of(st.just(0.0), s) if zero else s


rates = log_uniform(-4, 4)            # lambda, noise_var, weight_decay in {0} U [1e-4, 1e4]
times = st.one_of(st.just(0.0), st.floats(-3, 9).map(lambda e: float(10.0 ** e)))
u0s = st.floats(-300, 2).map(lambda e: float(10.0 ** e))


@st.composite
def balanced_case(draw):
    lam, noise_var = draw(rates), draw(rates)
    kind = draw(st.sampled_from(["free", "equal", "near"]))
    weight_decay = draw(rates) if kind == "free" else lam if kind == "equal" else float(np.nextafter(lam, 2 * lam + 1))
    return draw(times), lam, noise_var, weight_decay, draw(u0s)


@pytest.mark.slow
@given(balanced_case())
def test_balanced_strength_matches_50_digit_reference(case):
    t, lam, noise_var, weight_decay, u0 = case
    ours = dynamics.balanced_strength(t, lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0)
    assert np.isfinite(ours)
    ref = balanced_strength_mp(t, lam, noise_var, weight_decay, u0)
    assert abs(ours - ref) <= 1e-12 * abs(ref) + TINY, (ours, ref)


@st.composite
def general_case(draw):
    lam = draw(log_uniform(-3, 4, zero=False))
    noise_var = draw(rates)
    b0 = draw(st.floats(1e-3, 10.0)) * draw(st.sampled_from([1, -1]))
    a0 = b0 * draw(st.floats(-300, 0).map(lambda e: 10.0 ** e)) * draw(st.sampled_from([1, -1]))
    if draw(st.booleans()):
        a0, b0 = b0, a0
    return draw(st.one_of(st.just(0.0), st.floats(-3, 9).map(lambda e: float(10.0 ** e)))), lam, noise_var, a0, b0


@pytest.mark.slow
@given(general_case())
@example((5.623413251903491, 5.623413251903491, 0.0, -2.9999999999999982, 3.0))  # 1 + a0/b0 lost digits: 12 % off
def test_general_strength_matches_50_digit_reference(case):
    t, lam, noise_var, a0, b0 = case
    assume(abs(a0) != abs(b0))
    ours = dynamics.mode_strength(t, lam, noise_var=noise_var, a0=a0, b0=b0)
    assert np.isfinite(ours)
    ref = hyperbolic_strength_mp(t, lam, noise_var, a0, b0)
    if a0 * b0 >= 0:
        assert abs(ours - ref) <= 1e-10 * abs(ref) + TINY, (ours, ref)
    else:
        # u crosses zero: relative accuracy is impossible there for any float method; the error is
        # bounded relative to the mode's scale |u0| + |c0| + u*.
        scale = abs(a0 * b0) + abs(b0 * b0 - a0 * a0) + lam / (lam + noise_var)
        assert abs(ours - ref) <= 1e-10 * abs(ref) + 1e-13 * scale, (ours, ref)


@pytest.mark.parametrize("a0,b0,weight_decay,t", [(0.1, 0.5, 0.2, 1.5), (-0.3, 0.2, 0.05, 2.0), (1.2, 0.1, 1.5, 1.0)])
def test_mode_strength_with_decay_and_imbalance_matches_taylor_ode(a0, b0, weight_decay, t):
    ours = dynamics.mode_strength(t, 1.3, noise_var=0.4, weight_decay=weight_decay, a0=a0, b0=b0)
    ref = ode_strength_mp(t, 1.3, 0.4, weight_decay, a0, b0)
    assert abs(ours - ref) <= 1e-9 * abs(ref) + 1e-12


def test_balanced_and_antibalanced_starts_with_weight_decay():
    t = np.linspace(0, 3, 7)
    ode = dynamics.trajectory(2.0, noise_var=0.3, weight_decay=0.4, a0=-0.2, b0=0.2, t=t, method="ode", rtol=1e-12)
    cf = dynamics.mode_strength(t, 2.0, noise_var=0.3, weight_decay=0.4, a0=-0.2, b0=0.2)
    np.testing.assert_allclose(cf, ode.u[:, 0], rtol=1e-9)


def test_c_to_zero_limit_is_continuous():
    t = np.linspace(0, 5, 11)
    bal = dynamics.mode_strength(t, 1.0, noise_var=0.5, a0=0.3, b0=0.3)
    for d in (1e-4, 1e-8, 1e-12, 1e-16):
        near = dynamics.mode_strength(t, 1.0, noise_var=0.5, a0=0.3, b0=0.3 * (1 + d))
        assert np.max(np.abs(near - bal)) <= 4 * d * 0.3 ** 2 + 1e-16


@given(st.floats(0.01, 100), rates, st.floats(0.0, 0.99), st.floats(-12, -1).map(lambda e: 10 ** e),
       st.floats(0.05, 0.95))
def test_time_to_learn_inverts_mode_strength(lam, noise_var, gfrac, u0rel, f):
    weight_decay = gfrac * lam
    ustar = dynamics.fixed_point(lam, noise_var=noise_var, weight_decay=weight_decay)
    u0 = u0rel * ustar * f
    tf = dynamics.time_to_learn(lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0, fraction=f)
    assert tf > 0
    assert dynamics.mode_strength(tf, lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0) == pytest.approx(f * ustar, rel=1e-9)


def test_time_to_learn_matches_symbolic_R9_at_50_digits():
    f_sym = derivations.get("time_to_learn").statement[1].rhs
    free = {str(s): s for s in f_sym.free_symbols}
    fn = sp.lambdify([free["lambda"], free["epsilon"], free["gamma"], free["u_0"], free["f"]], f_sym, "mpmath")
    with mpmath.workdps(50):
        for lam, noise_var, weight_decay, u0, f in [(1.0, 0.5, 0.1, 1e-6, 0.9), (2.5, 0.0, 0.0, 1e-12, 0.5), (0.3, 1.8, 0.1, 1e-3, 0.1)]:
            ref = fn(*(mpmath.mpf(x) for x in (lam, noise_var, weight_decay, u0, f)))
            assert dynamics.time_to_learn(lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0, fraction=f) == pytest.approx(float(ref), rel=1e-14)


@pytest.mark.slow
@given(rates, rates, rates)
def test_fixed_point_matches_symbolic_R7(lam, noise_var, weight_decay):
    ours = dynamics.fixed_point(lam, noise_var=noise_var, weight_decay=weight_decay)
    if lam + noise_var == 0:
        assert ours == 0.0
        return
    ref = derivations.get("fixed_points").statement[0].rhs
    free = {str(s): s for s in ref.free_symbols}
    val = ref.subs({free["lambda"]: sp.Float(lam, 30), free["epsilon"]: sp.Float(noise_var, 30), free["gamma"]: sp.Float(weight_decay, 30)})
    assert ours == pytest.approx(float(val), rel=1e-15, abs=0)


@given(log_uniform(-3, 3, zero=False), log_uniform(-3, 3, zero=False))
def test_equivalent_weight_decay_gives_the_same_fixed_point(lam, noise_var):
    weight_decay = dynamics.equivalent_weight_decay(lam, noise_var)
    assert dynamics.fixed_point(lam, weight_decay=weight_decay) == pytest.approx(dynamics.fixed_point(lam, noise_var=noise_var), rel=1e-13)


@given(log_uniform(-3, 3, zero=False), log_uniform(-3, 3, zero=False))
def test_paper_learning_rate_ratio_is_lambda_over_xi_under_the_equivalence(lam, noise_var):
    weight_decay = dynamics.equivalent_weight_decay(lam, noise_var)
    ratio = dynamics.paper_learning_rate(lam, noise_var=noise_var) / dynamics.paper_learning_rate(lam, weight_decay=weight_decay)
    assert ratio == pytest.approx(lam / (lam + noise_var), rel=1e-13)


@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_final_weight_norm_is_the_long_time_limit(weight_decay):
    a0, b0 = 0.4, 1.3
    a, b = dynamics.integrate_modes([0.0, 60.0], 1.0, noise_var=0.1, weight_decay=weight_decay, a0=a0, b0=b0, method="LSODA", rtol=1e-12)
    norm = np.hypot(a[-1, 0], b[-1, 0])
    assert dynamics.final_weight_norm(1.0, noise_var=0.1, weight_decay=weight_decay, a0=a0, b0=b0) == pytest.approx(norm, rel=1e-8)


def test_small_initialisation_makes_noise_and_weight_decay_norms_agree():
    dae = dynamics.final_weight_norm(1.0, noise_var=0.1, a0=1e-3, b0=2e-3)
    wdae = dynamics.final_weight_norm(1.0, weight_decay=0.1 / 1.1, a0=1e-3, b0=2e-3)
    assert dae == pytest.approx(wdae, rel=1e-5)
    assert dynamics.final_weight_norm(1.0, noise_var=0.1, a0=0.1, b0=2.0) > 1.5 * wdae


@pytest.mark.parametrize("call,needle", [
    (lambda: dynamics.mode_strength(1.0, -1.0, u0=0.1), "lam must be >= 0"),
    (lambda: dynamics.mode_strength(1.0, 1.0, noise_var=-0.1, u0=0.1), "noise_var must be >= 0"),
    (lambda: dynamics.mode_strength(1.0, 1.0, weight_decay=np.nan, u0=0.1), "weight_decay must be finite"),
    (lambda: dynamics.balanced_strength(1.0, 1.0, u0=0.0), "u0 must be > 0"),
    (lambda: dynamics.mode_strength(-1.0, 1.0, u0=0.1), "t must be >= 0"),
    (lambda: dynamics.mode_strength(np.ones(3), np.ones(4), u0=0.1), "do not broadcast"),
    (lambda: dynamics.mode_strength(1.0, 1.0), "needs a0 and b0"),
    (lambda: dynamics.mode_strength("1", 1.0, u0=0.1), "t must be a real number"),
    (lambda: dynamics.time_to_learn(1.0, weight_decay=2.0, u0=0.1), "never learned"),
    (lambda: dynamics.time_to_learn(1.0, u0=2.0), "u0 must be below the fixed point"),
    (lambda: dynamics.time_to_learn(1.0, u0=0.1, fraction=1.0), "fraction must be < 1"),
])
def test_bad_input_names_the_argument(call, needle):
    with pytest.raises((ValueError, TypeError), match=needle):
        call()


# Inputs at the edges of the documented domain: subnormal u0, starts 100-300 orders of magnitude
# apart, tiny weights with weight decay, and long times at small lambda. The reference is R5/R6
# evaluated by mpmath at 100 digits (more where the z-form needs it) on the exact products a0 b0.
EDGE_CASES = [  # (t, lam, noise_var, weight_decay, a0, b0)
    (1000.0, 1.0, 0.5, 0.0, float(np.sqrt(5e-324)), float(np.sqrt(5e-324))),
    (700.0, 1.0, 0.5, 0.0, 1e-300, 1e-200),
    (400.0, 1.0, 0.5, 0.0, 1e-170, 1e-160),
    (1000.0, 1.0, 0.5, 0.0, 1e-158, 1e-158),
    (2000.0, 1.0, 0.5, 0.3, 1e-160, 1e-160),
    (1e6, 1e-3, 0.5, 0.0, 1e-3, 2e-3),
    (1e6, 1e-3, 0.5, 0.0, 1e-150, 1e-150),
    (1e6, 1e-3, 0.5, 2e-4, 1e-150, 1e-150),
    (3.0, 1.0, 0.5, 0.0, 1e-100, 1e-90),
    (1e3, 2.0, 0.0, 0.0, 1e-200, 1e-10),
]


@pytest.mark.parametrize("t,lam,noise_var,weight_decay,a0,b0", EDGE_CASES)
def test_mode_strength_at_the_edges_of_the_domain_matches_100_digit_mpmath(t, lam, noise_var, weight_decay, a0, b0):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no overflow/underflow/invalid warnings either
        ours = float(dynamics.mode_strength(t, lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0))
    with mpmath.workdps(100):
        u0 = mpmath.mpf(a0) * mpmath.mpf(b0)
        ref = (hyperbolic_strength_mp(t, lam, noise_var, a0, b0) if weight_decay == 0
               else balanced_strength_mp(t, lam, noise_var, weight_decay, u0))
    assert abs(ours - ref) <= 1e-10 * abs(ref), (ours, ref)


@pytest.mark.slow
@given(st.floats(-320, 0), st.floats(0, 300), st.floats(0, 4), st.floats(-2, 1))
def test_extreme_start_ratios_keep_relative_precision(log_b, log_ratio, log_t, log_lam):
    # small starts: b0 = 10^log_b <= 1 (down to subnormal), a0 = b0 / 10^log_ratio, up to 300 orders apart
    b0 = float(10.0 ** log_b)
    a0 = float(10.0 ** (log_b - log_ratio))
    assume(a0 > 0 and b0 > 0 and a0 != b0)
    t, lam = float(10.0 ** log_t), float(10.0 ** log_lam)
    ours = float(dynamics.mode_strength(t, lam, noise_var=0.5, a0=a0, b0=b0))
    ref = hyperbolic_strength_mp(t, lam, 0.5, a0, b0)
    if abs(ref) < 2.2250738585072014e-308:      # the true value is not a normal float64
        assert abs(ours - ref) <= 1e-300
    else:
        assert abs(ours - ref) <= 1e-10 * abs(ref), (ours, ref)


def test_final_weight_norm_outside_the_domain_raises():
    with pytest.raises(ValueError, match="a0 must be <= 1e\\+50"):
        dynamics.final_weight_norm(1.0, a0=1e200, b0=1e-3)
