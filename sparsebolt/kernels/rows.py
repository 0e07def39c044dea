"""Summing the rows of row-sparse gradients that share a row id (data-parallel exchange)."""
from numba import njit, prange


@njit(parallel=True, cache=True)
def sum_groups(vals, order, group_offsets, divisor, out):
    """out[g] = (sum of vals[order[k]] for k in group g, added in k order) / divisor.

    vals : float32[n, w]    order : int64[n]    group_offsets : int64[G + 1]
    divisor : float32       out : float32[G, w]
    One thread per group, so the result is the same for any thread count.
    """
    width = vals.shape[1]
    for g in prange(group_offsets.shape[0] - 1):
        lo, hi = group_offsets[g], group_offsets[g + 1]
        src = order[lo]
        for c in range(width):
            out[g, c] = vals[src, c]
        for k in range(lo + 1, hi):
            src = order[k]
            for c in range(width):
                out[g, c] += vals[src, c]
        if divisor != 1:
            for c in range(width):
                out[g, c] = out[g, c] / divisor
