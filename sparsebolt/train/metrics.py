"""Metrics over predictions: precision@k, recall@k, categorical_accuracy, auc and neg_log_loss."""
from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np

from .._validation import _fail

# wider dense outputs are scored block by block, never materialised whole (so evaluation
# has no output values for them)
WIDE_OUTPUT = 4096

METRICS = ("precision@k", "recall@k", "categorical_accuracy", "auc", "neg_log_loss")
# the probability a label gets when the output holds none for it (a sparse output's
# inactive neuron) or rounds it to zero: the log stays finite
_MIN_PROBABILITY = 1e-12


class _TopKMetric:
    def __init__(self, name, k):
        self.name, self.k = name, k
        self.total, self.count = 0.0, 0

    def update(self, top_ids, hits, labels, output):
        n_labels = np.diff(labels.offsets)
        if labels.unknown is not None:  # labels without an id are labels the top k missed
            n_labels = n_labels + labels.unknown
        self.total += float(self._score(hits[:, :self.k], n_labels).sum())
        self.count += top_ids.shape[0]

    def result(self):
        return self.total / max(self.count, 1)


class Precision(_TopKMetric):
    def _score(self, hits, n_labels):
        return hits.sum(axis=1) / self.k


class Recall(_TopKMetric):
    def _score(self, hits, n_labels):
        return np.where(n_labels > 0, hits.sum(axis=1) / np.maximum(n_labels, 1), 0.0)


class Accuracy(_TopKMetric):
    """Whether the top prediction is a label of the sample."""

    def _score(self, hits, n_labels):
        return hits[:, 0].astype(np.float64)


class AUC:
    """Area under the ROC curve of a binary output: the single sigmoid neuron, or neuron 1
    of two softmax neurons (0 where a sparse output left it out); a sample is positive when
    neuron 1 (or 0 for one neuron) is among its labels."""

    k = 1

    def __init__(self):
        self.name = "auc"
        self.scores, self.truth = [], []

    def update(self, top_ids, hits, labels, output):
        if output.dim > 2:
            raise ValueError(f"The 'auc' metric needs a binary output (1 sigmoid or 2 softmax neurons). "
                             f"Got an output of {output.dim} neurons.")
        positive = output.dim - 1
        n_labels = np.diff(labels.offsets)
        truth = np.zeros(labels.batch_size, dtype=bool)
        truth[np.repeat(np.arange(labels.batch_size), n_labels)[labels.ids == positive]] = True
        # of two softmax neurons, a sample with neither label (a class the model never saw)
        # is neither positive nor negative; of one sigmoid neuron, no label is the negative
        kept = n_labels > 0 if output.dim == 2 else slice(None)
        self.scores.append(output.to_dense()[kept, positive].astype(np.float64))
        self.truth.append(truth[kept])

    def result(self):
        scores, truth = np.concatenate(self.scores), np.concatenate(self.truth)
        n_pos, n_neg = truth.sum(), (~truth).sum()
        if n_pos == 0 or n_neg == 0:
            warnings.warn(f"auc is undefined (NaN): the samples scored hold {n_pos} positive and {n_neg} negative "
                          f"labels; it needs both.", UserWarning, stacklevel=2)
            return float("nan")
        order = np.argsort(scores, kind="mergesort")
        ranks = np.empty(len(scores))
        sorted_scores = scores[order]
        # average ranks over ties
        uniq, start, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
        avg = start + (counts + 1) / 2.0
        ranks[order] = np.repeat(avg, counts)
        return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class NegativeLogLoss:
    """Minus the cross-entropy of a softmax output: a sample's labels share its target mass
    as in training (1/k each of k labels, or in proportion to their values), so the value
    is ``mean over samples of sum_l w_l log p_l``. Negative so that higher is better, as
    early stopping expects; a label the output has no value for (an inactive neuron of a
    sparse output) counts as probability 1e-12. Samples without labels (or whose label
    values do not sum above 0, which training skips too) are left out; NaN when none is
    left. Needs the output's values: an output wider than ``WIDE_OUTPUT`` (4,096) neurons,
    evaluated by its top k alone, has none here."""

    k = 1
    name = "neg_log_loss"

    def __init__(self, slope=1.0, shift=0.0):
        # a two-class softmax's probabilities with their log-odds a * odds + c: the
        # UniversalDeepTransformer's Platt calibration
        self.slope, self.shift = slope, shift
        self.total, self.count = 0.0, 0

    def fresh(self):
        return NegativeLogLoss(self.slope, self.shift)

    def update(self, top_ids, hits, labels, output):
        if output is None:
            raise ValueError("The 'neg_log_loss' metric needs the output's probabilities, which dense "
                             f"evaluation of an output wider than {WIDE_OUTPUT:,} neurons does not compute; "
                             "evaluate it with sparse_inference=True or monitor another metric.")
        n_labels = np.diff(labels.offsets)
        rows = np.repeat(np.arange(labels.batch_size), n_labels)
        if (self.slope, self.shift) != (1.0, 0.0):
            p = _scaled_log_odds(output, self.slope, self.shift)[rows, labels.ids]
        elif output.is_dense:
            p = output.vals[rows, labels.ids].astype(np.float64)
        else:
            # (row, id) keys of the output's entries, sorted, looked up for each label
            keys = np.repeat(np.arange(output.batch_size, dtype=np.int64), np.diff(output.offsets)) * output.dim
            keys += output.ids
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            wanted = rows.astype(np.int64) * output.dim + labels.ids
            p = np.zeros(wanted.shape[0])
            if keys.shape[0]:
                at = np.minimum(np.searchsorted(keys, wanted), keys.shape[0] - 1)
                hit = keys[at] == wanted
                p[hit] = output.vals[order[at[hit]]]
        weights = labels.vals.astype(np.float64)
        totals = np.bincount(rows, weights=weights, minlength=labels.batch_size)
        counted = totals > 0
        weights = np.where(counted[rows], weights / np.where(counted, totals, 1.0)[rows], 0.0)
        self.total += float((weights * np.log(np.maximum(p, _MIN_PROBABILITY))).sum())
        self.count += int(counted.sum())

    def result(self):
        return self.total / self.count if self.count else float("nan")


