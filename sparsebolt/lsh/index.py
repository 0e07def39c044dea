"""The neuron index of one sparse layer: hash function, tables and rebuild schedule."""
import numpy as np

from .._state import meta_int, prefixed, take, unprefixed
from .config import LSHConfig, rebuild_cost, schedule
from .hash_functions import make_hash_function
from .tables import HashTables

# neighbouring buckets sparse inference probes in each table besides the input's own (those of
# the hashes whose winner leads by the least): inputs unlike any training sample miss their
# best neurons' bucket by one hash often, and each probe costs about one more table lookup
PROBES = 2
# share of a training active set given to labels of the batch's other samples: labels
# popular elsewhere get pushed down where LSH never retrieves them, so they do not outscore
# a sample's own labels when every neuron is scored (dense inference)
NEGATIVE_SHARE = 0.3


class NeuronIndex:
    """Finds, for each input, the neurons whose weight rows hash to the same buckets.

    dim : number of neurons; input_dim : width of the weight rows; config : LSHConfig;
    n_active : neurons a sample computes (weighs the rebuild schedule).
    """

    def __init__(self, dim, input_dim, config, n_active, seed=0):
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
        self.rebuild_every = config.rebuild_every
        self.rehash_every = config.rehash_every
        rng = np.random.default_rng(self.seed)
        self.perm = rng.permutation(dim).astype(np.int32)
        if config.family == "random":
            self.hash_fn = None
            self.tables = HashTables(0, 0, 1)
        else:
            self.hash_fn = make_hash_function(config.family, input_dim, config.n_tables, config.k,
                                              seed=self.seed)
            self.tables = HashTables(config.n_tables, config.range_pow, config.reservoir)

    def set_schedule(self, batches_per_epoch, batch_size):
        """Fill in the rebuild intervals the config leaves open (``batches_per_epoch`` may
        be None for streaming data)."""
        cost = rebuild_cost(self.dim, self.input_dim, self.config, self.n_active, batch_size)
        rebuild, rehash = schedule(batches_per_epoch, batch_size, cost)
        self.rebuild_every = self.config.rebuild_every or rebuild
        self.rehash_every = self.config.rehash_every or rehash

    def rebuild(self, weights):
        """Rehash every neuron's weight row (float32[dim, input_dim]) into fresh tables."""
        if self.hash_fn is None:
            return
        keys = self.hash_fn.hash_dense(weights)
        self.rebuilds += 1
        self.tables.build(keys, self.seed + self.rebuilds)

    def after_batch(self, weights, batch_size):
        """Advance the schedule by one training batch; rebuild or redraw when due. Training
        outside ``Model.train`` gets the streaming schedule for its batch size."""
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

    def freeze(self, label_augmentation=True):
        """Stop rebuilding; with ``label_augmentation`` the training labels a sample's
        buckets miss are pinned into them from now on (see ``HashTables.insert_labels``)."""
        self.frozen = True
        self.label_augmentation = bool(label_augmentation)

    def unfreeze(self):
        self.frozen = False
        self.label_augmentation = False

    def _pin(self, keys, lab_offsets, lab_ids, every=False):
        inserted = self.tables.insert_labels(keys, lab_offsets, lab_ids, every)
        self.labels_inserted += inserted
        return inserted

    def pin_labels(self, value, lab_offsets, lab_ids, every=False):
        """Pin each label (CSR rows ``lab_offsets``, ``lab_ids``) that the buckets of its
        sample (a row of the layer input ``value``) miss, or with ``every`` that any of them
        misses (into those); returns how many were pinned."""
        return self._pin(self.query_keys(value), lab_offsets, lab_ids, every)

    def insert_deferred(self, pins):
        """Pin labels kept by ``defer_labels``: a list of (keys int32[B, n_tables], label
        offsets int64[B + 1], label ids int32[nnz]), inserted in list order."""
        for keys, lab_offsets, lab_ids in pins:
            self._pin(keys, lab_offsets, lab_ids)

    def query_keys(self, value, serial=False, probes=None):
        """Bucket keys of a batch of layer inputs (a ``Value``): int32[B, n_tables], or with
        ``probes`` (an int <= K) int32[B, n_tables, 1 + probes], each key followed by that
        many neighbouring keys (``HashFunction.probe_dense``)."""
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

    def active(self, value, width, lab_offsets=None, lab_ids=None, salt=0, serial=False, ranked=False):
        """Active neuron ids, int32[B, width], labels (if given) first, then (training) a
        ``NEGATIVE_SHARE`` of the width from other samples' labels. ``ranked`` (sparse
        inference) probes ``PROBES`` neighbouring buckets of each table too and keeps the
        neurons found in the most buckets instead of the first found."""
        keys = self.query_keys(value, serial, probes=PROBES if ranked else None)
        if self.label_augmentation and lab_offsets is not None and self.hash_fn is not None:
            own = np.ascontiguousarray(keys[:, :, 0]) if ranked else keys
            if self.defer_labels:
                self.deferred.append((own, lab_offsets, lab_ids))
            else:
                self._pin(own, lab_offsets, lab_ids)
        if lab_offsets is None:
            lab_offsets = np.zeros(value.batch_size + 1, dtype=np.int64)
            lab_ids = np.zeros(0, dtype=np.int32)
        salt = self.seed * 1_000_003 + salt
        if ranked:
            return self.tables.query_ranked(keys, lab_offsets, lab_ids, width, self.perm, salt, serial)
        n_negatives = int(NEGATIVE_SHARE * width) if lab_ids.shape[0] else 0
        return self.tables.query(keys, lab_offsets, lab_ids, width, self.perm, salt, serial, n_negatives)

    # saved state (sparsebolt.io) ------------------------------------------------------------

    # counters and flags kept in a saved model besides the constructor's arguments
    _SAVED = ("batches", "rebuilds", "rebuild_every", "rehash_every", "frozen", "label_augmentation",
              "labels_inserted")

    def get_state(self):
        """(settings, counters and flags; the padding permutation, the tables and the hash
        function's parameters). The tables are kept, not rebuilt on load: they were built
        from the weights of the last rebuild and may hold pinned labels."""
        meta = {"dim": self.dim, "input_dim": self.input_dim, "config": self.config.to_dict(),
                "n_active": self.n_active, "seed": self.seed}
        meta.update({name: getattr(self, name) for name in self._SAVED})
        arrays = {"perm": self.perm, **prefixed("tables", self.tables.get_state()[1])}
        if self.hash_fn is not None:
            meta["hash"], hash_arrays = self.hash_fn.get_state()
            arrays.update(prefixed("hash", hash_arrays))
        return meta, arrays

    @classmethod
    def from_state(cls, meta, arrays):
        # the tables' shape from the file's config must be the saved array's before the
        # constructor allocates it (a crafted reservoir of 10**9 would be a MemoryError)
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

    def set_state(self, meta, arrays):
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
        self.tables.set_state({}, unprefixed("tables", arrays), self.dim)
        if self.hash_fn is not None:
            self.hash_fn.set_state(meta["hash"], unprefixed("hash", arrays))
