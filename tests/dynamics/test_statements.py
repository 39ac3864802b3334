"""Every public numeric function agrees with the SymPy statement it declares (dynamics.statements),
at reference points evaluated from the statement with mpmath at 50 digits; and every statement
component is either implemented by such a function or listed as symbolic only."""
import importlib
import pkgutil
import random

import mpmath
import numpy as np
import pytest
import sympy as sp

from lindae import derivations
from lindae import dynamics
from lindae.dynamics.statements import SYMBOLIC_ONLY

POINTS = 25
#: Statement symbol names as the Python names the declarations use.
ALIASES = {"lambda": "lam", "epsilon": "eps"}


def _py(name):
    return ALIASES.get(name, name.replace("_", ""))


def _implementers():
    """Every function of the numeric layer's modules that declares a statement (exported or not)."""
    found = {}
    for info in pkgutil.iter_modules(dynamics.__path__, "lindae.dynamics."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, fn in vars(module).items():
            if callable(fn) and getattr(fn, "__module__", None) == info.name and getattr(fn, "implements", None):
                found[name] = fn
    return found


def _declared():
    return [pytest.param(fn, record, id=f"{name}-{record.result}.{record.equation}")
            for name, fn in sorted(_implementers().items()) for record in fn.implements]


def _explicit(statement, index):
    """The right-hand side of equation ``index`` with the other equations' left-hand symbols substituted."""
    eqs = list(statement) if isinstance(statement, tuple) else [statement]
    rhs = eqs[index].rhs
    defs = {eq.lhs: eq.rhs for k, eq in enumerate(eqs) if k != index and isinstance(eq.lhs, sp.Symbol)}
    for _ in range(len(defs) + 1):
        rhs = rhs.xreplace(defs)
    return rhs


NAMESPACE = {"sqrt": mpmath.sqrt, "abs": abs, "exp": mpmath.exp, "log": mpmath.log}


def _reference_point(record, free, rng):
    """Float64 inputs for the function and exact mpf values of every statement symbol."""
    names = ({_py(str(s)) for s in free} | set(record.domain) | set(record.given)
             | {v for v in record.call.values() if v.isidentifier()})
    env = {}
    for n in sorted(names):
        lo, hi = record.domain.get(n, (0.1, 3.0))
        env[n] = mpmath.mpf(float(rng.uniform(lo, hi)))
    passed = {v for v in record.call.values() if v.isidentifier()}
    for n, expr in record.given.items():
        value = eval(expr, dict(NAMESPACE), dict(env))  # noqa: S307 - expressions are our own declarations
        env[n] = mpmath.mpf(float(value)) if n in passed else mpmath.mpf(value)
    return env


@pytest.mark.parametrize("fn,record", _declared())
def test_function_matches_its_lambdified_statement(fn, record):
    result = derivations.get(record.result)
    rhs = _explicit(result.statement, record.equation)
    free = sorted(rhs.free_symbols, key=str)
    stated = sp.lambdify(free, rhs, "mpmath")
    rng = random.Random(f"{record.result}.{record.equation}")
    worst = 0.0
    for _ in range(POINTS):
        env = _reference_point(record, free, rng)
        kwargs = {k: float(eval(v, dict(NAMESPACE), dict(env))) for k, v in record.call.items()}  # noqa: S307
        if "balanced" in kwargs:
            kwargs["balanced"] = bool(kwargs["balanced"])
        if "depth" in kwargs:
            kwargs["depth"] = int(kwargs["depth"])
        positional = [kwargs.pop(k) for k in ("t", "lam") if k in kwargs and k in fn.__code__.co_varnames[:2]]
        got = float(fn(*positional, **kwargs))
        with mpmath.workdps(80):
            want = stated(*[env[_py(str(s))] for s in free])
            if record.output == "sqrt":
                want = mpmath.sqrt(want)
        assert np.isfinite(got), (kwargs, got)
        err = float(abs(got - want) / max(abs(want), mpmath.mpf(10) ** -300))
        worst = max(worst, err)
    assert worst <= record.rtol, f"{fn.__name__} vs {record.result} eq {record.equation}: {worst:.1e}"


def test_a_declared_function_with_a_wrong_formula_fails_the_check():
    """The check above can fail: a function off by a factor 1 + 1e-9 is caught."""
    bad = lambda lam, noise_var=0.0, weight_decay=0.0: 1.000000001 * dynamics.fixed_point(  # noqa: E731
        lam, noise_var=noise_var, weight_decay=weight_decay)
    bad.implements = dynamics.fixed_point.implements
    with pytest.raises(AssertionError):
        test_function_matches_its_lambdified_statement(bad, bad.implements[0])


def test_every_statement_component_is_implemented_or_listed_as_symbolic_only():
    implemented = {(r.result, r.equation) for fn in _implementers().values() for r in fn.implements}
    for result in derivations.results():
        eqs = result.statement if isinstance(result.statement, tuple) else (result.statement,)
        for k in range(len(eqs)):
            key = (result.number, k)
            assert key in implemented or key in SYMBOLIC_ONLY, f"{key} is neither implemented nor listed"
            assert not (key in implemented and key in SYMBOLIC_ONLY), f"{key} is listed but implemented"
    listed = set(SYMBOLIC_ONLY) | implemented
    known = {(r.number, k) for r in derivations.results()
             for k in range(len(r.statement) if isinstance(r.statement, tuple) else 1)}
    assert listed <= known, listed - known
