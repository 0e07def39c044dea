"""Checkpoints of a training run: model files with the training position, written into one
directory by the training engine (``Model.train`` and ``sb.distributed.train`` alike) and
read back by ``resume=True``.

A checkpoint is ``ckpt-<step>.sbm``, a model file (weights, optimizer state, LSH tables,
hash functions and schedule counters, the step counter) whose manifest also holds a
``training`` table: the epoch and the steps of it already trained, the epoch's running loss
sums, the finished epochs' logs, and what the way of stepping needs to go on: the data
set's shuffling state at that epoch's start for ``Model.train``, a ``distributed`` section
(the job's settings) for a Ray job. Resuming restores all of it and skips the steps already
trained, so a single-threaded seeded run continues bit for bit as if it had not stopped.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from .._validation import _fail, check_int
from ..io import ModelFileError, restore_model_file, save_model_file
from ..io._model import open_model_file

if TYPE_CHECKING:
    from ..nn.model import Model
    from .callbacks import History

_NAME = re.compile(r"^ckpt-(\d+)\.sbm$")


def checkpoint_name(step: int) -> str:
    """The file name of the checkpoint at ``step``; names sort by step."""
    return f"ckpt-{step:010d}.sbm"


def list_checkpoints(directory: str | os.PathLike) -> list[str]:
    """Checkpoint paths in ``directory``, newest (highest step) first."""
    if not os.path.isdir(directory):
        return []
    found = [(int(m.group(1)), name) for name in os.listdir(directory) if (m := _NAME.match(name))]
    return [os.path.join(directory, name) for _, name in sorted(found, reverse=True)]


class Checkpoints:
    """The checkpoints of one run (see ``sparsebolt.train.engine.Engine``).

    directory : where checkpoints go (created if missing); one training run per directory
    every : write one every this many steps (counted by the model's step counter), or
        None for one at the end of each epoch; the last epoch always ends with one
    keep : how many of the newest to keep
    resume : continue from the newest readable checkpoint in ``directory``
    owner : the function whose parameters these are, for the error messages
    """

    def __init__(self, directory: str | os.PathLike | None, every: int | None = None, keep: int = 3,
                 resume: bool = False, verbose: bool = True, owner: str = "train") -> None:
        if directory is None:
            _fail(owner, "resume", "False without a 'checkpoint_dir' to resume from", resume)
        self.directory = os.fspath(directory)
        self.every = None if every is None else check_int(owner, "checkpoint_every", every, 1)
        self.keep = check_int(owner, "keep", keep, 1)
        self.verbose = verbose
        os.makedirs(self.directory, exist_ok=True)
        existing = list_checkpoints(self.directory)
        if existing and not resume:
            raise ValueError(f"The 'checkpoint_dir' parameter of {owner} must be a directory without checkpoints "
                             f"unless resume=True. Got {self.directory!r}, which holds "
                             f"{os.path.basename(existing[0])}, instead (pass resume=True to continue that run).")
        self._remove_partial_writes()
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

    def resume(self, model: Model, history: History) -> dict[str, Any] | None:
        """Restore ``model`` and ``history`` from the newest readable checkpoint; returns
        its training position (None when there is none). A damaged one is skipped with a
        warning (writes are atomic, so that takes a disk fault, not a crash)."""
        for path in list_checkpoints(self.directory):
            try:
                with open_model_file(path) as archive:  # the position first: a damaged one restores nothing
                    training = archive.manifest.get("training")
                if isinstance(training, dict):
                    training = _checked_position(path, _finite_back(training))
                    restore_model_file(model, path)
            except ModelFileError as e:
                warnings.warn(f"Skipping a damaged checkpoint: {e}", RuntimeWarning, stacklevel=3)
                continue
            if not isinstance(training, dict):
                raise ModelFileError(path, "manifest.json", "is a model file, not a checkpoint (no training position)")
            history.epochs = list(training["history"])
            # a checkpoint from before the model counted epochs loads 0; the run's own are known
            model.epochs = max(model.epochs, training["epoch"])
            self.resumed_from = self.last_written = path
            self._say(f"resuming from {path}: epoch {training['epoch'] + 1}, "
                      f"{training['batch']} batches into it, step {model.steps}")
            return training
        self._say(f"no checkpoint in {self.directory}: starting from the beginning")
        return None

    def write(self, model: Model, history: History, position: dict[str, Any]) -> None:
        """Save a checkpoint of ``model`` at its step with ``history`` and the training
        ``position``; delete all but the ``keep`` newest."""
        path = os.path.join(self.directory, checkpoint_name(model.steps))
        save_model_file(model, path, extra={"training": _json_safe(dict(position, history=history.epochs))})
        self.last_written = path
        for old in list_checkpoints(self.directory)[self.keep:]:
            os.unlink(old)


def _json_safe(value: Any) -> Any:
    """``value`` with each NaN or infinite float as {"float": "nan"} (or "inf", "-inf"): JSON
    has no such numbers, and an epoch's logs may hold one (a metric over no labeled rows)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(float(value))}
    return value


def _checked_position(path: str, training: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's training position, its entries of the types ``write`` gave them (the
    optional ones where present); a ModelFileError naming the first that is not."""
    def count(value, least=0):
        return isinstance(value, int) and not isinstance(value, bool) and value >= least

    def number(value):
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    expected = {  # key: (check, what it must be, required)
        "history": (lambda v: isinstance(v, list) and all(isinstance(e, dict) for e in v), "a list of logs", True),
        "epoch": (count, "an int >= 0", True), "batch": (count, "an int >= 0", True),
        "n_batches": (count, "an int >= 0", True), "n_samples": (count, "an int >= 0", True),
        "loss_sum": (number, "a number", True), "seconds": (number, "a number", False),
        "batch_growth": (lambda v: count(v, 1), "an int >= 1", False),
        "data_state": (lambda v: v is None or isinstance(v, dict), "a table or null", False)}
    for key, (ok, what, required) in expected.items():
        if (key in training and not ok(training[key])) or (required and key not in training):
            raise ModelFileError(path, "manifest.json", f"holds a damaged training position: its {key!r} must be "
                                 f"{what}, got {training.get(key, 'nothing')!r}")
    return training


def _finite_back(value: Any) -> Any:
    """``_json_safe`` undone."""
    if isinstance(value, dict):
        if set(value) == {"float"} and value["float"] in ("nan", "inf", "-inf"):
            return float(value["float"])
        return {k: _finite_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_back(v) for v in value]
    return value
