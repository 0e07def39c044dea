"""LSH hash families: each fills ``keys : int32[n, L]``, one bucket id per table.

Hash functions are plain arrays drawn in ``lsh/``. A family with K hashes per table packs
them into one key of ``range_pow`` bits. Sparse inputs use an inverse map from input
coordinate to the (hash, slot) pairs that read it (``inv_offsets : int64[d_in + 1]``,
``inv_hash : int32[n_pos]``, ``inv_slot : int32[n_pos]``), so a sample costs its nonzeros
times the coordinate's fan-out instead of a pass over all ``d_in`` coordinates.
"""
import numpy as np
from numba import njit, prange

from ._twin import serial_twin
from .random import mix

_NEG_INF = np.float32(-np.inf)
_ZERO = np.float32(0.0)
_MAX_DENSIFY_TRIES = 64


def _dwta_dense(x, bins, n_tables, k_per_table, log2_binsize, keys):
    """Densified winner-take-all hash of dense rows.

    x : float32[n, d_in]          bins : int32[n_tables * K, binsize] coordinates per hash, in [0, d_in)
    keys : int32[n, n_tables]     written; each hash contributes the argmax slot in its bin
    """
    binsize = bins.shape[1]
    for s in prange(x.shape[0]):
        for t in range(n_tables):
            key = 0
            for k in range(k_per_table):
                h = t * k_per_table + k
                best = _NEG_INF
                arg = 0
                for i in range(binsize):
                    # unsigned, the index skips numba's negative-index wraparound (bins hold
                    # [0, d_in)): this loop then runs in 0.6 of the time
                    v = x[s, np.uint32(bins[h, i])]
                    if v > best:
                        best = v
                        arg = i
                key = (key << log2_binsize) | arg
            keys[s, t] = key


def _dwta_sparse(offsets, ids, vals, inv_offsets, inv_hash, inv_slot, n_tables, k_per_table,
                 log2_binsize, seed, keys):
    """DWTA of CSR rows; a hash whose bin holds no nonzero (a stored zero is none) borrows
    another hash's winner (densification), chosen by a seeded probe sequence so it is the same
    for every sample.

    offsets : int64[n + 1]   ids : int32[nnz]   vals : float32[nnz]   keys : int32[n, n_tables]
    """
    n_hashes = n_tables * k_per_table
    for s in prange(offsets.shape[0] - 1):
        best = np.full(n_hashes, _NEG_INF, dtype=np.float32)
        arg = np.full(n_hashes, -1, dtype=np.int32)
        for k in range(offsets[s], offsets[s + 1]):
            c = ids[k]
            v = vals[k]
            # a stored zero is an absent coordinate: winning a bin, it would stop densification
            if v == _ZERO:
                continue
            for p in range(inv_offsets[c], inv_offsets[c + 1]):
                h = inv_hash[p]
                if v > best[h]:
                    best[h] = v
                    arg[h] = inv_slot[p]
        for t in range(n_tables):
            key = 0
            for k in range(k_per_table):
                h = t * k_per_table + k
                a = arg[h]
                attempt = 0
                while a < 0 and attempt < _MAX_DENSIFY_TRIES:
                    attempt += 1
                    a = arg[mix(seed, h, attempt) % n_hashes]
                if a < 0:
                    a = 0
                key = (key << log2_binsize) | a
            keys[s, t] = key


@njit(inline="always")
def _probe_keys(key, runner, gap, k_per_table, log2_binsize, keys, s, t):
    """keys[s, t, 0] = key, then the key with one hash's winner replaced by its runner-up,
    for the P - 1 hashes whose winner leads by the least (``gap``; overwritten). Once no hash
    has a runner-up left (an infinite lead), a probe is the key itself, which queries skip."""
    mask = (1 << log2_binsize) - 1
    keys[s, t, 0] = key
    for p in range(1, keys.shape[2]):
        k = 0
        for i in range(1, k_per_table):
            if gap[i] < gap[k]:
                k = i
        if gap[k] == np.inf:
            # picking hash 0 again would repeat an earlier probe's bucket, counted twice
            keys[s, t, p] = key
            continue
        gap[k] = np.inf
        shift = (k_per_table - 1 - k) * log2_binsize
        keys[s, t, p] = (key & ~(mask << shift)) | (runner[k] << shift)


