"""Saved state checked before a kernel sees it: an array of the wrong dtype, shape or range,
a missing one, row ids that do not increase and settings that are no ints are refused
naming the owner and the key."""
import numpy as np
import pytest

from sparsebolt._state import meta_int, prefixed, take, take_rows, take_vector, unprefixed


def test_prefixed_arrays_come_back_unprefixed_and_alone():
    arrays = {"W": np.zeros(2), "b": np.ones(1)}
    both = {**prefixed("layers/out", arrays), **prefixed("layers/outer", {"W": np.ones(3)})}
    assert sorted(both) == ["layers/out/W", "layers/out/b", "layers/outer/W"]
    assert unprefixed("layers/out", both).keys() == arrays.keys()


def test_take_checks_dtype_shape_and_range_and_gives_a_contiguous_array():
    arrays = {"ids": np.array([[0, 3], [2, 1]], np.int32), "f": np.zeros((3, 2), np.float32, order="F")}
    assert take("Layer", arrays, "ids", (2, 2), np.int32, 0, 4) is arrays["ids"]
    f = take("Layer", arrays, "f", (3, 2), np.float32)
    assert f.flags.c_contiguous and np.array_equal(f, arrays["f"])
    for args, message in [(("x", (2, 2), np.int32), "The saved state of Layer lacks the array 'x'."),
                          (("ids", (2, 2), np.int64), r"The array 'ids' of Layer must be int64\[2, 2\]\. Got "
                                                      r"int32\[2, 2\] instead\."),
                          (("ids", (4,), np.int32), r"must be int32\[4\]\. Got int32\[2, 2\] instead\."),
                          (("ids", (2, 2), np.int32, 0, 3), r"must hold values in \[0, 3\)\. Got values from 0 to 3")]:
        with pytest.raises(ValueError, match=message):
            take("Layer", arrays, *args)


def test_row_ids_must_increase_within_the_rows_and_a_vector_may_have_any_length():
    assert take_vector("Adam", {"r": np.arange(5, dtype=np.int64)}, "r", np.int64).size == 5
    assert take_rows("Adam", {"r": np.array([0, 4, 9], np.int64)}, "r", 10).tolist() == [0, 4, 9]
    for rows, message in [([4, 4], "must hold increasing row ids"), ([3, 1], "must hold increasing row ids"),
                          ([1, 10], r"must hold values in \[0, 10\)")]:
        with pytest.raises(ValueError, match=f"The array 'r' of Adam {message}"):
            take_rows("Adam", {"r": np.array(rows, np.int64)}, "r", 10)


def test_meta_int_takes_ints_from_low_on_and_none_when_optional():
    assert meta_int("Adam", {"step_count": 3}, "step_count") == 3
    assert meta_int("Adam", {}, "step_count", optional=True) is None
    for bad in (True, 2.0, -1, None):
        with pytest.raises(ValueError, match=r"The saved setting 'step_count' of Adam must be an int >= 0\. Got "):
            meta_int("Adam", {"step_count": bad}, "step_count")
