import numpy as np
import pytest


@pytest.fixture
def synthetic_data():
    """Small data with a decaying, well-separated spectrum (no network needed)."""
    rng = np.random.default_rng(0)
    D = 12
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    scales = np.sqrt(np.geomspace(3.0, 0.05, D))
    return (rng.standard_normal((400, D)) * scales) @ Q.T


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own data cache, so no test reads or writes ~/.cache/lindae."""
    monkeypatch.setenv("LINDAE_DATA", str(tmp_path / "cache"))
