"""One worker's share of SVM files, balanced by samples: worker r of N holds samples
[r*S/N, (r+1)*S/N) of the S samples of all the files in order, whatever their lengths in
bytes. Each worker counts the files' rows (a scan for newlines), then reads and parses only
its own byte range, so it holds only its part."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from .batch import Labels, SparseDataset
from .csr import check_id_range, concat_csr
from .svm import parse_lines, read_header

_BLANKS = np.frombuffer(b" \t\r", dtype=np.uint8)


def _row_starts(path, skip_header, chunk_bytes):
    """Yield, block by block, (byte offsets int64[n], line numbers int64[n]) of the rows
    of an SVM file: its lines after the header that hold more than blanks (the parser
    skips the others)."""
    with open(path, "rb") as f:
        line_no = 1
        if skip_header:
            f.readline()
            line_no = 2
        pos = f.tell()
        while True:
            block = f.read(chunk_bytes)
            if not block:
                return
            if not block.endswith(b"\n"):
                block += f.readline()
            buf = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(buf == ord("\n"))
            if ends.size == 0 or ends[-1] != buf.size - 1:
                ends = np.append(ends, buf.size)
            starts = np.concatenate([[0], ends[:-1] + 1])
            keep = ends > starts
            # a line of blanks and CR only is skipped as an empty one (rare: checked one by one)
            starts_blank = keep & np.isin(buf[np.minimum(starts, buf.size - 1)], _BLANKS)
            for i in np.flatnonzero(starts_blank):
                keep[i] = bool(block[starts[i]:ends[i]].strip(b" \t\r"))
            yield pos + starts[keep], line_no + np.flatnonzero(keep)
            line_no += starts.size
            pos += buf.size


def count_rows(path: str, skip_header: bool, chunk_bytes: int = 16 << 20) -> int:
    """The rows of an SVM file: its lines after the header that hold more than blanks."""
    return sum(offsets.size for offsets, _ in _row_starts(path, skip_header, chunk_bytes))


def _locate(path, skip_header, rows, chunk_bytes):
    """(byte offset, line number) of each row index in ``rows``; an index past the last
    row maps to the end of the file."""
    found, seen = {}, 0
    for offsets, lines in _row_starts(path, skip_header, chunk_bytes):
        for r in rows:
            if seen <= r < seen + offsets.size:
                found[r] = (int(offsets[r - seen]), int(lines[r - seen]))
        seen += offsets.size
        if seen > max(rows):
            break
    return [found.get(r, (os.path.getsize(path), None)) for r in rows]


def _blocks(path, start, end, first_line, chunk_bytes):
    """(first line number, bytes of whole lines) through bytes [start, end) of the file,
    both at the start of a line (or ``end`` at the end of the file)."""
    with open(path, "rb") as f:
        f.seek(start)
        pos, line = start, first_line
        while pos < end:
            block = f.read(min(chunk_bytes, end - pos))
            if not block:
                return
            if not block.endswith(b"\n") and pos + len(block) < end:
                block += f.readline()
            pos += len(block)
            yield line, block
            line += block.count(b"\n")


def svm_shard(paths: Sequence[str], rank: int, num_workers: int, n_features: int, n_labels: int,
              chunk_bytes: int = 16 << 20) -> SparseDataset:
    """Worker ``rank`` of ``num_workers``'s samples of the SVM files ``paths``, balanced by
    samples (shard sizes differ by at most one): a SparseDataset of width ``n_features``.
    Ids are checked against the model's sizes, errors name the file and line."""
    headers = [read_header(p) is not None for p in paths]
    counts = [count_rows(p, h, chunk_bytes) for p, h in zip(paths, headers)]
    total = sum(counts)
    if total < num_workers:
        raise ValueError(f"The training files hold {total} samples, fewer than the {num_workers} workers: "
                         f"every worker needs at least one. Use at most {total} workers.")
    lo, hi = total * rank // num_workers, total * (rank + 1) // num_workers
    parts, base = [], 0
    for path, header, n in zip(paths, headers, counts):
        a, b = max(lo - base, 0), min(hi - base, n)
        base += n
        if a >= b:
            continue
        (start, line), (end, _) = _locate(path, header, [a, b], chunk_bytes)
        for first, block in _blocks(path, start, end, line, chunk_bytes):
            row_line, foff, fids, fvals, loff, lids = parse_lines(path, first, block)
            check_id_range(path, row_line, foff, fids, n_features, "feature", "the model")
            check_id_range(path, row_line, loff, lids, n_labels, "label", "the model")
            parts.append((foff, fids, fvals, loff, lids))
    offsets, ids, vals = concat_csr([p[:3] for p in parts])
    return SparseDataset(offsets, ids, vals, Labels(*concat_csr([p[3:] for p in parts])), n_features)