def _dwta_dense_probes(x, bins, n_tables, k_per_table, log2_binsize, keys):
    """DWTA keys of dense rows with their nearest neighbouring buckets, for multi-probe queries.

    x, bins : as in ``dwta_dense``
    keys : int32[n, n_tables, P]  written: [s, t, 0] is ``dwta_dense``'s key; [s, t, p > 0]
                                  the key with one hash's winner replaced by the runner-up of
                                  its bin (the bucket a small change of x falls into), for the
                                  P - 1 <= K hashes whose winner leads by the least. A bin may
                                  hold a coordinate twice: the runner-up is at another
                                  coordinate than the winner (none: the winner, the key again)
    """
    binsize = bins.shape[1]
    for s in prange(x.shape[0]):
        runner = np.empty(k_per_table, dtype=np.int32)
        gap = np.empty(k_per_table, dtype=np.float32)
        for t in range(n_tables):
            key = 0
            for k in range(k_per_table):
                h = t * k_per_table + k
                best = _NEG_INF
                arg = 0
                for i in range(binsize):
                    v = x[s, np.uint32(bins[h, i])]
                    if v > best:
                        best = v
                        arg = i
                # the runner-up: the first largest of the slots before and after the winner's,
                # plain max loops (a slot test inside one took 2-3x the time)
                second = _NEG_INF
                arg2 = arg
                for i in range(arg):
                    v = x[s, np.uint32(bins[h, i])]
                    if v > second:
                        second = v
                        arg2 = i
                for i in range(arg + 1, binsize):
                    v = x[s, np.uint32(bins[h, i])]
                    if v > second:
                        second = v
                        arg2 = i
                # another slot of the winner's coordinate never wins (its bucket is empty); it
                # ties with the winner, so only then is the bin scanned again without it
                if second == best and bins[h, arg2] == bins[h, arg]:
                    second = _NEG_INF
                    arg2 = arg
                    for i in range(binsize):
                        v = x[s, np.uint32(bins[h, i])]
                        if bins[h, i] != bins[h, arg] and v > second:
                            second = v
                            arg2 = i
                runner[k] = arg2
                gap[k] = best - second
                key = (key << log2_binsize) | arg
            _probe_keys(key, runner, gap, k_per_table, log2_binsize, keys, s, t)


def _dwta_sparse_probes(offsets, ids, vals, inv_offsets, inv_hash, inv_slot, n_tables, k_per_table,
                        log2_binsize, seed, keys):
    """``dwta_sparse`` with the neighbouring buckets of ``dwta_dense_probes``. A hash's
    runner-up is the second largest nonzero of its bin (of the hash it borrows from, when
    densified) at another coordinate than the winner's; a hash with one nonzero has none, and
    its probe repeats the key.

    offsets, ids, vals, inv_* , seed : as in ``dwta_sparse``
    keys : int32[n, n_tables, P]  written, as in ``dwta_dense_probes``
    """
    n_hashes = n_tables * k_per_table
    for s in prange(offsets.shape[0] - 1):
        best = np.full(n_hashes, _NEG_INF, dtype=np.float32)
        second = np.full(n_hashes, _NEG_INF, dtype=np.float32)
        arg = np.full(n_hashes, -1, dtype=np.int32)
        arg2 = np.full(n_hashes, -1, dtype=np.int32)
        win = np.full(n_hashes, -1, dtype=np.int32)
        runner = np.empty(k_per_table, dtype=np.int32)
        gap = np.empty(k_per_table, dtype=np.float32)
        for k in range(offsets[s], offsets[s + 1]):
            c = ids[k]
            v = vals[k]
            if v == _ZERO:
                continue
            for p in range(inv_offsets[c], inv_offsets[c + 1]):
                h = inv_hash[p]
                if v > best[h]:
                    second[h] = best[h]
                    arg2[h] = arg[h]
                    best[h] = v
                    arg[h] = inv_slot[p]
                    win[h] = c
                elif v > second[h] and c != win[h]:
                    second[h] = v
                    arg2[h] = inv_slot[p]
        for t in range(n_tables):
            key = 0
            for k in range(k_per_table):
                h = t * k_per_table + k
                g = h
                attempt = 0
                while arg[g] < 0 and attempt < _MAX_DENSIFY_TRIES:
                    attempt += 1
                    g = mix(seed, h, attempt) % n_hashes
                a = arg[g] if arg[g] >= 0 else 0
                runner[k] = arg2[g] if arg2[g] >= 0 else a
                gap[k] = best[g] - second[g] if arg2[g] >= 0 else np.inf
                key = (key << log2_binsize) | a
            _probe_keys(key, runner, gap, k_per_table, log2_binsize, keys, s, t)


