"""Adam and SGD move only the rows that received a gradient, as NumPy's steps on those rows
do (Adam's bias correction by the global step); their parameters and saved state are checked."""
import numpy as np
import pytest

from sparsebolt.nn.optimizers import SGD, Adam
from sparsebolt.nn.parameter import Parameter


def _table():
    """A 6 x 3 parameter of ones whose rows are flagged as they receive a gradient."""
    return Parameter("t", np.ones((6, 3), np.float32), np.zeros(6, np.uint8))


def _gradient(p, rows, values):
    """As a backward pass leaves it: the rows' gradients, and their flags."""
    p.grad[rows] = values
    p.touched[rows] = 1


def test_adam_moves_the_rows_with_a_gradient_as_numpys_lazy_adam_does():
    rng = np.random.default_rng(0)
    p, adam = _table(), Adam(beta1=0.8, beta2=0.9, eps=1e-3)
    w, m, v = np.ones((6, 3)), np.zeros((6, 3)), np.zeros((6, 3))
    for t, rows in enumerate(([1, 4], [4]), start=1):
        g = rng.normal(size=(len(rows), 3)).astype(np.float32)
        _gradient(p, rows, g)
        adam.step([p], 0.1)
        # row 1 keeps its moments through step 2, which gives it no gradient; the bias correction counts it
        m[rows] = 0.8 * m[rows] + 0.2 * g
        v[rows] = 0.9 * v[rows] + 0.1 * g.astype(np.float64) ** 2
        w[rows] -= 0.1 * (m[rows] / (1 - 0.8 ** t)) / (np.sqrt(v[rows] / (1 - 0.9 ** t)) + 1e-3)
    np.testing.assert_allclose(p.value, w, rtol=1e-5)
    np.testing.assert_allclose(adam.state["t"][0], m, rtol=1e-5)
    assert adam.step_count == 2 and not p.touched.any() and not p.grad.any()


def test_sgd_moves_the_rows_with_a_gradient_by_the_rate_times_it():
    p, g = _table(), np.array([[1.0, -2.0, 0.5]], np.float32)
    _gradient(p, [2], g)
    SGD().step([p], 0.5)
    expected = np.ones((6, 3), np.float32)
    expected[2] -= 0.5 * g[0]
    np.testing.assert_array_equal(p.value, expected)
    assert not p.touched.any() and not p.grad.any()


@pytest.mark.parametrize("kwargs, message", [
    ({"beta1": 1.0}, r"The 'beta1' parameter of Adam must be a number in \[0\.0, 1\.0\)\. Got 1\.0 instead\."),
    ({"beta2": -0.1}, r"The 'beta2' parameter of Adam must be a number in \[0\.0, 1\.0\)"),
    ({"eps": 0.0}, r"The 'eps' parameter of Adam must be a number in \(0\.0, inf\)"),
])
def test_adam_checks_its_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Adam(**kwargs)


@pytest.mark.parametrize("rows, message", [
    (np.array([3, 1], np.int64), "must hold increasing row ids"),
    (np.array([1, 1], np.int64), "must hold increasing row ids"),
    (np.array([1, 20_000], np.int64), r"must hold values in \[0, 20000\)"),
    (np.array([1.0, 2.0]), r"must be int64\[2\]"),
])
def test_saved_moment_rows_that_do_not_fit_the_table_are_refused(rows, message):
    p = Parameter("emb/E", np.zeros((20_000, 64), np.float32), np.zeros(20_000, np.uint8))
    arrays = {"rows/emb/E": rows, "m/emb/E": np.ones((2, 64), np.float32), "v/emb/E": np.ones((2, 64), np.float32)}
    with pytest.raises(ValueError, match=message):
        Adam().set_state({"step_count": 3}, arrays, [p])
