"""The training engine: epochs, callbacks, logging, validation, the learning-rate schedule,
the label-augmentation schedule, checkpoints and resume, whatever computes a step.

A ``Steps`` says how: ``LocalSteps`` (``Model.train``) runs a data set's batches through
``Model.train_step`` in this process; ``sb.distributed.train`` plugs in steps that Ray
workers compute on their shards and combine (``sparsebolt.distributed.trainer``). The
engine calls a ``Steps`` only through the methods of the base class below.
"""
import contextlib
import functools
import time

from tqdm.auto import tqdm

from .._threads import hold_step_threads, validation_threads

from .callbacks import Callback, EarlyStopping, History
from .inference import check_output_metrics, evaluate
from .metrics import make_metric
from .schedules import as_schedule


def augmenting(model, label_augmentation, augment_from_epoch):
    """Whether the epoch the model starts now freezes its tables and pins the labels their
    buckets miss: once the model has completed ``augment_from_epoch`` epochs over its life
    (``model.epochs``, across ``train`` calls and jobs)."""
    return label_augmentation and model.epochs >= augment_from_epoch


class Steps:
    """How the steps of an epoch are computed. ``recoverable``: the errors after which
    ``recover`` may restore the run and go on."""

    recoverable = ()
    # write a checkpoint at the end of every epoch (else only of the last, with ``checkpoint_every``)
    checkpoint_each_epoch = False
    # write one before the first step, for ``recover`` to go back to
    checkpoint_at_start = False

    def start(self, model, resumed):
        """Before the first step; ``resumed`` is the checkpoint's training position or None."""

    def n_samples(self):
        """Samples an epoch (for the progress bar), or None."""
        return None

    def begin_epoch(self, epoch, augment, resumed):
        """The work items of ``epoch`` still to train (from ``resumed['batch']`` when the
        run resumes in this epoch); ``augment`` from ``augmenting``."""
        raise NotImplementedError

    def step(self, epoch, item, learning_rate):
        """Train one work item: (summed batch-mean losses, batches, samples)."""
        raise NotImplementedError

    # whether set_batch_growth takes more than 1
    grows_batch = False

    def set_batch_growth(self, growth):
        """Steps from now take ``growth`` times the data's own batch size (the schedule's
        ``batch_growth``; 1 restores it)."""

    def batch_logs(self):
        return {}

    def trained_rows(self, model):
        """``Model.rows_trained_by`` of the data, or None when unknown."""
        return None

    def position(self, end_of_epoch):
        """What a checkpoint needs beyond the engine's own counters (JSON-able)."""
        return {}

    def sync(self, model):
        """Bring ``model`` up to date before it is checkpointed or returned."""

    def evaluate(self, model, validation, metrics, verbose):
        return evaluate(model, validation, metrics, verbose=verbose)

    def holding(self):
        """A context the epoch's steps run in (``LocalSteps``: their thread settings held)."""
        return contextlib.nullcontext()

    def recover(self, err, restore):
        """After a ``recoverable`` error: ``restore()`` loads the newest checkpoint into the
        model and returns its position; returns that position or raises."""
        raise err


def _logged_steps(logs):
    """The steps an epoch's logs say it took: a step of a Ray job trains a batch on each
    worker, which its batches count (epochs logged before they counted steps: their
    batches)."""
    return logs.get("steps", logs.get("batches", 0))


