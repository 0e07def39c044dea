"""Batches of sparse features and label sets, and an in-memory data set of them."""
from __future__ import annotations

import numbers
from typing import Any, Iterator, Sequence

import numpy as np

from .._validation import _fail, check_flag, check_int
from ..kernels import csr
from .value import Value

# a SparseDataset gathers this many batches at once, or fewer to hold about this many entries
_GATHER_BATCHES, _GATHER_ENTRIES = 64, 1 << 20


class Labels:
    """Label sets of a batch as CSR rows (a sample may have any number of labels).

    Parameters
    ----------
    offsets : array-like of shape (n_samples + 1,)
        Row boundaries into ``ids``; stored as int64.
    ids : array-like of shape (nnz,)
        The label ids, row after row; stored as int32.
    vals : array-like of shape (nnz,) or None, default=None
        A weight a label; stored as float32, 1.0 for each when None.
    unknown : array-like of shape (n_samples,) or None, default=None
        Each sample's labels that have no id (an evaluation's classes the model never saw):
        recall@k counts them among the sample's labels, never found; stored as int32.

    Raises
    ------
    ValueError
        When ``unknown`` does not hold one count a sample.
    """

    __slots__ = ("offsets", "ids", "vals", "unknown")

    def __init__(self, offsets: Any, ids: Any, vals: Any = None, unknown: Any = None) -> None:
        self.offsets = index_array("Labels", "offsets", offsets, np.int64)
        self.ids = index_array("Labels", "ids", ids, np.int32)
        self.vals = (np.ones(self.ids.shape[0], dtype=np.float32) if vals is None
                     else np.ascontiguousarray(vals, dtype=np.float32))
        self.unknown = None if unknown is None else index_array("Labels", "unknown", unknown, np.int32)
        if self.unknown is not None and (self.unknown.shape != (self.batch_size,) or (self.unknown < 0).any()):
            _fail("Labels", "unknown", f"one count >= 0 a sample ({self.batch_size})",
                  self.unknown.shape if self.unknown.shape != (self.batch_size,) else int(self.unknown.min()))

    def unknown_of(self, rows: Any) -> np.ndarray | None:
        """The unknown label counts of some samples.

        Parameters
        ----------
        rows : array-like of int or slice
            The samples.

        Returns
        -------
        ndarray of int32 or None
            ``unknown`` of those samples; None when there is no ``unknown``.
        """
        return None if self.unknown is None else self.unknown[rows]

    @classmethod
    def from_lists(cls, label_lists: Sequence[Sequence[int]]) -> Labels:
        """Labels from one list of label ids a sample.

        Parameters
        ----------
        label_lists : sequence of sequence of int
            Each sample's label ids.

        Returns
        -------
        Labels
            The label sets, every weight 1.0.
        """
        lengths = [len(x) for x in label_lists]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter((i for row in label_lists for i in row), dtype=np.int32, count=int(offsets[-1]))
        return cls(offsets, ids)

    @property
    def batch_size(self) -> int:
        """The number of samples (rows)."""
        return self.offsets.shape[0] - 1

    def max_per_row(self) -> int:
        """The most labels any sample has (0 for no samples).

        Returns
        -------
        int
        """
        return int(np.diff(self.offsets).max()) if self.batch_size else 0

    def rows(self, lo: int, hi: int) -> Labels:
        """The labels of samples ``lo`` to ``hi - 1``, their unknown counts with them.

        Parameters
        ----------
        lo, hi : int
            The first sample and the one after the last.

        Returns
        -------
        Labels
            Views of these labels' arrays.
        """
        offsets, (ids, vals) = slice_rows(self.offsets, [self.ids, self.vals], lo, hi)
        return Labels(offsets, ids, vals, self.unknown_of(slice(lo, hi)))

    def row(self, i: int) -> np.ndarray:
        """The label ids of sample ``i``.

        Parameters
        ----------
        i : int
            The sample's row.

        Returns
        -------
        ndarray of int32
            A view of ``ids``.
        """
        return self.ids[self.offsets[i]:self.offsets[i + 1]]


class Batch:
    """One batch of samples: a Value per model input, and their labels.

    Parameters
    ----------
    inputs : Value or sequence of Value
        One Value a model input, in the order of the model's inputs; stored as a tuple.
    labels : Labels or None, default=None
        The samples' label sets (None for prediction).
    """

    __slots__ = ("inputs", "labels")

    def __init__(self, inputs: Value | Sequence[Value], labels: Labels | None = None) -> None:
        self.inputs = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
        self.labels = labels

    @property
    def batch_size(self) -> int:
        """The number of samples."""
        return self.inputs[0].batch_size


def csr_value(dim: int, offsets: Any, ids: Any, vals: Any = None) -> Value:
    """A sparse Value from CSR arrays, converted to the dtypes the kernels take.

    Parameters
    ----------
    dim : int
        The width of the feature space (ids must be below it).
    offsets : array-like of shape (n_samples + 1,)
        Row boundaries into ``ids``; converted to int64.
    ids : array-like of shape (nnz,)
        Feature ids, row after row; converted to int32.
    vals : array-like of shape (nnz,) or None, default=None
        Feature values; converted to float32, 1.0 for each when None.

    Returns
    -------
    Value
        The sparse batch (arrays already of the right dtype are not copied).
    """
    return _csr_value("csr_value", dim, offsets, ids, vals)


