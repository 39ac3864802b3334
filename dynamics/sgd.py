r"""Minibatch SGD, one mode at a time (S1, S2): the mean and the standard deviation of each mode's strength along
the whole learning curve, and their stationary values.

A balanced, aligned mode trained on minibatches of B samples moves as :math:`u' = u(1 + \eta g)^2`, with g's mean
and variance given u from S1. S2 gives the exact one-step mean :math:`F(u)` of u' and its variance :math:`Q(u)`.
:func:`sgd_mode_moments` propagates the distribution of :math:`\ell = \ln u` as a Gaussian (assumed-density
filtering): each step moves every Gauss-Hermite node of the current law by the log-normal law whose mean and
variance are :math:`F` and :math:`Q` at that node, and refits the Gaussian. In the growth phase u is a product of
independent factors, so :math:`\ell` is Gaussian there, and near the plateau the spread is small; both are kept
exactly to the order of S2. The linear-noise approximation's closed forms (:func:`sgd_stationary`) give the
plateau's spread and bias.

    >>> from lindae import dynamics
    >>> mean, std = dynamics.sgd_stationary(1.0, noise_var=0.5, lr=0.05, batch_size=1)
    >>> round(float(std), 4)                      # S2's V_inf for Gaussian data: 2ηλu*²(1 - u*)²/(B(1 - ηλ))
    0.0721
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_array, as_int, broadcast
from .errors import OVERFLOW_GUARD, DivergenceError, InvalidArgument

#: Gauss-Hermite nodes of the propagated Gaussian law of ln u.
NODES = 40


def _step_moments(sampled):
    from lindae.derivations import sgd_step_moments_function
    return sgd_step_moments_function(bool(sampled))


def _fourth(lam, fourth_moment):
    return 3.0 * lam ** 2 if fourth_moment is None else np.asarray(as_array("fourth_moment", fourth_moment, lo=0.0))


def sgd_stationary(lam, *, noise_var=0.0, weight_decay=0.0, lr, batch_size, sampled_noise=False, fourth_moment=None):
    r"""The stationary mean and standard deviation of each mode under minibatch SGD (S2, linear-noise
    approximation, to leading order in η/B):

    .. math:: \bar u_\infty = u^* - \frac{\eta u^*\sigma_g^2(u^*)}{2\kappa},\qquad
              \operatorname{sd}_\infty = \sqrt{\frac{\eta u^{*2}\sigma_g^2(u^*)}{\kappa(1 - \eta\kappa)}}

    with S1's :math:`\sigma_g^2` (``fourth_moment`` :math:`E x^4` per mode; default Gaussian, :math:`3\lambda^2`).
    Modes with κ = λ − γ ≤ 0 end at 0 with no spread.
    """
    lam, eps, gam, eta, B = broadcast(lam=as_array("lam", lam, lo=0.0), noise_var=as_array("noise_var", noise_var, lo=0.0),
                                      weight_decay=as_array("weight_decay", weight_decay, lo=0.0),
                                      lr=as_array("lr", lr, lo=0.0, lo_open=True),
                                      batch_size=as_array("batch_size", batch_size, lo=1.0))
    m4 = np.broadcast_to(_fourth(lam, fourth_moment), lam.shape)
    kap, xi = lam - gam, lam + eps
    learned = kap > 0
    x = np.where(xi > 0, xi, 1.0)
    us = np.where(learned, kap / x, 0.0)
    rest = np.where(learned, (gam + eps) / x, 1.0)              # 1 - u*, without cancellation
    sd_g = rest * np.sqrt(np.maximum(m4 - lam ** 2, 0.0))      # σ_g(u*)·√B, as a norm so that nothing underflows
    if sampled_noise:
        sd_g = np.hypot(np.hypot(sd_g, np.where(learned, (eps + 2 * gam - lam) / x, 1.0) * np.sqrt(lam * eps)),
                        np.sqrt(2.0) * eps * us)
    sd_g = sd_g / np.sqrt(B)
    k = np.where(learned, kap, 1.0)
    if np.any(learned & (eta * kap >= 1)):
        raise InvalidArgument("lr * (lam - weight_decay) must be below 1 for a stationary spread (S2)")
    mean = np.where(learned, us - eta * us * sd_g ** 2 / (2 * k), 0.0)
    sd = np.where(learned, us * sd_g * np.sqrt(eta / (k * (1 - eta * k))), 0.0)
    return (mean[()], sd[()]) if mean.ndim == 0 else (mean, sd)


@dataclass
class SGDMoments:
    """Predicted mean and standard deviation of every mode's strength at the recorded steps.

    ``leakage_std`` (D, D) is the predicted standard deviation of each off-diagonal entry of W₂W₁ at the last step
    (S3; None when the pairs are left out). ``escaped`` (H,) is the share of each mode's law that passed the
    balanced map's escape point during the run and was dropped, as diverged seeds are."""
    epochs: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    leakage_std: np.ndarray | None = None
    escaped: np.ndarray | None = None


