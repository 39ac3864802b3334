r"""Many seeds of minibatch SGD (S1, S2): every seed's linear autoencoder is trained in the eigenbasis of the data's
second moment on its own minibatches, drawn from its own generators.

Data come from a Gaussian with the given ``eigenvalues`` (each minibatch drawn afresh: the setting of S1), or from
the rows of ``X`` drawn with replacement (so that a minibatch is B independent draws from the data's empirical
distribution, whose fourth moments along the eigenvectors are measured). The input noise of variance ε is drawn
afresh for every sample (``sampled_noise=True``) or marginalised inside each minibatch. A step of seed s is

.. math:: W_2 \leftarrow W_2 - \frac{\eta}{B}(\hat X - X)^\top H,\qquad
          W_1 \leftarrow W_1 - \frac{\eta}{B}\big((\hat X - X)W_2\big)^\top\tilde X

with :math:`H = \tilde XW_1^\top`, :math:`\hat X = HW_2^\top` (plus the marginalised noise's and the weight decay's
terms), and every mode's strength :math:`s_i = (W_2W_1)_{ii}` is recorded. A seed whose weights leave the overflow
guard (checked every ``CHECK_EVERY`` steps and before every recorded step) is marked diverged and left out of the
statistics. Small models step all their seeds side by side in batched products, where NumPy's per-call cost would
dominate a loop; larger ones (an MNIST model) run seed after seed, each seed's weights staying in cache and updated
in place, which measured faster than any batched step (``SIDE_BY_SIDE_MAX``, ``python bench/sgd_speed.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lindae.dynamics._blas import one_blas_thread
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


def ratio_floor(seeds, batch_size, D, hidden, one_seed_step, rate=None):
    """The smallest time ratio of ``seeds`` seeds to one that arithmetic allows: the seeds' 10·B·D·H flops a step
    each (forward and backward products of a (B x D) batch through an H-unit model) at one core's BLAS rate ``rate``
    (flop/s; default :func:`~lindae.validation.provenance.machine_speed`), against one seed's measured step
    ``one_seed_step`` (seconds)."""
    if rate is None:
        from lindae.validation.provenance import machine_speed
        rate = 1e9 * machine_speed()
    return seeds * 10 * batch_size * D * hidden / rate / one_seed_step


def seed_generators(seed, index):
    """The two generators of seed ``index`` of the family ``seed``: its samples (or rows) and its input noise.

    Each seed has its own child of ``SeedSequence(seed)``, so a seed's run depends only on (seed, index), however the
    seeds are grouped, vectorised or spread over workers; each generator serves one kind of draw only, so the stream
    a seed consumes does not depend on how many steps are drawn at once either."""
    kids = np.random.SeedSequence(seed, spawn_key=(int(index),)).spawn(2)
    return tuple(np.random.Generator(np.random.PCG64(k)) for k in kids)


@dataclass
class _Problem:
    """Everything a step needs, shared by both ways of stepping the seeds."""
    H: int
    D: int
    B: int
    eta: float
    eps: float
    gam: float
    sampled: bool
    root: np.ndarray
    Z: np.ndarray | None
    u0: float
    K: int
    rows: list

    @property
    def block(self):
        """Steps drawn at once per seed: a function of B and D alone (a few kB to 64 kB of draws)."""
        return max(1, min(256, 8192 // (self.B * self.D)))

    def draws(self, gens, t):
        """(xb, x̃b), each (t, B, D): t steps of one seed's minibatches and their noisy inputs."""
        data, noise = gens
        if self.Z is None:
            xb = data.standard_normal((t, self.B, self.D))
            xb *= self.root
        else:
            xb = self.Z[data.integers(0, self.Z.shape[0], size=(t, self.B))]
        if self.sampled and self.eps > 0:
            return xb, xb + np.sqrt(self.eps) * noise.standard_normal((t, self.B, self.D))
        return xb, xb

    def checked(self, k):
        """Whether the weights are checked against the overflow guard after step k (0-based)."""
        return (k + 1) % CHECK_EVERY == 0 or k + 1 in self._row_set or k + 1 == self.K

    def __post_init__(self):
        self._row_set = set(self.rows)


