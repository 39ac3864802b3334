r"""Training linear autoencoders under masking, anisotropic Gaussian noise or hidden-unit dropout (N1-N8).

A :class:`Corruption` names one noise model. :func:`train_corrupted_ae` trains W = W₂W₁ by gradient descent,

* marginalised (default): the exact loss :math:`\tfrac12\operatorname{tr}\Sigma - \operatorname{tr}(WC) +
  \tfrac12\operatorname{tr}(WBW^\top)` (+ N3's dropout penalty) in the eigenbasis of Σ, where
  :math:`\tilde C = V^\top CV` is diagonal and :math:`\tilde B = V^\top BV` is not. With P = W₁V and Q = W₂ᵀV
  (H × D), one step costs one H × D × D product:

  .. math:: \partial_P = (QQ^\top)(P\tilde B) - Q\tilde C + \rho\operatorname{diag}(\|q_h\|^2)P\Lambda,\qquad
            \partial_Q = (P\tilde BP^\top)Q - P\tilde C + \rho\operatorname{diag}(p_h^\top\Lambda p_h)Q;

* ``sampled=True``: on the data, with the corruption drawn afresh for every minibatch (``batch_size`` rows, all
  of them by default), O(N·D·H) per epoch.

It records every mode's strength :math:`s_i = v_i^\top Wv_i`, the marginalised loss, the leakage
:math:`\|\operatorname{offdiag}\tilde W\|_F/\|\tilde W\|_F` (0 when the modes are decoupled, N4) and the asymmetry
:math:`\|\tilde W - \tilde W^\top\|_F/\|\tilde W\|_F` (0 while balance holds, N8).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from lindae.dynamics._blas import one_blas_thread
from lindae.dynamics.errors import DivergenceError, InvalidArgument, InvalidArgumentType, diverged
from lindae.dynamics.noise_models import gaussian_moments, masking_moments, off_diagonal_fraction
from lindae.dynamics._checks import as_array, as_int

from lindae.validation.data.spectrum import Spectrum, compute_spectrum
from lindae.validation.training.linear import ModeCurves, Report, check_problem, initial_eigen_weights, schedule

#: The noise models, each with the one parameter it takes.
KINDS = {"masking": "keep", "masking_unscaled": "keep", "gaussian": "noise_cov", "gaussian_diag": "noise_scale",
         "hidden_dropout": "dropout_keep"}


@dataclass(frozen=True)
class Corruption:
    """One noise model (build it with :meth:`masking`, :meth:`gaussian`, :meth:`gaussian_diag` or
    :meth:`hidden_dropout`).

    * ``masking``: each input kept with probability ``keep`` = q and scaled by 1/q (N2, Ψ = ((1 − q)/q) diag Σ);
      ``masking_unscaled``: not scaled (mSDA: C = qΣ, B = q²Σ + q(1 − q) diag Σ).
    * ``gaussian``: x̃ = x + n, n ~ N(0, ``noise_cov``) (N1), a D × D matrix in the data basis.
    * ``gaussian_diag``: n ~ N(0, ``noise_scale`` · diag Σ), the Gaussian noise with scaled masking's moments.
    * ``hidden_dropout``: each hidden unit kept with probability ``dropout_keep`` = θ and scaled by 1/θ (N3).
    """
    kind: str
    keep: float = 1.0
    noise_scale: float = 0.0
    dropout_keep: float = 1.0
    noise_cov: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InvalidArgument(f"corruption kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        for name in ("keep", "dropout_keep"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise InvalidArgument(f"{name} is a keep probability in (0, 1], got {v:g}")
        if self.noise_scale < 0:
            raise InvalidArgument(f"noise_scale must be >= 0, got {self.noise_scale:g}")
        if self.kind == "gaussian" and self.noise_cov is None:
            raise InvalidArgumentType("gaussian noise needs noise_cov (a D x D covariance)")

    @classmethod
    def masking(cls, keep, scaled=True):
        return cls("masking" if scaled else "masking_unscaled", keep=float(keep))

    @classmethod
    def gaussian(cls, noise_cov):
        return cls("gaussian", noise_cov=as_array("noise_cov", noise_cov))

    @classmethod
    def gaussian_diag(cls, noise_scale):
        return cls("gaussian_diag", noise_scale=float(noise_scale))

    @classmethod
    def hidden_dropout(cls, dropout_keep):
        return cls("hidden_dropout", dropout_keep=float(dropout_keep))

    @property
    def rho(self) -> float:
        """ρ = (1 − θ)/θ of hidden-unit dropout (0 otherwise)."""
        return (1 - self.dropout_keep) / self.dropout_keep if self.kind == "hidden_dropout" else 0.0

    def describe(self) -> str:
        return {"masking": f"masking, keep {self.keep:g} (scaled)", "masking_unscaled": f"masking, keep {self.keep:g} (unscaled)",
                "gaussian": "Gaussian noise of a given covariance", "gaussian_diag": f"Gaussian noise {self.noise_scale:g}·diag Σ",
                "hidden_dropout": f"hidden-unit dropout, keep {self.dropout_keep:g}"}[self.kind]

    def moments(self, Sigma):
        """(C, B) in the basis Sigma is given in (the data basis), by N1/N2; hidden dropout: (Σ, Σ)."""
        if self.kind in ("masking", "masking_unscaled"):
            return masking_moments(Sigma, self.keep, scaled=self.kind == "masking")
        if self.kind == "gaussian_diag":
            return gaussian_moments(Sigma, self.noise_scale * np.diag(np.diag(Sigma)))
        if self.kind == "gaussian":
            if np.shape(self.noise_cov) != np.shape(Sigma):
                raise InvalidArgument(f"noise_cov must be {np.shape(Sigma)}, got {np.shape(self.noise_cov)}")
            return gaussian_moments(Sigma, self.noise_cov)
        return np.array(Sigma, dtype=float), np.array(Sigma, dtype=float)

    def cross_scale(self) -> float:
        """c with C = cΣ (q for unscaled masking, 1 otherwise): in Σ's eigenbasis C̃ = cΛ."""
        return self.keep if self.kind == "masking_unscaled" else 1.0

    def corrupt(self, X, rng, diag_sigma=None, chol=None):
        """A fresh corrupted copy of the rows X (input corruptions; hidden dropout returns X)."""
        if self.kind == "masking":
            return X * (rng.random(X.shape) < self.keep) / self.keep
        if self.kind == "masking_unscaled":
            return X * (rng.random(X.shape) < self.keep)
        if self.kind == "gaussian_diag":
            return X + rng.standard_normal(X.shape) * np.sqrt(self.noise_scale * diag_sigma)
        if self.kind == "gaussian":
            return X + rng.standard_normal(X.shape) @ chol.T
        return X


