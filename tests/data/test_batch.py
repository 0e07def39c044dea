"""SparseDataset's batches: an epoch's slices of gathered blocks are the rows of its order."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.data import batch as batch_module


def _dataset(n=700, shuffle=True, batch_size=32):
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 9, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = rng.integers(0, 1000, offsets[-1]).astype(np.int32)
    vals = rng.random(offsets[-1]).astype(np.float32)
    labels = sb.data.Labels(np.arange(n + 1), rng.integers(0, 5, n))
    return sb.data.SparseDataset(offsets, ids, vals, labels, 1000, batch_size=batch_size, shuffle=shuffle, seed=3)


def _rows(offsets, arrays, rows):
    """The reference gather, in NumPy."""
    parts = [[a[offsets[r]:offsets[r + 1]] for r in rows] for a in arrays]
    return [np.concatenate(p) if p else a[:0] for p, a in zip(parts, arrays)]


@pytest.mark.parametrize("shuffle", [True, False])
def test_an_epochs_batches_are_its_orders_rows(shuffle, monkeypatch):
    monkeypatch.setattr(batch_module, "_GATHER_BATCHES", 3)  # several blocks, the last one short
    data = _dataset(shuffle=shuffle)
    batches = list(data)
    # the data set's generator (seed 3) draws the epoch's order first
    order = np.random.default_rng(3).permutation(700) if shuffle else np.arange(700)
    assert len(batches) == len(data) == 22
    f, lab = data.features, data.labels
    for k, b in enumerate(batches):
        rows = order[k * 32:(k + 1) * 32]
        x = b.inputs[0]
        np.testing.assert_array_equal(np.diff(x.offsets), np.diff(f.offsets)[rows])
        for got, want in zip((x.ids, x.vals), _rows(f.offsets, [f.ids, f.vals], rows)):
            np.testing.assert_array_equal(got, want)
        for got, want in zip((b.labels.ids, b.labels.vals), _rows(lab.offsets, [lab.ids, lab.vals], rows)):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shuffle", [True, False])
def test_each_row_keeps_its_count_of_unknown_labels(shuffle, monkeypatch):
    # an evaluation's labels without an id, which recall counts as missed (had been dropped)
    monkeypatch.setattr(batch_module, "_GATHER_BATCHES", 3)
    data = _dataset(shuffle=shuffle)
    unknown = np.arange(700) % 4
    data.labels = sb.data.Labels(data.labels.offsets, data.labels.ids, unknown=unknown)
    order = np.random.default_rng(3).permutation(700) if shuffle else np.arange(700)
    np.testing.assert_array_equal(np.concatenate([b.labels.unknown for b in data]), unknown[order])
    np.testing.assert_array_equal(data.batch([5, 2]).labels.unknown, [1, 2])
    np.testing.assert_array_equal(data.subset([3, 4]).labels.unknown, [3, 0])
    owner = r"^The 'unknown' parameter of Labels must be one count >= 0 a sample \(2\)\. Got "
    with pytest.raises(ValueError, match=owner + r"\(3,\) instead\.$"):
        sb.data.Labels([0, 1, 2], [0, 1], unknown=[0, 0, 1])
    with pytest.raises(ValueError, match=owner + r"-1 instead\.$"):  # had read as a label found
        sb.data.Labels([0, 1, 2], [0, 1], unknown=[0, -1])


def test_batch_of_given_rows_and_a_row_out_of_range():
    data = _dataset(shuffle=False)
    b = data.batch([5, 2, 5])
    f = data.features
    np.testing.assert_array_equal(b.inputs[0].ids, _rows(f.offsets, [f.ids], [5, 2, 5])[0])
    with pytest.raises(IndexError, match="Row 700 is out of range: the data set has 700 rows"):
        data.batch([3, 700])
    with pytest.raises(IndexError, match="Row -1"):
        data.subset([-1, 0])


def test_offsets_that_do_not_frame_the_arrays_are_refused():
    labels = sb.data.Labels.from_lists([[0], [1]])
    with pytest.raises(ValueError, match=r"^The 'offsets' parameter of SparseDataset must start at 0, never decrease and "
                                         r"end at len\(ids\) == len\(vals\) \(4, 4\)\. Got offsets \[0, 2, 40\] "
                                         r"instead\.$"):
        sb.data.SparseDataset([0, 2, 40], np.arange(4, dtype=np.int32), None, labels, 100)
    with pytest.raises(ValueError, match=r"^The 'offsets' parameter of SparseDataset .* Got offsets \[0, 3, 2\] "
                                         r"instead\.$"):
        sb.data.SparseDataset([0, 3, 2], np.arange(2, dtype=np.int32), None, labels, 100)
    with pytest.raises(ValueError, match=r"^The 'labels' parameter of SparseDataset must have offsets that start at 0, "
                                         r"never decrease and end at len\(ids\) == len\(vals\) \(2, 2\)\. Got offsets "
                                         r"\[0, 1, 5\] instead\.$"):
        sb.data.SparseDataset([0, 1, 2], np.arange(2, dtype=np.int32), None,
                              sb.data.Labels([0, 1, 5], np.array([0, 1], np.int32)), 100)


@pytest.mark.parametrize("kw, message", [
    ({"shuffle": "no"}, "The 'shuffle' parameter of SparseDataset must be a bool. Got 'no' instead."),  # read as true
    # NumPy's own errors had come instead
    ({"seed": -1}, "The 'seed' parameter of SparseDataset must be an int >= 0 or a list of them. Got -1 instead."),
    ({"seed": 1.5}, "The 'seed' parameter of SparseDataset must be an int >= 0 or a list of them. Got 1.5 instead."),
    ({"seed": [3, -1]}, "The 'seed' parameter of SparseDataset must be an int >= 0 or a list of them. "
                        "Got [3, -1] instead."),
])
def test_shuffle_and_seed_are_checked(kw, message):
    labels = sb.data.Labels.from_lists([[0], [1]])
    with pytest.raises(ValueError) as err:
        sb.data.SparseDataset([0, 1, 2], np.arange(2, dtype=np.int32), None, labels, 100, **kw)
    assert str(err.value) == message
    for seed in (np.int64(3), [3, 0]):
        data = sb.data.SparseDataset([0, 1, 2], np.arange(2, dtype=np.int32), None, labels, 100,
                                     shuffle=np.bool_(True), seed=seed)
        assert data.shuffle is True


@pytest.mark.parametrize("shuffle", [True, False])
def test_a_batch_is_a_copy_of_its_rows(shuffle):
    data = _dataset(shuffle=shuffle)
    before = data.features.vals.copy(), data.labels.ids.copy()
    for b in data:
        b.inputs[0].vals *= 5
        b.labels.ids[:] = -1
    np.testing.assert_array_equal(data.features.vals, before[0])
    np.testing.assert_array_equal(data.labels.ids, before[1])


def test_labels_of_another_number_of_rows_are_refused_by_name():
    with pytest.raises(ValueError) as err:
        sb.data.SparseDataset([0, 1, 2], np.arange(2, dtype=np.int32), None, sb.data.Labels.from_lists([[0]]), 100)
    assert str(err.value) == ("The 'labels' parameter of SparseDataset must have one row a sample (2 feature rows). "
                              "Got 1 label rows instead.")
