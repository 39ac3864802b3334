"""Finite data in the numeric layer: G3's stopping time against its 50-digit statement, the best single noise and
weight decay against brute-force search, and the spiked-population limits against simulation."""
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, strategies as st

from lindae import derivations, dynamics
from lindae.derivations.generalisation import _so, best_value_expr, eps_t, m
from lindae.derivations.symbols import eps, gam, lam, u0


def g3_reference():
    stmt = derivations.get("G3").statement
    return sp.lambdify([lam, eps, gam, u0, m, eps_t], stmt.rhs.subs(_so, best_value_expr()), "mpmath")


G3 = g3_reference()


@given(st.floats(0.05, 50), st.floats(0.0, 5), st.floats(0.0, 0.9), st.floats(1e-6, 0.999), st.floats(0.01, 5),
       st.floats(-300, -0.5))
@example(1.0, 0.5, 0.0, 0.999, 0.5, -300.0)         # s° a hair below u*, the smallest start
@example(3.0, 0.0, 0.0, 0.5, 0.1, -1.0)
def test_best_stopping_time_matches_its_statement_at_50_digits(lam_, eps_, gam_frac, frac, eps_t_, log10_u0):
    """Over starts down to 1e-300 and s° up to u*(1 - 1e-3): relative error <= 1e-12 (log1p form)."""
    g = gam_frac * lam_
    kap, xi = lam_ - g, lam_ + eps_
    so = frac * kap / xi                                       # a best value below u*
    M = so * eps_t_ / (1 - so)                                 # the M that gives it
    start = 10.0 ** log10_u0 * so
    t = dynamics.best_stopping_time([lam_], [M], noise_var=eps_, weight_decay=g, test_noise_var=eps_t_, u0=start)[0]
    with mpmath.workdps(50):
        ref = G3(mpmath.mpf(lam_), mpmath.mpf(eps_), mpmath.mpf(g), mpmath.mpf(start), mpmath.mpf(M), mpmath.mpf(eps_t_))
    assert np.isfinite(t) and abs(t - float(ref)) <= 1e-12 * abs(float(ref)) + 1e-300


def test_no_stopping_time_where_the_mode_never_passes_its_best():
    # s° >= u* (M >= lam for a DAE with eps_t = eps), a start above s°, and kappa <= 0
    t = dynamics.best_stopping_time([1.0, 1.0, 0.5], [2.0, 0.5, 0.4], noise_var=0.5, weight_decay=0.0,
                                    test_noise_var=0.5, u0=[1e-4, 0.5, 1e-4])
    assert np.isnan(t[0]) and np.isnan(t[1]) and np.isfinite(t[2])
    assert np.isnan(dynamics.best_stopping_time([1.0], [0.5], weight_decay=1.5, test_noise_var=0.5, u0=1e-4)[0])


def spectrum(rng, D=30):
    lam_hat = np.sort(rng.gamma(1.0, 1.0, D))[::-1] + 0.01
    return lam_hat, lam_hat * rng.uniform(0.5, 1.0, D)          # M below lam_hat: the leading-mode bias


@pytest.mark.parametrize("seed", range(4))
def test_the_best_noise_beats_a_fine_grid(seed):
    lam_hat, M = spectrum(np.random.default_rng(seed))
    best, err = dynamics.best_noise_var(lam_hat, M, test_noise_var=0.4, hidden=12)
    grid = np.concatenate([[0.0], np.geomspace(1e-4, 1e3, 20001)])
    kept = np.argsort(-lam_hat)[:12]

    def brute(e):
        s = np.zeros_like(lam_hat)
        s[kept] = lam_hat[kept] / (lam_hat[kept] + e)
        return float(np.sum(0.5 * M * (1 - s) ** 2 + 0.2 * s ** 2))
    errs = np.array([brute(e) for e in grid])
    assert err <= errs.min() + 1e-12 and err == pytest.approx(brute(best), rel=1e-14)
    j = int(np.argmin(errs))
    assert grid[max(j - 1, 0)] <= best <= grid[min(j + 1, len(grid) - 1)]


