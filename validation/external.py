r"""Theory for models trained elsewhere: a PyTorch, JAX or Keras user's initial weights, learning rate and loss
convention in; every mode's predicted strength at the recorded epochs out.

A linear autoencoder :math:`\hat x = W_L\cdots W_1\tilde x` trained by full-batch gradient descent with rate
:math:`\eta_u` on a loss that is :math:`\nu` times lindae's per-sample loss follows lindae's theory at
:math:`\eta = \nu\,\eta_u` (:class:`lindae.dynamics.LossConvention`, docs/conventions.md). :func:`predict`
converts the user's settings, projects the user's own initial weights on the eigenbasis of
:math:`\Sigma = X^\top X/N`, and evaluates the theory lindae's own runs use (:func:`run_theory`: R15 from the
actual random start at depth 2, D9's effective starts at depth L). :func:`strengths_from_weights` measures
:math:`s_i = v_i^\top W v_i` on the user's weight snapshots, and :func:`lindae.validation.agreement` scores
them against the prediction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lindae.dynamics import fixed_point
from lindae.dynamics._checks import as_array, as_int
from lindae.dynamics.closed_form import stability_bound
from lindae.dynamics.errors import InvalidArgument, InvalidArgumentType
from lindae.dynamics.units import LossConvention

from lindae.validation.data.datasets import check_data
from lindae.validation.data.spectrum import Spectrum, as_spectrum, compute_spectrum
from lindae.validation.theory import theory_from_start
from lindae.validation.training.linear import given_weights, start_summary


@dataclass(frozen=True, kw_only=True)
class StartSummary:
    """What the theories need from a start (the initial-weight fields of a training result)."""
    effective_u0: np.ndarray | None = None
    orthogonal_u0: np.ndarray | None = None
    shared_u0: float | None = None
    init_a0: np.ndarray | None = None
    init_b0: np.ndarray | None = None
    init_growing: np.ndarray | None = None
    init_layers: np.ndarray | None = None
    init_weights: tuple | None = None


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """Predicted strengths of every mode of a model trained elsewhere (:func:`predict`).

    Attributes
    ----------
    epochs : ndarray (K,)
        The recorded epochs (full-batch steps).
    strengths : ndarray (K, D)
        Predicted :math:`s_i = v_i^\\top W v_i`; column i - 1 is mode number i (decreasing eigenvalue).
    eigenvalues, eigenvectors : ndarray (D,), ndarray (D, D)
        The spectrum of Σ = XᵀX/N the prediction is for (eigenvectors as columns, same order).
    theory : str
        Which result was evaluated.
    convention : LossConvention
        The user's loss convention, with N and D.
    lr, noise_var, weight_decay : float
        The settings in lindae's units (η = ν·η_user, ...), as the theory used them.
    hidden, depth : int
        H and L.
    start : StartSummary
        The user's initial weights as the theory saw them.
    """

    epochs: np.ndarray
    strengths: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    theory: str
    convention: LossConvention
    lr: float
    noise_var: float
    weight_decay: float
    hidden: int
    depth: int
    start: StartSummary

    @property
    def t(self) -> np.ndarray:
        """Continuous time t = η·epoch in lindae's units."""
        return self.lr * self.epochs

    @property
    def fixed_points(self) -> np.ndarray:
        """u* of every mode (R7; at depth L, D3), the value each learned mode settles at."""
        return np.asarray(fixed_point(self.eigenvalues, noise_var=self.noise_var, weight_decay=self.weight_decay,
                                      depth=self.depth), dtype=float)


def _layers(W1, W2):
    if isinstance(W1, (list, tuple)):
        if W2 is not None:
            raise InvalidArgumentType("give the layers either as W1, W2 or as one list [W1, ..., W_L] (then W2=None)")
        return list(W1)
    if W2 is None:
        raise InvalidArgumentType("W2 is missing: give W1 (H x D) and W2 (D x H), or the list of every layer")
    return [W1, W2]


def _spectrum(X, spectrum, n_samples):
    if spectrum is not None:
        if X is not None:
            raise InvalidArgumentType("give the data X or its spectrum, not both")
        spec = as_spectrum(spectrum, n_samples=n_samples)
        return spec, (as_int("n_samples", n_samples, lo=1) if n_samples is not None else spec.n_samples or None)
    if X is None:
        raise InvalidArgumentType("give the data X (N x D) or spectrum=(eigenvalues, eigenvectors)")
    X = check_data(X, "X")
    if n_samples is not None and int(n_samples) != X.shape[0]:
        raise InvalidArgument(f"n_samples = {n_samples} but X has {X.shape[0]} rows")
    return compute_spectrum(X), X.shape[0]


