"""Streaming reader for the Extreme Classification Repository's multi-label SVM format."""
from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np

from .._files import written_beside
from .._validation import check_flag, check_int
from ..kernels import svm as svm_kernels
from .batch import Batch, Labels, Reshuffled, SparseDataset, _take_rows, check_seed, csr_value
from .csr import check_id_range, concat_csr, entry_row
from .errors import DataFormatError

_MESSAGES = {
    svm_kernels.BAD_LABEL: "expected comma-separated non-negative integer labels (at most 2,147,483,647) at the start "
                           "of the line",
    svm_kernels.BAD_FEATURE: "expected a feature as 'id:value' with a non-negative integer id (at most "
                             "2,147,483,647)",
    svm_kernels.MISSING_COLON: "expected ':' between a feature id and its value",
    svm_kernels.BAD_VALUE: "expected a number after 'id:'",
}


def read_header(path: str) -> tuple[int, int, int] | None:
    """(n_rows, n_features, n_labels) if the first line is the ``n_rows n_features n_labels``
    header, else None."""
    with open(path, "rb") as f:
        first = f.readline().split()
    if len(first) == 3 and all(tok.isdigit() for tok in first):
        return tuple(int(tok) for tok in first)
    return None


def _chunks(path, chunk_bytes, skip_first_line):
    """Yield (first line number, bytes of whole lines) through the file."""
    line_no = 1
    with open(path, "rb") as f:
        if skip_first_line:
            f.readline()
            line_no = 2
        rest = b""
        while True:
            block = f.read(chunk_bytes)
            if not block:
                if rest:
                    yield line_no, rest
                return
            block = rest + block
            cut = block.rfind(b"\n")
            if cut < 0:
                rest = block
                continue
            yield line_no, block[:cut + 1]
            line_no += block.count(b"\n", 0, cut + 1)
            rest = block[cut + 1:]


def parse_lines(path: str, first_line: int, data: bytes) -> tuple[np.ndarray, ...]:
    """Parse ``data``, bytes of whole SVM lines starting at line ``first_line`` of ``path``:
    (line of each row int64[n], feature offsets, ids, values, label offsets, label ids); a
    malformed line or a value beyond float32 raises a DataFormatError naming its line."""
    buf = np.frombuffer(data, dtype=np.uint8)
    n_tokens = int(np.count_nonzero(buf == ord(":")))
    n_labels = int(np.count_nonzero(buf == ord(","))) + int(np.count_nonzero(buf == ord("\n"))) + 1
    status, bad, n_rows, row_line, foff, fids, fvals, loff, lids = svm_kernels.parse_svm(buf, n_labels, n_tokens)
    if status != svm_kernels.OK:
        text = bytes(data).split(b"\n")[bad][:80].decode("utf-8", "replace")
        raise DataFormatError(path, first_line + bad, f"{_MESSAGES[status]}. The line starts: {text!r}")
    finite = np.isfinite(fvals)
    if not finite.all():
        # a literal too large for float32 (7:1e39) parses as inf and would train to NaN
        k = int(np.argmin(finite))
        row = entry_row(foff, k)
        line = int(row_line[row])
        text = bytes(data).split(b"\n")[line][:80].decode("utf-8", "replace")
        raise DataFormatError(path, first_line + line, f"feature {int(fids[k])} has a value beyond float32's range "
                              f"(about 3.4e38). The line starts: {text!r}")
    return row_line + first_line, foff, fids, fvals, loff, lids


