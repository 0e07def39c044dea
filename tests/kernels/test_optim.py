"""Lazy Adam and SGD over touched rows against dense NumPy updates."""
import numpy as np

from sparsebolt.kernels import optim


def _dense_adam(p, g, m, v, lr, b1, b2, eps, t):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return p - lr * mhat / (np.sqrt(vhat) + eps), m, v


def test_lazy_adam_on_active_rows_equals_dense_adam_on_those_rows():
    rng = np.random.default_rng(0)
    n, w = 50, 8
    p = rng.normal(0, 1, (n, w)).astype(np.float32)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    ref_p, ref_m, ref_v = p.astype(np.float64), m.astype(np.float64), v.astype(np.float64)
    for t in range(1, 6):
        rows = np.sort(rng.choice(n, 12, replace=False)).astype(np.int32)
        grad = np.zeros_like(p)
        grad[rows] = rng.normal(0, 1, (12, w))
        before = p.copy()
        new_p, new_m, new_v = _dense_adam(ref_p[rows], grad[rows].astype(np.float64), ref_m[rows],
                                          ref_v[rows], 1e-2, 0.9, 0.999, 1e-7, t)
        ref_p[rows], ref_m[rows], ref_v[rows] = new_p, new_m, new_v
        optim.adam_rows(p, grad, m, v, rows, 1e-2, 0.9, 0.999, 1e-7, t)
        np.testing.assert_allclose(p[rows], ref_p[rows], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(m, ref_m, rtol=1e-5, atol=1e-7)
        untouched = np.setdiff1d(np.arange(n), rows)
        assert np.array_equal(p[untouched], before[untouched]), "an inactive row changed"
        assert not grad.any(), "consumed gradient rows must be zeroed"


def test_sgd_rows_and_take_touched():
    p = np.ones((4, 3), dtype=np.float32)
    g = np.full((4, 3), 2.0, dtype=np.float32)
    touched = np.array([0, 1, 0, 1], dtype=np.uint8)
    rows = optim.take_touched(touched)
    assert rows.tolist() == [1, 3] and not touched.any()
    optim.sgd_rows(p, g, rows, 0.5)
    assert p[:, 0].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert g[[1, 3]].sum() == 0 and g[[0, 2]].sum() == 12


def test_take_touched_finds_every_set_flag_in_order_and_clears_them():
    rng = np.random.default_rng(3)
    for n, k in ((0, 0), (5, 3), (8, 8), (13, 1), (100_003, 333), (4_099, 3_000)):
        touched = np.zeros(n, dtype=np.uint8)
        touched[rng.choice(n, k, replace=False)] = rng.integers(1, 256, k) if n else 0
        expected = np.flatnonzero(touched)
        rows = optim.take_touched(touched)
        assert rows.dtype == np.int32 and rows.tolist() == expected.tolist(), (n, k)
        assert not touched.any()


def test_adam_on_every_row_of_several_parameters_equals_adam_rows_bit_for_bit():
    rng = np.random.default_rng(4)
    shapes = [(64,), (14, 16), (14, 32, 8), (3, 8, 64), (1,)]
    arrays = [[rng.normal(0, s, shape).astype(np.float32) for s in (1.0, 1.0, 0.1, 0.1)] for shape in shapes]
    for a in arrays:
        a[3] = np.abs(a[3])
    rows_way = [[x.copy() for x in a] for a in arrays]
    for t in (1, 2, 7):
        for p, g, m, v in rows_way:
            two = [x.reshape(x.shape[0], -1) for x in (p, g.copy(), m, v)]
            optim.adam_rows(*two, np.arange(p.shape[0], dtype=np.int32), 3e-3, 0.9, 0.999, 1e-7, t)
        grads = [a[1].copy() for a in arrays]
        optim.adam_every_row(tuple(a[0].reshape(-1) for a in arrays), tuple(g.reshape(-1) for g in grads),
                             tuple(a[2].reshape(-1) for a in arrays), tuple(a[3].reshape(-1) for a in arrays),
                             3e-3, 0.9, 0.999, 1e-7, t)
        assert not any(g.any() for g in grads), "consumed gradients must be zeroed"
        for a, b in zip(arrays, rows_way):
            for i in (0, 2, 3):
                assert np.array_equal(a[i], b[i])


def test_fused_grouped_adam_equals_adam_on_the_summed_gradient():
    from sparsebolt.kernels.grouping import group_by_id

    rng = np.random.default_rng(1)
    dim, d_in, batch, width = 40, 6, 8, 5
    x = rng.normal(0, 1, (batch, d_in)).astype(np.float32)
    ids = np.concatenate([rng.choice(dim, width, replace=False) for _ in range(batch)]).astype(np.int32)
    offsets = np.arange(batch + 1, dtype=np.int64) * width
    dz = rng.normal(0, 1, ids.size).astype(np.float32)
    order, goff, gids, rows_of = group_by_id(offsets, ids, dim, 2)
    assert sorted(gids.tolist()) == sorted(set(ids.tolist()))
    p0 = rng.normal(0, 1, (dim, d_in)).astype(np.float32)
    m0 = rng.normal(0, 0.1, (dim, d_in)).astype(np.float32)
    v0 = rng.uniform(0, 0.1, (dim, d_in)).astype(np.float32)
    grad = np.zeros_like(p0)
    compact = np.empty((gids.size, d_in), dtype=np.float32)
    optim.grouped_grads(x, rows_of, order, goff, dz, compact)
    grad[gids] = compact
    expected_grad = np.zeros((dim, d_in))
    for i, j in enumerate(ids):
        expected_grad[j] += dz[i] * x[i // width]
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-6)
    p1, m1, v1 = p0.copy(), m0.copy(), v0.copy()
    optim.adam_rows(p1, grad, m1, v1, gids, 1e-2, 0.9, 0.999, 1e-7, 3)
    p2, m2, v2 = p0.copy(), m0.copy(), v0.copy()
    optim.adam_grouped(p2, m2, v2, x, rows_of, order, goff, gids, dz, 1e-2, 0.9, 0.999, 1e-7, 3, 2)
    np.testing.assert_allclose(p2, p1, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(m2, m1, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(v2, v1, rtol=1e-6, atol=1e-7)


def test_balanced_runs_cover_the_groups_in_runs_of_about_equal_work():
    rng = np.random.default_rng(2)
    sizes = rng.integers(0, 60, 500)
    sizes[:5] = 5000  # a few popular rows first, as label neurons are
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    cost = sizes + optim._ROW_COST
    for n_runs in (1, 2, 3, 8, 600):
        bounds = optim._balanced_runs(offsets, n_runs)
        assert bounds[0] == 0 and bounds[-1] == sizes.size and np.all(np.diff(bounds) >= 0)
        work = [cost[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:])]
        assert max(work) <= cost.sum() / n_runs + cost.max()
    assert optim._balanced_runs(np.zeros(1, dtype=np.int64), 2).tolist() == [0, 0, 0]
    # one row past half the work: it is a run of its own, not the other run's first row
    big = np.array([0, 900, 950, 1000], dtype=np.int64)
    assert optim._balanced_runs(big, 2).tolist() == [0, 1, 3]
    # offsets of a slice that does not start at 0, and no runs asked for: one run of all
    assert optim._balanced_runs(offsets[100:], 0).tolist() == [0, sizes.size - 100]


def test_grouped_adam_gives_the_same_bits_for_any_number_of_runs():
    from sparsebolt.kernels.grouping import group_by_id

    rng = np.random.default_rng(3)
    dim, d_in, batch = 300, 16, 64
    x = rng.normal(0, 1, (batch, d_in)).astype(np.float32)
    # Zipf ids: a few rows in most samples, as popular label neurons are
    rows = [np.unique(rng.zipf(1.5, 20) % dim) for _ in range(batch)]
    ids = np.concatenate(rows).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum([r.size for r in rows])]).astype(np.int64)
    dz = rng.normal(0, 1, ids.size).astype(np.float32)
    order, goff, gids, rows_of = group_by_id(offsets, ids, dim, 2)
    start = (rng.normal(0, 1, (dim, d_in)).astype(np.float32), rng.normal(0, 0.1, (dim, d_in)).astype(np.float32),
             rng.uniform(0, 0.1, (dim, d_in)).astype(np.float32))
    results = []
    for n_runs in (1, 2, 3, 7, 1000):
        p, m, v = (a.copy() for a in start)
        optim.adam_grouped(p, m, v, x, rows_of, order, goff, gids, dz, 1e-2, 0.9, 0.999, 1e-7, 5, n_runs)
        results.append((p, m, v))
    for result in results[1:]:
        for got, want in zip(result, results[0]):
            np.testing.assert_array_equal(got, want)
    untouched = np.setdiff1d(np.arange(dim), gids)
    assert untouched.size and np.array_equal(results[0][0][untouched], start[0][untouched])
    assert not np.array_equal(results[0][0][gids], start[0][gids])
