"""A simple hashed text featurizer (words, word bigrams, character trigrams) and a loader
for two-column text classification CSVs."""
import csv
import gzip
import os
import re
import zlib

import numpy as np

from .._validation import check_int
from .batch import Labels, SparseDataset
from .errors import DataFormatError

_WORD = re.compile(r"\w+")


class HashedTextFeaturizer:
    """Hash each text's lower-cased words, word bigrams and character trigrams (of
    ``" word "``) into ``dim`` feature ids; each occurrence weighs 1/sqrt(n_features) so a
    text's vector has unit norm up to collisions."""

    def __init__(self, dim=1 << 18, bigrams=True, char_ngram=3):
        self.dim = check_int("HashedTextFeaturizer", "dim", dim, 1)
        self.bigrams = bool(bigrams)
        self.char_ngram = check_int("HashedTextFeaturizer", "char_ngram", char_ngram, 0)

    def tokens(self, text):
        words = _WORD.findall(text.lower())
        out = [b"w" + w.encode() for w in words]
        if self.bigrams:
            out += [b"b" + a.encode() + b" " + b.encode() for a, b in zip(words, words[1:])]
        n = self.char_ngram
        if n:
            for w in words:
                padded = f" {w} ".encode()
                out += [b"c" + padded[i:i + n] for i in range(max(1, len(padded) - n + 1))]
        return out

    def transform(self, texts):
        """CSR rows of the texts: (int64[N + 1], int32[nnz], float32[nnz])."""
        ids, lengths = [], []
        for text in texts:
            toks = self.tokens(text)
            ids.extend(zlib.crc32(t) % self.dim for t in toks)
            lengths.append(len(toks))
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        lengths = np.asarray(lengths, dtype=np.float32)
        weights = np.repeat(1.0 / np.sqrt(np.maximum(lengths, 1.0)), lengths.astype(np.int64))
        return offsets, np.asarray(ids, dtype=np.int32), weights.astype(np.float32)


def _open_text(path):
    return gzip.open(path, "rt", encoding="utf-8", newline="") if str(path).endswith(".gz") \
        else open(path, encoding="utf-8", newline="")


def read_text_csv(path, text_column, label_column):
    """(texts, label strings) from a CSV with a header row."""
    path = os.fspath(path)
    texts, labels = [], []
    with _open_text(path) as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise DataFormatError(path, None, "the file is empty; expected a header row")
        for col in (text_column, label_column):
            if col not in header:
                raise DataFormatError(path, 1, f"no column {col!r}; the header has {header}")
        ti, li = header.index(text_column), header.index(label_column)
        for row in reader:
            if len(row) != len(header):
                raise DataFormatError(path, reader.line_num,
                                      f"expected {len(header)} fields as in the header, found {len(row)}")
            texts.append(row[ti])
            labels.append(row[li])
    if not texts:
        raise DataFormatError(path, None, "the file has a header but no rows")
    return texts, labels


def load_text_csv(path, text_column, label_column, featurizer, label_vocab=None, batch_size=256,
                  shuffle=False, seed=0):
    """A SparseDataset from a text classification CSV (plain or .gz).

    label_vocab : dict label string -> id; None builds one from this file (in order of first
    appearance). A label missing from a given vocabulary is an error naming its line.
    Returns (dataset, label_vocab).
    """
    texts, labels = read_text_csv(path, text_column, label_column)
    if label_vocab is None:
        label_vocab = {}
        for lab in labels:
            label_vocab.setdefault(lab, len(label_vocab))
    try:
        label_ids = np.fromiter((label_vocab[lab] for lab in labels), dtype=np.int32, count=len(labels))
    except KeyError as e:
        line = labels.index(e.args[0]) + 2
        raise DataFormatError(path, line, f"label {e.args[0]!r} is not in the label vocabulary") from None
    offsets, ids, vals = featurizer.transform(texts)
    labs = Labels(np.arange(len(labels) + 1, dtype=np.int64), label_ids)
    data = SparseDataset(offsets, ids, vals, labs, featurizer.dim, batch_size=batch_size,
                         shuffle=shuffle, seed=seed)
    return data, label_vocab
