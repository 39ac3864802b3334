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
    r"""Row-wise accurate :math:`Z = Y_n R^{-1}` and :math:`T = e^{-m/2}R^{-1}` for the graded matrix
    :math:`A = [\operatorname{diag}(e^{(l_i - m)/2})\,Y_n;\ e^{-m/2}I] = QR`, from one time to the next.

    The first time (and any step across which the row scales change by more than :data:`MAX_SPREAD` in
    all, or a row appears or vanishes) is a Householder QR of the rows sorted by size, accurate row by
    row for graded matrices. Every other step is a Cholesky QR *relative to the previous factor*: the
    new :math:`A' = SA` differs by a row scaling S, so :math:`B = A'R^{-1} = SQ` has condition number at
    most :math:`\max S/\min S`; with :math:`B^\top B = U^\top U` (Cholesky, accurate because B is well
    conditioned) the new factor is :math:`R' = UR`, and :math:`Z' = ZU^{-1}` transforms each row by the
    same well-conditioned triangle, so every row keeps its relative accuracy. Large scale changes are
    split into substeps of spread :data:`STEP_SPREAD` (any path of row scalings gives the same R').
    One step costs a D x H scaling, a rank-k update, an H x H Cholesky and its inverse, and a triangular
    product, against a QR of a (D + H) x H matrix. Rows of Z are stored as :math:`e^{w_i}\hat z_i` with
    :math:`\max_h|\hat z_{ih}| = 1`, since :math:`\|z_i\|` ranges up to :math:`e^{m/2}`.
    """

    def __init__(self, Yn):
        self.Yn = np.ascontiguousarray(Yn, dtype=float)
        self.lc = None

    def at(self, lc):
        """Move the factor to the log squared row scales ``lc`` (−inf for a zero row); return self."""
        m = float(np.max(lc))
        if self.lc is None:
            self._full(lc, m)
            return self
        live, was = np.isfinite(lc), np.isfinite(self.lc)
        both = live & was
        d = np.append(0.5 * ((lc[both] - m) - (self.lc[both] - self.m)), -0.5 * (m - self.m))
        spread = float(np.max(d) - np.min(d))
        if spread > MAX_SPREAD:
            self._full(lc, m)
            return self
        n = max(1, int(np.ceil(spread / STEP_SPREAD)))
        lc0, m0 = self.lc, self.m
        with np.errstate(invalid="ignore"):
            path = np.where(both, lc - lc0, 0.0)
        for j in range(1, n + 1):
            f = j / n
            # rows that appear take their new (small) scale at once, rows that vanish leave at once
            lj = lc if j == n else np.where(both, lc0 + f * path, np.where(live, lc, -np.inf))
            if not self._step(lj, m if j == n else m0 + f * (m - m0)):
                self._full(lc, m)
                return self
        return self

    def _set(self, lc, m, Z, T, w=None):
        """Store Z = e^w Z (w per row) and T; rows are renormalised (their log maxima moved into w) at the
        first time and whenever a row's norm has drifted beyond e^±RENORM."""
        self.Z, self.T, self.lc, self.m = Z, T, lc, m
        with np.errstate(divide="ignore"):
            self._lq = np.log(np.einsum("ij,ij->i", Z, Z))
        if w is not None and np.all(np.abs(np.where(np.isfinite(self._lq), self._lq, 0.0)) < RENORM):
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
        self._set(lc, m, np.ascontiguousarray(Z), np.asfortranarray(Q[D:]))

    def _step(self, lc, m):
        """One relative Cholesky QR step; False (and nothing changed) if B is not well conditioned."""
        with np.errstate(under="ignore", over="ignore"):
            f = np.exp(0.5 * (lc - m) + self.w)
        B = self.Z * np.where(np.isfinite(f), f, 0.0)[:, None]
        G = dsyrk(1.0, B.T, trans=0)                                                 # Bᵀ B, upper
        Tb = self.T * np.exp(-0.5 * (m - self.m))
        G = dsyrk(1.0, Tb, trans=1, beta=1.0, c=G, overwrite_c=1)
        U, info = dpotrf(G, lower=0, clean=1, overwrite_a=1)
        if info != 0 or dtrcon(U, norm="1", uplo="U")[0] < MIN_RCOND:
            return False
        # U^-1 explicitly (H³/3), then triangular products: as accurate as solves for a triangle this well
        # conditioned (rcond >= MIN_RCOND), and BLAS runs trmm at about twice the speed of trsm
        Ui, info = dtrtri(U, lower=0, overwrite_c=1)
        Z = dtrmm(1.0, Ui, self.Z.T, side=0, lower=0, trans_a=1, overwrite_b=1).T     # rows z_i U^-1 = (U^-ᵀ Zᵀ)ᵀ
        T = dtrmm(1.0, Ui, Tb, side=1, lower=0, overwrite_b=1)                          # T U^-1
        self._set(lc, m, np.ascontiguousarray(Z), np.asfortranarray(T), self.w)
        return True

    def log_q(self):
        r""":math:`\log\|z_i\|^2` for every row (−inf for a zero row)."""
        return 2 * self.w + self._lq

    def saturated(self, level):
        r"""Whether σ (:meth:`sigma`) is at least ``level``. Usually O(H²): :math:`TT^\top = M^{-1}` in the fixed
        coordinates of :math:`Y_0`'s columns (the factor's own basis changes from step to step), so the Rayleigh
        quotient :math:`\|T^\top u\|^2` at the last top eigenvector u found is a lower bound on
        :math:`\lambda_{\max}`; while it exceeds 1 − level, σ < level without an eigenvalue problem; otherwise
        σ is computed (and u kept for the next time)."""
        u = getattr(self, "_top", None)
        if u is not None:
            w = self.T.T @ u
            if float(w @ w) > 1.0 - level:
                return False
        return self.sigma(keep=True) >= level

    def sigma(self, keep=False):
        r"""Saturation of the least saturated hidden direction, :math:`1 - \lambda_{\max}(T^\top T)`
        (one eigenpair, by LAPACK's ``syevx``; with ``keep`` the eigenvector is kept for :meth:`saturated`)."""
        H = self.T.shape[1]
        top, vec = eigh(dsyrk(1.0, self.T, trans=1), lower=False, subset_by_index=[H - 1, H - 1],
                        driver="evx", check_finite=False)
        if keep:                                   # u = Tv/|Tv|: the top eigenvector of TTᵀ = M⁻¹
            u = self.T @ vec[:, 0]
            self._top = u / np.linalg.norm(u)
        return min(max(1.0 - float(top[0]), 0.0), 1.0)


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


