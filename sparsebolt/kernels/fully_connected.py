"""Forward and backward of a fully connected layer over an explicit set of output neurons.

The weight matrix is ``W : float32[dim, d_in]``, one row per output neuron, so a sparse
output reads whole contiguous rows. Each sample's outputs are the ids of one CSR row
(``out_offsets``, ``out_ids``): the LSH active set, or every neuron for a dense pass over a
sparse input. Dense-input, dense-output passes go through BLAS in ``nn/`` instead.

Weight gradients are summed per neuron (``grouping.group_by_id``), one thread per row: no
locks and, unlike the HOGWILD sums of SLIDE and BOLT, no lost updates and the same bits for
any thread count. ``touched`` records which rows were active so the optimizer visits only those.
"""
import numpy as np
from numba import njit, prange

from ._twin import serial_twin
from .prefetch import DISTANCE, prefetch_row, prefetch_span

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
# reassociation lets LLVM vectorise the dot-product reductions; results stay deterministic
_FAST = {"reassoc", "contract", "nsz"}
# neurons ahead whose gathered weights the passes over sparse rows prefetch (2, 4, 8, 16 ahead:
# 10.9, 10.5, 11.9, 14.6 ms against 26-28 without, scratch s55/mb_pf.py)
_GATHER_AHEAD = 4


def _forward_dense_input(W, b, x, out_offsets, out_ids, z):
    """z[i] = b[j] + W[j] . x[s] for every output i = (s, j).

    W : float32[dim, d_in]        b : float32[dim]
    x : float32[B, d_in]          out_offsets : int64[B + 1]    out_ids : int32[nnz_out]
    z : float32[nnz_out]          written
    """
    n_samples, d_in = x.shape
    for s in prange(n_samples):
        hi = out_offsets[s + 1]
        for i in range(out_offsets[s], hi):
            if i + DISTANCE < hi:
                prefetch_row(W, out_ids[i + DISTANCE])
            j = out_ids[i]
            acc = b[j]
            for c in range(d_in):
                acc += W[j, c] * x[s, c]
            z[i] = acc


def _forward_softmax_ce_dense_input(W, b, x, out_offsets, out_ids, lab_offsets, lab_ids, lab_vals,
                                    acts, dx):
    """Softmax forward of the active neurons fused with the input gradient of the softmax
    cross-entropy loss, reading each active weight row once.

    dL/dx[s] = (sum_j p_j W[j] - sum_l y_l W[l]) / B. The first sum is kept as an online
    softmax (running max, rescaled sums) while the row is in cache; the labels' rows are
    read again (a handful a sample). Labels must be among the active neurons, as they are
    in training. The running sum is a fresh local array so LLVM can keep it apart from W.

    W : float32[dim, d_in]   b : float32[dim]   x : float32[B, d_in]
    out_offsets : int64[B + 1]   out_ids : int32[nnz_out]
    lab_offsets : int64[B + 1]   lab_ids : int32[nnz_lab]   lab_vals : float32[nnz_lab]
    acts : float32[nnz_out]   written: softmax probabilities over each row
    dx : float32[B, d_in]     written
    """
    n_samples, d_in = x.shape
    inv_b = np.float32(1.0 / n_samples)
    for s in prange(n_samples):
        acc = np.zeros(d_in, dtype=np.float32)
        run_max = np.float32(-np.inf)
        run_sum = _ZERO
        lo, hi = out_offsets[s], out_offsets[s + 1]
        for i in range(lo, hi):
            if i + DISTANCE < hi:
                prefetch_row(W, out_ids[i + DISTANCE])
            j = out_ids[i]
            z = b[j]
            for c in range(d_in):
                z += W[j, c] * x[s, c]
            acts[i] = z
            if z > run_max:
                scale = np.exp(run_max - z)
                for c in range(d_in):
                    acc[c] *= scale
                run_sum *= scale
                run_max = z
            e = np.exp(z - run_max)
            run_sum += e
            for c in range(d_in):
                acc[c] += e * W[j, c]
        inv_sum = _ONE / run_sum
        for i in range(lo, hi):
            acts[i] = np.exp(acts[i] - run_max) * inv_sum
        total = _ZERO
        for k in range(lab_offsets[s], lab_offsets[s + 1]):
            total += lab_vals[k]
        for c in range(d_in):
            dx[s, c] = acc[c] * inv_sum * inv_b
        if total > _ZERO:
            for k in range(lab_offsets[s], lab_offsets[s + 1]):
                y = lab_vals[k] / total * inv_b
                j = lab_ids[k]
                for c in range(d_in):
                    dx[s, c] -= y * W[j, c]


