"""Dense top-k over a wide output, against NumPy."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.data.value import Value


def _layer(dim, activation, seed=0):
    inp = sb.Input(dim=16)
    out = sb.FullyConnected(dim=dim, sparsity=0.05, activation=activation)(inp)
    loss = "categorical_cross_entropy" if activation == "softmax" else "binary_cross_entropy"
    sb.Model(inputs=inp, outputs=out, loss=loss, seed=seed)
    return out.layer


@pytest.mark.parametrize("n", [1, 3, 8, 9, 40])
@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
def test_dense_top_k_matches_numpy_for_few_and_many_samples(n, activation):
    layer = _layer(20_011, activation)
    h = np.random.default_rng(n).normal(0, 1, (n, 16)).astype(np.float32)
    ids, scores = layer.dense_top_k(Value.dense(h), 5)
    z = h.astype(np.float64) @ layer.W.value.T.astype(np.float64) + layer.b.value
    want = np.argsort(-z, axis=1)[:, :5]
    np.testing.assert_array_equal(ids, want)
    if activation == "softmax":
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
    else:
        p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(scores, np.take_along_axis(p, want, 1), rtol=1e-4)


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("k", [4, 1_000])
def test_top_k_rows_keeps_the_first_of_ties_and_pads_short_rows(dense, k):
    from sparsebolt.kernels.topk import topk_rows, topk_rows_serial

    rng = np.random.default_rng(4)
    lengths = [0, 1, 3, 4, 5, 30, 200, 999, 1_000, 5_000]
    # few distinct values: many ties, and -inf outputs that still fill a short row
    rows = [rng.choice(np.array([-np.inf, -1.0, 0.0, 0.5, 2.0], dtype=np.float32), n) for n in lengths]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    vals = np.concatenate(rows).astype(np.float32)
    ids = np.concatenate([rng.permutation(10_000)[:n] for n in lengths]).astype(np.int32)
    for kernel in (topk_rows, topk_rows_serial):
        got_ids, got = np.empty((len(lengths), k), np.int32), np.empty((len(lengths), k), np.float32)
        kernel(vals, offsets, ids, dense, k, got_ids, got)
        for s, row in enumerate(rows):
            best = np.argsort(-row, kind="stable")[:k]
            want = best if dense else ids[offsets[s]:offsets[s + 1]][best]
            np.testing.assert_array_equal(got_ids[s, :len(best)], want)
            np.testing.assert_array_equal(got[s, :len(best)], row[best])
            assert (got_ids[s, len(best):] == -1).all() and (got[s, len(best):] == -np.inf).all()


@pytest.mark.parametrize("per_row", [False, True])
def test_shifted_label_hits_counts_the_labels_in_each_shifted_top_k(per_row):
    from sparsebolt.kernels.topk import shifted_label_hits

    rng = np.random.default_rng(7)
    n, n_classes, k = 60, 300, 10
    z = rng.normal(0, 1, (n, n_classes)).astype(np.float32)
    prior = np.log1p(rng.zipf(1.5, (n, n_classes) if per_row else n_classes).astype(np.float32))
    weights = np.array([0.0, 0.3, 1.0, 5.0], dtype=np.float32)
    labels = [list(rng.choice(n_classes, rng.integers(0, 4), replace=False)) for _ in range(n)]
    labels[0] = [int(np.argmax(z[0]))]  # top at weight 0
    offsets = np.cumsum([0] + [len(x) for x in labels]).astype(np.int64)
    ids = np.array([i for x in labels for i in x], dtype=np.int32)
    counts = np.empty((n, weights.size), dtype=np.int32)
    shifted_label_hits(z, np.broadcast_to(prior, z.shape), weights, offsets, ids, k, counts)
    for w_i, w in enumerate(weights):
        top = np.argsort(-(z + w * prior), axis=1, kind="stable")[:, :k]
        want = [len(set(top[s]) & set(labels[s])) for s in range(n)]
        np.testing.assert_array_equal(counts[:, w_i], want)
    assert counts[0, 0] == 1 and counts[:, 0].sum() != counts[:, 3].sum()


def _best_first(z):
    """Each row's columns by score, the lower id first among equal scores."""
    return np.stack([np.lexsort((np.arange(z.shape[1]), -row)) for row in z])


@pytest.mark.parametrize("n", [3, 40])
@pytest.mark.parametrize("k", [1, 700, 20_011])
def test_dense_top_k_of_many_ties_and_large_k_is_a_stable_sort(n, k):
    # small integers: every score is exact, and most of them tie across blocks and chunks
    layer = _layer(20_011, "sigmoid")
    rng = np.random.default_rng(k)
    layer.W.value[...] = rng.integers(-2, 3, layer.W.value.shape)
    layer.b.value[...] = rng.integers(-1, 2, layer.b.value.shape)
    h = rng.integers(-1, 2, (n, 16)).astype(np.float32)
    ids, scores = layer.dense_top_k(Value.dense(h), k)
    z = h @ layer.W.value.T + layer.b.value
    want = _best_first(z)[:, :k]
    np.testing.assert_array_equal(ids, want)
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-np.take_along_axis(z, want, 1))), rtol=1e-6)

