"""Evaluation and prediction over batches, bounded in memory for very wide outputs."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
from tqdm.auto import tqdm

from .._threads import pool_slow
from .._validation import _fail, check_flag, check_int
from ..data.batch import Batch
from ..kernels.topk import label_hits, shifted_label_hits, topk_rows, topk_rows_serial
from ..nn.layers.base import Context
from ..data.value import Value
from .metrics import WIDE_OUTPUT, NegativeLogLoss, make_metric

if TYPE_CHECKING:
    from ..nn.model import Model


def _as_batches(data):
    if isinstance(data, Batch):
        return [data]
    if isinstance(data, Value):
        return [Batch((data,))]
    return data


def _predictions(model, data, k, sparse_inference):
    """Yield (batch, top ids int32[B, k], scores float32[B, k], output Value or None)."""
    layer = model.output.layer
    for batch in _as_batches(data):
        model.check_batch(batch)
        serial = batch.batch_size == 1 or pool_slow()  # as Model.train_step: a busy pool waits longer than it saves
        if sparse_inference or layer.dim <= WIDE_OUTPUT:
            output = model.output_values(batch, sparse_inference=sparse_inference, serial=serial)
            ids, scores = top_k(output, k, serial=serial)
            yield batch, ids, scores, output
            continue
        values = model.forward(batch, Context(serial=serial), skip_output=True)
        ids, scores = layer.dense_top_k(values[model.output.inputs[0]], k)
        if ids.shape[1] < k:
            pad = k - ids.shape[1]
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        yield batch, ids, scores, None


def top_k(output: Value, k: int, serial: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(ids int32[B, k], scores float32[B, k]) of each row's ``k`` highest outputs, best first."""
    n = output.batch_size
    ids = np.empty((n, k), dtype=np.int32)
    scores = np.empty((n, k), dtype=np.float32)
    out_ids = output.ids if output.ids is not None else np.zeros(0, dtype=np.int32)
    (topk_rows_serial if serial else topk_rows)(output.flat(), output.row_offsets(), out_ids,
                                                output.is_dense, k, ids, scores)
    return ids, scores


def shifted_hits(scores: np.ndarray, prior: np.ndarray, weights: np.ndarray, labels: Any, k: int) -> np.ndarray:
    """int32[n, len(weights)]: how many of each row's ``labels`` (Labels) rank in its top
    ``k`` of ``scores + weight * prior`` (float32[n, n_classes], and [n_classes] or a row
    each [n, n_classes]), for each weight (float32)."""
    counts = np.empty((scores.shape[0], weights.shape[0]), dtype=np.int32)
    shifted_label_hits(scores, np.broadcast_to(prior, scores.shape), weights, labels.offsets, labels.ids, k, counts)
    return counts


def predict(model: Model, data: Any, k: int, sparse_inference: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per sample, in the data's own order even when it shuffles for training."""
    k = check_int("predict", "top_k", k, 1)
    sparse_inference = check_flag("predict", "sparse_inference", sparse_inference)
    all_ids, all_scores = [], []
    if hasattr(data, "ordered"):
        data = data.ordered()
    for _, ids, scores, _ in _predictions(model, data, k, sparse_inference):
        all_ids.append(ids)
        all_scores.append(scores)
    if not all_ids:
        return np.zeros((0, k), dtype=np.int32), np.zeros((0, k), dtype=np.float32)
    return np.concatenate(all_ids), np.concatenate(all_scores)


def update_metrics(accumulators: list[Any], ids: np.ndarray, labels: Any, output: Value | None) -> None:
    """Feed one batch to metric accumulators (``make_metric``'s): its top ids (int32[B, k],
    best first), Labels and output (None where a wide output was not materialised)."""
    hits = np.empty(ids.shape, dtype=bool)
    label_hits(ids, labels.offsets, labels.ids, hits)
    for m in accumulators:
        m.update(ids, hits, labels, output)


def check_output_metrics(owner: str, model: Model, accumulators: list[Any]) -> None:
    """Refuse a metric ``model``'s output cannot give: 'neg_log_loss' is a softmax output's
    cross-entropy (of a sigmoid output it scored the positive labels alone, and 'always
    positive' scored a perfect 0)."""
    layer = model.output.layer
    activation = getattr(layer, "activation", None)
    if activation != "softmax" and any(isinstance(m, NegativeLogLoss) for m in accumulators):
        raise ValueError(f"The 'metrics' parameter of {owner} must name metrics output '{layer.name}' gives: "
                         f"'neg_log_loss' is the cross-entropy of a softmax output, and its activation is "
                         f"{activation!r} (follow 'auc' or 'precision@k'). Got 'neg_log_loss' instead.")


def evaluate(model: Model, data: Any, metrics: str | Iterable[Any], sparse_inference: bool = False,
             verbose: bool = False) -> dict[str, float]:
    """{metric name: value} over labeled batches (``Model.evaluate`` on batches already made)."""
    sparse_inference = check_flag("evaluate", "sparse_inference", sparse_inference)
    verbose = check_flag("evaluate", "verbose", verbose)
    if isinstance(metrics, str):
        metrics = [metrics]
    accumulators = [make_metric(m, "evaluate", "metrics") for m in metrics]
    if not accumulators:
        _fail("evaluate", "metrics", "at least one metric", metrics)
    check_output_metrics("evaluate", model, accumulators)
    k = max(m.k for m in accumulators)
    n_seen = 0
    total = getattr(data, "n_samples", None)
    with tqdm(total=total, unit="samples", disable=not verbose, desc="evaluate", leave=False) as bar:
        for part, ids, _, output in _predictions(model, data, k, sparse_inference):
            if part.labels is None:
                raise ValueError("The 'data' parameter of evaluate must give batches with labels. Got a batch without "
                                 "labels instead.")
            update_metrics(accumulators, ids, part.labels, output)
            n_seen += part.batch_size
            bar.update(part.batch_size)
    if n_seen == 0:
        raise ValueError("The 'data' parameter of evaluate must hold at least one sample. Got none instead.")
    return {m.name: m.result() for m in accumulators}
