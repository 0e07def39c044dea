import numpy as np

from sparsebolt.nn.parameter import _INIT_CHUNK, uniform_float32


def test_chunked_initial_weights_are_those_of_one_float64_draw():
    # seeded models keep their weights: drawing a table in chunks must not change a value
    shape = (3 * _INIT_CHUNK // 7 + 5, 7)
    got = uniform_float32(np.random.default_rng(3), 0.25, shape)
    want = np.random.default_rng(3).uniform(-0.25, 0.25, shape).astype(np.float32)
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(uniform_float32(np.random.default_rng(3), 0.25, 5),
                                  np.random.default_rng(3).uniform(-0.25, 0.25, 5).astype(np.float32))
