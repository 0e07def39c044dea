"""Reservoir hash tables over neuron ids and the per-sample active-set query.

A table set is ``buckets : int32[L, n_buckets, R]`` with ``counts : int32[L, n_buckets]``,
the number of ids ever offered to a bucket; a bucket holds ``min(count, R)`` ids.
"""
import numba
import numpy as np
from numba import njit, prange

from .random import mix


@njit(parallel=True, cache=True)
def build_tables(keys, buckets, counts, seed):
    """Insert every neuron into its bucket of every table, with reservoir sampling when a
    bucket overflows. Tables are independent, so each is built by one thread in id order:
    the result does not depend on the thread count.

    keys : int32[dim, L]          the bucket of neuron i in table t
    buckets : int32[L, n_buckets, R]    counts : int32[L, n_buckets]   both overwritten
    seed : int
    """
    dim, n_tables = keys.shape
    reservoir = buckets.shape[2]
    for t in prange(n_tables):
        counts[t, :] = 0
        for i in range(dim):
            b = keys[i, t]
            c = counts[t, b]
            if c < reservoir:
                buckets[t, b, c] = i
            else:
                r = mix(seed, t, i) % (c + 1)
                if r < reservoir:
                    buckets[t, b, r] = i
            counts[t, b] = c + 1


def _query_active(keys, buckets, counts, lab_offsets, lab_ids, width, perm, salt, mark, out_ids):
    """Fill each sample's active set: its labels first, then the union of its L buckets in
    table order, then neurons from ``perm`` starting at a seeded offset, cut to ``width``.

    keys : int32[B, L]            the sample's bucket in each table (L may be 0: random sampling)
    buckets, counts               as in ``build_tables``
    lab_offsets : int64[B + 1]    lab_ids : int32[nnz_lab]   labels forced in (may be empty rows)
    width : int                   active neurons per sample (<= dim, >= labels per sample)
    perm : int32[dim]             a fixed permutation of the neurons, for padding
    salt : int                    varies the padding offset between calls
    mark : uint8[n_threads, dim]  all zero on entry and on exit; per-thread dedup flags
    out_ids : int32[B * width]    written
    """
    n_samples, n_tables = keys.shape
    reservoir = buckets.shape[2]
    dim = perm.shape[0]
    for s in prange(n_samples):
        seen = mark[numba.get_thread_id()]
        base = s * width
        n = 0
        for k in range(lab_offsets[s], lab_offsets[s + 1]):
            j = lab_ids[k]
            if seen[j] == 0 and n < width:
                seen[j] = 1
                out_ids[base + n] = j
                n += 1
        for t in range(n_tables):
            if n == width:
                break
            b = keys[s, t]
            c = min(counts[t, b], reservoir)
            for r in range(c):
                j = buckets[t, b, r]
                if seen[j] == 0:
                    seen[j] = 1
                    out_ids[base + n] = j
                    n += 1
                    if n == width:
                        break
        if n < width:
            first = keys[s, 0] if n_tables > 0 else 0
            p = mix(salt, s, first) % dim
            while n < width:
                j = perm[p]
                if seen[j] == 0:
                    seen[j] = 1
                    out_ids[base + n] = j
                    n += 1
                p += 1
                if p == dim:
                    p = 0
        for i in range(base, base + width):
            seen[out_ids[i]] = 0


query_active = njit(parallel=True, cache=True)(_query_active)
query_active_serial = njit(cache=True)(_query_active)
