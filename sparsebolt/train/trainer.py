"""The training loop: epochs and batches in Python, each batch's work in the kernels."""
import time

from tqdm.auto import tqdm

from .._validation import check_int
from .callbacks import Callback, History
from .checkpoints import Checkpoints
from .inference import evaluate
from .metrics import make_metric
from .schedules import as_schedule


def fit(model, data, epochs, learning_rate, validation=None, metrics=(), callbacks=(), verbose=True,
        label_augmentation=True, augment_from_epoch=1, checkpoint_dir=None, checkpoint_every=None, keep=3,
        resume=False):
    check_int("train", "epochs", epochs, 1)
    check_int("train", "augment_from_epoch", augment_from_epoch, 0)
    schedule = as_schedule(learning_rate)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for name in metrics:
        make_metric(name)
    if metrics and validation is None:
        raise ValueError("The 'metrics' parameter of train needs a 'validation' data set to compute them on.")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"The 'callbacks' parameter of train must hold sb.train.Callback instances. Got {cb!r}.")
    checkpoints = None
    if checkpoint_dir is not None or resume:
        checkpoints = Checkpoints(checkpoint_dir, checkpoint_every, keep, resume, verbose)
    history = History()
    callbacks = [history, *callbacks]
    try:
        batches_per_epoch = len(data)
    except TypeError:
        batches_per_epoch = None
    batch_size = getattr(data, "batch_size", 256)
    for layer in model.sparse_layers():
        layer.index.set_schedule(batches_per_epoch, batch_size)
    if not label_augmentation:
        model.unfreeze_tables()
    total = getattr(data, "n_samples", None)
    first_epoch = checkpoints.resume(model, history) if resume else 0
    for cb in callbacks:
        cb.on_train_begin(model)
    # a schedule's step counts from the start of the run, a resumed one included
    run_steps = sum(e.get("batches", 0) for e in history.epochs)
    for epoch in range(first_epoch, epochs):
        if label_augmentation and model.epochs >= augment_from_epoch:
            model.freeze_tables(label_augmentation=True)
        for cb in callbacks:
            cb.on_epoch_begin(epoch, model)
        start = time.perf_counter()
        lr = None  # the last step's rate, for the logs
        loss_sum, n_batches, n_samples = 0.0, 0, 0
        batches = data
        if checkpoints is not None:
            batches, (loss_sum, n_batches, n_samples) = checkpoints.epoch(epoch, data)
            run_steps += n_batches
        with tqdm(total=total, initial=n_samples, unit="samples", unit_scale=True, disable=not verbose,
                  desc=f"epoch {epoch + 1}/{epochs}") as bar:
            for batch in batches:
                model.check_batch(batch)
                if batch.labels is None:
                    raise ValueError("train needs batches with labels.")
                lr = schedule(run_steps)
                loss = model.train_step(batch, lr)
                run_steps += 1
                loss_sum += loss
                n_batches += 1
                n_samples += batch.batch_size
                bar.update(batch.batch_size)
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                logs = {"loss": loss}
                for cb in callbacks:
                    cb.on_batch_end(model.steps, logs, model)
                if checkpoints is not None:
                    checkpoints.after_batch(model, epoch, history, loss_sum, n_batches, n_samples)
        if n_batches == 0:
            raise ValueError("train was given a data set with no batches.")
        model.epochs += 1
        logs = {"epoch": epoch + 1, "loss": loss_sum / n_batches, "samples": n_samples, "batches": n_batches,
                "seconds": time.perf_counter() - start, "learning_rate": lr}
        if validation is not None and metrics:
            for name, value in evaluate(model, validation, metrics, verbose=verbose).items():
                logs[f"val_{name}"] = value
        if verbose:
            shown = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items())
            tqdm.write(shown)
        schedule.on_epoch_end(epoch, logs)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs, model)
        if checkpoints is not None:
            checkpoints.after_epoch(model, epoch, epochs, history, data)
        if any(cb.stop_training for cb in callbacks):
            break
    for cb in callbacks:
        cb.on_train_end(model)
    return history
