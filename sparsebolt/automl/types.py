"""Column types of the UniversalDeepTransformer: what a column holds and how it is featurized.

Each type is a small value object with ``get_config()`` (JSON-serialisable) and is made with
the lower-case factory of the same name: ``sb.types.text()``, ``categorical()``,
``numerical()``, ``date()``, ``node_id()``, ``neighbors()``.

Missing values: an empty CSV field, ``None`` or NaN in a DataFrame or a row dict, or a column
absent from a row dict. A missing input value contributes one token of its own per column
(so the model can learn from missingness); a missing text contributes that token only.
"""
from __future__ import annotations

import copy
import datetime
import inspect
import math
import re
from typing import Any

from .._validation import _fail, check_choice, check_int, check_type

__all__ = ["ColumnType", "Text", "Categorical", "Numerical", "Date", "NodeId", "Neighbors", "text", "categorical",
           "numerical", "date", "node_id", "neighbors"]

TOKENIZERS = ("auto", "words", "words_punct", "char-k", "char_wb-k")
ENCODINGS = ("auto", "unigrams", "bigrams", "pairgrams")
WEIGHTINGS = ("auto", "sqrt", "tfidf")
# 'auto' text: texts of at most this many words a row on average get character n-grams too
SHORT_TEXT_WORDS = 8
# a target of 3 to this many classes is a "few classes" one: the hidden width follows
# (automl/udt.py)
FEW_CLASSES = 100
# long texts, the only input column, of 3 to this many classes get character windows and
# bigrams at 1/sqrt(n) (and the UDT a narrow hidden layer); of more, the same with TF-IDF
# weights, 512 wide. WordNet glosses -> their hypernym or its parent: TF-IDF 512 wide at 300
# classes -1.3 and +2.2 points, at 500 +0.7 and +1.9 (docs/automl.md)
LONG_TEXT_CLASSES = 300
# 'auto' tokenizing of long texts for a target of more than two classes, the text alone
LONG_TEXT_TOKENIZERS = ["words", "char_wb-4"]
# 'auto' tokenizing of short texts
SHORT_TEXT_TOKENIZERS = ["words", "char_wb-3", "char_wb-4", "char_wb-5"]
# 'auto' encoding takes no word pairs where the words' order carries nothing, judged on the
# first training rows against the same words shuffled within each row, once the shuffled rows
# repeat ORDERLESS_MIN_REPEATS pairs: (1) the rows as written hold at least ORDERLESS_RATIO
# times the shuffled rows' distinct adjacent pairs (real text 0.53-0.90: clothing reviews,
# WordNet glosses; words in random order 0.996-1.001), and (2) the shuffled rows' sum of
# squared pair counts is at least ORDERLESS_SPREAD times the written rows' (real text
# 0.14-0.48; random order 0.88-1.22 from shuffle to shuffle, the most frequent pairs weigh
# most; six events of a Markov chain, every pair occurring either way, 0.36-0.95 by how peaked
# its steps are). Generated text of random order at 200 / 1,700 classes: 0.9850 / 0.9742 with
# pairs, 0.9930 / 0.9839 without (docs/automl.md, "Words in no order")
ORDERLESS_RATIO, ORDERLESS_SPREAD, ORDERLESS_MIN_REPEATS = 0.95, 0.85, 1000
_CHAR = re.compile(r"^char(_wb)?-([1-9][0-9]?)$")


class ColumnType:
    """Base class of the column types."""

    kind = ""

    def get_config(self) -> dict[str, Any]:
        """The type as a JSON-serialisable dict.

        Returns
        -------
        dict
            ``{"type": kind, <constructor argument>: value, ...}``; ``sb.types`` rebuilds the
            type from it (``UniversalDeepTransformer`` takes it in ``data_types``).
        """
        return {"type": self.kind}

    def __eq__(self, other):
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "type")
        return f"sb.types.{self.kind}({args})"