def _wta_dense(x, bins, keys):
    """Winner-take-all of dense rows over coordinate bins, one hash a table and no
    densification: the key is the slot of the bin's largest nonzero (ties: the first slot).

    x : float32[n, d_in]          bins : int32[L, binsize] coordinates per table, in [0, d_in)
    keys : int32[n, L, P]         written: [s, t, 0] the winner's slot, [s, t, p] the slot of
                                  the p-th runner-up at another coordinate; -1 where the bin
                                  has no (further) nonzero
    """
    n_tables, binsize = bins.shape
    n_keys = keys.shape[2]
    for s in prange(x.shape[0]):
        best = np.empty(n_keys, dtype=np.float32)
        for t in range(n_tables):
            if n_keys == 1:
                # the index build hashes every weight row: a plain argmax, 0.5x the time of
                # the general rule (a later slot of the winner's coordinate ties, never wins)
                top = _NEG_INF
                arg = -1
                for i in range(binsize):
                    v = x[s, np.uint32(bins[t, i])]
                    if v > top and v != _ZERO:
                        top = v
                        arg = i
                keys[s, t, 0] = arg
                continue
            for p in range(n_keys):
                best[p] = _NEG_INF
                keys[s, t, p] = -1
            for i in range(binsize):
                v = x[s, np.uint32(bins[t, i])]
                if v != _ZERO:
                    _wta_offer(best, keys, s, t, bins[t], v, i)


def _wta_sparse(offsets, ids, vals, inv_offsets, inv_hash, inv_slot, bins, keys):
    """``wta_dense`` of CSR rows through the coordinate inverse map: the same keys as the
    dense rows (a stored zero is absent), at a cost of the nonzeros' fan-out.

    offsets : int64[n + 1]   ids : int32[nnz]   vals : float32[nnz]
    inv_offsets, inv_hash, inv_slot : ``inverse_map(bins, d_in)``   bins : int32[L, binsize]
    keys : int32[n, L, P]    written, as in ``wta_dense``
    """
    n_tables = bins.shape[0]
    n_keys = keys.shape[2]
    for s in prange(offsets.shape[0] - 1):
        best = np.full((n_tables, n_keys), _NEG_INF, dtype=np.float32)
        for t in range(n_tables):
            for p in range(n_keys):
                keys[s, t, p] = -1
        for k in range(offsets[s], offsets[s + 1]):
            v = vals[k]
            if v == _ZERO:
                continue
            c = ids[k]
            for q in range(inv_offsets[c], inv_offsets[c + 1]):
                t = inv_hash[q]
                _wta_offer(best[t], keys, s, t, bins[t], v, inv_slot[q])


@njit(inline="always")
def _wta_offer(best, keys, s, t, bin_coords, v, i):
    """Place slot i (value v) among the P best of bin t, in order of value then slot; a
    slot of a coordinate already placed is the same input value again and is not taken."""
    n_keys = best.shape[0]
    last = keys[s, t, n_keys - 1]
    # most offers lose to the P-th best: one comparison
    if v < best[n_keys - 1] or (v == best[n_keys - 1] and i > last >= 0):
        return
    for p in range(n_keys):
        j = keys[s, t, p]
        if j >= 0 and bin_coords[j] == bin_coords[i]:
            return
    p = n_keys
    while p > 0 and (v > best[p - 1] or (v == best[p - 1] and i < keys[s, t, p - 1])):
        p -= 1
    if p == n_keys:  # NaN
        return
    for q in range(n_keys - 1, p, -1):
        best[q] = best[q - 1]
        keys[s, t, q] = keys[s, t, q - 1]
    best[p] = v
    keys[s, t, p] = i


def _pack_sign_bits(acc, n_tables, k_per_table, keys):
    """Pack the signs of projections into keys, K bits per table.

    acc : float32[n, n_tables * K]   keys : int32[n, n_tables]   written
    """
    for s in prange(acc.shape[0]):
        for t in range(n_tables):
            key = 0
            for k in range(k_per_table):
                key = (key << 1) | (1 if acc[s, t * k_per_table + k] > _ZERO else 0)
            keys[s, t] = key


def _srp_sparse(offsets, ids, vals, proj, n_tables, k_per_table, keys):
    """Signed random projections of CSR rows.

    offsets : int64[n + 1]   ids : int32[nnz]   vals : float32[nnz]   proj : float32[d_in, n_tables * K]
    keys : int32[n, n_tables]   written; each hash contributes the sign bit of its projection
    """
    n_hashes = proj.shape[1]
    for s in prange(offsets.shape[0] - 1):
        acc = np.zeros(n_hashes, dtype=np.float32)
        for k in range(offsets[s], offsets[s + 1]):
            c = ids[k]
            v = vals[k]
            for h in range(n_hashes):
                acc[h] += v * proj[c, h]
        for t in range(n_tables):
            key = 0
            for k in range(k_per_table):
                key = (key << 1) | (1 if acc[t * k_per_table + k] > _ZERO else 0)
            keys[s, t] = key


