"""scikit-learn estimators over the sparsebolt engine (needs ``pip install 'sparsebolt[sklearn]'``).

``SparseClassifier`` is an input -> hidden ReLU embedding -> output network, the output layer
trained sparsely (LSH-selected active sets) when there are many classes. It follows the
scikit-learn estimator conventions and passes ``sklearn.utils.estimator_checks``, so it works
in a ``Pipeline`` (after ``TfidfVectorizer`` or ``HashingVectorizer``), ``GridSearchCV`` and
``cross_val_score``.

``UDTClassifier`` and ``UDTRegressor`` wrap the ``UniversalDeepTransformer`` for a pandas
DataFrame of typed columns (``fit(X, y)``, X a DataFrame): they work in the same places when
X stays a DataFrame, but take no NumPy arrays, so the estimator checks do not apply to them.
"""
from __future__ import annotations

import numbers
import os
import sys
import tempfile
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("sparsebolt.sklearn needs scikit-learn: pip install 'sparsebolt[sklearn]'") from e

from ._validation import _fail, check_choice, check_float, check_int, check_type
from .automl import UniversalDeepTransformer
from .automl import types as column_types
from .data.arrays import to_dataset
from .nn import BinaryCrossEntropy, CategoricalCrossEntropy, Embedding, FullyConnected, Input, Model

if TYPE_CHECKING:
    import pandas as pd
    from scipy.sparse import sparray, spmatrix

    from .train.schedules import Schedule

__all__ = ["SparseClassifier", "UDTClassifier", "UDTRegressor"]

_OWNER = "SparseClassifier"
MIN_AUTO_STEPS = 500


def _label_kind(v: Any) -> Any:
    """What a label sorts with: strings with strings, numbers with numbers; None for a
    missing one (None, NaN, pandas' NA and NaT)."""
    if isinstance(v, str):
        return str
    if isinstance(v, numbers.Number):
        return numbers.Number if v == v else None  # NaN is unequal to itself
    pd = sys.modules.get("pandas")
    if v is None or (pd is not None and (v is pd.NA or v is pd.NaT)):
        return None
    return type(v)


def _check_labels(owner: str, name: str, values: Any) -> None:
    """Refuse labels ``np.unique`` cannot sort (a missing one, or an int beside strings),
    naming the first and its position: NumPy's TypeError named neither."""
    try:
        arr = np.asarray(values)
    except ValueError:  # ragged: scikit-learn's checks name it
        return
    if arr.ndim != 1 or arr.dtype.kind not in "fO":
        return
    if arr.dtype.kind == "f":
        bad = np.flatnonzero(np.isnan(arr))
        if bad.size:
            raise ValueError(f"The '{name}' parameter of {owner} must hold no missing label. Got nan at position "
                             f"{int(bad[0])} instead.")
        return
    items = arr.tolist()
    first = _label_kind(items[0]) if items else None
    for i, v in enumerate(items):
        kind = _label_kind(v)
        if kind is None:
            raise ValueError(f"The '{name}' parameter of {owner} must hold no missing label. Got {v!r} at position "
                             f"{i} instead.")
        if kind is not first:
            raise ValueError(f"The '{name}' parameter of {owner} must hold labels that sort together (all strings "
                             f"or all numbers). Got {v!r} at position {i} beside {items[0]!r} at position 0 instead.")