def _csr_value(owner, dim, offsets, ids, vals):
    """``csr_value``; errors name ``owner``, the function the arrays were given to."""
    ids = index_array(owner, "ids", ids, np.int32)
    vals = np.ones(ids.shape[0], dtype=np.float32) if vals is None else np.ascontiguousarray(vals, dtype=np.float32)
    return Value(dim, vals, ids, index_array(owner, "offsets", offsets, np.int64))


def index_array(owner: str, name: str, values: Any, dtype: type) -> np.ndarray:
    """``values`` as a contiguous array of ``dtype`` (int32 ids, int64 offsets), not copied
    when it is one already. Numbers the dtype cannot hold, or that are not whole, are
    refused: a plain cast had wrapped the id 2**32 + 7 to 7 and truncated 1.9 to 1, which
    then passed every range check as another id.

    Raises
    ------
    ValueError
        Naming the parameter ``name`` of ``owner`` and the first such number.
    """
    arr = np.asarray(values)
    if arr.dtype == dtype or arr.size == 0:
        return np.ascontiguousarray(arr, dtype=dtype)
    info = np.iinfo(dtype)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"The '{name}' parameter of {owner} must be integers. Got an array of {arr.dtype} instead.")
    # floats compared as float64: in float32 int32's max reads 2**31, which then wraps
    flat = arr.reshape(-1).astype(np.float64) if arr.dtype.kind == "f" else arr.reshape(-1)
    bad = (flat < info.min) | (flat > info.max)
    if arr.dtype.kind == "f":
        bad |= ~np.isfinite(flat) | (flat != np.trunc(flat))
    if bad.any():
        raise ValueError(f"The '{name}' parameter of {owner} must be whole numbers in [{info.min}, {info.max}] "
                         f"({np.dtype(dtype).name}). Got {flat[np.argmax(bad)].item()!r} instead.")
    return np.ascontiguousarray(arr, dtype=dtype)


