"""Minibatch SGD per mode (S1, S2): the stationary spread against the issue's numbers and S2 at 50 digits, the
propagated mean and spread against a Monte Carlo of the exact one-mode recursion, and robustness."""
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, strategies as st

from lindae import derivations, dynamics
from lindae.derivations.sgd import _s0, batch, m4, variance_expr
from lindae.derivations.symbols import eps, eta, gam, lam, u


def test_the_stationary_spread_is_the_issues_number():
    """λ = 1, ε = 0.5, η = 0.05: standard deviations 0.0721, 0.0360 and 0.0180 at B = 1, 4 and 16 (issue 22)."""
    sds = [dynamics.sgd_stationary(1.0, noise_var=0.5, lr=0.05, batch_size=b)[1] for b in (1, 4, 16)]
    assert [round(float(s), 4) for s in sds] == [0.0721, 0.0360, 0.0180]


@given(st.floats(0.1, 5), st.floats(0, 2), st.floats(0, 0.9), st.floats(1e-4, 0.9), st.integers(1, 512),
       st.booleans(), st.floats(1.5, 6))
@example(1.0, 0.5, 0.0, 0.05, 1, False, 3.0)
def test_the_stationary_values_match_s2_at_50_digits(lam_, eps_, gam_frac, eta_frac, b, sampled, kurt):
    """V_∞ and the bias from S2's statement (σ_*² from S1 at u*), evaluated with mpmath (400 digits, so that 1 − u*
    keeps its digits for ε + γ down to the smallest float), for any measured fourth moment m₄ = kurt·λ²: relative
    error ≤ 1e-12."""
    g = gam_frac * lam_
    kap = lam_ - g
    eta_ = eta_frac / kap
    stmt = derivations.get("S2").statement
    sig = variance_expr(sampled).subs(u, (lam - gam) / (lam + eps))
    vals = {lam: lam_, eps: eps_, gam: g, eta: eta_, batch: b, m4: kurt * lam_ ** 2}
    with mpmath.workdps(400):
        V = sp.lambdify(list(vals), stmt[2].rhs.subs(_s0, sig), "mpmath")(*map(mpmath.mpf, vals.values()))
        bias = sp.lambdify(list(vals), stmt[3].rhs.subs(_s0, sig), "mpmath")(*map(mpmath.mpf, vals.values()))
    mean, sd = dynamics.sgd_stationary(lam_, noise_var=eps_, weight_decay=g, lr=eta_, batch_size=b,
                                       sampled_noise=sampled, fourth_moment=kurt * lam_ ** 2)
    assert abs(sd - float(mpmath.sqrt(V))) <= 1e-12 * float(mpmath.sqrt(V)) + 1e-300
    us = kap / (lam_ + eps_)
    assert abs((mean - us) - float(bias)) <= 1e-9 * abs(float(bias)) + 1e-15


def _scalar_monte_carlo(lam_, eps_, eta_, B, u0, steps, seeds, sampled, every):
    """The exact one-mode recursion w' = w(1 + ηg) with g from actual Gaussian minibatches (independent of S1, S2)."""
    rng = np.random.default_rng(0)
    w = np.full((seeds, lam_.size), np.sqrt(u0))
    out = []
    for k in range(steps + 1):
        if k % every == 0:
            out.append(w ** 2)
        if k == steps:
            break
        x = rng.standard_normal((seeds, B, lam_.size)) * np.sqrt(lam_)
        if sampled:
            xt = x + np.sqrt(eps_) * rng.standard_normal(x.shape)
            g = (x * xt).mean(1) - w * w * (xt * xt).mean(1)
        else:
            s = (x * x).mean(1)
            g = s - w * w * (s + eps_)
        w = w * (1 + eta_ * g)
    return np.array(out)


@pytest.mark.parametrize("sampled", [False, True])
def test_the_propagated_moments_match_monte_carlo(sampled):
    """λ = (2, 0.5), ε = 0.5, η = 0.02, B = 8, u0 = 1e-3, over learning and the plateau: every mean within 5 standard
    errors over 4000 seeds (24 comparisons; the closure's own error is O(η²/B)), every standard deviation within
    10 % (the sampling error of a standard deviation over 4000 seeds is 1.1 %)."""
    lam_ = np.array([2.0, 0.5])
    U = _scalar_monte_carlo(lam_, 0.5, 0.02, 8, 1e-3, 1200, 4000, sampled, 100)
    th = dynamics.sgd_mode_moments(1200, lam_, noise_var=0.5, lr=0.02, batch_size=8, u0=1e-3, sampled_noise=sampled,
                                   record_every=100, pairs=False)
    m, s = U.mean(1), U.std(1, ddof=1)
    assert np.all(np.abs(m - th.mean)[1:] <= 5 * s[1:] / np.sqrt(4000))
    assert np.all(np.abs(th.std / s - 1)[1:] <= 0.10)
    assert np.allclose(th.mean[0], 1e-3, rtol=1e-14) and np.all(th.std[0] <= 1e-15 * th.mean[0])


def test_tiny_starts_and_unlearned_modes_stay_finite():
    alone = dynamics.sgd_mode_moments(2000, [1.0, 0.1], weight_decay=0.2, lr=0.05, batch_size=4, u0=1e-300,
                                      record_every=500, pairs=False)
    assert np.all(np.isfinite(alone.mean)) and np.all(np.isfinite(alone.std))
    assert alone.mean[-1, 1] < 1e-300 and alone.mean[-1, 0] > 1e-300     # κ < 0 decays; κ > 0 grows from 1e-300
    th = dynamics.sgd_mode_moments(2000, [1.0, 0.1], weight_decay=0.2, lr=0.05, batch_size=4, u0=1e-300,
                                   record_every=500)
    assert np.all(np.isfinite(th.mean)) and np.all(np.isfinite(th.std)) and np.all(th.mean > 0)
    assert th.mean[-1, 0] == pytest.approx(alone.mean[-1, 0], rel=1e-3)   # the learned mode barely feels its pair
    assert th.mean[-1, 1] < 1e-2 * th.mean[-1, 0]                         # mode 2 holds leakage from hidden unit 1 only


def test_a_far_too_large_rate_is_reported():
    with pytest.raises(dynamics.DivergenceError, match="mode 1"):
        dynamics.sgd_mode_moments(500, [4.0], lr=2.0, batch_size=1, u0=0.5)
    with pytest.raises(dynamics.InvalidArgument):
        dynamics.sgd_stationary(4.0, lr=0.3, batch_size=1)
