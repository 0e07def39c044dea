"""Top-k selection over the computed outputs of each sample."""
import numpy as np
from numba import njit, prange

from ._twin import serial_twin

_NEG_INF = np.float32(-np.inf)


# A row's running top-k lives in its k slots as a binary heap with the worst entry at the
# root, so an entry costs O(log k) where keeping the slots sorted cost O(k) (k = 5,000 over
# 100,000 classes: 19 s for 1,000 rows); the slots are sorted best first once, at the end.
# Ranking is by score, and among equal scores by the lower id (a CSR row's heap holds places
# in the row): the first of ties stays ahead, as a stable sort of the scores keeps it.


@njit(inline="always")
def _worse(za, ia, zb, ib):
    """Whether (score za, id ia) ranks below (zb, ib)."""
    return za < zb or (za == zb and ia > ib)


@njit(inline="always")
def _sift_down(ids, zs, n, j):
    """Move slot ``j`` of a heap of ``n`` entries down to its place."""
    z, i = zs[j], ids[j]
    while True:
        c = 2 * j + 1
        if c >= n:
            break
        if c + 1 < n and _worse(zs[c + 1], ids[c + 1], zs[c], ids[c]):
            c += 1
        if not _worse(zs[c], ids[c], z, i):
            break
        zs[j] = zs[c]
        ids[j] = ids[c]
        j = c
    zs[j] = z
    ids[j] = i


@njit(inline="always")
def _offer(ids, zs, n, v, idx):
    """Put (idx, v) into a row's heap of ``n`` entries (k = len(ids) slots) if it ranks
    there; returns the new count."""
    if n < ids.shape[0]:
        j = n
        while j > 0:
            p = (j - 1) // 2
            if not _worse(v, idx, zs[p], ids[p]):
                break
            zs[j] = zs[p]
            ids[j] = ids[p]
            j = p
        zs[j] = v
        ids[j] = idx
        return n + 1
    if _worse(zs[0], ids[0], v, idx):
        zs[0] = v
        ids[0] = idx
        _sift_down(ids, zs, n, 0)
    return n


@njit(inline="always")
def _best_first(ids, zs, n):
    """Sort a heap of ``n`` entries best first, in place (the worst root goes last each time)."""
    for end in range(n - 1, 0, -1):
        z, i = zs[0], ids[0]
        zs[0] = zs[end]
        ids[0] = ids[end]
        zs[end] = z
        ids[end] = i
        _sift_down(ids, zs, end, 0)


def _topk_rows(vals, offsets, ids, dense, k, out_ids, out_scores):
    """The k largest outputs of each CSR row, best first, the first of ties ahead; -1 / -inf
    pad rows shorter than k.

    vals : float32[nnz]   offsets : int64[B + 1]   ids : int32[nnz] (unused when ``dense``)
    out_ids : int32[B, k]   out_scores : float32[B, k]   written
    """
    for s in prange(offsets.shape[0] - 1):
        row_ids, row_scores = out_ids[s], out_scores[s]
        for j in range(k):
            row_ids[j] = -1
            row_scores[j] = _NEG_INF
        lo = offsets[s]
        # the heap holds places in the row (increasing, so a tie with the root loses); the
        # root's score in a local: most outputs fall below it and cost one compare (reading
        # it from the slots each time took 6 ns an output, MovieLens' validation)
        hi = offsets[s + 1]
        first = min(hi, lo + k)
        n = 0
        for i in range(lo, first):
            n = _offer(row_ids, row_scores, n, vals[i], i - lo)
        thr = row_scores[0]
        for i in range(first, hi):
            v = vals[i]
            if v > thr:
                _offer(row_ids, row_scores, n, v, i - lo)
                thr = row_scores[0]
        _best_first(row_ids, row_scores, n)
        if not dense:
            for j in range(n):
                row_ids[j] = ids[lo + row_ids[j]]


topk_rows = njit(parallel=True, cache=True)(_topk_rows)
topk_rows_serial = serial_twin(_topk_rows)


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


@njit(inline="always")
def _merge_row(row, first_id, ids, zs, n, run_max, run_sum, s, softmax, scratch):
    """Fold one row of a block into sample ``s``'s running top-k (ids, zs: its k slots, a
    heap of ``n`` entries) and log-sum-exp (run_max[s], run_sum[s]); see
    ``topk_merge_block``. Returns the heap's new count."""
    k = ids.shape[0]
    if softmax:
        m = run_max[s]
        block_max = row.max()
        if block_max > m:
            run_sum[s] *= np.exp(np.float64(m) - np.float64(block_max))
            m = block_max
            run_max[s] = m
        run_sum[s] += _sum_exp(row, m, scratch)
    thr = zs[0] if n == k else _NEG_INF
    for j in range(row.shape[0]):
        if n < k or row[j] > thr:
            n = _offer(ids, zs, n, row[j], first_id + j)
            if n == k:
                thr = zs[0]
    return n


