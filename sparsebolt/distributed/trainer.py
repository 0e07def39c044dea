"""The driver of a data-parallel job: starts or joins Ray and runs the workers step by step
inside the training engine (``sparsebolt.train.engine``), which keeps the epochs,
callbacks, logs and checkpoints; a worker that died is replaced and the job restored from
the last checkpoint."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

from tqdm.auto import tqdm

from .._validation import check_choice, check_float, check_int
from ..nn.model import Model
from ..train.checkpoints import Checkpoints
from ..train.engine import Engine, Steps, check_run
from .data import as_spec, batch_samples, steps_per_epoch, worker_batch_sizes
from .gradients import combine, dense_nbytes
from .replica import build_replica, check_distributable, check_one_input, load_replica_state, replica_message

if TYPE_CHECKING:
    from ..data.batch import SparseDataset
    from ..train.callbacks import Callback, History
    from .data import TextCsvFiles

EXCHANGES = ("auto", "allgather", "reduce_scatter", "driver")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError("sb.distributed needs Ray, an optional dependency: "
                          "pip install 'sparsebolt[distributed]'") from None
    return ray


def start_local_ray(ray: Any, num_cpus: int | None, verbose: bool) -> None:
    """Start the local Ray instance ``train`` uses when Ray is not running. Its workers keep
    the driver's priority: Ray runs workers at niceness 15 by default, so that a driver stays
    responsive while they work, but here the workers do the training and the driver waits;
    on a busy machine a niced worker got about 5% of a core. Set through Ray's environment
    variable (which its processes inherit) unless the user set it: an unknown
    ``_system_config`` key would make ``ray.init`` fail if a later Ray dropped it."""
    own = "RAY_worker_niceness" not in os.environ
    if own:
        os.environ["RAY_worker_niceness"] = "0"
    try:
        ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=verbose)
    finally:
        if own:
            del os.environ["RAY_worker_niceness"]


class TrainResult:
    """What ``sb.distributed.train`` returns.

    Parameters
    ----------
    model : Model
        The trained model (the driver's copy, worker 0's state).
    history : History
        The per-epoch logs.
    stats : dict
        The run's figures: workers, threads_per_worker, exchange, steps, samples,
        train_seconds, samples_per_second, sparse_bytes_per_worker_step,
        dense_bytes_per_worker_step, restarts, steps_lost, replicas_identical, seconds.
    """

    def __init__(self, model: Model, history: History, stats: dict[str, Any]) -> None:
        self.model, self.history, self.stats = model, history, stats

    def __repr__(self):
        return f"TrainResult(history={self.history!r}, stats={self.stats!r})"


def _driver_model(model_or_factory):
    # refused here, before any worker starts: a model of several inputs (each worker had
    # refused it), and one the job's checkpoints, model files, cannot hold
    if isinstance(model_or_factory, Model):
        check_one_input(model_or_factory)
        return model_or_factory, replica_message(model_or_factory)
    if callable(model_or_factory):
        model = build_replica(model_or_factory)  # the call and its check, as each worker makes them
        check_one_input(model)
        check_distributable(model)
        return model, model_or_factory
    raise TypeError("The 'model_or_config' parameter of sb.distributed.train must be a sb.Model or a "
                    f"zero-argument callable that builds one. Got {type(model_or_factory).__name__} instead.")


class _Job:
    """One run: the workers, the epoch position and the checkpoint file."""

    def __init__(self, ray, replica, layer_names, spec, num_workers, threads, seed, shuffle, batch_size, sync_every,
                 exchange):
        self.ray = ray
        from .worker import Worker
        self.actor_cls = ray.remote(Worker)
        self.replica = ray.put(replica)
        self.layer_names = layer_names
        self.spec = spec
        self.num_workers, self.seed, self.shuffle = num_workers, seed, shuffle
        self.threads, self.cpus = threads
        self.batch_size, self.sync_every, self.exchange = batch_size, sync_every, exchange
        self.batch_sizes = worker_batch_sizes(batch_size, num_workers)
        self.workers = [self._start(r) for r in range(num_workers)]
        try:
            self.infos = self._loaded(self.workers)
        except BaseException:
            self.close()
            raise
        self.shard_sizes = [i["n_samples"] for i in self.infos]
        self.n_batches = steps_per_epoch(self.shard_sizes, self.batch_sizes)
        self.exchanges = -(-self.n_batches // sync_every)
        ray.get([self._setup(r) for r in range(num_workers)])

    def _loaded(self, workers):
        """The workers' ``info`` once each has read its shard; a shard's own error (a file's
        bad line, no samples) raised as itself, not wrapped in Ray's."""
        try:
            return self.ray.get([w.load.remote() for w in workers])
        except self.ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, Exception):  # Ray's error, with the worker's traceback, as its cause
                raise cause from e
            raise

    def _setup(self, rank):
        return self.workers[rank].setup.remote(self.n_batches, self.batch_sizes[rank], self.batch_size,
                                               self.sync_every)

    def _start(self, rank):
        return self.actor_cls.options(num_cpus=self.cpus, max_restarts=0).remote(
            rank, self.num_workers, self.replica, self.layer_names, self.spec, self.threads, self.seed, self.shuffle)

    def pids(self):
        return [i["pid"] for i in self.infos]

    def step(self, epoch, x, learning_rate, augment):
        """Exchange ``x`` of ``epoch``: every worker computes its next ``sync_every``
        batches (with ``augment``, on frozen tables that take the labels they miss), the
        gradients are combined, every worker applies the result. Returns (summed batch-mean
        losses, batches, samples, bytes sent by each worker)."""
        first = x * self.sync_every
        count = min(self.sync_every, self.n_batches - first)
        # the mean over the step's samples, each worker's batches weighted by their samples
        samples = sum(batch_samples(n, b, first, count) for n, b in zip(self.shard_sizes, self.batch_sizes))
        divisor = samples * self.num_workers / self.batch_size
        if self.num_workers == 1:
            s = self.ray.get(self.workers[0].step_alone.remote(epoch, first, count, augment, learning_rate, divisor))
            return s["loss"], s["batches"], s["samples"], [s["bytes"]]
        if self.exchange == "reduce_scatter":
            return self._reduce_scatter(epoch, first, count, augment, divisor, learning_rate)
        outs = [w.compute.remote(epoch, first, count, augment) for w in self.workers]
        stat_refs = [o[0] for o in outs]
        grad_refs = [o[1] for o in outs]
        if self.exchange == "allgather":
            done = [w.apply.remote(learning_rate, divisor, *grad_refs) for w in self.workers]
        else:
            payloads = self.ray.get(grad_refs)
            combined = self.ray.put((combine([p[0] for p in payloads], divisor), [p[1] for p in payloads]))
            done = [w.apply_combined.remote(learning_rate, combined) for w in self.workers]
        return self._finish(stat_refs, done, grad_refs)

    def _reduce_scatter(self, epoch, first, count, augment, divisor, learning_rate):
        """Worker j sums everyone's rows of row range j, then every worker takes all the
        summed ranges: each worker combines 1/N of the rows, and at scale the bytes per
        worker stay near twice the union of the touched rows instead of N times one
        worker's gradient."""
        n = self.num_workers
        outs = [w.compute_split.options(num_returns=n + 2).remote(epoch, first, count, augment)
                for w in self.workers]
        stat_refs = [o[0] for o in outs]
        pins = [o[1] for o in outs]
        summed = [w.reduce.remote(divisor, *[outs[i][2 + j] for i in range(n)]) for j, w in enumerate(self.workers)]
        done = [w.apply_pieces.remote(learning_rate, *pins, *summed) for w in self.workers]
        return self._finish(stat_refs, done, summed)

    def _finish(self, stat_refs, done, middle):
        """Wait for a step; (summed batch-mean losses, batches, samples, bytes sent by each worker)."""
        try:
            stats = self.ray.get(stat_refs)
            self.ray.get(done)
        except self.ray.exceptions.RayError:
            self._drain(stat_refs + middle + done)
            raise
        return (sum(s["loss"] for s in stats), sum(s["batches"] for s in stats), sum(s["samples"] for s in stats),
                [s["bytes"] for s in stats])

    def _drain(self, refs):
        """Wait out a failed step's other calls so none is left running or unreported."""
        for ref in refs:
            try:
                self.ray.get(ref, timeout=120)
            except Exception:  # their errors are the step's error
                pass

    def state(self):
        return self.ray.get(self.workers[0].state.remote())

    def load(self, state):
        ref = self.ray.put(state)
        self.ray.get([w.load_state.remote(ref) for w in self.workers])

    def replace_dead(self):
        """Ranks whose actor no longer answers, each replaced by a fresh actor on the same
        shard (not yet restored)."""
        ray = self.ray
        dead = []
        for rank, w in enumerate(self.workers):
            try:
                ray.get(w.ping.remote(), timeout=120)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
                dead.append(rank)
        for rank in dead:
            try:
                ray.kill(self.workers[rank], no_restart=True)
            except Exception:  # already gone
                pass
            self.workers[rank] = self._start(rank)
            self.infos[rank] = self._loaded([self.workers[rank]])[0]
            ray.get(self._setup(rank))
        return dead

    def digests(self):
        return self.ray.get([w.digest.remote() for w in self.workers])

    def evaluate(self, validation, metrics):
        return self.ray.get(self.workers[0].evaluate.remote(validation, metrics))

    def close(self):
        for w in self.workers:
            try:
                self.ray.kill(w, no_restart=True)
            except Exception:
                pass


