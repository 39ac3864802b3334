"""Exceptions of the numeric layer, and the one divergence policy every training loop shares."""
from __future__ import annotations

import numpy as np

#: A weight larger than this in magnitude is treated as divergence (it would overflow a few steps
#: later). Squared norms are compared with its square. Every GD loop in lindae (per-mode map,
#: matrix GD, eigenbasis, sampled-noise and ReLU training) applies this one threshold.
OVERFLOW_GUARD = 1e100
#: The guard on a squared weight norm, ``OVERFLOW_GUARD ** 2``.
GUARD_SQUARED = OVERFLOW_GUARD * OVERFLOW_GUARD


def beyond_guard(squared_norm):
    """Elementwise: the squared weight norm is NaN, infinite or above ``OVERFLOW_GUARD ** 2``."""
    return ~(np.asarray(squared_norm) <= GUARD_SQUARED)


def diverged(*squared_norms) -> bool:
    """True when any squared weight norm (scalar or array) is beyond the guard (:func:`beyond_guard`)."""
    for v in squared_norms:
        if np.ndim(v) == 0:
            if not float(v) <= GUARD_SQUARED:          # NaN fails the comparison too
                return True
        elif np.any(beyond_guard(v)):
            return True
    return False


class InvalidArgument(ValueError):
    """An argument is outside its documented domain (wrong range, shape or choice).

    The message names the argument, what is accepted and what was given. Command lines report it in
    one line with exit status 2; any other exception is a bug and keeps its traceback.
    """


class InvalidArgumentType(TypeError):
    """An argument has the wrong type, or a combination of arguments does not apply (see :class:`InvalidArgument`)."""


class SolverFailed(RuntimeError):
    """A numerical solver did not converge, or stopped before the event it was run for; the message says why.

    Raised instead of returning a number (0, inf) that would read as a result.
    """


class DivergenceError(FloatingPointError):
    """Gradient descent diverged (learning rate above the stability bound of R12).

    Attributes
    ----------
    step : int
        The first step at which a weight became non-finite or exceeded the overflow guard.
    mode : int or None
        The number (1-based, in the order of the eigenvalues given) of the first mode that diverged, else None.
    bound : float or None
        The R12 stability bound on lr for that mode, when known.
    partial : object
        The results recorded before the divergence (kept, never discarded).
    """

    def __init__(self, message, *, step, mode=None, bound=None, partial=None):
        super().__init__(message)
        self.step, self.mode, self.bound, self.partial = step, mode, bound, partial
