"""Samples to predict, read in batches from SVM or JSON lines text (a file or stdin).

SVM lines are ``labels f:v f:v ...`` as in training files; the labels are ignored and may
be left out by starting the line with a blank. JSON lines are ``{"ids": [...], "values":
[...]}`` (``values`` optional: 1.0 each). ``auto`` picks JSON lines when the first
non-blank line starts with ``{``.
"""
import codecs
import contextlib
import io
import json
import math
import os
import shutil
import tempfile

import numpy as np

from ..data import DataFormatError, csr_value
from ..data.csr import check_id_range
from ..data.svm import parse_lines

FORMATS = ("auto", "svm", "jsonl", "csv")


def _is_header(line):
    tokens = line.split()
    return len(tokens) == 3 and all(t.isdigit() for t in tokens)


def read_batches(stream, name, n_features, batch_size, fmt="auto"):
    """Yield (number of samples, Value of their features) for every ``batch_size``
    non-blank lines of ``stream`` (binary lines); errors name ``name`` and the line."""
    block, first_line, count, line_no = [], 1, 0, 0
    for raw in stream:
        line_no += 1
        if fmt == "auto" and raw.strip():
            fmt = "jsonl" if raw.lstrip().startswith(b"{") else "svm"
        if line_no == 1 and fmt == "svm" and _is_header(raw):
            first_line = 2
            continue
        block.append(raw if raw.endswith(b"\n") else raw + b"\n")
        count += bool(raw.strip())
        if count == batch_size:
            yield count, _parse_block(block, name, first_line, n_features, fmt)
            block, first_line, count = [], line_no + 1, 0
    if count:
        yield count, _parse_block(block, name, first_line, n_features, fmt)


def _parse_block(lines, name, first_line, n_features, fmt):
    if fmt == "jsonl":
        return _parse_jsonl(lines, name, first_line, n_features)
    row_line, offsets, ids, vals, _, _ = parse_lines(name, first_line, b"".join(lines))
    check_id_range(name, row_line, offsets, ids, n_features, "feature", "the model")
    return csr_value(n_features, offsets, ids, vals)


def _parse_jsonl(lines, name, first_line, n_features):
    all_ids, all_vals, lengths = [], [], []
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        line = first_line + i
        try:
            sample = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataFormatError(name, line, f"not valid JSON ({e})") from None
        ids, vals = check_sample(sample, n_features, lambda msg: DataFormatError(name, line, msg))
        all_ids.extend(ids)
        all_vals.extend(vals)
        lengths.append(len(ids))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return csr_value(n_features, offsets, np.asarray(all_ids, dtype=np.int32), np.asarray(all_vals, dtype=np.float32))


# float32's largest value and half its last step: a value below this rounds to a finite float32
_FLOAT32_LIMIT = float(np.finfo(np.float32).max) + 2.0 ** 103


def check_sample(sample, n_features, error):
    """(ids, values) of one JSON sample ``{"ids": [...], "values": [...]}``; ``error(msg)``
    makes the exception to raise."""
    if not isinstance(sample, dict) or "ids" not in sample:
        raise error('expected an object {"ids": [...], "values": [...]}')
    unknown = sorted(set(sample) - {"ids", "values"})
    if unknown:
        raise error(f"unknown field {unknown[0]!r}; a sample has 'ids' and optionally 'values'")
    ids, vals = sample["ids"], sample.get("values")
    if not isinstance(ids, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
        raise error("'ids' must be a list of integer feature ids")
    bad = [x for x in ids if x < 0 or x >= n_features]
    if bad:
        raise error(f"feature id {bad[0]} in 'ids' is out of range: the model has {n_features} input features")
    if vals is None:
        return ids, [1.0] * len(ids)
    # beyond float32's range a value became inf, reported as 'Sample k has inf' without its line
    if (not isinstance(vals, list) or len(vals) != len(ids)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                       and abs(v) < _FLOAT32_LIMIT for v in vals)):
        raise error(f"'values' must be a list of finite numbers within float32's range (magnitude below "
                    f"{_FLOAT32_LIMIT:.4g}), one for each of 'ids'")
    return ids, vals