def _strengths(logE, logc_t, factor, log_u0, g):
    """s_i at one time from log E_i and log c_i; see the module docstring."""
    live = np.isfinite(logc_t)
    if not np.any(live):
        return np.exp(logE + log_u0)
    lc = np.minimum(np.where(live, logc_t + 2 * np.log(g), -np.inf), LOG_CAP)
    factor.at(lc)
    m, log_q = factor.m, factor.log_q()
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        direct = np.exp(logE - m + 2 * np.log(g) + log_q)
        saturated = np.exp(logE - logc_t + (lc - m) + log_q)      # (E_i / c_i) times row i's leverage
        s = np.where(logc_t + log_u0 > 0, saturated, direct)
    s = np.where(np.isneginf(log_u0), 0.0, s)       # a mode with no growing part stays at zero (exactly)
    if not np.all(np.isfinite(s)):
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise FloatingPointError(f"R15 could not be evaluated for mode {bad + 1} (log c = {logc_t[bad]:.6g}, "
                                 f"log u0 = {log_u0[bad]:.6g}); this is a bug, please report it")
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

        def rows(x):
            j = int(x)
            log_e = 2 * j * np.log1p(lr * kap)
            s_iso = s_isos[at[j]]
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
    state, prev = None, 0.0
    for x in grid:
        if state is not None:                      # past the hand-over: R1's balanced flow, to the recorded times
            if float(x) not in where:
                continue
            s = advance(state, prev, x).strengths()
        elif x == 0:
            s = u0
        else:
            log_e_x, log_c_x = rows(x)
            s = _strengths(log_e_x, log_c_x, factor, log_u0, g)
            if hand_over and factor.lc is not None and factor.saturated(switch):
                with np.errstate(divide="ignore"):
                    state = BalancedRows(factor.Z, np.log(s), kap, xi)
        prev = x
        if float(x) in where:
            out[where[float(x)]] = s
    return rec, out
