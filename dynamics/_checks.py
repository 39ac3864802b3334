"""Input validation shared by the public functions: clear ValueError/TypeError naming the argument."""
from __future__ import annotations

import numbers

import numpy as np
from .errors import InvalidArgument, InvalidArgumentType


def as_array(name: str, value, *, lo=None, hi=None, lo_open=False, hi_open=False) -> np.ndarray:
    """``value`` as a float64 array, checked to be finite and inside [lo, hi] (open ends optional).

    Raises
    ------
    TypeError
        If the value is not numeric (strings, None, objects, complex numbers).
    ValueError
        If any element is NaN, infinite or outside the allowed range; the message names the
        argument, the allowed range and the offending value.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise InvalidArgumentType(f"{name} must be a real number or array of real numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged sequences and the like
        raise InvalidArgumentType(f"{name} must be a real number or array of real numbers ({exc})") from None
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidArgumentType(f"{name} must be real-valued, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise InvalidArgument(f"{name} must be finite, got {arr[~np.isfinite(arr)].ravel()[0].item()!r}")
    if lo is not None:
        bad = arr <= lo if lo_open else arr < lo
        if np.any(bad):
            raise InvalidArgument(f"{name} must be {'>' if lo_open else '>='} {lo}, got {_worst(arr, bad, np.argmin)}")
    if hi is not None:
        bad = arr >= hi if hi_open else arr > hi
        if np.any(bad):
            raise InvalidArgument(f"{name} must be {'<' if hi_open else '<='} {hi}, got {_worst(arr, bad, np.argmax)}")
    return arr


def _worst(arr, bad, pick):
    """The most offending value (the smallest below a lower bound, the largest above an upper one), with its
    position when ``arr`` is an array and how many values are out of range."""
    if arr.ndim == 0:
        return repr(arr.item())
    flat = np.flatnonzero(bad.ravel())
    j = flat[pick(arr.ravel()[flat])]
    where = np.unravel_index(j, arr.shape)
    index = where[0] if arr.ndim == 1 else tuple(int(i) for i in where)
    more = f" (worst of {len(flat)})" if len(flat) > 1 else ""
    return f"{arr.ravel()[j].item()!r} at index {index}{more}"


def as_int(name: str, value, *, lo=None) -> int:
    """``value`` as a Python int >= lo; rejects floats with a fractional part, bools and strings."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidArgumentType(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if lo is not None and value < lo:
        raise InvalidArgument(f"{name} must be >= {lo}, got {value}")
    return value


def broadcast(**arrays):
    """Broadcast named arrays together, with an error naming them if the shapes do not fit."""
    try:
        return np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in arrays.items())
        raise InvalidArgument(f"shapes do not broadcast together: {shapes}") from None


def broadcast_shape(**arrays):
    """The common broadcast shape of named arrays (without materialising them)."""
    try:
        return np.broadcast_shapes(*(np.shape(v) for v in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in arrays.items())
        raise InvalidArgument(f"shapes do not broadcast together: {shapes}") from None