class LocalSteps(Steps):
    """``Model.train``: the data set's batches, one ``Model.train_step`` each."""

    def __init__(self, data):
        self.data = data
        self._epoch_state = None
        self._own_batch_size = getattr(data, "batch_size", None)
        if self._own_batch_size is not None:
            try:  # only a batch size that can be set grows
                data.batch_size = self._own_batch_size
            except AttributeError:
                self._own_batch_size = None
        self._growth = 1

    def start(self, model, resumed):
        self.model = model
        self._schedule_tables()

    def _schedule_tables(self):
        """The sparse layers' table rebuilds for the batches the data gives now: as often
        per sample at a grown batch size as at its own."""
        try:
            batches_per_epoch = len(self.data)
        except TypeError:
            batches_per_epoch = None
        batch_size = getattr(self.data, "batch_size", 256)
        for layer in self.model.sparse_layers():
            layer.index.set_schedule(batches_per_epoch, batch_size)

    def n_samples(self):
        return getattr(self.data, "n_samples", None)

    def trained_rows(self, model):
        return model.rows_trained_by(self.data)

    @property
    def grows_batch(self):
        return self._own_batch_size is not None

    def set_batch_growth(self, growth):
        if growth != self._growth:
            self.data.batch_size = self._own_batch_size * growth
            self._growth = growth
            self._schedule_tables()

    def begin_epoch(self, epoch, augment, resumed):
        if augment:
            self.model.freeze_tables(label_augmentation=True)
        if resumed is None:
            self._epoch_state = _data_state(self.data)
            return iter(self.data)
        if resumed["batch"] and "distributed" in resumed:
            raise ValueError(f"The checkpoint is {resumed['batch']} steps into epoch {epoch + 1} of an "
                             f"sb.distributed.train job, whose steps train a batch on each worker: resume it with "
                             f"sb.distributed.train, or Model.train from a checkpoint written at an epoch's end.")
        if resumed["batch"]:  # it counted them at the batch size it was written with
            self.set_batch_growth(resumed.get("batch_growth", 1))
        self._epoch_state = resumed.get("data_state")
        if self._epoch_state is not None:
            try:
                self.data.set_state(self._epoch_state, {})
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"The checkpoint's shuffling state does not fit the data ({e}): resume on the "
                                 f"same data.") from None
        batches = iter(self.data)
        skipped = 0
        for i in range(resumed["batch"]):
            item = next(batches, None)
            if item is None:
                raise ValueError(f"The checkpoint is {resumed['batch']} batches into epoch {epoch + 1}, but the "
                                 f"data gives only {i} batches: resume on the same data.")
            skipped += item.batch_size
        if resumed["batch"] and skipped != resumed["n_samples"]:  # the rest of the epoch would miss rows
            raise ValueError(f"The checkpoint is {resumed['batch']} batches ({resumed['n_samples']} samples) into "
                             f"epoch {epoch + 1}, but the data's first {resumed['batch']} batches hold {skipped} "
                             f"samples: resume on the same data in batches of the same size.")
        return batches

    def holding(self):
        return hold_step_threads()

    def step(self, epoch, batch, learning_rate):
        return self.model.train_step(batch, learning_rate), 1, batch.batch_size

    def evaluate(self, model, validation, metrics, verbose):
        n = getattr(validation, "n_samples", None)
        work = None if n is None else n * model.dense_cost()
        with validation_threads(work):
            return evaluate(model, validation, metrics, verbose=verbose)

    def position(self, end_of_epoch):
        # the shuffling state at the start of the epoch to resume in
        return {"data_state": _data_state(self.data) if end_of_epoch else self._epoch_state,
                "batch_growth": self._growth}


def _data_state(data):
    """The data set's shuffling state (the JSON meta of its ``get_state``), or None."""
    return data.get_state()[0] if hasattr(data, "get_state") else None


def check_run(owner, metrics, callbacks, model):
    """The metric names and callbacks of a run on ``model``, checked before any step
    (``owner`` names the caller)."""
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    check_output_metrics(owner, model, [make_metric(name, owner, "metrics") for name in metrics])
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"The 'callbacks' parameter of {owner} must hold sb.train.Callback instances. "
                            f"Got {cb!r} instead.")
    return metrics