def sgd_lr_bound(lam, *, noise_var=0.0, weight_decay=0.0, batch_size, sampled_noise=False, fourth_moment=None):
    r"""S4's learning-rate bound at batch size B: the largest η at which every learned mode's plateau stays
    mean-square stable,

    .. math:: \eta_B = \min_i \frac{4\kappa_i}{4\kappa_i^2 + V_i},

    with S4's :math:`V_i` (the variance of the plateau's random multiplier; ``fourth_moment`` as in
    :func:`sgd_stationary`). Returns ``(bound, per_mode)``; modes with κ ≤ 0 get ``inf``."""
    lam = np.atleast_1d(np.asarray(as_array("lam", lam, lo=0.0), dtype=float))
    eps = float(as_array("noise_var", noise_var, lo=0.0))
    gam = float(as_array("weight_decay", weight_decay, lo=0.0))
    B = float(as_array("batch_size", batch_size, lo=1.0))
    m4 = np.broadcast_to(_fourth(lam, fourth_moment), lam.shape).astype(float)
    from lindae.derivations import sgd_lr_bound_function
    learned = lam - gam > 0
    if not np.any(learned):
        raise InvalidArgument("no mode has lam > weight_decay: nothing is learned, so there is no plateau to bound")
    per = np.full(lam.shape, np.inf)
    per[learned] = sgd_lr_bound_function(bool(sampled_noise))(lam[learned], eps, gam, B, m4[learned])
    return float(per.min()), per


def _pair_indices(D, H):
    I, J = np.triu_indices(D, 1)
    keep = I < H
    return I[keep], J[keep]


