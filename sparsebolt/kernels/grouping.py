"""Group the entries of CSR rows by id, so a parallel loop can own whole weight rows.

Gradients of a weight row come from every sample that used it. Summing them per row, in
one thread per row, needs no locks, loses no updates and adds in sample order, so the
result is the same for any thread count.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def group_by_id(offsets, ids, n_ids):
    """Stable counting sort of CSR entries by id.

    offsets : int64[B + 1]    ids : int32[nnz]    n_ids : int (ids are below it)
    returns order : int64[nnz]          entry indices, grouped by id, sample order within a group
            group_offsets : int64[G + 1] group g is order[group_offsets[g]:group_offsets[g + 1]]
            group_ids : int32[G]         the id of each group
            entry_row : int32[nnz]       the sample (row) of each entry
    """
    nnz = ids.shape[0]
    counts = np.zeros(n_ids + 1, dtype=np.int64)
    for i in range(nnz):
        counts[ids[i] + 1] += 1
    n_groups = 0
    for j in range(n_ids):
        if counts[j + 1] > 0:
            n_groups += 1
        counts[j + 1] += counts[j]
    order = np.empty(nnz, dtype=np.int64)
    fill = counts[:-1].copy()
    entry_row = np.empty(nnz, dtype=np.int32)
    for r in range(offsets.shape[0] - 1):
        for i in range(offsets[r], offsets[r + 1]):
            entry_row[i] = r
            j = ids[i]
            order[fill[j]] = i
            fill[j] += 1
    group_offsets = np.empty(n_groups + 1, dtype=np.int64)
    group_ids = np.empty(n_groups, dtype=np.int32)
    g = 0
    group_offsets[0] = 0
    for j in range(n_ids):
        if counts[j + 1] > counts[j]:
            group_ids[g] = j
            group_offsets[g + 1] = counts[j + 1]
            g += 1
    return order, group_offsets, group_ids, entry_row
