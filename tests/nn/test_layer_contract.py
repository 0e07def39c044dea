"""The contract every layer keeps: its forward equals a NumPy float64 reference, and its
backward equals the finite-difference gradient of that reference (for parameters and for
inputs); a sparse FullyConnected computes exactly the dense values of its active neurons."""
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.nn.layers.base import Context
from sparsebolt.data.value import Value

from ..conftest import random_csr

RTOL, ATOL = 1e-4, 2e-5


def _act(name, z):
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _fc_ref(params, xs, layer, active=None):
    W, b = params["W"], params["b"]
    z = xs[0] @ W.T + b
    if active is None:
        return _act(layer.activation, z)
    za = np.take_along_axis(z, active, axis=1)
    return _act(layer.activation, za)


def _emb_ref(params, xs, layer, active=None):
    return _act(layer.activation, xs[0] @ params["E"] + params["b"])


def _numeric_ref(params, xs, layer, active=None):
    """The bag plus each number's PLR function, tabulated and interpolated as documented."""
    x = xs[0]
    z = x @ params["E"] + params["b"]
    grid = np.arange(layer.levels + 1) / layer.levels
    for j, f in enumerate(layer.features):
        a = 2 * np.pi * params["C"][j][None, :] * grid[:, None]
        p = np.concatenate([np.cos(a), np.sin(a)], axis=1)
        table = np.maximum(p @ params["L"][j] + params["Lb"][j], 0) @ params["W"][j]
        present = x[:, f] != 0  # absent: not in a sparse row (none holds an explicit 0 here), 0 in a dense one
        v = np.clip(x[:, f], 0, 1) * layer.levels
        g = np.minimum(np.floor(v).astype(int), layer.levels - 1)
        t = (v - g)[:, None]
        z = z + present[:, None] * ((1 - t) * table[g] + t * table[g + 1])
    return _act(layer.activation, z)


def _numeric_layer():
    return sb.NumericEmbedding(6, features=[3, 1, 7], activation="relu", frequencies=3, width=4, levels=5)


def _numeric_dense(rng):
    # no exact zeros: a dense zero is an absent number (a step; its own test is below)
    return Value.dense(rng.uniform(-0.3, 1.3, (5, 9)).astype(np.float32))


def _numeric_csr(rng):
    """Rows holding some of the numeric features 1, 3, 7 with values in (0, 1), and others."""
    x = random_csr(rng, 5, 12, 4)
    dense = x.to_dense()
    dense[:, [1, 3, 7]] = 0
    for s in range(5):
        for f in rng.choice([1, 3, 7], size=rng.integers(1, 4), replace=False):
            dense[s, f] = rng.uniform(0.05, 0.95)
    ids = [np.flatnonzero(r) for r in dense]
    offsets = np.concatenate([[0], np.cumsum([len(i) for i in ids])]).astype(np.int64)
    flat = np.concatenate(ids).astype(np.int32)
    return Value(12, dense[np.repeat(np.arange(5), np.diff(offsets)), flat].astype(np.float32), flat, offsets)


def _concat_ref(params, xs, layer, active=None):
    return np.concatenate(xs, axis=1)


def _ln_ref(params, xs, layer, active=None):
    x = xs[0]
    xhat = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + layer.eps)
    return xhat * params["gamma"] + params["beta"]


def _dropout_ref(params, xs, layer, active=None):
    """The input, times the mask of the layer's last training forward, if any (the mask
    itself is checked in test_dropout.py); dense inputs only."""
    scales = layer._scales
    return xs[0] if scales is None else xs[0] * scales.reshape(xs[0].shape)


def _place(layer, dims):
    nodes = [sb.Input(dim=d) for d in dims]
    layer(*nodes)
    layer.build(np.random.default_rng(1))
    # non-trivial values for parameters that start at constants
    rng = np.random.default_rng(2)
    for p in layer.parameters():
        p.value[...] = rng.normal(0, 0.5, p.value.shape).astype(np.float32)
    if getattr(layer, "index", None) is not None:
        layer.index.rebuild(layer.W.value)
    return layer


def _dense_input(rng, n, d):
    return Value.dense(rng.normal(0, 1, (n, d)).astype(np.float32))


CASES = {
    # name: (layer factory, input factories (rng -> Value), reference)
    "fc-dense-linear": (lambda: sb.FullyConnected(7, activation="linear"), [lambda r: _dense_input(r, 5, 6)], _fc_ref),
    "fc-dense-relu": (lambda: sb.FullyConnected(7, activation="relu"), [lambda r: _dense_input(r, 5, 6)], _fc_ref),
    "fc-dense-tanh": (lambda: sb.FullyConnected(7, activation="tanh"), [lambda r: _dense_input(r, 5, 6)], _fc_ref),
    "fc-dense-sigmoid": (lambda: sb.FullyConnected(7, activation="sigmoid"), [lambda r: _dense_input(r, 5, 6)], _fc_ref),
    "fc-dense-softmax": (lambda: sb.FullyConnected(7, activation="softmax"), [lambda r: _dense_input(r, 5, 6)], _fc_ref),
    "fc-sparse-input": (lambda: sb.FullyConnected(7, activation="tanh"), [lambda r: random_csr(r, 5, 30, 4)], _fc_ref),
    "embedding-relu": (lambda: sb.Embedding(6, activation="relu"), [lambda r: random_csr(r, 5, 40, 5)], _emb_ref),
    "embedding-dense-input": (lambda: sb.Embedding(6, activation="tanh"), [lambda r: _dense_input(r, 5, 9)], _emb_ref),
    "numeric-embedding": (_numeric_layer, [_numeric_csr], _numeric_ref),
    "numeric-embedding-dense-input": (_numeric_layer, [_numeric_dense], _numeric_ref),
    "concatenate": (lambda: sb.Concatenate(), [lambda r: _dense_input(r, 5, 3), lambda r: random_csr(r, 5, 8, 3)], _concat_ref),
    "layer-norm": (lambda: sb.LayerNorm(), [lambda r: _dense_input(r, 5, 6)], _ln_ref),
    "dropout": (lambda: sb.Dropout(0.4), [lambda r: _dense_input(r, 5, 6)], _dropout_ref),
}


