"""Model: a graph of layers from Inputs to one output, with a loss and an optimizer; its
config and state as plain data, and model files (written and read through ``sparsebolt.io``)."""
from __future__ import annotations

import collections
import inspect
import os
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .._state import prefixed, unprefixed
from .._threads import SERIAL_WORK, pool_slow, step_threads
from .._validation import _fail, check_choice, check_flag, check_float, check_int, check_type
from ..data.csr import entry_row
from ..data.value import Value
from ..io import ModelFileError, open_model_file, read_state, save_model_file, set_model_state, split_arrays
from ..kernels import csr
from .layers import Concatenate, Dropout, Embedding, FullyConnected, InputLayer, LayerNorm, NumericEmbedding
from .layers.base import Context, Node
from .losses import LOSSES, Loss
from .optimizers import OPTIMIZERS, put_gradients, take_gradients

if TYPE_CHECKING:
    from ..data.batch import Batch
    from ..train.callbacks import Callback, History
    from ..train.schedules import Schedule
    from .layers.base import Layer
    from .optimizers import SGD, Adam
    from .parameter import Parameter

# the classes a model file can name
LAYER_CLASSES = {cls.__name__: cls for cls in (Embedding, NumericEmbedding, FullyConnected, Concatenate, LayerNorm,
                                                Dropout)}


def _topological(output):
    """The nodes ``output`` depends on, inputs before the layers that read them (a
    depth-first post-order, iterative: a model file may chain thousands of layers)."""
    order, seen = [], {id(output)}
    stack = [(output, iter(output.inputs))]
    while stack:
        node, pending = stack[-1]
        child = next((x for x in pending if id(x) not in seen), None)
        if child is None:
            stack.pop()
            order.append(node)
            continue
        seen.add(id(child))
        stack.append((child, iter(child.inputs)))
    return order


def _check_csr(what, offsets, ids, vals, dim, finite):
    """CSR arrays of the kernels' dtypes whose offsets frame ids and vals exactly:
    (``csr.csr_fault``'s kind and entry of an id outside [0, dim) or, with ``finite``, of a
    value that is not finite)."""
    for arr, dtype, name in ((offsets, np.int64, "offsets"), (ids, np.int32, "ids"), (vals, np.float32, "vals")):
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != 1:
            got = f"{arr.dtype}[{arr.ndim}-D]" if isinstance(arr, np.ndarray) else type(arr).__name__
            raise ValueError(f"{what} must have 1-D {np.dtype(dtype).name} {name}. Got {got}; "
                             f"build batches with sb.data.csr_value or sb.data.Labels.")
    kind, k = csr.csr_fault(offsets, ids, vals, dim, finite)
    if kind == csr.BAD_OFFSETS:
        raise ValueError(f"{what} has inconsistent CSR arrays: offsets must start at 0, never decrease "
                         f"and end at len(ids) == len(vals) ({ids.size}, {vals.size}).")
    return kind, k


def _check_config_keys(what, cls, kwargs):
    """Refuse a config whose keys are not ``cls``'s constructor arguments, every one of which
    ``get_config`` writes and none added since: a file's Embedding without 'activation' had
    loaded as 'linear', an Adam without 'beta1' at 0.9, predicting or training otherwise in
    silence."""
    keys = list(inspect.signature(cls).parameters)
    missing, unknown = [k for k in keys if k not in kwargs], [k for k in kwargs if k not in keys]
    if missing or unknown:
        got = f"one without {missing}" if missing else f"one with {unknown} too"
        raise ValueError(f"The config of {what} must have the keys {keys}. Got {got} instead.")


