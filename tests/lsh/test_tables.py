"""Reservoir tables and the active-set query."""
import numba
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.lsh import HashTables


def test_tables_hold_every_neuron_until_the_reservoir_fills():
    rng = np.random.default_rng(0)
    dim, n_tables, reservoir = 3000, 3, 16
    keys = rng.integers(0, 256, (dim, n_tables)).astype(np.int32)
    t = HashTables(n_tables, 8, reservoir)
    t.build(keys, seed=0)
    for table in range(n_tables):
        expected = np.bincount(keys[:, table], minlength=256)
        np.testing.assert_array_equal(t.counts[table], expected)
        for b in range(256):
            held = t.buckets[table, b, :min(expected[b], reservoir)]
            members = np.flatnonzero(keys[:, table] == b)
            if expected[b] <= reservoir:
                assert sorted(held.tolist()) == members.tolist()
            else:
                assert set(held.tolist()) <= set(members.tolist()) and len(set(held.tolist())) == reservoir


def _held(t, table, bucket):
    return t.buckets[table, bucket, :min(t.counts[table, bucket], t.reservoir)].tolist()


def test_a_frozen_table_never_loses_a_label_inserted_into_it():
    rng = np.random.default_rng(0)
    dim, n_tables, reservoir = 400, 2, 4
    keys = rng.integers(0, 8, (dim, n_tables)).astype(np.int32)   # every bucket overflows
    t = HashTables(n_tables, 3, reservoir)
    t.build(keys, seed=0)
    query = np.array([[2, 5]], dtype=np.int32)
    held_before = set(_held(t, 0, 2)) | set(_held(t, 1, 5))
    missed = [j for j in range(dim) if j not in held_before][:6]
    inserted = []
    for j in missed:   # one label a batch, as training would bring them
        n = t.insert_labels(query, np.array([0, 1], dtype=np.int64), np.array([j], dtype=np.int32))
        assert n == (1 if len(inserted) < reservoir else 0)   # a bucket of R pins takes no more
        inserted.append(j)
        for table, bucket in ((0, 2), (1, 5)):
            # every label pinned so far is still there, until all R slots are pins
            assert set(inserted[:reservoir]) <= set(_held(t, table, bucket))
    assert t.pinned[0, 2] == t.pinned[1, 5] == reservoir
    # a retrieved label is not inserted again, and other buckets are untouched
    assert t.insert_labels(query, np.array([0, 1], dtype=np.int64), np.array([missed[0]], dtype=np.int32)) == 0
    assert t.pinned.sum() == 2 * reservoir


def test_a_pin_moves_the_id_it_displaces_to_a_free_slot():
    keys = np.zeros((3, 1), dtype=np.int32)       # neurons 0, 1, 2 in bucket 0
    t = HashTables(1, 2, 8)
    t.build(keys, seed=0)
    t.insert_labels(np.array([[0]], dtype=np.int32), np.array([0, 1], dtype=np.int64), np.array([7], dtype=np.int32))
    assert _held(t, 0, 0) == [7, 1, 2, 0] and t.pinned[0, 0] == 1


def test_pinning_into_every_bucket_fills_the_ones_that_miss_the_label():
    keys = np.array([[0, 0], [0, 1]], dtype=np.int32)   # neuron 0 in buckets 0 and 0, 1 in 0 and 1
    t = HashTables(2, 2, 4)
    t.build(keys, seed=0)
    offsets, label = np.array([0, 1], dtype=np.int64), np.array([1], dtype=np.int32)
    query = np.array([[0, 0]], dtype=np.int32)          # bucket 0 of table 0 holds label 1 already
    assert t.insert_labels(query, offsets, label) == 0
    assert t.insert_labels(query, offsets, label, every=True) == 1
    assert _held(t, 0, 0) == [0, 1] and t.pinned[0, 0] == 0     # held, not pinned again
    assert _held(t, 1, 0) == [1, 0] and t.pinned[1, 0] == 1
    assert t.insert_labels(query, offsets, label, every=True) == 0