def train(model_or_config: Model | Callable[[], Model],
          train_files: str | os.PathLike | Sequence[str | os.PathLike] | TextCsvFiles
          | Callable[[int, int], SparseDataset],
          num_workers: int = 2, epochs: int = 1, learning_rate: float = 1e-3, batch_size: int = 256,
          validation: Any = None, metrics: str | Sequence[str] = ("precision@1",),
          checkpoint_dir: str | os.PathLike | None = None, checkpoint_every: int | None = None,
          address: str | None = None, sync_every: int = 1, shuffle: bool = True, seed: int = 0,
          threads_per_worker: int | None = None, num_cpus: int | None = None, exchange: str = "auto",
          max_restarts: int = 3, resume: bool = False, label_augmentation: bool = True, augment_from_epoch: int = 1,
          callbacks: Sequence[Callback] = (), verbose: bool = True) -> TrainResult:
    """Train data-parallel on a Ray cluster: ``num_workers`` replicas, each on its shard.

    Parameters
    ----------
    model_or_config : Model or callable
        A sb.Model (sent to the workers as is) or a zero-argument callable that builds the
        model (called on the driver and on each worker). The workers start from the
        driver's weights, so the replicas begin identical either way.
    train_files : str, path-like, list of them, TextCsvFiles or callable
        SVM file path(s) (split by samples), a ``TextCsvFiles`` spec, or a callable
        ``(rank, num_workers) -> sb.data.SparseDataset``.
    num_workers : int, default=2
        Replicas (Ray actors).
    epochs : int, default=1
        Passes over the data.
    learning_rate : float, default=1e-3
        The optimizer's rate (a number; schedules are for ``Model.train``).
    batch_size : int, default=256
        The global batch: samples per step over all the workers, split across them
        (``batch_size // num_workers`` each, the first ``batch_size % num_workers`` one
        more), so N workers take the steps one process takes with this ``batch_size`` and
        reach its model on the same epochs and ``learning_rate``. Every sample is trained
        once an epoch: a worker whose shard is used up sits the epoch's last steps out.
        At least ``num_workers``.
    validation : str, path-like, data set or None, default=None
        A path (SVM) or data set evaluated on worker 0 after each epoch with ``metrics``;
        None skips it.
    metrics : str or sequence of str, default=('precision@1',)
        Metric names, as for ``Model.evaluate``.
    checkpoint_dir : str, path-like or None, default=None
        Where checkpoints go (a temporary folder if None): ``ckpt-<step>.sbm``, the
        checkpoints of ``Model.train`` (model files with the training position, here with
        a ``distributed`` section holding the job's settings; ``sb.Model.load`` and
        ``sparsebolt info`` read them), at each epoch's end and every ``checkpoint_every``
        steps, the newest two kept. With ``resume`` a job continues from the newest one
        there; without it the folder must hold none.
    checkpoint_every : int or None, default=None
        Steps between checkpoints; None: about a quarter epoch.
    address : str or None, default=None
        An existing Ray cluster ("auto" or "host:port"); None starts a local one with
        ``num_cpus`` unless Ray is already initialised.
    sync_every : int, default=1
        Batches each worker accumulates before an exchange; the combined gradient is the
        mean over the samples of the ``num_workers * sync_every`` batches.
    shuffle : bool, default=True
        Shuffle each shard's batches by (seed, epoch, rank), so a resumed run sees the same
        batches.
    seed : int, default=0
        Seeds the shuffling.
    threads_per_worker : int or None, default=None
        Kernel threads (and Ray CPUs) a worker; None: the cluster's CPUs divided by
        ``num_workers`` (a fraction of a CPU and one thread each when there are more
        workers than CPUs).
    num_cpus : int or None, default=None
        CPUs of a local cluster started here; None: all cores.
    exchange : {'auto', 'allgather', 'reduce_scatter', 'driver'}, default='auto'
        "allgather" (each worker fetches the others' sparse gradients from Ray's object
        store and combines them itself), "reduce_scatter" (worker j sums everyone's rows of
        row range j, then all fetch the summed ranges) or "driver" (the driver combines and
        broadcasts). "auto": all-gather for 2 workers, reduce-scatter from 3, where each
        worker would otherwise take in N-1 whole gradients; see docs/distributed.md.
    max_restarts : int, default=3
        Worker deaths to survive; each restores every replica from the last checkpoint and
        goes on from there.
    resume : bool, default=False
        Continue from the newest checkpoint in ``checkpoint_dir`` (written by a job with the
        same settings).
    label_augmentation : bool, default=True
        As in ``Model.train``: once the model has completed ``augment_from_epoch`` epochs
        (``model.epochs``, this job's included) the tables freeze and the output layer pins
        training labels its buckets miss. Each worker sends its batch's pins (bucket keys
        and labels) with its gradient and every replica inserts all of them in worker order
        after the step, so the tables stay identical (see docs/distributed.md).
    augment_from_epoch : int, default=1
        See ``label_augmentation``.
    callbacks : sequence of Callback, default=()
        Hooks into the loop, run on the driver.
    verbose : bool, default=True
        Show progress and epoch logs (and the workers' output, on a cluster started here).

    Returns
    -------
    TrainResult
        The model, history and run stats.

    Raises
    ------
    ImportError
        When Ray is not installed (``pip install sparsebolt[distributed]``).
    TypeError
        For a model with a layer, loss or optimizer class a model file cannot hold (replicas
        are built from one).
    ValueError
        For a bad parameter, a shard without samples, or a checkpoint of a job with other
        settings.
    FileNotFoundError
        For a training or validation file that does not exist.
    DataFormatError
        For a training file a worker cannot read (its file and line), raised as itself.
    """
    check_int("sb.distributed.train", "num_workers", num_workers, 1)
    check_int("sb.distributed.train", "epochs", epochs, 1)
    check_int("sb.distributed.train", "batch_size", batch_size, 1)
    check_int("sb.distributed.train", "sync_every", sync_every, 1)
    check_int("sb.distributed.train", "max_restarts", max_restarts, 0)
    check_int("sb.distributed.train", "augment_from_epoch", augment_from_epoch, 0)
    check_float("sb.distributed.train", "learning_rate", learning_rate, 0.0, low_open=True)
    worker_batch_sizes(batch_size, num_workers)
    check_choice("sb.distributed.train", "exchange", exchange, EXCHANGES)
    if exchange == "auto":
        exchange = "allgather" if num_workers <= 2 else "reduce_scatter"
    if checkpoint_every is not None:
        check_int("sb.distributed.train", "checkpoint_every", checkpoint_every, 1)
    # before Ray starts: a refusal after it had left a local instance running
    if threads_per_worker is not None:
        check_int("sb.distributed.train", "threads_per_worker", threads_per_worker, 1)
    if num_cpus is not None:  # 0 had read as every core
        check_int("sb.distributed.train", "num_cpus", num_cpus, 1)
    check_int("sb.distributed.train", "seed", seed, 0)
    if resume and checkpoint_dir is None:  # a directory made here holds no checkpoint: it had started over
        raise ValueError("The 'resume' parameter of sb.distributed.train must be False without a 'checkpoint_dir' "
                         "to resume from. Got True instead.")
    if isinstance(validation, (str, os.PathLike)) and not os.path.exists(validation):  # else found after an epoch
        raise FileNotFoundError(f"No validation file at {os.fspath(validation)!r}.")
    model, replica = _driver_model(model_or_config)
    metrics = check_run("sb.distributed.train", metrics, callbacks, model)
    ray = import_ray()
    spec = as_spec(train_files)

    started = False
    if not ray.is_initialized():
        if address is not None:
            ray.init(address=address, log_to_driver=verbose)
        else:
            start_local_ray(ray, num_cpus, verbose)
        started = True
    cpus = float(ray.cluster_resources().get("CPU", 1))
    if threads_per_worker is None:
        # more workers than CPUs share them: fractional Ray CPUs, one thread each
        share = cpus / num_workers
        threads = (max(1, int(share)), min(float(max(1, int(share))), share))
    else:
        # a worker Ray cannot place waits for ever: checked on the one-node cluster started here
        # (a remote cluster places actors node by node, and may scale up to take them)
        if started and address is None and num_workers * threads_per_worker > cpus:
            ray.shutdown()
            raise ValueError(f"The 'threads_per_worker' parameter of sb.distributed.train must leave each of the "
                             f"{num_workers} workers a CPU a thread: the cluster has {cpus:g} CPUs. Got "
                             f"{threads_per_worker} instead (None shares the CPUs out).")
        threads = (threads_per_worker, threads_per_worker)
    own_dir = checkpoint_dir is None
    checkpoint_dir = tempfile.mkdtemp(prefix="sparsebolt-ckpt-") if own_dir else os.fspath(checkpoint_dir)
    steps = _RaySteps(ray, replica, spec, num_workers, threads, seed, shuffle, batch_size, sync_every, exchange,
                      max_restarts, validation, verbose)
    try:
        steps.checkpoints = Checkpoints(checkpoint_dir, checkpoint_every, keep=2, resume=resume, verbose=verbose,
                                        owner="sb.distributed.train")
        history = Engine(model, steps, epochs, learning_rate, validation=validation, metrics=metrics,
                         callbacks=callbacks, verbose=verbose, label_augmentation=label_augmentation,
                         augment_from_epoch=augment_from_epoch, checkpoints=steps.checkpoints).run(resume)
        return TrainResult(model, history, steps.stats(model))
    finally:
        steps.close()
        if started:
            ray.shutdown()
        if own_dir:
            shutil.rmtree(checkpoint_dir, ignore_errors=True)


