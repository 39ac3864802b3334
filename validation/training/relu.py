r"""A ReLU autoencoder x̂ = W2 relu(W1 x̃) in NumPy (Figure 6), with hand-written backprop.

Follows the authors' Figure 6 setting (docs/conventions.md, erratum E4): no biases, the mean
squared error over all N·D entries, weight decay applied as an optimiser term
W <- W - lr (grad + wd W), and fresh Gaussian input noise of standard deviation ``noise_std``
every epoch. The measured quantity is
:math:`m_i = v_i^\top(\tfrac1N\sum_n f(x_n)x_n^\top)v_i/\lambda_i`, which equals the mode strength
for a linear map.

Training uses :class:`ReluStep`, which needs only the clean data in its large products: with
:math:`E = \mathrm{relu}(Z)W_2^\top - X` the gradients are
:math:`E^\top H_z = W_2(H_z^\top H_z) - X^\top H_z` and :math:`EW_2 = H_z(W_2^\top W_2) - XW_2`, so an
epoch is two n x D x 2H products, :math:`X[W_1^\top\ W_2]` and :math:`X^\top[H_z\ dZ]`, plus H x H work, and
no n x D intermediate. Sampled noise :math:`\tilde X = X + \sigma N` enters the epoch only through
:math:`NW_1^\top` (forward) and :math:`dZ^\top N` (backward). With :math:`\Phi` (H x D) an orthonormal
basis of the rows of :math:`W_1` (:math:`W_1^\top = \Phi^\top R`), :math:`G = N\Phi^\top` is n x H standard
normal, :math:`NW_1^\top = GR`, and the rest of N, :math:`N(I - \Phi^\top\Phi)`, is independent of G, hence
of dZ; given dZ, :math:`dZ^\top N(I - \Phi^\top\Phi)` is distributed as :math:`CK(I - \Phi^\top\Phi)` with
K an H x D standard normal matrix and :math:`CC^\top = dZ^\top dZ`. The gradients therefore have exactly
the distribution they have under explicit noise, from n·H + H·D normal draws instead of n·D.

Inputs that are zero in every sample (MNIST's blank border pixels) add nothing to either large product:
their columns of X are left out of both, and they enter the gradients only through the H x D terms
(:math:`W_2 H_z^\top H_z` and the noise), so the result is the same up to the order of the sums.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from lindae.dynamics._checks import as_array, as_int
from lindae.dynamics.errors import DivergenceError, diverged

from lindae.validation.data.spectrum import Spectrum, compute_spectrum
from lindae.validation.training.linear import check_problem, schedule
from lindae.dynamics.errors import InvalidArgument
from lindae.dynamics.vocabulary import accepts_deprecated_names


def relu_loss_and_gradient(W1, W2, X_in, X_target, *, with_loss=True, work=None):
    r"""Loss :math:`\frac{1}{ND}\sum (W_2\,\mathrm{relu}(W_1x̃) - x)^2` and its gradients (backprop).

    Five n x D x H products; the elementwise work is done in place on their outputs. With
    ``with_loss=False`` the loss (one more pass over n x D) is skipped and returned as NaN.
    ``work`` (a dict, filled on first use) keeps the n x H and n x D intermediates between calls,
    so a training loop allocates (and page-faults) them once instead of every epoch.

    Returns (loss, dL/dW1 (H x D), dL/dW2 (D x H)).
    """
    n, d = X_target.shape
    h = W1.shape[0]
    work = {} if work is None else work
    dt = np.result_type(X_in, W1)

    def buf(name, shape):
        b = work.get(name)
        if b is None or b.shape != shape or b.dtype != dt:
            b = work[name] = np.empty(shape, dtype=dt)
        return b

    Z = np.matmul(X_in, W1.T, out=buf("Z", (n, h)))             # n x H
    Hid = np.maximum(Z, 0, out=buf("Hid", (n, h)))
    E = np.matmul(Hid, W2.T, out=buf("E", (n, d)))              # n x D
    E -= X_target
    scale = 2.0 / (n * d)
    loss = float(np.einsum("ij,ij->", E, E, dtype=np.float64)) / (n * d) if with_loss else float("nan")
    g2 = E.T @ Hid
    g2 *= scale
    dZ = np.matmul(E, W2, out=buf("dZ", (n, h)))
    dZ *= Z > 0
    g1 = dZ.T @ X_in
    g1 *= scale
    return loss, g1, g2


def _row_basis(W1):
    """(Φ, R) with W1ᵀ = ΦᵀR, Φ (H x D) orthonormal rows: by Cholesky of W1W1ᵀ (float64) when that is
    well conditioned, by QR otherwise (e.g. dead hidden units)."""
    W = W1.astype(np.float64)
    try:
        R = np.linalg.cholesky(W @ W.T).T
        if np.min(np.abs(np.diag(R))) > 1e-4 * np.max(np.abs(np.diag(R))):
            Phi = np.linalg.solve(R.T, W)
            return Phi.astype(W1.dtype), R.astype(W1.dtype)
    except np.linalg.LinAlgError:
        pass
    Phi_t, R = np.linalg.qr(W.T)
    return np.ascontiguousarray(Phi_t.T).astype(W1.dtype), R.astype(W1.dtype)


def _gram_root(S):
    """C with C Cᵀ = S for a symmetric positive semidefinite S: Cholesky (float64), or from the
    eigendecomposition where S is singular (dead hidden units give zero rows)."""
    S = S.astype(np.float64)
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(S)
        return V * np.sqrt(np.clip(w, 0.0, None))


class ReluStep:
    """One full-batch GD epoch of the ReLU autoencoder from the clean data alone (see the module docstring).

    Parameters
    ----------
    X : ndarray (n, D)
        Clean data, in the training dtype.
    noise_std : float
        Standard deviation σ of the sampled input noise (0 for none).
    seed : int
        Seed of the noise generator (SFC64).
    """

    def __init__(self, X, noise_std=0.0, seed=0):
        X = np.ascontiguousarray(X)
        self.dim = X.shape[1]
        live = np.flatnonzero(np.any(X != 0, axis=0))
        #: the inputs that are nonzero in some sample (None: all are); the large products use only these columns
        self.live = None if live.size == self.dim else live
        self.X = X if self.live is None else np.ascontiguousarray(X[:, live])
        self.dt = self.X.dtype
        self.noise_std = float(noise_std)
        self.rngs = [np.random.Generator(np.random.SFC64(s)) for s in np.random.SeedSequence(seed).spawn(2)]
        self.scale = 2.0 / (X.shape[0] * self.dim)
        self._pool = None
        self._buffers = {}

    def _buffer(self, name, shape):
        b = self._buffers.get(name)
        if b is None or b.shape != shape:
            b = self._buffers[name] = np.empty(shape, dtype=self.dt)
        return b

    def _normals(self, name, shape, wait=True):
        """Standard normals in the training dtype, the two halves of the rows drawn by two generators on two
        threads (NumPy's generators release the GIL); the draws depend only on the seed. They are drawn into
        the buffer ``name``, kept from epoch to epoch (a fresh n x H array would be page-faulted every epoch).
        With ``wait=False``, a function that waits for the draws and returns them."""
        out = self._buffer(name, shape)
        half = shape[0] // 2
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(2)
        jobs = [self._pool.submit(g.standard_normal, out=part, dtype=self.dt)
                for g, part in ((self.rngs[0], out[:half]), (self.rngs[1], out[half:]))]

        def result():
            for j in jobs:
                j.result()
            return out
        return result() if wait else result

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def measure_with(self, Vk, lamk):
        """Let :meth:`gradients` also measure m_i of the columns of Vk and the clean loss (:func:`mode_response`)
        when asked, from the products it forms anyway (module docstring)."""
        self._XVt = np.ascontiguousarray((self.X @ self._rows(Vk)).T)         # k x n
        self._Vk, self._lamk = Vk, np.asarray(lamk, dtype=np.float64)
        self._x2 = float(np.einsum("ij,ij->", self.X, self.X, dtype=np.float64))

    def _measure(self, W2, Hz, HzHz, fx):
        r"""(m, clean loss) from the clean relu(Z) (H x n), its Gram and :math:`f_x = \langle W_2^\top, H_zX\rangle`:
        with F = relu(Z)ᵀW2ᵀ, :math:`m_i = \sum_n (a_i^\top H_z)_n (Xv_i)_n/(N\lambda_i)`, :math:`a_i = W_2^\top v_i`,
        and :math:`\|F - X\|^2 = \langle W_2^\top W_2, H_zH_z^\top\rangle - 2f_x + \|X\|^2`. Without noise
        :math:`H_zX` is a product the gradient needs anyway; with noise, :math:`f_x = \langle H_z, (XW_2)^\top\rangle`
        is an elementwise sum over the forward product's other half instead of an H x n x D product."""
        n = self.X.shape[0]
        FV = (W2.T @ self._Vk).T @ Hz                                        # (F V_k)ᵀ, k x n
        m = np.einsum("kn,kn->k", FV, self._XVt, dtype=np.float64) / (n * self._lamk)
        f2 = float(np.einsum("ij,ij->", (W2.T @ W2).astype(np.float64), HzHz.astype(np.float64)))
        return m, (f2 - 2 * fx + self._x2) / (n * self.dim)

    def _rows(self, A):
        """The rows of A (D x ...) of the inputs that are nonzero in some sample."""
        return A if self.live is None else A[self.live]

    def gradients(self, W1, W2, measure=False):
        """(dL/dW1, dL/dW2) of the loss of :func:`relu_loss_and_gradient` at fresh noise; with ``measure``
        (after :meth:`measure_with`) also (m, clean loss) at these weights, as :func:`mode_response` gives them.

        Works in the transposed layout (H x n blocks), so that every elementwise pass runs over contiguous
        memory and both large products take X as it is stored: ``[W1; W2ᵀ] Xᵀ`` and ``[Hzᵀ; dZᵀ] X``.
        """
        X, h, live = self.X, W1.shape[0], self.live
        n, d = X.shape
        if self.noise_std:     # the draws run on their own threads while the products below use BLAS's
            G = self._normals("G", (h, n), wait=False)         # Gᵀ, n x H standard normal
            K = self._normals("K", (h, self.dim), wait=False)
        WW = self._buffer("WW", (2 * h, d))
        if live is None:
            WW[:h] = W1
            WW[h:] = W2.T
        else:
            np.take(W1, live, axis=1, out=WW[:h])
            WW[h:] = W2[live].T
        ZZ = np.matmul(WW, X.T, out=self._buffer("ZZ", (2 * h, n)))       # (X W1ᵀ)ᵀ and (X W2)ᵀ in one product
        Z, XW2 = ZZ[:h], ZZ[h:]
        measured = None
        if measure and self.noise_std:      # the clean forward pass, before the noise enters Z
            Hc = np.maximum(Z, 0, out=self._buffer("noise", Z.shape))           # the buffer (σGR)ᵀ takes next
            measured = self._measure(W2, Hc, Hc @ Hc.T, float(np.einsum("hn,hn->", Hc, XW2, dtype=np.float64)))
        if self.noise_std:
            Phi, R = _row_basis(W1)                            # W1ᵀ = Φᵀ R
            G, K = G(), K()
            Z += np.matmul(self.noise_std * R.T, G, out=self._buffer("noise", Z.shape))    # (σ G R)ᵀ
        HD = self._buffer("HD", (2 * h, n))
        Hz = np.maximum(Z, 0, out=HD[:h])
        dZ = HD[h:]
        np.matmul(W2.T @ W2, Hz, out=dZ)                       # (relu(Z) W2ᵀW2)ᵀ
        dZ -= XW2
        mask = np.greater(Z, 0, out=self._mask(Z.shape))
        dZ *= mask
        GX = HD @ X                                            # relu(Z)ᵀX and dZᵀX in one product
        HzHz = Hz @ Hz.T
        if measure and not self.noise_std:
            fx = float(np.einsum("ij,ji->", self._rows(W2).astype(np.float64), GX[:h].astype(np.float64)))
            measured = self._measure(W2, Hz, HzHz, fx)
        g2 = W2 @ HzHz
        if live is None:
            g2 -= GX[:h].T
            g1 = GX[h:]
        else:
            g2[live] -= GX[:h].T
            g1 = np.zeros((h, self.dim), dtype=self.dt)
            g1[:, live] = GX[h:]
        if self.noise_std:
            C = _gram_root(dZ @ dZ.T).astype(self.dt)                     # C Cᵀ = dZᵀ dZ
            K -= (K @ Phi.T) @ Phi                                          # K (I − ΦᵀΦ)
            g1 += self.noise_std * ((dZ @ G.T) @ Phi + C @ K)
        g1 *= self.scale
        g2 *= self.scale
        return (g1, g2, measured) if measure else (g1, g2)

    def _mask(self, shape):
        b = self._buffers.get("mask")
        if b is None or b.shape != shape:
            b = self._buffers["mask"] = np.empty(shape, dtype=bool)
        return b


def relu_forward(W1, W2, X):
    return np.maximum(X @ W1.T, 0) @ W2.T


@dataclass
class ReluResult:
    """Learning curves of a ReLU autoencoder: ``m`` (K, n_modes) at ``epochs``, and the loss."""
    epochs: np.ndarray
    m: np.ndarray
    loss: np.ndarray
    eigenvalues: np.ndarray
    config: dict = field(default_factory=dict)
    seconds: float = 0.0


def mode_response(W1, W2, X, Vk, lamk, *, with_loss=False, XV=None):
    """m_i = v_iᵀ (f(X)ᵀ X / N) v_i / lambda_i for the columns v_i of Vk; with ``with_loss`` also the clean
    loss of :func:`relu_loss_and_gradient`, from the same forward pass. ``XV`` is X Vk if already known."""
    F = relu_forward(W1, W2, X)
    XV = X @ Vk if XV is None else XV
    m = np.sum((F @ Vk) * XV, axis=0, dtype=np.float64) / (X.shape[0] * lamk)
    if not with_loss:
        return m
    F -= X
    return m, float(np.einsum("ij,ij->", F, F, dtype=np.float64)) / F.size


@accepts_deprecated_names
def train_relu_ae(X, hidden, lr, epochs, *, noise_std=0.0, weight_decay=0.0, init_scale=1e-3, seed=0,
                  dtype="float32", record_every=10, n_modes=4, spectrum: Spectrum | None = None, progress=None,
                  name="model"):
    """Train the ReLU autoencoder by full-batch GD with sampled noise; record m_i of the top modes.

    Parameters
    ----------
    X : (N, D) data; hidden : H <= D; lr : learning rate > 0; epochs : >= 0
    noise_std : standard deviation of the input noise (the paper's Figure 6 uses 2)
    weight_decay : optimiser weight decay (the paper uses 0.0045)
    init_scale : weights ~ N(0, init_scale²) (the paper: variance 1e-6, so 1e-3)
    dtype : "float32" (default, 2x faster) or "float64"

    The noise is drawn by :class:`ReluStep` (exactly in distribution, from n·H + H·D normals) from ``seed + 1``; the weights from ``seed``.
    """
    X, N, D, H, lr, epochs = check_problem(X, hidden, lr, epochs)
    noise_std = float(as_array("noise_std", noise_std, lo=0.0))
    weight_decay = float(as_array("weight_decay", weight_decay, lo=0.0))
    record_every = as_int("record_every", record_every, lo=1)
    n_modes = as_int("n_modes", n_modes, lo=1)
    if dtype not in ("float32", "float64"):
        raise InvalidArgument(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    spec = spectrum if spectrum is not None else compute_spectrum(X)
    Vk = spec.eigenvectors[:, :n_modes].astype(dtype)
    lamk = spec.eigenvalues[:n_modes]
    rng = np.random.default_rng(seed)
    W1 = (init_scale * rng.standard_normal((H, D))).astype(dtype)
    W2 = (init_scale * rng.standard_normal((D, H))).astype(dtype)
    Xd = X.astype(dtype)
    rec = schedule(epochs, record_every)
    M = np.empty((len(rec), n_modes))
    losses = np.empty(len(rec))
    start = time.perf_counter()
    config = dict(name=name, hidden=H, lr=lr, epochs=epochs, noise_std=noise_std, weight_decay=weight_decay,
                  init_scale=init_scale, seed=seed, dtype=dtype, record_every=record_every, N=N, D=D)
    stepper = ReluStep(Xd, noise_std, seed + 1)
    shrink = Xd.dtype.type(1.0 - lr * weight_decay)
    try:
        _relu_loop(W1, W2, Xd, stepper, shrink, lr, epochs, rec, M, losses, Vk, lamk, config, progress, name, start)
    finally:
        stepper.close()
    return ReluResult(rec, M, losses, lamk, config, time.perf_counter() - start)


def _relu_loop(W1, W2, Xd, stepper, shrink, lr, epochs, rec, M, losses, Vk, lamk, config, progress, name, start):
    row = 0
    stepper.measure_with(Vk, lamk)
    report_every = max(1, epochs // 10)
    for k in range(epochs + 1):
        due = row < len(rec) and rec[row] == k
        if k == epochs:
            if due:
                M[row], losses[row] = mode_response(W1, W2, Xd, Vk, lamk, with_loss=True)
            break
        if due:     # measured from the epoch's own products, at the same weights
            g1, g2, (M[row], losses[row]) = stepper.gradients(W1, W2, measure=True)
            row += 1
        else:
            g1, g2 = stepper.gradients(W1, W2)
        W1 *= shrink                    # W <- W - lr (grad + wd W)
        W1 -= lr * g1
        W2 *= shrink
        W2 -= lr * g2
        if diverged(np.sum(W1 * W1, dtype=np.float64), np.sum(W2 * W2, dtype=np.float64)):
            raise DivergenceError(f"ReLU training diverged at epoch {k + 1}: the weights left the overflow guard "
                                  f"(lr = {lr:g} too large)",
                                  step=k + 1, partial=ReluResult(rec[:row], M[:row], losses[:row], lamk, config))
        if progress is not None and (k + 1) % report_every == 0:
            el = time.perf_counter() - start
            progress(f"  {name}: epoch {k + 1}/{epochs}  loss {losses[row - 1]:.5g} (epoch {rec[row - 1]})  "
                     f"({(k + 1) / el:.1f} epochs/s)")
