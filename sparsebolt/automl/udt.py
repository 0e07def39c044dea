"""UniversalDeepTransformer: name the columns' types and the target, hand over a CSV (or a
DataFrame, or row dicts), get a trained sparse model.

The model is BOLT's default: hashed features -> Embedding(embedding_dim, relu) ->
FullyConnected(n_classes, softmax or sigmoid), the output's sparsity chosen from the class
count unless given (a short text alone of more than 20,000 classes: a linear Embedding).
"""
from __future__ import annotations

import contextvars
import copy
import hashlib
import itertools
import numbers
import os
import re
import warnings
from typing import TYPE_CHECKING, Any, Sequence, Union

import numpy as np
from tqdm.auto import tqdm

from .._state import json_misfit, prefixed, take, take_vector, unprefixed
from .._validation import _fail, check_choice, check_flag, check_float, check_int, check_type
from ..data.batch import Batch, Labels, SparseDataset, csr_value, slice_rows
from ..data.csr import concat_csr
from ..data.csv import describe, is_dataframe, is_missing_marker, read_chunks
from ..data.split import stratified_order
from ..data.value import Value
from ..io import ModelFileError, save_model_file
from ..lsh.config import default_sparsity
from ..lsh.index import PROBES
from ..nn.layers.base import Context
from ..nn import Dropout, Embedding, FullyConnected, Input, Model, NumericEmbedding
from ..nn.parameter import sparse_zeros
from ..nn.model import load_model_file
from ..train.augment import can_pin
from ..train.callbacks import AverageWeights, EarlyStopping
from ..train.inference import shifted_hits, update_metrics
from ..train.inference import top_k as top_outputs
from ..train.metrics import WIDE_OUTPUT, Accuracy, NegativeLogLoss, NegativeMAE, Precision, Recall, make_metric
from ..train.schedules import Replay, WarmupDecay, WarmupPlateau
from . import types as T
from ._persist import featurizer_state, set_featurizer_state
from .featurize import Featurizer, LabelMap, category, parse_times, warn_unknown_labels
from .neighbors import HISTORY_WEIGHTS, ItemNeighbors, blended_probability, user_sets

if TYPE_CHECKING:
    import pandas as pd

    from ..train.callbacks import Callback, History
    from ..train.schedules import Schedule

# what train, evaluate and the other methods over many rows read: a CSV file with a header,
# a pandas DataFrame or a list of {column: value} dicts
Rows = Union[str, "os.PathLike[str]", "pd.DataFrame", Sequence[dict]]

# rows read and featurized at a time
CHUNK_ROWS = 65_536
# rows a training step; a small training set in memory takes smaller steps, at least
# MIN_STEPS of them an epoch: with 256 rows a step, 124 training rows made one Adam step an
# epoch and early stopping ended training after a few (docs/automl.md, "Small data sets")
BATCH_SIZE, MIN_BATCH_SIZE, MIN_STEPS = 256, 16, 32
# the initial frequencies' spread (NumericEmbedding's sigma, cycles over a number's range)
# grows with the training rows, one a SIGMA_ROWS rows, from 1 to the layer's default 10: a
# few thousand rows learn smoother functions of their numbers better (docs/automl.md, "The
# numbers' frequency spread": breast cancer's AUC 0.9824 -> 0.9884 at one a 1,000 rows; one
# a 4,000 rows lifted the AUC on 11 of 12 tables it was never tuned on, +0.34 points on
# average, for -0.02 to -0.16 on adult)
SIGMA_ROWS, MIN_SIGMA, MAX_SIGMA = 4000, 1.0, 10.0
# the parts of a number's place its smooth function tells apart, a sigma: the largest of 16
# frequencies drawn from N(0, sigma) is about 2 sigma cycles, 4 sigma half-cycles (40 at 10,
# the bins of untied values). Exact values and pairs must beat that, not the bins the function replaces:
# 2,000 rows (sigma 1) resolve 4 parts, and catsup's and yogurt's 30-70 prices, one a bin,
# got tokens (docs/automl.md, "What the smooth function tells apart")
PERIODIC_REGIONS_PER_SIGMA = 4
# set while from_config makes a model whose network it builds itself, or never (load)
_DEFER_BUILD = contextvars.ContextVar("sparsebolt_udt_defer_build", default=False)
# a training CSV up to this size is parsed once, not once a pass (its parsed rows take a few
# times its size while train runs)
READ_ONCE_BYTES = 64 << 20
# embedding_dim=None: the hidden width by the target. Measured under automatic training
# (docs/automl.md): with at most 100 classes (binary, regression bins) 128 wide lost nothing
# against 512 at about a third of the fit time; MovieLens' 1,682 items lost 2 points of
# recall@10 at 128
FEW_CLASSES_WIDTH, WIDTH = 128, 512
# two classes: 64 wide lost nothing against 128 on clothing recommended and adult, an epoch
# of bigrams in two thirds of the time; a long text with character windows and bigrams (five
# times the features a row) neither, on clothing's 20 classes, at 0.7 of the time
BINARY_WIDTH = LONG_TEXT_WIDTH = 64
# a long text alone of more than FEW_CLASSES classes, to types.LONG_TEXT_CLASSES: 128 beat 64
# by 0.4 to 2.0 points at 150 to 300 WordNet hypernyms or their parents (docs/automl.md)
LONG_TEXT_MORE_CLASSES_WIDTH = 128
# a long text alone of at most FEW_CLASSES classes and LONG_TEXT_MANY_ROWS training rows or
# more: 128 wide with dropout after the hidden layer (LONG_TEXT_DROPOUT) gained 0.3-1.0 points
# over 4 seeds on the four such sets measured (WordNet glosses -> lexname, 50 and 100 grand-
# parents, clothing's 20 classes), the broad classes up to 0.75 points of LinearSVC, at 1.2-1.7
# times the fit; on fewer rows the default is already 0.5-3.7 points above LinearSVC and its
# fit time would pass twice LinearSVC's (docs/automl.md, "Dropout for broad classes")
LONG_TEXT_MANY_ROWS, LONG_TEXT_DROPOUT = 10_000, 0.5
# a short text alone of more than EXTREME_CLASSES classes (where the output's default sparsity
# reaches its floor): EXTREME_WIDTH wide and linear, a query's embedding the sum of its
# features' (as fastText's), EXTREME_BATCH rows a step from the first, the rate peaking at
# EXTREME_LEARNING_RATE. wordnet_search (117,659 synsets): P@1 / R@10 0.2238 / 0.4944 in 487 s
# -> 0.2310 / 0.5228 in 224 s; at a constant rate for 4 to 6 epochs 1-2.5 points lower
# either way, with ReLU at 256 or 512 too (docs/automl.md, "An output of 117,659 classes")
EXTREME_CLASSES, EXTREME_WIDTH, EXTREME_BATCH, EXTREME_LEARNING_RATE = 20_000, 256, 2048, 5e-3
# a numerical target (its bins as classes): 96 matched 128 (adult age over seeds 0-5, MAE /
# RMSE 7.3694 / 9.6160 against 7.3629 / 9.6176; clothing's rating and MovieLens' rating as a
# number within 0.2% either way) with 13-18% less time a step (docs/automl.md)
NUMERICAL_TARGET_WIDTH = 96
# automatic training (``train`` without ``epochs`` / ``learning_rate``); a narrow hidden layer
# measured best at a higher rate, text bigrams (twice the features a row) at a lower one,
# unless character windows come with them (fewer epochs at the higher rate, no loss)
AUTO_LEARNING_RATE, NARROW_LEARNING_RATE, GRAMS_LEARNING_RATE = 2e-3, 3e-3, 1e-3
# a numerical target's cumulative bins, narrow: against 3e-3, MAE 1-4% lower on the four
# tables of 4,000 rows or more (adult age 7.3 epochs instead of 11.2), within 1% on the three
# of about 400 (docs/automl.md, "The rate of a numerical target")
NUMERICAL_TARGET_LEARNING_RATE = 4.5e-3
AUTO_MAX_WARMUP = 500
# a plateau that would halve the rate below this share of its peak (a fourth halving) stops
# automatic training: epochs at a sixteenth of the rate and less bought little. On the 52
# typed tables (3 splits) mean AUC -0.002 points (13 up, 16 down) in 7% fewer epochs; the
# README's sets the same but wordnet_2k +0.05; 23 runs on WordNet glosses at 10-1,412
# classes the same but 50 hypernyms' seed 0 (-0.18, 18 -> 13 epochs). A fourth stopped
# sooner at a cost: tables -0.024 (titanic -0.88) (docs/automl.md, "A floor under the rate")
AUTO_MIN_RATE_SCALE = 0.125
# a sparse output learns from sampled classes: its own labels, the LSH candidates and other
# rows' labels, which name a frequent class far more often than a rare one, so a frequent
# class is pushed down more than a full softmax would push it and ranks too low when every
# class is scored. Automatic training adds w * log(training count + 1) to each class's bias
# (logit adjustment), w the weight of these that does best on the held-out rows
PRIOR_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
# a dense softmax output of more than two classes, one a row, over text ranks a frequent
# class too high: its bias takes this weight of log(training count + 1), fixed (held-out rows
# of a few hundred chose it worse). On text of 10-300 classes (20 sets, seeds 0-1) accuracy
# +0.21 points on average, 29 runs up, 11 down, the worst -0.29; clothing's class_name +0.4
# to +0.8; 100,000 short texts -0.2. Not for typed tables without text, whose epochs are
# averaged: 4 multi-class tables -0.33 (docs/automl.md, "Rare classes of a dense output")
DENSE_PRIOR_WEIGHT = -0.25
# output values a block where rows are scored densely outside the model's own top-k
SCORE_BLOCK_VALUES = 1 << 24
# held-out rows x classes x weights the choice of a next-item target's item neighbors may
# score (20,000 items: 2,684 of its 8,377 held-out rows; MovieLens and 5,000 items: all)
NEIGHBOR_SCORE_BUDGET = 1 << 29
# a user's latest items a row sees: 50 against 20 raised MovieLens' recall@10 over seeds 0-2
# from 0.1771 to 0.1801 and every generated kind of history (+0.06 to +1.8 points) at no
# measurable fit time (MovieLens 10.4-11.1 s against 9.3-14.6 in turn; docs/automl.md)
HISTORY_LENGTH = 50
# automatic training doubles the batch on a plateau instead of halving the rate, while a step
# takes at most this many rows and an epoch at least MIN_STEPS steps (docs/automl.md, "Growing
# the batch")
MAX_GROWN_BATCH = 2048
# epochs without improvement before automatic training stops: fewer once the validation
# set is large enough that its metric moves little by chance. With 2 at 5,000 rows,
# MovieLens, its rating task, wordnet_graph and the short texts kept the same epoch (11 of 12
# runs, the other a better one) an epoch sooner; 2 on the 2,000 classes (1,812 held-out
# rows) stopped seed 1 before a late gain
AUTO_PATIENCE, SHORT_PATIENCE, LARGE_VALIDATION_ROWS = 3, 2, 5_000
# a numerical target's held-out error: epochs without a lower one before the rate halves
# (the batch grows first) and before training stops. It moves a little each epoch, up or
# down by chance, and halving at the first epoch without a new best (as for a metric of
# 1/n steps) cut the rate while the error still fell: 2 and 4 instead of 1 and 2 lowered the
# MAE of diamonds 2.9%, wages 2.3%, Boston 8.8% (computers +0.3%, housing +1.0%, adult age
# -0.6% / +0.2% on seeds 0 / 1) in about 1.5 times the epochs (docs/automl.md, "When to stop")
NUMERICAL_PLATEAU_PATIENCE, NUMERICAL_PATIENCE = 2, 4
# the held-out log-loss (nats a row) an epoch must gain to win a tie of the stopping metric:
# on a separable set the loss falls for ever while the metric stays at 1.0
TIE_MIN_DELTA = 1e-3
AUTO_SAMPLE_BUDGET = 3_000_000
AUTO_MIN_EPOCHS, AUTO_MAX_EPOCHS = 3, 30
# below this many rows nothing is held out: a fixed number of epochs instead
MIN_AUTO_ROWS, AUTO_SMALL_EPOCHS = 50, 10
VALIDATION_FRACTION, VALIDATION_MAX_ROWS = 0.1, 10_000
# a binary target's held-out AUC ranks epochs as well over 2,500 rows as over more, and the
# rest train (adult income, seeds 0-5: 0.8675 / 0.9283 -> 0.8686 / 0.9288 holding out 2,500
# rows instead of 3,907; AutoGluon's default holdout is 2,500 rows from 25,000 to 250,000),
# but more while the rarer class would have fewer held-out rows than this: AUC and the
# calibration count its rows (a rare class keeps the tenth, as measured before)
BINARY_MAX_HELD_OUT, BINARY_MIN_HELD_MINORITY = 2_500, 250
# where the network then trains again on every row (REFIT_MAX_TABLE_ROWS), a typed table of a
# binary or numerical target holds out a fifth of its rows, up to 1,000, if that is more: the
# held-out rows only choose the epochs, and more of them choose by less chance. The 52 binary
# tables of benchmarks/automl_tabular.py, 4 splits: AUC +0.11 points, accuracy +0.13 (29 and
# 27 up, 17 and 14 down); the four numerical tables it takes, 6 splits: MAE -0.97% (wages
# -2.3%, housing -1.1%, Boston -0.9%, computers +0.4%); no fit time. Tables of 3-6 classes lost
# 0.07 points (3 of 8 up) and keep their tenth (docs/automl.md, "How many rows to hold out")
REFIT_TABLE_HELD_OUT_FRACTION, REFIT_TABLE_MAX_HELD_OUT = 0.2, 1_000
# a target of more classes (without temporal tracking) holds out a fortieth of the rows, but
# the tenth up to 1,000 rows, and at most 2,500 rows, or 10 a class where that is more (a
# held-out precision@1 over many classes is noisier): each row held out is one a class does
# not learn from (wordnet_2k, 9 rows a class: +1.3 to +1.6 points against a tenth; glosses
# of 50-1,412 classes, the generated 1,700 and clothing's class_name: +0.2 on average against
# a twentieth or a tenth; docs/automl.md, "How many rows to hold out")
CLASSES_FRACTION, CLASSES_MIN_HELD_OUT, CLASSES_MAX_HELD_OUT, CLASSES_HELD_OUT_PER_CLASS = 0.025, 1_000, 2_500, 10
# where the held-out rows are at least this share of the rows (at most 20,000 rows; a binary
# target's 50,000), a softmax output over text is trained anew on every row for the epochs
# the held-out rows kept, each at its rate and batch (sb.train.Replay): the held-out rows
# were a tenth or a twentieth of what the classes learn from. Text of 10-500 classes, seeds
# 0-3: +0.33 points over 68 runs of dense outputs, +0.30 on 500 hypernyms, +1.3 on
# wordnet_2k's 2,000 classes (sparse); binary, 12 sets, seeds 0-1: AUC +0.14 (22 of 24 up);
# at 1.3-2x the fit (docs/automl.md, "Training again on every row")
REFIT_HELD_OUT_SHARE = 0.05
# nor above this many rows: only a binary target with a rare class holds out a twentieth or
# more of more rows (up to 10,000 of 200,000), which no measured set did, at twice the fit
REFIT_MAX_ROWS = 50_000
# a typed table (no text, no graph) trains again too, up to this many rows, every epoch of
# the first training replayed and the same ones averaged: the 52 binary tables of
# benchmarks/automl_tabular.py (up to 19,435 training rows) AUC +0.18 points (40 up, 10
# down, 3 splits), MAE -0.5% over the four numerical tables it takes, accuracy +0.75 on
# eight tables of 3-6 classes of benchmarks/automl_multiclass.py (17 of 24 runs up; wine
# and digits lower); adult income's 32,561 rows the same over seeds 0-3 at 1.8x the fit
# (docs/automl.md, "Training again on every row")
REFIT_MAX_TABLE_ROWS = 20_000
# a typed table's binary target of under BATCH_SIZE * MIN_STEPS rows (whose steps hold fewer
# than BATCH_SIZE rows) trains again in steps of this many times the rows, at the square root
# of it times the rate, over the same rows of warm-up: half the steps, whose cost is mostly
# fixed. The 52 binary tables of benchmarks/automl_tabular.py (3 splits): fit within 2x of
# HistGradientBoosting's on 38 instead of 22, AUC -0.13 points (of the +0.36 training again
# gains), at or above HistGradientBoosting's on 43 either way. Larger tables' steps cost by
# their rows (doctor's fit 7.9x -> 6.9x HistGradientBoosting's) and lost more (budgetfood
# -0.57, vietnami -0.77 points); numerical targets and tables of more classes gain nothing
# from it (docs/automl.md, "Training again on every row")
REFIT_TABLE_BATCH_GROWTH = 2
# multiply-adds of dense evaluation per epoch that the held-out slice may cost
VALIDATION_BUDGET = 2e11
_OWNER = "UniversalDeepTransformer"
# a word of a text column, as explain leaves it out
_WORD = re.compile(r"\w+")
# a forgotten class's bias: its softmax output is 0, its score never in a top k of named classes
_FORGOTTEN_BIAS = np.float32(-1e30)
# training rows whose hidden representation (and label) a trained model keeps, for
# introduce_label to fit a new class's neuron against
REFERENCE_ROWS = 2048
# a forgotten class's kept rows count as the classes that answer them now, at this weight:
# a class introduced later does not take them all (at 0: 91% of three forgotten classes'
# rows), and a class introduced again from its rows still finds them (at 1: 48%)
FORGOTTEN_ROW_WEIGHT = 0.25
# training rows whose values of each column other than text ``explain`` puts in a row's
# place in turn (a value left empty is one the network rarely saw: it scored a column of
# noise as a reason); a streamed file's are drawn from its first rows
BACKGROUND_ROWS, BACKGROUND_SCAN_ROWS = 32, 4096
# Newton steps of that fit at most (it converges in about 10); the multiply-adds of scoring
# the kept rows over every class it may take, and the rows it keeps at least
NEURON_FIT_STEPS, FIT_BUDGET, MIN_FIT_ROWS = 50, 2e9, 256
# the model file's manifest entry that holds the columns and the featurizer
AUTOML_KEY = "automl"


