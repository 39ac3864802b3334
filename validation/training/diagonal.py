r"""Eigenbasis GD from a diagonal start, at O(H) per epoch: the same steps as the full-matrix trainers.

A start is *diagonal* when every hidden unit h touches at most one mode :math:`c_h` (the columns :math:`c_h`
distinct): :math:`P = W_1V` and :math:`Q = W_2^\top V` (H x D) are zero outside the entries :math:`(h, c_h)`,
and so is every middle layer outside its diagonal. Aligned starts are diagonal. In the eigenbasis Σ is
diagonal, so every product of the marginalised GD step (:mod:`.eigenbasis`, :mod:`.deep`) keeps that
support exactly: :math:`QQ^\top`, :math:`P\Xi P^\top` and the middle layers stay diagonal, and the off-support
entries stay exactly zero (each is a sum of products with a zero factor). The full-matrix step then
reduces to H scalar recursions, one per hidden unit, with :math:`p = P_{h c_h}`, :math:`q = Q_{h c_h}`,
:math:`\lambda = \lambda_{c_h}`, :math:`\xi = \lambda + \varepsilon`:

.. math:: p' = (1 - \eta\gamma)p + \eta\lambda q - \eta q^2\xi p,\qquad
          q' = (1 - \eta\gamma)q + \eta\xi p - \eta\varepsilon p - \eta\xi p^2 q

(depth 2; the deep step is :func:`deep_diagonal_step`). The results equal the full-matrix trainers' to
rounding (tests compare them), at O(H) instead of O(H²D) per epoch. The leakage of a diagonal W̃ is exactly 0.
"""
from __future__ import annotations

import numpy as np

from lindae.dynamics.errors import diverged


def diagonal_support(P, Q, mids=()):
    """The modes (columns) c_h of a diagonal start, one per hidden unit (−1 for a unit that touches none),
    or None when (P, Q, middle layers) is not diagonal (module docstring) or a middle layer is nonzero on a
    unit without a mode."""
    H, D = P.shape
    nz = (P != 0) | (Q != 0)
    if np.any(nz.sum(axis=1) > 1):
        return None
    cols = np.where(nz.any(axis=1), np.argmax(nz, axis=1), -1)
    used = cols[cols >= 0]
    if len(np.unique(used)) != len(used):
        return None
    for M in mids:      # middle layers diagonal, and zero on units without a mode (their decay is not tracked)
        if np.any(M[~np.eye(H, dtype=bool)] != 0) or np.any(np.diag(M)[cols < 0] != 0):
            return None
    return cols


class DiagonalStep:
    """Eigenbasis GD on R1 (depth 2) from a diagonal start (module docstring); the interface of
    :class:`~lindae.validation.training.eigenbasis.EigenbasisStep` that the training loop uses.

    Parameters
    ----------
    P, Q : ndarray (H, D)
        Initial eigenbasis weights, diagonal (:func:`diagonal_support` gives ``cols``).
    cols : ndarray (H,)
        Each hidden unit's mode, −1 for none.
    lam : ndarray (D,)
        Eigenvalues of Σ.
    noise_var, weight_decay, lr : float
        Noise variance, weight decay and learning rate.
    """

    def __init__(self, P, Q, cols, lam, noise_var, weight_decay, lr):
        self.H, self.D = P.shape
        self.rows = np.flatnonzero(cols >= 0)
        self.cols = cols[self.rows]
        self.p = np.array(P[self.rows, self.cols], dtype=np.float64)
        self.q = np.array(Q[self.rows, self.cols], dtype=np.float64)
        self.lam_all = np.asarray(lam, dtype=np.float64)
        self.lam = self.lam_all[self.cols]
        self.noise_var, self.weight_decay, self.lr = float(noise_var), float(weight_decay), float(lr)
        self.xi = self.lam + self.noise_var
        self.shrink = 1.0 - self.lr * self.weight_decay
        self.half_lam_sum = 0.5 * float(np.sum(self.lam_all))

    def diverged(self):
        """True when ‖W2‖² = Σq² or Σξp² is non-finite or beyond the overflow guard."""
        return diverged(float(self.q @ self.q), float(self.xi @ (self.p * self.p)))

    def step(self):
        """One GD step of every hidden unit's (p, q) (module docstring)."""
        p, q, lr = self.p, self.q, self.lr
        pxi = p * self.xi
        q_new = self.shrink * q - lr * (p * pxi) * q + lr * pxi
        if self.noise_var:
            q_new -= lr * self.noise_var * p
        self.p = self.shrink * p + lr * self.lam * q - lr * (q * q) * pxi
        self.q = q_new

    def strengths(self):
        """s_i = v_iᵀ W v_i: p q at each unit's mode, 0 elsewhere."""
        s = np.zeros(self.D)
        s[self.cols] = self.p * self.q
        return s

    def record(self):
        """(s, loss, leakage = 0) at the current weights (R1's loss, as :meth:`EigenbasisStep.record`)."""
        s = self.strengths()
        p2, q2 = self.p * self.p, self.q * self.q
        loss = (self.half_lam_sum - float(self.lam_all @ s) + 0.5 * float(q2 @ (p2 * self.xi))
                + 0.5 * self.weight_decay * (float(np.sum(p2)) + float(np.sum(q2))))
        return s, loss, 0.0

    def singular_values(self, fresh=False):
        """Singular values of W̃ (H of them, descending): |p q| of the units, zeros for the rest."""
        sv = np.zeros(self.H)
        sv[:len(self.p)] = np.sort(np.abs(self.p * self.q))[::-1]
        return sv

    def factors(self):
        """(P, Q) for measuring errors: None, the recorder then uses the diagonal s (exact for diagonal W̃)."""
        return None, None

    def weights(self, V):
        """(W1, W2) in the data basis: W1 = P Vᵀ, W2 = V Qᵀ."""
        W1, W2 = np.zeros((self.H, V.shape[0])), np.zeros((V.shape[0], self.H))
        W1[self.rows] = self.p[:, None] * V[:, self.cols].T
        W2[:, self.rows] = V[:, self.cols] * self.q
        return W1, W2


def deep_diagonal_step(p, mids, q, lam, xi, lr, weight_decay):
    r"""One GD step of the deep marginalised loss (:mod:`.deep`) from a diagonal start, per hidden unit.

    With the layers' values :math:`p, m_2, \dots, m_{L-1}, q` of one unit, :math:`b = \prod_l m_l`,
    :math:`r = bp`: :math:`\partial_p = b(q^2r\xi - q\lambda) + \gamma p`,
    :math:`\partial_q = r^2\xi q - r\lambda + \gamma q`, :math:`\partial_b = q^2b\,p^2\xi - q\lambda p` and
    :math:`\partial_{m_l} = \partial_b\prod_{k\ne l}m_k + \gamma m_l`. Returns the new (p, mids, q).
    """
    b = np.prod(mids, axis=0) if len(mids) else np.ones_like(p)
    r = b * p
    gP = b * (q * q * r * xi - q * lam) + weight_decay * p
    gQ = r * r * xi * q - r * lam + weight_decay * q
    new_mids = []
    if len(mids):
        gB = q * q * b * (p * p * xi) - q * lam * p
        for i, m in enumerate(mids):
            others = np.prod([mids[j] for j in range(len(mids)) if j != i], axis=0) if len(mids) > 1 else 1.0
            new_mids.append(m - lr * (gB * others + weight_decay * m))
    return p - lr * gP, new_mids, q - lr * gQ
