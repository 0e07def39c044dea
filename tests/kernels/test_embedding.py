import numba
import numpy as np
import pytest

import sparsebolt as sb
from sparsebolt.kernels.embedding import embedding_forward, embedding_forward_serial


def _reference(E, b, offsets, ids, vals):
    """The sums in entry order, in float32 (a multiply, then an add), as the kernel adds."""
    out = np.empty((offsets.shape[0] - 1, E.shape[1]), dtype=np.float32)
    for s in range(out.shape[0]):
        acc = b.copy()
        for k in range(offsets[s], offsets[s + 1]):
            acc = acc + vals[k] * E[ids[k]]
        out[s] = acc
    return out


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n_samples", [0, 1, 2, 15, 16, 17, 300])  # tasks of 16 samples
def test_forward_equals_the_sums_in_entry_order_bit_for_bit(n_samples, threads):
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("one core")
    rng = np.random.default_rng(n_samples)
    for dim in (1, 3, 64):
        E = rng.standard_normal((50, dim)).astype(np.float32)
        b = rng.standard_normal(dim).astype(np.float32)
        widths = rng.integers(0, 6, size=n_samples)  # empty rows too
        offsets = np.zeros(n_samples + 1, dtype=np.int64)
        np.cumsum(widths, out=offsets[1:])
        ids = rng.integers(0, 5 if dim == 3 else 50, size=offsets[-1]).astype(np.int32)  # repeated ids
        vals = rng.standard_normal(offsets[-1]).astype(np.float32)
        want = _reference(E, b, offsets, ids, vals)
        before = sb.get_num_threads()
        sb.set_num_threads(threads)
        try:
            for kernel in (embedding_forward, embedding_forward_serial):
                out = np.full((n_samples, dim), np.nan, dtype=np.float32)
                kernel(E, b, offsets, ids, vals, out)
                np.testing.assert_array_equal(out.view(np.int32), want.view(np.int32))
        finally:
            sb.set_num_threads(before)
