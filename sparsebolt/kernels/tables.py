"""Reservoir hash tables over neuron ids and the per-sample active-set query.

A table set is ``buckets : int32[L, n_buckets, R]`` with ``counts : int32[L, n_buckets]``,
the number of ids ever offered to a bucket; a bucket holds ``min(count, R)`` ids. A key
of -1 is no bucket (a ``sparse_wta`` table whose bin a row leaves empty): every kernel
skips it.
"""
import numba
import numpy as np
from numba import njit, prange

from ._twin import serial_twin
from .prefetch import prefetch_row
from .random import mix

# tables ahead whose probed buckets ``query_ranked`` prefetches: a bucket is a random row of
# tables far larger than cache, and scanning one waits on its load
_BUCKETS_AHEAD = 2


@njit(parallel=True, cache=True)
def build_tables(keys, buckets, counts, pinned, seed):
    """Insert every neuron into its bucket of every table, with reservoir sampling when a
    bucket overflows. Tables are independent, so each is built by one thread in id order:
    the result does not depend on the thread count.

    keys : int32[dim, L]          the bucket of neuron i in table t
    buckets : int32[L, n_buckets, R]    counts, pinned : int32[L, n_buckets]   all overwritten
    seed : int
    """
    dim, n_tables = keys.shape
    for t in prange(n_tables):
        counts[t, :] = 0
        pinned[t, :] = 0
        for i in range(dim):
            if keys[i, t] >= 0:
                _offer(buckets, counts, t, keys[i, t], i, seed, 0)


@njit(inline="always")
def _offer(buckets, counts, t, b, j, seed, kept):
    """Offer neuron j to bucket b of table t by the reservoir rule, which never replaces
    its first ``kept`` slots (pinned labels)."""
    c = counts[t, b]
    if c < buckets.shape[2]:
        buckets[t, b, c] = j
    else:
        r = mix(seed, t, j) % (c + 1)
        if kept <= r < buckets.shape[2]:
            buckets[t, b, r] = j
    counts[t, b] = c + 1


@njit(parallel=True, cache=True)
def insert_neurons(keys, first, buckets, counts, pinned, seed):
    """Add neurons ``first``, ``first + 1``, ... to tables ``build_tables`` filled, by its
    reservoir rule, keeping pinned slots: the tables of a grown layer without a rebuild,
    which would drop the labels pinned in them. Each table by one thread, in id order.

    keys : int32[n, L]            the new neurons' buckets
    first : int                   the first new neuron's id
    buckets, counts, pinned       as in ``build_tables``; updated
    seed : int
    """
    n, n_tables = keys.shape
    for t in prange(n_tables):
        for i in range(n):
            b = keys[i, t]
            if b >= 0:
                _offer(buckets, counts, t, b, first + i, seed, pinned[t, b])


@njit(cache=True)
def insert_missed_labels(keys, buckets, counts, pinned, lab_offsets, lab_ids):
    """Label-neuron augmentation on frozen tables: a label that none of a sample's L buckets
    holds is pinned into all of them. A bucket's pinned ids fill its first slots and are
    never replaced; the id a pin displaces moves to the first free slot, or is dropped from
    a full bucket. A bucket whose R slots are all pinned takes no more. Serial, so samples
    of a batch that share a bucket cannot race (and whether a label is missed depends on
    every table).

    keys : int32[B, L]            each sample's bucket in each table
    buckets, counts               as in ``build_tables``; updated
    pinned : int32[L, n_buckets]  pinned slots of each bucket; updated
    lab_offsets : int64[B + 1]    lab_ids : int32[nnz_lab]
    returns the number of (sample, label) pairs pinned into at least one bucket
    """
    n_samples, n_tables = keys.shape
    inserted = 0
    for s in range(n_samples):
        for k in range(lab_offsets[s], lab_offsets[s + 1]):
            j = lab_ids[k]
            found = False
            for t in range(n_tables):
                if keys[s, t] >= 0 and _holds(buckets, counts, t, keys[s, t], j):
                    found = True
                    break
            if found:
                continue
            took = False
            for t in range(n_tables):
                if keys[s, t] >= 0:
                    took |= _pin(buckets, counts, pinned, t, keys[s, t], j, False)
            if took:
                inserted += 1
    return inserted


