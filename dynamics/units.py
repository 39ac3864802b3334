r"""Conversion between the toolkit's per-sample units and the paper's summed-scatter units.

The toolkit (docs/conventions.md) uses the per-sample mean loss, so :math:`\Sigma = X^\top X/N`. The paper
and its notebooks use the summed scatter :math:`\sum_n x_nx_n^\top`, so

.. math:: \lambda_\mathrm{paper} = N\lambda,\quad \varepsilon_\mathrm{paper} = N\sigma^2,\quad
          \gamma_\mathrm{paper} = N\gamma,\quad \eta_\mathrm{paper} = \eta/N\ (\tau = 1/\eta_\mathrm{paper} = N/\eta)

Every product :math:`\eta\lambda`, :math:`\eta\varepsilon`, :math:`\eta\gamma` is unchanged, so the learning
curves against epochs are identical; only the labels differ. Never mix the two systems in one call.
"""
from __future__ import annotations

from ._checks import as_array, as_int
from .errors import InvalidArgumentType

_SCALED_UP = ("lam", "noise_var", "weight_decay")


def to_paper_units(n_samples, **values):
    """Per-sample values (lam, noise_var, weight_decay, lr) -> the paper's summed-scatter values.

    >>> to_paper_units(50000, lam=2.0, lr=0.5)
    {'lam': 100000.0, 'lr': 1e-05}
    """
    return _convert(n_samples, values, up=True)


def from_paper_units(n_samples, **values):
    """The paper's summed-scatter values (lam, noise_var, weight_decay, lr) -> per-sample values."""
    return _convert(n_samples, values, up=False)


def _convert(n_samples, values, up):
    N = as_int("n_samples", n_samples, lo=1)
    out = {}
    for key, val in values.items():
        if key not in _SCALED_UP + ("lr",):
            raise InvalidArgumentType(f"unknown quantity {key!r}; convert lam, noise_var, weight_decay or lr")
        v = as_array(key, val, lo=0.0)
        factor = N if (key in _SCALED_UP) == up else 1.0 / N
        out[key] = float(v * factor) if v.ndim == 0 else v * factor
    return out
