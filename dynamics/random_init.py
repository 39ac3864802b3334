r"""Every mode's strength under small random initialisation: R15's Riccati theory, evaluated stably.

R15 predicts :math:`s_i(t) = W_{ii}(t)` with :math:`W = XM^{-1}X^\top`, :math:`X = e^{Kt}Y_0`,
:math:`M = I + Y_0^\top C Y_0`. Written with :math:`E_i = e^{2\kappa_it}` and :math:`c_i` only,

.. math:: s_i = E_i\,y_i^\top M^{-1}y_i = \frac{E_i}{c_i}\,h_i,\qquad
          h_i = \big[\tilde Y(I + \tilde Y^\top\tilde Y)^{-1}\tilde Y^\top\big]_{ii},\quad \tilde Y = C^{1/2}Y_0,

where :math:`h_i` is the leverage of row i of the stacked matrix :math:`[\tilde Y; I]`. The rows
span e^{±1000} and more, so everything is computed from :math:`\log c_i` and :math:`\log E_i`:
rows are scaled by :math:`e^{(\log c_i - m)/2}` (m the largest, capped at :data:`LOG_CAP`). At the first
time the rows are sorted by size and factorised by Householder QR, which is accurate row by row for
such graded matrices; every later time is reached from the previous one by a Cholesky QR of the
*relative* row scaling, which is well conditioned (:class:`_Factor`), at the cost of a few H x D
products instead of a (D + H) x H QR. Both give :math:`z_i = y_i^\top R^{-1}` (scaled), and
:math:`y_i^\top M^{-1}y_i = e^{-m}g^2\|z_i\|^2`; a saturated mode (:math:`c_i\|y_i\|^2 > 1`) is written as
:math:`(E_i/c_i)h_i` with :math:`h_i = e^{l_i - m}\|z_i\|^2`.

Discrete time (``lr``): each mode's :math:`E_i = (1 + \eta\kappa_i)^{2k}` is its linear growth under
GD, and :math:`c_i = E_i/s_i^\mathrm{GD} - 1/u_{0i}` is chosen so that a mode alone follows R12's
exact map from the balanced start :math:`u_{0i} = \|y_i\|^2`. Continuous time: R15's :math:`c_i(t)`.

The capacity limit (R15, last equation; only when D > H): the surrogate lets a mode displace another
from a shared hidden direction at twice the rate of R1's flow (the slow eigenvalue μ₊ of the
suppression system), and a shared direction turns at :math:`(1 - \rho^2/2)` times the surrogate's
rate. Once every hidden direction is in use, that is once the least saturated one has saturation
σ = :math:`1 - \lambda_{\max}(T^\top T)` of at least :data:`SWITCH` (checked on a grid of step
``check_dt`` added to the requested one), the closed form hands its state to R1's own flow on the
balanced set, :math:`\dot Y = KY - \frac12(YY^\top\Xi Y + \Xi YY^\top Y)` (:mod:`.balanced_flow`):
:math:`Y = XR^{-1}e^{-m/2}` has :math:`YY^\top = W` exactly, row i is :math:`z_i` scaled to
:math:`\|y_i\|^2 = s_i`. From there on modes are stepped by GD's map of that flow (discrete time)
or by its ODE (continuous time).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import eigh, qr
from scipy.linalg.blas import dsyrk, dtrmm, dtrsm
from scipy.linalg.lapack import dpotrf, dtrcon, dtrtri

from ._checks import as_array, as_int
from .balanced_flow import BalancedRows
from .statements import implements
from .errors import InvalidArgument, InvalidArgumentType

#: Largest log c_i used in the factorisation (c_i above it are capped); exact while at most H modes exceed it.
LOG_CAP = 1300.0


@implements("R15", 0, call={"t": "t", "lam": "lam", "noise_var": "eps", "weight_decay": "gamma"},
            domain={"t": (0.01, 5)})
def saturation_weight(t, lam, *, noise_var=0.0, weight_decay=0.0):
    r"""R15's :math:`c(t) = \xi\,(e^{2\kappa t} - 1)/\kappa` (:math:`2\xi t` at κ = 0), by ``expm1``.

    Returns inf where c exceeds the float64 range (2κt > 709); :func:`random_init_strength` works
    with :func:`log_saturation_weight` instead and never forms c itself.
    """
    with np.errstate(over="ignore"):
        return np.exp(log_saturation_weight(t, lam, noise_var=noise_var, weight_decay=weight_decay))


def log_saturation_weight(t, lam, *, noise_var=0.0, weight_decay=0.0):
    r""":math:`\log c(t)` without overflow: :math:`\log(\xi/\kappa) + 2\kappa t + \log(1 - e^{-2\kappa t})` for κ > 0."""
    t, lam, noise_var, weight_decay = (as_array(n, v, lo=0.0) for n, v in (("t", t), ("lam", lam), ("noise_var", noise_var), ("weight_decay", weight_decay)))
    kap, xi = lam - weight_decay, lam + noise_var
    x = 2 * kap * t
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.log(xi / np.abs(kap)) + np.where(kap > 0, x + np.log(-np.expm1(-np.abs(x))), np.log(-np.expm1(-np.abs(x))))
        zero = np.log(2 * xi * t)
    return np.where(kap == 0, zero, pos)


class _Factor:
    r"""Row-wise accurate :math:`Z = Y_n R^{-1}` for the graded matrix
    :math:`A = [\operatorname{diag}(e^{(l_i - m)/2})\,Y_n;\ e^{-m/2}I] = QR`, from one time to the next.

    The first time (and any step across which the row scales change by more than :data:`MAX_SPREAD` in
    all, or a row appears or vanishes) is a Householder QR of the rows sorted by size, accurate row by
    row for graded matrices. Every other step is a Cholesky QR *relative to the previous factor*: the
    new :math:`A' = SA` differs by a row scaling S, so :math:`B = A'R^{-1} = SQ` has condition number at
    most :math:`\max S/\min S`; with :math:`B^\top B = U^\top U` (Cholesky, accurate because B is well
    conditioned) the new factor is :math:`R' = UR`, and :math:`Z' = ZU^{-1}` transforms each row by the
    same well-conditioned triangle, so every row keeps its relative accuracy. Large scale changes are
    split into substeps of spread :data:`STEP_SPREAD` (any path of row scalings gives the same R').

    The regulariser's block of Q, :math:`Q_\text{reg} = e^{-m/2}R^{-1}`, is never formed: Q has orthonormal
    columns, so :math:`Q_\text{reg}^\top Q_\text{reg} = I - Q_\text{top}^\top Q_\text{top}` with
    :math:`Q_\text{top} = \operatorname{diag}(e^{(l_i - m)/2})Z`, and

    .. math:: B^\top B = e^{-(m' - m)}I + Z^\top\operatorname{diag}\big(e^{l'_i - m'} - e^{l_i - m'}\big)Z,

    one rank-k update of the D rows (weights of either sign; rows whose scale grows have positive weights).
    An error E in the orthonormality of Q enters the next B^TB as :math:`e^{-(m'-m)}E`, and the Cholesky QR
    leaves a fresh error of the order of the roundoff, so E does not grow beyond a random walk of roundoffs.
    One step costs a D x H scaling, a rank-k update, an H x H Cholesky and its inverse, and a triangular
    product, against a QR of a (D + H) x H matrix. Rows of Z are stored as :math:`e^{w_i}\hat z_i` with
    :math:`\max_h|\hat z_{ih}| = 1`, since :math:`\|z_i\|` ranges up to :math:`e^{m/2}`.
    """

    def __init__(self, Yn):
        self.Yn = np.ascontiguousarray(Yn, dtype=float)
        self.lc = self._top = self._q = self._buf = self._gram = None

    def at(self, lc):
        """Move the factor to the log squared row scales ``lc`` (−inf for a zero row); return self."""
        m = float(np.max(lc))
        if self.lc is None:
            self._full(lc, m)
            return self
        live = np.isfinite(lc)
        both = live & self._live
        dl = np.subtract(lc, self.lc, out=np.zeros_like(lc), where=both)     # the rows' own log change
        # the spread of the relative scaling S over the rows kept and the regulariser's row (change 0)
        spread = 0.5 * (max(float(dl.max()), 0.0) - min(float(dl.min()), 0.0))
        if spread > MAX_SPREAD:
            self._full(lc, m)
            return self
        n = max(1, int(np.ceil(spread / STEP_SPREAD)))
        lc0, m0 = self.lc, self.m
        # rows that appear take their new (small) scale at once (+inf change), rows that vanish leave at once (−inf)
        jump = None if np.array_equal(both, live) and np.array_equal(both, self._live) else \
            np.where(both, 0.0, np.where(live, np.inf, np.where(self._live, -np.inf, 0.0)))
        for j in range(1, n + 1):
            lj = lc if j == n else np.where(both, lc0 + (j / n) * dl, np.where(live, lc, -np.inf))
            grow = dl / n if jump is None or j > 1 else dl / n + jump
            if not self._step(lj, m if j == n else m0 + (j / n) * (m - m0), grow):
                self._full(lc, m)
                return self
        return self

    def _set(self, lc, m, Z, w=None):
        """Store Z = e^w Z (w per row); rows are renormalised (their log maxima moved into w) at the
        first time and whenever a row's norm has drifted beyond e^±RENORM."""
        self.Z, self.lc, self.m, self._live = Z, lc, m, np.isfinite(lc)
        with np.errstate(divide="ignore"):
            self._lq = np.log(np.einsum("ij,ij->i", Z, Z))
        if w is not None and -RENORM < np.min(self._lq, where=self._lq > -np.inf, initial=0.0) \
                and np.max(self._lq) < RENORM:
            self.w = w
            return
        base = 0.0 if w is None else w
        zmax = np.max(np.abs(Z), axis=1)            # by the largest entry first: a row's squares may underflow
        ok = zmax > 0
        Z /= np.where(ok, zmax, 1.0)[:, None]
        with np.errstate(divide="ignore"):
            self._lq = np.where(ok, np.log(np.einsum("ij,ij->i", Z, Z)), -np.inf)
            self.w = base + np.where(ok, np.log(np.where(ok, zmax, 1.0)), -np.inf)

    def _full(self, lc, m):
        D, H = self.Yn.shape
        with np.errstate(under="ignore"):
            scale = np.exp(0.5 * (lc - m))
            reg = np.exp(-0.5 * m)
        A = np.vstack([scale[:, None] * self.Yn, reg * np.eye(H)])
        size = scale * np.sqrt(np.einsum("ij,ij->i", self.Yn, self.Yn))
        order = np.argsort(-np.concatenate([size, np.full(H, reg)]), kind="stable")
        Qs, R = qr(A[order], mode="economic", check_finite=False)
        Q = np.empty_like(Qs)
        Q[order] = Qs
        # Yn R^-1 by a triangular solve is accurate row by row where the row's scale is below the
        # regulariser (c_i u_i < 1); above it the solve cancels, and Q_i / scale_i is accurate instead
        Z = dtrsm(1.0, R, np.array(self.Yn, order="F"), side=1, lower=0)
        big = size > reg
        Z[big] = Q[:D][big] / scale[big, None]
        self._set(lc, m, np.ascontiguousarray(Z))
        self._top = self._q = None                 # the factor's basis changed: no kept eigenvector

    def _rows(self, weight_log, pick=None):
        r"""Rows :math:`e^{(\text{weight\_log}_i)/2 + w_i}\hat z_i` of the rows in ``pick`` (a mask; all rows by
        default; rows between picked ones may come along as zeros), written into one buffer that lives as long as
        the factor (fresh D x H arrays at every step cost the allocator's page faults)."""
        with np.errstate(under="ignore", over="ignore"):
            f = np.exp(0.5 * weight_log + self.w)
        f[~np.isfinite(f)] = 0.0
        if self._buf is None:
            self._buf = np.empty_like(self.Z)
        if pick is None:
            return np.multiply(self.Z, f[:, None], out=self._buf)
        idx = np.flatnonzero(pick)
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        if 2 * idx.size >= hi - lo:                # mostly one run of rows (the live modes, largest λ first)
            f[~pick] = 0.0
            return np.multiply(self.Z[lo:hi], f[lo:hi, None], out=self._buf[:hi - lo])
        B = np.take(self.Z, idx, axis=0, out=self._buf[:idx.size])
        return np.multiply(B, f[idx, None], out=B)

    def _step(self, lc, m, grow):
        """One relative Cholesky QR step to (``lc``, ``m``), the rows' log scales changing by ``grow`` (+inf for a
        row that appears, −inf for one that vanishes); False (and nothing changed) if B is not well conditioned."""
        # the weights e^{l'-m'} - e^{l-m'} by the logs of their magnitudes, e^{l-m'}|expm1(l' - l)|
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = self.lc - m + np.log(np.abs(np.expm1(grow)))
        appear = grow == np.inf
        if appear.any():
            mag[appear] = lc[appear] - m
        H = self.Z.shape[1]
        if self._gram is None:
            self._gram = np.empty((H, H), order="F")
        G, beta = self._gram, 0.0                   # beta = 0: syrk writes G's upper triangle without reading it
        for sign, pick in ((1.0, grow > 0), (-1.0, grow < 0)):       # the rows' own change ...
            if pick.any():
                G = dsyrk(sign, self._rows(mag, pick).T, trans=0, beta=beta, c=G, overwrite_c=1)
                beta = 1.0
        if beta == 0.0:
            G.fill(0.0)
        G.flat[::H + 1] += np.exp(-(m - self.m))    # ... and the regulariser's block, e^{-(m'-m)}(I - Q_topᵀQ_top)
        U, info = dpotrf(G, lower=0, clean=1, overwrite_a=1)
        # with the same rows before and after, B = SQ has condition number at most e^STEP_SPREAD by construction,
        # and U's diagonal (u_ii² between G's extreme eigenvalues) is a cheap check of it; a row that appears or
        # vanishes has no such bound, and the triangle's condition number is estimated (LAPACK's trcon)
        if info != 0:
            return False
        diag = np.abs(np.diagonal(U))
        if diag.min() < MIN_RCOND * diag.max() or (np.isinf(grow).any() and dtrcon(U, norm="1", uplo="U")[0] < MIN_RCOND):
            return False
        top = self._top
        if top is not None:                        # Q' = QU^-1: the kept vector's coordinates in the new basis,
            self._top = U @ top                    # and Q_top'(Ux) = S Q_top x with S the rows' relative scaling
            finite = self._q is not None and not np.isinf(grow).any()
            self._q = self._q * np.exp(0.5 * (grow - (m - self.m))) if finite else None
        # U^-1 explicitly (H³/3), then a triangular product: as accurate as a solve for a triangle this well
        # conditioned (rcond >= MIN_RCOND), and BLAS runs trmm at about twice the speed of trsm
        Ui, info = dtrtri(U, lower=0, overwrite_c=1)
        Z = dtrmm(1.0, Ui, self.Z.T, side=0, lower=0, trans_a=1, overwrite_b=1).T     # rows z_i U^-1 = (U^-ᵀ Zᵀ)ᵀ
        self._set(lc, m, np.ascontiguousarray(Z), self.w)
        return True

    def log_q(self):
        r""":math:`\log\|z_i\|^2` for every row (−inf for a zero row)."""
        return 2 * self.w + self._lq

    def saturated(self, level):
        r"""Whether σ (:meth:`sigma`) is at least ``level``. Usually O(D): σ is the smallest eigenvalue of
        :math:`Q_\text{top}^\top Q_\text{top}`, so its Rayleigh quotient at the last bottom eigenvector x found is an
        upper bound on σ; while it is below ``level``, σ < level without an eigenvalue problem; otherwise σ is
        computed (and x kept for the next time). From one step to the next x is carried into the new basis,
        :math:`x \leftarrow Ux`, and :math:`q = Q_\text{top}x` is rescaled row by row (:meth:`_step`)."""
        x = self._top
        if x is not None:
            if self._q is None:
                self._q = self._rows(self.lc - self.m) @ x
            if float(self._q @ self._q) < level * float(x @ x):
                return False
        return self.sigma(keep=True) >= level

    def sigma(self, keep=False):
        r"""Saturation of the least saturated hidden direction, :math:`1 - \lambda_{\max}(Q_\text{reg}^\top Q_\text{reg})
        = \lambda_{\min}(Q_\text{top}^\top Q_\text{top})` (one eigenpair, by LAPACK's ``syevx``; with ``keep`` the
        eigenvector is kept for :meth:`saturated`)."""
        B = self._rows(self.lc - self.m)
        G = dsyrk(1.0, B.T, trans=0)
        bottom, vec = eigh(G, lower=False, subset_by_index=[0, 0], driver="evx", check_finite=False)
        if vec.shape[1] == 0:      # syevx can return no eigenpair for a tight cluster; the full solver always does
            bottom, vec = eigh(G, lower=False, driver="evd", check_finite=False)
        if keep:
            self._top = vec[:, 0].copy()
            self._q = B @ self._top
        return min(max(float(bottom[0]), 0.0), 1.0)


#: Largest total change of the (log) row scales that one relative step may take before a full QR.
MAX_SPREAD = 60.0
#: Largest change of the (log) row scales within one relative substep (condition number e^STEP_SPREAD).
STEP_SPREAD = 3.0
#: Rows of Z are renormalised when their log squared norm leaves (−RENORM, RENORM).
RENORM = 100.0
#: A relative step whose triangle has a smaller reciprocal condition number is redone as a full QR.
MIN_RCOND = 1e-2
#: Saturation of the least saturated hidden direction at which R15 hands over to R1's balanced flow (D > H).
SWITCH = 1e-3


def _factor_scales(logc, g):
    """The factor's log squared row scales from log c_i (any leading shape): log c_i + 2 log g, capped at LOG_CAP."""
    return np.minimum(np.where(np.isfinite(logc), logc + 2 * np.log(g), -np.inf), LOG_CAP)


def _strengths(logE, logc, m, log_q, log_u0, g):
    """s_i from log E_i, log c_i, the factor's m and log|z_i|² (any leading shape, times first); see the module
    docstring. A time with no live row (every c_i = 0) has no factor (m = nan): there s_i = E_i u0_i."""
    lc = _factor_scales(logc, g)
    m = np.asarray(m, dtype=float)[..., None]
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        direct = np.exp(logE - m + 2 * np.log(g) + log_q)
        saturated = np.exp(logE - logc + (lc - m) + log_q)        # (E_i / c_i) times row i's leverage
        s = np.where(logc + log_u0 > 0, saturated, direct)
        s = np.where(np.isnan(m), np.exp(logE + log_u0), s)
    s = np.where(np.isneginf(log_u0), 0.0, s)       # a mode with no growing part stays at zero (exactly)
    if not np.all(np.isfinite(s)):
        bad = np.unravel_index(int(np.flatnonzero(~np.isfinite(s))[0]), s.shape)
        raise FloatingPointError(f"R15 could not be evaluated for mode {bad[-1] + 1} (log c = {logc[bad]:.6g}, "
                                 f"log u0 = {log_u0[bad[-1]]:.6g}); this is a bug, please report it")
    return s


def _check_start(lam, growing):
    lam = np.atleast_1d(as_array("lam", lam, lo=0.0))
    Y = as_array("growing", growing)
    if lam.ndim != 1 or Y.ndim != 2 or Y.shape[0] != lam.size or Y.shape[1] < 1:
        raise InvalidArgument(f"need lam (D,) and growing (D, H) with H >= 1; got {lam.shape} and {Y.shape}")
    return lam, Y


def random_init_strength(lam, growing, *, noise_var=0.0, weight_decay=0.0, lr=None, epochs=None, record_every=1, t=None,
                         balanced=True, switch=None, check_dt=0.1):
    r"""R15: every mode's strength from the actual small random start.

    Parameters
    ----------
    lam : array_like (D,)
        Eigenvalues λ_i >= 0 (any order).
    growing : array_like (D, H)
        Row i is the growing part :math:`y_i = (W_1(0)v_i + W_2(0)^\top v_i)/2` of mode i (R14).
    noise_var, weight_decay : float
        Noise variance and weight decay.
    lr, steps, record_every : float, int, int
        Discrete time: the exact per-mode GD map (R12) is the single-mode limit; the result is at
        steps 0, record_every, ..., steps.
    t : array_like (T,)
        Continuous time instead (non-decreasing, >= 0): R15's closed form.
    balanced : bool
        At the capacity limit (D > H), continue with R1's flow on the balanced set once every hidden
        direction is in use (default; see the module docstring); without it, the plain Riccati surrogate
        throughout.
    switch : float
        Saturation σ of the least saturated hidden direction at which to hand over, in [0, 1] (default
        :data:`SWITCH`; 0 hands over at the first grid time).
    check_dt : float
        Time step (in units of t = lr * k) of the grid on which the saturation σ is checked for the
        hand-over, added to the requested one (one factor update each).

    Returns
    -------
    times : ndarray (K,)
        The recorded steps (discrete) or times (continuous).
    s : ndarray (K, D)
        Predicted strengths :math:`s_i`.
    """
    from .gd import _record_steps, gd_modes
    lam, Y = _check_start(lam, growing)
    noise_var = float(as_array("noise_var", noise_var, lo=0.0))
    weight_decay = float(as_array("weight_decay", weight_decay, lo=0.0))
    check_dt = float(as_array("check_dt", check_dt, lo=0.0, lo_open=True))
    switch = SWITCH if switch is None else float(as_array("switch", switch, lo=0.0, hi=1.0))
    kap, xi = lam - weight_decay, lam + noise_var
    # u0_i = |y_i|^2 in log form: starts of 1e-170 and below have u0 beneath the float64 range, their s_i not
    amax = float(np.max(np.abs(Y))) if Y.size else 0.0
    with np.errstate(divide="ignore", under="ignore"):
        log_u0 = (2 * np.log(amax) + np.log(np.sum((Y / amax) ** 2, axis=1))) if amax > 0 else np.full(lam.size, -np.inf)
        u0 = np.exp(log_u0)
    H = Y.shape[1]
    # the hand-over happens only at the capacity limit: with D <= H every mode ends in a direction of its own
    hand_over = bool(balanced) and lam.size > H
    if t is None:
        if lr is None or epochs is None:
            raise InvalidArgumentType("give t, or lr and steps")
        lr = float(as_array("lr", lr, lo=0.0, lo_open=True))
        epochs, rec = _record_steps(epochs, record_every)
        if np.any(1 + lr * kap <= 0):
            raise InvalidArgument(f"lr = {lr:g} makes 1 + eta (lam - weight_decay) <= 0 for some mode; no GD growth law")
        check = max(1, int(round(check_dt / lr)))
        extra = np.arange(0, epochs + 1, check) if hand_over else rec
        grid = np.union1d(rec, extra)
        # the single-mode map is iterated at every step but kept only at the grid's steps (multiples of `every`)
        record_every = as_int("record_every", record_every, lo=1)
        every = int(np.gcd(record_every, check)) if hand_over else record_every
        iso = gd_modes(epochs, lam, noise_var=noise_var, weight_decay=weight_decay, a0=np.exp(0.5 * log_u0),
                       b0=np.exp(0.5 * log_u0), lr=lr, record_every=every)
        at, s_isos = {int(x): j for j, x in enumerate(iso.epochs)}, iso.strengths

        def rows(x):                               # at the grid's steps x (K,): log E and log c, (K, D) each
            j = np.asarray(x, dtype=int)
            log_e = 2 * j[:, None] * np.log1p(lr * kap)
            s_iso = s_isos[[at[int(i)] for i in j]]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
                ratio = np.minimum(np.exp(np.log(s_iso) - log_e - log_u0), 1.0)
                log_c = log_e - np.log(s_iso) + np.log1p(-ratio)
            return log_e, np.where(np.isnan(log_c) & np.isneginf(log_u0), -np.inf, log_c)  # no growing part: c plays no role

        def advance(state, x0, x1):
            return state.gd_steps(lr, int(x1) - int(x0))
    else:
        times = np.atleast_1d(as_array("t", t, lo=0.0))
        if times.ndim != 1 or np.any(np.diff(times) < 0):
            raise InvalidArgument("t must be a non-decreasing one-dimensional array")
        rec = times

        def rows(x):
            x = np.asarray(x, dtype=float)[:, None]
            return 2 * kap * x, log_saturation_weight(x, lam, noise_var=noise_var, weight_decay=weight_decay)

        def advance(state, x0, x1):
            return state.flow(x1 - x0) if x1 > x0 else state
        extra = np.arange(0, times[-1], check_dt) if hand_over and len(times) else times
        grid = np.union1d(times, extra)
    out = np.empty((len(rec), lam.size))
    where = {float(x): j for j, x in enumerate(rec)}
    # Y = g Yn with g the largest row norm (representable even where u0 is not): c_i enters through log c_i + 2 log g
    g = float(np.exp(0.5 * np.max(log_u0))) if np.isfinite(np.max(log_u0)) else 1.0
    factor = _Factor(Y / g)
    # the closed form's times, up to the hand-over: the factor is moved from one to the next and its m and log|z_i|²
    # kept; the strengths are formed afterwards, all times at once (the hand-over's time at once)
    pos = grid[grid > 0]
    log_e, log_c = rows(pos) if pos.size else (np.empty((0, lam.size)),) * 2
    scales, live = _factor_scales(log_c, g), np.isfinite(log_c).any(axis=1)
    ms, log_qs = np.full(pos.size, np.nan), np.full((pos.size, lam.size), -np.inf)
    state, prev, done = None, 0.0, 0
    for x in grid:
        if state is not None:                      # past the hand-over: R1's balanced flow, to the recorded times
            if float(x) not in where:
                continue
            out[where[float(x)]] = advance(state, prev, x).strengths()
        elif x == 0:
            if float(x) in where:
                out[where[float(x)]] = u0
        else:
            k, done = done, done + 1
            if live[k]:
                factor.at(scales[k])
                ms[k], log_qs[k] = factor.m, factor.log_q()
                if hand_over and factor.saturated(switch):
                    s = _strengths(log_e[k], log_c[k], ms[k], log_qs[k], log_u0, g)
                    with np.errstate(divide="ignore"):
                        state = BalancedRows(factor.Z, np.log(s), kap, xi)
        prev = x
    if done:
        s = _strengths(log_e[:done], log_c[:done], ms[:done], log_qs[:done], log_u0, g)
        for k, x in enumerate(pos[:done]):
            if float(x) in where:
                out[where[float(x)]] = s[k]
    return rec, out
