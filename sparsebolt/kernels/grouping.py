"""Group the entries of CSR rows by id, so a parallel loop can own whole weight rows.

Gradients of a weight row come from every sample that used it. Summing them per row, in
one thread per row, needs no locks, loses no updates and adds in sample order, so the
result is the same for any thread count.
"""
import numpy as np
from numba import njit, prange

# id blocks of the parallel scan that turns counts into slots
_ID_BLOCKS = 64
# below one entry per this many ids, a sort beats the counting pass over every id (at 0.4-0.5
# entries an id the radix sort took a quarter to two thirds of the counting pass's time, on
# one or two threads, from 100K to 670K ids; at 0.7-0.75 they were even)
_SORT_BELOW = 2


# bits of an id a pass of the radix sort places (2,048 buckets: they stay in L1)
_RADIX_BITS = 11


@njit(cache=True)
def stable_order(ids, n_ids):
    """Indices that sort ``ids`` stably (equal ids keep their order): an LSD radix sort,
    O(nnz) a pass, two passes for ids below 4M (numba's merge argsort was 7x slower on a
    batch's few thousand entries).

    ids : int32[nnz] in [0, n_ids)    n_ids : int
    returns order : int64[nnz]
    """
    n = ids.shape[0]
    bits = 1
    while (1 << bits) < n_ids:
        bits += 1
    passes = (bits + _RADIX_BITS - 1) // _RADIX_BITS
    width = (bits + passes - 1) // passes
    mask = (1 << width) - 1
    order = np.arange(n).astype(np.int64)
    placed = np.empty(n, dtype=np.int64)
    starts = np.empty((1 << width) + 1, dtype=np.int64)
    shift = 0
    for _ in range(passes):
        starts[:] = 0
        for i in range(n):
            starts[((ids[order[i]] >> shift) & mask) + 1] += 1
        for d in range(1 << width):
            starts[d + 1] += starts[d]
        for i in range(n):
            d = (ids[order[i]] >> shift) & mask
            placed[starts[d]] = order[i]
            starts[d] += 1
        order, placed = placed, order
        shift += width
    return order


@njit(cache=True)
def _group_by_sort(offsets, ids, n_ids):
    """``group_by_id`` by a stable sort: O(nnz) passes instead of one over every id, for
    batches whose entries are few against the ids (a hashed input of 100K ids and a few
    thousand entries). The same order: by id, sample order within an id."""
    nnz = ids.shape[0]
    entry_row = np.empty(nnz, dtype=np.int32)
    for r in range(offsets.shape[0] - 1):
        for i in range(offsets[r], offsets[r + 1]):
            entry_row[i] = r
    order = stable_order(ids, n_ids)
    n_groups = 0
    prev = -1
    for i in range(nnz):
        if ids[order[i]] != prev:
            prev = ids[order[i]]
            n_groups += 1
    group_ids = np.empty(n_groups, dtype=np.int32)
    group_offsets = np.empty(n_groups + 1, dtype=np.int64)
    g = 0
    prev = -1
    for i in range(nnz):
        if ids[order[i]] != prev:
            prev = ids[order[i]]
            group_ids[g] = prev
            group_offsets[g] = i
            g += 1
    group_offsets[n_groups] = nnz
    return order, group_offsets, group_ids, entry_row


@njit(parallel=True, cache=True)
def group_by_id(offsets, ids, n_ids, n_runs):
    """Stable counting sort of CSR entries by id. The rows are split into ``n_runs`` runs
    (one a thread); each counts and later places its own entries, and the result does not
    depend on ``n_runs``.

    offsets : int64[B + 1]    ids : int32[nnz]    n_ids : int (ids are below it)    n_runs : int
    returns order : int64[nnz]          entry indices, grouped by id, sample order within a group
            group_offsets : int64[G + 1] group g is order[group_offsets[g]:group_offsets[g + 1]]
            group_ids : int32[G]         the id of each group
            entry_row : int32[nnz]       the sample (row) of each entry
    """
    nnz = ids.shape[0]
    if nnz * _SORT_BELOW < n_ids:
        return _group_by_sort(offsets, ids, n_ids)
    n_rows = offsets.shape[0] - 1
    n_runs = max(1, min(n_runs, n_rows))
    counts = np.zeros((n_runs, n_ids), dtype=np.int64)
    entry_row = np.empty(nnz, dtype=np.int32)
    for c in prange(n_runs):
        for r in range(c * n_rows // n_runs, (c + 1) * n_rows // n_runs):
            for i in range(offsets[r], offsets[r + 1]):
                entry_row[i] = r
                counts[c, ids[i]] += 1
    # counts become each run's first slot for each id: ids in order, runs in order within an
    # id. A scan over all ids is long (670K at Amazon-670K scale), so it runs in id blocks:
    # each block's entries and groups are counted, the block starts summed, then each block
    # places its own ids
    block_entries = np.zeros(_ID_BLOCKS + 1, dtype=np.int64)
    block_groups = np.zeros(_ID_BLOCKS + 1, dtype=np.int64)
    for k in prange(_ID_BLOCKS):
        entries = 0
        groups = 0
        for j in range(k * n_ids // _ID_BLOCKS, (k + 1) * n_ids // _ID_BLOCKS):
            n = 0
            for c in range(n_runs):
                n += counts[c, j]
            entries += n
            if n > 0:
                groups += 1
        block_entries[k + 1] = entries
        block_groups[k + 1] = groups
    for k in range(_ID_BLOCKS):
        block_entries[k + 1] += block_entries[k]
        block_groups[k + 1] += block_groups[k]
    n_groups = block_groups[_ID_BLOCKS]
    group_ids = np.empty(n_groups, dtype=np.int32)
    group_offsets = np.empty(n_groups + 1, dtype=np.int64)
    group_offsets[0] = 0
    for k in prange(_ID_BLOCKS):
        placed = block_entries[k]
        g = block_groups[k]
        for j in range(k * n_ids // _ID_BLOCKS, (k + 1) * n_ids // _ID_BLOCKS):
            start = placed
            for c in range(n_runs):
                n = counts[c, j]
                counts[c, j] = placed
                placed += n
            if placed > start:
                group_ids[g] = j
                g += 1
                group_offsets[g] = placed
    order = np.empty(nnz, dtype=np.int64)
    for c in prange(n_runs):
        for r in range(c * n_rows // n_runs, (c + 1) * n_rows // n_runs):
            for i in range(offsets[r], offsets[r + 1]):
                j = ids[i]
                order[counts[c, j]] = i
                counts[c, j] += 1
    return order, group_offsets, group_ids, entry_row