def sgd_mode_moments(epochs, lam, *, noise_var=0.0, weight_decay=0.0, lr, batch_size, u0, sampled_noise=False,
                     fourth_moment=None, cross_moment=None, hidden=None, pairs=True, record_every=1, at_epochs=None):
    r"""Mean and standard deviation of each mode's strength :math:`s_i = (W_2W_1)_{ii}` under minibatch SGD from an
    aligned start u0 (S1-S3), at steps 0, ``record_every``, ..., ``epochs`` (one minibatch per step), or at the steps
    ``at_epochs`` (increasing, within 0 ... ``epochs``; ``epochs`` is added when missing).

    **Each mode (S1, S2).** The Gaussian law N(μ, s²) of :math:`\ell = \ln u` is mapped through the conditional
    log-normal law of u' whose mean and variance are S2's :math:`F(u)` and :math:`Q(u)`:

    .. math:: \ell' \mid \ell \sim N\Big(\ell + \ln\frac{F}{u} - \tfrac12\ln\big(1 + \tfrac{Q}{F^2}\big),\;
              \ln\big(1 + \tfrac{Q}{F^2}\big)\Big),

    and μ, s² are refitted by Gauss-Hermite quadrature (``NODES`` nodes). Works in logs throughout, so starts down
    to the smallest float and modes that never learn are fine.

    **Pairs (S3, ``pairs=True``).** Every pair i < j with i a hidden unit carries the covariance Σ of its leakage
    entries (a, b, c, d), propagated as :math:`\Sigma' = A\Sigma A^\top + NCN^\top/B` with A, N evaluated at the
    balanced weights :math:`\sqrt{\bar s}` of the current mean strengths, and with the rotation g of the two hidden
    units projected out (a symmetry of every minibatch's loss, so its fluctuations are gauge). Σ feeds back on each
    mode's drift through S3's δw, and adds :math:`\Sigma_{ab}` to :math:`\bar s_i` and
    :math:`\Sigma_{aa}\Sigma_{bb} + \Sigma_{ab}^2` to its variance (c, d for mode j). Modes beyond ``hidden`` have
    no diagonal weight; their strength is leakage alone.

    Parameters
    ----------
    fourth_moment : array (D,), optional
        :math:`E x_i^4` (default Gaussian, :math:`3\lambda_i^2`).
    cross_moment : array (D, D), optional
        :math:`E x_i^2x_j^2` (default Gaussian, :math:`\lambda_i\lambda_j`).
    hidden : int, optional
        Hidden width H (default: every mode has a hidden unit).

    Raises
    ------
    DivergenceError
        When a mode's typical strength or a pair's covariance leaves the overflow guard (lr far above S4's bound).
    """
    K = as_int("epochs", epochs, lo=0)
    every = as_int("record_every", record_every, lo=1)
    lam = np.atleast_1d(np.asarray(as_array("lam", lam, lo=0.0), dtype=float))
    D = lam.size
    H = D if hidden is None else as_int("hidden", hidden, lo=1)
    if H > D:
        raise InvalidArgument(f"hidden = {H} exceeds the number of modes ({D})")
    u0 = np.broadcast_to(np.asarray(as_array("u0", u0, lo=0.0, lo_open=True), dtype=float), (D,))[:H]
    eps = float(as_array("noise_var", noise_var, lo=0.0))
    gam = float(as_array("weight_decay", weight_decay, lo=0.0))
    eta = float(as_array("lr", lr, lo=0.0, lo_open=True))
    B = float(as_int("batch_size", batch_size, lo=1))
    m4 = np.broadcast_to(_fourth(lam, fourth_moment), lam.shape).astype(float)
    if m4.shape != lam.shape:
        raise InvalidArgument(f"fourth_moment must have one value per mode ({D})")
    step = _step_moments(sampled_noise)
    x, w = np.polynomial.hermite_e.hermegauss(NODES)
    w = w / w.sum()
    mu, s2 = np.log(u0), np.zeros(H)
    guard = np.log(OVERFLOW_GUARD)
    kap, xi = lam[:H] - gam, lam[:H] + eps
    escape = np.log(np.maximum(2 + eta * kap, 1.0) / (eta * np.maximum(xi, np.finfo(float).tiny)))
    escape_min = float(np.min(escape))
    lost = np.zeros(H)
    if at_epochs is None:
        rows = list(range(0, K + 1, every))
    else:
        steps = np.atleast_1d(np.asarray(as_array("at_epochs", at_epochs, lo=0.0)))
        if steps.ndim != 1 or np.any(steps != np.round(steps)) or np.any(steps > K) or np.any(np.diff(steps) <= 0):
            raise InvalidArgument(f"at_epochs must be increasing whole steps within 0 ... epochs = {K}")
        rows = [int(v) for v in steps]
    if not rows or rows[-1] != K:
        rows.append(K)
    mean, std = np.zeros((len(rows), D)), np.zeros((len(rows), D))
    pair = _Pairs(lam, H, eps, gam, eta, B, sampled_noise, cross_moment) if pairs and D > 1 else None
    r = 0
    for k in range(K + 1):
        sd = np.sqrt(s2)
        L = mu + sd * x[:, None]
        top = mu + sd * x[-1]           # the largest node (the nodes ascend)
        if not np.all(np.isfinite(top) & (top < guard)) or (pair is not None and not pair.finite()):
            bad = int(np.argmax(np.where(np.isfinite(top), top, np.inf))) + 1
            raise DivergenceError(f"SGD theory diverges: mode {bad} leaves the overflow guard at step {k} (lr = {eta:g})",
                                  step=k, mode=bad, partial=SGDMoments(np.asarray(rows[:r]), mean[:r], std[:r]))
        U = np.exp(L)
        ubar = w @ U
        if k == rows[r]:
            mean[r, :H] = ubar
            std[r, :H] = np.sqrt(w @ (U - ubar) ** 2)
            if pair is not None:
                dm, dv = pair.strength()
                mean[r] += dm
                std[r] = np.sqrt(std[r] ** 2 + dv)
            r += 1
        if k == K:
            break
        ratio, qv = step(U, lam[:H], eps, gam, eta, B, m4[:H])
        if pair is not None:
            wd = pair.weights(ubar)
            # the closure is second order: its feedback may at most halve a mode in one step (it only comes near that
            # for a mode far below its leakage, such as one decaying from u0 = 1e-300)
            with np.errstate(over="ignore"):       # an infinite rate is dropped just below
                rate = pair.feedback(wd) / np.maximum(ubar, np.finfo(float).tiny)
            ratio = np.maximum(ratio + np.where(np.isfinite(rate), rate, 0.0), 0.5 * ratio)
            pair.advance(wd)
        spread = np.log1p(qv / ratio ** 2)
        Ln = L + np.log(ratio) - 0.5 * spread
        if Ln.max() < escape_min:       # no node near an escape point (the rule below, with nothing to take out)
            mu = w @ Ln
            s2 = w @ ((Ln - mu) ** 2 + spread)
            continue
        # a node past the balanced map's escape point u_e = (2 + ηκ)/(ηξ) leaves for good, as a diverged seed does
        # (the measured statistics drop such seeds): it is taken out and the rest renormalised
        keep = w[:, None] * (Ln < escape)
        mass = keep.sum(axis=0)
        if np.any(mass <= 0):
            bad = int(np.argmax(mass <= 0)) + 1
            raise DivergenceError(f"SGD theory diverges: all of mode {bad}'s law passes the escape point at step "
                                  f"{k + 1} (lr = {eta:g})", step=k + 1, mode=bad,
                                  partial=SGDMoments(np.asarray(rows[:r]), mean[:r], std[:r]))
        lost = lost + (1 - lost) * (1 - mass)
        keep = keep / np.where(mass > 0, mass, 1.0)
        mu = np.sum(keep * Ln, axis=0)
        s2 = np.sum(keep * ((Ln - mu) ** 2 + spread), axis=0)
    return SGDMoments(np.asarray(rows), mean, std, None if pair is None else pair.leakage(), lost)


