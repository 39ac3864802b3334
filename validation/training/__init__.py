"""Training: linear autoencoders in the eigenbasis (shallow and deep), composed of an Architecture, a Start, an
Objective and a Schedule (:func:`train`; ``train_linear_ae`` takes the same as keywords), the naive reference
algorithm, sampled input noise, and ReLU autoencoders."""
from .deep import DeepResult, train_deep_linear_ae
from .linear import ModeCurves, Report, TrainResult, data_loss_and_gradient, train, train_linear_ae, train_linear_ae_naive
from .parts import Architecture, Objective, Schedule, Start
from .relu import ReluResult, relu_loss_and_gradient, train_relu_ae
from .sgd import SGDEnsemble, combine_sgd_ensembles, run_sgd_theory, train_sgd_ensemble

__all__ = ["Architecture", "Objective", "Schedule", "Start", "Report", "train", "ModeCurves", "DeepResult", "train_deep_linear_ae", "TrainResult", "data_loss_and_gradient", "train_linear_ae",
           "train_linear_ae_naive", "ReluResult", "relu_loss_and_gradient", "train_relu_ae", "SGDEnsemble", "combine_sgd_ensembles", "run_sgd_theory",
           "train_sgd_ensemble"]
