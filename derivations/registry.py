"""The ordered registry of derived results: R1-R15 (one hidden layer), D1-D9 (depth L), G1-G5 (finite data), N1-N8
(noise models: masking, dropout, any Gaussian noise covariance) and S1-S4 (minibatch SGD)."""
from __future__ import annotations

import functools
from typing import Callable

from .depth import DEPTH_BUILDERS
from .depth_random import depth_random_start
from .fixed_points import fixed_points, hessian
from .flow import balance_law, gradient_flow
from .generalisation import G_BUILDERS
from .learning_rates import discrete_map_stability, optimal_learning_rates
from .loss import mode_decoupling, noise_marginalisation
from .noise_models import N_BUILDERS
from .sgd import S_BUILDERS
from .norms import effective_initial_strength, weight_norm
from .random_init import random_init_theory
from .result import Result
from .solutions import balanced_solution, hyperbolic_solution
from .timing import noise_weight_decay_equivalence, time_to_learn

#: R1-R15, in the order of docs/theory.md.
R_BUILDERS = (noise_marginalisation, mode_decoupling, gradient_flow, balance_law, balanced_solution,
              hyperbolic_solution, fixed_points, hessian, time_to_learn, noise_weight_decay_equivalence,
              optimal_learning_rates, discrete_map_stability, weight_norm, effective_initial_strength,
              random_init_theory)

#: D1-D9, in the order of docs/theory.md.
D_BUILDERS = DEPTH_BUILDERS + (depth_random_start,)

#: Builders in the order of docs/theory.md: R1-R15, then D1-D9, G1-G5, N1-N8 and S1-S4.
BUILDERS: dict[str, Callable[[], Result]] = {fn.__name__: fn for fn in R_BUILDERS + D_BUILDERS + G_BUILDERS + N_BUILDERS
                                                   + S_BUILDERS}


def names() -> list[str]:
    """Names of all results, in docs/theory.md order."""
    return list(BUILDERS)


#: Result numbers as aliases: "R1" -> "noise_marginalisation", ..., "D1" -> "depth_mode_loss", ...
NUMBERS = ({f"R{k}": fn.__name__ for k, fn in enumerate(R_BUILDERS, 1)}
           | {f"D{k}": fn.__name__ for k, fn in enumerate(D_BUILDERS, 1)}
           | {f"G{k}": fn.__name__ for k, fn in enumerate(G_BUILDERS, 1)}
           | {f"N{k}": fn.__name__ for k, fn in enumerate(N_BUILDERS, 1)}
           | {f"S{k}": fn.__name__ for k, fn in enumerate(S_BUILDERS, 1)})


def resolve(name_or_number: str) -> str:
    """The result name for a name or a result number ("R5"); KeyError listing both otherwise."""
    key = NUMBERS.get(name_or_number.upper(), name_or_number) if isinstance(name_or_number, str) else name_or_number
    if key not in BUILDERS:
        raise KeyError(f"unknown result {name_or_number!r}; use R1-R15, D1-D9, G1-G5, N1-N8, S1-S4 or a name: {', '.join(BUILDERS)}")
    return key


def get(name: str) -> Result:
    """The result called ``name`` or numbered ``name`` ("R5"), derived on first use and cached.

    Raises
    ------
    KeyError
        If no result has that name or number; the message lists the valid names.
    """
    return _get(resolve(name))


@functools.lru_cache(maxsize=None)
def _get(name: str) -> Result:
    return BUILDERS[name]()


def results() -> list[Result]:
    """All results, derived and cached, in docs/theory.md order."""
    return [get(n) for n in BUILDERS]


def check_all(selected=None, seed: int = 0, numeric_points: int = 3):
    """Verify the selected results (all by default), each numeric check at ``numeric_points`` random points;
    returns a list of Verification."""
    return [get(n).verify(seed=seed, numeric_points=numeric_points) for n in (selected or names())]