@dataclass(kw_only=True)
class CorruptedResult(ModeCurves):
    """Recorded curves of a corrupted linear autoencoder; the fields of ModeCurves and:

    Attributes
    ----------
    leakage, asymmetry : ndarray (K,)
        ‖offdiag W̃‖_F/‖W̃‖_F and ‖W̃ − W̃ᵀ‖_F/‖W̃‖_F (W̃ = VᵀWV) at every recorded epoch.
    kappa : ndarray (D,)
        The diagonal of C̃ = VᵀCV (cλ_i).
    B : ndarray (D, D)
        B̃ = VᵀBV, the corrupted input's second moment in Σ's eigenbasis.
    init_growing : ndarray (D, H)
        Row i is y_i = (W1(0)v_i + W2(0)ᵀv_i)/2 (R14), the surrogate's start.
    init_a0, init_b0 : ndarray (D,) or None
        Per-mode initial weights of an aligned run.
    W1, W2 : ndarray
        Final weights in the data basis.
    eigenvectors : ndarray (D, D)
    corruption : Corruption
    """
    leakage: np.ndarray
    asymmetry: np.ndarray
    kappa: np.ndarray
    B: np.ndarray = field(repr=False)
    init_growing: np.ndarray = field(repr=False)
    W1: np.ndarray = field(repr=False)
    W2: np.ndarray = field(repr=False)
    eigenvectors: np.ndarray = field(repr=False)
    corruption: Corruption = None
    init_a0: np.ndarray | None = field(default=None, repr=False)
    init_b0: np.ndarray | None = field(default=None, repr=False)


