"""The training loop: epochs and batches in Python, each batch's work in the kernels."""
import time

from tqdm.auto import tqdm

from .._validation import check_float, check_int
from .callbacks import Callback, History
from .inference import evaluate
from .metrics import make_metric


def fit(model, data, epochs, learning_rate, validation=None, metrics=(), callbacks=(), verbose=True,
        label_augmentation=True, augment_from_epoch=1):
    check_int("train", "epochs", epochs, 1)
    check_int("train", "augment_from_epoch", augment_from_epoch, 0)
    check_float("train", "learning_rate", learning_rate, 0.0, low_open=True)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for name in metrics:
        make_metric(name)
    if metrics and validation is None:
        raise ValueError("The 'metrics' parameter of train needs a 'validation' data set to compute them on.")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"The 'callbacks' parameter of train must hold sb.train.Callback instances. Got {cb!r}.")
    history = History()
    callbacks = [history, *callbacks]
    try:
        batches_per_epoch = len(data)
    except TypeError:
        batches_per_epoch = None
    batch_size = getattr(data, "batch_size", 256)
    for layer in model.sparse_layers():
        layer.index.set_schedule(batches_per_epoch, batch_size)
    total = getattr(data, "n_samples", None)
    for cb in callbacks:
        cb.on_train_begin(model)
    for epoch in range(epochs):
        if label_augmentation and epoch == augment_from_epoch:
            model.freeze_tables(label_augmentation=True)
        for cb in callbacks:
            cb.on_epoch_begin(epoch, model)
        start = time.perf_counter()
        loss_sum, n_batches, n_samples = 0.0, 0, 0
        with tqdm(total=total, unit="samples", unit_scale=True, disable=not verbose,
                  desc=f"epoch {epoch + 1}/{epochs}") as bar:
            for batch in data:
                model.check_batch(batch)
                if batch.labels is None:
                    raise ValueError("train needs batches with labels.")
                loss = model.train_step(batch, learning_rate)
                loss_sum += loss
                n_batches += 1
                n_samples += batch.batch_size
                bar.update(batch.batch_size)
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                logs = {"loss": loss}
                for cb in callbacks:
                    cb.on_batch_end(model.steps, logs, model)
        if n_batches == 0:
            raise ValueError("train was given a data set with no batches.")
        logs = {"epoch": epoch + 1, "loss": loss_sum / n_batches, "samples": n_samples,
                "seconds": time.perf_counter() - start}
        if validation is not None and metrics:
            for name, value in evaluate(model, validation, metrics, verbose=verbose).items():
                logs[f"val_{name}"] = value
        if verbose:
            shown = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items())
            tqdm.write(shown)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs, model)
    for cb in callbacks:
        cb.on_train_end(model)
    return history
