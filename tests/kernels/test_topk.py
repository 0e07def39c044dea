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
