r"""The marginalised matrix loss (R1) and its gradient: the one implementation every layer uses.

Matrix gradient descent (:func:`dynamics.gd_matrix`), the matrix gradient flow
(:func:`dynamics.integrate_matrix_flow`), the naive training reference and sampled-noise training
(:mod:`lindae.validation.training.linear`) all call :func:`sample_loss_and_gradient`. A second-moment matrix Σ enters
through a square root :math:`S` with :math:`S^\top S/n = \Sigma` (:func:`second_moment_root`): the
loss of the rows of S is then exactly R1 for Σ. (The O(H²D) eigenbasis step of
:mod:`lindae.validation.training.eigenbasis` is the same gradient written for diagonal Σ, and is tested against
this one.)
"""
from __future__ import annotations

import numpy as np
from .errors import InvalidArgument


def sample_loss_and_gradient(W1, W2, X_in, X_target, noise_var=0.0, weight_decay=0.0):
    r"""Loss and gradient of R1 on samples, O(n D H).

    .. math:: L = \frac{1}{2n}\|X_\mathrm{target} - X_\mathrm{in}W^\top\|_F^2 + \frac{\varepsilon}{2}\|W\|_F^2
              + \frac{\gamma}{2}(\|W_1\|_F^2 + \|W_2\|_F^2),\qquad W = W_2W_1

    With the error :math:`E = X_\mathrm{in}W^\top - X_\mathrm{target}` and :math:`Z = X_\mathrm{in}W_1^\top`:
    :math:`\partial L/\partial W_2 = E^\top Z/n + \varepsilon WW_1^\top + \gamma W_2` and
    :math:`\partial L/\partial W_1 = (EW_2)^\top X_\mathrm{in}/n + \varepsilon W_2^\top W + \gamma W_1`.
    For clean inputs (X_in = X_target = X) this is R1 with Σ = XᵀX/n; for noisy inputs it is one
    sampled-noise estimate of it (then pass noise_var = 0).

    Parameters
    ----------
    W1 : (H, D) array
    W2 : (D, H) array
    X_in, X_target : (n, D) arrays
        Inputs and reconstruction targets (rows are samples).
    noise_var, weight_decay : float
        Marginalised noise variance and weight decay.

    Returns
    -------
    (float, ndarray, ndarray)
        L, dL/dW1 (H x D) and dL/dW2 (D x H).
    """
    n = X_in.shape[0]
    Z = X_in @ W1.T                  # n x H
    E = Z @ W2.T - X_target          # n x D
    loss = 0.5 * float(np.sum(E * E)) / n
    g2 = (E.T @ Z) / n + weight_decay * W2
    g1 = ((E @ W2).T @ X_in) / n + weight_decay * W1
    if noise_var:
        W = W2 @ W1
        loss += 0.5 * noise_var * float(np.sum(W * W))
        g2 += noise_var * W @ W1.T
        g1 += noise_var * W2.T @ W
    return loss + 0.5 * weight_decay * (float(np.sum(W1 * W1)) + float(np.sum(W2 * W2))), g1, g2


def second_moment_root(Sigma):
    r"""A (D, D) matrix S with :math:`S^\top S / D = \Sigma`, for symmetric positive semi-definite Σ.

    :math:`S = \sqrt{D}\,\Lambda^{1/2}V^\top` from :math:`\Sigma = V\Lambda V^\top`.

    Raises
    ------
    ValueError
        If Σ is not square, not symmetric, or has a negative eigenvalue beyond rounding.
    """
    Sigma = np.asarray(Sigma, dtype=float)
    D = Sigma.shape[0]
    if Sigma.shape != (D, D):
        raise InvalidArgument(f"Sigma must be square, got shape {Sigma.shape}")
    scale = float(np.max(np.abs(Sigma), initial=0.0))
    if not np.allclose(Sigma, Sigma.T, rtol=0, atol=1e-12 * max(scale, 1e-300)):
        raise InvalidArgument("Sigma must be symmetric (a second-moment matrix)")
    lam, V = np.linalg.eigh(Sigma)
    if lam.size and lam[0] < -1e-10 * max(scale, 1e-300):
        raise InvalidArgument(f"Sigma must be positive semi-definite (a second-moment matrix); smallest eigenvalue {lam[0]:.3g}")
    return np.sqrt(D * np.clip(lam, 0.0, None))[:, None] * V.T


def loss_and_gradient(W1, W2, Sigma, noise_var=0.0, weight_decay=0.0):
    r"""Loss and gradient of the marginalised DAE/WDAE objective (R1) for a second-moment matrix Σ.

    .. math:: L = \tfrac12\operatorname{tr}[(I - W)\Sigma(I - W)^\top] + \tfrac{\varepsilon}{2}\|W\|_F^2
              + \tfrac{\gamma}{2}(\|W_1\|_F^2 + \|W_2\|_F^2),\qquad W = W_2W_1

    Evaluated as :func:`sample_loss_and_gradient` on the rows of :func:`second_moment_root` (Σ),
    so there is one implementation of the gradient. Callers that evaluate it repeatedly for one Σ
    should compute the root once and call :func:`sample_loss_and_gradient` directly.

    Returns
    -------
    (float, ndarray, ndarray)
        L, dL/dW1 (H x D) and dL/dW2 (D x H).
    """
    S = second_moment_root(Sigma)
    return sample_loss_and_gradient(W1, W2, S, S, noise_var, weight_decay)
