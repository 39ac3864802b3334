"""Every proof obligation can fail: each mutant of each statement is refuted, quickly and without hanging."""
import time

import pytest
import sympy as sp

from lindae import derivations
from lindae.derivations.mutation import mutants, refute_all
from lindae.derivations.result import BudgetExceeded, Result, Step, time_budget
from lindae.derivations.symbols import eta, gam, lam

NAMES = derivations.names()


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_mutant_is_refuted_within_a_minute(name):
    r = derivations.get(name)
    ms, survivors, seconds = refute_all(r)
    n_entries = sum(len(eq.rhs) if isinstance(eq.rhs, (sp.Tuple, sp.MatrixBase)) else 1
                    for eq in (r.statement if isinstance(r.statement, tuple) else (r.statement,)))
    assert len(ms) >= 3 * n_entries, "every component gets at least a factor, a constant and a sign mutant"
    assert not survivors, [m.label() for m in survivors]
    assert max(seconds) < 60


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_symbolic_check_reads_the_statement(name):
    """A symbolic check that gives the same residual for every mutant does not test the statement;
    such facts belong in ``lemmas``."""
    r = derivations.get(name)
    ms = mutants(r)
    for label, check in r.symbolic_checks:
        base = check(r.statement)
        assert any(_differs(check, m.statement, base) for m in ms), f"'{label}' never reads the statement"


def _differs(check, statement, base):
    try:
        return check(statement) != base
    except Exception:
        return True


@pytest.mark.slow
def test_r12_rejects_the_wrong_jacobian_and_a_wrong_bound():
    r = derivations.get("discrete_map_stability")
    J = r.statement[0].rhs
    plus = sp.Matrix(2, 2, lambda i, j: 2 * sp.eye(2)[i, j] - J[i, j])   # I + eta H instead of I - eta H
    stmt = list(r.statement)
    stmt[0] = sp.Eq(r.statement[0].lhs, plus, evaluate=False)
    assert not r.with_statement(tuple(stmt)).verify().ok
    stmt = list(r.statement)
    stmt[1] = sp.Eq(r.statement[1].lhs, 7 / (lam + gam), evaluate=False)
    v = r.with_statement(tuple(stmt)).verify()
    assert not v.ok


def test_r1_weight_decay_term_is_checked():
    r = derivations.get("noise_marginalisation")
    bad = sp.Eq(r.statement.lhs, r.statement.rhs.subs(gam, 2 * gam))
    assert not r.with_statement(bad).verify().ok


@pytest.mark.slow
def test_a_check_that_cannot_decide_in_its_budget_fails_instead_of_hanging():
    def slow(_stmt):
        time.sleep(5)
        return sp.Integer(0)

    r = Result(name="slow", number="R0", title="slow", statement=sp.Eq(sp.Symbol("x"), eta), assumptions="",
               steps=(Step("s"),), symbolic_checks=(("sleeps", slow),))
    start = time.perf_counter()
    v = r.verify(budget=0.5)
    assert time.perf_counter() - start < 3
    assert not v.ok and "BudgetExceeded" in v.failures[0]
    with pytest.raises(BudgetExceeded):
        with time_budget(0.2):
            time.sleep(2)


def test_mutants_cover_factor_constant_symbol_and_sign():
    kinds = {m.kind.split()[0] for m in mutants(derivations.get("balanced_solution"))}
    assert {"stray", "constant", "symbol", "sign"} <= kinds
