"""Compiled kernels: ``@njit`` functions over plain NumPy arrays, grouped by concern.

Nothing here holds state or touches Python objects; ``lsh/`` and ``nn/`` call these.
Sparse batches are CSR triples ``offsets : int64[B + 1]``, ``ids : int32[nnz]``,
``vals : float32[nnz]``; a sparse layer output is the same triple with equal-width rows.
Kernels named ``*_serial`` are the same Python function compiled without threads, for
single-sample paths where starting a thread pool costs more than the work.
"""
import numba

# Launch numba's threading layer now. A kernel that calls numba.get_thread_id() and is loaded
# from the on-disk cache (tables.query_active_serial) calls into the layer without launching
# it first: run before any parallel kernel had, it crashed the process (a memory-mapped model
# serving sparse single-sample requests did exactly that).
numba.get_num_threads()
