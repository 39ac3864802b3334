"""Canonical problems: the paper's figure settings (docs/theory.md; docs/conventions.md), shared by figures, tests and benchmarks.

All values are in the toolkit's per-sample units (docs/conventions.md); for the scalar
Figures 1-4 the paper's units coincide with ours (N = 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fig1:
    """DAE dynamics from random initialisation (scalar network)."""
    lam: float = 1.0
    eps_values: tuple = (0.0, 1.0, 5.0)
    runs: int = 10
    init_low: float = -2.0
    init_high: float = 2.0
    lr: float = 0.01
    epochs: int = 200
    seed: int = 0


@dataclass(frozen=True)
class Fig2:
    """Theory curves, noise against the equivalent weight decay."""
    lam_values: tuple = (2.5, 1.0, 0.5)
    eps_values: tuple = tuple(np.round(np.arange(0.0, 1.81, 0.2), 10))
    lr: float = 0.001
    epochs: int = 20_000
    u0: float = 1e-6


@dataclass(frozen=True)
class Fig3:
    """The paper's "optimal" learning rates (and erratum E1)."""
    lam: float = 1.0
    eps_values: tuple = tuple(np.round(np.arange(0.0, 1.81, 0.2), 10))
    scale: float = 0.005  # the notebooks multiply the rates by this
    epochs: int = 20_000
    u0: float = 1e-6
    eps_grid_max: float = 10.0


@dataclass(frozen=True)
class Fig4:
    """Weight norm: noise against weight decay."""
    lam: float = 1.0
    noise_var: float = 0.1
    weight_decay: float = 0.1 / 1.1
    lr: float = 0.01
    epochs: int = 1000
    runs: int = 10
    init_low: float = -2.0
    init_high: float = 2.0
    small_init: tuple = (0.01, 0.01)
    seed: int = 0


FIG1, FIG2, FIG3, FIG4 = Fig1(), Fig2(), Fig3(), Fig4()


@dataclass(frozen=True)
class DepthCurves:
    """Balanced depth-L curves: DAE against the equivalent-decay WDAE (D4, D6)."""
    lam: float = 1.0
    noise_var: float = 0.5
    depths: tuple = (2, 3, 4)
    u0_values: tuple = (0.1, 1e-3)
    t_max: float = 60.0


@dataclass(frozen=True)
class Bifurcation:
    """The L = 3 weight-decay bifurcation diagram with GD runs (D5)."""
    depth: int = 3
    lam: float = 1.0
    lr: float = 0.005
    epochs: int = 80_000
    n_gamma: int = 11
    n_u0: int = 11
    u0_min: float = 1e-4
    u0_max: float = 0.9
    gamma_min_frac: float = 0.05
    gamma_max_frac: float = 1.25


DEPTH_CURVES, BIFURCATION = DepthCurves(), Bifurcation()
