"""R15's numeric evaluation (dynamics.random_init_strength) against independent references."""
import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from scipy.integrate import solve_ivp

from lindae.dynamics import gd_modes, random_init_strength, saturation_weight


def riccati_mp(lam, Y, noise_var, weight_decay, t):
    """R15's W_ii = E_i y_iᵀ M⁻¹ y_i straight from the formula, with enough digits for the conditioning of M."""
    kmax = max(2 * abs(float(l) - weight_decay) * t for l in lam)
    with mpmath.workdps(int(60 + kmax / 2.3)):
        D, H = Y.shape
        Ym = mpmath.matrix(Y.tolist())
        c = [(mpmath.mpf(l) + noise_var) * mpmath.expm1(2 * (mpmath.mpf(l) - weight_decay) * t) / (mpmath.mpf(l) - weight_decay)
             for l in lam]
        M = mpmath.eye(H) + Ym.T * mpmath.diag(c) * Ym
        Minv = mpmath.inverse(M)
        out = []
        for i in range(D):
            yi = Ym[i, :]
            out.append(mpmath.exp(2 * (mpmath.mpf(lam[i]) - weight_decay) * t) * (yi * Minv * yi.T)[0])
        return np.array([float(v) for v in out])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), log_scale=st.floats(-150, -1), t=st.floats(0.01, 300.0),
       noise_var=st.sampled_from([0.0, 0.5]), weight_decay=st.sampled_from([0.0, 0.3]))
@example(seed=1935, log_scale=-123.0, t=225.0, noise_var=0.0, weight_decay=0.0)   # Q's identity block lost 7e-9 here
def test_closed_form_matches_mpmath(seed, log_scale, t, noise_var, weight_decay):
    rng = np.random.default_rng(seed)
    D, H = 5, 3
    lam = np.sort(rng.uniform(0.05, 2.0, D))[::-1]
    lam[np.isclose(lam, weight_decay)] += 0.01
    Y = 10.0 ** log_scale * rng.standard_normal((D, H))
    _, s = random_init_strength(lam, Y, noise_var=noise_var, weight_decay=weight_decay, t=[t], balanced=False)
    ref = riccati_mp(lam, Y, noise_var, weight_decay, t)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s[0], ref, rtol=1e-9, atol=1e-300)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), log_scale=st.floats(-250, -1), t_end=st.floats(1.0, 250.0),
       n_times=st.integers(2, 9), noise_var=st.sampled_from([0.0, 0.5]), weight_decay=st.sampled_from([0.0, 0.3]))
@example(seed=7, log_scale=-4.0, t_end=200.0, n_times=3, noise_var=0.0, weight_decay=0.0)   # substeps and a full QR
# starts whose u0 = |y|^2 is below the float64 range (it was summed in float, so s was 0), and whose rows of
# Yn R^-1 underflowed when squared at the first QR (every later time was 0): found by a 300-draw fuzz
@example(seed=3, log_scale=-214.0, t_end=150.0, n_times=5, noise_var=0.0, weight_decay=0.0)
@example(seed=5, log_scale=-169.0, t_end=60.0, n_times=8, noise_var=0.5, weight_decay=0.3)
def test_relative_updates_between_times_match_mpmath(seed, log_scale, t_end, n_times, noise_var, weight_decay):
    """Times after the first are reached by relative Cholesky steps (substeps where the scales change a lot,
    a fresh QR where they change too much); every time must still equal the 50-digit formula."""
    rng = np.random.default_rng(seed)
    D, H = 6, 3
    lam = np.sort(rng.uniform(0.05, 2.0, D))[::-1]
    lam[np.isclose(lam, weight_decay)] += 0.01
    Y = 10.0 ** log_scale * rng.standard_normal((D, H))
    times = np.sort(rng.uniform(0.01, t_end, n_times))
    _, s = random_init_strength(lam, Y, noise_var=noise_var, weight_decay=weight_decay, t=times, balanced=False)
    for k, t in enumerate(times):
        np.testing.assert_allclose(s[k], riccati_mp(lam, Y, noise_var, weight_decay, t), rtol=1e-9, atol=1e-300)


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 10_000), log_scale=st.floats(-40, -2))
@example(seed=0, log_scale=-4.0)
def test_hundreds_of_relative_steps_keep_every_mode_at_the_50_digit_formula(seed, log_scale):
    """The relative steps never form the regulariser's block of Q (they take QᵀQ = I), so an error in Q's
    orthonormality would be carried from step to step: after 400 steps through saturation of most directions,
    every mode must still equal the formula at 50+ digits (tolerance: the other tests' 1e-9)."""
    rng = np.random.default_rng(seed)
    D, H = 24, 6
    lam = np.geomspace(3.0, 0.05, D)
    Y = 10.0 ** log_scale * rng.standard_normal((D, H))
    times = np.linspace(0.05, 20.0, 400)
    _, s = random_init_strength(lam, Y, noise_var=0.3, t=times, balanced=False)
    for k in (0, 57, 199, 399):
        np.testing.assert_allclose(s[k], riccati_mp(lam, Y, 0.3, 0.0, times[k]), rtol=1e-9, atol=1e-300)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), hidden=st.sampled_from([4, 9]), t_end=st.floats(1.0, 60.0))
