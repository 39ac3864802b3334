"""Theory for a training run, and how well it agrees with the measured mode strengths."""
from __future__ import annotations

import numpy as np

from lindae.dynamics import fixed_point, gd_modes, mode_strength, random_init_strength

from lindae.validation.training.linear import TrainResult
from lindae.dynamics._checks import as_array
from lindae.dynamics.errors import InvalidArgument, InvalidArgumentType
from lindae.dynamics.vocabulary import accepts_deprecated_names


#: The theory variants of :func:`run_theory`, the default first.
VARIANTS = ("coupled", "effective", "orthogonal", "shared")


@accepts_deprecated_names(renames={"u0": "theory", "warp": "balanced"})
def run_theory(result: TrainResult, *, time="discrete", theory=None, balanced=None):
    """Predicted strengths (K, D) at ``result.epochs`` for every mode.

    For a deep run (``depth`` >= 3, a :class:`lindae.validation.training.deep.DeepResult`): the exact per-mode map of D2
    (discrete) or the balanced flow of D4 (continuous, balanced starts only), from the aligned start's
    layers, or for a random start from D9's effective balanced starts (``theory`` and ``balanced`` do not apply,
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
    balanced : bool
        R15's hand-over to R1's balanced flow at the capacity limit (default True; only for "coupled";
        see :func:`dynamics.random_init_strength`).
    """
    cfg = result.config
    return theory_from_start(result, result.eigenvalues, result.epochs, noise_var=cfg["noise_var"],
                             weight_decay=cfg["weight_decay"], lr=cfg["lr"], depth=cfg.get("depth", 2),
                             record_every=cfg.get("record_every", 1), time=time, theory=theory, balanced=balanced)


def theory_from_start(start, lam, epochs, *, noise_var, weight_decay, lr, depth=2, record_every=1, time="discrete",
                      theory=None, balanced=None):
    """:func:`run_theory` from what a start carries, at the recorded ``epochs`` (K,), for eigenvalues ``lam``.

    ``start`` has the initial-weight fields of a :class:`TrainResult` (``init_a0``, ``init_b0``, ``init_growing``,
    ``effective_u0``, ``orthogonal_u0``, ``shared_u0``) or, at depth >= 3, of a ``DeepResult`` (``init_layers``,
    ``init_weights``): a training run, or :class:`lindae.validation.external.StartSummary` for weights from
    elsewhere.
    """
    epochs = np.asarray(epochs)
    if depth > 2:
        if theory is not None or balanced is not None:
            raise InvalidArgumentType("theory and balanced do not apply to a deep run: its theory is D2's map from "
                                      "aligned layers or D9's effective starts")
        return _deep_theory(start, lam, epochs, noise_var, weight_decay, lr, depth, time)
    u0 = "coupled" if theory is None else theory
    if balanced is not None and u0 != "coupled":
        raise InvalidArgumentType(f"balanced applies to theory='coupled' (R15) only, not to {u0!r}")
    balanced = True if balanced is None else balanced
    if u0 not in VARIANTS:
        raise InvalidArgument(f"theory must be one of {', '.join(repr(v) for v in VARIANTS)}, got {u0!r}")
    if time not in ("discrete", "continuous"):
        raise InvalidArgument(f"time must be 'discrete' or 'continuous', got {time!r}")
    if u0 == "coupled" and start.init_a0 is None:
        if start.init_growing is None:
            raise InvalidArgument("this result does not carry its initial weights (init_growing); use another theory")
        if time == "continuous":
            return random_init_strength(lam, start.init_growing, noise_var=noise_var, weight_decay=weight_decay, t=lr * epochs, balanced=balanced)[1]
        last = int(epochs[-1]) if len(epochs) else 0
        k, s = random_init_strength(lam, start.init_growing, noise_var=noise_var, weight_decay=weight_decay, lr=lr, epochs=last,
                                    record_every=record_every, balanced=balanced)
        if not np.array_equal(k, epochs):   # recorded on another grid: evaluate at every step instead
            k, s = random_init_strength(lam, start.init_growing, noise_var=noise_var, weight_decay=weight_decay, lr=lr, epochs=last, balanced=balanced)
            return s[epochs]
        return s
    if u0 == "shared":
        a0 = b0 = np.full(lam.shape, np.sqrt(start.shared_u0))
    elif start.init_a0 is not None:
        a0, b0 = start.init_a0, start.init_b0
    else:
        a0 = b0 = np.sqrt(start.effective_u0 if u0 == "effective" else start.orthogonal_u0)
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
def agreement(result, modes=None, *, time="discrete", theory=None, strengths=None, at_epochs=None):
    """Per-mode agreement of measured and predicted strengths.

    ``result`` is a training run (:class:`TrainResult`; its own theory is evaluated with ``time`` and ``theory``),
    or a :class:`lindae.validation.external.Prediction` for a model trained elsewhere: then ``strengths`` (K, D)
    are the measured strengths (:func:`lindae.validation.strengths_from_weights`) at the epochs ``at_epochs``
    (K,; default the prediction's own), which must be among the predicted epochs. ``modes`` are 1-based mode
    numbers (default 1 ... min(H, D)).

    Returns a dict keyed by the 1-based mode number with ``max_abs`` (max |s - theory| over the
    run), ``t_half_actual``, ``t_half_theory`` (epochs to reach u*/2), ``t_half_error`` (actual - theory)
    and ``t_half_rel_error`` (that over the actual half time); and the predicted strengths at those epochs.
    """
    from lindae.validation.external import Prediction
    if isinstance(result, Prediction):
        if time != "discrete" or theory is not None:
            raise InvalidArgumentType("a Prediction carries its theory: time and theory were chosen in predict()")
        if strengths is None:
            raise InvalidArgumentType("scoring a Prediction needs the measured strengths (K, D) and their at_epochs")
        epochs = result.epochs if at_epochs is None else np.asarray(as_array("at_epochs", at_epochs))
        measured = as_array("strengths", strengths)
        D = result.eigenvalues.size
        if measured.ndim != 2 or measured.shape != (len(epochs), D):
            raise InvalidArgument(f"strengths must have shape (len(at_epochs), D) = ({len(epochs)}, {D}), "
                                  f"got {measured.shape}")
        where = np.searchsorted(result.epochs, epochs)
        missing = (where >= len(result.epochs)) | (result.epochs[np.minimum(where, len(result.epochs) - 1)] != epochs)
        if np.any(missing):
            raise InvalidArgument(f"epoch {epochs[missing][0]:g} was not predicted; call predict with a "
                                  f"record_every that divides the recorded epochs")
        predicted = result.strengths[where]
        lam, noise_var, weight_decay, depth = result.eigenvalues, result.noise_var, result.weight_decay, result.depth
        modes = list(range(1, min(result.hidden, D) + 1)) if modes is None else modes
    else:
        if strengths is not None or at_epochs is not None:
            raise InvalidArgumentType("strengths and at_epochs go with a Prediction; a training run carries its own")
        predicted = run_theory(result, time=time, theory=theory)
        cfg = result.config
        epochs, measured, lam = result.epochs, result.strengths, result.eigenvalues
        noise_var, weight_decay, depth = cfg["noise_var"], cfg["weight_decay"], cfg.get("depth", 2)
        modes = list(range(1, min(cfg["hidden"], lam.size) + 1)) if modes is None else modes
    out = {}
    for m in modes:
        i = m - 1
        s, th = measured[:, i], predicted[:, i]
        ustar = float(fixed_point(lam[i], noise_var=noise_var, weight_decay=weight_decay, depth=depth))
        ta, tt = half_time(epochs, s, ustar / 2), half_time(epochs, th, ustar / 2)
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