def _sandwich(A, S):
    """A S Aᵀ for stacks laid out entry-first: A (k, m, P), S (m, m, P) -> (k, k, P)."""
    return np.einsum("ilp,jlp->ijp", np.einsum("ikp,klp->ilp", A, S), A)


#: The upper triangle of (a, b, c, d)'s 4 x 4 covariance, row by row: the order of S3's feedback arguments.
_UPPER = np.triu_indices(4)
#: Those of its entries that a pair carrying only (c, d) has: their places in _UPPER and in its 2 x 2 covariance.
_CD = np.flatnonzero(_UPPER[0] >= 2)
_CD_ENTRIES = (_UPPER[0][_CD] - 2, _UPPER[1][_CD] - 2)


def _monomials(exps, wi, wj):
    """w_i^a w_j^b for every exponent pair (a, b) in ``exps`` (M, 2): an array (M, P), from tables of powers."""
    top = int(exps.max())
    pi, pj = np.empty((top + 1, wi.size)), np.empty((top + 1, wj.size))
    pi[0], pj[0] = 1.0, 1.0
    for k in range(1, top + 1):
        np.multiply(pi[k - 1], wi, out=pi[k])
        np.multiply(pj[k - 1], wj, out=pj[k])
    return pi[exps[:, 0]] * pj[exps[:, 1]]


