"""sparsebolt.sklearn: the scikit-learn estimator checks, pipelines, search, pickling; and
UDTClassifier and UDTRegressor, the UniversalDeepTransformer on a DataFrame as a scikit-learn
estimator, in cross_val_score, a Pipeline and GridSearchCV, pickled."""
import pickle

import numpy as np
import pytest

import sparsebolt as sb

pytest.importorskip("sklearn", reason="scikit-learn is in the [test] extra; the estimator tests need it")
pd = pytest.importorskip("pandas")
from scipy import sparse  # noqa: E402  (scikit-learn depends on SciPy)
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from sparsebolt.sklearn import SparseClassifier, UDTClassifier, UDTRegressor  # noqa: E402

from .synthetic import clustered  # noqa: E402

# small and quick: the checks fit a few hundred times on problems of at most a few hundred samples
FAST = SparseClassifier(hidden_dim=16, epochs=20, learning_rate=1e-2, batch_size=32)
DEFAULT = SparseClassifier()


# float32 scores go through BLAS, which rounds a row by the batch it is in (README: "What is
# reproducible, bit for bit"); the check allows 1e-7 absolute, and the defaults' trained
# log-probabilities differed by 6e-7 (relative 1.6e-7) in one of 60 values
SUBSET = {"check_methods_subset_invariance": "float32 BLAS rounds a row by its batch: equal to float32 "
                                             "precision (relative 2e-7), not to 1e-7 absolute"}


@parametrize_with_checks([FAST, DEFAULT], expected_failed_checks=lambda estimator: SUBSET)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _texts(n=600, n_classes=4, seed=0):
    """Short texts whose words come mostly from their class's vocabulary."""
    rng = np.random.default_rng(seed)
    vocab = [[f"w{c}x{i}" for i in range(30)] for c in range(n_classes)]
    common = [f"common{i}" for i in range(50)]
    y = rng.integers(0, n_classes, n)
    texts = [" ".join(list(rng.choice(vocab[c], 6)) + list(rng.choice(common, 6))) for c in y]
    names = np.array(["sports", "science", "politics", "music", "art", "travel"])[:n_classes]
    return texts, names[y]


@pytest.mark.parametrize("vectorizer", [TfidfVectorizer(), HashingVectorizer(n_features=2 ** 12)])
def test_pipeline_after_a_text_vectorizer(vectorizer, one_thread):
    texts, y = _texts()
    pipe = Pipeline([("vec", vectorizer), ("clf", SparseClassifier(hidden_dim=32, epochs=10, learning_rate=1e-2,
                                                                  batch_size=32, random_state=0))])
    pipe.fit(texts[:400], y[:400])
    assert pipe.score(texts[400:], y[400:]) > 0.9
    assert set(pipe.predict(texts[400:])) <= set(y)
    proba = pipe.predict_proba(texts[400:])
    assert proba.shape == (200, 4) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)


