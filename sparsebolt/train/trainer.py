"""``Model.train``: the training engine (``engine.py``) on a data set's batches in this process."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from .._validation import _fail, check_int
from .checkpoints import Checkpoints
from .engine import Engine, LocalSteps, check_run

if TYPE_CHECKING:
    from ..nn.model import Model
    from .callbacks import Callback, History
    from .schedules import Schedule


def fit(model: Model, data: Iterable[Any], epochs: int, learning_rate: float | Schedule, validation: Any = None,
        metrics: Iterable[str] = (), callbacks: Iterable[Callback] = (), verbose: bool = True,
        label_augmentation: bool = True, augment_from_epoch: int = 1, checkpoint_dir: str | None = None,
        checkpoint_every: int | None = None, keep: int = 3, resume: bool = False) -> History:
    """``Model.train`` on batches already made (its parameters are documented there)."""
    check_int("train", "epochs", epochs, 1)
    check_int("train", "augment_from_epoch", augment_from_epoch, 0)
    metrics = check_run("train", metrics, callbacks, model)
    if metrics and validation is None:
        _fail("train", "metrics", "empty without a 'validation' data set to compute them on", metrics)
    checkpoints = None
    if checkpoint_dir is not None or resume:
        checkpoints = Checkpoints(checkpoint_dir, checkpoint_every, keep, resume, verbose)
    engine = Engine(model, LocalSteps(data), epochs, learning_rate, validation=validation, metrics=metrics,
                    callbacks=callbacks, verbose=verbose, label_augmentation=label_augmentation,
                    augment_from_epoch=augment_from_epoch, checkpoints=checkpoints)
    return engine.run(resume)