def _side_by_side(p, gens, progress):
    """Every seed in batched products per step (small models, where a step is dominated by NumPy's per-call cost).
    Returns (counts, mean, M2 = sum of squared deviations) per recorded row, the diverged mask and each seed's
    divergence step (0 for none)."""
    S = len(gens)
    W1, W2 = _aligned(S, p.H, p.D, p.u0)
    g1, g2 = np.empty_like(W1), np.empty_like(W2)
    alive = np.ones(S, dtype=bool)
    died = np.zeros(S, dtype=int)
    R = len(p.rows)
    counts, mean, M2 = np.zeros(R, dtype=int), np.full((R, p.D), np.nan), np.zeros((R, p.D))
    T = p.block
    xb_all, xt_all = np.empty((T, S, p.B, p.D)), np.empty((T, S, p.B, p.D))
    r = 0
    for k in range(p.K + 1):
        if k == p.rows[r]:
            s = np.einsum("sdh,shd->sd", W2, W1)[alive]
            n = counts[r] = s.shape[0]
            if n:
                mean[r] = s.mean(axis=0)
                M2[r] = ((s - mean[r]) ** 2).sum(axis=0)
            r += 1
        if k == p.K:
            break
        j = k % T
        if j == 0:
            t = min(T, p.K - k)
            for i, g in enumerate(gens):
                xb_all[:t, i], xt_all[:t, i] = p.draws(g, t)
        xb, xt = xb_all[j], xt_all[j]
        with np.errstate(over="ignore", invalid="ignore"):          # a diverging seed is caught by the check below
            h = xt @ np.transpose(W1, (0, 2, 1))                         # (S, B, H)
            res = h @ np.transpose(W2, (0, 2, 1))                        # (S, B, D)
            res -= xb
            res *= p.eta / p.B                                           # η/B folded into the small factor
            np.matmul(np.transpose(res, (0, 2, 1)), h, out=g2)           # η ∂/∂W₂, (S, D, H)
            np.matmul(np.transpose(res @ W2, (0, 2, 1)), xt, out=g1)     # η ∂/∂W₁, (S, H, D)
            if p.eps > 0 and not p.sampled:                              # ε/2 ‖W₂W₁‖², marginalised
                W = W2 @ W1
                g2 += (p.eta * p.eps) * (W @ np.transpose(W1, (0, 2, 1)))
                g1 += (p.eta * p.eps) * (np.transpose(W2, (0, 2, 1)) @ W)
            if p.gam > 0:
                g1 += (p.eta * p.gam) * W1
                g2 += (p.eta * p.gam) * W2
            W1 -= g1
            W2 -= g2
        if p.checked(k):                                                 # weights are big: not every step
            size = np.einsum("shd,shd->s", W1, W1) + np.einsum("sdh,sdh->s", W2, W2)
            bad = alive & ~(np.isfinite(size) & (size < OVERFLOW_GUARD))
            if np.any(bad):
                alive &= ~bad
                died[bad] = k + 1
                W1[bad] = 0.0
                W2[bad] = 0.0
                if not np.any(alive):
                    break
        if progress is not None and p.K >= 10 and (k + 1) % (p.K // 10) == 0:
            progress(f"SGD ensemble: step {k + 1}/{p.K}, {int(alive.sum())}/{S} seeds finite")
    return counts, mean, M2, ~alive, died


def _one_by_one(p, gens, progress):
    """Each seed runs all its steps alone, its weights staying in cache, with the updates done in place by BLAS
    (W ← βW − η·(outer product), one pass over W); the statistics are pooled seed by seed (Welford). Same returns
    as :func:`_side_by_side`."""
    from scipy.linalg.blas import dgemm
    S, R = len(gens), len(p.rows)
    counts, mean, M2 = np.zeros(R, dtype=int), np.zeros((R, p.D)), np.zeros((R, p.D))
    died = np.zeros(S, dtype=int)
    idx = np.arange(p.H)
    beta = 1.0 - p.eta * p.gam
    every = max(1, S // 10)
    for i, g in enumerate(gens):
        W1 = np.zeros((p.H, p.D))
        W1[idx, idx] = np.sqrt(p.u0)
        W2 = np.ascontiguousarray(W1.T)
        r = 0
        for k in range(p.K + 1):
            if k == p.rows[r]:
                x = np.einsum("dh,hd->d", W2, W1)
                counts[r] += 1
                d = x - mean[r]
                mean[r] += d / counts[r]
                M2[r] += d * (x - mean[r])
                r += 1
            if k == p.K:
                break
            if k % p.block == 0:
                start = k
                xb_blk, xt_blk = p.draws(g, min(p.block, p.K - k))
            xb, xt = xb_blk[k - start], xt_blk[k - start]
            with np.errstate(over="ignore", invalid="ignore"):
                h = xt @ W1.T                                            # (B, H)
                res = h @ W2.T                                           # (B, D)
                res -= xb
                res *= p.eta / p.B
                r2 = res @ W2                                            # (B, H), with the old W₂
                if p.eps > 0 and not p.sampled:
                    A2 = (p.eta * p.eps) * (W2 @ (W1 @ W1.T))            # η ε W W₁ᵀ, W = W₂W₁
                    A1 = (p.eta * p.eps) * ((W2.T @ W2) @ W1)            # η ε W₂ᵀ W
                # W₂ᵀ ← βW₂ᵀ − hᵀ res and W₁ᵀ ← βW₁ᵀ − x̃ᵀ r₂, in place on the transposed (Fortran) views
                dgemm(-1.0, h.T, res.T, beta=beta, c=W2.T, trans_b=1, overwrite_c=1)
                dgemm(-1.0, xt.T, r2.T, beta=beta, c=W1.T, trans_b=1, overwrite_c=1)
                if p.eps > 0 and not p.sampled:
                    W2 -= A2
                    W1 -= A1
            if p.checked(k):
                size = float(np.dot(W1.ravel(), W1.ravel()) + np.dot(W2.ravel(), W2.ravel()))
                if not (np.isfinite(size) and size < OVERFLOW_GUARD):
                    died[i] = k + 1
                    break
        if progress is not None and S >= 10 and (i + 1) % every == 0:
            progress(f"SGD ensemble: seed {i + 1}/{S} done, {int((died[:i + 1] == 0).sum())} finite")
    mean[counts == 0] = np.nan
    return counts, mean, M2, died > 0, died


#: Weights per seed (2·H·D) up to which the seeds step side by side in batched products. Above it each seed runs
#: alone with its weights in cache, which measured faster: a batched step streams every seed's weights through
#: memory several times (200 MNIST seeds at H = 64 hold 160 MB), and NumPy's stacked products with B = 1 or with
#: transposed operands do not reach BLAS's speed (``python bench/sgd_speed.py``).
SIDE_BY_SIDE_MAX = 4096


def _run(p, gens, progress=None):
    """Step the seeds of ``gens`` the faster way for the model's size (``SIDE_BY_SIDE_MAX``)."""
    if 2 * p.H * p.D <= SIDE_BY_SIDE_MAX:
        return _side_by_side(p, gens, progress)
    with one_blas_thread():           # small products, NumPy's and SciPy's BLAS alternating: threads only wait
        return _one_by_one(p, gens, progress)


def _problem(hidden, lr, epochs, batch_size, eigenvalues, X, noise_var, weight_decay, sampled_noise, u0,
             record_every):
    """The checked settings as a :class:`_Problem`, with the data's λ, E x⁴ and E xᵢ²xⱼ² (None for Gaussian data)."""
    if (eigenvalues is None) == (X is None):
        raise InvalidArgument("give eigenvalues (Gaussian data) or X (rows drawn with replacement), not both")
    H = as_int("hidden", hidden, lo=1)
    eta = float(as_array("lr", lr, lo=0.0, lo_open=True))
    K, every = as_int("epochs", epochs, lo=0), as_int("record_every", record_every, lo=1)
    B = as_int("batch_size", batch_size, lo=1)
    eps = float(as_array("noise_var", noise_var, lo=0.0))
    gam = float(as_array("weight_decay", weight_decay, lo=0.0))
    u0 = float(as_array("u0", u0, lo=0.0, lo_open=True))
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
    rows = list(range(0, K + 1, every))
    if rows[-1] != K:
        rows.append(K)
    return _Problem(H, D, B, eta, eps, gam, bool(sampled_noise), np.sqrt(lam), Z, u0, K, rows), lam, m4, m22


def train_sgd_ensemble(hidden, lr, epochs, *, batch_size, seeds=200, eigenvalues=None, X=None, noise_var=0.0,
                       weight_decay=0.0, sampled_noise=True, u0=1e-3, record_every=1, seed=0, first=0, progress=None):
    """Train ``seeds`` linear autoencoders by minibatch SGD from the aligned start u0 (module docstring).

    Parameters
    ----------
    hidden : int
        Hidden width H (the aligned start puts hidden unit h on mode h).
    lr, epochs, batch_size : float, int, int
        Learning rate η, number of SGD steps, and minibatch size B.
    seeds : int
        Number of independent runs.
    eigenvalues : array (D,), optional
        Gaussian data with this second-moment spectrum (in its eigenbasis), drawn afresh for every minibatch.
    X : array (N, D), optional
        Data whose rows are drawn with replacement instead (rotated into its own eigenbasis first).
    noise_var, weight_decay : float
        ε and γ.
    sampled_noise : bool
        Draw the noise for every sample (default), or marginalise it inside each minibatch.
    u0, record_every
        The start and how often to record.
    seed, first : int
        The runs are seeds ``first`` … ``first + seeds − 1`` of the family ``seed``, each with its own generators
        (:func:`seed_generators`): an ensemble split into ranges of seeds (e.g. over Dask workers) and pooled by
        :func:`combine_sgd_ensembles` gives the statistics of the whole, up to rounding.
    progress : callable, optional
        Called with a one-line message about every tenth of the run.

    Returns
    -------
    SGDEnsemble

    Raises
    ------
    DivergenceError
        When every seed has diverged (its ``partial`` holds the statistics recorded before).

    Notes
    -----
    Small models (2·H·D ≤ ``SIDE_BY_SIDE_MAX``) step all their seeds side by side; larger ones run seed by seed.
    Both give the same numbers up to rounding (tests/validation/test_sgd_ensemble.py).
    """
    p, lam, m4, m22 = _problem(hidden, lr, epochs, batch_size, eigenvalues, X, noise_var, weight_decay,
                               sampled_noise, u0, record_every)
    S, first = as_int("seeds", seeds, lo=1), as_int("first", first, lo=0)
    gens = [seed_generators(seed, first + i) for i in range(S)]
    counts, mean, M2, diverged, died = _run(p, gens, progress)
    rows = np.asarray(p.rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.where(counts[:, None] > 1, np.sqrt(M2 / np.maximum(counts - 1, 1)[:, None]), np.nan)
        se = std / np.sqrt(counts)[:, None]
    mean[counts == 0] = np.nan
    if diverged.all():
        last = int(died.max())
        kept = rows < last
        part = SGDEnsemble(rows[kept], mean[kept], std[kept], se[kept], diverged, lam, m4, {}, None,
                           counts[kept])
        raise DivergenceError(f"every one of the {S} seeds diverged by step {last} (lr = {p.eta:g}, batch size "
                              f"{p.B})", step=last, partial=part)
    config = dict(hidden=p.H, lr=p.eta, epochs=p.K, batch_size=p.B, seeds=S, noise_var=p.eps, weight_decay=p.gam,
                  sampled_noise=p.sampled, u0=p.u0, record_every=int(record_every), seed=seed, first=first,
                  data="gaussian" if X is None else "rows")
    return SGDEnsemble(rows, mean, std, se, diverged, lam, m4, config, m22, counts)


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
    pred = sgd_mode_moments(c["epochs"], lam, noise_var=c["noise_var"], weight_decay=c["weight_decay"], lr=c["lr"],
                            batch_size=c["batch_size"], u0=c["u0"], sampled_noise=c["sampled_noise"],
                            fourth_moment=ensemble.fourth_moment, cross_moment=ensemble.cross_moment, hidden=H,
                            pairs=pairs, at_epochs=ensemble.epochs)
    at = np.searchsorted(pred.epochs, ensemble.epochs)
    return {"mean": pred.mean[at], "std": pred.std[at], "leakage_std": pred.leakage_std}
