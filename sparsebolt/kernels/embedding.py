"""Embedding bag: the sum of weight rows over a sample's sparse ids, scaled by their values."""
import numpy as np
from numba import njit, prange

_ZERO = np.float32(0.0)


def _embedding_forward(E, b, offsets, ids, vals, out):
    """out[s] = b + sum_k vals[k] * E[ids[k]] over the nonzeros of sample s.

    E : float32[n_features, dim]  b : float32[dim]
    offsets : int64[B + 1]        ids : int32[nnz]              vals : float32[nnz]
    out : float32[B, dim]         written
    """
    n_samples = offsets.shape[0] - 1
    dim = E.shape[1]
    for s in prange(n_samples):
        for c in range(dim):
            out[s, c] = b[c]
        for k in range(offsets[s], offsets[s + 1]):
            row = ids[k]
            v = vals[k]
            for c in range(dim):
                out[s, c] += v * E[row, c]


@njit(parallel=True, cache=True)
def embedding_backward(E, offsets, ids, vals, dout, dE, touched, dvals, compute_dx):
    """Accumulate dE rows (and d vals) from dout, the gradient w.r.t. the pre-activation sum.

    E : float32[n_features, dim]  offsets : int64[B + 1]  ids : int32[nnz]  vals : float32[nnz]
    dout : float32[B, dim]        dE : float32[n_features, dim]    touched : uint8[n_features]
    dvals : float32[nnz]          written when ``compute_dx``
    """
    n_samples = offsets.shape[0] - 1
    dim = E.shape[1]
    for s in prange(n_samples):
        for k in range(offsets[s], offsets[s + 1]):
            row = ids[k]
            v = vals[k]
            touched[row] = 1
            if compute_dx:
                acc = _ZERO
                for c in range(dim):
                    acc += dout[s, c] * E[row, c]
                dvals[k] = acc
            for c in range(dim):
                dE[row, c] += v * dout[s, c]


embedding_forward = njit(parallel=True, cache=True)(_embedding_forward)
embedding_forward_serial = njit(cache=True)(_embedding_forward)
