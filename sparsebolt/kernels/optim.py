"""Optimizer updates restricted to the rows that received a gradient this batch.

Each kernel also zeroes the gradient rows it consumed, so the dense gradient buffer is
clean for the next batch without a pass over all of it.
"""
import numpy as np
from numba import njit, prange

from .prefetch import DISTANCE, prefetch_row

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
# a row's update (its weights and both moments read and written) costs about as much as
# this many gradient entries (its summed input rows); 1, 4 and 16 timed alike on MovieLens'
# output rows (1.05-1.17 ms a step at 8 runs, the spread of repeated timings)
_ROW_COST = 4


@njit(cache=True, inline="always")
def _adam_entry(p, m, v, g, b1, b2, step_size, inv_sqrt_bc2, eps):
    """(p, m, v) of one float32 entry after Adam's step with gradient g."""
    m = b1 * m + (_ONE - b1) * g
    v = b2 * v + (_ONE - b2) * g * g
    return p - step_size * m / (np.sqrt(v) * inv_sqrt_bc2 + eps), m, v


@njit(cache=True, inline="always")
def _adam_row(param, m, v, r, grad, b1, b2, step_size, inv_sqrt_bc2, eps):
    """Adam on row r of param, m, v (float32[*, width]) with ``grad : float32[width]``."""
    for c in range(param.shape[1]):
        param[r, c], m[r, c], v[r, c] = _adam_entry(param[r, c], m[r, c], v[r, c], grad[c], b1, b2, step_size,
                                                    inv_sqrt_bc2, eps)


@njit(cache=True)
def _adam_constants(lr, beta1, beta2, eps, step):
    """float32 (beta1, beta2, step size, 1/sqrt(bias correction 2), eps); the bias
    corrections use the global step, as PyTorch's SparseAdam does."""
    return (np.float32(beta1), np.float32(beta2), np.float32(lr / (1.0 - beta1 ** step)),
            np.float32(1.0 / np.sqrt(1.0 - beta2 ** step)), np.float32(eps))


@njit(parallel=True, cache=True)
def adam_rows(param, grad, m, v, rows, lr, beta1, beta2, eps, step):
    """Adam on ``rows`` only ("lazy" Adam): untouched rows keep their weights and moments.

    param, grad, m, v : float32[n_rows, width]
    rows : int32[n]               rows to update
    lr, beta1, beta2, eps : float
    step : int                    global step count (1-based) for bias correction
    """
    b1, b2, step_size, inv_sqrt_bc2, e = _adam_constants(lr, beta1, beta2, eps, step)
    for n in prange(rows.shape[0]):
        r = rows[n]
        _adam_row(param, m, v, r, grad[r], b1, b2, step_size, inv_sqrt_bc2, e)
        grad[r, :] = _ZERO


@njit(parallel=True, cache=True)
def adam_every_row(values, grads, ms, vs, lr, beta1, beta2, eps, step):
    """Adam on every entry of several parameters in one call (a small model's biases and
    dense weights: a call each cost more than their updates), each entry as ``adam_rows``
    updates it.

    values, grads, ms, vs : tuples of float32[size], a parameter's arrays flattened
    lr, beta1, beta2, eps : float    step : int
    """
    b1, b2, step_size, inv_sqrt_bc2, e = _adam_constants(lr, beta1, beta2, eps, step)
    for i in range(len(values)):
        # one name a statement: numba 0.68 compiled ``param, grad, m, v = values[i], ...``
        # before a prange into a loop that changed nothing
        param = values[i]
        grad = grads[i]
        m = ms[i]
        v = vs[i]
        for c in prange(param.shape[0]):
            param[c], m[c], v[c] = _adam_entry(param[c], m[c], v[c], grad[c], b1, b2, step_size, inv_sqrt_bc2, e)
            grad[c] = _ZERO


@njit(parallel=True, cache=True)
def sgd_rows(param, grad, rows, lr):
    """Plain SGD on ``rows`` only.

    param, grad : float32[n_rows, width]    rows : int32[n]    lr : float
    """
    step = np.float32(lr)
    width = param.shape[1]
    for n in prange(rows.shape[0]):
        r = rows[n]
        for c in range(width):
            param[r, c] -= step * grad[r, c]
            grad[r, c] = _ZERO


@njit(cache=True)
def take_touched(touched):
    """Return the ids of set flags and clear them.

    touched : uint8[n]  ->  int32[n_set]
    """
    # eight flags at a time, skipping the zero words (an input table's 100,000 flags with a
    # few hundred set: 24 us a step flag by flag, 10 us so); within a word, writing every id
    # and advancing past the set ones, which costs no mispredicted branch where many are set
    n = touched.shape[0]
    n_words = n // 8
    words = touched[:8 * n_words].view(np.uint64)
    count = 0
    for w in range(n_words):
        if words[w] != 0:
            for i in range(8 * w, 8 * w + 8):
                count += touched[i] != 0
    for i in range(8 * n_words, n):
        count += touched[i] != 0
    rows = np.empty(count + 8, dtype=np.int32)
    count = 0
    for w in range(n_words):
        if words[w] != 0:
            for i in range(8 * w, 8 * w + 8):
                rows[count] = i
                count += touched[i] != 0
            words[w] = 0
    for i in range(8 * n_words, n):
        rows[count] = i
        count += touched[i] != 0
        touched[i] = 0
    return rows[:count]


