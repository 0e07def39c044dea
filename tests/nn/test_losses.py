"""Losses against float64 references and finite differences of the pre-activations."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.data import Labels
from sparsebolt.data.value import Value


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ce_ref(z, label_rows, label_vals):
    p = _softmax(z)
    total = 0.0
    for s, (ids, vals) in enumerate(zip(label_rows, label_vals)):
        w = np.asarray(vals, dtype=np.float64) / np.sum(vals)
        total -= (w * np.log(p[s, ids])).sum()
    return total / z.shape[0]


def _bce_ref(z, label_rows, label_vals):
    p = 1 / (1 + np.exp(-z))
    y = np.zeros_like(z)
    for s, (ids, vals) in enumerate(zip(label_rows, label_vals)):
        y[s, ids] = vals
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / z.shape[0]


def _labels(rows, vals):
    lab = Labels.from_lists(rows)
    lab.vals[:] = np.concatenate(vals)
    return lab


@pytest.mark.parametrize("loss_cls, ref, act", [(sb.CategoricalCrossEntropy, _ce_ref, "softmax"),
                                                (sb.BinaryCrossEntropy, _bce_ref, "sigmoid")])
def test_dense_loss_and_gradient(loss_cls, ref, act):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1.5, (4, 9))
    rows = [[1], [2, 5], [0, 3, 8], [7]]
    vals = [[1.0], [1.0, 1.0], [0.5, 1.0, 0.25], [1.0]]
    a = _softmax(z) if act == "softmax" else 1 / (1 + np.exp(-z))
    out = Value.dense(a.astype(np.float32))
    loss, dz = loss_cls()(out, _labels(rows, vals))
    assert loss == pytest.approx(ref(z, rows, vals), rel=1e-5)
    fd = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += 1e-6
        zm[idx] -= 1e-6
        fd[idx] = (ref(zp, rows, vals) - ref(zm, rows, vals)) / 2e-6
    np.testing.assert_allclose(dz.reshape(z.shape), fd, rtol=1e-4, atol=1e-6)


def test_multi_label_softmax_target_weighs_each_label_equally():
    out = Value.dense(np.full((1, 4), 0.25, dtype=np.float32))
    _, dz = sb.CategoricalCrossEntropy()(out, Labels.from_lists([[0, 2]]))
    np.testing.assert_allclose(dz, [0.25 - 0.5, 0.25, 0.25 - 0.5, 0.25], rtol=1e-6)


def test_sparse_output_loss_uses_the_active_positions():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1, (2, 5))
    ids = np.array([[9, 4, 7, 1, 0], [3, 2, 8, 6, 5]], dtype=np.int32)
    out = Value.fixed_width(10, ids, _softmax(z).astype(np.float32))
    rows = [[4, 0], [3]]
    loss, dz = sb.CategoricalCrossEntropy()(out, Labels.from_lists(rows))
    # the same as the dense loss over the active columns with the labels at their positions
    dense_rows = [[1, 4], [0]]
    assert loss == pytest.approx(_ce_ref(z, dense_rows, [[1.0, 1.0], [1.0]]), rel=1e-5)
    expected = _softmax(z) / 2
    expected[0, [1, 4]] -= 0.5 / 2
    expected[1, 0] -= 1.0 / 2
    np.testing.assert_allclose(dz.reshape(2, 5), expected, rtol=1e-5, atol=1e-7)
