"""Paper units, and the public API under arbitrary floats (never a silent NaN)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from lindae import dynamics

floats = st.floats(allow_nan=True, allow_infinity=True)


def test_paper_units_give_the_same_curve_against_epochs():
    N = 50_000
    ours = dict(lam=1.7, noise_var=0.5, weight_decay=0.2, lr=0.01)
    paper = dynamics.to_paper_units(N, **ours)
    assert paper["lam"] == pytest.approx(1.7 * N) and paper["lr"] == pytest.approx(0.01 / N)
    run = dynamics.gd_modes(800, ours["lam"], noise_var=ours["noise_var"], weight_decay=ours["weight_decay"], a0=0.01, b0=0.02, lr=ours["lr"])
    _, a1, b1 = run.epochs, run.a, run.b
    run = dynamics.gd_modes(800, paper["lam"], noise_var=paper["noise_var"], weight_decay=paper["weight_decay"], a0=0.01, b0=0.02,
                                  lr=paper["lr"])
    _, a2, b2 = run.epochs, run.a, run.b
    np.testing.assert_allclose(a1 * b1, a2 * b2, rtol=1e-10, atol=1e-14)
    back = dynamics.from_paper_units(N, **paper)
    assert back == pytest.approx(ours, rel=1e-15)
    with pytest.raises(TypeError, match="unknown quantity"):
        dynamics.to_paper_units(N, sigma=1.0)


@pytest.mark.slow
@given(floats, floats, floats, floats, floats, floats)
def test_mode_strength_never_returns_nan_for_any_floats(t, lam, noise_var, weight_decay, a0, b0):
    try:
        u = dynamics.mode_strength(t, lam, noise_var=noise_var, weight_decay=weight_decay, a0=a0, b0=b0)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    assert np.isfinite(u)


@pytest.mark.slow
@given(floats, floats, floats, floats, st.floats(0, 1))
def test_closed_form_helpers_raise_or_return_finite_values(lam, noise_var, weight_decay, u0, f):
    for call in (lambda: dynamics.balanced_strength(1.0, lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0),
                 lambda: dynamics.fixed_point(lam, noise_var=noise_var, weight_decay=weight_decay),
                 lambda: dynamics.time_to_learn(lam, noise_var=noise_var, weight_decay=weight_decay, u0=u0, fraction=f),
                 lambda: dynamics.equivalent_weight_decay(lam, noise_var),
                 lambda: dynamics.paper_learning_rate(lam, noise_var=noise_var, weight_decay=weight_decay)):
        try:
            val = call()
        except (ValueError, TypeError):
            continue
        assert np.all(np.isfinite(val))


@given(floats, st.integers(-3, 30), floats)
def test_gd_rejects_bad_eta_and_steps_or_runs_finite(lr, epochs, a0):
    try:
        run = dynamics.gd_modes(epochs, 1.0, a0=a0, b0=0.1, lr=lr)
        _, a, b = run.epochs, run.a, run.b
    except (ValueError, TypeError, dynamics.DivergenceError):
        return
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b))
