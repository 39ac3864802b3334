r"""Train and test errors of a run at its recorded epochs, from the eigenbasis weights (G1's trace form).

With the training eigenvectors :math:`\hat V`, :math:`P = W_1\hat V`, :math:`Q = W_2^\top\hat V` (H x D), so that
:math:`\tilde W = \hat V^\top W\hat V = Q^\top P`, and a second moment :math:`M = \hat V^\top\Sigma\hat V`:

.. math:: E = \tfrac12\operatorname{tr}M - \langle PM, Q\rangle + \tfrac12\langle PMP^\top, QQ^\top\rangle
              + \tfrac{\varepsilon_t}{2}\langle PP^\top, QQ^\top\rangle

(the traces of G1: :math:`\operatorname{tr}(\tilde WM) = \langle PM, Q\rangle`,
:math:`\operatorname{tr}(\tilde WM\tilde W^\top) = \langle PMP^\top, QQ^\top\rangle`,
:math:`\|\tilde W\|_F^2 = \langle PP^\top, QQ^\top\rangle`). One H x D x D product per record for the test data;
the training data's M is the diagonal :math:`\hat\Lambda`, O(H²D). A diagonal W̃ = diag(s) (an aligned run) needs
only the diagonal of M, O(D) (:func:`diagonal_errors`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lindae.dynamics.errors import InvalidArgument
from lindae.validation.data.datasets import check_data

#: The four recorded curves, in the order :meth:`ErrorMeter.measure` returns them.
CURVES = ("test_error", "test_denoising_error", "train_error", "train_denoising_error")


def trace_errors(P, Q, M, noise_var):
    """(clean, denoising) error of W̃ = QᵀP against the second moment M (D x D, or its diagonal (D,))."""
    PPt, QQt = P @ P.T, Q @ Q.T
    if M.ndim == 1:
        PM = P * M
        trM = float(np.sum(M))
    else:
        PM = P @ M
        trM = float(np.trace(M))
    tr_wm = float(np.einsum("hd,hd->", PM, Q))
    tr_wmw = float(np.einsum("ij,ij->", PM @ P.T, QQt))
    tr_ww = float(np.einsum("ij,ij->", PPt, QQt))
    clean = 0.5 * trM - tr_wm + 0.5 * tr_wmw
    return clean, clean + 0.5 * noise_var * tr_ww


def diagonal_errors(s, m, noise_var):
    """(clean, denoising) error of a diagonal W̃ = diag(s) against a second moment with diagonal m (D,):
    tr(W̃M) = Σ sᵢmᵢ, tr(W̃MW̃ᵀ) = Σ sᵢ²mᵢ, ‖W̃‖² = Σ sᵢ² (the off-diagonal of M does not enter)."""
    clean = 0.5 * float(np.sum(m)) - float(s @ m) + 0.5 * float((s * s) @ m)
    return clean, clean + 0.5 * noise_var * float(s @ s)


@dataclass
class ErrorMeter:
    """Measures the four curves of :data:`CURVES` at recorded epochs (test: the held-out second moment,
    in the training eigenbasis; train: the training eigenvalues)."""
    test_moment_matrix: np.ndarray
    train_eigenvalues: np.ndarray
    noise_var: float

    @classmethod
    def from_data(cls, X_test, eigenvectors, eigenvalues, noise_var, center_mean=None):
        Xt = check_data(X_test, "X_test")
        if Xt.shape[1] != eigenvectors.shape[0]:
            raise InvalidArgument(f"X_test has D = {Xt.shape[1]}, the training data D = {eigenvectors.shape[0]}")
        if center_mean is not None:          # the model sees centred data; so do its test inputs
            Xt = Xt - center_mean
        Z = Xt @ eigenvectors
        return cls((Z.T @ Z) / Xt.shape[0], np.asarray(eigenvalues, dtype=float), float(noise_var))

    @property
    def test_moment(self):
        """M_ii = v̂_iᵀ Σ_test v̂_i, the diagonal the per-mode theory uses (G1)."""
        return np.diag(self.test_moment_matrix).copy()

    def measure(self, P, Q, s=None):
        """The four curves of :data:`CURVES` for W̃ = QᵀP; for a diagonal W̃ = diag(s) give P = Q = None and s."""
        if P is None:
            return (*diagonal_errors(s, np.diag(self.test_moment_matrix), self.noise_var),
                    *diagonal_errors(s, self.train_eigenvalues, self.noise_var))
        return (*trace_errors(P, Q, self.test_moment_matrix, self.noise_var),
                *trace_errors(P, Q, self.train_eigenvalues, self.noise_var))
