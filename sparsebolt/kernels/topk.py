"""Top-k selection over the computed outputs of each sample."""
import numpy as np
from numba import njit, prange

_NEG_INF = np.float32(-np.inf)


@njit(inline="always")
def _insert(row_ids, row_scores, v, idx):
    """Put (idx, v) into a row's best-first top-k list if it belongs there."""
    k = row_ids.shape[0]
    if v <= row_scores[k - 1] and row_ids[k - 1] >= 0:
        return
    j = k - 1
    while j > 0 and (row_ids[j - 1] < 0 or v > row_scores[j - 1]):
        row_scores[j] = row_scores[j - 1]
        row_ids[j] = row_ids[j - 1]
        j -= 1
    row_scores[j] = v
    row_ids[j] = idx


def _topk_rows(vals, offsets, ids, dense, k, out_ids, out_scores):
    """The k largest outputs of each CSR row, best first; -1 / -inf pad rows shorter than k.

    vals : float32[nnz]   offsets : int64[B + 1]   ids : int32[nnz] (unused when ``dense``)
    out_ids : int32[B, k]   out_scores : float32[B, k]   written
    """
    for s in prange(offsets.shape[0] - 1):
        for j in range(k):
            out_ids[s, j] = -1
            out_scores[s, j] = _NEG_INF
        lo = offsets[s]
        for i in range(lo, offsets[s + 1]):
            _insert(out_ids[s], out_scores[s], vals[i], (i - lo) if dense else ids[i])


topk_rows = njit(parallel=True, cache=True)(_topk_rows)
topk_rows_serial = njit(cache=True)(_topk_rows)


@njit(fastmath=True, cache=True)
def _sum_exp(row, m, scratch):
    """sum(exp(row - m)) for row <= m, with a vectorisable 2**x (exponent bits times a
    degree-5 minimax polynomial, relative error below 2e-7): numba has no SIMD exp here, and a
    libm call per neuron would cost more than scoring the neuron.

    row : float32[n]   m : float32   scratch : int32[n] (overwritten)
    """
    n = row.shape[0]
    frac = np.empty(n, dtype=np.float32)
    for j in range(n):
        t = max((row[j] - m) * np.float32(1.4426950408889634), np.float32(-126.0))
        e = np.floor(t)
        f = t - e
        frac[j] = np.float32(0.99999994) + f * (np.float32(0.6931531) + f * (np.float32(0.24015363) + f * (
            np.float32(0.055826314) + f * (np.float32(0.0089893425) + f * np.float32(0.001877576)))))
        scratch[j] = (np.int32(e) + np.int32(127)) << np.int32(23)
    powers = scratch.view(np.float32)
    acc = np.float32(0.0)
    for j in range(n):
        acc += frac[j] * powers[j]
    return acc


@njit(parallel=True, cache=True)
def topk_merge_block(z, first_id, best_ids, best_z, run_max, run_sum, softmax):
    """Fold one block of dense pre-activations into each row's running top-k and, for
    softmax, its running log-sum-exp, so a wide output is never held whole.

    z : float32[B, n]        scores of neurons first_id .. first_id + n - 1
    best_ids : int32[B, k]   best_z : float32[B, k]   best first, -1 / -inf when empty; updated
    run_max : float32[B]     run_sum : float64[B]     sum of exp(z - run_max) so far; updated
    softmax : bool
    """
    n, k = z.shape[1], best_ids.shape[1]
    for s in prange(z.shape[0]):
        row = z[s]
        if softmax:
            m = run_max[s]
            block_max = row.max()
            if block_max > m:
                run_sum[s] *= np.exp(np.float64(m) - np.float64(block_max))
                m = block_max
                run_max[s] = m
            run_sum[s] += _sum_exp(row, m, np.empty(n, dtype=np.int32))
        thr = best_z[s, k - 1] if best_ids[s, k - 1] >= 0 else _NEG_INF
        for j in range(n):
            if row[j] > thr:
                _insert(best_ids[s], best_z[s], row[j], first_id + j)
                if best_ids[s, k - 1] >= 0:
                    thr = best_z[s, k - 1]


@njit(parallel=True, cache=True)
def label_hits(top_ids, lab_offsets, lab_ids, hits):
    """Whether each predicted id is among the sample's labels.

    top_ids : int32[B, k]   lab_offsets : int64[B + 1]   lab_ids : int32[nnz]   hits : bool[B, k]
    """
    for s in prange(top_ids.shape[0]):
        for j in range(top_ids.shape[1]):
            found = False
            for i in range(lab_offsets[s], lab_offsets[s + 1]):
                if lab_ids[i] == top_ids[s, j]:
                    found = True
                    break
            hits[s, j] = found
