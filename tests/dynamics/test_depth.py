"""Depth L >= 3 (D4-D7): balanced curves against an independent 50-digit reference, fixed points,
the critical weight decay, and the depth keyword of the public functions."""
import numpy as np
import pytest

from lindae import dynamics
from lindae.dynamics import depth as depth_module
from lindae.dynamics.reference import deep_balanced_strength_mp

CASES = [  # (t, lam, noise_var, weight_decay, u0, depth): short and long times, tiny and subnormal-adjacent starts
    (5.0, 1.0, 0.5, 0.0, 1e-3, 3),
    (50.0, 1.0, 0.5, 0.0, 1e-6, 4),
    (1e6, 1.0, 0.5, 0.0, 1e-300, 3),
    (1e6, 1.0, 0.5, 0.0, 1e-300, 4),
    (1e6, 0.5, 0.2, 0.0, 1e-12, 3),
    (1e6, 1e-3, 0.5, 0.0, 1e-5, 3),
    (2e5, 1e-3, 0.5, 0.0, 1e-8, 4),
    (30.0, 1.0, 0.5, 0.05, 1e-6, 3),        # below the basin boundary: decays
    (1e6, 1.0, 0.5, 0.15, 0.2, 3),          # above it: converges to u+
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_deep_balanced_strength_matches_the_50_digit_reference(case):
    t, lam, noise_var, weight_decay, u0, L = case
    got = dynamics.mode_strength(t, lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0, depth=L)
    ref = deep_balanced_strength_mp(t, lam, noise_var, weight_decay, u0, L)
    assert abs(got - ref) / ref <= 1e-10


def test_depth_two_is_the_closed_form_and_curves_broadcast():
    t = np.linspace(0, 20, 7)
    assert np.allclose(depth_module.deep_balanced_strength(t, 1.0, noise_var=0.5, u0=1e-3, depth=2),
                       dynamics.balanced_strength(t, 1.0, noise_var=0.5, u0=1e-3), rtol=1e-15)
    u = dynamics.mode_strength(t[:, None], np.array([1.0, 0.5]), noise_var=0.5, u0=1e-3, depth=3)
    assert u.shape == (7, 2) and np.all(np.diff(u, axis=0) > 0)
    assert u[-1, 0] == pytest.approx(dynamics.mode_strength(20.0, 1.0, noise_var=0.5, u0=1e-3, depth=3), rel=1e-15)


def test_weight_decay_traps_small_starts_at_depth_three_but_not_noise():
    lam, noise_var, L = 1.0, 0.5, 3
    weight_decay = dynamics.equivalent_weight_decay(lam, noise_var, depth=L)
    assert weight_decay == pytest.approx((lam / (lam + noise_var)) ** (1 - 2 / L) * lam * noise_var / (lam + noise_var), rel=1e-15)
    boundary = dynamics.basin_boundary(lam, weight_decay=weight_decay, depth=L)
    assert 0 < boundary < dynamics.fixed_point(lam, weight_decay=weight_decay, depth=L)
    # the WDAE at the equivalent decay has the DAE's fixed point ...
    assert dynamics.fixed_point(lam, weight_decay=weight_decay, depth=L) == pytest.approx(lam / (lam + noise_var), rel=1e-12)
    # ... but a start below the boundary decays under weight decay and grows under noise
    small = boundary / 10
    wdae = dynamics.mode_strength(200.0, lam, weight_decay=weight_decay, u0=small, depth=L)
    dae = dynamics.mode_strength(200.0, lam, noise_var=noise_var, u0=small, depth=L)
    assert wdae < small and dae == pytest.approx(lam / (lam + noise_var), rel=1e-9)
    # above the critical decay nothing is learned
    gc = dynamics.critical_weight_decay(lam, depth=L)
    assert dynamics.fixed_point(lam, weight_decay=1.01 * gc, depth=L) == 0
    assert dynamics.basin_boundary(lam, weight_decay=1.01 * gc, depth=L) == np.inf
    assert dynamics.fixed_point(lam, weight_decay=0.99 * gc, depth=L) > 0


def test_deep_time_to_learn_inverts_the_curve():
    lam, noise_var, u0, L = 1.0, 0.5, 1e-4, 4
    t_half = dynamics.time_to_learn(lam, noise_var=noise_var, u0=u0, fraction=0.5, depth=L)
    u = dynamics.mode_strength(t_half, lam, noise_var=noise_var, u0=u0, depth=L)
    assert u == pytest.approx(0.5 * lam / (lam + noise_var), rel=1e-9)


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, "3"])
def test_depth_must_be_an_integer_of_at_least_two(bad):
    with pytest.raises(ValueError, match="depth"):
        dynamics.mode_strength(1.0, 1.0, u0=1e-3, depth=bad)


def test_per_layer_starts_at_depth_three_are_a_clear_error():
    with pytest.raises(TypeError, match="does not take a0, b0"):
        dynamics.mode_strength(1.0, 1.0, a0=0.1, b0=0.2, depth=3)
    with pytest.raises(ValueError, match="balanced start u0"):
        dynamics.mode_strength(1.0, 1.0, depth=3)


