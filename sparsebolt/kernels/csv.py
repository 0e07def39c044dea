"""CSV bytes: finding rows and fields, and coding a column's fields by their distinct
values, without a Python string per field (``data.csv``'s compiled reader).

A file is ``buf : uint8[n_bytes]``; a field is the span ``buf[lo:hi]`` (a quoted field's
span lies inside its quotes). The scan accepts the plain RFC 4180 subset and reports
anything else as ``UNUSUAL`` for Python's csv module to read instead: a quote inside an
unquoted field, text after a closing quote, a quote left open, a carriage return that does
not end a line, a NUL byte, a row whose field count is not ``width``.
"""
import numpy as np
from numba import njit

from .featurize import _FNV_OFFSET, _FNV_PRIME

NEWLINE, RETURN = 10, 13
# scan_rows' status
PLAIN, UNUSUAL = 0, 1


@njit(cache=True)
def _line_end(buf, i):
    """Whether a row ends at buf[i] (a newline, or a carriage return before one), and the
    index after the line ending; (False, i) when buf[i] is a lone carriage return."""
    if buf[i] == NEWLINE:
        return True, i + 1
    if i + 1 < buf.shape[0] and buf[i + 1] == NEWLINE:
        return True, i + 2
    return False, i


@njit(cache=True)
def scan_rows(buf, pos, line, delimiter, quote, width):
    """The rows of ``buf[pos:]``, each checked to hold ``width`` fields; blank lines skipped.

    buf : uint8[n_bytes], fewer than 2**31    pos : int, the first row's first byte
    line : int, its line number    delimiter, quote : int, byte values
    returns (starts int32[n_rows]: each row's first byte, lines int32[n_rows]: the line each
    row starts on, longest: the most bytes a field's span holds, status: PLAIN, or UNUSUAL
    at the first row the scan does not accept)
    """
    end = buf.shape[0]
    most = 1
    for i in range(pos, end):
        most += buf[i] == NEWLINE
    starts = np.empty(most, dtype=np.int32)
    lines = np.empty(most, dtype=np.int32)
    n = 0
    longest = 0
    i = pos
    while i < end:
        if buf[i] == NEWLINE or buf[i] == RETURN:  # a blank line
            ends, i = _line_end(buf, i)
            if not ends:
                return starts[:n], lines[:n], longest, UNUSUAL
            line += 1
            continue
        starts[n] = i
        lines[n] = line
        n += 1
        fields = 1
        while True:
            a = i
            if i < end and buf[i] == quote:
                i += 1
                while True:
                    if i >= end:
                        return starts[:n], lines[:n], longest, UNUSUAL
                    c = buf[i]
                    if c == quote:
                        if i + 1 < end and buf[i + 1] == quote:
                            i += 2
                            continue
                        i += 1
                        break
                    if c == 0 or (c == RETURN and not (i + 1 < end and buf[i + 1] == NEWLINE)):
                        return starts[:n], lines[:n], longest, UNUSUAL
                    line += c == NEWLINE
                    i += 1
                if i < end and buf[i] != delimiter and buf[i] != NEWLINE and buf[i] != RETURN:
                    return starts[:n], lines[:n], longest, UNUSUAL
            else:
                while i < end:
                    c = buf[i]
                    if c == delimiter or c == NEWLINE or c == RETURN:
                        break
                    if c == quote or c == 0:
                        return starts[:n], lines[:n], longest, UNUSUAL
                    i += 1
            longest = max(longest, i - a)  # with a quoted field's quotes: never fewer than its characters
            if i < end and buf[i] == delimiter:
                fields += 1
                i += 1
                continue
            if i < end:
                ends, i = _line_end(buf, i)
                if not ends:
                    return starts[:n], lines[:n], longest, UNUSUAL
                line += 1
            break
        if fields != width:
            return starts[:n], lines[:n], longest, UNUSUAL
    return starts[:n], lines[:n], longest, PLAIN


@njit(cache=True)
def field_spans(buf, starts, delimiter, quote, slots, n_slots):
    """The spans of the wanted fields of rows that ``scan_rows`` accepted.

    buf : uint8[n_bytes]    starts : int32[n_rows]    delimiter, quote : int
    slots : int64[width], the place of each field among the wanted ones, -1 if unwanted
    returns (lo, hi int64[n_slots, n_rows]: a field's value is ``buf[lo:hi]``, a doubled quote
    inside quotes still doubled; escaped bool[n_slots, n_rows]: whether the span holds a
    doubled quote). A quoted field's span leaves its quotes out, so two spans hold equal
    bytes exactly when their fields hold equal values.
    """
    n = starts.shape[0]
    end = buf.shape[0]
    lo = np.empty((n_slots, n), dtype=np.int64)
    hi = np.empty((n_slots, n), dtype=np.int64)
    escaped = np.zeros((n_slots, n), dtype=np.bool_)
    for r in range(n):
        i = np.int64(starts[r])
        f = 0
        while True:
            s = slots[f]
            if i < end and buf[i] == quote:
                i += 1
                a = i
                doubled = False
                while buf[i] != quote or (i + 1 < end and buf[i + 1] == quote):
                    if buf[i] == quote:
                        doubled = True
                        i += 1
                    i += 1
                b = i
                i += 1
                if s >= 0:
                    escaped[s, r] = doubled
            else:
                a = i
                while i < end and buf[i] != delimiter and buf[i] != NEWLINE and buf[i] != RETURN:
                    i += 1
                b = i
            if s >= 0:
                lo[s, r] = a
                hi[s, r] = b
            f += 1
            if f == slots.shape[0]:
                break
            i += 1  # the delimiter
    return lo, hi, escaped


@njit(cache=True)
def code_spans(buf, lo, hi):
    """Each span's place among the distinct spans (equal bytes), in order of first appearance.

    buf : uint8[n_bytes]    lo, hi : int64[n]
    returns (codes int64[n], first int64[k]: the first span of each of the k distinct ones)
    """
    n = lo.shape[0]
    size = 16
    while size < 2 * n:
        size *= 2
    mask = size - 1
    table = np.full(size, -1, dtype=np.int64)
    hashes = np.empty(n, dtype=np.uint64)
    codes = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    k = 0
    for r in range(n):
        h = _FNV_OFFSET
        for i in range(lo[r], hi[r]):
            h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
        h ^= h >> np.uint64(32)  # the low bits pick the slot
        slot = np.int64(h & np.uint64(mask))
        while True:
            c = table[slot]
            if c < 0:
                table[slot] = k
                first[k] = r
                hashes[k] = h
                codes[r] = k
                k += 1
                break
            q = first[c]
            if hashes[c] == h and hi[q] - lo[q] == hi[r] - lo[r]:
                same = True
                for j in range(hi[r] - lo[r]):
                    if buf[lo[q] + j] != buf[lo[r] + j]:
                        same = False
                        break
                if same:
                    codes[r] = c
                    break
            slot = (slot + 1) & mask
    return codes, first[:k].copy()
