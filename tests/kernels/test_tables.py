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
