"""Featurization: the typed columns of a chunk of rows become CSR rows of one hashed sparse
input space, and the target column becomes label sets.

Every feature is a token hashed with a salt of its column (and role), so equal strings in
different columns never share an id by construction, only by collision in ``input_dim``. The
places of numbers that pass through the periodic embedding are the exception: they take the
last ids of the input, which no hashed token takes.

Modes: 'train' grows the input vocabularies and the label map and records interactions;
'eval' maps unseen values to the unknown bucket, counts unknown labels as misses and records
interactions; 'predict' reads no labels and records nothing.
"""
import calendar
import datetime
import itertools
import re
import warnings

import numpy as np

from ..data.batch import Labels
from ..data.csv import CodedColumn, is_missing_marker
from ..data.text import (NO_FREQUENCIES, cached_inverse, document_frequencies, merged_frequencies, salt,
                         string_hashes, token_hashes, weigh, word_pair_counts)
from ..kernels import featurize as fk
from . import types as T
from .temporal import InteractionHistory

# the value of a missing or unseen category, and of a missing text (cannot come from a CSV)
UNKNOWN = "\x00"
# items of a user's history that also count as "recent" (a second, sharper token set)
RECENT = 5
# a number's exact values also give the target's mean over each value's training rows, as a
# place of its own for the periodic embedding: folds of the training rows (by a hash of a
# row's inputs), a row's own fold left out of its value's mean (its own target never reaches
# its input), and pseudo-rows of the chunk's mean that shrink a value's mean
STAT_FOLDS, STAT_PRIOR = 5, 1.0
_DATE_PARTS = ("weekday", "month", "week_of_year", "week_of_month", "year")


# as many of a user's past items as there are
_ALL = 1 << 62


def _distinct(values):
    """(the distinct values in order of first appearance, int64[n]: each value's place
    among them): a column repeats few values, worked out once each."""
    if isinstance(values, CodedColumn):  # the compiled CSV reader found them
        return list(values.distinct), values.codes
    # one pass (a NaN is looked up as the object it is, so each its own code): on adult's
    # columns a third faster than listing the distinct values first, then each value's code
    codes = {}
    first = codes.setdefault
    index = [first(v, len(codes)) for v in values]
    return list(codes), np.array(index, dtype=np.int64)


def _distinct_codes(codes, n):
    """np.unique(codes, return_inverse=True) of codes below ``n`` (a vocabulary's places),
    by flags instead of a sort: (used int64[u] ascending, place int64[len(codes)]). Sorting
    every history entry of MovieLens' rows was 0.4 s of its 0.85 s of featurizing."""
    codes = np.asarray(codes, dtype=np.int64)
    present = np.zeros(n, dtype=bool)
    present[codes] = True
    return np.flatnonzero(present), (np.cumsum(present) - 1)[codes]


def _salted(strings, role_salt):
    distinct, index = _distinct(strings)
    hashes = fk.ngram_hashes(np.arange(len(distinct) + 1, dtype=np.int64), string_hashes(distinct),
                             fk.UNIGRAMS, role_salt)[1]
    return hashes[index]


def _holds_times(values, chunk):
    """Whether a NumPy datetime64 or timedelta64 is among ``values``: NumPy reads them as
    numbers, float() refuses them. A CSV file's chunk holds strings only."""
    return not chunk.is_file and any(issubclass(t, (np.datetime64, np.timedelta64)) for t in set(map(type, values)))


class _Entries:
    """(row, hash, value) entries of a chunk, gathered part by part."""

    def __init__(self):
        self.rows, self.hashes, self.vals = [], [], []

    def add(self, rows, hashes, vals):
        self.rows.append(np.asarray(rows, dtype=np.int64))
        self.hashes.append(np.asarray(hashes, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float32), (len(self.rows[-1]),)))

    def add_csr(self, offsets, hashes, vals):
        self.add(np.repeat(np.arange(offsets.shape[0] - 1), np.diff(offsets)), hashes, vals)

    def extend(self, other):
        self.rows += other.rows
        self.hashes += other.hashes
        self.vals += other.vals

    def grouped(self, n_rows):
        """(offsets int64[n + 1], hashes int64[nnz], vals float32[nnz]) grouped by row."""
        if not self.rows:
            return np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        return fk.group_by_row(n_rows, np.concatenate(self.rows), np.concatenate(self.hashes),
                               np.concatenate(self.vals).astype(np.float32))


_INTEGRAL = re.compile(r"-?\d+\.0+")
# a numerical target's values its bins' quantiles are taken from, at most (a uniform sample
# of a larger source): 8 MB, where every value of a source streamed for want of memory was
# held; quantiles of a million values are within a thousandth of their rank
SAMPLED_TARGET_VALUES = 1 << 20
# values that hold several: a categorical column takes one a row (or a delimited string)
_CONTAINERS = (list, tuple, dict, set, frozenset, np.ndarray)
# a value no string reads as: its str() is "b'red'"
_BYTES = (bytes, bytearray)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# a float64 repr this long (of 17 at most) that a float32 holds exactly: a widened float32 (1e-8:
# 9.99999993922529e-09), not a decimal someone wrote
_WIDENED_DIGITS = 15


def category(v):
    """A categorical value (or id, or label) as its string, an integral float written as its
    integer: pandas reads an integer column with a blank as floats, and writes them back to
    a CSV file so ('10001.0'); both are the '10001' of the rows without blanks."""
    if isinstance(v, str):
        if "." in v and _INTEGRAL.fullmatch(v):
            v = v[:v.index(".")]
            return "0" if v == "-0" else v
        return v
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if v.is_integer() else _decimal(v)
    return str(v)


def _decimal(v):
    """A float's string as a file holds it: a float32 widened to float64 (a float32 column's
    tolist, to_dict), whose shortest decimal shows the widening's noise in its last digits,
    as the float32's: 0.10000000149011612 is the '0.1' a file, a float64 column and a float32
    scalar give; a float64 that a float32 holds exactly keeps its own ('1000000.0', not
    '1e+06')."""
    if isinstance(v, np.floating) and v.dtype.itemsize < 8:  # float16, float32: their shortest decimal
        return str(v)
    text = repr(float(v))
    if abs(v) <= _FLOAT32_MAX and _significant_digits(text) >= _WIDENED_DIGITS:  # (NaN fails the first)
        narrow = np.float32(v)
        if float(narrow) == float(v):  # in float64: NumPy would compare a Python float in float32
            return str(narrow)
    return text


def _significant_digits(text):
    """The significant digits of a float's repr ('0.10000000149011612': 17)."""
    mantissa = text.lstrip("-").split("e")[0].replace(".", "")
    return len(mantissa.strip("0"))


def _refuse_containers(values, chunk, column, expected, also=(), hint=""):
    """The row error of the first value of ``column`` that is a list, dict, array (then
    ``hint`` follows) or an ``also`` type: its string would be made-up tokens or one made-up
    category."""
    refused = _CONTAINERS + also
    if not any(issubclass(t, refused) for t in set(map(type, values))):  # the types first: a tenth of the time
        return
    for i, v in enumerate(values):
        if isinstance(v, refused):
            raise chunk.error(i, f"column {column!r}: expected {expected}, got a {type(v).__name__}"
                                 f"{hint if isinstance(v, _CONTAINERS) else ''}")


def _strings(values):
    return [UNKNOWN if v is None else category(v) for v in values]


def _text_strings(t, values):
    """A text column's values as the strings its tokens come from (lowercased if ``t`` says);
    a number reads as a file writes it (``_decimal``)."""
    strings = ["" if v is None else _decimal(v) if isinstance(v, (float, np.floating)) else str(v) for v in values]
    return [s.lower() for s in strings] if t.lowercase else strings


# the words of a text's first rows that tell whether their order carries anything (real
# text tells within 2,000 rows of reviews or glosses; 0.035-0.037 s with both counts)
ORDER_SAMPLE_WORDS = 100_000


def _orderless(strings, words_a_row):
    """Whether shuffling each string's words leaves its word pairs as many
    (``T.ORDERLESS_RATIO``) and as spread (``T.ORDERLESS_SPREAD``), once enough pairs
    repeat to tell (``T.ORDERLESS_MIN_REPEATS``), over the first rows of
    ``ORDER_SAMPLE_WORDS`` words (``words_a_row``: their counts). Both: a few words in an
    order of their own (events of a log) make every pair either way, only some more often."""
    rows = int(np.searchsorted(np.cumsum(words_a_row), ORDER_SAMPLE_WORDS)) + 1
    ordered, shuffled = word_pair_counts(strings[:rows])
    squares = [float(np.square(c, dtype=np.float64).sum()) for c in (ordered, shuffled)]
    return (shuffled.sum() - shuffled.size >= T.ORDERLESS_MIN_REPEATS
            and ordered.size >= T.ORDERLESS_RATIO * shuffled.size
            and squares[1] >= T.ORDERLESS_SPREAD * squares[0])


class LabelMap:
    """Target values <-> output ids. String labels get ids in order of first appearance in
    training (at most ``n_classes`` of them); integer labels are the ids."""

    def __init__(self, column, ctype):
        self.column = column
        self.n_classes = ctype.n_classes
        self.label_type = ctype.label_type
        self.delimiter = ctype.delimiter
        self.labels = []
        self.index = {}
        # the outputs of a built network: training data cannot grow the labels past them
        self.outputs = None

    @property
    def size(self):
        """Output width: n_classes, or the labels seen so far when n_classes was not given."""
        return self.n_classes if self.n_classes is not None else len(self.labels)

    @property
    def binary(self):
        """Whether the target has two classes (known once training has read its labels)."""
        return self.size == 2

    def sort(self):
        """Give the labels seen so far ids in sorted order."""
        self.labels.sort()
        self.index = {label: i for i, label in enumerate(self.labels)}

    def _add(self, label, chunk, i):
        if self.n_classes is not None and len(self.labels) >= self.n_classes:
            raise chunk.error(i, f"target column {self.column!r} has more than n_classes={self.n_classes} "
                                 f"distinct labels (the next is {label!r})")
        if self.outputs is not None and len(self.labels) >= self.outputs:
            raise chunk.error(i, f"target column {self.column!r} has the label {label!r}, which the trained "
                                 f"model has no output for (its {self.outputs} classes come from earlier "
                                 f"training); add a class with introduce_label(rows, label) first")
        self.index[label] = len(self.labels)
        self.labels.append(label)
        return self.index[label]

    def to_ids(self, values, chunk, grow):
        """Labels of the rows and how many label values were not in the map (eval only)."""
        if self.label_type != "int" and not self.delimiter and None not in values:
            fast = self._single_ids(values, chunk, grow)
            if fast is not None:
                return fast
        lists, unknown = [], []
        for i, v in enumerate(values):
            if v is None:
                raise chunk.error(i, f"the target column {self.column!r} is empty; every training and "
                                     f"evaluation row needs a label")
            self._check_single(v, chunk, i)
            parts = [category(p) for p in str(v).split(self.delimiter)] if self.delimiter else [category(v)]
            if not any(parts):  # only delimiters: as empty as an empty field
                raise chunk.error(i, f"the target column {self.column!r} holds no label ({v!r}); every training "
                                     f"and evaluation row needs a label")
            ids, missed = [], 0
            for p in parts:
                if not p:
                    continue
                if self.label_type == "int":
                    try:
                        k = int(p)
                    except ValueError:
                        k = -1
                    if not 0 <= k < self.n_classes:
                        raise chunk.error(i, f"target column {self.column!r}: expected an integer label in "
                                             f"[0, {self.n_classes}), got {p!r}")
                    ids.append(k)
                    continue
                k = self.index.get(p)
                if k is None:
                    if not grow:
                        missed += 1
                        continue
                    k = self._add(p, chunk, i)
                ids.append(k)
            lists.append(ids)
            unknown.append(missed)
        listed = Labels.from_lists(lists)
        # each row's labels the model never saw, which recall counts as not found
        return Labels(listed.offsets, listed.ids, unknown=unknown), sum(unknown)

    def _check_single(self, v, chunk, i):
        if isinstance(v, _CONTAINERS + _BYTES):  # its string would be one made-up class
            hint = "; give several as one string and sb.types.categorical(delimiter=...)" \
                if isinstance(v, _CONTAINERS) else ""
            raise chunk.error(i, f"target column {self.column!r}: expected one label a row (a string or a "
                                 f"number), got a {type(v).__name__}{hint}")

    def _single_ids(self, values, chunk, grow):
        """``to_ids`` of string labels one a row, by whole columns; None when a row needs
        the general path (an empty label)."""
        try:
            names, index = _distinct(values)
            # 1, 1.0 and True are one dict key but not one label
            mixed = not all(type(v) is str for v in names)
        except TypeError:  # an unhashable value (a list)
            mixed = True
        if mixed:  # as strings first
            for i, v in enumerate(values):
                self._check_single(v, chunk, i)
            names, index = _distinct([category(v) for v in values])
        names = [category(v) for v in names]
        if "" in names:
            return None
        if grow and any(name not in self.index for name in names):
            first_rows = np.unique(index, return_index=True)[1]  # codes count up in order of first appearance
            for name, i in zip(names, first_rows):
                if name not in self.index:
                    self._add(name, chunk, int(i))
        ids = np.array([self.index.get(name, -1) for name in names], dtype=np.int32)[index]
        known = ids >= 0
        unknown = (~known).astype(np.int32)
        return Labels(np.concatenate([[0], np.cumsum(known)]).astype(np.int64), ids[known], unknown=unknown), \
            int(unknown.sum())

    def name(self, i):
        """The label of output ``i`` (None for a forgotten one)."""
        return i if self.label_type == "int" else self.labels[i]

    @property
    def forgotten(self):
        """How many ids ``forget`` freed that no label has taken again (``index`` holds the
        named ones only)."""
        return len(self.labels) - len(self.index)

    def add(self, label):
        """The id of a new label, in the slot of a forgotten one if there is one."""
        free = [i for i, lab in enumerate(self.labels) if lab is None]
        if free:
            self.labels[free[0]] = label
        else:
            self.labels.append(label)
        self.index[label] = free[0] if free else len(self.labels) - 1
        return self.index[label]

    def forget(self, label):
        """Free the id of ``label`` (its slot stays, named None, for the next label added)."""
        i = self.index.pop(label)
        self.labels[i] = None
        return i

    def get_config(self):
        return {"labels": list(self.labels)} if self.label_type == "str" else {}

    def set_config(self, cfg):
        labels = cfg.get("labels", [])
        named = [lab for lab in labels if lab is not None] if isinstance(labels, list) else None
        # a label as a number (predict would answer 1 for '1') or named twice: a hand-edited file
        if named is None or not all(isinstance(lab, str) for lab in named) or len(set(named)) != len(named):
            raise ValueError(f"the labels must be a list of distinct strings (or null for a freed id), got "
                             f"{labels!r:.80}")
        self.labels = list(labels)
        self.index = {lab: i for i, lab in enumerate(self.labels) if lab is not None}


