"""Grouping CSR entries by id: a stable sort (counting or radix) whatever the number of runs."""
import numpy as np

from sparsebolt.kernels.grouping import _SORT_BELOW, group_by_id, stable_order


def test_group_by_id_is_a_stable_sort_that_does_not_depend_on_the_runs():
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 40, 37)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = rng.integers(0, 60, offsets[-1]).astype(np.int32)
    order, group_offsets, group_ids, entry_row = group_by_id(offsets, ids, 100, 1)
    np.testing.assert_array_equal(order, np.argsort(ids, kind="stable"))
    np.testing.assert_array_equal(group_ids, np.unique(ids))
    np.testing.assert_array_equal(np.diff(group_offsets), np.bincount(ids)[np.unique(ids)])
    np.testing.assert_array_equal(entry_row, np.repeat(np.arange(37), lengths))
    for n_runs in (2, 3, 64):
        for a, b in zip(group_by_id(offsets, ids, 100, n_runs), (order, group_offsets, group_ids, entry_row)):
            np.testing.assert_array_equal(a, b)


def test_the_sort_and_the_counting_pass_give_the_same_groups():
    rng = np.random.default_rng(1)
    lengths = rng.integers(0, 12, 200)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    nnz = int(offsets[-1])
    ids = rng.integers(0, 1000, nnz).astype(np.int32)
    ids[::7] = ids[0]  # repeated ids keep their sample order
    assert _SORT_BELOW * nnz < 100_000 and _SORT_BELOW * nnz >= 1000  # one call sorts, the other counts
    for n_runs in (1, 2):
        sorted_ = group_by_id(offsets, ids, 100_000, n_runs)   # fewer entries than half the ids: the sort
        counted = group_by_id(offsets, ids, 1000, n_runs)      # the counting pass
        for a, b in zip(sorted_, counted):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(sorted_[0], np.argsort(ids, kind="stable"))


def test_stable_order_is_numpys_stable_argsort_for_one_to_three_radix_passes():
    rng = np.random.default_rng(2)
    for n_ids in (1, 2, 2000, 100_000, 670_091, 2**31 - 1):
        ids = rng.integers(0, n_ids, 3000).astype(np.int32)
        ids[::5] = ids[1]
        np.testing.assert_array_equal(stable_order(ids, n_ids), np.argsort(ids, kind="stable"))
    assert stable_order(np.zeros(0, dtype=np.int32), 10).shape == (0,)
