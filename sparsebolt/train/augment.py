"""Label augmentation after training: pin the training labels into the frozen hash tables."""
from tqdm.auto import tqdm

from ..nn.layers.base import Context


def pin_labels(model, data, verbose=True):
    """Freeze the sparse output layer's tables and pin each training label that its
    sample's buckets miss into them, as label augmentation does from the second epoch of
    ``train``, but in one forward pass to the output layer's input, without training.
    Returns the number of (sample, label) pairs pinned."""
    layer = model.output.layer
    if getattr(layer, "index", None) is None or layer.index.hash_fn is None:
        raise ValueError(f"pin_labels needs a sparse output layer with hash tables; '{layer.name}' has none "
                         f"(its sparsity is 1.0 or its sampling is 'random').")
    model.freeze_tables(label_augmentation=True)
    total = getattr(data, "n_samples", None)
    pinned = 0
    with tqdm(total=total, unit="samples", unit_scale=True, disable=not verbose, desc="pinning labels") as bar:
        for batch in data:
            model.check_batch(batch)
            if batch.labels is None:
                raise ValueError("pin_labels needs batches with labels.")
            values = model.forward(batch, Context(), skip_output=True)
            pinned += layer.index.pin_labels(values[model.output.inputs[0]], batch.labels.offsets,
                                             batch.labels.ids)
            bar.update(batch.batch_size)
    return pinned
