"""Each worker's shard of the training data, and the batches it trains on each epoch.

A shard spec is picklable and cheap: the worker itself reads its part of the files.
- ``SvmFiles``: SVM files split by byte ranges (worker r of N reads bytes
  [r*S/N, (r+1)*S/N) of each file, whole lines whose first byte lies there), so a worker
  reads and holds only its part.
- ``TextCsvFiles``: two-column text CSVs through a ``HashedTextFeaturizer``; every worker
  reads the files (the label vocabulary must agree) and keeps rows r, r+N, ...
- any callable ``(rank, num_workers) -> SparseDataset`` for other data.

``epoch_batches`` makes the per-epoch plan: the same number of batches on every worker
(the shortest shard's full batches; the rest of a longer shard is left out that epoch, in
shuffled order a different part each epoch), shuffled by (seed, epoch, rank) so a resumed
run sees the same batches as an uninterrupted one.
"""
import os

import numpy as np

from ..data.batch import Labels, SparseDataset
from ..data.errors import DataFormatError
from ..data.svm import _parse, _read_header
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


def _range_blocks(path, start, end, skip_header, chunk_bytes=16 << 20):
    """Blocks of whole lines whose first byte lies in [start, end) of the file."""
    with open(path, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            if f.read(1) != b"\n":
                f.readline()
        elif skip_header:
            f.readline()
        pos = f.tell()
        while pos < end:
            block = f.read(min(chunk_bytes, end - pos))
            if not block:
                return
            pos += len(block)
            if not block.endswith(b"\n"):
                block += f.readline()
                pos = f.tell()
            yield block


class SvmFiles:
    """SVM training files (the ``load_svm`` format), sharded by byte ranges."""

    def __init__(self, paths):
        self.paths = _paths(paths)

    def load(self, rank, num_workers, n_features, n_labels):
        parts = []
        for path in self.paths:
            size = os.path.getsize(path)
            start, end = size * rank // num_workers, size * (rank + 1) // num_workers
            header = _read_header(path) is not None
            for block in _range_blocks(path, start, end, header):
                # line numbers in errors count from the start of this worker's range
                _, foff, fids, fvals, loff, lids = _parse(path, 1, block)
                for ids, limit, what in ((fids, n_features, "feature"), (lids, n_labels, "label")):
                    if ids.size and ids.max() >= limit:
                        raise DataFormatError(path, None, f"{what} id {int(ids.max())} is out of range: "
                                                          f"the model has {limit} {what}s")
                parts.append((foff, fids, fvals, loff, lids))
        return _dataset(parts, n_features)


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


def _dataset(parts, dim):
    foffs, fids, fvals, loffs, lids = [], [], [], [], []
    f_base = l_base = 0
    for foff, fi, fv, loff, li in parts:
        foffs.append(foff[:-1] + f_base)
        loffs.append(loff[:-1] + l_base)
        f_base += int(foff[-1])
        l_base += int(loff[-1])
        fids.append(fi)
        fvals.append(fv)
        lids.append(li)
    foffs.append(np.array([f_base], dtype=np.int64))
    loffs.append(np.array([l_base], dtype=np.int64))
    cat = np.concatenate
    return SparseDataset(cat(foffs), cat(fids) if fids else np.zeros(0, np.int32),
                         cat(fvals) if fvals else np.zeros(0, np.float32),
                         Labels(cat(loffs), cat(lids) if lids else np.zeros(0, np.int32)), dim)


def as_spec(train_files):
    """A shard spec from what ``sb.distributed.train`` was given."""
    if isinstance(train_files, (SvmFiles, TextCsvFiles)) or callable(train_files):
        return train_files
    return SvmFiles(train_files)


def load_shard(spec, rank, num_workers, n_features, n_labels):
    if isinstance(spec, (SvmFiles, TextCsvFiles)):
        return spec.load(rank, num_workers, n_features, n_labels)
    data = spec(rank, num_workers)
    if not isinstance(data, SparseDataset):
        raise TypeError(f"A 'train_files' callable must return a sb.data.SparseDataset for (rank, num_workers). "
                        f"Got {type(data).__name__}.")
    return data


def batches_per_epoch(shard_sizes, batch_size):
    """Batches each worker trains per epoch: the shortest shard's full batches."""
    n = min(shard_sizes) // batch_size
    if n == 0:
        raise ValueError(f"The smallest worker shard has {min(shard_sizes)} samples, fewer than one batch of "
                         f"{batch_size}: use fewer workers or a smaller batch_size.")
    return n


def epoch_batches(n_samples, n_batches, batch_size, epoch, rank, seed, shuffle):
    """Row indices of the shard for each of the epoch's batches: int64[n_batches, batch_size]."""
    if shuffle:
        order = np.random.default_rng([seed, epoch, rank]).permutation(n_samples)
    else:
        order = np.arange(n_samples)
    return order[:n_batches * batch_size].reshape(n_batches, batch_size)