class _RaySteps(Steps):
    """A step of a Ray job for the engine: every worker computes its batches, the gradients
    are combined and applied on every replica (``_Job.step``). The driver's model counts the
    steps and takes worker 0's state before a checkpoint and at the end. A worker that dies
    is replaced and every replica restored from the last checkpoint."""

    checkpoint_each_epoch = True
    checkpoint_at_start = True

    def __init__(self, ray, replica, spec, num_workers, threads, seed, shuffle, batch_size, sync_every, exchange,
                 max_restarts, validation, verbose):
        self.ray, self.replica, self.spec = ray, replica, spec
        self.settings = (num_workers, threads, seed, shuffle, batch_size, sync_every, exchange)
        self.recoverable = (ray.exceptions.RayError,)
        self.max_restarts, self.validation, self.verbose = max_restarts, validation, verbose
        self.job = self.checkpoints = None
        self.augment = False
        self.sent, self.steps_run, self.samples, self.train_seconds = [], 0, 0, 0.0
        self.restarts = self.lost_steps = 0
        self.started = time.perf_counter()

    def start(self, model, resumed):
        # after a resume: the driver's layers have the saved names, and the workers take them
        self.model = model
        num_workers, threads, seed, shuffle, batch_size, sync_every, exchange = self.settings
        job = self.job = _Job(self.ray, self.replica, model.layer_names(), self.spec, num_workers,
                              threads, seed, shuffle, batch_size, sync_every, exchange)
        self.config = {"num_workers": num_workers, "global_batch_size": batch_size, "sync_every": sync_every,
                       "seed": seed, "shuffle": shuffle, "steps": job.n_batches}
        if resumed is not None:
            saved = (resumed.get("distributed") or {}).get("config")
            if saved != self.config:
                raise ValueError(f"The checkpoint at {self.checkpoints.resumed_from} was written by a job with other "
                                 f"settings ({saved}); this one has {self.config}.")
        if self.checkpoints.every is None:
            self.checkpoints.every = max(1, job.exchanges // 4)
        job.load(model.get_state())
        if self.validation is not None and not isinstance(self.validation, (str, os.PathLike)):
            self.validation = self.ray.put(self.validation)

    def n_samples(self):
        return sum(self.job.shard_sizes)

    def begin_epoch(self, epoch, augment, resumed):
        self.augment = augment
        return range(resumed["batch"] if resumed is not None else 0, self.job.exchanges)

    def step(self, epoch, x, learning_rate):
        t0 = time.perf_counter()
        loss, batches, samples, bytes_sent = self.job.step(epoch, x, learning_rate, self.augment)
        self.train_seconds += time.perf_counter() - t0
        self.model.steps += 1  # as every replica's
        self.steps_run += 1
        self.samples += samples
        self.sent.append(sum(bytes_sent) / len(bytes_sent))
        return loss, batches, samples

    def batch_logs(self):
        return {"worker_pids": self.job.pids()}

    def position(self, end_of_epoch):
        return {"distributed": {"config": self.config}}

    def sync(self, model):
        """Worker 0's state (all replicas are the same) into the driver's model, which
        counts the epochs."""
        epochs = model.epochs
        load_replica_state(model, self.job.state())
        model.epochs = epochs

    def evaluate(self, model, validation, metrics, verbose):
        return self.job.evaluate(self.validation, metrics)

    def recover(self, err, restore):
        dead = self.job.replace_dead()
        if not dead:
            raise err
        self.restarts += len(dead)
        if self.restarts > self.max_restarts:
            raise RuntimeError(f"sb.distributed.train: workers died {self.restarts} times, more than "
                               f"max_restarts={self.max_restarts}.") from err
        before = self.model.steps
        at = restore()
        self.lost_steps += before - self.model.steps
        if self.verbose:
            tqdm.write(f"worker(s) {dead} died ({type(err).__name__}); restarted, all replicas restored "
                       f"from the checkpoint at epoch {at['epoch'] + 1} step {at['batch']}")
        self.job.load(self.model.get_state())
        return at

    def stats(self, model):
        digests = self.job.digests()
        if len(set(digests)) != 1:
            warnings.warn(f"sb.distributed.train: the replicas differ at the end ({digests}); the model is "
                          f"worker 0's.")
        job = self.job
        return {"workers": job.num_workers, "threads_per_worker": job.threads, "exchange": job.exchange,
                "steps": self.steps_run, "samples": self.samples, "train_seconds": self.train_seconds,
                "samples_per_second": self.samples / self.train_seconds if self.train_seconds else 0.0,
                "sparse_bytes_per_worker_step": sum(self.sent) / len(self.sent) if self.sent else 0.0,
                "dense_bytes_per_worker_step": dense_nbytes(model), "restarts": self.restarts,
                "steps_lost": self.lost_steps, "replicas_identical": len(set(digests)) == 1,
                "seconds": time.perf_counter() - self.started}

    def close(self):
        if self.job is not None:
            self.job.close()
