"""Counter-based pseudo-randomness: the same inputs give the same number on any thread."""
import numpy as np
from numba import njit, prange


@njit(cache=True)
def mix(a, b, c):
    """A well-mixed non-negative int64 from three integers (splitmix64 finaliser)."""
    x = (np.uint64(a) * np.uint64(0x9E3779B97F4A7C15)) ^ (np.uint64(b) * np.uint64(0xC2B2AE3D27D4EB4F))
    x ^= np.uint64(c) * np.uint64(0x165667B19E3779F9)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return np.int64(x >> np.uint64(1))


@njit(parallel=True, cache=True)
def dropout_scales(n, threshold, keep_scale, seed, step):
    """Inverted dropout's factors: 0 where ``mix(seed, step, i)`` falls below ``threshold``
    (a share ``threshold / 2**63`` of the entries), else ``keep_scale``. Entry i depends on
    (seed, step, i) alone: a step's mask is the same on any thread count and after a resume.

    n : int    threshold : int64 in [0, 2**63)    keep_scale : float32    seed, step : int
    returns float32[n]
    """
    out = np.empty(n, dtype=np.float32)
    for i in prange(n):
        out[i] = keep_scale if mix(seed, step, i) >= threshold else np.float32(0.0)
    return out
