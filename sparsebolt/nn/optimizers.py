"""Optimizers that update only the rows of each parameter that received a gradient."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._state import COMPACT_FROM, meta_int, take, take_rows
from .._threads import get_num_threads
from .._validation import check_float
from ..kernels import optim
from .parameter import row_zeros

if TYPE_CHECKING:
    from .parameter import Parameter


# what ``_rows_to_update`` gives a parameter whose every row has a gradient, when asked to
_EVERY_ROW = slice(None)


def _rows_to_update(params, every_row=None):
    """Rows per parameter; flags shared between parameters are read (and cleared) once.
    A parameter with a pending grouped gradient gets None: its rows are its groups. A
    parameter without flags (every row has a gradient) gets ``every_row``, by default all
    its row ids."""
    taken = {}
    out = []
    for p in params:
        if p.pending is not None:
            rows = None
        elif p.touched is None:
            rows = np.arange(p.rows, dtype=np.int32) if every_row is None else every_row
        else:
            key = id(p.touched)
            if key not in taken:
                taken[key] = optim.take_touched(p.touched)
            rows = taken[key]
        out.append(rows)
    return out


def take_gradients(params: list[Parameter]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The gradients of the last backward pass as {name: (rows int32[n], values
    float32[n, ...])}, touching rows only; the parameters' buffers are left clean."""
    out = {}
    for p, rows in zip(params, _rows_to_update(params)):
        if rows is None:
            out[p.name] = p.pending.rows()
            p.pending = None
            continue
        out[p.name] = (rows, p.grad[rows].copy())
        p.grad[rows] = 0
    return out


