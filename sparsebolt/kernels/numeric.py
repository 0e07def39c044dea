"""Numbers' embeddings: a learnt function of a feature's value in [0, 1], periodic features
``[cos 2 pi c x, sin 2 pi c x]`` through a linear map and a ReLU, then a linear map to the
layer's width (Gorishniy et al. 2022's PLR embedding). The function is tabulated at
``levels + 1`` evenly spaced points of [0, 1] once a batch and interpolated linearly between
them: a batch then costs its rows two table rows a number, whatever its size."""
import math

import numpy as np
from numba import njit, prange

from ._twin import serial_twin

_ZERO = np.float32(0.0)
_TWO_PI = np.float32(2.0 * math.pi)


def _numeric_table(C, L, Lb, W, needed, P, Z, T):
    """The function of each feature at the points x = g / levels (g = 0 .. levels); only at
    the points ``needed : uint8[n, levels + 1]`` flags (``find_numbers``), other rows of T
    are left as they are. A feature's m needed points, in order, take the first m columns
    of its P and Z, so every inner loop runs along contiguous memory into separate sums,
    which vectorizes without reassociating any float sum (a batch of adult needs about
    two thirds of the points).

    C : float32[n, k]         frequencies         L : float32[n, 2k, d]   Lb : float32[n, d]
    W : float32[n, d, dim]
    P : float32[n, 2k, levels + 1]   written, the periodic features (cosines, then sines)
    Z : float32[n, d, levels + 1]    written, ReLU(L^T P + Lb)
    T : float32[n, levels + 1, dim]  written where needed, Z^T W
    """
    n, n_points = T.shape[0], T.shape[1]
    k, d, dim = C.shape[1], L.shape[2], W.shape[2]
    levels = n_points - 1
    for j in prange(n):
        # the points' angles step evenly: rotate by one step instead of a sin and cos a point,
        # all frequencies at once (one rotation's steps depend on each other)
        # float64: the rotation's rounding errors add up over the levels' steps, float32's too soon
        cos_step, sin_step = np.empty(k, dtype=np.float64), np.empty(k, dtype=np.float64)
        c, s = np.ones(k, dtype=np.float64), np.zeros(k, dtype=np.float64)
        for i in range(k):
            step = 2.0 * math.pi * np.float64(C[j, i]) / levels
            cos_step[i], sin_step[i] = math.cos(step), math.sin(step)
        m = 0
        for g in range(n_points):
            if needed[j, g]:
                for i in range(k):
                    P[j, i, m] = c[i]
                    P[j, k + i, m] = s[i]
                m += 1
            for i in range(k):
                c[i], s[i] = c[i] * cos_step[i] - s[i] * sin_step[i], s[i] * cos_step[i] + c[i] * sin_step[i]
        for t in range(d):
            for q in range(m):
                Z[j, t, q] = Lb[j, t]
            for i in range(2 * k):
                w = L[j, i, t]
                for q in range(m):
                    Z[j, t, q] += w * P[j, i, q]
            for q in range(m):
                Z[j, t, q] = max(Z[j, t, q], _ZERO)
        q = 0
        for g in range(n_points):
            if not needed[j, g]:
                continue
            for e in range(dim):
                T[j, g, e] = _ZERO
            for t in range(d):
                z = Z[j, t, q]
                if z == _ZERO:
                    continue
                for e in range(dim):
                    T[j, g, e] += z * W[j, t, e]
            q += 1


def _numeric_table_backward(C, L, W, needed, P, Z, dT, dC, dL, dLb, dW):
    """The parameters' gradients from the table's, ``dT : float32[n, levels + 1, dim]``
    (``P``, ``Z`` as ``numeric_table`` wrote them; points not ``needed`` have no gradient).
    Each feature's sums run in one thread, in order of the points: the same gradients on any
    number of threads.

    dC, dL, dLb, dW : as C, L, Lb, W   written
    """
    n, n_points = dT.shape[0], dT.shape[1]
    k, d, dim = C.shape[1], L.shape[2], W.shape[2]
    levels = n_points - 1
    for j in prange(n):
        points = np.flatnonzero(needed[j])
        m = points.shape[0]
        # the needed points' gradients and features, transposed, so that every inner loop
        # below runs along contiguous memory
        dTt = np.empty((dim, m), dtype=np.float32)
        Pg = np.empty((m, 2 * k), dtype=np.float32)
        for q in range(m):
            for e in range(dim):
                dTt[e, q] = dT[j, points[q], e]
            for i in range(2 * k):
                Pg[q, i] = P[j, i, q]
        Lt = np.ascontiguousarray(L[j].T)
        dZ = np.zeros((d, m), dtype=np.float32)
        dLt = np.zeros((d, 2 * k), dtype=np.float32)
        dP = np.zeros((m, 2 * k), dtype=np.float32)
        dW[j, :, :] = _ZERO
        for t in range(d):
            for e in range(dim):
                w = W[j, t, e]
                for q in range(m):
                    dZ[t, q] += w * dTt[e, q]
            for q in range(m):
                z = Z[j, t, q]
                if z == _ZERO:
                    dZ[t, q] = _ZERO
                    continue
                g = points[q]
                for e in range(dim):
                    dW[j, t, e] += z * dT[j, g, e]
            acc = _ZERO
            for q in range(m):
                acc += dZ[t, q]
            dLb[j, t] = acc
        for q in range(m):
            for t in range(d):
                dz = dZ[t, q]
                if dz == _ZERO:
                    continue
                for i in range(2 * k):
                    dLt[t, i] += dz * Pg[q, i]
                    dP[q, i] += dz * Lt[t, i]
        for i in range(2 * k):
            for t in range(d):
                dL[j, i, t] = dLt[t, i]
        dC[j, :] = _ZERO
        for q in range(m):
            x = _TWO_PI * np.float32(points[q]) / np.float32(levels)
            for i in range(k):
                dC[j, i] += x * (Pg[q, i] * dP[q, k + i] - Pg[q, k + i] * dP[q, i])


