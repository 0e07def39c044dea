"""Value, the batch passed between layers: dense rows as float32 2-D arrays, sparse ones as
CSR, each seen as flat values with their row boundaries, and back as dense rows."""
import numpy as np
import pytest

from sparsebolt.data.value import Value


def test_dense_rows_are_contiguous_float32_and_their_boundaries_every_dim():
    x = Value.dense(np.arange(6, dtype=np.float64).reshape(3, 2)[::-1])
    assert x.is_dense and x.dim == 2 and x.batch_size == 3
    assert x.vals.dtype == np.float32 and x.vals.flags.c_contiguous
    assert x.row_offsets().tolist() == [0, 2, 4, 6] and x.flat().tolist() == [4, 5, 2, 3, 0, 1]
    assert x.to_dense() is x.vals
    with pytest.raises(ValueError, match=r"^The 'vals' parameter of Value.dense must be a 2-D array \[batch, "
                                         r"dim\]\. Got an array of shape \(6,\) instead\.$"):
        Value.dense(np.zeros(6))


def test_sparse_rows_become_dense_with_repeated_ids_summed():
    x = Value(5, np.array([1.0, 2.0, 3.0, 4.0], np.float32), np.array([4, 0, 4, 2], np.int32),
              np.array([0, 3, 3, 4], np.int64))
    assert not x.is_dense and x.batch_size == 3 and x.row_offsets() is x.offsets
    np.testing.assert_array_equal(x.to_dense(), [[2, 0, 0, 0, 4], [0, 0, 0, 0, 0], [0, 0, 4, 0, 0]])


def test_rows_of_equal_width_are_views_of_their_arrays():
    ids, vals = np.array([[3, 1], [0, 2]], np.int32), np.array([[0.5, 1.5], [2.5, 3.5]], np.float32)
    x = Value.fixed_width(4, ids, vals)
    assert x.offsets.tolist() == [0, 2, 4] and np.shares_memory(x.ids, ids) and np.shares_memory(x.vals, vals)
    np.testing.assert_array_equal(x.to_dense(), [[0, 1.5, 0, 0.5], [2.5, 0, 3.5, 0]])