@njit(cache=True, inline="always")
def _grouped_row_grad(x, entry_row, order, lo, hi, dz, out):
    """out = sum over entries i = order[lo:hi] of dz[i] * x[entry_row[i]] (one neuron's row)."""
    for c in range(out.shape[0]):
        out[c] = _ZERO
    for p in range(lo, hi):
        i = order[p]
        grad = dz[i]
        if grad == _ZERO:
            continue
        s = entry_row[i]
        for c in range(out.shape[0]):
            out[c] += grad * x[s, c]


@njit(parallel=True, cache=True)
def grouped_grads(x, entry_row, order, group_offsets, dz, out):
    """The summed gradient rows of a fully connected layer's active neurons, compactly:
    out[g] = sum of dz[i] * x[s] over group g's entries (one row per touched neuron).

    x : float32[B, d_in]   entry_row, order, group_offsets : ``grouping.group_by_id``
    dz : float32[nnz_out]  out : float32[G, d_in] written
    """
    for g in prange(out.shape[0]):
        _grouped_row_grad(x, entry_row, order, group_offsets[g], group_offsets[g + 1], dz, out[g])


@njit(cache=True, inline="always")
def _work_before(group_offsets, g):
    """The work of groups 0 .. g - 1: their entries plus ``_ROW_COST`` each."""
    return group_offsets[g] - group_offsets[0] + _ROW_COST * g


@njit(cache=True)
def _balanced_runs(group_offsets, n_runs):
    """Bounds of ``n_runs`` consecutive runs of groups of about equal work (``_work_before``):
    runs of a fixed number of groups left a thread idle while the other summed the popular
    rows (MovieLens' output, 1,651 groups of 43,008 entries: 1.57 -> 1.05 ms a step).

    group_offsets : int64[G + 1]  ->  int64[max(1, n_runs) + 1]
    """
    n_runs = max(1, n_runs)
    n_groups = group_offsets.shape[0] - 1
    total = _work_before(group_offsets, n_groups)
    bounds = np.empty(n_runs + 1, dtype=np.int64)
    bounds[0] = 0
    g = 0
    for t in range(1, n_runs):
        target = total * t // n_runs
        while g < n_groups and _work_before(group_offsets, g + 1) <= target:
            g += 1
        # the group that crosses the target goes to the run it leaves nearer to it: a popular
        # first row larger than a run's share would otherwise leave that run empty
        if g < n_groups and (_work_before(group_offsets, g + 1) - target
                             < target - _work_before(group_offsets, g)):
            g += 1
        bounds[t] = g
    bounds[n_runs] = n_groups
    return bounds


@njit(cache=True, inline="always")
def _prefetch_group(group_ids, g, hi, param, m, v):
    """Ask for the rows of the group ``DISTANCE`` ahead (m, v may be param when unused)."""
    if g + DISTANCE < hi:
        r = group_ids[g + DISTANCE]
        prefetch_row(param, r)
        prefetch_row(m, r)
        prefetch_row(v, r)


@njit(parallel=True, cache=True)
def adam_grouped(param, m, v, x, entry_row, order, group_offsets, group_ids, dz,
                 lr, beta1, beta2, eps, step, n_runs):
    """Lazy Adam on the rows of a fully connected layer whose gradient has not been summed
    yet: each row's gradient is built from its group of (sample, dz) entries in a local
    row and applied at once, so no dense gradient buffer is written or read. Each thread takes
    one run of groups of about equal work (``_balanced_runs``) and owns a local row that LLVM
    knows is apart from param, m and v, and prefetches the rows a few groups ahead.

    param, m, v : float32[dim, d_in]      x : float32[B, d_in] the layer's input
    entry_row, order, group_offsets, group_ids : ``grouping.group_by_id`` of the output ids
    dz : float32[nnz_out]
    n_runs : int                          runs of groups, one a thread (the thread count)
    """
    b1, b2, step_size, inv_sqrt_bc2, e = _adam_constants(lr, beta1, beta2, eps, step)
    bounds = _balanced_runs(group_offsets, n_runs)
    for t in prange(bounds.shape[0] - 1):
        row = np.empty(param.shape[1], dtype=np.float32)
        hi = bounds[t + 1]
        for g in range(bounds[t], hi):
            _prefetch_group(group_ids, g, hi, param, m, v)
            _grouped_row_grad(x, entry_row, order, group_offsets[g], group_offsets[g + 1], dz, row)
            _adam_row(param, m, v, group_ids[g], row, b1, b2, step_size, inv_sqrt_bc2, e)


@njit(parallel=True, cache=True)
def sgd_grouped(param, x, entry_row, order, group_offsets, group_ids, dz, lr, n_runs):
    """SGD counterpart of ``adam_grouped``."""
    step = np.float32(lr)
    width = param.shape[1]
    bounds = _balanced_runs(group_offsets, n_runs)
    for t in prange(bounds.shape[0] - 1):
        row = np.empty(width, dtype=np.float32)
        hi = bounds[t + 1]
        for g in range(bounds[t], hi):
            _prefetch_group(group_ids, g, hi, param, param, param)
            _grouped_row_grad(x, entry_row, order, group_offsets[g], group_offsets[g + 1], dz, row)
            r = group_ids[g]
            for c in range(width):
                param[r, c] -= step * row[c]
