"""Many seeds of minibatch SGD at once: one step against the single-model gradient, the one-mode case against S1-S2's
propagated moments, measured fourth moments, divergence and bad input."""
import numpy as np
import pytest

from lindae import dynamics, validation
from lindae.dynamics import sample_loss_and_gradient


@pytest.mark.parametrize("sampled", [False, True])
def test_one_step_is_each_seeds_own_gradient(sampled):
    """Two seeds, B = 3, from the aligned start: the batched step equals sample_loss_and_gradient on each seed's own
    minibatch (the same draws, in the order the trainer makes them)."""
    lam, eps, gam, eta, B, S = np.array([2.0, 1.0, 0.5]), 0.3, 0.05, 0.1, 3, 2
    ens = validation.train_sgd_ensemble(2, eta, 1, batch_size=B, seeds=S, eigenvalues=lam, noise_var=eps,
                                        weight_decay=gam, sampled_noise=sampled, u0=0.2, seed=7)
    rng = np.random.default_rng(7)
    xb = rng.standard_normal((S, B, 3)) * np.sqrt(lam)
    xt = xb + np.sqrt(eps) * rng.standard_normal((S, B, 3)) if sampled else xb
    for s in range(S):
        W1 = np.zeros((2, 3))
        W1[[0, 1], [0, 1]] = np.sqrt(0.2)
        W2 = W1.T.copy()
        _, g1, g2 = sample_loss_and_gradient(W1, W2, xt[s], xb[s], 0.0 if sampled else eps, gam)
        W1, W2 = W1 - eta * g1, W2 - eta * g2
        one = np.diag(W2 @ W1)
        if s == 0:
            first = one
    both = np.array([first, one])
    np.testing.assert_allclose(ens.mean[1], both.mean(0), rtol=1e-12)
    np.testing.assert_allclose(ens.std[1], both.std(0, ddof=1), rtol=1e-9, atol=1e-15)


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
