"""The small typed objects a training run is composed of, in the way diffrax composes a solve from its terms,
solver and step-size controller: what is trained (:class:`Architecture`), from where (:class:`Start`), what is
minimised (:class:`Objective`) and for how long, recording what (:class:`Schedule`).

:func:`lindae.validation.training.train` takes one of each; ``train_linear_ae`` builds them from keywords.

    >>> Schedule(lr=0.05, epochs=100, record_every=10)
    Schedule(lr=0.05, epochs=100, record_every=10, sv_every=None)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Architecture:
    """x̂ = W_L ⋯ W_1 x̃ with ``depth`` = L weight layers (2: a shallow autoencoder) of ``hidden`` = H units."""
    hidden: int
    depth: int = 2


@dataclass(frozen=True)
class Start:
    """The initial weights. ``init = "random"``: i.i.d. N(0, init_scale²) entries drawn from ``seed``.
    ``init = "aligned"``: hidden unit j carries mode number ``modes[j]`` (1-based; default 1 ... H), with
    (a0, b0), or a0 = b0 = sqrt(u0), or at depth L per-layer values ``layers`` (L, len(modes)).
    ``init = "given"``: ``weights``, the list of every layer's matrix in the data basis, first layer first
    ([W1 (H x D), W2 (D x H)] at depth 2; middle layers H x H), e.g. a model's weights from elsewhere."""
    init: str = "random"
    init_scale: float = 1e-4
    seed: int = 0
    modes: tuple | None = None
    u0: float | None = None
    a0: np.ndarray | float | None = None
    b0: np.ndarray | float | None = None
    layers: np.ndarray | None = None
    weights: tuple | None = None


@dataclass(frozen=True)
class Objective:
    """What gradient descent minimises: R1's loss with input noise of variance ``noise_var`` (ε = σ²) and weight
    decay ``weight_decay`` (γ); the noise is marginalised, or drawn afresh every epoch (``sampled_noise``), on
    minibatches of ``batch_size`` rows if given."""
    noise_var: float = 0.0
    weight_decay: float = 0.0
    sampled_noise: bool = False
    batch_size: int | None = None


@dataclass(frozen=True)
class Schedule:
    """``epochs`` full-batch steps of size ``lr`` (η); the strengths, loss and leakage are recorded every
    ``record_every`` epochs and the singular values of W every ``sv_every`` (default 10 · record_every)."""
    lr: float
    epochs: int
    record_every: int = 1
    sv_every: int | None = None
