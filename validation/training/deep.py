r"""Deep linear autoencoders, x̂ = W_L ⋯ W_1 x̃ (width H throughout), trained in the eigenbasis of Σ.

With :math:`P = W_1V` (H x D), :math:`Q = W_L^\top V` (H x D) and the middle layers
:math:`M_2, \dots, M_{L-1}` (H x H), the end-to-end map in the eigenbasis is
:math:`\tilde W = Q^\top BP`, :math:`B = M_{L-1}\cdots M_2` (B = I for L = 2). R1's loss is

.. math:: L = \tfrac12\textstyle\sum_i\lambda_i - \operatorname{tr}(\Lambda\tilde W) + \tfrac12\langle QQ^\top, R\,\Xi R^\top\rangle
          + \tfrac\gamma2\textstyle\sum_l\|W_l\|_F^2,\qquad R = BP,

and its gradients need only H x H Gram matrices (O(H²D + L·H³) per epoch, independent of N):

.. math:: \partial_P = B^\top(MR\,\Xi - Q\Lambda) + \gamma P,\quad \partial_Q = (R\,\Xi R^\top)Q - R\Lambda + \gamma Q,\quad
          \partial_B = M B\,(P\Xi P^\top) - Q\Lambda P^\top,\quad M = QQ^\top,

with :math:`\partial_{M_l} = (M_{L-1}\cdots M_{l+1})^\top\,\partial_B\,(M_{l-1}\cdots M_2)^\top + \gamma M_l`.
An epoch forms them from six H x H x D products' worth of work: :math:`R = BP`, the Gram matrices
:math:`M = QQ^\top` and :math:`P\Xi P^\top` (symmetric rank-k updates, half a product each), then
:math:`R\,\Xi R^\top = B(P\Xi P^\top)B^\top` at O(H³), :math:`Y = MR\,\Xi - Q\Lambda`, and
:math:`\partial_P = B^\top Y + \gamma P`, :math:`\partial_Q`, :math:`\partial_B = YP^\top`.
With an aligned start the modes decouple exactly and each follows the per-mode map of
:func:`dynamics.depth.deep_gd_modes` (D2); such a diagonal start is trained at O(L·H) per epoch
(:mod:`.diagonal`), with the same steps.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lindae.dynamics._checks import as_array, as_int
from lindae.dynamics.errors import DivergenceError, diverged

from lindae.validation.data.spectrum import Spectrum, compute_spectrum
from lindae.dynamics.errors import InvalidArgument, InvalidArgumentType
from lindae.validation.training.diagonal import deep_diagonal_step, diagonal_support
from lindae.validation.training.linear import ModeCurves, Report, given_weights, mode_indices
from lindae.validation.training.parts import Objective, Schedule


@dataclass(kw_only=True)
class DeepResult(ModeCurves):
    """Recorded curves of a deep linear autoencoder; the fields of :class:`ModeCurves` and:

    Attributes
    ----------
    init_layers : ndarray (L, D) or None
        Per-mode, per-layer initial values of an aligned run (row l is layer l + 1).
    init_weights : tuple (P, middle, Q) or None
        The initial weights of a random run in the eigenbasis: P = W_1V and Q = W_LᵀV (H x D) and the
        middle layers (L - 2, H, H), from which D9 predicts every mode.
    """

    init_layers: np.ndarray | None = None
    init_weights: tuple | None = None


def _chain(mats, H):
    """Product M_{L-1} ⋯ M_2 of the middle layers (identity when there are none)."""
    B = np.eye(H)
    for M in mats:
        B = M @ B
    return B


def train_deep_linear_ae(X, hidden, lr, epochs, *, depth, noise_var=0.0, weight_decay=0.0, init="random",
                         init_scale=1e-4, seed=0, layers=None, modes=None, record_every=1,
                         spectrum: Spectrum | None = None, progress=None, name="deep", sampled_noise=False,
                         weights=None):
    """Full-batch GD on R1's marginalised loss for a depth-L linear autoencoder, in the eigenbasis.

    Parameters
    ----------
    X : (N, D) array or None
        Data (None with ``spectrum``).
    hidden, lr, epochs : int, float, int
        Width H (at most D), learning rate and number of GD steps.
    depth : int
        Number of weight layers L >= 2.
    noise_var, weight_decay : float
        ε and γ.
    init : {"random", "aligned", "given"}
        Random: every layer has i.i.d. N(0, init_scale²) entries (seed). Aligned: mode number ``modes[j]`` (1-based)
        gets hidden unit j in every layer, with per-layer values ``layers`` (L x len(modes)). Given: ``weights``,
        every layer's matrix in the data basis, first layer first (W1 H x D, middle H x H, W_L D x H).
    record_every : int
        Stride of the recorded strengths and loss.
    sampled_noise : bool
        Draw fresh noise N(0, noise_var I) every epoch and do full-batch GD on the raw data X
        (O(N·D·H + L·N·H²) per epoch) instead of the marginalised loss in the eigenbasis; the
        recorded loss is then the batch loss.
    """
    from lindae.dynamics.depth import check_depth
    L = check_depth(depth)
    spec = spectrum if spectrum is not None else compute_spectrum(np.asarray(X, dtype=np.float64))
    lam, V = spec.eigenvalues, spec.eigenvectors
    D = len(lam)
    H = as_int("hidden", hidden, lo=1)
    if H > D:
        raise InvalidArgument(f"hidden must be <= D = {D}, got {H}")
    lr = float(as_array("lr", lr, lo=0.0, lo_open=True))
    epochs = as_int("epochs", epochs, lo=0)
    noise_var = float(as_array("noise_var", noise_var, lo=0.0))
    weight_decay = float(as_array("weight_decay", weight_decay, lo=0.0))
    record_every = as_int("record_every", record_every, lo=1)
    xi = lam + noise_var
    sqrt_xi = np.sqrt(xi)
    init_layers = init_weights = None
    if (weights is not None) != (init == "given"):
        raise InvalidArgumentType("weights go with init='given', and init='given' needs weights")
    if init == "given":
        mats = given_weights(weights, D, H, depth=L)
        P, Q, mids = mats[0] @ V, mats[-1].T @ V, [m.copy() for m in mats[1:-1]]
        init_weights = (P.copy(), np.array(mids).reshape(L - 2, H, H), Q.copy())
    elif init == "random":
        rng = np.random.default_rng(seed)
        W1 = init_scale * rng.standard_normal((H, D))
        mids = [init_scale * rng.standard_normal((H, H)) for _ in range(L - 2)]
        WL = init_scale * rng.standard_normal((D, H))
        P, Q = W1 @ V, WL.T @ V
        init_weights = (P.copy(), np.array(mids).reshape(L - 2, H, H), Q.copy())
    elif init == "aligned":
        modes = mode_indices(modes, D, H)
        vals = np.asarray(layers, dtype=np.float64)
        if vals.shape != (L, len(modes)):
            raise InvalidArgument(f"layers must have shape (depth, len(modes)) = ({L}, {len(modes)}), got {vals.shape}")
        P, Q = np.zeros((H, D)), np.zeros((H, D))
        j = np.arange(len(modes))
        P[j, modes], Q[j, modes] = vals[0], vals[-1]
        mids = []
        for layer in range(1, L - 1):
            M = np.zeros((H, H))
            M[j, j] = vals[layer]
            mids.append(M)
        init_layers = np.zeros((L, D))
        init_layers[:, modes] = vals
    else:
        raise InvalidArgument(f"init must be 'random', 'aligned' or 'given', got {init!r}")
    if sampled_noise:
        if X is None:
            raise InvalidArgument("sampled_noise needs the data X")
        config = dict(name=name, hidden=H, lr=lr, epochs=epochs, depth=L, noise_var=noise_var,
                      weight_decay=weight_decay, init=init, init_scale=init_scale, seed=seed,
                      record_every=record_every, D=D, sampled_noise=True)
        return _train_sampled(np.asarray(X, dtype=np.float64), spec, (P, mids, Q),
                              Objective(noise_var, weight_decay, True), Schedule(lr, epochs, record_every), seed,
                              (init_layers, init_weights), config, Report(progress, name))
    config = dict(name=name, hidden=H, lr=lr, epochs=epochs, depth=L, noise_var=noise_var, weight_decay=weight_decay,
                  init=init, init_scale=init_scale, seed=seed, record_every=record_every, D=D)
    rec_epochs = np.arange(0, epochs + 1, record_every)
    if rec_epochs[-1] != epochs:
        rec_epochs = np.append(rec_epochs, epochs)
    S, loss = np.empty((len(rec_epochs), D)), np.empty(len(rec_epochs))
    row, start, half = 0, time.perf_counter(), 0.5 * float(np.sum(lam))
    cols = diagonal_support(P, Q, mids)
    if cols is not None:      # a diagonal start stays diagonal: each hidden unit's layer values, O(L·H) per epoch
        units = np.flatnonzero(cols >= 0)
        c = cols[units]
        p, q, ms = P[units, c].copy(), Q[units, c].copy(), [m[units, units].copy() for m in mids]
        lam_c, xi_c = lam[c], xi[c]

    def result(rows):
        return DeepResult(eigenvalues=lam, epochs=rec_epochs[:rows], strengths=S[:rows], loss=loss[:rows],
                          init_layers=init_layers, init_weights=init_weights, config=config,
                          seconds=time.perf_counter() - start)
    for k in range(epochs + 1):
        if cols is None:
            B = _chain(mids, H)
            R = B @ P
            M = Q @ Q.T                     # NumPy takes A Aᵀ as a symmetric rank-k update
            Pr = P * sqrt_xi
            NP = Pr @ Pr.T                  # P Ξ Pᵀ
            NR = B @ NP @ B.T               # R Ξ Rᵀ at O(H³)
        if row < len(rec_epochs) and rec_epochs[row] == k:
            if cols is None:
                s = np.einsum("hd,hd->d", Q, R)
                decay = float(np.sum(P * P) + np.sum(Q * Q) + sum(np.sum(m * m) for m in mids))
                inner, traces = float(np.sum(M * NR)), (float(np.trace(M)), float(np.trace(NR)))
            else:
                b = np.prod(ms, axis=0) if ms else 1.0
                s = np.zeros(D)
                s[c] = q * b * p
                decay = float(p @ p + q @ q + sum(m @ m for m in ms))
                q2, r2xi = q * q, (b * p) ** 2 * xi_c
                inner, traces = float(q2 @ r2xi), (float(np.sum(q2)), float(np.sum(r2xi)))
            loss[row] = half - float(lam @ s) + 0.5 * inner + 0.5 * weight_decay * decay
            S[row] = s
            row += 1
            if diverged(*traces):
                raise DivergenceError(f"deep training diverged at epoch {k} (lr = {lr:g})", step=k,
                                      partial=result(row - 1))
            if progress is not None and k and k % max(1, epochs // 10) == 0:
                progress(f"  {name}: epoch {k}/{epochs}  loss {loss[row - 1]:.6g}")
        if k == epochs:
            break
        if cols is not None:
            p, ms, q = deep_diagonal_step(p, ms, q, lam_c, xi_c, lr, weight_decay)
            continue
        Y = M @ (R * xi)
        Y -= Q * lam                        # Y = M R Ξ − QΛ
        gP = B.T @ Y if mids else Y
        gQ = NR @ Q
        gQ -= R * lam
        if weight_decay:
            gP += weight_decay * P
            gQ += weight_decay * Q
        if mids:
            gB = Y @ P.T                    # M B PΞPᵀ − QΛPᵀ
            new_mids = []
            for i, Mi in enumerate(mids):
                left = _chain(mids[i + 1:], H)      # M_{L-1} ... M_{i+3}
                right = _chain(mids[:i], H)         # M_{i+1} ... M_2
                new_mids.append(Mi - lr * (left.T @ gB @ right.T + weight_decay * Mi))
            mids = new_mids
        P = P - lr * gP
        Q = Q - lr * gQ
    return result(row)


def _train_sampled(X, spec, weights, objective, schedule, seed, inits, config, report):
    """Full-batch GD with fresh input noise on the raw data, by backpropagation through the L layers, from the
    eigenbasis weights ``weights`` = (P, middle layers, Q)."""
    from lindae.validation.training.noise import NoiseBuffer
    lam, V, (P, mids, Q) = spec.eigenvalues, spec.eigenvectors, weights
    lr, epochs, record_every = schedule.lr, schedule.epochs, schedule.record_every
    noise_var, weight_decay, progress, name = objective.noise_var, objective.weight_decay, report.progress, report.name
    N, D = X.shape
    Ws = [P @ V.T] + [m.copy() for m in mids] + [V @ Q.T]          # W_1 (H x D), middle (H x H), W_L (D x H)
    rec_epochs = np.arange(0, epochs + 1, record_every)
    if rec_epochs[-1] != epochs:
        rec_epochs = np.append(rec_epochs, epochs)
    S, loss = np.empty((len(rec_epochs), D)), np.empty(len(rec_epochs))
    noise = NoiseBuffer(N, D, np.sqrt(noise_var), seed + 1) if noise_var > 0 else None
    row, start = 0, time.perf_counter()
    try:
        for k in range(epochs + 1):
            noisy = noise.add_to(X) if noise is not None else X
            acts = [noisy @ Ws[0].T]                                   # forward: N x H activations
            for M in Ws[1:-1]:
                acts.append(acts[-1] @ M.T)
            E = acts[-1] @ Ws[-1].T - X                                # N x D
            if row < len(rec_epochs) and rec_epochs[row] == k:
                B = _chain(Ws[1:-1], Ws[0].shape[0])
                S[row] = np.einsum("hd,hd->d", Ws[-1].T @ V, B @ Ws[0] @ V)
                loss[row] = 0.5 * float(np.sum(E * E)) / N + 0.5 * weight_decay * sum(float(np.sum(W * W)) for W in Ws)
                row += 1
                if diverged(float(np.sum(Ws[0] ** 2)), float(np.sum(Ws[-1] ** 2))):
                    partial = DeepResult(eigenvalues=lam, epochs=rec_epochs[:row - 1], strengths=S[:row - 1],
                                         loss=loss[:row - 1], init_layers=inits[0], config=config,
                                         seconds=time.perf_counter() - start, init_weights=inits[1])
                    raise DivergenceError(f"deep training diverged at epoch {k} (lr = {lr:g})", step=k, partial=partial)
                if progress is not None and k and k % max(1, epochs // 10) == 0:
                    progress(f"  {name}: epoch {k}/{epochs}  loss {loss[row - 1]:.6g} (sampled noise)")
            if k == epochs:
                break
            E /= N
            grads = [None] * len(Ws)
            grads[-1] = E.T @ acts[-1]
            G = E @ Ws[-1]                                             # N x H, back through W_L
            for j in range(len(Ws) - 2, 0, -1):
                grads[j] = G.T @ acts[j - 1]
                G = G @ Ws[j]
            grads[0] = G.T @ noisy
            Ws = [W - lr * (g + weight_decay * W) for W, g in zip(Ws, grads)]
    finally:
        if noise is not None:
            noise.close()
    return DeepResult(eigenvalues=lam, epochs=rec_epochs[:row], strengths=S[:row], loss=loss[:row],
                      init_layers=inits[0], config=config, seconds=time.perf_counter() - start, init_weights=inits[1])
