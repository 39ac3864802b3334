"""The losses people write, re-implemented in NumPy from their definitions, with the updates of the optimisers
they use: full-batch SGD on x̂ = W2 W1 x̃ (torch's layout, W1 is H x D) with

    "mean"        mean over all N·D entries of (x - x̂)²      torch.nn.MSELoss(), Keras "mse", optax mean
    "batch_mean"  mean over samples of ‖x - x̂‖²
    "sum"         sum over all N·D entries of (x - x̂)²       torch.nn.MSELoss(reduction="sum")
    "lindae"      ½ mean over samples of ‖x - x̂‖²
    "paper"       ½ sum over samples of ‖x - x̂‖²

Gaussian input noise of variance σ² is marginalised in the same convention (E‖W n‖² = σ²‖W‖²_F per sample), and
weight decay w is applied as torch.optim.SGD(weight_decay=w) does (w·W added to the gradient) or, decoupled,
as a shrink W <- W - w·W every step. This file knows nothing of lindae: it is the stand-in for a user's PyTorch
or JAX code (docs/examples/torch_dae.py, jax_dae.py) in the tests and benchmarks.
"""
from __future__ import annotations

import numpy as np

#: the loss is ALPHA · [Σ_{n,d} (x_nd - x̂_nd)² + N σ² ‖W2 W1‖²_F]
ALPHA = {"mean": lambda N, D: 1.0 / (N * D), "batch_mean": lambda N, D: 1.0 / N, "sum": lambda N, D: 1.0,
         "lindae": lambda N, D: 0.5 / N, "paper": lambda N, D: 0.5}


def loss_value(X, W1, W2, loss, noise_var=0.0):
    N, D = X.shape
    R = X @ W1.T @ W2.T - X
    return ALPHA[loss](N, D) * (np.sum(R * R) + N * noise_var * np.sum((W2 @ W1) ** 2))


def gradients(X, W1, W2, loss, noise_var=0.0, gram=None):
    """(∂/∂W1, ∂/∂W2) of :func:`loss_value`. ``gram`` = XᵀX gives the same gradient from the D x D scatter
    (faster when N is large)."""
    N, D = X.shape if gram is None else (gram[1], gram[0].shape[0])
    a = 2.0 * ALPHA[loss](N, D)
    if gram is None:
        Z = X @ W1.T                               # N x H
        R = Z @ W2.T - X                           # N x D, rows x̂ - x
        g1, g2 = (R @ W2).T @ X, R.T @ Z
    else:
        S = gram[0]
        W1S = W1 @ S                               # H x D
        g1 = W2.T @ (W2 @ W1S) - W2.T @ S
        g2 = W2 @ (W1S @ W1.T) - W1S.T
    if noise_var:
        g1 = g1 + N * noise_var * (W2.T @ W2) @ W1
        g2 = g2 + N * noise_var * W2 @ (W1 @ W1.T)
    return a * g1, a * g2


def sgd(X, W1, W2, lr, epochs, *, loss, noise_var=0.0, weight_decay=0.0, decoupled=False, record_every=1,
        use_gram=False):
    """Full-batch SGD; returns the recorded epochs and the weight snapshots [[W1, W2], ...]."""
    W1, W2 = np.array(W1, dtype=float), np.array(W2, dtype=float)
    gram = (X.T @ X, X.shape[0]) if use_gram else None
    epochs_rec, snaps = [0], [[W1.copy(), W2.copy()]]
    for k in range(1, epochs + 1):
        g1, g2 = gradients(X, W1, W2, loss, noise_var, gram)
        if weight_decay and not decoupled:
            g1, g2 = g1 + weight_decay * W1, g2 + weight_decay * W2
        shrink = weight_decay if decoupled else 0.0
        W1, W2 = W1 - lr * g1 - shrink * W1, W2 - lr * g2 - shrink * W2
        if k % record_every == 0 or k == epochs:
            epochs_rec.append(k)
            snaps.append([W1.copy(), W2.copy()])
    return np.array(epochs_rec), snaps
