"""Counter-based randomness: mix spreads its draws evenly and depends on each of its three
integers, and dropout's factors are its draws against the threshold, entry by entry."""
import numpy as np
import pytest

from sparsebolt.kernels.random import dropout_scales, mix


def test_mix_draws_evenly_from_zero_to_two_to_the_63_and_depends_on_every_argument():
    draws = np.array([mix(7, 3, i) for i in range(20_000)], dtype=np.int64)
    assert draws.min() >= 0 and np.unique(draws).size == draws.size
    u = draws / 2.0 ** 63
    # 20,000 draws: standard errors of 0.002 (the mean) and 0.003 (a quarter's share)
    assert abs(u.mean() - 0.5) < 0.01 and abs((u < 0.25).mean() - 0.25) < 0.015
    assert mix(7, 3, 5) == mix(7, 3, 5)
    assert len({mix(7, 3, 5), mix(8, 3, 5), mix(7, 4, 5), mix(7, 3, 6)}) == 4


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.9])
def test_dropout_scales_zero_the_entries_whose_draw_falls_below_the_threshold(rate):
    threshold = int(rate * 2 ** 63)
    out = dropout_scales(5000, threshold, np.float32(2.0), 11, 4)
    expected = [2.0 if mix(11, 4, i) >= threshold else 0.0 for i in range(5000)]
    np.testing.assert_array_equal(out, np.array(expected, dtype=np.float32))
    assert abs((out == 0).mean() - rate) < 0.03  # 5,000 draws: a standard error of at most 0.007