class Text(ColumnType):
    """Free text, split by one or more tokenizers into tokens that are hashed as unigrams,
    unigrams and adjacent bigrams, or pairgrams (every unordered pair of tokens: O(n^2)).

    Parameters
    ----------
    tokenizer : str or list of str, default='auto'
        'auto' (decided on the first training chunk, see below), 'words' (runs of letters
        and digits), 'words_punct' (the same, and each punctuation character as a token),
        'char-k' with k in 1..99 (every window of k characters, spaces included),
        'char_wb-k' (every window of k characters of each word with a space on either
        side: prefixes, suffixes and stems that survive typos and inflection), or a list of
        these (their features add up; the encoding applies to each tokenizer's tokens,
        except that 'char_wb-k' windows stay unigrams).
    encoding : {'auto', 'unigrams', 'bigrams', 'pairgrams'}, default='auto'
        How tokens are hashed. 'auto' is decided by the first rows featurized: 'bigrams'
        when the texts are long (more than ``SHORT_TEXT_WORDS`` words a row on average) and
        the target has two classes, or more with 'auto' tokenizing and the text as the only
        input, unless the words' order is found to carry nothing (``ORDERLESS_RATIO``), else
        'unigrams' (docs/automl.md: on clothing reviews bigrams raised the AUC of
        'recommended' from 0.9516 to 0.9592; on the 20-class target they lost 0.6 points
        alone and gained 1 point with character windows).
    lowercase : bool, default=True
        Lower-case the text first.
    weighting : {'auto', 'sqrt', 'tfidf'}, default='auto'
        'sqrt': a row's n tokens of the column weigh 1/sqrt(n) each; 'tfidf': each
        distinct feature weighs (1 + log count) * idf, with the inverse document
        frequencies fitted on every row of the first training, and the row is scaled to unit
        norm;
        'auto': 'tfidf' where 'auto' tokenizing chose the short texts' setting or the long
        texts' of more than ``LONG_TEXT_CLASSES`` classes, else 'sqrt'.

    Raises
    ------
    ValueError
        For a value outside the choices above.

    Notes
    -----
    Either way a row's vector of one text column has unit norm (up to hash collisions).
    With ``tokenizer='auto'``, short texts (at most ``SHORT_TEXT_WORDS`` words a row on
    average: queries, names, titles) get words and 'char_wb-3', '-4', '-5' windows, which
    match unseen phrasings of the same words. Longer texts get words and 'char_wb-4'
    windows with bigrams when the text is the only input and the target has 3 to
    ``LONG_TEXT_CLASSES`` classes (clothing reviews' 20 classes: 0.6738 -> 0.6840 over 3 seeds,
    at about twice the fit time), the same with TF-IDF weights when it is the only input
    and the target has more (WordNet glosses -> their hypernym, 1,412 classes: words alone
    0.6098, the windows as TF-IDF unigrams 0.6340, with bigrams too 0.6494), else words
    alone: character windows cost a binary target's
    AUC, and beside graph features lost 0.2 points (docs/automl.md). The choice is kept in
    the column's config.
    """

    kind = "text"
    # set by ``choose`` when 'auto' encoding would have taken word pairs but the words' order
    # carries nothing: the long-text setting all the same (its width and rate)
    pairs_dropped = False

    def __init__(self, tokenizer: str | list[str] = "auto", encoding: str = "auto", lowercase: bool = True,
                 weighting: str = "auto") -> None:
        self.encoding = check_choice("sb.types.text", "encoding", encoding, ENCODINGS)
        self.lowercase = bool(check_type("sb.types.text", "lowercase", lowercase, bool, "a bool"))
        self.weighting = check_choice("sb.types.text", "weighting", weighting, WEIGHTINGS)
        self.tokenizers = None
        if tokenizer == "auto":
            return
        self.set_tokenizers(tokenizer)

    def set_tokenizers(self, tokenizer: str | list[str]) -> None:
        """Take a tokenizer name or list (an 'auto' choice); 'auto' weighting becomes 'sqrt'
        unless it was decided first.

        Parameters
        ----------
        tokenizer : str or list of str
            As the constructor's ``tokenizer``, but not 'auto'.

        Raises
        ------
        ValueError
            For an unknown tokenizer or an empty list.
        """
        tokenizers = [tokenizer] if isinstance(tokenizer, str) else tokenizer
        if not isinstance(tokenizers, (list, tuple)) or not tokenizers:
            _fail("sb.types.text", "tokenizer", "a tokenizer name or a non-empty list of them", tokenizer)
        for t in tokenizers:
            if not (isinstance(t, str) and (t in ("words", "words_punct") or _CHAR.match(t))):
                listed = ", ".join(repr(x) for x in TOKENIZERS)
                # 'auto' stands alone: the list is of what it may choose
                _fail("sb.types.text", "tokenizer", f"one of {listed} (k in 1..99, e.g. 'char-3') "
                      "or a list of these but 'auto'", tokenizer if t == "auto" else t)
        self.tokenizers = [str(t) for t in tokenizers]
        if self.weighting == "auto":
            self.weighting = "sqrt"

    @property
    def undecided(self) -> bool:
        """Whether 'auto' tokenizing or encoding waits for the first rows (``choose``)."""
        return self.tokenizers is None or self.encoding == "auto"

    def choose(self, words_per_row: float, binary_target: bool = False, few_classes: bool = False,
               many_classes: bool = False, orderless: bool = False) -> None:
        """Decide 'auto' tokenizing and 'auto' encoding from the mean word count of the
        training rows (what was given stays).

        Parameters
        ----------
        words_per_row : float
            Mean words a row; at most ``SHORT_TEXT_WORDS`` (8) chooses words and 'char_wb-3',
            '-4', '-5' windows (and 'tfidf' for 'auto' weighting); more chooses words, and
            'char_wb-4' windows too for a ``few_classes`` or ``many_classes`` target.
        binary_target : bool, default=False
            Whether the target has two classes: with long texts, 'auto' encoding becomes
            'bigrams', else 'unigrams'.
        few_classes : bool, default=False
            Whether the target has 3 to ``LONG_TEXT_CLASSES`` classes and the text is the only
            input: long texts get ``LONG_TEXT_TOKENIZERS`` with bigrams (where the
            tokenizing was 'auto').
        many_classes : bool, default=False
            Whether the target has more than ``LONG_TEXT_CLASSES`` classes and the text is the
            only input: long texts get ``LONG_TEXT_TOKENIZERS`` with bigrams and 'tfidf'
            for 'auto' weighting (where the tokenizing was 'auto').
        orderless : bool, default=False
            Whether the words' order was found to carry nothing (``ORDERLESS_RATIO``):
            'auto' encoding is then 'unigrams' where it would be 'bigrams'.
        """
        pairs = self.takes_pairs(words_per_row, binary_target, few_classes, many_classes)
        short = words_per_row <= SHORT_TEXT_WORDS
        rich = few_classes and not short and self.tokenizers is None
        many = many_classes and not short and self.tokenizers is None
        if self.tokenizers is None:
            if short or many:
                if self.weighting == "auto":
                    self.weighting = "tfidf"
            if short:
                self.set_tokenizers(SHORT_TEXT_TOKENIZERS)
            else:
                self.set_tokenizers(LONG_TEXT_TOKENIZERS if rich or many else "words")
        if self.encoding == "auto":
            self.pairs_dropped = pairs and orderless
            self.encoding = "bigrams" if pairs and not orderless else "unigrams"

    def takes_pairs(self, words_per_row: float, binary_target: bool = False, few_classes: bool = False,
                    many_classes: bool = False) -> bool:
        """Whether ``choose`` would make 'auto' encoding 'bigrams' for such rows and target,
        unless their words are found in no order.

        Parameters
        ----------
        words_per_row : float
            Mean words a row.
        binary_target : bool, default=False
            Whether the target has two classes.
        few_classes : bool, default=False
            Whether the target has 3 to ``LONG_TEXT_CLASSES`` classes and the text is the only
            input.
        many_classes : bool, default=False
            Whether the target has more than ``LONG_TEXT_CLASSES`` classes and the text is the
            only input.

        Returns
        -------
        bool
            Whether word pairs would be taken.
        """
        if self.encoding != "auto" or words_per_row <= SHORT_TEXT_WORDS:
            return False
        return binary_target or (self.tokenizers is None and (few_classes or many_classes))

    @property
    def long_text_setting(self) -> bool:
        """Whether the column has the setting 'auto' tokenizing chooses for a long text as the
        only input of a target of more than two classes: ``LONG_TEXT_TOKENIZERS`` with
        bigrams (or without, the words found in no order)."""
        return self.tokenizers == LONG_TEXT_TOKENIZERS and (self.encoding == "bigrams" or self.pairs_dropped)

    @property
    def short_text_setting(self) -> bool:
        """Whether the column has the setting 'auto' tokenizing chooses for short texts:
        ``SHORT_TEXT_TOKENIZERS`` as unigrams with TF-IDF weights."""
        return self.tokenizers == SHORT_TEXT_TOKENIZERS and self.encoding == "unigrams" and self.weighting == "tfidf"

    def get_config(self) -> dict[str, Any]:
        if self.tokenizers is None:
            tok = "auto"
        else:
            tok = self.tokenizers[0] if len(self.tokenizers) == 1 else list(self.tokenizers)
        return {"type": self.kind, "tokenizer": tok, "encoding": self.encoding, "lowercase": self.lowercase,
                "weighting": self.weighting}


