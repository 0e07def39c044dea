"""Hash families over a layer's input space. Each draws its random parameters from a seed,
hashes dense rows and CSR rows to ``int32[n, n_tables]`` bucket keys, and can redraw."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._state import take
from .._validation import check_choice, check_int
from ..kernels import hashing

_SRP_CHUNK = 32768


def _spread_coords(rng, d_in, n_hashes, width):
    """Coordinates for n_hashes groups of ``width``, drawn from concatenated permutations so
    that every input coordinate is used about equally often."""
    n_pos = n_hashes * width
    n_perm = -(-n_pos // d_in)
    flat = np.concatenate([rng.permutation(d_in) for _ in range(n_perm)])[:n_pos]
    return flat.reshape(n_hashes, width).astype(np.int32)


def _listed(inv, ids):
    """bool[len(ids)]: whether an inverse map (``hashing.inverse_map``) lists each coordinate."""
    return inv[0][ids + 1] > inv[0][ids]


class HashFunction:
    """Base class of the hash families: ``n_tables`` keys an input, each of ``k`` hashes
    packed into ``range_pow`` bits.

    Parameters
    ----------
    input_dim : int
        Width of the hashed vectors.
    n_tables : int
        Keys an input (one a table).
    k : int
        Hashes a key, at most 30 bits in all.
    seed : int, default=0
        Seeds the random parameters.

    Raises
    ------
    ValueError
        For a value out of range.
    """

    name = ""
    bits_per_hash = 1
    _settings = ()   # constructor settings beyond input_dim, n_tables, k (kept in the saved state)

    def __init__(self, input_dim: int, n_tables: int, k: int, seed: int = 0) -> None:
        owner = type(self).__name__
        self.input_dim = check_int(owner, "input_dim", input_dim, 1)
        self.n_tables = check_int(owner, "n_tables", n_tables, 1)
        self.k = check_int(owner, "k", k, 1, 30 // self.bits_per_hash)
        self.seed = seed
        self.regenerate(seed)

    @property
    def range_pow(self) -> int:
        """Bits of a key, ``k * bits_per_hash``."""
        return self.k * self.bits_per_hash

    @property
    def n_hashes(self) -> int:
        """Hashes in all, ``n_tables * k``."""
        return self.n_tables * self.k

    def regenerate(self, seed: int) -> None:
        """Draw new random hash parameters.

        Parameters
        ----------
        seed : int
            Seeds them.
        """
        self.seed = int(seed)
        self._draw(np.random.default_rng(self.seed))

    def hash_dense(self, x: np.ndarray, serial: bool = False) -> np.ndarray:
        """The keys of dense rows.

        Parameters
        ----------
        x : array-like of shape (n, input_dim)
            Rows (converted to contiguous float32).
        serial : bool, default=False
            Run single-threaded.

        Returns
        -------
        ndarray of int32, shape (n, n_tables)
        """
        keys = np.empty((x.shape[0], self.n_tables), dtype=np.int32)
        self._dense(np.ascontiguousarray(x, dtype=np.float32), keys, serial)
        return keys

    def hash_sparse(self, offsets: np.ndarray, ids: np.ndarray, vals: np.ndarray,
                    serial: bool = False) -> np.ndarray:
        """The keys of CSR rows.

        Parameters
        ----------
        offsets : ndarray of int64, shape (n + 1,)
            Row boundaries.
        ids : ndarray of int32, shape (nnz,)
            Column ids, below ``input_dim``.
        vals : ndarray of float32, shape (nnz,)
            Values.
        serial : bool, default=False
            Run single-threaded.

        Returns
        -------
        ndarray of int32, shape (n, n_tables)
        """
        keys = np.empty((offsets.shape[0] - 1, self.n_tables), dtype=np.int32)
        self._sparse(offsets, ids, vals, keys, serial)
        return keys

    def rows_blind(self, offsets: np.ndarray, ids: np.ndarray, vals: np.ndarray | None = None) -> int:
        """How many CSR rows hold no nonzero at a coordinate the hashes read. Their keys are
        an empty row's, nothing like the row.

        Parameters
        ----------
        offsets : ndarray of int64, shape (n + 1,)
            Row boundaries.
        ids : ndarray of int32, shape (nnz,)
            Column ids, below ``input_dim``.
        vals : ndarray of float32, shape (nnz,), or None, default=None
            Values; a stored zero is absent, as the hashes read it. None: all nonzero.

        Returns
        -------
        int
        """
        seen = self._reads(ids)
        if vals is not None:
            seen &= vals != 0
        read = np.concatenate(([0], np.cumsum(seen)))
        return int(np.count_nonzero(read[offsets[1:]] == read[offsets[:-1]]))

    def coords_read(self) -> np.ndarray:
        """Which input coordinates some hash reads, all for SRP and at most
        ``n_hashes * binsize`` for DWTA.

        Returns
        -------
        ndarray of bool, shape (input_dim,)
        """
        return self._reads(np.arange(self.input_dim))

    def _reads(self, ids):
        """bool[len(ids)]: whether some hash reads each coordinate (SRP: every one)."""
        return np.ones(ids.shape[0], dtype=bool)

    def probe_dense(self, x: np.ndarray, n_probes: int, serial: bool = False) -> np.ndarray:
        """Each row's key and its ``n_probes`` nearest neighbouring keys, one hash changed in
        each. For one-bit hashes a neighbour flips one bit, the first hashes' first.

        Parameters
        ----------
        x : array-like of shape (n, input_dim)
            Rows.
        n_probes : int
            Neighbouring keys a table, at most ``k``.
        serial : bool, default=False
            Run single-threaded.

        Returns
        -------
        ndarray of int32, shape (n, n_tables, 1 + n_probes)
            ``[..., 0]`` as ``hash_dense``.
        """
        return self._flips(self.hash_dense(x, serial), n_probes)

    def probe_sparse(self, offsets: np.ndarray, ids: np.ndarray, vals: np.ndarray, n_probes: int,
                     serial: bool = False) -> np.ndarray:
        """``probe_dense`` of CSR rows.

        Parameters
        ----------
        offsets, ids, vals : ndarray
            The rows, as for ``hash_sparse``.
        n_probes : int
            Neighbouring keys a table, at most ``k``.
        serial : bool, default=False
            Run single-threaded.

        Returns
        -------
        ndarray of int32, shape (n, n_tables, 1 + n_probes)
        """
        return self._flips(self.hash_sparse(offsets, ids, vals, serial), n_probes)

    def _flips(self, keys, n_probes):
        flips = np.concatenate([[0], 1 << np.arange(self.k - 1, self.k - 1 - n_probes, -1)]).astype(np.int32)
        return keys[:, :, None] ^ flips

    def arrays(self) -> dict[str, np.ndarray]:
        """The random parameters, by name (for saving).

        Returns
        -------
        dict of str to ndarray
        """
        raise NotImplementedError

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The hash function for model files.

        Returns
        -------
        meta : dict
            The family, settings and seed.
        arrays : dict of str to ndarray
            The random parameters.
        """
        meta = {"family": self.name, "seed": self.seed}
        for name in ("input_dim", "n_tables", "k", *self._settings):
            meta[name] = getattr(self, name)
        return meta, dict(self.arrays())

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Take saved random parameters instead of the drawn ones.

        Parameters
        ----------
        meta, arrays
            From ``get_state`` of a hash function with the same settings.

        Raises
        ------
        ValueError
            When the settings or the arrays differ.
        """
        owner = type(self).__name__
        for name in ("family", "input_dim", "n_tables", "k", *self._settings):
            mine = self.name if name == "family" else getattr(self, name)
            if meta.get(name) != mine:
                raise ValueError(f"The saved state of {owner} has {name}={meta.get(name)!r}, "
                                 f"but the hash function has {name}={mine!r}.")
        self.seed = int(meta["seed"])
        self._load(owner, arrays)


class _Binned(HashFunction):
    """The winner-take-all families' bins: ``bins : int32[n_hashes, binsize]`` coordinates a
    hash compares, drawn to use every coordinate about equally often, and their inverse map."""

    def _draw(self, rng):
        self._set_bins(_spread_coords(rng, self.input_dim, self.n_hashes, self.binsize))

    def _set_bins(self, bins):
        self.bins = bins
        self.inv = hashing.inverse_map(bins, self.input_dim)

    def _reads(self, ids):
        return _listed(self.inv, ids)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"bins": self.bins}

    def _load(self, owner, arrays):
        self._set_bins(take(owner, arrays, "bins", (self.n_hashes, self.binsize), np.int32, 0, self.input_dim))


class DWTA(_Binned):
    """Densified winner-take-all hashing: each hash is the argmax position among ``binsize``
    input coordinates, so it depends on the rank order of the vector, not its scale.

    Parameters
    ----------
    input_dim : int
        Width of the hashed vectors.
    n_tables : int
        Keys an input.
    k : int
        Hashes a key, at most ``30 // log2(binsize)``.
    seed : int, default=0
        Seeds the bins.
    binsize : {2, 4, 8, 16, 32}, default=8
        Coordinates a hash compares.
    """

    name = "dwta"
    _settings = ("binsize",)

    def __init__(self, input_dim: int, n_tables: int, k: int, seed: int = 0, binsize: int = 8) -> None:
        self.binsize = check_choice("DWTA", "binsize", binsize, (2, 4, 8, 16, 32))
        self.bits_per_hash = int(np.log2(binsize))
        super().__init__(input_dim, n_tables, k, seed)

    def _dense(self, x, keys, serial):
        fn = hashing.dwta_dense_serial if serial else hashing.dwta_dense
        fn(x, self.bins, self.n_tables, self.k, self.bits_per_hash, keys)

    def _sparse(self, offsets, ids, vals, keys, serial):
        fn = hashing.dwta_sparse_serial if serial else hashing.dwta_sparse
        fn(offsets, ids, vals, *self.inv, self.n_tables, self.k, self.bits_per_hash, self.seed, keys)

    def probe_dense(self, x: np.ndarray, n_probes: int, serial: bool = False) -> np.ndarray:
        """Keys with their neighbours: in each neighbour the winner of one of the
        ``n_probes`` hashes of a table that win by the least is replaced by its bin's
        runner-up.

        Parameters
        ----------
        x : array-like of shape (n, input_dim)
            Rows.
        n_probes : int
            Neighbouring keys a table, at most ``k``.
        serial : bool, default=False
            Run single-threaded.

        Returns
        -------
        ndarray of int32, shape (n, n_tables, 1 + n_probes)
        """
        keys = np.empty((x.shape[0], self.n_tables, 1 + n_probes), dtype=np.int32)
        fn = hashing.dwta_dense_probes_serial if serial else hashing.dwta_dense_probes
        fn(np.ascontiguousarray(x, dtype=np.float32), self.bins, self.n_tables, self.k, self.bits_per_hash, keys)
        return keys

    def probe_sparse(self, offsets: np.ndarray, ids: np.ndarray, vals: np.ndarray, n_probes: int,
                     serial: bool = False) -> np.ndarray:
        keys = np.empty((offsets.shape[0] - 1, self.n_tables, 1 + n_probes), dtype=np.int32)
        fn = hashing.dwta_sparse_probes_serial if serial else hashing.dwta_sparse_probes
        fn(offsets, ids, vals, *self.inv, self.n_tables, self.k, self.bits_per_hash, self.seed, keys)
        return keys


class SRP(HashFunction):
    """Signed random projections (SimHash) with Gaussian directions.

    Parameters
    ----------
    input_dim : int
        Width of the hashed vectors.
    n_tables : int
        Keys an input.
    k : int
        Hashes (bits) a key, at most 30.
    seed : int, default=0
        Seeds the directions.
    """

    name = "srp"

    def _draw(self, rng):
        self.proj = rng.standard_normal((self.input_dim, self.n_hashes)).astype(np.float32)

    def _dense(self, x, keys, serial):
        # the projection is a GEMM: BLAS, in chunks so a large weight matrix stays cheap in memory
        fn = hashing.pack_sign_bits_serial if serial else hashing.pack_sign_bits
        for lo in range(0, x.shape[0], _SRP_CHUNK):
            fn(x[lo:lo + _SRP_CHUNK] @ self.proj, self.n_tables, self.k, keys[lo:lo + _SRP_CHUNK])

    def _sparse(self, offsets, ids, vals, keys, serial):
        fn = hashing.srp_sparse_serial if serial else hashing.srp_sparse
        fn(offsets, ids, vals, self.proj, self.n_tables, self.k, keys)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"proj": self.proj}

    def _load(self, owner, arrays):
        self.proj = take(owner, arrays, "proj", (self.input_dim, self.n_hashes), np.float32)


class FastSRP(HashFunction):
    """Sparse random projections: each hash sums ±1 times a random ``1/ratio`` of the inputs.

    Parameters
    ----------
    input_dim : int
        Width of the hashed vectors.
    n_tables : int
        Keys an input.
    k : int
        Hashes (bits) a key, at most 30.
    seed : int, default=0
        Seeds the coordinates and signs.
    ratio : int, default=3
        One input coordinate in ``ratio`` enters each hash.
    """

    name = "fast_srp"
    _settings = ("ratio",)

    def __init__(self, input_dim: int, n_tables: int, k: int, seed: int = 0, ratio: int = 3) -> None:
        self.ratio = check_int("FastSRP", "ratio", ratio, 1)
        super().__init__(input_dim, n_tables, k, seed)

    def _draw(self, rng):
        n_sel = max(1, self.input_dim // self.ratio)
        self.coords = _spread_coords(rng, self.input_dim, self.n_hashes, n_sel)
        self.signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=self.coords.shape)
        self.inv = hashing.inverse_map(self.coords, self.input_dim)

    def _dense(self, x, keys, serial):
        fn = hashing.fast_srp_dense_serial if serial else hashing.fast_srp_dense
        fn(x, self.coords, self.signs, self.n_tables, self.k, keys)

    def _reads(self, ids):
        return _listed(self.inv, ids)

    def _sparse(self, offsets, ids, vals, keys, serial):
        fn = hashing.fast_srp_sparse_serial if serial else hashing.fast_srp_sparse
        fn(offsets, ids, vals, *self.inv, self.signs, self.n_tables, self.k, keys)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"coords": self.coords, "signs": self.signs}

    def _load(self, owner, arrays):
        shape = (self.n_hashes, max(1, self.input_dim // self.ratio))
        self.coords = take(owner, arrays, "coords", shape, np.int32, 0, self.input_dim)
        self.signs = take(owner, arrays, "signs", shape, np.float32)
        self.inv = hashing.inverse_map(self.coords, self.input_dim)


class SparseWTA(_Binned):
    """Winner-take-all over a partition of the input, for sparse inputs: table t's key is
    the slot of the row's largest nonzero among its bin of ``2**k`` coordinates, and a row
    with no nonzero there has no key in that table (-1: its queries skip the table). The
    bins of ``n_tables * 2**k >= input_dim`` cover every coordinate.

    DWTA compares ``n_tables * k * binsize`` coordinates, a few hundred of a wide sparse
    input, and a sparse row holding none of them gets an empty row's keys (densification
    borrows what is not there). Here a row is looked up by each of its nonzeros: a neuron
    shares the row's bucket where its largest weight in the bin is on the row's strongest
    coordinate there.

    Parameters
    ----------
    input_dim : int
        Width of the hashed vectors.
    n_tables : int
        Keys an input.
    k : int
        Bits of a key: each table compares ``2**k`` coordinates (wider than the input, a
        bin holds coordinates more than once).
    seed : int, default=0
        Seeds the bins.
    """

    name = "sparse_wta"

    @property
    def n_hashes(self) -> int:
        """Hashes in all, one a table."""
        return self.n_tables

    @property
    def binsize(self) -> int:
        """Coordinates a table compares, ``2**k``."""
        return 1 << self.k

    def _dense(self, x, keys, serial):
        fn = hashing.wta_dense_serial if serial else hashing.wta_dense
        fn(x, self.bins, keys.reshape(*keys.shape, 1))

    def _sparse(self, offsets, ids, vals, keys, serial):
        fn = hashing.wta_sparse_serial if serial else hashing.wta_sparse
        fn(offsets, ids, vals, *self.inv, self.bins, keys.reshape(*keys.shape, 1))

    def probe_dense(self, x: np.ndarray, n_probes: int, serial: bool = False) -> np.ndarray:
        """Keys with their neighbours: the slots of the bin's next ``n_probes`` largest
        nonzeros (-1 where it has fewer).

        Parameters
        ----------
        x : array-like of shape (n, input_dim)
            Rows.
        n_probes : int
            Neighbouring keys a table.
        serial : bool, default=False
            Run single-threaded.

        Returns
        -------
        ndarray of int32, shape (n, n_tables, 1 + n_probes)
        """
        keys = np.empty((x.shape[0], self.n_tables, 1 + n_probes), dtype=np.int32)
        fn = hashing.wta_dense_serial if serial else hashing.wta_dense
        fn(np.ascontiguousarray(x, dtype=np.float32), self.bins, keys)
        return keys

    def probe_sparse(self, offsets: np.ndarray, ids: np.ndarray, vals: np.ndarray, n_probes: int,
                     serial: bool = False) -> np.ndarray:
        keys = np.empty((offsets.shape[0] - 1, self.n_tables, 1 + n_probes), dtype=np.int32)
        fn = hashing.wta_sparse_serial if serial else hashing.wta_sparse
        fn(offsets, ids, vals, *self.inv, self.bins, keys)
        return keys


HASH_FAMILIES = {"dwta": DWTA, "srp": SRP, "fast_srp": FastSRP, "sparse_wta": SparseWTA}


def make_hash_function(family: str, input_dim: int, n_tables: int, k: int, seed: int = 0) -> HashFunction:
    """A hash function of the family's default settings.

    Parameters
    ----------
    family : {'dwta', 'srp', 'fast_srp', 'sparse_wta'}
        The family (``HASH_FAMILIES``).
    input_dim, n_tables, k, seed
        As for ``HashFunction``.

    Returns
    -------
    HashFunction

    Raises
    ------
    ValueError
        For an unknown family or a value out of range.
    """
    cls = HASH_FAMILIES[check_choice("LSHConfig", "family", family, tuple(HASH_FAMILIES))]
    return cls(input_dim, n_tables, k, seed)
