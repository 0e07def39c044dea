"""The CSR helpers every reader shares."""
import numpy as np
import pytest

from sparsebolt.data import DataFormatError
from sparsebolt.data.csr import check_id_range, concat_csr


def test_concat_csr_joins_chunks_in_order():
    a = (np.array([0, 2, 3], np.int64), np.array([1, 2, 3], np.int32), np.array([1, 2, 3], np.float32))
    b = (np.array([0, 0, 1], np.int64), np.array([9], np.int32), np.array([4], np.float32))
    offsets, ids, vals = concat_csr([a, b])
    assert offsets.tolist() == [0, 2, 3, 3, 4] and offsets.dtype == np.int64
    assert ids.tolist() == [1, 2, 3, 9] and vals.tolist() == [1, 2, 3, 4]


def test_check_id_range_names_the_file_and_line_of_the_first_bad_id():
    offsets, ids = np.array([0, 1, 3], np.int64), np.array([2, 4, 7], np.int32)
    check_id_range("f.svm", np.array([3, 5]), offsets, ids, 8, "feature", "the model")
    with pytest.raises(DataFormatError, match=r"^f.svm, line 5: feature id 7 is out of range: the model has 5 "
                                              r"features$"):
        check_id_range("f.svm", np.array([3, 5]), offsets, ids, 5, "feature", "the model")
