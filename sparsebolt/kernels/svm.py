"""Parser for the multi-label SVM text format ``l1,l2 f:v f:v ...`` (one sample a line)."""
import numpy as np
from numba import njit

OK, BAD_LABEL, BAD_FEATURE, MISSING_COLON, BAD_VALUE = 0, 1, 2, 3, 4

_SPACE, _TAB, _NL, _CR, _COMMA, _COLON = 32, 9, 10, 13, 44, 58
_MINUS, _PLUS, _DOT, _E, _e = 45, 43, 46, 69, 101
_TOO_LARGE = 10 ** 18


@njit(cache=True)
def _is_digit(c):
    return 48 <= c <= 57


@njit(cache=True)
def _parse_int(buf, pos, end):
    """Non-negative integer at pos; returns (value, new pos), new pos == pos on failure.
    Every digit is read, leading zeros too; a value of 10**18 or more comes back as
    ``_TOO_LARGE``, which no caller's range takes (cut at a digit count, an id of many
    digits had read as its first digits followed by a stray one)."""
    value = 0
    while pos < end and _is_digit(buf[pos]):
        # below 10**17 one more digit stays within int64
        value = value * 10 + (buf[pos] - 48) if value < _TOO_LARGE // 10 else _TOO_LARGE
        pos += 1
    return value, pos


@njit(cache=True)
def _parse_float(buf, pos, end):
    """Decimal float with optional sign, fraction and exponent; (value, new pos)."""
    start = pos
    sign = 1.0
    if pos < end and (buf[pos] == _MINUS or buf[pos] == _PLUS):
        if buf[pos] == _MINUS:
            sign = -1.0
        pos += 1
    mant = 0.0
    digits = 0
    while pos < end and _is_digit(buf[pos]):
        mant = mant * 10.0 + (buf[pos] - 48)
        pos += 1
        digits += 1
    if pos < end and buf[pos] == _DOT:
        pos += 1
        scale = 0.1
        while pos < end and _is_digit(buf[pos]):
            mant += (buf[pos] - 48) * scale
            scale *= 0.1
            pos += 1
            digits += 1
    if digits == 0:
        return 0.0, start
    if pos < end and (buf[pos] == _E or buf[pos] == _e):
        p = pos + 1
        esign = 1
        if p < end and (buf[p] == _MINUS or buf[p] == _PLUS):
            if buf[p] == _MINUS:
                esign = -1
            p += 1
        ev, q = _parse_int(buf, p, end)
        if q == p:
            return 0.0, start
        mant *= 10.0 ** (esign * ev)
        pos = q
    return sign * mant, pos


@njit(cache=True)
def parse_svm(buf, max_labels, max_features):
    """Parse whole lines of ``buf : uint8[n]``; empty and blank-only lines are skipped.

    max_labels, max_features : upper bounds on label and feature tokens (for allocation)
    returns (status, bad_line, n_rows, row_line int64[n_rows] (line index of each row),
             feat_offsets int64[n_rows + 1], feat_ids int32[nnz], feat_vals float32[nnz],
             lab_offsets int64[n_rows + 1], lab_ids int32[nnz_lab]); on error ``status`` is
             one of BAD_LABEL, BAD_FEATURE, MISSING_COLON, BAD_VALUE and ``bad_line`` the
             0-based line within ``buf``
    """
    n = buf.shape[0]
    n_lines_max = 1
    for i in range(n):
        if buf[i] == _NL:
            n_lines_max += 1
    row_line = np.empty(n_lines_max, dtype=np.int64)
    feat_offsets = np.zeros(n_lines_max + 1, dtype=np.int64)
    lab_offsets = np.zeros(n_lines_max + 1, dtype=np.int64)
    feat_ids = np.empty(max_features, dtype=np.int32)
    feat_vals = np.empty(max_features, dtype=np.float32)
    lab_ids = np.empty(max_labels, dtype=np.int32)
    n_rows = 0
    nf = 0
    nl = 0
    line = 0
    pos = 0
    while pos < n:
        end = pos
        while end < n and buf[end] != _NL:
            end += 1
        stop = end
        # trailing blanks and CR never carry data, so a blank-only line is an empty line
        while stop > pos and (buf[stop - 1] == _CR or buf[stop - 1] == _SPACE or buf[stop - 1] == _TAB):
            stop -= 1
        if stop > pos:
            p = pos
            # labels: comma-separated ids up to the first blank (none if the line starts blank)
            if buf[p] != _SPACE and buf[p] != _TAB:
                while True:
                    v, q = _parse_int(buf, p, stop)
                    if q == p or v > 2147483647:
                        return BAD_LABEL, line, 0, row_line, feat_offsets, feat_ids, feat_vals, lab_offsets, lab_ids
                    lab_ids[nl] = v
                    nl += 1
                    p = q
                    if p < stop and buf[p] == _COMMA:
                        p += 1
                        continue
                    if p < stop and buf[p] != _SPACE and buf[p] != _TAB:
                        return BAD_LABEL, line, 0, row_line, feat_offsets, feat_ids, feat_vals, lab_offsets, lab_ids
                    break
            while True:
                while p < stop and (buf[p] == _SPACE or buf[p] == _TAB):
                    p += 1
                if p >= stop:
                    break
                v, q = _parse_int(buf, p, stop)
                if q == p or v > 2147483647:
                    return BAD_FEATURE, line, 0, row_line, feat_offsets, feat_ids, feat_vals, lab_offsets, lab_ids
                if q >= stop or buf[q] != _COLON:
                    return MISSING_COLON, line, 0, row_line, feat_offsets, feat_ids, feat_vals, lab_offsets, lab_ids
                x, r = _parse_float(buf, q + 1, stop)
                if r == q + 1 or (r < stop and buf[r] != _SPACE and buf[r] != _TAB):
                    return BAD_VALUE, line, 0, row_line, feat_offsets, feat_ids, feat_vals, lab_offsets, lab_ids
                feat_ids[nf] = v
                feat_vals[nf] = x
                nf += 1
                p = r
            row_line[n_rows] = line
            n_rows += 1
            feat_offsets[n_rows] = nf
            lab_offsets[n_rows] = nl
        line += 1
        pos = end + 1
    return (OK, -1, n_rows, row_line[:n_rows], feat_offsets[:n_rows + 1], feat_ids[:nf], feat_vals[:nf],
            lab_offsets[:n_rows + 1], lab_ids[:nl])
