"""Training linear autoencoders by full-batch gradient descent, measured per eigenmode.

Three algorithms, one result type:

* :func:`train_linear_ae` (default): the marginalised loss (R1) in the eigenbasis of Σ. With
  Ã = W1 V and B̃ = Vᵀ W2, Σ is diagonal and one exact GD step costs O(H²D), independent of N.
* ``sampled_noise=True``: fresh Gaussian input noise every epoch (optionally minibatched) on
  the raw data, O(N·D·H) per epoch, to test the marginalised approximation.
* :func:`train_linear_ae_naive`: the original algorithm, full-batch GD on the N x D data with the
  marginalised penalty, O(N·D·H) per epoch (the reference for ``bench/train_speed.py``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from dynamics import DivergenceError, stability_bound
from dynamics._checks import as_array, as_int

from .data import check_data
from .spectrum import Spectrum, compute_spectrum


@dataclass
class TrainResult:
    """Recorded learning curves of one linear autoencoder.

    Attributes
    ----------
    eigenvalues : ndarray (D,)
        Eigenvalues of Σ, descending.
    epochs : ndarray (K,)
        Recorded epochs (GD steps); time t = lr * epoch.
    strengths : ndarray (K, D)
        s_i = v_iᵀ W v_i per recorded epoch, columns in eigenvalue order.
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
    loss : ndarray (K,)
        The training loss (marginalised, or the sampled-noise batch loss).
    sv_epochs, singular_values : ndarray (S,), ndarray (S, H)
        Sorted singular values of W (the paper's measurement), at a coarser stride.
    init_a0, init_b0 : ndarray (D,) or None
        Per-mode initial weights of an aligned run.
    config : dict
        The training settings.
    seconds : float
        Wall time of the training loop.
    W1, W2 : ndarray
        Final weights in the data basis.
    """

    eigenvalues: np.ndarray
    epochs: np.ndarray
    strengths: np.ndarray
    effective_u0: np.ndarray
    orthogonal_u0: np.ndarray
    shared_u0: float
    leakage: np.ndarray
    loss: np.ndarray
    sv_epochs: np.ndarray
    singular_values: np.ndarray
    config: dict = field(default_factory=dict)
    seconds: float = 0.0
    init_a0: np.ndarray | None = None
    init_b0: np.ndarray | None = None
    W1: np.ndarray | None = None
    W2: np.ndarray | None = None


def check_problem(X, hidden, lr, epochs):
    """Validated (X, N, D, H, lr, epochs) of a training problem: finite 2-D data, 1 <= H <= D, lr > 0, epochs >= 0."""
    X = check_data(X, "X")
    N, D = X.shape
    H = as_int("hidden", hidden, lo=1)
    if H > D:
        raise ValueError(f"hidden must be <= D = {D} (the data dimension), got {H}")
    return X, N, D, H, float(as_array("lr", lr, lo=0.0, lo_open=True)), as_int("epochs", epochs, lo=0)


def schedule(epochs, every):
    """Recorded epochs 0, every, 2 every, ..., always including the last one."""
    k = np.arange(0, epochs + 1, every)
    return k if k[-1] == epochs else np.append(k, epochs)


def low_rank_singular_values(B, A):
    """Singular values of B @ A (D x H times H x D) in O(D H²), via QR of B and Aᵀ."""
    _, RB = np.linalg.qr(B)
    _, RA = np.linalg.qr(A.T)
    return np.linalg.svd(RB @ RA.T, compute_uv=False)


def orthogonal_initial_strength(A, B):
    """Learning-order-orthogonalised R14 strengths |R_ii|²/4 of QR([p_i + q_i]) (see TrainResult)."""
    H, D = A.shape
    R = np.linalg.qr(A + B.T, mode="r")
    out = np.zeros(D)
    k = min(H, D)
    out[:k] = np.abs(np.diag(R[:k, :k])) ** 2 / 4.0
    return out


def _initial_weights(D, H, V, init, init_scale, seed, modes, u0, a0, b0):
    """Eigenbasis weights (Ã, B̃) and per-mode aligned initial values (or None)."""
    if init == "random":
        rng = np.random.default_rng(seed)
        W1 = init_scale * rng.standard_normal((H, D))
        W2 = init_scale * rng.standard_normal((D, H))
        return W1 @ V, V.T @ W2, None, None
    if init != "aligned":
        raise ValueError(f"init must be 'random' or 'aligned', got {init!r}")
    modes = np.arange(H) if modes is None else np.asarray(modes, dtype=int)
    if modes.ndim != 1 or len(modes) > H or len(set(modes.tolist())) != len(modes) or np.any(modes < 0) or np.any(modes >= D):
        raise ValueError(f"modes must be at most hidden={H} distinct indices in [0, {D}), got {modes.tolist()}")
    if u0 is not None:
        if a0 is not None or b0 is not None:
            raise TypeError("give u0 or (a0, b0) for an aligned initialisation, not both")
        a = b = np.sqrt(np.broadcast_to(as_array("u0", u0, lo=0.0, lo_open=True), modes.shape))
    else:
        if a0 is None or b0 is None:
            raise TypeError("an aligned initialisation needs u0, or a0 and b0, per mode")
        a = np.broadcast_to(as_array("a0", a0), modes.shape)
        b = np.broadcast_to(as_array("b0", b0), modes.shape)
    A, B = np.zeros((H, D)), np.zeros((D, H))
    A[np.arange(len(modes)), modes] = a
    B[modes, np.arange(len(modes))] = b
    full_a, full_b = np.zeros(D), np.zeros(D)
    full_a[modes], full_b[modes] = a, b
    return A, B, full_a, full_b


def train_linear_ae(X, hidden, lr, epochs, *, noise_var=0.0, weight_decay=0.0, init="random", init_scale=1e-4,
                    seed=0, center=False, record_every=1, sv_every=None, modes=None, u0=None, a0=None, b0=None,
                    sampled_noise=False, batch_size=None, spectrum: Spectrum | None = None, progress=None,
                    name="model"):
    r"""Train x̂ = W2 W1 x̃ by full-batch GD and record every mode's strength.

    Minimises the marginalised loss (R1)
    :math:`\tfrac12\operatorname{tr}[(I-W)\Sigma(I-W)^\top] + \tfrac{\sigma^2}{2}\|W\|_F^2 + \tfrac{\gamma}{2}(\|W_1\|_F^2 + \|W_2\|_F^2)`
    in the eigenbasis, where with :math:`\xi_i = \lambda_i + \sigma^2` the gradients are
    :math:`\partial_{\tilde A} = (\tilde B^\top\tilde B)\tilde A\,\mathrm{diag}(\xi) - \tilde B^\top\Lambda + \gamma\tilde A` and
    :math:`\partial_{\tilde B} = \tilde B(\tilde A\,\mathrm{diag}(\xi)\tilde A^\top) - \Lambda\tilde A^\top + \gamma\tilde B`: O(H²D) per epoch.

    Parameters
    ----------
    X : (N, D) array
        Data (rows are samples). Centred first when ``center`` is true, and then the model is
        trained on the centred data too.
    hidden : int
        H, at most D.
    lr : float
        Learning rate eta > 0 (t = lr * epoch).
    epochs : int
        Number of full-batch GD steps, >= 0.
    noise_var, weight_decay : float
        σ² (DAE) and γ (WDAE), >= 0.
    init : {"random", "aligned"}
        Random: W1, W2 with i.i.d. N(0, init_scale²) entries from ``seed``. Aligned: mode
        ``modes[j]`` gets hidden unit j with (a0, b0) or a0 = b0 = sqrt(u0).
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

    Returns
    -------
    TrainResult

    Raises
    ------
    DivergenceError
        When the loss overflows (lr above R12's bound): names the mode, the bound, and keeps the
        records so far in ``.partial``.
    """
    X, N, D, H, lr, epochs = check_problem(X, hidden, lr, epochs)
    eps = float(as_array("noise_var", noise_var, lo=0.0))
    gamma = float(as_array("weight_decay", weight_decay, lo=0.0))
    init_scale = float(as_array("init_scale", init_scale, lo=0.0, lo_open=True))
    record_every = as_int("record_every", record_every, lo=1)
    sv_every = as_int("sv_every", sv_every if sv_every is not None else 10 * record_every, lo=1)
    if batch_size is not None:
        batch_size = as_int("batch_size", batch_size, lo=1)
        if not sampled_noise:
            raise ValueError("batch_size applies to sampled_noise training only")
    if center:
        X = X - X.mean(axis=0)
    spec = spectrum if spectrum is not None else compute_spectrum(X, center=False)
    if spec.eigenvectors.shape != (D, D):
        raise ValueError(f"spectrum is for D = {spec.eigenvectors.shape[0]}, data has D = {D}")
    lam, V = spec.eigenvalues, spec.eigenvectors
    A, B, ia, ib = _initial_weights(D, H, V, init, init_scale, seed, modes, u0, a0, b0)
    eff_u0 = ia * ib if ia is not None else np.sum((A + B.T) ** 2, axis=0) / 4.0
    orth_u0 = eff_u0 if ia is not None else orthogonal_initial_strength(A, B)
    shared_u0 = float(np.mean(low_rank_singular_values(B, A)))
    config = dict(name=name, hidden=H, lr=lr, epochs=epochs, noise_var=eps, weight_decay=gamma, init=init,
                  init_scale=init_scale, seed=seed, center=bool(center), record_every=record_every,
                  sv_every=sv_every, sampled_noise=bool(sampled_noise), batch_size=batch_size, N=N, D=D)
    rec = schedule(epochs, record_every)
    sv_rec = schedule(epochs, sv_every)
    S = np.empty((len(rec), D))
    leak, losses = np.empty(len(rec)), np.empty(len(rec))
    SV = np.empty((len(sv_rec), min(H, D)))
    half_lam_sum = 0.5 * float(np.sum(lam))
    xi = lam + eps
    rng = np.random.default_rng(None if seed is None else seed + 1)
    if sampled_noise:  # sampled noise works on the raw data, in the data basis
        W1, W2 = A @ V.T, V @ B
    row = sv_row = 0
    start = time.perf_counter()
    report_every = max(1, epochs // 10)

    def partial():
        return TrainResult(lam, rec[:row], S[:row], eff_u0, orth_u0, shared_u0, leak[:row], losses[:row], sv_rec[:sv_row],
                           SV[:sv_row], config, time.perf_counter() - start, ia, ib)

    for k in range(epochs + 1):
        recording = row < len(rec) and rec[row] == k
        sv_now = sv_row < len(sv_rec) and sv_rec[sv_row] == k
        if sampled_noise and (recording or sv_now):
            A, B = W1 @ V, V.T @ W2  # the eigenbasis view, O(D^2 H): only when something is recorded
        if not sampled_noise or recording:
            s = np.einsum("ih,hi->i", B, A)
        if not sampled_noise:
            BtB = B.T @ B
            AxAt = (A * xi) @ A.T
            loss = half_lam_sum - float(lam @ s) + 0.5 * float(np.sum(BtB * AxAt)) \
                + 0.5 * gamma * (float(np.sum(A * A)) + float(np.sum(B * B)))
            if not np.isfinite(loss) or loss > 1e200:
                _diverged(k, lam, s, lr, eps, gamma, partial())
        if recording:
            if sampled_noise:  # monitor the marginalised objective on the clean data
                loss = data_loss_and_gradient(W1, W2, X, X, eps, gamma)[0]
            w2 = float(np.sum((B.T @ B) * (A @ A.T)))
            diag2 = float(s @ s)
            S[row], losses[row] = s, loss
            leak[row] = np.sqrt(max(w2 - diag2, 0.0) / w2) if w2 > 0 else 0.0
            row += 1
        if sv_now:
            SV[sv_row] = low_rank_singular_values(B, A)
            sv_row += 1
        if k == epochs:
            break
        if sampled_noise:
            order = rng.permutation(N) if batch_size else None
            for lo in range(0, N, batch_size or N):
                idx = order[lo:lo + batch_size] if batch_size else slice(None)
                xb = X[idx]
                noisy = xb + np.sqrt(eps) * rng.standard_normal(xb.shape) if eps > 0 else xb
                _, g1, g2 = data_loss_and_gradient(W1, W2, noisy, xb, 0.0, gamma)
                W1, W2 = W1 - lr * g1, W2 - lr * g2
            if not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))) or np.max(np.abs(W2)) > 1e100:
                _diverged(k + 1, lam, np.einsum("ih,hi->i", V.T @ W2, W1 @ V), lr, eps, gamma, partial())
        else:
            gA = (BtB @ A) * xi - (B * lam[:, None]).T + gamma * A
            gB = B @ AxAt - lam[:, None] * A.T + gamma * B
            A -= lr * gA
            B -= lr * gB
        if progress is not None and (k + 1) % report_every == 0:
            el = time.perf_counter() - start
            progress(f"  {name}: epoch {k + 1}/{epochs}  loss {loss:.6g}  ({(k + 1) / el:.0f} epochs/s)")
    result = partial()
    if sampled_noise:
        result.W1, result.W2 = W1, W2
    else:
        result.W1, result.W2 = A @ V.T, V @ B
    return result


def _diverged(k, lam, s, lr, eps, gamma, partial):
    bad = np.where(np.isfinite(s), np.abs(s), np.inf)
    mode = int(np.argmax(bad))
    bound = float(stability_bound(lam[mode], eps=eps, gamma=gamma))
    raise DivergenceError(
        f"training diverged at epoch {k}: mode {mode + 1} (lambda = {lam[mode]:.4g}) blew up; lr = {lr:g} exceeds "
        f"its stability bound {bound:.4g} (R12: eta < 1/max(lambda - gamma, gamma) at the balanced minimum)",
        step=k, mode=mode, bound=bound, partial=partial)


def data_loss_and_gradient(W1, W2, X_in, X_target, eps=0.0, gamma=0.0):
    r"""Mean loss :math:`\frac{1}{2n}\|X_\mathrm{target} - X_\mathrm{in}W^\top\|_F^2 + \frac{\varepsilon}{2}\|W\|_F^2 + \frac{\gamma}{2}(\|W_1\|^2 + \|W_2\|^2)` and its gradient, O(n D H)."""
    n = X_in.shape[0]
    Z = X_in @ W1.T                  # n x H
    E = Z @ W2.T - X_target          # n x D
    loss = 0.5 * float(np.sum(E * E)) / n
    g2 = (E.T @ Z) / n + gamma * W2
    g1 = ((E @ W2).T @ X_in) / n + gamma * W1
    if eps:
        W = W2 @ W1
        loss += 0.5 * eps * float(np.sum(W * W))
        g2 += eps * W @ W1.T
        g1 += eps * W2.T @ W
    return loss + 0.5 * gamma * (float(np.sum(W1 * W1)) + float(np.sum(W2 * W2))), g1, g2


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
        _, g1, g2 = data_loss_and_gradient(W1, W2, X, X, noise_var, weight_decay)
        W1, W2 = W1 - lr * g1, W2 - lr * g2
    return W1, W2, (np.array(hist) if record is not None else None)
