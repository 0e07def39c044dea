"""Hashing of typed column values into one sparse feature space (the AutoML featurizer).

Text arrives as UTF-32 code points of a chunk of strings laid end to end
(``text : uint32[n_chars]``, ``offsets : int64[N + 1]``). Every token becomes a 63-bit
non-negative hash (``int64``); a column's hashes are salted with the column's seed, may be
combined into n-grams or pairgrams, and only at the end are gathered per row
(``group_by_row``) and reduced to feature ids ``hash % dim``.
"""
import numpy as np
from numba import njit

from .random import mix

# tokenizer modes
WORDS, WORDS_PUNCT, CHARS, WHOLE, CHARS_WB = 0, 1, 2, 3, 4
# encodings of a token sequence
UNIGRAMS, BIGRAMS, PAIRGRAMS = 0, 1, 2

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
# the third argument of ``mix``: one domain per way a hash is made, so that they never agree
_TOKEN, _SALT, _BIGRAM, _PAIR, _INT = 1, 2, 3, 4, 5


@njit(cache=True)
def _is_space(c):
    return c == 32 or 9 <= c <= 13 or c == 0x85 or c == 0xA0 or c == 0x1680 or 0x2000 <= c <= 0x200A \
        or c == 0x2028 or c == 0x2029 or c == 0x202F or c == 0x205F or c == 0x3000


@njit(cache=True)
def _is_word(c):
    """Letters, digits and '_' in ASCII; above ASCII every code point from U+00C0 on except
    the punctuation and symbol blocks (U+00D7, U+00F7, U+2000-U+2BFF, U+3000-U+303F,
    U+FE30-U+FE4F, U+FF00-U+FF0F)."""
    if c < 128:
        return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95
    if c < 0xC0 or c == 0xD7 or c == 0xF7:
        return False
    if 0x2000 <= c <= 0x2BFF or 0x3000 <= c <= 0x303F or 0xFE30 <= c <= 0xFE4F or 0xFF00 <= c <= 0xFF0F:
        return False
    return True


@njit(cache=True)
def _fnv(text, lo, hi):
    """Hash of the code points text[lo:hi] (FNV-1a, then mixed): int64 >= 0."""
    h = _FNV_OFFSET
    for i in range(lo, hi):
        h = (h ^ np.uint64(text[i])) * _FNV_PRIME
    return mix(h, 0, _TOKEN)


@njit(cache=True)
def _fnv_padded(text, lo, hi, a, b):
    """Hash of positions [a, b) of the word text[lo:hi] with a space on either side (the
    padded word has hi - lo + 2 code points): int64 >= 0."""
    h = _FNV_OFFSET
    last = hi - lo + 1
    for p in range(a, b):
        c = np.uint64(32) if p == 0 or p == last else np.uint64(text[lo + p - 1])
        h = (h ^ c) * _FNV_PRIME
    return mix(h, 0, _TOKEN)


@njit(cache=True)
def _row_tokens(text, lo, hi, mode, k, out, pos):
    """Write the token hashes of text[lo:hi] into out[pos:], or only count them when
    ``out`` is empty. Returns the number of tokens."""
    n = 0
    write = out.shape[0] > 0
    if mode == WHOLE:
        if write:
            out[pos] = _fnv(text, lo, hi)
        return 1
    if mode == CHARS:
        if hi <= lo:
            return 0
        if hi - lo <= k:
            if write:
                out[pos] = _fnv(text, lo, hi)
            return 1
        for i in range(lo, hi - k + 1):
            if write:
                out[pos + n] = _fnv(text, i, i + k)
            n += 1
        return n
    i = lo
    while i < hi:
        c = text[i]
        if _is_word(c):
            j = i + 1
            while j < hi and _is_word(text[j]):
                j += 1
            if mode == CHARS_WB:
                padded = j - i + 2
                if padded <= k:
                    if write:
                        out[pos + n] = _fnv_padded(text, i, j, 0, padded)
                    n += 1
                else:
                    for a in range(padded - k + 1):
                        if write:
                            out[pos + n] = _fnv_padded(text, i, j, a, a + k)
                        n += 1
            else:
                if write:
                    out[pos + n] = _fnv(text, i, j)
                n += 1
            i = j
        else:
            if mode == WORDS_PUNCT and not _is_space(c):
                if write:
                    out[pos + n] = _fnv(text, i, i + 1)
                n += 1
            i += 1
    return n


