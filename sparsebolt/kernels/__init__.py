"""Compiled kernels: ``@njit`` functions over plain NumPy arrays, grouped by concern.

Nothing here holds state or touches Python objects; ``lsh/`` and ``nn/`` call these.
Sparse batches are CSR triples ``offsets : int64[B + 1]``, ``ids : int32[nnz]``,
``vals : float32[nnz]``; a sparse layer output is the same triple with equal-width rows.
Kernels named ``*_serial`` are the same Python function compiled without threads, for
single-sample paths where starting a thread pool costs more than the work.
"""
import os

import numba

# Launch numba's threading layer now. A kernel that calls numba.get_thread_id() and is loaded
# from the on-disk cache (tables.query_active_serial) calls into the layer without launching
# it first: run before any parallel kernel had, it crashed the process (a memory-mapped model
# serving sparse single-sample requests did exactly that).
# Its OpenMP workers spin for a moment after a parallel kernel, then sleep, unless the user chose
# (libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, as it loads). Spinning on (libgomp's
# default 300,000 spins, 9 ms here) they took the cores from BLAS's threads and from other jobs
# (a small UDT fit 1.7-2.0 s against 4.0-5.1 s idle, 24.8 s against 59.0 s at load 8-10). Asleep
# at once, a KVM guest woke a worker only when the waking thread blocked: on 2 vCPUs no kernel
# ran faster on two threads than on one (a 2.7 ms loop took 2.8 ms). WORKER_SPINS, about 1 ms,
# keeps them awake from one kernel of a training step to the next (class_name's UDT step 21.8 ms
# on one thread, 13.2 ms on two). The variables are taken away again at once so that OpenMP
# runtimes loaded later (scikit-learn's, PyTorch's) keep their own defaults: under a passive
# policy HistGradientBoosting fitted adult in 2.8 s against 0.55 s.
WORKER_SPINS = 30_000
_user_set = any(v in os.environ for v in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))
if not _user_set:
    os.environ["GOMP_SPINCOUNT"] = str(WORKER_SPINS)
try:
    numba.get_num_threads()
finally:
    if not _user_set:
        del os.environ["GOMP_SPINCOUNT"]