@njit(parallel=True, cache=True)
def insert_labels_every_bucket(keys, buckets, counts, pinned, lab_offsets, lab_ids, took):
    """``insert_missed_labels``' other rule: each label is pinned into each of its sample's
    buckets that misses it. A table's buckets depend on that table alone, so each thread
    takes whole tables and walks the samples in order: the same tables for any thread count.

    keys, buckets, counts, pinned, lab_offsets, lab_ids : as in ``insert_missed_labels``
    took : uint8[n_threads, nnz_lab]  zeros; a thread's own row of flags (no byte written by
                                      two threads), whose OR counts each pair once
    returns the number of (sample, label) pairs pinned into at least one bucket
    """
    n_samples, n_tables = keys.shape
    for t in prange(n_tables):
        mine = took[numba.get_thread_id()]
        for s in range(n_samples):
            if keys[s, t] < 0:
                continue
            for k in range(lab_offsets[s], lab_offsets[s + 1]):
                if _pin(buckets, counts, pinned, t, keys[s, t], lab_ids[k], True):
                    mine[k] = 1
    inserted = 0
    for k in range(lab_ids.shape[0]):
        for r in range(took.shape[0]):
            if took[r, k]:
                inserted += 1
                break
    return inserted


@njit(inline="always")
def _pin(buckets, counts, pinned, t, b, j, unless_held):
    """Pin neuron j into bucket b of table t (unless its R slots are all pins, or with
    ``unless_held`` when it holds j already); returns whether it did."""
    reservoir = buckets.shape[2]
    p = pinned[t, b]
    if p == reservoir or (unless_held and _holds(buckets, counts, t, b, j)):
        return False
    used = min(counts[t, b], reservoir)
    if p < used:
        if used < reservoir:
            buckets[t, b, used] = buckets[t, b, p]
            counts[t, b] += 1
    else:
        counts[t, b] += 1
    buckets[t, b, p] = j
    pinned[t, b] = p + 1
    return True


@njit(inline="always")
def _holds(buckets, counts, t, b, j):
    """Whether bucket b of table t holds neuron j."""
    for r in range(min(counts[t, b], buckets.shape[2])):
        if buckets[t, b, r] == j:
            return True
    return False


@njit(inline="always")
def _take_labels(lab_offsets, lab_ids, q, flags, flag, out_ids, base, n, stop):
    """Append sample q's unflagged labels to a sample's active set out_ids[base + n:],
    setting their flags to ``flag``, while n < stop; returns the new n."""
    for k in range(lab_offsets[q], lab_offsets[q + 1]):
        j = lab_ids[k]
        if flags[j] == 0 and n < stop:
            flags[j] = flag
            out_ids[base + n] = j
            n += 1
    return n


@njit(inline="always")
def _pad_and_clear(flags, out_ids, base, n, width, perm, start):
    """Fill a sample's active set out_ids[base + n : base + width] with unflagged neurons
    from ``perm``, starting at ``start % dim``; then zero the flags of the whole set."""
    dim = perm.shape[0]
    p = start % dim
    while n < width:
        j = perm[p]
        if flags[j] == 0:
            flags[j] = 1
            out_ids[base + n] = j
            n += 1
        p += 1
        if p == dim:
            p = 0
    for i in range(base, base + width):
        flags[out_ids[i]] = 0


def _query_active(keys, buckets, counts, lab_offsets, lab_ids, width, n_negatives, perm, salt, mark, out_ids):
    """Fill each sample's active set: its labels first, then up to ``n_negatives`` labels of
    the batch's next samples (in-batch negatives), then the union of its L buckets in table
    order, then neurons from ``perm`` starting at a seeded offset, cut to ``width``.

    keys : int32[B, L]            the sample's bucket in each table (L may be 0: random sampling)
    buckets, counts               as in ``build_tables``
    lab_offsets : int64[B + 1]    lab_ids : int32[nnz_lab]   labels forced in (may be empty rows)
    width : int                   active neurons per sample (<= dim, >= labels per sample)
    n_negatives : int             other samples' labels to take, from sample s + 1 on (cyclic)
    perm : int32[dim]             a fixed permutation of the neurons, for padding
    salt : int                    varies the padding offset between calls
    mark : uint8[n_threads, dim]  all zero on entry and on exit; per-thread dedup flags
    out_ids : int32[B * width]    written
    """
    n_samples, n_tables = keys.shape
    reservoir = buckets.shape[2]
    for s in prange(n_samples):
        seen = mark[numba.get_thread_id()]
        base = s * width
        n = _take_labels(lab_offsets, lab_ids, s, seen, 1, out_ids, base, 0, width)
        stop = min(width, n + n_negatives)
        o = s + 1
        while n < stop and o < s + n_samples:
            n = _take_labels(lab_offsets, lab_ids, o % n_samples, seen, 1, out_ids, base, n, stop)
            o += 1
        for t in range(n_tables):
            if n == width:
                break
            b = keys[s, t]
            if b < 0:
                continue
            c = min(counts[t, b], reservoir)
            for r in range(c):
                j = buckets[t, b, r]
                if seen[j] == 0:
                    seen[j] = 1
                    out_ids[base + n] = j
                    n += 1
                    if n == width:
                        break
        _pad_and_clear(seen, out_ids, base, n, width, perm, mix(salt, s, keys[s, 0] if n_tables > 0 else 0))