# a numerical target's largest magnitude: sums of its values over a billion rows stay finite
MAX_TARGET = 1e298


class TargetBins:
    """A numerical target through bins at the quantiles of its training values (every row of
    the first ``train``, a uniform sample of ``SAMPLED_TARGET_VALUES`` where it has more;
    ``ctype.bins`` of them, 10 when None, or given by ``ctype.range``),
    between the lowest and the highest value (``bounds``). With ``encoding='cumulative'`` (a new model's) output
    k says how far a row's value passes bound k towards bound k + 1 (1 below the value's bin,
    the fraction of its bin, 0 above: a sigmoid output each, ``cumulative_labels``), and the
    prediction is the lowest bound plus the outputs times their bins' widths: the outputs
    share the order of the bins, and a value falls anywhere within its bin. With 'bins'
    (files saved before 'cumulative') a row's label is its value's bin, and the prediction is
    the bins' training means weighted by a softmax over them (regression by classification,
    as BOLT's UDT does it; docs/automl.md, "Numerical targets and probabilities")."""

    label_type = "bins"
    n_classes = None
    delimiter = None
    binary = False
    ENCODINGS = ("cumulative", "bins")

    def __init__(self, column, ctype):
        self.column = column
        self.ctype = ctype
        self.encoding = "cumulative"
        self.edges = self.centers = self.bounds = None
        self.labels, self.index = [], {}

    @property
    def size(self):
        return 0 if self.centers is None else len(self.centers)

    @property
    def cumulative(self):
        return self.encoding == "cumulative"

    def values(self, values, chunk):
        """The target values of a chunk as float64 (an error naming the row for a missing or
        non-numeric one)."""
        try:  # read as an input column's numbers are
            x = _parsed_numbers(self.column, values, chunk)
            if np.isfinite(x).all():
                return x
        except ValueError:
            pass
        # a missing, non-numeric or non-finite value: the first, as the row-by-row parse meets it
        x = np.empty(len(values))
        for i, v in enumerate(values):
            try:
                x[i] = float(v)
            except (TypeError, ValueError, OverflowError):
                x[i] = np.nan
            if not np.isfinite(x[i]):
                raise chunk.error(i, f"the target column {self.column!r} needs a finite number in every "
                                     f"training and evaluation row, got {v!r}")
        return x

    def _check_range(self, low, high):
        """Refuse values whose bins' sums, centers and widths would overflow float64 (a
        prediction sums the widths): at most ``MAX_TARGET`` in magnitude."""
        if max(abs(low), abs(high)) > MAX_TARGET:
            raise ValueError(f"The target column {self.column!r} holds values from {low:g} to {high:g}; expected "
                             f"values of magnitude at most {MAX_TARGET:g}, whose sums float64 holds (scale the "
                             f"target down).")

    def fit(self, x):
        """The bins of the training values ``x`` (float64[n])."""
        if x.size:
            self._check_range(x.min(), x.max())
        edges = self._edges(x)
        self._set(edges, *_bin_sums(edges, x), x.min(), x.max())

    def fit_chunks(self, chunk_values, again, most=None, seed=0):
        """``fit`` of a streamed source's values, holding at most ``most`` of them
        (``SAMPLED_TARGET_VALUES`` when None): ``chunk_values`` yields them a chunk at a time
        (float64 arrays); past ``most``, the quantile edges come from a uniform sample of
        ``most`` values (seeded), and the range and bins' means from every value, the means in
        a second pass over ``again()``."""
        most = SAMPLED_TARGET_VALUES if most is None else most
        held, n = [], 0
        keys = sample = None
        low, high = np.inf, -np.inf
        rng = np.random.default_rng(seed)
        for x in chunk_values:
            low, high = min(low, x.min(initial=np.inf)), max(high, x.max(initial=-np.inf))
            if sample is None and n + x.shape[0] <= most:
                held.append(x)
                n += x.shape[0]
                continue
            if sample is None:  # the values held so far become the sample
                sample = np.concatenate(held) if held else np.zeros(0)
                keys, held = rng.random(sample.shape[0]), None
            # a uniform sample: the ``most`` values of the smallest random keys (a key above
            # the largest kept never gets in)
            drawn = rng.random(x.shape[0])
            new = drawn < keys.max() if keys.shape[0] >= most else slice(None)
            sample, keys = np.concatenate([sample, x[new]]), np.concatenate([keys, drawn[new]])
            if sample.shape[0] > most:
                keep = np.argpartition(keys, most - 1)[:most]
                sample, keys = sample[keep], keys[keep]
        if sample is None:
            self.fit(np.concatenate(held) if held else np.zeros(0))
            return
        self._check_range(low, high)
        edges = self._edges(sample)
        sums = counts = 0
        for x in again():
            s, c = _bin_sums(edges, x)
            sums, counts = sums + s, counts + c
        self._set(edges, sums, counts, low, high)

    def _edges(self, x):
        t = self.ctype
        n_bins = t.n_bins(target=True)
        return (np.linspace(t.range[0], t.range[1], n_bins + 1)[1:-1] if t.range is not None
                else quantile_edges(x, n_bins))

    def _set(self, edges, sums, counts, low, high):
        """The bins from their ``edges``, each bin's sum and count of values, and the lowest
        and highest value."""
        t = self.ctype
        mean = sums.sum() / max(counts.sum(), 1)
        # an empty bin's center: the middle of its edges (the end bins: the edge itself)
        lo = np.concatenate([[edges[0] if len(edges) else mean], edges])
        hi = np.concatenate([edges, [edges[-1] if len(edges) else mean]])
        self.edges = edges.astype(np.float64)
        self.centers = np.where(counts > 0, sums / np.maximum(counts, 1), (lo + hi) / 2).astype(np.float64)
        low, high = (t.range if t.range is not None else (low, high))
        self.bounds = np.concatenate([[min(low, lo[0])], edges, [max(high, hi[-1])]]).astype(np.float64)

    def to_ids(self, values, chunk, grow):
        x = self.values(values, chunk)
        if self.centers is None:
            if not grow:
                raise ValueError("the target's bins are fitted on training data first")
            self.fit(x)
        elif grow and self.cumulative:
            low, high = self.bounds[0], self.bounds[-1]
            outside = int(((x < low) | (x > high)).sum())
            if outside:
                origin = ("the range its type gives" if self.ctype.range is not None
                          else "the range of the first training rows that its bins were fitted on")
                warnings.warn(f"{chunk.source}: {outside} of {len(x)} training values of the target column "
                              f"{self.column!r} lie outside [{low:g}, {high:g}], {origin}; they are learned, and "
                              f"predicted, as the nearest end (a model trained on the new range learns it)",
                              stacklevel=4)
        bins = np.searchsorted(self.edges, x, side="right")
        if self.cumulative:
            return cumulative_labels(self.bounds, x, bins), 0
        return Labels(np.arange(len(x) + 1, dtype=np.int64), bins.astype(np.int32)), 0

    def values_of(self, labels):
        """float64[n]: each row's value as its labels give it: the value itself (within the
        bounds) from cumulative ones, its bin's mean from a bin."""
        if not self.cumulative:
            return self.centers[labels.ids[labels.offsets[:-1]]]
        rows = np.repeat(np.arange(labels.batch_size), np.diff(labels.offsets))
        return self.bounds[0] + np.bincount(rows, weights=labels.vals * np.diff(self.bounds)[labels.ids],
                                            minlength=labels.batch_size)

    def predicted(self, outputs):
        """float64[n]: the values the output layer's activations (float[n, size]) predict."""
        p = np.asarray(outputs, dtype=np.float64)
        if self.cumulative:
            return self.bounds[0] + p @ np.diff(self.bounds)
        return (p @ self.centers) / np.maximum(p.sum(axis=1), 1e-12)

    def name(self, i):
        return float(self.centers[i])

    def get_config(self):
        if self.centers is None:
            return {}
        cfg = {"edges": self.edges.tolist(), "centers": self.centers.tolist(), "encoding": self.encoding}
        if self.bounds is not None:  # none in a file saved before cumulative bins
            cfg["bounds"] = self.bounds.tolist()
        return cfg

    def set_config(self, cfg):
        if "centers" in cfg:
            self.edges = np.asarray(cfg["edges"], dtype=np.float64)
            self.centers = np.asarray(cfg["centers"], dtype=np.float64)
            if self.centers.shape != (self.edges.shape[0] + 1,) or not np.isfinite(self.centers).all():
                raise ValueError("the target's bin centers must be finite, one more than its edges")
            # saved before cumulative labels: a softmax over the bins
            self.encoding = cfg.get("encoding", "bins")
            if self.encoding not in self.ENCODINGS:
                raise ValueError(f"the target's encoding must be one of {list(self.ENCODINGS)}, got {self.encoding!r}")
            bounds = cfg.get("bounds")
            self.bounds = np.asarray(bounds, dtype=np.float64) if isinstance(bounds, list) else None
            if self.cumulative or self.bounds is not None:
                if self.bounds is None or self.bounds.shape != (self.edges.shape[0] + 2,) or \
                        not np.isfinite(self.bounds).all() or (np.diff(self.bounds) < 0).any() or \
                        (len(self.edges) and (self.bounds[1:-1] != self.edges).any()):
                    raise ValueError("the target's bounds must be finite and increasing, its edges between "
                                     "its lowest and highest value")