class Categorical(ColumnType):
    """A category, or several with a ``delimiter``.

    As an input: each value is a token. The values seen in training form the column's
    vocabulary (or give it as ``vocabulary``); at evaluation and prediction a value outside
    it maps to the column's unknown bucket, the token missing values also use.
    As the target: ``n_classes`` is the number of output neurons. String labels
    (``label_type='str'``) get ids in order of first appearance in training; integer labels
    (``label_type='int'``) are the ids themselves, in [0, n_classes). With a ``delimiter`` a
    row may have several labels (multi-label).

    Parameters
    ----------
    n_classes : int or None, default=None
        Output neurons when the column is the target; None takes the number of distinct
        labels of the first training data.
    delimiter : str or None, default=None
        A single character that separates several values of one field.
    vocabulary : list of str or None, default=None
        The input column's values; None learns them in training.
    label_type : {'str', 'int'}, default='str'
        How target labels map to output ids; 'int' needs ``n_classes``.

    Raises
    ------
    ValueError
        For a bad value, or ``label_type='int'`` without ``n_classes``.
    """

    kind = "categorical"

    def __init__(self, n_classes: int | None = None, delimiter: str | None = None,
                 vocabulary: list[str] | None = None, label_type: str = "str") -> None:
        self.n_classes = None if n_classes is None else check_int("sb.types.categorical", "n_classes", n_classes, 1)
        if delimiter is not None and not (isinstance(delimiter, str) and len(delimiter) == 1):
            _fail("sb.types.categorical", "delimiter", "None or a single character", delimiter)
        self.delimiter = delimiter
        if vocabulary is not None:
            if isinstance(vocabulary, str) or not all(isinstance(v, str) for v in vocabulary):
                _fail("sb.types.categorical", "vocabulary", "None or a list of strings", vocabulary)
            vocabulary = list(vocabulary)
        self.vocabulary = vocabulary
        self.label_type = check_choice("sb.types.categorical", "label_type", label_type, ("str", "int"))
        if self.label_type == "int" and self.n_classes is None:
            _fail("sb.types.categorical", "n_classes", "an int >= 1 with label_type='int' (the integer labels "
                  "are output ids in [0, n_classes))", None)

    def get_config(self) -> dict[str, Any]:
        return {"type": self.kind, "n_classes": self.n_classes, "delimiter": self.delimiter,
                "vocabulary": self.vocabulary, "label_type": self.label_type}


