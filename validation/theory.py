"""Theory for a training run, and how well it agrees with the measured mode strengths."""
from __future__ import annotations

import numpy as np

from lindae.dynamics import fixed_point, gd_modes, mode_strength, random_init_strength

from lindae.validation.training.linear import TrainResult
from lindae.dynamics.errors import InvalidArgument, InvalidArgumentType
from lindae.dynamics.vocabulary import accepts_deprecated_names


#: The theory variants of :func:`run_theory`, the default first.
VARIANTS = ("coupled", "effective", "orthogonal", "shared")


@accepts_deprecated_names(renames={"u0": "theory"})
def run_theory(result: TrainResult, *, time="discrete", theory=None, warp=None):
    """Predicted strengths (K, D) at ``result.epochs`` for every mode.

    For a deep run (``depth`` >= 3, a :class:`lindae.validation.training.deep.DeepResult`): the exact per-mode map of D2
    (discrete) or the balanced flow of D4 (continuous, balanced starts only), from the aligned start's
    layers, or for a random start from D9's effective balanced starts (``theory`` and ``warp`` do not apply,
    and giving them is a TypeError).

    Parameters
    ----------
    time : {"discrete", "continuous"}
        GD at the run's learning rate (R12's exact map is the single-mode limit), or gradient flow
        at t = lr * epoch (R5/R6).
    theory : {"coupled", "effective", "orthogonal", "shared"}
        "coupled" (default): R15, every mode from the actual initial weights, with the modes competing
        for the H hidden directions (:func:`dynamics.random_init_strength`). The others treat modes
        independently: R14's per-mode effective initial strength ("effective"); R14 orthogonalised
        in eigenvalue order ("orthogonal", see :class:`TrainResult`); or the paper's single shared u0
        (the mean of the top-H singular values of W(0)) for every mode ("shared"). Aligned runs use
        their actual (a0, b0) for every variant but "shared".
    warp : bool
        R15's competition time warp (default True; only for "coupled").
    """
    cfg = result.config
    lam, noise_var, weight_decay, lr = result.eigenvalues, cfg["noise_var"], cfg["weight_decay"], cfg["lr"]
    if cfg.get("depth", 2) > 2:
        if theory is not None or warp is not None:
            raise InvalidArgumentType("theory and warp do not apply to a deep run: its theory is D2's map from "
                                      "aligned layers or D9's effective starts")
        return _deep_theory(result, time)
    u0 = "coupled" if theory is None else theory
    if warp is not None and u0 != "coupled":
        raise InvalidArgumentType(f"warp applies to theory='coupled' (R15) only, not to {u0!r}")
    warp = True if warp is None else warp
    if u0 not in VARIANTS:
        raise InvalidArgument(f"theory must be one of {', '.join(repr(v) for v in VARIANTS)}, got {u0!r}")
    if time not in ("discrete", "continuous"):
        raise InvalidArgument(f"time must be 'discrete' or 'continuous', got {time!r}")
    epochs = result.epochs
    if u0 == "coupled" and result.init_a0 is None:
        if result.init_growing is None:
            raise InvalidArgument("this result does not carry its initial weights (init_growing); use another theory")
        if time == "continuous":
            return random_init_strength(lam, result.init_growing, noise_var=noise_var, weight_decay=weight_decay, t=lr * epochs, warp=warp)[1]
        last = int(epochs[-1]) if len(epochs) else 0
        k, s = random_init_strength(lam, result.init_growing, noise_var=noise_var, weight_decay=weight_decay, lr=lr, epochs=last,
                                    record_every=cfg.get("record_every", 1), warp=warp)
        if not np.array_equal(k, epochs):   # recorded on another grid: evaluate at every step instead
            k, s = random_init_strength(lam, result.init_growing, noise_var=noise_var, weight_decay=weight_decay, lr=lr, epochs=last, warp=warp)
            return s[epochs]
        return s
    if u0 == "shared":
        a0 = b0 = np.full(lam.shape, np.sqrt(result.shared_u0))
    elif result.init_a0 is not None:
        a0, b0 = result.init_a0, result.init_b0
    else:
        a0 = b0 = np.sqrt(result.effective_u0 if u0 == "effective" else result.orthogonal_u0)
    if time == "continuous":
        return mode_strength(lr * epochs[:, None], lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0)
    run = gd_modes(int(epochs[-1]) if len(epochs) else 0, lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0,
                   b0=b0, lr=lr)
    return run.strengths[epochs]