class _Group:
    r"""The pairs of one shape, their covariances stacked entry-first: ``full`` pairs (both modes hidden) carry
    (a, b, c, d), Σ (4, 4, P); the others only (c, d), Σ (2, 2, P).

    A step is :math:`\Sigma' = A\Sigma A^\top + NCN^\top/B` with the rotation of the two hidden units projected out
    of :math:`M = [A\ \ N/\sqrt B]` (k x (k + 3)); C does not depend on the weights and is evaluated once. Up to
    :data:`POLY_PAIRS` pairs, M and δw come from S3's sparse polynomials in the weights, whose terms are fixed for a
    pair (a few calls a step, whatever the size of the expressions); beyond, from S3's generated expressions, which
    move less memory per pair: for a pair whose mode j has no hidden unit, those generated with p_j = q_j = 0 and for
    (c, d) alone (:func:`lindae.derivations.sgd_pair_leakage_function`). All are generated from S3 and agree to
    rounding."""

    def __init__(self, I, J, full, lam, m22, consts, B, sampled):
        from lindae.derivations import sgd_pair_block_function, sgd_pair_block_polynomials, sgd_pair_leakage_function
        self.I, self.J, self.full, self.leak = I, J, full, None
        self.k, first = (4, 0) if full else (2, 2)
        k, self.rows = self.k, slice(first, 4)
        exps, (t, coefficients), (dt, feedback_coefficients) = sgd_pair_block_polynomials(sampled)
        coef = coefficients(lam[I], lam[J], *consts, m22)
        one = int(np.flatnonzero(np.all(exps == 0, axis=1))[0])
        if np.any(t[:, 28:] != one):
            raise AssertionError("S3's C depends on the weights; _Group must then evaluate it every step")
        self.C = coef[:, 28:].sum(axis=0).reshape((3, 3) + coef.shape[2:])
        self.Sig = np.zeros((k, k, I.size))
        self.root_b = np.sqrt(B)
        cols = slice(None) if full else _CD                  # Σ's entries the group carries
        if I.size <= POLY_PAIRS:
            sel = [(first + r) * 4 + first + c if c < k else 16 + (first + r) * 3 + c - k
                   for r in range(k) for c in range(k + 3)]
            scale = np.array([1.0 if c < k else 1.0 / self.root_b for r in range(k) for c in range(k + 3)])
            dcoef = feedback_coefficients(lam[I], lam[J], *consts)
            self.poly = (exps, t[:, sel], coef[:, sel] * scale[:, None], dt[:, :, cols], dcoef[:, :, cols])
        elif full:
            self.poly = None
            self.blocks, self.delta = sgd_pair_block_function(sampled)
            self.args, self.m22, self.carried = (lam[I], lam[J], *consts), m22, np.arange(len(_UPPER[0]))[cols]
        else:           # mode j has no hidden unit (w_j = 0): S3 generated with p_j = q_j = 0, for (c, d) only
            self.poly = None
            self.leak = sgd_pair_leakage_function(sampled)
            self.args, self.m22 = (lam[I], lam[J], *consts), m22

    def m(self, wi, wj):
        """M = [A  N/√B] at the balanced weights w_i, w_j, as its two parts (k, k, P) and (k, 3, P)."""
        if self.poly is not None:
            exps, t, coef = self.poly[:3]
            M = np.einsum("kep,kep->ep", coef, _monomials(exps, wi, wj)[t]).reshape((self.k, self.k + 3, wi.size))
            return M[:, :self.k], M[:, self.k:]
        if self.leak is not None:
            A, N = self.leak[0](wi, wi, *self.args, self.m22)
            return A, N / self.root_b
        A, N, _ = self.blocks(wi, wi, wj, wj, *self.args, self.m22)
        return A[self.rows, self.rows], N[self.rows] / self.root_b

    def dw(self, wi, wj, sig):
        """S3's δw (4, P) from Σ's carried upper-triangle entries ``sig`` (a leakage-only pair: δp_i, δq_i, (2, P))."""
        if self.poly is not None:
            exps, _, _, dt, dcoef = self.poly
            return np.einsum("rsp,sp->rp", np.einsum("krsp,krsp->rsp", dcoef, _monomials(exps, wi, wj)[dt]), sig)
        if self.leak is not None:       # δp_j, δq_j do not act (w_j = 0): only δp_i, δq_i (2, P)
            return self.leak[1](wi, wi, *self.args, *sig)
        full = [0.0] * len(_UPPER[0])          # the entries a group does not carry enter as 0
        for k, row in zip(self.carried, sig):
            full[k] = row
        return self.delta(wi, wi, wj, wj, *self.args[:5], *full)

    def sig4(self):
        """Σ as the 4 x 4 stack of (a, b, c, d), zeros for the entries this group does not carry."""
        if self.full:
            return self.Sig
        out = np.zeros((4, 4, self.I.size))
        out[2:, 2:] = self.Sig
        return out


#: Largest group of pairs whose step is evaluated from S3's polynomial terms (beyond it, from the expressions).
POLY_PAIRS = 1000