def cumulative_labels(bounds, x, bins):
    """Labels of values ``x : float64[n]`` in bins ``bins : int64[n]`` of ``bounds :
    float64[K + 1]``: for each row, output k < its bin with value 1 and its bin's own output
    with the fraction of the bin below the value (0 to 1, clipped; kept at 0 too, so that a
    row's last label is its bin). bounds[0] + sum of value x width of k is the value clipped
    to [bounds[0], bounds[K]]; a bin of no width counts 1 once the value reaches it."""
    width = np.diff(bounds)
    low = bounds[bins]
    frac = np.where(width[bins] > 0, (x - low) / np.where(width[bins] > 0, width[bins], 1.0),
                    (x >= bounds[bins + 1]).astype(np.float64))
    counts = bins + 1
    offsets = np.zeros(len(x) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    row_start = np.repeat(offsets[:-1], counts)
    ids = np.arange(offsets[-1], dtype=np.int64) - row_start
    vals = np.ones(offsets[-1], dtype=np.float32)
    vals[offsets[1:] - 1] = np.clip(frac, 0.0, 1.0)
    return Labels(offsets, ids.astype(np.int32), vals)


class NodeIndex:
    """For each graph node: its own features (salted hashes and values, before any graph
    features) and its neighbors, from ``index_nodes`` and every row featurized."""

    def __init__(self):
        self.features = {}
        self.neighbors = {}

    def __len__(self):
        return len(self.features)

    def __deepcopy__(self, memo):
        # an entry is replaced, never changed in place: copies of the dicts are a snapshot (a
        # first train's copy for its rollback took 0.43 s over wordnet_graph's 82,115 nodes)
        out = memo[id(self)] = NodeIndex()
        out.features, out.neighbors = dict(self.features), dict(self.neighbors)
        return out


def _parsed_numbers(column, values, chunk):
    """float64[n]: a column's ``values`` as numbers, nan where missing; an error naming
    the row for a value that is not a finite number."""
    # a column the compiled CSV reader coded: each distinct value parsed once
    parsed = values.distinct if isinstance(values, CodedColumn) else values
    try:  # numpy parses numbers and numeric strings as float() does, and None as nan, but for its times
        x = np.array(parsed, dtype=np.float64)
        if x.shape == (len(parsed),) and not _holds_times(parsed, chunk):
            # only the non-finite values can be missing ones: `None in values` compares every string
            if all(parsed[i] is None for i in np.flatnonzero(~np.isfinite(x))):
                return x[values.codes] if parsed is not values else x
    except (TypeError, ValueError, OverflowError):
        pass
    # pandas' missing markers ('NA', 'NaN', 'null' ...), or a bad value: the first, as the
    # row-by-row parse meets it
    x = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None or is_missing_marker(v):
            continue
        try:
            x[i] = float(v)
        except (TypeError, ValueError, OverflowError):
            raise chunk.error(i, f"column {column!r}: expected a number, got {v!r}") from None
        if not np.isfinite(x[i]):  # inf would make the bin edges inf and nan
            raise chunk.error(i, f"column {column!r}: expected a finite number, got {v!r}")
    return x


def _bin_sums(edges, x):
    """(float64 sums, int64 counts) of the values ``x`` in each bin between ``edges``."""
    bins = np.searchsorted(edges, x, side="right")
    return np.bincount(bins, weights=x, minlength=len(edges) + 1), np.bincount(bins, minlength=len(edges) + 1)


def quantile_edges(x, bins):
    """Inner bin edges from a sample of values: the quantiles of the values, together with
    the quantiles of their distinct values, so that a value that fills most of the sample
    (like the zeros of a capital gain) does not swallow the bins of the rest; such a value,
    a quantile twice over, gets a bin of its own."""
    if x.size == 0:
        return np.zeros(0)
    q = np.linspace(0, 1, bins + 1)[1:-1]
    by_count, by_value = _quantiles(x, q), _quantiles(np.unique(x), q)
    values, repeats = np.unique(by_count, return_counts=True)
    heavy = np.nextafter(values[repeats > 1], np.inf)
    return np.unique(np.concatenate([by_count, heavy, by_value]))


def _quantiles(x, q):
    """np.quantile(x, q) of finite ``x``; of halves where two values near float64's limit
    (+-1.7e308) differ by more than it holds (NumPy's quantile then gave -inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.quantile(x, q)
    return out if np.isfinite(out).all() else 2 * np.quantile(x / 2, q)


def _places(x, edges):
    """float64[n]: each value's place among ``edges`` (sorted, at least two), 0 to 1, linear
    between edges equally spaced: np.interp's, but where its slope overflows (edges a
    subnormal apart, 1e-310) from the fraction of each value's own interval."""
    ends = np.linspace(0.0, 1.0, edges.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):
        place = np.interp(x, edges, ends)
    bad = ~np.isfinite(place)
    if bad.any():
        j = np.clip(np.searchsorted(edges, x[bad], side="right") - 1, 0, edges.shape[0] - 2)
        low, width = edges[j] / 2, edges[j + 1] / 2 - edges[j] / 2  # halves: no difference overflows
        with np.errstate(divide="ignore", invalid="ignore"):
            part = np.where(width > 0, (x[bad] / 2 - low) / width, 0.0)
        place[bad] = ends[j] + np.clip(part, 0.0, 1.0) * (ends[1] - ends[0])
    return place


class EvenSample:
    """An even sample of a stream of arrays of any length, in bounded memory: the values
    whose place in the stream hashes to ``level`` low bits of zero, a level more (half of
    them) whenever more than ``most`` are kept. A hash, not every 2^level-th place: rows
    that come in pairs or groups of 2^k would lose whole phases of them."""

    def __init__(self, most=1 << 20):
        self.values_, self.keys, self.kept, self.level, self.seen, self.most = [], [], 0, 0, 0, most

    def add(self, x):
        keys = fk.int_hashes(np.arange(self.seen, self.seen + x.shape[0], dtype=np.int64), 0)
        self.seen += x.shape[0]
        self._keep(x, keys)
        while self.kept > self.most:
            self.level += 1
            values, keys = np.concatenate(self.values_), np.concatenate(self.keys)
            self.values_, self.keys, self.kept = [], [], 0
            self._keep(values, keys)

    def _keep(self, values, keys):
        kept = (keys & ((1 << self.level) - 1)) == 0  # a mask's selection copies: no chunk stays held
        self.values_.append(values[kept])
        self.keys.append(keys[kept])
        self.kept += int(kept.sum())

    def values(self):
        return np.concatenate(self.values_) if self.values_ else np.zeros(0)


def _smoothed_probability(keys, n_keys, labels, n_classes, rows, other, base):
    """P(label | key) of each of the ``other`` rows, from the counts of (key, label) over
    ``rows`` with ``base`` as the prior (one pseudo-row); ``base`` where its key is unseen.
    keys : int64[n] in [0, n_keys), labels : int64[n] in [0, n_classes), rows / other : int64
    indices, base : float64[len(other)]"""
    key_counts = np.bincount(keys[rows], minlength=n_keys)[keys[other]]
    pairs, wanted = keys[rows] * n_classes + labels[rows], keys[other] * n_classes + labels[other]
    if n_keys * n_classes <= 1 << 22:
        count = np.bincount(pairs, minlength=n_keys * n_classes)[wanted]
    else:  # many values and classes: count the pairs that occur
        pairs, pair_counts = np.unique(pairs, return_counts=True)
        hit = np.minimum(np.searchsorted(pairs, wanted), pairs.shape[0] - 1)
        count = np.where(pairs[hit] == wanted, pair_counts[hit], 0)
    return np.where(key_counts > 0, (count + base) / (key_counts + 1.0), base)


def _smoothed_table(keys, n_keys, labels, n_classes, rows, prior):
    """P(class | key), float64[n_keys, n_classes], from the counts of (key, class) over
    ``rows`` with ``prior`` (float64[n_classes]) as one pseudo-row. keys : int64[n] in
    [0, n_keys), labels : int64[n] in [0, n_classes)"""
    counts = np.bincount(keys[rows] * n_classes + labels[rows], minlength=n_keys * n_classes).reshape(n_keys, n_classes)
    return (counts + prior) / (counts.sum(axis=1, keepdims=True) + 1.0)


def _smoothed_mean(keys, n_keys, y, rows, other, base):
    """The mean of ``y`` over the ``rows`` of each of the ``other`` rows' key, with ``base``
    as one pseudo-row; ``base`` where its key is unseen. keys : int64[n] in [0, n_keys),
    y : float64[n], rows / other : int64 indices, base : float64[len(other)]"""
    counts = np.bincount(keys[rows], minlength=n_keys)[keys[other]]
    sums = np.bincount(keys[rows], weights=y[rows], minlength=n_keys)[keys[other]]
    return (sums + base) / (counts + 1.0)


def exact_value_gain(x, labels, edges, seed, z=0.0):
    """Nats a row of log-loss that a number's exact value saves over its bin when predicting
    the target of rows it was not counted from (two halves, each predicting the other), less
    ``z`` standard errors of that mean over the rows. A class target (``labels`` int64):
    class frequencies by value and by bin; a numerical one (float64, its values): means by
    value and by bin, the squared error saved over twice the target's variance (a normal
    error's nats).

    x : float64[n] (nan where missing), labels : int64[n] one class a row or float64[n],
    edges : float64[b]"""
    present = np.flatnonzero(~np.isnan(x))
    if present.shape[0] < 4:
        return 0.0
    x, labels = x[present], labels[present]
    values = np.unique(x)
    # each row's value among them: a search where the values are few (NumPy's argsort for
    # return_inverse took 5 ms on adult's 39,000 capital gains of 120 values, the search
    # 0.4 ms), the argsort where most are distinct (2 ms against 5 ms for 24,600 weights)
    codes = (np.searchsorted(values, x) if values.shape[0] * 16 <= x.shape[0]
             else np.unique(x, return_inverse=True)[1])
    bins = np.searchsorted(edges, x, side="right")
    return _key_gain(codes, values.shape[0], bins, edges.shape[0] + 1, labels, seed, z)


def _key_gain(codes, n_codes, bins, n_bins, labels, seed, z):
    """The gain of ``exact_value_gain`` with each row's value as ``codes`` (int64[n] in
    [0, n_codes)) and its bin as ``bins`` (int64[n] in [0, n_bins))."""
    halves = _halves(codes.shape[0], seed)
    numbers = labels.dtype.kind == "f"
    n_classes = 0 if numbers else int(labels.max()) + 1
    saved = []
    for rows, other in (halves, halves[::-1]):
        if numbers:
            by_bin = _smoothed_mean(bins, n_bins, labels, rows, other, np.full(other.shape[0], labels[rows].mean()))
            by_value = _smoothed_mean(codes, n_codes, labels, rows, other, by_bin)
            saved.append(((labels[other] - by_bin) ** 2 - (labels[other] - by_value) ** 2)
                         / (2 * max(labels.var(), 1e-300)))
            continue
        prior = (np.bincount(labels[rows], minlength=n_classes) + 1.0) / (rows.shape[0] + n_classes)
        by_bin = _smoothed_probability(bins, n_bins, labels, n_classes, rows, other, prior[labels[other]])
        by_value = _smoothed_probability(codes, n_codes, labels, n_classes, rows, other, by_bin)
        saved.append(np.log(by_value) - np.log(by_bin))
    return _lower_bound(saved, z)


