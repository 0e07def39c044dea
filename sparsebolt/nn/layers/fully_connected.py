"""FullyConnected: a dense layer whose neurons may be computed sparsely through LSH."""
from __future__ import annotations

import math
import warnings
from typing import Any

from dataclasses import fields, replace

import numpy as np

from ..._state import meta_int, prefixed, take, unprefixed
from ..._threads import get_num_threads
from ..._validation import _fail, check_choice, check_float, check_int, check_type
from ...data.value import Value
from ...kernels import activations as act_kernels
from ...kernels import fully_connected as fc
from ...kernels.grouping import group_by_id
from ...kernels.topk import dense_topk_small, merge_chunks, topk_best_first, topk_merge_block
from ...lsh.config import FAMILIES, LSHConfig, active_size, autotune, default_sparsity, most_hashes
from ...lsh.index import INFERENCE_SHARE, NeuronIndex
from ..parameter import GroupedGrad, Parameter, uniform_float32
from .base import Context, Layer, activation_code
from .input import InputLayer


# neurons scored per block by ``dense_top_k``: 8192 columns of a 2048-sample batch are 64 MB
TOP_K_BLOCK = 8192
# up to this many samples ``dense_top_k`` scores in one fused pass over W, in this many chunks
_FEW_SAMPLES = 8
_FEW_CHUNKS = 32
# a model Input this wide holds sparse ids: a sparse layer straight on it hashes with
# 'sparse_wta', as DWTA reads a few hundred of its coordinates and a row holding none of them
# gets an empty row's buckets (planted 2K on 20,000 features: sparse inference P@1 0.19)
SPARSE_INPUT_DIM = 4096


def _all_ids(batch_size, dim):
    return (np.arange(batch_size + 1, dtype=np.int64) * dim,
            np.tile(np.arange(dim, dtype=np.int32), batch_size))