class Numerical(ColumnType):
    """A number, featurized as the token of its bin and, with ``position``, its place among
    the bin edges.

    Parameters
    ----------
    range : tuple of (float, float) or None, default=None
        (low, high) for ``bins`` equal bins (values outside fall in the end bins), or None
        for bins at the ``bins``-quantiles of the first training's values (an even sample
        of at most 2^20 of them) and at those of its distinct values (up to 2 * bins - 1
        bins; a value that fills most rows, like zero, does not swallow the others).
    bins : int or None, default=None
        Number of bins. None: 40 (finer bins lifted the adult AUC from 0.918 at 10 bins to
        0.924), or for an input column of n < 18,261 values whose training rows come in one
        chunk, 1.5 n^(1/3) of them (at least 2), as a histogram's bins grow
        with the cube root of its sample; a bin of a few rows cannot learn its own embedding
        (docs/automl.md, "Small data sets"). For the target of a regression, None is 10
        (up to 19 bins with the distinct values' quantiles, one cumulative output each):
        against 40, it lowered the test RMSE on adult's age 9.631 -> 9.604 and on
        scikit-learn's diabetes set when the bins were classes, and its output layer costs a
        quarter (docs/automl.md, "Numerical targets and probabilities").
    position : bool, default=True
        Also one feature whose value is the number's place between the first and last bin
        edge, from 0 to 1 (interpolated between edges, equally spaced), so the model sees
        the order of the numbers and not only their bins: on small data sets, where a bin
        holds a handful of rows, it matters most (scikit-learn's wine set, 124 training
        rows: accuracy 0.61 -> 0.93; docs/automl.md).
        Model files written before it existed load without it.
    periodic : bool, default=True
        With ``position``, the place also passes through a learnt smooth function into the
        hidden layer (``sb.NumericEmbedding``: periodic features of the place, a small ReLU
        layer, a linear map), which a bin's step function cannot give, and replaces the bin
        token (a missing number keeps its token). Mean of seeds 0-5 on adult: income accuracy
        / AUC 0.8632 / 0.9236 (seeds 0-2) -> 0.8677 / 0.9265 (HistGradientBoosting 0.8676 /
        0.9261); seeds 0-2, age MAE / RMSE 7.3603 / 9.6043 -> 7.3599 / 9.5951
        (docs/automl.md, "Numbers through a smooth function"). Model files written before
        it existed load without it.
    exact : bool or 'auto', default='auto'
        Also a token of the number's exact value, for the values the first training's rows
        (every row in memory, a stream's first chunk) hold at least twice (the others share
        one token; a missing number gets none), which neither the bins nor the smooth
        function resolve: a household's income that names the household, a census weight
        given to people of one age. 'auto' gives the column these tokens when, over those
        rows (less the rows automatic training holds out), its exact values predict the
        target better than its bins (with ``periodic``, which replaces them: than the
        parts of its place the smooth function tells apart, about 4 sigma of them for the
        frequencies' spread sigma) on rows they were not counted from, by
        ``EXACT_MIN_GAIN`` nats a row after ``EXACT_Z`` standard errors (a class or
        numerical target; not a multi-label one). Under a
        binary or numerical target the value's mean target over those rows also enters as
        a number (a training row's own fold of five left out). Two 'auto' columns of at most
        ``EXACT_PAIR_MAX_VALUES`` values each whose pair of values passes the same test
        against the best the network gets without it (each column alone, as its bin, part
        or exact value, and the two added up) get a token of the pair (the pairs held twice or more;
        the others share one): two numbers that name something only together, as a school
        and a teacher's years of experience name a teacher. Of more than
        ``EXACT_PAIR_MAX_COLUMNS`` such columns, those whose values alone tell the most of
        the target are weighed in pairs; at most ``EXACT_MAX_PAIRS`` pairs, those of the
        largest gains, get tokens.
        On adult (seeds 0-5; HistGradientBoosting 0.8687 / 0.9269 and 7.446): income
        accuracy / AUC 0.8663 / 0.9264 -> 0.8678 / 0.9283, age MAE 7.378 -> 5.238; on twelve
        other tables it took columns of three (doctor's AUC 0.889 -> 0.969, ofp's 0.845 ->
        0.859) and left nine unchanged (docs/automl.md, "Exact values"). Model files
        written before it existed load without the tokens.

    Raises
    ------
    ValueError
        For a range without low < high, bins outside [1, 2**20], a ``position`` or
        ``periodic`` that is not a bool or an ``exact`` that is not True, False or 'auto'.
    """

    kind = "numerical"
    # bins=None: at most MAX_AUTO_BINS, else AUTO_BINS_SCALE * n ** (1/3) for n values
    MAX_AUTO_BINS, AUTO_BINS_SCALE = 40, 1.5
    TARGET_AUTO_BINS = 10
    # nats a row of held-out log-loss that exact values must save over the bins (exact='auto');
    # on the tables measured, the columns taken saved 0.014-0.078 and the best of the rest 0.002
    EXACT_MIN_GAIN = 0.005
    # standard errors of that gain taken off first: a few hundred rows repeat values by chance
    EXACT_Z = 2.0
    MAX_EXACT_VALUES = 1 << 16
    # columns of at most this many values are also weighed in pairs (two numbers that name
    # something only together); a pair of columns of more values would hold one pair a row
    EXACT_PAIR_MAX_VALUES = 1000
    # of more such columns, those whose values alone tell the most of the target: 190 pair
    # tests, 0.25 s at 20,000 rows
    EXACT_PAIR_MAX_COLUMNS = 20
    # pairs given a token at most, those of the largest gains
    EXACT_MAX_PAIRS = 20
    # rows a pair's gain is tested on at most (a seeded sample of them)
    EXACT_PAIR_TEST_ROWS = 20_000
    # classes up to which pairs are weighed: beyond, each column's table of classes a key (of
    # the naive Bayes product the pair must beat) would cost more than the pair is likely worth
    EXACT_PAIR_MAX_CLASSES = 64

    def __init__(self, range: tuple[float, float] | None = None,  # noqa: A002 (BOLT's name for it)
                 bins: int | None = None, position: bool = True, periodic: bool = True,
                 exact: bool | str = "auto") -> None:
        if range is not None:
            ok = isinstance(range, (list, tuple)) and len(range) == 2 and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in range) and range[0] < range[1]
            # high - low must be finite too: its bin edges are spaced over it
            if not ok or not _finite_width(*range):
                _fail("sb.types.numerical", "range", "None or (low, high), finite numbers with low < high", range)
            range = [float(range[0]), float(range[1])]
        self.range = range
        self.bins = None if bins is None else check_int("sb.types.numerical", "bins", bins, 1, 1 << 20)
        if not isinstance(position, bool):
            _fail("sb.types.numerical", "position", "True or False", position)
        self.position = position
        if not isinstance(periodic, bool):
            _fail("sb.types.numerical", "periodic", "True or False", periodic)
        self.periodic = periodic
        if exact not in (True, False, "auto") or not isinstance(exact, (bool, str)):
            _fail("sb.types.numerical", "exact", "True, False or 'auto'", exact)
        self.exact = exact

    def get_config(self) -> dict[str, Any]:
        return {"type": self.kind, "range": self.range, "bins": self.bins, "position": self.position,
                "periodic": self.periodic, "exact": self.exact}

    def n_bins(self, n_values: int | None = None, target: bool = False) -> int:
        """The bins to fit: ``bins``, else the automatic count.

        Parameters
        ----------
        n_values : int or None, default=None
            The values the bins are fitted on; None for a range, which keeps
            ``MAX_AUTO_BINS`` when ``bins`` is None.
        target : bool, default=False
            Whether the column is a regression's target (``TARGET_AUTO_BINS`` when ``bins``
            is None).

        Returns
        -------
        int
        """
        if self.bins is not None:
            return self.bins
        if target:
            return self.TARGET_AUTO_BINS
        if n_values is None:
            return self.MAX_AUTO_BINS
        return int(min(self.MAX_AUTO_BINS, max(2, round(self.AUTO_BINS_SCALE * n_values ** (1 / 3)))))


