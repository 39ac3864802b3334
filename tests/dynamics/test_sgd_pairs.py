"""Minibatch SGD with the modes coupled in pairs (S3) and the learning-rate bound (S4): the propagated moments against
many seeds of the batched matrix trainer (an independent code path), the bound against the random multiplier
sampled from actual minibatches, and the failure modes."""
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from lindae import dynamics, validation

LAM3 = np.array([2.0, 0.5, 0.125])


@pytest.mark.parametrize("sampled", [False, True])
def test_pairs_match_many_seeds_and_the_per_mode_theory_does_not(sampled):
    """D = H = 3, λ = (2, 0.5, 0.125), ε = 0.5, η = 0.02, B = 8, u0 = 1e-3, 2000 seeds, 15 recorded steps.

    With S3's pairs every mean lies within 6 standard errors (45 comparisons; the second-order closure's own bias,
    O(η²/B), measures about 5 standard errors of 2000 seeds at worst) and every standard deviation within 10 % (its
    sampling error over 2000 seeds is 1.6 %). Without the pairs the slow modes miss both by far."""
    ens = validation.train_sgd_ensemble(3, 0.02, 1500, batch_size=8, seeds=2000, eigenvalues=LAM3, noise_var=0.5,
                                        sampled_noise=sampled, u0=1e-3, record_every=100)
    th = validation.run_sgd_theory(ens)
    z = np.abs(ens.mean - th["mean"])[1:] / ens.se[1:]
    assert np.all(z <= 6), z.max(0)
    assert np.all(np.abs(ens.std[1:] / th["std"][1:] - 1) <= 0.10)
    alone = validation.run_sgd_theory(ens, pairs=False)
    assert (np.abs(ens.mean - alone["mean"])[1:] / ens.se[1:]).max() > 10
    assert np.abs(ens.std[1:, 2] / alone["std"][1:, 2] - 1).max() > 0.5


def test_modes_beyond_the_hidden_width_carry_leakage_only():
    """H = 1 of D = 2: mode 2 has no hidden unit, so its strength s₂ = W₂[2,1]W₁[1,2] is S3's c·d alone. Its
    predicted mean and spread match 3000 seeds (mean within 5 standard errors, spread within 10 %)."""
    ens = validation.train_sgd_ensemble(1, 0.05, 600, batch_size=2, seeds=3000, eigenvalues=[2.0, 1.0], noise_var=0.3,
                                        sampled_noise=True, u0=1e-2, record_every=100)
    th = validation.run_sgd_theory(ens)
    assert np.all(th["mean"][1:, 1] != 0)
    assert np.all(np.abs(ens.mean[1:, 1] - th["mean"][1:, 1]) <= 5 * ens.se[1:, 1])
    assert np.all(np.abs(ens.std[1:, 1] / th["std"][1:, 1] - 1) <= 0.10)
    assert th["leakage_std"].shape == (2, 2) and th["leakage_std"][0, 1] > 0 and th["leakage_std"][0, 0] == 0


@settings(max_examples=8, deadline=None)
@given(st.floats(0.3, 4), st.floats(0.05, 1.0), st.floats(0, 0.5), st.sampled_from([1, 2, 8, 64]), st.booleans())
@example(4.0, 0.5, 0.0, 1, False)
def test_the_bound_is_where_the_sampled_multiplier_has_unit_second_moment(lam_, eps_, gam_frac, B, sampled):
    """At η_B the plateau's multiplier m = 1 + η(P − 3u*R − γ), built from 400 000 actual Gaussian minibatches,
    has E[m²] = 1 within 5 standard errors of the sample mean."""
    g = gam_frac * lam_
    bound, per = dynamics.sgd_lr_bound([lam_], noise_var=eps_, weight_decay=g, batch_size=B, sampled_noise=sampled)
    assert bound == per[0]
    rng = np.random.default_rng(1)
    n = 400_000
    x = rng.standard_normal((n, B)) * np.sqrt(lam_)
    xt = x + np.sqrt(eps_) * rng.standard_normal((n, B)) if sampled else x
    P, R = (x * xt).mean(1), (xt * xt).mean(1) + (0.0 if sampled else eps_)
    us = (lam_ - g) / (lam_ + eps_)
    m2 = (1 + bound * (P - 3 * us * R - g)) ** 2
    assert abs(m2.mean() - 1) <= 5 * m2.std() / np.sqrt(n)


def test_the_bound_tends_to_the_flip_bound_and_falls_with_the_batch():
    """B → ∞ gives full-batch GD's flip bound ηκ = 1 (R12); a smaller batch lowers it; modes not learned do not bound."""
    lam = np.array([4.0, 1.0, 0.05])
    big, per = dynamics.sgd_lr_bound(lam, noise_var=0.5, weight_decay=0.1, batch_size=1e12)
    assert big == pytest.approx(1 / 3.9, rel=1e-9) and per[2] == np.inf
    bounds = [dynamics.sgd_lr_bound(lam, noise_var=0.5, batch_size=b)[0] for b in (1, 8, 64)]
    assert bounds[0] < bounds[1] < bounds[2] < 1 / 4.0
    with pytest.raises(dynamics.InvalidArgument, match="nothing is learned"):
        dynamics.sgd_lr_bound([0.1], weight_decay=0.2, batch_size=4)


