"""Helpers for the ``get_state`` / ``set_state`` methods that classes with saved state
implement: ``get_state() -> (meta, arrays)`` gives JSON-able settings and counters and a
flat ``{name: ndarray}``; ``set_state(meta, arrays)`` takes them back (``sparsebolt.io``
writes and reads them). Arrays from a file are checked here before any kernel sees them,
since an index out of range would make a kernel read or write outside its arrays."""
import numpy as np

# an array of at least this many bytes whose steps moved at most half its rows (Adam's
# moments, an input table) is saved as those rows
COMPACT_FROM = 1 << 20


def prefixed(prefix, arrays):
    """``arrays`` with keys under ``prefix/``."""
    return {f"{prefix}/{k}": v for k, v in arrays.items()}


def unprefixed(prefix, arrays):
    """The entries of ``arrays`` under ``prefix/``, with the prefix taken off."""
    p = prefix + "/"
    return {k[len(p):]: v for k, v in arrays.items() if k.startswith(p)}


def take(owner, arrays, key, shape, dtype, low=None, high=None):
    """``arrays[key]`` (C-contiguous, copied only if it was not) if it has ``shape`` and
    ``dtype`` (and, when bounds are given, every value in ``[low, high)``); a ValueError
    naming ``owner`` and the key otherwise."""
    if key not in arrays:
        raise ValueError(f"The saved state of {owner} lacks the array {key!r}.")
    arr = arrays[key]
    shape = tuple(int(n) for n in shape)
    if not isinstance(arr, np.ndarray) or arr.dtype != np.dtype(dtype) or arr.shape != shape:
        got = f"{arr.dtype}{list(arr.shape)}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise ValueError(f"The array {key!r} of {owner} must be {np.dtype(dtype)}{list(shape)}. Got {got} instead.")
    if arr.size and (low is not None or high is not None):
        lo, hi = arr.min(), arr.max()
        if (low is not None and lo < low) or (high is not None and hi >= high):
            raise ValueError(f"The array {key!r} of {owner} must hold values in [{low}, {high}). "
                             f"Got values from {lo} to {hi} instead.")
    # the kernels take C-contiguous arrays (their row prefetches are typed so); files give them
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


def meta_int(owner, meta, key, low=0, optional=False):
    """``meta[key]`` as an int >= ``low`` (None allowed when ``optional``)."""
    value = meta.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"The saved setting {key!r} of {owner} must be an int >= {low}. Got {value!r} instead.")
    return value


def take_vector(owner, arrays, key, dtype, low=None, high=None):
    """``take`` of a 1-D array of any length."""
    arr = arrays.get(key)
    length = arr.shape[0] if isinstance(arr, np.ndarray) and arr.ndim == 1 else -1
    return take(owner, arrays, key, (length,), dtype, low, high)


def take_rows(owner, arrays, key, n_rows):
    """``arrays[key]``, the increasing int64 ids of some of ``n_rows`` rows (those of an
    array saved by its rows), checked; a ValueError naming ``owner`` and the key otherwise."""
    rows = take_vector(owner, arrays, key, np.int64, 0, n_rows)
    if np.any(np.diff(rows) <= 0):
        raise ValueError(f"The array {key!r} of {owner} must hold increasing row ids.")
    return rows


def json_misfit(error):
    """Whether an AttributeError is a JSON value's (a list, string, number or null where a
    manifest should hold a table: ``[].get``), which a file's error reports, rather than a
    bug's, which must surface as itself."""
    return error.name is not None and (error.obj is None or isinstance(error.obj, (list, str, int, float)))
