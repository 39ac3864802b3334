"""Eigenbasis training against the naive algorithm and against theory."""
import numpy as np
import pytest

from lindae import dynamics
from lindae.validation import (compute_spectrum, data_loss_and_gradient, relu_loss_and_gradient, run_theory,
                        train_linear_ae, train_linear_ae_naive, agreement)


@pytest.mark.parametrize("noise_var,weight_decay", [(0.0, 0.0), (0.3, 0.0), (0.0, 0.2), (0.2, 0.1)])
def test_eigenbasis_training_equals_the_naive_algorithm(synthetic_data, noise_var, weight_decay):
    X = synthetic_data
    spec = compute_spectrum(X)
    res = train_linear_ae(X, 5, 0.05, 150, noise_var=noise_var, weight_decay=weight_decay, init_scale=1e-2, seed=3, spectrum=spec)
    rng = np.random.default_rng(3)
    W1, W2 = 1e-2 * rng.standard_normal((5, 12)), 1e-2 * rng.standard_normal((12, 5))
    W1n, W2n, hist = train_linear_ae_naive(X, W1, W2, 0.05, 150, noise_var=noise_var, weight_decay=weight_decay,
                                           record=spec.eigenvectors)
    np.testing.assert_allclose(res.strengths, hist, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.W2 @ res.W1, W2n @ W1n, rtol=0, atol=1e-12)
    # R14 from the data-basis weights directly
    V = spec.eigenvectors
    np.testing.assert_allclose(res.effective_u0, np.sum((W1 @ V + W2.T @ V) ** 2, axis=0) / 4, rtol=1e-12)


def test_recorded_loss_is_the_marginalised_loss(synthetic_data):
    res = train_linear_ae(synthetic_data, 4, 0.05, 20, noise_var=0.3, weight_decay=0.1, init_scale=0.1)
    L, _, _ = data_loss_and_gradient(res.W1, res.W2, synthetic_data, synthetic_data, 0.3, 0.1)
    assert res.loss[-1] == pytest.approx(L, rel=1e-10)


@pytest.mark.parametrize("noise_var,weight_decay", [(0.0, 0.0), (0.5, 0.0), (0.0, 0.3)])
def test_aligned_training_agrees_with_the_discrete_theory_to_1e_9(synthetic_data, noise_var, weight_decay):
    res = train_linear_ae(synthetic_data, 6, 0.1, 400, noise_var=noise_var, weight_decay=weight_decay, init="aligned",
                          modes=[1, 2, 3, 4, 5, 6], a0=[0.01, 0.3, -0.2, 0.05, 1e-3, 0.4], b0=[0.02, 0.1, 0.5, 0.05, 2e-3, -0.1])
    th = run_theory(res, time="discrete")
    assert np.max(np.abs(res.strengths - th)) < 1e-9
    assert np.max(res.leakage) < 1e-7


def test_random_initialisation_agrees_with_orthogonalised_R14(synthetic_data):
    res = train_linear_ae(synthetic_data, 6, 0.05, 3000, init_scale=1e-4, seed=1, record_every=5)
    ag, _ = agreement(res, [1, 2, 3, 4, 5, 6], theory="orthogonal")
    # issue 10's acceptance bound for a theory of every mode <= H from init 1e-4: worst |s - theory| <= 0.05
    assert max(v["max_abs"] for v in ag.values()) <= 0.05
    assert res.leakage[0] > 0.5 and res.leakage[-1] < 0.05  # random start mixes modes; learning decouples them


@pytest.mark.slow
def test_sampled_noise_approximates_the_marginalised_penalty(synthetic_data):
    X = np.repeat(synthetic_data, 10, axis=0)
    common = dict(noise_var=0.4, init_scale=1e-2, seed=0, record_every=50)
    marg = train_linear_ae(X, 4, 0.05, 400, **common)
    samp = train_linear_ae(X, 4, 0.05, 400, sampled_noise=True, **common)
    # 2 standard errors of the sampled cross term (X + noise)ᵀX/N - Σ along mode 1: sqrt(λ₁σ²/N) = sqrt(3.1·0.4/4000) = 0.0176
    assert np.max(np.abs(marg.strengths[-1] - samp.strengths[-1])) < 0.035
    mini = train_linear_ae(X, 4, 0.01, 40, sampled_noise=True, batch_size=400, **common)
    assert np.all(np.isfinite(mini.strengths))