def _bias_grad(order, group_offsets, group_ids, dz, db, touched):
    """db[j] += sum of dz over neuron j's entries; flags the active rows in ``touched``.

    order : int64[nnz_out]   group_offsets : int64[G + 1]   group_ids : int32[G]   (``grouping.group_by_id``)
    dz : float32[nnz_out]    db : float32[dim]   added to   touched : uint8[dim]   set to 1
    """
    for g in prange(group_ids.shape[0]):
        j = group_ids[g]
        touched[j] = 1
        acc = _ZERO
        for p in range(group_offsets[g], group_offsets[g + 1]):
            acc += dz[order[p]]
        db[j] += acc


def _input_grad_dense_input(W, out_offsets, out_ids, dz, dx):
    """dx[s] += sum of dz[i] * W[j] over the outputs i = (s, j) of sample s.

    W : float32[dim, d_in]   out_offsets : int64[B + 1]   out_ids : int32[nnz_out]
    dz : float32[nnz_out]    dx : float32[B, d_in]        added to
    """
    d_in = W.shape[1]
    for s in prange(out_offsets.shape[0] - 1):
        hi = out_offsets[s + 1]
        for i in range(out_offsets[s], hi):
            if i + DISTANCE < hi:
                prefetch_row(W, out_ids[i + DISTANCE])
            grad = dz[i]
            if grad == _ZERO:
                continue
            j = out_ids[i]
            for c in range(d_in):
                dx[s, c] += grad * W[j, c]


def _forward_sparse_input(W, b, in_offsets, in_ids, in_vals, out_offsets, out_ids, z):
    """z[i] = b[j] + sum_k in_vals[k] * W[j, in_ids[k]] over the sample's input nonzeros.

    W : float32[dim, d_in]        b : float32[dim]
    in_offsets : int64[B + 1]     in_ids : int32[nnz_in]        in_vals : float32[nnz_in]
    out_offsets : int64[B + 1]    out_ids : int32[nnz_out]      z : float32[nnz_out] written
    """
    n_samples = in_offsets.shape[0] - 1
    for s in prange(n_samples):
        lo, hi = in_offsets[s], in_offsets[s + 1]
        out_hi = out_offsets[s + 1]
        for i in range(out_offsets[s], out_hi):
            # each product is a cache line of a far weight row: ask for the lines of the
            # neuron a few ahead
            if i + _GATHER_AHEAD < out_hi:
                row = W[out_ids[i + _GATHER_AHEAD]]
                for k in range(lo, hi):
                    prefetch_span(row, in_ids[k], 1)
            j = out_ids[i]
            acc = b[j]
            for k in range(lo, hi):
                acc += in_vals[k] * W[j, in_ids[k]]
            z[i] = acc