class Engine:
    """One run of ``epochs`` epochs (counted from the start of the run, a resumed one
    included) of ``steps`` on ``model``.

    learning_rate : a number or a ``sb.train.Schedule``, called with the run's step count
    checkpoints : a ``sparsebolt.train.checkpoints.Checkpoints`` or None
    """

    def __init__(self, model, steps, epochs, learning_rate, validation=None, metrics=(), callbacks=(),
                 verbose=True, label_augmentation=True, augment_from_epoch=1, checkpoints=None):
        self.model, self.steps, self.epochs = model, steps, epochs
        self.schedule = as_schedule(learning_rate)
        self.validation, self.metrics, self.verbose = validation, metrics, verbose
        self.label_augmentation, self.augment_from_epoch = label_augmentation, augment_from_epoch
        self.checkpoints = checkpoints
        self.history = History()
        self.callbacks = [self.history, *callbacks]

    def run(self, resume=False):
        model, steps = self.model, self.steps
        if self.schedule.max_batch_growth > 1 and not steps.grows_batch:
            data = type(getattr(steps, "data", None)).__name__
            raise ValueError(f"The 'data' parameter of train must have a 'batch_size' to set (an "
                             f"sb.data.SparseDataset) when the schedule may grow the batch size (max_batch_growth="
                             f"{self.schedule.max_batch_growth}). Got {data} instead (or give the schedule "
                             f"max_batch_growth=1).")
        if not self.label_augmentation:
            model.unfreeze_tables()
        self.schedule.reset()
        at = self._restore() if resume else None
        steps.start(model, at)
        # what EarlyStopping's snapshots need copy of the input tables: found once, when first asked
        model.trained_rows = functools.cache(lambda: steps.trained_rows(model))
        try:
            if at is None and steps.checkpoint_at_start:
                self._write(0, 0, 0.0, 0, 0, 0.0, end_of_epoch=False)
            for cb in self.callbacks:
                cb.on_train_begin(model)
            # a schedule's step counts from the start of the run, a resumed one included
            self.run_steps = self._steps_before(at)
            epoch = at["epoch"] if at else 0
            begun = None
            # a resumed run its schedule had stopped (its logs replayed) trains no further
            while epoch < self.epochs and not self.schedule.stop_training:
                try:
                    if begun != epoch:
                        for cb in self.callbacks:
                            cb.on_epoch_begin(epoch, model)
                        begun = epoch
                    stop = self._epoch(epoch, at)
                except steps.recoverable as err:
                    at = steps.recover(err, self._restore)
                    self.run_steps = self._steps_before(at)
                    epoch = at["epoch"]
                    continue
                at = None
                epoch += 1
                if stop:
                    break
        finally:
            steps.set_batch_growth(1)
            model.trained_rows = None
        steps.sync(model)
        for cb in self.callbacks:
            cb.on_train_end(model)
            if isinstance(cb, EarlyStopping) and cb.restore_best_weights and cb.best_epoch is not None:
                self.history.best_epoch, self.history.averaged_epochs = cb.best_epoch, cb.averaged_epochs
        return self.history

    def _restore(self):
        """The newest checkpoint into the model and the history, and the schedule to where
        it stood (its finished epochs' logs again): the checkpoint's training position (None
        when there is none)."""
        at = self.checkpoints.resume(self.model, self.history)
        self.schedule.reset()
        done = 0
        for epoch, logs in enumerate(self.history.epochs):
            done += _logged_steps(logs)
            try:
                # as at the epoch's end: its last step asked for a rate (a warm-up's end is by steps)
                self.schedule(max(done - 1, 0))
                self.schedule.on_epoch_end(epoch, logs)
            except ValueError as err:
                raise ValueError(f"Resuming from {self.checkpoints.resumed_from}: the schedule {self.schedule!r} "
                                 f"cannot be brought back to where it stood from epoch {epoch + 1}'s logs: {err} "
                                 f"Resume with the schedule and validation the run was started with.") from err
        return at

    def _batch_growth(self):
        """The schedule's batch growth for the next epoch, checked."""
        growth, most = self.schedule.batch_growth, self.schedule.max_batch_growth
        if not isinstance(growth, int) or not 1 <= growth <= most:
            raise ValueError(f"The schedule {self.schedule!r} asks for batch_growth={growth!r}, which must be an "
                             f"int in [1, max_batch_growth={most}].")
        return growth

    def _epoch(self, epoch, at):
        """Train one epoch (from ``at``, a checkpoint's position in it); whether the schedule
        or a callback asked to stop."""
        model, steps = self.model, self.steps
        resumed = at if at is not None and at["epoch"] == epoch else None
        if resumed is not None:
            batch, loss_sum, n_batches, n_samples = (resumed["batch"], resumed["loss_sum"], resumed["n_batches"],
                                                     resumed["n_samples"])
            seconds = resumed.get("seconds", 0.0)
        else:
            batch, loss_sum, n_batches, n_samples, seconds = 0, 0.0, 0, 0, 0.0
        steps.set_batch_growth(self._batch_growth())
        items = steps.begin_epoch(epoch, augmenting(model, self.label_augmentation, self.augment_from_epoch),
                                  resumed)
        every = self.checkpoints.every if self.checkpoints is not None else None
        # the last step's rate, for the logs: a resumed epoch may have no step left to take
        lr = self.schedule(self.run_steps - 1) if resumed is not None and batch > 0 else None
        start = time.perf_counter()
        with steps.holding(), tqdm(total=steps.n_samples(), initial=n_samples, unit="samples", unit_scale=True,
                                   disable=not self.verbose, desc=f"epoch {epoch + 1}/{self.epochs}") as bar:
            for item in items:
                lr = self.schedule(self.run_steps)
                loss, batches, samples = steps.step(epoch, item, lr)
                self.run_steps += 1
                batch += 1
                loss_sum += loss
                n_batches += batches
                n_samples += samples
                if self.verbose:  # a hidden bar still formats its postfix (3 us a step)
                    bar.update(samples)
                    bar.set_postfix(loss=f"{loss / batches:.4f}", refresh=False)
                logs = {"loss": loss / batches, **steps.batch_logs()}
                for cb in self.callbacks:
                    cb.on_batch_end(model.steps, logs, model)
                if every is not None and model.steps % every == 0:
                    self._write(epoch, batch, loss_sum, n_batches, n_samples,
                                seconds + time.perf_counter() - start, end_of_epoch=False)
        if n_batches == 0:
            raise ValueError("The 'data' parameter of train must give at least one batch. Got none instead.")
        model.epochs += 1
        steps.sync(model)  # callbacks see the epoch's model
        logs = {"epoch": epoch + 1, "loss": loss_sum / n_batches, "samples": n_samples, "steps": batch,
                "batches": n_batches,
                "seconds": seconds + time.perf_counter() - start, "learning_rate": lr}
        if self.validation is not None and self.metrics:
            for name, value in steps.evaluate(model, self.validation, self.metrics, self.verbose).items():
                logs[f"val_{name}"] = value
        if self.verbose:
            tqdm.write(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items()))
        self.schedule.on_epoch_end(epoch, logs)
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs, model)
        if self.checkpoints is not None and (every is None or epoch == self.epochs - 1
                                             or steps.checkpoint_each_epoch):
            self._write(epoch + 1, 0, 0.0, 0, 0, 0.0, end_of_epoch=True, synced=True)
        return self.schedule.stop_training or any(cb.stop_training for cb in self.callbacks)

    def _steps_before(self, at):
        """Steps of this run before the position ``at`` (a checkpoint's; None: the start)."""
        return sum(_logged_steps(e) for e in self.history.epochs) + (at["batch"] if at else 0)

    def _write(self, epoch, batch, loss_sum, n_batches, n_samples, seconds, end_of_epoch, synced=False):
        if not synced:
            self.steps.sync(self.model)
        position = {"epoch": epoch, "batch": batch, "loss_sum": loss_sum, "n_batches": n_batches,
                    "n_samples": n_samples, "seconds": seconds, **self.steps.position(end_of_epoch)}
        self.checkpoints.write(self.model, self.history, position)