def _measure(P, Q, kap, Bt, lam, rho):
    """(strengths, marginalised loss, leakage, asymmetry) of eigenbasis weights P, Q."""
    s = np.einsum("hi,hi->i", P, Q)
    PB = P @ Bt
    loss = 0.5 * float(lam.sum()) - float(kap @ s) + 0.5 * float(np.sum((Q @ Q.T) * (PB @ P.T)))
    if rho:
        loss += 0.5 * rho * float(np.sum(np.einsum("hi,hi->h", Q, Q) * np.einsum("hi,i,hi->h", P, lam, P)))
    Wt = Q.T @ P
    norm = float(np.sqrt(np.sum(Wt * Wt)))
    asym = float(np.sqrt(np.sum((Wt - Wt.T) ** 2))) / norm if norm > 0 else 0.0
    return s, loss, off_diagonal_fraction(Wt), asym


def train_corrupted_ae(X, hidden, lr, epochs, *, corruption: Corruption, init="random", init_scale=1e-4, seed=0,
                       modes=None, u0=None, record_every=1, sampled=False, batch_size=None, spectrum=None,
                       progress=None, name="model") -> CorruptedResult:
    r"""Train x̂ = W₂W₁x̃ under ``corruption`` by gradient descent (see the module docstring).

    Parameters
    ----------
    X : ndarray (N, D) or None
        Data (None with ``spectrum`` for marginalised training).
    hidden, lr, epochs : int, float, int
        H, η and the number of epochs (one full-batch step each when marginalised).
    corruption : Corruption
        The noise model.
    init, init_scale, seed, modes, u0 :
        ``"random"``: i.i.d. N(0, init_scale²) weights from ``seed``; ``"aligned"``: hidden unit j carries mode
        ``modes[j]`` (default 1 ... H) at strength ``u0``.
    record_every : int
        Record every so many epochs.
    sampled : bool
        Draw the corruption afresh for every minibatch of ``batch_size`` rows (default: the whole data set)
        instead of marginalising it.
    spectrum : Spectrum, optional
        Σ's eigendecomposition (computed from X when not given).

    Returns
    -------
    CorruptedResult
    """
    if not isinstance(corruption, Corruption):
        raise InvalidArgumentType("corruption must be a Corruption (Corruption.masking(0.75), ...)")
    if X is None:
        if spectrum is None or sampled:
            raise InvalidArgumentType("give X (sampled training needs the data), or a spectrum for marginalised training")
        lam_all, V = np.asarray(spectrum.eigenvalues, float), np.asarray(spectrum.eigenvectors, float)
        D = lam_all.size
        H, lr, epochs = as_int("hidden", hidden, lo=1), float(as_array("lr", lr, lo=0.0, lo_open=True)), as_int("epochs", epochs, lo=0)
        if H > D:
            raise InvalidArgument(f"hidden must be <= D = {D}, got {H}")
    else:
        X, N, D, H, lr, epochs = check_problem(X, hidden, lr, epochs)
        spectrum = spectrum if spectrum is not None else compute_spectrum(X)
        lam_all, V = np.asarray(spectrum.eigenvalues, float), np.asarray(spectrum.eigenvectors, float)
    every = as_int("record_every", record_every, lo=1)
    Sigma = (V * lam_all) @ V.T
    C, B = corruption.moments(Sigma)
    Bt = V.T @ B @ V
    Bt = (Bt + Bt.T) / 2
    kap = corruption.cross_scale() * lam_all
    rho = corruption.rho
    P, Q, init_a0, init_b0 = initial_eigen_weights(D, H, V, init, float(init_scale), seed, modes, u0, None, None)
    growing = ((P + Q) / 2.0).T.copy()
    ks = schedule(epochs, every)
    S, loss, leak, asym = (np.empty((len(ks), D)), np.empty(len(ks)), np.empty(len(ks)), np.empty(len(ks)))
    report = Report(progress, name)
    start = time.perf_counter()
    row = 0
    rng = np.random.default_rng([seed, 1])
    if sampled:
        if batch_size is not None:
            batch_size = as_int("batch_size", batch_size, lo=1)
        W1, W2 = P @ V.T, V @ Q.T
        diag_sigma = np.diag(Sigma)
        chol = np.linalg.cholesky(corruption.noise_cov + 1e-300 * np.eye(D)) if corruption.kind == "gaussian" else None
        bs = min(batch_size or N, N)

    def result(r):
        W1f, W2f = (P @ V.T, V @ Q.T)
        return CorruptedResult(eigenvalues=lam_all, epochs=ks[:r], strengths=S[:r], loss=loss[:r], leakage=leak[:r],
                               asymmetry=asym[:r], kappa=kap, B=Bt, init_growing=growing, init_a0=init_a0, init_b0=init_b0, W1=W1f, W2=W2f,
                               eigenvectors=V, corruption=corruption, seconds=time.perf_counter() - start,
                               config=dict(hidden=H, lr=lr, epochs=epochs, init=init, init_scale=float(init_scale),
                                           seed=seed, sampled=bool(sampled), batch_size=batch_size,
                                           corruption=corruption.describe(), depth=2))

    with one_blas_thread():       # H x D x D products: OpenBLAS's threads cost more than they give (3x here)
        for k in range(epochs + 1):
            if sampled:
                P, Q = W1 @ V, W2.T @ V
            if diverged(float(np.sum(P * P)), float(np.sum(Q * Q))):
                raise DivergenceError(f"training diverged at epoch {k}: the weights blew up; lr = {lr:g} is too large for "
                                      f"this corruption (the largest eigenvalue of B̃ is {np.linalg.eigvalsh(Bt)[-1]:.4g})",
                                      step=k, partial=result(row))
            if row < len(ks) and ks[row] == k:
                S[row], loss[row], leak[row], asym[row] = _measure(P, Q, kap, Bt, lam_all, rho)
                row += 1
            if k == epochs:
                break
            if sampled:
                W1, W2 = _sampled_epoch(X, W1, W2, lr, corruption, rng, bs, diag_sigma, chol)
            else:
                PB = P @ Bt
                dP = (Q @ Q.T) @ PB - Q * kap
                dQ = (PB @ P.T) @ Q - P * kap
                if rho:
                    dP += rho * np.einsum("hi,hi->h", Q, Q)[:, None] * (P * lam_all)
                    dQ += rho * np.einsum("hi,i,hi->h", P, lam_all, P)[:, None] * Q
                P = P - lr * dP
                Q = Q - lr * dQ
            if progress is not None and row:
                report.epoch(k + 1, epochs, _LossView(loss, row, start))
    if sampled:
        P, Q = W1 @ V, W2.T @ V
    return result(row)