@example(seed=0, hidden=9, t_end=9.0)      # σ = 1 − 1.3e-6: the tight cluster of a fully saturated layer
def test_least_saturation_follows_the_smallest_eigenvalue_of_m_at_every_time(seed, hidden, t_end):
    """σ (the hand-over's saturation of the least saturated hidden direction) along a sequence of times, as the factor
    moves by relative steps and full QRs, against its definition at 60+ digits: σ = 1 − 1/λ_min(M), M = I + Yᵀ C Y
    (the Gram matrix of Q's regulariser block has the eigenvalues of M⁻¹); and the cheap test ``saturated(level)`` (a
    Rayleigh quotient at the last eigenvector) against it. Near σ = 1 every direction is saturated and the eigenvalues
    of M⁻¹ sit in a tight cluster near 0: an inverse iteration (tried) stagnated there 1e-6 short of σ, a full
    eigensolver does not."""
    from lindae.dynamics.random_init import _Factor, log_saturation_weight
    rng = np.random.default_rng(seed)
    D = hidden + 5
    lam = np.sort(rng.uniform(0.05, 2.0, D))[::-1]
    Y = rng.standard_normal((D, hidden))
    factor = _Factor(Y)
    for t in np.linspace(0.01, t_end, 12):
        lc = log_saturation_weight(t, lam) - 8.0           # the rows' squared scales: y_i of norm ~e^-4
        sigma = factor.at(lc).sigma()
        with mpmath.workdps(int(60 + max(lc) / 2.3)):
            Ym = mpmath.matrix(Y.tolist())
            M = mpmath.eye(hidden) + Ym.T * mpmath.diag([mpmath.exp(mpmath.mpf(v)) for v in lc]) * Ym
            ref = 1 - 1 / min(mpmath.eigsy(M)[0])
        assert abs(sigma - float(ref)) <= 1e-12, (t, sigma, float(ref))   # σ's absolute error ~ H x roundoff
        for level in (1e-3, 0.5):
            if abs(float(ref) - level) > 1e-9:
                assert factor.saturated(level) == (float(ref) >= level), (t, level, float(ref))


def test_least_saturation_when_lapacks_subset_solver_returns_no_eigenpair(monkeypatch):
    """LAPACK's syevx may return no eigenpair for its index range (the previous evaluation crashed on 3 of 300
    random starts that way, in a fuzz against this one); σ then comes from the full solver and still equals its definition, 1 − 1/λ_min(M)."""
    from lindae.dynamics import random_init
    real = random_init.eigh

    def no_pair(a, *args, driver=None, **kwargs):
        w, v = real(a, *args, driver=driver, **kwargs)
        return (w[:0], v[:, :0]) if driver == "evx" else (w, v)
    monkeypatch.setattr(random_init, "eigh", no_pair)
    rng = np.random.default_rng(4)
    lam, Y = np.geomspace(2.0, 0.1, 9), rng.standard_normal((9, 4))
    lc = random_init.log_saturation_weight(3.0, lam) - 6.0
    sigma = random_init._Factor(Y).at(lc).sigma()
    M = np.eye(4) + Y.T @ (np.exp(lc)[:, None] * Y)
    assert abs(sigma - (1 - 1 / np.linalg.eigvalsh(M)[0])) <= 1e-12


def test_closed_form_solves_the_surrogate_flow():
    """Second method: integrate Ẏ = KY − YYᵀΞY (R15's surrogate) and compare diag(YYᵀ)."""
    rng = np.random.default_rng(3)
    D, H, noise_var, weight_decay = 6, 3, 0.4, 0.1
    lam = np.geomspace(2.5, 0.2, D)
    Y0 = 1e-3 * rng.standard_normal((D, H))
    ts = np.linspace(0, 25, 11)

    def rhs(_t, y):
        Y = y.reshape(D, H)
        return ((lam - weight_decay)[:, None] * Y - Y @ (Y.T @ ((lam + noise_var)[:, None] * Y))).ravel()
    sol = solve_ivp(rhs, (0, ts[-1]), Y0.ravel(), t_eval=ts, rtol=1e-12, atol=1e-16, method="DOP853")
    ode = np.array([np.sum(sol.y[:, k].reshape(D, H) ** 2, axis=1) for k in range(len(ts))])
    _, s = random_init_strength(lam, Y0, noise_var=noise_var, weight_decay=weight_decay, t=ts, balanced=False)
    np.testing.assert_allclose(s, ode, rtol=1e-7, atol=1e-12)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), noise_var=st.sampled_from([0.0, 0.5]), weight_decay=st.sampled_from([0.0, 0.2]))
