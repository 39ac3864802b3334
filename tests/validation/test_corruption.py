"""Training under masking, anisotropic Gaussian noise and hidden-unit dropout (issue 23), against references that
do not use the code under test: enumeration of masks and dropout patterns, sampled corruption, R12's per-mode map,
the issue's own numbers, and N5's optimum (itself tested against the pencil's eigenvalues)."""
import itertools

import numpy as np
import pytest

from lindae.dynamics import InvalidArgumentType, gd_modes
from lindae.dynamics.noise_models import rank_h_optimum
from lindae.validation import parse_config, run_config
from lindae.validation.experiments.config import ConfigError
from lindae.validation.experiments.runner import standardize
from lindae.validation.theory import run_corrupted_theory
from lindae.validation.training.corruption import Corruption, train_corrupted_ae


def _correlated(seed=0, N=300, D=6, spread=(3.0, 0.2), pixels=(0.3, 2.0)):
    """Data whose pixels have different variances (scales drawn from ``pixels``) and correlations, so masking is
    anisotropic in the eigenbasis."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    return (rng.standard_normal((N, D)) * np.sqrt(np.geomspace(*spread, D))) @ Q.T * rng.uniform(*pixels, D)


def _expected_loss_and_gradient(X, W1, W2, corruption):
    """E over every mask (or dropout pattern) of every sample of ½‖x − W₂ r W₁ x̃‖² and its gradients, enumerated."""
    N, D = X.shape
    H = W1.shape[0]
    L, g1, g2 = 0.0, np.zeros_like(W1), np.zeros_like(W2)
    q = corruption.keep if corruption.kind.startswith("masking") else corruption.dropout_keep
    width = H if corruption.kind == "hidden_dropout" else D
    for n in range(N):
        x = X[n]
        for m in itertools.product((0, 1), repeat=width):
            p = np.prod([q if mi else 1 - q for mi in m])
            m = np.array(m, dtype=float)
            if corruption.kind == "hidden_dropout":
                xt, r = x, m / q
            else:
                xt, r = x * m / (q if corruption.kind == "masking" else 1.0), np.ones(H)
            h = r * (W1 @ xt)
            res = W2 @ h - x
            L += p * 0.5 * res @ res / N
            g2 += p * np.outer(res, h) / N
            g1 += p * np.outer(r * (W2.T @ res), xt) / N
    return L, g1, g2


@pytest.mark.parametrize("corruption", [Corruption.masking(0.7), Corruption.masking(0.6, scaled=False),
                                        Corruption.hidden_dropout(0.6)])
def test_marginalised_step_is_the_expected_gradient(corruption):
    """One marginalised epoch equals GD on the exact average over every corruption of every sample."""
    X = _correlated(N=3, D=4)
    lr = 0.05
    r0 = train_corrupted_ae(X, 2, lr, 0, corruption=corruption, init_scale=0.3, seed=1)
    r1 = train_corrupted_ae(X, 2, lr, 1, corruption=corruption, init_scale=0.3, seed=1, record_every=1)
    W1, W2 = r0.W1, r0.W2
    L, g1, g2 = _expected_loss_and_gradient(X, W1, W2, corruption)
    np.testing.assert_allclose(r0.loss[0], L, rtol=1e-12)
    np.testing.assert_allclose(r1.W1, W1 - lr * g1, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(r1.W2, W2 - lr * g2, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("corruption", [Corruption.masking(0.75), Corruption.masking(0.75, scaled=False),
                                        Corruption.gaussian_diag(0.4), Corruption.hidden_dropout(0.7)])
def test_sampled_loss_averages_to_the_marginalised_one(corruption):
    """N1-N3: the sampled loss at fixed weights, averaged over 4000 draws, is within 4 standard errors of the
    marginalised loss (4 standard errors: a false alarm once in ~16 000 runs of this derandomised test)."""
    X = _correlated(N=50, D=5)
    r = train_corrupted_ae(X, 3, 0.01, 0, corruption=corruption, init_scale=0.4, seed=2)
    rng = np.random.default_rng(7)
    Sigma = X.T @ X / len(X)
    losses = []
    for _ in range(4000):
        Xt = corruption.corrupt(X, rng, np.diag(Sigma))
        Hh = Xt @ r.W1.T
        if corruption.kind == "hidden_dropout":
            Hh = Hh * (rng.random(Hh.shape) < corruption.dropout_keep) / corruption.dropout_keep
        losses.append(0.5 * np.mean(np.sum((Hh @ r.W2.T - X) ** 2, axis=1)))
    mean, se = np.mean(losses), np.std(losses, ddof=1) / np.sqrt(len(losses))
    assert abs(mean - r.loss[0]) < 4 * se, (mean, r.loss[0], se)


def test_sampled_training_follows_the_marginalised_one():
    """Full-batch training with fresh masks every epoch tracks the marginalised run; with minibatches of N/4 rows
    (four steps an epoch) it tracks the marginalised run at four times the learning rate."""
    X = _correlated(N=4000, D=5)
    kw = dict(corruption=Corruption.masking(0.8), init_scale=0.05, seed=3, record_every=50)
    a = train_corrupted_ae(X, 3, 0.02, 400, **kw)
    b = train_corrupted_ae(X, 3, 0.02, 400, sampled=True, **kw)
    # the sampled gradient's error is O(1/sqrt(N)) per step and averages out over steps: measured 0.004
    assert np.max(np.abs(a.strengths - b.strengths)) < 0.03
    c = train_corrupted_ae(X, 3, 0.005, 400, sampled=True, batch_size=1000, **kw)
    assert np.max(np.abs(a.strengths - c.strengths)) < 0.03
    assert np.max(np.abs(a.strengths[-1] - a.strengths[0])) > 0.5          # the modes moved


def test_standardised_masking_is_the_isotropic_dae_exactly():
    """N4: with diag Σ = I, masking at keep q from an aligned start is R12's per-mode map with ε = (1 − q)/q."""
    X = standardize(_correlated(N=400, D=8))
    np.testing.assert_allclose(np.mean(X * X, axis=0), 1.0, rtol=1e-12)
    q, lr, epochs = 0.75, 0.02, 600
    r = train_corrupted_ae(X, 4, lr, epochs, corruption=Corruption.masking(q), init="aligned", u0=1e-4, record_every=10)
    assert np.max(r.leakage) < 1e-12
    which, th = run_corrupted_theory(r)
    assert "per-mode" in which
    ref = gd_modes(epochs, r.eigenvalues, noise_var=(1 - q) / q, a0=r.init_a0, b0=r.init_b0, lr=lr).strengths[r.epochs]
    np.testing.assert_allclose(r.strengths, ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(th, ref, rtol=0, atol=1e-12)


def test_raw_masking_couples_the_modes():
    X = _correlated(N=400, D=8)
    r = train_corrupted_ae(X, 4, 0.02, 300, corruption=Corruption.masking(0.6), init="aligned", u0=1e-2, record_every=100)
    assert r.leakage[-1] > 1e-3 and r.asymmetry[-1] > 1e-4


def test_surrogate_predicts_small_random_starts():
    """N7 on a mildly anisotropic problem (pixel scales within a factor 2), every mode <= H, bound 0.05 (the
    issue's). Strong anisotropy moves the end point by N8's second-order gap (the next test), and modes just beyond
    a narrow gap at the capacity limit inherit the closed form's error up to the hand-over (docs/theory.md, 2e)."""
    X = _correlated(N=500, D=12, spread=(4.0, 0.01), pixels=(0.7, 1.4))
    r = train_corrupted_ae(X, 4, 0.01, 3000, corruption=Corruption.masking(0.7), init_scale=1e-4, seed=0, record_every=10)
    which, th = run_corrupted_theory(r)
    assert "N7" in which and r.leakage[-1] > 1e-3
    assert np.max(np.abs(r.strengths[:, :4] - th[:, :4])) < 0.05
    assert np.min(r.strengths[-1, :4]) > 0.4       # every mode was learned, so the bound says something


def test_surrogate_end_point_misses_by_the_coupling():
    """Where the pixels' variances differ 40-fold the surrogate's end point is off by more (N8: second order in the
    off-diagonal of B̃); at full rank the true end point is KB⁻¹ exactly."""
    X = _correlated(N=500, D=4, spread=(4.0, 0.5))
    r = train_corrupted_ae(X, 4, 0.05, 4000, corruption=Corruption.masking(0.7), init_scale=1e-4, seed=0,
                           record_every=4000)
    _, th = run_corrupted_theory(r)
    true_end = np.diag(np.diag(r.kappa) @ np.linalg.inv(r.B))
    np.testing.assert_allclose(r.strengths[-1], true_end, atol=1e-6)
    gap = np.abs(th[-1] - true_end)
    assert 1e-3 < gap.max() < 0.1


def test_training_converges_to_the_rank_h_optimum():
    """N5: full-batch GD with marginalised masking ends at W* = [CB^{-1/2}]_H B^{-1/2} (a well-separated
    spectrum, so GD gets there in a few thousand steps)."""
    X = _correlated(N=500, D=6, spread=(4.0, 0.5))
    r = train_corrupted_ae(X, 2, 0.05, 6000, corruption=Corruption.masking(0.75), init_scale=1e-2, seed=0,
                           record_every=6000)
    Wt = r.eigenvectors.T @ r.W2 @ r.W1 @ r.eigenvectors
    W, loss, _ = rank_h_optimum(np.diag(r.kappa), r.B, 2, trace_sigma=np.sum(r.eigenvalues))
    assert np.linalg.norm(Wt - W) / np.linalg.norm(W) < 1e-6
    np.testing.assert_allclose(r.loss[-1], loss, rtol=1e-10)


def test_hidden_dropout_reaches_the_equalised_optimum():
    """The issue's example: Σ = diag(4, 1), H = 2, θ = 1/2 ends at strengths (0.625, 0.25), loss 2.25 (summed
    squares; 1.125 in lindae's ½ convention), not at the aligned saddle (0.5, 0.5) of loss 2.5."""
    X = np.diag(np.sqrt(2 * np.array([4.0, 1.0])))
    for seed in (0, 1, 2):
        r = train_corrupted_ae(X, 2, 0.05, 6000, corruption=Corruption.hidden_dropout(0.5), init_scale=0.1, seed=seed,
                               record_every=6000)
        Wt = r.eigenvectors.T @ r.W2 @ r.W1 @ r.eigenvectors
        np.testing.assert_allclose(np.diag(Wt), [0.625, 0.25], atol=1e-6)
        np.testing.assert_allclose(2 * r.loss[-1], 2.25, atol=1e-6)
    with pytest.raises(Exception, match="no learning-curve theory"):
        run_corrupted_theory(r)


def test_corruption_arguments():
    with pytest.raises(Exception, match="keep probability"):
        Corruption.masking(1.2)
    with pytest.raises(Exception, match="kind"):
        Corruption("salt")
    with pytest.raises(InvalidArgumentType, match="Corruption"):
        train_corrupted_ae(np.eye(3), 1, 0.1, 1, corruption="masking")


@pytest.mark.parametrize("entry, match", [
    ({"noise": "gaussian_diag", "keep": 0.5}, "'keep' does not apply to noise = 'gaussian_diag'"),
    ({"noise": "masking"}, "needs keep in"),
    ({"noise": "masking", "keep": 0.5, "dropout_keep": 0.5}, "'dropout_keep' does not apply"),
    ({"noise": "masking", "keep": 0.5, "weight_decay": 0.1}, "weight_decay does not apply"),
    ({"noise": "masking", "keep": 0.5, "batch_size": 10}, "batch_size needs sampled"),
    ({"noise": "masking", "keep": 0.5, "noise_var": 0.1}, "'noise_var' does not apply to a corrupted model"),
    ({"noise": "dropout", "keep": 0.5}, "'noise' must be one of"),
])
def test_config_names_the_combination_that_makes_no_sense(entry, match):
    raw = {"data": {"dataset": "diagonal", "eigenvalues": [2.0, 1.0]},
           "models": [{"name": "m", "kind": "corrupted", **entry}]}
    with pytest.raises(ConfigError, match=match):
        parse_config(raw, source="c.toml")


def test_diagonal_dataset_needs_eigenvalues():
    with pytest.raises(ConfigError, match="eigenvalues"):
        parse_config({"data": {"dataset": "diagonal"}, "models": [{"name": "m"}]})


def test_run_config_end_to_end(tmp_path):
    """A corrupted config runs, writes its figure and summary, and a rerun skips the finished models."""
    path = tmp_path / "x.npy"
    np.save(path, _correlated(N=300, D=8))
    raw = {"title": "t", "figure": "corrupted", "data": {"dataset": "array", "path": str(path)},
           "train": {"kind": "corrupted", "hidden": 3, "lr": 0.05, "epochs": 600, "record_every": 20},
           "report": {"modes": [1, 2, 3]},
           "models": [{"name": "mask", "noise": "masking", "keep": 0.8},
                      {"name": "gauss", "noise": "gaussian_diag", "noise_scale": 0.25},
                      {"name": "drop", "noise": "hidden_dropout", "dropout_keep": 0.8}]}
    res = run_config(raw, tmp_path / "out", log=lambda *a: None)
    assert (tmp_path / "out" / "figure.png").exists()
    # scaled masking at q and Gaussian noise ((1 − q)/q)·diag Σ have the same moments, hence the same run
    np.testing.assert_allclose(res["models"]["mask"]["series"]["1"]["actual"],
                               np.asarray(res["models"]["gauss"]["series"]["1"]["actual"]), rtol=1e-5, atol=1e-9)
    assert res["models"]["mask"]["agreement"]["max_abs"] < 0.2         # strongly anisotropic pixels: N8's gap
    assert "N6" in res["models"]["drop"]["optimum"]["theory"]
    lines = []
    run_config(raw, tmp_path / "out", log=lines.append)
    assert sum("skipped" in line for line in lines) == 3