class Model:
    """A trained or trainable network.

    Parameters
    ----------
    inputs : Node or list of Node
        An Input node or a list of them (the order batches give their inputs in).
    outputs : Node
        The output node, a FullyConnected layer's.
    loss : Loss or str, default='categorical_cross_entropy'
        A Loss or its name ('categorical_cross_entropy' needs a softmax output,
        'binary_cross_entropy' a sigmoid one).
    optimizer : {'adam', 'sgd'} or optimizer, default='adam'
        An optimizer name or instance (``sb.Adam(...)``, ``sb.SGD()``).
    seed : int, default=0
        Seeds weights, hash functions and sampling.
    build : bool, default=True
        False leaves the layers unbuilt, for ``sparsebolt.io`` to give them saved state.

    Attributes
    ----------
    layers : list of Layer
        The layers other than the inputs, inputs before the layers that read them.
    output : Node
        The output node.
    steps : int
        Optimizer steps taken over the model's life.
    epochs : int
        Training epochs completed over the model's life, across ``train`` calls.

    Raises
    ------
    TypeError
        When ``inputs`` or ``outputs`` are not graph nodes, or ``loss`` is not a loss.
    ValueError
        For a graph that does not fit: the output not a FullyConnected layer's, a loss
        whose activation the output layer lacks, an input the output needs missing from
        ``inputs``, repeated layer names; for an unknown optimizer, a negative seed.
    """

    def __init__(self, inputs: Node | Sequence[Node], outputs: Node | Sequence[Node],
                 loss: Loss | str = "categorical_cross_entropy", optimizer: Adam | SGD | str = "adam",
                 seed: int = 0, build: bool = True) -> None:
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if isinstance(outputs, (list, tuple)):
            if len(outputs) != 1:
                raise ValueError(f"The 'outputs' parameter of Model must be one output node. Got {len(outputs)} instead.")
            outputs = outputs[0]
        for name, nodes in (("inputs", self.inputs), ("outputs", [outputs])):
            for n in nodes:
                if not isinstance(n, Node):
                    raise TypeError(f"The '{name}' parameter of Model must hold graph nodes (from sb.Input "
                                    f"or a layer call). Got {type(n).__name__} instead.")
        for i, n in enumerate(self.inputs):
            if not isinstance(n.layer, InputLayer):
                raise ValueError(f"The 'inputs' parameter of Model must hold sb.Input nodes. Got the output of "
                                 f"'{n.layer.name}' instead.")
            if any(n is m for m in self.inputs[:i]):  # a batch's Value for its first place was never read
                raise ValueError(f"The 'inputs' parameter of Model must hold each input once. Got "
                                 f"'{n.layer.name}' twice instead.")
        self.output = outputs
        if not isinstance(outputs.layer, FullyConnected):
            raise ValueError(f"The 'outputs' parameter of Model must be the output of a FullyConnected layer. "
                             f"Got the output of {type(outputs.layer).__name__} '{outputs.layer.name}' instead.")
        self.loss = LOSSES[check_choice("Model", "loss", loss, tuple(LOSSES))]() if isinstance(loss, str) else loss
        if not isinstance(self.loss, Loss):
            raise TypeError(f"The 'loss' parameter of Model must be a loss name or instance. Got {loss!r} instead.")
        out_layer = outputs.layer
        if out_layer.activation != self.loss.activation:
            fits = [name for name, cls in LOSSES.items() if cls.activation == out_layer.activation]
            fit = f"'{fits[0]}'" if fits else "none: give the output layer activation='softmax' or 'sigmoid'"
            raise ValueError(f"The 'loss' parameter of Model must be a loss for the activation "
                             f"'{out_layer.activation}' of the output layer '{out_layer.name}' ({fit}). Got "
                             f"{type(self.loss).__name__}, which needs activation='{self.loss.activation}', instead.")
        if isinstance(optimizer, str):
            optimizer = OPTIMIZERS[check_choice("Model", "optimizer", optimizer, tuple(OPTIMIZERS))]()
        self.optimizer = check_type("Model", "optimizer", optimizer, tuple(OPTIMIZERS.values()),
                                    "an optimizer name ('adam', 'sgd') or instance (sb.Adam, sb.SGD)")
        self.seed = check_int("Model", "seed", seed, 0)
        # the replica of data-parallel training this model is (its rank): random draws in
        # training, as Dropout's masks, differ between replicas
        self.stream = 0
        self.nodes = _topological(outputs)
        for n in self.nodes:
            if isinstance(n.layer, InputLayer) and n not in self.inputs:
                raise ValueError(f"The 'inputs' parameter of Model must hold every sb.Input the output depends on. "
                                 f"Got {len(self.inputs)} input(s), without Input '{n.layer.name}' of dim {n.dim}, "
                                 f"instead.")
        self._number_layers()
        names = [n.layer.name for n in self.nodes]
        dup = {x for x, n in collections.Counter(names).items() if n > 1}
        if dup:
            raise ValueError(f"The layers of a Model must have unique names. Got {sorted(dup)} more than once "
                             f"instead.")
        self.layers = [n.layer for n in self.nodes if not isinstance(n.layer, InputLayer)]
        out_layer.is_output = True
        if check_flag("Model", "build", build):
            rng = np.random.default_rng(self.seed)
            for layer in self.layers:
                layer.build(rng)
        self.steps = 0
        # training epochs completed over the model's life, across ``train`` calls
        self.epochs = 0
        # while ``train`` runs: a function giving the rows its data can move (``rows_trained_by``)
        self.trained_rows = None

    def _number_layers(self):
        """Name the unnamed layers by kind and place in the graph (``embedding_1``,
        ``fullyconnected_2``, ...), skipping names given explicitly."""
        taken = {n.layer.name for n in self.nodes if not n.layer.auto_named}
        counts = {}
        for node in self.nodes:
            layer = node.layer
            if not layer.auto_named:
                continue
            kind = type(layer).__name__.lower()
            k = counts.get(kind, 0) + 1
            while f"{kind}_{k}" in taken:
                k += 1
            counts[kind] = k
            layer.name, layer.auto_named = f"{kind}_{k}", False
            taken.add(layer.name)

    def layer_names(self) -> list[str]:
        """The names of the inputs' layers, then of ``layers``.

        Returns
        -------
        list of str
        """
        return [node.layer.name for node in self.inputs] + [layer.name for layer in self.layers]

    def rename_layers(self, names: Sequence[str]) -> None:
        """Give the layers (and so their parameters) new names: a model built in another
        process or saved earlier may name its layers otherwise, and gradients and optimizer
        state are keyed by parameter name. A change clears the optimizer's state.

        Parameters
        ----------
        names : sequence of str
            One a layer, in the order of ``layer_names()``.

        Raises
        ------
        ValueError
            When there is not one name a layer.
        """
        if self.layer_names() == list(names):
            return
        layers = [node.layer for node in self.inputs] + self.layers
        if len(layers) != len(names):
            _fail("rename_layers", "names", f"one name a layer (the model has {len(layers)} layers)", names)
        for layer, name in zip(layers, names):
            layer.name = name
            for p in layer.parameters():
                p.name = f"{name}/{p.name.split('/', 1)[1]}"
        self.optimizer.state = {}

    # graph execution -------------------------------------------------------------------

    def parameters(self) -> list[Parameter]:
        """Every layer's trainable parameters.

        Returns
        -------
        list of Parameter
        """
        return [p for layer in self.layers for p in layer.parameters()]

    def add_output_neurons(self, weights: np.ndarray, biases: np.ndarray) -> None:
        """Grow the output layer by ``len(biases)`` neurons (``FullyConnected.add_neurons``),
        with zero optimizer moments for them.

        Parameters
        ----------
        weights : array-like of shape (n, input width)
            The new neurons' weights.
        biases : array-like of shape (n,)
            Their biases.
        """
        self.output.layer.add_neurons(weights, biases)
        self.output.dim = self.output.layer.dim
        self.optimizer.resize(self.output.layer.parameters())

    def sparse_layers(self) -> list[Layer]:
        """The layers with an LSH index (sparse FullyConnected layers).

        Returns
        -------
        list of Layer
        """
        return [layer for layer in self.layers if getattr(layer, "index", None) is not None]

    def check_batch(self, batch: Batch) -> None:
        """Reject a batch whose inputs or labels do not fit the model, naming what is wrong.

        Parameters
        ----------
        batch : Batch
            The batch to check.

        Raises
        ------
        TypeError
            When an input is not a Value.
        ValueError
            For a wrong number of inputs, widths, dtypes, ids out of range, non-finite
            values, or labels that do not fit the output.
        """
        if len(batch.inputs) != len(self.inputs):
            raise ValueError(f"The model has {len(self.inputs)} input(s) but the batch gives {len(batch.inputs)}.")
        for node, value in zip(self.inputs, batch.inputs):
            name, dim = node.layer.name, node.dim
            if not isinstance(value, Value):
                raise TypeError(f"Input '{name}' must be given a Value. Got {type(value).__name__}.")
            if value.is_dense:
                if value.vals.ndim != 2 or value.vals.shape[1] != dim:
                    raise ValueError(f"Input '{name}' expects dense rows of width {dim}. Got shape {value.vals.shape}.")
                if value.vals.dtype != np.float32:
                    raise ValueError(f"Input '{name}' expects float32 values. Got {value.vals.dtype}.")
                finite = np.isfinite(value.vals)
                kind, k = (csr.FRAMED, -1) if finite.all() else (csr.NOT_FINITE, int(np.argmin(finite.reshape(-1))))
            else:
                kind, k = _check_csr(f"Input '{name}'", value.offsets, value.ids, value.vals, dim, True)
                if kind == csr.ID_OUT_OF_RANGE:
                    raise ValueError(f"Input '{name}' expects feature ids in [0, {dim}). Got id {value.ids[k]}.")
            if kind == csr.NOT_FINITE:
                # a NaN or inf input gives NaN scores, whose top k is arbitrary
                row = k // dim if value.is_dense else entry_row(value.offsets, k)
                raise ValueError(f"Input '{name}' expects finite values. Sample {row} has "
                                 f"{value.vals.reshape(-1)[k]}.")
            if value.batch_size != batch.batch_size:
                raise ValueError(f"Input '{name}' has {value.batch_size} samples but input "
                                 f"'{self.inputs[0].layer.name}' has {batch.batch_size}: each input needs one "
                                 f"row a sample.")
        labels = batch.labels
        if labels is not None:
            dim = self.output.dim
            kind, k = _check_csr("Labels", labels.offsets, labels.ids, labels.vals, dim, True)
            if labels.batch_size != batch.batch_size:
                raise ValueError(f"The batch has {batch.batch_size} samples but {labels.batch_size} label rows.")
            if kind == csr.ID_OUT_OF_RANGE:
                raise ValueError(f"Labels must be ids in [0, {dim}) for output '{self.output.layer.name}'. "
                                 f"Got {labels.ids[k]}.")
            if kind == csr.NOT_FINITE or (labels.vals.size and labels.vals.min() < 0):
                # one NaN weight made every output weight NaN; a negative one pushes its label down
                k = k if kind == csr.NOT_FINITE else int(np.argmin(labels.vals))
                raise ValueError(f"Label weights must be finite and at least 0. Sample "
                                 f"{entry_row(labels.offsets, k)} has {labels.vals[k]}.")

    def forward(self, batch: Batch, ctx: Context, skip_output: bool = False) -> dict[Node, Value]:
        """Run the graph on a batch (unchecked: see ``check_batch``).

        Parameters
        ----------
        batch : Batch
            One Value a model input.
        ctx : Context
            What the pass is for.
        skip_output : bool, default=False
            Stop before the output layer.

        Returns
        -------
        dict of Node to Value
            Every node's output.
        """
        values = {}
        for node, value in zip(self.inputs, batch.inputs):
            values[node] = value
        for node in self.nodes:
            if skip_output and node is self.output:
                break
            if node not in values:
                values[node] = node.layer.forward([values[x] for x in node.inputs], ctx)
        return values

    def backward(self, values: dict[Node, Value], dz: np.ndarray, ctx: Context) -> None:
        """Back-propagate dL/dz of the output pre-activations into every parameter's grad.

        Parameters
        ----------
        values : dict of Node to Value
            What ``forward`` returned.
        dz : ndarray of float32
            dL/dz, one value an output value (the loss's second result).
        ctx : Context
            The forward pass's.
        """
        grads = {self.output: dz}
        for node in reversed(self.nodes):
            if isinstance(node.layer, InputLayer):
                continue
            need = [not isinstance(x.layer, InputLayer) for x in node.inputs]
            in_grads = node.layer.backward([values[x] for x in node.inputs], values[node], grads.pop(node),
                                           need, ctx, preactivation=node is self.output)
            for x, g in zip(node.inputs, in_grads):
                if g is not None:
                    grads[x] = grads[x] + g if x in grads else g

    def _check_labeled(self, batch, owner):
        """``check_batch``, and the batch, the parameter of ``owner``, must have labels."""
        self.check_batch(batch)
        if batch.labels is None:
            raise ValueError(f"The 'batch' parameter of {owner} must have labels. Got a batch without labels instead.")

    def _gradients(self, batch, serial=False):
        """Run forward and backward on a checked labeled batch for the next step, leaving
        the gradients in the parameters; returns the batch loss. ``serial``: the forward
        pass takes the kernels' serial twins."""
        ctx = Context(training=True, labels=batch.labels, salt=self.steps + 1, softmax_ce=self.loss.softmax_ce,
                      serial=serial, stream=self.stream)
        values = self.forward(batch, ctx)
        loss, dz = self.loss(values[self.output], batch.labels)
        self.backward(values, dz, ctx)
        return loss

    def train_step(self, batch: Batch, learning_rate: float) -> float:
        """One forward, backward and optimizer step.

        Parameters
        ----------
        batch : Batch
            A labeled batch.
        learning_rate : float
            The step's rate.

        Returns
        -------
        float
            The batch's mean loss.

        Raises
        ------
        ValueError
            For a batch without labels, or one ``check_batch`` rejects.
        """
        check_float("train_step", "learning_rate", learning_rate, 0.0)  # NaN made every weight NaN
        self._check_labeled(batch, "train_step")  # before step_cost reads it
        serial = self.step_cost(batch) < SERIAL_WORK or pool_slow()
        with step_threads(serial):
            loss = self._gradients(batch, serial)
            self.steps += 1
            self.optimizer.step(self.parameters(), learning_rate)
        for layer in self.sparse_layers():
            layer.after_batch(batch.batch_size)
        return loss

    def step_cost(self, batch: Batch) -> float:
        """The forward multiply-adds of ``batch``, roughly (the layers' ``cost``): what
        decides whether a training step runs serial kernels on one thread.

        Parameters
        ----------
        batch : Batch
            A batch of the model's inputs.

        Returns
        -------
        float
        """
        n = batch.batch_size
        widths = {node: (value.dim if value.is_dense else value.ids.shape[0] / max(n, 1))
                  for node, value in zip(self.inputs, batch.inputs)}
        total = 0.0
        for node in self.nodes:
            if node not in widths:
                work, widths[node] = node.layer.cost([widths[x] for x in node.inputs])
                total += work
        return total * n

    def rows_trained_by(self, data: Any) -> dict[str, np.ndarray] | None:
        """The rows of each input Embedding's table that training on ``data`` can move: the
        features the data holds (and a NumericEmbedding's number features). Optimizers
        update only rows with a gradient, so the others keep their values.

        Parameters
        ----------
        data : Any
            Training data; an ``sb.data.SparseDataset`` for an answer.

        Returns
        -------
        dict or None
            {parameter name: int64 row ids}, or None when the data does not tell.
        """
        features = getattr(data, "features", None)
        if len(self.inputs) != 1 or not isinstance(features, Value) or features.is_dense:
            return None
        dim, ids = self.inputs[0].dim, features.ids
        if ids.size and (ids.min() < 0 or ids.max() >= dim):
            return None  # training will name the bad id
        present = np.zeros(dim, dtype=bool)
        present[ids] = True
        out = {}
        for node in self.nodes:
            if isinstance(node.layer, Embedding) and node.inputs[0] is self.inputs[0]:
                rows = present.copy()
                if isinstance(node.layer, NumericEmbedding):
                    rows[np.asarray(node.layer.features, dtype=np.int64)] = True
                out[node.layer.E.name] = np.flatnonzero(rows)
        return out or None

    def dense_cost(self) -> float:
        """The multiply-adds of a sample's dense forward in the fully connected layers that
        read another layer's output, roughly: the matrix products BLAS computes in
        inference (a layer reading the model's inputs, often sparse, runs its own kernel).

        Returns
        -------
        float
        """
        def from_layers(node):
            if isinstance(node.layer, InputLayer):
                return False
            return not isinstance(node.layer, Concatenate) or all(from_layers(x) for x in node.inputs)

        return float(sum(node.inputs[0].dim * node.dim for node in self.nodes
                         if isinstance(node.layer, FullyConnected) and from_layers(node.inputs[0])))

    def compute_gradients(self, batch: Batch) -> tuple[float, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """Forward and backward on ``batch`` without updating. With ``apply_gradients``
        this is ``train_step`` split in two, for data-parallel training where replicas
        combine their gradients in between.

        Parameters
        ----------
        batch : Batch
            A labeled batch.

        Returns
        -------
        loss : float
            The batch's mean loss.
        grads : dict of str to (ndarray, ndarray)
            {parameter name: (rows int32[n], values float32[n, ...])}, only the rows the
            batch touched.

        Raises
        ------
        ValueError
            For a batch without labels, or one ``check_batch`` rejects.
        """
        self._check_labeled(batch, "compute_gradients")
        with step_threads():
            loss = self._gradients(batch)
        return loss, take_gradients(self.parameters())

    def apply_gradients(self, grads: dict[str, tuple[np.ndarray, np.ndarray]], learning_rate: float,
                        batch_size: int) -> None:
        """One optimizer step with gradients from ``compute_gradients`` (possibly combined
        across replicas), then the LSH rebuild schedule's step.

        Parameters
        ----------
        grads : dict of str to (ndarray, ndarray)
            {parameter name: (rows, values)}.
        learning_rate : float
            The step's rate.
        batch_size : int
            Samples behind the gradients, for the rebuild schedule.
        """
        check_float("Model.apply_gradients", "learning_rate", learning_rate, 0.0)
        check_int("Model.apply_gradients", "batch_size", batch_size, 1)
        params = self.parameters()
        put_gradients(params, grads)
        self.steps += 1
        self.optimizer.step(params, learning_rate)
        for layer in self.sparse_layers():
            layer.after_batch(batch_size)

    def output_values(self, batch: Batch, sparse_inference: bool = False, serial: bool = False) -> Value:
        """The output layer's activations for a batch.

        Parameters
        ----------
        batch : Batch
            The samples (unchecked).
        sparse_inference : bool, default=False
            Compute only the neurons the LSH tables retrieve (a sparse Value); else dense.
        serial : bool, default=False
            Run the kernels on one thread (single samples).

        Returns
        -------
        Value
        """
        ctx = Context(training=False, sparse_inference=sparse_inference, serial=serial)
        return self.forward(batch, ctx)[self.output]

    def freeze_tables(self, label_augmentation: bool = True) -> None:
        """Stop rebuilding every sparse layer's hash tables.

        Parameters
        ----------
        label_augmentation : bool, default=True
            The output layer's tables take in the training labels its buckets miss.
        """
        for layer in self.sparse_layers():
            layer.index.freeze(label_augmentation and layer.is_output)

    def unfreeze_tables(self) -> None:
        """Let every sparse layer's hash tables be rebuilt on their schedule again (the next
        rebuild drops pinned labels)."""
        for layer in self.sparse_layers():
            layer.index.unfreeze()

    # user-facing ----------------------------------------------------------------------

    def train(self, data: Any, epochs: int = 1, learning_rate: float | Schedule = 1e-3, validation: Any = None,
              metrics: Sequence[str] | str = (), callbacks: Sequence[Callback] = (), verbose: bool = True,
              label_augmentation: bool = True, augment_from_epoch: int = 1, checkpoint_dir: str | None = None,
              checkpoint_every: int | None = None, keep: int = 3, resume: bool = False, *, y: Any = None,
              batch_size: int | None = None, shuffle: bool | None = None) -> History:
        """Train on ``data`` (an iterable of Batches, e.g. from ``sb.data.load_svm``), or on
        a matrix ``X`` given as ``data`` (SciPy sparse, NumPy or pandas, samples by features)
        with labels ``y`` (int[N] ids, lists of ids, or an N x outputs indicator matrix):
        ``batch_size`` (default 256) and ``shuffle`` (default True, seeded from the model's
        seed and ``model.epochs``) apply to such a matrix only. ``validation`` may then be
        a pair ``(X_val, y_val)``.

        ``learning_rate`` is a number or a ``sb.train.Schedule`` (e.g. ``WarmupDecay``, or
        ``WarmupPlateau`` that follows a validation metric); ``callbacks`` may include
        ``sb.train.EarlyStopping``, which ends training when a validation metric stops
        improving and restores the best epoch's weights and hash tables (a
        ``WarmupPlateau(min_scale=...)`` may end it too, at a plateau past its floor).

        With ``label_augmentation`` the hash tables freeze once the model has completed
        ``augment_from_epoch`` epochs (the default 1: from its second epoch), counted over
        the model's life (``model.epochs``), so one epoch per call gets there too; from then
        on a training label that a sample's buckets miss is pinned into them, so sparse
        inference finds it. Without it the tables are rebuilt on their schedule (tables
        frozen earlier, by augmentation or ``pin_labels``, are unfrozen, and the next rebuild
        drops their pins). A further ``train`` call on a model past that count (fine-tuning,
        or training after ``set_sparsity(..., keep_tables=False)``) freezes its tables at
        once: pass ``label_augmentation=False`` to keep rebuilding them.

        With ``checkpoint_dir`` a checkpoint (a model file with the training position) is
        written there every ``checkpoint_every`` batches and at the end, keeping the newest
        ``keep``; ``resume=True`` continues from the newest one there (or starts afresh if
        there is none). ``epochs`` counts from the start of the run, not of the resume.

        Parameters
        ----------
        data : iterable of Batch, or {array-like, sparse matrix} of shape (n_samples, n_features)
            Batches (``sb.data.load_svm``, ``SparseDataset``), or a matrix ``X`` with ``y``.
        epochs : int, default=1
            Passes over ``data``.
        learning_rate : float or Schedule, default=1e-3
            A constant rate or a schedule.
        validation : iterable of Batch, tuple (X_val, y_val) or None, default=None
            Evaluated with ``metrics`` after each epoch.
        metrics : str or sequence of str, default=()
            Metric names (see ``evaluate``); they need ``validation``.
        callbacks : sequence of Callback, default=()
            Hooks into the loop.
        verbose : bool, default=True
            Show progress bars and epoch logs.
        label_augmentation : bool, default=True
            Freeze the hash tables and pin missed labels (see above).
        augment_from_epoch : int, default=1
            Model epochs completed before the tables freeze.
        checkpoint_dir : str or None, default=None
            Where checkpoints go (a directory without checkpoints unless ``resume``).
        checkpoint_every : int or None, default=None
            Batches between checkpoints; None: one at the end of each epoch.
        keep : int, default=3
            How many of the newest checkpoints to keep.
        resume : bool, default=False
            Continue from the newest checkpoint in ``checkpoint_dir``.
        y : array-like, list of lists or sparse matrix, default=None
            Labels of a matrix ``data``: int ids of shape (n_samples,), a list of label
            lists, or an indicator matrix of shape (n_samples, n_outputs).
        batch_size : int or None, default=None
            Samples a batch of a matrix ``data``; None is 256.
        shuffle : bool or None, default=None
            Shuffle a matrix ``data`` each epoch; None is True.

        Returns
        -------
        History
            The loss and validation metrics of each epoch.

        Raises
        ------
        ValueError
            For a bad parameter, data that does not fit the model (shapes, dtypes, label
            ranges), metrics without validation, or a checkpoint directory that holds
            checkpoints without ``resume``.
        """
        for name, flag in (("verbose", verbose), ("label_augmentation", label_augmentation), ("resume", resume)):
            check_flag("Model.train", name, flag)  # a string 'no' would read as true
        from ..data.arrays import as_data, as_validation
        data = as_data("Model.train", self, data, y, batch_size, shuffle, True, default_shuffle=True)
        validation = as_validation("Model.train", self, validation, batch_size)
        from ..train.trainer import fit
        return fit(self, data, epochs=epochs, learning_rate=learning_rate, validation=validation,
                   metrics=metrics, callbacks=callbacks, verbose=verbose,
                   label_augmentation=label_augmentation, augment_from_epoch=augment_from_epoch,
                   checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every, keep=keep, resume=resume)

    def pin_labels(self, data: Any, n_tables: int | None = None, k: int | None = None, every_bucket: bool = False,
                   verbose: bool = True, *, y: Any = None, batch_size: int | None = None) -> int:
        """Freeze the hash tables and pin every training label of ``data`` that its
        sample's buckets in the output layer miss: label augmentation in one pass, without training,
        for a model trained for fewer epochs than ``augment_from_epoch`` (e.g. one), whose
        sparse inference would otherwise not find many labels. Returns how many were pinned.

        With ``n_tables`` (and ``k``, hashes a table) the output layer's tables are first
        rebuilt from the trained weights with that many tables, for sparse inference: it
        keeps the neurons found in the most of a sample's buckets, and with the few tables
        training needs most are found in one, so more tables rank them better. With ``every_bucket`` a label is
        pinned into each of its sample's buckets that misses it, not only when all do: a
        query then finds the labels of the training samples it shares the most buckets
        with (examples/wordnet_search.py).

        Parameters
        ----------
        data : iterable of Batch, Batch, or {array-like, sparse matrix}
            Labeled batches, or a matrix ``X`` with labels ``y``, as in ``train``.
        n_tables : int or None, default=None
            Rebuild the output layer's tables with this many tables first.
        k : int or None, default=None
            Hashes a table of the rebuilt tables.
        every_bucket : bool, default=False
            Pin a label into each bucket that misses it (see above).
        verbose : bool, default=True
            Show a progress bar.
        y : array-like, list of lists or sparse matrix, default=None
            Labels of a matrix ``data``, as in ``train``.
        batch_size : int or None, default=None
            Samples a batch of a matrix ``data``.

        Returns
        -------
        int
            How many (sample, label) pairs were pinned.

        Raises
        ------
        ValueError
            When the output layer has no hash tables, or for data without labels.
        """
        from ..data.arrays import as_data
        data = as_data("Model.pin_labels", self, data, y, batch_size, None, True)
        from ..train.augment import pin_labels
        return pin_labels(self, data, n_tables=n_tables, k=k, every_bucket=every_bucket, verbose=verbose)

    def prepare_sparse_inference(self, data: Any, tables: int = 4, extra_hashes: int = 1,
                                 sparsity: float | None = None, verbose: bool = True, *, y: Any = None,
                                 batch_size: int | None = None) -> int:
        """Ready a trained model's sparse inference for new inputs: the output layer's tables
        are rebuilt with ``tables`` times as many tables of ``extra_hashes`` more hashes each,
        every training label of ``data`` is pinned into each bucket of its sample that misses
        it, and the layer computes ``sparsity`` of its neurons (None: half its current
        sparsity). The new settings stay for further training (``rebuild_tables``,
        ``set_sparsity``).

        Parameters
        ----------
        data : SparseDataset, iterable of Batch, or a matrix X (with ``y``)
            The training data, with labels.
        tables : int
            Tables for inference, as a multiple of the layer's.
        extra_hashes : int
            Hashes added to each table's key.
        sparsity : float or None
            Share of the output neurons sparse inference computes.
        verbose : bool
            Show a progress bar.
        y : labels or None
            The labels when ``data`` is a matrix X.
        batch_size : int or None
            Batch size when ``data`` is a matrix X.

        Returns
        -------
        int
            The number of (sample, label) pairs pinned.

        Raises
        ------
        ValueError
            When the output layer has no hash tables, or for data without labels.
        """
        from ..data.arrays import as_data
        data = as_data("Model.prepare_sparse_inference", self, data, y, batch_size, None, True)
        from ..train.augment import prepare_sparse_inference
        return prepare_sparse_inference(self, data, tables, extra_hashes, sparsity, verbose)

    def layer(self, name: str) -> Layer:
        """The layer called ``name``.

        Parameters
        ----------
        name : str
            A layer's name (``layer_names()``; inputs are not layers here).

        Returns
        -------
        Layer

        Raises
        ------
        ValueError
            When there is none; the message lists the model's layer names.
        """
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = ", ".join(repr(x.name) for x in self.layers)
        _fail("Model.layer", "name", f"the name of one of the model's layers ({names})", name)

    def set_sparsity(self, layer: FullyConnected | str, sparsity: float, keep_tables: bool | None = None) -> None:
        """Change a trained FullyConnected layer's sparsity without retraining. Applies to
        further training and to sparse inference; 1.0 makes the layer dense.

        Parameters
        ----------
        layer : FullyConnected or str
            A FullyConnected layer of this model, or its name.
        sparsity : float in (0, 1]
            The new fraction of neurons a sample computes.
        keep_tables : bool or None, default=None
            Keep the hash tables (only the active size changes) instead of deriving the
            hash settings again and rebuilding them; None: when the tables hold labels
            pinned in training, which a rebuild would lose (``FullyConnected.set_sparsity``).

        Raises
        ------
        ValueError
            When ``layer`` is not a FullyConnected layer of the model, or for a bad value.
        """
        if isinstance(layer, str):  # an unknown name is refused below, as this method's parameter
            layer = next((x for x in self.layers if x.name == layer), layer)
        if not isinstance(layer, FullyConnected) or layer not in self.layers:
            names = ", ".join(repr(x.name) for x in self.layers if isinstance(x, FullyConnected))
            _fail("set_sparsity", "layer", f"a FullyConnected layer of this model or its name ({names})", layer)
        layer.set_sparsity(sparsity, keep_tables)

    def evaluate(self, data: Any, metrics: Sequence[str] | str = ("precision@1",), sparse_inference: bool = False,
                 verbose: bool = False, *, y: Any = None, batch_size: int | None = None) -> dict[str, float]:
        """Metrics over labeled data.

        Parameters
        ----------
        data : Batch, iterable of Batch, or {array-like, sparse matrix}
            Labeled batches, or a matrix ``X`` with labels ``y`` (as in ``train``).
        metrics : str or sequence of str, default=('precision@1',)
            'precision@k', 'recall@k' (k a positive integer), 'categorical_accuracy', 'auc'
            (binary output), 'neg_log_loss' (softmax output).
        sparse_inference : bool, default=False
            Score only the output neurons the LSH tables retrieve.
        verbose : bool, default=False
            Show a progress bar.
        y : array-like, list of lists or sparse matrix, default=None
            Labels of a matrix ``data``.
        batch_size : int or None, default=None
            Samples a batch of a matrix ``data``.

        Returns
        -------
        dict of str to float
            {metric name: value}, one row of a table
            (``pandas.DataFrame([model.evaluate(X, y=y)])``).

        Raises
        ------
        ValueError
            For an unknown metric, no samples, or data without labels.
        """
        from ..data.arrays import as_data
        data = as_data("Model.evaluate", self, data, y, batch_size, None, True)
        from ..train.inference import evaluate
        return evaluate(self, data, metrics, sparse_inference=sparse_inference, verbose=verbose)

    def predict(self, data: Any, top_k: int = 1, sparse_inference: bool = False, *,
                batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The top-k outputs of each sample, best first, in the data's own order (even when
        it shuffles for training).

        Parameters
        ----------
        data : Batch, Value, iterable of Batch, or {array-like, sparse matrix}
            The samples: a Value for a single-input model, or a matrix ``X`` as in ``train``.
        top_k : int, default=1
            Outputs a sample.
        sparse_inference : bool, default=False
            Score only the output neurons the LSH tables retrieve.
        batch_size : int or None, default=None
            Samples a batch of a matrix ``data``; None is 256.

        Returns
        -------
        ids : ndarray of int32, shape (n_samples, top_k)
            Output ids; -1 pads rows with fewer outputs.
        scores : ndarray of float32, shape (n_samples, top_k)
            Their activations (-inf where padded).
        """
        from ..data.arrays import as_data
        data = as_data("Model.predict", self, data, None, batch_size, None, False)
        from ..train.inference import predict
        return predict(self, data, top_k, sparse_inference=sparse_inference)

    def summary(self) -> str:
        """One line a layer with its name, kind, width, parameters and sparsity.

        Returns
        -------
        str
        """
        lines = []
        for node in self.nodes:
            layer = node.layer
            n_params = sum(p.value.size for p in layer.parameters())
            extra = ""
            if isinstance(layer, FullyConnected) and layer.is_sparse:
                c = layer.index.config
                extra = (f" sparsity={layer.sparsity} lsh={c.family} K={c.k} L={c.n_tables} "
                         f"R={c.reservoir} range_pow={c.range_pow}")
            lines.append(f"{layer.name:<24} {type(layer).__name__:<15} dim={node.dim:<9} params={n_params}{extra}")
        return "\n".join(lines)

    # saving --------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The graph as plain data (``from_config`` rebuilds it).

        Returns
        -------
        dict
            The inputs, the layers in order with their class, config and input names, the
            output, loss, optimizer and seed; JSON-able.
        """
        return {"inputs": [node.layer.get_config() for node in self.inputs],
                "layers": [{"class": type(node.layer).__name__, "config": node.layer.get_config(),
                            "inputs": [x.layer.name for x in node.inputs]}
                           for node in self.nodes if not isinstance(node.layer, InputLayer)],
                "output": self.output.layer.name, "loss": self.loss.get_config(),
                "optimizer": self.optimizer.get_config(), "seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any], build: bool = True) -> Model:
        """A Model rebuilt from ``get_config()``.

        Parameters
        ----------
        config : dict
            What ``get_config`` returned.
        build : bool, default=True
            Build the layers (fresh weights); False leaves them to take a saved state.

        Returns
        -------
        Model

        Raises
        ------
        ValueError
            For an unknown layer class, or a layer config whose keys are not those
            ``get_config`` writes.
        """
        nodes = {}
        inputs = []
        for spec in config["inputs"]:
            node = InputLayer(spec["dim"], name=spec["name"]).node
            nodes[spec["name"]] = node
            inputs.append(node)
        for spec in config["layers"]:
            layer_cls = LAYER_CLASSES.get(spec["class"])
            if layer_cls is None:
                raise ValueError(f"unknown layer class {spec['class']!r}")
            kwargs = dict(spec["config"])
            _check_config_keys(f"layer {kwargs.get('name')!r} ({spec['class']})", layer_cls, kwargs)
            name = kwargs.pop("name")
            nodes[name] = layer_cls(name=name, **kwargs)(*[nodes[x] for x in spec["inputs"]])
        opt = dict(config["optimizer"])
        opt_cls = OPTIMIZERS[opt.pop("name")]
        _check_config_keys(f"optimizer {opt_cls.name!r}", opt_cls, opt)
        optimizer = opt_cls(**opt)
        loss = dict(config["loss"])
        return cls(inputs, nodes[config["output"]], loss=LOSSES[loss.pop("name")](**loss), optimizer=optimizer,
                   seed=config["seed"], build=build)

    def get_state(self, optimizer_state: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Everything training changes; ``set_state`` on a model of the same config takes
        it back.

        Parameters
        ----------
        optimizer_state : bool, default=True
            Include the optimizer's state.

        Returns
        -------
        meta : dict
            JSON-able: the step and epoch counters, each layer's meta and the optimizer's.
        arrays : dict of str to ndarray
            Each layer's arrays under ``layers/<name>/``, the optimizer's under
            ``optimizer/``.
        """
        meta = {"steps": self.steps, "epochs": self.epochs, "layers": {}, "optimizer": None}
        arrays = {}
        for layer in self.layers:
            meta["layers"][layer.name], layer_arrays = layer.get_state()
            layer_arrays = prefixed(f"layers/{layer.name}", layer_arrays)
            clash = arrays.keys() & layer_arrays.keys()
            if clash:  # names with '/' ('emb' and 'emb/rows' both give 'layers/emb/rows/E')
                raise ValueError(f"Layer '{layer.name}' has the array {sorted(clash)[0]!r} of another layer: "
                                 f"rename one of them (without '/').")
            arrays.update(layer_arrays)
        if optimizer_state:
            meta["optimizer"], opt_arrays = self.optimizer.get_state()
            arrays.update(prefixed("optimizer", opt_arrays))
        return meta, arrays

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Give every layer, the optimizer (when saved) and the counters a ``get_state``.

        Parameters
        ----------
        meta, arrays
            As ``get_state`` returned them.

        Raises
        ------
        ValueError
            When the state does not fit the model.
        """
        for layer in self.layers:
            if layer.name not in meta["layers"]:
                raise ValueError(f"no saved state for layer '{layer.name}'")
            layer.set_state(meta["layers"][layer.name], unprefixed(f"layers/{layer.name}", arrays))
        if meta.get("optimizer") is not None:
            self.optimizer.set_state(meta["optimizer"], unprefixed("optimizer", arrays), self.parameters())
        # files written before the epoch counter existed lack it
        counters = {"steps": meta["steps"], "epochs": meta.get("epochs", 0)}
        for name, value in counters.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"the {name} counter must be an int >= 0, not {value!r}")
        self.steps, self.epochs = counters["steps"], counters["epochs"]

    def check_savable(self, verb: str = "save", holder: str = "model files hold") -> None:
        """Check that the model uses only the library's own layer, loss and optimizer
        classes, the ones a config (in a file, or on another process) can rebuild.

        Parameters
        ----------
        verb : str, default='save'
            Words the error: "Cannot {verb} ...".
        holder : str, default='model files hold'
            Words the error: "...: {holder} the built-in ...".

        Raises
        ------
        TypeError
            Naming the first class that cannot be rebuilt.
        """
        for layer in self.layers:
            if LAYER_CLASSES.get(type(layer).__name__) is not type(layer):
                raise TypeError(f"Cannot {verb} layer '{layer.name}' of class {type(layer).__name__}: {holder} "
                                f"the built-in layers only ({', '.join(LAYER_CLASSES)}).")
        for what, obj, registry in (("loss", self.loss, LOSSES), ("optimizer", self.optimizer, OPTIMIZERS)):
            if registry.get(obj.get_config().get("name")) is not type(obj):
                raise TypeError(f"Cannot {verb} a model whose {what} is a {type(obj).__name__}: {holder} the "
                                f"built-in ones only ({', '.join(registry)}).")

    def save(self, path: str | os.PathLike, optimizer_state: bool = True) -> None:
        """Write the model to ``path`` atomically (format: docs/file-format.md).

        Parameters
        ----------
        path : str or path-like
            The file to write.
        optimizer_state : bool, default=True
            Keep Adam's moments; without them the file is a third the size but further
            training restarts them.

        Raises
        ------
        TypeError
            For a layer, loss or optimizer class a file cannot rebuild.
        """
        save_model_file(self, path, optimizer_state=optimizer_state)

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = False, verify: bool | None = None,
             optimizer_state: bool = True) -> Model:
        """A model from a file ``save`` wrote (the network of a UniversalDeepTransformer's
        file too).

        Parameters
        ----------
        path : str or path-like
            The model file.
        mmap : bool, default=False
            Map the arrays copy-on-write instead of reading them.
        verify : bool or None, default=None
            Check every array's CRC-32; None: when not ``mmap``.
        optimizer_state : bool, default=True
            Read the optimizer's state too, when the file has it.

        Returns
        -------
        Model

        Raises
        ------
        FileNotFoundError
            When there is no file at ``path``.
        ModelFileError
            For a damaged file or one of an unknown format version.
        """
        return load_model_file(path, mmap=mmap, verify=verify, optimizer_state=optimizer_state)[0]


def load_model_file(path: str | os.PathLike, mmap: bool = False, verify: bool | None = None,
                    optimizer_state: bool = True) -> tuple[Model, dict[str, Any], dict[str, np.ndarray]]:
    """(Model, manifest, {key: array} of the arrays outside the model's state) from a model file."""
    check_flag("load", "mmap", mmap)
    check_flag("load", "optimizer_state", optimizer_state)
    if verify is not None:
        check_flag("load", "verify", verify)
    with open_model_file(path) as archive:
        try:
            model = Model.from_config(archive.manifest["model"], build=False)
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(archive.path, "manifest.json", f"has a model config that cannot be built ({e})") from None
        meta, arrays = read_state(archive, mmap, verify, optimizer_state)
        own, others = split_arrays(arrays)
        set_model_state(archive.path, model, meta, own)
        return model, archive.manifest, others
