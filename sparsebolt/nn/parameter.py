"""A trainable array with its gradient and the rows that received one."""
import math
import mmap
import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._threads import get_num_threads
from ..kernels import optim

# values drawn per chunk: a float64 draw of a whole 100K x 512 table is a 400 MB temporary
_INIT_CHUNK = 1 << 16
# values from which a draw is shared among threads, each at least this many: adult's 100K x
# 96 table took 52-58 ms on one thread, 36-38 ms on two
_PARALLEL_DRAW_FROM = 1 << 20


def uniform_float32(rng, bound, shape, lazy=False):
    """float32[shape] uniform in [-bound, bound): the values of
    ``rng.uniform(-bound, bound, shape).astype(np.float32)``, drawn in chunks (a generator's
    uniform doubles come one after another, so chunking changes none of them). ``lazy``: for a
    table steps read and write a few rows at a time, drawn into ``sparse_zeros`` memory."""
    # huge pages buy a row-at-a-time table little, and faulting them in costs: adult's
    # 100,000 x 128 input table took 0.12-0.17 s to fill (compacting memory for each 2 MB),
    # 0.02-0.03 s on 4K pages; MovieLens' 100,000 x 512 one 0.9-1.05 s, 0.35-0.44 s
    out = sparse_zeros(shape) if lazy else np.empty(shape, dtype=np.float32)
    flat = out.reshape(-1)
    bits = rng.bit_generator
    parts = min(get_num_threads(), flat.size // _PARALLEL_DRAW_FROM) if type(bits) is np.random.PCG64 else 1
    if parts <= 1:
        _draw(rng, bound, flat)
        return out
    # a PCG64 double takes one step of the generator: a copy advanced past the earlier parts
    # draws a later part, in a thread of its own (NumPy lets go of the GIL as it draws); the
    # generator then steps past them all, as if it had drawn them itself (advance drops a
    # buffered 32-bit half, which a double draw keeps: put back)
    cuts = [flat.size * i // parts for i in range(parts + 1)]
    state = bits.state

    def draw_part(i):
        part = np.random.PCG64()
        part.state = state
        part.advance(cuts[i])
        _draw(np.random.Generator(part), bound, flat[cuts[i]:cuts[i + 1]])

    with ThreadPoolExecutor(parts - 1) as pool:
        later = [pool.submit(draw_part, i) for i in range(1, parts)]
        _draw(rng, bound, flat[:cuts[1]])
        for f in later:
            f.result()
    bits.advance(flat.size - cuts[1])
    after = bits.state
    after["has_uint32"], after["uinteger"] = state["has_uint32"], state["uinteger"]
    bits.state = after
    return out


def _draw(rng, bound, flat):
    """Fill float32 ``flat`` (1-D) in place with ``rng``'s next uniform doubles in
    [-bound, bound)."""
    for lo in range(0, flat.size, _INIT_CHUNK):
        flat[lo:lo + _INIT_CHUNK] = rng.uniform(-bound, bound, min(_INIT_CHUNK, flat.size - lo))


def draw_record(rng, bound):
    """A JSON-able record of the ``uniform_float32(rng, bound, ...)`` draw about to be made
    (the generator's state and the bound), from which ``redrawn_blocks`` draws the same
    values again; None for a generator other than PCG64 (NumPy's default)."""
    state = rng.bit_generator.state
    if state.get("bit_generator") != "PCG64":
        return None
    # 128-bit integers as strings: JSON readers elsewhere stop at 64 bits
    return {"pcg64": [str(state["state"]["state"]), str(state["state"]["inc"]), int(state["has_uint32"]),
                      int(state["uinteger"])], "bound": float(bound)}


def check_draw_record(owner, record):
    """A ``draw_record`` from a file, checked; a ValueError naming ``owner`` otherwise."""
    def uint128(text):
        return (isinstance(text, str) and 0 < len(text) <= 39 and text.isascii() and text.isdigit()
                and int(text) < 2 ** 128)

    try:
        state, inc, has_uint32, uinteger = record["pcg64"]
        ok = (uint128(state) and uint128(inc) and type(has_uint32) is int and has_uint32 in (0, 1)
              and type(uinteger) is int and 0 <= uinteger < 2 ** 32
              and isinstance(record["bound"], float) and math.isfinite(record["bound"]) and record["bound"] > 0)
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"The saved setting 'init' of {owner} must be a generator state "
                         f"{{'pcg64': [state, inc, has_uint32, uinteger], 'bound': float}}. Got {record!r} instead.")
    return record


def redrawn_blocks(record, shape):
    """Yield (first row, float32 block of rows) of the array ``uniform_float32`` drew from
    ``record``, block after block, without holding it whole."""
    state, inc, has_uint32, uinteger = record["pcg64"]
    bits = np.random.PCG64()
    bits.state = {"bit_generator": "PCG64", "state": {"state": int(state), "inc": int(inc)},
                  "has_uint32": has_uint32, "uinteger": uinteger}
    rng = np.random.Generator(bits)
    n, width = shape[0], int(np.prod(shape[1:]))
    step = max(1, _INIT_CHUNK // max(width, 1))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        block = rng.uniform(-record["bound"], record["bound"], (hi - lo) * width).astype(np.float32)
        yield lo, block.reshape((hi - lo,) + tuple(shape[1:]))


def physical_memory():
    """The machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def crc32_rows(array):
    """CRC-32 of a C-contiguous array's bytes, read a block of rows at a time."""
    crc, step = 0, max(1, (1 << 22) // max(array[:1].nbytes, 1))
    for lo in range(0, array.shape[0], step):
        crc = zlib.crc32(array[lo:lo + step], crc)
    return crc


# NumPy asks for transparent huge pages on allocations from 4 MB: the first write to a row
# then zeroes the 2 MB page around it, after compacting memory where the kernel must (THP
# defrag 'madvise'). The first lazy Adam step of adult's 100,000 x 128 table touched 84 rows
# and took 165 ms so (a tenth of the fit), 0.6 ms on 4K pages.
_HUGE_PAGES_FROM = 1 << 22


def sparse_zeros(shape, dtype=np.float32):
    """Zeros for an array read and written a few rows at a time (optimizer moments, a
    table's gradient or values): pages are zeroed as rows are first written, 4K at a time,
    where the system lets a mapping refuse huge pages (Linux). Private anonymous memory, so
    a forked process writes its own copy."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if nbytes < _HUGE_PAGES_FROM or not hasattr(mmap, "MAP_PRIVATE"):
        return np.zeros(shape, dtype)
    memory = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):  # also where huge pages are the default (THP 'always')
        memory.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(memory, dtype).reshape(shape)


def row_zeros(p):
    """Zeros shaped as parameter ``p``: ``sparse_zeros`` when it is ``lazy``; else steps
    write it whole, which huge pages fault in faster."""
    return (sparse_zeros if p.lazy else np.zeros)(p.value.shape, p.value.dtype)


class GroupedGrad:
    """The gradient of a weight matrix left unsummed: per row j, the entries (sample s, dz)
    whose ``dz * x[s]`` add up to row j's gradient (groups from ``grouping.group_by_id``).
    The optimizer sums and applies each row in one pass; ``accumulate_into`` sums it into a
    dense buffer instead, for inspection."""

    __slots__ = ("x", "entry_row", "order", "group_offsets", "group_ids", "dz")

    def __init__(self, x, entry_row, order, group_offsets, group_ids, dz):
        self.x, self.entry_row, self.order = x, entry_row, order
        self.group_offsets, self.group_ids, self.dz = group_offsets, group_ids, dz

    def rows(self):
        """(row ids int32[G], summed gradient rows float32[G, d_in])"""
        values = np.empty((self.group_ids.size, self.x.shape[1]), dtype=np.float32)
        optim.grouped_grads(self.x, self.entry_row, self.order, self.group_offsets, self.dz, values)
        return self.group_ids, values

    def accumulate_into(self, grad):
        ids, values = self.rows()
        grad[ids] += values


class Parameter:
    """``value`` and its dense ``grad`` buffer. ``touched : uint8[rows]`` flags the rows a
    sparse backward pass wrote (it may be shared, e.g. by a layer's weights and biases);
    when ``touched`` is None every row gets a gradient each batch. ``pending`` holds a
    GroupedGrad that has not been summed into ``grad``. ``lazy``: a step writes a few of its
    rows (an input table, a sparse layer's weights), so its gradient buffer and moments take
    memory that faults in a row at a time (``sparse_zeros``)."""

    def __init__(self, name, value, touched=None, lazy=False):
        self.name = name
        self.value = value
        self._grad = None
        self.touched = touched
        self.pending = None
        self.lazy = lazy

    @property
    def grad(self):
        # made on first use: a sparse output layer over a dense input never needs its
        # dense buffer (the optimizer sums its rows directly), and at 670K x 128 it is 343 MB
        if self._grad is None:
            self._grad = row_zeros(self)
        return self._grad

    @property
    def rows(self):
        return self.value.shape[0]

    def gradient(self):
        """The dense gradient of the last backward pass (sums a pending one first)."""
        if self.pending is not None:
            self.pending.accumulate_into(self.grad)
            self.pending = None
        return self.grad
