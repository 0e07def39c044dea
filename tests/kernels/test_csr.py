import numpy as np
import pytest

from sparsebolt.kernels import csr


def _random_csr(rng, n_rows, max_width):
    widths = rng.integers(0, max_width + 1, size=n_rows)
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(widths, out=offsets[1:])
    ids = rng.integers(0, 1 << 20, size=offsets[-1]).astype(np.int32)
    vals = rng.standard_normal(offsets[-1]).astype(np.float32)
    return offsets, ids, vals


@pytest.mark.parametrize("max_width", [0, 1, 14, 600])  # empty rows, short ones, rows past the prefetched lines
def test_gathered_rows_equal_numpy_in_any_order(max_width):
    rng = np.random.default_rng(max_width)
    offsets, ids, vals = _random_csr(rng, 300, max_width)
    # shuffled, repeated, and fewer rows than the prefetch distance
    for rows in (rng.permutation(300), rng.integers(0, 300, size=500), np.array([299, 0, 299]), np.array([], int)):
        rows = rows.astype(np.int64)
        new_offsets = csr.taken_offsets(offsets, rows)
        expected_ids = [ids[offsets[r]:offsets[r + 1]] for r in rows]
        expected_vals = [vals[offsets[r]:offsets[r + 1]] for r in rows]
        assert new_offsets.tolist() == np.concatenate([[0], np.cumsum([len(x) for x in expected_ids])]).tolist()
        got_ids, got_vals = csr.take_rows_pair(offsets, ids, vals, rows, new_offsets)
        want_ids = np.concatenate(expected_ids) if len(rows) else ids[:0]
        want_vals = np.concatenate(expected_vals) if len(rows) else vals[:0]
        np.testing.assert_array_equal(got_ids, want_ids)
        np.testing.assert_array_equal(got_vals, want_vals)
        np.testing.assert_array_equal(csr.take_rows(offsets, vals, rows, new_offsets), want_vals)
        assert got_ids.dtype == np.int32 and got_vals.dtype == np.float32


def test_gathering_a_strided_array():
    offsets = np.array([0, 2, 3, 3, 6], dtype=np.int64)
    values = np.arange(12.0)[::2]  # not contiguous
    rows = np.array([3, 0, 2, 1, 3, 0, 0, 0, 0, 0, 1], dtype=np.int64)
    new_offsets = csr.taken_offsets(offsets, rows)
    want = np.concatenate([values[offsets[r]:offsets[r + 1]] for r in rows])
    np.testing.assert_array_equal(csr.take_rows(offsets, values, rows, new_offsets), want)