def _fast_srp_dense(x, coords, signs, n_tables, k_per_table, keys):
    """Sparse random projections of dense rows: hash h sums ``signs[h] * x[coords[h]]``.

    x : float32[n, d_in]   coords : int32[n_hashes, n_sel]   signs : float32[n_hashes, n_sel]
    """
    n_sel = coords.shape[1]
    for s in prange(x.shape[0]):
        for t in range(n_tables):
            key = 0
            for k in range(k_per_table):
                h = t * k_per_table + k
                acc = _ZERO
                for i in range(n_sel):
                    acc += signs[h, i] * x[s, coords[h, i]]
                key = (key << 1) | (1 if acc > _ZERO else 0)
            keys[s, t] = key


def _fast_srp_sparse(offsets, ids, vals, inv_offsets, inv_hash, inv_slot, signs, n_tables,
                     k_per_table, keys):
    """Sparse random projections of CSR rows through the coordinate inverse map: hash h sums
    ``signs[h, slot] * vals[k]`` over the nonzeros k whose coordinate it reads.

    offsets : int64[n + 1]   ids : int32[nnz]   vals : float32[nnz]
    inv_offsets : int64[d_in + 1]   inv_hash : int32[n_pos]   inv_slot : int32[n_pos]   (``inverse_map``)
    signs : float32[n_tables * K, n_sel]   keys : int32[n, n_tables]   written
    """
    n_hashes = n_tables * k_per_table
    for s in prange(offsets.shape[0] - 1):
        acc = np.zeros(n_hashes, dtype=np.float32)
        for k in range(offsets[s], offsets[s + 1]):
            c = ids[k]
            v = vals[k]
            for p in range(inv_offsets[c], inv_offsets[c + 1]):
                h = inv_hash[p]
                acc[h] += v * signs[h, inv_slot[p]]
        for t in range(n_tables):
            key = 0
            for k in range(k_per_table):
                key = (key << 1) | (1 if acc[t * k_per_table + k] > _ZERO else 0)
            keys[s, t] = key


@njit(cache=True)
def inverse_map(coords, d_in):
    """Group the (hash, slot) positions of ``coords : int32[n_hashes, w]`` by coordinate.

    returns inv_offsets : int64[d_in + 1], inv_hash : int32[n_pos], inv_slot : int32[n_pos]
    """
    n_hashes, w = coords.shape
    counts = np.zeros(d_in + 1, dtype=np.int64)
    for h in range(n_hashes):
        for i in range(w):
            counts[coords[h, i] + 1] += 1
    inv_offsets = np.cumsum(counts)
    fill = inv_offsets[:-1].copy()
    inv_hash = np.empty(n_hashes * w, dtype=np.int32)
    inv_slot = np.empty(n_hashes * w, dtype=np.int32)
    for h in range(n_hashes):
        for i in range(w):
            c = coords[h, i]
            inv_hash[fill[c]] = h
            inv_slot[fill[c]] = i
            fill[c] += 1
    return inv_offsets, inv_hash, inv_slot


dwta_dense = njit(parallel=True, cache=True)(_dwta_dense)
dwta_dense_serial = serial_twin(_dwta_dense)
dwta_sparse = njit(parallel=True, cache=True)(_dwta_sparse)
dwta_sparse_serial = serial_twin(_dwta_sparse)
dwta_dense_probes = njit(parallel=True, cache=True)(_dwta_dense_probes)
dwta_dense_probes_serial = serial_twin(_dwta_dense_probes)
dwta_sparse_probes = njit(parallel=True, cache=True)(_dwta_sparse_probes)
dwta_sparse_probes_serial = serial_twin(_dwta_sparse_probes)
pack_sign_bits = njit(parallel=True, cache=True)(_pack_sign_bits)
pack_sign_bits_serial = serial_twin(_pack_sign_bits)
srp_sparse = njit(parallel=True, cache=True)(_srp_sparse)
srp_sparse_serial = serial_twin(_srp_sparse)
fast_srp_dense = njit(parallel=True, cache=True)(_fast_srp_dense)
fast_srp_dense_serial = serial_twin(_fast_srp_dense)
fast_srp_sparse = njit(parallel=True, cache=True)(_fast_srp_sparse)
fast_srp_sparse_serial = serial_twin(_fast_srp_sparse)
wta_dense = njit(parallel=True, cache=True)(_wta_dense)
wta_dense_serial = serial_twin(_wta_dense)
wta_sparse = njit(parallel=True, cache=True)(_wta_sparse)
wta_sparse_serial = serial_twin(_wta_sparse)
