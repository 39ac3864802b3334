"""Laws of the flow and of gradient descent; the methods agree within their own error orders."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lindae import dynamics
from lindae.dynamics.problems import FIG1


params = st.tuples(st.floats(0.2, 3.0), st.floats(0.0, 2.0), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))


@settings(max_examples=25)
@given(params)
def test_balance_is_conserved_by_the_flow_without_weight_decay(p):
    lam, noise_var, a0, b0 = p
    a, b = dynamics.integrate_modes(np.linspace(0, 3, 4), lam, noise_var=noise_var, a0=a0, b0=b0, rtol=1e-11)
    c = b[:, 0] ** 2 - a[:, 0] ** 2
    np.testing.assert_allclose(c, b0 ** 2 - a0 ** 2, rtol=1e-8, atol=1e-10)


@settings(max_examples=25)
@given(params, st.floats(0.05, 1.0))
def test_balance_decays_exponentially_with_weight_decay(p, weight_decay):
    lam, noise_var, a0, b0 = p
    t = np.linspace(0, 3, 4)
    a, b = dynamics.integrate_modes(t, lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0, rtol=1e-11)
    np.testing.assert_allclose(b[:, 0] ** 2 - a[:, 0] ** 2, (b0 ** 2 - a0 ** 2) * np.exp(-2 * weight_decay * t),
                               rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("weight_decay", [0.0, 0.2])
def test_gd_changes_the_balance_only_at_order_eta(weight_decay):
    lam, noise_var, a0, b0, T = 1.0, 0.5, 0.3, 1.1, 4.0
    errs = []
    for lr in (0.02, 0.01, 0.005):
        run = dynamics.gd_modes(int(round(T / lr)), lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0, lr=lr)
        k, a, b = run.epochs, run.a, run.b
        c_exact = (b0 ** 2 - a0 ** 2) * np.exp(-2 * weight_decay * lr * k)
        errs.append(np.max(np.abs(b[:, 0] ** 2 - a[:, 0] ** 2 - c_exact)))
    assert 1.8 < errs[0] / errs[1] < 2.2 and 1.8 < errs[1] / errs[2] < 2.2


@settings(max_examples=30)
@given(st.floats(0.1, 5.0), st.floats(0.0, 3.0), st.floats(0.0, 0.95), st.floats(-8, 0).map(lambda e: 10 ** e))
def test_balanced_trajectory_approaches_fixed_point_monotonically(lam, noise_var, gfrac, u0):
    weight_decay = gfrac * lam
    ustar = dynamics.fixed_point(lam, noise_var=noise_var, weight_decay=weight_decay)
    t = np.linspace(0, 200 / (lam - weight_decay), 400)
    u = dynamics.mode_strength(t, lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0)
    d = np.diff(u) * (1 if u0 < ustar else -1)
    assert np.all(d >= -4e-16 * max(u0, ustar))  # monotone, up to rounding once converged
    assert u[-1] == pytest.approx(ustar, rel=1e-10)


@settings(max_examples=30)
@given(st.floats(0.1, 2.0), st.floats(0.0, 2.0), st.floats(0.0, 3.0), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_switched_off_mode_decays_to_zero(lam, noise_var, extra, a0, b0):
    weight_decay = lam + extra + 0.05
    u = dynamics.mode_strength(np.array([0.0, 400.0]), lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0)
    assert abs(u[-1]) < 1e-12


@settings(max_examples=20)
@given(st.floats(0.2, 3.0), st.floats(0.0, 2.0), st.floats(0.0, 0.5), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_ode_and_closed_form_agree_within_integrator_tolerance(lam, noise_var, weight_decay, a0, b0):
    weight_decay = weight_decay if abs(abs(a0) - abs(b0)) < 1e-9 or weight_decay == 0 else 0.0  # closed form exists
    t = np.linspace(0, 5, 26)
    cf = dynamics.trajectory(lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0, t=t)
    ode = dynamics.trajectory(lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0, t=t, method="ode", rtol=1e-11)
    scale = 1 + abs(a0 * b0) + abs(b0 ** 2 - a0 ** 2)
    assert ode.max_abs_diff(cf) < 1e-8 * scale


@pytest.mark.parametrize("a0,b0,noise_var", [(0.05, 0.05, 0.0), (0.01, -0.8, 1.0), (1.5, 0.2, 5.0)])
def test_gd_differs_from_flow_at_order_eta(a0, b0, noise_var):
    errs = []
    for lr in (0.02, 0.01, 0.005):
        epochs = int(round(4.0 / lr))
        cf, gd = (dynamics.trajectory(1.0, noise_var=noise_var, a0=a0, b0=b0, lr=lr, epochs=epochs, method=m)
                  for m in ("closed_form", "gd"))
        errs.append(gd.max_abs_diff(cf))
    assert 1.7 < errs[0] / errs[1] < 2.3 and 1.7 < errs[1] / errs[2] < 2.3, errs


def _aligned(D, H, rng, modes_ab):
    V, _ = np.linalg.qr(rng.standard_normal((D, D)))
    R, _ = np.linalg.qr(rng.standard_normal((H, H)))
    A, B = np.zeros((H, D)), np.zeros((D, H))
    for i, (a, b) in enumerate(modes_ab):
        A[i, i], B[i, i] = a, b
    return V, R, R @ A @ V.T, V @ B @ R.T


@pytest.mark.parametrize("noise_var,weight_decay", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.3), (0.4, 0.2)])
def test_matrix_gd_equals_per_mode_map_under_aligned_initialisation(noise_var, weight_decay):
    rng = np.random.default_rng(1)
    D, H = 6, 3
    lam = np.array([3.0, 2.0, 1.2, 0.7, 0.3, 0.1])
    ab = [(0.1, 0.3), (-0.2, 0.05), (0.01, 0.01)]
    V, R, W1, W2 = _aligned(D, H, rng, ab)
    Sigma = V @ np.diag(lam) @ V.T
    k, W1s, W2s, _ = dynamics.gd_matrix(Sigma, W1, W2, lr=0.05, epochs=300, noise_var=noise_var, weight_decay=weight_decay, record_every=10)
    run = dynamics.gd_modes(300, lam[:H], noise_var=noise_var, weight_decay=weight_decay, a0=[x for x, _ in ab], b0=[y for _, y in ab],
                                lr=0.05, record_every=10)
    _, a, b = run.epochs, run.a, run.b
    strengths = np.einsum("di,kde,kef,fi->ki", V, W2s, W1s, V)[:, :H]  # v_i^T W v_i
    np.testing.assert_allclose(strengths, a * b, rtol=0, atol=1e-12)
    off = np.einsum("di,kde,kef,fj->kij", V, W2s, W1s, V)
    off[:, np.arange(H), np.arange(H)] = 0
    assert np.max(np.abs(off)) < 1e-12


def test_matrix_flow_equals_per_mode_flow_under_aligned_initialisation():
    rng = np.random.default_rng(2)
    lam = np.array([2.0, 1.0, 0.5, 0.2])
    V, R, W1, W2 = _aligned(4, 2, rng, [(0.2, 0.1), (0.05, -0.3)])
    t = np.linspace(0, 3, 7)
    W1s, W2s = dynamics.integrate_matrix_flow(t, V @ np.diag(lam) @ V.T, W1, W2, noise_var=0.3, rtol=1e-11)
    s = np.einsum("di,kde,kef,fi->ki", V, W2s, W1s, V)[:, :2]
    u = dynamics.mode_strength(t[:, None], lam[:2], noise_var=0.3, a0=[0.2, 0.05], b0=[0.1, -0.3])
    np.testing.assert_allclose(s, u, atol=1e-9)


def test_divergence_names_the_mode_and_the_bound_and_keeps_the_records():
    lam = np.array([0.5, 4.0])
    bound = dynamics.stability_bound(4.0)
    with pytest.raises(dynamics.DivergenceError) as info:
        dynamics.gd_modes(10_000, lam, a0=0.5, b0=0.6, lr=1.2 * 2 / 4.0 * 1.05)
    err = info.value
    assert err.mode == 2 and err.bound == pytest.approx(bound)         # mode numbers are 1-based: λ = 4 is mode 2
    assert "mode 2" in str(err) and "stability" in str(err)
    k, a, b = err.partial.epochs, err.partial.a, err.partial.b
    assert len(k) >= 1 and np.all(np.isfinite(a))


def test_gd_below_the_stability_bound_converges():
    lam, weight_decay = 2.0, 0.5
    bound = dynamics.stability_bound(lam, weight_decay=weight_decay, balanced=True)  # 1/kappa
    run = dynamics.gd_modes(5000, lam, weight_decay=weight_decay, a0=0.3, b0=0.3, lr=0.95 * bound)
    _, a, b = run.epochs, run.a, run.b
    assert a[-1, 0] * b[-1, 0] == pytest.approx(dynamics.fixed_point(lam, weight_decay=weight_decay), rel=1e-9)
    run = dynamics.gd_modes(5000, lam, weight_decay=weight_decay, a0=0.3, b0=0.3, lr=1.05 * bound)
    _, a, b = run.epochs, run.a, run.b
    assert abs(a[-1, 0] * b[-1, 0] - dynamics.fixed_point(lam, weight_decay=weight_decay)) > 1e-3  # oscillates, never settles


def test_trajectory_methods_share_one_result_type_and_grid():
    trs = [dynamics.trajectory(FIG1.lam, noise_var=1.0, a0=0.5, b0=-1.0, lr=FIG1.lr, epochs=FIG1.epochs, method=m)
           for m in dynamics.METHODS]
    assert all(isinstance(tr, dynamics.Trajectory) for tr in trs)
    assert all(tr.u.shape == (FIG1.epochs + 1, 1) for tr in trs)
    # ODE vs closed form: 1e-7 is 1000x the integrator's rtol (1e-10); GD vs flow: the method's order, O(η·ξ) with
    # η = 0.01 and ξ = λ + ε = 2 here, so 0.05 is 2.5 times η·ξ
    assert trs[0].max_abs_diff(trs[1]) < 1e-7 and trs[0].max_abs_diff(trs[2]) < 0.05
    with pytest.raises(ValueError, match="method must be one of"):
        dynamics.trajectory(1.0, a0=0.1, b0=0.1, t=[0, 1], method="euler")
    with pytest.raises(TypeError, match="needs lr and steps"):
        dynamics.trajectory(1.0, a0=0.1, b0=0.1, t=[0, 1], method="gd")


def test_the_one_r1_gradient_matches_the_trace_formula_and_finite_differences():
    rng = np.random.default_rng(2)
    D, H = 5, 3
    X = rng.standard_normal((40, D)) * np.linspace(2, 0.5, D)
    Sigma = X.T @ X / 40
    W1, W2 = rng.standard_normal((H, D)), rng.standard_normal((D, H))
    noise_var, weight_decay = 0.3, 0.2

    def trace_loss(W1, W2):   # R1 written out independently
        W = W2 @ W1
        R = np.eye(D) - W
        return 0.5 * np.trace(R @ Sigma @ R.T) + 0.5 * noise_var * np.sum(W * W) + 0.5 * weight_decay * (np.sum(W1 ** 2) + np.sum(W2 ** 2))

    L, g1, g2 = dynamics.loss_and_gradient(W1, W2, Sigma, noise_var, weight_decay)
    Ls, g1s, g2s = dynamics.sample_loss_and_gradient(W1, W2, X, X, noise_var, weight_decay)
    assert L == pytest.approx(trace_loss(W1, W2), rel=1e-12) and Ls == pytest.approx(L, rel=1e-12)
    np.testing.assert_allclose(g1s, g1, rtol=1e-10)
    np.testing.assert_allclose(g2s, g2, rtol=1e-10)
    for W, g in ((W1, g1), (W2, g2)):
        num = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            old = W[idx]
            W[idx] = old + 1e-6
            lp = trace_loss(W1, W2)
            W[idx] = old - 1e-6
            lm = trace_loss(W1, W2)
            W[idx] = old
            num[idx] = (lp - lm) / 2e-6
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


def test_second_moment_root_rejects_matrices_that_are_not_second_moments():
    with pytest.raises(ValueError, match="symmetric"):
        dynamics.second_moment_root(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive semi-definite"):
        dynamics.second_moment_root(np.diag([1.0, -1.0]))


def test_divergence_policy_is_one_threshold():
    from lindae.dynamics.errors import OVERFLOW_GUARD, beyond_guard, diverged
    assert not diverged(1.0, np.array([OVERFLOW_GUARD ** 2]))
    assert diverged(np.nextafter(OVERFLOW_GUARD ** 2, np.inf))
    assert diverged(np.nan) and diverged(1.0, np.inf)
    np.testing.assert_array_equal(beyond_guard([0.0, np.nan, 1e201]), [False, True, True])