def _forward_sparse_input_all(W, b, in_offsets, in_ids, in_vals, z):
    """Every neuron of CSR rows (a dense pass): z[s, j] as ``forward_sparse_input`` sums it.
    Neuron-major, each thread blocks of 4 neurons walking the whole batch: a weight row is
    then read from memory once a batch, where sample-major order fetches a cache line of a
    row for each nonzero of each sample, and the 4 sums share each nonzero's loads (2,048
    rows of 12 nonzeros of 20,000 into 2,000 neurons: 46 ms, one neuron at a time 118,
    sample-major 780).

    W : float32[dim, d_in]        b : float32[dim]
    in_offsets : int64[B + 1]     in_ids : int32[nnz_in]        in_vals : float32[nnz_in]
    z : float32[B, dim]           written
    """
    n_samples = in_offsets.shape[0] - 1
    dim = W.shape[0]
    for q in prange((dim + 3) // 4):
        j = 4 * q
        # a single-sample request waits on a cache line of each row for each nonzero: ask for
        # the first row's lines of the next block (1 row, 2,000 x 20,000: 0.25-0.4x the
        # time); in a batch a row's lines are fetched once and reused
        if n_samples > 0:
            for ahead in range(j + 4, min(j + 8, dim)):
                row = W[ahead]
                for k in range(in_offsets[0], in_offsets[1]):
                    prefetch_span(row, in_ids[k], 1)
        if j + 4 > dim:
            for jj in range(j, dim):
                for s in range(n_samples):
                    acc = b[jj]
                    for k in range(in_offsets[s], in_offsets[s + 1]):
                        acc += in_vals[k] * W[jj, in_ids[k]]
                    z[s, jj] = acc
            continue
        for s in range(n_samples):
            a0, a1, a2, a3 = b[j], b[j + 1], b[j + 2], b[j + 3]
            for k in range(in_offsets[s], in_offsets[s + 1]):
                c = in_ids[k]
                v = in_vals[k]
                a0 += v * W[j, c]
                a1 += v * W[j + 1, c]
                a2 += v * W[j + 2, c]
                a3 += v * W[j + 3, c]
            z[s, j], z[s, j + 1], z[s, j + 2], z[s, j + 3] = a0, a1, a2, a3


def _weight_grad_sparse_input(in_offsets, in_ids, in_vals, entry_row, order, group_offsets, group_ids,
                             dz, dW):
    """Weight gradient over a sparse input (over a dense one, see ``optim.grouped_grads``):
    dW[j, in_ids[k]] += dz[i] * in_vals[k] over the input nonzeros k of each entry's sample.

    in_offsets : int64[B + 1]   in_ids : int32[nnz_in]   in_vals : float32[nnz_in]
    entry_row : int32[nnz_out]   order : int64[nnz_out]   group_offsets : int64[G + 1]
    group_ids : int32[G]         (``grouping.group_by_id`` of the outputs)
    dz : float32[nnz_out]        dW : float32[dim, d_in]   added to
    """
    for g in prange(group_ids.shape[0]):
        j = group_ids[g]
        for p in range(group_offsets[g], group_offsets[g + 1]):
            i = order[p]
            grad = dz[i]
            if grad == _ZERO:
                continue
            s = entry_row[i]
            for k in range(in_offsets[s], in_offsets[s + 1]):
                dW[j, in_ids[k]] += grad * in_vals[k]


def _input_grad_sparse_input(W, in_offsets, in_ids, out_offsets, out_ids, dz, d_in_vals):
    """d_in_vals[k] += sum of dz[i] * W[j, in_ids[k]] over the outputs i = (s, j) of sample s.

    W : float32[dim, d_in]        in_offsets : int64[B + 1]     in_ids : int32[nnz_in]
    out_offsets : int64[B + 1]    out_ids : int32[nnz_out]      dz : float32[nnz_out]
    d_in_vals : float32[nnz_in]   added to
    """
    for s in prange(out_offsets.shape[0] - 1):
        for i in range(out_offsets[s], out_offsets[s + 1]):
            grad = dz[i]
            if grad == _ZERO:
                continue
            j = out_ids[i]
            for k in range(in_offsets[s], in_offsets[s + 1]):
                d_in_vals[k] += grad * W[j, in_ids[k]]


forward_dense_input = njit(parallel=True, cache=True, fastmath=_FAST)(_forward_dense_input)
forward_dense_input_serial = serial_twin(_forward_dense_input, fastmath=_FAST)
forward_softmax_ce_dense_input = njit(parallel=True, cache=True, fastmath=_FAST)(_forward_softmax_ce_dense_input)
# no fastmath: with 'reassoc' LLVM vectorized this sum one way when numba compiled it and another
# when it loaded the cached binary (numba#10617), so a run's weights depended on the cache
bias_grad = njit(parallel=True, cache=True)(_bias_grad)
input_grad_dense_input = njit(parallel=True, cache=True, fastmath=_FAST)(_input_grad_dense_input)
forward_sparse_input = njit(parallel=True, cache=True, fastmath=_FAST)(_forward_sparse_input)
forward_sparse_input_serial = serial_twin(_forward_sparse_input, fastmath=_FAST)
forward_sparse_input_all = njit(parallel=True, cache=True, fastmath=_FAST)(_forward_sparse_input_all)
forward_sparse_input_all_serial = serial_twin(_forward_sparse_input_all, fastmath=_FAST)
weight_grad_sparse_input = njit(parallel=True, cache=True, fastmath=_FAST)(_weight_grad_sparse_input)
input_grad_sparse_input = njit(parallel=True, cache=True, fastmath=_FAST)(_input_grad_sparse_input)