@pytest.mark.slow
def test_bifurcation_figure_gd_runs_land_where_the_theory_predicts():
    import matplotlib.pyplot as plt
    from lindae.dynamics.figures_depth import depth2
    from lindae.dynamics.problems import Bifurcation
    fig, nums = depth2(Bifurcation(n_gamma=7, n_u0=7, epochs=40_000))
    plt.close(fig)
    assert nums["agree"] == nums["runs"] == 49
    assert 0 < nums["learned"] < 49                 # both regions are sampled
    assert nums["gamma_c"] == pytest.approx(dynamics.critical_weight_decay(1.0, depth=3), rel=1e-15)


def test_depth_curves_show_weight_decay_trapping_small_starts():
    import matplotlib.pyplot as plt
    from lindae.dynamics.figures_depth import depth1
    fig, nums = depth1()
    plt.close(fig)
    for L in ("3", "4"):
        d = nums["depths"][L]
        assert d["1e-3" if "1e-3" in d else "0.001"]["wdae_final"] < 1e-3 < d["basin_boundary"]
        assert d["0.001"]["dae_final"] == pytest.approx(d["target"], rel=1e-9)
        assert d["0.1"]["wdae_final"] == pytest.approx(d["target"], rel=1e-9)
    assert nums["depths"]["2"]["0.001"]["wdae_final"] == pytest.approx(2 / 3, rel=1e-6)


def _d2_reference(T, lam, noise_var, weight_decay, w0, L):
    """Per-layer weights at time T by mpmath's Taylor-series ODE solver at 30 digits on D2's statement."""
    import mpmath
    import sympy as sp
    from lindae import derivations
    from lindae.derivations.depth import concrete
    stmt = derivations.get("D2").statement
    ws = sp.symbols(f"w_1:{L + 1}", real=True)
    k = sp.Symbol("k", integer=True, positive=True)
    rhs = [concrete(stmt.rhs.subs(k, j), L) for j in range(1, L + 1)]
    f = sp.lambdify([ws, sp.Symbol("lambda", nonnegative=True), sp.Symbol("epsilon", nonnegative=True),
                     sp.Symbol("gamma", nonnegative=True)], rhs, "mpmath")
    with mpmath.workdps(30):
        sol = mpmath.odefun(lambda _t, y: f(y, mpmath.mpf(lam), mpmath.mpf(noise_var), mpmath.mpf(weight_decay)), 0,
                            [mpmath.mpf(x) for x in w0])
        return [float(v) for v in sol(T)]


@pytest.mark.slow
@pytest.mark.parametrize("L,w0,weight_decay", [(3, [0.05, 0.3, -0.2], 0.0), (4, [0.4, 0.1, 0.3, 0.2], 0.05),
                                        (3, [0.2, 0.2, 0.2], 0.1)])
def test_unbalanced_per_layer_starts_match_a_taylor_series_solution_of_d2(L, w0, weight_decay):
    T = 6.0
    ref = np.array(_d2_reference(T, 1.0, 0.5, weight_decay, w0, L))
    W = dynamics.trajectory(1.0, noise_var=0.5, weight_decay=weight_decay, depth=L, layers=np.array(w0), t=[0.0, T], method="ode").layers[-1, :, 0]
    np.testing.assert_allclose(W, ref, rtol=1e-9, atol=1e-12)
    u = dynamics.mode_strength(T, 1.0, noise_var=0.5, weight_decay=weight_decay, layers=np.array(w0), depth=L)
    assert abs(u - np.prod(ref)) <= 1e-9 * abs(np.prod(ref))


def test_depth_keyword_of_gd_modes_and_trajectory_agree_with_each_other():
    W = np.array([[0.1, 0.3], [0.2, 0.05], [0.15, 0.2]])
    run = dynamics.gd_modes(400, [1.0, 0.6], noise_var=0.2, weight_decay=0.01, layers=W, lr=0.02, depth=3, record_every=50)
    k, layers = run.epochs, run.layers
    assert layers.shape == (len(k), 3, 2)
    _, u = depth_module.deep_gd_modes(400, [1.0, 0.6], noise_var=0.2, weight_decay=0.01, layers=W, lr=0.02, record_every=50)
    np.testing.assert_array_equal(np.prod(layers, axis=1), u)
    gd = dynamics.trajectory([1.0, 0.6], noise_var=0.2, weight_decay=0.01, depth=3, layers=W, lr=0.02, epochs=400, record_every=50,
                             method="gd")
    ode = dynamics.trajectory([1.0, 0.6], noise_var=0.2, weight_decay=0.01, depth=3, layers=W, lr=0.02, epochs=400, record_every=50,
                              method="ode")
    assert gd.max_abs_diff(ode) < 0.02                        # GD at lr = 0.02 tracks the flow to O(lr)
    with pytest.raises(ValueError, match="balanced"):
        dynamics.trajectory(1.0, depth=3, layers=[0.1, 0.2, 0.3], t=[1.0])
    with pytest.raises(TypeError, match="layers"):
        dynamics.gd_modes(3, 1.0, a0=0.1, b0=0.1, lr=0.1, depth=3)
