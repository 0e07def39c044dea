"""NumericEmbedding: the same bits serial and threaded, its parameters and inputs checked,
and what it reads as a number (the shared forward and backward contract is in
tests/nn/test_layer_contract.py)."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.data.value import Value
from sparsebolt.nn.layers.base import Context

from ..test_layer_contract import _place, _setup


def test_numeric_embedding_is_the_same_serial_and_on_one_or_two_threads():
    layer, inputs, _ = _setup("numeric-embedding")
    serial = layer.forward(inputs, Context(serial=True)).vals.copy()
    R = np.random.default_rng(4).normal(0, 1, serial.size).astype(np.float32)
    results = []
    before = sb.get_num_threads()
    try:
        for threads in (1, min(2, sb._threads.numba.config.NUMBA_NUM_THREADS)):
            sb.set_num_threads(threads)
            out = layer.forward(inputs, Context(training=True))
            layer.backward(inputs, out, R.copy(), [False], Context(training=True))
            results.append([out.vals.copy()] + [p.gradient().copy() for p in layer.parameters()[2:]])
    finally:
        sb.set_num_threads(before)
    # a serial training step: the serial twins forward and backward
    out = layer.forward(inputs, Context(training=True, serial=True))
    layer.backward(inputs, out, R.copy(), [False], Context(training=True, serial=True))
    results.append([out.vals.copy()] + [p.gradient().copy() for p in layer.parameters()[2:]])
    np.testing.assert_array_equal(results[0][0], serial)
    for a, b, c in zip(*results):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("kwargs, message", [
    ({"features": []}, "The 'features' parameter of NumericEmbedding must be a non-empty sequence"),
    ({"features": [1, 1]}, "must be distinct feature ids"),
    ({"features": [1.5]}, "non-empty sequence of feature ids"),
    ({"features": [1], "levels": 0}, "The 'levels' parameter of NumericEmbedding"),
    ({"features": [1], "sigma": -1.0}, "The 'sigma' parameter of NumericEmbedding"),
])
def test_numeric_embedding_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sb.NumericEmbedding(4, **kwargs)


def test_numeric_embedding_rejects_a_feature_beyond_its_input():
    layer = sb.NumericEmbedding(4, features=[3, 12])
    layer(sb.Input(dim=10))
    with pytest.raises(ValueError, match=r"ids below the input's width 10\. Got 12"):
        layer.build(np.random.default_rng(0))


def _one_row(ids, vals, dim=12):
    return Value(dim, np.asarray(vals, dtype=np.float32), np.asarray(ids, dtype=np.int32),
                 np.array([0, len(ids)], dtype=np.int64))


def test_numeric_embedding_reads_present_zeros_absent_dense_zeros_and_nan_without_crashing():
    layer = _place(sb.NumericEmbedding(4, features=[3, 7]), [12])
    without = layer.forward([_one_row([5], [1.0])], Context()).vals
    dense = np.zeros((1, 12), dtype=np.float32)
    dense[0, 5] = 1.0
    np.testing.assert_allclose(layer.forward([Value.dense(dense)], Context()).vals, without, rtol=1e-6)
    explicit_zero = layer.forward([_one_row([5, 3], [1.0, 0.0])], Context()).vals
    assert not np.allclose(explicit_zero, without)  # present with value 0: the function at 0
    ctx = Context(training=True)
    x = _one_row([5, 3, 7], [1.0, np.nan, 0.5])
    out = layer.forward([x], ctx)
    assert np.isnan(out.vals).all()
    layer.backward([x], out, np.ones(out.vals.size, dtype=np.float32), [True], ctx)


def test_numeric_embedding_backward_needs_the_training_forward_of_its_output():
    layer, inputs, _ = _setup("numeric-embedding")
    grad = np.ones(5 * 6, dtype=np.float32)
    out = layer.forward(inputs, Context())
    with pytest.raises(RuntimeError, match="backward needs the training forward of the same output"):
        layer.backward(inputs, out, grad.copy(), [False], Context(training=True))
    first = layer.forward(inputs, Context(training=True))
    layer.forward(inputs, Context(training=True))
    with pytest.raises(RuntimeError, match="backward needs the training forward"):
        layer.backward(inputs, first, grad.copy(), [False], Context(training=True))
