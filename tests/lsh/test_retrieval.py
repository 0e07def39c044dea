"""LSH retrieval against exact inner-product top-k on a planted data set."""
import numpy as np
import pytest

from sparsebolt.lsh import DWTA, SRP, FastSRP, NeuronIndex, SparseWTA, autotune
from sparsebolt.lsh.config import active_size
from sparsebolt.data.batch import csr_value
from sparsebolt.data.value import Value

DIM, D_IN, N_QUERIES = 20_000, 64, 400


@pytest.fixture(scope="module")
def planted():
    """Unit weight rows, and queries that are noisy copies of random rows: each query's
    exact top-1 inner product is (almost always) its planted row."""
    rng = np.random.default_rng(0)
    W = rng.normal(0, 1, (DIM, D_IN)).astype(np.float32)
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    targets = rng.integers(0, DIM, N_QUERIES)
    Q = (W[targets] + 0.5 * rng.normal(0, 1, (N_QUERIES, D_IN)) / np.sqrt(D_IN)).astype(np.float32)
    exact_top1 = np.argmax(Q @ W.T, axis=1)
    return W, Q, exact_top1


def _recall_at_1(family, sparsity, planted, ranked=False):
    W, Q, top1 = planted
    index = NeuronIndex(DIM, D_IN, autotune(DIM, D_IN, sparsity, family), active_size(DIM, sparsity), seed=1)
    index.rebuild(W)
    active = index.active(Value.dense(Q), int(sparsity * DIM), ranked=ranked)
    return np.mean([top1[i] in active[i] for i in range(N_QUERIES)])


@pytest.mark.parametrize("family, bound", [("dwta", 0.9), ("srp", 0.85), ("fast_srp", 0.85)])
def test_hash_families_retrieve_the_exact_top1(family, bound, planted):
    # at sparsity 0.01 random sampling finds the top-1 neuron 1% of the time
    assert _recall_at_1(family, 0.01, planted) >= bound


@pytest.mark.parametrize("family, bound", [("dwta", 0.92), ("srp", 0.93), ("fast_srp", 0.93)])
def test_ranking_by_bucket_hits_retrieves_at_least_as_much_of_the_top1(family, bound, planted):
    ranked = _recall_at_1(family, 0.005, planted, ranked=True)
    assert ranked >= bound and ranked >= _recall_at_1(family, 0.005, planted)


@pytest.fixture(scope="module")
def planted_sparse():
    """Weight rows of small noise, each neuron strong on 12 input coordinates of 20,000; sparse
    queries of 4-12 of a random neuron's coordinates and 4 others, value 1: each query's
    exact top-1 inner product is its neuron."""
    rng = np.random.default_rng(0)
    dim, d_in = 2000, 20_000
    W = rng.normal(0, 0.01, (dim, d_in)).astype(np.float32)
    own = np.stack([rng.choice(d_in, 12, replace=False) for _ in range(dim)])
    W[np.arange(dim)[:, None], own] = 1.0
    targets = rng.integers(0, dim, N_QUERIES)
    rows = [np.unique(np.concatenate([rng.choice(own[c], rng.integers(4, 13), replace=False),
                                      rng.integers(0, d_in, 4)])).astype(np.int32) for c in targets]
    offsets = np.concatenate(([0], np.cumsum([r.size for r in rows]))).astype(np.int64)
    Q = csr_value(d_in, offsets, np.concatenate(rows), np.ones(offsets[-1], dtype=np.float32))
    return W, Q, np.argmax(Q.to_dense() @ W.T, axis=1)


@pytest.mark.parametrize("family, bound", [("sparse_wta", 0.97), ("dwta", None)])
def test_sparse_queries_retrieve_the_exact_top1_with_sparse_wta(family, bound, planted_sparse):
    # DWTA reads 936 of the 20,000 coordinates: most queries hold none, and get an empty row's buckets
    W, Q, top1 = planted_sparse
    dim, d_in = W.shape
    index = NeuronIndex(dim, d_in, autotune(dim, d_in, 0.05, family), active_size(dim, 0.05), seed=1)
    index.rebuild(W)
    recall = {}
    for ranked in (False, True):
        active = index.active(Q, int(0.05 * dim), ranked=ranked)
        recall[ranked] = np.mean([top1[i] in active[i] for i in range(N_QUERIES)])
    if bound is None:
        assert max(recall.values()) < 0.5
    else:
        assert min(recall.values()) >= bound


def test_random_sampling_is_the_chance_baseline(planted):
    assert _recall_at_1("random", 0.01, planted) < 0.05


@pytest.mark.parametrize("cls", [DWTA, SRP, FastSRP, SparseWTA])
def test_sparse_and_dense_hashing_agree_on_a_fully_populated_vector(cls):
    rng = np.random.default_rng(0)
    h = cls(40, n_tables=6, k=2, seed=3)
    x = rng.normal(0, 1, (5, 40)).astype(np.float32)
    offsets = np.arange(6, dtype=np.int64) * 40
    ids = np.tile(np.arange(40, dtype=np.int32), 5)
    np.testing.assert_array_equal(h.hash_dense(x), h.hash_sparse(offsets, ids, x.reshape(-1)))
    keys = h.hash_dense(x)
    assert keys.min() >= 0 and keys.max() < (1 << h.range_pow)


