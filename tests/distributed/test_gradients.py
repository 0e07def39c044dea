"""Combining, splitting and joining the row gradients workers exchange, against dense sums."""
import numpy as np

from sparsebolt.distributed.gradients import combine, join, split


def test_combine_sums_duplicate_rows_in_order_and_averages():
    a = {"W": (np.array([3, 1], np.int32), np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))}
    b = {"W": (np.array([1, 7], np.int32), np.array([[10.0, 20.0], [5.0, 6.0]], np.float32)),
         "b": (np.array([0], np.int32), np.array([2.0], np.float32))}
    out = combine([a, b], 2)
    rows, vals = out["W"]
    assert rows.tolist() == [1, 3, 7]
    np.testing.assert_array_equal(vals, [[6.5, 12.0], [0.5, 1.0], [2.5, 3.0]])
    assert out["b"][0].tolist() == [0] and out["b"][1].tolist() == [1.0]
    assert combine([a], 1) is a


def test_split_by_row_range_and_join_round_trip():
    g = {"W": (np.array([9, 0, 5, 3], np.int32), np.arange(8, dtype=np.float32).reshape(4, 2)),
         "b": (np.array([1], np.int32), np.array([4.0], np.float32))}
    pieces = split(g, {"W": 10, "b": 10}, 3)  # ranges [0, 3), [3, 6), [6, 10)
    assert [p["W"][0].tolist() for p in pieces] == [[0], [5, 3], [9]]
    assert [p["b"][0].tolist() for p in pieces] == [[1], [], []]
    back = join(pieces)  # ranges in order, each range's rows as they came
    assert back["W"][0].tolist() == [0, 5, 3, 9]
    np.testing.assert_array_equal(back["W"][1], [[2, 3], [4, 5], [6, 7], [0, 1]])


def test_combined_gradient_matches_the_dense_sum():
    rng = np.random.default_rng(0)
    parts, dense = [], np.zeros((50, 4), np.float32)
    for _ in range(3):
        rows = rng.choice(50, 20, replace=False).astype(np.int32)
        vals = rng.standard_normal((20, 4)).astype(np.float32)
        dense[rows] += vals
        parts.append({"W": (rows, vals)})
    rows, vals = combine(parts, 3)["W"]
    got = np.zeros_like(dense)
    got[rows] = vals
    np.testing.assert_allclose(got, dense / 3, rtol=1e-6)
