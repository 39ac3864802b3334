r"""Loss conventions: converting a learning rate, noise, weight decay and time between the way a loss is
normalised elsewhere and lindae's per-sample loss.

lindae minimises the per-sample loss (docs/conventions.md)

.. math:: \mathcal L = \tfrac12\,\mathbb E_n\|x_n - \hat x_n\|^2 = \tfrac1{2N}\sum_{n,d}(x_{nd} - \hat x_{nd})^2,

with :math:`\Sigma = X^\top X/N`. Any other normalisation of the same squared error is :math:`c\,\mathcal L` for
a constant :math:`c` (:data:`LOSSES`). Gradient descent with rate :math:`\eta_u` on :math:`c\,\mathcal L` is
gradient descent with rate :math:`\eta = c\,\eta_u` on :math:`\mathcal L`, step for step, so

.. math:: \eta = c\,\eta_u,\qquad t = \eta k,\qquad
          \gamma = w/c\ \text{(L2: the optimiser adds } wW \text{ to the gradient)},\qquad
          \gamma = w/\eta\ \text{(decoupled: } W \leftarrow W - wW \text{ every step)},

and a penalty :math:`\rho\|W\|_F^2` that the user writes beside the loss is lindae's
:math:`(\varepsilon/2)\|W\|_F^2` with :math:`\varepsilon = 2\rho/c`. Input noise of variance
:math:`\sigma^2` (sampled, or marginalised in the user's own convention) is :math:`\varepsilon = \sigma^2` in
every convention: it is a property of the inputs, not of the loss's normalisation.

The paper's convention ("paper", the summed scatter) also quotes its eigenvalues, noise and weight decay
scaled by N (:math:`\lambda_\text{paper} = N\lambda`, :math:`\varepsilon_\text{paper} = N\sigma^2`, the
coefficient of its summed loss); :func:`to_paper_units` and :func:`from_paper_units` are that convention.
"""
from __future__ import annotations

from dataclasses import dataclass

from ._checks import as_array, as_int
from .errors import InvalidArgument, InvalidArgumentType

#: name -> (what the loss is, c = num/den as a function of (N, D), what c needs). The user's loss is c times lindae's.
LOSSES = {
    "lindae": ("½ · mean over samples of ‖x − x̂‖² (lindae, R1)", lambda N, D: (1, 1), ()),
    "paper": ("½ · sum over samples of ‖x − x̂‖² (the paper: summed scatter)", lambda N, D: (N, 1), ("n_samples",)),
    "mean": ("mean over all N·D entries of (x − x̂)² (torch MSELoss(), optax l2 mean, Keras 'mse')",
             lambda N, D: (2, D), ("n_features",)),
    "batch_mean": ("mean over samples of ‖x − x̂‖² (sum over features)", lambda N, D: (2, 1), ()),
    "sum": ("sum over all N·D entries of (x − x̂)² (torch MSELoss(reduction='sum'))", lambda N, D: (2 * N, 1),
            ("n_samples",)),
}

#: The quantities a convention converts.
QUANTITIES = ("lam", "lr", "noise_var", "noise_penalty", "weight_decay", "t")


