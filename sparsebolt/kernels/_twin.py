"""Serial twins of parallel kernels."""
import types

from numba import njit


def serial_twin(fn, **options):
    """``fn`` compiled without threads (``njit(cache=True, **options)``) under the name
    ``<name>_serial``. Numba's on-disk cache files a compiled function by module, name and
    first line, and within that by signature only, not by options such as ``parallel``: the
    same Python function compiled twice with ``cache=True`` would share one cached binary,
    so the serial twin could run the threaded code (or the threaded kernel the serial code),
    depending on which was compiled first."""
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + "_serial"
    twin.__doc__ = fn.__doc__
    return njit(cache=True, **options)(twin)
