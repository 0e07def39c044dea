"""Hash settings for a sparse layer derived from its width and sparsity (see docs/autotune.md).

The active set of a sample should come from its buckets, not from random padding, at a
hashing cost that stays small next to the layer's own work, with tables that fit in memory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, asdict
from typing import Any

from .._validation import check_choice, check_float, check_int

FAMILIES = ("dwta", "srp", "fast_srp", "sparse_wta", "random")
# sparse_wta's k is the key's bits itself (one hash a table over 2**k coordinates)
_BITS_PER_HASH = {"dwta": 3, "srp": 1, "fast_srp": 1, "sparse_wta": 1, "random": 0}


def most_hashes(family: str) -> int:
    """The most hashes a table of ``family`` (not 'random') takes: a bucket key is at most 30 bits."""
    return 30 // _BITS_PER_HASH[family]


# tables we aim for; fewer make the union depend on a handful of hash collisions, more
# cost hashing time and table memory without adding neurons the cut would keep
_TARGET_TABLES = 24
# union of the L buckets against the active size: slack for overlapping and skewed buckets
_COVERAGE = 1.5
# sparse_wta: a row reaches the buckets of its nonzeros only, so the load aims at filling the
# active set from about this many of them
_SPARSE_ROW_BUCKETS = 8
_MAX_TABLES = 256
_MAX_RESERVOIR = 1024
# the most bytes a layer's tables may take (64 GiB): autotune gives about 300 a neuron, and
# prepare_sparse_inference's defaults (4x the tables, a hash more) 5 GB at 670K neurons and
# 37-60 GB at 10M. A constant, not this machine's memory, so a config or model file is
# accepted alike everywhere (a distributed job's is made on the driver, its tables on workers)
_MAX_TABLE_BYTES = 1 << 36


@dataclass
class LSHConfig:
    """Hash settings of one sparse layer (``FullyConnected(sampling=...)``).

    Parameters
    ----------
    family : {'dwta', 'srp', 'fast_srp', 'sparse_wta', 'random'}, default='dwta'
        The hash family; 'random' uses no tables (active sets are labels and random
        neurons).
    k : int, default=4
        Hashes a table key (at most 10 for 'dwta', 30 for the others); for 'sparse_wta',
        the key's bits (a table compares ``2**k`` coordinates).
    n_tables : int, default=24
        Tables, in [1, 4096].
    reservoir : int, default=128
        The most neuron ids a bucket keeps (reservoir-sampled beyond).
    rebuild_every : int or None, default=None
        Training batches between table rebuilds; None: derived from the data set size
        when training starts.
    rehash_every : int or None, default=None
        Training batches between new hash functions; None: derived likewise.

    Raises
    ------
    ValueError
        For a value out of range, or tables of more than 64 GiB (``table_bytes``).
    """

    family: str = "dwta"
    k: int = 4
    n_tables: int = 24
    reservoir: int = 128
    rebuild_every: int | None = None
    rehash_every: int | None = None

    def __post_init__(self) -> None:
        check_choice("LSHConfig", "family", self.family, FAMILIES)
        if self.family != "random":
            check_int("LSHConfig", "k", self.k, 1, most_hashes(self.family))
            check_int("LSHConfig", "n_tables", self.n_tables, 1, 4096)
            check_int("LSHConfig", "reservoir", self.reservoir, 1)
            if self.table_bytes() > _MAX_TABLE_BYTES:
                raise ValueError(f"The tables of LSHConfig (k={self.k}, n_tables={self.n_tables}, "
                                 f"reservoir={self.reservoir}) must take at most {_MAX_TABLE_BYTES:,} bytes (64 GiB): "
                                 f"a smaller k, n_tables or reservoir. Got {self.table_bytes():,} bytes instead.")
        for name in ("rebuild_every", "rehash_every"):
            if getattr(self, name) is not None:
                check_int("LSHConfig", name, getattr(self, name), 1)

    @property
    def range_pow(self) -> int:
        """Bits of a bucket key (2**range_pow buckets a table)."""
        return self.k * _BITS_PER_HASH[self.family]

    def table_bytes(self) -> int:
        """Bytes the tables take (bucket ids and counts; 0 for 'random').

        Returns
        -------
        int
        """
        if self.family == "random":
            return 0
        return 4 * self.n_tables * (1 << self.range_pow) * (self.reservoir + 1)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a dict (``LSHConfig(**d)`` makes them again).

        Returns
        -------
        dict
        """
        return asdict(self)


# (width below which, sparsity) for an output layer given no sparsity, as BOLT's UDT does:
# dense while a dense layer is cheap, then about 2K active neurons, down to 0.5%
_DEFAULT_SPARSITY = ((450, 1.0), (900, 0.2), (1800, 0.1), (4000, 0.05), (10_000, 0.02), (20_000, 0.01))


def default_sparsity(n_outputs: int) -> float:
    """Sparsity of an output layer of ``n_outputs`` neurons when the user gives none, as
    BOLT's UDT chooses it: dense below 450, then 0.2, 0.1, 0.05, 0.02, 0.01 below 900,
    1,800, 4,000, 10,000, 20,000 neurons, else 0.005.

    Parameters
    ----------
    n_outputs : int
        The output layer's width, >= 1.

    Returns
    -------
    float
    """
    check_int("default_sparsity", "n_outputs", n_outputs, 1)
    for width, sparsity in _DEFAULT_SPARSITY:
        if n_outputs < width:
            return sparsity
    return 0.005


