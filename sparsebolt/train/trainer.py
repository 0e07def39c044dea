"""``Model.train``: the training engine (``engine.py``) on a data set's batches in this process."""
from .._validation import check_int
from .checkpoints import Checkpoints
from .engine import Engine, LocalSteps, check_run


def fit(model, data, epochs, learning_rate, validation=None, metrics=(), callbacks=(), verbose=True,
        label_augmentation=True, augment_from_epoch=1, checkpoint_dir=None, checkpoint_every=None, keep=3,
        resume=False):
    check_int("train", "epochs", epochs, 1)
    check_int("train", "augment_from_epoch", augment_from_epoch, 0)
    metrics = check_run("train", metrics, callbacks)
    if metrics and validation is None:
        raise ValueError("The 'metrics' parameter of train needs a 'validation' data set to compute them on.")
    checkpoints = None
    if checkpoint_dir is not None or resume:
        checkpoints = Checkpoints(checkpoint_dir, checkpoint_every, keep, resume, verbose)
    engine = Engine(model, LocalSteps(data), epochs, learning_rate, validation=validation, metrics=metrics,
                    callbacks=callbacks, verbose=verbose, label_augmentation=label_augmentation,
                    augment_from_epoch=augment_from_epoch, checkpoints=checkpoints)
    return engine.run(resume)