def test_pair_theory_reports_divergence_and_bad_cross_moments():
    with pytest.raises(dynamics.DivergenceError):
        dynamics.sgd_mode_moments(400, [4.0, 1.0], lr=1.5, batch_size=1, u0=0.5)
    with pytest.raises(dynamics.InvalidArgument, match="cross_moment"):
        dynamics.sgd_mode_moments(10, [1.0, 0.5], lr=0.01, batch_size=1, u0=0.1, cross_moment=np.ones((3, 3)))
    with pytest.raises(dynamics.InvalidArgument, match="hidden"):
        dynamics.sgd_mode_moments(10, [1.0, 0.5], lr=0.01, batch_size=1, u0=0.1, hidden=3)


def test_the_share_past_the_escape_point_is_reported_and_grows_with_the_rate():
    """At a small rate no node of the law of ln u passes the balanced map's escape point (2 + ηκ)/(ηξ); near S4's
    bound at B = 1 some do (as some seeds diverge), and more at a larger rate."""
    lam = [4.0, 1.0]
    bound = dynamics.sgd_lr_bound(lam, noise_var=0.5, batch_size=1, sampled_noise=True)[0]
    shares = [dynamics.sgd_mode_moments(400, lam, noise_var=0.5, lr=f * bound, batch_size=1, u0=1e-3,
                                        sampled_noise=True, record_every=400).escaped[0] for f in (0.1, 0.6, 0.9)]
    assert shares[0] < 1e-9 < shares[1] < shares[2] <= 1          # 1e-9: the rounding of 400 renormalisations


@pytest.mark.parametrize("sampled", [False, True])
@pytest.mark.parametrize("hidden", [4, 3])
@pytest.mark.parametrize("poly_pairs", [1000, 0])       # S3's polynomial terms, and its expressions (many pairs)
def test_one_pair_step_is_s3s_generated_sandwich_with_the_rotation_projected_out(sampled, hidden, poly_pairs, monkeypatch):
    """The closure's step against S3's generated A, N, C and δw at the same balanced weights, combined as written:
    Σ' = P(AΣAᵀ + NCNᵀ/B)Pᵀ with P = I − ggᵀ, g = (w_i, w_i, −w_j, −w_j)/|g|."""
    from lindae.derivations import sgd_pair_block_function
    from lindae.dynamics import sgd
    from lindae.dynamics.sgd import _UPPER, _Pairs
    monkeypatch.setattr(sgd, "POLY_PAIRS", poly_pairs)
    rng = np.random.default_rng(hidden + 10 * sampled)
    lam = np.sort(rng.uniform(0.05, 3.0, 4))[::-1]
    eps, gam, eta, B = 0.4, 0.03, 0.05, 3.0
    pairs = _Pairs(lam, hidden, eps, gam, eta, B, sampled, None)
    wd = np.append(rng.uniform(0.2, 1.2, hidden), np.zeros(4 - hidden))
    for g in pairs.groups:      # a random symmetric positive semidefinite covariance for every pair
        k = g.Sig.shape[0]
        R = rng.standard_normal((k, k, g.I.size)) * 0.1
        g.Sig = np.einsum("ikp,jkp->ijp", R, R)
    before = [g.sig4().copy() for g in pairs.groups]
    drift = pairs.feedback(wd)
    pairs.advance(wd)
    blocks, delta = sgd_pair_block_function(sampled)
    expected_drift = np.zeros(4)
    for g, S in zip(pairs.groups, before):
        wi, wj = wd[g.I], wd[g.J]
        args = (wi, wi, wj, wj, lam[g.I], lam[g.J], eps, gam, eta)
        A, N, C = blocks(*args, lam[g.I] * lam[g.J])
        for p in range(g.I.size):
            a, n, c = A[..., p], N[..., p], C[..., p]
            new = a @ S[..., p] @ a.T + n @ c @ n.T / B
            if g.full:
                gv = np.array([wi[p], wi[p], -wj[p], -wj[p]]) / np.sqrt(2 * (wi[p] ** 2 + wj[p] ** 2))
                P = np.eye(4) - np.outer(gv, gv)
                new = P @ new @ P
            else:
                new = new[2:, 2:]
            np.testing.assert_allclose(g.Sig[..., p], new, rtol=1e-12, atol=1e-15)
        dw = delta(*args, *S[_UPPER])
        np.add.at(expected_drift, g.I, wi * (dw[0] + dw[1]))
        np.add.at(expected_drift, g.J, wj * (dw[2] + dw[3]))
    np.testing.assert_allclose(drift, expected_drift[:hidden], rtol=1e-12, atol=1e-15)


def test_moments_at_chosen_steps_are_those_of_the_regular_grid():
    """``at_epochs`` records only the steps asked for; the recursion is the same, so they equal the every-step run there
    (to the bit), and a step outside 0 ... epochs is refused."""
    lam = [3.0, 1.0, 0.4, 0.1]
    kw = dict(noise_var=0.5, lr=0.05, batch_size=2, u0=1e-3, sampled_noise=True, hidden=2)
    every = dynamics.sgd_mode_moments(60, lam, **kw)
    steps = [0, 7, 8, 31, 59]
    chosen = dynamics.sgd_mode_moments(60, lam, at_epochs=steps, **kw)
    assert list(chosen.epochs) == steps + [60]
    np.testing.assert_array_equal(chosen.mean, every.mean[steps + [60]])
    np.testing.assert_array_equal(chosen.std, every.std[steps + [60]])
    with pytest.raises(ValueError, match="at_epochs must be"):
        dynamics.sgd_mode_moments(60, lam, at_epochs=[0, 61], **kw)
