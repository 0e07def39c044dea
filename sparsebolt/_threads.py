"""Thread count for the kernels and for BLAS."""
from contextlib import contextmanager

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


# Multiply-adds of a training step below which its kernels run on one thread: waking a
# second thread for each of a step's dozen parallel kernels costs more than it saves. Measured
# on 2 cores (docs/automl.md, "How long to train"): adult's UDT steps (about 0.26M) train 40%
# faster on one thread, clothing recommended's (2.1M) as fast, class_name's (2.8M) 40% slower.
SERIAL_WORK = 1_000_000


@contextmanager
def threads_for(work: float):
    """Run the block's kernels on one thread when ``work`` (multiply-adds) is below
    ``SERIAL_WORK``, else on the threads ``set_num_threads`` chose."""
    n = numba.get_num_threads()
    if n == 1 or work >= SERIAL_WORK:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(n)
