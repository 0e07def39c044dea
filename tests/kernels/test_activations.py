"""Activation kernels against NumPy, both twins, row by row (softmax) and elementwise."""
import numpy as np
import pytest

from sparsebolt.kernels import activations as K

REFERENCE = {
    K.LINEAR: lambda z: z,
    K.RELU: lambda z: np.where(z < 0, np.float32(0), z),
    K.TANH: np.tanh,
    K.SIGMOID: lambda z: 1 / (1 + np.exp(-z)),
}


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 3, 40).astype(np.float32)
    z[[3, 7]] = [np.float32(-0.0), np.float32(0.0)]
    return z, np.array([0, 5, 5, 17, 40], dtype=np.int64)  # an empty row too


@pytest.mark.parametrize("kernel", [K.activate, K.activate_serial])
@pytest.mark.parametrize("code", [K.LINEAR, K.RELU, K.TANH, K.SIGMOID, K.SOFTMAX])
def test_activations_match_numpy(kernel, code):
    z, offsets = _rows()
    got = z.copy()
    kernel(got, offsets, code)
    if code == K.SOFTMAX:
        want = np.empty_like(z)
        for lo, hi in zip(offsets[:-1], offsets[1:]):
            e = np.exp(z[lo:hi] - z[lo:hi].max(initial=-np.inf))
            want[lo:hi] = e / e.sum()
    else:
        want = REFERENCE[code](z)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    if code == K.RELU:  # exact, with the sign of a zero and a nan kept
        assert np.array_equal(got.view(np.int32), want.view(np.int32))
        nan = np.array([np.nan, -1.0], dtype=np.float32)
        kernel(nan, np.array([0, 2], dtype=np.int64), code)
        assert np.isnan(nan[0]) and nan[1] == 0


@pytest.mark.parametrize("code", [K.LINEAR, K.RELU, K.TANH, K.SIGMOID, K.SOFTMAX])
def test_activation_backward_is_the_chain_rule(code):
    z, offsets = _rows(1)
    a = z.copy()
    K.activate(a, offsets, code)
    g = np.random.default_rng(2).normal(size=z.shape).astype(np.float32)
    got = g.copy()
    K.activation_backward(a, got, offsets, code)
    if code == K.SOFTMAX:
        want = np.empty_like(g)
        for lo, hi in zip(offsets[:-1], offsets[1:]):
            want[lo:hi] = a[lo:hi] * (g[lo:hi] - np.dot(a[lo:hi], g[lo:hi]))
    else:
        eps = 1e-3
        slope = (REFERENCE[code](z.astype(np.float64) + eps) - REFERENCE[code](z.astype(np.float64) - eps)) / (2 * eps)
        if code == K.RELU:  # the kernel's choice at 0: no gradient
            slope = np.where(a <= 0, 0.0, 1.0)
        want = g * slope
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)
