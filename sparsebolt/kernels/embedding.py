"""Embedding bag: the sum of weight rows over a sample's sparse ids, scaled by their values."""
import numpy as np
from numba import njit, prange

from ._twin import serial_twin
from .prefetch import DISTANCE, prefetch_row

_ZERO = np.float32(0.0)
# samples a task of the forward pass takes: few, so a batch of 32 still keeps 2 threads busy
_SAMPLE_CHUNK = 16


def _embedding_forward(E, b, offsets, ids, vals, out):
    """out[s] = b + sum_k vals[k] * E[ids[k]] over the nonzeros of sample s.

    E : float32[n_features, dim]  b : float32[dim]
    offsets : int64[B + 1]        ids : int32[nnz]              vals : float32[nnz]
    out : float32[B, dim]         written
    """
    n_samples, nnz = offsets.shape[0] - 1, ids.shape[0]
    dim = E.shape[1]
    for t in prange((n_samples + _SAMPLE_CHUNK - 1) // _SAMPLE_CHUNK):
        # a sample's sum in a row of its own, which LLVM knows E does not overlap: summed in
        # out, the row was loaded and stored again for every entry (adult's forward took a
        # third longer)
        acc = np.empty(dim, dtype=np.float32)
        for s in range(t * _SAMPLE_CHUNK, min(n_samples, (t + 1) * _SAMPLE_CHUNK)):
            for c in range(dim):
                acc[c] = b[c]
            for k in range(offsets[s], offsets[s + 1]):
                # a sample's rows are scattered over a large table: ask for one a few entries ahead
                if k + DISTANCE < nnz:
                    prefetch_row(E, ids[k + DISTANCE])
                row = ids[k]
                v = vals[k]
                for c in range(dim):
                    acc[c] += v * E[row, c]
            for c in range(dim):
                out[s, c] = acc[c]


@njit(parallel=True, cache=True, fastmath={"reassoc", "contract", "nsz"})
def embedding_input_grad(E, offsets, ids, dout, dvals):
    """dvals[k] = dout[s] . E[ids[k]], the gradient w.r.t. each input value.

    E : float32[n_features, dim]   offsets : int64[B + 1]   ids : int32[nnz]
    dout : float32[B, dim]         dvals : float32[nnz]     written
    """
    dim = E.shape[1]
    for s in prange(offsets.shape[0] - 1):
        for k in range(offsets[s], offsets[s + 1]):
            acc = _ZERO
            row = ids[k]
            for c in range(dim):
                acc += dout[s, c] * E[row, c]
            dvals[k] = acc


embedding_forward = njit(parallel=True, cache=True)(_embedding_forward)
embedding_forward_serial = serial_twin(_embedding_forward)
