"""The driver of a data-parallel job: starts or joins Ray, runs the workers step by step,
keeps checkpoints and replaces a worker that died."""
import os
import shutil
import tempfile
import time
import warnings

from tqdm.auto import tqdm

from .._validation import check_choice, check_float, check_int
from ..nn.model import Model
from ..train.callbacks import Callback, History
from ..train.metrics import make_metric
from . import _checkpoint
from .data import as_spec, batch_samples, steps_per_epoch, worker_batch_sizes
from .gradients import combine, dense_nbytes
from .replica import check_distributable, replica_message

EXCHANGES = ("auto", "allgather", "reduce_scatter", "driver")


def import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError("sb.distributed needs Ray, an optional dependency: "
                          "pip install sparsebolt[distributed]") from None
    return ray


class TrainResult:
    """What ``sb.distributed.train`` returns: the trained ``model`` (the driver's copy),
    the per-epoch ``history`` and run ``stats`` (steps, samples/s, bytes sent, restarts)."""

    def __init__(self, model, history, stats):
        self.model, self.history, self.stats = model, history, stats

    def __repr__(self):
        return f"TrainResult(history={self.history!r}, stats={self.stats!r})"


def _driver_model(model_or_factory):
    if isinstance(model_or_factory, Model):
        return model_or_factory, replica_message(model_or_factory)
    if callable(model_or_factory):
        model = model_or_factory()
        if not isinstance(model, Model):
            raise TypeError(f"The model factory given to sb.distributed.train must return a sb.Model. "
                            f"Got {type(model).__name__}.")
        # the job's checkpoints are model files: refused here, before any worker starts
        check_distributable(model)
        return model, model_or_factory
    raise TypeError("The 'model_or_config' parameter of sb.distributed.train must be a sb.Model or a "
                    f"zero-argument callable that builds one. Got {type(model_or_factory).__name__}.")


