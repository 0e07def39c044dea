"""Thread count for the kernels and for BLAS."""
import os
import threading
import time
from contextlib import contextmanager, nullcontext

import joblib
import numba
import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_limits

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


def fit_to_usable_cpus() -> None:
    """Lower the kernels' and BLAS's threads to the CPUs this process may use where a
    container's CPU quota (a cgroup bandwidth limit, as Docker's ``--cpus`` and Kubernetes'
    CPU limits set) allows fewer than the cores numba counted: numba and OpenBLAS read the
    cores and the affinity, not the quota, so a pod limited to 2 CPUs on a 64-core host
    would run 64 threads that the quota throttles in turn. joblib reads the quota. Left
    alone where ``NUMBA_NUM_THREADS`` is set (the user's choice) and for ``set_num_threads``
    later."""
    if "NUMBA_NUM_THREADS" in os.environ:
        return
    usable = joblib.cpu_count()
    if usable < numba.get_num_threads():
        set_num_threads(usable)


def get_num_threads() -> int:
    """The number of threads the kernels run on (``set_num_threads``).

    Returns
    -------
    int
    """
    return numba.get_num_threads()


# Multiply-adds of a training step below which it runs serial kernels, on one thread: waking
# a second thread for each of a step's dozen parallel kernels costs more than it saves.
# Measured on 2 cores (whole UDT fits, BLAS on one thread in a step, workers spinning for
# WORKER_SPINS): adult age's steps (1.25M) took 1.26 ms on one thread against 1.7-2.0 ms on
# two, clothing recommended's (2.1M) 10.9 ms against 7.4-7.8 ms, class_name's (5.6M) 23.8 ms
# against 13.9-14.9 ms.
SERIAL_WORK = 1_600_000

# Multiply-adds of a validation pass during training below which its BLAS calls run on one
# thread: OpenBLAS's worker spins for a while after a call and takes the core that the next
# epoch's parallel kernels need (adult age's 512-row steps trained at 4.6 us a row after a
# validation pass on two BLAS threads, 2.4 us after one on one). One thread multiplies about
# 50G a second here, so below this the second saves less than the slowdown costs.
SMALL_BLAS_WORK = 4e9

# A parallel kernel waits for every thread of numba's pool: where another process keeps a
# core busy the second thread runs only when the scheduler gives it that core, 0.9 ms after
# the kernel starts on a 2-vCPU VM (2 us on idle cores), and a step's dozen kernels took 10
# ms instead of 1 (WordNet glosses -> 50 grandparents: a fit of 4.8 s on two threads, 0.8 s
# serial). A pool whose empty kernel took longer than SLOW_LAUNCH (the fastest of
# PROBE_LAUNCHES), probed again PROBE_EVERY seconds later, runs training steps serially.
SLOW_LAUNCH, PROBE_LAUNCHES, PROBE_EVERY = 2e-4, 3, 1.0
# A slow launch on idle cores is a sleeping core waking (an idle vCPU halts, and waking it took
# 0.1-0.6 ms here): the probe called up to half of an idle 2-vCPU VM's probes slow in a UDT fit,
# whose steps then ran serially, 1.3-1.6x slower. So where the kernel reports CPU time (Linux),
# a slow probe counts only when other processes used more of the cores than our threads
# leave free since the probe before, if that was at most OTHERS_WINDOW seconds ago.
OTHERS_WINDOW = 10.0
_probe = {"at": -float("inf"), "slow": False, "cpu": None}
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PROC_STAT = "/proc/stat"
# the probe's kernel input: one value a row, activated as it is (linear)
_PROBE_ROWS = (np.zeros(64, dtype=np.float32), np.arange(65, dtype=np.int64))


