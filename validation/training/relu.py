r"""A ReLU autoencoder x̂ = W2 relu(W1 x̃) in NumPy (Figure 6), with hand-written backprop.

Follows the authors' Figure 6 setting (docs/conventions.md, erratum E4): no biases, the mean
squared error over all N·D entries, weight decay applied as an optimiser term
W <- W - lr (grad + wd W), and fresh Gaussian input noise of standard deviation ``noise_std``
every epoch. The measured quantity is
:math:`m_i = v_i^\top(\tfrac1N\sum_n f(x_n)x_n^\top)v_i/\lambda_i`, which equals the mode strength
for a linear map.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from lindae.dynamics._checks import as_array, as_int
from lindae.dynamics.errors import DivergenceError, diverged

from lindae.validation.training.noise import NoiseBuffer
from lindae.validation.data.spectrum import Spectrum, compute_spectrum
from lindae.validation.training.linear import check_problem, schedule
from lindae.dynamics.errors import InvalidArgument
from lindae.dynamics.vocabulary import accepts_deprecated_names


def relu_loss_and_gradient(W1, W2, X_in, X_target, *, with_loss=True, work=None):
    r"""Loss :math:`\frac{1}{ND}\sum (W_2\,\mathrm{relu}(W_1x̃) - x)^2` and its gradients (backprop).

    Five n x D x H products; the elementwise work is done in place on their outputs. With
    ``with_loss=False`` the loss (one more pass over n x D) is skipped and returned as NaN.
    ``work`` (a dict, filled on first use) keeps the n x H and n x D intermediates between calls,
    so a training loop allocates (and page-faults) them once instead of every epoch.

    Returns (loss, dL/dW1 (H x D), dL/dW2 (D x H)).
    """
    n, d = X_target.shape
    h = W1.shape[0]
    work = {} if work is None else work
    dt = np.result_type(X_in, W1)

    def buf(name, shape):
        b = work.get(name)
        if b is None or b.shape != shape or b.dtype != dt:
            b = work[name] = np.empty(shape, dtype=dt)
        return b

    Z = np.matmul(X_in, W1.T, out=buf("Z", (n, h)))             # n x H
    Hid = np.maximum(Z, 0, out=buf("Hid", (n, h)))
    E = np.matmul(Hid, W2.T, out=buf("E", (n, d)))              # n x D
    E -= X_target
    scale = 2.0 / (n * d)
    loss = float(np.einsum("ij,ij->", E, E, dtype=np.float64)) / (n * d) if with_loss else float("nan")
    g2 = E.T @ Hid
    g2 *= scale
    dZ = np.matmul(E, W2, out=buf("dZ", (n, h)))
    dZ *= Z > 0
    g1 = dZ.T @ X_in
    g1 *= scale
    return loss, g1, g2


def relu_forward(W1, W2, X):
    return np.maximum(X @ W1.T, 0) @ W2.T


@dataclass
class ReluResult:
    """Learning curves of a ReLU autoencoder: ``m`` (K, n_modes) at ``epochs``, and the loss."""
    epochs: np.ndarray
    m: np.ndarray
    loss: np.ndarray
    eigenvalues: np.ndarray
    config: dict = field(default_factory=dict)
    seconds: float = 0.0


def mode_response(W1, W2, X, Vk, lamk):
    """m_i = v_iᵀ (f(X)ᵀ X / N) v_i / lambda_i for the columns v_i of Vk."""
    F = relu_forward(W1, W2, X)
    return np.sum((F @ Vk) * (X @ Vk), axis=0, dtype=np.float64) / (X.shape[0] * lamk)


@accepts_deprecated_names
def train_relu_ae(X, hidden, lr, epochs, *, noise_std=0.0, weight_decay=0.0, init_scale=1e-3, seed=0,
                  dtype="float32", record_every=10, n_modes=4, spectrum: Spectrum | None = None, progress=None,
                  name="model"):
    """Train the ReLU autoencoder by full-batch GD with sampled noise; record m_i of the top modes.

    Parameters
    ----------
    X : (N, D) data; hidden : H <= D; lr : learning rate > 0; epochs : >= 0
    noise_std : standard deviation of the input noise (the paper's Figure 6 uses 2)
    weight_decay : optimiser weight decay (the paper uses 0.0045)
    init_scale : weights ~ N(0, init_scale²) (the paper: variance 1e-6, so 1e-3)
    dtype : "float32" (default, 2x faster) or "float64"

    The noise is drawn by :class:`validation.noise.NoiseBuffer` from ``seed + 1``; the weights from ``seed``.
    """
    X, N, D, H, lr, epochs = check_problem(X, hidden, lr, epochs)
    noise_std = float(as_array("noise_std", noise_std, lo=0.0))
    weight_decay = float(as_array("weight_decay", weight_decay, lo=0.0))
    record_every = as_int("record_every", record_every, lo=1)
    n_modes = as_int("n_modes", n_modes, lo=1)
    if dtype not in ("float32", "float64"):
        raise InvalidArgument(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    spec = spectrum if spectrum is not None else compute_spectrum(X)
    Vk = spec.eigenvectors[:, :n_modes].astype(dtype)
    lamk = spec.eigenvalues[:n_modes]
    rng = np.random.default_rng(seed)
    W1 = (init_scale * rng.standard_normal((H, D))).astype(dtype)
    W2 = (init_scale * rng.standard_normal((D, H))).astype(dtype)
    Xd = X.astype(dtype)
    rec = schedule(epochs, record_every)
    M = np.empty((len(rec), n_modes))
    losses = np.empty(len(rec))
    start = time.perf_counter()
    config = dict(name=name, hidden=H, lr=lr, epochs=epochs, noise_std=noise_std, weight_decay=weight_decay,
                  init_scale=init_scale, seed=seed, dtype=dtype, record_every=record_every, N=N, D=D)
    noise = NoiseBuffer(N, D, noise_std, seed + 1, Xd.dtype) if noise_std > 0 else None
    shrink = Xd.dtype.type(1.0 - lr * weight_decay)
    try:
        _relu_loop(W1, W2, Xd, noise, shrink, lr, epochs, rec, M, losses, Vk, lamk, config, progress, name, start)
    finally:
        if noise is not None:
            noise.close()
    return ReluResult(rec, M, losses, lamk, config, time.perf_counter() - start)


def _relu_loop(W1, W2, Xd, noise, shrink, lr, epochs, rec, M, losses, Vk, lamk, config, progress, name, start):
    row = 0
    work = {}
    report_every = max(1, epochs // 10)
    for k in range(epochs + 1):
        if row < len(rec) and rec[row] == k:
            M[row] = mode_response(W1, W2, Xd, Vk, lamk)
            losses[row] = relu_loss_and_gradient(W1, W2, Xd, Xd, work=work)[0]
            row += 1
        if k == epochs:
            break
        noisy = noise.add_to(Xd) if noise is not None else Xd
        _, g1, g2 = relu_loss_and_gradient(W1, W2, noisy, Xd, with_loss=False, work=work)
        W1 *= shrink                    # W <- W - lr (grad + wd W)
        W1 -= lr * g1
        W2 *= shrink
        W2 -= lr * g2
        if diverged(np.sum(W1 * W1, dtype=np.float64), np.sum(W2 * W2, dtype=np.float64)):
            raise DivergenceError(f"ReLU training diverged at epoch {k + 1}: the weights left the overflow guard "
                                  f"(lr = {lr:g} too large)",
                                  step=k + 1, partial=ReluResult(rec[:row], M[:row], losses[:row], lamk, config))
        if progress is not None and (k + 1) % report_every == 0:
            el = time.perf_counter() - start
            progress(f"  {name}: epoch {k + 1}/{epochs}  loss {losses[row - 1]:.5g} (epoch {rec[row - 1]})  "
                     f"({(k + 1) / el:.1f} epochs/s)")
