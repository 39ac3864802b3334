r"""Noise models beyond isotropic Gaussian noise (N1-N8): their moments, optima and the Riccati surrogate.

Every noise model turns the loss into :math:`\tfrac12\operatorname{tr}\Sigma - \operatorname{tr}(WC) +
\tfrac12\operatorname{tr}(WBW^\top)` with :math:`C = E[x\tilde x^\top]` and :math:`B = E[\tilde x\tilde x^\top]`
(N1, N2); hidden-unit dropout adds a penalty on the factors (N3). Here:

* :func:`masking_moments`, :func:`gaussian_moments`: (C, B) of a noise model (N1, N2);
* :func:`rank_h_optimum`: :math:`W^* = [CB^{-1/2}]_H B^{-1/2}` and its loss (N5);
* :func:`dropout_optimum`: the equalised optimum under hidden-unit dropout (N6);
* :func:`surrogate_strength`: every mode's strength from a small random start by the Riccati surrogate (N7),
  evaluated stably for any time (see its Notes);
* :func:`off_diagonal_fraction`: how far a matrix in Σ's eigenbasis is from diagonal (N4's leakage).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import cholesky, eigh, qr, solve_triangular, svd

from ._blas import one_blas_thread
from ._checks import as_array, as_int
from .errors import InvalidArgument, InvalidArgumentType
from .balanced_flow import BalancedRows
from .random_init import SWITCH


#: Largest log row scale of Z in the factorisation (rows above it are capped; e^-LOG_CAP is the regulariser's scale).
#: Below the cap the evaluation is exact to rounding. A capped row is far past saturation, so every saturated strength
#: is unchanged (the hat matrix does not move); but a mode that a capped row suppresses (its value set by M's
#: capped direction, e.g. H = 1) comes out overstated, by up to e^{2(log scale − LOG_CAP)}. A wider single QR loses
#: row accuracy to underflow (tried: a cap of 1400 with the rows scaled to e^{±700} missed R15 by 0.06).
LOG_CAP = 600.0


def _square(name, A):
    A = as_array(name, A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise InvalidArgument(f"{name} must be a square matrix, got shape {A.shape}")
    return A


def _symmetric(name, A):
    A = _square(name, A)
    scale = max(float(np.max(np.abs(A))), np.finfo(float).tiny)
    if np.max(np.abs(A - A.T)) > 1e-10 * scale:
        raise InvalidArgument(f"{name} must be symmetric (largest |A - Aᵀ| is {np.max(np.abs(A - A.T)):.3g})")
    return (A + A.T) / 2


def _keep(name, value):
    value = float(as_array(name, value, lo=0.0, lo_open=True))
    if value > 1:
        raise InvalidArgument(f"{name} is a keep probability in (0, 1], got {value:g}")
    return value


def masking_moments(Sigma, keep, *, scaled=True):
    r"""(C, B) of input masking that keeps each input with probability q = ``keep`` (N2).

    Scaled (inverted, x̃ = m∘x/q): :math:`C = \Sigma`, :math:`B = \Sigma + \frac{1-q}{q}\operatorname{diag}\Sigma`.
    Unscaled (mSDA): :math:`C = q\Sigma`, :math:`B = q^2\Sigma + q(1-q)\operatorname{diag}\Sigma`.
    ``Sigma`` may be given in any orthonormal basis V as VᵀΣV together with ``diag`` of the data basis; pass the
    data-basis Σ here and rotate the result.
    """
    S = _symmetric("Sigma", Sigma)
    q = _keep("keep", keep)
    Dg = np.diag(np.diag(S))
    if scaled:
        return S.copy(), S + (1 - q) / q * Dg
    return q * S, q * q * S + q * (1 - q) * Dg


def gaussian_moments(Sigma, noise_cov):
    r"""(C, B) = (Σ, Σ + Ψ) of Gaussian input noise of covariance Ψ = ``noise_cov`` (N1; Ψ = εI is R1)."""
    S = _symmetric("Sigma", Sigma)
    P = _symmetric("noise_cov", noise_cov)
    if P.shape != S.shape:
        raise InvalidArgument(f"noise_cov must be {S.shape}, like Sigma, got {P.shape}")
    if np.min(np.linalg.eigvalsh(P)) < -1e-12 * max(1.0, float(np.max(np.abs(P)))):
        raise InvalidArgument("noise_cov must be positive semidefinite")
    return S.copy(), S + P


def _inv_sqrt(B, rcond=1e-12):
    """B^{-1/2} on the range of B (pseudo-inverse square root; directions with eigenvalue <= rcond·max are dropped)."""
    w, U = eigh(B)
    keep = w > rcond * max(float(w[-1]), np.finfo(float).tiny)
    return (U[:, keep] / np.sqrt(w[keep])) @ U[:, keep].T


def rank_h_optimum(C, B, hidden, *, trace_sigma=None, return_directions=False):
    r"""The rank-H optimum of :math:`\tfrac12\operatorname{tr}\Sigma - \operatorname{tr}(WC) + \tfrac12\operatorname{tr}(WBW^\top)` (N5).

    .. math:: W^* = [CB^{-1/2}]_H\,B^{-1/2},\qquad L^* = \tfrac12\operatorname{tr}\Sigma - \tfrac12\sum_{k\le H}\sigma_k^2

    Parameters
    ----------
    C, B : array_like (D, D)
        Cross and second moment of the corrupted input (:func:`masking_moments`, :func:`gaussian_moments`).
    hidden : int
        H, the rank.
    trace_sigma : float, optional
        tr Σ, for the loss (default: the loss is returned without it, i.e. minus ½Σσ_k²).
    return_directions : bool
        Also return W*'s input directions in the B-whitened coordinates.

    Returns
    -------
    W : ndarray (D, D)
    loss : float
    singular_values : ndarray (D,)
        σ_k of :math:`CB^{-1/2}`, descending; σ_H > σ_{H+1} makes W* unique. Directions where B vanishes
        (inputs that never vary) are left out: there W* is 0.
    directions : ndarray (H, D)
        With ``return_directions``: the top H right singular vectors of :math:`CB^{-1/2}`, which are those of
        :math:`W^*B^{1/2} = [CB^{-1/2}]_H` (on the range of B), from the same SVD.
    """
    C, B = _square("C", C), _symmetric("B", B)
    H = as_int("hidden", hidden, lo=1)
    if H > B.shape[0]:
        raise InvalidArgument(f"hidden must be <= D = {B.shape[0]}, got {H}")
    Bmh = _inv_sqrt(B)
    U, s, Vt = svd(C @ Bmh, full_matrices=False)
    W = (U[:, :H] * s[:H]) @ Vt[:H] @ Bmh
    loss = -0.5 * float(np.sum(s[:H] ** 2)) + (0.5 * float(trace_sigma) if trace_sigma is not None else 0.0)
    return (W, loss, s, Vt[:H]) if return_directions else (W, loss, s)


def dropout_optimum(lam, hidden, dropout_keep):
    r"""The optimum under hidden-unit dropout (N6): mode strengths and the least loss.

    .. math:: s_i = 1 - \mu/\sqrt{\lambda_i}\ (i \le r),\quad \mu = \frac{\rho S_r}{H + \rho r},\quad
              L^* = \frac{\rho S_r^2}{2(H + \rho r)} + \tfrac12\sum_{i>r}\lambda_i,

    :math:`\rho = (1-\theta)/\theta`, :math:`S_r = \sum_{i\le r}\sqrt{\lambda_i}`, r ≤ H the largest count with
    :math:`\sqrt{\lambda_r} > \mu` (modes beyond r have s = 0).

    Returns
    -------
    strengths : ndarray (D,)
        In the order of ``lam``.
    loss : float
        In lindae's convention (½ the squared error); the summed-squares convention is twice this.
    """
    lam = np.atleast_1d(as_array("lam", lam, lo=0.0))
    H = as_int("hidden", hidden, lo=1)
    theta = _keep("dropout_keep", dropout_keep)
    rho = (1 - theta) / theta
    order = np.argsort(-lam, kind="stable")
    root = np.sqrt(lam[order])
    best = 0
    for r in range(1, min(H, lam.size) + 1):
        mu = rho * root[:r].sum() / (H + rho * r)
        if root[r - 1] > mu:
            best = r
    s = np.zeros(lam.size)
    if best == 0:
        return s, 0.5 * float(lam.sum())
    S_r = root[:best].sum()
    mu = rho * S_r / (H + rho * best)
    s[order[:best]] = 1 - mu / root[:best]
    return s, rho * S_r ** 2 / (2 * (H + rho * best)) + 0.5 * float(np.sum(lam[order[best:]]))


def off_diagonal_fraction(W):
    r""":math:`\|\operatorname{offdiag}(\tilde W)\|_F / \|\tilde W\|_F` of a matrix in Σ's eigenbasis: 0 when the
    modes are decoupled (N4). Rows and columns of W̃ may be a subset (e.g. the first H modes)."""
    W = np.asarray(W, dtype=float)
    total = float(np.sqrt(np.sum(W * W)))
    if total == 0:
        return 0.0
    off = W - np.diag(np.diag(W)) if W.shape[0] == W.shape[1] else W
    return float(np.sqrt(np.sum(off * off))) / total


def surrogate_strength(kappa, B, growing, *, t=None, lr=None, epochs=None, record_every=1, balanced=True, switch=None,
                       check_dt=1.0):
    r"""N7: every mode's strength :math:`s_i = W_{ii}` under the Riccati surrogate, from a small random start.

    .. math:: W(t) = e^{Kt}Y_0\big(I + 2Y_0^\top G(t)Y_0\big)^{-1}Y_0^\top e^{Kt},\qquad
              G_{ij} = B_{ij}\frac{e^{(\kappa_i+\kappa_j)t} - 1}{\kappa_i + \kappa_j}

    Parameters
    ----------
    kappa : array_like (D,)
        The diagonal of K = C − γI in the basis where C is diagonal (Σ's eigenbasis; λ_i for Gaussian noise and
        scaled masking, qλ_i for unscaled masking), κ_i ≥ 0.
    B : array_like (D, D)
        The corrupted input's second moment in the same basis (symmetric positive semidefinite).
    growing : array_like (D, H)
        Row i is the growing part :math:`y_i = (W_1(0)v_i + W_2(0)^\top v_i)/2` of mode i (R14).
    t : array_like (T,), optional
        Continuous times (non-decreasing).
    lr, epochs, record_every : optional
        Discrete time instead: k = 0, record_every, ..., epochs steps of GD with rate η (or ``epochs`` an array of
        the step counts wanted). The closed form with
        :math:`e^{\kappa_it}` replaced by GD's linear growth :math:`g_i^k = (1 + \eta\kappa_i)^k`, i.e.
        :math:`G_{ij} = B_{ij}((g_ig_j)^k - 1)/(\kappa_i + \kappa_j)`: the growth of small modes is GD's exactly and
        the fixed point is the surrogate's (t = ηk as η → 0). The sum
        :math:`\eta\sum_{s<k}(g_ig_j)^sB_{ij}` would instead move a mode's fixed point by the factor
        :math:`1 + \eta\kappa_i/2`.

    balanced : bool
        At the capacity limit (D > H), hand over to R1's flow on the balanced set once every hidden direction is
        in use (default; as in :func:`random_init_strength`): :math:`\dot Y = KY - \frac12(YY^\top BY + BYY^\top Y)`,
        stepped by GD's map (discrete time) or its ODE (continuous time) from the closed form's exact state.
    switch : float
        Saturation σ of the least saturated hidden direction at which to hand over (default
        :data:`lindae.dynamics.random_init.SWITCH`; 0 hands over at the first grid time).
    check_dt : float
        The step (in units of t = ηk) of the grid on which σ is checked, besides the requested times.

    Returns
    -------
    times : ndarray (T,)
        The times (continuous) or recorded steps (discrete).
    s : ndarray (T, D)

    Notes
    -----
    Stable for any time: with :math:`a_i = \rho_i x` (ρ_i the log growth rate, x = t or k) and
    :math:`F = e^{-A}Ge^{-A}`, whose entries :math:`B_{ij}(1 - e^{-(\rho_i+\rho_j)x})/d_{ij}` stay bounded,
    :math:`M = I + Z^\top Z` with :math:`Z = \sqrt2 L^\top e^{A}Y_0` and F = LLᵀ (Cholesky, modes in decreasing
    κ). Because Lᵀ is upper triangular, row i of Z is :math:`e^{a_i}` times a combination of rows j ≥ i scaled
    by :math:`e^{a_j - a_i} \le 1`: Z stays graded, and the graded QR :math:`[Z; I] = QR` (rows sorted by size,
    Householder) is formed from log scales, never from :math:`e^{a_i}`. Then :math:`R^{-1}` is the bottom block of
    Q (bounded, since M ≥ I), and :math:`s_i = \|e^{a_i}y_iR^{-1}\|^2` for modes below saturation, or
    :math:`\|(L^{-\top}Q_\text{top})_i\|^2/2` above it. Modes where B vanishes (inputs that never vary) do not
    enter F; they keep their start, seen through R.
    """
    kap = np.atleast_1d(as_array("kappa", kappa, lo=0.0))
    Bm = _symmetric("B", B)
    Y = as_array("growing", growing)
    D = kap.size
    if Bm.shape != (D, D) or Y.ndim != 2 or Y.shape[0] != D:
        raise InvalidArgument(f"need kappa (D,), B (D, D) and growing (D, H); got {kap.shape}, {Bm.shape} and {Y.shape}")
    if t is None:
        if lr is None or epochs is None:
            raise InvalidArgumentType("give t, or lr and epochs")
        lr = float(as_array("lr", lr, lo=0.0, lo_open=True))
        if np.ndim(epochs) == 1:                       # the steps themselves (e.g. a run's recorded epochs)
            times = as_array("epochs", epochs, lo=0.0)
            if np.any(times != np.round(times)) or np.any(np.diff(times) < 0):
                raise InvalidArgument("epochs given as an array must be non-decreasing whole step counts")
        else:
            epochs = as_int("epochs", epochs, lo=0)
            every = as_int("record_every", record_every, lo=1)
            times = np.unique(np.append(np.arange(0, epochs + 1, every), epochs)).astype(float)
        rate = np.log1p(lr * kap)                                   # per step: GD's linear growth g_i = 1 + ηκ_i
    else:
        times = np.atleast_1d(as_array("t", t, lo=0.0))
        if times.ndim != 1 or np.any(np.diff(times) < 0):
            raise InvalidArgument("t must be a non-decreasing one-dimensional array")
        rate = kap
    pair = np.add.outer(rate, rate)
    den = np.where(pair > 0, np.add.outer(kap, kap), 1.0)
    order = np.argsort(-rate, kind="stable")
    ev = _Evaluator(rate[order], pair[np.ix_(order, order)], den[np.ix_(order, order)], Bm[np.ix_(order, order)],
                    Y[order], step=None if t is not None else lr)
    H = Y.shape[1]
    out = np.empty((times.size, D))
    # the hand-over happens only at the capacity limit (D > H)
    hand_over = bool(balanced) and D > H
    switch = SWITCH if switch is None else float(as_array("switch", switch, lo=0.0, hi=1.0))
    unit = 1.0 if t is not None else lr                # x is t (continuous) or the step k (discrete)
    grid = np.union1d(times, np.arange(0.0, times[-1], float(as_array("check_dt", check_dt, lo=0.0, lo_open=True)) / unit)) \
        if hand_over and times.size else times
    where = {float(x): j for j, x in enumerate(times)}
    state, prev = None, 0.0
    with one_blas_thread():        # mid-sized products and factorisations: threads cost more than they give
        for x in grid:
            if state is not None:                 # past the hand-over: R1's balanced flow, to the recorded times
                if float(x) not in where:
                    continue
                s = (state.flow(x - prev) if t is not None else state.gd_steps(lr, int(x) - int(prev))).strengths()
            else:
                s, sigma, rows = ev.at(x, need_sigma=hand_over)
                if hand_over and x > 0 and sigma >= switch:
                    with np.errstate(divide="ignore"):
                        state = BalancedRows(rows, np.log(s), kap[order], Bm[np.ix_(order, order)])
            prev = x
            if float(x) in where:
                out[where[float(x)], order] = s
    return times, out


def _cholesky_psd(F):
    """Cholesky factor of the positive semidefinite F. Where F is singular to rounding (a corrupted input that
    hardly varies: B = E[x̃x̃ᵀ] is computed from data and is only positive semidefinite), the diagonal is raised
    by 10^k·ε·max F_ii, k = 0, 1, ..., 6, the size of F's own rounding errors, until the factorisation exists."""
    try:
        return cholesky(F, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        pass
    base = np.finfo(float).eps * float(np.max(np.diag(F)))
    for k in range(7):
        try:
            return cholesky(F + (10.0 ** k * base) * np.eye(F.shape[0]), lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            continue
    raise InvalidArgument("B is not positive semidefinite (its Cholesky factor does not exist even with a diagonal "
                          "shift of 1e6 times its rounding error); the surrogate needs B = E[x̃x̃ᵀ] >= 0")


class _Evaluator:
    """N7's strengths at one time from the graded factorisation described in :func:`surrogate_strength`'s Notes
    (modes sorted by decreasing growth rate)."""

    def __init__(self, rate, pair, den, B, Y, step):
        self.rate, self.pair, self.den, self.B, self.Y, self.step = rate, pair, den, B, Y, step
        scale_b = max(float(np.max(np.diag(B))), np.finfo(float).tiny)
        self.live = np.diag(B) > 1e-14 * scale_b           # modes where the corrupted input varies at all
        self.u0 = np.einsum("ij,ij->i", Y, Y)
        self.H = Y.shape[1]

    def at(self, x, need_sigma=True):
        """(strengths at x, saturation σ of the least saturated hidden direction, the rows of Y = e^{Kx}Y_0R⁻¹ as
        directions whose squared norms are not used: below saturation y_iR⁻¹, above it rows of L⁻ᵀQ_top/√2)."""
        if x == 0:
            return self.u0.copy(), 0.0, self.Y.copy()
        live, H = self.live, self.H
        a = self.rate * x
        with np.errstate(over="ignore"):
            phi = np.where(self.pair > 0, -np.expm1(-self.pair * x) / self.den, x if self.step is None else x * self.step)
        F = self.B[np.ix_(live, live)] * phi[np.ix_(live, live)]
        Lc = _cholesky_psd(F)
        al = a[live]                             # log row scales of the start's growth at x
        ratio = np.triu(np.exp(np.minimum(al[None, :] - al[:, None], 0.0)))     # e^{a_j − a_i}, j ≥ i
        Zh = np.sqrt(2.0) * (Lc.T * ratio) @ self.Y[live]                      # row i: e^{−a_i} (√2 Lᵀ e^A Y)_i
        zmax = np.max(np.abs(Zh), axis=1)           # row norms by the largest entry first: tiny rows' squares underflow
        zs = np.where(zmax > 0, zmax, 1.0)
        with np.errstate(divide="ignore"):
            lz = al + np.where(zmax > 0, np.log(zs) + 0.5 * np.log(np.einsum("ij,ij->i", Zh / zs[:, None], Zh / zs[:, None])),
                               -np.inf)                                       # log row norms of Z
        # rows above e^CAP are capped there: far past saturation, a row's scale no longer changes the hat matrix
        # Z(I + ZᵀZ)⁻¹Zᵀ that both branches below use (exact while at most H rows exceed the cap, as in R15)
        lzc = np.minimum(lz, LOG_CAP)
        m = max(float(np.max(lzc)), 0.0)
        with np.errstate(under="ignore"):
            A = np.vstack([np.exp(al - np.where(lz > LOG_CAP, lz - LOG_CAP, 0.0) - m)[:, None] * Zh, np.exp(-m) * np.eye(H)])
        perm = np.argsort(-np.concatenate([lzc, np.zeros(H)]), kind="stable")
        Qs, Rs = qr(A[perm], mode="economic", check_finite=False)
        Q = np.empty_like(Qs)
        Q[perm] = Qs
        Rinv = Q[-H:]                                                          # R⁻¹ = e^{−m} R_s⁻¹, bounded
        sigma = min(max(1.0 - float(np.linalg.eigvalsh(Rinv.T @ Rinv)[-1]), 0.0), 1.0) if need_sigma else 0.0
        nl = int(live.sum())
        # below saturation: s_i = ‖e^{a_i} y_i R⁻¹‖² (own growth at x); above: rows of L⁻ᵀQ_top/√2 (the competition).
        # y R⁻¹ by a triangular solve with the graded R_s is accurate row by row below saturation (a product with
        # Q's bottom block is accurate only to ε‖y‖, which a mode suppressed by the competition falls below);
        # R_s⁻¹ stays below e^m <= e^LOG_CAP
        yr = solve_triangular(Rs, self.Y.T, trans="T", lower=False, check_finite=False).T * np.exp(-m)
        big = np.max(np.abs(yr), axis=1)             # by the largest entry first: tiny starts' squares underflow
        ok = big > 0
        unit = np.where(ok, big, 1.0)
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            low = np.where(ok, np.exp(2 * a + 2 * np.log(unit) + np.log(np.einsum("ij,ij->i", yr / unit[:, None],
                                                                                     yr / unit[:, None]))), 0.0)
        s, rows = low, yr
        sat_live = lz > 0                        # row i of Z is above the regulariser: c_i u0_i > 1 in R15's terms
        if np.any(sat_live):
            top = solve_triangular(Lc.T, Q[:nl], lower=False, check_finite=False) / np.sqrt(2.0)
            high = np.einsum("ij,ij->i", top, top)
            idx = np.flatnonzero(live)
            s, rows = s.copy(), yr.copy()
            s[idx[sat_live]] = high[sat_live]
            rows[idx[sat_live]] = top[sat_live]
        if not np.all(np.isfinite(s)):
            raise FloatingPointError(f"the surrogate could not be evaluated at time {x:g}; this is a bug, please report it")
        return s, sigma, rows
