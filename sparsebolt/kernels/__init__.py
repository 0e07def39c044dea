"""Compiled kernels: ``@njit`` functions over plain NumPy arrays, grouped by concern.

Nothing here holds state or touches Python objects; ``lsh/`` and ``nn/`` call these.
Sparse batches are CSR triples ``offsets : int64[B + 1]``, ``ids : int32[nnz]``,
``vals : float32[nnz]``; a sparse layer output is the same triple with equal-width rows.
Kernels named ``*_serial`` are the same Python function compiled without threads, for
single-sample paths where starting a thread pool costs more than the work.
"""
