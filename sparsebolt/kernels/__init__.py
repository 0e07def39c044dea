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
# Its OpenMP workers spin for about 1 ms after a parallel kernel, then sleep, unless the user
# chose (libgomp reads GOMP_SPINCOUNT and OMP_WAIT_POLICY once, as it loads): long enough to stay
# awake from one kernel of a training step to the next, where a worker put to sleep at once woke
# too late to help on a KVM guest, and a tenth of libgomp's default, whose spinning took the
# cores from BLAS and other jobs (docs/automl.md, "Two threads on a virtual machine"). Only on
# numba's OpenMP layer, and only if the pool starts here. The variable is taken away again at
# once: scikit-learn's own OpenMP runtime, loaded later, keeps its default (a runtime that shares
# numba's libgomp, as PyTorch's wheel does when imported after sparsebolt, takes it too).
WORKER_SPINS = 30_000
_user_set = any(v in os.environ for v in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))
if not _user_set:
    os.environ["GOMP_SPINCOUNT"] = str(WORKER_SPINS)
try:
    numba.get_num_threads()
finally:
    if not _user_set:
        del os.environ["GOMP_SPINCOUNT"]
