"""Text in: strings -> salted token hashes and their weights, the one text featurizer of
the package (the UDT's text columns and ``HashedTextFeaturizer`` both hash through
``token_hashes`` and weigh through ``weigh``, over ``kernels/featurize.py``), and a loader
for two-column text classification CSVs."""
from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from typing import Any, Sequence

import numpy as np

from .._validation import check_flag, check_int
from ..kernels import featurize as fk
from .batch import Labels, SparseDataset
from .csv import read_chunks
from .errors import DataFormatError

# rows a chunk of read_chunks holds while read_text_csv gathers a whole file
CHUNK_ROWS = 1 << 16
_TOKENIZER_MODES = {"words": fk.WORDS, "words_punct": fk.WORDS_PUNCT}
_ENCODINGS = {"unigrams": fk.UNIGRAMS, "bigrams": fk.BIGRAMS, "pairgrams": fk.PAIRGRAMS}


def encode(strings):
    """UTF-32 code points of strings laid end to end: (uint32[n_chars], int64[N + 1])."""
    offsets = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in strings], out=offsets[1:])
    # a lone surrogate (JSON's "\ud800", a file decoded with surrogateescape) is a code point
    # like any other, not an encoding error
    text = np.frombuffer("".join(strings).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return text, offsets


def string_hashes(strings):
    """The hash of each whole string: int64[N] >= 0."""
    text, offsets = encode(strings)
    return fk.token_hashes(text, offsets, fk.WHOLE, 0)[1]


def salt(seed, *names):
    """The salt of a role (names such as 'text', a column, a tokenizer) under a seed: int."""
    return int(string_hashes([f"{seed}\x1f" + "\x1f".join(names)])[0])


def token_hashes(strings, tokenizers, encoding, salts):
    """Each string's tokens, hashed: (offsets int64[N + 1], hashes int64[nnz] >= 0).

    tokenizers : names of ``sb.types.text``'s tokenizers ('words', 'words_punct', 'char-k',
        'char_wb-k'); a row holds the tokens of each in turn
    encoding : 'unigrams', 'bigrams' or 'pairgrams', of every tokenizer's tokens but the
        'char_wb-k' windows, which stay unigrams
    salts : one int per tokenizer (``salt``), so that tokenizers never share a hash
    """
    text, offsets = encode(strings)
    rows, hashes = [], []
    for tok, tok_salt in zip(tokenizers, salts):
        if tok.startswith("char"):
            name, k = tok.split("-")
            mode, k = (fk.CHARS if name == "char" else fk.CHARS_WB), int(k)
        else:
            mode, k = _TOKENIZER_MODES[tok], 0
        tok_offsets, tok_hashes = fk.token_hashes(text, offsets, mode, k)
        grams = fk.UNIGRAMS if mode == fk.CHARS_WB else _ENCODINGS[encoding]
        gram_offsets, gram_hashes = fk.ngram_hashes(tok_offsets, tok_hashes, grams, tok_salt)
        rows.append(np.repeat(np.arange(len(strings)), np.diff(gram_offsets)))
        hashes.append(gram_hashes)
    rows = np.concatenate(rows).astype(np.int64)
    out_offsets, out_hashes, _ = fk.group_by_row(len(strings), rows, np.concatenate(hashes),
                                                 np.ones(rows.shape[0], dtype=np.float32))
    return out_offsets, out_hashes


def word_pair_counts(strings, seed=0):
    """How often each distinct adjacent word pair occurs in the strings as written, and once
    each string's words are shuffled (seeded): (int64[m], int64[m']), the counts in no
    particular order (both sum to the number of pairs). In text whose word order means
    something phrases recur, so the first holds fewer, more frequent pairs than the second;
    in words of no order (tags, keyword lists) the two agree.

    strings : list of str        seed : int
    """
    text, offsets = encode(strings)
    tok_offsets, hashes = fk.token_hashes(text, offsets, fk.WORDS, 0)
    rows = np.repeat(np.arange(len(strings)), np.diff(tok_offsets))
    within = rows[1:] == rows[:-1]

    def counts(h):
        return np.unique((h[:-1] * 1_000_003 + h[1:])[within], return_counts=True)[1]  # int64 wraps: a hash

    shuffled = hashes[np.lexsort((np.random.default_rng(seed).random(hashes.size), rows))]
    return counts(hashes), counts(shuffled)


def document_frequencies(offsets, hashes, dim):
    """(rows, ids int64[m] sorted, counts int64[m]): in how many of the CSR rows each
    feature id ``hash % dim`` occurs."""
    ids, counts = fk.document_counts(offsets, hashes, dim)
    return offsets.shape[0] - 1, ids, counts


# the document frequencies of no rows: every id's idf is 1
NO_FREQUENCIES = (0, np.zeros(0, np.int64), np.zeros(0, np.int64))


def merged_frequencies(parts):
    """The ``document_frequencies`` of the rows of every one of ``parts`` together."""
    ids, where = np.unique(np.concatenate([p[1] for p in parts]), return_inverse=True)
    counts = np.bincount(where, weights=np.concatenate([p[2] for p in parts]), minlength=ids.shape[0])
    return sum(p[0] for p in parts), ids, np.rint(counts).astype(np.int64)


def inverse_frequencies(frequencies):
    """(ids int64[m] sorted, idf float32[m], the idf of any other id) of the
    ``document_frequencies`` of the training rows: the smoothed inverse document frequency
    ``ln((1 + rows) / (1 + df)) + 1``. Worked out once a fit, not once a ``weigh``: over
    every id training saw, it was a third of a one-row prediction's time."""
    n, ids, df = frequencies
    return ids, (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32), float(np.log(1.0 + n) + 1.0)


def cached_inverse(cache, frequencies):
    """(frequencies, ``inverse_frequencies(frequencies)``): ``cache`` (the last call's
    return, or None) when it holds these frequencies, else worked out anew."""
    if cache is None or cache[0] is not frequencies:
        cache = (frequencies, inverse_frequencies(frequencies))
    return cache


def weigh(offsets, hashes, dim, idf=None):
    """Values of the token hashes of ``token_hashes``: (offsets int64[N + 1], hashes
    int64[nnz'], vals float32[nnz']).

    Without ``idf`` each of a row's n tokens weighs 1/sqrt(n) (repeats stay repeated). With
    the ``inverse_frequencies`` of the training rows, each distinct hash of a row weighs
    (1 + log count) * idf of its id, and the row is scaled to unit L2 norm. Either way a row
    has unit norm up to hash collisions.
    """
    if idf is None:
        counts = np.diff(offsets)
        return offsets, hashes, np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts).astype(np.float32)
    ids, values, unseen = idf
    return fk.tfidf_rows(offsets, hashes, dim, ids, values, unseen)


