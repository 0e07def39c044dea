"""Item-item co-occurrence kernels against NumPy."""
import numpy as np
import pytest

from sparsebolt.kernels.cooccurrence import (blend_history, blend_history_serial, dense_neighbors, history_scores,
                                             history_scores_serial, item_neighbors, item_users, neighbor_counts)

NO_MATRIX = np.zeros((0, 0), dtype=np.float32)


def _user_sets(seed, n_users=300, n_items=60):
    """Users' distinct items, the last item no user's, and their users x items matrix."""
    rng = np.random.default_rng(seed)
    sets = [np.unique(rng.integers(0, n_items - 1, rng.integers(1, 12))).astype(np.int32) for _ in range(n_users)]
    sets[0] = np.zeros(0, dtype=np.int32)  # a user with no items
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in sets])]).astype(np.int64)
    x = np.zeros((n_users, n_items), dtype=np.float32)
    for u, items in enumerate(sets):
        x[u, items] = 1.0
    return offsets, np.concatenate(sets), x


def _cosine(x):
    """float32 cosine of the item columns, computed as the kernel does; no self-similarity."""
    co = (x.T @ x).astype(np.float32)
    users = np.diag(co).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = co / np.sqrt(np.outer(users, users).astype(np.float32))
    sim[~np.isfinite(sim)] = 0.0
    np.fill_diagonal(sim, 0.0)
    return sim


@pytest.mark.parametrize("cap", [5, 1000])
def test_item_neighbors_are_each_items_most_similar_by_cosine(cap):
    offsets, items, x = _user_sets(0)
    n_items = x.shape[1]
    users = item_users(offsets, items, n_items)
    counts = neighbor_counts(offsets, items, *users, cap)
    sim = _cosine(x)
    np.testing.assert_array_equal(counts, np.minimum((sim > 0).sum(1), cap))
    nb_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ids = np.empty(nb_offsets[-1], np.int32)
    vals = np.empty(nb_offsets[-1], np.float32)
    item_neighbors(offsets, items, *users, nb_offsets, ids, vals)
    for i in range(n_items):
        want = np.lexsort((np.arange(n_items), -sim[i]))[:counts[i]]  # ties: the lower id first
        np.testing.assert_array_equal(ids[nb_offsets[i]:nb_offsets[i + 1]], want)
        np.testing.assert_array_equal(vals[nb_offsets[i]:nb_offsets[i + 1]], sim[i, want])
    assert counts[n_items - 1] == 0


def _neighbors(seed):
    offsets, items, x = _user_sets(seed)
    n_items = x.shape[1]
    users = item_users(offsets, items, n_items)
    counts = neighbor_counts(offsets, items, *users, n_items)
    nb_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ids, vals = np.empty(nb_offsets[-1], np.int32), np.empty(nb_offsets[-1], np.float32)
    item_neighbors(offsets, items, *users, nb_offsets, ids, vals)
    return (nb_offsets, ids, vals), _cosine(x)


def _past(seed, n_rows, n_items):
    rng = np.random.default_rng(seed)
    # repeated items in a row count once
    rows = [rng.integers(0, n_items, rng.integers(0, 8)).astype(np.int32) for _ in range(n_rows)]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    flags = np.zeros((n_rows, n_items), dtype=bool)
    for s, r in enumerate(rows):
        flags[s, r] = True
    return (offsets, np.concatenate(rows)), flags


def test_history_scores_sum_the_similarity_to_each_distinct_past_item():
    table, sim = _neighbors(1)
    n_items = sim.shape[0]
    past, flags = _past(2, 40, n_items)
    matrix = np.full((n_items + 3, n_items + 3), np.nan, dtype=np.float32)  # 3 classes with no neighbors
    dense_neighbors(*table, matrix)
    np.testing.assert_array_equal(matrix[:n_items, :n_items], sim)
    assert (matrix[n_items:] == 0).all() and (matrix[:, n_items:] == 0).all()
    by_lists = np.full((40, n_items), np.nan, dtype=np.float32)
    history_scores(*past, *table, NO_MATRIX, by_lists)
    np.testing.assert_allclose(by_lists, flags.astype(np.float32) @ sim, rtol=1e-5, atol=1e-6)
    square = matrix[:n_items, :n_items].copy()
    for kernel, by in ((history_scores_serial, NO_MATRIX), (history_scores, square), (history_scores_serial, square)):
        out = np.full((40, n_items), np.nan, dtype=np.float32)
        kernel(*past, *table, by, out)
        np.testing.assert_array_equal(out, by_lists)  # the same sums in the same order


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("exclude", [False, True])
def test_blend_history_gives_log_p_plus_the_weighted_score_and_its_normaliser(dense, exclude):
    table, sim = _neighbors(3)
    n_items, n_rows, weight = sim.shape[0], 30, 2.5
    past, flags = _past(4, n_rows, n_items)
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(n_items), n_rows).astype(np.float32)
    p[0, :5] = 0.0  # a zero probability is left out, as a past item is
    with np.errstate(divide="ignore"):
        want = np.log(p.astype(np.float64)) + weight * (flags @ sim)
    if exclude:
        want[flags] = -np.inf
    if dense:
        vals, offsets, ids, cols = p.reshape(-1).copy(), np.arange(n_rows + 1, dtype=np.int64) * n_items, \
            np.zeros(0, np.int32), np.tile(np.arange(n_items), (n_rows, 1))
    else:  # each row's outputs: a few retrieved classes, in no order
        cols = np.stack([rng.permutation(n_items)[:12] for _ in range(n_rows)]).astype(np.int32)
        vals = np.take_along_axis(p, cols, 1).reshape(-1).copy()
        offsets, ids = np.arange(n_rows + 1, dtype=np.int64) * 12, cols.reshape(-1)
    log_norm = np.empty(n_rows, np.float32)
    scores = np.empty((n_rows, n_items), np.float32)
    history_scores(*past, *table, NO_MATRIX, scores)
    serial_vals, serial_norm = vals.copy(), log_norm.copy()
    blend_history(vals, offsets, ids, dense, *past, scores, weight, exclude, log_norm)
    blend_history_serial(serial_vals, offsets, ids, dense, *past, scores, weight, exclude, serial_norm)
    np.testing.assert_array_equal(serial_vals, vals)
    np.testing.assert_array_equal(serial_norm, log_norm)
    want = np.take_along_axis(want, cols, 1)
    got = vals.reshape(n_rows, -1)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-5, atol=1e-5)
    top = want.max(1)
    np.testing.assert_allclose(log_norm, top + np.log(np.exp(want - top[:, None]).sum(1)), rtol=1e-5, atol=1e-5)
