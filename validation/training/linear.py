"""Training linear autoencoders by full-batch gradient descent, measured per eigenmode.

Three algorithms, one result type, built from three small parts (initialisation
:func:`initial_eigen_weights`, a step, and a :class:`Recorder`):

* :func:`train_linear_ae` (default): the marginalised loss (R1) in the eigenbasis of Σ. With
  P = W1 V and Q = W2ᵀ V, Σ is diagonal and one exact GD step costs O(H²D), independent of N
  (:class:`lindae.validation.training.eigenbasis.EigenbasisStep`).
* ``sampled_noise=True``: fresh Gaussian input noise every epoch (optionally minibatched) on
  the raw data, O(N·D·H) per epoch, to test the marginalised approximation.
* :func:`train_linear_ae_naive`: the original algorithm, full-batch GD on the N x D data with the
  marginalised penalty, O(N·D·H) per epoch (the reference for ``bench/train_speed.py``).

The last two use the one R1 gradient of the numeric layer, :func:`dynamics.sample_loss_and_gradient`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from lindae.dynamics.closed_form import stability_bound
from lindae.dynamics.errors import DivergenceError, diverged
from lindae.dynamics.matrix import sample_loss_and_gradient
from lindae.dynamics._checks import as_array, as_int

from lindae.validation.data.datasets import check_data
from lindae.validation.training.diagonal import DiagonalStep, diagonal_support
from lindae.validation.training.eigenbasis import EigenbasisStep, low_rank_singular_values
from lindae.validation.training.holdout import CURVES, ErrorMeter
from lindae.validation.training.noise import NoiseBuffer
from lindae.validation.data.spectrum import Spectrum, compute_spectrum
from lindae.validation.training.parts import Architecture, Objective, Schedule, Start
from lindae.dynamics.errors import InvalidArgument, InvalidArgumentType

#: The one R1 gradient on samples (public name kept for the validation API).
data_loss_and_gradient = sample_loss_and_gradient


@dataclass(kw_only=True)
class ModeCurves:
    """What every linear run records, shallow or deep (the base of :class:`TrainResult` and ``DeepResult``).

    Attributes
    ----------
    eigenvalues : ndarray (D,)
        Eigenvalues of Σ, descending.
    epochs : ndarray (K,)
        Recorded epochs (GD steps); time t = lr * epoch.
    strengths : ndarray (K, D)
        s_i = v_iᵀ W v_i per recorded epoch (W the product of all layers), columns in eigenvalue order: column
        i - 1 is mode number i.
    loss : ndarray (K,)
        The training loss.
    config : dict
        The training settings (``depth`` among them).
    seconds : float
        Wall time of the training loop.
    """

    eigenvalues: np.ndarray
    epochs: np.ndarray
    strengths: np.ndarray
    loss: np.ndarray
    config: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(kw_only=True)
class TrainResult(ModeCurves):
    """Recorded learning curves of one (two-layer) linear autoencoder; the fields of :class:`ModeCurves` and:

    Attributes
    ----------
    effective_u0 : ndarray (D,)
        R14: ‖W1(0) v_i + W2(0)ᵀ v_i‖² / 4 (for aligned runs: a0 b0 of each mode).
    orthogonal_u0 : ndarray (D,)
        R14 refined by learning order: |R_ii|² / 4 from the QR factorisation of
        [p_1 + q_1, ..., p_D + q_D] (columns in eigenvalue order), i.e. the part of p_i + q_i
        orthogonal to the directions taken by the modes learned before mode i. The cubic
        coupling -xi_i sum_j q_j (q_jᵀ p_i) suppresses exactly that part; modes beyond H get 0.
    shared_u0 : float
        The paper's single u0: the mean of the top-H singular values of W(0).
    leakage : ndarray (K,)
        ‖offdiag(VᵀWV)‖_F / ‖VᵀWV‖_F.
    sv_epochs, singular_values : ndarray (S,), ndarray (S, H)
        Sorted singular values of W (the paper's measurement), at a coarser stride.
    init_a0, init_b0 : ndarray (D,) or None
        Per-mode initial weights of an aligned run.
    init_growing : ndarray (D, H) or None
        Row i is the growing part y_i = (W1(0)v_i + W2(0)ᵀv_i)/2 of mode i (R14), R15's start.
    W1, W2 : ndarray
        Final weights in the data basis.
    test_error, test_denoising_error, train_error, train_denoising_error : ndarray (K,) or None
        With ``X_test``: ½E‖x − Wx‖² on the test and the training data, and ½E‖x − W(x + n)‖² with the run's own
        noise variance, marginalised (G1), at every recorded epoch.
    test_moment : ndarray (D,) or None
        With ``X_test``: M_ii = v̂_iᵀ Σ_test v̂_i in the training eigenbasis (the per-mode theory's input).
    eigenvectors : ndarray (D, D) or None
        The training eigenvectors (columns, the order of ``eigenvalues``); a reference to the run's spectrum,
        not a copy.
    """

    effective_u0: np.ndarray
    orthogonal_u0: np.ndarray
    shared_u0: float
    leakage: np.ndarray
    sv_epochs: np.ndarray
    singular_values: np.ndarray
    init_a0: np.ndarray | None = None
    init_b0: np.ndarray | None = None
    init_growing: np.ndarray | None = None
    W1: np.ndarray | None = None
    W2: np.ndarray | None = None
    test_error: np.ndarray | None = None
    test_denoising_error: np.ndarray | None = None
    train_error: np.ndarray | None = None
    train_denoising_error: np.ndarray | None = None
    test_moment: np.ndarray | None = None
    eigenvectors: np.ndarray | None = field(default=None, repr=False)


def check_problem(X, hidden, lr, epochs):
    """Validated (X, N, D, H, lr, epochs) of a training problem: finite 2-D data, 1 <= H <= D, lr > 0, epochs >= 0."""
    X = check_data(X, "X")
    N, D = X.shape
    H = as_int("hidden", hidden, lo=1)
    if H > D:
        raise InvalidArgument(f"hidden must be <= D = {D} (the data dimension), got {H}")
    return X, N, D, H, float(as_array("lr", lr, lo=0.0, lo_open=True)), as_int("epochs", epochs, lo=0)


def schedule(epochs, every):
    """Recorded epochs 0, every, 2 every, ..., always including the last one."""
    k = np.arange(0, epochs + 1, every)
    return k if k[-1] == epochs else np.append(k, epochs)


def orthogonal_initial_strength(P, Q):
    """Learning-order-orthogonalised R14 strengths |R_ii|²/4 of QR([p_i + q_i]) (see TrainResult)."""
    H, D = P.shape
    R = np.linalg.qr(P + Q, mode="r")
    out = np.zeros(D)
    k = min(H, D)
    out[:k] = np.abs(np.diag(R[:k, :k])) ** 2 / 4.0
    return out


def mode_indices(modes, D, H) -> np.ndarray:
    """0-based column indices of the 1-based mode numbers ``modes`` (default 1 ... H), checked: at most H
    distinct numbers in 1 ... D."""
    if modes is None:
        return np.arange(H)
    numbers = np.asarray(modes)
    if numbers.ndim != 1 or not np.issubdtype(numbers.dtype, np.integer):
        raise InvalidArgument(f"modes must be a list of mode numbers (integers), got {modes!r}")
    if (len(numbers) > H or len(set(numbers.tolist())) != len(numbers) or np.any(numbers < 1)
            or np.any(numbers > D)):
        raise InvalidArgument(f"modes must be at most hidden={H} distinct mode numbers in 1 ... {D} (1-based), "
                              f"got {numbers.tolist()}")
    return numbers.astype(int) - 1


def start_summary(P, Q, ia=None, ib=None) -> dict:
    """What the theories need from a two-layer start (the initial-weight fields of :class:`TrainResult`): R14's
    effective and orthogonalised u0, the paper's shared u0, R15's growing parts, and an aligned run's (a0, b0)."""
    eff_u0 = ia * ib if ia is not None else np.sum((P + Q) ** 2, axis=0) / 4.0
    return dict(effective_u0=eff_u0, orthogonal_u0=eff_u0 if ia is not None else orthogonal_initial_strength(P, Q),
                shared_u0=float(np.mean(low_rank_singular_values(P, Q))), init_a0=ia, init_b0=ib,
                init_growing=((P + Q) / 2.0).T.copy())


def given_weights(weights, D, H=None, depth=None):
    """The list of layer matrices ``weights`` (first layer first, in the data basis) checked: W1 (H x D), middle
    layers (H x H), last (D x H), finite; the error names the layer and says how to fix a transposed one."""
    if weights is None or isinstance(weights, np.ndarray) or len(weights) < 2:
        raise InvalidArgumentType("weights must be the list of every layer's weights, first layer first: "
                                  "[W1 (H x D), ..., W_L (D x H)]")
    mats = [as_array(f"weights[{l}]", w) for l, w in enumerate(weights)]
    L = len(mats)
    if depth is not None and L != depth:
        raise InvalidArgument(f"weights has {L} layers, the model has depth = {depth}")
    H = mats[0].shape[0] if H is None and mats[0].ndim == 2 else H
    for l, W in enumerate(mats):
        want = (H, D) if l == 0 else (D, H) if l == L - 1 else (H, H)
        if W.shape != want:
            hint = " (transposed? lindae's layout is x̂ = W_L ⋯ W_1 x, torch.nn.Linear's .weight)" if W.shape == want[::-1] else ""
            raise InvalidArgument(f"layer {l + 1} of {L} must have shape {want} for D = {D}, H = {H}; got {W.shape}{hint}")
    return mats


def initial_eigen_weights(D, H, V, init, init_scale, seed, modes, u0, a0, b0, weights=None):
    """Eigenbasis weights P = W1 V and Q = W2ᵀ V (both H x D) and per-mode aligned values (or None).

    Random: W1, W2 with i.i.d. N(0, init_scale²) entries drawn from ``seed`` (W1 first). Aligned:
    hidden unit j carries mode number ``modes[j]`` (1-based) with (a0, b0), or a0 = b0 = sqrt(u0).
    Given: ``weights`` = [W1, W2].
    """
    if (weights is not None) != (init == "given"):
        raise InvalidArgumentType("weights go with init='given', and init='given' needs weights")
    if init == "given":
        W1, W2 = given_weights(weights, D, H, depth=2)
        return W1 @ V, W2.T @ V, None, None
    if init == "random":
        rng = np.random.default_rng(seed)
        W1 = init_scale * rng.standard_normal((H, D))
        W2 = init_scale * rng.standard_normal((D, H))
        return W1 @ V, W2.T @ V, None, None
    if init != "aligned":
        raise InvalidArgument(f"init must be 'random', 'aligned' or 'given', got {init!r}")
    modes = mode_indices(modes, D, H)
    if u0 is not None:
        if a0 is not None or b0 is not None:
            raise InvalidArgumentType("give u0 or (a0, b0) for an aligned initialisation, not both")
        a = b = np.sqrt(np.broadcast_to(as_array("u0", u0, lo=0.0, lo_open=True), modes.shape))
    else:
        if a0 is None or b0 is None:
            raise InvalidArgumentType("an aligned initialisation needs u0, or a0 and b0, per mode")
        a = np.broadcast_to(as_array("a0", a0), modes.shape)
        b = np.broadcast_to(as_array("b0", b0), modes.shape)
    P, Q = np.zeros((H, D)), np.zeros((H, D))
    P[np.arange(len(modes)), modes] = a
    Q[np.arange(len(modes)), modes] = b
    full_a, full_b = np.zeros(D), np.zeros(D)
    full_a[modes], full_b[modes] = a, b
    return P, Q, full_a, full_b


class Recorder:
    """The recorded series of one run: strengths, loss and leakage every ``record_every`` epochs, and
    the singular values of W every ``sv_every`` epochs; :meth:`result` packs them into a TrainResult."""

    def __init__(self, epochs, record_every, sv_every, D, H, base, meter=None):
        self.epochs, self.sv_epochs = schedule(epochs, record_every), schedule(epochs, sv_every)
        self.meter = meter        # an ErrorMeter (X_test given) or None
        self.errors = np.empty((len(self.epochs), 4)) if meter is not None else None
        self.S = np.empty((len(self.epochs), D))
        self.leak, self.loss = np.empty(len(self.epochs)), np.empty(len(self.epochs))
        self.SV = np.empty((len(self.sv_epochs), H))
        self.row = self.sv_row = 0
        self.base = base          # the TrainResult fields fixed at the start
        self.start = time.perf_counter()

    def due(self, k):
        """(record the series at epoch k?, record the singular values at epoch k?)"""
        return (self.row < len(self.epochs) and self.epochs[self.row] == k,
                self.sv_row < len(self.sv_epochs) and self.sv_epochs[self.sv_row] == k)

    def add(self, s, loss, leakage, P=None, Q=None):
        """Record one epoch; the errors (X_test given) from the eigenbasis weights P, Q, or from s alone
        when P is None (a diagonal W̃)."""
        self.S[self.row], self.loss[self.row], self.leak[self.row] = s, loss, leakage
        if self.meter is not None:
            self.errors[self.row] = self.meter.measure(P, Q, s)
        self.row += 1

    def add_singular_values(self, sv):
        self.SV[self.sv_row] = sv
        self.sv_row += 1

    def last_loss(self):
        return float(self.loss[self.row - 1]) if self.row else float("nan")

    def result(self, W1=None, W2=None) -> TrainResult:
        """Everything recorded so far (also used for the partial result of a diverged run)."""
        r, q = self.row, self.sv_row
        curves = ({name: self.errors[:r, j].copy() for j, name in enumerate(CURVES)} | {"test_moment": self.meter.test_moment}
                  if self.meter is not None else {})
        return TrainResult(epochs=self.epochs[:r], strengths=self.S[:r], leakage=self.leak[:r], loss=self.loss[:r],
                           sv_epochs=self.sv_epochs[:q], singular_values=self.SV[:q],
                           seconds=time.perf_counter() - self.start, W1=W1, W2=W2, **self.base, **curves)


@dataclass(frozen=True)
class Report:
    """Where a run's progress lines go (``progress``, a callable or None) and the run's name in them."""
    progress: object = None
    name: str = "model"

    def epoch(self, k, epochs, rec):
        """One line every tenth of the run: epoch, loss and speed."""
        if self.progress is not None and epochs and (k % max(1, epochs // 10) == 0) and k:
            el = time.perf_counter() - rec.start
            self.progress(f"  {self.name}: epoch {k}/{epochs}  loss {rec.last_loss():.6g}  ({k / el:.0f} epochs/s)")


def _run_eigenbasis(step: EigenbasisStep | DiagonalStep, rec: Recorder, spec: Spectrum, schedule: Schedule, report: Report):
    """Marginalised GD in the eigenbasis: O(H²D) per epoch (products reused for every record), O(H) from a
    diagonal start."""
    epochs, lam = schedule.epochs, spec.eigenvalues
    for k in range(epochs + 1):
        if step.diverged():
            _diverged(k, lam, step.strengths(), Objective(step.noise_var, step.weight_decay), step.lr, rec.result())
        series, sv = rec.due(k)
        if series:
            rec.add(*step.record(), *step.factors())
        if sv:
            rec.add_singular_values(step.singular_values(fresh=series))
        if k == epochs:
            break
        step.step()
        report.epoch(k + 1, epochs, rec)
    return rec.result(*step.weights(spec.eigenvectors))


def _run_sampled(X, W1, W2, rec: Recorder, spec: Spectrum, objective: Objective, schedule: Schedule, rng,
                 report: Report):
    """Sampled-noise GD on the raw data, O(N D H) per epoch; fresh noise into a preallocated buffer."""
    N, noise_var = X.shape[0], objective.noise_var
    noise = (NoiseBuffer(objective.batch_size or N, X.shape[1], np.sqrt(noise_var), rng.integers(2 ** 63))
             if noise_var > 0 else None)
    try:
        return _sampled_loop(X, W1, W2, rec, spec, objective, schedule, rng, noise, report)
    finally:
        if noise is not None:
            noise.close()


def _sampled_loop(X, W1, W2, rec, spec, objective, schedule, rng, noise, report):
    N, V, lam, lr, epochs = X.shape[0], spec.eigenvectors, spec.eigenvalues, schedule.lr, schedule.epochs
    noise_var, weight_decay, batch_size = objective.noise_var, objective.weight_decay, objective.batch_size
    for k in range(epochs + 1):
        series, sv = rec.due(k)
        if series or sv:   # the eigenbasis view, O(D^2 H): only when something is recorded
            P, Q = W1 @ V, W2.T @ V
        if series:         # monitor the marginalised objective on the clean data
            s = np.einsum("hd,hd->d", P, Q)
            loss = sample_loss_and_gradient(W1, W2, X, X, noise_var, weight_decay)[0]
            rec.add(s, loss, _leakage(W1, W2, s), P, Q)
        if sv:
            rec.add_singular_values(low_rank_singular_values(P, Q))
        if k == epochs:
            break
        order = rng.permutation(N) if batch_size else None
        for lo in range(0, N, batch_size or N):
            xb = X[order[lo:lo + batch_size]] if batch_size else X
            noisy = noise.add_to(xb) if noise is not None else xb
            _, g1, g2 = sample_loss_and_gradient(W1, W2, noisy, xb, 0.0, weight_decay)
            W1 -= lr * g1
            W2 -= lr * g2
        if diverged(np.sum(W1 * W1), np.sum(W2 * W2)):
            _diverged(k + 1, lam, np.einsum("hd,hd->d", W1 @ V, W2.T @ V), objective, lr, rec.result())
        report.epoch(k + 1, epochs, rec)
    return rec.result(W1, W2)


def _leakage(W1, W2, s):
    """‖offdiag(VᵀWV)‖_F / ‖VᵀWV‖_F from ‖W‖_F² = ⟨W1W1ᵀ, W2ᵀW2⟩ and the diagonal s."""
    w2 = float(np.sum((W1 @ W1.T) * (W2.T @ W2)))
    return np.sqrt(max(w2 - float(s @ s), 0.0) / w2) if w2 > 0 else 0.0


def train_linear_ae(X, hidden, lr, epochs, *, noise_var=0.0, weight_decay=0.0, init="random", init_scale=1e-4,
                    seed=0, center=False, record_every=1, sv_every=None, modes=None, u0=None, a0=None, b0=None,
                    sampled_noise=False, batch_size=None, spectrum: Spectrum | None = None, progress=None,
                    name="model", depth=2, layers=None, weights=None, X_test=None):
    r"""Train x̂ = W2 W1 x̃ by full-batch GD and record every mode's strength.

    Minimises the marginalised loss (R1)
    :math:`\tfrac12\operatorname{tr}[(I-W)\Sigma(I-W)^\top] + \tfrac{\sigma^2}{2}\|W\|_F^2 + \tfrac{\gamma}{2}(\|W_1\|_F^2 + \|W_2\|_F^2)`
    in the eigenbasis (:mod:`lindae.validation.training.eigenbasis`), O(H²D) per epoch.

    Parameters
    ----------
    X : (N, D) array or None
        Data (rows are samples). Centred first when ``center`` is true, and then the model is
        trained on the centred data too. None trains from ``spectrum`` alone (marginalised noise).
    hidden : int
        H, at most D.
    lr : float
        Learning rate lr > 0 (t = lr * epoch).
    epochs : int
        Number of full-batch GD steps, >= 0.
    noise_var, weight_decay : float
        σ² (DAE) and γ (WDAE), >= 0.
    init : {"random", "aligned", "given"}
        Random: W1, W2 with i.i.d. N(0, init_scale²) entries from ``seed``. Aligned: mode
        ``modes[j]`` gets hidden unit j with (a0, b0) or a0 = b0 = sqrt(u0). Given: ``weights``.
    weights : list of arrays, optional
        With ``init="given"``: the initial [W1 (H x D), W2 (D x H)] in the data basis (at depth L, every
        layer, first layer first), e.g. a model's initial weights from another framework.
    X_test : (N_test, D) array, optional
        Held-out data: the result then records ``test_error``, ``test_denoising_error``, ``train_error`` and
        ``train_denoising_error`` at every recorded epoch (G1; depth 2).
    record_every, sv_every : int
        Stride of the recorded strengths/leakage/loss and of the singular values
        (default 10 * record_every).
    sampled_noise : bool
        Draw fresh noise N(0, noise_var I) every epoch on the raw data instead of using the
        marginalised penalty (O(N D H) per epoch); ``batch_size`` makes it minibatched.
    spectrum : Spectrum, optional
        A precomputed decomposition of X's second moment (must match ``center``).
    progress : callable, optional
        Called with one-line progress messages.
    depth, layers : int, array (depth, len(modes))
        With depth L >= 3 the network has L weight layers of width H and the run is
        :func:`lindae.validation.training.deep.train_deep_linear_ae` (an aligned start then takes per-layer values
        ``layers``, or every layer at u0^(1/L)); it returns a ``DeepResult``. Arguments that a deep run
        does not take (``a0``, ``b0``, ``sv_every``, ``batch_size``, ``center``) are a TypeError there, and
        ``layers`` is one at depth 2.

    Returns
    -------
    ModeCurves
        A :class:`TrainResult` at depth 2, a ``DeepResult`` (also a :class:`ModeCurves`) at depth >= 3.

    Raises
    ------
    DivergenceError
        When a weight norm leaves the overflow guard (lr above R12's bound): names the mode, the
        bound, and keeps the records so far in ``.partial``.
    """
    return train(X, Architecture(hidden, depth),
                 Start(init, init_scale, seed, modes, u0, a0, b0, layers, weights),
                 Objective(noise_var, weight_decay, sampled_noise, batch_size),
                 Schedule(lr, epochs, record_every, sv_every),
                 spectrum=spectrum, center=center, report=Report(progress, name), X_test=X_test)


def train(X, architecture: Architecture, start: Start, objective: Objective, schedule: Schedule, *,
          spectrum: Spectrum | None = None, center=False, report: Report | None = None, X_test=None) -> ModeCurves:
    """Train a linear autoencoder composed of an :class:`Architecture`, a :class:`Start`, an :class:`Objective`
    and a :class:`Schedule` (see ``train_linear_ae`` for every field's meaning); ``report`` says where progress
    lines go. Returns a :class:`TrainResult` (depth 2) or a ``DeepResult`` (depth >= 3), both :class:`ModeCurves`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((200, 6)) * np.linspace(2, .2, 6)
    >>> r = train(X, Architecture(3), Start(seed=1), Objective(noise_var=0.2), Schedule(lr=0.05, epochs=50))
    >>> r.strengths.shape
    (51, 6)
    """
    report = report or Report()
    progress, name = report.progress, report.name
    hidden, depth = architecture.hidden, architecture.depth
    init, init_scale, seed, modes, u0, a0, b0, layers = (start.init, start.init_scale, start.seed, start.modes,
                                                         start.u0, start.a0, start.b0, start.layers)
    weights = start.weights
    noise_var, weight_decay, sampled_noise, batch_size = (objective.noise_var, objective.weight_decay,
                                                          objective.sampled_noise, objective.batch_size)
    lr, epochs, record_every, sv_every = schedule.lr, schedule.epochs, schedule.record_every, schedule.sv_every
    from lindae.dynamics.depth import check_depth
    if check_depth(depth) > 2:
        given = [n for n, v in (("a0", a0), ("b0", b0), ("sv_every", sv_every), ("batch_size", batch_size),
                                ("X_test", X_test)) if v is not None]
        if given or center:
            raise InvalidArgumentType(f"depth >= 3 does not take {', '.join(given + (['center'] if center else []))}: "
                                      f"it trains full-batch on uncentred data, from u0 or per-layer layers")
        from lindae.validation.training.deep import train_deep_linear_ae
        if init == "aligned" and layers is None:
            if u0 is None:
                raise InvalidArgumentType("an aligned deep start needs u0 (every layer at u0^(1/L)) or layers")
            count = hidden if modes is None else len(modes)
            layers = np.full((depth, count), float(u0) ** (1.0 / depth))
        return train_deep_linear_ae(X, hidden, lr, epochs, depth=depth, noise_var=noise_var, weight_decay=weight_decay,
                                    init=init, init_scale=init_scale, seed=seed, layers=layers, modes=modes,
                                    record_every=record_every, spectrum=spectrum, progress=progress, name=name,
                                    sampled_noise=sampled_noise, weights=weights)
    if layers is not None:
        raise InvalidArgumentType("layers (per-layer starts) needs depth >= 3; at depth 2 give a0 and b0")
    if X is None:     # training from a spectrum alone (lindae spectrum)
        if spectrum is None or sampled_noise or center:
            raise InvalidArgument("X = None needs spectrum= and works only for marginalised (not sampled) noise "
                             "without centring (a centred spectrum already describes centred data)")
        X = np.zeros((1, len(spectrum.eigenvalues)))     # shape only; the eigenbasis step never reads X
        N_given = spectrum.n_samples
    else:
        N_given = None
    X, N, D, H, lr, epochs = check_problem(X, hidden, lr, epochs)
    N = N_given or N
    noise_var = float(as_array("noise_var", noise_var, lo=0.0))
    weight_decay = float(as_array("weight_decay", weight_decay, lo=0.0))
    init_scale = float(as_array("init_scale", init_scale, lo=0.0, lo_open=True))
    record_every = as_int("record_every", record_every, lo=1)
    sv_every = as_int("sv_every", sv_every if sv_every is not None else 10 * record_every, lo=1)
    if batch_size is not None:
        batch_size = as_int("batch_size", batch_size, lo=1)
        if not sampled_noise:
            raise InvalidArgument("batch_size applies to sampled_noise training only")
    train_mean = X.mean(axis=0) if center else None
    if center:
        X = X - train_mean
    spec = spectrum if spectrum is not None else compute_spectrum(X, center=False)
    if spec.eigenvectors.shape != (D, D):
        raise InvalidArgument(f"spectrum is for D = {spec.eigenvectors.shape[0]}, data has D = {D}")
    lam, V = spec.eigenvalues, spec.eigenvectors
    P, Q, ia, ib = initial_eigen_weights(D, H, V, init, init_scale, seed, modes, u0, a0, b0, weights)
    config = dict(name=name, hidden=H, lr=lr, epochs=epochs, noise_var=noise_var, weight_decay=weight_decay, init=init,
                  init_scale=init_scale, seed=seed, center=bool(center), record_every=record_every,
                  sv_every=sv_every, sampled_noise=bool(sampled_noise), batch_size=batch_size, N=N, D=D)
    base = dict(eigenvalues=lam, config=config, eigenvectors=V, **start_summary(P, Q, ia, ib))
    meter = (ErrorMeter.from_data(X_test, V, lam, noise_var, train_mean)
             if X_test is not None else None)
    rec = Recorder(epochs, record_every, sv_every, D, H, base, meter)
    objective = Objective(noise_var, weight_decay, sampled_noise, batch_size)
    schedule = Schedule(lr, epochs, record_every, sv_every)
    if sampled_noise:
        rng = np.random.default_rng(None if seed is None else seed + 1)
        return _run_sampled(X, P @ V.T, V @ Q.T, rec, spec, objective, schedule, rng, report)
    cols = diagonal_support(P, Q)
    step = (EigenbasisStep(P, Q, lam, noise_var, weight_decay, lr) if cols is None else
            DiagonalStep(P, Q, cols, lam, noise_var, weight_decay, lr))     # a diagonal start stays diagonal: O(H)
    return _run_eigenbasis(step, rec, spec, schedule, report)


def _diverged(k, lam, s, objective, lr, partial):
    with np.errstate(invalid="ignore"):
        bad = np.where(np.isfinite(s), np.abs(s), np.inf)
    mode = int(np.argmax(bad))
    bound = float(stability_bound(lam[mode], noise_var=objective.noise_var, weight_decay=objective.weight_decay))
    raise DivergenceError(
        f"training diverged at epoch {k}: mode {mode + 1} (lambda = {lam[mode]:.4g}) blew up; lr = {lr:g} exceeds "
        f"its stability bound {bound:.4g} (R12: lr < 1/max(lambda - weight_decay, weight_decay) at the balanced minimum)",
        step=k, mode=mode + 1, bound=bound, partial=partial)


def train_linear_ae_naive(X, W1, W2, lr, epochs, *, noise_var=0.0, weight_decay=0.0, record=None):
    """The original algorithm: full-batch GD on the N x D data with the marginalised penalty, O(N D H) per epoch.

    Returns the final (W1, W2) and, if ``record`` is a (D, D) eigenvector matrix V, the strengths
    v_iᵀ W v_i at every epoch (epochs + 1, D).
    """
    X = check_data(X, "X")
    W1, W2 = np.array(W1, dtype=float), np.array(W2, dtype=float)
    hist = []
    for k in range(epochs + 1):
        if record is not None:
            hist.append(np.einsum("ih,hi->i", record.T @ W2, W1 @ record))
        if k == epochs:
            break
        _, g1, g2 = sample_loss_and_gradient(W1, W2, X, X, noise_var, weight_decay)
        W1 -= lr * g1
        W2 -= lr * g2
    return W1, W2, (np.array(hist) if record is not None else None)