def prediction_lines(ids, scores):
    """One JSON line per sample: ``{"ids": [...], "scores": [...]}`` (padding dropped)."""
    for row_ids, row_scores in zip(ids.tolist(), scores.tolist()):
        n = sum(1 for i in row_ids if i >= 0)
        yield json.dumps({"ids": row_ids[:n], "scores": row_scores[:n]}) + "\n"



@contextlib.contextmanager
def row_source(stream, name, fmt="auto"):
    """The rows of ``stream`` (binary) for a UniversalDeepTransformer, as ("jsonl", text
    lines numbered from 1) or ("csv", a CSV path): a CSV is read by the model's own reader,
    as ``evaluate`` and ``predict_batch`` read it (its header checked against the model's
    columns, other columns ignored, a byte-order mark, the model's delimiter); from stdin
    it is spooled to a temporary file first, whose name ``name`` replaces in errors.
    ``auto``: JSON lines when the first non-blank line starts with ``{``."""
    if fmt not in ("auto", "jsonl", "csv"):
        raise ValueError(f"{name}: a UniversalDeepTransformer reads CSV or JSON lines, not {fmt}")
    seen = []
    for raw in stream:
        seen.append(raw)
        if raw.strip():
            break
    if fmt == "auto":
        fmt = "jsonl" if seen and seen[-1].lstrip().lstrip(codecs.BOM_UTF8).startswith(b"{") else "csv"
    if fmt == "jsonl":
        text = io.TextIOWrapper(_Chained(seen, stream), encoding="utf-8-sig", newline="")
        yield "jsonl", enumerate(text, start=1)
        return
    path = getattr(stream, "name", None)
    if isinstance(path, str) and os.path.isfile(path):
        yield "csv", path
        return
    with tempfile.TemporaryDirectory(prefix="sparsebolt-") as folder:
        spooled = os.path.join(folder, "stdin.csv")
        try:
            with open(spooled, "wb") as f:
                f.writelines(seen[-1:])  # blank lines before the header left out, as this reader did
                shutil.copyfileobj(stream, f)
        except OSError as e:
            raise OSError(f"{name}: a CSV from stdin is copied to a temporary file first, which failed: {e}") from None
        try:
            yield "csv", spooled
        except ValueError as e:
            raise ValueError(str(e).replace(spooled, name)) from None


class _Chained(io.RawIOBase):
    """A binary stream that gives the lines already read, then the rest of ``stream``."""

    def __init__(self, lines, stream):
        self._head, self._stream = b"".join(lines), stream

    def readable(self):
        return True

    def readinto(self, buffer):
        if not self._head:
            # read1: what a pipe holds now, not a full buffer (a co-process sends a row and waits)
            read = getattr(self._stream, "read1", self._stream.read)
            data = read(len(buffer))
        else:
            data, self._head = self._head[:len(buffer)], self._head[len(buffer):]
        buffer[:len(data)] = data
        return len(data)


def json_row_batches(lines, name, batch_size, check):
    """Yield ([line of each row], [row dicts]) for every ``batch_size`` JSON objects among
    the numbered text ``lines`` (blank lines skipped), each through ``check`` (a row's
    ValueError, as the server's; ``automl._rows.RowCheck.check``)."""
    numbers, block = [], []
    for line, row in _json_rows(lines, name):
        try:
            check(row)
        except ValueError as e:
            raise DataFormatError(name, line, str(e)) from None
        numbers.append(line)
        block.append(row)
        if len(block) == batch_size:
            yield numbers, block
            numbers, block = [], []
    if block:
        yield numbers, block


def _json_rows(lines, name):
    line = 0
    try:
        for line, raw in lines:
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as e:
                raise DataFormatError(name, line, f"not JSON: {e}") from None
            if not isinstance(row, dict):
                raise DataFormatError(name, line, f"expected a JSON object of column -> value, "
                                                  f"got {raw.strip()[:60]!r}")
            yield line, row
    except UnicodeDecodeError as e:  # decoded a block ahead: the line itself is not known
        where = f"after line {line}" if line else "in its first lines"
        raise DataFormatError(name, None, f"is not UTF-8 text {where} ({e.reason}: "
                                          f"{e.object[max(0, e.start - 20):e.start + 10]!r}); "
                                          f"expected JSON lines in UTF-8") from None