def _batch_size(n_rows, most=BATCH_SIZE):
    """Rows a training step of ``n_rows`` training rows held in memory, at most ``most``."""
    return int(np.clip(n_rows // MIN_STEPS, MIN_BATCH_SIZE, most))


def _logistic(x):
    """1 / (1 + exp(-x)), without exp's overflow warning for large -x."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


_UNPLAIN = object()


def _plain(v):
    """``v`` as a model file's manifest holds it (str, finite int or float, bool, None),
    else ``_UNPLAIN``."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):  # float(): a longdouble's item() is a longdouble
        v = float(v)
        return v if np.isfinite(v) else _UNPLAIN
    return _UNPLAIN


def _checked_background(background, columns):
    """A model file's ``background`` ({input column: up to ``BACKGROUND_ROWS`` values}) as
    it is; a ValueError naming what is wrong otherwise."""
    if not isinstance(background, dict):
        raise ValueError(f"its explain background must be a mapping of column -> values, not {background!r:.80}")
    for c, values in background.items():
        if c not in columns:
            raise ValueError(f"its explain background names {c!r}, not an input column ({columns})")
        if not isinstance(values, list) or not 0 < len(values) <= BACKGROUND_ROWS or \
                any(v is not None and not isinstance(v, (str, int, float)) for v in values):
            raise ValueError(f"its explain background of {c!r} must be 1 to {BACKGROUND_ROWS} values (str, number, "
                             f"bool or null), not {values!r:.80}")
    return background


def _sigma(data):
    """The periodic embedding's initial frequency spread for training ``data``: by its rows
    where they are at hand (rows in memory, a CSV read once), else ``MAX_SIGMA`` (a CSV read
    a chunk at a time)."""
    if isinstance(data, _ReadRows):
        n_rows = sum(len(chunk) for chunk in data.chunks)
    elif isinstance(data, (str, os.PathLike)) or not hasattr(data, "__len__"):
        return MAX_SIGMA
    else:  # a DataFrame, row dicts
        n_rows = len(data)
    return float(np.clip(n_rows / SIGMA_ROWS, MIN_SIGMA, MAX_SIGMA))


def _platt(margins, targets, fit_slope):
    """(a, c) minimising the log loss of sigmoid(a * margins + c) against ``targets`` (float64
    in (0, 1)) with a ridge of 1e-3 a row towards (1, 0), by Newton steps halved until the
    loss falls (a full step can overshoot where a few rows are far apart); a stays 1 unless
    ``fit_slope``. Fitted on the margins over their spread (the same loss and ridge), so
    that margins in the thousands (saturated outputs) start near the optimum's scale, not a
    million halvings off."""
    scale = float(np.std(margins)) if fit_slope else 1.0
    scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    X = np.stack([margins / scale, np.ones_like(margins)], axis=1)
    free = [0, 1] if fit_slope else [1]
    # the ridge of the unscaled slope, on the scaled one
    prior, ridge = np.array([scale, 0.0]), 1e-3 * len(margins) * np.array([1.0 / scale ** 2, 1.0])

    def loss(theta):
        z = X @ theta
        return float((np.logaddexp(0.0, z) - targets * z).sum() + 0.5 * (ridge * (theta - prior) ** 2).sum())

    theta = np.array([1.0 if fit_slope else scale, 0.0])
    current = loss(theta)
    for _ in range(100):
        p = _logistic(X @ theta)
        grad = (X.T @ (p - targets) + ridge * (theta - prior))[free]
        hess = ((X * (p * (1 - p))[:, None]).T @ X + np.diag(ridge))[np.ix_(free, free)]
        step, size = np.linalg.solve(hess, grad), 1.0
        while size > 1e-6:
            trial = theta.copy()
            trial[free] -= size * step
            if loss(trial) <= current:
                break
            size /= 2
        else:
            break
        theta, current = trial, loss(trial)
        if np.abs(size * step).max() < 1e-9:
            break
    return float(theta[0] / scale), float(theta[1])


def _batch_growth(batch_size, n_rows, chunk_rows=None):
    """How many times ``batch_size`` automatic training may grow a step of ``n_rows``
    training rows to (a power of 2); streamed in chunks of ``chunk_rows``, a batch never
    spans two."""
    most = min(MAX_GROWN_BATCH, n_rows // MIN_STEPS, chunk_rows or n_rows)
    growth = 1
    while 2 * growth * batch_size <= most:
        growth *= 2
    return growth


def _copy_network(model, rows=None):
    """(a copy of ``model`` to train anew, its ``_SharedRows``). A parameter that steps write
    a few rows at a time (``Parameter.lazy``) is shared with ``model`` where ``rows`` (the
    ``Model.rows_trained_by`` of every row either network trains on) names the only rows
    training can move: those rows are kept aside, not the whole table (a 100,000 x 64 table's
    copy took 11 ms of a small table's 150-200 ms fit). Another is copied into
    ``sparse_zeros`` memory, which refuses huge pages: where the system makes them by default,
    a plain copy of a 51 MB table would fault them in, 0.12-0.17 s measured."""
    memo, shared = {}, []
    for p in model.parameters():
        if not p.lazy:
            continue
        take = rows.get(p.name) if rows else None
        if take is None:
            memo[id(p.value)] = sparse_zeros(p.value.shape, p.value.dtype)
            np.copyto(memo[id(p.value)], p.value)
        else:
            memo[id(p.value)] = p.value
            shared.append((p.value, take, p.value[take]))
    return copy.deepcopy(model, memo), _SharedRows(shared)


class _SharedRows:
    """The table rows a network and its untrained copy share (``_copy_network``): ``start``
    keeps the trained network's rows aside and puts the untrained values back, for the copy to
    train; ``undo`` puts the trained network's back, where the copy's training is given up."""

    def __init__(self, tables):
        self.tables, self.trained = tables, []

    def start(self):
        self.trained = [values[take] for values, take, _ in self.tables]
        for values, take, untrained in self.tables:
            values[take] = untrained

    def undo(self):
        for (values, take, _), trained in zip(self.tables, self.trained):
            values[take] = trained


def _rows_digest(data):
    """A digest of an in-memory data set's rows, features and labels (32 hex digits): the
    same rows featurized the same way give the same one."""
    h = hashlib.blake2b(digest_size=16)
    for a in (data.features.offsets, data.features.ids, data.features.vals, data.labels.offsets, data.labels.ids,
              data.labels.vals):
        h.update(np.int64(a.shape[0]).tobytes())  # the lengths too: no two splits of one stream alike
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _label_counts(labels, dim):
    """float64[dim]: each output's summed label weight over ``labels`` (a Labels)."""
    return np.bincount(labels.ids, weights=labels.vals, minlength=dim)[:dim]


def _named_labels(labels, named, ids, scores, k):
    """The first ``k`` (label, score) of a row's ranked output ``ids`` that name a class (an
    id below ``named``, not forgotten, not -1), stopping there: the ranking holds every
    unnamed and forgotten neuron besides."""
    out = []
    for i, s in zip(np.asarray(ids).tolist(), np.asarray(scores).tolist()):
        if 0 <= i < named:
            label = labels.name(i)
            if label is not None:
                out.append((label, s))
                if len(out) == k:
                    break
    return out


def _stacked(parts, k):
    """(ids int32[n, k], scores float32[n, k]) of blocks' (ids, scores) one above the other."""
    if not parts:
        return np.zeros((0, k), dtype=np.int32), np.zeros((0, k), dtype=np.float32)
    return np.concatenate([ids for ids, _ in parts]), np.concatenate([scores for _, scores in parts])


def _count_shifted_hits(found, z, shift, weights, labels):
    """Feed top-k metrics ``found`` (one a weight) the hits of ``z + weight * shift`` (logits
    float32[n, C]; shift [C] or [n, C]) for each of ``weights`` on rows of ``labels``."""
    k = found[0].k
    hits = shifted_hits(z, shift, weights, labels, k)
    for i, m in enumerate(found):  # a top-k metric reads its hits' count a row
        m.update(hits[:, i], np.arange(k) < hits[:, i, None], labels, None)


def _check_source(rows, owner, name, empty_ok=False):
    """Refuse ``rows``, the parameter ``name`` of ``owner``, when ``read_chunks`` reads no rows
    from it, and an empty list or DataFrame unless ``empty_ok`` (its own errors name no method
    nor parameter)."""
    frame = is_dataframe(rows)
    if not isinstance(rows, (str, os.PathLike, list, tuple, _ReadRows)) and not frame:
        raise TypeError(f"The '{name}' parameter of {owner} must be a CSV file path, a pandas DataFrame or a list of "
                        f"row dicts. Got {type(rows).__name__} instead.")
    if not empty_ok and (frame or isinstance(rows, (list, tuple))) and len(rows) == 0:
        raise ValueError(f"The '{name}' parameter of {owner} must hold at least one row. Got an empty "
                         f"{type(rows).__name__} instead.")


def _refuse_row_dict(rows, owner, name):
    """Refuse one row dict given as ``rows``, the parameter ``name`` of ``owner``, which takes
    several."""
    if isinstance(rows, dict):
        hint = "use predict for one row dict" if owner == "predict_batch" else "put one row dict in a list"
        raise TypeError(f"The '{name}' parameter of {owner} must be a list of row dicts or a DataFrame ({hint}). "
                        f"Got dict instead.")


class _ReadRows:
    """The chunks of a training source, read once and kept while an in-memory ``train``
    passes over them (``UniversalDeepTransformer._read_once``)."""

    def __init__(self, chunks):
        self.chunks = chunks


class _ChunkStream:
    """Batches of a source featurized chunk by chunk as they are read (a file larger than
    memory trains; each epoch reads the file again). Shuffles within a chunk. Rows of the
    first chunk can be held out for validation (``hold_out``). After a whole pass,
    ``label_counts`` holds each output's weighted count over the rows trained on, for the
    class prior, with no pass of its own over the file."""

    def __init__(self, udt, source, mode, batch_size, chunk_rows, shuffle, seed):
        self.udt, self.source, self.mode = udt, source, mode
        self.batch_size, self.chunk_rows, self.shuffle = batch_size, chunk_rows, shuffle
        self._rng = np.random.default_rng(seed)
        self._kept = None
        self.n_samples = None
        self.label_counts = None

    def _datasets(self):
        unknown = 0
        for chunk in self.udt._chunks(self.source, with_target=True, chunk_rows=self.chunk_rows):
            offsets, ids, vals, labels, n_unknown = self.udt.featurizer.transform(chunk, self.mode)
            unknown += n_unknown
            yield SparseDataset(offsets, ids, vals, labels, self.udt.input_dim, batch_size=self.batch_size,
                                shuffle=self.shuffle, seed=int(self._rng.integers(2**31)))
        warn_unknown_labels(describe(self.source), self.udt.target, unknown)

    def hold_out(self, held, kept):
        """Take the first chunk's rows ``held`` (sorted indices) out of training for good,
        keeping its rows ``kept``; returns them as a SparseDataset for validation."""
        first = next(iter(self._datasets()))
        self._kept = kept
        return first.subset(held, batch_size=2048, shuffle=False)

    def __iter__(self):
        dim = self.udt.model.output.layer.dim
        # for the class prior of training; an evaluation's stream counts nothing
        counts = np.zeros(dim) if self.mode == "train" and self.label_counts is None else None
        for i, data in enumerate(self._datasets()):
            if i == 0 and self._kept is not None:
                data = data.subset(self._kept, seed=int(self._rng.integers(2**31)))
            if counts is not None:
                counts += _label_counts(data.labels, dim)
            yield from data
        if counts is not None:
            self.label_counts = counts


class UniversalDeepTransformer:
    """A sparse model over typed columns (after BOLT's UDT).

    Parameters
    ----------
    data_types : dict of str to ColumnType, str or dict
        {column name: sb.types.<type>(...), a type name or a type's config dict}; columns
        of a file that are not named here are ignored.
    target : str
        The column to predict (categorical; its ``n_classes`` sets the output width, or the
        training data's distinct labels do when it is not given).
    temporal_tracking : dict of str to list of str, or None, default=None
        {user column: [item columns]}; each row also sees the items the same user had
        strictly before the row's time (the one date column), as files stream. The user
        column is not the target (a row to predict has none). Training and
        evaluation record their rows' interactions; prediction does not. Where the target
        is a tracked item column (the next item), automatic training may also rank by
        item-item co-occurrence and leave a user's past items out of the ranking, as its
        held-out rows choose (``neighbors``; docs/automl.md, "Items bought together").
    history_length : int, default=50
        How many of a user's latest items a row sees (``HISTORY_LENGTH``).
    input_dim : int, default=100_000
        Width of the hashed feature space.
    embedding_dim : int or None, default=None
        Width of the hidden (embedding) layer; None chooses it (``hidden_dim``): without
        temporal tracking 64 for two classes, or for 3 to 100 with a long text as the only
        input ('auto' tokenizing's words, character 4-grams and bigrams; 128 for 101 to
        300 such classes, and for 3 to 100 trained on 10,000 rows or more, with dropout
        after the layer, which a width given goes without), 256 for a short text alone of
        more than 20,000 (the layer linear whether or not a width is given, trained in steps
        of at most 2,048 rows at 5e-3), 96 for a numerical target, 128 for at most 100, else
        512.
    sparsity : float in (0, 1] or None, default=None
        Output sparsity; None chooses it from the class count as BOLT's UDT does
        (``sb.lsh.default_sparsity``: dense below 450 classes, then 0.2, 0.1, 0.05,
        0.02, 0.01 below 900, 1,800, 4,000, 10,000, 20,000 classes, else 0.005).
    output_activation : {'softmax', 'sigmoid'}, default='softmax'
        'softmax' (categorical cross-entropy; labels of a multi-label row share its target)
        or 'sigmoid' (binary cross-entropy per class). A numerical target's outputs are
        sigmoids of its cumulative bins whichever is given (``featurize.TargetBins``).
    cross_column_pairgrams : bool, default=False
        Also hash each pair of categorical and numerical tokens.
    delimiter : str, default=','
        The CSV field separator.
    seed : int, default=0
        Seeds hashing salts, weights and LSH.

    Attributes
    ----------
    model : Model or None
        The network, built once the class count is known (from ``n_classes`` of the
        target's type, else at the first ``train``).
    featurizer : Featurizer
        Turns rows into hashed features and labels into output ids.
    calibration : tuple of (float, float)
        Platt's (a, c) for ``predict_proba`` of a binary target, fitted at the end of each
        ``train`` that validates: on the rows it holds out (neither ``epochs`` nor
        ``validation`` given, and enough rows) or on ``validation`` (also with ``epochs``).
        The fit moves the second class's output bias by c / a and keeps (a, 0.0), so
        ``predict``, ``evaluate`` and serving decide by the calibrated probability. (1.0,
        0.0) before, after a ``train`` that validates on nothing, and after ``forget`` or
        ``introduce_label``, which change the neurons it was fitted to.
    neighbors : ItemNeighbors or None
        For a next-item target (the target a tracked item column), what automatic training
        chose on its held-out rows (in memory or streamed): each item's most similar items by the
        users who had both, the ``weight`` on their summed similarity to a user's past
        items added to the log-probabilities, and whether the past items are left out of
        the ranking (``exclude``: where users do not come back to an item). predict,
        evaluate and serving rank by it, dense or sparse inference. None where neither
        helps, and after any other ``train``.

    Raises
    ------
    ValueError
        For a bad parameter: an empty ``data_types``, a ``target`` that is not one of its
        categorical or numerical columns, more than one node_id column, temporal tracking
        without exactly one date column.

    Examples
    --------
    >>> import sparsebolt as sb
    >>> udt = sb.UniversalDeepTransformer(
    ...     data_types={"title": sb.types.text(), "category": sb.types.categorical()},
    ...     target="category")
    >>> udt.train("train.csv", epochs=5)  # doctest: +SKIP
    >>> udt.predict({"title": "red running shoes"}, top_k=3)  # doctest: +SKIP
    """

    def __init__(self, data_types: dict[str, T.ColumnType | str | dict], target: str,
                 temporal_tracking: dict[str, list[str] | str] | None = None, history_length: int = HISTORY_LENGTH,
                 input_dim: int = 100_000, embedding_dim: int | None = None, sparsity: float | None = None,
                 output_activation: str = "softmax", cross_column_pairgrams: bool = False, delimiter: str = ",",
                 seed: int = 0) -> None:
        check_type(_OWNER, "data_types", data_types, dict, "a non-empty dict of column name -> sb.types")
        if not data_types or not all(isinstance(c, str) and c for c in data_types):
            _fail(_OWNER, "data_types", "a non-empty dict of column name -> sb.types", data_types)
        self.data_types = {c: T.resolve(_OWNER, c, t) for c, t in data_types.items()}
        if target not in self.data_types:
            _fail(_OWNER, "target", f"one of the columns of data_types {list(self.data_types)}", target)
        if not isinstance(self.data_types[target], (T.Categorical, T.Numerical)):
            _fail(_OWNER, "target", f"a categorical or numerical column (column {target!r} is "
                  f"{self.data_types[target]!r})", target)
        self.target = target
        kinds = [t.kind for c, t in self.data_types.items() if c != target]
        if kinds.count("node_id") > 1:
            _fail(_OWNER, "data_types", "a dict with at most one node_id column",
                  {c: "node_id" for c, t in self.data_types.items() if t.kind == "node_id"})
        self.temporal_tracking = self._check_tracking(temporal_tracking)
        self.history_length = check_int(_OWNER, "history_length", history_length, 1)
        self.input_dim = check_int(_OWNER, "input_dim", input_dim, 1, 2**31 - 1)
        self.embedding_dim = None if embedding_dim is None else check_int(_OWNER, "embedding_dim", embedding_dim, 1)
        self.sparsity = None if sparsity is None else check_float(_OWNER, "sparsity", sparsity, 0.0, 1.0, low_open=True)
        self.output_activation = check_choice(_OWNER, "output_activation", output_activation, ("softmax", "sigmoid"))
        if not isinstance(cross_column_pairgrams, (bool, np.bool_)):
            _fail(_OWNER, "cross_column_pairgrams", "True or False", cross_column_pairgrams)
        self.cross_column_pairgrams = bool(cross_column_pairgrams)
        if not (isinstance(delimiter, str) and len(delimiter) == 1):
            _fail(_OWNER, "delimiter", "a single character", delimiter)
        self.delimiter = delimiter
        self.seed = check_int(_OWNER, "seed", seed, 0)
        self.featurizer = Featurizer(self.data_types, target, self.input_dim, self.temporal_tracking,
                                     self.history_length, self.cross_column_pairgrams, self.seed)
        n_places = len(self.featurizer.periodic_columns())
        if self.input_dim <= n_places:  # the places take the last ids; tokens need at least one
            _fail(_OWNER, "input_dim", f"an int greater than its number of periodic numerical columns ({n_places})",
                  input_dim)
        self.model = None
        # the rows the running train read the target of (_read_labels), which the width may follow
        self._training_rows = None
        # the mean hidden representation of the training rows (set by train)
        self.center = self.reference = None
        # {column: BACKGROUND_ROWS training values}, those explain compares a row's with (set by train)
        self.background = None
        # a binary target's probability calibration (a, c), fitted on held-out rows by train
        self.calibration = (1.0, 0.0)
        # a next-item target's item-item co-occurrence beside the network (ItemNeighbors), chosen by train
        self.neighbors = None
        # float32[outputs when added]: what the last automatic train added to the output biases
        # (_adjust_for_prior), taken out again before the next trains
        self.prior_shift = None
        # the digest of every row the last automatic train trained on, the held-out ones too
        # (trained again on every row): a later train that holds out rows of the same rows warns
        self._refit_rows = None
        # a network built here (n_classes given) that nothing has trained or changed yet: train
        # builds it again if the text settings it decides change the width, or the training
        # rows the numbers' frequency spread
        self._untrained_build = False
        if self.featurizer.labels.n_classes is not None and not _DEFER_BUILD.get():
            self._build(MAX_SIGMA)

    def _check_tracking(self, tracking):
        if tracking is None:
            return {}
        expected = "None or a dict of user column -> list of item columns (categorical columns of data_types)"
        if not isinstance(tracking, dict):
            _fail(_OWNER, "temporal_tracking", expected, tracking)
        out = {}
        for user, items in tracking.items():
            items = [items] if isinstance(items, str) else items
            if not isinstance(items, (list, tuple)) or not items:
                _fail(_OWNER, "temporal_tracking", expected, tracking)
            for c in [user, *items]:
                if not isinstance(self.data_types.get(c), T.Categorical):
                    _fail(_OWNER, "temporal_tracking", expected + f"; {c!r} is not one", tracking)
            if user == self.target:  # a row to predict has no target, and its user keys its history
                _fail(_OWNER, "temporal_tracking", expected + f", the user column not the target {user!r}", tracking)
            out[user] = list(items)
        dates = [c for c, t in self.data_types.items() if t.kind == "date"]
        if out and len(dates) != 1:
            _fail(_OWNER, "temporal_tracking", f"None unless data_types has exactly one date column to order the "
                  f"rows (it has {dates})", tracking)
        return out

    # the network ------------------------------------------------------------------------------

    @property
    def n_classes(self) -> int:
        """The number of output neurons, the target's ``n_classes``, else the labels (or, for a
        numerical target, the bins) of the training data so far (0 before it)."""
        return self.featurizer.labels.size

    @property
    def output_sparsity(self) -> float:
        """The output layer's sparsity, ``sparsity`` or the one chosen from ``n_classes``."""
        return self.sparsity if self.sparsity is not None else default_sparsity(self.n_classes)

    @property
    def hidden_dim(self) -> int:
        """The hidden layer's width (the built network's, else ``embedding_dim``, else the
        one chosen from the target: without temporal tracking 64 for two classes or for 3
        to 100 with a long text as the only input (128 for 101 to 300, and for 3 to 100 on
        ``LONG_TEXT_MANY_ROWS`` training rows or more), 256 for a short text alone of more
        than ``EXTREME_CLASSES``, 96 for a numerical target, 128 for at most 100 classes,
        else 512)."""
        if self.model is not None:
            return self.model.layer("embedding").dim
        if self.embedding_dim is not None:
            return self.embedding_dim
        return self._auto_width()

    def _auto_width(self):
        if self.temporal_tracking:
            return WIDTH
        if self.featurizer.labels.binary:
            return BINARY_WIDTH
        if self._long_text:
            narrow = self.n_classes <= T.FEW_CLASSES and not self._long_text_dropout
            return LONG_TEXT_WIDTH if narrow else LONG_TEXT_MORE_CLASSES_WIDTH
        if self._extreme_text:
            return EXTREME_WIDTH
        if self.n_classes > T.FEW_CLASSES:
            return WIDTH
        return NUMERICAL_TARGET_WIDTH if self.regression else FEW_CLASSES_WIDTH

    @property
    def _long_text(self):
        """Whether the only input is a text with the long-text setting ('auto' tokenizing's
        choice for 3 to ``LONG_TEXT_CLASSES`` classes), for such a target: what was measured
        at ``LONG_TEXT_WIDTH`` (``LONG_TEXT_MORE_CLASSES_WIDTH`` above ``FEW_CLASSES``
        classes or with ``_long_text_dropout``) and ``NARROW_LEARNING_RATE``."""
        return (self.featurizer.text_alone_few_classes()
                and self.data_types[self.featurizer.text_columns[0]].long_text_setting)

    @property
    def _long_text_dropout(self):
        """Whether the long-text setting of at most ``FEW_CLASSES`` classes with the width
        chosen here (no ``embedding_dim``) trains on ``LONG_TEXT_MANY_ROWS`` rows or more
        (those the running ``train`` read the target of; outside a train unknown, taken as
        many): 128 wide with dropout after the hidden layer."""
        return (self.embedding_dim is None and self._long_text and self.n_classes <= T.FEW_CLASSES
                and (self._training_rows is None or self._training_rows >= LONG_TEXT_MANY_ROWS))

    @property
    def _extreme_text(self):
        """Whether the only input is a text with 'auto' tokenizing's short-text setting
        (``Text.short_text_setting``) and the target has more than
        ``EXTREME_CLASSES`` classes under a softmax: a linear hidden layer, ``EXTREME_WIDTH``
        wide unless ``embedding_dim`` is given, at most ``EXTREME_BATCH`` rows a step unless
        ``batch_size`` is given (an epoch in memory keeps ``MIN_STEPS``, a streamed step stays
        within a chunk), and ``EXTREME_LEARNING_RATE`` at its peak."""
        f = self.featurizer
        return (not self.temporal_tracking and self.output_activation == "softmax" and f.text_alone_many_classes()
                and self.n_classes > EXTREME_CLASSES and self.data_types[f.text_columns[0]].short_text_setting)

    @property
    def _extreme_steps(self):
        """Whether training takes ``_extreme_text``'s steps and rate: the rule holds and the
        network is its linear one (one built before, for an older file or for fewer classes
        than ``introduce_label`` has added since, keeps the steps and rate it was made for)."""
        return self._extreme_text and (self.model is None or self.model.layer("embedding").activation == "linear")

    @property
    def _hidden_activation(self):
        return "linear" if self._extreme_text else "relu"

    @property
    def _long_text_many_classes(self):
        """Whether the only input is a text with 'auto' tokenizing's setting for more than
        ``LONG_TEXT_CLASSES`` classes (the long-text setting with TF-IDF weights) and the
        hidden layer is wider than ``FEW_CLASSES_WIDTH``: what was measured at 2e-3 (as good
        as 1e-3 in fewer epochs: 1,000 WordNet hypernyms 0.6796 in 17.3 s against 0.6771 in
        20.8 s)."""
        f = self.featurizer
        if not f.text_alone_many_classes():
            return False
        t = self.data_types[f.text_columns[0]]
        return t.long_text_setting and t.weighting == "tfidf" and self.hidden_dim > FEW_CLASSES_WIDTH

    @property
    def _rebuildable(self):
        """Whether ``train`` may build the network anew (for its rows' sigma, or the width its
        text settings decide): the constructor, ``from_config`` or a failed ``train`` built it,
        and no step, the low-level API's included, has trained it since."""
        return self._untrained_build and self.model is not None and self.model.steps == 0

    @property
    def trained(self) -> bool:
        """Whether the network has been trained (by ``train``, or a step of the low-level API
        on ``model``): ``predict``, ``evaluate`` and the rest refuse one that has not."""
        return self.model is not None and not self._rebuildable

    @property
    def _one_label_classes(self):
        """Whether the output is a softmax over classes, one a row."""
        return (self.output_activation == "softmax" and not self.regression
                and self.data_types[self.target].delimiter is None)

    @property
    def _text_labels(self):
        """``_one_label_classes`` of a model with a text input and no next-item target: the
        outputs ``REFIT_HELD_OUT_SHARE`` was measured on."""
        f = self.featurizer
        return self._one_label_classes and bool(f.text_columns) and f.target_tracker() is None

    @property
    def _typed(self):
        """Whether the input is typed columns alone: no text, no graph, no next-item target
        (user histories of other columns may be there)."""
        f = self.featurizer
        return not (f.text_columns or f.node_column is not None or f.neighbor_columns or f.target_tracker())

    @property
    def _typed_classes(self):
        """A dense softmax of one class a row, at most ``WIDE_OUTPUT`` wide (whose held-out
        log-loss evaluation computes), over typed columns alone without user histories: the
        outputs whose automatic training stops on that log-loss (docs/automl.md, "When to
        stop")."""
        return (self._typed and not self.temporal_tracking and self._one_label_classes
                and self.output_sparsity >= 1.0 and self.n_classes <= WIDE_OUTPUT)

    @property
    def _most_refit_rows(self):
        """The most rows of which automatic training trains again on every row: ``REFIT_MAX_ROWS``
        for ``_text_labels``, ``REFIT_MAX_TABLE_ROWS`` for a dense output of a numerical
        target or of a softmax of one class a row over typed columns (no text, no graph, no
        next-item target), else 0 (the outputs the second training was not measured on)."""
        if self._text_labels:
            return REFIT_MAX_ROWS
        # measured on dense outputs only (a sparse one: 450 classes or more, or a sparsity given)
        one_class = self.regression or self._one_label_classes
        return REFIT_MAX_TABLE_ROWS if self._typed and one_class and self.output_sparsity >= 1.0 else 0

    @property
    def _dense_text_classes(self):
        """``_text_labels`` of more than two classes with a dense output: the outputs
        ``DENSE_PRIOR_WEIGHT`` was measured on."""
        return self._text_labels and not self._binary and self.output_sparsity >= 1.0

    def _build(self, sigma):
        """The network; ``sigma`` the numbers' initial frequency spread (``_sigma``)."""
        n_out = self.n_classes
        inp = Input(dim=self.input_dim, name="features")
        numbers = self.featurizer.periodic_features()
        if numbers:
            hidden = NumericEmbedding(self.hidden_dim, numbers, activation="relu", sigma=sigma, name="embedding")(inp)
        else:
            hidden = Embedding(self.hidden_dim, activation=self._hidden_activation, name="embedding")(inp)
            if self._long_text_dropout:
                hidden = Dropout(LONG_TEXT_DROPOUT, name="dropout")(hidden)
        activation = "sigmoid" if self._cumulative else self.output_activation
        out = FullyConnected(n_out, sparsity=self.output_sparsity, activation=activation, name="output")(hidden)
        loss = "categorical_cross_entropy" if activation == "softmax" else "binary_cross_entropy"
        self.model = Model(inp, out, loss=loss, seed=self.seed)
        self.prior_shift = self._refit_rows = None
        # until it trains: a train that fails first, like the constructor, leaves it to build anew
        self._untrained_build = True

    def summary(self) -> str:
        """The network's ``Model.summary()``, one line a layer (or a note that it is not
        built yet)."""
        return "model not built yet (the class count comes from the first training data)" \
            if self.model is None else self.model.summary()

    # data -------------------------------------------------------------------------------------

    def _chunks(self, source, with_target, chunk_rows=None, columns=None):
        if isinstance(source, _ReadRows):
            return iter(source.chunks)
        columns = columns or self.featurizer.columns(with_target)
        return read_chunks(source, columns, chunk_rows or CHUNK_ROWS, self.delimiter,
                           optional=self.featurizer.optional_columns())

    def _read_once(self, source):
        """A CSV file of at most ``READ_ONCE_BYTES``, parsed once for the passes of an
        in-memory ``train`` (its labels, graph nodes, row times, features); a larger file
        is parsed again each pass, one chunk at a time, never held whole as Python strings,
        and rows already in memory (a DataFrame, dicts) are not copied."""
        if not isinstance(source, (str, os.PathLike)) or not os.path.isfile(source):
            return source
        # a gzipped file holds several times its size in text
        if os.path.getsize(source) * (8 if os.fspath(source).endswith(".gz") else 1) > READ_ONCE_BYTES:
            return source
        return _ReadRows(list(self._chunks(source, with_target=True)))

    def _read_labels(self, data, source):
        """The training labels into the label map (at least two classes before the network is
        built from them; ``source`` names the data); on an error the map is left as it was.
        Returns the rows read (None for a numerical target's bins)."""
        labels = self.featurizer.labels
        saved = (list(labels.labels), dict(labels.index)) if isinstance(labels, LabelMap) else None
        try:
            def chunks():
                return self._chunks(data, with_target=True, columns=[self.target])

            if not isinstance(labels, LabelMap) and labels.centers is None:
                # a numerical target's bins and range from every training row, not the first chunk's
                rows = None  # not counted: only a class target's width follows them

                def values():
                    return (labels.values(c.columns[self.target], c) for c in chunks())

                labels.fit_chunks(values(), values, seed=self.seed)
            else:
                rows = 0
                for chunk in chunks():
                    labels.to_ids(chunk.columns[self.target], chunk, grow=True)
                    rows += len(chunk)
            if saved is not None and self.model is None and self.n_classes < 2:
                raise ValueError(f"The target column {self.target!r} of the training data ({source}) must have at "
                                 f"least two classes. Got {labels.labels}.")
            return rows
        except BaseException:
            if saved is not None:
                labels.labels, labels.index = saved
            elif self.model is None:  # bins fitted by this failed train: the next fits its own
                labels.edges = labels.centers = labels.bounds = None
            raise

    def _fit_row_statistics(self, data, chunk_rows):
        """Text idf and the bin edges of numbers and dates from every training row (streamed:
        one more pass over the file); from a single chunk, featurizing it for training fits
        them."""
        columns = self.featurizer.row_statistics_columns()
        if not columns:
            return
        chunks = self._chunks(data, with_target=False, chunk_rows=chunk_rows, columns=columns)
        first, second = next(chunks, None), next(chunks, None)
        if second is not None:
            self.featurizer.fit_row_statistics(itertools.chain([first, second], chunks))

    def _featurize(self, source, mode):
        """The whole source as (offsets, ids, vals, Labels)."""
        parts, labels, unknown = [], [], 0
        for chunk in self._chunks(source, with_target=mode != "predict"):
            offsets, ids, vals, labs, n_unknown = self.featurizer.transform(chunk, mode)
            parts.append((offsets, ids, vals))
            labels.append(labs)
            unknown += n_unknown
        if mode == "eval":
            warn_unknown_labels(describe(source), self.target, unknown)
        offsets, ids, vals = concat_csr(parts)
        labs = None
        if mode != "predict":
            loff, lids, lvals = concat_csr([(x.offsets, x.ids, x.vals) for x in labels])
            unknown = None
            if any(x.unknown is not None for x in labels):
                unknown = np.concatenate([np.zeros(x.batch_size, np.int32) if x.unknown is None else x.unknown
                                          for x in labels])
            labs = Labels(loff, lids, lvals, unknown)
        return offsets, ids, vals, labs

    def _dataset(self, source, mode, batch_size, shuffle=False):
        offsets, ids, vals, labels = self._featurize(source, mode)
        return SparseDataset(offsets, ids, vals, labels, self.input_dim, batch_size=batch_size, shuffle=shuffle,
                             seed=self.seed)

    def index_nodes(self, data: Rows) -> None:
        """Remember each row's graph node (its own features and its neighbors) so that rows
        naming it as a neighbor get its features. ``train`` and ``evaluate`` index their own
        data first; call this for nodes of other sources (e.g. unlabeled ones).

        Parameters
        ----------
        data : str, path-like, DataFrame or list of dict
            Rows with the node_id column and the input columns (the target may be absent).

        Raises
        ------
        ValueError
            When ``data_types`` has no node_id column, or for a row dict lacking a column
            while it holds a key outside ``data_types`` (a misspelt name).
        """
        if self.featurizer.node_column is None:
            raise ValueError(f"index_nodes needs a node_id column in the data_types of the {_OWNER}.")
        self._check_row_columns(data, "index_nodes", self.featurizer.columns(False))
        for chunk in self._chunks(data, with_target=False):
            self.featurizer.index_nodes(chunk)

    def update_history(self, data: Rows) -> None:
        """Record the interactions of the rows of ``data`` for temporal tracking, without
        training (e.g. new events before serving predictions).

        Parameters
        ----------
        data : str, path-like, DataFrame or list of dict
            Rows with the date column and the tracked user and item columns.

        Raises
        ------
        ValueError
            When the model has no ``temporal_tracking``, or for a row dict lacking one of
            those columns while it holds a key outside ``data_types`` (a misspelt name).
        """
        if not self.temporal_tracking:
            raise ValueError(f"update_history needs temporal_tracking in the {_OWNER}.")
        cols = [self.featurizer.time_column] + [c for u, items in self.temporal_tracking.items() for c in [u, *items]]
        cols = list(dict.fromkeys(cols))
        self._check_row_columns(data, "update_history", cols)
        for chunk in self._chunks(data, with_target=False, columns=cols):
            self.featurizer.record_interactions(chunk)

    # training and inference -------------------------------------------------------------------

    def train(self, data: Rows, epochs: int | None = None, learning_rate: float | Schedule | None = None,
              batch_size: int | None = None, validation: Rows | None = None, metrics: str | Sequence[str] = (),
              max_in_memory_rows: int | None = None, shuffle: bool = True, callbacks: Sequence[Callback] = (),
              verbose: bool = True, label_augmentation: bool = False, max_epochs: int | None = None,
              validation_metric: str | None = None) -> History:
        """Train on a CSV path, a pandas DataFrame or a list of row dicts.

        With no ``epochs`` the model decides how long to train: it holds out a validation slice
        of ``data`` (random rows, or the latest rows with temporal tracking; or uses
        ``validation`` when given), evaluates ``validation_metric`` after each epoch, stops once
        it has not improved for 3 epochs (2 when the validation set has 5,000 rows or more, 4
        when it follows a numerical target's error; at most ``max_epochs``, by default enough
        epochs for about 3M samples, within [3, 30]) or at the rate's floor (below), and keeps the
        weights of the best epoch. With no ``learning_rate`` the rate warms up linearly to 2e-3
        (3e-3 for a hidden layer of at most 128, 4.5e-3 for a numerical target's; 1e-3 when a
        text column hashes bigrams or pairgrams, except a long text with character windows as
        the only input: 3e-3 for 3 to 300 classes, 2e-3 for more, 512 wide with TF-IDF weights;
        5e-3 for a short text alone of more than 20,000 classes) over the first quarter epoch
        (at most 500 batches); whenever the validation metric fails to improve (a numerical
        target's error: for two epochs), a step's rows double (the batch size chosen here, while
        a step takes at most 2,048 rows and an epoch at least 32 steps), then the rate halves;
        the plateau that would
        halve it a fourth time (below ``AUTO_MIN_RATE_SCALE`` of the peak) ends automatic
        training. With ``epochs`` given: the plateau rule without that end when ``validation``
        is given, else cosine decay to a tenth over the epochs. Numbers given are used as they
        are (a constant rate; a ``sb.train.Schedule`` may be given instead). The first ``train``
        builds the network; its numbers' initial frequencies spread with the rows
        (``NumericEmbedding(sigma=rows / 4000)`` within [1, 10], 10 for a CSV read a chunk at a
        time). Automatic training ends by adding a weight of each class's log training count
        to its output bias (``History.prior_weight``): for a sparse softmax output the weight
        its held-out rows choose (it lifts frequent classes), for a dense one of more than two
        classes, one a row, with a text input and no next-item target, ``DENSE_PRIOR_WEIGHT``
        (-0.25: it lowers them). A softmax output of one class a row over a text input,
        without a next-item target or temporal tracking, whose held-out rows are at least
        ``REFIT_HELD_OUT_SHARE`` of the rows (in memory, on a network this train built, with
        no ``callbacks``), is first trained anew on every row for the epochs the held-out rows
        kept, each at its rate and batch (``History.refit_epochs``; ``sb.train.Replay``; a
        sparse output's weight and a binary target's calibration are fitted before, with the
        first training's network); so is a softmax output of one class a row or a numerical
        target over typed columns alone (no text, no graph, no next-item target) of up to
        ``REFIT_MAX_TABLE_ROWS`` rows, for every epoch the first training ran, keeping the same
        epochs' mean (``sb.train.AverageWeights``). An interrupt (Ctrl-C) during that second
        training keeps the first network, finishes it, and goes on up. Such a model has
        trained on its held-out rows: a later automatic ``train`` on the same rows (in the
        same order) holds out rows the network has seen, stops and calibrates on them, and
        warns (a ``RuntimeWarning``; rows shuffled or added are not recognized); give it
        ``validation`` rows it has not trained on, or new rows.

        Parameters
        ----------
        data : str, path-like, DataFrame or list of dict
            Labeled rows: a CSV file with a header, a DataFrame or {column: value} dicts.
            The first call's labels name the classes when the target has no ``n_classes``.
        epochs : int or None, default=None
            Passes over ``data``; None decides (see above).
        learning_rate : float, Schedule or None, default=None
            None: the automatic schedule above.
        batch_size : int or None, default=None
            Rows a training step; None: 256 (2,048 for a short text alone of more than
            20,000 classes, within a chunk when streamed), or fewer for a small training set
            held in memory, so that an epoch takes at least 32 steps (never under 16 rows a
            step); automatic training then doubles it on a plateau, up to 2,048 rows (see above).
        validation : str, path-like, DataFrame, list of dict or None, default=None
            Labeled rows evaluated after each epoch, instead of a held-out slice.
        metrics : str or sequence of str, default=()
            Metrics computed on the validation rows after each epoch (names as for
            ``evaluate``; none for a numerical target); the automatic stopping metric is
            added to them.
        max_in_memory_rows : int or None, default=None
            None featurizes the whole data once and keeps it in memory for all epochs; a
            number streams the data in chunks of that many rows, every epoch (the held-out
            slice, counted from all the rows, then comes from the first chunk, at most half
            of it: its latest rows with a time, else random ones).
        shuffle : bool, default=True
            Shuffle the training rows each epoch (within a chunk when streaming).
        callbacks : sequence of Callback, default=()
            Hooks into the training loop (see ``Model.train``).
        verbose : bool, default=True
            Show progress bars and epoch logs.
        label_augmentation : bool, default=False
            As in ``Model.train``: a sparse output's tables freeze from the second epoch and
            pin missed labels, for sparse inference. Off by default: the UDT predicts with
            dense inference, which it made worse (MovieLens recall@10 0.161 -> 0.111; dense
            P@1 on a 20K-class WordNet slice 0.081 -> 0.032). Instead, after training, a
            sparse output is readied for ``sparse_inference`` in one more pass (a streamed
            file is read once more; ``Model.prepare_sparse_inference``: wider tables, every
            training label pinned, half the training sparsity); the next ``train`` puts the
            training settings back.
        max_epochs : int or None, default=None
            The most epochs automatic stopping may train.
        validation_metric : str or None, default=None
            What automatic stopping follows; None: 'auc' for a binary target, 'recall@10'
            with temporal tracking, 'neg_log_loss' for a dense output of more classes over
            typed columns alone, else 'precision@1'; a numerical target takes None only
            (minus the held-out mean absolute error).

        Returns
        -------
        History
            The History of the epochs (with automatic stopping, ``history.best_epoch`` is
            the epoch whose weights were kept; without a text column or a graph, the mean
            of its weights and the later epochs' is kept, and ``history.averaged_epochs``
            says over how many).

        Raises
        ------
        ValueError
            For a bad parameter, an unknown metric, or rows that do not fit the columns.
        """
        if batch_size is not None:
            check_int("train", "batch_size", batch_size, 1)
        if epochs is not None:
            check_int("train", "epochs", epochs, 1)
        if max_epochs is not None:
            check_int("train", "max_epochs", max_epochs, 1)
        if max_in_memory_rows is not None:
            check_int("train", "max_in_memory_rows", max_in_memory_rows, 1)
        if validation_metric is not None:
            make_metric(validation_metric, "train", "validation_metric")
        for name, flag in (("shuffle", shuffle), ("verbose", verbose), ("label_augmentation", label_augmentation)):
            check_flag("train", name, flag)
        self._check_row_columns(data, "train")
        if validation is not None:
            self._check_row_columns(validation, "train", name="validation")
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        if self._cumulative:  # its outputs are no classes to rank or count
            if validation_metric is not None:
                _fail("train", "validation_metric", "None for a numerical target (its held-out mean absolute "
                      "error)", validation_metric)
            if metrics:
                _fail("train", "metrics", "empty for a numerical target (evaluate gives its 'mae' and 'rmse')",
                      metrics)
        args = (data, epochs, learning_rate, batch_size, validation, metrics, max_in_memory_rows, shuffle,
                callbacks, verbose, label_augmentation, max_epochs, validation_metric)
        built = self._rebuildable
        try:
            if self.model is not None and not built:
                return self._train(*args)
            # a first train that fails leaves the model as constructed: its labels, bins and 'auto'
            # choices are made again from the rows of the train that succeeds
            before = copy.deepcopy((self.data_types, self.featurizer))
            try:
                return self._train(*args)
            except Exception:  # not an interrupt (Ctrl-C), which keeps what was trained
                (self.data_types, self.featurizer), self.model = before, None
                self.prior_shift = None
                self._training_rows = None
                if built:  # as the constructor built it (n_classes given)
                    self._build(MAX_SIGMA)
                raise
        finally:
            self._training_rows = None  # this train's

    def _train(self, data, epochs, learning_rate, batch_size, validation, metrics, max_in_memory_rows, shuffle,
               callbacks, verbose, label_augmentation, max_epochs, validation_metric):
        source = describe(data)
        if max_in_memory_rows is None:
            data = self._read_once(data)
        labels = self.featurizer.labels
        if self.model is None:  # the labels first: the class count decides the width and 'auto' text settings
            self._training_rows = self._read_labels(data, source)
            if isinstance(labels, LabelMap) and labels.n_classes is None and len(labels.labels) == 2:
                # predict_proba's class is the second in sorted order ('1' of '0' and '1', 'yes' of 'no' and
                # 'yes'), as scikit-learn orders classes_, whichever the first row holds
                labels.sort()
        elif isinstance(labels, LabelMap):
            # a label the network has no output for stops the run here, before any row is featurized
            # (which records histories and grows vocabularies) or trained on
            labels.outputs = self.model.layer("output").dim
            self._training_rows = self._read_labels(data, source)
        if self.model is None:  # built by this train (from_config(build=False), say): its target means from these rows
            self.featurizer.forget_stats()
        text = any(self.data_types[c].undecided for c in self.featurizer.text_columns)
        first = None
        if text or self.featurizer.exact_undecided:
            # the first training chunk (not a validation set), before anything is featurized: the
            # width and the rate follow the text settings, the network's numbers the exact values
            first = next(self._chunks(data, with_target=True, chunk_rows=max_in_memory_rows))
            if text:
                self.featurizer.decide_text(first)
        auto = epochs is None
        holdout = auto and validation is None
        streamed = max_in_memory_rows is not None
        # the conditions of the second training on every row (``refit`` below, which adds those
        # of the rows) known before the rows are read: no fifth held out where none follows
        refits = (learning_rate is None and not callbacks and not self.temporal_tracking
                  and (self.model is None or self.model.steps == 0))
        # chosen before the exact values are decided, which the held-out rows' labels stay out of
        n_rows, held = self._held_out_rows(data, first, max_in_memory_rows, refits) if holdout else (None, None)
        self._fit_row_statistics(data, max_in_memory_rows)  # before the exact values' decision bins the numbers
        sigma = _sigma(data)
        if self.featurizer.exact_undecided:
            # on every row in memory (a file sorted by a number would otherwise decide on its
            # lowest values), on the first chunk of a stream
            chunks = [first] if streamed else self._chunks(data, with_target=True)
            held_out = None
            if held is not None:  # its indices count every row in memory, a stream's first chunk's
                held_out = np.zeros(len(first) if streamed else n_rows, dtype=bool)
                held_out[held[0]] = True
            # the means take ids of their own after the places: never a network's last token id
            room = self.input_dim > len(self.featurizer.periodic_columns()) + len(self.featurizer.exact_undecided)
            fresh = self.model is None or self._rebuildable  # else a network a step trained, kept as it is
            seen = sigma if fresh else getattr(self.model.layer("embedding"), "sigma", sigma)  # its own spread
            self.featurizer.decide_numbers(chunks, statistics=room and fresh, held_out=held_out,
                                           regions=int(np.ceil(PERIODIC_REGIONS_PER_SIGMA * seen)))
        if self._rebuildable and ((self.embedding_dim is None and self._auto_width() != self.hidden_dim)
                                  or self._long_text_dropout != (Dropout in map(type, self.model.layers))
                                  or self.model.layer("embedding").activation != self._hidden_activation
                                  or getattr(self.model.layer("embedding"), "sigma", sigma) != sigma
                                  or getattr(self.model.layer("embedding"), "features", [])
                                  != self.featurizer.periodic_features()):
            self.model = None  # built for other text settings, rows or numbers, and never trained
        if self.model is None:
            self._build(sigma)
            if isinstance(labels, LabelMap):
                labels.outputs = self.model.layer("output").dim
        else:
            self._training_tables()
            index = self.model.output.layer.index
            if index is not None:  # training places every class in the tables
                index.score_always(index.always, on=False)
        if self.featurizer.node_column is not None:
            self.index_nodes(data)
        val = every_row = None
        own_batch = batch_size is None  # only a batch size chosen here grows
        if not streamed:
            train_data = self._dataset(data, "train", batch_size or BATCH_SIZE, shuffle=shuffle)
            n_rows = train_data.n_samples
            n_val = 0 if held is None else held[0].shape[0]
            if batch_size is None:
                most = EXTREME_BATCH if self._extreme_steps else BATCH_SIZE
                batch_size = train_data.batch_size = _batch_size(n_rows - n_val, most)
            every_row = train_data
            if n_val:
                val = train_data.subset(held[0], batch_size=2048, shuffle=False)
                train_data = train_data.subset(held[1], seed=self.seed)
        else:
            batch_size = batch_size or (min(EXTREME_BATCH, max_in_memory_rows) if self._extreme_steps else BATCH_SIZE)
            train_data = _ChunkStream(self, data, "train", batch_size, max_in_memory_rows, shuffle, self.seed)
            if n_rows is None:  # counted once, for the epoch budget and the schedule
                n_rows = sum(len(c) for c in self._chunks(data, with_target=True, columns=[self.target]))
            n_val = 0
            if held is not None:
                val = train_data.hold_out(*held)
                n_rows -= val.n_samples
        if validation is not None:  # after the training data, whose labels name the classes
            if self.featurizer.node_column is not None:
                self.index_nodes(validation)
            val = self._dataset(validation, "eval", 2048)
            if not self.regression and val.n_samples and not np.diff(val.labels.offsets).any():
                raise ValueError(f"train: none of the {val.n_samples:,} validation rows holds a class the model knows "
                                 f"(their labels never came in training), so they cannot judge an epoch. Give "
                                 f"validation rows of the training classes.")
        refit = (auto and refits and validation is None and not streamed and val is not None
                 and n_val >= REFIT_HELD_OUT_SHARE * n_rows and n_rows <= self._most_refit_rows)
        # the digest of every row in memory: kept if they are all trained on below, or checked
        # against the last one's (whatever share a later train holds out of them, the network
        # trained on it)
        rows_digest = _rows_digest(every_row) if refit or (self._refit_rows is not None and val is not None
                                                           and validation is None and not streamed) else None
        if rows_digest is not None and rows_digest == self._refit_rows:
            warnings.warn(f"{_OWNER}.train: these are the rows the last train held out and then trained on too (it "
                          f"trained again on every row), so the rows it holds out now judge when to stop on rows the "
                          f"network has seen. Give validation rows it has not trained on, or new rows.",
                          RuntimeWarning, stacklevel=3)
        if not refit:  # not kept beside the rows trained on
            every_row = None
        # the network the second training starts from: this one as built (the same seed), copied
        # before it trains rather than drawn again (13-25 ms of a small table's 130-250 ms fit),
        # its input table's rows that either training can move
        untrained = _copy_network(self.model, self.model.rows_trained_by(every_row)) if refit else None
        callbacks = list(callbacks)
        tie_breaker = None
        watched = None
        if val is not None and (auto or learning_rate is None):
            monitor = watched = validation_metric or self._default_validation_metric(val)
            if monitor not in metrics:
                metrics.append(monitor)
            if self._loss_breaks_ties(monitor):
                if "neg_log_loss" not in metrics:
                    metrics.append("neg_log_loss")
                tie_breaker = "val_neg_log_loss"
            monitor = f"val_{getattr(monitor, 'name', monitor)}"
        steps = -(-n_rows // batch_size)
        # a numerical target's own error, not a top-k metric over its bins a user names
        continuous = self.regression and validation_metric is None
        if auto:
            if val is None:  # too few rows to hold any out
                epochs = max_epochs or AUTO_SMALL_EPOCHS
            else:
                epochs = max_epochs or int(np.clip(np.ceil(AUTO_SAMPLE_BUDGET / max(n_rows, 1)),
                                                   AUTO_MIN_EPOCHS, AUTO_MAX_EPOCHS))
                patience = NUMERICAL_PATIENCE if continuous else \
                    SHORT_PATIENCE if val.n_samples >= LARGE_VALIDATION_ROWS else AUTO_PATIENCE
                callbacks.append(EarlyStopping(monitor, patience=patience, tie_breaker=tie_breaker,
                                               tie_min_delta=TIE_MIN_DELTA, average=self._averages_epochs))
        if learning_rate is None:
            warmup = min(-(-steps // 4), AUTO_MAX_WARMUP)
            if val is not None:
                growth = _batch_growth(batch_size, n_rows - n_val, max_in_memory_rows) if own_batch else 1
                learning_rate = WarmupPlateau(self._auto_rate, warmup, monitor, factor=0.5,
                                              patience=NUMERICAL_PLATEAU_PATIENCE if continuous else 1,
                                              max_batch_growth=growth, tie_breaker=tie_breaker,
                                              tie_min_delta=TIE_MIN_DELTA,
                                              min_scale=AUTO_MIN_RATE_SCALE if auto else 0.0)
            else:
                learning_rate = WarmupDecay(self._auto_rate, warmup, epochs * steps)
        self._untrained_build = False
        self.neighbors = None
        removed = self._remove_prior_shift()
        try:
            history = self.model.train(train_data, epochs=epochs, learning_rate=learning_rate, validation=val,
                                       metrics=metrics, callbacks=callbacks, verbose=verbose,
                                       label_augmentation=label_augmentation)
        except BaseException:
            untrained = None  # not held by the traceback's frame
            raise
        chosen = calibration = interrupt = None
        if refit and history.best_epoch:
            if self._binary:  # fitted on the held-out rows before they are trained on
                calibration = self._fit_calibration(val)
            if self.model.output.layer.sparsity < 1.0:  # the held-out rows choose before they are trained on
                chosen = self._prior_weight(val, _label_counts(train_data.labels, self.model.output.layer.dim),
                                            watched)
            interrupt = self._refit(history, every_row, learning_rate, untrained, verbose, label_augmentation)
            if history.refit_epochs:
                train_data, self._refit_rows = every_row, rows_digest
        self.center, self.reference = self._mean_embedding(train_data)
        self.background = self._background(data, first)
        if val is not None and self._binary:
            self._decide_by_calibration(*(calibration or self._fit_calibration(val)))
        else:  # an earlier fit's slope would scale the new weights' margins
            self.calibration = (1.0, 0.0)
        if auto and val is not None:
            dim = self.model.output.layer.dim
            counts = train_data.label_counts if streamed else _label_counts(train_data.labels, dim)
            history.prior_weight = self._adjust_for_prior(val, counts, watched, chosen)
        elif removed is not None:  # nothing decided a shift again: the last one goes back
            self._add_prior_shift(removed)
        if auto and held is not None and self.featurizer.target_tracker() is not None:
            history.history_weight, history.history_excluded = self._choose_neighbors(data, held, val, watched)
        if can_pin(self.model):  # streamed: one more pass over the file
            self.model.prepare_sparse_inference(train_data, verbose=False)
        if interrupt is not None:
            raise interrupt
        return history

    def _refit(self, history, data, plateau, untrained, verbose, label_augmentation):
        """Train ``untrained`` (a copy of the network as this train built it, and the table
        rows it shares with the trained one: ``_copy_network``) on ``data``
        (every row, the held-out ones too) for the epochs of the automatic training
        ``history`` kept, each at the rate and batch growth ``plateau`` (its
        ``WarmupPlateau``) gave it (``REFIT_HELD_OUT_SHARE``); where
        that training kept the mean of its best epoch and the later ones, for every epoch it
        ran, keeping the same mean (``AverageWeights``); a small typed table's binary target in
        steps of ``REFIT_TABLE_BATCH_GROWTH`` times the rows. Sets ``history.refit_epochs`` (0
        where the training fails or its weights are not all finite, which keeps the first
        network with a warning) and, averaged, ``history.averaged_epochs``. An interrupt keeps
        the first network too, and is returned for ``train`` to raise once the model is
        finished (else None)."""
        # averaged, the first training's mean is of the epochs from the kept one to its last
        averaged = self._averages_epochs and history.averaged_epochs > 1
        epochs = len(history.epochs) if averaged else history.best_epoch
        callbacks = [AverageWeights(history.best_epoch)] if averaged else []
        first, shift = self.model, self.prior_shift
        if verbose:
            tqdm.write(f"training again on every row ({data.n_samples:,} rows, the held-out ones too) for {epochs} "
                       f"epochs" + (f", keeping the mean of epochs {history.best_epoch}-{epochs}" if averaged else ""))
        peak, warmup, settings = plateau.peak, plateau.warmup_steps, plateau.settings[:epochs]
        if self._typed and self._binary and data.n_samples < BATCH_SIZE * MIN_STEPS:
            k = REFIT_TABLE_BATCH_GROWTH
            peak, warmup, settings = peak * k ** 0.5, warmup // k, [(scale, k * growth) for scale, growth in settings]
        untrained, shared = untrained
        try:
            shared.start()
            self.model, self.prior_shift, self._refit_rows, self._untrained_build = untrained, None, None, False
            replay = Replay(peak, warmup, settings)
            self.model.train(data, epochs=epochs, learning_rate=replay, verbose=verbose,
                             label_augmentation=label_augmentation, callbacks=callbacks)
            failed = None if all(np.isfinite(p.value).all() for p in self.model.parameters()) else \
                "its weights are not all finite (training diverged)"
        except Exception as e:  # out of memory with both networks, say: the first one stands
            failed = f"{type(e).__name__}: {e}"
        except BaseException as e:  # an interrupt: the first network, not a part-trained one
            shared.undo()
            self.model, self.prior_shift, self._untrained_build = first, shift, False
            return e
        if failed is None:
            history.refit_epochs = epochs
            if averaged:
                history.averaged_epochs = callbacks[0].averaged_epochs
            return None
        warnings.warn(f"{_OWNER}.train: training again on every row failed ({failed}); the network trained on "
                      f"the rows not held out is kept.", RuntimeWarning, stacklevel=4)
        shared.undo()
        self.model, self.prior_shift, self._untrained_build = first, shift, False
        return None

    @property
    def _auto_rate(self):
        if self._extreme_steps:
            return EXTREME_LEARNING_RATE
        if self._long_text and self.hidden_dim <= FEW_CLASSES_WIDTH:
            return NARROW_LEARNING_RATE
        if self._long_text_many_classes:
            return AUTO_LEARNING_RATE
        if any(t.encoding in ("bigrams", "pairgrams") for t in self.data_types.values() if t.kind == "text"):
            return GRAMS_LEARNING_RATE
        if self.hidden_dim > FEW_CLASSES_WIDTH:
            return AUTO_LEARNING_RATE
        return NUMERICAL_TARGET_LEARNING_RATE if self._cumulative else NARROW_LEARNING_RATE

    def _training_tables(self):
        """Put back the output layer's training settings (autotuned tables at the training
        sparsity) if ``train`` last left them set for sparse inference."""
        layer = self.model.output.layer
        if layer.sampling is not None or layer.sparsity != self.output_sparsity:
            layer.sampling = None
            layer.set_sparsity(self.output_sparsity, keep_tables=False)

    @property
    def _averages_epochs(self):
        """Whether automatic training keeps the mean of its best epoch's weights and the later
        ones' (``EarlyStopping(average=True)``): for typed columns, with or without user
        histories, not for text or a graph. It raised AUC on 16 of 18 binary tables, lowered
        MAE on all five regression tables, raised MovieLens' recall@10 over seeds 0-5, and
        lowered accuracy on clothing's texts (docs/automl.md, "Averaging the last epochs")."""
        f = self.featurizer
        return not (f.text_columns or f.node_column is not None or f.neighbor_columns)

    @property
    def _binary(self):
        return not self.regression and self.n_classes == 2 and self.output_activation == "softmax"

    def _hidden(self, x):
        """float32[n, hidden_dim]: what the output layer sees for the rows of ``x``."""
        values = self.model.forward(Batch((x,)), Context(), skip_output=True)
        return values[self.model.output.inputs[0]].to_dense()

    def _logits(self, x):
        """float64[n, n_classes] output pre-activations of the rows of ``x``."""
        h = self._hidden(x).astype(np.float64)
        layer = self.model.output.layer
        return h @ layer.W.value.T.astype(np.float64) + layer.b.value

    def _fit_calibration(self, val):
        """(a, c) minimising the held-out rows' log loss of p = sigmoid(a (z1 - z0) + c)
        (Platt scaling): early stopping keeps the epoch that ranks best, whose
        probabilities are often over- or under-confident, or shifted. Newton steps on the
        two parameters, towards Platt's smoothed targets ((positives + 1) / (positives + 2)
        and 1 / (negatives + 2)) with a small ridge, so that a few separable rows keep them
        finite. Where the held-out rows rank against the model (a <= 0: a few rows, a rare
        class, a target the inputs barely tell), the slope stays 1 and the shift c alone is
        fitted: a negative slope would turn the model's ranking over."""
        margins, truth = [], []
        for batch in val:
            z = self._logits(batch.inputs[0])
            margins.append(z[:, 1] - z[:, 0])
            truth.append(np.array([1 in batch.labels.row(i) for i in range(batch.batch_size)]))
        m, y = np.concatenate(margins), np.concatenate(truth)
        positives = int(y.sum())
        if positives in (0, len(y)):
            return 1.0, 0.0
        t = np.where(y, (positives + 1) / (positives + 2), 1 / (len(y) - positives + 2))
        a, c = _platt(m, t, fit_slope=True)
        return (a, c) if a > 0 else _platt(m, t, fit_slope=False)

    def _decide_by_calibration(self, a, c):
        """Take Platt's (a, c) and move the second class's output bias by c / a, so that
        the larger output (what predict, evaluate and serving return) is the class whose
        calibrated probability passes 0.5; (a, 0) then gives the same probabilities.
        Stopping on AUC keeps an epoch that ranks best, often before its raw threshold
        settles (clothing recommended with bigrams: accuracy 0.9077 -> 0.9184, 3 seeds)."""
        if a > 0:
            self.model.output.layer.b.value[1] += np.float32(c / a)
            c = 0.0
        self.calibration = (a, c)

    def _held_out_logits(self, val):
        """Yield (first row, logits float32[n, n_classes], Labels) of the held-out rows
        ``val``, in blocks of at most ``SCORE_BLOCK_VALUES`` values."""
        layer = self.model.output.layer
        step = max(1, SCORE_BLOCK_VALUES // layer.dim)
        start = 0
        for batch in val:
            h, lab = self._hidden(batch.inputs[0]), batch.labels
            for lo in range(0, batch.batch_size, step):
                hi = min(lo + step, batch.batch_size)
                yield start + lo, h[lo:hi] @ layer.W.value.T + layer.b.value, lab.rows(lo, hi)
            start += batch.batch_size

    def _prior_weight(self, val, counts, metric):
        """The weight ``w`` of each class's log training count that ``_adjust_for_prior``
        adds to its output bias (``counts``: float64[outputs], ``_label_counts``; None:
        unknown, 0). For a sparse softmax output, which learns from sampled classes
        ("PRIOR_WEIGHTS" above), the one of ``PRIOR_WEIGHTS`` whose scores do best on the
        held-out rows ``val`` by ``metric`` (a top-k one; a tie keeps the smaller weight); for
        a dense one of more than two classes, one a row, a text input and no next-item target,
        ``DENSE_PRIOR_WEIGHT``; else 0."""
        if counts is None or self.regression or self._binary or self.output_activation != "softmax":
            return 0.0
        if self.model.output.layer.sparsity >= 1.0:
            return DENSE_PRIOR_WEIGHT if self._dense_text_classes else 0.0
        if not isinstance(make_metric(metric), (Precision, Recall, Accuracy)):
            return 0.0
        prior = np.log1p(counts).astype(np.float32)
        weights = np.asarray(PRIOR_WEIGHTS, dtype=np.float32)
        found = [make_metric(metric) for _ in PRIOR_WEIGHTS]
        for _, z, labels in self._held_out_logits(val):
            _count_shifted_hits(found, z, prior, weights, labels)
        return PRIOR_WEIGHTS[int(np.argmax([m.result() for m in found]))]

    def _adjust_for_prior(self, val, counts, metric, weight=None):
        """Add ``w * log(count + 1)`` to each class's output bias, ``count`` its rows trained
        on (``counts``), ``w`` the ``_prior_weight`` of ``val``, ``counts`` and ``metric``, or
        ``weight`` where given (a sparse output's, chosen already on the held-out rows, before
        the network was trained again on them). Returns the weight taken."""
        if counts is None:
            return 0.0
        # a weight is given only for a sparse output, chosen already by _prior_weight
        w = self._prior_weight(val, counts, metric) if weight is None else weight
        return self._shift_biases(w, np.log1p(counts).astype(np.float32))

    def _shift_biases(self, weight, prior):
        """Add ``weight * prior`` (float32[outputs]) to the output biases and keep it as
        ``prior_shift``; returns ``weight``."""
        if weight:
            self._add_prior_shift(np.float32(weight) * prior)
        return weight

    def _add_prior_shift(self, shift):
        """Add ``shift`` (float32[n], n at most the outputs) to the first n output biases and
        keep it as ``prior_shift``."""
        self.model.output.layer.b.value[:shift.shape[0]] += shift
        self.prior_shift = shift

    def _remove_prior_shift(self):
        """Take the last automatic train's ``prior_shift`` out of the output biases before
        training again: training starts from the biases it learnt, and the next automatic
        train's shift does not pile onto this one (three trains on clothing's class_name
        spread the biases 0.45 -> 0.95 -> 1.44, accuracy 0.6952 -> 0.6852 -> 0.6817). Returns
        what it took out (None if nothing), which a train with ``epochs`` given puts back."""
        if self.prior_shift is not None:
            b = self.model.output.layer.b.value
            n = min(b.shape[0], self.prior_shift.shape[0])  # introduce_label may have added outputs since
            b[:n] -= self.prior_shift[:n]
            removed, self.prior_shift = self.prior_shift[:n], None
            return removed
        return None

    def _choose_neighbors(self, data, held, val, metric):
        """For a next-item target: the weight of ``HISTORY_WEIGHTS`` on each item's summed
        similarity to the user's past items (``ItemNeighbors``), and whether to leave the past
        items out of the ranking, that do best on the held-out rows ``val`` (``held``: the
        rows held out and kept) by ``metric`` (a top-k one; a tie keeps the smaller weight and
        the past items in), scoring at most ``NEIGHBOR_SCORE_BUDGET`` outputs (rows spread
        over the held-out ones), and only without the past items where no held-out row's item
        is one its user had. The similarities it is chosen with come from the kept rows alone
        (a held-out row's own item would count with its user's other items); those the model
        keeps, from every interaction its histories hold; rows after those ``held`` covers are
        kept ones (streamed, the rows held out are of the first chunk). Returns (weight,
        excluded)."""
        if self.regression or self._binary or not isinstance(make_metric(metric), (Precision, Recall, Accuracy)):
            return 0.0, False
        f, layer = self.featurizer, self.model.output.layer
        user_col, time_col = f.target_tracker(), f.time_column
        users, items, secs, missing = [], [], [], []
        for chunk in self._chunks(data, with_target=True, columns=[user_col, self.target, time_col]):
            users += chunk.columns[user_col]
            items += chunk.columns[self.target]
            t, m = parse_times(time_col, self.data_types[time_col], chunk.columns[time_col], chunk)
            secs.append(t)
            missing.append(m)
        secs, missing = np.concatenate(secs), np.concatenate(missing)
        kept = [i for i in itertools.chain(held[1], range(held[0].size + held[1].size, len(users)))
                if users[i] is not None]
        user_codes = np.unique(np.array([category(users[i]) for i in kept], dtype=object), return_inverse=True)[1]
        chosen = self._item_neighbors(user_codes, [items[i] for i in kept])
        # rows spread over the held-out ones, as many as the scoring budget allows
        n_used = min(val.n_samples, max(1, NEIGHBOR_SCORE_BUDGET // (layer.dim * len(HISTORY_WEIGHTS))))
        used = np.unique(np.linspace(0, val.n_samples - 1, n_used).round().astype(np.int64))
        val = val.subset(used, batch_size=2048, shuffle=False)
        rows = held[0][used]
        past = f.past_labels([users[i] for i in rows], secs[rows], missing[rows])
        # where no held-out item is one its user had, leaving those out cannot rank one lower
        # (rows x classes flags: within the scoring budget; np.isin sorted the past items, 0.4 s on MovieLens)
        held_labels = val.labels
        had = np.zeros(rows.shape[0] * layer.dim, dtype=bool)
        had[np.repeat(np.arange(rows.shape[0]), np.diff(past[0])) * layer.dim + past[1]] = True
        come_back = had[np.repeat(np.arange(rows.shape[0]), np.diff(held_labels.offsets)) * layer.dim + held_labels.ids]
        ways = (False, True) if come_back.any() else (True,)
        weights = np.asarray(HISTORY_WEIGHTS, dtype=np.float32)
        found = [[make_metric(metric) for _ in HISTORY_WEIGHTS] for _ in ways]
        for start, z, labels in self._held_out_logits(val):
            block_offsets, (block,) = slice_rows(past[0], [past[1]], start, start + z.shape[0])
            similar = chosen.scores((block_offsets, block), layer.dim)
            for exclude, metrics in zip(ways, found):
                if exclude:
                    z[np.repeat(np.arange(z.shape[0]), np.diff(block_offsets)), block] = -np.inf
                _count_shifted_hits(metrics, z, similar, weights, labels)
        results = [m.result() for metrics in found for m in metrics]
        best = int(np.argmax(results))
        exclude, weight = ways[best // len(HISTORY_WEIGHTS)], HISTORY_WEIGHTS[best % len(HISTORY_WEIGHTS)]
        if weight or exclude:
            self.neighbors = self._fit_neighbors()
            self.neighbors.weight, self.neighbors.exclude = weight, exclude
        return weight, exclude

    def _fit_neighbors(self):
        """ItemNeighbors (weight 0, past items in) of every interaction the target's history
        holds, over the output's classes."""
        history = self.featurizer.histories[(self.featurizer.target_tracker(), self.target)]
        users, lengths, _, items = history.as_lists()
        return self._item_neighbors(np.repeat(np.arange(len(users)), lengths), items)

    def _item_neighbors(self, user_codes, values):
        """ItemNeighbors (weight 0, past items in) over the output's classes of rows of a user
        (``user_codes``: int[n]) and a target value each (``values``, its items)."""
        dim = self.model.output.layer.dim
        counts, classes = self._item_classes(values)
        return ItemNeighbors.fit(*user_sets(np.repeat(user_codes, counts), classes, dim), dim)

    def refresh_neighbors(self) -> None:
        """Work out the item neighbors' similarities again from every interaction the
        histories hold now: those ``update_history`` recorded since training, and items of
        classes ``introduce_label`` added, which had none. The weight and whether past items
        are left out stay as training chose them. It costs what the neighbors' fit in
        training did (about 0.15 s for MovieLens' 1,682 items and 90,000 interactions).

        Raises
        ------
        ValueError
            When the model has no item neighbors (``neighbors`` is None: automatic training
            of a next-item target did not choose them).
        """
        if self.neighbors is None:
            raise ValueError(f"refresh_neighbors needs item neighbors, which this {_OWNER} does not use "
                             f"(neighbors is None: automatic training of a next-item target chooses them).")
        weight, exclude = self.neighbors.weight, self.neighbors.exclude
        self.neighbors = self._fit_neighbors()
        self.neighbors.weight, self.neighbors.exclude = weight, exclude

    def _item_classes(self, values):
        """(counts int64[n], classes int64[counts.sum()]): the class ids of the items of each
        target value (one item, or several with a delimiter; -1 for an item that is no class),
        each distinct value worked out once."""
        distinct, place = np.unique(np.array(["" if v is None else str(v) for v in values], dtype=object),
                                    return_inverse=True)
        index = self.featurizer.labels.index
        per_value = [[index.get(item, -1) for item in self.featurizer._item_values(self.target, v)] for v in distinct]
        sizes = np.array([len(c) for c in per_value], dtype=np.int64)
        flat = np.array([c for cs in per_value for c in cs], dtype=np.int64)
        counts = sizes[place]
        ends = np.cumsum(counts)
        first = (np.cumsum(sizes) - sizes)[place]  # each row's value's first item in ``flat``
        take = np.repeat(first - (ends - counts), counts) + np.arange(ends[-1] if ends.size else 0)
        return counts, flat[take]

    def predict_proba(self, rows: pd.DataFrame | Sequence[dict]) -> np.ndarray:
        """For a binary target, the probability of each row's second class (the one with
        output id 1, ``featurizer.labels.name(1)``: the second of the two labels in sorted
        order, '1' of '0' and '1', 'yes' of 'no' and 'yes', 'True' of 'False' and 'True',
        unless ``n_classes`` was given): sigmoid(a (z1 - z0) + c) of the row's two logits,
        with Platt's (a, c) of ``self.calibration``, fitted by the last ``train`` on the rows
        it validated on (its held-out rows, or ``validation`` even with ``epochs`` given),
        else (1.0, 0.0) (also after ``forget`` or ``introduce_label``).

        Parameters
        ----------
        rows : DataFrame or list of dict
            Rows of input columns.

        Returns
        -------
        ndarray of shape (n_rows,)
            float64 probabilities.

        Raises
        ------
        RuntimeError
            Before ``train``.
        ValueError
            When the target is not binary (2 classes, softmax).
        """
        self._require_model("predict_proba")
        if not self._binary:
            raise ValueError(f"predict_proba is for a binary target (2 classes, softmax); this one has "
                             f"{self.n_classes} classes{' (numerical)' if self.regression else ''}.")
        rows = self._rows_source(rows, "predict_proba")
        if self._no_rows(rows):
            return np.zeros(0)
        out = []
        for chunk in self._chunks(rows, with_target=False):
            offsets, ids, vals, _, _ = self.featurizer.transform(chunk, "predict")
            out.append(self._calibrated(csr_value(self.input_dim, offsets, ids, vals)))
        return np.concatenate(out)

    def _calibrated(self, x):
        """float64[n]: the calibrated probability of the second class of the rows of ``x``."""
        z = self._logits(x)
        a, c = self.calibration
        return _logistic(a * (z[:, 1] - z[:, 0]) + c)

    def cold_start(self, catalogue: Rows, strong_columns: str | Sequence[str], weak_columns: str | Sequence[str] = (),
                   phrase_delimiter: str | None = None, spans: int = 10, span_words: tuple[int, int] = (1, 4),
                   seed: int | None = None, **train_kw: Any) -> History:
        """Train a retrieval model from a table of items and their texts alone, with no
        queries: each item (a row of ``catalogue``: a CSV path, DataFrame or row dicts with
        the target column and the text columns named below) stands in for its queries with
        every phrase of its ``strong_columns`` (names, titles; split on
        ``phrase_delimiter`` when given), the words of its ``weak_columns`` (descriptions)
        whole, and ``spans`` random runs of ``span_words`` of those words. The model must have
        one text input column, which receives these texts. Later ``train`` calls on real
        queries fine-tune it.
        The defaults by measurement on 300 WordNet synsets (docs/automl.md): 3 spans of 2-6
        words reached P@1 0.21 on held-out lemmas, 10 of 1-4 words 0.64.

        Parameters
        ----------
        catalogue : str, path-like, DataFrame or list of dict
            One row an item: the target column and the text columns.
        strong_columns : str or sequence of str
            Columns whose every phrase is a query (names, titles).
        weak_columns : str or sequence of str, default=()
            Columns from which random word spans are queries (descriptions).
        phrase_delimiter : str or None, default=None
            Splits a strong column's value into phrases; None keeps it whole.
        spans : int, default=10
            Random spans an item of its weak columns' words.
        span_words : tuple of (int, int), default=(1, 4)
            The (low, high) word count of a span, both included.
        seed : int or None, default=None
            Seeds the spans; None uses the model's ``seed``.
        **train_kw
            Passed to ``train`` (by default it decides how long to train).

        Returns
        -------
        History
            What ``train`` returns.

        Raises
        ------
        ValueError
            When the model has not exactly one text input column, for bad spans, a value
            of a strong or weak column that is no string or number, or when the catalogue
            yields no text.
        """
        text = [c for c in self.featurizer.text_columns]
        if len(text) != 1:
            raise ValueError(f"cold_start needs a {_OWNER} with one text input column, which takes the "
                             f"catalogue's texts. This one has {len(text)}: {text}.")
        named = {}
        for name, given in (("strong_columns", strong_columns), ("weak_columns", weak_columns)):
            names = [given] if isinstance(given, str) else list(given) if isinstance(given, (list, tuple)) else None
            if names is None or not all(isinstance(c, str) for c in names):
                _fail("cold_start", name, "a column name or a list of them", given)
            named[name] = names
        strong, weak = named["strong_columns"], named["weak_columns"]
        if not strong and not weak:
            _fail("cold_start", "strong_columns", "at least one column when weak_columns is empty", strong_columns)
        _check_source(catalogue, "cold_start", "catalogue")
        if phrase_delimiter is not None and not (isinstance(phrase_delimiter, str) and phrase_delimiter):
            _fail("cold_start", "phrase_delimiter", "a non-empty string or None", phrase_delimiter)
        check_int("cold_start", "spans", spans, 0)
        if not (isinstance(span_words, (list, tuple)) and len(span_words) == 2
                and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in span_words)
                and 1 <= span_words[0] <= span_words[1]):
            _fail("cold_start", "span_words", "(low, high) word counts with 1 <= low <= high", span_words)
        lo, hi = (int(k) for k in span_words)
        if seed is not None:
            check_int("cold_start", "seed", seed, 0)
        rng = np.random.default_rng(self.seed if seed is None else seed)
        rows = []
        columns = list(dict.fromkeys([self.target, *strong, *weak]))

        def text_of(chunk, c, i):
            v = chunk.columns[c][i]
            if v is not None and not isinstance(v, (str, numbers.Number)):  # its str() would be made-up words
                raise chunk.error(i, f"column {c!r}: expected a text (a string), got a {type(v).__name__}")
            return "" if v is None else str(v)

        for chunk in read_chunks(catalogue, columns, CHUNK_ROWS, self.delimiter):
            labels = chunk.columns[self.target]
            for i, label in enumerate(labels):
                if label is None:
                    raise chunk.error(i, f"the catalogue's target column {self.target!r} is empty")
                for c in strong:
                    v = text_of(chunk, c, i)
                    parts = v.split(phrase_delimiter) if phrase_delimiter else [v]
                    rows += [{text[0]: p.strip(), self.target: label} for p in parts if p.strip()]
                words = [w for c in weak for w in text_of(chunk, c, i).split()]
                # the whole description too, as a nearest-class model reads it: held-out lemmas
                # of 300 / 2,000 / all WordNet synsets +2.3 / +0.9 / +0.1 points of P@1
                if words:
                    rows.append({text[0]: " ".join(words), self.target: label})
                for _ in range(spans if words else 0):
                    n = int(rng.integers(lo, hi + 1))
                    start = int(rng.integers(0, max(1, len(words) - n + 1)))
                    rows.append({text[0]: " ".join(words[start:start + n]), self.target: label})
        if not rows:
            raise ValueError("cold_start found no text in the catalogue's strong and weak columns.")
        order = rng.permutation(len(rows))
        return self.train([rows[i] for i in order], **train_kw)

    def _mean_embedding(self, data, max_rows=4096):
        """(the mean hidden representation of the first ``max_rows`` rows of ``data``, what
        every row shares; those of them of one label, up to ``REFERENCE_ROWS``, with it and
        a weight: (float16[n, hidden_dim], int32[n], float32[n] of ones), or None for a
        numerical target), which ``introduce_label`` sets a new class apart from."""
        total, n, kept, labels = np.zeros(self.hidden_dim), 0, [], []
        for batch in data:
            h = self._hidden(batch.inputs[0])
            total += h.sum(axis=0)
            n += h.shape[0]
            if not self.regression and batch.labels is not None and sum(map(len, kept)) < REFERENCE_ROWS:
                one = np.diff(batch.labels.offsets) == 1
                kept.append(h[one])
                labels.append(batch.labels.ids[batch.labels.offsets[:-1][one]])
            if n >= max_rows:
                break
        reference = None
        if kept:  # float16: half the bytes in a model file, and a fit no worse
            hidden = np.clip(np.concatenate(kept)[:REFERENCE_ROWS], -65504, 65504).astype(np.float16)
            reference = (hidden, np.concatenate(labels)[:REFERENCE_ROWS].astype(np.int32),
                         np.ones(hidden.shape[0], dtype=np.float32))
        return (total / max(n, 1)).astype(np.float32), reference

    def _background(self, data, first):
        """{column: values} of ``BACKGROUND_ROWS`` rows drawn from ``data`` (rows in memory
        or a CSV read once: from them all, as files are often sorted by a column; else from
        ``first``, the first training chunk when read, or the first ``BACKGROUND_SCAN_ROWS``),
        for each input column but text: values a model file can hold (str, number, bool,
        None); a column with others (a DataFrame's datetimes) has none, and ``explain``
        leaves it empty instead. None without such columns."""
        text = set(self.featurizer.text_columns)
        columns = [c for c in self.featurizer.columns(False) if c not in text]
        if not columns:
            return None
        rng = np.random.default_rng(self.seed)

        def drawn(n):
            return np.sort(rng.choice(n, min(n, BACKGROUND_ROWS), replace=False))

        if isinstance(data, _ReadRows):
            starts = np.cumsum([0] + [len(chunk) for chunk in data.chunks])
            rows = drawn(int(starts[-1]))
            at = np.searchsorted(starts, rows, side="right") - 1
            picked = [(data.chunks[c], int(r - starts[c])) for c, r in zip(at, rows)]
        else:
            if not isinstance(data, (str, os.PathLike)) and hasattr(data, "__len__"):  # a DataFrame, row dicts
                rows = drawn(len(data))
                chunk = next(self._chunks(data.iloc[rows] if hasattr(data, "iloc") else [data[i] for i in rows],
                                          with_target=False))
            else:
                chunk = first if first is not None else next(self._chunks(data, with_target=False,
                                                                          chunk_rows=BACKGROUND_SCAN_ROWS))
            picked = [(chunk, int(r)) for r in drawn(len(chunk))]
        out = {}
        for c in columns:
            if any(c not in chunk.columns for chunk, _ in picked):  # an optional column the data lacks
                continue
            values = [_plain(chunk.columns[c][r]) for chunk, r in picked]
            if all(v is not _UNPLAIN for v in values):
                out[c] = values
        return out or None

    def _held_out_rows(self, data, first, chunk_rows, refits=False):
        """(the rows of ``data``, held): held is (held out, kept), the sorted indices of the
        rows automatic training validates on and of the rest (of the first chunk's rows when
        streamed in chunks of ``chunk_rows``, its latest with a time, else a seeded draw;
        ``first`` that chunk, or None), or None when too few rows can be spared. ``refits``:
        whether the network may train again on every row (``_validation_rows``)."""
        width = (self.model.layer("embedding").dim if self.model is not None and not self._rebuildable
                 else self.embedding_dim or self._auto_width())
        if chunk_rows is None:
            chunks = self._chunks(data, with_target=True, columns=[self.target])
            two_classes = minority = None
            if self.regression:  # its values were read by _read_labels; no classes to count
                n_rows, n_classes = sum(len(c) for c in chunks), 0
            else:
                labels = [self.featurizer.labels.to_ids(c.columns[self.target], c, grow=False)[0] for c in chunks]
                n_rows = sum(lab.offsets.shape[0] - 1 for lab in labels)
                ids = np.concatenate([lab.ids for lab in labels])
                counts = np.unique(ids, return_counts=True)[1]
                n_classes = counts.size  # the classes the rows hold, not the output's
                if n_classes == 2 and all(np.all(np.diff(lab.offsets) == 1) for lab in labels):
                    two_classes, minority = ids, counts.min() / n_rows
            if n_rows < MIN_AUTO_ROWS:
                return n_rows, None
            n_val = self._validation_rows(n_rows, n_classes, width, minority, refits)
            rows = self._holdout_order(data, n_rows, n_val, two_classes)
            return n_rows, (np.sort(rows[:n_val]), np.sort(rows[n_val:]))
        n_rows = sum(len(c) for c in self._chunks(data, with_target=True, columns=[self.target]))
        c = self.featurizer.time_column
        if first is None:
            first = next(self._chunks(data, with_target=True, chunk_rows=chunk_rows,
                                      columns=[self.target] + ([c] if c is not None else [])))
        if len(first) < MIN_AUTO_ROWS:
            return n_rows, None
        n_val = min(self._validation_rows(n_rows, self.n_classes, width), len(first) // 2)
        if c is None:
            rows = np.random.default_rng(self.seed).permutation(len(first))
        else:  # what comes next, as rows in memory hold out; the first chunk's random rows were the
            # earliest of a file sorted by time (MovieLens in 32,768-row chunks: recall@10 0.105 -> 0.119)
            rows = np.argsort(-parse_times(c, self.data_types[c], first.columns[c], first)[0], kind="stable")
        return n_rows, (np.sort(rows[:n_val]), np.sort(rows[n_val:]))

    def _holdout_order(self, data, n_rows, n_val, two_classes):
        """Row indices, the ``n_val`` to hold out first: the latest rows when rows have a time
        (temporal tracking predicts what comes next, so validation should too); for a target
        of two classes, one a row (``two_classes``: int[n_rows], each row's, else None), each
        class's share of the rows (AUC needs both, and a seeded shuffle of 137 rows with 25
        positives in 1,371 held none out); else a seeded shuffle."""
        if self.featurizer.time_column is None:
            if two_classes is not None:
                return stratified_order(two_classes, n_val, self.seed)
            return np.random.default_rng(self.seed).permutation(n_rows)
        c = self.featurizer.time_column
        secs = np.concatenate([parse_times(c, self.data_types[c], chunk.columns[c], chunk)[0]
                               for chunk in self._chunks(data, with_target=False, columns=[c])])
        return np.argsort(-secs, kind="stable")

    def _validation_rows(self, n_rows, n_classes, width, minority=None, refits=False):
        """How many of ``n_rows`` training rows of ``n_classes`` classes to hold out: a
        tenth, at most 10,000 (a numerical target, or with temporal tracking, whose held-out
        rows are the latest). A binary target: at most 2,500, more while its rarer class, a
        ``minority`` share of the rows, would have fewer than 250 held-out rows. More
        classes: a fortieth, but the tenth up to 1,000 rows, and at most 2,500 or 10 rows a
        class, whichever is more. Fewer for wide outputs, where a dense evaluation of each
        row costs n_classes x ``width`` (the hidden layer's). A typed table of a binary or
        numerical target that ``refits`` (trains again on every row when it may) holds out a
        fifth, up to 1,000 rows, where that is more (``REFIT_TABLE_HELD_OUT_FRACTION``)."""
        n = int(n_rows * VALIDATION_FRACTION)
        if refits and self._typed and (self._binary or self.regression) and n_rows <= self._most_refit_rows:
            n = max(n, min(int(n_rows * REFIT_TABLE_HELD_OUT_FRACTION), REFIT_TABLE_MAX_HELD_OUT))
        most = VALIDATION_MAX_ROWS
        if self._binary and not self.temporal_tracking:
            rare = BINARY_MIN_HELD_MINORITY / minority if minority else 0
            most = min(most, max(BINARY_MAX_HELD_OUT, int(np.ceil(rare))))
        elif not (self.regression or self.temporal_tracking):
            n = max(int(n_rows * CLASSES_FRACTION), min(n, CLASSES_MIN_HELD_OUT))
            most = min(most, max(CLASSES_MAX_HELD_OUT, CLASSES_HELD_OUT_PER_CLASS * n_classes))
        cap = max(1_000, int(VALIDATION_BUDGET / (self.n_classes * width)))
        return max(1, min(n, most, cap))

    def _default_validation_metric(self, val):
        if self.regression:
            return NegativeMAE(self.featurizer.labels.predicted, self.featurizer.labels.values_of)
        if self.n_classes == 2 and self.output_activation == "softmax":
            labels = val.labels.ids if isinstance(val, SparseDataset) else None
            if labels is None or np.unique(labels).size == 2:
                return "auc"
            if not self.temporal_tracking:  # precision@1 would reward answering that class alone
                held = self.featurizer.labels.name(int(labels[0])) if labels.size else None
                warnings.warn(f"The {val.n_samples} validation rows hold one of the two classes only ({held!r}): "
                              f"automatic training stops on their log-loss instead of AUC. Give validation "
                              f"rows of both classes.", stacklevel=4)
                return "neg_log_loss"
        if self._typed_classes:  # a few hundred held-out rows' accuracy moves in steps
            return "neg_log_loss"
        return "recall@10" if self.temporal_tracking else "precision@1"

    def _loss_breaks_ties(self, monitor):
        """Whether automatic training decides between epochs of equal ``monitor`` by the
        held-out log-loss: for a named metric (top-k, accuracy, AUC) over a softmax output
        that evaluation scores whole. On a small held-out set such a metric moves in steps
        of 1/n, and AUC reaches 1.0 within an epoch or two; it then stays flat while the
        model still learns, which made the rate halve and training stop early, keeping an
        early epoch (docs/automl.md, "Ties on a small held-out set")."""
        return (isinstance(monitor, str) and monitor != "neg_log_loss" and self.output_activation == "softmax"
                and self.model.output.layer.dim <= WIDE_OUTPUT)

    @property
    def regression(self) -> bool:
        """Whether the target is numerical (predicted through its bins, see ``TargetBins``)."""
        return self.featurizer.labels.label_type == "bins"

    @property
    def _cumulative(self):
        """Whether the target is numerical with cumulative labels over its bins (sigmoid
        outputs; a model saved before them has a softmax over its bins)."""
        return self.regression and self.featurizer.labels.cumulative

    def _require_model(self, what, trained=True):
        """Refuse ``what`` before ``train``: with no network, or (``trained``) with the one the
        constructor built from ``n_classes``, whose weights are still the random draw."""
        if self.model is None or (trained and not self.trained):
            raise RuntimeError(f"{what} needs a trained {_OWNER}; call train first.")

    def evaluate(self, data: Rows, metrics: str | Sequence[str] | None = None,
                 sparse_inference: bool = False, batch_size: int = 2048) -> dict[str, float]:
        """Metrics over labeled data.

        Parameters
        ----------
        data : str, path-like, DataFrame or list of dict
            Labeled rows.
        metrics : str, sequence of str or None, default=None
            'precision@k', 'recall@k', 'categorical_accuracy', 'auc' (binary target),
            'neg_log_loss' (a binary target's of ``predict_proba``'s calibrated
            probabilities); for a numerical target 'mae' and 'rmse'. None:
            ['categorical_accuracy'], for a numerical target ['mae', 'rmse'].
        sparse_inference : bool, default=False
            Score only the output neurons the LSH tables retrieve.
        batch_size : int, default=2048
            Rows a batch (categorical target).

        Returns
        -------
        dict of str to float
            {metric name: value}.

        Raises
        ------
        RuntimeError
            Before ``train``.
        ValueError
            For an unknown metric or rows that do not fit the columns.
        """
        self._require_model("evaluate")
        check_flag("evaluate", "sparse_inference", sparse_inference)
        self._check_row_columns(data, "evaluate")
        self._warn_unpinned(sparse_inference)
        if metrics is None:
            metrics = ["mae", "rmse"] if self.regression else ["categorical_accuracy"]
        metrics = [metrics] if isinstance(metrics, str) else metrics
        check_int("evaluate", "batch_size", batch_size, 1)
        if self.regression:
            return self._evaluate_regression(data, metrics, sparse_inference)
        if self.featurizer.node_column is not None:
            self.index_nodes(data)
        if self._binary and self.calibration != (1.0, 0.0):
            # the log-loss of predict_proba's probabilities (a fitted shift is in the output's bias)
            metrics = [NegativeLogLoss(*self.calibration) if m == "neg_log_loss" else m for m in metrics]
        if self.neighbors is not None:
            return self._evaluate_blended(data, metrics, sparse_inference)
        stream = _ChunkStream(self, data, "eval", batch_size, CHUNK_ROWS, False, self.seed)
        return self.model.evaluate(stream, metrics=metrics, sparse_inference=sparse_inference)

    def _evaluate_regression(self, data, metrics, sparse_inference):
        metrics = list(metrics)
        if not metrics:
            _fail("evaluate", "metrics", "at least one metric", metrics)
        for m in metrics:
            if m not in ("mae", "rmse"):
                _fail("evaluate", "metrics", "'mae' or 'rmse' for a numerical target", m)
        errors = []
        for chunk in self._chunks(data, with_target=True):
            truth = self.featurizer.labels.values(chunk.columns[self.target], chunk)
            offsets, ids, vals, _, _ = self.featurizer.transform(chunk, "eval")
            errors.append(self._expected_values(csr_value(self.input_dim, offsets, ids, vals), sparse_inference) - truth)
        e = np.abs(np.concatenate(errors))
        top = e.max() if e.size else 0.0
        # over the largest error: targets near 1e200 square, and near 1e306 sum, past float64;
        # no error (0), an infinite or a NaN one is the result as it is
        mae, rmse = ((top * (e / top).mean(), top * np.sqrt(((e / top) ** 2).mean())) if 0 < top < np.inf
                     else (top, top))
        return {m: float(mae if m == "mae" else rmse) for m in metrics}

    def _expected_values(self, x, sparse_inference=False):
        """float64[n]: each row's predicted value (``TargetBins.predicted``). Cumulative bins
        are scored whole: a bin the tables do not retrieve would drop its width from the sum."""
        sparse_inference = sparse_inference and not self._cumulative
        output = self.model.output_values(Batch((x,)), sparse_inference=sparse_inference).to_dense()
        return self.featurizer.labels.predicted(output)

    def pin_labels(self, data: Rows, batch_size: int = 2048, n_tables: int | None = None, k: int | None = None,
                   every_bucket: bool = False, verbose: bool = True) -> int:
        """Freeze the sparse output's hash tables and pin each label of ``data`` (labeled
        rows, as for ``train``) that its row's buckets miss, so sparse inference finds it:
        label augmentation in one pass, without training (``Model.pin_labels``; ``n_tables``,
        ``k`` and ``every_bucket`` as there: rebuilt wider tables for sparse inference, as
        ``make demo`` does). A later ``train`` without ``label_augmentation`` unfreezes the
        tables, and their next rebuild drops the pins.

        Parameters
        ----------
        data : str, path-like, DataFrame or list of dict
            Labeled rows.
        batch_size : int, default=2048
            Rows a batch.
        n_tables : int or None, default=None
            Rebuild the output's tables with this many tables first.
        k : int or None, default=None
            Hashes a table of the rebuilt tables.
        every_bucket : bool, default=False
            Pin a label into each of its row's buckets that misses it, not only when all do.
        verbose : bool, default=True
            Show a progress bar.

        Returns
        -------
        int
            How many (row, label) pairs were pinned.

        Raises
        ------
        RuntimeError
            Before ``train``.
        ValueError
            When the output layer has no hash tables (dense), or for a row dict lacking a
            column while it holds a key outside ``data_types`` (a misspelt name).
        """
        stream = self._labeled_stream("pin_labels", data, batch_size)
        return self.model.pin_labels(stream, n_tables=n_tables, k=k, every_bucket=every_bucket, verbose=verbose)

    def prepare_sparse_inference(self, data: Rows, batch_size: int = 2048, verbose: bool = True) -> int:
        """Ready the sparse output for ``sparse_inference`` as ``train`` does at its end
        (``Model.prepare_sparse_inference``): needed after training ``model`` by hand, or
        after ``introduce_label``, whose table rebuild drops the training labels' pins
        (give the training rows and the introduced class's rows: the tables are rebuilt
        and only the labels of ``data`` pinned).

        Parameters
        ----------
        data : str, path-like, DataFrame or list of dict
            The labeled training rows.
        batch_size : int, default=2048
            Rows a batch.
        verbose : bool, default=True
            Show a progress bar.

        Returns
        -------
        int
            How many (row, label) pairs were pinned.

        Raises
        ------
        RuntimeError
            Before ``train``.
        ValueError
            When the output layer has no hash tables (dense), or for a row dict lacking a
            column while it holds a key outside ``data_types`` (a misspelt name).
        """
        stream = self._labeled_stream("prepare_sparse_inference", data, batch_size)
        self._training_tables()
        return self.model.prepare_sparse_inference(stream, verbose=verbose)

    def _labeled_stream(self, owner, data, batch_size):
        """Batches of the labeled rows of ``data``, read as for ``evaluate``."""
        self._require_model(owner)
        check_int(owner, "batch_size", batch_size, 1)
        self._check_row_columns(data, owner)
        if self.featurizer.node_column is not None:
            self.index_nodes(data)
        return _ChunkStream(self, data, "eval", batch_size, CHUNK_ROWS, False, self.seed)

    def _rows_source(self, rows, owner, name="rows"):
        """``rows`` checked as ``_check_row_columns`` does, for its input columns; a row dict
        (a list of one is asked for) is refused."""
        _refuse_row_dict(rows, owner, name)
        self._check_row_columns(rows, owner, self.featurizer.columns(False), name, empty_ok=True)
        return rows

    def _check_row_columns(self, rows, owner, columns=None, name="data", empty_ok=False):
        """Refuse ``rows``, the parameter ``name`` of ``owner``, when it is no source of rows
        (a CSV path, a DataFrame, a list of row dicts) or an empty one (unless ``empty_ok``,
        for the methods that give an empty result), and a row dict of it (when a list of them)
        that lacks one of ``columns`` (those ``owner`` reads; None: every column, the target's
        too) while it holds a key outside ``data_types``: a misspelt name, which would be read
        as a missing value. Its other keys are left out, as a DataFrame's other columns and a
        CSV file's are, and a column a row lacks without one is a missing value. ``name``
        'row' is a list of the one row of a ``row`` parameter."""
        _check_source(rows, owner, name, empty_ok)
        if isinstance(rows, (list, tuple)):
            known = set(self.data_types)
            columns = self.featurizer.columns(True) if columns is None else columns
            for i, row in enumerate(rows):
                if not isinstance(row, dict):
                    raise TypeError(f"The '{name}' parameter of {owner} must hold row dicts of column name -> value. "
                                    f"Got {type(row).__name__} at row {i} instead.")
                if not known.issuperset(row):
                    missing = [c for c in columns if c not in row]
                    if missing:
                        extra = [k for k in row if k not in known]
                        which = "a row" if name == "row" else f"row {i}"
                        hold = "have" if name == "row" else "hold rows with"
                        raise ValueError(f"The '{name}' parameter of {owner} must {hold} the columns {columns} (None "
                                         f"for a missing value). Got {which} without {missing} and with {extra}, not "
                                         f"in data_types {list(self.data_types)}, instead.")

    @staticmethod
    def _no_rows(rows):
        """Whether ``rows`` is an empty list or an empty DataFrame (which give empty results)."""
        return not isinstance(rows, (str, os.PathLike)) and hasattr(rows, "__len__") and len(rows) == 0

    def predict_batch(self, rows: pd.DataFrame | Sequence[dict], top_k: int = 1,
                      sparse_inference: bool = False) -> list[list[tuple[Any, float | None]]]:
        """The ``top_k`` labels of each row with their scores, best first.

        Parameters
        ----------
        rows : DataFrame or list of dict
            Rows of input columns; other keys of a dict are left out, as a DataFrame's or a
            CSV file's other columns are, and a column a dict lacks is a missing value, but
            a dict lacking one while it holds a key outside ``data_types`` is an error (a
            misspelt name would otherwise be a missing value).
        top_k : int, default=1
            Labels a row: at most the labels the model knows (classes never seen in
            training are not ranked) and, with ``sparse_inference``, the neurons retrieved.
        sparse_inference : bool, default=False
            Score only the output neurons the LSH tables retrieve.

        Returns
        -------
        list of list of tuple
            [[(label, score), ...], ...], one list a row (a binary target's scores are its
            calibrated probabilities, as ``predict_proba``'s); for a numerical target the
            predicted value, [[(value, None)], ...].

        Raises
        ------
        RuntimeError
            Before ``train``.
        TypeError
            For a single dict (use ``predict``) or a row that is not a dict.
        ValueError
            For a row dict lacking a column while it holds a key outside ``data_types``.
        """
        return self._predicted_rows(rows, top_k, sparse_inference, "predict_batch")

    def _predicted_rows(self, rows, top_k, sparse_inference, owner, name="rows"):
        """``predict_batch``'s result; errors name ``owner``, the method the user called, and
        ``name``, its parameter."""
        self._require_model(owner)
        top_k = check_int(owner, "top_k", top_k, 1)
        check_flag(owner, "sparse_inference", sparse_inference)
        rows = self._rows_source(rows, owner, name)
        if self._no_rows(rows):
            return []
        return [r for part in self._predicted_chunks(rows, top_k, sparse_inference) for r in part]

    def _warn_unpinned(self, sparse_inference):
        """Warn when sparse inference would rank on hash tables that hold no pinned training
        label: training ``model`` by hand leaves them so."""
        if sparse_inference and can_pin(self.model) and not self.model.output.layer.index.frozen:
            warnings.warn("sparse_inference on hash tables that hold no pinned training labels (training the "
                          "network by hand leaves them so): call prepare_sparse_inference with the training rows "
                          "first, or sparse inference may miss what dense inference ranks first.", UserWarning,
                          stacklevel=3)

    def _predicted_chunks(self, rows, top_k, sparse_inference, chunk_rows=None):
        """``predict_batch``'s results a chunk of ``rows`` (``chunk_rows`` rows) at a time
        (the command line's ``predict`` writes each as it comes)."""
        self._warn_unpinned(sparse_inference)
        for chunk in self._chunks(rows, with_target=False, chunk_rows=chunk_rows):
            offsets, ids, vals, _, _ = self.featurizer.transform(chunk, "predict")
            x = csr_value(self.input_dim, offsets, ids, vals)
            if self.regression:
                yield [[(float(v), None)] for v in self._expected_values(x, sparse_inference)]
                continue
            labels = self.featurizer.labels
            # neurons beyond the labels seen in training (n_classes larger than needed) have no name
            unnamed = labels.size - len(labels.labels) if labels.label_type == "str" else 0
            forgotten = labels.forgotten if labels.label_type == "str" else 0
            calibrated = self._binary and self.calibration != (1.0, 0.0)  # the softmax's are Platt's raw ones
            if calibrated and self.calibration[0] > 0 and self.calibration[1] == 0.0:
                # the shift is in the output bias (_decide_by_calibration): one forward pass
                # gives the scores and the order, the larger logit's class being the one past 0.5
                second = self._calibrated(x)
                top = np.where((second > 0.5)[:, None], [[1, 0]], [[0, 1]])
            elif self.neighbors is not None:
                top, scores = self._blended_top_k(chunk, offsets, ids, vals, top_k + unnamed + forgotten,
                                                  sparse_inference)
            elif unnamed and not sparse_inference:
                top, scores = self._named_top_k(offsets, ids, vals, top_k + forgotten, labels.size - unnamed)
            else:
                top, scores = self.model.predict(Batch((x,)), top_k=min(top_k + unnamed + forgotten, self.n_classes),
                                                 sparse_inference=sparse_inference)
                if calibrated:  # a shift outside the bias (a file saved before it moved there)
                    second = self._calibrated(x)
            if calibrated:
                scores = np.where(np.asarray(top) == 1, second[:, None], 1.0 - second[:, None])
            named = labels.size - unnamed
            yield [_named_labels(labels, named, r_ids, r_scores, top_k) for r_ids, r_scores in zip(top, scores)]

    def _output_blocks(self, offsets, ids, vals, sparse_inference=False):
        """Yield (first row, output Value) of featurized rows (CSR), a block of at most
        ``SCORE_BLOCK_VALUES`` outputs at a time; a single row on one thread (a served
        prediction, as Model.predict runs one)."""
        n = offsets.shape[0] - 1
        step = max(1, SCORE_BLOCK_VALUES // self.n_classes)
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            block, (block_ids, block_vals) = slice_rows(offsets, [ids, vals], lo, hi)
            x = csr_value(self.input_dim, block, block_ids, block_vals)
            yield lo, self.model.output_values(Batch((x,)), sparse_inference=sparse_inference, serial=hi - lo == 1)

    def _blended_outputs(self, chunk, offsets, ids, vals, sparse_inference):
        """Yield (first row, (scores, log_norm)) of the featurized rows of ``chunk``, a block at
        a time: ``ItemNeighbors.blend`` of their output probabilities."""
        past = self.featurizer.chunk_past_labels(chunk)
        for lo, output in self._output_blocks(offsets, ids, vals, sparse_inference):
            p_offsets, (p_ids,) = slice_rows(past[0], [past[1]], lo, lo + output.batch_size)
            yield lo, self.neighbors.blend(output, (p_offsets, p_ids))

    @staticmethod
    def _blended_ranking(scores, log_norm, k):
        """(ids int32[n, k], probabilities float32[n, k]) of each row's ``k`` best blended
        scores (``ItemNeighbors.blend``'s); -1 / 0 for what the ranking left out."""
        top, best = top_outputs(scores, k, serial=scores.batch_size == 1)
        top[best == -np.inf] = -1
        return top, blended_probability(best, log_norm[:, None])

    def _blended_top_k(self, chunk, offsets, ids, vals, k, sparse_inference):
        """(ids int32[n, k], scores float32[n, k]) of each featurized row of ``chunk`` by the
        blended outputs (``_blended_outputs``)."""
        k = min(k, self.n_classes)
        return _stacked([self._blended_ranking(scores, log_norm, k)
                         for _, (scores, log_norm) in self._blended_outputs(chunk, offsets, ids, vals,
                                                                             sparse_inference)], k)

    def _evaluate_blended(self, data, metrics, sparse_inference):
        """``evaluate`` of a model with item neighbors: its metrics over the blended outputs."""
        accumulators = [make_metric(m, "evaluate", "metrics") for m in metrics]
        if not accumulators:
            _fail("evaluate", "metrics", "at least one metric", metrics)
        k = min(max(m.k for m in accumulators), self.n_classes)
        unknown = n_seen = 0
        for chunk in self._chunks(data, with_target=True):
            offsets, ids, vals, labels, n_unknown = self.featurizer.transform(chunk, "eval")
            unknown += n_unknown
            for lo, (scores, log_norm) in self._blended_outputs(chunk, offsets, ids, vals, sparse_inference):
                update_metrics(accumulators, self._blended_ranking(scores, log_norm, k)[0],
                               labels.rows(lo, lo + scores.batch_size), ItemNeighbors.probabilities(scores, log_norm))
                n_seen += scores.batch_size
        warn_unknown_labels(describe(data), self.target, unknown)
        if n_seen == 0:
            raise ValueError("The 'data' parameter of evaluate must hold at least one sample. Got none instead.")
        return {m.name: m.result() for m in accumulators}

    def _named_top_k(self, offsets, ids, vals, k, named):
        """(ids int32[n, k], scores float32[n, k]) of each featurized row's ``k`` best outputs
        among the first ``named`` neurons (those with a label), by dense inference. Where
        ``n_classes`` exceeds the labels training saw, asking the model for k plus every
        unnamed neuron made each neuron an insert into a list that long (2,000 rows of 20,000
        classes, 17,003 unnamed: 207 s; 0.9 s so): rows are scored a block at a time and the
        unnamed neurons left out of the ranking, not out of the softmax."""
        parts = []
        for _, output in self._output_blocks(offsets, ids, vals):
            scores = np.ascontiguousarray(output.to_dense()[:, :named])
            parts.append(top_outputs(Value.dense(scores), min(k, named), serial=output.batch_size == 1))
        return _stacked(parts, k)

    def predict(self, row: dict[str, Any], top_k: int = 1,
                sparse_inference: bool = False) -> list[tuple[Any, float | None]]:
        """The ``top_k`` labels of one row with their scores, best first.

        Parameters
        ----------
        row : dict
            {column name: value} of input columns.
        top_k : int, default=1
            Labels to return.
        sparse_inference : bool, default=False
            Score only the output neurons the LSH tables retrieve.

        Returns
        -------
        list of tuple
            [(label, score), ...]; for a numerical target [(value, None)].

        Raises
        ------
        RuntimeError
            Before ``train``.
        TypeError
            When ``row`` is not a dict.
        """
        self._require_model("predict")
        if not isinstance(row, dict):
            raise TypeError(f"The 'row' parameter of predict must be a dict of column name -> value (use predict_batch "
                            f"for several rows). Got {type(row).__name__} instead.")
        return self._predicted_rows([row], top_k, sparse_inference, "predict", "row")[0]

    def embed(self, rows: pd.DataFrame | Sequence[dict]) -> np.ndarray:
        """The hidden representation of each row: the embedding layer's output, for
        similarity search or as features of another model.

        Parameters
        ----------
        rows : DataFrame or list of dict
            Rows of input columns.

        Returns
        -------
        ndarray of shape (n_rows, hidden_dim)
            float32 embeddings.

        Raises
        ------
        RuntimeError
            Before ``train``.
        """
        self._require_model("embed")
        return self._embedded(rows, "embed")

    def _embedded(self, rows, owner):
        """``embed``'s result; errors name ``owner``, the method the user called."""
        rows = self._rows_source(rows, owner)
        if self._no_rows(rows):
            return np.zeros((0, self.hidden_dim), dtype=np.float32)
        parts = []
        for chunk in self._chunks(rows, with_target=False):
            offsets, ids, vals, _, _ = self.featurizer.transform(chunk, "predict")
            parts.append(self._hidden(csr_value(self.input_dim, offsets, ids, vals)).copy())
        return np.concatenate(parts)

    def explain(self, row: dict[str, Any], target: Any = None) -> list[tuple[str, str, float]]:
        """Which columns and words of ``row`` (a dict) drove its prediction: [(column, token,
        contribution), ...], the largest magnitude first. The contribution is how much the
        log-odds of the target class (the top class unless ``target`` names one; for a
        numerical target, the predicted value) drop when the token is taken away,
        log(p / (1 - p)) of its softmax or sigmoid output, which unlike p does not saturate
        near certainty: positive tokens raised the class's probability, negative ones
        lowered it. A text column gives one entry per distinct word, left out (the word's
        unigram, bigrams and character n-grams go with it); any other column one entry, its
        value as the token, replaced in turn by the values of ``BACKGROUND_ROWS`` training
        rows that ``train`` keeps, the drop averaged over them: a value as common as any
        scores near 0 (a model file saved without them, or a column of values a file cannot
        hold, such as a DataFrame's datetimes: the value is left empty instead).

        Parameters
        ----------
        row : dict
            {column name: value} of input columns.
        target : label or None, default=None
            The class to explain; None: the top class. Must be None for a numerical target.

        Returns
        -------
        list of tuple of (str, str, float)
            (column, token, contribution), the largest magnitude first.

        Raises
        ------
        RuntimeError
            Before ``train``.
        TypeError
            When ``row`` is not a dict.
        ValueError
            For a ``target`` that is not a class of the model.
        """
        self._require_model("explain")
        if not isinstance(row, dict):
            raise TypeError(f"The 'row' parameter of explain must be a dict of column name -> value. Got "
                            f"{type(row).__name__} instead.")
        self._rows_source([row], "explain", "row")
        if self.regression and target is not None:
            _fail("explain", "target", "None for a numerical target (the predicted value is explained)", target)
        k = self._class_id(target) if target is not None else None
        background = self.background or {}
        # the row as the featurizer reads it: NaN, pd.NA and the missing markers are no value
        read = next(self._chunks([{c: v for c, v in row.items() if c != self.target}], with_target=False)).columns
        # each piece's variants of the row: variants[starts[j]:starts[j + 1]]
        pieces, variants, starts = [], [row], [1]
        for c, v in row.items():
            if c == self.target or c not in read or read[c][0] is None or read[c][0] == "":
                continue
            if self.data_types[c].kind in ("numerical", "date") and is_missing_marker(read[c][0]):  # 'NA', 'null'
                continue
            if c in self.featurizer.text_columns:
                # a word in two cases is one token where the column lowercases: left out together
                words = _WORD.findall(str(v).lower() if self.data_types[c].lowercase else str(v))
                for w in dict.fromkeys(words):
                    pieces.append((c, w))
                    variants.append({**row, c: " ".join(x for x in words if x != w) or None})
                    starts.append(len(variants))
            else:
                pieces.append((c, str(v)))
                variants += [{**row, c: b} for b in background.get(c, [None])]
                starts.append(len(variants))
        chunk = next(self._chunks(variants, with_target=False, chunk_rows=len(variants)))
        offsets, ids, vals, _, _ = self.featurizer.transform(chunk, "predict")
        z = self._logits(csr_value(self.input_dim, offsets, ids, vals))
        if self.regression:
            p = _logistic(z) if self._cumulative else np.exp(z - z.max(axis=1, keepdims=True))
            score = self.featurizer.labels.predicted(p)
        else:
            if k is None:
                k = int(np.argmax(z[0]))
            if self.output_activation == "softmax":  # log-odds of class k: z_k - log sum of the others' exp
                others = np.delete(z, k, axis=1)
                top = others.max(axis=1)
                score = z[:, k] - top - np.log(np.exp(others - top[:, None]).sum(axis=1))
            else:
                score = z[:, k]
        out = [(c, token, float(score[0] - score[starts[j]:starts[j + 1]].mean()))
               for j, (c, token) in enumerate(pieces)]
        return sorted(out, key=lambda t: -abs(t[2]))

    def introduce_label(self, rows: pd.DataFrame | Sequence[dict], label: str) -> int:
        """Teach the trained model a new class, or more examples of a known one, from
        ``rows`` (dicts or a DataFrame of input columns), training nothing but the class's
        output neuron, fitted, the others fixed, to tell the rows from the training rows the
        model keeps (``REFERENCE_ROWS`` of them, by ``train``): a new class's rows weigh as an
        average class, a known class's as much again as its kept rows (a model file without
        kept rows moves the neuron along the rows' mean embedding instead). Prediction
        reflects it at once, sparse inference included (it scores a new class for every row
        until the next ``train``; a known class is pinned into the buckets of the rows and of
        those sparse inference probes next to them; the tables keep their other pins). Other
        classes' rows mostly keep their answers; rows like the training rows in the hidden
        representation take the new class less often (docs/automl.md). Later training
        refines it. A binary target's probabilities are the softmax's from then on
        (``calibration`` (1.0, 0.0)): the calibration was fitted to the trained neurons.

        Parameters
        ----------
        rows : DataFrame or list of dict
            At least one row of input columns, examples of the class.
        label : str or number
            The class, read as training reads a label (7, 7.0 and '7' are class '7'). The
            target must have string labels (``label_type='str'``).

        Returns
        -------
        int
            The class's output id.

        Raises
        ------
        RuntimeError
            Before ``train``.
        TypeError
            For one row dict (give a list of one).
        ValueError
            For a target of integer labels (``label_type='int'``), a missing or empty
            ``label``, one that is no string or finite number or holds the target's
            ``delimiter``, no rows, or a new class when ``n_classes`` is full.
        """
        self._require_model("introduce_label")
        self._untrained_build = False
        labels = self.featurizer.labels
        if labels.label_type != "str":
            raise ValueError("introduce_label needs string labels (sb.types.categorical(label_type='str')).")
        # NaN is a missing label, as in training; its string and inf's would be made-up classes
        if not isinstance(label, (str, int, float, np.integer, np.floating)) or category(label) == "" \
                or (isinstance(label, (float, np.floating)) and not np.isfinite(label)):
            _fail("introduce_label", "label", "a label (a string or a finite number)", label)
        _refuse_row_dict(rows, "introduce_label", "rows")  # before the label's checks, as it was
        label = category(label)  # as training reads a label: 1, 1.0 and '1' are one class
        if labels.delimiter and labels.delimiter in label:  # training splits it into several labels
            _fail("introduce_label", "label", f"one label, without the target's delimiter {labels.delimiter!r}",
                  label)
        if labels.n_classes is not None and label not in labels.index and None not in labels.labels \
                and len(labels.labels) >= labels.n_classes:
            _fail("introduce_label", "label", f"one of the {labels.n_classes} classes (n_classes is fixed)", label)
        h = self._embedded(rows, "introduce_label").astype(np.float64)
        if h.shape[0] == 0:
            raise ValueError("The 'rows' parameter of introduce_label must hold at least one row. Got none instead.")
        # a binary target's Platt (a, c) was fitted to the trained neurons' margins, which the
        # neuron placed below changes (a file saved after forget by an earlier version still
        # holds the trained pair's); kept, its slope made the probabilities overconfident
        self.calibration = (1.0, 0.0)
        layer = self.model.output.layer
        named = self._named(layer.dim)
        k = labels.index.get(label)
        if k is None:
            k = labels.add(str(label))
            if self.reference is not None and named[self.reference[1]].any():
                w_new, b_new = self._fitted_neuron(h, layer, named)
            else:  # a model file saved without the training rows
                w_new, b_new = self._new_neuron(h, layer, named)
            if k < layer.dim:  # a forgotten class's neuron
                layer.W.value[k], layer.b.value[k] = w_new, b_new
            else:
                self.model.add_output_neurons(w_new[None, :], np.array([b_new]))
                layer = self.model.output.layer
            if self.prior_shift is not None:
                # fitted against the shifted biases: it takes an average class's shift, which
                # the next train takes out with the others' (else it starts that train lowered
                # against them by their mean shift)
                live = named[:self.prior_shift.shape[0]]
                mean = float(self.prior_shift[live].mean()) if live.any() else 0.0
                shift = np.zeros(layer.dim, dtype=np.float32)
                shift[:self.prior_shift.shape[0]] = self.prior_shift
                shift[k] = mean
                self.prior_shift = shift
            if can_pin(self.model):
                # no training placed it in the tables, and a few rows' pins miss its other rows
                layer.index.score_always([k])
        else:
            others = named.copy()
            others[k] = False
            if self.reference is not None and others[self.reference[1]].any():
                layer.W.value[k], layer.b.value[k] = self._fitted_neuron(h, layer, others, k)
            else:  # a model file saved without the training rows
                self._move_neuron(h, layer, named, k)
            if can_pin(self.model):
                # into the buckets sparse inference probes too: the class's other rows are unseen
                n = h.shape[0]
                layer.index.pin_labels(Value.dense(h.astype(np.float32)), np.arange(n + 1, dtype=np.int64),
                                       np.full(n, k, dtype=np.int32), every=True, probes=PROBES)
        return k

    def _named(self, dim):
        """bool[dim]: which of the output's ``dim`` neurons hold a class (not a forgotten
        one's, nor one beyond the labels seen)."""
        names = self.featurizer.labels.labels
        return np.array([name is not None for name in names] + [False] * (dim - len(names)))

    def _aim(self, h, layer, named):
        """Where the rules without kept training rows aim a neuron: (the output's weights and
        biases as float64, the rows' mean best logit plus one, their mean embedding, the
        direction from the training rows' mean embedding to it)."""
        W, b = layer.W.value.astype(np.float64), layer.b.value.astype(np.float64)
        z = h @ W.T + b
        target = z[:, named].max(axis=1).mean() + 1.0 if named.any() else 1.0
        mean = h.mean(axis=0)
        return W, b, target, mean, (mean - self.center if self.center is not None else mean)

    def _move_neuron(self, h, layer, named, k):
        """Move class ``k``'s neuron just far enough along ``_aim``'s direction that the rows'
        mean scores it one logit above their best class."""
        _, _, target, mean, d = self._aim(h, layer, named)
        if float(d @ mean) <= 1e-6 * float(mean @ mean):
            d = mean
        w = layer.W.value[k].astype(np.float64)
        gap = target - (w @ mean + float(layer.b.value[k]))
        if gap > 0:
            layer.W.value[k] = w + gap * d / float(d @ mean)

    def _fitted_neuron(self, h, layer, others, k=None):
        """(weights, bias) of class ``k``'s neuron (None: a new class) fitted, the other
        neurons (``others``, bool[dim]) fixed, to tell the rows ``h`` (float64[m, hidden])
        from the training rows the model keeps (``reference``), those of class ``k`` on the
        rows' side: the softmax log-likelihood of both, which for one neuron is a logistic
        regression whose offsets are each row's log-sum-exp of the other classes' scores (none
        for sigmoid outputs, where each class is a logistic regression of its own). A new
        class's rows weigh as much together as an average class of the kept rows (a
        prior neither rare nor common), a known class's as much again as its kept rows; a
        ridge penalty keeps the neuron finite where they are apart from every kept row, and
        a known class's near the neuron it had. Newton's method. Over many classes fewer
        kept rows are scored (``FIT_BUDGET``)."""
        ref, labels, row_weight = self.reference
        keep = others[labels] | (labels == k)
        n_ref = min(int(keep.sum()), max(MIN_FIT_ROWS, int(FIT_BUDGET // max(layer.W.value.size, 1))))
        ref, labels, row_weight = ref[keep][:n_ref], labels[keep][:n_ref], row_weight[keep][:n_ref]
        x = np.concatenate([ref.astype(np.float32), h.astype(np.float32)])
        offset = np.zeros(x.shape[0])  # sigmoid outputs: each class a logistic of its own
        if self.output_activation == "softmax":
            for lo in range(0, x.shape[0], 256):  # a block's logits over every class at a time
                z = x[lo:lo + 256] @ layer.W.value.T + layer.b.value
                z[:, ~others] = -np.inf
                top = z.max(axis=1)
                offset[lo:lo + 256] = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
        target = np.concatenate([labels == k, np.ones(h.shape[0])]).astype(np.float64)
        if k is None:
            per_row = max(n_ref / np.unique(labels).size, 1.0) / h.shape[0]
        else:
            per_row = max(float(row_weight[labels == k].sum()) / h.shape[0], 1.0)
        weight = np.concatenate([row_weight.astype(np.float64), np.full(h.shape[0], per_row)])
        x = np.hstack([x.astype(np.float64), np.ones((x.shape[0], 1))])
        ridge = np.ones(x.shape[1])
        ridge[-1] = 1e-6  # the bias nearly free
        if k is None:
            start = np.zeros(x.shape[1])
            start[-1] = float(np.median(offset))
        else:
            start = np.append(layer.W.value[k], layer.b.value[k]).astype(np.float64)
        prior = np.zeros_like(start) if k is None else start

        def loss(beta):  # the weighted log-loss and the ridge
            u = x @ beta - offset
            return float(weight @ (np.logaddexp(0.0, u) - target * u) + 0.5 * ridge @ (beta - prior) ** 2)

        beta, current = start.copy(), loss(start)
        for _ in range(NEURON_FIT_STEPS):
            p = 0.5 * (1.0 + np.tanh(0.5 * (x @ beta - offset)))  # the sigmoid, without overflow
            grad = x.T @ (weight * (p - target)) + ridge * (beta - prior)
            step = np.linalg.solve((x * (weight * p * (1.0 - p))[:, None]).T @ x + np.diag(ridge), grad)
            # halved until the loss falls: a full step from saturated rows can overshoot by 1e11
            for _ in range(40):
                trial = loss(beta - step)
                if trial <= current:
                    break
                step = step / 2
            else:
                break
            beta, current = beta - step, trial
            if np.abs(step).max() < 1e-6:
                break
        return beta[:-1], float(beta[-1])

    def _new_neuron(self, h, layer, named):
        """(weights, bias) of a new class's neuron along ``_aim``'s direction that scores the
        rows' mean embedding its target: as long as the median of the classes' weights (a
        zero neuron scores 0, above every row whose best logit is negative), and at least so
        long that the training rows' mean embedding scores a logit below its best class, as
        the rows' mean scores a logit above theirs (a briefly trained model's rows sit close
        to both)."""
        W, b, target, mean, d = self._aim(h, layer, named)
        if float(np.linalg.norm(d)) <= 1e-6 * float(np.linalg.norm(mean)):
            d = mean
        W, b = W[named], b[named]
        norms = np.linalg.norm(W, axis=1)
        length = float(np.median(norms)) if norms.size and np.median(norms) > 0 else 1.0
        span = float(np.linalg.norm(d))
        if self.center is not None and norms.size and span > 0:
            center = self.center.astype(np.float64)
            best = float((W @ center + b).max())
            # the score falls by length times the drop along d from mean to center
            drop = float(d @ (mean - center)) / span
            if drop > 0:
                length = max(length, (target - best + 1.0) / drop)
        w = length * d / max(span, 1e-12)
        return w, target - float(w @ mean)

    def forget(self, label: str) -> None:
        """Remove a class: it is never predicted again (its neuron scores nothing and its
        id is free for the next ``introduce_label``). Its kept training rows count from now
        on, at ``FORGOTTEN_ROW_WEIGHT``, as the classes that answer them, so that a class
        introduced later does not take them all. A binary target's ``calibration``, fitted to
        the pair of classes, becomes (1.0, 0.0).

        Parameters
        ----------
        label : str or number
            A class of the model, read as training reads a label (7 is class '7'); the
            target must have string labels (``label_type='str'``).

        Raises
        ------
        RuntimeError
            Before ``train``.
        ValueError
            When ``label`` is not a class of the model, or the target has integer labels.
        """
        self._require_model("forget")
        self._untrained_build = False
        labels = self.featurizer.labels
        if labels.label_type != "str":
            raise ValueError("forget needs string labels (sb.types.categorical(label_type='str')); its target's "
                             "are class ids.")
        if label is None or category(label) not in labels.index:
            _fail("forget", "label", "a class of the model", label)
        label = category(label)
        k = labels.forget(label)
        # a binary target's Platt (a, c) belongs to the pair it was fitted on; the other
        # class's bias keeps its shift by c / a, which the next class's fitted bias absorbs
        self.calibration = (1.0, 0.0)
        layer = self.model.output.layer
        layer.W.value[k] = 0.0
        layer.b.value[k] = _FORGOTTEN_BIAS
        if self.prior_shift is not None and k < self.prior_shift.shape[0]:
            self.prior_shift[k] = 0.0  # its bias stays where forgetting put it
        if layer.index is not None:
            layer.index.score_always([k], on=False)
        if self.reference is not None:
            # its kept rows count, lightly, as the classes that answer them now: a class
            # introduced later is fitted against them and does not take all its rows
            hidden, kept_labels, row_weight = self.reference
            own = kept_labels == k
            live = self._named(layer.dim)
            if own.any() and live.any():
                z = hidden[own].astype(np.float32) @ layer.W.value.T + layer.b.value
                z[:, ~live] = -np.inf
                kept_labels, row_weight = kept_labels.copy(), row_weight.copy()
                kept_labels[own] = np.argmax(z, axis=1)
                row_weight[own] *= FORGOTTEN_ROW_WEIGHT
                self.reference = (hidden, kept_labels, row_weight)
            elif own.any():  # no class left to answer them
                self.reference = (hidden[~own], kept_labels[~own], row_weight[~own])

    def _class_id(self, label):
        labels = self.featurizer.labels
        if labels.label_type == "int":
            if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) \
                    or not 0 <= label < self.n_classes:
                _fail("explain", "target", f"a class id in [0, {self.n_classes})", label)
            return int(label)
        if label is None or category(label) not in labels.index:
            _fail("explain", "target", f"a class seen in training ({len(labels.labels)} of them)", label)
        return labels.index[category(label)]

    # config -----------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """Everything but arrays, JSON-serialisable: the constructor's arguments and the
        fitted featurizer state (label map, vocabularies, bin edges).

        Returns
        -------
        dict
            What ``from_config`` takes.
        """
        return {"data_types": {c: t.get_config() for c, t in self.data_types.items()},
                "target": self.target, "temporal_tracking": self.temporal_tracking,
                "history_length": self.history_length, "input_dim": self.input_dim,
                "embedding_dim": self.embedding_dim, "sparsity": self.sparsity,
                "output_activation": self.output_activation,
                "cross_column_pairgrams": self.cross_column_pairgrams, "delimiter": self.delimiter,
                "seed": self.seed, "featurizer": self.featurizer.get_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any], build: bool = True) -> UniversalDeepTransformer:
        """A model with the featurizer of ``get_config()`` (vocabularies, bins, label map)
        and fresh weights; interaction histories, indexed nodes and the target means of exact
        values are not in the config (``save`` and ``load`` keep everything); the columns
        with target means decide their exact values again on the first training chunk.

        Parameters
        ----------
        config : dict
            What ``get_config`` returned.
        build : bool, default=True
            Build the network when the class count is known (else ``train`` does); False
            leaves it to be given (``load``).

        Returns
        -------
        UniversalDeepTransformer
            The untrained model.
        """
        kw = {k: v for k, v in config.items() if k != "featurizer"}
        types = config.get("data_types")
        if isinstance(types, dict):  # a numerical column of a config written before positions (periodic, exact) existed
            kw["data_types"] = {c: {"position": False, "periodic": False, "exact": False, **t}
                                if isinstance(t, dict) and t.get("type") == "numerical" else t
                                for c, t in types.items()}
        token = _DEFER_BUILD.set(True)
        try:
            model = cls(**kw)
        finally:
            _DEFER_BUILD.reset(token)
        model.featurizer.set_config(config["featurizer"])
        if build:  # a fresh model works out the target means again on its first training chunk
            model.featurizer.forget_stats()
        if build and model.n_classes:  # after the featurizer's state: an older config hashes its numbers' places
            model._build(MAX_SIGMA)
        return model

    # model files ------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, optimizer_state: bool = True) -> None:
        """Write the model to ``path`` in the model file format (atomically, checksummed,
        no pickle: docs/file-format.md): the network's weights, optimizer state (unless
        ``optimizer_state=False``), hash tables and pinned labels, and the featurizer's
        column types, vocabularies, bins, label names, document frequencies, interaction
        histories and graph node index. ``UniversalDeepTransformer.load`` reads it back;
        ``sb.Model.load`` reads the network alone (feature ids in, class ids out).

        Parameters
        ----------
        path : str or path-like
            The file to write.
        optimizer_state : bool, default=True
            Keep Adam's moments (to continue training as if without a break).

        Raises
        ------
        RuntimeError
            Before ``train``.
        """
        self._require_model("save", trained=False)
        meta, arrays = featurizer_state(self.featurizer)
        if self.center is not None:
            arrays["center"] = self.center
        if self.reference is not None:
            arrays["reference/hidden"], arrays["reference/labels"], arrays["reference/weights"] = self.reference
        arrays["calibration"] = np.array(self.calibration, dtype=np.float64)
        if self.prior_shift is not None:
            arrays["prior_shift"] = self.prior_shift
        # a network never trained since the constructor or from_config built it: train may build it anew
        saved = {"config": self.get_config(), "state": meta, "untrained_build": self._rebuildable}
        if self._refit_rows is not None:
            saved["refit_rows"] = self._refit_rows
        if self.background is not None:
            saved["background"] = self.background
        if self.neighbors is not None:
            saved["neighbors"], nb_arrays = self.neighbors.get_state()
            arrays.update(prefixed("neighbors", nb_arrays))
        save_model_file(self.model, path, optimizer_state, extra={AUTOML_KEY: saved},
                   extra_arrays=prefixed("automl", arrays))

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = False, verify: bool | None = None,
             optimizer_state: bool = True) -> UniversalDeepTransformer:
        """A model saved by ``save``: it predicts what the saved one did and can keep
        training (with ``optimizer_state``).

        Parameters
        ----------
        path : str or path-like
            A file ``save`` wrote.
        mmap : bool, default=False
            Map the arrays copy-on-write instead of reading them.
        verify : bool or None, default=None
            Check every array's CRC-32; None: when not ``mmap``.
        optimizer_state : bool, default=True
            Read Adam's moments too, when the file has them.

        Returns
        -------
        UniversalDeepTransformer
            The loaded model.

        Raises
        ------
        ModelFileError
            For a damaged file, or one ``sb.Model.save`` wrote (a network without columns).
        """
        model, manifest, arrays = load_model_file(path, mmap, verify, optimizer_state)
        saved = manifest.get(AUTOML_KEY)
        if saved is None:
            raise ModelFileError(path, None, "holds a network without columns (saved by sb.Model.save, not by "
                                 f"{_OWNER}.save); load it with sb.Model.load")
        try:
            udt = cls.from_config(saved["config"], build=False)  # the file's network, not a fresh one
            ours = unprefixed("automl", arrays)
            set_featurizer_state(udt.featurizer, saved["state"], ours)
            if "center" in ours:
                udt.center = np.array(take(_OWNER, ours, "center", (model.layer("embedding").dim,), np.float32))
            if "reference/labels" in ours:  # files saved before it have none
                labels = np.array(take_vector(_OWNER, ours, "reference/labels", np.int32, 0, model.output.layer.dim))
                n = labels.shape[0]
                hidden = np.array(take(_OWNER, ours, "reference/hidden", (n, model.layer("embedding").dim), np.float16))
                if not np.isfinite(hidden).all():
                    raise ValueError("its kept training rows ('reference/hidden') must be finite")
                weights = np.ones(n, dtype=np.float32)  # files saved before forget weighed them
                if "reference/weights" in ours:
                    weights = np.array(take(_OWNER, ours, "reference/weights", (n,), np.float32))
                    if not (np.isfinite(weights).all() and (weights >= 0).all() and (weights <= 1).all()):
                        raise ValueError("its kept training rows' weights ('reference/weights') must be in [0, 1]")
                udt.reference = (hidden, labels, weights)
            if "calibration" in ours:
                a, c = take(_OWNER, ours, "calibration", (2,), np.float64).tolist()
                if not (np.isfinite(a) and np.isfinite(c)):
                    raise ValueError(f"its probability calibration must be finite, not {(a, c)}")
                udt.calibration = (a, c)
            if "prior_shift" in ours:  # files saved before it have none
                udt.prior_shift = np.array(take_vector(_OWNER, ours, "prior_shift", np.float32))
                if not (np.isfinite(udt.prior_shift).all() and udt.prior_shift.shape[0] <= model.output.layer.dim):
                    raise ValueError(f"its output biases' shift ('prior_shift') must be finite and at most "
                                     f"{model.output.layer.dim} long")
            if "background" in saved:  # files saved before it have none
                udt.background = _checked_background(saved["background"], udt.featurizer.columns(False))
            if "neighbors" in saved:
                udt.neighbors = ItemNeighbors.from_state(saved["neighbors"], unprefixed("neighbors", ours),
                                                         model.output.layer.dim)
            shapes = (model.inputs[0].layer.dim, model.output.layer.dim)
            if shapes != (udt.input_dim, udt.n_classes):
                raise ValueError(f"its network maps {shapes[0]} features to {shapes[1]} classes, its columns "
                                 f"{udt.input_dim} features to {udt.n_classes} classes")
            numbers = getattr(model.layer("embedding"), "features", [])
            if numbers != udt.featurizer.periodic_features():
                raise ValueError(f"its network reads numbers at features {numbers[:8]}, its columns give them at "
                                 f"{udt.featurizer.periodic_features()[:8]}")
            if udt._cumulative and model.output.layer.activation != "sigmoid":
                raise ValueError(f"its numerical target's cumulative bins need a sigmoid output, its network has "
                                 f"{model.output.layer.activation!r}")
        # AttributeError: a list where the manifest holds a table ({...}), and the like;
        # OverflowError: a count beyond int64
        except (AttributeError, KeyError, OverflowError, TypeError, ValueError) as e:
            if isinstance(e, AttributeError) and not json_misfit(e):
                raise
            raise ModelFileError(path, "manifest.json", f"holds a {_OWNER} that cannot be rebuilt ({e})") from None
        untrained = saved.get("untrained_build", False)  # files written before it was kept: trained
        if not isinstance(untrained, bool):
            raise ModelFileError(path, "manifest.json", f"says untrained_build={untrained!r}; expected true or false")
        refit_rows = saved.get("refit_rows")
        if refit_rows is not None and not (isinstance(refit_rows, str) and re.fullmatch(r"[0-9a-f]{32}", refit_rows)):
            raise ModelFileError(path, "manifest.json", f"says refit_rows={refit_rows!r}; expected 32 hexadecimal "
                                 f"digits")
        udt.model = model
        udt._untrained_build, udt._refit_rows = untrained, refit_rows
        unfitted = udt.featurizer.unfitted()
        if udt.trained and unfitted:  # else predict would fit them on the rows it is given
            raise ModelFileError(path, "manifest.json", f"holds a {_OWNER} that cannot be rebuilt (trained, it has "
                                 f"no {'; no '.join(unfitted)}: training sets them)")
        return udt

    def __repr__(self):
        return f"UniversalDeepTransformer(target={self.target!r}, n_classes={self.n_classes}, " \
               f"columns={list(self.data_types)})"