def _pin_every_bucket_reference(buckets, counts, pinned, keys, lab_offsets, lab_ids):
    """Plain Python: samples in order, each label into each of the sample's buckets that
    misses it (while the bucket has an unpinned slot)."""
    reservoir, inserted = buckets.shape[2], 0
    for s in range(keys.shape[0]):
        for j in lab_ids[lab_offsets[s]:lab_offsets[s + 1]]:
            took = False
            for t, b in enumerate(keys[s]):
                p, used = pinned[t, b], min(counts[t, b], reservoir)
                if p == reservoir or j in buckets[t, b, :used]:
                    continue
                if p < used and used < reservoir:
                    buckets[t, b, used] = buckets[t, b, p]
                if p >= used or used < reservoir:
                    counts[t, b] += 1
                buckets[t, b, p], pinned[t, b], took = j, p + 1, True
            inserted += took
    return inserted


@pytest.mark.parametrize("threads", [1, 2])
def test_pinning_into_every_bucket_by_table_matches_samples_in_order(threads):
    # the kernel takes whole tables a thread; a table's state must come out as by sample order
    before = sb.get_num_threads()
    sb.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        _pin_every_bucket_case()
    finally:
        sb.set_num_threads(before)


def _pin_every_bucket_case():
    rng = np.random.default_rng(3)
    dim, n_tables, reservoir, n_buckets = 300, 7, 5, 16
    t = HashTables(n_tables, 4, reservoir)
    t.build(rng.integers(0, n_buckets, (dim, n_tables)).astype(np.int32), seed=1)
    want = [a.copy() for a in (t.buckets, t.counts, t.pinned)]
    total = 0
    for _ in range(4):   # batches of 40 samples with 0-3 labels (repeats included), many crowding a bucket
        keys = rng.integers(0, n_buckets // 4, (40, n_tables)).astype(np.int32)
        offsets = np.concatenate([[0], np.cumsum(rng.integers(0, 4, 40))]).astype(np.int64)
        labels = rng.integers(0, dim, offsets[-1]).astype(np.int32)
        n = _pin_every_bucket_reference(*want, keys, offsets, labels)
        assert t.insert_labels(keys, offsets, labels, every=True) == n
        total += n
        for a, b in zip((t.buckets, t.counts, t.pinned), want):
            np.testing.assert_array_equal(a, b)
    assert (t.pinned == reservoir).any() and total > 0


def test_query_puts_labels_first_then_buckets_then_padding_without_repeats():
    dim = 500
    keys = np.zeros((dim, 2), dtype=np.int32)
    keys[:10, 0] = 1                      # neurons 0..9 share bucket 1 of table 0
    t = HashTables(2, 3, 32)
    t.build(keys, seed=0)
    query = np.array([[1, 5]], dtype=np.int32)  # table 1 bucket 5 is empty
    perm = np.random.default_rng(0).permutation(dim).astype(np.int32)
    out = t.query(query, np.array([0, 2], dtype=np.int64), np.array([42, 3], dtype=np.int32), 20, perm, salt=1)
    row = out[0].tolist()
    assert row[:2] == [42, 3]
    assert set(row[2:11]) == set(range(10)) - {3}
    assert len(set(row)) == 20 and all(0 <= i < dim for i in row)
    again = t.query(query, np.array([0, 2], dtype=np.int64), np.array([42, 3], dtype=np.int32), 20, perm, salt=1)
    np.testing.assert_array_equal(out, again)


def test_ranked_query_keeps_the_neurons_most_buckets_hold():
    dim = 300
    keys = np.zeros((dim, 4), dtype=np.int32)
    # neuron 7 shares the query's bucket in all 4 tables, 8 in 3, 9 in 2; 100..139 in table 0 only
    keys[7, :] = 1
    keys[8, :3] = 1
    keys[9, :2] = 1
    keys[100:140, 0] = 1
    t = HashTables(4, 3, 64)
    t.build(keys, seed=0)
    perm = np.random.default_rng(0).permutation(dim).astype(np.int32)
    query = np.ones((2, 4, 1), dtype=np.int32)
    none = (np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.int32))
    out = t.query_ranked(query, *none, 5, perm, salt=0)
    for row in out:
        assert {7, 8, 9} <= set(row.tolist()) and len(set(row.tolist())) == 5
    # fewer candidates than the width: all of them, then padding without repeats
    one = np.array([[1, 0, 0, 0]], dtype=np.int32)[:, :, None]
    out = t.query_ranked(one, none[0][:2], none[1], 200, perm, salt=3)[0].tolist()
    assert {7, 8, 9, *range(100, 140)} <= set(out) and len(set(out)) == 200
    # labels first, then the best-ranked neurons
    out = t.query_ranked(query[:1], np.array([0, 2], dtype=np.int64), np.array([250, 7], dtype=np.int32), 4, perm, 0)
    assert out[0, :2].tolist() == [250, 7] and set(out[0, 2:].tolist()) == {8, 9}
    assert not t._marks.any()


