"""Shared test settings.

Hypothesis runs derandomised by default, with no example database, so the README's test command
tests the same examples on every machine, with or without CI set. Before they stop, developers
explore with ``python3 -m pytest --hypothesis-profile=explore`` (fresh random examples on every run);
a counterexample found there is fixed in the code and pinned with ``@example``.
"""
import numpy as np
import pytest
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
