"""The neuron index of one sparse layer: hash function, tables and rebuild schedule."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._state import meta_int, prefixed, take, unprefixed
from .._validation import _fail
from .config import LSHConfig, rebuild_cost, schedule
from .hash_functions import make_hash_function
from .tables import HashTables

if TYPE_CHECKING:
    from ..data.value import Value

# neighbouring buckets sparse inference probes in each table besides the input's own (those of
# the hashes whose winner leads by the least): inputs unlike any training sample miss their
# best neurons' bucket by one hash often, and each probe costs about one more table lookup
PROBES = 2
# share of the training active set an output layer computes in sparse inference, the
# neurons its input's buckets rank highest: training needs the negatives, a top-k only the
# best candidates, which the ranking puts first. At 0.6 on four trained models (planted 2K and
# 50K, synthetic 670K, the demo recipe's) P@1 moved -0.22 to +0.14 points from the full
# width's and the time was 0.69-0.90 of it; at 0.4 planted 50K lost 0.78
INFERENCE_SHARE = 0.6
# share of a training active set given to labels of the batch's other samples: labels
# popular elsewhere get pushed down where LSH never retrieves them, so they do not outscore
# a sample's own labels when every neuron is scored (dense inference)
NEGATIVE_SHARE = 0.3


class NeuronIndex:
    """Finds, for each input, the neurons whose weight rows hash to the same buckets.

    Parameters
    ----------
    dim : int
        Number of neurons.
    input_dim : int
        Width of the weight rows.
    config : LSHConfig
        The hash settings.
    n_active : int
        Neurons a sample computes (weighs the rebuild schedule).
    seed : int, default=0
        Seeds the hash functions, the reservoirs and the padding permutation.
    """

    def __init__(self, dim: int, input_dim: int, config: LSHConfig, n_active: int, seed: int = 0) -> None:
        self.dim = dim
        self.input_dim = input_dim
        self.config = config
        self.n_active = n_active
        self.seed = int(seed)
        self.batches = 0
        self.rebuilds = 0
        self.frozen = False
        self.label_augmentation = False
        self.labels_inserted = 0
        # data-parallel replicas pin the labels of every replica's batch in one order:
        # with ``defer_labels`` a batch's pins are kept in ``deferred`` for ``insert_deferred``
        self.defer_labels = False
        self.deferred = []
        # neurons sparse inference scores for every input (``score_always``)
        self.always = np.zeros(0, dtype=np.int32)
        self.rebuild_every = config.rebuild_every
        self.rehash_every = config.rehash_every
        # what ``set_schedule`` was last given, for ``take_over``
        self.scheduled_for = None
        rng = np.random.default_rng(self.seed)
        self.perm = rng.permutation(dim).astype(np.int32)
        if config.family == "random":
            self.hash_fn = None
            self.tables = HashTables(0, 0, 1)
        else:
            self.hash_fn = make_hash_function(config.family, input_dim, config.n_tables, config.k,
                                              seed=self.seed)
            self.tables = HashTables(config.n_tables, config.range_pow, config.reservoir)

    def take_over(self, old: NeuronIndex) -> None:
        """Keep what an index made anew for the same layer inherits from the one it replaces:
        the neurons scored for every input (new tables place them no better than the old ones
        did), and, in training, the rebuild schedule the data set and a replica's deferred pins.

        Parameters
        ----------
        old : NeuronIndex
            The index this one replaces.
        """
        self.always = old.always[old.always < self.dim]
        if old.scheduled_for is not None:
            self.set_schedule(*old.scheduled_for)
        self.defer_labels = old.defer_labels

    def set_schedule(self, batches_per_epoch: int | None, batch_size: int) -> None:
        """Fill in the rebuild intervals the config leaves open.

        Parameters
        ----------
        batches_per_epoch : int or None
            None for streaming data of unknown length.
        batch_size : int
            Samples a batch.
        """
        self.scheduled_for = (batches_per_epoch, batch_size)
        cost = rebuild_cost(self.dim, self.input_dim, self.config, self.n_active, batch_size)
        rebuild, rehash = schedule(batches_per_epoch, batch_size, cost)
        self.rebuild_every = self.config.rebuild_every or rebuild
        self.rehash_every = self.config.rehash_every or rehash

    def rebuild(self, weights: np.ndarray) -> None:
        """Rehash every neuron's weight row into fresh tables (nothing for 'random').

        Parameters
        ----------
        weights : ndarray of float32, shape (dim, input_dim)
            The layer's weights.
        """
        if self.hash_fn is None:
            return
        keys = self.hash_fn.hash_dense(weights)
        self.rebuilds += 1
        self.tables.build(keys, self.seed + self.rebuilds)

    def add_neurons(self, weights: np.ndarray, n_active: int) -> None:
        """Take neurons appended to the layer into the tables as they are: a rebuild would
        drop the labels pinned in them (``Model.prepare_sparse_inference``'s).

        Parameters
        ----------
        weights : ndarray of float32, shape (n, input_dim)
            The new neurons' weight rows; their ids follow the current ``dim``.
        n_active : int
            Neurons a sample computes at the new width.
        """
        first = self.dim
        self.dim += weights.shape[0]
        self.n_active = n_active
        self.perm = np.concatenate([self.perm, np.arange(first, self.dim, dtype=np.int32)])
        if self.hash_fn is not None:
            self.tables.insert(self.hash_fn.hash_dense(weights), first, self.seed + self.rebuilds)

    def after_batch(self, weights: np.ndarray, batch_size: int) -> None:
        """Advance the schedule by one training batch; rebuild or redraw when due (not when
        frozen). Training outside ``Model.train`` gets the streaming schedule for its batch
        size.

        Parameters
        ----------
        weights : ndarray of float32, shape (dim, input_dim)
            The layer's weights.
        batch_size : int
            Samples of the batch.
        """
        self.batches += 1
        if self.hash_fn is None or self.frozen:
            return
        if self.rebuild_every is None:
            self.set_schedule(None, batch_size)
        if self.rehash_every and self.batches % self.rehash_every == 0:
            self.hash_fn.regenerate(self.seed + 7919 * self.batches)
            self.rebuild(weights)
        elif self.rebuild_every and self.batches % self.rebuild_every == 0:
            self.rebuild(weights)

    def freeze(self, label_augmentation: bool = True) -> None:
        """Stop rebuilding.

        Parameters
        ----------
        label_augmentation : bool, default=True
            From now on pin the training labels a sample's buckets miss into them (see
            ``HashTables.insert_labels``).
        """
        self.frozen = True
        self.label_augmentation = bool(label_augmentation)

    def unfreeze(self) -> None:
        """Rebuild on schedule again, stop pinning labels, and stop scoring ``always``
        neurons: training places them like the others."""
        self.frozen = False
        self.label_augmentation = False
        self.always = np.zeros(0, dtype=np.int32)

    def score_always(self, ids: np.ndarray, on: bool = True) -> None:
        """Have sparse inference score neurons ``ids`` for every input (``on``), or no
        longer (not ``on``), whatever the tables hold: neurons of classes added after
        training, whose weights no training placed and whose few rows pins cannot cover.
        Until training starts again without label augmentation (``unfreeze``); a layer's new
        tables (``FullyConnected.set_sparsity``, ``rebuild_tables``) keep them.

        Parameters
        ----------
        ids : array-like of int
            Neuron ids in [0, dim).
        on : bool, default=True
            Add them, or remove them.
        """
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.dim):
            _fail("NeuronIndex.score_always", "ids", f"neuron ids in [0, {self.dim})", ids.tolist())
        self.always = (np.union1d(self.always, ids) if on else np.setdiff1d(self.always, ids)).astype(np.int32)

    def _pin(self, keys, lab_offsets, lab_ids, every=False):
        inserted = self.tables.insert_labels(keys, lab_offsets, lab_ids, every)
        self.labels_inserted += inserted
        return inserted

    def pin_labels(self, value: Value, lab_offsets: np.ndarray, lab_ids: np.ndarray, every: bool = False,
                   probes: int = 0) -> int:
        """Pin each label that the buckets of its sample miss, or with ``every`` that any
        of them misses (into those).

        Parameters
        ----------
        value : Value
            The layer's input batch.
        lab_offsets : ndarray of int64, shape (B + 1,)
            Row boundaries of the labels.
        lab_ids : ndarray of int32, shape (nnz,)
            The labels.
        every : bool, default=False
            Pin into each bucket that misses the label.
        probes : int, default=0
            Also into the neighbouring buckets sparse inference probes (``query_keys``),
            each probe as a sample of its own: for labels known from a few samples only,
            whose unseen ones land in a neighbouring bucket.

        Returns
        -------
        int
            How many (sample, label) pairs were pinned (each probe of a sample its own).
        """
        if not probes:
            return self._pin(self.query_keys(value), lab_offsets, lab_ids, every)
        keys = self.query_keys(value, probes=probes)
        n, n_tables, per = keys.shape
        keys = np.ascontiguousarray(keys.transpose(0, 2, 1)).reshape(n * per, n_tables)
        sample = np.repeat(np.arange(n), per)
        counts = np.diff(lab_offsets)[sample]
        offsets = np.zeros(sample.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        ids = lab_ids[np.repeat(lab_offsets[:-1][sample] - offsets[:-1], counts) + np.arange(offsets[-1])]
        return self._pin(keys, offsets, ids, every)

    def insert_deferred(self, pins: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        """Pin labels kept by ``defer_labels``, in list order.

        Parameters
        ----------
        pins : list of tuple
            (keys int32[B, n_tables], label offsets int64[B + 1], label ids int32[nnz]).
        """
        for keys, lab_offsets, lab_ids in pins:
            self._pin(keys, lab_offsets, lab_ids)

    def query_keys(self, value: Value, serial: bool = False, probes: int | None = None) -> np.ndarray:
        """Bucket keys of a batch of layer inputs.

        Parameters
        ----------
        value : Value
            The layer's input batch.
        serial : bool, default=False
            Run single-threaded.
        probes : int or None, default=None
            Also that many neighbouring keys a table (at most ``k``;
            ``HashFunction.probe_dense``).

        Returns
        -------
        ndarray of int32
            Shape (B, n_tables), or (B, n_tables, 1 + probes) with ``probes``.
        """
        fn = self.hash_fn
        if fn is None:
            return np.zeros((value.batch_size, 0) if probes is None else (value.batch_size, 0, 1), dtype=np.int32)
        if probes is None:
            if value.is_dense:
                return fn.hash_dense(value.vals, serial)
            return fn.hash_sparse(value.offsets, value.ids, value.vals, serial)
        probes = min(probes, fn.k)
        if value.is_dense:
            return fn.probe_dense(value.vals, probes, serial)
        return fn.probe_sparse(value.offsets, value.ids, value.vals, probes, serial)

    def active(self, value: Value, width: int, lab_offsets: np.ndarray | None = None,
               lab_ids: np.ndarray | None = None, salt: int = 0, serial: bool = False,
               ranked: bool = False) -> np.ndarray:
        """Active neuron ids of each sample: labels (if given) first, then (training) up to
        ``NEGATIVE_SHARE`` of the width from other samples' labels, then the neurons its
        buckets hold, padded with random ones. Pins labels when label augmentation is on.

        Parameters
        ----------
        value : Value
            The layer's input batch.
        width : int
            Active ids a sample.
        lab_offsets, lab_ids : ndarray or None, default=None
            The samples' labels as CSR rows.
        salt : int, default=0
            Varies the padding from step to step.
        serial : bool, default=False
            Run single-threaded.
        ranked : bool, default=False
            Sparse inference: also probe ``PROBES`` neighbouring buckets of each table and
            keep the neurons found in the most buckets instead of the first found.

        Returns
        -------
        ndarray of int32, shape (B, width)
        """
        keys = self.query_keys(value, serial, probes=PROBES if ranked else None)
        if self.label_augmentation and lab_offsets is not None and self.hash_fn is not None:
            own = np.ascontiguousarray(keys[:, :, 0]) if ranked else keys
            if self.defer_labels:
                self.deferred.append((own, lab_offsets, lab_ids))
            else:
                self._pin(own, lab_offsets, lab_ids)
        if lab_offsets is None:
            # sparse inference takes the ``always`` neurons first, as a row's labels, beside
            # the width it retrieves (in it, enough of them left no room for the tables')
            n_always = self.always.shape[0] if ranked else 0
            lab_offsets = np.arange(value.batch_size + 1, dtype=np.int64) * n_always
            lab_ids = np.tile(self.always[:n_always], value.batch_size)
            width = min(self.dim, width + n_always)
        salt = self.seed * 1_000_003 + salt
        if ranked:
            return self.tables.query_ranked(keys, lab_offsets, lab_ids, width, self.perm, salt, serial)
        n_negatives = int(NEGATIVE_SHARE * width) if lab_ids.shape[0] else 0
        return self.tables.query(keys, lab_offsets, lab_ids, width, self.perm, salt, serial, n_negatives)

    # saved state (sparsebolt.io) ------------------------------------------------------------

    # counters and flags kept in a saved model besides the constructor's arguments
    _SAVED = ("batches", "rebuilds", "rebuild_every", "rehash_every", "frozen", "label_augmentation",
              "labels_inserted")

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The index for model files. The tables are kept, not rebuilt on load: they were
        built from the weights of the last rebuild and may hold pinned labels.

        Returns
        -------
        meta : dict
            Settings, counters and flags, the hash function's meta.
        arrays : dict of str to ndarray
            The padding permutation, the tables and the hash function's parameters.
        """
        meta = {"dim": self.dim, "input_dim": self.input_dim, "config": self.config.to_dict(),
                "n_active": self.n_active, "seed": self.seed}
        meta.update({name: getattr(self, name) for name in self._SAVED})
        arrays = {"perm": self.perm, "always": self.always, **prefixed("tables", self.tables.get_state()[1])}
        if self.hash_fn is not None:
            meta["hash"], hash_arrays = self.hash_fn.get_state()
            arrays.update(prefixed("hash", hash_arrays))
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> NeuronIndex:
        """An index rebuilt from ``get_state``, its array shapes checked before anything
        is allocated.

        Parameters
        ----------
        meta, arrays
            As ``get_state`` returned them.

        Returns
        -------
        NeuronIndex

        Raises
        ------
        ValueError
            When they do not fit together.
        """
        # the tables' shape from the file's config must be the saved array's before the
        # constructor allocates it (a crafted reservoir of 10**6, within LSHConfig's cap, would take gigabytes)
        config = LSHConfig(**meta["config"])
        if config.family != "random":
            want = (config.n_tables, 1 << config.range_pow, config.reservoir)
            got = getattr(arrays.get("tables/buckets"), "shape", None)
            if got != want:
                raise ValueError(f"The array 'tables/buckets' of NeuronIndex must have the shape {list(want)} its "
                                 f"settings give. Got {got} instead.")
        index = cls(meta_int("NeuronIndex", meta, "dim", 1), meta_int("NeuronIndex", meta, "input_dim", 1),
                    LSHConfig(**meta["config"]), meta_int("NeuronIndex", meta, "n_active", 1),
                    seed=meta_int("NeuronIndex", meta, "seed"))
        index.set_state(meta, arrays)
        return index

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Take the counters, flags, permutation, tables and hash parameters of a
        ``get_state`` of an index with the same settings.

        Parameters
        ----------
        meta, arrays
            As ``get_state`` returned them.

        Raises
        ------
        ValueError
            When they do not fit the index.
        """
        for name in ("batches", "rebuilds", "labels_inserted"):
            setattr(self, name, meta_int("NeuronIndex", meta, name))
        for name in ("rebuild_every", "rehash_every"):
            setattr(self, name, meta_int("NeuronIndex", meta, name, low=1, optional=True))
        self.frozen, self.label_augmentation = bool(meta["frozen"]), bool(meta["label_augmentation"])
        perm = take("NeuronIndex", arrays, "perm", (self.dim,), np.int32, 0, self.dim)
        # the padding of an active set walks ``perm`` until it finds enough neurons not yet
        # taken: with a repeated id it could walk forever
        if np.bincount(perm, minlength=self.dim).max(initial=0) > 1:
            raise ValueError(f"The array 'perm' of NeuronIndex must be a permutation of 0..{self.dim - 1}. "
                             f"Got repeated ids instead.")
        if self.n_active > self.dim:
            raise ValueError(f"The saved setting 'n_active' of NeuronIndex must be at most dim={self.dim}. "
                             f"Got {self.n_active} instead.")
        self.perm = perm
        # files written before it have none
        always = arrays.get("always", np.zeros(0, dtype=np.int32))
        length = always.shape[0] if isinstance(always, np.ndarray) and always.ndim == 1 else -1
        always = take("NeuronIndex", {"always": always}, "always", (length,), np.int32, 0, self.dim)
        if np.unique(always).size != always.size:
            raise ValueError("The array 'always' of NeuronIndex must hold distinct neuron ids. Got repeated ids "
                             "instead.")
        self.always = always
        self.tables.set_state({}, unprefixed("tables", arrays), self.dim)
        if self.hash_fn is not None:
            self.hash_fn.set_state(meta["hash"], unprefixed("hash", arrays))