def pool_slow() -> bool:
    """Whether the kernels' thread pool is slow to start a kernel now (``SLOW_LAUNCH``),
    probed at most once every ``PROBE_EVERY`` seconds; False on one thread."""
    if numba.get_num_threads() == 1:
        return False
    now = time.perf_counter()
    if now - _probe["at"] < PROBE_EVERY:
        return _probe["slow"]
    from .kernels.activations import LINEAR, activate  # loaded by every forward pass already

    fastest = float("inf")
    for _ in range(PROBE_LAUNCHES):
        start = time.perf_counter()
        activate(*_PROBE_ROWS, LINEAR)
        fastest = min(fastest, time.perf_counter() - start)
    slow = fastest > SLOW_LAUNCH
    last, _probe["cpu"] = _probe["cpu"], _cpu_sample()
    if slow and last is not None and _probe["cpu"] is not None and _probe["cpu"][0] - last[0] <= OTHERS_WINDOW:
        (t0, busy0, own0, _), (t1, busy1, own1, cores) = last, _probe["cpu"]
        others = (busy1 - busy0 - (own1 - own0)) / max(t1 - t0, 1e-9)
        slow = others > cores - numba.get_num_threads() + 0.5
    _probe["slow"] = slow
    _probe["at"] = time.perf_counter()
    return slow


def _cpu_sample():
    """(now in seconds, CPU seconds every process used on the cores this one may run on,
    CPU seconds this process used, how many those cores are), or None where ``/proc/stat``
    cannot be read."""
    try:
        with open(_PROC_STAT, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    # work on cores outside this process's affinity (a pinned container) takes none of ours
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if cores is None:
        rows, n = lines[:1], os.cpu_count() or 1
    else:
        names = {b"cpu%d" % c for c in cores}
        rows, n = [line for line in lines if line.split(b" ", 1)[0] in names], len(cores)
    # user, nice, system, idle, iowait, irq, softirq, steal: all but idle and iowait kept a core
    # (steal: the host ran something else on it)
    busy = sum(int(fields[i]) for fields in map(bytes.split, rows) for i in (1, 2, 3, 6, 7, 8))
    own = os.times()
    return time.perf_counter(), busy / _CLOCK_TICKS, own.user + own.system, n


_blas = None


def _blas_controller():
    """threadpoolctl's controller of the BLAS libraries loaded when first asked (2 ms), which
    hold NumPy's."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController().select(user_api="blas")
    return _blas


# whether hold_step_threads keeps BLAS on one thread now
_blas_held = False


@contextmanager
def step_threads(serial: bool = False):
    """The threads of a training step: BLAS on one thread, and the kernels too when
    ``serial``. A step's matrix products are a batch's (256 x 128 x 20 in a small UDT) and
    gain nothing from BLAS threads, while OpenBLAS's idle workers spin for about 0.1 s after
    each call, taking the core from numba's: on 2 cores, with numba's workers spinning between
    kernels, adult age's UDT step took 18 ms with BLAS on two threads against 1.3 ms on one.
    Only on the main thread: OpenBLAS's thread count is one for the whole process, and
    threadpoolctl lets one thread at a time set it."""
    with hold_step_threads(), one_thread(serial):
        yield


@contextmanager
def hold_step_threads():
    """BLAS on one thread for a block of training steps (``Model.train``'s epoch, or one
    step), which ``step_threads`` within it leaves as it is: limiting and restoring it took
    18 us a step, 2% of adult's. Code between the steps (callbacks) runs BLAS on one thread
    too. Only on the main thread (see ``step_threads``)."""
    global _blas_held
    if _blas_held or threading.current_thread() is not threading.main_thread():
        yield
        return
    with _blas_controller().limit(limits=1):
        _blas_held = True
        try:
            yield
        finally:
            _blas_held = False


def validation_threads(work: float | None):
    """BLAS on one thread for a validation pass of about ``work`` multiply-adds (None:
    unknown) while training, when that is under ``SMALL_BLAS_WORK``; on the main thread only,
    as ``step_threads``."""
    if work is None or work >= SMALL_BLAS_WORK or threading.current_thread() is not threading.main_thread():
        return nullcontext()
    return _blas_controller().limit(limits=1)


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