def test_without_sampling_bias_the_best_noise_is_the_test_noise():
    """G4: with M = lam_hat every term vanishes at eps = eps_t."""
    lam_hat = np.array([5.0, 2.0, 1.0, 0.3])
    assert dynamics.best_noise_var(lam_hat, lam_hat, test_noise_var=0.7)[0] == pytest.approx(0.7, rel=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_the_best_weight_decay_beats_a_fine_grid(seed):
    lam_hat, M = spectrum(np.random.default_rng(seed + 10))
    best, err = dynamics.best_weight_decay(lam_hat, M, test_noise_var=0.4, hidden=12)
    kept = np.argsort(-lam_hat)[:12]

    def brute(g):
        s = np.zeros_like(lam_hat)
        s[kept] = np.maximum(0.0, 1 - g / lam_hat[kept])
        return float(np.sum(0.5 * M * (1 - s) ** 2 + 0.2 * s ** 2))
    grid = np.linspace(0, lam_hat.max(), 40001)
    errs = np.array([brute(g) for g in grid])
    assert err <= errs.min() + 1e-12 and err == pytest.approx(brute(best), rel=1e-14)


def test_the_spiked_limits_are_the_published_numbers():
    """A spike 4 over unit noise at D/N = 0.5 (Baik, Ben Arous & Péché 2005; Paul 2007)."""
    lam_hat, overlap2, M = dynamics.spiked_limits(4.0, 0.5)
    assert (round(lam_hat, 4), round(overlap2, 4), round(M, 4)) == (4.6667, 0.8095, 3.4286)
    assert dynamics.spiked_limits(1.5, 0.5)[1] == 0.0              # below 1 + sqrt(c): no overlap


@pytest.mark.slow
def test_the_spiked_limits_hold_in_simulation():
    """D = 1000, N = 2000, 20 draws: the mean top eigenvalue, overlap² and M within 2 % of the limits (the issue's
    bound; the draws' standard errors are ~0.1 %, and the finite-size bias is O(1/sqrt(D)))."""
    from scipy.linalg import eigh
    D, N, ell = 1000, 2000, 4.0
    rng = np.random.default_rng(0)
    out = []
    for _ in range(20):
        X = rng.standard_normal((N, D))
        X[:, 0] *= np.sqrt(ell)
        w, v = eigh(X.T @ X / N, subset_by_index=[D - 1, D - 1])
        out.append((w[0], v[0, 0] ** 2, 1 + (ell - 1) * v[0, 0] ** 2))
    mean = np.mean(out, axis=0)
    limits = dynamics.spiked_limits(ell, D / N)
    np.testing.assert_allclose(mean, limits, rtol=0.02)


@given(st.floats(0.05, 4.0), st.floats(0.1, 10.0), st.integers(1, 60))
@example(1.0, 1.0, 7)                                      # c = 1: the density diverges like x^(-1/2) at 0
@example(1.57, 1.0, 40)                                    # MNIST's N = 500: an atom of mass 1 - 1/c at 0
def test_marchenko_pastur_quantiles_against_mpmath_quadrature(c, scale, n):
    """Each returned value x_i has F(x_i) = 1 - (i - 1/2)/n, F integrated by mpmath at 30 digits from the density
    (an independent quadrature); 1e-7 is far above the angle grid's error (~1e-9 in F) and far below a grid step."""
    q = dynamics.marchenko_pastur_quantiles(n, c, bulk=scale)
    assert np.all(np.diff(q) <= 0)
    a, b = scale * (1 - np.sqrt(c)) ** 2, scale * (1 + np.sqrt(c)) ** 2
    atom = max(0.0, 1 - 1 / c)
    with mpmath.workdps(30):
        dens = lambda x: mpmath.sqrt((b - x) * (x - a)) / (2 * mpmath.pi * c * scale * x)
        for i in sorted({0, n // 2, n - 1}):
            p = 1 - (i + 0.5) / n
            if p <= atom:
                assert q[i] == 0.0
                continue
            F = atom + mpmath.quad(dens, [a, (a + q[i]) / 2, q[i]])
            assert abs(float(F) - p) <= 1e-7


def test_the_spiked_sample_spectrum_keeps_the_trace_and_the_spike_limits():
    """tr M = tr Σ: the bulk's share carries exactly what the outliers' sample vectors miss of the spikes; the
    outliers are spiked_limits scaled by the bulk variance; a spike below 1 + sqrt(c) joins the bulk."""
    lam_hat, M = dynamics.spiked_sample_spectrum(400, 800, [6.0, 4.0, 1.2], bulk=1.5)
    assert M.sum() == pytest.approx(6.0 + 4.0 + 1.2 + 397 * 1.5, rel=1e-12)
    for i, ell in enumerate((6.0, 4.0)):
        l1, o1, m1 = dynamics.spiked_limits(ell / 1.5, 0.5)
        assert lam_hat[i] == pytest.approx(1.5 * l1, rel=1e-14) and M[i] == pytest.approx(1.5 * m1, rel=1e-14)
    assert lam_hat[2] <= 1.5 * (1 + np.sqrt(0.5)) ** 2      # 1.2 is under the threshold 1.5 (1 + sqrt(0.5))
    with pytest.raises(dynamics.InvalidArgument):
        dynamics.spiked_sample_spectrum(3, 10, [2.0, 3.0, 4.0])


@pytest.mark.slow
def test_the_population_predicts_the_mean_test_curve():
    """D = 1000, N = 2000, a spike 4, 20 draws, an aligned DAE (ε = 0.5, H = 32): the test and train curves
    predicted from the population alone are within 2 % (the issue's bound) of the mean measured curve at every
    epoch, both in all and over the H learned modes (where the draws' standard error is ~0.15 %)."""
    D, N, ell, H = 1000, 2000, 4.0, 32
    kw = dict(hidden=H, lr=0.05, epochs=400, u0=1e-4, noise_var=0.5, record_every=10)
    pred = dynamics.population_error_curves(*dynamics.spiked_sample_spectrum(D, N, [ell]), **kw)
    rng = np.random.default_rng(1)
    curves = []
    for _ in range(20):
        X = rng.standard_normal((N, D))
        X[:, 0] *= np.sqrt(ell)
        w, V = np.linalg.eigh(X.T @ X / N)
        w, V = w[::-1], V[:, ::-1]
        M = 1.0 + (ell - 1.0) * V[0] ** 2                     # the population's v̂ᵢᵀΣv̂ᵢ, exactly
        c = dynamics.population_error_curves(w, M, **kw)       # G1 on the exact map for this draw's spectrum
        learned = dynamics.test_error(c["strengths"], M[:H], test_noise_var=0.5)
        curves.append((c["test_denoising_error"], c["train_denoising_error"], learned))
    mean = np.mean(curves, axis=0)
    pred_learned = dynamics.test_error(pred["strengths"], dynamics.spiked_sample_spectrum(D, N, [ell])[1][:H],
                                       test_noise_var=0.5)
    for p, m_ in zip((pred["test_denoising_error"], pred["train_denoising_error"], pred_learned), mean):
        assert np.max(np.abs(p / m_ - 1)) <= 0.02
