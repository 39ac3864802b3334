"""Train and test errors recorded during training (G1's trace form) and their theory (run_test_theory)."""
import numpy as np
import pytest

from lindae import validation


@pytest.fixture(scope="module")
def data():
    """A population with a decaying spectrum; 200 training samples (D = 10), 20 000 test samples."""
    rng = np.random.default_rng(7)
    D = 10
    basis = np.linalg.qr(rng.standard_normal((D, D)))[0]
    scales = np.geomspace(2.0, 0.3, D)
    draw = lambda n: (rng.standard_normal((n, D)) * scales) @ basis.T  # noqa: E731
    return draw(200), draw(20_000)


def direct_errors(W1, W2, X, noise_var):
    """½ mean ‖x − Wx‖² over the rows of X in the data basis, and the same with marginalised noise."""
    W = W2 @ W1
    R = X - X @ W.T
    clean = 0.5 * np.mean(np.sum(R * R, axis=1))
    return clean, clean + 0.5 * noise_var * np.sum(W * W)


@pytest.mark.parametrize("sampled", [False, True])
def test_the_recorded_errors_are_the_definitions(data, sampled):
    X, Xt = data
    r = validation.train_linear_ae(X, 4, 0.05, 60, noise_var=0.3, X_test=Xt, record_every=60, sampled_noise=sampled)
    clean, noisy = direct_errors(r.W1, r.W2, Xt, 0.3)
    assert r.test_error[-1] == pytest.approx(clean, rel=1e-10)
    assert r.test_denoising_error[-1] == pytest.approx(noisy, rel=1e-10)
    clean, noisy = direct_errors(r.W1, r.W2, X, 0.3)
    assert r.train_error[-1] == pytest.approx(clean, rel=1e-10)
    assert r.train_denoising_error[-1] == pytest.approx(noisy, rel=1e-10)


def test_the_training_loss_is_the_train_denoising_error(data):
    X, Xt = data
    r = validation.train_linear_ae(X, 4, 0.05, 100, noise_var=0.3, X_test=Xt, record_every=10)
    np.testing.assert_allclose(r.loss, r.train_denoising_error, rtol=1e-12)


def test_centred_runs_measure_centred_test_inputs(data):
    X, Xt = data
    r = validation.train_linear_ae(X + 3.0, 4, 0.05, 50, X_test=Xt + 3.0, record_every=50, center=True)
    clean, _ = direct_errors(r.W1, r.W2, Xt + 3.0 - (X + 3.0).mean(axis=0), 0.0)
    assert r.test_error[-1] == pytest.approx(clean, rel=1e-10)


def test_aligned_starts_are_predicted_exactly(data):
    """An aligned W̃ stays diagonal: G1 on the exact per-mode map is the measured curve to rounding."""
    X, Xt = data
    r = validation.train_linear_ae(X, 4, 0.05, 400, noise_var=0.3, X_test=Xt, record_every=5, init="aligned", u0=1e-4)
    predicted = validation.run_test_theory(r)
    for name, curve in predicted.items():
        np.testing.assert_allclose(curve, getattr(r, name), rtol=1e-9)


def test_random_starts_stay_within_the_bound_r15_implies(data):
    X, Xt = data
    r = validation.train_linear_ae(X, 4, 0.05, 600, noise_var=0.3, X_test=Xt, record_every=5, seed=3)
    predicted = validation.run_test_theory(r)
    for curve in ("test_error", "test_denoising_error", "train_error", "train_denoising_error"):
        gap = np.abs(predicted[curve] - getattr(r, curve))
        bound = validation.test_error_bound(r, curve=curve)
        assert np.all(gap <= bound * (1 + 1e-9) + 1e-12)
    # not vacuous: once the modes settle, R15 is at the fixed points and the bound is rounding-small; in between it
    # follows R15's own error during the competition for the H directions
    bound = validation.test_error_bound(r)
    assert bound[-1] < 1e-5 * r.test_denoising_error[-1] and np.max(bound) > 10 * bound[-1]


def test_a_wrong_test_moment_is_caught(data):
    """The check can fail: the theory evaluated with the training eigenvalues for M misses the test curve."""
    X, Xt = data
    r = validation.train_linear_ae(X, 4, 0.05, 400, noise_var=0.3, X_test=Xt, record_every=5, init="aligned", u0=1e-4)
    from lindae.dynamics import test_error
    wrong = test_error(validation.run_theory(r), r.eigenvalues, test_noise_var=0.3)
    assert np.max(np.abs(wrong - r.test_denoising_error) / r.test_denoising_error) > 1e-3


def test_bad_test_data_say_why(data):
    X, Xt = data
    with pytest.raises(ValueError, match="X_test has D = 3"):
        validation.train_linear_ae(X, 4, 0.05, 10, X_test=Xt[:, :3])
    with pytest.raises(TypeError, match="X_test"):
        validation.train_linear_ae(X, 4, 0.05, 10, X_test=Xt, depth=3, init="aligned", u0=1e-3)
    r = validation.train_linear_ae(X, 4, 0.05, 10)
    with pytest.raises(ValueError, match="trained without X_test"):
        validation.run_test_theory(r)


def test_test_data_given_after_training(data):
    X, Xt = data
    with_test = validation.train_linear_ae(X, 4, 0.05, 100, noise_var=0.3, X_test=Xt, record_every=10)
    without = validation.train_linear_ae(X, 4, 0.05, 100, noise_var=0.3, record_every=10)
    later = validation.run_test_theory(without, Xt)
    for name, curve in validation.run_test_theory(with_test).items():
        np.testing.assert_allclose(later[name], curve, rtol=1e-12)