class Date(ColumnType):
    """A date or time, featurized as tokens of its day of week, month, week of year, week of
    month and year, and (not as temporal tracking's clock) its place in time as a number's:
    its bin among the training dates' quantiles and its place among their edges. Also the
    clock of temporal tracking.

    Parameters
    ----------
    format : str, default='iso'
        A ``datetime.strptime`` format, 'iso' (``YYYY-MM-DD`` with an optional time,
        parsed by NumPy) or 'unix' (seconds since 1970-01-01 UTC).
    """

    kind = "date"

    def __init__(self, format: str = "iso") -> None:  # noqa: A002
        check_type("sb.types.date", "format", format, str, "'iso', 'unix' or a strptime format")
        if format not in ("iso", "unix"):
            try:
                datetime.datetime.strptime("", format)
            except ValueError as e:  # a bad directive or a stray '%' reads no date: not the data's fault
                if "does not match format" not in str(e):
                    _fail("sb.types.date", "format", f"'iso', 'unix' or a strptime format ({e})", format)
        self.format = format

    def get_config(self) -> dict[str, Any]:
        return {"type": self.kind, "format": self.format}


class NodeId(ColumnType):
    """The id of a graph node. A node's own id is a token in the same space as the ids in
    ``neighbors`` columns, and keys the node's features for its neighbors (see
    ``UniversalDeepTransformer.index_nodes``)."""

    kind = "node_id"