def predict(W1, W2=None, X=None, lr=None, epochs=None, *, noise_var=0.0, weight_decay=0.0, loss="lindae",
            decoupled=False, record_every=1, spectrum=None, n_samples=None, theory=None, time="discrete") -> Prediction:
    r"""Every mode's predicted strength for a linear autoencoder trained elsewhere, from its own initial weights.

    The model is :math:`\hat x = W_L\cdots W_1\tilde x` (no biases) trained by full-batch gradient descent,
    ``epochs`` steps of rate ``lr`` on the loss ``loss`` of the data X (rows are samples), with input noise of
    variance ``noise_var`` (sampled per sample, or marginalised in the same convention) and weight decay
    ``weight_decay``. With :math:`\nu` the convention's factor (the user's loss is :math:`\nu` times lindae's) the
    theory runs at :math:`\eta = \nu\,\eta_u`, :math:`\varepsilon = \sigma^2`, :math:`\gamma = w/\nu` (L2) or
    :math:`w/\eta` (decoupled), on :math:`\Sigma = X^\top X/N`.

    Parameters
    ----------
    W1, W2 : arrays (H, D) and (D, H)
        The initial weights in the layout of ``torch.nn.Linear(D, H).weight`` and ``Linear(H, D).weight``
        (x̂ = W2 W1 x; a JAX model written as ``x @ A @ B`` passes ``A.T, B.T``). For depth L, W1 is the list
        [W1, ..., W_L] (first layer first; middle layers H x H) and W2 is None.
    X : array (N, D), optional
        The training data, as the model sees it (centre it first if the model was trained on centred data).
    lr : float
        The user's learning rate.
    epochs : int
        Number of full-batch steps.
    noise_var, weight_decay : float
        σ² of the Gaussian input noise (the same in every convention, "paper" included: this is the inputs'
        variance, not the paper's Nσ²) and the optimiser's weight decay.
    loss : {"lindae", "mean", "batch_mean", "sum", "paper"}
        How the user's loss is normalised (:data:`lindae.dynamics.units.LOSSES`): "mean" over all N·D entries
        (``torch.nn.MSELoss()``, ``optax.l2_loss(...).mean() * 2``, Keras "mse"), "batch_mean" (mean over samples
        of ‖x − x̂‖²), "sum" (over all entries), "lindae" (½ mean over samples of ‖x − x̂‖²), "paper" (½ sum).
    decoupled : bool
        The optimiser shrinks the weights by w·W every step, independent of lr (default False: L2, it adds
        w·W to the gradient, as ``torch.optim.SGD(weight_decay=w)`` and ``optax.add_decayed_weights`` do).
    record_every : int
        Predict at epochs 0, record_every, ..., epochs.
    spectrum : Spectrum or (eigenvalues, eigenvectors), optional
        Instead of X: Σ's decomposition, e.g. straight from ``numpy.linalg.eigh(X.T @ X / N)`` (any order;
        eigenvalues within rounding of zero are clipped, a truly negative one is an error naming the worst).
    n_samples : int, optional
        N, with ``spectrum``, for the conventions that need it ("sum", "paper").
    theory, time
        As in :func:`lindae.validation.run_theory` (default: R15 from the actual start, in discrete time).

    Returns
    -------
    Prediction

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((500, 6)) * np.linspace(2, .3, 6)
    >>> W1, W2 = 1e-4 * rng.standard_normal((3, 6)), 1e-4 * rng.standard_normal((6, 3))
    >>> p = predict(W1, W2, X, lr=0.3, epochs=400, loss="mean", noise_var=0.1)   # torch MSELoss, lr 0.3
    >>> p.lr                     # lindae's rate: ν = 2/D
    0.09999999999999999
    >>> p.strengths.shape, bool(abs(p.strengths[-1, 0] - p.fixed_points[0]) < 1e-3)
    ((401, 6), True)
    """
    layers = _layers(W1, W2)
    spec, N = _spectrum(X, spectrum, n_samples)
    lam, V = spec.eigenvalues, spec.eigenvectors
    D = lam.size
    first = as_array("W1", layers[0])
    if first.ndim != 2 or first.shape[1] != D:
        hint = (" (transposed? lindae's layout is x̂ = W2 W1 x, torch.nn.Linear's .weight; pass W1.T)"
                if first.ndim == 2 and first.shape[0] == D else "")
        raise InvalidArgument(f"W1 must be a matrix (H, D) with D = {D}, got shape {first.shape}{hint}")
    mats = given_weights(layers, D, first.shape[0])
    H, L = first.shape[0], len(mats)
    if lr is None or epochs is None:
        raise InvalidArgumentType("predict needs lr and epochs")
    epochs = as_int("epochs", epochs, lo=0)
    record_every = as_int("record_every", record_every, lo=1)
    convention = LossConvention(loss, n_samples=N, n_features=D, decoupled=decoupled)
    lr_user = float(as_array("lr", lr, lo=0.0, lo_open=True))
    units = convention.to_lindae(lr=lr_user, weight_decay=weight_decay)
    eps = float(as_array("noise_var", noise_var, lo=0.0))     # the inputs' noise: σ² in every convention
    eta, gam = units["lr"], units["weight_decay"]
    bounds = stability_bound(lam, noise_var=eps, weight_decay=gam)
    worst = int(np.argmin(bounds))
    bound = float(bounds[worst])
    if time == "discrete" and L == 2 and eta >= bound:
        raise InvalidArgument(
            f"lr = {lr_user:g} with loss={loss!r} is lindae's lr = {eta:.6g} (ν = {convention.scale:.6g}), at or above "
            f"the stability bound {bound:.6g} of mode {worst + 1} (lambda = {lam[worst]:.6g}): gradient descent would not "
            f"converge; check the loss convention")
    rec = np.arange(0, epochs + 1, record_every)
    if rec[-1] != epochs:
        rec = np.append(rec, epochs)
    if L == 2:
        P, Q = mats[0] @ V, mats[1].T @ V
        start = StartSummary(**start_summary(P, Q))
    else:
        start = StartSummary(init_weights=(mats[0] @ V, np.array(mats[1:-1]).reshape(L - 2, H, H), mats[-1].T @ V))
    s = theory_from_start(start, lam, rec, noise_var=eps, weight_decay=gam, lr=eta, depth=L, record_every=record_every,
                          time=time, theory=theory, balanced=None)
    if L > 2:
        name = "D9's effective balanced starts, " + ("D2's exact per-mode map" if time == "discrete" else "D4's flow")
    else:
        name = {"coupled": "R15 (the modes compete for the H hidden directions, from the actual start)",
                "effective": "R14's effective u0 per mode", "orthogonal": "R14 orthogonalised in eigenvalue order",
                "shared": "the paper's shared u0"}[theory or "coupled"]
        name += ", " + ("exact GD steps" if time == "discrete" else "gradient flow")
    return Prediction(epochs=rec, strengths=s, eigenvalues=lam, eigenvectors=V, theory=name, convention=convention,
                      lr=eta, noise_var=eps, weight_decay=gam, hidden=H, depth=L, start=start)


