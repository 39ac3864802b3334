"""Shared test settings.

Hypothesis runs derandomised by default, with no example database, so the README's test command
tests the same examples on every machine, with or without CI set. Before they stop, developers
explore with ``python3 -m pytest --hypothesis-profile=explore`` (fresh random examples on every run);
a counterexample found there is fixed in the code and pinned with ``@example``.
"""
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from hypothesis import HealthCheck, settings

settings.register_profile("lindae", derandomize=True, database=None, deadline=None, max_examples=200,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=200,
                          suppress_health_check=[HealthCheck.too_slow])


def pytest_configure(config):
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile("lindae")


@pytest.fixture
def synthetic_data():
    """Small data with a decaying, well-separated spectrum (no network needed)."""
    rng = np.random.default_rng(0)
    D = 12
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    scales = np.sqrt(np.geomspace(3.0, 0.05, D))
    return (rng.standard_normal((400, D)) * scales) @ Q.T


@pytest.fixture(scope="session")
def surrogate_then_balanced():
    """Second method for the hand-over of R15 and N7 at the capacity limit: solve_ivp of the Riccati surrogate
    Ẏ = KY − YYᵀBY from Y0 up to ts[1], then of R1's balanced flow Ẏ = KY − ½(YYᵀBY + BYYᵀY) (B symmetric, D x D)
    to the later times; returns diag(YYᵀ) at every time of ts (ts[0] = 0)."""
    def run(kap, B, Y0, ts):
        D, H = Y0.shape
        K = np.asarray(kap)[:, None]

        def ode(rhs, y, t_eval):
            sol = solve_ivp(lambda _t, v: rhs(v.reshape(D, H)).ravel(), (t_eval[0], t_eval[-1]), y.ravel(),
                            t_eval=t_eval, rtol=1e-12, atol=1e-16, method="DOP853")
            return [np.sum(v.reshape(D, H) ** 2, axis=1) for v in sol.y.T], sol.y[:, -1].reshape(D, H)
        early, Ys = ode(lambda Y: K * Y - Y @ (Y.T @ (B @ Y)), Y0, ts[:2])
        late, _ = ode(lambda Y: K * Y - 0.5 * (Y @ (Y.T @ (B @ Y)) + B @ (Y @ (Y.T @ Y))), Ys, ts[1:])
        return np.array(early + late[1:])
    return run
