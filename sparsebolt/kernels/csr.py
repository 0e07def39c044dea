"""CSR arrays: gathering rows (an epoch's batches, subsets of a data set) and checking that
offsets frame their ids and values."""
import numpy as np
from numba import njit

from .prefetch import DISTANCE, prefetch_span


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
    n = rows.shape[0]
    for i in range(n):
        if i + DISTANCE < n:
            ahead = rows[i + DISTANCE]
            prefetch_span(values, offsets[ahead], offsets[ahead + 1] - offsets[ahead])
        src = offsets[rows[i]]
        for k in range(new_offsets[i + 1] - new_offsets[i]):
            out[new_offsets[i] + k] = values[src + k]
    return out


@njit(cache=True)
def take_rows_pair(offsets, ids, vals, rows, new_offsets):
    """``take_rows`` of a CSR's ids and values together: one pass over the rows (a random
    row costs its cache misses once, not once an array).

    offsets : int64[N + 1]    ids : int32[nnz]    vals : float32[nnz]    rows : int64[B]
    new_offsets : int64[B + 1] (``taken_offsets``)
    returns (ids' dtype[new_offsets[-1]], vals' dtype[new_offsets[-1]])
    """
    out_ids = np.empty(new_offsets[-1], dtype=ids.dtype)
    out_vals = np.empty(new_offsets[-1], dtype=vals.dtype)
    n = rows.shape[0]
    for i in range(n):
        if i + DISTANCE < n:
            # shuffled rows: each a miss the hardware prefetcher cannot foresee (a block of
            # adult's shuffled rows gathered about 3.5x faster with a few rows ahead in flight)
            ahead = rows[i + DISTANCE]
            prefetch_span(ids, offsets[ahead], offsets[ahead + 1] - offsets[ahead])
            prefetch_span(vals, offsets[ahead], offsets[ahead + 1] - offsets[ahead])
        src, dst = offsets[rows[i]], new_offsets[i]
        for k in range(new_offsets[i + 1] - dst):
            out_ids[dst + k] = ids[src + k]
            out_vals[dst + k] = vals[src + k]
    return out_ids, out_vals


# what csr_fault finds first
FRAMED, BAD_OFFSETS, ID_OUT_OF_RANGE, NOT_FINITE = 0, 1, 2, 3


@njit(cache=True)
def csr_fault(offsets, ids, vals, dim, finite):
    """The first fault of a CSR, in one pass: (kind, entry). ``BAD_OFFSETS`` when the
    offsets do not start at 0, decrease or end elsewhere than len(ids) == len(vals);
    ``ID_OUT_OF_RANGE`` for an id outside [0, dim); with ``finite``, ``NOT_FINITE`` for a
    NaN or infinite value; else ``FRAMED``. ``entry`` is the faulty entry's index (-1).

    offsets : int64[N + 1]    ids : int32[nnz]    vals : float32[nnz]    dim : int
    finite : bool
    returns (kind : int, entry : int)
    """
    nnz = ids.shape[0]
    if offsets.shape[0] == 0 or offsets[0] != 0 or offsets[-1] != nnz or vals.shape[0] != nnz:
        return BAD_OFFSETS, -1
    for r in range(offsets.shape[0] - 1):
        if offsets[r + 1] < offsets[r]:
            return BAD_OFFSETS, -1
    for k in range(nnz):
        if ids[k] < 0 or ids[k] >= dim:
            return ID_OUT_OF_RANGE, k
    if finite:
        for k in range(nnz):
            if not np.isfinite(vals[k]):
                return NOT_FINITE, k
    return FRAMED, -1
