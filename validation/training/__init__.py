"""Training: linear autoencoders in the eigenbasis (shallow and deep), the naive reference algorithm,
sampled input noise, and ReLU autoencoders."""
from .deep import DeepResult, train_deep_linear_ae
from .linear import TrainResult, data_loss_and_gradient, train_linear_ae, train_linear_ae_naive
from .relu import ReluResult, relu_loss_and_gradient, train_relu_ae

__all__ = ["DeepResult", "train_deep_linear_ae", "TrainResult", "data_loss_and_gradient", "train_linear_ae",
           "train_linear_ae_naive", "ReluResult", "relu_loss_and_gradient", "train_relu_ae"]
