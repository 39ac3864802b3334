"""Mutants of a result's statement: the test that every proof obligation can fail.

For every component of a statement (the right-hand side of each of its equations, and each
entry of a tuple or matrix right-hand side) :func:`mutants` applies four kinds of change:

* a stray factor (the component times 3/2),
* a shifted constant (the first numeric constant other than ±1 raised by one; 1/3 added when
  there is none),
* one symbol doubled (each free symbol in turn),
* a sign flip (the component negated).

Mutants that are equal to the original at random points (for example a symbol that cancels)
are not mutations and are dropped. :func:`refute_all` verifies each mutant with
``fail_fast=True``; every one must fail.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass

import sympy as sp

from .result import Result, probe_nonzero


@dataclass(frozen=True)
class Mutant:
    """One mutated statement: which equation, which entry, and what was changed."""

    result: str
    equation: int
    entry: int | None
    kind: str
    statement: object

    def label(self) -> str:
        where = f"eq {self.equation}" + ("" if self.entry is None else f"[{self.entry}]")
        return f"{self.result} {where}: {self.kind}"


def _equations(statement):
    return list(statement) if isinstance(statement, tuple) else [statement]


def _rebuild(statement, index, new_eq):
    eqs = _equations(statement)
    eqs[index] = new_eq
    return tuple(eqs) if isinstance(statement, tuple) else eqs[0]


def _entries(rhs):
    """(entry index, expression) for each entry of a Tuple or Matrix right-hand side, else (None, rhs)."""
    if isinstance(rhs, (sp.Tuple, sp.MatrixBase)):
        return list(enumerate(rhs))
    return [(None, rhs)]


def _replace_entry(rhs, entry, new):
    if entry is None:
        return new
    if isinstance(rhs, sp.MatrixBase):
        m = sp.Matrix(rhs)
        m[entry] = new
        return m
    items = list(rhs)
    items[entry] = new
    return sp.Tuple(*items)


def _shift_constant(expr):
    numbers = sorted({n for n in expr.atoms(sp.Number) if n not in (1, -1)}, key=lambda n: (abs(n), str(n)))
    if numbers:
        n = numbers[-1]
        return expr.xreplace({n: n + 1}), f"constant {n} -> {n + 1}"
    return expr + sp.Rational(1, 3), "constant 1/3 added"


def _changes(expr):
    """(description, mutated expression) for one scalar component."""
    out = [("stray factor 3/2", sp.Rational(3, 2) * expr)]
    shifted, what = _shift_constant(expr)
    out.append((what, shifted))
    for s in sorted(expr.free_symbols, key=str):
        if isinstance(s, (sp.Symbol, sp.MatrixSymbol)):
            out.append((f"symbol {s} doubled", expr.xreplace({s: 2 * s})))
    out.append(("sign flipped", -expr))
    return out


def _equivalent(a, b, rng) -> bool:
    """True when the two expressions agree at random points (so the change is no mutation)."""
    try:
        return probe_nonzero(sp.sympify(a) - sp.sympify(b), rng, points=2) is None and (
            sp.expand(sp.sympify(a) - sp.sympify(b)) == 0 or _agree_numerically(a, b, rng))
    except (TypeError, ValueError):
        return False


def _agree_numerically(a, b, rng):
    diff = sp.sympify(a) - sp.sympify(b)
    syms = [s for s in diff.free_symbols if isinstance(s, sp.Symbol)]
    if len(syms) != len(diff.free_symbols):
        return False                       # matrix symbols: treat as a genuine change
    for _ in range(3):
        vals = {s: sp.Integer(rng.randint(2, 6)) if s.is_integer else sp.Rational(rng.randint(2000, 23000), 10000)
                for s in syms}
        v = sp.N(diff.xreplace(vals), 30)
        if not v.is_number or abs(v) > 1e-20:
            return False
    return True


def mutants(result: Result, seed: int = 0) -> list[Mutant]:
    """All mutants of ``result``'s statement (see the module docstring)."""
    rng = random.Random(seed)
    out = []
    for index, eq in enumerate(_equations(result.statement)):
        for entry, expr in _entries(eq.rhs):
            for kind, new in _changes(expr):
                if _equivalent(new, expr, rng):
                    continue
                new_eq = sp.Eq(eq.lhs, _replace_entry(eq.rhs, entry, new), evaluate=False)
                out.append(Mutant(result.name, index, entry, kind, _rebuild(result.statement, index, new_eq)))
    return out


def refute_all(result: Result, seed: int = 0, budget: float = 60.0):
    """Verify every mutant of ``result`` (fail-fast); return (mutants, survivors, seconds per mutant)."""
    ms = mutants(result, seed)
    survivors, seconds = [], []
    for m in ms:
        start = time.perf_counter()
        v = result.with_statement(m.statement).verify(seed=seed, fail_fast=True, budget=budget)
        seconds.append(time.perf_counter() - start)
        if v.ok:
            survivors.append(m)
    return ms, survivors, seconds
