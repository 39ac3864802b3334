import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own data cache, so no test reads or writes ~/.cache/lindae."""
    monkeypatch.setenv("LINDAE_DATA", str(tmp_path / "cache"))