query_active = njit(parallel=True, cache=True)(_query_active)
query_active_serial = serial_twin(_query_active)


def _query_ranked(keys, buckets, counts, lab_offsets, lab_ids, width, perm, salt, mark, found, out_ids):
    """Like ``query_active``, but after the labels it keeps the neurons that the most of the
    sample's buckets hold (ties in table order), not the first found. Each table is probed at
    the sample's bucket and at its neighbouring ones (multi-probe LSH): an input unlike any
    seen in training often misses its best neurons' bucket by one hash, and a neuron similar
    to the input collides with it in more of these buckets, so ranking by that count keeps
    the best ones.

    keys : int32[B, L, P]         the sample's bucket in each table ([s, t, 0]) and P - 1
                                  neighbouring buckets; one equal to [s, t, 0] is skipped,
                                  and so is -1
    buckets, counts, lab_offsets, lab_ids, width, perm : as in ``query_active``
    salt : int                    with the sample's own buckets, seeds the padding's offset
                                  (a sample's set does not depend on its place in the batch;
                                  without tables, with its index)
    mark : uint8[n_threads, dim]  all zero on entry and on exit; per-thread hit counts
    found : int32[n_threads, L * P * R]   scratch
    out_ids : int32[B * width]    written: labels first, the rest in no particular order
    """
    n_samples, n_tables, n_probes = keys.shape
    n_buckets, reservoir = buckets.shape[1], buckets.shape[2]
    rows = buckets.reshape(n_tables * n_buckets, reservoir)
    for s in prange(n_samples):
        tid = numba.get_thread_id()
        hits, cand = mark[tid], found[tid]
        base = s * width
        # 255 marks a taken label: never a candidate, never counted
        n = _take_labels(lab_offsets, lab_ids, s, hits, 255, out_ids, base, 0, width)
        n_labels = n
        n_found = 0
        for t in range(n_tables):
            if t + _BUCKETS_AHEAD < n_tables:
                for p in range(n_probes):
                    prefetch_row(rows, (t + _BUCKETS_AHEAD) * n_buckets + keys[s, t + _BUCKETS_AHEAD, p])
            for p in range(n_probes):
                b = keys[s, t, p]
                if b < 0 or (p > 0 and b == keys[s, t, 0]):
                    continue
                # unsigned indexes (keys here and ids are never negative) spare numba's
                # negative-index wraparound on every entry: 0.8-0.9 of the time
                bucket = rows[np.uint64(t * n_buckets + b)]
                for r in range(min(counts[t, np.uint32(b)], reservoir)):
                    # branch-free: whether a neuron is new is a coin flip the CPU mispredicts
                    j = np.uint32(bucket[r])
                    c = hits[j]
                    cand[n_found] = j
                    n_found += c == 0
                    hits[j] = c + (c < 254)  # saturates below the taken mark
        if n_found > width - n_labels:
            hist = np.zeros(256, dtype=np.int32)
            for i in range(n_found):
                hist[hits[np.uint32(cand[i])]] += 1
            # the cut count: every neuron above it is kept, and ties at it in table order
            above, cut = 0, 254
            while above + hist[cut] < width - n_labels:
                above += hist[cut]
                cut -= 1
            room = width - n_labels - above
            for i in range(n_found):
                j = cand[i]
                h = hits[np.uint32(j)]
                hits[np.uint32(j)] = 0
                if h > cut or (h == cut and room > 0):
                    if h == cut:
                        room -= 1
                    out_ids[base + n] = j
                    n += 1
            for i in range(base, base + n_labels):
                hits[out_ids[i]] = 0
            continue
        for i in range(n_found):
            out_ids[base + n + i] = cand[i]
        n += n_found
        # from the row's own buckets, not its index s: its set is the same in any batch. Without
        # tables (random sampling) a row has no buckets, and every row would take one set: s
        start = salt if n_tables > 0 else mix(salt, s, 0)
        for t in range(n_tables):
            start = mix(start, t, keys[s, t, 0])
        _pad_and_clear(hits, out_ids, base, n, width, perm, start)


query_ranked = njit(parallel=True, cache=True)(_query_ranked)
query_ranked_serial = serial_twin(_query_ranked)