def strengths_from_weights(snapshots, eigenvectors) -> np.ndarray:
    r"""Measured mode strengths :math:`s_i = v_i^\top W_L\cdots W_1 v_i` of every weight snapshot.

    Parameters
    ----------
    snapshots : sequence of sequences of arrays
        One entry per recorded epoch, each the list of layer weights [W1 (H, D), ..., W_L (D, H)], first layer
        first (the layout of ``torch.nn.Linear``'s ``.weight``).
    eigenvectors : array (D, D), or a Spectrum or Prediction
        Σ's eigenvectors as columns (a :class:`Prediction`'s order, so the columns line up with its modes).

    Returns
    -------
    ndarray (K, D)
    """
    V = eigenvectors.eigenvectors if isinstance(eigenvectors, (Spectrum, Prediction)) else eigenvectors
    V = as_array("eigenvectors", V)
    D = V.shape[0]
    if V.ndim != 2 or V.shape != (D, D):
        raise InvalidArgument(f"eigenvectors must be a square (D, D) matrix, got shape {V.shape}")
    snaps = list(snapshots)
    if not snaps:
        raise InvalidArgument("snapshots is empty")
    layers = [given_weights(list(s), D, np.shape(s[0])[0] if len(s) else None) for s in snaps]
    L = len(layers[0])
    if any(len(s) != L for s in layers):
        raise InvalidArgument("every snapshot must have the same number of layers")
    K, H = len(layers), layers[0][0].shape[0]
    A = (np.stack([s[0] for s in layers]).reshape(K * H, D) @ V).reshape(K, H, D)      # W1 V
    for l in range(1, L - 1):
        A = np.einsum("khj,kjd->khd", np.stack([s[l] for s in layers]), A)
    B = (np.stack([s[-1].T for s in layers]).reshape(K * H, D) @ V).reshape(K, H, D)   # W_Lᵀ V
    return np.einsum("khd,khd->kd", B, A)