def test_divergence_is_reported_with_the_mode_and_bound_and_keeps_records(synthetic_data):
    spec = compute_spectrum(synthetic_data)
    lr = 1.5 / spec.eigenvalues[0]
    with pytest.raises(dynamics.DivergenceError, match=r"mode 1 .*stability bound") as info:
        train_linear_ae(synthetic_data, 4, lr, 2000, init_scale=0.1)
    assert info.value.mode == 1 and info.value.bound == pytest.approx(1 / spec.eigenvalues[0])
    assert len(info.value.partial.epochs) > 0 and np.all(np.isfinite(info.value.partial.strengths))


@pytest.mark.parametrize("kwargs,needle", [
    (dict(hidden=13), "hidden must be <= D = 12"),
    (dict(lr=0.0), "lr must be > 0"),
    (dict(epochs=-1), "epochs must be >= 0"),
    (dict(noise_var=-0.1), "noise_var must be >= 0"),
    (dict(weight_decay=np.inf), "weight_decay must be finite"),
    (dict(init="zeros"), "init must be 'random', 'aligned' or 'given'"),
    (dict(init="aligned"), "needs u0, or a0 and b0"),
    (dict(init="aligned", modes=[1, 1], u0=0.1), "distinct mode numbers"),
    (dict(init="aligned", modes=[0, 1], u0=0.1), "1-based"),
    (dict(batch_size=5), "sampled_noise"),
])
def test_bad_training_arguments_name_the_argument(synthetic_data, kwargs, needle):
    args = dict(hidden=4, lr=0.01, epochs=3) | kwargs
    with pytest.raises((ValueError, TypeError), match=needle):
        train_linear_ae(synthetic_data, **args)


def test_bad_data_is_rejected():
    with pytest.raises(ValueError, match="2-D"):
        train_linear_ae(np.ones(5), 1, 0.1, 1)
    with pytest.raises(ValueError, match="NaN or inf"):
        train_linear_ae(np.array([[1.0, np.nan]]), 1, 0.1, 1)


