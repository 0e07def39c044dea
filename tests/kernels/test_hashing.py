"""The DWTA probe and sparse_wta kernels against their definitions in plain NumPy, on rows
with ties and on bins that hold a coordinate twice (tests/lsh/test_retrieval.py checks the
hash families through their classes)."""
import numpy as np
import pytest

from sparsebolt.kernels import hashing
from sparsebolt.lsh import DWTA, SparseWTA


def _reference_probes(x, bins, n_tables, k, bits, n_probes):
    """Each hash's winner is the first largest slot of its bin; its runner-up the first largest
    slot at another coordinate (none: the winner, an infinite lead); probe p swaps the winner
    of the hash whose lead is the p-th smallest (the first hash of equal leads) for its
    runner-up; with no runner-up left, the probe is the key itself."""
    n = x.shape[0]
    keys = np.empty((n, n_tables, 1 + n_probes), dtype=np.int64)
    mask = (1 << bits) - 1
    for s in range(n):
        for t in range(n_tables):
            key, runner, gap = 0, [], []
            for j in range(k):
                coords = bins[t * k + j]
                vals = x[s, coords]
                arg = int(np.argmax(vals))
                others = [i for i in range(len(coords)) if coords[i] != coords[arg]]
                if others:
                    second = max(vals[i] for i in others)
                    runner.append(next(i for i in others if vals[i] == second))
                    gap.append(np.float32(vals[arg] - second))
                else:
                    runner.append(arg)
                    gap.append(np.float32(np.inf))
                key = (key << bits) | arg
            keys[s, t, 0] = key
            for p in range(1, 1 + n_probes):
                h = 0
                for i in range(1, k):
                    if gap[i] < gap[h]:
                        h = i
                if gap[h] == np.inf:
                    keys[s, t, p] = key
                    continue
                gap[h] = np.inf
                shift = (k - 1 - h) * bits
                keys[s, t, p] = (key & ~(mask << shift)) | (runner[h] << shift)
    return keys


@pytest.mark.parametrize("d_in", [5, 12, 64])
@pytest.mark.parametrize("kernel", [hashing.dwta_dense_probes, hashing.dwta_dense_probes_serial])
def test_dense_probes_follow_the_definition_on_ties_and_repeated_coordinates(d_in, kernel):
    # small integers tie often; at d_in 5 every 8-slot bin holds coordinates twice, and at 12
    # the bins at a permutation's end do
    rng = np.random.default_rng(d_in)
    h = DWTA(d_in, n_tables=7, k=3, seed=1)
    x = rng.integers(-2, 3, (60, d_in)).astype(np.float32)
    x[:5] = 0
    x[5:10] = rng.standard_normal((5, d_in))
    for n_probes in (1, 2, 3):
        got = np.empty((x.shape[0], 7, 1 + n_probes), dtype=np.int32)
        kernel(x, h.bins, 7, 3, h.bits_per_hash, got)
        np.testing.assert_array_equal(got, _reference_probes(x, h.bins, 7, 3, h.bits_per_hash, n_probes))


def test_probes_past_the_hashes_with_a_runner_up_are_the_key():
    # one hash of three has a runner-up: the second and third probes have no neighbour left
    keys = np.zeros((1, 1, 4), dtype=np.int32)
    key = 0b001_010_011
    hashing._probe_keys(key, np.array([5, 2, 3], dtype=np.int32),
                        np.array([0.1, np.inf, np.inf], dtype=np.float32), 3, 3, keys, 0, 0)
    assert keys[0, 0].tolist() == [key, 0b101_010_011, key, key]


def test_sparse_probes_never_repeat_a_neighbouring_bucket():
    # a few nonzeros of 64: most bins hold one or none, so few hashes have a runner-up, and a
    # repeated probe would count its bucket twice in a ranked query
    rng = np.random.default_rng(0)
    h = DWTA(64, n_tables=20, k=3, seed=2)
    n, nnz = 200, 4
    offsets = np.arange(n + 1, dtype=np.int64) * nnz
    ids = np.concatenate([np.sort(rng.choice(64, nnz, replace=False)) for _ in range(n)]).astype(np.int32)
    vals = rng.random(n * nnz).astype(np.float32) + 0.5
    probes = h.probe_sparse(offsets, ids, vals, 3)
    repeats = 0
    for s in range(n):
        for t in range(20):
            neighbours = [b for b in probes[s, t, 1:] if b != probes[s, t, 0]]
            repeats += len(neighbours) - len(set(neighbours))
    assert repeats == 0
    assert (probes[:, :, 1:] == probes[:, :, :1]).any()
    assert (probes[:, :, 1:] != probes[:, :, :1]).any()


def _reference_wta(x, bins, n_keys):
    """Each table's slots of nonzeros, the first slot of a coordinate the bin holds twice,
    by value then slot; the first ``n_keys`` of them, -1 beyond."""
    keys = np.full((x.shape[0], bins.shape[0], n_keys), -1, dtype=np.int64)
    for s in range(x.shape[0]):
        for t, coords in enumerate(bins):
            slots = [i for i in range(len(coords)) if x[s, coords[i]] != 0 and coords[i] not in coords[:i]]
            slots.sort(key=lambda i: (-x[s, coords[i]], i))
            keys[s, t, :len(slots[:n_keys])] = slots[:n_keys]
    return keys


@pytest.mark.parametrize("d_in", [5, 40, 300])
def test_sparse_wta_keys_follow_the_definition_dense_and_csr_alike(d_in):
    # small integers tie often and hold zeros; at d_in 5 a bin of 8 holds coordinates twice,
    # at 40 the bins past the first permutation do; CSR rows in shuffled order, stored zeros kept
    rng = np.random.default_rng(d_in)
    h = SparseWTA(d_in, n_tables=-(-d_in // 8) + 1, k=3, seed=1)
    x = rng.integers(-2, 3, (60, d_in)).astype(np.float32)
    x[:5] = 0
    x[5:10] = rng.standard_normal((5, d_in))
    x[10:20] *= rng.random((10, d_in)) < 0.05
    rows = [rng.permutation(np.union1d(np.flatnonzero(x[s]), rng.choice(d_in, d_in // 4, replace=False)))
            for s in range(60)]
    offsets = np.concatenate(([0], np.cumsum([r.size for r in rows]))).astype(np.int64)
    ids = np.concatenate(rows).astype(np.int32)
    vals = np.concatenate([x[s, r] for s, r in enumerate(rows)]).astype(np.float32)
    for n_probes in (0, 1, 2):
        want = _reference_wta(x, h.bins, 1 + n_probes)
        for serial in (False, True):
            np.testing.assert_array_equal(h.probe_dense(x, n_probes, serial), want)
            np.testing.assert_array_equal(h.probe_sparse(offsets, ids, vals, n_probes, serial), want)
    np.testing.assert_array_equal(h.hash_dense(x), want[:, :, 0])
    np.testing.assert_array_equal(h.hash_sparse(offsets, ids, vals), want[:, :, 0])
    assert (want[:5] == -1).all() and (want[10:20, :, 0] == -1).any()