class SvmDataset(Reshuffled):
    """A multi-label SVM file served in batches, read in chunks each epoch so that a file
    larger than memory still trains. With a header the sizes come from it; without one a
    first pass reads them (and checks the whole file). ``load_svm`` makes one.

    Iterating gives the Batches of an epoch; ``len`` is the number of batches,
    ``n_samples`` the number of samples.

    Parameters
    ----------
    path : str or path-like
        The SVM file.
    batch_size : int, default=256
        Samples a batch.
    n_features : int or None, default=None
        The feature space width; None: the header's, else the largest id + 1.
    n_labels : int or None, default=None
        The number of labels; None: the header's, else the largest id + 1.
    shuffle : bool, default=False
        Shuffle the samples within each chunk read, every epoch.
    seed : int or list of int, default=0
        Seeds the shuffling (as ``SparseDataset``'s).
    chunk_bytes : int, default=16 MiB
        Bytes of text read and parsed at a time (at least 1024).

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    DataFormatError
        For a malformed line (named), or a file without samples.
    ValueError
        For a bad ``batch_size``, ``shuffle``, ``seed`` or ``chunk_bytes``.
    """

    def __init__(self, path: str | os.PathLike, batch_size: int = 256, n_features: int | None = None,
                 n_labels: int | None = None, shuffle: bool = False, seed: Any = 0,
                 chunk_bytes: int = 16 << 20) -> None:
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"No SVM data file at {self.path!r}.")
        self.batch_size = check_int("load_svm", "batch_size", batch_size, 1)
        self.chunk_bytes = check_int("load_svm", "chunk_bytes", chunk_bytes, 1024)
        self.shuffle = check_flag("load_svm", "shuffle", shuffle)
        self._rng = np.random.default_rng(check_seed("load_svm", seed))
        header = read_header(self.path)
        self._has_header = header is not None
        # the line of the largest feature id, which sizes the input when no header does
        self.widest_line = None
        if header is not None:
            rows, feats, labs = header
        else:
            rows, feats, labs = self._scan()
        self.n_samples = rows
        if self.n_samples == 0:
            raise DataFormatError(self.path, None, "the file holds no samples")
        self.n_features = check_int("load_svm", "n_features", n_features if n_features is not None else feats, 1)
        self.n_labels = check_int("load_svm", "n_labels", n_labels if n_labels is not None else labs, 1)

    def _scan(self):
        rows, max_f, max_l = 0, -1, -1
        for first, data in _chunks(self.path, self.chunk_bytes, False):
            row_line, foff, fids, _, loff, lids = parse_lines(self.path, first, data)
            rows += foff.shape[0] - 1
            if fids.size and int(fids.max()) > max_f:
                max_f = int(fids.max())
                k = int(np.argmax(fids))
                self.widest_line = int(row_line[entry_row(foff, k)])
            if lids.size:
                max_l = max(max_l, int(lids.max()))
        return rows, max_f + 1, max_l + 1

    def __len__(self):
        return -(-self.n_samples // self.batch_size)

    def _rows(self):
        """Yield parsed chunks, checking ids against the data set's sizes (and, with a
        header, the number of rows against its count)."""
        seen = 0
        for first, data in _chunks(self.path, self.chunk_bytes, self._has_header):
            row_line, foff, fids, fvals, loff, lids = parse_lines(self.path, first, data)
            seen += foff.shape[0] - 1
            if self._has_header and seen > self.n_samples:
                raise DataFormatError(self.path, 1, f"the header counts {self.n_samples} samples, but the file "
                                      f"has more (line {int(row_line[-1])} is sample {seen})")
            check_id_range(self.path, row_line, foff, fids, self.n_features, "feature", "the data set")
            check_id_range(self.path, row_line, loff, lids, self.n_labels, "label", "the data set")
            yield foff, fids, fvals, loff, lids
        if self._has_header and seen != self.n_samples:
            raise DataFormatError(self.path, 1, f"the header counts {self.n_samples} samples, but the file has {seen}")

    def __iter__(self):
        return self._batches(self.shuffle)

    def ordered(self) -> Iterator[Batch]:
        """Batches in file order, whatever ``shuffle`` says (for predictions).

        Returns
        -------
        iterator of Batch
        """
        return self._batches(False)

    def _batches(self, shuffle):
        carry = None
        for chunk in self._rows():
            if shuffle:
                chunk = _take(chunk, self._rng.permutation(chunk[0].shape[0] - 1))
            if carry is not None:
                chunk = _concat(carry, chunk)
            n = chunk[0].shape[0] - 1
            full = n - n % self.batch_size
            for lo in range(0, full, self.batch_size):
                yield self._batch(_slice(chunk, lo, lo + self.batch_size))
            carry = _slice(chunk, full, n) if full < n else None
        if carry is not None:
            yield self._batch(carry)

    def _batch(self, chunk):
        foff, fids, fvals, loff, lids = chunk
        return Batch((csr_value(self.n_features, foff, fids, fvals),), Labels(loff, lids))


# a chunk is (feature offsets, ids, values, label offsets, label ids)

def _slice(chunk, lo, hi):
    foff, fids, fvals, loff, lids = chunk
    f0, f1, l0, l1 = foff[lo], foff[hi], loff[lo], loff[hi]
    return foff[lo:hi + 1] - f0, fids[f0:f1], fvals[f0:f1], loff[lo:hi + 1] - l0, lids[l0:l1]


def _take(chunk, rows):
    foff, fids, fvals, loff, lids = chunk
    new_foff, (ids, vals) = _take_rows(foff, [fids, fvals], rows)
    new_loff, (labs,) = _take_rows(loff, [lids], rows)
    return new_foff, ids, vals, new_loff, labs


def _concat(a, b):
    return concat_csr([a[:3], b[:3]]) + concat_csr([a[3:], b[3:]])


def load_svm(path: str | os.PathLike, batch_size: int = 256, n_features: int | None = None,
             n_labels: int | None = None, shuffle: bool = False, seed: Any = 0) -> SvmDataset:
    """Open a multi-label SVM file (``l1,l2 f:v f:v ...``, optional header line
    ``n_rows n_features n_labels``; ids 0-based) as a data set of batches.

    The file is read in chunks every epoch, so it may be larger than memory; without a
    header a first pass finds the sizes (and checks the whole file).

    Parameters
    ----------
    path : str or path-like
        The SVM file.
    batch_size : int, default=256
        Samples a batch.
    n_features : int or None, default=None
        The feature space width instead of the header's or the scanned one (e.g. so a
        test file matches its training file).
    n_labels : int or None, default=None
        The number of labels, likewise.
    shuffle : bool, default=False
        Shuffle the samples within each chunk read (about 16 MB of text) every epoch.
    seed : int or list of int, default=0
        Seeds the shuffling (as ``SparseDataset``'s).

    Returns
    -------
    SvmDataset

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    DataFormatError
        For a malformed line, an id beyond the widths, or a header that miscounts the rows
        (found as the batches are read).
    ValueError
        For a bad ``batch_size``, ``shuffle`` or ``seed``.
    """
    return SvmDataset(path, batch_size=batch_size, n_features=n_features, n_labels=n_labels,
                      shuffle=shuffle, seed=seed)


def write_svm(path: str | os.PathLike, dataset: SparseDataset, n_labels: int | None = None) -> None:
    """Write a SparseDataset as a multi-label SVM file with a header line (the reverse of
    ``load_svm``; values with 7 significant digits). The file is written beside ``path``
    and then renamed over it, so a failed write keeps the file that was there.

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced).
    dataset : SparseDataset
        The samples, written in order.
    n_labels : int or None, default=None
        The header's label count; None: the largest label id + 1 (1 without labels).

    Raises
    ------
    ValueError
        For what the file cannot hold or ``load_svm`` would refuse: label weights other
        than 1, a label id not below ``n_labels``, a feature id not below the data set's
        ``dim``.
    """
    f, labels = dataset.features, dataset.labels
    largest = int(labels.ids.max()) + 1 if labels.ids.size else 1
    n_labels = largest if n_labels is None else check_int("write_svm", "n_labels", n_labels, largest)
    if labels.vals.size and (labels.vals != 1).any():
        k = int(np.argmax(labels.vals != 1))
        raise ValueError(f"The 'dataset' parameter of write_svm must hold label weights of 1 (an SVM file holds "
                         f"none). Got weight {labels.vals[k]} for label {labels.ids[k]} of sample "
                         f"{entry_row(labels.offsets, k)} instead.")
    if f.ids.size and (f.ids.min() < 0 or f.ids.max() >= dataset.dim):
        bad = int(f.ids[(f.ids < 0) | (f.ids >= dataset.dim)][0])
        raise ValueError(f"The 'dataset' parameter of write_svm must hold feature ids in [0, {dataset.dim}) (its "
                         f"dim). Got {bad} instead.")
    path = os.path.realpath(path)  # a link is written through, as open(path, 'w') did, not replaced
    with written_beside(path, ".write_svm.") as tmp, open(tmp, "w") as out:
        out.write(f"{dataset.n_samples} {dataset.dim} {n_labels}\n")
        for s in range(dataset.n_samples):
            lo, hi = f.offsets[s], f.offsets[s + 1]
            feats = " ".join(f"{i}:{v:.7g}" for i, v in zip(f.ids[lo:hi].tolist(), f.vals[lo:hi].tolist()))
            out.write(f"{','.join(map(str, labels.row(s).tolist()))} {feats}\n")
