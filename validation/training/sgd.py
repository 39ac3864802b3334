r"""Many seeds of minibatch SGD at once (S1, S2): every seed's linear autoencoder is trained in the eigenbasis of the
data's second moment on its own minibatches, all seeds in one batched product per step.

Data come from a Gaussian with the given ``eigenvalues`` (each minibatch drawn afresh: the setting of S1), or from
the rows of ``X`` drawn with replacement (so that a minibatch is B independent draws from the data's empirical
distribution, whose fourth moments along the eigenvectors are measured). The input noise of variance ε is drawn
afresh for every sample (``sampled_noise=True``) or marginalised inside each minibatch. A step of seed s is

.. math:: W_2 \leftarrow W_2 - \frac{\eta}{B}(\hat X - X)^\top H,\qquad
          W_1 \leftarrow W_1 - \frac{\eta}{B}\big((\hat X - X)W_2\big)^\top\tilde X

with :math:`H = \tilde XW_1^\top`, :math:`\hat X = HW_2^\top` (plus the marginalised noise's and the weight decay's
terms), and every mode's strength :math:`s_i = (W_2W_1)_{ii}` is recorded. A seed whose weights leave the overflow
guard (checked every ``CHECK_EVERY`` steps and before every recorded step) is marked diverged and left out of the
statistics. The step is bound by memory traffic: 200 seeds of an MNIST model (H = 64) hold 160 MB of weights, which
every step streams through several times, while one seed's 0.8 MB stay in cache (``python bench/sgd_speed.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lindae.dynamics._checks import as_array, as_int
from lindae.dynamics.errors import OVERFLOW_GUARD, DivergenceError, InvalidArgument


#: Steps between the checks of every seed's weight norm against the overflow guard (and at every recorded step).
CHECK_EVERY = 8


@dataclass
class SGDEnsemble:
    """Per-mode statistics of many SGD seeds at the recorded steps.

    Attributes
    ----------
    epochs : ndarray (K,)
        Recorded steps (one minibatch each).
    mean, std, se : ndarray (K, D)
        Mean, standard deviation (ddof 1; NaN where one seed is left) and standard error of the mean of each mode's
        strength over the seeds that did not diverge.
    diverged : ndarray (S,) of bool
        Seeds whose weights left the overflow guard.
    eigenvalues, fourth_moment : ndarray (D,)
        The data's second and fourth moments along each eigenvector (Gaussian: 3λ²).
    config : dict
        Every setting of the run.
    cross_moment : ndarray (D, D), optional
        :math:`E x_i^2x_j^2` along each pair of eigenvectors (Gaussian: λ_iλ_j, left as None).
    counts : ndarray (K,), optional
        Seeds behind each recorded row (those not diverged by then).
    """
    epochs: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    se: np.ndarray
    diverged: np.ndarray
    eigenvalues: np.ndarray
    fourth_moment: np.ndarray
    config: dict = field(default_factory=dict)
    cross_moment: np.ndarray | None = None
    counts: np.ndarray | None = None


def _aligned(S, H, D, u0):
    W1 = np.zeros((S, H, D))
    idx = np.arange(H)
    W1[:, idx, idx] = np.sqrt(u0)
    return W1, np.transpose(W1, (0, 2, 1)).copy()        # a copy: for D = H = 1 the transpose is W1 itself


def train_sgd_ensemble(hidden, lr, epochs, *, batch_size, seeds=200, eigenvalues=None, X=None, noise_var=0.0,
                       weight_decay=0.0, sampled_noise=True, u0=1e-3, record_every=1, seed=0, progress=None):
    """Train ``seeds`` linear autoencoders by minibatch SGD at once from the aligned start u0 (module docstring).

    Parameters
    ----------
    hidden : int
        Hidden width H (the aligned start puts hidden unit h on mode h).
    lr, epochs, batch_size : float, int, int
        Learning rate η, number of SGD steps, and minibatch size B.
    seeds : int
        Number of independent runs, trained side by side.
    eigenvalues : array (D,), optional
        Gaussian data with this second-moment spectrum (in its eigenbasis), drawn afresh for every minibatch.
    X : array (N, D), optional
        Data whose rows are drawn with replacement instead (rotated into its own eigenbasis first).
    noise_var, weight_decay : float
        ε and γ.
    sampled_noise : bool
        Draw the noise for every sample (default), or marginalise it inside each minibatch.
    u0, record_every, seed
        The start, how often to record, and the seed of the single generator every draw comes from.
    progress : callable, optional
        Called with a one-line message about every tenth of the run.

    Returns
    -------
    SGDEnsemble

    Raises
    ------
    DivergenceError
        When every seed has diverged (its ``partial`` holds the statistics recorded before).
    """
    if (eigenvalues is None) == (X is None):
        raise InvalidArgument("give eigenvalues (Gaussian data) or X (rows drawn with replacement), not both")
    H = as_int("hidden", hidden, lo=1)
    eta = float(as_array("lr", lr, lo=0.0, lo_open=True))
    K, every = as_int("epochs", epochs, lo=0), as_int("record_every", record_every, lo=1)
    B, S = as_int("batch_size", batch_size, lo=1), as_int("seeds", seeds, lo=1)
    eps = float(as_array("noise_var", noise_var, lo=0.0))
    gam = float(as_array("weight_decay", weight_decay, lo=0.0))
    u0 = float(as_array("u0", u0, lo=0.0, lo_open=True))
    rng = np.random.default_rng(seed)
    if X is not None:
        from lindae.validation.data.datasets import check_data
        from lindae.validation.data.spectrum import compute_spectrum
        Xc = check_data(X)
        spec = compute_spectrum(Xc)
        Z = Xc @ spec.eigenvectors
        lam = np.maximum(spec.eigenvalues, 0.0)
        Z2 = Z ** 2
        m4 = np.mean(Z2 ** 2, axis=0)
        m22 = Z2.T @ Z2 / Z.shape[0]
    else:
        lam = np.asarray(as_array("eigenvalues", eigenvalues, lo=0.0), dtype=float).ravel()
        Z, m4, m22 = None, 3.0 * lam ** 2, None
    D = lam.size
    if H > D:
        raise InvalidArgument(f"hidden = {H} exceeds D = {D}")
    root = np.sqrt(lam)
    W1, W2 = _aligned(S, H, D, u0)
    g1, g2 = np.empty_like(W1), np.empty_like(W2)
    alive = np.ones(S, dtype=bool)
    rows = list(range(0, K + 1, every))
    if rows[-1] != K:
        rows.append(K)
    mean, std, se = (np.full((len(rows), D), np.nan) for _ in range(3))
    counts = np.zeros(len(rows), dtype=int)
    r = 0
    for k in range(K + 1):
        if k == rows[r]:
            s = np.einsum("sdh,shd->sd", W2, W1)[alive]
            n = counts[r] = s.shape[0]
            if n:
                mean[r] = s.mean(axis=0)
                std[r] = s.std(axis=0, ddof=1) if n > 1 else np.nan       # undefined for one seed
                se[r] = std[r] / np.sqrt(n)
            r += 1
        if k == K:
            break
        if Z is None:
            xb = rng.standard_normal((S, B, D)) * root
        else:
            xb = Z[rng.integers(0, Z.shape[0], size=(S, B))]
        xt = xb + np.sqrt(eps) * rng.standard_normal((S, B, D)) if sampled_noise and eps > 0 else xb
        with np.errstate(over="ignore", invalid="ignore"):          # a diverging seed is caught by the check below
            h = xt @ np.transpose(W1, (0, 2, 1))                         # (S, B, H)
            res = h @ np.transpose(W2, (0, 2, 1))                        # (S, B, D)
            res -= xb
            res *= eta / B                                               # η/B folded into the small factor
            np.matmul(np.transpose(res, (0, 2, 1)), h, out=g2)           # η ∂/∂W₂, (S, D, H)
            np.matmul(np.transpose(res @ W2, (0, 2, 1)), xt, out=g1)     # η ∂/∂W₁, (S, H, D)
            if eps > 0 and not sampled_noise:                            # ε/2 ‖W₂W₁‖², marginalised
                W = W2 @ W1
                g2 += (eta * eps) * (W @ np.transpose(W1, (0, 2, 1)))
                g1 += (eta * eps) * (np.transpose(W2, (0, 2, 1)) @ W)
            if gam > 0:
                g1 += (eta * gam) * W1
                g2 += (eta * gam) * W2
            W1 -= g1
            W2 -= g2
        if (k + 1) % CHECK_EVERY == 0 or k + 1 == rows[r] or k + 1 == K:      # weights are big: not every step
            size = np.einsum("shd,shd->s", W1, W1) + np.einsum("sdh,sdh->s", W2, W2)
            bad = alive & ~(np.isfinite(size) & (size < OVERFLOW_GUARD))
            if np.any(bad):
                alive &= ~bad
                W1[bad] = 0.0
                W2[bad] = 0.0
                if not np.any(alive):
                    part = SGDEnsemble(np.asarray(rows[:r]), mean[:r], std[:r], se[:r], ~alive, lam, m4, {}, None,
                                       counts[:r])
                    raise DivergenceError(f"every one of the {S} seeds diverged by step {k + 1} (lr = {eta:g}, "
                                          f"batch size {B})", step=k + 1, partial=part)
        if progress is not None and K >= 10 and (k + 1) % (K // 10) == 0:
            progress(f"SGD ensemble: step {k + 1}/{K}, {int(alive.sum())}/{S} seeds finite")
    config = dict(hidden=H, lr=eta, epochs=K, batch_size=B, seeds=S, noise_var=eps, weight_decay=gam,
                  sampled_noise=bool(sampled_noise), u0=u0, record_every=every, seed=seed,
                  data="gaussian" if X is None else "rows")
    return SGDEnsemble(np.asarray(rows), mean, std, se, ~alive, lam, m4, config, m22, counts)


def combine_sgd_ensembles(parts):
    """One ensemble from several trained on disjoint seeds (e.g. on Dask workers): pooled means, standard deviations
    (ddof 1) and standard errors from each part's counts, means and standard deviations."""
    parts = list(parts)
    if not parts:
        raise InvalidArgument("combine_sgd_ensembles needs at least one ensemble")
    first = parts[0]
    if any(p.epochs.shape != first.epochs.shape or np.any(p.epochs != first.epochs) for p in parts):
        raise InvalidArgument("the ensembles to combine must record the same steps")
    n = np.array([p.counts for p in parts], dtype=float)[:, :, None]                     # (P, K, 1)
    m = np.array([np.nan_to_num(p.mean) for p in parts])
    ss = np.array([np.nan_to_num(p.std) ** 2 for p in parts]) * np.maximum(n - 1, 0)     # within-part sums of squares
    total = n.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (n * m).sum(0) / total
        var = (ss + n * (m - mean) ** 2).sum(0) / (total - 1)
        std = np.sqrt(var)
        se = std / np.sqrt(total)
    empty = total[:, 0] < 1
    mean[empty] = std[empty] = se[empty] = np.nan
    config = dict(first.config, seeds=int(sum(p.config.get("seeds", 0) for p in parts)),
                  seed=[p.config.get("seed") for p in parts])
    return SGDEnsemble(first.epochs, mean, std, se, np.concatenate([p.diverged for p in parts]), first.eigenvalues,
                       first.fourth_moment, config, first.cross_moment, total[:, 0].astype(int))


def run_sgd_theory(ensemble: SGDEnsemble, *, pairs=True):
    """The predicted mean and standard deviation of every mode at ``ensemble.epochs`` (S1-S3:
    :func:`lindae.dynamics.sgd_mode_moments` with the run's settings and its measured fourth moments).
    Modes beyond H have no hidden unit: their strength is leakage alone (S3), or 0 with ``pairs=False``."""
    from lindae.dynamics import sgd_mode_moments
    c = ensemble.config
    H, lam = c["hidden"], ensemble.eigenvalues
    every = int(np.gcd.reduce(np.diff(ensemble.epochs))) if len(ensemble.epochs) > 1 else 1
    pred = sgd_mode_moments(c["epochs"], lam, noise_var=c["noise_var"], weight_decay=c["weight_decay"], lr=c["lr"],
                            batch_size=c["batch_size"], u0=c["u0"], sampled_noise=c["sampled_noise"],
                            fourth_moment=ensemble.fourth_moment, cross_moment=ensemble.cross_moment, hidden=H,
                            pairs=pairs, record_every=every)
    at = np.searchsorted(pred.epochs, ensemble.epochs)
    return {"mean": pred.mean[at], "std": pred.std[at], "leakage_std": pred.leakage_std}
