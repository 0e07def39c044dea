"""Embedding: the first layer over a large sparse feature space."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._state import COMPACT_FROM, take, take_rows
from ..._threads import get_num_threads
from ..._validation import _fail, check_float, check_int
from ...data.value import Value
from ...kernels import activations as act_kernels
from ...kernels import embedding as emb
from ...kernels import numeric as num_kernels
from ...kernels.grouping import group_by_id
from ..parameter import (GroupedGrad, Parameter, check_draw_record, crc32_rows, draw_record, physical_memory,
                         redrawn_blocks, sparse_zeros, uniform_float32)
from .base import Context, Layer, activation_code


class Embedding(Layer):
    """``activation(sum_k v_k E[id_k] + b)`` over a sample's sparse ids ``id_k`` with values
    ``v_k`` (an embedding bag, i.e. a fully connected layer over a sparse input). Only the
    rows of ids present in a batch get gradients and optimizer updates.

    Parameters
    ----------
    dim : int
        Output width.
    activation : {'linear', 'relu', 'tanh', 'sigmoid', 'softmax'}, default='linear'
        Applied to each output vector.
    name : str or None, default=None
        The layer's name; None numbers it when it joins a Model.

    Raises
    ------
    ValueError
        For a ``dim`` below 1 or an unknown activation.
    """

    def __init__(self, dim: int, activation: str = "linear", name: str | None = None) -> None:
        super().__init__(name)
        self.dim = check_int("Embedding", "dim", dim, 1)
        self.activation = activation
        self._code = activation_code(type(self).__name__, activation)
        # how build drew the table (draw_record), kept so a save can leave out untrained rows;
        # _whole once a save found most rows trained (a trained row never returns to its draw)
        self._init, self._whole = None, False

    def output_dim(self, input_dims: list[int]) -> int:
        return self.dim

    def build(self, rng: np.random.Generator) -> None:
        n_features = self.input_dims[0]
        bound = 1.0 / np.sqrt(self.dim)
        self._init, self._whole = draw_record(rng, bound), False
        self.E = Parameter(f"{self.name}/E", uniform_float32(rng, bound, (n_features, self.dim), lazy=True),
                           np.zeros(n_features, dtype=np.uint8), lazy=True)
        self.b = Parameter(f"{self.name}/b", np.zeros(self.dim, dtype=np.float32))

    def parameters(self) -> list[Parameter]:
        return [self.E, self.b]

    def cost(self, in_widths: list[float]) -> tuple[float, float]:
        return in_widths[0] * self.dim, float(self.dim)

    def forward(self, inputs: list[Value], ctx: Context) -> Value:
        value = Value.dense(self._preactivation(inputs[0], ctx))
        activate = act_kernels.activate_serial if ctx.serial else act_kernels.activate
        activate(value.flat(), value.row_offsets(), self._code)
        return value

    def _preactivation(self, x: Value, ctx: Context) -> np.ndarray:
        """The pre-activation output, float32[B, dim] (a subclass adds its own terms)."""
        if x.is_dense:
            out = x.vals @ self.E.value
            out += self.b.value
        else:
            out = np.empty((x.batch_size, self.dim), dtype=np.float32)
            (emb.embedding_forward_serial if ctx.serial else emb.embedding_forward)(
                self.E.value, self.b.value, x.offsets, x.ids, x.vals, out)
        return out

    def backward(self, inputs: list[Value], output: Value, grad: np.ndarray, need_input_grads: list[bool],
                 ctx: Context, preactivation: bool = False) -> list[np.ndarray | None]:
        if not preactivation:
            act_kernels.activation_backward(output.flat(), grad, output.row_offsets(), self._code)
        return [self._preactivation_backward(inputs[0], output, grad, need_input_grads[0])]

    def _preactivation_backward(self, x: Value, output: Value, grad: np.ndarray, need_dx: bool) -> np.ndarray | None:
        """Gradients of E and b from the pre-activation ``grad`` of ``output``; the input's
        when ``need_dx``."""
        gz = grad.reshape(x.batch_size, self.dim)
        np.sum(gz, axis=0, out=self.b.grad)
        if x.is_dense:
            np.matmul(x.vals.T, gz, out=self.E.grad)
            self.E.touched[:] = 1
            return (gz @ self.E.value.T).reshape(-1) if need_dx else None
        order, group_offsets, group_ids, entry_row = group_by_id(x.offsets, x.ids, self.E.rows, get_num_threads())
        # row f's gradient is the sum of vals[k] * gz[s] over its entries k = (s, f): left to
        # the optimizer to sum and apply row by row, with no pass over a dense gradient buffer
        self.E.pending = GroupedGrad(np.ascontiguousarray(gz), entry_row, order, group_offsets, group_ids, x.vals)
        if not need_dx:
            return None
        dvals = np.empty(x.vals.shape[0], dtype=np.float32)
        emb.embedding_input_grad(self.E.value, x.offsets, x.ids, gz, dvals)
        return dvals

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "activation": self.activation}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = super().get_state()
        if self._init is None:  # built from a file that did not record its first draw
            return meta, arrays
        meta["init"] = dict(self._init)
        # a table keeps its trained rows and the generator state its first values came from,
        # which draws the others again on loading: a tabular model's 100,000-row table moves
        # a few hundred (docs/file-format.md, version 4)
        table = self.E.value
        if table.nbytes >= COMPACT_FROM and not self._whole:
            moved = _rows_off_their_draw(table, self._init)
            self._whole = moved is None
            if moved is not None:
                meta["init"]["crc32"] = crc32_rows(table)
                arrays["E"], arrays["rows/E"] = table[moved], moved
        return meta, arrays

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        n_features, owner = self.input_dims[0], type(self).__name__
        init = check_draw_record(owner, meta["init"]) if "init" in meta else None
        self._init = None if init is None else {"pcg64": init["pcg64"], "bound": init["bound"]}
        bias = take(owner, arrays, "b", (self.dim,), np.float32)
        # by its meta, not by 'rows/E': a layer named '<this>/rows' files its arrays there
        if init is not None and "crc32" in init:
            table = self._redrawn_table(init["crc32"], arrays)
        else:
            table = take(owner, arrays, "E", (n_features, self.dim), np.float32)
        self.E = Parameter(f"{self.name}/E", table, np.zeros(n_features, dtype=np.uint8), lazy=True)
        self.b = Parameter(f"{self.name}/b", bias)
        self._whole = False

    def _redrawn_table(self, crc, arrays):
        """The table of a state that saved only its trained rows (``rows/E``): the others
        drawn again, their bytes checked against the saved table's CRC-32 ``crc``."""
        owner, shape = type(self).__name__, (self.input_dims[0], self.dim)
        if type(crc) is not int or not 0 <= crc < 2 ** 32:
            raise ValueError(f"The saved setting 'init.crc32' of {owner} must be a CRC-32, an int in "
                             f"[0, 2**32). Got {crc!r} instead.")
        rows = take_rows(owner, arrays, "rows/E", shape[0])
        saved = take(owner, arrays, "E", (rows.shape[0], self.dim), np.float32)
        # the table's size comes from the config, not from the file's bytes: one larger than
        # the machine's memory is refused before it is drawn (not left to the OOM killer)
        memory = physical_memory()
        if memory is not None and 4 * shape[0] * shape[1] > memory:
            raise ValueError(f"The table 'E' of {owner} ({shape[0]:,} x {shape[1]:,}, "
                             f"{4 * shape[0] * shape[1] / 1e9:.1f} GB) is larger than this machine's memory "
                             f"({memory / 1e9:.1f} GB): it cannot be drawn again.")
        try:
            table = sparse_zeros(shape)
            for lo, block in redrawn_blocks(self._init, shape):
                table[lo:lo + len(block)] = block
        except (MemoryError, OSError) as e:
            raise ValueError(f"The table 'E' of {owner} ({shape[0]:,} x {shape[1]:,}, "
                             f"{4 * shape[0] * shape[1] / 1e9:.1f} GB) could not be drawn: {e}") from None
        table[rows] = saved
        got = crc32_rows(table)
        if got != crc:
            raise ValueError(f"The table 'E' of {owner}, its saved rows put into the others drawn again from the "
                             f"saved generator state, differs from the saved model's (CRC-32 {got} against {crc}): "
                             f"the saved rows are damaged, or this NumPy's generator gives other numbers than the "
                             f"one that wrote the file.")
        return table


