"""Each worker's shard of the training data, and the batches it trains on each epoch.

A shard spec is picklable and cheap: the worker itself reads its part of the files.
- ``SvmFiles``: SVM files split by samples (``sparsebolt.data.shards``): worker r of N
  holds samples [r*S/N, (r+1)*S/N) of the files' S samples, reading only their bytes.
- ``TextCsvFiles``: two-column text CSVs through a ``HashedTextFeaturizer``; every worker
  reads the files (the label vocabulary must agree) and keeps rows r, r+N, ...
- any callable ``(rank, num_workers) -> SparseDataset`` for other data.

The epoch plan trains every sample of every shard exactly once an epoch. ``batch_size`` is
the global batch, split across the workers (``worker_batch_sizes``); a step takes each
worker's next batch, and a worker whose shard is used up sits the step out (it contributes
no gradient) until the longest shard is done. Batches are shuffled by (seed, epoch, rank),
so a resumed run sees the same batches as an uninterrupted one.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .._validation import _fail
from ..data.batch import Labels, SparseDataset
from ..data.shards import svm_shard
from ..data.text import check_label_vocab, read_text_csv

if TYPE_CHECKING:
    from ..data.text import HashedTextFeaturizer


def _paths(paths, owner, name="paths"):
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = [os.fspath(p) for p in paths]
    if not out:
        _fail(owner, name, "a file path or a non-empty list of them", paths)
    for p in out:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"No training file at {p!r}.")
    return out


class SvmFiles:
    """SVM training files (the ``load_svm`` format), sharded by samples: worker r of N
    holds samples [r*S/N, (r+1)*S/N) of the files' S samples, reading only their bytes.

    Parameters
    ----------
    paths : str, path-like or sequence of them
        The files, in order.

    Raises
    ------
    ValueError
        For no paths.
    FileNotFoundError
        For a path that is not a file.
    """

    def __init__(self, paths: str | os.PathLike | Sequence[str | os.PathLike]) -> None:
        self.paths = _paths(paths, "SvmFiles")

    def load(self, rank: int, num_workers: int, n_features: int, n_labels: int) -> SparseDataset:
        """One worker's shard (called on the worker).

        Parameters
        ----------
        rank : int
            The worker, 0-based.
        num_workers : int
            Workers in all.
        n_features : int
            The model's input width.
        n_labels : int
            The model's output width.

        Returns
        -------
        SparseDataset
        """
        return svm_shard(self.paths, rank, num_workers, n_features, n_labels)


class TextCsvFiles:
    """Text classification CSVs (plain or .gz) hashed by ``featurizer``; every worker
    reads the files and keeps rows r, r+N, ...

    Parameters
    ----------
    paths : str, path-like or sequence of them
        The files, in order.
    text_column : str
        The column of the texts.
    label_column : str
        The column of the labels.
    featurizer : HashedTextFeaturizer
        Hashes the texts; its ``dim`` must be the model's input width.
    label_vocab : dict of str to int or None, default=None
        Label string -> output id; None builds one from the files in order of first
        appearance, the same on every worker.

    Raises
    ------
    ValueError
        For no paths, or a ``label_vocab`` that does not map label strings to ids.
    FileNotFoundError
        For a path that is not a file.
    """

    def __init__(self, paths: str | os.PathLike | Sequence[str | os.PathLike], text_column: str, label_column: str,
                 featurizer: HashedTextFeaturizer, label_vocab: dict[str, int] | None = None) -> None:
        self.paths = _paths(paths, "TextCsvFiles")
        self.text_column, self.label_column = text_column, label_column
        self.featurizer = featurizer
        check_label_vocab("TextCsvFiles", label_vocab)
        self.label_vocab = label_vocab

    def read(self) -> tuple[list[str], list[str], dict[str, int]]:
        """Every file's rows.

        Returns
        -------
        texts : list of str
        labels : list of str
        vocab : dict of str to int
            ``label_vocab``, or the one built from the labels.
        """
        texts, labels = [], []
        for path in self.paths:
            t, lab = read_text_csv(path, self.text_column, self.label_column)
            texts += t
            labels += lab
        vocab = self.label_vocab
        if vocab is None:
            vocab = {}
            for lab in labels:
                vocab.setdefault(lab, len(vocab))
        return texts, labels, vocab

    def load(self, rank: int, num_workers: int, n_features: int, n_labels: int) -> SparseDataset:
        """One worker's shard, rows ``rank``, ``rank + num_workers``, ... (called on the
        worker).

        Parameters
        ----------
        rank : int
            The worker, 0-based.
        num_workers : int
            Workers in all.
        n_features : int
            The model's input width, which the featurizer's ``dim`` must equal.
        n_labels : int
            The model's output width, which the vocabulary's ids must stay below.

        Returns
        -------
        SparseDataset

        Raises
        ------
        ValueError
            When the widths do not fit, or a label is not in ``label_vocab``.
        """
        if self.featurizer.dim != n_features:
            raise ValueError(f"The 'featurizer' parameter of TextCsvFiles must hash into the model's {n_features} "
                             f"input features. Got a featurizer of dim {self.featurizer.dim} instead.")
        texts, labels, vocab = self.read()
        texts, labels = texts[rank::num_workers], labels[rank::num_workers]
        missing = [lab for lab in labels if lab not in vocab]
        if missing:
            raise ValueError(f"Label {missing[0]!r} is not in the label vocabulary.")
        ids = np.fromiter((vocab[lab] for lab in labels), dtype=np.int32, count=len(labels))
        if ids.size and ids.max() >= n_labels:
            raise ValueError(f"The label vocabulary has {int(ids.max()) + 1} labels; the model's output has {n_labels}.")
        offsets, fids, fvals = self.featurizer.transform(texts)
        return SparseDataset(offsets, fids, fvals, Labels(np.arange(len(ids) + 1, dtype=np.int64), ids),
                             n_features)


def as_spec(train_files: Any) -> Any:
    """A shard spec from what ``sb.distributed.train`` was given."""
    if isinstance(train_files, (SvmFiles, TextCsvFiles)) or callable(train_files):
        return train_files
    return SvmFiles(_paths(train_files, "sb.distributed.train", "train_files"))


def load_shard(spec: Any, rank: int, num_workers: int, n_features: int, n_labels: int) -> SparseDataset:
    if isinstance(spec, (SvmFiles, TextCsvFiles)):
        data = spec.load(rank, num_workers, n_features, n_labels)
    else:
        data = spec(rank, num_workers)
        if not isinstance(data, SparseDataset):
            raise TypeError(f"The 'train_files' parameter of sb.distributed.train, a callable, must return a "
                            f"sb.data.SparseDataset for (rank, num_workers). Got {type(data).__name__} for ({rank}, "
                            f"{num_workers}) instead.")
    if data.n_samples == 0:
        raise ValueError(f"Worker {rank} of {num_workers} was given no training samples: use fewer workers "
                         f"or more data.")
    return data


def worker_batch_sizes(batch_size: int, num_workers: int) -> list[int]:
    """The global ``batch_size`` split across the workers: int per worker, the first
    ``batch_size % num_workers`` one larger."""
    if batch_size < num_workers:
        raise ValueError(f"The 'batch_size' parameter of sb.distributed.train must be at least num_workers="
                         f"{num_workers} (it is the global batch, split across the workers). Got {batch_size} "
                         f"instead.")
    return [batch_size // num_workers + (r < batch_size % num_workers) for r in range(num_workers)]


def steps_per_epoch(shard_sizes: Sequence[int], batch_sizes: Sequence[int]) -> int:
    """Steps that train every sample once: the most batches any worker's shard makes."""
    return max(-(-n // b) for n, b in zip(shard_sizes, batch_sizes))


def batch_samples(shard_size: int, batch_size: int, first: int, count: int) -> int:
    """Samples of a shard's batches ``first .. first + count - 1`` (its last may be short,
    past its end there are none)."""
    return max(0, min(shard_size, (first + count) * batch_size) - first * batch_size)


def epoch_batches(n_samples: int, batch_size: int, epoch: int, rank: int, seed: int,
                  shuffle: bool) -> list[np.ndarray]:
    """Row indices of the shard for each of the epoch's batches: int64 arrays of
    ``batch_size`` rows, the last one shorter when ``batch_size`` does not divide the shard."""
    if shuffle:
        order = np.random.default_rng([seed, epoch, rank]).permutation(n_samples)
    else:
        order = np.arange(n_samples)
    return [order[lo:lo + batch_size] for lo in range(0, n_samples, batch_size)]
