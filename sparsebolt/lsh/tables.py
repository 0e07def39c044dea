"""Reservoir hash tables holding neuron ids."""
from __future__ import annotations

from typing import Any

import numba
import numpy as np

from .._state import take
from ..kernels import tables


class HashTables:
    """``n_tables`` tables of ``2**range_pow`` buckets, each keeping at most ``reservoir``
    neuron ids (reservoir-sampled beyond), some of them pinned labels.

    Parameters
    ----------
    n_tables : int
        Tables.
    range_pow : int
        Bits of a bucket key.
    reservoir : int
        Ids a bucket keeps.
    """

    def __init__(self, n_tables: int, range_pow: int, reservoir: int) -> None:
        self.n_tables = n_tables
        self.range_pow = range_pow
        self.reservoir = reservoir
        self.buckets = np.zeros((n_tables, 1 << range_pow, reservoir), dtype=np.int32)
        self.counts = np.zeros((n_tables, 1 << range_pow), dtype=np.int32)
        self.pinned = np.zeros((n_tables, 1 << range_pow), dtype=np.int32)
        self._marks = None
        self._found = None

    @property
    def nbytes(self) -> int:
        """Bytes of the bucket, count and pin arrays."""
        return self.buckets.nbytes + self.counts.nbytes + self.pinned.nbytes

    def build(self, keys: np.ndarray, seed: int) -> None:
        """Refill the tables from scratch (dropping pinned labels).

        Parameters
        ----------
        keys : ndarray of int32, shape (dim, n_tables)
            The bucket of each neuron in each table.
        seed : int
            Seeds the reservoir sampling.
        """
        tables.build_tables(keys, self.buckets, self.counts, self.pinned, seed)

    def insert(self, keys: np.ndarray, first: int, seed: int) -> None:
        """Add neurons ``first``, ``first + 1``, ... as ``build`` would have, keeping
        what the tables hold (pinned labels included).

        Parameters
        ----------
        keys : ndarray of int32, shape (n, n_tables)
            The bucket of each new neuron in each table.
        first : int
            The first new neuron's id.
        seed : int
            Seeds the reservoir sampling.
        """
        tables.insert_neurons(keys, first, self.buckets, self.counts, self.pinned, seed)

    def insert_labels(self, keys: np.ndarray, lab_offsets: np.ndarray, lab_ids: np.ndarray,
                      every: bool = False) -> int:
        """Pin each label that all of a sample's buckets miss into all of them, or with
        ``every`` into each of them that misses it.

        Parameters
        ----------
        keys : ndarray of int32, shape (B, n_tables)
            Each sample's buckets.
        lab_offsets : ndarray of int64, shape (B + 1,)
            Row boundaries of the labels.
        lab_ids : ndarray of int32, shape (nnz,)
            The labels.
        every : bool, default=False
            Pin into each bucket that misses the label.

        Returns
        -------
        int
            How many (sample, label) pairs were inserted.
        """
        if every:
            took = np.zeros((numba.config.NUMBA_NUM_THREADS, lab_ids.shape[0]), dtype=np.uint8)
            return tables.insert_labels_every_bucket(keys, self.buckets, self.counts, self.pinned, lab_offsets,
                                                     lab_ids, took)
        return tables.insert_missed_labels(keys, self.buckets, self.counts, self.pinned, lab_offsets, lab_ids)

    def _scratch(self, dim):
        if self._marks is None or self._marks.shape[1] != dim:
            # per-thread flags; the queries leave them zeroed, so they are reused as is
            self._marks = np.zeros((numba.config.NUMBA_NUM_THREADS, dim), dtype=np.uint8)
        return self._marks

    def query(self, keys: np.ndarray, lab_offsets: np.ndarray, lab_ids: np.ndarray, width: int,
              perm: np.ndarray, salt: int, serial: bool = False, n_negatives: int = 0) -> np.ndarray:
        """The active ids of each sample: its labels, up to ``n_negatives`` labels of other
        samples of the batch, the ids its buckets hold, padded from ``perm`` (see
        ``kernels.tables.query_active``).

        Parameters
        ----------
        keys : ndarray of int32, shape (B, n_tables)
            Each sample's buckets.
        lab_offsets, lab_ids : ndarray
            The samples' labels as CSR rows (empty rows for none).
        width : int
            Active ids a sample.
        perm : ndarray of int32, shape (dim,)
            A permutation of the neurons, for random padding.
        salt : int
            Varies the padding's start from call to call.
        serial : bool, default=False
            Run single-threaded.
        n_negatives : int, default=0
            Labels of other samples a row may take.

        Returns
        -------
        ndarray of int32, shape (B, width)
        """
        n = keys.shape[0]
        out = np.empty(n * width, dtype=np.int32)
        fn = tables.query_active_serial if serial else tables.query_active
        fn(keys, self.buckets, self.counts, lab_offsets, lab_ids, width, n_negatives, perm, salt,
           self._scratch(perm.shape[0]), out)
        return out.reshape(n, width)

    def query_ranked(self, keys: np.ndarray, lab_offsets: np.ndarray, lab_ids: np.ndarray, width: int,
                     perm: np.ndarray, salt: int, serial: bool = False) -> np.ndarray:
        """As ``query``, but after the labels the neurons the most of a sample's buckets
        hold, probing several buckets a table (see ``kernels.tables.query_ranked``).

        Parameters
        ----------
        keys : ndarray of int32, shape (B, n_tables, P)
            P buckets a table for each sample.
        lab_offsets, lab_ids, width, perm, salt, serial
            As for ``query``.

        Returns
        -------
        ndarray of int32, shape (B, width)
        """
        n = keys.shape[0]
        out = np.empty(n * width, dtype=np.int32)
        size = max(1, self.n_tables * keys.shape[2] * self.reservoir)
        if self._found is None or self._found.shape[1] != size:
            self._found = np.empty((numba.config.NUMBA_NUM_THREADS, size), dtype=np.int32)
        fn = tables.query_ranked_serial if serial else tables.query_ranked
        fn(keys, self.buckets, self.counts, lab_offsets, lab_ids, width, perm, salt, self._scratch(perm.shape[0]),
           self._found, out)
        return out.reshape(n, width)

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The tables, for model files.

        Returns
        -------
        meta : dict
            Empty.
        arrays : dict of str to ndarray
            'buckets', 'counts' and 'pinned'.
        """
        return {}, {"buckets": self.buckets, "counts": self.counts, "pinned": self.pinned}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray], dim: int) -> None:
        """Take saved tables of the same shape.

        Parameters
        ----------
        meta, arrays
            As ``get_state`` returned them.
        dim : int
            Bounds the neuron ids they may hold.

        Raises
        ------
        ValueError
            For arrays of another shape or dtype, or ids out of range.
        """
        n_buckets = 1 << self.range_pow
        shape = (self.n_tables, n_buckets)
        self.buckets = take("HashTables", arrays, "buckets", (*shape, self.reservoir), np.int32, 0, dim)
        self.counts = take("HashTables", arrays, "counts", shape, np.int32, 0)
        self.pinned = take("HashTables", arrays, "pinned", shape, np.int32, 0, self.reservoir + 1)