class _Pairs:
    """S3's leakage covariances of every pair (i < j, i < H), advanced one step at a time. Pairs whose second mode
    has a hidden unit carry all four entries; the rest only (c, d) = (W₁[i, j], W₂[j, i])."""

    def __init__(self, lam, H, eps, gam, eta, B, sampled, cross_moment):
        D = lam.size
        self.D, self.H = D, H
        I, J = _pair_indices(D, H)
        if cross_moment is None:
            m22 = lam[I] * lam[J]
        else:
            cm = np.asarray(as_array("cross_moment", cross_moment, lo=0.0), dtype=float)
            if cm.shape != (D, D):
                raise InvalidArgument(f"cross_moment must be a {D} x {D} array of E x_i^2 x_j^2")
            m22 = cm[I, J]
        both = J < H
        self.groups = [_Group(I[k], J[k], full, lam, m22[k], (eps, gam, eta), B, bool(sampled))
                       for k, full in ((both, True), (~both, False)) if np.any(k)]
        self.wd = np.zeros(D)

    def finite(self):
        # a NaN anywhere makes the largest |Σ| NaN, which fails the comparison as inf does
        return all(float(np.abs(g.Sig).max(initial=0.0)) < OVERFLOW_GUARD for g in self.groups)

    def _scatter(self, f):
        """Sum f(group) -> (values for mode i, values for mode j) over the groups into a length-D array (None: nothing
        for that side)."""
        out = np.zeros(self.D)
        for g in self.groups:
            for at, v in zip((g.I, g.J), f(g)):
                if v is not None:
                    out += np.bincount(at, v, self.D)
        return out

    @staticmethod
    def _ab_cd(g):
        """(Σ_ab, Σ_cd) of a group's pairs (Σ_ab is None where a, b are not carried)."""
        S = g.Sig
        return (S[1, 0], S[3, 2]) if g.full else (None, S[1, 0])

    def strength(self):
        """Additions to every mode's mean and variance: Σ_ab (mode i), Σ_cd (mode j), and Isserlis' variances."""
        dm = self._scatter(self._ab_cd)

        def variances(g):
            S = g.Sig
            if not g.full:          # (c, d) only: nothing for mode i
                return None, S[0, 0] * S[1, 1] + S[1, 0] ** 2
            return S[0, 0] * S[1, 1] + S[1, 0] ** 2, S[2, 2] * S[3, 3] + S[3, 2] ** 2
        return dm, self._scatter(variances)

    def weights(self, ubar):
        """Balanced diagonal weights √s̄ of every mode (0 beyond H), from the mean strengths with their leakage."""
        s = self._scatter(lambda g: self._ab_cd(g) if g.full else (None, None))     # a leakage-only pair's j >= H
        out = np.zeros(self.D)
        out[:self.H] = np.sqrt(np.maximum(ubar + s[:self.H], np.finfo(float).tiny))
        return out

    def feedback(self, wd):
        """The drift S3's δw adds to every hidden mode's u = pq: q δp + p δq, summed over the mode's pairs."""
        def one(g):
            wi, wj = wd[g.I], wd[g.J]
            dw = g.dw(wi, wj, g.Sig[_UPPER] if g.full else g.Sig[_CD_ENTRIES])      # entries not carried are 0
            return wi * (dw[0] + dw[1]), (wj * (dw[2] + dw[3]) if g.full else None)     # w_j = 0 beyond H
        return self._scatter(one)[:self.H]

    def advance(self, wd):
        for g in self.groups:
            wi, wj = wd[g.I], wd[g.J]
            A, N = g.m(wi, wj)
            if g.full:          # project out the rotation g of hidden units i and j (gauge): M <- (I − ggᵀ)M
                gv = np.array([wi, wi, -wj, -wj])
                gv /= np.sqrt(np.maximum(2 * (wi * wi + wj * wj), np.finfo(float).tiny))
                A = A - gv[:, None] * np.einsum("ip,ijp->jp", gv, A)[None]
                N = N - gv[:, None] * np.einsum("ip,ijp->jp", gv, N)[None]
            g.Sig = _sandwich(A, g.Sig) + _sandwich(N, g.C)          # [A  N/√B] diag(Σ, C) [A  N/√B]ᵀ
        self.wd = wd

    def leakage(self):
        """Standard deviation of every off-diagonal entry of W₂W₁: δW_ij = q_i c + p_j b, δW_ji = q_j a + p_i d."""
        out = np.zeros((self.D, self.D))
        for g in self.groups:
            S, wi, wj = g.sig4(), self.wd[g.I], self.wd[g.J]
            v_ij = wi ** 2 * S[2, 2] + wj ** 2 * S[1, 1] + 2 * wi * wj * S[1, 2]
            v_ji = wj ** 2 * S[0, 0] + wi ** 2 * S[3, 3] + 2 * wi * wj * S[0, 3]
            out[g.I, g.J] = np.sqrt(np.maximum(v_ij, 0.0))
            out[g.J, g.I] = np.sqrt(np.maximum(v_ji, 0.0))
        return out
