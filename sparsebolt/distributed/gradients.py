"""Row-sparse gradients as exchanged between replicas: {parameter name: (rows int32[n],
values float32[n, ...])}, holding only the rows a batch touched (``Model.compute_gradients``).

Combining is deterministic: the same list of gradients in the same order gives the same
bits on every replica, which is what keeps the replicas identical."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..kernels.rows import sum_groups

if TYPE_CHECKING:
    from ..nn.model import Model

# {parameter name: (rows int32[n], values float32[n, ...])}
Grads = dict[str, tuple[np.ndarray, np.ndarray]]


def combine(grads_list: Sequence[Grads], divisor: float = 1) -> Grads:
    """Sum a list of sparse gradients row by row and divide by ``divisor``.

    Rows of each parameter are concatenated in list order (worker order), duplicate rows
    are summed in that order (one thread per row, ``kernels.rows.sum_groups``), and the
    result's rows are sorted. A single gradient with
    ``divisor == 1`` is returned as it is, so one worker trains bit for bit as
    ``Model.train_step`` does.

    Parameters
    ----------
    grads_list : sequence of dict
        Sparse gradients ({parameter name: (rows int32[n], values float32[n, ...])}), in
        worker order.
    divisor : float, default=1
        What the sums are divided by (e.g. the samples behind them).

    Returns
    -------
    dict
        The combined sparse gradient, each parameter's rows unique and sorted.
    """
    if len(grads_list) == 1 and divisor == 1:
        return grads_list[0]
    names = []
    for grads in grads_list:
        names.extend(n for n in grads if n not in names)
    scale = np.float32(divisor)
    out = {}
    for name in names:
        parts = [g[name] for g in grads_list if name in g]
        rows = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        vals = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]]) if rows.size else np.zeros(0, np.int64)
        group_offsets = np.append(starts, rows.size).astype(np.int64)
        flat = np.ascontiguousarray(vals, dtype=np.float32).reshape(rows.size, int(np.prod(vals.shape[1:])))
        summed = np.empty((starts.size, flat.shape[1]), dtype=np.float32)
        sum_groups(flat, order.astype(np.int64, copy=False), group_offsets, scale, summed)
        out[name] = (np.ascontiguousarray(sorted_rows[starts], dtype=np.int32),
                     summed.reshape((starts.size,) + vals.shape[1:]))
    return out


def scale(grads: Grads, factor: float) -> Grads:
    """A sparse gradient times ``factor`` (the same one when ``factor`` is 1)."""
    if factor == 1:
        return grads
    f = np.float32(factor)
    return {name: (rows, vals * f) for name, (rows, vals) in grads.items()}


def split(grads: Grads, n_rows: dict[str, int], n_pieces: int) -> list[Grads]:
    """Cut a sparse gradient into ``n_pieces`` by row range: piece j holds the rows of
    each parameter in [j * R / n, (j + 1) * R / n), R = ``n_rows[name]``."""
    pieces = [{} for _ in range(n_pieces)]
    for name, (rows, vals) in grads.items():
        bounds = np.arange(n_pieces + 1, dtype=np.int64) * n_rows[name] // n_pieces
        which = np.searchsorted(bounds, rows, side="right") - 1
        order = np.argsort(which, kind="stable")
        cuts = np.searchsorted(which[order], np.arange(n_pieces + 1))
        for j in range(n_pieces):
            take = order[cuts[j]:cuts[j + 1]]
            pieces[j][name] = (rows[take], vals[take])
    return pieces


def join(pieces: Sequence[Grads]) -> Grads:
    """The inverse of ``split`` for pieces that hold disjoint rows."""
    out = {}
    for name in pieces[0]:
        parts = [p[name] for p in pieces]
        out[name] = (np.concatenate([r for r, _ in parts]), np.concatenate([v for _, v in parts]))
    return out


def nbytes(grads: Grads) -> int:
    """Bytes of the row ids and values of a sparse gradient (what one replica sends).

    Parameters
    ----------
    grads : dict
        A sparse gradient.

    Returns
    -------
    int
    """
    return int(sum(rows.nbytes + vals.nbytes for rows, vals in grads.values()))


def dense_nbytes(model: Model) -> int:
    """Bytes of a dense gradient of every parameter of ``model`` (what a dense exchange sends).

    Parameters
    ----------
    model : Model
        The model.

    Returns
    -------
    int
    """
    return int(sum(p.value.nbytes for p in model.parameters()))
