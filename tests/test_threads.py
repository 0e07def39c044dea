"""numba's OpenMP workers spin briefly, then sleep, unless the user chose otherwise; no
other library's OpenMP runtime is told to; a training step runs BLAS on one thread; a busy
thread pool is probed at most once a period; the threads follow a container's CPU quota."""
import os
import subprocess
import sys
import threading
from contextlib import nullcontext
from pathlib import Path

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import sparsebolt as sb
from sparsebolt.kernels import WORKER_SPINS

ROOT = Path(__file__).resolve().parents[1]

# with OMP_DISPLAY_ENV=VERBOSE each libgomp prints its settings on stderr as it loads: numba's
# while sparsebolt is imported, scikit-learn's own copy (where its wheel ships one) after it.
# GOMP_SPINCOUNT tells the policies apart (0 passive, 300000 unset, 30000000000 active).
_PROBE = """
import os, sys
sys.stderr.write("numba\\n"); sys.stderr.flush()
import sparsebolt
print(os.environ.get("OMP_WAIT_POLICY"), os.environ.get("GOMP_SPINCOUNT"))
sys.stderr.write("sklearn\\n"); sys.stderr.flush()
import sklearn.ensemble
"""


def _spin_counts(env):
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env={**env, "OMP_DISPLAY_ENV": "VERBOSE"},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    spins, owner = {}, None
    for line in out.stderr.splitlines():
        if line in ("numba", "sklearn"):
            owner = line
        elif "GOMP_SPINCOUNT" in line:
            spins[owner] = int(line.split("=")[1].strip().strip("'"))
    return out.stdout.strip(), spins


@pytest.mark.skipif(numba.threading_layer() != "omp", reason="numba runs on the OpenMP (libgomp) threading layer "
                                                              f"only; here it is {numba.threading_layer()!r}")
def test_idle_openmp_workers_spin_briefly_unless_the_user_says_otherwise():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    seen, spins = _spin_counts(env)
    assert seen == "None None"  # taken away again once numba's pool started
    assert spins["numba"] == WORKER_SPINS
    assert spins.get("sklearn", 300_000) == 300_000
    seen, spins = _spin_counts({**env, "OMP_WAIT_POLICY": "ACTIVE"})
    assert seen == "ACTIVE None" and spins["numba"] > 300_000
    seen, spins = _spin_counts({**env, "GOMP_SPINCOUNT": "7"})
    assert seen == "None 7" and spins["numba"] == 7


def _blas_threads():
    """The thread counts of the BLAS libraries a training step limits (NumPy's among them)."""
    return [lib.get_num_threads() for lib in sb._threads._blas_controller().lib_controllers]


def _small_model_and_batches():
    inp = sb.Input(dim=8)
    model = sb.Model(inp, sb.FullyConnected(4, activation="softmax")(sb.FullyConnected(16, activation="relu")(inp)))
    x = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    batches = [sb.data.Batch([sb.Value.dense(x[lo:lo + 16])], sb.data.Labels.from_lists([[i % 4] for i in range(16)]))
               for lo in range(0, 64, 16)]
    return model, batches


def test_a_training_step_runs_blas_on_one_thread_and_gives_the_threads_back(monkeypatch):
    model, batches = _small_model_and_batches()
    seen = []
    forward = sb.FullyConnected.forward

    def spy(self, inputs, ctx):
        seen.append(_blas_threads())
        return forward(self, inputs, ctx)

    monkeypatch.setattr(sb.FullyConnected, "forward", spy)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        model.train(batches, epochs=1, learning_rate=1e-2, verbose=False)
        after = _blas_threads()
    if not before or max(before) < 2:
        pytest.skip(f"BLAS would not take two threads here (it runs on {before})")
    assert seen and all(threads == [1] * len(before) for threads in seen), (seen, before)
    assert after == before


