"""The one mapping from a model config to a training call, shared by ``run``, ``sweep`` and ``study``,
and the in-process cache that lets two parts of one report share a training (Figure 5 and the study)."""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from lindae.validation.experiments.config import CorruptedModel, LinearModel, ModelConfig, ReluModel
from lindae.validation.experiments.store import content_key

#: Model settings that choose only what is recorded, not the trajectory.
RECORDING = ("name", "record_every", "sv_every")


class SharedTrainings:
    """Finished eigenbasis trainings of one process, so that a model asked for twice is trained once.

    A training is identified by its spectrum (eigenvalues and eigenvectors, which with the seed fix the
    trajectory of a marginalised linear model) and every model setting except the recording ones
    (:data:`RECORDING`). A request is served from a kept run when its recorded epochs (and singular-value
    epochs) are among the kept ones; the rows are then picked out, so the result is exactly the one a
    fresh training would give. Only depth-2 linear models with marginalised noise and no minibatches are
    kept (the others touch the data or draw random numbers as they train).
    """

    def __init__(self):
        self._runs = {}
        self.served = 0

    @staticmethod
    def _key(model, spectrum):
        h = hashlib.sha256(np.ascontiguousarray(spectrum.eigenvalues).tobytes())
        h.update(np.ascontiguousarray(spectrum.eigenvectors).tobytes())
        settings = {k: v for k, v in model.to_dict().items() if k not in RECORDING}
        return content_key(h.hexdigest(), settings)

    @staticmethod
    def eligible(model):
        return (isinstance(model, LinearModel) and model.depth == 2 and not model.sampled_noise
                and not model.batch_size)

    def has(self, model, spectrum):
        """True if :meth:`get` would serve ``model`` on ``spectrum``."""
        return self.eligible(model) and any(_restrict(r, model) is not None
                                            for r in self._runs.get(self._key(model, spectrum), []))

    def get(self, model, spectrum):
        """The run of ``model`` on ``spectrum`` if it can be served from a kept one, else None."""
        if not self.eligible(model):
            return None
        for res in self._runs.get(self._key(model, spectrum), []):
            out = _restrict(res, model)
            if out is not None:
                self.served += 1
                return out
        return None

    def put(self, model, spectrum, result):
        if self.eligible(model):
            self._runs.setdefault(self._key(model, spectrum), []).append(result)


def _restrict(res, model):
    """``res`` recorded on ``model``'s grids (every record_every epochs and sv_every for the singular values),
    or None if those epochs were not all recorded."""
    from lindae.validation.training.linear import schedule
    want = schedule(model.epochs, model.record_every)
    rows = np.searchsorted(res.epochs, want)
    if np.any(rows >= len(res.epochs)) or not np.array_equal(res.epochs[np.minimum(rows, len(res.epochs) - 1)], want):
        return None
    sv_want = schedule(model.epochs, model.sv_every or 10 * model.record_every)   # train_linear_ae's default
    sv_rows = np.searchsorted(res.sv_epochs, sv_want)
    if np.any(sv_rows >= len(res.sv_epochs)) or not np.array_equal(res.sv_epochs[np.minimum(sv_rows, len(res.sv_epochs) - 1)], sv_want):
        return None
    config = dict(res.config, name=model.name, record_every=model.record_every, sv_every=model.sv_every)
    return dataclasses.replace(res, epochs=res.epochs[rows], strengths=res.strengths[rows], loss=res.loss[rows],
                               leakage=res.leakage[rows], sv_epochs=res.sv_epochs[sv_rows],
                               singular_values=res.singular_values[sv_rows], config=config)


def train_model(model: ModelConfig, X, spectrum, *, log=None, shared: SharedTrainings | None = None):
    """Train the model a config describes on data ``X`` (or on ``spectrum`` alone, X = None).

    A :class:`~lindae.validation.experiments.config.LinearModel` runs
    :func:`~lindae.validation.training.train_linear_ae` (deep when ``depth`` >= 3), a
    :class:`~lindae.validation.experiments.config.ReluModel` runs
    :func:`~lindae.validation.training.train_relu_ae`. ``log`` receives progress lines.

    Returns
    -------
    TrainResult, DeepResult or ReluResult
    """
    if shared is not None:
        res = shared.get(model, spectrum)
        if res is not None:
            if log is not None:
                log(f"  {model.name}: the same training ran earlier in this job; its records are reused")
            return res
        res = _train(model, X, spectrum, log)
        shared.put(model, spectrum, res)
        return res
    return _train(model, X, spectrum, log)


def _train(model, X, spectrum, log):
    from lindae.validation.training import train_linear_ae, train_relu_ae
    common = dict(seed=model.seed, record_every=model.record_every, weight_decay=model.weight_decay,
                  spectrum=spectrum, progress=log, name=model.name)
    if isinstance(model, ReluModel):
        return train_relu_ae(X, model.hidden, model.lr, model.epochs, noise_std=model.noise_std,
                             init_scale=model.init_scale, dtype=model.dtype, n_modes=model.n_modes, **common)
    if isinstance(model, CorruptedModel):
        from lindae.validation.training.corruption import train_corrupted_ae
        kw = dict(seed=model.seed, record_every=model.record_every, spectrum=spectrum, progress=log, name=model.name,
                  init=model.init, init_scale=model.init_scale, sampled=model.sampled, batch_size=model.batch_size or None)
        if model.init == "aligned":
            kw.update(modes=list(range(1, model.hidden + 1)), u0=model.u0)
        return train_corrupted_ae(X, model.hidden, model.lr, model.epochs, corruption=model.corruption(), **kw)
    if not isinstance(model, LinearModel):
        raise TypeError(f"no training for {type(model).__name__}")
    kw = dict(common, noise_var=model.noise_var, init=model.init, init_scale=model.init_scale,
              sampled_noise=model.sampled_noise)
    if model.init == "aligned":
        kw.update(modes=list(range(1, model.hidden + 1)), u0=model.u0)
    if model.depth > 2:
        kw.update(depth=model.depth)
    else:
        kw.update(sv_every=model.sv_every or None, batch_size=model.batch_size or None)
    return train_linear_ae(X, model.hidden, model.lr, model.epochs, **kw)
