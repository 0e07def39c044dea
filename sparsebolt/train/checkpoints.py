"""Checkpoints of a training run: model files with the training position, written into one
directory during ``Model.train`` and read back by ``train(..., resume=True)``.

A checkpoint is ``ckpt-<step>.sbm``, a model file (weights, optimizer state, LSH tables,
hash functions and schedule counters, the step counter) whose manifest also holds a
``training`` table: the epoch and the batches of it already trained, the data set's
shuffling state at that epoch's start, the epoch's running loss sums and the finished
epochs' logs. Resuming restores all of it and skips the batches already trained, so a
single-threaded seeded run continues bit for bit as if it had not stopped.
"""
import os
import re
import warnings

from tqdm.auto import tqdm

from .._validation import check_int
from ..io import ModelFileError, restore_model_file, save_model_file

_NAME = re.compile(r"^ckpt-(\d+)\.sbm$")


def checkpoint_name(step):
    return f"ckpt-{step:010d}.sbm"


def list_checkpoints(directory):
    """Checkpoint paths in ``directory``, newest (highest step) first."""
    if not os.path.isdir(directory):
        return []
    found = [(int(m.group(1)), name) for name in os.listdir(directory) if (m := _NAME.match(name))]
    return [os.path.join(directory, name) for _, name in sorted(found, reverse=True)]


def _data_state(data):
    return data.get_state() if hasattr(data, "get_state") else None


class Checkpoints:
    """The checkpoint side of one ``train`` call (see ``sparsebolt.train.trainer.fit``).

    directory : where checkpoints go (created if missing); one training run per directory
    every : write one every this many batches (counted by the model's step counter), or
        None for one at the end of each epoch; the last epoch always ends with one
    keep : how many of the newest to keep
    resume : continue from the newest readable checkpoint in ``directory``
    """

    def __init__(self, directory, every=None, keep=3, resume=False, verbose=True):
        if directory is None:
            raise ValueError("The 'resume' parameter of train needs a 'checkpoint_dir' to resume from.")
        self.directory = os.fspath(directory)
        self.every = None if every is None else check_int("train", "checkpoint_every", every, 1)
        self.keep = check_int("train", "keep", keep, 1)
        self.verbose = verbose
        os.makedirs(self.directory, exist_ok=True)
        existing = list_checkpoints(self.directory)
        if existing and not resume:
            raise ValueError(f"The 'checkpoint_dir' parameter of train must be a directory without checkpoints "
                             f"unless resume=True. Got {self.directory!r}, which holds "
                             f"{os.path.basename(existing[0])}; pass resume=True to continue that run.")
        self._remove_partial_writes()
        self._resume_at = None
        self._epoch_state = None
        self.resumed_from = None
        self.last_written = None

    def _remove_partial_writes(self):
        """Temporary files of a writer that died before its rename are never valid."""
        for name in os.listdir(self.directory):
            if name.startswith(".ckpt-") and name.endswith(".tmp"):
                try:
                    os.unlink(os.path.join(self.directory, name))
                except OSError:
                    pass

    def _say(self, text):
        if self.verbose:
            tqdm.write(text)

    def resume(self, model, history):
        """Restore ``model`` and ``history`` from the newest readable checkpoint; returns
        the epoch to continue in (0 when there is none). A damaged one is skipped with a
        warning (writes are atomic, so that takes a disk fault, not a crash)."""
        for path in list_checkpoints(self.directory):
            try:
                manifest = restore_model_file(model, path)
            except ModelFileError as e:
                warnings.warn(f"Skipping a damaged checkpoint: {e}", RuntimeWarning, stacklevel=3)
                continue
            training = manifest.get("training")
            if not isinstance(training, dict):
                raise ModelFileError(path, "manifest.json", "is a model file, not a checkpoint (no training position)")
            history.epochs = list(training["history"])
            # a checkpoint from before the model counted epochs loads 0; the run's own are known
            model.epochs = max(model.epochs, training["epoch"])
            self._resume_at = training
            self.resumed_from = self.last_written = path
            self._say(f"resuming from {path}: epoch {training['epoch'] + 1}, "
                      f"{training['batch']} batches into it, step {model.steps}")
            return training["epoch"]
        self._say(f"no checkpoint in {self.directory}: starting from the beginning")
        return 0

    def epoch(self, epoch, data):
        """(the batches of ``epoch`` still to train, the loss sums (loss, batches, samples)
        of those already trained): from the resume point in the epoch resumed, else all."""
        at, self._resume_at = self._resume_at, None
        if at is None or at["epoch"] != epoch:
            self._epoch_state = _data_state(data)
            return iter(data), (0.0, 0, 0)
        self._epoch_state = at["data_state"]
        if self._epoch_state is not None:
            data.set_state(self._epoch_state)
        batches = iter(data)
        for i in range(at["batch"]):
            if next(batches, None) is None:
                raise ValueError(f"The checkpoint {self.resumed_from} is {at['batch']} batches into epoch "
                                 f"{epoch + 1}, but the data gives only {i} batches: resume on the same data.")
        return batches, (at["loss_sum"], at["n_batches"], at["n_samples"])

    def after_batch(self, model, epoch, history, loss_sum, n_batches, n_samples):
        if self.every is not None and model.steps % self.every == 0:
            self.write(model, history, {"epoch": epoch, "batch": n_batches, "data_state": self._epoch_state,
                                        "loss_sum": loss_sum, "n_batches": n_batches, "n_samples": n_samples})

    def after_epoch(self, model, epoch, epochs, history, data):
        if self.every is None or epoch == epochs - 1:
            self.write(model, history, {"epoch": epoch + 1, "batch": 0, "data_state": _data_state(data),
                                        "loss_sum": 0.0, "n_batches": 0, "n_samples": 0})

    def write(self, model, history, position):
        path = os.path.join(self.directory, checkpoint_name(model.steps))
        save_model_file(model, path, extra={"training": dict(position, history=history.epochs)})
        self.last_written = path
        for old in list_checkpoints(self.directory)[self.keep:]:
            os.unlink(old)

