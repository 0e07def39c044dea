"""Counter-based pseudo-randomness: the same inputs give the same number on any thread."""
import numpy as np
from numba import njit


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
