r"""Loss conventions: converting a learning rate, noise, weight decay and time between the way a loss is
normalised elsewhere and lindae's per-sample loss.

lindae minimises the per-sample loss (docs/conventions.md)

.. math:: \mathcal L = \tfrac12\,\mathbb E_n\|x_n - \hat x_n\|^2 = \tfrac1{2N}\sum_{n,d}(x_{nd} - \hat x_{nd})^2,

with :math:`\Sigma = X^\top X/N`. Any other normalisation of the same squared error is :math:`\nu\,\mathcal L` for
a constant :math:`\nu` (:data:`LOSSES`). Gradient descent with rate :math:`\eta_u` on :math:`\nu\,\mathcal L` is
gradient descent with rate :math:`\eta = \nu\,\eta_u` on :math:`\mathcal L`, step for step, so

.. math:: \eta = \nu\,\eta_u,\qquad t = \eta k,\qquad
          \gamma = w/\nu\ \text{(L2: the optimiser adds } wW \text{ to the gradient)},\qquad
          \gamma = w/\eta\ \text{(decoupled: } W \leftarrow W - wW \text{ every step)},

and a penalty :math:`\rho\|W\|_F^2` that the user writes beside the loss is lindae's
:math:`(\varepsilon/2)\|W\|_F^2` with :math:`\varepsilon = 2\rho/\nu`. Input noise of variance
:math:`\sigma^2` (sampled, or marginalised in the user's own convention) is :math:`\varepsilon = \sigma^2` in
every convention: it is a property of the inputs, not of the loss's normalisation.

The paper's convention ("paper", the summed scatter) also quotes its eigenvalues, noise and weight decay
scaled by N (:math:`\lambda_\text{paper} = N\lambda`, :math:`\varepsilon_\text{paper} = N\sigma^2`, the
coefficient of its summed loss); :func:`to_paper_units` and :func:`from_paper_units` are that convention.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

from ._checks import as_array, as_int
from .errors import InvalidArgument, InvalidArgumentType

class Loss(NamedTuple):
    """One loss convention: the loss, its factor ν = num/den over lindae's as a function of (N, D), the sizes
    ν needs, ν as the docs write it, and where the convention is met."""
    loss: str
    factor: Callable
    needs: tuple
    c: str
    seen_in: str


#: name -> :class:`Loss`. The user's loss is ν times lindae's.
LOSSES = {
    "lindae": Loss("½ · mean over samples of ‖x − x̂‖²", lambda N, D: (1, 1), (), "1", "lindae (R1)"),
    "paper": Loss("½ · sum over samples of ‖x − x̂‖²", lambda N, D: (N, 1), ("n_samples",), "N",
                  "the paper and its notebooks (summed scatter)"),
    "mean": Loss("mean over all N·D entries of (x − x̂)²", lambda N, D: (2, D), ("n_features",), "2/D",
                 "`torch.nn.MSELoss()`, Keras `\"mse\"`, `jnp.mean((x - x_hat) ** 2)`"),
    "batch_mean": Loss("mean over samples of ‖x − x̂‖²", lambda N, D: (2, 1), (), "2",
                       "`((x - x_hat) ** 2).sum(1).mean()`"),
    "sum": Loss("sum over all N·D entries of (x − x̂)²", lambda N, D: (2 * N, 1), ("n_samples",), "2N",
                "`torch.nn.MSELoss(reduction=\"sum\")`"),
}


def conventions_table() -> str:
    """The Markdown table of docs/conventions.md, each conversion worked out by SymPy from the convention's ν
    (a test keeps the page equal to it)."""
    import sympy as sp
    N, D, eta, w, rho = sp.symbols("N D η_u w ρ", positive=True)
    show = lambda e: str(e).replace("**", "^").replace("*", "·")  # noqa: E731
    rows = ["| `loss=` | the user's loss | seen in | ν | lindae's η | γ from an L2 weight_decay w "
            "| γ from a decoupled w | ε from a penalty ρ‖W‖²_F |",
            "|---|---|---|---|---|---|---|---|"]
    for name, l in LOSSES.items():
        num, den = l.factor(N, D)
        c = sp.Integer(num) / den if isinstance(num, int) else sp.sympify(num) / den
        rows.append(f"| `{name}` | {l.loss} | {l.seen_in} | {show(c)} | {show(c * eta)} | {show(w / c)} "
                    f"| {show(w / (c * eta))} | {show(2 * rho / c)} |")
    return "\n".join(rows)


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
        N and D, where the convention's factor ν needs them ("paper" and "sum" need N, "mean" needs D).
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
        for need in LOSSES[self.name].needs:
            value = getattr(self, need)
            if value is None:
                raise InvalidArgumentType(f"the {self.name!r} convention needs {need}")
            object.__setattr__(self, need, as_int(need, value, lo=1))
        if not isinstance(self.decoupled, bool):
            raise InvalidArgumentType(f"decoupled must be True or False, got {self.decoupled!r}")

    @property
    def scale(self) -> float:
        """ν: the user's loss is ν times lindae's per-sample loss."""
        num, den = LOSSES[self.name].factor(self.n_samples, self.n_features)
        return num / den

    @property
    def description(self) -> str:
        return LOSSES[self.name].loss

    def to_lindae(self, **values) -> dict:
        r"""The user's values -> lindae's. Keys: ``lam``, ``lr`` (:math:`\eta = \nu\eta_u`), ``t``
        (:math:`\nu\,\eta_u k`), ``noise_var`` (unchanged, except "paper": :math:`/N`), ``noise_penalty``
        (returned as lindae's ``noise_var``, :math:`\varepsilon = 2\rho/\nu`), ``weight_decay`` (L2: :math:`w/\nu`; decoupled: :math:`w/(\nu\eta_u)`, which
        needs ``lr`` too). ``lam`` converts only in the paper convention (the others use Σ = XᵀX/N)."""
        return self._convert(values, up=False)

    def from_lindae(self, **values) -> dict:
        """lindae's values -> the user's (the inverse of :meth:`to_lindae`)."""
        return self._convert(values, up=True)

    def _convert(self, values, up):
        num, den = LOSSES[self.name].factor(self.n_samples, self.n_features)
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
