r"""The exact GD step of the marginalised loss (R1) in the eigenbasis of Σ, at matrix-product speed.

With :math:`\Sigma = V\Lambda V^\top`, :math:`\xi_i = \lambda_i + \varepsilon` and the eigenbasis weights
:math:`P = W_1V` (H x D) and :math:`Q = (V^\top W_2)^\top = W_2^\top V` (H x D), the loss is
diagonal in the data and one GD step costs O(H²D), independent of N:

.. math::
    M = QQ^\top,\quad N = P\Xi P^\top,\qquad
    P' = (1 - \eta\gamma)P - \eta\,(MP)\Xi + \eta\,Q\Lambda,\qquad
    Q' = (1 - \eta\gamma)Q - \eta\,NQ + \eta\,P\Lambda

(the gradients :math:`\partial_P = MP\Xi - Q\Lambda + \gamma P`, :math:`\partial_Q = NQ - P\Lambda + \gamma Q`).
Both P and Q are stored as C-ordered H x D arrays, so their transposes are Fortran-ordered and the
BLAS calls below take them without copies:

* M and N by two symmetric rank-k updates (``dsyrk``, half the work of a GEMM each),
* :math:`MP\Xi = M(P\Xi)` and :math:`NQ` by two symmetric-matrix products (``dsymm``) that
  accumulate into preallocated buffers (``beta = 1``), so the update needs no temporaries,
* three column scalings (P√Ξ, PΞ, ηQΛ) and a few ``daxpy``, all into preallocated buffers: P is
  updated in place, Q into a second buffer that is then swapped in.

The same M and N give the loss, and one more ``dsyrk`` (only at recorded epochs) the leakage:

.. math::
    L = \tfrac12\textstyle\sum_i\lambda_i - \lambda^\top s + \tfrac12\langle M, N\rangle
        + \tfrac\gamma2(\operatorname{tr}PP^\top + \operatorname{tr}M),\qquad
    s_i = \textstyle\sum_h P_{hi}Q_{hi} = v_i^\top W v_i,\qquad
    \|W\|_F^2 = \langle M, PP^\top\rangle.

One BLAS only. NumPy and SciPy wheels each bundle their own OpenBLAS, with its own thread pool
whose threads spin for a while after every call. Alternating the two libraries in a loop makes
each wait for the other's spinning threads (we measured 10-100 ms stalls per switch on 2 cores),
so everything in the loop that reaches BLAS or LAPACK goes through :mod:`scipy.linalg`, and the
small reductions use ``np.einsum`` (which calls no BLAS).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import cholesky, eigvalsh, qr, svdvals
from scipy.linalg.blas import daxpy, dgemm, dscal, dsymm, dsyrk

from lindae.dynamics.errors import diverged


def _gram(X, out=None):
    """Upper triangle of X Xᵀ for a C-ordered (H, D) array: ``dsyrk`` on its Fortran-ordered transpose,
    into ``out`` (an (H, H) Fortran-ordered buffer) when given. The lower triangle is not referenced."""
    if out is None:
        return dsyrk(1.0, X.T, trans=1)
    return dsyrk(1.0, X.T, trans=1, c=out, overwrite_c=1)


def _sym_inner(M, N):
    """⟨M, N⟩ = sum(M * N) of two symmetric matrices held as upper triangles over a zero lower triangle."""
    # einsum, not a BLAS ddot: a threaded level-1 call right after a level-3 one stalls OpenBLAS's threads.
    return 2.0 * float(np.einsum("ij,ij->", M, N)) - float(np.einsum("ii,ii->", M, N))


class EigenbasisStep:
    """Preallocated state of eigenbasis gradient descent on R1 (see the module docstring).

    Parameters
    ----------
    P, Q : ndarray (H, D)
        Initial eigenbasis weights W1 V and W2ᵀ V (copied).
    lam : ndarray (D,)
        Eigenvalues of Σ.
    noise_var, weight_decay, lr : float
        Noise variance, weight decay and learning rate.

    Notes
    -----
    The column scalings by √ξ and ηλ multiply by full (H, D) tiles of those vectors: on the
    machines we measured, NumPy's broadcasting loop is markedly slower than a same-shape product.
    """

    def __init__(self, P, Q, lam, noise_var, weight_decay, lr):
        self.P = np.array(P, dtype=np.float64, order="C")
        self.Q = np.array(Q, dtype=np.float64, order="C")
        H, D = self.P.shape
        self.lam = np.asarray(lam, dtype=np.float64)
        self.noise_var, self.weight_decay, self.lr = float(noise_var), float(weight_decay), float(lr)
        self.shrink = 1.0 - self.lr * self.weight_decay
        self.half_lam_sum = 0.5 * float(np.sum(self.lam))
        tile = lambda v: np.ascontiguousarray(np.broadcast_to(v, (H, D)))  # noqa: E731
        self._sqrt_xi = tile(np.sqrt(self.lam + self.noise_var))
        self._lr_lam = tile(self.lr * self.lam)
        self._R = np.empty_like(self.P)     # P sqrt(xi), then P xi
        self._U = np.empty_like(self.P)     # the next Q (P is updated in place)
        # dsyrk writes only the upper triangle, so these buffers keep a zero lower triangle.
        self.M = np.zeros((H, H), order="F")
        self._M_spare = np.zeros((H, H), order="F")     # the next M, formed before the old one is used up
        self.N = np.zeros((H, H), order="F")
        self._K = np.zeros((H, H), order="F")
        self._K_fresh = False
        self.products()

    def products(self):
        """Form M = QQᵀ and N = PΞPᵀ (upper triangles) for the current weights; two ``dsyrk``."""
        self.M = _gram(self.Q, self.M)
        self._n_products()

    def _n_products(self):
        """N = (P√Ξ)(P√Ξ)ᵀ, leaving R = PΞ for the next step (each pass while its input is in cache)."""
        R = self._R
        np.multiply(self.P, self._sqrt_xi, out=R)
        self.N = _gram(R, self.N)
        R *= self._sqrt_xi

    def diverged(self):
        """True when ‖W2‖² = tr M or Σξ‖p_i‖² = tr N is non-finite or beyond the overflow guard."""
        return diverged(self.M.trace(), self.N.trace())

    def step(self):
        r"""One GD step in place from the current products, then the products of the new weights.

        Uses :math:`P\Lambda = P\Xi - \varepsilon P`, so the only column scalings are P√Ξ (for N),
        PΞ and ηQΛ; everything else is BLAS (``dsymm`` and ``daxpy``) into existing buffers.
        """
        P, Q, R, U, lr = self.P, self.Q, self._R, self._U, self.lr     # R = P Xi (see products)
        dsymm(-lr, self.N, Q.T, beta=0.0, c=U.T, side=1, overwrite_c=1)    # U = -lr N Q
        daxpy(Q.ravel(), U.ravel(), a=self.shrink)                         #   + (1 - lr weight_decay) Q
        Q *= self._lr_lam                                                  # old Q is spent: lr Q Lambda
        daxpy(R.ravel(), U.ravel(), a=lr)                                  #   + lr P Xi
        if self.noise_var:
            daxpy(P.ravel(), U.ravel(), a=-lr * self.noise_var)                  #   - lr noise_var P       = Q'
        M_next = _gram(U, self._M_spare)                                   # Q'Q'ᵀ while Q' is in cache
        if self.shrink != 1.0:
            dscal(self.shrink, P.ravel())                                  # P *= 1 - lr weight_decay
        daxpy(Q.ravel(), P.ravel())                                        # P += lr Q Lambda
        dsymm(-lr, self.M, R.T, beta=1.0, c=P.T, side=1, overwrite_c=1)    # P -= lr M P Xi    = P'
        self.Q, self._U = U, Q
        self.M, self._M_spare = M_next, self.M
        self._K_fresh = False
        self._n_products()

    def strengths(self):
        """s_i = v_iᵀ W v_i = Σ_h P_hi Q_hi, one pass over H x D."""
        return np.einsum("hd,hd->d", self.P, self.Q)

    def record(self):
        """(s, loss, leakage) at the current weights, reusing M and N; one extra ``dsyrk`` for ‖W‖²."""
        s = self.strengths()
        K = self._K = _gram(self.P, self._K)
        self._K_fresh = True
        loss = (self.half_lam_sum - float(np.einsum("i,i->", self.lam, s)) + 0.5 * _sym_inner(self.M, self.N)
                + 0.5 * self.weight_decay * (float(np.trace(K)) + float(np.trace(self.M))))
        w2 = _sym_inner(self.M, K)
        diag2 = float(np.einsum("i,i->", s, s))
        leakage = np.sqrt(max(w2 - diag2, 0.0) / w2) if w2 > 0 else 0.0
        return s, loss, leakage

    def factors(self):
        """(P, Q), for measuring the errors of W̃ = QᵀP."""
        return self.P, self.Q

    def singular_values(self, fresh=False):
        """Singular values of W̃ = QᵀP (:func:`low_rank_singular_values`); ``fresh``: M and PPᵀ are current
        (right after :meth:`record`), so their Cholesky route applies."""
        return low_rank_singular_values(self.P, self.Q, (self.M, self.gram_P()) if fresh else None)

    def gram_P(self):
        """PPᵀ (upper triangle) of the current weights: the one :meth:`record` formed, if it is current."""
        return self._K if self._K_fresh else _gram(self.P, self._K)

    def weights(self, V):
        """(W1, W2) in the data basis: W1 = P Vᵀ, W2 = V Qᵀ."""
        return self.P @ V.T, V @ self.Q.T


def low_rank_singular_values(P, Q, grams=None):
    """Singular values of W̃ = QᵀP (D x H times H x D) in O(D H²), as those of R_Q R_Pᵀ (H x H).

    R_Q, R_P are the triangular factors of Qᵀ and Pᵀ: from QR, or, when ``grams`` = (QQᵀ, PPᵀ)
    (upper triangles, as :class:`EigenbasisStep` holds them) is given, from their Cholesky factors,
    which costs O(H³) instead of O(DH²), with the squared singular values as the eigenvalues of
    C Cᵀ. That route is used only where both Gram matrices are positive definite; its absolute
    error is ~1e-8 times the largest singular value (the paper's measurement, plotted on a linear
    scale from 0 to 1, needs far less).
    """
    if grams is not None:
        try:
            RQ = cholesky(grams[0], lower=False, check_finite=False)   # QQᵀ = R_Qᵀ R_Q (upper triangle read)
            RP = cholesky(grams[1], lower=False, check_finite=False)
            C = dgemm(1.0, RQ, RP, trans_b=1)
            sq = eigvalsh(dsyrk(1.0, C), lower=False, check_finite=False, overwrite_a=True)   # σ² of C, ascending
            return np.sqrt(np.clip(sq[::-1], 0.0, None))
        except np.linalg.LinAlgError:
            pass
    H = P.shape[0]
    RQ = qr(Q.T, mode="r", check_finite=False)[0][:H]     # rows beyond H of the (D, H) factor are zero
    RP = qr(P.T, mode="r", check_finite=False)[0][:H]
    return svdvals(dgemm(1.0, RQ, RP, trans_b=1), check_finite=False)
