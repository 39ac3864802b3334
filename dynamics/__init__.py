"""lindae.dynamics: the numeric layer.

Stable closed forms of the per-mode theory (R5-R13), every mode under random initialisation (R15), deep
networks (D1-D9), ODE integration of the gradient flow,
exact discrete-time gradient descent, one :func:`trajectory` entry point over the three, and
the paper's Figures 1-4. Example::

    >>> from lindae import dynamics
    >>> float(dynamics.mode_strength(10.0, 1.0, eps=0.5, a0=0.01, b0=0.02))  # doctest: +ELLIPSIS
    0.66...
"""
from .closed_form import (balanced_strength, equivalent_weight_decay, final_weight_norm, fixed_point,
                          hyperbolic_strength, mode_strength, paper_learning_rate, stability_bound,
                          time_to_learn)
from .depth import (basin_boundary, critical_weight_decay, deep_balanced_strength, deep_equivalent_weight_decay,
                    deep_fixed_point, deep_gd_modes, deep_layers_flow, deep_time_to_learn)
from .deep_random import blowup_start, blowup_time, deep_effective_start
from .errors import OVERFLOW_GUARD, DivergenceError, InvalidArgument, InvalidArgumentType, SolverFailed
from .gd import gd_matrix, gd_modes
from .matrix import loss_and_gradient, sample_loss_and_gradient, second_moment_root
from .ode import integrate_matrix_flow, integrate_modes
from .random_init import random_init_strength, saturation_weight
from .trajectory import METHODS, Trajectory, trajectory
from .units import from_paper_units, to_paper_units

__all__ = ["balanced_strength", "equivalent_weight_decay", "final_weight_norm", "fixed_point",
           "hyperbolic_strength", "mode_strength", "paper_learning_rate", "stability_bound", "time_to_learn",
           "OVERFLOW_GUARD", "DivergenceError", "InvalidArgument", "InvalidArgumentType", "SolverFailed", "gd_matrix", "gd_modes", "loss_and_gradient",
           "sample_loss_and_gradient", "second_moment_root", "integrate_matrix_flow",
           "integrate_modes", "METHODS", "Trajectory", "trajectory", "from_paper_units", "to_paper_units",
           "basin_boundary", "critical_weight_decay", "deep_balanced_strength", "deep_equivalent_weight_decay",
           "deep_fixed_point", "deep_gd_modes", "deep_layers_flow", "deep_time_to_learn", "random_init_strength", "saturation_weight",
           "blowup_start", "blowup_time", "deep_effective_start"]
