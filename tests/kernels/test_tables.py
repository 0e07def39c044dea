"""The table kernels called directly (tests/lsh/test_tables.py tests them through HashTables):
a build is the same on any thread count, a smaller build grown by insert_neurons is the
whole build, and an overflowing bucket keeps each of its neurons with the same chance."""
import numba
import numpy as np

import sparsebolt as sb
from sparsebolt.kernels import tables


def _empty(n_tables, n_buckets, reservoir):
    """(buckets, counts, pinned) for ``build_tables`` to fill."""
    return (np.zeros((n_tables, n_buckets, reservoir), np.int32), np.zeros((n_tables, n_buckets), np.int32),
            np.zeros((n_tables, n_buckets), np.int32))


def test_a_build_is_the_same_on_any_thread_count_and_as_a_smaller_build_grown():
    keys = np.random.default_rng(0).integers(0, 16, (900, 6)).astype(np.int32)  # ~56 a bucket of 8 slots
    built = []
    before = sb.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            sb.set_num_threads(threads)
            built.append(_empty(6, 16, 8))
            tables.build_tables(keys, *built[-1], 3)
    finally:
        sb.set_num_threads(before)
    for a, b in zip(*built):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(built[0][1][2], np.bincount(keys[:, 2], minlength=16))
    grown = _empty(6, 16, 8)
    tables.build_tables(keys[:700], *grown, 3)
    tables.insert_neurons(keys[700:], 700, *grown, 3)
    for a, b in zip(grown, built[0]):
        np.testing.assert_array_equal(a, b)


def test_an_overflowing_bucket_keeps_each_neuron_with_the_same_chance():
    # 40 neurons offered to one bucket of 8 slots: each kept with probability 8/40 by the reservoir rule
    kept = np.zeros(40)
    for seed in range(500):
        buckets, counts, pinned = _empty(1, 1, 8)
        tables.build_tables(np.zeros((40, 1), np.int32), buckets, counts, pinned, seed)
        assert counts[0, 0] == 40 and np.unique(buckets[0, 0]).size == 8
        kept[buckets[0, 0]] += 1
    # 500 builds: a standard error of 0.018 on each neuron's share
    assert np.abs(kept / 500 - 0.2).max() < 0.1


def _reference_ranked(keys, buckets, counts, labels, width):
    """A row's labels, then the neurons its probed buckets hold the most often (a probe equal
    to the table's own bucket skipped, and a key of -1), ties in the order first found (tables, probes, slots),
    when they are more than the width leaves."""
    hits, order = {}, []
    for t in range(keys.shape[0]):
        for p in range(keys.shape[1]):
            b = keys[t, p]
            if b < 0 or (p > 0 and b == keys[t, 0]):
                continue
            for j in buckets[t, b, :min(counts[t, b], buckets.shape[2])]:
                if j in labels:
                    continue
                if j not in hits:
                    order.append(j)
                hits[j] = hits.get(j, 0) + 1
    room = width - len(labels)
    assert len(order) > room
    ranked = sorted(order, key=lambda j: -hits[j])  # stable: ties stay in the order found
    cut = hits[ranked[room - 1]]
    take = room - sum(hits[j] > cut for j in order)
    kept = []
    for j in order:
        if hits[j] > cut or (hits[j] == cut and take > 0):
            take -= hits[j] == cut
            kept.append(j)
    return list(labels) + kept


def test_a_ranked_query_keeps_what_its_definition_keeps():
    rng = np.random.default_rng(3)
    n_tables, n_buckets, reservoir, dim = 5, 8, 6, 200
    buckets, counts, pinned = _empty(n_tables, n_buckets, reservoir)
    tables.build_tables(rng.integers(0, n_buckets, (dim, n_tables)).astype(np.int32), buckets, counts, pinned, 0)
    keys = rng.integers(0, n_buckets, (40, n_tables, 3)).astype(np.int32)
    keys[::4, :, 2] = keys[::4, :, 0]  # a probe that is the own bucket again
    keys[rng.random(keys.shape) < 0.2] = -1  # no bucket (sparse_wta's empty bin)
    lab_offsets = np.concatenate([[0], np.cumsum(rng.integers(0, 3, 40))]).astype(np.int64)
    lab_ids = rng.integers(0, dim, lab_offsets[-1]).astype(np.int32)
    perm = rng.permutation(dim).astype(np.int32)
    width = 12
    for kernel in (tables.query_ranked, tables.query_ranked_serial):
        mark = np.zeros((numba.config.NUMBA_NUM_THREADS, dim), np.uint8)
        found = np.empty((numba.config.NUMBA_NUM_THREADS, n_tables * 3 * reservoir), np.int32)
        out = np.empty(40 * width, np.int32)
        kernel(keys, buckets, counts, lab_offsets, lab_ids, width, perm, 0, mark, found, out)
        for s in range(40):
            labels = list(dict.fromkeys(lab_ids[lab_offsets[s]:lab_offsets[s + 1]].tolist()))
            assert out[s * width:(s + 1) * width].tolist() == _reference_ranked(keys[s], buckets, counts, labels, width)
        assert not mark.any()


def test_a_key_of_minus_one_is_no_bucket():
    # sparse_wta's key of a bin a row leaves empty: nothing is offered, pinned or read there
    n_tables, n_buckets, reservoir, dim = 3, 4, 8, 10
    keys = np.array([[t % n_buckets if (i + t) % 3 else -1 for t in range(n_tables)] for i in range(dim)], np.int32)
    buckets, counts, pinned = _empty(n_tables, n_buckets, reservoir)
    tables.build_tables(keys[:6], buckets, counts, pinned, 0)
    tables.insert_neurons(keys[6:], 6, buckets, counts, pinned, 0)
    for t in range(n_tables):
        held = buckets[t, t % n_buckets, :counts[t, t % n_buckets]].tolist()
        assert held == [i for i in range(dim) if keys[i, t] >= 0] and counts[t].sum() == len(held)
    before = [a.copy() for a in (buckets, counts, pinned)]
    blind = np.full((2, n_tables), -1, np.int32)
    lab_offsets, lab_ids = np.array([0, 1, 2], np.int64), np.array([3, 4], np.int32)
    assert tables.insert_missed_labels(blind, buckets, counts, pinned, lab_offsets, lab_ids) == 0
    took = np.zeros((numba.config.NUMBA_NUM_THREADS, 2), np.uint8)
    assert tables.insert_labels_every_bucket(blind, buckets, counts, pinned, lab_offsets, lab_ids, took) == 0
    for a, b in zip((buckets, counts, pinned), before):
        np.testing.assert_array_equal(a, b)
    # a row with no bucket reads none: the same active set as from empty tables
    perm = np.random.default_rng(0).permutation(dim).astype(np.int32)
    mark = np.zeros((numba.config.NUMBA_NUM_THREADS, dim), np.uint8)
    got, want = np.empty(2 * 4, np.int32), np.empty(2 * 4, np.int32)
    tables.query_active(blind, buckets, counts, lab_offsets, lab_ids, 4, 0, perm, 0, mark, got)
    tables.query_active(blind, *_empty(n_tables, n_buckets, reservoir)[:2], lab_offsets, lab_ids, 4, 0, perm, 0,
                        mark, want)
    np.testing.assert_array_equal(got, want)
    assert got[0] == 3 and got[4] == 4