@njit(cache=True)
def find_numbers(first, slot_of, offsets, ids, vals, needed):
    """The batch's entries that carry numbers, each with its table point and fraction; the
    two table points around each are flagged in ``needed : uint8[n, levels + 1]`` (zeroed
    first): only those rows of the table (Z W) are computed, in training and at prediction.

    first : int, the lowest feature that carries a number
    slot_of : int32[span], feature ``first + i``'s table row, or -1: spanning only the
        numbers' features, it stays in cache (a map over a 100,000-wide input missed it on
        most entries: adult's batches took 4x as long as with the map hot)
    Returns (entry int64[m], row int64[m], slot int32[m], point int64[m], frac float32[m]).
    """
    levels = needed.shape[1] - 1
    needed[:] = 0
    most = offsets[offsets.shape[0] - 1] - offsets[0]
    entry = np.empty(most, dtype=np.int64)
    row = np.empty(most, dtype=np.int64)
    slot = np.empty(most, dtype=np.int32)
    point = np.empty(most, dtype=np.int64)
    frac = np.empty(most, dtype=np.float32)
    q = 0
    for s in range(offsets.shape[0] - 1):
        for e in range(offsets[s], offsets[s + 1]):
            f = ids[e] - first
            if f < 0 or f >= slot_of.shape[0]:
                continue
            j = slot_of[f]
            if j < 0:
                continue
            g, t = _point(vals[e], levels)
            entry[q], row[q], slot[q], point[q], frac[q] = e, s, j, g, t
            needed[j, g] = 1
            needed[j, g + 1] = 1
            q += 1
    return entry[:q], row[:q], slot[:q], point[:q], frac[:q]


@njit(cache=True)
def add_numbers(T, row, slot, point, frac, out):
    """out[row[q]] += table row ``point[q]`` of feature ``slot[q]``, interpolated a fraction
    ``frac[q]`` towards the next (the entries ``find_numbers`` found).

    T : float32[n, levels + 1, dim]   out : float32[B, dim]
    """
    dim = T.shape[2]
    for q in range(row.shape[0]):
        s, j, g, t = row[q], slot[q], point[q], frac[q]
        u = np.float32(1.0) - t
        for c in range(dim):
            out[s, c] += u * T[j, g, c] + t * T[j, g + 1, c]


@njit(inline="always", cache=True)
def _point(v, levels):
    """(g int64, t float32): a float32 value clipped to [0, 1] (NaN to 0, never an index out
    of the table) lies a fraction t from table point g to g + 1."""
    x = min(v if v > _ZERO else _ZERO, np.float32(1.0)) * np.float32(levels)
    g = min(np.int64(x), levels - 1)
    return g, np.float32(x - np.float32(g))


@njit(cache=True)
def numbers_grad(T, entry, row, slot, point, frac, vals, dout, dT, dvals):
    """The table's gradient ``dT`` (written) from the layer's pre-activation gradient
    ``dout : float32[B, dim]``, and each number's value gradient added into
    ``dvals : float32[nnz]`` (zero outside (0, 1), where the value is clipped; pass an empty
    array for none). Serial: samples add into shared table rows."""
    levels = T.shape[1] - 1
    dim = T.shape[2]
    dT[:] = _ZERO
    for q in range(row.shape[0]):
        s, j, g, t = row[q], slot[q], point[q], frac[q]
        u = np.float32(1.0) - t
        for c in range(dim):
            dT[j, g, c] += u * dout[s, c]
        for c in range(dim):
            dT[j, g + 1, c] += t * dout[s, c]
    if dvals.shape[0] == 0:
        return
    for q in range(row.shape[0]):
        v = vals[entry[q]]
        if v > _ZERO and v < np.float32(1.0):
            s, j, g = row[q], slot[q], point[q]
            acc = _ZERO
            for c in range(dim):
                acc += (T[j, g + 1, c] - T[j, g, c]) * dout[s, c]
            dvals[entry[q]] += acc * np.float32(levels)


numeric_table = njit(parallel=True, cache=True)(_numeric_table)
numeric_table_serial = serial_twin(_numeric_table)
numeric_table_backward = njit(parallel=True, cache=True)(_numeric_table_backward)
numeric_table_backward_serial = serial_twin(_numeric_table_backward)
