"""CSR rows as the readers build them: joining parsed chunks, and the id range check that
names the file and line of a bad id."""
import numpy as np

from .errors import DataFormatError


def concat_csr(parts):
    """One CSR from several ``(offsets int64[n+1], array[nnz], ...)``, each with the same
    arrays: ``(offsets, array, ...)``, the rows of ``parts`` in order."""
    offsets, base = [parts[0][0][:1]], 0
    for part in parts:
        offsets.append(part[0][1:] + base)
        base += part[0][-1]
    return (np.concatenate(offsets), *(np.concatenate([p[i] for p in parts]) for i in range(1, len(parts[0]))))


def entry_row(offsets, k):
    """The row (sample) of CSR entry ``k``, for an error that names it."""
    return int(np.searchsorted(offsets, k, side="right")) - 1


def check_id_range(path, row_line, offsets, ids, limit, what, holder):
    """Raise a DataFormatError naming the file and line of the first id in ``ids`` (CSR
    by ``offsets``, rows at lines ``row_line``) that is not below ``limit``: "{what} id 7
    is out of range: {holder} has 5 {what}s"."""
    if ids.size and ids.max() >= limit:
        k = int(np.argmax(ids >= limit))
        raise DataFormatError(path, int(row_line[entry_row(offsets, k)]),
                              f"{what} id {int(ids[k])} is out of range: {holder} has {limit} {what}s")