@dataclass
class _LossView:
    """What :class:`Report` reads of a recorder: the last loss and the start time."""
    loss: np.ndarray
    row: int
    start: float

    def last_loss(self):
        return float(self.loss[self.row - 1])


def _sampled_epoch(X, W1, W2, lr, corruption, rng, bs, diag_sigma, chol):
    """One pass over X in minibatches of ``bs`` rows, each with a fresh corruption (one GD step per minibatch)."""
    N = X.shape[0]
    order = rng.permutation(N) if bs < N else np.arange(N)
    for lo in range(0, N, bs):
        Xb = X[order[lo:lo + bs]]
        Xt = corruption.corrupt(Xb, rng, diag_sigma, chol)
        Hh = Xt @ W1.T                                              # n x H
        if corruption.kind == "hidden_dropout":
            r = (rng.random(Hh.shape) < corruption.dropout_keep) / corruption.dropout_keep
            Hd = Hh * r
        else:
            r, Hd = None, Hh
        R = Hd @ W2.T - Xb                                          # n x D residual
        n = Xb.shape[0]
        g2 = R.T @ Hd / n
        back = R @ W2                                               # n x H
        if r is not None:
            back = back * r
        g1 = back.T @ Xt / n
        W1, W2 = W1 - lr * g1, W2 - lr * g2
    return W1, W2