def active_size(dim: int, sparsity: float) -> int:
    """Neurons computed per sample at ``sparsity``: at least 2 (a softmax over the label alone
    is 1 whatever the weights: its loss is 0 and nothing trains), at most ``dim``."""
    return min(dim, max(2, int(round(sparsity * dim))))


def autotune(dim: int, input_dim: int, sparsity: float, family: str = "dwta") -> LSHConfig:
    """Choose K, L and R for a layer of ``dim`` neurons over ``input_dim`` inputs
    (docs/autotune.md).

    K sets the expected bucket load ``dim / 2**range_pow``; it is picked so the load is
    closest (in ratio) to ``active / 24``. L then covers the active size 1.5 times over
    (4 to 256 tables), and R holds twice the expected load (8 to 1024) so a typical bucket
    keeps all its ids while a crowded one is reservoir-sampled.

    Parameters
    ----------
    dim : int
        The layer's neurons.
    input_dim : int
        The width of its input.
    sparsity : float in (0, 1]
        Fraction of the neurons a sample computes.
    family : {'dwta', 'srp', 'fast_srp', 'sparse_wta', 'random'}, default='dwta'
        The hash family. For 'sparse_wta' K is a key's bits, chosen so a bucket holds
        about an eighth of the active size, and L tables cover the input once.

    Returns
    -------
    LSHConfig
        With the rebuild intervals left to training.

    Raises
    ------
    ValueError
        For a value out of range.
    """
    check_int("autotune", "dim", dim, 1)
    check_int("autotune", "input_dim", input_dim, 1)
    check_float("autotune", "sparsity", sparsity, 0.0, 1.0, low_open=True)
    check_choice("autotune", "family", family, FAMILIES)
    if family == "random":
        return LSHConfig(family="random", k=0, n_tables=0, reservoir=0)
    n_active = active_size(dim, sparsity)
    if family == "sparse_wta":
        return _autotune_sparse_wta(dim, input_dim, n_active)
    bits = _BITS_PER_HASH[family]
    target_load = max(n_active / _TARGET_TABLES, 1.0)
    max_k = max(1, min(30 // bits, int(math.log2(dim)) // bits))
    k = min(range(1, max_k + 1),
            key=lambda kk: abs(math.log(dim / 2 ** (bits * kk)) - math.log(target_load)))
    load = max(dim / 2 ** (bits * k), 1.0)
    reservoir = int(min(_MAX_RESERVOIR, max(8, math.ceil(2 * load))))
    n_tables = int(min(_MAX_TABLES, max(4, math.ceil(_COVERAGE * n_active / min(load, reservoir)))))
    return LSHConfig(family=family, k=k, n_tables=n_tables, reservoir=reservoir)


def _autotune_sparse_wta(dim, input_dim, n_active):
    """sparse_wta: bins of ``2**k`` coordinates whose tables cover the input once, k chosen
    so a bucket holds about ``n_active / 8`` neurons (a row's active set from about 8 of its
    nonzeros' buckets), with at most 4,096 tables; R as for the other families."""
    low = max(1, math.ceil(math.log2(input_dim / 4096)))
    high = max(low, math.ceil(math.log2(max(input_dim, 2))))
    target_load = max(n_active / _SPARSE_ROW_BUCKETS, 1.0)
    k = min(range(low, high + 1), key=lambda kk: abs(math.log(dim / 2 ** kk) - math.log(target_load)))
    load = max(dim / 2 ** k, 1.0)
    reservoir = int(min(_MAX_RESERVOIR, max(8, math.ceil(2 * load))))
    return LSHConfig(family="sparse_wta", k=k, n_tables=-(-input_dim // 2 ** k), reservoir=reservoir)


# rebuilds may take at most this share of training time
_REBUILD_SHARE = 0.1


def rebuild_cost(dim: int, input_dim: int, config: LSHConfig, n_active: int, batch_size: int) -> float:
    """A table rebuild's cost in training batches, from operation counts: hashing every
    weight row and inserting it into L tables, against a batch's forward, backward and
    optimizer work on its active neurons."""
    if config.family == "random":
        return 0.0
    n_hashes = config.n_tables * config.k
    # weights per operation calibrated on the 670K layer: a DWTA hash scans 8 random
    # coordinates, and an insert into tables far larger than cache is a miss
    if config.family == "dwta":
        hashing = 16 * n_hashes
    elif config.family == "sparse_wta":  # a table compares 2**k coordinates of the row
        hashing = 2 * config.n_tables * (1 << config.k)
    else:
        hashing = input_dim * n_hashes / 8
    per_row = hashing + 16 * config.n_tables
    touched = min(dim, batch_size * n_active)
    batch = batch_size * n_active * input_dim * 3 + touched * input_dim * 4
    return dim * per_row / batch


def schedule(batches_per_epoch: int | None, batch_size: int, rebuild_cost: float = 0.0) -> tuple[int, int]:
    """(rebuild_every, rehash_every) in batches.

    With a known epoch length: tables about 100 times an epoch on large data (20 times on
    data under 100K samples), new hash functions 4 times an epoch. Streaming data of
    unknown length: tables every 6,400 samples, hash functions every 128,000. Either way
    tables are rebuilt no more often than keeps rebuilds (``rebuild_cost`` batches each)
    under a tenth of training time.
    """
    if not batches_per_epoch:
        rebuild, rehash = max(1, 6400 // batch_size), max(1, 128_000 // batch_size)
    else:
        n = batches_per_epoch
        per_epoch = 100 if n * batch_size >= 100_000 else 20
        rebuild, rehash = max(1, n // per_epoch), max(1, n // 4)
    rebuild = max(rebuild, math.ceil(rebuild_cost / _REBUILD_SHARE))
    return rebuild, max(rehash, rebuild)