class Neighbors(ColumnType):
    """The ids of a node's neighbors, separated by ``delimiter``. Featurized as the
    neighbors' id tokens and the neighbors' own (indexed) features, averaged.

    Parameters
    ----------
    delimiter : str, default=' '
        A single character between the ids.
    """

    kind = "neighbors"

    def __init__(self, delimiter: str = " ") -> None:
        if not (isinstance(delimiter, str) and len(delimiter) == 1):
            _fail("sb.types.neighbors", "delimiter", "a single character", delimiter)
        self.delimiter = delimiter

    def get_config(self) -> dict[str, Any]:
        return {"type": self.kind, "delimiter": self.delimiter}


def text(tokenizer: str | list[str] = "auto", encoding: str = "auto", lowercase: bool = True,
         weighting: str = "auto") -> Text:
    return Text(tokenizer, encoding, lowercase, weighting)


def categorical(n_classes: int | None = None, delimiter: str | None = None, vocabulary: list[str] | None = None,
                label_type: str = "str") -> Categorical:
    return Categorical(n_classes, delimiter, vocabulary, label_type)


def _finite_width(low, high):
    try:
        return math.isfinite(float(high) - float(low))
    except OverflowError:  # an int beyond float64
        return False


def numerical(range: tuple[float, float] | None = None, bins: int | None = None,  # noqa: A002
              position: bool = True, periodic: bool = True, exact: bool | str = "auto") -> Numerical:
    return Numerical(range, bins, position, periodic, exact)


