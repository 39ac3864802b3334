"""lindae.validation: training on real data, per-mode comparison with theory, Figures 5-6, the report.

Example::

    >>> import numpy as np
    >>> from lindae import validation
    >>> X = np.random.default_rng(0).standard_normal((200, 10)) * np.linspace(2, .2, 10)
    >>> r = validation.train_linear_ae(X, hidden=4, lr=0.05, epochs=100, noise_var=0.2)
    >>> r.strengths.shape
    (101, 10)
"""
from .config import ConfigError, load_config, parse_config
from .deep import DeepResult, train_deep_linear_ae
from .data import (DataError, DataNotFound, cache_dir, check_data, fetch_mnist, load_array, load_cifar10, load_idx_dir,
                   load_mnist, read_idx)
from .relu import ReluResult, relu_loss_and_gradient, train_relu_ae
from .runner import RunFailed, run_config
from .spectrum import Spectrum, cached_spectrum, compute_spectrum, second_moment
from .stream import Moments, load_spectrum_file, streaming_moments, write_spectrum_file
from .sweep import load_sweep, parse_sweep, run_sweep
from .theory import agreement, paper_agreement, run_theory
from .train import TrainResult, data_loss_and_gradient, train_linear_ae, train_linear_ae_naive

__all__ = ["ConfigError", "load_config", "parse_config", "DataError", "DataNotFound", "cache_dir", "check_data", "fetch_mnist",
           "load_array", "load_cifar10", "load_idx_dir", "load_mnist", "read_idx", "ReluResult",
           "relu_loss_and_gradient", "train_relu_ae", "RunFailed", "run_config", "Spectrum", "cached_spectrum",
           "compute_spectrum", "second_moment", "agreement", "paper_agreement", "run_theory", "TrainResult",
           "data_loss_and_gradient", "train_linear_ae", "train_linear_ae_naive", "Moments", "load_spectrum_file",
           "streaming_moments", "write_spectrum_file", "load_sweep", "parse_sweep", "run_sweep", "DeepResult",
           "train_deep_linear_ae"]