class HashedTextFeaturizer:
    """Hash each text's lower-cased words, word bigrams and character n-grams (of
    ``" word "``, so the n-grams mark where words start and end) into ``dim`` feature ids.

    By default each of a text's n features weighs 1/sqrt(n), so a text's vector has unit
    norm up to collisions. With ``idf`` the featurizer must first be ``fit`` on the
    training texts: each distinct feature of a text then weighs (1 + log count) times its
    inverse document frequency ``ln((1 + n_texts) / (1 + df)) + 1``, and each text's vector
    is scaled to unit L2 norm, so rare words and n-grams outweigh the ones every text has.

    The features are those of a UDT text column named 'text' at seed 0 with tokenizers
    'words' and 'char_wb-n' for each length, encoding 'bigrams' (or 'unigrams') and
    weighting 'tfidf' (or 'sqrt'): one implementation, ``token_hashes`` and ``weigh``.

    Parameters
    ----------
    dim : int, default=2**18
        The width of the feature space (ids are hashes modulo ``dim``).
    bigrams : bool, default=True
        Also each pair of adjacent words (with ``words=False`` there are neither).
    char_ngram : int or (int, int), default=3
        One n-gram length n, or a range ``(lo, hi)`` of lengths; 0 leaves them out.
    words : bool, default=True
        Hash each word.
    idf : bool, default=False
        Weigh by inverse document frequency (needs ``fit``).
    balance : bool, default=False
        Weigh the words (and bigrams) and the character n-grams each to unit norm, and give
        the two groups equal parts of the row: a word makes a dozen n-grams, which otherwise
        outweigh it (a one-word query's own word then loses to a synset sharing its
        n-grams: 'sadness' -> 'madness'). No UDT text setting weighs so.

    Raises
    ------
    ValueError
        For a bad parameter, or ``words=False`` with ``char_ngram=0``.
    """

    def __init__(self, dim: int = 1 << 18, bigrams: bool = True, char_ngram: int | tuple[int, int] = 3,
                 words: bool = True, idf: bool = False, balance: bool = False) -> None:
        self.dim = check_int("HashedTextFeaturizer", "dim", dim, 1)
        self.bigrams = check_flag("HashedTextFeaturizer", "bigrams", bigrams)
        self.words = check_flag("HashedTextFeaturizer", "words", words)
        if isinstance(char_ngram, (tuple, list)) and len(char_ngram) == 2:
            lo = check_int("HashedTextFeaturizer", "char_ngram", char_ngram[0], 1)
            hi = check_int("HashedTextFeaturizer", "char_ngram", char_ngram[1], lo)
        else:
            lo = hi = check_int("HashedTextFeaturizer", "char_ngram", char_ngram, 0)
        self.char_ngram = char_ngram if lo != hi else lo
        if not self.words and not lo:
            raise ValueError(f"The 'char_ngram' parameter of HashedTextFeaturizer must be at least 1 with "
                             f"words=False (else a text has no features). Got {char_ngram!r} instead.")
        self.tokenizers = (["words"] if self.words else []) + [f"char_wb-{n}" for n in range(lo, hi + 1) if lo]
        self.balance = check_flag("HashedTextFeaturizer", "balance", balance)
        # the tokenizers weighed together: all, or (balance) the words apart from the n-grams
        self._groups = [self.tokenizers]
        if self.balance and self.words and lo:
            self._groups = [self.tokenizers[:1], self.tokenizers[1:]]
        self.idf = check_flag("HashedTextFeaturizer", "idf", idf)
        # (texts fitted, ids int64[m] sorted, in how many texts each occurs) of each group of
        # tokenizers (its own, as each is weighed on its own), as ``fit`` finds them
        self.document_frequencies = None
        self._idf = None

    def _hashed(self, texts):
        """(offsets, hashes) of each group of tokenizers."""
        if isinstance(texts, (str, bytes)):  # iterated, it had made a text of each character
            raise ValueError(f"The 'texts' parameter of HashedTextFeaturizer must be a sequence of strings, one a "
                             f"sample. Got one {type(texts).__name__} instead (wrap it in a list).")
        texts = list(texts)
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise ValueError(f"The 'texts' parameter of HashedTextFeaturizer must hold strings. Got "
                             f"{type(texts[bad]).__name__} {texts[bad]!r:.40} at position {bad} instead.")
        lowered = [t.lower() for t in texts]
        encoding = "bigrams" if self.bigrams else "unigrams"
        return [token_hashes(lowered, group, encoding, [salt(0, "text", "text", tok) for tok in group])
                for group in self._groups]

    def fit(self, texts: Sequence[str]) -> HashedTextFeaturizer:
        """Learn the document frequencies of the features of ``texts`` (needed with ``idf``;
        without it this does nothing).

        Parameters
        ----------
        texts : sequence of str
            The training texts; only their document frequencies are kept.

        Returns
        -------
        HashedTextFeaturizer
            self.

        Raises
        ------
        ValueError
            For one string instead of a sequence, or an item that is not a string.
        """
        if self.idf:
            self.document_frequencies = [document_frequencies(*g, self.dim) for g in self._hashed(texts)]
        return self

    def fit_transform(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``fit(texts)`` then ``transform(texts)``, hashing the texts once.

        Parameters
        ----------
        texts : sequence of str
            The training texts.

        Returns
        -------
        tuple of ndarray
            CSR rows of the texts: offsets int64[N + 1], ids int32[nnz], values float32[nnz].

        Raises
        ------
        ValueError
            As ``fit``.
        """
        groups = self._hashed(texts)
        if self.idf:
            self.document_frequencies = [document_frequencies(*g, self.dim) for g in groups]
        return self._weighted(groups)

    def transform(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The texts' hashed features.

        Parameters
        ----------
        texts : sequence of str
            The texts.

        Returns
        -------
        tuple of ndarray
            CSR rows of the texts: offsets int64[N + 1], ids int32[nnz], values float32[nnz].

        Raises
        ------
        ValueError
            With ``idf``, before ``fit``; as ``fit`` for what is not a sequence of strings.
        """
        if self.idf and self.document_frequencies is None:
            raise ValueError("This HashedTextFeaturizer has idf=True and must be fit on the training "
                             "texts before transform.")
        return self._weighted(self._hashed(texts))

    def _weighted(self, groups):
        idfs = [None] * len(groups)
        if self.idf:
            self._idf = [cached_inverse(cache, f) for cache, f in
                         zip(self._idf or [None] * len(groups), self.document_frequencies)]
            idfs = [cache[1] for cache in self._idf]
        offsets, hashes, vals = _joined_rows([weigh(*g, self.dim, idf) for g, idf in zip(groups, idfs)])
        if len(groups) > 1:  # each group has unit norm; so has the row (a group it lacks leaves all to the other)
            n = offsets.shape[0] - 1
            rows = np.repeat(np.arange(n), np.diff(offsets))
            norms = np.sqrt(np.bincount(rows, weights=np.square(vals, dtype=np.float64), minlength=n))
            vals = (vals / np.maximum(norms, 1e-12)[rows]).astype(np.float32)
        return offsets, (hashes % self.dim).astype(np.int32), vals


def _joined_rows(parts):
    """Row i of each CSR part in turn, as one CSR: parts are (offsets int64[N + 1], *arrays[nnz])
    alike in N; one part is itself."""
    if len(parts) == 1:
        return parts[0]
    n = parts[0][0].shape[0] - 1
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sum(np.diff(p[0]) for p in parts), out=offsets[1:])
    order = np.argsort(np.concatenate([np.repeat(np.arange(n), np.diff(p[0])) for p in parts]), kind="stable")
    return (offsets, *(np.concatenate(columns)[order] for columns in zip(*(p[1:] for p in parts))))


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