def date(format: str = "iso") -> Date:  # noqa: A002
    return Date(format)


def node_id() -> NodeId:
    return NodeId()


def neighbors(delimiter: str = " ") -> Neighbors:
    return Neighbors(delimiter)


for _f, _cls in ((text, Text), (categorical, Categorical), (numerical, Numerical), (date, Date),
                 (node_id, NodeId), (neighbors, Neighbors)):
    _f.__doc__ = _cls.__doc__

TYPES = {cls.kind: cls for cls in (Text, Categorical, Numerical, Date, NodeId, Neighbors)}


def resolve(owner: str, column: str, value: ColumnType | str | dict[str, Any]) -> ColumnType:
    """A ColumnType from a ColumnType, a type name ('text', ...) or a config dict."""
    if isinstance(value, ColumnType):
        # a copy: the model decides a text column's 'auto' tokenizer inside its type, and the
        # object given may be reused for another model
        return copy.deepcopy(value)
    if isinstance(value, str) and value in TYPES:
        return TYPES[value]()
    if isinstance(value, dict) and value.get("type") in TYPES:
        kw = {k: v for k, v in value.items() if k != "type"}
        known = list(inspect.signature(TYPES[value["type"]]).parameters)
        unknown = [k for k in kw if k not in known]
        if unknown:
            raise ValueError(f"The 'data_types' parameter of {owner} must give column {column!r} settings a "
                             f"{value['type']!r} column takes, of {known}. Got {unknown} instead.")
        return TYPES[value["type"]](**kw)
    listed = ", ".join(repr(k) for k in TYPES)
    raise ValueError(f"The 'data_types' parameter of {owner} must give column {column!r} a sb.types object or one of "
                     f"{listed}. Got {value!r} instead.")