def test_relu_backprop_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.random((7, 5))
    Xn = X + 0.3 * rng.standard_normal(X.shape)
    W1, W2 = rng.standard_normal((3, 5)), rng.standard_normal((5, 3))
    _, g1, g2 = relu_loss_and_gradient(W1, W2, Xn, X)
    for W, g in ((W1, g1), (W2, g2)):
        num = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            old = W[idx]
            W[idx] = old + 1e-6
            lp = relu_loss_and_gradient(W1, W2, Xn, X)[0]
            W[idx] = old - 1e-6
            lm = relu_loss_and_gradient(W1, W2, Xn, X)[0]
            W[idx] = old
            num[idx] = (lp - lm) / 2e-6
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("blank", [(), (0, 4, 8)])
def test_relu_step_without_noise_is_the_backprop_gradient(blank):
    """Also with inputs that are zero in every sample, which the step leaves out of its large products."""
    from lindae.validation.training.relu import ReluStep
    rng = np.random.default_rng(1)
    X = rng.random((40, 9))
    X[:, list(blank)] = 0.0
    W1, W2 = rng.standard_normal((4, 9)), rng.standard_normal((9, 4))
    _, g1, g2 = relu_loss_and_gradient(W1, W2, X, X)
    h1, h2 = ReluStep(X).gradients(W1, W2)
    np.testing.assert_allclose(h1, g1, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(h2, g2, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("blank", [(), (2, 7)])
@pytest.mark.parametrize("noise_std", [0.0, 0.8])
def test_relu_step_measures_what_mode_response_measures(noise_std, blank):
    """The record taken from an epoch's own products (clean inputs, also for a noisy epoch) against the
    separate forward pass of mode_response, in float64 (rounding only), with and without blank inputs."""
    from lindae.validation.training.relu import ReluStep, mode_response
    rng = np.random.default_rng(6)
    X = rng.random((50, 8))
    X[:, list(blank)] = 0.0
    spec = compute_spectrum(X)
    W1, W2 = rng.standard_normal((3, 8)), rng.standard_normal((8, 3))
    Vk, lamk = spec.eigenvectors[:, :4], spec.eigenvalues[:4]
    step = ReluStep(X, noise_std, seed=1)
    step.measure_with(Vk, lamk)
    g1, g2, (m, loss) = step.gradients(W1, W2, measure=True)
    step.close()
    m_ref, loss_ref = mode_response(W1, W2, X, Vk, lamk, with_loss=True)
    np.testing.assert_allclose(m, m_ref, rtol=1e-12)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    if not noise_std:
        np.testing.assert_allclose(g1, relu_loss_and_gradient(W1, W2, X, X)[1], rtol=1e-10, atol=1e-13)


def test_relu_step_noise_has_the_distribution_of_explicit_noise():
    """ReluStep draws n·H + H·D normals instead of the n·D of X + σN; the gradients must have the same law.
    Compared: the mean and the variance of every gradient entry over 20 000 draws of each, within 5 standard
    errors of their difference (a dropped or mis-scaled noise term moves the variances by far more). One input
    is zero in every sample: the noise still reaches it, though the step leaves it out of its large products."""
    from lindae.validation.training.relu import ReluStep
    rng = np.random.default_rng(2)
    n, D, H, std, draws = 6, 5, 2, 0.7, 20_000
    X = rng.random((n, D))
    X[:, 3] = 0.0
    W1, W2 = rng.standard_normal((H, D)), rng.standard_normal((D, H))
    step = ReluStep(X, std, seed=3)
    ours = np.array([np.concatenate([g.ravel() for g in step.gradients(W1, W2)]) for _ in range(draws)])
    step.close()
    ref = np.array([np.concatenate([g.ravel() for g in relu_loss_and_gradient(W1, W2, X + std * rng.standard_normal(X.shape), X)[1:]])
                    for _ in range(draws)])
    se_mean = np.sqrt((ours.var(0) + ref.var(0)) / draws)
    assert np.all(np.abs(ours.mean(0) - ref.mean(0)) <= 5 * se_mean + 1e-12)
    # the variance of a sample variance is (m4 - s^4)/draws per entry
    m4 = lambda a: np.mean((a - a.mean(0)) ** 4, axis=0)  # noqa: E731
    se_var = np.sqrt((m4(ours) - ours.var(0) ** 2 + m4(ref) - ref.var(0) ** 2) / draws)
    assert np.all(np.abs(ours.var(0) - ref.var(0)) <= 5 * se_var + 1e-12)


def test_eigenbasis_step_buffers_and_products_are_consistent():
    from lindae.validation.training.eigenbasis import EigenbasisStep, low_rank_singular_values
    rng = np.random.default_rng(5)
    H, D = 6, 15
    lam = np.sort(rng.random(D))[::-1] * 3
    P, Q = 0.3 * rng.standard_normal((H, D)), 0.3 * rng.standard_normal((H, D))
    step = EigenbasisStep(P, Q, lam, 0.2, 0.1, 0.05)
    for _ in range(7):
        step.step()
    s, loss, leak = step.record()
    # independent: form W = Q^T P in the eigenbasis and evaluate R1 with Sigma = diag(lam) directly
    W = step.Q.T @ step.P
    I = np.eye(D)
    direct = 0.5 * np.trace((I - W) @ np.diag(lam) @ (I - W).T) + 0.1 * np.sum(W * W) \
        + 0.05 * (np.sum(step.P ** 2) + np.sum(step.Q ** 2))
    assert loss == pytest.approx(direct, rel=1e-12)
    np.testing.assert_allclose(s, np.diag(W), rtol=1e-12)
    off = W - np.diag(np.diag(W))
    assert leak == pytest.approx(np.linalg.norm(off) / np.linalg.norm(W), rel=1e-10)
    assert np.all(np.tril(step.M, -1) == 0) and np.all(np.tril(step.N, -1) == 0)
    sv = np.linalg.svd(W, compute_uv=False)[:H]
    np.testing.assert_allclose(low_rank_singular_values(step.P, step.Q), sv, rtol=1e-10)
    np.testing.assert_allclose(low_rank_singular_values(step.P, step.Q, (step.M, step.gram_P())), sv, rtol=1e-8)


def test_noise_buffer_is_gaussian_and_independent_of_the_thread_count(monkeypatch):
    from lindae.validation.training import noise
    X = np.zeros((4000, 50))
    with noise.NoiseBuffer(4000, 50, 2.0, seed=7) as nb:
        a = nb.add_to(X).copy()
    # n = 200 000 draws of N(0, 4): 0.01 is 2.2 standard errors of the mean (2/√n) and 3.2 of the std (2/√(2n))
    assert abs(a.mean()) < 0.01 and abs(a.std() - 2.0) < 0.01
    monkeypatch.setattr(noise.os, "cpu_count", lambda: 1)
    with noise.NoiseBuffer(4000, 50, 2.0, seed=7) as nb:
        b = nb.add_to(X).copy()
        c = nb.add_to(X[:100] + 1.0).copy()           # a smaller batch reuses the buffer
    np.testing.assert_array_equal(a, b)
    assert c.shape == (100, 50) and abs(c.mean() - 1.0) < 0.2    # 5000 draws: 0.2 is 7 standard errors (2/√5000)