def _rows_off_their_draw(table, init):
    """int64 ids of the rows of ``table`` that differ from their first values (drawn again
    from ``init``), or None as soon as they are more than half (the table is saved whole)."""
    moved, count, limit = [], 0, table.shape[0] // 2
    for lo, block in redrawn_blocks(init, table.shape):
        moved.append(lo + np.flatnonzero((table[lo:lo + len(block)] != block).any(axis=1)))
        count += moved[-1].shape[0]
        if count > limit:
            return None
    return np.concatenate(moved).astype(np.int64)


class NumericEmbedding(Embedding):
    """An Embedding whose ``features`` carry numbers in [0, 1] (a tabular column's place
    among its quantiles, say): each such entry adds, besides ``v E[id]``, a learnt function
    of its value ``v``, ``W_j ReLU(L_j [cos 2 pi c_j v, sin 2 pi c_j v] + l_j)`` with
    ``frequencies`` trainable frequencies ``c_j`` drawn from N(0, ``sigma``) (Gorishniy et
    al. 2022's PLR embedding of numbers). A bin's embedding alone is a step function of the
    number; this one is smooth (on adult, the UniversalDeepTransformer's income AUC rose
    from 0.9236 to 0.9265, ``docs/automl.md``). The function is tabulated at
    ``levels + 1`` evenly spaced points once a batch and interpolated linearly between them,
    so it costs a sample two table rows a number. Values outside [0, 1] are clipped (NaN to
    0). A feature absent from a sparse row adds nothing, an entry present with value 0 adds
    the function at 0; a dense input, like a NumPy or SciPy ``X`` given to ``Model``, has
    its zeros absent. Another feature hashed onto a listed id would be read as a number
    (the UniversalDeepTransformer gives its places ids no hashed token takes).

    Parameters
    ----------
    dim : int
        Output width.
    features : sequence of int
        The input features that carry numbers (distinct, each below the input's width).
    activation : {'linear', 'relu', 'tanh', 'sigmoid', 'softmax'}, default='linear'
        Applied to each output vector.
    frequencies : int, default=16
        Periodic frequencies a feature.
    width : int, default=8
        Width of a feature's ReLU layer.
    sigma : float, default=10.0
        Standard deviation of the initial frequencies (cycles over [0, 1]).
    levels : int, default=64
        Intervals of the table over [0, 1].
    name : str or None, default=None
        The layer's name; None numbers it when it joins a Model.

    Raises
    ------
    ValueError
        For a parameter out of range, repeated features, or a feature beyond the input's
        width (when the model is built).
    """

    def __init__(self, dim: int, features: Sequence[int], activation: str = "linear", frequencies: int = 16, width: int = 8,
                 sigma: float = 10.0, levels: int = 64, name: str | None = None) -> None:
        super().__init__(dim, activation, name)
        feats = np.asarray(features)
        if feats.ndim != 1 or feats.size == 0 or not np.issubdtype(feats.dtype, np.integer) or feats.min() < 0:
            _fail("NumericEmbedding", "features", "a non-empty sequence of feature ids >= 0", features)
        if np.unique(feats).size != feats.size:
            _fail("NumericEmbedding", "features", "distinct feature ids", features)
        self.features = [int(f) for f in feats]
        self.frequencies = check_int("NumericEmbedding", "frequencies", frequencies, 1)
        self.width = check_int("NumericEmbedding", "width", width, 1)
        self.sigma = check_float("NumericEmbedding", "sigma", sigma, 0.0, low_open=True)
        # float32 values must still reach every point of the table
        self.levels = check_int("NumericEmbedding", "levels", levels, 1, 1 << 16)
        self._slot_of = None
        self._table = None

    def _index_features(self):
        """(lowest feature, int32[span]): the table row of each input feature from the
        lowest to the highest that carries a number, -1 for the ids between that carry none
        (a UDT's numbers take its last ids: a few int32s, where a row for each input feature
        was 400 KB and missed the cache)."""
        n_features = self.input_dims[0]
        if max(self.features) >= n_features:
            _fail("NumericEmbedding", "features", f"ids below the input's width {n_features}", max(self.features))
        first = min(self.features)
        self._slot_of = (first, np.full(max(self.features) - first + 1, -1, dtype=np.int32))
        self._slot_of[1][np.asarray(self.features) - first] = np.arange(len(self.features), dtype=np.int32)

    def build(self, rng: np.random.Generator) -> None:
        super().build(rng)
        self._index_features()
        n, k, d = len(self.features), self.frequencies, self.width
        self.C = Parameter(f"{self.name}/C", (rng.standard_normal((n, k)) * self.sigma).astype(np.float32))
        bound = 1.0 / np.sqrt(2 * k)
        self.L = Parameter(f"{self.name}/L", uniform_float32(rng, bound, (n, 2 * k, d)))
        self.Lb = Parameter(f"{self.name}/Lb", uniform_float32(rng, bound, (n, d)))
        self.W = Parameter(f"{self.name}/W", uniform_float32(rng, 1.0 / np.sqrt(n * d), (n, d, self.dim)))

    def parameters(self) -> list[Parameter]:
        return [self.E, self.b, self.C, self.L, self.Lb, self.W]

    def cost(self, in_widths: list[float]) -> tuple[float, float]:
        work, out = super().cost(in_widths)
        return work + 2 * len(self.features) * self.dim, out

    @staticmethod
    def _entries(x, features):
        """(offsets, ids, vals) of the input; a dense input's numbers are the nonzeros of its
        columns ``features``, as ``sb.data`` reads a dense matrix."""
        if not x.is_dense:
            return x.offsets, x.ids, x.vals
        block = x.vals[:, features]
        rows, cols = np.nonzero(block)
        offsets = np.zeros(x.batch_size + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=x.batch_size), out=offsets[1:])
        ids = np.asarray(features, dtype=np.int32)[cols]
        return offsets, ids, np.ascontiguousarray(block[rows, cols], dtype=np.float32)

    def _preactivation(self, x: Value, ctx: Context) -> np.ndarray:
        n, k, d, points = len(self.features), self.frequencies, self.width, self.levels + 1
        entries = self._entries(x, self.features)
        needed = np.empty((n, points), dtype=np.uint8)
        numbers = num_kernels.find_numbers(*self._slot_of, *entries, needed)
        P = np.empty((n, 2 * k, points), dtype=np.float32)
        Z = np.empty((n, d, points), dtype=np.float32)
        # zeros: the table rows no number of the batch needs stay untouched
        T = np.zeros((n, points, self.dim), dtype=np.float32)
        (num_kernels.numeric_table_serial if ctx.serial else num_kernels.numeric_table)(
            self.C.value, self.L.value, self.Lb.value, self.W.value, needed, P, Z, T)
        out = super()._preactivation(x, ctx)
        num_kernels.add_numbers(T, *numbers[1:], out)
        # backward reads the table and numbers of this output's training forward, and runs as it did
        self._table = (out, entries, needed, P, Z, T, numbers, ctx.serial) if ctx.training else None
        return out

    def _preactivation_backward(self, x: Value, output: Value, grad: np.ndarray, need_dx: bool) -> np.ndarray | None:
        if self._table is None or self._table[0] is not output.vals:
            raise RuntimeError(f"NumericEmbedding {self.name!r}: backward needs the training forward of the same "
                               f"output, just before it (forward with Context(training=True), then backward).")
        _, (offsets, ids, vals), needed, P, Z, T, numbers, serial = self._table
        self._table = None
        dx = super()._preactivation_backward(x, output, grad, need_dx)
        dvals = np.zeros(vals.shape[0] if need_dx else 0, dtype=np.float32)
        dT = np.empty_like(T)
        num_kernels.numbers_grad(T, *numbers, vals, np.ascontiguousarray(grad.reshape(x.batch_size, self.dim)),
                                 dT, dvals)
        (num_kernels.numeric_table_backward_serial if serial else num_kernels.numeric_table_backward)(
            self.C.value, self.L.value, self.W.value, needed, P, Z, dT, self.C.grad, self.L.grad, self.Lb.grad,
            self.W.grad)
        if need_dx:
            if x.is_dense:
                rows = np.repeat(np.arange(x.batch_size), np.diff(offsets))
                dx.reshape(x.batch_size, -1)[rows, ids] += dvals
            else:
                dx += dvals
        return dx

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "features": self.features, "frequencies": self.frequencies,
                "width": self.width, "sigma": self.sigma, "levels": self.levels}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        super().set_state(meta, arrays)
        self._index_features()
        n, k, d = len(self.features), self.frequencies, self.width
        owner = "NumericEmbedding"
        self.C = Parameter(f"{self.name}/C", take(owner, arrays, "C", (n, k), np.float32))
        self.L = Parameter(f"{self.name}/L", take(owner, arrays, "L", (n, 2 * k, d), np.float32))
        self.Lb = Parameter(f"{self.name}/Lb", take(owner, arrays, "Lb", (n, d), np.float32))
        self.W = Parameter(f"{self.name}/W", take(owner, arrays, "W", (n, d, self.dim), np.float32))
