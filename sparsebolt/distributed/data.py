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
import os

import numpy as np

from ..data.batch import Labels, SparseDataset
from ..data.shards import svm_shard
from ..data.text import read_text_csv


def _paths(paths):
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = [os.fspath(p) for p in paths]
    if not out:
        raise ValueError("The 'train_files' parameter of sb.distributed.train names no files.")
    for p in out:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"No training file at {p!r}.")
    return out


class SvmFiles:
    """SVM training files (the ``load_svm`` format), sharded by samples."""

    def __init__(self, paths):
        self.paths = _paths(paths)

    def load(self, rank, num_workers, n_features, n_labels):
        return svm_shard(self.paths, rank, num_workers, n_features, n_labels)


class TextCsvFiles:
    """Text classification CSVs (plain or .gz) hashed by ``featurizer``; ``label_vocab``
    (label string -> id) None builds one from the files in order of first appearance,
    the same on every worker."""

    def __init__(self, paths, text_column, label_column, featurizer, label_vocab=None):
        self.paths = _paths(paths)
        self.text_column, self.label_column = text_column, label_column
        self.featurizer = featurizer
        self.label_vocab = label_vocab

    def read(self):
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

    def load(self, rank, num_workers, n_features, n_labels):
        if self.featurizer.dim != n_features:
            raise ValueError(f"The featurizer hashes into {self.featurizer.dim} features; the model's input "
                             f"has {n_features}.")
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


def as_spec(train_files):
    """A shard spec from what ``sb.distributed.train`` was given."""
    if isinstance(train_files, (SvmFiles, TextCsvFiles)) or callable(train_files):
        return train_files
    return SvmFiles(train_files)


def load_shard(spec, rank, num_workers, n_features, n_labels):
    if isinstance(spec, (SvmFiles, TextCsvFiles)):
        data = spec.load(rank, num_workers, n_features, n_labels)
    else:
        data = spec(rank, num_workers)
        if not isinstance(data, SparseDataset):
            raise TypeError(f"A 'train_files' callable must return a sb.data.SparseDataset for (rank, num_workers). "
                            f"Got {type(data).__name__}.")
    if data.n_samples == 0:
        raise ValueError(f"Worker {rank} of {num_workers} was given no training samples: use fewer workers "
                         f"or more data.")
    return data


def worker_batch_sizes(batch_size, num_workers):
    """The global ``batch_size`` split across the workers: int per worker, the first
    ``batch_size % num_workers`` one larger."""
    if batch_size < num_workers:
        raise ValueError(f"The 'batch_size' parameter of sb.distributed.train is the global batch, split across "
                         f"the workers: it must be at least num_workers={num_workers}. Got {batch_size}.")
    return [batch_size // num_workers + (r < batch_size % num_workers) for r in range(num_workers)]


def steps_per_epoch(shard_sizes, batch_sizes):
    """Steps that train every sample once: the most batches any worker's shard makes."""
    return max(-(-n // b) for n, b in zip(shard_sizes, batch_sizes))


def batch_samples(shard_size, batch_size, first, count):
    """Samples of a shard's batches ``first .. first + count - 1`` (its last may be short,
    past its end there are none)."""
    return max(0, min(shard_size, (first + count) * batch_size) - first * batch_size)


def epoch_batches(n_samples, batch_size, epoch, rank, seed, shuffle):
    """Row indices of the shard for each of the epoch's batches: int64 arrays of
    ``batch_size`` rows, the last one shorter when ``batch_size`` does not divide the shard."""
    if shuffle:
        order = np.random.default_rng([seed, epoch, rank]).permutation(n_samples)
    else:
        order = np.arange(n_samples)
    return [order[lo:lo + batch_size] for lo in range(0, n_samples, batch_size)]
