"""DWTA multi-probe kernels: each probed bucket is one some input hashes to."""
import itertools

import numpy as np
import pytest

from sparsebolt.kernels import hashing
from sparsebolt.lsh import DWTA

PROBES = {"parallel": (hashing.dwta_dense_probes, hashing.dwta_sparse_probes),
          "serial": (hashing.dwta_dense_probes_serial, hashing.dwta_sparse_probes_serial)}


def _csr(x):
    n, d_in = x.shape
    return np.arange(n + 1, dtype=np.int64) * d_in, np.tile(np.arange(d_in, dtype=np.int32), n), x.reshape(-1)


def _dense_probes(h, x, n_probes, twin="parallel"):
    keys = np.empty((x.shape[0], h.n_tables, 1 + n_probes), dtype=np.int32)
    PROBES[twin][0](x, h.bins, h.n_tables, h.k, h.bits_per_hash, keys)
    return keys


def _sparse_probes(h, offsets, ids, vals, n_probes, twin="parallel"):
    keys = np.empty((offsets.shape[0] - 1, h.n_tables, 1 + n_probes), dtype=np.int32)
    PROBES[twin][1](offsets, ids, vals, *h.inv, h.n_tables, h.k, h.bits_per_hash, h.seed, keys)
    return keys


def _every_order(values):
    """Rows holding ``values`` in every order: an input's keys depend on its order only."""
    return np.array(list(itertools.permutations(values)), dtype=np.float32)


def _assert_new_buckets_or_the_key(probes):
    for row in probes.reshape(-1, probes.shape[-1]):
        moved = row[1:][row[1:] != row[0]]
        assert np.unique(moved).size == moved.size


@pytest.mark.parametrize("d_in, k", [(4, 2), (5, 3), (6, 2), (6, 3)])
def test_narrow_inputs_probe_only_buckets_some_input_hashes_to(d_in, k):
    # fewer coordinates than a table's slots: its bins share them, and a coordinate wins
    # several hashes; a probe changing one of those alone names a bucket no input reaches
    rng = np.random.default_rng(0)
    h = DWTA(d_in, n_tables=16, k=k, seed=1)
    reachable = h.hash_dense(_every_order(np.arange(d_in)))
    x = rng.standard_normal((300, d_in)).astype(np.float32)
    dense = _dense_probes(h, x, k)
    np.testing.assert_array_equal(_sparse_probes(h, *_csr(x), k), dense)
    assert (dense[:, :, 1] != dense[:, :, 0]).all()
    for t in range(h.n_tables):
        assert np.isin(dense[:, t], reachable[:, t]).all()
    _assert_new_buckets_or_the_key(dense)


def test_sparse_rows_probe_only_buckets_of_inputs_with_their_nonzeros():
    # a few nonzeros: most hashes borrow another's winner, and a probe moves all that do
    rng = np.random.default_rng(2)
    h = DWTA(300, n_tables=8, k=3, seed=4)
    for _ in range(40):
        support = np.sort(rng.choice(300, 5, replace=False)).astype(np.int32)
        vals = rng.standard_normal(5).astype(np.float32)
        probes = _sparse_probes(h, np.array([0, 5], dtype=np.int64), support, vals, 3)
        orders = _every_order(vals)
        offsets = np.arange(orders.shape[0] + 1, dtype=np.int64) * 5
        reachable = h.hash_sparse(offsets, np.tile(support, orders.shape[0]), orders.reshape(-1))
        for t in range(h.n_tables):
            assert np.isin(probes[0, t], reachable[:, t]).all()
        _assert_new_buckets_or_the_key(probes)


@pytest.mark.parametrize("twin", ["parallel", "serial"])
@pytest.mark.parametrize("d_in, k, binsize", [(6, 2, 8), (12, 3, 8), (40, 3, 8), (300, 4, 16)])
def test_dense_and_sparse_probes_agree_on_the_same_rows(twin, d_in, k, binsize):
    rng = np.random.default_rng(3)
    h = DWTA(d_in, n_tables=10, k=k, seed=2, binsize=binsize)
    x = rng.standard_normal((200, d_in)).astype(np.float32)
    for n_probes in (1, k):
        np.testing.assert_array_equal(_sparse_probes(h, *_csr(x), n_probes, twin), _dense_probes(h, x, n_probes, twin))


@pytest.mark.parametrize("d_in, k", [(4, 2), (6, 3), (12, 2), (100, 4)])
def test_probe_zero_is_the_key(d_in, k):
    rng = np.random.default_rng(4)
    h = DWTA(d_in, n_tables=12, k=k, seed=5)
    x = rng.standard_normal((100, d_in)).astype(np.float32)
    np.testing.assert_array_equal(_dense_probes(h, x, k)[:, :, 0], h.hash_dense(x))
    # sparse rows with few nonzeros, densified
    x[rng.random(x.shape) < 0.8] = 0
    offsets = np.concatenate([[0], np.cumsum((x != 0).sum(axis=1))]).astype(np.int64)
    ids = np.nonzero(x)[1].astype(np.int32)
    vals = x[x != 0].astype(np.float32)
    np.testing.assert_array_equal(_sparse_probes(h, offsets, ids, vals, k)[:, :, 0], h.hash_sparse(offsets, ids, vals))