@dataclass(frozen=True)
class LossConvention:
    r"""How a user's loss is normalised, and the conversions to lindae's units that follow from it.

    Parameters
    ----------
    name : {"lindae", "paper", "mean", "batch_mean", "sum"}
        The convention (:data:`LOSSES`).
    n_samples, n_features : int, optional
        N and D, where the convention's factor c needs them ("paper" and "sum" need N, "mean" needs D).
    decoupled : bool
        How ``weight_decay`` is applied by the user's optimiser: False (default, L2) when it adds
        :math:`wW` to the gradient (``torch.optim.SGD(weight_decay=w)``, ``optax.add_decayed_weights(w)``
        chained before ``optax.sgd``); True when every step also shrinks the weights by :math:`wW`,
        independent of the learning rate. For plain SGD, a decay multiplied by the learning rate (AdamW's
        form) is the L2 case.

    Examples
    --------
    >>> mean = LossConvention("mean", n_features=784)
    >>> mean.scale                          # torch's MSELoss is (2/D) times lindae's loss
    0.002551020408163265
    >>> mean.to_lindae(lr=3.92, noise_penalty=0.25)
    {'lr': 0.01, 'noise_var': 196.0}
    """

    name: str = "lindae"
    n_samples: int | None = None
    n_features: int | None = None
    decoupled: bool = False

    def __post_init__(self):
        if self.name not in LOSSES:
            raise InvalidArgument(f"loss must be one of {', '.join(map(repr, LOSSES))}, got {self.name!r}")
        for need in LOSSES[self.name][2]:
            value = getattr(self, need)
            if value is None:
                raise InvalidArgumentType(f"the {self.name!r} convention needs {need}")
            object.__setattr__(self, need, as_int(need, value, lo=1))
        if not isinstance(self.decoupled, bool):
            raise InvalidArgumentType(f"decoupled must be True or False, got {self.decoupled!r}")

    @property
    def scale(self) -> float:
        """c: the user's loss is c times lindae's per-sample loss."""
        num, den = LOSSES[self.name][1](self.n_samples, self.n_features)
        return num / den

    @property
    def description(self) -> str:
        return LOSSES[self.name][0]

    def to_lindae(self, **values) -> dict:
        r"""The user's values -> lindae's. Keys: ``lam``, ``lr`` (:math:`\eta = c\eta_u`), ``t``
        (:math:`c\,\eta_u k`), ``noise_var`` (unchanged, except "paper": :math:`/N`), ``noise_penalty``
        (returned as lindae's ``noise_var``, :math:`\varepsilon = 2\rho/c`), ``weight_decay`` (L2: :math:`w/c`; decoupled: :math:`w/(c\eta_u)`, which
        needs ``lr`` too). ``lam`` converts only in the paper convention (the others use Σ = XᵀX/N)."""
        return self._convert(values, up=False)

    def from_lindae(self, **values) -> dict:
        """lindae's values -> the user's (the inverse of :meth:`to_lindae`)."""
        return self._convert(values, up=True)

    def _convert(self, values, up):
        num, den = LOSSES[self.name][1](self.n_samples, self.n_features)
        paper = self.name == "paper"
        if "noise_var" in values and "noise_penalty" in values and not up:
            raise InvalidArgumentType("give noise_var (the inputs' noise) or noise_penalty (a penalty written beside "
                                      "the loss), not both")
        out = {}
        for key, val in values.items():
            if key not in QUANTITIES:
                raise InvalidArgumentType(f"unknown quantity {key!r}; convert one of {', '.join(QUANTITIES)}")
            v = as_array(key, val, lo=0.0)
            # lindae value = user value * a / b
            if key in ("lr", "t"):
                a, b = num, den                             # eta = c * eta_user
            elif key in ("lam", "noise_var"):
                a, b = (1, self.n_samples) if paper else (1, 1)
            elif key == "noise_penalty":
                a, b = 2 * den, num                         # eps = 2 rho / c
            elif self.decoupled:                            # weight_decay applied as W <- W - w W per step
                if "lr" not in values:
                    raise InvalidArgumentType("a decoupled weight_decay converts with the learning rate: give lr too")
                lr = float(as_array("lr", values["lr"], lo=0.0, lo_open=True))
                a, b = (den, num * lr) if not up else (1.0, lr)   # gamma = w / eta, eta = c * eta_user
            else:                                           # L2: gamma = w / c
                a, b = den, num
            conv = v * b / a if up else v * a / b
            name = "noise_var" if key == "noise_penalty" and not up else key
            out[name] = float(conv) if v.ndim == 0 else conv
        return out


def to_paper_units(n_samples, **values):
    """Per-sample values (lam, noise_var, weight_decay, lr) -> the paper's summed-scatter values
    (:class:`LossConvention` ``("paper", n_samples)``).

    >>> to_paper_units(50000, lam=2.0, lr=0.5)
    {'lam': 100000.0, 'lr': 1e-05}
    """
    return LossConvention("paper", n_samples=n_samples).from_lindae(**values)


def from_paper_units(n_samples, **values):
    """The paper's summed-scatter values (lam, noise_var, weight_decay, lr) -> per-sample values."""
    return LossConvention("paper", n_samples=n_samples).to_lindae(**values)
