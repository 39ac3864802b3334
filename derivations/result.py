"""A derived result: statement, derivation steps, proof obligations and verification.

Modelled on SymPy's ``checkodesol``: a result never *claims* to hold, it carries
residuals that must simplify to zero and a numeric check at 50 digits with mpmath
that uses an independent method (quadrature, a Taylor-series ODE solver, numeric
differentiation, Gauss-Hermite expectation). The LaTeX document is generated from
:class:`Verification` objects, so a result that fails cannot be printed as verified.
"""
from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import mpmath
import sympy as sp

#: Digits used by every numeric check.
NUMERIC_DPS = 50
#: A numeric residual passes when it is below this (relative) size.
NUMERIC_TOL = mpmath.mpf(10) ** -40


@dataclass(frozen=True)
class Step:
    """One step of a derivation: a sentence and the expression it produces."""

    text: str
    expr: object = None


SymbolicCheck = Callable[[object], object]
NumericCheck = Callable[[object, random.Random], Sequence[object]]


@dataclass(frozen=True)
class Result:
    """A machine-checked result (R1-R14 of docs/theory.md).

    Attributes
    ----------
    name : str
        Stable identifier, e.g. ``"balanced_solution"``.
    number : str
        The label in docs/theory.md, e.g. ``"R5"``.
    title : str
        One-line human title.
    statement : sympy object
        The result itself (an ``Eq``, or a tuple of them).
    assumptions : str
        Signs and domains under which the statement holds.
    steps : tuple of Step
        The chain of derivation steps that produced the statement.
    symbolic_checks : tuple of (label, callable)
        Each callable maps the statement to an expression that must simplify to 0.
    numeric_check : callable
        Maps (statement, rng) to relative residuals that must be below 1e-40 when
        evaluated at 50 digits at random admissible points.
    citation : str
        Where the result appears in the paper.
    """

    name: str
    number: str
    title: str
    statement: object
    assumptions: str
    steps: tuple = ()
    symbolic_checks: tuple = ()
    numeric_check: NumericCheck | None = None
    citation: str = ""
    extras: dict = field(default_factory=dict)

    def with_statement(self, statement) -> "Result":
        """A copy of this result with another statement (used to test that checks can fail)."""
        return dataclasses.replace(self, statement=statement)

    def verify(self, seed: int = 0, numeric_points: int = 3) -> "Verification":
        """Check every proof obligation.

        (a) each symbolic residual must simplify to exactly zero, and
        (b) the numeric check must give residuals below 1e-40 at 50 digits at
        ``numeric_points`` random admissible points.
        """
        start = time.perf_counter()
        failures = []
        for label, check in self.symbolic_checks:
            try:
                residual = _simplify_to_zero(check(self.statement))
            except Exception as exc:  # a check that cannot be evaluated has failed
                failures.append(f"symbolic check '{label}' raised {type(exc).__name__}: {exc}")
                continue
            if residual != 0:
                failures.append(f"symbolic check '{label}' leaves residual {residual}")
        worst = mpmath.mpf(0)
        if self.numeric_check is not None:
            rng = random.Random(seed)
            with mpmath.workdps(NUMERIC_DPS):
                for _ in range(numeric_points):
                    try:
                        residuals = [abs(mpmath.mpf(r)) for r in self.numeric_check(self.statement, rng)]
                    except Exception as exc:
                        failures.append(f"numeric check raised {type(exc).__name__}: {exc}")
                        break
                    if not residuals:
                        failures.append("numeric check returned no residuals")
                        break
                    worst = max([worst] + residuals)
            if worst > NUMERIC_TOL or mpmath.isnan(worst):
                failures.append(f"numeric residual {mpmath.nstr(worst, 5)} exceeds 1e-40 at 50 digits")
        return Verification(
            name=self.name,
            number=self.number,
            ok=not failures,
            n_symbolic=len(self.symbolic_checks),
            numeric_residual=float(worst),
            seconds=time.perf_counter() - start,
            failures=tuple(failures),
        )


@dataclass(frozen=True)
class Verification:
    """Outcome of :meth:`Result.verify`."""

    name: str
    number: str
    ok: bool
    n_symbolic: int
    numeric_residual: float
    seconds: float
    failures: tuple = ()

    def summary(self) -> str:
        status = "verified" if self.ok else "FAILED"
        line = (f"{self.number:>4}  {self.name:<34} {status:<8} "
                f"{self.n_symbolic} symbolic, numeric {self.numeric_residual:.1e}  {self.seconds:6.2f} s")
        for failure in self.failures:
            line += f"\n      - {failure}"
        return line


def _simplify_to_zero(expr):
    """Reduce ``expr`` (an expression, Eq, Matrix or sequence) to 0 if it is identically zero."""
    if isinstance(expr, (list, tuple)):
        parts = [_simplify_to_zero(e) for e in expr]
        return 0 if all(p == 0 for p in parts) else parts
    if isinstance(expr, sp.MatrixBase):
        return _simplify_to_zero(list(expr))
    if isinstance(expr, sp.Equality):
        expr = expr.lhs - expr.rhs
    expr = sp.sympify(expr)
    if expr == 0:
        return 0
    for method in (sp.expand, sp.cancel, sp.simplify):
        reduced = method(expr)
        if reduced == 0:
            return 0
    return reduced


def relative(x, y):
    """Relative difference |x - y| / max(|x|, |y|, tiny) at the working precision."""
    x, y = mpmath.mpmathify(x), mpmath.mpmathify(y)
    scale = max(abs(x), abs(y), mpmath.mpf(10) ** (-mpmath.mp.dps))
    return abs(x - y) / scale


def random_mpf(rng: random.Random, lo: float, hi: float):
    """A random mpf in [lo, hi] with all 50 digits random."""
    frac = mpmath.mpf(rng.getrandbits(200)) / mpmath.mpf(2) ** 200
    return mpmath.mpf(lo) + (mpmath.mpf(hi) - mpmath.mpf(lo)) * frac


def as_mp(expr, subs: dict):
    """Evaluate a SymPy expression at 50 digits after substituting mpf values."""
    value = sp.sympify(expr).xreplace({k: sp.Float(str(v), NUMERIC_DPS + 5) for k, v in subs.items()})
    return mpmath.mpmathify(sp.N(value, NUMERIC_DPS + 5))
