"""lindae.validation: training on real data, per-mode comparison with theory, Figures 5-6, the report.

Example::

    >>> import numpy as np
    >>> from lindae import validation
    >>> X = np.random.default_rng(0).standard_normal((200, 10)) * np.linspace(2, .2, 10)
    >>> r = validation.train_linear_ae(X, hidden=4, lr=0.05, epochs=100, noise_var=0.2)
    >>> r.strengths.shape
    (101, 10)
"""
from lindae.validation.data import (DataError, DataNotFound, Moments, Spectrum, as_spectrum, cache_dir, cached_spectrum, check_data,
                                   compute_spectrum, fetch_mnist, load_array, load_cifar10, load_idx_dir, load_mnist,
                                   load_spectrum_file, read_idx, second_moment, streaming_moments, write_spectrum_file)
from lindae.validation.experiments.config import ConfigError, load_config, parse_config
from lindae.validation.experiments.runner import RunFailed, run_config
from lindae.validation.experiments.sweep import load_sweep, parse_sweep, run_sweep
from lindae.validation.theory import agreement, paper_agreement, run_corrupted_theory, run_theory
from lindae.validation.training.corruption import Corruption, CorruptedResult, train_corrupted_ae
from lindae.validation.external import Prediction, predict, strengths_from_weights
from lindae.validation.generalisation import run_test_theory, test_error_bound
from lindae.validation.training import (Architecture, DeepResult, ModeCurves, Objective, ReluResult, Report, Schedule,
                                       Start, TrainResult, data_loss_and_gradient, relu_loss_and_gradient, train,
                                       train_deep_linear_ae, train_linear_ae, train_linear_ae_naive, train_relu_ae,
                                       SGDEnsemble, combine_sgd_ensembles, run_sgd_theory, train_sgd_ensemble)

__all__ = ["ConfigError", "load_config", "parse_config", "DataError", "DataNotFound", "cache_dir", "check_data", "fetch_mnist",
           "load_array", "load_cifar10", "load_idx_dir", "load_mnist", "read_idx", "ReluResult",
           "relu_loss_and_gradient", "train_relu_ae", "RunFailed", "run_config", "Spectrum", "cached_spectrum",
           "compute_spectrum", "second_moment", "agreement", "paper_agreement", "run_theory", "TrainResult",
           "data_loss_and_gradient", "train_linear_ae", "train_linear_ae_naive", "Moments", "load_spectrum_file",
           "streaming_moments", "write_spectrum_file", "load_sweep", "parse_sweep", "run_sweep", "DeepResult",
           "train_deep_linear_ae", "train", "Architecture", "Start", "Objective", "Schedule", "Report", "ModeCurves",
           "Prediction", "predict", "strengths_from_weights", "as_spectrum",
           "run_test_theory", "test_error_bound", "Corruption", "CorruptedResult", "train_corrupted_ae",
           "run_corrupted_theory", "SGDEnsemble", "combine_sgd_ensembles", "run_sgd_theory", "train_sgd_ensemble"]