def _halves(n, seed):
    """The two seeded random halves (int64 indices) of ``n`` rows that the gains count on
    and predict in turn."""
    order = np.random.default_rng(seed).permutation(n)
    return order[: n // 2], order[n // 2:]


def _lower_bound(saved, z):
    """The mean of the nats ``saved`` ([float64[m], ...], a row each) less ``z`` standard
    errors of it."""
    saved = np.concatenate(saved)
    return float(saved.mean() - z * saved.std() / np.sqrt(saved.shape[0]))


def exact_pair_gains(values, seen, pairs, labels, seed, z=0.0):
    """``exact_value_gain`` of each two numbers of ``pairs`` together: nats a row that the
    pair of their exact values saves, over the rows holding both, over the best of what the
    network gets without it: each column alone, as it sees the column (its bin or part, or its exact
    value where it has exact values), and the two added up (a numerical target's means less
    the overall one, a class target's naive Bayes product). The network has no token of a
    pair of bins: a pair that names the target only together gains even where each column's
    bins tell its values apart. Each column's estimates are counted once for every pair it
    joins (the same two halves of the rows for all).

    values : {column: int64[n]} each column's exact value as a code, -1 where missing,
    seen : {column: int64[n]} its key as the network sees it, pairs : [(column, column)],
    labels : as ``exact_value_gain``'s, of at most ``Numerical.EXACT_PAIR_MAX_CLASSES``
    classes. Returns [float]"""
    n = labels.shape[0]
    if not pairs or n < 4:
        return [0.0] * len(pairs)
    halves = _halves(n, seed)
    numbers = labels.dtype.kind == "f"
    n_classes = 0 if numbers else int(labels.max()) + 1
    columns = {c for pair in pairs for c in pair}
    keys = {c: np.unique(seen[c], return_inverse=True)[1] for c in columns}  # at most a key a value
    directions = []
    for rows, other in (halves, halves[::-1]):
        # each column's estimates from the rows holding it: by row of the other half for a
        # number, by key and class for classes (a row's are its key's)
        if numbers:
            prior = np.full(other.shape[0], labels[rows].mean())
            each = {c: _smoothed_mean(keys[c], int(keys[c].max()) + 1, labels, rows[values[c][rows] >= 0], other, prior)
                    for c in columns}
        else:
            prior = (np.bincount(labels[rows], minlength=n_classes) + 1.0) / (rows.shape[0] + n_classes)
            each = {c: _smoothed_table(keys[c], int(keys[c].max()) + 1, labels, n_classes,
                                       rows[values[c][rows] >= 0], prior) for c in columns}
        directions.append((rows, other, prior, each))
    gains = []
    for a, b in pairs:
        both = (values[a] >= 0) & (values[b] >= 0)
        if np.count_nonzero(both) < 4:
            gains.append(0.0)
            continue
        # under 1,001 x 1,001: the gate weighs columns of at most EXACT_PAIR_MAX_VALUES values
        key = np.where(both, values[a] * (int(values[b].max()) + 1) + values[b], 0)
        if (int(key.max()) + 1) * max(n_classes, 1) > 4 * n:  # counts mostly empty: the pairs held
            key = np.unique(key, return_inverse=True)[1]
        n_keys, whole = int(key.max()) + 1, both.all()
        scale = 2 * max((labels if whole else labels[both]).var(), 1e-300) if numbers else 1.0
        saved = []
        for rows, other, prior, each in directions:
            held = slice(None) if whole else both[other]
            rows, other = (rows, other) if whole else (rows[both[rows]], other[held])
            if numbers:
                ea, eb = each[a][held], each[b][held]
                base = min((ea, eb, ea + eb - prior[0]), key=lambda m: float(((labels[other] - m) ** 2).sum()))
                by_pair = _smoothed_mean(key, n_keys, labels, rows, other, base)
                saved.append(((labels[other] - base) ** 2 - (labels[other] - by_pair) ** 2) / scale)
                continue
            ea, eb = each[a][keys[a][other]], each[b][keys[b][other]]
            product = ea * eb / prior  # naive Bayes: the columns' evidence multiplied
            true = (np.arange(other.shape[0]), labels[other])
            base = max((ea[true], eb[true], (product / product.sum(axis=1, keepdims=True))[true]),
                       key=lambda p: float(np.log(p).sum()))
            by_pair = _smoothed_probability(key, n_keys, labels, n_classes, rows, other, base)
            saved.append(np.log(by_pair) - np.log(base))
        gains.append(_lower_bound(saved, z))
    return gains


def exact_keys(x):
    """float64[n]: numbers as their exact values are matched, at float32 precision (a column
    read as float32 and the same numbers given later as Python floats match; beyond float32's
    range, one infinite key each way)."""
    with np.errstate(over="ignore"):
        return x.astype(np.float32).astype(np.float64)


def exact_vocabulary(x, ctype, labels, edges, seed):
    """The values of a column that get a token of their own (float64[m] sorted, from
    ``exact_keys``), or None: the values held twice or more (the ``MAX_EXACT_VALUES`` most
    frequent, ties to the smaller) when ``ctype.exact`` is True, or is 'auto' and they pass
    ``exact_value_gain``; 'auto' takes no column whose bins hold one value each (the tokens
    would repeat the bins). ``labels``: int64[n] one class a row, or None when the target
    has none to give."""
    if ctype.exact is False or (ctype.exact == "auto" and labels is None):
        return None
    x = exact_keys(x)
    # beyond float32's range a value's key is infinite, which no model file holds: no token
    values, counts = np.unique(x[np.isfinite(x)], return_counts=True)
    held = np.flatnonzero(counts > 1)
    if held.shape[0] == 0:
        return None
    if ctype.exact == "auto":
        if np.unique(np.searchsorted(edges, values, side="right")).shape[0] == values.shape[0]:
            return None
        if exact_value_gain(x, labels, edges, seed, T.Numerical.EXACT_Z) < T.Numerical.EXACT_MIN_GAIN:
            return None
    return most_frequent(values[held], counts[held])


def most_frequent(values, counts):
    """``values`` (float64[m] sorted) less all but the ``MAX_EXACT_VALUES`` most frequent by
    ``counts`` (int64[m]; ties to the smaller), still sorted: the model file keeps them."""
    if values.shape[0] <= T.Numerical.MAX_EXACT_VALUES:
        return values
    return np.sort(values[np.argsort(-counts, kind="stable")[:T.Numerical.MAX_EXACT_VALUES]])


def exact_pair_vocabulary(xa, xb):
    """The pairs of two columns' values (``exact_keys``) held twice or more over the rows
    holding both, float64[m, 2] sorted by the first then the second (the ``MAX_EXACT_VALUES``
    most frequent, ties to the smaller). xa, xb : float64[n] (nan where missing)"""
    ka, kb = exact_keys(xa), exact_keys(xb)
    both = np.isfinite(ka) & np.isfinite(kb)  # as exact_vocabulary's values
    # one int64 key a pair: np.unique over rows of two floats (axis=0) took 10x as long
    first, ia = np.unique(ka[both], return_inverse=True)
    second, ib = np.unique(kb[both], return_inverse=True)
    keys, counts = np.unique(ia.astype(np.int64) * second.shape[0] + ib, return_counts=True)
    held = counts > 1
    keys, counts = keys[held], counts[held]
    if keys.shape[0] > T.Numerical.MAX_EXACT_VALUES:
        keys = keys[np.sort(np.argsort(-counts, kind="stable")[:T.Numerical.MAX_EXACT_VALUES])]
    return np.stack([first[keys // second.shape[0]], second[keys % second.shape[0]]], axis=1)


def exact_pair_index(pairs):
    """(first, second, known) of ``pairs`` (``exact_pair_vocabulary``'s, m >= 1) for
    ``exact_pair_codes``: each column's values (float64, sorted) and each pair's key
    (int64[m], increasing, as the pairs are sorted)."""
    first, second = np.unique(pairs[:, 0]), np.unique(pairs[:, 1])
    known = np.searchsorted(first, pairs[:, 0]).astype(np.int64) * second.shape[0] \
        + np.searchsorted(second, pairs[:, 1])
    return first, second, known


def exact_pair_codes(index, xa, xb):
    """int64[n]: each row's place among the pairs of ``index`` (``exact_pair_index``), -1
    where its pair is not among them or a number is missing. xa, xb : float64[n]"""
    first, second, known = index
    a, b = exact_keys(xa), exact_keys(xb)
    ia = np.minimum(np.searchsorted(first, a), first.shape[0] - 1)
    ib = np.minimum(np.searchsorted(second, b), second.shape[0] - 1)
    keys = ia.astype(np.int64) * second.shape[0] + ib
    at = np.minimum(np.searchsorted(known, keys), known.shape[0] - 1)
    return np.where((first[ia] == a) & (second[ib] == b) & (known[at] == keys), at, -1)


def exact_statistics(codes, y, n_values, folds):
    """(sums, counts), float64[STAT_FOLDS, n_values] each: the sum of ``y`` and the rows of
    each value in each fold. codes : int64[n] a row's value in [0, n_values) or -1 (none),
    y : float64[n], folds : int64[n]"""
    held = codes >= 0
    at = folds[held] * n_values + codes[held]
    size = STAT_FOLDS * n_values
    return (np.bincount(at, weights=y[held], minlength=size).reshape(STAT_FOLDS, n_values),
            np.bincount(at, minlength=size).astype(np.float64).reshape(STAT_FOLDS, n_values))


def stat_vocabulary(x):
    """The values whose target means are kept (float64[m] sorted, ``exact_keys``): every
    value of ``x`` (float64[n], no missing ones), the ``MAX_EXACT_VALUES`` most frequent
    when there are more (ties to the smaller). A value held once still tells a new row
    holding it (one row's mean, shrunk): training rows learn what such a mean is worth from
    the values held twice, whose other row is in another fold. Not a value beyond float32's
    range (an infinite key, which no model file holds)."""
    keys = exact_keys(x)
    return most_frequent(*np.unique(keys[np.isfinite(keys)], return_counts=True))


def exact_codes(known, x):
    """int64[n]: each number's index in ``known`` (float64[m] sorted, ``exact_keys``), -1
    where it is not among them. x : float64[n] without missing values"""
    if known.shape[0] == 0:
        return np.full(x.shape[0], -1, dtype=np.int64)
    keys = exact_keys(x)
    at = np.minimum(np.searchsorted(known, keys), known.shape[0] - 1)
    return np.where(known[at] == keys, at, -1).astype(np.int64)


# the unix times of 0001-01-01 and 9999-12-31 23:59:59, the years ISO dates are read in
UNIX_FIRST, UNIX_LAST = -62_135_596_800, 253_402_300_799


_CLOCK_WORDS = ("now", "today")
_CLOCK_WORD_CHARS = max(map(len, _CLOCK_WORDS))


def parse_times(column, ctype, values, chunk):
    """Seconds since 1970 (int64[n]) and the missing mask (bool[n]) of a date column."""
    n = len(values)
    secs = np.zeros(n, dtype=np.int64)
    missing = np.array([v is None or is_missing_marker(v) for v in values], dtype=bool)
    fmt = ctype.format
    present = [i for i in range(n) if not missing[i]]

    def bad(i, why=""):
        return chunk.error(i, f"column {column!r}: cannot read {values[i]!r} as a date in format {fmt!r}{why}")

    if fmt == "iso":
        # stripped as NumPy strips a leading space, not a trailing one
        strs = [str(values[i]).strip() for i in present]
        for k, v in enumerate(strs):
            # NumPy reads them as the clock's time: a different date each run
            if len(v) <= _CLOCK_WORD_CHARS and v.lower() in _CLOCK_WORDS:
                raise bad(present[k], ": a word for the current time is no date in the data")
        with warnings.catch_warnings():
            # a time with an offset ('Z', '+02:00') is read as UTC; NumPy warns that it keeps no zone
            warnings.filterwarnings("ignore", message="no explicit representation of timezones")
            try:
                parsed = np.array(strs, dtype="datetime64[s]")
            except ValueError:
                for i, s in zip(present, strs):
                    try:
                        np.datetime64(s, "s")
                    except ValueError:
                        raise bad(i) from None
        # NumPy reads 'NaT' (and '') as not-a-time, which is no date
        nat = np.isnat(parsed)
        if nat.any():
            raise bad(present[int(np.argmax(nat))])
        # and '20200115' (no dashes) or a unix time as a year in the millions
        years = parsed.astype("datetime64[Y]").astype(np.int64) + 1970
        odd = (years < 1) | (years > 9999)
        if odd.any():
            raise bad(present[int(np.argmax(odd))], ": its year is outside 1-9999; ISO dates are written "
                                                    "YYYY-MM-DD (give format='%Y%m%d' or 'unix' for others)")
        secs[present] = parsed.astype(np.int64)
    elif fmt == "unix":
        whole = _unix_seconds([values[i] for i in present], chunk)
        if whole is not None:
            secs[present] = whole
            return secs, missing
        for i in present:
            try:
                secs[i] = int(float(values[i]))
            except (ValueError, OverflowError):
                raise bad(i) from None
            except TypeError:  # a datetime, a Timestamp: no number of seconds
                raise bad(i, ": a unix time is a number of seconds (give format 'iso' for dates and times)") from None
            if not UNIX_FIRST <= secs[i] <= UNIX_LAST:
                raise bad(i, ": its year is outside 1-9999; a unix time counts seconds (milliseconds divided "
                             "by 1,000)")
    else:
        for i in present:
            try:
                dt = datetime.datetime.strptime(str(values[i]), fmt)
                secs[i] = calendar.timegm(dt.utctimetuple())  # a %z offset taken to UTC, as 'iso' takes it
            except ValueError:
                raise bad(i) from None
            except OverflowError:  # an offset past year 1 or 9999
                raise bad(i, ": in UTC it falls outside the years 1-9999") from None
    return secs, missing


def _unix_seconds(values, chunk):
    """int64[n] of ``int(float(v))`` for each value, at once, where every value is a finite
    number NumPy reads and within the years 1-9999; else None (``parse_times`` then reads
    them one by one, naming the first it cannot). One by one was 0.05 s of each of
    MovieLens' three reads of its 90,000 times."""
    if _holds_times(values, chunk):  # NumPy reads a datetime64 as a count of its unit; float() refuses it
        return None
    try:
        f = np.array(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        return None
    whole = np.trunc(f)
    if not np.all((whole >= UNIX_FIRST) & (whole <= UNIX_LAST)):  # NaN fails it too
        return None
    return whole.astype(np.int64)


def date_parts(secs):
    """int64[n, 5]: weekday (Monday 0), month (1-12), week of year (0-52), week of month
    (0-4) and year of each time in seconds since 1970."""
    d = secs.astype("datetime64[s]").astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    days = d.astype(np.int64)
    out = np.empty((secs.shape[0], 5), dtype=np.int64)
    out[:, 0] = (days + 3) % 7
    out[:, 1] = (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    out[:, 2] = (d - y.astype("datetime64[D]")).astype(np.int64) // 7
    out[:, 3] = (d - m.astype("datetime64[D]")).astype(np.int64) // 7
    out[:, 4] = y.astype(np.int64) + 1970
    return out


class Featurizer:
    """Typed columns -> hashed sparse features and labels.

    data_types : {column: ColumnType}, including the target
    target : the target column (a categorical one)
    input_dim : width of the hashed feature space
    temporal_tracking : {user column: [item columns]}: each row also gets the items of the
        same user recorded strictly before the row's time (the one date column is the clock)
    history_length : how many of the latest such items a row sees
    cross_column_pairgrams : also hash every pair of the tokens of categorical and numerical
        columns (lets a one-hidden-layer model use interactions of columns). Date tokens stay
        out of the pairs: a date crossed with an id is nearly unique per row, pure memory
    """

    def __init__(self, data_types, target, input_dim, temporal_tracking=None, history_length=50,
                 cross_column_pairgrams=False, seed=0):
        self.data_types = dict(data_types)
        self.target = target
        self.input_dim = input_dim
        self.temporal_tracking = {u: list(items) for u, items in (temporal_tracking or {}).items()}
        self.history_length = history_length
        self.cross_column_pairgrams = cross_column_pairgrams
        self.seed = seed
        kinds = {c: t.kind for c, t in self.data_types.items()}
        inputs = [c for c in self.data_types if c != target]
        self.text_columns = [c for c in inputs if kinds[c] == "text"]
        self.categorical_columns = [c for c in inputs if kinds[c] == "categorical"]
        self.numerical_columns = [c for c in inputs if kinds[c] == "numerical"]
        self.date_columns = [c for c in inputs if kinds[c] == "date"]
        nodes = [c for c in inputs if kinds[c] == "node_id"]
        self.node_column = nodes[0] if nodes else None
        self.neighbor_columns = [c for c in inputs if kinds[c] == "neighbors"]
        self.time_column = self.date_columns[0] if self.temporal_tracking else None
        ttype = self.data_types[target]
        self.labels = TargetBins(target, ttype) if ttype.kind == "numerical" else LabelMap(target, ttype)
        self.vocabularies = {}
        for c in self.categorical_columns:
            given = self.data_types[c].vocabulary
            self.vocabularies[c] = set(given) if given is not None else set()
        self.edges = {c: None for c in self.numerical_columns}
        # {date column: the inner edges (seconds) of its place in time, fitted on the first
        # training's rows}; a column it lacks (a model file written before) has no place, nor
        # has temporal tracking's clock, whose next rows lie past every training date
        # (MovieLens recall@10 0.1769 -> 0.1633 on seed 2, docs/automl.md)
        self.date_edges = {c: None for c in self.date_columns if c != self.time_column}
        # {numerical column: its values with a token of their own, float64[m] sorted}, decided
        # on the first training's rows (not on rows indexed or predicted before it)
        self.exact_values = {}
        self.exact_undecided = set(self.numerical_columns)
        # {(column, column): their pairs of values with a token of their own, float64[m, 2]}:
        # two numbers that name something only together (``_decide_exact_pairs``), and their
        # ``exact_pair_index``
        self.exact_pairs, self._pair_index = {}, {}
        # {numerical column: (sums, counts) of ``exact_statistics``} where the target has one
        # number a row to average (a binary or numerical target), and the mean they shrink to
        self.exact_stats = {}
        self.stat_base = None
        self.histories = {(u, it): InteractionHistory() for u, items in self.temporal_tracking.items()
                          for it in items}
        self.nodes = NodeIndex()
        # {'tfidf' text column: (rows, the ids that occur int64[m] sorted, in how many rows int64[m])}
        self.document_frequencies = {}
        # each column's (document frequencies, their idf), worked out once (``text.cached_inverse``)
        self._idf = {}
        self._salt_cache = {}
        # the periodic places own the last ids (False in configs written before: hashed like tokens)
        self.reserved_positions = True

    # the columns a source must have ---------------------------------------------------------

    def columns(self, with_target):
        return [c for c in self.data_types if c != self.target or with_target]

    def optional_columns(self):
        """Columns a file may lack (graph columns: the index may know a node's neighbors)."""
        return list(self.neighbor_columns)

    def _salt(self, *names):
        key = "\x1f".join(names)
        if key not in self._salt_cache:
            self._salt_cache[key] = salt(self.seed, *names)
        return self._salt_cache[key]

    def periodic_columns(self):
        """The numerical columns whose type asks for a periodic embedding of their place."""
        return [c for c in self.numerical_columns if self.data_types[c].position and self.data_types[c].periodic]

    def forget_stats(self):
        """Drop the target means, their columns' exact values undecided again (a model made
        from a config alone, whose means are state of a model file)."""
        for c in self.exact_stats:
            self.exact_values.pop(c, None)
            self.exact_undecided.add(c)
        self.exact_stats, self.stat_base = {}, None

    def stat_columns(self):
        """The numerical columns whose exact values give the target's mean as a place."""
        return [c for c in self.numerical_columns if c in self.exact_stats]

    def _reserved(self):
        """What the reserved ids carry, in order: ('place', column) of each periodic
        column, then ('stat', column) of each of ``stat_columns``."""
        return [("place", c) for c in self.periodic_columns()] + [("stat", c) for c in self.stat_columns()]

    def periodic_features(self):
        """The feature ids (sorted, distinct) of the numbers that pass through the periodic
        embedding (the places of ``periodic_columns``, then the target's means of
        ``stat_columns``): the last ids of the input, one each, which hashed tokens never
        take (a token on one of them would be read as that number). Configs written before
        these ids were reserved hash the places like tokens."""
        if not self.reserved_positions:
            return sorted({self._salt("position", c) % self.input_dim for c in self.periodic_columns()})
        return list(range(self.input_dim - len(self._reserved()), self.input_dim))

    def _position_hash(self, column, role="place"):
        """The hash of a column's place (or, ``role`` 'stat', of its values' target mean): a
        reserved id less ``input_dim`` (negative; ``_ids`` adds it back), else a salted hash
        like a token's."""
        t = self.data_types[column]
        if self.reserved_positions and (t.periodic or role == "stat"):
            reserved = self._reserved()
            return reserved.index((role, column)) - len(reserved)
        return self._salt("position", column)

    def _ids(self, hashes):
        """int32 feature ids of hashes (``hashes % input_dim``); with reserved places, a
        token hashed onto one of them moves below them, and a place's negative hash
        becomes its id."""
        n_reserved = len(self._reserved()) if self.reserved_positions else 0
        if n_reserved == 0:
            return (hashes % self.input_dim).astype(np.int32)
        ids = np.where(hashes < 0, self.input_dim + hashes, hashes % self.input_dim)
        limit = self.input_dim - n_reserved
        clash = (hashes >= 0) & (ids >= limit)
        ids[clash] = hashes[clash] % limit
        return ids.astype(np.int32)

    # fitting --------------------------------------------------------------------------------

    def _edges(self, column, x, whole):
        """Inner bin edges of a numerical column: from its range, else from the quantiles
        of ``x``, its training values (nan where missing). Automatic bins follow the count
        of values only when one chunk holds all the training rows (``whole``)."""
        t = self.data_types[column]
        if t.range is not None:
            return np.linspace(t.range[0], t.range[1], t.n_bins() + 1)[1:-1]
        present = x[~np.isnan(x)]
        return quantile_edges(present, t.n_bins(present.shape[0] if whole else None)).astype(np.float64)

    # columns --------------------------------------------------------------------------------

    def _numbers(self, column, chunk):
        """float64[n]: the column's values, nan where missing (read-only for a column the
        compiled CSV reader coded: parsed once, though a training chunk's numbers are read
        four times)."""
        values = chunk.columns[column]
        if not isinstance(values, CodedColumn):
            return _parsed_numbers(column, values, chunk)
        if values.numbers is None:
            x = _parsed_numbers(column, values, chunk)
            x.setflags(write=False)
            values.numbers = x
        return values.numbers

    def _text_hashes(self, column, chunk):
        """The token hashes of a text column's rows: (offsets int64[n + 1], hashes int64[nnz])."""
        t = self.data_types[column]
        values = chunk.columns[column]
        if not isinstance(values, CodedColumn):  # a file's fields are str already
            _refuse_containers(values, chunk, column, "a text (a string)", _BYTES)
        strings = _text_strings(t, values)
        self._decide_text(t, strings)
        salts = [self._salt("text", column, tok) for tok in t.tokenizers]
        return token_hashes(strings, t.tokenizers, t.encoding, salts)

    def idf_columns(self):
        """The 'tfidf' text columns whose document frequencies no training has counted yet."""
        return [c for c in self.text_columns
                if self.data_types[c].weighting == "tfidf" and c not in self.document_frequencies]

    def unfitted(self):
        """What a trained featurizer has and this one lacks, one phrase a kind ("bin edges for
        numerical column(s) ['n']"): a model file edited so had predicted with settings and
        weights taken from the rows it was given, or none at all."""
        lacking = (("bin edges for numerical column(s)", [c for c, e in self.edges.items() if e is None]),
                   ("tokenizer or encoding for text column(s)",
                    [c for c in self.text_columns if self.data_types[c].undecided]),
                   ("document frequencies for 'tfidf' text column(s)", self.idf_columns()))
        return [f"{what} {columns}" for what, columns in lacking if columns]

    def row_statistics_columns(self):
        """The columns whose statistics of the rows alone (no label) no training has fitted
        yet: 'tfidf' texts (document frequencies), numbers binned at quantiles and dates'
        places (bin edges)."""
        return (self.idf_columns()
                + [c for c in self.numerical_columns if self.edges[c] is None and self.data_types[c].range is None]
                + [c for c, e in self.date_edges.items() if e is None])

    def fit_row_statistics(self, chunks):
        """Fit the statistics of ``row_statistics_columns()`` over every row of ``chunks``
        (training rows, their text decided; an even sample of at most 2^20 values a number),
        which training's featurizing then uses: fitted on its first chunk alone, a file sorted
        by class, topic or time would weigh the later rows' words by the first rows'
        frequencies, and bin their numbers and dates past the first rows' last edge."""
        texts, columns = self.idf_columns(), self.row_statistics_columns()
        counted = {c: (NO_FREQUENCIES, []) for c in texts}  # (merged, pending)
        numbers = {c: EvenSample() for c in columns if c in self.edges}
        dates = {c: EvenSample() for c in columns if c in self.date_edges}
        for chunk in chunks:
            for c in texts:
                off, hashes = self._text_hashes(c, chunk)
                merged, pending = counted[c]
                pending.append(document_frequencies(off, hashes, self.input_dim))
                # merged once the pending ids outnumber the merged ones: memory within twice the
                # merged ids, and each id merged a few times at most
                if sum(p[1].shape[0] for p in pending) > merged[1].shape[0]:
                    counted[c] = (merged_frequencies([merged] + pending), [])
            for c, sample in numbers.items():
                sample.add(self._numbers(c, chunk))
            for c, sample in dates.items():
                secs, missing = parse_times(c, self.data_types[c], chunk.columns[c], chunk)
                sample.add(secs[~missing].astype(np.float64))
        self.document_frequencies.update({c: merged_frequencies([m] + p) for c, (m, p) in counted.items()})
        for c, sample in numbers.items():
            self.edges[c] = self._edges(c, sample.values(), whole=False)
        for c, sample in dates.items():
            self.date_edges[c] = quantile_edges(sample.values(), T.Numerical().n_bins())

    def _text(self, column, chunk, mode, out):
        t = self.data_types[column]
        values = chunk.columns[column]
        off, hashes = self._text_hashes(column, chunk)
        idf = None
        # indexed node features never depend on what training fits: index before or after it alike
        if t.weighting == "tfidf" and mode != "index":
            if mode == "train" and column not in self.document_frequencies:
                self.document_frequencies[column] = document_frequencies(off, hashes, self.input_dim)
            self._idf[column] = cached_inverse(self._idf.get(column),
                                               self.document_frequencies.get(column, NO_FREQUENCIES))
            idf = self._idf[column][1]
        off, hashes, vals = weigh(off, hashes, self.input_dim, idf)
        out.add_csr(off, hashes, vals)
        missing = np.array([v is None for v in values], dtype=bool)
        if missing.any():
            rows = np.flatnonzero(missing)
            out.add(rows, np.full(rows.shape[0], self._salt("missing", column)), 1.0)

    def _decide_text(self, t, strings):
        """'auto' tokenizing and encoding, decided by the first rows seen (training rows or
        nodes)."""
        if t.undecided:
            present = [len(x.split()) for x in strings if x]
            words_per_row = sum(present) / max(len(present), 1)
            target = dict(binary_target=self.labels.binary, few_classes=self.text_alone_few_classes(),
                          many_classes=self.text_alone_many_classes())
            orderless = t.takes_pairs(words_per_row, **target) and _orderless([x for x in strings if x], present)
            t.choose(words_per_row, orderless=orderless, **target)

    def _text_alone(self):
        return len(self.data_types) == 2 and len(self.text_columns) == 1 and self.labels.label_type != "bins"

    def text_alone_few_classes(self):
        """Whether a text is the only input and the target has 3 to ``LONG_TEXT_CLASSES``
        classes: where 'auto' tokenizing takes the long-text setting (and the UDT its width
        and rate). Text alone carries the whole signal: with graph features beside it
        (wordnet_graph) the richer text lost 0.2 points at twice the fit time."""
        return self._text_alone() and 2 < self.labels.size <= T.LONG_TEXT_CLASSES

    def text_alone_many_classes(self):
        """Whether a text is the only input and the target has more than
        ``LONG_TEXT_CLASSES`` classes: where 'auto' tokenizing of long texts takes words and
        character windows with TF-IDF weights (``Text.choose``)."""
        return self._text_alone() and self.labels.size > T.LONG_TEXT_CLASSES

    def decide_text(self, chunk):
        """Decide the text columns' 'auto' settings from the rows of ``chunk`` (which
        featurizing it would do) without featurizing it."""
        for c in self.text_columns:
            t = self.data_types[c]
            self._decide_text(t, _text_strings(t, chunk.columns[c]))

    def _categorical(self, column, chunk, mode, out):
        t = self.data_types[column]
        values = chunk.columns[column]
        vocab = self.vocabularies[column]
        grow = mode == "train" and t.vocabulary is None
        check = mode != "index" and (mode != "train" or t.vocabulary is not None)
        if not t.delimiter:  # one value a row, worked out once per distinct value
            try:
                distinct, index = _distinct(values)
                # 1, 1.0 and True are one dict key but three values
                mixed = not all(type(v) is str or v is None for v in distinct)
            except TypeError:  # an unhashable value (a list)
                mixed = True
            if mixed:  # as strings first
                self._refuse_non_categories(column, chunk)
                distinct, index = _distinct([None if v is None else category(v) for v in values])
            strings = [UNKNOWN if v is None or v == "" else category(v) for v in distinct]
            if grow:
                vocab.update(strings)
            elif check:
                strings = [p if p in vocab else UNKNOWN for p in strings]
            out.add(np.arange(len(values)), _salted(strings, self._salt("categorical", column))[index], 1.0)
            return
        self._refuse_non_categories(column, chunk)
        rows, strings = [], []
        for i, v in enumerate(values):
            parts = [UNKNOWN] if v is None else [category(p) for p in str(v).split(t.delimiter) if p]
            for p in parts or [UNKNOWN]:
                if grow:
                    vocab.add(p)
                elif check and p not in vocab:
                    p = UNKNOWN
                rows.append(i)
                strings.append(p)
        out.add(rows, _salted(strings, self._salt("categorical", column)), 1.0)

    def _refuse_non_categories(self, column, chunk):
        """The row error of the first value of categorical ``column`` that no category is
        read from: a container or bytes."""
        t, values = self.data_types[column], chunk.columns[column]
        if isinstance(values, CodedColumn):  # a file's fields are str already
            return
        if t.delimiter:
            _refuse_containers(values, chunk, column, f"the row's categories as one string joined by "
                                                      f"{t.delimiter!r}", _BYTES)
        else:
            _refuse_containers(values, chunk, column, "one category a row (a string or a number)", _BYTES,
                               "; give several as one string and sb.types.categorical(delimiter=...)")

    def row_folds(self, chunk):
        """int64[n]: each row's fold of the target means, from a hash of its input columns'
        values: a row falls in the same fold whatever the order or the call it comes in, and
        rows alike in every input share one (their labels are left out together)."""
        h = np.zeros(len(chunk), dtype=np.int64)
        for c in sorted(self.columns(with_target=False)):
            values = chunk.columns.get(c)
            if values is None:
                continue
            if c in self.numerical_columns:
                hashed = exact_keys(self._numbers(c, chunk)).view(np.int64)
            elif isinstance(values, CodedColumn):  # each distinct value hashed once
                hashed = _salted(["" if v is None else str(v) for v in values.distinct], 0)[values.codes]
            else:
                hashed = _salted(["" if v is None else str(v) for v in values], 0)
            h = fk.int_hashes(h ^ hashed, self._salt("fold", c))
        return h % STAT_FOLDS

    def _decide_exact(self, column, x, labels, y, held_out=None, folds=None, regions=None):
        """Decide a column's exact values on its training numbers ``x``
        (float64[n]) by their ``labels`` (int64[n] one class a row, or None), and where ``y``
        (float64[n], the target as one number a row, or None) is given, their target
        statistics by the rows' ``folds`` (``row_folds``); rows in ``held_out`` (bool[n],
        validation rows) take no part. ``regions``: as ``_seen_edges``'."""
        self.exact_undecided.discard(column)
        if held_out is not None:
            keep = ~held_out
            x, folds = x[keep], (None if folds is None else folds[keep])
            labels = None if labels is None else labels[keep]
            y = None if y is None else y[keep]
        kept = exact_vocabulary(x, self.data_types[column], labels, self._seen_edges(column, regions), self.seed)
        if kept is None:
            return
        self.exact_values[column] = kept
        if y is not None:
            present = np.flatnonzero(~np.isnan(x))
            values = stat_vocabulary(x[present])
            codes = np.full(x.shape[0], -1, dtype=np.int64)
            codes[present] = exact_codes(values, x[present])
            self.exact_stats[column] = (values,) + exact_statistics(codes, y, values.shape[0], folds)
            if self.stat_base is None:  # a constant target's mean may round past its value
                self.stat_base = float(np.clip(y.mean(), *self.target_range()))

    def _seen_edges(self, column, regions=None):
        """The edges (float64[e]) that part a column's numbers as the network tells them
        apart, which the exact values and their pairs must beat: its bin edges, but for a
        column whose place passes through the smooth function (which replaces its bin token)
        ``regions`` equal parts of its place where they are fewer than its edges (None: the
        bins, as a Featurizer on its own decides). The place runs evenly from the first edge
        to the last, 0 below it and 1 above, so a part is a run of bins, the end ones with
        the bin beyond."""
        edges, t = self.edges[column], self.data_types[column]
        # as many parts as edges or more: the bins (rounded onto the edges, they would part one fewer)
        if regions is None or not (t.position and t.periodic) or regions >= edges.shape[0]:
            return edges
        return edges[np.unique(np.round(np.linspace(0, edges.shape[0] - 1, regions + 1)).astype(np.int64))[1:-1]]

    def _stat_places(self, column, x, rows, folds=None):
        """(rows, places) of the rows whose value has training rows: the shrunk mean of the
        target over them as a place in [0, 1] (a numerical target's bin means spread evenly
        over it, a binary target's positive share as it is); a training row's own fold
        (``folds``, int64 a row of the chunk; None outside training) left out.
        x : float64[len(rows)] the rows' numbers, rows : int64 indices into the chunk"""
        values, sums, counts = self.exact_stats[column]
        codes = exact_codes(values, x)
        held = codes >= 0
        rows, codes = rows[held], codes[held]
        s, c = sums.sum(axis=0)[codes], counts.sum(axis=0)[codes]
        if folds is not None:
            f = folds[rows]
            s, c = s - sums[f, codes], c - counts[f, codes]
        seen = c > 0
        mean = (s[seen] + STAT_PRIOR * self.stat_base) / (c[seen] + STAT_PRIOR)
        if isinstance(self.labels, TargetBins):
            centers = self.labels.centers
            mean = np.interp(mean, centers, np.linspace(0.0, 1.0, centers.shape[0]))
        return rows[seen], np.clip(mean, 0.0, 1.0)

    def _numerical(self, column, chunk, out, positions, mode="train", x=None):
        """The bin token of each number into ``out``; its place among the edges (0 to 1)
        into ``positions``, as the value of one feature of the column. A place that passes
        through the periodic embedding replaces the bin token (a missing number keeps its
        own): on adult the bins beside it cost 0.2 points of accuracy (docs/automl.md). A
        column with ``exact_values`` also gets the token of its value (one token for the
        values not among them). Returns [(column, numbers, rows)] for a column with
        ``exact_stats``, whose places ``own_features`` adds once the rows' folds are known.
        ``x``: the column's numbers (float64[n]) where parsed already."""
        x = self._numbers(column, chunk) if x is None else x
        if self.edges[column] is None:
            self.edges[column] = self._edges(column, x, chunk.whole)
        t = self.data_types[column]
        edges = self.edges[column]
        b = np.searchsorted(edges, x, side="right").astype(np.int64)
        missing = np.isnan(x)
        b[missing] = -1
        placed = t.position and edges.shape[0] > 1
        binned = np.flatnonzero(missing) if placed and t.periodic else np.arange(len(x))
        out.add(binned, fk.int_hashes(b[binned], self._salt("numerical", column)), 1.0)
        if placed:
            rows = np.flatnonzero(~missing)
            place = _places(x[rows], edges)
            positions.add(rows, np.full(rows.shape[0], self._position_hash(column)), place)
        known = self.exact_values.get(column)
        if known is not None:
            rows = np.flatnonzero(~missing)
            code = exact_codes(known, x[rows])
            out.add(rows, fk.int_hashes(code, self._salt("exact", column)), 1.0)
            if column in self.exact_stats:
                return [(column, x[rows], rows)]
        return []

    def _date(self, column, secs, missing, out):
        parts = date_parts(secs)
        keep = np.flatnonzero(~missing)
        for j, name in enumerate(_DATE_PARTS):
            out.add(keep, fk.int_hashes(parts[keep, j], self._salt("date", column, name)), 1.0)
        rows = np.flatnonzero(missing)
        out.add(rows, np.full(rows.shape[0], self._salt("missing", column)), 1.0)

    def _date_place(self, column, secs, missing, whole, out):
        """A date's place in time, as a number's: the token of its bin among the quantiles of
        the training rows' dates, and its place among their edges (0 to 1) as the
        value of one feature (without them a date's only order is its year's token)."""
        if column not in self.date_edges:
            return
        rows = np.flatnonzero(~missing)
        x = secs[rows].astype(np.float64)
        if self.date_edges[column] is None:
            self.date_edges[column] = quantile_edges(x, T.Numerical().n_bins(x.shape[0] if whole else None))
        edges = self.date_edges[column]
        b = np.searchsorted(edges, x, side="right").astype(np.int64)
        out.add(rows, fk.int_hashes(b, self._salt("date", column, "bin")), 1.0)
        if edges.shape[0] > 1:
            out.add(rows, np.full(rows.shape[0], self._salt("date", column, "place")), _places(x, edges))

    def target_range(self):
        """(low, high) of the number a row the target means average: a numerical target's
        lowest and highest value (its bin means with a softmax over the bins), 0 and 1 for a
        binary target."""
        if isinstance(self.labels, TargetBins):
            t = self.labels
            if t.centers is None:
                return 0.0, 0.0
            ends = t.bounds[[0, -1]] if t.cumulative else (t.centers.min(), t.centers.max())
            return float(ends[0]), float(ends[1])
        return 0.0, 1.0

    def _exact_targets(self, labels):
        """What a training chunk's exact values are weighed against, and averaged: (int64[n]
        one class a row or float64[n] a numerical target's bin means, or None: no labels, or
        a multi-label target, whatever its rows hold; float64[n] the target as a number
        a row, the bin means or a binary target's 0 / 1, or None for more classes)."""
        if labels is None:
            return None, None
        if isinstance(self.labels, TargetBins):
            y = self.labels.values_of(labels)
            return y, y
        if getattr(self.data_types[self.target], "delimiter", None) or not (np.diff(labels.offsets) == 1).all():
            return None, None
        classes = labels.ids.astype(np.int64)
        return classes, (classes.astype(np.float64) if self.labels.binary else None)

    def decide_numbers(self, chunks, statistics=True, held_out=None, regions=None):
        """Fit the numbers' bin edges (those no pass over every row fitted) and decide their
        exact values on the training ``chunks`` (every chunk of rows in memory, the first of
        a stream): before the network is built, whose inputs include the target means of
        ``stat_columns`` (none when ``statistics`` is False: a network already trained has no
        inputs for them). ``held_out``: bool[n] over the chunks' rows in order, those held out
        for validation, whose labels stay out of the decision (their held-out score would
        otherwise reward a model that reads them back). ``regions``: as ``_seen_edges``'."""
        columns = [c for c in self.numerical_columns if c in self.exact_undecided]
        numbers, targets, folds, whole = {c: [] for c in columns}, [], [], []
        for chunk in chunks:
            with warnings.catch_warnings():  # of targets out of range: training's featurizing warns of these rows
                warnings.simplefilter("ignore", UserWarning)
                labels, _ = self.labels.to_ids(chunk.columns[self.target], chunk, grow=True)
            targets.append(self._exact_targets(labels))
            if statistics and targets[-1][1] is not None:
                folds.append(self.row_folds(chunk))
            for c in columns:
                numbers[c].append(self._numbers(c, chunk))
            whole.append(chunk.whole)
        classes, y = (None if any(t[i] is None for t in targets) else np.concatenate([t[i] for t in targets])
                      for i in (0, 1))
        y = y if statistics else None
        folds = np.concatenate(folds) if y is not None else None
        self._decide_columns({c: np.concatenate(numbers[c]) for c in columns}, whole == [True], classes, y,
                             held_out, folds, regions)

    def _decide_columns(self, numbers, whole, labels, y=None, held_out=None, folds=None, regions=None):
        """Fit the bin edges of the columns of ``numbers`` ({column: float64[n]}) that have
        none (``whole``: the rows are all the training rows) and decide their exact values
        and pairs; ``labels``, ``y``, ``held_out``, ``folds`` and ``regions`` as
        ``_decide_exact``'s."""
        for c, x in numbers.items():
            if self.edges[c] is None:
                self.edges[c] = self._edges(c, x, whole)
            self._decide_exact(c, x, labels, y, held_out, folds, regions)
        self._decide_exact_pairs(numbers, labels, held_out, regions)

    def _decide_exact_pairs(self, numbers, labels, held_out=None, regions=None):
        """Give a token to the pairs of values of each two 'auto' columns, of at most
        ``EXACT_PAIR_MAX_VALUES`` values each, whose pair of values predicts the target better
        than the columns without it (``exact_pair_gains``, the threshold of one column's): two
        numbers that name something only together, as a school and a teacher's years of
        experience name a teacher. Not for a target of more than
        ``Numerical.EXACT_PAIR_MAX_CLASSES`` classes. ``numbers``: {column: float64[n]} of
        the columns being decided; ``labels`` (int64[n] classes, or float64[n] a numerical
        target's bin means), ``held_out`` and ``regions`` as ``_decide_exact``'s."""
        if labels is None or (labels.dtype.kind != "f" and labels.shape[0]
                              and labels.max() >= T.Numerical.EXACT_PAIR_MAX_CLASSES):
            return
        keep = np.ones(labels.shape[0], dtype=bool) if held_out is None else ~held_out
        xs = {c: x[keep] for c, x in numbers.items() if self.data_types[c].exact == "auto"}
        labels = labels[keep]
        # the gain tested on a seeded sample of rows: a pair test a column pair
        tested = np.arange(labels.shape[0])
        most = T.Numerical.EXACT_PAIR_TEST_ROWS
        if tested.shape[0] > most:
            tested = np.sort(np.random.default_rng(self.seed).choice(tested.shape[0], most, replace=False))
        column_keys = {c: exact_keys(x) for c, x in xs.items()}
        # counted as the vocabulary takes them: a number beyond float32's range gets no token
        few = [c for c, k in column_keys.items()
               if np.unique(k[np.isfinite(k)]).shape[0] <= T.Numerical.EXACT_PAIR_MAX_VALUES]
        if len(few) < 2:
            return
        if len(few) > T.Numerical.EXACT_PAIR_MAX_COLUMNS:
            # the tests grow as the square of the columns: keep those whose values tell the
            # most on their own (nats saved over none: no edges, one bin), as a pair that
            # matters mostly joins columns that matter alone
            told = [exact_value_gain(column_keys[c][tested], labels[tested], np.empty(0), self.seed) for c in few]
            kept = np.argsort(-np.array(told), kind="stable")[:T.Numerical.EXACT_PAIR_MAX_COLUMNS]
            few = [few[i] for i in np.sort(kept)]
        values, seen = {}, {}
        for c in few:  # each column's exact value and its key as the network sees it, once
            x = column_keys[c][tested]
            present = np.isfinite(x)  # an infinite key takes no token: as a missing value
            values[c] = np.full(x.shape[0], -1, dtype=np.int64)
            values[c][present] = np.unique(x[present], return_inverse=True)[1]
            if c in self.exact_values:  # values held once share one token
                n = self.exact_values[c].shape[0]
                keys = exact_codes(self.exact_values[c], np.where(present, x, 0.0))
                seen[c] = np.where(keys >= 0, keys, n)
            else:  # parted as the network tells it apart: the number, not its float32 key
                seen[c] = np.searchsorted(self._seen_edges(c, regions), xs[c][tested], side="right")
        tried = list(itertools.combinations(few, 2))
        gains = exact_pair_gains(values, seen, tried, labels[tested], self.seed, T.Numerical.EXACT_Z)
        passed = [(a, b, gain) for (a, b), gain in zip(tried, gains) if gain >= T.Numerical.EXACT_MIN_GAIN]
        # decided again (a config's columns of target means): this decision stands; a config's
        # pair these columns no longer test (more values now, say) is kept, and counts
        for key in tried:
            self.exact_pairs.pop(key, None)
            self._pair_index.pop(key, None)
        # the best few, in column order, beside the pairs already decided: each pair's tokens
        # cost every row a lookup
        room = max(0, T.Numerical.EXACT_MAX_PAIRS - len(self.exact_pairs))
        best = sorted(range(len(passed)), key=lambda i: -passed[i][2])[:room]
        for a, b, _ in (passed[i] for i in sorted(best)):
            pairs = exact_pair_vocabulary(xs[a], xs[b])
            if pairs.shape[0]:
                self.exact_pairs[(a, b)], self._pair_index[(a, b)] = pairs, exact_pair_index(pairs)

    def own_features(self, chunk, mode, labels=None):
        """(text entries, tabular entries, other entries, {date column: (seconds, missing)},
        mean entries) of the rows' own columns; tabular holds the categorical and numerical
        tokens (one entry each, value 1), the only ones cross-column pairgrams combine; other
        holds the date tokens and the numbers' positions; means the exact values' target
        means (none in 'index' mode: a node's indexed features, which its neighbors take,
        carry no labels). ``labels``: the rows' Labels in 'train' mode, else None."""
        text, tab, other = _Entries(), _Entries(), _Entries()
        for c in self.text_columns:
            self._text(c, chunk, mode, text)
        for c in self.categorical_columns:
            self._categorical(c, chunk, mode, tab)
        numbers = {}
        if mode == "train" and self.exact_undecided:  # columns not decided before: on this chunk
            numbers = {c: self._numbers(c, chunk) for c in self.numerical_columns if c in self.exact_undecided}
            self._decide_columns(numbers, chunk.whole, self._exact_targets(labels)[0])
        for c in {c for pair in self.exact_pairs for c in pair} - set(numbers):  # parsed once a chunk
            numbers[c] = self._numbers(c, chunk)
        pending = []
        for c in self.numerical_columns:
            pending += self._numerical(c, chunk, tab, other, mode, numbers.get(c))
        for a, b in self.exact_pairs:
            xa, xb = numbers[a], numbers[b]
            rows = np.flatnonzero(~np.isnan(xa) & ~np.isnan(xb))
            # one token a pair of values, one for the pairs not among them
            codes = exact_pair_codes(self._pair_index[(a, b)], xa[rows], xb[rows])
            tab.add(rows, fk.int_hashes(codes, self._salt("exactpair", a, b)), 1.0)
        times = {}
        for c in self.date_columns:
            secs, missing = parse_times(c, self.data_types[c], chunk.columns[c], chunk)
            times[c] = (secs, missing)
            self._date(c, secs, missing, other)
            self._date_place(c, secs, missing, chunk.whole, other)
        means = _Entries()
        if pending and mode != "index":
            folds = self.row_folds(chunk) if mode == "train" else None
            for column, x, rows in pending:
                rows, places = self._stat_places(column, x, rows, folds)
                means.add(rows, np.full(rows.shape[0], self._position_hash(column, "stat")), places)
        return text, tab, other, times, means

    # graph ----------------------------------------------------------------------------------

    def _neighbor_lists(self, chunk):
        n = len(chunk)
        graph_columns = ([] if self.node_column is None else [self.node_column]) + self.neighbor_columns
        for c in graph_columns:
            if not isinstance(chunk.columns[c], CodedColumn):  # a list's string would be made-up ids
                expected = "a node id (a string or a number)" if c == self.node_column else \
                    f"the row's neighbor ids as one string joined by {self.data_types[c].delimiter!r}"
                _refuse_containers(chunk.columns[c], chunk, c, expected, _BYTES)
        node_ids = _strings(chunk.columns[self.node_column]) if self.node_column else [None] * n
        lists = [None] * n
        for c in self.neighbor_columns:
            d = self.data_types[c].delimiter
            for i, v in enumerate(chunk.columns[c]):
                if v is not None:
                    v = str(v)
                    # category() changes only a part with a '.' (an integral float's '.0')
                    parts = [category(p) for p in v.split(d)] if "." in v else v.split(d)
                    if "" in parts:
                        parts = [p for p in parts if p]
                    lists[i] = parts if lists[i] is None else lists[i] + parts
        for i in range(n):
            if lists[i] is None:
                lists[i] = self.nodes.neighbors.get(node_ids[i], []) if node_ids[i] is not None else []
        return node_ids, lists

    def index_nodes(self, chunk):
        """Remember each row's node: its own features and its neighbors."""
        if self.node_column is None:
            raise ValueError("index_nodes needs a node_id column in data_types.")
        own = _Entries()
        for part in self.own_features(chunk, "index")[:3]:
            own.extend(part)
        off, hashes, vals = own.grouped(len(chunk))
        node_ids, lists = self._neighbor_lists(chunk)
        linked = np.zeros(len(chunk), dtype=bool)
        for c in self.neighbor_columns:
            linked |= np.fromiter((v is not None for v in chunk.columns[c]), dtype=bool, count=len(chunk))
        for i, node in enumerate(node_ids):
            if node is None or node == UNKNOWN:
                continue
            self.nodes.features[node] = (hashes[off[i]:off[i + 1]].copy(), vals[off[i]:off[i + 1]].copy())
            if linked[i]:
                self.nodes.neighbors[node] = lists[i]

    def _graph(self, chunk, out):
        node_ids, lists = self._neighbor_lists(chunk)
        node_salt, feat_salt = self._salt("graph", "node"), self._salt("graph", "neighbor_features")
        n = len(node_ids)
        if self.node_column is not None:
            own = [i for i, node in enumerate(node_ids) if node is not None]
            out.add(own, _salted([node_ids[i] for i in own], node_salt), 1.0)
        # a row's neighbors weigh 1/sqrt(their count) each
        counts = np.fromiter(map(len, lists), dtype=np.int64, count=n)
        nbrs = list(itertools.chain.from_iterable(lists))
        if not nbrs:
            return
        rows = np.repeat(np.arange(n, dtype=np.int64), counts)
        weights = (1.0 / np.sqrt(np.maximum(counts, 1))).astype(np.float32)
        out.add(rows, _salted(nbrs, node_salt), weights[rows])
        # and bring their indexed features, averaged over the neighbors found
        found = [self.nodes.features.get(x) for x in nbrs]
        has = np.fromiter((f is not None for f in found), dtype=bool, count=len(found))
        if not has.any():
            return
        found = [f for f in found if f is not None]
        found_rows = rows[has]
        per_row = np.bincount(found_rows, minlength=n).astype(np.float32)
        lengths = np.fromiter((h.shape[0] for h, _ in found), dtype=np.int64, count=len(found))
        f_rows = np.repeat(found_rows, lengths)
        f_vals = np.concatenate([v for _, v in found]) / per_row[f_rows]
        out.add(f_rows, fk.resalt(np.concatenate([h for h, _ in found]), feat_salt), f_vals)

    # temporal -------------------------------------------------------------------------------

    def _item_values(self, column, v):
        if v is None:
            return []
        t = self.data_types[column]
        d = t.delimiter if t.kind == "categorical" else None
        return [category(p) for p in str(v).split(d) if p] if d else [category(v)]

    def _temporal(self, chunk, times, record, out):
        secs, missing = times[self.time_column]
        n = len(chunk)
        if record and missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise chunk.error(i, f"temporal tracking needs a time in column {self.time_column!r}; it is missing "
                                 f"({chunk.columns[self.time_column][i]!r})")
        for user_col, items in self.temporal_tracking.items():
            users = chunk.columns[user_col]
            for item_col in items:
                history = self.histories[(user_col, item_col)]
                item_values = chunk.columns.get(item_col)
                # items as their codes in the history's vocabulary, each distinct item of the
                # chunk hashed once below (hashing every entry was 0.5 s of MovieLens' 3.3 s
                # epoch; nothing here is the vocabulary's size, which grows with the catalogue)
                h_counts, h_codes = np.zeros(n, dtype=np.int64), []
                r_counts, r_codes = np.zeros(n, dtype=np.int64), []
                for i in range(n):
                    if users[i] is None:
                        continue
                    user = category(users[i])
                    t = None if missing[i] else int(secs[i])
                    past = history.codes_before(user, t, self.history_length)
                    h_counts[i] = len(past)
                    h_codes += past
                    recent = past[-RECENT:]
                    r_counts[i] = len(recent)
                    r_codes += recent
                    if record and item_values is not None:
                        for item in self._item_values(item_col, item_values[i]):
                            history.record(user, t, item)
                for counts, codes, role in ((h_counts, h_codes, "history"), (r_counts, r_codes, "recent")):
                    if not codes or out is None:
                        continue
                    rows_ = np.repeat(np.arange(n, dtype=np.int64), counts)
                    used, place = _distinct_codes(codes, len(history.vocab))
                    hashes = _salted([history.vocab[c] for c in used], self._salt(role, user_col, item_col))
                    out.add(rows_, hashes[place], 1.0 / np.sqrt(counts[rows_]))

    def target_tracker(self):
        """The user column whose tracked items are the target's (a next-item task), or None."""
        return next((u for u, items in self.temporal_tracking.items() if self.target in items), None)

    def past_labels(self, users, secs, missing):
        """(offsets int64[n + 1], ids int32[m]): the class ids of each row's user's items
        strictly before its time (all of them when its time is missing), the target's
        history (``target_tracker``); items that are no class are left out.

        users : the rows' user values   secs : int64[n]   missing : bool[n]"""
        history = self.histories[(self.target_tracker(), self.target)]
        counts, codes = np.zeros(len(users), dtype=np.int64), []
        for i, user in enumerate(users):
            if user is None:
                continue
            past = history.codes_before(category(user), None if missing[i] else int(secs[i]), _ALL)
            counts[i] = len(past)
            codes += past
        used, place = _distinct_codes(codes, len(history.vocab))
        index = self.labels.index
        classes = np.array([index.get(history.vocab[c], -1) for c in used], dtype=np.int32)[place]
        rows = np.repeat(np.arange(len(users)), counts)[classes >= 0]
        offsets = np.zeros(len(users) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(users)), out=offsets[1:])
        return offsets, classes[classes >= 0]

    def chunk_past_labels(self, chunk):
        """``past_labels`` of a chunk's rows (its user and time columns)."""
        c = self.time_column
        secs, missing = parse_times(c, self.data_types[c], chunk.columns[c], chunk)
        return self.past_labels(chunk.columns[self.target_tracker()], secs, missing)

    def record_interactions(self, chunk):
        """Record the chunk's interactions for temporal tracking (nothing else)."""
        for user_col, items in self.temporal_tracking.items():  # not featurized, so not checked there
            for column in (user_col, *items):
                self._refuse_non_categories(column, chunk)
        c = self.time_column
        self._temporal(chunk, {c: parse_times(c, self.data_types[c], chunk.columns[c], chunk)}, True, None)

    # all together ---------------------------------------------------------------------------

    def transform(self, chunk, mode):
        """CSR features of a chunk (offsets int64[n + 1], ids int32[nnz], vals float32[nnz]),
        its Labels (None in 'predict' mode) and the count of unknown labels."""
        n = len(chunk)
        labels, unknown = None, 0
        if mode != "predict":  # first: a numerical column's first training chunk reads them
            labels, unknown = self.labels.to_ids(chunk.columns[self.target], chunk, grow=mode == "train")
        text, tab, other, times, means = self.own_features(chunk, mode, labels if mode == "train" else None)
        out = _Entries()
        out.extend(text)
        out.extend(other)
        if self.node_column is not None and mode == "train":
            own = _Entries()
            own.extend(out)
            own.extend(tab)
            off, hashes, vals = own.grouped(n)
            for i, node in enumerate(_strings(chunk.columns[self.node_column])):
                if node != UNKNOWN and node not in self.nodes.features:
                    self.nodes.features[node] = (hashes[off[i]:off[i + 1]].copy(), vals[off[i]:off[i + 1]].copy())
        out.extend(means)  # after the node's own features were kept: its neighbors never see them
        if self.cross_column_pairgrams and len(self.categorical_columns) + len(self.numerical_columns) > 1:
            off, hashes, _ = tab.grouped(n)
            poff, ph = fk.ngram_hashes(off, hashes, fk.PAIRGRAMS, self._salt("pairgrams"))
            out.add_csr(poff, ph, 1.0)
        else:
            out.extend(tab)
        if self.node_column is not None or self.neighbor_columns:
            self._graph(chunk, out)
        if self.temporal_tracking:
            self._temporal(chunk, times, mode in ("train", "eval"), out)
        offsets, hashes, vals = out.grouped(n)
        return offsets, self._ids(hashes), vals, labels, unknown

    # config ---------------------------------------------------------------------------------

    def get_config(self):
        """The fitted state, JSON-serialisable: vocabularies, bin edges, the numbers' exact
        values, the label map and the document frequencies of 'tfidf' text columns (the ids
        that occur, and their counts)."""
        frequencies = {}
        for c, (n, ids, counts) in self.document_frequencies.items():
            frequencies[c] = {"rows": int(n), "ids": ids.tolist(), "counts": counts.tolist()}
        return {"labels": self.labels.get_config(),
                "vocabularies": {c: sorted(v) for c, v in self.vocabularies.items()},
                "edges": {c: (None if e is None else [float(x) for x in e]) for c, e in self.edges.items()},
                "date_edges": {c: (None if e is None else [float(x) for x in e])
                               for c, e in self.date_edges.items()},
                "exact_values": {c: v.tolist() for c, v in self.exact_values.items()},
                "exact_pairs": [[a, b, p.tolist()] for (a, b), p in self.exact_pairs.items()],
                "exact_undecided": sorted(self.exact_undecided),
                "stat_columns": self.stat_columns(), "stat_base": self.stat_base,
                "document_frequencies": frequencies, "reserved_positions": self.reserved_positions}

    def set_config(self, cfg):
        self.reserved_positions = cfg.get("reserved_positions", False)
        self.labels.set_config(cfg["labels"])
        for c, v in cfg["vocabularies"].items():
            if not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
                raise ValueError(f"the vocabulary of column {c!r} must be a list of strings, got {v!r:.80}")
        # one a column of its kind: a column left out had loaded and then failed on every predict
        for what, kept, columns in (("vocabularies", cfg["vocabularies"], self.categorical_columns),
                                    ("bin edges", cfg["edges"], self.numerical_columns)):
            if sorted(kept) != sorted(columns):
                raise ValueError(f"the {what} must have an entry for each of the columns {sorted(columns)} and no "
                                 f"other, got entries for {sorted(kept)}")
        # entries of a column the data types no longer name (written before date places or
        # idf, a file holds none of these); document frequencies of a text column that is not
        # 'tfidf' (its weighting edited away) would be ignored: it took other weights in silence
        tfidf = [c for c in self.text_columns if self.data_types[c].weighting == "tfidf"]
        for what, kept, of, columns in (
                ("date places", cfg.get("date_edges", {}), "date columns", self.date_edges),
                ("document frequencies", cfg.get("document_frequencies", {}), "'tfidf' text columns", tfidf),
                ("undecided exact values", cfg.get("exact_undecided", []), "numerical columns",
                 self.numerical_columns)):
            other = sorted(set(kept) - set(columns))
            if other:
                raise ValueError(f"the {what} must be of the {of} {sorted(columns)}, got entries for {other}")
        self.vocabularies = {c: set(v) for c, v in cfg["vocabularies"].items()}
        self.edges = {c: _checked_edges(c, e) for c, e in cfg["edges"].items()}
        self.date_edges = {c: _checked_edges(c, e) for c, e in cfg.get("date_edges", {}).items()}  # before places: none
        self.exact_values = {c: _checked_exact_values(c, v, self.numerical_columns)
                             for c, v in cfg.get("exact_values", {}).items()}
        self.exact_undecided = set(cfg.get("exact_undecided", []))  # before exact values: none
        self.exact_pairs, self._pair_index = {}, {}
        for entry in cfg.get("exact_pairs", []):  # before pairs: none
            if not (isinstance(entry, list) and len(entry) == 3 and entry[0] != entry[1]
                    and all(c in self.numerical_columns and self.data_types[c].exact == "auto" for c in entry[:2])
                    and (entry[0], entry[1]) not in self.exact_pairs and (entry[1], entry[0]) not in self.exact_pairs):
                raise ValueError(f"a pair of exact values must name two numerical columns with exact='auto', "
                                 f"once, got {entry!r:.80}")
            try:  # at float32 precision, as they are matched
                pairs = exact_keys(np.asarray(entry[2], dtype=np.float64))
            except (TypeError, ValueError):
                pairs = None
            index = None if pairs is None or pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.shape[0] == 0 \
                or np.isnan(pairs).any() else exact_pair_index(pairs)
            if index is None or (np.diff(index[2]) <= 0).any():
                raise ValueError(f"the pairs of values of columns {entry[0]!r} and {entry[1]!r} must be rows of two "
                                 f"numbers, sorted, each once, got {entry[2]!r:.80}")
            self.exact_pairs[(entry[0], entry[1])], self._pair_index[(entry[0], entry[1])] = pairs, index
        # the columns only: their values' sums and counts are arrays of the model file's state
        # (``_persist.set_featurizer_state``); until then no value has a mean
        columns = cfg.get("stat_columns", [])  # before target means: none
        if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
            raise ValueError(f"the columns of the target means must be a list of column names, got {columns!r:.80}")
        for c in columns:
            if c not in self.exact_values:
                raise ValueError(f"the target means of column {c!r} need a numerical column with exact values")
        self.exact_stats = {c: (np.zeros(0), np.zeros((STAT_FOLDS, 0)), np.zeros((STAT_FOLDS, 0))) for c in columns}
        self.stat_base = cfg.get("stat_base")
        low, high = self.target_range()
        if columns and not (isinstance(self.stat_base, (int, float)) and not isinstance(self.stat_base, bool)
                            and low <= self.stat_base <= high):
            raise ValueError(f"the target means' base must be a number in the target's range [{low}, {high}], "
                             f"got {self.stat_base!r}")
        self.document_frequencies = {}
        for c, f in cfg.get("document_frequencies", {}).items():
            rows, ids, counts = f["rows"], np.asarray(f["ids"]), np.asarray(f["counts"])
            # whole numbers as written (1.5 had been taken as 1); an IDF of its rows over each
            # id's count: each count within the rows, one an id
            if not (isinstance(rows, int) and not isinstance(rows, bool)
                    and all(a.size == 0 or a.dtype.kind in "iu" for a in (ids, counts))):
                raise ValueError(f"the document frequencies of column {c!r} must be whole numbers")
            ids, counts = ids.astype(np.int64), counts.astype(np.int64)
            if not (rows >= 1 and ids.ndim == 1 and ids.shape == counts.shape
                    and ((ids >= 0) & (ids < self.input_dim)).all() and ((counts >= 1) & (counts <= rows)).all()):
                raise ValueError(f"the document frequencies of column {c!r} must count rows >= 1 and, for each id "
                                 f"in [0, {self.input_dim}), the rows it is in (1 to rows)")
            self.document_frequencies[c] = (rows, ids, counts)


def _checked_exact_values(column, values, numerical):
    """A numerical column's saved exact values (float64[m]) at float32 precision, as they are
    matched (a hand-written 0.1 would match nothing): numbers, sorted, each once, of one of
    the ``numerical`` columns."""
    if column not in numerical:
        raise ValueError(f"exact values are kept for {column!r}, which is not a numerical column")
    if not (isinstance(values, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                             for v in values)):
        raise ValueError(f"the exact values of column {column!r} must be a list of numbers, got {values!r:.80}")
    keys = exact_keys(np.asarray(values, dtype=np.float64))
    if not (np.isfinite(keys).all() and (np.diff(keys) > 0).all()):
        raise ValueError(f"the exact values of column {column!r} must be numbers within float32's range in "
                         f"increasing order, each once at float32 precision, got {values!r:.80}")
    return keys


def _checked_edges(column, edges):
    """A numerical or date column's saved bin edges (float64[k]: finite, increasing), or None."""
    if edges is None:
        return None
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or not np.isfinite(e).all() or (np.diff(e) < 0).any():
        raise ValueError(f"the bin edges of column {column!r} must be finite numbers in increasing order, got "
                         f"{edges!r:.80}")
    return e


def warn_unknown_labels(source, column, count):
    if count:
        warnings.warn(f"{source}: {count} label value(s) of target column {column!r} were never seen in "
                      f"training; they count as misses (auc and neg_log_loss leave them out).", stacklevel=3)