class FullyConnected(Layer):
    """``activation(W x + b)`` over ``dim`` neurons.

    With ``sparsity < 1`` each sample computes only ``sparsity * dim`` neurons in training
    (and in sparse inference): its labels first when this is the output layer, then the
    neurons its input retrieves from the LSH tables, padded with random ones. ``sparsity``
    None is 1.0 for a hidden layer and, for the output layer, follows its width
    (``sb.lsh.default_sparsity``: dense below 450 neurons, 0.005 from 20K).

    Parameters
    ----------
    dim : int
        Number of neurons.
    sparsity : float in (0, 1] or None, default=None
        Fraction of the neurons a sample computes in training and sparse inference; 1.0
        is dense. None: 1.0 for a hidden layer and, for the output layer, chosen from its
        width (``sb.lsh.default_sparsity``: dense below 450 neurons, 0.005 from 20K).
    activation : {'linear', 'relu', 'tanh', 'sigmoid', 'softmax'}, default='linear'
        Applied to each output vector (softmax over a sample's computed neurons).
    sampling : LSHConfig, dict, str or None, default=None
        How active neurons are found: None (autotuned: 'sparse_wta' straight on a model
        Input of 4,096 features or more, which gives way to 'dwta' when it trains on dense
        rows and warns when sparse inference gets them; else DWTA),
        a family name ('dwta', 'srp', 'fast_srp', 'sparse_wta', 'random') to autotune, or an
        ``LSHConfig`` (or a dict of its fields) of explicit settings.
    name : str or None, default=None
        The layer's name; None numbers it when it joins a Model.

    Raises
    ------
    ValueError
        For a bad ``dim``, ``sparsity``, ``activation`` or ``sampling``.
    """

    def __init__(self, dim: int, sparsity: float | None = None, activation: str = "linear",
                 sampling: LSHConfig | dict | str | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.dim = check_int("FullyConnected", "dim", dim, 1)
        if sparsity is not None:
            sparsity = check_float("FullyConnected", "sparsity", sparsity, 0.0, 1.0, low_open=True)
        self.sparsity = sparsity
        self.activation = activation
        self._code = activation_code("FullyConnected", activation)
        if isinstance(sampling, dict):
            names = [f.name for f in fields(LSHConfig)]
            if any(key not in names for key in sampling):  # LSHConfig's own TypeError named no parameter
                listed = ", ".join(map(repr, names))
                _fail("FullyConnected", "sampling", f"a dict of LSHConfig settings among {listed}", sampling)
            sampling = LSHConfig(**sampling)
        if isinstance(sampling, str):
            check_choice("FullyConnected", "sampling", sampling, FAMILIES)
        elif sampling is not None:
            check_type("FullyConnected", "sampling", sampling, LSHConfig,
                       "None, an LSHConfig, a dict or a hash family name")
        self.sampling = sampling
        self.is_output = False
        self.index = None
        # warned once that sparse inference met sparse rows its hashes cannot see, or that
        # hashes chosen for sparse rows met dense ones
        self.warned_blind = False
        self.warned_dense = False

    @property
    def is_sparse(self) -> bool:
        """Whether the layer computes fewer than all its neurons (sparsity < 1, once built)."""
        return self.sparsity < 1.0

    @property
    def n_active(self) -> int:
        """How many neurons a sample computes in training and, in a hidden layer, in sparse
        inference."""
        return active_size(self.dim, self.sparsity)

    @property
    def inference_width(self) -> int:
        """How many neurons a sample computes in sparse inference. An output layer computes
        ``INFERENCE_SHARE`` of ``n_active``, those its input's buckets rank highest."""
        n = self.n_active
        return max(1, math.ceil(INFERENCE_SHARE * n)) if self.is_output else n

    def output_dim(self, input_dims: list[int]) -> int:
        return self.dim

    def lsh_config(self) -> LSHConfig:
        """The hash settings the layer's index uses: ``sampling`` when it is an LSHConfig,
        else the autotuned ones for its family, width, input width and sparsity.

        Returns
        -------
        LSHConfig
        """
        if isinstance(self.sampling, LSHConfig):
            return self.sampling
        wide_input = (self.node is not None and isinstance(self.node.inputs[0].layer, InputLayer)
                      and self.input_dims[0] >= SPARSE_INPUT_DIM)
        family = self.sampling or ("sparse_wta" if wide_input else "dwta")
        return autotune(self.dim, self.input_dims[0], self.sparsity, family)

    @property
    def _lazy(self):
        """Whether a step writes a few of the weights' rows (its active neurons')."""
        return self.sparsity is not None and self.sparsity < 1

    def build(self, rng: np.random.Generator) -> None:
        if self.sparsity is None:
            self.sparsity = default_sparsity(self.dim) if self.is_output else 1.0
        d_in = self.input_dims[0]
        bound = 1.0 / np.sqrt(d_in)
        touched = np.zeros(self.dim, dtype=np.uint8)
        self.W = Parameter(f"{self.name}/W", uniform_float32(rng, bound, (self.dim, d_in)), touched, self._lazy)
        self.b = Parameter(f"{self.name}/b", uniform_float32(rng, bound, self.dim), touched, self._lazy)
        self._index_seed = int(rng.integers(2**31))
        self._make_index()

    def _make_index(self):
        old, self.index = self.index, None
        if self.is_sparse:
            self.index = NeuronIndex(self.dim, self.input_dims[0], self.lsh_config(), self.n_active,
                                     seed=self._index_seed)
            self.index.rebuild(self.W.value)
            if old is not None:
                self.index.take_over(old)

    def add_neurons(self, weights: np.ndarray, biases: np.ndarray) -> None:
        """Append neurons (a class introduced after training). Their gradients and optimizer
        moments start at zero; they join the hash tables, which keep their labels pinned.

        Parameters
        ----------
        weights : array-like of shape (n, input width)
            The new neurons' weights (float32).
        biases : array-like of shape (n,)
            Their biases.

        Raises
        ------
        ValueError
            When there is not one bias a weight row.
        """
        weights = np.asarray(weights, dtype=np.float32).reshape(-1, self.input_dims[0])
        biases = np.asarray(biases, dtype=np.float32).reshape(-1)
        if weights.shape[0] != biases.shape[0]:
            raise ValueError(f"The 'biases' parameter of add_neurons must hold one bias a row of 'weights' "
                             f"({weights.shape[0]} rows). Got {biases.shape[0]} biases instead.")
        touched = np.zeros(self.dim + biases.shape[0], dtype=np.uint8)
        self.W = Parameter(self.W.name, np.concatenate([self.W.value, weights]), touched, self._lazy)
        self.b = Parameter(self.b.name, np.concatenate([self.b.value, biases]), touched, self._lazy)
        self.dim = int(touched.shape[0])
        if self.index is None:
            self._make_index()
        else:
            self.index.add_neurons(weights, self.n_active)

    def set_sparsity(self, sparsity: float, keep_tables: bool | None = None) -> None:
        """Compute ``sparsity * dim`` neurons from now on, in training and in sparse
        inference. The weights and optimizer state are untouched. With ``keep_tables`` the
        hash tables stay as they are and only the active size changes; without it the
        autotuned hash settings are derived again for the new level and the tables rebuilt
        from the current weights (explicit ``LSHConfig`` settings stay as given). None keeps
        the tables when they hold labels pinned in training, which a rebuild would lose.

        Parameters
        ----------
        sparsity : float in (0, 1]
            The new fraction of neurons a sample computes.
        keep_tables : bool or None, default=None
            Keep the hash tables as they are (see above).

        Raises
        ------
        ValueError
            For a sparsity outside (0, 1] or a ``keep_tables`` that is not a bool or None.
        """
        sparsity = check_float("set_sparsity", "sparsity", sparsity, 0.0, 1.0, low_open=True)
        if keep_tables is None:
            keep_tables = self.index is not None and bool(self.index.tables.pinned.any())
        keep_tables = bool(check_type("set_sparsity", "keep_tables", keep_tables, (bool, np.bool_), "a bool or None"))
        self.sparsity = sparsity
        if hasattr(self, "W"):
            self.W.lazy = self.b.lazy = self._lazy
        if keep_tables and self.index is not None and self.is_sparse:
            self.index.n_active = self.n_active
        else:
            self._make_index()

    def rebuild_tables(self, n_tables: int | None = None, k: int | None = None) -> None:
        """Rebuild the hash tables from the current weights with ``n_tables`` tables of ``k``
        hashes each (None: as now), the reservoir as it is; labels pinned so far are dropped.
        The settings are kept in ``sampling``, so further training and a saved model use them.

        Parameters
        ----------
        n_tables : int or None, default=None
            Tables, in [1, 4096].
        k : int or None, default=None
            Hashes a table: at most 10 for 'dwta', 30 for 'srp' and 'fast_srp' (a bucket
            key of 30 bits).

        Raises
        ------
        ValueError
            When the layer has no hash tables (dense, or sampling 'random').
        """
        if self.index is None or self.index.hash_fn is None:
            raise ValueError(f"rebuild_tables needs a sparse layer with hash tables; '{self.name}' has none "
                             f"(its sparsity is 1.0 or its sampling is 'random').")
        config = self.index.config
        if n_tables is not None:
            config = replace(config, n_tables=check_int("rebuild_tables", "n_tables", n_tables, 1, 4096))
        if k is not None:
            config = replace(config, k=check_int("rebuild_tables", "k", k, 1, most_hashes(config.family)))
        self.sampling = config
        self._make_index()

    def parameters(self) -> list[Parameter]:
        return [self.W, self.b]

    def cost(self, in_widths: list[float]) -> tuple[float, float]:
        # in training (what the cost decides for): a sparse layer's active neurons
        return in_widths[0] * self.n_active, float(self.n_active)

    def _warn_blind(self, x: Value) -> None:
        """Warn when sparse inference gets sparse rows many of which hold no coordinate the
        hashes read (DWTA compares ``n_hashes * binsize`` of them): those rows all query the
        same buckets, and their sparse outputs are near random."""
        fn = self.index.hash_fn
        blind = fn.rows_blind(x.offsets, x.ids, x.vals) if fn is not None else 0
        if blind > 0.1 * x.batch_size:
            self.warned_blind = True
            read = int(np.count_nonzero(fn.coords_read()))
            remedy = ("Hash with sampling='sparse_wta', which reads every coordinate, put an Embedding before this "
                      "layer, or predict with dense inference." if read < self.input_dims[0]
                      else "Predict such rows with dense inference.")
            warnings.warn(f"Sparse inference of FullyConnected '{self.name}': {blind} of {x.batch_size} sparse "
                          f"input rows hold none of the {read:,} of its {self.input_dims[0]:,} input coordinates "
                          f"its {fn.name} hashes read, so they query the same buckets and get near-random "
                          f"outputs. {remedy}", RuntimeWarning, stacklevel=2)

    def _hash_dense_rows(self) -> None:
        """Training on dense rows: DWTA, whose active sets on dense rows are better, takes
        over from the 'sparse_wta' autotuned for a wide Input's sparse rows, as if given in
        ``sampling`` (so a saved model and further training keep it); the tables are built
        from the current weights."""
        self.sampling = "dwta"
        self._make_index()

    def _warn_dense(self) -> None:
        """Warn when the tables of a layer whose hashes were autotuned for a wide Input's
        sparse rows meet dense rows they cannot switch for (sparse inference, or training on
        frozen tables), for which DWTA finds better active sets."""
        self.warned_dense = True
        warnings.warn(f"FullyConnected '{self.name}' hashes with 'sparse_wta', the default on a model Input of "
                      f"{SPARSE_INPUT_DIM:,} features or more, which expects sparse rows; its tables got dense rows "
                      f"in sparse inference or frozen. Predict them with dense inference, or train it on dense rows, "
                      f"which switches it to sampling='dwta'.", RuntimeWarning, stacklevel=3)

    def forward(self, inputs: list[Value], ctx: Context) -> Value:
        x = inputs[0]
        n = x.batch_size
        W, b = self.W.value, self.b.value
        lab_offsets = lab_ids = None
        if self.is_sparse and (ctx.training or ctx.sparse_inference):
            width = self.n_active if ctx.training else self.inference_width
            if not ctx.training and not x.is_dense and not self.warned_blind:
                self._warn_blind(x)
            if x.is_dense and self.sampling is None and self.index.config.family == "sparse_wta":
                if ctx.training and not self.index.frozen:
                    self._hash_dense_rows()
                elif not self.warned_dense:
                    self._warn_dense()
            if self.is_output and ctx.training and ctx.labels is not None:
                lab_offsets, lab_ids = ctx.labels.offsets, ctx.labels.ids
                width = min(self.dim, max(width, ctx.labels.max_per_row()))
            ids = self.index.active(x, width, lab_offsets, lab_ids, ctx.salt, ctx.serial, ranked=not ctx.training)
            out = Value.fixed_width(self.dim, ids, np.empty(ids.shape, dtype=np.float32))
        elif x.is_dense:
            z = x.vals @ W.T
            z += b
            out = Value.dense(z)
        else:
            z = np.empty((n, self.dim), dtype=np.float32)
            (fc.forward_sparse_input_all_serial if ctx.serial else fc.forward_sparse_input_all)(
                W, b, x.offsets, x.ids, x.vals, z)
            out = Value(self.dim, z)
        if (ctx.softmax_ce and lab_offsets is not None and x.is_dense and not out.is_dense
                and self.activation == "softmax"):
            dx = np.empty_like(x.vals)
            fc.forward_softmax_ce_dense_input(W, b, x.vals, out.offsets, out.ids, lab_offsets, lab_ids,
                                              ctx.labels.vals, out.flat(), dx)
            ctx.output_input_grad = dx
            return out
        if not out.is_dense:
            z = out.flat()
            if x.is_dense:
                (fc.forward_dense_input_serial if ctx.serial else fc.forward_dense_input)(
                    W, b, x.vals, out.offsets, out.ids, z)
            else:
                (fc.forward_sparse_input_serial if ctx.serial else fc.forward_sparse_input)(
                    W, b, x.offsets, x.ids, x.vals, out.offsets, out.ids, z)
        activate = act_kernels.activate_serial if ctx.serial else act_kernels.activate
        activate(out.flat(), out.row_offsets(), self._code)
        return out

    def backward(self, inputs: list[Value], output: Value, grad: np.ndarray, need_input_grads: list[bool],
                 ctx: Context, preactivation: bool = False) -> list[np.ndarray | None]:
        x = inputs[0]
        if not preactivation:
            act_kernels.activation_backward(output.flat(), grad, output.row_offsets(), self._code)
        W, db, touched = self.W.value, self.b.grad, self.W.touched
        need_dx = need_input_grads[0]
        if output.is_dense and x.is_dense:
            gz = grad.reshape(x.batch_size, self.dim)
            np.matmul(gz.T, x.vals, out=self.W.grad)
            np.sum(gz, axis=0, out=db)
            touched[:] = 1
            return [(gz @ W).reshape(-1) if need_dx else None]
        if output.is_dense:
            offsets, ids = _all_ids(x.batch_size, self.dim)
        else:
            offsets, ids = output.offsets, output.ids
        order, group_offsets, group_ids, entry_row = group_by_id(offsets, ids, self.dim, get_num_threads())
        fc.bias_grad(order, group_offsets, group_ids, grad, db, touched)
        if x.is_dense:
            # summed by the optimizer row by row, with no pass over a dense gradient buffer
            self.W.pending = GroupedGrad(x.vals, entry_row, order, group_offsets, group_ids, grad)
            if not need_dx:
                return [None]
            if preactivation and ctx.output_input_grad is not None:
                return [ctx.output_input_grad.reshape(-1)]
            dx = np.zeros_like(x.vals)
            fc.input_grad_dense_input(W, offsets, ids, grad, dx)
            return [dx.reshape(-1)]
        fc.weight_grad_sparse_input(x.offsets, x.ids, x.vals, entry_row, order, group_offsets, group_ids,
                                    grad, self.W.grad)
        if not need_dx:
            return [None]
        dx = np.zeros(x.vals.shape[0], dtype=np.float32)
        fc.input_grad_sparse_input(W, x.offsets, x.ids, offsets, ids, grad, dx)
        return [dx]

    def dense_top_k(self, x: Value, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k neurons of the dense output without materialising it. Blocks of
        ``TOP_K_BLOCK`` neurons are scored by BLAS and folded into a running top-k (and, for
        softmax, log-sum-exp).

        Parameters
        ----------
        x : Value
            The layer's input batch.
        k : int
            Neurons a sample (at most ``dim``).

        Returns
        -------
        ids : ndarray of int32, shape (batch_size, min(k, dim))
            Best first.
        scores : ndarray of float32, shape (batch_size, min(k, dim))
            Their activations.
        """
        h = x.vals if x.is_dense else x.to_dense()
        n = h.shape[0]
        k = min(k, self.dim)
        W, b = self.W.value, self.b.value
        softmax = self.activation == "softmax"
        if n <= _FEW_SAMPLES:
            chunks = min(_FEW_CHUNKS, self.dim)
            c_ids = np.full((chunks, n, k), -1, dtype=np.int32)
            c_z = np.full((chunks, n, k), -np.inf, dtype=np.float32)
            c_max = np.full((chunks, n), -np.inf, dtype=np.float32)
            c_sum = np.zeros((chunks, n), dtype=np.float64)
            dense_topk_small(W, b, np.ascontiguousarray(h, dtype=np.float32), softmax, c_ids, c_z, c_max, c_sum)
            best_ids, best_z = np.empty((n, k), dtype=np.int32), np.empty((n, k), dtype=np.float32)
            run_max, run_sum = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float64)
            merge_chunks(c_ids, c_z, c_max, c_sum, best_ids, best_z, run_max, run_sum)
        else:
            best_ids = np.full((n, k), -1, dtype=np.int32)
            best_z = np.full((n, k), -np.inf, dtype=np.float32)
            run_max = np.full(n, -np.inf, dtype=np.float32)
            run_sum = np.zeros(n, dtype=np.float64)
            filled = np.zeros(n, dtype=np.int64)
            z = np.empty((n, min(TOP_K_BLOCK, self.dim)), dtype=np.float32)
            for lo in range(0, self.dim, TOP_K_BLOCK):
                hi = min(lo + TOP_K_BLOCK, self.dim)
                block = z[:, :hi - lo]
                np.matmul(h, W[lo:hi].T, out=block)
                block += b[lo:hi]
                topk_merge_block(block, lo, best_ids, best_z, filled, run_max, run_sum, softmax)
            topk_best_first(best_ids, best_z, filled)
        if softmax:
            scores = (np.exp(best_z - run_max[:, None]) / run_sum[:, None]).astype(np.float32)
        else:
            scores = best_z
            act_kernels.activate(scores.reshape(-1), np.arange(n + 1, dtype=np.int64) * k, self._code)
        return best_ids, scores

    def after_batch(self, batch_size: int) -> None:
        """Advance the LSH rebuild schedule after an optimizer step.

        Parameters
        ----------
        batch_size : int
            Samples of the step.
        """
        if self.index is not None:
            self.index.after_batch(self.W.value, batch_size)

    def get_config(self) -> dict[str, Any]:
        sampling = self.sampling.to_dict() if isinstance(self.sampling, LSHConfig) else self.sampling
        return {"name": self.name, "dim": self.dim, "sparsity": self.sparsity,
                "activation": self.activation, "sampling": sampling}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = super().get_state()
        meta["index_seed"] = self._index_seed
        if self.index is not None:
            meta["index"], index_arrays = self.index.get_state()
            arrays.update(prefixed("index", index_arrays))
        return meta, arrays

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Parameters and the LSH index from ``get_state`` (``sparsity`` comes from the config).

        Parameters
        ----------
        meta : dict
            The meta of ``get_state``.
        arrays : dict of str to ndarray
            Its arrays.

        Raises
        ------
        ValueError
            When the state does not fit the layer.
        """
        shape = (self.dim, self.input_dims[0])
        # the arrays first: their shapes bound every size the file names before anything is
        # allocated from a size (a crafted dim of 10**12 would be a MemoryError)
        W = take("FullyConnected", arrays, "W", shape, np.float32)
        b = take("FullyConnected", arrays, "b", (self.dim,), np.float32)
        touched = np.zeros(self.dim, dtype=np.uint8)
        self.W = Parameter(f"{self.name}/W", W, touched, self._lazy)
        self.b = Parameter(f"{self.name}/b", b, touched, self._lazy)
        self._index_seed = meta_int("FullyConnected", meta, "index_seed")
        self.index = None
        if self.is_sparse:
            saved = meta.get("index")
            if not isinstance(saved, dict):
                raise ValueError(f"The saved state of sparse FullyConnected '{self.name}' lacks its LSH index.")
            if (saved.get("dim"), saved.get("input_dim")) != shape:
                raise ValueError(f"The saved LSH index of FullyConnected '{self.name}' must index {shape[0]} neurons "
                                 f"of width {shape[1]}. Got {saved.get('dim')!r} of {saved.get('input_dim')!r}.")
            self.index = NeuronIndex.from_state(saved, unprefixed("index", arrays))
            if (self.index.dim, self.index.input_dim) != shape or self.index.n_active != self.n_active:
                raise ValueError(f"The saved LSH index of FullyConnected '{self.name}' does not fit the layer.")
            family = self.index.config.family
            if self.sampling is None and family != self.lsh_config().family:
                # a replica switched by dense rows (``_hash_dense_rows``), or a file from before
                # 'sparse_wta' was the default: keep hashing as the tables were built
                self.sampling = family