class SparseClassifier(ClassifierMixin, BaseEstimator):
    """A sparse neural network classifier: input -> ``hidden_dim`` embedding -> one output
    neuron a class, the output layer computed for a sample's labels and the neurons its LSH
    buckets retrieve (``sparsity`` of them) in training.

    Multi-class when ``y`` holds one label a sample (softmax, categorical cross-entropy);
    multi-label when ``y`` is an indicator matrix, dense or SciPy sparse, one column a
    label (for example from ``MultiLabelBinarizer``; sigmoid outputs, binary
    cross-entropy). The choice is made from ``y`` at ``fit``, as ``MLPClassifier`` does.

    Parameters
    ----------
    hidden_dim : int, default=128
        Width of the hidden layer (an embedding of the sparse input, summed over a
        sample's features and weighted by their values).
    hidden_activation : {'relu', 'linear', 'tanh', 'sigmoid'}, default='relu'
        The hidden layer's activation.
    sparsity : float in (0, 1] or None, default=None
        Fraction of the output neurons a sample computes in training; 1.0 is dense. None
        derives it from the number of classes (dense below 450, 0.005 above 20,000).
    epochs : int or 'auto', default='auto'
        Passes over the data in ``fit``; ``partial_fit`` makes one a call. 'auto' makes
        at least ``MIN_AUTO_STEPS`` (500) Adam steps: 5 passes from 128,000 samples up (at
        the default batch size), more for fewer samples, at most 200 (300 samples: 200
        passes of 2 batches). With 5 fixed passes, a 300-sample problem got 10 steps and
        stayed near chance.
    learning_rate : float, default=1e-3
        Adam's learning rate.
    batch_size : int, default=256
        Samples a training step.
    sparse_inference : bool, default=False
        Predict through the LSH tables too (faster with very many classes, approximate);
        False scores every class.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the hash functions, the sampling and the shuffling; an int
        gives the same model on 1 or 2 threads.
    verbose : bool, default=False
        Show training progress.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (multi-label: the column indices of the indicator matrix).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, when X had string column names.
    model_ : sparsebolt.Model
        The trained network.
    history_ : list of dict
        One entry a training epoch: loss, seconds, samples (``pandas.DataFrame(history_)``).

    Notes
    -----
    Pickling is supported, and safe for the model's state: ``__getstate__`` replaces the
    network by the bytes of its sparsebolt model file (``Model.save``: arrays and a JSON
    manifest, never pickled), and unpickling loads them with their CRC-32 checked. The
    pickle around them is still a pickle: load only pickles you trust, or share
    ``model_.save(path)`` files instead.

    ``decision_function`` gives log-probabilities (multi-class), the log-odds of the
    second class (binary) or of each label (multi-label).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.feature_extraction.text import HashingVectorizer
    >>> from sparsebolt.sklearn import SparseClassifier
    >>> clf = make_pipeline(HashingVectorizer(n_features=2**18), SparseClassifier(epochs=10))
    >>> clf.fit(texts, labels).score(test_texts, test_labels)  # doctest: +SKIP
    """

    def __init__(self, hidden_dim: int = 128, hidden_activation: str = "relu", sparsity: float | None = None,
                 epochs: int | str = "auto", learning_rate: float = 1e-3, batch_size: int = 256,
                 sparse_inference: bool = False, random_state: Any = None,
                 verbose: bool = False) -> None:
        self.hidden_dim = hidden_dim
        self.hidden_activation = hidden_activation
        self.sparsity = sparsity
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.sparse_inference = sparse_inference
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags

    # fitting -----------------------------------------------------------------------------

    def _check_params(self) -> None:
        check_int(_OWNER, "hidden_dim", self.hidden_dim, 1)
        check_choice(_OWNER, "hidden_activation", self.hidden_activation, ("relu", "linear", "tanh", "sigmoid"))
        if self.sparsity is not None:
            check_float(_OWNER, "sparsity", self.sparsity, 0.0, 1.0, low_open=True)
        if not (isinstance(self.epochs, str) and self.epochs == "auto"):
            if not isinstance(self.epochs, numbers.Integral) or isinstance(self.epochs, bool) or self.epochs < 1:
                _fail(_OWNER, "epochs", "an int >= 1 or 'auto'", self.epochs)
        check_float(_OWNER, "learning_rate", self.learning_rate, 0.0, low_open=True)
        check_int(_OWNER, "batch_size", self.batch_size, 1)
        check_type(_OWNER, "sparse_inference", self.sparse_inference, (bool, np.bool_), "a bool")
        check_type(_OWNER, "verbose", self.verbose, (bool, np.bool_, int), "a bool")
        rs = self.random_state
        seed_int = isinstance(rs, (int, np.integer)) and not isinstance(rs, bool) and 0 <= rs < 2**32
        if not (seed_int or rs is None or isinstance(rs, np.random.RandomState)):  # NumPy's seeds
            _fail(_OWNER, "random_state", "an int in [0, 2**32 - 1], a RandomState or None", rs)

    def _validate(self, X, y, reset):
        """(X as float32 CSR, y) checked; y's kind decides multi-label on ``reset``."""
        if y is not None and not hasattr(y, "tocsr"):  # a sparse indicator matrix holds numbers
            _check_labels(_OWNER, "y", y)
        multilabel = type_of_target(y, input_name="y") == "multilabel-indicator" if y is not None else False
        X, y = validate_data(self, X, y, reset=reset, accept_sparse="csr", dtype=np.float32,
                             multi_output=multilabel)
        if not multilabel:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return X, y, multilabel

    def _build(self, n_features: int) -> None:
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max) \
            if not isinstance(self.random_state, (int, np.integer)) else int(self.random_state)
        inp = Input(dim=n_features, name="features")
        hidden = Embedding(dim=self.hidden_dim, activation=self.hidden_activation, name="hidden")(inp)
        activation = "sigmoid" if self._multilabel else "softmax"
        out = FullyConnected(dim=len(self.classes_), sparsity=self.sparsity, activation=activation,
                             name="output")(hidden)
        loss = BinaryCrossEntropy() if self._multilabel else CategoricalCrossEntropy()
        self.model_ = Model(inputs=inp, outputs=out, loss=loss, seed=seed)
        self.history_ = []

    def _label_ids(self, y) -> Any:
        if self._multilabel:
            if y.shape[1] != len(self.classes_):
                raise ValueError(f"The 'y' parameter of {_OWNER} must have {len(self.classes_)} label columns, "
                                 f"as in the first fit. Got {y.shape[1]} instead.")
            return y
        ids = np.searchsorted(self.classes_, y)
        ids = np.minimum(ids, len(self.classes_) - 1)
        unseen = self.classes_[ids] != y
        if unseen.any():
            raise ValueError(f"The 'y' parameter of {_OWNER} must hold only the classes given to the first "
                             f"partial_fit ({self.classes_.tolist()}). Got {y[unseen][0]!r} instead.")
        return ids

    def _epochs(self, n_samples: int) -> int:
        if isinstance(self.epochs, str):
            steps = -(-n_samples // self.batch_size)
            return min(max(-(-MIN_AUTO_STEPS // steps), 5), 200)
        return int(self.epochs)

    def _train(self, X, y, epochs: int) -> None:
        data = to_dataset(_OWNER, X, self._label_ids(y), self.n_features_in_, len(self.classes_),
                          batch_size=self.batch_size, shuffle=True,
                          seed=[self.model_.seed, self.model_.epochs])
        history = self.model_.train(data, epochs=epochs, learning_rate=self.learning_rate,
                                    verbose=bool(self.verbose))
        self.history_.extend(history.epochs)

    def fit(self, X: ArrayLike | spmatrix | sparray, y: ArrayLike | spmatrix | sparray) -> SparseClassifier:
        """Train a new network on ``X`` for ``epochs`` epochs (see the class docstring for 'auto').

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples; a SciPy CSR matrix of float32 values is used without copying.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multi-label indicator matrix.

        Returns
        -------
        self : SparseClassifier
            The fitted estimator.
        """
        self._check_params()
        X, y, self._multilabel = self._validate(X, y, reset=True)
        self.classes_ = np.arange(y.shape[1]) if self._multilabel else np.unique(y)
        self._build(X.shape[1])
        self._train(X, y, self._epochs(X.shape[0]))
        return self

    def partial_fit(self, X: ArrayLike | spmatrix | sparray, y: ArrayLike | spmatrix | sparray,
                    classes: ArrayLike | None = None) -> SparseClassifier:
        """One epoch over ``X`` (a network is built at the first call).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples of this increment.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multi-label indicator matrix.
        classes : array-like of shape (n_classes,), default=None
            Every class that any call will see; required at the first call of a
            multi-class model, ignored after it.

        Returns
        -------
        self : SparseClassifier
            The updated estimator.
        """
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
        X, y, multilabel = self._validate(X, y, reset=first)
        if first:
            self._multilabel = multilabel
            if multilabel:
                self.classes_ = np.arange(y.shape[1])
            elif classes is None:
                raise ValueError(f"The 'classes' parameter of {_OWNER}.partial_fit must list every class at the "
                                 f"first call. Got None instead.")
            else:
                classes = np.asarray(classes)
                if classes.ndim != 1 or classes.size == 0:  # a nested list had been flattened
                    _fail(f"{_OWNER}.partial_fit", "classes", "a non-empty 1-d array-like of labels",
                          classes.tolist())
                _check_labels(f"{_OWNER}.partial_fit", "classes", classes)
                self.classes_ = np.unique(classes)
            self._build(X.shape[1])
        elif multilabel != self._multilabel:
            raise ValueError(f"The 'y' parameter of {_OWNER}.partial_fit must be "
                             f"{'an indicator matrix' if self._multilabel else 'one label a sample'}, as in the "
                             f"first call. Got {type_of_target(y)!r} targets instead.")
        self._train(X, y, 1)
        return self

    # prediction --------------------------------------------------------------------------

    def _data(self, X):
        X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=np.float32)
        return to_dataset(_OWNER, X, None, self.n_features_in_, len(self.classes_), batch_size=max(self.batch_size, 1024))

    def _top(self, X, k: int):
        data = self._data(X)
        return self.model_.predict(data, top_k=min(k, len(self.classes_)),
                                   sparse_inference=bool(self.sparse_inference))

    def _dense_proba(self, X) -> np.ndarray:
        ids, scores = self._top(X, len(self.classes_))
        proba = np.zeros((ids.shape[0], len(self.classes_)), dtype=np.float64)
        found = ids >= 0
        rows = np.nonzero(found)[0]
        proba[rows, ids[found]] = scores[found]
        return proba

    def predict_proba(self, X: ArrayLike | spmatrix | sparray) -> np.ndarray:
        """Class probabilities, a dense samples x classes array: for very many classes use
        ``predict_top_k``, which never builds it.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to give probabilities for.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax probabilities (multi-class) or each label's sigmoid (multi-label),
            columns in the order of ``classes_``. With ``sparse_inference`` the classes the
            LSH tables do not retrieve for a sample read as 0.
        """
        check_is_fitted(self, "model_")
        return self._dense_proba(X)

    def predict_top_k(self, X: ArrayLike | spmatrix | sparray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """Each sample's ``k`` most probable classes, best first, without a dense
        samples x classes array (for models of many thousand classes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to rank the classes for.
        k : int, default=5
            Classes a sample (at most ``len(classes_)``).

        Returns
        -------
        classes : ndarray of shape (n_samples, min(k, n_classes))
            Class labels from ``classes_``.
        proba : ndarray of shape (n_samples, min(k, n_classes))
            Their probabilities, as ``predict_proba`` gives them. With ``sparse_inference``
            a sample whose LSH buckets hold fewer than k classes has probability 0 in the
            places left over, and ``classes_[0]`` there.
        """
        check_is_fitted(self, "model_")
        ids, scores = self._top(X, check_int(f"{_OWNER}.predict_top_k", "k", k, 1))
        padded = ids < 0
        return self.classes_[np.where(padded, 0, ids)], np.where(padded, 0.0, scores.astype(np.float64))

    def decision_function(self, X: ArrayLike | spmatrix | sparray) -> np.ndarray:
        """Confidence scores, monotone in the probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Binary: the log-odds of ``classes_[1]``. Multi-class: log-probabilities.
            Multi-label: each label's log-odds.
        """
        check_is_fitted(self, "model_")
        proba = self._dense_proba(X)
        with np.errstate(divide="ignore"):
            if self._multilabel:
                return np.log(proba) - np.log1p(-proba)
            if len(self.classes_) == 2:
                return np.log(proba[:, 1]) - np.log1p(-proba[:, 1])
            return np.log(proba)

    def predict(self, X: ArrayLike | spmatrix | sparray) -> np.ndarray:
        """Predicted classes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The most probable class, or (multi-label) an indicator matrix of the labels of
            probability 0.5 and above. With ``sparse_inference``, ``classes_[0]`` for a
            sample whose LSH buckets hold no class.
        """
        check_is_fitted(self, "model_")
        if self._multilabel:
            return (self._dense_proba(X) >= 0.5).astype(np.int64)
        return self.predict_top_k(X, 1)[0][:, 0]

    # pickling ----------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        # a copy: the base class may hand back the live __dict__
        state = dict(super().__getstate__())
        model = state.pop("model_", None)
        if model is not None:
            state["_model_file"] = _file_bytes(model)
        return state

    def __setstate__(self, state: dict) -> None:
        blob = state.pop("_model_file", None)
        super().__setstate__(state)
        if blob is not None:
            self.model_ = _from_file_bytes(blob, Model.load)


def _file_bytes(model: Any) -> bytes:
    """The bytes of the model file ``model.save`` writes (what a pickle carries)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.sbm")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def _from_file_bytes(blob: bytes, load: Any) -> Any:
    """The model ``load`` reads from the model-file bytes ``blob`` (CRC-checked)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.sbm")
        with open(path, "wb") as f:
            f.write(blob)
        return load(path)


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


class _UDTEstimator(BaseEstimator):
    """What the UDT estimators share: a UniversalDeepTransformer trained on X's columns and
    y as its target column, saved as model-file bytes when pickled."""

    def __init__(self, data_types: dict[str, Any], target: str = "target", epochs: int | None = None,
                 learning_rate: float | Schedule | None = None, batch_size: int | None = None, input_dim: int = 100_000,
                 embedding_dim: int | None = None, seed: int = 0, verbose: bool = False) -> None:
        self.data_types = data_types
        self.target = target
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.input_dim = input_dim
        self.embedding_dim = embedding_dim
        self.seed = seed
        self.verbose = verbose

    def _frame(self, X: Any, owner: str) -> Any:
        pd = sys.modules.get("pandas")  # a DataFrame exists only if pandas is loaded
        if pd is None or not isinstance(X, pd.DataFrame):
            raise TypeError(f"The 'X' parameter of {owner} must be a pandas DataFrame with the columns of "
                            f"data_types. Got {type(X).__name__} instead.")
        return X

    @staticmethod
    def _target_values(y: ArrayLike, owner: str) -> np.ndarray:
        """y as a 1-d array of at least one value."""
        y = column_or_1d(y, warn=True)
        if y.shape[0] == 0:
            raise ValueError(f"The 'y' parameter of {owner} must hold at least one value, one a row of X. Got none "
                             f"instead.")
        return y

    def _fit_udt(self, X: Any, y: np.ndarray, target_type: Any, owner: str) -> None:
        # a fit that fails, at any check, leaves the estimator unfitted, not with a network
        # beside the classes of another fit (or the one it had begun)
        self.__dict__.pop("udt_", None)
        X = self._frame(X, owner)
        if not isinstance(self.data_types, dict):
            _fail(owner, "data_types", "a dict of column name -> sb.types", self.data_types)
        check_type(owner, "target", self.target, str, "a column name (str)")
        check_type(owner, "verbose", self.verbose, (bool, np.bool_, int), "a bool")
        if self.target in self.data_types or self.target in X.columns:
            _fail(owner, "target", "a column name in neither data_types nor X (it names y's column)", self.target)
        if len(y) != len(X):
            raise ValueError(f"The 'y' parameter of {owner} must hold one value a row of X ({len(X)} rows). Got "
                             f"{len(y)} values instead.")
        udt = UniversalDeepTransformer({**self.data_types, self.target: target_type}, self.target,
                                       input_dim=self.input_dim, embedding_dim=self.embedding_dim, seed=self.seed)
        history = udt.train(X.assign(**{self.target: y}), epochs=self.epochs, learning_rate=self.learning_rate,
                            batch_size=self.batch_size, verbose=bool(self.verbose))
        self.udt_ = udt
        self.history_ = history.epochs
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        udt = state.pop("udt_", None)
        if udt is not None:
            state["_udt_file"] = _file_bytes(udt)
        return state

    def __setstate__(self, state: dict) -> None:
        blob = state.pop("_udt_file", None)
        super().__setstate__(state)
        if blob is not None:
            self.udt_ = _from_file_bytes(blob, UniversalDeepTransformer.load)


_UDT_PARAMETERS = """
    Parameters
    ----------
    data_types : dict of str to ColumnType or str
        The input columns of X and their ``sb.types`` (as for ``UniversalDeepTransformer``);
        other columns of X are ignored.
    target : str, default='target'
        The name y's column takes inside the model; not a column of X or of ``data_types``.
    epochs : int or None, default=None
        Passes over the data; None lets the model hold out rows and stop by itself
        (``UniversalDeepTransformer.train``).
    learning_rate : float, Schedule or None, default=None
        None: the model's automatic schedule.
    batch_size : int or None, default=None
        Rows a training step; None: 256 (2,048 for a short text of more than 20,000
        classes), or fewer for a small X, doubled on a plateau of automatic training up to
        2,048 (``UniversalDeepTransformer.train``).
    input_dim : int, default=100_000
        Width of the hashed feature space.
    embedding_dim : int or None, default=None
        Width of the hidden layer; None lets the model choose (``UniversalDeepTransformer``).
    seed : int, default=0
        Seeds hashing, weights and the held-out rows.
    verbose : bool, default=False
        Show training progress.
"""

_UDT_ATTRIBUTES = """
    udt_ : UniversalDeepTransformer
        The trained model (``udt_.explain``, ``udt_.embed``, ``udt_.save`` ...).
    history_ : list of dict
        One entry a training epoch.
    n_features_in_ : int
        Columns of the X given to ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Their names.

    Notes
    -----
    Pickling is supported as for ``SparseClassifier``: the model travels as the bytes of its
    model file (``UniversalDeepTransformer.save``), never pickled itself.
"""


class UDTClassifier(ClassifierMixin, _UDTEstimator):
    __doc__ = """A classifier over a DataFrame of typed columns: a ``UniversalDeepTransformer``
    whose target is y. The classes are y's distinct values (any labels ``np.unique`` sorts),
    each an output neuron; multi-label y is not supported here (use the model itself).
""" + _UDT_PARAMETERS + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.""" + _UDT_ATTRIBUTES + """
    Examples
    --------
    >>> import sparsebolt as sb
    >>> from sklearn.model_selection import cross_val_score
    >>> from sparsebolt.sklearn import UDTClassifier
    >>> clf = UDTClassifier({"review": sb.types.text(), "stars": sb.types.numerical()})
    >>> cross_val_score(clf, frame[["review", "stars"]], frame["label"])  # doctest: +SKIP
    """

    def fit(self, X: pd.DataFrame, y: ArrayLike) -> UDTClassifier:
        """Train a new model on X's columns with y as the target.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            The input columns (at least those of ``data_types``).
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : UDTClassifier
            The fitted estimator.

        Raises
        ------
        TypeError
            When X is not a DataFrame.
        ValueError
            For a ``target`` that names a column of X or ``data_types``, or X and y of
            different lengths.
        """
        y = self._target_values(y, "UDTClassifier")
        _check_labels("UDTClassifier", "y", y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        target_type = column_types.categorical(n_classes=len(self.classes_), label_type="int")
        self._fit_udt(X, np.searchsorted(self.classes_, y), target_type, "UDTClassifier")
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities: the softmax outputs, or for two classes the calibrated
        probability of ``UniversalDeepTransformer.predict_proba`` (and its complement).

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            Rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self, "udt_")
        top = self.udt_.predict_batch(self._frame(X, "UDTClassifier"), top_k=len(self.classes_))
        proba = np.zeros((len(top), len(self.classes_)), dtype=np.float64)
        for i, row in enumerate(top):
            for k, score in row:
                proba[i, k] = score
        return proba

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The most probable class of each row.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            Rows to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "udt_")
        top = self.udt_.predict_batch(self._frame(X, "UDTClassifier"), top_k=1)
        return self.classes_[np.array([row[0][0] for row in top], dtype=np.int64)]


class UDTRegressor(RegressorMixin, _UDTEstimator):
    __doc__ = """A regressor over a DataFrame of typed columns: a ``UniversalDeepTransformer``
    whose numerical target is y, predicted through ``bins`` cumulative bins (the lowest
    training value plus each bin's output, how far the value passes through it, times the
    bin's width).
""" + _UDT_PARAMETERS + """    bins : int or None, default=None
        Bins of y (``sb.types.numerical(bins=...)``; edges at y's quantiles); None: the
        model's default for a target (10).

    Attributes
    ----------""" + _UDT_ATTRIBUTES

    def __init__(self, data_types: dict[str, Any], target: str = "target", epochs: int | None = None,
                 learning_rate: float | Schedule | None = None, batch_size: int | None = None, input_dim: int = 100_000,
                 embedding_dim: int | None = None, seed: int = 0, verbose: bool = False, bins: int | None = None) -> None:
        super().__init__(data_types, target, epochs, learning_rate, batch_size, input_dim, embedding_dim, seed,
                         verbose)
        self.bins = bins

    def fit(self, X: pd.DataFrame, y: ArrayLike) -> UDTRegressor:
        """Train a new model on X's columns with y as the numerical target.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            The input columns (at least those of ``data_types``).
        y : array-like of shape (n_samples,)
            Finite numbers.

        Returns
        -------
        self : UDTRegressor
            The fitted estimator.

        Raises
        ------
        TypeError
            When X is not a DataFrame.
        ValueError
            For a ``target`` that names a column of X or ``data_types``, X and y of
            different lengths, or a y that is not all finite numbers.
        """
        y = self._target_values(y, "UDTRegressor")
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            _fail("UDTRegressor", "y", "finite numbers", next(v for v in y.tolist() if not _is_number(v)))
        if not np.isfinite(y).all():
            _fail("UDTRegressor", "y", "finite numbers", y[~np.isfinite(y)][0])
        self._fit_udt(X, y, column_types.numerical(bins=self.bins), "UDTRegressor")
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The predicted value of each row.

        Parameters
        ----------
        X : DataFrame of shape (n_samples, n_columns)
            Rows to predict.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "udt_")
        top = self.udt_.predict_batch(self._frame(X, "UDTRegressor"), top_k=1)
        return np.array([row[0][0] for row in top], dtype=np.float64)