def _setup(case):
    make_layer, make_inputs, ref = CASES[case]
    rng = np.random.default_rng(0)
    inputs = [f(rng) for f in make_inputs]
    layer = _place(make_layer(), [x.dim for x in inputs])
    return layer, inputs, ref


def _params64(layer):
    return {p.name.split("/")[-1]: p.value.astype(np.float64) for p in layer.parameters()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_matches_reference(case):
    layer, inputs, ref = _setup(case)
    out = layer.forward(inputs, Context())
    expected = ref(_params64(layer), [x.to_dense().astype(np.float64) for x in inputs], layer)
    np.testing.assert_allclose(out.to_dense(), expected, rtol=RTOL, atol=ATOL)


def _fd_grad(f, array, eps=1e-6):
    """Central differences of scalar f() w.r.t. every entry of the float64 ``array``."""
    g = np.zeros_like(array)
    flat, gflat = array.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = f()
        flat[i] = old - eps
        lo = f()
        flat[i] = old
        gflat[i] = (hi - lo) / (2 * eps)
    return g


def _check_gradients(layer, inputs, ref, ctx, active=None):
    """Backward of sum(R * out) against finite differences of the float64 reference."""
    out = layer.forward(inputs, ctx)
    rng = np.random.default_rng(3)
    R = rng.normal(0, 1, out.vals.shape).astype(np.float32)
    for p in layer.parameters():
        p.grad[...] = 0
    need = [True] * len(inputs)
    in_grads = layer.backward(inputs, out, R.reshape(-1).copy(), need, ctx)
    params = _params64(layer)
    xs = [x.to_dense().astype(np.float64) for x in inputs]
    R64 = R.astype(np.float64).reshape(out.batch_size, -1)

    def f():
        return float((ref(params, xs, layer, active) * R64).sum())

    for p in layer.parameters():
        key = p.name.split("/")[-1]
        np.testing.assert_allclose(p.gradient(), _fd_grad(f, params[key]), rtol=1e-3, atol=1e-4,
                                   err_msg=f"gradient of {p.name}")
    for x, x64, g in zip(inputs, xs, in_grads):
        fd = _fd_grad(f, x64)
        if x.is_dense:
            np.testing.assert_allclose(g.reshape(x64.shape), fd, rtol=1e-3, atol=1e-4, err_msg="input gradient")
        else:
            rows = np.repeat(np.arange(x.batch_size), np.diff(x.offsets))
            np.testing.assert_allclose(g, fd[rows, x.ids], rtol=1e-3, atol=1e-4, err_msg="input gradient")


@pytest.mark.parametrize("case", sorted(CASES))
def test_backward_matches_finite_differences(case):
    layer, inputs, ref = _setup(case)
    _check_gradients(layer, inputs, ref, Context(training=True))


@pytest.mark.parametrize("family", ["dwta", "srp", "fast_srp", "sparse_wta", "random"])
@pytest.mark.parametrize("input_kind", ["dense", "sparse"])
def test_sparse_layer_computes_dense_values_of_its_active_set(family, input_kind):
    rng = np.random.default_rng(0)
    x = _dense_input(rng, 6, 12) if input_kind == "dense" else random_csr(rng, 6, 50, 6)
    layer = _place(sb.FullyConnected(80, sparsity=0.2, activation="softmax", sampling=family), [x.dim])
    ctx = Context(training=True)
    out = layer.forward([x], ctx)
    assert not out.is_dense and out.vals.size == 6 * 16
    active = out.ids.reshape(6, 16).astype(np.int64)
    assert all(len(set(row)) == 16 for row in active.tolist()), "active ids repeat within a sample"
    expected = _fc_ref(_params64(layer), [x.to_dense().astype(np.float64)], layer, active)
    np.testing.assert_allclose(out.vals.reshape(6, 16), expected, rtol=RTOL, atol=ATOL)
    _check_gradients(layer, [x], _fc_ref, ctx, active)


@pytest.mark.parametrize("activation", ["relu", "softmax"])
def test_sparse_path_with_every_neuron_active_equals_dense_layer(activation):
    rng = np.random.default_rng(0)
    x = _dense_input(rng, 4, 8)
    sparse = _place(sb.FullyConnected(10, sparsity=0.999, activation=activation), [8])
    dense = _place(sb.FullyConnected(10, sparsity=1.0, activation=activation), [8])
    dense.W.value[...] = sparse.W.value
    dense.b.value[...] = sparse.b.value
    ctx = Context(training=True)
    s_out, d_out = sparse.forward([x], ctx), dense.forward([x], ctx)
    assert not s_out.is_dense and s_out.vals.size == 40
    np.testing.assert_allclose(s_out.to_dense(), d_out.vals, rtol=RTOL, atol=1e-6)
    R = rng.normal(0, 1, (4, 10)).astype(np.float32)
    ids = s_out.ids.reshape(4, 10)
    s_dx = sparse.backward([x], s_out, np.take_along_axis(R, ids, axis=1).reshape(-1).copy(), [True], ctx)[0]
    d_dx = dense.backward([x], d_out, R.reshape(-1).copy(), [True], ctx)[0]
    np.testing.assert_allclose(s_dx, d_dx, rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(sparse.W.gradient(), dense.W.gradient(), rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(sparse.b.grad, dense.b.grad, rtol=RTOL, atol=1e-6)