def test_grid_search_and_cross_val_score(one_thread):
    texts, y = _texts(n=300)
    pipe = Pipeline([("vec", HashingVectorizer(n_features=2 ** 12)),
                     ("clf", SparseClassifier(hidden_dim=16, batch_size=32, random_state=0))])
    search = GridSearchCV(pipe, {"clf__epochs": [1, 10], "clf__learning_rate": [1e-2]}, cv=3)
    search.fit(texts, y)
    assert search.best_params_["clf__epochs"] == 10
    assert search.best_score_ > 0.9
    scores = cross_val_score(search.best_estimator_, texts, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9


def _clustered_xy(n=2000, n_classes=500, seed=0):
    data = clustered(n=n, n_classes=n_classes, seed=seed)
    f = data.features
    return sparse.csr_matrix((f.vals, f.ids, f.offsets), shape=(n, data.dim)), data.labels.ids.copy()


def test_many_classes_train_sparsely_and_predict_top_k(one_thread):
    x, y = _clustered_xy()
    clf = SparseClassifier(hidden_dim=32, sparsity=0.05, epochs=4, learning_rate=1e-2, batch_size=128,
                           random_state=0).fit(x, y)
    assert clf.model_.output.layer.is_sparse
    assert clf.score(x, y) > 0.8
    classes, proba = clf.predict_top_k(x[:50], k=5)
    assert classes.shape == proba.shape == (50, 5)
    assert np.array_equal(classes[:, 0], clf.predict(x[:50]))
    assert np.all(np.diff(proba, axis=1) <= 0)
    assert np.allclose(proba, np.sort(clf.predict_proba(x[:50]), axis=1)[:, ::-1][:, :5])
    clf.set_params(sparse_inference=True)
    assert clf.score(x, y) > 0.7


def test_multi_label_indicator_targets(one_thread):
    x, y = _clustered_xy(n=1000, n_classes=50, seed=1)
    second = (y + 1) % 50
    indicator = np.zeros((1000, 50), dtype=np.int64)
    indicator[np.arange(1000), y] = 1
    indicator[np.arange(1000), second] = 1
    clf = SparseClassifier(hidden_dim=32, epochs=15, learning_rate=1e-2, batch_size=64, random_state=0)
    clf.fit(x, sparse.csr_matrix(indicator))
    assert clf.predict(x).shape == (1000, 50)
    assert clf.predict_proba(x).shape == (1000, 50)
    hits = clf.predict(x)[np.arange(1000), y]
    assert hits.mean() > 0.8
    assert clf.model_.loss.name == "binary_cross_entropy"


def test_pickle_stores_the_model_file_and_round_trips(one_thread):
    x, y = _clustered_xy(n=500, n_classes=20)
    clf = SparseClassifier(hidden_dim=16, epochs=3, learning_rate=1e-2, random_state=0).fit(x, y)
    blob = pickle.dumps(clf)
    state = clf.__getstate__()
    assert "model_" not in state and state["_model_file"][:2] == b"PK"  # the zip model file, not pickled arrays
    assert hasattr(clf, "model_")  # pickling leaves the estimator intact
    back = pickle.loads(blob)
    assert np.array_equal(back.predict_proba(x), clf.predict_proba(x))
    back.partial_fit(x, y)
    clf.partial_fit(x, y)
    assert np.array_equal(back.predict_proba(x), clf.predict_proba(x))


def test_partial_fit_learns_and_checks_its_classes(one_thread):
    x, y = _clustered_xy(n=1000, n_classes=20)
    clf = SparseClassifier(hidden_dim=16, learning_rate=1e-2, batch_size=64, random_state=0)
    with pytest.raises(ValueError, match=r"The 'classes' parameter of SparseClassifier.partial_fit must list"):
        clf.partial_fit(x, y)
    for _ in range(5):
        clf.partial_fit(x[:500], y[:500], classes=np.arange(25))
    assert list(clf.classes_) == list(range(25))
    assert len(clf.history_) == 5 and clf.score(x[500:], y[500:]) > 0.8
    with pytest.raises(ValueError, match=r"must hold only the classes given to the first partial_fit"):
        clf.partial_fit(x, y + 100)


def test_labels_that_do_not_sort_together_are_named(one_thread):
    # NumPy's sort had raised "'<' not supported between instances of 'NoneType' and 'str'"
    x, _ = _clustered_xy(n=40, n_classes=2)
    clf = SparseClassifier(hidden_dim=8, epochs=1)
    with pytest.raises(ValueError, match=r"^The 'y' parameter of SparseClassifier must hold no missing label\. "
                                         r"Got None at position 1 instead\.$"):
        clf.fit(x, np.array(["a", None] * 20, dtype=object))
    with pytest.raises(ValueError, match=r"^The 'y' parameter of SparseClassifier must hold labels that sort "
                                         r"together \(all strings or all numbers\)\. Got 1 at position 3 beside "
                                         r"'a' at position 0 instead\.$"):
        clf.fit(x, np.array(["a", "b", "a", 1] * 10, dtype=object))
    pd = pytest.importorskip("pandas")
    for y in (pd.Series(["a", "b", pd.NA, "a"] * 10, dtype=object), pd.Series([pd.NA, "b"] * 20, dtype=object)):
        # pandas' NA had been named as a label that does not sort with the others
        with pytest.raises(ValueError, match=r"must hold no missing label\. Got <NA> at position"):
            clf.fit(x, y)
    owner = r"The 'classes' parameter of SparseClassifier\.partial_fit must"
    for classes, message in ((["a", None], r"hold no missing label\. Got None at position 1"),
                             ([0.0, np.nan], r"hold no missing label\. Got nan at position 1"),
                             (np.array(["a", 2], dtype=object), r"hold labels that sort together"),
                             ([[0, 1], [2, 3]], r"be a non-empty 1-d array-like of labels\. Got \[\[0, 1\], \[2, 3")):
        with pytest.raises(ValueError, match=rf"^{owner} {message}"):
            clf.partial_fit(x, np.zeros(40, dtype=int), classes=classes)


@pytest.mark.parametrize("params, message", [
    ({"epochs": 0}, r"The 'epochs' parameter of SparseClassifier must be an int >= 1 or 'auto'. Got 0 instead."),
    ({"sparsity": 1.5}, r"The 'sparsity' parameter of SparseClassifier must be a number in \(0.0, 1.0\]"),
    ({"hidden_activation": "gelu"}, r"The 'hidden_activation' parameter of SparseClassifier must be one of"),
    ({"learning_rate": -1.0}, r"The 'learning_rate' parameter of SparseClassifier must be a number"),
    # NumPy's own words before, and seeds from 2**32 up taken (scikit-learn refuses them)
    ({"random_state": "seed"}, r"'random_state' parameter of SparseClassifier must be an int in \[0, 2\*\*32 - 1\]"),
    ({"random_state": -1}, r"The 'random_state' parameter of SparseClassifier must be an int"),
    ({"random_state": 2**40}, r"The 'random_state' parameter of SparseClassifier must be an int"),
])
def test_bad_parameters_fail_at_fit_with_the_template(params, message):
    clf = SparseClassifier(**params)  # stored only: scikit-learn validates in fit
    x, y = _clustered_xy(n=50, n_classes=5)
    with pytest.raises(ValueError, match=message):
        clf.fit(x, y)


def test_auto_epochs_make_at_least_500_steps_within_5_to_200_passes():
    clf = SparseClassifier()
    assert [clf._epochs(n) for n in (300, 5_000, 128_000, 10**7)] == [200, 25, 5, 5]
    assert SparseClassifier(epochs=3)._epochs(300) == 3
    with pytest.raises(ValueError, match=r"The 'epochs' parameter of SparseClassifier must be an int >= 1 or "
                                         r"'auto'. Got 'many' instead."):
        SparseClassifier(epochs="many").fit(np.eye(3), [0, 1, 2])


def test_a_sparse_output_of_two_classes_trains():
    # at sparsity 0.5 a sample computed its label's neuron alone: a softmax over one neuron is
    # 1, its loss 0 from the first step, and the model stayed where it started (accuracy 0.73)
    from sklearn.datasets import make_blobs
    X, y = make_blobs(n_samples=400, centers=2, random_state=0)
    clf = SparseClassifier(hidden_dim=16, epochs=20, learning_rate=1e-2, batch_size=32, random_state=0,
                           sparsity=0.5).fit(X, y)
    assert clf.history_[0]["loss"] > 0.1 and clf.history_[-1]["loss"] < clf.history_[0]["loss"] / 2
    assert (clf.predict(X) == y).mean() > 0.9


# --- UDTClassifier and UDTRegressor ----------------------------------------------------

FILLER = [f"word{i}" for i in range(30)]
CUES = {"good": ["great", "love", "perfect"], "bad": ["poor", "hate", "awful"], "mid": ["meh", "okay", "fine"]}
TYPES = {"review": sb.types.text(), "shop": sb.types.categorical(), "price": sb.types.numerical()}
SMALL = {"input_dim": 1 << 14, "embedding_dim": 32, "batch_size": 16}


def _reviews(n, seed=0):
    """A DataFrame of reviews whose label shows in two cue words, and a price column."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for _ in range(n):
        label = str(rng.choice(list(CUES)))
        words = list(rng.choice(FILLER, 4)) + list(rng.choice(CUES[label], 2))
        rng.shuffle(words)
        rows.append({"review": " ".join(words), "shop": f"shop{rng.integers(5)}", "price": float(rng.uniform(1, 100))})
        labels.append(label)
    return pd.DataFrame(rows), np.array(labels)


def test_classifier_cross_validates_on_a_dataframe():
    X, y = _reviews(300)
    scores = cross_val_score(UDTClassifier(TYPES, epochs=5, learning_rate=5e-3, **SMALL), X, y, cv=3)
    assert scores.min() > 0.9


def test_classifier_predicts_the_labels_of_y_and_probabilities_in_their_order():
    X, y = _reviews(300)
    clf = UDTClassifier(TYPES, **SMALL).fit(X, y)
    assert clf.classes_.tolist() == ["bad", "good", "mid"]
    assert clf.n_features_in_ == 3 and clf.feature_names_in_.tolist() == ["review", "shop", "price"]
    X_test, y_test = _reviews(60, seed=1)
    predicted = clf.predict(X_test)
    assert predicted.dtype == y.dtype and (predicted == y_test).mean() > 0.9
    proba = clf.predict_proba(X_test)
    assert proba.shape == (60, 3) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    assert (clf.classes_[proba.argmax(axis=1)] == predicted).all()


def test_integer_classes_are_given_back_as_they_were():
    X, y = _reviews(200)
    codes = np.where(y == "good", 7, np.where(y == "bad", -3, 0))
    clf = UDTClassifier(TYPES, epochs=5, learning_rate=5e-3, **SMALL).fit(X, codes)
    assert clf.classes_.tolist() == [-3, 0, 7]
    assert set(clf.predict(X).tolist()) <= {-3, 0, 7}
    assert clf.score(X, codes) > 0.9


def test_grid_search_over_a_pipeline_refits_the_best():
    X, y = _reviews(240)
    pipe = Pipeline([("udt", UDTClassifier(TYPES, epochs=4, learning_rate=5e-3, **SMALL))])
    search = GridSearchCV(pipe, {"udt__embedding_dim": [8, 32]}, cv=2).fit(X, y)
    assert search.best_params_["udt__embedding_dim"] in (8, 32)
    assert search.best_estimator_.named_steps["udt"].udt_.embedding_dim == search.best_params_["udt__embedding_dim"]
    assert search.score(X, y) > 0.9


def test_fit_leaves_the_column_types_it_was_given_as_they_were():
    X, y = _reviews(60)
    types = {"review": sb.types.text(), "shop": sb.types.categorical()}
    before = {c: t.get_config() for c, t in types.items()}
    clf = UDTClassifier(types, epochs=1, **SMALL).fit(X, y)
    assert {c: t.get_config() for c, t in clf.data_types.items()} == before
    assert clf.udt_.data_types["review"].get_config()["tokenizer"] != "auto"


def test_clone_keeps_the_parameters_and_drops_the_model():
    clf = UDTClassifier(TYPES, target="label", epochs=3, **SMALL)
    copy = clone(clf)
    assert copy.get_params()["target"] == "label" and copy.get_params()["data_types"] == TYPES
    assert not hasattr(copy, "udt_")


def test_regressor_cross_validates_on_a_dataframe():
    X, _ = _reviews(300)
    y = 2.0 * X["price"].to_numpy() + np.random.default_rng(2).normal(0, 1.0, len(X))
    scores = cross_val_score(UDTRegressor({"price": sb.types.numerical()}, **SMALL), X, y, cv=3)
    assert scores.min() > 0.8


def test_pickled_estimators_predict_the_same():
    X, y = _reviews(120)
    clf = UDTClassifier(TYPES, epochs=2, **SMALL).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(back.predict_proba(X), clf.predict_proba(X))
    reg = UDTRegressor({"price": sb.types.numerical()}, epochs=2, **SMALL).fit(X, X["price"])
    assert np.array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))


def test_bad_input_is_refused_with_a_clear_error():
    X, y = _reviews(40)
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        UDTClassifier(TYPES, **SMALL).fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="The 'target' parameter of UDTClassifier"):
        UDTClassifier(TYPES, target="price", **SMALL).fit(X, y)
    with pytest.raises(ValueError, match=r"one value a row of X \(40 rows\)\. Got 39 values instead\.$"):
        UDTClassifier(TYPES, **SMALL).fit(X, y[:-1])
    with pytest.raises(ValueError, match="The 'y' parameter of UDTRegressor must be finite"):
        UDTRegressor({"price": sb.types.numerical()}, **SMALL).fit(X, np.full(len(X), np.nan))
    # each of these had given another parameter's error, NumPy's, or none
    with pytest.raises(ValueError, match="The 'y' parameter of UDTRegressor must be finite numbers. Got 'a'"):
        UDTRegressor({"price": sb.types.numerical()}, **SMALL).fit(X, ["a"] * len(X))
    with pytest.raises(ValueError, match="The 'target' parameter of UDTClassifier must be a column name"):
        UDTClassifier(TYPES, target=5, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="The 'verbose' parameter of UDTClassifier must be a bool"):
        UDTClassifier(TYPES, verbose="x", **SMALL).fit(X, y)
    with pytest.raises(ValueError, match=r"The 'y' parameter of UDTClassifier must hold no missing label\. Got None "
                                         r"at position 1 instead\."):  # NumPy's sort had raised a TypeError
        UDTClassifier(TYPES, **SMALL).fit(X, np.array(["a", None] * 20, dtype=object))
    with pytest.raises(ValueError, match=r"^The 'y' parameter of UDTClassifier must hold at least one value, one a row "
                                         r"of X\. Got none instead\.$"):
        UDTClassifier(TYPES, **SMALL).fit(X.iloc[:0], y[:0])
    with pytest.raises(Exception, match="not fitted"):
        UDTClassifier(TYPES, **SMALL).predict(X)


def test_a_fit_that_fails_leaves_the_estimator_unfitted():
    X, y = _reviews(200)
    clf = UDTClassifier(TYPES, epochs=2, **SMALL).fit(X, y)
    bad = X.assign(price=np.where(np.arange(200) == 7, np.inf, X.price))
    with pytest.raises(ValueError, match=r"row 7: column 'price'"):
        clf.fit(bad, y)
    # it had predicted from the untrained network the failed fit began with
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.fit(X, y)
    with pytest.raises(ValueError, match=r"^The 'y' parameter of UDTClassifier must hold one value a row of X \(200 "
                                         r"rows\)\. Got 199 values instead\.$"):
        clf.fit(X, np.array(["x", "y"] * 99 + ["z"]))
    # a check before training had kept the old network beside the new classes_ ('x', 'y', 'z')
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_a_long_review_alone_gets_the_long_text_width_as_in_the_model_itself():
    X, y = _reviews(60)
    X = X.assign(review=X["review"] + " " + X["review"])  # 12 words a row: a long text
    clf = UDTClassifier({"review": sb.types.text()}, epochs=1, input_dim=1 << 14, batch_size=16).fit(X[["review"]], y)
    assert clf.udt_.data_types["review"].tokenizers == ["words", "char_wb-4"] and clf.udt_.hidden_dim == 64
