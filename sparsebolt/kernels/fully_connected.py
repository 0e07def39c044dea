"""Forward and backward of a fully connected layer over an explicit set of output neurons.

The weight matrix is ``W : float32[dim, d_in]``, one row per output neuron, so a sparse
output reads whole contiguous rows. Each sample's outputs are the ids of one CSR row
(``out_offsets``, ``out_ids``): the LSH active set, or every neuron for a dense pass over a
sparse input. Dense-input, dense-output passes go through BLAS in ``nn/`` instead.

Gradients are summed into dense buffers from all threads without locks (HOGWILD, as in
SLIDE and BOLT): with more than one thread, concurrent updates of one row may interleave.
``touched`` records which rows got a gradient so the optimizer visits only those.
"""
import numpy as np
from numba import njit, prange

_ZERO = np.float32(0.0)
# reassociation lets LLVM vectorise the dot-product reductions; results stay deterministic
_FAST = {"reassoc", "contract", "nsz"}


def _forward_dense_input(W, b, x, out_offsets, out_ids, z):
    """z[i] = b[j] + W[j] . x[s] for every output i = (s, j).

    W : float32[dim, d_in]        b : float32[dim]
    x : float32[B, d_in]          out_offsets : int64[B + 1]    out_ids : int32[nnz_out]
    z : float32[nnz_out]          written
    """
    n_samples, d_in = x.shape
    for s in prange(n_samples):
        for i in range(out_offsets[s], out_offsets[s + 1]):
            j = out_ids[i]
            acc = b[j]
            for c in range(d_in):
                acc += W[j, c] * x[s, c]
            z[i] = acc


def _backward_dense_input(W, x, out_offsets, out_ids, dz, dW, db, touched, dx, compute_dx):
    """Accumulate dW, db (and dx) from dz, the gradient w.r.t. the selected pre-activations.

    W : float32[dim, d_in]        x : float32[B, d_in]
    out_offsets : int64[B + 1]    out_ids : int32[nnz_out]      dz : float32[nnz_out]
    dW : float32[dim, d_in]       db : float32[dim]             touched : uint8[dim]
    dx : float32[B, d_in]         added to when ``compute_dx``
    """
    n_samples, d_in = x.shape
    for s in prange(n_samples):
        for i in range(out_offsets[s], out_offsets[s + 1]):
            g = dz[i]
            if g == _ZERO:
                continue
            j = out_ids[i]
            touched[j] = 1
            db[j] += g
            if compute_dx:
                for c in range(d_in):
                    dx[s, c] += g * W[j, c]
                    dW[j, c] += g * x[s, c]
            else:
                for c in range(d_in):
                    dW[j, c] += g * x[s, c]


def _forward_sparse_input(W, b, in_offsets, in_ids, in_vals, out_offsets, out_ids, z):
    """z[i] = b[j] + sum_k in_vals[k] * W[j, in_ids[k]] over the sample's input nonzeros.

    W : float32[dim, d_in]        b : float32[dim]
    in_offsets : int64[B + 1]     in_ids : int32[nnz_in]        in_vals : float32[nnz_in]
    out_offsets : int64[B + 1]    out_ids : int32[nnz_out]      z : float32[nnz_out] written
    """
    n_samples = in_offsets.shape[0] - 1
    for s in prange(n_samples):
        lo, hi = in_offsets[s], in_offsets[s + 1]
        for i in range(out_offsets[s], out_offsets[s + 1]):
            j = out_ids[i]
            acc = b[j]
            for k in range(lo, hi):
                acc += in_vals[k] * W[j, in_ids[k]]
            z[i] = acc


def _backward_sparse_input(W, in_offsets, in_ids, in_vals, out_offsets, out_ids, dz,
                           dW, db, touched, d_in_vals, compute_dx):
    """Sparse-input counterpart of ``backward_dense_input``.

    d_in_vals : float32[nnz_in]   gradient w.r.t. in_vals, added to when ``compute_dx``
    """
    n_samples = in_offsets.shape[0] - 1
    for s in prange(n_samples):
        lo, hi = in_offsets[s], in_offsets[s + 1]
        for i in range(out_offsets[s], out_offsets[s + 1]):
            g = dz[i]
            if g == _ZERO:
                continue
            j = out_ids[i]
            touched[j] = 1
            db[j] += g
            for k in range(lo, hi):
                c = in_ids[k]
                if compute_dx:
                    d_in_vals[k] += g * W[j, c]
                dW[j, c] += g * in_vals[k]


forward_dense_input = njit(parallel=True, cache=True, fastmath=_FAST)(_forward_dense_input)
forward_dense_input_serial = njit(cache=True, fastmath=_FAST)(_forward_dense_input)
backward_dense_input = njit(parallel=True, cache=True, fastmath=_FAST)(_backward_dense_input)
forward_sparse_input = njit(parallel=True, cache=True, fastmath=_FAST)(_forward_sparse_input)
forward_sparse_input_serial = njit(cache=True, fastmath=_FAST)(_forward_sparse_input)
backward_sparse_input = njit(parallel=True, cache=True, fastmath=_FAST)(_backward_sparse_input)
