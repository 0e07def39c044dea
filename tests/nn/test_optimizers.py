"""Adam and SGD: their saved state checked as it loads."""
import numpy as np
import pytest


@pytest.mark.parametrize("rows, message", [
    (np.array([3, 1], np.int64), "must hold increasing row ids"),
    (np.array([1, 1], np.int64), "must hold increasing row ids"),
    (np.array([1, 20_000], np.int64), r"must hold values in \[0, 20000\)"),
    (np.array([1.0, 2.0]), r"must be int64\[2\]"),
])
def test_saved_moment_rows_that_do_not_fit_the_table_are_refused(rows, message):
    from sparsebolt.nn.optimizers import Adam
    from sparsebolt.nn.parameter import Parameter
    p = Parameter("emb/E", np.zeros((20_000, 64), np.float32), np.zeros(20_000, np.uint8))
    arrays = {"rows/emb/E": rows, "m/emb/E": np.ones((2, 64), np.float32), "v/emb/E": np.ones((2, 64), np.float32)}
    with pytest.raises(ValueError, match=message):
        Adam().set_state({"step_count": 3}, arrays, [p])