def test_only_the_main_thread_limits_blas(monkeypatch):
    # OpenBLAS's thread count is one for the whole process: a step trained in another thread
    # must not set it (threadpoolctl would tie BLAS's control to that thread)
    calls = []

    class Recorder:
        def limit(self, limits):
            calls.append((threading.current_thread().name, limits))
            return nullcontext()

    monkeypatch.setattr(sb._threads, "_blas_controller", Recorder)
    model, batches = _small_model_and_batches()
    worker = threading.Thread(target=model.train, args=(batches,), name="worker",
                              kwargs={"epochs": 1, "learning_rate": 1e-2, "verbose": False})
    worker.start()
    worker.join()
    assert model.steps == len(batches) and calls == []
    # once an epoch in train, whose steps keep the limit; once a step called alone
    model.train(batches, epochs=2, learning_rate=1e-2, verbose=False)
    assert calls == [("MainThread", 1)] * 2
    calls.clear()
    for batch in batches:
        model.train_step(batch, 1e-2)
    assert calls == [("MainThread", 1)] * len(batches)


def test_a_small_validation_pass_while_training_runs_blas_on_one_thread(monkeypatch):
    # OpenBLAS's worker spins after a call, taking the core the next epoch's parallel kernels
    # need: a validation pass whose multiply-adds are few runs BLAS on one thread
    inp = sb.Input(dim=8)
    hidden = sb.FullyConnected(16, activation="relu")(sb.FullyConnected(16, activation="relu")(inp))
    model = sb.Model(inp, sb.FullyConnected(4, activation="softmax")(hidden))
    x = np.random.default_rng(1).standard_normal((64, 8)).astype(np.float32)
    y = np.arange(64) % 4
    seen = []
    evaluate = sb.train.engine.evaluate

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(sb.train.engine, "evaluate", spy)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        model.train(x, y=y, epochs=1, validation=(x, y), metrics=["precision@1"], verbose=False)
        # above the output layer's multiply-adds alone, under the pass's (both layers that read a
        # layer's output): not small
        monkeypatch.setattr(sb._threads, "SMALL_BLAS_WORK", 64 * 16 * 4 + 1)
        model.train(x, y=y, epochs=1, validation=(x, y), metrics=["precision@1"], verbose=False)
        after = _blas_threads()
    if not before or max(before) < 2:
        pytest.skip(f"BLAS would not take two threads here (it runs on {before})")
    assert seen == [[1] * len(before), before] and after == before


@pytest.mark.skipif(sb._threads.numba.config.NUMBA_NUM_THREADS < 2, reason="needs numba started with 2+ threads")
def test_pool_slow_probes_at_most_once_a_period(monkeypatch):
    before = sb.get_num_threads()
    try:
        sb.set_num_threads(1)
        assert sb._threads.pool_slow() is False  # one thread: nothing to wait for
        sb.set_num_threads(2)
        monkeypatch.setattr(sb._threads, "SLOW_LAUNCH", -1.0)  # every launch counts as slow
        monkeypatch.setitem(sb._threads._probe, "at", -float("inf"))
        monkeypatch.setitem(sb._threads._probe, "cpu", None)  # no CPU time from before to weigh it
        assert sb._threads.pool_slow() is True
        monkeypatch.setattr(sb._threads, "SLOW_LAUNCH", float("inf"))
        assert sb._threads.pool_slow() is True  # the last probe's answer until PROBE_EVERY has passed
        monkeypatch.setitem(sb._threads._probe, "at", -float("inf"))
        assert sb._threads.pool_slow() is False
    finally:
        sb.set_num_threads(before)


