"""A simple hashed text featurizer (words, word bigrams, character n-grams) and a loader
for two-column text classification CSVs."""
import os
import re
import zlib

import numpy as np

from .._validation import check_int
from .batch import Labels, SparseDataset
from .csv import read_chunks
from .errors import DataFormatError

# rows read at a time: the reader's lists of one chunk are short-lived
CHUNK_ROWS = 1 << 16

_WORD = re.compile(r"\w+")


def distinct_per_row(offsets, ids, dim):
    """Each CSR row's distinct ids in [0, dim), by one sort (np.unique's hashing is an order
    of magnitude slower here): (row int64[m], id int64[m], count int64[m]), by row then id."""
    rows = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
    keys = np.sort(rows * dim + ids)
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[first, len(keys)])
    keys = keys[first]
    return keys // dim, keys % dim, counts


class HashedTextFeaturizer:
    """Hash each text's lower-cased words, word bigrams and character n-grams (of
    ``" word "``, so the n-grams mark where words start and end) into ``dim`` feature ids.

    ``char_ngram`` is one length n or a range ``(lo, hi)`` of lengths; 0 leaves them out.
    By default each occurrence weighs 1/sqrt(n_features), so a text's vector has unit norm
    up to collisions. With ``idf`` the featurizer must first be ``fit`` on the training
    texts: each feature then weighs its count times its inverse document frequency
    ``ln((1 + n_texts) / (1 + df)) + 1``, and each text's vector is scaled to unit L2 norm,
    so rare words and n-grams outweigh the ones every text has.
    """

    def __init__(self, dim=1 << 18, bigrams=True, char_ngram=3, words=True, idf=False):
        self.dim = check_int("HashedTextFeaturizer", "dim", dim, 1)
        self.bigrams = bool(bigrams)
        self.words = bool(words)
        if isinstance(char_ngram, (tuple, list)) and len(char_ngram) == 2:
            lo = check_int("HashedTextFeaturizer", "char_ngram", char_ngram[0], 1)
            hi = check_int("HashedTextFeaturizer", "char_ngram", char_ngram[1], lo)
        else:
            lo = hi = check_int("HashedTextFeaturizer", "char_ngram", char_ngram, 0)
        self.char_ngram = char_ngram if lo != hi else lo
        self._char_lengths = range(lo, hi + 1) if lo else range(0)
        self.idf = bool(idf)
        self.idf_weights = None

    def _word_grams(self, word):
        padded = f" {word} ".encode()
        out = []
        for n in self._char_lengths:
            out += [b"c" + padded[i:i + n] for i in range(max(1, len(padded) - n + 1))]
        return out

    def _word_tokens(self, word):
        return ([b"w" + word.encode()] if self.words else []) + self._word_grams(word)

    def tokens(self, text):
        words = _WORD.findall(text.lower())
        out = [b"w" + w.encode() for w in words] if self.words else []
        if self.bigrams:
            out += [b"b" + a.encode() + b" " + b.encode() for a, b in zip(words, words[1:])]
        for w in words:
            out += self._word_grams(w)
        return out

    def _hashed(self, texts):
        """(ids of all texts concatenated, int64 offsets); each distinct word is hashed once."""
        per_word = {}
        ids, lengths = [], []
        for text in texts:
            words = _WORD.findall(text.lower())
            row = [zlib.crc32(b"b" + a.encode() + b" " + b.encode()) % self.dim
                   for a, b in zip(words, words[1:])] if self.bigrams else []
            for w in words:
                h = per_word.get(w)
                if h is None:
                    h = per_word[w] = [zlib.crc32(t) % self.dim for t in self._word_tokens(w)]
                row += h
            ids.extend(row)
            lengths.append(len(row))
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return np.asarray(ids, dtype=np.int32), offsets

    def fit(self, texts):
        """Learn the inverse document frequencies of the features of ``texts`` (needed with
        ``idf``; without it this does nothing). Returns self."""
        if self.idf:
            self._fit_hashed(*self._hashed(texts))
        return self

    def _fit_hashed(self, ids, offsets):
        _, distinct_ids, _ = distinct_per_row(offsets, ids, self.dim)
        df = np.bincount(distinct_ids, minlength=self.dim)
        n = len(offsets) - 1
        self.idf_weights = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)

    def fit_transform(self, texts):
        """``fit(texts)`` then ``transform(texts)``, hashing the texts once."""
        ids, offsets = self._hashed(texts)
        if self.idf:
            self._fit_hashed(ids, offsets)
        return self._weighted(ids, offsets)

    def transform(self, texts):
        """CSR rows of the texts: (int64[N + 1], int32[nnz], float32[nnz])."""
        if self.idf and self.idf_weights is None:
            raise ValueError("This HashedTextFeaturizer has idf=True and must be fit on the training "
                             "texts before transform.")
        return self._weighted(*self._hashed(texts))

    def _weighted(self, ids, offsets):
        lengths = np.diff(offsets)
        rows = np.repeat(np.arange(len(lengths)), lengths)
        if not self.idf:
            weights = (1.0 / np.sqrt(np.maximum(lengths, 1.0)))[rows]
            return offsets, ids, weights.astype(np.float32)
        # a repeated feature keeps its repeats (the embedding sums them into its count), so
        # the row's norm is taken over its distinct features with their counts
        distinct_rows, distinct_ids, counts = distinct_per_row(offsets, ids, self.dim)
        tfidf = counts * self.idf_weights[distinct_ids].astype(np.float64)
        norms = np.sqrt(np.bincount(distinct_rows, weights=tfidf ** 2, minlength=len(lengths)))
        weights = self.idf_weights[ids] / np.maximum(norms, 1e-12)[rows]
        return offsets, ids, weights.astype(np.float32)


