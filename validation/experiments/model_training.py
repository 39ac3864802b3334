"""The one mapping from a model config to a training call, shared by ``run``, ``sweep`` and ``study``."""
from __future__ import annotations

from lindae.validation.experiments.config import LinearModel, ModelConfig, ReluModel


def train_model(model: ModelConfig, X, spectrum, *, log=None):
    """Train the model a config describes on data ``X`` (or on ``spectrum`` alone, X = None).

    A :class:`~lindae.validation.experiments.config.LinearModel` runs
    :func:`~lindae.validation.training.train_linear_ae` (deep when ``depth`` >= 3), a
    :class:`~lindae.validation.experiments.config.ReluModel` runs
    :func:`~lindae.validation.training.train_relu_ae`. ``log`` receives progress lines.

    Returns
    -------
    TrainResult, DeepResult or ReluResult
    """
    from lindae.validation.training import train_linear_ae, train_relu_ae
    common = dict(seed=model.seed, record_every=model.record_every, weight_decay=model.weight_decay,
                  spectrum=spectrum, progress=log, name=model.name)
    if isinstance(model, ReluModel):
        return train_relu_ae(X, model.hidden, model.lr, model.epochs, noise_std=model.noise_std,
                             init_scale=model.init_scale, dtype=model.dtype, n_modes=model.n_modes, **common)
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