class _Job:
    """One run: the workers, the epoch position and the checkpoint file."""

    def __init__(self, ray, replica, layer_names, spec, num_workers, threads, seed, shuffle, batch_size, sync_every,
                 exchange, augment_from_epoch):
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
        self.augment_from_epoch = augment_from_epoch
        self.workers = [self._start(r) for r in range(num_workers)]
        self.infos = ray.get([w.info.remote() for w in self.workers])
        self.shard_sizes = [i["n_samples"] for i in self.infos]
        self.n_batches = steps_per_epoch(self.shard_sizes, self.batch_sizes)
        self.exchanges = -(-self.n_batches // sync_every)
        ray.get([self._setup(r) for r in range(num_workers)])

    def _setup(self, rank):
        return self.workers[rank].setup.remote(self.n_batches, self.batch_sizes[rank], self.batch_size,
                                               self.sync_every, self.augment_from_epoch)

    def _start(self, rank):
        return self.actor_cls.options(num_cpus=self.cpus, max_restarts=0).remote(
            rank, self.num_workers, self.replica, self.layer_names, self.spec, self.threads, self.seed, self.shuffle)

    def pids(self):
        return [i["pid"] for i in self.infos]

    def step(self, epoch, x, learning_rate):
        """Exchange ``x`` of ``epoch``: every worker computes its next ``sync_every``
        batches, the gradients are combined, every worker applies the result.
        Returns (loss summed over samples, samples, bytes sent by each worker)."""
        first = x * self.sync_every
        count = min(self.sync_every, self.n_batches - first)
        # the mean over the step's samples, each worker's batches weighted by their samples
        samples = sum(batch_samples(n, b, first, count) for n, b in zip(self.shard_sizes, self.batch_sizes))
        divisor = samples * self.num_workers / self.batch_size
        if self.num_workers == 1:
            s = self.ray.get(self.workers[0].step_alone.remote(epoch, first, count, learning_rate, divisor))
            return s["loss"], s["samples"], [s["bytes"]]
        if self.exchange == "reduce_scatter":
            return self._reduce_scatter(epoch, first, count, divisor, learning_rate)
        outs = [w.compute.remote(epoch, first, count) for w in self.workers]
        stat_refs = [o[0] for o in outs]
        grad_refs = [o[1] for o in outs]
        if self.exchange == "allgather":
            done = [w.apply.remote(learning_rate, divisor, *grad_refs) for w in self.workers]
        else:
            payloads = self.ray.get(grad_refs)
            combined = self.ray.put((combine([p[0] for p in payloads], divisor), [p[1] for p in payloads]))
            done = [w.apply_combined.remote(learning_rate, combined) for w in self.workers]
        return self._finish(stat_refs, done, grad_refs)

    def _reduce_scatter(self, epoch, first, count, divisor, learning_rate):
        """Worker j sums everyone's rows of row range j, then every worker takes all the
        summed ranges: each worker combines 1/N of the rows, and at scale the bytes per
        worker stay near twice the union of the touched rows instead of N times one
        worker's gradient."""
        n = self.num_workers
        outs = [w.compute_split.options(num_returns=n + 2).remote(epoch, first, count) for w in self.workers]
        stat_refs = [o[0] for o in outs]
        pins = [o[1] for o in outs]
        summed = [w.reduce.remote(divisor, *[outs[i][2 + j] for i in range(n)]) for j, w in enumerate(self.workers)]
        done = [w.apply_pieces.remote(learning_rate, *pins, *summed) for w in self.workers]
        return self._finish(stat_refs, done, summed)

    def _finish(self, stat_refs, done, middle):
        """Wait for a step; (loss summed over samples, samples, bytes sent by each worker)."""
        try:
            stats = self.ray.get(stat_refs)
            self.ray.get(done)
        except self.ray.exceptions.RayError:
            self._drain(stat_refs + middle + done)
            raise
        return (sum(s["loss"] for s in stats), sum(s["samples"] for s in stats), [s["bytes"] for s in stats])

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
            self.infos[rank] = ray.get(self.workers[rank].info.remote())
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


def train(model_or_config, train_files, num_workers=2, epochs=1, learning_rate=1e-3, batch_size=256,
          validation=None, metrics=("precision@1",), checkpoint_dir=None, checkpoint_every=None,
          address=None, sync_every=1, shuffle=True, seed=0, threads_per_worker=None, num_cpus=None,
          exchange="auto", max_restarts=3, resume=False, label_augmentation=True, augment_from_epoch=1,
          callbacks=(), verbose=True):
    """Train data-parallel on a Ray cluster: ``num_workers`` replicas, each on its shard.

    model_or_config : a sb.Model (sent to the workers as is) or a zero-argument callable
        that builds the model (called on the driver and on each worker). The workers start
        from the driver's weights, so the replicas begin identical either way.
    train_files : SVM file path(s) (split by samples), a ``TextCsvFiles`` spec, or a
        callable ``(rank, num_workers) -> sb.data.SparseDataset``.
    batch_size : the global batch: samples per step over all the workers, split across them
        (``batch_size // num_workers`` each, the first ``batch_size % num_workers`` one
        more), so N workers take the steps one process takes with this ``batch_size`` and
        reach its model on the same epochs and ``learning_rate``. Every sample is trained
        once an epoch: a worker whose shard is used up sits the epoch's last steps out.
    sync_every : batches each worker accumulates before an exchange; the combined gradient
        is the mean over the samples of the ``num_workers * sync_every`` batches.
    validation : a path (SVM) or data set evaluated on worker 0 after each epoch with
        ``metrics``; None skips it.
    checkpoint_dir : where ``checkpoint.sbm`` (a model file, ``sb.Model.load`` reads it) is written (a temporary folder if None);
        ``checkpoint_every`` exchanges (default a quarter epoch) and at each epoch's end.
        With ``resume`` a job continues from the checkpoint found there.
    address : an existing Ray cluster ("auto" or "host:port"); None starts a local one
        with ``num_cpus`` (default all cores) unless Ray is already initialised.
    threads_per_worker : kernel threads (and Ray CPUs) per worker; default the cluster's
        CPUs divided by ``num_workers`` (a fraction of a CPU and one thread each when
        there are more workers than CPUs).
    exchange : "allgather" (each worker fetches the others' sparse gradients from Ray's
        object store and combines them itself), "reduce_scatter" (worker j sums everyone's
        rows of row range j, then all fetch the summed ranges) or "driver" (the driver
        combines and broadcasts). "auto": all-gather for 2 workers, reduce-scatter from 3,
        where each worker would otherwise take in N-1 whole gradients; see docs/distributed.md.
    max_restarts : worker deaths to survive; each restores every replica from the last
        checkpoint and goes on from there.

    label_augmentation, augment_from_epoch : as in ``Model.train``: once the model has
        completed that many epochs (``model.epochs``, this job's included) the tables freeze
        and the output layer pins training labels its buckets miss. Each
        worker sends its batch's pins (bucket keys and labels) with its gradient and every
        replica inserts all of them in worker order after the step, so the tables stay
        identical (see docs/distributed.md).

    Returns a ``TrainResult`` (model, history, stats).
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
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for name in metrics:
        make_metric(name)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"The 'callbacks' parameter of sb.distributed.train must hold sb.train.Callback "
                            f"instances. Got {cb!r}.")
    model, replica = _driver_model(model_or_config)
    ray = import_ray()
    spec = as_spec(train_files)

    started = False
    if not ray.is_initialized():
        if address is not None:
            ray.init(address=address, log_to_driver=verbose)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=verbose)
        started = True
    if threads_per_worker is None:
        # more workers than CPUs share them: fractional Ray CPUs, one thread each
        share = float(ray.cluster_resources().get("CPU", 1)) / num_workers
        threads = (max(1, int(share)), min(float(max(1, int(share))), share))
    else:
        check_int("sb.distributed.train", "threads_per_worker", threads_per_worker, 1)
        threads = (threads_per_worker, threads_per_worker)
    own_dir = checkpoint_dir is None
    checkpoint_dir = tempfile.mkdtemp(prefix="sparsebolt-ckpt-") if own_dir else os.fspath(checkpoint_dir)
    os.makedirs(checkpoint_dir, exist_ok=True)
    ckpt_path = os.path.join(checkpoint_dir, _checkpoint.FILE)
    job = None
    try:
        pos = None
        if resume and os.path.exists(ckpt_path):
            # before the workers start: the driver's layers take the saved names, and they theirs
            pos = _checkpoint.restore_checkpoint(model, ckpt_path)
        # epochs the model had before this job (a checkpoint's count includes the job's own):
        # augmentation starts, as in Model.train, once the model's life count reaches it
        base_epochs = max(0, model.epochs - (pos["epoch"] if pos is not None else 0))
        augment = max(0, augment_from_epoch - base_epochs) if label_augmentation else None
        job = _Job(ray, replica, [layer.name for layer in model.layers], spec, num_workers, threads, seed, shuffle,
                   batch_size, sync_every, exchange, augment)
        return _run(job, model, epochs, learning_rate, validation, metrics, ckpt_path,
                    checkpoint_every or max(1, job.exchanges // 4), max_restarts, pos, base_epochs, callbacks,
                    verbose)
    finally:
        if job is not None:
            job.close()
        if started:
            ray.shutdown()
        if own_dir:
            shutil.rmtree(checkpoint_dir, ignore_errors=True)


def _run(job, model, epochs, learning_rate, validation, metrics, ckpt_path, checkpoint_every, max_restarts,
         pos, base_epochs, callbacks, verbose):
    ray = job.ray
    config = {"num_workers": job.num_workers, "global_batch_size": job.batch_size, "sync_every": job.sync_every,
              "seed": job.seed, "shuffle": job.shuffle, "steps": job.n_batches,
              "augment_from_epoch": job.augment_from_epoch}
    fresh = {"epoch": 0, "exchange": 0, "loss_sum": 0.0, "samples": 0, "seconds": 0.0, "history": [],
             "config": config}
    if pos is not None:
        if pos.get("config") != config:
            raise ValueError(f"The checkpoint at {ckpt_path} was written by a job with other settings "
                             f"({pos.get('config')}); this one has {config}.")
    else:
        pos = fresh
        _checkpoint.save_checkpoint(model, ckpt_path, pos)
    job.load(_checkpoint.replica_state(model))
    if validation is not None and not isinstance(validation, (str, os.PathLike)):
        validation = ray.put(validation)
    history = History()
    callbacks = [history, *callbacks]
    for cb in callbacks:
        cb.on_train_begin(model)
    sent, steps_run, restarts, train_seconds, samples = [], 0, 0, 0.0, 0
    lost_steps = 0
    epoch_start = time.perf_counter()
    bar = None
    while pos["epoch"] < epochs:
        try:
            epoch = pos["epoch"]
            if pos["exchange"] == 0:
                for cb in callbacks:
                    cb.on_epoch_begin(epoch, model)
            bar = tqdm(total=job.exchanges, initial=pos["exchange"], unit="steps", disable=not verbose,
                       desc=f"epoch {epoch + 1}/{epochs}")
            while pos["exchange"] < job.exchanges:
                t0 = time.perf_counter()
                loss, step_samples, bytes_sent = job.step(epoch, pos["exchange"], learning_rate)
                dt = time.perf_counter() - t0
                pos["seconds"] += dt
                train_seconds += dt
                samples += step_samples
                pos["exchange"] += 1
                pos["loss_sum"] += loss
                pos["samples"] += step_samples
                sent.append(sum(bytes_sent) / len(bytes_sent))
                steps_run += 1
                bar.update(1)
                logs = {"loss": loss / step_samples, "worker_pids": job.pids()}
                for cb in callbacks:
                    cb.on_batch_end(steps_run, logs, model)
                if pos["exchange"] % checkpoint_every == 0 and pos["exchange"] < job.exchanges:
                    _save(job, model, pos, ckpt_path, base_epochs)
            bar.close()
            logs = {"epoch": epoch + 1, "loss": pos["loss_sum"] / pos["samples"], "samples": pos["samples"],
                    "seconds": pos["seconds"]}
            if validation is not None and metrics:
                for name, value in job.evaluate(validation, metrics).items():
                    logs[f"val_{name}"] = value
            if verbose:
                tqdm.write(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items()))
            pos["history"].append(logs)
            pos.update(epoch=epoch + 1, exchange=0, loss_sum=0.0, samples=0, seconds=0.0)
            _save(job, model, pos, ckpt_path, base_epochs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs, model)
        except ray.exceptions.RayError as err:
            if bar is not None:
                bar.close()
            dead = job.replace_dead()
            if not dead:
                raise
            restarts += len(dead)
            if restarts > max_restarts:
                raise RuntimeError(f"sb.distributed.train: workers died {restarts} times, more than "
                                   f"max_restarts={max_restarts}.") from err
            before = pos["epoch"] * job.exchanges + pos["exchange"]
            pos = _checkpoint.restore_checkpoint(model, ckpt_path)
            lost_steps += before - (pos["epoch"] * job.exchanges + pos["exchange"])
            if verbose:
                tqdm.write(f"worker(s) {dead} died ({type(err).__name__}); restarted, all replicas restored "
                           f"from the checkpoint at epoch {pos['epoch'] + 1} step {pos['exchange']}")
            job.load(_checkpoint.replica_state(model))
    _driver_state(job, model, pos, base_epochs)
    digests = job.digests()
    if len(set(digests)) != 1:
        warnings.warn(f"sb.distributed.train: the replicas differ at the end ({digests}); the model is worker 0's.")
    for cb in callbacks:
        cb.on_train_end(model)
    # History keeps the epochs this call ran; a resumed job's earlier epochs are in the checkpoint
    history.epochs = list(pos["history"])
    stats = {"workers": job.num_workers, "threads_per_worker": job.threads, "exchange": job.exchange,
             "steps": steps_run, "samples": samples, "train_seconds": train_seconds,
             "samples_per_second": samples / train_seconds if train_seconds else 0.0,
             "sparse_bytes_per_worker_step": sum(sent) / len(sent) if sent else 0.0,
             "dense_bytes_per_worker_step": dense_nbytes(model), "restarts": restarts,
             "steps_lost": lost_steps, "replicas_identical": len(set(digests)) == 1,
             "seconds": time.perf_counter() - epoch_start}
    return TrainResult(model, history, stats)


def _driver_state(job, model, pos, base_epochs):
    """Worker 0's state (all replicas are the same) into the driver's model, which counts
    the epochs the job has completed."""
    _checkpoint.load_replica_state(model, job.state())
    model.epochs = base_epochs + pos["epoch"]


def _save(job, model, pos, ckpt_path, base_epochs):
    """The job's state into the driver's model, then to disk."""
    _driver_state(job, model, pos, base_epochs)
    _checkpoint.save_checkpoint(model, ckpt_path, pos)