def _text_rows(path, text_column, label_column):
    """(texts, label strings, the line each row starts on) of a text classification CSV."""
    texts, labels, lines = [], [], []
    for chunk in read_chunks(os.fspath(path), [text_column, label_column], CHUNK_ROWS):
        texts += ["" if v is None else v for v in chunk.columns[text_column]]
        labels += ["" if v is None else v for v in chunk.columns[label_column]]
        lines += chunk.lines
    return texts, labels, lines


def read_text_csv(path, text_column, label_column):
    """(texts, label strings) from a CSV (plain or .gz) with a header row, read by
    ``data.csv.read_chunks``: quoted fields, blank lines skipped, errors naming the file
    and line; an empty field is ''."""
    return _text_rows(path, text_column, label_column)[:2]


def load_text_csv(path, text_column, label_column, featurizer, label_vocab=None, batch_size=256,
                  shuffle=False, seed=0, fit_featurizer=False):
    """A SparseDataset from a text classification CSV (plain or .gz).

    label_vocab : dict label string -> id; None builds one from this file (in order of first
    appearance). A label missing from a given vocabulary is an error naming its line.
    ``fit_featurizer`` first fits the featurizer on this file's texts (the training file,
    for a featurizer with ``idf``). Returns (dataset, label_vocab).
    """
    texts, labels, lines = _text_rows(path, text_column, label_column)
    if label_vocab is None:
        label_vocab = {}
        for lab in labels:
            label_vocab.setdefault(lab, len(label_vocab))
    try:
        label_ids = np.fromiter((label_vocab[lab] for lab in labels), dtype=np.int32, count=len(labels))
    except KeyError as e:
        line = lines[labels.index(e.args[0])]
        raise DataFormatError(path, line, f"label {e.args[0]!r} is not in the label vocabulary") from None
    offsets, ids, vals = (featurizer.fit_transform if fit_featurizer else featurizer.transform)(texts)
    labs = Labels(np.arange(len(labels) + 1, dtype=np.int64), label_ids)
    data = SparseDataset(offsets, ids, vals, labs, featurizer.dim, batch_size=batch_size,
                         shuffle=shuffle, seed=seed)
    return data, label_vocab
