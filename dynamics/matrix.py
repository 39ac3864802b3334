"""The marginalised matrix loss (R1) and its gradient, for any second-moment matrix."""
from __future__ import annotations

import numpy as np


def loss_and_gradient(W1, W2, Sigma, eps=0.0, gamma=0.0):
    r"""Loss and gradient of the marginalised DAE/WDAE objective (R1).

    .. math:: L = \tfrac12\operatorname{tr}[(I - W)\Sigma(I - W)^\top] + \tfrac{\varepsilon}{2}\|W\|_F^2
              + \tfrac{\gamma}{2}(\|W_1\|_F^2 + \|W_2\|_F^2),\qquad W = W_2W_1

    With :math:`G = \partial L/\partial W = W(\Sigma + \varepsilon I) - \Sigma` (Σ symmetric),
    :math:`\partial L/\partial W_1 = W_2^\top G + \gamma W_1` and :math:`\partial L/\partial W_2 = GW_1^\top + \gamma W_2`.

    Returns
    -------
    (float, ndarray, ndarray)
        L, dL/dW1 (H x D) and dL/dW2 (D x H).
    """
    W = W2 @ W1
    R = np.eye(W.shape[0]) - W
    G = W @ Sigma + eps * W - Sigma
    L = 0.5 * np.sum((R @ Sigma) * R) + 0.5 * eps * np.sum(W * W) + 0.5 * gamma * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return L, W2.T @ G + gamma * W1, G @ W1.T + gamma * W2
