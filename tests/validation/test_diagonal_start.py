"""A diagonal (aligned) start is trained at O(H) per epoch: every recorded series must equal the
full-matrix eigenbasis trainers' (forced by hiding the diagonal support) to rounding."""
import numpy as np
import pytest

import lindae.validation.training.deep as deep
import lindae.validation.training.linear as linear
from lindae.validation import compute_spectrum, train_linear_ae
from lindae.validation.training.diagonal import diagonal_support


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((400, 10)) * np.linspace(2.5, 0.2, 10)
    X_test = rng.standard_normal((300, 10)) * np.linspace(2.2, 0.3, 10)
    return X, X_test, compute_spectrum(X)


def _both(module, monkeypatch, train):
    fast = train()
    monkeypatch.setattr(module, "diagonal_support", lambda *a, **k: None)
    full = train()
    return fast, full


@pytest.mark.parametrize("noise_var, weight_decay", [(0.0, 0.0), (0.4, 0.0), (0.0, 0.1), (0.3, 0.05)])
def test_aligned_linear_training_equals_the_full_matrix_step(data, monkeypatch, noise_var, weight_decay):
    X, X_test, spec = data
    kw = dict(noise_var=noise_var, weight_decay=weight_decay, init="aligned", a0=[0.02, 0.3, 0.1], b0=[0.05, 0.2, 0.4],
              modes=[1, 3, 6], record_every=7, sv_every=14, spectrum=spec, X_test=X_test)
    fast, full = _both(linear, monkeypatch, lambda: train_linear_ae(X, 5, 0.05, 300, **kw))
    np.testing.assert_allclose(fast.strengths, full.strengths, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.loss, full.loss, rtol=1e-12)
    np.testing.assert_allclose(fast.singular_values, full.singular_values, rtol=1e-7, atol=1e-12)  # Cholesky route: ~1e-8 (its docstring)
    assert np.all(full.leakage < 1e-7) and np.all(fast.leakage == 0)      # rounding of a zero in the full step
    for name in ("test_error", "test_denoising_error", "train_error", "train_denoising_error"):
        np.testing.assert_allclose(getattr(fast, name), getattr(full, name), rtol=1e-12)
    for a, b in zip((fast.W1, fast.W2), (full.W1, full.W2)):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("L", [3, 4])
def test_aligned_deep_training_equals_the_full_matrix_step(data, monkeypatch, L):
    X, _, spec = data
    layers = np.random.default_rng(L).uniform(0.05, 0.5, (L, 4))
    kw = dict(depth=L, noise_var=0.3, weight_decay=0.02, init="aligned", layers=layers, modes=[1, 2, 5, 9],
              record_every=10, spectrum=spec)
    fast, full = _both(deep, monkeypatch, lambda: deep.train_deep_linear_ae(X, 6, 0.05, 300, **kw))
    np.testing.assert_allclose(fast.strengths, full.strengths, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.loss, full.loss, rtol=1e-12)


def test_only_diagonal_starts_are_diagonal():
    P, Q = np.zeros((3, 6)), np.zeros((3, 6))
    P[0, 2], Q[0, 2], P[1, 4] = 0.1, 0.2, 0.3
    assert list(diagonal_support(P, Q)) == [2, 4, -1]
    assert list(diagonal_support(P, Q, [np.diag([1.0, 2.0, 0.0])])) == [2, 4, -1]
    Q2 = Q.copy()
    Q2[0, 3] = 1e-300                       # a second mode on one unit
    assert diagonal_support(P, Q2) is None
    P2 = P.copy()
    P2[2, 2] = 0.5                          # two units on one mode
    assert diagonal_support(P2, Q) is None
    mid = np.diag([1.0, 2.0, 3.0])
    mid[0, 1] = 1e-300                      # a middle layer that mixes units
    assert diagonal_support(P, Q, [mid]) is None
    assert diagonal_support(P, Q, [np.diag([1.0, 2.0, 1e-300])]) is None     # a unit without a mode, in the middle
    assert diagonal_support(np.random.default_rng(0).standard_normal((3, 6)), Q) is None