@pytest.mark.skipif(sb._threads.numba.config.NUMBA_NUM_THREADS < 2, reason="needs numba started with 2+ threads")
@pytest.mark.parametrize("others, seconds_ago, cpu, slow", [
    (0.0, 1.0, 2, False),    # nothing else ran: a core waking, not a busy one
    (1.0, 1.0, 2, True),     # another process held a core our second thread needs
    (1.0, 1.0, 8, False),    # ... with six more cores free
    (0.0, 30.0, 2, True),    # the CPU time from before is too old to tell
    (None, 1.0, 2, True),    # no CPU time where /proc/stat is missing: the launches decide
])
def test_a_slow_launch_counts_only_while_other_processes_hold_the_cores(monkeypatch, others, seconds_ago, cpu, slow):
    before = sb.get_num_threads()
    try:
        sb.set_num_threads(2)
        monkeypatch.setattr(sb._threads, "SLOW_LAUNCH", -1.0)  # every launch is slow
        now = sb._threads.time.perf_counter()
        # since the last probe: this process used 1.5 CPU seconds a second, others ``others``,
        # on the ``cpu`` cores it may run on
        used = 1.5 * seconds_ago
        last = (now - seconds_ago, 100.0, 50.0, cpu)
        sample = None if others is None else (now, 100.0 + used + others * seconds_ago, 50.0 + used, cpu)
        monkeypatch.setattr(sb._threads, "_cpu_sample", lambda: sample)
        monkeypatch.setitem(sb._threads._probe, "cpu", last)
        monkeypatch.setitem(sb._threads._probe, "at", -float("inf"))
        assert sb._threads.pool_slow() is slow
        assert sb._threads._probe["cpu"] == sample
    finally:
        sb.set_num_threads(before)


@pytest.mark.parametrize("affinity, busy, cores", [
    ({1}, 10 + 20 + 30 + 6 + 7 + 8, 1),     # pinned to the second core: its line alone
    ({0, 1}, (1 + 2 + 3 + 6 + 7 + 8) + (10 + 20 + 30 + 6 + 7 + 8), 2),
    (None, 999 + 1 + 1 + 1 + 1 + 1, 4),   # no affinity reported: the total line, every core
])
def test_cpu_time_counts_the_cores_this_process_may_run_on(monkeypatch, tmp_path, affinity, busy, cores):
    stat = tmp_path / "stat"
    stat.write_text("cpu  999 1 1 5000 40 1 1 1 0 0\n"
                    "cpu0 1 2 3 4000 50 6 7 8 0 0\n"
                    "cpu1 10 20 30 4000 50 6 7 8 0 0\n"
                    "intr 12345 0 0\n")
    monkeypatch.setattr(sb._threads, "_PROC_STAT", str(stat))
    if affinity is None:
        monkeypatch.delattr(sb._threads.os, "sched_getaffinity", raising=False)
        monkeypatch.setattr(sb._threads.os, "cpu_count", lambda: 4)
    else:
        monkeypatch.setattr(sb._threads.os, "sched_getaffinity", lambda pid: affinity)
    _, seconds, _, n = sb._threads._cpu_sample()
    assert n == cores
    assert seconds == pytest.approx(busy / sb._threads._CLOCK_TICKS)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 cores or more to show threads lowered")
def test_threads_follow_a_cpu_quota_below_the_cores_unless_numba_num_threads_is_set(monkeypatch):
    import joblib
    from threadpoolctl import threadpool_info

    before = sb.get_num_threads()
    monkeypatch.setattr(joblib, "cpu_count", lambda: 1)  # a quota of one CPU, as joblib reads it
    try:
        monkeypatch.setenv("NUMBA_NUM_THREADS", str(before))
        sb._threads.fit_to_usable_cpus()
        assert sb.get_num_threads() == before
        monkeypatch.delenv("NUMBA_NUM_THREADS")
        sb._threads.fit_to_usable_cpus()
        assert sb.get_num_threads() == 1
        assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
        monkeypatch.setattr(joblib, "cpu_count", lambda: before)
        sb._threads.fit_to_usable_cpus()  # never raises the count (set_num_threads may)
        assert sb.get_num_threads() == 1
    finally:
        sb.set_num_threads(before)
