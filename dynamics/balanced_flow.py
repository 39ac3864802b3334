r"""R1's flow on the balanced set, stepped numerically: R15's continuation at the capacity limit.

On :math:`p_i = q_i = y_i` (rows of Y, D x H) the growing part of R1's flow moves by the mean of the
two layers' gradients (R15, last equation):

.. math:: \dot Y = KY - \tfrac12\,(YA + \Xi YN),\qquad A = Y^\top\Xi Y,\quad N = Y^\top Y,

(with a corrupted input's second moment B in place of Ξ for the noise models, N7; B need not be diagonal)

so that :math:`W = YY^\top` obeys :math:`\dot W = KW + WK - 2W\Xi W - \tfrac12[W,[W,\Xi]]`: the
Riccati surrogate plus a double bracket that only turns W's eigenvectors. Row by row,
:math:`\dot y_i = (\kappa_i - \tfrac12 A - \tfrac12\xi_iN)\,y_i` is linear in :math:`y_i`, so each row is
kept as :math:`e^{w_i}\hat y_i` with :math:`\max_h|\hat y_{ih}| = 1`: a row that the flow suppresses to
:math:`e^{-1000}` keeps its direction and its log size, and contributes nothing (underflow) to A and N.

Discrete time is GD's map of this flow with rate η (one step per epoch); continuous time is the ODE,
by ``scipy.integrate.solve_ivp`` (DOP853) in segments after which the rows are renormalised.
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from .errors import SolverFailed

#: Rows are renormalised once their largest entry leaves (e^-RENORM, e^RENORM).
RENORM = 30.0
#: Longest ODE segment, in units of 1/max|κ|, between renormalisations.
SEGMENT = 20.0


class BalancedRows:
    r"""The rows :math:`y_i = e^{w_i}\hat y_i` of Y on the balanced set and R1's flow on them.

    Parameters
    ----------
    directions : ndarray (D, H)
        Row directions :math:`\hat y_i` (any nonzero scale; rows of zeros are modes with no growing part).
    log_s : ndarray (D,)
        :math:`\log\|y_i\|^2` (−inf for a zero row).
    kap : ndarray (D,)
        :math:`\kappa_i = \lambda_i - \gamma` (the diagonal of K).
    xi : ndarray (D,) or (D, D)
        :math:`\xi_i = \lambda_i + \varepsilon`, or a symmetric matrix B (N7). With a matrix the rows are kept at
        their true scale: B feeds every row from the others, so none is suppressed below the float64 range.
    """

    def __init__(self, directions, log_s, kap, xi):
        xi = np.asarray(xi, dtype=float)
        self.B = xi if xi.ndim == 2 else None
        Y = np.array(directions, dtype=float)
        top = np.max(np.abs(Y), axis=1)              # by the largest entry first: a tiny row's squares underflow
        ok = (top > 0) & np.isfinite(log_s)
        Y[~ok] = 0.0
        Y[ok] /= top[ok, None]
        Y[ok] /= np.sqrt(np.einsum("ij,ij->i", Y[ok], Y[ok]))[:, None]
        self.Y, self.w = Y, np.where(ok, 0.5 * np.asarray(log_s, dtype=float), -np.inf)
        self.kap, self.xi = np.asarray(kap, dtype=float), xi
        if self.B is not None:             # true scale: y_i = e^{w_i} ŷ_i once, then w = 0
            with np.errstate(under="ignore"):
                self.Y *= np.exp(self.w)[:, None]
            self.w = np.zeros(len(self.w))
            return
        self._renormalise()

    def _renormalise(self):
        if self.B is not None:
            return
        top = np.max(np.abs(self.Y), axis=1)
        ok = top > 0
        self.Y[ok] /= top[ok, None]
        self.w = np.where(ok, self.w + np.log(np.where(ok, top, 1.0)), -np.inf)

    def strengths(self):
        r""":math:`s_i = \|y_i\|^2 = e^{2w_i}\|\hat y_i\|^2`."""
        with np.errstate(over="ignore", under="ignore"):
            return np.exp(2 * self.w) * np.einsum("ij,ij->i", self.Y, self.Y)

    def _scales(self):
        with np.errstate(under="ignore"):
            return np.exp(self.w)[:, None]

    def _drift(self, Y, ew):
        r"""The flow of the scaled rows, :math:`\kappa_i\hat y_i - \tfrac12\hat y_i(A + \xi_iN)` (``ew`` = :math:`e^{w_i}`)."""
        F = Y * ew
        N = F.T @ F
        if self.B is not None:                 # true scale (ew = 1)
            BY = self.B @ Y
            return self.kap[:, None] * Y - 0.5 * (Y @ (Y.T @ BY) + BY @ N)
        A = (F * self.xi[:, None]).T @ F
        return self.kap[:, None] * Y - 0.5 * (Y @ A + self.xi[:, None] * (Y @ N))

    def gd_steps(self, lr, steps):
        """Advance by ``steps`` steps of GD's map :math:`Y \\leftarrow Y + \\eta\\dot Y` (a discrete epoch each)."""
        ew = self._scales()
        for _ in range(int(steps)):
            self.Y += lr * self._drift(self.Y, ew)
            top = np.max(np.abs(self.Y))
            if not np.isfinite(top):
                raise SolverFailed(f"the balanced flow's GD map diverged at lr = {lr:g}")
            if top > np.exp(RENORM) or top < np.exp(-RENORM):
                self._renormalise()
                ew = self._scales()
        self._renormalise()
        return self

    def flow(self, dt, *, rtol=1e-10, atol=1e-13):
        """Advance the ODE by time ``dt`` (segments of at most SEGMENT / max|κ|, rows renormalised after each)."""
        rate = max(float(np.max(np.abs(self.kap))) if self.kap.size else 0.0, 1e-300)
        n = max(1, int(np.ceil(dt * rate / SEGMENT)))
        shape = self.Y.shape
        for _ in range(n):
            ew = self._scales()
            sol = solve_ivp(lambda _t, y: self._drift(y.reshape(shape), ew).ravel(), (0.0, dt / n), self.Y.ravel(),
                            method="DOP853", rtol=rtol, atol=atol)
            if not sol.success:
                raise SolverFailed(f"the balanced flow could not be integrated: {sol.message}")
            self.Y = sol.y[:, -1].reshape(shape).copy()
            self._renormalise()
        return self
