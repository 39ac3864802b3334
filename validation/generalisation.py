r"""Theory of a run's train and test errors (G1 on the predicted strengths), and the finite-data optima.

For every recorded epoch the per-mode theory gives the strengths :math:`s_i(t)` (:func:`run_theory`: R15 from the
run's own random start, the exact per-mode map for an aligned one); G1 then gives the test error of the diagonal
:math:`\tilde W = \operatorname{diag}(s_i)`:

.. math:: E_\text{test}(t) = \sum_i \tfrac12 M_{ii}(1 - s_i(t))^2 + \tfrac{\varepsilon_t}{2}s_i(t)^2,
          \qquad M_{ii} = \hat v_i^\top\Sigma_\text{test}\hat v_i.

For an aligned start :math:`\tilde W` is diagonal and this is exact. For a random start the measured error differs
by exactly two parts (G1, and :math:`e(a) - e(b) = (a - b)\,e'(\tfrac{a+b}{2})` for a parabola):

.. math:: E_\text{meas} - E_\text{theory} = \underbrace{E(\tilde W) - E(\operatorname{diag}\tilde W)}_{\text{off-diagonal}}
          + \sum_i \Delta s_i\,e_i'(\bar s_i),\qquad e_i'(s) = s(M_{ii} + \varepsilon_t) - M_{ii},

with :math:`\Delta s_i` R15's error in mode i and :math:`\bar s_i` the midpoint; so
:math:`|E_\text{meas} - E_\text{theory}| \le |\text{off-diagonal}| + \max_i|\Delta s_i|\sum_i|e_i'(\bar s_i)|`
(:func:`test_error_bound`).
"""
from __future__ import annotations

import numpy as np

from lindae.dynamics.errors import InvalidArgument
from lindae.dynamics.generalisation import test_error
from lindae.validation.theory import run_theory
from lindae.validation.training.holdout import CURVES, ErrorMeter


def _test_moment(result, X_test):
    if X_test is None:
        if getattr(result, "test_moment", None) is None:
            raise InvalidArgument("this run was trained without X_test: pass X_test, or train with X_test=...")
        return result.test_moment
    V = getattr(result, "eigenvectors", None)
    if V is None:
        raise InvalidArgument("run_test_theory(result, X_test) needs the training eigenvectors: train with X_test=... "
                              "(the run then carries M_ii) or pass spectrum=")
    if result.config.get("center"):
        raise InvalidArgument("a centred run: train it with X_test=... (the test inputs are centred with the "
                              "training mean)")
    return ErrorMeter.from_data(X_test, V, result.eigenvalues, result.config["noise_var"]).test_moment


def run_test_theory(result, X_test=None, *, time="discrete", theory=None, strengths=None):
    """Predicted train and test error curves of a run at ``result.epochs`` (G1 on :func:`run_theory`'s strengths).

    Parameters
    ----------
    result : TrainResult
        A depth-2 run trained with ``X_test=...`` (it carries M_ii), or any run with ``X_test`` given here and the
        training eigenvectors on the result.
    time, theory
        As in :func:`run_theory`.
    strengths : ndarray (K, D), optional
        Strengths to evaluate instead of the theory's (e.g. the measured ones, to separate the two parts of the
        module docstring's identity).

    Returns
    -------
    dict
        ``test_error``, ``test_denoising_error`` (test inputs with the run's noise variance, marginalised),
        ``train_error``, ``train_denoising_error``: ndarrays (K,).
    """
    M = _test_moment(result, X_test)
    s = run_theory(result, time=time, theory=theory) if strengths is None else np.asarray(strengths, dtype=float)
    eps, lam = result.config["noise_var"], result.eigenvalues
    return {"test_error": test_error(s, M), "test_denoising_error": test_error(s, M, test_noise_var=eps),
            "train_error": test_error(s, lam), "train_denoising_error": test_error(s, lam, test_noise_var=eps)}


def test_error_bound(result, predicted_strengths=None, *, curve="test_denoising_error"):
    """The bound of the module docstring on |measured - predicted| for ``curve`` at every recorded epoch:
    |off-diagonal part| + max_i |Δs_i| · Σ_i |e_i'(s̄_i)| (K,)."""
    if curve not in CURVES or getattr(result, curve, None) is None:
        raise InvalidArgument(f"curve must be one of {', '.join(CURVES)} recorded on the run (train with X_test=...)")
    s_meas = result.strengths
    s_pred = run_theory(result) if predicted_strengths is None else predicted_strengths
    M = result.test_moment if curve.startswith("test") else result.eigenvalues
    eps = result.config["noise_var"] if "denoising" in curve else 0.0
    diag = test_error(s_meas, M, test_noise_var=eps)
    off = np.asarray(getattr(result, curve)) - diag
    mid = 0.5 * (s_meas + s_pred)
    slope = np.abs(mid * (M + eps) - M)
    return np.abs(off) + np.max(np.abs(s_meas - s_pred), axis=1) * np.sum(slope, axis=1)
