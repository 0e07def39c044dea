"""Evaluation and prediction over batches, bounded in memory for very wide outputs."""
import numpy as np
from tqdm.auto import tqdm

from ..data.batch import Batch
from ..kernels.topk import label_hits, topk_rows, topk_rows_serial
from ..nn.value import Value
from .metrics import make_metric

# a dense pass over a wide output holds rows x width floats; cap it near 64 MB
_MAX_DENSE_FLOATS = 16 * 1024 * 1024


def _as_batches(data):
    if isinstance(data, Batch):
        return [data]
    if isinstance(data, Value):
        return [Batch((data,))]
    return data


def _slices(batch, max_rows):
    """Split a batch into row slices of at most ``max_rows`` samples."""
    n = batch.batch_size
    if n <= max_rows:
        yield batch
        return
    from ..data.batch import Labels, _take_rows
    for lo in range(0, n, max_rows):
        rows = np.arange(lo, min(n, lo + max_rows))
        inputs = []
        for v in batch.inputs:
            if v.is_dense:
                inputs.append(Value.dense(v.vals[rows]))
            else:
                off, (ids, vals) = _take_rows(v.offsets, [v.ids, v.vals], rows)
                inputs.append(Value(v.dim, vals, ids, off))
        labels = None
        if batch.labels is not None:
            lab = batch.labels
            off, (ids, vals) = _take_rows(lab.offsets, [lab.ids, lab.vals], rows)
            labels = Labels(off, ids, vals)
        yield Batch(inputs, labels)


def _outputs(model, data, sparse_inference):
    """Yield (batch slice, output Value) with dense passes cut to bounded slices."""
    max_rows = max(1, _MAX_DENSE_FLOATS // model.output.dim)
    for batch in _as_batches(data):
        model.check_batch(batch)
        for part in ([batch] if sparse_inference else _slices(batch, max_rows)):
            yield part, model.output_values(part, sparse_inference=sparse_inference,
                                            serial=part.batch_size == 1)


def top_k(output, k, serial=False):
    n = output.batch_size
    ids = np.empty((n, k), dtype=np.int32)
    scores = np.empty((n, k), dtype=np.float32)
    out_ids = output.ids if output.ids is not None else np.zeros(0, dtype=np.int32)
    (topk_rows_serial if serial else topk_rows)(output.flat(), output.row_offsets(), out_ids,
                                                output.is_dense, k, ids, scores)
    return ids, scores


def predict(model, data, k, sparse_inference=False):
    """Top-k per sample, in the data's own order even when it shuffles for training."""
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"The 'top_k' parameter of predict must be an int >= 1. Got {k!r} instead.")
    all_ids, all_scores = [], []
    if hasattr(data, "ordered"):
        data = data.ordered()
    for part, output in _outputs(model, data, sparse_inference):
        ids, scores = top_k(output, k, serial=part.batch_size == 1)
        all_ids.append(ids)
        all_scores.append(scores)
    if not all_ids:
        return np.zeros((0, k), dtype=np.int32), np.zeros((0, k), dtype=np.float32)
    return np.concatenate(all_ids), np.concatenate(all_scores)


def evaluate(model, data, metrics, sparse_inference=False, verbose=False):
    if isinstance(metrics, str):
        metrics = [metrics]
    accumulators = [make_metric(m) for m in metrics]
    if not accumulators:
        raise ValueError("The 'metrics' parameter of evaluate must name at least one metric.")
    k = max(m.k for m in accumulators)
    n_seen = 0
    total = getattr(data, "n_samples", None)
    with tqdm(total=total, unit="samples", disable=not verbose, desc="evaluate", leave=False) as bar:
        for part, output in _outputs(model, data, sparse_inference):
            if part.labels is None:
                raise ValueError("evaluate needs batches with labels.")
            ids, _ = top_k(output, k)
            lab = part.labels
            hits = np.empty(ids.shape, dtype=bool)
            label_hits(ids, lab.offsets, lab.ids, hits)
            for m in accumulators:
                m.update(ids, hits, lab, output)
            n_seen += part.batch_size
            bar.update(part.batch_size)
    if n_seen == 0:
        raise ValueError("evaluate was given no samples.")
    return {m.name: m.result() for m in accumulators}
