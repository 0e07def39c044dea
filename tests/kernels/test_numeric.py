"""The numbers' kernels against NumPy: the PLR function tabulated at the points a batch
needs, values clipped into [0, 1] and interpolated between two table points, and the
gradients of that interpolation."""
import numpy as np
import pytest

from sparsebolt.kernels import numeric

LEVELS, DIM = 4, 3
# features 10 and 12 carry numbers (table rows 0 and 1), 11 and 13 are plain; two samples
FIRST, SLOT_OF = 10, np.array([0, -1, 1], np.int32)
OFFSETS = np.array([0, 3, 6], np.int64)
IDS = np.array([10, 11, 12, 12, 13, 10], np.int32)
VALS = np.array([0.3, 5.0, 1.5, np.nan, 0.2, -2.0], np.float32)
CLIPPED = {0: 0.3, 2: 1.0, 3: 0.0, 5: 0.0}   # entry: its value clipped (NaN to 0)


def _found():
    needed = np.ones((2, LEVELS + 1), np.uint8)
    return numeric.find_numbers(FIRST, SLOT_OF, OFFSETS, IDS, VALS, needed), needed


def _interpolated(T, entry, row, slot):
    """float64: each sample's sum of its numbers' table rows, interpolated linearly."""
    out = np.zeros((2, DIM))
    for e, s, j in zip(entry, row, slot):
        out[s] += [np.interp(CLIPPED[e] * LEVELS, np.arange(LEVELS + 1), T[j, :, c]) for c in range(DIM)]
    return out


@pytest.mark.parametrize("table", [numeric.numeric_table, numeric.numeric_table_serial], ids=["parallel", "serial"])
def test_the_table_holds_the_function_at_the_needed_points_only(table):
    rng = np.random.default_rng(0)
    n, k, d, levels = 2, 3, 4, 16
    C = rng.uniform(0.1, 2.0, (n, k)).astype(np.float32)
    L = rng.normal(0, 0.5, (n, 2 * k, d)).astype(np.float32)
    Lb = rng.normal(0, 0.5, (n, d)).astype(np.float32)
    W = rng.normal(0, 0.5, (n, d, DIM)).astype(np.float32)
    needed = (rng.random((n, levels + 1)) < 0.6).astype(np.uint8)
    P, Z = np.empty((n, 2 * k, levels + 1), np.float32), np.empty((n, d, levels + 1), np.float32)
    T = np.full((n, levels + 1, DIM), 7.0, np.float32)
    table(C, L, Lb, W, needed, P, Z, T)
    angles = 2 * np.pi * C.astype(np.float64)[:, None, :] * (np.arange(levels + 1) / levels)[None, :, None]
    features = np.concatenate([np.cos(angles), np.sin(angles)], axis=2)
    hidden = np.maximum(np.einsum("npi,nid->npd", features, L) + Lb[:, None, :], 0)
    expected = np.einsum("npd,nde->npe", hidden, W)
    flagged = needed.astype(bool)
    np.testing.assert_allclose(T[flagged], expected[flagged], rtol=1e-4, atol=1e-5)
    assert (T[~flagged] == 7.0).all()


def test_numbers_are_clipped_into_zero_one_and_interpolated_between_two_points():
    (entry, row, slot, point, frac), needed = _found()
    assert entry.tolist() == list(CLIPPED) and row.tolist() == [0, 0, 1, 1] and slot.tolist() == [0, 1, 1, 0]
    # 0.3 lies 0.2 of the way from point 1 to 2, 1.5 (as 1) all the way from 3 to 4, NaN and -2 (as 0) at 0
    assert point.tolist() == [1, 3, 0, 0]
    np.testing.assert_allclose(frac, [0.2, 1.0, 0.0, 0.0], atol=1e-6)
    assert needed.tolist() == [[1, 1, 1, 0, 0], [1, 1, 0, 1, 1]]   # zeroed first, then the points around each
    T = np.random.default_rng(1).normal(size=(2, LEVELS + 1, DIM)).astype(np.float32)
    out = np.zeros((2, DIM), np.float32)
    numeric.add_numbers(T, row, slot, point, frac, out)
    np.testing.assert_allclose(out, _interpolated(T, entry, row, slot), rtol=1e-5, atol=1e-6)


def test_the_gradients_are_those_of_the_interpolation():
    (entry, row, slot, point, frac), _ = _found()
    rng = np.random.default_rng(2)
    T = rng.normal(size=(2, LEVELS + 1, DIM)).astype(np.float32)
    dout = rng.normal(size=(2, DIM)).astype(np.float32)
    dT, dvals = np.empty_like(T), np.zeros(VALS.size, np.float32)
    numeric.numbers_grad(T, entry, row, slot, point, frac, VALS, dout, dT, dvals)
    # the output is linear in the table: <A T', dout> = <T', dT> for any table T'
    for other in (T, rng.normal(size=T.shape)):
        assert np.sum(other * dT) == pytest.approx(np.sum(_interpolated(other, entry, row, slot) * dout), rel=1e-5)
    # only 0.3 lies inside (0, 1): clipped values and plain features have no value gradient
    slope = LEVELS * (T[0, 2].astype(np.float64) - T[0, 1]) @ dout[0]
    np.testing.assert_allclose(dvals, [slope, 0, 0, 0, 0, 0], rtol=1e-5, atol=1e-7)
