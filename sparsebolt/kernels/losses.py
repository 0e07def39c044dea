"""Losses over the computed outputs of a batch, returning dL/dz for the output pre-activations.

Outputs are CSR rows (``out_offsets``, ``out_ids``, ``acts``); ``dense`` says the row holds
every neuron in order, so a label's position is its id and ``out_ids`` is unused.
Both losses are averaged over the batch.
"""
import numpy as np
from numba import njit, prange

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_TINY = np.float32(1e-12)


@njit(cache=True)
def _position(out_ids, lo, hi, label, dense):
    if dense:
        return lo + label
    for i in range(lo, hi):
        if out_ids[i] == label:
            return i
    return -1


@njit(parallel=True, cache=True)
def softmax_cross_entropy(acts, out_offsets, out_ids, dense, lab_offsets, lab_ids, lab_vals, dz, smoothing):
    """Categorical cross-entropy of softmax outputs; a sample's label values are normalised
    to sum to one (so k labels of value 1 weigh 1/k each), then, with ``smoothing`` e, the
    target is (1 - e) of that plus e spread evenly over the row's computed outputs.

    acts : float32[nnz_out]       softmax probabilities over each row
    out_offsets : int64[B + 1]    out_ids : int32[nnz_out]    dense : bool
    lab_offsets : int64[B + 1]    lab_ids : int32[nnz_lab]    lab_vals : float32[nnz_lab]
    dz : float32[nnz_out]         written: (p - y) / B
    smoothing : float32 in [0, 1)
    returns float64: mean loss; labels absent from a row add nothing to loss or gradient
    """
    n_samples = out_offsets.shape[0] - 1
    inv_b = np.float32(1.0 / n_samples)
    keep = _ONE - smoothing
    losses = np.zeros(n_samples, dtype=np.float64)
    for s in prange(n_samples):
        lo, hi = out_offsets[s], out_offsets[s + 1]
        for i in range(lo, hi):
            dz[i] = acts[i] * inv_b
        total = _ZERO
        for k in range(lab_offsets[s], lab_offsets[s + 1]):
            total += lab_vals[k]
        if total <= _ZERO:
            continue
        loss = 0.0
        if smoothing > _ZERO and hi > lo:
            spread = smoothing / np.float32(hi - lo)
            for i in range(lo, hi):
                dz[i] -= spread * inv_b
                loss -= spread * np.log(max(acts[i], _TINY))
        for k in range(lab_offsets[s], lab_offsets[s + 1]):
            pos = _position(out_ids, lo, hi, lab_ids[k], dense)
            if pos < 0:
                continue
            y = keep * lab_vals[k] / total
            dz[pos] -= y * inv_b
            loss -= y * np.log(max(acts[pos], _TINY))
        losses[s] = loss
    return losses.sum() / n_samples


@njit(parallel=True, cache=True)
def sigmoid_binary_cross_entropy(acts, out_offsets, out_ids, dense, lab_offsets, lab_ids,
                                 lab_vals, dz):
    """Binary cross-entropy of sigmoid outputs, summed over a row's outputs; a label's value
    is its target (1 for a plain label), every other computed output has target 0.

    Arguments as ``softmax_cross_entropy``; dz is written with (p - y) / B.
    """
    n_samples = out_offsets.shape[0] - 1
    inv_b = np.float32(1.0 / n_samples)
    losses = np.zeros(n_samples, dtype=np.float64)
    for s in prange(n_samples):
        lo, hi = out_offsets[s], out_offsets[s + 1]
        loss = 0.0
        for i in range(lo, hi):
            dz[i] = acts[i] * inv_b
            loss -= np.log(max(_ONE - acts[i], _TINY))
        for k in range(lab_offsets[s], lab_offsets[s + 1]):
            pos = _position(out_ids, lo, hi, lab_ids[k], dense)
            if pos < 0:
                continue
            y = lab_vals[k]
            p = acts[pos]
            dz[pos] -= y * inv_b
            loss += np.log(max(_ONE - p, _TINY))
            loss -= y * np.log(max(p, _TINY)) + (_ONE - y) * np.log(max(_ONE - p, _TINY))
        losses[s] = loss
    return losses.sum() / n_samples