def half_time(epochs, series, target):
    """First epoch (linearly interpolated) at which ``series`` reaches ``target``; None if never."""
    above = np.flatnonzero(series >= target)
    if target <= 0 or len(above) == 0:
        return None
    j = int(above[0])
    if j == 0:
        return float(epochs[0])
    x0, x1, y0, y1 = epochs[j - 1], epochs[j], series[j - 1], series[j]
    return float(x0 + (target - y0) * (x1 - x0) / (y1 - y0))


@accepts_deprecated_names(renames={"u0": "theory"})
def agreement(result: TrainResult, modes, *, time="discrete", theory=None):
    """Per-mode agreement of measured and predicted strengths.

    Returns a dict keyed by the 1-based mode number with ``max_abs`` (max |s - theory| over the
    run), ``t_half_actual``, ``t_half_theory`` (epochs to reach u*/2), ``t_half_error`` (actual - theory)
    and ``t_half_rel_error`` (that over the actual half time).
    """
    predicted = run_theory(result, time=time, theory=theory)
    cfg = result.config
    out = {}
    for m in modes:
        i = m - 1
        s, th = result.strengths[:, i], predicted[:, i]
        ustar = float(fixed_point(result.eigenvalues[i], noise_var=cfg["noise_var"], weight_decay=cfg["weight_decay"],
                                  depth=cfg.get("depth", 2)))
        ta, tt = half_time(result.epochs, s, ustar / 2), half_time(result.epochs, th, ustar / 2)
        err = None if ta is None or tt is None else ta - tt
        out[str(m)] = dict(max_abs=float(np.max(np.abs(s - th))), u_star=ustar, t_half_actual=ta, t_half_theory=tt,
                           t_half_error=err, t_half_rel_error=None if err is None or not ta else err / ta)
    return out, predicted


def paper_agreement(result: TrainResult, modes):
    """The paper's comparison (erratum E2): the j-th largest singular value of W against the
    continuous theory of mode j with the shared u0. Returns per-mode max |sv_j - theory_j|."""
    cfg = result.config
    lam = result.eigenvalues[[m - 1 for m in modes]]
    th = mode_strength(cfg["lr"] * result.sv_epochs[:, None], lam, noise_var=cfg["noise_var"], weight_decay=cfg["weight_decay"],
                       u0=result.shared_u0)
    out = {}
    for j, m in enumerate(modes):
        sv = result.singular_values[:, m - 1] if m - 1 < result.singular_values.shape[1] else np.zeros(len(th))
        out[str(m)] = dict(max_abs=float(np.max(np.abs(sv - th[:, j]))))
    return out, th


def _deep_theory(result, time):
    """Theory for a deep run: D2's per-mode GD map or D4's balanced flow, from the aligned start's own layers
    or, for a random start, from D9's effective balanced starts (see run_theory)."""
    from lindae.dynamics import deep_effective_start
    from lindae.dynamics.depth import deep_balanced_strength, deep_gd_modes
    cfg = result.config
    lam, noise_var, weight_decay, lr, L = result.eigenvalues, cfg["noise_var"], cfg["weight_decay"], cfg["lr"], cfg["depth"]
    if result.init_layers is not None:
        layers = result.init_layers
    elif getattr(result, "init_weights", None) is not None:
        P, mids, Q = result.init_weights
        layers = deep_effective_start(lam, P, mids, Q)
    else:
        raise InvalidArgument("this deep result carries neither its aligned layers nor its initial weights")
    epochs = result.epochs
    if time == "discrete":
        _, s = deep_gd_modes(int(epochs[-1]) if len(epochs) else 0, lam, noise_var=noise_var, weight_decay=weight_decay, layers=layers, lr=lr)
        return s[epochs]
    if time != "continuous":
        raise InvalidArgument(f"time must be 'discrete' or 'continuous', got {time!r}")
    if not np.all(layers == layers[0]):
        raise InvalidArgument("the continuous deep theory (D4) needs balanced starts (every layer equal per mode)")
    u0 = np.prod(layers, axis=0)
    out = np.zeros((len(epochs), len(lam)))
    live = u0 > 0
    out[:, live] = deep_balanced_strength(lr * epochs[:, None], lam[live], noise_var=noise_var, weight_decay=weight_decay, u0=u0[live], depth=L)
    return out


def worst_half_time_error(agreement):
    """(largest |relative error of the epochs to u*/2|, its mode) over the modes that both reach u*/2."""
    rel = [(abs(v["t_half_rel_error"]), int(k)) for k, v in agreement.items() if v.get("t_half_rel_error") is not None]
    return max(rel) if rel else (None, None)
