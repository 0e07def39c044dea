"""One worker's share of SVM files, balanced by samples: worker r of N holds samples
[r*S/N, (r+1)*S/N) of the S samples of all the files in order, whatever their lengths in
bytes. Each worker counts the files' rows (a scan for newlines), then reads and parses only
its own byte range, so it holds only its part."""
import os

import numpy as np

from .batch import Labels, SparseDataset
from .errors import DataFormatError
from .svm import _parse, _read_header


def _row_starts(path, skip_header, chunk_bytes):
    """Yield, block by block, (byte offsets int64[n], line numbers int64[n]) of the rows
    of an SVM file: its non-empty lines after the header (the parser skips empty ones)."""
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
            lengths = ends - starts
            first = buf[np.minimum(starts, buf.size - 1)]
            keep = (lengths > 1) | ((lengths == 1) & (first != ord("\r")))
            yield pos + starts[keep], line_no + np.flatnonzero(keep)
            line_no += starts.size
            pos += buf.size


def count_rows(path, skip_header, chunk_bytes=16 << 20):
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


def check_id_range(path, row_line, offsets, ids, limit, what, holder):
    """Raise a DataFormatError naming the file and line of the first id in ``ids`` (CSR
    by ``offsets``, rows at lines ``row_line``) that is not below ``limit``."""
    if ids.size and ids.max() >= limit:
        k = int(np.argmax(ids >= limit))
        row = int(np.searchsorted(offsets, k, side="right")) - 1
        raise DataFormatError(path, int(row_line[row]),
                              f"{what} id {int(ids[k])} is out of range: {holder} has {limit} {what}s")


def concat_csr(parts, dim):
    """One SparseDataset from parsed chunks (feature offsets, ids, values, label offsets,
    label ids), in order."""
    foffs, loffs = [np.zeros(1, np.int64)], [np.zeros(1, np.int64)]
    fids, fvals, lids = [np.zeros(0, np.int32)], [np.zeros(0, np.float32)], [np.zeros(0, np.int32)]
    f_base = l_base = 0
    for foff, fi, fv, loff, li in parts:
        foffs.append(foff[1:] + f_base)
        loffs.append(loff[1:] + l_base)
        f_base += int(foff[-1])
        l_base += int(loff[-1])
        fids.append(fi)
        fvals.append(fv)
        lids.append(li)
    cat = np.concatenate
    return SparseDataset(cat(foffs), cat(fids), cat(fvals), Labels(cat(loffs), cat(lids)), dim)


def svm_shard(paths, rank, num_workers, n_features, n_labels, chunk_bytes=16 << 20):
    """Worker ``rank`` of ``num_workers``'s samples of the SVM files ``paths``, balanced by
    samples (shard sizes differ by at most one): a SparseDataset of width ``n_features``.
    Ids are checked against the model's sizes, errors name the file and line."""
    headers = [_read_header(p) is not None for p in paths]
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
            row_line, foff, fids, fvals, loff, lids = _parse(path, first, block)
            check_id_range(path, row_line, foff, fids, n_features, "feature", "the model")
            check_id_range(path, row_line, loff, lids, n_labels, "label", "the model")
            parts.append((foff, fids, fvals, loff, lids))
    return concat_csr(parts, n_features)
