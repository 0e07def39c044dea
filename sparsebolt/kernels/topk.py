"""Top-k selection over the computed outputs of each sample."""
import numpy as np
from numba import njit, prange

_NEG_INF = np.float32(-np.inf)


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
            v = vals[i]
            if v <= out_scores[s, k - 1] and out_ids[s, k - 1] >= 0:
                continue
            j = k - 1
            while j > 0 and (out_ids[s, j - 1] < 0 or v > out_scores[s, j - 1]):
                out_scores[s, j] = out_scores[s, j - 1]
                out_ids[s, j] = out_ids[s, j - 1]
                j -= 1
            out_scores[s, j] = v
            out_ids[s, j] = (i - lo) if dense else ids[i]


topk_rows = njit(parallel=True, cache=True)(_topk_rows)
topk_rows_serial = njit(cache=True)(_topk_rows)


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
