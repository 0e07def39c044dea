"""Thread count for the kernels and for BLAS."""
import numba
import numpy as np
from threadpoolctl import threadpool_limits

from ._validation import check_int

_blas_limit = None


def set_num_threads(n: int) -> None:
    """Run kernels and BLAS on ``n`` threads. One thread makes a seeded run reproducible
    bit for bit.

    Parameters
    ----------
    n : int
        Threads, in [1, ``NUMBA_NUM_THREADS``] (the cores numba started with).

    Raises
    ------
    ValueError
        For ``n`` outside that range.
    """
    global _blas_limit
    check_int("set_num_threads", "n", n, 1, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(n)
    _blas_limit = threadpool_limits(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads the kernels run on (``set_num_threads``).

    Returns
    -------
    int
    """
    return numba.get_num_threads()
