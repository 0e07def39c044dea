"""Batches of sparse features and label sets, and an in-memory data set of them."""
import numpy as np

from .._validation import check_int
from .value import Value


class Labels:
    """Label sets of a batch as CSR rows: ``offsets : int64[B + 1]``, ``ids : int32[nnz]``,
    ``vals : float32[nnz]`` (1.0 where the data gives no values)."""

    __slots__ = ("offsets", "ids", "vals")

    def __init__(self, offsets, ids, vals=None):
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.ids = np.ascontiguousarray(ids, dtype=np.int32)
        self.vals = (np.ones(self.ids.shape[0], dtype=np.float32) if vals is None
                     else np.ascontiguousarray(vals, dtype=np.float32))

    @classmethod
    def from_lists(cls, label_lists):
        """From one list of label ids per sample."""
        lengths = [len(x) for x in label_lists]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter((i for row in label_lists for i in row), dtype=np.int32, count=int(offsets[-1]))
        return cls(offsets, ids)

    @property
    def batch_size(self):
        return self.offsets.shape[0] - 1

    def max_per_row(self):
        return int(np.diff(self.offsets).max()) if self.batch_size else 0

    def row(self, i):
        return self.ids[self.offsets[i]:self.offsets[i + 1]]


class Batch:
    """One batch: ``inputs``, a tuple of Values (one per model input), and ``labels``."""

    __slots__ = ("inputs", "labels")

    def __init__(self, inputs, labels=None):
        self.inputs = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
        self.labels = labels

    @property
    def batch_size(self):
        return self.inputs[0].batch_size


def csr_value(dim, offsets, ids, vals=None):
    """A sparse Value with checked dtypes (values default to 1.0)."""
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    vals = np.ones(ids.shape[0], dtype=np.float32) if vals is None else np.ascontiguousarray(vals, dtype=np.float32)
    return Value(dim, vals, ids, np.ascontiguousarray(offsets, dtype=np.int64))


def _take_rows(offsets, arrays, rows):
    """Gather CSR rows ``rows`` of the parallel arrays; returns (offsets, gathered arrays)."""
    starts, ends = offsets[rows], offsets[rows + 1]
    lengths = ends - starts
    new_offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    idx = np.repeat(starts - new_offsets[:-1], lengths) + np.arange(new_offsets[-1])
    return new_offsets, [a[idx] for a in arrays]


class Reshuffled:
    """Mixin of data sets that shuffle with a generator ``self._rng`` each epoch."""

    def get_state(self):
        """(meta, arrays) as every stateful class gives them: the shuffling generator's
        state, JSON-able, and no arrays. After ``set_state`` with it an epoch's batches
        come out as they did when it was taken (checkpoints keep the meta)."""
        return {"rng": self._rng.bit_generator.state}, {}

    def set_state(self, meta, arrays):
        self._rng.bit_generator.state = meta["rng"]


class SparseDataset(Reshuffled):
    """An in-memory data set of one sparse input and label sets, served in batches.

    offsets, ids, vals : the features as CSR (int64[N + 1], int32[nnz], float32[nnz])
    labels : Labels over all N samples
    dim : the feature space width (ids must be below it)
    """

    def __init__(self, offsets, ids, vals, labels, dim, batch_size=256, shuffle=False, seed=0):
        self.features = csr_value(dim, offsets, ids, vals)
        self.labels = labels
        self.dim = dim
        self.batch_size = check_int("SparseDataset", "batch_size", batch_size, 1)
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        if labels.batch_size != self.n_samples:
            raise ValueError(f"SparseDataset has {self.n_samples} feature rows but {labels.batch_size} label rows.")

    @property
    def n_samples(self):
        return self.features.batch_size

    def __len__(self):
        return -(-self.n_samples // self.batch_size)

    def _gather(self, rows):
        """(features offsets, ids, vals; Labels) of the sample indices ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        f = self.features
        off, (ids, vals) = _take_rows(f.offsets, [f.ids, f.vals], rows)
        loff, (lids, lvals) = _take_rows(self.labels.offsets, [self.labels.ids, self.labels.vals], rows)
        return off, ids, vals, Labels(loff, lids, lvals)

    def batch(self, rows):
        """The Batch of the given sample indices."""
        off, ids, vals, labels = self._gather(rows)
        return Batch((csr_value(self.dim, off, ids, vals),), labels)

    def __iter__(self):
        order = self._rng.permutation(self.n_samples) if self.shuffle else np.arange(self.n_samples)
        for lo in range(0, self.n_samples, self.batch_size):
            yield self.batch(order[lo:lo + self.batch_size])

    def subset(self, rows, batch_size=None, shuffle=None, seed=0):
        """A SparseDataset of the samples ``rows`` (int[n]), in that order (e.g. to hold out
        a validation slice); batch size and shuffling default to this one's."""
        off, ids, vals, labels = self._gather(rows)
        return SparseDataset(off, ids, vals, labels, self.dim,
                             batch_size=self.batch_size if batch_size is None else batch_size,
                             shuffle=self.shuffle if shuffle is None else shuffle, seed=seed)

    def ordered(self):
        """Batches in file order, whatever ``shuffle`` says (for predictions)."""
        for lo in range(0, self.n_samples, self.batch_size):
            yield self.batch(np.arange(lo, min(lo + self.batch_size, self.n_samples)))
