"""Exact discrete-time gradient descent: per mode (R12's map) and on the matrix loss (R1)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._checks import as_array, as_int, broadcast
from .errors import GUARD_SQUARED, DivergenceError, beyond_guard, diverged
from .matrix import sample_loss_and_gradient, second_moment_root
from .errors import InvalidArgument, InvalidArgumentType


def _record_steps(epochs, record_every):
    epochs = as_int("epochs", epochs, lo=0)
    record_every = as_int("record_every", record_every, lo=1)
    k = np.arange(0, epochs + 1, record_every)
    if k[-1] != epochs:
        k = np.append(k, epochs)
    return epochs, k


@dataclass(frozen=True)
class ModeRun:
    """Per-mode gradient-descent records, one type at every depth.

    Attributes
    ----------
    epochs : ndarray (K,)
        Recorded epochs (GD steps); time is t = lr · epoch.
    layers : ndarray (K, L, M)
        The weight of every layer of every mode at each recorded epoch (depth 2: a = ``layers[:, 0]``,
        b = ``layers[:, 1]``).
    """

    epochs: np.ndarray
    layers: np.ndarray

    @property
    def strengths(self) -> np.ndarray:
        """u = the product of the layers (K, M)."""
        return np.prod(self.layers, axis=1)

    @property
    def a(self) -> np.ndarray:
        """The first layer's weight of every mode (K, M)."""
        return self.layers[:, 0]

    @property
    def b(self) -> np.ndarray:
        """The last layer's weight of every mode (K, M)."""
        return self.layers[:, -1]

    def __iter__(self):
        warnings.warn("unpacking the result of gd_modes is deprecated; use .epochs, .layers, .strengths (.a, .b)",
                      DeprecationWarning, stacklevel=2)
        return iter((self.epochs, self.a, self.b) if self.layers.shape[1] == 2 else (self.epochs, self.layers))


def gd_modes(epochs, lam, *, noise_var=0.0, weight_decay=0.0, a0=None, b0=None, lr, record_every=1, depth=2, layers=None):
    r"""Iterate the exact per-mode GD map, vectorised over modes (R12); lr may differ per mode.

    .. math:: a' = a - \eta\,\partial\ell/\partial a,\qquad b' = b - \eta\,\partial\ell/\partial b

    The map is generated from the symbolic layer (:func:`derivations.mode_gd_map_function`).

    With ``depth`` L >= 3 give ``layers`` (L, M), the per-layer start of every mode; the map is then
    D2's (:func:`dynamics.depth.deep_gd_modes`).

    Returns
    -------
    ModeRun
        ``.epochs`` (K,), ``.layers`` (K, L, M), ``.strengths`` (K, M); the same type at every depth.

    Raises
    ------
    DivergenceError
        When a weight leaves the overflow guard (:data:`dynamics.errors.OVERFLOW_GUARD`); it names the mode and the R12 bound
        and carries the :class:`ModeRun` recorded so far in ``.partial``.
    """
    from lindae.derivations import mode_gd_map_function
    from .closed_form import stability_bound
    from .depth import check_depth, deep_gd_modes
    if check_depth(depth) > 2:
        if layers is None or a0 is not None or b0 is not None:
            raise InvalidArgumentType("depth >= 3 needs layers (L, M) and no a0/b0")
        W = np.asarray(as_array("layers", layers))
        if W.ndim != 2 or W.shape[0] != depth:
            raise InvalidArgument(f"layers must have shape (depth, M) = ({depth}, M), got {W.shape}")
        lr = float(as_array("lr", lr, lo=0.0, lo_open=True))
        epochs, _ = _record_steps(epochs, record_every)
        k, _, kept = deep_gd_modes(epochs, lam, noise_var=noise_var, weight_decay=weight_decay, layers=W, lr=lr,
                                   record_every=record_every, return_layers=True)
        return ModeRun(k, kept)
    if layers is not None:
        raise InvalidArgumentType("layers (per-layer starts) needs depth >= 3; at depth 2 give a0 and b0")
    if a0 is None or b0 is None:
        raise InvalidArgumentType("gd_modes needs a0 and b0 (or depth >= 3 and layers)")
    lr = as_array("lr", lr, lo=0.0, lo_open=True)
    epochs, k = _record_steps(epochs, record_every)
    lam, noise_var, weight_decay = (as_array(n, v, lo=0.0) for n, v in (("lam", lam), ("noise_var", noise_var), ("weight_decay", weight_decay)))
    a0, b0 = as_array("a0", a0), as_array("b0", b0)
    lam, noise_var, weight_decay, a, b, lr = (np.atleast_1d(x).astype(float).ravel()
                                  for x in broadcast(lam=lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0, lr=lr))
    step = mode_gd_map_function()
    A = np.empty((len(k), a.size))
    B = np.empty_like(A)
    A[0], B[0] = a, b
    row = 1
    for n in range(1, epochs + 1):
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
            a, b = step(a, b, lam, noise_var, weight_decay, lr)
            # the total squared norm bounds every mode's: the check mode by mode only when the total is beyond the
            # guard (or not a number)
            out = None if float(a @ a + b @ b) <= GUARD_SQUARED else beyond_guard(a * a + b * b)
        if out is not None and np.any(out):
            bad = int(np.flatnonzero(out)[0])
            bound = float(stability_bound(lam[bad], noise_var=noise_var[bad], weight_decay=weight_decay[bad]))
            raise DivergenceError(
                f"gradient descent diverged at step {n} in mode {bad + 1}: lr = {lr[bad]:g} exceeds the stability "
                f"bound {bound:.6g} of R12 (lam={lam[bad]:g}, noise_var={noise_var[bad]:g}, weight_decay={weight_decay[bad]:g})",
                step=n, mode=bad + 1, bound=bound, partial=ModeRun(k[:row], np.stack([A[:row], B[:row]], axis=1)))
        if row < len(k) and n == k[row]:
            A[row], B[row] = a, b
            row += 1
    return ModeRun(k, np.stack([A, B], axis=1))


