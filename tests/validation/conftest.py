import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own data cache, so no test reads or writes ~/.cache/lindae."""
    monkeypatch.setenv("LINDAE_DATA", str(tmp_path / "cache"))


@pytest.fixture
def dask_client():
    """A Dask client on an in-process local cluster of two single-threaded workers."""
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client
