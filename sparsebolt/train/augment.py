"""Label augmentation after training: pin the training labels into the frozen hash tables."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from .._validation import check_int, check_type
from ..data.batch import Batch
from ..nn.layers.base import Context

if TYPE_CHECKING:
    from ..nn.model import Model


def can_pin(model: Model) -> bool:
    """Whether the model's output layer has hash tables to pin labels into."""
    index = getattr(model.output.layer, "index", None)
    return index is not None and index.hash_fn is not None


def pin_labels(model: Model, data: Any, n_tables: int | None = None, k: int | None = None,
               every_bucket: bool = False, verbose: bool = True) -> int:
    """Freeze the model's hash tables and pin each training label that its sample's buckets
    in the output layer miss, as label augmentation does from the second epoch of ``train``,
    but in one forward pass to the output layer's input, without training. Hidden sparse
    layers run as in sparse inference; their padding depends on a sample's place in its
    batch, so with them the pins match inference only as far as the batches do. With
    ``n_tables`` or ``k`` the output layer's tables are first rebuilt from the current weights
    with that many tables or hashes a table (``FullyConnected.rebuild_tables``). With ``every_bucket`` a label is
    pinned into each of its sample's buckets that misses it, not only when all do.
    Returns the number of (sample, label) pairs pinned."""
    layer = model.output.layer
    if not can_pin(model):
        raise ValueError(f"pin_labels needs a sparse output layer with hash tables; '{layer.name}' has none "
                         f"(its sparsity is 1.0 or its sampling is 'random').")
    if n_tables is not None:
        n_tables = check_int("pin_labels", "n_tables", n_tables, 1, 4096)
    if k is not None:
        k = check_int("pin_labels", "k", k, 1)
    every_bucket = check_type("pin_labels", "every_bucket", every_bucket, bool, "a bool")
    if isinstance(data, Batch):
        data = [data]
    total = getattr(data, "n_samples", None)
    pinned = n_batches = 0
    with tqdm(total=total, unit="samples", unit_scale=True, disable=not verbose, desc="pinning labels") as bar:
        for batch in data:
            model.check_batch(batch)
            if batch.labels is None:
                raise ValueError("pin_labels needs batches with labels.")
            if n_batches == 0:
                if n_tables is not None or k is not None:
                    layer.rebuild_tables(n_tables, k)
                model.freeze_tables(label_augmentation=True)
            values = model.forward(batch, Context(sparse_inference=True), skip_output=True)
            pinned += layer.index.pin_labels(values[model.output.inputs[0]], batch.labels.offsets,
                                             batch.labels.ids, every_bucket)
            n_batches += 1
            bar.update(batch.batch_size)
    if n_batches == 0:
        raise ValueError("pin_labels was given a data set with no batches.")
    return pinned