def test_dwta_of_a_sparse_vector_densifies_empty_bins():
    h = DWTA(10_000, n_tables=8, k=3, seed=0)
    offsets = np.array([0, 3], dtype=np.int64)
    keys = h.hash_sparse(offsets, np.array([5, 77, 4000], dtype=np.int32), np.ones(3, dtype=np.float32))
    again = h.hash_sparse(offsets, np.array([5, 77, 4000], dtype=np.int32), np.ones(3, dtype=np.float32))
    np.testing.assert_array_equal(keys, again)
    assert keys.min() >= 0 and keys.max() < (1 << h.range_pow)


def test_dwta_of_a_sparse_vector_ignores_stored_zeros():
    # a stored zero is an absent coordinate: it must not win a bin densification would fill
    h = DWTA(200, n_tables=8, k=3, seed=0)
    offsets = np.array([0, 3, 6], dtype=np.int64)
    ids = np.array([5, 17, 90, 1, 2, 3], dtype=np.int32)
    vals = np.array([1, 1, 1, 0.5, -1, 2], dtype=np.float32)
    offsets_z = np.array([0, 6, 10], dtype=np.int64)
    ids_z = np.array([5, 17, 40, 90, 120, 150, 0, 1, 2, 3], dtype=np.int32)
    vals_z = np.array([1, 1, 0, 1, 0, 0, 0, 0.5, -1, 2], dtype=np.float32)
    np.testing.assert_array_equal(h.hash_sparse(offsets_z, ids_z, vals_z), h.hash_sparse(offsets, ids, vals))
    np.testing.assert_array_equal(h.probe_sparse(offsets_z, ids_z, vals_z, 3), h.probe_sparse(offsets, ids, vals, 3))


def test_regenerate_draws_new_functions_deterministically():
    a, b = DWTA(50, 4, 2, seed=1), DWTA(50, 4, 2, seed=1)
    np.testing.assert_array_equal(a.bins, b.bins)
    a.regenerate(2)
    assert not np.array_equal(a.bins, b.bins)
    b.regenerate(2)
    np.testing.assert_array_equal(a.bins, b.bins)


@pytest.mark.parametrize("cls", [DWTA, SRP, FastSRP])
def test_probe_keys_are_the_key_and_its_one_hash_neighbours(cls):
    rng = np.random.default_rng(0)
    h = cls(40, n_tables=6, k=3, seed=3)
    x = rng.normal(0, 1, (5, 40)).astype(np.float32)
    probes = h.probe_dense(x, 3)
    assert probes.shape == (5, 6, 4) and h.probe_dense(x, 1).shape == (5, 6, 2)
    np.testing.assert_array_equal(probes[:, :, 0], h.hash_dense(x))
    offsets = np.arange(6, dtype=np.int64) * 40
    ids = np.tile(np.arange(40, dtype=np.int32), 5)
    np.testing.assert_array_equal(probes, h.probe_sparse(offsets, ids, x.reshape(-1), 3))
    bits = h.bits_per_hash
    changed = probes[:, :, 1:] ^ probes[:, :, :1]
    # each neighbour differs from the key in the bits of one hash; with K probes, each hash once
    which = np.stack([(changed >> ((2 - k) * bits)) & ((1 << bits) - 1) != 0 for k in range(3)], axis=-1)
    assert (which.sum(axis=-1) == 1).all() and (which.sum(axis=-2) == 1).all()


@pytest.mark.parametrize("d_in", [4, 6])
def test_dwta_probes_only_buckets_some_input_hashes_to(d_in):
    # with fewer coordinates than a bin's slots a bin holds one twice, and its second slot never
    # wins; one hash a table, so a probe's bucket is reachable when its slot is
    rng = np.random.default_rng(0)
    h = DWTA(d_in, n_tables=16, k=1, seed=1)
    reachable = h.hash_dense(rng.standard_normal((5000, d_in)).astype(np.float32))
    x = rng.standard_normal((200, d_in)).astype(np.float32)
    offsets = np.arange(201, dtype=np.int64) * d_in
    ids = np.tile(np.arange(d_in, dtype=np.int32), 200)
    for probes in (h.probe_dense(x, 1), h.probe_sparse(offsets, ids, x.reshape(-1), 1)):
        assert (probes[:, :, 1] != probes[:, :, 0]).all()
        for t in range(16):
            assert np.isin(probes[:, t, 1], reachable[:, t]).all()


@pytest.mark.parametrize("cls", [DWTA, SRP, FastSRP, SparseWTA])
def test_rows_blind_counts_rows_without_a_coordinate_a_hash_reads(cls):
    h = cls(5000, n_tables=4, k=2, seed=0)
    read = h.coords_read()
    if cls is DWTA:
        assert read.sum() == np.unique(h.bins).size == 4 * 2 * h.binsize
    rng = np.random.default_rng(0)
    rows = [rng.choice(5000, n, replace=False).astype(np.int32) for n in rng.integers(0, 6, 300)]
    offsets = np.concatenate(([0], np.cumsum([r.size for r in rows]))).astype(np.int64)
    want = sum(not read[r].any() for r in rows)
    assert h.rows_blind(offsets, np.concatenate(rows)) == want
    assert want >= sum(r.size == 0 for r in rows) > 0
    # a stored zero is absent, as the hashes read it
    ids = np.concatenate(rows)
    vals = np.ones(ids.size, dtype=np.float32)
    vals[read[ids]] = 0
    assert h.rows_blind(offsets, ids, vals) == len(rows)