def put_gradients(params: list[Parameter], grads: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Load {name: (rows, values)} into the parameters' gradient buffers and flag the rows,
    so that an optimizer step applies exactly them. Names, rows and shapes are checked
    first (a wrong width had broadcast, an unknown name had made a step of nothing); not
    each value's finiteness, a pass over every gradient a step (a tenth of a distributed
    step's time)."""
    owner = "Model.apply_gradients"
    if not isinstance(grads, dict):
        raise ValueError(f"The 'grads' parameter of {owner} must be a dict {{parameter name: (rows, values)}}. "
                         f"Got {type(grads).__name__} instead.")
    by_name = {p.name: p for p in params}
    unknown = [name for name in grads if name not in by_name]
    if unknown:
        raise ValueError(f"The 'grads' parameter of {owner} must name the model's parameters "
                         f"({', '.join(repr(n) for n in by_name)}). Got {unknown[0]!r} instead.")
    checked = {}
    for name, entry in grads.items():
        p = by_name[name]
        try:
            rows, values = entry
        except (TypeError, ValueError):
            raise ValueError(f"The 'grads' parameter of {owner} must give {name!r} a pair (rows, values). "
                             f"Got {type(entry).__name__} instead.") from None
        rows, values = np.asarray(rows), np.asarray(values)
        shape = (rows.shape[0] if rows.ndim == 1 else -1,) + p.value.shape[1:]
        if rows.ndim != 1 or rows.dtype.kind not in "iu" or values.shape != shape:
            raise ValueError(f"The 'grads' parameter of {owner} must give {name!r} 1-D integer rows and values "
                             f"of shape (rows, {', '.join(map(str, p.value.shape[1:]))}). Got rows "
                             f"{rows.dtype}{list(rows.shape)} and values of shape {values.shape} instead.")
        if rows.size and (rows.min() < 0 or rows.max() >= p.rows):
            raise ValueError(f"The 'grads' parameter of {owner} must give {name!r} rows in [0, {p.rows}). Got row "
                             f"{rows[(rows < 0) | (rows >= p.rows)][0]} instead.")
        checked[name] = (rows, values)
    for p in params:
        if p.name not in checked:
            continue
        rows, values = checked[p.name]
        p.grad[rows] = values
        if p.touched is not None:
            p.touched[rows] = 1


def _as_2d(a):
    return a.reshape(a.shape[0], -1)


class Adam:
    """Adam with lazy (row-sparse) updates: a step moves, and decays the moments of, only
    the rows that received a gradient; bias correction uses the global step count.

    Parameters
    ----------
    beta1 : float in [0, 1), default=0.9
        Decay of the first moment.
    beta2 : float in [0, 1), default=0.999
        Decay of the second moment.
    eps : float, default=1e-7
        Added to the root of the second moment, > 0.
    """

    name = "adam"

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7) -> None:
        # 1 would divide by zero in the bias correction
        self.beta1 = check_float("Adam", "beta1", beta1, 0.0, 1.0, high_open=True)
        self.beta2 = check_float("Adam", "beta2", beta2, 0.0, 1.0, high_open=True)
        self.eps = check_float("Adam", "eps", eps, 0.0, low_open=True)
        self.step_count = 0
        self.state = {}

    def step(self, params: list[Parameter], learning_rate: float) -> None:
        """Update the rows of ``params`` that received a gradient, and clear their flags.

        Parameters
        ----------
        params : list of Parameter
            The model's parameters, after a backward pass.
        learning_rate : float
            The step's rate.
        """
        self.step_count += 1
        whole = []
        for p, rows in zip(params, _rows_to_update(params, _EVERY_ROW)):
            if p.name not in self.state:
                self.state[p.name] = (row_zeros(p), row_zeros(p))
            m, v = self.state[p.name]
            if rows is None:
                g = p.pending
                optim.adam_grouped(p.value, m, v, g.x, g.entry_row, g.order, g.group_offsets, g.group_ids,
                                   g.dz, learning_rate, self.beta1, self.beta2, self.eps, self.step_count,
                                   get_num_threads())
                p.pending = None
            elif rows is _EVERY_ROW:
                whole.append((p.value, p.grad, m, v))
            else:
                optim.adam_rows(_as_2d(p.value), _as_2d(p.grad), _as_2d(m), _as_2d(v), rows,
                                learning_rate, self.beta1, self.beta2, self.eps, self.step_count)
        if whole:
            # one call for them all: a small model's biases and dense weights, a call each, took
            # 20 us of a typed table's 240 us step
            flat = [tuple(a.reshape(-1) for a in arrays) for arrays in zip(*whole)]
            optim.adam_every_row(*flat, learning_rate, self.beta1, self.beta2, self.eps, self.step_count)

    def resize(self, params: list[Parameter]) -> None:
        """Give parameters that gained rows (new output neurons) zero moments for them.

        Parameters
        ----------
        params : list of Parameter
            The model's parameters.
        """
        for p in params:
            if p.name in self.state and self.state[p.name][0].shape != p.value.shape:
                # only the rows a step moved: copying the rest would write their pages too
                moved = _nonzero_rows(*self.state[p.name])
                grown = []
                for old in self.state[p.name]:
                    new = row_zeros(p)
                    new[moved] = old[moved]
                    grown.append(new)
                self.state[p.name] = tuple(grown)

    def get_config(self) -> dict[str, Any]:
        """The name and constructor arguments, JSON-able.

        Returns
        -------
        dict
        """
        return {"name": self.name, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The step count and moments, for model files.

        Returns
        -------
        meta : dict
            ``{'step_count': int}``.
        arrays : dict of str to ndarray
            The moments ``m/<parameter>`` and ``v/<parameter>`` of every parameter stepped
            so far; where steps moved at most half of its rows, only those rows, their
            ids (increasing) in ``rows/<parameter>``.
        """
        arrays = {}
        for name, (m, v) in self.state.items():
            moved = _rows_with_moments(m, v)
            if moved is None:
                arrays[f"m/{name}"], arrays[f"v/{name}"] = m, v
            else:
                arrays[f"rows/{name}"], arrays[f"m/{name}"], arrays[f"v/{name}"] = moved, m[moved], v[moved]
        return {"step_count": self.step_count}, arrays

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], params: list[Parameter]) -> None:
        """Take a saved step count and moments.

        Parameters
        ----------
        meta, arrays
            As ``get_state`` returned them.
        params : list of Parameter
            The model's parameters, which the moments' names and shapes must fit.

        Raises
        ------
        ValueError
            When they do not fit.
        """
        self.step_count = meta_int("Adam", meta, "step_count")
        state = {}
        for p in params:
            if f"rows/{p.name}" in arrays:
                rows = take_rows("Adam", arrays, f"rows/{p.name}", p.rows)
                shape = (rows.shape[0], *p.value.shape[1:])
                m, v = row_zeros(p), row_zeros(p)
                m[rows] = take("Adam", arrays, f"m/{p.name}", shape, np.float32)
                v[rows] = take("Adam", arrays, f"v/{p.name}", shape, np.float32)
                state[p.name] = (m, v)
            elif f"m/{p.name}" in arrays or f"v/{p.name}" in arrays:
                state[p.name] = (take("Adam", arrays, f"m/{p.name}", p.value.shape, np.float32),
                                 take("Adam", arrays, f"v/{p.name}", p.value.shape, np.float32))
        unknown = {k.split("/", 1)[1] for k in arrays} - set(state)
        if unknown:
            raise ValueError(f"The saved state of Adam has moments of parameters the model lacks: {sorted(unknown)}.")
        self.state = state


def _nonzero_rows(m, v):
    """int64 ids of the rows of moments ``m``, ``v`` that are not all zero: a lazy step
    moves only its rows, the others stay exactly zero."""
    n = m.shape[0]
    return np.flatnonzero(m.reshape(n, -1).any(axis=1) | v.reshape(n, -1).any(axis=1))


def _rows_with_moments(m, v):
    """``_nonzero_rows`` of a large pair of moments when they are at most half its rows;
    else None (saved whole)."""
    if m.ndim == 0 or m.nbytes < COMPACT_FROM:
        return None
    moved = _nonzero_rows(m, v)
    return moved if 2 * moved.shape[0] <= m.shape[0] else None


class SGD:
    """Plain stochastic gradient descent on the touched rows (no constructor parameters)."""

    name = "sgd"

    def __init__(self) -> None:
        self.step_count = 0
        self.state = {}

    def step(self, params: list[Parameter], learning_rate: float) -> None:
        """Update the rows of ``params`` that received a gradient, and clear their flags.

        Parameters
        ----------
        params : list of Parameter
            The model's parameters, after a backward pass.
        learning_rate : float
            The step's rate.
        """
        self.step_count += 1
        for p, rows in zip(params, _rows_to_update(params)):
            if rows is None:
                g = p.pending
                optim.sgd_grouped(p.value, g.x, g.entry_row, g.order, g.group_offsets, g.group_ids, g.dz,
                                  learning_rate, get_num_threads())
                p.pending = None
                continue
            optim.sgd_rows(_as_2d(p.value), _as_2d(p.grad), rows, learning_rate)

    def resize(self, params: list[Parameter]) -> None:
        """SGD keeps no per-row state: nothing to do.

        Parameters
        ----------
        params : list of Parameter
            The model's parameters.
        """

    def get_config(self) -> dict[str, Any]:
        """The name, JSON-able.

        Returns
        -------
        dict
        """
        return {"name": self.name}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The step count, for model files (no arrays).

        Returns
        -------
        meta : dict
            ``{'step_count': int}``.
        arrays : dict
            Empty.
        """
        return {"step_count": self.step_count}, {}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], params: list[Parameter]) -> None:
        """Take a saved step count.

        Parameters
        ----------
        meta, arrays
            As ``get_state`` returned them.
        params : list of Parameter
            The model's parameters (unused: SGD has no per-parameter state).
        """
        self.step_count = meta_int("SGD", meta, "step_count")


OPTIMIZERS = {"adam": Adam, "sgd": SGD}
