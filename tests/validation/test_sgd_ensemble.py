"""Many seeds of minibatch SGD at once: one step against the single-model gradient, the one-mode case against S1-S2's
propagated moments, measured fourth moments, divergence and bad input."""
import numpy as np
import pytest

from lindae import dynamics, validation
from lindae.dynamics import sample_loss_and_gradient


@pytest.mark.parametrize("sampled", [False, True])
@pytest.mark.parametrize("H, D", [(2, 3), (40, 60)])                    # side by side, and seed by seed
def test_one_step_is_each_seeds_own_gradient(sampled, H, D):
    """Two seeds, B = 3, from the aligned start: the step equals sample_loss_and_gradient on each seed's own minibatch,
    drawn from that seed's own generators (samples, then noise), for a small model (its seeds stepped side by side)
    and a large one (each seed alone, updated in place by BLAS)."""
    lam, eps, gam, eta, B, S = 2.0 ** -np.arange(D), 0.3, 0.05, 0.1, 3, 2
    assert (2 * H * D <= validation.training.sgd.SIDE_BY_SIDE_MAX) == (H == 2)
    ens = validation.train_sgd_ensemble(H, eta, 1, batch_size=B, seeds=S, eigenvalues=lam, noise_var=eps,
                                        weight_decay=gam, sampled_noise=sampled, u0=0.2, seed=7)
    both = []
    for s in range(S):
        data, noise = validation.training.sgd.seed_generators(7, s)
        xb = data.standard_normal((B, D)) * np.sqrt(lam)
        xt = xb + np.sqrt(eps) * noise.standard_normal((B, D)) if sampled else xb
        W1 = np.zeros((H, D))
        W1[np.arange(H), np.arange(H)] = np.sqrt(0.2)
        W2 = W1.T.copy()
        _, g1, g2 = sample_loss_and_gradient(W1, W2, xt, xb, 0.0 if sampled else eps, gam)
        W1, W2 = W1 - eta * g1, W2 - eta * g2
        both.append(np.diag(W2 @ W1))
    both = np.array(both)
    np.testing.assert_allclose(ens.mean[1], both.mean(0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ens.std[1], both.std(0, ddof=1), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("sampled, eps, gam", [(True, 0.5, 0.0), (False, 0.5, 0.05), (True, 0.0, 0.1)])
def test_side_by_side_and_seed_by_seed_give_the_same_ensemble(sampled, eps, gam):
    """The two ways of stepping the seeds (batched products, or each seed alone with in-place BLAS updates and
    Welford pooling) give the same statistics and the same diverged seeds over 300 steps, to rounding."""
    from lindae.validation.training import sgd
    lam = 2.0 ** -np.arange(5)
    p = sgd._Problem(3, 5, 4, 0.05, eps, gam, sampled, np.sqrt(lam), None, 1e-2, 300, list(range(0, 301, 30)))
    a = sgd._side_by_side(p, [sgd.seed_generators(3, i) for i in range(6)], None)
    b = sgd._one_by_one(p, [sgd.seed_generators(3, i) for i in range(6)], None)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[3], b[3])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-10, atol=1e-30)


def test_an_ensemble_split_into_ranges_of_seeds_pools_to_the_whole():
    """Seeds 0-4 and 5-11 of a family, trained apart (first = 5) and pooled, give the 12-seed ensemble: a seed's run
    depends only on its index, never on how the seeds were grouped."""
    kw = dict(batch_size=4, eigenvalues=[2.0, 0.5, 0.25], noise_var=0.5, u0=1e-2, record_every=10, seed=5)
    whole = validation.train_sgd_ensemble(2, 0.05, 40, seeds=12, **kw)
    parts = [validation.train_sgd_ensemble(2, 0.05, 40, seeds=5, **kw),
             validation.train_sgd_ensemble(2, 0.05, 40, seeds=7, first=5, **kw)]
    pooled = validation.combine_sgd_ensembles(parts)
    np.testing.assert_allclose(pooled.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(pooled.std, whole.std, rtol=1e-10, atol=1e-15)          # all seeds start equal
    shifted = validation.train_sgd_ensemble(2, 0.05, 40, seeds=7, first=4, **kw)
    assert not np.allclose(shifted.mean, parts[1].mean)                   # another range of seeds differs


@pytest.mark.parametrize("sampled", [False, True])
def test_one_mode_matches_the_propagated_moments(sampled):
    """D = H = 1 is S1-S2's one-mode model exactly: over 2000 seeds (B = 4, λ = 1.5, ε = 0.5, η = 0.02), every mean
    within 5 standard errors (13 comparisons) and every standard deviation within 10 % (its sampling error over 2000
    seeds is 1.6 %; the propagation's own error is a few %)."""
    ens = validation.train_sgd_ensemble(1, 0.02, 1200, batch_size=4, seeds=2000, eigenvalues=[1.5], noise_var=0.5,
                                        sampled_noise=sampled, u0=1e-3, record_every=100)
    th = validation.run_sgd_theory(ens)
    assert np.all(np.abs(ens.mean - th["mean"])[1:] <= 5 * ens.se[1:])
    assert np.all(np.abs(ens.std[1:] / th["std"][1:] - 1) <= 0.10)
    assert not ens.diverged.any()


def test_rows_drawn_from_data_carry_their_fourth_moments():
    rng = np.random.default_rng(0)
    X = rng.laplace(size=(500, 4)) * np.array([2.0, 1.0, 0.6, 0.3])
    ens = validation.train_sgd_ensemble(2, 0.01, 20, batch_size=8, seeds=5, X=X, noise_var=0.2, record_every=10)
    spec = validation.compute_spectrum(X)
    np.testing.assert_allclose(ens.fourth_moment, np.mean((X @ spec.eigenvectors) ** 4, axis=0), rtol=1e-12)
    assert np.all(ens.fourth_moment > 3 * ens.eigenvalues ** 2)          # Laplace data: heavier tails than Gaussian
    Z2 = (X @ spec.eigenvectors) ** 2
    np.testing.assert_allclose(ens.cross_moment, np.einsum("ni,nj->ij", Z2, Z2) / len(X), rtol=1e-12)
    th = validation.run_sgd_theory(ens)
    assert th["mean"].shape == ens.mean.shape and np.all(th["mean"][1:, 2:] > 0)   # modes beyond H: leakage (S3)
    assert np.all(validation.run_sgd_theory(ens, pairs=False)["mean"][:, 2:] == 0)


def test_divergence_and_bad_input():
    with pytest.raises(dynamics.DivergenceError, match="every one of the 4 seeds diverged"):
        validation.train_sgd_ensemble(1, 5.0, 200, batch_size=1, seeds=4, eigenvalues=[4.0], u0=0.5)
    with pytest.raises(dynamics.InvalidArgument, match="not both"):
        validation.train_sgd_ensemble(1, 0.1, 1, batch_size=1, eigenvalues=[1.0], X=np.ones((3, 1)))
    with pytest.raises(dynamics.InvalidArgument, match="exceeds D"):
        validation.train_sgd_ensemble(3, 0.1, 1, batch_size=1, eigenvalues=[1.0, 2.0])