def _scaled_log_odds(output, slope, shift):
    """float64[B, 2]: a two-neuron softmax output's probabilities with their log-odds
    ``slope * odds + shift`` (a neuron a sparse output left out counts as probability 0)."""
    if output.dim != 2:
        raise ValueError(f"A calibrated 'neg_log_loss' needs an output of 2 neurons. Got {output.dim} instead.")
    # float32's smallest normal, not _MIN_PROBABILITY: log-odds up to 87 survive, as the logits'
    p = np.maximum(output.to_dense().astype(np.float64), float(np.finfo(np.float32).tiny))
    odds = slope * (np.log(p[:, 1]) - np.log(p[:, 0])) + shift
    with np.errstate(over="ignore"):  # a saturated row's exp is inf, its probability 0 as it should be
        return np.stack([1.0 / (1.0 + np.exp(odds)), 1.0 / (1.0 + np.exp(-odds))], axis=1)


class NegativeMAE:
    """Minus the mean absolute error of a numerical target predicted through its outputs:
    ``predicted`` maps a batch's dense outputs (float64[n, k]) to their values, ``truth`` its
    Labels to the rows' own (``automl.featurize.TargetBins.predicted`` and ``values_of``).
    Negative so that higher is better, as early stopping expects."""

    k = 1
    name = "neg_mae"

    def __init__(self, predicted, truth):
        self.predicted, self.truth = predicted, truth
        self.total, self.count = 0.0, 0

    def fresh(self):
        return NegativeMAE(self.predicted, self.truth)

    def update(self, top_ids, hits, labels, output):
        predicted, truth = self.predicted(output.to_dense().astype(np.float64)), self.truth(labels)
        self.total += float(np.abs(predicted - truth).sum())
        self.count += len(truth)

    def result(self):
        return -self.total / max(self.count, 1)


_PATTERN = re.compile(r"^(precision|recall)@([1-9][0-9]*)$")


def make_metric(name: str | Any, owner: str = "make_metric", parameter: str = "name") -> Any:
    """A fresh metric accumulator from its name.

    Parameters
    ----------
    name : str or metric object
        'precision@k', 'recall@k' (k a positive integer), 'categorical_accuracy', 'auc',
        'neg_log_loss' (minus a softmax output's cross-entropy), or an accumulator with a
        ``fresh()`` method, which makes the new one.
    owner : str, default='make_metric'
        The function whose parameter gave ``name``, for the error message.
    parameter : str, default='name'
        That parameter's name, for the error message.

    Returns
    -------
    metric object
        An accumulator with ``name``, ``k``, ``update(top_ids, hits, labels, output)`` and
        ``result()``.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if hasattr(name, "fresh"):
        return name.fresh()
    if isinstance(name, str):
        m = _PATTERN.match(name)
        if m:
            return (Precision if m.group(1) == "precision" else Recall)(name, int(m.group(2)))
        if name == "categorical_accuracy":
            return Accuracy(name, 1)
        if name == "auc":
            return AUC()
        if name == "neg_log_loss":
            return NegativeLogLoss()
    listed = ", ".join(repr(x) for x in METRICS)
    _fail(owner, parameter, f"one of {listed} (k a positive integer, e.g. 'precision@5')", name)
