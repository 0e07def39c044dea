"""Serial twins of parallel kernels must be compiled and cached on their own."""
import importlib
import subprocess
import sys
import pkgutil

import sparsebolt.kernels


def twins():
    for info in pkgutil.iter_modules(sparsebolt.kernels.__path__):
        module = importlib.import_module(f"sparsebolt.kernels.{info.name}")
        for name in dir(module):
            if name.endswith("_serial") and hasattr(module, name[:-len("_serial")]):
                yield getattr(module, name[:-len("_serial")]), getattr(module, name)


def test_serial_twins_do_not_share_a_cache_entry_with_their_parallel_kernel():
    # numba files a cached binary by the function's qualified name and first line, not by
    # its options: a twin sharing its parallel kernel's name would run whichever of the two
    # was compiled first
    pairs = list(twins())
    assert len(pairs) >= 12
    for parallel, serial in pairs:
        assert parallel.targetoptions.get("parallel") is True
        assert not serial.targetoptions.get("parallel")
        assert serial.py_func.__qualname__ != parallel.py_func.__qualname__
        assert serial.py_func.__code__ is parallel.py_func.__code__


SERIAL_QUERY_FIRST = """
import numpy as np
from sparsebolt.kernels import tables
keys = np.zeros((1, 2), np.int32)
buckets = np.zeros((2, 4, 3), np.int32)
counts = np.ones((2, 4), np.int32)
marks = np.zeros((2, 10), np.uint8)
out = np.empty(4, np.int32)
tables.query_active_serial(keys, buckets, counts, np.zeros(2, np.int64), np.zeros(0, np.int32), 4, 0,
                           np.arange(10, dtype=np.int32), 1, marks, out)
print(sorted(out.tolist()))
"""


def test_a_cached_serial_kernel_that_asks_its_thread_id_runs_before_any_parallel_one():
    # loaded from numba's cache, such a kernel called into a threading layer nobody had
    # launched and crashed the process; the second run below loads the cached binary
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", SERIAL_QUERY_FIRST], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert run.stdout.split("\n")[0].startswith("[0, ")
