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


# Multiply-adds of a training step below which it runs serial kernels, on one thread: waking
# a second thread for each of a step's dozen parallel kernels costs more than it saves, and a
# parallel kernel on one thread still pays its launch (16 us against 10 us serial on a small
# batch). Measured on 2 cores (docs/automl.md, "How long to train"): adult's UDT steps (about
# 0.26M) train 40% faster on one thread, clothing recommended's (2.1M) as fast, class_name's
# (2.8M) 40% slower.
SERIAL_WORK = 1_000_000


@contextmanager
def one_thread(active: bool = True):
    """Run the block's parallel kernels on one thread when ``active``."""
    n = numba.get_num_threads()
    if not active or n == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(n)
