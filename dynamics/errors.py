"""Exceptions of the numeric layer."""


class DivergenceError(FloatingPointError):
    """Gradient descent diverged (learning rate above the stability bound of R12).

    Attributes
    ----------
    step : int
        The first step at which a weight became non-finite or exceeded the overflow guard.
    mode : int or None
        Index of the first mode that diverged (per-mode runs), else None.
    bound : float or None
        The R12 stability bound on eta for that mode, when known.
    partial : object
        The results recorded before the divergence (kept, never discarded).
    """

    def __init__(self, message, *, step, mode=None, bound=None, partial=None):
        super().__init__(message)
        self.step, self.mode, self.bound, self.partial = step, mode, bound, partial