def test_ranked_query_counts_neighbouring_buckets_once_each():
    dim = 300
    keys = np.zeros((dim, 2), dtype=np.int32)
    keys[10] = (1, 0)    # the query's own bucket of table 0
    keys[12] = (1, 1)    # its own bucket of both tables
    keys[20] = (2, 2)    # a neighbouring bucket of both tables
    t = HashTables(2, 2, 64)
    t.build(keys, seed=0)
    perm = np.random.default_rng(0).permutation(dim).astype(np.int32)
    none = (np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int32))
    own = np.array([[[1], [1]]], dtype=np.int32)
    assert sorted(t.query_ranked(own, *none, 2, perm, salt=0)[0].tolist()) == [10, 12]
    # 20 is found twice through the probes and outranks 10; a probe equal to the own
    # bucket is skipped, or 10 would count twice and come first in table order
    probed = np.array([[[1, 2, 1], [1, 2, 1]]], dtype=np.int32)
    assert sorted(t.query_ranked(probed, *none, 2, perm, salt=0)[0].tolist()) == [12, 20]
    assert not t._marks.any()


def test_ranked_query_pads_a_row_the_same_wherever_it_sits_in_its_batch():
    dim = 300
    keys = np.random.default_rng(1).integers(0, 8, (dim, 3)).astype(np.int32)
    t = HashTables(3, 3, 4)   # a bucket holds at most 4: a set of 40 is mostly padding
    t.build(keys, seed=0)
    perm = np.random.default_rng(0).permutation(dim).astype(np.int32)
    query = np.random.default_rng(2).integers(0, 8, (5, 3, 1)).astype(np.int32)
    none = (np.zeros(6, dtype=np.int64), np.zeros(0, dtype=np.int32))
    batch = t.query_ranked(query, *none, 40, perm, salt=0)
    for s in range(5):
        alone = t.query_ranked(query[s:s + 1], none[0][:2], none[1], 40, perm, salt=0)
        assert sorted(alone[0].tolist()) == sorted(batch[s].tolist())


def test_training_sets_take_in_batch_negatives_after_the_labels():
    dim = 100
    t = HashTables(2, 2, 8)
    t.build(np.zeros((dim, 2), dtype=np.int32), seed=0)   # every neuron in bucket 0
    perm = np.arange(dim, dtype=np.int32)
    keys = np.zeros((3, 2), dtype=np.int32)
    lab_offsets = np.array([0, 2, 3, 5], dtype=np.int64)
    lab_ids = np.array([50, 51, 60, 70, 50], dtype=np.int32)
    out = t.query(keys, lab_offsets, lab_ids, 6, perm, salt=0, n_negatives=3)
    # its labels, then the next samples' labels (wrapping around), never its own twice
    assert out[0, :4].tolist() == [50, 51, 60, 70]
    assert out[1, :4].tolist() == [60, 70, 50, 51]
    assert out[2, :4].tolist() == [70, 50, 51, 60]
    one = t.query(keys, lab_offsets, lab_ids, 6, perm, salt=0, n_negatives=1)
    assert one[0, :3].tolist() == [50, 51, 60] and one[1, :2].tolist() == [60, 70]
    # the rest comes from the buckets, without repeats
    for row in (*out, *one):
        assert len(set(row.tolist())) == 6
    assert not t._marks.any()