_INT32_MAX = int(np.iinfo(np.int32).max)


def check_label_vocab(owner: str, vocab: Any) -> None:
    """A label vocabulary given: None, or a dict of label string -> output id (an int >= 0;
    a float id had been cut to an integer, 0.7 to label 0)."""
    if vocab is None:
        return
    bad = None if isinstance(vocab, Mapping) else vocab
    if bad is None:
        bad = next(({k: v} for k, v in vocab.items() if not isinstance(k, str) or isinstance(v, bool)
                    or not isinstance(v, numbers.Integral) or not 0 <= v <= _INT32_MAX), None)
    if bad is not None:
        raise ValueError(f"The 'label_vocab' parameter of {owner} must be a dict of label strings to output ids "
                         f"(ints in [0, {_INT32_MAX}]). Got {bad!r:.80} instead.")


def load_text_csv(path: str | os.PathLike, text_column: str, label_column: str,
                  featurizer: HashedTextFeaturizer, label_vocab: dict[str, int] | None = None,
                  batch_size: int = 256, shuffle: bool = False, seed: Any = 0,
                  fit_featurizer: bool = False) -> tuple[SparseDataset, dict[str, int]]:
    """A SparseDataset from a text classification CSV (plain or .gz; read by
    ``data.csv.read_chunks``).

    Parameters
    ----------
    path : str or path-like
        The CSV file, with a header row.
    text_column, label_column : str
        The columns of the text and of its label.
    featurizer : HashedTextFeaturizer
        Hashes the texts.
    label_vocab : dict of str to int or None, default=None
        Label string -> id; None builds one from this file (in order of first appearance).
    batch_size : int, default=256
        Samples a batch.
    shuffle : bool, default=False
        Shuffle the samples every epoch.
    seed : int, default=0
        Seeds the shuffling.
    fit_featurizer : bool, default=False
        First fit the featurizer on this file's texts (the training file, for a featurizer
        with ``idf``).

    Returns
    -------
    (SparseDataset, dict of str to int)
        The data set and the label vocabulary.

    Raises
    ------
    DataFormatError
        For a malformed row or a label missing from a given vocabulary, naming the line.
    ValueError
        For a ``label_vocab`` that does not map label strings to ids (``check_label_vocab``).
    """
    check_label_vocab("load_text_csv", label_vocab)
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
