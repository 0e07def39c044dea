"""Elementwise and row-wise (softmax) activations with their derivatives, in place."""
import numpy as np
from numba import njit, prange

from ._twin import serial_twin

LINEAR, RELU, TANH, SIGMOID, SOFTMAX = 0, 1, 2, 3, 4

_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)


def _activate(z, offsets, code):
    """Apply activation ``code`` in place to the rows of a CSR value array.

    z : float32[nnz]            pre-activations, overwritten with activations
    offsets : int64[B + 1]      row boundaries (softmax normalises within a row)
    code : int                  LINEAR, RELU, TANH, SIGMOID or SOFTMAX
    """
    n_rows = offsets.shape[0] - 1
    for r in prange(n_rows):
        lo, hi = offsets[r], offsets[r + 1]
        if code == RELU:
            # a select, not a branch: the signs are random, and a mispredicted branch an
            # element made this 4x slower (the select also vectorizes); nan stays nan
            for i in range(lo, hi):
                v = z[i]
                z[i] = _ZERO if v < _ZERO else v
        elif code == TANH:
            for i in range(lo, hi):
                z[i] = np.tanh(z[i])
        elif code == SIGMOID:
            for i in range(lo, hi):
                z[i] = _ONE / (_ONE + np.exp(-z[i]))
        elif code == SOFTMAX:
            if hi == lo:
                continue
            m = z[lo]
            for i in range(lo + 1, hi):
                if z[i] > m:
                    m = z[i]
            s = _ZERO
            for i in range(lo, hi):
                e = np.exp(z[i] - m)
                z[i] = e
                s += e
            inv = _ONE / s
            for i in range(lo, hi):
                z[i] *= inv


activate = njit(parallel=True, cache=True)(_activate)
activate_serial = serial_twin(_activate)


@njit(parallel=True, cache=True)
def activation_backward(a, grad, offsets, code):
    """Turn the gradient w.r.t. activations into the gradient w.r.t. pre-activations, in place.

    a : float32[nnz]            activations from ``activate``
    grad : float32[nnz]         dL/da on entry, dL/dz on exit
    offsets : int64[B + 1]
    code : int
    """
    n_rows = offsets.shape[0] - 1
    for r in prange(n_rows):
        lo, hi = offsets[r], offsets[r + 1]
        if code == RELU:
            for i in range(lo, hi):  # a select, as in activate
                g = grad[i]
                grad[i] = _ZERO if a[i] <= _ZERO else g
        elif code == TANH:
            for i in range(lo, hi):
                grad[i] *= _ONE - a[i] * a[i]
        elif code == SIGMOID:
            for i in range(lo, hi):
                grad[i] *= a[i] * (_ONE - a[i])
        elif code == SOFTMAX:
            dot = _ZERO
            for i in range(lo, hi):
                dot += a[i] * grad[i]
            for i in range(lo, hi):
                grad[i] = a[i] * (grad[i] - dot)