def _take_rows(offsets, arrays, rows):
    """Gather CSR rows ``rows`` of the parallel arrays; returns (offsets, gathered arrays)."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    n = offsets.shape[0] - 1
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        bad = rows[(rows < 0) | (rows >= n)][0]
        raise IndexError(f"Row {bad} is out of range: the data set has {n} rows.")
    new_offsets = csr.taken_offsets(offsets, rows)
    if len(arrays) == 2:
        return new_offsets, list(csr.take_rows_pair(offsets, *arrays, rows, new_offsets))
    return new_offsets, [csr.take_rows(offsets, a, rows, new_offsets) for a in arrays]


def slice_rows(offsets, arrays, lo, hi):
    """CSR rows ``lo:hi`` of the parallel arrays (views); returns (offsets, arrays)."""
    a, b = offsets[lo], offsets[hi]
    return offsets[lo:hi + 1] - a, [x[a:b] for x in arrays]


class Reshuffled:
    """Mixin of data sets that shuffle with a generator ``self._rng`` each epoch."""

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(meta, arrays) as every stateful class gives them: the shuffling generator's
        state, JSON-able, and no arrays. After ``set_state`` with it an epoch's batches
        come out as they did when it was taken (checkpoints keep the meta)."""
        return {"rng": self._rng.bit_generator.state}, {}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Take back a ``get_state``.

        Parameters
        ----------
        meta : dict
            The meta ``get_state`` returned.
        arrays : dict
            Its arrays (none).
        """
        self._rng.bit_generator.state = meta["rng"]


def check_seed(owner, seed):
    """A shuffling seed: an int >= 0 or a list of them (``as_data`` seeds by [model seed, epochs])."""
    parts = seed if isinstance(seed, (list, tuple)) else [seed]
    if not parts or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in parts):
        _fail(owner, "seed", "an int >= 0 or a list of them", seed)
    return seed


class SparseDataset(Reshuffled):
    """An in-memory data set of one sparse input and label sets, served in batches.

    Iterating gives the Batches of an epoch (reshuffled each time with ``shuffle``);
    ``len`` is the number of batches.

    Parameters
    ----------
    offsets : array-like of shape (n_samples + 1,)
        The features' row boundaries (int64).
    ids : array-like of shape (nnz,)
        Feature ids (int32), each below ``dim``.
    vals : array-like of shape (nnz,) or None
        Feature values (float32); None for 1.0 each.
    labels : Labels
        The label sets of all ``n_samples`` samples.
    dim : int
        The feature space width.
    batch_size : int, default=256
        Samples a batch.
    shuffle : bool, default=False
        Serve the samples in a new random order every epoch.
    seed : int or list of int, default=0
        Seeds the shuffling (a list: the entropy of NumPy's ``SeedSequence``); each at least 0.

    Raises
    ------
    ValueError
        When ``labels`` has another number of rows than the features, or for a bad
        ``batch_size``, ``shuffle`` or ``seed``.
    """

    def __init__(self, offsets: Any, ids: Any, vals: Any, labels: Labels, dim: int, batch_size: int = 256,
                 shuffle: bool = False, seed: Any = 0) -> None:
        self.features = _csr_value("SparseDataset", dim, offsets, ids, vals)
        self.labels = labels
        self.dim = dim
        self.batch_size = check_int("SparseDataset", "batch_size", batch_size, 1)
        self.shuffle = check_flag("SparseDataset", "shuffle", shuffle)
        self._rng = np.random.default_rng(check_seed("SparseDataset", seed))
        if labels.batch_size != self.n_samples:
            raise ValueError(f"The 'labels' parameter of SparseDataset must have one row a sample ({self.n_samples} "
                             f"feature rows). Got {labels.batch_size} label rows instead.")
        # the gather kernels trust the offsets to frame the arrays
        for name, x, whose in (("offsets", self.features, ""), ("labels", labels, "have offsets that ")):
            if csr.csr_fault(x.offsets, x.ids, x.vals, np.iinfo(np.int32).max, False)[0] == csr.BAD_OFFSETS:
                shown = str(x.offsets[:8].tolist())[:-1] + (", ...]" if x.offsets.size > 8 else "]")
                raise ValueError(f"The '{name}' parameter of SparseDataset must {whose}start at 0, never decrease and "
                                 f"end at len(ids) == len(vals) ({x.ids.size}, {x.vals.size}). Got offsets {shown} "
                                 f"instead.")

    @property
    def n_samples(self) -> int:
        """The number of samples."""
        return self.features.batch_size

    def __len__(self):
        return -(-self.n_samples // self.batch_size)

    def _gather(self, rows):
        """(features offsets, ids, vals; Labels) of the sample indices ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        f = self.features
        off, (ids, vals) = _take_rows(f.offsets, [f.ids, f.vals], rows)
        loff, (lids, lvals) = _take_rows(self.labels.offsets, [self.labels.ids, self.labels.vals], rows)
        return off, ids, vals, Labels(loff, lids, lvals, self.labels.unknown_of(rows))

    def batch(self, rows: Any) -> Batch:
        """The Batch of the given samples.

        Parameters
        ----------
        rows : array-like of int
            Sample indices, in the order the batch takes them.

        Returns
        -------
        Batch
        """
        off, ids, vals, labels = self._gather(rows)
        return Batch((csr_value(self.dim, off, ids, vals),), labels)

    def __iter__(self):
        order = self._rng.permutation(self.n_samples) if self.shuffle else np.arange(self.n_samples)
        # rows are gathered (copied) a block of batches at a time, each batch a slice of its
        # block: one gather a batch cost more than a small model's step. A block holds about
        # _GATHER_ENTRIES entries, at most _GATHER_BATCHES batches.
        f, lab = self.features, self.labels
        per_batch = self.batch_size * max(f.ids.size / max(self.n_samples, 1), 1.0)
        block = self.batch_size * int(np.clip(_GATHER_ENTRIES // per_batch, 1, _GATHER_BATCHES))
        for start in range(0, self.n_samples, block):
            stop = min(start + block, self.n_samples)
            off, (ids, vals) = _take_rows(f.offsets, [f.ids, f.vals], order[start:stop])
            loff, (lids, lvals) = _take_rows(lab.offsets, [lab.ids, lab.vals], order[start:stop])
            for lo in range(0, stop - start, self.batch_size):
                hi = min(lo + self.batch_size, stop - start)
                boff, (bids, bvals) = slice_rows(off, [ids, vals], lo, hi)
                bloff, (blids, blvals) = slice_rows(loff, [lids, lvals], lo, hi)
                yield Batch((Value(self.dim, bvals, bids, boff),),
                            Labels(bloff, blids, blvals, lab.unknown_of(order[start + lo:start + hi])))

    def subset(self, rows: Any, batch_size: int | None = None, shuffle: bool | None = None,
               seed: Any = 0) -> SparseDataset:
        """A SparseDataset of some of the samples (e.g. to hold out a validation slice).

        Parameters
        ----------
        rows : array-like of int
            Sample indices, in the order the new data set keeps them.
        batch_size : int or None, default=None
            None: this data set's.
        shuffle : bool or None, default=None
            None: this data set's.
        seed : int or list of int, default=0
            Seeds the new data set's shuffling.

        Returns
        -------
        SparseDataset
            A copy of those samples' features and labels.
        """
        off, ids, vals, labels = self._gather(rows)
        return SparseDataset(off, ids, vals, labels, self.dim,
                             batch_size=self.batch_size if batch_size is None else batch_size,
                             shuffle=self.shuffle if shuffle is None else shuffle, seed=seed)

    def ordered(self) -> Iterator[Batch]:
        """Batches in sample order, whatever ``shuffle`` says (for predictions).

        Returns
        -------
        iterator of Batch
        """
        for lo in range(0, self.n_samples, self.batch_size):
            yield self.batch(np.arange(lo, min(lo + self.batch_size, self.n_samples)))