def _deep_theory(start, lam, epochs, noise_var, weight_decay, lr, L, time):
    """Theory for a deep run: D2's per-mode GD map or D4's balanced flow, from the aligned start's own layers
    or, for a random start, from D9's effective balanced starts (see run_theory)."""
    from lindae.dynamics import deep_effective_start
    from lindae.dynamics.depth import deep_balanced_strength, deep_gd_modes
    if start.init_layers is not None:
        layers = start.init_layers
    elif getattr(start, "init_weights", None) is not None:
        P, mids, Q = start.init_weights
        layers = deep_effective_start(lam, P, mids, Q)
    else:
        raise InvalidArgument("this deep result carries neither its aligned layers nor its initial weights")
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


#: Largest relative off-diagonal entry of B̃ for which an aligned start is treated as decoupled (N4).
DECOUPLED = 1e-12


def run_corrupted_theory(result):
    """(which theory, predicted strengths (K, D)) at ``result.epochs`` for a run of
    :func:`lindae.validation.training.corruption.train_corrupted_ae`.

    * An aligned start under a corruption whose B̃ is diagonal (N4: e.g. scaled masking of standardised data)
      decouples exactly: each mode follows R12's exact GD map with its own noise εᵢ = B̃ᵢᵢ − λᵢ.
    * Otherwise (random starts, or a non-diagonal B̃): the Riccati surrogate N7 from the actual initial weights
      (:func:`dynamics.noise_models.surrogate_strength`), in discrete time.
    * Hidden-unit dropout has no learning-curve theory here (its penalty is not a function of W, N3); its
      optimum is N6 (:func:`dynamics.noise_models.dropout_optimum`), and this raises InvalidArgument.
    """
    from lindae.dynamics.noise_models import surrogate_strength
    cor = result.corruption
    if cor is not None and cor.rho:
        raise InvalidArgument("hidden-unit dropout has no learning-curve theory (N3's penalty depends on the factors); "
                              "compare its end point with dynamics.noise_models.dropout_optimum (N6)")
    lr, epochs = float(result.config["lr"]), np.asarray(result.epochs)
    Bt = result.B
    off = np.max(np.abs(Bt - np.diag(np.diag(Bt)))) if Bt.size else 0.0
    if (result.init_a0 is not None and off <= DECOUPLED * np.max(np.abs(Bt))
            and np.allclose(result.kappa, result.eigenvalues, rtol=0, atol=0)):
        eps_i = np.maximum(np.diag(Bt) - result.kappa, 0.0)
        run = gd_modes(int(epochs[-1]) if len(epochs) else 0, result.kappa, noise_var=eps_i, a0=result.init_a0,
                       b0=result.init_b0, lr=lr)
        return "per-mode exact GD map (R12 with each mode's own noise B̃ᵢᵢ − λᵢ, N4)", run.strengths[epochs]
    _, s = surrogate_strength(result.kappa, Bt, result.init_growing, lr=lr, epochs=epochs)
    return "Riccati surrogate (N7) from the actual initial weights, discrete time", s
