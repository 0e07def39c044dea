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
# Its OpenMP workers sleep when idle unless the user chose a policy (libgomp reads
# OMP_WAIT_POLICY once, as it loads): spinning idle workers took the cores from BLAS's threads
# and from other jobs (a small UDT fit 1.7-2.0 s against 4.0-5.1 s idle, 24.8 s against 59.0 s
# at load 8-10; make demo 167.4 s of training against 168.1 s). The variable is taken away
# again at once so that OpenMP runtimes loaded later (scikit-learn's, PyTorch's) keep their
# own default: under it HistGradientBoosting fitted adult in 2.8 s against 0.55 s.
_user_policy = os.environ.get("OMP_WAIT_POLICY")
os.environ["OMP_WAIT_POLICY"] = _user_policy or "PASSIVE"
try:
    numba.get_num_threads()
finally:
    if _user_policy is None:
        del os.environ["OMP_WAIT_POLICY"]
