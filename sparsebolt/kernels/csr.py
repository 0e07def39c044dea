"""Gathering rows of CSR arrays (a shuffled epoch's batches, subsets of a data set)."""
import numpy as np
from numba import njit


@njit(cache=True)
def taken_offsets(offsets, rows):
    """The offsets of rows ``rows`` of a CSR laid end to end.

    offsets : int64[N + 1]    rows : int64[B]
    returns int64[B + 1]
    """
    out = np.empty(rows.shape[0] + 1, dtype=np.int64)
    out[0] = 0
    for i in range(rows.shape[0]):
        r = rows[i]
        out[i + 1] = out[i] + offsets[r + 1] - offsets[r]
    return out


@njit(cache=True)
def take_rows(offsets, values, rows, new_offsets):
    """The entries of rows ``rows`` of a CSR's ``values``, in that order.

    offsets : int64[N + 1]    values : any[nnz]    rows : int64[B]
    new_offsets : int64[B + 1] (``taken_offsets``)
    returns values' dtype[new_offsets[-1]]
    """
    out = np.empty(new_offsets[-1], dtype=values.dtype)
    for i in range(rows.shape[0]):
        src = offsets[rows[i]]
        for k in range(new_offsets[i + 1] - new_offsets[i]):
            out[new_offsets[i] + k] = values[src + k]
    return out
