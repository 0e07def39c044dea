"""Reservoir hash tables holding neuron ids."""
import numba
import numpy as np

from .._state import take
from ..kernels import tables


class HashTables:
    """``n_tables`` tables of ``2**range_pow`` buckets, each keeping at most ``reservoir`` ids."""

    def __init__(self, n_tables, range_pow, reservoir):
        self.n_tables = n_tables
        self.range_pow = range_pow
        self.reservoir = reservoir
        self.buckets = np.zeros((n_tables, 1 << range_pow, reservoir), dtype=np.int32)
        self.counts = np.zeros((n_tables, 1 << range_pow), dtype=np.int32)
        self.pinned = np.zeros((n_tables, 1 << range_pow), dtype=np.int32)
        self._marks = None
        self._found = None

    @property
    def nbytes(self):
        return self.buckets.nbytes + self.counts.nbytes + self.pinned.nbytes

    def build(self, keys, seed):
        """Refill from scratch: keys : int32[dim, n_tables], the bucket of each neuron."""
        tables.build_tables(keys, self.buckets, self.counts, self.pinned, seed)

    def insert_labels(self, keys, lab_offsets, lab_ids, every=False):
        """Pin each label that a sample's buckets (keys : int32[B, n_tables]) miss into all
        of them, or with ``every`` into each of them that misses it; returns how many
        (sample, label) pairs were inserted."""
        return tables.insert_missed_labels(keys, self.buckets, self.counts, self.pinned, lab_offsets, lab_ids,
                                           every)

    def _scratch(self, dim):
        if self._marks is None or self._marks.shape[1] != dim:
            # per-thread flags; the queries leave them zeroed, so they are reused as is
            self._marks = np.zeros((numba.config.NUMBA_NUM_THREADS, dim), dtype=np.uint8)
        return self._marks

    def query(self, keys, lab_offsets, lab_ids, width, perm, salt, serial=False, n_negatives=0):
        """The active ids of each sample, int32[B, width], with up to ``n_negatives`` labels of
        other samples of the batch; see ``kernels.tables.query_active``."""
        n = keys.shape[0]
        out = np.empty(n * width, dtype=np.int32)
        fn = tables.query_active_serial if serial else tables.query_active
        fn(keys, self.buckets, self.counts, lab_offsets, lab_ids, width, n_negatives, perm, salt,
           self._scratch(perm.shape[0]), out)
        return out.reshape(n, width)

    def query_ranked(self, keys, lab_offsets, lab_ids, width, perm, salt, serial=False):
        """As ``query``, but the neurons most of each sample's buckets hold after the labels,
        with ``keys : int32[B, n_tables, P]`` probing P buckets a table; see
        ``kernels.tables.query_ranked``."""
        n = keys.shape[0]
        out = np.empty(n * width, dtype=np.int32)
        size = max(1, self.n_tables * keys.shape[2] * self.reservoir)
        if self._found is None or self._found.shape[1] != size:
            self._found = np.empty((numba.config.NUMBA_NUM_THREADS, size), dtype=np.int32)
        fn = tables.query_ranked_serial if serial else tables.query_ranked
        fn(keys, self.buckets, self.counts, lab_offsets, lab_ids, width, perm, salt, self._scratch(perm.shape[0]),
           self._found, out)
        return out.reshape(n, width)

    def get_state(self):
        return {}, {"buckets": self.buckets, "counts": self.counts, "pinned": self.pinned}

    def set_state(self, meta, arrays, dim):
        """Take saved tables of the same shape; ``dim`` bounds the neuron ids they hold."""
        n_buckets = 1 << self.range_pow
        shape = (self.n_tables, n_buckets)
        self.buckets = take("HashTables", arrays, "buckets", (*shape, self.reservoir), np.int32, 0, dim)
        self.counts = take("HashTables", arrays, "counts", shape, np.int32, 0)
        self.pinned = take("HashTables", arrays, "pinned", shape, np.int32, 0, self.reservoir + 1)