@example(seed=0, noise_var=0.0, weight_decay=0.0)
def test_hand_over_continues_with_r1s_balanced_flow(seed, noise_var, weight_decay, surrogate_then_balanced):
    """Second method (conftest): the surrogate's ODE up to the first recorded time (0.1), then R1's flow on
    p = q, both by solve_ivp; with switch = 0 the evaluation hands over at that time.
    Tolerance: both sides integrate ~40 e-folds at rtol 1e-10 to 1e-12."""
    rng = np.random.default_rng(seed)
    D, H = 6, 2
    lam = np.sort(rng.uniform(0.3, 2.5, D))[::-1]
    Y0 = 0.05 * rng.standard_normal((D, H))
    ts = np.array([0.0, 0.1, 3.0, 7.5, 15.0])
    ref = surrogate_then_balanced(lam - weight_decay, np.diag(lam + noise_var), Y0, ts)
    _, s = random_init_strength(lam, Y0, noise_var=noise_var, weight_decay=weight_decay, t=ts, switch=0.0, check_dt=0.5)
    _, plain = random_init_strength(lam, Y0, noise_var=noise_var, weight_decay=weight_decay, t=ts, balanced=False)
    np.testing.assert_allclose(s, ref, rtol=1e-7, atol=1e-14)
    assert np.max(np.abs(s - plain)) > 1e-3          # the two flows differ once W is large: the test can fail


def test_saturation_weight_at_kappa_zero_small_times_and_beyond_float_range():
    c = saturation_weight(np.array([0.0, 1e-3, 1.0, 1e4]), 1.0, noise_var=0.5, weight_decay=1.0)
    np.testing.assert_allclose(c, 2 * 1.5 * np.array([0.0, 1e-3, 1.0, 1e4]), rtol=1e-15)
    with mpmath.workdps(30):
        ref = float(mpmath.mpf(1.5) * mpmath.expm1(mpmath.mpf(2) * 0.7 * 1e-9) / mpmath.mpf(0.7))
    assert abs(saturation_weight(1e-9, 1.0, noise_var=0.5, weight_decay=0.3) / ref - 1) < 1e-14
    assert np.isinf(saturation_weight(1e4, 1.0))


@pytest.mark.parametrize("weight_decay", [0.0, 0.5])
def test_one_direction_per_mode_is_the_exact_per_mode_map(weight_decay):
    """Rows of Y₀ in orthogonal directions (D <= H): R15 is R12's exact map from u₀ = ‖y_i‖², for every mode."""
    lam = np.array([3.0, 1.2, 0.6, 0.2])
    Y = np.zeros((4, 5))
    Y[np.arange(4), [4, 0, 2, 1]] = [1e-3, 2e-4, 5e-3, 1e-2]
    k, s = random_init_strength(lam, Y, noise_var=0.3, weight_decay=weight_decay, lr=0.1, epochs=400, record_every=7)
    u0 = np.sum(Y ** 2, axis=1)
    run = gd_modes(400, lam, noise_var=0.3, weight_decay=weight_decay, a0=np.sqrt(u0), b0=np.sqrt(u0), lr=0.1, record_every=7)
    _, A, B = run.epochs, run.a, run.b
    np.testing.assert_allclose(s, A * B, rtol=1e-10, atol=1e-300)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="growing"):
        random_init_strength([1.0, 0.5], np.ones((3, 2)), t=[1.0])
    with pytest.raises(TypeError, match="lr and steps"):
        random_init_strength([1.0], np.ones((1, 1)))
    with pytest.raises(ValueError, match="lr"):
        random_init_strength([1.0], np.ones((1, 1)), weight_decay=3.0, lr=1.0, epochs=3)


def test_the_warp_spellings_still_work_for_this_release_with_a_deprecation_warning(synthetic_data):
    """warp / warp_dt (the fitted time warp of the previous release) now switch the hand-over and set its grid."""
    from lindae import dynamics
    from lindae.validation import run_theory, train_linear_ae
    rng = np.random.default_rng(0)
    lam, Y, ts = np.geomspace(2.0, 0.2, 5), 1e-3 * rng.standard_normal((5, 2)), np.array([0.0, 5.0, 20.0])
    kw = dict(t=ts, balanced=False)
    for fn, args in ((dynamics.random_init_strength, (lam, Y)), (dynamics.surrogate_strength, (lam, np.diag(lam), Y))):
        with pytest.warns(DeprecationWarning, match="'warp' is deprecated; use 'balanced'"):
            old = fn(*args, t=ts, warp=False)[1]
        np.testing.assert_array_equal(old, fn(*args, **kw)[1])
        with pytest.warns(DeprecationWarning, match="'warp_dt' is deprecated; use 'check_dt'"):
            fn(*args, t=ts, warp_dt=0.5)
    r = train_linear_ae(synthetic_data, 3, 0.05, 40, init_scale=1e-3, seed=0)
    with pytest.warns(DeprecationWarning, match="'warp' is deprecated; use 'balanced'"):
        np.testing.assert_array_equal(run_theory(r, warp=False), run_theory(r, balanced=False))
