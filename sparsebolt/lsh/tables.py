"""Reservoir hash tables holding neuron ids."""
import numba
import numpy as np

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

    @property
    def nbytes(self):
        return self.buckets.nbytes + self.counts.nbytes + self.pinned.nbytes

    def build(self, keys, seed):
        """Refill from scratch: keys : int32[dim, n_tables], the bucket of each neuron."""
        tables.build_tables(keys, self.buckets, self.counts, self.pinned, seed)

    def insert_labels(self, keys, lab_offsets, lab_ids):
        """Pin each label that a sample's buckets (keys : int32[B, n_tables]) miss into all
        of them; returns how many (sample, label) pairs were inserted."""
        return tables.insert_missed_labels(keys, self.buckets, self.counts, self.pinned, lab_offsets, lab_ids)

    def query(self, keys, lab_offsets, lab_ids, width, perm, salt, serial=False):
        """The active ids of each sample, int32[B, width]; see ``kernels.tables.query_active``."""
        n = keys.shape[0]
        out = np.empty(n * width, dtype=np.int32)
        if self._marks is None or self._marks.shape[1] != perm.shape[0]:
            # per-thread dedup flags; the query leaves them zeroed, so they are reused as is
            self._marks = np.zeros((numba.config.NUMBA_NUM_THREADS, perm.shape[0]), dtype=np.uint8)
        fn = tables.query_active_serial if serial else tables.query_active
        fn(keys, self.buckets, self.counts, lab_offsets, lab_ids, width, perm, salt, self._marks, out)
        return out.reshape(n, width)