def gd_matrix(Sigma, W1, W2, *, lr, epochs, noise_var=0.0, weight_decay=0.0, record_every=1):
    r"""Full-batch GD on the marginalised matrix loss (R1): :math:`W_i \leftarrow W_i - \eta\,\partial L/\partial W_i`.

    Returns
    -------
    k : ndarray (K,), W1s : ndarray (K, H, D), W2s : ndarray (K, D, H), loss : ndarray (K,)
    """
    lr = float(as_array("lr", lr, lo=0.0, lo_open=True))
    epochs, k = _record_steps(epochs, record_every)
    Sigma, W1, W2 = (as_array(n, v) for n, v in (("Sigma", Sigma), ("W1", W1), ("W2", W2)))
    D = Sigma.shape[0]
    if Sigma.shape != (D, D) or W1.ndim != 2 or W1.shape[1] != D or W2.shape != (D, W1.shape[0]):
        raise InvalidArgument(f"need Sigma (D, D), W1 (H, D), W2 (D, H); got {Sigma.shape}, {W1.shape}, {W2.shape}")
    W1s = np.empty((len(k),) + W1.shape)
    W2s = np.empty((len(k),) + W2.shape)
    losses = np.empty(len(k))
    W1s[0], W2s[0] = W1, W2
    row = 1
    S = second_moment_root(Sigma)
    L, g1, g2 = sample_loss_and_gradient(W1, W2, S, S, noise_var, weight_decay)
    losses[0] = L
    for n in range(1, epochs + 1):
        W1, W2 = W1 - lr * g1, W2 - lr * g2
        with np.errstate(over="ignore", invalid="ignore"):
            L, g1, g2 = sample_loss_and_gradient(W1, W2, S, S, noise_var, weight_decay)
            bad = diverged(np.sum(W1 * W1), np.sum(W2 * W2))
        if bad:
            raise DivergenceError(f"matrix gradient descent diverged at step {n} (lr = {lr:g})", step=n,
                                  partial=(k[:row], W1s[:row], W2s[:row], losses[:row]))
        if row < len(k) and n == k[row]:
            W1s[row], W2s[row], losses[row] = W1, W2, L
            row += 1
    return k, W1s, W2s, losses