@njit(cache=True)
def token_hashes(text, offsets, mode, k):
    """Token hashes of each string.

    text : uint32[n_chars] code points   offsets : int64[N + 1]
    mode : WORDS (runs of word characters), WORDS_PUNCT (the same, and each punctuation
    character as a token), CHARS (every window of ``k`` code points; a shorter non-empty
    string is one token), WHOLE (the whole string, even empty, as one token), CHARS_WB
    (every window of ``k`` code points of each word with a space on either side; a shorter
    padded word is one token)
    Returns (tok_offsets : int64[N + 1], hashes : int64[n_tokens]).
    """
    n = offsets.shape[0] - 1
    tok_offsets = np.zeros(n + 1, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    for r in range(n):
        tok_offsets[r + 1] = tok_offsets[r] + _row_tokens(text, offsets[r], offsets[r + 1], mode, k, empty, 0)
    hashes = np.empty(tok_offsets[n], dtype=np.int64)
    for r in range(n):
        _row_tokens(text, offsets[r], offsets[r + 1], mode, k, hashes, tok_offsets[r])
    return tok_offsets, hashes


@njit(cache=True)
def _n_grams(m, encoding):
    if encoding == BIGRAMS:
        return m + max(m - 1, 0)
    if encoding == PAIRGRAMS:
        return m * (m + 1) // 2
    return m


@njit(cache=True)
def ngram_hashes(offsets, hashes, encoding, salt):
    """Salted unigrams, unigrams and adjacent bigrams, or pairgrams (every unordered pair
    i <= j of a row's tokens, i == j being the unigram) of each row's token hashes.

    offsets : int64[N + 1]   hashes : int64[n_tokens]   salt : int (the column's seed)
    Returns (out_offsets : int64[N + 1], out : int64[n_out]).
    """
    n = offsets.shape[0] - 1
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    for r in range(n):
        out_offsets[r + 1] = out_offsets[r] + _n_grams(offsets[r + 1] - offsets[r], encoding)
    out = np.empty(out_offsets[n], dtype=np.int64)
    for r in range(n):
        lo, hi = offsets[r], offsets[r + 1]
        p = out_offsets[r]
        for i in range(lo, hi):
            out[p] = mix(hashes[i], salt, _SALT)
            p += 1
        if encoding == BIGRAMS:
            for i in range(lo, hi - 1):
                out[p] = mix(mix(hashes[i], hashes[i + 1], _BIGRAM), salt, _SALT)
                p += 1
        elif encoding == PAIRGRAMS:
            for i in range(lo, hi):
                for j in range(i + 1, hi):
                    a, b = hashes[i], hashes[j]
                    if a > b:
                        a, b = b, a
                    out[p] = mix(mix(a, b, _PAIR), salt, _SALT)
                    p += 1
    return out_offsets, out


@njit(cache=True)
def int_hashes(values, salt):
    """Salted hashes of integers (bins, date parts): int64[n] >= 0.

    values : int64[n]
    """
    out = np.empty(values.shape[0], dtype=np.int64)
    for i in range(values.shape[0]):
        out[i] = mix(mix(values[i], 0, _INT), salt, _SALT)
    return out


@njit(cache=True)
def resalt(hashes, salt):
    """Hashes moved to another salt (a neighbor's features seen from a node): int64[n]."""
    out = np.empty(hashes.shape[0], dtype=np.int64)
    for i in range(hashes.shape[0]):
        out[i] = mix(hashes[i], salt, _SALT)
    return out


@njit(cache=True)
def group_by_row(n_rows, rows, hashes, vals):
    """Gather (row, hash, value) entries into CSR rows, keeping the entries' order within a
    row (a repeated hash stays repeated: the layers sum over a row's entries).

    rows : int64[nnz] in [0, n_rows)   hashes : int64[nnz]   vals : float32[nnz]
    Returns (offsets : int64[n_rows + 1], hashes : int64[nnz], vals : float32[nnz]).
    """
    nnz = rows.shape[0]
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    for i in range(nnz):
        offsets[rows[i] + 1] += 1
    for r in range(n_rows):
        offsets[r + 1] += offsets[r]
    fill = offsets[:-1].copy()
    out_hashes = np.empty(nnz, dtype=np.int64)
    out_vals = np.empty(nnz, dtype=np.float32)
    for i in range(nnz):
        p = fill[rows[i]]
        out_hashes[p] = hashes[i]
        out_vals[p] = vals[i]
        fill[rows[i]] += 1
    return offsets, out_hashes, out_vals


@njit(cache=True)
def document_counts(offsets, hashes, dim):
    """In how many rows each feature id ``hash % dim`` occurs, for the ids that occur:
    counted in an array of every id when the ids are no more than the rows' distinct
    entries, else by sorting those entries (a wide space, such as 2^30 ids, is never
    allocated).

    offsets : int64[N + 1]   hashes : int64[nnz]
    Returns (ids : int64[m] sorted, counts : int64[m] > 0).
    """
    distinct = np.empty(hashes.shape[0], dtype=np.int64)
    m = 0
    for r in range(offsets.shape[0] - 1):
        row = np.sort(hashes[offsets[r]:offsets[r + 1]] % dim)
        for i in range(row.shape[0]):
            if i == 0 or row[i] != row[i - 1]:
                distinct[m] = row[i]
                m += 1
    if dim <= m:
        dense = np.zeros(dim, dtype=np.int64)
        for i in range(m):
            dense[distinct[i]] += 1
        ids = np.flatnonzero(dense).astype(np.int64)
        return ids, dense[ids]
    ids = np.sort(distinct[:m])
    n_ids = 0
    for i in range(m):
        if i == 0 or ids[i] != ids[i - 1]:
            n_ids += 1
    out_ids = np.empty(n_ids, dtype=np.int64)
    counts = np.zeros(n_ids, dtype=np.int64)
    k = -1
    for i in range(m):
        if i == 0 or ids[i] != ids[i - 1]:
            k += 1
            out_ids[k] = ids[i]
        counts[k] += 1
    return out_ids, counts


@njit(cache=True)
def tfidf_rows(offsets, hashes, dim, idf_ids, idf, unseen_idf):
    """Each row's distinct hashes weighted (1 + log count) * the idf of their id
    ``hash % dim``, the row scaled to unit L2 norm (sublinear TF-IDF).

    offsets : int64[N + 1]   hashes : int64[nnz]
    idf_ids : int64[m] sorted ids with a fitted idf   idf : float32[m] their idf
    unseen_idf : float, the idf of any other id
    Returns (out_offsets : int64[N + 1], out_hashes : int64[n_out], vals : float32[n_out]).
    """
    n = offsets.shape[0] - 1
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    out_hashes = np.empty(hashes.shape[0], dtype=np.int64)
    vals = np.empty(hashes.shape[0], dtype=np.float32)
    p = 0
    for r in range(n):
        row = np.sort(hashes[offsets[r]:offsets[r + 1]])
        start = p
        total = 0.0
        i = 0
        while i < row.shape[0]:
            j = i + 1
            while j < row.shape[0] and row[j] == row[i]:
                j += 1
            k = np.searchsorted(idf_ids, row[i] % dim)
            w = 1.0 + np.log(j - i)
            w *= idf[k] if k < idf_ids.shape[0] and idf_ids[k] == row[i] % dim else unseen_idf
            out_hashes[p] = row[i]
            vals[p] = w
            total += w * w
            p += 1
            i = j
        if total > 0.0:
            scale = 1.0 / np.sqrt(total)
            for q in range(start, p):
                vals[q] *= scale
        out_offsets[r + 1] = p
    return out_offsets, out_hashes[:p].copy(), vals[:p].copy()
