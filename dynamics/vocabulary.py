"""lindae's one vocabulary: every concept has one name in functions, dataclasses, config keys and CLI options.

:data:`VOCABULARY` is the table docs/conventions.md shows (a test keeps the two equal and checks the
signatures of the exported functions against it). :data:`DEPRECATED` lists the spellings of the previous
release; they keep working for this release only, with a DeprecationWarning that names the new one
(:func:`accepts_deprecated_names`).

    >>> import warnings
    >>> @accepts_deprecated_names
    ... def f(lam, *, noise_var=0.0):
    ...     return lam + noise_var
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     value = f(1.0, eps=0.5)
    >>> value, str(caught[0].message)
    (1.5, "f: 'eps' is deprecated; use 'noise_var'")
"""
from __future__ import annotations

import functools
import inspect
import warnings
from typing import NamedTuple

from .errors import InvalidArgumentType


class Term(NamedTuple):
    """One row of the vocabulary: the concept, its one name, its symbol in the docs."""
    concept: str
    name: str
    symbol: str


VOCABULARY = (
    Term("eigenvalue of the second-moment matrix Σ (per mode)", "lam", "λ"),
    Term("variance of the Gaussian input noise", "noise_var", "ε = σ²"),
    Term("standard deviation of the sampled input noise of a ReLU model", "noise_std", "σ"),
    Term("weight decay", "weight_decay", "γ"),
    Term("learning rate", "lr", "η"),
    Term("number of full-batch gradient-descent steps (one step per epoch)", "epochs", "k"),
    Term("continuous time", "t", "t = ηk"),
    Term("record every so many epochs", "record_every", ""),
    Term("hidden width", "hidden", "H"),
    Term("number of weight layers", "depth", "L"),
    Term("initial strength of a balanced mode", "u0", "u₀"),
    Term("initial first- and last-layer weight of a mode", "a0, b0", "a₀, b₀"),
    Term("initial weights of every layer of every mode, shape (depth, modes)", "layers", "w_l(0)"),
    Term("standard deviation of random initial weights", "init_scale", "σ₀"),
    Term("mode numbers: 1-based, in the order of decreasing eigenvalue", "modes", "i"),
    Term("how many modes", "n_modes", ""),
    Term("which theory of run_theory and agreement", "theory", ""),
    Term("random seed", "seed", ""),
    Term("test second moment along a training eigenvector, v̂ᵢᵀΣ_test v̂ᵢ (per mode)", "test_moment", "Mᵢᵢ"),
    Term("variance of the noise on the test inputs (0: the clean test error)", "test_noise_var", "ε_t"),
    Term("probability that input masking keeps an input", "keep", "q"),
    Term("probability that hidden-unit dropout keeps a unit", "dropout_keep", "θ"),
    Term("covariance of Gaussian input noise (a D × D matrix)", "noise_cov", "Ψ"),
    Term("Gaussian input noise of covariance noise_scale · diag Σ", "noise_scale", "c"),
)

#: Old spelling -> new name, accepted (with a DeprecationWarning) for this release only.
DEPRECATED = {"eps": "noise_var", "gamma": "weight_decay", "eta": "lr", "steps": "epochs", "init_std": "init_scale"}


def accepts_deprecated_names(fn=None, *, renames=None):
    """Decorate ``fn`` so that the old spelling of each of its parameters (:data:`DEPRECATED`, or ``renames``)
    still works, with a DeprecationWarning naming the new one. Giving both spellings is a TypeError."""
    if fn is None:
        return functools.partial(accepts_deprecated_names, renames=renames)
    params = inspect.signature(fn).parameters
    table = {old: new for old, new in (renames or DEPRECATED).items() if new in params and old not in params}
    if not table:
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for old, new in table.items():
            if old in kwargs:
                if new in kwargs:
                    raise InvalidArgumentType(f"{fn.__name__}: give {new!r} only ({old!r} is its deprecated spelling)")
                warnings.warn(f"{fn.__name__}: {old!r} is deprecated; use {new!r}", DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
        return fn(*args, **kwargs)
    wrapper.deprecated_names = dict(table)
    return wrapper


def deprecated_alias(new, old_name: str, how: str):
    """``new`` under its old name ``old_name``: calls warn that ``how`` replaces it (for this release only)."""
    @functools.wraps(new)
    def alias(*args, **kwargs):
        warnings.warn(f"{old_name} is deprecated; use {how}", DeprecationWarning, stacklevel=2)
        return new(*args, **kwargs)
    alias.__name__ = alias.__qualname__ = old_name
    alias.__doc__ = f"Deprecated: use {how}."
    return alias


def markdown_table() -> str:
    """:data:`VOCABULARY` as the Markdown table of docs/conventions.md (a test keeps the two equal)."""
    rows = ["| concept | name | symbol |", "|---|---|---|"]
    rows += [f"| {t.concept} | `{t.name}` | {t.symbol} |" for t in VOCABULARY]
    rows += ["", "Deprecated spellings, accepted with a DeprecationWarning for this release only: "
             + ", ".join(f"`{old}` → `{new}`" for old, new in DEPRECATED.items()) + "."]
    return "\n".join(rows) + "\n"
