"""The run, sweep and study configs that ship with lindae (TOML files beside this module).

``lindae run fig5_mnist.toml`` finds a shipped config by its file name when no such file exists in
the working directory; :func:`config_path` gives its path.
"""
from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def names() -> list[str]:
    """The file names of the shipped configs, sorted."""
    return sorted(f for f in os.listdir(HERE) if f.endswith(".toml"))


def config_path(name: str) -> str:
    """The path of the shipped config ``name`` (with or without ``.toml``).

    Raises
    ------
    FileNotFoundError
        If no such config ships with lindae; the message lists the ones that do.
    """
    base = os.path.basename(name)
    base = base if base.endswith(".toml") else base + ".toml"
    path = os.path.join(HERE, base)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no shipped config {name!r}; shipped: {', '.join(names())}")
    return path
