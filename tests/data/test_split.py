import numpy as np
import pytest

from sparsebolt.data.split import stratified_order


def _held(classes, n_held, seed=0):
    order = stratified_order(np.asarray(classes), n_held, seed)
    assert np.array_equal(np.sort(order), np.arange(len(classes)))
    return np.asarray(classes)[order[:n_held]]


def test_each_class_keeps_its_share_of_the_held_out_rows():
    rng = np.random.default_rng(3)
    classes = (rng.random(1371) < 25 / 1371).astype(np.int64)
    classes[:25] = 1
    held = _held(classes, 137)
    positives = int(classes.sum())
    assert held.size == 137
    assert int(held.sum()) == round(137 * positives / classes.size)


def test_a_rare_class_is_held_out_once_and_never_whole():
    classes = np.array([0] * 200 + [1] * 2)
    held = _held(classes, 10)
    assert held.size == 10 and int(held.sum()) == 1
    held = _held(np.array([0] * 50 + [1]), 10)  # one row: it stays in training
    assert int(held.sum()) == 0
    held = _held(np.array([0] * 10 + [1] * 2), 10)  # rounding alone would hold out both 1s
    assert int(held.sum()) == 1


def test_seeded_and_shuffled_within_a_class():
    classes = np.repeat([0, 1], 500)
    a, b = stratified_order(classes, 100, 0), stratified_order(classes, 100, 0)
    assert np.array_equal(a, b)
    assert not np.array_equal(np.sort(a[:100]), np.sort(stratified_order(classes, 100, 1)[:100]))
    assert not np.array_equal(np.sort(a[:50]), np.arange(50))  # not the first rows of the class
    with pytest.raises(ValueError, match=r"n_held must be in \[0, 1000\]. Got 1001 instead."):
        stratified_order(classes, 1001, 0)


def test_a_share_a_one_row_class_cannot_take_goes_to_the_next_largest_remainder():
    classes = np.repeat(np.arange(5), [3, 1, 1, 1, 8])  # exact shares 1.07, 0.36 x 3, 2.86
    held = _held(classes, 5)
    assert np.bincount(held, minlength=5).tolist() == [2, 0, 0, 0, 3]  # was [1, 0, 0, 0, 4]
