"""lindae.dynamics: the numeric layer.

Stable closed forms of the per-mode theory (R5-R13), every mode under random initialisation (R15), deep
networks (D1-D9), masking, dropout and any Gaussian noise (N1-N8: moments, optima, the Riccati surrogate), ODE integration of the gradient flow,
exact discrete-time gradient descent, one :func:`trajectory` entry point over the three, and
the paper's Figures 1-4. Example::

    >>> from lindae import dynamics
    >>> float(dynamics.mode_strength(10.0, 1.0, noise_var=0.5, a0=0.01, b0=0.02))  # doctest: +ELLIPSIS
    0.66...
"""
from . import closed_form as _closed_form, depth as _depth, gd as _gd, ode as _ode, random_init as _random_init
from .deep_random import blowup_start, blowup_time, deep_effective_start
from .generalisation import (best_mode_test_error, best_noise_var, best_stopping_time, best_strength,
                             best_weight_decay, mode_test_error, noise_gradient_terms, spiked_limits, test_error)
from .errors import OVERFLOW_GUARD, DivergenceError, InvalidArgument, InvalidArgumentType, SolverFailed
from .sgd import SGDMoments, sgd_lr_bound, sgd_mode_moments, sgd_stationary
from .population import marchenko_pastur_quantiles, population_error_curves, spiked_sample_spectrum
from .matrix import loss_and_gradient, sample_loss_and_gradient, second_moment_root
from .noise_models import (dropout_optimum, gaussian_moments, masking_moments, off_diagonal_fraction, rank_h_optimum,
                           surrogate_strength)
from .trajectory import METHODS, Trajectory, trajectory
from .units import LOSSES, LossConvention, from_paper_units, to_paper_units
from .vocabulary import DEPRECATED, VOCABULARY, accepts_deprecated_names, deprecated_alias

# The public functions, under the one vocabulary (docs/conventions.md); the previous release's keyword spellings
# (eps, gamma, eta, steps) still work, with a DeprecationWarning, for this release only.
balanced_strength = accepts_deprecated_names(_closed_form.balanced_strength)
equivalent_weight_decay = accepts_deprecated_names(_closed_form.equivalent_weight_decay)
final_weight_norm = accepts_deprecated_names(_closed_form.final_weight_norm)
fixed_point = accepts_deprecated_names(_closed_form.fixed_point)
hyperbolic_strength = accepts_deprecated_names(_closed_form.hyperbolic_strength)
mode_strength = accepts_deprecated_names(_closed_form.mode_strength)
paper_learning_rate = accepts_deprecated_names(_closed_form.paper_learning_rate)
stability_bound = accepts_deprecated_names(_closed_form.stability_bound)
time_to_learn = accepts_deprecated_names(_closed_form.time_to_learn)
basin_boundary = accepts_deprecated_names(_depth.basin_boundary)
critical_weight_decay = accepts_deprecated_names(_depth.critical_weight_decay)
gd_matrix = accepts_deprecated_names(_gd.gd_matrix)
gd_modes = accepts_deprecated_names(_gd.gd_modes)
integrate_matrix_flow = accepts_deprecated_names(_ode.integrate_matrix_flow)
integrate_modes = accepts_deprecated_names(_ode.integrate_modes)
#: The capacity-limit time warp gave way to the hand-over to R1's balanced flow (its on/off switch and grid step).
_WARP = {"warp": "balanced", "warp_dt": "check_dt"}
random_init_strength = accepts_deprecated_names(_random_init.random_init_strength, renames={**DEPRECATED, **_WARP})
surrogate_strength = accepts_deprecated_names(surrogate_strength, renames=_WARP)
saturation_weight = accepts_deprecated_names(_random_init.saturation_weight)
trajectory = accepts_deprecated_names(trajectory)
loss_and_gradient = accepts_deprecated_names(loss_and_gradient)
sample_loss_and_gradient = accepts_deprecated_names(sample_loss_and_gradient)
deep_effective_start = accepts_deprecated_names(deep_effective_start, renames={"modes": "n_modes"})

# One name per capability: the deep variants are the depth keyword of the functions above. Their old names
# work for this release only.
deep_balanced_strength = deprecated_alias(accepts_deprecated_names(_depth.deep_balanced_strength),
                                          "deep_balanced_strength", "mode_strength(t, lam, u0=..., depth=L)")
deep_layers_flow = deprecated_alias(accepts_deprecated_names(_depth.deep_layers_flow), "deep_layers_flow",
                                    "mode_strength(t, lam, layers=..., depth=L)")
deep_fixed_point = deprecated_alias(accepts_deprecated_names(_depth.deep_fixed_point), "deep_fixed_point",
                                    "fixed_point(lam, ..., depth=L)")
deep_time_to_learn = deprecated_alias(accepts_deprecated_names(_depth.deep_time_to_learn), "deep_time_to_learn",
                                      "time_to_learn(lam, u0=..., fraction=u1/u*, depth=L)")
deep_equivalent_weight_decay = deprecated_alias(accepts_deprecated_names(_depth.deep_equivalent_weight_decay),
                                                "deep_equivalent_weight_decay", "equivalent_weight_decay(lam, noise_var, depth=L)")
deep_gd_modes = deprecated_alias(accepts_deprecated_names(_depth.deep_gd_modes), "deep_gd_modes",
                                 "gd_modes(epochs, lam, layers=..., depth=L)")

__all__ = ["balanced_strength", "equivalent_weight_decay", "final_weight_norm", "fixed_point",
           "hyperbolic_strength", "mode_strength", "paper_learning_rate", "stability_bound", "time_to_learn",
           "basin_boundary", "critical_weight_decay", "gd_matrix", "gd_modes", "integrate_matrix_flow",
           "integrate_modes", "random_init_strength", "saturation_weight", "trajectory", "METHODS", "Trajectory",
           "loss_and_gradient", "sample_loss_and_gradient", "second_moment_root", "from_paper_units", "LossConvention", "LOSSES",
           "best_mode_test_error", "best_noise_var", "best_stopping_time", "best_strength", "best_weight_decay",
           "mode_test_error", "noise_gradient_terms", "spiked_limits", "test_error",
           "marchenko_pastur_quantiles", "population_error_curves", "spiked_sample_spectrum",
           "SGDMoments", "sgd_lr_bound", "sgd_mode_moments", "sgd_stationary",
           "dropout_optimum", "gaussian_moments", "masking_moments", "off_diagonal_fraction", "rank_h_optimum",
           "surrogate_strength",
           "to_paper_units", "blowup_start", "blowup_time", "deep_effective_start", "OVERFLOW_GUARD",
           "DivergenceError", "InvalidArgument", "InvalidArgumentType", "SolverFailed", "VOCABULARY"]
