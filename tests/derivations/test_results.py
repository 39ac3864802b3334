"""Every derived result verifies, and verification can fail."""

import pytest
import sympy as sp

from lindae import derivations
from lindae.derivations.symbols import eps, gam, lam, t, u0

NAMES = derivations.names()


def test_registry_has_every_result_in_order():
    numbers = [derivations.get(n).number for n in NAMES]
    assert numbers == [f"R{k}" for k in range(1, 16)] + [f"D{k}" for k in range(1, 10)] + [f"G{k}" for k in range(1, 6)] + [f"N{k}" for k in range(1, 9)] + ["S1", "S2", "S3", "S4"]
    assert all(derivations.get(num).number == num for num in numbers)     # numbers resolve to themselves


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_result_verifies(name):
    v = derivations.get(name).verify()
    assert v.ok, v.summary()
    assert v.numeric_residual < 1e-40


@pytest.mark.parametrize("name", NAMES)
def test_result_has_derivation_steps_and_checks(name):
    r = derivations.get(name)
    assert len(r.steps) >= 2 and len(r.symbolic_checks) >= 1 and r.numeric_check is not None


def _flip_sign(expr, target):
    return expr.xreplace({target: -target})


def test_corrupted_balanced_solution_fails():
    r = derivations.get("balanced_solution")
    bad = sp.Eq(r.statement.lhs, r.statement.rhs.xreplace({sp.exp(-2 * (lam - gam) * t): sp.exp(2 * (lam - gam) * t)}))
    assert bad != r.statement
    v = r.with_statement(bad).verify()
    assert not v.ok
    assert any("solves the ODE" in f for f in v.failures)
    assert any("numeric" in f for f in v.failures)


@pytest.mark.slow
def test_corrupted_factor_in_hyperbolic_solution_fails():
    r = derivations.get("hyperbolic_solution")
    stmt = list(r.statement)
    stmt[4] = sp.Eq(stmt[4].lhs, 2 * stmt[4].rhs)  # a stray factor 2 in u = (P^2 - c^2)/(4P)
    v = r.with_statement(tuple(stmt)).verify()
    assert not v.ok and len(v.failures) >= 2


@pytest.mark.parametrize("name,index,change", [
    ("fixed_points", 0, lambda e: e.subs(gam, -gam)),
    ("time_to_learn", 0, lambda e: 2 * e),
    ("noise_weight_decay_equivalence", 0, lambda e: e.subs(eps, 2 * eps)),
    ("optimal_learning_rates", 0, lambda e: e.subs(eps, 2 * eps)),
    ("weight_norm", 1, lambda e: e / 2),
    ("gradient_flow", 1, lambda e: e.subs(gam, -gam)),
])
def test_corrupted_statements_fail(name, index, change):
    r = derivations.get(name)
    stmt = list(r.statement)
    stmt[index] = sp.Eq(stmt[index].lhs, change(stmt[index].rhs), evaluate=False)
    assert stmt[index] != r.statement[index]
    assert not r.with_statement(tuple(stmt)).verify().ok


def test_unknown_result_name_lists_the_known_ones():
    assert derivations.get("R5") is derivations.get("balanced_solution")
    with pytest.raises(KeyError, match="balanced_solution"):
        derivations.get("no_such_result")


def test_lambdified_fixed_point_matches_formula():
    f = derivations.lambdify_statement("fixed_points", ["lambda", "epsilon", "gamma"])
    assert f(2.0, 1.0, 0.5) == pytest.approx(1.5 / 3.0, rel=1e-15)
    assert f(0.5, 1.0, 2.0) == 0.0


def test_generated_flow_is_minus_gradient():
    flow = derivations.mode_flow_function()
    xi = 1.5 + 0.25
    da, db = flow(0.3, -0.7, 1.5, xi, 0.1)
    assert da == pytest.approx(-0.7 * (1.5 - xi * 0.3 * -0.7) - 0.1 * 0.3, rel=1e-14)
    assert db == pytest.approx(0.3 * (1.5 - xi * 0.3 * -0.7) - 0.1 * -0.7, rel=1e-14)
    step = derivations.mode_gd_map_function()
    a1, b1 = step(0.3, -0.7, 1.5, 0.25, 0.1, 0.01)
    assert (a1, b1) == pytest.approx((0.3 + 0.01 * da, -0.7 + 0.01 * db), rel=1e-15)


def test_balanced_solution_has_u0_at_zero_for_both_branches():
    expr = derivations.get("balanced_solution").statement.rhs
    assert sp.simplify(expr.subs(t, 0) - u0) == 0
    assert sp.simplify(expr.subs(gam, lam).subs(t, 0) - u0) == 0
