"""sum_groups against NumPy: each group's rows added in the order given, then divided."""
import numpy as np
import pytest

from sparsebolt.kernels.rows import sum_groups


@pytest.mark.parametrize("divisor", [1.0, 3.0])
def test_each_group_is_its_rows_summed_in_order_then_divided(divisor):
    rng = np.random.default_rng(0)
    vals = rng.standard_normal((40, 5)).astype(np.float32)
    order = rng.permutation(40).astype(np.int64)
    group_offsets = np.array([0, 1, 8, 20, 40], dtype=np.int64)
    out = np.empty((4, 5), dtype=np.float32)
    sum_groups(vals, order, group_offsets, np.float32(divisor), out)
    for g in range(4):
        expected = vals[order[group_offsets[g]]].copy()
        for k in range(group_offsets[g] + 1, group_offsets[g + 1]):
            expected += vals[order[k]]   # float32, in order: the same bits
        np.testing.assert_array_equal(out[g], expected if divisor == 1 else expected / np.float32(divisor))