@njit(parallel=True, cache=True)
def topk_merge_block(z, first_id, best_ids, best_z, filled, run_max, run_sum, softmax):
    """Fold one block of dense pre-activations into each row's running top-k and, for
    softmax, its running log-sum-exp, so a wide output is never held whole. The top-k stay
    heaps between blocks: ``topk_best_first`` sorts them after the last.

    z : float32[B, n]        scores of neurons first_id .. first_id + n - 1 (blocks in order)
    best_ids : int32[B, k]   best_z : float32[B, k]   -1 / -inf on the first call; updated
    filled : int64[B]        entries of each row's heap; updated
    run_max : float32[B]     run_sum : float64[B]     sum of exp(z - run_max) so far; updated
    softmax : bool
    """
    for s in prange(z.shape[0]):
        filled[s] = _merge_row(z[s], first_id, best_ids[s], best_z[s], filled[s], run_max, run_sum, s, softmax,
                               np.empty(z.shape[1], dtype=np.int32))


@njit(parallel=True, cache=True)
def topk_best_first(best_ids, best_z, filled):
    """Sort ``topk_merge_block``'s heaps best first, in place.

    best_ids : int32[B, k]   best_z : float32[B, k]   filled : int64[B]
    """
    for s in prange(best_ids.shape[0]):
        _best_first(best_ids[s], best_z[s], filled[s])


_SMALL_BLOCK = 512


@njit(parallel=True, fastmath=True, cache=True)
def dense_topk_small(W, b, h, softmax, best_ids, best_z, run_max, run_sum):
    """Top-k and log-sum-exp of ``h @ W.T + b`` for a few samples, in one pass over W with
    no BLAS call: the neurons are split into C chunks scored in parallel, each keeping its
    own top-k, merged afterwards by ``merge_chunks``. For one sample, BLAS plus a threaded
    merge per block costs more in start-up than the pass over W.

    W : float32[dim, d]   b : float32[dim]   h : float32[B, d]   softmax : bool
    best_ids : int32[C, B, k]   best_z : float32[C, B, k]   -1 / -inf on entry; written, best
                                first
    run_max : float32[C, B]     -inf on entry    run_sum : float64[C, B]   0 on entry
    """
    n_chunks = best_ids.shape[0]
    dim, d = W.shape
    n = h.shape[0]
    for c in prange(n_chunks):
        lo, hi = c * dim // n_chunks, (c + 1) * dim // n_chunks
        z = np.empty((n, _SMALL_BLOCK), dtype=np.float32)
        scratch = np.empty(_SMALL_BLOCK, dtype=np.int32)
        filled = np.zeros(n, dtype=np.int64)
        for start in range(lo, hi, _SMALL_BLOCK):
            m = min(_SMALL_BLOCK, hi - start)
            for jj in range(m):
                w = W[start + jj]
                for s in range(n):
                    acc = np.float32(0.0)
                    for i in range(d):
                        acc += w[i] * h[s, i]
                    z[s, jj] = acc + b[start + jj]
            for s in range(n):
                filled[s] = _merge_row(z[s, :m], start, best_ids[c, s], best_z[c, s], filled[s], run_max[c],
                                       run_sum[c], s, softmax, scratch)
        for s in range(n):
            _best_first(best_ids[c, s], best_z[c, s], filled[s])


@njit(cache=True)
def merge_chunks(best_ids, best_z, run_max, run_sum, out_ids, out_z, out_max, out_sum):
    """Merge ``dense_topk_small``'s per-chunk results.

    best_ids : int32[C, B, k]   best_z : float32[C, B, k]   run_max : float32[C, B]
    run_sum : float64[C, B]     out_ids : int32[B, k]   out_z : float32[B, k]
    out_max : float32[B]        out_sum : float64[B]    all written
    """
    n_chunks, n, k = best_ids.shape
    for s in range(n):
        m = _NEG_INF
        for c in range(n_chunks):
            m = max(m, run_max[c, s])
        total = 0.0
        for j in range(k):
            out_ids[s, j] = -1
            out_z[s, j] = _NEG_INF
        filled = 0
        for c in range(n_chunks):
            if run_sum[c, s] > 0.0:
                total += run_sum[c, s] * np.exp(np.float64(run_max[c, s]) - np.float64(m))
            for j in range(k):
                if best_ids[c, s, j] >= 0:
                    filled = _offer(out_ids[s], out_z[s], filled, best_z[c, s, j], best_ids[c, s, j])
        _best_first(out_ids[s], out_z[s], filled)
        out_max[s] = m
        out_sum[s] = total


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


@njit(parallel=True, cache=True)
def shifted_label_hits(z, prior, weights, lab_offsets, lab_ids, k, counts):
    """How many of each sample's labels rank in its top ``k`` when ``weights[w] * prior`` is
    added to its scores, for each weight: a label ranks there when fewer than ``k`` classes
    score strictly above it.

    z : float32[B, C]   prior : float32[B, C] (a row of its own each, or one broadcast)   weights : float32[W]
    lab_offsets : int64[B + 1]   lab_ids : int32[nnz]   k : int
    counts : int32[B, W]   written
    """
    n_classes = z.shape[1]
    for s in prange(z.shape[0]):
        for w in range(weights.shape[0]):
            counts[s, w] = 0
        for i in range(lab_offsets[s], lab_offsets[s + 1]):
            label = lab_ids[i]
            if label < 0 or label >= n_classes:
                continue
            for w in range(weights.shape[0]):
                shift = weights[w]
                own = z[s, label] + shift * prior[s, label]
                above = 0
                for j in range(n_classes):
                    if z[s, j] + shift * prior[s, j] > own:
                        above += 1
                if above < k:
                    counts[s, w] += 1
